//! Sign-ins that last: trading a refresh token for a new pair, and whether a sign-in still
//! lives (what a live stream asks).
//!
//! A sign-in is one `sessions` row: one verify and the chain of refreshes after it. Each refresh
//! is a new *generation*: a new access token (the row's `token_hash`, so the one before is
//! unknown from then on) and a new refresh token; the one presented is spent. Both tokens of a
//! generation are derived from the secret, the sign-in's id and the generation, so the current
//! pair can be answered again without being stored; the row keeps only keyed hashes.
//!
//! Reuse, as GoTrue does it: the current token's parent answers the current pair at any time (an
//! answer the client lost); the grandparent answers it within [`REUSE_GRACE_MS`] of being spent
//! (two tabs refreshing at once); any older one, or the grandparent after the grace, is taken as
//! stolen: the whole sign-in ends on every process and the answer is `refresh_reused`.

use super::auth::ClientAddr;
use super::revocations::Standing;
use super::{Auth, ServiceError, Session, SessionIssued, now, now_ms};
use crate::domain::RefreshToken;
use crate::store::{self, RefreshState, Revoked, SessionRow, SignInRow, Signal};
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
        generation: u64,
        replaced: ([u8; 32], i64),
        access_hash: [u8; 32],
    },
    /// A spent token within its grace: the current pair again.
    Current { row: SessionRow, generation: u64 },
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
        let sign_in = token.sign_in();
        let presented_hash = self.keys.refresh_hash(&token);
        let generation = token.generation();
        let refresh_ttl = self.refresh_ttl.unwrap_or_default();
        let session_ttl = self.session_ttl;
        let keys = self.keys.clone();
        let revocations = self.revocations.clone();
        let found = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let Some(row) = tx.sign_in(sign_in.as_str(), true).await? else {
                        return Ok(Err(Refused::Unknown));
                    };
                    let now = now();
                    let now_ms = store::to_millis(now);
                    let Some(chain) = row.refresh.clone() else {
                        return Ok(Err(Refused::Unknown));
                    };
                    let email = tx
                        .user_by_id(row.user_id)
                        .await?
                        .map(|u| u.email)
                        .unwrap_or_default();
                    let pending = revocations
                        .standing(&session_row(&row, &chain, email.clone()), &row.token_hash)
                        != Standing::Clear;
                    if row.revoked || pending || now_ms >= chain.refresh_expires_at_ms {
                        return Ok(Err(Refused::Ended));
                    }
                    let current = u64::try_from(chain.generation).unwrap_or_default();
                    if generation == current {
                        if !bool::from(presented_hash.ct_eq(&chain.refresh_hash)) {
                            // Genuine yet not what was stored: the secret changed under it.
                            return Ok(Err(Refused::Unknown));
                        }
                        let id_bytes = *token.sign_in_bytes();
                        let next = current + 1;
                        let access = keys.access_token(&id_bytes, next);
                        let access_hash = keys.token_hash(&access);
                        let refresh = keys.refresh_token(&id_bytes, next);
                        let refresh_expires_at_ms =
                            store::to_millis(now + refresh_ttl).min(chain.max_age_at_ms);
                        let expires_at_ms =
                            store::to_millis(now + session_ttl).min(refresh_expires_at_ms);
                        let state = RefreshState {
                            generation: chain.generation + 1,
                            refresh_hash: keys.refresh_hash(&refresh),
                            parent_hash: Some(chain.refresh_hash),
                            rotated_at_ms: now_ms,
                            parent_rotated_at_ms: Some(chain.rotated_at_ms),
                            refresh_expires_at_ms,
                            max_age_at_ms: chain.max_age_at_ms,
                        };
                        tx.set_sign_in_tokens(&row.id, &access_hash, expires_at_ms, &state, now_ms)
                            .await?;
                        let replaced = (row.token_hash, row.expires_at_ms);
                        let updated = SignInRow {
                            token_hash: access_hash,
                            expires_at_ms,
                            ..row
                        };
                        return Ok(Ok(Found::Rotated {
                            row: session_row(&updated, &state, email),
                            generation: next,
                            replaced,
                            access_hash,
                        }));
                    }
                    let parent = generation + 1 == current;
                    let in_grace = generation + 2 == current
                        && chain
                            .parent_rotated_at_ms
                            .is_some_and(|spent| now_ms - spent <= REUSE_GRACE_MS);
                    if parent || in_grace {
                        tx.touch_sign_in(&row.id, now_ms).await?;
                        return Ok(Ok(Found::Current {
                            row: session_row(&row, &chain, email),
                            generation: current,
                        }));
                    }
                    if generation > current {
                        return Ok(Err(Refused::Unknown));
                    }
                    // Spent long ago and shown again: someone else holds the chain.
                    let ended = tx
                        .revoke_session_by_id(row.user_id, &row.id, now_ms)
                        .await?;
                    tx.announce(row.user_id, Signal::SessionsEnded).await?;
                    tracing::warn!(
                        user_id = row.user_id,
                        "a spent refresh token was used again: the sign-in is ended"
                    );
                    Ok::<_, ServiceError>(Err(Refused::Reused(ended.into_iter().collect())))
                })
            })
            .await?;
        match found {
            Ok(Found::Rotated {
                row,
                generation,
                replaced,
                access_hash,
            }) => {
                if let Some(cache) = &self.sessions {
                    cache.replace(replaced.0, replaced.1, access_hash, row.clone());
                }
                tracing::info!(user_id = row.user_id, generation, "sign-in refreshed");
                self.issued(&row, generation)
            }
            Ok(Found::Current { row, generation }) => self.issued(&row, generation),
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

    /// The pair of generation `generation` of the sign-in `row`.
    fn issued(&self, row: &SessionRow, generation: u64) -> Result<SessionIssued, ServiceError> {
        let id = crate::domain::SessionId::parse(&row.id)
            .ok()
            .and_then(|id| id.bytes())
            .ok_or_else(|| store::StoreError::corrupt("a sign-in id"))?;
        Ok(SessionIssued {
            token: self.keys.access_token(&id, generation),
            expires_at: store::from_millis(row.expires_at_ms)?,
            refresh: Some((
                self.keys.refresh_token(&id, generation),
                store::from_millis(row.ends_at_ms)?,
            )),
        })
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
fn session_row(row: &SignInRow, chain: &RefreshState, email: String) -> SessionRow {
    SessionRow {
        id: row.id.clone(),
        user_id: row.user_id,
        email,
        issued_at_ms: row.issued_at_ms,
        expires_at_ms: row.expires_at_ms,
        ends_at_ms: chain.refresh_expires_at_ms,
        revoked: row.revoked,
    }
}
