//! One connection per process that `LISTEN`s for the signals every process sends: a change
//! committed on any listo wakes the streams of every listo.

use super::changes::{CHANNEL, parse_payload};
use crate::store::{Signals, StoreError};
use futures_util::future::poll_fn;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio_postgres::{AsyncMessage, Config};
use tokio_postgres_rustls::MakeRustlsConnect;

/// The first wait after the connection broke.
const FIRST_RETRY: Duration = Duration::from_millis(100);

/// The longest wait between attempts to listen again after the connection broke.
const MAX_RETRY: Duration = Duration::from_secs(5);

/// The listening task; it stops when this is dropped (with the store).
pub(super) struct Listener {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Listener {
    /// Connects and listens; returns once listening, so no signal sent after start-up is missed.
    pub(super) async fn start(
        config: Config,
        tls: MakeRustlsConnect,
        signals: Signals,
    ) -> Result<Self, StoreError> {
        let (ready, listening) = oneshot::channel();
        let task = tokio::spawn(run(config, tls, signals, ready));
        match listening.await {
            Ok(Ok(())) => Ok(Self { task }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(super::pool_error("the signal listener stopped")),
        }
    }
}

/// Listens, and listens again whenever the connection breaks.
async fn run(
    config: Config,
    tls: MakeRustlsConnect,
    signals: Signals,
    ready: oneshot::Sender<Result<(), StoreError>>,
) {
    let mut ready = Some(ready);
    let mut retry = FIRST_RETRY;
    loop {
        let mut listened = false;
        let outcome = listen(&config, tls.clone(), &signals, &mut ready, &mut listened).await;
        if listened {
            // It had listened: a server restarted after days is tried again at once, not after
            // the longest wait the last outage reached.
            retry = FIRST_RETRY;
        }
        match (outcome, ready.take()) {
            // Start-up hears why it could not listen.
            (Err(e), Some(ready)) => {
                let _ = ready.send(Err(e));
                return;
            }
            (Err(e), None) => {
                tracing::warn!(error = %e, "listening for other processes' changes failed; retrying")
            }
            (Ok(()), _) => tracing::warn!("the connection listening for changes closed; reopening"),
        }
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(MAX_RETRY);
    }
}

/// One listening connection, until it breaks.
async fn listen(
    config: &Config,
    tls: MakeRustlsConnect,
    signals: &Signals,
    ready: &mut Option<oneshot::Sender<Result<(), StoreError>>>,
    listened: &mut bool,
) -> Result<(), StoreError> {
    let (client, mut connection) = config.connect(tls).await?;
    // The connection does its work only while polled: messages are read beside the LISTEN.
    let messages = async {
        while let Some(message) = poll_fn(|cx| connection.poll_message(cx)).await {
            if let AsyncMessage::Notification(n) = message?
                && let Some((user_id, signal)) = parse_payload(n.payload())
            {
                signals.send(user_id, signal);
            }
        }
        Ok::<(), StoreError>(())
    };
    let subscribe = async {
        client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
        *listened = true;
        match ready.take() {
            Some(ready) => {
                let _ = ready.send(Ok(()));
            }
            // Signals sent while no connection listened are lost: every stream re-reads.
            None => signals.wake_all(),
        }
        std::future::pending::<Result<(), StoreError>>().await
    };
    tokio::select! {
        result = messages => result,
        result = subscribe => result,
    }
}
