//! x402 v2 pay-per-call on Solana, scheme `exact` (seed 001, `intel-x402.md`): the wire types, the base64-JSON
//! header codec, offer matching and the payment verification list (steps 1-6) for both payload shapes:
//!
//! * **official sponsor flow** — the payload echoes the offer in `accepted`; the transaction has the server's fee
//!   payer (`extra.feePayer`) in account 0 with its signature slot empty, the client signs only its own slot, and
//!   the instructions are SetComputeUnitLimit, SetComputeUnitPrice, TransferChecked, then only Memo / Lighthouse.
//!   The server adds the fee-payer signature ([`Verified::co_sign`]) and submits.
//! * **seed-document variant** — `{x402Version, scheme, network, payload:{transaction}}` without `accepted`; a fully
//!   signed transaction in which the client pays its own fee and which holds just the TransferChecked.
//!
//! Pure: no I/O and no clock. Steps 7-8 (replay store keyed by [`Verified::message_hash`] and
//! [`Verified::client_signature`], the in-flight lock, simulation, submission) are the server's.
//!
//! Every refusal is an [`X402Error`] whose [`code`](X402Error::code) is the reference implementation's reason
//! string (`@x402/svm` 2.27, e.g. `invalid_exact_svm_payload_amount_mismatch`) and whose `Display` is the message
//! for people (the seed document's texts where it has one: `transfer destination does not match treasury ATA`,
//! `USDC amount N < required M`).

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use sova_chain::solana::{
    self, COMPUTE_BUDGET_PROGRAM_ID, CompiledInstruction, Hash, LIGHTHOUSE_PROGRAM_ID, MEMO_PROGRAM_ID, Pubkey,
    SigningKey, SolanaTxError, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, WireTransaction,
};

/// The protocol version this module speaks.
pub const X402_VERSION: u32 = 2;
/// The only scheme supported.
pub const SCHEME_EXACT: &str = "exact";

/// Solana mainnet (CAIP-2).
pub const SOLANA_MAINNET: &str = "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp";
/// Solana devnet (CAIP-2).
pub const SOLANA_DEVNET: &str = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1";
/// USDC mint on mainnet.
pub const USDC_MAINNET: &str = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";
/// USDC mint on devnet.
pub const USDC_DEVNET: &str = "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU";
/// Decimals of both USDC mints.
pub const USDC_DECIMALS: u8 = 6;

/// Highest compute-unit price a sponsored transaction may set (5 lamports per compute unit).
pub const MAX_COMPUTE_UNIT_PRICE_MICROLAMPORTS: u64 = 5_000_000;
/// Default bound on a transaction's required signers (fee payer, client, one more for a multisig authority).
pub const DEFAULT_MAX_SIGNERS: usize = 3;

/// server -> client on 402: [`PaymentRequired`], base64 JSON.
pub const HEADER_PAYMENT_REQUIRED: &str = "PAYMENT-REQUIRED";
/// client -> server (v2): [`PaymentPayload`], base64 JSON.
pub const HEADER_PAYMENT_SIGNATURE: &str = "PAYMENT-SIGNATURE";
/// client -> server (v1 name, accepted too).
pub const HEADER_X_PAYMENT: &str = "X-PAYMENT";
/// server -> client: [`SettleResponse`], base64 JSON.
pub const HEADER_PAYMENT_RESPONSE: &str = "PAYMENT-RESPONSE";
/// server -> client on success: the base58 transaction signature (seed document).
pub const HEADER_X_PAYMENT_RESPONSE: &str = "X-Payment-Response";

/// Longest payment header accepted before decoding (a transaction is at most 1232 bytes).
pub const MAX_HEADER_LEN: usize = 16 * 1024;

/// `extra` fields that change per 402 and are left out of offer matching.
pub const DYNAMIC_EXTRA_FIELDS: [&str; 2] = ["recentBlockhash", "lastValidBlockHeight"];

/// Reason codes and seed-document texts for steps 7-8, which the server implements.
pub mod reasons {
    /// A payment (message hash or signature) seen before (reference code).
    pub const DUPLICATE_SETTLEMENT: &str = "duplicate_settlement";
    /// The seed document's text for a replay.
    pub const REPLAY_MESSAGE: &str = "transaction already used (replay attack)";
    /// Simulation refused the transaction (reference code).
    pub const SIMULATION_FAILED: &str = "invalid_exact_svm_transaction_simulation_failed";
    /// Submission or confirmation failed (reference code).
    pub const TRANSACTION_FAILED: &str = "invalid_exact_svm_transaction_failed";
    /// The seed document's text for a failed confirmation.
    pub const CONFIRMATION_FAILED_MESSAGE: &str = "transaction confirmation failed";
    /// Submitted, not yet confirmed: resolve it, never charge again (reference code).
    pub const SETTLEMENT_PENDING: &str = "settlement_pending";
    /// No offer matches the payment (the reference's `PaymentRequired.error` text).
    pub const NO_MATCHING_REQUIREMENTS_MESSAGE: &str = "No matching payment requirements";
}

// ---------------------------------------------------------------------------------------------------------------
// Wire types
// ---------------------------------------------------------------------------------------------------------------

/// The resource a 402 is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceInfo {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
}

