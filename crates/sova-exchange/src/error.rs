//! The exchange's domain error: a stable reason (e.g. `NONCE_REUSED`) and a message saying what to fix. The HTTP
//! status of each reason is the HTTP layer's business.

use sova_auth::exchange::{ApiKeyError, NonceError, VerifyError};
use sova_engine::Reject;

/// Why the exchange refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeError {
    /// Stable reason.
    pub reason: &'static str,
    /// What went wrong and what to do.
    pub message: String,
}

impl ExchangeError {
    /// A new error.
    pub fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Self { reason, message: message.into() }
    }

    /// `NOT_FOUND`: an account or order that is not there (or not the caller's).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new("NOT_FOUND", message)
    }

    /// `ENGINE_UNAVAILABLE`: the sequencer is gone or its commit failed.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new("ENGINE_UNAVAILABLE", message)
    }

    /// The numeric `code` of the envelope.
    pub fn code(&self) -> i64 {
        code_of(self.reason)
    }
}

/// Stable numbers of the reasons (never reused; new reasons get new numbers).
pub const CODES: &[(&str, i64)] = &[
    // request shape
    ("BAD_REQUEST", 10001),
    ("NOT_FOUND", 10002),
    ("METHOD_NOT_ALLOWED", 10003),
    ("BODY_TOO_LARGE", 10004),
    ("RATE_LIMITED", 10005),
    ("SANDBOX_ONLY", 10006),
    ("ENGINE_UNAVAILABLE", 10007),
    ("INVALID_ADDRESS", 10008),
    ("UNKNOWN_SYMBOL", 10009),
    ("UNKNOWN_COIN_SYMBOL", 10010),
    ("INVALID_PARAMETER", 10011),
    ("UNSUPPORTED_TRANSFER", 10012),
    ("PERPS_NOT_AVAILABLE", 10013),
    // signature headers and payload (sova_auth::exchange codes)
    ("MISSING_SIGNATURE", 20001),
    ("MALFORMED_SIGNATURE", 20002),
    ("SIGNATURE_LENGTH", 20003),
    ("SIGNATURE_TYPE_UNKNOWN", 20004),
    ("SIGNATURE_TYPE_MISMATCH", 20005),
    ("SIGNATURE_RECOVERY_ID", 20006),
    ("INVALID_SIGNATURE", 20007),
    ("SIGNATURE_ZERO_ADDRESS", 20008),
    ("MISSING_NONCE", 20009),
    ("MALFORMED_NONCE", 20010),
    ("INVALID_API_KEY_NAME", 20011),
    ("CHAIN_MISMATCH", 20012),
    ("MALFORMED_CHAIN", 20013),
    ("NON_CANONICAL_BODY", 20014),
    ("INVALID_JSON", 20015),
    ("INVALID_DECIMAL", 20016),
    ("INVALID_ENUM", 20017),
    ("INVALID_FIELD", 20018),
    ("INVALID_NAME", 20019),
    ("UNSUPPORTED_ACTION", 20020),
    // nonces
    ("NONCE_OUT_OF_WINDOW", 21001),
    ("NONCE_REUSED", 21002),
    ("NONCE_TOO_LOW", 21003),
    // API keys and authorization
    ("API_KEY_LIMIT", 22001),
    ("API_KEY_NAME_TAKEN", 22002),
    ("API_KEY_EXPIRY_IN_PAST", 22003),
    ("API_KEY_ZERO_ADDRESS", 22004),
    ("API_KEY_NOT_FOUND", 22005),
    ("UNKNOWN_API_KEY", 22006),
    ("API_KEY_EXPIRED", 22007),
    ("MASTER_SIGNATURE_REQUIRED", 22008),
    ("SIGNER_MISMATCH", 22009),
    ("UNKNOWN_ACCOUNT", 22010),
    ("MASTER_MISMATCH", 22011),
    // engine
    ("UNKNOWN_MARKET", 30001),
    ("UNKNOWN_COIN", 30002),
    ("UNKNOWN_ORDER", 30003),
    ("DUPLICATE_CL_ORD_ID", 30004),
    ("INVALID_CL_ORD_ID", 30005),
    ("INVALID_PRICE", 30006),
    ("INVALID_QUANTITY", 30007),
    ("INVALID_FUNDS", 30008),
    ("INVALID_TIME_IN_FORCE", 30009),
    ("MIN_NOTIONAL", 30010),
    ("OVERFLOW", 30011),
    ("INSUFFICIENT_BALANCE", 30012),
    ("POST_ONLY_WOULD_TAKE", 30013),
    ("TOO_MANY_OPEN_ORDERS", 30014),
    ("DEADLINE_NOT_IN_FUTURE", 30015),
    ("INVALID_AMOUNT", 30016),
    ("SAME_ACCOUNT", 30017),
    ("ALREADY_EXISTS", 30018),
    ("INVALID_CONFIG", 30019),
    ("SUPPLY_OVERFLOW", 30020),
];

