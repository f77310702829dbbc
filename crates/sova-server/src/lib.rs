//! The Sova HTTP server: one axum app, one module per surface, shared middleware.
//!
//! - [`connect`]: the Connect API under `/sovx/v1` (seed 000).
//! - Middleware here: trace ids (`X-Request-Id`), structured request logs, Prometheus metrics, rate-limit headers,
//!   body limits, envelope errors for unknown routes and methods.
//! - [`error`]: the one place where domain errors become HTTP answers.

pub mod auth;
pub mod cache;
pub mod config;
pub mod connect;
pub mod envelope;
pub mod error;
pub mod exchange;
pub mod extract;
pub mod filters;
pub mod hmac;
pub mod idempotency;
pub mod intel;
pub mod ratelimit;
pub mod secrets;
pub mod siwx;
pub mod state;
pub mod validate;

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Instant;

use anyhow::Context;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use secrecy::ExposeSecret;
use sova_proto::ErrorCode;
use tracing::Instrument;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi};
use utoipa_axum::router::OpenApiRouter;

pub use config::Config;
use envelope::{REQUEST, RequestCtx};
use error::ApiError;
pub use state::{ApiContext, AppState};

/// Build the key source for deposit addresses from the configuration (sandbox seed, or production xpubs).
pub fn key_source(config: &Config) -> anyhow::Result<sova_chain::KeySource> {
    if config.sandbox {
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

/// Open the store, load the keys, and assemble the shared state.
pub async fn build_state(config: Config) -> anyhow::Result<ApiContext> {
    if !config.sandbox && !config.has_production_keys() {
        anyhow::bail!("production mode needs at least one of --btc-xpub, --btc-testnet-xpub, --evm-xpub");
    }
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let url = config.database_url();
    let store =
        sova_store::open(&url).await.with_context(|| format!("opening database {}", sova_store::redact_url(&url)))?;
    let key_path = config.server_key_file.clone().unwrap_or_else(|| config.data_dir.join("server.key"));
    let server_key = secrets::server_key(&key_path)?;
    let keys = key_source(&config)?;
    let x402 = intel::x402::X402::load(&config)?;
    let exchange = sova_exchange::Exchange::start(store.clone(), &config.exchange).await?;
    siwx::public_origin(&config).context("--public-origin must be scheme://host[:port]")?;
    let state = Arc::new(AppState::new(
        store,
        sova_auth::keys::KeyHasher::new(server_key.pepper),
        sova_auth::session::SessionKeys::new(&server_key.session),
        keys,
        x402,
        exchange,
        config,
    ));
    auth::spawn_invalidation_listener(state.clone()).await?;
    intel::x402::spawn_pending_resolver(state.clone());
    intel::x402::spawn_blockhash_refresher(state.clone());
    siwx::spawn_pruner(state.clone());
    Ok(state)
}

fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // A second server in the same process (tests) reuses the first recorder.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// The OpenAPI document and the router of every surface.
pub fn app(ctx: ApiContext) -> Router {
    let intel = intel::router().route_layer(middleware::from_fn_with_state(ctx.clone(), intel::meter::meter));
    let (router, api) = OpenApiRouter::with_openapi(base_openapi())
        .nest(
            "/sovx/v1",
            connect::router().route_layer(middleware::from_fn_with_state(ctx.clone(), idempotency::connect_layer)),
        )
        .nest("/api/v1/intel", intel)
        .nest("/siwx/v1", siwx::router())
        .split_for_parts();
    let api = Arc::new(api);
    // Install the metrics recorder before the first request is counted.
    let _ = prometheus();
    let body_limit = ctx.config.body_limit_bytes;
    let spec = api.clone();
    router
        .route("/sovx/v1/openapi.json", get(move || async move { axum::Json(spec.as_ref().clone()) }))
        .route("/metrics", get(|| async { prometheus().render() }))
        .merge(exchange::router(ctx.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(ctx.clone(), hmac::middleware))
        .layer(middleware::from_fn(intel_cors))
        .layer(middleware::from_fn(request_context))
        .with_state(ctx)
}

/// The OpenAPI document alone (for tests and `sova openapi`).
pub fn openapi() -> OpenApi {
    OpenApiRouter::<ApiContext>::with_openapi(base_openapi())
        .nest("/sovx/v1", connect::router())
        .nest("/api/v1/intel", intel::router())
        .nest("/siwx/v1", siwx::router())
        .into_openapi()
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

async fn not_found(method: Method, uri: axum::http::Uri) -> Response {
    use axum::response::IntoResponse;
    let message = format!("no route for {method} {}", uri.path());
    if exchange::owns(uri.path()) {
        return exchange::ExError::new(sova_exchange::Reason::NotFound, message).into_response();
    }
    ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, message).into_response()
}

async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> Response {
    use axum::response::IntoResponse;
    let message = format!("{method} is not allowed on {}", uri.path());
    if exchange::owns(uri.path()) {
        return exchange::ExError::new(sova_exchange::Reason::MethodNotAllowed, message).into_response();
    }
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, ErrorCode::MethodNotAllowed, message).into_response()
}

/// CORS for the Intel API (browsers and agents calling it directly, x402 headers exposed); the other surfaces are
/// server-to-server and get no CORS headers. Applied before routing so preflights never reach a 405.
async fn intel_cors(req: Request, next: Next) -> Response {
    use tower::{Layer, ServiceExt};
    use tower_http::cors::{Any, CorsLayer};
    // Built once: the header lists are joined into header values at construction.
    static CORS: LazyLock<CorsLayer> = LazyLock::new(|| {
        let h = http::HeaderName::from_static;
        CorsLayer::new()
            .allow_origin(Any)
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers([http::header::CONTENT_TYPE, h("x-api-key"), h("payment-signature"), h("x-payment")])
            .expose_headers([
                h("payment-required"),
                h("payment-response"),
                h("x-payment-response"),
                h("x-credits-cost"),
                h("x-credits-remaining"),
            ])
    });
    if !req.uri().path().starts_with("/api/v1/intel/") {
        return next.run(req).await;
    }
    // Only browsers need CORS headers, and they always send `Origin` on a cross-origin call; agents and SDKs do not,
    // so their answers skip the layer and carry only `Vary: Origin` (a shared cache keeps the two kinds apart).
    if req.method() != Method::OPTIONS && !req.headers().contains_key(http::header::ORIGIN) {
        let mut resp = next.run(req).await;
        resp.headers_mut().append(http::header::VARY, HeaderValue::from_static("origin"));
        return resp;
    }
    match CORS.layer(next).oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

fn incoming_trace_id(req: &Request) -> Option<String> {
    let v = req.headers().get("x-request-id")?.to_str().ok()?.trim();
    let ok = !v.is_empty()
        && v.len() <= 128
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then(|| v.to_string())
}

/// Trace id, request log, metrics, rate-limit headers.
async fn request_context(req: Request, next: Next) -> Response {
    let trace_id = incoming_trace_id(&req).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let rctx = Arc::new(RequestCtx { trace_id: trace_id.clone(), rate: Default::default() });
    let method = req.method().clone();
    let route =
        req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let span = tracing::info_span!("request", trace_id = %trace_id, method = %method, route = %route);
    let start = Instant::now();
    let mut resp = REQUEST.scope(rctx.clone(), next.run(req).instrument(span.clone())).await;
    let elapsed = start.elapsed();
    let status = resp.status();
    if let Ok(v) = HeaderValue::from_str(&trace_id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    if let Some(info) = *rctx.rate.lock() {
        info.apply(resp.headers_mut());
    }
    let labels = [("method", method.to_string()), ("route", route.clone()), ("status", status.as_u16().to_string())];
    metrics::counter!("sova_http_requests_total", &labels).increment(1);
    metrics::histogram!("sova_http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), latency_ms = elapsed.as_secs_f64() * 1e3, "request failed");
        } else {
            tracing::debug!(status = status.as_u16(), latency_ms = elapsed.as_secs_f64() * 1e3, "request");
        }
    });
    resp
}

/// A server bound to a port, for `sova serve` and tests.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Shared state.
    pub ctx: ApiContext,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Base URL, e.g. `http://127.0.0.1:8080`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stop accepting, finish in-flight requests, return.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(());
        self.task.await??;
        Ok(())
    }

    /// Wait until the server ends (after `stop` or an error).
    pub async fn wait(self) -> anyhow::Result<()> {
        let Running { shutdown, task, .. } = self;
        let r = task.await?;
        drop(shutdown);
        Ok(r?)
    }
}

/// Bind `config.listen` (port 0 picks one) and serve until [`Running::stop`] or `shutdown` resolves.
pub async fn start(
    mut config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Running> {
    let listen = config.listen;
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    // Without --public-origin, requests are signed against the address actually bound (port 0 picks one).
    if config.public_origin.is_none() {
        config.public_origin = Some(format!("http://{addr}"));
    }
    let ctx = build_state(config).await?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = app(ctx.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                tokio::select! {
                    _ = rx => {},
                    _ = shutdown => {},
                }
            })
            .await
    });
    Ok(Running { addr, ctx, shutdown: tx, task })
}
