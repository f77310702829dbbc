//! `Idempotency-Key` for every surface, stored in the database so it holds across replicas.
//!
//! - The key is a UUID, read leniently (bare, or as a quoted structured-field string) and scoped to the tenant.
//! - The first request with a key claims it (an `IN_FLIGHT` row with a lock token, 60 s lock); a second one while it
//!   runs gets `409 IDEMPOTENCY_KEY_IN_FLIGHT`; after it finished, the same request (method, path and body digest)
//!   gets the stored answer again with `Idempotent-Replayed: true`, and a different one `422 IDEMPOTENCY_KEY_REUSED`.
//!   Keys are kept 24 h.
//! - Final answers (2xx, and 4xx other than 401, 403, 429) are recorded; the others (5xx too) release the key so a
//!   retry runs again.
//! - Where the handler changes state, the answer is recorded in the same database transaction as the change
//!   ([`Claim::done`] handed to the store), so a crash can never leave a change without its recorded answer.
//!   [`optional_key_layer`] (the Connect API's mutating POSTs, where the key is optional) leaves its claim in the
//!   request; a handler that creates something takes it with the [`Idem`] extractor and commits its answer with the
//!   change ([`Idem::created`] gives the store's [`Effects`] and the answer). For handlers that do not, the layer
//!   records the answer right after the handler; there a crash between the two leaves the key in flight until the
//!   lock lapses, after which the same request runs again.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, OriginalUri, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use sova_proto::ErrorCode;
use sova_store::{Effects, IdemClaim, IdemClaimOutcome, IdemDone, IdemRecord};

use crate::access::Access;
use crate::auth::{identify, rate_limit};
use crate::error::ApiError;

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// The header on replayed answers.
pub const REPLAYED: &str = "idempotent-replayed";
/// How long a claim holds before another request may take it over (the first one is presumed dead).
pub const LOCK_MS: i64 = 60_000;
/// How long keys are kept.
pub const RETENTION_MS: i64 = 24 * 3600 * 1000;
/// Response headers kept with an answer.
const KEPT_HEADERS: [HeaderName; 2] = [header::CONTENT_TYPE, header::LOCATION];

/// An answer as recorded: status, a few headers, the body bytes.
#[derive(Debug, Clone)]
pub struct StoredResponse {
    /// Status.
    pub status: StatusCode,
    /// Kept headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Bytes,
}

impl StoredResponse {
    /// A JSON answer.
    pub fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Result<Self, ApiError> {
        let body = serde_json::to_vec(value).map_err(ApiError::internal)?;
        Ok(Self { status, headers: vec![("content-type".into(), "application/json".into())], body: body.into() })
    }

    /// `204 No Content`.
    pub fn no_content() -> Self {
        Self { status: StatusCode::NO_CONTENT, headers: Vec::new(), body: Bytes::new() }
    }

    /// Buffer a response (our own answers are small JSON documents).
    pub async fn from_response(resp: Response) -> Self {
        let (parts, body) = resp.into_parts();
        let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
        let headers = KEPT_HEADERS
            .iter()
            .filter_map(|n| Some((n.as_str().to_string(), parts.headers.get(n)?.to_str().ok()?.to_string())))
            .collect();
        Self { status: parts.status, headers, body }
    }

    /// An error answer.
    pub async fn from_error(e: ApiError) -> Self {
        Self::from_response(e.into_response()).await
    }

    fn record(&self) -> IdemRecord {
        IdemRecord {
            status: i64::from(self.status.as_u16()),
            headers: serde_json::to_string(&self.headers).unwrap_or_else(|_| "[]".into()),
            body: STANDARD.encode(&self.body),
        }
    }

    fn from_record(r: &IdemRecord) -> Self {
        let status = u16::try_from(r.status)
            .ok()
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = serde_json::from_str(&r.headers).unwrap_or_default();
        let body = STANDARD.decode(&r.body).unwrap_or_default();
        Self { status, headers, body: body.into() }
    }

    /// Whether this answer is final (recorded) rather than one a retry may change: 5xx, 429, and the credential
    /// refusals 401 and 403 (which say nothing about the operation) are not.
    pub fn is_final(&self) -> bool {
        !(self.status.is_server_error()
            || matches!(self.status, StatusCode::TOO_MANY_REQUESTS | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN))
    }
}

