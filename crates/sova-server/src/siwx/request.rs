//! The checks every SIWX request passes before its handler runs, in this order:
//!
//! 1. `Authorization: Bearer <customer_secret>`: an owner API key of the tenant (the same secret the Connect API takes
//!    as `x-api-key`, verified through the same cache), counted against its rate limit.
//!    A POST without a well-formed `Idempotency-Key` is refused here (400).
//! 2. The raw body is read (within the body limit); nothing is parsed yet.
//! 3. RFC 9421 (`sova_auth::httpsig`): policy checks, the tenant's key by `keyid`, `alg` agreement, the signature over
//!    the signature base built from the public origin and the received `Signature-Input` member verbatim.
//! 4. RFC 9530 `Content-Digest` over the exact bytes received (requests with a body).
//! 5. The signature's `nonce`, if any, is recorded in the database: a second use is refused on every replica.
//! 6. POST: `Idempotency-Key` (required) is claimed, or the recorded answer replayed.
//!
//! Verification runs inline on the request's worker thread (microseconds; no blocking pool).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, OriginalUri, Request};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use sova_auth::digest::{DigestError, verify_content_digest};
use sova_auth::httpsig::{self, HttpSigError, Message, Policy, VerifyingKey};
use sova_proto::ErrorCode;

use super::Ctx;
use super::signing_keys::{cache_key, valid_keyid, verifying_key};
use sova_http::error::ApiError;
use sova_http::idempotency::{self, Begin, Claim};

/// The longest signature `nonce` accepted (they are stored until the signature expires).
pub const MAX_NONCE_LEN: usize = 128;

/// A SIWX request that passed every check.
pub struct SiwxRequest {
    /// The tenant (Connect customer id).
    pub tenant: String,
    /// The raw body.
    pub body: Bytes,
    /// The claimed idempotency key (POST).
    pub claim: Option<Claim>,
}

/// An RFC 9421 refusal: 401 with the violation's own code and what to fix.
pub fn httpsig_error(e: HttpSigError) -> ApiError {
    let code = ErrorCode::from_wire(e.code()).unwrap_or(ErrorCode::Unauthorized);
    let hint = match &e {
        HttpSigError::UnknownKey(_) => {
            "; register the key with POST /sovx/v1/customers/{customer_id}/signing-keys (revoked keys are refused)"
        }
        HttpSigError::MissingComponent(_) => {
            "; cover \"@method\" \"@target-uri\" \"authorization\", plus \"content-digest\" \"content-type\" \
             \"idempotency-key\" on requests with a body"
        }
        HttpSigError::StaleCreated { .. } | HttpSigError::CreatedInFuture { .. } => {
            "; sign each request when sending it (check the client clock)"
        }
        HttpSigError::BadSignature => {
            "; sign the RFC 9421 signature base with the registered key, @target-uri/@authority as the public origin \
             (ECDSA signatures raw r|s, 64 bytes)"
        }
        HttpSigError::ReplayedNonce => "; use a fresh nonce for every signature",
        _ => "",
    };
    ApiError::new(StatusCode::UNAUTHORIZED, code, format!("{e}{hint}"))
}

fn digest_error(e: DigestError) -> ApiError {
    let code = ErrorCode::from_wire(e.code()).unwrap_or(ErrorCode::ValidationError);
    ApiError::new(StatusCode::BAD_REQUEST, code, e.to_string()).with_field("Content-Digest")
}

/// The tenant's active key `keyid` (cached; revocation invalidates on every replica).
pub async fn load_key(ctx: &Ctx, tenant: &str, keyid: &str) -> Result<Option<Arc<VerifyingKey>>, ApiError> {
    if !valid_keyid(keyid) {
        return Ok(None);
    }
    let ck = cache_key(tenant, keyid);
    if let Some(k) = ctx.httpsig.get(&ck) {
        return Ok(Some(k));
    }
    let epoch = ctx.access.bus.epoch();
    let Some(row) = ctx.store.signing_key(tenant, keyid).await? else {
        return Ok(None);
    };
    if row.revoked_at.is_some() {
        return Ok(None);
    }
    let key = Arc::new(verifying_key(ctx, &row)?);
    ctx.httpsig.insert_if(epoch, ck, key.clone());
    Ok(Some(key))
}

