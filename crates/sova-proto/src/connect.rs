//! Connect API (`/sovx/v1`, seed 000): envelopes and bodies.
//!
//! Request bodies reject unknown fields (`deny_unknown_fields`), so a typo in a field name is an error that names
//! the field rather than a silently ignored value.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ErrorCode;

/// API version string carried in `meta.version`.
pub const API_VERSION: &str = "v1";

/// `meta` of every enveloped response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Meta {
    /// Server time of the response, ISO 8601 UTC with milliseconds.
    pub timestamp: String,
    /// Always `v1`.
    pub version: String,
    /// The request's trace id (from `X-Request-Id` when the client sent one).
    pub trace_id: String,
    /// Present on list responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination: Option<Pagination>,
}

/// Pagination of a list response.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Pagination {
    /// Number of items matching the filter, ignoring limit and skip.
    pub total: u64,
    /// `filter[limit]` applied.
    pub limit: u64,
    /// `filter[skip]` applied.
    pub skip: u64,
}

/// Successful response: `{success:true, data, meta}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Envelope<T> {
    /// Always `true`.
    pub success: bool,
    /// The payload.
    pub data: T,
    /// Response metadata.
    pub meta: Meta,
}

/// One error of an error response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ApiErrorItem {
    /// Stable machine-readable code.
    pub code: ErrorCode,
    /// What went wrong and what to do about it.
    pub message: String,
    /// The request field at fault, when there is one (dotted path, e.g. `country` or `filter[limit]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Error response: `{success:false, errors:[...], meta}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorEnvelope {
    /// Always `false`.
    pub success: bool,
    /// At least one error.
    pub errors: Vec<ApiErrorItem>,
    /// Response metadata.
    pub meta: Meta,
}

/// `GET /health`: the one response that is not enveloped, exactly as the document shows.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok` when the service is up.
    pub status: String,
    /// Server time, ISO 8601.
    pub timestamp: String,
    /// Milliseconds since the process started.
    pub uptime: u64,
}

/// `POST /auth/login`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Operator login email.
    #[schema(max_length = 254)]
    pub email: String,
    /// Operator password.
    pub password: String,
}

/// Session token (a JWT) of an operator account.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// Expiry, ISO 8601.
    pub expires: String,
}

/// Login answers the envelope and mirrors `token` and `expires` at the top level, so clients written from
/// either reading of the document work (see `docs/decisions.md`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginEnvelope {
    /// Always `true`.
    pub success: bool,
    /// The session.
    pub data: LoginResponse,
    /// Mirror of `data.token`.
    pub token: String,
    /// Mirror of `data.expires`.
    pub expires: String,
    /// Response metadata.
    pub meta: Meta,
}

/// `POST /customers`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCustomerRequest {
    /// Contact email of the customer.
    #[schema(format = "email", max_length = 254)]
    pub email: String,
    /// Client-chosen identifier: 3-64 characters of `a-z`, `0-9`, `-`, `_`; unique.
    #[schema(pattern = r"^[a-z0-9][a-z0-9_-]{2,63}$")]
    pub customer_id: String,
    /// Legal or display name.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub entity_name: String,
}

/// `PATCH /customers/{customer_id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCustomerRequest {
    /// New contact email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = "email", max_length = 254)]
    pub email: Option<String>,
    /// New entity name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub entity_name: Option<String>,
    /// `ACTIVE` or `SUSPENDED`; a suspended customer's keys stop working.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(ACTIVE|SUSPENDED|active|suspended)$")]
    pub status: Option<String>,
}

/// A customer (a tenant of Sova).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Customer {
    /// Contact email.
    pub email: String,
    /// The client-chosen identifier.
    pub customer_id: String,
    /// Legal or display name.
    pub entity_name: String,
    /// `ACTIVE` or `SUSPENDED`.
    pub status: String,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

/// `POST /customers/{customer_id}/credentials` (the body is optional).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCredentialRequest {
    /// A label to recognise the credential by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: Option<String>,
    /// Expiry in seconds from now; none means the credential does not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 60, maximum = 315360000)]
    pub expires_in: Option<u64>,
    /// Passphrase for the `Cs-*` HMAC scheme (8 to 128 characters). When given, the answer also carries an
    /// `access_key` and a `secret_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 8, max_length = 128, pattern = r"^[!-~]([ -~]*[!-~])?$")]
    pub passphrase: Option<String>,
}

/// A freshly minted credential: the only time the secret is shown.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CredentialSecret {
    /// The customer the credential belongs to.
    pub customer_id: String,
    /// The owner key: send it as `x-api-key`. Shown once; Sova keeps only a keyed hash.
    pub customer_secret: String,
    /// Identifier of the credential (for list, revoke, rotate).
    pub credential_id: String,
    /// The first characters of the secret, to recognise it in lists.
    pub prefix: String,
    /// Creation time.
    pub created_at: String,
    /// Expiry, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// `Cs-Access-Key` of the HMAC scheme (when a passphrase was chosen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
    /// HMAC secret key for `Cs-Signature`. Shown once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<String>,
}

