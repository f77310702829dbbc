//! The perps read models in the shapes of `spec/perps.md` section 2 and `exchange-sdk-wire.md` section 2
//! (JSON values; REST reads and the `/ws/perps` pushes): symbols, tickers, mark prices, positions, orders,
//! balances, the account state, fills, candles, and the short-key WebSocket records.

use alloy_primitives::Address;
use serde_json::{Value, json};
use sova_perps::{MarginMode, PerpMarketSpec, PositionView};

use crate::core::Core;
use crate::error::{ExchangeError, Reason};

/// A candle being built: start, open, high, low, close, volume (lots), quote volume (atoms), trades.
pub type Candle = (u64, u64, u64, u64, u64, u64, i128, usize);

pub fn ppb(v: i64) -> String {
    let neg = v < 0;
    let s = sova_engine::format_decimal(v.unsigned_abs(), 9);
    if neg { format!("-{s}") } else { s }
}

pub fn e12(v: i128) -> String {
    sova_engine::format_decimal(u64::try_from(v.max(0)).unwrap_or(u64::MAX), 12)
}

pub fn price(m: &PerpMarketSpec, t: Option<u64>) -> String {
    t.map(|t| m.spec.format_price(t)).unwrap_or_default()
}

pub fn lots(m: &PerpMarketSpec, v: i128) -> String {
    m.spec.format_quantity(u64::try_from(v.unsigned_abs()).unwrap_or(u64::MAX))
}

pub fn money(m: &PerpMarketSpec, v: i128) -> String {
    m.format_quote_signed(v)
}

pub fn mode(m: MarginMode) -> &'static str {
    m.as_str()
}

/// A perps symbol (spot fields + the perps ones).
pub fn symbol(c: &crate::catalog::Catalog, m: &PerpMarketSpec) -> Value {
    let cfg = &m.config;
    let quote = c.coin(u64::from(cfg.market.quote));
    let base = c.coin(u64::from(cfg.market.base));
    let ppm = |v: u32| sova_engine::format_decimal(u64::from(v), 6);
    let tiers: Vec<Value> = m
        .tiers
        .iter()
        .map(|t| {
            json!({
                "maxNotionalValue": if t.max_notional == u64::MAX { "0".to_string() } else { m.format_quote_signed(i128::from(t.max_notional)) },
                "maintenanceMarginRate": e12(t.mmr_e12),
                "maxLeverage": t.max_leverage,
                "maintenanceDeduction": m.format_quote_signed(t.deduction_e12 / sova_perps::E12),
            })
        })
        .collect();
    json!({
        "id": cfg.market.id,
        "name": cfg.market.name,
        "displayName": cfg.market.name.replace('-', "/"),
        "baseCoin": base.map(|c| c.symbol.clone()).unwrap_or_default(),
        "baseCoinID": cfg.market.base,
        "quoteCoin": quote.map(|c| c.symbol.clone()).unwrap_or_default(),
        "quoteCoinID": cfg.market.quote,
        "quoteCoinPrecision": m.spec.quote_decimals,
        "pricePrecision": cfg.market.price_decimals,
        "tickSize": m.spec.format_price(1),
        "minPrice": m.spec.format_price(1),
        "maxPrice": m.spec.format_price(sova_perps::MAX_PRICE),
        "quantityPrecision": m.spec.format_quantity(1).split_once('.').map_or(0, |(_, f)| f.len()),
        "stepSize": m.spec.format_quantity(1),
        "minQuantity": m.spec.format_quantity(1),
        "maxQuantity": m.spec.format_quantity(sova_perps::MAX_QUANTITY),
        "marketMinQuantity": m.spec.format_quantity(1),
        "marketMaxQuantity": m.spec.format_quantity(sova_perps::MAX_QUANTITY),
        "minNotional": m.spec.format_quote(cfg.market.min_notional),
        "maxNotional": "0",
        "buyLimitUpRatio": "0",
        "sellLimitDownRatio": "0",
        "marketDeviationRatio": "0",
        "maxLeverage": cfg.max_leverage,
        "initLeverage": cfg.init_leverage,
        "fundingInterval": cfg.funding.interval_ms / 1000,
        "interestRate": ppb(cfg.funding.interest_rate_ppb),
        "maxFundingRate": ppb(cfg.funding.max_rate_ppb),
        "minFundingRate": ppb(cfg.funding.min_rate_ppb),
        "makerFee": ppm(cfg.market.maker_fee_ppm),
        "takerFee": ppm(cfg.market.taker_fee_ppm),
        "status": "TRADING",
        "contractSize": "1",
        "marginTiers": tiers,
    })
}