/// One way to pay (an element of `accepts`, echoed by the client as `accepted`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequirements {
    /// `"exact"`.
    pub scheme: String,
    /// CAIP-2 network id.
    pub network: String,
    /// Atomic units, decimal string (`"15000"` = 0.015 USDC).
    pub amount: String,
    /// Token mint.
    pub asset: String,
    /// The owner wallet that is paid (not its token account: the transfer goes to its associated token account).
    pub pay_to: String,
    pub max_timeout_seconds: u64,
    /// `{feePayer, memo?, recentBlockhash?, lastValidBlockHeight?}`.
    #[serde(default)]
    pub extra: Map<String, Value>,
}

impl PaymentRequirements {
    /// An `exact` offer with `extra.feePayer`.
    pub fn exact(
        network: &str,
        amount: u64,
        asset: &str,
        pay_to: &str,
        max_timeout_seconds: u64,
        fee_payer: &str,
    ) -> Self {
        let mut extra = Map::new();
        extra.insert("feePayer".into(), Value::String(fee_payer.into()));
        Self {
            scheme: SCHEME_EXACT.into(),
            network: network.into(),
            amount: amount.to_string(),
            asset: asset.into(),
            pay_to: pay_to.into(),
            max_timeout_seconds,
            extra,
        }
    }

    /// Sets `extra.memo` (the transaction must then carry exactly this memo).
    pub fn with_memo(mut self, memo: impl Into<String>) -> Self {
        self.extra.insert("memo".into(), Value::String(memo.into()));
        self
    }

    /// Sets `extra.recentBlockhash` and `extra.lastValidBlockHeight` (spares the client an RPC call).
    pub fn with_recent_blockhash(mut self, blockhash: impl Into<String>, last_valid_block_height: u64) -> Self {
        self.extra.insert("recentBlockhash".into(), Value::String(blockhash.into()));
        self.extra.insert("lastValidBlockHeight".into(), Value::from(last_valid_block_height));
        self
    }

    /// `extra.feePayer`, when a string.
    pub fn fee_payer(&self) -> Option<&str> {
        self.extra.get("feePayer").and_then(Value::as_str)
    }

    /// `extra.memo`, when a non-empty string.
    pub fn memo(&self) -> Option<&str> {
        self.extra.get("memo").and_then(Value::as_str).filter(|m| !m.is_empty())
    }
}

/// The 402 answer (header `PAYMENT-REQUIRED` and body).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequired {
    pub x402_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Always set by Sova; optional when decoding (the seed document's example has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceInfo>,
    pub accepts: Vec<PaymentRequirements>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Value>,
}

impl PaymentRequired {
    pub fn new(resource: ResourceInfo, accepts: Vec<PaymentRequirements>) -> Self {
        Self { x402_version: X402_VERSION, error: None, resource: Some(resource), accepts, extensions: None }
    }

    /// Says why the previous payment was refused.
    pub fn with_error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }

    /// The `PAYMENT-REQUIRED` header value.
    pub fn to_header(&self) -> String {
        encode_header(self)
    }
}

/// `payload` of the `exact` scheme on Solana.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExactSvmPayload {
    /// Base64 of the wire transaction.
    pub transaction: String,
}

/// The client's payment (header `PAYMENT-SIGNATURE` or `X-PAYMENT`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentPayload {
    pub x402_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceInfo>,
    /// The offer the client chose, echoed (official flow). Absent in the seed-document variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<PaymentRequirements>,
    pub payload: ExactSvmPayload,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Value>,
    /// Seed-document variant (and v1): the scheme, next to `payload`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// Seed-document variant (and v1): the network, next to `payload`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
}

impl PaymentPayload {
    /// Official v2 payload for `accepted`.
    pub fn v2(accepted: PaymentRequirements, transaction_base64: String, resource: Option<ResourceInfo>) -> Self {
        Self {
            x402_version: X402_VERSION,
            resource,
            accepted: Some(accepted),
            payload: ExactSvmPayload { transaction: transaction_base64 },
            extensions: None,
            scheme: None,
            network: None,
        }
    }

    /// The seed document's shape: `{x402Version: 2, scheme, network, payload: {transaction}}`.
    pub fn seed_variant(network: &str, transaction_base64: String) -> Self {
        Self {
            x402_version: X402_VERSION,
            resource: None,
            accepted: None,
            payload: ExactSvmPayload { transaction: transaction_base64 },
            extensions: None,
            scheme: Some(SCHEME_EXACT.into()),
            network: Some(network.into()),
        }
    }

    /// The header value (base64 JSON).
    pub fn to_header(&self) -> String {
        encode_header(self)
    }
}

/// The settlement outcome (header `PAYMENT-RESPONSE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettleResponse {
    pub success: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<String>,
    /// Base58 transaction signature, or `""` when nothing was submitted.
    pub transaction: String,
    pub network: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
}

impl SettleResponse {
    pub fn success(transaction: String, network: String, payer: String, amount: u64) -> Self {
        Self {
            success: true,
            error_reason: None,
            payer: Some(payer),
            transaction,
            network,
            amount: Some(amount.to_string()),
        }
    }

    /// A failure; `transaction` is the signature when one was submitted (`settlement_pending`), else `""`.
    pub fn failure(error_reason: &str, network: String, payer: Option<String>, transaction: String) -> Self {
        Self { success: false, error_reason: Some(error_reason.into()), payer, transaction, network, amount: None }
    }

