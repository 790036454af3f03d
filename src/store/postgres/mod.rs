//! The PostgreSQL engine: a pool of connections shared by every request of this process, and
//! as many processes as the database serves.
//!
//! What one process cannot keep in memory (sessions, failure counts) lives in the database,
//! and writers to one user's list take turns through a row lock ([`TaskRows::hold_list`]), so
//! several processes behave as one.
//!
//! [`TaskRows::hold_list`]: super::TaskRows::hold_list

mod challenges;
mod changes;
mod copy;
mod error;
mod failures;
mod idempotency;
mod listener;
mod lists;
mod mail_queue;
mod sessions;
mod settings;
mod tasks;
mod tickets;
mod users;

use super::{
    MailQueue, SessionRow, Sessions, Signals, StoreError, TaskRows, Tx, Work, WriteHealth,
};
use crate::domain::{SortKey, Task, TaskFilter};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use error::{causes, pool_error};
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::IsolationLevel;
use tokio_postgres::types::Type;
use tokio_postgres_rustls::MakeRustlsConnect;

/// A migration's number and its SQL.
type Migration = (i32, &'static str);

/// A migration file of `migrations/postgres/`, compiled in.
macro_rules! sql {
    ($file:literal) => {
        include_str!(concat!("../../../migrations/postgres/", $file))
    };
}

/// Numbered migrations, compiled in; `listo_migrations` records which ran.
const MIGRATIONS: &[Migration] = &[
    (1, sql!("0001_init.sql")),
    (2, sql!("0002_accounts.sql")),
    (3, sql!("0003_task_versions.sql")),
    (4, sql!("0004_filters.sql")),
    (5, sql!("0005_idempotency.sql")),
    (6, sql!("0006_changes.sql")),
    (7, sql!("0007_mail_queue.sql")),
    (8, sql!("0008_idempotency_compressed.sql")),
    (9, sql!("0009_sign_ins.sql")),
    (10, sql!("0010_event_tickets.sql")),
    (11, sql!("0011_lists.sql")),
];

/// Any number, the same in every listo: processes starting together migrate one at a time.
const MIGRATION_LOCK: i64 = 0x6c6973746f; // "listo"

/// How long a request waits for a free connection, or for a new one, before failing.
const POOL_TIMEOUT: Duration = Duration::from_secs(10);

/// One transaction on a pooled PostgreSQL connection, or one statement on its own.
pub struct PgTx<'c> {
    conn: Conn<'c>,
    /// Statements run so far (a one-statement read runs one).
    statements: std::sync::atomic::AtomicU32,
    /// Whether a statement failed in a way that passes (for readiness: the closure's own
    /// error type hides the cause).
    transient: std::sync::atomic::AtomicBool,
}

