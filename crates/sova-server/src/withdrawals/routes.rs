//! The withdrawal handlers.

use std::str::FromStr;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rust_decimal::Decimal;
use sova_chain::{Currency, Network};
use sova_proto::ErrorCode;
use sova_proto::connect::{self as wire, Envelope};
use sova_store::{LedgerMove, StoreError, WithdrawalChange, WithdrawalRow};

use super::{CODE_MAX_TRIES, CODE_TTL_MS, Ctx};
use sova_http::auth::{Caller, OwnerAuth};
use sova_http::envelope::{created, list, ok};
use sova_http::error::{ApiError, ApiResult};
use sova_http::extract::{JsonBody, JsonWithBytes};
use sova_http::filters::Filters;
use sova_http::time::iso;
use sova_http::{idempotency, validate};

const FILTER: &[&str] = &["user_id", "wallet_id", "currency", "network", "address", "status", "sub_status", "tx_hash"];
const SORT: &[&str] = &["created_at", "updated_at", "completed_at"];
/// Sub-statuses a withdrawal may be cancelled from: nothing has left yet.
const CANCELLABLE: &[&str] = &["AWAITING_CONFIRMATION", "PENDING_APPROVAL", "QUEUED"];

/// The network fee Sova quotes per (network, currency), kept by the platform's fee account. Fixed defaults, the same
/// in the sandbox and in production until fee estimation comes with real sending (issue 18).
fn fee(net: Network, cur: Currency) -> Decimal {
    let s = match (net.chain(), cur) {
        (sova_chain::Chain::Bitcoin, _) => "0.0001",
        (sova_chain::Chain::Evm, Currency::Eth) => "0.0005",
        (sova_chain::Chain::Evm, _) => "1",
        (sova_chain::Chain::Solana, Currency::Sol) => "0.00001",
        (sova_chain::Chain::Solana, _) => "0.01",
    };
    Decimal::from_str(s).unwrap_or_default()
}

pub(super) fn view(
    w: WithdrawalRow,
    is_duplicate: bool,
    detail: Option<(Vec<sova_store::WithdrawalEvent>, Vec<sova_store::VoteRow>)>,
) -> ApiResult<wire::Withdrawal> {
    let (events, votes) = detail.unzip();
    let amount =
        wire::exact_number(&w.amount).ok_or_else(|| ApiError::internal(format!("stored amount {:?}", w.amount)))?;
    let awaiting = w.sub_status == "AWAITING_CONFIRMATION" && w.code_hash.is_some();
    let approving = w.sub_status == "PENDING_APPROVAL";
    Ok(wire::Withdrawal {
        withdraw: wire::WithdrawRef {
            id: w.withdrawal_id.clone(),
            status: w.status.clone(),
            idempotency_key: w.idempotency_key.clone(),
            is_duplicate,
        },
        id: w.withdrawal_id,
        user_id: w.user_id,
        wallet_id: w.wallet_id,
        currency: w.currency.to_ascii_lowercase(),
        network: w.network,
        address: w.address,
        amount,
        amount_string: w.amount,
        fee: w.fee,
        total: w.total,
        fee_included: w.fee_included == 1,
        memo: w.memo,
        status: w.status,
        sub_status: w.sub_status,
        code_expires_at: w.code_expires_at.filter(|_| awaiting).map(iso),
        tx_hash: w.tx_hash,
        sandbox: w.sandbox == 1,
        created_at: iso(w.created_at),
        updated_at: iso(w.updated_at),
        completed_at: w.completed_at.map(iso),
        policy_version: w.policy_version,
        policy_rule: w.policy_rule,
        approvals_required: w.approvals_required,
        approval_expires_at: w.approval_expires_at.filter(|_| approving).map(iso),
        approvals: votes.map(|vs| {
            vs.into_iter()
                .map(|v| wire::WithdrawalApproval {
                    approver: v.approver,
                    decision: v.decision,
                    reason: v.reason,
                    at: iso(v.at),
                })
                .collect()
        }),
        events: events.map(|es| {
            es.into_iter()
                .map(|e| wire::WithdrawalEvent {
                    status: e.status,
                    sub_status: e.sub_status,
                    actor: e.actor,
                    detail: e.detail,
                    at: iso(e.at),
                })
                .collect()
        }),
    })
}

