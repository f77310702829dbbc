//! The engine: decides what a command does (validation, matching) and evolves the state through events.
//!
//! Every state change goes through one of the `ev_*` functions, each the application of one [`Event`]. The live
//! path builds the event, applies it with the same function, and appends it to the output; [`Engine::apply_event`]
//! (replay) applies a logged event with that function too. So replaying a log rebuilds the state by construction.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::accounts::Accounts;
use crate::book::{Book, NIL, Order, Slab};
use crate::events::{
    Ack, Action, CancelItem, Command, Event, ItemResult, NewOrder, OrderAccepted, OrderClosed, OrderRef, Output,
    ReplaceItem, Trade,
};
use crate::hash::{FastMap, Fnv64};
use crate::types::{
    AccountId, Balance, ClOrdId, CloseReason, CoinConfig, CoinId, MarketConfig, MarketId, MarketSpec, OrderId,
    OrderStatus, OrderType, Reject, Side, StpMode, TimeInForce, TradeId, fee_of,
};

/// Engine-wide settings. Replaying a log needs the configuration the log was written with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineConfig {
    /// The account that receives every fee (created with the engine).
    pub fee_account: AccountId,
    /// Open orders per account (the vendor's limit is 1000).
    pub max_open_orders: u32,
    /// Trades kept per market for [`Engine::recent_trades`].
    pub recent_trades: usize,
    /// Window of closed orders kept for [`Engine::order`] status queries: a closed order is kept while its id is
    /// among the last `closed_orders` ids assigned (memory: about 180 bytes per slot, allocated up front).
    pub closed_orders: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig { fee_account: 0, max_open_orders: 1000, recent_trades: 1000, closed_orders: 10_000 }
    }
}

/// A failed replay: which event (index in the given sequence) and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayError {
    pub index: usize,
    pub reason: &'static str,
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "event {}: {}", self.index, self.reason)
    }
}

impl std::error::Error for ReplayError {}

/// An order as queries see it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// Lots (`None` for a market buy given by funds only).
    pub quantity: Option<u64>,
    /// Quote atoms, market buys.
    pub funds: Option<u64>,
    /// Lots filled.
    pub filled: u64,
    /// Lots unfilled (0 once closed, and for a market buy by funds).
    pub remaining: u64,
    /// Quote atoms traded.
    pub executed_value: u64,
    /// Atoms still locked (quote for buys, base for sells).
    pub locked: u64,
    pub created: u64,
    pub updated: u64,
}

/// One aggregated price level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LevelView {
    /// Ticks.
    pub price: u64,
    /// Lots.
    pub quantity: u64,
    pub orders: u32,
}

/// Best bid and best ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Bbo {
    pub bid: Option<LevelView>,
    pub ask: Option<LevelView>,
}

/// Aggregated book depth, best levels first.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Depth {
    pub bids: Vec<LevelView>,
    pub asks: Vec<LevelView>,
}

/// One market's book in priority order (best level first, oldest order first within a level).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BookSnapshot {
    pub market: MarketId,
    pub bids: Vec<OrderView>,
    pub asks: Vec<OrderView>,
}

/// The whole logical state, in a canonical order (independent of slots and hash tables): two engines with equal
/// snapshots answer every query and every future command identically.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Snapshot {
    pub coins: Vec<CoinConfig>,
    pub markets: Vec<MarketConfig>,
    pub supply: Vec<(CoinId, u64)>,
    /// Accounts by id, each with its balance of every coin (registration order).
    pub balances: Vec<(AccountId, Vec<(CoinId, Balance)>)>,
    pub books: Vec<BookSnapshot>,
    /// Accounts by id, each with its open orders in acceptance order.
    pub open_orders: Vec<(AccountId, Vec<OrderId>)>,
    /// Closed orders still kept for status queries, by id.
    pub closed_orders: Vec<OrderView>,
    /// Per market, oldest first.
    pub recent_trades: Vec<(MarketId, Vec<Trade>)>,
    /// Armed dead-man switches, by (deadline, account).
    pub deadlines: Vec<(u64, AccountId)>,
    pub next_order_id: OrderId,
    pub next_trade_id: TradeId,
}

#[derive(Clone, Debug)]
struct MarketState {
    spec: MarketSpec,
    /// Coin indexes.
    base: usize,
    quote: usize,
    book: Book,
    trades: VecDeque<Trade>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MatchEnd {
    /// The taker's quantity is filled.
    Done,
    /// No more liquidity within the taker's price.
    NoMore,
    /// A market buy's funds cannot buy one more lot.
    Funds,
    /// Self-trade prevention stopped the taker.
    Stp,
    /// A FOK order that could not fill completely (nothing was matched).
    FokFail,
}

type EvResult<T = ()> = Result<T, &'static str>;

/// The live path's events cannot fail unless the engine has a bug; stop rather than corrupt balances.
#[inline]
fn must<T>(r: EvResult<T>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("sova-engine invariant violated: {e}"),
    }
}

#[inline]
fn sub(x: &mut u64, v: u64) -> EvResult {
    *x = x.checked_sub(v).ok_or("balance would go negative")?;
    Ok(())
}

#[inline]
fn add(x: &mut u64, v: u64) -> EvResult {
    *x = x.checked_add(v).ok_or("balance overflow")?;
    Ok(())
}

/// The spot matching engine. See the crate documentation for the model.
#[derive(Clone, Debug)]
pub struct Engine {
    cfg: EngineConfig,
    coins: Vec<CoinConfig>,
    coin_index: FastMap<CoinId, u32>,
    /// Atoms of each coin inside the engine (deposits minus withdrawals), by coin index.
    supply: Vec<u64>,
    markets: Vec<MarketState>,
    market_index: FastMap<MarketId, u32>,
    accounts: Accounts,
    fee_idx: u32,
    slab: Slab,
    /// Open orders: id -> slot.
    order_index: FastMap<OrderId, u32>,
    /// Closed orders by `id % closed_orders` (see [`EngineConfig::closed_orders`]).
    closed: Vec<Option<OrderView>>,
    deadlines: BTreeSet<(u64, AccountId)>,
    next_order_id: OrderId,
    next_trade_id: TradeId,
}

impl Engine {
    /// An empty engine: no coins, no markets, only the fee account.
    pub fn new(cfg: EngineConfig) -> Engine {
        let mut accounts = Accounts::default();
        let fee_idx = accounts.get_or_create(cfg.fee_account);
        Engine {
            closed: vec![None; cfg.closed_orders],
            cfg,
            coins: Vec::new(),
            coin_index: FastMap::default(),
            supply: Vec::new(),
            markets: Vec::new(),
            market_index: FastMap::default(),
            accounts,
            fee_idx,
            slab: Slab::default(),
            order_index: FastMap::default(),
            deadlines: BTreeSet::new(),
            next_order_id: 1,
            next_trade_id: 1,
        }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    /// Rebuilds an engine from its event log.
    pub fn replay<'a>(cfg: EngineConfig, events: impl IntoIterator<Item = &'a Event>) -> Result<Engine, ReplayError> {
        let mut e = Engine::new(cfg);
        for (index, ev) in events.into_iter().enumerate() {
            e.apply_event(ev).map_err(|reason| ReplayError { index, reason })?;
        }
        Ok(e)
    }

