//! Sign-In With X (CAIP-122) ownership challenges: CAIP-10 account ids, the challenge text (EIP-4361 for `eip155`,
//! the CAIP-122 Solana profile for `solana`), and signature verification (EIP-191 `personal_sign` with secp256k1
//! recovery; ed25519 for Solana). `spec/siwx-httpsig.md` is authoritative.
//!
//! Rules this module follows:
//! - The challenge text is rendered once, when issued, with bare LF line ends and no trailing LF; with no statement
//!   the address line is followed by three LFs. The server stores those exact bytes and verifies a signature against
//!   them ([`verify_signed_challenge`]); [`parse_challenge`] reads fields back (for expiry) but nothing is ever
//!   re-rendered from parsed fields.
//! - CAIP-10 `eip155` addresses may be all lower case, all upper case, or mixed case; mixed case must be a valid
//!   EIP-55 checksum. The challenge always shows the EIP-55 form. Recovered addresses are compared as 20-byte values
//!   (case-insensitive).
//! - EIP-191 signatures are 65 bytes `r|s|v` with `v` in {27, 28, 0, 1}, given as Base64 of the raw bytes (what the
//!   seed's example decodes to) or as a `0x` hex string. Base64 of the hex text (`"0x…"`) is tolerated too.
//! - Solana: the address is the base58 ed25519 public key; the signature (64 bytes, Base64, base58 or `0x` hex) is
//!   checked with `verify_strict` over the UTF-8 text.

use std::fmt;
use std::str::FromStr;

use alloy_primitives::Address;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use chrono::{DateTime, FixedOffset, SecondsFormat, TimeDelta, Utc};
use secp256k1::ecdsa::{RecoverableSignature, RecoveryId};

use crate::ExposeSecret;

/// How long an issued challenge stays valid (`Expiration Time` = `Issued At` + this).
pub const CHALLENGE_TTL_SECS: i64 = 3600;
/// The shortest nonce EIP-4361 allows.
pub const MIN_NONCE_LEN: usize = 8;
/// The length of nonces made by [`new_nonce`] (base62, about 101 bits).
pub const NONCE_LEN: usize = 17;

/// CAIP-2 reference of Solana mainnet-beta (first 32 base58 characters of the genesis hash).
pub const SOLANA_MAINNET: &str = "5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp";
/// CAIP-2 reference of Solana devnet.
pub const SOLANA_DEVNET: &str = "EtWTRABZaYq6iMfeYKouRu166VU2xqa1";
/// CAIP-2 reference of Solana testnet.
pub const SOLANA_TESTNET: &str = "4uhcVJyU9pJkvQyS88uRDiswHXSCkY3z";

/// Why a SIWX step was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SiwxError {
    /// Not a CAIP-10 account id (`namespace:reference:address`), or a part is invalid for its namespace.
    #[error("invalid CAIP-10 account id: {0}")]
    InvalidAccountId(String),
    /// A CAIP-10 namespace other than `eip155` and `solana`.
    #[error("unsupported CAIP-2 namespace `{0}` (supported: eip155, solana)")]
    UnsupportedNamespace(String),
    /// A mixed-case `eip155` address whose case is not its EIP-55 checksum.
    #[error("address `{0}` has mixed case but is not a valid EIP-55 checksum")]
    BadChecksum(String),
    /// A challenge field cannot be rendered (issuing) or the text does not follow the grammar (parsing).
    #[error("invalid challenge: {0}")]
    InvalidChallenge(String),
    /// The submitted challenge is not Base64 of UTF-8 text.
    #[error("challenge must be the Base64 string issued by the API")]
    ChallengeMalformed,
    /// The submitted challenge differs from the one issued (tampered, or an older one).
    #[error("challenge does not match the challenge issued for this customer")]
    ChallengeMismatch,
    /// The challenge's `Expiration Time` has passed.
    #[error("challenge expired; fetch the new one with GET .../challenge")]
    ChallengeExpired,
    /// The challenge's `Not Before` has not come yet.
    #[error("challenge is not valid yet")]
    ChallengeNotYetValid,
    /// `ownerId` names another account than the customer's.
    #[error("ownerId does not match the customer's account")]
    OwnerMismatch,
    /// The signature is not in an accepted encoding or has the wrong length.
    #[error("malformed signature: {0}")]
    MalformedSignature(String),
    /// EIP-191 `v` byte outside {27, 28, 0, 1}.
    #[error("signature recovery byte v={0} is not 27, 28, 0 or 1")]
    BadRecoveryId(u8),
    /// The signature does not verify (no key recoverable, or ed25519 verification failed).
    #[error("signature does not verify")]
    BadSignature,
    /// The signature is valid but made by another account.
    #[error("signature was made by {recovered}, not by the challenge's account")]
    WrongSigner {
        /// The EIP-55 address recovered from the signature.
        recovered: String,
    },
}

