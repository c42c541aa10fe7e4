//! Where "now" comes from. Every path that needs the time — the pipeline,
//! the daemon's loops, the sender's backoff, CRL freshness — asks a
//! [`Clock`], so tests fix or advance time instead of waiting for it.

use std::sync::Mutex;

use time::OffsetDateTime;

pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that stands still until it is moved (tests, demos).
#[derive(Debug)]
pub struct FixedClock(Mutex<OffsetDateTime>);

impl FixedClock {
    pub fn new(at: OffsetDateTime) -> Self {
        FixedClock(Mutex::new(at))
    }

    pub fn set(&self, at: OffsetDateTime) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }

    pub fn advance(&self, by: time::Duration) {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *t += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_moves_only_when_told() {
        let t0 = time::macros::datetime!(2026-11-30 09:00 UTC);
        let c = FixedClock::new(t0);
        assert_eq!(c.now(), t0);
        c.advance(time::Duration::days(14));
        assert_eq!(c.now(), time::macros::datetime!(2026-12-14 09:00 UTC));
        c.set(t0);
        assert_eq!(c.now(), t0);
    }
}
