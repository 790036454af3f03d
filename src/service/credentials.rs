//! Secrets at rest: argon2id for passwords, keyed blake3 for tokens and codes.

use super::ServiceError;
use crate::domain::{ChallengeId, EventTicket, OtpCode, Password, RefreshToken, SessionToken};
use crate::workers::WorkerPool;
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;

/// Keys for hashing tokens and codes, derived from the server secret.
#[derive(Clone)]
pub struct Keys {
    token: [u8; 32],
    code: [u8; 32],
    reset_code: [u8; 32],
    access: [u8; 32],
    refresh: [u8; 32],
    refresh_hash: [u8; 32],
    ticket: [u8; 32],
}

impl Keys {
    /// Separate keys per purpose, so a token hash can never be replayed as a code hash.
    pub fn derive(secret: &[u8]) -> Self {
        Self {
            token: blake3::derive_key("listo 2026-11 session token hash", secret),
            code: blake3::derive_key("listo 2026-11 one-time code hash", secret),
            reset_code: blake3::derive_key("listo 2026-12 password reset code", secret),
            access: blake3::derive_key("listo 2026-12 sign-in access token", secret),
            refresh: blake3::derive_key("listo 2026-12 refresh token mac", secret),
            refresh_hash: blake3::derive_key("listo 2026-12 refresh token hash", secret),
            ticket: blake3::derive_key("listo 2026-12 event ticket hash", secret),
        }
    }

    /// The access token of a sign-in's generation, derived from the secret, the sign-in's id
    /// and the generation: a lost answer can be given again, and nothing but its hash is stored.
    pub fn access_token(&self, sign_in: &[u8; 16], generation: u64) -> SessionToken {
        let part = RefreshToken::signed_part(sign_in, generation);
        SessionToken::from_bytes(*blake3::keyed_hash(&self.access, &part).as_bytes())
    }

    /// The refresh token of a sign-in's generation (derived the same way, with its own key).
    pub fn refresh_token(&self, sign_in: &[u8; 16], generation: u64) -> RefreshToken {
        let part = RefreshToken::signed_part(sign_in, generation);
        let mac = *blake3::keyed_hash(&self.refresh, &part).as_bytes();
        RefreshToken::new(*sign_in, generation, mac)
    }

    /// Whether a presented refresh token is one this server issued (its MAC holds), in
    /// constant time.
    pub fn refresh_genuine(&self, token: &RefreshToken) -> bool {
        let expected = self.refresh_token(token.sign_in_bytes(), token.generation());
        bool::from(expected.mac().ct_eq(token.mac()))
    }

    /// What the database stores for a refresh token.
    pub fn refresh_hash(&self, token: &RefreshToken) -> [u8; 32] {
        *blake3::keyed_hash(&self.refresh_hash, token.encode().as_bytes()).as_bytes()
    }

    /// The code of a reset challenge, derived from the secret and its id: the mail queue holds
    /// only the id, and the sender derives the code again when it sends (the same on every
    /// attempt and every process). Without the secret the id says nothing of the code.
    pub fn reset_code(&self, challenge: &ChallengeId) -> OtpCode {
        let digest = blake3::keyed_hash(&self.reset_code, challenge.as_str().as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest.as_bytes()[..8]);
        // 2^64 is not a multiple of 10^6, but the bias is below 10^-13.
        OtpCode::from_number(u64::from_le_bytes(first))
    }

    /// What the database stores for a session token.
    pub fn token_hash(&self, token: &SessionToken) -> [u8; 32] {
        *blake3::keyed_hash(&self.token, token.as_bytes()).as_bytes()
    }

