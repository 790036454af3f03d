//! `listo serve` under `LISTO_REPLICA`: the order of start and stop around Litestream and the
//! replica's lease.
//!
//! Start: listen at once behind a closed [`Gate`] (`/healthz` 200, the rest 503), take the
//! lease (waiting while another process holds it), restore a missing file, open the store, start
//! Litestream, and open the gate once Litestream has opened the database and the replica holds
//! it. Stop (SIGTERM/SIGINT): drain, close the store, `/sync` so every acknowledged write is on
//! the replica, stop Litestream, release the lease, exit 0. A lost lease, or a Litestream that
//! will not stay up, closes the gate and exits non-zero.

use crate::api::{Gate, GateEndpoint};
use crate::config::Config;
use crate::replica::Replica;
use crate::replica::lease::{
    Acquired, Lease, LeaseError, LeaseHolder, LeaseOptions, RENEW_EVERY, Standing,
};
use crate::replica::litestream::{FINAL_SYNC, Litestream, LitestreamError, Restored, Running};
use crate::{Core, SHUTDOWN_GRACE, StartError, server};
use poem::EndpointExt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// How often a waiting process asks for the lease again.
const LEASE_POLL: Duration = Duration::from_secs(1);
/// How long a restarted Litestream may take to replicate again before listo gives up.
const RESTART_WITHIN: Duration = Duration::from_secs(10);
/// More Litestream exits than this within [`RESTART_WINDOW`] end the process.
const MAX_RESTARTS: usize = 3;
const RESTART_WINDOW: Duration = Duration::from_secs(60);

/// Why a replicated listo stopped with a failure; each names `LISTO_REPLICA` and what to check.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaFailure {
    /// Start-up failed before the replica was involved.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The store did not answer in time: no database is served rather than an empty one.
    #[error(
        "LISTO_REPLICA ({url}): the object store did not answer within {secs} s ({cause}); not serving rather than start an empty database (check LISTO_REPLICA_ENDPOINT, the credentials and the network)"
    )]
    Unreachable {
        /// The replica.
        url: String,
        /// The bound.
        secs: u64,
        /// The last error.
        cause: String,
    },
    /// The lease could not be used at all.
    #[error("LISTO_REPLICA ({url}): {cause}")]
    Lease {
        /// The replica.
        url: String,
        /// Why.
        cause: LeaseError,
    },
    /// Litestream failed.
    #[error("LISTO_REPLICA ({url}): {cause}")]
    Litestream {
        /// The replica.
        url: String,
        /// Why.
        cause: LitestreamError,
    },
    /// Another process took the lease: this one stopped acknowledging writes at once.
    #[error(
        "LISTO_REPLICA ({0}): the lease was lost (not renewed in time, or taken over); stopped serving"
    )]
    LeaseLost(String),
}

/// What ended the serving phase.
enum Ending {
    Signal(Running),
    LeaseLost(Running),
    LitestreamFailed(LitestreamError),
}

