//! The test's own view of the app's database, on either engine: a fresh database per test, and
//! direct reads for checks a client cannot make.

use listo::store::Location;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Which engine this test binary runs the black-box suite against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// A SQLite file in the test's temporary folder.
    Sqlite,
    /// A fresh database on a throwaway PostgreSQL server.
    Postgres,
}

/// A fresh, empty database for one app under test, inside `dir` when it is a file.
pub fn fresh(engine: Engine, dir: &Path) -> Location {
    match engine {
        Engine::Sqlite => Location::Sqlite(dir.join("data").join("listo.db")),
        Engine::Postgres => Location::parse(&fresh_postgres_database()).expect("a postgres URL"),
    }
}

/// The throwaway server's URL: `LISTO_TEST_POSTGRES` when set, else one this process starts
/// (scripts/lib/postgres.sh: initdb + pg_ctl in a temporary folder, stopped when we exit).
pub fn postgres_server() -> &'static str {
    static SERVER: OnceLock<String> = OnceLock::new();
    SERVER.get_or_init(|| {
        if let Ok(url) = std::env::var("LISTO_TEST_POSTGRES") {
            return url;
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/lib/postgres.sh");
        let out = std::process::Command::new("bash")
            .args([script, "while-alive", &std::process::id().to_string()])
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("bash runs");
        assert!(
            out.status.success(),
            "could not start a throwaway PostgreSQL (install Debian's `postgresql`, or set \
             LISTO_TEST_POSTGRES to a server's URL): {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    })
}

/// Creates a new database on the test server and returns its URL.
pub fn fresh_postgres_database() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let server = postgres_server();
    let name = format!(
        "listo_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    // Tests call this from inside their own runtime: a thread of its own may block on another.
    let create = format!("CREATE DATABASE {name}");
    let url = server.to_owned();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move { connect(&url).await.batch_execute(&create).await })
    })
    .join()
    .unwrap()
    .expect("CREATE DATABASE");
    let (base, _) = server.rsplit_once('/').expect("a URL with a database");
    format!("{base}/{name}")
}

/// A client on a PostgreSQL database, its connection driven in the background.
pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connecting to the test database: {e}"));
    tokio::spawn(connection);
    client
}

/// Direct access to an app's database, whichever engine holds it.
pub struct Db<'a>(pub &'a Location);

impl Db<'_> {
    /// Runs statements that return nothing.
    pub async fn execute(&self, sql: &str) {
        match self.0 {
            Location::Sqlite(path) => rusqlite::Connection::open(path)
                .unwrap()
                .execute_batch(sql)
                .unwrap(),
            Location::Postgres(url) => connect(url.expose())
                .await
                .batch_execute(sql)
                .await
                .unwrap(),
        }
    }

    /// The first column of every row of `sql`, as text.
    pub async fn texts(&self, sql: &str) -> Vec<String> {
        match self.0 {
            Location::Sqlite(path) => {
                let db = rusqlite::Connection::open(path).unwrap();
                let mut stmt = db.prepare(sql).unwrap();
                stmt.query_map([], |r| r.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap()
            }
            Location::Postgres(url) => connect(url.expose())
                .await
                .query(sql, &[])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect(),
        }
    }

    /// The first two columns of every row of `sql`: an integer and a text.
    pub async fn pairs(&self, sql: &str) -> BTreeMap<i64, String> {
        match self.0 {
            Location::Sqlite(path) => {
                let db = rusqlite::Connection::open(path).unwrap();
                let mut stmt = db.prepare(sql).unwrap();
                stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap()
            }
            Location::Postgres(url) => connect(url.expose())
                .await
                .query(sql, &[])
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect(),
        }
    }

    /// The single integer `sql` answers.
    pub async fn integer(&self, sql: &str) -> i64 {
        match self.0 {
            Location::Sqlite(path) => rusqlite::Connection::open(path)
                .unwrap()
                .query_row(sql, [], |r| r.get(0))
                .unwrap(),
            Location::Postgres(url) => connect(url.expose())
                .await
                .query_one(sql, &[])
                .await
                .unwrap()
                .get(0),
        }
    }
}

impl Db<'_> {
    /// Every row of `table`, each a JSON object of its columns: numbers as numbers, text as
    /// strings, bytes as `\x…` hex.
    pub async fn rows(&self, table: &str) -> Vec<serde_json::Value> {
        use serde_json::Value;
        match self.0 {
            Location::Sqlite(path) => {
                let db = rusqlite::Connection::open(path).unwrap();
                let mut stmt = db.prepare(&format!("SELECT * FROM {table}")).unwrap();
                let names: Vec<String> =
                    stmt.column_names().iter().map(|n| n.to_string()).collect();
                stmt.query_map([], |r| {
                    let mut row = serde_json::Map::new();
                    for (i, name) in names.iter().enumerate() {
                        use rusqlite::types::ValueRef;
                        let value = match r.get_ref(i)? {
                            ValueRef::Null => Value::Null,
                            ValueRef::Integer(n) => n.into(),
                            ValueRef::Real(x) => x.into(),
                            ValueRef::Text(t) => String::from_utf8_lossy(t).into(),
                            ValueRef::Blob(b) => {
                                let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
                                format!("\\x{hex}").into()
                            }
                        };
                        row.insert(name.clone(), value);
                    }
                    Ok(Value::Object(row))
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
            }
            Location::Postgres(url) => connect(url.expose())
                .await
                .query(&format!("SELECT row_to_json(t)::text FROM {table} t"), &[])
                .await
                .unwrap()
                .iter()
                .map(|r| serde_json::from_str(r.get(0)).unwrap())
                .collect(),
        }
    }
}
