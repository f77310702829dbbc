//! Deployment key pins: the first writer wins, later ones read what it wrote.

use sqlx::Any;

use super::SqlStore;
use crate::{DeploymentStore, Result};

#[async_trait::async_trait]
impl DeploymentStore for SqlStore {
    async fn pin_key(&self, name: &str, fingerprint: &str, now: i64) -> Result<String> {
        sqlx::query(
            "INSERT INTO deployment_keys (name, fingerprint, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name.to_string())
        .bind(fingerprint.to_string())
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(sqlx::query_scalar::<Any, String>("SELECT fingerprint FROM deployment_keys WHERE name = $1")
            .bind(name.to_string())
            .fetch_one(&self.write)
            .await?)
    }
}
