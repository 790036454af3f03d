//! One writer per replica: the process that serves holds a lease beside the replica and renews
//! it; a second process (the next deploy, started before the old one stops) waits until it is
//! released or has expired.
//!
//! - S3 (`s3://BUCKET/PATH`): the object `PATH/listo-lease.json`, created with
//!   `If-None-Match: *`, renewed and released with `If-Match: <our etag>` (AWS S3 and R2 both
//!   document these on PutObject; B2 does not, so it cannot hold a lease). Expiry is judged by the
//!   store's clock (`Date` − `Last-Modified`), never ours. Release is a conditional PUT of a body
//!   marked released rather than a conditional DELETE: PUT with `If-Match` is what AWS and R2
//!   both document, so one code path serves both.
//! - file (`file:///PATH`): an exclusive `flock` on `PATH/listo-lease.lock`, which the kernel
//!   drops when the holder dies (so no expiry), and `PATH/listo-lease.json` naming the holder.
//!
//! Not `PATH/lock.json`: Litestream's own (unwired) leaser uses that key.

pub use super::holder::LeaseHolder;
use super::holder::Record;
use super::s3::{Condition, S3Answer, S3Client};
pub use super::target::{LeaseTarget, S3Target};
pub use super::terms::{Acquired, LOCK_FILE, LeaseError, OBJECT_NAME, PROBE_NAME};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, watch};
use tokio::time::Instant;

/// How long a lease lasts without renewal: also how long a restart after a crash waits.
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);
/// How often the holder renews it (a third of the TTL: two renewals may fail before it lapses).
/// Each renewal is a Class A request: every 10 s is 263k a month, a quarter of R2's free million
/// (every 5 s was 714 of the 1,266 an idle hour cost, 91% of it: BENCHMARKS.md, "Replica").
pub const RENEW_EVERY: Duration = Duration::from_secs(10);
/// The most any one request to the store may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// HTTP dates (`Date`, `Last-Modified`) have whole seconds.
const DATE_GRANULARITY: Duration = Duration::from_secs(1);
/// Whether the lease is still held, as `Lease::keep` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Renewed in time.
    Held,
    /// Taken by another process, or not renewable before the TTL ran out: stop acknowledging writes.
    Lost,
}

/// How long the lease lasts and how long a request may take.
#[derive(Debug, Clone, Copy)]
pub struct LeaseOptions {
    /// Lapses after this long without renewal (default 30 s).
    pub ttl: Duration,
    /// Each request to the store gives up after this long (default 5 s).
    pub request_timeout: Duration,
}

impl Default for LeaseOptions {
    fn default() -> Self {
        LeaseOptions {
            ttl: DEFAULT_TTL,
            request_timeout: REQUEST_TIMEOUT,
        }
    }
}

/// A handle on the replica's lease for one holder. Operations on one handle run one at a time.
pub struct Lease {
    holder: LeaseHolder,
    ttl: Duration,
    backend: Backend,
    /// When the last successful create or renewal was sent: the lease lasts a TTL from then.
    renewed: std::sync::Mutex<Option<Instant>>,
}

enum Backend {
    S3 {
        client: Box<S3Client>,
        key: String,
        /// Our version of the object while we hold it.
        etag: Mutex<Option<String>>,
    },
    File(super::file::FileLock),
}

impl Lease {
    /// A handle for `holder`; nothing is sent until `acquire`.
    pub fn new(
        target: &LeaseTarget,
        holder: LeaseHolder,
        options: LeaseOptions,
    ) -> Result<Lease, LeaseError> {
        let backend = match target {
            LeaseTarget::S3(s3) => Backend::S3 {
                client: Box::new(S3Client::new(
                    s3.endpoint.as_ref(),
                    &s3.region,
                    &s3.bucket,
                    s3.credentials.clone(),
                    options.request_timeout,
                )?),
                key: object_key(&s3.path),
                etag: Mutex::new(None),
            },
            LeaseTarget::File { dir } => Backend::File(super::file::FileLock::new(dir)),
        };
        Ok(Lease {
            holder,
            ttl: options.ttl,
            backend,
            renewed: std::sync::Mutex::new(None),
        })
    }

    /// Who this handle acquires as.
    pub fn holder(&self) -> &LeaseHolder {
        &self.holder
    }

    /// Takes the lease if it is free, released or expired; never waits for it (the caller polls).
    pub async fn acquire(&self) -> Result<Acquired, LeaseError> {
        let sent = Instant::now();
        let acquired = match &self.backend {
            Backend::S3 { client, key, etag } => {
                let mut etag = etag.lock().await;
                let (acquired, new_etag) = self.acquire_s3(client, key).await?;
                if new_etag.is_some() {
                    *etag = new_etag;
                }
                acquired
            }
            Backend::File(lock) => lock.acquire(&self.holder)?,
        };
        if acquired == Acquired::Held {
            *self.renewed.lock().expect("not poisoned") = Some(sent);
        }
        Ok(acquired)
    }

