//! Persistence for Sova, behind the [`Store`] trait, with two real backends chosen by URL:
//! SQLite (embedded default, WAL, one writer connection) and PostgreSQL (many replicas).
//!
//! [`Store`] is the sum of one trait per domain ([`OperatorStore`], [`CustomerStore`], [`UserStore`],
//! [`WalletStore`], [`WithdrawalStore`], [`WebhookStore`], [`LedgerStore`], [`IntelStore`], [`X402Store`], [`SiwxStore`], [`IdempotencyStore`],
//! [`ExchangeStore`], [`GuardStore`], [`NotifyStore`], and [`BaseStore`] for the backend itself), implemented for every type that
//! implements them all; `use sova_store::prelude::*;` brings them into scope.
//!
//! Both backends run the same SQL through `sqlx::Any` (placeholders `$1..$n`, which SQLite also understands);
//! the few statements that differ (row locks, notifications) branch on [`Backend`]. Migrations are embedded
//! per backend and applied by [`open`]. Times are Unix milliseconds; amounts are canonical decimal strings and all
//! arithmetic on them happens in Rust with `rust_decimal` inside the database transaction that holds the row.

mod chains;
mod console;
mod customers;
mod deployment;
mod error;
mod exchange;
mod guards;
mod idempotency;
mod intel;
mod ledger;
mod list;
mod model;
mod notify;
mod operators;
mod policies;
mod siwx;
mod sql;
mod trades;
mod transfers;
mod users;
mod wallets;
mod webhooks;
mod withdrawals;
mod x402;

use std::sync::Arc;

pub use chains::{
    ChainBlock, ChainPayment, ChainSend, ChainStore, DepositEventFn, SignFn, SignedSend, Transitions, WithdrawalEventFn,
};
pub use console::{AuditEntry, ConsoleSession, ConsoleStore};
pub use customers::CustomerStore;
pub use deployment::DeploymentStore;
pub use error::StoreError;
pub use exchange::{ExAccount, ExApiKey, ExLogRow, ExWrites, ExchangeStore, LeaderLease};
pub use guards::GuardStore;
pub use idempotency::{Effects, IdemClaim, IdemClaimOutcome, IdemDone, IdemRecord, IdempotencyStore};
pub use intel::{Charge, IntelAccount, IntelKeyRow, IntelStore, MAX_CREDITS, UsageRow};
pub use ledger::{LedgerEntry, LedgerStore, Posting};
pub use list::{ListQuery, Page, SortDir, Where};
pub use model::*;
pub use notify::NotifyStore;
pub use operators::OperatorStore;
pub use policies::{AddressBookEntry, PolicyRow, PolicyStore, VoteOutcome, VoteRow, WithdrawalVote};
pub use siwx::{NewChallenge, SigningKeyRow, SiwxCustomerRow, SiwxStore};
pub use sql::{SqlStore, redact as redact_url};
pub use trades::{LedgerPost, QuoteRow, TradeDone, TradeRow, TradeStore};
pub use transfers::{TransferRow, TransferStore};
pub use users::UserStore;
pub use wallets::WalletStore;
pub use webhooks::{AttemptResult, ClaimedDelivery, DeliveryRow, OutboxEvent, WebhookEndpointRow, WebhookStore};
pub use withdrawals::{LedgerMove, WithdrawalChange, WithdrawalEvent, WithdrawalRow, WithdrawalStore};
pub use x402::{PaymentClaim, X402Payment, X402Store};

/// Every store trait, so their methods can be called on an `Arc<dyn Store>` or a concrete store:
/// `use sova_store::prelude::*;`.
pub mod prelude {
    pub use crate::{
        BaseStore, ChainStore, ConsoleStore, CustomerStore, DeploymentStore, ExchangeStore, GuardStore,
        IdempotencyStore, IntelStore, LedgerStore, NotifyStore, OperatorStore, PolicyStore, SiwxStore, Store,
        UserStore, WalletStore, WebhookStore, WithdrawalStore, X402Store,
    };
}

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file (embedded).
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// Result of store calls.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Derivation callback for [`WalletStore::create_address`]: index -> (address, path).
pub type DeriveFn<'a> = &'a (dyn Fn(u32) -> std::result::Result<(String, String), String> + Send + Sync);

/// Open the database at `url` (`sqlite://path` or `postgres://...`) and apply the embedded migrations.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(SqlStore::open(url).await?))
}

/// The store itself: which backend, and whether it answers.
#[async_trait::async_trait]
pub trait BaseStore: Send + Sync {
    /// Which backend this is.
    fn backend(&self) -> Backend;
    /// Cheap liveness probe.
    async fn ping(&self) -> Result<()>;
}

/// Every persistent operation of Sova: the domain traits together. Implementations must make each method atomic.
/// Implemented for every type that implements all the domain traits, so `Arc<dyn Store>` reaches them all.
pub trait Store:
    BaseStore
    + ChainStore
    + ConsoleStore
    + OperatorStore
    + CustomerStore
    + UserStore
    + WalletStore
    + WithdrawalStore
    + PolicyStore
    + DeploymentStore
    + WebhookStore
    + LedgerStore
    + IntelStore
    + X402Store
    + SiwxStore
    + IdempotencyStore
    + ExchangeStore
    + GuardStore
    + NotifyStore
    + TradeStore
    + TransferStore
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: BaseStore
        + ChainStore
        + ConsoleStore
        + OperatorStore
        + CustomerStore
        + UserStore
        + WalletStore
        + WithdrawalStore
        + PolicyStore
        + DeploymentStore
        + WebhookStore
        + LedgerStore
        + IntelStore
        + X402Store
        + SiwxStore
        + IdempotencyStore
        + ExchangeStore
        + GuardStore
        + NotifyStore
        + TradeStore
        + TransferStore
        + Send
        + Sync
        + 'static
{
}
