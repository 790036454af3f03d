//! Free hosting without a disk (issue 28): Litestream, run as listo's child, replicates the
//! SQLite file to an object store and restores it on start; a lease beside the replica keeps
//! one writer per replica while deploys overlap.
//!
//! - [`Replica`]: the settings, checked once at start-up.
//! - [`litestream`]: the child process, its config, its control socket, restore.
//! - [`lease`]: one writer per replica.

pub mod file;
pub mod holder;
pub mod lease;
pub mod litestream;
pub mod s3;
pub mod target;
pub mod terms;

use lease::{LeaseError, LeaseTarget};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The replica in force: where, with which binary, how often.
#[derive(Clone, Debug)]
pub struct Replica {
    /// `LISTO_REPLICA` as given, for log lines (it holds no credentials).
    pub url: String,
    /// Where the replica and its lease live.
    pub target: LeaseTarget,
    /// The litestream binary, resolved.
    pub litestream: PathBuf,
    /// The SQLite file it replicates.
    pub database: PathBuf,
    /// Seconds between uploads.
    pub sync_interval: Duration,
    /// How long start-up waits for the store before giving up.
    pub timeout: Duration,
}

/// The replica's settings as read, before they are checked.
pub struct Wanted<'a> {
    /// `LISTO_REPLICA`.
    pub url: &'a str,
    /// `LISTO_REPLICA_ENDPOINT`.
    pub endpoint: Option<&'a str>,
    /// `LISTO_REPLICA_REGION`.
    pub region: Option<&'a str>,
    /// `LISTO_LITESTREAM`.
    pub litestream: Option<&'a Path>,
    /// The SQLite file.
    pub database: &'a Path,
    /// `LISTO_REPLICA_SYNC_INTERVAL`.
    pub sync_interval: Duration,
    /// `LISTO_REPLICA_TIMEOUT`.
    pub timeout: Duration,
}

/// A replica setting that cannot be used; start-up prints it as one line naming the variable.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {why}")]
pub struct SettingError {
    /// The variable at fault.
    pub variable: &'static str,
    /// What is wrong and what to send instead.
    pub why: String,
}

impl Replica {
    /// Checks the settings against the environment (`env`: credentials, `PATH`).
    pub fn resolve(
        wanted: Wanted<'_>,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<Replica, SettingError> {
        let target = LeaseTarget::parse(wanted.url, wanted.endpoint, wanted.region, env).map_err(
            |e| match e {
                LeaseError::Setting { variable, why } => SettingError { variable, why },
                other => SettingError {
                    variable: "LISTO_REPLICA",
                    why: other.to_string(),
                },
            },
        )?;
        let litestream = match wanted.litestream {
            Some(given) if executable(given) => given.to_path_buf(),
            Some(given) => {
                return Err(SettingError {
                    variable: "LISTO_LITESTREAM",
                    why: format!(
                        "{} is not an executable file: point it at the litestream binary",
                        given.display()
                    ),
                });
            }
            None => on_path("litestream", env("PATH").as_deref()).ok_or(SettingError {
                variable: "LISTO_LITESTREAM",
                why: "no litestream on PATH: install it (the image ships it) or set LISTO_LITESTREAM to the binary".into(),
            })?,
        };
        Ok(Replica {
            url: wanted.url.to_owned(),
            target,
            litestream,
            database: wanted.database.to_path_buf(),
            sync_interval: wanted.sync_interval,
            timeout: wanted.timeout,
        })
    }
}

fn executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The first executable `name` in `path` (a `PATH` value).
fn on_path(name: &str, path: Option<&str>) -> Option<PathBuf> {
    std::env::split_paths(path?)
        .map(|dir| dir.join(name))
        .find(|candidate| executable(candidate))
}
