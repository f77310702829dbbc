//! Transfers between wallets (issue 17, the vendor's transfers page): created `PENDING` with the amount held from
//! the source wallet and a one-time code sent (in the `transfer.confirmation_required` webhook event, as a
//! withdrawal's); confirmed with the code, the held amount moves to the destination wallet in one ledger
//! transaction; cancelled, the hold goes back. Codes: six digits from a keyed hash, only their keyed hash stored,
//! 10 minutes, five tries.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use sova_chain::Currency;
use sova_proto::ErrorCode;
use sova_proto::connect::{self as wire, Envelope};
use sova_store::{Effects, Posting, TransferRow, wallet_accounts, wallet_hold_account};

use super::Ctx;
use super::wallets::load_wallet;
use sova_http::auth::{Caller, OwnerAuth};
use sova_http::envelope::{created, list, ok};
use sova_http::error::{ApiError, ApiResult};
use sova_http::extract::JsonBody;
use sova_http::filters::Filters;
use sova_http::time::iso;
use sova_http::validate;

/// How long a code lives.
pub const CODE_TTL_MS: i64 = 10 * 60 * 1000;
/// Wrong codes before the live one is void.
pub const CODE_MAX_TRIES: i64 = 5;
const FILTER: &[&str] = &["status", "currency", "transfer_type", "source_wallet_id", "destination_wallet_id"];
const SORT: &[&str] = &["created_at", "updated_at", "completed_at"];

fn code_of(ctx: &Ctx, id: &str, expires_at: i64) -> String {
    sova_http::otp::code(&ctx.access.hasher, "transfer", id, expires_at)
}

fn code_hash(ctx: &Ctx, id: &str, code: &str) -> String {
    sova_http::otp::check_hash(&ctx.access.hasher, "transfer", id, code)
}

fn view(t: TransferRow) -> wire::Transfer {
    wire::Transfer {
        id: t.transfer_id,
        wallet_id: t.source_wallet_id,
        destination_wallet_id: t.destination_wallet_id,
        user_id: t.user_id,
        transfer_type: t.transfer_type,
        purpose: t.purpose,
        description: t.description,
        currency: t.currency,
        amount: t.amount,
        status: t.status.clone(),
        code_expires_at: t.code_expires_at.filter(|_| t.status == "PENDING").map(iso),
        created_at: iso(t.created_at),
        updated_at: iso(t.updated_at),
        completed_at: t.completed_at.map(iso),
    }
}

/// The event of a transfer (`transfer.<what>`), with the code for `confirmation_required`.
fn event(t: &TransferRow, what: &str, code: Option<(&str, i64)>, now: i64) -> sova_store::OutboxEvent {
    let mut data = serde_json::to_value(view(t.clone())).unwrap_or_default();
    if let (Some((c, exp)), Some(o)) = (code, data.as_object_mut()) {
        o.insert("code".into(), c.into());
        o.insert("code_expires_at".into(), iso(exp).into());
    }
    sova_http::outbox::event(&t.customer_id, &format!("transfer.{what}"), data, now)
}

async fn load(ctx: &Ctx, caller: &Caller, wallet_id: &str, id: &str) -> ApiResult<TransferRow> {
    let w = load_wallet(ctx, caller, wallet_id).await?;
    let id = validate::uuid_path(id, "transfer")?;
    ctx.store
        .transfer(&w.wallet.customer_id, &id)
        .await?
        .filter(|t| t.source_wallet_id == w.wallet.wallet_id || t.destination_wallet_id == w.wallet.wallet_id)
        .ok_or_else(|| ApiError::not_found("transfer"))
}

/// The ledger accounts of a transfer's currency in the source wallet: (wallet, hold).
async fn source_accounts(ctx: &Ctx, t: &TransferRow) -> ApiResult<(String, String)> {
    let w =
        ctx.store.wallet(&t.customer_id, &t.source_wallet_id).await?.ok_or_else(|| ApiError::not_found("wallet"))?;
    let (wallet, _) = wallet_accounts(&t.source_wallet_id, &w.wallet.currency, &t.currency);
    Ok((wallet, wallet_hold_account(&t.source_wallet_id, &w.wallet.currency, &t.currency)))
}

