//! The worker that sends queued password-reset emails.
//!
//! A reset request only stores its challenge and a queue row, in one transaction, and answers:
//! the same work whether or not the account exists (an unknown email's row is dropped here
//! without sending), and no wait on the mail server. This worker sends the queued emails:
//! woken when one is queued here, and by a timer (for retries, for rows queued by another
//! process, and for what a previous run left). A failed send is retried with exponential
//! backoff; an email whose challenge expired, was replaced by a newer reset, was
//! used or burned is dropped. The code is derived again from the secret and the challenge id
//! at each send; the queue never holds it.
//!
//! A claimed email is leased (not due again) for longer than one send may take, so no other
//! worker sends it meanwhile; it leaves the queue once sent. A worker stopped between the two
//! (a shutdown, a crash) leaves it to be sent again when the lease ends: in rare cases a reset
//! email arrives twice.

use super::{Auth, now_ms};
use crate::domain::{ChallengeId, Email};
use crate::mail::CodePurpose;
use crate::store::{Purpose, QueuedMail, StoreError};
use std::time::Duration;

/// Emails claimed together; they are sent side by side.
const BATCH: u32 = 8;
/// The longest one send may take before it counts as failed (lettre's own timeout applies to
/// each SMTP command; this bounds the whole conversation).
const SEND_DEADLINE: Duration = Duration::from_secs(30);
/// How long a claimed email is not due again: longer than a send may take.
const LEASE: Duration = Duration::from_secs(60);
/// The first retry waits this long; each next one twice as long as the last.
const FIRST_BACKOFF: Duration = Duration::from_secs(2);
/// No retry waits longer.
const MAX_BACKOFF: Duration = Duration::from_secs(4 * 60);
/// Sleeping longer, the worker looks anyway: rows queued by another process that stopped.
const POLL: Duration = Duration::from_secs(30);
/// After the database failed, the worker tries again this much later.
const AFTER_ERROR: Duration = Duration::from_secs(5);

/// Starts the worker; it runs until the task is aborted.
pub fn spawn(auth: Auth) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let next = match send_due(&auth).await {
                Ok(next) => next,
                Err(e) => {
                    tracing::error!(error = %e, "the reset email queue could not be read or claimed");
                    Some(now_ms() + AFTER_ERROR.as_millis() as i64)
                }
            };
            let poll = now_ms() + POLL.as_millis() as i64;
            let wait = (next.unwrap_or(poll).min(poll) - now_ms()).max(0);
            // A notification that came while sending is kept (a permit): nothing is missed.
            let _ = tokio::time::timeout(
                Duration::from_millis(wait as u64),
                auth.mail_queued.notified(),
            )
            .await;
        }
    })
}

/// Sends every email due now; returns when the next one is due (`None`: the queue is empty).
async fn send_due(auth: &Auth) -> Result<Option<i64>, StoreError> {
    loop {
        let now = now_ms();
        // A read first: an idle queue costs no write.
        let next = auth.store.next_mail_due().await?;
        match next {
            Some(due) if due <= now => {}
            other => return Ok(other),
        }
        let lease_until = now + LEASE.as_millis() as i64;
        let claimed = auth
            .store
            .write(move |tx| Box::pin(async move { tx.claim_mails(now, lease_until, BATCH).await }))
            .await?;
        if claimed.is_empty() {
            // Another process is claiming them this moment: its lease will show soon.
            return Ok(Some(now + 1000));
        }
        futures_util::future::join_all(claimed.into_iter().map(|mail| deliver(auth, mail))).await;
    }
}

/// Where a live reset's email goes and until when its code works.
struct Sendable {
    id: ChallengeId,
    to: Email,
    user_id: i64,
    expires_at_ms: i64,
}

