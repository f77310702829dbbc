//! The live path: commands are checked, turned into events, and each event is applied through
//! [`Perps::apply_event`] before it is emitted.

use std::collections::{BTreeMap, BTreeSet};

use sova_engine::{
    AccountId, CancelItem, MarketId, OrderId, OrderRef, OrderType, ReplaceItem, Side, StpMode, TimeInForce, fee_of,
};

use crate::events::{Ack, Action, Command, Event, ItemResult, ModifyItem, NewOrder, OrderAccepted, Output, Trade};
use crate::state::{Account, MarketState, Order, Perps, Position, cl_key, must};
use crate::types::{
    CloseReason, MAX_PRICE, MAX_QUANTITY, MICRO, MarginMode, Modifier, OrderStatus, PPB, PerpMarketSpec, PositionSide,
    Reject, TriggerType, ceil_div, median3,
};

/// What an order's checks produced, ready to be accepted.
struct Prepared {
    order: NewOrder,
    quantity: u64,
    frozen: i128,
    primary: Option<OrderId>,
    liquidation: bool,
}

/// Margin totals of one account at the current marks (quote atoms).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Totals {
    pub collateral: i128,
    pub frozen: i128,
    pub cross_upnl: i128,
    pub cross_im: i128,
    pub cross_mm: i128,
    pub cross_notional: i128,
    pub cross_positions: usize,
    pub iso_margin: i128,
    pub iso_upnl: i128,
    pub iso_im: i128,
    pub iso_mm: i128,
    pub iso_notional: i128,
}

impl Totals {
    pub fn cross_equity(&self) -> i128 {
        self.collateral + self.cross_upnl
    }
    /// Margin left for new orders: cross equity - cross initial margin - frozen.
    pub fn available(&self) -> i128 {
        self.cross_equity() - self.cross_im - self.frozen
    }
    /// Spec section 7: equity - max(initial margin used, 10 % of open notional) - frozen, at most the
    /// collateral itself (unrealised profit is not cash).
    pub fn withdrawable(&self) -> i128 {
        let need = self.cross_im.max(ceil_div(self.cross_notional, 10));
        (self.cross_equity() - need - self.frozen).min(self.collateral).max(0)
    }
}

impl Perps {
    /// Applies one command.
    pub fn apply(&mut self, cmd: &Command) -> Output {
        let mut out = Output::default();
        self.apply_into(cmd, &mut out);
        out
    }

    /// Applies one command into a reused output (cleared first).
    pub fn apply_into(&mut self, cmd: &Command, out: &mut Output) {
        out.clear();
        let ts = cmd.ts;
        self.housekeeping(ts, out);
        match &cmd.action {
            Action::AddMarket(c) => {
                let r = if self.markets.contains_key(&c.market.id) {
                    Err(Reject::AlreadyExists)
                } else if PerpMarketSpec::new(c.clone(), self.cfg.collateral, self.cfg.collateral_decimals).is_none() {
                    Err(Reject::InvalidConfig)
                } else {
                    self.emit(Event::MarketAdded { config: c.clone(), ts }, out);
                    Ok(Ack::NONE)
                };
                out.results.push(r);
            }
            Action::TransferIn { account, amount } => {
                let r = if *amount == 0 {
                    Err(Reject::InvalidAmount)
                } else {
                    self.emit(Event::TransferredIn { account: *account, amount: *amount, ts }, out);
                    Ok(Ack::NONE)
                };
                out.results.push(r);
            }
            Action::TransferOut { account, amount } => {
                let r = self.cmd_transfer_out(*account, *amount, ts, out);
                out.results.push(r);
            }
            Action::UpdateLeverage { account, market, leverage, mode } => {
                let r = self.cmd_leverage(*account, *market, *leverage, *mode, ts, out);
                out.results.push(r);
            }
            Action::UpdateMargin { account, market, amount } => {
                let r = self.cmd_margin(*account, *market, *amount, ts, out);
                out.results.push(r);
            }
            Action::NewOrder { account, order } => {
                let r = self.cmd_new(*account, order, ts, out);
                out.results.push(r);
            }
            Action::BatchNew { account, orders } => self.cmd_batch(*account, orders, ts, out),
            Action::Cancel { account, cancel } => {
                let r = self.cmd_cancel(*account, cancel, ts, out);
                out.results.push(r);
            }
            Action::BatchCancel { account, cancels } => {
                for c in cancels {
                    let r = self.cmd_cancel(*account, c, ts, out);
                    out.results.push(r);
                }
            }
            Action::CancelAll { account, market } => {
                let r = if self.accounts.contains_key(account) {
                    let ids = self.orders_of(*account, *market);
                    for id in ids {
                        self.close_order(id, CloseReason::CancelAll, ts, out);
                    }
                    Ok(Ack::NONE)
                } else {
                    Err(Reject::UnknownAccount)
                };
                out.results.push(r);
            }
            Action::Modify { account, item } => {
                let r = self.cmd_modify(*account, item, ts, out);
                out.results.push(r);
            }
            Action::Replace { account, item } => {
                let r = self.cmd_replace(*account, item, ts, out);
                out.results.push(r);
            }
            Action::ScheduleCancel { account, deadline } => {
                let r = match deadline {
                    Some(d) if *d <= ts => Err(Reject::DeadlineNotInFuture),
                    _ if !self.accounts.contains_key(account) => Err(Reject::UnknownAccount),
                    _ => {
                        self.emit(Event::ScheduleCancelSet { account: *account, deadline: *deadline, ts }, out);
                        Ok(Ack::NONE)
                    }
                };
                out.results.push(r);
            }
            Action::SetIndex { market, price } => {
                let r = match self.markets.get(market) {
                    None => Err(Reject::UnknownMarket),
                    Some(_) if *price == 0 || *price > MAX_PRICE => Err(Reject::InvalidPrice),
                    Some(s) => {
                        if !s.index_pinned && s.index != Some(*price) {
                            self.emit(Event::IndexSet { market: *market, price: *price, ts }, out);
                        }
                        Ok(Ack::NONE)
                    }
                };
                out.results.push(r);
            }
            Action::PinIndex { market, price } | Action::PinMark { market, price } => {
                let r = if !self.markets.contains_key(market) {
                    Err(Reject::UnknownMarket)
                } else if price.is_some_and(|p| p == 0 || p > MAX_PRICE) {
                    Err(Reject::InvalidPrice)
                } else {
                    let ev = if matches!(cmd.action, Action::PinIndex { .. }) {
                        Event::IndexPinned { market: *market, price: *price, ts }
                    } else {
                        Event::MarkPinned { market: *market, price: *price, ts }
                    };
                    self.emit(ev, out);
                    Ok(Ack::NONE)
                };
                out.results.push(r);
            }
            Action::MarkTick { market } => {
                let r = self.for_markets(*market, |p, m| p.mark_tick(m, ts, out));
                out.results.push(r);
            }
            Action::SamplePremium { market } => {
                let r = self.for_markets(*market, |p, m| p.sample_premium(m, ts, out));
                out.results.push(r);
            }
            Action::SettleFunding { market } => {
                let r = self.for_markets(*market, |p, m| p.settle_funding(m, false, ts, out));
                out.results.push(r);
            }
            Action::Tick => {}
        }
        self.settle_effects(ts, out);
    }