/// The user a caller acts for: the caller's own (a user token) or any of the customer's (owner key); another
/// tenant's, another user's or a deleted one is not found.
pub(super) async fn load_user(ctx: &Ctx, caller: &Caller, user_id: &str) -> ApiResult<sova_store::User> {
    let id = validate::uuid_path(user_id, "user")?;
    caller.check_user(&id, "user")?;
    match ctx.store.user(caller.customer_id(), &id).await? {
        Some(u) if u.status != "DELETED" => Ok(u),
        _ => Err(ApiError::not_found("user")),
    }
}

/// The withdrawal `id` of `user_id` (the path's), as `caller` may see it.
async fn load(ctx: &Ctx, caller: &Caller, user_id: Option<&str>, id: &str) -> ApiResult<WithdrawalRow> {
    let id = validate::uuid_path(id, "withdrawal")?;
    let w = ctx.store.withdrawal(caller.customer_id(), &id).await?.ok_or_else(|| ApiError::not_found("withdrawal"))?;
    caller.check_user(&w.user_id, "withdrawal")?;
    if user_id.is_some_and(|u| u != w.user_id) {
        return Err(ApiError::not_found("withdrawal"));
    }
    Ok(w)
}

fn crypto_only(kind: &str) -> ApiResult<()> {
    if kind == "crypto" { Ok(()) } else { Err(ApiError::not_found("withdrawal type (only `crypto`)")) }
}

fn actor(caller: &Caller) -> String {
    match caller {
        Caller::Owner(o) => format!("credential:{}", o.credential_id),
        Caller::User { user_id, .. } => format!("user:{user_id}"),
    }
}

/// The network of a withdrawal: the one named, or the only one the address is valid on among the currency's
/// networks the wallet (or, without addresses, the currency) uses.
async fn pick_network(
    ctx: &Ctx,
    req: &wire::CreateWithdrawalRequest,
    cur: Currency,
    wallet: &sova_store::WalletView,
) -> ApiResult<Network> {
    let address = req.address.trim();
    if let Some(n) = &req.network {
        let net = Network::parse(n).ok_or_else(|| {
            let all: Vec<&str> = Network::all().iter().map(|n| n.as_str()).collect();
            ApiError::validation("network", format!("unknown network `{n}`; supported: {}", all.join(", ")))
        })?;
        if !cur.supports(net) {
            return Err(ApiError::validation(
                "network",
                format!("{} is not available on {}", cur.as_str(), net.as_str()),
            ));
        }
        sova_chain::validate_address(net, address).map_err(|e| ApiError::validation("address", e.to_string()))?;
        return Ok(net);
    }
    let valid: Vec<Network> =
        cur.networks().iter().copied().filter(|n| sova_chain::validate_address(*n, address).is_ok()).collect();
    if valid.is_empty() {
        return Err(ApiError::validation(
            "address",
            format!("`{address}` is not a valid {} address on any of its networks", cur.as_str()),
        ));
    }
    let ids = [wallet.wallet.wallet_id.clone()];
    let used: Vec<Network> = ctx
        .store
        .wallet_addresses(&wallet.wallet.customer_id, &ids)
        .await?
        .into_iter()
        .filter(|a| a.currency == cur.as_str())
        .filter_map(|a| Network::parse(&a.network))
        .collect();
    let preferred: Vec<Network> = valid.iter().copied().filter(|n| used.contains(n)).collect();
    let choice = if preferred.len() == 1 { preferred } else { valid };
    match choice.as_slice() {
        [one] => Ok(*one),
        many => {
            let names: Vec<&str> = many.iter().map(|n| n.as_str()).collect();
            Err(ApiError::missing(
                "network",
                format!("the address is valid on {}; say which in `network`", names.join(" and ")),
            ))
        }
    }
}

