//! Read models derived from the engine's events: order history, account trades, candles and 24 h statistics.
//! They are rebuilt from the event log at start, so they survive restarts exactly like the books.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde_json::{Value, json};
use sova_engine::{
    AccountId, Event, MarketId, MarketSpec, OrderAccepted, OrderId, OrderStatus, OrderType, OrderView, Side,
    TimeInForce, Trade,
};

use super::catalog::Catalog;

/// Closed orders and trades kept per account (the newest).
pub const HISTORY_PER_ACCOUNT: usize = 1000;
/// One-minute candles kept per market (7 days).
pub const CANDLES_KEPT: usize = 7 * 24 * 60;

/// One candle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candle {
    /// Open time (ms, a multiple of the interval).
    pub start: u64,
    /// Prices in ticks.
    pub open: u64,
    /// High.
    pub high: u64,
    /// Low.
    pub low: u64,
    /// Close.
    pub close: u64,
    /// Base volume in lots.
    pub volume: u64,
    /// Quote volume in atoms.
    pub quote_volume: u64,
    /// Number of trades.
    pub trades: u64,
}

impl Candle {
    fn merge(&mut self, c: &Candle) {
        self.high = self.high.max(c.high);
        self.low = self.low.min(c.low);
        self.close = c.close;
        self.volume += c.volume;
        self.quote_volume += c.quote_volume;
        self.trades += c.trades;
    }
}

/// A closed order as history shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedOrder {
    /// As accepted.
    pub accepted: OrderAccepted,
    /// Final status.
    pub status: OrderStatus,
    /// Lots filled.
    pub filled: u64,
    /// Close time.
    pub ts: u64,
}

/// Everything derived from events.
#[derive(Debug, Default)]
pub struct Views {
    open: HashMap<OrderId, OrderAccepted>,
    closed: HashMap<AccountId, VecDeque<ClosedOrder>>,
    trades: HashMap<AccountId, VecDeque<Trade>>,
    candles: HashMap<MarketId, BTreeMap<u64, Candle>>,
    deadlines: HashMap<AccountId, u64>,
}

impl Views {
    /// Fold one event in.
    pub fn apply(&mut self, ev: &Event) {
        match ev {
            Event::ScheduleCancelSet { account, deadline, .. } => match deadline {
                Some(d) => {
                    self.deadlines.insert(*account, *d);
                }
                None => {
                    self.deadlines.remove(account);
                }
            },
            Event::ScheduleCancelFired { account, .. } => {
                self.deadlines.remove(account);
            }
            Event::OrderAccepted(a) => {
                self.open.insert(a.order_id, *a);
            }
            Event::OrderClosed(c) => {
                if let Some(accepted) = self.open.remove(&c.order_id) {
                    let q = self.closed.entry(c.account).or_default();
                    q.push_back(ClosedOrder { accepted, status: c.status, filled: c.filled, ts: c.ts });
                    if q.len() > HISTORY_PER_ACCOUNT {
                        q.pop_front();
                    }
                }
            }
            Event::Trade(t) => {
                for acct in [t.maker_account, t.taker_account] {
                    let q = self.trades.entry(acct).or_default();
                    q.push_back(*t);
                    if q.len() > HISTORY_PER_ACCOUNT {
                        q.pop_front();
                    }
                    if t.maker_account == t.taker_account {
                        break;
                    }
                }
                let minute = t.ts - t.ts % 60_000;
                let candles = self.candles.entry(t.market).or_default();
                let c = candles.entry(minute).or_insert(Candle {
                    start: minute,
                    open: t.price,
                    high: t.price,
                    low: t.price,
                    close: t.price,
                    volume: 0,
                    quote_volume: 0,
                    trades: 0,
                });
                c.merge(&Candle {
                    start: minute,
                    open: t.price,
                    high: t.price,
                    low: t.price,
                    close: t.price,
                    volume: t.quantity,
                    quote_volume: t.quote_amount,
                    trades: 1,
                });
                while candles.len() > CANDLES_KEPT {
                    candles.pop_first();
                }
            }
            _ => {}
        }
    }

    /// Whether any account has a dead-man switch set.
    pub fn has_deadlines(&self) -> bool {
        !self.deadlines.is_empty()
    }

    /// Closed orders of an account, newest first.
    pub fn closed_orders(&self, account: AccountId, limit: usize) -> Vec<&ClosedOrder> {
        self.closed.get(&account).map(|q| q.iter().rev().take(limit).collect()).unwrap_or_default()
    }

    /// Trades of an account, newest first.
    pub fn account_trades(&self, account: AccountId, limit: usize) -> Vec<&Trade> {
        self.trades.get(&account).map(|q| q.iter().rev().take(limit).collect()).unwrap_or_default()
    }

    /// Candles of `interval_ms` (a multiple of one minute) between `start` and `end` (ms, inclusive), oldest first,
    /// the newest `limit`.
    pub fn klines(&self, market: MarketId, interval_ms: u64, start: u64, end: u64, limit: usize) -> Vec<Candle> {
        let Some(candles) = self.candles.get(&market) else { return Vec::new() };
        let mut out: Vec<Candle> = Vec::new();
        for c in candles.range(start - start % interval_ms..=end).map(|(_, c)| c) {
            let bucket = c.start - c.start % interval_ms;
            match out.last_mut() {
                Some(last) if last.start == bucket => last.merge(c),
                _ => out.push(Candle { start: bucket, ..*c }),
            }
        }
        let skip = out.len().saturating_sub(limit);
        out.split_off(skip)
    }

