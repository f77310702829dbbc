//! Exchange API (seed 002, `/api/v1/spot`, `/api/v1/perps`, `/api/v1/user`, `/ws/spot`): the envelope, the stable
//! reasons and every answer, REST and WebSocket.
//!
//! Field order: each struct declares its fields in the byte order of their JSON names, so the bytes are the ones
//! the exchange answered before these types existed (`serde_json` maps, which sort their keys). Names follow the
//! vendor's concepts (symbol, coin, ticker, order book, kline, order, user trade, receipt), so that moving to the
//! vendor SDKs' shapes (`spec/exchange-sdk-wire.md`) is a change of fields, not of types.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// ---------------------------------------------------------------------------------------------------------------
// Envelope

/// A success: `{"code":0,"data":..,"timestamp":ms}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Envelope<T> {
    /// Always 0.
    pub code: u32,
    /// The answer.
    pub data: T,
    /// Server time (Unix ms).
    pub timestamp: i64,
}

/// A refusal: `{"code":n,"error":"..","reason":"..","timestamp":ms}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ErrorEnvelope {
    /// The reason's number.
    pub code: u32,
    /// What went wrong and what to do.
    pub error: String,
    /// The stable reason.
    pub reason: Reason,
    /// Server time (Unix ms).
    pub timestamp: i64,
}

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
    /// A write that reached a follower replica which could not forward it; the message names the leader.
    NotLeader = 10014,
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
    /// A TWAP order's `minutes` out of range (1 to 1440).
    InvalidTwapDuration = 30021,
    /// No such TWAP order (or not the account's, or not in that market).
    UnknownTwap = 30022,
    /// The account has as many running TWAP orders as allowed.
    TooManyTwaps = 30023,
    /// A Connect order whose quote the book can no longer fill at the quoted terms (nothing moved).
    QuoteNotFillable = 30024,
    // perps (spec/perps.md section 8)
    /// `positionSide` other than BOTH (one-way mode only).
    PositionSideUnsupported = 31001,
    /// A reduce-only order on a flat position or on its own side.
    ReduceOnlyWouldIncrease = 31002,
    /// The account's available margin does not cover the order, margin move or transfer.
    InsufficientMargin = 31003,
    /// Leverage outside 1..maxLeverage of the market (or of the margin tier the position would reach).
    LeverageOutOfRange = 31004,
    /// A margin-mode change with a position or open order in the market.
    PositionOpen = 31005,
    /// `updateMargin` on a position that is not ISOLATED (or no position).
    NotIsolated = 31006,
    /// A stop order without a valid stopPrice, stopType or triggerType, or one that would fire at once.
    InvalidStop = 31007,
    /// A BRACKET order whose attached stops are not one STOP_LOSS and one TAKE_PROFIT of the other side.
    BracketMalformed = 31008,
    /// The account is being liquidated; orders, margin and transfers out wait until it ends.
    AccountLiquidating = 31009,
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

// ---------------------------------------------------------------------------------------------------------------
// Enumerations as answered

/// Status of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    /// Resting, nothing filled.
    New,
    /// Resting, partly filled.
    PartiallyFilled,
    /// Filled completely.
    Filled,
    /// Canceled (by the owner, a replace, the dead-man switch or self-trade prevention).
    Canceled,
    /// Refused by the engine.
    Rejected,
    /// Closed unfilled (IOC/FOK remainder).
    Expired,
    /// Perps: a stop waiting for its trigger price, off the book.
    Untriggered,
    /// Perps: a stop whose trigger fired; it is now a normal order.
    Triggered,
}

/// Side of an order or trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Side {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

/// Type of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderType {
    /// Limit.
    Limit,
    /// Market.
    Market,
}

/// Time in force of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TimeInForce {
    /// Good till canceled.
    Gtc,
    /// Fill or kill.
    Fok,
    /// Immediate or cancel.
    Ioc,
    /// Post only.
    Gtx,
}

/// Trading status of a market.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SymbolStatus {
    /// Open for orders.
    Trading,
}

// ---------------------------------------------------------------------------------------------------------------
// Market data

/// A market (`GET /markets/symbols`): the vendor SDKs' fields (`id`, `name`, `displayName`, `stepSize`, the
/// bounds), with Sova's earlier names (`symbolID`, `symbol`, `lotSize`) kept as extras. `name` is path-safe
/// (`BTC_USDC`) and is what every `symbol` / `s` field of the exchange carries; `displayName` is `BTC/USDC`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Symbol {
    /// Base coin symbol.
    #[serde(rename = "baseCoin")]
    pub base_coin: String,
    /// Base coin id.
    #[serde(rename = "baseCoinID")]
    pub base_coin_id: u32,
    /// Decimals the exchange keeps of the base coin.
    #[serde(rename = "baseCoinPrecision")]
    pub base_coin_precision: u8,
    /// Price band above the last price a buy may take ("0": Sova enforces no band).
    #[serde(rename = "buyLimitUpRatio")]
    pub buy_limit_up_ratio: String,
    /// Display name, e.g. `BTC/USDC`.
    #[serde(rename = "displayName")]
    pub display_name: String,
    /// Market id.
    pub id: u32,
    /// Quantity increment (decimal; the same as `stepSize`).
    #[serde(rename = "lotSize")]
    pub lot_size: String,
    /// Maker fee rate (decimal).
    #[serde(rename = "makerFee")]
    pub maker_fee: String,
    /// Market-order deviation allowed ("0": no band).
    #[serde(rename = "marketDeviationRatio")]
    pub market_deviation_ratio: String,
    /// Largest market-order quantity.
    #[serde(rename = "marketMaxQuantity")]
    pub market_max_quantity: String,
    /// Smallest market-order quantity.
    #[serde(rename = "marketMinQuantity")]
    pub market_min_quantity: String,
    /// Largest order value in quote coin.
    #[serde(rename = "maxNotional")]
    pub max_notional: String,
    /// Largest price.
    #[serde(rename = "maxPrice")]
    pub max_price: String,
    /// Largest quantity.
    #[serde(rename = "maxQuantity")]
    pub max_quantity: String,
    /// Smallest order value in quote coin (decimal).
    #[serde(rename = "minNotional")]
    pub min_notional: String,
    /// Smallest price (one tick).
    #[serde(rename = "minPrice")]
    pub min_price: String,
    /// Smallest quantity (one lot).
    #[serde(rename = "minQuantity")]
    pub min_quantity: String,
    /// Path-safe name, e.g. `BTC_USDC`.
    pub name: String,
    /// Decimals of prices.
    #[serde(rename = "pricePrecision")]
    pub price_precision: u8,
    /// Decimals of quantities.
    #[serde(rename = "quantityPrecision")]
    pub quantity_precision: u32,
    /// Quote coin symbol.
    #[serde(rename = "quoteCoin")]
    pub quote_coin: String,
    /// Quote coin id.
    #[serde(rename = "quoteCoinID")]
    pub quote_coin_id: u32,
    /// Decimals the exchange keeps of the quote coin.
    #[serde(rename = "quoteCoinPrecision")]
    pub quote_coin_precision: u8,
    /// Price band below the last price a sell may take ("0": no band).
    #[serde(rename = "sellLimitDownRatio")]
    pub sell_limit_down_ratio: String,
    /// Trading status.
    pub status: SymbolStatus,
    /// Quantity increment (decimal).
    #[serde(rename = "stepSize")]
    pub step_size: String,
    /// The name again (Sova's earlier field).
    pub symbol: String,
    /// Market id (Sova's earlier field).
    #[serde(rename = "symbolID")]
    pub symbol_id: u32,
    /// Taker fee rate (decimal).
    #[serde(rename = "takerFee")]
    pub taker_fee: String,
    /// Price increment (decimal).
    #[serde(rename = "tickSize")]
    pub tick_size: String,
}

