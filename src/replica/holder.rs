//! Who holds a lease, and the lease object's body.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Who holds a lease: a random id that tells processes apart, and where it runs for humans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseHolder {
    /// Random, new for each process.
    #[serde(rename = "holder")]
    pub id: String,
    /// The holder's process id.
    pub pid: u32,
    /// The holder's host name.
    pub host: String,
}

impl LeaseHolder {
    /// This process, with a new random id.
    pub fn this_process() -> LeaseHolder {
        let mut bytes = [0u8; 8];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut bytes);
        LeaseHolder {
            id: bytes.iter().map(|b| format!("{b:02x}")).collect(),
            pid: std::process::id(),
            host: host_name(),
        }
    }
}

impl std::fmt::Display for LeaseHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (pid {} on {})", self.id, self.pid, self.host)
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The lease object's body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Record {
    #[serde(flatten)]
    pub(super) holder: LeaseHolder,
    pub(super) renewed_at: DateTime<Utc>,
    /// Set by a release: the next acquirer need not wait for the TTL.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) released: bool,
}

pub(super) fn read_holder(path: &Path) -> Option<LeaseHolder> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice::<Record>(&bytes)
        .ok()
        .map(|r| r.holder)
}

pub(super) fn holder_json(holder: &LeaseHolder) -> Vec<u8> {
    serde_json::to_vec(&Record {
        holder: holder.clone(),
        renewed_at: Utc::now(),
        released: false,
    })
    .expect("a record serializes")
}
