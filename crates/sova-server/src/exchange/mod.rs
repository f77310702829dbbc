//! The exchange surface over HTTP (seed 002, `spec/exchange-eip712.md`, `spec/perps.md`): `/api/v1/spot`,
//! `/api/v1/perps`, `/api/v1/user/{master}/api-keys`, `/api/v1/time`, the sandbox faucet and price controls,
//! `/ws/spot` and `/ws/perps`. The exchange itself (sequencer, engine state, read models, replay) is the
//! `sova-exchange` crate.
//!
//! A signed write is verified on the worker thread that received it (headers, nonce window, canonical body,
//! secp256k1 recovery), then handed to [`sova_exchange::Exchange::submit`], which authorizes the signer, consumes
//! the nonce, applies the action to the engine and commits all of it in one transaction before answering.

pub mod feeds;
pub mod forward;
pub mod perps;
pub mod rest;
pub mod ws;

use std::sync::Arc;

use axum::Router;
use utoipa::openapi::{InfoBuilder, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use sova_exchange::Reason;
pub use sova_exchange::{Catalog, Exchange, ExchangeConfig};

/// What the exchange handlers reach.
pub struct ExchangeState {
    /// The sequencer and its read side.
    pub exchange: Arc<Exchange>,
    /// Persistence (accounts of the sandbox routes).
    pub store: Arc<dyn sova_store::Store>,
    /// The server's limiter (the per-IP budget is keyed `ip:<address>`).
    pub access: Arc<sova_http::access::Access>,
    /// Requests per minute per IP (0: unlimited).
    pub rate_limit_per_minute: u64,
    /// Sandbox mode (faucet, sub-accounts, recovery).
    pub sandbox: bool,
    /// The time that decides nonce windows.
    pub clock: sova_runtime::Clock,
    /// Forwards a follower's writes to the leader.
    pub forwarder: forward::Forwarder,
}

/// The state type of the exchange routes.
pub type Ctx = Arc<ExchangeState>;

/// Is `path` on the exchange surface (answered in its envelope)?
pub fn owns(path: &str) -> bool {
    [
        "/api/v1/spot",
        "/api/v1/perps",
        "/api/v1/user/",
        "/api/v1/sandbox/",
        "/api/v1/time",
        "/api/v1/openapi.json",
        "/ws/",
    ]
    .iter()
    .any(|p| path.starts_with(p))
}

/// Per-IP request budget of the exchange's REST routes (`--rate-limit` per minute, the vendor's 1200 by default;
/// 0 = unlimited): 429 `RATE_LIMITED` with `Retry-After` past it.
pub async fn ip_limit(
    axum::extract::State(ctx): axum::extract::State<Ctx>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::extract::ConnectInfo;
    let ip = req.extensions().get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip().to_string());
    // A write a follower forwarded was counted there, against the client's address.
    let forwarded = ctx.forwarder.is_forwarded(req.headers());
    let Some(ip) = ip.filter(|_| ctx.rate_limit_per_minute > 0 && !forwarded) else { return next.run(req).await };
    match ctx.access.limiter.check(&format!("ip:{ip}")).await {
        Ok(info) => {
            let mut resp = next.run(req).await;
            info.apply(resp.headers_mut());
            resp
        }
        Err(sova_http::ratelimit::Limited { info }) => {
            let mut e = sova_http::ApiError::exchange(
                Reason::RateLimited,
                format!(
                    "more than {} requests in a minute from this address; retry after {} s",
                    info.limit, info.reset
                ),
            );
            e.retry_after = Some(info.reset);
            let mut resp = sova_http::envelope::exchange_error(&ctx.clock, &e);
            info.apply(resp.headers_mut());
            resp
        }
    }
}

/// Every exchange route (absolute paths), behind the per-IP limit, and the exchange's OpenAPI document at
/// `GET /api/v1/openapi.json`.
pub fn router<S>(ctx: Ctx) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Ctx: axum::extract::FromRef<S>,
{
    let errors = axum::middleware::from_fn_with_state(ctx.clock.clone(), sova_http::envelope::exchange_errors);
    let (router, _) = routes()
        .route_layer(errors)
        .route_layer(axum::middleware::from_fn_with_state(ctx.clone(), forward::forward_writes))
        .route_layer(axum::middleware::from_fn_with_state(ctx, ip_limit))
        .split_for_parts();
    router
}

/// `GET /api/v1/openapi.json`: this document (built once).
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "the exchange's OpenAPI 3.1 document (the same as `sova openapi --surface exchange`)", content_type = "application/json", body = Object)))]
pub async fn openapi_json() -> axum::Json<serde_json::Value> {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    axum::Json(DOC.get_or_init(|| serde_json::to_value(openapi()).unwrap_or_default()).clone())
}

