//! Request guards shared by the replicas of one deployment: signatures already used, and rate-limit windows.
//!
//! Only worth a round trip when several replicas share the database (PostgreSQL); the single-process SQLite
//! default keeps both in memory and never calls these.

use crate::Result;

/// Shared replay and rate-limit state.
#[async_trait::async_trait]
pub trait GuardStore: Send + Sync {
    /// Record a request signature (a digest of it) until `expires_at` (Unix ms); `false` if any replica recorded
    /// it already.
    async fn claim_signature(&self, sig: &[u8], expires_at: i64) -> Result<bool>;
    /// Add `n` to the counter of `key` in the fixed window `win` (kept until `expires_at`); the counter after.
    async fn count_window(&self, key: &str, win: i64, n: i64, expires_at: i64) -> Result<i64>;
    /// Forget what expired before `now`; how many rows went.
    async fn prune_guards(&self, now: i64) -> Result<u64>;
}
