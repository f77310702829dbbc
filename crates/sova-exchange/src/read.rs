//! Answers built from the state (typed `sova_proto::exchange` replies): markets, books, trades, tickers, candles,
//! accounts, orders, keys, and the Intel HUD's exchange section.

pub mod perps;

use alloy_primitives::Address;
use sova_engine::{AccountId, ClOrdId, MarketSpec, OrderView, Trade};
use sova_proto::exchange::{
    self as wire, AccountState, AccountTwaps, ApiKey, Balance, Balances, BookTicker, Coin, FeeRate, Kline, OpenOrders,
    Order, OrderBook, PublicTrade, ShortBalance, ShortOrder, Subaccount, Symbol, SymbolStatus, Ticker, UserStatus,
    UserSubaccounts, UserTrade, WsAccountTrade, WsAccountUpdate, WsBook, WsBookTicker, WsCandle, WsOrderUpdate,
    WsTicker, WsTwapOrder,
};

use crate::catalog::Catalog;
use crate::core::Core;
pub use crate::core::{api_key, status};
use crate::error::{ExchangeError, Reason};
use crate::twap::{Twap, TwapState};
use crate::views::{self, Candle, ClosedOrder};

fn side(s: sova_engine::Side) -> wire::Side {
    match s {
        sova_engine::Side::Buy => wire::Side::Buy,
        sova_engine::Side::Sell => wire::Side::Sell,
    }
}

fn order_type(t: sova_engine::OrderType) -> wire::OrderType {
    match t {
        sova_engine::OrderType::Limit => wire::OrderType::Limit,
        sova_engine::OrderType::Market => wire::OrderType::Market,
    }
}

fn time_in_force(t: sova_engine::TimeInForce) -> wire::TimeInForce {
    match t {
        sova_engine::TimeInForce::Gtc => wire::TimeInForce::Gtc,
        sova_engine::TimeInForce::Fok => wire::TimeInForce::Fok,
        sova_engine::TimeInForce::Ioc => wire::TimeInForce::Ioc,
        sova_engine::TimeInForce::Gtx => wire::TimeInForce::Gtx,
    }
}

fn fee_rate(ppm: u32) -> String {
    sova_engine::format_decimal(u64::from(ppm), 6)
}

/// The path-safe name of a market (`BTC_USDC` for `BTC/USDC`): `name` of the symbols list and the `symbol` / `s`
/// of every answer and push.
pub fn name(m: &MarketSpec) -> String {
    m.config.name.replace('/', "_")
}

/// The block fields of wrapped answers: (log position, time of the last applied change).
fn block(core: &Core) -> (u64, u64) {
    (u64::try_from(core.seq).unwrap_or(0), core.last_ts)
}

/// `"0"` for an absent value.
fn or_zero(v: Option<String>) -> String {
    v.unwrap_or_else(|| "0".into())
}

// ---------------------------------------------------------------------------------------------------------------
// Markets (the catalog alone)

/// Every market (or the one `filter` names: its name, display name or id).
pub fn symbols(c: &Catalog, filter: Option<&str>) -> Vec<Symbol> {
    let only = filter.map(|f| c.market_by_name(f).map(|m| m.config.id));
    c.markets
        .iter()
        .filter(|m| only.is_none_or(|o| o == Some(m.config.id)))
        .map(|m| {
            let coin = |id: u32| c.coin(u64::from(id));
            let symbol_of = |id: u32| coin(id).map(|c| c.symbol.clone()).unwrap_or_default();
            let lot = m.format_quantity(1);
            let tick = m.format_price(1);
            let max_qty = m.format_quantity(u64::MAX);
            let name = name(m);
            Symbol {
                base_coin: symbol_of(m.config.base),
                base_coin_id: m.config.base,
                base_coin_precision: m.base_decimals,
                buy_limit_up_ratio: "0".into(),
                display_name: c.display_name(m),
                id: m.config.id,
                lot_size: lot.clone(),
                maker_fee: fee_rate(m.config.maker_fee_ppm),
                market_deviation_ratio: "0".into(),
                market_max_quantity: max_qty.clone(),
                market_min_quantity: lot.clone(),
                max_notional: m.format_quote(u64::MAX),
                max_price: m.format_price(u64::MAX),
                max_quantity: max_qty,
                min_notional: m.format_quote(m.config.min_notional),
                min_price: tick.clone(),
                min_quantity: lot.clone(),
                name: name.clone(),
                price_precision: m.config.price_decimals,
                quantity_precision: lot.split_once('.').map(|(_, f)| f.len() as u32).unwrap_or(0),
                quote_coin: symbol_of(m.config.quote),
                quote_coin_id: m.config.quote,
                quote_coin_precision: m.quote_decimals,
                sell_limit_down_ratio: "0".into(),
                status: SymbolStatus::Trading,
                step_size: lot,
                symbol: name,
                symbol_id: m.config.id,
                taker_fee: fee_rate(m.config.taker_fee_ppm),
                tick_size: tick,
            }
        })
        .collect()
}