    /// The `PAYMENT-RESPONSE` header value.
    pub fn to_header(&self) -> String {
        encode_header(self)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------------

/// Why a payment was refused. [`code`](Self::code) is the reason string for `errorReason` / `invalidReason`;
/// `Display` is the message for `PaymentRequired.error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum X402Error {
    /// The header is not base64 of a JSON payment payload (HTTP 400).
    #[error("malformed payment header: {0}")]
    MalformedHeader(String),
    #[error("unsupported x402Version {0}")]
    UnsupportedVersion(u32),
    #[error("unsupported payment scheme {0:?}; only \"exact\" is accepted")]
    UnsupportedScheme(String),
    #[error("unsupported network {0:?}")]
    UnsupportedNetwork(String),
    #[error("payment network {got} does not match the offered {expected}")]
    NetworkMismatch { expected: String, got: String },
    /// `accepted` is none of the offers (amount, asset, payTo, maxTimeoutSeconds or `extra` differ).
    #[error("No matching payment requirements")]
    NoMatchingRequirements,
    /// The server's own offer is unusable (a configuration error).
    #[error("invalid payment requirements: {0}")]
    InvalidOffer(String),
    #[error("the offer names no extra.feePayer")]
    MissingFeePayer,
    #[error("fee payer {0} is not one of this server's fee payers")]
    FeePayerNotManaged(String),
    #[error("transaction could not be decoded: {0}")]
    TransactionDecode(String),
    #[error("transaction uses address lookup tables, which are not resolved here")]
    AddressTableLookups,
    #[error("transaction requires {count} signers, at most {max} are allowed")]
    ExcessiveSigners { count: usize, max: usize },
    /// Official flow: account 0 is not `extra.feePayer`; seed variant: account 0 is a server fee payer.
    #[error("transaction fee payer {got} is not {expected}")]
    FeePayerMismatch { expected: String, got: String },
    #[error("{0}")]
    SignatureInvalid(String),
    #[error("transaction has {count} instructions, expected {expected}")]
    InstructionsLength { count: usize, expected: &'static str },
    #[error("instruction 1 must be ComputeBudget SetComputeUnitLimit")]
    ComputeLimitInstruction,
    #[error("compute unit limit {units} is above {max}")]
    ComputeLimitTooHigh { units: u32, max: u32 },
    #[error("instruction 2 must be ComputeBudget SetComputeUnitPrice")]
    ComputePriceInstruction,
    #[error("compute unit price {price} micro-lamports is above {max}")]
    ComputePriceTooHigh { price: u64, max: u64 },
    #[error("no SPL Token / Token-2022 TransferChecked instruction where one is required")]
    NoTransferInstruction,
    /// `position` is the 0-based instruction index (3 = the fourth instruction).
    #[error("instruction {} invokes {program}; only Memo and Lighthouse may follow the transfer", .position + 1)]
    UnknownOptionalInstruction { position: usize, program: String },
    #[error("expected exactly one Memo instruction, found {0}")]
    MemoCount(usize),
    #[error("memo does not match the offer's extra.memo")]
    MemoMismatch,
    #[error("transfer mint {got} is not the offered asset {expected}")]
    MintMismatch { expected: String, got: String },
    #[error("transfer says {got} decimals, the mint has {expected}")]
    DecimalsMismatch { expected: u8, got: u8 },
    #[error("transfer destination does not match treasury ATA")]
    RecipientMismatch { expected: String, got: String },
    #[error("USDC amount {amount} {} required {required}", comparison(.amount, .required))]
    AmountMismatch { amount: u64, required: u64 },
    #[error("the transfer authority is a server fee payer")]
    FeePayerTransferringFunds,
    #[error("a server fee payer appears in an instruction's accounts")]
    FeePayerInInstructionAccounts,
    /// Co-signing failed (wrong fee-payer key for the transaction).
    #[error("could not co-sign the transaction: {0}")]
    CoSign(String),
}

fn comparison(amount: &u64, required: &u64) -> &'static str {
    if amount < required { "<" } else { ">" }
}

impl X402Error {
    /// The reason code (`@x402/svm` 2.27 names; `invalid_payload`, `invalid_x402_version`, `invalid_network` and
    /// `invalid_payment_requirements` are the x402 v2 protocol's generic codes).
    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedHeader(_) => "invalid_payload",
            Self::UnsupportedVersion(_) => "invalid_x402_version",
            Self::UnsupportedScheme(_) => "invalid_exact_svm_unsupported_scheme",
            Self::UnsupportedNetwork(_) => "invalid_network",
            Self::NetworkMismatch { .. } => "invalid_exact_svm_network_mismatch",
            Self::NoMatchingRequirements | Self::InvalidOffer(_) => "invalid_payment_requirements",
            Self::MissingFeePayer => "invalid_exact_svm_payload_missing_fee_payer",
            Self::FeePayerNotManaged(_) => "invalid_exact_svm_fee_payer_not_managed_by_facilitator",
            Self::TransactionDecode(_) => "invalid_exact_svm_payload_transaction_could_not_be_decoded",
            Self::AddressTableLookups => "invalid_exact_svm_smart_wallet_alt_resolution_not_available",
            Self::ExcessiveSigners { .. } => "invalid_exact_svm_payload_excessive_signers",
            Self::FeePayerMismatch { .. } => "invalid_exact_svm_fee_payer_mismatch",
            Self::SignatureInvalid(_) => "invalid_exact_svm_payload_signature_invalid",
            Self::InstructionsLength { .. } => "invalid_exact_svm_payload_transaction_instructions_length",
            Self::ComputeLimitInstruction => {
                "invalid_exact_svm_payload_transaction_instructions_compute_limit_instruction"
            }
            Self::ComputeLimitTooHigh { .. } => {
                "invalid_exact_svm_payload_transaction_instructions_compute_limit_instruction_too_high"
            }
            Self::ComputePriceInstruction => {
                "invalid_exact_svm_payload_transaction_instructions_compute_price_instruction"
            }
            Self::ComputePriceTooHigh { .. } => {
                "invalid_exact_svm_payload_transaction_instructions_compute_price_instruction_too_high"
            }
            Self::NoTransferInstruction => "invalid_exact_svm_payload_no_transfer_instruction",
            Self::UnknownOptionalInstruction { position, .. } => match position {
                3 => "invalid_exact_svm_payload_unknown_fourth_instruction",
                4 => "invalid_exact_svm_payload_unknown_fifth_instruction",
                5 => "invalid_exact_svm_payload_unknown_sixth_instruction",
                6 => "invalid_exact_svm_payload_unknown_seventh_instruction",
                _ => "invalid_exact_svm_payload_unknown_optional_instruction",
            },
            Self::MemoCount(_) => "invalid_exact_svm_payload_memo_count",
            Self::MemoMismatch => "invalid_exact_svm_payload_memo_mismatch",
            Self::MintMismatch { .. } => "invalid_exact_svm_payload_mint_mismatch",
            // Not in the reference (its simulation catches it); named in its style.
            Self::DecimalsMismatch { .. } => "invalid_exact_svm_payload_decimals_mismatch",
            Self::RecipientMismatch { .. } => "invalid_exact_svm_payload_recipient_mismatch",
            Self::AmountMismatch { .. } => "invalid_exact_svm_payload_amount_mismatch",
            Self::FeePayerTransferringFunds => "invalid_exact_svm_payload_transaction_fee_payer_transferring_funds",
            // Coinbase's hosted facilitator's name for the spec's "fee payer MUST NOT appear in the accounts".
            Self::FeePayerInInstructionAccounts => {
                "invalid_exact_svm_payload_transaction_fee_payer_included_in_instruction_accounts"
            }
            Self::CoSign(_) => "invalid_exact_svm_transaction_failed",
        }
    }

    /// Whether the header itself is unusable (HTTP 400) rather than the payment refused (HTTP 402).
    pub fn is_malformed(&self) -> bool {
        matches!(self, Self::MalformedHeader(_))
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Header codec
// ---------------------------------------------------------------------------------------------------------------

const LENIENT_STANDARD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Base64 (standard alphabet, padding optional; the URL-safe alphabet is accepted too).
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    LENIENT_STANDARD.decode(s).or_else(|_| LENIENT_URL_SAFE.decode(s)).ok()
}

