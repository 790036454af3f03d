//! Secrets at rest: argon2id for passwords, keyed blake3 for tokens and codes.

use super::ServiceError;
use crate::domain::{ChallengeId, OtpCode, Password, SessionToken};
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;

/// Keys for hashing tokens and codes, derived from the server secret.
#[derive(Clone)]
pub struct Keys {
    token: [u8; 32],
    code: [u8; 32],
}

impl Keys {
    /// Separate keys per purpose, so a token hash can never be replayed as a code hash.
    pub fn derive(secret: &[u8]) -> Self {
        Self {
            token: blake3::derive_key("listo 2026-11 session token hash", secret),
            code: blake3::derive_key("listo 2026-11 one-time code hash", secret),
        }
    }

    /// What the database stores for a session token.
    pub fn token_hash(&self, token: &SessionToken) -> [u8; 32] {
        *blake3::keyed_hash(&self.token, token.as_bytes()).as_bytes()
    }

    /// What the database stores for a code; bound to its challenge so hashes cannot be reused.
    pub fn code_hash(&self, challenge: &ChallengeId, code: &OtpCode) -> [u8; 32] {
        let mut hasher = blake3::Hasher::new_keyed(&self.code);
        hasher.update(challenge.as_str().as_bytes());
        hasher.update(b":");
        hasher.update(code.expose().as_bytes());
        *hasher.finalize().as_bytes()
    }
}

/// Argon2id with the crate defaults (m=19 MiB, t=2, p=1: OWASP's figures), run on a few threads
/// of its own. Bounding the threads bounds both CPU (a login storm cannot take every core from
/// other requests) and memory (each thread's allocator keeps its 19 MiB block for reuse; on the
/// shared blocking pool every thread that ever hashed would keep one).
#[derive(Clone)]
pub struct PasswordHasher {
    jobs: mpsc::Sender<Box<dyn FnOnce() + Send>>,
    dummy: Arc<OnceLock<String>>,
    /// Hashes queued or running; past `max_waiting` a sign-in is turned away at once rather
    /// than queued behind a storm for seconds.
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
}

/// Sign-ins that may wait for a hashing thread, per thread (about a second of work each).
const WAITING_PER_THREAD: usize = 32;

impl PasswordHasher {
    /// A hasher with `threads` hashing threads.
    pub fn new(threads: usize) -> Self {
        Self::with_limit(threads, threads.max(1) * WAITING_PER_THREAD)
    }

    /// A hasher that turns work away once `max_waiting` hashes are queued or running.
    fn with_limit(threads: usize, max_waiting: usize) -> Self {
        let (jobs, queue) = mpsc::channel::<Box<dyn FnOnce() + Send>>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads.max(1) {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("listo-argon2-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for the next job, not while hashing.
                        let job = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        let hasher = Self {
            jobs,
            dummy: Arc::new(OnceLock::new()),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting,
        };
        // Made ahead of the first unknown-email login, so that one is not slower than the rest.
        let dummy = hasher.dummy.clone();
        let _ = hasher.jobs.send(Box::new(move || {
            if let Ok(d) = hash("listo dummy password for timing") {
                let _ = dummy.set(d);
            }
        }));
        hasher
    }

    /// A PHC string with a fresh random salt.
    pub async fn hash(&self, password: Password) -> Result<String, ServiceError> {
        self.run(move || hash(password.expose())).await?
    }

    /// Checks `password` against `phc`; with no account (`None`) it checks against a dummy hash,
    /// so an unknown email costs the same time as a wrong password.
    pub async fn verify(
        &self,
        password: Password,
        phc: Option<String>,
    ) -> Result<bool, ServiceError> {
        let dummy = self.dummy.clone();
        self.run(move || {
            let known = phc.is_some();
            let phc = match phc {
                Some(phc) => phc,
                None => match dummy.get() {
                    Some(d) => d.clone(),
                    None => {
                        let d = hash("listo dummy password for timing")?;
                        dummy.get_or_init(|| d).clone()
                    }
                },
            };
            let matches = verify(password.expose(), &phc)?;
            Ok(known && matches)
        })
        .await?
    }

    /// Runs `f` on a hashing thread and waits for it without blocking the async workers.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ServiceError> {
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(ServiceError::Busy);
        }
        let (reply, answer) = oneshot::channel();
        let span = tracing::Span::current();
        let waiting = self.waiting.clone();
        self.jobs
            .send(Box::new(move || {
                // A client that gave up (disconnected) no longer waits: skip its hash.
                let result = (!reply.is_closed()).then(|| span.in_scope(f));
                // Counted out before answering, so the caller finds the room it leaves.
                waiting.fetch_sub(1, Ordering::SeqCst);
                if let Some(result) = result {
                    let _ = reply.send(result);
                }
            }))
            .map_err(|_| ServiceError::Hashing("the hashing threads have stopped".into()))?;
        answer
            .await
            .map_err(|_| ServiceError::Hashing("a hashing thread dropped its job".into()))
    }
}

