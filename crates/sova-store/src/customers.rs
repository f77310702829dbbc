//! Customers (tenants) and their owner credentials.

use crate::{CredentialRow, Customer, CustomerPatch, ListQuery, Page, Result};

/// Customer and credential persistence.
#[async_trait::async_trait]
pub trait CustomerStore: Send + Sync {
    // customers
    /// Insert; `Conflict` if `customer_id` is taken.
    async fn create_customer(&self, c: &Customer) -> Result<()>;
    /// By id.
    async fn customer(&self, customer_id: &str) -> Result<Option<Customer>>;
    /// List with filters.
    async fn list_customers(&self, q: &ListQuery) -> Result<Page<Customer>>;
    /// Apply a patch; returns the new row.
    async fn update_customer(&self, customer_id: &str, p: &CustomerPatch, now: i64) -> Result<Customer>;

    // credentials
    /// Insert a credential.
    async fn create_credential(&self, c: &CredentialRow) -> Result<()>;
    /// A customer's credentials, newest first.
    async fn list_credentials(&self, customer_id: &str, q: &ListQuery) -> Result<Page<CredentialRow>>;
    /// One credential of a customer.
    async fn credential(&self, customer_id: &str, id: &str) -> Result<Option<CredentialRow>>;
    /// Credential by keyed hash of its secret, with its customer's status.
    async fn credential_by_hash(&self, hash: &str) -> Result<Option<(CredentialRow, String)>>;
    /// Credential by its HMAC access key, with its customer's status.
    async fn credential_by_access_key(&self, access_key: &str) -> Result<Option<(CredentialRow, String)>>;
    /// Revoke now (idempotent); returns the row.
    async fn revoke_credential(&self, customer_id: &str, id: &str, now: i64) -> Result<CredentialRow>;
    /// Rotate: insert `new` and set the old one's expiry to `old_expires_at` (or revoke it when `None`), atomically.
    async fn rotate_credential(
        &self,
        customer_id: &str,
        old_id: &str,
        new: &CredentialRow,
        old_expires_at: Option<i64>,
        now: i64,
    ) -> Result<CredentialRow>;
    /// Record use (callers throttle this).
    async fn touch_credential(&self, id: &str, now: i64) -> Result<()>;
}
