//! Stable error codes. Clients match on these strings; never rename one.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The machine-readable code of an error, stable across releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The body or a parameter failed validation; `field` names it.
    ValidationError,
    /// The body is not well-formed JSON.
    MalformedJson,
    /// The body has a field that the endpoint does not know.
    UnknownField,
    /// A required field is missing.
    MissingField,
    /// The body is larger than the server accepts.
    PayloadTooLarge,
    /// The request's `Content-Type` is not `application/json`.
    UnsupportedMediaType,
    /// No credential, or the credential is not valid.
    Unauthorized,
    /// The session token has expired; log in again.
    TokenExpired,
    /// The credential is valid but may not do this.
    Forbidden,
    /// Only available in sandbox mode.
    SandboxOnly,
    /// No such resource (or it belongs to someone else).
    NotFound,
    /// The route exists but not with this method.
    MethodNotAllowed,
    /// The resource already exists (e.g. a reused `customer_id`).
    Conflict,
    /// Too many requests for this credential; see `Retry-After`.
    RateLimited,
    /// `Cs-*` headers incomplete or malformed (which one is named in the message).
    MalformedSignatureHeaders,
    /// `Cs-Timestamp` too far from the server clock (see `GET /time`).
    TimestampSkew,
    /// `Cs-Signature` does not match the request (the passphrase did).
    InvalidSignature,
    /// `Cs-Passphrase` is wrong (the signature matched).
    InvalidPassphrase,
    /// No usable key matches the access key, passphrase and signature (unknown, revoked, or both secrets wrong).
    UnknownAccessKey,
    /// This signature was already used; sign each request anew.
    SignatureReplayed,
    /// The credential has expired.
    CredentialExpired,
    /// Something failed on the server; the trace id identifies it in the logs.
    InternalError,
    /// A dependency (database) is unavailable; retry later.
    ServiceUnavailable,
}

impl ErrorCode {
    /// The wire form, e.g. `VALIDATION_ERROR`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::ValidationError => "VALIDATION_ERROR",
            Self::MalformedJson => "MALFORMED_JSON",
            Self::UnknownField => "UNKNOWN_FIELD",
            Self::MissingField => "MISSING_FIELD",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::TokenExpired => "TOKEN_EXPIRED",
            Self::Forbidden => "FORBIDDEN",
            Self::SandboxOnly => "SANDBOX_ONLY",
            Self::NotFound => "NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::Conflict => "CONFLICT",
            Self::RateLimited => "RATE_LIMITED",
            Self::MalformedSignatureHeaders => "MALFORMED_SIGNATURE_HEADERS",
            Self::TimestampSkew => "TIMESTAMP_SKEW",
            Self::InvalidSignature => "INVALID_SIGNATURE",
            Self::InvalidPassphrase => "INVALID_PASSPHRASE",
            Self::UnknownAccessKey => "UNKNOWN_ACCESS_KEY",
            Self::SignatureReplayed => "SIGNATURE_REPLAYED",
            Self::CredentialExpired => "CREDENTIAL_EXPIRED",
            Self::InternalError => "INTERNAL_ERROR",
            Self::ServiceUnavailable => "SERVICE_UNAVAILABLE",
        }
    }

    /// Every code, for documentation and tests.
    pub fn all() -> &'static [ErrorCode] {
        use ErrorCode::*;
        &[
            ValidationError,
            MalformedJson,
            UnknownField,
            MissingField,
            PayloadTooLarge,
            UnsupportedMediaType,
            Unauthorized,
            TokenExpired,
            Forbidden,
            SandboxOnly,
            NotFound,
            MethodNotAllowed,
            Conflict,
            RateLimited,
            MalformedSignatureHeaders,
            TimestampSkew,
            InvalidSignature,
            InvalidPassphrase,
            UnknownAccessKey,
            SignatureReplayed,
            CredentialExpired,
            InternalError,
            ServiceUnavailable,
        ]
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
