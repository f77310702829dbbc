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
    /// The request body stopped arriving (a pause longer than the server's body timeout).
    RequestTimeout,
    /// An amount is above its documented maximum, or would take a balance beyond what is kept exactly.
    AmountOutOfRange,
    /// The user is not ACTIVE (PENDING, SUSPENDED): activate it before it transacts.
    UserNotActive,
    /// The wallet's available balance does not cover the amount and the fee.
    InsufficientFunds,
    /// The withdrawal is past the point where it can be cancelled (it was sent, or is final).
    NotCancellable,
    /// The customer's withdrawal policy blocks it (the message names the version and the rule).
    BlockedByPolicy,
    /// The destination is in the user's address book but still in its cooling-off period.
    AddressCoolingOff,
    /// The initiator of a withdrawal tried to approve it.
    SelfApproval,
    /// The confirmation code is wrong (the message says how many tries are left).
    WithdrawalCodeInvalid,
    /// The confirmation code has expired; ask for a new one (`resend-code`).
    WithdrawalCodeExpired,
    /// The confirmation code was tried too often and is void; ask for a new one (`resend-code`).
    WithdrawalCodeVoid,
    /// The book can no longer fill the quote at its terms (nothing moved); ask for a new quote.
    QuoteNotFillable,
    /// The quote is past its `expired_at` (nothing moved); ask for a new quote.
    QuoteExpired,
    /// An order already took this quote.
    QuoteUsed,
    /// The transfer's confirmation code is wrong (the message says how many tries are left).
    TransferCodeInvalid,
    /// The transfer's code has expired; ask for a new one (`resend-code`).
    TransferCodeExpired,
    /// The transfer's code was tried too often and is void; ask for a new one (`resend-code`).
    TransferCodeVoid,
    /// `Signature-Input` is missing (RFC 9421).
    HttpsigMissingSignatureInput,
    /// `Signature` is missing or has no member for the label.
    HttpsigMissingSignature,
    /// `Signature-Input` is not a valid RFC 9421 dictionary.
    HttpsigMalformedSignatureInput,
    /// `Signature` is not a valid RFC 9421 dictionary of byte sequences.
    HttpsigMalformedSignature,
    /// No signature has the expected label or tag.
    HttpsigNoMatchingSignature,
    /// Several signatures and nothing to choose between them; send one.
    HttpsigMultipleSignatures,
    /// The signature has no `keyid`.
    HttpsigMissingKeyid,
    /// The signature has no `created`.
    HttpsigMissingCreated,
    /// `created` is older than the allowed skew.
    HttpsigStaleCreated,
    /// `created` is further in the future than the allowed skew.
    HttpsigCreatedInFuture,
    /// The signature's `expires` has passed.
    HttpsigExpired,
    /// The signature has no `nonce` and one is required.
    HttpsigMissingNonce,
    /// The signature's `nonce` was already used with this key.
    HttpsigReplayedNonce,
    /// A component the policy requires is not covered.
    HttpsigMissingComponent,
    /// A component is covered twice.
    HttpsigDuplicateComponent,
    /// A covered component is not one Sova evaluates.
    HttpsigUnsupportedComponent,
    /// A covered component is absent from the request.
    HttpsigComponentAbsent,
    /// `keyid` names no active signing key of this tenant.
    HttpsigUnknownKeyid,
    /// `alg` names an unknown algorithm.
    HttpsigUnknownAlg,
    /// `alg` does not match the registered key's algorithm.
    HttpsigAlgMismatch,
    /// The HTTP message signature does not verify.
    HttpsigBadSignature,
    /// A signing key given for registration cannot be read.
    HttpsigInvalidKey,
    /// The configured public origin is invalid.
    HttpsigInvalidOrigin,
    /// `Content-Digest` is required on requests with a body.
    ContentDigestMissing,
    /// `Content-Digest` is malformed.
    ContentDigestMalformed,
    /// `Content-Digest` has neither sha-256 nor sha-512.
    ContentDigestUnsupportedAlgorithm,
    /// `Content-Digest` does not match the body received.
    ContentDigestMismatch,
    /// `Idempotency-Key` is required on this request.
    IdempotencyKeyMissing,
    /// `Idempotency-Key` is not a UUID.
    IdempotencyKeyInvalid,
    /// The `Idempotency-Key` was used for a different request.
    IdempotencyKeyReused,
    /// A request with this `Idempotency-Key` is still being processed.
    IdempotencyKeyInFlight,
    /// Not a valid CAIP-10 account id.
    SiwxInvalidAccountId,
    /// The CAIP-2 namespace is not supported (eip155, solana).
    SiwxUnsupportedNamespace,
    /// A mixed-case EVM address that is not EIP-55.
    SiwxBadChecksum,
    /// The challenge cannot be issued or parsed.
    SiwxInvalidChallenge,
    /// The submitted challenge is not Base64 of UTF-8 text.
    SiwxChallengeMalformed,
    /// The submitted challenge is not the one issued (tampered or replaced).
    SiwxChallengeMismatch,
    /// The challenge expired; a new one was issued.
    SiwxChallengeExpired,
    /// The challenge is not valid yet.
    SiwxChallengeNotYetValid,
    /// `ownerId` is not the customer's account.
    SiwxOwnerMismatch,
    /// The challenge signature is not in an accepted encoding.
    SiwxMalformedSignature,
    /// The EIP-191 recovery byte is not 27, 28, 0 or 1.
    SiwxBadRecoveryId,
    /// The challenge signature does not verify.
    SiwxBadSignature,
    /// The challenge was signed by another account.
    SiwxWrongSigner,
    /// The customer is already verified.
    SiwxAlreadyVerified,
    /// The contract-wallet check (ERC-1271/6492 over JSON-RPC) could not be made.
    SiwxContractCheckFailed,
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
            Self::AmountOutOfRange => "AMOUNT_OUT_OF_RANGE",
            Self::UserNotActive => "USER_NOT_ACTIVE",
            Self::InsufficientFunds => "INSUFFICIENT_FUNDS",
            Self::NotCancellable => "NOT_CANCELLABLE",
            Self::BlockedByPolicy => "BLOCKED_BY_POLICY",
            Self::AddressCoolingOff => "ADDRESS_COOLING_OFF",
            Self::SelfApproval => "SELF_APPROVAL",
            Self::WithdrawalCodeInvalid => "WITHDRAWAL_CODE_INVALID",
            Self::WithdrawalCodeExpired => "WITHDRAWAL_CODE_EXPIRED",
            Self::WithdrawalCodeVoid => "WITHDRAWAL_CODE_VOID",
            Self::QuoteNotFillable => "QUOTE_NOT_FILLABLE",
            Self::QuoteExpired => "QUOTE_EXPIRED",
            Self::QuoteUsed => "QUOTE_USED",
            Self::TransferCodeInvalid => "TRANSFER_CODE_INVALID",
            Self::TransferCodeExpired => "TRANSFER_CODE_EXPIRED",
            Self::TransferCodeVoid => "TRANSFER_CODE_VOID",
            Self::RequestTimeout => "REQUEST_TIMEOUT",
            Self::HttpsigMissingSignatureInput => "HTTPSIG_MISSING_SIGNATURE_INPUT",
            Self::HttpsigMissingSignature => "HTTPSIG_MISSING_SIGNATURE",
            Self::HttpsigMalformedSignatureInput => "HTTPSIG_MALFORMED_SIGNATURE_INPUT",
            Self::HttpsigMalformedSignature => "HTTPSIG_MALFORMED_SIGNATURE",
            Self::HttpsigNoMatchingSignature => "HTTPSIG_NO_MATCHING_SIGNATURE",
            Self::HttpsigMultipleSignatures => "HTTPSIG_MULTIPLE_SIGNATURES",
            Self::HttpsigMissingKeyid => "HTTPSIG_MISSING_KEYID",
            Self::HttpsigMissingCreated => "HTTPSIG_MISSING_CREATED",
            Self::HttpsigStaleCreated => "HTTPSIG_STALE_CREATED",
            Self::HttpsigCreatedInFuture => "HTTPSIG_CREATED_IN_FUTURE",
            Self::HttpsigExpired => "HTTPSIG_EXPIRED",
            Self::HttpsigMissingNonce => "HTTPSIG_MISSING_NONCE",
            Self::HttpsigReplayedNonce => "HTTPSIG_REPLAYED_NONCE",
            Self::HttpsigMissingComponent => "HTTPSIG_MISSING_COMPONENT",
            Self::HttpsigDuplicateComponent => "HTTPSIG_DUPLICATE_COMPONENT",
            Self::HttpsigUnsupportedComponent => "HTTPSIG_UNSUPPORTED_COMPONENT",
            Self::HttpsigComponentAbsent => "HTTPSIG_COMPONENT_ABSENT",
            Self::HttpsigUnknownKeyid => "HTTPSIG_UNKNOWN_KEYID",
            Self::HttpsigUnknownAlg => "HTTPSIG_UNKNOWN_ALG",
            Self::HttpsigAlgMismatch => "HTTPSIG_ALG_MISMATCH",
            Self::HttpsigBadSignature => "HTTPSIG_BAD_SIGNATURE",
            Self::HttpsigInvalidKey => "HTTPSIG_INVALID_KEY",
            Self::HttpsigInvalidOrigin => "HTTPSIG_INVALID_ORIGIN",
            Self::ContentDigestMissing => "CONTENT_DIGEST_MISSING",
            Self::ContentDigestMalformed => "CONTENT_DIGEST_MALFORMED",
            Self::ContentDigestUnsupportedAlgorithm => "CONTENT_DIGEST_UNSUPPORTED_ALGORITHM",
            Self::ContentDigestMismatch => "CONTENT_DIGEST_MISMATCH",
            Self::IdempotencyKeyMissing => "IDEMPOTENCY_KEY_MISSING",
            Self::IdempotencyKeyInvalid => "IDEMPOTENCY_KEY_INVALID",
            Self::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            Self::IdempotencyKeyInFlight => "IDEMPOTENCY_KEY_IN_FLIGHT",
            Self::SiwxInvalidAccountId => "SIWX_INVALID_ACCOUNT_ID",
            Self::SiwxUnsupportedNamespace => "SIWX_UNSUPPORTED_NAMESPACE",
            Self::SiwxBadChecksum => "SIWX_BAD_CHECKSUM",
            Self::SiwxInvalidChallenge => "SIWX_INVALID_CHALLENGE",
            Self::SiwxChallengeMalformed => "SIWX_CHALLENGE_MALFORMED",
            Self::SiwxChallengeMismatch => "SIWX_CHALLENGE_MISMATCH",
            Self::SiwxChallengeExpired => "SIWX_CHALLENGE_EXPIRED",
            Self::SiwxChallengeNotYetValid => "SIWX_CHALLENGE_NOT_YET_VALID",
            Self::SiwxOwnerMismatch => "SIWX_OWNER_MISMATCH",
            Self::SiwxMalformedSignature => "SIWX_MALFORMED_SIGNATURE",
            Self::SiwxBadRecoveryId => "SIWX_BAD_RECOVERY_ID",
            Self::SiwxBadSignature => "SIWX_BAD_SIGNATURE",
            Self::SiwxWrongSigner => "SIWX_WRONG_SIGNER",
            Self::SiwxAlreadyVerified => "SIWX_ALREADY_VERIFIED",
            Self::SiwxContractCheckFailed => "SIWX_CONTRACT_CHECK_FAILED",
        }
    }

    /// The code whose wire form is `s` (e.g. a `sova_auth` error's `code()`).
    pub fn from_wire(s: &str) -> Option<ErrorCode> {
        Self::all().iter().copied().find(|c| c.as_str() == s)
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
            AmountOutOfRange,
            UserNotActive,
            InsufficientFunds,
            NotCancellable,
            BlockedByPolicy,
            AddressCoolingOff,
            SelfApproval,
            WithdrawalCodeInvalid,
            WithdrawalCodeExpired,
            WithdrawalCodeVoid,
            QuoteNotFillable,
            QuoteExpired,
            QuoteUsed,
            TransferCodeInvalid,
            TransferCodeExpired,
            TransferCodeVoid,
            RequestTimeout,
            HttpsigMissingSignatureInput,
            HttpsigMissingSignature,
            HttpsigMalformedSignatureInput,
            HttpsigMalformedSignature,
            HttpsigNoMatchingSignature,
            HttpsigMultipleSignatures,
            HttpsigMissingKeyid,
            HttpsigMissingCreated,
            HttpsigStaleCreated,
            HttpsigCreatedInFuture,
            HttpsigExpired,
            HttpsigMissingNonce,
            HttpsigReplayedNonce,
            HttpsigMissingComponent,
            HttpsigDuplicateComponent,
            HttpsigUnsupportedComponent,
            HttpsigComponentAbsent,
            HttpsigUnknownKeyid,
            HttpsigUnknownAlg,
            HttpsigAlgMismatch,
            HttpsigBadSignature,
            HttpsigInvalidKey,
            HttpsigInvalidOrigin,
            ContentDigestMissing,
            ContentDigestMalformed,
            ContentDigestUnsupportedAlgorithm,
            ContentDigestMismatch,
            IdempotencyKeyMissing,
            IdempotencyKeyInvalid,
            IdempotencyKeyReused,
            IdempotencyKeyInFlight,
            SiwxInvalidAccountId,
            SiwxUnsupportedNamespace,
            SiwxBadChecksum,
            SiwxInvalidChallenge,
            SiwxChallengeMalformed,
            SiwxChallengeMismatch,
            SiwxChallengeExpired,
            SiwxChallengeNotYetValid,
            SiwxOwnerMismatch,
            SiwxMalformedSignature,
            SiwxBadRecoveryId,
            SiwxBadSignature,
            SiwxWrongSigner,
            SiwxAlreadyVerified,
            SiwxContractCheckFailed,
        ]
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
