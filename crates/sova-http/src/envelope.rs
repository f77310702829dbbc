//! The Connect envelope (`{success, data, meta}`), which SIWX and Intel answer in too; the exchange has its own.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sova_proto::connect::{Envelope, Pagination};

use crate::context::meta;
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
