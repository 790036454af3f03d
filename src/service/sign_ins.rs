//! Sign-ins that last: trading a refresh token for a new pair, and whether a sign-in still
//! lives (what a live stream asks).
//!
//! A sign-in is one `sessions` row: one verify and the chain of refreshes after it. Each refresh
//! is a new *generation*: a new random access token (the row's `token_hash`, so the one before
//! is unknown from then on) and a new refresh token; the one presented is spent. The row keeps
//! keyed hashes of the current refresh token, its parent and its grandparent, and the current
//! pair sealed so that only the parent's and the grandparent's holders can open it
//! ([`super::seal`]): a copy of the database holds no live token.
//!
//! Reuse, as GoTrue does it: the current token's parent answers the current pair at any time (an
//! answer the client lost); the grandparent answers it within [`REUSE_GRACE_MS`] of being spent
//! (two tabs refreshing at once); any older one, or the grandparent after the grace, is taken as
//! stolen: the whole sign-in ends on every process and the answer is `refresh_reused`. A
//! refresh token carries its sign-in and generation under a keyed MAC, so an older spent token
//! is told from a forged one without keeping its hash.

use super::auth::ClientAddr;
use super::revocations::Standing;
use super::seal::{self, Pair, Purpose, SealKey};
use super::{Auth, ServiceError, Session, SessionIssued, now, now_ms};
use crate::domain::{RefreshToken, SessionToken};
use crate::store::{self, RefreshState, Revoked, SessionRow, SignInRow, Signal, StoreError};
use chrono::{DateTime, Utc};
use subtle::ConstantTimeEq;

/// How long after being spent a refresh token other than the current one's parent still
/// answers the current pair.
pub const REUSE_GRACE_MS: i64 = 10_000;

/// What a refresh found.
enum Found {
    /// The current token: a new generation was stored. Carries the replaced access token's hash
    /// and expiry.
    Rotated {
        row: SessionRow,
        pair: Pair,
        generation: u64,
        replaced: ([u8; 32], i64),
        access_hash: [u8; 32],
    },
    /// A spent token within its grace: the current pair again.
    Current { row: SessionRow, pair: Pair },
}

/// Why a refresh was refused.
enum Refused {
    /// No sign-in of this server's has it (counts against the client address).
    Unknown,
    /// Expired, or its sign-in ended.
    Ended,
    /// Spent past its grace: the sign-in was ended.
    Reused(Vec<Revoked>),
}

