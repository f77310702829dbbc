//! Identifiers, enums, configuration and fixed-point helpers shared by the whole engine.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An account (the vendor's `accountID`).
pub type AccountId = u64;
/// A coin (the vendor's `coinID`).
pub type CoinId = u32;
/// A market (the vendor's `symbolID`).
pub type MarketId = u32;
/// An order, assigned by the engine: 1, 2, 3, ... across all markets.
pub type OrderId = u64;
/// A trade, assigned by the engine: 1, 2, 3, ... across all markets.
pub type TradeId = u64;

/// Parts per million: the unit of fee rates (1000 ppm = 0.1%).
pub const PPM: u64 = 1_000_000;

/// Order side. The numbers are the wire enum (`BUY=1`, `SELL=2`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum Side {
    Buy = 1,
    Sell = 2,
}

impl Side {
    /// The other side.
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
    /// From the wire enum; 0 and unknown values are `None`.
    pub fn from_u8(v: u8) -> Option<Side> {
        match v {
            1 => Some(Side::Buy),
            2 => Some(Side::Sell),
            _ => None,
        }
    }
}

/// Order type. The numbers are the wire enum (`LIMIT=1`, `MARKET=2`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum OrderType {
    Limit = 1,
    Market = 2,
}

impl OrderType {
    /// From the wire enum; 0 and unknown values are `None`.
    pub fn from_u8(v: u8) -> Option<OrderType> {
        match v {
            1 => Some(OrderType::Limit),
            2 => Some(OrderType::Market),
            _ => None,
        }
    }
}

/// Time in force. The numbers are the wire enum (`GTC=1`, `FOK=2`, `IOC=3`, `GTX=4`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum TimeInForce {
    /// Good till cancelled: the unfilled rest of a limit order rests on the book.
    Gtc = 1,
    /// Fill or kill: fills completely at once, or expires with nothing filled and nothing changed.
    Fok = 2,
    /// Immediate or cancel: fills what it can at once; the rest expires.
    Ioc = 3,
    /// Good till crossing (post-only): rejected if any part would take liquidity, else rests like GTC.
    Gtx = 4,
}

impl TimeInForce {
    /// From the wire enum; 0 and unknown values are `None`.
    pub fn from_u8(v: u8) -> Option<TimeInForce> {
        match v {
            1 => Some(TimeInForce::Gtc),
            2 => Some(TimeInForce::Fok),
            3 => Some(TimeInForce::Ioc),
            4 => Some(TimeInForce::Gtx),
            _ => None,
        }
    }
}

/// Self-trade prevention: what happens when an incoming order (the taker) would match a resting order (the maker)
/// of the same account. The taker's mode decides. Names follow the common exchange vocabulary (Binance's
/// `EXPIRE_MAKER` / `EXPIRE_TAKER` / `EXPIRE_BOTH`); the vendor's spot API has no STP field, so orders arriving
/// over it use the default, [`StpMode::CancelMaker`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum StpMode {
    /// Cancel the resting order (its locked funds are released) and keep matching the taker.
    #[default]
    CancelMaker = 1,
    /// Cancel the rest of the taker; fills made before reaching its own order stand, the maker stays.
    CancelTaker = 2,
    /// Cancel both the resting order and the rest of the taker.
    CancelBoth = 3,
}

/// Order status. The numbers are the vendor's `OrderStatus` enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum OrderStatus {
    /// Accepted; resting with nothing filled (or, within one command, not yet matched).
    New = 1,
    /// Resting (or being matched) with part of it filled.
    PartiallyFilled = 2,
    /// Completely filled (a market buy by `funds` is filled when its funds cannot buy one more lot).
    Filled = 3,
    /// Cancelled: by its owner, a replace, the dead-man switch, cancel-all or self-trade prevention.
    Canceled = 4,
    /// Never used for stored orders (rejected orders get no id); kept for the wire enum.
    Rejected = 5,
    /// Expired by its time in force: the unfilled rest of an IOC or market order, an unfillable FOK.
    Expired = 6,
}

impl OrderStatus {
    /// Whether the order is still open (resting on the book).
    pub fn is_open(self) -> bool {
        matches!(self, OrderStatus::New | OrderStatus::PartiallyFilled)
    }
}

