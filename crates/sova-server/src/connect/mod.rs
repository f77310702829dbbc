//! Connect API (`/sovx/v1`, seed 000): operators' sessions, customers and their credentials, users and their
//! tokens, wallets, deposit addresses, deposits and balances.

mod accounts;
mod customers;
pub mod trading;
mod transfers;
mod users;
mod wallets;

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::{FromRef, State};
use axum::response::{IntoResponse, Response};
use sova_proto::connect::{self as wire, Envelope};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use sova_chain::KeySource;
use sova_http::access::Access;
use sova_http::cache::{Cache, Invalidations};
use sova_http::envelope::ok;
use sova_http::time::iso;
use sova_store::Store;

/// What the Connect handlers reach.
pub struct ConnectState {
    /// Authentication, limits, the invalidation bus.
    pub access: Arc<Access>,
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// HD keys for deposit addresses.
    pub keys: KeySource,
    /// Sandbox mode (sandbox deposits).
    pub sandbox: bool,
    /// Process start (health's uptime).
    pub started: Instant,
    /// Operator session lifetime in seconds.
    pub session_ttl_secs: u64,
    /// Users by id (dropped by `user:<id>` and `customer:<id>`).
    pub users: Cache<sova_store::User>,
    /// The time that decides expiries.
    pub clock: sova_runtime::Clock,
    /// The exchange (trading on quotes runs on its spot book).
    pub exchange: Arc<sova_exchange::Exchange>,
    /// How long a trading quote holds (ms).
    pub quote_ttl_ms: i64,
    /// Trading takes the vendor's `usd` pairs (`btcusd`) for the USDC ones.
    pub usd_alias: bool,
    /// The engine account of each wallet that traded (its id never changes once created).
    pub engine_accounts: std::sync::Mutex<std::collections::HashMap<String, sova_store::ExAccount>>,
}

/// Connect trading settings (`--quote-ttl`, `--trading-usd-alias`).
#[derive(Debug, Clone, Copy)]
pub struct TradingSettings {
    /// How long a quote holds, in seconds.
    pub quote_ttl_secs: u64,
    /// `btcusd` means `btcusdc`.
    pub usd_alias: bool,
}

impl ConnectState {
    /// Build, registering the Connect caches on the bus.
    pub fn new(
        access: Arc<Access>,
        bus: &Arc<Invalidations>,
        keys: KeySource,
        sandbox: bool,
        session_ttl_secs: u64,
        exchange: Arc<sova_exchange::Exchange>,
        trading: TradingSettings,
    ) -> Arc<Self> {
        Arc::new(Self {
            clock: access.clock.clone(),
            store: access.store.clone(),
            access,
            keys,
            sandbox,
            started: Instant::now(),
            session_ttl_secs,
            users: Cache::builder("users")
                .customer(|_, u: &sova_store::User, c| u.customer_id == c)
                .user(|id, _, u| id == u)
                .build(bus),
            exchange,
            quote_ttl_ms: i64::try_from(trading.quote_ttl_secs.saturating_mul(1000)).unwrap_or(300_000),
            usd_alias: trading.usd_alias,
            engine_accounts: Default::default(),
        })
    }
}

/// The state type of the Connect routes.
pub type Ctx = Arc<ConnectState>;

