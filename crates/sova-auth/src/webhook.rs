//! Standard Webhooks v1 signatures (<https://www.standardwebhooks.com/>): `webhook-signature: v1,<base64 of
//! HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")>`, several space-separated during a key rotation. The
//! key is the Base64 after `whsec_` in the secret.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// A new secret: `whsec_` and 32 random bytes in Base64.
pub fn new_secret() -> Zeroizing<String> {
    Zeroizing::new(format!("whsec_{}", STANDARD.encode(crate::keys::random_bytes::<32>())))
}

/// The key bytes of a `whsec_...` secret (the prefix is optional); `None` if it is not Base64.
pub fn secret_key(secret: &str) -> Option<Zeroizing<Vec<u8>>> {
    let b64 = secret.strip_prefix("whsec_").unwrap_or(secret);
    STANDARD.decode(b64).ok().filter(|k| !k.is_empty()).map(Zeroizing::new)
}

/// One `v1,<signature>` of `body` sent as message `id` at `timestamp` (Unix seconds).
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// Whether any `v1` signature in the header value matches (constant-time per candidate).
pub fn verify(key: &[u8], id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    let want = sign(key, id, timestamp, body);
    header.split_whitespace().any(|s| crate::keys::ct_eq(s.as_bytes(), want.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector of the official Python library's test suite (`standardwebhooks` 1.0.0, `test_sign_function`).
    #[test]
    fn official_vector() {
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_or_default();
        let sig = sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, br#"{"test": 2432232314}"#);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let header = format!("v1,bm90LXRoaXM= {sig}");
        assert!(verify(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, br#"{"test": 2432232314}"#, &header));
        assert!(!verify(&key, "msg_other", 1_614_265_330, br#"{"test": 2432232314}"#, &header));
    }

    #[test]
    fn secrets_round_trip() {
        let s = new_secret();
        assert!(s.starts_with("whsec_"));
        assert_eq!(secret_key(&s).map(|k| k.len()), Some(32));
        assert!(secret_key("whsec_!!").is_none());
    }
}