/// Why an order left the book (or never rested). Decides the final status together with the filled quantity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CloseReason {
    /// Nothing left to fill (for a market buy by funds: the funds left cannot buy one more lot).
    Filled,
    /// Cancelled by its owner (cancel by order id or client order id).
    Canceled,
    /// Cancelled by a replace; the replacement is a new order.
    Replaced,
    /// Cancelled by a cancel-all command.
    CancelAll,
    /// Cancelled by the account's dead-man switch (`scheduleCancel`).
    ScheduleCancel,
    /// Cancelled by self-trade prevention.
    SelfTrade,
    /// The unfilled rest of an IOC or market order (no more liquidity within its price).
    Unfilled,
    /// A FOK order that could not be filled completely; nothing was filled.
    FokUnfilled,
}

impl CloseReason {
    /// The final status of an order closed for this reason.
    pub fn status(self) -> OrderStatus {
        match self {
            CloseReason::Filled => OrderStatus::Filled,
            CloseReason::Unfilled | CloseReason::FokUnfilled => OrderStatus::Expired,
            CloseReason::Canceled
            | CloseReason::Replaced
            | CloseReason::CancelAll
            | CloseReason::ScheduleCancel
            | CloseReason::SelfTrade => OrderStatus::Canceled,
        }
    }
}

/// Why a command item was rejected. A rejected item changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reject {
    UnknownMarket,
    UnknownCoin,
    UnknownAccount,
    /// No open order of this account in this market with that order id or client order id.
    UnknownOrder,
    /// The client order id is already used by an open order of the account.
    DuplicateClOrdId,
    /// A client order id must match `^[0-9a-zA-Z_-]{1,36}$`.
    InvalidClOrdId,
    /// Limit orders need a price of at least one tick; market orders must not carry a price.
    InvalidPrice,
    /// A quantity must be at least one lot (market buys may give `funds` instead).
    InvalidQuantity,
    /// `funds` is only for market buys, and must be positive.
    InvalidFunds,
    /// Market orders take IOC, FOK (with a quantity) or GTC (treated as IOC); never GTX.
    InvalidTimeInForce,
    /// The order's value (price x quantity, or `funds`) is below the market's minimum notional.
    MinNotional,
    /// Price x quantity does not fit the fixed-point range.
    Overflow,
    InsufficientBalance,
    /// A post-only (GTX) order would have taken liquidity.
    PostOnlyWouldTake,
    /// The account already has the maximum number of open orders.
    TooManyOpenOrders,
    /// A dead-man switch deadline must be later than the command's timestamp.
    DeadlineNotInFuture,
    /// Amounts of deposits, withdrawals and transfers must be positive.
    InvalidAmount,
    /// A transfer from an account to itself.
    SameAccount,
    /// A coin or market with this id already exists.
    AlreadyExists,
    /// A coin or market configuration out of range (e.g. one tick x one lot is not a whole number of quote atoms).
    InvalidConfig,
    /// A deposit would push the coin's total supply past `u64::MAX` atoms.
    SupplyOverflow,
}

impl Reject {
    /// A stable upper-case name for error envelopes.
    pub fn as_str(self) -> &'static str {
        match self {
            Reject::UnknownMarket => "UNKNOWN_MARKET",
            Reject::UnknownCoin => "UNKNOWN_COIN",
            Reject::UnknownAccount => "UNKNOWN_ACCOUNT",
            Reject::UnknownOrder => "UNKNOWN_ORDER",
            Reject::DuplicateClOrdId => "DUPLICATE_CL_ORD_ID",
            Reject::InvalidClOrdId => "INVALID_CL_ORD_ID",
            Reject::InvalidPrice => "INVALID_PRICE",
            Reject::InvalidQuantity => "INVALID_QUANTITY",
            Reject::InvalidFunds => "INVALID_FUNDS",
            Reject::InvalidTimeInForce => "INVALID_TIME_IN_FORCE",
            Reject::MinNotional => "MIN_NOTIONAL",
            Reject::Overflow => "OVERFLOW",
            Reject::InsufficientBalance => "INSUFFICIENT_BALANCE",
            Reject::PostOnlyWouldTake => "POST_ONLY_WOULD_TAKE",
            Reject::TooManyOpenOrders => "TOO_MANY_OPEN_ORDERS",
            Reject::DeadlineNotInFuture => "DEADLINE_NOT_IN_FUTURE",
            Reject::InvalidAmount => "INVALID_AMOUNT",
            Reject::SameAccount => "SAME_ACCOUNT",
            Reject::AlreadyExists => "ALREADY_EXISTS",
            Reject::InvalidConfig => "INVALID_CONFIG",
            Reject::SupplyOverflow => "SUPPLY_OVERFLOW",
        }
    }
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for Reject {}

