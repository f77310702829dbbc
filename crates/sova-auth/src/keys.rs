//! API secrets: generation, keyed hashing, constant-time comparison.
//!
//! A secret is never stored. Sova stores `HMAC-SHA256(pepper, secret)`, where the pepper is a server key kept
//! outside the database (in the data directory, or configured). A leaked database alone therefore does not let
//! anyone test guesses offline, and the hash is cheap enough (about 0.3 µs) to compute on every request, so lookups
//! go through an in-memory map keyed by the hash instead of a password hash per request.

use hmac::{Hmac, Mac};
use rand::{Rng, RngCore, rngs::OsRng};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A random base62 string of `len` characters from the OS RNG (about 5.95 bits of entropy per character).
pub fn random_base62(len: usize) -> SecretString {
    let mut rng = OsRng;
    let s: String = (0..len).map(|_| BASE62[rng.gen_range(0..BASE62.len())] as char).collect();
    SecretString::from(s)
}

/// `n` random bytes from the OS RNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    OsRng.fill_bytes(&mut b);
    b
}

/// The keyed hash of a secret, hex-encoded: what the database holds and what lookups are keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretHash(pub String);

impl SecretHash {
    /// The hex string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Computes keyed hashes of API secrets with the server's pepper.
pub struct KeyHasher {
    pepper: SecretBox<[u8; 32]>,
}

impl std::fmt::Debug for KeyHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyHasher(<redacted>)")
    }
}

impl KeyHasher {
    /// A hasher over a 32-byte pepper.
    pub fn new(pepper: [u8; 32]) -> Self {
        Self { pepper: SecretBox::new(Box::new(pepper)) }
    }

    /// `hex(HMAC-SHA256(pepper, secret))`.
    pub fn hash(&self, secret: &str) -> SecretHash {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.pepper.expose_secret())
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(secret.as_bytes());
        SecretHash(hex::encode(mac.finalize().into_bytes()))
    }

    /// A secret derived from the pepper: `HMAC-SHA256(pepper, label || 0x00 || data)`. Used to re-derive HMAC secret
    /// keys from a stored salt, so that the database alone never holds them.
    pub fn derive(&self, label: &str, data: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.pepper.expose_secret())
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(label.as_bytes());
        mac.update(&[0]);
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// Constant-time check that `secret` hashes to `expected` (hex), without allocating.
    pub fn verify(&self, secret: &str, expected_hex: &str) -> bool {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.pepper.expose_secret())
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(secret.as_bytes());
        let mut hexed = [0u8; 64];
        if hex::encode_to_slice(mac.finalize().into_bytes(), &mut hexed).is_err() {
            return false;
        }
        ct_eq(&hexed, expected_hex.as_bytes())
    }
}

/// Constant-time equality of two byte strings (length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_hash_is_hmac_sha256() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?" (key zero-padded to 32 bytes
        // is the same HMAC key, since HMAC pads short keys with zeros).
        let mut pepper = [0u8; 32];
        pepper[..4].copy_from_slice(b"Jefe");
        let h = KeyHasher::new(pepper).hash("what do ya want for nothing?");
        assert_eq!(h.0, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn verify_and_random() {
        let h = KeyHasher::new([7u8; 32]);
        let s = random_base62(32);
        assert_eq!(s.expose_secret().len(), 32);
        assert!(s.expose_secret().bytes().all(|c| c.is_ascii_alphanumeric()));
        let hash = h.hash(s.expose_secret());
        assert!(h.verify(s.expose_secret(), hash.as_str()));
        assert!(!h.verify("other", hash.as_str()));
        assert!(!h.verify(s.expose_secret(), ""));
        assert_ne!(random_base62(32).expose_secret(), s.expose_secret());
    }
}