    fn for_markets(&mut self, market: Option<MarketId>, mut f: impl FnMut(&mut Perps, MarketId)) -> ItemResult {
        let ms: Vec<MarketId> = match market {
            Some(m) if !self.markets.contains_key(&m) => return Err(Reject::UnknownMarket),
            Some(m) => vec![m],
            None => self.markets.keys().copied().collect(),
        };
        for m in ms {
            f(self, m);
        }
        Ok(Ack::NONE)
    }

    /// Applies and emits one event, noting what it touched for the end-of-command checks.
    pub(crate) fn emit(&mut self, ev: Event, out: &mut Output) {
        must(self.apply_event(&ev));
        match &ev {
            Event::Trade(t) => {
                self.dirty_accounts.push(t.maker_account);
                self.dirty_accounts.push(t.taker_account);
                self.dirty_markets.push(t.market);
            }
            Event::MarkUpdated { market, .. } | Event::MarkPinned { market, .. } => {
                self.mark_moved.insert(*market);
                self.dirty_markets.push(*market);
            }
            Event::FundingSettled { market, .. } => {
                self.mark_moved.insert(*market);
            }
            Event::IndexSet { market, .. } | Event::IndexPinned { market, .. } => {
                self.dirty_markets.push(*market);
            }
            Event::TransferredOut { account, .. } | Event::MarginMoved { account, .. } => {
                self.dirty_accounts.push(*account);
            }
            Event::CollateralMoved { from, to, .. } => {
                self.dirty_accounts.push(*from);
                self.dirty_accounts.push(*to);
            }
            Event::Adl { account, counterparty, .. } => {
                self.dirty_accounts.push(*account);
                self.dirty_accounts.push(*counterparty);
            }
            _ => {}
        }
        out.events.push(ev);
    }

    /// Before the command: dead-man switches, due funding settlements, liquidation slices whose time has come.
    fn housekeeping(&mut self, ts: u64, out: &mut Output) {
        while let Some(&(d, a)) = self.deadlines.first() {
            if d > ts {
                break;
            }
            self.emit(Event::ScheduleCancelFired { account: a, deadline: d, ts }, out);
            for id in self.orders_of(a, None) {
                self.close_order(id, CloseReason::ScheduleCancel, ts, out);
            }
        }
        if self.markets.values().any(|s| s.next_funding <= ts) {
            let due: Vec<MarketId> =
                self.markets.iter().filter(|(_, s)| s.next_funding <= ts).map(|(m, _)| *m).collect();
            for m in due {
                self.settle_funding(m, true, ts, out);
            }
        }
        if self.liquidations.values().any(|n| n.is_some_and(|n| n <= ts)) {
            let slices: Vec<(AccountId, Option<MarketId>)> =
                self.liquidations.iter().filter(|(_, n)| n.is_some_and(|n| n <= ts)).map(|(k, _)| *k).collect();
            for (a, scope) in slices {
                self.liquidate(a, scope, ts, out);
            }
        }
    }

    /// After the command: fire stops whose trigger price crossed, and liquidate accounts under maintenance, until
    /// nothing more happens.
    fn settle_effects(&mut self, ts: u64, out: &mut Output) {
        // Nothing touched (no fill, price or margin move): no stop can fire and nobody needs a check.
        if self.dirty_accounts.is_empty() && self.dirty_markets.is_empty() && self.mark_moved.is_empty() {
            return;
        }
        for _ in 0..256 {
            let a = self.run_stops(ts, out);
            let b = self.run_liquidation_checks(ts, out);
            if !a && !b {
                break;
            }
        }
        self.dirty_accounts.clear();
        self.dirty_markets.clear();
        self.mark_moved.clear();
    }

    // ----- accounts and margin -------------------------------------------------------------------------------

    pub(crate) fn mark_or_last(&self, m: MarketId) -> Option<u64> {
        self.markets.get(&m).and_then(|s| s.mark.or(s.last).or(s.index))
    }

    /// The account's totals at the current marks.
    pub(crate) fn totals(&self, a: AccountId) -> Totals {
        let mut t = Totals::default();
        let Some(acc) = self.accounts.get(&a) else { return t };
        t.collateral = acc.collateral;
        t.frozen = acc.frozen;
        for (m, s) in &self.markets {
            let Some(p) = self.positions.get(&(*m, a)) else { continue };
            let (upnl, notional) = pos_value(&s.spec, p.size, p.cost, self.mark_or_last(*m));
            let im = ceil_div(notional, i128::from(p.leverage.max(1)));
            let mm = s.spec.maintenance(notional);
            if p.mode == MarginMode::Cross {
                t.cross_upnl += upnl;
                t.cross_im += im;
                t.cross_mm += mm;
                t.cross_notional += notional;
                t.cross_positions += 1;
            } else {
                t.iso_margin += p.margin;
                t.iso_upnl += upnl;
                t.iso_im += im;
                t.iso_mm += mm;
                t.iso_notional += notional;
            }
        }
        t
    }

    /// [`Totals::available`] without the rest of the totals (the margin check of every order): collateral + cross
    /// uPnL - cross initial margin - frozen.
    /// `known`: the account's position in one market, already looked up.
    pub(crate) fn available(&self, a: AccountId, acc: &Account, known: Option<(MarketId, Option<&Position>)>) -> i128 {
        let mut v = acc.collateral - acc.frozen;
        for (m, s) in &self.markets {
            let p = match known {
                Some((km, kp)) if km == *m => kp,
                _ => self.positions.get(&(*m, a)),
            };
            let Some(p) = p else { continue };
            if p.mode != MarginMode::Cross {
                continue;
            }
            let (upnl, notional) = pos_value(&s.spec, p.size, p.cost, s.mark.or(s.last).or(s.index));
            v += upnl - ceil_div(notional, i128::from(p.leverage.max(1)));
        }
        v
    }

    /// [`Perps::available`] by account id (0 for an unknown account, as [`Perps::totals`]).
    pub(crate) fn available_of(&self, a: AccountId) -> i128 {
        self.accounts.get(&a).map_or(0, |acc| self.available(a, acc, None))
    }

    fn cmd_transfer_out(&mut self, a: AccountId, amount: u64, ts: u64, out: &mut Output) -> ItemResult {
        if amount == 0 {
            return Err(Reject::InvalidAmount);
        }
        if !self.accounts.contains_key(&a) {
            return Err(Reject::UnknownAccount);
        }
        if self.is_liquidating(a) {
            return Err(Reject::AccountLiquidating);
        }
        if i128::from(amount) > self.totals(a).withdrawable() {
            return Err(Reject::InsufficientBalance);
        }
        self.emit(Event::TransferredOut { account: a, amount, ts }, out);
        Ok(Ack::NONE)
    }

    fn cmd_leverage(
        &mut self,
        a: AccountId,
        m: MarketId,
        leverage: u32,
        mode: MarginMode,
        ts: u64,
        out: &mut Output,
    ) -> ItemResult {
        let s = self.markets.get(&m).ok_or(Reject::UnknownMarket)?;
        if leverage == 0 || leverage > s.spec.config.max_leverage {
            return Err(Reject::LeverageOutOfRange);
        }
        if self.is_liquidating(a) {
            return Err(Reject::AccountLiquidating);
        }
        let (cur, cur_mode) = self.setting(a, m);
        let pos = self.positions.get(&(m, a));
        if mode != cur_mode && (pos.is_some() || !self.orders_of(a, Some(m)).is_empty()) {
            return Err(Reject::PositionOpen);
        }
        if let Some(p) = pos
            && leverage < cur
        {
            let (_, notional) = pos_value(&s.spec, p.size, p.cost, self.mark_or_last(m));
            let new_im = ceil_div(notional, i128::from(leverage));
            let fits = match p.mode {
                MarginMode::Isolated => p.margin >= new_im,
                MarginMode::Cross => {
                    let old_im = ceil_div(notional, i128::from(p.leverage.max(1)));
                    self.available_of(a) - (new_im - old_im) >= 0
                }
            };
            if !fits {
                return Err(Reject::InsufficientMargin);
            }
        }
        self.emit(Event::LeverageSet { account: a, market: m, leverage, mode, ts }, out);
        Ok(Ack::NONE)
    }

