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

/// A market (`GET /markets/symbols`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Symbol {
    /// Base coin symbol.
    #[serde(rename = "baseCoin")]
    pub base_coin: String,
    /// Base coin id.
    #[serde(rename = "baseCoinID")]
    pub base_coin_id: u32,
    /// Quantity increment (decimal).
    #[serde(rename = "lotSize")]
    pub lot_size: String,
    /// Maker fee rate (decimal).
    #[serde(rename = "makerFee")]
    pub maker_fee: String,
    /// Smallest order value in quote coin (decimal).
    #[serde(rename = "minNotional")]
    pub min_notional: String,
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
    /// Trading status.
    pub status: SymbolStatus,
    /// Name, e.g. `BTC/USDC`.
    pub symbol: String,
    /// Market id.
    #[serde(rename = "symbolID")]
    pub symbol_id: u32,
    /// Taker fee rate (decimal).
    #[serde(rename = "takerFee")]
    pub taker_fee: String,
    /// Price increment (decimal).
    #[serde(rename = "tickSize")]
    pub tick_size: String,
}

/// A coin (`GET /markets/coins`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Coin {
    /// Symbol, e.g. `USDC`.
    pub coin: String,
    /// Coin id.
    #[serde(rename = "coinID")]
    pub coin_id: u32,
    /// Decimals the exchange keeps.
    pub decimals: u8,
    /// Name (the symbol).
    pub name: String,
}

/// 24 h statistics of a market (`GET /markets/tickers`, WebSocket `ticker`). Prices are null before a trade.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Ticker {
    /// Trades in 24 h.
    pub count: u64,
    /// Highest price in 24 h.
    #[serde(rename = "highPrice")]
    pub high_price: Option<String>,
    /// Price of the newest trade.
    #[serde(rename = "lastPrice")]
    pub last_price: Option<String>,
    /// Lowest price in 24 h.
    #[serde(rename = "lowPrice")]
    pub low_price: Option<String>,
    /// First price in 24 h.
    #[serde(rename = "openPrice")]
    pub open_price: Option<String>,
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
}

/// Best bid and ask of a market (`GET /markets/bookTickers`, WebSocket `bookTicker`); null on an empty side.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct BookTicker {
    /// Best ask price.
    #[serde(rename = "askPrice")]
    pub ask_price: Option<String>,
    /// Quantity at the best ask.
    #[serde(rename = "askQty")]
    pub ask_qty: Option<String>,
    /// Best bid price.
    #[serde(rename = "bidPrice")]
    pub bid_price: Option<String>,
    /// Quantity at the best bid.
    #[serde(rename = "bidQty")]
    pub bid_qty: Option<String>,
    /// Market name.
    pub symbol: String,
    /// Market id.
    #[serde(rename = "symbolID")]
    pub symbol_id: u32,
}

/// One price level: `[price, quantity]` (decimal strings).
pub type Level = (String, String);

/// The order book of a market (`GET /markets/{symbol}/orderbook`, WebSocket `l2Book`), best levels first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct OrderBook {
    /// Asks, lowest first: `[price, quantity]`.
    #[schema(value_type = Vec<Vec<String>>)]
    pub asks: Vec<Level>,
    /// Bids, highest first: `[price, quantity]`.
    #[schema(value_type = Vec<Vec<String>>)]
    pub bids: Vec<Level>,
    /// Market name.
    pub symbol: String,
    /// Market id.
    #[serde(rename = "symbolID")]
    pub symbol_id: u32,
}

/// A trade of a market (`GET /markets/{symbol}/trades`, WebSocket `trade`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PublicTrade {
    /// Price.
    pub price: String,
    /// Base quantity.
    pub quantity: String,
    /// Quote amount.
    #[serde(rename = "quoteQty")]
    pub quote_qty: String,
    /// The taker's side.
    pub side: Side,
    /// Market name.
    pub symbol: String,
    /// Market id.
    #[serde(rename = "symbolID")]
    pub symbol_id: u32,
    /// Unix ms.
    pub time: u64,
    /// Trade id (engine-wide, from 1).
    #[serde(rename = "tradeID")]
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

