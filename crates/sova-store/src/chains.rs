//! Chain watching: the blocks a network's watcher has followed, the payments to issued addresses seen in them
//! (insert-only, with the block hash they were seen in: the NBXplorer model), and what each does to its deposit and
//! the ledger, in one transaction per block.

use crate::{DepositRow, LeaderLease, OutboxEvent, Result, WithdrawalChange, WithdrawalRow};

/// A block a watcher followed.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct ChainBlock {
    /// Network wire name.
    pub network: String,
    /// Height (Solana: slot).
    pub height: i64,
    /// Hash.
    pub hash: String,
    /// Parent's hash.
    pub parent: String,
    /// When the watcher recorded it.
    pub seen_at: i64,
}

/// A payment seen in a block (the store keeps those to issued addresses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainPayment {
    /// Transaction.
    pub tx_hash: String,
    /// Output / log / account index in it.
    pub index: i64,
    /// Receiving address.
    pub address: String,
    /// Upper-case currency.
    pub currency: String,
    /// Exact decimal amount.
    pub amount: String,
}

/// Builds the webhook event of a deposit's transition (`"pending"`, `"completed"`, `"dropped"`, `"reversed"`), at a
/// time: supplied by the caller, since events are shaped above the store.
pub type DepositEventFn<'a> = &'a (dyn Fn(&DepositRow, &str, i64) -> OutboxEvent + Send + Sync);

/// What a block, an orphaning or a settlement did: the deposits it changed, each with its transition.
pub type Transitions = Vec<(DepositRow, &'static str)>;

/// One signed version of a withdrawal's transaction.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct ChainSend {
    /// The withdrawal.
    pub withdrawal_id: String,
    /// Network.
    pub network: String,
    /// The hot wallet's address.
    pub sender: String,
    /// Its nonce.
    pub nonce: i64,
    /// Its hash.
    pub tx_hash: String,
    /// The signed transaction, hex (rebroadcast as it is).
    pub raw_tx: String,
    /// Fee cap per gas, wei (decimal string).
    pub max_fee_per_gas: String,
    /// Priority fee per gas, wei (decimal string).
    pub max_priority_fee_per_gas: String,
    /// When it was signed.
    pub created_at: i64,
}

/// A transaction signed for a nonce: (hash, raw, max fee per gas, max priority fee per gas).
pub type SignedSend = (String, String, String, String);

/// Signs the send with the nonce it is given (inside the store's transaction, so the nonce is taken only if the
/// signed transaction is stored).
pub type SignFn<'a> = &'a (dyn Fn(i64) -> std::result::Result<SignedSend, String> + Send + Sync);

/// Builds a withdrawal's webhook event from its row after a change.
pub type WithdrawalEventFn<'a> = &'a (dyn Fn(&WithdrawalRow) -> OutboxEvent + Send + Sync);

/// Chain-watching persistence.
#[async_trait::async_trait]
pub trait ChainStore: Send + Sync {
    /// Become the one writer of `network`'s watcher: on PostgreSQL a session advisory lock (per network) on a
    /// connection of its own, held while the lease lives; on SQLite (one process) at once. `None`: another replica
    /// holds it.
    async fn chain_try_lead(&self, network: &str) -> Result<Option<Box<dyn LeaderLease>>>;
    /// The highest block of `network` that is not orphaned.
    async fn chain_head(&self, network: &str) -> Result<Option<ChainBlock>>;
    /// Record `block` as on the main chain with its `payments` (those to issued addresses of its network become or
    /// restore deposits, `PENDING`, posted `external -> wallet-pending`), in one transaction. Idempotent.
    async fn chain_add_block(
        &self,
        block: &ChainBlock,
        payments: &[ChainPayment],
        event: DepositEventFn<'_>,
    ) -> Result<Transitions>;
    /// Mark `hash` orphaned (a reorg took it away), in one transaction: its `PENDING` deposits become `DROPPED`
    /// (the pending credit reversed); its `COMPLETED` ones `REVERSED`: the wallet gives back what it has available
    /// of the amount, the rest is recorded as the deposit's shortfall, and the wallet is frozen.
    async fn chain_orphan_block(
        &self,
        network: &str,
        hash: &str,
        now: i64,
        event: DepositEventFn<'_>,
    ) -> Result<Transitions>;
    /// Count confirmations of `network`'s pending deposits against the `tip` height, and complete (posted
    /// `wallet-pending -> wallet`) those at or below `final_height`, in one transaction.
    async fn chain_settle(
        &self,
        network: &str,
        tip: i64,
        final_height: i64,
        now: i64,
        event: DepositEventFn<'_>,
    ) -> Result<Transitions>;
    /// The addresses issued on `network` with a `seq` above `after` (address, currency, seq), for the watcher's
    /// in-memory filter.
    async fn chain_addresses(&self, network: &str, after: i64) -> Result<Vec<(String, String, i64)>>;
    /// How many pending and completed on-chain deposits `network` has (for health).
    async fn chain_deposit_counts(&self, network: &str) -> Result<(i64, i64)>;

    // sending (EVM withdrawals)
    /// Non-sandbox withdrawals on `network` in one of `sub_statuses`, oldest first.
    async fn chain_withdrawals(&self, network: &str, sub_statuses: &[&str], limit: i64) -> Result<Vec<WithdrawalRow>>;
    /// Send a withdrawal, in one transaction: take `sender`'s next nonce on `network` (the larger of the stored one
    /// and `node_nonce`), sign with it, store the signed transaction, and apply `change` with its hash as the
    /// withdrawal's, with the webhook event `event` makes of the changed row. `Conflict` (nothing written) if
    /// signing fails.
    async fn chain_send(
        &self,
        network: &str,
        sender: &str,
        node_nonce: i64,
        sign: SignFn<'_>,
        change: &WithdrawalChange,
        event: WithdrawalEventFn<'_>,
    ) -> Result<(WithdrawalRow, ChainSend)>;
    /// Store a replacement (same nonce, higher fees) of a withdrawal's transaction and apply `change` with its hash.
    async fn chain_replace(&self, send: &ChainSend, change: &WithdrawalChange) -> Result<WithdrawalRow>;
    /// Every signed version of a withdrawal's transaction, oldest first.
    async fn chain_sends(&self, withdrawal_id: &str) -> Result<Vec<ChainSend>>;
}
