//! RFC 9421 HTTP Message Signatures: verifying (and, for clients and tests, creating) signatures under Sova's policy
//! (`spec/siwx-httpsig.md`). Pure: the caller supplies the request parts, the clock, and the key.
//!
//! Verification in three steps, so the key lookup (I/O) can sit between them:
//! 1. [`prepare`]: parse `Signature-Input` / `Signature` (RFC 8941 dictionaries), pick the signature (by label or
//!    tag, else the only one), and apply the policy checks that need no key: `keyid` present, `created` present and
//!    within the allowed skew, `expires` not passed, `nonce` present if required, required components covered.
//! 2. The caller looks the `keyid` up; an unknown key is [`HttpSigError::UnknownKey`].
//! 3. [`verify_with_key`]: `alg` (when present) must name the key's algorithm; the signature base is built from the
//!    request with the received `Signature-Input` member value reused verbatim as the `@signature-params` line; the
//!    signature must verify.
//!
//! [`verify`] runs all three with a synchronous lookup. The `nonce` is returned for the caller's replay store
//! ([`VerifiedSignature::replay_until`] says how long to remember it).
//!
//! Algorithms: `ed25519`, `ecdsa-p256-sha256` (raw `r|s`, 64 bytes, not DER), `hmac-sha256`, `rsa-pss-sha512`.
//! Behind a proxy `@authority`, `@scheme` and `@target-uri` come from the configured [`PublicOrigin`], never from
//! `Host` or `Forwarded`.

use std::borrow::Borrow;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use http::HeaderMap;
use sfv::{BareItem, FieldType, ListEntry};
use sha2::{Sha256, Sha512};
use zeroize::Zeroizing;

/// The default bound on `|now - created|`, in seconds.
pub const DEFAULT_MAX_SKEW_SECS: i64 = 60;

// ---------------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------------

/// Why a signed request was refused. Each policy violation has its own variant and [`HttpSigError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpSigError {
    /// No `Signature-Input` field.
    #[error("Signature-Input header is required (RFC 9421)")]
    MissingSignatureInput,
    /// No `Signature` field, or no member for the selected label.
    #[error("Signature header is required and must have a member for label `{0}`")]
    MissingSignature(String),
    /// `Signature-Input` is not a dictionary of inner lists with valid parameters.
    #[error("malformed Signature-Input: {0}")]
    MalformedSignatureInput(String),
    /// `Signature` is not a dictionary, or the member is not a byte sequence.
    #[error("malformed Signature: {0}")]
    MalformedSignature(String),
    /// No signature has the requested label or tag.
    #[error("no signature in Signature-Input matches the expected label or tag")]
    NoMatchingSignature,
    /// Several signatures and nothing to choose between them.
    #[error("Signature-Input has several signatures; send one")]
    MultipleSignatures,
    /// The signature has no `keyid` parameter.
    #[error("signature parameter `keyid` is required")]
    MissingKeyid,
    /// The signature has no `created` parameter.
    #[error("signature parameter `created` is required")]
    MissingCreated,
    /// `created` is older than the allowed skew.
    #[error("signature `created`={created} is more than {max_skew} s before the server clock ({now})")]
    StaleCreated {
        /// The `created` parameter.
        created: i64,
        /// The server clock.
        now: i64,
        /// The allowed skew.
        max_skew: i64,
    },
    /// `created` is further in the future than the allowed skew.
    #[error("signature `created`={created} is more than {max_skew} s after the server clock ({now})")]
    CreatedInFuture {
        /// The `created` parameter.
        created: i64,
        /// The server clock.
        now: i64,
        /// The allowed skew.
        max_skew: i64,
    },
    /// `expires` has passed.
    #[error("signature expired at {expires} (server clock {now})")]
    Expired {
        /// The `expires` parameter.
        expires: i64,
        /// The server clock.
        now: i64,
    },
    /// The policy requires a `nonce` and there is none.
    #[error("signature parameter `nonce` is required")]
    MissingNonce,
    /// The nonce was seen before (reported by the caller's replay store).
    #[error("signature nonce was already used")]
    ReplayedNonce,
    /// A component the policy requires is not covered by the signature.
    #[error("signature must cover {0}")]
    MissingComponent(String),
    /// A component is listed twice.
    #[error("component {0} is covered twice")]
    DuplicateComponent(String),
    /// A component (or component parameter) Sova does not evaluate.
    #[error("unsupported component {0}")]
    UnsupportedComponent(String),
    /// A covered component is absent from the message (e.g. a header that was not sent).
    #[error("covered component {0} is absent from the request")]
    ComponentAbsent(String),
    /// `keyid` names no registered key.
    #[error("unknown keyid `{0}`")]
    UnknownKey(String),
    /// `alg` names an algorithm Sova does not know.
    #[error("unknown alg `{0}` (supported: ed25519, ecdsa-p256-sha256, hmac-sha256, rsa-pss-sha512)")]
    UnknownAlgorithm(String),
    /// `alg` names another algorithm than the key's.
    #[error("alg `{declared}` does not match the key's algorithm `{key}`")]
    AlgMismatch {
        /// The `alg` parameter.
        declared: String,
        /// The registered key's algorithm.
        key: &'static str,
    },
    /// The signature does not verify over the signature base.
    #[error("signature does not verify")]
    BadSignature,
    /// A key given for registration cannot be read for its algorithm.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// The configured public origin is not `scheme://host[:port]`.
    #[error("invalid public origin: {0}")]
    InvalidOrigin(String),
}

