//! Authentication extractors for the Connect API's three audiences, and the cache that keeps key verification
//! off the database.
//!
//! - [`OperatorAuth`]: `Authorization: Bearer <session JWT>` from `/auth/login` (verified by signature, no I/O).
//! - [`OwnerAuth`]: `x-api-key: <customer_secret>`.
//! - [`Caller`]: an owner key, or `Authorization: Bearer sxu_...` (a user token, which reaches only its user).
//!
//! Secrets are looked up by their keyed hash ([`sova_auth::keys::KeyHasher`]). A verified credential stays in
//! the [`Caches`](crate::cache::Caches) until it is revoked, rotated, or its customer changes; each such change removes it there and is
//! broadcast to other replicas through the store (PostgreSQL `NOTIFY`), so a revoked key stops working everywhere.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use sova_auth::session::SessionError;
use sova_proto::ErrorCode;

use crate::cache::{CachedCredential, CachedUserToken};
use crate::envelope::{REQUEST, now_ms};
use crate::error::ApiError;
use crate::state::ApiContext;

/// Prefix of user tokens.
pub const USER_TOKEN_PREFIX: &str = "sxu_";

/// How often `last_used_at` is written for a busy credential.
const TOUCH_EVERY_MS: i64 = 60_000;

/// Invalidate locally and tell the other replicas.
pub async fn broadcast_invalidation(ctx: &ApiContext, msg: &str) {
    ctx.auth.invalidate(msg);
    if let Err(e) = ctx.store.notify_auth_change(msg).await {
        tracing::error!(error = %e, "could not broadcast auth invalidation; other replicas may serve a stale key");
    }
}

/// Spawn the task that applies other replicas' invalidations (PostgreSQL only).
pub async fn spawn_invalidation_listener(ctx: ApiContext) -> anyhow::Result<()> {
    use futures::StreamExt;
    if let Some(mut stream) = ctx.store.listen_auth_changes().await? {
        tokio::spawn(async move {
            while let Some(msg) = stream.next().await {
                ctx.auth.invalidate(&msg);
            }
        });
    }
    Ok(())
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn api_key(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim)
}

/// Count the request against `key`'s window and remember the state for the response headers.
pub(crate) fn rate_limit(ctx: &ApiContext, key: &str) -> Result<(), ApiError> {
    let res = ctx.limiter.check(key);
    let info = match &res {
        Ok(i) => *i,
        Err((_, i)) => *i,
    };
    let _ = REQUEST.try_with(|r| *r.rate.lock() = Some(info));
    res.map(|_| ()).map_err(|(e, _)| e)
}

/// An operator, authenticated by a session token.
#[derive(Debug, Clone)]
pub struct OperatorAuth {
    /// Operator id.
    pub operator_id: String,
}

impl FromRequestParts<ApiContext> for OperatorAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &ApiContext) -> Result<Self, Self::Rejection> {
        let Some(token) = bearer(&parts.headers) else {
            return Err(ApiError::unauthorized(
                "missing session: send `Authorization: Bearer <token>` with the token from POST /sovx/v1/auth/login",
            ));
        };
        if token.starts_with(USER_TOKEN_PREFIX) {
            return Err(ApiError::forbidden("a user token cannot manage customers; use an account session token"));
        }
        let claims = ctx.sessions.verify(token, now_ms() / 1000).map_err(|e| match e {
            SessionError::Expired => ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::TokenExpired, e.to_string()),
            SessionError::Invalid => ApiError::unauthorized("session token is not valid; log in again"),
        })?;
        rate_limit(ctx, &format!("op:{}", claims.sub))?;
        Ok(OperatorAuth { operator_id: claims.sub })
    }
}

/// A customer, authenticated by an owner key (`x-api-key`).
#[derive(Debug, Clone)]
pub struct OwnerAuth {
    /// The customer.
    pub customer_id: String,
    /// The credential used.
    pub credential_id: String,
}

pub(crate) async fn verify_owner_key(ctx: &ApiContext, key: &str) -> Result<OwnerAuth, ApiError> {
    let invalid = || ApiError::unauthorized("invalid API key: check the `x-api-key` value (the customer_secret)");
    if key.is_empty() || key.len() > 256 {
        return Err(invalid());
    }
    let hash = ctx.hasher.hash(key);
    let cred = match ctx.auth.creds.get(hash.as_str()) {
        Some(c) => c,
        None => {
            let epoch = ctx.auth.epoch();
            let Some((row, customer_status)) = ctx.store.credential_by_hash(hash.as_str()).await? else {
                return Err(invalid());
            };
            let c = Arc::new(CachedCredential {
                id: row.id,
                customer_id: row.customer_id,
                expires_at: row.expires_at,
                revoked: row.revoked_at.is_some(),
                customer_active: customer_status == "ACTIVE",
                last_touch: std::sync::atomic::AtomicI64::new(row.last_used_at.unwrap_or(0)),
            });
            ctx.auth.creds.insert_if(&ctx.auth, epoch, hash.0.clone(), c.clone());
            c
        }
    };
    let now = now_ms();
    if cred.revoked {
        return Err(invalid());
    }
    if cred.expires_at.is_some_and(|e| e <= now) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "API key has expired; mint a new one",
        ));
    }
    if !cred.customer_active {
        return Err(ApiError::forbidden("customer is suspended"));
    }
    touch_later(ctx, &cred.last_touch, &cred.id);
    rate_limit(ctx, &format!("cred:{}", cred.id))?;
    Ok(OwnerAuth { customer_id: cred.customer_id.clone(), credential_id: cred.id.clone() })
}

