//! REST handlers of the exchange: signed writes, market and account reads, time, sandbox faucet. Each parses and
//! checks the request, asks [`sova_exchange::Exchange`], and answers its typed reply in the exchange's envelope.

use std::future::Future;
use std::pin::Pin;

use alloy_primitives::Address;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sova_auth::exchange::{Action, Domain, check_nonce_window};
use sova_exchange::{Core, Reason, Request, read, views};
use sova_proto::exchange::{
    AccountState, ApiKey, Balance, BookTicker, Coin, FeeRate, HistoricalOrder, Kline, Order, OrderBook, PublicTrade,
    RecoveredSignature, SubAccountCreated, Symbol, Ticker, UserTrade, WriteReply,
};

use super::error::{ExError, ok};
use crate::envelope::now_ms;
use crate::state::ApiContext;

type Answer<T> = Result<T, ExError>;

fn respond<T: Serialize>(a: Answer<T>) -> Response {
    match a {
        Ok(v) => ok(v),
        Err(e) => e.into_response(),
    }
}

fn now() -> u64 {
    u64::try_from(now_ms()).unwrap_or(0)
}

/// The handler of every signed write in `domain`.
#[allow(clippy::type_complexity)]
pub fn signed(
    domain: Domain,
) -> impl Fn(
    State<ApiContext>,
    Method,
    Uri,
    HeaderMap,
    Result<Bytes, BytesRejection>,
) -> Pin<Box<dyn Future<Output = Response> + Send>>
+ Clone
+ Send
+ Sync
+ 'static {
    move |State(ctx), method, uri, headers, body| {
        Box::pin(async move { respond(signed_write(domain, &ctx, &method, &uri, &headers, body).await) })
    }
}

fn body_error(e: BytesRejection) -> ExError {
    let status = e.status();
    let reason = if status == StatusCode::PAYLOAD_TOO_LARGE { Reason::BodyTooLarge } else { Reason::BadRequest };
    ExError { status, reason, message: e.body_text() }
}

async fn signed_write(
    domain: Domain,
    ctx: &ApiContext,
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
    ctx: &ApiContext,
    domain: Domain,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Request, Address), ExError> {
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
    let action = Action::for_route(domain, method.as_str(), &rel).ok_or_else(|| {
        ExError::new(
            Reason::UnsupportedAction,
            format!("{method} {path} is not a signed action of the {} domain", domain.name()),
        )
    })?;
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let sh = ex.verifier.parse_headers(h("x-api-sign"), h("x-api-key"), h("x-api-nonce"), h("x-api-chain"))?;
    check_nonce_window(sh.nonce, now())?;
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
        return Err(ExError::new(
            Reason::MasterMismatch,
            format!("the path names master wallet {master:#x} but the signature recovers to {signer:#x}"),
        ));
    }
    Ok((request, signer))
}