impl SiwxError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            SiwxError::InvalidAccountId(_) => "SIWX_INVALID_ACCOUNT_ID",
            SiwxError::UnsupportedNamespace(_) => "SIWX_UNSUPPORTED_NAMESPACE",
            SiwxError::BadChecksum(_) => "SIWX_BAD_CHECKSUM",
            SiwxError::InvalidChallenge(_) => "SIWX_INVALID_CHALLENGE",
            SiwxError::ChallengeMalformed => "SIWX_CHALLENGE_MALFORMED",
            SiwxError::ChallengeMismatch => "SIWX_CHALLENGE_MISMATCH",
            SiwxError::ChallengeExpired => "SIWX_CHALLENGE_EXPIRED",
            SiwxError::ChallengeNotYetValid => "SIWX_CHALLENGE_NOT_YET_VALID",
            SiwxError::OwnerMismatch => "SIWX_OWNER_MISMATCH",
            SiwxError::MalformedSignature(_) => "SIWX_MALFORMED_SIGNATURE",
            SiwxError::BadRecoveryId(_) => "SIWX_BAD_RECOVERY_ID",
            SiwxError::BadSignature => "SIWX_BAD_SIGNATURE",
            SiwxError::WrongSigner { .. } => "SIWX_WRONG_SIGNER",
        }
    }
}

fn invalid(msg: impl Into<String>) -> SiwxError {
    SiwxError::InvalidChallenge(msg.into())
}

// ---------------------------------------------------------------------------------------------------------------
// CAIP-10
// ---------------------------------------------------------------------------------------------------------------

/// The CAIP-2 namespaces Sova verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Namespace {
    /// EVM chains; the reference is the decimal chain id.
    Eip155,
    /// Solana; the reference is the first 32 base58 characters of the genesis hash.
    Solana,
}

impl Namespace {
    /// `eip155` or `solana`.
    pub fn as_str(self) -> &'static str {
        match self {
            Namespace::Eip155 => "eip155",
            Namespace::Solana => "solana",
        }
    }

    /// The word in the challenge's first line: `Ethereum` or `Solana`.
    pub fn account_word(self) -> &'static str {
        match self {
            Namespace::Eip155 => "Ethereum",
            Namespace::Solana => "Solana",
        }
    }
}

/// A CAIP-10 account id, validated and held in canonical form (EIP-55 address for `eip155`), so `==` compares
/// accounts (an `eip155` address in any accepted case equals its EIP-55 form).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountId {
    namespace: Namespace,
    reference: String,
    address: String,
}

fn is_caip2_reference(s: &str) -> bool {
    (1..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_base58(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() && !matches!(b, b'0' | b'O' | b'I' | b'l'))
}

/// Parse an EVM address `0x` + 40 hex digits: any single case, or mixed case that is its EIP-55 checksum.
pub fn parse_evm_address(s: &str) -> Result<Address, SiwxError> {
    let hex_part = s
        .strip_prefix("0x")
        .filter(|h| h.len() == 40 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| SiwxError::InvalidAccountId(format!("`{s}` is not 0x followed by 40 hex digits")))?;
    let address =
        Address::from_str(s).map_err(|_| SiwxError::InvalidAccountId(format!("`{s}` is not an EVM address")))?;
    let has_lower = hex_part.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = hex_part.bytes().any(|b| b.is_ascii_uppercase());
    if has_lower && has_upper && address.to_checksum(None) != s {
        return Err(SiwxError::BadChecksum(s.to_owned()));
    }
    Ok(address)
}

/// Parse a Solana address: base58 of a 32-byte ed25519 public key.
pub fn parse_solana_address(s: &str) -> Result<[u8; 32], SiwxError> {
    let bad = || SiwxError::InvalidAccountId(format!("`{s}` is not a base58 32-byte Solana address"));
    if !(32..=44).contains(&s.len()) || !is_base58(s) {
        return Err(bad());
    }
    let bytes = bs58::decode(s).into_vec().map_err(|_| bad())?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| bad())
}

