//! The exchange surface (seed 002, `spec/exchange-eip712.md`): `/api/v1/spot`, `/api/v1/perps` (signature
//! verification and routing; no perps engine yet), `/api/v1/user/{master}/api-keys`, `/api/v1/time`, the sandbox
//! faucet, and `/ws/spot`.
//!
//! A signed write is verified on the worker thread that received it (headers, nonce window, canonical body,
//! secp256k1 recovery), then handed to the [`sequencer`], which authorizes the signer, consumes the nonce, applies
//! the action to the engine and commits all of it in one transaction before answering.

pub mod catalog;
pub mod core;
pub mod error;
pub mod rest;
pub mod sequencer;
pub mod views;
pub mod ws;

use axum::Router;
use axum::routing::{get, post};

pub use catalog::{Catalog, ExchangeConfig};
pub use error::ExError;
pub use sequencer::Exchange;

use crate::state::ApiContext;

/// Every exchange route (absolute paths).
pub fn router() -> Router<ApiContext> {
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
