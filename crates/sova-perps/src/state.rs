//! The engine's state and the one code path that changes it: [`Perps::apply_event`]. The live path builds each
//! event, applies it here, then emits it; replay applies the same events in the same order.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use sova_engine::{AccountId, ClOrdId, MarketId, OrderId, OrderType, Side, StpMode, TimeInForce};

use crate::events::{Event, OrderAccepted, Trade};
use crate::types::{
    CloseReason, E12, MICRO, MarginMode, Modifier, OrderStatus, PerpMarketSpec, PerpsConfig, PositionId, StopSpec,
    ceil_div,
};

pub(crate) type EvResult<T = ()> = Result<T, &'static str>;

/// The live path's events cannot fail unless the engine has a bug; stop rather than corrupt state.
pub(crate) fn must<T>(r: EvResult<T>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("sova-perps invariant violated: {e}"),
    }
}

/// Multiply-rotate hashing of ids (as `sova-engine`'s lookup tables): fast and seedless, so deterministic.
#[derive(Clone, Copy, Default)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
        for b in chunks.remainder() {
            self.write_u64(u64::from(*b));
        }
    }
    #[inline(always)]
    fn write_u64(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(26) ^ w).wrapping_mul(0xf135_7aea_2e62_a9c5);
    }
    #[inline(always)]
    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

/// A lookup table by id (never iterated where the order matters).
pub(crate) type IdMap<V> = std::collections::HashMap<u64, V, std::hash::BuildHasherDefault<IdHasher>>;

/// Open orders with a client id: (account, client id) -> their order ids, ascending (normally one; a bracket's
/// items may share one). Looked up only.
#[derive(Clone, Debug, Default)]
pub(crate) struct ClIndex {
    map: std::collections::HashMap<ClSlot, ClIds, std::hash::BuildHasherDefault<IdHasher>>,
}

/// (account, client id), hashed as six words.
#[derive(Clone, Copy, Debug, Eq)]
struct ClSlot(AccountId, ClKey);

impl PartialEq for ClSlot {
    #[inline]
    fn eq(&self, o: &Self) -> bool {
        let (a, b) = (&self.1, &o.1);
        ((self.0 ^ o.0) | (a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4])) == 0
    }
}

impl std::hash::Hash for ClSlot {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.0);
        for w in self.1 {
            state.write_u64(w);
        }
    }
}

/// Ascending: `first`, then `more` (empty, so no allocation, in the usual case of one order).
#[derive(Clone, Debug)]
struct ClIds {
    first: OrderId,
    more: Vec<OrderId>,
}

impl ClIndex {
    pub fn insert(&mut self, a: AccountId, k: ClKey, id: OrderId) {
        match self.map.entry(ClSlot(a, k)) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(ClIds { first: id, more: Vec::new() });
            }
            std::collections::hash_map::Entry::Occupied(mut o) => {
                let ids = o.get_mut();
                if id < ids.first {
                    let f = std::mem::replace(&mut ids.first, id);
                    ids.more.insert(0, f);
                } else if id != ids.first
                    && let Err(i) = ids.more.binary_search(&id)
                {
                    ids.more.insert(i, id);
                }
            }
        }
    }

    pub fn remove(&mut self, a: AccountId, k: ClKey, id: OrderId) {
        let std::collections::hash_map::Entry::Occupied(mut o) = self.map.entry(ClSlot(a, k)) else { return };
        let ids = o.get_mut();
        if ids.first == id {
            if ids.more.is_empty() {
                o.remove();
            } else {
                ids.first = ids.more.remove(0);
            }
        } else if let Ok(i) = ids.more.binary_search(&id) {
            ids.more.remove(i);
        }
    }

    /// The open orders of account `a` with client id `k`, ascending.
    pub fn ids(&self, a: AccountId, k: ClKey) -> impl Iterator<Item = OrderId> + '_ {
        self.map
            .get(&ClSlot(a, k))
            .into_iter()
            .flat_map(|ids| std::iter::once(ids.first).chain(ids.more.iter().copied()))
    }

    /// Every entry, sorted (for the invariant check).
    pub fn entries(&self) -> BTreeSet<(AccountId, ClKey, OrderId)> {
        let mut v = BTreeSet::new();
        for (ClSlot(a, k), ids) in &self.map {
            v.insert((*a, *k, ids.first));
            v.extend(ids.more.iter().map(|id| (*a, *k, *id)));
        }
        v
    }
}

/// A client id as five words (its bytes and length, as `ClOrdId`'s `Hash` writes them): equal exactly when the
/// ids are, and cheaper to compare than `ClOrdId`'s `Ord` (which compares the text). Only used for exact lookups.
pub(crate) type ClKey = [u64; 5];

pub(crate) fn cl_key(c: &ClOrdId) -> ClKey {
    struct Words {
        w: ClKey,
        n: usize,
    }
    impl std::hash::Hasher for Words {
        fn write(&mut self, bytes: &[u8]) {
            for b in bytes {
                self.write_u8(*b);
            }
        }
        fn write_u8(&mut self, b: u8) {
            self.write_u64(u64::from(b));
        }
        fn write_u64(&mut self, v: u64) {
            // `ClOrdId` writes exactly five words (checked below in debug builds), so the key is exact.
            let i = self.n % 5;
            self.w[i] = self.w[i].rotate_left(8) ^ v;
            self.n += 1;
        }
        fn finish(&self) -> u64 {
            0
        }
    }
    let mut h = Words { w: [0; 5], n: 0 };
    std::hash::Hash::hash(c, &mut h);
    debug_assert_eq!(h.n, 5, "ClOrdId's Hash changed: cl_key needs an update");
    h.w
}

