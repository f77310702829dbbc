//! Queries, the canonical snapshot, the digest and the invariant check.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};

use serde::Serialize;
use sova_engine::{AccountId, ClOrdId, Fnv64, MarketId, OrderId, OrderType, Side, StpMode, TimeInForce};

use crate::engine::pos_value;
use crate::events::Trade;
use crate::state::{Account, ClKey, FundingRow, MarketState, Order, Perps, Position, cl_key};
use crate::types::{
    E12, MICRO, MarginMode, Modifier, OrderStatus, PerpMarketSpec, PositionId, PositionSide, StopSpec, ceil_div,
    floor_div,
};

/// An order as the API shows it. Money in quote atoms, prices in ticks, quantities in lots.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OrderView {
    pub order_id: OrderId,
    pub account: AccountId,
    pub market: MarketId,
    pub cl_ord_id: Option<ClOrdId>,
    pub side: Side,
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    pub stp: StpMode,
    pub status: OrderStatus,
    /// Ticks (0 for market orders).
    pub price: u64,
    /// `origQty`.
    pub quantity: u64,
    /// `executedQty`.
    pub filled: u64,
    /// `executedValue`, quote atoms.
    pub executed_value: i128,
    /// `marginFrozen`, quote atoms.
    pub margin_frozen: i128,
    /// Always `Both` (one-way mode).
    pub position_side: PositionSide,
    pub reduce_only: bool,
    pub modifier: Modifier,
    /// `stopPrice`, `stopType`, `triggerType`.
    pub stop: Option<StopSpec>,
    /// `primaryOrderID` of an attached stop.
    pub primary_order_id: Option<OrderId>,
    /// `attachedOrderIDs` of a bracket primary.
    pub attached_order_ids: Vec<OrderId>,
    /// Attached stops: lots armed by the primary's fills so far.
    pub armed: u64,
    /// Sent by a liquidation.
    pub liquidation: bool,
    pub created_at: u64,
    pub updated_at: u64,
}

/// A position as the API shows it (open, or closed in the history with `active == false`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PositionView {
    pub id: PositionId,
    pub account: AccountId,
    pub market: MarketId,
    pub margin_mode: MarginMode,
    pub leverage: u32,
    /// Signed lots (`quantity`); `size` on the wire is its absolute value.
    pub size: i128,
    /// The direction (`side` LONG or SHORT): of an open position the sign of `size`, of a closed one what it was.
    pub long: bool,
    /// `avgEntryPrice` in micro-ticks (ticks x 10^6, floor); 0 when flat.
    pub avg_entry_price_e6: i128,
    /// Signed entry notional of the open size (quote atoms).
    pub entry_notional: i128,
    /// `cumOpenCost` (quote atoms).
    pub cum_open_cost: i128,
    /// `cumTradingFee` (quote atoms).
    pub cum_trading_fee: i128,
    /// `cumClosedSize` (lots).
    pub cum_closed_size: i128,
    /// `avgClosePrice` in micro-ticks (0 if nothing closed).
    pub avg_close_price_e6: i128,
    /// `maxSize` (lots).
    pub max_size: i128,
    /// `realizedPnL` (quote atoms; fees and funding not included).
    pub realized_pnl: i128,
    /// Funding paid (> 0) or received (< 0), quote atoms.
    pub cum_funding: i128,
    /// `initialMargin`: `|size| x mark / leverage` (quote atoms).
    pub initial_margin: i128,
    pub maintenance_margin: i128,
    /// `margin`: isolated margin, or the initial margin for cross.
    pub margin: i128,
    /// `unrealizedPnl` at mark.
    pub unrealized_pnl: i128,
    pub mark_price: Option<u64>,
    /// `liquidationPrice` in micro-ticks (floor; None when not meaningful, e.g. a long that cannot be liquidated).
    pub liquidation_price_e6: Option<i128>,
    pub active: bool,
    pub is_taken_over: bool,
    /// Ticks (0 unless taken over).
    pub take_over_price: u64,
    pub created_at: u64,
    pub updated_at: u64,
}

