//! The request headers: `X-API-Sign` (type byte, r, s, v), `X-API-Key`, `X-API-Nonce`, `X-API-Chain`; public-key
//! recovery with libsecp256k1; and signing (for clients and tests).

use alloy_primitives::{Address, B256};
use secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
use secp256k1::{Message, SECP256K1, SecretKey};

use super::eip712::SignatureType;
use super::payload::KeyName;

/// Length of `X-API-Sign` in bytes: type byte, r (32), s (32), v (1).
pub const SIGNATURE_LEN: usize = 66;

/// A parsed `X-API-Sign`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiSignature {
    /// The type byte.
    pub sig_type: SignatureType,
    /// `r`.
    pub r: B256,
    /// `s` (high-S is accepted).
    pub s: B256,
    /// The recovery id, 0 or 1.
    pub v: u8,
}

/// Why the signature headers were refused; each message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `X-API-Sign`.
    #[error("X-API-Sign is missing: send 0x followed by the 66-byte typed signature in hex")]
    Missing,
    /// Not `0x` + hex.
    #[error("X-API-Sign must be 0x followed by hex digits (132 of them: type byte, r, s, v)")]
    NotHex,
    /// Wrong number of bytes.
    #[error(
        "X-API-Sign holds {len} bytes; it must hold 66: the type byte (0x01 or 0x02), r (32), s (32) and v (1) \
         (a bare 65-byte signature lacks the type byte)"
    )]
    Length {
        /// Bytes received.
        len: usize,
    },
    /// The type byte is neither 0x01 nor 0x02.
    #[error("X-API-Sign starts with type byte 0x{got:02x}; it must be 0x01 (spot, futures) or 0x02 (universal)")]
    UnknownType {
        /// The byte received.
        got: u8,
    },
    /// The type byte is valid but not the one of this endpoint's domain.
    #[error(
        "X-API-Sign starts with type byte 0x{got:02x}, but this endpoint is in the {domain} domain: use 0x{expected:02x}"
    )]
    TypeMismatch {
        /// The byte received.
        got: u8,
        /// The byte required.
        expected: u8,
        /// The endpoint's domain.
        domain: &'static str,
    },
    /// v is not 0 or 1.
    #[error("X-API-Sign ends with v = {got}; v must be 0 or 1 (for 27 or 28, subtract 27)")]
    RecoveryId {
        /// The byte received.
        got: u8,
    },
    /// r or s out of range, or no public key recovers.
    #[error("X-API-Sign is not a valid secp256k1 signature (r and s must be in 1..n-1)")]
    Invalid,
    /// The recovered address is the zero address.
    #[error("X-API-Sign recovers to the zero address")]
    ZeroAddress,
}

impl SignatureError {
    /// A stable identifier for the envelope's error code.
    pub const fn code(&self) -> &'static str {
        match self {
            SignatureError::Missing => "MISSING_SIGNATURE",
            SignatureError::NotHex => "MALFORMED_SIGNATURE",
            SignatureError::Length { .. } => "SIGNATURE_LENGTH",
            SignatureError::UnknownType { .. } => "SIGNATURE_TYPE_UNKNOWN",
            SignatureError::TypeMismatch { .. } => "SIGNATURE_TYPE_MISMATCH",
            SignatureError::RecoveryId { .. } => "SIGNATURE_RECOVERY_ID",
            SignatureError::Invalid => "INVALID_SIGNATURE",
            SignatureError::ZeroAddress => "SIGNATURE_ZERO_ADDRESS",
        }
    }
}

impl ApiSignature {
    /// Parse `X-API-Sign`: `0x` + 132 hex digits (either case). Checks the length, the type byte (0x01 or 0x02) and
    /// v (0 or 1); r and s are checked at recovery.
    pub fn parse(header: &str) -> Result<ApiSignature, SignatureError> {
        let hex = header.strip_prefix("0x").ok_or(SignatureError::NotHex)?;
        if hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SignatureError::NotHex);
        }
        if hex.len() != 2 * SIGNATURE_LEN {
            return Err(SignatureError::Length { len: hex.len() / 2 });
        }
        let mut raw = [0u8; SIGNATURE_LEN];
        hex::decode_to_slice(hex, &mut raw).map_err(|_| SignatureError::NotHex)?;
        ApiSignature::from_bytes(&raw)
    }

    /// From the 66 raw bytes.
    pub fn from_bytes(raw: &[u8; SIGNATURE_LEN]) -> Result<ApiSignature, SignatureError> {
        let sig_type = SignatureType::from_byte(raw[0]).ok_or(SignatureError::UnknownType { got: raw[0] })?;
        let v = raw[65];
        if v > 1 {
            return Err(SignatureError::RecoveryId { got: v });
        }
        Ok(ApiSignature { sig_type, r: B256::from_slice(&raw[1..33]), s: B256::from_slice(&raw[33..65]), v })
    }

    /// The 66 raw bytes.
    pub fn to_bytes(&self) -> [u8; SIGNATURE_LEN] {
        let mut out = [0u8; SIGNATURE_LEN];
        out[0] = self.sig_type.byte();
        out[1..33].copy_from_slice(self.r.as_slice());
        out[33..65].copy_from_slice(self.s.as_slice());
        out[65] = self.v;
        out
    }

    /// The header value: `0x` + 132 lower-case hex digits.
    pub fn to_header(&self) -> String {
        format!("0x{}", hex::encode(self.to_bytes()))
    }

    /// Refuse a type byte other than `expected` (the endpoint's domain decides it).
    pub fn expect_type(&self, expected: SignatureType, domain: &'static str) -> Result<(), SignatureError> {
        if self.sig_type != expected {
            return Err(SignatureError::TypeMismatch { got: self.sig_type.byte(), expected: expected.byte(), domain });
        }
        Ok(())
    }

    /// The address whose key signed `digest` (libsecp256k1 `ecdsa_recover`; high-S accepted). The zero address is
    /// refused.
    pub fn recover(&self, digest: &B256) -> Result<Address, SignatureError> {
        let mut rs = [0u8; 64];
        rs[..32].copy_from_slice(self.r.as_slice());
        rs[32..].copy_from_slice(self.s.as_slice());
        let recid = RecoveryId::try_from(i32::from(self.v)).map_err(|_| SignatureError::RecoveryId { got: self.v })?;
        let sig = RecoverableSignature::from_compact(&rs, recid).map_err(|_| SignatureError::Invalid)?;
        let pk = SECP256K1.recover_ecdsa(Message::from_digest(digest.0), &sig).map_err(|_| SignatureError::Invalid)?;
        let address = Address::from_raw_public_key(&pk.serialize_uncompressed()[1..]);
        if address.is_zero() {
            return Err(SignatureError::ZeroAddress);
        }
        Ok(address)
    }
}