/// A client order id (`clOrdID`): 1 to 36 characters of `[0-9a-zA-Z_-]`, stored inline (no allocation) in 40
/// bytes (the text, zero padded, and its non-zero length, so `Option<ClOrdId>` is 40 bytes too), compared and
/// hashed as five words.
#[derive(Clone, Copy)]
pub struct ClOrdId {
    bytes: [u8; 39],
    len: std::num::NonZeroU8,
}

impl ClOrdId {
    pub const MAX_LEN: usize = 36;

    /// Validates and stores `s`.
    pub fn new(s: &str) -> Result<ClOrdId, Reject> {
        let b = s.as_bytes();
        if b.is_empty() || b.len() > Self::MAX_LEN {
            return Err(Reject::InvalidClOrdId);
        }
        if !b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-') {
            return Err(Reject::InvalidClOrdId);
        }
        let mut bytes = [0u8; 39];
        bytes[..b.len()].copy_from_slice(b);
        let len = std::num::NonZeroU8::new(b.len() as u8).ok_or(Reject::InvalidClOrdId)?;
        Ok(ClOrdId { bytes, len })
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII was admitted, so this cannot fail.
        std::str::from_utf8(&self.bytes[..usize::from(self.len.get())]).unwrap_or("")
    }

    #[inline]
    fn words(&self) -> [u64; 5] {
        let mut w = [0u64; 5];
        for (i, c) in self.bytes.chunks_exact(8).enumerate() {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            w[i] = u64::from_le_bytes(a);
        }
        let mut a = [0u8; 8];
        a[..7].copy_from_slice(&self.bytes[32..]);
        a[7] = self.len.get();
        w[4] = u64::from_le_bytes(a);
        w
    }
}

impl PartialEq for ClOrdId {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.words(), other.words());
        ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4])) == 0
    }
}

impl Eq for ClOrdId {}

impl PartialOrd for ClOrdId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ClOrdId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::hash::Hash for ClOrdId {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        for w in self.words() {
            state.write_u64(w);
        }
    }
}

impl fmt::Debug for ClOrdId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl fmt::Display for ClOrdId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ClOrdId {
    type Err = Reject;
    fn from_str(s: &str) -> Result<Self, Reject> {
        ClOrdId::new(s)
    }
}

impl Serialize for ClOrdId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ClOrdId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        ClOrdId::new(&s).map_err(serde::de::Error::custom)
    }
}

/// A coin. Balances are integers of atoms: one coin is `10^decimals` atoms. `decimals` is the engine's scale,
/// which may be coarser than the chain's (ETH at 8 rather than 18 keeps every supply within `u64`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CoinConfig {
    pub id: CoinId,
    pub symbol: String,
    pub decimals: u8,
}

/// A spot market, all fixed point.
///
/// * Prices are decimals with `price_decimals` places (quote coin per one whole base coin); an order's price is a
///   whole number of ticks, one tick being `tick_size / 10^price_decimals`.
/// * Quantities are whole numbers of lots, one lot being `lot_size` base atoms.
/// * One tick x one lot must be a whole number of quote atoms (`quote_per_tick_lot`, at least 1), so every
///   notional `price_ticks x lots x quote_per_tick_lot` is exact: no rounding anywhere except fees.
/// * `min_notional` is in quote atoms; fee rates in parts per million (at most 1,000,000).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MarketConfig {
    pub id: MarketId,
    /// E.g. `BTC/USDC`.
    pub name: String,
    pub base: CoinId,
    pub quote: CoinId,
    pub price_decimals: u8,
    pub tick_size: u64,
    pub lot_size: u64,
    pub min_notional: u64,
    pub maker_fee_ppm: u32,
    pub taker_fee_ppm: u32,
}

/// A market with its coins resolved: conversions between decimal strings and ticks, lots and atoms.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MarketSpec {
    pub config: MarketConfig,
    pub base_decimals: u8,
    pub quote_decimals: u8,
    /// Quote atoms of one tick x one lot.
    pub quote_per_tick_lot: u64,
}

