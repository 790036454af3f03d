//! Budgets for failed sign-ins and wrong codes, counted in the database so that they survive
//! restarts. Only failures count: someone failing from another address never locks the owner
//! out of an address that has not failed.

use super::{ServiceError, now_ms};
use crate::config::SignInLimits;
use crate::domain::Email;
use crate::store::{Store, Tx, failures};
use std::net::IpAddr;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;

/// What a failure is counted under (the `scope` column).
mod scope {
    /// One email from one client address.
    pub const EMAIL_ADDR: &str = "email_addr";
    /// One client address, any email.
    pub const ADDR: &str = "addr";
    /// One email, every address.
    pub const EMAIL: &str = "email";
    /// Wrong codes for one account.
    pub const CODE: &str = "code";
}

/// The sign-in budgets of one listo.
pub struct Limits {
    store: Store,
    config: SignInLimits,
}

/// The keys one sign-in attempt is counted under.
struct Keys {
    email_addr: String,
    addr: Option<String>,
    email: String,
}

impl Keys {
    fn new(email: &Email, addr: Option<IpAddr>) -> Self {
        let addr = addr.map(|a| a.to_string());
        Self {
            email_addr: format!("{} {}", email.as_str(), addr.as_deref().unwrap_or("?")),
            addr,
            email: email.as_str().to_owned(),
        }
    }
}

impl Limits {
    /// Budgets from the configuration (each 0 = off).
    pub fn new(store: Store, config: SignInLimits) -> Self {
        Self { store, config }
    }

    /// Refuses a login before its password is checked when this email from this address, or
    /// this address, has failed too often in the last minute; or when this email has failed
    /// too often in the last hour and this address is one of those that failed it.
    pub async fn check_login(
        &self,
        email: &Email,
        addr: Option<IpAddr>,
    ) -> Result<(), ServiceError> {
        let keys = Keys::new(email, addr);
        let config = self.config;
        self.store
            .read(move |tx| {
                let now = now_ms();
                if let Some(addr) = &keys.addr {
                    over(tx, scope::ADDR, addr, MINUTE_MS, config.per_addr, now)?;
                }
                over(
                    tx,
                    scope::EMAIL_ADDR,
                    &keys.email_addr,
                    MINUTE_MS,
                    config.per_email_addr,
                    now,
                )?;
                let failed_here = failures::limit_reached_at(
                    tx,
                    scope::EMAIL_ADDR,
                    &keys.email_addr,
                    now - HOUR_MS,
                    1,
                )?
                .is_some();
                if failed_here {
                    over(
                        tx,
                        scope::EMAIL,
                        &keys.email,
                        HOUR_MS,
                        config.per_email_hourly,
                        now,
                    )?;
                }
                Ok(())
            })
            .await
    }

    /// Refuses a registration from an address that has failed too often in the last minute.
    pub async fn check_register(&self, addr: Option<IpAddr>) -> Result<(), ServiceError> {
        let Some(addr) = addr.map(|a| a.to_string()) else {
            return Ok(());
        };
        let limit = self.config.per_addr;
        self.store
            .read(move |tx| over(tx, scope::ADDR, &addr, MINUTE_MS, limit, now_ms()))
            .await
    }

    /// Counts a failed login against the email from this address, the address and the email.
    pub async fn login_failed(
        &self,
        email: &Email,
        addr: Option<IpAddr>,
    ) -> Result<(), ServiceError> {
        let keys = Keys::new(email, addr);
        self.store
            .write(move |tx| {
                let mut counted = vec![
                    (scope::EMAIL_ADDR, keys.email_addr.as_str()),
                    (scope::EMAIL, keys.email.as_str()),
                ];
                if let Some(addr) = &keys.addr {
                    counted.push((scope::ADDR, addr));
                }
                failures::record(tx, &counted, now_ms()).map_err(ServiceError::from)
            })
            .await
    }

    /// Counts a refused registration (an email already taken) against its address, so one
    /// address cannot test every email for an account.
    pub async fn register_failed(&self, addr: Option<IpAddr>) -> Result<(), ServiceError> {
        let Some(addr) = addr.map(|a| a.to_string()) else {
            return Ok(());
        };
        self.store
            .write(move |tx| {
                failures::record(tx, &[(scope::ADDR, &addr)], now_ms()).map_err(ServiceError::from)
            })
            .await
    }

    /// Refuses a new login challenge for an account whose wrong codes in the last hour reached
    /// the limit.
    pub async fn check_codes(&self, user_id: i64) -> Result<(), ServiceError> {
        let limit = self.config.codes_per_hour;
        self.store
            .read(move |tx| codes_exhausted(tx, user_id, limit, now_ms()))
            .await
    }

    /// The code budget, for checks inside a verify's transaction.
    pub fn codes_per_hour(&self) -> u32 {
        self.config.codes_per_hour
    }
}

/// `Err(RateLimited)` when the account's wrong codes in the last hour reached `limit`.
pub fn codes_exhausted(tx: &Tx, user_id: i64, limit: u32, now: i64) -> Result<(), ServiceError> {
    over(tx, scope::CODE, &user_id.to_string(), HOUR_MS, limit, now)
}

/// Counts a wrong code against its account.
pub fn code_failed(tx: &Tx, user_id: i64, now: i64) -> Result<(), ServiceError> {
    Ok(failures::record(
        tx,
        &[(scope::CODE, &user_id.to_string())],
        now,
    )?)
}

/// `Err(RateLimited)` with the seconds until the oldest failure that matters leaves the window,
/// when `limit` failures (0 = no limit) fall in the last `window_ms`.
fn over(
    tx: &Tx,
    scope: &str,
    key: &str,
    window_ms: i64,
    limit: u32,
    now: i64,
) -> Result<(), ServiceError> {
    if limit == 0 {
        return Ok(());
    }
    match failures::limit_reached_at(tx, scope, key, now - window_ms, limit)? {
        None => Ok(()),
        Some(at) => {
            let wait_ms = (at + window_ms - now).max(1);
            Err(ServiceError::RateLimited {
                retry_after_secs: (wait_ms as u64).div_ceil(1000),
            })
        }
    }
}