/// An account's margin state (quote atoms).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccountState {
    pub account: AccountId,
    /// Cross collateral (excludes isolated margins).
    pub collateral: i128,
    /// Everything: collateral + isolated margins + all uPnL.
    pub equity: i128,
    /// Collateral + cross uPnL.
    pub cross_equity: i128,
    /// Margin for new orders: cross equity - cross initial margin - frozen.
    pub available: i128,
    /// What [`crate::Action::TransferOut`] allows now.
    pub withdrawable: i128,
    /// Cross initial margin + isolated margins.
    pub initial_margin: i128,
    pub cross_initial_margin: i128,
    pub maintenance_margin: i128,
    pub cross_maintenance_margin: i128,
    pub isolated_margin: i128,
    pub unrealized_pnl: i128,
    pub open_notional: i128,
    pub frozen: i128,
    pub liquidating: bool,
    /// Mode and leverage set per market (markets never set use the market's defaults, CROSS).
    pub settings: Vec<(MarketId, u32, MarginMode)>,
}

/// A market's prices and funding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MarketView {
    pub market: MarketId,
    pub mark_price: Option<u64>,
    pub mark_pinned: bool,
    pub index_price: Option<u64>,
    pub index_pinned: bool,
    pub last_price: Option<u64>,
    /// The hourly rate the next settlement would pay now (ppb), from the samples so far.
    pub funding_rate_ppb: i64,
    pub last_funding_rate_ppb: i64,
    pub premium_samples: u64,
    /// Unix ms.
    pub next_funding_time: u64,
    /// Lots held long (= short).
    pub open_interest: i128,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Bbo {
    pub bid: Option<(u64, u64)>,
    pub ask: Option<(u64, u64)>,
}

/// Aggregated levels (price ticks, lots), best first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Depth {
    pub bids: Vec<(u64, u64)>,
    pub asks: Vec<(u64, u64)>,
}

/// The canonical logical state; equal snapshots mean equal engines.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Snapshot {
    markets: Vec<(MarketId, MarketState)>,
    accounts: Vec<(AccountId, Account)>,
    positions: Vec<((MarketId, AccountId), Position)>,
    orders: Vec<Order>,
    closed: Vec<Order>,
    deadlines: Vec<(u64, AccountId)>,
    /// (account, scope, next slice).
    liquidations: Vec<(AccountId, Option<MarketId>, Option<u64>)>,
    counters: [i128; 5],
}

impl Perps {
    pub fn markets(&self) -> impl Iterator<Item = &PerpMarketSpec> {
        self.markets.values().map(|s| &s.spec)
    }

    pub fn market(&self, m: MarketId) -> Option<&PerpMarketSpec> {
        self.markets.get(&m).map(|s| &s.spec)
    }

    pub fn market_by_name(&self, name: &str) -> Option<&PerpMarketSpec> {
        self.markets.values().map(|s| &s.spec).find(|s| s.config.market.name == name)
    }

    pub fn market_view(&self, m: MarketId) -> Option<MarketView> {
        let s = self.markets.get(&m)?;
        Some(MarketView {
            market: m,
            mark_price: s.mark,
            mark_pinned: s.mark_pinned,
            index_price: s.index,
            index_pinned: s.index_pinned,
            last_price: s.last,
            funding_rate_ppb: self.funding_rate(m),
            last_funding_rate_ppb: s.last_rate_ppb,
            premium_samples: s.premium_count,
            next_funding_time: s.next_funding,
            open_interest: s.open_interest,
        })
    }

    fn levels(&self, s: &MarketState, side: Side, n: usize) -> Vec<(u64, u64)> {
        let mut v: Vec<(u64, u64)> = Vec::new();
        for ((k, _), id) in s.side_book(side).iter() {
            let p = if side == Side::Buy { u64::MAX - k } else { k };
            let q = self.orders.get(&id).map_or(0, |o| o.remaining());
            match v.last_mut() {
                Some(l) if l.0 == p => l.1 += q,
                _ => {
                    if v.len() == n {
                        break;
                    }
                    v.push((p, q));
                }
            }
        }
        v
    }