    fn cmd_margin(&mut self, a: AccountId, m: MarketId, amount: i64, ts: u64, out: &mut Output) -> ItemResult {
        let s = self.markets.get(&m).ok_or(Reject::UnknownMarket)?;
        if self.is_liquidating(a) {
            return Err(Reject::AccountLiquidating);
        }
        let p = self.positions.get(&(m, a)).ok_or(Reject::NoPosition)?;
        if p.mode != MarginMode::Isolated {
            return Err(Reject::NotIsolated);
        }
        if amount == 0 {
            return Err(Reject::InvalidAmount);
        }
        let amount = i128::from(amount);
        if amount > 0 {
            if amount > self.available_of(a) {
                return Err(Reject::InsufficientMargin);
            }
        } else {
            let (_, notional) = pos_value(&s.spec, p.size, p.cost, self.mark_or_last(m));
            let im = ceil_div(notional, i128::from(p.leverage.max(1)));
            let floor = im.max(ceil_div(notional, 10));
            if p.margin + amount < floor {
                return Err(Reject::InsufficientMargin);
            }
        }
        self.emit(Event::MarginMoved { account: a, market: m, amount, ts }, out);
        Ok(Ack::NONE)
    }

    pub(crate) fn is_liquidating(&self, a: AccountId) -> bool {
        self.liquidations.range((a, None)..=(a, Some(MarketId::MAX))).next().is_some()
    }

    /// Open order ids of an account, in one market or all, ascending.
    pub(crate) fn orders_of(&self, a: AccountId, m: Option<MarketId>) -> Vec<OrderId> {
        let Some(acc) = self.accounts.get(&a) else { return Vec::new() };
        acc.orders
            .iter()
            .filter(|id| m.is_none_or(|m| self.orders.get(id).is_some_and(|o| o.market == m)))
            .copied()
            .collect()
    }

    /// Lots an order on `side` may still reduce: the position's size if it is on the other side, else 0.
    fn reducible(&self, a: AccountId, m: MarketId, side: Side) -> u64 {
        reducible_of(self.positions.get(&(m, a)), side)
    }

    /// Margin an opening order freezes: `notional / leverage` for the part that would open (or add to) the
    /// position plus the taker fee on the whole, at the order's price (a market order: the worst price it could
    /// reach in the book now). 0 when nothing can open.
    fn frozen_for(&self, a: AccountId, m: MarketId, side: Side, price: Option<u64>, qty: u64) -> i128 {
        let Some(s) = self.markets.get(&m) else { return 0 };
        let (lev, _) = self.setting(a, m);
        self.frozen_in(s, self.reducible(a, m, side), lev, side, price, qty)
    }

    /// [`Perps::frozen_for`] with the market, the lots the order may reduce and the leverage already looked up.
    fn frozen_in(&self, s: &MarketState, reducible: u64, lev: u32, side: Side, price: Option<u64>, qty: u64) -> i128 {
        let refp = match price {
            Some(p) => p,
            None => match side {
                // Highest ask a buy would reach for `qty`; a sell's largest notional is at the best bid.
                Side::Buy => {
                    let mut left = qty;
                    let mut worst = 0;
                    for ((p, _), id) in s.asks.iter() {
                        worst = p;
                        left = left.saturating_sub(self.orders.get(&id).map_or(0, |o| o.remaining()));
                        if left == 0 {
                            break;
                        }
                    }
                    worst
                }
                Side::Sell => s.best_bid().unwrap_or(0),
            },
        };
        if refp == 0 {
            return 0;
        }
        let open = qty.saturating_sub(reducible);
        let im = ceil_div(s.spec.notional(refp, open), i128::from(lev.max(1)));
        let fee = fee_i(s.spec.notional(refp, qty), s.spec.config.market.taker_fee_ppm);
        im + fee
    }

    // ----- orders ---------------------------------------------------------------------------------------------

    fn cmd_new(&mut self, a: AccountId, o: &NewOrder, ts: u64, out: &mut Output) -> ItemResult {
        if matches!(o.modifier, Modifier::Bracket | Modifier::AttachedStop) {
            return Err(Reject::BracketMalformed);
        }
        let p = self.prepare(a, o, None, 0, None, false)?;
        Ok(self.submit(a, p, ts, out))
    }

    fn cmd_batch(&mut self, a: AccountId, orders: &[NewOrder], ts: u64, out: &mut Output) {
        if orders.first().is_some_and(|o| o.modifier == Modifier::Bracket) {
            let r = self.place_bracket(a, orders, ts, out);
            match r {
                Ok(acks) => out.results.extend(acks.into_iter().map(Ok)),
                Err(e) => out.results.extend(orders.iter().map(|_| Err(e))),
            }
            return;
        }
        for o in orders {
            let r = self.cmd_new(a, o, ts, out);
            out.results.push(r);
        }
    }

    /// A bracket: the primary (a normal order) and up to two attached stops (one STOP_LOSS, one TAKE_PROFIT) on
    /// the other side, reduce-only, quantity at most the primary's. All or nothing.
    fn place_bracket(
        &mut self,
        a: AccountId,
        orders: &[NewOrder],
        ts: u64,
        out: &mut Output,
    ) -> Result<Vec<Ack>, Reject> {
        let (primary, att) = orders.split_first().ok_or(Reject::BracketMalformed)?;
        if att.len() > 2 || primary.stop.is_some() || primary.reduce_only {
            return Err(Reject::BracketMalformed);
        }
        let mut types = BTreeSet::new();
        for c in att {
            let st = c.stop.ok_or(Reject::BracketMalformed)?;
            if c.modifier != Modifier::AttachedStop
                || c.market != primary.market
                || c.side != primary.side.opposite()
                || c.quantity == 0
                || c.quantity > primary.quantity
                || !types.insert(st.stop_type)
            {
                return Err(Reject::BracketMalformed);
            }
        }
        let base = NewOrder { modifier: Modifier::Normal, ..*primary };
        let prep = self.prepare(a, &base, None, 0, None, false)?;
        let mut preps = Vec::new();
        for c in att {
            // Checked now (as if the primary were id `next_order`); accepted after it.
            let cp = self.prepare(a, c, None, 0, Some(self.next_order), false)?;
            preps.push(cp);
        }
        let pid = self.next_order;
        let ev = self.accept_event(a, &prep, ts);
        self.emit(Event::OrderAccepted(ev), out);
        let mut ids = vec![pid];
        for mut cp in preps {
            cp.order.modifier = Modifier::AttachedStop;
            cp.primary = Some(pid);
            ids.push(self.next_order);
            let ev = self.accept_event(a, &cp, ts);
            self.emit(Event::OrderAccepted(ev), out);
        }
        self.run_order(pid, ts, out);
        Ok(ids.into_iter().map(|id| Ack { order_id: Some(id), status: Some(self.status_of(id)) }).collect())
    }