impl AccountId {
    /// Parse and validate `namespace:reference:address`.
    ///
    /// `eip155`: the reference is a decimal chain id without leading zeros (1 to 2^64-1); the address as
    /// [`parse_evm_address`]. `solana`: the reference is 32 base58 characters; the address base58 of 32 bytes.
    pub fn parse(s: &str) -> Result<Self, SiwxError> {
        let mut parts = s.splitn(3, ':');
        let (Some(ns), Some(reference), Some(address)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(SiwxError::InvalidAccountId(format!(
                "`{s}` is not namespace:reference:address, e.g. eip155:1:0xab16a96D359eC26a11e2C2b3d8f8B8942d5Bfcdb"
            )));
        };
        if !(3..=8).contains(&ns.len())
            || !ns.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(SiwxError::InvalidAccountId(format!("`{ns}` is not a CAIP-2 namespace")));
        }
        if !is_caip2_reference(reference) {
            return Err(SiwxError::InvalidAccountId(format!("`{reference}` is not a CAIP-2 reference")));
        }
        match ns {
            "eip155" => {
                if reference.starts_with('0') || reference.parse::<u64>().is_err() {
                    return Err(SiwxError::InvalidAccountId(format!(
                        "eip155 chain id `{reference}` must be a decimal integer from 1 without leading zeros"
                    )));
                }
                let addr = parse_evm_address(address)?;
                Ok(AccountId {
                    namespace: Namespace::Eip155,
                    reference: reference.to_owned(),
                    address: addr.to_checksum(None),
                })
            }
            "solana" => {
                if reference.len() != 32 || !is_base58(reference) {
                    return Err(SiwxError::InvalidAccountId(format!(
                        "solana reference `{reference}` must be the 32-character base58 genesis hash prefix"
                    )));
                }
                parse_solana_address(address)?;
                Ok(AccountId {
                    namespace: Namespace::Solana,
                    reference: reference.to_owned(),
                    address: address.to_owned(),
                })
            }
            other => Err(SiwxError::UnsupportedNamespace(other.to_owned())),
        }
    }

    /// The namespace.
    pub fn namespace(&self) -> Namespace {
        self.namespace
    }

    /// The CAIP-2 reference (chain id for `eip155`, genesis prefix for `solana`).
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// The address in canonical form (EIP-55 for `eip155`, base58 for `solana`).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The CAIP-2 chain id, e.g. `eip155:1`.
    pub fn chain_id(&self) -> String {
        format!("{}:{}", self.namespace.as_str(), self.reference)
    }

    /// The EVM chain id, for `eip155` accounts.
    pub fn eip155_chain_id(&self) -> Option<u64> {
        match self.namespace {
            Namespace::Eip155 => self.reference.parse().ok(),
            Namespace::Solana => None,
        }
    }

    /// The EVM address, for `eip155` accounts.
    pub fn evm_address(&self) -> Option<Address> {
        match self.namespace {
            Namespace::Eip155 => Address::from_str(&self.address).ok(),
            Namespace::Solana => None,
        }
    }
}

impl fmt::Display for AccountId {
    /// The canonical CAIP-10 string, e.g. `eip155:1:0xab16a96D359eC26a11e2C2b3d8f8B8942d5Bfcdb`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.namespace.as_str(), self.reference, self.address)
    }
}