/// An order (open, or kept after closing for lookups).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Order {
    pub id: OrderId,
    pub account: AccountId,
    pub market: MarketId,
    pub cl_ord_id: Option<ClOrdId>,
    pub side: Side,
    pub order_type: OrderType,
    pub tif: TimeInForce,
    pub stp: StpMode,
    pub price: u64,
    pub quantity: u64,
    pub filled: u64,
    pub executed_value: i128,
    pub reduce_only: bool,
    pub modifier: Modifier,
    pub stop: Option<StopSpec>,
    pub primary: Option<OrderId>,
    pub attached: Vec<OrderId>,
    /// Attached stops: lots armed so far (`quantity x primary filled / primary quantity`).
    pub armed: u64,
    pub liquidation: bool,
    pub frozen: i128,
    pub status: OrderStatus,
    pub in_book: bool,
    /// Book priority (assigned when it rests).
    pub seq: u64,
    pub created: u64,
    pub updated: u64,
}

impl Order {
    pub fn remaining(&self) -> u64 {
        self.quantity - self.filled
    }
    /// Off the book, waiting for its trigger.
    pub fn untriggered(&self) -> bool {
        self.status == OrderStatus::Untriggered
    }
}

/// A net position. `size` is signed lots (long > 0); `cost` the signed entry notional in quote atoms (same sign
/// as `size`), so uPnL at price P is `size x P x qptl - cost` and the average entry is `cost / (size x qptl)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Position {
    pub id: PositionId,
    pub mode: MarginMode,
    pub leverage: u32,
    pub size: i128,
    pub cost: i128,
    /// Isolated only: the position's margin (quote atoms).
    pub margin: i128,
    pub realized: i128,
    pub fees: i128,
    /// Funding paid (> 0) or received (< 0).
    pub funding: i128,
    pub cum_open_cost: i128,
    pub cum_closed: i128,
    pub close_value: i128,
    pub max_size: i128,
    pub taken_over: bool,
    pub take_over_price: u64,
    pub created: u64,
    pub updated: u64,
}

/// A closed position, kept in the account's history.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ClosedPosition {
    pub market: MarketId,
    pub pos: Position,
    /// It was long (a closed position's size is 0, so its direction is kept here).
    pub long: bool,
}

/// One funding payment of one position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct FundingRow {
    pub market: MarketId,
    pub position_id: PositionId,
    /// Signed lots at settlement.
    pub size: i128,
    /// Quote atoms; positive = paid.
    pub fee: i128,
    pub rate_ppb: i64,
    pub ts: u64,
}

/// An account's open order ids, ascending, in a sorted vector (a handful per account; new ids go at the end).
/// Hashed exactly as a `BTreeSet<OrderId>`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct OrderSet(Vec<OrderId>);

impl OrderSet {
    pub fn insert(&mut self, id: OrderId) -> bool {
        match self.0.last() {
            Some(last) if *last >= id => match self.0.binary_search(&id) {
                Ok(_) => false,
                Err(i) => {
                    self.0.insert(i, id);
                    true
                }
            },
            _ => {
                self.0.push(id);
                true
            }
        }
    }
    pub fn remove(&mut self, id: &OrderId) -> bool {
        match self.0.binary_search(id) {
            Ok(i) => {
                self.0.remove(i);
                true
            }
            Err(_) => false,
        }
    }
    pub fn contains(&self, id: &OrderId) -> bool {
        self.0.binary_search(id).is_ok()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn iter(&self) -> std::slice::Iter<'_, OrderId> {
        self.0.iter()
    }
}