/// `POST|DELETE /api/v1/sandbox/recover/{spot|perps|user/{address}}/...` (sandbox only): check a signed request
/// exactly like its real route would, without consuming the nonce or acting; answers the recovered signer and the
/// payload hash. A debugging aid for client authors, and the recovery-only baseline of the benchmark.
pub async fn recover(
    State(ctx): State<ApiContext>,
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
            return Err(ExError::new(
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
    respond(run.await)
}

fn parse_address(s: &str) -> Result<Address, ExError> {
    let ok = s.len() == 42 && s.starts_with("0x") && s[2..].bytes().all(|b| b.is_ascii_hexdigit());
    ok.then(|| s.parse::<Address>().ok()).flatten().ok_or_else(|| {
        ExError::new(Reason::InvalidAddress, format!("{s:?} is not an EVM address (0x and 40 hex digits)"))
    })
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ExError> {
    q.map(|Query(t)| t).map_err(|e| ExError::new(Reason::InvalidParameter, e.body_text()))
}

/// `GET /api/v1/time`: server time in Unix ms (use it for `X-API-Nonce`).
pub async fn time() -> Response {
    ok(now_ms())
}

/// Query of the account reads.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountQuery {
    #[serde(rename = "accountID")]
    account_id: Option<u64>,
    symbol: Option<String>,
    limit: Option<usize>,
}

/// Run an account read in the sequencer: `f(core, master, account id, query)`.
async fn account_read<T: Serialize + Send + 'static>(
    ctx: &ApiContext,
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
    respond(run.await)
}

/// `GET /accounts/{address}/state`.
pub async fn state(
    State(ctx): State<ApiContext>,
    Path(address): Path<String>,
    q: Result<Query<AccountQuery>, QueryRejection>,
) -> Response {
    account_read::<AccountState>(&ctx, &address, q, |core, master, id, _| Ok(read::state(core, &master, id))).await
}

/// `GET /accounts/{address}/balances`.
pub async fn balances(
    State(ctx): State<ApiContext>,
    Path(address): Path<String>,
    q: Result<Query<AccountQuery>, QueryRejection>,
) -> Response {
    account_read::<Vec<Balance>>(&ctx, &address, q, |core, _, id, _| Ok(read::balances(core, id))).await
}

/// `GET /accounts/{address}/orders`: open orders.
pub async fn open_orders(
    State(ctx): State<ApiContext>,
    Path(address): Path<String>,
    q: Result<Query<AccountQuery>, QueryRejection>,
) -> Response {
    account_read::<Vec<Order>>(&ctx, &address, q, |core, _, id, q| {
        let market = read::market_filter(core, q.symbol.as_deref())?;
        Ok(read::open_orders(core, id, market))
    })
    .await
}

/// `GET /accounts/{address}/orders/history`: closed orders, newest first.
pub async fn order_history(
    State(ctx): State<ApiContext>,
    Path(address): Path<String>,
    q: Result<Query<AccountQuery>, QueryRejection>,
) -> Response {
    account_read::<Vec<HistoricalOrder>>(&ctx, &address, q, |core, _, id, q| {
        let market = read::market_filter(core, q.symbol.as_deref())?;
        let limit = q.limit.unwrap_or(100).min(views::HISTORY_PER_ACCOUNT);
        Ok(read::order_history(core, id, market, limit))
    })
    .await
}

/// `GET /accounts/{address}/trades`: the account's fills, newest first.
pub async fn account_trades(
    State(ctx): State<ApiContext>,
    Path(address): Path<String>,
    q: Result<Query<AccountQuery>, QueryRejection>,
) -> Response {
    account_read::<Vec<UserTrade>>(&ctx, &address, q, |core, _, id, q| {
        let market = read::market_filter(core, q.symbol.as_deref())?;
        let limit = q.limit.unwrap_or(100).min(views::HISTORY_PER_ACCOUNT);
        Ok(read::user_trades(core, id, market, limit))
    })
    .await
}

/// `GET /accounts/{address}/api-keys` and `GET /api/v1/user/{address}/api-keys`.
pub async fn api_keys(
    State(ctx): State<ApiContext>,
    Path(address): Path<String>,
    q: Result<Query<AccountQuery>, QueryRejection>,
) -> Response {
    account_read::<Vec<ApiKey>>(&ctx, &address, q, |core, master, _, _| Ok(read::api_keys(core, &master, now()))).await
}

/// `GET /accounts/{address}/fee-rate`.
pub async fn fee_rate(
    State(ctx): State<ApiContext>,
    Path(address): Path<String>,
    q: Result<Query<AccountQuery>, QueryRejection>,
) -> Response {
    account_read::<Vec<FeeRate>>(&ctx, &address, q, |core, _, id, _| Ok(read::fee_rates(core, id))).await
}

/// `GET /markets/symbols`.
pub async fn symbols(State(ctx): State<ApiContext>) -> Response {
    ok::<Vec<Symbol>>(read::symbols(&ctx.exchange.catalog))
}

/// `GET /markets/coins`.
pub async fn coins(State(ctx): State<ApiContext>) -> Response {
    ok::<Vec<Coin>>(read::coins(&ctx.exchange.catalog))
}

/// One answer per market, in id order.
async fn per_market<T: Serialize + Send + 'static>(ctx: &ApiContext, f: fn(&Core, u32, u64) -> T) -> Response {
    let ids: Vec<u32> = ctx.exchange.catalog.markets.iter().map(|m| m.config.id).collect();
    let now = now();
    let answer = ctx.exchange.read(move |core| ids.iter().map(|id| f(core, *id, now)).collect::<Vec<T>>()).await;
    respond(answer.map_err(ExError::from))
}

/// `GET /markets/tickers` (also `miniTickers`).
pub async fn tickers(State(ctx): State<ApiContext>) -> Response {
    per_market::<Option<Ticker>>(&ctx, read::ticker).await
}

/// `GET /markets/bookTickers`.
pub async fn book_tickers(State(ctx): State<ApiContext>) -> Response {
    per_market::<Option<BookTicker>>(&ctx, |core, id, _| read::book_ticker(core, id)).await
}

/// Query of the market reads.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketQuery {
    limit: Option<usize>,
    interval: Option<String>,
    #[serde(rename = "startTime")]
    start_time: Option<u64>,
    #[serde(rename = "endTime")]
    end_time: Option<u64>,
}

fn market_id(ctx: &ApiContext, symbol: &str) -> Result<u32, ExError> {
    Ok(read::market_id(&ctx.exchange.catalog, symbol)?)
}

/// `GET /markets/{symbol}/orderbook?limit=`.
pub async fn orderbook(
    State(ctx): State<ApiContext>,
    Path(symbol): Path<String>,
    q: Result<Query<MarketQuery>, QueryRejection>,
) -> Response {
    let run = async {
        let q = query(q)?;
        let id = market_id(&ctx, &symbol)?;
        let limit = q.limit.unwrap_or(20).clamp(1, 500);
        Ok::<Option<OrderBook>, ExError>(ctx.exchange.read(move |core| read::book(core, id, limit)).await?)
    };
    respond(run.await)
}

