//! Operators.

use sqlx::Any;

use super::SqlStore;
use crate::{Operator, OperatorStore, Result, StoreError};

#[async_trait::async_trait]
impl OperatorStore for SqlStore {
    async fn create_operator(&self, op: &Operator) -> Result<()> {
        sqlx::query("INSERT INTO operators (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(op.id.clone())
            .bind(op.email.to_lowercase())
            .bind(op.password_hash.clone())
            .bind(op.created_at)
            .execute(&self.write)
            .await
            .map_err(|e| StoreError::unique(e, "operator email"))?;
        Ok(())
    }

    async fn operator_by_email(&self, email: &str) -> Result<Option<Operator>> {
        Ok(sqlx::query_as::<Any, Operator>(
            "SELECT id, email, password_hash, created_at FROM operators WHERE email = $1",
        )
        .bind(email.to_lowercase())
        .fetch_optional(&self.read)
        .await?)
    }

    async fn operator(&self, id: &str) -> Result<Option<Operator>> {
        Ok(sqlx::query_as::<Any, Operator>("SELECT id, email, password_hash, created_at FROM operators WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?)
    }

    async fn operator_count(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar::<Any, i64>("SELECT COUNT(*) FROM operators").fetch_one(&self.read).await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