impl MarketSpec {
    /// Resolves a configuration against its coins' decimals; `None` if one tick x one lot is not a whole, positive
    /// number of quote atoms within `u64`, or a size or fee is out of range.
    pub fn new(config: MarketConfig, base_decimals: u8, quote_decimals: u8) -> Option<MarketSpec> {
        if config.tick_size == 0
            || config.lot_size == 0
            || config.base == config.quote
            || u64::from(config.maker_fee_ppm) > PPM
            || u64::from(config.taker_fee_ppm) > PPM
            || base_decimals > 30
            || quote_decimals > 30
            || config.price_decimals > 30
        {
            return None;
        }
        // tick_size * 10^-price_decimals (quote per base) * lot_size * 10^-base_decimals (base) * 10^quote_decimals
        let num = u128::from(config.tick_size).checked_mul(u128::from(config.lot_size))?;
        let up = i32::from(quote_decimals) - i32::from(config.price_decimals) - i32::from(base_decimals);
        let qpt = if up >= 0 {
            num.checked_mul(10u128.checked_pow(up.unsigned_abs())?)?
        } else {
            let d = 10u128.checked_pow(up.unsigned_abs())?;
            if num % d != 0 {
                return None;
            }
            num / d
        };
        let qpt = u64::try_from(qpt).ok().filter(|q| *q > 0)?;
        Some(MarketSpec { config, base_decimals, quote_decimals, quote_per_tick_lot: qpt })
    }

    /// Quote atoms of `lots` at `ticks`, if it fits.
    pub fn notional(&self, ticks: u64, lots: u64) -> Option<u64> {
        let v = u128::from(ticks) * u128::from(lots) * u128::from(self.quote_per_tick_lot);
        u64::try_from(v).ok()
    }

    /// Base atoms of `lots`, if it fits.
    pub fn base_amount(&self, lots: u64) -> Option<u64> {
        lots.checked_mul(self.config.lot_size)
    }

    /// A decimal price (`"50000.01"`) in ticks; it must be a positive whole number of ticks.
    pub fn parse_price(&self, s: &str) -> Result<u64, Reject> {
        let v = parse_decimal(s, self.config.price_decimals).ok_or(Reject::InvalidPrice)?;
        if v == 0 || v % self.config.tick_size != 0 {
            return Err(Reject::InvalidPrice);
        }
        Ok(v / self.config.tick_size)
    }

    /// A decimal base quantity (`"0.1"`) in lots; it must be a positive whole number of lots.
    pub fn parse_quantity(&self, s: &str) -> Result<u64, Reject> {
        let v = parse_decimal(s, self.base_decimals).ok_or(Reject::InvalidQuantity)?;
        if v == 0 || v % self.config.lot_size != 0 {
            return Err(Reject::InvalidQuantity);
        }
        Ok(v / self.config.lot_size)
    }

    /// A decimal quote amount (`funds`) in quote atoms.
    pub fn parse_funds(&self, s: &str) -> Result<u64, Reject> {
        parse_decimal(s, self.quote_decimals).filter(|v| *v > 0).ok_or(Reject::InvalidFunds)
    }

    /// Ticks as a canonical decimal price.
    pub fn format_price(&self, ticks: u64) -> String {
        let v = u128::from(ticks) * u128::from(self.config.tick_size);
        format_decimal_u128(v, self.config.price_decimals)
    }

    /// Lots as a canonical decimal base quantity.
    pub fn format_quantity(&self, lots: u64) -> String {
        format_decimal_u128(u128::from(lots) * u128::from(self.config.lot_size), self.base_decimals)
    }

    /// Quote atoms as a canonical decimal.
    pub fn format_quote(&self, atoms: u64) -> String {
        format_decimal(atoms, self.quote_decimals)
    }

    /// Base atoms as a canonical decimal.
    pub fn format_base(&self, atoms: u64) -> String {
        format_decimal(atoms, self.base_decimals)
    }
}

/// Balance of one coin in one account, in atoms. `locked` backs open orders.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Balance {
    pub available: u64,
    pub locked: u64,
}

impl Balance {
    pub fn total(&self) -> u64 {
        self.available + self.locked
    }
}

/// Parses a plain decimal (`"12"`, `"0.5"`, `"1.250"`) into an integer scaled by `10^decimals`. No sign, exponent
/// or spaces; more fractional digits than `decimals` are accepted only if the excess digits are zeros. (Whether a
/// wire value is canonical, e.g. has no trailing zeros, is the API layer's rule, not this one.)
pub fn parse_decimal(s: &str, decimals: u8) -> Option<u64> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|c| c.is_ascii_digit()) || !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if s.contains('.') && (int.is_empty() || frac.is_empty()) {
        return None;
    }
    let d = usize::from(decimals);
    let (kept, extra) = if frac.len() > d { frac.split_at(d) } else { (frac, "") };
    if !extra.bytes().all(|c| c == b'0') {
        return None;
    }
    let mut v: u64 = 0;
    for c in int.bytes().chain(kept.bytes()) {
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    for _ in kept.len()..d {
        v = v.checked_mul(10)?;
    }
    Some(v)
}