impl IntoResponse for StoredResponse {
    fn into_response(self) -> Response {
        let mut resp = Response::new(Body::from(self.body));
        *resp.status_mut() = self.status;
        for (k, v) in self.headers {
            if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
                resp.headers_mut().insert(k, v);
            }
        }
        resp
    }
}

/// A claimed key: the request holding it must [`Claim::finish`] (or hand [`Claim::done`] to the store).
#[derive(Debug, Clone)]
pub struct Claim {
    scope: String,
    key: String,
    token: String,
}

impl Claim {
    /// What to give the store so it records `resp` in the transaction of the state change.
    pub fn done(&self, resp: &StoredResponse) -> IdemDone {
        IdemDone { scope: self.scope.clone(), key: self.key.clone(), token: self.token.clone(), record: resp.record() }
    }

    /// Record a final answer (or release the key for a retryable one) and return it.
    pub async fn finish(self, ctx: &Access, resp: StoredResponse) -> Response {
        let res = if resp.is_final() {
            ctx.store.complete_idempotency_key(&self.done(&resp)).await.map(|_| ())
        } else {
            ctx.store.release_idempotency_key(&self.scope, &self.key, &self.token).await
        };
        if let Err(e) = res {
            // The answer stands; the key stays in flight until its lock lapses, then the request may run again.
            tracing::error!(error = %e, "could not record the idempotency key's answer");
        }
        resp.into_response()
    }

    /// Release the key (the answer is not final).
    pub async fn release(self, ctx: &Access) {
        if let Err(e) = ctx.store.release_idempotency_key(&self.scope, &self.key, &self.token).await {
            tracing::error!(error = %e, "could not release an idempotency key");
        }
    }
}

/// Marks an answer whose idempotency record was committed with the change: the layer records nothing more.
#[derive(Debug, Clone, Copy)]
struct Recorded;

/// A handler's share of [`optional_key_layer`]'s claim: present when the request carries a key the layer claimed.
#[derive(Debug, Clone, Default)]
pub struct Idem(pub Option<Claim>);

impl<S: Send + Sync> FromRequestParts<S> for Idem {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Idem(parts.extensions.get::<Claim>().cloned()))
    }
}

impl Idem {
    /// The `201` answer of a creation (`data` in the Connect envelope) and the store effects that record it with
    /// the change. Commit the change with those effects, then answer the response.
    pub fn created<T: serde::Serialize>(&self, data: T) -> Result<(Effects, Response), ApiError> {
        let Some(claim) = &self.0 else { return Ok((Effects::none(), crate::envelope::created(data))) };
        let stored = StoredResponse::json(StatusCode::CREATED, &crate::envelope::body(data))?;
        let effects = Effects::idempotent(claim.done(&stored));
        let mut resp = stored.into_response();
        resp.extensions_mut().insert(Recorded);
        Ok((effects, resp))
    }
}

/// What the caller should do after [`begin`].
#[derive(Debug)]
pub enum Begin {
    /// Run the request; the key is claimed.
    Proceed(Claim),
    /// Answer this (a replay of the recorded answer).
    Answer(Response),
}

fn bad_key(msg: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::IdempotencyKeyInvalid, msg).with_field("Idempotency-Key")
}

/// Read an `Idempotency-Key` value: a UUID, bare or as a quoted string; the canonical lower-case form.
pub fn parse_key(v: &HeaderValue) -> Result<String, ApiError> {
    let s = v.to_str().map_err(|_| bad_key("Idempotency-Key must be a UUID in visible ASCII"))?.trim();
    let s = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(s).trim();
    uuid::Uuid::parse_str(s).map(|u| u.hyphenated().to_string()).map_err(|_| {
        bad_key(format!("Idempotency-Key `{}` is not a UUID (e.g. a v4 UUID per request)", s.escape_debug()))
    })
}

/// The key of a request, if it has one.
pub fn key_of(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    headers.get(HEADER).map(parse_key).transpose()
}

/// `400 IDEMPOTENCY_KEY_MISSING`.
pub fn missing() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        ErrorCode::IdempotencyKeyMissing,
        "Idempotency-Key is required on POST: send a new UUID per operation, and the same one when retrying it",
    )
    .with_field("Idempotency-Key")
}

/// What makes two requests the same: method, path with query, and the SHA-256 of the body, hex.
pub fn fingerprint(method: &str, path_and_query: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update([0]);
    h.update(path_and_query.as_bytes());
    h.update([0]);
    h.update(Sha256::digest(body));
    hex::encode(h.finalize())
}