/// A credential as listed (never with its secret).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Credential {
    /// Identifier.
    pub credential_id: String,
    /// Owning customer.
    pub customer_id: String,
    /// Label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The first characters of the secret.
    pub prefix: String,
    /// `Cs-Access-Key` of the HMAC scheme, if the credential has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
    /// `ACTIVE`, `REVOKED` or `EXPIRED`.
    pub status: String,
    /// Creation time.
    pub created_at: String,
    /// Last successful use (updated at most once a minute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    /// Expiry, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Revocation time, if revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

/// `POST /customers/{customer_id}/credentials/{credential_id}/rotate`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateCredentialRequest {
    /// Seconds during which the old secret keeps working (default 3600, 0 revokes it at once, max 30 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(maximum = 2592000)]
    pub grace_seconds: Option<u64>,
    /// A new `Cs-Passphrase` for the new credential (default: keep the old one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 8, max_length = 128, pattern = r"^[!-~]([ -~]*[!-~])?$")]
    pub passphrase: Option<String>,
}

/// `GET /time`: the server clock, for clients signing requests.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ServerTime {
    /// Unix time in seconds (what `Cs-Timestamp` is compared with).
    pub epoch: i64,
    /// The same instant, ISO 8601 UTC with milliseconds.
    pub iso: String,
}

/// `POST /users`: the seed's body (`user_type`, `phone`, `date_of_birth`, `country`) or the vendor reference's
/// (`account_type`, `account_role`, `account_purpose`, `phone_country_code` + `phone_number`, `individual`, optional
/// `user_id`), mapped onto one user. With `account_type` the reference's fields are required and the user starts
/// `PENDING`; with `user_type` it starts `ACTIVE`; `status` chooses either explicitly.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    /// Caller-chosen id (UUID v4); generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = "uuid")]
    pub user_id: Option<String>,
    /// `individual` or `business` (the seed's name; `account_type` is the reference's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(individual|business)$")]
    pub user_type: Option<String>,
    /// `individual` or `business` (the reference's name for `user_type`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(individual|business)$")]
    pub account_type: Option<String>,
    /// The reference's role: `third` (a third party of the customer). Required with `account_type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^third$")]
    pub account_role: Option<String>,
    /// `trading` or `investing`. Required with `account_type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(trading|investing)$")]
    pub account_purpose: Option<String>,
    /// Email address, unique among the customer's users.
    #[schema(format = "email", max_length = 254)]
    pub email: String,
    /// Given name.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub first_name: String,
    /// Family name.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub last_name: String,
    /// E.164, e.g. `+14155550100` (the seed's form); unique among the customer's users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// ISO 3166-1 alpha-2 of the phone number (the reference's form, with `phone_number`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_country_code: Option<String>,
    /// The national mobile number, valid for `phone_country_code` (max 20 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// `YYYY-MM-DD` (the seed's; `individual.dob` is the reference's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = "date")]
    pub date_of_birth: Option<String>,
    /// ISO 3166-1 alpha-2, e.g. `US` (the seed's; `individual.residential_country_code` is the reference's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Za-z]{2}$")]
    pub country: Option<String>,
    /// KYC details (the reference's). Required with `account_type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub individual: Option<Individual>,
    /// `PENDING` or `ACTIVE`: the status to start in (a Sova extension; the default depends on the body's shape).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(PENDING|ACTIVE|pending|active)$")]
    pub status: Option<String>,
}

/// The reference's KYC object of a user. In answers `id_number` is masked to its last four characters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Individual {
    /// Date of birth, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dob: Option<String>,
    /// ISO 3166-1 alpha-2 of the residence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residential_country_code: Option<String>,
    /// Street address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residential_address: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residential_city: Option<String>,
    /// State or region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residential_state: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residential_postal_code: Option<String>,
    /// Kind of identity document, e.g. `ssn`, `passport`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_type: Option<String>,
    /// The document's number (stored and answered masked, e.g. `*****6789`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
}

/// `PATCH /users/{user_id}`: any subset of the fields.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = "email", max_length = 254)]
    pub email: Option<String>,
    /// Given name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub last_name: Option<String>,
    /// E.164.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// ISO 3166-1 alpha-2 of the phone number (with `phone_number`, instead of `phone`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_country_code: Option<String>,
    /// National mobile number (with `phone_country_code`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = "date")]
    pub date_of_birth: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Za-z]{2}$")]
    pub country: Option<String>,
    /// `ACTIVE` or `SUSPENDED` (owner key only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(ACTIVE|SUSPENDED|active|suspended)$")]
    pub status: Option<String>,
}

