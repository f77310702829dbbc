//! Connect trading (issue 17): quotes priced on Sova's own spot book, and the orders that take them. An order's
//! money moves in the exchange sequencer's group commit (`ExWrites::ledger` and `ExWrites::trades_done`), so the
//! Connect ledger and the engine's log cannot disagree; what happens here is the quote, the hold an order takes
//! when it is placed, and the release of that hold when the exchange refuses the order.

use crate::{ListQuery, Page, Posting, Result};

/// A quote: the terms Sova promises (this price or better, all or nothing) until `expires_at`.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct QuoteRow {
    /// UUID.
    pub quote_id: String,
    /// Customer.
    pub customer_id: String,
    /// User.
    pub user_id: String,
    /// The wallet that trades.
    pub wallet_id: String,
    /// `btcusdc`.
    pub pair: String,
    /// `buy` or `sell` (of the base).
    pub side: String,
    /// Base quantity (decimal string).
    pub quantity: String,
    /// Quote amount at the quoted price, before the fee (decimal string).
    pub amount: String,
    /// The average price for the size (decimal string).
    pub price: String,
    /// The taker fee, in `fee_currency` (decimal string).
    pub fee: String,
    /// What the fee is paid in: what the wallet receives (the base on a buy, the quote on a sell).
    pub fee_currency: String,
    /// The engine terms (JSON, the exchange's `ConnectTerms`): market, lots, limit, the most the wallet pays and
    /// the least it receives.
    pub terms: String,
    /// Creation time (Unix ms).
    pub created_at: i64,
    /// Valid until (Unix ms, exclusive).
    pub expires_at: i64,
    /// The order that took it.
    pub order_id: Option<String>,
}

/// An order on a quote: the order and its trade, one object.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct TradeRow {
    /// UUID.
    pub order_id: String,
    /// The quote it took (one order per quote).
    pub quote_id: String,
    /// Customer.
    pub customer_id: String,
    /// User.
    pub user_id: String,
    /// The wallet that trades.
    pub wallet_id: String,
    /// `btcusdc`.
    pub pair: String,
    /// `buy` or `sell`.
    pub side: String,
    /// Base currency (upper case, as the ledger's).
    pub base_currency: String,
    /// Quote currency (upper case).
    pub quote_currency: String,
    /// Base quantity traded (the quoted one until completed).
    pub quantity: String,
    /// Quote amount traded, before the fee.
    pub amount: String,
    /// Average price.
    pub price: String,
    /// Fee paid, in `fee_currency`.
    pub fee: String,
    /// The fee's currency.
    pub fee_currency: String,
    /// What the hold took from the wallet (the most it can pay).
    pub held: String,
    /// `PENDING`, `COMPLETED` or `REJECTED`.
    pub status: String,
    /// Why it was refused (`QUOTE_NOT_FILLABLE`, ...).
    pub reason: Option<String>,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// When it completed or was refused.
    pub completed_at: Option<i64>,
}

/// The exchange's outcome of an order, written in its group commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeDone {
    /// The order.
    pub order_id: String,
    /// `COMPLETED`.
    pub status: String,
    /// Base quantity traded.
    pub quantity: String,
    /// Quote amount traded, before the fee.
    pub amount: String,
    /// Average price.
    pub price: String,
    /// Fee paid.
    pub fee: String,
    /// Time.
    pub now: i64,
}

/// One balanced ledger transaction (idempotent on `(kind, reference)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerPost {
    /// Kind (`trade`).
    pub kind: String,
    /// Reference (the order id).
    pub reference: String,
    /// The legs.
    pub postings: Vec<Posting>,
}

/// Quote and trade persistence.
#[async_trait::async_trait]
pub trait TradeStore: Send + Sync {
    /// Insert a quote.
    async fn create_quote(&self, q: &QuoteRow) -> Result<()>;
    /// A customer's quote.
    async fn quote(&self, customer_id: &str, quote_id: &str) -> Result<Option<QuoteRow>>;
    /// Place an order on its quote, in one transaction: the quote is marked taken (`Conflict("quote used")` if an
    /// order took it first; `InvalidState("expired")` from `now` on), the PENDING order inserted, and the hold
    /// posted (`InsufficientFunds` when the wallet's available balance is short: nothing is written).
    async fn take_quote(&self, t: &TradeRow, hold: &[Posting], now: i64) -> Result<()>;
    /// A PENDING order the exchange refused: REJECTED with `reason`, its hold posted back, in one transaction.
    async fn reject_trade(&self, order_id: &str, reason: &str, release: &[Posting], now: i64) -> Result<()>;
    /// A customer's order.
    async fn trade(&self, customer_id: &str, order_id: &str) -> Result<Option<TradeRow>>;
    /// A customer's orders (optionally of one wallet), newest first by default.
    async fn list_trades(&self, customer_id: &str, wallet_id: Option<&str>, q: &ListQuery) -> Result<Page<TradeRow>>;
    /// Orders still PENDING that were placed before `before` (an order whose process died between its hold and
    /// the exchange's answer).
    async fn pending_trades(&self, before: i64) -> Result<Vec<TradeRow>>;
}