impl Auth {
    /// Trades a refresh token for a new access token and refresh token (or, for a spent one
    /// within its grace, the current pair).
    pub async fn refresh(
        &self,
        raw: &str,
        client: ClientAddr,
    ) -> Result<SessionIssued, ServiceError> {
        // An address that failed too often is refused before anything is looked up.
        self.limits.check_register(client.0).await?;
        let token = RefreshToken::parse(raw)
            .ok()
            .filter(|t| self.refresh_ttl.is_some() && self.keys.refresh_genuine(t));
        let Some(token) = token else {
            return self.refresh_unknown(client).await;
        };
        let refresh_ttl = self.refresh_ttl.unwrap_or_default();
        let session_ttl = self.session_ttl;
        let keys = self.keys.clone();
        let revocations = self.revocations.clone();
        let found = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let Some(row) = tx.sign_in(token.sign_in().as_str(), true).await? else {
                        return Ok(Err(Refused::Unknown));
                    };
                    let now = now();
                    let now_ms = store::to_millis(now);
                    let Some(chain) = row.refresh.clone() else {
                        return Ok(Err(Refused::Unknown));
                    };
                    // The account went while its sign-in was being used: refused below as ended.
                    let owner = tx
                        .user_by_id(row.user_id)
                        .await?
                        .map(|u| (u.email, u.default_list_id))
                        .unwrap_or_default();
                    let pending = revocations
                        .standing(&session_row(&row, &chain, owner.clone()), &row.token_hash)
                        != Standing::Clear;
                    if row.revoked || pending || now_ms >= chain.refresh_expires_at_ms {
                        return Ok(Err(Refused::Ended));
                    }
                    let current = u64::try_from(chain.generation).unwrap_or_default();
                    let presented = keys.refresh_hash(&token);
                    let is = |stored: Option<[u8; 32]>| {
                        stored.is_some_and(|h| bool::from(presented.ct_eq(&h)))
                    };
                    let id = *token.sign_in_bytes();
                    let behind = current.checked_sub(token.generation());
                    let in_grace = chain
                        .parent_rotated_at_ms
                        .is_some_and(|spent| now_ms - spent <= REUSE_GRACE_MS);
                    let sealed = match behind {
                        // Newer than the sign-in, or of a listed generation yet not the token
                        // stored there (its MAC holds, its random part does not): unknown.
                        None => return Ok(Err(Refused::Unknown)),
                        Some(0) if !is(Some(chain.refresh_hash)) => {
                            return Ok(Err(Refused::Unknown));
                        }
                        Some(1) if !is(chain.parent_hash) => return Ok(Err(Refused::Unknown)),
                        Some(2) if !is(chain.grand_hash) => return Ok(Err(Refused::Unknown)),
                        Some(0) => None,
                        Some(1) => Some((Purpose::PairForParent, &chain.pair_for_parent)),
                        Some(2) if in_grace => Some((Purpose::PairForGrand, &chain.pair_for_grand)),
                        // Spent long ago (or past its grace) and shown again: someone else holds
                        // the chain.
                        Some(_) => {
                            let ended = tx
                                .revoke_session_by_id(row.user_id, &row.id, now_ms)
                                .await?;
                            tx.announce(row.user_id, Signal::SessionsEnded).await?;
                            tracing::warn!(
                                user_id = row.user_id,
                                "a spent refresh token was used again: the sign-in is ended"
                            );
                            return Ok(Err(Refused::Reused(ended.into_iter().collect())));
                        }
                    };
                    if let Some((purpose, blob)) = sealed {
                        let pair = blob
                            .as_deref()
                            .and_then(|b| {
                                seal::open_pair(&SealKey::pair(&token), purpose, &id, current, b)
                            })
                            .ok_or_else(|| StoreError::corrupt("a sealed sign-in pair"))?;
                        tx.touch_sign_in(&row.id, now_ms).await?;
                        return Ok(Ok(Found::Current {
                            row: session_row(&row, &chain, owner),
                            pair,
                        }));
                    }
                    let next = current + 1;
                    let pair = Pair {
                        access: SessionToken::generate(),
                        refresh: keys.refresh_token(&id, next),
                    };
                    let access_hash = keys.token_hash(&pair.access);
                    let sealed = Sealed::next(&token, &chain, &pair, current)?;
                    let refresh_expires_at_ms =
                        store::to_millis(now + refresh_ttl).min(chain.max_age_at_ms);
                    let expires_at_ms =
                        store::to_millis(now + session_ttl).min(refresh_expires_at_ms);
                    let state = RefreshState {
                        generation: chain.generation + 1,
                        refresh_hash: keys.refresh_hash(&pair.refresh),
                        parent_hash: Some(chain.refresh_hash),
                        grand_hash: chain.parent_hash,
                        rotated_at_ms: now_ms,
                        parent_rotated_at_ms: Some(chain.rotated_at_ms),
                        refresh_expires_at_ms,
                        max_age_at_ms: chain.max_age_at_ms,
                        pair_for_parent: Some(sealed.for_parent),
                        pair_for_grand: sealed.for_grand,
                        parent_key_wrap: Some(sealed.key_wrap),
                    };
                    tx.set_sign_in_tokens(&row.id, &access_hash, expires_at_ms, &state, now_ms)
                        .await?;
                    let replaced = (row.token_hash, row.expires_at_ms);
                    let updated = SignInRow {
                        token_hash: access_hash,
                        expires_at_ms,
                        ..row
                    };
                    Ok::<_, ServiceError>(Ok(Found::Rotated {
                        row: session_row(&updated, &state, owner),
                        pair,
                        generation: next,
                        replaced,
                        access_hash,
                    }))
                })
            })
            .await?;
        match found {
            Ok(Found::Rotated {
                row,
                pair,
                generation,
                replaced,
                access_hash,
            }) => {
                if let Some(cache) = &self.sessions {
                    cache.replace(replaced.0, replaced.1, access_hash, row.clone());
                }
                tracing::info!(user_id = row.user_id, generation, "sign-in refreshed");
                issued(&row, pair)
            }
            Ok(Found::Current { row, pair }) => issued(&row, pair),
            Err(Refused::Unknown) => self.refresh_unknown(client).await,
            Err(Refused::Ended) => Err(ServiceError::RefreshInvalid),
            Err(Refused::Reused(ended)) => {
                self.forget_sessions(&ended);
                Err(ServiceError::RefreshReused)
            }
        }
    }

    /// Counts an unknown refresh token against the client address and refuses it.
    async fn refresh_unknown(&self, client: ClientAddr) -> Result<SessionIssued, ServiceError> {
        tracing::info!("refresh refused: unknown token");
        self.limits.register_failed(client.0).await?;
        Err(ServiceError::RefreshInvalid)
    }

    /// Whether a live stream's sign-in still lives, read from the database (a refresh may have
    /// replaced the access token the stream was opened with): when it ends unless refreshed
    /// again, or why it ended.
    pub async fn recheck(&self, session: &Session) -> Result<DateTime<Utc>, ServiceError> {
        let id = session.id.clone();
        let row = self
            .store
            .read(move |tx| {
                Box::pin(async move { Ok::<_, ServiceError>(tx.sign_in(&id, false).await?) })
            })
            .await?
            // The account went while its sign-in was being used.
            .ok_or(ServiceError::SessionRevoked)?;
        let ends_at_ms = row
            .refresh
            .as_ref()
            .map_or(row.expires_at_ms, |c| c.refresh_expires_at_ms);
        let as_session = SessionRow {
            id: row.id.clone(),
            user_id: row.user_id,
            email: String::new(),
            default_list_id: 0,
            issued_at_ms: row.issued_at_ms,
            expires_at_ms: row.expires_at_ms,
            ends_at_ms,
            revoked: row.revoked,
        };
        if row.revoked || self.revocations.standing(&as_session, &row.token_hash) != Standing::Clear
        {
            if row.revoked
                && let Some(cache) = &self.sessions
            {
                cache.revoke_hash(row.token_hash, row.expires_at_ms);
            }
            return Err(ServiceError::SessionRevoked);
        }
        if now_ms() >= ends_at_ms.max(row.expires_at_ms) {
            return Err(ServiceError::SessionExpired);
        }
        Ok(store::from_millis(ends_at_ms.max(row.expires_at_ms))?)
    }
}