    async fn acquire_s3(
        &self,
        client: &S3Client,
        key: &str,
    ) -> Result<(Acquired, Option<String>), LeaseError> {
        let mut seen = Acquired::HeldByOther {
            holder: None,
            expires_in: Some(self.ttl),
        };
        // A few rounds: the object may vanish or change between our reads and writes.
        for _ in 0..4 {
            let create = client
                .put(key, self.body(false), &Condition::Absent)
                .await?;
            match create.status {
                200 => return Ok((Acquired::Held, Some(etag_of(&create, "create")?))),
                412 | 409 => {}
                status => return Err(unexpected("create", status)),
            }
            let current = client.get(key).await?;
            match current.status {
                200 => {}
                404 => continue,
                status => return Err(unexpected("read", status)),
            }
            let record: Option<Record> = serde_json::from_slice(&current.body).ok();
            let holder = record.as_ref().map(|r| r.holder.clone());
            let free = record
                .as_ref()
                .is_some_and(|r| r.released || r.holder.id == self.holder.id);
            let left = if free {
                None
            } else {
                remaining(current.date, current.last_modified, self.ttl)
            };
            if let Some(left) = left {
                seen = Acquired::HeldByOther {
                    holder,
                    expires_in: Some(left),
                };
                return Ok((seen, None));
            }
            let Some(theirs) = current.etag.clone() else {
                return Err(unexpected("read", current.status));
            };
            let take = client
                .put(key, self.body(false), &Condition::Matches(theirs))
                .await?;
            match take.status {
                200 => return Ok((Acquired::Held, Some(etag_of(&take, "take over")?))),
                // Someone else took it, or removed it, first: look again.
                412 | 409 | 404 => {
                    seen = Acquired::HeldByOther {
                        holder,
                        expires_in: Some(self.ttl),
                    }
                }
                status => return Err(unexpected("take over", status)),
            }
        }
        Ok((seen, None))
    }

    /// Checks, once at start, that the store refuses a write whose condition fails: one that
    /// ignored `If-None-Match` / `If-Match` would let two processes both "take" the lease and
    /// both serve. Writes a probe object beside the lease (three PUTs); a file lease has nothing
    /// to check.
    pub async fn check_conditional_writes(&self) -> Result<(), LeaseError> {
        let Backend::S3 { client, key, .. } = &self.backend else {
            return Ok(());
        };
        let probe = key.replace(OBJECT_NAME, PROBE_NAME);
        let body = Bytes::from_static(b"{\"probe\":true}");
        let first = client.put(&probe, body.clone(), &Condition::Absent).await?;
        if !matches!(first.status, 200 | 412 | 409) {
            return Err(unexpected("probe", first.status));
        }
        let unmet = [
            Condition::Absent,
            Condition::Matches("\"listo-no-such-version\"".into()),
        ];
        for condition in unmet {
            let answer = client.put(&probe, body.clone(), &condition).await?;
            match answer.status {
                412 | 409 => {}
                status @ (200..=299 | 501) => return Err(LeaseError::Unsupported(status)),
                status => return Err(unexpected("probe", status)),
            }
        }
        Ok(())
    }

    /// Renews a held lease; `Lost` when another process holds it now.
    pub async fn renew(&self) -> Result<(), LeaseError> {
        let sent = Instant::now();
        match &self.backend {
            Backend::S3 { client, key, etag } => {
                let mut etag = etag.lock().await;
                let mut ours = etag.clone().ok_or(LeaseError::NotHeld)?;
                // Twice at most: a renewal that timed out may still have been stored, leaving
                // us with a stale version of an object that is still ours.
                for attempt in 0..2 {
                    let answer = client
                        .put(key, self.body(false), &Condition::Matches(ours.clone()))
                        .await?;
                    match answer.status {
                        200 => {
                            *etag = Some(etag_of(&answer, "renew")?);
                            break;
                        }
                        412 if attempt == 0 => match self.still_ours(client, key).await? {
                            Some(current) => ours = current,
                            None => return Err(self.lost(&mut etag)),
                        },
                        412 | 404 => return Err(self.lost(&mut etag)),
                        409 => return Err(LeaseError::Conflict("renew")),
                        status => return Err(unexpected("renew", status)),
                    }
                }
            }
            Backend::File(lock) => lock.renew()?,
        }
        *self.renewed.lock().expect("not poisoned") = Some(sent);
        Ok(())
    }

    /// The object's version when it still names us as holder (not released), else `None`.
    async fn still_ours(&self, client: &S3Client, key: &str) -> Result<Option<String>, LeaseError> {
        let current = client.get(key).await?;
        match current.status {
            200 => {}
            404 => return Ok(None),
            status => return Err(unexpected("read", status)),
        }
        let ours = serde_json::from_slice::<Record>(&current.body)
            .is_ok_and(|r| r.holder.id == self.holder.id && !r.released);
        Ok(current.etag.filter(|_| ours))
    }