/// Every route the exchange serves, `(method, path as the OpenAPI document writes it)`, kept beside [`routes`]:
/// `exchange::openapi_describes_every_route` checks that the server serves each (and no other method on its
/// path) and that the document describes exactly these, each with its answer and its errors.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/v1/spot/trade/orders"),
    ("DELETE", "/api/v1/spot/trade/orders"),
    ("POST", "/api/v1/spot/trade/orders/batch"),
    ("DELETE", "/api/v1/spot/trade/orders/batch"),
    ("POST", "/api/v1/spot/trade/orders/replace"),
    ("POST", "/api/v1/spot/trade/orders/modify"),
    ("POST", "/api/v1/spot/trade/orders/schedule-cancel"),
    ("POST", "/api/v1/spot/trade/leverage"),
    ("POST", "/api/v1/spot/trade/margin"),
    ("POST", "/api/v1/spot/trade/twaps"),
    ("DELETE", "/api/v1/spot/trade/twaps"),
    ("POST", "/api/v1/spot/accounts/transfers"),
    ("POST", "/api/v1/spot/accounts/api-keys"),
    ("DELETE", "/api/v1/spot/accounts/api-keys"),
    ("POST", "/api/v1/perps/trade/orders"),
    ("DELETE", "/api/v1/perps/trade/orders"),
    ("POST", "/api/v1/perps/trade/orders/batch"),
    ("DELETE", "/api/v1/perps/trade/orders/batch"),
    ("POST", "/api/v1/perps/trade/orders/replace"),
    ("POST", "/api/v1/perps/trade/orders/modify"),
    ("POST", "/api/v1/perps/trade/orders/schedule-cancel"),
    ("POST", "/api/v1/perps/trade/leverage"),
    ("POST", "/api/v1/perps/trade/margin"),
    ("POST", "/api/v1/perps/trade/twaps"),
    ("DELETE", "/api/v1/perps/trade/twaps"),
    ("POST", "/api/v1/perps/accounts/transfers"),
    ("POST", "/api/v1/perps/accounts/api-keys"),
    ("DELETE", "/api/v1/perps/accounts/api-keys"),
    ("GET", "/api/v1/spot/markets/symbols"),
    ("GET", "/api/v1/spot/markets/coins"),
    ("GET", "/api/v1/spot/markets/tickers"),
    ("GET", "/api/v1/spot/markets/miniTickers"),
    ("GET", "/api/v1/spot/markets/bookTickers"),
    ("GET", "/api/v1/spot/markets/{symbol}/orderbook"),
    ("GET", "/api/v1/spot/markets/{symbol}/trades"),
    ("GET", "/api/v1/spot/markets/{symbol}/klines"),
    ("GET", "/api/v1/spot/accounts/{address}/state"),
    ("GET", "/api/v1/spot/accounts/{address}/balances"),
    ("GET", "/api/v1/spot/accounts/{address}/orders"),
    ("GET", "/api/v1/spot/accounts/{address}/orders/history"),
    ("GET", "/api/v1/spot/accounts/{address}/trades"),
    ("GET", "/api/v1/spot/accounts/{address}/api-keys"),
    ("GET", "/api/v1/spot/accounts/{address}/fee-rate"),
    ("GET", "/api/v1/spot/accounts/{address}/twaps"),
    ("GET", "/api/v1/perps/markets/symbols"),
    ("GET", "/api/v1/perps/markets/coins"),
    ("GET", "/api/v1/perps/markets/tickers"),
    ("GET", "/api/v1/perps/markets/miniTickers"),
    ("GET", "/api/v1/perps/markets/bookTickers"),
    ("GET", "/api/v1/perps/markets/mark-prices"),
    ("GET", "/api/v1/perps/markets/{symbol}/orderbook"),
    ("GET", "/api/v1/perps/markets/{symbol}/trades"),
    ("GET", "/api/v1/perps/markets/{symbol}/klines"),
    ("GET", "/api/v1/perps/accounts/{address}/state"),
    ("GET", "/api/v1/perps/accounts/{address}/balances"),
    ("GET", "/api/v1/perps/accounts/{address}/orders"),
    ("GET", "/api/v1/perps/accounts/{address}/orders/history"),
    ("GET", "/api/v1/perps/accounts/{address}/trades"),
    ("GET", "/api/v1/perps/accounts/{address}/positions"),
    ("GET", "/api/v1/perps/accounts/{address}/positions/history"),
    ("GET", "/api/v1/perps/accounts/{address}/fundings"),
    ("GET", "/api/v1/perps/accounts/{address}/fee-rate"),
    ("GET", "/api/v1/perps/accounts/{address}/api-keys"),
    ("GET", "/api/v1/user/{address}/api-keys"),
    ("POST", "/api/v1/user/{address}/api-keys"),
    ("DELETE", "/api/v1/user/{address}/api-keys"),
    ("GET", "/api/v1/user/{address}/status"),
    ("GET", "/api/v1/user/{address}/subaccounts"),
    ("GET", "/api/v1/user/{address}/fee-rate"),
    ("GET", "/api/v1/time"),
    ("GET", "/api/v1/openapi.json"),
    ("POST", "/api/v1/sandbox/faucet"),
    ("POST", "/api/v1/sandbox/sub-accounts"),
    ("POST", "/api/v1/sandbox/index-price"),
    ("POST", "/api/v1/sandbox/mark-price"),
    ("POST", "/api/v1/sandbox/funding"),
    ("POST", "/api/v1/sandbox/recover/{route}"),
    ("DELETE", "/api/v1/sandbox/recover/{route}"),
    ("GET", "/ws/spot"),
    ("GET", "/ws/perps"),
];