impl HttpSigError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            HttpSigError::MissingSignatureInput => "HTTPSIG_MISSING_SIGNATURE_INPUT",
            HttpSigError::MissingSignature(_) => "HTTPSIG_MISSING_SIGNATURE",
            HttpSigError::MalformedSignatureInput(_) => "HTTPSIG_MALFORMED_SIGNATURE_INPUT",
            HttpSigError::MalformedSignature(_) => "HTTPSIG_MALFORMED_SIGNATURE",
            HttpSigError::NoMatchingSignature => "HTTPSIG_NO_MATCHING_SIGNATURE",
            HttpSigError::MultipleSignatures => "HTTPSIG_MULTIPLE_SIGNATURES",
            HttpSigError::MissingKeyid => "HTTPSIG_MISSING_KEYID",
            HttpSigError::MissingCreated => "HTTPSIG_MISSING_CREATED",
            HttpSigError::StaleCreated { .. } => "HTTPSIG_STALE_CREATED",
            HttpSigError::CreatedInFuture { .. } => "HTTPSIG_CREATED_IN_FUTURE",
            HttpSigError::Expired { .. } => "HTTPSIG_EXPIRED",
            HttpSigError::MissingNonce => "HTTPSIG_MISSING_NONCE",
            HttpSigError::ReplayedNonce => "HTTPSIG_REPLAYED_NONCE",
            HttpSigError::MissingComponent(_) => "HTTPSIG_MISSING_COMPONENT",
            HttpSigError::DuplicateComponent(_) => "HTTPSIG_DUPLICATE_COMPONENT",
            HttpSigError::UnsupportedComponent(_) => "HTTPSIG_UNSUPPORTED_COMPONENT",
            HttpSigError::ComponentAbsent(_) => "HTTPSIG_COMPONENT_ABSENT",
            HttpSigError::UnknownKey(_) => "HTTPSIG_UNKNOWN_KEYID",
            HttpSigError::UnknownAlgorithm(_) => "HTTPSIG_UNKNOWN_ALG",
            HttpSigError::AlgMismatch { .. } => "HTTPSIG_ALG_MISMATCH",
            HttpSigError::BadSignature => "HTTPSIG_BAD_SIGNATURE",
            HttpSigError::InvalidKey(_) => "HTTPSIG_INVALID_KEY",
            HttpSigError::InvalidOrigin(_) => "HTTPSIG_INVALID_ORIGIN",
        }
    }
}

fn malformed_input(msg: impl Into<String>) -> HttpSigError {
    HttpSigError::MalformedSignatureInput(msg.into())
}

// ---------------------------------------------------------------------------------------------------------------
// Algorithms and keys
// ---------------------------------------------------------------------------------------------------------------

/// The signature algorithms Sova accepts (RFC 9421 section 3.3 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `ed25519` (RFC 8032).
    Ed25519,
    /// `ecdsa-p256-sha256`: ECDSA over P-256 with SHA-256, signature raw `r|s`.
    EcdsaP256Sha256,
    /// `hmac-sha256`.
    HmacSha256,
    /// `rsa-pss-sha512`: RSASSA-PSS, SHA-512, MGF1-SHA-512, 64-byte salt.
    RsaPssSha512,
}

impl Algorithm {
    /// Every algorithm.
    pub const ALL: [Algorithm; 4] =
        [Algorithm::Ed25519, Algorithm::EcdsaP256Sha256, Algorithm::HmacSha256, Algorithm::RsaPssSha512];

    /// The RFC 9421 registry name.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "ed25519",
            Algorithm::EcdsaP256Sha256 => "ecdsa-p256-sha256",
            Algorithm::HmacSha256 => "hmac-sha256",
            Algorithm::RsaPssSha512 => "rsa-pss-sha512",
        }
    }

    /// The algorithm a registry name denotes.
    pub fn from_name(name: &str) -> Option<Self> {
        Algorithm::ALL.into_iter().find(|a| a.name() == name)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The smallest accepted HMAC key, in bytes.
pub const MIN_HMAC_KEY_LEN: usize = 32;
/// The smallest accepted RSA modulus, in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// A key that verifies signatures of one algorithm.
#[derive(Clone)]
pub enum VerifyingKey {
    /// An ed25519 public key.
    Ed25519(ed25519_dalek::VerifyingKey),
    /// A P-256 public key.
    EcdsaP256Sha256(p256::ecdsa::VerifyingKey),
    /// A shared secret.
    HmacSha256(Zeroizing<Vec<u8>>),
    /// An RSA public key.
    RsaPssSha512(rsa::RsaPublicKey),
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyingKey::HmacSha256(_) => f.write_str("VerifyingKey::HmacSha256(<redacted>)"),
            VerifyingKey::Ed25519(k) => f.debug_tuple("VerifyingKey::Ed25519").field(k).finish(),
            VerifyingKey::EcdsaP256Sha256(k) => f.debug_tuple("VerifyingKey::EcdsaP256Sha256").field(k).finish(),
            VerifyingKey::RsaPssSha512(k) => f.debug_tuple("VerifyingKey::RsaPssSha512").field(k).finish(),
        }
    }
}

fn is_pem(s: &str) -> bool {
    s.starts_with("-----BEGIN ")
}

fn b64(s: &str) -> Result<Vec<u8>, HttpSigError> {
    let compact: String = s.split_ascii_whitespace().collect();
    STANDARD
        .decode(&compact)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(&compact))
        .map_err(|_| HttpSigError::InvalidKey("expected Base64 or a PEM block".into()))
}

