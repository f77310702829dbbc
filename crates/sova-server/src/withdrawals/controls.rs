//! The controls around withdrawals: the customer's policy (versioned), the users' address books, and approvals.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use rust_decimal::Decimal;
use sova_chain::Network;
use sova_http::auth::{Caller, OperatorOrOwner};
use sova_http::envelope::{created, ok};
use sova_http::error::{ApiError, ApiResult};
use sova_http::extract::{JsonBody, OptionalJsonBody};
use sova_http::time::iso;
use sova_http::validate;
use sova_proto::ErrorCode;
use sova_proto::connect::{self as wire, Envelope};
use sova_store::{AddressBookEntry, StoreError, WithdrawalRow};

use super::Ctx;
use super::policy::{self, Action, Facts, Policy, Scope, Velocity};
use super::routes::{load_user, view};

/// The customer's policy in effect: (version, policy); version 0 is the built-in default.
pub async fn current_policy(ctx: &Ctx, customer_id: &str) -> ApiResult<(i64, Policy)> {
    policy_of(ctx, ctx.store.policy(customer_id).await?.as_ref())
}

/// The policy a stored version holds, or the built-in default (version 0) when there is none.
fn policy_of(ctx: &Ctx, row: Option<&sova_store::PolicyRow>) -> ApiResult<(i64, Policy)> {
    match row {
        Some(row) => {
            let p = serde_json::from_str(&row.document)
                .map_err(|e| ApiError::internal(format!("stored policy {} v{}: {e}", row.customer_id, row.version)))?;
            Ok((row.version, p))
        }
        None => Ok((0, Policy::default_for(ctx.sandbox))),
    }
}

/// What the policy says about a withdrawal about to be created; a refusal (BLOCK) is the error.
pub async fn decide(ctx: &Ctx, w: &WithdrawalRow, amount: Decimal) -> ApiResult<(i64, policy::Decision)> {
    let (version, p) = current_policy(ctx, &w.customer_id).await?;
    let now = ctx.clock.now_ms();
    let entry = ctx.store.address_entry(&w.customer_id, &w.user_id, &w.network, &w.address).await?;
    let in_book = entry.as_ref().is_some_and(|e| e.usable_at <= now);
    // The sums the velocity rules ask for, read before the (pure) evaluation.
    let mut sums: HashMap<(Scope, i64), (Decimal, i64)> = HashMap::new();
    for v in p.rules.iter().filter_map(|r| r.velocity.as_ref()) {
        if sums.contains_key(&(v.scope, v.window_secs)) {
            continue;
        }
        let (col, id) = match v.scope {
            Scope::User => ("user_id", &w.user_id),
            Scope::Wallet => ("wallet_id", &w.wallet_id),
            Scope::Customer => ("customer_id", &w.customer_id),
        };
        let since = now - v.window_secs * 1000;
        let amounts = ctx.store.withdrawn_since(&w.customer_id, col, id, &w.currency, since).await?;
        let mut sum = Decimal::ZERO;
        for a in &amounts {
            let a: Decimal = a.parse().map_err(|_| ApiError::internal(format!("stored amount {a:?}")))?;
            sum = sum.checked_add(a).unwrap_or(Decimal::MAX);
        }
        sums.insert((v.scope, v.window_secs), (sum, amounts.len() as i64));
    }
    let velocity = |v: &Velocity| sums.get(&(v.scope, v.window_secs)).copied().unwrap_or((Decimal::ZERO, 0));
    let facts = Facts { currency: &w.currency, network: &w.network, amount, in_book, velocity: &velocity };
    let d = policy::evaluate(&p, &facts);
    if d.action == Action::Block {
        if d.on_destination
            && let Some(e) = entry.filter(|e| e.usable_at > now)
        {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::AddressCoolingOff,
                format!(
                    "the address was added to the address book at {} and may be used from {} (cooling-off)",
                    iso(e.created_at),
                    iso(e.usable_at)
                ),
            )
            .with_field("address"));
        }
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::BlockedByPolicy,
            format!("blocked by the withdrawal policy (version {version}, rule `{}`)", d.rule),
        ));
    }
    Ok((version, d))
}

fn policy_view(customer_id: &str, version: i64, p: Policy, row: Option<&sova_store::PolicyRow>) -> wire::PolicyView {
    wire::PolicyView {
        customer_id: customer_id.into(),
        version,
        policy: serde_json::to_value(p).unwrap_or_default(),
        created_by: row.map(|r| r.created_by.clone()),
        created_at: row.map(|r| iso(r.created_at)),
    }
}

