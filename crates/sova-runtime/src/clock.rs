//! The injectable clock.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Unix time in milliseconds, from the system or set by hand. Cheap to clone; clones share the same time.
#[derive(Clone)]
pub struct Clock(Source);

#[derive(Clone)]
enum Source {
    System,
    Manual(Arc<AtomicI64>),
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Source::System => f.write_str("Clock::system"),
            Source::Manual(t) => write!(f, "Clock::manual({})", t.load(Ordering::Relaxed)),
        }
    }
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(Source::System)
    }

    /// A clock that stands at `now_ms` until [`Clock::set`] or [`Clock::advance`] moves it (tests).
    pub fn manual(now_ms: i64) -> Self {
        Self(Source::Manual(Arc::new(AtomicI64::new(now_ms))))
    }

    /// Current Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        match &self.0 {
            Source::System => chrono::Utc::now().timestamp_millis(),
            Source::Manual(t) => t.load(Ordering::Acquire),
        }
    }

    /// Current Unix seconds.
    pub fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Set a manual clock (no effect on the system clock).
    pub fn set(&self, now_ms: i64) {
        if let Source::Manual(t) = &self.0 {
            t.store(now_ms, Ordering::Release);
        }
    }

    /// Move a manual clock forward by `ms` (no effect on the system clock).
    pub fn advance(&self, ms: i64) {
        if let Source::Manual(t) = &self.0 {
            t.fetch_add(ms, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_by_hand_and_clones_share_it() {
        let c = Clock::manual(1_000);
        let d = c.clone();
        assert_eq!(c.now_ms(), 1_000);
        c.advance(500);
        assert_eq!(d.now_ms(), 1_500);
        d.set(10_000);
        assert_eq!((c.now_ms(), c.now_secs()), (10_000, 10));
    }

    #[test]
    fn the_system_clock_is_now() {
        let c = Clock::system();
        let t = chrono::Utc::now().timestamp_millis();
        assert!((c.now_ms() - t).abs() < 60_000);
        c.set(0);
        assert!(c.now_ms() > 0, "set has no effect on the system clock");
    }
}
