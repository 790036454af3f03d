//! Budgets for failed sign-ins and wrong codes, counted in the database so that they survive
//! restarts. Only failures count: someone failing from another address never locks the owner
//! out of an address that has not failed.

use super::{ServiceError, now_ms};
use crate::config::SignInLimits;
use crate::domain::Email;
use crate::store::{Challenge, Purpose, Store, StoreError, Tx};
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
    /// Wrong reset codes for one email (whether or not it has an account).
    pub const RESET_CODE: &str = "reset_code";
    /// Password reset requests for one email from one client address.
    pub const RESET_EMAIL_ADDR: &str = "reset_email_addr";
    /// Password reset requests from one client address.
    pub const RESET_ADDR: &str = "reset_addr";
    /// Password reset requests for one email, every address.
    pub const RESET_EMAIL: &str = "reset_email";
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

/// What one client address is counted under: an IPv4 address alone, an IPv6 address by its
/// /64 (one subscriber's network: a host picks any of its 2^64 addresses at will).
fn addr_key(addr: IpAddr) -> String {
    match addr.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", std::net::Ipv6Addr::from(network))
        }
    }
}

impl Keys {
    fn new(email: &Email, addr: Option<IpAddr>) -> Self {
        let addr = addr.map(addr_key);
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
                Box::pin(async move {
                    let now = now_ms();
                    if let Some(addr) = &keys.addr {
                        over(tx, scope::ADDR, addr, MINUTE_MS, config.per_addr, now).await?;
                    }
                    let email_addr = &keys.email_addr;
                    over(
                        tx,
                        scope::EMAIL_ADDR,
                        email_addr,
                        MINUTE_MS,
                        config.per_email_addr,
                        now,
                    )
                    .await?;
                    // The hourly backstop stops only addresses that failed this email themselves.
                    let failed_here = config.per_email_hourly > 0
                        && wait_secs(tx, scope::EMAIL_ADDR, email_addr, HOUR_MS, 1, now)
                            .await?
                            .is_some();
                    if failed_here {
                        let limit = config.per_email_hourly;
                        over(tx, scope::EMAIL, &keys.email, HOUR_MS, limit, now).await?;
                    }
                    Ok(())
                })
            })
            .await
    }

    /// Refuses a registration from an address that has failed too often in the last minute.
    pub async fn check_register(&self, addr: Option<IpAddr>) -> Result<(), ServiceError> {
        let Some(addr) = addr.map(addr_key) else {
            return Ok(());
        };
        let limit = self.config.per_addr;
        self.store
            .read(move |tx| {
                Box::pin(
                    async move { over(tx, scope::ADDR, &addr, MINUTE_MS, limit, now_ms()).await },
                )
            })
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
                Box::pin(async move {
                    let mut counted = vec![
                        (scope::EMAIL_ADDR, keys.email_addr.as_str()),
                        (scope::EMAIL, keys.email.as_str()),
                    ];
                    if let Some(addr) = &keys.addr {
                        counted.push((scope::ADDR, addr));
                    }
                    Ok::<_, ServiceError>(tx.record_failures(&counted, now_ms()).await?)
                })
            })
            .await
    }

    /// Counts a refused registration (an email already taken) against its address, so one
    /// address cannot test every email for an account.
    pub async fn register_failed(&self, addr: Option<IpAddr>) -> Result<(), ServiceError> {
        let Some(addr) = addr.map(addr_key) else {
            return Ok(());
        };
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    Ok::<_, ServiceError>(
                        tx.record_failures(&[(scope::ADDR, &addr)], now_ms())
                            .await?,
                    )
                })
            })
            .await
    }

    /// Refuses a new login challenge for an account whose wrong codes in the last hour reached
    /// the limit.
    pub async fn check_codes(&self, user_id: i64) -> Result<(), ServiceError> {
        let limit = self.config.codes_per_hour;
        self.store
            .read(move |tx| {
                Box::pin(async move {
                    let key = user_id.to_string();
                    over(tx, scope::CODE, &key, HOUR_MS, limit, now_ms()).await
                })
            })
            .await
    }

    /// Refuses a password reset request when this email from this address, or this address,
    /// asked too often in the last minute, this email too often in the last hour, or wrong reset
    /// codes for it reached the code budget; otherwise counts the request (each sends an email).
    /// Whether the email has an account plays no part, so the answer says nothing of it.
    pub async fn reset_requested(
        &self,
        email: &Email,
        addr: Option<IpAddr>,
    ) -> Result<(), ServiceError> {
        let keys = Keys::new(email, addr);
        let config = self.config;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let now = now_ms();
                    if let Some(addr) = &keys.addr {
                        over(tx, scope::RESET_ADDR, addr, MINUTE_MS, config.per_addr, now).await?;
                    }
                    let (email_addr, email) = (&keys.email_addr, &keys.email);
                    let per_minute = config.per_email_addr;
                    over(
                        tx,
                        scope::RESET_EMAIL_ADDR,
                        email_addr,
                        MINUTE_MS,
                        per_minute,
                        now,
                    )
                    .await?;
                    let per_hour = config.resets_per_hour;
                    over(tx, scope::RESET_EMAIL, email, HOUR_MS, per_hour, now).await?;
                    let codes = config.codes_per_hour;
                    over(tx, scope::RESET_CODE, email, HOUR_MS, codes, now).await?;
                    let mut counted = vec![
                        (scope::RESET_EMAIL_ADDR, email_addr.as_str()),
                        (scope::RESET_EMAIL, email.as_str()),
                    ];
                    if let Some(addr) = &keys.addr {
                        counted.push((scope::RESET_ADDR, addr));
                    }
                    Ok(tx.record_failures(&counted, now).await?)
                })
            })
            .await
    }

    /// The code budget, for checks inside a verify's transaction.
    pub fn codes_per_hour(&self) -> u32 {
        self.config.codes_per_hour
    }
}

