//! x402 payments: the replay store that lets each paid transaction answer one request.

use sqlx::FromRow;

use crate::Result;

/// An x402 payment as the replay store keeps it.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct X402Payment {
    /// sha256 of the transaction message, hex.
    pub message_hash: String,
    /// The client's transaction signature, base58.
    pub tx_signature: String,
    /// Transfer authority (payer), base58.
    pub payer: String,
    /// Amount in base units.
    pub amount: i64,
    /// CAIP-2 network.
    pub network: String,
    /// Resource paid for.
    pub resource: String,
    /// `IN_FLIGHT`, `SETTLED`, `PENDING` (settlement not confirmed yet), `FAILED`.
    pub status: String,
    /// The in-flight lock holds until this time.
    pub locked_until: i64,
    /// Settlement detail (error or note).
    pub detail: Option<String>,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

/// Outcome of claiming a payment for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentClaim {
    /// First use: the caller holds the in-flight lock.
    Claimed,
    /// Already used (settled, pending, or failed after being submitted): a replay.
    AlreadyUsed(X402Payment),
    /// Another request is processing it right now.
    InFlight,
}

/// x402 payment persistence.
#[async_trait::async_trait]
pub trait X402Store: Send + Sync {
    /// Claim a payment for one request: first use takes a lock until `lock_until`; otherwise say why not.
    async fn claim_payment(&self, p: &X402Payment) -> Result<PaymentClaim>;
    /// Record a payment's outcome (`SETTLED`, `PENDING`, `FAILED`) or release it (`delete`, when it was refused
    /// before submission, so the client may use it again).
    async fn finish_payment(&self, message_hash: &str, status: &str, detail: Option<&str>, now: i64) -> Result<()>;
    /// Forget a claimed payment (it was never submitted).
    async fn release_payment(&self, message_hash: &str) -> Result<()>;
    /// Payments by status (e.g. `PENDING`, to resolve them).
    async fn payments_with_status(&self, status: &str) -> Result<Vec<X402Payment>>;
    /// Drop payments older than `before` (the 24 h replay window).
    async fn prune_payments(&self, before: i64) -> Result<u64>;
}