/// The wallet to take `total` of `cur` from: the one named (the user's, ACTIVE, holding the currency), or the
/// user's oldest active wallet of the currency whose available balance covers it.
async fn pick_wallet(
    ctx: &Ctx,
    user: &sova_store::User,
    wallet_id: Option<&str>,
    cur: Currency,
    total: Decimal,
) -> ApiResult<sova_store::WalletView> {
    let holds = |w: &sova_store::WalletView| w.wallet.currencies().iter().any(|c| c == cur.as_str());
    if let Some(id) = wallet_id {
        let id = validate::uuid_path(id, "wallet").map_err(|e| e.with_field("wallet_id"))?;
        let w = ctx
            .store
            .wallet(&user.customer_id, &id)
            .await?
            .filter(|w| w.wallet.user_id == user.user_id)
            .ok_or_else(|| ApiError::not_found("wallet").with_field("wallet_id"))?;
        if !holds(&w) {
            return Err(ApiError::validation("wallet_id", format!("the wallet holds no {}", cur.as_str())));
        }
        if w.wallet.status != "ACTIVE" {
            return Err(ApiError::conflict("wallet is frozen").with_field("wallet_id"));
        }
        return Ok(w);
    }
    let q = sova_store::ListQuery {
        limit: 100,
        sort: ("created_at".into(), sova_store::SortDir::Asc),
        ..Default::default()
    };
    let wallets = ctx.store.list_wallets(&user.customer_id, Some(&user.user_id), &q).await?.items;
    let mut candidates = wallets.into_iter().filter(|w| w.wallet.status == "ACTIVE" && holds(w)).peekable();
    let first = candidates.peek().cloned();
    for w in candidates {
        let available = w
            .balances
            .iter()
            .find(|b| b.currency == cur.as_str())
            .and_then(|b| Decimal::from_str(&b.available).ok())
            .unwrap_or_default();
        if available >= total {
            return Ok(w);
        }
    }
    // None covers it: the oldest one, so the hold refuses it with INSUFFICIENT_FUNDS.
    first.ok_or_else(|| {
        ApiError::validation("currency", format!("the user has no active wallet holding {}", cur.as_str()))
    })
}

/// Initiate a withdrawal (the reference's path; `type` is `crypto`). The destination is checked for its network,
/// the fee quoted, `amount + fee` held, and a confirmation code issued (`AWAITING_CONFIRMATION`). The
/// `Idempotency-Key` (generated when absent) is stored on the withdrawal: the same key again answers the same
/// withdrawal with `withdraw.is_duplicate: true`; with another body, `422 IDEMPOTENCY_KEY_REUSED`.
#[utoipa::path(post, path = "/users/{user_id}/accounts/{type}/withdrawals", tag = "withdrawals",
    security(("api_key" = []), ("user_token" = [])),
    params(("user_id" = String, Path), ("type" = String, Path, description = "`crypto`"),
        ("Idempotency-Key" = Option<String>, Header, description = "UUID naming this withdrawal")),
    request_body = wire::CreateWithdrawalRequest,
    responses((status = 201, body = Envelope<wire::Withdrawal>), (status = 400, body = wire::ErrorEnvelope),
        (status = 409, body = wire::ErrorEnvelope), (status = 422, body = wire::ErrorEnvelope)))]
