//! Account sessions, customers and their owner credentials (operator audience, "SX Customers").

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use sova_auth::session::SessionClaims;
use sova_proto::connect::{self as wire, Envelope, LoginEnvelope};
use sova_store::{CustomerPatch, StoreError};

use super::Ctx;
use super::{credential_view, customer_view};
use sova_http::auth::OperatorAuth;
use sova_http::context::meta;
use sova_http::credentials::{Minted, NewCredential, forget, mint, passphrase_hash};
use sova_http::envelope::{created, list, ok};
use sova_http::error::{ApiError, ApiResult};
use sova_http::extract::{JsonBody, OptionalJsonBody};
use sova_http::filters::Filters;
use sova_http::time::iso;
use sova_http::validate;

const CUSTOMER_STATUSES: &[&str] = &["ACTIVE", "SUSPENDED"];
/// Length of a customer_secret (base62), as in the document's example.
const MAX_TTL_SECS: u64 = 30 * 24 * 3600;

/// Log in with an operator account; answers a Bearer session token.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = wire::LoginRequest,
    responses((status = 200, body = LoginEnvelope), (status = 401, body = wire::ErrorEnvelope)))]
pub async fn login(State(ctx): State<Ctx>, JsonBody(req): JsonBody<wire::LoginRequest>) -> ApiResult<Response> {
    let op = sova_http::operators::sign_in(&ctx.access, &req.email, &req.password).await?;
    let now = ctx.clock.now_ms() / 1000;
    let exp = now + i64::try_from(ctx.session_ttl_secs).unwrap_or(3600);
    let claims = SessionClaims { sub: op.id, sid: uuid::Uuid::new_v4().to_string(), iat: now, exp, iss: "sova".into() };
    let token = ctx.access.sessions.issue(&claims).map_err(ApiError::internal)?;
    let expires = iso(exp * 1000);
    Ok(Json(LoginEnvelope {
        success: true,
        data: wire::LoginResponse { token: token.clone(), expires: expires.clone() },
        token,
        expires,
        meta: meta(None),
    })
    .into_response())
}

/// Create a customer (a tenant). `customer_id` is chosen by the client and must be unique.
#[utoipa::path(post, path = "/customers", tag = "customers", request_body = wire::CreateCustomerRequest,
    security(("session" = [])),
    responses((status = 201, body = Envelope<wire::Customer>), (status = 409, body = wire::ErrorEnvelope)))]
pub async fn create_customer(
    State(ctx): State<Ctx>,
    op: OperatorAuth,
    JsonBody(req): JsonBody<wire::CreateCustomerRequest>,
) -> ApiResult<Response> {
    let now = ctx.clock.now_ms();
    let c = sova_store::Customer {
        customer_id: validate::slug("customer_id", &req.customer_id)?,
        email: validate::email("email", &req.email)?,
        entity_name: validate::text("entity_name", &req.entity_name, 200)?,
        status: "ACTIVE".into(),
        created_by: op.operator_id,
        created_at: now,
        updated_at: now,
    };
    match ctx.store.create_customer(&c).await {
        Ok(()) => Ok(created(customer_view(c))),
        Err(StoreError::Conflict(_)) => {
            Err(ApiError::conflict(format!("customer_id `{}` is already taken; choose another", c.customer_id))
                .with_field("customer_id"))
        }
        Err(e) => Err(e.into()),
    }
}

/// List customers.
#[utoipa::path(get, path = "/customers", tag = "customers", security(("session" = [])),
    responses((status = 200, body = Envelope<Vec<wire::Customer>>)))]
pub async fn list_customers(State(ctx): State<Ctx>, _op: OperatorAuth, f: Filters) -> ApiResult<Response> {
    let q = f.to_query(
        &["customer_id", "email", "entity_name", "status"],
        &["created_at", "updated_at", "customer_id", "entity_name"],
    )?;
    let page = ctx.store.list_customers(&q).await?;
    Ok(list(page.items.into_iter().map(customer_view).collect(), page.total, q.limit, q.skip))
}

