//! Perps enums, configuration, rejection reasons and the fixed-point helpers (margin tiers, rates).

use std::fmt;

use serde::{Deserialize, Serialize};
use sova_engine::{CoinId, MarketConfig, MarketId, MarketSpec, PPM};

/// A position, numbered 1, 2, 3, ... engine-wide. A flip closes one position and opens another.
pub type PositionId = u64;

/// Rates (funding, premium, interest) are integers in parts per billion: 100_000 ppb = 0.01 %.
pub const PPB: i128 = 1_000_000_000;
/// Maintenance-margin rates and deductions are scaled by 10^12.
pub const E12: i128 = 1_000_000_000_000;
/// Mark-price EMAs are kept in micro-ticks (ticks x 10^6).
pub const MICRO: i128 = 1_000_000;
/// Largest price in ticks (orders, stops, index, mark): 2^40. With quantities at most 2^40 lots and one tick x
/// one lot at most 2^24 quote atoms, every order's notional stays below 2^104 and all `i128` money arithmetic
/// (funding included) has ample headroom for any realistic open interest.
pub const MAX_PRICE: u64 = 1 << 40;
/// Largest order quantity in lots: 2^40.
pub const MAX_QUANTITY: u64 = 1 << 40;

/// `marginMode` (wire enum ISOLATED=1, CROSS=2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum MarginMode {
    Isolated = 1,
    #[default]
    Cross = 2,
}

impl MarginMode {
    pub fn as_str(self) -> &'static str {
        match self {
            MarginMode::Isolated => "ISOLATED",
            MarginMode::Cross => "CROSS",
        }
    }
}

/// `positionSide` (wire enum BOTH=1, LONG=2, SHORT=3). One-way mode: only `Both` is accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum PositionSide {
    #[default]
    Both = 1,
    Long = 2,
    Short = 3,
}

/// `modifier` (wire enum NORMAL=1, STOP=2, BRACKET=3, ATTACHED_STOP=4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum Modifier {
    #[default]
    Normal = 1,
    Stop = 2,
    Bracket = 3,
    AttachedStop = 4,
}

/// `stopType` (wire enum STOP_LOSS=1, TAKE_PROFIT=2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum StopType {
    StopLoss = 1,
    TakeProfit = 2,
}

/// `triggerType` (wire enum LAST=1, MARK=2, INDEX=3): which price a stop watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum TriggerType {
    Last = 1,
    Mark = 2,
    Index = 3,
}

/// A stop's trigger: `stop_price` in ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StopSpec {
    pub stop_price: u64,
    pub stop_type: StopType,
    pub trigger: TriggerType,
}

impl StopSpec {
    /// Whether `price` fires a stop of an order on `side`. A sell stop protects a long: STOP_LOSS fires when the
    /// price falls to the stop (adverse), TAKE_PROFIT when it rises to it (favourable); a buy stop the mirror.
    pub fn fires(&self, side: sova_engine::Side, price: u64) -> bool {
        use sova_engine::Side::*;
        match (side, self.stop_type) {
            (Sell, StopType::StopLoss) | (Buy, StopType::TakeProfit) => price <= self.stop_price,
            (Sell, StopType::TakeProfit) | (Buy, StopType::StopLoss) => price >= self.stop_price,
        }
    }
}

/// Order status (1..6 as spot; 7 and 8 are the perps additions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[repr(u8)]
pub enum OrderStatus {
    New = 1,
    PartiallyFilled = 2,
    Filled = 3,
    Canceled = 4,
    Rejected = 5,
    Expired = 6,
    /// A stop (or attached stop) waiting for its trigger, off the book.
    Untriggered = 7,
    /// A stop whose trigger fired: now a normal order, nothing filled yet.
    Triggered = 8,
}

impl OrderStatus {
    pub fn is_open(self) -> bool {
        matches!(
            self,
            OrderStatus::New | OrderStatus::PartiallyFilled | OrderStatus::Untriggered | OrderStatus::Triggered
        )
    }
}

/// Why an order closed. Decides the final status ([`CloseReason::status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CloseReason {
    Filled,
    Canceled,
    Replaced,
    CancelAll,
    ScheduleCancel,
    SelfTrade,
    /// The rest of an IOC or market order.
    Unfilled,
    /// A FOK that could not fill completely (nothing filled).
    FokUnfilled,
    /// A reduce-only order with nothing left to reduce (position flat or on its side).
    ReduceOnly,
    /// Cancelled by a liquidation (step 1 cancels the orders in scope).
    Liquidation,
    /// A triggered stop whose opening part could not be margined.
    InsufficientMargin,
    /// An attached stop whose primary died unfilled, or whose sibling fired (OCO).
    BracketVoid,
}

