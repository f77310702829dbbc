//! Account data as the vendor's reference shows it: balances per currency over a customer's (or a user's) wallets.

use axum::extract::{Path, State};
use axum::response::Response;
use sova_proto::connect::{self as wire, Envelope};

use super::Ctx;
use super::users::load_user;
use sova_http::auth::{Caller, OwnerAuth};
use sova_http::envelope::ok;
use sova_http::error::{ApiError, ApiResult};

/// Per currency: `balance`, `available` and `held` as exact JSON numbers (nothing is held until withdrawals and
/// trades hold funds, so `available` is the balance).
fn balances(rows: Vec<(String, String)>) -> ApiResult<Vec<wire::AccountBalance>> {
    rows.into_iter()
        .map(|(currency, balance)| {
            let n = |s: &str| wire::exact_number(s).ok_or_else(|| ApiError::internal(format!("stored balance {s:?}")));
            Ok(wire::AccountBalance {
                currency: currency.to_ascii_lowercase(),
                balance: n(&balance)?,
                available: n(&balance)?,
                held: n("0")?,
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