    /// Checks a new order. `extra` margin counts as available (a replaced order's frozen); `ignore` is an open
    /// order that does not count (the one being replaced).
    fn prepare(
        &self,
        a: AccountId,
        o: &NewOrder,
        ignore: Option<OrderId>,
        extra: i128,
        primary: Option<OrderId>,
        liquidation: bool,
    ) -> Result<Prepared, Reject> {
        let s = self.markets.get(&o.market).ok_or(Reject::UnknownMarket)?;
        let acc = self.accounts.get(&a).ok_or(Reject::UnknownAccount)?;
        if o.position_side != PositionSide::Both {
            return Err(Reject::PositionSideUnsupported);
        }
        if !liquidation && self.is_liquidating(a) {
            return Err(Reject::AccountLiquidating);
        }
        if o.quantity == 0 || o.quantity > MAX_QUANTITY {
            return Err(Reject::InvalidQuantity);
        }
        match (o.order_type, o.price) {
            (OrderType::Limit, Some(p)) if p > 0 && p <= MAX_PRICE => {}
            (OrderType::Market, None) => {}
            _ => return Err(Reject::InvalidPrice),
        }
        if o.order_type == OrderType::Market && o.time_in_force == TimeInForce::Gtx {
            return Err(Reject::InvalidTimeInForce);
        }
        let is_stop = matches!(o.modifier, Modifier::Stop | Modifier::AttachedStop);
        match (is_stop, o.stop) {
            (true, Some(st)) if st.stop_price > 0 && st.stop_price <= MAX_PRICE => {
                if o.modifier == Modifier::Stop {
                    let now = match st.trigger {
                        TriggerType::Last => s.last,
                        TriggerType::Mark => s.mark,
                        TriggerType::Index => s.index,
                    };
                    if now.is_some_and(|p| st.fires(o.side, p)) {
                        return Err(Reject::InvalidStop);
                    }
                }
            }
            (false, None) => {}
            _ => return Err(Reject::InvalidStop),
        }
        if let Some(cl) = o.cl_ord_id.as_ref().map(cl_key)
            && self.cl_index.ids(a, cl).any(|id| Some(id) != ignore)
        {
            return Err(Reject::DuplicateClOrdId);
        }
        let count = acc.orders.len() - usize::from(ignore.is_some());
        if !liquidation && count >= self.cfg.max_open_orders as usize {
            return Err(Reject::TooManyOpenOrders);
        }
        if let Some(p) = o.price {
            let n = u128::from(p)
                .checked_mul(u128::from(o.quantity))
                .and_then(|v| v.checked_mul(u128::from(s.spec.spec.quote_per_tick_lot)));
            let n = n.filter(|v| *v < 1u128 << 100).ok_or(Reject::Overflow)?;
            if !liquidation && n < u128::from(s.spec.config.market.min_notional) {
                return Err(Reject::MinNotional);
            }
        } else if o.quantity > 1u64 << 50 {
            return Err(Reject::Overflow);
        }
        // One lookup each of the position and the leverage setting (as `reducible` and `setting`).
        let pos = self.positions.get(&(o.market, a));
        let reducible = reducible_of(pos, o.side);
        let mut quantity = o.quantity;
        if o.reduce_only && o.modifier != Modifier::AttachedStop {
            let r = reducible;
            if r == 0 {
                return Err(Reject::ReduceOnlyWouldIncrease);
            }
            if !is_stop {
                quantity = quantity.min(r);
            }
        }
        if o.time_in_force == TimeInForce::Gtx && !is_stop && self.crosses(o.market, o.side, o.price) {
            return Err(Reject::PostOnlyWouldTake);
        }
        let lev = acc.settings.get(&o.market).map_or(s.spec.config.init_leverage, |x| x.0);
        if !o.reduce_only && !liquidation {
            // Margin tiers cap the leverage of large positions (checked when a position opens or grows).
            let open = quantity.saturating_sub(reducible);
            let held = pos.map_or(0, |p| p.size.unsigned_abs());
            let refp = o.price.or(s.mark).or(s.last).unwrap_or(0);
            let lots = i128::try_from(held).unwrap_or(i128::MAX).saturating_add(i128::from(open));
            let notional = i128::from(refp).saturating_mul(lots).saturating_mul(s.spec.qptl());
            if open > 0 && lev > s.spec.tier(notional).max_leverage {
                return Err(Reject::LeverageOutOfRange);
            }
        }
        let frozen = if o.reduce_only || is_stop || liquidation {
            0
        } else {
            let f = self.frozen_in(s, reducible, lev, o.side, o.price, quantity);
            if f > self.available(a, acc, Some((o.market, pos))) + extra {
                return Err(Reject::InsufficientMargin);
            }
            f
        };
        Ok(Prepared { order: *o, quantity, frozen, primary, liquidation })
    }

    fn accept_event(&self, a: AccountId, p: &Prepared, ts: u64) -> OrderAccepted {
        let o = &p.order;
        let tif = if o.order_type == OrderType::Market && o.time_in_force == TimeInForce::Gtc {
            TimeInForce::Ioc
        } else {
            o.time_in_force
        };
        OrderAccepted {
            order_id: self.next_order,
            account: a,
            market: o.market,
            cl_ord_id: o.cl_ord_id,
            side: o.side,
            order_type: o.order_type,
            time_in_force: tif,
            stp: o.stp,
            price: o.price.unwrap_or(0),
            quantity: p.quantity,
            reduce_only: o.reduce_only,
            modifier: o.modifier,
            stop: o.stop,
            primary: p.primary,
            liquidation: p.liquidation,
            frozen: p.frozen,
            ts,
        }
    }

    /// Accepts a prepared order and runs it (stops wait off the book).
    fn submit(&mut self, a: AccountId, p: Prepared, ts: u64, out: &mut Output) -> Ack {
        let id = self.next_order;
        let stop = matches!(p.order.modifier, Modifier::Stop | Modifier::AttachedStop);
        let ev = self.accept_event(a, &p, ts);
        self.emit(Event::OrderAccepted(ev), out);
        if !stop {
            self.run_order(id, ts, out);
        }
        Ack { order_id: Some(id), status: Some(self.status_of(id)) }
    }

    pub(crate) fn status_of(&self, id: OrderId) -> OrderStatus {
        if let Some(o) = self.orders.get(&id) {
            return o.status;
        }
        match self.last_closed {
            Some((c, status)) if c == id => status,
            _ => self.closed.get(&id).map_or(OrderStatus::Rejected, |o| o.status),
        }
    }

    fn crosses(&self, m: MarketId, side: Side, price: Option<u64>) -> bool {
        let Some(s) = self.markets.get(&m) else { return false };
        match (side, price) {
            (Side::Buy, Some(p)) => s.best_ask().is_some_and(|a| a <= p),
            (Side::Sell, Some(p)) => s.best_bid().is_some_and(|b| b >= p),
            (Side::Buy, None) => s.best_ask().is_some(),
            (Side::Sell, None) => s.best_bid().is_some(),
        }
    }

    /// Matches an accepted (or triggered, or re-queued) order as a taker, then rests or closes it.
    fn run_order(&mut self, id: OrderId, ts: u64, out: &mut Output) {
        let Some(o) = self.orders.get(&id) else { return };
        let (m, side, limit, tif) = (o.market, o.side, (o.order_type == OrderType::Limit).then_some(o.price), o.tif);
        if tif == TimeInForce::Fok && !self.fok_fillable(m, side, limit, o.remaining()) {
            self.close_order(id, CloseReason::FokUnfilled, ts, out);
            return;
        }
        let end = self.match_taker(id, ts, out);
        let Some(o) = self.orders.get(&id) else { return };
        let reason = if o.remaining() == 0 {
            Some(CloseReason::Filled)
        } else if let Some(r) = end {
            Some(r)
        } else if o.order_type == OrderType::Market || matches!(o.tif, TimeInForce::Ioc | TimeInForce::Fok) {
            Some(CloseReason::Unfilled)
        } else {
            None
        };
        match reason {
            Some(r) => self.close_order(id, r, ts, out),
            None => self.emit(Event::OrderRested { order_id: id, ts }, out),
        }
    }

