//! Withdrawal policies (versioned documents), approval votes and the users' address books.

use crate::{Result, WithdrawalChange, WithdrawalRow};

/// One version of a customer's withdrawal policy.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct PolicyRow {
    /// Customer.
    pub customer_id: String,
    /// 1, 2, ... (each change is a new version; withdrawals keep the version that decided them).
    pub version: i64,
    /// The document (JSON).
    pub document: String,
    /// Who set it (`operator:<id>`, `credential:<id>`).
    pub created_by: String,
    /// When.
    pub created_at: i64,
}

/// An entry of a user's address book.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct AddressBookEntry {
    /// UUID.
    pub entry_id: String,
    /// Customer.
    pub customer_id: String,
    /// User.
    pub user_id: String,
    /// Network wire name.
    pub network: String,
    /// Address.
    pub address: String,
    /// Free text.
    pub label: Option<String>,
    /// When the cooling-off period ends.
    pub usable_at: i64,
    /// `ACTIVE` or `DELETED`.
    pub status: String,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

/// One approver's decision on a withdrawal.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct VoteRow {
    /// The withdrawal.
    pub withdrawal_id: String,
    /// Who (`operator:<id>`, `credential:<id>`).
    pub approver: String,
    /// `APPROVE` or `REJECT`.
    pub decision: String,
    /// Why (a rejection's reason).
    pub reason: Option<String>,
    /// When.
    pub at: i64,
}

/// A vote and the change it makes when it decides the withdrawal.
#[derive(Debug, Clone)]
pub struct WithdrawalVote {
    /// The vote.
    pub vote: VoteRow,
    /// Applied in the vote's transaction when it decides: a rejection at once, an approval when it reaches the
    /// withdrawal's `approvals_required`.
    pub decided: WithdrawalChange,
}

/// What a vote did.
#[derive(Debug, Clone)]
pub struct VoteOutcome {
    /// The withdrawal after it.
    pub row: WithdrawalRow,
    /// Approvals so far.
    pub approvals: i64,
    /// Whether it decided the withdrawal.
    pub decided: bool,
}

/// Policy, approval and address-book persistence.
#[async_trait::async_trait]
pub trait PolicyStore: Send + Sync {
    /// Store a new version of the customer's policy.
    async fn put_policy(&self, customer_id: &str, document: &str, created_by: &str, now: i64) -> Result<PolicyRow>;
    /// The customer's current policy.
    async fn policy(&self, customer_id: &str) -> Result<Option<PolicyRow>>;
    /// The customer's policy versions, newest first.
    async fn policy_versions(&self, customer_id: &str, limit: i64) -> Result<Vec<PolicyRow>>;
    /// The amounts of the withdrawals in a scope (`user_id`, `wallet_id` or `customer_id` equal to `scope_id`) of
    /// `currency` created at or after `since`, held, in flight or completed.
    async fn withdrawn_since(
        &self,
        customer_id: &str,
        scope: &str,
        scope_id: &str,
        currency: &str,
        since: i64,
    ) -> Result<Vec<String>>;
    /// Add an entry. `Conflict("address")` if the user has it already.
    async fn add_address(&self, e: &AddressBookEntry) -> Result<()>;
    /// A user's live entries, oldest first.
    async fn address_book(&self, customer_id: &str, user_id: &str) -> Result<Vec<AddressBookEntry>>;
    /// A user's live entry for (network, address).
    async fn address_entry(
        &self,
        customer_id: &str,
        user_id: &str,
        network: &str,
        address: &str,
    ) -> Result<Option<AddressBookEntry>>;
    /// Remove a live entry; `NotFound` if there is none.
    async fn remove_address(
        &self,
        customer_id: &str,
        user_id: &str,
        entry_id: &str,
        now: i64,
    ) -> Result<AddressBookEntry>;
    /// Record a vote on a withdrawal awaiting approval, and apply `decided` when it decides, in one transaction
    /// under the row's lock. `InvalidState` unless the withdrawal awaits approval within its window;
    /// `Conflict("approver")` if this approver voted before.
    async fn vote_withdrawal(&self, customer_id: &str, v: &WithdrawalVote) -> Result<VoteOutcome>;
    /// A withdrawal's votes, oldest first.
    async fn withdrawal_votes(&self, withdrawal_id: &str) -> Result<Vec<VoteRow>>;
    /// Withdrawals whose approval window ended before `now`.
    async fn expired_approvals(&self, now: i64, limit: i64) -> Result<Vec<WithdrawalRow>>;
}