/// Record a credential's use in the background, at most once a minute per credential.
pub fn touch_later(ctx: &ApiContext, last_touch: &std::sync::atomic::AtomicI64, credential_id: &str) {
    let now = now_ms();
    let last = last_touch.load(Ordering::Relaxed);
    if now - last > TOUCH_EVERY_MS
        && last_touch.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
    {
        let (store, id) = (ctx.store.clone(), credential_id.to_string());
        tokio::spawn(async move {
            if let Err(e) = store.touch_credential(&id, now).await {
                tracing::warn!(error = %e, "could not record credential use");
            }
        });
    }
}

/// A request already verified by the `Cs-*` middleware: the owner identity it carries.
fn hmac_owner(ctx: &ApiContext, parts: &Parts) -> Option<Result<OwnerAuth, ApiError>> {
    let id = parts.extensions.get::<crate::hmac::HmacIdentity>()?;
    Some(
        rate_limit(ctx, &format!("cred:{}", id.credential_id))
            .map(|_| OwnerAuth { customer_id: id.customer_id.clone(), credential_id: id.credential_id.clone() }),
    )
}

async fn verify_user_token(ctx: &ApiContext, token: &str) -> Result<Caller, ApiError> {
    let invalid = || ApiError::unauthorized("invalid user token: mint one with POST /sovx/v1/users/{user_id}/tokens");
    if token.len() > 256 {
        return Err(invalid());
    }
    let hash = ctx.hasher.hash(token);
    let t = match ctx.auth.tokens.get(hash.as_str()) {
        Some(t) => t,
        None => {
            let epoch = ctx.auth.epoch();
            let Some(row) = ctx.store.user_token_by_hash(hash.as_str()).await? else {
                return Err(invalid());
            };
            // A suspended user or customer has no valid tokens.
            let user_ok = ctx.store.user(&row.customer_id, &row.user_id).await?.is_some_and(|u| u.status == "ACTIVE");
            let cust_ok = ctx.store.customer(&row.customer_id).await?.is_some_and(|c| c.status == "ACTIVE");
            let t = Arc::new(CachedUserToken {
                id: row.id,
                user_id: row.user_id,
                customer_id: row.customer_id,
                expires_at: row.expires_at,
                revoked: row.revoked_at.is_some() || !user_ok || !cust_ok,
            });
            ctx.auth.tokens.insert_if(&ctx.auth, epoch, hash.0.clone(), t.clone());
            t
        }
    };
    if t.revoked {
        return Err(invalid());
    }
    if t.expires_at <= now_ms() {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::TokenExpired,
            "user token has expired; mint a new one",
        ));
    }
    rate_limit(ctx, &format!("token:{}", t.id))?;
    Ok(Caller::User { customer_id: t.customer_id.clone(), user_id: t.user_id.clone() })
}

impl FromRequestParts<ApiContext> for OwnerAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &ApiContext) -> Result<Self, Self::Rejection> {
        if let Some(r) = hmac_owner(ctx, parts) {
            return r;
        }
        match api_key(&parts.headers) {
            Some(k) => verify_owner_key(ctx, k).await,
            None if bearer(&parts.headers).is_some_and(|t| t.starts_with(USER_TOKEN_PREFIX)) => {
                Err(ApiError::forbidden("this call needs the owner key (`x-api-key`); a user token cannot make it"))
            }
            None => Err(ApiError::unauthorized(
                "missing API key: send the customer_secret as the `x-api-key` header (lower-case), or sign the request with the Cs-* headers",
            )),
        }
    }
}

/// An owner key or a user token.
#[derive(Debug, Clone)]
pub enum Caller {
    /// The customer's owner key: reaches all its users.
    Owner(OwnerAuth),
    /// A user token: reaches only its own user.
    User {
        /// Customer.
        customer_id: String,
        /// The one user it reaches.
        user_id: String,
    },
}

impl Caller {
    /// The tenant.
    pub fn customer_id(&self) -> &str {
        match self {
            Caller::Owner(o) => &o.customer_id,
            Caller::User { customer_id, .. } => customer_id,
        }
    }

    /// The user a user token is limited to.
    pub fn only_user(&self) -> Option<&str> {
        match self {
            Caller::Owner(_) => None,
            Caller::User { user_id, .. } => Some(user_id),
        }
    }

    /// 404 unless this caller may see `user_id`'s resources.
    pub fn check_user(&self, user_id: &str, what: &str) -> Result<(), ApiError> {
        match self.only_user() {
            Some(u) if u != user_id => Err(ApiError::not_found(what)),
            _ => Ok(()),
        }
    }

    /// 403 unless this is the owner key.
    pub fn require_owner(&self) -> Result<&OwnerAuth, ApiError> {
        match self {
            Caller::Owner(o) => Ok(o),
            Caller::User { .. } => Err(ApiError::forbidden("this call needs the owner key (`x-api-key`)")),
        }
    }
}

impl FromRequestParts<ApiContext> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &ApiContext) -> Result<Self, Self::Rejection> {
        if let Some(r) = hmac_owner(ctx, parts) {
            return r.map(Caller::Owner);
        }
        if let Some(k) = api_key(&parts.headers) {
            return verify_owner_key(ctx, k).await.map(Caller::Owner);
        }
        match bearer(&parts.headers) {
            Some(t) if t.starts_with(USER_TOKEN_PREFIX) => verify_user_token(ctx, t).await,
            Some(_) => Err(ApiError::unauthorized(
                "an account session cannot call the user API: send the owner key as `x-api-key`, or a user token",
            )),
            None => Err(ApiError::unauthorized(
                "missing credentials: send the owner key as `x-api-key` or a user token as `Authorization: Bearer`",
            )),
        }
    }
}