/// A user of a customer: the seed's fields and the reference's (`account_type` mirrors `user_type`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct User {
    /// UUID.
    pub user_id: String,
    /// Email address.
    pub email: String,
    /// `individual` or `business`.
    pub user_type: String,
    /// The same as `user_type` (the reference's name).
    pub account_type: String,
    /// `PENDING`, `ACTIVE`, `SUSPENDED` or `DELETED`.
    pub status: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// E.164.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// ISO 3166-1 alpha-2 of the phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_country_code: Option<String>,
    /// National number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// `third`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_role: Option<String>,
    /// `trading` or `investing`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_purpose: Option<String>,
    /// KYC details, `id_number` masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub individual: Option<Individual>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

/// `POST /users/{user_id}/tokens` (the body is optional).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserTokenRequest {
    /// Lifetime in seconds (default 3600, max 30 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
}

/// `POST /users/tokens`: the reference's bulk form of `POST /users/{user_id}/token` (its body is not visible there;
/// this is Sova's).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueUserTokensRequest {
    /// 1 to 100 of the customer's users, each given a new one-year token.
    pub user_ids: Vec<String>,
}

/// A user token: send it as `Authorization: Bearer <token>`; it reaches only its user's resources.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserToken {
    /// Identifier (for revocation).
    pub token_id: String,
    /// The user it belongs to.
    pub user_id: String,
    /// The bearer token. Shown once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Expiry.
    pub expires_at: String,
    /// Creation time.
    pub created_at: String,
}

/// The answer of the reference's `POST /users/{user_id}/token`: Sova's token fields and the reference's `expires`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IssuedUserToken {
    /// The token (with `token` set: shown once).
    #[serde(flatten)]
    pub token: UserToken,
    /// Expiry, ISO 8601 (the reference's name for `expires_at`).
    pub expires: String,
}

/// `POST /users/{user_id}/wallets`: the seed's `{name, currency}` or the reference's `{name, networks[],
/// wallet_type?, description?}` (one of `currency` and `networks`). With `networks`, a deposit address is provisioned
/// for each pair at creation and the wallet holds every currency named.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWalletRequest {
    /// A name to recognise the wallet by (max 100), unique among the user's wallets (case-insensitive).
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    /// `BTC`, `ETH`, `SOL`, `USDC` or `USDT` (case-insensitive): a single-currency wallet (the seed's form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// One to 16 (network, currency) pairs (the reference's form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub networks: Option<Vec<WalletNetwork>>,
    /// `virtual` (default) or `real`; recorded and answered (Sova keeps every wallet in its own ledger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(virtual|real)$")]
    pub wallet_type: Option<String>,
    /// Free text (max 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub description: Option<String>,
}

/// A (network, currency) pair of a wallet, as the reference writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalletNetwork {
    /// `networks/<network>` (the reference's vault id) or the bare network, e.g. `networks/bitcoin-testnet`.
    pub name: String,
    /// Currency code, e.g. `btc` (answered lower-case).
    pub currency: String,
}

/// A wallet's balances in one of its currencies (decimal strings).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WalletBalance {
    /// Upper-case currency code.
    pub currency: String,
    /// Settled balance: `available_balance + held_balance`.
    pub balance: String,
    /// What can be spent now.
    pub available_balance: String,
    /// Set aside for withdrawals in progress.
    pub held_balance: String,
    /// Deposits seen but not yet completed.
    pub pending_balance: String,
}

/// `PATCH /wallets/{wallet_id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWalletRequest {
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: Option<String>,
    /// `ACTIVE` or `FROZEN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A wallet: Sova's fields (its first currency and that currency's balances) and the reference's
/// (`vault_wallet_id`, `description`, `wallet_type`, `networks`, `addresses`), with every currency's balances.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Wallet {
    /// UUID.
    pub wallet_id: String,
    /// The vendor's custody wallet id: Sova keeps no separate vault, so the wallet id.
    pub vault_wallet_id: String,
    /// Owning user.
    pub user_id: String,
    /// Name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// `virtual` or `real`.
    pub wallet_type: String,
    /// Upper-case code of the wallet's first currency.
    pub currency: String,
    /// Settled balance in `currency` (`available_balance + held_balance`), decimal string.
    pub balance: String,
    /// What can be spent now in `currency`, decimal string.
    pub available_balance: String,
    /// Set aside in `currency` for withdrawals in progress, decimal string.
    pub held_balance: String,
    /// Sum of deposits in `currency` seen but not yet completed, decimal string.
    pub pending_balance: String,
    /// Balances in every currency of the wallet, `currency` first.
    pub balances: Vec<WalletBalance>,
    /// The (network, currency) pairs of the wallet: those it was created with, then those of its other addresses.
    pub networks: Vec<WalletNetwork>,
    /// Every active deposit address, in the reference's four fields.
    pub addresses: Vec<WalletAddress>,
    /// `ACTIVE` or `FROZEN`.
    pub status: String,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

