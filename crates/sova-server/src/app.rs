//! The app: the one module that names every surface. It builds each surface's state (axum `FromRef` substates of
//! [`AppState`]), mounts their routes with the shared middleware, and answers what no route does.

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef, State};
use axum::http::{Method, StatusCode};
use axum::middleware;
use axum::response::Response;
use axum::routing::get;
use secrecy::ExposeSecret;
use sova_http::ApiError;
use sova_http::access::{Access, AccessSettings};
use sova_http::cache::Invalidations;
use sova_http::context::request_context;
use sova_proto::ErrorCode;
use sova_store::Store;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::config::Config;
use crate::{chains, connect, console, exchange, intel, secrets, siwx, webhooks, withdrawals};

/// The server's state: the shared parts and one substate per surface (each handler extracts only its own).
#[derive(Clone)]
pub struct AppState {
    /// The configuration in effect.
    pub config: Arc<Config>,
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// Authentication, limits.
    pub access: Arc<Access>,
    /// The invalidation bus every cache is registered on.
    pub bus: Arc<Invalidations>,
    /// Connect API.
    pub connect: connect::Ctx,
    /// Intel API.
    pub intel: intel::Ctx,
    /// SIWX API.
    pub siwx: siwx::Ctx,
    /// Exchange.
    pub exchange: exchange::Ctx,
    /// Connect withdrawals.
    pub withdrawals: withdrawals::Ctx,
    /// Webhook endpoints and the outbox dispatcher.
    pub webhooks: webhooks::Ctx,
    /// Chain watchers.
    pub chains: chains::Ctx,
    /// The operator console.
    pub console: console::Ctx,
    /// The time that decides behaviour (expiries, windows): the system clock, or a manual one in tests.
    pub clock: sova_runtime::Clock,
    /// Background jobs, stopped and awaited at shutdown.
    pub jobs: sova_runtime::Jobs,
}

/// The axum state type.
pub type ApiContext = AppState;

macro_rules! substate {
    ($($field:ident: $ty:ty),* $(,)?) => {$(
        impl FromRef<AppState> for $ty {
            fn from_ref(app: &AppState) -> Self {
                app.$field.clone()
            }
        }
    )*};
}
substate!(
    access: Arc<Access>,
    connect: connect::Ctx,
    intel: intel::Ctx,
    siwx: siwx::Ctx,
    exchange: exchange::Ctx,
    withdrawals: withdrawals::Ctx,
    webhooks: webhooks::Ctx,
    chains: chains::Ctx,
    console: console::Ctx,
);

/// Build the key source for deposit addresses from the configuration (sandbox seed, or production xpubs).
pub fn key_source(config: &Config) -> anyhow::Result<sova_chain::KeySource> {
    if config.sandbox() {
        let path = config.data_dir.join("sandbox-seed.txt");
        let words = secrets::sandbox_mnemonic(&path)?;
        let seed = sova_chain::SandboxSeed::from_mnemonic(words.expose_secret())
            .with_context(|| format!("{} does not hold a valid BIP-39 mnemonic", path.display()))?;
        return Ok(sova_chain::KeySource::Sandbox(seed));
    }
    let parse = |v: &Option<String>, f: fn(&str) -> Result<sova_chain::Xpub, sova_chain::ChainError>, name: &str| {
        v.as_deref().map(|s| f(s).with_context(|| format!("--{name} is not a valid extended public key"))).transpose()
    };
    let sol_seed = match &config.solana_mnemonic_file {
        Some(p) => Some(sova_chain::SandboxSeed::from_mnemonic(secrets::read_mnemonic(p)?.expose_secret())?),
        None => None,
    };
    Ok(sova_chain::KeySource::Watch(sova_chain::WatchKeys {
        btc: parse(&config.btc_xpub, sova_chain::WatchKeys::parse_btc, "btc-xpub")?,
        btc_test: parse(&config.btc_testnet_xpub, sova_chain::WatchKeys::parse_btc_test, "btc-testnet-xpub")?,
        evm: parse(&config.evm_xpub, sova_chain::WatchKeys::parse_evm, "evm-xpub")?,
        sol_seed,
    }))
}