async fn load_customer(ctx: &Ctx, customer_id: &str) -> ApiResult<sova_store::Customer> {
    ctx.store.customer(customer_id).await?.ok_or_else(|| ApiError::not_found("customer"))
}

/// Read a customer.
#[utoipa::path(get, path = "/customers/{customer_id}", tag = "customers", security(("session" = [])),
    params(("customer_id" = String, Path)), responses((status = 200, body = Envelope<wire::Customer>)))]
pub async fn get_customer(
    State(ctx): State<Ctx>,
    _op: OperatorAuth,
    Path(customer_id): Path<String>,
) -> ApiResult<Response> {
    Ok(ok(customer_view(load_customer(&ctx, &customer_id).await?)))
}

/// Change a customer's email, name or status. Suspending it stops its keys at once.
#[utoipa::path(patch, path = "/customers/{customer_id}", tag = "customers", security(("session" = [])),
    params(("customer_id" = String, Path)), request_body = wire::UpdateCustomerRequest,
    responses((status = 200, body = Envelope<wire::Customer>)))]
pub async fn update_customer(
    State(ctx): State<Ctx>,
    _op: OperatorAuth,
    Path(customer_id): Path<String>,
    JsonBody(req): JsonBody<wire::UpdateCustomerRequest>,
) -> ApiResult<Response> {
    let patch = CustomerPatch {
        email: req.email.as_deref().map(|e| validate::email("email", e)).transpose()?,
        entity_name: req.entity_name.as_deref().map(|n| validate::text("entity_name", n, 200)).transpose()?,
        status: req
            .status
            .as_deref()
            .map(|s| validate::one_of("status", s, CUSTOMER_STATUSES))
            .transpose()?
            .map(String::from),
    };
    let c = ctx.store.update_customer(&customer_id, &patch, ctx.clock.now_ms()).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("customer"),
        e => e.into(),
    })?;
    if patch.status.is_some() {
        ctx.access.broadcast(&format!("customer:{}", c.customer_id)).await;
    }
    Ok(ok(customer_view(c)))
}

fn secret_view(m: Minted) -> wire::CredentialSecret {
    wire::CredentialSecret {
        customer_id: m.row.customer_id,
        customer_secret: m.customer_secret,
        credential_id: m.row.id,
        prefix: m.row.prefix,
        created_at: iso(m.row.created_at),
        expires_at: m.row.expires_at.map(iso),
        access_key: m.row.access_key,
        secret_key: m.secret_key,
    }
}

/// Mint an owner key (`customer_secret`, sent as `x-api-key`). With a `passphrase`, the credential also gets an
/// `access_key` and `secret_key` for the `Cs-*` HMAC scheme. Every secret is shown only in this response.
#[utoipa::path(post, path = "/customers/{customer_id}/credentials", tag = "credentials", security(("session" = [])),
    params(("customer_id" = String, Path)), request_body(content = Option<wire::CreateCredentialRequest>),
    responses((status = 201, body = Envelope<wire::CredentialSecret>)))]
pub async fn create_credential(
    State(ctx): State<Ctx>,
    _op: OperatorAuth,
    Path(customer_id): Path<String>,
    OptionalJsonBody(req): OptionalJsonBody<wire::CreateCredentialRequest>,
) -> ApiResult<Response> {
    let c = load_customer(&ctx, &customer_id).await?;
    let name = req.name.as_deref().map(|n| validate::text("name", n, 100)).transpose()?;
    let passphrase_hash = req.passphrase.as_deref().map(|p| passphrase_hash(&ctx.access, p)).transpose()?;
    let m = mint(&ctx.access, &c.customer_id, NewCredential { name, expires_in: req.expires_in, passphrase_hash })?;
    ctx.store.create_credential(&m.row).await?;
    Ok(created(secret_view(m)))
}

/// List a customer's credentials (never their secrets).
#[utoipa::path(get, path = "/customers/{customer_id}/credentials", tag = "credentials", security(("session" = [])),
    params(("customer_id" = String, Path)), responses((status = 200, body = Envelope<Vec<wire::Credential>>)))]
