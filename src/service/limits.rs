//! Per-email and per-address budgets for login and register attempts.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;

/// A keyed limiter that may be switched off (a budget of 0).
struct Budget<K: Hash + Eq + Clone>(Option<DefaultKeyedRateLimiter<K>>);

impl<K: Hash + Eq + Clone> Budget<K> {
    fn per_minute(n: u32) -> Self {
        Self(NonZeroU32::new(n).map(|n| RateLimiter::keyed(Quota::per_minute(n))))
    }

    /// `Err(seconds)` until the next attempt is allowed.
    fn check(&self, key: &K) -> Result<(), u64> {
        let Some(limiter) = &self.0 else {
            return Ok(());
        };
        limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }

    fn forget_idle(&self) {
        if let Some(limiter) = &self.0 {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// Attempt budgets for sign-in: one per email, one per client address.
pub struct LoginLimits {
    per_email: Budget<String>,
    per_addr: Budget<IpAddr>,
}

impl LoginLimits {
    /// Budgets of `per_email` and `per_addr` attempts a minute (0 turns one off).
    pub fn new(per_email: u32, per_addr: u32) -> Self {
        Self {
            per_email: Budget::per_minute(per_email),
            per_addr: Budget::per_minute(per_addr),
        }
    }

    /// Spends one attempt from each budget; `Err(seconds to wait)` when either is empty.
    pub fn check(&self, email: &str, addr: Option<IpAddr>) -> Result<(), u64> {
        if let Some(addr) = addr {
            self.per_addr.check(&addr)?;
        }
        self.per_email.check(&email.to_owned())
    }

    /// Drops the state of keys that have refilled, so memory stays bounded.
    pub fn forget_idle(&self) {
        self.per_email.forget_idle();
        self.per_addr.forget_idle();
    }
}