pub fn market_of<'a>(core: &'a Core, s: &str) -> Result<&'a PerpMarketSpec, ExchangeError> {
    core.catalog.perp_by_name(s).ok_or_else(|| {
        ExchangeError::new(
            Reason::UnknownSymbol,
            format!("{s:?} is not a perps market (GET /api/v1/perps/markets/symbols lists them)"),
        )
    })
}

pub fn markets_of<'a>(core: &'a Core, only: Option<&str>) -> Result<Vec<&'a PerpMarketSpec>, ExchangeError> {
    match only {
        Some(s) => Ok(vec![market_of(core, s)?]),
        None => Ok(core.catalog.perps.iter().collect()),
    }
}

/// A ticker: spot ticker keys + funding, mark, index, open interest.
pub fn ticker(core: &Core, m: &PerpMarketSpec, now: u64) -> Value {
    let v = core.perps.market_view(m.id());
    let trades = core.perps.recent_trades(m.id(), 1000);
    let day: Vec<_> = trades.iter().filter(|t| t.ts + 86_400_000 >= now).collect();
    let last = v.as_ref().and_then(|v| v.last_price);
    let open = day.first().map(|t| t.price).or(last);
    let high = day.iter().map(|t| t.price).max();
    let low = day.iter().map(|t| t.price).min();
    let vol: u64 = day.iter().map(|t| t.quantity).sum();
    let quote_vol: i128 = day.iter().map(|t| t.notional).sum();
    let bbo = core.perps.best_bid_ask(m.id()).unwrap_or(sova_perps::Bbo { bid: None, ask: None });
    let (mark, index) = (v.as_ref().and_then(|v| v.mark_price), v.as_ref().and_then(|v| v.index_price));
    let change = match (open, last) {
        (Some(o), Some(l)) => i128::from(l) - i128::from(o),
        _ => 0,
    };
    let pct = match open {
        Some(o) if o > 0 => ((change as f64) * 10_000.0 / (o as f64)).round() / 100.0,
        _ => 0.0,
    };
    json!({
        "symbol": m.config.market.name,
        "symbolID": m.id(),
        "lastPx": price(m, last),
        "lastPrice": price(m, last),
        "openPx": price(m, open),
        "openPrice": price(m, open),
        "highPx": price(m, high),
        "highPrice": price(m, high),
        "lowPx": price(m, low),
        "lowPrice": price(m, low),
        "volume": m.spec.format_quantity(vol),
        "quoteVolume": money(m, quote_vol),
        "change": if change < 0 { format!("-{}", m.spec.format_price(u64::try_from(-change).unwrap_or(0))) } else { m.spec.format_price(u64::try_from(change).unwrap_or(0)) },
        "count": day.len(),
        "bidPx": price(m, bbo.bid.map(|b| b.0)),
        "bidSz": bbo.bid.map(|b| m.spec.format_quantity(b.1)).unwrap_or_default(),
        "askPx": price(m, bbo.ask.map(|a| a.0)),
        "askSz": bbo.ask.map(|a| m.spec.format_quantity(a.1)).unwrap_or_default(),
        "fundingRate": ppb(v.as_ref().map_or(0, |v| v.funding_rate_ppb)),
        "nextFundingTime": v.as_ref().map_or(0, |v| v.next_funding_time),
        "indexPrice": price(m, index),
        "markPrice": price(m, mark),
        "openInterest": lots(m, v.as_ref().map_or(0, |v| v.open_interest)),
        "changePct": pct,
        "lastSz": day.last().map(|t| m.spec.format_quantity(t.quantity)).unwrap_or_default(),
        "vwap": if vol == 0 { String::new() } else { price(m, u64::try_from(quote_vol / i128::from(vol) / m.qptl().max(1)).ok()) },
        "openTime": now.saturating_sub(86_400_000),
        "closeTime": now,
    })
}

