//! Fixed-window rate limits per credential (and per client IP for unauthenticated calls such as login).
//!
//! A single server counts in memory. Replicas given [`SharedGuards`] (PostgreSQL or Redis) count each
//! credential's requests in one window shared by all of them: windows are aligned to the wall clock (window number
//! = now / length), and each replica reserves its budget from the shared counter in chunks of `limit / 20` (at
//! least 1, at most 50), so most requests cost no round trip. A client never gets more than its limit; the slack
//! is the other way: a replica's unused part of its last chunk is lost when the window ends, so a client spread
//! over N replicas may be refused up to N x (chunk - 1) requests before reaching its limit (at most 5 % of it per
//! replica). If the shared store fails, the replica counts on its own until it answers again (logged), rather than
//! refusing every request.
//!
//! The headers follow the IETF draft (`RateLimit-Policy`, `RateLimit`) and the common `X-RateLimit-*` trio.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use parking_lot::Mutex;
use sova_runtime::Clock;

use crate::shared::SharedGuards;

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
    /// Unix ms.
    start: i64,
    count: u64,
}

/// A replica's view of one shared window.
#[derive(Default)]
struct SharedWindow {
    /// Window number (wall-clock ms / window length).
    win: i64,
    /// Requests this replica reserved from the shared counter in this window.
    granted: u64,
    /// Of those, used.
    used: u64,
    /// The shared counter after this replica's last reservation.
    global: u64,
}

struct Shared {
    guards: Arc<dyn SharedGuards>,
    windows: Mutex<HashMap<String, SharedWindow>>,
    /// When the last failure of the shared store was logged (ms), so an outage logs once a minute.
    last_warned: AtomicI64,
}

/// A set of fixed windows keyed by credential.
pub struct RateLimiter {
    limit: u64,
    window: Duration,
    windows: Mutex<HashMap<String, Window>>,
    shared: Option<Shared>,
    clock: Clock,
}

impl RateLimiter {
    /// `limit` requests per `window` on `clock`, counted in memory; a limit of 0 disables limiting.
    pub fn new(limit: u64, window: Duration, clock: Clock) -> Self {
        Self { limit, window, windows: Mutex::new(HashMap::new()), shared: None, clock }
    }

    /// The same, counted across replicas through `guards` (windows aligned to `clock`).
    pub fn shared(limit: u64, window: Duration, guards: Arc<dyn SharedGuards>, clock: Clock) -> Self {
        let shared = Shared { guards, windows: Mutex::new(HashMap::new()), last_warned: AtomicI64::new(i64::MIN) };
        Self { shared: Some(shared), ..Self::new(limit, window, clock) }
    }

    /// Requests a replica reserves from the shared counter at a time.
    fn chunk(&self) -> u64 {
        (self.limit / 20).clamp(1, 50)
    }

    /// Count one request for `key`; an error (429 with `Retry-After`) when the window is used up.
    pub async fn check(&self, key: &str) -> Result<RateInfo, Limited> {
        match &self.shared {
            Some(sh) if self.limit > 0 => self.check_shared(sh, key).await,
            _ => self.check_local(key),
        }
    }