    fn fok_fillable(&self, m: MarketId, side: Side, limit: Option<u64>, qty: u64) -> bool {
        let Some(s) = self.markets.get(&m) else { return false };
        let mut left = qty;
        for ((k, _), oid) in s.side_book(side.opposite()).iter() {
            let p = if side == Side::Buy { k } else { u64::MAX - k };
            if limit.is_some_and(|l| if side == Side::Buy { p > l } else { p < l }) {
                break;
            }
            left = left.saturating_sub(self.orders.get(&oid).map_or(0, |o| o.remaining()));
            if left == 0 {
                return true;
            }
        }
        false
    }

    /// The matching loop. Returns a close reason when the taker must stop early (self-trade, reduce-only).
    fn match_taker(&mut self, id: OrderId, ts: u64, out: &mut Output) -> Option<CloseReason> {
        loop {
            let o = self.orders.get(&id)?;
            let (a, m, side, rem) = (o.account, o.market, o.side, o.remaining());
            let limit = (o.order_type == OrderType::Limit).then_some(o.price);
            let (stp, ro) = (o.stp, o.reduce_only);
            if rem == 0 {
                return None;
            }
            let cap = if ro { self.reducible(a, m, side) } else { u64::MAX };
            if cap == 0 {
                return Some(CloseReason::ReduceOnly);
            }
            let s = self.markets.get(&m)?;
            let ((k, _), mid) = s.side_book(side.opposite()).iter().next()?;
            // The best maker's price, from its book key (asks by price, bids by u64::MAX - price).
            let best = if side == Side::Buy { k } else { u64::MAX - k };
            if limit.is_some_and(|l| if side == Side::Buy { best > l } else { best < l }) {
                return None;
            }
            let mo = self.orders.get(&mid)?;
            if mo.account == a {
                match stp {
                    StpMode::CancelMaker => {
                        self.close_order(mid, CloseReason::SelfTrade, ts, out);
                        continue;
                    }
                    StpMode::CancelTaker => return Some(CloseReason::SelfTrade),
                    StpMode::CancelBoth => {
                        self.close_order(mid, CloseReason::SelfTrade, ts, out);
                        return Some(CloseReason::SelfTrade);
                    }
                }
            }
            let (ma, mprice, mrem, mro) = (mo.account, mo.price, mo.remaining(), mo.reduce_only);
            let mcap = if mro { self.reducible(ma, m, side.opposite()) } else { u64::MAX };
            if mcap == 0 {
                self.close_order(mid, CloseReason::ReduceOnly, ts, out);
                continue;
            }
            let qty = rem.min(mrem).min(cap).min(mcap);
            let notional = s.spec.notional(mprice, qty);
            let fees = &s.spec.config.market;
            let t = Trade {
                trade_id: self.next_trade,
                market: m,
                price: mprice,
                quantity: qty,
                notional,
                taker_side: side,
                maker_order: mid,
                taker_order: id,
                maker_account: ma,
                taker_account: a,
                maker_fee: fee_i(notional, fees.maker_fee_ppm),
                taker_fee: fee_i(notional, fees.taker_fee_ppm),
                ts,
            };
            self.emit(Event::Trade(t), out);
            if self.orders.get(&mid).is_some_and(|o| o.remaining() == 0) {
                self.close_order(mid, CloseReason::Filled, ts, out);
            }
            self.cut_reduce_only(ma, m, Some(id), ts, out);
            self.cut_reduce_only(a, m, Some(id), ts, out);
        }
    }

    /// Resting reduce-only orders of the account are cut to its position (closed if it is flat or on their side).
    fn cut_reduce_only(&mut self, a: AccountId, m: MarketId, skip: Option<OrderId>, ts: u64, out: &mut Output) {
        let resting = self.ro_resting.range((a, 0)..=(a, OrderId::MAX)).map(|(_, id)| *id);
        let cut = |id: &OrderId| Some(*id) != skip && self.orders.get(id).is_some_and(|o| o.market == m);
        if !resting.clone().any(|id| cut(&id)) {
            return;
        }
        let ids: Vec<OrderId> = resting.filter(cut).collect();
        for id in ids {
            let Some(o) = self.orders.get(&id) else { continue };
            let r = self.reducible(a, m, o.side);
            if r == 0 {
                self.close_order(id, CloseReason::ReduceOnly, ts, out);
            } else if o.remaining() > r {
                let q = o.filled + r;
                self.emit(Event::OrderReduced { order_id: id, quantity: q, ts }, out);
            }
        }
    }

    /// Closes an open order; a bracket primary that dies unfilled takes its attached stops with it.
    pub(crate) fn close_order(&mut self, id: OrderId, reason: CloseReason, ts: u64, out: &mut Output) {
        let Some(o) = self.orders.get(&id) else { return };
        let att = if o.filled == 0 { o.attached.clone() } else { Vec::new() };
        self.emit(Event::OrderClosed { order_id: id, reason, ts }, out);
        for c in att {
            if self.orders.get(&c).is_some_and(|x| x.untriggered()) {
                self.emit(Event::OrderClosed { order_id: c, reason: CloseReason::BracketVoid, ts }, out);
            }
        }
    }

    /// The account's open order in market `m` named by `r` (by client id: the lowest such order id).
    fn resolve(&self, a: AccountId, m: MarketId, r: &OrderRef) -> Result<OrderId, Reject> {
        self.resolve_order(a, m, r).map(|o| o.id)
    }

    /// [`Perps::resolve`], returning the order.
    fn resolve_order(&self, a: AccountId, m: MarketId, r: &OrderRef) -> Result<&Order, Reject> {
        if !self.markets.contains_key(&m) {
            return Err(Reject::UnknownMarket);
        }
        match r {
            OrderRef::Id(x) => {
                self.orders.get(x).map(|o| &**o).filter(|o| o.account == a && o.market == m).ok_or(Reject::UnknownOrder)
            }
            OrderRef::ClOrdId(c) => self
                .cl_index
                .ids(a, cl_key(c))
                .find_map(|id| self.orders.get(&id).map(|o| &**o).filter(|o| o.market == m))
                .ok_or(Reject::UnknownOrder),
        }
    }

    fn cmd_cancel(&mut self, a: AccountId, c: &CancelItem, ts: u64, out: &mut Output) -> ItemResult {
        let id = self.resolve(a, c.market, &c.target)?;
        self.close_order(id, CloseReason::Canceled, ts, out);
        Ok(Ack { order_id: Some(id), status: Some(self.status_of(id)) })
    }