thread_local! {
    /// Argon2's working memory (19 MiB), allocated once per hashing thread and reused, so the
    /// allocator never has to hand the block back (it rarely did: RSS grew with every login).
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs argon2 with `params` into `out`, in this thread's reusable memory.
fn argon2_into(
    argon2: &Argon2<'_>,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), ServiceError> {
    MEMORY.with_borrow_mut(|memory| {
        if memory.len() < params.block_count() {
            memory.resize(params.block_count(), Block::new());
        }
        argon2
            .hash_password_into_with_memory(
                password,
                salt,
                out,
                &mut memory[..params.block_count()],
            )
            .map_err(|e| ServiceError::Hashing(e.to_string()))
    })
}

/// An argon2id PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) with a random salt.
fn hash(password: &str) -> Result<String, ServiceError> {
    let fail = |e: &dyn std::fmt::Display| ServiceError::Hashing(e.to_string());
    let params = Params::default();
    let mut salt = [0u8; 16];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut salt);
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    argon2_into(&argon2, &params, password.as_bytes(), &salt, &mut out)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| fail(&e))?,
        salt: Some(Salt::new(&salt).map_err(|e| fail(&e))?),
        hash: Some(Output::new(&out).map_err(|e| fail(&e))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` produces the hash in the PHC string `phc` (compared in constant time).
fn verify(password: &str, phc: &str) -> Result<bool, ServiceError> {
    let fail = |e: &dyn std::fmt::Display| ServiceError::Hashing(e.to_string());
    let parsed = PasswordHash::new(phc).map_err(|e| fail(&e))?;
    let algorithm = Algorithm::new(parsed.algorithm).map_err(|e| fail(&e))?;
    let version = Version::try_from(parsed.version.unwrap_or(0x13)).map_err(|e| fail(&e))?;
    let params = Params::try_from(&parsed).map_err(|e| fail(&e))?;
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return Err(ServiceError::Hashing(
            "PHC string without salt or hash".into(),
        ));
    };
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params.clone());
    argon2_into(&argon2, &params, password.as_bytes(), salt, &mut out)?;
    Ok(bool::from(out.as_slice().ct_eq(expected.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordVerifier as _;

    #[tokio::test]
    async fn past_the_waiting_limit_a_hash_is_turned_away_at_once() {
        let hasher = PasswordHasher::with_limit(1, 1);
        let password = || Password::parse("correct horse battery".into()).unwrap();
        let (first, second) = tokio::join!(hasher.hash(password()), hasher.hash(password()));
        assert!(first.is_ok());
        assert!(matches!(second, Err(ServiceError::Busy)), "{second:?}");
        assert!(
            hasher.hash(password()).await.is_ok(),
            "room again once the first is done"
        );
    }

    #[test]
    fn hashes_interoperate_with_the_argon2_crate() {
        let ours = hash("correct horse battery").unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );

        let theirs = {
            use argon2::password_hash::PasswordHasher as _;
            Argon2::default()
                .hash_password(b"correct horse battery")
                .unwrap()
                .to_string()
        };
        assert!(verify("correct horse battery", &theirs).unwrap());
        assert!(!verify("correct horse battery!", &theirs).unwrap());
        assert!(!verify("wrong", &ours).unwrap());
    }
}
