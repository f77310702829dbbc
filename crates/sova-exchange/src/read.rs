//! Answers built from the state (typed `sova_proto::exchange` replies): markets, books, trades, tickers, candles,
//! accounts, orders, keys, and the Intel HUD's exchange section.

use alloy_primitives::Address;
use sova_engine::{AccountId, MarketSpec, OrderView, Trade};
use sova_proto::exchange::{
    self as wire, AccountBalances, AccountState, ApiKey, Balance, BookTicker, Coin, FeeRate, HistoricalOrder, Kline,
    Order, OrderBook, PublicTrade, Symbol, SymbolStatus, Ticker, UserTrade,
};

use crate::catalog::Catalog;
use crate::core::Core;
pub use crate::core::{api_key, status};
use crate::error::{ExchangeError, Reason};
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

// ---------------------------------------------------------------------------------------------------------------
// Markets (the catalog alone)

/// Every market.
pub fn symbols(c: &Catalog) -> Vec<Symbol> {
    c.markets
        .iter()
        .map(|m| {
            let coin = |id: u32| c.coin(u64::from(id)).map(|c| c.symbol.clone()).unwrap_or_default();
            let lot = m.format_quantity(1);
            Symbol {
                base_coin: coin(m.config.base),
                base_coin_id: m.config.base,
                lot_size: lot.clone(),
                maker_fee: fee_rate(m.config.maker_fee_ppm),
                min_notional: m.format_quote(m.config.min_notional),
                price_precision: m.config.price_decimals,
                quantity_precision: lot.split_once('.').map(|(_, f)| f.len() as u32).unwrap_or(0),
                quote_coin: coin(m.config.quote),
                quote_coin_id: m.config.quote,
                status: SymbolStatus::Trading,
                symbol: m.config.name.clone(),
                symbol_id: m.config.id,
                taker_fee: fee_rate(m.config.taker_fee_ppm),
                tick_size: m.format_price(1),
            }
        })
        .collect()
}