/// Base64 (standard, padded) of the JSON of `value`: a `PAYMENT-*` header value.
pub fn encode_header<T: Serialize>(value: &T) -> String {
    // Serializing these types cannot fail (string keys, no non-finite floats).
    base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(value).unwrap_or_default())
}

/// Decodes a base64-JSON header value (any of the `PAYMENT-*` headers).
pub fn decode_header<T: DeserializeOwned>(value: &str) -> Result<T, X402Error> {
    if value.len() > MAX_HEADER_LEN {
        return Err(X402Error::MalformedHeader(format!("longer than {MAX_HEADER_LEN} bytes")));
    }
    let json = base64_decode(value).ok_or_else(|| X402Error::MalformedHeader("not base64".into()))?;
    serde_json::from_slice(&json).map_err(|e| X402Error::MalformedHeader(format!("not a payment object: {e}")))
}

/// Decodes the value of `PAYMENT-SIGNATURE` (or the v1 `X-PAYMENT`): base64 of a [`PaymentPayload`] that either
/// echoes an offer in `accepted` or, in the seed-document shape, names `scheme` and `network`.
pub fn decode_payment_header(value: &str) -> Result<PaymentPayload, X402Error> {
    let payload: PaymentPayload = decode_header(value)?;
    check_version(&payload)?;
    if payload.accepted.is_none() && (payload.scheme.is_none() || payload.network.is_none()) {
        return Err(X402Error::MalformedHeader("needs `accepted`, or `scheme` and `network`".into()));
    }
    Ok(payload)
}

fn check_version(payload: &PaymentPayload) -> Result<(), X402Error> {
    // v2 with `accepted`; the seed shape (no `accepted`) also as v1, which has the same fields.
    match (payload.x402_version, &payload.accepted) {
        (2, _) | (1, None) => Ok(()),
        (v, _) => Err(X402Error::UnsupportedVersion(v)),
    }
}

/// The CAIP-2 id of a supported Solana network, also from its v1 name (`solana`, `solana-devnet`).
pub fn normalize_network(network: &str) -> Option<&'static str> {
    match network {
        SOLANA_MAINNET | "solana" => Some(SOLANA_MAINNET),
        SOLANA_DEVNET | "solana-devnet" => Some(SOLANA_DEVNET),
        _ => None,
    }
}

/// The USDC mint of a supported network.
pub fn usdc_mint(network: &str) -> Option<&'static str> {
    match normalize_network(network)? {
        SOLANA_MAINNET => Some(USDC_MAINNET),
        _ => Some(USDC_DEVNET),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Offer matching
// ---------------------------------------------------------------------------------------------------------------

/// Whether `accepted` is `offer`: scheme, network, amount, asset, payTo and maxTimeoutSeconds equal, and the offer's
/// `extra` a subset of `accepted.extra` (recursively for objects), ignoring [`DYNAMIC_EXTRA_FIELDS`].
pub fn offer_matches(offer: &PaymentRequirements, accepted: &PaymentRequirements) -> bool {
    offer.scheme == accepted.scheme
        && offer.network == accepted.network
        && offer.amount == accepted.amount
        && offer.asset == accepted.asset
        && offer.pay_to == accepted.pay_to
        && offer.max_timeout_seconds == accepted.max_timeout_seconds
        && offer
            .extra
            .iter()
            .filter(|(k, _)| !DYNAMIC_EXTRA_FIELDS.contains(&k.as_str()))
            .all(|(k, v)| accepted.extra.get(k).is_some_and(|a| json_subset(v, a)))
}

fn json_subset(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e.iter().all(|(k, v)| a.get(k).is_some_and(|av| json_subset(v, av))),
        _ => expected == actual,
    }
}

