//! Persistence of SIWX onboarding (seed 003): tenants' RFC 9421 signing keys, seen signature nonces, SIWX customers
//! with their challenges, and the account → Connect user link.
//!
//! Atomicity rules:
//! - A state change that answers an idempotent request records the answer in its own transaction
//!   ([`IdemDone`] passed to the state-changing call, see [`crate::IdempotencyStore`]).
//! - A challenge is consumed or replaced with a conditional update on its nonce, so two concurrent signatures of one
//!   challenge verify the customer once.
//! - Signature nonces are recorded with an insert that succeeds once per `(tenant, keyid, nonce)` while unexpired.

use sqlx::FromRow;

use crate::{IdemDone, Result, User};

/// A tenant's RFC 9421 signing key.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct SigningKeyRow {
    /// The tenant (Connect customer id).
    pub tenant_id: String,
    /// The RFC 9421 `keyid`, unique per tenant (a revoked keyid is not reused).
    pub keyid: String,
    /// Algorithm name (`ed25519`, `ecdsa-p256-sha256`, `hmac-sha256`, `rsa-pss-sha512`).
    pub alg: String,
    /// The public key as registered; for `hmac-sha256` the secret encrypted by the server (never in the clear).
    pub key_material: String,
    /// Registration time.
    pub created_at: i64,
    /// Revocation time.
    pub revoked_at: Option<i64>,
}

/// A SIWX customer with its current challenge.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct SiwxCustomerRow {
    /// UUID.
    pub id: String,
    /// The tenant (Connect customer id).
    pub tenant_id: String,
    /// The tenant's id for the customer (unique per tenant).
    pub external_id: String,
    /// Canonical CAIP-10 account.
    pub account: String,
    /// `PENDING` or `VERIFIED`.
    pub status: String,
    /// The exact challenge text issued (`None` once consumed).
    pub challenge: Option<String>,
    /// The challenge's nonce (unique; `None` once consumed).
    pub challenge_nonce: Option<String>,
    /// Issue time of the challenge.
    pub challenge_issued_at: Option<i64>,
    /// Expiry of the challenge.
    pub challenge_expires_at: Option<i64>,
    /// The linked Connect user (once verified).
    pub user_id: Option<String>,
    /// Verification time.
    pub verified_at: Option<i64>,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

/// A challenge to store in place of the current one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChallenge {
    /// The exact text.
    pub text: String,
    /// Its nonce.
    pub nonce: String,
    /// Issue time (ms).
    pub issued_at: i64,
    /// Expiry (ms).
    pub expires_at: i64,
}

/// SIWX and signing-key persistence. Implementations must make each method atomic.
#[async_trait::async_trait]
pub trait SiwxStore: Send + Sync {
    // signing keys
    /// Insert; `Conflict("keyid")` if the tenant already has (or had) this keyid.
    async fn create_signing_key(&self, k: &SigningKeyRow) -> Result<()>;
    /// A tenant's keys (revoked ones too), oldest first.
    async fn signing_keys(&self, tenant_id: &str) -> Result<Vec<SigningKeyRow>>;
    /// One key of a tenant.
    async fn signing_key(&self, tenant_id: &str, keyid: &str) -> Result<Option<SigningKeyRow>>;
    /// Revoke now (idempotent); `NotFound` if the tenant has no such key.
    async fn revoke_signing_key(&self, tenant_id: &str, keyid: &str, now: i64) -> Result<SigningKeyRow>;
    /// Record a signature nonce; false if it was already recorded and has not expired.
    async fn use_signature_nonce(
        &self,
        tenant_id: &str,
        keyid: &str,
        nonce: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool>;

    // housekeeping
    /// Drop idempotency keys and signature nonces that expired before `now`.
    async fn prune_siwx(&self, now: i64) -> Result<u64>;

    // customers
    /// Insert a customer with its first challenge (and record `idem`), atomically; `Conflict("externalId")` if the
    /// tenant already has this external id.
    async fn create_siwx_customer(&self, c: &SiwxCustomerRow, idem: Option<&IdemDone>) -> Result<()>;
    /// A tenant's customer.
    async fn siwx_customer(&self, tenant_id: &str, id: &str) -> Result<Option<SiwxCustomerRow>>;
    /// Replace the challenge whose nonce is `old_nonce` of a `PENDING` customer (and record `idem`), atomically;
    /// false (nothing written) if that challenge is no longer the current one.
    async fn replace_siwx_challenge(
        &self,
        tenant_id: &str,
        id: &str,
        old_nonce: &str,
        new: &NewChallenge,
        now: i64,
        idem: Option<&IdemDone>,
    ) -> Result<bool>;
    /// Consume the challenge whose nonce is `nonce`, mark the customer `VERIFIED`, link it to the tenant's Connect
    /// user for its account (inserting `new_user` when the account has none yet), and record `idem`: one
    /// transaction. `InvalidState` (nothing written) if the challenge is no longer current.
    async fn verify_siwx_customer(
        &self,
        tenant_id: &str,
        id: &str,
        nonce: &str,
        new_user: &User,
        now: i64,
        idem: Option<&IdemDone>,
    ) -> Result<SiwxCustomerRow>;
    /// The Connect user linked to a tenant's verified account.
    async fn siwx_account_user(&self, tenant_id: &str, account: &str) -> Result<Option<String>>;
}