/// The number of a reason (99999 for one missing from [`CODES`], which a test forbids).
pub fn code_of(reason: &str) -> i64 {
    CODES.iter().find(|(r, _)| *r == reason).map(|(_, c)| *c).unwrap_or(99_999)
}

impl std::fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.reason, self.message)
    }
}

impl std::error::Error for ExchangeError {}

impl From<VerifyError> for ExchangeError {
    fn from(e: VerifyError) -> Self {
        ExchangeError::new(e.code(), e.to_string())
    }
}

impl From<NonceError> for ExchangeError {
    fn from(e: NonceError) -> Self {
        ExchangeError::new(e.code(), e.to_string())
    }
}

impl From<ApiKeyError> for ExchangeError {
    fn from(e: ApiKeyError) -> Self {
        ExchangeError::new(e.code(), e.to_string())
    }
}

impl From<Reject> for ExchangeError {
    fn from(r: Reject) -> Self {
        let message = match r {
            Reject::InsufficientBalance => "the account's available balance does not cover this order".to_string(),
            Reject::InvalidPrice => "price must be positive and a multiple of the market's tick size".to_string(),
            Reject::InvalidQuantity => "quantity must be positive and a multiple of the market's lot size".to_string(),
            Reject::MinNotional => "the order's value is below the market's minimum notional".to_string(),
            Reject::UnknownOrder => "no open order of this account matches".to_string(),
            Reject::DuplicateClOrdId => "an open order of this account already has this clOrdID".to_string(),
            Reject::PostOnlyWouldTake => "the post-only (GTX) order would take liquidity".to_string(),
            Reject::TooManyOpenOrders => "the account has 1000 open orders".to_string(),
            Reject::DeadlineNotInFuture => "scheduledTimestamp must be in the future".to_string(),
            other => format!("rejected: {other}"),
        };
        ExchangeError::new(r.as_str(), message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_a_distinct_number() {
        let mut seen = std::collections::HashSet::new();
        for (r, c) in CODES {
            assert!(seen.insert(*c), "{r} reuses {c}");
        }
        let rejects = [
            Reject::UnknownMarket,
            Reject::UnknownCoin,
            Reject::UnknownAccount,
            Reject::UnknownOrder,
            Reject::DuplicateClOrdId,
            Reject::InvalidClOrdId,
            Reject::InvalidPrice,
            Reject::InvalidQuantity,
            Reject::InvalidFunds,
            Reject::InvalidTimeInForce,
            Reject::MinNotional,
            Reject::Overflow,
            Reject::InsufficientBalance,
            Reject::PostOnlyWouldTake,
            Reject::TooManyOpenOrders,
            Reject::DeadlineNotInFuture,
            Reject::InvalidAmount,
            Reject::SameAccount,
            Reject::AlreadyExists,
            Reject::InvalidConfig,
            Reject::SupplyOverflow,
        ];
        for r in rejects {
            assert_ne!(code_of(r.as_str()), 99_999, "{r}");
        }
    }
}