fn leg(account: &str, currency: &str, amount: rust_decimal::Decimal) -> Posting {
    Posting { account: account.to_string(), currency: currency.to_string(), amount, may_go_negative: false }
}

/// Create a transfer from this wallet: the amount is held and a one-time code is sent (`transfer.confirmation_required`).
#[utoipa::path(post, path = "/users/{wallet_id}/transfers", tag = "transfers",
    security(("api_key" = []), ("user_token" = [])), params(("wallet_id" = String, Path)),
    request_body = wire::CreateTransferRequest,
    responses((status = 201, body = Envelope<wire::Transfer>), (status = 400, body = wire::ErrorEnvelope),
        (status = 404, body = wire::ErrorEnvelope), (status = 422, body = wire::ErrorEnvelope)))]
pub async fn create_transfer(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(wallet_id): Path<String>,
    JsonBody(req): JsonBody<wire::CreateTransferRequest>,
) -> ApiResult<Response> {
    let src = load_wallet(&ctx, &caller, &wallet_id).await?;
    let dest_id = validate::uuid_path(&req.destination_wallet_id, "destination wallet")
        .map_err(|_| ApiError::validation("destination_wallet_id", "`destination_wallet_id` must be a UUID"))?;
    if dest_id == src.wallet.wallet_id {
        return Err(ApiError::validation("destination_wallet_id", "the destination must be another wallet"));
    }
    let dest = ctx
        .store
        .wallet(&src.wallet.customer_id, &dest_id)
        .await?
        .ok_or_else(|| ApiError::not_found("destination wallet"))?;
    for w in [&src, &dest] {
        if w.wallet.status != "ACTIVE" {
            return Err(ApiError::validation(
                "destination_wallet_id",
                format!("wallet {} is {}", w.wallet.wallet_id, w.wallet.status),
            ));
        }
    }
    let kind = req.transfer_type.to_ascii_uppercase();
    if kind != "PAYIN" && kind != "PAYOUT" {
        return Err(ApiError::validation(
            "type",
            format!("`type` must be PAYIN or PAYOUT, got `{}`", req.transfer_type),
        ));
    }
    let purpose = validate::text("purpose", &req.purpose, 255)?;
    let description = validate::text("description", &req.description, 500)?;
    let cur = Currency::parse(&req.currency).ok_or_else(|| {
        let all: Vec<&str> = Currency::all().iter().map(|c| c.as_str()).collect();
        ApiError::validation("currency", format!("unknown currency `{}`; supported: {}", req.currency, all.join(", ")))
    })?;
    let amount = validate::amount(
        "amount",
        &validate::decimal_text("amount", &req.amount)?,
        cur.decimals(),
        cur.max_amount(),
        cur.as_str(),
    )?;
    if amount < rust_decimal::Decimal::new(1, 6) {
        return Err(ApiError::validation("amount", "`amount` must be at least 0.000001"));
    }
    let now = ctx.clock.now_ms();
    let id = uuid::Uuid::new_v4().to_string();
    let expires = now + CODE_TTL_MS;
    let code = code_of(&ctx, &id, expires);
    let t = TransferRow {
        transfer_id: id.clone(),
        customer_id: src.wallet.customer_id.clone(),
        user_id: src.wallet.user_id.clone(),
        source_wallet_id: src.wallet.wallet_id.clone(),
        destination_wallet_id: dest_id,
        transfer_type: kind,
        purpose,
        description,
        currency: cur.as_str().to_string(),
        amount: amount.normalize().to_string(),
        status: "PENDING".into(),
        code_hash: Some(code_hash(&ctx, &id, &code)),
        code_expires_at: Some(expires),
        code_tries: 0,
        created_at: now,
        updated_at: now,
        completed_at: None,
    };
    let (wallet, _) = wallet_accounts(&t.source_wallet_id, &src.wallet.currency, &t.currency);
    let hold = wallet_hold_account(&t.source_wallet_id, &src.wallet.currency, &t.currency);
    let fx = Effects::none().with_event(event(&t, "confirmation_required", Some((&code, expires)), now));
    ctx.store.create_transfer(&t, &[leg(&wallet, &t.currency, -amount), leg(&hold, &t.currency, amount)], &fx).await?;
    Ok(created(view(t)))
}

