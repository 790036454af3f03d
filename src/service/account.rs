//! An account's life after sign-up: change the password, reset a forgotten one through an
//! emailed code, delete the account.

use super::auth::CODE_ATTEMPTS;
use super::{Auth, ClientAddr, LoginStarted, ServiceError, Session, codes, now, now_ms};
use crate::domain::{ChallengeId, Email, OtpCode, Password};
use crate::store::{self, Challenge, Purpose, Signal, StoreError};

/// A user id no account has (ids start at 1): what an unknown email's reset runs its
/// statements for, so they cost what a known one's do.
const NO_ACCOUNT: i64 = 0;

impl Auth {
    /// Sets a new password after checking the current one; every other session of the user
    /// ends, this one lives, and pending codes die.
    pub async fn change_password(
        &self,
        session: &Session,
        current: Password,
        new: Password,
        client: ClientAddr,
    ) -> Result<(), ServiceError> {
        self.check_password(session, current, client).await?;
        let hash = self.hasher.hash(new).await?;
        let (user, token_hash) = (session.user_id, session.token_hash);
        let revoked = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let now = now_ms();
                    tx.set_password(user, &hash).await?;
                    tx.end_challenges_of(user, None, now).await?;
                    let revoked = tx.revoke_sessions_of(user, Some(&token_hash), now).await?;
                    tx.announce(user, Signal::SessionsEnded).await?;
                    Ok::<_, ServiceError>(revoked)
                })
            })
            .await?;
        self.forget_sessions(&revoked);
        tracing::info!(
            user_id = user,
            sessions_ended = revoked.len(),
            "password changed"
        );
        Ok(())
    }

    /// Queues a reset code's email when `email` has an account, and answers at once: the
    /// email is sent by the worker in [`super::mail_queue`], so a slow or failing mail server
    /// neither delays nor changes the answer. An unknown email gets a challenge no code opens,
    /// and takes the very same steps (a read, then one write of the same statements), so its
    /// answer takes the same time; the worker drops its queue row without sending anything.
    pub async fn request_reset(
        &self,
        email: Email,
        client: ClientAddr,
    ) -> Result<LoginStarted, ServiceError> {
        self.limits.reset_requested(&email, client.0).await?;
        let lookup = email.clone();
        let user = self
            .store
            .read(move |tx| {
                Box::pin(
                    async move { Ok::<_, ServiceError>(tx.user_by_email(lookup.as_str()).await?) },
                )
            })
            .await?;
        let challenge_id = ChallengeId::generate();
        // Never stored nor queued: the worker derives it again from the secret and the id. With
        // no account it is never sent, and no code opens a challenge without a user.
        let code = self.keys.reset_code(&challenge_id);
        let expires_at = now() + self.otp_ttl;
        let user_id = user.map(|u| u.id);
        let row = Challenge {
            purpose: Purpose::Reset,
            user_id,
            email: Some(email.as_str().to_owned()),
            code_hash: self.keys.code_hash(&challenge_id, &code),
            attempts_left: CODE_ATTEMPTS,
            expires_at_ms: store::to_millis(expires_at),
        };
        let id = challenge_id.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let now = now_ms();
                    // One live reset per account: the older codes now answer `code_expired`,
                    // and their queued emails are dropped. With no account the same statement
                    // runs for an id no account has (ids start at 1), as does the queueing:
                    // both answers cost the same.
                    let user = user_id.unwrap_or(NO_ACCOUNT);
                    tx.end_challenges_of(user, Some(Purpose::Reset), now)
                        .await?;
                    tx.insert_challenge(id.as_str(), &row).await?;
                    tx.queue_mail(id.as_str(), now).await?;
                    Ok::<_, ServiceError>(())
                })
            })
            .await?;
        self.mail_queued.notify_one();
        match user_id {
            Some(user_id) => tracing::info!(user_id, "password reset code queued for email"),
            None => tracing::info!("password reset asked for an email with no account"),
        }
        Ok(LoginStarted {
            challenge_id,
            expires_at,
        })
    }

    /// Sets a new password with a reset code; every session of the user ends.
    pub async fn confirm_reset(
        &self,
        challenge_id: ChallengeId,
        code: OtpCode,
        new: Password,
    ) -> Result<(), ServiceError> {
        let offered = self.keys.code_hash(&challenge_id, &code);
        // Hashed before the code is looked at, so a right code sets it in the same transaction.
        let hash = self.hasher.hash(new).await?;
        let codes_per_hour = self.limits.codes_per_hour();
        let outcome = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let now = now_ms();
                    let redeemed = codes::redeem(
                        tx,
                        &challenge_id,
                        &offered,
                        Purpose::Reset,
                        codes_per_hour,
                        now,
                    )
                    .await?;
                    let user = match redeemed.map(|c| c.user_id) {
                        Ok(Some(user)) => user,
                        Ok(None) => {
                            return Err(
                                StoreError::corrupt("a redeemed reset without its user").into()
                            );
                        }
                        Err(refused) => return Ok(Err(refused)),
                    };
                    tx.set_password(user, &hash).await?;
                    tx.end_challenges_of(user, None, now).await?;
                    let revoked = tx.revoke_sessions_of(user, None, now).await?;
                    tx.announce(user, Signal::SessionsEnded).await?;
                    Ok::<_, ServiceError>(Ok((user, revoked)))
                })
            })
            .await?;
        let (user, revoked) = outcome?;
        self.forget_sessions(&revoked);
        tracing::info!(
            user_id = user,
            sessions_ended = revoked.len(),
            "password reset"
        );
        Ok(())
    }

    /// Deletes the account after checking its password: tasks, sessions and codes go with it,
    /// and the email may register again.
    pub async fn delete_account(
        &self,
        session: &Session,
        password: Password,
        client: ClientAddr,
    ) -> Result<(), ServiceError> {
        self.check_password(session, password, client).await?;
        let user = session.user_id;
        let revoked = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    tx.hold_list(user).await?;
                    let revoked = tx.revoke_sessions_of(user, None, now_ms()).await?;
                    tx.delete_user(user).await?;
                    tx.announce(user, Signal::SessionsEnded).await?;
                    Ok::<_, ServiceError>(revoked)
                })
            })
            .await?;
        self.forget_sessions(&revoked);
        tracing::info!(user_id = user, "account deleted");
        Ok(())
    }

    /// `Ok` when `password` is the user's; a wrong one counts as a failed sign-in (a stolen
    /// token must not become a way to guess the password).
    async fn check_password(
        &self,
        session: &Session,
        password: Password,
        client: ClientAddr,
    ) -> Result<(), ServiceError> {
        let email = Email::parse(&session.email)
            .map_err(|e| StoreError::corrupt(format!("stored email: {e}")))?;
        self.limits.check_login(&email, client.0).await?;
        let user = session.user_id;
        let phc = self
            .store
            .read(move |tx| {
                Box::pin(async move { Ok::<_, ServiceError>(tx.user_by_id(user).await?) })
            })
            .await?
            .map(|u| u.password_hash);
        if self.hasher.verify(password, phc).await? {
            return Ok(());
        }
        tracing::info!(user_id = user, "password check refused");
        self.limits.login_failed(&email, client.0).await?;
        Err(ServiceError::InvalidCredentials)
    }
}
