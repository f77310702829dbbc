//! Answers built from the state: orders, trades, books, tickers, balances, candles, keys, the Intel HUD section.

use serde_json::{Value, json};
use sova_engine::{AccountId, MarketSpec, OrderStatus, OrderType, OrderView, Side, TimeInForce, Trade};

use crate::catalog::Catalog;
use crate::core::{Core, KeyRow};
use crate::error::ExchangeError;
use crate::views::{self, Candle, ClosedOrder};

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

pub(crate) fn key_json(k: &KeyRow) -> Value {
    json!({
        "name": k.record.name.as_str(),
        "type": 1,
        "publicKey": format!("{:#x}", k.record.public_key),
        "accountID": k.account_id,
        "expiresAt": k.record.expires_at,
        "createdAt": k.created_at,
    })
}

pub(crate) fn ack_json(
    market: u32,
    order_id: Option<u64>,
    cl: Option<&str>,
    status: Option<sova_engine::OrderStatus>,
) -> Value {
    json!({"orderID": order_id, "clOrdID": cl, "symbolID": market, "status": status.map(status_name)})
}

pub(crate) fn item_error(cl: Option<&str>, e: &ExchangeError) -> Value {
    json!({"clOrdID": cl, "code": e.reason.number(), "reason": e.reason, "error": e.message})
}

/// `{"symbol","bids":[[price,qty]],"asks":..}` to `depth` levels.
pub fn book_json(core: &Core, market: u32, depth: usize) -> Value {
    let Some(m) = core.catalog.market(u64::from(market)) else { return Value::Null };
    let d = core.engine.depth(market, depth).unwrap_or(sova_engine::Depth { bids: vec![], asks: vec![] });
    let side = |v: &[sova_engine::LevelView]| -> Vec<Value> {
        v.iter().map(|l| json!([m.format_price(l.price), m.format_quantity(l.quantity)])).collect()
    };
    json!({"symbolID": market, "symbol": m.config.name, "bids": side(&d.bids), "asks": side(&d.asks)})
}

/// Best bid and ask.
pub fn book_ticker_json(core: &Core, market: u32) -> Value {
    let Some(m) = core.catalog.market(u64::from(market)) else { return Value::Null };
    let bbo = core.engine.best_bid_ask(market);
    let lv = |l: Option<sova_engine::LevelView>| l.map(|l| (m.format_price(l.price), m.format_quantity(l.quantity)));
    let (bid, ask) = bbo.map(|b| (lv(b.bid), lv(b.ask))).unwrap_or((None, None));
    json!({
        "symbolID": market,
        "symbol": m.config.name,
        "bidPrice": bid.as_ref().map(|b| b.0.clone()),
        "bidQty": bid.as_ref().map(|b| b.1.clone()),
        "askPrice": ask.as_ref().map(|a| a.0.clone()),
        "askQty": ask.as_ref().map(|a| a.1.clone()),
    })
}

/// 24 h statistics.
pub fn ticker_json(core: &Core, market: u32, now: u64) -> Value {
    let Some(m) = core.catalog.market(u64::from(market)) else { return Value::Null };
    let day = core.views.day(market, now);
    let last = core.engine.recent_trades(market, 1).first().map(|t| m.format_price(t.price));
    json!({
        "symbolID": market,
        "symbol": m.config.name,
        "lastPrice": last,
        "openPrice": day.map(|d| m.format_price(d.open)),
        "highPrice": day.map(|d| m.format_price(d.high)),
        "lowPrice": day.map(|d| m.format_price(d.low)),
        "volume": day.map(|d| m.format_quantity(d.volume)).unwrap_or_else(|| "0".into()),
        "quoteVolume": day.map(|d| m.format_quote(d.quote_volume)).unwrap_or_else(|| "0".into()),
        "count": day.map(|d| d.trades).unwrap_or(0),
    })
}

/// Balances of an account, one entry per listed coin.
pub fn balances_json(core: &Core, account: u64) -> Value {
    let items: Vec<Value> = core
        .catalog
        .coins
        .iter()
        .map(|c| {
            let b = core.engine.balance(account, c.id);
            json!({
                "coin": c.symbol,
                "coinID": c.id,
                "total": sova_engine::format_decimal(b.total(), c.decimals),
                "available": sova_engine::format_decimal(b.available, c.decimals),
                "locked": sova_engine::format_decimal(b.locked, c.decimals),
            })
        })
        .collect();
    json!({"accountID": account, "balances": items})
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