/// Every coin.
pub fn coins(c: &Catalog) -> Vec<Coin> {
    c.coins
        .iter()
        .map(|c| Coin { coin: c.symbol.clone(), coin_id: c.id, decimals: c.decimals, name: c.symbol.clone() })
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

/// The book to `depth` levels.
pub fn book(core: &Core, market: u32, depth: usize) -> Option<OrderBook> {
    let m = core.catalog.market(u64::from(market))?;
    let d = core.engine.depth(market, depth).unwrap_or(sova_engine::Depth { bids: vec![], asks: vec![] });
    let side = |v: &[sova_engine::LevelView]| -> Vec<wire::Level> {
        v.iter().map(|l| (m.format_price(l.price), m.format_quantity(l.quantity))).collect()
    };
    Some(OrderBook { asks: side(&d.asks), bids: side(&d.bids), symbol: m.config.name.clone(), symbol_id: market })
}

/// Best bid and ask.
pub fn book_ticker(core: &Core, market: u32) -> Option<BookTicker> {
    let m = core.catalog.market(u64::from(market))?;
    let bbo = core.engine.best_bid_ask(market);
    let lv = |l: Option<sova_engine::LevelView>| l.map(|l| (m.format_price(l.price), m.format_quantity(l.quantity)));
    let (bid, ask) = bbo.map(|b| (lv(b.bid), lv(b.ask))).unwrap_or((None, None));
    let (bid_price, bid_qty) = bid.unzip();
    let (ask_price, ask_qty) = ask.unzip();
    Some(BookTicker { ask_price, ask_qty, bid_price, bid_qty, symbol: m.config.name.clone(), symbol_id: market })
}

/// 24 h statistics ending at `now` (Unix ms).
pub fn ticker(core: &Core, market: u32, now: u64) -> Option<Ticker> {
    let m = core.catalog.market(u64::from(market))?;
    let day = core.views.day(market, now);
    let last = core.engine.recent_trades(market, 1).first().map(|t| m.format_price(t.price));
    Some(Ticker {
        count: day.map(|d| d.trades).unwrap_or(0),
        high_price: day.map(|d| m.format_price(d.high)),
        last_price: last,
        low_price: day.map(|d| m.format_price(d.low)),
        open_price: day.map(|d| m.format_price(d.open)),
        quote_volume: day.map(|d| m.format_quote(d.quote_volume)).unwrap_or_else(|| "0".into()),
        symbol: m.config.name.clone(),
        symbol_id: market,
        volume: day.map(|d| m.format_quantity(d.volume)).unwrap_or_else(|| "0".into()),
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

/// A trade of a market.
pub fn public_trade(m: &MarketSpec, t: &Trade) -> PublicTrade {
    PublicTrade {
        price: m.format_price(t.price),
        quantity: m.format_quantity(t.quantity),
        quote_qty: m.format_quote(t.quote_amount),
        side: side(t.taker_side),
        symbol: m.config.name.clone(),
        symbol_id: m.config.id,
        time: t.ts,
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
                locked: sova_engine::format_decimal(b.locked, c.decimals),
                total: sova_engine::format_decimal(b.total(), c.decimals),
            }
        })
        .collect()
}

/// Balances with the account id (`accountUpdate`).
pub fn account_balances(core: &Core, account: u64) -> AccountBalances {
    AccountBalances { account_id: account, balances: balances(core, account) }
}

/// An account of `master`.
pub fn state(core: &Core, master: &Address, id: u64) -> AccountState {
    let info = core.accounts.get(&id).copied();
    let mut subs: Vec<u64> =
        core.accounts.iter().filter(|(_, a)| &a.master == master && a.master_id.is_some()).map(|(id, _)| *id).collect();
    subs.sort_unstable();
    AccountState {
        address: format!("{master:#x}"),
        aid: id,
        balances: balances(core, id),
        is_sub_account: info.is_some_and(|i| i.master_id.is_some()),
        master_account_id: info.and_then(|i| i.master_id).unwrap_or(id),
        open_orders: core.engine.open_orders(id, None).len() as u64,
        scheduled_cancel: core.engine.schedule_cancel(id),
        sub_accounts: subs,
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

/// Closed orders of an account, newest first (in `market`, or all), at most `limit`.
pub fn order_history(core: &Core, account: u64, market: Option<u32>, limit: usize) -> Vec<HistoricalOrder> {
    core.views
        .closed_orders(account, views::HISTORY_PER_ACCOUNT)
        .into_iter()
        .filter(|c| market.is_none_or(|m| c.accepted.market == m))
        .take(limit)
        .filter_map(|c| core.catalog.market(u64::from(c.accepted.market)).map(|m| historical_order(m, c)))
        .collect()
}

/// Trades of an account, newest first (in `market`, or all), at most `limit`.
pub fn user_trades(core: &Core, account: u64, market: Option<u32>, limit: usize) -> Vec<UserTrade> {
    core.views
        .account_trades(account, views::HISTORY_PER_ACCOUNT)
        .into_iter()
        .filter(|t| market.is_none_or(|m| t.market == m))
        .take(limit)
        .filter_map(|t| core.catalog.market(u64::from(t.market)).map(|m| user_trade(m, &core.catalog, t, account)))
        .collect()
}

/// Fee rates of an account, one per market.
pub fn fee_rates(core: &Core, account: u64) -> Vec<FeeRate> {
    core.catalog
        .markets
        .iter()
        .map(|m| FeeRate {
            account_id: account,
            maker_fee: fee_rate(m.config.maker_fee_ppm),
            symbol: m.config.name.clone(),
            symbol_id: m.config.id,
            taker_fee: fee_rate(m.config.taker_fee_ppm),
        })
        .collect()
}

/// The live API keys of a master at `now` (Unix ms).
pub fn api_keys(core: &Core, master: &Address, now: u64) -> Vec<ApiKey> {
    core.keys
        .get(master)
        .map(|ks| ks.iter().filter(|k| !k.record.is_expired(now)).map(api_key).collect())
        .unwrap_or_default()
}

/// An open order.
pub fn order(m: &MarketSpec, o: &OrderView) -> Order {
    Order {
        account_id: o.account,
        cl_ord_id: o.cl_ord_id.map(|c| c.to_string()),
        created_at: o.created,
        executed_qty: m.format_quantity(o.filled),
        executed_value: m.format_quote(o.executed_value),
        funds: o.funds.map(|f| m.format_quote(f)),
        order_id: o.order_id,
        price: (o.order_type == sova_engine::OrderType::Limit).then(|| m.format_price(o.price)),
        quantity: o.quantity.map(|q| m.format_quantity(q)),
        side: side(o.side),
        status: status(o.status),
        symbol: m.config.name.clone(),
        symbol_id: m.config.id,
        time_in_force: time_in_force(o.time_in_force),
        order_type: order_type(o.order_type),
        updated_at: o.updated,
    }
}

/// A closed order.
pub fn historical_order(m: &MarketSpec, c: &ClosedOrder) -> HistoricalOrder {
    let a = &c.accepted;
    HistoricalOrder {
        account_id: a.account,
        cl_ord_id: a.cl_ord_id.map(|c| c.to_string()),
        created_at: a.ts,
        executed_qty: m.format_quantity(c.filled),
        funds: a.funds.map(|f| m.format_quote(f)),
        order_id: a.order_id,
        price: (a.order_type == sova_engine::OrderType::Limit).then(|| m.format_price(a.price)),
        quantity: a.quantity.map(|q| m.format_quantity(q)),
        side: side(a.side),
        status: status(c.status),
        symbol: m.config.name.clone(),
        symbol_id: m.config.id,
        time_in_force: time_in_force(a.time_in_force),
        order_type: order_type(a.order_type),
        updated_at: c.ts,
    }
}

/// A trade as one account sees it (its side, role, fee).
pub fn user_trade(m: &MarketSpec, c: &Catalog, t: &Trade, account: AccountId) -> UserTrade {
    let maker = t.maker_account == account;
    let s = if maker { t.taker_side.opposite() } else { t.taker_side };
    let fee = if maker { t.maker_fee } else { t.taker_fee };
    let (fee, coin) = match s {
        sova_engine::Side::Buy => (m.format_base(fee), m.config.base),
        sova_engine::Side::Sell => (m.format_quote(fee), m.config.quote),
    };
    UserTrade {
        account_id: account,
        fee,
        fee_coin: c.coin(u64::from(coin)).map(|c| c.symbol.clone()),
        is_maker: maker,
        order_id: if maker { t.maker_order } else { t.taker_order },
        price: m.format_price(t.price),
        quantity: m.format_quantity(t.quantity),
        quote_qty: m.format_quote(t.quote_amount),
        side: side(s),
        symbol: m.config.name.clone(),
        symbol_id: m.config.id,
        time: t.ts,
        trade_id: t.trade_id,
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
        let newest = trades.first().map(|t| t.ts as i64);
        let acct = HudExchangeAccount {
            account_id: id,
            sub_account: id != master_id,
            balances,
            open_orders: core.engine.open_orders(id, None).len() as u64,
            recent_trades: trades.len() as u64,
            last_trade_at: newest.map(&iso),
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