impl std::hash::Hash for OrderSet {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // As `BTreeSet<u64>`: the length, then each id.
        state.write_usize(self.0.len());
        for id in &self.0 {
            state.write_u64(*id);
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct Account {
    /// Cross collateral in quote atoms (isolated margins are held by their positions). May go negative only
    /// through losses (a bankrupt account before its deficit is covered).
    pub collateral: i128,
    /// Sum of the open orders' frozen margin.
    pub frozen: i128,
    pub settings: BTreeMap<MarketId, (u32, MarginMode)>,
    /// Open orders (stops included).
    pub orders: OrderSet,
    pub deadline: Option<u64>,
    pub fundings: VecDeque<FundingRow>,
    pub history: VecDeque<ClosedPosition>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct MarketState {
    pub spec: PerpMarketSpec,
    /// Bids by (u64::MAX - price, seq), asks by (price, seq): the first entry is the best.
    pub bids: BookSide,
    pub asks: BookSide,
    /// Untriggered stops.
    pub stops: BTreeSet<OrderId>,
    pub index: Option<u64>,
    pub index_pinned: bool,
    pub mark: Option<u64>,
    pub mark_pinned: bool,
    /// EMA150s(mid - index) and EMA30s(median(bid, ask, last)), micro-ticks.
    pub basis_ema: i128,
    pub book_ema: i128,
    pub mark_ts: Option<u64>,
    pub last: Option<u64>,
    pub premium_sum: i128,
    pub premium_count: u64,
    pub next_funding: u64,
    pub last_rate_ppb: i64,
    /// Open interest: the sum of long sizes (lots).
    pub open_interest: i128,
    pub trades: VecDeque<Trade>,
}

/// One side of a book: (price key, seq) -> order id, as price levels (`BTreeMap` by price key, no empty level)
/// each holding its (seq, order id) in seq order (time priority: a new order goes at the back). Iterates,
/// compares and hashes exactly as the flat `BTreeMap<(u64, u64), OrderId>` it stands for.
#[derive(Clone, Debug, Default)]
pub(crate) struct BookSide {
    levels: BTreeMap<u64, Vec<(u64, OrderId)>>,
    len: usize,
    /// The buffer of the last level that emptied, for the next new level (not content).
    spare: Vec<(u64, OrderId)>,
}

impl PartialEq for BookSide {
    fn eq(&self, o: &Self) -> bool {
        self.len == o.len && self.levels == o.levels
    }
}

impl Eq for BookSide {}

impl BookSide {
    pub fn insert(&mut self, k: (u64, u64), id: OrderId) -> Option<OrderId> {
        let spare = &mut self.spare;
        let lvl = self.levels.entry(k.0).or_insert_with(|| std::mem::take(spare));
        match lvl.last() {
            Some(&(last, _)) if last >= k.1 => match lvl.binary_search_by_key(&k.1, |e| e.0) {
                Ok(i) => Some(std::mem::replace(&mut lvl[i].1, id)),
                Err(i) => {
                    lvl.insert(i, (k.1, id));
                    self.len += 1;
                    None
                }
            },
            _ => {
                lvl.push((k.1, id));
                self.len += 1;
                None
            }
        }
    }
    pub fn remove(&mut self, k: &(u64, u64)) -> Option<OrderId> {
        let lvl = self.levels.get_mut(&k.0)?;
        let i = lvl.binary_search_by_key(&k.1, |e| e.0).ok()?;
        let (_, id) = lvl.remove(i);
        self.len -= 1;
        if lvl.is_empty()
            && let Some(v) = self.levels.remove(&k.0)
        {
            self.spare = v;
        }
        Some(id)
    }
    pub fn get(&self, k: &(u64, u64)) -> Option<&OrderId> {
        let lvl = self.levels.get(&k.0)?;
        lvl.binary_search_by_key(&k.1, |e| e.0).ok().map(|i| &lvl[i].1)
    }
    /// Best first.
    pub fn iter(&self) -> impl Iterator<Item = ((u64, u64), OrderId)> + '_ {
        self.levels.iter().flat_map(|(p, v)| v.iter().map(move |(s, id)| ((*p, *s), *id)))
    }
    pub fn first_key(&self) -> Option<(u64, u64)> {
        self.levels.iter().next().and_then(|(p, v)| v.first().map(|(s, _)| (*p, *s)))
    }
    pub fn values(&self) -> impl Iterator<Item = &OrderId> + '_ {
        self.levels.values().flat_map(|v| v.iter().map(|(_, id)| id))
    }
}

impl std::hash::Hash for BookSide {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // As `BTreeMap<(u64, u64), u64>`: the length, then each key's two words and the value.
        state.write_usize(self.len);
        for ((a, b), id) in self.iter() {
            state.write_u64(a);
            state.write_u64(b);
            state.write_u64(id);
        }
    }
}

impl MarketState {
    pub fn book_key(side: Side, price: u64, seq: u64) -> (u64, u64) {
        match side {
            Side::Buy => (u64::MAX - price, seq),
            Side::Sell => (price, seq),
        }
    }
    pub fn side_book(&self, side: Side) -> &BookSide {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }
    pub fn side_book_mut(&mut self, side: Side) -> &mut BookSide {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }
    pub fn best_bid(&self) -> Option<u64> {
        self.bids.first_key().map(|k| u64::MAX - k.0)
    }
    pub fn best_ask(&self) -> Option<u64> {
        self.asks.first_key().map(|k| k.0)
    }
}

/// The perps engine. See the crate documentation.
#[derive(Clone, Debug)]
pub struct Perps {
    pub(crate) cfg: PerpsConfig,
    pub(crate) markets: BTreeMap<MarketId, MarketState>,
    /// By id: a hash table with a fixed hasher, looked up only (iterations sort by id).
    pub(crate) accounts: IdMap<Account>,
    pub(crate) positions: BTreeMap<(MarketId, AccountId), Position>,
    /// Open orders by id: a hash table with a fixed hasher, only ever looked up (the snapshot and the invariant
    /// check sort by id), so nothing depends on its iteration order. Boxed: an order moves to `closed` as a
    /// pointer.
    pub(crate) orders: IdMap<Box<Order>>,
    pub(crate) closed: BTreeMap<OrderId, Box<Order>>,
    pub(crate) deadlines: BTreeSet<(u64, AccountId)>,
    /// Liquidations under way: (account, scope: None = cross) -> the next slice's time, if one is scheduled.
    pub(crate) liquidations: BTreeMap<(AccountId, Option<MarketId>), Option<u64>>,
    /// Net collateral transferred in (in minus out): the conserved total.
    pub(crate) supply: i128,
    pub(crate) next_order: OrderId,
    pub(crate) next_trade: u64,
    pub(crate) next_position: PositionId,
    pub(crate) next_seq: u64,
    // Per-command work lists of the live path (not state; empty between commands).
    /// Unsorted, with repeats (sorted and deduplicated when used; reused buffers, no allocation per command).
    pub(crate) dirty_accounts: Vec<AccountId>,
    pub(crate) dirty_markets: Vec<MarketId>,
    pub(crate) mark_moved: BTreeSet<MarketId>,
    /// Derived liquidation index (kept by `apply_event`, so replay rebuilds it; not part of the snapshot).
    pub(crate) liq: LiqIndex,
    /// Derived: open orders with a client id, by (account, client id, order id), so a lookup by client id and
    /// the uniqueness check do not scan the account's orders (kept by `apply_event`; not part of the snapshot).
    pub(crate) cl_index: ClIndex,
    /// Derived: reduce-only orders resting in a book, by (account, order id), so the cut after a fill does not
    /// scan the account's orders (kept by `apply_event`; not part of the snapshot).
    pub(crate) ro_resting: BTreeSet<(AccountId, OrderId)>,
    /// The last order put into `closed` and its status, while it is there (so the acknowledgement of an order
    /// that just closed needs no tree lookup; not state).
    pub(crate) last_closed: Option<(OrderId, OrderStatus)>,
}