    pub fn best_bid_ask(&self, m: MarketId) -> Option<Bbo> {
        let s = self.markets.get(&m)?;
        Some(Bbo {
            bid: self.levels(s, Side::Buy, 1).first().copied(),
            ask: self.levels(s, Side::Sell, 1).first().copied(),
        })
    }

    pub fn depth(&self, m: MarketId, levels: usize) -> Option<Depth> {
        let s = self.markets.get(&m)?;
        Some(Depth { bids: self.levels(s, Side::Buy, levels), asks: self.levels(s, Side::Sell, levels) })
    }

    /// Newest last.
    pub fn recent_trades(&self, m: MarketId, limit: usize) -> Vec<Trade> {
        self.markets.get(&m).map_or_else(Vec::new, |s| {
            let skip = s.trades.len().saturating_sub(limit);
            s.trades.iter().skip(skip).copied().collect()
        })
    }

    pub fn has_account(&self, a: AccountId) -> bool {
        self.accounts.contains_key(&a)
    }

    /// Ascending.
    pub fn account_ids(&self) -> Vec<AccountId> {
        let mut v: Vec<AccountId> = self.accounts.keys().copied().collect();
        v.sort_unstable();
        v
    }

    /// Leverage and margin mode of an account in a market (defaults if never set).
    pub fn leverage(&self, a: AccountId, m: MarketId) -> (u32, MarginMode) {
        self.setting(a, m)
    }

    pub fn is_account_liquidating(&self, a: AccountId) -> bool {
        self.is_liquidating(a)
    }

    pub fn account_state(&self, a: AccountId) -> Option<AccountState> {
        let acc = self.accounts.get(&a)?;
        let t = self.totals(a);
        Some(AccountState {
            account: a,
            collateral: t.collateral,
            equity: t.collateral + t.cross_upnl + t.iso_margin + t.iso_upnl,
            cross_equity: t.cross_equity(),
            available: t.available(),
            withdrawable: t.withdrawable(),
            initial_margin: t.cross_im + t.iso_margin,
            cross_initial_margin: t.cross_im,
            maintenance_margin: t.cross_mm + t.iso_mm,
            cross_maintenance_margin: t.cross_mm,
            isolated_margin: t.iso_margin,
            unrealized_pnl: t.cross_upnl + t.iso_upnl,
            open_notional: t.cross_notional + t.iso_notional,
            frozen: t.frozen,
            liquidating: self.is_liquidating(a),
            settings: acc.settings.iter().map(|(m, (l, md))| (*m, *l, *md)).collect(),
        })
    }

    fn position_view(&self, a: AccountId, m: MarketId, p: &Position, active: bool) -> PositionView {
        let Some(s) = self.markets.get(&m) else {
            return PositionView::empty(p.id, a, m);
        };
        let spec = &s.spec;
        let q = spec.qptl();
        let mark = self.mark_or_last(m);
        let (upnl, notional) = if active { pos_value(spec, p.size, p.cost, mark) } else { (0, 0) };
        let im = ceil_div(notional, i128::from(p.leverage.max(1)));
        let mm = spec.maintenance(notional);
        let avg = |value: i128, lots: i128| if lots == 0 { 0 } else { floor_div(value * MICRO, lots * q) };
        let liq = if active && p.size != 0 {
            // Spec 6's formula, entry - side x margin / size / (1 - MMR x side), taken from the current mark so
            // that it is exact for one position in its scope: liq = (v - side x equity) / (|size| x qptl x
            // (1 - side x MMR)), v = |size| x mark x qptl, equity = the scope's (cross: collateral + cross uPnL,
            // other positions held constant; isolated: margin + uPnL). At mark = entry, equity is the margin.
            let equity = match p.mode {
                MarginMode::Isolated => p.margin + upnl,
                MarginMode::Cross => self.totals(a).cross_equity(),
            };
            let side = p.size.signum();
            let mmr = spec.tier(notional).mmr_e12;
            let num = (notional - side * equity) * E12 * MICRO;
            let den = p.size.abs() * q * (E12 - side * mmr);
            (den > 0).then(|| floor_div(num, den)).filter(|v| *v > 0)
        } else {
            None
        };
        PositionView {
            id: p.id,
            account: a,
            market: m,
            margin_mode: p.mode,
            leverage: p.leverage,
            size: p.size,
            long: p.size > 0,
            avg_entry_price_e6: avg(p.cost.abs(), p.size.abs()),
            entry_notional: p.cost,
            cum_open_cost: p.cum_open_cost,
            cum_trading_fee: p.fees,
            cum_closed_size: p.cum_closed,
            avg_close_price_e6: avg(p.close_value, p.cum_closed),
            max_size: p.max_size,
            realized_pnl: p.realized,
            cum_funding: p.funding,
            initial_margin: im,
            maintenance_margin: mm,
            margin: if p.mode == MarginMode::Isolated { p.margin } else { im },
            unrealized_pnl: upnl,
            mark_price: mark,
            liquidation_price_e6: liq,
            active,
            is_taken_over: p.taken_over,
            take_over_price: p.take_over_price,
            created_at: p.created,
            updated_at: p.updated,
        }
    }

