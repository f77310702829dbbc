//! The one error type of every surface, and the one place where domain errors become HTTP statuses.
//!
//! An [`ApiError`] renders in the Connect envelope (`{success:false, errors:[..], meta}`, also SIWX's and Intel's);
//! the exchange's routes wrap it in theirs (`{code, error, reason, timestamp}`, [`crate::envelope::exchange_error`])
//! and answer its stable [`Reason`], given by exchange errors and derived from the status for the shared ones.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sova_auth::exchange::{NonceError, VerifyError};
use sova_exchange::ExchangeError;
use sova_proto::ErrorCode;
use sova_proto::connect::{ApiErrorItem, ErrorEnvelope};
use sova_proto::exchange::Reason;
use sova_store::StoreError;

use crate::context::meta;
use crate::ratelimit::Limited;

/// An error answer: status, stable code, a message that says what to fix, optionally the field at fault.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code.
    pub code: ErrorCode,
    /// Human message.
    pub message: String,
    /// Field at fault.
    pub field: Option<String>,
    /// Seconds to wait (429).
    pub retry_after: Option<u64>,
    /// The exchange's stable reason, when the exchange refused (else derived from the status, see [`Self::reason`]).
    pub exchange_reason: Option<Reason>,
}

impl ApiError {
    /// A new error.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), field: None, retry_after: None, exchange_reason: None }
    }

    /// An error of `status` with the code that status stands for (for answers made below Sova's handlers, such as
    /// axum's own rejections, which come as plain text).
    pub fn from_status(status: StatusCode, message: impl Into<String>) -> Self {
        let code = match status {
            StatusCode::UNAUTHORIZED => ErrorCode::Unauthorized,
            StatusCode::FORBIDDEN => ErrorCode::Forbidden,
            StatusCode::NOT_FOUND => ErrorCode::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
            StatusCode::REQUEST_TIMEOUT => ErrorCode::RequestTimeout,
            StatusCode::CONFLICT => ErrorCode::Conflict,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
            StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
            StatusCode::SERVICE_UNAVAILABLE => ErrorCode::ServiceUnavailable,
            s if s.is_server_error() => ErrorCode::InternalError,
            _ => ErrorCode::ValidationError,
        };
        Self::new(status, code, message)
    }

    /// An exchange refusal: the status of its reason, the reason kept for the exchange's envelope.
    pub fn exchange(reason: Reason, message: impl Into<String>) -> Self {
        let status = status_of(reason);
        Self { exchange_reason: Some(reason), ..Self::from_status(status, message) }
    }

    /// The exchange reason this error answers with: its own, or the one of its status.
    pub fn reason(&self) -> Reason {
        self.exchange_reason.unwrap_or_else(|| match self.status {
            StatusCode::NOT_FOUND => Reason::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => Reason::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => Reason::BodyTooLarge,
            StatusCode::TOO_MANY_REQUESTS => Reason::RateLimited,
            StatusCode::UNAUTHORIZED => Reason::InvalidSignature,
            StatusCode::FORBIDDEN => Reason::SandboxOnly,
            s if s.is_server_error() => Reason::EngineUnavailable,
            _ if self.code == ErrorCode::MalformedJson => Reason::InvalidJson,
            _ => Reason::BadRequest,
        })
    }

    /// 400 VALIDATION_ERROR naming `field`.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::ValidationError, message).with_field(field)
    }

    /// 403 SANDBOX_ONLY: `what` is only served in sandbox mode.
    pub fn sandbox_only(what: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::SandboxOnly, format!("{what} are only available in sandbox mode"))
    }

    /// 400 MISSING_FIELD naming `field`.
    pub fn missing(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::MissingField, message).with_field(field)
    }

    /// 409 USER_NOT_ACTIVE: the user exists but its status refuses this work.
    pub fn user_not_active(user_id: &str, status: &str) -> Self {
        let hint = match status {
            "PENDING" => "activate it first (POST /users/{user_id}/activate)",
            _ => "reactivate it first (POST /users/{user_id}/activate)",
        };
        Self::new(StatusCode::CONFLICT, ErrorCode::UserNotActive, format!("user {user_id} is {status}; {hint}"))
    }

    /// Attach the field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 401.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, message)
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, message)
    }

    /// 404 naming the kind of resource.
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, format!("{what} not found"))
    }

    /// 409.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, ErrorCode::Conflict, message)
    }

    /// 500 (the detail goes to the log, never to the client).
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::InternalError,
            "internal error; the trace id identifies it in the server log",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found("resource"),
            StoreError::Conflict(what) => ApiError::conflict(format!("{what} already exists")).with_field(what),
            StoreError::InvalidState(m) => ApiError::conflict(m),
            StoreError::InsufficientFunds(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InsufficientFunds,
                "the wallet's available balance does not cover the amount and the fee",
            )
            .with_field("amount"),
            StoreError::OutOfRange(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::AmountOutOfRange,
                "the amount would take a balance beyond what the ledger keeps exactly (28 significant digits); \
                 use a smaller amount",
            )
            .with_field("amount"),
            StoreError::BadFilter(m) => ApiError::validation("filter", m),
            StoreError::Db(sqlx_err) if is_unavailable(&sqlx_err) => {
                tracing::error!(error = %sqlx_err, "database unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::ServiceUnavailable,
                    "database unavailable; retry later",
                )
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<ExchangeError> for ApiError {
    fn from(e: ExchangeError) -> Self {
        ApiError::exchange(e.reason, e.message)
    }
}

impl From<VerifyError> for ApiError {
    fn from(e: VerifyError) -> Self {
        ExchangeError::from(e).into()
    }
}

impl From<NonceError> for ApiError {
    fn from(e: NonceError) -> Self {
        ExchangeError::from(e).into()
    }
}

/// Why a request body could not be read, as an answer: `408 REQUEST_TIMEOUT` when it stopped arriving (the server's
/// body timeout), `413 PAYLOAD_TOO_LARGE` past the body limit, else `400 MALFORMED_JSON` with the reason.
pub fn body_read_error(e: &(dyn std::error::Error + 'static)) -> ApiError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<tower_http::timeout::TimeoutError>() {
            return ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::RequestTimeout,
                "the request body stopped arriving; send it without long pauses",
            );
        }
        if c.is::<http_body_util::LengthLimitError>() {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                "request body is too large",
            );
        }
        cause = c.source();
    }
    ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::MalformedJson, format!("could not read the request body: {e}"))
}

