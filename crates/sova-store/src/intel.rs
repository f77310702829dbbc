//! The Intel surface: accounts with credits, `ak_` keys, the biller's charge groups, usage.

use sqlx::FromRow;

use crate::Result;

/// An Intel account: the owner of keys, holding credits.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct IntelAccount {
    /// UUID.
    pub id: String,
    /// Owner name (unique). When it equals a Connect customer id, that customer's `Cs-*` requests bill it.
    pub owner: String,
    /// Credits left.
    pub credits: i64,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

/// An `ak_<hex>` key, stored by keyed hash.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct IntelKeyRow {
    /// UUID.
    pub id: String,
    /// Account it draws on.
    pub account_id: String,
    /// Keyed hash of the key.
    pub key_hash: String,
    /// First characters of the key.
    pub prefix: String,
    /// Creation time.
    pub created_at: i64,
    /// Revocation time.
    pub revoked_at: Option<i64>,
}

/// The most credits an Intel account may hold (10^15: far above any real use, far inside `BIGINT`). A top-up or
/// refund that would pass it is refused and changes nothing.
pub const MAX_CREDITS: i64 = 1_000_000_000_000_000;

/// One movement of credits: a billed call (`cost > 0`), a refund (`cost < 0`) or a top-up (`cost < 0`, kind
/// `topup`). A positive cost is applied only if the balance covers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// Account.
    pub account_id: String,
    /// Key used, if any.
    pub key_id: Option<String>,
    /// `call`, `refund` or `topup`.
    pub kind: &'static str,
    /// Endpoint billed (route template).
    pub endpoint: String,
    /// Credits taken (negative: given back).
    pub cost: i64,
    /// Request trace id.
    pub trace_id: String,
}

/// A usage row.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct UsageRow {
    /// Account.
    pub account_id: String,
    /// Key.
    pub key_id: Option<String>,
    /// `call`, `refund`, `topup`.
    pub kind: String,
    /// Endpoint.
    pub endpoint: String,
    /// Credits taken (negative: given), for all `calls`.
    pub cost: i64,
    /// Calls this row stands for (a billing group's calls with the same key, kind and endpoint share one row).
    pub calls: i64,
    /// Balance after.
    pub balance: i64,
    /// Trace id (of the last call the row stands for).
    pub trace_id: String,
    /// Time.
    pub created_at: i64,
}

/// Intel key, account and billing persistence.
#[async_trait::async_trait]
pub trait IntelStore: Send + Sync {
    /// Create a key for `owner`'s account, creating the account (with `credits`) or adding `credits` to it.
    async fn create_intel_key(&self, owner: &str, credits: i64, key: &IntelKeyRow, now: i64) -> Result<IntelAccount>;
    /// Key by keyed hash, with its account.
    async fn intel_key_by_hash(&self, hash: &str) -> Result<Option<(IntelKeyRow, IntelAccount)>>;
    /// Key by id, with its account.
    async fn intel_key(&self, id: &str) -> Result<Option<(IntelKeyRow, IntelAccount)>>;
    /// Account by owner name.
    async fn intel_account_by_owner(&self, owner: &str) -> Result<Option<IntelAccount>>;
    /// Account by id.
    async fn intel_account(&self, id: &str) -> Result<Option<IntelAccount>>;
    /// Keys of an account.
    async fn intel_keys(&self, account_id: &str) -> Result<Vec<IntelKeyRow>>;
    /// Revoke a key (idempotent).
    async fn revoke_intel_key(&self, id: &str, now: i64) -> Result<IntelKeyRow>;
    /// Apply charges in order in one transaction; each answers the balance after it, or `Err(balance)` when a
    /// positive charge exceeds the balance (and is then not applied). Usage rows are written for applied charges.
    async fn apply_charges(&self, charges: &[Charge], now: i64) -> Result<Vec<std::result::Result<i64, i64>>>;
    /// Usage of an account (newest first), optionally of one key.
    async fn intel_usage(&self, account_id: &str, key_id: Option<&str>, limit: i64) -> Result<Vec<UsageRow>>;
}
