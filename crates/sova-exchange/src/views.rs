//! Read models derived from the engine's events: order history, account trades, candles and 24 h statistics.
//! They are rebuilt from the event log at start, so they survive restarts exactly like the books.

use std::collections::{BTreeMap, HashMap, VecDeque};

use sova_engine::{AccountId, ClOrdId, Event, MarketId, OrderAccepted, OrderId, OrderStatus, Trade};

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
    /// Quote atoms filled.
    pub executed_value: u64,
    /// Close time.
    pub ts: u64,
}

/// Everything derived from events.
#[derive(Debug, Default)]
pub struct Views {
    /// Orders accepted and not yet closed, with the lots and quote atoms filled so far.
    open: HashMap<OrderId, (OrderAccepted, u64, u64)>,
    closed: HashMap<AccountId, VecDeque<ClosedOrder>>,
    /// Each account's trades with the client order id of its own order.
    trades: HashMap<AccountId, VecDeque<(Trade, Option<ClOrdId>)>>,
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
                self.open.insert(a.order_id, (*a, 0, 0));
            }
            Event::OrderClosed(c) => {
                if let Some((accepted, _, value)) = self.open.remove(&c.order_id) {
                    self.close(ClosedOrder {
                        accepted,
                        status: c.status,
                        filled: c.filled,
                        executed_value: value,
                        ts: c.ts,
                    });
                }
            }
            Event::Trade(t) => {
                for order in [t.maker_order, t.taker_order] {
                    if let Some((_, filled, value)) = self.open.get_mut(&order) {
                        *filled += t.quantity;
                        *value += t.quote_amount;
                    }
                }
                let cl = |order: OrderId| self.open.get(&order).and_then(|(a, _, _)| a.cl_ord_id);
                let (maker_cl, taker_cl) = (cl(t.maker_order), cl(t.taker_order));
                // A maker filled completely leaves the book with this trade (the engine sends no `OrderClosed` for
                // it): it closes here, `FILLED`.
                if t.maker_remaining == 0
                    && let Some((accepted, filled, value)) = self.open.remove(&t.maker_order)
                {
                    self.close(ClosedOrder {
                        accepted,
                        status: OrderStatus::Filled,
                        filled,
                        executed_value: value,
                        ts: t.ts,
                    });
                }
                for (acct, cl) in [(t.maker_account, maker_cl), (t.taker_account, taker_cl)] {
                    let q = self.trades.entry(acct).or_default();
                    q.push_back((*t, cl));
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

    fn close(&mut self, order: ClosedOrder) {
        let q = self.closed.entry(order.accepted.account).or_default();
        q.push_back(order);
        if q.len() > HISTORY_PER_ACCOUNT {
            q.pop_front();
        }
    }

    /// Orders accepted and not closed (resting, or within the command that matches them).
    #[cfg(test)]
    fn open_count(&self) -> usize {
        self.open.len()
    }

    /// Whether any account has a dead-man switch set.
    pub fn has_deadlines(&self) -> bool {
        !self.deadlines.is_empty()
    }

    /// Closed orders of an account, newest first.
    pub fn closed_orders(&self, account: AccountId, limit: usize) -> Vec<&ClosedOrder> {
        self.closed.get(&account).map(|q| q.iter().rev().take(limit).collect()).unwrap_or_default()
    }

    /// Trades of an account, newest first, each with the client order id of the account's order.
    pub fn account_trades(&self, account: AccountId, limit: usize) -> Vec<&(Trade, Option<ClOrdId>)> {
        self.trades.get(&account).map(|q| q.iter().rev().take(limit).collect()).unwrap_or_default()
    }

    /// Candles of `interval_ms` (a multiple of one minute) between `start` and `end` (ms, inclusive), oldest first,
    /// the newest `limit`.
    pub fn klines(&self, market: MarketId, interval_ms: u64, start: u64, end: u64, limit: usize) -> Vec<Candle> {
        let Some(candles) = self.candles.get(&market) else { return Vec::new() };
        // An empty window (`startTime` after `endTime`) has no candles (and a reversed range would panic).
        if start > end || interval_ms == 0 {
            return Vec::new();
        }
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

/// An interval the SDKs send, in ms: `1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M` (also `1D 3D 1W`).
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
        "6h" => 21_600_000,
        "8h" => 28_800_000,
        "12h" => 43_200_000,
        "1d" | "1D" => 86_400_000,
        "3d" | "3D" => 259_200_000,
        "1w" | "1W" => 604_800_000,
        // A month is 30 days here (buckets are fixed lengths from the epoch).
        "1M" => 2_592_000_000,
        _ => return None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sova_engine::{OrderType, Side, StpMode, TimeInForce};

    fn accepted(order_id: OrderId, account: AccountId, side: Side, quantity: u64) -> Event {
        Event::OrderAccepted(OrderAccepted {
            order_id,
            account,
            market: 1,
            cl_ord_id: None,
            side,
            order_type: OrderType::Limit,
            time_in_force: TimeInForce::Gtc,
            stp: StpMode::CancelMaker,
            price: 100,
            quantity: Some(quantity),
            funds: None,
            locked: 0,
            ts: 1,
        })
    }

    fn trade(maker: OrderId, taker: OrderId, quantity: u64, maker_remaining: u64, ts: u64) -> Event {
        Event::Trade(Trade {
            trade_id: ts,
            market: 1,
            price: 100,
            quantity,
            quote_amount: 0,
            base_amount: 0,
            taker_side: Side::Buy,
            maker_order: maker,
            taker_order: taker,
            maker_account: 7,
            taker_account: 8,
            maker_fee: 0,
            taker_fee: 0,
            maker_remaining,
            taker_remaining: 0,
            ts,
        })
    }

    /// Issue 14, item 3: a resting order filled completely by later takers is in its account's history, `FILLED`
    /// with every lot, and no longer among the open orders.
    #[test]
    fn a_maker_filled_completely_closes() {
        let mut v = Views::default();
        v.apply(&accepted(1, 7, Side::Sell, 10));
        for (taker, q, rem, ts) in [(2, 4, 6, 2), (3, 6, 0, 3)] {
            v.apply(&accepted(taker, 8, Side::Buy, q));
            v.apply(&trade(1, taker, q, rem, ts));
        }
        let closed = v.closed_orders(7, 10);
        assert_eq!(closed.len(), 1);
        assert_eq!(
            (closed[0].accepted.order_id, closed[0].status, closed[0].filled, closed[0].ts),
            (1, OrderStatus::Filled, 10, 3)
        );
        // The takers are still open in the view until their own OrderClosed; the maker is not.
        assert_eq!(v.open_count(), 2);
    }
}
