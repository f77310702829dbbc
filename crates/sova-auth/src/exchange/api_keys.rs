//! The API-key registry rules and signer authorization, as pure checks over rows the caller read.
//!
//! - A master account holds at most 5 API keys; a name matches `^[0-9a-zA-Z_-]{1,36}$` and is not `default`.
//! - Keys expire at `expiresAt` (Unix ms; 0 = never): a key is unusable from that instant on. Expired keys do not
//!   count against the limit and their names may be reused (a server that keeps expired rows deletes the expired
//!   row of that name before inserting).
//! - `addAPIKey` and `revokeAPIKey` are signed by the master wallet; other actions by the master or a named key.

use alloy_primitives::Address;

use super::payload::{Action, AddApiKey, KeyName};
use super::signature::KeySelector;

/// Most API keys a master account may hold.
pub const MAX_API_KEYS_PER_MASTER: usize = 5;

/// A stored API key, as far as these rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// Its name.
    pub name: KeyName,
    /// The address its signatures recover to.
    pub public_key: Address,
    /// Unix ms at which it stops working; 0 = never.
    pub expires_at: u64,
}

impl ApiKeyRecord {
    /// Is it expired at `now_ms`?
    pub const fn is_expired(&self, now_ms: u64) -> bool {
        is_expired(self.expires_at, now_ms)
    }
}

/// `expires_at` (0 = never) has passed at `now_ms`.
pub const fn is_expired(expires_at: u64, now_ms: u64) -> bool {
    expires_at != 0 && now_ms >= expires_at
}

/// Why an `addAPIKey` / `revokeAPIKey` was refused, or a signer not authorized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyError {
    /// The master already holds 5 live keys.
    #[error("this master account already holds {MAX_API_KEYS_PER_MASTER} API keys; revoke one first")]
    LimitReached,
    /// A live key already has this name.
    #[error("an API key named {0} already exists; revoke it first or choose another name")]
    NameTaken(KeyName),
    /// `expiresAt` is not in the future.
    #[error("expiresAt {expires_at} is not in the future (server time {now} ms); send 0 for a key that never expires")]
    AlreadyExpired {
        /// Requested expiry.
        expires_at: u64,
        /// Server time.
        now: u64,
    },
    /// The public key is the zero address.
    #[error("publicKey is the zero address; send the address of the API key's own private key")]
    ZeroPublicKey,
    /// `revokeAPIKey` of a name this master does not hold.
    #[error("no API key named {0} on this account")]
    NotFound(KeyName),
    /// `X-API-Key` names a key that does not exist.
    #[error("X-API-Key names {0}, which is not an API key of this account (omit X-API-Key when the master signs)")]
    UnknownKey(KeyName),
    /// The named key has expired.
    #[error("the API key {name} expired at {expires_at} ms; register a new key")]
    KeyExpired {
        /// The key.
        name: KeyName,
        /// When it expired.
        expires_at: u64,
    },
    /// `addAPIKey` / `revokeAPIKey` presented with an API key.
    #[error("{0} must be signed by the master wallet: omit X-API-Key (or send 'default') and sign with the master key")]
    MasterRequired(Action),
    /// The signature recovered to another address than the claimed signer's.
    #[error(
        "the signature recovers to {recovered}, not to {expected} ({who}); check the private key, the chain id, the \
         domain, the nonce and that the body is byte-identical to the signed params"
    )]
    SignerMismatch {
        /// Recovered from the signature.
        recovered: Address,
        /// Required.
        expected: Address,
        /// "the master wallet" or "API key `name`".
        who: String,
    },
}

impl ApiKeyError {
    /// A stable identifier for the envelope's error code.
    pub const fn code(&self) -> &'static str {
        match self {
            ApiKeyError::LimitReached => "API_KEY_LIMIT",
            ApiKeyError::NameTaken(_) => "API_KEY_NAME_TAKEN",
            ApiKeyError::AlreadyExpired { .. } => "API_KEY_EXPIRY_IN_PAST",
            ApiKeyError::ZeroPublicKey => "API_KEY_ZERO_ADDRESS",
            ApiKeyError::NotFound(_) => "API_KEY_NOT_FOUND",
            ApiKeyError::UnknownKey(_) => "UNKNOWN_API_KEY",
            ApiKeyError::KeyExpired { .. } => "API_KEY_EXPIRED",
            ApiKeyError::MasterRequired(_) => "MASTER_SIGNATURE_REQUIRED",
            ApiKeyError::SignerMismatch { .. } => "SIGNER_MISMATCH",
        }
    }
}

/// May `req` be added to a master that holds `existing` at `now_ms`? (The signature was checked already.)
pub fn check_add(req: &AddApiKey, existing: &[ApiKeyRecord], now_ms: u64) -> Result<(), ApiKeyError> {
    if req.public_key.is_zero() {
        return Err(ApiKeyError::ZeroPublicKey);
    }
    if is_expired(req.expires_at, now_ms) {
        return Err(ApiKeyError::AlreadyExpired { expires_at: req.expires_at, now: now_ms });
    }
    let mut live = existing.iter().filter(|k| !k.is_expired(now_ms));
    if live.clone().any(|k| k.name == req.name) {
        return Err(ApiKeyError::NameTaken(req.name.clone()));
    }
    if live.by_ref().count() >= MAX_API_KEYS_PER_MASTER {
        return Err(ApiKeyError::LimitReached);
    }
    Ok(())
}

/// May `name` be revoked from a master that holds `existing`? (Expired keys can be revoked.)
pub fn check_revoke(name: &KeyName, existing: &[ApiKeyRecord]) -> Result<(), ApiKeyError> {
    if existing.iter().any(|k| &k.name == name) { Ok(()) } else { Err(ApiKeyError::NotFound(name.clone())) }
}

/// Who signed, once authorized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorized {
    /// The master wallet.
    Master,
    /// A live API key of the master.
    ApiKey,
}

/// Authorize a recovered signer for `action` on an account of `master`.
///
/// `key` is the parsed `X-API-Key`; `stored` is the caller's lookup of that name among the master's keys (`None` if
/// absent, or if `key` is [`KeySelector::Master`]).
pub fn authorize(
    action: Action,
    key: &KeySelector,
    recovered: Address,
    master: Address,
    stored: Option<&ApiKeyRecord>,
    now_ms: u64,
) -> Result<Authorized, ApiKeyError> {
    match key {
        KeySelector::Master => {
            if recovered != master {
                return Err(ApiKeyError::SignerMismatch {
                    recovered,
                    expected: master,
                    who: "the master wallet".into(),
                });
            }
            Ok(Authorized::Master)
        }
        KeySelector::Named(name) => {
            if action.requires_master() {
                return Err(ApiKeyError::MasterRequired(action));
            }
            let record = stored.filter(|r| &r.name == name).ok_or_else(|| ApiKeyError::UnknownKey(name.clone()))?;
            if record.is_expired(now_ms) {
                return Err(ApiKeyError::KeyExpired { name: name.clone(), expires_at: record.expires_at });
            }
            if recovered != record.public_key {
                return Err(ApiKeyError::SignerMismatch {
                    recovered,
                    expected: record.public_key,
                    who: format!("API key {name}"),
                });
            }
            Ok(Authorized::ApiKey)
        }
    }
}