/// `[{symbol, markPrice, indexPrice, fundingRate, nextFundingTime, openInterest}]` item.
pub fn mark_price(core: &Core, m: &PerpMarketSpec) -> Value {
    let v = core.perps.market_view(m.id());
    json!({
        "symbol": m.config.market.name,
        "markPrice": price(m, v.as_ref().and_then(|v| v.mark_price)),
        "indexPrice": price(m, v.as_ref().and_then(|v| v.index_price)),
        "fundingRate": ppb(v.as_ref().map_or(0, |v| v.funding_rate_ppb)),
        "nextFundingTime": v.as_ref().map_or(0, |v| v.next_funding_time),
        "openInterest": lots(m, v.as_ref().map_or(0, |v| v.open_interest)),
    })
}

/// A position in the T shape plus the G/P extras.
pub fn position(core: &Core, p: &PositionView) -> Value {
    let Some(m) = core.catalog.perp(u64::from(p.market)) else { return Value::Null };
    let side = if p.long { "LONG" } else { "SHORT" };
    let e6 = |v: i128| m.format_price_e6(v);
    json!({
        "id": p.id,
        "symbol": m.config.market.name,
        "marginMode": mode(p.margin_mode),
        "side": side,
        "size": lots(m, p.size),
        "initialMargin": money(m, p.initial_margin),
        "avgEntryPrice": e6(p.avg_entry_price_e6),
        "cumOpenCost": money(m, p.cum_open_cost),
        "cumTradingFee": money(m, p.cum_trading_fee),
        "cumClosedSize": lots(m, p.cum_closed_size),
        "avgClosePrice": e6(p.avg_close_price_e6),
        "maxSize": lots(m, p.max_size),
        "realizedPnL": money(m, p.realized_pnl),
        "leverage": p.leverage,
        "active": p.active,
        "isTakenOver": p.is_taken_over,
        "takeOverPrice": if p.is_taken_over { m.spec.format_price(p.take_over_price) } else { "0".to_string() },
        "createdAt": p.created_at,
        "updatedAt": p.updated_at,
        "symbolID": p.market,
        "accountID": p.account,
        "positionSide": "BOTH",
        "quantity": if p.size < 0 { format!("-{}", lots(m, p.size)) } else { lots(m, p.size) },
        "entryPrice": e6(p.avg_entry_price_e6),
        "markPrice": price(m, p.mark_price),
        "liquidationPrice": p.liquidation_price_e6.map(e6).unwrap_or_default(),
        "unrealizedPnl": money(m, p.unrealized_pnl),
        "margin": money(m, p.margin),
        "cumFunding": money(m, p.cum_funding),
    })
}

