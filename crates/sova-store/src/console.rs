//! The operator console: its sessions and its audit log.

use crate::Result;

/// A console session (the cookie's token is stored as a keyed hash only).
#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct ConsoleSession {
    /// Keyed hash of the cookie's token.
    pub token_hash: String,
    /// The operator signed in.
    pub operator_id: String,
    /// The session's CSRF token (every form carries it).
    pub csrf: String,
    /// Sign-in time.
    pub created_at: i64,
    /// When it lapses.
    pub expires_at: i64,
    /// When it was signed out.
    pub revoked_at: Option<i64>,
}

/// One change made through the console.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct AuditEntry {
    /// The operator.
    pub operator_id: String,
    /// Their email then.
    pub email: String,
    /// What (`customer.create`, `credential.mint`, `session.sign_in`, ...).
    pub action: String,
    /// On what (an id).
    pub target: String,
    /// Detail.
    pub detail: Option<String>,
    /// When.
    pub at: i64,
}

/// Console persistence.
#[async_trait::async_trait]
pub trait ConsoleStore: Send + Sync {
    /// Record a new session.
    async fn create_console_session(&self, s: &ConsoleSession) -> Result<()>;
    /// A live session by token hash (not revoked, not expired at `now`).
    async fn console_session(&self, token_hash: &str, now: i64) -> Result<Option<ConsoleSession>>;
    /// Sign a session out (idempotent).
    async fn revoke_console_session(&self, token_hash: &str, now: i64) -> Result<()>;
    /// Append to the audit log.
    async fn audit(&self, e: &AuditEntry) -> Result<()>;
    /// The latest audit entries, newest first.
    async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>>;
}
