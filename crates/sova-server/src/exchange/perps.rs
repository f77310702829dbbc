//! The perps reads (`/api/v1/perps/markets/...`, `/api/v1/perps/accounts/{address}/...`) and the sandbox price
//! controls (`/api/v1/sandbox/{index-price,mark-price,funding}`), in the shapes of `spec/perps.md` section 2 and
//! `exchange-sdk-wire.md` section 2. Answers are built from the sequencer's state between groups.

use alloy_primitives::Address;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use sova_exchange::perps::PerpsRequest;
use sova_exchange::{Core, ExchangeError, Reason, Request, read};
use sova_http::ApiError;
use sova_perps::{MarginMode, PerpMarketSpec, PositionView};
use sova_proto::exchange::ErrorEnvelope;
use utoipa::IntoParams;

use super::Ctx;
use super::rest::{json_body, parse_address, query, respond, sandbox_only};

/// Query of the perps reads: every parameter the vendor SDKs send is accepted.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PerpsQuery {
    /// A sub-account of the address (the master account by default).
    #[serde(rename = "accountID")]
    account_id: Option<u64>,
    /// Only this market (`BTC-USD` or its id).
    symbol: Option<String>,
    /// Accepted (coins).
    coin: Option<String>,
    /// At most this many (default 100, at most 1000; levels of the order book: default 20).
    limit: Option<usize>,
    /// Alias of `limit` (order book).
    depth: Option<usize>,
    /// Only from this time (Unix ms).
    #[serde(rename = "startTime")]
    start_time: Option<u64>,
    /// Only up to this time (Unix ms, inclusive).
    #[serde(rename = "endTime")]
    end_time: Option<u64>,
    /// Accepted (klines).
    interval: Option<String>,
}

impl PerpsQuery {
    fn limit(&self, default: usize) -> usize {
        self.limit.or(self.depth).unwrap_or(default).clamp(1, 1000)
    }
    fn within(&self, ts: u64) -> bool {
        self.start_time.is_none_or(|s| ts >= s) && self.end_time.is_none_or(|e| ts <= e)
    }
}

/// A candle being built: start, open, high, low, close, volume (lots), quote volume (atoms), trades.
type Candle = (u64, u64, u64, u64, u64, u64, i128, usize);

fn q_of(q: Result<Query<PerpsQuery>, QueryRejection>) -> Result<PerpsQuery, ApiError> {
    query(q)
}

fn ppb(v: i64) -> String {
    let neg = v < 0;
    let s = sova_engine::format_decimal(v.unsigned_abs(), 9);
    if neg { format!("-{s}") } else { s }
}

fn e12(v: i128) -> String {
    sova_engine::format_decimal(u64::try_from(v.max(0)).unwrap_or(u64::MAX), 12)
}

fn price(m: &PerpMarketSpec, t: Option<u64>) -> String {
    t.map(|t| m.spec.format_price(t)).unwrap_or_default()
}

fn lots(m: &PerpMarketSpec, v: i128) -> String {
    m.spec.format_quantity(u64::try_from(v.unsigned_abs()).unwrap_or(u64::MAX))
}

fn money(m: &PerpMarketSpec, v: i128) -> String {
    m.format_quote_signed(v)
}

fn mode(m: MarginMode) -> &'static str {
    m.as_str()
}

/// A perps symbol (spot fields + the perps ones).
pub fn symbol(c: &sova_exchange::Catalog, m: &PerpMarketSpec) -> Value {
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

fn market_of<'a>(core: &'a Core, s: &str) -> Result<&'a PerpMarketSpec, ExchangeError> {
    core.catalog.perp_by_name(s).ok_or_else(|| {
        ExchangeError::new(
            Reason::UnknownSymbol,
            format!("{s:?} is not a perps market (GET /api/v1/perps/markets/symbols lists them)"),
        )
    })
}

fn markets_of<'a>(core: &'a Core, only: Option<&str>) -> Result<Vec<&'a PerpMarketSpec>, ExchangeError> {
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
    let side = if p.size < 0 { "SHORT" } else { "LONG" };
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
    let status = serde_json::to_value(sova_exchange::perps::status(o.status)).unwrap_or(Value::Null);
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