/// Formats an integer scaled by `10^decimals` as a canonical decimal: no trailing fractional zeros, no trailing
/// `.`, no exponent (`1250000` with 6 decimals is `"1.25"`).
pub fn format_decimal(v: u64, decimals: u8) -> String {
    format_decimal_u128(u128::from(v), decimals)
}

fn format_decimal_u128(v: u128, decimals: u8) -> String {
    let d = usize::from(decimals);
    let digits = v.to_string();
    if d == 0 {
        return digits;
    }
    let padded = if digits.len() <= d { format!("{}{}", "0".repeat(d + 1 - digits.len()), digits) } else { digits };
    let (int, frac) = padded.split_at(padded.len() - d);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() { int.to_string() } else { format!("{int}.{frac}") }
}

/// `ceil(amount * ppm / 10^6)`: fees round up to the next atom, never above `amount`.
pub fn fee_of(amount: u64, ppm: u32) -> u64 {
    let v = (u128::from(amount) * u128::from(ppm)).div_ceil(u128::from(PPM));
    // ppm <= 10^6, so v <= amount.
    v as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_round_trip() {
        assert_eq!(parse_decimal("1.25", 6), Some(1_250_000));
        assert_eq!(parse_decimal("0.000001", 6), Some(1));
        assert_eq!(parse_decimal("0.0000010", 6), Some(1));
        assert_eq!(parse_decimal("0.0000011", 6), None);
        assert_eq!(parse_decimal("12", 0), Some(12));
        assert_eq!(parse_decimal("1.", 2), None);
        assert_eq!(parse_decimal(".5", 2), None);
        assert_eq!(parse_decimal("-1", 2), None);
        assert_eq!(parse_decimal("1e3", 2), None);
        assert_eq!(parse_decimal("", 2), None);
        assert_eq!(parse_decimal("18446744073709551616", 0), None);
        assert_eq!(format_decimal(1_250_000, 6), "1.25");
        assert_eq!(format_decimal(1, 6), "0.000001");
        assert_eq!(format_decimal(0, 6), "0");
        assert_eq!(format_decimal(5_000_000, 6), "5");
        assert_eq!(format_decimal(42, 0), "42");
    }

    #[test]
    fn market_spec_units() {
        let cfg = MarketConfig {
            id: 1,
            name: "BTC/USDC".into(),
            base: 1,
            quote: 0,
            price_decimals: 2,
            tick_size: 1,
            lot_size: 10_000,
            min_notional: 1_000_000,
            maker_fee_ppm: 1000,
            taker_fee_ppm: 2000,
        };
        let m = MarketSpec::new(cfg.clone(), 8, 6).unwrap_or_else(|| panic!("valid market"));
        assert_eq!(m.quote_per_tick_lot, 1);
        assert_eq!(m.parse_price("50000.01"), Ok(5_000_001));
        assert_eq!(m.parse_price("50000.001"), Err(Reject::InvalidPrice));
        assert_eq!(m.parse_quantity("0.1"), Ok(1000));
        assert_eq!(m.parse_quantity("0.00001"), Err(Reject::InvalidQuantity));
        assert_eq!(m.format_price(5_000_001), "50000.01");
        assert_eq!(m.format_quantity(1000), "0.1");
        // 0.1 BTC at 50000.01 = 5000.001 USDC
        assert_eq!(m.notional(5_000_001, 1000), Some(5_000_001_000));
        assert_eq!(m.format_quote(5_000_001_000), "5000.001");
        // A lot of one satoshi at a cent tick is a tenth of a USDC atom: not allowed.
        let bad = MarketConfig { lot_size: 1, ..cfg };
        assert!(MarketSpec::new(bad, 8, 6).is_none());
    }

    #[test]
    fn cl_ord_id_rules() {
        assert!(ClOrdId::new("order-001_A").is_ok());
        assert_eq!(ClOrdId::new(""), Err(Reject::InvalidClOrdId));
        assert_eq!(ClOrdId::new("a b"), Err(Reject::InvalidClOrdId));
        assert!(ClOrdId::new(&"x".repeat(36)).is_ok());
        assert_eq!(ClOrdId::new(&"x".repeat(37)), Err(Reject::InvalidClOrdId));
        let c = ClOrdId::new("abc").unwrap_or_else(|_| panic!());
        assert_eq!(c.as_str(), "abc");
    }

    #[test]
    fn fees_round_up() {
        assert_eq!(fee_of(1000, 1000), 1);
        assert_eq!(fee_of(1001, 1000), 2);
        assert_eq!(fee_of(0, 1000), 0);
        assert_eq!(fee_of(7, 1_000_000), 7);
        assert_eq!(fee_of(u64::MAX, 1_000_000), u64::MAX);
    }
}