/// Where a [`PgTx`] sends its statements.
enum Conn<'c> {
    /// Inside a transaction.
    Tx(deadpool_postgres::Transaction<'c>),
    /// Straight on the connection: a single statement, its own snapshot.
    Single(&'c deadpool_postgres::Client),
}

/// Runs `$call` on whichever connection a [`PgTx`] has (the two types share no object-safe
/// trait).
macro_rules! on_conn {
    ($tx:expr, $c:ident => $call:expr) => {
        match &$tx.conn {
            Conn::Tx($c) => $call,
            Conn::Single($c) => $call,
        }
    };
}

impl<'c> PgTx<'c> {
    fn new(conn: Conn<'c>) -> Self {
        Self {
            conn,
            statements: std::sync::atomic::AtomicU32::new(0),
            transient: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// A statement's failure, noted when it passes.
    fn failed(&self, e: tokio_postgres::Error) -> StoreError {
        let e = StoreError::from(e);
        if e.is_transient() {
            self.transient
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        e
    }

    /// Whether a statement failed in a way that passes.
    fn saw_transient(&self) -> bool {
        self.transient.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Counts a statement. The one-statement reads ([`PgStore::session`] and its siblings)
    /// each call one method that makes one statement; a second would see another snapshot, so
    /// the tests (debug builds) fail if one ever does.
    fn count_statement(&self) -> Result<(), StoreError> {
        let n = 1 + self
            .statements
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        debug_assert!(
            n == 1 || matches!(self.conn, Conn::Tx(_)),
            "a one-statement read ran a second statement"
        );
        Ok(())
    }
}

/// The PostgreSQL database, through a pool of connections.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// Requests that may wait for a connection when every one is in use.
    queue_depth: usize,
    signals: Signals,
    /// The outcome of this process's latest writes.
    health: WriteHealth,
    /// Hears every process's signals while any clone of the store lives.
    _listener: Arc<listener::Listener>,
}

impl PgStore {
    /// Connects, checks the server answers, and brings the schema up to date; at most
    /// `queue_depth` requests wait for a connection when all `pool_size` are in use.
    pub async fn open(url: &str, pool_size: usize, queue_depth: usize) -> Result<Self, StoreError> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| pool_error(format!("not a PostgreSQL URL: {e}")))?;
        let tls = tls()?;
        let manager = Manager::from_config(
            config.clone(),
            tls.clone(),
            ManagerConfig {
                // A broken connection shows itself on use; checking each one out costs a round trip.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_TIMEOUT))
            .create_timeout(Some(POOL_TIMEOUT))
            .build()
            .map_err(|e| pool_error(causes(&e)))?;
        migrate(&pool).await?;
        let signals = Signals::default();
        let listener = listener::Listener::start(config, tls, signals.clone()).await?;
        Ok(Self {
            pool,
            queue_depth: queue_depth.max(1),
            signals,
            health: WriteHealth::default(),
            _listener: Arc::new(listener),
        })
    }

    /// Where committed writes of every process announce themselves.
    pub fn signals(&self) -> &Signals {
        &self.signals
    }

    /// The outcome of this process's latest writes (for readiness).
    pub fn write_health(&self) -> &WriteHealth {
        &self.health
    }

    /// Remembers a write's failure when it passes.
    fn note(&self, e: &StoreError) {
        if e.is_transient() {
            self.health.failed();
        }
    }

    /// A pooled connection. When every connection is in use, a request waits in deadpool's
    /// queue (up to [`POOL_TIMEOUT`]); past `queue_depth` waiting, it is turned away at once
    /// as busy, as on SQLite: the pool's wait is this engine's queue.
    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        let status = self.pool.status();
        // `waiting` counts from the connections open now; those that cannot have one even
        // once the pool is full are the ones past its size.
        let queued = (status.size + status.waiting).saturating_sub(status.max_size);
        if queued >= self.queue_depth {
            return Err(StoreError::busy("connection", self.queue_depth));
        }
        client(&self.pool).await
    }

    /// Runs `work` in a read-only REPEATABLE READ transaction: one snapshot for all its queries.
    pub async fn read<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t mut dyn Tx) -> Work<'t, T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(StoreError::from)?;
        let mut tx = PgTx::new(Conn::Tx(tx));
        let value = work(&mut tx).await?;
        // A read changed nothing, whether or not its commit's answer came back.
        tx.commit_read().await?;
        Ok(value)
    }

    /// The session stored for this token hash: one statement straight on a connection, one
    /// round trip where a transaction takes three (BEGIN, the statement, COMMIT).
    pub async fn session(&self, token_hash: [u8; 32]) -> Result<Option<SessionRow>, StoreError> {
        let client = self.client().await?;
        PgTx::new(Conn::Single(&client)).session(&token_hash).await
    }

    /// The user's task with this id: one statement straight on a connection.
    pub async fn task(&self, user_id: i64, id: i64) -> Result<Option<Task>, StoreError> {
        let client = self.client().await?;
        PgTx::new(Conn::Single(&client)).task(user_id, id).await
    }

    /// A page after `key` with the filtered total: one statement straight on a connection
    /// (the count joined to the range read, see [`TaskRows::tasks_after`]).
    pub async fn tasks_after(
        &self,
        list_id: i64,
        key: Option<SortKey>,
        limit: u32,
        filter: TaskFilter,
    ) -> Result<(u64, Vec<Task>), StoreError> {
        let client = self.client().await?;
        PgTx::new(Conn::Single(&client))
            .tasks_after(list_id, key.as_ref(), limit, &filter)
            .await
    }

    /// When the next queued email is due: one statement straight on a connection.
    pub async fn next_mail_due(&self) -> Result<Option<i64>, StoreError> {
        let client = self.client().await?;
        PgTx::new(Conn::Single(&client)).next_mail_due().await
    }

    /// Runs `work` in a READ COMMITTED transaction, committed only if it returns `Ok`
    /// (`synchronous_commit` decides durability; its default, `on`, waits for the disk).
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t mut dyn Tx) -> Work<'t, T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let mut client = self.client().await.inspect_err(|e| self.note(e))?;
        let tx = client
            .transaction()
            .await
            .map_err(StoreError::from)
            .inspect_err(|e| self.note(e))?;
        let mut tx = PgTx::new(Conn::Tx(tx));
        // On `Err` the transaction is dropped, which rolls it back.
        let value = match work(&mut tx).await {
            Ok(value) => value,
            Err(e) => {
                if tx.saw_transient() {
                    self.health.failed();
                }
                return Err(e);
            }
        };
        tx.commit().await.inspect_err(|e| self.note(e))?;
        self.health.committed();
        Ok(value)
    }
}

async fn client(pool: &Pool) -> Result<deadpool_postgres::Object, StoreError> {
    use deadpool_postgres::PoolError;
    pool.get().await.map_err(|e| match e {
        // No connection in time, or the server refused a new one: both pass.
        PoolError::Timeout(_) => StoreError::unavailable(causes(&e)),
        PoolError::Backend(e) => StoreError::from(e),
        e => pool_error(causes(&e)),
    })
}