/// The customer's withdrawal policy in effect (version 0: the built-in default, ALLOW in the sandbox and one
/// approval outside it).
#[utoipa::path(get, path = "/customers/{customer_id}/withdrawal-policy", tag = "withdrawals",
    security(("session" = []), ("api_key" = [])), params(("customer_id" = String, Path)),
    responses((status = 200, body = Envelope<wire::PolicyView>)))]
pub async fn get_policy(
    State(ctx): State<Ctx>,
    m: OperatorOrOwner,
    Path(customer_id): Path<String>,
) -> ApiResult<Response> {
    m.customer(ctx.store.as_ref(), &customer_id).await?;
    let row = ctx.store.policy(&customer_id).await?;
    let (version, p) = policy_of(&ctx, row.as_ref())?;
    Ok(ok(policy_view(&customer_id, version, p, row.as_ref())))
}

/// Set the customer's withdrawal policy: a new version, used by withdrawals created from now on (each keeps the
/// version that decided it).
#[utoipa::path(put, path = "/customers/{customer_id}/withdrawal-policy", tag = "withdrawals",
    security(("session" = []), ("api_key" = [])), params(("customer_id" = String, Path)),
    request_body = Policy, responses((status = 200, body = Envelope<wire::PolicyView>)))]
pub async fn put_policy(
    State(ctx): State<Ctx>,
    m: OperatorOrOwner,
    Path(customer_id): Path<String>,
    JsonBody(p): JsonBody<Policy>,
) -> ApiResult<Response> {
    m.customer(ctx.store.as_ref(), &customer_id).await?;
    p.validate()?;
    let doc = serde_json::to_string(&p).map_err(ApiError::internal)?;
    let row = ctx.store.put_policy(&customer_id, &doc, &m.actor(), ctx.clock.now_ms()).await.map_err(|e| match e {
        StoreError::Conflict(_) => ApiError::conflict("the policy changed at the same moment; read it and try again"),
        e => e.into(),
    })?;
    Ok(ok(policy_view(&customer_id, row.version, p, Some(&row))))
}

/// The policy's versions, newest first (at most 100).
#[utoipa::path(get, path = "/customers/{customer_id}/withdrawal-policy/versions", tag = "withdrawals",
    security(("session" = []), ("api_key" = [])), params(("customer_id" = String, Path)),
    responses((status = 200, body = Envelope<Vec<wire::PolicyView>>)))]
pub async fn policy_versions(
    State(ctx): State<Ctx>,
    m: OperatorOrOwner,
    Path(customer_id): Path<String>,
) -> ApiResult<Response> {
    m.customer(ctx.store.as_ref(), &customer_id).await?;
    let rows = ctx.store.policy_versions(&customer_id, 100).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let (version, p) = policy_of(&ctx, Some(r))?;
        out.push(policy_view(&customer_id, version, p, Some(r)));
    }
    Ok(ok(out))
}

fn entry_view(e: AddressBookEntry, now: i64) -> wire::AddressBookEntry {
    wire::AddressBookEntry {
        usable: e.usable_at <= now,
        entry_id: e.entry_id,
        user_id: e.user_id,
        network: e.network,
        address: e.address,
        label: e.label,
        usable_at: iso(e.usable_at),
        created_at: iso(e.created_at),
    }
}

/// Add a destination to the user's address book. It counts as "in the book" for the policy after the cooling-off
/// period (the policy's `address_book_cooling_off_secs`, default a day).
#[utoipa::path(post, path = "/users/{user_id}/address-book", tag = "withdrawals",
    security(("api_key" = []), ("user_token" = [])), params(("user_id" = String, Path)),
    request_body = wire::CreateAddressBookEntry, responses((status = 201, body = Envelope<wire::AddressBookEntry>)))]
pub async fn add_address(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(user_id): Path<String>,
    JsonBody(req): JsonBody<wire::CreateAddressBookEntry>,
) -> ApiResult<Response> {
    let user = load_user(&ctx, &caller, &user_id).await?;
    let net = Network::parse(&req.network).ok_or_else(|| {
        let all: Vec<&str> = Network::all().iter().map(|n| n.as_str()).collect();
        ApiError::validation("network", format!("unknown network `{}`; supported: {}", req.network, all.join(", ")))
    })?;
    let address = req.address.trim();
    sova_chain::validate_address(net, address).map_err(|e| ApiError::validation("address", e.to_string()))?;
    let label = req.label.as_deref().map(|l| validate::text("label", l, 100)).transpose()?;
    let (_, p) = current_policy(&ctx, &user.customer_id).await?;
    let now = ctx.clock.now_ms();
    let e = AddressBookEntry {
        entry_id: uuid::Uuid::new_v4().to_string(),
        customer_id: user.customer_id.clone(),
        user_id: user.user_id.clone(),
        network: net.as_str().into(),
        address: address.into(),
        label,
        usable_at: now + p.cooling_off_ms(),
        status: "ACTIVE".into(),
        created_at: now,
        updated_at: now,
    };
    ctx.store.add_address(&e).await.map_err(|err| match err {
        StoreError::Conflict(_) => {
            ApiError::conflict("the address is already in the user's address book for this network")
                .with_field("address")
        }
        err => err.into(),
    })?;
    Ok(created(entry_view(e, now)))
}

