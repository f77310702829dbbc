//! SIWX onboarding (`/siwx/v1`, seed 003) and the tenant's RFC 9421 signing keys (`/sovx/v1/customers/{id}/signing-keys`).
//!
//! The seed's request bodies are camelCase (`chainId`, `externalId`, `ownerId`), so every SIWX body is too. Request
//! bodies reject unknown fields.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /siwx/v1/customers`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSiwxCustomerRequest {
    /// The customer's on-chain account as a CAIP-10 id (`namespace:reference:address`), despite the name, e.g.
    /// `eip155:1:0xab16a96D359eC26a11e2C2b3d8f8B8942d5Bfcdb` or `solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp:<base58>`.
    #[schema(pattern = r"^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}:[-.%a-zA-Z0-9]{1,128}$")]
    pub chain_id: String,
    /// The customer's id in the tenant's system; unique per tenant (1 to 128 printable characters).
    #[schema(min_length = 1, max_length = 128, pattern = r"^[^\u0000-\u001f\u007f]+$")]
    pub external_id: String,
}

/// `POST /siwx/v1/customers/{customerId}/challenge/sign`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignChallengeRequest {
    /// The CAIP-10 account that signed (must be the customer's).
    #[schema(pattern = r"^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}:[-.%a-zA-Z0-9]{1,128}$")]
    pub owner_id: String,
    /// The challenge exactly as issued (Base64).
    pub challenge: String,
    /// The signature: Base64 of the raw bytes, or `0x` hex (EIP-191 `r|s|v`; ed25519 for Solana; contract-wallet
    /// signatures of any length when an RPC URL is configured for the chain).
    pub signature: String,
}

/// A SIWX customer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SiwxCustomer {
    /// UUID.
    pub id: String,
    /// The CAIP-10 account, canonical (EIP-55 for eip155).
    pub chain_id: String,
    /// The tenant's id for the customer.
    pub external_id: String,
    /// `PENDING` until a challenge signature verifies, then `VERIFIED`.
    pub status: String,
    /// Base64 of the current challenge text (present while `PENDING`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<String>,
    /// When the current challenge expires (ISO 8601), while `PENDING`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge_expires_at: Option<String>,
    /// The verified CAIP-10 account (once `VERIFIED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_account: Option<String>,
    /// The Connect user (`/sovx/v1/users/{userId}`) of the same tenant linked to the verified account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Creation time (ISO 8601).
    pub created_at: String,
    /// Last change (ISO 8601).
    pub updated_at: String,
    /// Verification time (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<String>,
}

/// `GET /siwx/v1/customers/{customerId}/challenge`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SiwxChallenge {
    /// Base64 of the challenge text (EIP-4361 / CAIP-122), to be signed as issued.
    pub challenge: String,
    /// Issue time (ISO 8601).
    pub issued_at: String,
    /// Expiry (ISO 8601): one hour after issue; a later GET issues a new one.
    pub expires_at: String,
}

/// `POST /sovx/v1/customers/{customer_id}/signing-keys`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CreateSigningKeyRequest {
    /// The RFC 9421 `keyid` the tenant will sign with (1 to 128 of `A-Z a-z 0-9 . _ - : @ / + =`).
    #[schema(min_length = 1, max_length = 128, pattern = r"^[A-Za-z0-9._\-:@/+=]+$")]
    pub keyid: String,
    /// `ed25519`, `ecdsa-p256-sha256`, `hmac-sha256` or `rsa-pss-sha512`.
    #[schema(pattern = "^(ed25519|ecdsa-p256-sha256|hmac-sha256|rsa-pss-sha512)$")]
    pub alg: String,
    /// Base64 of the raw public key (ed25519: 32 bytes; P-256: SEC1 point), Base64 of a DER SPKI, an SPKI PEM block
    /// (RSA: SPKI or PKCS#1 PEM), or for `hmac-sha256` Base64 of the shared secret (at least 32 bytes).
    pub key: String,
}

/// A registered RFC 9421 signing key. An `hmac-sha256` secret is never returned.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct SigningKey {
    /// The `keyid`.
    pub keyid: String,
    /// The algorithm.
    pub alg: String,
    /// The public key as registered (absent for `hmac-sha256`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// `ACTIVE` or `REVOKED`.
    pub status: String,
    /// Registration time (ISO 8601).
    pub created_at: String,
    /// Revocation time (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}
