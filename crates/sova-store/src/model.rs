//! Rows as the store reads and writes them. Times are Unix milliseconds.

use sqlx::FromRow;

/// An operator login (an "account" of the document: manages customers and their credentials).
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Operator {
    /// UUID.
    pub id: String,
    /// Lower-case email.
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Creation time.
    pub created_at: i64,
}

/// A customer (tenant).
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Customer {
    /// Client-chosen slug.
    pub customer_id: String,
    /// Contact email.
    pub email: String,
    /// Name.
    pub entity_name: String,
    /// ACTIVE | SUSPENDED.
    pub status: String,
    /// Operator who created it.
    pub created_by: String,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

/// Patch of a customer.
#[derive(Debug, Clone, Default)]
pub struct CustomerPatch {
    /// New email.
    pub email: Option<String>,
    /// New name.
    pub entity_name: Option<String>,
    /// New status.
    pub status: Option<String>,
}

/// An owner credential (`x-api-key`), stored by keyed hash.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct CredentialRow {
    /// UUID.
    pub id: String,
    /// Owner.
    pub customer_id: String,
    /// Label.
    pub name: Option<String>,
    /// First characters of the secret.
    pub prefix: String,
    /// Keyed hash of the secret.
    pub secret_hash: String,
    /// Creation time.
    pub created_at: i64,
    /// Last use.
    pub last_used_at: Option<i64>,
    /// Expiry.
    pub expires_at: Option<i64>,
    /// Revocation.
    pub revoked_at: Option<i64>,
    /// Public access key of the `Cs-*` HMAC scheme (when the credential has one).
    pub access_key: Option<String>,
    /// Salt from which the server re-derives the HMAC secret key.
    pub hmac_salt: Option<String>,
    /// Keyed hash of the `Cs-Passphrase`.
    pub passphrase_hash: Option<String>,
}

impl CredentialRow {
    /// ACTIVE, REVOKED or EXPIRED at `now`.
    pub fn status(&self, now: i64) -> &'static str {
        if self.revoked_at.is_some() {
            "REVOKED"
        } else if self.expires_at.is_some_and(|e| e <= now) {
            "EXPIRED"
        } else {
            "ACTIVE"
        }
    }
}

/// A user of a customer.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct User {
    /// UUID.
    pub user_id: String,
    /// Owner.
    pub customer_id: String,
    /// individual | business.
    pub user_type: String,
    /// Email.
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// E.164.
    pub phone: Option<String>,
    /// YYYY-MM-DD.
    pub date_of_birth: Option<String>,
    /// ISO alpha-2.
    pub country: Option<String>,
    /// PENDING | ACTIVE | SUSPENDED | DELETED.
    pub status: String,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// The reference's `account_role` (`third`).
    pub account_role: Option<String>,
    /// The reference's `account_purpose` (`trading` | `investing`).
    pub account_purpose: Option<String>,
    /// ISO alpha-2 of the phone number's country (the reference's `phone_country_code`).
    pub phone_country_code: Option<String>,
    /// The national part of the phone number, digits only (the reference's `phone_number`).
    pub phone_number: Option<String>,
    /// The reference's KYC `individual` object as JSON, its id number masked.
    pub individual: Option<String>,
    /// When the user was soft-deleted.
    pub deleted_at: Option<i64>,
}

/// Patch of a user.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// Email.
    pub email: Option<String>,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// The phone number (all three columns change together).
    pub phone: Option<PhonePatch>,
    /// YYYY-MM-DD.
    pub date_of_birth: Option<String>,
    /// ISO alpha-2.
    pub country: Option<String>,
    /// Status (`DELETED` also sets `deleted_at`).
    pub status: Option<String>,
}

/// A new phone number for a user: E.164, and the reference's country and national number when known.
#[derive(Debug, Clone, Default)]
pub struct PhonePatch {
    /// E.164.
    pub e164: String,
    /// ISO alpha-2 of the number's country.
    pub country_code: Option<String>,
    /// National number, digits only.
    pub number: Option<String>,
}

/// A user bearer token, stored by keyed hash.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct UserTokenRow {
    /// UUID.
    pub id: String,
    /// The user.
    pub user_id: String,
    /// The user's customer.
    pub customer_id: String,
    /// Keyed hash.
    pub token_hash: String,
    /// Creation time.
    pub created_at: i64,
    /// Expiry.
    pub expires_at: i64,
    /// Revocation.
    pub revoked_at: Option<i64>,
}

