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
use sova_exchange::read::perps::*;
use sova_exchange::{Core, ExchangeError, Reason, Request, read};
use sova_http::ApiError;
use sova_perps::PositionView;
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

fn q_of(q: Result<Query<PerpsQuery>, QueryRejection>) -> Result<PerpsQuery, ApiError> {
    query(q)
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
        let interval = q.interval.clone().unwrap_or_else(|| "1m".into());
        let ms = sova_exchange::views::interval_ms(&interval).ok_or_else(|| ExchangeError::new(Reason::InvalidParameter, format!("interval {interval:?}: use 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M")))?;
        let out = candles(core, m, ms, |ts| q.within(ts));
        let skip = out.len().saturating_sub(q.limit(500));
        Ok(Value::Array(out.iter().skip(skip).map(|c| candle(m, c, &interval, ms, now)).collect()))
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
        let fills = account_fills(core, markets_of(core, q.symbol.as_deref())?, id);
        Ok(Value::Array(fills.iter().filter(|t| q.within(t.ts)).filter_map(|t| user_trade(core, t, id)).take(q.limit(100)).collect()))
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
