//! Users of a customer ("SX Connect" with the owner key) and their bearer tokens ("SX Users").

use axum::extract::{Path, State};
use axum::response::Response;
use secrecy::ExposeSecret;
use sova_proto::connect::{self as wire, Envelope};
use sova_store::{StoreError, UserPatch, UserTokenRow};

use super::Ctx;
use super::user_view;
use sova_http::auth::{Caller, OwnerAuth, USER_TOKEN_PREFIX};
use sova_http::envelope::{created, list, ok};
use sova_http::error::{ApiError, ApiResult};
use sova_http::extract::{JsonBody, OptionalJsonBody};
use sova_http::filters::Filters;
use sova_http::idempotency::Idem;
use sova_http::time::iso;
use sova_http::validate;

const USER_TYPES: &[&str] = &["individual", "business"];
const USER_STATUSES: &[&str] = &["ACTIVE", "SUSPENDED"];
const MAX_TOKEN_TTL: u64 = 30 * 24 * 3600;

/// Create a user owned by the calling customer.
#[utoipa::path(post, path = "/users", tag = "users", security(("api_key" = [])), request_body = wire::CreateUserRequest,
    responses((status = 201, body = Envelope<wire::User>), (status = 400, body = wire::ErrorEnvelope)))]
pub async fn create_user(
    State(ctx): State<Ctx>,
    owner: OwnerAuth,
    idem: Idem,
    JsonBody(req): JsonBody<wire::CreateUserRequest>,
) -> ApiResult<Response> {
    let now = ctx.clock.now_ms();
    let u = sova_store::User {
        user_id: uuid::Uuid::new_v4().to_string(),
        customer_id: owner.customer_id,
        user_type: validate::one_of("user_type", &req.user_type, USER_TYPES)?.to_string(),
        email: validate::email("email", &req.email)?,
        first_name: validate::text("first_name", &req.first_name, 100)?,
        last_name: validate::text("last_name", &req.last_name, 100)?,
        phone: req.phone.as_deref().map(|p| validate::phone("phone", p)).transpose()?,
        date_of_birth: req.date_of_birth.as_deref().map(|d| validate::birth_date("date_of_birth", d)).transpose()?,
        country: req.country.as_deref().map(|c| validate::country("country", c)).transpose()?,
        status: "ACTIVE".into(),
        created_at: now,
        updated_at: now,
    };
    let (effects, answer) = idem.created(user_view(u.clone()))?;
    ctx.store.create_user_with(&u, &effects).await?;
    Ok(answer)
}

/// List the customer's users.
#[utoipa::path(get, path = "/users", tag = "users", security(("api_key" = [])),
    responses((status = 200, body = Envelope<Vec<wire::User>>)))]
pub async fn list_users(State(ctx): State<Ctx>, owner: OwnerAuth, f: Filters) -> ApiResult<Response> {
    let q = f.to_query(
        &["user_type", "email", "first_name", "last_name", "phone", "country", "status"],
        &["created_at", "updated_at", "email", "last_name"],
    )?;
    let page = ctx.store.list_users(&owner.customer_id, &q).await?;
    Ok(list(page.items.into_iter().map(user_view).collect(), page.total, q.limit, q.skip))
}

/// Load a user the caller may see (another tenant's user, or another user for a user token: 404).
pub(crate) async fn load_user(ctx: &Ctx, caller: &Caller, user_id: &str) -> ApiResult<sova_store::User> {
    let id = validate::uuid_path(user_id, "user")?;
    caller.check_user(&id, "user")?;
    let user = match ctx.users.get(id.as_str()) {
        Some(u) => u,
        None => {
            let epoch = ctx.access.bus.epoch();
            let Some(u) = ctx.store.user(caller.customer_id(), &id).await? else {
                return Err(ApiError::not_found("user"));
            };
            let u = std::sync::Arc::new(u);
            ctx.users.insert_if(epoch, id.clone(), u.clone());
            u
        }
    };
    // The cache is keyed by id alone: another tenant's user is still not found.
    if user.customer_id != caller.customer_id() {
        return Err(ApiError::not_found("user"));
    }
    Ok((*user).clone())
}

/// Read a user (owner key, or that user's own token).
#[utoipa::path(get, path = "/users/{user_id}", tag = "users", security(("api_key" = []), ("user_token" = [])),
    params(("user_id" = String, Path)), responses((status = 200, body = Envelope<wire::User>), (status = 404, body = wire::ErrorEnvelope)))]
pub async fn get_user(State(ctx): State<Ctx>, caller: Caller, Path(user_id): Path<String>) -> ApiResult<Response> {
    Ok(ok(user_view(load_user(&ctx, &caller, &user_id).await?)))
}

/// Change a user's profile or status (owner key). Suspending a user invalidates its tokens.
#[utoipa::path(patch, path = "/users/{user_id}", tag = "users", security(("api_key" = [])),
    params(("user_id" = String, Path)), request_body = wire::UpdateUserRequest,
    responses((status = 200, body = Envelope<wire::User>)))]