/// The Connect routes, relative to `/sovx/v1`, with their OpenAPI descriptions.
pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Ctx: FromRef<S>,
    Arc<Access>: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(time))
        .routes(routes!(customers::login))
        .routes(routes!(customers::create_customer, customers::list_customers))
        .routes(routes!(customers::get_customer, customers::update_customer))
        .routes(routes!(customers::create_credential, customers::list_credentials))
        .routes(routes!(customers::get_credential, customers::revoke_credential))
        .routes(routes!(customers::rotate_credential))
        .routes(routes!(users::create_user, users::list_users))
        .routes(routes!(users::get_user, users::update_user, users::delete_user))
        .routes(routes!(users::activate_user, users::activate_user_patch))
        .routes(routes!(users::deactivate_user, users::deactivate_user_patch))
        .routes(routes!(users::create_token, users::list_tokens))
        .routes(routes!(users::issue_token))
        .routes(routes!(users::issue_tokens))
        .routes(routes!(users::get_token, users::revoke_token))
        .routes(routes!(wallets::create_wallet, wallets::list_user_wallets))
        .routes(routes!(wallets::list_wallets))
        .routes(routes!(wallets::get_wallet, wallets::update_wallet))
        .routes(routes!(wallets::create_address))
        .routes(routes!(wallets::list_currencies))
        .routes(routes!(accounts::customer_balance))
        .routes(routes!(accounts::user_balance))
        .routes(routes!(accounts::customer_transactions))
        .routes(routes!(accounts::user_transactions))
        .routes(routes!(wallets::list_wallet_addresses))
        .routes(routes!(wallets::list_addresses))
        .routes(routes!(wallets::get_address))
        .routes(routes!(wallets::list_wallet_deposits))
        .routes(routes!(wallets::list_deposits))
        .routes(routes!(wallets::get_deposit))
        .routes(routes!(wallets::sandbox_deposit))
        .routes(routes!(wallets::sandbox_complete_deposit))
        .routes(routes!(trading::list_pairs))
        .routes(routes!(trading::create_quote))
        .routes(routes!(trading::create_order, trading::list_orders))
        .routes(routes!(trading::get_order))
        .routes(routes!(transfers::create_transfer, transfers::list_transfers))
        .routes(routes!(transfers::get_transfer))
        .routes(routes!(transfers::confirm_transfer))
        .routes(routes!(transfers::resend_transfer_code))
        .routes(routes!(transfers::cancel_transfer))
        .routes(routes!(transfers::sandbox_transfer_code))
}