/// The user's address book.
#[utoipa::path(get, path = "/users/{user_id}/address-book", tag = "withdrawals",
    security(("api_key" = []), ("user_token" = [])), params(("user_id" = String, Path)),
    responses((status = 200, body = Envelope<Vec<wire::AddressBookEntry>>)))]
pub async fn list_addresses(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(user_id): Path<String>,
) -> ApiResult<Response> {
    let user = load_user(&ctx, &caller, &user_id).await?;
    let now = ctx.clock.now_ms();
    let entries = ctx.store.address_book(&user.customer_id, &user.user_id).await?;
    Ok(ok(entries.into_iter().map(|e| entry_view(e, now)).collect::<Vec<_>>()))
}

/// Remove an entry.
#[utoipa::path(delete, path = "/users/{user_id}/address-book/{entry_id}", tag = "withdrawals",
    security(("api_key" = []), ("user_token" = [])), params(("user_id" = String, Path), ("entry_id" = String, Path)),
    responses((status = 200, body = Envelope<wire::AddressBookEntry>)))]
pub async fn remove_address(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((user_id, entry_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let user = load_user(&ctx, &caller, &user_id).await?;
    let id = validate::uuid_path(&entry_id, "address book entry")?;
    let now = ctx.clock.now_ms();
    let e = ctx.store.remove_address(&user.customer_id, &user.user_id, &id, now).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("address book entry"),
        e => e.into(),
    })?;
    Ok(ok(entry_view(e, now)))
}

async fn vote(
    ctx: &Ctx,
    m: &OperatorOrOwner,
    customer_id: &str,
    withdrawal_id: &str,
    approve: bool,
    reason: Option<String>,
) -> ApiResult<Response> {
    m.customer(ctx.store.as_ref(), customer_id).await?;
    let id = validate::uuid_path(withdrawal_id, "withdrawal")?;
    let (mut row, decided) =
        sova_http::approvals::vote(&ctx.access, customer_id, &id, &m.actor(), approve, reason).await?;
    if decided && approve && ctx.sandbox_sends(&row.network) {
        row = sova_http::approvals::sandbox_send(&ctx.access, &row).await?;
    }
    let events = ctx.store.withdrawal_events(&row.withdrawal_id).await?;
    let votes = ctx.store.withdrawal_votes(&row.withdrawal_id).await?;
    Ok(ok(view(row, false, Some((events, votes)))?))
}

/// Approve a withdrawal awaiting approval: it is queued (and in the sandbox sent) when it has the approvals its
/// policy rule asks for, from distinct approvers; the initiator cannot approve its own.
#[utoipa::path(post, path = "/customers/{customer_id}/withdrawals/{withdrawal_id}/approve", tag = "withdrawals",
    security(("session" = []), ("api_key" = [])), params(("customer_id" = String, Path), ("withdrawal_id" = String, Path)),
    responses((status = 200, body = Envelope<wire::Withdrawal>), (status = 403, body = wire::ErrorEnvelope),
        (status = 409, body = wire::ErrorEnvelope)))]
pub async fn approve(
    State(ctx): State<Ctx>,
    m: OperatorOrOwner,
    Path((customer_id, withdrawal_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    vote(&ctx, &m, &customer_id, &withdrawal_id, true, None).await
}

/// Reject a withdrawal awaiting approval: one rejection decides; the hold is released.
#[utoipa::path(post, path = "/customers/{customer_id}/withdrawals/{withdrawal_id}/reject", tag = "withdrawals",
    security(("session" = []), ("api_key" = [])), params(("customer_id" = String, Path), ("withdrawal_id" = String, Path)),
    request_body(content = Option<wire::RejectWithdrawalRequest>),
    responses((status = 200, body = Envelope<wire::Withdrawal>), (status = 409, body = wire::ErrorEnvelope)))]
pub async fn reject(
    State(ctx): State<Ctx>,
    m: OperatorOrOwner,
    Path((customer_id, withdrawal_id)): Path<(String, String)>,
    OptionalJsonBody(req): OptionalJsonBody<wire::RejectWithdrawalRequest>,
) -> ApiResult<Response> {
    let reason = req.reason.as_deref().map(|r| validate::text("reason", r, 255)).transpose()?;
    vote(&ctx, &m, &customer_id, &withdrawal_id, false, reason).await
}
