//! The two envelopes a surface answers in: Connect's (`{success, data, meta}`), which SIWX and Intel use too, and
//! the exchange's (`{code:0, data, timestamp}` / `{code:n, error, reason, timestamp}`). An [`ApiError`] renders in
//! Connect's; a surface on the exchange's envelope puts [`exchange_errors`] on its routes.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sova_proto::connect::{Envelope, Pagination};
use sova_proto::exchange as ex;
use sova_runtime::Clock;

use crate::context::meta;
use crate::error::ApiError;
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

/// The success envelope of `data`, as [`ok`] and [`created`] answer it.
pub fn body<T: Serialize>(data: T) -> Envelope<T> {
    Envelope { success: true, data, meta: meta(None) }
}

/// 201 with the envelope.
pub fn created<T: Serialize>(data: T) -> Response {
    json(StatusCode::CREATED, &Envelope { success: true, data, meta: meta(None) })
}

/// 200 with a list and `meta.pagination`.
pub fn list<T: Serialize>(items: Vec<T>, total: u64, limit: u64, skip: u64) -> Response {
    json(StatusCode::OK, &Envelope { success: true, data: items, meta: meta(Some(Pagination { total, limit, skip })) })
}

/// The exchange's success: `{"code":0,"data":..,"timestamp":ms}`.
pub fn exchange_ok<T: Serialize>(clock: &Clock, data: T) -> Response {
    json(StatusCode::OK, &ex::Envelope { code: 0, data, timestamp: clock.now_ms() })
}

/// An error in the exchange's envelope: `{"code":n,"error":..,"reason":..,"timestamp":ms}` with the error's status
/// (and `Retry-After`).
pub fn exchange_error(clock: &Clock, e: &ApiError) -> Response {
    let reason = e.reason();
    let body = ex::ErrorEnvelope { code: reason.number(), error: e.message.clone(), reason, timestamp: clock.now_ms() };
    let mut resp = json(e.status, &body);
    if let Some(s) = e.retry_after {
        resp.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(s));
    }
    resp
}

/// Middleware of the exchange's routes: every [`ApiError`] answered below it (handlers, extractors, limits) is
/// answered in the exchange's envelope instead, keeping the headers already set (rate-limit state).
pub async fn exchange_errors(
    axum::extract::State(clock): axum::extract::State<Clock>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let resp = next.run(req).await;
    match resp.extensions().get::<ApiError>() {
        Some(e) => {
            let answer = exchange_error(&clock, e);
            keep_headers(answer, resp.headers())
        }
        None => resp,
    }
}

/// `answer` with the headers of the answer it replaces (rate-limit state, `Allow`, ...), except those describing
/// the old body and those `answer` sets itself.
pub fn keep_headers(mut answer: Response, replaced: &axum::http::HeaderMap) -> Response {
    let own = answer.headers().clone();
    for (name, value) in replaced {
        if !own.contains_key(name) && name != axum::http::header::CONTENT_LENGTH {
            answer.headers_mut().append(name.clone(), value.clone());
        }
    }
    answer
}