/// `POST /wallets/{wallet_id}/address`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAddressRequest {
    /// One of the wallet's currencies (case-insensitive).
    pub currency: String,
    /// `bitcoin`, `bitcoin-testnet`, `ethereum`, `ethereum-sepolia`, `solana` or `solana-devnet`.
    #[schema(pattern = "^(bitcoin|bitcoin-testnet|ethereum|ethereum-sepolia|solana|solana-devnet)$")]
    pub network: String,
    /// Sova extension: `true` derives a new address even when the wallet has one for this (currency, network)
    /// (rotation). By default the existing address comes back, as the vendor's reference says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotate: Option<bool>,
}

/// A deposit address.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DepositAddress {
    /// UUID.
    pub address_id: String,
    /// The wallet deposits are credited to.
    pub wallet_id: String,
    /// The on-chain address.
    pub address: String,
    /// Upper-case currency code.
    pub currency: String,
    /// Network wire name.
    pub network: String,
    /// HD derivation path of the address.
    pub derivation_path: String,
    /// `ACTIVE`.
    pub status: String,
    /// Creation time.
    pub created_at: String,
}

/// The answer of `POST /wallets/{wallet_id}/address`: Sova's address (its fields at the top) and, as the vendor's
/// reference shows it, the wallet with every address it has (`addresses[]`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AddressCreated {
    /// The address created (or given back).
    #[serde(flatten)]
    pub address: DepositAddress,
    /// The wallet's user.
    pub user_id: String,
    /// The vendor's custody wallet id: Sova keeps no separate vault, so the wallet id.
    pub vault_wallet_id: String,
    /// The wallet's name.
    pub name: String,
    /// The wallet's description (none yet).
    pub description: Option<String>,
    /// Every active address of the wallet, in the vendor's four fields.
    pub addresses: Vec<WalletAddress>,
    /// When the wallet last changed.
    pub updated_at: String,
}

/// An address as the vendor's reference lists it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WalletAddress {
    /// UUID.
    pub address_id: String,
    /// Lower-case currency code (`btc`).
    pub currency: String,
    /// Network wire name.
    pub network: String,
    /// The on-chain address.
    pub address: String,
}

/// One entry of `GET /currencies` (the vendor's fields, numbers where it shows numbers, and the networks).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CurrencyInfo {
    /// Stable number.
    pub id: u32,
    /// Ticker (`BTC`).
    pub symbol: String,
    /// Name (`Bitcoin`).
    pub name: String,
    /// Lower-case code (`btc`), as request bodies take it.
    pub code: String,
    /// Same as `code`.
    pub currency: String,
    /// Decimal places.
    pub precision: u32,
    /// ASCII sign.
    pub ascii_sign: String,
    /// Deposits are credited.
    pub can_deposit: bool,
    /// Withdrawals can be made (not yet).
    pub can_withdraw: bool,
    /// Smallest withdrawal.
    pub min_withdrawal: u64,
    /// Always false.
    pub is_fiat: bool,
    /// Deposits wait for confirmations.
    pub is_confirmations_needed: bool,
    /// Sova holds it.
    pub is_custody_enabled: bool,
    /// Tradeable through Connect (not yet).
    pub is_trading_enabled: bool,
    /// Networks it is available on.
    pub networks: Vec<String>,
}

/// One currency of `GET /accounts/balance` and `GET /users/{user_id}/accounts/balance`: JSON numbers, as the
/// reference shows them, written digit for digit from the ledger's decimal (never through a float).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccountBalance {
    /// Lower-case currency code.
    pub currency: String,
    /// Settled balance.
    #[schema(value_type = f64)]
    pub balance: Box<serde_json::value::RawValue>,
    /// What can be spent now: the balance less what is held.
    #[schema(value_type = f64)]
    pub available: Box<serde_json::value::RawValue>,
    /// Held for withdrawals or trades in progress.
    #[schema(value_type = f64)]
    pub held: Box<serde_json::value::RawValue>,
}

/// One entry of `GET /accounts/transactions` and `GET /users/{user_id}/accounts/transactions`, newest first: every
/// money movement of the account in one shape (deposits today; withdrawals and trades as they land). `amount` is a
/// JSON number written digit for digit (the reference's money), `amount_string` the same value as Sova's decimal
/// string.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Transaction {
    /// The deposit's, the withdrawal's or the trade order's id.
    pub id: String,
    /// `deposit`, `withdrawal` or `trade` (an order on a quote and its trade, one object: `currency` and `amount`
    /// are the base traded, `network` `sova-exchange`, `address` the pair).
    #[serde(rename = "type")]
    pub kind: String,
    /// The movement's status (`PENDING`, `COMPLETED`, ...).
    pub status: String,
    /// The user.
    pub user_id: String,
    /// The wallet.
    pub wallet_id: String,
    /// Lower-case currency code.
    pub currency: String,
    /// Amount, positive, as a JSON number.
    #[schema(value_type = f64)]
    pub amount: Box<serde_json::value::RawValue>,
    /// The same amount as a decimal string.
    pub amount_string: String,
    /// `in` (credits the account: a deposit, a buy) or `out` (a withdrawal, a sell).
    pub direction: String,
    /// Network.
    pub network: String,
    /// The on-chain address involved (a deposit's: the deposit address; a withdrawal's: its destination).
    pub address: String,
    /// Chain transaction hash (empty for a withdrawal not yet sent).
    pub tx_hash: String,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Completion time, once completed.
    pub completed_at: Option<String>,
}

