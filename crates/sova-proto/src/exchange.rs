//! Exchange API (seed 002, `/api/v1/spot`, `/api/v1/perps`, `/api/v1/user`, `/ws/spot`): the stable reasons of
//! its errors.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// ---------------------------------------------------------------------------------------------------------------
// Reasons

/// Every reason the exchange refuses a request for, with its stable number (the envelope's `code`). Names and
/// numbers never change and numbers are never reused; a new reason gets a new number. The name is the envelope's
/// `reason` (`SCREAMING_SNAKE_CASE`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::Display,
    strum::EnumIter,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
#[repr(u32)]
pub enum Reason {
    // request shape
    /// The request could not be read (body unreadable).
    BadRequest = 10001,
    /// No such route, account or order (or not the caller's).
    NotFound = 10002,
    /// The route exists but not with this method.
    MethodNotAllowed = 10003,
    /// The body is above the server's limit.
    BodyTooLarge = 10004,
    /// Past the per-IP request budget.
    RateLimited = 10005,
    /// A sandbox-only route on a production server.
    SandboxOnly = 10006,
    /// The sequencer stopped or its commit failed; nothing was applied.
    EngineUnavailable = 10007,
    /// Not an EVM address.
    InvalidAddress = 10008,
    /// A market symbol that is not listed.
    UnknownSymbol = 10009,
    /// A coin symbol that is not listed.
    UnknownCoinSymbol = 10010,
    /// A query parameter that is not accepted.
    InvalidParameter = 10011,
    /// A transfer type other than INTERNAL.
    UnsupportedTransfer = 10012,
    /// A perps action (verified, nonce consumed, not executed).
    PerpsNotAvailable = 10013,
    // signature headers and payload (sova_auth::exchange)
    /// No `X-API-Sign`.
    MissingSignature = 20001,
    /// `X-API-Sign` is not `0x` and hex.
    MalformedSignature = 20002,
    /// `X-API-Sign` is not 66 bytes.
    SignatureLength = 20003,
    /// The type byte is neither 0x01 nor 0x02.
    SignatureTypeUnknown = 20004,
    /// The type byte is not the endpoint's domain's.
    SignatureTypeMismatch = 20005,
    /// v is not 0 or 1.
    SignatureRecoveryId = 20006,
    /// r or s out of range, or no key recovers.
    InvalidSignature = 20007,
    /// The signature recovers to the zero address.
    SignatureZeroAddress = 20008,
    /// No `X-API-Nonce`.
    MissingNonce = 20009,
    /// `X-API-Nonce` is not a decimal integer.
    MalformedNonce = 20010,
    /// `X-API-Key` is not a valid key name.
    InvalidApiKeyName = 20011,
    /// `X-API-Chain` names another chain.
    ChainMismatch = 20012,
    /// `X-API-Chain` is not a decimal integer.
    MalformedChain = 20013,
    /// The body is not the canonical JSON of its values.
    NonCanonicalBody = 20014,
    /// The body is not valid JSON of the action's params.
    InvalidJson = 20015,
    /// A decimal field is not a canonical decimal string.
    InvalidDecimal = 20016,
    /// An enum field holds an unknown value.
    InvalidEnum = 20017,
    /// A field is missing, unknown or out of range.
    InvalidField = 20018,
    /// A client order id or key name is not `^[0-9a-zA-Z_-]{1,36}$`.
    InvalidName = 20019,
    /// The route is not a signed action of its domain.
    UnsupportedAction = 20020,
    // nonces
    /// The nonce is outside the window around the server's time.
    NonceOutOfWindow = 21001,
    /// The nonce was used already by this signer in this domain.
    NonceReused = 21002,
    /// The nonce is not above the smallest of the signer's 100 most recent.
    NonceTooLow = 21003,
    // API keys and authorization
    /// The master holds the maximum number of keys.
    ApiKeyLimit = 22001,
    /// A live key has this name.
    ApiKeyNameTaken = 22002,
    /// The key's expiry is in the past.
    ApiKeyExpiryInPast = 22003,
    /// The key's address is the zero address.
    ApiKeyZeroAddress = 22004,
    /// No key of this name to revoke.
    ApiKeyNotFound = 22005,
    /// `X-API-Key` names no key of the account's master.
    UnknownApiKey = 22006,
    /// The named key has expired.
    ApiKeyExpired = 22007,
    /// The action must be signed by the master wallet.
    MasterSignatureRequired = 22008,
    /// The signature recovers to another address than the signer's.
    SignerMismatch = 22009,
    /// No such exchange account.
    UnknownAccount = 22010,
    /// The account belongs to another master wallet.
    MasterMismatch = 22011,
    // engine
    /// No market with this `symbolID`.
    UnknownMarket = 30001,
    /// No coin with this `coinID`.
    UnknownCoin = 30002,
    /// No open order of the account matches.
    UnknownOrder = 30003,
    /// An open order of the account has this `clOrdID`.
    DuplicateClOrdId = 30004,
    /// Not a valid `clOrdID`.
    InvalidClOrdId = 30005,
    /// Not a positive multiple of the tick size.
    InvalidPrice = 30006,
    /// Not a positive multiple of the lot size.
    InvalidQuantity = 30007,
    /// `funds` on anything but a market buy, or not positive.
    InvalidFunds = 30008,
    /// A time in force the order type does not take.
    InvalidTimeInForce = 30009,
    /// The order's value is below the market's minimum notional.
    MinNotional = 30010,
    /// Price x quantity out of range.
    Overflow = 30011,
    /// The available balance does not cover the order.
    InsufficientBalance = 30012,
    /// A post-only order would take liquidity.
    PostOnlyWouldTake = 30013,
    /// The account has the maximum number of open orders.
    TooManyOpenOrders = 30014,
    /// The dead-man switch deadline is not in the future.
    DeadlineNotInFuture = 30015,
    /// An amount that is not positive or has too many decimals.
    InvalidAmount = 30016,
    /// A transfer from an account to itself.
    SameAccount = 30017,
    /// A coin or market with this id exists.
    AlreadyExists = 30018,
    /// A coin or market configuration out of range.
    InvalidConfig = 30019,
    /// A deposit would overflow the coin's supply.
    SupplyOverflow = 30020,
}

impl Reason {
    /// The stable number (the envelope's `code`).
    pub const fn number(self) -> u32 {
        self as u32
    }

    /// The stable name (the envelope's `reason`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl Reason {
    /// Every reason, in number order.
    pub fn all() -> impl Iterator<Item = Reason> {
        <Reason as strum::IntoEnumIterator>::iter()
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    /// The names and numbers clients see; never change one, never reuse a number.
    const PINNED: &[(&str, u32)] = &[
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
        ("NONCE_OUT_OF_WINDOW", 21001),
        ("NONCE_REUSED", 21002),
        ("NONCE_TOO_LOW", 21003),
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

    #[test]
    fn reasons_keep_their_names_and_numbers() {
        let all: Vec<(&str, u32)> = Reason::all().map(|r| (r.as_str(), r.number())).collect();
        assert_eq!(all, PINNED);
        let mut numbers = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        for r in Reason::all() {
            assert!(numbers.insert(r.number()), "{r} reuses {}", r.number());
            assert!(names.insert(r.as_str()), "{r} twice");
            assert_eq!(r.as_str().parse::<Reason>(), Ok(r));
            assert_eq!(r.to_string(), r.as_str());
            let json = serde_json::to_string(&r).expect("serializes");
            assert_eq!(json, format!("\"{}\"", r.as_str()));
            assert_eq!(serde_json::from_str::<Reason>(&json).expect("parses"), r);
        }
    }
}
