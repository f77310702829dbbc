//! Users of a customer ("SX Connect" with the owner key) and their bearer tokens ("SX Users").

use axum::extract::{Path, State};
use axum::response::Response;
use secrecy::ExposeSecret;
use sova_proto::connect::{self as wire, Envelope};
use sova_store::{PhonePatch, StoreError, UserPatch, UserTokenRow};

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
const START_STATUSES: &[&str] = &["PENDING", "ACTIVE"];
const ACCOUNT_ROLES: &[&str] = &["third"];
const ACCOUNT_PURPOSES: &[&str] = &["trading", "investing"];
const MAX_TOKEN_TTL: u64 = 30 * 24 * 3600;

/// Create a user owned by the calling customer, from the seed's body or the vendor reference's.
#[utoipa::path(post, path = "/users", tag = "users", security(("api_key" = [])), request_body = wire::CreateUserRequest,
    responses((status = 201, body = Envelope<wire::User>), (status = 400, body = wire::ErrorEnvelope),
        (status = 409, body = wire::ErrorEnvelope)))]
pub async fn create_user(
    State(ctx): State<Ctx>,
    owner: OwnerAuth,
    idem: Idem,
    JsonBody(req): JsonBody<wire::CreateUserRequest>,
) -> ApiResult<Response> {
    let u = new_user(req, owner.customer_id, ctx.clock.now_ms())?;
    let (effects, answer) = idem.created(user_view(u.clone()))?;
    ctx.store.create_user_with(&u, &effects).await.map_err(taken)?;
    Ok(answer)
}

/// A store conflict on a user, said the way a client fixes it.
fn taken(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(what @ ("email" | "phone")) => {
            ApiError::conflict(format!("another user of this customer already has this {what}")).with_field(what)
        }
        StoreError::Conflict("user_id") => {
            ApiError::conflict("a user with this `user_id` already exists").with_field("user_id")
        }
        e => e.into(),
    }
}

/// Map either body onto one user. With `account_type` (the reference's shape) the reference's fields are required
/// and the user starts PENDING; otherwise the seed's rules hold and it starts ACTIVE. Both names of one fact
/// (`user_type`/`account_type`, `date_of_birth`/`individual.dob`, `country`/`individual.residential_country_code`)
/// may be sent together only when they agree.
fn new_user(req: wire::CreateUserRequest, customer_id: String, now: i64) -> ApiResult<sova_store::User> {
    let reference = req.account_type.is_some();
    let kind = match (req.user_type.as_deref(), req.account_type.as_deref()) {
        (None, None) => return Err(ApiError::missing("user_type", "`user_type` (or `account_type`) is required")),
        (Some(a), Some(b)) if a != b => {
            return Err(ApiError::validation("account_type", "`account_type` and `user_type` disagree; send one"));
        }
        (Some(t), _) => validate::one_of("user_type", t, USER_TYPES)?,
        (None, Some(t)) => validate::one_of("account_type", t, USER_TYPES)?,
    };
    let required = |field: &'static str, present: bool| -> ApiResult<()> {
        if reference && !present {
            return Err(ApiError::missing(field, format!("`{field}` is required with `account_type`")));
        }
        Ok(())
    };
    required("account_role", req.account_role.is_some())?;
    required("account_purpose", req.account_purpose.is_some())?;
    required("individual", req.individual.is_some())?;
    let account_role =
        req.account_role.as_deref().map(|v| validate::one_of("account_role", v, ACCOUNT_ROLES)).transpose()?;
    let account_purpose =
        req.account_purpose.as_deref().map(|v| validate::one_of("account_purpose", v, ACCOUNT_PURPOSES)).transpose()?;
    let phone = phone_of(req.phone.as_deref(), req.phone_country_code.as_deref(), req.phone_number.as_deref())?;
    required("phone_number", phone.as_ref().is_some_and(|p| p.number.is_some()))?;
    let individual = req.individual.map(individual_of).transpose()?;
    let dob = agree(
        "date_of_birth",
        req.date_of_birth.as_deref().map(|d| validate::birth_date("date_of_birth", d)).transpose()?,
        individual.as_ref().and_then(|i| i.dob.clone()),
    )?;
    let country = agree(
        "country",
        req.country.as_deref().map(|c| validate::country("country", c)).transpose()?,
        individual.as_ref().and_then(|i| i.residential_country_code.clone()),
    )?;
    let status = match req.status.as_deref() {
        Some(s) => validate::one_of("status", &s.to_ascii_uppercase(), START_STATUSES)?,
        None if reference => "PENDING",
        None => "ACTIVE",
    };
    let user_id = match req.user_id.as_deref() {
        None => uuid::Uuid::new_v4().to_string(),
        Some(v) => match uuid::Uuid::parse_str(v.trim()) {
            Ok(id) if id.get_version_num() == 4 => id.to_string(),
            _ => return Err(ApiError::validation("user_id", "`user_id` must be a UUID v4, or left out")),
        },
    };
    Ok(sova_store::User {
        user_id,
        customer_id,
        user_type: kind.to_string(),
        email: validate::email("email", &req.email)?,
        first_name: validate::text("first_name", &req.first_name, 100)?,
        last_name: validate::text("last_name", &req.last_name, 100)?,
        phone: phone.as_ref().map(|p| p.e164.clone()),
        date_of_birth: dob,
        country,
        status: status.into(),
        created_at: now,
        updated_at: now,
        account_role: account_role.map(String::from),
        account_purpose: account_purpose.map(String::from),
        phone_country_code: phone.as_ref().and_then(|p| p.country_code.clone()),
        phone_number: phone.and_then(|p| p.number),
        individual: individual.map(|i| serde_json::to_string(&i)).transpose().map_err(ApiError::internal)?,
        deleted_at: None,
    })
}

