//! Actions, their params, and the byte-exact payload hash.
//!
//! `payloadHash = keccak256({"type":"<action>","params":<params>})`, where the SDKs build `<params>` with Go's
//! `json.Marshal` of the action's struct (or its TypeScript / Python equivalent): compact, keys in struct field
//! order, decimals as canonical strings, enums as integers, `omitempty` fields left out. They send exactly those
//! params bytes as the HTTP body. The server hashes the body it received, byte for byte, after checking that the
//! body is that canonical form (it re-encodes the typed params and compares); so a body the SDKs could not have
//! produced is refused with the reason, instead of failing later as an unexplained signature mismatch.

use std::fmt;
use std::marker::PhantomData;

use alloy_primitives::{Address, B256, Keccak256};
use serde::de::{self, DeserializeOwned, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::eip712::Domain;

/// A signed action (the `type` of the payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `newOrder` (spot: one order; perps: `orders[]` of one symbol).
    NewOrder,
    /// `cancelOrder` (spot: one order; perps: `cancels[]`).
    CancelOrder,
    /// `modifyOrder` (perps).
    ModifyOrder,
    /// `updateLeverage` (perps).
    UpdateLeverage,
    /// `updateMargin` (perps).
    UpdateMargin,
    /// `batchNewOrder` (spot).
    BatchNewOrder,
    /// `batchCancelOrder` (spot).
    BatchCancelOrder,
    /// `replaceOrder` (both engines).
    ReplaceOrder,
    /// `scheduleCancel` (both engines): the dead-man switch.
    ScheduleCancel,
    /// `transferAsset` (both engines).
    TransferAsset,
    /// `revokeAPIKey` (universal domain; the older engine-scoped form in spot and futures).
    RevokeApiKey,
    /// `addAPIKey` (universal domain). Signed as `AddAPIKey` typed data, not as an `ExchangeAction`.
    AddApiKey,
    /// `newTwapOrder` (both engines): a TWAP order executed in slices over `minutes`.
    NewTwapOrder,
    /// `cancelTwapOrder` (both engines): stop a TWAP order's further slices.
    CancelTwapOrder,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 14] = [
        Action::NewOrder,
        Action::CancelOrder,
        Action::ModifyOrder,
        Action::UpdateLeverage,
        Action::UpdateMargin,
        Action::BatchNewOrder,
        Action::BatchCancelOrder,
        Action::ReplaceOrder,
        Action::ScheduleCancel,
        Action::TransferAsset,
        Action::RevokeApiKey,
        Action::AddApiKey,
        Action::NewTwapOrder,
        Action::CancelTwapOrder,
    ];

    /// The payload `type` string.
    pub const fn name(self) -> &'static str {
        match self {
            Action::NewOrder => "newOrder",
            Action::CancelOrder => "cancelOrder",
            Action::ModifyOrder => "modifyOrder",
            Action::UpdateLeverage => "updateLeverage",
            Action::UpdateMargin => "updateMargin",
            Action::BatchNewOrder => "batchNewOrder",
            Action::BatchCancelOrder => "batchCancelOrder",
            Action::ReplaceOrder => "replaceOrder",
            Action::ScheduleCancel => "scheduleCancel",
            Action::TransferAsset => "transferAsset",
            Action::RevokeApiKey => "revokeAPIKey",
            Action::AddApiKey => "addAPIKey",
            Action::NewTwapOrder => "newTwapOrder",
            Action::CancelTwapOrder => "cancelTwapOrder",
        }
    }

    /// From the payload `type` string.
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Is the action served in `domain`?
    pub const fn allowed_in(self, domain: Domain) -> bool {
        use Action::*;
        match domain {
            Domain::Spot => matches!(
                self,
                NewOrder
                    | CancelOrder
                    | BatchNewOrder
                    | BatchCancelOrder
                    | ReplaceOrder
                    | ScheduleCancel
                    | TransferAsset
                    | RevokeApiKey
                    | NewTwapOrder
                    | CancelTwapOrder
            ),
            Domain::Futures => matches!(
                self,
                NewOrder
                    | CancelOrder
                    | ModifyOrder
                    | UpdateLeverage
                    | UpdateMargin
                    | ReplaceOrder
                    | ScheduleCancel
                    | TransferAsset
                    | RevokeApiKey
                    | NewTwapOrder
                    | CancelTwapOrder
            ),
            Domain::Universal => matches!(self, RevokeApiKey | AddApiKey),
        }
    }

    /// Only the master wallet may sign it (`addAPIKey`, `revokeAPIKey`).
    pub const fn requires_master(self) -> bool {
        matches!(self, Action::AddApiKey | Action::RevokeApiKey)
    }

    /// The action a signed write route carries. `path` is relative to the domain's base: `/api/v1/spot` or
    /// `/api/v1/perps` for the engines, `/api/v1/user/{masterAddress}` for `universal`; e.g.
    /// `(Spot, "POST", "/trade/orders")` is `newOrder`, `(Universal, "DELETE", "/api-keys")` is `revokeAPIKey`.
    pub fn for_route(domain: Domain, method: &str, path: &str) -> Option<Action> {
        let action = match (method, path) {
            ("POST", "/trade/orders") => Action::NewOrder,
            ("DELETE", "/trade/orders") => Action::CancelOrder,
            ("POST", "/trade/orders/modify") => Action::ModifyOrder,
            ("POST", "/trade/leverage") => Action::UpdateLeverage,
            ("POST", "/trade/margin") => Action::UpdateMargin,
            ("POST", "/trade/orders/batch") => Action::BatchNewOrder,
            ("DELETE", "/trade/orders/batch") => Action::BatchCancelOrder,
            ("POST", "/trade/orders/replace") => Action::ReplaceOrder,
            ("POST", "/trade/orders/schedule-cancel") => Action::ScheduleCancel,
            ("POST", "/accounts/transfers") => Action::TransferAsset,
            ("POST", "/trade/twaps") => Action::NewTwapOrder,
            ("DELETE", "/trade/twaps") => Action::CancelTwapOrder,
            ("DELETE", "/accounts/api-keys") if domain != Domain::Universal => Action::RevokeApiKey,
            ("DELETE", "/api-keys") if domain == Domain::Universal => Action::RevokeApiKey,
            ("POST", "/api-keys") if domain == Domain::Universal => Action::AddApiKey,
            _ => return None,
        };
        action.allowed_in(domain).then_some(action)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `keccak256({"type":"<action>","params":` ‖ `params_json` ‖ `})`, fed piece by piece. `params_json` is the raw
/// HTTP body; no check is made here (see [`parse_params`]).
pub fn payload_hash(action: Action, params_json: &[u8]) -> B256 {
    let mut h = Keccak256::new();
    h.update(b"{\"type\":\"");
    h.update(action.name().as_bytes());
    h.update(b"\",\"params\":");
    h.update(params_json);
    h.update(b"}");
    h.finalize()
}

/// Why a body was refused. Each variant names the field (a path such as `orders[0].price`) and what to send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The action is not served in this domain (e.g. `updateLeverage` on spot).
    #[error("action {action} is not available in the {domain} domain")]
    UnsupportedAction {
        /// The action.
        action: Action,
        /// The domain.
        domain: Domain,
    },
    /// Not JSON at all (syntax error, truncated, trailing characters).
    #[error("the body is not valid JSON: {message}")]
    InvalidJson {
        /// The parser's message, with line and column.
        message: String,
    },
    /// A field is missing, unknown, duplicated, of the wrong JSON type, or out of range.
    #[error("params.{path}: {message}")]
    InvalidField {
        /// Where (`.` for the top-level object).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A decimal field is not a canonical decimal string.
    #[error("params.{path}: {message}")]
    InvalidDecimal {
        /// Where.
        path: String,
        /// What is wrong and the canonical form to send.
        message: String,
    },
    /// An enum field holds 0, an unknown value, or is not a JSON integer.
    #[error("params.{path}: {message}")]
    InvalidEnum {
        /// Where.
        path: String,
        /// The values accepted.
        message: String,
    },
    /// A client order id or key name does not match `^[0-9a-zA-Z_-]{1,36}$` (or is `default`).
    #[error("params.{path}: {message}")]
    InvalidName {
        /// Where.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The values are fine but the bytes are not the canonical JSON the SDKs send (and sign).
    #[error("the body is not canonical JSON at byte {offset}: {hint}; the canonical body is {canonical}")]
    NonCanonicalBody {
        /// First byte that differs from the canonical encoding.
        offset: usize,
        /// The likely cause.
        hint: &'static str,
        /// The canonical encoding of the values received (truncated past 512 bytes).
        canonical: String,
    },
}

impl PayloadError {
    /// A stable identifier for the envelope's error code.
    pub const fn code(&self) -> &'static str {
        match self {
            PayloadError::UnsupportedAction { .. } => "UNSUPPORTED_ACTION",
            PayloadError::InvalidJson { .. } => "INVALID_JSON",
            PayloadError::InvalidField { .. } => "INVALID_FIELD",
            PayloadError::InvalidDecimal { .. } => "INVALID_DECIMAL",
            PayloadError::InvalidEnum { .. } => "INVALID_ENUM",
            PayloadError::InvalidName { .. } => "INVALID_NAME",
            PayloadError::NonCanonicalBody { .. } => "NON_CANONICAL_BODY",
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Decimals

/// Why a decimal string is not canonical; the message says what to send instead.
fn decimal_problem(s: &str, signed: bool) -> Option<String> {
    if s.is_empty() {
        return Some("the decimal is empty; send e.g. \"0.1\"".into());
    }
    if s.contains(['e', 'E']) {
        return Some(format!("\"{s}\" uses exponent notation; write the number out in full (e.g. \"0.0001\")"));
    }
    let (sign, body) = match s.as_bytes()[0] {
        b'-' => ("-", &s[1..]),
        b'+' => ("+", &s[1..]),
        _ => ("", s),
    };
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !frac.is_none_or(digits) || (int.is_empty() && frac.is_none_or(str::is_empty)) {
        let what =
            if signed { "digits, one optional '.' and an optional leading '-'" } else { "digits and one optional '.'" };
        return Some(format!("\"{s}\" is not a decimal number: use {what}"));
    }
    if sign == "-" && !signed {
        return Some(format!("\"{s}\" is negative; this field takes a non-negative decimal"));
    }
    // The canonical form of the same value.
    let int_c = int.trim_start_matches('0');
    let int_c = if int_c.is_empty() { "0" } else { int_c };
    let frac_c = frac.unwrap_or("").trim_end_matches('0');
    let mut canon = String::with_capacity(s.len());
    let is_zero = int_c == "0" && frac_c.is_empty();
    if sign == "-" && !is_zero {
        canon.push('-');
    }
    canon.push_str(int_c);
    if !frac_c.is_empty() {
        canon.push('.');
        canon.push_str(frac_c);
    }
    if canon == s {
        return None;
    }
    let why = if sign == "+" {
        "remove the '+' sign"
    } else if int.is_empty() {
        "add the leading zero"
    } else if int.len() > 1 && int.starts_with('0') {
        "remove the leading zeros"
    } else if frac == Some("") {
        "remove the trailing '.'"
    } else if frac.is_some_and(|f| f.ends_with('0')) {
        "remove the trailing fractional zeros"
    } else {
        "zero has no sign"
    };
    Some(format!("\"{s}\" is not a canonical decimal: {why} (send \"{canon}\")"))
}

struct DecimalVisitor {
    signed: bool,
}

impl Visitor<'_> for DecimalVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal as a JSON string, e.g. \"0.001\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        match decimal_problem(v, self.signed) {
            None => Ok(v.to_owned()),
            Some(msg) => Err(E::custom(msg)),
        }
    }
}

/// A non-negative decimal in canonical form: a JSON string matching `(0|[1-9][0-9]*)(\.[0-9]*[1-9])?`
/// (no trailing fractional zeros, no trailing `.`, no exponent, no `+`, no leading zeros).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Decimal(String);

impl Decimal {
    /// Check a string; the error says what to send instead.
    pub fn parse(s: &str) -> Result<Decimal, String> {
        decimal_problem(s, false).map_or_else(|| Ok(Decimal(s.to_owned())), Err)
    }

    /// The canonical text (parse it with `rust_decimal` or similar).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Is it `"0"`?
    pub fn is_zero(&self) -> bool {
        self.0 == "0"
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(DecimalVisitor { signed: false }).map(Decimal)
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A decimal that may be negative (`updateMargin.amount`), canonical as [`Decimal`] plus an optional `-`
/// (never `-0`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct SignedDecimal(String);

impl SignedDecimal {
    /// Check a string; the error says what to send instead.
    pub fn parse(s: &str) -> Result<SignedDecimal, String> {
        decimal_problem(s, true).map_or_else(|| Ok(SignedDecimal(s.to_owned())), Err)
    }

    /// The canonical text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Is it below zero?
    pub fn is_negative(&self) -> bool {
        self.0.starts_with('-')
    }
}

impl<'de> Deserialize<'de> for SignedDecimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(DecimalVisitor { signed: true }).map(SignedDecimal)
    }
}

impl fmt::Display for SignedDecimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Names

/// `^[0-9a-zA-Z_-]{1,36}$`: client order ids and API-key names.
pub fn is_valid_name(s: &str) -> bool {
    (1..=36).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

struct NameVisitor {
    key_name: bool,
}

impl Visitor<'_> for NameVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON string matching ^[0-9a-zA-Z_-]{1,36}$")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        if !is_valid_name(v) {
            return Err(E::custom(format_args!("{v:?} must be 1 to 36 characters from 0-9, a-z, A-Z, '_' and '-'")));
        }
        if self.key_name && v == "default" {
            return Err(E::custom("\"default\" names the master wallet, not an API key; choose another name"));
        }
        Ok(v.to_owned())
    }
}

