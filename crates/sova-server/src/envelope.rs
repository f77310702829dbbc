//! The response envelope and the per-request context (trace id, rate-limit state) it reads.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use parking_lot::Mutex;
use serde::Serialize;
use sova_proto::connect::{API_VERSION, Envelope, Meta, Pagination};

use crate::ratelimit::RateInfo;

/// State of the request being handled, reachable from anywhere in its task.
#[derive(Debug, Default)]
pub struct RequestCtx {
    /// Trace id (from `X-Request-Id` or generated).
    pub trace_id: String,
    /// Rate-limit state to report in headers, set by the auth extractors.
    pub rate: Mutex<Option<RateInfo>>,
}

tokio::task_local! {
    /// The current request's context (set by the trace middleware).
    pub static REQUEST: Arc<RequestCtx>;
}

/// The current trace id, or `-` outside a request.
pub fn trace_id() -> String {
    REQUEST.try_with(|r| r.trace_id.clone()).unwrap_or_else(|_| "-".into())
}

/// Format Unix milliseconds as ISO 8601 UTC with milliseconds (`2026-03-12T00:00:00.000Z`).
pub fn iso(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Current Unix milliseconds.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// `meta` for a response now.
pub fn meta(pagination: Option<Pagination>) -> Meta {
    Meta { timestamp: iso(now_ms()), version: API_VERSION.into(), trace_id: trace_id(), pagination }
}

/// A JSON answer serialized into one buffer sized for a typical envelope (axum's `Json` starts at 128 bytes and
/// grows by copying).
fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let mut buf = Vec::with_capacity(1024);
    match serde_json::to_writer(&mut buf, body) {
        Ok(()) => (
            status,
            [(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/json"))],
            buf,
        )
            .into_response(),
        Err(e) => crate::error::ApiError::internal(format!("serializing the answer: {e}")).into_response(),
    }
}

/// 200 with `{success:true, data, meta}`.
pub fn ok<T: Serialize>(data: T) -> Response {
    json(StatusCode::OK, &Envelope { success: true, data, meta: meta(None) })
}

/// 201 with the envelope.
pub fn created<T: Serialize>(data: T) -> Response {
    json(StatusCode::CREATED, &Envelope { success: true, data, meta: meta(None) })
}

/// 200 with a list and `meta.pagination`.
pub fn list<T: Serialize>(items: Vec<T>, total: u64, limit: u64, skip: u64) -> Response {
    json(StatusCode::OK, &Envelope { success: true, data: items, meta: meta(Some(Pagination { total, limit, skip })) })
}
