//! EIP-712 signed actions of the exchange surface (seed 002, `spec/exchange-eip712.md`): pure verification, no I/O.
//!
//! # What is signed, byte for byte
//!
//! The rules below come from the vendor's public SDKs (Go `sodex-go-sdk-public`, TypeScript `sodex-ts-sdk`) and
//! their golden vectors, as recorded in `spec/exchange-eip712.md`; the seed document leaves several of them out (the
//! domain version, the type bytes, the header set, the field orders).
//!
//! - **Domains** ([`Domain`], [`Domains`]): `EIP712Domain(string name,string version,uint256 chainId,address
//!   verifyingContract)` with `name` = `spot` | `futures` (perps) | `universal`, `version = "1"`, `chainId` the
//!   deployment's (286623 mainnet, 138565 testnet), `verifyingContract` the zero address, no salt.
//! - **Trading actions** sign `ExchangeAction(bytes32 payloadHash,uint64 nonce)` where `payloadHash =
//!   keccak256({"type":"<action>","params":<params>})`. The SDKs produce `<params>` with Go `json.Marshal` of the
//!   action's struct (or an equivalent canonical serializer): compact, keys in struct field order, decimals as
//!   canonical strings (shopspring `Decimal.String()`: no trailing fractional zeros, no trailing `.`, no exponent,
//!   no `+`, no leading zeros), enums as integers, `omitempty` fields absent when unset, all other fields present
//!   even when zero. They send those very bytes as the HTTP body (Go `json.Marshal(params)`, TS
//!   `canonicalStringify(params)`), so the server hashes the **raw body** ([`payload_hash`]) after checking that it
//!   is exactly that canonical encoding ([`parse_params`]); a body no SDK could produce is refused with the reason
//!   ([`PayloadError::NonCanonicalBody`] shows the canonical body), not left to fail as a bare signature mismatch.
//! - **addAPIKey** signs `AddAPIKey(uint64 accountID,string name,uint8 keyType,bytes publicKey,uint64
//!   expiresAt,uint64 nonce)` in the universal domain (`publicKey` hashed as the 20 raw address bytes, `nonce` =
//!   `X-API-Nonce`). Its body is not hashed, so only its values are checked. **revokeAPIKey** is an
//!   `ExchangeAction` over `{"type":"revokeAPIKey","params":{"accountID":..,"name":..}}` in the universal domain
//!   (or, from older clients, in an engine domain).
//! - **`X-API-Sign`** ([`ApiSignature`]) = `0x` + 66 bytes: type byte (`0x01` engine domains, `0x02` universal;
//!   anything else refused, and it must match the endpoint's domain), r, s, v with v ∈ {0, 1} (27/28 refused, as the
//!   reference server does). Recovery is libsecp256k1's, which accepts high-S (replay is stopped by nonces, not by
//!   signature uniqueness); a recovered zero address is refused.
//! - **`X-API-Key`** is the API key's *name* (absent or `default`: the master wallet signs), **`X-API-Nonce`** the
//!   signed nonce, **`X-API-Chain`** the chain id (must match when present). See [`SignedHeaders::parse`].
//!
//! # Request flow for the server
//!
//! 1. [`Verifier::parse_headers`], then [`check_nonce_window`] (cheap, before any crypto).
//! 2. [`Verifier::verify_action`] or [`Verifier::verify_add_api_key`] (type byte, body, ~50 µs of recovery: run it
//!    off the async reactor).
//! 3. Look up the account's master and, for a named key, the key row; [`authorize`].
//! 4. Atomically per [`NonceScope`]: [`NonceSet::try_insert`]; the nonce stays consumed even if the action is then
//!    refused. For `addAPIKey` / `revokeAPIKey`, [`check_add`] / [`check_revoke`] inside the same transaction.

mod api_keys;
mod eip712;
mod nonce;
mod payload;
mod signature;

use alloy_primitives::{Address, B256};

