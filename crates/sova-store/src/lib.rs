//! Persistence for Sova, behind the [`Store`] trait, with two real backends chosen by URL:
//! SQLite (embedded default, WAL, one writer connection) and PostgreSQL (many replicas).
//!
//! Both backends run the same SQL through `sqlx::Any` (placeholders `$1..$n`, which SQLite also understands);
//! the few statements that differ (row locks, notifications) branch on [`Backend`]. Migrations are embedded
//! per backend and applied by [`open`]. Times are Unix milliseconds; amounts are canonical decimal strings and all
//! arithmetic on them happens in Rust with `rust_decimal` inside the database transaction that holds the row.

mod error;
mod exchange;
mod intel;
mod ledger;
mod list;
mod model;
mod siwx;
mod sql;

use std::sync::Arc;

pub use error::StoreError;
pub use exchange::{ExAccount, ExApiKey, ExLogRow, ExWrites, ExchangeStore};
pub use intel::{Charge, IntelAccount, IntelKeyRow, PaymentClaim, UsageRow, X402Payment};
pub use ledger::{LedgerEntry, Posting};
pub use list::{ListQuery, Page, SortDir, Where};
pub use model::*;
pub use siwx::{
    IdemClaim, IdemClaimOutcome, IdemDone, IdemRecord, NewChallenge, SigningKeyRow, SiwxCustomerRow, SiwxStore,
};
pub use sql::{SqlStore, redact as redact_url};

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

/// Derivation callback for [`Store::create_address`]: index -> (address, path).
pub type DeriveFn<'a> = &'a (dyn Fn(u32) -> std::result::Result<(String, String), String> + Send + Sync);

/// Open the database at `url` (`sqlite://path` or `postgres://...`) and apply the embedded migrations.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(SqlStore::open(url).await?))
}