pub async fn create(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((user_id, kind)): Path<(String, String)>,
    headers: HeaderMap,
    JsonWithBytes(req, bytes): JsonWithBytes<wire::CreateWithdrawalRequest>,
) -> ApiResult<Response> {
    crypto_only(&kind)?;
    let user = load_user(&ctx, &caller, &user_id).await?;
    let key = idempotency::key_of(&headers)?.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let fingerprint =
        idempotency::fingerprint("POST", &format!("/users/{}/accounts/crypto/withdrawals", user.user_id), &bytes);
    if let Some(w) = ctx.store.withdrawal_by_key(&user.customer_id, &key).await? {
        return replay(w, &fingerprint);
    }
    if user.status != "ACTIVE" {
        return Err(ApiError::user_not_active(&user.user_id, &user.status));
    }
    let cur = Currency::parse(&req.currency).ok_or_else(|| {
        let all: Vec<&str> = Currency::all().iter().map(|c| c.as_str()).collect();
        ApiError::validation("currency", format!("unknown currency `{}`; supported: {}", req.currency, all.join(", ")))
    })?;
    let asked = validate::amount(
        "amount",
        &validate::decimal_text("amount", &req.amount)?,
        cur.decimals(),
        cur.max_amount(),
        cur.as_str(),
    )?;
    let memo = req.memo.as_deref().map(|m| validate::text("memo", m, 255)).transpose()?;
    let fee_included = req.fee_included.unwrap_or(false);
    // The wallet is chosen on the largest sum the hold may need; the network (and so the fee) then follows.
    let wallet = pick_wallet(&ctx, &user, req.wallet_id.as_deref(), cur, asked).await?;
    let net = pick_network(&ctx, &req, cur, &wallet).await?;
    let fee = fee(net, cur);
    let (amount, total) = if fee_included {
        let amount = asked - fee;
        if amount <= Decimal::ZERO {
            return Err(ApiError::validation(
                "amount",
                format!("with the fee included, `amount` must be more than the fee ({fee} {})", cur.as_str()),
            ));
        }
        (amount, asked)
    } else {
        (asked, asked + fee)
    };
    let now = ctx.clock.now_ms();
    let id = uuid::Uuid::new_v4().to_string();
    let expires = now + CODE_TTL_MS;
    let code = ctx.code(&id, expires);
    let row = WithdrawalRow {
        code_hash: Some(ctx.code_hash(&id, &code)),
        withdrawal_id: id,
        customer_id: user.customer_id.clone(),
        user_id: user.user_id.clone(),
        wallet_id: wallet.wallet.wallet_id.clone(),
        currency: cur.as_str().into(),
        network: net.as_str().into(),
        address: req.address.trim().to_string(),
        amount: amount.normalize().to_string(),
        fee: fee.normalize().to_string(),
        total: total.normalize().to_string(),
        fee_included: i64::from(fee_included),
        memo,
        status: "PENDING".into(),
        sub_status: "AWAITING_CONFIRMATION".into(),
        idempotency_key: key.clone(),
        fingerprint: fingerprint.clone(),
        code_expires_at: Some(expires),
        code_tries: 0,
        tx_hash: None,
        sandbox: 0,
        initiator: actor(&caller),
        created_at: now,
        updated_at: now,
        completed_at: None,
        policy_version: 0,
        policy_rule: None,
        approvals_required: 0,
        approval_expires_at: None,
    };
    let (version, decision) = super::controls::decide(&ctx, &row, amount).await?;
    let row = WithdrawalRow {
        policy_version: version,
        policy_rule: Some(decision.rule),
        approvals_required: decision.approvals,
        ..row
    };
    let effects = sova_store::Effects::none()
        .with_event(sova_http::outbox::withdrawal(&row, "created", None, now))
        .with_event(sova_http::outbox::withdrawal(&row, "confirmation_required", Some((&code, expires)), now));
    match ctx.store.create_withdrawal(&row, &effects).await {
        Ok(()) => {
            ctx.access.outbox.notify_one();
            Ok(created(view(row, false, None)?))
        }
        // A concurrent request with the same key won: answer its withdrawal.
        Err(StoreError::Conflict("idempotency_key")) => {
            let w = ctx
                .store
                .withdrawal_by_key(&user.customer_id, &key)
                .await?
                .ok_or_else(|| ApiError::internal("idempotency key taken but no withdrawal"))?;
            replay(w, &fingerprint)
        }
        Err(e) => Err(e.into()),
    }
}

/// The answer to a repeated key: the same withdrawal, flagged a duplicate; another body under the key is refused.
fn replay(w: WithdrawalRow, fingerprint: &str) -> ApiResult<Response> {
    if w.fingerprint != fingerprint {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key already names another withdrawal request; use a new key for a new withdrawal",
        )
        .with_field("Idempotency-Key"));
    }
    Ok(created(view(w, true, None)?))
}