/// A client order id (`clOrdID`, `origClOrdID`): `^[0-9a-zA-Z_-]{1,36}$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ClOrdId(String);

impl ClOrdId {
    /// Check a string.
    pub fn parse(s: &str) -> Option<ClOrdId> {
        is_valid_name(s).then(|| ClOrdId(s.to_owned()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for ClOrdId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(NameVisitor { key_name: false }).map(ClOrdId)
    }
}

/// An API-key name: `^[0-9a-zA-Z_-]{1,36}$` and not `default` (which names the master wallet).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct KeyName(String);

impl KeyName {
    /// Check a string.
    pub fn parse(s: &str) -> Option<KeyName> {
        (is_valid_name(s) && s != "default").then(|| KeyName(s.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for KeyName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(NameVisitor { key_name: true }).map(KeyName)
    }
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Enums (JSON integers; 0 = unknown is always refused, except transfer type 0 = EVM_DEPOSIT)

trait WireEnum: Sized {
    const WHAT: &'static str;
    const ALLOWED: &'static str;
    fn from_wire(v: u64) -> Option<Self>;
}

struct EnumVisitor<T>(PhantomData<T>);

impl<T: WireEnum> Visitor<'_> for EnumVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} as a JSON integer: {}", T::WHAT, T::ALLOWED)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        T::from_wire(v).ok_or_else(|| E::custom(format_args!("{v} is not a valid {}: send {}", T::WHAT, T::ALLOWED)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        match u64::try_from(v) {
            Ok(u) => self.visit_u64(u),
            Err(_) => Err(E::custom(format_args!("{v} is not a valid {}: send {}", T::WHAT, T::ALLOWED))),
        }
    }
}

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident, $what:literal, $allowed:literal {
        $($(#[$vm:meta])* $variant:ident = $val:literal => $label:literal),+ $(,)?
    }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum $name {
            $($(#[$vm])* $variant = $val),+
        }

        impl $name {
            /// The integer sent on the wire.
            pub const fn wire(self) -> u8 {
                self as u8
            }

            /// The vendor's name for the value.
            pub const fn label(self) -> &'static str {
                match self {
                    $(Self::$variant => $label),+
                }
            }
        }

        impl WireEnum for $name {
            const WHAT: &'static str = $what;
            const ALLOWED: &'static str = $allowed;
            fn from_wire(v: u64) -> Option<Self> {
                match v {
                    $($val => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_u8(self.wire())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_u64(EnumVisitor(PhantomData))
            }
        }
    };
}

wire_enum! {
    /// `side`.
    Side, "side", "1 (BUY) or 2 (SELL)" {
        /// 1
        Buy = 1 => "BUY",
        /// 2
        Sell = 2 => "SELL",
    }
}

wire_enum! {
    /// `type` of an order.
    OrderType, "order type", "1 (LIMIT) or 2 (MARKET)" {
        /// 1
        Limit = 1 => "LIMIT",
        /// 2
        Market = 2 => "MARKET",
    }
}

wire_enum! {
    /// `timeInForce`.
    TimeInForce, "timeInForce", "1 (GTC), 2 (FOK), 3 (IOC) or 4 (GTX, post-only)" {
        /// 1: good till cancel.
        Gtc = 1 => "GTC",
        /// 2: fill or kill.
        Fok = 2 => "FOK",
        /// 3: immediate or cancel.
        Ioc = 3 => "IOC",
        /// 4: post-only.
        Gtx = 4 => "GTX",
    }
}

wire_enum! {
    /// `modifier` of a perps order.
    OrderModifier, "modifier", "1 (NORMAL), 2 (STOP), 3 (BRACKET) or 4 (ATTACHED_STOP)" {
        /// 1
        Normal = 1 => "NORMAL",
        /// 2
        Stop = 2 => "STOP",
        /// 3
        Bracket = 3 => "BRACKET",
        /// 4
        AttachedStop = 4 => "ATTACHED_STOP",
    }
}

wire_enum! {
    /// `positionSide` of a perps order. LONG and SHORT parse (they are signed like any other value) and the
    /// exchange refuses them with `POSITION_SIDE_UNSUPPORTED`: one-way position mode only.
    PositionSide, "positionSide", "1 (BOTH), 2 (LONG) or 3 (SHORT); only BOTH is accepted (one-way position mode)" {
        /// 1
        Both = 1 => "BOTH",
        /// 2 (refused by the exchange)
        Long = 2 => "LONG",
        /// 3 (refused by the exchange)
        Short = 3 => "SHORT",
    }
}

wire_enum! {
    /// `stopType`.
    StopType, "stopType", "1 (STOP_LOSS) or 2 (TAKE_PROFIT)" {
        /// 1
        StopLoss = 1 => "STOP_LOSS",
        /// 2
        TakeProfit = 2 => "TAKE_PROFIT",
    }
}

wire_enum! {
    /// `triggerType`.
    TriggerType, "triggerType", "1 (LAST), 2 (MARK) or 3 (INDEX)" {
        /// 1: last trade price.
        Last = 1 => "LAST",
        /// 2: mark price.
        Mark = 2 => "MARK",
        /// 3: index price.
        Index = 3 => "INDEX",
    }
}

wire_enum! {
    /// `marginMode`.
    MarginMode, "marginMode", "1 (ISOLATED) or 2 (CROSS)" {
        /// 1
        Isolated = 1 => "ISOLATED",
        /// 2
        Cross = 2 => "CROSS",
    }
}

wire_enum! {
    /// `type` of `transferAsset` (0 is a real value here). Spot <-> perps transfers use the treasury account 999.
    TransferType, "transfer type",
    "0 (EVM_DEPOSIT), 1 (PERPS_DEPOSIT), 2 (EVM_WITHDRAW), 3 (PERPS_WITHDRAW), 4 (INTERNAL), 5 (SPOT_WITHDRAW) or 6 (SPOT_DEPOSIT)" {
        /// 0
        EvmDeposit = 0 => "EVM_DEPOSIT",
        /// 1
        PerpsDeposit = 1 => "PERPS_DEPOSIT",
        /// 2
        EvmWithdraw = 2 => "EVM_WITHDRAW",
        /// 3
        PerpsWithdraw = 3 => "PERPS_WITHDRAW",
        /// 4
        Internal = 4 => "INTERNAL",
        /// 5
        SpotWithdraw = 5 => "SPOT_WITHDRAW",
        /// 6
        SpotDeposit = 6 => "SPOT_DEPOSIT",
    }
}

wire_enum! {
    /// `type` of an API key (the typed data's `keyType`).
    KeyType, "key type", "1 (EVM)" {
        /// 1: the public key is a 20-byte EVM address.
        Evm = 1 => "EVM",
    }
}

/// The treasury account id used as the counterparty of spot <-> perps transfers.
pub const TREASURY_ACCOUNT_ID: u64 = 999;

// ---------------------------------------------------------------------------------------------------------------
// Params, in the vendor's field order (which is the canonical key order)

/// Spot `newOrder`: `accountID, symbolID, clOrdID, side, type, timeInForce, price?, quantity?, funds?`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpotNewOrder {
    /// `accountID`
    #[serde(rename = "accountID")]
    pub account_id: u64,
    /// `symbolID`
    #[serde(rename = "symbolID")]
    pub symbol_id: u64,
    /// `clOrdID`
    #[serde(rename = "clOrdID")]
    pub cl_ord_id: ClOrdId,
    /// `side`
    pub side: Side,
    /// `type`
    #[serde(rename = "type")]
    pub order_type: OrderType,
    /// `timeInForce`
    #[serde(rename = "timeInForce")]
    pub time_in_force: TimeInForce,
    /// `price?`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Decimal>,
    /// `quantity?`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Decimal>,
    /// `funds?` (market buys by quote amount)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funds: Option<Decimal>,
}

/// Spot `cancelOrder`: `accountID, symbolID, clOrdID, orderID?, origClOrdID?`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpotCancelOrder {
    /// `accountID`
    #[serde(rename = "accountID")]
    pub account_id: u64,
    /// `symbolID`
    #[serde(rename = "symbolID")]
    pub symbol_id: u64,
    /// `clOrdID` (of the cancel request)
    #[serde(rename = "clOrdID")]
    pub cl_ord_id: ClOrdId,
    /// `orderID?`
    #[serde(rename = "orderID", default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<u64>,
    /// `origClOrdID?`
    #[serde(rename = "origClOrdID", default, skip_serializing_if = "Option::is_none")]
    pub orig_cl_ord_id: Option<ClOrdId>,
}

/// Spot `batchNewOrder`: `accountID, orders[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpotBatchNewOrder {
    /// `accountID`
    #[serde(rename = "accountID")]
    pub account_id: u64,
    /// `orders`
    pub orders: Vec<SpotOrderItem>,
}

/// An item of spot `batchNewOrder`: `symbolID, clOrdID, side, type, timeInForce, price?, quantity?, funds?`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpotOrderItem {
    /// `symbolID`
    #[serde(rename = "symbolID")]
    pub symbol_id: u64,
    /// `clOrdID`
    #[serde(rename = "clOrdID")]
    pub cl_ord_id: ClOrdId,
    /// `side`
    pub side: Side,
    /// `type`
    #[serde(rename = "type")]
    pub order_type: OrderType,
    /// `timeInForce`
    #[serde(rename = "timeInForce")]
    pub time_in_force: TimeInForce,
    /// `price?`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Decimal>,
    /// `quantity?`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Decimal>,
    /// `funds?`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funds: Option<Decimal>,
}

/// Spot `batchCancelOrder`: `accountID, cancels[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpotBatchCancelOrder {
    /// `accountID`
    #[serde(rename = "accountID")]
    pub account_id: u64,
    /// `cancels`
    pub cancels: Vec<SpotCancelItem>,
}

