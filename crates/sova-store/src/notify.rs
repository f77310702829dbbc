//! Cross-replica notifications: a replica that changed auth state tells the others to drop their cached copy.

use futures::stream::BoxStream;

use crate::Result;

/// Auth-change notifications (PostgreSQL `NOTIFY`/`LISTEN`; SQLite has one replica and no-ops).
#[async_trait::async_trait]
pub trait NotifyStore: Send + Sync {
    /// Tell other replicas that cached auth state for `key` changed (PostgreSQL NOTIFY; no-op on SQLite).
    async fn notify_auth_change(&self, key: &str) -> Result<()>;
    /// Stream of keys other replicas invalidated; `None` when the backend has no replicas (SQLite).
    async fn listen_auth_changes(&self) -> Result<Option<BoxStream<'static, String>>>;
}