/// Where a mark move can liquidate, without scanning every position. For each scope holding one position
/// (a cross account with one cross position; an isolated position) a conservative trigger price, in micro-ticks:
/// with `C` the scope's collateral (or margin) and the largest maintenance rate of the market's tiers,
/// a long can only be below maintenance at `P <= (cost - C) / (size x qptl x (1 - mmr_max))` and a short at
/// `P >= (C + |cost|) / (|size| x qptl x (1 + mmr_max))` (maintenance never exceeds `notional x mmr_max`).
/// A mark move checks exactly the scopes whose trigger it reaches, plus every account with two or more cross
/// positions (`multi`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LiqIndex {
    pub longs: BTreeMap<MarketId, BTreeSet<(i128, AccountId)>>,
    pub shorts: BTreeMap<MarketId, BTreeSet<(i128, AccountId)>>,
    pub key_of: BTreeMap<(MarketId, AccountId), (bool, i128)>,
    pub multi: BTreeSet<AccountId>,
}

impl Perps {
    pub fn new(cfg: PerpsConfig) -> Perps {
        Perps {
            cfg,
            markets: BTreeMap::new(),
            accounts: IdMap::default(),
            positions: BTreeMap::new(),
            orders: IdMap::default(),
            closed: BTreeMap::new(),
            deadlines: BTreeSet::new(),
            liquidations: BTreeMap::new(),
            supply: 0,
            next_order: 1,
            next_trade: 1,
            next_position: 1,
            next_seq: 1,
            dirty_accounts: Vec::new(),
            dirty_markets: Vec::new(),
            mark_moved: BTreeSet::new(),
            liq: LiqIndex::default(),
            cl_index: ClIndex::default(),
            ro_resting: BTreeSet::new(),
            last_closed: None,
        }
    }

    pub fn config(&self) -> &PerpsConfig {
        &self.cfg
    }