impl VerifyingKey {
    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            VerifyingKey::Ed25519(_) => Algorithm::Ed25519,
            VerifyingKey::EcdsaP256Sha256(_) => Algorithm::EcdsaP256Sha256,
            VerifyingKey::HmacSha256(_) => Algorithm::HmacSha256,
            VerifyingKey::RsaPssSha512(_) => Algorithm::RsaPssSha512,
        }
    }

    /// Read a key as tenants register it (`POST .../signing-keys`, field `key`):
    /// - `ed25519`: Base64 of the 32-byte public key, Base64 of the DER SPKI, or an SPKI PEM block.
    /// - `ecdsa-p256-sha256`: Base64 of the SEC1 point (33 or 65 bytes), Base64 of the DER SPKI, or an SPKI PEM.
    /// - `hmac-sha256`: Base64 of the shared secret (at least [`MIN_HMAC_KEY_LEN`] bytes).
    /// - `rsa-pss-sha512`: an SPKI (`PUBLIC KEY`) or PKCS#1 (`RSA PUBLIC KEY`) PEM block, or Base64 of either DER;
    ///   at least [`MIN_RSA_BITS`] bits.
    pub fn from_registration(alg: Algorithm, key: &str) -> Result<Self, HttpSigError> {
        use p256::pkcs8::DecodePublicKey;
        let key = key.trim();
        let bad = |what: &str| HttpSigError::InvalidKey(format!("not a valid {} {what}", alg.name()));
        match alg {
            Algorithm::Ed25519 => {
                let k = if is_pem(key) {
                    ed25519_dalek::VerifyingKey::from_public_key_pem(key).map_err(|_| bad("SPKI PEM"))?
                } else {
                    let raw = b64(key)?;
                    match <[u8; 32]>::try_from(raw.as_slice()) {
                        Ok(bytes) => ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|_| bad("public key"))?,
                        Err(_) => ed25519_dalek::VerifyingKey::from_public_key_der(&raw).map_err(|_| bad("key"))?,
                    }
                };
                if k.is_weak() {
                    return Err(bad("key (small-order point)"));
                }
                Ok(VerifyingKey::Ed25519(k))
            }
            Algorithm::EcdsaP256Sha256 => {
                let k = if is_pem(key) {
                    p256::ecdsa::VerifyingKey::from_public_key_pem(key).map_err(|_| bad("SPKI PEM"))?
                } else {
                    let raw = b64(key)?;
                    p256::ecdsa::VerifyingKey::from_sec1_bytes(&raw)
                        .or_else(|_| p256::ecdsa::VerifyingKey::from_public_key_der(&raw))
                        .map_err(|_| bad("key"))?
                };
                Ok(VerifyingKey::EcdsaP256Sha256(k))
            }
            Algorithm::HmacSha256 => {
                let raw = Zeroizing::new(b64(key)?);
                if raw.len() < MIN_HMAC_KEY_LEN {
                    return Err(HttpSigError::InvalidKey(format!(
                        "hmac-sha256 secrets must be at least {MIN_HMAC_KEY_LEN} bytes (Base64-encoded)"
                    )));
                }
                Ok(VerifyingKey::HmacSha256(raw))
            }
            Algorithm::RsaPssSha512 => {
                use rsa::pkcs1::DecodeRsaPublicKey;
                use rsa::traits::PublicKeyParts;
                let k = if key.starts_with("-----BEGIN RSA PUBLIC KEY-----") {
                    rsa::RsaPublicKey::from_pkcs1_pem(key).map_err(|_| bad("PKCS#1 PEM"))?
                } else if is_pem(key) {
                    rsa::RsaPublicKey::from_public_key_pem(key).map_err(|_| bad("SPKI PEM"))?
                } else {
                    let raw = b64(key)?;
                    rsa::RsaPublicKey::from_public_key_der(&raw)
                        .or_else(|_| rsa::RsaPublicKey::from_pkcs1_der(&raw))
                        .map_err(|_| bad("key"))?
                };
                if k.size() * 8 < MIN_RSA_BITS {
                    return Err(HttpSigError::InvalidKey(format!("RSA keys must be at least {MIN_RSA_BITS} bits")));
                }
                Ok(VerifyingKey::RsaPssSha512(k))
            }
        }
    }

    /// Whether `signature` is this key's signature over `base`.
    pub fn verify(&self, base: &[u8], signature: &[u8]) -> bool {
        use p256::ecdsa::signature::Verifier;
        match self {
            VerifyingKey::Ed25519(k) => {
                ed25519_dalek::Signature::from_slice(signature).is_ok_and(|s| k.verify_strict(base, &s).is_ok())
            }
            VerifyingKey::EcdsaP256Sha256(k) => {
                signature.len() == 64
                    && p256::ecdsa::Signature::from_slice(signature).is_ok_and(|s| k.verify(base, &s).is_ok())
            }
            VerifyingKey::HmacSha256(secret) => {
                let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret) else { return false };
                mac.update(base);
                mac.verify_slice(signature).is_ok()
            }
            VerifyingKey::RsaPssSha512(k) => {
                let vk = rsa::pss::VerifyingKey::<Sha512>::new(k.clone());
                rsa::pss::Signature::try_from(signature).is_ok_and(|s| vk.verify(base, &s).is_ok())
            }
        }
    }
}

/// A key that makes signatures (clients, benchmarks, tests).
#[derive(Clone)]
pub enum SigningKey {
    /// An ed25519 private key.
    Ed25519(ed25519_dalek::SigningKey),
    /// A P-256 private key (RFC 6979 deterministic nonces).
    EcdsaP256Sha256(p256::ecdsa::SigningKey),
    /// A shared secret.
    HmacSha256(Zeroizing<Vec<u8>>),
    /// An RSA private key (PSS with a random salt).
    RsaPssSha512(rsa::RsaPrivateKey),
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey::{}(<redacted>)", self.algorithm())
    }
}

