//! [`Access`]: what authentication needs, and the credential caches it keeps (registered on the server's
//! [`Invalidations`] bus, so revocation, rotation and suspension reach every replica).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use parking_lot::Mutex;
use secrecy::SecretString;
use sova_auth::keys::KeyHasher;
use sova_auth::session::SessionKeys;
use sova_store::Store;

use sova_runtime::{Clock, Jobs};

use crate::cache::{Cache, Invalidations};
use crate::ratelimit::RateLimiter;
use crate::shared::SharedGuards;

/// How often `last_used_at` is written for a busy credential.
const TOUCH_EVERY_MS: i64 = 60_000;

/// What authentication needs: the store, the server's keys, the credential caches, limits and replay guard.
pub struct Access {
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// Keyed hash of API secrets.
    pub hasher: KeyHasher,
    /// Session token keys.
    pub sessions: SessionKeys,
    /// The invalidation bus every cache of the server is registered on.
    pub bus: Arc<Invalidations>,
    /// Owner credentials by keyed hash.
    pub creds: Cache<CachedCredential>,
    /// User tokens by keyed hash.
    pub tokens: Cache<CachedUserToken>,
    /// `Cs-*` keys by access key.
    pub hmac: Cache<CachedHmacKey>,
    /// Per-credential limits.
    pub limiter: RateLimiter,
    /// `Cs-Signature`s seen within the window.
    pub replay: ReplayGuard,
    /// Allowed distance between `Cs-Timestamp` and the server clock, in seconds.
    pub hmac_window_secs: i64,
    /// Largest accepted request body in bytes.
    pub body_limit: usize,
    /// The time that decides expiries and windows.
    pub clock: Clock,
    /// Background work (recording credential use).
    pub jobs: Jobs,
    /// Poked after a change put webhook events in the outbox, so this replica's dispatcher sends them at once
    /// (it also polls, for events other replicas wrote).
    pub outbox: tokio::sync::Notify,
}

/// Settings of [`Access`].
#[derive(Clone)]
pub struct AccessSettings {
    /// Requests per minute per credential (0: unlimited).
    pub rate_limit_per_minute: u64,
    /// `Cs-Timestamp` window in seconds.
    pub hmac_window_secs: i64,
    /// Largest accepted request body in bytes.
    pub body_limit: usize,
    /// The server's clock.
    pub clock: Clock,
    /// The server's background jobs.
    pub jobs: Jobs,
    /// Where replicas share replays and rate limits (`None`: this process alone, in memory).
    pub shared: Option<Arc<dyn SharedGuards>>,
}

impl Access {
    /// Build, registering the credential caches on `bus`.
    pub fn new(
        store: Arc<dyn Store>,
        hasher: KeyHasher,
        sessions: SessionKeys,
        bus: Arc<Invalidations>,
        settings: AccessSettings,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            hasher,
            sessions,
            creds: Cache::builder("cred").customer(|_, v: &CachedCredential, c| v.customer_id == c).build(&bus),
            tokens: Cache::builder("token")
                .customer(|_, v: &CachedUserToken, c| v.customer_id == c)
                .user(|_, v: &CachedUserToken, u| v.user_id == u)
                .build(&bus),
            hmac: Cache::builder("hmac").customer(|_, v: &CachedHmacKey, c| v.customer_id == c).build(&bus),
            bus,
            limiter: match &settings.shared {
                Some(g) => RateLimiter::shared(
                    settings.rate_limit_per_minute,
                    std::time::Duration::from_secs(60),
                    g.clone(),
                    settings.clock.clone(),
                ),
                None => RateLimiter::new(
                    settings.rate_limit_per_minute,
                    std::time::Duration::from_secs(60),
                    settings.clock.clone(),
                ),
            },
            replay: ReplayGuard::new(settings.shared.clone()),
            hmac_window_secs: settings.hmac_window_secs,
            body_limit: settings.body_limit,
            clock: settings.clock,
            jobs: settings.jobs,
            outbox: tokio::sync::Notify::new(),
        })
    }

    /// Invalidate locally and tell the other replicas.
    pub async fn broadcast(&self, msg: &str) {
        self.bus.broadcast(msg).await;
    }
}

/// A verified owner credential.
#[derive(Debug)]
pub struct CachedCredential {
    /// Credential id.
    pub id: String,
    /// Customer.
    pub customer_id: String,
    /// Expiry.
    pub expires_at: Option<i64>,
    /// Revoked.
    pub revoked: bool,
    /// Customer is ACTIVE.
    pub customer_active: bool,
    /// Last time `last_used_at` was written (ms).
    pub last_touch: AtomicI64,
}

