//! Intel API (`/api/v1/intel`, seed 001): wallet intelligence, metered by credits or paid per call with x402.
//! Answers use the same `{success, data, meta}` envelope as the Connect API.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What Sova knows of one address.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Hud {
    /// The address as asked.
    pub address: String,
    /// `bitcoin`, `evm` or `solana`, detected from the format.
    pub chain: String,
    /// Networks on which the address is valid.
    pub networks: Vec<String>,
    /// Whether the address is a deposit address issued by this Sova.
    pub known: bool,
    /// The Sova wallets it deposits into (when known).
    pub wallets: Vec<HudWallet>,
    /// Deposits seen to the address.
    pub deposits: Flow,
    /// Withdrawals sent from the wallets the address belongs to, on its network (not failed).
    pub withdrawals: Flow,
    /// The address's spot-exchange accounts, when it is a master wallet there (EVM addresses only).
    pub exchange: Option<HudExchange>,
    /// First activity (ISO 8601), if any.
    pub first_seen: Option<String>,
    /// Last activity (ISO 8601), if any.
    pub last_seen: Option<String>,
}

/// An address's activity on the exchange (`/api/v1/spot`): its master account and sub-accounts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct HudExchange {
    /// The master account's id.
    pub master_account_id: u64,
    /// API keys (agent wallets) the master has registered.
    pub api_keys: u64,
    /// The master account first, then its sub-accounts by id.
    pub accounts: Vec<HudExchangeAccount>,
}

/// One exchange account in a HUD.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct HudExchangeAccount {
    /// Account id.
    pub account_id: u64,
    /// Whether it is a sub-account of the master.
    pub sub_account: bool,
    /// Coins with a non-zero balance (decimal strings).
    pub balances: Vec<HudExchangeBalance>,
    /// Orders resting on the books.
    pub open_orders: u64,
    /// Trades in the recent history Sova keeps (the newest 1000 per account).
    pub recent_trades: u64,
    /// The newest trade (ISO 8601), if any.
    pub last_trade_at: Option<String>,
    /// Perps collateral (USDC, decimal string), when the account holds any perps state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perps_collateral: Option<String>,
    /// Open perps positions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub perps_positions: Vec<HudPerpsPosition>,
}

/// One open perps position of an exchange account.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct HudPerpsPosition {
    /// Market (`BTC-USD`).
    pub symbol: String,
    /// `LONG` or `SHORT`.
    pub side: String,
    /// Size in the base coin (unsigned).
    pub size: String,
    /// Average entry price.
    pub entry_price: String,
    /// Mark price (empty before the market's first mark).
    pub mark_price: String,
    /// Unrealized PnL at the mark (USDC).
    pub unrealized_pnl: String,
    /// Leverage.
    pub leverage: u32,
    /// `CROSS` or `ISOLATED`.
    pub margin_mode: String,
}

/// One coin of an exchange account.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct HudExchangeBalance {
    /// Coin symbol (`USDC`, `BTC`, ...).
    pub coin: String,
    /// Available plus locked.
    pub total: String,
    /// Free to trade or transfer.
    pub available: String,
    /// Held by open orders.
    pub locked: String,
}

/// A Sova wallet behind an address.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct HudWallet {
    /// Wallet id.
    pub wallet_id: String,
    /// Currency.
    pub currency: String,
    /// Network of the address.
    pub network: String,
    /// Settled balance of the wallet (decimal string).
    pub balance: String,
    /// When the address was issued.
    pub issued_at: String,
}

/// Count and totals of a flow.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Flow {
    /// Number of transfers.
    pub count: u64,
    /// Totals per currency and network.
    pub totals: Vec<FlowTotal>,
}

/// A total.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct FlowTotal {
    /// Currency.
    pub currency: String,
    /// Network.
    pub network: String,
    /// Decimal string.
    pub amount: String,
}

/// One activity item.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Activity {
    /// `deposit`.
    pub kind: String,
    /// Currency.
    pub currency: String,
    /// Network.
    pub network: String,
    /// Decimal string.
    pub amount: String,
    /// `PENDING` or `COMPLETED`.
    pub status: String,
    /// Transaction hash.
    pub tx_hash: String,
    /// When it was seen (ISO 8601).
    pub at: String,
}

/// `POST /wallets/hud`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchHudRequest {
    /// 1 to 25 addresses.
    #[schema(min_items = 1, max_items = 25)]
    pub addresses: Vec<String>,
}

/// One result of a batch lookup.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct BatchHudItem {
    /// The address as asked.
    pub address: String,
    /// The answer, when the address is valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hud: Option<Hud>,
    /// Why there is no answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// An Intel API key as the operator API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IntelKey {
    /// Key id.
    pub key_id: String,
    /// The key itself (`ak_<hex>`), only when just created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// First characters of the key.
    pub prefix: String,
    /// Owner of the account.
    pub owner: String,
    /// Credits left on the account.
    pub remaining: i64,
    /// `ACTIVE` or `REVOKED`.
    pub status: String,
    /// Creation time.
    pub created_at: String,
}

/// `POST /sovx/v1/intel/keys` (operator).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIntelKeyRequest {
    /// Owner name of the account (created on first use; a Connect customer id links the customer's `Cs-*` keys).
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub owner: String,
    /// Credits to add to the account (an account holds at most 10^15).
    #[schema(minimum = 0, maximum = 1_000_000_000_000_000_i64)]
    pub credits: i64,
}

/// `POST /sovx/v1/intel/keys/{key_id}/topup` (operator).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopUpRequest {
    /// Credits to add (1 or more; an account holds at most 10^15).
    #[schema(minimum = 1, maximum = 1_000_000_000_000_000_i64)]
    pub credits: i64,
}

/// One usage row.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Usage {
    /// `call`, `refund` or `topup`.
    pub kind: String,
    /// Endpoint (route template).
    pub endpoint: String,
    /// Credits taken (negative: given back or added).
    pub cost: i64,
    /// Calls the row stands for.
    pub calls: i64,
    /// Balance after.
    pub balance: i64,
    /// Request trace id.
    pub trace_id: String,
    /// Time.
    pub at: String,
}
