//! Operator logins (they manage customers and their credentials).

use crate::{Operator, Result};

/// Operator persistence.
#[async_trait::async_trait]
pub trait OperatorStore: Send + Sync {
    /// Create an operator login; `Conflict` if the email is taken.
    async fn create_operator(&self, op: &Operator) -> Result<()>;
    /// Operator by email (case-insensitive; emails are stored lower-case).
    async fn operator_by_email(&self, email: &str) -> Result<Option<Operator>>;
    /// Operator by id.
    async fn operator(&self, id: &str) -> Result<Option<Operator>>;
    /// Number of operators.
    async fn operator_count(&self) -> Result<u64>;
}
