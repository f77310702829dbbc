//! HMAC request signing with the `Cs-*` headers (seed 004, `spec/hmac.md`).
//!
//! `Cs-Signature = Base64(HMAC-SHA256(secret_key, prehash))`. The document's prose concatenates timestamp, method,
//! path and body; its Ruby code joins them with `|` (leaving a trailing `|` for an empty body). Sova follows the code
//! and also accepts the plain concatenation. The path is the request target as sent (with `?query`, not decoded);
//! the body is the raw bytes received.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::keys::ct_eq;

/// Which prehash a signature matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prehash {
    /// `ts|METHOD|path|body` (the document's Ruby code; Sova's client uses it).
    Pipe,
    /// `ts METHOD path body` concatenated without separators (the document's prose).
    Concat,
}

/// Build the prehash bytes.
pub fn prehash(form: Prehash, timestamp: &str, method: &str, path: &str, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(timestamp.len() + method.len() + path.len() + body.len() + 3);
    let sep: &[u8] = match form {
        Prehash::Pipe => b"|",
        Prehash::Concat => b"",
    };
    v.extend_from_slice(timestamp.as_bytes());
    v.extend_from_slice(sep);
    v.extend_from_slice(method.as_bytes());
    v.extend_from_slice(sep);
    v.extend_from_slice(path.as_bytes());
    v.extend_from_slice(sep);
    v.extend_from_slice(body);
    v
}

/// HMAC-SHA256 of a prehash, fed piece by piece (no intermediate buffer).
fn mac_prehash(secret: &[u8], form: Prehash, timestamp: &str, method: &str, path: &str, body: &[u8]) -> [u8; 32] {
    let mut m =
        <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    let sep: &[u8] = match form {
        Prehash::Pipe => b"|",
        Prehash::Concat => b"",
    };
    for part in [timestamp.as_bytes(), sep, method.as_bytes(), sep, path.as_bytes(), sep, body] {
        m.update(part);
    }
    m.finalize().into_bytes().into()
}

/// Raw HMAC-SHA256.
#[cfg(test)]
fn mac(secret: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut m =
        <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    m.update(msg);
    m.finalize().into_bytes().into()
}

/// `Base64(HMAC-SHA256(secret, prehash))` in the pipe form: what a client sends as `Cs-Signature`.
pub fn sign(secret: &str, timestamp: &str, method: &str, path: &str, body: &[u8]) -> String {
    STANDARD.encode(mac_prehash(secret.as_bytes(), Prehash::Pipe, timestamp, method, path, body))
}

/// Why a `Cs-*` request was refused (before any key lookup, or after it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HmacError {
    /// `Cs-Timestamp` is not whole seconds since the Unix epoch.
    #[error("Cs-Timestamp must be Unix time in whole seconds, e.g. 1609459200")]
    MalformedTimestamp,
    /// `Cs-Signature` is not standard Base64 of 32 bytes.
    #[error("Cs-Signature must be the standard Base64 of a 32-byte HMAC-SHA256 (44 characters ending in '=')")]
    MalformedSignature,
    /// The timestamp is too far from the server's clock.
    #[error(
        "Cs-Timestamp is {skew} s {direction} the server clock (allowed: {window} s); sync your clock or use GET /sovx/v1/time"
    )]
    Skew {
        /// Absolute difference in seconds.
        skew: i64,
        /// "behind" or "ahead of".
        direction: &'static str,
        /// Allowed window.
        window: i64,
    },
}

/// Parse `Cs-Timestamp` strictly: 1 to 12 ASCII digits.
pub fn parse_timestamp(s: &str) -> Result<i64, HmacError> {
    if s.is_empty() || s.len() > 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HmacError::MalformedTimestamp);
    }
    s.parse().map_err(|_| HmacError::MalformedTimestamp)
}

/// Refuse a timestamp more than `window` seconds from `now`.
pub fn check_skew(ts: i64, now: i64, window: i64) -> Result<(), HmacError> {
    let d = now - ts;
    if d.abs() > window {
        let direction = if d > 0 { "behind" } else { "ahead of" };
        return Err(HmacError::Skew { skew: d.abs(), direction, window });
    }
    Ok(())
}

/// Decode `Cs-Signature`.
pub fn decode_signature(s: &str) -> Result<[u8; 32], HmacError> {
    let v = STANDARD.decode(s.trim()).map_err(|_| HmacError::MalformedSignature)?;
    v.try_into().map_err(|_| HmacError::MalformedSignature)
}

/// Does `signature` match either prehash form? Each comparison is constant time. The concatenated form is only
/// computed when the pipe form does not match; the time saved tells a caller only that its signature was valid,
/// which the answer says anyway.
pub fn verify(
    secret: &[u8],
    signature: &[u8; 32],
    timestamp: &str,
    method: &str,
    path: &str,
    body: &[u8],
) -> Option<Prehash> {
    if ct_eq(&mac_prehash(secret, Prehash::Pipe, timestamp, method, path, body), signature) {
        return Some(Prehash::Pipe);
    }
    ct_eq(&mac_prehash(secret, Prehash::Concat, timestamp, method, path, body), signature).then_some(Prehash::Concat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_vector() {
        // spec/hmac.md: secret `your_secret_key`, 1609459200, GET, /api/v1/example_endpoint, empty body, pipe form.
        let sig = sign("your_secret_key", "1609459200", "GET", "/api/v1/example_endpoint", b"");
        assert_eq!(sig, "FCVA9H65IfrLgUGEHd5tpoH8HbXHXHjN0PSvEIQR2Z4=");
        let raw = decode_signature(&sig).unwrap_or([0; 32]);
        assert_eq!(
            verify(b"your_secret_key", &raw, "1609459200", "GET", "/api/v1/example_endpoint", b""),
            Some(Prehash::Pipe)
        );
    }

    #[test]
    fn prehash_forms() {
        assert_eq!(prehash(Prehash::Pipe, "1", "GET", "/p?q=1", b""), b"1|GET|/p?q=1|");
        assert_eq!(prehash(Prehash::Concat, "1", "POST", "/p", b"{}"), b"1POST/p{}");
        let concat_sig = STANDARD.encode(mac(b"k", b"1POST/p{}"));
        let raw = decode_signature(&concat_sig).unwrap_or([0; 32]);
        assert_eq!(verify(b"k", &raw, "1", "POST", "/p", b"{}"), Some(Prehash::Concat));
        assert_eq!(verify(b"k", &raw, "1", "POST", "/p", b"{ }"), None);
        assert_eq!(verify(b"k2", &raw, "1", "POST", "/p", b"{}"), None);
    }

    #[test]
    fn timestamps_and_skew() {
        assert_eq!(parse_timestamp("1609459200"), Ok(1609459200));
        for bad in ["", "-1", "1.5", "1609459200000000", " 1", "abc"] {
            assert_eq!(parse_timestamp(bad), Err(HmacError::MalformedTimestamp), "{bad:?}");
        }
        assert!(check_skew(100, 130, 30).is_ok());
        assert!(matches!(check_skew(100, 131, 30), Err(HmacError::Skew { skew: 31, direction: "behind", .. })));
        assert!(matches!(check_skew(200, 100, 30), Err(HmacError::Skew { skew: 100, direction: "ahead of", .. })));
        assert_eq!(decode_signature("abc"), Err(HmacError::MalformedSignature));
    }
}