pub async fn update_user(
    State(ctx): State<Ctx>,
    owner: OwnerAuth,
    Path(user_id): Path<String>,
    JsonBody(req): JsonBody<wire::UpdateUserRequest>,
) -> ApiResult<Response> {
    let id = validate::uuid_path(&user_id, "user")?;
    let patch = UserPatch {
        email: req.email.as_deref().map(|v| validate::email("email", v)).transpose()?,
        first_name: req.first_name.as_deref().map(|v| validate::text("first_name", v, 100)).transpose()?,
        last_name: req.last_name.as_deref().map(|v| validate::text("last_name", v, 100)).transpose()?,
        phone: req.phone.as_deref().map(|v| validate::phone("phone", v)).transpose()?,
        date_of_birth: req.date_of_birth.as_deref().map(|v| validate::birth_date("date_of_birth", v)).transpose()?,
        country: req.country.as_deref().map(|v| validate::country("country", v)).transpose()?,
        status: req
            .status
            .as_deref()
            .map(|v| validate::one_of("status", v, USER_STATUSES))
            .transpose()?
            .map(String::from),
    };
    let u = ctx.store.update_user(&owner.customer_id, &id, &patch, ctx.clock.now_ms()).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("user"),
        e => e.into(),
    })?;
    ctx.access.broadcast(&format!("user:{id}")).await;
    Ok(ok(user_view(u)))
}

fn token_view(t: UserTokenRow, token: Option<String>) -> wire::UserToken {
    wire::UserToken {
        token_id: t.id,
        user_id: t.user_id,
        token,
        expires_at: iso(t.expires_at),
        created_at: iso(t.created_at),
    }
}

/// Mint a bearer token for one user (owner key). The token is shown only in this response.
#[utoipa::path(post, path = "/users/{user_id}/tokens", tag = "users", security(("api_key" = [])),
    params(("user_id" = String, Path)), request_body(content = Option<wire::CreateUserTokenRequest>),
    responses((status = 201, body = Envelope<wire::UserToken>)))]
pub async fn create_token(
    State(ctx): State<Ctx>,
    owner: OwnerAuth,
    Path(user_id): Path<String>,
    OptionalJsonBody(req): OptionalJsonBody<wire::CreateUserTokenRequest>,
) -> ApiResult<Response> {
    let caller = Caller::Owner(owner);
    let user = load_user(&ctx, &caller, &user_id).await?;
    if user.status != "ACTIVE" {
        return Err(ApiError::conflict("user is suspended; reactivate it before minting tokens"));
    }
    let ttl = req.expires_in.unwrap_or(3600);
    if !(60..=MAX_TOKEN_TTL).contains(&ttl) {
        return Err(ApiError::validation("expires_in", "`expires_in` must be 60 to 2592000 seconds"));
    }
    let (token, row) = mint_token(&ctx, &user, i64::try_from(ttl * 1000).unwrap_or(0)).await?;
    Ok(created(token_view(row, Some(token))))
}

/// How long a token from the reference's `POST /users/{user_id}/token` lives: one year.
const REFERENCE_TOKEN_TTL_MS: i64 = 365 * 24 * 3600 * 1000;

/// The vendor reference's token route (owner key, no body): a token valid one year; the user's earlier live tokens
/// are revoked, so one stays. 200 with `{token, user_id, expires}` beside Sova's token fields.
#[utoipa::path(post, path = "/users/{user_id}/token", tag = "users", security(("api_key" = [])),
    params(("user_id" = String, Path)), responses((status = 200, body = Envelope<wire::IssuedUserToken>)))]
pub async fn issue_token(State(ctx): State<Ctx>, owner: OwnerAuth, Path(user_id): Path<String>) -> ApiResult<Response> {
    let caller = Caller::Owner(owner);
    let user = load_user(&ctx, &caller, &user_id).await?;
    Ok(ok(issue_for(&ctx, ready_for_token(user)?).await?))
}

/// The reference's bulk token route (owner key): `POST /users/tokens` with `{user_ids: [...]}` gives each user a
/// new one-year token, as the single route does. Every user is checked first (unknown: 404, suspended: 409, naming
/// it), so a refused request issues nothing.
#[utoipa::path(post, path = "/users/tokens", tag = "users", security(("api_key" = [])),
    request_body = wire::IssueUserTokensRequest, responses((status = 200, body = Envelope<Vec<wire::IssuedUserToken>>)))]