/// One coin of an account.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Balance {
    /// Free to trade or transfer.
    pub available: String,
    /// Coin symbol.
    pub coin: String,
    /// Coin id.
    #[serde(rename = "coinID")]
    pub coin_id: u32,
    /// Held by open orders.
    pub locked: String,
    /// Available plus locked.
    pub total: String,
}

/// An account's balances, every listed coin (WebSocket `accountUpdate`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct AccountBalances {
    /// Account id.
    #[serde(rename = "accountID")]
    pub account_id: u64,
    /// One per listed coin.
    pub balances: Vec<Balance>,
}

/// An account (`GET /accounts/{address}/state`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct AccountState {
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
}

/// An open order (`GET /accounts/{address}/orders`, WebSocket `accountOrderUpdate`).
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
    /// Order id (engine-wide, from 1).
    #[serde(rename = "orderID")]
    pub order_id: u64,
    /// Limit price (null for market orders).
    pub price: Option<String>,
    /// Base quantity ordered.
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
    /// Unix ms.
    #[serde(rename = "updatedAt")]
    pub updated_at: u64,
}

/// A closed order (`GET /accounts/{address}/orders/history`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct HistoricalOrder {
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
    /// Quote amount of a market buy by funds.
    pub funds: Option<String>,
    /// Order id.
    #[serde(rename = "orderID")]
    pub order_id: u64,
    /// Limit price (null for market orders).
    pub price: Option<String>,
    /// Base quantity ordered.
    pub quantity: Option<String>,
    /// Side.
    pub side: Side,
    /// Final status.
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
    /// Close time (Unix ms).
    #[serde(rename = "updatedAt")]
    pub updated_at: u64,
}

/// A trade as one account sees it (`GET /accounts/{address}/trades`, WebSocket `accountTrade`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct UserTrade {
    /// Account id.
    #[serde(rename = "accountID")]
    pub account_id: u64,
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

/// The account's fee rates in one market (`GET /accounts/{address}/fee-rate`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct FeeRate {
    /// Account id.
    #[serde(rename = "accountID")]
    pub account_id: u64,
    /// Maker fee rate (decimal).
    #[serde(rename = "makerFee")]
    pub maker_fee: String,
    /// Market name.
    pub symbol: String,
    /// Market id.
    #[serde(rename = "symbolID")]
    pub symbol_id: u32,
    /// Taker fee rate (decimal).
    #[serde(rename = "takerFee")]
    pub taker_fee: String,
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
    /// Key type (1, EVM).
    #[serde(rename = "type")]
    pub key_type: u8,
}

// ---------------------------------------------------------------------------------------------------------------
// Signed writes

/// The answer of `newOrder`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct OrderAck {
    /// Client order id.
    #[serde(rename = "clOrdID")]
    pub cl_ord_id: String,
    /// Order id.
    #[serde(rename = "orderID")]
    pub order_id: Option<u64>,
    /// Status after matching.
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
    /// Order id (the new one for a replace).
    #[serde(rename = "orderID")]
    pub order_id: Option<u64>,
    /// Status after the action.
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
    /// The stable reason.
    pub reason: Reason,
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
    /// The book of a market, top 50 levels ([`OrderBook`]).
    L2Book,
    /// Trades of a market ([`PublicTrade`]).
    Trade,
    /// 24 h statistics of a market ([`Ticker`]).
    Ticker,
    /// Best bid and ask of a market ([`BookTicker`]).
    BookTicker,
    /// An account's orders ([`Order`]).
    AccountOrderUpdate,
    /// An account's trades ([`UserTrade`]).
    AccountTrade,
    /// An account's balances ([`AccountBalances`]).
    AccountUpdate,
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

    /// Whether it is a market's channel (keyed by `symbol`) rather than an account's (keyed by `user`).
    pub fn is_market(self) -> bool {
        matches!(self, Channel::L2Book | Channel::Trade | Channel::Ticker | Channel::BookTicker)
    }
}