pub use api_keys::{
    ApiKeyError, ApiKeyRecord, Authorized, MAX_API_KEYS_PER_MASTER, authorize, check_add, check_revoke, is_expired,
};
pub use eip712::{
    AddAPIKey, DOMAIN_VERSION, Domain, Domains, ExchangeAction, MAINNET_CHAIN_ID, SignatureType, TESTNET_CHAIN_ID,
};
pub use nonce::{
    NONCE_FUTURE_WINDOW_MS, NONCE_PAST_WINDOW_MS, NONCE_SET_CAPACITY, NonceError, NonceScope, NonceSet,
    check_nonce_window,
};
pub use payload::{
    Action, AddApiKey, CancelTwapOrder, ClOrdId, Decimal, KeyName, KeyType, MarginMode, OrderModifier, OrderType,
    Params, PayloadError, PerpsCancelItem, PerpsCancelOrder, PerpsModifyOrder, PerpsNewOrder, PerpsNewTwapOrder,
    PerpsOrderItem, PositionSide, ReplaceItem, ReplaceOrder, RevokeApiKey, ScheduleCancel, Side, SignedDecimal,
    SpotBatchCancelOrder, SpotBatchNewOrder, SpotCancelItem, SpotCancelOrder, SpotNewOrder, SpotNewTwapOrder,
    SpotOrderItem, StopType, TREASURY_ACCOUNT_ID, TimeInForce, TransferAsset, TransferType, TriggerType,
    UpdateLeverage, UpdateMargin, is_valid_name, parse_add_api_key, parse_params, payload_hash,
};
pub use signature::{
    ApiSignature, HeaderError, InvalidSecretKey, KeySelector, SIGNATURE_LEN, SignatureError, address_of,
    check_chain_header, parse_key_header, parse_nonce_header, sign_digest,
};

/// Any reason [`Verifier`] refuses a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// `X-API-Key`, `X-API-Nonce`, `X-API-Chain`.
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// `X-API-Sign`.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The body.
    #[error(transparent)]
    Payload(#[from] PayloadError),
}

impl VerifyError {
    /// A stable identifier for the envelope's error code (one per variant of the inner errors).
    pub const fn code(&self) -> &'static str {
        match self {
            VerifyError::Header(e) => e.code(),
            VerifyError::Signature(e) => e.code(),
            VerifyError::Payload(e) => e.code(),
        }
    }
}

/// The signature headers of a request, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `X-API-Sign`.
    pub signature: ApiSignature,
    /// `X-API-Key`.
    pub key: KeySelector,
    /// `X-API-Nonce`.
    pub nonce: u64,
}

impl SignedHeaders {
    /// Parse the four headers (values as received, `None` when absent). `X-API-Chain`, when present, must be
    /// `chain_id`.
    pub fn parse(
        sign: Option<&str>,
        key: Option<&str>,
        nonce: Option<&str>,
        chain: Option<&str>,
        chain_id: u64,
    ) -> Result<SignedHeaders, VerifyError> {
        let signature = ApiSignature::parse(sign.ok_or(SignatureError::Missing)?)?;
        let key = parse_key_header(key)?;
        let nonce = parse_nonce_header(nonce)?;
        check_chain_header(chain, chain_id)?;
        Ok(SignedHeaders { signature, key, nonce })
    }
}

/// A request whose `ExchangeAction` signature verified. Not yet authorized: see [`authorize`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAction {
    /// The domain it was signed in.
    pub domain: Domain,
    /// The action.
    pub action: Action,
    /// Its typed params.
    pub params: Params,
    /// The recovered signer.
    pub signer: Address,
    /// Who the client says signed.
    pub key: KeySelector,
    /// The signed nonce.
    pub nonce: u64,
    /// `keccak256` of the signed payload.
    pub payload_hash: B256,
}

impl VerifiedAction {
    /// Whose nonce set the nonce goes into.
    pub const fn nonce_scope(&self) -> NonceScope {
        NonceScope { signer: self.signer, domain: self.domain }
    }
}

/// An `addAPIKey` request whose signature verified. Not yet authorized: see [`authorize`] and [`check_add`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAddApiKey {
    /// The body.
    pub request: AddApiKey,
    /// The recovered signer (must be the master of `request.account_id`).
    pub signer: Address,
    /// Who the client says signed (must be [`KeySelector::Master`]).
    pub key: KeySelector,
    /// The signed nonce.
    pub nonce: u64,
}