/// `POST /users/{user_id}/accounts/crypto/withdrawals`: the reference's body (`currency`, `amount`, `address`,
/// `memo`) and Sova's additions.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWithdrawalRequest {
    /// Currency code (case-insensitive).
    pub currency: String,
    /// A decimal string (`"0.5"`) or a JSON number (`0.5`), read from its literal text: never through a float.
    #[schema(value_type = String, example = "0.5")]
    pub amount: Box<serde_json::value::RawValue>,
    /// Destination, checked for `network` before anything is held.
    pub address: String,
    /// Network wire name; may be left out when the address and the wallet leave one choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// Destination tag or memo (max 255).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 255, pattern = r"\S")]
    pub memo: Option<String>,
    /// `true`: `amount` includes the fee, so `amount - fee` arrives (send-max). Default `false`: `amount` arrives
    /// and `amount + fee` is held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_included: Option<bool>,
    /// The wallet to take the funds from (default: the user's oldest active wallet of the currency whose available
    /// balance covers it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_id: Option<String>,
}

/// `POST .../withdrawals/{id}/confirm`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmWithdrawalRequest {
    /// The 6-digit code sent with the `withdrawal.confirmation_required` event.
    #[schema(pattern = r"^\s*[0-9]{6}\s*$")]
    pub code: String,
}

/// The reference's `withdraw` object of a withdrawal answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WithdrawRef {
    /// The withdrawal id.
    pub id: String,
    /// `PENDING`, `COMPLETED`, `CANCELLED`, `REJECTED` or `FAILED`.
    pub status: String,
    /// The key the withdrawal was created under (the request's `Idempotency-Key`, or one Sova generated).
    pub idempotency_key: String,
    /// `true` when this answer is a replay of an earlier request with the same key: nothing new was created.
    pub is_duplicate: bool,
}

/// One transition of a withdrawal.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WithdrawalEvent {
    /// Status after it.
    pub status: String,
    /// Sub-status after it.
    pub sub_status: String,
    /// Who: `user:<id>`, `credential:<id>`, `system`, `sandbox`.
    pub actor: String,
    /// Detail (a tx hash, a reason).
    pub detail: Option<String>,
    /// When.
    pub at: String,
}

/// A withdrawal: the reference's fields (`id`, `withdraw{...}`, `currency`, `amount` as a number, `address`) and
/// Sova's.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Withdrawal {
    /// UUID.
    pub id: String,
    /// The reference's summary.
    pub withdraw: WithdrawRef,
    /// The user.
    pub user_id: String,
    /// The wallet the funds leave.
    pub wallet_id: String,
    /// Lower-case currency code.
    pub currency: String,
    /// Network.
    pub network: String,
    /// Destination.
    pub address: String,
    /// What reaches the address, as an exact JSON number.
    #[schema(value_type = f64)]
    pub amount: Box<serde_json::value::RawValue>,
    /// The same, as a decimal string.
    pub amount_string: String,
    /// The network fee, decimal string.
    pub fee: String,
    /// `amount + fee`: what is held, then taken, from the wallet.
    pub total: String,
    /// Whether the requested amount included the fee.
    pub fee_included: bool,
    /// Destination tag or memo.
    pub memo: Option<String>,
    /// `PENDING`, `COMPLETED`, `CANCELLED`, `REJECTED` or `FAILED`.
    pub status: String,
    /// The step (`AWAITING_CONFIRMATION`, `QUEUED`, `BROADCASTING`, `CONFIRMED`) or the reason (`EXPIRED`,
    /// `CANCELLED_BY_USER`, `CHAIN_FAILED`, ...).
    pub sub_status: String,
    /// When the live confirmation code expires (while awaiting confirmation).
    pub code_expires_at: Option<String>,
    /// Chain transaction hash, once sent.
    pub tx_hash: Option<String>,
    /// Sent by the sandbox (the hash is not on any chain).
    pub sandbox: bool,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// When it reached its final status.
    pub completed_at: Option<String>,
    /// Every transition (on the single-withdrawal reads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<WithdrawalEvent>>,
    /// The version of the customer's withdrawal policy that decided it (0: the built-in default).
    pub policy_version: i64,
    /// The policy rule that decided it (`default` when none matched).
    pub policy_rule: Option<String>,
    /// Approvals it needs after the code (0: none).
    pub approvals_required: i64,
    /// While it awaits approval: until when.
    pub approval_expires_at: Option<String>,
    /// The approvers' decisions (on single reads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvals: Option<Vec<WithdrawalApproval>>,
}

/// `GET /sandbox/withdrawals/{id}/code` (sandbox only): the live confirmation code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SandboxWithdrawalCode {
    /// The withdrawal.
    pub withdrawal_id: String,
    /// Six digits.
    pub code: String,
    /// Expiry.
    pub expires_at: String,
}