/// Every persistent operation of Sova. Implementations must make each method atomic.
#[async_trait::async_trait]
pub trait Store: ExchangeStore + SiwxStore + Send + Sync + 'static {
    /// Which backend this is.
    fn backend(&self) -> Backend;
    /// Cheap liveness probe.
    async fn ping(&self) -> Result<()>;

    // operators
    /// Create an operator login; `Conflict` if the email is taken.
    async fn create_operator(&self, op: &Operator) -> Result<()>;
    /// Operator by email (case-insensitive; emails are stored lower-case).
    async fn operator_by_email(&self, email: &str) -> Result<Option<Operator>>;
    /// Operator by id.
    async fn operator(&self, id: &str) -> Result<Option<Operator>>;
    /// Number of operators.
    async fn operator_count(&self) -> Result<u64>;

    // customers
    /// Insert; `Conflict` if `customer_id` is taken.
    async fn create_customer(&self, c: &Customer) -> Result<()>;
    /// By id.
    async fn customer(&self, customer_id: &str) -> Result<Option<Customer>>;
    /// List with filters.
    async fn list_customers(&self, q: &ListQuery) -> Result<Page<Customer>>;
    /// Apply a patch; returns the new row.
    async fn update_customer(&self, customer_id: &str, p: &CustomerPatch, now: i64) -> Result<Customer>;

    // credentials
    /// Insert a credential.
    async fn create_credential(&self, c: &CredentialRow) -> Result<()>;
    /// A customer's credentials, newest first.
    async fn list_credentials(&self, customer_id: &str, q: &ListQuery) -> Result<Page<CredentialRow>>;
    /// One credential of a customer.
    async fn credential(&self, customer_id: &str, id: &str) -> Result<Option<CredentialRow>>;
    /// Credential by keyed hash of its secret, with its customer's status.
    async fn credential_by_hash(&self, hash: &str) -> Result<Option<(CredentialRow, String)>>;
    /// Credential by its HMAC access key, with its customer's status.
    async fn credential_by_access_key(&self, access_key: &str) -> Result<Option<(CredentialRow, String)>>;
    /// Revoke now (idempotent); returns the row.
    async fn revoke_credential(&self, customer_id: &str, id: &str, now: i64) -> Result<CredentialRow>;
    /// Rotate: insert `new` and set the old one's expiry to `old_expires_at` (or revoke it when `None`), atomically.
    async fn rotate_credential(
        &self,
        customer_id: &str,
        old_id: &str,
        new: &CredentialRow,
        old_expires_at: Option<i64>,
        now: i64,
    ) -> Result<CredentialRow>;
    /// Record use (callers throttle this).
    async fn touch_credential(&self, id: &str, now: i64) -> Result<()>;

    // users
    /// Insert.
    async fn create_user(&self, u: &User) -> Result<()>;
    /// A customer's user.
    async fn user(&self, customer_id: &str, user_id: &str) -> Result<Option<User>>;
    /// A customer's users.
    async fn list_users(&self, customer_id: &str, q: &ListQuery) -> Result<Page<User>>;
    /// Apply a patch.
    async fn update_user(&self, customer_id: &str, user_id: &str, p: &UserPatch, now: i64) -> Result<User>;

    // user tokens
    /// Insert.
    async fn create_user_token(&self, t: &UserTokenRow) -> Result<()>;
    /// By keyed hash, with the user's and customer's status.
    async fn user_token_by_hash(&self, hash: &str) -> Result<Option<UserTokenRow>>;
    /// A user's tokens.
    async fn list_user_tokens(&self, customer_id: &str, user_id: &str) -> Result<Vec<UserTokenRow>>;
    /// Revoke (idempotent).
    async fn revoke_user_token(&self, customer_id: &str, user_id: &str, id: &str, now: i64) -> Result<UserTokenRow>;

    // wallets
    /// Insert (and its ledger accounts).
    async fn create_wallet(&self, w: &Wallet) -> Result<()>;
    /// A customer's wallet, with balances.
    async fn wallet(&self, customer_id: &str, wallet_id: &str) -> Result<Option<WalletView>>;
    /// Wallets of a customer (optionally of one user).
    async fn list_wallets(&self, customer_id: &str, user_id: Option<&str>, q: &ListQuery) -> Result<Page<WalletView>>;
    /// Apply a patch.
    async fn update_wallet(&self, customer_id: &str, wallet_id: &str, p: &WalletPatch, now: i64) -> Result<WalletView>;

    // addresses
    /// Allocate the next index of `family`, derive with `derive`, insert: one transaction.
    async fn create_address(&self, a: &NewAddress, derive: DeriveFn<'_>) -> Result<AddressRow>;
    /// A customer's address by id.
    async fn address(&self, customer_id: &str, address_id: &str) -> Result<Option<AddressRow>>;
    /// Address by its on-chain value.
    async fn address_by_value(&self, network: &str, address: &str, currency: &str) -> Result<Option<AddressRow>>;
    /// A customer's addresses (optionally of one wallet).
    async fn list_addresses(
        &self,
        customer_id: &str,
        wallet_id: Option<&str>,
        q: &ListQuery,
    ) -> Result<Page<AddressRow>>;

    // deposits and ledger
    /// Record a deposit as PENDING and post it to the wallet's pending account.
    async fn create_deposit(&self, d: &DepositRow) -> Result<()>;
    /// Move a PENDING deposit to COMPLETED and post it to the wallet balance. `Conflict` if not pending.
    async fn complete_deposit(&self, customer_id: &str, deposit_id: &str, now: i64) -> Result<DepositRow>;
    /// A customer's deposit.
    async fn deposit(&self, customer_id: &str, deposit_id: &str) -> Result<Option<DepositRow>>;
    /// Deposits of a customer (optionally of one wallet).
    async fn list_deposits(
        &self,
        customer_id: &str,
        wallet_id: Option<&str>,
        q: &ListQuery,
    ) -> Result<Page<DepositRow>>;
    /// Post a balanced ledger transaction (idempotent on `(kind, reference)`).
    async fn post(&self, kind: &str, reference: &str, postings: &[Posting], now: i64) -> Result<()>;
    /// Balance of a ledger account ("0" if it has none).
    async fn balance(&self, account: &str) -> Result<String>;
    /// Entries of an account, oldest first.
    async fn ledger_entries(&self, account: &str) -> Result<Vec<LedgerEntry>>;
    /// Sum of all entries per currency (must be zero everywhere: the double-entry invariant).
    async fn ledger_totals(&self) -> Result<Vec<(String, String)>>;

    // intel
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
    /// Deposit addresses with this on-chain value (any network, any tenant), for wallet intelligence.
    async fn addresses_by_value(&self, address: &str) -> Result<Vec<AddressRow>>;
    /// Every issued deposit address value (for the Intel API's in-memory index).
    async fn all_address_values(&self) -> Result<Vec<String>>;
    /// Deposits to an address (any tenant), newest first.
    async fn deposits_to(&self, address: &str, limit: i64, skip: i64) -> Result<(Vec<DepositRow>, u64)>;

    // cross-replica notifications
    /// Tell other replicas that cached auth state for `key` changed (PostgreSQL NOTIFY; no-op on SQLite).
    async fn notify_auth_change(&self, key: &str) -> Result<()>;
    /// Stream of keys other replicas invalidated; `None` when the backend has no replicas (SQLite).
    async fn listen_auth_changes(&self) -> Result<Option<futures::stream::BoxStream<'static, String>>>;
}
