//! Connect withdrawals: the row, its events, and the ledger moves each transition makes in the same transaction.

use crate::{Effects, ListQuery, Page, Result};

/// A withdrawal.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct WithdrawalRow {
    /// UUID.
    pub withdrawal_id: String,
    /// Customer.
    pub customer_id: String,
    /// User.
    pub user_id: String,
    /// The wallet the funds leave.
    pub wallet_id: String,
    /// Upper-case currency.
    pub currency: String,
    /// Network wire name.
    pub network: String,
    /// Destination address.
    pub address: String,
    /// What reaches the address (decimal string).
    pub amount: String,
    /// The network fee kept by the platform (decimal string).
    pub fee: String,
    /// `amount + fee`: what the hold takes from the wallet (decimal string).
    pub total: String,
    /// 1 when the request's amount included the fee (send-max).
    pub fee_included: i64,
    /// Free text for the destination (a tag or memo).
    pub memo: Option<String>,
    /// `PENDING`, `COMPLETED`, `CANCELLED`, `REJECTED`, `FAILED`.
    pub status: String,
    /// The step (`AWAITING_CONFIRMATION`, `QUEUED`, `BROADCASTING`, ...) or the terminal reason.
    pub sub_status: String,
    /// The request's idempotency key (unique per customer, forever).
    pub idempotency_key: String,
    /// What the first request under the key asked for (a replay with another body is refused).
    pub fingerprint: String,
    /// Keyed hash of the live confirmation code.
    pub code_hash: Option<String>,
    /// When the live code expires.
    pub code_expires_at: Option<i64>,
    /// Wrong codes tried against the live code.
    pub code_tries: i64,
    /// Chain transaction hash, once sent.
    pub tx_hash: Option<String>,
    /// 1 when sent by the sandbox (a fake hash).
    pub sandbox: i64,
    /// Who asked: `credential:<id>`, `hmac:<id>` or `user:<id>`.
    pub initiator: String,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// When it reached a terminal status.
    pub completed_at: Option<i64>,
    /// The version of the customer's policy that decided it (0: the built-in default).
    pub policy_version: i64,
    /// The rule that decided it (`default` when none matched).
    pub policy_rule: Option<String>,
    /// Approvals it needs after the code (0: none).
    pub approvals_required: i64,
    /// Until when it may be approved, once it awaits approval.
    pub approval_expires_at: Option<i64>,
}

/// One transition of a withdrawal.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct WithdrawalEvent {
    /// The withdrawal.
    pub withdrawal_id: String,
    /// Status after the transition.
    pub status: String,
    /// Sub-status after the transition.
    pub sub_status: String,
    /// Who made it (`user:<id>`, `credential:<id>`, `system`, `sandbox`).
    pub actor: String,
    /// Detail (e.g. the tx hash, the reason).
    pub detail: Option<String>,
    /// When.
    pub at: i64,
}

/// What a transition does to the ledger, with the withdrawal's wallet, in the same transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerMove {
    /// Nothing.
    None,
    /// Give the hold back to the wallet (cancelled, rejected, expired before sending).
    Release,
    /// The hold leaves: `amount` to the outside world, `fee` to the platform's fee account (sent).
    Send,
    /// After sending, the chain refused it: `amount` comes back to the wallet, the fee is kept.
    Refund,
}

/// A conditional change of a withdrawal: applied only if its sub-status is one of `from` (else `InvalidState`
/// naming the current one), with its event and ledger move in one transaction.
#[derive(Debug, Clone)]
pub struct WithdrawalChange {
    /// Customer.
    pub customer_id: String,
    /// Withdrawal.
    pub withdrawal_id: String,
    /// Sub-statuses it may be in.
    pub from: Vec<String>,
    /// New status.
    pub status: String,
    /// New sub-status.
    pub sub_status: String,
    /// Who.
    pub actor: String,
    /// Event detail.
    pub detail: Option<String>,
    /// The ledger move.
    pub ledger: LedgerMove,
    /// A new confirmation code (hash, expiry), resetting the tries.
    pub new_code: Option<(String, i64)>,
    /// Forget the code (confirmed, or no longer confirmable).
    pub clear_code: bool,
    /// The chain hash of the send.
    pub tx_hash: Option<String>,
    /// Sent by the sandbox.
    pub sandbox: bool,
    /// When.
    pub now: i64,
    /// Committed with the change (its webhook events).
    pub effects: Effects,
    /// Set the end of the approval window (entering `PENDING_APPROVAL`).
    pub approval_expires_at: Option<i64>,
}

impl WithdrawalChange {
    /// A change of `withdrawal_id` to (`status`, `sub_status`) from one of `from`, by `actor`: no ledger move, the
    /// code untouched; adjust the other fields as needed.
    pub fn new(
        customer_id: &str,
        withdrawal_id: &str,
        from: &[&str],
        (status, sub_status): (&str, &str),
        actor: &str,
        now: i64,
    ) -> Self {
        Self {
            customer_id: customer_id.into(),
            withdrawal_id: withdrawal_id.into(),
            from: from.iter().map(|s| s.to_string()).collect(),
            status: status.into(),
            sub_status: sub_status.into(),
            actor: actor.into(),
            detail: None,
            ledger: LedgerMove::None,
            new_code: None,
            clear_code: false,
            tx_hash: None,
            sandbox: false,
            now,
            effects: Effects::none(),
            approval_expires_at: None,
        }
    }
}

/// Withdrawal persistence.
#[async_trait::async_trait]
pub trait WithdrawalStore: Send + Sync {
    /// Insert a withdrawal with its first event and, unless it starts terminal, its hold (`wallet -> wallet-hold`,
    /// `total`), and commit `fx` with them. `Conflict("idempotency_key")` if the customer used the key before;
    /// `InsufficientFunds` if the wallet's available balance is short (nothing written).
    async fn create_withdrawal(&self, w: &WithdrawalRow, fx: &Effects) -> Result<()>;
    /// A customer's withdrawal.
    async fn withdrawal(&self, customer_id: &str, withdrawal_id: &str) -> Result<Option<WithdrawalRow>>;
    /// A customer's withdrawal by its idempotency key.
    async fn withdrawal_by_key(&self, customer_id: &str, key: &str) -> Result<Option<WithdrawalRow>>;
    /// A customer's withdrawals (optionally one user's).
    async fn list_withdrawals(
        &self,
        customer_id: &str,
        user_id: Option<&str>,
        q: &ListQuery,
    ) -> Result<Page<WithdrawalRow>>;
    /// A withdrawal's events, oldest first.
    async fn withdrawal_events(&self, withdrawal_id: &str) -> Result<Vec<WithdrawalEvent>>;
    /// Withdrawals sent (and not failed or refunded) from the wallets an issued address belongs to, on its network,
    /// any tenant: what left through that address (wallet intelligence), newest first.
    async fn withdrawals_from(&self, address: &str, limit: i64) -> Result<Vec<WithdrawalRow>>;
    /// Apply a change (see [`WithdrawalChange`]); the row after it.
    async fn change_withdrawal(&self, c: &WithdrawalChange) -> Result<WithdrawalRow>;
    /// Count a wrong code; the tries after it (the code is forgotten at `max_tries`).
    async fn wrong_withdrawal_code(&self, customer_id: &str, withdrawal_id: &str, max_tries: i64) -> Result<i64>;
    /// Withdrawals in `sub_status` created before `before`, oldest first (for the expiry sweep).
    async fn stale_withdrawals(&self, sub_status: &str, before: i64, limit: i64) -> Result<Vec<WithdrawalRow>>;
}