/// The `params` of a subscription, echoed in its acknowledgement.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WsParams {
    /// Account channels: a sub-account of `user` (the master account by default).
    #[serde(rename = "accountID", default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<u64>,
    /// Channel name.
    pub channel: String,
    /// Reserved (candles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Market channels: one market.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// Market channels: several markets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbols: Option<Vec<String>>,
    /// Account channels: the master address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// A client message: `{"op":"subscribe"|"unsubscribe","params":..}` or `{"op":"ping"}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct WsRequest {
    /// `subscribe`, `unsubscribe` or `ping`.
    pub op: String,
    /// For (un)subscribe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<WsParams>,
}

/// A server message about the connection or an `op`: `{"op":"pong"}`, acknowledgements
/// `{"op":..,"params":..,"success":true}`, refusals `{"error":..,"op":..,"success":false}`,
/// `{"op":"lagged","skipped":n}`, `{"op":"close","reason":..}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct WsReply {
    /// Why the op was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The op answered (or `pong`, `lagged`, `close`).
    pub op: String,
    /// The subscription's params.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<WsParams>,
    /// Why the server closes the connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
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

    /// `{"op":op,"params":..,"success":true}`.
    pub fn accepted(op: impl Into<String>, params: WsParams) -> WsReply {
        WsReply { params: Some(params), success: Some(true), ..WsReply::op(op) }
    }

    /// `{"error":..,"op":op,"success":false}` (with the params when given).
    pub fn refused(op: impl Into<String>, error: impl Into<String>, params: Option<WsParams>) -> WsReply {
        WsReply { error: Some(error.into()), params, success: Some(false), ..WsReply::op(op) }
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

/// The `data` of a push, by channel.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ChannelData {
    /// `l2Book` (null for an unknown market).
    OrderBook(Option<OrderBook>),
    /// `trade` update.
    Trade(PublicTrade),
    /// `trade` snapshot, newest first (null for an unknown market).
    Trades(Option<Vec<PublicTrade>>),
    /// `ticker` (null for an unknown market).
    Ticker(Option<Ticker>),
    /// `bookTicker` (null for an unknown market).
    BookTicker(Option<BookTicker>),
    /// `accountOrderUpdate` update.
    Order(Order),
    /// `accountOrderUpdate` snapshot: the open orders.
    Orders(Vec<Order>),
    /// `accountTrade` update.
    UserTrade(UserTrade),
    /// `accountTrade` snapshot, newest first.
    UserTrades(Vec<UserTrade>),
    /// `accountUpdate`.
    Balances(AccountBalances),
    /// Nothing (the state could not be read).
    None,
}