/// A perps order: the spot order keys + the perps ones.
pub fn order(core: &Core, o: &sova_perps::OrderView) -> Value {
    let Some(m) = core.catalog.perp(u64::from(o.market)) else { return Value::Null };
    let side = match o.side {
        sova_engine::Side::Buy => "BUY",
        sova_engine::Side::Sell => "SELL",
    };
    let status = serde_json::to_value(crate::core::perps::status(o.status)).unwrap_or(Value::Null);
    let stop = o.stop.as_ref();
    json!({
        "orderID": o.order_id,
        "clOrdID": o.cl_ord_id.as_ref().map(|c| c.as_str().to_string()),
        "symbol": m.config.market.name,
        "symbolID": o.market,
        "accountID": o.account,
        "side": side,
        "type": match o.order_type { sova_engine::OrderType::Limit => "LIMIT", sova_engine::OrderType::Market => "MARKET" },
        "timeInForce": format!("{:?}", o.time_in_force).to_uppercase(),
        "status": status,
        "price": if o.price == 0 { String::new() } else { m.spec.format_price(o.price) },
        "origQty": m.spec.format_quantity(o.quantity),
        "funds": "0",
        "executedQty": m.spec.format_quantity(o.filled),
        "executedValue": money(m, o.executed_value),
        "marginFrozen": money(m, o.margin_frozen),
        "createdAt": o.created_at,
        "updatedAt": o.updated_at,
        "positionSide": "BOTH",
        "reduceOnly": o.reduce_only,
        "modifier": format!("{:?}", o.modifier).to_uppercase(),
        "stopPrice": stop.map(|s| m.spec.format_price(s.stop_price)),
        "stopType": stop.map(|s| match s.stop_type { sova_perps::StopType::StopLoss => "STOP_LOSS", sova_perps::StopType::TakeProfit => "TAKE_PROFIT" }),
        "triggerType": stop.map(|s| match s.trigger { sova_perps::TriggerType::Last => "LAST_PRICE", sova_perps::TriggerType::Mark => "MARK_PRICE", sova_perps::TriggerType::Index => "INDEX_PRICE" }),
        "positionID": core.perps.position(o.account, o.market).map(|p| p.id),
        "primaryOrderID": o.primary_order_id,
        "attachedOrderIDs": o.attached_order_ids,
    })
}

pub fn quote_of(core: &Core) -> (String, u8) {
    let c = core.catalog.coin(u64::from(core.catalog.perps_config.collateral));
    (c.map(|c| c.symbol.clone()).unwrap_or_default(), core.catalog.perps_config.collateral_decimals)
}

pub fn fmt_money(decimals: u8, v: i128) -> String {
    let s = sova_engine::format_decimal(u64::try_from(v.unsigned_abs()).unwrap_or(u64::MAX), decimals);
    if v < 0 { format!("-{s}") } else { s }
}

/// `{blockTime, blockHeight, balances:[{id, coin, total, locked, marginRatio, price}]}`.
pub fn balances(core: &Core, account: u64) -> Value {
    let (coin, dec) = quote_of(core);
    let st = core.perps.account_state(account);
    let total = st.as_ref().map_or(0, |s| s.collateral);
    let locked = st.as_ref().map_or(0, |s| s.frozen + s.initial_margin);
    json!({
        "blockTime": core.last_ts,
        "blockHeight": core.seq,
        "balances": [{
            "id": core.catalog.perps_config.collateral,
            "coin": coin,
            "total": fmt_money(dec, total),
            "locked": fmt_money(dec, locked.max(0)),
            "marginRatio": "1",
            "price": "1",
        }],
    })
}