    /// The account's open positions, by market.
    pub fn positions(&self, a: AccountId) -> Vec<PositionView> {
        self.markets
            .keys()
            .filter_map(|m| self.positions.get(&(*m, a)).map(|p| self.position_view(a, *m, p, true)))
            .collect()
    }

    pub fn position(&self, a: AccountId, m: MarketId) -> Option<PositionView> {
        self.positions.get(&(m, a)).map(|p| self.position_view(a, m, p, true))
    }

    /// Closed positions, oldest first (the last [`crate::PerpsConfig::history`]).
    pub fn position_history(&self, a: AccountId) -> Vec<PositionView> {
        self.accounts.get(&a).map_or_else(Vec::new, |acc| {
            acc.history
                .iter()
                .map(|c| PositionView { long: c.long, ..self.position_view(a, c.market, &c.pos, false) })
                .collect()
        })
    }

    /// Open positions of a market: (account, signed lots), by account.
    pub fn market_positions(&self, m: MarketId) -> Vec<(AccountId, i128)> {
        self.positions.range((m, 0)..=(m, AccountId::MAX)).map(|((_, a), p)| (*a, p.size)).collect()
    }

    /// Funding rows, oldest first.
    pub fn fundings(&self, a: AccountId) -> Vec<FundingRow> {
        self.accounts.get(&a).map_or_else(Vec::new, |acc| acc.fundings.iter().copied().collect())
    }

    fn order_view(&self, o: &Order) -> OrderView {
        OrderView {
            order_id: o.id,
            account: o.account,
            market: o.market,
            cl_ord_id: o.cl_ord_id,
            side: o.side,
            order_type: o.order_type,
            time_in_force: o.tif,
            stp: o.stp,
            status: o.status,
            price: o.price,
            quantity: o.quantity,
            filled: o.filled,
            executed_value: o.executed_value,
            margin_frozen: o.frozen,
            position_side: PositionSide::Both,
            reduce_only: o.reduce_only,
            modifier: o.modifier,
            stop: o.stop,
            primary_order_id: o.primary,
            attached_order_ids: o.attached.clone(),
            armed: o.armed,
            liquidation: o.liquidation,
            created_at: o.created,
            updated_at: o.updated,
        }
    }

    /// Open orders (stops included), in acceptance order.
    pub fn open_orders(&self, a: AccountId, m: Option<MarketId>) -> Vec<OrderView> {
        self.orders_of(a, m).iter().filter_map(|id| self.orders.get(id)).map(|o| self.order_view(o)).collect()
    }

    /// An open order, or a closed one still in the window of [`crate::PerpsConfig::closed_orders`].
    pub fn order(&self, id: OrderId) -> Option<OrderView> {
        self.orders.get(&id).or_else(|| self.closed.get(&id)).map(|o| self.order_view(o))
    }

    pub fn order_by_cl_ord_id(&self, a: AccountId, cl: &ClOrdId) -> Option<OrderView> {
        self.open_orders(a, None).into_iter().find(|o| o.cl_ord_id.as_ref() == Some(cl))
    }

