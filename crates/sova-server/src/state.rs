//! `ApiContext`: what every handler can reach.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sova_auth::keys::KeyHasher;
use sova_auth::session::SessionKeys;
use sova_chain::KeySource;
use sova_store::Store;

use crate::cache::Caches;
use crate::config::Config;
use crate::ratelimit::RateLimiter;

/// Shared state of the server.
pub struct AppState {
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// Keyed hash of API secrets.
    pub hasher: KeyHasher,
    /// Session token keys.
    pub sessions: SessionKeys,
    /// Verified credentials and tokens (by keyed hash) and users (by id).
    pub auth: Caches,
    /// Per-credential limits.
    pub limiter: RateLimiter,
    /// `Cs-Signature`s seen within the window.
    pub replay: crate::hmac::ReplayGuard,
    /// HD keys for deposit addresses.
    pub keys: KeySource,
    /// Sandbox mode.
    pub sandbox: bool,
    /// Process start.
    pub started: Instant,
    /// The configuration in effect.
    pub config: Config,
    /// Intel credit billing (group commit).
    pub biller: crate::intel::meter::Biller,
    /// x402 settings and keys.
    pub x402: crate::intel::x402::X402,
    /// The exchange's sequencer.
    pub exchange: Arc<sova_exchange::Exchange>,
    /// SIWX: the public origin and the contract-wallet RPC client.
    pub siwx: crate::siwx::SiwxState,
}

/// The axum state type.
pub type ApiContext = Arc<AppState>;

impl AppState {
    /// Build from parts.
    pub fn new(
        store: Arc<dyn Store>,
        hasher: KeyHasher,
        sessions: SessionKeys,
        keys: KeySource,
        x402: crate::intel::x402::X402,
        exchange: Arc<sova_exchange::Exchange>,
        config: Config,
    ) -> Self {
        let biller = crate::intel::meter::Biller::start(store.clone());
        Self {
            store,
            hasher,
            sessions,
            auth: Caches::default(),
            limiter: RateLimiter::new(config.rate_limit_per_minute, Duration::from_secs(60)),
            replay: Default::default(),
            keys,
            sandbox: config.sandbox,
            started: Instant::now(),
            biller,
            x402,
            exchange,
            siwx: crate::siwx::SiwxState::new(&config),
            config,
        }
    }
}