/// The account state (REST `state` and WS `accountState`).
pub fn state(core: &Core, master: &Address, account: u64) -> Value {
    let (coin, dec) = quote_of(core);
    let st = core.perps.account_state(account);
    let f = |g: fn(&sova_perps::AccountState) -> i128| fmt_money(dec, st.as_ref().map_or(0, g));
    let positions: Vec<Value> = core
        .perps
        .positions(account)
        .iter()
        .filter_map(|p| {
            let m = core.catalog.perp(u64::from(p.market))?;
            Some(json!({
                "i": p.id, "s": m.config.market.name, "m": mode(p.margin_mode), "ps": "BOTH",
                "sz": if p.size < 0 { format!("-{}", lots(m, p.size)) } else { lots(m, p.size) },
                "ep": m.format_price_e6(p.avg_entry_price_e6), "co": money(m, p.cum_open_cost),
                "cf": money(m, p.cum_trading_fee), "cc": lots(m, p.cum_closed_size),
                "cp": m.format_price_e6(p.avg_close_price_e6), "ms": lots(m, p.max_size),
                "cr": money(m, p.realized_pnl), "ur": money(m, p.unrealized_pnl), "l": p.leverage,
                "lp": p.liquidation_price_e6.map(|v| m.format_price_e6(v)).unwrap_or_default(),
                "iw": money(m, if p.margin_mode == MarginMode::Isolated { p.margin } else { 0 }),
                "ct": p.created_at, "ut": p.updated_at,
            }))
        })
        .collect();
    let orders: Vec<Value> = core.perps.open_orders(account, None).iter().map(|o| order(core, o)).collect();
    let settings: Vec<Value> = st
        .as_ref()
        .map(|s| {
            s.settings
                .iter()
                .filter_map(|(mk, l, md)| {
                    core.catalog
                        .perp(u64::from(*mk))
                        .map(|m| json!({"s": m.config.market.name, "l": l, "m": mode(*md)}))
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "user": format!("{master:#x}"),
        "aid": account,
        "uid": account,
        "av": f(|s| s.equity),
        "am": f(|s| s.available),
        "ami": f(|s| s.available),
        "amw": f(|s| s.withdrawable),
        "im": f(|s| s.isolated_margin),
        "cm": f(|s| s.cross_initial_margin),
        "oim": "0",
        "ocm": f(|s| s.frozen),
        "mm": f(|s| s.maintenance_margin),
        "liquidating": st.as_ref().is_some_and(|s| s.liquidating),
        "B": [{
            "i": core.catalog.perps_config.collateral, "a": coin, "wb": f(|s| s.collateral), "mr": "1", "px": "1",
            "aw": f(|s| s.available), "at": f(|s| s.withdrawable), "wm": f(|s| s.equity), "am": f(|s| s.available),
        }],
        "O": orders,
        "P": positions,
        "S": settings,
        "TO": [],
    })
}

/// A perps fill of `account` (the spot `UserTrade` keys + `d`, the position direction).
pub fn user_trade(core: &Core, t: &sova_perps::Trade, account: u64) -> Option<Value> {
    let m = core.catalog.perp(u64::from(t.market))?;
    let maker = t.maker_account == account;
    let side = match (t.taker_side, maker) {
        (sova_engine::Side::Buy, false) | (sova_engine::Side::Sell, true) => "BUY",
        _ => "SELL",
    };
    Some(json!({
        "tradeID": t.trade_id,
        "orderID": if maker { t.maker_order } else { t.taker_order },
        "symbol": m.config.market.name,
        "symbolID": t.market,
        "side": side,
        "price": m.spec.format_price(t.price),
        "quantity": m.spec.format_quantity(t.quantity),
        "quoteQty": money(m, t.notional),
        "fee": money(m, if maker { t.maker_fee } else { t.taker_fee }),
        "feeCoin": quote_of(core).0,
        "isMaker": maker,
        "timestamp": t.ts,
        "d": side,
    }))
}

/// The fills of `account` among the recent trades kept per market (of `markets`), newest first.
pub fn account_fills<'a>(
    core: &Core,
    markets: impl IntoIterator<Item = &'a PerpMarketSpec>,
    account: u64,
) -> Vec<sova_perps::Trade> {
    let mut v: Vec<sova_perps::Trade> = markets
        .into_iter()
        .flat_map(|m| core.perps.recent_trades(m.id(), 1000))
        .filter(|t| t.maker_account == account || t.taker_account == account)
        .collect();
    v.sort_by_key(|t| std::cmp::Reverse(t.trade_id));
    v
}

/// Candles of `ms` from the recent trades kept in memory whose time passes `within`, oldest first.
pub fn candles(core: &Core, m: &PerpMarketSpec, ms: u64, within: impl Fn(u64) -> bool) -> Vec<Candle> {
    let mut out: Vec<Candle> = Vec::new();
    for t in core.perps.recent_trades(m.id(), 1000).iter().filter(|t| within(t.ts)) {
        let start = t.ts - t.ts % ms.max(1);
        match out.last_mut() {
            Some(c) if c.0 == start => {
                c.2 = c.2.max(t.price);
                c.3 = c.3.min(t.price);
                c.4 = t.price;
                c.5 += t.quantity;
                c.6 += t.notional;
                c.7 += 1;
            }
            _ => out.push((start, t.price, t.price, t.price, t.price, t.quantity, t.notional, 1)),
        }
    }
    out
}

/// A candle `{t, T, s, i, o, h, l, c, v, q, n, x}` (`x`: closed at `now`).
pub fn candle(m: &PerpMarketSpec, c: &Candle, interval: &str, ms: u64, now: u64) -> Value {
    json!({
        "t": c.0, "T": c.0 + ms - 1, "s": m.config.market.name, "i": interval,
        "o": m.spec.format_price(c.1), "h": m.spec.format_price(c.2), "l": m.spec.format_price(c.3),
        "c": m.spec.format_price(c.4), "v": m.spec.format_quantity(c.5), "q": money(m, c.6), "n": c.7,
        "x": c.0 + ms <= now,
    })
}

// The `/ws/perps` records (short keys, `exchange-sdk-wire.md` section 1.4).

fn wire_side(s: sova_engine::Side) -> &'static str {
    match s {
        sova_engine::Side::Buy => "BUY",
        sova_engine::Side::Sell => "SELL",
    }
}