/// Serves with the database replicated, until `shutdown` resolves or replication fails.
pub async fn serve(
    config: Config,
    replica: Replica,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ReplicaFailure> {
    let url = replica.url.clone();
    let litestream_failed = |cause| ReplicaFailure::Litestream {
        url: url.clone(),
        cause,
    };
    let lease_failed = |cause| ReplicaFailure::Lease {
        url: url.clone(),
        cause,
    };
    let litestream = Litestream::prepare(&replica).map_err(litestream_failed)?;
    let lease = Lease::new(
        &replica.target,
        LeaseHolder::this_process(),
        LeaseOptions::default(),
    )
    .map_err(lease_failed)?;
    let lease = Arc::new(lease);
    let listener = crate::bind(config.addr).await?;
    let gate = Gate::new();
    let (stop_server, server_stopped) = tokio::sync::oneshot::channel::<()>();
    let endpoint = Arc::new(GateEndpoint(gate.clone()).boxed());
    let server = tokio::spawn(server::serve(
        listener,
        endpoint,
        config.connections,
        async {
            let _ = server_stopped.await;
        },
        SHUTDOWN_GRACE,
    ));
    let stop_serving = async move {
        let _ = stop_server.send(());
        match server.await {
            Ok(Err(e)) => tracing::error!(error = %e, "server failed"),
            Err(e) => tracing::error!(error = %e, "server task failed"),
            Ok(Ok(())) => {}
        }
    };
    tokio::pin!(shutdown);

    // 1. The lease: one writer per replica.
    let acquired = tokio::select! {
        _ = &mut shutdown => None,
        acquired = take_lease(&lease, &replica) => Some(acquired),
    };
    let Some(acquired) = acquired else {
        stop_serving.await;
        return Ok(());
    };
    if let Err(e) = acquired {
        stop_serving.await;
        return Err(e);
    }
    let (mut standing, keeper) = lease.clone().keep(RENEW_EVERY);

    // 2. Restore, open, replicate.
    let opened = tokio::select! {
        _ = &mut shutdown => None,
        _ = lost(&mut standing) => Some(Err(ReplicaFailure::LeaseLost(url.clone()))),
        opened = open(&config, &replica, &litestream) => Some(opened),
    };
    let (core, running) = match opened {
        Some(Ok(opened)) => opened,
        other => {
            keeper.abort();
            stop_serving.await;
            if let Err(e) = lease.release().await {
                tracing::warn!(error = %e, "releasing the replica's lease failed");
            }
            return match other {
                Some(Err(e)) => Err(e),
                _ => Ok(()),
            };
        }
    };
    let end_streams = core.end_streams();
    gate.serve(core.endpoint.clone());
    tracing::info!(replica = %url, "listo ready: the database is replicated");

    // 3. Serve until told to stop or replication fails.
    let ending = supervise(&litestream, running, &mut standing, &gate, &mut shutdown).await;

    // 4. Stop.
    let started = Instant::now();
    end_streams();
    stop_serving.await;
    core.stop(false).await;
    match ending {
        Ending::Signal(running) => {
            let synced = litestream.sync(FINAL_SYNC).await;
            keeper.abort();
            running.stop().await;
            if let Err(e) = lease.release().await {
                tracing::warn!(error = %e, "releasing the replica's lease failed");
            }
            match synced {
                Ok(synced) => {
                    tracing::info!(
                        txid = synced.txid,
                        stop_ms = started.elapsed().as_millis() as u64,
                        "every acknowledged write is on the replica; lease released"
                    );
                    Ok(())
                }
                Err(cause) => Err(litestream_failed(cause)),
            }
        }
        Ending::LeaseLost(mut running) => {
            running.kill().await;
            Err(ReplicaFailure::LeaseLost(url))
        }
        Ending::LitestreamFailed(cause) => {
            keeper.abort();
            if let Err(e) = lease.release().await {
                tracing::warn!(error = %e, "releasing the replica's lease failed");
            }
            Err(litestream_failed(cause))
        }
    }
}

/// Polls until this process holds the lease. Waiting for another holder has no bound (a deploy
/// overlaps for as long as the platform keeps the old process); an unreachable store does.
async fn take_lease(lease: &Lease, replica: &Replica) -> Result<(), ReplicaFailure> {
    let unreachable = |cause: LeaseError| ReplicaFailure::Unreachable {
        url: replica.url.clone(),
        secs: replica.timeout.as_secs(),
        cause: cause.to_string(),
    };
    let began = Instant::now();
    // A store that ignored the conditions would let two processes both take the lease.
    let within = |since: Instant| replica.timeout.saturating_sub(since.elapsed());
    loop {
        let checked = bounded(within(began), lease.check_conditional_writes()).await;
        match checked {
            Ok(()) => break,
            Err(cause @ LeaseError::Unsupported(_)) => {
                return Err(ReplicaFailure::Lease {
                    url: replica.url.clone(),
                    cause,
                });
            }
            Err(cause) if began.elapsed() >= replica.timeout => return Err(unreachable(cause)),
            Err(cause) => {
                tracing::warn!(error = %cause, "the replica's store did not answer; retrying");
                tokio::time::sleep(LEASE_POLL).await;
            }
        }
    }
    let mut reachable_at = Instant::now();
    let mut waiting_for = None;
    loop {
        let acquired = bounded(within(reachable_at), lease.acquire()).await;
        match acquired {
            Ok(Acquired::Held) => {
                if waiting_for.is_some() {
                    let waited_ms = began.elapsed().as_millis() as u64;
                    tracing::info!(waited_ms, "took over the replica's lease");
                }
                return Ok(());
            }
            Ok(Acquired::HeldByOther { holder, expires_in }) => {
                reachable_at = Instant::now();
                if waiting_for != Some(holder.clone()) {
                    let holder = holder.as_ref().map(ToString::to_string);
                    let lapses_in_s = expires_in.map(|d| d.as_secs());
                    tracing::info!(
                        holder,
                        lapses_in_s,
                        "another listo holds the replica's lease: standing by (/healthz 200, the rest 503) until it is released or lapses"
                    );
                }
                waiting_for = Some(holder);
            }
            Err(cause @ LeaseError::Unsupported(_)) => {
                return Err(ReplicaFailure::Lease {
                    url: replica.url.clone(),
                    cause,
                });
            }
            Err(cause) if reachable_at.elapsed() >= replica.timeout => {
                return Err(unreachable(cause));
            }
            Err(cause) => {
                tracing::warn!(error = %cause, "the replica's lease could not be read; retrying");
            }
        }
        tokio::time::sleep(LEASE_POLL).await;
    }
}

/// `request`, given up after `left` (each lease request has its own 5 s limit, which a
/// shorter LISTO_REPLICA_TIMEOUT must win over).
async fn bounded<T>(
    left: Duration,
    request: impl Future<Output = Result<T, LeaseError>>,
) -> Result<T, LeaseError> {
    let left = left.max(Duration::from_millis(100));
    tokio::time::timeout(left, request)
        .await
        .unwrap_or(Err(LeaseError::Store(
            crate::replica::s3::S3Error::Timeout(left),
        )))
}

/// Resolves when the keeper reports the lease lost (or ends).
async fn lost(standing: &mut watch::Receiver<Standing>) {
    loop {
        if *standing.borrow_and_update() == Standing::Lost || standing.changed().await.is_err() {
            return;
        }
    }
}

/// Restores a missing file, opens the store and starts Litestream; done when the replica holds
/// the database.
async fn open(
    config: &Config,
    replica: &Replica,
    litestream: &Litestream,
) -> Result<(Core, Running), ReplicaFailure> {
    let failed = |cause| ReplicaFailure::Litestream {
        url: replica.url.clone(),
        cause,
    };
    let began = Instant::now();
    match litestream.restore(replica.timeout).await {
        Ok(Restored::FromReplica) => tracing::info!(
            restore_ms = began.elapsed().as_millis() as u64,
            "restored the database from the replica"
        ),
        Ok(Restored::Nothing) => {
            tracing::info!("the replica holds no database: starting a new one")
        }
        Ok(Restored::LocalFile) => {
            tracing::info!("the database file is here: replicating it, nothing restored")
        }
        Err(LitestreamError::TimedOut(..)) => {
            return Err(ReplicaFailure::Unreachable {
                url: replica.url.clone(),
                secs: replica.timeout.as_secs(),
                cause: "litestream restore did not finish".into(),
            });
        }
        Err(cause) => return Err(failed(cause)),
    }
    let core = Core::start(config).await?;
    let mut running = match litestream.replicate() {
        Ok(running) => running,
        Err(cause) => {
            core.stop(false).await;
            return Err(failed(cause));
        }
    };
    if let Err(cause) = replicating(litestream, &mut running, replica.timeout).await {
        running.kill().await;
        core.stop(false).await;
        return Err(match cause {
            LitestreamError::TimedOut(..) => ReplicaFailure::Unreachable {
                url: replica.url.clone(),
                secs: replica.timeout.as_secs(),
                cause: "litestream could not replicate the database".into(),
            },
            cause => failed(cause),
        });
    }
    Ok((core, running))
}

/// Asks Litestream to sync until it answers that the replica holds the database, within
/// `within`; fails at once if it exits.
async fn replicating(
    litestream: &Litestream,
    running: &mut Running,
    within: Duration,
) -> Result<(), LitestreamError> {
    let deadline = Instant::now() + within;
    let mut last = None;
    while Instant::now() < deadline {
        let left = deadline - Instant::now();
        tokio::select! {
            status = running.exited() => {
                let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
                return Err(LitestreamError::Sync(format!("litestream exited ({status}) before it replicated the database")));
            }
            synced = litestream.sync(left.min(Duration::from_secs(5))) => match synced {
                Ok(_) => return Ok(()),
                Err(e) => {
                    last = Some(e.to_string());
                    tokio::time::sleep(Duration::from_millis(100).min(left)).await;
                }
            },
        }
    }
    if let Some(last) = last {
        tracing::warn!(error = %last, "litestream is not replicating yet");
    }
    Err(LitestreamError::TimedOut("replicate", within))
}

/// Serves while Litestream runs and the lease is held; restarts a Litestream that exits (the
/// gate closed meanwhile).
async fn supervise(
    litestream: &Litestream,
    mut running: Running,
    standing: &mut watch::Receiver<Standing>,
    gate: &Gate,
    shutdown: &mut (impl Future<Output = ()> + Unpin),
) -> Ending {
    let mut exits: Vec<Instant> = Vec::new();
    loop {
        enum Event {
            Signal,
            Lost,
            Exited(String),
        }
        let event = tokio::select! {
            _ = &mut *shutdown => Event::Signal,
            _ = lost(standing) => Event::Lost,
            status = running.exited() => Event::Exited(status.map_or_else(|e| e.to_string(), |s| s.to_string())),
        };
        match event {
            Event::Signal => return Ending::Signal(running),
            Event::Lost => {
                gate.close();
                tracing::error!("the replica's lease is lost: answering 503 and stopping");
                return Ending::LeaseLost(running);
            }
            Event::Exited(status) => {
                gate.close();
                tracing::error!(
                    %status,
                    "litestream exited: answering 503 until it replicates again"
                );
                exits.retain(|at| at.elapsed() < RESTART_WINDOW);
                exits.push(Instant::now());
                if exits.len() > MAX_RESTARTS {
                    return Ending::LitestreamFailed(LitestreamError::Sync(format!(
                        "litestream exited {} times within {} s",
                        exits.len(),
                        RESTART_WINDOW.as_secs()
                    )));
                }
                running = match litestream.replicate() {
                    Ok(running) => running,
                    Err(e) => return Ending::LitestreamFailed(e),
                };
                if let Err(e) = replicating(litestream, &mut running, RESTART_WITHIN).await {
                    running.kill().await;
                    return Ending::LitestreamFailed(e);
                }
                tracing::info!("litestream replicates again: serving");
                gate.open();
            }
        }
    }
}