pub async fn list_credentials(
    State(ctx): State<Ctx>,
    _op: OperatorAuth,
    Path(customer_id): Path<String>,
    f: Filters,
) -> ApiResult<Response> {
    load_customer(&ctx, &customer_id).await?;
    let q = f.to_query(&["name", "prefix"], &["created_at"])?;
    let page = ctx.store.list_credentials(&customer_id, &q).await?;
    Ok(list(
        page.items.into_iter().map(|c| credential_view(c, ctx.clock.now_ms())).collect(),
        page.total,
        q.limit,
        q.skip,
    ))
}

/// Read one credential.
#[utoipa::path(get, path = "/customers/{customer_id}/credentials/{credential_id}", tag = "credentials",
    security(("session" = [])), params(("customer_id" = String, Path), ("credential_id" = String, Path)),
    responses((status = 200, body = Envelope<wire::Credential>)))]
pub async fn get_credential(
    State(ctx): State<Ctx>,
    _op: OperatorAuth,
    Path((customer_id, credential_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let row =
        ctx.store.credential(&customer_id, &credential_id).await?.ok_or_else(|| ApiError::not_found("credential"))?;
    Ok(ok(credential_view(row, ctx.clock.now_ms())))
}

/// Revoke a credential at once (idempotent). Every replica stops accepting it, in both schemes.
#[utoipa::path(delete, path = "/customers/{customer_id}/credentials/{credential_id}", tag = "credentials",
    security(("session" = [])), params(("customer_id" = String, Path), ("credential_id" = String, Path)),
    responses((status = 200, body = Envelope<wire::Credential>)))]
pub async fn revoke_credential(
    State(ctx): State<Ctx>,
    _op: OperatorAuth,
    Path((customer_id, credential_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let row =
        ctx.store.revoke_credential(&customer_id, &credential_id, ctx.clock.now_ms()).await.map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found("credential"),
            e => e.into(),
        })?;
    forget(&ctx.access, &row).await;
    Ok(ok(credential_view(row, ctx.clock.now_ms())))
}

/// Rotate: mint new secrets (and a new access key if the credential has the HMAC scheme); the old ones keep working
/// for `grace_seconds` (default 3600; 0 revokes them now). The passphrase stays unless a new one is given.
#[utoipa::path(post, path = "/customers/{customer_id}/credentials/{credential_id}/rotate", tag = "credentials",
    security(("session" = [])), params(("customer_id" = String, Path), ("credential_id" = String, Path)),
    request_body(content = Option<wire::RotateCredentialRequest>),
    responses((status = 201, body = Envelope<wire::CredentialSecret>)))]
pub async fn rotate_credential(
    State(ctx): State<Ctx>,
    _op: OperatorAuth,
    Path((customer_id, credential_id)): Path<(String, String)>,
    OptionalJsonBody(req): OptionalJsonBody<wire::RotateCredentialRequest>,
) -> ApiResult<Response> {
    let grace = req.grace_seconds.unwrap_or(3600);
    if grace > MAX_TTL_SECS {
        return Err(ApiError::validation("grace_seconds", "`grace_seconds` must be at most 2592000 (30 days)"));
    }
    let old =
        ctx.store.credential(&customer_id, &credential_id).await?.ok_or_else(|| ApiError::not_found("credential"))?;
    let passphrase_hash = match req.passphrase.as_deref() {
        Some(p) => Some(passphrase_hash(&ctx.access, p)?),
        None => old.passphrase_hash.clone(),
    };
    let remaining = old.expires_at.map(|e| u64::try_from((e - ctx.clock.now_ms()) / 1000).unwrap_or(60).max(60));
    let m = mint(
        &ctx.access,
        &customer_id,
        NewCredential { name: old.name.clone(), expires_in: remaining, passphrase_hash },
    )?;
    let now = ctx.clock.now_ms();
    let old_expires = (grace > 0).then(|| now + i64::try_from(grace * 1000).unwrap_or(0));
    let old = ctx.store.rotate_credential(&customer_id, &credential_id, &m.row, old_expires, now).await.map_err(
        |e| match e {
            StoreError::NotFound => ApiError::not_found("credential"),
            e => e.into(),
        },
    )?;
    forget(&ctx.access, &old).await;
    Ok(created(secret_view(m)))
}