/// `GET /markets/{symbol}/trades?limit=`: newest first.
pub async fn trades(
    State(ctx): State<ApiContext>,
    Path(symbol): Path<String>,
    q: Result<Query<MarketQuery>, QueryRejection>,
) -> Response {
    let run = async {
        let q = query(q)?;
        let id = market_id(&ctx, &symbol)?;
        let limit = q.limit.unwrap_or(100).clamp(1, 1000);
        Ok::<Option<Vec<PublicTrade>>, ExError>(ctx.exchange.read(move |core| read::trades(core, id, limit)).await?)
    };
    respond(run.await)
}

/// `GET /markets/{symbol}/klines?interval=1m&startTime=&endTime=&limit=`.
pub async fn klines(
    State(ctx): State<ApiContext>,
    Path(symbol): Path<String>,
    q: Result<Query<MarketQuery>, QueryRejection>,
) -> Response {
    let run = async {
        let q = query(q)?;
        let id = market_id(&ctx, &symbol)?;
        let interval = q.interval.as_deref().unwrap_or("1m");
        let ms = views::interval_ms(interval).ok_or_else(|| {
            ExError::new(
                Reason::InvalidParameter,
                format!("interval {interval:?}: use 1m 3m 5m 15m 30m 1h 2h 4h 12h 1d 1w"),
            )
        })?;
        let end = q.end_time.unwrap_or_else(now);
        let start = q.start_time.unwrap_or(0);
        let limit = q.limit.unwrap_or(500).clamp(1, 1500);
        Ok::<Option<Vec<Kline>>, ExError>(
            ctx.exchange.read(move |core| read::klines(core, id, ms, start, end, limit)).await?,
        )
    };
    respond(run.await)
}

/// Body of `POST /api/v1/sandbox/faucet`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaucetBody {
    address: String,
    coin: String,
    amount: String,
    #[serde(rename = "accountID", default)]
    account_id: Option<u64>,
}

/// Body of `POST /api/v1/sandbox/sub-accounts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubAccountBody {
    address: String,
    #[serde(default)]
    label: Option<String>,
}

fn sandbox_only(ctx: &ApiContext) -> Result<(), ExError> {
    if ctx.sandbox { Ok(()) } else { Err(ExError::new(Reason::SandboxOnly, "the faucet exists only in sandbox mode")) }
}

fn json_body<T: serde::de::DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ExError> {
    let body = body.map_err(body_error)?;
    let de = &mut serde_json::Deserializer::from_slice(&body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." { String::new() } else { format!(" at {path}") };
        ExError::new(Reason::InvalidJson, format!("request body{at}: {}", e.inner()))
    })
}

async fn master_account(ctx: &ApiContext, address: &str) -> Result<(Address, sova_store::ExAccount), ExError> {
    let addr = parse_address(address)?;
    let (account, _) = ctx
        .store
        .ex_master_account(&format!("{addr:#x}"), now_ms())
        .await
        .map_err(|e| ExError::new(Reason::EngineUnavailable, format!("storing the account failed: {e}")))?;
    Ok((addr, account))
}

/// `POST /api/v1/sandbox/faucet` `{"address","coin","amount"[,"accountID"]}`: credit coins, creating the master
/// account on first use; answers `data.accountID`.
pub async fn faucet(State(ctx): State<ApiContext>, body: Result<Bytes, BytesRejection>) -> Response {
    let run = async {
        sandbox_only(&ctx)?;
        let b: FaucetBody = json_body(body)?;
        let coin = ctx.exchange.catalog.coin_by_symbol(&b.coin).cloned().ok_or_else(|| {
            ExError::new(
                Reason::UnknownCoinSymbol,
                format!("coin {:?} is not listed (GET /api/v1/spot/markets/coins)", b.coin),
            )
        })?;
        let amount = sova_engine::parse_decimal(&b.amount, coin.decimals).filter(|a| *a > 0).ok_or_else(|| {
            ExError::new(
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
        Ok::<Option<WriteReply>, ExError>(
            ctx.exchange.submit(Request::Faucet { account, coin: coin.id, amount }).await?,
        )
    };
    respond(run.await)
}

/// `POST /api/v1/sandbox/sub-accounts` `{"address"[,"label"]}`: a new sub-account of the master.
pub async fn sub_account(State(ctx): State<ApiContext>, body: Result<Bytes, BytesRejection>) -> Response {
    let run = async {
        sandbox_only(&ctx)?;
        let b: SubAccountBody = json_body(body)?;
        let (_, master) = master_account(&ctx, &b.address).await?;
        ctx.exchange.submit(Request::Account(master.clone())).await?;
        let sub = ctx
            .store
            .ex_create_sub_account(master.account_id, b.label.as_deref(), now_ms())
            .await
            .map_err(|e| ExError::new(Reason::EngineUnavailable, format!("storing the sub-account failed: {e}")))?;
        ctx.exchange.submit(Request::Account(sub.clone())).await?;
        Ok(SubAccountCreated { account_id: sub.account_id, label: sub.label, master_account_id: master.account_id })
    };
    respond(run.await)
}
