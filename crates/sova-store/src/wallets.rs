//! Wallets, their deposit addresses and the deposits to them (whose ledger postings go through the ledger in the
//! same transaction).

use crate::{
    AddressRow, CurrencyBalance, DepositRow, DeriveFn, Effects, ListQuery, NewAddress, Page, Result, TransactionRow,
    Wallet, WalletPatch, WalletView,
};

/// Wallet, address and deposit persistence.
#[async_trait::async_trait]
pub trait WalletStore: Send + Sync {
    // wallets
    /// Insert (and its ledger accounts).
    async fn create_wallet(&self, w: &Wallet) -> Result<()>;
    /// Insert (and its ledger accounts, one pair per currency) with its first `addresses` (derived at indexes from
    /// [`WalletStore::reserve_derivation_index`]), committing `fx` (e.g. the request's idempotent answer) in the
    /// same transaction: nothing is written unless all is (`InvalidState` if the idempotency key's lock was lost;
    /// `Conflict("name")` for a name the user already has).
    async fn create_wallet_with(&self, w: &Wallet, addresses: &[AddressRow], fx: &Effects) -> Result<()>;
    /// Take the next derivation index of `family` (committed at once: an index reserved by a creation that then
    /// fails stays unused, a gap no lookup depends on, since deposits are matched against issued addresses).
    async fn reserve_derivation_index(&self, family: &str) -> Result<u32>;
    /// The active addresses of these wallets of a customer, oldest first.
    async fn wallet_addresses(&self, customer_id: &str, wallet_ids: &[String]) -> Result<Vec<AddressRow>>;
    /// A customer's wallet, with balances.
    async fn wallet(&self, customer_id: &str, wallet_id: &str) -> Result<Option<WalletView>>;
    /// Wallets of a customer (optionally of one user).
    async fn list_wallets(&self, customer_id: &str, user_id: Option<&str>, q: &ListQuery) -> Result<Page<WalletView>>;
    /// Apply a patch.
    /// Settled balances per currency over a customer's wallets (or one user's), exactly summed: `balance`,
    /// `available` and `held` (`pending` is not summed: 0), currencies in order, one entry for each currency a
    /// wallet holds.
    async fn balances_by_currency(&self, customer_id: &str, user_id: Option<&str>) -> Result<Vec<CurrencyBalance>>;
    /// Update a wallet's name or status.
    async fn update_wallet(&self, customer_id: &str, wallet_id: &str, p: &WalletPatch, now: i64) -> Result<WalletView>;

    // addresses
    /// Allocate the next index of `family`, derive with `derive`, insert: one transaction. With
    /// [`NewAddress::reuse_existing`], the wallet's active address for the same (currency, network) comes back
    /// instead, if there is one.
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

    // deposits
    /// Record a deposit as PENDING and post it to the wallet's pending account.
    async fn create_deposit(&self, d: &DepositRow, fx: &Effects) -> Result<()>;
    /// Move a PENDING deposit to COMPLETED and post it to the wallet balance. `Conflict` if not pending.
    async fn complete_deposit(&self, customer_id: &str, deposit_id: &str, now: i64, fx: &Effects)
    -> Result<DepositRow>;
    /// A customer's deposit.
    async fn deposit(&self, customer_id: &str, deposit_id: &str) -> Result<Option<DepositRow>>;
    /// Deposits of a customer (optionally of one wallet).
    async fn list_deposits(
        &self,
        customer_id: &str,
        wallet_id: Option<&str>,
        q: &ListQuery,
    ) -> Result<Page<DepositRow>>;

    // history
    /// A customer's (or one user's) transactions, filtered and sorted by `q` (newest first by default).
    async fn list_transactions(
        &self,
        customer_id: &str,
        user_id: Option<&str>,
        q: &ListQuery,
    ) -> Result<Page<TransactionRow>>;

    // across tenants (wallet intelligence)
    /// Deposit addresses with this on-chain value (any network, any tenant), for wallet intelligence.
    async fn addresses_by_value(&self, address: &str) -> Result<Vec<AddressRow>>;
    /// Every issued deposit address value (for the Intel API's in-memory index).
    async fn all_address_values(&self) -> Result<Vec<String>>;
    /// Deposits to an address (any tenant), newest first.
    async fn deposits_to(&self, address: &str, limit: i64, skip: i64) -> Result<(Vec<DepositRow>, u64)>;
}