/// A user's withdrawals, newest first.
#[utoipa::path(get, path = "/users/{user_id}/accounts/{type}/withdrawals", tag = "withdrawals",
    security(("api_key" = []), ("user_token" = [])), params(("user_id" = String, Path), ("type" = String, Path)),
    responses((status = 200, body = Envelope<Vec<wire::Withdrawal>>)))]
pub async fn list_user(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((user_id, kind)): Path<(String, String)>,
    f: Filters,
) -> ApiResult<Response> {
    crypto_only(&kind)?;
    let user = load_user(&ctx, &caller, &user_id).await?;
    let filterable: Vec<&str> = FILTER.iter().copied().filter(|f| *f != "user_id").collect();
    let q = f.to_query(&filterable, SORT)?;
    let page = ctx.store.list_withdrawals(&user.customer_id, Some(&user.user_id), &q).await?;
    let items = page.items.into_iter().map(|w| view(w, false, None)).collect::<ApiResult<Vec<_>>>()?;
    Ok(list(items, page.total, q.limit, q.skip))
}

async fn one(ctx: &Ctx, caller: &Caller, user_id: Option<&str>, id: &str) -> ApiResult<Response> {
    let w = load(ctx, caller, user_id, id).await?;
    Ok(ok(detailed(ctx, w).await?))
}

/// A withdrawal with its events and approvals.
async fn detailed(ctx: &Ctx, w: WithdrawalRow) -> ApiResult<wire::Withdrawal> {
    let events = ctx.store.withdrawal_events(&w.withdrawal_id).await?;
    let votes = ctx.store.withdrawal_votes(&w.withdrawal_id).await?;
    view(w, false, Some((events, votes)))
}

/// One withdrawal of a user, with its events.
#[utoipa::path(get, path = "/users/{user_id}/accounts/{type}/withdrawals/{withdrawal_id}", tag = "withdrawals",
    security(("api_key" = []), ("user_token" = [])),
    params(("user_id" = String, Path), ("type" = String, Path), ("withdrawal_id" = String, Path)),
    responses((status = 200, body = Envelope<wire::Withdrawal>), (status = 404, body = wire::ErrorEnvelope)))]
pub async fn get_user_withdrawal(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((user_id, kind, id)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    crypto_only(&kind)?;
    one(&ctx, &caller, Some(&user_id), &id).await
}

/// Every withdrawal of the customer, newest first (owner key).
#[utoipa::path(get, path = "/withdrawals", tag = "withdrawals", security(("api_key" = [])),
    responses((status = 200, body = Envelope<Vec<wire::Withdrawal>>)))]
pub async fn list_owner(State(ctx): State<Ctx>, owner: OwnerAuth, f: Filters) -> ApiResult<Response> {
    let q = f.to_query(FILTER, SORT)?;
    let page = ctx.store.list_withdrawals(&owner.customer_id, None, &q).await?;
    let items = page.items.into_iter().map(|w| view(w, false, None)).collect::<ApiResult<Vec<_>>>()?;
    Ok(list(items, page.total, q.limit, q.skip))
}

/// One withdrawal, with its events (owner key, or the user's own token).
#[utoipa::path(get, path = "/withdrawals/{withdrawal_id}", tag = "withdrawals",
    security(("api_key" = []), ("user_token" = [])), params(("withdrawal_id" = String, Path)),
    responses((status = 200, body = Envelope<wire::Withdrawal>), (status = 404, body = wire::ErrorEnvelope)))]
pub async fn get_owner_withdrawal(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    one(&ctx, &caller, None, &id).await
}

fn code_error(code: ErrorCode, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message).with_field("code")
}

/// Apply `c` to `w` with the webhook event `what` about the result, and wake the dispatcher.
async fn change(
    ctx: &Ctx,
    w: &WithdrawalRow,
    mut c: WithdrawalChange,
    what: &str,
    code: Option<(&str, i64)>,
) -> sova_store::Result<WithdrawalRow> {
    let mut after = w.clone();
    (after.status, after.sub_status) = (c.status.clone(), c.sub_status.clone());
    if let Some(h) = &c.tx_hash {
        after.tx_hash = Some(h.clone());
    }
    c.effects = sova_store::Effects::none().with_event(sova_http::outbox::withdrawal(&after, what, code, c.now));
    let out = ctx.store.change_withdrawal(&c).await?;
    ctx.access.outbox.notify_one();
    Ok(out)
}