async fn tenant_of(ctx: &Ctx, headers: &axum::http::HeaderMap) -> Result<String, ApiError> {
    let Some(token) = sova_http::auth::bearer(headers) else {
        return Err(ApiError::unauthorized(
            "missing credentials: send `Authorization: Bearer <customer_secret>` (an owner API key of your Sova customer)",
        ));
    };
    match sova_http::auth::verify_owner_key(&ctx.access, token).await {
        Ok(owner) => Ok(owner.customer_id),
        // The Connect wording names `x-api-key`; here the same secret travels as a bearer token.
        Err(e) if e.code == ErrorCode::Unauthorized && e.message.starts_with("invalid API key") => {
            Err(ApiError::unauthorized(
                "invalid bearer token: send `Authorization: Bearer <customer_secret>` with an active owner API key",
            ))
        }
        Err(e) => Err(e),
    }
}

async fn check(ctx: &Ctx, req: Request) -> Result<Result<SiwxRequest, Response>, ApiError> {
    let (parts, body) = req.into_parts();
    let tenant = tenant_of(ctx, &parts.headers).await?;
    // A POST without a usable Idempotency-Key is refused before anything else is checked.
    let idem_key = match parts.method {
        Method::POST => Some(idempotency::key_of(&parts.headers)?.ok_or_else(idempotency::missing)?),
        _ => None,
    };
    let body =
        axum::body::to_bytes(body, ctx.access.body_limit).await.map_err(|e| sova_http::error::body_read_error(&e))?;
    let target = parts
        .extensions
        .get::<OriginalUri>()
        .and_then(|u| u.0.path_and_query().map(|p| p.as_str().to_string()))
        .unwrap_or_else(|| parts.uri.to_string());

    // RFC 9421.
    let msg = Message::request(&ctx.origin, parts.method.as_str(), &target, &parts.headers);
    let now = ctx.clock.now_ms() / 1000;
    let mut policy = Policy::sova(now, !body.is_empty() || parts.method == Method::POST);
    policy.max_skew_secs = ctx.config.httpsig_max_skew_secs;
    let sig = httpsig::prepare(&msg, &policy).map_err(httpsig_error)?;
    if sig.nonce.as_ref().is_some_and(|n| n.is_empty() || n.len() > MAX_NONCE_LEN) {
        return Err(httpsig_error(HttpSigError::MalformedSignatureInput(format!(
            "nonce must be 1 to {MAX_NONCE_LEN} characters"
        ))));
    }
    let keyid = sig.keyid.clone().unwrap_or_default();
    let key =
        load_key(ctx, &tenant, &keyid).await?.ok_or_else(|| httpsig_error(HttpSigError::UnknownKey(keyid.clone())))?;
    let verified = httpsig::verify_with_key(&msg, &sig, &key, &policy).map_err(httpsig_error)?;

    // RFC 9530, over the bytes received.
    if !body.is_empty() || parts.method == Method::POST || parts.headers.contains_key("content-digest") {
        let value = parts.headers.get("content-digest").map(|v| v.as_bytes());
        verify_content_digest(value, &body).map_err(digest_error)?;
    }

    // Nonce replay, in the database (all replicas).
    if let Some(nonce) = &verified.nonce {
        let until_ms =
            verified.replay_until.unwrap_or(now + policy.max_skew_secs).saturating_add(1).saturating_mul(1000);
        if !ctx.store.use_signature_nonce(&tenant, &keyid, nonce, until_ms, ctx.clock.now_ms()).await? {
            return Err(httpsig_error(HttpSigError::ReplayedNonce));
        }
    }

    // Idempotency.
    let mut claim = None;
    if let Some(key) = idem_key {
        let fp = idempotency::fingerprint(parts.method.as_str(), &target, &body);
        match idempotency::begin(&ctx.access, format!("siwx:{tenant}"), key, fp).await? {
            Begin::Answer(resp) => return Ok(Err(resp)),
            Begin::Proceed(c) => claim = Some(c),
        }
    }
    Ok(Ok(SiwxRequest { tenant, body, claim }))
}

impl<S: Send + Sync> FromRequest<S> for SiwxRequest
where
    Ctx: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ctx = &Ctx::from_ref(state);
        match check(ctx, req).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(replay)) => Err(replay),
            Err(e) => Err(e.into_response()),
        }
    }
}