/// Every coin (or the one `filter` names).
pub fn coins(cat: &Catalog, filter: Option<&str>) -> Vec<Coin> {
    let only = filter.map(|f| cat.coin_by_symbol(f).map(|c| c.id).or_else(|| f.parse::<u32>().ok()));
    cat.coins
        .iter()
        .filter(|c| only.is_none_or(|o| o == Some(c.id)))
        .map(|c| Coin {
            coin: c.symbol.clone(),
            coin_id: c.id,
            decimals: c.decimals,
            id: c.id,
            name: c.symbol.clone(),
            precision: c.decimals,
        })
        .collect()
}

/// The market a path names (`BTC/USDC`, `BTC_USDC`, `BTC-USDC`, or its id).
pub fn market_id(c: &Catalog, symbol: &str) -> Result<u32, ExchangeError> {
    c.market_by_name(symbol).map(|m| m.config.id).ok_or_else(|| {
        ExchangeError::new(
            Reason::UnknownSymbol,
            format!("symbol {symbol:?} is not listed (GET /api/v1/spot/markets/symbols)"),
        )
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Market data

fn levels(m: &MarketSpec, v: &[sova_engine::LevelView]) -> Vec<wire::Level> {
    v.iter().map(|l| (m.format_price(l.price), m.format_quantity(l.quantity))).collect()
}

/// The book to `depth` levels.
pub fn book(core: &Core, market: u32, depth: usize) -> Option<OrderBook> {
    let m = core.catalog.market(u64::from(market))?;
    let d = core.engine.depth(market, depth).unwrap_or(sova_engine::Depth { bids: vec![], asks: vec![] });
    let (block_height, block_time) = block(core);
    Some(OrderBook {
        asks: levels(m, &d.asks),
        bids: levels(m, &d.bids),
        block_height,
        block_time,
        symbol: name(m),
        symbol_id: market,
        update_id: block_height,
    })
}

/// The book to `depth` levels, as `l2Book` pushes it.
pub fn ws_book(core: &Core, market: u32, depth: usize, now: u64) -> Option<WsBook> {
    let m = core.catalog.market(u64::from(market))?;
    let d = core.engine.depth(market, depth).unwrap_or(sova_engine::Depth { bids: vec![], asks: vec![] });
    Some(WsBook {
        event_time: now,
        first_update_id: None,
        a: levels(m, &d.asks),
        b: levels(m, &d.bids),
        s: name(m),
        u: block(core).0,
    })
}

/// Best bid and ask: ((bid price, qty), (ask price, qty)), "0" on an empty side.
fn bbo(core: &Core, m: &MarketSpec) -> ((String, String), (String, String)) {
    let lv = |l: Option<sova_engine::LevelView>| {
        l.map(|l| (m.format_price(l.price), m.format_quantity(l.quantity))).unwrap_or(("0".into(), "0".into()))
    };
    match core.engine.best_bid_ask(m.config.id) {
        Some(b) => (lv(b.bid), lv(b.ask)),
        None => (lv(None), lv(None)),
    }
}

/// Best bid and ask.
pub fn book_ticker(core: &Core, market: u32) -> Option<BookTicker> {
    let m = core.catalog.market(u64::from(market))?;
    let ((bid_px, bid_sz), (ask_px, ask_sz)) = bbo(core, m);
    Some(BookTicker { ask_px, ask_sz, bid_px, bid_sz, symbol: name(m), symbol_id: market })
}

/// Best bid and ask, as `bookTicker` pushes it.
pub fn ws_book_ticker(core: &Core, market: u32, now: u64) -> Option<WsBookTicker> {
    let m = core.catalog.market(u64::from(market))?;
    let ((b, bid_qty), (a, ask_qty)) = bbo(core, m);
    Some(WsBookTicker { ask_qty, bid_qty, event_time: now, a, b, s: name(m), u: block(core).0 })
}

/// 24 h statistics ending at `now` (Unix ms).
pub fn ticker(core: &Core, market: u32, now: u64) -> Option<Ticker> {
    let m = core.catalog.market(u64::from(market))?;
    let day = core.views.day(market, now);
    let last = core.engine.recent_trades(market, 1).first().copied();
    let ((bid_px, bid_sz), (ask_px, ask_sz)) = bbo(core, m);
    let (open, close) = (day.map(|d| d.open), last.map(|t| t.price).or(day.map(|d| d.close)));
    let (change, change_pct) = match (open, close) {
        (Some(o), Some(c)) if o > 0 => {
            let diff = if c >= o { m.format_price(c - o) } else { format!("-{}", m.format_price(o - c)) };
            let pct = (c as f64 - o as f64) / o as f64 * 100.0;
            (diff, (pct * 100.0).round() / 100.0)
        }
        _ => ("0".into(), 0.0),
    };
    // Volume-weighted average price, down to a whole tick: quote atoms / base lots, in ticks.
    let vwap = day
        .filter(|d| d.volume > 0)
        .and_then(|d| {
            let p10 = |e: u8| 10u128.checked_pow(u32::from(e));
            let num = u128::from(d.quote_volume)
                .checked_mul(p10(m.base_decimals)?)?
                .checked_mul(p10(m.config.price_decimals)?)?;
            let den = p10(m.quote_decimals)?
                .checked_mul(u128::from(d.volume))?
                .checked_mul(u128::from(m.config.lot_size))?
                .checked_mul(u128::from(m.config.tick_size))?;
            u64::try_from(num.checked_div(den)?).ok().map(|ticks| m.format_price(ticks))
        })
        .unwrap_or_else(|| "0".into());
    Some(Ticker {
        ask_px,
        ask_sz,
        bid_px,
        bid_sz,
        change,
        change_pct,
        close_time: now,
        count: day.map(|d| d.trades).unwrap_or(0),
        high_px: or_zero(day.map(|d| m.format_price(d.high))),
        last_px: or_zero(last.map(|t| m.format_price(t.price))),
        last_sz: or_zero(last.map(|t| m.format_quantity(t.quantity))),
        low_px: or_zero(day.map(|d| m.format_price(d.low))),
        open_px: or_zero(day.map(|d| m.format_price(d.open))),
        open_time: now.saturating_sub(86_400_000),
        quote_volume: or_zero(day.map(|d| m.format_quote(d.quote_volume))),
        symbol: name(m),
        symbol_id: market,
        volume: or_zero(day.map(|d| m.format_quantity(d.volume))),
        vwap,
    })
}

/// 24 h statistics, as `ticker` pushes them.
pub fn ws_ticker(core: &Core, market: u32, now: u64) -> Option<WsTicker> {
    let t = ticker(core, market, now)?;
    Some(WsTicker {
        ask_qty: t.ask_sz,
        bid_qty: t.bid_sz,
        close_time: t.close_time,
        event_time: now,
        open_time: t.open_time,
        change_pct: t.change_pct,
        last_qty: t.last_sz,
        a: t.ask_px,
        b: t.bid_px,
        c: t.last_px,
        h: t.high_px,
        l: t.low_px,
        o: t.open_px,
        p: t.change,
        q: t.quote_volume,
        s: t.symbol,
        v: t.volume,
        w: t.vwap,
    })
}

/// The newest `limit` trades of a market, newest first.
pub fn trades(core: &Core, market: u32, limit: usize) -> Option<Vec<PublicTrade>> {
    let m = core.catalog.market(u64::from(market))?;
    Some(core.engine.recent_trades(market, limit).iter().map(|t| public_trade(m, t)).collect())
}

/// Candles of `interval_ms` between `start` and `end` (Unix ms, inclusive), oldest first, the newest `limit`.
pub fn klines(core: &Core, market: u32, interval_ms: u64, start: u64, end: u64, limit: usize) -> Option<Vec<Kline>> {
    let m = core.catalog.market(u64::from(market))?;
    let candles = core.views.klines(market, interval_ms, start, end, limit);
    Some(candles.iter().map(|c| kline(m, c, interval_ms)).collect())
}

/// The newest candle of `interval` (`interval_ms` long) up to `now`, as `candle` pushes it (null before a trade in
/// the current or the previous interval).
pub fn ws_candle(core: &Core, market: u32, interval: &str, interval_ms: u64, now: u64) -> Option<WsCandle> {
    let m = core.catalog.market(u64::from(market))?;
    let c = *core.views.klines(market, interval_ms, now.saturating_sub(interval_ms), now, 1).last()?;
    let k = kline(m, &c, interval_ms);
    Some(WsCandle {
        close_time: k.close_time,
        c: k.close,
        h: k.high,
        i: interval.to_string(),
        l: k.low,
        n: k.trades,
        o: k.open,
        q: k.quote_volume,
        s: name(m),
        t: k.open_time,
        v: k.volume,
        x: k.close_time < now,
    })
}

/// A trade of a market.
pub fn public_trade(m: &MarketSpec, t: &Trade) -> PublicTrade {
    PublicTrade {
        event_time: t.ts,
        side: side(t.taker_side),
        time: t.ts,
        price: m.format_price(t.price),
        quantity: m.format_quantity(t.quantity),
        symbol: name(m),
        trade_id: t.trade_id,
    }
}

/// A candle.
pub fn kline(m: &MarketSpec, c: &Candle, interval_ms: u64) -> Kline {
    Kline {
        close_time: c.start + interval_ms - 1,
        close: m.format_price(c.close),
        high: m.format_price(c.high),
        low: m.format_price(c.low),
        trades: c.trades,
        open: m.format_price(c.open),
        quote_volume: m.format_quote(c.quote_volume),
        open_time: c.start,
        volume: m.format_quantity(c.volume),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Accounts

/// The account an account read is about: `account_id` if given (it must belong to `address`), else the master.
pub fn resolve(core: &Core, address: &Address, account_id: Option<u64>) -> Result<u64, ExchangeError> {
    let unknown = || {
        ExchangeError::not_found(format!(
            "no exchange account for {address:#x}{} (the sandbox faucet creates one)",
            account_id.map(|a| format!(" with accountID {a}")).unwrap_or_default()
        ))
    };
    match account_id {
        Some(id) => match core.accounts.get(&id) {
            Some(info) if &info.master == address => Ok(id),
            _ => Err(unknown()),
        },
        None => core.masters.get(address).copied().ok_or_else(unknown),
    }
}

/// The market a `symbol` filter names, if given.
pub fn market_filter(core: &Core, symbol: Option<&str>) -> Result<Option<u32>, ExchangeError> {
    symbol
        .map(|s| {
            core.catalog
                .market_by_name(s)
                .map(|m| m.config.id)
                .ok_or_else(|| ExchangeError::new(Reason::UnknownSymbol, format!("symbol {s:?} is not listed")))
        })
        .transpose()
}

/// Balances of an account, one per listed coin.
pub fn balances(core: &Core, account: u64) -> Vec<Balance> {
    core.catalog
        .coins
        .iter()
        .map(|c| {
            let b = core.engine.balance(account, c.id);
            Balance {
                available: sova_engine::format_decimal(b.available, c.decimals),
                coin: c.symbol.clone(),
                coin_id: c.id,
                id: c.id,
                locked: sova_engine::format_decimal(b.locked, c.decimals),
                total: sova_engine::format_decimal(b.total(), c.decimals),
            }
        })
        .collect()
}

/// Balances wrapped as the SDKs parse them (`{blockTime, blockHeight, balances}`).
pub fn wrapped_balances(core: &Core, account: u64) -> Balances {
    let (block_height, block_time) = block(core);
    Balances { account_id: account, balances: balances(core, account), block_height, block_time }
}

fn short_balances(core: &Core, account: u64) -> Vec<ShortBalance> {
    balances(core, account).into_iter().map(|b| ShortBalance { a: b.coin, i: b.id, l: b.locked, t: b.total }).collect()
}

/// Balances as `accountUpdate` pushes them.
pub fn ws_account_update(core: &Core, account: u64, now: u64) -> WsAccountUpdate {
    WsAccountUpdate {
        balances: short_balances(core, account),
        event_time: now,
        time: core.last_ts,
        twaps: ws_twaps(core, account),
        aid: account,
        h: block(core).0,
    }
}

/// An account of `master`.
pub fn state(core: &Core, master: &Address, id: u64) -> AccountState {
    let info = core.accounts.get(&id).copied();
    let mut subs: Vec<u64> =
        core.accounts.iter().filter(|(_, a)| &a.master == master && a.master_id.is_some()).map(|(id, _)| *id).collect();
    subs.sort_unstable();
    let open = core.engine.open_orders(id, None);
    let short_orders =
        open.iter().filter_map(|o| core.catalog.market(u64::from(o.market)).map(|m| short_order(m, o))).collect();
    let address = format!("{master:#x}");
    AccountState {
        short_balances: short_balances(core, id),
        short_orders,
        twaps: ws_twaps(core, id),
        address: address.clone(),
        aid: id,
        balances: balances(core, id),
        is_sub_account: info.is_some_and(|i| i.master_id.is_some()),
        master_account_id: info.and_then(|i| i.master_id).unwrap_or(id),
        open_orders: open.len() as u64,
        scheduled_cancel: core.engine.schedule_cancel(id),
        sub_accounts: subs,
        uid: core.masters.get(master).copied().unwrap_or(id),
        user: address,
    }
}

/// Open orders of an account (in `market`, or all).
pub fn open_orders(core: &Core, account: u64, market: Option<u32>) -> Vec<Order> {
    core.engine
        .open_orders(account, market)
        .iter()
        .filter_map(|o| core.catalog.market(u64::from(o.market)).map(|m| order(m, o)))
        .collect()
}

/// Open orders wrapped as the SDKs parse them (`{blockTime, blockHeight, orders}`), at most `limit`.
pub fn wrapped_open_orders(core: &Core, account: u64, market: Option<u32>, limit: usize) -> OpenOrders {
    let (block_height, block_time) = block(core);
    let mut orders = open_orders(core, account, market);
    orders.truncate(limit);
    OpenOrders { block_height, block_time, orders }
}

/// Open orders as the `accountOrderUpdate` snapshot pushes them.
pub fn ws_open_orders(core: &Core, account: u64, now: u64) -> Vec<WsOrderUpdate> {
    core.engine
        .open_orders(account, None)
        .iter()
        .filter_map(|o| core.catalog.market(u64::from(o.market)).map(|m| ws_order(m, o, now)))
        .collect()
}

/// A time window `[from, to]` (Unix ms, inclusive; either end open).
#[derive(Debug, Clone, Copy, Default)]
pub struct Window {
    /// From (`startTime`).
    pub from: Option<u64>,
    /// To (`endTime`).
    pub to: Option<u64>,
}

impl Window {
    fn holds(self, ts: u64) -> bool {
        self.from.is_none_or(|f| ts >= f) && self.to.is_none_or(|t| ts <= t)
    }
}

/// Closed orders of an account, newest first (in `market`, or all; closed within `window`), at most `limit`.
pub fn order_history(core: &Core, account: u64, market: Option<u32>, window: Window, limit: usize) -> Vec<Order> {
    core.views
        .closed_orders(account, views::HISTORY_PER_ACCOUNT)
        .into_iter()
        .filter(|c| market.is_none_or(|m| c.accepted.market == m) && window.holds(c.ts))
        .take(limit)
        .filter_map(|c| core.catalog.market(u64::from(c.accepted.market)).map(|m| historical_order(m, c)))
        .collect()
}

/// Trades of an account, newest first (in `market`, or all; of `order`, or all; within `window`), at most `limit`.
pub fn user_trades(
    core: &Core,
    account: u64,
    market: Option<u32>,
    order: Option<u64>,
    window: Window,
    limit: usize,
) -> Vec<UserTrade> {
    core.views
        .account_trades(account, views::HISTORY_PER_ACCOUNT)
        .into_iter()
        .filter(|(t, _)| {
            market.is_none_or(|m| t.market == m)
                && window.holds(t.ts)
                && order.is_none_or(|o| own_order(t, account) == o)
        })
        .take(limit)
        .filter_map(|(t, cl)| {
            core.catalog.market(u64::from(t.market)).map(|m| user_trade(m, &core.catalog, t, *cl, account))
        })
        .collect()
}

/// The newest trades of an account as the `accountTrade` snapshot pushes them.
pub fn ws_account_trades(core: &Core, account: u64, limit: usize) -> Vec<WsAccountTrade> {
    core.views
        .account_trades(account, limit)
        .into_iter()
        .filter_map(|(t, cl)| {
            core.catalog.market(u64::from(t.market)).map(|m| ws_account_trade(m, &core.catalog, t, *cl, account))
        })
        .collect()
}

fn own_order(t: &Trade, account: AccountId) -> u64 {
    if t.maker_account == account { t.maker_order } else { t.taker_order }
}

/// Fee rates of an account in `market` (the first market when not given).
pub fn fee_rate_of(core: &Core, account: u64, market: Option<u32>) -> Option<FeeRate> {
    let m = match market {
        Some(id) => core.catalog.market(u64::from(id)),
        None => core.catalog.markets.first(),
    }?;
    Some(FeeRate {
        account_id: account,
        fee_tier: 0,
        maker_fee_rate: fee_rate(m.config.maker_fee_ppm),
        maker_rebate_tier: 0,
        staking_tier: 0,
        symbol: name(m),
        symbol_id: m.config.id,
        taker_fee_rate: fee_rate(m.config.taker_fee_ppm),
    })
}

/// The live API keys of a master at `now` (Unix ms), only the one called `name` when given.
pub fn api_keys(core: &Core, master: &Address, now: u64, name: Option<&str>) -> Vec<ApiKey> {
    core.keys
        .get(master)
        .map(|ks| {
            ks.iter()
                .filter(|k| !k.record.is_expired(now) && name.is_none_or(|n| k.record.name.as_str() == n))
                .map(api_key)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `master` has an account (`/api/v1/user/{address}/status`).
pub fn user_status(core: &Core, master: &Address) -> UserStatus {
    match core.masters.get(master) {
        Some(id) => UserStatus { status: "Active".into(), user_id: *id },
        None => UserStatus { status: "UserNotFound".into(), user_id: 0 },
    }
}

/// The master account and sub-accounts of `master` (`/api/v1/user/{address}/subaccounts`).
pub fn subaccounts(core: &Core, master: &Address) -> Result<UserSubaccounts, ExchangeError> {
    let id = resolve(core, master, None)?;
    let mut subs: Vec<u64> =
        core.accounts.iter().filter(|(_, a)| &a.master == master && a.master_id.is_some()).map(|(id, _)| *id).collect();
    subs.sort_unstable();
    let evm_address = format!("{master:#x}");
    Ok(UserSubaccounts {
        primary_account_id: id,
        subaccounts: subs.into_iter().map(|id| Subaccount { evm_address: evm_address.clone(), id }).collect(),
        user_id: id,
    })
}

/// An open order.
pub fn order(m: &MarketSpec, o: &OrderView) -> Order {
    let qty = o.quantity.map(|q| m.format_quantity(q));
    Order {
        account_id: o.account,
        cl_ord_id: o.cl_ord_id.map(|c| c.to_string()),
        created_at: o.created,
        executed_qty: m.format_quantity(o.filled),
        executed_value: m.format_quote(o.executed_value),
        funds: o.funds.map(|f| m.format_quote(f)),
        margin_frozen: "0".into(),
        order_id: o.order_id,
        orig_qty: qty.clone(),
        price: (o.order_type == sova_engine::OrderType::Limit).then(|| m.format_price(o.price)),
        quantity: qty,
        side: side(o.side),
        status: status(o.status),
        symbol: name(m),
        symbol_id: m.config.id,
        time_in_force: time_in_force(o.time_in_force),
        order_type: order_type(o.order_type),
        updated_at: o.updated,
    }
}

/// An open order in short keys (`O` of the account state).
pub fn short_order(m: &MarketSpec, o: &OrderView) -> ShortOrder {
    ShortOrder {
        funds: o.funds.map(|f| m.format_quote(f)),
        margin_frozen: "0".into(),
        side: side(o.side),
        status: status(o.status),
        cl_ord_id: o.cl_ord_id.map(|c| c.to_string()).unwrap_or_default(),
        ct: o.created,
        time_in_force: time_in_force(o.time_in_force),
        order_id: o.order_id,
        order_type: order_type(o.order_type),
        price: if o.order_type == sova_engine::OrderType::Limit { m.format_price(o.price) } else { "0".into() },
        quantity: or_zero(o.quantity.map(|q| m.format_quantity(q))),
        symbol: name(m),
        ut: o.updated,
        executed_value: m.format_quote(o.executed_value),
        executed_qty: m.format_quantity(o.filled),
    }
}

/// An order's change as `accountOrderUpdate` pushes it.
pub fn ws_order(m: &MarketSpec, o: &OrderView, now: u64) -> WsOrderUpdate {
    let s = short_order(m, o);
    WsOrderUpdate {
        event_time: now,
        funds: s.funds,
        margin_frozen: s.margin_frozen,
        side: s.side,
        time: o.updated,
        status: s.status,
        aid: o.account,
        c: s.cl_ord_id,
        f: s.time_in_force,
        i: s.order_id,
        o: s.order_type,
        p: s.price,
        q: s.quantity,
        s: s.symbol,
        v: s.executed_value,
        x: s.status,
        z: s.executed_qty,
    }
}

/// A closed order.
pub fn historical_order(m: &MarketSpec, c: &ClosedOrder) -> Order {
    let a = &c.accepted;
    let qty = a.quantity.map(|q| m.format_quantity(q));
    Order {
        account_id: a.account,
        cl_ord_id: a.cl_ord_id.map(|c| c.to_string()),
        created_at: a.ts,
        executed_qty: m.format_quantity(c.filled),
        executed_value: m.format_quote(c.executed_value),
        funds: a.funds.map(|f| m.format_quote(f)),
        margin_frozen: "0".into(),
        order_id: a.order_id,
        orig_qty: qty.clone(),
        price: (a.order_type == sova_engine::OrderType::Limit).then(|| m.format_price(a.price)),
        quantity: qty,
        side: side(a.side),
        status: status(c.status),
        symbol: name(m),
        symbol_id: m.config.id,
        time_in_force: time_in_force(a.time_in_force),
        order_type: order_type(a.order_type),
        updated_at: c.ts,
    }
}

/// A trade as one account sees it (its side, role, fee); `cl` is its order's client order id.
pub fn user_trade(m: &MarketSpec, c: &Catalog, t: &Trade, cl: Option<ClOrdId>, account: AccountId) -> UserTrade {
    let maker = t.maker_account == account;
    let s = if maker { t.taker_side.opposite() } else { t.taker_side };
    let fee = if maker { t.maker_fee } else { t.taker_fee };
    let (fee, coin) = match s {
        sova_engine::Side::Buy => (m.format_base(fee), m.config.base),
        sova_engine::Side::Sell => (m.format_quote(fee), m.config.quote),
    };
    UserTrade {
        account_id: account,
        cl_ord_id: cl.map(|c| c.to_string()).unwrap_or_default(),
        fee,
        fee_coin: c.coin(u64::from(coin)).map(|c| c.symbol.clone()),
        is_maker: maker,
        order_id: own_order(t, account),
        price: m.format_price(t.price),
        quantity: m.format_quantity(t.quantity),
        quote_qty: m.format_quote(t.quote_amount),
        side: side(s),
        symbol: name(m),
        symbol_id: m.config.id,
        time: t.ts,
        trade_id: t.trade_id,
    }
}

/// A fill as `accountTrade` pushes it.
pub fn ws_account_trade(
    m: &MarketSpec,
    c: &Catalog,
    t: &Trade,
    cl: Option<ClOrdId>,
    account: AccountId,
) -> WsAccountTrade {
    let u = user_trade(m, c, t, cl, account);
    WsAccountTrade {
        event_time: t.ts,
        side: u.side,
        time: u.time,
        aid: account,
        c: u.cl_ord_id,
        f: u.fee,
        i: u.order_id,
        m: u.is_maker,
        p: u.price,
        q: u.quantity,
        s: u.symbol,
        t: u.trade_id,
    }
}

/// What the exchange knows of a master wallet, for the Intel HUD, with the time of its newest trade (ms): `None`
/// when the address has no account here. `iso` formats a time (ms) as the HUD shows it.
pub fn hud(
    core: &Core,
    master: &alloy_primitives::Address,
    iso: impl Fn(i64) -> String,
) -> Option<(sova_proto::intel::HudExchange, Option<i64>)> {
    use sova_proto::intel::{HudExchange, HudExchangeAccount, HudExchangeBalance};
    let master_id = *core.masters.get(master)?;
    let mut subs: Vec<u64> =
        core.accounts.iter().filter(|(_, a)| a.master_id == Some(master_id)).map(|(id, _)| *id).collect();
    subs.sort_unstable();
    // Each account with the time of its newest trade (ms).
    let account = |id: u64| {
        let balances = core
            .catalog
            .coins
            .iter()
            .filter_map(|c| {
                let b = core.engine.balance(id, c.id);
                (b.total() > 0).then(|| HudExchangeBalance {
                    coin: c.symbol.clone(),
                    total: sova_engine::format_decimal(b.total(), c.decimals),
                    available: sova_engine::format_decimal(b.available, c.decimals),
                    locked: sova_engine::format_decimal(b.locked, c.decimals),
                })
            })
            .collect();
        let trades = core.views.account_trades(id, views::HISTORY_PER_ACCOUNT);
        let newest = trades.first().map(|t| t.0.ts as i64);
        let acct = HudExchangeAccount {
            account_id: id,
            sub_account: id != master_id,
            balances,
            open_orders: core.engine.open_orders(id, None).len() as u64,
            recent_trades: trades.len() as u64,
            last_trade_at: newest.map(&iso),
            perps_collateral: core.perps.account_state(id).map(|st| {
                let d = core.catalog.perps_config.collateral_decimals;
                let v = sova_engine::format_decimal(u64::try_from(st.collateral.unsigned_abs()).unwrap_or(u64::MAX), d);
                if st.collateral < 0 { format!("-{v}") } else { v }
            }),
            perps_positions: core
                .perps
                .positions(id)
                .iter()
                .filter_map(|p| {
                    let m = core.catalog.perp(u64::from(p.market))?;
                    Some(sova_proto::intel::HudPerpsPosition {
                        symbol: m.config.market.name.clone(),
                        side: if p.size < 0 { "SHORT" } else { "LONG" }.to_string(),
                        size: m.spec.format_quantity(u64::try_from(p.size.unsigned_abs()).unwrap_or(u64::MAX)),
                        entry_price: m.format_price_e6(p.avg_entry_price_e6),
                        mark_price: p.mark_price.map(|x| m.spec.format_price(x)).unwrap_or_default(),
                        unrealized_pnl: m.format_quote_signed(p.unrealized_pnl),
                        leverage: p.leverage,
                        margin_mode: p.margin_mode.as_str().to_string(),
                    })
                })
                .collect(),
        };
        (acct, newest)
    };
    let (accounts, newest): (Vec<HudExchangeAccount>, Vec<Option<i64>>) =
        std::iter::once(master_id).chain(subs).map(account).unzip();
    let hud = HudExchange {
        master_account_id: master_id,
        api_keys: core.keys.get(master).map_or(0, |k| k.len() as u64),
        accounts,
    };
    Some((hud, newest.into_iter().flatten().max()))
}

// ---------------------------------------------------------------------------------------------------------------
// TWAP orders

fn twap_status(s: TwapState) -> wire::TwapStatus {
    match s {
        TwapState::Active => wire::TwapStatus::Active,
        TwapState::Finished => wire::TwapStatus::Finished,
        TwapState::Canceled => wire::TwapStatus::Canceled,
    }
}

/// A TWAP order as `GET /accounts/{address}/twaps` answers it.
pub fn twap_order(core: &Core, t: &Twap) -> Option<wire::TwapOrder> {
    let m = core.catalog.market(u64::from(t.market))?;
    let user_id = core.accounts.get(&t.account).map(|a| a.master_id.unwrap_or(t.account)).unwrap_or(t.account);
    Some(wire::TwapOrder {
        account_id: t.account,
        active: t.state == TwapState::Active,
        created_at: t.created_at,
        executed_qty: m.format_quantity(t.filled),
        executed_value: m.format_quote(t.value),
        minutes: t.minutes,
        next_active_at: t.next_at(),
        order_id: t.id,
        quantity: m.format_quantity(t.quantity),
        randomize: t.randomize,
        reduce_only: t.reduce_only,
        side: side(t.side),
        slice_interval_ms: crate::twap::SLICE_MS,
        slices_done: t.done,
        slices_total: t.slices,
        status: twap_status(t.state),
        symbol: name(m),
        symbol_id: t.market,
        updated_at: t.updated_at,
        user_id,
    })
}

/// An account's TWAP orders (in `market`, or all): running first, then the last ended ones.
pub fn twaps(core: &Core, account: u64, market: Option<u32>) -> AccountTwaps {
    let (block_height, block_time) = block(core);
    let twaps = core
        .twaps
        .of_account(account)
        .into_iter()
        .filter(|t| market.is_none_or(|m| m == t.market))
        .filter_map(|t| twap_order(core, t))
        .collect();
    AccountTwaps { block_height, block_time, twaps }
}

/// An account's running TWAP orders in short keys (`TO`).
pub fn ws_twaps(core: &Core, account: u64) -> Vec<WsTwapOrder> {
    core.twaps
        .of_account(account)
        .into_iter()
        .filter(|t| t.state == TwapState::Active)
        .filter_map(|t| {
            let m = core.catalog.market(u64::from(t.market))?;
            Some(WsTwapOrder {
                reduce_only: t.reduce_only,
                side: side(t.side),
                a: true,
                ct: t.created_at,
                i: t.id,
                m: t.minutes,
                nt: t.next_at(),
                q: m.format_quantity(t.quantity),
                r: t.randomize,
                s: name(m),
                v: m.format_quote(t.value),
                z: m.format_quantity(t.filled),
            })
        })
        .collect()
}
