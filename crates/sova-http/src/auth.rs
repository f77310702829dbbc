//! Who is calling: the authentication every surface shares, and its state ([`Access`]).
//!
//! - [`OperatorAuth`]: `Authorization: Bearer <session JWT>` from `/auth/login` (verified by signature, no I/O).
//! - [`OwnerAuth`]: `x-api-key: <customer_secret>`, or a request signed with the `Cs-*` headers.
//! - [`Caller`]: an owner key, or `Authorization: Bearer sxu_...` (a user token, which reaches only its user).
//!
//! Secrets are looked up by their keyed hash ([`sova_auth::keys::KeyHasher`]). A verified credential stays cached
//! until it is revoked, rotated, or its customer changes; each such change is broadcast on the
//! [`Invalidations`](crate::cache::Invalidations) bus (and through the store to the other replicas), so a revoked key stops working everywhere.
//! [`identify`] is the one path that decides who a caller is; the extractors add the rate limit on top.

use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use sova_auth::session::SessionError;
use sova_proto::ErrorCode;

use crate::access::{Access, CachedCredential, CachedUserToken, touch_later};
use crate::context::set_rate;
use crate::error::ApiError;
use crate::hmac::HmacIdentity;

/// Prefix of user tokens.
pub const USER_TOKEN_PREFIX: &str = "sxu_";

/// The bearer token of `Authorization`, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn api_key(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim)
}

/// Count the request against `key`'s window and remember the state for the response headers.
pub async fn rate_limit(ctx: &Access, key: &str) -> Result<(), ApiError> {
    match ctx.limiter.check(key).await {
        Ok(info) => {
            set_rate(info);
            Ok(())
        }
        Err(limited) => {
            set_rate(limited.info);
            Err(limited.into())
        }
    }
}

/// An operator, authenticated by a session token.
#[derive(Debug, Clone)]
pub struct OperatorAuth {
    /// Operator id.
    pub operator_id: String,
}

impl<S: Send + Sync> FromRequestParts<S> for OperatorAuth
where
    Arc<Access>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ctx = &*Arc::<Access>::from_ref(state);
        let Some(token) = bearer(&parts.headers) else {
            return Err(ApiError::unauthorized(
                "missing session: send `Authorization: Bearer <token>` with the token from POST /sovx/v1/auth/login",
            ));
        };
        if token.starts_with(USER_TOKEN_PREFIX) {
            return Err(ApiError::forbidden("a user token cannot manage customers; use an account session token"));
        }
        let op = operator_session(ctx, token)?;
        rate_limit(ctx, &format!("op:{}", op.operator_id)).await?;
        Ok(op)
    }
}

/// The operator a session token belongs to (a signature check, no I/O).
fn operator_session(ctx: &Access, token: &str) -> Result<OperatorAuth, ApiError> {
    let claims = ctx.sessions.verify(token, ctx.clock.now_ms() / 1000).map_err(|e| match e {
        SessionError::Expired => ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::TokenExpired, e.to_string()),
        SessionError::Invalid => ApiError::unauthorized("session token is not valid; log in again"),
    })?;
    Ok(OperatorAuth { operator_id: claims.sub })
}

/// Who may manage one customer's settings (webhooks, withdrawal policies, approvals): an operator session (any
/// customer; the vendor's rule for its customer pages), or the customer's own owner key or `Cs-*` signature (only
/// its own customer). A user token is refused.
#[derive(Debug, Clone)]
pub enum OperatorOrOwner {
    /// An operator session.
    Operator(OperatorAuth),
    /// A customer's owner credential.
    Owner(OwnerAuth),
}

impl OperatorOrOwner {
    /// Whether it may act on `customer_id` (the caller answers another tenant's id with 404, as if it did not
    /// exist).
    pub fn may(&self, customer_id: &str) -> bool {
        match self {
            Self::Operator(_) => true,
            Self::Owner(o) => o.customer_id == customer_id,
        }
    }

    /// Check that it may act on `customer_id` and that the customer exists: another tenant's id and an unknown
    /// one both answer 404.
    pub async fn customer(&self, store: &dyn sova_store::Store, customer_id: &str) -> Result<(), ApiError> {
        if !self.may(customer_id) || store.customer(customer_id).await?.is_none() {
            return Err(ApiError::not_found("customer"));
        }
        Ok(())
    }