/// The offer `accepted` echoes (index and offer), or why none does: scheme, then network, then the rest.
pub fn match_offer<'a>(
    accepted: &PaymentRequirements,
    offers: &'a [PaymentRequirements],
) -> Result<(usize, &'a PaymentRequirements), X402Error> {
    if let Some(found) = offers.iter().enumerate().find(|(_, o)| offer_matches(o, accepted)) {
        return Ok(found);
    }
    check_scheme_and_network(&accepted.scheme, &accepted.network, offers)?;
    Err(X402Error::NoMatchingRequirements)
}

/// Step 1's scheme and network rules against the offers; returns the CAIP-2 network id.
fn check_scheme_and_network(
    scheme: &str,
    network: &str,
    offers: &[PaymentRequirements],
) -> Result<&'static str, X402Error> {
    if scheme != SCHEME_EXACT || !offers.iter().any(|o| o.scheme == scheme) {
        return Err(X402Error::UnsupportedScheme(scheme.into()));
    }
    let caip2 = normalize_network(network).ok_or_else(|| X402Error::UnsupportedNetwork(network.into()))?;
    if !offers.iter().any(|o| o.scheme == scheme && o.network == caip2) {
        let expected = offers.iter().find(|o| o.scheme == scheme).map(|o| o.network.clone()).unwrap_or_default();
        return Err(X402Error::NetworkMismatch { expected, got: network.into() });
    }
    Ok(caip2)
}

// ---------------------------------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------------------------------

/// What the server allows; build with [`VerifyPolicy::new`].
#[derive(Debug, Clone)]
pub struct VerifyPolicy {
    /// The server's fee-payer keys (an official offer's `extra.feePayer` must be one of them).
    pub fee_payers: Vec<Pubkey>,
    /// Most required signers a transaction may have (default [`DEFAULT_MAX_SIGNERS`]).
    pub max_signers: usize,
    /// Highest SetComputeUnitPrice (default [`MAX_COMPUTE_UNIT_PRICE_MICROLAMPORTS`]).
    pub max_compute_unit_price: u64,
    /// Highest SetComputeUnitLimit, if bounded (default: not bounded, as the reference).
    pub max_compute_units: Option<u32>,
    /// Known mint decimals: a TransferChecked with other decimals is refused (default: both USDC mints, 6).
    pub mint_decimals: Vec<(Pubkey, u8)>,
    /// Precomputed `(owner, mint, token program) -> ATA` (see [`with_destination`](Self::with_destination)).
    known_atas: Vec<([Pubkey; 3], Pubkey)>,
}

impl VerifyPolicy {
    pub fn new(fee_payers: impl IntoIterator<Item = Pubkey>) -> Self {
        let usdc = [USDC_MAINNET, USDC_DEVNET]
            .iter()
            .filter_map(|m| solana::parse_pubkey(m).ok())
            .map(|m| (m, USDC_DECIMALS))
            .collect();
        Self {
            fee_payers: fee_payers.into_iter().collect(),
            max_signers: DEFAULT_MAX_SIGNERS,
            max_compute_unit_price: MAX_COMPUTE_UNIT_PRICE_MICROLAMPORTS,
            max_compute_units: None,
            mint_decimals: usdc,
            known_atas: Vec::new(),
        }
    }

    /// Precomputes the associated token accounts of `pay_to` for `mint` under Token and Token-2022, so verifying a
    /// payment to it skips `find_program_address` (a few curve checks).
    pub fn with_destination(mut self, pay_to: &Pubkey, mint: &Pubkey) -> Self {
        for program in [TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID] {
            let ata = solana::associated_token_address(pay_to, mint, &program);
            self.known_atas.push(([*pay_to, *mint, program], ata));
        }
        self
    }

    /// The associated token account of `(owner, mint, token_program)`.
    pub fn associated_token_address(&self, owner: &Pubkey, mint: &Pubkey, token_program: &Pubkey) -> Pubkey {
        let key = [*owner, *mint, *token_program];
        self.known_atas
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, ata)| *ata)
            .unwrap_or_else(|| solana::associated_token_address(owner, mint, token_program))
    }

    fn decimals_of(&self, mint: &Pubkey) -> Option<u8> {
        self.mint_decimals.iter().find(|(m, _)| m == mint).map(|(_, d)| *d)
    }

    fn is_fee_payer(&self, key: &Pubkey) -> bool {
        self.fee_payers.contains(key)
    }
}

/// Which payload shape was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentFlow {
    /// Official: the server pays the fee and must co-sign slot 0.
    Sponsored,
    /// Seed-document variant: the client paid its own fee; the transaction is complete.
    ClientPaid,
}