/// The HTTP status of an exchange reason: signature failures 401, unknown accounts, orders and keys 404, another
/// master's account or a sandbox route in production 403, the rest of the client's mistakes 400.
pub fn status_of(reason: Reason) -> StatusCode {
    use Reason as R;
    match reason {
        R::NotFound | R::UnknownAccount | R::UnknownOrder | R::ApiKeyNotFound | R::UnknownTwap => StatusCode::NOT_FOUND,
        R::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        R::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        R::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        R::SandboxOnly | R::MasterMismatch => StatusCode::FORBIDDEN,
        R::EngineUnavailable | R::NotLeader => StatusCode::SERVICE_UNAVAILABLE,
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
        | R::InvalidTwapDuration
        | R::TooManyTwaps
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
        | R::SupplyOverflow
        | R::PositionSideUnsupported
        | R::ReduceOnlyWouldIncrease
        | R::InsufficientMargin
        | R::LeverageOutOfRange
        | R::PositionOpen
        | R::NotIsolated
        | R::InvalidStop
        | R::BracketMalformed => StatusCode::BAD_REQUEST,
        R::AccountLiquidating | R::QuoteNotFillable => StatusCode::CONFLICT,
    }
}

fn is_unavailable(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_))
}

impl IntoResponse for ApiError {
    /// The Connect envelope; the error rides along in the response's extensions, so that a surface with another
    /// envelope (the exchange's) can answer it in its own.
    fn into_response(self) -> Response {
        let body = ErrorEnvelope {
            success: false,
            errors: vec![ApiErrorItem { code: self.code, message: self.message.clone(), field: self.field.clone() }],
            meta: meta(None),
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp.extensions_mut().insert(self);
        resp
    }
}

impl From<Limited> for ApiError {
    fn from(l: Limited) -> Self {
        let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited, l.message());
        e.retry_after = Some(l.info.reset);
        e
    }
}

/// Result of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