/// An item of spot `batchCancelOrder`: `symbolID, clOrdID, orderID?, origClOrdID?`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpotCancelItem {
    /// `symbolID`
    #[serde(rename = "symbolID")]
    pub symbol_id: u64,
    /// `clOrdID`
    #[serde(rename = "clOrdID")]
    pub cl_ord_id: ClOrdId,
    /// `orderID?`
    #[serde(rename = "orderID", default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<u64>,
    /// `origClOrdID?`
    #[serde(rename = "origClOrdID", default, skip_serializing_if = "Option::is_none")]
    pub orig_cl_ord_id: Option<ClOrdId>,
}

/// Perps `newOrder`: `accountID, symbolID, orders[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerpsNewOrder {
    /// `accountID`
    #[serde(rename = "accountID")]
    pub account_id: u64,
    /// `symbolID`
    #[serde(rename = "symbolID")]
    pub symbol_id: u64,
    /// `orders`
    pub orders: Vec<PerpsOrderItem>,
}

/// An order of perps `newOrder`: `clOrdID, modifier, side, type, timeInForce, price?, quantity?, funds?,
/// stopPrice?, stopType?, triggerType?, reduceOnly, positionSide`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerpsOrderItem {
    /// `clOrdID`
    #[serde(rename = "clOrdID")]
    pub cl_ord_id: ClOrdId,
    /// `modifier`
    pub modifier: OrderModifier,
    /// `side`
    pub side: Side,
    /// `type`
    #[serde(rename = "type")]
    pub order_type: OrderType,
    /// `timeInForce`
    #[serde(rename = "timeInForce")]
    pub time_in_force: TimeInForce,
    /// `price?`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Decimal>,
    /// `quantity?`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Decimal>,
    /// `funds?`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funds: Option<Decimal>,
    /// `stopPrice?`
    #[serde(rename = "stopPrice", default, skip_serializing_if = "Option::is_none")]
    pub stop_price: Option<Decimal>,
    /// `stopType?`
    #[serde(rename = "stopType", default, skip_serializing_if = "Option::is_none")]
    pub stop_type: Option<StopType>,
    /// `triggerType?`
    #[serde(rename = "triggerType", default, skip_serializing_if = "Option::is_none")]
    pub trigger_type: Option<TriggerType>,
    /// `reduceOnly` (always present)
    #[serde(rename = "reduceOnly")]
    pub reduce_only: bool,
    /// `positionSide` (always present; BOTH only)
    #[serde(rename = "positionSide")]
    pub position_side: PositionSide,
}