/// `markPrice` / `allMarkPrice`: `{E, s, p, i, r, T, oi}`.
pub fn ws_mark_price(core: &Core, m: &PerpMarketSpec, now: u64) -> Value {
    let v = core.perps.market_view(m.id());
    json!({
        "E": now,
        "s": m.config.market.name,
        "p": price(m, v.as_ref().and_then(|v| v.mark_price)),
        "i": price(m, v.as_ref().and_then(|v| v.index_price)),
        "r": ppb(v.as_ref().map_or(0, |v| v.funding_rate_ppb)),
        "T": v.as_ref().map_or(0, |v| v.next_funding_time),
        "oi": lots(m, v.as_ref().map_or(0, |v| v.open_interest)),
    })
}

/// `l2Book` / `l4Book`: `{E, s, u, b:[[p,q]], a:[[p,q]]}` (`u`: the log sequence).
pub fn ws_book(core: &Core, m: &PerpMarketSpec, depth: usize, now: u64) -> Value {
    let d = core.perps.depth(m.id(), depth).unwrap_or(sova_perps::Depth { bids: Vec::new(), asks: Vec::new() });
    let side = |v: &[(u64, u64)]| {
        v.iter().map(|(p, s)| json!([m.spec.format_price(*p), m.spec.format_quantity(*s)])).collect::<Vec<_>>()
    };
    json!({"E": now, "s": m.config.market.name, "u": core.seq, "b": side(&d.bids), "a": side(&d.asks)})
}

/// `bookTicker` / `allBookTicker`: `{E, s, u, a, A, b, B}`.
pub fn ws_book_ticker(core: &Core, m: &PerpMarketSpec, now: u64) -> Value {
    let b = core.perps.best_bid_ask(m.id()).unwrap_or(sova_perps::Bbo { bid: None, ask: None });
    let q = |x: Option<(u64, u64)>| x.map(|x| m.spec.format_quantity(x.1)).unwrap_or_default();
    json!({
        "E": now, "s": m.config.market.name, "u": core.seq,
        "a": price(m, b.ask.map(|x| x.0)), "A": q(b.ask), "b": price(m, b.bid.map(|x| x.0)), "B": q(b.bid),
    })
}

