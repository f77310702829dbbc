//! The HTTP/1 server loop: axum's router on hyper connections with the limits `axum::serve` does not offer.
//!
//! - Headers must arrive within `header_timeout` (slowloris), and the same timer closes a keep-alive connection that
//!   stays idle that long (hyper starts it whenever it waits for a request head).
//! - A request body that pauses longer than `body_timeout` between two reads fails its read; the handler answers
//!   `408 REQUEST_TIMEOUT` and hyper closes the connection (the body was not consumed).
//! - At most `max_connections` are served at once; further clients wait in the listen queue. At start the process's
//!   open-file limit is raised to its hard limit, and `max_connections` is kept below what that limit allows.
//! - Shutdown stops accepting, asks every connection to finish its request in flight and close, and waits for them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// Connection limits (from [`crate::Config`]).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time to receive a request's headers; also the idle keep-alive timeout.
    pub header_timeout: Duration,
    /// Longest pause between two reads of a request body.
    pub body_timeout: Duration,
    /// Most connections served at once.
    pub max_connections: usize,
}

/// File descriptors kept for the database, logs and outgoing connections beside the served ones.
const RESERVED_FDS: u64 = 256;

/// Raise the open-file limit to the hard limit (once per process) and return the connection cap it allows.
pub fn connection_cap(wanted: usize) -> usize {
    static LIMIT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let limit = *LIMIT.get_or_init(|| match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map(|(soft, _)| soft).unwrap_or(1024)
        }
    });
    let allowed = usize::try_from(limit.saturating_sub(RESERVED_FDS).max(16)).unwrap_or(usize::MAX);
    if wanted > allowed {
        tracing::warn!(wanted, allowed, open_file_limit = limit, "max_connections lowered to fit the open-file limit");
    }
    wanted.min(allowed)
}

/// Serve `app` on `listener` until `shutdown` resolves, then drain the connections.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(tokio::sync::Semaphore::new(connection_cap(limits.max_connections)));
    let stop = CancellationToken::new();
    let connections = TaskTracker::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was accepted: keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let body_timeout = limits.body_timeout;
        let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
            let (mut parts, body) = req.into_parts();
            parts.extensions.insert(ConnectInfo::<SocketAddr>(remote));
            let body = axum::body::Body::new(tower_http::timeout::TimeoutBody::new(body_timeout, body));
            app.clone().oneshot(hyper::Request::from_parts(parts, body))
        });
        let conn = builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
        let stop = stop.clone();
        connections.spawn(async move {
            tokio::pin!(conn);
            let done = tokio::select! {
                r = conn.as_mut() => r,
                () = stop.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = done {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    stop.cancel();
    connections.close();
    connections.wait().await;
    Ok(())
}