/// Perps `cancelOrder`: `accountID, cancels[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerpsCancelOrder {
    /// `accountID`
    #[serde(rename = "accountID")]
    pub account_id: u64,
    /// `cancels`
    pub cancels: Vec<PerpsCancelItem>,
}

/// An item of perps `cancelOrder`: `symbolID, orderID?, clOrdID?`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerpsCancelItem {
    /// `symbolID`
    #[serde(rename = "symbolID")]
    pub symbol_id: u64,
    /// `orderID?`
    #[serde(rename = "orderID", default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<u64>,
    /// `clOrdID?`
    #[serde(rename = "clOrdID", default, skip_serializing_if = "Option::is_none")]
    pub cl_ord_id: Option<ClOrdId>,
}

/// Perps `modifyOrder`: `accountID, symbolID, orderID?, clOrdID?, price?, quantity?, stopPrice?`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerpsModifyOrder {
    /// `accountID`
    #[serde(rename = "accountID")]
    pub account_id: u64,
    /// `symbolID`
    #[serde(rename = "symbolID")]
    pub symbol_id: u64,
    /// `orderID?`
    #[serde(rename = "orderID", default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<u64>,
    /// `clOrdID?`
    #[serde(rename = "clOrdID", default, skip_serializing_if = "Option::is_none")]
    pub cl_ord_id: Option<ClOrdId>,
    /// `price?`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Decimal>,
    /// `quantity?`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Decimal>,
    /// `stopPrice?`
    #[serde(rename = "stopPrice", default, skip_serializing_if = "Option::is_none")]
    pub stop_price: Option<Decimal>,
}