/// A change refused because the withdrawal moved on: 409 naming where it is.
fn state_error(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::not_found("withdrawal"),
        e => e.into(),
    }
}

/// Confirm with the 6-digit code: the withdrawal is queued, and in the sandbox sent at once (a fake hash; the held
/// funds leave the wallet). Wrong codes count; the fifth voids the code.
#[utoipa::path(post, path = "/users/{user_id}/accounts/{type}/withdrawals/{withdrawal_id}/confirm", tag = "withdrawals",
    security(("api_key" = []), ("user_token" = [])),
    params(("user_id" = String, Path), ("type" = String, Path), ("withdrawal_id" = String, Path)),
    request_body = wire::ConfirmWithdrawalRequest,
    responses((status = 200, body = Envelope<wire::Withdrawal>), (status = 409, body = wire::ErrorEnvelope),
        (status = 422, body = wire::ErrorEnvelope)))]
pub async fn confirm(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((user_id, kind, id)): Path<(String, String, String)>,
    JsonBody(req): JsonBody<wire::ConfirmWithdrawalRequest>,
) -> ApiResult<Response> {
    crypto_only(&kind)?;
    let w = load(&ctx, &caller, Some(&user_id), &id).await?;
    if w.sub_status != "AWAITING_CONFIRMATION" {
        return Err(ApiError::conflict(format!("withdrawal is {}/{}; nothing to confirm", w.status, w.sub_status)));
    }
    let now = ctx.clock.now_ms();
    let Some(stored) = w.code_hash.as_deref() else {
        return Err(code_error(
            ErrorCode::WithdrawalCodeVoid,
            "the code was tried too often and is void; ask for a new one (resend-code)",
        ));
    };
    if w.code_expires_at.is_none_or(|exp| now >= exp) {
        return Err(code_error(
            ErrorCode::WithdrawalCodeExpired,
            "the code has expired; ask for a new one (resend-code)",
        ));
    }
    let given = req.code.trim();
    let matches = given.len() == 6
        && given.bytes().all(|b| b.is_ascii_digit())
        && sova_auth::keys::ct_eq(ctx.code_hash(&w.withdrawal_id, given).as_bytes(), stored.as_bytes());
    if !matches {
        let tries = ctx.store.wrong_withdrawal_code(&w.customer_id, &w.withdrawal_id, CODE_MAX_TRIES).await?;
        let left = CODE_MAX_TRIES - tries;
        return Err(if left > 0 {
            code_error(ErrorCode::WithdrawalCodeInvalid, format!("wrong code; {left} tries left"))
        } else {
            code_error(
                ErrorCode::WithdrawalCodeVoid,
                "wrong code; the code is now void, ask for a new one (resend-code)",
            )
        });
    }
    let who = actor(&caller);
    let mut c = WithdrawalChange::new(
        &w.customer_id,
        &w.withdrawal_id,
        &["AWAITING_CONFIRMATION"],
        ("PENDING", "QUEUED"),
        &who,
        now,
    );
    c.clear_code = true;
    c.detail = Some("confirmed with the code".into());
    if w.approvals_required > 0 {
        // The policy asks for approvals: wait for them (within the policy's window).
        let (_, policy) = super::controls::current_policy(&ctx, &w.customer_id).await?;
        (c.status, c.sub_status) = ("PENDING".into(), "PENDING_APPROVAL".into());
        c.approval_expires_at = Some(now + policy.approval_window_ms());
        c.detail = Some(format!(
            "confirmed with the code; awaiting {} approval(s) (policy v{}, rule `{}`)",
            w.approvals_required,
            w.policy_version,
            w.policy_rule.as_deref().unwrap_or("default")
        ));
        let w = change(&ctx, &w, c, "pending_approval", None).await.map_err(state_error)?;
        return Ok(ok(detailed(&ctx, w).await?));
    }
    let mut w = change(&ctx, &w, c, "approved", None).await.map_err(state_error)?;
    if ctx.sandbox_sends(&w.network) {
        w = sova_http::approvals::sandbox_send(&ctx.access, &w).await?;
    }
    Ok(ok(detailed(&ctx, w).await?))
}