/// A sign-in as the session check sees it.
/// `owner` is the user's email and default list.
fn session_row(row: &SignInRow, chain: &RefreshState, owner: (String, i64)) -> SessionRow {
    let (email, default_list_id) = owner;
    SessionRow {
        id: row.id.clone(),
        user_id: row.user_id,
        email,
        default_list_id,
        issued_at_ms: row.issued_at_ms,
        expires_at_ms: row.expires_at_ms,
        ends_at_ms: chain.refresh_expires_at_ms,
        revoked: row.revoked,
    }
}

/// The answer of a refresh: `pair`, with the sign-in's expiries.
fn issued(row: &SessionRow, pair: Pair) -> Result<SessionIssued, ServiceError> {
    Ok(SessionIssued {
        token: pair.access,
        expires_at: store::from_millis(row.expires_at_ms)?,
        refresh: Some((pair.refresh, store::from_millis(row.ends_at_ms)?)),
    })
}

/// The sealed columns of the generation after `current`, whose pair is `pair`, as the holder of
/// `presented` (the current token, now the parent) rotates to it.
struct Sealed {
    /// The pair, for `presented`.
    for_parent: Vec<u8>,
    /// The pair, for `presented`'s parent (now the grandparent), if any.
    for_grand: Option<Vec<u8>>,
    /// `presented`'s key, for the new refresh token.
    key_wrap: Vec<u8>,
}

impl Sealed {
    fn next(
        presented: &RefreshToken,
        chain: &RefreshState,
        pair: &Pair,
        current: u64,
    ) -> Result<Self, StoreError> {
        let id = presented.sign_in_bytes();
        let next = current + 1;
        // Only the current token's holder can unwrap the parent's key.
        let parent_key = chain
            .parent_key_wrap
            .as_deref()
            .map(|wrapped| {
                seal::unwrap_key(&SealKey::wrap(presented), id, current, wrapped)
                    .ok_or_else(|| StoreError::corrupt("a sealed sign-in key"))
            })
            .transpose()?;
        let presented_key = SealKey::pair(presented);
        Ok(Self {
            for_parent: seal::seal_pair(&presented_key, Purpose::PairForParent, id, next, pair),
            for_grand: parent_key
                .map(|key| seal::seal_pair(&key, Purpose::PairForGrand, id, next, pair)),
            key_wrap: seal::wrap_key(&SealKey::wrap(&pair.refresh), id, next, &presented_key),
        })
    }
}
