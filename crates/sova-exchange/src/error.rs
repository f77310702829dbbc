//! The exchange's domain error: a stable [`Reason`] (its name and number are the envelope's `reason` and `code`)
//! and a message saying what to fix. The HTTP status of each reason is the HTTP layer's business.

use sova_auth::exchange::{ApiKeyError, HeaderError, NonceError, PayloadError, SignatureError, VerifyError};
use sova_engine::Reject;
pub use sova_proto::exchange::Reason;

/// Why the exchange refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeError {
    /// Stable reason.
    pub reason: Reason,
    /// What went wrong and what to do.
    pub message: String,
}

impl ExchangeError {
    /// A new error.
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Self { reason, message: message.into() }
    }

    /// `NOT_FOUND`: an account or order that is not there (or not the caller's).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Reason::NotFound, message)
    }

    /// `ENGINE_UNAVAILABLE`: the sequencer is gone or its commit failed.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(Reason::EngineUnavailable, message)
    }
}

impl std::fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.reason, self.message)
    }
}

impl std::error::Error for ExchangeError {}

/// The reason of a signature header or payload refusal.
pub fn verify_reason(e: &VerifyError) -> Reason {
    match e {
        VerifyError::Header(h) => match h {
            HeaderError::KeyName => Reason::InvalidApiKeyName,
            HeaderError::MissingNonce => Reason::MissingNonce,
            HeaderError::MalformedNonce => Reason::MalformedNonce,
            HeaderError::MalformedChain => Reason::MalformedChain,
            HeaderError::ChainMismatch { .. } => Reason::ChainMismatch,
        },
        VerifyError::Signature(s) => match s {
            SignatureError::Missing => Reason::MissingSignature,
            SignatureError::NotHex => Reason::MalformedSignature,
            SignatureError::Length { .. } => Reason::SignatureLength,
            SignatureError::UnknownType { .. } => Reason::SignatureTypeUnknown,
            SignatureError::TypeMismatch { .. } => Reason::SignatureTypeMismatch,
            SignatureError::RecoveryId { .. } => Reason::SignatureRecoveryId,
            SignatureError::Invalid => Reason::InvalidSignature,
            SignatureError::ZeroAddress => Reason::SignatureZeroAddress,
        },
        VerifyError::Payload(p) => match p {
            PayloadError::UnsupportedAction { .. } => Reason::UnsupportedAction,
            PayloadError::InvalidJson { .. } => Reason::InvalidJson,
            PayloadError::InvalidField { .. } => Reason::InvalidField,
            PayloadError::InvalidDecimal { .. } => Reason::InvalidDecimal,
            PayloadError::InvalidEnum { .. } => Reason::InvalidEnum,
            PayloadError::InvalidName { .. } => Reason::InvalidName,
            PayloadError::NonCanonicalBody { .. } => Reason::NonCanonicalBody,
        },
    }
}

/// The reason of a nonce refusal.
pub fn nonce_reason(e: &NonceError) -> Reason {
    match e {
        NonceError::TooOld { .. } | NonceError::TooNew { .. } => Reason::NonceOutOfWindow,
        NonceError::Reused { .. } => Reason::NonceReused,
        NonceError::TooLow { .. } => Reason::NonceTooLow,
    }
}

/// The reason of an API-key or authorization refusal.
pub fn api_key_reason(e: &ApiKeyError) -> Reason {
    match e {
        ApiKeyError::LimitReached => Reason::ApiKeyLimit,
        ApiKeyError::NameTaken(_) => Reason::ApiKeyNameTaken,
        ApiKeyError::AlreadyExpired { .. } => Reason::ApiKeyExpiryInPast,
        ApiKeyError::ZeroPublicKey => Reason::ApiKeyZeroAddress,
        ApiKeyError::NotFound(_) => Reason::ApiKeyNotFound,
        ApiKeyError::UnknownKey(_) => Reason::UnknownApiKey,
        ApiKeyError::KeyExpired { .. } => Reason::ApiKeyExpired,
        ApiKeyError::MasterRequired(_) => Reason::MasterSignatureRequired,
        ApiKeyError::SignerMismatch { .. } => Reason::SignerMismatch,
    }
}

