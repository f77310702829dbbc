//! The exchange surface over HTTP (seed 002, `spec/exchange-eip712.md`): `/api/v1/spot`, `/api/v1/perps`
//! (signature verification and routing; no perps engine yet), `/api/v1/user/{master}/api-keys`, `/api/v1/time`,
//! the sandbox faucet, and `/ws/spot`. The exchange itself (sequencer, engine state, read models, replay) is the
//! `sova-exchange` crate.
//!
//! A signed write is verified on the worker thread that received it (headers, nonce window, canonical body,
//! secp256k1 recovery), then handed to [`sova_exchange::Exchange::submit`], which authorizes the signer, consumes
//! the nonce, applies the action to the engine and commits all of it in one transaction before answering.

pub mod error;
pub mod rest;
pub mod ws;

use axum::Router;
use axum::routing::{get, post};

pub use error::ExError;
use sova_exchange::Reason;
pub use sova_exchange::{Catalog, Exchange, ExchangeConfig};

use crate::state::ApiContext;

/// Is `path` on the exchange surface (answered in its envelope)?
pub fn owns(path: &str) -> bool {
    ["/api/v1/spot", "/api/v1/perps", "/api/v1/user/", "/api/v1/sandbox/", "/api/v1/time", "/ws/"]
        .iter()
        .any(|p| path.starts_with(p))
}

/// Per-IP request budget of the exchange's REST routes (`--rate-limit` per minute, the vendor's 1200 by default;
/// 0 = unlimited): 429 `RATE_LIMITED` with `Retry-After` past it.
pub async fn ip_limit(
    axum::extract::State(ctx): axum::extract::State<ApiContext>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::extract::ConnectInfo;
    use axum::response::IntoResponse;
    let ip = req.extensions().get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip().to_string());
    let Some(ip) = ip.filter(|_| ctx.config.rate_limit_per_minute > 0) else { return next.run(req).await };
    match ctx.limiter.check(&format!("ip:{ip}")) {
        Ok(info) => {
            let mut resp = next.run(req).await;
            info.apply(resp.headers_mut());
            resp
        }
        Err((_, info)) => {
            let mut resp = ExError::new(
                Reason::RateLimited,
                format!(
                    "more than {} requests in a minute from this address; retry after {} s",
                    info.limit, info.reset
                ),
            )
            .into_response();
            info.apply(resp.headers_mut());
            if let Ok(v) = axum::http::HeaderValue::from_str(&info.reset.to_string()) {
                resp.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
            }
            resp
        }
    }
}

/// Every exchange route (absolute paths), behind the per-IP limit.
pub fn router(ctx: ApiContext) -> Router<ApiContext> {
    routes().route_layer(axum::middleware::from_fn_with_state(ctx, ip_limit))
}

fn routes() -> Router<ApiContext> {
    use sova_auth::exchange::Domain;
    let writes = |prefix: &str, domain: Domain| {
        let w = move || axum::routing::post(rest::signed(domain)).delete(rest::signed(domain));
        Router::new()
            .route(&format!("{prefix}/trade/orders"), w())
            .route(&format!("{prefix}/trade/orders/batch"), w())
            .route(&format!("{prefix}/trade/orders/replace"), post(rest::signed(domain)))
            .route(&format!("{prefix}/trade/orders/modify"), post(rest::signed(domain)))
            .route(&format!("{prefix}/trade/orders/schedule-cancel"), post(rest::signed(domain)))
            .route(&format!("{prefix}/trade/leverage"), post(rest::signed(domain)))
            .route(&format!("{prefix}/trade/margin"), post(rest::signed(domain)))
            .route(&format!("{prefix}/accounts/transfers"), post(rest::signed(domain)))
            .route(&format!("{prefix}/accounts/api-keys"), axum::routing::delete(rest::signed(domain)))
    };
    let reads = |prefix: &str| {
        Router::new()
            .route(&format!("{prefix}/markets/symbols"), get(rest::symbols))
            .route(&format!("{prefix}/markets/coins"), get(rest::coins))
            .route(&format!("{prefix}/markets/tickers"), get(rest::tickers))
            .route(&format!("{prefix}/markets/miniTickers"), get(rest::tickers))
            .route(&format!("{prefix}/markets/bookTickers"), get(rest::book_tickers))
            .route(&format!("{prefix}/markets/{{symbol}}/orderbook"), get(rest::orderbook))
            .route(&format!("{prefix}/markets/{{symbol}}/trades"), get(rest::trades))
            .route(&format!("{prefix}/markets/{{symbol}}/klines"), get(rest::klines))
            .route(&format!("{prefix}/accounts/{{address}}/state"), get(rest::state))
            .route(&format!("{prefix}/accounts/{{address}}/balances"), get(rest::balances))
            .route(&format!("{prefix}/accounts/{{address}}/orders"), get(rest::open_orders))
            .route(&format!("{prefix}/accounts/{{address}}/orders/history"), get(rest::order_history))
            .route(&format!("{prefix}/accounts/{{address}}/trades"), get(rest::account_trades))
            .route(&format!("{prefix}/accounts/{{address}}/api-keys"), get(rest::api_keys))
            .route(&format!("{prefix}/accounts/{{address}}/fee-rate"), get(rest::fee_rate))
    };
    Router::new()
        .merge(writes("/api/v1/spot", Domain::Spot))
        .merge(writes("/api/v1/perps", Domain::Futures))
        .merge(reads("/api/v1/spot"))
        .route(
            "/api/v1/user/{address}/api-keys",
            post(rest::signed(Domain::Universal)).delete(rest::signed(Domain::Universal)).get(rest::api_keys),
        )
        .route("/api/v1/time", get(rest::time))
        .route("/api/v1/sandbox/faucet", post(rest::faucet))
        .route("/api/v1/sandbox/sub-accounts", post(rest::sub_account))
        .route("/api/v1/sandbox/recover/{*route}", post(rest::recover).delete(rest::recover))
        .route("/ws/spot", get(ws::spot))
}
