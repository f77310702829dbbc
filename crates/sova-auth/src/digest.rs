//! RFC 9530 `Content-Digest`: computing and checking the digest of the raw body bytes (`spec/siwx-httpsig.md`).
//!
//! The field is a Structured Field Dictionary whose keys name algorithms and whose values are Byte Sequences,
//! e.g. `sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:`. Sova checks `sha-256` and `sha-512` (the two
//! "active" algorithms of the IANA registry) over the exact bytes received; every other key (the deprecated `md5`,
//! `sha`, `unixsum`, `unixcksum`, `adler`, `crc32c`, or anything unknown) is ignored. At least one active algorithm
//! must be present, and every active one present must match.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

/// An active RFC 9530 digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    /// `sha-256`.
    Sha256,
    /// `sha-512`.
    Sha512,
}

impl DigestAlgorithm {
    /// The registry key, e.g. `sha-256`.
    pub fn key(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "sha-256",
            DigestAlgorithm::Sha512 => "sha-512",
        }
    }

    /// The algorithm a registry key names, if it is an active one Sova checks.
    pub fn from_key(key: &str) -> Option<Self> {
        match key {
            "sha-256" => Some(DigestAlgorithm::Sha256),
            "sha-512" => Some(DigestAlgorithm::Sha512),
            _ => None,
        }
    }

    /// The digest of `body` under this algorithm.
    pub fn hash(self, body: &[u8]) -> Vec<u8> {
        match self {
            DigestAlgorithm::Sha256 => Sha256::digest(body).to_vec(),
            DigestAlgorithm::Sha512 => Sha512::digest(body).to_vec(),
        }
    }

    fn output_len(self) -> usize {
        match self {
            DigestAlgorithm::Sha256 => 32,
            DigestAlgorithm::Sha512 => 64,
        }
    }
}

/// Why a `Content-Digest` field was refused. Every variant maps to 400 at the HTTP layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// The request has a body but no `Content-Digest` field.
    #[error("Content-Digest is required on requests with a body, e.g. `sha-256=:<base64 of SHA-256(body)>:`")]
    Missing,
    /// The field is not a Structured Field Dictionary, or an active algorithm's value is not a Byte Sequence of the
    /// algorithm's length.
    #[error("Content-Digest is malformed: {0}")]
    Malformed(String),
    /// The field names no algorithm Sova checks (only deprecated or unknown ones).
    #[error("Content-Digest must include sha-256 or sha-512 (deprecated and unknown algorithms are ignored)")]
    NoSupportedAlgorithm,
    /// A digest does not match the body received.
    #[error("Content-Digest {algorithm} does not match the request body")]
    Mismatch {
        /// The registry key of the algorithm that did not match.
        algorithm: &'static str,
    },
}

impl DigestError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            DigestError::Missing => "CONTENT_DIGEST_MISSING",
            DigestError::Malformed(_) => "CONTENT_DIGEST_MALFORMED",
            DigestError::NoSupportedAlgorithm => "CONTENT_DIGEST_UNSUPPORTED_ALGORITHM",
            DigestError::Mismatch { .. } => "CONTENT_DIGEST_MISMATCH",
        }
    }
}

/// The `Content-Digest` field value for `body` under one algorithm, e.g. `sha-256=:47DEQpj8...=:` for an empty body.
pub fn content_digest(algorithm: DigestAlgorithm, body: &[u8]) -> String {
    format!("{}=:{}:", algorithm.key(), STANDARD.encode(algorithm.hash(body)))
}

/// `content_digest(DigestAlgorithm::Sha256, body)`.
pub fn content_digest_sha256(body: &[u8]) -> String {
    content_digest(DigestAlgorithm::Sha256, body)
}

/// `content_digest(DigestAlgorithm::Sha512, body)`.
pub fn content_digest_sha512(body: &[u8]) -> String {
    content_digest(DigestAlgorithm::Sha512, body)
}