/// Confirm a transfer with its code: the held amount moves to the destination wallet.
#[utoipa::path(post, path = "/users/{wallet_id}/transfers/{transfer_id}/confirm", tag = "transfers",
    security(("api_key" = []), ("user_token" = [])), params(("wallet_id" = String, Path), ("transfer_id" = String, Path)),
    request_body = wire::ConfirmTransferRequest,
    responses((status = 200, body = Envelope<wire::Transfer>), (status = 409, body = wire::ErrorEnvelope),
        (status = 422, body = wire::ErrorEnvelope)))]
pub async fn confirm_transfer(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((wallet_id, transfer_id)): Path<(String, String)>,
    JsonBody(req): JsonBody<wire::ConfirmTransferRequest>,
) -> ApiResult<Response> {
    let t = load(&ctx, &caller, &wallet_id, &transfer_id).await?;
    if t.status != "PENDING" {
        return Err(ApiError::conflict(format!("the transfer is {}", t.status)));
    }
    let now = ctx.clock.now_ms();
    let unprocessable =
        |code, msg: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, msg).with_field("code");
    if t.code_tries >= CODE_MAX_TRIES {
        return Err(unprocessable(
            ErrorCode::TransferCodeVoid,
            "five wrong codes: ask for a new one (resend-code)".into(),
        ));
    }
    if t.code_expires_at.is_none_or(|e| now >= e) {
        return Err(unprocessable(
            ErrorCode::TransferCodeExpired,
            "the code expired: ask for a new one (resend-code)".into(),
        ));
    }
    let given = code_hash(&ctx, &t.transfer_id, req.code.trim());
    let stored = t.code_hash.clone().unwrap_or_default();
    if !sova_auth::keys::ct_eq(given.as_bytes(), stored.as_bytes()) {
        let tries = ctx.store.wrong_transfer_code(&t.customer_id, &t.transfer_id).await?;
        let left = (CODE_MAX_TRIES - tries).max(0);
        return Err(unprocessable(ErrorCode::TransferCodeInvalid, format!("wrong code; {left} tries left")));
    }
    let (_, hold) = source_accounts(&ctx, &t).await?;
    let dest = ctx
        .store
        .wallet(&t.customer_id, &t.destination_wallet_id)
        .await?
        .ok_or_else(|| ApiError::not_found("destination wallet"))?;
    let (to, _) = wallet_accounts(&t.destination_wallet_id, &dest.wallet.currency, &t.currency);
    let amount: rust_decimal::Decimal = t.amount.parse().map_err(|_| ApiError::internal("stored transfer amount"))?;
    let mut done = t.clone();
    done.status = "COMPLETED".into();
    let fx = Effects::none().with_event(event(&done, "completed", None, now));
    let postings = [leg(&hold, &t.currency, -amount), leg(&to, &t.currency, amount)];
    let row = ctx.store.finish_transfer(&t, "COMPLETED", &postings, &fx, now).await?;
    Ok(ok(view(row)))
}

/// A new code for a PENDING transfer (the old one stops working).
#[utoipa::path(post, path = "/users/{wallet_id}/transfers/{transfer_id}/resend-code", tag = "transfers",
    security(("api_key" = []), ("user_token" = [])), params(("wallet_id" = String, Path), ("transfer_id" = String, Path)),
    responses((status = 200, body = Envelope<wire::Transfer>), (status = 409, body = wire::ErrorEnvelope)))]
pub async fn resend_transfer_code(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((wallet_id, transfer_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let mut t = load(&ctx, &caller, &wallet_id, &transfer_id).await?;
    let now = ctx.clock.now_ms();
    let expires = now + CODE_TTL_MS;
    let code = code_of(&ctx, &t.transfer_id, expires);
    t.updated_at = now;
    let fx = Effects::none().with_event(event(&t, "confirmation_required", Some((&code, expires)), now));
    ctx.store.new_transfer_code(&t, &code_hash(&ctx, &t.transfer_id, &code), expires, &fx).await.map_err(
        |e| match e {
            sova_store::StoreError::Conflict(_) => ApiError::conflict(format!("the transfer is {}", t.status)),
            e => e.into(),
        },
    )?;
    t.code_expires_at = Some(expires);
    t.code_tries = 0;
    Ok(ok(view(t)))
}

/// Cancel a PENDING transfer: the hold goes back to the source wallet.
#[utoipa::path(post, path = "/users/{wallet_id}/transfers/{transfer_id}/cancel", tag = "transfers",
    security(("api_key" = []), ("user_token" = [])), params(("wallet_id" = String, Path), ("transfer_id" = String, Path)),
    responses((status = 200, body = Envelope<wire::Transfer>), (status = 409, body = wire::ErrorEnvelope)))]