    /// Recently closed orders of an account, newest first.
    pub fn closed_orders(&self, a: AccountId, limit: usize) -> Vec<OrderView> {
        self.closed.values().rev().filter(|o| o.account == a).take(limit).map(|o| self.order_view(o)).collect()
    }

    pub fn schedule_cancel(&self, a: AccountId) -> Option<u64> {
        self.accounts.get(&a).and_then(|x| x.deadline)
    }

    /// Net collateral transferred in (in minus out).
    pub fn supply(&self) -> i128 {
        self.supply
    }

    /// The value the engine holds, at any price: collateral + isolated margins + uPnL over all accounts (fee and
    /// insurance accounts included). Longs and shorts net to zero, so this is `collateral + margins - entry
    /// notionals`, and it always equals [`Perps::supply`].
    pub fn total_collateral(&self) -> i128 {
        let c: i128 = self.accounts.values().map(|a| a.collateral).sum();
        let p: i128 = self.positions.values().map(|p| p.margin - p.cost).sum();
        c + p
    }

    pub fn next_order_id(&self) -> OrderId {
        self.next_order
    }

    /// The open orders in id order (the table itself is a hash table).
    fn open_orders_by_id(&self) -> Vec<&Order> {
        let mut v: Vec<&Order> = self.orders.values().map(|o| &**o).collect();
        v.sort_unstable_by_key(|o| o.id);
        v
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            markets: self.markets.iter().map(|(k, v)| (*k, v.clone())).collect(),
            accounts: self
                .account_ids()
                .into_iter()
                .filter_map(|a| Some((a, self.accounts.get(&a)?.clone())))
                .collect(),
            positions: self.positions.iter().map(|(k, v)| (*k, v.clone())).collect(),
            orders: self.open_orders_by_id().into_iter().cloned().collect(),
            closed: self.closed.values().map(|o| (**o).clone()).collect(),
            deadlines: self.deadlines.iter().copied().collect(),
            liquidations: self.liquidations.iter().map(|((a, m), v)| (*a, *m, *v)).collect(),
            counters: [
                self.supply,
                i128::from(self.next_order),
                i128::from(self.next_trade),
                i128::from(self.next_position),
                i128::from(self.next_seq),
            ],
        }
    }

    /// FNV-1a of [`Perps::snapshot`] (sova-engine's digest hasher).
    pub fn digest(&self) -> u64 {
        let mut h = Fnv64::default();
        self.snapshot().hash(&mut h);
        h.finish()
    }

    /// Checks conservation, frozen sums, open interest, books and indexes. O(state); for tests.
    pub fn check_invariants(&self) -> Result<(), String> {
        if self.total_collateral() != self.supply {
            return Err(format!("conservation: held {} != supply {}", self.total_collateral(), self.supply));
        }
        let mut idx = self.liq.clone();
        idx.longs.retain(|_, s| !s.is_empty());
        idx.shorts.retain(|_, s| !s.is_empty());
        if idx != self.rebuilt_index() {
            return Err("liquidation index out of date".into());
        }
        let cl_index: BTreeSet<(AccountId, ClKey, OrderId)> =
            self.orders.values().filter_map(|o| o.cl_ord_id.map(|c| (o.account, cl_key(&c), o.id))).collect();
        if cl_index != self.cl_index.entries() {
            return Err("client id index out of date".into());
        }
        let ro_resting: BTreeSet<(AccountId, OrderId)> =
            self.orders.values().filter(|o| o.reduce_only && o.in_book).map(|o| (o.account, o.id)).collect();
        if ro_resting != self.ro_resting {
            return Err("resting reduce-only index out of date".into());
        }
        let mut frozen: BTreeMap<AccountId, i128> = BTreeMap::new();
        let mut count: BTreeMap<AccountId, usize> = BTreeMap::new();
        let mut open: Vec<(&OrderId, &Order)> = self.orders.iter().map(|(id, o)| (id, &**o)).collect();
        open.sort_unstable_by_key(|(id, _)| **id);
        for (id, o) in open {
            if *id != o.id || !o.status.is_open() || o.filled >= o.quantity {
                return Err(format!("order {id} is not a valid open order"));
            }
            if o.frozen < 0 {
                return Err(format!("order {id} frozen < 0"));
            }
            *frozen.entry(o.account).or_default() += o.frozen;
            *count.entry(o.account).or_default() += 1;
            let s = self.markets.get(&o.market).ok_or("order in unknown market")?;
            let in_book = s.side_book(o.side).get(&MarketState::book_key(o.side, o.price, o.seq)) == Some(id);
            if in_book != o.in_book {
                return Err(format!("order {id} book membership"));
            }
            if s.stops.contains(id) != o.untriggered() {
                return Err(format!("order {id} stop membership"));
            }
            if !self.accounts.get(&o.account).is_some_and(|a| a.orders.contains(id)) {
                return Err(format!("order {id} missing from its account"));
            }
        }
        for a in &self.account_ids() {
            let Some(acc) = self.accounts.get(a) else { continue };
            if acc.frozen != frozen.get(a).copied().unwrap_or(0) {
                return Err(format!("account {a} frozen {} != orders {:?}", acc.frozen, frozen.get(a)));
            }
            if acc.orders.len() != count.get(a).copied().unwrap_or(0) {
                return Err(format!("account {a} order set"));
            }
        }
        for (m, s) in &self.markets {
            let mut net = 0i128;
            let mut oi = 0i128;
            for ((_, a), p) in self.positions.range((*m, 0)..=(*m, AccountId::MAX)) {
                if p.size == 0 || p.cost.signum() != p.size.signum() && p.cost != 0 {
                    return Err(format!("position of {a} in {m}: size {} cost {}", p.size, p.cost));
                }
                if p.mode == MarginMode::Cross && p.margin != 0 {
                    return Err(format!("cross position of {a} holds margin"));
                }
                net += p.size;
                oi += p.size.max(0);
            }
            if net != 0 {
                return Err(format!("market {m}: longs and shorts differ by {net}"));
            }
            if oi != s.open_interest {
                return Err(format!("market {m}: open interest {} != {oi}", s.open_interest));
            }
            for id in s.bids.values().chain(s.asks.values()).chain(s.stops.iter()) {
                if !self.orders.contains_key(id) {
                    return Err(format!("market {m} holds closed order {id}"));
                }
            }
            if let (Some(b), Some(a)) = (s.best_bid(), s.best_ask())
                && b >= a
            {
                return Err(format!("market {m} crossed: {b} >= {a}"));
            }
        }
        Ok(())
    }
}