/// A new confirmation code (the old one stops working), delivered like the first.
#[utoipa::path(post, path = "/users/{user_id}/accounts/{type}/withdrawals/{withdrawal_id}/resend-code", tag = "withdrawals",
    security(("api_key" = []), ("user_token" = [])),
    params(("user_id" = String, Path), ("type" = String, Path), ("withdrawal_id" = String, Path)),
    responses((status = 200, body = Envelope<wire::Withdrawal>), (status = 409, body = wire::ErrorEnvelope)))]
pub async fn resend_code(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((user_id, kind, id)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    crypto_only(&kind)?;
    let w = load(&ctx, &caller, Some(&user_id), &id).await?;
    let now = ctx.clock.now_ms();
    let expires = now + CODE_TTL_MS;
    let who = actor(&caller);
    let mut c = WithdrawalChange::new(
        &w.customer_id,
        &w.withdrawal_id,
        &["AWAITING_CONFIRMATION"],
        ("PENDING", "AWAITING_CONFIRMATION"),
        &who,
        now,
    );
    let code = ctx.code(&w.withdrawal_id, expires);
    c.new_code = Some((ctx.code_hash(&w.withdrawal_id, &code), expires));
    c.detail = Some("a new code was sent".into());
    let w = change(&ctx, &w, c, "confirmation_required", Some((&code, expires))).await.map_err(state_error)?;
    Ok(ok(view(w, false, None)?))
}

/// Cancel a withdrawal that has not been sent: the hold goes back to the wallet. Later: `409 NOT_CANCELLABLE`.
#[utoipa::path(post, path = "/users/{user_id}/accounts/{type}/withdrawals/{withdrawal_id}/cancel", tag = "withdrawals",
    security(("api_key" = []), ("user_token" = [])),
    params(("user_id" = String, Path), ("type" = String, Path), ("withdrawal_id" = String, Path)),
    responses((status = 200, body = Envelope<wire::Withdrawal>), (status = 409, body = wire::ErrorEnvelope)))]
pub async fn cancel(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((user_id, kind, id)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    crypto_only(&kind)?;
    let w = load(&ctx, &caller, Some(&user_id), &id).await?;
    if w.status == "CANCELLED" {
        return Ok(ok(view(w, false, None)?));
    }
    let not_cancellable = |w: &WithdrawalRow| {
        ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::NotCancellable,
            format!("withdrawal is {}/{}: it can no longer be cancelled", w.status, w.sub_status),
        )
    };
    if !CANCELLABLE.contains(&w.sub_status.as_str()) {
        return Err(not_cancellable(&w));
    }
    let who = actor(&caller);
    let mut c = WithdrawalChange::new(
        &w.customer_id,
        &w.withdrawal_id,
        CANCELLABLE,
        ("CANCELLED", "CANCELLED_BY_USER"),
        &who,
        ctx.clock.now_ms(),
    );
    c.ledger = LedgerMove::Release;
    c.clear_code = true;
    match change(&ctx, &w, c, "cancelled", None).await {
        Ok(w) => Ok(ok(view(w, false, None)?)),
        // Sent meanwhile.
        Err(StoreError::InvalidState(_)) => {
            let now = load(&ctx, &caller, Some(&user_id), &id).await?;
            Err(not_cancellable(&now))
        }
        Err(e) => Err(state_error(e)),
    }
}

/// A withdrawal a chain sender sent for real is settled by the chain, not by the sandbox routes.
fn live_refused(w: &WithdrawalRow) -> ApiResult<()> {
    if w.sandbox == 0 && w.tx_hash.is_some() {
        return Err(ApiError::conflict("this withdrawal was sent on chain; the chain settles it, not the sandbox"));
    }
    Ok(())
}