impl SigningKey {
    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            SigningKey::Ed25519(_) => Algorithm::Ed25519,
            SigningKey::EcdsaP256Sha256(_) => Algorithm::EcdsaP256Sha256,
            SigningKey::HmacSha256(_) => Algorithm::HmacSha256,
            SigningKey::RsaPssSha512(_) => Algorithm::RsaPssSha512,
        }
    }

    /// The matching verifying key.
    pub fn verifying_key(&self) -> VerifyingKey {
        match self {
            SigningKey::Ed25519(k) => VerifyingKey::Ed25519(k.verifying_key()),
            SigningKey::EcdsaP256Sha256(k) => VerifyingKey::EcdsaP256Sha256(*k.verifying_key()),
            SigningKey::HmacSha256(s) => VerifyingKey::HmacSha256(s.clone()),
            SigningKey::RsaPssSha512(k) => VerifyingKey::RsaPssSha512(k.to_public_key()),
        }
    }

    /// The signature over `base`.
    pub fn sign(&self, base: &[u8]) -> Vec<u8> {
        use p256::ecdsa::signature::Signer;
        use rsa::signature::{RandomizedSigner, SignatureEncoding};
        match self {
            SigningKey::Ed25519(k) => k.sign(base).to_bytes().to_vec(),
            SigningKey::EcdsaP256Sha256(k) => {
                let s: p256::ecdsa::Signature = k.sign(base);
                s.to_bytes().to_vec()
            }
            SigningKey::HmacSha256(secret) => {
                let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
                    .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
                mac.update(base);
                mac.finalize().into_bytes().to_vec()
            }
            SigningKey::RsaPssSha512(k) => {
                let sk = rsa::pss::BlindedSigningKey::<Sha512>::new(k.clone());
                sk.sign_with_rng(&mut rand::rngs::OsRng, base).to_vec()
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The message
// ---------------------------------------------------------------------------------------------------------------

/// The configured public origin (`--public-origin https://host[:port]`): the scheme and authority the signer saw,
/// whatever proxy sits in front.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicOrigin {
    scheme: String,
    authority: String,
}

impl PublicOrigin {
    /// Parse `scheme://host[:port]` (an optional trailing `/` is allowed; no path, query, or userinfo). The scheme
    /// and host are lowercased and a default port (80 for http, 443 for https) is dropped, as RFC 9421 normalizes
    /// `@authority`.
    pub fn parse(origin: &str) -> Result<Self, HttpSigError> {
        let bad = || HttpSigError::InvalidOrigin(format!("`{origin}` is not scheme://host[:port]"));
        let (scheme, rest) = origin.trim().split_once("://").ok_or_else(bad)?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme.is_empty() || !scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) {
            return Err(bad());
        }
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() || authority.bytes().any(|b| b"/?#@ \t".contains(&b) || b.is_ascii_control()) {
            return Err(bad());
        }
        let mut authority = authority.to_ascii_lowercase();
        let (host_end, port) = match authority.rfind(':') {
            Some(i) if !authority[i..].contains(']') => (i, Some(authority[i + 1..].to_owned())),
            _ => (authority.len(), None),
        };
        if authority[..host_end].is_empty() {
            return Err(bad());
        }
        if let Some(port) = port {
            if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || port.parse::<u16>().is_err() {
                return Err(bad());
            }
            let default = matches!((scheme.as_str(), port.as_str()), ("http", "80") | ("https", "443"));
            if default {
                authority.truncate(host_end);
            }
        }
        Ok(PublicOrigin { scheme, authority })
    }

    /// `http` or `https` (lowercase).
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// `host[:port]`, lowercase, default port omitted.
    pub fn authority(&self) -> &str {
        &self.authority
    }
}

impl fmt::Display for PublicOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.authority)
    }
}

/// An HTTP message as the signer saw it.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// The method, as sent (`POST`).
    pub method: &'a str,
    /// The scheme (from the public origin).
    pub scheme: &'a str,
    /// The authority (from the public origin).
    pub authority: &'a str,
    /// The path as received, still percent-encoded (empty means `/`).
    pub path: &'a str,
    /// The query as received without the `?`, or `None` when the target has no `?`.
    pub query: Option<&'a str>,
    /// The header fields.
    pub headers: &'a HeaderMap,
    /// The status code, for a response (`@status`); `None` for a request.
    pub status: Option<u16>,
}

impl<'a> Message<'a> {
    /// A request whose target (`/path?query`, as received) is resolved against the public origin.
    pub fn request(origin: &'a PublicOrigin, method: &'a str, path_and_query: &'a str, headers: &'a HeaderMap) -> Self {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path_and_query, None),
        };
        Message { method, scheme: &origin.scheme, authority: &origin.authority, path, query, headers, status: None }
    }

    /// A response (only `@status` and fields can be covered).
    pub fn response(status: u16, headers: &'a HeaderMap) -> Self {
        Message { method: "", scheme: "", authority: "", path: "", query: None, headers, status: Some(status) }
    }

    /// All lines of a field, each trimmed of surrounding whitespace, joined with `, ` (RFC 9421 section 2.1).
    pub fn field(&self, name: &str) -> Option<Vec<u8>> {
        let mut it = self.headers.get_all(name).iter().peekable();
        it.peek()?;
        let mut out = Vec::new();
        for (i, v) in it.enumerate() {
            if i > 0 {
                out.extend_from_slice(b", ");
            }
            out.extend_from_slice(v.as_bytes().trim_ascii());
        }
        Some(out)
    }

    fn path_or_root(&self) -> &str {
        if self.path.is_empty() { "/" } else { self.path }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Components
// ---------------------------------------------------------------------------------------------------------------

/// One covered component identifier (RFC 9421 section 2): a name and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentId {
    /// The component name: a lowercase field name or a derived component such as `@method`.
    pub name: String,
    /// `sf`: the field is re-serialized as a structured field.
    pub sf: bool,
    /// `bs`: each field line is wrapped as a byte sequence.
    pub bs: bool,
    /// `key`: the named member of a dictionary field.
    pub key: Option<String>,
    /// `name`: the query parameter of `@query-param`.
    pub query_name: Option<String>,
    /// The identifier as it appears in the signature base (`"@query-param";name="Pet"`).
    pub serialized: String,
}