    fn cmd_modify(&mut self, a: AccountId, item: &ModifyItem, ts: u64, out: &mut Output) -> ItemResult {
        let o = self.resolve_order(a, item.market, &item.target)?;
        let id = o.id;
        if self.is_liquidating(a) {
            return Err(Reject::AccountLiquidating);
        }
        if o.order_type != OrderType::Limit {
            return Err(Reject::InvalidPrice);
        }
        let price = item.price.unwrap_or(o.price);
        let quantity = item.quantity.unwrap_or(o.quantity);
        if price == 0 || price > MAX_PRICE {
            return Err(Reject::InvalidPrice);
        }
        if quantity <= o.filled || quantity > MAX_QUANTITY {
            return Err(Reject::InvalidQuantity);
        }
        let s = self.markets.get(&item.market).ok_or(Reject::UnknownMarket)?;
        let n = u128::from(price) * u128::from(quantity) * u128::from(s.spec.spec.quote_per_tick_lot);
        if n < u128::from(s.spec.config.market.min_notional) {
            return Err(Reject::MinNotional);
        }
        // A reduce-only order never grows past the position.
        let quantity =
            if o.reduce_only { quantity.min(o.filled + self.reducible(a, o.market, o.side)) } else { quantity };
        if quantity <= o.filled {
            return Err(Reject::ReduceOnlyWouldIncrease);
        }
        let keep = price == o.price && quantity <= o.quantity;
        let requeue = o.in_book && !keep;
        if requeue && o.tif == TimeInForce::Gtx && self.crosses(o.market, o.side, Some(price)) {
            return Err(Reject::PostOnlyWouldTake);
        }
        let frozen = if o.reduce_only || o.untriggered() {
            0
        } else {
            let f = self.frozen_for(a, o.market, o.side, Some(price), quantity - o.filled);
            if f > self.available_of(a) + o.frozen {
                return Err(Reject::InsufficientMargin);
            }
            f
        };
        self.emit(Event::OrderModified { order_id: id, price, quantity, frozen, requeue, ts }, out);
        if requeue {
            self.run_order(id, ts, out);
        }
        Ok(Ack { order_id: Some(id), status: Some(self.status_of(id)) })
    }

    fn cmd_replace(&mut self, a: AccountId, item: &ReplaceItem, ts: u64, out: &mut Output) -> ItemResult {
        let o = self.resolve_order(a, item.market, &item.orig)?;
        let id = o.id;
        if o.order_type != OrderType::Limit || o.untriggered() {
            return Err(Reject::InvalidPrice);
        }
        let n = NewOrder {
            market: o.market,
            cl_ord_id: item.cl_ord_id.or(o.cl_ord_id),
            side: o.side,
            order_type: OrderType::Limit,
            time_in_force: o.tif,
            price: Some(item.price.unwrap_or(o.price)),
            quantity: item.quantity.unwrap_or(o.remaining()),
            reduce_only: o.reduce_only,
            position_side: PositionSide::Both,
            modifier: Modifier::Normal,
            stop: None,
            stp: o.stp,
        };
        let p = self.prepare(a, &n, Some(id), o.frozen, None, false)?;
        self.close_order(id, CloseReason::Replaced, ts, out);
        Ok(self.submit(a, p, ts, out))
    }

    // ----- stops ----------------------------------------------------------------------------------------------

    fn run_stops(&mut self, ts: u64, out: &mut Output) -> bool {
        let mut markets = std::mem::take(&mut self.dirty_markets);
        markets.sort_unstable();
        markets.dedup();
        let mut any = false;
        for &m in &markets {
            let Some(s) = self.markets.get(&m) else { continue };
            let fired: Vec<OrderId> = s
                .stops
                .iter()
                .filter(|id| {
                    self.orders.get(id).is_some_and(|o| {
                        let Some(st) = o.stop else { return false };
                        let now = match st.trigger {
                            TriggerType::Last => s.last,
                            TriggerType::Mark => s.mark,
                            TriggerType::Index => s.index,
                        };
                        let armed = o.modifier != Modifier::AttachedStop || o.armed > 0;
                        armed && now.is_some_and(|p| st.fires(o.side, p))
                    })
                })
                .copied()
                .collect();
            for id in fired {
                if self.orders.get(&id).is_some_and(|o| o.untriggered()) {
                    self.fire_stop(id, ts, out);
                    any = true;
                }
            }
        }
        if self.dirty_markets.is_empty() {
            markets.clear();
            self.dirty_markets = markets;
        }
        any
    }

    fn fire_stop(&mut self, id: OrderId, ts: u64, out: &mut Output) {
        let Some(o) = self.orders.get(&id) else { return };
        let (a, m, side, price, qty) =
            (o.account, o.market, o.side, (o.order_type == OrderType::Limit).then_some(o.price), o.quantity);
        if o.modifier == Modifier::AttachedStop {
            let armed = o.armed;
            // OCO: the sibling dies.
            let siblings: Vec<OrderId> = o
                .primary
                .and_then(|p| self.orders.get(&p).or_else(|| self.closed.get(&p)))
                .map(|p| p.attached.iter().copied().filter(|c| *c != id).collect())
                .unwrap_or_default();
            for c in siblings {
                if self.orders.contains_key(&c) {
                    self.close_order(c, CloseReason::BracketVoid, ts, out);
                }
            }
            if armed < qty {
                self.emit(Event::OrderReduced { order_id: id, quantity: armed, ts }, out);
            }
        }
        let Some(o) = self.orders.get(&id) else { return };
        let frozen = if o.reduce_only {
            if self.reducible(a, m, side) == 0 {
                self.close_order(id, CloseReason::ReduceOnly, ts, out);
                return;
            }
            0
        } else {
            let f = self.frozen_for(a, m, side, price, o.quantity);
            if f > self.available_of(a) {
                self.close_order(id, CloseReason::InsufficientMargin, ts, out);
                return;
            }
            f
        };
        self.emit(Event::StopTriggered { order_id: id, frozen, ts }, out);
        self.run_order(id, ts, out);
    }

    // ----- prices and funding ---------------------------------------------------------------------------------

    /// Spec section 5: mark = median(index + EMA150s(mid - index), median(bid, ask, last), EMA30s of the latter).
    fn mark_tick(&mut self, m: MarketId, ts: u64, out: &mut Output) {
        let Some(s) = self.markets.get(&m) else { return };
        if s.mark_pinned {
            return;
        }
        let (bid, ask, last) = (s.best_bid(), s.best_ask(), s.last);
        let book: Vec<i128> = [bid, ask, last].iter().flatten().map(|p| i128::from(*p) * MICRO).collect();
        let mid = match (bid, ask) {
            (Some(b), Some(a)) => Some((i128::from(b) + i128::from(a)) * MICRO / 2),
            _ => None,
        };
        let index = s.index.map(|i| i128::from(i) * MICRO).or(mid).or(last.map(|l| i128::from(l) * MICRO));
        let Some(index) = index else { return };
        let b = match book.len() {
            0 => index,
            1 => book[0],
            2 => (book[0] + book[1]) / 2,
            _ => median3(book[0], book[1], book[2]),
        };
        let basis = mid.map_or(0, |x| x - index);
        let (basis_ema, book_ema) = match s.mark_ts {
            None => (basis, b),
            Some(t0) => {
                let dt = i128::from(ts.saturating_sub(t0));
                (ema(s.basis_ema, basis, dt, 150_000), ema(s.book_ema, b, dt, 30_000))
            }
        };
        let mark_micro = median3(index + basis_ema, b, book_ema);
        let mark = u64::try_from(((mark_micro + MICRO / 2) / MICRO).max(1)).unwrap_or(u64::MAX);
        self.emit(Event::MarkUpdated { market: m, mark, basis_ema, book_ema, ts }, out);
    }

