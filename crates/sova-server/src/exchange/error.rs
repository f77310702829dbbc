//! The exchange's HTTP answers: the envelope (`{"code":0,"timestamp":ms,"data":..}` /
//! `{"code":N,"timestamp":ms,"error":"..","reason":".."}`) and the HTTP status of each reason.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use sova_auth::exchange::{NonceError, VerifyError};
use sova_exchange::ExchangeError;
use sova_exchange::error::code_of;

use crate::envelope::now_ms;

/// `{"code":0,"timestamp":..,"data":..}`.
pub fn ok<T: Serialize>(data: T) -> Response {
    Json(json!({"code": 0, "timestamp": now_ms(), "data": data})).into_response()
}

/// An exchange error as answered: HTTP status, stable reason (e.g. `NONCE_REUSED`), message saying what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable reason.
    pub reason: &'static str,
    /// What went wrong and what to do.
    pub message: String,
}

impl ExError {
    /// A new error with the status of its reason.
    pub fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Self { status: status_of(reason), reason, message: message.into() }
    }

    /// The numeric `code` of the envelope.
    pub fn code(&self) -> i64 {
        code_of(self.reason)
    }
}

/// The HTTP status of a reason: signature failures 401, unknown accounts, orders and keys 404, refusals of
/// another master's account or outside the sandbox 403, the rest of the client's mistakes 400.
pub fn status_of(reason: &str) -> StatusCode {
    match reason {
        "NOT_FOUND" | "UNKNOWN_ACCOUNT" | "UNKNOWN_ORDER" | "API_KEY_NOT_FOUND" => StatusCode::NOT_FOUND,
        "METHOD_NOT_ALLOWED" => StatusCode::METHOD_NOT_ALLOWED,
        "BODY_TOO_LARGE" => StatusCode::PAYLOAD_TOO_LARGE,
        "RATE_LIMITED" => StatusCode::TOO_MANY_REQUESTS,
        "SANDBOX_ONLY" | "MASTER_MISMATCH" => StatusCode::FORBIDDEN,
        "ENGINE_UNAVAILABLE" => StatusCode::SERVICE_UNAVAILABLE,
        "PERPS_NOT_AVAILABLE" => StatusCode::NOT_IMPLEMENTED,
        "MISSING_SIGNATURE"
        | "MALFORMED_SIGNATURE"
        | "SIGNATURE_LENGTH"
        | "SIGNATURE_TYPE_UNKNOWN"
        | "SIGNATURE_TYPE_MISMATCH"
        | "SIGNATURE_RECOVERY_ID"
        | "INVALID_SIGNATURE"
        | "SIGNATURE_ZERO_ADDRESS"
        | "UNKNOWN_API_KEY"
        | "API_KEY_EXPIRED"
        | "MASTER_SIGNATURE_REQUIRED"
        | "SIGNER_MISMATCH" => StatusCode::UNAUTHORIZED,
        _ => StatusCode::BAD_REQUEST,
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
        let body = json!({
            "code": self.code(),
            "timestamp": now_ms(),
            "error": self.message,
            "reason": self.reason,
        });
        (self.status, Json(body)).into_response()
    }
}