/// A wallet row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wallet {
    /// UUID.
    pub wallet_id: String,
    /// Owner customer.
    pub customer_id: String,
    /// Owner user.
    pub user_id: String,
    /// Name (unique per user, case-insensitive).
    pub name: String,
    /// Upper-case currency: the wallet's first (for the seed's body, only) currency.
    pub currency: String,
    /// ACTIVE | FROZEN.
    pub status: String,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// Free text.
    pub description: Option<String>,
    /// `virtual` | `real`.
    pub wallet_type: String,
    /// The (network, currency) pairs the wallet was created with (the reference's `networks`); empty for a wallet
    /// made from the seed's `{name, currency}`.
    pub networks: Vec<WalletNetwork>,
}

/// One (network, currency) pair of a wallet.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WalletNetwork {
    /// Network wire name, e.g. `bitcoin-testnet`.
    pub network: String,
    /// Upper-case currency.
    pub currency: String,
}

impl Wallet {
    /// Every currency the wallet holds, its first currency first.
    pub fn currencies(&self) -> Vec<String> {
        let mut out = vec![self.currency.clone()];
        for n in &self.networks {
            if !out.contains(&n.currency) {
                out.push(n.currency.clone());
            }
        }
        out
    }

    /// The wallet's (settled, pending) ledger accounts in `currency`.
    pub fn accounts(&self, currency: &str) -> (String, String) {
        wallet_accounts(&self.wallet_id, &self.currency, currency)
    }
}

/// A wallet's (settled, pending) ledger accounts in `currency`, given its first currency `primary`: `wallet:{id}` and
/// `wallet-pending:{id}` for the first currency (the names single-currency wallets always had), with `:{CUR}`
/// appended for the others.
pub fn wallet_accounts(wallet_id: &str, primary: &str, currency: &str) -> (String, String) {
    if currency == primary {
        (wallet_account(wallet_id), wallet_pending_account(wallet_id))
    } else {
        (format!("wallet:{wallet_id}:{currency}"), format!("wallet-pending:{wallet_id}:{currency}"))
    }
}

/// A wallet's hold account in `currency` (funds set aside for withdrawals in progress), named as
/// [`wallet_accounts`] names the others: `wallet-hold:{id}` for the first currency, `wallet-hold:{id}:{CUR}` else.
pub fn wallet_hold_account(wallet_id: &str, primary: &str, currency: &str) -> String {
    if currency == primary { format!("wallet-hold:{wallet_id}") } else { format!("wallet-hold:{wallet_id}:{currency}") }
}

/// The platform's account of withdrawal fees on one network.
pub fn fee_account(network: &str, currency: &str) -> String {
    format!("fees:{network}:{currency}")
}

/// A wallet with its balances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletView {
    /// The wallet.
    pub wallet: Wallet,
    /// Settled balance in the wallet's first currency: available + held (decimal string).
    pub balance: String,
    /// Pending deposits in the wallet's first currency (decimal string).
    pub pending: String,
    /// Every currency's balances, the first currency first.
    pub balances: Vec<CurrencyBalance>,
}

/// A wallet's balances in one currency (decimal strings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyBalance {
    /// Upper-case currency.
    pub currency: String,
    /// Settled balance: `available + held`.
    pub balance: String,
    /// Pending deposits.
    pub pending: String,
    /// What can be spent now.
    pub available: String,
    /// Set aside for withdrawals in progress.
    pub held: String,
}

impl CurrencyBalance {
    /// Nothing yet.
    pub fn zero(currency: &str) -> Self {
        let z = || "0".to_string();
        Self { currency: currency.into(), balance: z(), pending: z(), available: z(), held: z() }
    }
}

/// Patch of a wallet.
#[derive(Debug, Clone, Default)]
pub struct WalletPatch {
    /// Name.
    pub name: Option<String>,
    /// Status.
    pub status: Option<String>,
}

/// Ledger account of a wallet's settled balance in its first currency.
pub fn wallet_account(wallet_id: &str) -> String {
    format!("wallet:{wallet_id}")
}

/// Ledger account of a wallet's pending deposits.
pub fn wallet_pending_account(wallet_id: &str) -> String {
    format!("wallet-pending:{wallet_id}")
}

/// Ledger account standing for the outside world on one network, as seen by one owner (a customer's deposits, or
/// the platform's own treasury): it may go negative. One per owner, so that what one tenant moves can never push
/// the account another tenant's deposits post to out of the ledger's exact range.
pub fn external_account(owner: &str, network: &str, currency: &str) -> String {
    format!("external:{network}:{currency}:{owner}")
}