/// Connectivity check; no authentication. The one response that is not enveloped.
#[utoipa::path(get, path = "/health", tag = "health", responses((status = 200, body = wire::Health)))]
async fn health(State(ctx): State<Ctx>) -> impl IntoResponse {
    Json(wire::Health {
        status: "ok".into(),
        timestamp: iso(ctx.clock.now_ms()),
        uptime: u64::try_from(ctx.started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}

/// The server clock, for clients that sign requests (`Cs-Timestamp` must be within the window of `epoch`).
#[utoipa::path(get, path = "/time", tag = "health", responses((status = 200, body = Envelope<wire::ServerTime>)))]
async fn time(State(ctx): State<Ctx>) -> Response {
    let now = ctx.clock.now_ms();
    ok(wire::ServerTime { epoch: now.div_euclid(1000), iso: iso(now) })
}

fn opt_iso(ms: Option<i64>) -> Option<String> {
    ms.map(iso)
}

pub(crate) fn customer_view(c: sova_store::Customer) -> wire::Customer {
    wire::Customer {
        email: c.email,
        customer_id: c.customer_id,
        entity_name: c.entity_name,
        status: c.status,
        created_at: iso(c.created_at),
        updated_at: iso(c.updated_at),
    }
}

pub(crate) fn credential_view(c: sova_store::CredentialRow, now: i64) -> wire::Credential {
    let status = c.status(now).to_string();
    wire::Credential {
        credential_id: c.id,
        customer_id: c.customer_id,
        name: c.name,
        prefix: c.prefix,
        access_key: c.access_key,
        status,
        created_at: iso(c.created_at),
        last_used_at: opt_iso(c.last_used_at),
        expires_at: opt_iso(c.expires_at),
        revoked_at: opt_iso(c.revoked_at),
    }
}

pub(crate) fn user_view(u: sova_store::User) -> wire::User {
    wire::User {
        user_id: u.user_id,
        email: u.email,
        account_type: u.user_type.clone(),
        user_type: u.user_type,
        status: u.status,
        first_name: u.first_name,
        last_name: u.last_name,
        phone: u.phone,
        phone_country_code: u.phone_country_code,
        phone_number: u.phone_number,
        date_of_birth: u.date_of_birth,
        country: u.country,
        account_role: u.account_role,
        account_purpose: u.account_purpose,
        // Written by Sova from the same type; an unreadable value (hand-edited row) is left out, not a failure.
        individual: u.individual.as_deref().and_then(|j| serde_json::from_str(j).ok()),
        created_at: iso(u.created_at),
        updated_at: iso(u.updated_at),
    }
}

/// A wallet's answer; `addresses` may hold other wallets' rows (a page's worth), only this wallet's are used.
pub(crate) fn wallet_view(w: sova_store::WalletView, addresses: &[sova_store::AddressRow]) -> wire::Wallet {
    let mine: Vec<&sova_store::AddressRow> =
        addresses.iter().filter(|a| a.wallet_id == w.wallet.wallet_id && a.status == "ACTIVE").collect();
    let mut networks: Vec<wire::WalletNetwork> = Vec::new();
    let pairs = w.wallet.networks.iter().map(|n| (n.network.as_str(), n.currency.as_str()));
    for (net, cur) in pairs.chain(mine.iter().map(|a| (a.network.as_str(), a.currency.as_str()))) {
        let n = wire::WalletNetwork { name: format!("networks/{net}"), currency: cur.to_ascii_lowercase() };
        if !networks.contains(&n) {
            networks.push(n);
        }
    }
    wire::Wallet {
        vault_wallet_id: w.wallet.wallet_id.clone(),
        wallet_id: w.wallet.wallet_id,
        user_id: w.wallet.user_id,
        name: w.wallet.name,
        description: w.wallet.description,
        wallet_type: w.wallet.wallet_type,
        currency: w.wallet.currency,
        balance: w.balance,
        available_balance: w.balances.first().map(|b| b.available.clone()).unwrap_or_else(|| "0".into()),
        held_balance: w.balances.first().map(|b| b.held.clone()).unwrap_or_else(|| "0".into()),
        pending_balance: w.pending,
        balances: w
            .balances
            .into_iter()
            .map(|b| wire::WalletBalance {
                currency: b.currency,
                balance: b.balance,
                available_balance: b.available,
                held_balance: b.held,
                pending_balance: b.pending,
            })
            .collect(),
        networks,
        addresses: mine.into_iter().map(wallet_address).collect(),
        status: w.wallet.status,
        created_at: iso(w.wallet.created_at),
        updated_at: iso(w.wallet.updated_at),
    }
}

/// An address in the reference's four fields.
pub(crate) fn wallet_address(a: &sova_store::AddressRow) -> wire::WalletAddress {
    wire::WalletAddress {
        address_id: a.address_id.clone(),
        currency: a.currency.to_ascii_lowercase(),
        network: a.network.clone(),
        address: a.address.clone(),
    }
}

pub(crate) fn address_view(a: sova_store::AddressRow) -> wire::DepositAddress {
    wire::DepositAddress {
        address_id: a.address_id,
        wallet_id: a.wallet_id,
        address: a.address,
        currency: a.currency,
        network: a.network,
        derivation_path: a.derivation_path,
        status: a.status,
        created_at: iso(a.created_at),
    }
}

pub(crate) fn deposit_view(d: sova_store::DepositRow) -> wire::Deposit {
    wire::Deposit {
        deposit_id: d.deposit_id,
        wallet_id: d.wallet_id,
        address: d.address,
        currency: d.currency,
        network: d.network,
        amount: d.amount,
        status: d.status,
        tx_hash: d.tx_hash,
        sandbox: d.sandbox != 0,
        created_at: iso(d.created_at),
        updated_at: iso(d.updated_at),
        completed_at: opt_iso(d.completed_at),
        confirmations: d.output_index.map(|_| d.confirmations),
        block_height: d.block_height,
        block_hash: d.block_hash,
        output_index: d.output_index,
        shortfall: d.shortfall,
    }
}