/// The email's destination, or why it is dropped: only a live reset challenge of an account
/// gets its email.
fn sendable(mail: &QueuedMail, now_ms: i64) -> Result<Sendable, &'static str> {
    let c = mail.challenge.as_ref().ok_or("its challenge is gone")?;
    let user_id = c.user_id.ok_or("no account")?;
    if now_ms >= c.expires_at_ms {
        return Err("its code expired or a newer reset replaced it");
    }
    if c.attempts_left == 0 {
        return Err("its code was burned by wrong tries");
    }
    let corrupt = "its challenge is not a reset listo wrote";
    if c.purpose != Purpose::Reset {
        return Err(corrupt);
    }
    let to = c.email.as_deref().map(Email::parse);
    match (ChallengeId::parse(&mail.challenge_id), to) {
        (Ok(id), Some(Ok(to))) => Ok(Sendable {
            id,
            to,
            user_id,
            expires_at_ms: c.expires_at_ms,
        }),
        _ => Err(corrupt),
    }
}

/// Sends one claimed email, or drops it, and records the outcome.
async fn deliver(auth: &Auth, mail: QueuedMail) {
    let now = now_ms();
    let attempts = mail.attempts;
    let mail_id = mail.challenge_id.clone();
    let target = match sendable(&mail, now) {
        Ok(target) => target,
        Err(reason) => {
            match mail.challenge.and_then(|c| c.user_id) {
                Some(user_id) => tracing::info!(user_id, reason, "password reset email dropped"),
                // An unknown email's row, queued only so its request did the same work.
                None => tracing::debug!(reason, "password reset queue row dropped"),
            }
            return finish(auth, mail_id, None).await;
        }
    };
    let user_id = target.user_id;
    let code = auth.keys.reset_code(&target.id);
    // The email says how long the code has left, not how long it had when asked for.
    let valid_for = Duration::from_millis((target.expires_at_ms - now) as u64);
    let sent = tokio::time::timeout(
        SEND_DEADLINE,
        auth.mailer
            .send_code(CodePurpose::PasswordReset, &target.to, &code, valid_for),
    )
    .await;
    let error = match sent {
        Ok(Ok(())) => {
            tracing::info!(user_id, attempts, "password reset email sent");
            return finish(auth, mail_id, None).await;
        }
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("no answer within {} s", SEND_DEADLINE.as_secs()),
    };
    let wait = backoff(attempts);
    let retry_at = now_ms() + wait.as_millis() as i64;
    if retry_at >= target.expires_at_ms {
        tracing::warn!(
            user_id,
            attempts,
            error,
            "password reset email failed; its code expires before another try: dropped"
        );
        finish(auth, mail_id, None).await;
    } else {
        tracing::warn!(
            user_id,
            attempts,
            error,
            retry_in_secs = wait.as_secs(),
            "password reset email failed; will retry"
        );
        finish(auth, mail_id, Some(retry_at)).await;
    }
}

/// Removes the email from the queue, or makes it due again at `retry_at`.
async fn finish(auth: &Auth, challenge_id: String, retry_at: Option<i64>) {
    let done = auth
        .store
        .write(move |tx| {
            Box::pin(async move {
                match retry_at {
                    Some(at) => tx.retry_mail(&challenge_id, at).await,
                    None => tx.delete_mail(&challenge_id).await,
                }
            })
        })
        .await;
    // The lease runs out and the email is tried again: a sent one may then arrive twice.
    if let Err(e) = done {
        tracing::error!(error = %e, "recording a reset email's outcome failed");
    }
}

/// The wait after the `attempts`-th failed attempt: 2 s, 4 s, 8 s, … up to four minutes.
fn backoff(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    (FIRST_BACKOFF * 2u32.pow(doublings)).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_two_seconds_and_stops_at_four_minutes() {
        let secs: Vec<u64> = (1..=9).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [2, 4, 8, 16, 32, 64, 128, 240, 240]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn a_send_ends_well_within_its_lease() {
        assert!(SEND_DEADLINE * 2 <= LEASE);
    }
}