    /// Rebuilds an engine from its events.
    pub fn replay<'a>(cfg: PerpsConfig, events: impl IntoIterator<Item = &'a Event>) -> Result<Perps, ReplayError> {
        let mut p = Perps::new(cfg);
        for (i, ev) in events.into_iter().enumerate() {
            p.apply_event(ev).map_err(|reason| ReplayError { index: i, reason })?;
        }
        Ok(p)
    }

    pub(crate) fn spec(&self, m: MarketId) -> EvResult<&PerpMarketSpec> {
        self.markets.get(&m).map(|s| &s.spec).ok_or("unknown market")
    }

    pub(crate) fn setting(&self, a: AccountId, m: MarketId) -> (u32, MarginMode) {
        let d = self.markets.get(&m).map_or(1, |s| s.spec.config.init_leverage);
        self.accounts.get(&a).and_then(|x| x.settings.get(&m).copied()).unwrap_or((d, MarginMode::Cross))
    }

    fn acct(&mut self, a: AccountId) -> &mut Account {
        self.accounts.entry(a).or_default()
    }

    fn market_mut(&mut self, m: MarketId) -> EvResult<&mut MarketState> {
        self.markets.get_mut(&m).ok_or("unknown market")
    }

    /// Applies one event. The live path applies every event it emits through here; replay too.
    pub fn apply_event(&mut self, ev: &Event) -> Result<(), &'static str> {
        self.apply_event_inner(ev)?;
        match ev {
            Event::TransferredIn { account, .. }
            | Event::TransferredOut { account, .. }
            | Event::MarginMoved { account, .. }
            | Event::LeverageSet { account, .. } => self.reindex(*account),
            Event::Trade(t) => {
                self.reindex(t.maker_account);
                self.reindex(t.taker_account);
            }
            Event::TakenOver { account, .. } => {
                self.reindex(*account);
                self.reindex(self.cfg.insurance_account);
            }
            Event::CollateralMoved { from, to, .. } => {
                self.reindex(*from);
                self.reindex(*to);
            }
            Event::Adl { account, counterparty, .. } => {
                self.reindex(*account);
                self.reindex(*counterparty);
            }
            Event::FundingSettled { market, .. } => {
                let accts: Vec<AccountId> =
                    self.positions.range((*market, 0)..=(*market, AccountId::MAX)).map(|((_, a), _)| *a).collect();
                for a in accts {
                    self.reindex(a);
                }
                self.reindex(self.cfg.insurance_account);
            }
            _ => {}
        }
        Ok(())
    }

    /// The liquidation index rebuilt from scratch (for the invariant check).
    pub(crate) fn rebuilt_index(&self) -> LiqIndex {
        let mut c = self.clone();
        c.liq = LiqIndex::default();
        let accts: Vec<AccountId> = c.accounts.keys().copied().collect();
        for a in accts {
            c.reindex(a);
        }
        c.liq.longs.retain(|_, s| !s.is_empty());
        c.liq.shorts.retain(|_, s| !s.is_empty());
        c.liq
    }

    /// Recomputes the account's entries of the liquidation index (no allocation beyond the index's own).
    fn reindex(&mut self, a: AccountId) {
        let Perps { markets, liq, accounts, positions, .. } = self;
        let acc = accounts.get(&a);
        let cross = match acc {
            Some(_) => {
                markets.keys().filter(|m| positions.get(&(**m, a)).is_some_and(|p| p.mode == MarginMode::Cross)).count()
            }
            None => 0,
        };
        if cross > 1 {
            liq.multi.insert(a);
        } else {
            liq.multi.remove(&a);
        }
        for (m, s) in markets.iter() {
            // The entry the account should have in this market, if any; the index is only touched if it changed.
            let new = acc.and_then(|acc| {
                let p = positions.get(&(*m, a))?;
                let c = match p.mode {
                    MarginMode::Isolated => p.margin,
                    MarginMode::Cross if cross == 1 => acc.collateral,
                    MarginMode::Cross => return None,
                };
                let mmr = s.spec.tiers.last().map_or(0, |t| t.mmr_e12);
                let q = s.spec.qptl();
                let long = p.size > 0;
                let size = p.size.abs();
                let key = if long {
                    ceil_div((p.cost - c) * E12 * MICRO, size * q * (E12 - mmr).max(1)) + 1
                } else {
                    (c + p.cost.abs()) * E12 * MICRO / (size * q * (E12 + mmr)) - 1
                };
                Some((long, key))
            });
            let old = liq.key_of.get(&(*m, a)).copied();
            if old == new {
                continue;
            }
            if let Some((long, key)) = old {
                let set = if long { liq.longs.get_mut(m) } else { liq.shorts.get_mut(m) };
                if let Some(set) = set {
                    set.remove(&(key, a));
                }
            }
            match new {
                Some((long, key)) => {
                    liq.key_of.insert((*m, a), (long, key));
                    let set = if long { liq.longs.entry(*m) } else { liq.shorts.entry(*m) };
                    set.or_default().insert((key, a));
                }
                None => {
                    liq.key_of.remove(&(*m, a));
                }
            }
        }
    }

    /// Accounts a mark of `mark` ticks in `m` may bring below maintenance (a superset; checked exactly after).
    pub(crate) fn liquidation_candidates(&self, m: MarketId, mark: u64, into: &mut Vec<AccountId>) {
        let pm = i128::from(mark) * MICRO;
        if let Some(l) = self.liq.longs.get(&m) {
            into.extend(l.range((pm, 0)..).map(|(_, a)| *a));
        }
        if let Some(sh) = self.liq.shorts.get(&m) {
            into.extend(sh.range(..=(pm, AccountId::MAX)).map(|(_, a)| *a));
        }
        into.extend(self.liq.multi.iter().copied());
    }

    fn apply_event_inner(&mut self, ev: &Event) -> Result<(), &'static str> {
        match ev {
            Event::MarketAdded { config, ts } => {
                let m = config.market.id;
                if self.markets.contains_key(&m) {
                    return Err("market exists");
                }
                let spec = PerpMarketSpec::new(config.clone(), self.cfg.collateral, self.cfg.collateral_decimals)
                    .ok_or("invalid market")?;
                let iv = spec.config.funding.interval_ms;
                self.markets.insert(
                    m,
                    MarketState {
                        spec,
                        bids: BookSide::default(),
                        asks: BookSide::default(),
                        stops: BTreeSet::new(),
                        index: None,
                        index_pinned: false,
                        mark: None,
                        mark_pinned: false,
                        basis_ema: 0,
                        book_ema: 0,
                        mark_ts: None,
                        last: None,
                        premium_sum: 0,
                        premium_count: 0,
                        next_funding: (ts / iv + 1) * iv,
                        last_rate_ppb: 0,
                        open_interest: 0,
                        trades: VecDeque::new(),
                    },
                );
            }
            Event::TransferredIn { account, amount, .. } => {
                self.acct(*account).collateral += i128::from(*amount);
                self.supply += i128::from(*amount);
            }
            Event::TransferredOut { account, amount, .. } => {
                let a = self.accounts.get_mut(account).ok_or("unknown account")?;
                a.collateral -= i128::from(*amount);
                self.supply -= i128::from(*amount);
            }
            Event::LeverageSet { account, market, leverage, mode, .. } => {
                self.spec(*market)?;
                self.acct(*account).settings.insert(*market, (*leverage, *mode));
                if let Some(p) = self.positions.get_mut(&(*market, *account)) {
                    if p.mode != *mode {
                        return Err("mode change with a position");
                    }
                    p.leverage = *leverage;
                }
            }
            Event::MarginMoved { account, market, amount, .. } => {
                let p = self.positions.get_mut(&(*market, *account)).ok_or("no position")?;
                p.margin += amount;
                self.acct(*account).collateral -= amount;
            }
            Event::OrderAccepted(a) => self.ev_accept(a)?,
            Event::OrderRested { order_id, ts } => {
                let seq = self.next_seq;
                let o = self.orders.get_mut(order_id).ok_or("unknown order")?;
                if o.in_book || o.untriggered() {
                    return Err("order cannot rest");
                }
                o.in_book = true;
                o.seq = seq;
                o.updated = *ts;
                let (side, price, id, m) = (o.side, o.price, o.id, o.market);
                if o.reduce_only {
                    self.ro_resting.insert((o.account, id));
                }
                self.next_seq += 1;
                self.market_mut(m)?.side_book_mut(side).insert(MarketState::book_key(side, price, seq), id);
            }
            Event::Trade(t) => self.ev_trade(t)?,
            Event::OrderClosed { order_id, reason, ts } => self.ev_close(*order_id, *reason, *ts)?,
            Event::OrderModified { order_id, price, quantity, frozen, requeue, ts } => {
                let o = self.orders.get(order_id).ok_or("unknown order")?;
                if *quantity <= o.filled {
                    return Err("modify below filled");
                }
                if *requeue {
                    self.unbook(*order_id)?;
                } else if o.in_book && o.price != *price {
                    return Err("price change keeps priority");
                }
                let o = self.orders.get_mut(order_id).ok_or("unknown order")?;
                let df = frozen - o.frozen;
                o.price = *price;
                o.quantity = *quantity;
                o.frozen = *frozen;
                o.updated = *ts;
                let a = o.account;
                self.acct(a).frozen += df;
            }
            Event::OrderReduced { order_id, quantity, ts } => {
                let o = self.orders.get_mut(order_id).ok_or("unknown order")?;
                if *quantity <= o.filled || *quantity > o.quantity {
                    return Err("bad reduction");
                }
                o.quantity = *quantity;
                o.updated = *ts;
            }
            Event::StopTriggered { order_id, frozen, ts } => {
                let o = self.orders.get_mut(order_id).ok_or("unknown order")?;
                if !o.untriggered() {
                    return Err("not a waiting stop");
                }
                o.status = OrderStatus::Triggered;
                o.frozen = *frozen;
                o.updated = *ts;
                let (a, m) = (o.account, o.market);
                self.acct(a).frozen += frozen;
                self.market_mut(m)?.stops.remove(order_id);
            }
            Event::ScheduleCancelSet { account, deadline, .. } => {
                let a = self.acct(*account);
                let old = std::mem::replace(&mut a.deadline, *deadline);
                if let Some(d) = old {
                    self.deadlines.remove(&(d, *account));
                }
                if let Some(d) = deadline {
                    self.deadlines.insert((*d, *account));
                }
            }
            Event::ScheduleCancelFired { account, deadline, .. } => {
                let a = self.accounts.get_mut(account).ok_or("unknown account")?;
                if a.deadline != Some(*deadline) {
                    return Err("no such deadline");
                }
                a.deadline = None;
                self.deadlines.remove(&(*deadline, *account));
            }
            Event::IndexSet { market, price, .. } => {
                let s = self.market_mut(*market)?;
                s.index = Some(*price);
            }
            Event::IndexPinned { market, price, .. } => {
                let s = self.market_mut(*market)?;
                s.index_pinned = price.is_some();
                if price.is_some() {
                    s.index = *price;
                }
            }
            Event::MarkPinned { market, price, .. } => {
                let s = self.market_mut(*market)?;
                s.mark_pinned = price.is_some();
                if price.is_some() {
                    s.mark = *price;
                }
            }
            Event::MarkUpdated { market, mark, basis_ema, book_ema, ts } => {
                let s = self.market_mut(*market)?;
                s.mark = Some(*mark);
                s.basis_ema = *basis_ema;
                s.book_ema = *book_ema;
                s.mark_ts = Some(*ts);
            }
            Event::PremiumSampled { market, premium_ppb, .. } => {
                let s = self.market_mut(*market)?;
                s.premium_sum += i128::from(*premium_ppb);
                s.premium_count += 1;
            }
            Event::FundingSettled { market, rate_ppb, index, scheduled, ts } => {
                self.ev_funding(*market, *rate_ppb, *index, *ts)?;
                let s = self.market_mut(*market)?;
                s.premium_sum = 0;
                s.premium_count = 0;
                s.last_rate_ppb = *rate_ppb;
                if *scheduled {
                    let iv = s.spec.config.funding.interval_ms;
                    s.next_funding = (ts / iv + 1) * iv;
                }
            }
            Event::LiquidationStarted { account, market, .. } => {
                if self.liquidations.insert((*account, *market), None).is_some() {
                    return Err("already liquidating");
                }
            }
            Event::LiquidationScheduled { account, market, next_ts } => {
                let l = self.liquidations.get_mut(&(*account, *market)).ok_or("not liquidating")?;
                *l = Some(*next_ts);
            }
            Event::LiquidationEnded { account, market, .. } => {
                self.liquidations.remove(&(*account, *market)).ok_or("not liquidating")?;
            }
            Event::TakenOver { account, market, mark, ts } => {
                let ins = self.cfg.insurance_account;
                if *account == ins {
                    return Err("insurance cannot be taken over");
                }
                let p = self.positions.get_mut(&(*market, *account)).ok_or("no position")?;
                p.taken_over = true;
                p.take_over_price = *mark;
                let size = p.size;
                let (side, qty) = if size > 0 { (Side::Buy, size) } else { (Side::Sell, -size) };
                let qty = u64::try_from(qty).map_err(|_| "size")?;
                self.fill(*account, *market, side.opposite(), qty, *mark, 0, *ts)?;
                self.fill(ins, *market, side, qty, *mark, 0, *ts)?;
            }
            Event::CollateralMoved { from, to, amount, .. } => {
                if from == to || *amount <= 0 {
                    return Err("bad collateral move");
                }
                self.acct(*from).collateral -= amount;
                self.acct(*to).collateral += amount;
            }
            Event::Adl { account, counterparty, market, quantity, price, ts } => {
                let p = self.positions.get(&(*market, *account)).ok_or("no position")?;
                let c = self.positions.get(&(*market, *counterparty)).ok_or("no counterparty position")?;
                let q = i128::from(*quantity);
                if p.size.signum() == c.size.signum() || p.size.abs() < q || c.size.abs() < q || q == 0 {
                    return Err("bad adl");
                }
                let side = if p.size > 0 { Side::Sell } else { Side::Buy };
                self.fill(*account, *market, side, *quantity, *price, 0, *ts)?;
                self.fill(*counterparty, *market, side.opposite(), *quantity, *price, 0, *ts)?;
            }
        }
        Ok(())
    }

    fn ev_accept(&mut self, a: &OrderAccepted) -> EvResult {
        if a.order_id != self.next_order {
            return Err("order id out of sequence");
        }
        self.spec(a.market)?;
        let stop = matches!(a.modifier, Modifier::Stop | Modifier::AttachedStop);
        let o = Box::new(Order {
            id: a.order_id,
            account: a.account,
            market: a.market,
            cl_ord_id: a.cl_ord_id,
            side: a.side,
            order_type: a.order_type,
            tif: a.time_in_force,
            stp: a.stp,
            price: a.price,
            quantity: a.quantity,
            filled: 0,
            executed_value: 0,
            reduce_only: a.reduce_only,
            modifier: a.modifier,
            stop: a.stop,
            primary: a.primary,
            attached: Vec::new(),
            armed: 0,
            liquidation: a.liquidation,
            frozen: a.frozen,
            status: if stop { OrderStatus::Untriggered } else { OrderStatus::New },
            in_book: false,
            seq: 0,
            created: a.ts,
            updated: a.ts,
        });
        if let Some(p) = a.primary {
            let po = self.orders.get_mut(&p).ok_or("unknown primary")?;
            po.attached.push(a.order_id);
        }
        self.next_order += 1;
        if let Some(cl) = a.cl_ord_id {
            self.cl_index.insert(a.account, cl_key(&cl), a.order_id);
        }
        let acct = self.acct(a.account);
        acct.orders.insert(a.order_id);
        acct.frozen += a.frozen;
        if stop {
            self.market_mut(a.market)?.stops.insert(a.order_id);
        }
        self.orders.insert(a.order_id, o);
        Ok(())
    }

    fn unbook(&mut self, id: OrderId) -> EvResult {
        let Perps { orders, markets, ro_resting, .. } = self;
        Self::unbook_order(orders.get_mut(&id).ok_or("unknown order")?, markets, ro_resting)
    }

    /// Takes `o` out of its book (if it is in it).
    fn unbook_order(
        o: &mut Order,
        markets: &mut BTreeMap<MarketId, MarketState>,
        ro_resting: &mut BTreeSet<(AccountId, OrderId)>,
    ) -> EvResult {
        let id = o.id;
        if o.in_book {
            o.in_book = false;
            if o.reduce_only {
                ro_resting.remove(&(o.account, id));
            }
            let (side, key, m) = (o.side, MarketState::book_key(o.side, o.price, o.seq), o.market);
            markets
                .get_mut(&m)
                .ok_or("unknown market")?
                .side_book_mut(side)
                .remove(&key)
                .ok_or("book entry missing")?;
        }
        Ok(())
    }

    fn ev_close(&mut self, id: OrderId, reason: CloseReason, ts: u64) -> EvResult {
        let mut o = self.orders.remove(&id).ok_or("unknown order")?;
        Self::unbook_order(&mut o, &mut self.markets, &mut self.ro_resting)?;
        if o.untriggered() {
            self.market_mut(o.market)?.stops.remove(&id);
        }
        if let Some(cl) = o.cl_ord_id {
            self.cl_index.remove(o.account, cl_key(&cl), id);
        }
        o.status = reason.status(o.filled);
        o.updated = ts;
        let a = self.accounts.get_mut(&o.account).ok_or("unknown account")?;
        a.frozen -= o.frozen;
        a.orders.remove(&id);
        o.frozen = 0;
        // The window keeps the `closed_orders` highest ids: an order below all of a full window would be inserted
        // and popped at once, so it is dropped without touching the tree.
        let full = self.closed.len() >= self.cfg.closed_orders;
        if full && self.closed.first_key_value().is_none_or(|(first, _)| id < *first) {
            return Ok(());
        }
        self.last_closed = Some((id, o.status));
        self.closed.insert(id, o);
        while self.closed.len() > self.cfg.closed_orders {
            if let Some((gone, _)) = self.closed.pop_first()
                && self.last_closed.is_some_and(|(c, _)| c == gone)
            {
                self.last_closed = None;
            }
        }
        Ok(())
    }

    fn ev_trade(&mut self, t: &Trade) -> EvResult {
        if t.trade_id != self.next_trade {
            return Err("trade id out of sequence");
        }
        let spec = self.spec(t.market)?;
        if t.quantity == 0 || t.notional != spec.notional(t.price, t.quantity) {
            return Err("bad trade amount");
        }
        self.next_trade += 1;
        for id in [t.maker_order, t.taker_order] {
            let o = self.orders.get_mut(&id).ok_or("trade on unknown order")?;
            if o.market != t.market || o.remaining() < t.quantity {
                return Err("trade exceeds order");
            }
            let before = o.remaining();
            let release =
                if before == t.quantity { o.frozen } else { o.frozen * i128::from(t.quantity) / i128::from(before) };
            o.frozen -= release;
            o.filled += t.quantity;
            o.executed_value += t.notional;
            o.updated = t.ts;
            if o.status != OrderStatus::Untriggered {
                o.status = OrderStatus::PartiallyFilled;
            }
            let (acc, att, filled, qty) = (o.account, o.attached.clone(), o.filled, o.quantity);
            self.acct(acc).frozen -= release;
            for c in att {
                if let Some(co) = self.orders.get_mut(&c) {
                    co.armed = u64::try_from(u128::from(co.quantity) * u128::from(filled) / u128::from(qty))
                        .map_err(|_| "armed")?;
                }
            }
        }
        let (buyer, seller) = match t.taker_side {
            Side::Buy => (t.taker_account, t.maker_account),
            Side::Sell => (t.maker_account, t.taker_account),
        };
        let (bfee, sfee) = match t.taker_side {
            Side::Buy => (t.taker_fee, t.maker_fee),
            Side::Sell => (t.maker_fee, t.taker_fee),
        };
        self.fill(buyer, t.market, Side::Buy, t.quantity, t.price, bfee, t.ts)?;
        self.fill(seller, t.market, Side::Sell, t.quantity, t.price, sfee, t.ts)?;
        let fee_acct = self.cfg.fee_account;
        self.acct(fee_acct).collateral += t.maker_fee + t.taker_fee;
        let keep = self.cfg.recent_trades;
        let s = self.market_mut(t.market)?;
        s.last = Some(t.price);
        s.trades.push_back(*t);
        while s.trades.len() > keep {
            s.trades.pop_front();
        }
        Ok(())
    }

    /// One side of a fill: `account` buys or sells `qty` lots at `price` ticks and pays `fee` quote atoms.
    /// Opens, adds to, reduces, closes or flips the position; realises PnL; moves isolated margin.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn fill(
        &mut self,
        account: AccountId,
        m: MarketId,
        side: Side,
        qty: u64,
        price: u64,
        fee: i128,
        ts: u64,
    ) -> EvResult {
        let q = self.spec(m)?.qptl();
        let (lev, mode) = self.setting(account, m);
        let hist = self.cfg.history;
        let sign: i128 = if side == Side::Buy { 1 } else { -1 };
        let mut left = i128::from(qty);
        let key = (m, account);
        if !self.positions.contains_key(&key) {
            let id = self.next_position;
            self.next_position += 1;
            self.positions.insert(key, Position::new(id, mode, lev, ts));
        }
        let oi_before = self.positions.get(&key).map_or(0, |p| p.size.max(0));
        self.acct(account).collateral -= fee;
        let p = self.positions.get_mut(&key).ok_or("position")?;
        p.fees += fee;
        p.updated = ts;
        let px = i128::from(price);
        // Reduce (close) part.
        if p.size != 0 && p.size.signum() != sign {
            let abs = p.size.abs();
            let close = left.min(abs);
            let r = p.cost * close / abs;
            let cn = px * close * q;
            let realised = p.size.signum() * cn - r;
            p.cost -= r;
            p.size -= p.size.signum() * close;
            p.realized += realised;
            p.cum_closed += close;
            p.close_value += cn;
            left -= close;
            let mut back = realised;
            if p.mode == MarginMode::Isolated {
                p.margin += realised;
                let rel = if p.size == 0 { p.margin } else { p.margin * close / abs };
                p.margin -= rel;
                back = rel;
            }
            let closed = p.size == 0;
            self.acct(account).collateral += back;
            if closed {
                let pos = self.positions.remove(&key).ok_or("position")?;
                let a = self.acct(account);
                // The fill that closes it trades against its direction.
                a.history.push_back(ClosedPosition { market: m, pos, long: sign < 0 });
                while a.history.len() > hist {
                    a.history.pop_front();
                }
                if left > 0 {
                    let id = self.next_position;
                    self.next_position += 1;
                    self.positions.insert(key, Position::new(id, mode, lev, ts));
                }
            }
        }
        // Open (add) part.
        if left > 0 {
            let p = self.positions.get_mut(&key).ok_or("position")?;
            let n = px * left * q;
            p.size += sign * left;
            p.cost += sign * n;
            p.cum_open_cost += n;
            p.max_size = p.max_size.max(p.size.abs());
            if p.mode == MarginMode::Isolated {
                let im = ceil_div(n, i128::from(p.leverage.max(1)));
                p.margin += im;
                self.acct(account).collateral -= im;
            }
        }
        let oi_after = self.positions.get(&key).map_or(0, |p| p.size.max(0));
        self.market_mut(m)?.open_interest += oi_after - oi_before;
        Ok(())
    }

    /// Funding: every position of `m` pays (longs when the rate is positive) or receives `|size| x index x
    /// qptl x |rate| / 10^9`; payers round up, receivers down, and the remainder goes to the insurance account.
    fn ev_funding(&mut self, m: MarketId, rate: i64, index: u64, ts: u64) -> EvResult {
        let q = self.spec(m)?.qptl();
        let hist = self.cfg.history;
        let mut missing: Vec<(AccountId, i128)> = Vec::new();
        let mut paid: i128 = 0;
        let mut received: i128 = 0;
        let r = i128::from(rate);
        for ((_, a), p) in self.positions.range_mut((m, 0)..=(m, AccountId::MAX)) {
            let amount = p.size.abs() * i128::from(index) * q * r.abs();
            let pays = (p.size > 0) == (r > 0);
            let fee = if r == 0 {
                0
            } else if pays {
                let v = ceil_div(amount, crate::types::PPB);
                paid += v;
                v
            } else {
                let v = amount / crate::types::PPB;
                received += v;
                -v
            };
            p.funding += fee;
            p.updated = ts;
            let delta = if p.mode == MarginMode::Isolated {
                p.margin -= fee;
                0
            } else {
                -fee
            };
            let row = FundingRow { market: m, position_id: p.id, size: p.size, fee, rate_ppb: rate, ts };
            // One lookup of the account per position (a position's holder always has an account; were one missing,
            // it would get only the collateral change, as before).
            match self.accounts.get_mut(a) {
                Some(acc) => {
                    acc.collateral += delta;
                    acc.fundings.push_back(row);
                    while acc.fundings.len() > hist {
                        acc.fundings.pop_front();
                    }
                }
                None => missing.push((*a, delta)),
            }
        }
        for (a, d) in missing {
            self.acct(a).collateral += d;
        }
        let ins = self.cfg.insurance_account;
        self.acct(ins).collateral += paid - received;
        Ok(())
    }
}

impl Position {
    fn new(id: PositionId, mode: MarginMode, leverage: u32, ts: u64) -> Position {
        Position {
            id,
            mode,
            leverage,
            size: 0,
            cost: 0,
            margin: 0,
            realized: 0,
            fees: 0,
            funding: 0,
            cum_open_cost: 0,
            cum_closed: 0,
            close_value: 0,
            max_size: 0,
            taken_over: false,
            take_over_price: 0,
            created: ts,
            updated: ts,
        }
    }
}

/// A replay stopped at an event that does not apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayError {
    pub index: usize,
    pub reason: &'static str,
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "event {} does not apply: {}", self.index, self.reason)
    }
}

impl std::error::Error for ReplayError {}