    /// Spec section 5's premium: `[max(impact bid - index, 0) - max(index - impact ask, 0)] / index`, ppb.
    fn sample_premium(&mut self, m: MarketId, ts: u64, out: &mut Output) {
        let Some(s) = self.markets.get(&m) else { return };
        let Some(index) = s.index else { return };
        let idx = i128::from(index) * MICRO;
        let ib = self.impact_price(m, Side::Buy).map_or(0, |p| (p - idx).max(0));
        let ia = self.impact_price(m, Side::Sell).map_or(0, |p| (idx - p).max(0));
        let premium = (ib - ia) * PPB / idx;
        let premium_ppb = i64::try_from(premium).unwrap_or(0);
        self.emit(Event::PremiumSampled { market: m, premium_ppb, ts }, out);
    }

    /// Average fill price (micro-ticks) of selling (`Buy`: into the bids) or buying (`Sell`: from the asks) the
    /// impact notional; `None` if the side cannot fill it.
    fn impact_price(&self, m: MarketId, book_side: Side) -> Option<i128> {
        let s = self.markets.get(&m)?;
        let target = i128::from(s.spec.config.funding.impact_notional);
        if target == 0 {
            return None;
        }
        let q = s.spec.qptl();
        // Exact: the average price is target / (lots filled x qptl); with the last level partly used (`need`
        // atoms at price p), lots x qptl = full + need / p, so price = target x p / (full x p + need).
        let mut notional: i128 = 0;
        let mut full: i128 = 0; // sum of whole levels' lots x qptl
        for ((k, _), id) in s.side_book(book_side).iter() {
            let p = i128::from(if book_side == Side::Buy { u64::MAX - k } else { k });
            let rem = i128::from(self.orders.get(&id)?.remaining());
            let level = p * rem * q;
            if notional + level >= target {
                let need = target - notional;
                return Some(target * MICRO * p / (full * p + need));
            }
            notional += level;
            full += rem * q;
        }
        None
    }

    /// The hourly rate from the samples: F8 = avg + clamp(I - avg, -0.05 %, 0.05 %), hourly = F8 / 8 clamped.
    pub(crate) fn funding_rate(&self, m: MarketId) -> i64 {
        let Some(s) = self.markets.get(&m) else { return 0 };
        let f = &s.spec.config.funding;
        let avg = if s.premium_count == 0 { 0 } else { s.premium_sum / i128::from(s.premium_count) };
        let f8 = avg + (i128::from(f.interest_rate_ppb) - avg).clamp(-500_000, 500_000);
        let h = (f8 / 8).clamp(i128::from(f.min_rate_ppb), i128::from(f.max_rate_ppb));
        i64::try_from(h).unwrap_or(0)
    }

    fn settle_funding(&mut self, m: MarketId, scheduled: bool, ts: u64, out: &mut Output) {
        let Some(s) = self.markets.get(&m) else { return };
        let index = s.index.or(s.mark).unwrap_or(0);
        let rate_ppb = self.funding_rate(m);
        self.emit(Event::FundingSettled { market: m, rate_ppb, index, scheduled, ts }, out);
    }

    // ----- liquidation ----------------------------------------------------------------------------------------

    fn run_liquidation_checks(&mut self, ts: u64, out: &mut Output) -> bool {
        let mut accts = std::mem::take(&mut self.dirty_accounts);
        for m in std::mem::take(&mut self.mark_moved) {
            match self.markets.get(&m).and_then(|s| s.mark) {
                Some(mark) => self.liquidation_candidates(m, mark, &mut accts),
                None => accts.extend(self.positions.range((m, 0)..=(m, AccountId::MAX)).map(|((_, a), _)| *a)),
            }
        }
        accts.sort_unstable();
        accts.dedup();
        let before = out.events.len();
        for &a in &accts {
            if a == self.cfg.insurance_account || a == self.cfg.fee_account {
                continue;
            }
            for scope in self.scopes_under(a) {
                if !self.liquidations.contains_key(&(a, scope)) {
                    self.liquidate(a, scope, ts, out);
                }
            }
        }
        if self.dirty_accounts.is_empty() {
            accts.clear();
            self.dirty_accounts = accts;
        }
        out.events.len() > before
    }

    /// Every (account, scope) below maintenance and not under liquidation, the reserved accounts aside. Empty
    /// after every command: the engine liquidates as soon as a scope falls below. O(positions); for tests.
    pub fn below_maintenance(&self) -> Vec<(AccountId, Option<MarketId>)> {
        let mut v = Vec::new();
        for a in self.account_ids() {
            if a == self.cfg.insurance_account || a == self.cfg.fee_account {
                continue;
            }
            for scope in self.scopes_under(a) {
                if !self.liquidations.contains_key(&(a, scope)) {
                    v.push((a, scope));
                }
            }
        }
        v
    }

    /// Scopes of the account below maintenance: `None` (cross) and isolated markets.
    fn scopes_under(&self, a: AccountId) -> Vec<Option<MarketId>> {
        let mut v = Vec::new();
        let t = self.totals(a);
        if t.cross_positions > 0 && t.cross_equity() < t.cross_mm {
            v.push(None);
        }
        for m in self.markets.keys() {
            if let Some((eq, mm, _)) = self.scope_eval(a, Some(*m))
                && eq < mm
            {
                v.push(Some(*m));
            }
        }
        v
    }

    /// (equity, maintenance, positions) of a scope: cross (collateral + cross uPnL) or one isolated position
    /// (margin + uPnL). `None` if the scope holds no position.
    pub(crate) fn scope_eval(&self, a: AccountId, scope: Option<MarketId>) -> Option<(i128, i128, usize)> {
        match scope {
            None => {
                let t = self.totals(a);
                (t.cross_positions > 0).then_some((t.cross_equity(), t.cross_mm, t.cross_positions))
            }
            Some(m) => {
                let p = self.positions.get(&(m, a)).filter(|p| p.mode == MarginMode::Isolated)?;
                let s = self.markets.get(&m)?;
                let (upnl, notional) = pos_value(&s.spec, p.size, p.cost, self.mark_or_last(m));
                Some((p.margin + upnl, s.spec.maintenance(notional), 1))
            }
        }
    }

    fn scope_positions(&self, a: AccountId, scope: Option<MarketId>) -> Vec<MarketId> {
        self.markets
            .keys()
            .copied()
            .filter(|m| {
                self.positions.get(&(*m, a)).is_some_and(|p| {
                    scope.map_or(p.mode == MarginMode::Cross, |s| s == *m && p.mode == MarginMode::Isolated)
                })
            })
            .collect()
    }

