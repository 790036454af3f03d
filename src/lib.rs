//! listo: a task-list API in one binary with its SQLite database inside.
//!
//! Requests flow one way: [`api`] → [`service`] → [`store`] / [`mail`].

pub mod api;
pub mod config;
pub mod domain;
pub mod durable;
pub mod mail;
pub mod replica;
pub mod replicated;
pub mod server;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod workers;

use config::{Config, ConnectionLimits};
use poem::EndpointExt;
use service::auth::AuthSettings;
use service::{Auth, Feed, Tasks};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use store::Store;

/// How often expired codes and sessions are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// How long in-flight requests may run on after a shutdown signal.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Why listo could not start; each message names the setting to look at.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be opened or migrated.
    #[error("LISTO_DATABASE ({path}): {source}")]
    Store {
        /// The configured file or server (without its password).
        path: String,
        /// Why.
        source: store::StoreError,
    },
    /// The mail transport could not be set up.
    #[error("LISTO_OUTBOX / LISTO_SMTP_URL: {0}")]
    Mail(#[from] mail::MailError),
    /// The address could not be bound.
    #[error("PORT / LISTO_ADDR: binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// A bound, ready-to-serve listo.
pub struct App {
    listener: tokio::net::TcpListener,
    connections: ConnectionLimits,
    addr: SocketAddr,
    core: Core,
}

/// What answers requests, without the socket: the endpoint, the store under it and the
/// background workers.
pub struct Core {
    /// Every route.
    pub endpoint: server::SharedEndpoint,
    store: Store,
    sweeper: tokio::task::JoinHandle<()>,
    /// Sends queued password-reset emails.
    mail_worker: tokio::task::JoinHandle<()>,
}

impl Core {
    /// Opens the database, prepares mail, starts the workers.
    pub async fn start(config: &Config) -> Result<Core, StartError> {
        let database = |source| StartError::Store {
            path: config.database.to_string(),
            source,
        };
        let store = Store::open_queued(
            &config.database,
            config.database_pool,
            config.database_queue,
        )
        .await
        .map_err(database)?;
        let secret = match &config.secret {
            Some(s) => secrecy::ExposeSecret::expose_secret(s).as_bytes().to_vec(),
            None => {
                let mut candidate = [0u8; 32];
                rand::Rng::fill_bytes(&mut rand::rng(), &mut candidate);
                store
                    .write(move |tx| Box::pin(async move { tx.secret_or_insert(candidate).await }))
                    .await
                    .map_err(database)?
                    .to_vec()
            }
        };
        let mailer = Arc::new(mail::Mailer::new(&config.mail, config.mail_from.clone())?);
        let auth = Auth::new(
            store.clone(),
            mailer,
            AuthSettings {
                secret,
                session_ttl: config.session_ttl,
                refresh_ttl: config.refresh_ttl,
                signin_max_age: config.signin_max_age,
                otp_ttl: config.otp_ttl,
                limits: config.limits,
                // Half the cores at most: a login storm must leave room for everything else.
                hash_concurrency: std::thread::available_parallelism().map_or(1, |n| n.get() / 2),
                sessions_per_user: config.quotas.sessions,
            },
        );
        let tasks = Tasks::new(store.clone(), config.quotas);
        let lists = service::Lists::new(store.clone(), config.quotas);
        let feed = Feed::new(store.clone(), auth.clone(), config.quotas.streams);
        let sweeper = service::sweeper::spawn(store.clone(), auth.clone(), SWEEP_EVERY);
        // Resumes what the queue holds (from before a restart, or from other processes) at once.
        let mail_worker = service::mail_queue::spawn(auth.clone());
        let endpoint = api::routes(api::Deps {
            auth,
            tasks,
            lists,
            feed,
            health: service::Health::new(store.clone()),
            trust_proxy: config.trust_proxy,
            cors_origins: config.cors_origins.clone(),
        })
        .boxed();
        Ok(Core {
            endpoint: Arc::new(endpoint),
            store,
            sweeper,
            mail_worker,
        })
    }

    /// Ends live event streams, so their requests finish within the grace period.
    pub fn end_streams(&self) -> impl Fn() + Send + Sync + 'static {
        let signals = self.store.signals().clone();
        move || signals.close()
    }

    /// Stops the background tasks without waiting for them (a reset email being sent is sent
    /// again later) and closes the store; on SQLite `checkpoint` folds the WAL into the file
    /// (under a replica Litestream does that).
    pub async fn stop(self, checkpoint: bool) {
        self.sweeper.abort();
        self.mail_worker.abort();
        // Awaited so every handle on the store is gone when this returns (the file lock too).
        let _ = self.sweeper.await;
        let _ = self.mail_worker.await;
        let closed = if checkpoint {
            self.store.close().await
        } else {
            Ok(())
        };
        if let Err(e) = closed {
            tracing::error!(error = %e, "closing the database at shutdown failed");
        }
    }
}

impl App {
    /// Opens the database, prepares mail and binds the listener (port 0 picks a free port).
    pub async fn build(config: Config) -> Result<App, StartError> {
        let core = Core::start(&config).await?;
        let listener = bind(config.addr).await?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.addr,
            source,
        })?;
        Ok(App {
            listener,
            connections: config.connections,
            addr,
            core,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Serves until the process ends.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(std::future::pending()).await
    }

    /// Serves until `shutdown` resolves, then stops accepting, lets in-flight requests finish
    /// (at most 10 s), stops the background tasks and checkpoints the WAL into the database
    /// file.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> std::io::Result<()> {
        let end_streams = self.core.end_streams();
        let shutdown = async move {
            shutdown.await;
            end_streams();
        };
        let result = server::serve(
            self.listener,
            self.core.endpoint.clone(),
            self.connections,
            shutdown,
            SHUTDOWN_GRACE,
        )
        .await;
        self.core.stop(true).await;
        result
    }
}

/// Binds the listening socket.
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, StartError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
}