pub async fn issue_tokens(
    State(ctx): State<Ctx>,
    owner: OwnerAuth,
    JsonBody(req): JsonBody<wire::IssueUserTokensRequest>,
) -> ApiResult<Response> {
    if req.user_ids.is_empty() || req.user_ids.len() > 100 {
        return Err(ApiError::validation("user_ids", "`user_ids` must list 1 to 100 users"));
    }
    let caller = Caller::Owner(owner);
    let mut users = Vec::with_capacity(req.user_ids.len());
    for id in &req.user_ids {
        let user = load_user(&ctx, &caller, id).await.map_err(|e| e.with_field("user_ids"))?;
        if !users.iter().any(|u: &sova_store::User| u.user_id == user.user_id) {
            users.push(ready_for_token(user)?);
        }
    }
    let mut issued = Vec::with_capacity(users.len());
    for user in users {
        issued.push(issue_for(&ctx, user).await?);
    }
    Ok(ok(issued))
}

fn ready_for_token(user: sova_store::User) -> ApiResult<sova_store::User> {
    if user.status != "ACTIVE" {
        return Err(ApiError::conflict(format!(
            "user {} is suspended; reactivate it before issuing a token",
            user.user_id
        )));
    }
    Ok(user)
}

/// Store a new token for `user` living `ttl_ms`: the token (shown once) and its row.
async fn mint_token(ctx: &Ctx, user: &sova_store::User, ttl_ms: i64) -> ApiResult<(String, UserTokenRow)> {
    let token = format!("{USER_TOKEN_PREFIX}{}", sova_auth::keys::random_base62(40).expose_secret());
    let now = ctx.clock.now_ms();
    let row = UserTokenRow {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user.user_id.clone(),
        customer_id: user.customer_id.clone(),
        token_hash: ctx.access.hasher.hash(&token).0,
        created_at: now,
        expires_at: now + ttl_ms,
        revoked_at: None,
    };
    ctx.store.create_user_token(&row).await?;
    Ok((token, row))
}

/// A new one-year token for `user`; the user's earlier live tokens are revoked after it is stored (a failure in
/// between leaves two live, never none).
async fn issue_for(ctx: &Ctx, user: sova_store::User) -> ApiResult<wire::IssuedUserToken> {
    let (token, row) = mint_token(ctx, &user, REFERENCE_TOKEN_TTL_MS).await?;
    let now = row.created_at;
    for old in ctx.store.list_user_tokens(&user.customer_id, &user.user_id).await? {
        if old.id != row.id && old.revoked_at.is_none() && old.expires_at > now {
            let revoked = ctx.store.revoke_user_token(&user.customer_id, &user.user_id, &old.id, now).await?;
            ctx.access.broadcast(&format!("token:{}", revoked.token_hash)).await;
        }
    }
    let expires = iso(row.expires_at);
    Ok(wire::IssuedUserToken { token: token_view(row, Some(token)), expires })
}

/// List a user's tokens (never the tokens themselves).
#[utoipa::path(get, path = "/users/{user_id}/tokens", tag = "users", security(("api_key" = [])),
    params(("user_id" = String, Path)), responses((status = 200, body = Envelope<Vec<wire::UserToken>>)))]
pub async fn list_tokens(State(ctx): State<Ctx>, owner: OwnerAuth, Path(user_id): Path<String>) -> ApiResult<Response> {
    let caller = Caller::Owner(owner);
    let user = load_user(&ctx, &caller, &user_id).await?;
    let rows = ctx.store.list_user_tokens(&user.customer_id, &user.user_id).await?;
    let n = rows.len() as u64;
    Ok(list(rows.into_iter().map(|t| token_view(t, None)).collect(), n, n, 0))
}

/// Read one of a user's tokens (never the token itself).
#[utoipa::path(get, path = "/users/{user_id}/tokens/{token_id}", tag = "users", security(("api_key" = [])),
    params(("user_id" = String, Path), ("token_id" = String, Path)), responses((status = 200, body = Envelope<wire::UserToken>)))]
pub async fn get_token(
    State(ctx): State<Ctx>,
    owner: OwnerAuth,
    Path((user_id, token_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let caller = Caller::Owner(owner);
    let user = load_user(&ctx, &caller, &user_id).await?;
    let row = ctx
        .store
        .list_user_tokens(&user.customer_id, &user.user_id)
        .await?
        .into_iter()
        .find(|t| t.id == token_id)
        .ok_or_else(|| ApiError::not_found("token"))?;
    Ok(ok(token_view(row, None)))
}

/// Revoke a user token (idempotent).
#[utoipa::path(delete, path = "/users/{user_id}/tokens/{token_id}", tag = "users", security(("api_key" = [])),
    params(("user_id" = String, Path), ("token_id" = String, Path)), responses((status = 200, body = Envelope<wire::UserToken>)))]
pub async fn revoke_token(
    State(ctx): State<Ctx>,
    owner: OwnerAuth,
    Path((user_id, token_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let row = ctx.store.revoke_user_token(&owner.customer_id, &user_id, &token_id, ctx.clock.now_ms()).await.map_err(
        |e| match e {
            StoreError::NotFound => ApiError::not_found("token"),
            e => e.into(),
        },
    )?;
    ctx.access.broadcast(&format!("token:{}", row.token_hash)).await;
    Ok(ok(token_view(row, None)))
}