/// Check a `Content-Digest` field value against the raw body bytes.
///
/// `header_value` is the field value (several field lines joined with `, `, as HTTP combines them); `None` when the
/// request carries no such field. Returns the active algorithms that were checked (all matched), in field order.
pub fn verify_content_digest(header_value: Option<&[u8]>, body: &[u8]) -> Result<Vec<DigestAlgorithm>, DigestError> {
    let Some(value) = header_value else {
        return Err(DigestError::Missing);
    };
    let dict: sfv::Dictionary = sfv::Parser::new(value)
        .with_version(sfv::Version::Rfc8941)
        .parse()
        .map_err(|e| DigestError::Malformed(format!("not a structured field dictionary ({e})")))?;
    let mut checked = Vec::new();
    for (key, entry) in &dict {
        let Some(algorithm) = DigestAlgorithm::from_key(key.as_str()) else {
            continue;
        };
        let expected = match entry {
            sfv::ListEntry::Item(item) => item.bare_item.as_byte_sequence(),
            sfv::ListEntry::InnerList(_) => None,
        }
        .ok_or_else(|| DigestError::Malformed(format!("{} must be a byte sequence `:<base64>:`", algorithm.key())))?;
        if expected.len() != algorithm.output_len() {
            return Err(DigestError::Malformed(format!(
                "{} must be {} bytes, got {}",
                algorithm.key(),
                algorithm.output_len(),
                expected.len()
            )));
        }
        let actual = algorithm.hash(body);
        if !bool::from(actual.as_slice().ct_eq(expected)) {
            return Err(DigestError::Mismatch { algorithm: algorithm.key() });
        }
        checked.push(algorithm);
    }
    if checked.is_empty() {
        return Err(DigestError::NoSupportedAlgorithm);
    }
    Ok(checked)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn spec_values() {
        assert_eq!(
            content_digest_sha256(br#"{"hello": "world"}"#),
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
        );
        assert_eq!(content_digest_sha256(b""), "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:");
        // RFC 9530 section 2 / RFC 9421 appendix B.2: the test request's sha-512.
        assert_eq!(
            content_digest_sha512(br#"{"hello": "world"}"#),
            "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
        );
    }

    #[test]
    fn verify_accepts_and_refuses() {
        let body = br#"{"hello": "world"}"#;
        let both = format!("{}, {}", content_digest_sha512(body), content_digest_sha256(body));
        assert_eq!(
            verify_content_digest(Some(both.as_bytes()), body).unwrap(),
            vec![DigestAlgorithm::Sha512, DigestAlgorithm::Sha256]
        );
        // Deprecated algorithms are ignored, even when wrong.
        let with_md5 = format!("md5=:AAAAAAAAAAAAAAAAAAAAAA==:, {}", content_digest_sha256(body));
        assert!(verify_content_digest(Some(with_md5.as_bytes()), body).is_ok());
        assert_eq!(verify_content_digest(None, body), Err(DigestError::Missing));
        assert_eq!(
            verify_content_digest(Some(b"md5=:AAAAAAAAAAAAAAAAAAAAAA==:"), body),
            Err(DigestError::NoSupportedAlgorithm)
        );
        assert_eq!(
            verify_content_digest(Some(content_digest_sha256(b"other").as_bytes()), body),
            Err(DigestError::Mismatch { algorithm: "sha-256" })
        );
        // One good and one bad active digest: refused.
        let mixed = format!("{}, {}", content_digest_sha256(body), content_digest_sha512(b"x"));
        assert_eq!(
            verify_content_digest(Some(mixed.as_bytes()), body),
            Err(DigestError::Mismatch { algorithm: "sha-512" })
        );
        for bad in [&b"sha-256=X48E9q"[..], b"sha-256=\"abc\"", b"sha-256=:AAAA:", b"sha-256=:X48E9qOokqq", b"=="] {
            assert!(matches!(verify_content_digest(Some(bad), body), Err(DigestError::Malformed(_))), "{bad:?}");
        }
    }
}