    /// Who, as events and votes record it: `operator:<id>` or `credential:<id>`.
    pub fn actor(&self) -> String {
        match self {
            Self::Operator(op) => format!("operator:{}", op.operator_id),
            Self::Owner(o) => format!("credential:{}", o.credential_id),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for OperatorOrOwner
where
    Arc<Access>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match bearer(&parts.headers) {
            Some(t) if !t.starts_with(USER_TOKEN_PREFIX) => {
                Ok(Self::Operator(OperatorAuth::from_request_parts(parts, state).await?))
            }
            Some(_) => Err(ApiError::forbidden(
                "a user token cannot manage a customer; use an account session or the customer's owner key",
            )),
            None => Ok(Self::Owner(OwnerAuth::from_request_parts(parts, state).await?)),
        }
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

impl OwnerAuth {
    /// The rate-limit window it counts against.
    pub fn window(&self) -> String {
        format!("cred:{}", self.credential_id)
    }
}

/// Verify an owner key and count the request against its window.
pub async fn verify_owner_key(ctx: &Access, key: &str) -> Result<OwnerAuth, ApiError> {
    let owner = owner_key(ctx, key).await?;
    rate_limit(ctx, &owner.window()).await?;
    Ok(owner)
}

/// Who an owner key belongs to (through the cache), without counting the request.
async fn owner_key(ctx: &Access, key: &str) -> Result<OwnerAuth, ApiError> {
    let invalid = || ApiError::unauthorized("invalid API key: check the `x-api-key` value (the customer_secret)");
    if key.is_empty() || key.len() > 256 {
        return Err(invalid());
    }
    let hash = ctx.hasher.hash(key);
    let cred = match ctx.creds.get(hash.as_str()) {
        Some(c) => c,
        None => {
            let epoch = ctx.bus.epoch();
            let Some((row, customer_status)) = ctx.store.credential_by_hash(hash.as_str()).await? else {
                return Err(invalid());
            };
            let c = Arc::new(CachedCredential {
                id: row.id,
                customer_id: row.customer_id,
                expires_at: row.expires_at,
                revoked: row.revoked_at.is_some(),
                customer_active: customer_status == "ACTIVE",
                last_touch: AtomicI64::new(row.last_used_at.unwrap_or(0)),
            });
            ctx.creds.insert_if(epoch, hash.0.clone(), c.clone());
            c
        }
    };
    let now = ctx.clock.now_ms();
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
    Ok(OwnerAuth { customer_id: cred.customer_id.clone(), credential_id: cred.id.clone() })
}

/// The owner identity of a request already verified by the `Cs-*` middleware.
fn signed_owner(parts: &Parts) -> Option<OwnerAuth> {
    let id = parts.extensions.get::<HmacIdentity>()?;
    Some(OwnerAuth { customer_id: id.customer_id.clone(), credential_id: id.credential_id.clone() })
}

/// The same, counted against its window.
async fn hmac_owner(ctx: &Access, parts: &Parts) -> Option<Result<OwnerAuth, ApiError>> {
    let owner = signed_owner(parts)?;
    Some(rate_limit(ctx, &owner.window()).await.map(|_| owner))
}

async fn verify_user_token(ctx: &Access, token: &str) -> Result<Caller, ApiError> {
    let (caller, window) = user_token(ctx, token).await?;
    rate_limit(ctx, &window).await?;
    Ok(caller)
}

/// Who a user token belongs to (through the cache), and its rate-limit window, without counting the request.
async fn user_token(ctx: &Access, token: &str) -> Result<(Caller, String), ApiError> {
    let invalid = || ApiError::unauthorized("invalid user token: mint one with POST /sovx/v1/users/{user_id}/tokens");
    if token.len() > 256 {
        return Err(invalid());
    }
    let hash = ctx.hasher.hash(token);
    let t = match ctx.tokens.get(hash.as_str()) {
        Some(t) => t,
        None => {
            let epoch = ctx.bus.epoch();
            let Some(row) = ctx.store.user_token_by_hash(hash.as_str()).await? else {
                return Err(invalid());
            };
            // A suspended or deleted user, or a suspended customer, has no valid tokens (a PENDING user's token
            // authenticates; its work is refused until the user is activated).
            let user_ok = ctx
                .store
                .user(&row.customer_id, &row.user_id)
                .await?
                .is_some_and(|u| matches!(u.status.as_str(), "ACTIVE" | "PENDING"));
            let cust_ok = ctx.store.customer(&row.customer_id).await?.is_some_and(|c| c.status == "ACTIVE");
            let t = Arc::new(CachedUserToken {
                id: row.id,
                user_id: row.user_id,
                customer_id: row.customer_id,
                expires_at: row.expires_at,
                revoked: row.revoked_at.is_some() || !user_ok || !cust_ok,
            });
            ctx.tokens.insert_if(epoch, hash.0.clone(), t.clone());
            t
        }
    };
    if t.revoked {
        return Err(invalid());
    }
    if t.expires_at <= ctx.clock.now_ms() {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::TokenExpired,
            "user token has expired; mint a new one",
        ));
    }
    Ok((Caller::User { customer_id: t.customer_id.clone(), user_id: t.user_id.clone() }, format!("token:{}", t.id)))
}

impl<S: Send + Sync> FromRequestParts<S> for OwnerAuth
where
    Arc<Access>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ctx = &*Arc::<Access>::from_ref(state);
        if let Some(r) = hmac_owner(ctx, parts).await {
            return r;
        }
        match api_key(&parts.headers) {
            Some(k) if k.starts_with(USER_TOKEN_PREFIX) => {
                Err(ApiError::forbidden("this call needs the owner key (`x-api-key`); a user token cannot make it"))
            }
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

impl<S: Send + Sync> FromRequestParts<S> for Caller
where
    Arc<Access>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ctx = &*Arc::<Access>::from_ref(state);
        if let Some(r) = hmac_owner(ctx, parts).await {
            return r.map(Caller::Owner);
        }
        if let Some(k) = api_key(&parts.headers) {
            // The vendor's reference also sends a user token as `x-api-key`.
            if k.starts_with(USER_TOKEN_PREFIX) {
                return verify_user_token(ctx, k).await;
            }
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

/// Who a request comes from, whichever credential it carries: the one path the extractors above and the
/// idempotency layer share.
#[derive(Debug, Clone)]
pub enum Identity {
    /// An owner key (`x-api-key` or `Cs-*`).
    Owner(OwnerAuth),
    /// A user token.
    User {
        /// Customer.
        customer_id: String,
        /// Its rate-limit window.
        window: String,
    },
    /// An operator session.
    Operator(OperatorAuth),
}

impl Identity {
    /// The tenant an idempotency key is scoped to (`connect:<customer>` or `connect-operator:<operator>`).
    pub fn scope(&self) -> String {
        match self {
            Identity::Owner(o) => format!("connect:{}", o.customer_id),
            Identity::User { customer_id, .. } => format!("connect:{customer_id}"),
            Identity::Operator(op) => format!("connect-operator:{}", op.operator_id),
        }
    }

    /// The rate-limit window the request counts against.
    pub fn window(&self) -> String {
        match self {
            Identity::Owner(o) => o.window(),
            Identity::User { window, .. } => window.clone(),
            Identity::Operator(op) => format!("op:{}", op.operator_id),
        }
    }
}

/// Identify the caller of a request without counting it; `None` when it carries no valid credential.
pub async fn identify(ctx: &Access, parts: &Parts) -> Option<Identity> {
    if let Some(o) = signed_owner(parts) {
        return Some(Identity::Owner(o));
    }
    let token = match api_key(&parts.headers) {
        Some(k) if k.starts_with(USER_TOKEN_PREFIX) => k,
        Some(k) => return owner_key(ctx, k).await.ok().map(Identity::Owner),
        None => bearer(&parts.headers)?,
    };
    if token.starts_with(USER_TOKEN_PREFIX) {
        let (caller, window) = user_token(ctx, token).await.ok()?;
        return Some(Identity::User { customer_id: caller.customer_id().to_string(), window });
    }
    operator_session(ctx, token).ok().map(Identity::Operator)
}