/// A payment that passed steps 1-6.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub flow: PaymentFlow,
    /// Index into the offers passed to [`verify_payment`].
    pub offer_index: usize,
    /// CAIP-2 network id.
    pub network: String,
    /// The transfer authority (the paying wallet).
    pub payer: Pubkey,
    /// Atomic units transferred (equal to the offer's amount).
    pub amount: u64,
    pub mint: Pubkey,
    /// The token account paid (the ATA of `payTo`).
    pub destination: Pubkey,
    /// Token or Token-2022.
    pub token_program: Pubkey,
    /// Account 0 (the server's key in the sponsored flow, the client in the seed variant).
    pub fee_payer: Pubkey,
    /// sha256 of the message bytes: the replay key that no signature change alters.
    pub message_hash: [u8; 32],
    /// Base58 of the client's signature: the first non-fee-payer signature (sponsored) or signature 0 (seed variant).
    pub client_signature: String,
    /// Whether the server must sign slot 0 as fee payer before submitting.
    pub needs_fee_payer_signature: bool,
    pub recent_blockhash: Hash,
    /// The transaction as received (see [`WireTransaction::as_bytes`]).
    pub transaction: WireTransaction,
}

/// A transaction ready to submit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoSigned {
    /// Wire bytes (base64 them for `sendTransaction`).
    pub transaction: Vec<u8>,
    /// Base58 of signature 0: the transaction id on chain (`X-Payment-Response`, `getSignatureStatuses`).
    pub signature: String,
}

impl Verified {
    /// The transaction bytes as received.
    pub fn transaction_bytes(&self) -> &[u8] {
        self.transaction.as_bytes()
    }

    /// Hex of [`message_hash`](Self::message_hash).
    pub fn message_hash_hex(&self) -> String {
        hex::encode(self.message_hash)
    }

    /// The transaction id when it is already known (seed variant: signature 0); `None` until co-signed.
    pub fn transaction_signature(&self) -> Option<String> {
        (!self.needs_fee_payer_signature).then(|| self.transaction.signature_base58(0)).flatten()
    }

    /// The transaction to submit: sponsored flow, with `fee_payer_key`'s signature in slot 0 (the key must be
    /// [`fee_payer`](Self::fee_payer)); seed variant, unchanged (the key is not used).
    pub fn co_sign(&self, fee_payer_key: &SigningKey) -> Result<CoSigned, X402Error> {
        let mut tx = self.transaction.clone();
        if self.needs_fee_payer_signature {
            tx.sign(0, fee_payer_key).map_err(|e| X402Error::CoSign(e.to_string()))?;
        }
        let signature = tx.signature_base58(0).unwrap_or_default();
        Ok(CoSigned { transaction: tx.into_bytes(), signature })
    }
}

/// Signs slot 0 of serialized `transaction` with the fee-payer key (for a server that kept only the bytes).
pub fn co_sign_transaction(transaction: &[u8], fee_payer_key: &SigningKey) -> Result<CoSigned, X402Error> {
    let mut tx = WireTransaction::decode(transaction).map_err(|e| X402Error::TransactionDecode(e.to_string()))?;
    tx.sign(0, fee_payer_key).map_err(|e| X402Error::CoSign(e.to_string()))?;
    let signature = tx.signature_base58(0).unwrap_or_default();
    Ok(CoSigned { transaction: tx.into_bytes(), signature })
}

/// [`decode_payment_header`] then [`verify_payment`].
pub fn verify_payment_header(
    header_value: &str,
    offers: &[PaymentRequirements],
    policy: &VerifyPolicy,
) -> Result<Verified, X402Error> {
    verify_payment(&decode_payment_header(header_value)?, offers, policy)
}

/// Steps 1-6 of `intel-x402.md` for `payload` against the server's current `offers` (the `accepts` of its 402).
/// With `accepted`: the official sponsored flow. Without: the seed-document variant.
pub fn verify_payment(
    payload: &PaymentPayload,
    offers: &[PaymentRequirements],
    policy: &VerifyPolicy,
) -> Result<Verified, X402Error> {
    check_version(payload)?;
    match &payload.accepted {
        Some(accepted) => verify_sponsored(payload, accepted, offers, policy),
        None => verify_client_paid(payload, offers, policy),
    }
}

fn verify_sponsored(
    payload: &PaymentPayload,
    accepted: &PaymentRequirements,
    offers: &[PaymentRequirements],
    policy: &VerifyPolicy,
) -> Result<Verified, X402Error> {
    // 1. Scheme and network supported and equal to an offer; the offer's fee payer is ours.
    let (offer_index, offer) = match_offer(accepted, offers)?;
    let fee_payer_text = offer.fee_payer().ok_or(X402Error::MissingFeePayer)?;
    let fee_payer = solana::parse_pubkey(fee_payer_text)
        .ok()
        .filter(|k| policy.is_fee_payer(k))
        .ok_or_else(|| X402Error::FeePayerNotManaged(fee_payer_text.into()))?;

    // 2. Decode; no lookup tables; few signers.
    let tx = decode_transaction(&payload.payload.transaction, policy)?;

    // 3. Account 0 is the fee payer; every other required signer signed the message.
    let account0 = tx.fee_payer().copied().unwrap_or_default();
    if account0 != fee_payer {
        return Err(X402Error::FeePayerMismatch { expected: fee_payer.to_string(), got: account0.to_string() });
    }
    tx.verify_signatures(true).map_err(signature_error)?;

    // 4. ComputeLimit, ComputePrice, TransferChecked, then only Memo / Lighthouse.
    check_sponsored_layout(&tx, policy)?;

    // 5. The offer's memo, exactly once.
    if let Some(memo) = offer.memo() {
        check_memo(&tx, memo)?;
    }

    // 6. The transfer.
    let transfer = check_transfer(&tx, 2, offer, policy)?;
    let client_signature = tx.signature_base58(1).unwrap_or_default();
    Ok(verified(PaymentFlow::Sponsored, offer_index, offer, transfer, client_signature, tx))
}