/// A coin (`GET /markets/coins`): `id`, `name`, `precision`, with Sova's earlier names as extras.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Coin {
    /// Symbol, e.g. `USDC`.
    pub coin: String,
    /// Coin id.
    #[serde(rename = "coinID")]
    pub coin_id: u32,
    /// Decimals the exchange keeps.
    pub decimals: u8,
    /// Coin id.
    pub id: u32,
    /// Symbol, e.g. `USDC`.
    pub name: String,
    /// Decimals the exchange keeps.
    pub precision: u8,
}

/// 24 h statistics of a market (`GET /markets/tickers`, also `miniTickers`). Prices are "0" before a trade, sizes
/// "0" on an empty side.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Ticker {
    /// Best ask price.
    #[serde(rename = "askPx")]
    pub ask_px: String,
    /// Quantity at the best ask.
    #[serde(rename = "askSz")]
    pub ask_sz: String,
    /// Best bid price.
    #[serde(rename = "bidPx")]
    pub bid_px: String,
    /// Quantity at the best bid.
    #[serde(rename = "bidSz")]
    pub bid_sz: String,
    /// Last price minus the open price (signed decimal).
    pub change: String,
    /// `change` in percent of the open price.
    #[serde(rename = "changePct")]
    pub change_pct: f64,
    /// End of the window (Unix ms).
    #[serde(rename = "closeTime")]
    pub close_time: u64,
    /// Trades in 24 h.
    pub count: u64,
    /// Highest price in 24 h.
    #[serde(rename = "highPx")]
    pub high_px: String,
    /// Price of the newest trade.
    #[serde(rename = "lastPx")]
    pub last_px: String,
    /// Quantity of the newest trade.
    #[serde(rename = "lastSz")]
    pub last_sz: String,
    /// Lowest price in 24 h.
    #[serde(rename = "lowPx")]
    pub low_px: String,
    /// First price in 24 h.
    #[serde(rename = "openPx")]
    pub open_px: String,
    /// Start of the window (Unix ms).
    #[serde(rename = "openTime")]
    pub open_time: u64,
    /// Quote volume in 24 h.
    #[serde(rename = "quoteVolume")]
    pub quote_volume: String,
    /// Market name.
    pub symbol: String,
    /// Market id.
    #[serde(rename = "symbolID")]
    pub symbol_id: u32,
    /// Base volume in 24 h.
    pub volume: String,
    /// Volume-weighted average price in 24 h ("0" without trades).
    pub vwap: String,
}

/// Best bid and ask of a market (`GET /markets/bookTickers`); "0" on an empty side.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct BookTicker {
    /// Best ask price.
    #[serde(rename = "askPx")]
    pub ask_px: String,
    /// Quantity at the best ask.
    #[serde(rename = "askSz")]
    pub ask_sz: String,
    /// Best bid price.
    #[serde(rename = "bidPx")]
    pub bid_px: String,
    /// Quantity at the best bid.
    #[serde(rename = "bidSz")]
    pub bid_sz: String,
    /// Market name.
    pub symbol: String,
    /// Market id.
    #[serde(rename = "symbolID")]
    pub symbol_id: u32,
}

/// One price level: `[price, quantity]` (decimal strings).
pub type Level = (String, String);

/// The order book of a market (`GET /markets/{symbol}/orderbook`), best levels first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct OrderBook {
    /// Asks, lowest first: `[price, quantity]`.
    #[schema(value_type = Vec<Vec<String>>)]
    pub asks: Vec<Level>,
    /// Bids, highest first: `[price, quantity]`.
    #[schema(value_type = Vec<Vec<String>>)]
    pub bids: Vec<Level>,
    /// The exchange's log position of this state.
    #[serde(rename = "blockHeight")]
    pub block_height: u64,
    /// Time of the last applied change (Unix ms).
    #[serde(rename = "blockTime")]
    pub block_time: u64,
    /// Market name.
    pub symbol: String,
    /// Market id.
    #[serde(rename = "symbolID")]
    pub symbol_id: u32,
    /// Increases with every change of the exchange (the log position).
    #[serde(rename = "updateID")]
    pub update_id: u64,
}

/// A trade of a market (`GET /markets/{symbol}/trades`, WebSocket `trade`), the vendor's short keys.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PublicTrade {
    /// Event time (Unix ms).
    #[serde(rename = "E")]
    pub event_time: u64,
    /// The taker's side.
    #[serde(rename = "S")]
    pub side: Side,
    /// Trade time (Unix ms).
    #[serde(rename = "T")]
    pub time: u64,
    /// Price.
    #[serde(rename = "p")]
    pub price: String,
    /// Base quantity.
    #[serde(rename = "q")]
    pub quantity: String,
    /// Market name.
    #[serde(rename = "s")]
    pub symbol: String,
    /// Trade id (engine-wide, from 1).
    #[serde(rename = "t")]
    pub trade_id: u64,
}

/// A candle (`GET /markets/{symbol}/klines`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Kline {
    /// Close time (Unix ms, the last ms of the interval).
    #[serde(rename = "T")]
    pub close_time: u64,
    /// Close price.
    #[serde(rename = "c")]
    pub close: String,
    /// High price.
    #[serde(rename = "h")]
    pub high: String,
    /// Low price.
    #[serde(rename = "l")]
    pub low: String,
    /// Number of trades.
    #[serde(rename = "n")]
    pub trades: u64,
    /// Open price.
    #[serde(rename = "o")]
    pub open: String,
    /// Quote volume.
    #[serde(rename = "q")]
    pub quote_volume: String,
    /// Open time (Unix ms).
    #[serde(rename = "t")]
    pub open_time: u64,
    /// Base volume.
    #[serde(rename = "v")]
    pub volume: String,
}

// ---------------------------------------------------------------------------------------------------------------
// Accounts

/// One coin of an account: `id`, `coin`, `total`, `locked`, with `coinID` and `available` as extras.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Balance {
    /// Free to trade or transfer.
    pub available: String,
    /// Coin symbol.
    pub coin: String,
    /// Coin id.
    #[serde(rename = "coinID")]
    pub coin_id: u32,
    /// Coin id.
    pub id: u32,
    /// Held by open orders.
    pub locked: String,
    /// Available plus locked.
    pub total: String,
}