impl VerifiedAddApiKey {
    /// Whose nonce set the nonce goes into (the master's, universal domain).
    pub const fn nonce_scope(&self) -> NonceScope {
        NonceScope { signer: self.signer, domain: Domain::Universal }
    }
}

/// Verifies signed requests for one deployment (chain id). Cheap to clone; share one per server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    domains: Domains,
}

impl Verifier {
    /// For `chain_id` (286623 mainnet, 138565 testnet).
    pub fn new(chain_id: u64) -> Verifier {
        Verifier { domains: Domains::new(chain_id) }
    }

    /// The chain id served.
    pub const fn chain_id(&self) -> u64 {
        self.domains.chain_id()
    }

    /// The domain separators.
    pub const fn domains(&self) -> &Domains {
        &self.domains
    }

    /// [`SignedHeaders::parse`] against this deployment's chain id.
    pub fn parse_headers(
        &self,
        sign: Option<&str>,
        key: Option<&str>,
        nonce: Option<&str>,
        chain: Option<&str>,
    ) -> Result<SignedHeaders, VerifyError> {
        SignedHeaders::parse(sign, key, nonce, chain, self.chain_id())
    }

    /// Verify an `ExchangeAction` request: the type byte against `domain`, the raw `body` (values and canonical
    /// bytes), then recover the signer of `ExchangeAction{keccak256({"type":action,"params":body}), nonce}`.
    pub fn verify_action(
        &self,
        domain: Domain,
        action: Action,
        body: &[u8],
        headers: &SignedHeaders,
    ) -> Result<VerifiedAction, VerifyError> {
        headers.signature.expect_type(domain.signature_type(), domain.name())?;
        let params = parse_params(domain, action, body)?;
        let payload_hash = payload_hash(action, body);
        let digest = self.domains.exchange_action_digest(domain, payload_hash, headers.nonce);
        let signer = headers.signature.recover(&digest)?;
        Ok(VerifiedAction {
            domain,
            action,
            params,
            signer,
            key: headers.key.clone(),
            nonce: headers.nonce,
            payload_hash,
        })
    }

    /// Verify an `addAPIKey` request: type byte 0x02, the body's values, then recover the signer of the
    /// `AddAPIKey` typed data (universal domain) with `X-API-Nonce` as its nonce.
    pub fn verify_add_api_key(&self, body: &[u8], headers: &SignedHeaders) -> Result<VerifiedAddApiKey, VerifyError> {
        headers.signature.expect_type(SignatureType::Universal, Domain::Universal.name())?;
        let request = parse_add_api_key(body)?;
        let digest = self.domains.add_api_key_digest(&add_api_key_message(&request, headers.nonce));
        let signer = headers.signature.recover(&digest)?;
        Ok(VerifiedAddApiKey { request, signer, key: headers.key.clone(), nonce: headers.nonce })
    }

    /// Client side: sign `body` (the canonical params, sent as is) for `action` in `domain`.
    pub fn sign_action(
        &self,
        secret_key: &[u8; 32],
        domain: Domain,
        action: Action,
        body: &[u8],
        nonce: u64,
    ) -> Result<ApiSignature, InvalidSecretKey> {
        let digest = self.domains.exchange_action_digest(domain, payload_hash(action, body), nonce);
        sign_digest(secret_key, &digest, domain.signature_type())
    }

    /// Client side: sign an `addAPIKey` request with the master's key.
    pub fn sign_add_api_key(
        &self,
        secret_key: &[u8; 32],
        request: &AddApiKey,
        nonce: u64,
    ) -> Result<ApiSignature, InvalidSecretKey> {
        let digest = self.domains.add_api_key_digest(&add_api_key_message(request, nonce));
        sign_digest(secret_key, &digest, SignatureType::Universal)
    }
}

/// The `AddAPIKey` typed message of a request body and nonce.
pub fn add_api_key_message(request: &AddApiKey, nonce: u64) -> AddAPIKey {
    let mut m =
        AddAPIKey::evm(request.account_id, request.name.as_str(), request.public_key, request.expires_at, nonce);
    m.keyType = request.key_type.wire();
    m
}