impl ComponentId {
    fn from_item(item: &sfv::Item) -> Result<Self, HttpSigError> {
        let name = item
            .bare_item
            .as_string()
            .ok_or_else(|| malformed_input("covered components must be strings"))?
            .as_str()
            .to_owned();
        if name.is_empty() || name.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(malformed_input(format!("component name `{name}` must be non-empty lowercase")));
        }
        let mut id =
            ComponentId { name, sf: false, bs: false, key: None, query_name: None, serialized: item.serialize() };
        for (k, v) in &item.params {
            let unsupported = || HttpSigError::UnsupportedComponent(id.serialized.clone());
            match (k.as_str(), v) {
                ("sf", BareItem::Boolean(b)) => id.sf = *b,
                ("bs", BareItem::Boolean(b)) => id.bs = *b,
                ("key", BareItem::String(s)) => id.key = Some(s.as_str().to_owned()),
                ("name", BareItem::String(s)) => id.query_name = Some(s.as_str().to_owned()),
                ("req" | "tr", BareItem::Boolean(false)) => {}
                _ => return Err(unsupported()),
            }
        }
        let derived = id.name.starts_with('@');
        let ok = if derived {
            !id.sf && !id.bs && id.key.is_none() && (id.query_name.is_some() == (id.name == "@query-param"))
        } else {
            id.query_name.is_none() && !(id.bs && (id.sf || id.key.is_some()))
        };
        if !ok {
            return Err(HttpSigError::UnsupportedComponent(id.serialized));
        }
        Ok(id)
    }

    /// Whether this identifier covers the whole component `name` (no `key`/`name` selection).
    fn covers_whole(&self, name: &str) -> bool {
        self.name == name && self.key.is_none() && self.query_name.is_none()
    }
}

#[derive(Clone, Copy)]
enum SfType {
    Dictionary,
    List,
    Item,
}

/// Structured fields whose type Sova knows (for `sf` and `key`).
fn sf_type(name: &str) -> Option<SfType> {
    match name {
        "signature"
        | "signature-input"
        | "accept-signature"
        | "content-digest"
        | "repr-digest"
        | "want-content-digest"
        | "want-repr-digest"
        | "priority"
        | "cdn-cache-control" => Some(SfType::Dictionary),
        "cache-status" | "proxy-status" | "accept-ch" | "client-cert-chain" => Some(SfType::List),
        "client-cert" => Some(SfType::Item),
        _ => None,
    }
}

/// The form-urlencoded percent-encoding of RFC 9421 section 2.2.8 (space as `%20`).
fn query_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20")
}

fn component_value(msg: &Message<'_>, id: &ComponentId) -> Result<Vec<u8>, HttpSigError> {
    let absent = || HttpSigError::ComponentAbsent(id.serialized.clone());
    let request_only = |v: &str| -> Result<Vec<u8>, HttpSigError> {
        if msg.status.is_some() { Err(absent()) } else { Ok(v.as_bytes().to_vec()) }
    };
    match id.name.as_str() {
        "@method" => request_only(msg.method),
        "@authority" => request_only(msg.authority),
        "@scheme" => request_only(&msg.scheme.to_ascii_lowercase()),
        "@path" => request_only(msg.path_or_root()),
        "@query" => request_only(&format!("?{}", msg.query.unwrap_or(""))),
        "@request-target" => request_only(&match msg.query {
            Some(q) => format!("{}?{q}", msg.path_or_root()),
            None => msg.path_or_root().to_owned(),
        }),
        "@target-uri" => request_only(&format!(
            "{}://{}{}{}",
            msg.scheme.to_ascii_lowercase(),
            msg.authority,
            msg.path_or_root(),
            msg.query.map(|q| format!("?{q}")).unwrap_or_default()
        )),
        "@query-param" => {
            if msg.status.is_some() {
                return Err(absent());
            }
            let wanted = id.query_name.as_deref().unwrap_or_default();
            let mut found = form_urlencoded::parse(msg.query.unwrap_or("").as_bytes())
                .filter(|(k, _)| query_encode(k) == wanted || k == wanted)
                .map(|(_, v)| query_encode(&v));
            match (found.next(), found.next()) {
                (Some(v), None) => Ok(v.into_bytes()),
                (Some(_), Some(_)) => Err(HttpSigError::UnsupportedComponent(format!(
                    "{} (the parameter occurs more than once; cover @query instead)",
                    id.serialized
                ))),
                (None, _) => Err(absent()),
            }
        }
        "@status" => msg.status.map(|s| format!("{s:03}").into_bytes()).ok_or_else(absent),
        name if name.starts_with('@') => Err(HttpSigError::UnsupportedComponent(id.serialized.clone())),
        name => {
            if id.bs {
                let mut out = Vec::new();
                let mut any = false;
                for (i, v) in msg.headers.get_all(name).iter().enumerate() {
                    any = true;
                    if i > 0 {
                        out.extend_from_slice(b", ");
                    }
                    out.push(b':');
                    out.extend_from_slice(STANDARD.encode(v.as_bytes().trim_ascii()).as_bytes());
                    out.push(b':');
                }
                return if any { Ok(out) } else { Err(absent()) };
            }
            let raw = msg.field(name).ok_or_else(absent)?;
            if !id.sf && id.key.is_none() {
                return Ok(raw);
            }
            let not_sf = || HttpSigError::ComponentAbsent(format!("{} (not a valid structured field)", id.serialized));
            if let Some(key) = &id.key {
                let dict: sfv::Dictionary = sfv::Parser::new(&raw).parse().map_err(|_| not_sf())?;
                let member = dict.get(key.as_str()).ok_or_else(absent)?;
                let s = match member {
                    ListEntry::Item(item) => item.serialize(),
                    ListEntry::InnerList(_) => vec![member.clone()].serialize().unwrap_or_default(),
                };
                return Ok(s.into_bytes());
            }
            let s = match sf_type(name) {
                Some(SfType::Dictionary) => sfv::Parser::new(&raw)
                    .parse::<sfv::Dictionary>()
                    .map_err(|_| not_sf())?
                    .serialize()
                    .unwrap_or_default(),
                Some(SfType::List) => {
                    sfv::Parser::new(&raw).parse::<sfv::List>().map_err(|_| not_sf())?.serialize().unwrap_or_default()
                }
                Some(SfType::Item) => sfv::Parser::new(&raw).parse::<sfv::Item>().map_err(|_| not_sf())?.serialize(),
                None => {
                    return Err(HttpSigError::UnsupportedComponent(format!(
                        "{} (`sf` on a field of unknown structured type)",
                        id.serialized
                    )));
                }
            };
            Ok(s.into_bytes())
        }
    }
}