/// A push: `{"channel":..,"data":..,"type":"snapshot"|"update"}`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WsPush<'a> {
    /// The channel.
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

    fn json<T: Serialize>(v: &T) -> String {
        serde_json::to_string(v).expect("serializes")
    }

    /// The bytes of each answer are the ones the exchange sent before these types existed (`json!` maps, whose
    /// keys serde_json sorts): fields in byte order of their names, nulls kept, optional WebSocket fields absent.
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
            order_id: 3,
            price: Some(s("50000")),
            quantity: Some(s("0.5")),
            side: Side::Buy,
            status: OrderStatus::PartiallyFilled,
            symbol: s("BTC/USDC"),
            symbol_id: 1,
            time_in_force: TimeInForce::Gtc,
            order_type: OrderType::Limit,
            updated_at: 2,
        };
        assert_eq!(
            json(&Envelope { code: 0, data: vec![order], timestamp: 5 }),
            r#"{"code":0,"data":[{"accountID":7,"clOrdID":"bid-1","createdAt":1,"executedQty":"0.2","executedValue":"10000","funds":null,"orderID":3,"price":"50000","quantity":"0.5","side":"BUY","status":"PARTIALLY_FILLED","symbol":"BTC/USDC","symbolID":1,"timeInForce":"GTC","type":"LIMIT","updatedAt":2}],"timestamp":5}"#
        );
        let e = ErrorEnvelope { code: 22010, error: s("no"), reason: Reason::UnknownAccount, timestamp: 5 };
        assert_eq!(json(&e), r#"{"code":22010,"error":"no","reason":"UNKNOWN_ACCOUNT","timestamp":5}"#);
        let ack = OrderAck { cl_ord_id: s("a"), order_id: Some(9), status: Some(OrderStatus::New), symbol_id: 1 };
        assert_eq!(json(&WriteReply::Order(ack)), r#"{"clOrdID":"a","orderID":9,"status":"NEW","symbolID":1}"#);
        let items = WriteReply::Batch(vec![
            BatchItem::Ok(OrderReceipt { cl_ord_id: s("k1"), order_id: None, status: None }),
            BatchItem::Err(ReceiptError {
                cl_ord_id: s("k2"),
                code: 30006,
                error: s("bad"),
                reason: Reason::InvalidPrice,
            }),
        ]);
        assert_eq!(
            json(&items),
            r#"[{"clOrdID":"k1","orderID":null,"status":null},{"clOrdID":"k2","code":30006,"error":"bad","reason":"INVALID_PRICE"}]"#
        );
        let kline = Kline {
            close_time: 59_999,
            close: s("2"),
            high: s("3"),
            low: s("1"),
            trades: 4,
            open: s("1.5"),
            quote_volume: s("10"),
            open_time: 0,
            volume: s("5"),
        };
        assert_eq!(json(&kline), r#"{"T":59999,"c":"2","h":"3","l":"1","n":4,"o":"1.5","q":"10","t":0,"v":"5"}"#);
        let book = OrderBook { asks: vec![], bids: vec![(s("100"), s("0.6"))], symbol: s("BTC/USDC"), symbol_id: 1 };
        assert_eq!(
            json(&ChannelData::OrderBook(Some(book))),
            r#"{"asks":[],"bids":[["100","0.6"]],"symbol":"BTC/USDC","symbolID":1}"#
        );
        let push = WsPush { channel: Channel::L2Book, data: &ChannelData::None, kind: PushType::Snapshot };
        assert_eq!(json(&push), r#"{"channel":"l2Book","data":null,"type":"snapshot"}"#);
        let p =
            WsParams { channel: s("accountUpdate"), user: Some(s("0xab")), account_id: Some(2), ..WsParams::default() };
        assert_eq!(
            json(&WsReply::accepted("subscribe", p)),
            r#"{"op":"subscribe","params":{"accountID":2,"channel":"accountUpdate","user":"0xab"},"success":true}"#
        );
        assert_eq!(json(&WsReply::op("pong")), r#"{"op":"pong"}"#);
        assert_eq!(json(&WsReply::refused("x", "no", None)), r#"{"error":"no","op":"x","success":false}"#);
        assert_eq!(json(&WsReply { skipped: Some(3), ..WsReply::op("lagged") }), r#"{"op":"lagged","skipped":3}"#);
        let state = AccountState {
            address: s("0xab"),
            aid: 2,
            balances: vec![Balance { available: s("1"), coin: s("USDC"), coin_id: 1, locked: s("0"), total: s("1") }],
            is_sub_account: false,
            master_account_id: 2,
            open_orders: 0,
            scheduled_cancel: None,
            sub_accounts: vec![3],
        };
        assert_eq!(
            json(&state),
            r#"{"address":"0xab","aid":2,"balances":[{"available":"1","coin":"USDC","coinID":1,"locked":"0","total":"1"}],"isSubAccount":false,"masterAccountID":2,"openOrders":0,"scheduledCancel":null,"subAccounts":[3]}"#
        );
        let names: Vec<&str> = Channel::all().map(Channel::as_str).collect();
        assert_eq!(
            names,
            ["l2Book", "trade", "ticker", "bookTicker", "accountOrderUpdate", "accountTrade", "accountUpdate"]
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