/// One phone from either form: the seed's E.164 `phone`, or the reference's country + national mobile number.
fn phone_of(e164: Option<&str>, cc: Option<&str>, number: Option<&str>) -> ApiResult<Option<PhonePatch>> {
    match (e164, cc, number) {
        (None, None, None) => Ok(None),
        (Some(p), None, None) => Ok(Some(PhonePatch { e164: validate::phone("phone", p)?, ..Default::default() })),
        (None, Some(cc), Some(n)) => {
            let (cc, e164, national) = validate::mobile_phone(cc, n)?;
            Ok(Some(PhonePatch { e164, country_code: Some(cc), number: Some(national) }))
        }
        (None, Some(_), None) => {
            Err(ApiError::missing("phone_number", "`phone_number` goes with `phone_country_code`"))
        }
        (None, None, Some(_)) => {
            Err(ApiError::missing("phone_country_code", "`phone_country_code` goes with `phone_number`"))
        }
        (Some(_), _, _) => Err(ApiError::validation(
            "phone",
            "send the phone once: `phone` (E.164) or `phone_country_code` with `phone_number`",
        )),
    }
}

/// Two names for one fact: either, or both when equal.
fn agree(field: &'static str, seed: Option<String>, reference: Option<String>) -> ApiResult<Option<String>> {
    match (seed, reference) {
        (Some(a), Some(b)) if a != b => Err(ApiError::validation(
            field,
            format!("`{field}` disagrees with the same fact in `individual`; send one"),
        )),
        (a, b) => Ok(a.or(b)),
    }
}

/// Validate the KYC object; the id number is kept only masked (Sova does not verify identities, so it keeps no
/// more of the number than a support agent needs to recognise it).
fn individual_of(i: wire::Individual) -> ApiResult<wire::Individual> {
    let text = |field: &str, v: Option<String>, max: usize| -> ApiResult<Option<String>> {
        v.map(|v| validate::text(&format!("individual.{field}"), &v, max)).transpose()
    };
    let id_type = match i.id_type {
        Some(t) => Some(validate::slug("individual.id_type", &t.to_ascii_lowercase())?),
        None => None,
    };
    let id_number = match i.id_number {
        Some(n) => {
            let n = validate::text("individual.id_number", &n, 64)?;
            let keep: String = n.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
            Some(format!("{}{keep}", "*".repeat(n.chars().count().saturating_sub(4).max(1))))
        }
        None => None,
    };
    Ok(wire::Individual {
        dob: i.dob.map(|d| validate::birth_date("individual.dob", &d)).transpose()?,
        residential_country_code: i
            .residential_country_code
            .map(|c| validate::country("individual.residential_country_code", &c))
            .transpose()?,
        residential_address: text("residential_address", i.residential_address, 255)?,
        residential_city: text("residential_city", i.residential_city, 100)?,
        residential_state: text("residential_state", i.residential_state, 100)?,
        residential_postal_code: text("residential_postal_code", i.residential_postal_code, 20)?,
        id_type,
        id_number,
    })
}

/// List the customer's users.
#[utoipa::path(get, path = "/users", tag = "users", security(("api_key" = [])),
    responses((status = 200, body = Envelope<Vec<wire::User>>)))]
pub async fn list_users(State(ctx): State<Ctx>, owner: OwnerAuth, f: Filters) -> ApiResult<Response> {
    let mut q = f.to_query(
        &[
            "user_type",
            "account_type",
            "email",
            "first_name",
            "last_name",
            "phone",
            "country",
            "status",
            "account_role",
            "account_purpose",
            "phone_country_code",
        ],
        &["created_at", "updated_at", "email", "last_name"],
    )?;
    for w in &mut q.wheres {
        if w.field == "account_type" {
            w.field = "user_type".into();
        }
        if w.field == "phone_country_code" {
            w.value = w.value.to_ascii_uppercase();
        }
    }
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
    // The cache is keyed by id alone: another tenant's user is still not found; a soft-deleted user is gone.
    if user.customer_id != caller.customer_id() || user.status == "DELETED" {
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
        phone: phone_of(req.phone.as_deref(), req.phone_country_code.as_deref(), req.phone_number.as_deref())?,
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
        e => taken(e),
    })?;
    ctx.access.broadcast(&format!("user:{id}")).await;
    Ok(ok(user_view(u)))
}