pub async fn cancel_transfer(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((wallet_id, transfer_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let t = load(&ctx, &caller, &wallet_id, &transfer_id).await?;
    if t.status != "PENDING" {
        return Err(ApiError::conflict(format!("the transfer is {}", t.status)));
    }
    let now = ctx.clock.now_ms();
    let (wallet, hold) = source_accounts(&ctx, &t).await?;
    let amount: rust_decimal::Decimal = t.amount.parse().map_err(|_| ApiError::internal("stored transfer amount"))?;
    let mut done = t.clone();
    done.status = "CANCELLED".into();
    let fx = Effects::none().with_event(event(&done, "cancelled", None, now));
    let postings = [leg(&hold, &t.currency, -amount), leg(&wallet, &t.currency, amount)];
    let row = ctx.store.finish_transfer(&t, "CANCELLED", &postings, &fx, now).await?;
    Ok(ok(view(row)))
}

/// The transfers from or to a wallet, newest first.
#[utoipa::path(get, path = "/users/{wallet_id}/transfers", tag = "transfers",
    security(("api_key" = []), ("user_token" = [])), params(("wallet_id" = String, Path)),
    responses((status = 200, body = Envelope<Vec<wire::Transfer>>), (status = 404, body = wire::ErrorEnvelope)))]
pub async fn list_transfers(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(wallet_id): Path<String>,
    f: Filters,
) -> ApiResult<Response> {
    let w = load_wallet(&ctx, &caller, &wallet_id).await?;
    let q = f.to_query(FILTER, SORT)?;
    let page = ctx.store.list_transfers(&w.wallet.customer_id, &w.wallet.wallet_id, &q).await?;
    Ok(list(page.items.into_iter().map(view).collect::<Vec<_>>(), page.total, q.limit, q.skip))
}

/// One transfer from or to a wallet.
#[utoipa::path(get, path = "/users/{wallet_id}/transfers/{transfer_id}", tag = "transfers",
    security(("api_key" = []), ("user_token" = [])), params(("wallet_id" = String, Path), ("transfer_id" = String, Path)),
    responses((status = 200, body = Envelope<wire::Transfer>), (status = 404, body = wire::ErrorEnvelope)))]
pub async fn get_transfer(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((wallet_id, transfer_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    Ok(ok(view(load(&ctx, &caller, &wallet_id, &transfer_id).await?)))
}

/// Sandbox only: a PENDING transfer's live code (in production it reaches the customer in the
/// `transfer.confirmation_required` event).
#[utoipa::path(get, path = "/sandbox/transfers/{transfer_id}/code", tag = "sandbox", security(("api_key" = [])),
    params(("transfer_id" = String, Path)),
    responses((status = 200, body = Envelope<wire::SandboxTransferCode>), (status = 403, body = wire::ErrorEnvelope),
        (status = 409, body = wire::ErrorEnvelope)))]
pub async fn sandbox_transfer_code(
    State(ctx): State<Ctx>,
    owner: OwnerAuth,
    Path(transfer_id): Path<String>,
) -> ApiResult<Response> {
    if !ctx.sandbox {
        return Err(ApiError::sandbox_only("transfer codes"));
    }
    let id = validate::uuid_path(&transfer_id, "transfer")?;
    let t = ctx.store.transfer(&owner.customer_id, &id).await?.ok_or_else(|| ApiError::not_found("transfer"))?;
    match (t.status.as_str(), t.code_expires_at) {
        ("PENDING", Some(exp)) => Ok(ok(wire::SandboxTransferCode {
            code: code_of(&ctx, &t.transfer_id, exp),
            transfer_id: t.transfer_id,
            expires_at: iso(exp),
        })),
        _ => Err(ApiError::conflict(format!("the transfer is {} and has no live code", t.status))),
    }
}
