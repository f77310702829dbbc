//! Operator API for Intel keys (`/sovx/v1/intel/keys`, account session): the HTTP twin of `sova intel-key`. The
//! Intel surface owns these routes; the app mounts them beside the Connect API's.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use sova_proto::ErrorCode;
use sova_proto::connect::Envelope;
use sova_proto::intel as wire;
use sova_store::{Charge, IntelAccount, IntelKeyRow, MAX_CREDITS, StoreError};
use std::sync::Arc;

use axum::extract::FromRef;
use sova_http::access::Access;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Ctx;
use sova_http::auth::OperatorAuth;
use sova_http::context::trace_id;
use sova_http::envelope::{created, list, ok};
use sova_http::error::{ApiError, ApiResult};
use sova_http::extract::JsonBody;
use sova_http::time::iso;
use sova_http::validate;

/// The key-management routes, relative to `/sovx/v1`.
pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Ctx: FromRef<S>,
    Arc<Access>: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(create_key))
        .routes(routes!(get_key, revoke_key))
        .routes(routes!(topup))
        .routes(routes!(usage))
}

fn view(k: &IntelKeyRow, a: &IntelAccount, key: Option<String>) -> wire::IntelKey {
    wire::IntelKey {
        key_id: k.id.clone(),
        key,
        prefix: k.prefix.clone(),
        owner: a.owner.clone(),
        remaining: a.credits,
        status: if k.revoked_at.is_some() { "REVOKED" } else { "ACTIVE" }.into(),
        created_at: iso(k.created_at),
    }
}

async fn load(ctx: &Ctx, key_id: &str) -> ApiResult<(IntelKeyRow, IntelAccount)> {
    ctx.store.intel_key(key_id).await?.ok_or_else(|| ApiError::not_found("Intel key"))
}

/// Issue an Intel key (`ak_<hex>`, shown once) for `owner`'s account, creating it or adding `credits` to it.
#[utoipa::path(post, path = "/intel/keys", tag = "intel-keys", security(("session" = [])),
    request_body = wire::CreateIntelKeyRequest, responses((status = 201, body = Envelope<wire::IntelKey>)))]
pub async fn create_key(
    State(ctx): State<Ctx>,
    _op: OperatorAuth,
    JsonBody(req): JsonBody<wire::CreateIntelKeyRequest>,
) -> ApiResult<Response> {
    let owner = validate::text("owner", &req.owner, 100)?;
    if req.credits < 0 {
        return Err(ApiError::validation("credits", "`credits` must be 0 or more"));
    }
    if req.credits > MAX_CREDITS {
        return Err(too_many_credits(StatusCode::BAD_REQUEST, format!("`credits` must be at most {MAX_CREDITS}")));
    }
    let now = ctx.clock.now_ms();
    let (key, row) = super::meter::mint_key(&ctx.access.hasher, now);
    let account = ctx.store.create_intel_key(&owner, req.credits, &row, now).await.map_err(|e| match e {
        StoreError::OutOfRange(_) => too_many_credits(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "{owner}'s account would hold more than {MAX_CREDITS} credits; add fewer (or issue the key with 0)"
            ),
        ),
        e => e.into(),
    })?;
    let row = IntelKeyRow { account_id: account.id.clone(), ..row };
    Ok(created(view(&row, &account, Some(key))))
}

/// Read a key: its account's remaining credits.
#[utoipa::path(get, path = "/intel/keys/{key_id}", tag = "intel-keys", security(("session" = [])),
    params(("key_id" = String, Path)), responses((status = 200, body = Envelope<wire::IntelKey>)))]
pub async fn get_key(State(ctx): State<Ctx>, _op: OperatorAuth, Path(key_id): Path<String>) -> ApiResult<Response> {
    let (k, a) = load(&ctx, &key_id).await?;
    Ok(ok(view(&k, &a, None)))
}

/// Revoke a key (idempotent); every replica stops accepting it.
#[utoipa::path(delete, path = "/intel/keys/{key_id}", tag = "intel-keys", security(("session" = [])),
    params(("key_id" = String, Path)), responses((status = 200, body = Envelope<wire::IntelKey>)))]
pub async fn revoke_key(State(ctx): State<Ctx>, _op: OperatorAuth, Path(key_id): Path<String>) -> ApiResult<Response> {
    load(&ctx, &key_id).await?;
    let k = ctx.store.revoke_intel_key(&key_id, ctx.clock.now_ms()).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("Intel key"),
        e => e.into(),
    })?;
    ctx.access.broadcast(&format!("intel:{}", k.key_hash)).await;
    let (k, a) = load(&ctx, &key_id).await?;
    Ok(ok(view(&k, &a, None)))
}

/// `AMOUNT_OUT_OF_RANGE` about `credits`: 400 for the request itself, 422 for what the account already holds.
fn too_many_credits(status: StatusCode, message: String) -> ApiError {
    ApiError::new(status, ErrorCode::AmountOutOfRange, message).with_field("credits")
}

/// Add credits to a key's account.
#[utoipa::path(post, path = "/intel/keys/{key_id}/topup", tag = "intel-keys", security(("session" = [])),
    params(("key_id" = String, Path)), request_body = wire::TopUpRequest, responses((status = 200, body = Envelope<wire::IntelKey>)))]
pub async fn topup(
    State(ctx): State<Ctx>,
    _op: OperatorAuth,
    Path(key_id): Path<String>,
    JsonBody(req): JsonBody<wire::TopUpRequest>,
) -> ApiResult<Response> {
    if req.credits < 1 {
        return Err(ApiError::validation("credits", "`credits` must be 1 or more"));
    }
    if req.credits > MAX_CREDITS {
        return Err(too_many_credits(StatusCode::BAD_REQUEST, format!("`credits` must be at most {MAX_CREDITS}")));
    }
    let (k, a) = load(&ctx, &key_id).await?;
    let charge = Charge {
        account_id: a.id.clone(),
        key_id: Some(k.id.clone()),
        kind: "topup",
        endpoint: String::new(),
        cost: -req.credits,
        trace_id: trace_id(),
    };
    ctx.biller.charge(charge).await?.map_err(|balance| {
        too_many_credits(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "the account holds {balance} credits; {} more would pass the most an account may hold ({MAX_CREDITS})",
                req.credits
            ),
        )
    })?;
    let (k, a) = load(&ctx, &key_id).await?;
    Ok(ok(view(&k, &a, None)))
}

/// A key's usage, newest first (calls, refunds, top-ups).
#[utoipa::path(get, path = "/intel/keys/{key_id}/usage", tag = "intel-keys", security(("session" = [])),
    params(("key_id" = String, Path)), responses((status = 200, body = Envelope<Vec<wire::Usage>>)))]
pub async fn usage(State(ctx): State<Ctx>, _op: OperatorAuth, Path(key_id): Path<String>) -> ApiResult<Response> {
    let (k, a) = load(&ctx, &key_id).await?;
    let rows = ctx.store.intel_usage(&a.id, Some(&k.id), 100).await?;
    let n = rows.len() as u64;
    let items: Vec<wire::Usage> = rows
        .into_iter()
        .map(|u| wire::Usage {
            kind: u.kind,
            endpoint: u.endpoint,
            cost: u.cost,
            calls: u.calls,
            balance: u.balance,
            trace_id: u.trace_id,
            at: iso(u.created_at),
        })
        .collect();
    Ok(list(items, n, 100, 0))
}
