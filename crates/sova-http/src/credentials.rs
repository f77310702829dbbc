//! Minting and forgetting customer credentials, shared by the API (`/customers/{id}/credentials`) and the operator
//! console: the secrets exist only in the answer that shows them once; the store keeps keyed hashes.

use secrecy::ExposeSecret;
use sova_store::CredentialRow;

use crate::access::Access;
use crate::error::{ApiError, ApiResult};
use crate::hmac::derive_secret_key;

/// Length of a customer_secret (base62), as in the document's example.
const SECRET_LEN: usize = 32;
/// Characters of it kept in the clear, to recognise it in lists.
const PREFIX_LEN: usize = 6;

/// What a new credential will carry.
pub struct NewCredential {
    /// Its name.
    pub name: Option<String>,
    /// Seconds until it lapses (60 to ten years), or never.
    pub expires_in: Option<u64>,
    /// Keyed hash of the `Cs-Passphrase`, when the credential has the HMAC scheme.
    pub passphrase_hash: Option<String>,
}

/// The secrets of a freshly minted credential, shown once.
pub struct Minted {
    /// The row to store (secrets only as keyed hashes).
    pub row: CredentialRow,
    /// The owner key.
    pub customer_secret: String,
    /// The HMAC scheme's secret key, when it has one.
    pub secret_key: Option<String>,
}

/// The keyed hash of a `Cs-Passphrase`, or why it is refused.
pub fn passphrase_hash(access: &Access, passphrase: &str) -> ApiResult<String> {
    let ok = (8..=128).contains(&passphrase.len())
        && passphrase.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        && !passphrase.starts_with(' ')
        && !passphrase.ends_with(' ');
    if !ok {
        return Err(ApiError::validation(
            "passphrase",
            "`passphrase` must be 8 to 128 printable ASCII characters (it travels in the Cs-Passphrase header)",
        ));
    }
    Ok(access.hasher.hash(passphrase).0)
}

/// Mint a credential of `customer_id` (not stored yet): a random owner key, and with a passphrase an access key
/// and a derived secret key for the `Cs-*` scheme.
pub fn mint(access: &Access, customer_id: &str, new: NewCredential) -> ApiResult<Minted> {
    let now = access.clock.now_ms();
    let expires_at = match new.expires_in {
        None => None,
        Some(s) if (60..=10 * 365 * 24 * 3600).contains(&s) => {
            Some(now + i64::try_from(s * 1000).unwrap_or(i64::MAX / 2))
        }
        Some(_) => {
            return Err(ApiError::validation("expires_in", "`expires_in` must be 60 to 315360000 seconds"));
        }
    };
    let secret = sova_auth::keys::random_base62(SECRET_LEN);
    let s = secret.expose_secret().to_string();
    let id = uuid::Uuid::new_v4().to_string();
    let (access_key, hmac_salt, secret_key) = match &new.passphrase_hash {
        Some(_) => {
            let access_key = hex::encode(sova_auth::keys::random_bytes::<16>());
            let salt = hex::encode(sova_auth::keys::random_bytes::<16>());
            let secret_key = derive_secret_key(&access.hasher, &id, &salt).expose_secret().to_string();
            (Some(access_key), Some(salt), Some(secret_key))
        }
        None => (None, None, None),
    };
    let row = CredentialRow {
        id,
        customer_id: customer_id.to_string(),
        name: new.name,
        prefix: s[..PREFIX_LEN].to_string(),
        secret_hash: access.hasher.hash(&s).0,
        created_at: now,
        last_used_at: None,
        expires_at,
        revoked_at: None,
        access_key,
        hmac_salt,
        passphrase_hash: new.passphrase_hash,
    };
    Ok(Minted { row, customer_secret: s, secret_key })
}

/// Tell every replica to forget a credential (both of its schemes).
pub async fn forget(access: &Access, row: &CredentialRow) {
    access.broadcast(&format!("cred:{}", row.secret_hash)).await;
    if let Some(k) = &row.access_key {
        access.broadcast(&format!("hmac:{k}")).await;
    }
}
