//! Connect transfers between wallets (issue 17): held at creation, confirmed with a one-time code (only its keyed
//! hash is stored), then moved through the ledger; each change and its ledger move in one transaction.

use crate::{Effects, ListQuery, Page, Posting, Result};

/// A transfer.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct TransferRow {
    /// UUID.
    pub transfer_id: String,
    /// Customer.
    pub customer_id: String,
    /// The source wallet's user.
    pub user_id: String,
    /// Where the funds leave.
    pub source_wallet_id: String,
    /// Where they arrive.
    pub destination_wallet_id: String,
    /// `PAYIN` or `PAYOUT`.
    pub transfer_type: String,
    /// Why (free text).
    pub purpose: String,
    /// Free text.
    pub description: String,
    /// Upper-case currency.
    pub currency: String,
    /// Decimal string.
    pub amount: String,
    /// `PENDING`, `COMPLETED` or `CANCELLED`.
    pub status: String,
    /// Keyed hash of the live code.
    pub code_hash: Option<String>,
    /// When the live code expires.
    pub code_expires_at: Option<i64>,
    /// Wrong codes tried against the live code.
    pub code_tries: i64,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// When it completed or was cancelled.
    pub completed_at: Option<i64>,
}

/// Transfer persistence.
#[async_trait::async_trait]
pub trait TransferStore: Send + Sync {
    /// Insert a PENDING transfer with its hold (`InsufficientFunds` when the source's available balance is short:
    /// nothing written) and `fx` (its events), in one transaction.
    async fn create_transfer(&self, t: &TransferRow, hold: &[Posting], fx: &Effects) -> Result<()>;
    /// A customer's transfer.
    async fn transfer(&self, customer_id: &str, transfer_id: &str) -> Result<Option<TransferRow>>;
    /// A customer's transfers from or to `wallet_id`, newest first by default.
    async fn list_transfers(&self, customer_id: &str, wallet_id: &str, q: &ListQuery) -> Result<Page<TransferRow>>;
    /// A new live code for a PENDING transfer (tries reset), with `fx` (`Conflict` unless PENDING).
    async fn new_transfer_code(&self, t: &TransferRow, hash: &str, expires_at: i64, fx: &Effects) -> Result<()>;
    /// Count a wrong code; the tries after it.
    async fn wrong_transfer_code(&self, customer_id: &str, transfer_id: &str) -> Result<i64>;
    /// PENDING -> `status` with its ledger move and `fx`, in one transaction (`Conflict` unless PENDING).
    async fn finish_transfer(
        &self,
        t: &TransferRow,
        status: &str,
        postings: &[Posting],
        fx: &Effects,
        now: i64,
    ) -> Result<TransferRow>;
}