/// The wrong-code budget a challenge's guesses count against: its account's for a login, its
/// email's for a reset (so a reset for an unknown email spends a budget the same way).
pub struct CodeBudget {
    scope: &'static str,
    key: String,
}

impl CodeBudget {
    /// The budget of `challenge`.
    pub fn of(challenge: &Challenge) -> Result<Self, StoreError> {
        let corrupt = || StoreError::corrupt("a challenge without its owner");
        Ok(match challenge.purpose {
            Purpose::Login => Self {
                scope: scope::CODE,
                key: challenge.user_id.ok_or_else(corrupt)?.to_string(),
            },
            Purpose::Reset => Self {
                scope: scope::RESET_CODE,
                key: challenge.email.clone().ok_or_else(corrupt)?,
            },
        })
    }

    /// Whether wrong codes in the last hour reached `limit` (0 = no limit).
    pub async fn exhausted(
        &self,
        tx: &mut dyn Tx,
        limit: u32,
        now: i64,
    ) -> Result<bool, StoreError> {
        Ok(wait_secs(tx, self.scope, &self.key, HOUR_MS, limit, now)
            .await?
            .is_some())
    }

    /// Counts one wrong code.
    pub async fn failed(&self, tx: &mut dyn Tx, now: i64) -> Result<(), StoreError> {
        tx.record_failures(&[(self.scope, &self.key)], now).await
    }
}

/// `Err(RateLimited)` when `limit` failures (0 = no limit) fall in the last `window_ms`.
async fn over(
    tx: &mut dyn Tx,
    scope: &'static str,
    key: &str,
    window_ms: i64,
    limit: u32,
    now: i64,
) -> Result<(), ServiceError> {
    match wait_secs(tx, scope, key, window_ms, limit, now).await? {
        None => Ok(()),
        Some(retry_after_secs) => {
            tracing::warn!(
                scope,
                retry_after_secs,
                "sign-in refused: failure budget spent"
            );
            Err(ServiceError::RateLimited { retry_after_secs })
        }
    }
}

/// When `limit` failures (0 = no limit) fall in the last `window_ms`: the whole seconds until
/// the oldest one that matters leaves the window.
async fn wait_secs(
    tx: &mut dyn Tx,
    scope: &str,
    key: &str,
    window_ms: i64,
    limit: u32,
    now: i64,
) -> Result<Option<u64>, StoreError> {
    if limit == 0 {
        return Ok(None);
    }
    let reached_at = tx
        .failure_limit_reached_at(scope, key, now - window_ms, limit)
        .await?;
    Ok(reached_at.map(|at| ((at + window_ms - now).max(1) as u64).div_ceil(1000)))
}

#[cfg(test)]
mod tests {
    use super::addr_key;

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let key = |s: &str| addr_key(s.parse().unwrap());
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            key("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            key("2001:db8:1:2::9")
        );
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
    }
}
