//! Litestream as listo's child: the config listo writes for it, restoring a missing file, its
//! control socket's `/sync`, and stopping it.
//!
//! Litestream opens the database only on its first monitor tick, and its final sync at SIGTERM
//! covers only a database it has opened (40 of 40 writes made right after a start were lost after
//! a wipe). `POST /sync {"wait": true}` on its control socket opens the database and ships
//! everything committed so far, and answers only when the replica holds it: listo is ready after
//! the first such answer and asks again before it stops.

use super::Replica;
use super::lease::LeaseTarget;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// Litestream's own retries of its final sync when it is stopped. listo has already asked for
/// that sync (and waited up to [`FINAL_SYNC`]), so this only covers writes that raced the stop;
/// together they fit Cloud Run's 10 s between SIGTERM and SIGKILL.
const SHUTDOWN_SYNC_TIMEOUT: &str = "2s";
/// How long listo's own final `/sync` may take.
pub const FINAL_SYNC: Duration = Duration::from_secs(4);
/// How long a stopped Litestream may take to exit before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// Why Litestream did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum LitestreamError {
    /// The binary could not be run, or its folder written.
    #[error("running {binary}: {source}")]
    Spawn {
        /// The binary.
        binary: String,
        /// Why.
        source: io::Error,
    },
    /// It ran and failed; its own lines in the log say why.
    #[error("litestream {action} failed ({status}); its lines above say why")]
    Failed {
        /// `restore`.
        action: &'static str,
        /// Its exit status.
        status: ExitStatus,
    },
    /// It did not finish in time (and was killed).
    #[error("litestream {0} did not finish within {1:?}")]
    TimedOut(&'static str, Duration),
    /// The control socket could not be reached or answered an error.
    #[error("litestream sync: {0}")]
    Sync(String),
}

/// What start-up found for the database file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restored {
    /// The file was there: nothing restored.
    LocalFile,
    /// The replica held a database: restored from it.
    FromReplica,
    /// Neither: a new database starts.
    Nothing,
}

/// What a `/sync` answered: Litestream's newest transaction and the replica's.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
pub struct Synced {
    /// Litestream's newest transaction.
    pub txid: u64,
    /// The newest on the replica.
    pub replicated_txid: u64,
}

/// Litestream for one database: its config and control socket in a private folder.
pub struct Litestream {
    binary: PathBuf,
    /// Holds `litestream.yml` and the socket; removed on drop.
    dir: tempfile::TempDir,
    database: PathBuf,
}

impl Litestream {
    /// Writes the config for `replica` into a new private folder.
    pub fn prepare(replica: &Replica) -> Result<Litestream, LitestreamError> {
        let spawn = |source| LitestreamError::Spawn {
            binary: replica.litestream.display().to_string(),
            source,
        };
        // A socket path must fit in 108 bytes: the temp folder, not the database's.
        let dir = tempfile::Builder::new()
            .prefix("listo-litestream-")
            .tempdir()
            .map_err(spawn)?;
        let database = std::path::absolute(&replica.database).map_err(spawn)?;
        let config = config(replica, &database, &dir.path().join("control.sock"));
        std::fs::write(dir.path().join("litestream.yml"), config).map_err(spawn)?;
        Ok(Litestream {
            binary: replica.litestream.clone(),
            dir,
            database,
        })
    }