    async fn check_shared(&self, sh: &Shared, key: &str) -> Result<RateInfo, Limited> {
        let wsecs = self.window.as_secs().max(1);
        let wms = i64::try_from(self.window.as_millis()).unwrap_or(i64::MAX).max(1);
        let now = self.clock.now_ms();
        let win = now.div_euclid(wms);
        let reset = u64::try_from(((win + 1) * wms - now + 999) / 1000).unwrap_or(1).max(1);
        let info = |remaining| RateInfo { limit: self.limit, remaining, reset, window: wsecs };
        for _ in 0..2 {
            {
                let mut map = sh.windows.lock();
                if map.len() > 100_000 {
                    map.retain(|_, w| w.win == win);
                }
                let w = match map.get_mut(key) {
                    Some(w) => w,
                    None => map.entry(key.to_string()).or_default(),
                };
                if w.win != win {
                    *w = SharedWindow { win, ..SharedWindow::default() };
                }
                if w.used < w.granted {
                    w.used += 1;
                    return Ok(info((w.granted - w.used) + self.limit.saturating_sub(w.global)));
                }
                if w.global >= self.limit {
                    return Err(Limited { info: info(0) });
                }
            }
            let chunk = self.chunk();
            match sh.guards.count_window(key, win, chunk, (win + 2) * wms).await {
                Ok(after) => {
                    let grant = chunk.min(self.limit.saturating_sub(after.saturating_sub(chunk)));
                    let mut map = sh.windows.lock();
                    if let Some(w) = map.get_mut(key).filter(|w| w.win == win) {
                        w.granted += grant;
                        w.global = w.global.max(after);
                    }
                }
                Err(e) => {
                    let last = sh.last_warned.load(Ordering::Relaxed);
                    if now - last > 60_000
                        && sh.last_warned.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
                    {
                        tracing::warn!(error = %e, store = sh.guards.name(), "rate limits: the shared counter failed; counting on this replica alone");
                    }
                    return self.check_local(key);
                }
            }
        }
        Err(Limited { info: info(0) })
    }

    fn check_local(&self, key: &str) -> Result<RateInfo, Limited> {
        let wsecs = self.window.as_secs().max(1);
        if self.limit == 0 {
            return Ok(RateInfo { limit: u64::MAX, remaining: u64::MAX, reset: 0, window: wsecs });
        }
        let now = self.clock.now_ms();
        let wms = i64::try_from(self.window.as_millis()).unwrap_or(i64::MAX).max(1);
        let mut map = self.windows.lock();
        if map.len() > 100_000 {
            map.retain(|_, w| now - w.start < wms);
        }
        let w = match map.get_mut(key) {
            Some(w) => w,
            None => map.entry(key.to_string()).or_insert(Window { start: now, count: 0 }),
        };
        if now - w.start >= wms || now < w.start {
            w.start = now;
            w.count = 0;
        }
        let reset = u64::try_from((wms - (now - w.start)) / 1000).unwrap_or(1).max(1);
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

    #[tokio::test]
    async fn window_counts_and_refuses() {
        let rl = RateLimiter::new(2, Duration::from_secs(60), Clock::system());
        assert_eq!(rl.check("a").await.map(|i| i.remaining).ok(), Some(1));
        assert_eq!(rl.check("a").await.map(|i| i.remaining).ok(), Some(0));
        let Err(limited) = rl.check("a").await else { panic!("third call must be limited") };
        assert!(limited.info.reset >= 1);
        assert_eq!(limited.info.remaining, 0);
        assert!(limited.message().contains("rate limit of 2 requests per 60 s"));
        assert!(rl.check("b").await.is_ok());
    }

    /// Counters in one map, standing for the store every replica shares.
    #[derive(Default)]
    struct Counters(Mutex<HashMap<(String, i64), u64>>);

    #[async_trait::async_trait]
    impl SharedGuards for Counters {
        fn name(&self) -> &'static str {
            "test"
        }
        async fn claim_signature(&self, _: &[u8; 16], _: i64) -> Result<bool, String> {
            Ok(true)
        }
        async fn count_window(&self, key: &str, win: i64, n: u64, _: i64) -> Result<u64, String> {
            let mut m = self.0.lock();
            let c = m.entry((key.to_string(), win)).or_default();
            *c += n;
            Ok(*c)
        }
    }

    #[tokio::test]
    async fn replicas_share_one_limit_and_never_exceed_it() {
        let store: Arc<dyn SharedGuards> = Arc::new(Counters::default());
        let clock = Clock::manual(1_000_000);
        let replicas: Vec<RateLimiter> =
            (0..3).map(|_| RateLimiter::shared(200, Duration::from_secs(60), store.clone(), clock.clone())).collect();
        let mut passed = 0;
        for i in 0..600 {
            if replicas[i % 3].check("cred:x").await.is_ok() {
                passed += 1;
            }
        }
        // Chunks of 10: each replica may leave at most 9 unused.
        assert!((200 - 3 * 9..=200).contains(&passed), "{passed} passed");
        // A new window starts afresh.
        clock.advance(60_000);
        assert!(replicas[0].check("cred:x").await.is_ok());
    }
}
