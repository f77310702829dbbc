//! REST handlers of the exchange: signed writes, market and account reads, time, sandbox faucet. Each parses and
//! checks the request, asks [`sova_exchange::Exchange`], and answers its typed reply in the exchange's envelope.

use alloy_primitives::Address;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use sova_auth::exchange::{Action, Domain, check_nonce_window};
use sova_exchange::{Core, Reason, Request, read, views};
use sova_proto::exchange::{
    AccountState, AccountTwaps, ApiKey, ApiKeyRevoked, ApiKeysByEngine, Balances, BatchItem, BookTicker, Coin,
    Envelope, ErrorEnvelope, FaucetAck, FeeRate, Kline, OpenOrders, Order, OrderAck, OrderBook, OrderReceipt,
    PublicTrade, RecoveredSignature, ScheduleCancelAck, SubAccountCreated, Symbol, Ticker, TransferAck, TwapReceipt,
    UserStatus, UserSubaccounts, UserTrade, WriteReply,
};
use utoipa::IntoParams;

use super::Ctx;
use sova_http::ApiError;
use sova_http::envelope::{exchange_error, exchange_ok};

pub(super) type Answer<T> = Result<T, ApiError>;

/// The answer in the exchange's envelope, stamped with the server's clock.
pub(super) fn respond<T: Serialize>(ctx: &Ctx, a: Answer<T>) -> Response {
    match a {
        Ok(v) => exchange_ok(&ctx.clock, v),
        Err(e) => exchange_error(&ctx.clock, &e),
    }
}

fn body_error(e: BytesRejection) -> ApiError {
    let status = e.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::exchange(Reason::BodyTooLarge, e.body_text());
    }
    // A body that stopped arriving keeps its 408; other read failures are 400.
    let read = sova_http::error::body_read_error(&e);
    ApiError { status: read.status, ..ApiError::exchange(Reason::BadRequest, read.message) }
}

async fn signed_write(
    domain: Domain,
    ctx: &Ctx,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer<Option<WriteReply>> {
    let body = body.map_err(body_error)?;
    let (request, _) = verify(ctx, domain, method, uri.path(), headers, &body)?;
    Ok(ctx.exchange.submit(request).await?)
}

/// Everything about a signed request that needs no state: route, headers, nonce window, canonical body,
/// signature recovery, and (universal domain) the path's master against the signer.
fn verify(
    ctx: &Ctx,
    domain: Domain,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Request, Address), ApiError> {
    let ex = &ctx.exchange;
    let (rel, path_master) = match domain {
        Domain::Spot => (path.strip_prefix("/api/v1/spot").unwrap_or(path).to_string(), None),
        Domain::Futures => (path.strip_prefix("/api/v1/perps").unwrap_or(path).to_string(), None),
        Domain::Universal => {
            let rest = path.strip_prefix("/api/v1/user/").unwrap_or(path);
            let (addr, tail) = rest.split_once('/').unwrap_or((rest, ""));
            (format!("/{tail}"), Some(parse_address(addr)?))
        }
    };
    // `addAPIKey` is also posted on the engines' paths (the vendor's TypeScript SDK), signed in the universal
    // domain all the same.
    let engine_add_key = domain != Domain::Universal && method == Method::POST && rel == "/accounts/api-keys";
    let action = engine_add_key.then_some(Action::AddApiKey);
    let action = action.or_else(|| Action::for_route(domain, method.as_str(), &rel)).ok_or_else(|| {
        ApiError::exchange(
            Reason::UnsupportedAction,
            format!("{method} {path} is not a signed action of the {} domain", domain.name()),
        )
    })?;
    // A header that is present but not visible ASCII is refused as malformed (not taken for absent).
    let h = |n: &str, reason: Reason| match headers.get(n) {
        None => Ok(None),
        Some(v) => v.to_str().map(Some).map_err(|_| {
            ApiError::exchange(reason, format!("the {n} header must be visible ASCII (it has other bytes)"))
        }),
    };
    let sh = ex.verifier.parse_headers(
        h("x-api-sign", Reason::MalformedSignature)?,
        h("x-api-key", Reason::InvalidApiKeyName)?,
        h("x-api-nonce", Reason::MalformedNonce)?,
        h("x-api-chain", Reason::MalformedChain)?,
    )?;
    check_nonce_window(sh.nonce, sova_exchange::now_ms(&ctx.clock))?;
    let (request, signer) = if action == Action::AddApiKey {
        let v = ex.verifier.verify_add_api_key(body, &sh)?;
        let s = v.signer;
        (Request::AddKey(Box::new(v)), s)
    } else {
        let v = ex.verifier.verify_action(domain, action, body, &sh)?;
        let s = v.signer;
        (Request::Action(Box::new(v)), s)
    };
    if let Some(master) = path_master
        && master != signer
    {
        return Err(ApiError::exchange(
            Reason::MasterMismatch,
            format!("the path names master wallet {master:#x} but the signature recovers to {signer:#x}"),
        ));
    }
    Ok((request, signer))
}

/// `POST|DELETE /api/v1/sandbox/recover/{spot|perps|user/{address}}/...` (sandbox only): check a signed request
/// exactly like its real route would, without consuming the nonce or acting; answers the recovered signer and the
/// payload hash. A debugging aid for client authors, and the recovery-only baseline of the benchmark.
#[utoipa::path(post, path = "/api/v1/sandbox/recover/{*route}", tag = "sandbox", params(("route" = String, Path, description = "`spot/...`, `perps/...` or `user/{address}/...`: the real route after `/api/v1/`"), SignatureHeaders),
    request_body(content = Object, description = "the body the real route takes"),
    responses((status = 200, body = Envelope<RecoveredSignature>), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn recover(
    State(ctx): State<Ctx>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let run = async {
        sandbox_only(&ctx)?;
        let body = body.map_err(body_error)?;
        let rest = uri.path().strip_prefix("/api/v1/sandbox/recover").unwrap_or_default();
        let domain = if rest.starts_with("/spot/") {
            Domain::Spot
        } else if rest.starts_with("/perps/") {
            Domain::Futures
        } else if rest.starts_with("/user/") {
            Domain::Universal
        } else {
            return Err(ApiError::exchange(
                Reason::UnsupportedAction,
                "recover/ must be followed by spot/, perps/ or user/{address}/",
            ));
        };
        let real = format!("/api/v1{rest}");
        let (request, signer) = verify(&ctx, domain, &method, &real, &headers, &body)?;
        let (action, payload_hash, nonce) = match &request {
            Request::Action(a) => (a.action.name(), Some(format!("{:#x}", a.payload_hash)), a.nonce),
            Request::AddKey(a) => ("addAPIKey", None, a.nonce),
            _ => ("", None, 0),
        };
        Ok(RecoveredSignature {
            action: action.to_string(),
            domain: domain.name().to_string(),
            nonce,
            payload_hash,
            signer: format!("{signer:#x}"),
        })
    };
    respond(&ctx, run.await)
}

pub(super) fn parse_address(s: &str) -> Result<Address, ApiError> {
    let ok = s.len() == 42 && s.starts_with("0x") && s[2..].bytes().all(|b| b.is_ascii_hexdigit());
    ok.then(|| s.parse::<Address>().ok()).flatten().ok_or_else(|| {
        ApiError::exchange(Reason::InvalidAddress, format!("{s:?} is not an EVM address (0x and 40 hex digits)"))
    })
}

pub(super) fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(t)| t).map_err(|e| ApiError::exchange(Reason::InvalidParameter, e.body_text()))
}