    fn command(&self, args: &[&str]) -> Command {
        let config = self.dir.path().join("litestream.yml");
        let mut command = Command::new(&self.binary);
        command
            .arg(args[0])
            .arg("-config")
            .arg(config)
            .arg("-no-expand-env")
            .args(&args[1..])
            // Its own group: a Ctrl-C in a terminal reaches listo alone, which stops it in order.
            .process_group(0)
            // Litestream 0.5.17's S3 client refuses to start when this is set ("unable to add
            // custom RootCAs HTTPClient"); SSL_CERT_FILE does the same job for Go.
            .env_remove("AWS_CA_BUNDLE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // A blank AWS_* variable counts as unset for listo (as every setting does) but as set
        // for Litestream, which would then sign with an empty key rather than LITESTREAM_*'s.
        for var in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
        ] {
            if std::env::var_os(var).is_some_and(|v| v.is_empty()) {
                command.env_remove(var);
            }
        }
        // SAFETY: prctl(2) is async-signal-safe and touches no memory of the parent.
        unsafe {
            // A listo killed outright (kill -9, OOM) takes Litestream along: SIGTERM lets it
            // ship what was committed and end, rather than run on as an orphan. The signal
            // follows the spawning thread, and tokio's workers live as long as the runtime.
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        command
    }

    fn start(&self, args: &[&str]) -> Result<Child, LitestreamError> {
        let mut child = self
            .command(args)
            .spawn()
            .map_err(|source| LitestreamError::Spawn {
                binary: self.binary.display().to_string(),
                source,
            })?;
        if let Some(out) = child.stdout.take() {
            tokio::spawn(forward(out));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(forward(err));
        }
        Ok(child)
    }

    /// Restores the database from the replica when the file is missing, within `timeout`
    /// (Litestream alone retries an unreachable store for minutes, silently).
    pub async fn restore(&self, timeout: Duration) -> Result<Restored, LitestreamError> {
        if self.database.exists() {
            return Ok(Restored::LocalFile);
        }
        if let Some(folder) = self.database.parent() {
            crate::durable::create_dir_all_durable(folder).map_err(|source| {
                LitestreamError::Spawn {
                    binary: self.binary.display().to_string(),
                    source,
                }
            })?;
        }
        let db = self.database.display().to_string();
        let mut child = self.start(&["restore", "-if-replica-exists", &db])?;
        let status = match tokio::time::timeout(timeout, child.wait()).await {
            Ok(status) => status.map_err(|source| LitestreamError::Spawn {
                binary: self.binary.display().to_string(),
                source,
            })?,
            Err(_) => {
                kill_group(&child, libc::SIGKILL);
                let _ = child.wait().await;
                return Err(LitestreamError::TimedOut("restore", timeout));
            }
        };
        if !status.success() {
            return Err(LitestreamError::Failed {
                action: "restore",
                status,
            });
        }
        // "Restored" and "nothing to restore" both exit 0: the file tells them apart.
        Ok(if self.database.exists() {
            Restored::FromReplica
        } else {
            Restored::Nothing
        })
    }

    /// Starts `litestream replicate`.
    pub fn replicate(&self) -> Result<Running, LitestreamError> {
        Ok(Running {
            child: self.start(&["replicate"])?,
        })
    }

    /// Asks Litestream to ship everything committed so far and waits for the replica to hold
    /// it, for at most `timeout`.
    pub async fn sync(&self, timeout: Duration) -> Result<Synced, LitestreamError> {
        let socket = self.dir.path().join("control.sock");
        let body = serde_json::json!({
            "path": self.database,
            "wait": true,
            "timeout": timeout.as_secs().max(1),
        });
        let ask = control_post(&socket, "/sync", body.to_string());
        let answer = tokio::time::timeout(timeout + Duration::from_secs(1), ask)
            .await
            .map_err(|_| LitestreamError::Sync(format!("no answer within {timeout:?}")))??;
        let synced: Synced = serde_json::from_slice(&answer)
            .map_err(|e| LitestreamError::Sync(format!("unexpected answer: {e}")))?;
        if synced.replicated_txid < synced.txid {
            return Err(LitestreamError::Sync(format!(
                "the replica holds transaction {} of {}",
                synced.replicated_txid, synced.txid
            )));
        }
        Ok(synced)
    }
}

/// A running `litestream replicate`.
pub struct Running {
    child: Child,
}

impl Running {
    /// Resolves when it exits.
    pub async fn exited(&mut self) -> io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// SIGTERM, then SIGKILL after a grace period: its own final sync retries for at most
    /// [`SHUTDOWN_SYNC_TIMEOUT`].
    pub async fn stop(mut self) -> Option<ExitStatus> {
        kill_group(&self.child, libc::SIGTERM);
        match tokio::time::timeout(STOP_GRACE, self.child.wait()).await {
            Ok(status) => status.ok(),
            Err(_) => {
                tracing::warn!("litestream did not stop within 3 s of SIGTERM; killing it");
                self.kill().await;
                None
            }
        }
    }

    /// SIGKILL, at once (the lease is lost: it must not upload another byte).
    pub async fn kill(&mut self) {
        kill_group(&self.child, libc::SIGKILL);
        let _ = self.child.wait().await;
    }
}

/// Signals the child's whole process group (it leads it).
fn kill_group(child: &Child, signal: libc::c_int) {
    if let Some(pid) = child.id() {
        // SAFETY: kill(2) with a negative pid signals the group the child leads; no memory is
        // shared.
        unsafe {
            libc::kill(-(pid as libc::pid_t), signal);
        }
    }
}

/// Litestream's lines into listo's log, at their own level, under the target `litestream`.
async fn forward(out: impl AsyncRead + Unpin) {
    let mut lines = BufReader::new(out).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let (level, message) = level_and_message(&line);
        match level {
            "ERROR" => tracing::error!(target: "litestream", "{message}"),
            "WARN" => tracing::warn!(target: "litestream", "{message}"),
            "DEBUG" => tracing::debug!(target: "litestream", "{message}"),
            _ => tracing::info!(target: "litestream", "{message}"),
        }
    }
}

