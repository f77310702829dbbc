//! The operator console's sessions and audit log.

use sqlx::Any;

use super::SqlStore;
use crate::{AuditEntry, ConsoleSession, ConsoleStore, Result};

const SESSION_COLS: &str = "token_hash, operator_id, csrf, created_at, expires_at, revoked_at";
const AUDIT_COLS: &str = "operator_id, email, action, target, detail, at";

#[async_trait::async_trait]
impl ConsoleStore for SqlStore {
    async fn create_console_session(&self, s: &ConsoleSession) -> Result<()> {
        sqlx::query(&format!("INSERT INTO console_sessions ({SESSION_COLS}) VALUES ($1, $2, $3, $4, $5, $6)"))
            .bind(s.token_hash.clone())
            .bind(s.operator_id.clone())
            .bind(s.csrf.clone())
            .bind(s.created_at)
            .bind(s.expires_at)
            .bind(s.revoked_at)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn console_session(&self, token_hash: &str, now: i64) -> Result<Option<ConsoleSession>> {
        Ok(sqlx::query_as::<Any, ConsoleSession>(&format!(
            "SELECT {SESSION_COLS} FROM console_sessions WHERE token_hash = $1 AND revoked_at IS NULL \
             AND expires_at > $2"
        ))
        .bind(token_hash.to_string())
        .bind(now)
        .fetch_optional(&self.write)
        .await?)
    }

    async fn revoke_console_session(&self, token_hash: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE console_sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(token_hash.to_string())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn audit(&self, e: &AuditEntry) -> Result<()> {
        sqlx::query(&format!("INSERT INTO console_audit ({AUDIT_COLS}) VALUES ($1, $2, $3, $4, $5, $6)"))
            .bind(e.operator_id.clone())
            .bind(e.email.clone())
            .bind(e.action.clone())
            .bind(e.target.clone())
            .bind(e.detail.clone())
            .bind(e.at)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>> {
        Ok(sqlx::query_as::<Any, AuditEntry>(&format!(
            "SELECT {AUDIT_COLS} FROM console_audit ORDER BY seq DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.read)
        .await?)
    }
}