/// `GET /api/v1/time`: server time in Unix ms (use it for `X-API-Nonce`).
#[utoipa::path(get, path = "/api/v1/time", tag = "market data",
    responses((status = 200, body = Envelope<i64>), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn time(State(ctx): State<Ctx>) -> Response {
    exchange_ok(&ctx.clock, ctx.clock.now_ms())
}

/// Query of the account reads: every parameter the vendor SDKs send is accepted and applied where it means
/// something for the read.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AccountQuery {
    /// A sub-account of the address (the master account by default).
    #[serde(rename = "accountID")]
    pub(super) account_id: Option<u64>,
    /// Only this market (orders, history, trades; the fee rate of this market).
    pub(super) symbol: Option<String>,
    /// At most this many, newest first (open orders, history, trades; default 100, at most 1000).
    pub(super) limit: Option<usize>,
    /// Only from this time (Unix ms; history by close time, trades).
    #[serde(rename = "startTime")]
    pub(super) start_time: Option<u64>,
    /// Only up to this time (Unix ms, inclusive; history by close time, trades).
    #[serde(rename = "endTime")]
    pub(super) end_time: Option<u64>,
    /// Only the fills of this order (trades).
    #[serde(rename = "orderID")]
    order_id: Option<u64>,
    /// Only the key of this name (api-keys).
    pub(super) name: Option<String>,
    /// `spot` or `perps` (fee rate under `/api/v1/user`; both engines share the rates).
    market: Option<String>,
}

impl AccountQuery {
    fn window(&self) -> read::Window {
        read::Window { from: self.start_time, to: self.end_time }
    }

    pub(super) fn limit(&self) -> usize {
        self.limit.unwrap_or(100).clamp(1, views::HISTORY_PER_ACCOUNT)
    }
}

/// Run an account read in the sequencer: `f(core, master, account id, query)`.
pub(super) async fn account_read<T: Serialize + Send + 'static>(
    ctx: &Ctx,
    address: &str,
    q: Result<Query<AccountQuery>, QueryRejection>,
    f: impl FnOnce(&Core, Address, u64, &AccountQuery) -> Result<T, sova_exchange::ExchangeError> + Send + 'static,
) -> Response {
    let run = async {
        let address = parse_address(address)?;
        let q = query(q)?;
        let answer = ctx
            .exchange
            .read(move |core| {
                let id = read::resolve(core, &address, q.account_id)?;
                f(core, address, id, &q)
            })
            .await?;
        Ok(answer?)
    };
    respond(ctx, run.await)
}