/// A verified user token.
#[derive(Debug)]
pub struct CachedUserToken {
    /// Token id.
    pub id: String,
    /// User.
    pub user_id: String,
    /// Customer.
    pub customer_id: String,
    /// Expiry.
    pub expires_at: i64,
    /// Revoked, or its user or customer is suspended.
    pub revoked: bool,
}

/// A verified `Cs-*` HMAC key.
pub struct CachedHmacKey {
    /// Credential id.
    pub credential_id: String,
    /// Customer.
    pub customer_id: String,
    /// The derived HMAC secret key.
    pub secret: SecretString,
    /// Keyed hash of the passphrase.
    pub passphrase_hash: String,
    /// Expiry.
    pub expires_at: Option<i64>,
    /// Revoked.
    pub revoked: bool,
    /// Customer is ACTIVE.
    pub customer_active: bool,
    /// Last time `last_used_at` was written (ms).
    pub last_touch: AtomicI64,
}

/// Signatures seen within the window, by timestamp, so each is accepted once. Sharded to keep lock hold short.
/// With [`SharedGuards`] a signature this replica has not seen is also claimed in the shared store, so it is
/// accepted once across every replica.
pub struct ReplayGuard {
    shards: Vec<Mutex<HashMap<i64, HashSet<[u8; 16]>>>>,
    last_prune: AtomicI64,
    shared: Option<Arc<dyn SharedGuards>>,
}

impl Default for ReplayGuard {
    fn default() -> Self {
        Self::new(None)
    }
}

impl ReplayGuard {
    /// A guard, shared across replicas through `shared` when given.
    pub fn new(shared: Option<Arc<dyn SharedGuards>>) -> Self {
        Self { shards: (0..16).map(|_| Mutex::new(HashMap::new())).collect(), last_prune: AtomicI64::new(0), shared }
    }

    /// Record `sig` (signed at `ts`, seconds); `Ok(false)` if it was already recorded here or, when shared, by any
    /// replica; `Err` if the shared store could not say (the request must then be refused, not let through).
    pub async fn first_use(&self, sig: &[u8; 32], ts: i64, now: i64, window: i64) -> Result<bool, String> {
        if !self.first_use_here(sig, ts, now, window) {
            return Ok(false);
        }
        let Some(shared) = &self.shared else { return Ok(true) };
        let mut digest = [0u8; 16];
        digest.copy_from_slice(&sig[..16]);
        shared.claim_signature(&digest, (ts + window + 1).saturating_mul(1000)).await
    }

    /// The in-memory part: `false` if this replica recorded `sig` already.
    fn first_use_here(&self, sig: &[u8; 32], ts: i64, now: i64, window: i64) -> bool {
        let cutoff = now - window - 1;
        let last = self.last_prune.load(Ordering::Relaxed);
        if now > last && self.last_prune.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            for shard in &self.shards {
                shard.lock().retain(|t, _| *t >= cutoff);
            }
        }
        let mut key = [0u8; 16];
        key.copy_from_slice(&sig[..16]);
        let shard = &self.shards[usize::from(sig[16]) % self.shards.len()];
        shard.lock().entry(ts).or_insert_with(|| HashSet::with_capacity(1024)).insert(key)
    }
}

/// Record a credential's use in the background, at most once a minute per credential.
pub fn touch_later(ctx: &Access, last_touch: &AtomicI64, credential_id: &str) {
    let now = ctx.clock.now_ms();
    let last = last_touch.load(Ordering::Relaxed);
    if now - last > TOUCH_EVERY_MS
        && last_touch.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
    {
        let (store, id) = (ctx.store.clone(), credential_id.to_string());
        ctx.jobs.spawn("touch-credential", async move {
            if let Err(e) = store.touch_credential(&id, now).await {
                tracing::warn!(error = %e, "could not record credential use");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn replay_guard_accepts_once_and_forgets_after_the_window() {
        let g = ReplayGuard::default();
        let sig = [7u8; 32];
        assert_eq!(g.first_use(&sig, 100, 100, 30).await, Ok(true));
        assert_eq!(g.first_use(&sig, 100, 101, 30).await, Ok(false));
        let other = [8u8; 32];
        assert_eq!(g.first_use(&other, 100, 101, 30).await, Ok(true));
        // Long after the window the entry is pruned (the timestamp check refuses such a request anyway).
        assert_eq!(g.first_use(&sig, 100, 200, 30).await, Ok(true));
    }
}