/// What the caller knows of a new address before derivation.
#[derive(Debug, Clone)]
pub struct NewAddress {
    /// UUID.
    pub address_id: String,
    /// Wallet.
    pub wallet_id: String,
    /// Customer.
    pub customer_id: String,
    /// User.
    pub user_id: String,
    /// Currency.
    pub currency: String,
    /// Network.
    pub network: String,
    /// Derivation family (shares an index sequence).
    pub family: String,
    /// Creation time.
    pub created_at: i64,
    /// Give back the wallet's active address for this (currency, network) when it has one, instead of deriving a
    /// new one (the vendor's rule); `false` derives a new address in any case (rotation).
    pub reuse_existing: bool,
}

/// A deposit address row.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct AddressRow {
    /// UUID.
    pub address_id: String,
    /// Wallet.
    pub wallet_id: String,
    /// Customer.
    pub customer_id: String,
    /// User.
    pub user_id: String,
    /// Currency.
    pub currency: String,
    /// Network.
    pub network: String,
    /// On-chain address.
    pub address: String,
    /// Derivation family.
    pub family: String,
    /// HD index.
    pub derivation_index: i64,
    /// HD path.
    pub derivation_path: String,
    /// ACTIVE.
    pub status: String,
    /// Creation time.
    pub created_at: i64,
}

/// A deposit row.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct DepositRow {
    /// UUID.
    pub deposit_id: String,
    /// Wallet.
    pub wallet_id: String,
    /// Customer.
    pub customer_id: String,
    /// Address id.
    pub address_id: String,
    /// Address.
    pub address: String,
    /// Currency.
    pub currency: String,
    /// Network.
    pub network: String,
    /// Canonical decimal.
    pub amount: String,
    /// `PENDING` (seen, not final), `COMPLETED` (credited), `DROPPED` (its block left the chain before it was
    /// final; back to `PENDING` if mined again), `REVERSED` (its block left the chain after it was credited).
    pub status: String,
    /// Transaction hash.
    pub tx_hash: String,
    /// 1 for sandbox deposits.
    pub sandbox: i64,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// Completion time.
    pub completed_at: Option<i64>,
    /// Where in the transaction (see `sova_chain::watch::Payment::index`); `None` for sandbox deposits.
    pub output_index: Option<i64>,
    /// The block it was last seen in (on-chain deposits).
    pub block_hash: Option<String>,
    /// That block's height.
    pub block_height: Option<i64>,
    /// Confirmations when last counted (the block itself is the first).
    pub confirmations: i64,
    /// After a reversal, what the wallet could not give back (decimal string).
    pub shortfall: Option<String>,
}

impl DepositRow {
    /// A new `PENDING` deposit of `amount` to address `a`, not on any chain yet (the chain fields empty).
    pub fn pending(a: &AddressRow, amount: &str, tx_hash: &str, sandbox: bool, now: i64) -> Self {
        Self {
            deposit_id: uuid::Uuid::new_v4().to_string(),
            wallet_id: a.wallet_id.clone(),
            customer_id: a.customer_id.clone(),
            address_id: a.address_id.clone(),
            address: a.address.clone(),
            currency: a.currency.clone(),
            network: a.network.clone(),
            amount: amount.to_string(),
            status: "PENDING".into(),
            tx_hash: tx_hash.to_string(),
            sandbox: i64::from(sandbox),
            created_at: now,
            updated_at: now,
            completed_at: None,
            output_index: None,
            block_hash: None,
            block_height: None,
            confirmations: 0,
            shortfall: None,
        }
    }
}

/// One entry of an account's transaction history (the reference's `/accounts/transactions`): deposits and
/// withdrawals; trades join when they land.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct TransactionRow {
    /// The deposit's (withdrawal's, trade's) id.
    pub id: String,
    /// `deposit`, `withdrawal` or `trade`.
    pub kind: String,
    /// `in` (a deposit, a trade that bought `currency`) or `out` (a withdrawal, a trade that sold it).
    pub direction: String,
    /// The underlying record's status.
    pub status: String,
    /// User.
    pub user_id: String,
    /// Wallet.
    pub wallet_id: String,
    /// Upper-case currency.
    pub currency: String,
    /// Decimal string, positive.
    pub amount: String,
    /// Network.
    pub network: String,
    /// On-chain address (the deposit address, or the withdrawal's destination; a trade's pair).
    pub address: String,
    /// Chain transaction hash (empty for a withdrawal not yet sent).
    pub tx_hash: String,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// Completion time.
    pub completed_at: Option<i64>,
}