fn quote_of(core: &Core) -> (String, u8) {
    let c = core.catalog.coin(u64::from(core.catalog.perps_config.collateral));
    (c.map(|c| c.symbol.clone()).unwrap_or_default(), core.catalog.perps_config.collateral_decimals)
}

fn fmt_money(decimals: u8, v: i128) -> String {
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

async fn market_read(
    ctx: &Ctx,
    q: Result<Query<PerpsQuery>, QueryRejection>,
    f: impl FnOnce(&Core, &PerpsQuery, u64) -> Result<Value, ExchangeError> + Send + 'static,
) -> Response {
    let run = async {
        let q = q_of(q)?;
        let now = sova_exchange::now_ms(&ctx.clock);
        Ok::<Value, ApiError>(ctx.exchange.read(move |core| f(core, &q, now)).await??)
    };
    respond(ctx, run.await)
}

async fn account_read(
    ctx: &Ctx,
    address: &str,
    q: Result<Query<PerpsQuery>, QueryRejection>,
    f: impl FnOnce(&Core, Address, u64, &PerpsQuery, u64) -> Result<Value, ExchangeError> + Send + 'static,
) -> Response {
    let run = async {
        let address = parse_address(address)?;
        let q = q_of(q)?;
        let now = sova_exchange::now_ms(&ctx.clock);
        let answer = ctx
            .exchange
            .read(move |core| {
                let id = read::resolve(core, &address, q.account_id)?;
                f(core, address, id, &q, now)
            })
            .await?;
        Ok::<Value, ApiError>(answer?)
    };
    respond(ctx, run.await)
}

/// Declares perps market reads: `name "path" "doc" |core, q, now, symbol| body` (`symbol`: the path's
/// `{symbol}`, `None` for the lists).
macro_rules! market_reads {
    () => {};
    ($name:ident $path:literal $doc:literal |$core:ident, $q:ident, $now:ident, $sym:ident| $body:block; $($rest:tt)*) => {
        #[doc = $doc]
        #[utoipa::path(get, path = $path, tag = "perps market data", params(PerpsQuery),
            responses((status = 200, description = $doc, body = Object), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
        pub async fn $name(State(ctx): State<Ctx>, q: Result<Query<PerpsQuery>, QueryRejection>) -> Response {
            let $sym: Option<String> = None;
            market_read(&ctx, q, move |$core, $q, $now| { let _ = (&$sym, $now, &$q); $body }).await
        }
        market_reads!($($rest)*);
    };
    ($name:ident path $path:literal $doc:literal |$core:ident, $q:ident, $now:ident, $sym:ident| $body:block; $($rest:tt)*) => {
        #[doc = $doc]
        #[utoipa::path(get, path = $path, tag = "perps market data", params(("symbol" = String, Path, description = "the perps market (`BTC-USD` or its id)"), PerpsQuery),
            responses((status = 200, description = $doc, body = Object), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
        pub async fn $name(State(ctx): State<Ctx>, Path(symbol): Path<String>, q: Result<Query<PerpsQuery>, QueryRejection>) -> Response {
            let $sym: Option<String> = Some(symbol);
            market_read(&ctx, q, move |$core, $q, $now| { let _ = (&$sym, $now, &$q); $body }).await
        }
        market_reads!($($rest)*);
    };
}

macro_rules! account_reads {
    ($($name:ident $path:literal $doc:literal |$core:ident, $master:ident, $id:ident, $q:ident, $now:ident| $body:expr;)*) => {$(
        #[doc = $doc]
        #[utoipa::path(get, path = $path, tag = "perps accounts", params(("address" = String, Path, description = "the master wallet (0x and 40 hex digits)"), PerpsQuery),
            responses((status = 200, description = $doc, body = Object), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
        pub async fn $name(State(ctx): State<Ctx>, Path(address): Path<String>, q: Result<Query<PerpsQuery>, QueryRejection>) -> Response {
            account_read(&ctx, &address, q, move |$core, $master, $id, $q, $now| { let _ = (&$master, $now, &$q, $id); $body }).await
        }
    )*};
}

market_reads! {
    perps_symbols "/api/v1/perps/markets/symbols" "The perps markets with their margin tiers and funding parameters." |core, q, now, sym| {
        Ok(Value::Array(markets_of(core, q.symbol.as_deref())?.into_iter().map(|m| symbol(&core.catalog, m)).collect()))
    };
    perps_coins "/api/v1/perps/markets/coins" "The perps coins (the collateral and the bases), ids as spot's." |core, q, now, sym| {
        let mut ids = vec![core.catalog.perps_config.collateral];
        ids.extend(core.catalog.perps.iter().map(|m| m.config.market.base));
        ids.dedup();
        Ok(Value::Array(ids.into_iter().filter_map(|id| core.catalog.coin(u64::from(id))).filter(|c| q.coin.as_deref().is_none_or(|f| f.eq_ignore_ascii_case(&c.symbol) || f == c.id.to_string())).map(|c| {
            let px = if c.id == core.catalog.perps_config.collateral { "1".to_string() } else {
                core.catalog.perps.iter().find(|m| m.config.market.base == c.id).and_then(|m| core.perps.market_view(m.id()).and_then(|v| v.index_price.or(v.mark_price)).map(|p| m.spec.format_price(p))).unwrap_or_default()
            };
            json!({"id": c.id, "name": c.symbol, "precision": c.decimals, "marginRatio": "1", "price": px})
        }).collect()))
    };
    perps_tickers "/api/v1/perps/markets/tickers" "24-hour tickers plus funding rate, next funding time, index and mark prices and open interest." |core, q, now, sym| {
        Ok(Value::Array(markets_of(core, q.symbol.as_deref())?.into_iter().map(|m| ticker(core, m, now)).collect()))
    };
    perps_mini_tickers "/api/v1/perps/markets/miniTickers" "The tickers (their keys include the mini ticker's)." |core, q, now, sym| {
        Ok(Value::Array(markets_of(core, q.symbol.as_deref())?.into_iter().map(|m| ticker(core, m, now)).collect()))
    };
    perps_book_tickers "/api/v1/perps/markets/bookTickers" "Best bid and ask of each perps market." |core, q, now, sym| {
        Ok(Value::Array(markets_of(core, q.symbol.as_deref())?.into_iter().map(|m| {
            let b = core.perps.best_bid_ask(m.id()).unwrap_or(sova_perps::Bbo { bid: None, ask: None });
            json!({"symbol": m.config.market.name, "bidPx": price(m, b.bid.map(|x| x.0)), "bidSz": b.bid.map(|x| m.spec.format_quantity(x.1)).unwrap_or_default(),
                   "askPx": price(m, b.ask.map(|x| x.0)), "askSz": b.ask.map(|x| m.spec.format_quantity(x.1)).unwrap_or_default(), "time": now})
        }).collect()))
    };
    perps_mark_prices "/api/v1/perps/markets/mark-prices" "Mark and index prices, funding rate, next funding time and open interest per market." |core, q, now, sym| {
        Ok(Value::Array(markets_of(core, q.symbol.as_deref())?.into_iter().map(|m| mark_price(core, m)).collect()))
    };
    perps_orderbook path "/api/v1/perps/markets/{symbol}/orderbook" "The aggregated order book (`limit` or `depth` levels, default 20)." |core, q, now, sym| {
        let m = market_of(core, sym.as_deref().unwrap_or_default())?;
        let d = core.perps.depth(m.id(), q.limit(20)).unwrap_or(sova_perps::Depth { bids: Vec::new(), asks: Vec::new() });
        let side = |v: &[(u64, u64)]| v.iter().map(|(p, s)| json!([m.spec.format_price(*p), m.spec.format_quantity(*s)])).collect::<Vec<_>>();
        Ok(json!({"symbol": m.config.market.name, "blockTime": core.last_ts, "blockHeight": core.seq, "bids": side(&d.bids), "asks": side(&d.asks)}))
    };
    perps_trades path "/api/v1/perps/markets/{symbol}/trades" "Recent public trades, newest first." |core, q, now, sym| {
        let m = market_of(core, sym.as_deref().unwrap_or_default())?;
        let mut v: Vec<Value> = core.perps.recent_trades(m.id(), 1000).iter().rev().filter(|t| q.within(t.ts)).take(q.limit(100)).map(|t| json!({
            "tradeID": t.trade_id, "symbol": m.config.market.name, "price": m.spec.format_price(t.price), "quantity": m.spec.format_quantity(t.quantity),
            "side": match t.taker_side { sova_engine::Side::Buy => "BUY", sova_engine::Side::Sell => "SELL" }, "isBuyerMaker": t.taker_side == sova_engine::Side::Sell, "timestamp": t.ts,
        })).collect();
        v.truncate(q.limit(100));
        Ok(Value::Array(v))
    };
    perps_klines path "/api/v1/perps/markets/{symbol}/klines" "Candles (`interval` 1m by default) built from the recent trades kept in memory." |core, q, now, sym| {
        let m = market_of(core, sym.as_deref().unwrap_or_default())?;
        let ms: u64 = match q.interval.as_deref().unwrap_or("1m") {
            "1m" => 60_000, "3m" => 180_000, "5m" => 300_000, "15m" => 900_000, "30m" => 1_800_000, "1h" => 3_600_000,
            "2h" => 7_200_000, "4h" => 14_400_000, "6h" => 21_600_000, "8h" => 28_800_000, "12h" => 43_200_000, "1d" => 86_400_000,
            other => return Err(ExchangeError::new(Reason::InvalidParameter, format!("interval {other:?}: use 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d"))),
        };
        let mut out: Vec<Candle> = Vec::new();
        for t in core.perps.recent_trades(m.id(), 1000).iter().filter(|t| q.within(t.ts)) {
            let start = t.ts - t.ts % ms;
            match out.last_mut() {
                Some(c) if c.0 == start => { c.2 = c.2.max(t.price); c.3 = c.3.min(t.price); c.4 = t.price; c.5 += t.quantity; c.6 += t.notional; c.7 += 1; }
                _ => out.push((start, t.price, t.price, t.price, t.price, t.quantity, t.notional, 1)),
            }
        }
        let skip = out.len().saturating_sub(q.limit(500));
        Ok(Value::Array(out.into_iter().skip(skip).map(|c| json!({
            "t": c.0, "T": c.0 + ms - 1, "s": m.config.market.name, "i": q.interval.clone().unwrap_or_else(|| "1m".into()),
            "o": m.spec.format_price(c.1), "h": m.spec.format_price(c.2), "l": m.spec.format_price(c.3), "c": m.spec.format_price(c.4),
            "v": m.spec.format_quantity(c.5), "q": money(m, c.6), "n": c.7,
        })).collect()))
    };
}

account_reads! {
    perps_state "/api/v1/perps/accounts/{address}/state" "The account's margin state (`av, am, amw, im, cm, ...`, balances `B`, orders `O`, positions `P`, settings `S`)." |core, master, id, q, now| {
        Ok(state(core, &master, id))
    };
    perps_balances "/api/v1/perps/accounts/{address}/balances" "The perps collateral balance." |core, master, id, q, now| {
        Ok(balances(core, id))
    };
    perps_open_orders "/api/v1/perps/accounts/{address}/orders" "Open perps orders (stops included)." |core, master, id, q, now| {
        let only = q.symbol.as_deref().map(|s| market_of(core, s).map(|m| m.id())).transpose()?;
        let orders: Vec<Value> = core.perps.open_orders(id, only).iter().map(|o| order(core, o)).collect();
        Ok(json!({"blockTime": core.last_ts, "blockHeight": core.seq, "orders": orders}))
    };
    perps_order_history "/api/v1/perps/accounts/{address}/orders/history" "Closed perps orders, newest first." |core, master, id, q, now| {
        let only = q.symbol.as_deref().map(|s| market_of(core, s).map(|m| m.id())).transpose()?;
        let orders: Vec<Value> = core.perps.closed_orders(id, 10_000).iter().filter(|o| only.is_none_or(|m| m == o.market) && q.within(o.updated_at)).take(q.limit(100)).map(|o| order(core, o)).collect();
        Ok(json!({"blockTime": core.last_ts, "blockHeight": core.seq, "orders": orders}))
    };
    perps_account_trades "/api/v1/perps/accounts/{address}/trades" "The account's perps fills among the recent trades kept per market, newest first." |core, master, id, q, now| {
        let ms = markets_of(core, q.symbol.as_deref())?;
        let mut v: Vec<(u64, Value)> = Vec::new();
        for m in ms {
            for t in core.perps.recent_trades(m.id(), 1000) {
                if (t.maker_account == id || t.taker_account == id) && q.within(t.ts) && let Some(x) = user_trade(core, &t, id) {
                    v.push((t.trade_id, x));
                }
            }
        }
        v.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
        Ok(Value::Array(v.into_iter().take(q.limit(100)).map(|(_, x)| x).collect()))
    };
    perps_positions "/api/v1/perps/accounts/{address}/positions" "Open positions (`positions`, and `orders` as an alias for older SDKs)." |core, master, id, q, now| {
        let only = q.symbol.as_deref().map(|s| market_of(core, s).map(|m| m.id())).transpose()?;
        let v: Vec<Value> = core.perps.positions(id).iter().filter(|p| only.is_none_or(|m| m == p.market)).map(|p| position(core, p)).collect();
        Ok(json!({"blockTime": core.last_ts, "blockHeight": core.seq, "positions": v, "orders": v}))
    };
    perps_position_history "/api/v1/perps/accounts/{address}/positions/history" "Closed positions (`active: false`), newest first." |core, master, id, q, now| {
        let only = q.symbol.as_deref().map(|s| market_of(core, s).map(|m| m.id())).transpose()?;
        let mut v: Vec<&PositionView> = Vec::new();
        let hist = core.perps.position_history(id);
        v.extend(hist.iter().filter(|p| only.is_none_or(|m| m == p.market) && q.within(p.updated_at)));
        v.sort_by_key(|p| std::cmp::Reverse((p.updated_at, p.id)));
        Ok(Value::Array(v.into_iter().take(q.limit(100)).map(|p| position(core, p)).collect()))
    };
    perps_fundings "/api/v1/perps/accounts/{address}/fundings" "Funding payments (`fundingFee` > 0: paid), newest first." |core, master, id, q, now| {
        let only = q.symbol.as_deref().map(|s| market_of(core, s).map(|m| m.id())).transpose()?;
        let (coin, dec) = quote_of(core);
        let mut rows = core.perps.fundings(id);
        rows.retain(|r| only.is_none_or(|m| m == r.market) && q.within(r.ts));
        rows.reverse();
        Ok(Value::Array(rows.into_iter().take(q.limit(100)).filter_map(|r| {
            let m = core.catalog.perp(u64::from(r.market))?;
            Some(json!({"symbol": m.config.market.name, "positionID": r.position_id, "positionSide": "BOTH",
                "size": if r.size < 0 { format!("-{}", lots(m, r.size)) } else { lots(m, r.size) },
                "fundingFee": fmt_money(dec, r.fee), "fundingRate": ppb(r.rate_ppb), "feeCoin": coin, "timestamp": r.ts}))
        }).collect()))
    };
    perps_fee_rate "/api/v1/perps/accounts/{address}/fee-rate" "The account's perps fee rates (of `symbol`, default the first market)." |core, master, id, q, now| {
        let m = match q.symbol.as_deref() { Some(s) => market_of(core, s)?, None => core.catalog.perps.first().ok_or_else(|| ExchangeError::not_found("no perps market is listed"))? };
        let ppm = |v: u32| sova_engine::format_decimal(u64::from(v), 6);
        Ok(json!({"accountID": id, "symbol": m.config.market.name, "symbolID": m.id(), "feeTier": 0, "makerFeeRate": ppm(m.config.market.maker_fee_ppm),
            "takerFeeRate": ppm(m.config.market.taker_fee_ppm), "makerRebateTier": 0, "stakingTier": 0}))
    };
    perps_api_keys "/api/v1/perps/accounts/{address}/api-keys" "The master's live API keys (the same keys as spot's)." |core, master, id, q, now| {
        Ok(serde_json::to_value(read::api_keys(core, &master, now, None)).unwrap_or(Value::Null))
    };
}

/// Body of the sandbox price pins.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PinBody {
    /// `BTC-USD` or the id.
    symbol: String,
    /// A decimal price; `null` clears the pin.
    price: Option<String>,
}

/// Body of the sandbox funding settlement.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct FundingBody {
    /// `BTC-USD` or the id; all markets when absent.
    #[serde(default)]
    symbol: Option<String>,
}

async fn pin(ctx: &Ctx, body: Result<Bytes, BytesRejection>, mark: bool) -> Response {
    let run = async {
        sandbox_only(ctx)?;
        let b: PinBody = json_body(body)?;
        let m = ctx.exchange.catalog.perp_by_name(&b.symbol).ok_or_else(|| {
            ApiError::exchange(Reason::UnknownSymbol, format!("{:?} is not a perps market", b.symbol))
        })?;
        let price = b.price.as_deref().map(|p| m.spec.parse_price(p)).transpose().map_err(|_| {
            ApiError::exchange(Reason::InvalidPrice, "price must be a positive multiple of the market's tick size")
        })?;
        let market = m.id();
        let r = if mark { PerpsRequest::PinMark { market, price } } else { PerpsRequest::PinIndex { market, price } };
        ctx.exchange.submit(Request::Perps(r)).await?;
        let now = sova_exchange::now_ms(&ctx.clock);
        let m2 = m.clone();
        Ok::<Value, ApiError>(
            ctx.exchange
                .read(move |core| {
                    let _ = now;
                    mark_price(core, &m2)
                })
                .await?,
        )
    };
    respond(ctx, run.await)
}

/// `POST /api/v1/sandbox/index-price {symbol, price|null}` (sandbox only): pin a perps market's index price.
#[utoipa::path(post, path = "/api/v1/sandbox/index-price", tag = "sandbox", request_body = PinBody,
    responses((status = 200, description = "the market's mark-price row after the pin", body = Object), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn sandbox_index_price(State(ctx): State<Ctx>, body: Result<Bytes, BytesRejection>) -> Response {
    pin(&ctx, body, false).await
}

/// `POST /api/v1/sandbox/mark-price {symbol, price|null}` (sandbox only): pin a perps market's mark price.
#[utoipa::path(post, path = "/api/v1/sandbox/mark-price", tag = "sandbox", request_body = PinBody,
    responses((status = 200, description = "the market's mark-price row after the pin", body = Object), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn sandbox_mark_price(State(ctx): State<Ctx>, body: Result<Bytes, BytesRejection>) -> Response {
    pin(&ctx, body, true).await
}

/// `POST /api/v1/sandbox/funding {symbol?}` (sandbox only): settle funding now from the premiums sampled since
/// the last settlement.
#[utoipa::path(post, path = "/api/v1/sandbox/funding", tag = "sandbox", request_body = FundingBody,
    responses((status = 200, description = "the mark-price rows after the settlement", body = Object), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn sandbox_funding(State(ctx): State<Ctx>, body: Result<Bytes, BytesRejection>) -> Response {
    let run = async {
        sandbox_only(&ctx)?;
        let b: FundingBody = match &body {
            Ok(bytes) if bytes.is_empty() => FundingBody::default(),
            _ => json_body(body)?,
        };
        let market = match b.symbol.as_deref() {
            Some(s) => Some(
                ctx.exchange
                    .catalog
                    .perp_by_name(s)
                    .ok_or_else(|| ApiError::exchange(Reason::UnknownSymbol, format!("{s:?} is not a perps market")))?
                    .id(),
            ),
            None => None,
        };
        ctx.exchange.submit(Request::Perps(PerpsRequest::SettleFunding { market })).await?;
        Ok::<Value, ApiError>(
            ctx.exchange
                .read(move |core| {
                    Value::Array(
                        core.catalog
                            .perps
                            .iter()
                            .filter(|m| market.is_none_or(|x| x == m.id()))
                            .map(|m| mark_price(core, m))
                            .collect(),
                    )
                })
                .await?,
        )
    };
    respond(&ctx, run.await)
}