fn verify_client_paid(
    payload: &PaymentPayload,
    offers: &[PaymentRequirements],
    policy: &VerifyPolicy,
) -> Result<Verified, X402Error> {
    // 1. Scheme and network (next to `payload` in this shape) supported and equal to an offer's.
    let scheme = payload.scheme.as_deref().unwrap_or_default();
    let network = check_scheme_and_network(scheme, payload.network.as_deref().unwrap_or_default(), offers)?;
    let (offer_index, offer) = offers
        .iter()
        .enumerate()
        .find(|(_, o)| o.scheme == scheme && o.network == network)
        .ok_or(X402Error::NoMatchingRequirements)?;

    // 2. Decode; no lookup tables; few signers.
    let tx = decode_transaction(&payload.payload.transaction, policy)?;

    // 3. The client pays its own fee (account 0 is not ours) and every required signer signed.
    let account0 = tx.fee_payer().copied().unwrap_or_default();
    if policy.is_fee_payer(&account0) {
        return Err(X402Error::FeePayerMismatch { expected: "the paying client".into(), got: account0.to_string() });
    }
    tx.verify_signatures(false).map_err(signature_error)?;

    // 4. Just the TransferChecked (5: no memo in this shape).
    if tx.instructions().len() != 1 {
        return Err(X402Error::InstructionsLength { count: tx.instructions().len(), expected: "1" });
    }

    // 6. The transfer.
    let transfer = check_transfer(&tx, 0, offer, policy)?;
    let client_signature = tx.signature_base58(0).unwrap_or_default();
    Ok(verified(PaymentFlow::ClientPaid, offer_index, offer, transfer, client_signature, tx))
}

fn verified(
    flow: PaymentFlow,
    offer_index: usize,
    offer: &PaymentRequirements,
    transfer: Transfer,
    client_signature: String,
    tx: WireTransaction,
) -> Verified {
    Verified {
        flow,
        offer_index,
        network: offer.network.clone(),
        payer: transfer.authority,
        amount: transfer.amount,
        mint: transfer.mint,
        destination: transfer.destination,
        token_program: transfer.program,
        fee_payer: tx.fee_payer().copied().unwrap_or_default(),
        message_hash: Sha256::digest(tx.message_bytes()).into(),
        client_signature,
        needs_fee_payer_signature: flow == PaymentFlow::Sponsored,
        recent_blockhash: *tx.recent_blockhash(),
        transaction: tx,
    }
}

/// Largest base64 text of a [`solana::PACKET_DATA_SIZE`]-byte transaction.
const MAX_TRANSACTION_BASE64: usize = solana::PACKET_DATA_SIZE.div_ceil(3) * 4;

fn decode_transaction(base64_tx: &str, policy: &VerifyPolicy) -> Result<WireTransaction, X402Error> {
    if base64_tx.trim().len() > MAX_TRANSACTION_BASE64 {
        return Err(X402Error::TransactionDecode(SolanaTxError::TooLarge(base64_tx.len() * 3 / 4).to_string()));
    }
    let bytes = base64_decode(base64_tx).ok_or_else(|| X402Error::TransactionDecode("not base64".into()))?;
    let tx = WireTransaction::decode(&bytes).map_err(|e| X402Error::TransactionDecode(e.to_string()))?;
    if !tx.address_table_lookups().is_empty() {
        return Err(X402Error::AddressTableLookups);
    }
    if tx.num_required_signatures() > policy.max_signers {
        return Err(X402Error::ExcessiveSigners { count: tx.num_required_signatures(), max: policy.max_signers });
    }
    Ok(tx)
}

fn signature_error(e: SolanaTxError) -> X402Error {
    X402Error::SignatureInvalid(e.to_string())
}

fn program_is(tx: &WireTransaction, ix: &CompiledInstruction, program: &Pubkey) -> bool {
    tx.program_id(ix) == Some(program)
}

fn check_sponsored_layout(tx: &WireTransaction, policy: &VerifyPolicy) -> Result<(), X402Error> {
    let ixs = tx.instructions();
    if !(3..=7).contains(&ixs.len()) {
        return Err(X402Error::InstructionsLength { count: ixs.len(), expected: "3 to 7" });
    }

    // SetComputeUnitLimit: 02 + u32 units.
    let limit = &ixs[0];
    let units = match limit.data.as_slice() {
        [2, rest @ ..] if program_is(tx, limit, &COMPUTE_BUDGET_PROGRAM_ID) => {
            <[u8; 4]>::try_from(rest).map(u32::from_le_bytes).map_err(|_| X402Error::ComputeLimitInstruction)?
        }
        _ => return Err(X402Error::ComputeLimitInstruction),
    };
    if let Some(max) = policy.max_compute_units.filter(|max| units > *max) {
        return Err(X402Error::ComputeLimitTooHigh { units, max });
    }

    // SetComputeUnitPrice: 03 + u64 micro-lamports.
    let price_ix = &ixs[1];
    let price = match price_ix.data.as_slice() {
        [3, rest @ ..] if program_is(tx, price_ix, &COMPUTE_BUDGET_PROGRAM_ID) => {
            <[u8; 8]>::try_from(rest).map(u64::from_le_bytes).map_err(|_| X402Error::ComputePriceInstruction)?
        }
        _ => return Err(X402Error::ComputePriceInstruction),
    };
    if price > policy.max_compute_unit_price {
        return Err(X402Error::ComputePriceTooHigh { price, max: policy.max_compute_unit_price });
    }

    // TransferChecked under Token or Token-2022 (its fields are step 6).
    transfer_parts(tx, &ixs[2])?;

    for (position, ix) in ixs.iter().enumerate().skip(3) {
        let program = tx.program_id(ix).copied().unwrap_or_default();
        if program != MEMO_PROGRAM_ID && program != LIGHTHOUSE_PROGRAM_ID {
            return Err(X402Error::UnknownOptionalInstruction { position, program: program.to_string() });
        }
    }
    Ok(())
}

