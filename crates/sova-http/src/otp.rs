//! One-time confirmation codes (withdrawals, transfers): six digits derived from the keyed hash (HMAC under the
//! server's pepper) of what they confirm and their expiry, so they are unpredictable without the server key and
//! nothing but a keyed hash of each is stored. The sandbox recomputes a live code from its row.

use sova_auth::keys::KeyHasher;

/// The code confirming `id` (a `purpose`: `withdrawal`, `transfer`) that expires at `expires_at`.
pub fn code(hasher: &KeyHasher, purpose: &str, id: &str, expires_at: i64) -> String {
    let h = hasher.hash(&format!("{purpose}-code:{id}:{expires_at}"));
    let n = u64::from_str_radix(h.0.get(..12).unwrap_or("0"), 16).unwrap_or(0) % 1_000_000;
    format!("{n:06}")
}

/// What is stored to check a code given for `id`.
pub fn check_hash(hasher: &KeyHasher, purpose: &str, id: &str, code: &str) -> String {
    hasher.hash(&format!("{purpose}-code-check:{id}:{code}")).0
}