/// The signature base (RFC 9421 section 2.5): one line per covered component, then the `@signature-params` line
/// holding `params_value` exactly as given (for verification: the received `Signature-Input` member value).
pub fn signature_base(
    msg: &Message<'_>,
    components: &[ComponentId],
    params_value: &str,
) -> Result<Vec<u8>, HttpSigError> {
    let mut base = Vec::with_capacity(256 + params_value.len());
    for (i, id) in components.iter().enumerate() {
        if components[..i].iter().any(|c| c.serialized == id.serialized) {
            return Err(HttpSigError::DuplicateComponent(id.serialized.clone()));
        }
        if id.name == "@signature-params" {
            return Err(HttpSigError::UnsupportedComponent(id.serialized.clone()));
        }
        let value = component_value(msg, id)?;
        if value.iter().any(|b| *b == b'\n' || *b == b'\r') {
            return Err(HttpSigError::UnsupportedComponent(format!("{} (value contains a line break)", id.serialized)));
        }
        base.extend_from_slice(id.serialized.as_bytes());
        base.extend_from_slice(b": ");
        base.extend_from_slice(&value);
        base.push(b'\n');
    }
    base.extend_from_slice(b"\"@signature-params\": ");
    base.extend_from_slice(params_value.as_bytes());
    Ok(base)
}

// ---------------------------------------------------------------------------------------------------------------
// Signature-Input / Signature
// ---------------------------------------------------------------------------------------------------------------

/// Split a dictionary field into `(key, member value)` pairs, keeping each member value's exact text. Commas only
/// separate members outside quoted strings (RFC 8941 has no other construct that can hold one).
fn raw_members(s: &str) -> Vec<(&str, &str)> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_string = false;
    let mut escaped = false;
    let mut push = |from: usize, to: usize| {
        let member = s[from..to].trim_matches([' ', '\t']);
        let (k, v) = member.split_once('=').unwrap_or((member, ""));
        out.push((k, v));
    };
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else if b == b',' {
            push(start, i);
            start = i + 1;
        }
    }
    push(start, bytes.len());
    out
}

/// One signature read from `Signature-Input` and `Signature`, before any key is involved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureInput {
    /// The dictionary label (`sig1`).
    pub label: String,
    /// The covered components, in order.
    pub components: Vec<ComponentId>,
    /// `keyid`.
    pub keyid: Option<String>,
    /// `alg`.
    pub alg: Option<String>,
    /// `created` (Unix seconds).
    pub created: Option<i64>,
    /// `expires` (Unix seconds).
    pub expires: Option<i64>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// `tag`.
    pub tag: Option<String>,
    /// The member value exactly as received: the `@signature-params` line of the base.
    pub params_value: String,
    /// The signature bytes from `Signature`.
    pub signature: Vec<u8>,
}

fn parse_members(field: &[u8]) -> Result<Vec<SignatureInput>, HttpSigError> {
    let text = std::str::from_utf8(field).map_err(|_| malformed_input("not ASCII"))?;
    let dict: sfv::Dictionary =
        sfv::Parser::new(text).parse().map_err(|e| malformed_input(format!("not a structured dictionary ({e})")))?;
    let raw = raw_members(text);
    if raw.len() != dict.len() || raw.iter().zip(dict.keys()).any(|((k, _), key)| *k != key.as_str()) {
        return Err(malformed_input("duplicate or unreadable labels"));
    }
    let mut out = Vec::with_capacity(dict.len());
    for ((label, entry), (_, value)) in dict.iter().zip(raw) {
        let ListEntry::InnerList(list) = entry else {
            return Err(malformed_input(format!("`{label}` must be an inner list of components")));
        };
        let components = list.items.iter().map(ComponentId::from_item).collect::<Result<Vec<_>, _>>()?;
        let mut input = SignatureInput {
            label: label.as_str().to_owned(),
            components,
            keyid: None,
            alg: None,
            created: None,
            expires: None,
            nonce: None,
            tag: None,
            params_value: value.to_owned(),
            signature: Vec::new(),
        };
        for (k, v) in &list.params {
            let wrong = |what: &str| malformed_input(format!("`{}` must be {what}", k.as_str()));
            let string = || v.as_string().map(|s| s.as_str().to_owned()).ok_or_else(|| wrong("a string"));
            let integer =
                || v.as_integer().map(i64::from).filter(|n| *n >= 0).ok_or_else(|| wrong("a non-negative integer"));
            match k.as_str() {
                "created" => input.created = Some(integer()?),
                "expires" => input.expires = Some(integer()?),
                "keyid" => input.keyid = Some(string()?),
                "alg" => input.alg = Some(string()?),
                "nonce" => input.nonce = Some(string()?),
                "tag" => input.tag = Some(string()?),
                // Other parameters are covered by the signature (verbatim) and otherwise ignored.
                _ => {}
            }
        }
        out.push(input);
    }
    Ok(out)
}

/// Parse `Signature-Input` and `Signature` (each all field lines joined with `, `), select one signature by `label`
/// and/or `tag` (or the only one), and attach its signature bytes.
pub fn parse_signature(
    signature_input: Option<&[u8]>,
    signature: Option<&[u8]>,
    label: Option<&str>,
    tag: Option<&str>,
) -> Result<SignatureInput, HttpSigError> {
    let field = signature_input.ok_or(HttpSigError::MissingSignatureInput)?;
    let mut candidates = parse_members(field)?;
    let any = !candidates.is_empty();
    candidates.retain(|c| label.is_none_or(|l| c.label == l) && tag.is_none_or(|t| c.tag.as_deref() == Some(t)));
    let mut chosen = match candidates.len() {
        1 => candidates.swap_remove(0),
        0 if any => return Err(HttpSigError::NoMatchingSignature),
        0 => return Err(HttpSigError::MissingSignatureInput),
        _ => return Err(HttpSigError::MultipleSignatures),
    };
    let sig_field = signature.ok_or_else(|| HttpSigError::MissingSignature(chosen.label.clone()))?;
    let sigs: sfv::Dictionary = sfv::Parser::new(sig_field)
        .parse()
        .map_err(|e| HttpSigError::MalformedSignature(format!("not a structured dictionary ({e})")))?;
    let entry = sigs.get(chosen.label.as_str()).ok_or_else(|| HttpSigError::MissingSignature(chosen.label.clone()))?;
    chosen.signature = match entry {
        ListEntry::Item(item) => item.bare_item.as_byte_sequence().map(<[u8]>::to_vec),
        ListEntry::InnerList(_) => None,
    }
    .ok_or_else(|| HttpSigError::MalformedSignature(format!("`{}` must be a byte sequence", chosen.label)))?;
    Ok(chosen)
}

