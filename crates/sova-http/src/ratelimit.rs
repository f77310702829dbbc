//! Fixed-window rate limits per credential (and per client IP for unauthenticated calls such as login).
//!
//! Limits are kept in memory per replica: with N replicas behind a balancer a client may get up to N times the
//! limit. The headers follow the IETF draft (`RateLimit-Policy`, `RateLimit`) and the common `X-RateLimit-*` trio.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use parking_lot::Mutex;

/// What a response reports about its credential's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateInfo {
    /// Requests allowed per window.
    pub limit: u64,
    /// Requests left in this window.
    pub remaining: u64,
    /// Seconds until the window resets.
    pub reset: u64,
    /// Window length in seconds.
    pub window: u64,
}

impl RateInfo {
    /// Write the headers.
    pub fn apply(&self, h: &mut HeaderMap) {
        // On every authenticated response: numbers go in without formatting where the header allows it.
        static POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
        static RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
        static LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
        static REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
        static RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");
        if let Ok(v) = HeaderValue::from_str(&format!("{};w={}", self.limit, self.window)) {
            h.insert(POLICY.clone(), v);
        }
        let draft = format!("limit={}, remaining={}, reset={}", self.limit, self.remaining, self.reset);
        if let Ok(v) = HeaderValue::from_str(&draft) {
            h.insert(RATELIMIT.clone(), v);
        }
        h.insert(LIMIT.clone(), HeaderValue::from(self.limit));
        h.insert(REMAINING.clone(), HeaderValue::from(self.remaining));
        h.insert(RESET.clone(), HeaderValue::from(self.reset));
    }
}

/// A request over its credential's limit: the window's state, for the 429 answer and its headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// The window (remaining 0).
    pub info: RateInfo,
}

impl Limited {
    /// What the 429 says.
    pub fn message(&self) -> String {
        format!(
            "rate limit of {} requests per {} s exceeded; retry after {} s",
            self.info.limit, self.info.window, self.info.reset
        )
    }
}

struct Window {
    start: Instant,
    count: u64,
}

/// A set of fixed windows keyed by credential.
pub struct RateLimiter {
    limit: u64,
    window: Duration,
    windows: Mutex<HashMap<String, Window>>,
}

impl RateLimiter {
    /// `limit` requests per `window`; a limit of 0 disables limiting.
    pub fn new(limit: u64, window: Duration) -> Self {
        Self { limit, window, windows: Mutex::new(HashMap::new()) }
    }

    /// Count one request for `key`; an error (429 with `Retry-After`) when the window is used up.
    pub fn check(&self, key: &str) -> Result<RateInfo, Limited> {
        let wsecs = self.window.as_secs().max(1);
        if self.limit == 0 {
            return Ok(RateInfo { limit: u64::MAX, remaining: u64::MAX, reset: 0, window: wsecs });
        }
        let now = Instant::now();
        let mut map = self.windows.lock();
        if map.len() > 100_000 {
            map.retain(|_, w| now.duration_since(w.start) < self.window);
        }
        let w = match map.get_mut(key) {
            Some(w) => w,
            None => map.entry(key.to_string()).or_insert(Window { start: now, count: 0 }),
        };
        if now.duration_since(w.start) >= self.window {
            w.start = now;
            w.count = 0;
        }
        let reset = self.window.saturating_sub(now.duration_since(w.start)).as_secs().max(1);
        if w.count >= self.limit {
            return Err(Limited { info: RateInfo { limit: self.limit, remaining: 0, reset, window: wsecs } });
        }
        w.count += 1;
        Ok(RateInfo { limit: self.limit, remaining: self.limit - w.count, reset, window: wsecs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_counts_and_refuses() {
        let rl = RateLimiter::new(2, Duration::from_secs(60));
        assert_eq!(rl.check("a").map(|i| i.remaining).ok(), Some(1));
        assert_eq!(rl.check("a").map(|i| i.remaining).ok(), Some(0));
        let Err(limited) = rl.check("a") else { panic!("third call must be limited") };
        assert!(limited.info.reset >= 1);
        assert_eq!(limited.info.remaining, 0);
        assert!(limited.message().contains("rate limit of 2 requests per 60 s"));
        assert!(rl.check("b").is_ok());
    }
}
