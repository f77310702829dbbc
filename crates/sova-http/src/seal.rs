//! Secrets that must stay usable (an HMAC key Sova verifies or signs with) cannot be hashed: they are stored
//! sealed. XChaCha20-Poly1305 (RustCrypto `chacha20poly1305`) under a key derived from the server key with a
//! per-purpose label (keyed hash), a random 24-byte nonce, and associated data binding the value to its row (a value
//! copied to another row does not open). Stored as `sealed:v2:<nonce>:<ciphertext+tag>` (Base64). The database alone
//! reveals no secret; the server key plus the database reveal them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use sova_auth::keys::KeyHasher;
use zeroize::Zeroizing;

const PREFIX: &str = "sealed:v2:";

fn cipher(hasher: &KeyHasher, label: &str) -> XChaCha20Poly1305 {
    let key = Zeroizing::new(hasher.derive(label, b""));
    XChaCha20Poly1305::new(&Key::from(*key))
}

/// Seal `secret` for storage under the key `label` derives, bound to `aad`.
pub fn seal(hasher: &KeyHasher, label: &str, aad: &[u8], secret: &[u8]) -> String {
    let nonce = XNonce::from(sova_auth::keys::random_bytes::<24>());
    // Encryption into a Vec cannot fail for inputs this small.
    let ct = cipher(hasher, label).encrypt(&nonce, Payload { msg: secret, aad }).unwrap_or_default();
    format!("{PREFIX}{}:{}", STANDARD.encode(nonce), STANDARD.encode(ct))
}

/// Open a value made by [`seal`] with the same label and associated data; `None` otherwise (or with another server
/// key).
pub fn open(hasher: &KeyHasher, label: &str, aad: &[u8], sealed: &str) -> Option<Zeroizing<Vec<u8>>> {
    let (nonce, ct) = sealed.strip_prefix(PREFIX)?.split_once(':')?;
    let nonce: [u8; 24] = STANDARD.decode(nonce).ok()?.try_into().ok()?;
    let ct = STANDARD.decode(ct).ok()?;
    cipher(hasher, label).decrypt(&XNonce::from(nonce), Payload { msg: &ct, aad }).ok().map(Zeroizing::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_where_they_were_made() {
        let h = KeyHasher::new([7u8; 32]);
        let s = seal(&h, "label/a", b"row-1", b"secret");
        assert!(s.starts_with(PREFIX) && !s.contains("secret"));
        assert_eq!(open(&h, "label/a", b"row-1", &s).as_deref().map(Vec::as_slice), Some(&b"secret"[..]));
        assert!(open(&h, "label/a", b"row-2", &s).is_none(), "another row");
        assert!(open(&h, "label/b", b"row-1", &s).is_none(), "another purpose");
        assert!(open(&KeyHasher::new([8u8; 32]), "label/a", b"row-1", &s).is_none(), "another server key");
    }
}
