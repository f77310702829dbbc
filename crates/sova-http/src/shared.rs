//! Guards shared by the replicas of one deployment (issue 14, item 9): a `Cs-*` signature is accepted once
//! anywhere, and a credential's rate limit counts its requests on every replica.
//!
//! The single-process default (SQLite) keeps both in memory ([`crate::access::ReplayGuard`],
//! [`crate::ratelimit::RateLimiter`]) and never calls out. With PostgreSQL the replicas share the database's guard
//! tables ([`StoreGuards`]); with `--redis-url` they share a Redis server instead ([`RedisGuards`]), which costs
//! less per request. Either way each replica still answers a replay it saw itself from memory, without a round
//! trip.

use std::sync::Arc;

use sova_store::Store;

/// Where replicas record what they must agree on.
#[async_trait::async_trait]
pub trait SharedGuards: Send + Sync {
    /// Which backend (for the start-up log and metrics).
    fn name(&self) -> &'static str;
    /// Record a signature digest until `expires_at` (Unix ms); `false` if some replica recorded it already.
    async fn claim_signature(&self, digest: &[u8; 16], expires_at: i64) -> Result<bool, String>;
    /// Add `n` to `key`'s counter in the fixed window number `win` (kept until `expires_at`, Unix ms); the counter
    /// after the addition.
    async fn count_window(&self, key: &str, win: i64, n: u64, expires_at: i64) -> Result<u64, String>;
}

/// The guard tables of the shared database (PostgreSQL).
pub struct StoreGuards(pub Arc<dyn Store>);

#[async_trait::async_trait]
impl SharedGuards for StoreGuards {
    fn name(&self) -> &'static str {
        "database"
    }

    async fn claim_signature(&self, digest: &[u8; 16], expires_at: i64) -> Result<bool, String> {
        self.0.claim_signature(digest, expires_at).await.map_err(|e| e.to_string())
    }

    async fn count_window(&self, key: &str, win: i64, n: u64, expires_at: i64) -> Result<u64, String> {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        let after = self.0.count_window(key, win, n, expires_at).await.map_err(|e| e.to_string())?;
        Ok(u64::try_from(after).unwrap_or(0))
    }
}

/// A Redis server shared by the replicas (`--redis-url`): `SET NX PX` per signature, `INCRBY` per window.
pub struct RedisGuards {
    conn: redis::aio::ConnectionManager,
    prefix: String,
}

impl RedisGuards {
    /// Connect (the manager reconnects by itself after a dropped connection). Keys start with `prefix`, so
    /// several deployments can share one server.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("redis URL: {e}"))?;
        let conn = redis::aio::ConnectionManager::new(client).await.map_err(|e| format!("redis: {e}"))?;
        Ok(Self { conn, prefix: prefix.to_string() })
    }
}

#[async_trait::async_trait]
impl SharedGuards for RedisGuards {
    fn name(&self) -> &'static str {
        "redis"
    }

    async fn claim_signature(&self, digest: &[u8; 16], expires_at: i64) -> Result<bool, String> {
        let key = format!("{}sig:{}", self.prefix, hex::encode(digest));
        let set: Option<String> = redis::cmd("SET")
            .arg(key)
            .arg(1)
            .arg("NX")
            .arg("PXAT")
            .arg(expires_at)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(|e| format!("redis: {e}"))?;
        Ok(set.is_some())
    }

    async fn count_window(&self, key: &str, win: i64, n: u64, expires_at: i64) -> Result<u64, String> {
        let key = format!("{}rl:{key}:{win}", self.prefix);
        let (after,): (u64,) = redis::pipe()
            .atomic()
            .cmd("INCRBY")
            .arg(&key)
            .arg(n)
            .cmd("PEXPIREAT")
            .arg(&key)
            .arg(expires_at)
            .ignore()
            .query_async(&mut self.conn.clone())
            .await
            .map_err(|e| format!("redis: {e}"))?;
        Ok(after)
    }
}