impl FromStr for AccountId {
    type Err = SiwxError;
    fn from_str(s: &str) -> Result<Self, SiwxError> {
        AccountId::parse(s)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Grammar helpers (EIP-4361 ABNF, RFC 3986)
// ---------------------------------------------------------------------------------------------------------------

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn is_sub_delim(b: u8) -> bool {
    matches!(b, b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=')
}

fn is_reserved(b: u8) -> bool {
    is_sub_delim(b) || matches!(b, b':' | b'/' | b'?' | b'#' | b'[' | b']' | b'@')
}

/// Every `%` is followed by two hex digits.
fn pct_ok(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter()
        .enumerate()
        .filter(|(_, c)| **c == b'%')
        .all(|(i, _)| b.len() > i + 2 && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit())
}

/// RFC 3986 `scheme`.
fn is_scheme(s: &str) -> bool {
    let mut it = s.bytes();
    it.next().is_some_and(|b| b.is_ascii_alphabetic())
        && it.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// RFC 3986 `authority` (`[userinfo@]host[:port]`), checked for its character set and shape.
fn is_authority(s: &str) -> bool {
    if s.is_empty() || !pct_ok(s) {
        return false;
    }
    let hostport = match s.rsplit_once('@') {
        Some((userinfo, hp)) => {
            if !userinfo.bytes().all(|b| is_unreserved(b) || is_sub_delim(b) || b == b':' || b == b'%') {
                return false;
            }
            hp
        }
        None => s,
    };
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let Some((inside, after)) = rest.split_once(']') else { return false };
        if inside.is_empty() || !inside.bytes().all(|b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.')) {
            return false;
        }
        match after {
            "" => (inside, None),
            _ => match after.strip_prefix(':') {
                Some(p) => (inside, Some(p)),
                None => return false,
            },
        }
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let host_ok = hostport.starts_with('[') || host.bytes().all(|b| is_unreserved(b) || is_sub_delim(b) || b == b'%');
    host_ok && !host.is_empty() && port.is_none_or(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// An absolute RFC 3986 URI (`scheme ":" hier-part [ "?" query ] [ "#" fragment ]`), checked for its scheme and
/// character set.
fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else { return false };
    if !is_scheme(scheme) || !pct_ok(rest) || !rest.bytes().all(|b| is_unreserved(b) || is_reserved(b) || b == b'%') {
        return false;
    }
    if rest.matches('#').count() > 1 {
        return false;
    }
    match rest.strip_prefix("//") {
        Some(after) => {
            let end = after.find(['/', '?', '#']).unwrap_or(after.len());
            is_authority(&after[..end])
        }
        None => true,
    }
}

/// EIP-4361 `statement`: one or more of reserved / unreserved / space.
fn is_statement(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| is_unreserved(b) || is_reserved(b) || b == b' ')
}

fn is_nonce(s: &str) -> bool {
    s.len() >= MIN_NONCE_LEN && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// RFC 3986 `pchar`.
fn is_pchars(s: &str) -> bool {
    pct_ok(s) && s.bytes().all(|b| is_unreserved(b) || is_sub_delim(b) || matches!(b, b':' | b'@' | b'%'))
}

fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

// ---------------------------------------------------------------------------------------------------------------
// Issuing
// ---------------------------------------------------------------------------------------------------------------

/// A fresh single-use nonce: [`NONCE_LEN`] base62 characters from the OS RNG.
pub fn new_nonce() -> String {
    crate::keys::random_base62(NONCE_LEN).expose_secret().to_owned()
}

/// A challenge to issue. Render it once with [`Challenge::text`] and store those bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// RFC 3986 authority of the service (the public origin's `host[:port]`).
    pub domain: String,
    /// The account that must sign.
    pub account: AccountId,
    /// Optional human-readable statement (one line of EIP-4361 `statement` characters).
    pub statement: Option<String>,
    /// The RFC 3986 URI the sign-in is for.
    pub uri: String,
    /// Single-use nonce (at least 8 alphanumerics).
    pub nonce: String,
    /// Issue time (millisecond precision).
    pub issued_at: DateTime<Utc>,
    /// `issued_at` + [`CHALLENGE_TTL_SECS`].
    pub expiration_time: DateTime<Utc>,
}

impl Challenge {
    /// Validate the fields of a challenge that expires [`CHALLENGE_TTL_SECS`] after `issued_at` (truncated to
    /// milliseconds, the precision of the text).
    pub fn new(
        domain: &str,
        account: &AccountId,
        statement: Option<&str>,
        uri: &str,
        nonce: &str,
        issued_at: DateTime<Utc>,
    ) -> Result<Self, SiwxError> {
        if !is_authority(domain) {
            return Err(invalid(format!("domain `{domain}` is not an RFC 3986 authority (host[:port])")));
        }
        if statement.is_some_and(|s| !is_statement(s)) {
            return Err(invalid(
                "statement must be one non-empty line of RFC 3986 reserved/unreserved characters and spaces",
            ));
        }
        if !is_uri(uri) {
            return Err(invalid(format!("uri `{uri}` is not an absolute RFC 3986 URI")));
        }
        if !is_nonce(nonce) {
            return Err(invalid(format!("nonce must be at least {MIN_NONCE_LEN} alphanumerics")));
        }
        let ms = issued_at.timestamp_millis();
        let issued_at = DateTime::<Utc>::from_timestamp_millis(ms).ok_or_else(|| invalid("issued_at out of range"))?;
        let expiration_time = issued_at + TimeDelta::seconds(CHALLENGE_TTL_SECS);
        Ok(Challenge {
            domain: domain.to_owned(),
            account: account.clone(),
            statement: statement.map(str::to_owned),
            uri: uri.to_owned(),
            nonce: nonce.to_owned(),
            issued_at,
            expiration_time,
        })
    }

    /// The challenge text, byte-exact per `spec/siwx-httpsig.md`: LF line ends, no trailing LF.
    pub fn text(&self) -> String {
        let mut s = String::with_capacity(320);
        s.push_str(&self.domain);
        s.push_str(" wants you to sign in with your ");
        s.push_str(self.account.namespace.account_word());
        s.push_str(" account:\n");
        s.push_str(&self.account.address);
        s.push_str("\n\n");
        if let Some(statement) = &self.statement {
            s.push_str(statement);
            s.push('\n');
        }
        s.push('\n');
        for (label, value) in [
            ("URI", self.uri.as_str()),
            ("Version", "1"),
            ("Chain ID", self.account.reference.as_str()),
            ("Nonce", self.nonce.as_str()),
        ] {
            s.push_str(label);
            s.push_str(": ");
            s.push_str(value);
            s.push('\n');
        }
        s.push_str("Issued At: ");
        s.push_str(&rfc3339(&self.issued_at));
        s.push_str("\nExpiration Time: ");
        s.push_str(&rfc3339(&self.expiration_time));
        s
    }

    /// Base64 of [`Challenge::text`], as the API returns it.
    pub fn text_base64(&self) -> String {
        STANDARD.encode(self.text())
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------------------------

/// The fields of a challenge text (EIP-4361 grammar, `Ethereum` or `Solana` account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiwxMessage {
    /// Optional scheme before the domain (`https://example.com wants you ...`).
    pub scheme: Option<String>,
    /// RFC 3986 authority.
    pub domain: String,
    /// `Ethereum` → [`Namespace::Eip155`], `Solana` → [`Namespace::Solana`].
    pub namespace: Namespace,
    /// The address line as written (EIP-55 for Ethereum, base58 for Solana).
    pub address: String,
    /// The statement line, if any.
    pub statement: Option<String>,
    /// `URI:`.
    pub uri: String,
    /// `Version:` (always `1`).
    pub version: String,
    /// `Chain ID:` as written (decimal for Ethereum).
    pub chain_id: String,
    /// `Nonce:`.
    pub nonce: String,
    /// `Issued At:`.
    pub issued_at: DateTime<FixedOffset>,
    /// `Expiration Time:`.
    pub expiration_time: Option<DateTime<FixedOffset>>,
    /// `Not Before:`.
    pub not_before: Option<DateTime<FixedOffset>>,
    /// `Request ID:`.
    pub request_id: Option<String>,
    /// `Resources:` entries.
    pub resources: Vec<String>,
}

impl SiwxMessage {
    /// The CAIP-10 account the message names (`namespace:Chain ID:address`).
    pub fn account_id(&self) -> Result<AccountId, SiwxError> {
        AccountId::parse(&format!("{}:{}:{}", self.namespace.as_str(), self.chain_id, self.address))
    }

    /// Refuse an expired (`now >= Expiration Time`) or not yet valid (`now < Not Before`) message.
    pub fn check_time(&self, now: DateTime<Utc>) -> Result<(), SiwxError> {
        if self.expiration_time.is_some_and(|exp| now >= exp) {
            return Err(SiwxError::ChallengeExpired);
        }
        if self.not_before.is_some_and(|nbf| now < nbf) {
            return Err(SiwxError::ChallengeNotYetValid);
        }
        Ok(())
    }
}

fn tagged<'a>(line: Option<&'a str>, tag: &str) -> Result<&'a str, SiwxError> {
    line.and_then(|l| l.strip_prefix(tag)).ok_or_else(|| invalid(format!("expected a `{tag}` line")))
}

fn timestamp(s: &str, field: &str) -> Result<DateTime<FixedOffset>, SiwxError> {
    DateTime::parse_from_rfc3339(s).map_err(|_| invalid(format!("{field} `{s}` is not an RFC 3339 date-time")))
}

/// Parse a challenge text (EIP-4361 grammar; `Ethereum` or `Solana` account). Strict: fields in order, LF line
/// ends, no trailing LF.
pub fn parse_challenge(text: &str) -> Result<SiwxMessage, SiwxError> {
    let mut lines = text.split('\n').peekable();
    let first = lines.next().unwrap_or_default();
    let (prefix, namespace) = if let Some(p) = first.strip_suffix(" wants you to sign in with your Ethereum account:") {
        (p, Namespace::Eip155)
    } else if let Some(p) = first.strip_suffix(" wants you to sign in with your Solana account:") {
        (p, Namespace::Solana)
    } else {
        return Err(invalid("first line must be `<domain> wants you to sign in with your Ethereum account:`"));
    };
    let (scheme, domain) = match prefix.split_once("://") {
        Some((scheme, domain)) if is_scheme(scheme) => (Some(scheme.to_owned()), domain),
        Some(_) => return Err(invalid("invalid scheme before the domain")),
        None => (None, prefix),
    };
    if !is_authority(domain) {
        return Err(invalid(format!("domain `{domain}` is not an RFC 3986 authority")));
    }

    let address = lines.next().unwrap_or_default();
    match namespace {
        Namespace::Eip155 => {
            let a = parse_evm_address(address).map_err(|_| invalid("address is not an EVM address"))?;
            if a.to_checksum(None) != address {
                return Err(invalid("address must be in EIP-55 checksum form"));
            }
        }
        Namespace::Solana => {
            parse_solana_address(address).map_err(|_| invalid("address is not a base58 Solana address"))?;
        }
    }
    if lines.next() != Some("") {
        return Err(invalid("the address must be followed by an empty line"));
    }
    let statement = match lines.next() {
        Some("") => None,
        Some(s) => {
            if !is_statement(s) {
                return Err(invalid("statement has characters outside EIP-4361's set"));
            }
            if lines.next() != Some("") {
                return Err(invalid("the statement must be one line followed by an empty line"));
            }
            Some(s.to_owned())
        }
        None => return Err(invalid("message ends after the address")),
    };

    let uri = tagged(lines.next(), "URI: ")?;
    if !is_uri(uri) {
        return Err(invalid(format!("URI `{uri}` is not an RFC 3986 URI")));
    }
    let version = tagged(lines.next(), "Version: ")?;
    if version != "1" {
        return Err(invalid("Version must be 1"));
    }
    let chain_id = tagged(lines.next(), "Chain ID: ")?;
    let chain_ok = match namespace {
        Namespace::Eip155 => chain_id.parse::<u64>().is_ok_and(|n| n > 0) && !chain_id.starts_with(['0', '+']),
        Namespace::Solana => is_caip2_reference(chain_id),
    };
    if !chain_ok {
        return Err(invalid(format!("Chain ID `{chain_id}` is not valid")));
    }
    let nonce = tagged(lines.next(), "Nonce: ")?;
    if !is_nonce(nonce) {
        return Err(invalid(format!("Nonce must be at least {MIN_NONCE_LEN} alphanumerics")));
    }
    let issued_at = timestamp(tagged(lines.next(), "Issued At: ")?, "Issued At")?;

    let mut optional = |tag: &str| match lines.peek() {
        Some(l) if l.starts_with(tag) => lines.next().map(|l| &l[tag.len()..]),
        _ => None,
    };
    let expiration_time = optional("Expiration Time: ").map(|s| timestamp(s, "Expiration Time")).transpose()?;
    let not_before = optional("Not Before: ").map(|s| timestamp(s, "Not Before")).transpose()?;
    let request_id = optional("Request ID: ").map(str::to_owned);
    if request_id.as_deref().is_some_and(|r| !is_pchars(r)) {
        return Err(invalid("Request ID has characters outside RFC 3986 pchar"));
    }
    let mut resources = Vec::new();
    if let Some(rest) = optional("Resources:") {
        if !rest.is_empty() {
            return Err(invalid("`Resources:` must end its line"));
        }
        for line in lines.by_ref() {
            let r = line.strip_prefix("- ").ok_or_else(|| invalid("each resource line must be `- <URI>`"))?;
            if !is_uri(r) {
                return Err(invalid(format!("resource `{r}` is not an RFC 3986 URI")));
            }
            resources.push(r.to_owned());
        }
        if resources.is_empty() {
            return Err(invalid("`Resources:` must list at least one URI"));
        }
    }
    if let Some(extra) = lines.next() {
        return Err(invalid(if extra.is_empty() {
            "unexpected empty line (or a trailing LF)".to_owned()
        } else {
            format!("unexpected line `{extra}`")
        }));
    }

    Ok(SiwxMessage {
        scheme,
        domain: domain.to_owned(),
        namespace,
        address: address.to_owned(),
        statement,
        uri: uri.to_owned(),
        version: version.to_owned(),
        chain_id: chain_id.to_owned(),
        nonce: nonce.to_owned(),
        issued_at,
        expiration_time,
        not_before,
        request_id,
        resources,
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------------------------------------------

fn hex_body(s: &str) -> Option<&str> {
    let h = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
    (h.len().is_multiple_of(2) && !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit())).then_some(h)
}

/// Decode a signature string of `len` bytes (`None`: any length): `0x` hex, Base64 of the raw bytes, Base64 of the hex
/// text, or (when `base58` is set, for Solana, tried first since its alphabet excludes `0`, `+`, `/`, `=`) base58.
fn decode_signature(s: &str, len: Option<usize>, base58: bool) -> Result<Vec<u8>, SiwxError> {
    let s = s.trim();
    let bad = || {
        SiwxError::MalformedSignature(format!(
            "expected {}Base64 or 0x-prefixed hex{}",
            len.map(|n| format!("{n} bytes as ")).unwrap_or_default(),
            if base58 { " or base58" } else { "" }
        ))
    };
    let fits = |b: &[u8]| !b.is_empty() && len.is_none_or(|n| b.len() == n);
    if base58
        && is_base58(s)
        && let Some(bytes) = bs58::decode(s).into_vec().ok().filter(|b| fits(b))
    {
        return Ok(bytes);
    }
    // `0x` hex; but Base64 may start with `0x` too (about one signature in 4096), so a string that is not hex of
    // the right length falls through to Base64.
    if (s.starts_with("0x") || s.starts_with("0X"))
        && let Some(bytes) = hex_body(s).and_then(|h| hex::decode(h).ok()).filter(|b| fits(b))
    {
        return Ok(bytes);
    }
    let bytes = STANDARD.decode(s).or_else(|_| STANDARD_NO_PAD.decode(s)).map_err(|_| bad())?;
    // Base64 of the hex text ("0x…"), as a literal reading of "encode a HEX signature as Base64" produces.
    let hex_text = std::str::from_utf8(&bytes).ok().map(str::trim).and_then(hex_body);
    if let Some(decoded) = hex_text.and_then(|h| hex::decode(h).ok()).filter(|b| fits(b))
        && (!fits(&bytes) || len.is_none())
    {
        return Ok(decoded);
    }
    if fits(&bytes) { Ok(bytes) } else { Err(bad()) }
}

/// Decode a signature string of any length (`0x` hex, Base64, or Base64 of the hex text): the bytes to pass to an
/// ERC-1271 `isValidSignature` (or ERC-6492) check when EOA recovery does not yield the account.
pub fn decode_signature_bytes(signature: &str) -> Result<Vec<u8>, SiwxError> {
    decode_signature(signature, None, false)
}

/// Decode an EIP-191 signature string (Base64 of the 65 raw bytes, `0x` hex, or Base64 of the hex text).
pub fn decode_eip191_signature(signature: &str) -> Result<[u8; 65], SiwxError> {
    let v = decode_signature(signature, Some(65), false)?;
    <[u8; 65]>::try_from(v.as_slice()).map_err(|_| SiwxError::MalformedSignature("expected 65 bytes".into()))
}

/// The EIP-191 `personal_sign` hash: `keccak256("\x19Ethereum Signed Message:\n" + len(message) + message)`.
/// This is also the hash an ERC-1271 `isValidSignature` call takes.
pub fn eip191_hash(message: &[u8]) -> [u8; 32] {
    alloy_primitives::eip191_hash_message(message).0
}

/// Recover the signer of an EIP-191 `personal_sign` signature (`r|s|v`, `v` in {27, 28, 0, 1}).
pub fn recover_eip191(message: &[u8], signature: &[u8; 65]) -> Result<Address, SiwxError> {
    let v = signature[64];
    let recid = match v {
        27 | 28 => v - 27,
        0 | 1 => v,
        other => return Err(SiwxError::BadRecoveryId(other)),
    };
    let recid = RecoveryId::try_from(i32::from(recid)).map_err(|_| SiwxError::BadRecoveryId(v))?;
    let sig = RecoverableSignature::from_compact(&signature[..64], recid)
        .map_err(|_| SiwxError::MalformedSignature("r or s is not a valid scalar".into()))?;
    let msg = secp256k1::Message::from_digest(eip191_hash(message));
    let key = sig.recover(msg).map_err(|_| SiwxError::BadSignature)?;
    let uncompressed = key.serialize_uncompressed();
    Ok(Address::from_raw_public_key(&uncompressed[1..]))
}

/// Decode an EIP-191 signature string and recover its signer over `message` (the exact bytes issued).
pub fn verify_eip191(message: &[u8], signature: &str) -> Result<Address, SiwxError> {
    recover_eip191(message, &decode_eip191_signature(signature)?)
}

/// Verify a Solana (CAIP-122 Solana profile) signature: ed25519 by the base58 `address` over `message`. The
/// signature is 64 bytes as Base64, base58 or `0x` hex.
pub fn verify_solana(message: &[u8], address: &str, signature: &str) -> Result<(), SiwxError> {
    let key_bytes = parse_solana_address(address)?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&key_bytes)
        .map_err(|_| SiwxError::InvalidAccountId(format!("`{address}` is not an ed25519 public key")))?;
    let sig_bytes = decode_signature(signature, Some(64), true)?;
    let sig = ed25519_dalek::Signature::from_slice(&sig_bytes)
        .map_err(|_| SiwxError::MalformedSignature("expected 64 bytes".into()))?;
    key.verify_strict(message, &sig).map_err(|_| SiwxError::BadSignature)
}

/// Verify that `account` signed `message` (EIP-191 recovery compared as 20 bytes, or Solana ed25519).
pub fn verify_signature(account: &AccountId, message: &[u8], signature: &str) -> Result<(), SiwxError> {
    match account.namespace {
        Namespace::Eip155 => {
            let expected = account.evm_address().ok_or_else(|| SiwxError::InvalidAccountId(account.to_string()))?;
            let recovered = verify_eip191(message, signature)?;
            if recovered == expected {
                Ok(())
            } else {
                Err(SiwxError::WrongSigner { recovered: recovered.to_checksum(None) })
            }
        }
        Namespace::Solana => verify_solana(message, &account.address, signature),
    }
}

/// The body of `POST /customers/{id}/challenge/sign`.
#[derive(Debug, Clone, Copy)]
pub struct SignedChallenge<'a> {
    /// `ownerId`: the CAIP-10 account that signed.
    pub owner_id: &'a str,
    /// `challenge`: Base64 of the challenge text, as issued.
    pub challenge: &'a str,
    /// `signature`: Base64 (or `0x` hex) of the signature.
    pub signature: &'a str,
}

/// Check a submitted signed challenge against the customer's `account` and the exact `issued` text stored for it.
///
/// In order: `ownerId` parses and names `account` ([`SiwxError::OwnerMismatch`]); `challenge` is Base64 of exactly
/// the issued bytes ([`SiwxError::ChallengeMismatch`]); the issued text's `Expiration Time` / `Not Before` hold at
/// `now`; the signature verifies over the issued bytes for `account`. The caller consumes the challenge on success,
/// and replaces it on any failure.
pub fn verify_signed_challenge(
    account: &AccountId,
    issued: &str,
    submitted: &SignedChallenge<'_>,
    now: DateTime<Utc>,
) -> Result<(), SiwxError> {
    let owner = AccountId::parse(submitted.owner_id.trim())?;
    if &owner != account {
        return Err(SiwxError::OwnerMismatch);
    }
    let challenge = submitted.challenge.trim();
    let bytes = STANDARD.decode(challenge).or_else(|_| STANDARD_NO_PAD.decode(challenge));
    match bytes {
        Ok(b) if b == issued.as_bytes() => {}
        Ok(b) if std::str::from_utf8(&b).is_ok() => return Err(SiwxError::ChallengeMismatch),
        _ => return Err(SiwxError::ChallengeMalformed),
    }
    parse_challenge(issued)?.check_time(now)?;
    verify_signature(account, issued.as_bytes(), submitted.signature)
}