/// An account's balances (`GET /accounts/{address}/balances`): `{blockTime, blockHeight, balances}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Balances {
    /// Account id.
    #[serde(rename = "accountID")]
    pub account_id: u64,
    /// One per listed coin.
    pub balances: Vec<Balance>,
    /// The exchange's log position of this state.
    #[serde(rename = "blockHeight")]
    pub block_height: u64,
    /// Time of the last applied change (Unix ms).
    #[serde(rename = "blockTime")]
    pub block_time: u64,
}

/// An account's open orders (`GET /accounts/{address}/orders`): `{blockTime, blockHeight, orders}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct OpenOrders {
    /// The exchange's log position of this state.
    #[serde(rename = "blockHeight")]
    pub block_height: u64,
    /// Time of the last applied change (Unix ms).
    #[serde(rename = "blockTime")]
    pub block_time: u64,
    /// Resting orders.
    pub orders: Vec<Order>,
}

/// One balance in short keys (`B` of the account state and of `accountUpdate`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ShortBalance {
    /// Coin symbol.
    pub a: String,
    /// Coin id.
    pub i: u32,
    /// Locked.
    pub l: String,
    /// Total.
    pub t: String,
}

/// One open order in short keys (`O` of the account state).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ShortOrder {
    /// Quote amount of a market buy by funds.
    #[serde(rename = "F", default, skip_serializing_if = "Option::is_none")]
    pub funds: Option<String>,
    /// Margin frozen ("0" on spot).
    #[serde(rename = "M")]
    pub margin_frozen: String,
    /// Side.
    #[serde(rename = "S")]
    pub side: Side,
    /// Status.
    #[serde(rename = "X")]
    pub status: OrderStatus,
    /// Client order id.
    #[serde(rename = "c")]
    pub cl_ord_id: String,
    /// Created (Unix ms).
    pub ct: u64,
    /// Time in force.
    #[serde(rename = "f")]
    pub time_in_force: TimeInForce,
    /// Order id.
    #[serde(rename = "i")]
    pub order_id: u64,
    /// Type.
    #[serde(rename = "o")]
    pub order_type: OrderType,
    /// Limit price ("0" for market orders).
    #[serde(rename = "p")]
    pub price: String,
    /// Quantity ordered ("0" for a market buy by funds).
    #[serde(rename = "q")]
    pub quantity: String,
    /// Market name.
    #[serde(rename = "s")]
    pub symbol: String,
    /// Updated (Unix ms).
    pub ut: u64,
    /// Quote value filled.
    #[serde(rename = "v")]
    pub executed_value: String,
    /// Base quantity filled.
    #[serde(rename = "z")]
    pub executed_qty: String,
}

/// An account (`GET /accounts/{address}/state`, WebSocket `accountState`): the vendor's `user`, `aid`, `uid`, `B`,
/// `O`, `TO`, with Sova's earlier fields as extras.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct AccountState {
    /// Balances, short keys.
    #[serde(rename = "B")]
    pub short_balances: Vec<ShortBalance>,
    /// Open orders, short keys.
    #[serde(rename = "O")]
    pub short_orders: Vec<ShortOrder>,
    /// Running TWAP orders, short keys.
    #[serde(rename = "TO")]
    pub twaps: Vec<WsTwapOrder>,
    /// The master wallet.
    pub address: String,
    /// The account id.
    pub aid: u64,
    /// One per listed coin.
    pub balances: Vec<Balance>,
    /// Whether it is a sub-account.
    #[serde(rename = "isSubAccount")]
    pub is_sub_account: bool,
    /// The master account id (its own id for a master).
    #[serde(rename = "masterAccountID")]
    pub master_account_id: u64,
    /// Orders resting on the books.
    #[serde(rename = "openOrders")]
    pub open_orders: u64,
    /// The dead-man switch deadline (Unix ms), if set.
    #[serde(rename = "scheduledCancel")]
    pub scheduled_cancel: Option<u64>,
    /// The master's sub-accounts, by id.
    #[serde(rename = "subAccounts")]
    pub sub_accounts: Vec<u64>,
    /// The user id (the master account id).
    pub uid: u64,
    /// The master wallet.
    pub user: String,
}

/// An order (`GET /accounts/{address}/orders` items, and `/orders/history`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Order {
    /// Account id.
    #[serde(rename = "accountID")]
    pub account_id: u64,
    /// Client order id.
    #[serde(rename = "clOrdID")]
    pub cl_ord_id: Option<String>,
    /// Unix ms.
    #[serde(rename = "createdAt")]
    pub created_at: u64,
    /// Base quantity filled.
    #[serde(rename = "executedQty")]
    pub executed_qty: String,
    /// Quote value filled.
    #[serde(rename = "executedValue")]
    pub executed_value: String,
    /// Quote amount of a market buy by funds.
    pub funds: Option<String>,
    /// Margin frozen ("0" on spot).
    #[serde(rename = "marginFrozen")]
    pub margin_frozen: String,
    /// Order id (engine-wide, from 1).
    #[serde(rename = "orderID")]
    pub order_id: u64,
    /// Base quantity ordered (null for a market buy by funds).
    #[serde(rename = "origQty")]
    pub orig_qty: Option<String>,
    /// Limit price (null for market orders).
    pub price: Option<String>,
    /// Base quantity ordered (Sova's earlier name of `origQty`).
    pub quantity: Option<String>,
    /// Side.
    pub side: Side,
    /// Status.
    pub status: OrderStatus,
    /// Market name.
    pub symbol: String,
    /// Market id.
    #[serde(rename = "symbolID")]
    pub symbol_id: u32,
    /// Time in force.
    #[serde(rename = "timeInForce")]
    pub time_in_force: TimeInForce,
    /// Type.
    #[serde(rename = "type")]
    pub order_type: OrderType,
    /// Unix ms (the close time for a closed order).
    #[serde(rename = "updatedAt")]
    pub updated_at: u64,
}

/// A trade as one account sees it (`GET /accounts/{address}/trades`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct UserTrade {
    /// Account id.
    #[serde(rename = "accountID")]
    pub account_id: u64,
    /// The account's client order id ("" when the order had none).
    #[serde(rename = "clOrdID")]
    pub cl_ord_id: String,
    /// Fee paid (in the coin received).
    pub fee: String,
    /// Coin of the fee.
    #[serde(rename = "feeCoin")]
    pub fee_coin: Option<String>,
    /// Whether the account's order was resting.
    #[serde(rename = "isMaker")]
    pub is_maker: bool,
    /// The account's order.
    #[serde(rename = "orderID")]
    pub order_id: u64,
    /// Price.
    pub price: String,
    /// Base quantity.
    pub quantity: String,
    /// Quote amount.
    #[serde(rename = "quoteQty")]
    pub quote_qty: String,
    /// The account's side.
    pub side: Side,
    /// Market name.
    pub symbol: String,
    /// Market id.
    #[serde(rename = "symbolID")]
    pub symbol_id: u32,
    /// Unix ms.
    pub time: u64,
    /// Trade id.
    #[serde(rename = "tradeID")]
    pub trade_id: u64,
}