/// Brings the schema up to date, one process at a time.
async fn migrate(pool: &Pool) -> Result<(), StoreError> {
    let mut client = client(pool).await?;
    let tx = client.transaction().await?;
    tx.query_one("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS listo_migrations (
             version    INTEGER PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .await?;
    let done: i32 = tx
        .query_one(
            "SELECT COALESCE(max(version), 0) FROM listo_migrations",
            &[],
        )
        .await?
        .get(0);
    let known = MIGRATIONS.last().map_or(0, |(v, _)| *v);
    if done > known {
        return Err(StoreError::migration(format!(
            "the database is at schema version {done}, newer than this listo knows ({known}); run the newer listo"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > done) {
        tx.batch_execute(sql)
            .await
            .map_err(|e| StoreError::migration(format!("postgres {version}: {e}")))?;
        tx.execute(
            "INSERT INTO listo_migrations (version) VALUES ($1)",
            &[version],
        )
        .await?;
        tracing::info!(version, "applied PostgreSQL migration");
    }
    tx.commit().await?;
    Ok(())
}

/// TLS for the connection, used as the URL's `sslmode` says (`prefer` when unset: TLS when the
/// server offers it; `require` refuses a server without). Managed PostgreSQL services require
/// it. The server's certificate is checked against the public web roots.
fn tls() -> Result<MakeRustlsConnect, StoreError> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| pool_error(format!("TLS set-up: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// Checks that `url` is one the driver reads (so a bad URL stops start-up with its reason).
pub fn check_url(url: &str) -> Result<(), String> {
    url.parse::<tokio_postgres::Config>()
        .map(|_| ())
        .map_err(|e| format!("not a PostgreSQL URL: {e}"))
}

/// The log targets of this engine's libraries that log what they are given at debug level: the
/// driver writes every statement's parameters (password hashes, session ids, emails), its
/// connection layer the bytes on the wire. Logging holds them to `info`.
pub const CHATTY_LOG_TARGETS: &[&str] =
    &["tokio_postgres", "postgres_protocol", "deadpool_postgres"];

impl PgTx<'_> {
    /// Commits the transaction (nothing to do for a single statement). A commit whose answer
    /// never came (the connection dropped) may or may not have been applied.
    async fn commit(self) -> Result<(), StoreError> {
        self.end(StoreError::commit_unknown).await
    }

    /// Ends a read: it changed nothing, whether or not its commit's answer came back.
    async fn commit_read(self) -> Result<(), StoreError> {
        self.end(StoreError::unavailable).await
    }

    /// Commits; a commit with no answer from the server is `unanswered`'s failure.
    async fn end(self, unanswered: impl FnOnce(String) -> StoreError) -> Result<(), StoreError> {
        match self.conn {
            Conn::Tx(tx) => tx.commit().await.map_err(|e| match e.as_db_error() {
                Some(_) => StoreError::from(e),
                None => unanswered(causes(&e)),
            }),
            Conn::Single(_) => Ok(()),
        }
    }

    /// Runs a cached statement expected to return at most one row.
    async fn opt(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Option<tokio_postgres::Row>, StoreError> {
        self.count_statement()?;
        let stmt = on_conn!(self, c => c.prepare_cached(sql).await).map_err(|e| self.failed(e))?;
        on_conn!(self, c => c.query_opt(&stmt, params).await).map_err(|e| self.failed(e))
    }

    /// Runs a cached statement and returns its rows.
    async fn all(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        self.count_statement()?;
        let stmt = on_conn!(self, c => c.prepare_cached(sql).await).map_err(|e| self.failed(e))?;
        on_conn!(self, c => c.query(&stmt, params).await).map_err(|e| self.failed(e))
    }

    /// Runs a statement planned for these very values (not cached) and returns its rows: for
    /// statements over an array of ids, whose cached generic plan walks every task of the user
    /// (measured: sort at 100,000 tasks 6-10x slower than at 1,000). The parameters' types are
    /// given, so the statement goes out with its values in one round trip instead of being
    /// prepared first.
    async fn all_planned_now(
        &self,
        sql: &str,
        params: &[(&(dyn tokio_postgres::types::ToSql + Sync), Type)],
    ) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        self.count_statement()?;
        on_conn!(self, c => c.query_typed(sql, params).await).map_err(|e| self.failed(e))
    }

    /// [`Self::all_planned_now`] for a statement that returns no rows.
    async fn exec_planned_now(
        &self,
        sql: &str,
        params: &[(&(dyn tokio_postgres::types::ToSql + Sync), Type)],
    ) -> Result<usize, StoreError> {
        self.count_statement()?;
        let n =
            on_conn!(self, c => c.execute_typed(sql, params).await).map_err(|e| self.failed(e))?;
        Ok(n as usize)
    }

    /// Runs a cached statement and returns how many rows it changed.
    async fn exec(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<usize, StoreError> {
        self.count_statement()?;
        let stmt = on_conn!(self, c => c.prepare_cached(sql).await).map_err(|e| self.failed(e))?;
        let n = on_conn!(self, c => c.execute(&stmt, params).await).map_err(|e| self.failed(e))?;
        Ok(n as usize)
    }
}
