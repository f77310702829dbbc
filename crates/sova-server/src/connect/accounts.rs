//! Account data as the vendor's reference shows it: balances per currency over a customer's (or a user's) wallets,
//! and the unified transaction history.

use axum::extract::{Path, State};
use axum::response::Response;
use sova_proto::connect::{self as wire, Envelope};

use super::Ctx;
use super::users::load_user;
use sova_http::auth::{Caller, OwnerAuth};
use sova_http::envelope::{list, ok};
use sova_http::error::{ApiError, ApiResult};
use sova_http::filters::Filters;
use sova_http::time::iso;

const TRANSACTION_FILTER: &[&str] = &["type", "status", "user_id", "wallet_id", "currency", "network", "tx_hash"];
const TRANSACTION_SORT: &[&str] = &["created_at", "updated_at", "completed_at"];

/// Per currency: `balance` (available + held), `available` and `held` as exact JSON numbers.
fn balances(rows: Vec<sova_store::CurrencyBalance>) -> ApiResult<Vec<wire::AccountBalance>> {
    rows.into_iter()
        .map(|b| {
            let n = |s: &str| wire::exact_number(s).ok_or_else(|| ApiError::internal(format!("stored balance {s:?}")));
            Ok(wire::AccountBalance {
                currency: b.currency.to_ascii_lowercase(),
                balance: n(&b.balance)?,
                available: n(&b.available)?,
                held: n(&b.held)?,
            })
        })
        .collect()
}

/// Balances per currency over every wallet of the customer (owner key).
#[utoipa::path(get, path = "/accounts/balance", tag = "accounts", security(("api_key" = [])),
    responses((status = 200, body = Envelope<Vec<wire::AccountBalance>>)))]
pub async fn customer_balance(State(ctx): State<Ctx>, owner: OwnerAuth) -> ApiResult<Response> {
    let rows = ctx.store.balances_by_currency(&owner.customer_id, None).await?;
    Ok(ok(balances(rows)?))
}

/// Balances per currency over every wallet of one user (owner key, or the user's own token).
#[utoipa::path(get, path = "/users/{user_id}/accounts/balance", tag = "accounts", security(("api_key" = []), ("user_token" = [])),
    params(("user_id" = String, Path)), responses((status = 200, body = Envelope<Vec<wire::AccountBalance>>)))]
pub async fn user_balance(State(ctx): State<Ctx>, caller: Caller, Path(user_id): Path<String>) -> ApiResult<Response> {
    let user = load_user(&ctx, &caller, &user_id).await?;
    let rows = ctx.store.balances_by_currency(&user.customer_id, Some(&user.user_id)).await?;
    Ok(ok(balances(rows)?))
}

fn transaction_view(t: sova_store::TransactionRow) -> ApiResult<wire::Transaction> {
    let amount =
        wire::exact_number(&t.amount).ok_or_else(|| ApiError::internal(format!("stored amount {:?}", t.amount)))?;
    Ok(wire::Transaction {
        direction: t.direction,
        id: t.id,
        kind: t.kind,
        status: t.status,
        user_id: t.user_id,
        wallet_id: t.wallet_id,
        currency: t.currency.to_ascii_lowercase(),
        amount,
        amount_string: t.amount,
        network: t.network,
        address: t.address,
        tx_hash: t.tx_hash,
        created_at: iso(t.created_at),
        updated_at: iso(t.updated_at),
        completed_at: t.completed_at.map(iso),
    })
}

/// The history query: the reference's `type` is the store's `kind`.
fn transaction_query(f: &Filters, owner_level: bool) -> ApiResult<sova_store::ListQuery> {
    let filterable: Vec<&str> = TRANSACTION_FILTER.iter().copied().filter(|f| owner_level || *f != "user_id").collect();
    let mut q = f.to_query(&filterable, TRANSACTION_SORT)?;
    for w in &mut q.wheres {
        if w.field == "type" {
            w.field = "kind".into();
            w.value = w.value.to_ascii_lowercase();
        }
    }
    Ok(q)
}

async fn transactions(ctx: &Ctx, customer_id: &str, user_id: Option<&str>, f: &Filters) -> ApiResult<Response> {
    let q = transaction_query(f, user_id.is_none())?;
    let page = ctx.store.list_transactions(customer_id, user_id, &q).await?;
    let items = page.items.into_iter().map(transaction_view).collect::<ApiResult<Vec<_>>>()?;
    Ok(list(items, page.total, q.limit, q.skip))
}

/// Every money movement over the customer's wallets, newest first (owner key). Filters: `type`, `status`,
/// `user_id`, `wallet_id`, `currency`, `network`, `tx_hash`.
#[utoipa::path(get, path = "/accounts/transactions", tag = "accounts", security(("api_key" = [])),
    responses((status = 200, body = Envelope<Vec<wire::Transaction>>), (status = 400, body = wire::ErrorEnvelope)))]
pub async fn customer_transactions(State(ctx): State<Ctx>, owner: OwnerAuth, f: Filters) -> ApiResult<Response> {
    transactions(&ctx, &owner.customer_id, None, &f).await
}

/// Every money movement over one user's wallets, newest first (owner key, or the user's own token).
#[utoipa::path(get, path = "/users/{user_id}/accounts/transactions", tag = "accounts",
    security(("api_key" = []), ("user_token" = [])), params(("user_id" = String, Path)),
    responses((status = 200, body = Envelope<Vec<wire::Transaction>>), (status = 404, body = wire::ErrorEnvelope)))]
pub async fn user_transactions(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(user_id): Path<String>,
    f: Filters,
) -> ApiResult<Response> {
    let user = load_user(&ctx, &caller, &user_id).await?;
    transactions(&ctx, &user.customer_id, Some(&user.user_id), &f).await
}