/// The account's fee rates (`GET /accounts/{address}/fee-rate`, `GET /api/v1/user/{address}/fee-rate`): one object,
/// for `symbol` when given (else the first market).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct FeeRate {
    /// Account id.
    #[serde(rename = "accountID")]
    pub account_id: u64,
    /// Fee tier (always 0).
    #[serde(rename = "feeTier")]
    pub fee_tier: u32,
    /// Maker fee rate (decimal).
    #[serde(rename = "makerFeeRate")]
    pub maker_fee_rate: String,
    /// Maker rebate tier (always 0).
    #[serde(rename = "makerRebateTier")]
    pub maker_rebate_tier: u32,
    /// Staking tier (always 0).
    #[serde(rename = "stakingTier")]
    pub staking_tier: u32,
    /// Market name.
    pub symbol: String,
    /// Market id.
    #[serde(rename = "symbolID")]
    pub symbol_id: u32,
    /// Taker fee rate (decimal).
    #[serde(rename = "takerFeeRate")]
    pub taker_fee_rate: String,
}

/// An API key (agent wallet) of a master (`GET .../api-keys`, the answer of `addAPIKey`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ApiKey {
    /// The account id it was added with.
    #[serde(rename = "accountID")]
    pub account_id: u64,
    /// Unix ms.
    #[serde(rename = "createdAt")]
    pub created_at: i64,
    /// Unix ms; 0 never expires.
    #[serde(rename = "expiresAt")]
    pub expires_at: u64,
    /// Name.
    pub name: String,
    /// The key's address.
    #[serde(rename = "publicKey")]
    pub public_key: String,
    /// Key type as a name (`PRIMARY`: an EVM key, type 1 in signed requests).
    #[serde(rename = "type")]
    pub key_type: String,
}

/// A master's API keys per engine (`GET /api/v1/user/{address}/api-keys`); keys are shared by both engines.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ApiKeysByEngine {
    /// Keys usable on perps.
    pub perps: Vec<ApiKey>,
    /// Keys usable on spot.
    pub spot: Vec<ApiKey>,
}

/// Whether a wallet is known (`GET /api/v1/user/{address}/status`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct UserStatus {
    /// `Active` or `UserNotFound`.
    pub status: String,
    /// The user id (the master account id; 0 when not found).
    #[serde(rename = "userID")]
    pub user_id: u64,
}

/// A sub-account (`GET /api/v1/user/{address}/subaccounts`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Subaccount {
    /// The wallet that signs for it (its master).
    #[serde(rename = "evmAddress")]
    pub evm_address: String,
    /// Account id.
    pub id: u64,
}

/// A user's accounts (`GET /api/v1/user/{address}/subaccounts`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct UserSubaccounts {
    /// The master account id.
    #[serde(rename = "primaryAccountID")]
    pub primary_account_id: u64,
    /// The sub-accounts, by id.
    pub subaccounts: Vec<Subaccount>,
    /// The user id (the master account id).
    #[serde(rename = "userID")]
    pub user_id: u64,
}

// ---------------------------------------------------------------------------------------------------------------
// Signed writes

/// The answer of `newOrder`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct OrderAck {
    /// Client order id.
    #[serde(rename = "clOrdID")]
    pub cl_ord_id: String,
    /// Always 0 (the vendor's TypeScript SDK requires it).
    pub code: u32,
    /// Order id.
    #[serde(rename = "orderID", default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<u64>,
    /// Status after matching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<OrderStatus>,
    /// Market id.
    #[serde(rename = "symbolID")]
    pub symbol_id: u32,
}

/// One order's result: the answer of `cancelOrder`, and each accepted item of `batchNewOrder`,
/// `batchCancelOrder` and `replaceOrder`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct OrderReceipt {
    /// The item's client order id.
    #[serde(rename = "clOrdID")]
    pub cl_ord_id: String,
    /// Always 0 (the vendor's TypeScript SDK requires it).
    pub code: u32,
    /// Order id (the new one for a replace).
    #[serde(rename = "orderID", default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<u64>,
    /// Status after the action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<OrderStatus>,
}

/// A refused item of a batch.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ReceiptError {
    /// The item's client order id.
    #[serde(rename = "clOrdID")]
    pub cl_ord_id: String,
    /// The reason's number.
    pub code: u32,
    /// What went wrong.
    pub error: String,
    /// What went wrong (the name the Go and Python SDKs read).
    pub message: String,
    /// The stable reason.
    pub reason: Reason,
    /// Always `REJECTED`.
    pub status: OrderStatus,
}

/// One item of a batch answer, in the order of the request's items.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(untagged)]
pub enum BatchItem {
    /// Applied.
    Ok(OrderReceipt),
    /// Refused (the other items are unaffected).
    Err(ReceiptError),
}

/// The answer of `scheduleCancel`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ScheduleCancelAck {
    /// Account id.
    #[serde(rename = "accountID")]
    pub account_id: u64,
    /// The deadline (Unix ms); null when cleared.
    #[serde(rename = "scheduledTimestamp")]
    pub scheduled_timestamp: Option<u64>,
}

/// The answer of `transferAsset`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct TransferAck {
    /// From.
    #[serde(rename = "fromAccountID")]
    pub from_account_id: u64,
    /// The transfer id, as sent.
    pub id: u64,
    /// To.
    #[serde(rename = "toAccountID")]
    pub to_account_id: u64,
}

/// The answer of `revokeAPIKey`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ApiKeyRevoked {
    /// Account id.
    #[serde(rename = "accountID")]
    pub account_id: u64,
    /// The revoked key's name.
    pub name: String,
}

/// The answer of `POST /api/v1/sandbox/faucet`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct FaucetAck {
    /// The credited account.
    #[serde(rename = "accountID")]
    pub account_id: u64,
}

/// The answer of a signed write (or of the faucet), by action.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(untagged)]
pub enum WriteReply {
    /// `newOrder`.
    Order(OrderAck),
    /// `cancelOrder`.
    Receipt(OrderReceipt),
    /// `batchNewOrder`, `batchCancelOrder`, `replaceOrder`.
    Batch(Vec<BatchItem>),
    /// `scheduleCancel`.
    ScheduleCancel(ScheduleCancelAck),
    /// `transferAsset`.
    Transfer(TransferAck),
    /// `addAPIKey`.
    ApiKey(ApiKey),
    /// `revokeAPIKey`.
    ApiKeyRevoked(ApiKeyRevoked),
    /// The sandbox faucet.
    Faucet(FaucetAck),
    /// `newTwapOrder`, `cancelTwapOrder`.
    Twap(TwapReceipt),
    /// Perps `updateLeverage`.
    Leverage(LeverageAck),
    /// Perps `modifyOrder` and `updateMargin`: `{code: 0}`.
    Code(CodeAck),
}