/// Perps `updateLeverage`: `accountID, symbolID, leverage, marginMode`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateLeverage {
    /// `accountID`
    #[serde(rename = "accountID")]
    pub account_id: u64,
    /// `symbolID`
    #[serde(rename = "symbolID")]
    pub symbol_id: u64,
    /// `leverage` (uint32 in the vendor's SDK)
    pub leverage: u32,
    /// `marginMode`
    #[serde(rename = "marginMode")]
    pub margin_mode: MarginMode,
}

/// Perps `updateMargin`: `accountID, symbolID, amount` (negative removes margin).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateMargin {
    /// `accountID`
    #[serde(rename = "accountID")]
    pub account_id: u64,
    /// `symbolID`
    #[serde(rename = "symbolID")]
    pub symbol_id: u64,
    /// `amount`
    pub amount: SignedDecimal,
}

/// `replaceOrder` (both engines): `accountID, orders[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplaceOrder {
    /// `accountID`
    #[serde(rename = "accountID")]
    pub account_id: u64,
    /// `orders`
    pub orders: Vec<ReplaceItem>,
}

/// An item of `replaceOrder`: `symbolID, clOrdID, origOrderID?, origClOrdID?, price?, quantity?`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplaceItem {
    /// `symbolID`
    #[serde(rename = "symbolID")]
    pub symbol_id: u64,
    /// `clOrdID`
    #[serde(rename = "clOrdID")]
    pub cl_ord_id: ClOrdId,
    /// `origOrderID?`
    #[serde(rename = "origOrderID", default, skip_serializing_if = "Option::is_none")]
    pub orig_order_id: Option<u64>,
    /// `origClOrdID?`
    #[serde(rename = "origClOrdID", default, skip_serializing_if = "Option::is_none")]
    pub orig_cl_ord_id: Option<ClOrdId>,
    /// `price?`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Decimal>,
    /// `quantity?`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Decimal>,
}