/// Replicas on one database must share their keys, or they derive different deposit addresses, offer different
/// x402 `payTo` addresses and cannot read each other's sessions and sealed secrets. The first server pins a
/// fingerprint of each key in the database (never the key); a later one whose keys differ refuses to start, naming
/// the file to copy from the first replica.
async fn pin_keys(
    config: &Config,
    store: &dyn Store,
    hasher: &sova_auth::keys::KeyHasher,
    x402: &intel::x402::X402,
    now: i64,
) -> anyhow::Result<()> {
    use sha2::{Digest, Sha256};
    let digest = |label: &str, v: &str| hex::encode(Sha256::digest(format!("sova-pin:{label}:{v}").as_bytes()));
    let dir = &config.data_dir;
    let key_file = config.server_key_file.clone().unwrap_or_else(|| dir.join("server.key"));
    let mut pins: Vec<(&str, String, String)> =
        vec![("server-key", hasher.hash("sova-deployment-pin").0, key_file.display().to_string())];
    if config.sandbox() {
        let path = dir.join("sandbox-seed.txt");
        let words = secrets::sandbox_mnemonic(&path)?;
        pins.push(("sandbox-seed", digest("sandbox-seed", words.expose_secret()), path.display().to_string()));
    } else {
        for (name, v) in [
            ("btc-xpub", &config.btc_xpub),
            ("btc-testnet-xpub", &config.btc_testnet_xpub),
            ("evm-xpub", &config.evm_xpub),
        ] {
            if let Some(v) = v {
                pins.push((name, digest(name, v), format!("--{name}")));
            }
        }
        if let Some(p) = &config.solana_mnemonic_file {
            let words = secrets::read_mnemonic(p)?;
            pins.push(("solana-mnemonic", digest("solana-mnemonic", words.expose_secret()), p.display().to_string()));
        }
    }
    let fee_payer_file = config.x402_fee_payer_keypair.clone().unwrap_or_else(|| dir.join("x402-fee-payer.json"));
    let pay_to_from = config
        .x402_pay_to
        .clone()
        .map_or_else(|| dir.join("x402-treasury.json").display().to_string(), |_| "--x402-pay-to".to_string());
    pins.push(("x402-pay-to", x402.pay_to.clone(), pay_to_from));
    pins.push(("x402-fee-payer", x402.fee_payer_address(), fee_payer_file.display().to_string()));
    for (name, fingerprint, from) in pins {
        let pinned = store.pin_key(name, &fingerprint, now).await?;
        anyhow::ensure!(
            pinned == fingerprint,
            "this server's {name} ({from}) differs from the one the database was first used with: replicas on one \
             database must share it; copy it from the first replica's data directory (or, to change it on purpose, \
             delete the row '{name}' of the table deployment_keys)"
        );
    }
    Ok(())
}

/// Where replicas share `Cs-*` replays and rate limits: Redis when configured, else the database when it is
/// PostgreSQL (replicas may share it), else nowhere (one SQLite process counts in memory, at memory speed).
async fn shared_guards(
    config: &Config,
    store: &Arc<dyn sova_store::Store>,
) -> anyhow::Result<Option<Arc<dyn sova_http::shared::SharedGuards>>> {
    use sova_http::shared::{RedisGuards, StoreGuards};
    if let Some(url) = &config.redis_url {
        let g = RedisGuards::connect(url, "sova:").await.map_err(anyhow::Error::msg).context("--redis-url")?;
        tracing::info!("replays and rate limits are shared through Redis");
        return Ok(Some(Arc::new(g)));
    }
    Ok((store.backend() == sova_store::Backend::Postgres).then(|| {
        tracing::info!("replays and rate limits are shared through the database");
        Arc::new(StoreGuards(store.clone())) as Arc<dyn sova_http::shared::SharedGuards>
    }))
}

/// Forget expired guard rows once a minute (any replica may; the deletes are idempotent).
async fn prune_guards(store: Arc<dyn sova_store::Store>, clock: sova_runtime::Clock) {
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        if let Err(e) = store.prune_guards(clock.now_ms()).await {
            tracing::warn!(error = %e, "pruning the shared replay and rate-limit rows failed");
        }
    }
}

/// Open the store, load the keys, and assemble the shared state.
pub async fn build_state(config: Config) -> anyhow::Result<ApiContext> {
    build_state_with(config, sova_runtime::Clock::system()).await
}