/// A decimal string (`"12.5"`, as the ledger keeps it) as a JSON number with exactly its digits; `None` if it is not
/// a plain decimal.
pub fn exact_number(decimal: &str) -> Option<Box<serde_json::value::RawValue>> {
    let digits = decimal.strip_prefix('-').unwrap_or(decimal);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
    let plain = !int.is_empty()
        && !frac.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit());
    plain.then(|| serde_json::value::RawValue::from_string(decimal.to_string()).ok()).flatten()
}

/// `POST /sandbox/deposits` (sandbox mode only).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SandboxDepositRequest {
    /// A deposit address issued by Sova.
    pub address: String,
    /// Currency (must be the address's).
    pub currency: String,
    /// Network (must be the address's).
    pub network: String,
    /// Positive decimal string, at most the currency's decimals.
    #[schema(pattern = r"^(0|[1-9][0-9]*)(\.[0-9]+)?$")]
    pub amount: String,
    /// Leave the deposit `PENDING` instead of completing it at once (complete it with
    /// `POST /sandbox/deposits/{deposit_id}/complete`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<bool>,
}

/// A deposit to one of the addresses.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Deposit {
    /// UUID.
    pub deposit_id: String,
    /// The credited wallet.
    pub wallet_id: String,
    /// The receiving address.
    pub address: String,
    /// Upper-case currency.
    pub currency: String,
    /// Network wire name.
    pub network: String,
    /// Decimal string.
    pub amount: String,
    /// `PENDING` (seen, not final yet), `COMPLETED` (credited), `DROPPED` (its block left the chain before it was
    /// final; `PENDING` again if the transaction is mined again) or `REVERSED` (its block left the chain after it
    /// was credited: what the wallet held of it was taken back, the rest is `shortfall`, the wallet is frozen).
    pub status: String,
    /// Transaction hash (a sandbox deposit gets a random one, marked by `sandbox: true`).
    pub tx_hash: String,
    /// `true` for deposits credited through the sandbox endpoint.
    pub sandbox: bool,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// When the deposit was credited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    /// Confirmations counted so far (the block it is in is the first); on-chain deposits only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmations: Option<i64>,
    /// Height of the block it was seen in; on-chain deposits only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_height: Option<i64>,
    /// Hash of that block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_hash: Option<String>,
    /// Output, log or account index within the transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_index: Option<i64>,
    /// After a reversal, what the wallet could not give back (decimal string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortfall: Option<String>,
}

/// A chain watcher's health (`GET /chains`, operators).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChainWatcher {
    /// Network wire name.
    pub network: String,
    /// The node, without credentials.
    pub node: String,
    /// `starting`, `standby` (another replica writes this network), `catching_up`, `following` or `failing`.
    pub state: String,
    /// When deposits are final: `depth:N` or `finalized`.
    pub threshold: String,
    /// The highest block recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_height: Option<i64>,
    /// Its hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_hash: Option<String>,
    /// The node's best block, when last asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_height: Option<i64>,
    /// Blocks the watcher is behind the node.
    pub blocks_behind: i64,
    /// The highest block whose deposits are final.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_height: Option<i64>,
    /// Reorgs handled since start.
    pub reorgs: u64,
    /// Deposits pending on this network.
    pub pending_deposits: i64,
    /// Deposits completed on this network.
    pub completed_deposits: i64,
    /// The last error, while failing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the watcher last heard from its node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ok_at: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::exact_number;

    #[test]
    fn numbers_keep_every_digit() {
        for s in ["0", "100", "0.00000001", "79228162514264337593543950335", "-1.5", "12345678901234567890.12345678"] {
            let n = exact_number(s).map(|n| n.get().to_string());
            assert_eq!(n.as_deref(), Some(s));
        }
        for bad in ["", "1e3", "1.", ".5", " 1", "NaN", "0x10"] {
            assert!(exact_number(bad).is_none(), "{bad}");
        }
    }
}

/// A header sent with every webhook delivery (the vendor's `{key, value}`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookHeader {
    /// Header name: letters, digits, `-`, `_` (not one Sova sets itself).
    pub key: String,
    /// Value (write-only: answers show `***masked***`).
    pub value: String,
}

/// `POST /customers/{customer_id}/webhooks`: the vendor's Configure Webhook (one target per customer; calling
/// again overwrites).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigureWebhookRequest {
    /// Target URL (`https://` or `http://`).
    #[schema(format = "uri", pattern = "^https?://")]
    pub url: String,
    /// Headers sent with every notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<WebhookHeader>>,
}