    /// 24 h statistics ending at `now`: (open, high, low, close, volume lots, quote volume, trades), if any trade.
    pub fn day(&self, market: MarketId, now: u64) -> Option<Candle> {
        let from = now.saturating_sub(86_400_000);
        let candles = self.candles.get(&market)?;
        let mut it = candles.range(from - from % 60_000..).map(|(_, c)| c);
        let mut day = *it.next()?;
        for c in it {
            day.merge(c);
        }
        Some(day)
    }
}

/// `NEW`, `PARTIALLY_FILLED`, ...
pub fn status_name(s: OrderStatus) -> &'static str {
    match s {
        OrderStatus::New => "NEW",
        OrderStatus::PartiallyFilled => "PARTIALLY_FILLED",
        OrderStatus::Filled => "FILLED",
        OrderStatus::Canceled => "CANCELED",
        OrderStatus::Rejected => "REJECTED",
        OrderStatus::Expired => "EXPIRED",
    }
}

fn side_name(s: Side) -> &'static str {
    match s {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

fn type_name(t: OrderType) -> &'static str {
    match t {
        OrderType::Limit => "LIMIT",
        OrderType::Market => "MARKET",
    }
}

fn tif_name(t: TimeInForce) -> &'static str {
    match t {
        TimeInForce::Gtc => "GTC",
        TimeInForce::Fok => "FOK",
        TimeInForce::Ioc => "IOC",
        TimeInForce::Gtx => "GTX",
    }
}

/// An open order as JSON.
pub fn order_json(m: &MarketSpec, o: &OrderView) -> Value {
    json!({
        "orderID": o.order_id,
        "clOrdID": o.cl_ord_id.map(|c| c.to_string()),
        "accountID": o.account,
        "symbolID": m.config.id,
        "symbol": m.config.name,
        "side": side_name(o.side),
        "type": type_name(o.order_type),
        "timeInForce": tif_name(o.time_in_force),
        "status": status_name(o.status),
        "price": (o.order_type == OrderType::Limit).then(|| m.format_price(o.price)),
        "quantity": o.quantity.map(|q| m.format_quantity(q)),
        "funds": o.funds.map(|f| m.format_quote(f)),
        "executedQty": m.format_quantity(o.filled),
        "executedValue": m.format_quote(o.executed_value),
        "createdAt": o.created,
        "updatedAt": o.updated,
    })
}

/// A closed order as JSON.
pub fn closed_json(m: &MarketSpec, c: &ClosedOrder) -> Value {
    let a = &c.accepted;
    json!({
        "orderID": a.order_id,
        "clOrdID": a.cl_ord_id.map(|c| c.to_string()),
        "accountID": a.account,
        "symbolID": m.config.id,
        "symbol": m.config.name,
        "side": side_name(a.side),
        "type": type_name(a.order_type),
        "timeInForce": tif_name(a.time_in_force),
        "status": status_name(c.status),
        "price": (a.order_type == OrderType::Limit).then(|| m.format_price(a.price)),
        "quantity": a.quantity.map(|q| m.format_quantity(q)),
        "funds": a.funds.map(|f| m.format_quote(f)),
        "executedQty": m.format_quantity(c.filled),
        "createdAt": a.ts,
        "updatedAt": c.ts,
    })
}

/// A public trade as JSON.
pub fn trade_json(m: &MarketSpec, t: &Trade) -> Value {
    json!({
        "tradeID": t.trade_id,
        "symbolID": m.config.id,
        "symbol": m.config.name,
        "price": m.format_price(t.price),
        "quantity": m.format_quantity(t.quantity),
        "quoteQty": m.format_quote(t.quote_amount),
        "side": side_name(t.taker_side),
        "time": t.ts,
    })
}

/// A trade as one account sees it (its side, role, fee).
pub fn account_trade_json(m: &MarketSpec, c: &Catalog, t: &Trade, account: AccountId) -> Value {
    let maker = t.maker_account == account;
    let side = if maker { t.taker_side.opposite() } else { t.taker_side };
    let (fee, fee_coin) = if maker { (t.maker_fee, side) } else { (t.taker_fee, side) };
    let (fee_str, coin) = match fee_coin {
        Side::Buy => (m.format_base(fee), m.config.base),
        Side::Sell => (m.format_quote(fee), m.config.quote),
    };
    json!({
        "tradeID": t.trade_id,
        "orderID": if maker { t.maker_order } else { t.taker_order },
        "accountID": account,
        "symbolID": m.config.id,
        "symbol": m.config.name,
        "side": side_name(side),
        "price": m.format_price(t.price),
        "quantity": m.format_quantity(t.quantity),
        "quoteQty": m.format_quote(t.quote_amount),
        "fee": fee_str,
        "feeCoin": c.coin(u64::from(coin)).map(|c| c.symbol.clone()),
        "isMaker": maker,
        "time": t.ts,
    })
}

/// A candle as JSON.
pub fn candle_json(m: &MarketSpec, c: &Candle, interval_ms: u64) -> Value {
    json!({
        "t": c.start,
        "T": c.start + interval_ms - 1,
        "o": m.format_price(c.open),
        "h": m.format_price(c.high),
        "l": m.format_price(c.low),
        "c": m.format_price(c.close),
        "v": m.format_quantity(c.volume),
        "q": m.format_quote(c.quote_volume),
        "n": c.trades,
    })
}

/// `1m`, `5m`, `15m`, `30m`, `1h`, `4h`, `1d`, `1w` in ms.
pub fn interval_ms(s: &str) -> Option<u64> {
    Some(match s {
        "1m" => 60_000,
        "3m" => 180_000,
        "5m" => 300_000,
        "15m" => 900_000,
        "30m" => 1_800_000,
        "1h" => 3_600_000,
        "2h" => 7_200_000,
        "4h" => 14_400_000,
        "12h" => 43_200_000,
        "1d" => 86_400_000,
        "1w" => 604_800_000,
        _ => return None,
    })
}
