//! Event tickets: a browser's `EventSource` cannot send `Authorization`, and a bearer token in
//! a URL would end up in logs and histories. So a signed-in client trades its token for a
//! ticket (one use, a minute's life, bound to its sign-in) and opens the stream with that in
//! the query. Only a keyed hash is stored, in the database, so any process can take it.

use super::{Auth, ServiceError, Session, now_ms};
use crate::domain::EventTicket;
use crate::store;
use std::time::Duration;

/// How long a ticket opens a stream.
pub const TICKET_TTL: Duration = Duration::from_secs(60);
/// Live tickets one sign-in may hold: minting past it drops its oldest, so no client fills
/// the database with tickets.
pub const TICKETS_PER_SIGN_IN: u32 = 16;

/// A fresh ticket: shown to the client once.
#[derive(Debug)]
pub struct TicketIssued {
    /// The ticket.
    pub ticket: EventTicket,
    /// How long it opens a stream.
    pub expires_in: Duration,
}

impl Auth {
    /// Issues a ticket that opens one event stream of the session's sign-in.
    pub async fn mint_ticket(&self, session: &Session) -> Result<TicketIssued, ServiceError> {
        let ticket = EventTicket::generate();
        let hash = self.keys.ticket_hash(&ticket);
        let ttl_ms = i64::try_from(self.ticket_ttl.as_millis()).unwrap_or(i64::MAX);
        let id = session.id.clone();
        let live = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    // Held until commit: two mints of one sign-in take turns, so the cap holds.
                    let live = tx.sign_in(&id, true).await?.is_some_and(|row| !row.revoked);
                    if live {
                        let expires_at_ms = now_ms().saturating_add(ttl_ms);
                        tx.insert_ticket(&hash, &id, expires_at_ms, TICKETS_PER_SIGN_IN)
                            .await?;
                    }
                    Ok::<_, ServiceError>(live)
                })
            })
            .await?;
        if !live {
            return Err(ServiceError::SessionRevoked);
        }
        tracing::info!(user_id = session.user_id, "event ticket issued");
        Ok(TicketIssued {
            ticket,
            expires_in: self.ticket_ttl,
        })
    }

    /// Spends a ticket: the session of its sign-in, for one event stream. A malformed, unknown,
    /// used or expired ticket is `SessionInvalid`; one whose sign-in ended says why.
    pub async fn redeem_ticket(&self, raw: &str) -> Result<Session, ServiceError> {
        let ticket = EventTicket::parse(raw).map_err(|_| ServiceError::SessionInvalid)?;
        let hash = self.keys.ticket_hash(&ticket);
        let taken = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    // Deleted as it is read: of two uses at once, on any process, one gets it.
                    let Some((sign_in, expires_at_ms)) = tx.take_ticket(&hash).await? else {
                        return Ok(None);
                    };
                    if now_ms() >= expires_at_ms {
                        return Ok(None);
                    }
                    let Some(row) = tx.sign_in(&sign_in, false).await? else {
                        return Ok(None);
                    };
                    let owner = tx.user_by_id(row.user_id).await?;
                    Ok::<_, ServiceError>(owner.map(|user| (row, user)))
                })
            })
            .await?;
        let Some((row, user)) = taken else {
            tracing::info!("event ticket refused: unknown, used or expired");
            return Err(ServiceError::SessionInvalid);
        };
        let expires_at = store::from_millis(row.expires_at_ms)?;
        let mut session = Session {
            id: row.id,
            user_id: row.user_id,
            email: user.email,
            default_list_id: user.default_list_id,
            issued_at: store::from_millis(row.issued_at_ms)?,
            expires_at,
            ends_at: expires_at,
            token_hash: row.token_hash,
        };
        // The same check a live stream makes of its sign-in (ended, pending revocations), and
        // the sign-in's end, which the stream keeps to.
        session.ends_at = self.recheck(&session).await?;
        Ok(session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SignInLimits;
    use crate::domain::Device;
    use crate::mail::{MailConfig, Mailer};
    use crate::service::auth::AuthSettings;
    use crate::store::{Location, SessionRow, Store};
    use std::sync::Arc;

    /// An `Auth` on a fresh SQLite file, and a session of a user stored there.
    async fn signed_in(dir: &tempfile::TempDir) -> (Auth, Session) {
        let store = Store::open(&Location::Sqlite(dir.path().join("listo.db")), 1)
            .await
            .unwrap();
        let mailer = Mailer::new(
            &MailConfig::Outbox(dir.path().join("outbox")),
            "listo <listo@example.com>".parse().unwrap(),
        )
        .unwrap();
        let limits = SignInLimits {
            per_email_addr: 0,
            per_addr: 0,
            per_email_hourly: 0,
            codes_per_hour: 0,
            resets_per_hour: 0,
        };
        let auth = Auth::new(
            store.clone(),
            Arc::new(mailer),
            AuthSettings {
                secret: vec![7; 32],
                session_ttl: Duration::from_secs(600),
                refresh_ttl: None,
                signin_max_age: Duration::from_secs(600),
                otp_ttl: Duration::from_secs(600),
                limits,
                hash_concurrency: 1,
                sessions_per_user: None,
            },
        );
        let now = now_ms();
        let row = SessionRow {
            id: "sign-in-1".into(),
            user_id: 0,
            email: "a@example.com".into(),
            default_list_id: 0,
            issued_at_ms: now,
            expires_at_ms: now + 600_000,
            ends_at_ms: now + 600_000,
            revoked: false,
        };
        let user_id = store
            .write(move |tx| {
                Box::pin(async move {
                    let user = tx
                        .insert_user("a@example.com", "not a hash", now)
                        .await?
                        .unwrap();
                    let row = SessionRow {
                        user_id: user.id,
                        ..row
                    };
                    tx.insert_session(&[1; 32], &row, &Device::default())
                        .await?;
                    Ok::<_, ServiceError>(user.id)
                })
            })
            .await
            .unwrap();
        let session = Session {
            id: "sign-in-1".into(),
            user_id,
            email: "a@example.com".into(),
            default_list_id: 0,
            issued_at: store::from_millis(now).unwrap(),
            expires_at: store::from_millis(now + 600_000).unwrap(),
            ends_at: store::from_millis(now + 600_000).unwrap(),
            token_hash: [1; 32],
        };
        (auth, session)
    }

    fn refused(result: Result<Session, ServiceError>) -> bool {
        matches!(result, Err(ServiceError::SessionInvalid))
    }

    #[tokio::test]
    async fn a_ticket_opens_once_and_not_after_its_life() {
        let dir = tempfile::tempdir().unwrap();
        let (mut auth, session) = signed_in(&dir).await;
        let issued = auth.mint_ticket(&session).await.unwrap();
        assert_eq!(issued.expires_in, TICKET_TTL);
        let opened = auth.redeem_ticket(&issued.ticket.encode()).await.unwrap();
        assert_eq!(opened.id, session.id);
        assert_eq!(opened.user_id, session.user_id);
        assert!(refused(auth.redeem_ticket(&issued.ticket.encode()).await));

        auth.ticket_ttl = Duration::from_millis(50);
        let short = auth.mint_ticket(&session).await.unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert!(refused(auth.redeem_ticket(&short.ticket.encode()).await));
        // The sweeper takes expired tickets away.
        let swept = crate::service::sweeper::sweep_once(&auth.store)
            .await
            .unwrap();
        assert_eq!(swept, 0, "the expired one was spent when tried");
        let left = auth.mint_ticket(&session).await.unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(
            crate::service::sweeper::sweep_once(&auth.store)
                .await
                .unwrap(),
            1
        );
        assert!(refused(auth.redeem_ticket(&left.ticket.encode()).await));
    }

    #[tokio::test]
    async fn past_the_cap_a_sign_in_loses_its_oldest_ticket() {
        let dir = tempfile::tempdir().unwrap();
        let (auth, session) = signed_in(&dir).await;
        let mut tickets = Vec::new();
        for _ in 0..=TICKETS_PER_SIGN_IN {
            tickets.push(auth.mint_ticket(&session).await.unwrap().ticket.encode());
        }
        assert!(refused(auth.redeem_ticket(&tickets[0]).await));
        for ticket in &tickets[1..] {
            assert!(auth.redeem_ticket(ticket).await.is_ok());
        }
    }

    #[tokio::test]
    async fn malformed_and_unknown_tickets_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (auth, _) = signed_in(&dir).await;
        assert!(refused(auth.redeem_ticket("").await));
        assert!(refused(auth.redeem_ticket("not a ticket").await));
        let unknown = EventTicket::generate().encode();
        assert!(refused(auth.redeem_ticket(&unknown).await));
    }
}