/// A 32-byte secp256k1 secret key that is zero or not below the group order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid secp256k1 secret key")]
pub struct InvalidSecretKey;

/// Sign `digest` with `secret_key` (RFC 6979, low-S, as go-ethereum's `crypto.Sign`), prefixed by `sig_type`.
pub fn sign_digest(
    secret_key: &[u8; 32],
    digest: &B256,
    sig_type: SignatureType,
) -> Result<ApiSignature, InvalidSecretKey> {
    let sk = SecretKey::from_byte_array(*secret_key).map_err(|_| InvalidSecretKey)?;
    let (recid, rs) = SECP256K1.sign_ecdsa_recoverable(Message::from_digest(digest.0), &sk).serialize_compact();
    let v = u8::try_from(i32::from(recid)).map_err(|_| InvalidSecretKey)?;
    Ok(ApiSignature { sig_type, r: B256::from_slice(&rs[..32]), s: B256::from_slice(&rs[32..]), v })
}

/// The EVM address of a secret key.
pub fn address_of(secret_key: &[u8; 32]) -> Result<Address, InvalidSecretKey> {
    let sk = SecretKey::from_byte_array(*secret_key).map_err(|_| InvalidSecretKey)?;
    let pk = secp256k1::PublicKey::from_secret_key_global(&sk);
    Ok(Address::from_raw_public_key(&pk.serialize_uncompressed()[1..]))
}

/// Who claims to sign, from `X-API-Key`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeySelector {
    /// Header absent or `default`: the master wallet signs.
    Master,
    /// A registered API key, by name (looked up by the caller under the account's master).
    Named(KeyName),
}

/// Why `X-API-Key`, `X-API-Nonce` or `X-API-Chain` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// `X-API-Key` is not a key name.
    #[error(
        "X-API-Key must be the name of an API key (1 to 36 characters from 0-9, a-z, A-Z, '_', '-'), or be omitted \
         (or 'default') when the master wallet signs"
    )]
    KeyName,
    /// No `X-API-Nonce`.
    #[error("X-API-Nonce is missing: send the nonce you signed (Unix time in milliseconds)")]
    MissingNonce,
    /// `X-API-Nonce` is not a u64 in decimal.
    #[error(
        "X-API-Nonce must be the signed nonce as a decimal integer (Unix time in milliseconds, e.g. 1760373925000)"
    )]
    MalformedNonce,
    /// `X-API-Chain` is not a u64 in decimal.
    #[error("X-API-Chain must be the chain id as a decimal integer (286623 mainnet, 138565 testnet)")]
    MalformedChain,
    /// `X-API-Chain` names another chain.
    #[error("X-API-Chain is {got}, but this server serves chain {expected}: sign with chainId {expected}")]
    ChainMismatch {
        /// Received.
        got: u64,
        /// Served.
        expected: u64,
    },
}

impl HeaderError {
    /// A stable identifier for the envelope's error code.
    pub const fn code(&self) -> &'static str {
        match self {
            HeaderError::KeyName => "INVALID_API_KEY_NAME",
            HeaderError::MissingNonce => "MISSING_NONCE",
            HeaderError::MalformedNonce => "MALFORMED_NONCE",
            HeaderError::MalformedChain => "MALFORMED_CHAIN",
            HeaderError::ChainMismatch { .. } => "CHAIN_MISMATCH",
        }
    }
}

/// `X-API-Key`: absent or `default` is the master wallet; otherwise a key name.
pub fn parse_key_header(value: Option<&str>) -> Result<KeySelector, HeaderError> {
    match value {
        None | Some("default") => Ok(KeySelector::Master),
        Some(name) => KeyName::parse(name).map(KeySelector::Named).ok_or(HeaderError::KeyName),
    }
}

fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `X-API-Nonce`: required, a u64 in decimal digits.
pub fn parse_nonce_header(value: Option<&str>) -> Result<u64, HeaderError> {
    parse_u64(value.ok_or(HeaderError::MissingNonce)?).ok_or(HeaderError::MalformedNonce)
}

/// `X-API-Chain`: optional; when present it must be `chain_id`.
pub fn check_chain_header(value: Option<&str>, chain_id: u64) -> Result<(), HeaderError> {
    let Some(v) = value else { return Ok(()) };
    let got = parse_u64(v).ok_or(HeaderError::MalformedChain)?;
    if got != chain_id {
        return Err(HeaderError::ChainMismatch { got, expected: chain_id });
    }
    Ok(())
}