/// The answer of perps `updateLeverage`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct LeverageAck {
    /// The market's name (`BTC-USD`).
    pub symbol: String,
    /// The leverage now set.
    pub leverage: u32,
    /// `ISOLATED` or `CROSS`.
    #[serde(rename = "marginMode")]
    pub margin_mode: String,
}

/// The answer of perps `modifyOrder` and `updateMargin`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct CodeAck {
    /// 0: applied.
    pub code: u32,
}

// ---------------------------------------------------------------------------------------------------------------
// TWAP orders

/// Where a TWAP order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TwapStatus {
    /// Slices still to come.
    Active,
    /// Every slice was sent (the quantity may not all have filled).
    Finished,
    /// Canceled by its owner before its last slice.
    Canceled,
}

/// The answer of `newTwapOrder` and `cancelTwapOrder`: the TWAP's id (`orderID`, what the TypeScript SDK reads).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct TwapReceipt {
    /// 0: applied.
    pub code: u32,
    /// The TWAP order's id (its own sequence, not an engine order id).
    #[serde(rename = "orderID")]
    pub order_id: u64,
}

/// A TWAP order (`GET /accounts/{address}/twaps`): the vendor's `TwapOrder` (15 fields), with `status`,
/// `updatedAt` and the slicing as extras.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct TwapOrder {
    /// The account.
    #[serde(rename = "accountID")]
    pub account_id: u64,
    /// Slices still to come.
    pub active: bool,
    /// Placed (Unix ms).
    #[serde(rename = "createdAt")]
    pub created_at: u64,
    /// Base filled by its slices.
    #[serde(rename = "executedQty")]
    pub executed_qty: String,
    /// Quote filled by its slices.
    #[serde(rename = "executedValue")]
    pub executed_value: String,
    /// Duration.
    pub minutes: u64,
    /// When the next slice is due (Unix ms; when it ended once it is not active).
    #[serde(rename = "nextActiveAt")]
    pub next_active_at: u64,
    /// The TWAP's id.
    #[serde(rename = "orderID")]
    pub order_id: u64,
    /// Whole size (base).
    pub quantity: String,
    /// Slice sizes vary (deterministically) around the even split.
    pub randomize: bool,
    /// Always false on spot.
    #[serde(rename = "reduceOnly")]
    pub reduce_only: bool,
    /// Side.
    pub side: Side,
    /// Milliseconds between slices.
    #[serde(rename = "sliceIntervalMs")]
    pub slice_interval_ms: u64,
    /// Slices sent so far.
    #[serde(rename = "slicesDone")]
    pub slices_done: u32,
    /// Slices in all.
    #[serde(rename = "slicesTotal")]
    pub slices_total: u32,
    /// Where it stands.
    pub status: TwapStatus,
    /// Market name.
    pub symbol: String,
    /// Market id.
    #[serde(rename = "symbolID")]
    pub symbol_id: u32,
    /// Last change (Unix ms).
    #[serde(rename = "updatedAt")]
    pub updated_at: u64,
    /// The master account id.
    #[serde(rename = "userID")]
    pub user_id: u64,
}

/// An account's TWAP orders (`GET /accounts/{address}/twaps`): `{blockTime, blockHeight, twaps}`, running ones
/// first, then the most recent ended ones.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct AccountTwaps {
    /// The exchange's log position of this state.
    #[serde(rename = "blockHeight")]
    pub block_height: u64,
    /// Time of the last applied change (Unix ms).
    #[serde(rename = "blockTime")]
    pub block_time: u64,
    /// The TWAP orders.
    pub twaps: Vec<TwapOrder>,
}

/// A TWAP order in short keys (`TO` of the account state and of `accountUpdate`; the vendor's `WsTwapOrder`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct WsTwapOrder {
    /// Reduce-only.
    #[serde(rename = "R")]
    pub reduce_only: bool,
    /// Side.
    #[serde(rename = "S")]
    pub side: Side,
    /// Active.
    pub a: bool,
    /// Created (Unix ms).
    pub ct: u64,
    /// The TWAP's id.
    pub i: u64,
    /// Minutes.
    pub m: u64,
    /// Next slice due (Unix ms).
    pub nt: u64,
    /// Whole size.
    pub q: String,
    /// Randomize.
    pub r: bool,
    /// Market name.
    pub s: String,
    /// Quote filled.
    pub v: String,
    /// Base filled.
    pub z: String,
}

// ---------------------------------------------------------------------------------------------------------------
// Sandbox

/// The answer of `POST /api/v1/sandbox/sub-accounts`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct SubAccountCreated {
    /// The new sub-account.
    #[serde(rename = "accountID")]
    pub account_id: i64,
    /// Label, as sent.
    pub label: Option<String>,
    /// Its master account.
    #[serde(rename = "masterAccountID")]
    pub master_account_id: i64,
}

/// The answer of `/api/v1/sandbox/recover/...`: what the real route would have seen.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RecoveredSignature {
    /// The action the route and body name.
    pub action: String,
    /// `spot`, `futures` or `universal`.
    pub domain: String,
    /// `X-API-Nonce`.
    pub nonce: u64,
    /// The EIP-712 payload hash (null for `addAPIKey`).
    #[serde(rename = "payloadHash")]
    pub payload_hash: Option<String>,
    /// The recovered signer.
    pub signer: String,
}

// ---------------------------------------------------------------------------------------------------------------
// WebSocket `/ws/spot`

/// A channel of `/ws/spot`.
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
    strum::EnumIter,
)]
#[serde(rename_all = "camelCase")]
#[strum(serialize_all = "camelCase")]
pub enum Channel {
    /// The book of a market, top 50 levels ([`WsBook`]).
    L2Book,
    /// The book of a market as `l4Book` clients read it: the [`WsBook`] levels (Sova aggregates by price), updates
    /// with `U`.
    L4Book,
    /// Trades of a market ([`PublicTrade`], always a list).
    Trade,
    /// 24 h statistics of a market ([`WsTicker`]).
    Ticker,
    /// [`Channel::Ticker`] of every market.
    AllTicker,
    /// 24 h statistics, the short form (the [`WsTicker`] record, whose keys include the mini ticker's).
    MiniTicker,
    /// [`Channel::MiniTicker`] of every market.
    AllMiniTicker,
    /// Best bid and ask of a market ([`WsBookTicker`]).
    BookTicker,
    /// [`Channel::BookTicker`] of every market.
    AllBookTicker,
    /// Candles of a market at `interval` ([`WsCandle`]).
    Candle,
    /// An account's orders ([`WsOrderUpdate`], always a list).
    AccountOrderUpdate,
    /// An account's trades ([`WsAccountTrade`], always a list).
    AccountTrade,
    /// An account's balances ([`WsAccountUpdate`]).
    AccountUpdate,
    /// An account's whole state ([`AccountState`]; on `/ws/perps` the perps state).
    AccountState,
    /// Perps: mark and index prices, funding rate, next funding time, open interest of a market
    /// (`{E, s, p, i, r, T, oi}`).
    MarkPrice,
    /// [`Channel::MarkPrice`] of every perps market.
    AllMarkPrice,
    /// Perps: an account's events (a liquidation: `{type:"liquidation", E, lid, aid, av, mm, B, P}`).
    AccountEvent,
}

