//! Rows of the Intel surface: accounts with credits, `ak_` keys, usage, x402 payments.

use sqlx::FromRow;

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