/// [`build_state`] on a given clock (tests move a manual one).
pub async fn build_state_with(config: Config, clock: sova_runtime::Clock) -> anyhow::Result<ApiContext> {
    if !config.sandbox() && !config.has_production_keys() {
        anyhow::bail!("production mode needs at least one of --btc-xpub, --btc-testnet-xpub, --evm-xpub");
    }
    secrets::private_dir(&config.data_dir)?;
    let url = config.database_url();
    let store =
        sova_store::open(&url).await.with_context(|| format!("opening database {}", sova_store::redact_url(&url)))?;
    let key_path = config.server_key_file.clone().unwrap_or_else(|| config.data_dir.join("server.key"));
    let server_key = secrets::server_key(&key_path)?;
    let keys = key_source(&config)?;
    let x402 = intel::x402::X402::load(&config)?;
    let hasher = sova_auth::keys::KeyHasher::new(server_key.pepper);
    pin_keys(&config, store.as_ref(), &hasher, &x402, clock.now_ms()).await?;
    let jobs = sova_runtime::Jobs::new();
    let advertise = config.advertise_url.clone().unwrap_or_else(|| format!("http://{}", config.listen));
    let engine =
        sova_exchange::Exchange::start(store.clone(), &config.exchange, &jobs, clock.clone(), advertise).await?;
    let feeds = exchange::feeds::parse(&config.perps_index_feed, &engine.catalog)?;
    let chain_specs = chains::parse(&config)?;
    let forwarder = exchange::forward::Forwarder::new(
        hasher.hash("sova-exchange-forward").as_str().to_string(),
        config.body_limit_bytes,
    )?;
    let config = Arc::new(config);
    let bus = Invalidations::new(store.clone());
    let shared = shared_guards(&config, &store).await?;
    let access = Access::new(
        store.clone(),
        hasher,
        sova_auth::session::SessionKeys::new(&server_key.session),
        bus.clone(),
        AccessSettings {
            rate_limit_per_minute: config.rate_limit_per_minute,
            hmac_window_secs: config.hmac_window_secs,
            body_limit: config.body_limit_bytes,
            clock: clock.clone(),
            jobs: jobs.clone(),
            shared: shared.clone(),
        },
    );
    let state = AppState {
        connect: connect::ConnectState::new(
            access.clone(),
            &bus,
            keys,
            config.sandbox(),
            config.session_ttl_secs,
            engine.clone(),
            connect::TradingSettings { quote_ttl_secs: config.quote_ttl, usd_alias: config.trading_usd_alias },
        ),
        intel: intel::IntelState::new(access.clone(), &bus, config.clone(), x402, engine.clone()),
        siwx: siwx::SiwxState::new(access.clone(), &bus, config.clone())?,
        withdrawals: withdrawals::WithdrawalsState::new(
            access.clone(),
            config.sandbox(),
            chains::live_networks(&chain_specs),
        ),
        webhooks: webhooks::WebhooksState::new(access.clone(), config.webhook_allow_private)?,
        console: console::ConsoleState::new(
            access.clone(),
            config.sandbox(),
            config.public_origin.as_deref(),
            chains::live_networks(&chain_specs),
        ),
        chains: Arc::new(chains::ChainsState {
            watchers: chains::spawn(
                chain_specs,
                access.clone(),
                std::time::Duration::from_millis(config.chain_poll_ms),
                std::time::Duration::from_secs(config.chain_replace_secs),
                &jobs,
            )
            .await?,
            access: access.clone(),
        }),
        exchange: Arc::new(exchange::ExchangeState {
            exchange: engine,
            store: store.clone(),
            access: access.clone(),
            rate_limit_per_minute: config.rate_limit_per_minute,
            sandbox: config.sandbox(),
            clock: clock.clone(),
            forwarder,
        }),
        config,
        store,
        access,
        bus: bus.clone(),
        clock,
        jobs: jobs.clone(),
    };
    if let Some(listener) = bus.listener().await? {
        jobs.spawn("invalidation-listener", listener);
    }
    jobs.spawn("metrics-upkeep", sova_http::metrics::upkeep());
    if !feeds.is_empty() {
        jobs.spawn("perps-index-feeds", exchange::feeds::run(state.exchange.exchange.clone(), feeds));
    }
    if shared.as_ref().is_some_and(|g| g.name() == "database") {
        jobs.spawn("guard-pruner", prune_guards(state.store.clone(), state.clock.clone()));
    }
    intel::x402::spawn_pending_resolver(state.intel.clone());
    intel::x402::spawn_blockhash_refresher(state.intel.clone());
    siwx::spawn_pruner(state.siwx.clone());
    withdrawals::spawn_expirer(state.withdrawals.clone(), &jobs);
    connect::trading::spawn_reconciler(state.connect.clone(), &jobs);
    webhooks::spawn_dispatcher(state.webhooks.clone(), &jobs);
    Ok(state)
}

