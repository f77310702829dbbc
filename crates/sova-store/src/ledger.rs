//! The double-entry ledger: balanced postings on accounts that (unless external) never go negative.

use rust_decimal::Decimal;
use sqlx::FromRow;

use crate::Result;

/// One leg of a ledger transaction: a signed amount on an account. The legs of a transaction sum to zero per
/// currency. Accounts created with `may_go_negative = false` (every customer-owned account) never go below zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    /// Account name (see `wallet_account` and friends).
    pub account: String,
    /// Currency.
    pub currency: String,
    /// Signed amount: positive credits the account, negative debits it.
    pub amount: Decimal,
    /// Whether the account may hold a negative balance (external accounts).
    pub may_go_negative: bool,
}

/// A stored ledger entry.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct LedgerEntry {
    /// Transaction id.
    pub txn_id: String,
    /// Account.
    pub account: String,
    /// Currency.
    pub currency: String,
    /// Signed canonical decimal.
    pub amount: String,
    /// Time.
    pub created_at: i64,
}

/// Ledger persistence.
#[async_trait::async_trait]
pub trait LedgerStore: Send + Sync {
    /// Post a balanced ledger transaction (idempotent on `(kind, reference)`).
    async fn post(&self, kind: &str, reference: &str, postings: &[Posting], now: i64) -> Result<()>;
    /// Balance of a ledger account ("0" if it has none).
    async fn balance(&self, account: &str) -> Result<String>;
    /// Entries of an account, oldest first.
    async fn ledger_entries(&self, account: &str) -> Result<Vec<LedgerEntry>>;
    /// Sum of all entries per currency (must be zero everywhere: the double-entry invariant).
    async fn ledger_totals(&self) -> Result<Vec<(String, String)>>;
}