impl Channel {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Every channel, market channels first.
    pub fn all() -> impl Iterator<Item = Channel> {
        <Channel as strum::IntoEnumIterator>::iter()
    }

    /// Whether it is a market's channel (keyed by market) rather than an account's (keyed by `user`).
    pub fn is_market(self) -> bool {
        !matches!(
            self,
            Channel::AccountOrderUpdate
                | Channel::AccountTrade
                | Channel::AccountUpdate
                | Channel::AccountState
                | Channel::AccountEvent
        )
    }

    /// Whether only `/ws/perps` serves it.
    pub fn is_perps_only(self) -> bool {
        matches!(self, Channel::MarkPrice | Channel::AllMarkPrice | Channel::AccountEvent)
    }

    /// Whether it covers every market (needs no `symbol`).
    pub fn is_all_markets(self) -> bool {
        matches!(self, Channel::AllTicker | Channel::AllMiniTicker | Channel::AllBookTicker | Channel::AllMarkPrice)
    }

    /// The feed the sequencer publishes this channel's changes on.
    pub fn feed(self) -> Channel {
        match self {
            Channel::AllTicker | Channel::MiniTicker | Channel::AllMiniTicker => Channel::Ticker,
            Channel::AllBookTicker => Channel::BookTicker,
            Channel::AllMarkPrice => Channel::MarkPrice,
            Channel::L4Book => Channel::L2Book,
            Channel::AccountState => Channel::AccountUpdate,
            c => c,
        }
    }
}

/// The `params` of a subscription, echoed as the acknowledgement's `result`. Unknown parameters are ignored.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct WsParams {
    /// Account channels: a sub-account of `user` (the master account by default).
    #[serde(rename = "accountID", default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<u64>,
    /// Channel name.
    pub channel: String,
    /// `candle`: 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Book depth level (accepted; Sova pushes the top 50 levels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub level: Option<serde_json::Value>,
    /// Push interval (accepted; Sova pushes after every committed change).
    #[serde(rename = "pushInterval", default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub push_interval: Option<serde_json::Value>,
    /// Market channels: one market.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// Market channels: several markets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbols: Option<Vec<String>>,
    /// Book aggregation (accepted; Sova pushes levels at the market's tick).
    #[serde(rename = "tickSize", default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub tick_size: Option<serde_json::Value>,
    /// Account channels: the master address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// A client message: `{"op":"subscribe"|"unsubscribe","id":n,"params":..}` or `{"op":"ping"}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct WsRequest {
    /// Echoed in the acknowledgement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub id: Option<serde_json::Value>,
    /// `subscribe`, `unsubscribe` or `ping`.
    pub op: String,
    /// For (un)subscribe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<WsParams>,
}

/// A server message about the connection or an `op`: `{"op":"pong"}`, acknowledgements
/// `{"id":n,"op":..,"result":..,"success":true}`, refusals `{"error":..,"id":n,"op":..,"success":false}`,
/// unreadable messages `{"code":..,"error":..,"op":"error"}`, `{"op":"lagged","skipped":n}`,
/// `{"op":"close","reason":..}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct WsReply {
    /// The stable reason of an `error` op.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Why the op was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The request's `id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub id: Option<serde_json::Value>,
    /// The op answered (or `pong`, `lagged`, `close`, `error`).
    pub op: String,
    /// Why the server closes the connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The subscription's params.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<WsParams>,
    /// Pushes skipped for a slow client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<u64>,
    /// Whether the op succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
}

impl WsReply {
    /// `{"op":op}`.
    pub fn op(op: impl Into<String>) -> WsReply {
        WsReply { op: op.into(), ..WsReply::default() }
    }

    /// `{"id":id,"op":op,"result":params,"success":true}`.
    pub fn accepted(op: impl Into<String>, id: Option<serde_json::Value>, params: WsParams) -> WsReply {
        WsReply { id, result: Some(params), success: Some(true), ..WsReply::op(op) }
    }

    /// `{"error":..,"id":id,"op":op,"success":false}`.
    pub fn refused(op: impl Into<String>, id: Option<serde_json::Value>, error: impl Into<String>) -> WsReply {
        WsReply { error: Some(error.into()), id, success: Some(false), ..WsReply::op(op) }
    }

    /// `{"code":code,"error":..,"op":"error"}`.
    pub fn error(code: impl Into<String>, error: impl Into<String>) -> WsReply {
        WsReply { code: Some(code.into()), error: Some(error.into()), ..WsReply::op("error") }
    }
}

/// Whether a push is a channel's whole state or a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum PushType {
    /// The state when subscribing (and after a lag).
    Snapshot,
    /// After a committed change.
    Update,
}

/// `l2Book`: `{E, s, u, b, a}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct WsBook {
    /// Event time (Unix ms).
    #[serde(rename = "E")]
    pub event_time: u64,
    /// `l4Book` updates: the first update id the push covers (the same as `u`: one push per change).
    #[serde(rename = "U", default, skip_serializing_if = "Option::is_none")]
    pub first_update_id: Option<u64>,
    /// Asks, lowest first.
    #[schema(value_type = Vec<Vec<String>>)]
    pub a: Vec<Level>,
    /// Bids, highest first.
    #[schema(value_type = Vec<Vec<String>>)]
    pub b: Vec<Level>,
    /// Market name.
    pub s: String,
    /// Update id (the exchange's log position).
    pub u: u64,
}

/// `ticker`, `allTicker`, `miniTicker`, `allMiniTicker`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct WsTicker {
    /// Quantity at the best ask.
    #[serde(rename = "A")]
    pub ask_qty: String,
    /// Quantity at the best bid.
    #[serde(rename = "B")]
    pub bid_qty: String,
    /// Window end (Unix ms).
    #[serde(rename = "C")]
    pub close_time: u64,
    /// Event time (Unix ms).
    #[serde(rename = "E")]
    pub event_time: u64,
    /// Window start (Unix ms).
    #[serde(rename = "O")]
    pub open_time: u64,
    /// Change in percent.
    #[serde(rename = "P")]
    pub change_pct: f64,
    /// Quantity of the newest trade.
    #[serde(rename = "Q")]
    pub last_qty: String,
    /// Best ask price.
    pub a: String,
    /// Best bid price.
    pub b: String,
    /// Last price.
    pub c: String,
    /// High.
    pub h: String,
    /// Low.
    pub l: String,
    /// Open.
    pub o: String,
    /// Change (last minus open).
    pub p: String,
    /// Quote volume.
    pub q: String,
    /// Market name.
    pub s: String,
    /// Base volume.
    pub v: String,
    /// Volume-weighted average price.
    pub w: String,
}