/// Claim `key` in `scope` for a request with `fingerprint`.
pub async fn begin(ctx: &Access, scope: String, key: String, fingerprint: String) -> Result<Begin, ApiError> {
    let now = ctx.clock.now_ms();
    let token = uuid::Uuid::new_v4().to_string();
    let claim = IdemClaim {
        scope: scope.clone(),
        key: key.clone(),
        fingerprint,
        token: token.clone(),
        now,
        locked_until: now + LOCK_MS,
        expires_at: now + RETENTION_MS,
    };
    match ctx.store.claim_idempotency_key(&claim).await? {
        IdemClaimOutcome::Claimed => Ok(Begin::Proceed(Claim { scope, key, token })),
        IdemClaimOutcome::Replay(r) => {
            let mut resp = StoredResponse::from_record(&r).into_response();
            resp.headers_mut().insert(REPLAYED, HeaderValue::from_static("true"));
            Ok(Begin::Answer(resp))
        }
        IdemClaimOutcome::Mismatch => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key was used for a different request (method, path or body); use a new key for a new operation",
        )
        .with_field("Idempotency-Key")),
        IdemClaimOutcome::InFlight => Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::IdempotencyKeyInFlight,
            "a request with this Idempotency-Key is still being processed; retry shortly with the same key",
        )
        .with_field("Idempotency-Key")),
    }
}

/// Middleware for routes where the key is optional (the Connect API): a mutating POST carrying `Idempotency-Key`
/// gets the full semantics, scoped to the caller's tenant. A request without a valid credential passes through
/// (its route answers 401) without its key being looked at.
pub async fn optional_key_layer(State(ctx): State<Arc<Access>>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST || !req.headers().contains_key(HEADER) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Some(identity) = identify(&ctx, &parts).await else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let (scope, window) = (identity.scope(), identity.window());
    // Answers given here run no extractor: count them against the credential's window like any call.
    let early = async |resp: Response| match rate_limit(&ctx, &window).await {
        Ok(()) => resp,
        Err(e) => e.into_response(),
    };
    let key = match key_of(&parts.headers) {
        Ok(Some(k)) => k,
        Ok(None) => return next.run(Request::from_parts(parts, body)).await,
        Err(e) => return early(e.into_response()).await,
    };
    let bytes = match axum::body::to_bytes(body, ctx.body_limit).await {
        Ok(b) => b,
        Err(e) => {
            return early(crate::error::body_read_error(&e).into_response()).await;
        }
    };
    let path = parts
        .extensions
        .get::<OriginalUri>()
        .and_then(|u| u.0.path_and_query().map(|p| p.as_str().to_string()))
        .unwrap_or_else(|| parts.uri.to_string());
    let fp = fingerprint(parts.method.as_str(), &path, &bytes);
    match begin(&ctx, scope, key, fp).await {
        Ok(Begin::Answer(resp)) => early(resp).await,
        Err(e) => early(e.into_response()).await,
        Ok(Begin::Proceed(claim)) => {
            let mut req = Request::from_parts(parts, Body::from(bytes));
            req.extensions_mut().insert(claim.clone());
            let resp = next.run(req).await;
            if resp.extensions().get::<Recorded>().is_some() {
                return resp;
            }
            let stored = StoredResponse::from_response(resp).await;
            claim.finish(&ctx, stored).await
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_leniently() {
        let k = "3F2504E0-4F89-41D3-9A0C-0305E82C3301";
        let want = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
        assert_eq!(parse_key(&HeaderValue::from_static("3F2504E0-4F89-41D3-9A0C-0305E82C3301")).unwrap(), want);
        assert_eq!(parse_key(&HeaderValue::from_str(&format!("\"{k}\"")).unwrap()).unwrap(), want);
        assert_eq!(parse_key(&HeaderValue::from_static("nope")).unwrap_err().code, ErrorCode::IdempotencyKeyInvalid);
    }

    #[test]
    fn fingerprints_differ_by_method_path_and_body() {
        let a = fingerprint("POST", "/x", b"{}");
        assert_eq!(a, fingerprint("POST", "/x", b"{}"));
        assert_ne!(a, fingerprint("PUT", "/x", b"{}"));
        assert_ne!(a, fingerprint("POST", "/y", b"{}"));
        assert_ne!(a, fingerprint("POST", "/x", b"{ }"));
    }
}