impl CloseReason {
    pub fn status(self, filled: u64) -> OrderStatus {
        match self {
            CloseReason::Filled => OrderStatus::Filled,
            CloseReason::Unfilled | CloseReason::FokUnfilled => OrderStatus::Expired,
            CloseReason::ReduceOnly if filled > 0 => OrderStatus::Filled,
            _ => OrderStatus::Canceled,
        }
    }
}

/// Why a command item was rejected. A rejected item changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reject {
    UnknownMarket,
    UnknownAccount,
    UnknownOrder,
    DuplicateClOrdId,
    InvalidPrice,
    InvalidQuantity,
    InvalidTimeInForce,
    MinNotional,
    Overflow,
    /// A transfer out above the withdrawable amount (spec section 7).
    InsufficientBalance,
    PostOnlyWouldTake,
    TooManyOpenOrders,
    DeadlineNotInFuture,
    InvalidAmount,
    AlreadyExists,
    InvalidConfig,
    /// No position in this market (updateMargin).
    NoPosition,
    PositionSideUnsupported,
    ReduceOnlyWouldIncrease,
    InsufficientMargin,
    LeverageOutOfRange,
    PositionOpen,
    NotIsolated,
    InvalidStop,
    BracketMalformed,
    AccountLiquidating,
}

impl Reject {
    pub fn as_str(self) -> &'static str {
        match self {
            Reject::UnknownMarket => "UNKNOWN_MARKET",
            Reject::UnknownAccount => "UNKNOWN_ACCOUNT",
            Reject::UnknownOrder => "UNKNOWN_ORDER",
            Reject::DuplicateClOrdId => "DUPLICATE_CL_ORD_ID",
            Reject::InvalidPrice => "INVALID_PRICE",
            Reject::InvalidQuantity => "INVALID_QUANTITY",
            Reject::InvalidTimeInForce => "INVALID_TIME_IN_FORCE",
            Reject::MinNotional => "MIN_NOTIONAL",
            Reject::Overflow => "OVERFLOW",
            Reject::InsufficientBalance => "INSUFFICIENT_BALANCE",
            Reject::PostOnlyWouldTake => "POST_ONLY_WOULD_TAKE",
            Reject::TooManyOpenOrders => "TOO_MANY_OPEN_ORDERS",
            Reject::DeadlineNotInFuture => "DEADLINE_NOT_IN_FUTURE",
            Reject::InvalidAmount => "INVALID_AMOUNT",
            Reject::AlreadyExists => "ALREADY_EXISTS",
            Reject::InvalidConfig => "INVALID_CONFIG",
            Reject::NoPosition => "NO_POSITION",
            Reject::PositionSideUnsupported => "POSITION_SIDE_UNSUPPORTED",
            Reject::ReduceOnlyWouldIncrease => "REDUCE_ONLY_WOULD_INCREASE",
            Reject::InsufficientMargin => "INSUFFICIENT_MARGIN",
            Reject::LeverageOutOfRange => "LEVERAGE_OUT_OF_RANGE",
            Reject::PositionOpen => "POSITION_OPEN",
            Reject::NotIsolated => "NOT_ISOLATED",
            Reject::InvalidStop => "INVALID_STOP",
            Reject::BracketMalformed => "BRACKET_MALFORMED",
            Reject::AccountLiquidating => "ACCOUNT_LIQUIDATING",
        }
    }
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for Reject {}

/// One margin tier: from `lower_bound` quote atoms of position notional up, leverage is capped at
/// `max_leverage` and the maintenance-margin rate is `1 / (2 x max_leverage)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MarginTier {
    pub lower_bound: u64,
    pub max_leverage: u32,
}

/// Funding parameters of a market. Rates in parts per billion.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FundingParams {
    /// The 8-hour interest rate I (0.0001 = 100_000 ppb).
    pub interest_rate_ppb: i64,
    /// Cap of the hourly rate (0.04 = 40_000_000 ppb).
    pub max_rate_ppb: i64,
    /// Floor of the hourly rate (-0.04).
    pub min_rate_ppb: i64,
    /// Impact notional in quote atoms (20 000 USDC for BTC and ETH, 6 000 others).
    pub impact_notional: u64,
    /// Settlement period in ms, on multiples of it since the epoch (3 600 000: on the hour).
    pub interval_ms: u64,
}