/// The vendor's Configure Webhook answer, with Sova's endpoint behind it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConfiguredWebhook {
    /// `Webhook configured successfully`.
    pub message: String,
    /// The target.
    pub url: String,
    /// The endpoint this target is (manage it on `/webhook-endpoints`).
    pub endpoint_id: String,
    /// The signing secret (`whsec_...`), shown only when the endpoint is first configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// `POST /customers/{customer_id}/webhook-endpoints`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookEndpointRequest {
    /// Target URL (`https://` or `http://`).
    #[schema(format = "uri", pattern = "^https?://")]
    pub url: String,
    /// Free text (max 255).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 255, pattern = r"\S")]
    pub description: Option<String>,
    /// Event types to receive (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_types: Option<Vec<String>>,
    /// Headers sent with every delivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<WebhookHeader>>,
}

/// `PATCH /customers/{customer_id}/webhook-endpoints/{endpoint_id}`: what is given changes.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookEndpointRequest {
    /// Target URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = "uri", pattern = "^https?://")]
    pub url: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 255, pattern = r"\S")]
    pub description: Option<String>,
    /// Event types (empty: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_types: Option<Vec<String>>,
    /// Headers (replace the list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<WebhookHeader>>,
    /// `false` pauses deliveries; `true` resumes (also after Sova disabled it on a 410).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// A webhook endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookEndpoint {
    /// `ep_...`.
    pub endpoint_id: String,
    /// Owner.
    pub customer_id: String,
    /// Target URL.
    pub url: String,
    /// Free text.
    pub description: Option<String>,
    /// Event types it receives (empty: all).
    pub event_types: Vec<String>,
    /// Headers sent (values masked).
    pub headers: Vec<WebhookHeader>,
    /// `ENABLED` or `DISABLED`.
    pub status: String,
    /// Why it is disabled (e.g. the target answered 410 Gone).
    pub disabled_reason: Option<String>,
    /// `true` for the vendor's `POST /customers/{id}/webhooks` target.
    pub vendor: bool,
    /// The signing secret (`whsec_...`): only in the answers of create and rotate-secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// During a rotation: until when deliveries are signed with the previous secret too.
    pub previous_secret_expires_at: Option<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

/// One delivery of an event to an endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookDelivery {
    /// `dlv_...`.
    pub delivery_id: String,
    /// The event (`webhook-id`).
    pub event_id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// `PENDING`, `SUCCEEDED` or `FAILED`.
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// When the next attempt is due (while `PENDING`).
    pub next_attempt_at: Option<String>,
    /// The last answer's HTTP status.
    pub response_status: Option<i64>,
    /// The start of the last answer's body (1 KiB at most).
    pub response_body: Option<String>,
    /// The last transport error.
    pub error: Option<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

/// `POST .../webhook-endpoints/{endpoint_id}/replay`: send again every event in `[since, until)`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayWebhooksRequest {
    /// RFC 3339 time, inclusive.
    pub since: String,
    /// RFC 3339 time, exclusive (default: now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

/// How many deliveries a redeliver, replay or test queued.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhooksQueued {
    /// Deliveries queued.
    pub queued: usize,
    /// The event, for a test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
}

/// A customer's withdrawal policy as answered: the document and its version.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PolicyView {
    /// Customer.
    pub customer_id: String,
    /// 0 for the built-in default; 1, 2, ... for the versions set.
    pub version: i64,
    /// The document: `rules[]`, `default_action`, `default_approvals`, `address_book_cooling_off_secs`,
    /// `approval_window_secs`.
    pub policy: serde_json::Value,
    /// Who set it.
    pub created_by: Option<String>,
    /// When.
    pub created_at: Option<String>,
}

/// `POST /users/{user_id}/address-book`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAddressBookEntry {
    /// Network wire name.
    pub network: String,
    /// Destination address (checked for the network).
    pub address: String,
    /// Free text (max 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// An entry of a user's address book.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AddressBookEntry {
    /// UUID.
    pub entry_id: String,
    /// User.
    pub user_id: String,
    /// Network.
    pub network: String,
    /// Address.
    pub address: String,
    /// Free text.
    pub label: Option<String>,
    /// When its cooling-off period ends.
    pub usable_at: String,
    /// Whether it counts as in the book now.
    pub usable: bool,
    /// Creation time.
    pub created_at: String,
}

/// `POST /customers/{id}/withdrawals/{id}/reject`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectWithdrawalRequest {
    /// Why (max 255).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One approver's decision.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WithdrawalApproval {
    /// `operator:<id>` or `credential:<id>`.
    pub approver: String,
    /// `APPROVE` or `REJECT`.
    pub decision: String,
    /// A rejection's reason.
    pub reason: Option<String>,
    /// When.
    pub at: String,
}

// ------------------------------------------------------------------------------------------------------------------
// Trading (issue 17): quotes on Sova's own spot book and the orders that take them.

/// A pair a wallet can trade (`GET /trading/pairs`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TradingPair {
    /// `btcusdc`.
    pub pair: String,
    /// Base currency (`btc`).
    pub base: String,
    /// Quote currency (`usdc`).
    pub quote: String,
    /// The smallest base step (`0.0001`): quantities are whole multiples of it.
    pub quantity_step: String,
    /// The smallest price step.
    pub price_step: String,
    /// The taker fee rate (`0.0004`), taken from what the wallet receives.
    pub fee_rate: String,
}