impl PositionView {
    fn empty(id: PositionId, account: AccountId, market: MarketId) -> PositionView {
        PositionView {
            id,
            account,
            market,
            margin_mode: MarginMode::Cross,
            leverage: 0,
            size: 0,
            long: false,
            avg_entry_price_e6: 0,
            entry_notional: 0,
            cum_open_cost: 0,
            cum_trading_fee: 0,
            cum_closed_size: 0,
            avg_close_price_e6: 0,
            max_size: 0,
            realized_pnl: 0,
            cum_funding: 0,
            initial_margin: 0,
            maintenance_margin: 0,
            margin: 0,
            unrealized_pnl: 0,
            mark_price: None,
            liquidation_price_e6: None,
            active: false,
            is_taken_over: false,
            take_over_price: 0,
            created_at: 0,
            updated_at: 0,
        }
    }
}

impl PerpMarketSpec {
    /// Micro-ticks as a decimal price string (e.g. an average entry price), truncated to the market's price
    /// decimals + 6.
    pub fn format_price_e6(&self, v: i128) -> String {
        let dec = self.config.market.price_decimals.saturating_add(6);
        let scaled = v.max(0) * i128::from(self.config.market.tick_size);
        match u64::try_from(scaled) {
            Ok(x) => sova_engine::format_decimal(x, dec),
            Err(_) => "0".into(),
        }
    }

    /// Signed quote atoms as a decimal string.
    pub fn format_quote_signed(&self, v: i128) -> String {
        let s =
            sova_engine::format_decimal(u64::try_from(v.unsigned_abs()).unwrap_or(u64::MAX), self.spec.quote_decimals);
        if v < 0 { format!("-{s}") } else { s }
    }
}