/// `time=… level=INFO msg=…`: the time is listo's log's to give, the level picks the macro.
fn level_and_message(line: &str) -> (&str, &str) {
    let rest = line.split_once(' ').filter(|(t, _)| t.starts_with("time="));
    let rest = rest.map_or(line, |(_, rest)| rest);
    match rest.split_once(' ') {
        Some((level, message)) if level.starts_with("level=") => (&level[6..], message),
        _ => ("INFO", rest),
    }
}

/// One HTTP/1.1 POST on the control socket; the body of a 200.
async fn control_post(socket: &Path, path: &str, body: String) -> Result<Bytes, LitestreamError> {
    let fail = |e: &dyn std::fmt::Display| LitestreamError::Sync(e.to_string());
    let stream = tokio::net::UnixStream::connect(socket)
        .await
        .map_err(|e| fail(&e))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| fail(&e))?;
    tokio::spawn(connection);
    let request = hyper::Request::post(path)
        .header("host", "litestream")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| fail(&e))?;
    let answer = sender.send_request(request).await.map_err(|e| fail(&e))?;
    let status = answer.status();
    let body = answer.into_body().collect().await.map_err(|e| fail(&e))?;
    let body = body.to_bytes();
    if !status.is_success() {
        let said = String::from_utf8_lossy(&body);
        return Err(fail(&format!("{status}: {}", said.trim())));
    }
    Ok(body)
}

/// The config: JSON, which YAML reads as it is, so paths need no YAML quoting rules.
fn config(replica: &Replica, database: &Path, socket: &Path) -> String {
    let sync_interval = format!("{}s", replica.sync_interval.as_secs());
    let target = match &replica.target {
        LeaseTarget::S3(s3) => {
            let mut target = serde_json::json!({
                "type": "s3",
                "bucket": s3.bucket,
                "path": s3.path,
                "region": s3.region,
                "sync-interval": sync_interval,
            });
            if let Some(endpoint) = &s3.endpoint {
                target["endpoint"] = endpoint.as_str().trim_end_matches('/').into();
                target["force-path-style"] = true.into();
            }
            target
        }
        LeaseTarget::File { dir } => serde_json::json!({
            "type": "file",
            "path": dir,
            "sync-interval": sync_interval,
        }),
    };
    serde_json::json!({
        "shutdown-sync-timeout": SHUTDOWN_SYNC_TIMEOUT,
        "shutdown-sync-interval": "250ms",
        "socket": { "enabled": true, "path": socket },
        "dbs": [{ "path": database, "monitor-interval": "1s", "replica": target }],
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn litestream_lines_keep_their_level_and_lose_their_time() {
        let line = r#"time=2026-12-03T21:05:21.492Z level=WARN msg="sync failed" db=listo.db"#;
        assert_eq!(
            level_and_message(line),
            ("WARN", r#"msg="sync failed" db=listo.db"#)
        );
        assert_eq!(
            level_and_message("Error: no matching backup files available"),
            ("INFO", "Error: no matching backup files available")
        );
    }

    #[test]
    fn the_config_names_the_replica_and_the_socket() {
        let env = |name: &str| (name.starts_with("LITESTREAM_")).then(|| "x".to_owned());
        let target = LeaseTarget::parse(
            "s3://bucket/app/db",
            Some("http://127.0.0.1:9000/"),
            Some("auto"),
            env,
        )
        .unwrap();
        let replica = Replica {
            url: "s3://bucket/app/db".into(),
            target,
            litestream: "/bin/litestream".into(),
            database: "/data/listo.db".into(),
            sync_interval: Duration::from_secs(3),
            timeout: Duration::from_secs(30),
        };
        let config = config(
            &replica,
            Path::new("/data/listo.db"),
            Path::new("/tmp/x/c.sock"),
        );
        let config: serde_json::Value = serde_json::from_str(&config).unwrap();
        let db = &config["dbs"][0];
        assert_eq!(db["path"], "/data/listo.db");
        assert_eq!(config["socket"]["path"], "/tmp/x/c.sock");
        let r = &db["replica"];
        let fields = [
            &r["type"],
            &r["bucket"],
            &r["path"],
            &r["endpoint"],
            &r["region"],
            &r["sync-interval"],
        ];
        assert_eq!(
            fields,
            [
                "s3",
                "bucket",
                "app/db",
                "http://127.0.0.1:9000",
                "auto",
                "3s"
            ]
        );
        assert_eq!(r["force-path-style"], true);
        assert!(
            !config.to_string().contains("\"x\""),
            "no credentials in the file"
        );
    }
}