fn check_memo(tx: &WireTransaction, memo: &str) -> Result<(), X402Error> {
    let memos: Vec<&CompiledInstruction> =
        tx.instructions().iter().skip(3).filter(|ix| program_is(tx, ix, &MEMO_PROGRAM_ID)).collect();
    match memos.as_slice() {
        [only] if only.data == memo.as_bytes() => Ok(()),
        [_] => Err(X402Error::MemoMismatch),
        other => Err(X402Error::MemoCount(other.len())),
    }
}

/// The decoded TransferChecked.
struct Transfer {
    program: Pubkey,
    mint: Pubkey,
    destination: Pubkey,
    authority: Pubkey,
    amount: u64,
}

/// TransferChecked: program Token or Token-2022, data `0c` + u64 amount + u8 decimals, accounts
/// `[source, mint, destination, authority, multisig signers...]`. Returns the parts and the decimals.
fn transfer_parts(tx: &WireTransaction, ix: &CompiledInstruction) -> Result<(Transfer, u8), X402Error> {
    let program = tx.program_id(ix).copied().ok_or(X402Error::NoTransferInstruction)?;
    if program != TOKEN_PROGRAM_ID && program != TOKEN_2022_PROGRAM_ID {
        return Err(X402Error::NoTransferInstruction);
    }
    let (amount, decimals) = match ix.data.as_slice() {
        [12, a0, a1, a2, a3, a4, a5, a6, a7, decimals, ..] => {
            (u64::from_le_bytes([*a0, *a1, *a2, *a3, *a4, *a5, *a6, *a7]), *decimals)
        }
        _ => return Err(X402Error::NoTransferInstruction),
    };
    let account = |i| tx.instruction_account(ix, i).copied().ok_or(X402Error::NoTransferInstruction);
    let transfer = Transfer { program, mint: account(1)?, destination: account(2)?, authority: account(3)?, amount };
    account(0)?;
    Ok((transfer, decimals))
}

fn check_transfer(
    tx: &WireTransaction,
    index: usize,
    offer: &PaymentRequirements,
    policy: &VerifyPolicy,
) -> Result<Transfer, X402Error> {
    let ix = tx.instructions().get(index).ok_or(X402Error::NoTransferInstruction)?;
    let (transfer, decimals) = transfer_parts(tx, ix)?;

    // mint == asset (with the mint's decimals, when known).
    let asset = solana::parse_pubkey(&offer.asset).map_err(|e| X402Error::InvalidOffer(format!("asset: {e}")))?;
    if transfer.mint != asset {
        return Err(X402Error::MintMismatch { expected: offer.asset.clone(), got: transfer.mint.to_string() });
    }
    if let Some(expected) = policy.decimals_of(&asset).filter(|d| *d != decimals) {
        return Err(X402Error::DecimalsMismatch { expected, got: decimals });
    }

    // destination == ATA(payTo, token program, mint).
    let pay_to = solana::parse_pubkey(&offer.pay_to).map_err(|e| X402Error::InvalidOffer(format!("payTo: {e}")))?;
    let expected = policy.associated_token_address(&pay_to, &asset, &transfer.program);
    if transfer.destination != expected {
        return Err(X402Error::RecipientMismatch {
            expected: expected.to_string(),
            got: transfer.destination.to_string(),
        });
    }

    // amount == required.
    let required: u64 =
        offer.amount.parse().map_err(|_| X402Error::InvalidOffer(format!("amount {:?}", offer.amount)))?;
    if transfer.amount != required {
        return Err(X402Error::AmountMismatch { amount: transfer.amount, required });
    }

    // The authority is not a fee payer of ours, and it (or, for a multisig, each listed signer) signed.
    if policy.is_fee_payer(&transfer.authority) {
        return Err(X402Error::FeePayerTransferringFunds);
    }
    let signer_positions = if ix.accounts.len() > 4 { 4..ix.accounts.len() } else { 3..4 };
    for position in signer_positions {
        let index = ix.accounts.get(position).copied().map(usize::from).unwrap_or(usize::MAX);
        if !tx.is_signer(index) {
            let key = tx.instruction_account(ix, position).copied().unwrap_or_default();
            return Err(X402Error::SignatureInvalid(format!("transfer authority {key} did not sign")));
        }
    }

    // No fee payer of ours in any instruction's accounts (or invoked as a program): no sponsor drain.
    for ix in tx.instructions() {
        let keys = ix.accounts.iter().chain(std::iter::once(&ix.program_id_index));
        if keys.filter_map(|i| tx.account_keys().get(usize::from(*i))).any(|k| policy.is_fee_payer(k)) {
            return Err(X402Error::FeePayerInInstructionAccounts);
        }
    }
    Ok(transfer)
}