/// The exchange's OpenAPI document alone (for tests and tools).
pub fn openapi() -> OpenApi {
    document(routes::<Ctx>().into_openapi())
}

fn document(mut api: OpenApi) -> OpenApi {
    api.info = InfoBuilder::new()
        .title("Sova Exchange API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "The exchange (Sodex-compatible): `/api/v1/spot`, `/api/v1/perps` (perpetual futures), \
             `/api/v1/user`, the sandbox routes and `/ws/spot`. Signed writes carry EIP-712 signatures in `X-API-*` \
             headers; answers are `{\"code\":0,\"data\":..,\"timestamp\":ms}`, refusals \
             `{\"code\":n,\"error\":..,\"reason\":..,\"timestamp\":ms}`.",
        ))
        .build();
    sova_proto::openapi::declare_errors(&mut api, "ErrorEnvelope");
    // axum's catch-all `{*route}` is the OpenAPI parameter `{route}`.
    let paths = std::mem::take(&mut api.paths.paths);
    api.paths.paths = paths.into_iter().map(|(path, item)| (path.replace("{*", "{"), item)).collect();
    api
}

fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Ctx: axum::extract::FromRef<S>,
{
    use rest::*;
    OpenApiRouter::new()
        .routes(routes!(spot_new_order, spot_cancel_order))
        .routes(routes!(spot_batch_new_order, spot_batch_cancel_order))
        .routes(routes!(spot_replace_order))
        .routes(routes!(spot_modify_order))
        .routes(routes!(spot_schedule_cancel))
        .routes(routes!(spot_update_leverage))
        .routes(routes!(spot_update_margin))
        .routes(routes!(spot_transfer))
        .routes(routes!(spot_revoke_api_key, spot_add_api_key))
        .routes(routes!(spot_new_twap, spot_cancel_twap))
        .routes(routes!(perps_new_order, perps_cancel_order))
        .routes(routes!(perps_batch_new_order, perps_batch_cancel_order))
        .routes(routes!(perps_replace_order))
        .routes(routes!(perps_modify_order))
        .routes(routes!(perps_schedule_cancel))
        .routes(routes!(perps_update_leverage))
        .routes(routes!(perps_update_margin))
        .routes(routes!(perps_transfer))
        .routes(routes!(perps_revoke_api_key, perps_add_api_key))
        .routes(routes!(perps_new_twap, perps_cancel_twap))
        .routes(routes!(symbols))
        .routes(routes!(coins))
        .routes(routes!(tickers))
        .routes(routes!(mini_tickers))
        .routes(routes!(book_tickers))
        .routes(routes!(orderbook))
        .routes(routes!(trades))
        .routes(routes!(klines))
        .routes(routes!(state))
        .routes(routes!(balances))
        .routes(routes!(open_orders))
        .routes(routes!(order_history))
        .routes(routes!(account_trades))
        .routes(routes!(api_keys))
        .routes(routes!(fee_rate))
        .routes(routes!(twaps))
        .routes(routes!(perps::perps_symbols))
        .routes(routes!(perps::perps_coins))
        .routes(routes!(perps::perps_tickers))
        .routes(routes!(perps::perps_mini_tickers))
        .routes(routes!(perps::perps_book_tickers))
        .routes(routes!(perps::perps_mark_prices))
        .routes(routes!(perps::perps_orderbook))
        .routes(routes!(perps::perps_trades))
        .routes(routes!(perps::perps_klines))
        .routes(routes!(perps::perps_state))
        .routes(routes!(perps::perps_balances))
        .routes(routes!(perps::perps_open_orders))
        .routes(routes!(perps::perps_order_history))
        .routes(routes!(perps::perps_account_trades))
        .routes(routes!(perps::perps_positions))
        .routes(routes!(perps::perps_position_history))
        .routes(routes!(perps::perps_fundings))
        .routes(routes!(perps::perps_fee_rate))
        .routes(routes!(perps::perps_api_keys))
        .routes(routes!(perps::sandbox_index_price))
        .routes(routes!(perps::sandbox_mark_price))
        .routes(routes!(perps::sandbox_funding))
        .routes(routes!(user_add_api_key, user_revoke_api_key, user_api_keys))
        .routes(routes!(user_status))
        .routes(routes!(user_subaccounts))
        .routes(routes!(user_fee_rate))
        .routes(routes!(time))
        .routes(routes!(faucet))
        .routes(routes!(sub_account))
        .routes(routes!(recover, recover_delete))
        .routes(routes!(ws::spot))
        .routes(routes!(ws::perps))
        .routes(routes!(openapi_json))
}