/// The reason of an engine refusal.
pub fn reject_reason(r: Reject) -> Reason {
    match r {
        Reject::UnknownMarket => Reason::UnknownMarket,
        Reject::UnknownCoin => Reason::UnknownCoin,
        Reject::UnknownAccount => Reason::UnknownAccount,
        Reject::UnknownOrder => Reason::UnknownOrder,
        Reject::DuplicateClOrdId => Reason::DuplicateClOrdId,
        Reject::InvalidClOrdId => Reason::InvalidClOrdId,
        Reject::InvalidPrice => Reason::InvalidPrice,
        Reject::InvalidQuantity => Reason::InvalidQuantity,
        Reject::InvalidFunds => Reason::InvalidFunds,
        Reject::InvalidTimeInForce => Reason::InvalidTimeInForce,
        Reject::MinNotional => Reason::MinNotional,
        Reject::Overflow => Reason::Overflow,
        Reject::InsufficientBalance => Reason::InsufficientBalance,
        Reject::PostOnlyWouldTake => Reason::PostOnlyWouldTake,
        Reject::TooManyOpenOrders => Reason::TooManyOpenOrders,
        Reject::DeadlineNotInFuture => Reason::DeadlineNotInFuture,
        Reject::InvalidAmount => Reason::InvalidAmount,
        Reject::SameAccount => Reason::SameAccount,
        Reject::AlreadyExists => Reason::AlreadyExists,
        Reject::InvalidConfig => Reason::InvalidConfig,
        Reject::SupplyOverflow => Reason::SupplyOverflow,
    }
}

/// The reason of a perps engine refusal (`sova_perps::Reject`; the names are the same).
pub fn perps_reject_reason(r: sova_perps::Reject) -> Reason {
    use sova_perps::Reject as P;
    match r {
        P::UnknownMarket => Reason::UnknownMarket,
        P::UnknownAccount => Reason::UnknownAccount,
        P::UnknownOrder => Reason::UnknownOrder,
        P::DuplicateClOrdId => Reason::DuplicateClOrdId,
        P::InvalidPrice => Reason::InvalidPrice,
        P::InvalidQuantity => Reason::InvalidQuantity,
        P::InvalidTimeInForce => Reason::InvalidTimeInForce,
        P::MinNotional => Reason::MinNotional,
        P::Overflow => Reason::Overflow,
        P::InsufficientBalance => Reason::InsufficientBalance,
        P::PostOnlyWouldTake => Reason::PostOnlyWouldTake,
        P::TooManyOpenOrders => Reason::TooManyOpenOrders,
        P::DeadlineNotInFuture => Reason::DeadlineNotInFuture,
        P::InvalidAmount => Reason::InvalidAmount,
        P::AlreadyExists => Reason::AlreadyExists,
        P::InvalidConfig => Reason::InvalidConfig,
        P::NoPosition | P::NotIsolated => Reason::NotIsolated,
        P::PositionSideUnsupported => Reason::PositionSideUnsupported,
        P::ReduceOnlyWouldIncrease => Reason::ReduceOnlyWouldIncrease,
        P::InsufficientMargin => Reason::InsufficientMargin,
        P::LeverageOutOfRange => Reason::LeverageOutOfRange,
        P::PositionOpen => Reason::PositionOpen,
        P::InvalidStop => Reason::InvalidStop,
        P::BracketMalformed => Reason::BracketMalformed,
        P::AccountLiquidating => Reason::AccountLiquidating,
    }
}

impl From<sova_perps::Reject> for ExchangeError {
    fn from(r: sova_perps::Reject) -> Self {
        use sova_perps::Reject as P;
        let message = match r {
            P::InsufficientBalance => "above what the perps account can withdraw now (equity - max(initial margin, \
                                       10 % of open notional) - frozen)"
                .to_string(),
            P::InsufficientMargin => "the account's available margin does not cover this".to_string(),
            P::NoPosition => "no position in this market (updateMargin needs an ISOLATED position)".to_string(),
            P::NotIsolated => "the position is not ISOLATED (updateMargin applies to isolated positions)".to_string(),
            P::PositionSideUnsupported => "positionSide must be BOTH (one-way mode)".to_string(),
            P::ReduceOnlyWouldIncrease => "a reduce-only order must shrink an open position".to_string(),
            P::LeverageOutOfRange => "leverage must be from 1 to the market's (or margin tier's) maximum".to_string(),
            P::PositionOpen => "close the position and cancel the open orders of this market first".to_string(),
            P::InvalidStop => {
                "stopPrice, stopType and triggerType are needed, and the stop must not fire at once".to_string()
            }
            P::BracketMalformed => "a BRACKET is the primary then at most one STOP_LOSS and one TAKE_PROFIT \
                                    ATTACHED_STOP of the other side, reduce-only, no larger than the primary"
                .to_string(),
            P::AccountLiquidating => "the account is being liquidated; retry when it ends".to_string(),
            other => return ExchangeError::from_reason_text(perps_reject_reason(other), other.as_str()),
        };
        ExchangeError::new(perps_reject_reason(r), message)
    }
}

