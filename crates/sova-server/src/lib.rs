//! The Sova HTTP server: one axum app, one module per surface, each with its own state, caches and routes.
//!
//! - [`connect`]: the Connect API under `/sovx/v1` (seed 000).
//! - [`intel`]: the Intel API under `/api/v1/intel` (seed 001), and its key management under `/sovx/v1/intel`.
//! - [`exchange`]: the exchange under `/api/v1/{spot,perps,user}` and `/ws/spot` (seed 002).
//! - [`siwx`]: SIWX onboarding under `/siwx/v1` (seed 003), and tenants' signing keys under `/sovx/v1`.
//! - [`app`]: the only module that names the surfaces: it composes their states and routes with the shared
//!   middleware of `sova-http` (trace ids, logs, metrics, `Cs-*` signatures, body limits, idempotency).
//!
//! No surface module imports another; what two surfaces share lives in `sova-http` or below.

pub mod app;
pub mod chains;
pub mod config;
pub mod connect;
pub mod console;
pub mod exchange;
pub mod intel;
pub mod secrets;
pub mod serve;
pub mod siwx;
pub mod webhooks;
pub mod withdrawals;

use std::net::SocketAddr;

use anyhow::Context;

pub use app::{ApiContext, AppState, app, build_state, key_source, openapi};
pub use config::Config;
pub use exchange::openapi as exchange_openapi;

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
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Running> {
    start_with(config, sova_runtime::Clock::system(), shutdown).await
}

/// How long background jobs get to stop once the server has stopped serving.
const JOBS_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// [`start`] on a given clock (tests move a manual one).
pub async fn start_with(
    mut config: Config,
    clock: sova_runtime::Clock,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Running> {
    let listen = config.listen;
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    // Without --public-origin, requests are signed against the address actually bound (port 0 picks one).
    if config.public_origin.is_none() {
        config.public_origin = Some(format!("http://{addr}"));
    }
    // Without --advertise-url, other replicas forward exchange writes to the address bound (loopback for all
    // interfaces: replicas on other hosts need --advertise-url).
    if config.advertise_url.is_none() {
        let mut a = addr;
        if a.ip().is_unspecified() {
            a.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        config.advertise_url = Some(format!("http://{a}"));
    }
    let limits = serve::Limits {
        header_timeout: std::time::Duration::from_secs(config.header_timeout_secs.unsigned_abs()),
        body_timeout: std::time::Duration::from_secs(config.body_timeout_secs.unsigned_abs()),
        max_connections: config.max_connections,
    };
    let ctx = app::build_state_with(config, clock).await?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = app(ctx.clone());
    let jobs = ctx.jobs.clone();
    let task = tokio::spawn(async move {
        let stop = async move {
            tokio::select! {
                _ = rx => {},
                _ = shutdown => {},
            }
        };
        let served = serve::serve(listener, app, limits, stop).await;
        // In-flight requests are done: stop the background jobs (listeners, sweeps, group writers) and wait for them.
        if !jobs.shutdown(JOBS_GRACE).await {
            tracing::warn!(running = jobs.len(), "background jobs still running after the grace period");
        }
        served
    });
    Ok(Running { addr, ctx, shutdown: tx, task })
}