/// `bookTicker`, `allBookTicker`: `{E, s, u, a, A, b, B}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct WsBookTicker {
    /// Quantity at the best ask.
    #[serde(rename = "A")]
    pub ask_qty: String,
    /// Quantity at the best bid.
    #[serde(rename = "B")]
    pub bid_qty: String,
    /// Event time (Unix ms).
    #[serde(rename = "E")]
    pub event_time: u64,
    /// Best ask price.
    pub a: String,
    /// Best bid price.
    pub b: String,
    /// Market name.
    pub s: String,
    /// Update id (the exchange's log position).
    pub u: u64,
}

/// `candle`: `{t, T, s, i, o, h, l, c, v, q, n, x}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct WsCandle {
    /// Close time (Unix ms).
    #[serde(rename = "T")]
    pub close_time: u64,
    /// Close.
    pub c: String,
    /// High.
    pub h: String,
    /// Interval.
    pub i: String,
    /// Low.
    pub l: String,
    /// Trades.
    pub n: u64,
    /// Open.
    pub o: String,
    /// Quote volume.
    pub q: String,
    /// Market name.
    pub s: String,
    /// Open time (Unix ms).
    pub t: u64,
    /// Base volume.
    pub v: String,
    /// Whether the candle is closed.
    pub x: bool,
}

/// `accountOrderUpdate`: one order's change, short keys.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct WsOrderUpdate {
    /// Event time (Unix ms).
    #[serde(rename = "E")]
    pub event_time: u64,
    /// Quote amount of a market buy by funds.
    #[serde(rename = "F", default, skip_serializing_if = "Option::is_none")]
    pub funds: Option<String>,
    /// Margin frozen ("0" on spot).
    #[serde(rename = "M")]
    pub margin_frozen: String,
    /// Side.
    #[serde(rename = "S")]
    pub side: Side,
    /// Transaction time (Unix ms).
    #[serde(rename = "T")]
    pub time: u64,
    /// Status.
    #[serde(rename = "X")]
    pub status: OrderStatus,
    /// Account id.
    pub aid: u64,
    /// Client order id.
    pub c: String,
    /// Time in force.
    pub f: TimeInForce,
    /// Order id.
    pub i: u64,
    /// Type.
    pub o: OrderType,
    /// Limit price ("0" for market orders).
    pub p: String,
    /// Quantity ordered ("0" for a market buy by funds).
    pub q: String,
    /// Market name.
    pub s: String,
    /// Quote value filled.
    pub v: String,
    /// Execution type: NEW, PARTIALLY_FILLED, FILLED, CANCELED, REJECTED, EXPIRED.
    pub x: OrderStatus,
    /// Base quantity filled.
    pub z: String,
}

/// `accountTrade`: one fill of the account, short keys.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct WsAccountTrade {
    /// Event time (Unix ms).
    #[serde(rename = "E")]
    pub event_time: u64,
    /// The account's side.
    #[serde(rename = "S")]
    pub side: Side,
    /// Trade time (Unix ms).
    #[serde(rename = "T")]
    pub time: u64,
    /// Account id.
    pub aid: u64,
    /// Client order id ("" if none).
    pub c: String,
    /// Fee paid.
    pub f: String,
    /// The account's order id.
    pub i: u64,
    /// Whether the account was the maker.
    pub m: bool,
    /// Price.
    pub p: String,
    /// Base quantity.
    pub q: String,
    /// Market name.
    pub s: String,
    /// Trade id.
    pub t: u64,
}

/// `accountUpdate`: `{E, T, h, B:[{i,a,t,l}]}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct WsAccountUpdate {
    /// Balances, one per listed coin.
    #[serde(rename = "B")]
    pub balances: Vec<ShortBalance>,
    /// Event time (Unix ms).
    #[serde(rename = "E")]
    pub event_time: u64,
    /// Transaction time (Unix ms).
    #[serde(rename = "T")]
    pub time: u64,
    /// Running TWAP orders, short keys.
    #[serde(rename = "TO")]
    pub twaps: Vec<WsTwapOrder>,
    /// Account id.
    pub aid: u64,
    /// The exchange's log position.
    pub h: u64,
}

/// The `data` of a push, by channel.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ChannelData {
    /// `l2Book` (null for an unknown market).
    Book(Option<WsBook>),
    /// `trade`: snapshot newest first, or the trades of one change.
    Trades(Vec<PublicTrade>),
    /// `ticker` family (null for an unknown market).
    Ticker(Option<WsTicker>),
    /// `bookTicker` family (null for an unknown market).
    BookTicker(Option<WsBookTicker>),
    /// `candle` (null before a trade).
    Candle(Option<WsCandle>),
    /// `accountOrderUpdate`: snapshot the open orders, update the orders of one change.
    Orders(Vec<WsOrderUpdate>),
    /// `accountTrade`: snapshot newest first, update the fills of one change.
    AccountTrades(Vec<WsAccountTrade>),
    /// `accountUpdate`.
    Balances(WsAccountUpdate),
    /// `accountState`.
    State(Box<AccountState>),
    /// Nothing (the state could not be read, or the feed only signals a change).
    None,
    /// A `/ws/perps` record (the perps read models are JSON values, `sova_exchange::read::perps`); last, so an
    /// untagged read tries the typed records first.
    Json(serde_json::Value),
}

impl ChannelData {
    /// The same data as an `l4Book` update (`U` set to `u`).
    pub fn as_l4_update(&self) -> ChannelData {
        let mut d = self.clone();
        if let ChannelData::Book(Some(b)) = &mut d {
            b.first_update_id = Some(b.u);
        }
        if let ChannelData::Json(serde_json::Value::Object(b)) = &mut d
            && let Some(u) = b.get("u").cloned()
        {
            b.insert("U".into(), u);
        }
        d
    }

    /// The same data with every market name `from` written `to` (a client that subscribed by another name of the
    /// market sees that name in `s`, which the vendor SDKs filter on).
    pub fn renamed(&self, from: &str, to: &str) -> ChannelData {
        let r = |s: &mut String| {
            if s == from {
                *s = to.to_string();
            }
        };
        let mut d = self.clone();
        match &mut d {
            ChannelData::Book(Some(b)) => r(&mut b.s),
            ChannelData::Trades(v) => v.iter_mut().for_each(|t| r(&mut t.symbol)),
            ChannelData::Ticker(Some(t)) => r(&mut t.s),
            ChannelData::BookTicker(Some(t)) => r(&mut t.s),
            ChannelData::Candle(Some(c)) => r(&mut c.s),
            ChannelData::Orders(v) => v.iter_mut().for_each(|o| r(&mut o.s)),
            ChannelData::AccountTrades(v) => v.iter_mut().for_each(|t| r(&mut t.s)),
            ChannelData::State(s) => s.short_orders.iter_mut().for_each(|o| r(&mut o.symbol)),
            ChannelData::Json(v) => rename_json(v, from, to),
            _ => {}
        }
        d
    }
}