/// `scheduleCancel` (both engines): `accountID, scheduledTimestamp?` (omitted = clear the dead-man switch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleCancel {
    /// `accountID`
    #[serde(rename = "accountID")]
    pub account_id: u64,
    /// `scheduledTimestamp?` (Unix ms)
    #[serde(rename = "scheduledTimestamp", default, skip_serializing_if = "Option::is_none")]
    pub scheduled_timestamp: Option<u64>,
}

/// `transferAsset` (both engines): `id, fromAccountID, toAccountID, coinID, amount, type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferAsset {
    /// `id` (client-chosen transfer id)
    pub id: u64,
    /// `fromAccountID`
    #[serde(rename = "fromAccountID")]
    pub from_account_id: u64,
    /// `toAccountID`
    #[serde(rename = "toAccountID")]
    pub to_account_id: u64,
    /// `coinID`
    #[serde(rename = "coinID")]
    pub coin_id: u64,
    /// `amount`
    pub amount: Decimal,
    /// `type`
    #[serde(rename = "type")]
    pub transfer_type: TransferType,
}

/// `revokeAPIKey`: `accountID, name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeApiKey {
    /// `accountID`
    #[serde(rename = "accountID")]
    pub account_id: u64,
    /// `name`
    pub name: KeyName,
}

/// Spot `newTwapOrder`: `accountID, symbolID, side, quantity, minutes, randomize, reduceOnly?` (the vendor's
/// TypeScript SDK sends no `reduceOnly` on spot; it is accepted when present, and `true` is refused by the
/// exchange: a spot account has no position to reduce).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpotNewTwapOrder {
    /// `accountID`
    #[serde(rename = "accountID")]
    pub account_id: u64,
    /// `symbolID`
    #[serde(rename = "symbolID")]
    pub symbol_id: u64,
    /// `side`
    pub side: Side,
    /// `quantity` (the whole size, in base)
    pub quantity: Decimal,
    /// `minutes` (the duration)
    pub minutes: u64,
    /// `randomize` (vary the slices' sizes)
    pub randomize: bool,
    /// `reduceOnly?`
    #[serde(rename = "reduceOnly", default, skip_serializing_if = "Option::is_none")]
    pub reduce_only: Option<bool>,
}

/// Perps `newTwapOrder`: `accountID, symbolID, side, quantity, minutes, randomize, reduceOnly` (always present).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerpsNewTwapOrder {
    /// `accountID`
    #[serde(rename = "accountID")]
    pub account_id: u64,
    /// `symbolID`
    #[serde(rename = "symbolID")]
    pub symbol_id: u64,
    /// `side`
    pub side: Side,
    /// `quantity`
    pub quantity: Decimal,
    /// `minutes`
    pub minutes: u64,
    /// `randomize`
    pub randomize: bool,
    /// `reduceOnly`
    #[serde(rename = "reduceOnly")]
    pub reduce_only: bool,
}

/// `cancelTwapOrder` (both engines): `accountID, symbolID, orderID` (the TWAP's id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelTwapOrder {
    /// `accountID`
    #[serde(rename = "accountID")]
    pub account_id: u64,
    /// `symbolID`
    #[serde(rename = "symbolID")]
    pub symbol_id: u64,
    /// `orderID` (the id `newTwapOrder` answered)
    #[serde(rename = "orderID")]
    pub order_id: u64,
}

/// The body of `addAPIKey`: `accountID, name, type, publicKey, expiresAt`. It is not hashed as JSON: its values go
/// into the `AddAPIKey` typed data, so its formatting does not matter (its values are still checked strictly).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddApiKey {
    /// `accountID`
    #[serde(rename = "accountID")]
    pub account_id: u64,
    /// `name`
    pub name: KeyName,
    /// `type` (the typed data's `keyType`)
    #[serde(rename = "type")]
    pub key_type: KeyType,
    /// `publicKey`: `0x` + 40 hex digits (any case; the typed data hashes the 20 raw bytes)
    #[serde(rename = "publicKey", with = "hex_address")]
    pub public_key: Address,
    /// `expiresAt` (Unix ms, 0 = never)
    #[serde(rename = "expiresAt")]
    pub expires_at: u64,
}

mod hex_address {
    use std::fmt;

    use alloy_primitives::Address;
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(a: &Address, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{a:#x}"))
    }

    struct V;

    impl Visitor<'_> for V {
        type Value = Address;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an EVM address as a JSON string: 0x followed by 40 hex digits")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Address, E> {
            let hex = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X"));
            let parsed = hex.filter(|h| h.len() == 40).and_then(|h| {
                let mut out = [0u8; 20];
                hex::decode_to_slice(h, &mut out).ok().map(|()| Address::from(out))
            });
            parsed.ok_or_else(|| {
                E::custom(format_args!("{v:?} is not an EVM address: send 0x followed by 40 hex digits"))
            })
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Address, D::Error> {
        d.deserialize_str(V)
    }
}

/// The typed params of a verified `ExchangeAction`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Params {
    /// Spot `newOrder`.
    SpotNewOrder(SpotNewOrder),
    /// Spot `cancelOrder`.
    SpotCancelOrder(SpotCancelOrder),
    /// Spot `batchNewOrder`.
    SpotBatchNewOrder(SpotBatchNewOrder),
    /// Spot `batchCancelOrder`.
    SpotBatchCancelOrder(SpotBatchCancelOrder),
    /// Perps `newOrder`.
    PerpsNewOrder(PerpsNewOrder),
    /// Perps `cancelOrder`.
    PerpsCancelOrder(PerpsCancelOrder),
    /// Perps `modifyOrder`.
    PerpsModifyOrder(PerpsModifyOrder),
    /// Perps `updateLeverage`.
    UpdateLeverage(UpdateLeverage),
    /// Perps `updateMargin`.
    UpdateMargin(UpdateMargin),
    /// `replaceOrder`.
    ReplaceOrder(ReplaceOrder),
    /// `scheduleCancel`.
    ScheduleCancel(ScheduleCancel),
    /// `transferAsset`.
    TransferAsset(TransferAsset),
    /// `revokeAPIKey`.
    RevokeApiKey(RevokeApiKey),
    /// Spot `newTwapOrder`.
    SpotNewTwapOrder(SpotNewTwapOrder),
    /// Perps `newTwapOrder`.
    PerpsNewTwapOrder(PerpsNewTwapOrder),
    /// `cancelTwapOrder`.
    CancelTwapOrder(CancelTwapOrder),
}

