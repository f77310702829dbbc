//! Double-entry postings.

use rust_decimal::Decimal;
use sqlx::FromRow;

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