/// The OpenAPI document and the router of every surface.
pub fn app(ctx: ApiContext) -> Router {
    let intel = intel::router().route_layer(middleware::from_fn_with_state(ctx.intel.clone(), intel::meter::meter));
    let idempotent = middleware::from_fn_with_state(ctx.access.clone(), sova_http::idempotency::optional_key_layer);
    let (router, api) = OpenApiRouter::with_openapi(base_openapi())
        .nest("/sovx/v1", sovx_routes().merge(webhooks::router()).route_layer(idempotent).merge(withdrawals::router()))
        .nest("/api/v1/intel", intel)
        .nest("/siwx/v1", siwx::router())
        .split_for_parts();
    let api = Arc::new(finish(api));
    // Install the metrics recorder before the first request is counted.
    let _ = sova_http::metrics::prometheus();
    let body_limit = ctx.config.body_limit_bytes;
    let spec = api.clone();
    router
        .route("/sovx/v1/openapi.json", get(move || async move { axum::Json(spec.as_ref().clone()) }))
        .route("/metrics", get(|| async { sova_http::metrics::render() }))
        .merge(exchange::router(ctx.exchange.clone()))
        .merge(console::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(ctx.access.clone(), sova_http::hmac::middleware))
        .layer(middleware::from_fn(intel::cors))
        .layer(middleware::from_fn_with_state(ctx.clone(), plain_errors))
        .layer(middleware::from_fn(request_context))
        .with_state(ctx)
}

/// Everything under `/sovx/v1`: the Connect API, and the management routes other surfaces keep beside it (Intel
/// keys, SIWX signing keys).
fn sovx_routes() -> OpenApiRouter<ApiContext> {
    connect::router().merge(intel::keys::router()).merge(siwx::signing_keys::router()).merge(chains::router())
}

/// The OpenAPI document alone (for tests and `sova openapi`).
pub fn openapi() -> OpenApi {
    let api = OpenApiRouter::<ApiContext>::with_openapi(base_openapi())
        .nest("/sovx/v1", sovx_routes().merge(withdrawals::router()).merge(webhooks::router()))
        .nest("/api/v1/intel", intel::router())
        .nest("/siwx/v1", siwx::router())
        .into_openapi();
    finish(api)
}

/// What every Connect document declares besides its routes: the error answers of each operation.
fn finish(mut api: OpenApi) -> OpenApi {
    sova_proto::openapi::declare_errors(&mut api, "ErrorEnvelope");
    api
}

fn base_openapi() -> OpenApi {
    let mut api = OpenApi::default();
    api.info = InfoBuilder::new()
        .title("Sova Connect API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some("Self-hosted crypto platform backend: the Connect API (SovX-compatible), `/sovx/v1`."))
        .build();
    let comps = api.components.get_or_insert_with(Default::default);
    comps.add_security_scheme(
        "session",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
    );
    comps.add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-api-key"))));
    comps.add_security_scheme(
        "user_token",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    comps.add_security_scheme("intel_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))));
    comps.add_security_scheme(
        "tenant_bearer",
        SecurityScheme::Http(
            HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("customer_secret").build(),
        ),
    );
    comps.add_security_scheme("x402", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("PAYMENT-SIGNATURE"))));
    api
}

/// Every error Sova answers is in its surface's envelope: an error answer that is not JSON (axum's own rejections,
/// such as a path that does not percent-decode, come as plain text) is answered again in the envelope, with its
/// status, the code that status stands for and its text as the message.
async fn plain_errors(State(ctx): State<ApiContext>, req: axum::extract::Request, next: middleware::Next) -> Response {
    use axum::response::IntoResponse;
    let exchange = exchange::owns(req.uri().path());
    let resp = next.run(req).await;
    let status = resp.status();
    // JSON errors are already enveloped; HTML ones are the console's pages, answered as they are.
    let shaped = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || shaped {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_string();
    let message = if text.is_empty() { status.canonical_reason().unwrap_or("error").to_string() } else { text };
    let e = ApiError::from_status(status, message);
    let answer = if exchange { sova_http::envelope::exchange_error(&ctx.clock, &e) } else { e.into_response() };
    sova_http::envelope::keep_headers(answer, &parts.headers)
}

async fn not_found(State(ctx): State<ApiContext>, method: Method, uri: axum::http::Uri) -> Response {
    use axum::response::IntoResponse;
    let message = format!("no route for {method} {}", uri.path());
    if exchange::owns(uri.path()) {
        let e = ApiError::exchange(sova_exchange::Reason::NotFound, message);
        return sova_http::envelope::exchange_error(&ctx.clock, &e);
    }
    ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, message).into_response()
}

async fn method_not_allowed(State(ctx): State<ApiContext>, method: Method, uri: axum::http::Uri) -> Response {
    use axum::response::IntoResponse;
    let message = format!("{method} is not allowed on {}", uri.path());
    if exchange::owns(uri.path()) {
        let e = ApiError::exchange(sova_exchange::Reason::MethodNotAllowed, message);
        return sova_http::envelope::exchange_error(&ctx.clock, &e);
    }
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, ErrorCode::MethodNotAllowed, message).into_response()
}