async fn sandbox_load(ctx: &Ctx, owner: OwnerAuth, id: &str) -> ApiResult<WithdrawalRow> {
    if !ctx.sandbox {
        return Err(ApiError::sandbox_only("sandbox withdrawal routes"));
    }
    load(ctx, &Caller::Owner(owner), None, id).await
}

/// Sandbox only: the live confirmation code of a withdrawal (what the `withdrawal.confirmation_required` event
/// carries to the customer's backend).
#[utoipa::path(get, path = "/sandbox/withdrawals/{withdrawal_id}/code", tag = "sandbox", security(("api_key" = [])),
    params(("withdrawal_id" = String, Path)),
    responses((status = 200, body = Envelope<wire::SandboxWithdrawalCode>), (status = 403, body = wire::ErrorEnvelope),
        (status = 409, body = wire::ErrorEnvelope)))]
pub async fn sandbox_code(State(ctx): State<Ctx>, owner: OwnerAuth, Path(id): Path<String>) -> ApiResult<Response> {
    let w = sandbox_load(&ctx, owner, &id).await?;
    match (w.sub_status.as_str(), w.code_hash.is_some(), w.code_expires_at) {
        ("AWAITING_CONFIRMATION", true, Some(exp)) => Ok(ok(wire::SandboxWithdrawalCode {
            code: ctx.code(&w.withdrawal_id, exp),
            withdrawal_id: w.withdrawal_id,
            expires_at: iso(exp),
        })),
        _ => Err(ApiError::conflict(format!("withdrawal is {}/{} and has no live code", w.status, w.sub_status))),
    }
}

/// Sandbox only: the sent withdrawal is final on chain (`COMPLETED`).
#[utoipa::path(post, path = "/sandbox/withdrawals/{withdrawal_id}/complete", tag = "sandbox", security(("api_key" = [])),
    params(("withdrawal_id" = String, Path)),
    responses((status = 200, body = Envelope<wire::Withdrawal>), (status = 409, body = wire::ErrorEnvelope)))]
pub async fn sandbox_complete(State(ctx): State<Ctx>, owner: OwnerAuth, Path(id): Path<String>) -> ApiResult<Response> {
    let w = sandbox_load(&ctx, owner, &id).await?;
    live_refused(&w)?;
    let c = WithdrawalChange::new(
        &w.customer_id,
        &w.withdrawal_id,
        &["BROADCASTING", "CONFIRMING"],
        ("COMPLETED", "CONFIRMED"),
        "sandbox",
        ctx.clock.now_ms(),
    );
    Ok(ok(view(change(&ctx, &w, c, "completed", None).await.map_err(state_error)?, false, None)?))
}

/// Sandbox only: the chain refused the sent withdrawal (`FAILED`): the amount comes back to the wallet, the fee
/// (spent on chain) does not.
#[utoipa::path(post, path = "/sandbox/withdrawals/{withdrawal_id}/fail", tag = "sandbox", security(("api_key" = [])),
    params(("withdrawal_id" = String, Path)),
    responses((status = 200, body = Envelope<wire::Withdrawal>), (status = 409, body = wire::ErrorEnvelope)))]
pub async fn sandbox_fail(State(ctx): State<Ctx>, owner: OwnerAuth, Path(id): Path<String>) -> ApiResult<Response> {
    let w = sandbox_load(&ctx, owner, &id).await?;
    live_refused(&w)?;
    let mut c = WithdrawalChange::new(
        &w.customer_id,
        &w.withdrawal_id,
        &["BROADCASTING", "CONFIRMING"],
        ("FAILED", "CHAIN_FAILED"),
        "sandbox",
        ctx.clock.now_ms(),
    );
    c.ledger = LedgerMove::Refund;
    c.detail = Some("the chain refused the transaction (sandbox)".into());
    Ok(ok(view(change(&ctx, &w, c, "failed", None).await.map_err(state_error)?, false, None)?))
}