    /// What the database stores for an event ticket.
    pub fn ticket_hash(&self, ticket: &EventTicket) -> [u8; 32] {
        *blake3::keyed_hash(&self.ticket, ticket.as_bytes()).as_bytes()
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
/// other requests) and memory: each thread owns its 19 MiB working block and reuses it (on the
/// shared blocking pool every thread that ever hashed would keep one, and the allocator rarely
/// handed them back: RSS grew with every login).
#[derive(Clone)]
pub struct PasswordHasher {
    pool: WorkerPool<Memory>,
    dummy: Arc<OnceLock<String>>,
    /// Hashes queued or running; past `max_waiting` a sign-in is turned away at once rather
    /// than queued behind a storm for seconds.
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
}

/// A hashing thread's argon2 working memory, allocated at its first hash and reused.
type Memory = Vec<Block>;

/// Sign-ins that may wait for a hashing thread, per thread (about a second of work each).
const WAITING_PER_THREAD: usize = 32;

const DUMMY_PASSWORD: &str = "listo dummy password for timing";

impl PasswordHasher {
    /// A hasher with `threads` hashing threads.
    pub fn new(threads: usize) -> Self {
        Self::with_limit(threads, threads.max(1) * WAITING_PER_THREAD)
    }

    /// A hasher that turns work away once `max_waiting` hashes are queued or running.
    fn with_limit(threads: usize, max_waiting: usize) -> Self {
        let memories = (0..threads.max(1)).map(|_| Memory::new()).collect();
        let hasher = Self {
            // Room for every hash `waiting` lets through, and the dummy hash below: the count
            // turns sign-ins away first.
            pool: WorkerPool::start("argon2", memories, max_waiting + 1),
            dummy: Arc::new(OnceLock::new()),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting,
        };
        // Made ahead of the first unknown-email login, so that one is not slower than the rest.
        let dummy = hasher.dummy.clone();
        let _ = hasher.pool.submit(Box::new(move |memory: &mut Memory| {
            if let Ok(d) = hash(DUMMY_PASSWORD, memory) {
                let _ = dummy.set(d);
            }
        }));
        hasher
    }

    /// A PHC string with a fresh random salt.
    pub async fn hash(&self, password: Password) -> Result<String, ServiceError> {
        self.run(move |memory| hash(password.expose(), memory))
            .await?
    }

    /// Checks `password` against `phc`; with no account (`None`) it checks against a dummy hash,
    /// so an unknown email costs the same time as a wrong password.
    pub async fn verify(
        &self,
        password: Password,
        phc: Option<String>,
    ) -> Result<bool, ServiceError> {
        let dummy = self.dummy.clone();
        self.run(move |memory| {
            let known = phc.is_some();
            let phc = match phc {
                Some(phc) => phc,
                None => match dummy.get() {
                    Some(d) => d.clone(),
                    None => {
                        let d = hash(DUMMY_PASSWORD, memory)?;
                        dummy.get_or_init(|| d).clone()
                    }
                },
            };
            let matches = verify(password.expose(), &phc, memory)?;
            Ok(known && matches)
        })
        .await?
    }

    /// Runs `f` on a hashing thread and waits for it without blocking the async workers.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Result<T, ServiceError> {
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(ServiceError::Busy);
        }
        let (reply, answer) = oneshot::channel();
        let span = tracing::Span::current();
        let waiting = self.waiting.clone();
        let submitted = self.pool.submit(Box::new(move |memory: &mut Memory| {
            // A client that gave up (disconnected) no longer waits: skip its hash.
            let result = (!reply.is_closed()).then(|| span.in_scope(|| f(memory)));
            // Counted out before answering, so the caller finds the room it leaves.
            waiting.fetch_sub(1, Ordering::SeqCst);
            if let Some(result) = result {
                let _ = reply.send(result);
            }
        }));
        if let Err(e) = submitted {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(match e {
                crate::workers::Refused::Full { .. } => ServiceError::Busy,
                e @ crate::workers::Refused::Stopped(_) => ServiceError::Hashing(e.to_string()),
            });
        }
        answer
            .await
            .map_err(|_| ServiceError::Hashing("a hashing thread dropped its job".into()))
    }
}

/// Runs argon2 with `params` into `out`, in the thread's reusable `memory`.
fn argon2_into(
    argon2: &Argon2<'_>,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    memory: &mut Memory,
) -> Result<(), ServiceError> {
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::new());
    }
    argon2
        .hash_password_into_with_memory(password, salt, out, &mut memory[..params.block_count()])
        .map_err(|e| ServiceError::Hashing(e.to_string()))
}

/// An argon2id PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) with a random salt.
fn hash(password: &str, memory: &mut Memory) -> Result<String, ServiceError> {
    let fail = |e: &dyn std::fmt::Display| ServiceError::Hashing(e.to_string());
    let params = Params::default();
    let mut salt = [0u8; 16];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut salt);
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    argon2_into(
        &argon2,
        &params,
        password.as_bytes(),
        &salt,
        &mut out,
        memory,
    )?;
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
fn verify(password: &str, phc: &str, memory: &mut Memory) -> Result<bool, ServiceError> {
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
    argon2_into(
        &argon2,
        &params,
        password.as_bytes(),
        salt,
        &mut out,
        memory,
    )?;
    Ok(bool::from(out.as_slice().ct_eq(expected.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordVerifier as _;

    #[test]
    fn a_reset_code_is_fixed_by_secret_and_challenge_and_differs_otherwise() {
        let keys = Keys::derive(b"one secret");
        let id = |c: &str| ChallengeId::parse(&c.repeat(22)).unwrap();
        let code = keys.reset_code(&id("A"));
        assert!(OtpCode::parse(code.expose()).is_ok());
        assert!(
            code == keys.reset_code(&id("A")),
            "the same on every attempt"
        );
        // Fixed inputs, so no chance clash: another id or another secret gives another code.
        assert!(code != keys.reset_code(&id("B")));
        assert!(code != Keys::derive(b"another secret").reset_code(&id("A")));
    }

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
        let memory = &mut Memory::new();
        let ours = hash("correct horse battery", memory).unwrap();
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
        assert!(verify("correct horse battery", &theirs, memory).unwrap());
        assert!(!verify("correct horse battery!", &theirs, memory).unwrap());
        assert!(!verify("wrong", &ours, memory).unwrap());
    }
}
