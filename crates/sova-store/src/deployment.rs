//! Fingerprints of the keys every replica of one deployment must share.

use crate::Result;

/// Deployment-wide key pins.
#[async_trait::async_trait]
pub trait DeploymentStore: Send + Sync {
    /// Pin `fingerprint` under `name` unless a fingerprint is pinned already; the one pinned (the first).
    async fn pin_key(&self, name: &str, fingerprint: &str, now: i64) -> Result<String>;
}