/// `GET /accounts/{address}/state`.
#[utoipa::path(get, path = "/api/v1/spot/accounts/{address}/state", tag = "accounts", params(("address" = String, Path, description = "the master wallet (0x and 40 hex digits)"), AccountQuery),
    responses((status = 200, body = Envelope<AccountState>), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn state(
    State(ctx): State<Ctx>,
    Path(address): Path<String>,
    q: Result<Query<AccountQuery>, QueryRejection>,
) -> Response {
    account_read::<AccountState>(&ctx, &address, q, |core, master, id, _| Ok(read::state(core, &master, id))).await
}

/// `GET /accounts/{address}/balances`.
#[utoipa::path(get, path = "/api/v1/spot/accounts/{address}/balances", tag = "accounts", params(("address" = String, Path, description = "the master wallet (0x and 40 hex digits)"), AccountQuery),
    responses((status = 200, body = Envelope<Balances>), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn balances(
    State(ctx): State<Ctx>,
    Path(address): Path<String>,
    q: Result<Query<AccountQuery>, QueryRejection>,
) -> Response {
    account_read::<Balances>(&ctx, &address, q, |core, _, id, _| Ok(read::wrapped_balances(core, id))).await
}

/// `GET /accounts/{address}/orders`: open orders.
#[utoipa::path(get, path = "/api/v1/spot/accounts/{address}/orders", tag = "accounts", params(("address" = String, Path, description = "the master wallet (0x and 40 hex digits)"), AccountQuery),
    responses((status = 200, body = Envelope<OpenOrders>), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn open_orders(
    State(ctx): State<Ctx>,
    Path(address): Path<String>,
    q: Result<Query<AccountQuery>, QueryRejection>,
) -> Response {
    account_read::<OpenOrders>(&ctx, &address, q, |core, _, id, q| {
        let market = read::market_filter(core, q.symbol.as_deref())?;
        let limit = q.limit.unwrap_or(usize::MAX);
        Ok(read::wrapped_open_orders(core, id, market, limit))
    })
    .await
}

/// `GET /accounts/{address}/orders/history`: closed orders, newest first.
#[utoipa::path(get, path = "/api/v1/spot/accounts/{address}/orders/history", tag = "accounts", params(("address" = String, Path, description = "the master wallet (0x and 40 hex digits)"), AccountQuery),
    responses((status = 200, body = Envelope<Vec<Order>>), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn order_history(
    State(ctx): State<Ctx>,
    Path(address): Path<String>,
    q: Result<Query<AccountQuery>, QueryRejection>,
) -> Response {
    account_read::<Vec<Order>>(&ctx, &address, q, |core, _, id, q| {
        let market = read::market_filter(core, q.symbol.as_deref())?;
        Ok(read::order_history(core, id, market, q.window(), q.limit()))
    })
    .await
}

/// `GET /accounts/{address}/trades`: the account's fills, newest first.
#[utoipa::path(get, path = "/api/v1/spot/accounts/{address}/trades", tag = "accounts", params(("address" = String, Path, description = "the master wallet (0x and 40 hex digits)"), AccountQuery),
    responses((status = 200, body = Envelope<Vec<UserTrade>>), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn account_trades(
    State(ctx): State<Ctx>,
    Path(address): Path<String>,
    q: Result<Query<AccountQuery>, QueryRejection>,
) -> Response {
    account_read::<Vec<UserTrade>>(&ctx, &address, q, |core, _, id, q| {
        let market = read::market_filter(core, q.symbol.as_deref())?;
        Ok(read::user_trades(core, id, market, q.order_id, q.window(), q.limit()))
    })
    .await
}

/// `GET /accounts/{address}/api-keys` and `GET /api/v1/user/{address}/api-keys`.
#[utoipa::path(get, path = "/api/v1/spot/accounts/{address}/api-keys", tag = "accounts", params(("address" = String, Path, description = "the master wallet (0x and 40 hex digits)"), AccountQuery),
    responses((status = 200, body = Envelope<Vec<ApiKey>>), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn api_keys(
    State(ctx): State<Ctx>,
    Path(address): Path<String>,
    q: Result<Query<AccountQuery>, QueryRejection>,
) -> Response {
    let now = sova_exchange::now_ms(&ctx.clock);
    account_read::<Vec<ApiKey>>(&ctx, &address, q, move |core, master, _, q| {
        Ok(read::api_keys(core, &master, now, q.name.as_deref()))
    })
    .await
}

/// `GET /accounts/{address}/twaps`: the account's TWAP orders (running first, then the last ended ones).
#[utoipa::path(get, path = "/api/v1/spot/accounts/{address}/twaps", tag = "accounts", params(("address" = String, Path, description = "the master wallet (0x and 40 hex digits)"), AccountQuery),
    responses((status = 200, body = Envelope<AccountTwaps>), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn twaps(
    State(ctx): State<Ctx>,
    Path(address): Path<String>,
    q: Result<Query<AccountQuery>, QueryRejection>,
) -> Response {
    account_read::<AccountTwaps>(&ctx, &address, q, |core, _, id, q| {
        let market = read::market_filter(core, q.symbol.as_deref())?;
        Ok(read::twaps(core, id, market))
    })
    .await
}

/// `GET /accounts/{address}/fee-rate`.
#[utoipa::path(get, path = "/api/v1/spot/accounts/{address}/fee-rate", tag = "accounts", params(("address" = String, Path, description = "the master wallet (0x and 40 hex digits)"), AccountQuery),
    responses((status = 200, body = Envelope<FeeRate>), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn fee_rate(
    State(ctx): State<Ctx>,
    Path(address): Path<String>,
    q: Result<Query<AccountQuery>, QueryRejection>,
) -> Response {
    account_read::<FeeRate>(&ctx, &address, q, |core, _, id, q| {
        let market = read::market_filter(core, q.symbol.as_deref())?;
        read::fee_rate_of(core, id, market)
            .ok_or_else(|| sova_exchange::ExchangeError::not_found("no market is listed".to_string()))
    })
    .await
}

/// `GET /api/v1/user/{address}/fee-rate?market=spot|perps&symbol=`: the account's fee rates (the Python SDK's
/// `get_fee_rate`).
#[utoipa::path(get, path = "/api/v1/user/{address}/fee-rate", tag = "accounts", params(("address" = String, Path, description = "the master wallet (0x and 40 hex digits)"), AccountQuery),
    responses((status = 200, body = Envelope<FeeRate>), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn user_fee_rate(
    ctx: State<Ctx>,
    address: Path<String>,
    q: Result<Query<AccountQuery>, QueryRejection>,
) -> Response {
    if let Ok(Query(AccountQuery { market: Some(m), .. })) = &q
        && m != "spot"
        && m != "perps"
    {
        let e = ApiError::exchange(Reason::InvalidParameter, format!("market {m:?}: use spot or perps"));
        return exchange_error(&ctx.clock, &e);
    }
    fee_rate(ctx, address, q).await
}

/// `GET /api/v1/user/{address}/status`: `{status: "Active"|"UserNotFound", userID}`.
#[utoipa::path(get, path = "/api/v1/user/{address}/status", tag = "accounts", params(("address" = String, Path, description = "the master wallet (0x and 40 hex digits)")),
    responses((status = 200, body = Envelope<UserStatus>), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn user_status(State(ctx): State<Ctx>, Path(address): Path<String>) -> Response {
    let run = async {
        let master = parse_address(&address)?;
        Ok::<UserStatus, ApiError>(ctx.exchange.read(move |core| read::user_status(core, &master)).await?)
    };
    respond(&ctx, run.await)
}

/// `GET /api/v1/user/{address}/subaccounts`: `{userID, primaryAccountID, subaccounts:[{id, evmAddress}]}`.
#[utoipa::path(get, path = "/api/v1/user/{address}/subaccounts", tag = "accounts", params(("address" = String, Path, description = "the master wallet (0x and 40 hex digits)")),
    responses((status = 200, body = Envelope<UserSubaccounts>), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn user_subaccounts(State(ctx): State<Ctx>, Path(address): Path<String>) -> Response {
    let run = async {
        let master = parse_address(&address)?;
        Ok::<UserSubaccounts, ApiError>(ctx.exchange.read(move |core| read::subaccounts(core, &master)).await??)
    };
    respond(&ctx, run.await)
}

/// Query of the market lists: `symbol` (symbols, tickers) or `coin` (coins) narrows the list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only this market (its name, display name or id).
    pub(super) symbol: Option<String>,
    /// Only this coin (its symbol or id).
    pub(super) coin: Option<String>,
}

/// `GET /markets/symbols`.
#[utoipa::path(get, path = "/api/v1/spot/markets/symbols", tag = "market data", params(ListQuery),
    responses((status = 200, body = Envelope<Vec<Symbol>>), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn symbols(State(ctx): State<Ctx>, q: Result<Query<ListQuery>, QueryRejection>) -> Response {
    let run = async {
        let q = query(q)?;
        Ok::<Vec<Symbol>, ApiError>(read::symbols(&ctx.exchange.catalog, q.symbol.as_deref()))
    };
    respond(&ctx, run.await)
}

/// `GET /markets/coins`.
#[utoipa::path(get, path = "/api/v1/spot/markets/coins", tag = "market data", params(ListQuery),
    responses((status = 200, body = Envelope<Vec<Coin>>), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn coins(State(ctx): State<Ctx>, q: Result<Query<ListQuery>, QueryRejection>) -> Response {
    let run = async {
        let q = query(q)?;
        Ok::<Vec<Coin>, ApiError>(read::coins(&ctx.exchange.catalog, q.coin.as_deref()))
    };
    respond(&ctx, run.await)
}

/// One answer per market (or for the market `symbol` names), in id order.
async fn per_market<T: Serialize + Send + 'static>(
    ctx: &Ctx,
    q: Result<Query<ListQuery>, QueryRejection>,
    f: fn(&Core, u32, u64) -> Option<T>,
) -> Response {
    let run = async {
        let q = query(q)?;
        let only = q.symbol.as_deref().map(|s| market_id(ctx, s)).transpose()?;
        let ids: Vec<u32> = ctx
            .exchange
            .catalog
            .markets
            .iter()
            .map(|m| m.config.id)
            .filter(|id| only.is_none_or(|o| o == *id))
            .collect();
        let now = sova_exchange::now_ms(&ctx.clock);
        Ok::<Vec<T>, ApiError>(
            ctx.exchange.read(move |core| ids.iter().filter_map(|id| f(core, *id, now)).collect::<Vec<T>>()).await?,
        )
    };
    respond(ctx, run.await)
}

/// `GET /markets/tickers` (also `miniTickers`).
#[utoipa::path(get, path = "/api/v1/spot/markets/tickers", tag = "market data", params(ListQuery),
    responses((status = 200, body = Envelope<Vec<Ticker>>), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn tickers(State(ctx): State<Ctx>, q: Result<Query<ListQuery>, QueryRejection>) -> Response {
    per_market::<Ticker>(&ctx, q, read::ticker).await
}

/// `GET /markets/bookTickers`.
#[utoipa::path(get, path = "/api/v1/spot/markets/bookTickers", tag = "market data", params(ListQuery),
    responses((status = 200, body = Envelope<Vec<BookTicker>>), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn book_tickers(State(ctx): State<Ctx>, q: Result<Query<ListQuery>, QueryRejection>) -> Response {
    per_market::<BookTicker>(&ctx, q, |core, id, _| read::book_ticker(core, id)).await
}

/// Query of the market reads.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MarketQuery {
    /// Levels (order book, default 20), trades (default 100) or candles (default 500).
    limit: Option<usize>,
    /// Order book: the same as `limit` (the Go and Python SDKs send it).
    depth: Option<usize>,
    /// Candle interval: 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M (also 1D 3D 1W; default 1m).
    interval: Option<String>,
    /// Candles from (Unix ms).
    #[serde(rename = "startTime")]
    start_time: Option<u64>,
    /// Candles to (Unix ms, default now).
    #[serde(rename = "endTime")]
    end_time: Option<u64>,
}

fn market_id(ctx: &Ctx, symbol: &str) -> Result<u32, ApiError> {
    Ok(read::market_id(&ctx.exchange.catalog, symbol)?)
}

/// `GET /markets/{symbol}/orderbook?limit=`.
#[utoipa::path(get, path = "/api/v1/spot/markets/{symbol}/orderbook", tag = "market data", params(("symbol" = String, Path, description = "`BTC/USDC` (URL-encoded), `BTC_USDC`, `BTC-USDC` or the market id"), MarketQuery),
    responses((status = 200, body = Envelope<OrderBook>), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn orderbook(
    State(ctx): State<Ctx>,
    Path(symbol): Path<String>,
    q: Result<Query<MarketQuery>, QueryRejection>,
) -> Response {
    let run = async {
        let q = query(q)?;
        let id = market_id(&ctx, &symbol)?;
        let limit = q.limit.or(q.depth).unwrap_or(20).clamp(1, 500);
        Ok::<Option<OrderBook>, ApiError>(ctx.exchange.read(move |core| read::book(core, id, limit)).await?)
    };
    respond(&ctx, run.await)
}

/// `GET /markets/{symbol}/trades?limit=`: newest first.
#[utoipa::path(get, path = "/api/v1/spot/markets/{symbol}/trades", tag = "market data", params(("symbol" = String, Path, description = "`BTC/USDC` (URL-encoded), `BTC_USDC`, `BTC-USDC` or the market id"), MarketQuery),
    responses((status = 200, body = Envelope<Vec<PublicTrade>>), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn trades(
    State(ctx): State<Ctx>,
    Path(symbol): Path<String>,
    q: Result<Query<MarketQuery>, QueryRejection>,
) -> Response {
    let run = async {
        let q = query(q)?;
        let id = market_id(&ctx, &symbol)?;
        let limit = q.limit.unwrap_or(100).clamp(1, 1000);
        Ok::<Option<Vec<PublicTrade>>, ApiError>(ctx.exchange.read(move |core| read::trades(core, id, limit)).await?)
    };
    respond(&ctx, run.await)
}

/// `GET /markets/{symbol}/klines?interval=1m&startTime=&endTime=&limit=`.
#[utoipa::path(get, path = "/api/v1/spot/markets/{symbol}/klines", tag = "market data", params(("symbol" = String, Path, description = "`BTC/USDC` (URL-encoded), `BTC_USDC`, `BTC-USDC` or the market id"), MarketQuery),
    responses((status = 200, body = Envelope<Vec<Kline>>), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn klines(
    State(ctx): State<Ctx>,
    Path(symbol): Path<String>,
    q: Result<Query<MarketQuery>, QueryRejection>,
) -> Response {
    let run = async {
        let q = query(q)?;
        let id = market_id(&ctx, &symbol)?;
        let interval = q.interval.as_deref().unwrap_or("1m");
        let ms = views::interval_ms(interval).ok_or_else(|| {
            ApiError::exchange(
                Reason::InvalidParameter,
                format!("interval {interval:?}: use 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M"),
            )
        })?;
        let end = q.end_time.unwrap_or_else(|| sova_exchange::now_ms(&ctx.clock));
        let start = q.start_time.unwrap_or(0);
        let limit = q.limit.unwrap_or(500).clamp(1, 1500);
        Ok::<Option<Vec<Kline>>, ApiError>(
            ctx.exchange.read(move |core| read::klines(core, id, ms, start, end, limit)).await?,
        )
    };
    respond(&ctx, run.await)
}

/// Body of `POST /api/v1/sandbox/faucet`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct FaucetBody {
    address: String,
    coin: String,
    amount: String,
    #[serde(rename = "accountID", default)]
    account_id: Option<u64>,
}

/// Body of `POST /api/v1/sandbox/sub-accounts`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SubAccountBody {
    address: String,
    #[serde(default)]
    label: Option<String>,
}

pub(super) fn sandbox_only(ctx: &Ctx) -> Result<(), ApiError> {
    if ctx.sandbox {
        Ok(())
    } else {
        Err(ApiError::exchange(
            Reason::SandboxOnly,
            "this route exists only in sandbox mode (the faucet, sub-accounts, recovery and the perps price controls)",
        ))
    }
}

pub(super) fn json_body<T: serde::de::DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let body = body.map_err(body_error)?;
    let de = &mut serde_json::Deserializer::from_slice(&body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." { String::new() } else { format!(" at {path}") };
        ApiError::exchange(Reason::InvalidJson, format!("request body{at}: {}", e.inner()))
    })
}

async fn master_account(ctx: &Ctx, address: &str) -> Result<(Address, sova_store::ExAccount), ApiError> {
    let addr = parse_address(address)?;
    let (account, _) = ctx
        .store
        .ex_master_account(&format!("{addr:#x}"), ctx.clock.now_ms())
        .await
        .map_err(|e| ApiError::exchange(Reason::EngineUnavailable, format!("storing the account failed: {e}")))?;
    Ok((addr, account))
}

/// `POST /api/v1/sandbox/faucet` `{"address","coin","amount"[,"accountID"]}`: credit coins, creating the master
/// account on first use; answers `data.accountID`.
#[utoipa::path(post, path = "/api/v1/sandbox/faucet", tag = "sandbox", request_body = FaucetBody,
    responses((status = 200, body = Envelope<FaucetAck>), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn faucet(State(ctx): State<Ctx>, body: Result<Bytes, BytesRejection>) -> Response {
    let run = async {
        sandbox_only(&ctx)?;
        let b: FaucetBody = json_body(body)?;
        let coin = ctx.exchange.catalog.coin_by_symbol(&b.coin).cloned().ok_or_else(|| {
            ApiError::exchange(
                Reason::UnknownCoinSymbol,
                format!("coin {:?} is not listed (GET /api/v1/spot/markets/coins)", b.coin),
            )
        })?;
        let amount = sova_engine::parse_decimal(&b.amount, coin.decimals).filter(|a| *a > 0).ok_or_else(|| {
            ApiError::exchange(
                Reason::InvalidAmount,
                format!("amount must be a positive decimal string with at most {} decimals", coin.decimals),
            )
        })?;
        let (addr, master) = master_account(&ctx, &b.address).await?;
        let account = match b.account_id {
            None => master,
            Some(id) if u64::try_from(master.account_id).ok() == Some(id) => master,
            Some(id) => {
                let known = ctx.exchange.read(move |core| read::resolve(core, &addr, Some(id))).await??;
                sova_store::ExAccount {
                    account_id: i64::try_from(known).unwrap_or(0),
                    master_id: Some(master.account_id),
                    ..master
                }
            }
        };
        Ok::<Option<WriteReply>, ApiError>(
            ctx.exchange.submit(Request::Faucet { account, coin: coin.id, amount }).await?,
        )
    };
    respond(&ctx, run.await)
}

/// `POST /api/v1/sandbox/sub-accounts` `{"address"[,"label"]}`: a new sub-account of the master.
#[utoipa::path(post, path = "/api/v1/sandbox/sub-accounts", tag = "sandbox", request_body = SubAccountBody,
    responses((status = 200, body = Envelope<SubAccountCreated>), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn sub_account(State(ctx): State<Ctx>, body: Result<Bytes, BytesRejection>) -> Response {
    let run = async {
        sandbox_only(&ctx)?;
        let b: SubAccountBody = json_body(body)?;
        let (_, master) = master_account(&ctx, &b.address).await?;
        ctx.exchange.submit(Request::Account(master.clone())).await?;
        let sub =
            ctx.store.ex_create_sub_account(master.account_id, b.label.as_deref(), ctx.clock.now_ms()).await.map_err(
                |e| ApiError::exchange(Reason::EngineUnavailable, format!("storing the sub-account failed: {e}")),
            )?;
        ctx.exchange.submit(Request::Account(sub.clone())).await?;
        Ok(SubAccountCreated { account_id: sub.account_id, label: sub.label, master_account_id: master.account_id })
    };
    respond(&ctx, run.await)
}

/// `GET /markets/miniTickers` (the same answer as `tickers`, whose keys include the mini ticker's).
#[utoipa::path(get, path = "/api/v1/spot/markets/miniTickers", tag = "market data", params(ListQuery),
    responses((status = 200, body = Envelope<Vec<Ticker>>), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn mini_tickers(ctx: State<Ctx>, q: Result<Query<ListQuery>, QueryRejection>) -> Response {
    tickers(ctx, q).await
}

/// `DELETE /api/v1/sandbox/recover/...`: [`recover`] for the routes signed with DELETE.
#[utoipa::path(delete, path = "/api/v1/sandbox/recover/{*route}", tag = "sandbox",
    params(("route" = String, Path, description = "`spot/...`, `perps/...` or `user/{address}/...`: the real route after `/api/v1/`"), SignatureHeaders),
    request_body(content = Object, description = "the body the real route takes"),
    responses((status = 200, body = Envelope<RecoveredSignature>), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn recover_delete(
    ctx: State<Ctx>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    recover(ctx, method, uri, headers, body).await
}

/// `GET /api/v1/user/{address}/api-keys`: the master's live keys per engine (`{spot, perps}`; the same keys).
#[utoipa::path(get, path = "/api/v1/user/{address}/api-keys", tag = "api keys",
    params(("address" = String, Path, description = "the master wallet (0x and 40 hex digits)"), AccountQuery),
    responses((status = 200, body = Envelope<ApiKeysByEngine>), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn user_api_keys(
    State(ctx): State<Ctx>,
    Path(address): Path<String>,
    q: Result<Query<AccountQuery>, QueryRejection>,
) -> Response {
    let now = sova_exchange::now_ms(&ctx.clock);
    account_read::<ApiKeysByEngine>(&ctx, &address, q, move |core, master, _, q| {
        let keys = read::api_keys(core, &master, now, q.name.as_deref());
        Ok(ApiKeysByEngine { perps: keys.clone(), spot: keys })
    })
    .await
}

// ---------------------------------------------------------------------------------------------------------------
// Signed writes: one handler per route, so that the OpenAPI document lists each (they share `signed_write`)

/// The signature headers of a signed write (`spec/exchange-eip712.md`).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct SignatureHeaders {
    /// `0x` + 66 bytes: the type byte (0x01 engine domains, 0x02 universal), r, s, v (0 or 1).
    #[param(rename = "X-API-Sign")]
    sign: String,
    /// The signed nonce (Unix ms, within the window around `GET /api/v1/time`).
    #[param(rename = "X-API-Nonce")]
    nonce: u64,
    /// The API key's name; absent or `default` when the master wallet signs.
    #[param(rename = "X-API-Key")]
    key: Option<String>,
    /// The chain id (286623 mainnet, 138565 testnet); optional, must match the server's.
    #[param(rename = "X-API-Chain")]
    chain: Option<u64>,
}

async fn signed_route(
    domain: Domain,
    State(ctx): State<Ctx>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    respond(&ctx, signed_write(domain, &ctx, &method, &uri, &headers, body).await)
}

/// Handlers of signed routes: `name method "path" Domain "action" (reply type)`.
macro_rules! signed_routes {
    ($($name:ident $method:ident $path:tt $domain:ident $action:tt ($($reply:tt)+);)+) => {$(
        #[doc = concat!("`", $action, "` at `", $path, "`: a signed write.")]
        #[utoipa::path($method, path = $path, tag = "signed writes", params(SignatureHeaders),
            request_body(content = Object, description = concat!("the `", $action, "` params: canonical JSON, keys in the vendor's order")),
            responses(
                (status = 200, description = "applied and committed", body = Envelope<$($reply)+>),
                (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope),
                (status = "5XX", description = "not available, or not committed (retry)", body = ErrorEnvelope)))]
        pub async fn $name(
            ctx: State<Ctx>,
            method: Method,
            uri: Uri,
            headers: HeaderMap,
            body: Result<Bytes, BytesRejection>,
        ) -> Response {
            signed_route(Domain::$domain, ctx, method, uri, headers, body).await
        }
    )+};
}

signed_routes! {
    spot_new_order post "/api/v1/spot/trade/orders" Spot "newOrder" (OrderAck);
    spot_cancel_order delete "/api/v1/spot/trade/orders" Spot "cancelOrder" (OrderReceipt);
    spot_batch_new_order post "/api/v1/spot/trade/orders/batch" Spot "batchNewOrder" (Vec<BatchItem>);
    spot_batch_cancel_order delete "/api/v1/spot/trade/orders/batch" Spot "batchCancelOrder" (Vec<BatchItem>);
    spot_replace_order post "/api/v1/spot/trade/orders/replace" Spot "replaceOrder" (Vec<BatchItem>);
    spot_modify_order post "/api/v1/spot/trade/orders/modify" Spot "modifyOrder" (WriteReply);
    spot_schedule_cancel post "/api/v1/spot/trade/orders/schedule-cancel" Spot "scheduleCancel" (ScheduleCancelAck);
    spot_update_leverage post "/api/v1/spot/trade/leverage" Spot "updateLeverage" (WriteReply);
    spot_update_margin post "/api/v1/spot/trade/margin" Spot "updateMargin" (WriteReply);
    spot_transfer post "/api/v1/spot/accounts/transfers" Spot "transferAsset" (TransferAck);
    spot_revoke_api_key delete "/api/v1/spot/accounts/api-keys" Spot "revokeAPIKey" (ApiKeyRevoked);
    spot_add_api_key post "/api/v1/spot/accounts/api-keys" Spot "addAPIKey" (ApiKey);
    spot_new_twap post "/api/v1/spot/trade/twaps" Spot "newTwapOrder" (TwapReceipt);
    spot_cancel_twap delete "/api/v1/spot/trade/twaps" Spot "cancelTwapOrder" (TwapReceipt);
    perps_new_order post "/api/v1/perps/trade/orders" Futures "newOrder" (WriteReply);
    perps_cancel_order delete "/api/v1/perps/trade/orders" Futures "cancelOrder" (WriteReply);
    perps_batch_new_order post "/api/v1/perps/trade/orders/batch" Futures "batchNewOrder" (WriteReply);
    perps_batch_cancel_order delete "/api/v1/perps/trade/orders/batch" Futures "batchCancelOrder" (WriteReply);
    perps_replace_order post "/api/v1/perps/trade/orders/replace" Futures "replaceOrder" (WriteReply);
    perps_modify_order post "/api/v1/perps/trade/orders/modify" Futures "modifyOrder" (WriteReply);
    perps_schedule_cancel post "/api/v1/perps/trade/orders/schedule-cancel" Futures "scheduleCancel" (WriteReply);
    perps_update_leverage post "/api/v1/perps/trade/leverage" Futures "updateLeverage" (WriteReply);
    perps_update_margin post "/api/v1/perps/trade/margin" Futures "updateMargin" (WriteReply);
    perps_transfer post "/api/v1/perps/accounts/transfers" Futures "transferAsset" (WriteReply);
    perps_revoke_api_key delete "/api/v1/perps/accounts/api-keys" Futures "revokeAPIKey" (WriteReply);
    perps_add_api_key post "/api/v1/perps/accounts/api-keys" Futures "addAPIKey" (ApiKey);
    perps_new_twap post "/api/v1/perps/trade/twaps" Futures "newTwapOrder" (WriteReply);
    perps_cancel_twap delete "/api/v1/perps/trade/twaps" Futures "cancelTwapOrder" (WriteReply);
}

/// `addAPIKey`: the master registers an API key (AddAPIKey typed data, universal domain, type byte 0x02).
#[utoipa::path(post, path = "/api/v1/user/{address}/api-keys", tag = "api keys",
    params(("address" = String, Path, description = "the master wallet; must be the signer"), SignatureHeaders),
    request_body(content = Object, description = "the `addAPIKey` params: `accountID, name, type, publicKey, expiresAt`"),
    responses((status = 200, body = Envelope<ApiKey>), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn user_add_api_key(
    ctx: State<Ctx>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    signed_route(Domain::Universal, ctx, method, uri, headers, body).await
}

/// `revokeAPIKey` in the universal domain.
#[utoipa::path(delete, path = "/api/v1/user/{address}/api-keys", tag = "api keys",
    params(("address" = String, Path, description = "the master wallet; must be the signer"), SignatureHeaders),
    request_body(content = Object, description = "the `revokeAPIKey` params: `accountID, name`"),
    responses((status = 200, body = Envelope<ApiKeyRevoked>), (status = "4XX", description = "refused (`reason` says why)", body = ErrorEnvelope)))]
pub async fn user_revoke_api_key(
    ctx: State<Ctx>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    signed_route(Domain::Universal, ctx, method, uri, headers, body).await
}