impl FundingParams {
    /// Spec section 5's numbers with the given impact notional.
    pub fn standard(impact_notional: u64) -> FundingParams {
        FundingParams {
            interest_rate_ppb: 100_000,
            max_rate_ppb: 40_000_000,
            min_rate_ppb: -40_000_000,
            impact_notional,
            interval_ms: 3_600_000,
        }
    }
}

/// A perpetual market. `market` carries the spot-shaped fixed point (ticks, lots, fees in ppm, min notional;
/// `base` is the underlying coin, `quote` the collateral coin); the rest is perps.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PerpMarketConfig {
    pub market: MarketConfig,
    /// Decimals of the base coin (for quantity conversions).
    pub base_decimals: u8,
    pub max_leverage: u32,
    /// Leverage of an account that never set one (10).
    pub init_leverage: u32,
    /// Ascending `lower_bound`, the first at 0 with `max_leverage` equal to the market's; leverage caps must not
    /// rise. Empty means one tier at the market's max leverage.
    pub margin_tiers: Vec<MarginTier>,
    pub funding: FundingParams,
    /// Positions above this notional (quote atoms) are liquidated on the book in 20 % slices (100 000 USDC).
    pub large_position_notional: u64,
}

impl PerpMarketConfig {
    /// A market with one margin tier, `init_leverage` 10 (or max if lower), standard funding with the given
    /// impact notional, and 100 000 collateral coins as the large-position threshold.
    pub fn new(market: MarketConfig, base_decimals: u8, quote_decimals: u8, max_leverage: u32) -> PerpMarketConfig {
        let unit = 10u64.saturating_pow(u32::from(quote_decimals));
        PerpMarketConfig {
            market,
            base_decimals,
            max_leverage,
            init_leverage: max_leverage.min(10),
            margin_tiers: Vec::new(),
            funding: FundingParams::standard(unit.saturating_mul(20_000)),
            large_position_notional: unit.saturating_mul(100_000),
        }
    }
}

/// A validated market: decimal conversions and the margin-tier table.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PerpMarketSpec {
    pub config: PerpMarketConfig,
    /// Conversions (ticks, lots, quote atoms) as for a spot market.
    pub spec: MarketSpec,
    pub tiers: Vec<TierRow>,
}

/// One row of the computed tier table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TierRow {
    pub lower_bound: u64,
    /// Upper bound of the tier (`maxNotionalValue`): the next tier's lower bound, `u64::MAX` for the last.
    pub max_notional: u64,
    pub max_leverage: u32,
    /// Maintenance-margin rate x 10^12: `ceil(10^12 / (2 x max_leverage))` (exact for 1, 2, 4, 5, 8, 10, 20,
    /// 25, 40, 50, ...).
    pub mmr_e12: i128,
    /// Maintenance deduction x 10^12, cumulative: `d(n) = d(n-1) + lower_bound(n) x (mmr(n) - mmr(n-1))`.
    pub deduction_e12: i128,
}

impl PerpMarketSpec {
    /// Validates `config` against the collateral's decimals.
    pub fn new(config: PerpMarketConfig, collateral: CoinId, quote_decimals: u8) -> Option<PerpMarketSpec> {
        if config.market.quote != collateral
            || config.max_leverage == 0
            || config.init_leverage == 0
            || config.init_leverage > config.max_leverage
            || config.funding.interval_ms == 0
            || config.funding.min_rate_ppb > config.funding.max_rate_ppb
            || u64::from(config.market.maker_fee_ppm) > PPM
            || u64::from(config.market.taker_fee_ppm) > PPM
        {
            return None;
        }
        let spec = MarketSpec::new(config.market.clone(), config.base_decimals, quote_decimals)?;
        if spec.quote_per_tick_lot > 1 << 24 {
            return None;
        }
        let tiers_in = if config.margin_tiers.is_empty() {
            vec![MarginTier { lower_bound: 0, max_leverage: config.max_leverage }]
        } else {
            config.margin_tiers.clone()
        };
        if tiers_in[0].lower_bound != 0 || tiers_in[0].max_leverage != config.max_leverage {
            return None;
        }
        let mut tiers: Vec<TierRow> = Vec::with_capacity(tiers_in.len());
        for (i, t) in tiers_in.iter().enumerate() {
            if t.max_leverage == 0 {
                return None;
            }
            let mmr = ceil_div(E12, 2 * i128::from(t.max_leverage));
            let ded = match tiers.last() {
                None => 0,
                Some(p) => {
                    if t.lower_bound <= p.lower_bound || t.max_leverage > p.max_leverage {
                        return None;
                    }
                    p.deduction_e12 + i128::from(t.lower_bound) * (mmr - p.mmr_e12)
                }
            };
            let max_notional = tiers_in.get(i + 1).map_or(u64::MAX, |n| n.lower_bound);
            tiers.push(TierRow {
                lower_bound: t.lower_bound,
                max_notional,
                max_leverage: t.max_leverage,
                mmr_e12: mmr,
                deduction_e12: ded,
            });
        }
        Some(PerpMarketSpec { config, spec, tiers })
    }