/// Move a user to `to`, from one of `from` (else 409 naming the status it is in). DELETED users are not found.
async fn transition(ctx: &Ctx, owner: OwnerAuth, user_id: &str, from: &[&str], to: &str) -> ApiResult<Response> {
    let caller = Caller::Owner(owner);
    let user = load_user(ctx, &caller, user_id).await?;
    if user.status == to {
        return Ok(ok(user_view(user)));
    }
    if !from.contains(&user.status.as_str()) {
        return Err(ApiError::conflict(format!("user {} is {}; it cannot become {to}", user.user_id, user.status)));
    }
    let patch = UserPatch { status: Some(to.to_string()), ..Default::default() };
    let u =
        ctx.store.update_user(caller.customer_id(), &user.user_id, &patch, ctx.clock.now_ms()).await.map_err(|e| {
            match e {
                StoreError::NotFound => ApiError::not_found("user"),
                e => taken(e),
            }
        })?;
    // Cached users and tokens see the new status on every replica.
    ctx.access.broadcast(&format!("user:{}", u.user_id)).await;
    Ok(ok(user_view(u)))
}

/// Activate a user (PENDING or SUSPENDED -> ACTIVE): it may then hold wallets and transact. POST or PATCH.
#[utoipa::path(post, path = "/users/{user_id}/activate", tag = "users", security(("api_key" = [])),
    params(("user_id" = String, Path)), responses((status = 200, body = Envelope<wire::User>),
        (status = 404, body = wire::ErrorEnvelope), (status = 409, body = wire::ErrorEnvelope)))]
pub async fn activate_user(
    State(ctx): State<Ctx>,
    owner: OwnerAuth,
    Path(user_id): Path<String>,
) -> ApiResult<Response> {
    transition(&ctx, owner, &user_id, &["PENDING", "SUSPENDED"], "ACTIVE").await
}

/// `activate` with PATCH (the reference does not show the verb).
#[utoipa::path(patch, path = "/users/{user_id}/activate", tag = "users", security(("api_key" = [])),
    params(("user_id" = String, Path)), responses((status = 200, body = Envelope<wire::User>),
        (status = 404, body = wire::ErrorEnvelope), (status = 409, body = wire::ErrorEnvelope)))]
pub async fn activate_user_patch(state: State<Ctx>, owner: OwnerAuth, path: Path<String>) -> ApiResult<Response> {
    activate_user(state, owner, path).await
}

/// `deactivate` with PATCH.
#[utoipa::path(patch, path = "/users/{user_id}/deactivate", tag = "users", security(("api_key" = [])),
    params(("user_id" = String, Path)), responses((status = 200, body = Envelope<wire::User>),
        (status = 404, body = wire::ErrorEnvelope), (status = 409, body = wire::ErrorEnvelope)))]
pub async fn deactivate_user_patch(state: State<Ctx>, owner: OwnerAuth, path: Path<String>) -> ApiResult<Response> {
    deactivate_user(state, owner, path).await
}

/// Deactivate a user (ACTIVE or PENDING -> SUSPENDED): its tokens stop working and its wallets refuse work until
/// it is activated again. POST or PATCH.
#[utoipa::path(post, path = "/users/{user_id}/deactivate", tag = "users", security(("api_key" = [])),
    params(("user_id" = String, Path)), responses((status = 200, body = Envelope<wire::User>),
        (status = 404, body = wire::ErrorEnvelope), (status = 409, body = wire::ErrorEnvelope)))]
pub async fn deactivate_user(
    State(ctx): State<Ctx>,
    owner: OwnerAuth,
    Path(user_id): Path<String>,
) -> ApiResult<Response> {
    transition(&ctx, owner, &user_id, &["ACTIVE", "PENDING"], "SUSPENDED").await
}

/// Soft-delete a user: kept for the record (listed with `filter[where][status]=DELETED`), answered 404 everywhere
/// else, its tokens dead, its email and phone free for a new user. Not reversible.
#[utoipa::path(delete, path = "/users/{user_id}", tag = "users", security(("api_key" = [])),
    params(("user_id" = String, Path)), responses((status = 200, body = Envelope<wire::User>),
        (status = 404, body = wire::ErrorEnvelope)))]
pub async fn delete_user(State(ctx): State<Ctx>, owner: OwnerAuth, Path(user_id): Path<String>) -> ApiResult<Response> {
    transition(&ctx, owner, &user_id, &["PENDING", "ACTIVE", "SUSPENDED"], "DELETED").await
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
    let user = ready_for_token(load_user(&ctx, &caller, &user_id).await?)?;
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

/// A token may be issued for an ACTIVE or PENDING user (the reference: "activate it first so the token can
/// transact"); a PENDING user's token reads but its work is refused until activation.
fn ready_for_token(user: sova_store::User) -> ApiResult<sova_store::User> {
    if !matches!(user.status.as_str(), "ACTIVE" | "PENDING") {
        return Err(ApiError::user_not_active(&user.user_id, &user.status));
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
