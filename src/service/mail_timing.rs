//! How long sending an email takes, so a reset for an unknown email can take as long.
//!
//! A reset answers the same whether or not the account exists; only a real account gets an
//! email, and sending one takes time (an SMTP conversation: tens to hundreds of milliseconds).
//! An answer that came back at once would say "no account". So the unknown-email path waits
//! about as long as recent sends took, and while sending is failing it fails the same way.

use rand::RngExt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A send that failed this recently makes unknown-email resets fail too.
const FAILURE_MEMORY: Duration = Duration::from_secs(60);

/// Recent send times and failures.
#[derive(Debug, Default)]
pub struct MailTiming {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Moving average of the last sends' durations (weight 1/8 for the newest).
    average: Option<Duration>,
    last_failure: Option<Instant>,
}

impl MailTiming {
    /// Records one send.
    pub fn record(&self, took: Duration, ok: bool) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if ok {
            state.average = Some(match state.average {
                None => took,
                Some(avg) => (avg * 7 + took) / 8,
            });
        } else {
            state.last_failure = Some(Instant::now());
        }
    }

    /// How long to take instead of sending: the average, give or take a quarter, as real
    /// sends vary.
    pub fn stand_in(&self) -> Duration {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let average = state.average.unwrap_or(Duration::from_millis(5));
        average.mul_f64(rand::rng().random_range(0.75..1.25))
    }

    /// Seconds since the last failed send, when it is recent.
    pub fn failing(&self) -> Option<u64> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state
            .last_failure
            .map(|at| at.elapsed())
            .filter(|ago| *ago < FAILURE_MEMORY)
            .map(|ago| ago.as_secs())
    }
}