/// `ticker` family: the spot keys `{E, s, c, Q, w, a, A, b, B, p, P, o, h, l, v, q, O, C}` plus the perps ones
/// `{r, T, i, m, oi}` (funding rate, next funding time, index, mark, open interest).
pub fn ws_ticker(core: &Core, m: &PerpMarketSpec, now: u64) -> Value {
    let t = ticker(core, m, now);
    let g = |k: &str| t.get(k).cloned().unwrap_or(Value::Null);
    json!({
        "E": now, "s": g("symbol"), "c": g("lastPx"), "Q": g("lastSz"), "w": g("vwap"),
        "a": g("askPx"), "A": g("askSz"), "b": g("bidPx"), "B": g("bidSz"), "p": g("change"), "P": g("changePct"),
        "o": g("openPx"), "h": g("highPx"), "l": g("lowPx"), "v": g("volume"), "q": g("quoteVolume"),
        "O": g("openTime"), "C": g("closeTime"),
        "r": g("fundingRate"), "T": g("nextFundingTime"), "i": g("indexPrice"), "m": g("markPrice"), "oi": g("openInterest"),
    })
}

/// `trade`: `{E, T, t, s, S, p, q}` (`S`: the taker's side).
pub fn ws_trade(m: &PerpMarketSpec, t: &sova_perps::Trade, now: u64) -> Value {
    json!({
        "E": now, "T": t.ts, "t": t.trade_id, "s": m.config.market.name, "S": wire_side(t.taker_side),
        "p": m.spec.format_price(t.price), "q": m.spec.format_quantity(t.quantity),
    })
}

/// `accountOrderUpdate`: the spot keys `{E, T, s, c, i, S, o, f, p, q, X, z, v, M, x}` plus the perps ones
/// `{ps, R, sp?, st?, tt?, pid?, poid?, aoids?}`, and for a fill `{t, l, L, n, m}`.
pub fn ws_order(core: &Core, o: &sova_perps::OrderView, fill: Option<&sova_perps::Trade>, now: u64) -> Value {
    let Some(m) = core.catalog.perp(u64::from(o.market)) else { return Value::Null };
    let r = order(core, o);
    let g = |k: &str| r.get(k).cloned().unwrap_or(Value::Null);
    let mut v = json!({
        "E": now, "T": o.updated_at, "aid": o.account, "s": m.config.market.name, "c": g("clOrdID").as_str().unwrap_or_default(),
        "i": o.order_id, "S": g("side"), "o": g("type"), "f": g("timeInForce"),
        "p": if o.price == 0 { "0".to_string() } else { m.spec.format_price(o.price) }, "q": g("origQty"),
        "X": g("status"), "x": g("status"), "z": g("executedQty"), "v": g("executedValue"), "M": g("marginFrozen"),
        "ps": "BOTH", "R": o.reduce_only,
    });
    if let Some(obj) = v.as_object_mut() {
        for (short, long) in [
            ("sp", "stopPrice"),
            ("st", "stopType"),
            ("tt", "triggerType"),
            ("pid", "positionID"),
            ("poid", "primaryOrderID"),
        ] {
            let x = g(long);
            if !x.is_null() {
                obj.insert(short.into(), x);
            }
        }
        if !o.attached_order_ids.is_empty() {
            obj.insert("aoids".into(), json!(o.attached_order_ids));
        }
        if let Some(t) = fill {
            let maker = t.maker_order == o.order_id;
            obj.insert("t".into(), json!(t.trade_id));
            obj.insert("l".into(), json!(m.spec.format_quantity(t.quantity)));
            obj.insert("L".into(), json!(m.spec.format_price(t.price)));
            obj.insert("n".into(), json!(money(m, if maker { t.maker_fee } else { t.taker_fee })));
            obj.insert("m".into(), json!(maker));
        }
    }
    v
}