// ---------------------------------------------------------------------------------------------------------------
// Policy and verification
// ---------------------------------------------------------------------------------------------------------------

/// A component requirement of the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// This component must be covered (whole: no `key` / `name` selection).
    Component(String),
    /// At least one of these sets must be covered entirely.
    AnyOf(Vec<Vec<String>>),
}

impl Requirement {
    fn satisfied(&self, covered: &[ComponentId]) -> bool {
        let has = |n: &str| covered.iter().any(|c| c.covers_whole(n));
        match self {
            Requirement::Component(n) => has(n),
            Requirement::AnyOf(sets) => sets.iter().any(|set| set.iter().all(|n| has(n))),
        }
    }

    fn describe(&self) -> String {
        match self {
            Requirement::Component(n) => n.clone(),
            Requirement::AnyOf(sets) => sets.iter().map(|s| s.join(" + ")).collect::<Vec<_>>().join(" or "),
        }
    }
}

/// What a signature must satisfy besides verifying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The server clock, Unix seconds.
    pub now: i64,
    /// Allowed `|now - created|`, seconds.
    pub max_skew_secs: i64,
    /// Refuse signatures without `created`.
    pub require_created: bool,
    /// Refuse signatures without `nonce`.
    pub require_nonce: bool,
    /// Components that must be covered.
    pub required: Vec<Requirement>,
    /// Verify the signature with this label (otherwise the only one, after `tag`).
    pub label: Option<String>,
    /// Verify the signature with this `tag`.
    pub tag: Option<String>,
}

impl Policy {
    /// Sova's policy (`spec/siwx-httpsig.md`): `@method`, `@target-uri` (or `@authority` + `@path` + `@query`) and
    /// `authorization`; with a body also `content-digest`, `content-type` and `idempotency-key`; `created` within
    /// [`DEFAULT_MAX_SKEW_SECS`]; `nonce` optional.
    pub fn sova(now: i64, has_body: bool) -> Self {
        let c = |n: &str| Requirement::Component(n.to_owned());
        let mut required = vec![
            c("@method"),
            Requirement::AnyOf(vec![
                vec!["@target-uri".to_owned()],
                vec!["@authority".to_owned(), "@path".to_owned(), "@query".to_owned()],
            ]),
            c("authorization"),
        ];
        if has_body {
            required.extend([c("content-digest"), c("content-type"), c("idempotency-key")]);
        }
        Policy {
            now,
            max_skew_secs: DEFAULT_MAX_SKEW_SECS,
            require_created: true,
            require_nonce: false,
            required,
            label: None,
            tag: None,
        }
    }

    /// No component requirement and no `created` requirement (`created` and `expires` are still checked when
    /// present). For verifying published vectors.
    pub fn lenient(now: i64, max_skew_secs: i64) -> Self {
        Policy {
            now,
            max_skew_secs,
            require_created: false,
            require_nonce: false,
            required: Vec::new(),
            label: None,
            tag: None,
        }
    }

    /// Check a parsed signature against the policy (everything that needs no key).
    pub fn check(&self, sig: &SignatureInput) -> Result<(), HttpSigError> {
        if sig.keyid.is_none() {
            return Err(HttpSigError::MissingKeyid);
        }
        match sig.created {
            None if self.require_created => return Err(HttpSigError::MissingCreated),
            None => {}
            Some(created) => {
                if created < self.now.saturating_sub(self.max_skew_secs) {
                    return Err(HttpSigError::StaleCreated { created, now: self.now, max_skew: self.max_skew_secs });
                }
                if created > self.now.saturating_add(self.max_skew_secs) {
                    return Err(HttpSigError::CreatedInFuture { created, now: self.now, max_skew: self.max_skew_secs });
                }
            }
        }
        if let Some(expires) = sig.expires
            && self.now > expires
        {
            return Err(HttpSigError::Expired { expires, now: self.now });
        }
        if self.require_nonce && sig.nonce.is_none() {
            return Err(HttpSigError::MissingNonce);
        }
        if let Some(missing) = self.required.iter().find(|r| !r.satisfied(&sig.components)) {
            return Err(HttpSigError::MissingComponent(missing.describe()));
        }
        Ok(())
    }
}

/// A signature that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The label.
    pub label: String,
    /// The key that made it.
    pub keyid: String,
    /// The key's algorithm.
    pub alg: Algorithm,
    /// `created`.
    pub created: Option<i64>,
    /// `expires`.
    pub expires: Option<i64>,
    /// `nonce`, for the caller's replay store.
    pub nonce: Option<String>,
    /// `tag`.
    pub tag: Option<String>,
    /// The covered component identifiers, as serialized in the base.
    pub components: Vec<String>,
    /// Until when (Unix seconds) the same signature could still pass the time checks, so how long a replay store
    /// must remember `(keyid, nonce)`: `min(created + max_skew, expires)`; `None` if neither bounds it.
    pub replay_until: Option<i64>,
}

