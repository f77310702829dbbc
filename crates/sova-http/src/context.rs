//! The per-request context (trace id, rate-limit state), reachable from anywhere in the request's task, and the
//! middleware that opens it: trace id, request log, metrics, rate-limit headers.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use parking_lot::Mutex;
use sova_proto::connect::{API_VERSION, Meta, Pagination};
use tracing::Instrument;

use crate::ratelimit::RateInfo;
use crate::time::{iso, now_ms};

/// State of the request being handled, reachable from anywhere in its task.
#[derive(Debug, Default)]
pub struct RequestCtx {
    /// Trace id (from `X-Request-Id` or generated).
    pub trace_id: String,
    /// Rate-limit state to report in headers, set by the auth extractors.
    pub rate: Mutex<Option<RateInfo>>,
}

tokio::task_local! {
    /// The current request's context (set by [`request_context`]).
    pub static REQUEST: Arc<RequestCtx>;
}

/// The current trace id, or `-` outside a request.
pub fn trace_id() -> String {
    REQUEST.try_with(|r| r.trace_id.clone()).unwrap_or_else(|_| "-".into())
}

/// Remember the rate-limit state of the current request for its response headers.
pub fn set_rate(info: RateInfo) {
    let _ = REQUEST.try_with(|r| *r.rate.lock() = Some(info));
}

/// `meta` for a response now.
pub fn meta(pagination: Option<Pagination>) -> Meta {
    Meta { timestamp: iso(now_ms()), version: API_VERSION.into(), trace_id: trace_id(), pagination }
}

/// The caller's trace id: `X-Request-Id`, or the vendor reference's `x-trace-id`, when it is a sane token.
fn incoming_trace_id(req: &Request) -> Option<String> {
    ["x-request-id", "x-trace-id"].iter().find_map(|h| sane_trace_id(req.headers().get(*h)?.to_str().ok()?))
}

fn sane_trace_id(v: &str) -> Option<String> {
    let v = v.trim();
    let ok = !v.is_empty()
        && v.len() <= 128
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then(|| v.to_string())
}

/// Middleware: trace id, request log, metrics, rate-limit headers.
pub async fn request_context(req: Request, next: Next) -> Response {
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
        resp.headers_mut().insert("x-trace-id", v.clone());
        resp.headers_mut().insert("x-request-id", v);
    }
    if let Some(info) = *rctx.rate.lock() {
        info.apply(resp.headers_mut());
    }
    crate::metrics::record_request(method.as_str(), &route, status.as_u16(), elapsed);
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), latency_ms = elapsed.as_secs_f64() * 1e3, "request failed");
        } else {
            tracing::debug!(status = status.as_u16(), latency_ms = elapsed.as_secs_f64() * 1e3, "request");
        }
    });
    resp
}