    pub fn id(&self) -> MarketId {
        self.config.market.id
    }

    /// Quote atoms of one tick x one lot.
    pub fn qptl(&self) -> i128 {
        i128::from(self.spec.quote_per_tick_lot)
    }

    /// Quote atoms of `lots` at `ticks`.
    pub fn notional(&self, ticks: u64, lots: u64) -> i128 {
        i128::from(ticks) * i128::from(lots) * self.qptl()
    }

    /// The tier a position of `notional` quote atoms falls in.
    pub fn tier(&self, notional: i128) -> &TierRow {
        let mut t = &self.tiers[0];
        for r in &self.tiers {
            if i128::from(r.lower_bound) <= notional {
                t = r;
            }
        }
        t
    }

    /// Maintenance margin of a position of `notional` quote atoms: `ceil((notional x mmr - deduction) / 10^12)`,
    /// at least 0 (rounded up: the engine errs on the side of liquidating).
    pub fn maintenance(&self, notional: i128) -> i128 {
        let t = self.tier(notional);
        ceil_div(notional * t.mmr_e12 - t.deduction_e12, E12).max(0)
    }
}

/// `ceil(a / b)` for `b > 0`; in 64 bits when both fit (128-bit division is a slow library call).
#[inline]
pub(crate) fn ceil_div(a: i128, b: i128) -> i128 {
    if let (Ok(a), Ok(b)) = (i64::try_from(a), i64::try_from(b)) {
        let q = a.div_euclid(b);
        return i128::from(if a.rem_euclid(b) == 0 { q } else { q + 1 });
    }
    // One 128-bit division: the remainder `a - q x b` is in [0, b), so wrapping arithmetic gives it exactly.
    let q = a.div_euclid(b);
    if a.wrapping_sub(q.wrapping_mul(b)) == 0 { q } else { q + 1 }
}

/// `floor(a / b)` for `b > 0`.
pub(crate) fn floor_div(a: i128, b: i128) -> i128 {
    a.div_euclid(b)
}

/// Median of three.
pub(crate) fn median3(a: i128, b: i128, c: i128) -> i128 {
    a.max(b).min(a.min(b).max(c))
}

/// Engine-wide configuration: the collateral coin, the reserved accounts and the bounds of kept history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerpsConfig {
    /// The one collateral coin (USDC); its id as in the spot engine.
    pub collateral: CoinId,
    pub collateral_decimals: u8,
    /// Receives trading fees.
    pub fee_account: sova_engine::AccountId,
    /// The liquidator (backstop) account: takes over positions, receives funding rounding, covers deficits.
    pub insurance_account: sova_engine::AccountId,
    pub max_open_orders: u32,
    /// Closed orders kept for lookup by id.
    pub closed_orders: usize,
    /// Closed positions and funding rows kept per account.
    pub history: usize,
    /// Trades kept per market.
    pub recent_trades: usize,
    /// Pause between the 20 % slices of a large position's book liquidation (30 000 ms).
    pub liquidation_slice_ms: u64,
}

impl Default for PerpsConfig {
    fn default() -> Self {
        PerpsConfig {
            collateral: 0,
            collateral_decimals: 6,
            fee_account: 1,
            insurance_account: 2,
            max_open_orders: 1000,
            closed_orders: 10_000,
            history: 1000,
            recent_trades: 1000,
            liquidation_slice_ms: 30_000,
        }
    }
}