impl Params {
    /// The action these params belong to.
    pub const fn action(&self) -> Action {
        match self {
            Params::SpotNewOrder(_) | Params::PerpsNewOrder(_) => Action::NewOrder,
            Params::SpotCancelOrder(_) | Params::PerpsCancelOrder(_) => Action::CancelOrder,
            Params::SpotBatchNewOrder(_) => Action::BatchNewOrder,
            Params::SpotBatchCancelOrder(_) => Action::BatchCancelOrder,
            Params::PerpsModifyOrder(_) => Action::ModifyOrder,
            Params::UpdateLeverage(_) => Action::UpdateLeverage,
            Params::UpdateMargin(_) => Action::UpdateMargin,
            Params::ReplaceOrder(_) => Action::ReplaceOrder,
            Params::ScheduleCancel(_) => Action::ScheduleCancel,
            Params::TransferAsset(_) => Action::TransferAsset,
            Params::RevokeApiKey(_) => Action::RevokeApiKey,
            Params::SpotNewTwapOrder(_) | Params::PerpsNewTwapOrder(_) => Action::NewTwapOrder,
            Params::CancelTwapOrder(_) => Action::CancelTwapOrder,
        }
    }

    /// The account the action acts on (for `transferAsset`, the account debited: `fromAccountID`). The server
    /// checks that it belongs to the signer's master.
    pub const fn account_id(&self) -> u64 {
        match self {
            Params::SpotNewOrder(p) => p.account_id,
            Params::SpotCancelOrder(p) => p.account_id,
            Params::SpotBatchNewOrder(p) => p.account_id,
            Params::SpotBatchCancelOrder(p) => p.account_id,
            Params::PerpsNewOrder(p) => p.account_id,
            Params::PerpsCancelOrder(p) => p.account_id,
            Params::PerpsModifyOrder(p) => p.account_id,
            Params::UpdateLeverage(p) => p.account_id,
            Params::UpdateMargin(p) => p.account_id,
            Params::ReplaceOrder(p) => p.account_id,
            Params::ScheduleCancel(p) => p.account_id,
            Params::TransferAsset(p) => p.from_account_id,
            Params::RevokeApiKey(p) => p.account_id,
            Params::SpotNewTwapOrder(p) => p.account_id,
            Params::PerpsNewTwapOrder(p) => p.account_id,
            Params::CancelTwapOrder(p) => p.account_id,
        }
    }

    /// The canonical JSON body (what an SDK sends and hashes as `params`).
    pub fn canonical_body(&self) -> Vec<u8> {
        let r = match self {
            Params::SpotNewOrder(p) => serde_json::to_vec(p),
            Params::SpotCancelOrder(p) => serde_json::to_vec(p),
            Params::SpotBatchNewOrder(p) => serde_json::to_vec(p),
            Params::SpotBatchCancelOrder(p) => serde_json::to_vec(p),
            Params::PerpsNewOrder(p) => serde_json::to_vec(p),
            Params::PerpsCancelOrder(p) => serde_json::to_vec(p),
            Params::PerpsModifyOrder(p) => serde_json::to_vec(p),
            Params::UpdateLeverage(p) => serde_json::to_vec(p),
            Params::UpdateMargin(p) => serde_json::to_vec(p),
            Params::ReplaceOrder(p) => serde_json::to_vec(p),
            Params::ScheduleCancel(p) => serde_json::to_vec(p),
            Params::TransferAsset(p) => serde_json::to_vec(p),
            Params::RevokeApiKey(p) => serde_json::to_vec(p),
            Params::SpotNewTwapOrder(p) => serde_json::to_vec(p),
            Params::PerpsNewTwapOrder(p) => serde_json::to_vec(p),
            Params::CancelTwapOrder(p) => serde_json::to_vec(p),
        };
        // These types serialize infallibly (no maps with non-string keys, no custom failing impls).
        r.unwrap_or_default()
    }

    /// The arrays that must not be empty, with their paths.
    fn lists(&self) -> Option<(&'static str, usize)> {
        match self {
            Params::SpotBatchNewOrder(p) => Some(("orders", p.orders.len())),
            Params::SpotBatchCancelOrder(p) => Some(("cancels", p.cancels.len())),
            Params::PerpsNewOrder(p) => Some(("orders", p.orders.len())),
            Params::PerpsCancelOrder(p) => Some(("cancels", p.cancels.len())),
            Params::ReplaceOrder(p) => Some(("orders", p.orders.len())),
            _ => None,
        }
    }
}

const DECIMAL_FIELDS: &[&str] = &["price", "quantity", "funds", "stopPrice", "amount"];
const ENUM_FIELDS: &[&str] =
    &["side", "type", "timeInForce", "modifier", "positionSide", "stopType", "triggerType", "marginMode"];
const NAME_FIELDS: &[&str] = &["clOrdID", "origClOrdID", "name"];