    /// Applies one logged event (replay). An error means the log does not belong to this state (or is corrupt);
    /// the engine is then in an unspecified state and should be discarded.
    pub fn apply_event(&mut self, ev: &Event) -> Result<(), &'static str> {
        match ev {
            Event::CoinAdded(c) => self.ev_add_coin(c),
            Event::MarketAdded(m) => self.ev_add_market(m),
            Event::Deposited { account, coin, amount, .. } => self.ev_deposit(*account, *coin, *amount),
            Event::Withdrawn { account, coin, amount, .. } => self.ev_withdraw(*account, *coin, *amount),
            Event::Transferred { from, to, coin, amount, .. } => self.ev_transfer(*from, *to, *coin, *amount),
            Event::OrderAccepted(a) => self.ev_accept(a).map(|_| ()),
            Event::Trade(t) => {
                let maker = self.open_slot(t.maker_order)?;
                let taker = self.open_slot(t.taker_order)?;
                self.ev_trade(maker, taker, t)
            }
            Event::OrderRested { order_id, ts } => {
                let slot = self.open_slot(*order_id)?;
                self.ev_rest(slot, *ts)
            }
            Event::OrderClosed(c) => {
                let slot = self.open_slot(c.order_id)?;
                self.ev_close(slot, c)
            }
            Event::ScheduleCancelSet { account, deadline, .. } => self.ev_schedule_set(*account, *deadline),
            Event::ScheduleCancelFired { account, deadline, .. } => self.ev_schedule_fired(*account, *deadline),
        }
    }

    /// Applies a command and returns its events and results.
    pub fn apply(&mut self, cmd: &Command) -> Output {
        let mut out = Output::default();
        self.apply_into(cmd, &mut out);
        out
    }

    /// Applies a command, writing its events and results into `out` (cleared first): no allocation once `out` has
    /// grown to the size of a typical command.
    pub fn apply_into(&mut self, cmd: &Command, out: &mut Output) {
        out.clear();
        let ts = cmd.ts;
        self.fire_deadlines(ts, out);
        match &cmd.action {
            Action::AddCoin(c) => {
                let r = self.cmd_add_coin(c, out);
                out.results.push(r);
            }
            Action::AddMarket(m) => {
                let r = self.cmd_add_market(m, out);
                out.results.push(r);
            }
            Action::Deposit { account, coin, amount } => {
                let r = self.cmd_deposit(*account, *coin, *amount, ts, out);
                out.results.push(r);
            }
            Action::Withdraw { account, coin, amount } => {
                let r = self.cmd_withdraw(*account, *coin, *amount, ts, out);
                out.results.push(r);
            }
            Action::Transfer { from, to, coin, amount } => {
                let r = self.cmd_transfer(*from, *to, *coin, *amount, ts, out);
                out.results.push(r);
            }
            Action::NewOrder { account, order } => {
                let r = self.cmd_new(*account, order, ts, out);
                out.results.push(r);
            }
            Action::BatchNew { account, orders } => {
                for o in orders {
                    let r = self.cmd_new(*account, o, ts, out);
                    out.results.push(r);
                }
            }
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
                let r = self.cmd_cancel_all(*account, *market, ts, out);
                out.results.push(r);
            }
            Action::Replace { account, item } => {
                let r = self.cmd_replace(*account, item, ts, out);
                out.results.push(r);
            }
            Action::BatchReplace { account, items } => {
                for item in items {
                    let r = self.cmd_replace(*account, item, ts, out);
                    out.results.push(r);
                }
            }
            Action::ScheduleCancel { account, deadline } => {
                let r = self.cmd_schedule_cancel(*account, *deadline, ts, out);
                out.results.push(r);
            }
            Action::Tick => {}
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Commands (decide)
    // ---------------------------------------------------------------------------------------------------------

    fn fire_deadlines(&mut self, ts: u64, out: &mut Output) {
        while let Some(&(deadline, account)) = self.deadlines.first() {
            if deadline > ts {
                break;
            }
            must(self.ev_schedule_fired(account, deadline));
            out.events.push(Event::ScheduleCancelFired { account, deadline, ts });
            let Some(ai) = self.accounts.idx(account) else { continue };
            let mut s = self.accounts.get(ai).open_head;
            while s != NIL {
                let next = self.slab.get(s).anext;
                self.close_slot(s, CloseReason::ScheduleCancel, ts, out);
                s = next;
            }
        }
    }

    fn cmd_add_coin(&mut self, c: &CoinConfig, out: &mut Output) -> ItemResult {
        if self.coin_index.contains_key(&c.id) {
            return Err(Reject::AlreadyExists);
        }
        if c.decimals > 19 || c.symbol.is_empty() {
            return Err(Reject::InvalidConfig);
        }
        must(self.ev_add_coin(c));
        out.events.push(Event::CoinAdded(c.clone()));
        Ok(Ack::NONE)
    }

    fn cmd_add_market(&mut self, m: &MarketConfig, out: &mut Output) -> ItemResult {
        if self.market_index.contains_key(&m.id) {
            return Err(Reject::AlreadyExists);
        }
        let (Some(b), Some(q)) = (self.coin_idx(m.base), self.coin_idx(m.quote)) else {
            return Err(Reject::UnknownCoin);
        };
        if MarketSpec::new(m.clone(), self.coins[b].decimals, self.coins[q].decimals).is_none() || m.name.is_empty() {
            return Err(Reject::InvalidConfig);
        }
        must(self.ev_add_market(m));
        out.events.push(Event::MarketAdded(m.clone()));
        Ok(Ack::NONE)
    }

    fn cmd_deposit(&mut self, account: AccountId, coin: CoinId, amount: u64, ts: u64, out: &mut Output) -> ItemResult {
        if amount == 0 {
            return Err(Reject::InvalidAmount);
        }
        let ci = self.coin_idx(coin).ok_or(Reject::UnknownCoin)?;
        if self.supply[ci].checked_add(amount).is_none() {
            return Err(Reject::SupplyOverflow);
        }
        must(self.ev_deposit(account, coin, amount));
        out.events.push(Event::Deposited { account, coin, amount, ts });
        Ok(Ack::NONE)
    }

    fn cmd_withdraw(&mut self, account: AccountId, coin: CoinId, amount: u64, ts: u64, out: &mut Output) -> ItemResult {
        if amount == 0 {
            return Err(Reject::InvalidAmount);
        }
        let ci = self.coin_idx(coin).ok_or(Reject::UnknownCoin)?;
        let ai = self.accounts.idx(account).ok_or(Reject::UnknownAccount)?;
        if self.accounts.get(ai).balance(ci).available < amount {
            return Err(Reject::InsufficientBalance);
        }
        must(self.ev_withdraw(account, coin, amount));
        out.events.push(Event::Withdrawn { account, coin, amount, ts });
        Ok(Ack::NONE)
    }

    fn cmd_transfer(
        &mut self,
        from: AccountId,
        to: AccountId,
        coin: CoinId,
        amount: u64,
        ts: u64,
        out: &mut Output,
    ) -> ItemResult {
        if amount == 0 {
            return Err(Reject::InvalidAmount);
        }
        if from == to {
            return Err(Reject::SameAccount);
        }
        let ci = self.coin_idx(coin).ok_or(Reject::UnknownCoin)?;
        let ai = self.accounts.idx(from).ok_or(Reject::UnknownAccount)?;
        if self.accounts.get(ai).balance(ci).available < amount {
            return Err(Reject::InsufficientBalance);
        }
        must(self.ev_transfer(from, to, coin, amount));
        out.events.push(Event::Transferred { from, to, coin, amount, ts });
        Ok(Ack::NONE)
    }

    fn cmd_new(&mut self, account: AccountId, o: &NewOrder, ts: u64, out: &mut Output) -> ItemResult {
        let ai = self.accounts.idx(account).ok_or(Reject::UnknownAccount)?;
        self.place(ai, o, ts, None, out)
    }

    fn cmd_cancel(&mut self, account: AccountId, c: &CancelItem, ts: u64, out: &mut Output) -> ItemResult {
        let ai = self.accounts.idx(account).ok_or(Reject::UnknownAccount)?;
        let slot = self.resolve(ai, c.market, &c.target)?;
        let id = self.slab.get(slot).id;
        self.close_slot(slot, CloseReason::Canceled, ts, out);
        Ok(Ack { order_id: Some(id), status: Some(OrderStatus::Canceled) })
    }

    fn cmd_cancel_all(
        &mut self,
        account: AccountId,
        market: Option<MarketId>,
        ts: u64,
        out: &mut Output,
    ) -> ItemResult {
        let ai = self.accounts.idx(account).ok_or(Reject::UnknownAccount)?;
        let mi = match market {
            Some(m) => Some(self.market_idx(m).ok_or(Reject::UnknownMarket)? as u32),
            None => None,
        };
        let mut s = self.accounts.get(ai).open_head;
        while s != NIL {
            let o = self.slab.get(s);
            let next = o.anext;
            if mi.is_none_or(|m| m == o.market) {
                self.close_slot(s, CloseReason::CancelAll, ts, out);
            }
            s = next;
        }
        Ok(Ack::NONE)
    }

    fn cmd_replace(&mut self, account: AccountId, r: &ReplaceItem, ts: u64, out: &mut Output) -> ItemResult {
        let ai = self.accounts.idx(account).ok_or(Reject::UnknownAccount)?;
        let orig = self.resolve(ai, r.market, &r.orig)?;
        let o = self.slab.get(orig);
        let new = NewOrder {
            market: r.market,
            cl_ord_id: r.cl_ord_id.or(o.cl_ord_id),
            side: o.side,
            order_type: OrderType::Limit,
            time_in_force: o.tif,
            price: Some(r.price.unwrap_or(o.price)),
            quantity: Some(r.quantity.unwrap_or(o.remaining)),
            funds: None,
            stp: o.stp,
        };
        self.place(ai, &new, ts, Some(orig), out)
    }

    fn cmd_schedule_cancel(
        &mut self,
        account: AccountId,
        deadline: Option<u64>,
        ts: u64,
        out: &mut Output,
    ) -> ItemResult {
        self.accounts.idx(account).ok_or(Reject::UnknownAccount)?;
        if deadline.is_some_and(|d| d <= ts) {
            return Err(Reject::DeadlineNotInFuture);
        }
        must(self.ev_schedule_set(account, deadline));
        out.events.push(Event::ScheduleCancelSet { account, deadline, ts });
        Ok(Ack::NONE)
    }

    /// Finds an open order of account `ai` in `market`.
    fn resolve(&self, ai: u32, market: MarketId, r: &OrderRef) -> Result<u32, Reject> {
        let mi = self.market_idx(market).ok_or(Reject::UnknownMarket)? as u32;
        let slot = match r {
            OrderRef::Id(id) => self.order_index.get(id).copied(),
            OrderRef::ClOrdId(c) => self.accounts.get(ai).cl_ord.get(c).copied(),
        }
        .ok_or(Reject::UnknownOrder)?;
        let o = self.slab.get(slot);
        if !o.status.is_open() || o.account != ai || o.market != mi {
            return Err(Reject::UnknownOrder);
        }
        Ok(slot)
    }

    /// Validates, locks, matches and rests or closes a new order. With `replacing`, that open order is cancelled
    /// first, and only if the new order is valid (its lock counts as available for the new one).
    fn place(&mut self, ai: u32, o: &NewOrder, ts: u64, replacing: Option<u32>, out: &mut Output) -> ItemResult {
        let mi = self.market_idx(o.market).ok_or(Reject::UnknownMarket)?;
        let m = &self.markets[mi];
        let spec = &m.spec;
        let acct = self.accounts.get(ai);

        // Shape.
        match o.order_type {
            OrderType::Limit => {
                if o.price.is_none_or(|p| p == 0) {
                    return Err(Reject::InvalidPrice);
                }
                if o.quantity.is_none_or(|q| q == 0) {
                    return Err(Reject::InvalidQuantity);
                }
                if o.funds.is_some() {
                    return Err(Reject::InvalidFunds);
                }
            }
            OrderType::Market => {
                if o.price.is_some() {
                    return Err(Reject::InvalidPrice);
                }
                if o.time_in_force == TimeInForce::Gtx {
                    return Err(Reject::InvalidTimeInForce);
                }
                if o.quantity == Some(0) {
                    return Err(Reject::InvalidQuantity);
                }
                match o.side {
                    Side::Sell => {
                        if o.quantity.is_none() {
                            return Err(Reject::InvalidQuantity);
                        }
                        if o.funds.is_some() {
                            return Err(Reject::InvalidFunds);
                        }
                    }
                    Side::Buy => {
                        if o.funds == Some(0) {
                            return Err(Reject::InvalidFunds);
                        }
                        if o.quantity.is_none() && o.funds.is_none() {
                            return Err(Reject::InvalidQuantity);
                        }
                        if o.time_in_force == TimeInForce::Fok && o.quantity.is_none() {
                            return Err(Reject::InvalidTimeInForce);
                        }
                    }
                }
            }
        }

        // Client order id and open-order limit.
        if let Some(&s) = o.cl_ord_id.as_ref().and_then(|cl| acct.cl_ord.get(cl))
            && Some(s) != replacing
        {
            return Err(Reject::DuplicateClOrdId);
        }
        if acct.open_count - u32::from(replacing.is_some()) >= self.cfg.max_open_orders {
            return Err(Reject::TooManyOpenOrders);
        }

        // Funds to lock.
        let price = o.price.unwrap_or(0);
        let lock_coin = if o.side == Side::Buy { m.quote } else { m.base };
        let extra = replacing.map_or(0, |s| self.slab.get(s).locked);
        let available = acct.balance(lock_coin).available + extra;
        let lock = match (o.order_type, o.side, o.quantity) {
            (OrderType::Limit, side, Some(q)) => {
                let notional = spec.notional(price, q).ok_or(Reject::Overflow)?;
                if notional < spec.config.min_notional {
                    return Err(Reject::MinNotional);
                }
                match side {
                    Side::Buy => notional,
                    Side::Sell => spec.base_amount(q).ok_or(Reject::Overflow)?,
                }
            }
            (OrderType::Market, Side::Sell, Some(q)) => spec.base_amount(q).ok_or(Reject::Overflow)?,
            (OrderType::Market, Side::Buy, _) => match o.funds {
                Some(f) => {
                    if f < spec.config.min_notional {
                        return Err(Reject::MinNotional);
                    }
                    f
                }
                // A market buy by quantity alone locks all available quote while it matches; the rest returns.
                None => available,
            },
            _ => return Err(Reject::InvalidQuantity),
        };
        if lock == 0 || lock > available {
            return Err(Reject::InsufficientBalance);
        }

        // Post-only and fill-or-kill look at the book before anything changes.
        if o.time_in_force == TimeInForce::Gtx && self.crosses(mi, o.side, price) {
            return Err(Reject::PostOnlyWouldTake);
        }
        let fok_fail = o.time_in_force == TimeInForce::Fok
            && !self.fok_fillable(
                mi,
                ai,
                o.side,
                (o.order_type == OrderType::Limit).then_some(price),
                o.quantity.unwrap_or(0),
                (o.order_type == OrderType::Market && o.side == Side::Buy).then_some(lock),
                o.stp,
            );

        // Commit.
        if let Some(s) = replacing {
            self.close_slot(s, CloseReason::Replaced, ts, out);
        }
        let acc = OrderAccepted {
            order_id: self.next_order_id,
            account: self.accounts.get(ai).id,
            market: o.market,
            cl_ord_id: o.cl_ord_id,
            side: o.side,
            order_type: o.order_type,
            time_in_force: o.time_in_force,
            stp: o.stp,
            price,
            quantity: o.quantity,
            funds: o.funds,
            locked: lock,
            ts,
        };
        let slot = must(self.ev_accept_at(ai, mi, &acc));
        out.events.push(Event::OrderAccepted(acc));
        let end = if fok_fail { MatchEnd::FokFail } else { self.match_taker(mi, slot, ts, out) };

        let t = self.slab.get(slot);
        let reason = match end {
            MatchEnd::Done => Some(CloseReason::Filled),
            MatchEnd::Stp => Some(CloseReason::SelfTrade),
            MatchEnd::FokFail => Some(CloseReason::FokUnfilled),
            MatchEnd::Funds if t.quantity.is_none() && t.filled > 0 => Some(CloseReason::Filled),
            MatchEnd::Funds => Some(CloseReason::Unfilled),
            MatchEnd::NoMore
                if t.order_type == OrderType::Limit && matches!(t.tif, TimeInForce::Gtc | TimeInForce::Gtx) =>
            {
                None
            }
            MatchEnd::NoMore => Some(CloseReason::Unfilled),
        };
        let status = match reason {
            Some(r) => {
                self.close_slot(slot, r, ts, out);
                r.status()
            }
            None => {
                must(self.ev_rest(slot, ts));
                out.events.push(Event::OrderRested { order_id: acc.order_id, ts });
                self.slab.get(slot).status
            }
        };
        Ok(Ack { order_id: Some(acc.order_id), status: Some(status) })
    }

    /// Whether a resting order of `side` at `price` would meet the other side.
    fn crosses(&self, mi: usize, side: Side, price: u64) -> bool {
        match self.markets[mi].book.best_opposite(side) {
            None => false,
            Some((best, _)) => match side {
                Side::Buy => best <= price,
                Side::Sell => best >= price,
            },
        }
    }

    /// Whether a FOK taker could fill `qty` completely, given its price limit, its self-trade mode (own orders are
    /// skipped under `CancelMaker`, stop it otherwise) and, for market buys, the quote it has locked.
    #[allow(clippy::too_many_arguments)]
    fn fok_fillable(
        &self,
        mi: usize,
        ai: u32,
        side: Side,
        limit: Option<u64>,
        qty: u64,
        budget: Option<u64>,
        stp: StpMode,
    ) -> bool {
        let m = &self.markets[mi];
        let qpt = u128::from(m.spec.quote_per_tick_lot);
        let mut need = qty;
        let mut budget = budget.map(u128::from);
        for (price, level) in m.book.opposite_levels(side) {
            if limit.is_some_and(|l| (side == Side::Buy && price > l) || (side == Side::Sell && price < l)) {
                break;
            }
            let mut s = level.head;
            while s != NIL {
                let o = self.slab.get(s);
                s = o.next;
                if o.account == ai {
                    if stp == StpMode::CancelMaker {
                        continue;
                    }
                    return false;
                }
                let want = o.remaining.min(need);
                let mut q = want;
                if let Some(b) = budget.as_mut() {
                    let per_lot = u128::from(price) * qpt;
                    q = q.min(u64::try_from(*b / per_lot).unwrap_or(u64::MAX));
                    *b -= u128::from(q) * per_lot;
                }
                need -= q;
                if need == 0 {
                    return true;
                }
                if q < want {
                    return false;
                }
            }
        }
        false
    }

    /// Matches the taker in `taker` against the book until it is filled, out of price, out of funds or stopped by
    /// self-trade prevention. Always takes the oldest order of the best level.
    fn match_taker(&mut self, mi: usize, taker: u32, ts: u64, out: &mut Output) -> MatchEnd {
        loop {
            let t = self.slab.get(taker);
            let (t_side, t_type, t_price, t_acct, t_stp, t_qty, t_rem, t_locked, t_id) =
                (t.side, t.order_type, t.price, t.account, t.stp, t.quantity, t.remaining, t.locked, t.id);
            if t_qty.is_some() && t_rem == 0 {
                return MatchEnd::Done;
            }
            let m = &self.markets[mi];
            let Some((price, level)) = m.book.best_opposite(t_side) else {
                return MatchEnd::NoMore;
            };
            if t_type == OrderType::Limit
                && ((t_side == Side::Buy && price > t_price) || (t_side == Side::Sell && price < t_price))
            {
                return MatchEnd::NoMore;
            }
            let ms = level.head;
            let maker = self.slab.get(ms);
            if maker.account == t_acct {
                match t_stp {
                    StpMode::CancelMaker => {
                        self.close_slot(ms, CloseReason::SelfTrade, ts, out);
                        continue;
                    }
                    StpMode::CancelTaker => return MatchEnd::Stp,
                    StpMode::CancelBoth => {
                        self.close_slot(ms, CloseReason::SelfTrade, ts, out);
                        return MatchEnd::Stp;
                    }
                }
            }
            let spec = &m.spec;
            let mut q = maker.remaining;
            if t_qty.is_some() {
                q = q.min(t_rem);
            }
            if t_type == OrderType::Market && t_side == Side::Buy {
                let per_lot = u128::from(price) * u128::from(spec.quote_per_tick_lot);
                let afford = u64::try_from(u128::from(t_locked) / per_lot).unwrap_or(u64::MAX);
                q = q.min(afford);
                if q == 0 {
                    return MatchEnd::Funds;
                }
            }
            let quote_amount = must(spec.notional(price, q).ok_or("trade notional overflow"));
            let base_amount = must(spec.base_amount(q).ok_or("trade base amount overflow"));
            let (maker_gets, taker_gets) =
                if t_side == Side::Buy { (quote_amount, base_amount) } else { (base_amount, quote_amount) };
            let trade = Trade {
                trade_id: self.next_trade_id,
                market: spec.config.id,
                price,
                quantity: q,
                quote_amount,
                base_amount,
                taker_side: t_side,
                maker_order: maker.id,
                taker_order: t_id,
                maker_account: self.accounts.get(maker.account).id,
                taker_account: self.accounts.get(t_acct).id,
                maker_fee: fee_of(maker_gets, spec.config.maker_fee_ppm),
                taker_fee: fee_of(taker_gets, spec.config.taker_fee_ppm),
                maker_remaining: maker.remaining - q,
                taker_remaining: if t_qty.is_some() { t_rem - q } else { 0 },
                ts,
            };
            must(self.ev_trade(ms, taker, &trade));
            out.events.push(Event::Trade(trade));
        }
    }

    /// Closes an open order (cancel, expiry, end of a taker), releasing its lock.
    fn close_slot(&mut self, slot: u32, reason: CloseReason, ts: u64, out: &mut Output) {
        let o = self.slab.get(slot);
        let c = OrderClosed {
            order_id: o.id,
            account: self.accounts.get(o.account).id,
            market: self.markets[o.market as usize].spec.config.id,
            reason,
            status: reason.status(),
            filled: o.filled,
            released: o.locked,
            ts,
        };
        must(self.ev_close(slot, &c));
        out.events.push(Event::OrderClosed(c));
    }

    // ---------------------------------------------------------------------------------------------------------
    // Events (evolve): the only code that changes state.
    // ---------------------------------------------------------------------------------------------------------

    fn ev_add_coin(&mut self, c: &CoinConfig) -> EvResult {
        if self.coin_index.contains_key(&c.id) {
            return Err("coin already exists");
        }
        self.coin_index.insert(c.id, self.coins.len() as u32);
        self.coins.push(c.clone());
        self.supply.push(0);
        Ok(())
    }

    fn ev_add_market(&mut self, m: &MarketConfig) -> EvResult {
        if self.market_index.contains_key(&m.id) {
            return Err("market already exists");
        }
        let base = self.coin_idx(m.base).ok_or("unknown base coin")?;
        let quote = self.coin_idx(m.quote).ok_or("unknown quote coin")?;
        let spec = MarketSpec::new(m.clone(), self.coins[base].decimals, self.coins[quote].decimals)
            .ok_or("invalid market configuration")?;
        self.market_index.insert(m.id, self.markets.len() as u32);
        self.markets.push(MarketState {
            spec,
            base,
            quote,
            book: Book::default(),
            trades: VecDeque::with_capacity(self.cfg.recent_trades.min(1 << 16)),
        });
        Ok(())
    }

    fn ev_deposit(&mut self, account: AccountId, coin: CoinId, amount: u64) -> EvResult {
        let ci = self.coin_idx(coin).ok_or("unknown coin")?;
        add(&mut self.supply[ci], amount)?;
        let ai = self.accounts.get_or_create(account);
        add(&mut self.accounts.get_mut(ai).balance_mut(ci).available, amount)
    }

    fn ev_withdraw(&mut self, account: AccountId, coin: CoinId, amount: u64) -> EvResult {
        let ci = self.coin_idx(coin).ok_or("unknown coin")?;
        let ai = self.accounts.idx(account).ok_or("unknown account")?;
        sub(&mut self.accounts.get_mut(ai).balance_mut(ci).available, amount)?;
        sub(&mut self.supply[ci], amount)
    }

    fn ev_transfer(&mut self, from: AccountId, to: AccountId, coin: CoinId, amount: u64) -> EvResult {
        let ci = self.coin_idx(coin).ok_or("unknown coin")?;
        let fi = self.accounts.idx(from).ok_or("unknown account")?;
        sub(&mut self.accounts.get_mut(fi).balance_mut(ci).available, amount)?;
        let ti = self.accounts.get_or_create(to);
        add(&mut self.accounts.get_mut(ti).balance_mut(ci).available, amount)
    }

    fn ev_accept(&mut self, a: &OrderAccepted) -> EvResult<u32> {
        let ai = self.accounts.idx(a.account).ok_or("unknown account")?;
        let mi = self.market_idx(a.market).ok_or("unknown market")?;
        self.ev_accept_at(ai, mi, a)
    }

    /// [`Engine::ev_accept`] with the account and market already resolved to `ai` and `mi`.
    fn ev_accept_at(&mut self, ai: u32, mi: usize, a: &OrderAccepted) -> EvResult<u32> {
        if a.order_id != self.next_order_id {
            return Err("order id out of sequence");
        }
        let m = &self.markets[mi];
        let lock_coin = if a.side == Side::Buy { m.quote } else { m.base };
        let bal = self.accounts.get_mut(ai).balance_mut(lock_coin);
        sub(&mut bal.available, a.locked)?;
        add(&mut bal.locked, a.locked)?;
        let slot = self.slab.alloc(Order {
            id: a.order_id,
            account: ai,
            market: mi as u32,
            side: a.side,
            order_type: a.order_type,
            tif: a.time_in_force,
            stp: a.stp,
            status: OrderStatus::New,
            in_book: false,
            price: a.price,
            quantity: a.quantity,
            funds: a.funds,
            remaining: a.quantity.unwrap_or(u64::MAX),
            filled: 0,
            executed_value: 0,
            locked: a.locked,
            cl_ord_id: a.cl_ord_id,
            created: a.ts,
            updated: a.ts,
            level: NIL,
            prev: NIL,
            next: NIL,
            aprev: NIL,
            anext: NIL,
        });
        if let Some(cl) = a.cl_ord_id {
            match self.accounts.get_mut(ai).cl_ord.entry(cl) {
                Entry::Occupied(_) => return Err("client order id in use"),
                Entry::Vacant(v) => {
                    v.insert(slot);
                }
            }
        }
        self.order_index.insert(a.order_id, slot);
        self.accounts.link_open(&mut self.slab, ai, slot);
        self.next_order_id += 1;
        Ok(slot)
    }

    fn ev_trade(&mut self, ms: u32, ts: u32, t: &Trade) -> EvResult {
        if t.trade_id != self.next_trade_id {
            return Err("trade id out of sequence");
        }
        let maker = self.slab.get(ms);
        let taker = self.slab.get(ts);
        let mi = maker.market as usize;
        if !maker.in_book || taker.in_book || taker.market != maker.market {
            return Err("trade between orders not in a maker/taker position");
        }
        if maker.side == taker.side || taker.side != t.taker_side || maker.price != t.price {
            return Err("trade does not match its orders");
        }
        let q = t.quantity;
        if q == 0 || maker.remaining < q || (taker.quantity.is_some() && taker.remaining < q) {
            return Err("trade quantity exceeds an order");
        }
        let m = &self.markets[mi];
        let spec = &m.spec;
        let (base_c, quote_c) = (m.base, m.quote);
        let quote_amount = spec.notional(t.price, q).ok_or("trade notional overflow")?;
        let base_amount = spec.base_amount(q).ok_or("trade base amount overflow")?;
        if quote_amount != t.quote_amount || base_amount != t.base_amount || spec.config.id != t.market {
            return Err("trade amounts do not match the market");
        }
        let (maker_gets, taker_gets) =
            if t.taker_side == Side::Buy { (quote_amount, base_amount) } else { (base_amount, quote_amount) };
        if fee_of(maker_gets, spec.config.maker_fee_ppm) != t.maker_fee
            || fee_of(taker_gets, spec.config.taker_fee_ppm) != t.taker_fee
        {
            return Err("trade fees do not match the market");
        }
        let (bs, ss, buyer_fee, seller_fee) = if t.taker_side == Side::Buy {
            (ts, ms, t.taker_fee, t.maker_fee)
        } else {
            (ms, ts, t.maker_fee, t.taker_fee)
        };
        let buyer = self.slab.get(bs);
        let improvement = if buyer.order_type == OrderType::Limit {
            let diff = buyer.price.checked_sub(t.price).ok_or("buyer's limit below trade price")?;
            spec.notional(diff, q).ok_or("overflow")?
        } else {
            0
        };
        let quote_unlock = quote_amount.checked_add(improvement).ok_or("overflow")?;
        let (ba, sa, fa) = (buyer.account, self.slab.get(ss).account, self.fee_idx);

        // Orders' locks.
        sub(&mut self.slab.get_mut(bs).locked, quote_unlock)?;
        sub(&mut self.slab.get_mut(ss).locked, base_amount)?;
        // Buyer: pays quote from its lock, gets the price improvement back, receives base less its fee.
        let b = self.accounts.get_mut(ba);
        sub(&mut b.balance_mut(quote_c).locked, quote_unlock)?;
        add(&mut b.balance_mut(quote_c).available, improvement)?;
        add(&mut b.balance_mut(base_c).available, base_amount - buyer_fee)?;
        // Seller: delivers base from its lock, receives quote less its fee.
        let s = self.accounts.get_mut(sa);
        sub(&mut s.balance_mut(base_c).locked, base_amount)?;
        add(&mut s.balance_mut(quote_c).available, quote_amount - seller_fee)?;
        // Fees.
        let f = self.accounts.get_mut(fa);
        add(&mut f.balance_mut(base_c).available, buyer_fee)?;
        add(&mut f.balance_mut(quote_c).available, seller_fee)?;

        // Orders' progress.
        for (slot, is_maker) in [(ms, true), (ts, false)] {
            let o = self.slab.get_mut(slot);
            if is_maker || o.quantity.is_some() {
                o.remaining -= q;
            }
            o.filled += q;
            o.executed_value = o.executed_value.checked_add(quote_amount).ok_or("overflow")?;
            o.updated = t.ts;
            o.status = OrderStatus::PartiallyFilled;
        }
        let (maker_rem, maker_locked) = {
            let o = self.slab.get(ms);
            (o.remaining, o.locked)
        };
        let taker_rem = self.slab.get(ts);
        let taker_rem = if taker_rem.quantity.is_some() { taker_rem.remaining } else { 0 };
        if maker_rem != t.maker_remaining || taker_rem != t.taker_remaining {
            return Err("trade remainders do not match");
        }
        let m = &mut self.markets[mi];
        m.book.reduce(&self.slab, ms, q);
        if m.trades.len() >= self.cfg.recent_trades {
            m.trades.pop_front();
        }
        if self.cfg.recent_trades > 0 {
            m.trades.push_back(*t);
        }
        self.next_trade_id += 1;
        if maker_rem == 0 {
            if maker_locked != 0 {
                return Err("filled maker still holds a lock");
            }
            m.book.unlink(&mut self.slab, ms);
            self.slab.get_mut(ms).status = OrderStatus::Filled;
            self.retire(ms);
        }
        Ok(())
    }

    fn ev_rest(&mut self, slot: u32, ts: u64) -> EvResult {
        let o = self.slab.get(slot);
        if o.in_book
            || o.order_type != OrderType::Limit
            || !matches!(o.tif, TimeInForce::Gtc | TimeInForce::Gtx)
            || o.remaining == 0
        {
            return Err("order cannot rest");
        }
        let (mi, side, price) = (o.market as usize, o.side, o.price);
        if self.crosses(mi, side, price) {
            return Err("resting order would cross the book");
        }
        self.markets[mi].book.push_back(&mut self.slab, slot);
        self.slab.get_mut(slot).updated = ts;
        Ok(())
    }

    fn ev_close(&mut self, slot: u32, c: &OrderClosed) -> EvResult {
        let o = self.slab.get(slot);
        if c.released != o.locked || c.filled != o.filled || c.status != c.reason.status() {
            return Err("close does not match the order");
        }
        let (mi, ai, side, in_book, released) = (o.market as usize, o.account, o.side, o.in_book, o.locked);
        let m = &mut self.markets[mi];
        let lock_coin = if side == Side::Buy { m.quote } else { m.base };
        if in_book {
            m.book.unlink(&mut self.slab, slot);
        }
        let bal = self.accounts.get_mut(ai).balance_mut(lock_coin);
        sub(&mut bal.locked, released)?;
        add(&mut bal.available, released)?;
        let o = self.slab.get_mut(slot);
        o.locked = 0;
        o.status = c.status;
        o.updated = c.ts;
        self.retire(slot);
        Ok(())
    }

    /// Removes a closed order from its account and the open orders, keeps its final view for status queries, and
    /// frees its slot.
    fn retire(&mut self, slot: u32) {
        let (ai, cl, id) = {
            let o = self.slab.get(slot);
            (o.account, o.cl_ord_id, o.id)
        };
        self.accounts.unlink_open(&mut self.slab, ai, slot);
        if let Some(cl) = cl {
            self.accounts.get_mut(ai).cl_ord.remove(&cl);
        }
        self.order_index.remove(&id);
        let n = self.closed.len() as u64;
        if n > 0 && id + n >= self.next_order_id {
            self.closed[(id % n) as usize] = Some(self.view(slot));
        }
        self.slab.free(slot);
    }

    /// A closed order still in the window.
    fn closed_view(&self, id: OrderId) -> Option<&OrderView> {
        let n = self.closed.len() as u64;
        if n == 0 || id >= self.next_order_id || id + n < self.next_order_id {
            return None;
        }
        self.closed[(id % n) as usize].as_ref().filter(|v| v.order_id == id)
    }

    fn ev_schedule_set(&mut self, account: AccountId, deadline: Option<u64>) -> EvResult {
        let ai = self.accounts.idx(account).ok_or("unknown account")?;
        let a = self.accounts.get_mut(ai);
        if let Some(old) = a.deadline.take() {
            self.deadlines.remove(&(old, account));
        }
        a.deadline = deadline;
        if let Some(d) = deadline {
            self.deadlines.insert((d, account));
        }
        Ok(())
    }

    fn ev_schedule_fired(&mut self, account: AccountId, deadline: u64) -> EvResult {
        let ai = self.accounts.idx(account).ok_or("unknown account")?;
        let a = self.accounts.get_mut(ai);
        if a.deadline != Some(deadline) {
            return Err("dead-man switch not armed with this deadline");
        }
        a.deadline = None;
        self.deadlines.remove(&(deadline, account));
        Ok(())
    }

    // ---------------------------------------------------------------------------------------------------------
    // Lookups
    // ---------------------------------------------------------------------------------------------------------

    #[inline]
    fn coin_idx(&self, coin: CoinId) -> Option<usize> {
        self.coin_index.get(&coin).map(|i| *i as usize)
    }

    #[inline]
    fn market_idx(&self, market: MarketId) -> Option<usize> {
        self.market_index.get(&market).map(|i| *i as usize)
    }

    fn open_slot(&self, id: OrderId) -> EvResult<u32> {
        let slot = *self.order_index.get(&id).ok_or("unknown order")?;
        if !self.slab.get(slot).status.is_open() {
            return Err("order is closed");
        }
        Ok(slot)
    }

    fn view(&self, slot: u32) -> OrderView {
        let o = self.slab.get(slot);
        OrderView {
            order_id: o.id,
            account: self.accounts.get(o.account).id,
            market: self.markets[o.market as usize].spec.config.id,
            cl_ord_id: o.cl_ord_id,
            side: o.side,
            order_type: o.order_type,
            time_in_force: o.tif,
            stp: o.stp,
            status: o.status,
            price: o.price,
            quantity: o.quantity,
            funds: o.funds,
            filled: o.filled,
            remaining: if o.status.is_open() && o.quantity.is_some() { o.remaining } else { 0 },
            executed_value: o.executed_value,
            locked: o.locked,
            created: o.created,
            updated: o.updated,
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Queries
    // ---------------------------------------------------------------------------------------------------------

    /// Coins in registration order.
    pub fn coins(&self) -> &[CoinConfig] {
        &self.coins
    }

    pub fn coin(&self, id: CoinId) -> Option<&CoinConfig> {
        self.coin_idx(id).map(|i| &self.coins[i])
    }

    /// Markets in registration order.
    pub fn markets(&self) -> impl Iterator<Item = &MarketSpec> {
        self.markets.iter().map(|m| &m.spec)
    }

    pub fn market(&self, id: MarketId) -> Option<&MarketSpec> {
        self.market_idx(id).map(|i| &self.markets[i].spec)
    }

    pub fn market_by_name(&self, name: &str) -> Option<&MarketSpec> {
        self.markets.iter().map(|m| &m.spec).find(|s| s.config.name == name)
    }

    /// Best bid and ask of a market.
    pub fn best_bid_ask(&self, market: MarketId) -> Option<Bbo> {
        let book = &self.markets[self.market_idx(market)?].book;
        let lv = |(price, l): (u64, &crate::book::Level)| LevelView { price, quantity: l.qty, orders: l.count };
        Some(Bbo { bid: book.best_bid().map(lv), ask: book.best_ask().map(lv) })
    }

    /// Up to `levels` aggregated levels per side, best first.
    pub fn depth(&self, market: MarketId, levels: usize) -> Option<Depth> {
        let book = &self.markets[self.market_idx(market)?].book;
        let side = |s: Side| {
            book.levels(s)
                .take(levels)
                .map(|(p, l)| LevelView { price: p, quantity: l.qty, orders: l.count })
                .collect::<Vec<_>>()
        };
        Some(Depth { bids: side(Side::Buy), asks: side(Side::Sell) })
    }

    pub fn has_account(&self, account: AccountId) -> bool {
        self.accounts.idx(account).is_some()
    }

    /// Accounts by id.
    pub fn account_ids(&self) -> Vec<AccountId> {
        let mut ids: Vec<AccountId> = self.accounts.list.iter().map(|a| a.id).collect();
        ids.sort_unstable();
        ids
    }

    /// One balance (zero for unknown accounts or coins).
    pub fn balance(&self, account: AccountId, coin: CoinId) -> Balance {
        match (self.accounts.idx(account), self.coin_idx(coin)) {
            (Some(ai), Some(ci)) => self.accounts.get(ai).balance(ci),
            _ => Balance::default(),
        }
    }

    /// The account's balance of every coin, in coin registration order (empty for unknown accounts).
    pub fn balances(&self, account: AccountId) -> Vec<(CoinId, Balance)> {
        let Some(ai) = self.accounts.idx(account) else { return Vec::new() };
        let a = self.accounts.get(ai);
        self.coins.iter().enumerate().map(|(ci, c)| (c.id, a.balance(ci))).collect()
    }

    /// The account's open orders in acceptance order, in one market or all.
    pub fn open_orders(&self, account: AccountId, market: Option<MarketId>) -> Vec<OrderView> {
        let Some(ai) = self.accounts.idx(account) else { return Vec::new() };
        let mut v = Vec::new();
        let mut s = self.accounts.get(ai).open_head;
        while s != NIL {
            let o = self.slab.get(s);
            if market.is_none_or(|m| self.markets[o.market as usize].spec.config.id == m) {
                v.push(self.view(s));
            }
            s = o.anext;
        }
        v
    }

    /// An open order, or a closed one still kept (see [`EngineConfig::closed_orders`]).
    pub fn order(&self, id: OrderId) -> Option<OrderView> {
        match self.order_index.get(&id) {
            Some(s) => Some(self.view(*s)),
            None => self.closed_view(id).cloned(),
        }
    }

    /// An open order by its client order id.
    pub fn order_by_cl_ord_id(&self, account: AccountId, cl: &ClOrdId) -> Option<OrderView> {
        let ai = self.accounts.idx(account)?;
        self.accounts.get(ai).cl_ord.get(cl).map(|s| self.view(*s))
    }

    /// Up to `limit` most recent trades of a market, newest first.
    pub fn recent_trades(&self, market: MarketId, limit: usize) -> Vec<Trade> {
        match self.market_idx(market) {
            Some(mi) => self.markets[mi].trades.iter().rev().take(limit).copied().collect(),
            None => Vec::new(),
        }
    }

    /// The account's armed dead-man switch deadline.
    pub fn schedule_cancel(&self, account: AccountId) -> Option<u64> {
        self.accounts.idx(account).and_then(|ai| self.accounts.get(ai).deadline)
    }

    /// Atoms of a coin inside the engine: deposits minus withdrawals. Always equals the sum over all accounts
    /// (the fee account included) of available + locked.
    pub fn total_supply(&self, coin: CoinId) -> u64 {
        self.coin_idx(coin).map_or(0, |ci| self.supply[ci])
    }

    /// The id the next accepted order will get.
    pub fn next_order_id(&self) -> OrderId {
        self.next_order_id
    }

    /// The canonical logical state.
    pub fn snapshot(&self) -> Snapshot {
        let mut accts: Vec<u32> = (0..self.accounts.list.len() as u32).collect();
        accts.sort_unstable_by_key(|i| self.accounts.get(*i).id);
        let balances = accts
            .iter()
            .map(|&ai| {
                let a = self.accounts.get(ai);
                (a.id, self.coins.iter().enumerate().map(|(ci, c)| (c.id, a.balance(ci))).collect())
            })
            .collect();
        let open_orders = accts
            .iter()
            .map(|&ai| {
                let a = self.accounts.get(ai);
                let mut ids = Vec::new();
                let mut s = a.open_head;
                while s != NIL {
                    ids.push(self.slab.get(s).id);
                    s = self.slab.get(s).anext;
                }
                (a.id, ids)
            })
            .collect();
        let books = self
            .markets
            .iter()
            .map(|m| {
                let side = |s: Side| {
                    let mut v = Vec::new();
                    for (_, l) in m.book.levels(s) {
                        let mut slot = l.head;
                        while slot != NIL {
                            v.push(self.view(slot));
                            slot = self.slab.get(slot).next;
                        }
                    }
                    v
                };
                BookSnapshot { market: m.spec.config.id, bids: side(Side::Buy), asks: side(Side::Sell) }
            })
            .collect();
        Snapshot {
            coins: self.coins.clone(),
            markets: self.markets.iter().map(|m| m.spec.config.clone()).collect(),
            supply: self.coins.iter().zip(&self.supply).map(|(c, s)| (c.id, *s)).collect(),
            balances,
            books,
            open_orders,
            closed_orders: (self.next_order_id.saturating_sub(self.closed.len() as u64).max(1)..self.next_order_id)
                .filter_map(|id| self.closed_view(id).cloned())
                .collect(),
            recent_trades: self
                .markets
                .iter()
                .map(|m| (m.spec.config.id, m.trades.iter().copied().collect()))
                .collect(),
            deadlines: self.deadlines.iter().copied().collect(),
            next_order_id: self.next_order_id,
            next_trade_id: self.next_trade_id,
        }
    }

    /// A 64-bit FNV-1a digest of [`Engine::snapshot`] (stable for a given build and platform).
    pub fn digest(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = Fnv64::default();
        self.snapshot().hash(&mut h);
        h.finish()
    }

    /// Checks every internal invariant (balances against supply and locks, books, lists, indexes). For tests;
    /// O(state).
    pub fn check_invariants(&self) -> Result<(), String> {
        let nc = self.coins.len();
        // Conservation: per coin, the sum of all balances is the supply.
        let mut sums = vec![0u128; nc];
        // Locks: per account and coin, the sum of its open orders' locks.
        let mut locks = vec![vec![0u128; nc]; self.accounts.list.len()];
        for (ai, a) in self.accounts.list.iter().enumerate() {
            for (ci, sum) in sums.iter_mut().enumerate() {
                *sum += u128::from(a.balance(ci).total());
            }
            let mut count = 0u32;
            let mut cls = 0usize;
            let mut s = a.open_head;
            let mut prev = NIL;
            while s != NIL {
                let o = self.slab.get(s);
                if o.aprev != prev {
                    return Err(format!("account {} list broken at order {}", a.id, o.id));
                }
                if !o.status.is_open() || o.account as usize != ai || !o.in_book {
                    return Err(format!("order {} in account {} open list is not resting", o.id, a.id));
                }
                let m = &self.markets[o.market as usize];
                let coin = if o.side == Side::Buy { m.quote } else { m.base };
                locks[ai][coin] += u128::from(o.locked);
                let want = match o.side {
                    Side::Buy => m.spec.notional(o.price, o.remaining),
                    Side::Sell => m.spec.base_amount(o.remaining),
                };
                if want != Some(o.locked) {
                    return Err(format!("order {} locks {} instead of {:?}", o.id, o.locked, want));
                }
                if let Some(cl) = &o.cl_ord_id {
                    cls += 1;
                    if a.cl_ord.get(cl) != Some(&s) {
                        return Err(format!("order {} client id not indexed", o.id));
                    }
                }
                if self.order_index.get(&o.id) != Some(&s) {
                    return Err(format!("order {} not indexed", o.id));
                }
                count += 1;
                prev = s;
                s = o.anext;
            }
            if count != a.open_count || prev != a.open_tail || cls != a.cl_ord.len() {
                return Err(format!("account {} open-order bookkeeping is off", a.id));
            }
            if count > self.cfg.max_open_orders {
                return Err(format!("account {} has {count} open orders", a.id));
            }
            for (ci, lock) in locks[ai].iter().enumerate() {
                if u128::from(a.balance(ci).locked) != *lock {
                    return Err(format!(
                        "account {} coin {} locked {} but its orders lock {lock}",
                        a.id,
                        self.coins[ci].id,
                        a.balance(ci).locked,
                    ));
                }
            }
            if a.deadline.is_some_and(|d| !self.deadlines.contains(&(d, a.id))) {
                return Err(format!("account {} deadline not scheduled", a.id));
            }
        }
        for ((sum, supply), coin) in sums.iter().zip(&self.supply).zip(&self.coins) {
            if *sum != u128::from(*supply) {
                return Err(format!("coin {} sums to {sum} but supply is {supply}", coin.id));
            }
        }
        let mut in_books = 0usize;
        for (mi, m) in self.markets.iter().enumerate() {
            if let (Some((b, _)), Some((a, _))) = (m.book.best_bid(), m.book.best_ask())
                && b >= a
            {
                return Err(format!("market {} crossed: bid {b} >= ask {a}", m.spec.config.id));
            }
            for side in [Side::Buy, Side::Sell] {
                for (price, l) in m.book.levels(side) {
                    let (mut qty, mut count, mut s, mut prev) = (0u64, 0u32, l.head, NIL);
                    while s != NIL {
                        let o = self.slab.get(s);
                        if o.prev != prev || o.price != price || o.side != side || o.market as usize != mi {
                            return Err(format!("level {price} of market {} broken at {}", m.spec.config.id, o.id));
                        }
                        qty += o.remaining;
                        count += 1;
                        prev = s;
                        s = o.next;
                    }
                    if qty != l.qty || count != l.count || prev != l.tail || count == 0 {
                        return Err(format!("level {price} of market {} totals are off", m.spec.config.id));
                    }
                    in_books += count as usize;
                }
            }
        }
        let open: usize = self.accounts.list.iter().map(|a| a.open_count as usize).sum();
        if open != in_books {
            return Err(format!("{open} open orders but {in_books} in books"));
        }
        if self.order_index.len() != open {
            return Err("order index size is off".into());
        }
        Ok(())
    }
}