    /// Spec section 6, for one scope. Step 1: cancel its orders, send reduce-only IOC market orders (20 % slices
    /// for large positions, 30 s apart). Step 2 (backstop) when equity < 2/3 maintenance or the book cannot
    /// absorb: the positions move at mark to the insurance account with the scope's collateral. If equity is
    /// negative: ADL instead.
    fn liquidate(&mut self, a: AccountId, scope: Option<MarketId>, ts: u64, out: &mut Output) {
        let key = (a, scope);
        let started = self.liquidations.contains_key(&key);
        let end = |p: &mut Perps, out: &mut Output| {
            p.emit(Event::LiquidationEnded { account: a, market: scope, ts }, out);
        };
        let Some((eq, mm, _)) = self.scope_eval(a, scope) else {
            if started {
                self.cover_deficit(a, ts, out);
                end(self, out);
            }
            return;
        };
        if !started {
            if eq >= mm {
                return;
            }
            self.emit(Event::LiquidationStarted { account: a, market: scope, equity: eq, maintenance: mm, ts }, out);
            let ids: Vec<OrderId> = self
                .orders_of(a, scope)
                .into_iter()
                .filter(|id| {
                    self.orders
                        .get(id)
                        .is_some_and(|o| scope.is_some() || self.setting(a, o.market).1 == MarginMode::Cross)
                })
                .collect();
            for id in ids {
                self.close_order(id, CloseReason::Liquidation, ts, out);
            }
        } else if eq >= mm {
            end(self, out);
            return;
        }
        if eq < 0 {
            self.adl(a, scope, ts, out);
            end(self, out);
            return;
        }
        if 3 * eq < 2 * mm {
            self.backstop(a, scope, ts, out);
            end(self, out);
            return;
        }
        let mut stuck = false;
        let mut sliced = false;
        for m in self.scope_positions(a, scope) {
            let Some(p) = self.positions.get(&(m, a)) else { continue };
            let Some(s) = self.markets.get(&m) else { continue };
            let size = u64::try_from(p.size.unsigned_abs()).unwrap_or(u64::MAX);
            let (_, notional) = pos_value(&s.spec, p.size, p.cost, self.mark_or_last(m));
            let qty = if notional > i128::from(s.spec.config.large_position_notional) {
                sliced = true;
                size.div_ceil(5)
            } else {
                size
            };
            let side = if p.size > 0 { Side::Sell } else { Side::Buy };
            let o = NewOrder::market(m, side, qty).reduce_only();
            match self.prepare(a, &o, None, 0, None, true) {
                Ok(prep) => {
                    let id = self.next_order;
                    self.submit(a, prep, ts, out);
                    if self.closed.get(&id).is_some_and(|o| o.remaining() > 0) {
                        stuck = true;
                    }
                }
                Err(_) => stuck = true,
            }
        }
        match self.scope_eval(a, scope) {
            None => {
                self.cover_deficit(a, ts, out);
                end(self, out);
            }
            Some((eq, mm, _)) if eq >= mm => end(self, out),
            Some((eq, mm, _)) if stuck || 3 * eq < 2 * mm || !sliced => {
                if eq < 0 {
                    self.adl(a, scope, ts, out);
                } else {
                    self.backstop(a, scope, ts, out);
                }
                end(self, out);
            }
            Some(_) => {
                let next_ts = ts + self.cfg.liquidation_slice_ms;
                self.emit(Event::LiquidationScheduled { account: a, market: scope, next_ts }, out);
            }
        }
    }

    /// An account left with no position and negative collateral: the insurance account covers the deficit.
    fn cover_deficit(&mut self, a: AccountId, ts: u64, out: &mut Output) {
        let has = self.markets.keys().any(|m| self.positions.contains_key(&(*m, a)));
        let c = self.accounts.get(&a).map_or(0, |x| x.collateral);
        if !has && c < 0 {
            let ins = self.cfg.insurance_account;
            self.emit(Event::CollateralMoved { from: ins, to: a, amount: -c, ts }, out);
        }
    }

    fn backstop(&mut self, a: AccountId, scope: Option<MarketId>, ts: u64, out: &mut Output) {
        let ins = self.cfg.insurance_account;
        let before = self.accounts.get(&a).map_or(0, |x| x.collateral);
        for m in self.scope_positions(a, scope) {
            let Some(mark) = self.mark_or_last(m) else { continue };
            self.emit(Event::TakenOver { account: a, market: m, mark, ts }, out);
        }
        let after = self.accounts.get(&a).map_or(0, |x| x.collateral);
        // Cross: all cross collateral; isolated: what the position brought back (its margin + uPnL).
        let seize = match scope {
            None => after,
            Some(_) => after - before,
        };
        if seize > 0 {
            self.emit(Event::CollateralMoved { from: a, to: ins, amount: seize, ts }, out);
        }
    }

    /// Auto-deleveraging of a scope with negative equity: each position closes at mark against opposite
    /// positions ranked by uPnL% x leverage (highest first, then account id); the deficit is charged to those
    /// counterparties pro rata to the lots closed (floor; the last takes the remainder).
    fn adl(&mut self, a: AccountId, scope: Option<MarketId>, ts: u64, out: &mut Output) {
        let Some((eq, _, _)) = self.scope_eval(a, scope) else { return };
        let deficit = -eq;
        let mut closed: BTreeMap<AccountId, i128> = BTreeMap::new();
        for m in self.scope_positions(a, scope) {
            let Some(price) = self.mark_or_last(m) else { continue };
            let Some(p) = self.positions.get(&(m, a)) else { continue };
            let Some(s) = self.markets.get(&m) else { continue };
            let sign = p.size.signum();
            let mut left = p.size.unsigned_abs();
            let mut cands: Vec<(i128, AccountId, u128)> = self
                .positions
                .range((m, 0)..=(m, AccountId::MAX))
                .filter(|((_, c), cp)| *c != a && cp.size.signum() == -sign)
                .map(|((_, c), cp)| {
                    let (upnl, _) = pos_value(&s.spec, cp.size, cp.cost, Some(price));
                    let score = upnl * i128::from(cp.leverage) * PPB / cp.cost.abs().max(1);
                    (score, *c, cp.size.unsigned_abs())
                })
                .collect();
            cands.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
            for (_, c, sz) in cands {
                if left == 0 {
                    break;
                }
                let q = left.min(sz);
                left -= q;
                let quantity = u64::try_from(q).unwrap_or(u64::MAX);
                self.emit(Event::Adl { account: a, counterparty: c, market: m, quantity, price, ts }, out);
                *closed.entry(c).or_default() += i128::try_from(q).unwrap_or(i128::MAX);
            }
        }
        let total: i128 = closed.values().sum();
        if deficit <= 0 || total == 0 {
            return;
        }
        let n = closed.len();
        let mut charged = 0;
        for (i, (c, q)) in closed.into_iter().enumerate() {
            let share = if i + 1 == n { deficit - charged } else { deficit * q / total };
            charged += share;
            if share > 0 {
                self.emit(Event::CollateralMoved { from: c, to: a, amount: share, ts }, out);
            }
        }
    }
}

/// (uPnL, notional) of a position at `price` (at its entry if there is no price yet).
pub(crate) fn pos_value(spec: &PerpMarketSpec, size: i128, cost: i128, price: Option<u64>) -> (i128, i128) {
    match price {
        Some(p) => {
            let v = size * i128::from(p) * spec.qptl();
            (v - cost, v.abs())
        }
        None => (0, cost.abs()),
    }
}

/// Lots an order on `side` may reduce of position `p`: its size if it is on the other side, else 0.
fn reducible_of(p: Option<&Position>, side: Side) -> u64 {
    match p {
        Some(p) if (p.size > 0 && side == Side::Sell) || (p.size < 0 && side == Side::Buy) => {
            u64::try_from(p.size.unsigned_abs()).unwrap_or(u64::MAX)
        }
        _ => 0,
    }
}

/// A fee: `ceil(notional x ppm / 10^6)`, as spot.
fn fee_i(notional: i128, ppm: u32) -> i128 {
    u64::try_from(notional)
        .map_or_else(|_| ceil_div(notional * i128::from(ppm), 1_000_000), |n| i128::from(fee_of(n, ppm)))
}

/// One EMA step with time constant `tau` ms: `ema + (x - ema) x min(dt, tau) / tau`, truncated toward zero.
fn ema(prev: i128, x: i128, dt: i128, tau: i128) -> i128 {
    prev + (x - prev) * dt.min(tau) / tau
}