/// Deserialize strictly, naming the field of the first problem.
fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, PayloadError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner();
        if !inner.is_data() {
            return PayloadError::InvalidJson { message: inner.to_string() };
        }
        let path = e.path().to_string();
        let message = inner.to_string();
        let leaf = path.rsplit('.').next().unwrap_or("");
        let structural = ["missing field", "unknown field", "duplicate field"].iter().any(|p| message.starts_with(p));
        if structural {
            PayloadError::InvalidField { path, message }
        } else if DECIMAL_FIELDS.contains(&leaf) {
            PayloadError::InvalidDecimal { path, message }
        } else if ENUM_FIELDS.contains(&leaf) {
            PayloadError::InvalidEnum { path, message }
        } else if NAME_FIELDS.contains(&leaf) {
            PayloadError::InvalidName { path, message }
        } else {
            PayloadError::InvalidField { path, message }
        }
    })?;
    de.end().map_err(|e| PayloadError::InvalidJson { message: e.to_string() })?;
    Ok(value)
}

/// Is there a byte matching `pred` outside JSON strings?
fn outside_strings(raw: &[u8], mut pred: impl FnMut(&[u8], usize) -> bool) -> bool {
    let (mut in_str, mut esc) = (false, false);
    for (i, &b) in raw.iter().enumerate() {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
        } else if b == b'"' {
            in_str = true;
        } else if pred(raw, i) {
            return true;
        }
    }
    false
}

fn non_canonical(raw: &[u8], canonical: &[u8]) -> PayloadError {
    let offset = raw.iter().zip(canonical).position(|(a, b)| a != b).unwrap_or(raw.len().min(canonical.len()));
    // Does the first difference fall inside an object key (the last quote up to it opens a key)?
    let at_key = |s: &[u8]| {
        let upto = &s[..(offset + 1).min(s.len())];
        upto.iter().rposition(|&b| b == b'"').is_some_and(|q| q > 0 && matches!(s[q - 1], b'{' | b','))
    };
    let hint = if outside_strings(raw, |r, i| r[i].is_ascii_whitespace()) {
        "remove all whitespace and newlines: send compact JSON (JSON.stringify, Go json.Marshal, Python \
         json.dumps(..., separators=(',', ':')))"
    } else if outside_strings(raw, |r, i| r[i..].starts_with(b"null")) {
        "omit optional fields that are unset instead of sending null"
    } else if raw.contains(&b'\\') {
        "send strings without escape sequences"
    } else if at_key(raw) || at_key(canonical) {
        "keys must appear in the vendor's field order, and optional fields must be omitted when unset"
    } else {
        "the body must be a JSON object with exactly the canonical keys and values"
    };
    let mut shown = String::from_utf8_lossy(&canonical[..canonical.len().min(512)]).into_owned();
    if canonical.len() > 512 {
        shown.push('…');
    }
    PayloadError::NonCanonicalBody { offset, hint, canonical: shown }
}

fn parse_canonical<T: DeserializeOwned + Serialize>(body: &[u8]) -> Result<T, PayloadError> {
    let value: T = parse_json(body)?;
    let canonical = serde_json::to_vec(&value).unwrap_or_default();
    if canonical != body {
        return Err(non_canonical(body, &canonical));
    }
    Ok(value)
}

/// Parse and check the raw body of an `ExchangeAction` request: the values (decimals, enums, names, types) and the
/// bytes (exactly the canonical encoding, so [`payload_hash`] over these bytes is what the SDKs signed).
pub fn parse_params(domain: Domain, action: Action, body: &[u8]) -> Result<Params, PayloadError> {
    let unsupported = PayloadError::UnsupportedAction { action, domain };
    if !action.allowed_in(domain) {
        return Err(unsupported);
    }
    let params = match (domain, action) {
        (Domain::Spot, Action::NewOrder) => Params::SpotNewOrder(parse_canonical(body)?),
        (Domain::Spot, Action::CancelOrder) => Params::SpotCancelOrder(parse_canonical(body)?),
        (_, Action::BatchNewOrder) => Params::SpotBatchNewOrder(parse_canonical(body)?),
        (_, Action::BatchCancelOrder) => Params::SpotBatchCancelOrder(parse_canonical(body)?),
        (_, Action::NewOrder) => Params::PerpsNewOrder(parse_canonical(body)?),
        (_, Action::CancelOrder) => Params::PerpsCancelOrder(parse_canonical(body)?),
        (_, Action::ModifyOrder) => Params::PerpsModifyOrder(parse_canonical(body)?),
        (_, Action::UpdateLeverage) => Params::UpdateLeverage(parse_canonical(body)?),
        (_, Action::UpdateMargin) => Params::UpdateMargin(parse_canonical(body)?),
        (_, Action::ReplaceOrder) => Params::ReplaceOrder(parse_canonical(body)?),
        (_, Action::ScheduleCancel) => Params::ScheduleCancel(parse_canonical(body)?),
        (_, Action::TransferAsset) => Params::TransferAsset(parse_canonical(body)?),
        (_, Action::RevokeApiKey) => Params::RevokeApiKey(parse_canonical(body)?),
        (Domain::Spot, Action::NewTwapOrder) => Params::SpotNewTwapOrder(parse_canonical(body)?),
        (_, Action::NewTwapOrder) => Params::PerpsNewTwapOrder(parse_canonical(body)?),
        (_, Action::CancelTwapOrder) => Params::CancelTwapOrder(parse_canonical(body)?),
        (_, Action::AddApiKey) => return Err(unsupported),
    };
    if let Some((path, 0)) = params.lists() {
        return Err(PayloadError::InvalidField { path: path.into(), message: "must hold at least one item".into() });
    }
    Ok(params)
}

/// Parse the body of `addAPIKey`. Its formatting is free (the signature covers the values, not the bytes).
pub fn parse_add_api_key(body: &[u8]) -> Result<AddApiKey, PayloadError> {
    parse_json(body)
}