impl ExchangeError {
    fn from_reason_text(reason: Reason, name: &str) -> Self {
        ExchangeError::new(reason, format!("rejected: {name}"))
    }
}

impl From<VerifyError> for ExchangeError {
    fn from(e: VerifyError) -> Self {
        ExchangeError::new(verify_reason(&e), e.to_string())
    }
}

impl From<NonceError> for ExchangeError {
    fn from(e: NonceError) -> Self {
        ExchangeError::new(nonce_reason(&e), e.to_string())
    }
}

impl From<ApiKeyError> for ExchangeError {
    fn from(e: ApiKeyError) -> Self {
        ExchangeError::new(api_key_reason(&e), e.to_string())
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
        ExchangeError::new(reject_reason(r), message)
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    /// Each conversion names the reason the refusing crate names (its `code()` / `as_str()`).
    #[test]
    fn reasons_match_the_names_of_the_refusing_crates() {
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
            assert_eq!(reject_reason(r).as_str(), r.as_str());
        }
        let headers = [
            HeaderError::KeyName,
            HeaderError::MissingNonce,
            HeaderError::MalformedNonce,
            HeaderError::MalformedChain,
            HeaderError::ChainMismatch { got: 1, expected: 2 },
        ];
        for h in headers {
            let e = VerifyError::Header(h);
            assert_eq!(verify_reason(&e).as_str(), e.code());
        }
        let signatures = [
            SignatureError::Missing,
            SignatureError::NotHex,
            SignatureError::Length { len: 1 },
            SignatureError::UnknownType { got: 9 },
            SignatureError::TypeMismatch { got: 2, expected: 1, domain: "spot" },
            SignatureError::RecoveryId { got: 27 },
            SignatureError::Invalid,
            SignatureError::ZeroAddress,
        ];
        for s in signatures {
            let e = VerifyError::Signature(s);
            assert_eq!(verify_reason(&e).as_str(), e.code());
        }
        let s = || "x".to_string();
        let payloads = [
            PayloadError::UnsupportedAction {
                action: sova_auth::exchange::Action::NewOrder,
                domain: sova_auth::exchange::Domain::Spot,
            },
            PayloadError::InvalidJson { message: s() },
            PayloadError::InvalidField { path: s(), message: s() },
            PayloadError::InvalidDecimal { path: s(), message: s() },
            PayloadError::InvalidEnum { path: s(), message: s() },
            PayloadError::InvalidName { path: s(), message: s() },
            PayloadError::NonCanonicalBody { offset: 0, hint: "x", canonical: s() },
        ];
        for p in payloads {
            let e = VerifyError::Payload(p);
            assert_eq!(verify_reason(&e).as_str(), e.code());
        }
        let nonces = [
            NonceError::TooOld { nonce: 1, now: 2 },
            NonceError::TooNew { nonce: 1, now: 2 },
            NonceError::Reused { nonce: 1 },
            NonceError::TooLow { nonce: 1, smallest: 2 },
        ];
        for n in nonces {
            assert_eq!(nonce_reason(&n).as_str(), n.code());
        }
        let name = sova_auth::exchange::KeyName::parse("k").expect("a key name");
        let keys = [
            ApiKeyError::LimitReached,
            ApiKeyError::NameTaken(name.clone()),
            ApiKeyError::AlreadyExpired { expires_at: 1, now: 2 },
            ApiKeyError::ZeroPublicKey,
            ApiKeyError::NotFound(name.clone()),
            ApiKeyError::UnknownKey(name.clone()),
            ApiKeyError::KeyExpired { name, expires_at: 1 },
        ];
        for k in keys {
            assert_eq!(api_key_reason(&k).as_str(), k.code());
        }
    }
}
