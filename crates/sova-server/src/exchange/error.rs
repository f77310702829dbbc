//! The exchange's HTTP answers: the envelope (`{"code":0,"timestamp":ms,"data":..}` /
//! `{"code":N,"timestamp":ms,"error":"..","reason":".."}`) and the HTTP status of each reason.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sova_auth::exchange::{NonceError, VerifyError};
use sova_exchange::{ExchangeError, Reason};
use sova_proto::exchange::{Envelope, ErrorEnvelope};

use sova_http::time::now_ms;

/// `{"code":0,"data":..,"timestamp":..}`.
pub fn ok<T: Serialize>(data: T) -> Response {
    Json(Envelope { code: 0, data, timestamp: now_ms() }).into_response()
}

/// An exchange error as answered: HTTP status, stable reason (e.g. `NONCE_REUSED`), message saying what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable reason.
    pub reason: Reason,
    /// What went wrong and what to do.
    pub message: String,
}

impl ExError {
    /// A new error with the status of its reason.
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Self { status: status_of(reason), reason, message: message.into() }
    }
}

/// The HTTP status of a reason: signature failures 401, unknown accounts, orders and keys 404, another master's
/// account or a sandbox route in production 403, the rest of the client's mistakes 400.
pub fn status_of(reason: Reason) -> StatusCode {
    use Reason as R;
    match reason {
        R::NotFound | R::UnknownAccount | R::UnknownOrder | R::ApiKeyNotFound => StatusCode::NOT_FOUND,
        R::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        R::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        R::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        R::SandboxOnly | R::MasterMismatch => StatusCode::FORBIDDEN,
        R::EngineUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        R::PerpsNotAvailable => StatusCode::NOT_IMPLEMENTED,
        R::MissingSignature
        | R::MalformedSignature
        | R::SignatureLength
        | R::SignatureTypeUnknown
        | R::SignatureTypeMismatch
        | R::SignatureRecoveryId
        | R::InvalidSignature
        | R::SignatureZeroAddress
        | R::UnknownApiKey
        | R::ApiKeyExpired
        | R::MasterSignatureRequired
        | R::SignerMismatch => StatusCode::UNAUTHORIZED,
        R::BadRequest
        | R::InvalidAddress
        | R::UnknownSymbol
        | R::UnknownCoinSymbol
        | R::InvalidParameter
        | R::UnsupportedTransfer
        | R::MissingNonce
        | R::MalformedNonce
        | R::InvalidApiKeyName
        | R::ChainMismatch
        | R::MalformedChain
        | R::NonCanonicalBody
        | R::InvalidJson
        | R::InvalidDecimal
        | R::InvalidEnum
        | R::InvalidField
        | R::InvalidName
        | R::UnsupportedAction
        | R::NonceOutOfWindow
        | R::NonceReused
        | R::NonceTooLow
        | R::ApiKeyLimit
        | R::ApiKeyNameTaken
        | R::ApiKeyExpiryInPast
        | R::ApiKeyZeroAddress
        | R::UnknownMarket
        | R::UnknownCoin
        | R::DuplicateClOrdId
        | R::InvalidClOrdId
        | R::InvalidPrice
        | R::InvalidQuantity
        | R::InvalidFunds
        | R::InvalidTimeInForce
        | R::MinNotional
        | R::Overflow
        | R::InsufficientBalance
        | R::PostOnlyWouldTake
        | R::TooManyOpenOrders
        | R::DeadlineNotInFuture
        | R::InvalidAmount
        | R::SameAccount
        | R::AlreadyExists
        | R::InvalidConfig
        | R::SupplyOverflow => StatusCode::BAD_REQUEST,
    }
}

impl From<ExchangeError> for ExError {
    fn from(e: ExchangeError) -> Self {
        ExError::new(e.reason, e.message)
    }
}

impl From<VerifyError> for ExError {
    fn from(e: VerifyError) -> Self {
        ExchangeError::from(e).into()
    }
}

impl From<NonceError> for ExError {
    fn from(e: NonceError) -> Self {
        ExchangeError::from(e).into()
    }
}

impl IntoResponse for ExError {
    fn into_response(self) -> Response {
        let body =
            ErrorEnvelope { code: self.reason.number(), error: self.message, reason: self.reason, timestamp: now_ms() };
        (self.status, Json(body)).into_response()
    }
}
