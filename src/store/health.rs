//! What the store remembers of its latest commits, for `/readyz`.
//!
//! A tiny probe write can succeed while real writes fail: on a full disk SQLite may still
//! rewrite WAL frames it already owns, so a probe fits where a task of 1,000 characters does
//! not. Each engine therefore records the outcome of every real commit here (the SQLite writer
//! each batch's, PostgreSQL each write's), and readiness trusts a recent outcome over a probe:
//! a write that failed transiently a moment ago, with nothing committed since, means not ready.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a transient write failure keeps readiness at 503 when nothing has committed since;
/// after it, a probe write decides again (so 200 comes back by itself once writes succeed).
pub const FAILURE_HOLD: Duration = Duration::from_secs(5);

/// How recent a commit must be for readiness to answer without writing a probe: a load
/// balancer asking every second costs no write while traffic commits anyway.
pub const FRESH: Duration = Duration::from_secs(2);

/// The latest commit and the latest transient write failure; cheap to clone (shared).
#[derive(Clone, Default)]
pub struct WriteHealth {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    committed: Option<Instant>,
    failed: Option<Instant>,
}

/// What the remembered outcomes say about writes right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A write failed transiently this long ago, and nothing has committed since.
    Failing(Duration),
    /// A write committed within [`FRESH`], and nothing has failed since.
    Committing,
    /// Nothing recent either way: a probe write must tell.
    Unknown,
}

impl WriteHealth {
    /// A commit that wrote something reached the disk.
    pub fn committed(&self) {
        self.lock().committed = Some(Instant::now());
    }

    /// A write failed in a way that passes (disk full, I/O error, server unreachable…).
    pub fn failed(&self) {
        self.lock().failed = Some(Instant::now());
    }

    /// The verdict at `now`.
    pub fn verdict(&self, now: Instant) -> Verdict {
        let state = self.lock();
        let since = |at: Instant| now.saturating_duration_since(at);
        match (state.committed, state.failed) {
            (committed, Some(failed))
                if committed.is_none_or(|c| c < failed) && since(failed) < FAILURE_HOLD =>
            {
                Verdict::Failing(since(failed))
            }
            (Some(committed), failed)
                if failed.is_none_or(|f| f < committed) && since(committed) < FRESH =>
            {
                Verdict::Committing
            }
            _ => Verdict::Unknown,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is two instants, valid whatever a panicking holder did.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recent_failure_wins_until_a_commit_or_the_hold_passes() {
        let health = WriteHealth::default();
        let t0 = Instant::now();
        assert_eq!(health.verdict(t0), Verdict::Unknown);

        health.committed();
        assert_eq!(health.verdict(Instant::now()), Verdict::Committing);
        assert_eq!(health.verdict(Instant::now() + FRESH), Verdict::Unknown);

        health.failed();
        let now = Instant::now();
        assert!(matches!(health.verdict(now), Verdict::Failing(_)));
        // Past the hold a probe decides again, whatever it was.
        assert_eq!(health.verdict(now + FAILURE_HOLD), Verdict::Unknown);

        health.committed();
        assert_eq!(health.verdict(Instant::now()), Verdict::Committing);
    }
}