    /// Forgets our version and renewal time: another process holds the lease now.
    fn lost(&self, etag: &mut Option<String>) -> LeaseError {
        *etag = None;
        *self.renewed.lock().expect("not poisoned") = None;
        LeaseError::Lost
    }

    /// Gives the lease up so the next holder need not wait for the TTL; fine when not held.
    pub async fn release(&self) -> Result<(), LeaseError> {
        *self.renewed.lock().expect("not poisoned") = None;
        match &self.backend {
            Backend::S3 { client, key, etag } => {
                let mut etag = etag.lock().await;
                let Some(ours) = etag.clone() else {
                    return Ok(());
                };
                let answer = client
                    .put(key, self.body(true), &Condition::Matches(ours))
                    .await?;
                match answer.status {
                    // 412/404: someone else's already, nothing of ours to give up.
                    200 | 412 | 404 => {
                        *etag = None;
                        Ok(())
                    }
                    409 => Err(LeaseError::Conflict("release")),
                    status => Err(unexpected("release", status)),
                }
            }
            Backend::File(lock) => lock.release(),
        }
    }

    /// Renews every `every` until the lease is lost, reporting through the channel (`Held` at
    /// first). A failed renewal is retried each second; when none can succeed before the TTL
    /// (less a fifth, for clocks and the request in flight) runs out, it reports `Lost` and ends.
    /// Abort the task before `release`.
    pub fn keep(
        self: Arc<Self>,
        every: Duration,
    ) -> (watch::Receiver<Standing>, tokio::task::JoinHandle<()>) {
        let (report, standing) = watch::channel(Standing::Held);
        let task = tokio::spawn(async move {
            let margin = self.ttl / 5;
            let mut wait = every;
            loop {
                tokio::time::sleep(wait).await;
                let Some(since) = *self.renewed.lock().expect("not poisoned") else {
                    let _ = report.send(Standing::Lost);
                    return;
                };
                let deadline = since + self.ttl.saturating_sub(margin);
                let now = Instant::now();
                if now >= deadline {
                    tracing::error!(holder = %self.holder, "the replica lease could not be renewed in time");
                    let _ = report.send(Standing::Lost);
                    return;
                }
                match tokio::time::timeout(deadline - now, self.renew()).await {
                    Ok(Ok(())) => wait = every,
                    Ok(Err(e @ (LeaseError::Lost | LeaseError::NotHeld)))
                    | Ok(Err(e @ LeaseError::Unsupported(_))) => {
                        tracing::error!(holder = %self.holder, error = %e, "the replica lease is lost");
                        let _ = report.send(Standing::Lost);
                        return;
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(holder = %self.holder, error = %e, "renewing the replica lease failed; retrying");
                        wait = every.min(Duration::from_secs(1));
                    }
                    Err(_) => wait = Duration::ZERO,
                }
            }
        });
        (standing, task)
    }

    fn body(&self, released: bool) -> Bytes {
        let record = Record {
            holder: self.holder.clone(),
            renewed_at: Utc::now(),
            released,
        };
        Bytes::from(serde_json::to_vec(&record).expect("a record serializes"))
    }
}

/// `PATH/listo-lease.json`, or the bucket's root for an empty path.
pub fn object_key(path: &str) -> String {
    let path = path.trim_matches('/');
    if path.is_empty() {
        OBJECT_NAME.to_owned()
    } else {
        format!("{path}/{OBJECT_NAME}")
    }
}

/// How long a lease written at `last_modified` has left at `date`, both by the store's clock;
/// `None` once expired. Both dates have whole seconds, so their difference can read up to a
/// second more than the real age: a second is added to the TTL, so a lease is never taken
/// over early. Without both dates nothing can be judged, so it is taken as just renewed.
pub fn remaining(
    date: Option<DateTime<Utc>>,
    last_modified: Option<DateTime<Utc>>,
    ttl: Duration,
) -> Option<Duration> {
    let (Some(date), Some(modified)) = (date, last_modified) else {
        return Some(ttl);
    };
    let age = (date - modified).to_std().unwrap_or(Duration::ZERO);
    (ttl + DATE_GRANULARITY)
        .checked_sub(age)
        .filter(|left| !left.is_zero())
}

fn etag_of(answer: &S3Answer, operation: &'static str) -> Result<String, LeaseError> {
    answer.etag.clone().ok_or(LeaseError::Status {
        operation,
        status: answer.status,
    })
}

fn unexpected(operation: &'static str, status: u16) -> LeaseError {
    match status {
        // NotImplemented: the store ignores nothing, it refuses the header outright.
        501 => LeaseError::Unsupported(status),
        _ => LeaseError::Status { operation, status },
    }
}

#[cfg(test)]
#[path = "lease_tests.rs"]
mod tests;