/// Step 1: parse the request's signature fields and apply the key-independent policy checks.
pub fn prepare(msg: &Message<'_>, policy: &Policy) -> Result<SignatureInput, HttpSigError> {
    let input = msg.field("signature-input");
    let signature = msg.field("signature");
    let sig = parse_signature(input.as_deref(), signature.as_deref(), policy.label.as_deref(), policy.tag.as_deref())?;
    policy.check(&sig)?;
    Ok(sig)
}

/// Step 3: `alg` agreement, the signature base, and the cryptographic check with the key `sig.keyid` named.
pub fn verify_with_key(
    msg: &Message<'_>,
    sig: &SignatureInput,
    key: &VerifyingKey,
    policy: &Policy,
) -> Result<VerifiedSignature, HttpSigError> {
    let key_alg = key.algorithm();
    if let Some(declared) = &sig.alg {
        match Algorithm::from_name(declared) {
            None => return Err(HttpSigError::UnknownAlgorithm(declared.clone())),
            Some(a) if a != key_alg => {
                return Err(HttpSigError::AlgMismatch { declared: declared.clone(), key: key_alg.name() });
            }
            Some(_) => {}
        }
    }
    let base = signature_base(msg, &sig.components, &sig.params_value)?;
    if !key.verify(&base, &sig.signature) {
        return Err(HttpSigError::BadSignature);
    }
    let by_created = sig.created.map(|c| c.saturating_add(policy.max_skew_secs));
    let replay_until = match (by_created, sig.expires) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Ok(VerifiedSignature {
        label: sig.label.clone(),
        keyid: sig.keyid.clone().unwrap_or_default(),
        alg: key_alg,
        created: sig.created,
        expires: sig.expires,
        nonce: sig.nonce.clone(),
        tag: sig.tag.clone(),
        components: sig.components.iter().map(|c| c.serialized.clone()).collect(),
        replay_until,
    })
}

/// All three steps with a synchronous key lookup (`None` → [`HttpSigError::UnknownKey`]).
pub fn verify<K, F>(msg: &Message<'_>, policy: &Policy, lookup: F) -> Result<VerifiedSignature, HttpSigError>
where
    K: Borrow<VerifyingKey>,
    F: FnOnce(&str) -> Option<K>,
{
    let sig = prepare(msg, policy)?;
    let keyid = sig.keyid.as_deref().unwrap_or_default();
    let key = lookup(keyid).ok_or_else(|| HttpSigError::UnknownKey(keyid.to_owned()))?;
    verify_with_key(msg, &sig, key.borrow(), policy)
}

// ---------------------------------------------------------------------------------------------------------------
// Signing
// ---------------------------------------------------------------------------------------------------------------

/// The parameters of a signature to create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignatureParams {
    /// Covered components: bare names (`@method`, `content-digest`) or full identifiers
    /// (`"@query-param";name="Pet"`).
    pub components: Vec<String>,
    /// `created`.
    pub created: Option<i64>,
    /// `keyid`.
    pub keyid: Option<String>,
    /// `alg`.
    pub alg: Option<Algorithm>,
    /// `expires`.
    pub expires: Option<i64>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// `tag`.
    pub tag: Option<String>,
}

impl SignatureParams {
    /// The `@signature-params` value / `Signature-Input` member value, parameters in the order created, keyid,
    /// alg, expires, nonce, tag.
    pub fn serialize(&self) -> Result<String, HttpSigError> {
        let bad = |what: &str| malformed_input(format!("cannot serialize {what}"));
        let mut items = Vec::with_capacity(self.components.len());
        for c in &self.components {
            let item = if c.starts_with('"') {
                sfv::Parser::new(c).parse::<sfv::Item>().map_err(|_| bad(c))?
            } else {
                sfv::Item::new(sfv::StringRef::from_str(c).map_err(|_| bad(c))?)
            };
            items.push(item);
        }
        let mut params = sfv::Parameters::new();
        let key = |k: &str| sfv::Key::from_string(k.to_owned()).map_err(|_| bad(k));
        let string = |v: &str| {
            sfv::String::from_string(v.to_owned()).map(BareItem::String).map_err(|_| bad("a non-ASCII string"))
        };
        let int = |v: i64| sfv::Integer::try_from(v).map(BareItem::Integer).map_err(|_| bad("an integer"));
        if let Some(v) = self.created {
            params.insert(key("created")?, int(v)?);
        }
        if let Some(v) = &self.keyid {
            params.insert(key("keyid")?, string(v)?);
        }
        if let Some(v) = self.alg {
            params.insert(key("alg")?, string(v.name())?);
        }
        if let Some(v) = self.expires {
            params.insert(key("expires")?, int(v)?);
        }
        if let Some(v) = &self.nonce {
            params.insert(key("nonce")?, string(v)?);
        }
        if let Some(v) = &self.tag {
            params.insert(key("tag")?, string(v)?);
        }
        let list: sfv::List = vec![ListEntry::InnerList(sfv::InnerList::with_params(items, params))];
        list.serialize().ok_or_else(|| bad("the inner list"))
    }
}

/// The two header values a signer adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `Signature-Input: <label>=<params>`.
    pub signature_input: String,
    /// `Signature: <label>=:<base64>:`.
    pub signature: String,
}

/// Sign `msg` with `key` under `label` (RFC 9421 section 3.1).
pub fn sign(
    msg: &Message<'_>,
    label: &str,
    params: &SignatureParams,
    key: &SigningKey,
) -> Result<SignedHeaders, HttpSigError> {
    let value = params.serialize()?;
    let input_field = format!("{label}={value}");
    let parsed = parse_members(input_field.as_bytes())?;
    let [parsed] = parsed.as_slice() else {
        return Err(malformed_input(format!("label `{label}` is not a structured-field key")));
    };
    if parsed.label != label {
        return Err(malformed_input(format!("label `{label}` is not a structured-field key")));
    }
    let base = signature_base(msg, &parsed.components, &parsed.params_value)?;
    let sig = key.sign(&base);
    Ok(SignedHeaders { signature_input: input_field, signature: format!("{label}=:{}:", STANDARD.encode(sig)) })
}