/// `POST /users/{wallet_id}/trading/quotes`: `quantity` (base) or `amount` (quote), not both.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateQuoteRequest {
    /// A pair of `GET /trading/pairs` (`btcusdc`).
    #[schema(min_length = 1, max_length = 32)]
    pub pair: String,
    /// `buy` or `sell` (the base).
    #[schema(pattern = "^(buy|sell)$")]
    pub side: String,
    /// Base quantity: a decimal string (`"0.5"`) or a JSON number, a whole number of the pair's steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "0.01")]
    pub quantity: Option<Box<serde_json::value::RawValue>>,
    /// Quote amount: as many whole steps of the base as it pays for at the book's prices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "500")]
    pub amount: Option<Box<serde_json::value::RawValue>>,
}

/// A quote: this price or better, all or nothing, until `expired_at`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Quote {
    /// Pass it to `POST /users/{wallet_id}/trading/orders`.
    pub quote_id: String,
    /// `btcusdc`.
    pub pair: String,
    /// `buy` or `sell`.
    pub side: String,
    /// Base quantity.
    pub quantity: String,
    /// Quote amount at the quoted price (before the fee).
    pub amount: String,
    /// The average price for the size (on a buy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buy_price: Option<String>,
    /// The average price for the size (on a sell).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sell_price: Option<String>,
    /// The taker fee, in `fee_currency` (rounded up per fill).
    pub fee: String,
    /// What the fee is paid in: what the wallet receives.
    pub fee_currency: String,
    /// Creation time.
    pub created_at: String,
    /// Valid until.
    pub expired_at: String,
}

/// `POST /users/{wallet_id}/trading/orders`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTradeOrderRequest {
    /// A quote of this wallet, not expired and not yet taken.
    #[schema(format = "uuid")]
    pub quote_id: String,
}

/// An order on a quote and its trade, one object.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TradeOrder {
    /// The order's id.
    pub id: String,
    /// The quote it took.
    pub quote_id: String,
    /// The user.
    pub user_id: String,
    /// The wallet.
    pub wallet_id: String,
    /// `btcusdc`.
    pub pair: String,
    /// `buy` or `sell`.
    pub side: String,
    /// `COMPLETED`, `REJECTED` (the book could not fill it: nothing moved) or `PENDING` (being executed).
    pub status: String,
    /// Base quantity traded.
    pub quantity: String,
    /// Quote amount traded (before the fee).
    pub amount: String,
    /// Average price.
    pub price: String,
    /// Fee paid, in `fee_currency`.
    pub fee: String,
    /// The fee's currency.
    pub fee_currency: String,
    /// Why it was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// When it completed or was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
}

// ------------------------------------------------------------------------------------------------------------------
// Transfers between wallets (issue 17).

/// `POST /users/{wallet_id}/transfers`: the vendor's body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTransferRequest {
    /// Another active wallet of the same customer.
    #[schema(format = "uuid")]
    pub destination_wallet_id: String,
    /// `PAYIN` or `PAYOUT`.
    #[serde(rename = "type")]
    #[schema(pattern = "^(PAYIN|PAYOUT)$")]
    pub transfer_type: String,
    /// Why (max 255).
    #[schema(max_length = 255)]
    pub purpose: String,
    /// Free text (max 500).
    #[schema(max_length = 500)]
    pub description: String,
    /// Currency code (`USDC`, case-insensitive).
    #[schema(min_length = 1, max_length = 10)]
    pub currency: String,
    /// At least 0.000001: a decimal string or a JSON number.
    #[schema(value_type = String, example = "25.5")]
    pub amount: Box<serde_json::value::RawValue>,
}

/// `POST .../transfers/{id}/confirm`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmTransferRequest {
    /// The six-digit code sent for the transfer.
    #[schema(min_length = 1, max_length = 16)]
    pub code: String,
}

/// A transfer between two wallets.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Transfer {
    /// Its id.
    pub id: String,
    /// The source wallet.
    pub wallet_id: String,
    /// The destination wallet.
    pub destination_wallet_id: String,
    /// The source wallet's user.
    pub user_id: String,
    /// `PAYIN` or `PAYOUT`.
    #[serde(rename = "type")]
    pub transfer_type: String,
    /// Why.
    pub purpose: String,
    /// Free text.
    pub description: String,
    /// Upper-case currency (`USDC`).
    pub currency: String,
    /// Decimal string.
    pub amount: String,
    /// `PENDING` (held, awaiting the code), `COMPLETED` or `CANCELLED`.
    pub status: String,
    /// When the live code expires (PENDING only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_expires_at: Option<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// When it completed or was cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
}

/// Sandbox only: a transfer's live code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SandboxTransferCode {
    /// The transfer.
    pub transfer_id: String,
    /// Six digits.
    pub code: String,
    /// When it expires.
    pub expires_at: String,
}