/// `accountTrade`: `{E, T, t, s, i, c, S, p, q, f, m, d}` (`d`: the position direction the fill trades,
/// LONG for a buy, SHORT for a sell).
pub fn ws_account_trade(core: &Core, t: &sova_perps::Trade, account: u64, now: u64) -> Option<Value> {
    let m = core.catalog.perp(u64::from(t.market))?;
    let maker = t.maker_account == account;
    let order_id = if maker { t.maker_order } else { t.taker_order };
    let buy = matches!((t.taker_side, maker), (sova_engine::Side::Buy, false) | (sova_engine::Side::Sell, true));
    let cl = core.perps.order(order_id).and_then(|o| o.cl_ord_id.map(|c| c.as_str().to_string())).unwrap_or_default();
    Some(json!({
        "E": now, "T": t.ts, "t": t.trade_id, "aid": account, "s": m.config.market.name, "i": order_id, "c": cl,
        "S": if buy { "BUY" } else { "SELL" }, "p": m.spec.format_price(t.price), "q": m.spec.format_quantity(t.quantity),
        "f": money(m, if maker { t.maker_fee } else { t.taker_fee }), "m": maker, "d": if buy { "LONG" } else { "SHORT" },
    }))
}

fn short_positions(core: &Core, account: u64) -> Vec<Value> {
    core.perps
        .positions(account)
        .iter()
        .filter_map(|p| {
            let m = core.catalog.perp(u64::from(p.market))?;
            Some(json!({
                "i": p.id, "s": m.config.market.name,
                "sz": if p.size < 0 { format!("-{}", lots(m, p.size)) } else { lots(m, p.size) },
                "ep": m.format_price_e6(p.avg_entry_price_e6), "ps": "BOTH",
                "iw": money(m, if p.margin_mode == MarginMode::Isolated { p.margin } else { 0 }),
                "ct": p.created_at, "ut": p.updated_at,
            }))
        })
        .collect()
}

/// `accountUpdate`: `{E, T, h, B:[{i, a, wb}], P:[{i, s, sz, ep, ps, iw, ct, ut}]}` (`h`: the log sequence).
pub fn ws_account_update(core: &Core, account: u64, now: u64) -> Value {
    let (coin, dec) = quote_of(core);
    let wb = core.perps.account_state(account).map_or(0, |s| s.collateral);
    json!({
        "E": now, "T": core.last_ts, "h": core.seq, "aid": account,
        "B": [{"i": core.catalog.perps_config.collateral, "a": coin, "wb": fmt_money(dec, wb)}],
        "P": short_positions(core, account),
    })
}

/// `accountEvent` liquidation: `{type:"liquidation", E, lid, aid, av, mm, B:[{i, a, wb}], P:[{s, ps, sz, mp, lp}]}`
/// (`lid`: the log sequence of the group that started it; `av`/`mm`: equity and maintenance margin when it
/// started; `P`: the positions left after the group, with those the liquidation closed in it at size 0).
pub fn ws_liquidation(core: &Core, account: u64, equity: i128, maintenance: i128, ts: u64, now: u64) -> Value {
    let (coin, dec) = quote_of(core);
    let wb = core.perps.account_state(account).map_or(0, |s| s.collateral);
    let mut positions: Vec<Value> = Vec::new();
    let open = core.perps.positions(account);
    let closed = core.perps.position_history(account);
    for p in open.iter().chain(closed.iter().filter(|p| p.updated_at >= ts)) {
        let Some(m) = core.catalog.perp(u64::from(p.market)) else { continue };
        let mark = core.perps.market_view(p.market).and_then(|v| v.mark_price);
        let sz = if !p.active {
            "0".to_string()
        } else if p.size < 0 {
            format!("-{}", lots(m, p.size))
        } else {
            lots(m, p.size)
        };
        positions.push(json!({
            "s": m.config.market.name, "ps": "BOTH", "sz": sz, "mp": price(m, mark),
            "lp": p.liquidation_price_e6.map(|v| m.format_price_e6(v)).unwrap_or_default(),
        }));
    }
    json!({
        "type": "liquidation", "E": now, "lid": core.seq, "aid": account,
        "av": fmt_money(dec, equity), "mm": fmt_money(dec, maintenance),
        "B": [{"i": core.catalog.perps_config.collateral, "a": coin, "wb": fmt_money(dec, wb)}],
        "P": positions,
    })
}