/// Every market name (`s` and `symbol` keys) `from` in `v` written `to`.
fn rename_json(v: &mut serde_json::Value, from: &str, to: &str) {
    match v {
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| rename_json(x, from, to)),
        serde_json::Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                if (k == "s" || k == "symbol") && x.as_str() == Some(from) {
                    *x = serde_json::Value::String(to.to_string());
                } else if x.is_array() || x.is_object() {
                    rename_json(x, from, to);
                }
            }
        }
        _ => {}
    }
}

/// A push: `{"channel":..,"data":..,"type":"snapshot"|"update"}`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WsPush<'a> {
    /// The channel, as subscribed.
    pub channel: Channel,
    /// Its data.
    pub data: &'a ChannelData,
    /// Snapshot or update.
    #[serde(rename = "type")]
    pub kind: PushType,
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
        ("NOT_LEADER", 10014),
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
        ("INVALID_TWAP_DURATION", 30021),
        ("UNKNOWN_TWAP", 30022),
        ("TOO_MANY_TWAPS", 30023),
        ("QUOTE_NOT_FILLABLE", 30024),
        ("POSITION_SIDE_UNSUPPORTED", 31001),
        ("REDUCE_ONLY_WOULD_INCREASE", 31002),
        ("INSUFFICIENT_MARGIN", 31003),
        ("LEVERAGE_OUT_OF_RANGE", 31004),
        ("POSITION_OPEN", 31005),
        ("NOT_ISOLATED", 31006),
        ("INVALID_STOP", 31007),
        ("BRACKET_MALFORMED", 31008),
        ("ACCOUNT_LIQUIDATING", 31009),
    ];

    fn json<T: Serialize>(v: &T) -> String {
        serde_json::to_string(v).expect("serializes")
    }

    /// The bytes the vendor SDKs parse (issue 12): fields in byte order of their names, optional receipt fields
    /// absent rather than null (the Python SDK does `int(d.get("orderID", 0))`), `code` on every receipt.
    #[test]
    fn answers_keep_their_bytes() {
        let s = |v: &str| v.to_string();
        let order = Order {
            account_id: 7,
            cl_ord_id: Some(s("bid-1")),
            created_at: 1,
            executed_qty: s("0.2"),
            executed_value: s("10000"),
            funds: None,
            margin_frozen: s("0"),
            order_id: 3,
            orig_qty: Some(s("0.5")),
            price: Some(s("50000")),
            quantity: Some(s("0.5")),
            side: Side::Buy,
            status: OrderStatus::PartiallyFilled,
            symbol: s("BTC_USDC"),
            symbol_id: 1,
            time_in_force: TimeInForce::Gtc,
            order_type: OrderType::Limit,
            updated_at: 2,
        };
        let open = OpenOrders { block_height: 4, block_time: 3, orders: vec![order] };
        assert_eq!(
            json(&Envelope { code: 0, data: open, timestamp: 5 }),
            r#"{"code":0,"data":{"blockHeight":4,"blockTime":3,"orders":[{"accountID":7,"clOrdID":"bid-1","createdAt":1,"executedQty":"0.2","executedValue":"10000","funds":null,"marginFrozen":"0","orderID":3,"origQty":"0.5","price":"50000","quantity":"0.5","side":"BUY","status":"PARTIALLY_FILLED","symbol":"BTC_USDC","symbolID":1,"timeInForce":"GTC","type":"LIMIT","updatedAt":2}]},"timestamp":5}"#
        );
        let e = ErrorEnvelope { code: 22010, error: s("no"), reason: Reason::UnknownAccount, timestamp: 5 };
        assert_eq!(json(&e), r#"{"code":22010,"error":"no","reason":"UNKNOWN_ACCOUNT","timestamp":5}"#);
        let ack =
            OrderAck { cl_ord_id: s("a"), code: 0, order_id: Some(9), status: Some(OrderStatus::New), symbol_id: 1 };
        assert_eq!(
            json(&WriteReply::Order(ack)),
            r#"{"clOrdID":"a","code":0,"orderID":9,"status":"NEW","symbolID":1}"#
        );
        let items = WriteReply::Batch(vec![
            BatchItem::Ok(OrderReceipt { cl_ord_id: s("k1"), code: 0, order_id: None, status: None }),
            BatchItem::Err(ReceiptError {
                cl_ord_id: s("k2"),
                code: 30006,
                error: s("bad"),
                message: s("bad"),
                reason: Reason::InvalidPrice,
                status: OrderStatus::Rejected,
            }),
        ]);
        assert_eq!(
            json(&items),
            r#"[{"clOrdID":"k1","code":0},{"clOrdID":"k2","code":30006,"error":"bad","message":"bad","reason":"INVALID_PRICE","status":"REJECTED"}]"#
        );
        let book = WsBook {
            event_time: 1,
            first_update_id: None,
            a: vec![],
            b: vec![(s("100"), s("0.6"))],
            s: s("BTC_USDC"),
            u: 2,
        };
        assert_eq!(
            json(&ChannelData::Book(Some(book.clone()))),
            r#"{"E":1,"a":[],"b":[["100","0.6"]],"s":"BTC_USDC","u":2}"#
        );
        let renamed = ChannelData::Book(Some(book)).renamed("BTC_USDC", "BTC/USDC");
        assert!(json(&renamed).contains(r#""s":"BTC/USDC""#));
        let push = WsPush { channel: Channel::L2Book, data: &ChannelData::None, kind: PushType::Snapshot };
        assert_eq!(json(&push), r#"{"channel":"l2Book","data":null,"type":"snapshot"}"#);
        let p =
            WsParams { channel: s("accountUpdate"), user: Some(s("0xab")), account_id: Some(2), ..WsParams::default() };
        assert_eq!(
            json(&WsReply::accepted("subscribe", Some(serde_json::json!(7)), p)),
            r#"{"id":7,"op":"subscribe","result":{"accountID":2,"channel":"accountUpdate","user":"0xab"},"success":true}"#
        );
        assert_eq!(json(&WsReply::op("pong")), r#"{"op":"pong"}"#);
        assert_eq!(json(&WsReply::refused("x", None, "no")), r#"{"error":"no","op":"x","success":false}"#);
        assert_eq!(json(&WsReply::error("BAD_REQUEST", "no")), r#"{"code":"BAD_REQUEST","error":"no","op":"error"}"#);
        assert_eq!(json(&WsReply { skipped: Some(3), ..WsReply::op("lagged") }), r#"{"op":"lagged","skipped":3}"#);
        let names: Vec<&str> = Channel::all().map(Channel::as_str).collect();
        assert_eq!(
            names,
            [
                "l2Book",
                "l4Book",
                "trade",
                "ticker",
                "allTicker",
                "miniTicker",
                "allMiniTicker",
                "bookTicker",
                "allBookTicker",
                "candle",
                "accountOrderUpdate",
                "accountTrade",
                "accountUpdate",
                "accountState",
                "markPrice",
                "allMarkPrice",
                "accountEvent"
            ]
        );
        for c in Channel::all() {
            assert_eq!(json(&c), format!("\"{}\"", c.as_str()));
            assert_eq!(c.as_str().parse::<Channel>(), Ok(c));
        }
    }
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
