//! Wallets, deposit addresses, deposits and the sandbox deposit endpoint.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use rust_decimal::Decimal;
use sova_chain::{Currency, Network};
use sova_proto::ErrorCode;
use sova_proto::connect::{self as wire, Envelope};
use sova_store::{DepositRow, Effects, NewAddress, StoreError, WalletPatch};

use super::Ctx;
use super::users::load_user;
use super::{address_view, deposit_view, wallet_address, wallet_view};
use sova_http::auth::{Caller, OwnerAuth};
use sova_http::envelope::{created, list, ok};
use sova_http::error::{ApiError, ApiResult};
use sova_http::extract::JsonBody;
use sova_http::filters::Filters;
use sova_http::idempotency::Idem;
use sova_http::time::iso;
use sova_http::validate;

const WALLET_STATUSES: &[&str] = &["ACTIVE", "FROZEN"];
const WALLET_TYPES: &[&str] = &["virtual", "real"];
const WALLET_FILTER: &[&str] = &["user_id", "name", "currency", "status", "wallet_type"];
const WALLET_SORT: &[&str] = &["created_at", "updated_at", "name"];
const ADDRESS_FILTER: &[&str] = &["wallet_id", "currency", "network", "address", "status"];
const DEPOSIT_FILTER: &[&str] = &["wallet_id", "address", "currency", "network", "status", "tx_hash"];
const TIME_SORT: &[&str] = &["created_at", "updated_at"];

fn currency(field: &str, v: &str) -> ApiResult<Currency> {
    Currency::parse(v).ok_or_else(|| {
        let all: Vec<&str> = Currency::all().iter().map(|c| c.as_str()).collect();
        ApiError::validation(field, format!("unknown currency `{v}`; supported: {}", all.join(", ")))
    })
}

fn network(field: &str, v: &str) -> ApiResult<Network> {
    Network::parse(v).ok_or_else(|| {
        let all: Vec<&str> = Network::all().iter().map(|n| n.as_str()).collect();
        ApiError::validation(field, format!("unknown network `{v}`; supported: {}", all.join(", ")))
    })
}

/// A positive decimal string of `cur` (at most its decimal places, at most its [`Currency::max_amount`]),
/// canonicalised.
fn amount(field: &str, v: &str, cur: Currency) -> ApiResult<Decimal> {
    validate::amount(field, v, cur.decimals(), cur.max_amount(), cur.as_str())
}

/// Create a wallet for a user (owner key, or the user's own token), from the seed's `{name, currency}` or the
/// reference's `{name, networks[], wallet_type?, description?}`; with `networks`, one deposit address per pair is
/// derived in the same transaction.
#[utoipa::path(post, path = "/users/{user_id}/wallets", tag = "wallets", security(("api_key" = []), ("user_token" = [])),
    params(("user_id" = String, Path)), request_body = wire::CreateWalletRequest,
    responses((status = 201, body = Envelope<wire::Wallet>), (status = 400, body = wire::ErrorEnvelope),
        (status = 409, body = wire::ErrorEnvelope)))]
pub async fn create_wallet(
    State(ctx): State<Ctx>,
    caller: Caller,
    idem: Idem,
    Path(user_id): Path<String>,
    JsonBody(req): JsonBody<wire::CreateWalletRequest>,
) -> ApiResult<Response> {
    let user = load_user(&ctx, &caller, &user_id).await?;
    let name = validate::text("name", &req.name, 100)?;
    let description = req.description.as_deref().map(|d| validate::text("description", d, 500)).transpose()?;
    let wallet_type = match req.wallet_type.as_deref() {
        Some(t) => validate::one_of("wallet_type", &t.to_ascii_lowercase(), WALLET_TYPES)?,
        None => "virtual",
    };
    let pairs = match (req.currency.as_deref(), req.networks.as_deref()) {
        (Some(c), None) => vec![(None, currency("currency", c)?)],
        (None, Some(nets)) => wallet_networks(nets)?,
        (Some(_), Some(_)) => {
            return Err(ApiError::validation("currency", "send `currency` or `networks`, not both"));
        }
        (None, None) => {
            return Err(ApiError::missing("networks", "`networks` (or `currency`) is required"));
        }
    };
    if user.status != "ACTIVE" {
        return Err(ApiError::user_not_active(&user.user_id, &user.status));
    }
    let now = ctx.clock.now_ms();
    let wallet_id = uuid::Uuid::new_v4().to_string();
    let networks: Vec<sova_store::WalletNetwork> = pairs
        .iter()
        .filter_map(|(net, cur)| {
            net.map(|n| sova_store::WalletNetwork { network: n.as_str().into(), currency: cur.as_str().into() })
        })
        .collect();
    // One address per (network, currency) pair, derived before the transaction that inserts the wallet with them
    // and records the answer (an index reserved by a creation that then fails stays unused).
    let mut rows = Vec::with_capacity(networks.len());
    for (net, cur) in pairs.iter().filter_map(|(n, c)| n.map(|n| (n, *c))) {
        let idx = ctx.store.reserve_derivation_index(net.derivation_family()).await?;
        let d = ctx.keys.derive(net, idx).map_err(|e| {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::ValidationError, e.to_string())
                .with_field("networks")
        })?;
        rows.push(sova_store::AddressRow {
            address_id: uuid::Uuid::new_v4().to_string(),
            wallet_id: wallet_id.clone(),
            customer_id: user.customer_id.clone(),
            user_id: user.user_id.clone(),
            currency: cur.as_str().to_string(),
            network: net.as_str().to_string(),
            address: d.address,
            family: net.derivation_family().to_string(),
            derivation_index: i64::from(idx),
            derivation_path: d.path,
            status: "ACTIVE".into(),
            created_at: now,
        });
    }
    let w = sova_store::Wallet {
        wallet_id,
        customer_id: user.customer_id,
        user_id: user.user_id,
        name,
        currency: pairs[0].1.as_str().to_string(),
        status: "ACTIVE".into(),
        created_at: now,
        updated_at: now,
        description,
        wallet_type: wallet_type.to_string(),
        networks,
    };
    let view = sova_store::WalletView {
        balances: w.currencies().iter().map(|c| sova_store::CurrencyBalance::zero(c)).collect(),
        wallet: w.clone(),
        balance: "0".into(),
        pending: "0".into(),
    };
    let (effects, answer) = idem.created(wallet_view(view, &rows))?;
    ctx.store.create_wallet_with(&w, &rows, &effects).await.map_err(|e| match e {
        StoreError::Conflict("name") => ApiError::validation(
            "name",
            format!("this user already has a wallet named `{}`; choose another name", w.name),
        ),
        e => e.into(),
    })?;
    for a in &rows {
        ctx.access.broadcast(&format!("addr:{}", a.address)).await;
    }
    Ok(answer)
}

/// The reference's `networks[]`: each `networks/<net>` (or `<net>`) with a currency available there, no pair twice.
fn wallet_networks(nets: &[wire::WalletNetwork]) -> ApiResult<Vec<(Option<Network>, Currency)>> {
    if nets.is_empty() || nets.len() > 16 {
        return Err(ApiError::validation("networks", "`networks` must list 1 to 16 {name, currency} pairs"));
    }
    let mut out: Vec<(Option<Network>, Currency)> = Vec::with_capacity(nets.len());
    for (i, n) in nets.iter().enumerate() {
        let field = format!("networks[{i}]");
        let bare = n.name.trim().strip_prefix("networks/").unwrap_or(n.name.trim());
        let net = network(&format!("{field}.name"), bare)?;
        let cur = currency(&format!("{field}.currency"), &n.currency)?;
        if !cur.supports(net) {
            let nets: Vec<&str> = cur.networks().iter().map(|n| n.as_str()).collect();
            return Err(ApiError::validation(
                format!("{field}.currency"),
                format!("{} is not available on `{}`; use one of {}", cur.as_str(), net.as_str(), nets.join(", ")),
            ));
        }
        if out.contains(&(Some(net), cur)) {
            return Err(ApiError::validation(field, format!("{} on {} is listed twice", cur.as_str(), net.as_str())));
        }
        out.push((Some(net), cur));
    }
    Ok(out)
}

/// Answers for a page of wallets, with their addresses (one query).
async fn wallet_answers(
    ctx: &Ctx,
    customer_id: &str,
    views: Vec<sova_store::WalletView>,
) -> ApiResult<Vec<wire::Wallet>> {
    let ids: Vec<String> = views.iter().map(|v| v.wallet.wallet_id.clone()).collect();
    let rows = ctx.store.wallet_addresses(customer_id, &ids).await?;
    Ok(views.into_iter().map(|v| wallet_view(v, &rows)).collect())
}

/// List a user's wallets.
#[utoipa::path(get, path = "/users/{user_id}/wallets", tag = "wallets", security(("api_key" = []), ("user_token" = [])),
    params(("user_id" = String, Path)), responses((status = 200, body = Envelope<Vec<wire::Wallet>>)))]
pub async fn list_user_wallets(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(user_id): Path<String>,
    f: Filters,
) -> ApiResult<Response> {
    let user = load_user(&ctx, &caller, &user_id).await?;
    let q = f.to_query(WALLET_FILTER, WALLET_SORT)?;
    let page = ctx.store.list_wallets(&user.customer_id, Some(&user.user_id), &q).await?;
    Ok(list(wallet_answers(&ctx, &user.customer_id, page.items).await?, page.total, q.limit, q.skip))
}

/// All wallets the caller can see.
#[utoipa::path(get, path = "/wallets", tag = "wallets", security(("api_key" = []), ("user_token" = [])),
    responses((status = 200, body = Envelope<Vec<wire::Wallet>>)))]
pub async fn list_wallets(State(ctx): State<Ctx>, caller: Caller, f: Filters) -> ApiResult<Response> {
    let q = f.to_query(WALLET_FILTER, WALLET_SORT)?;
    let page = ctx.store.list_wallets(caller.customer_id(), caller.only_user(), &q).await?;
    Ok(list(wallet_answers(&ctx, caller.customer_id(), page.items).await?, page.total, q.limit, q.skip))
}

pub(super) async fn load_wallet(ctx: &Ctx, caller: &Caller, wallet_id: &str) -> ApiResult<sova_store::WalletView> {
    let id = validate::uuid_path(wallet_id, "wallet")?;
    let w = ctx.store.wallet(caller.customer_id(), &id).await?.ok_or_else(|| ApiError::not_found("wallet"))?;
    caller.check_user(&w.wallet.user_id, "wallet")?;
    Ok(w)
}

/// Read a wallet with its balance (`data.balance`, decimal string).
#[utoipa::path(get, path = "/wallets/{wallet_id}", tag = "wallets", security(("api_key" = []), ("user_token" = [])),
    params(("wallet_id" = String, Path)), responses((status = 200, body = Envelope<wire::Wallet>)))]
pub async fn get_wallet(State(ctx): State<Ctx>, caller: Caller, Path(wallet_id): Path<String>) -> ApiResult<Response> {
    let w = load_wallet(&ctx, &caller, &wallet_id).await?;
    let customer = w.wallet.customer_id.clone();
    Ok(ok(wallet_answers(&ctx, &customer, vec![w]).await?.remove(0)))
}

/// Rename or freeze a wallet (owner key).
#[utoipa::path(patch, path = "/wallets/{wallet_id}", tag = "wallets", security(("api_key" = [])),
    params(("wallet_id" = String, Path)), request_body = wire::UpdateWalletRequest,
    responses((status = 200, body = Envelope<wire::Wallet>)))]
pub async fn update_wallet(
    State(ctx): State<Ctx>,
    owner: OwnerAuth,
    Path(wallet_id): Path<String>,
    JsonBody(req): JsonBody<wire::UpdateWalletRequest>,
) -> ApiResult<Response> {
    let id = validate::uuid_path(&wallet_id, "wallet")?;
    let patch = WalletPatch {
        name: req.name.as_deref().map(|n| validate::text("name", n, 100)).transpose()?,
        status: req
            .status
            .as_deref()
            .map(|s| validate::one_of("status", s, WALLET_STATUSES))
            .transpose()?
            .map(String::from),
    };
    let w =
        ctx.store.update_wallet(&owner.customer_id, &id, &patch, ctx.clock.now_ms()).await.map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found("wallet"),
            StoreError::Conflict("name") => {
                ApiError::validation("name", "this user already has a wallet with this name; choose another name")
            }
            e => e.into(),
        })?;
    Ok(ok(wallet_answers(&ctx, &owner.customer_id, vec![w]).await?.remove(0)))
}

/// Generate a deposit address for the wallet: a fresh HD index on the network's derivation path.
#[utoipa::path(post, path = "/wallets/{wallet_id}/address", tag = "addresses", security(("api_key" = []), ("user_token" = [])),
    params(("wallet_id" = String, Path)), request_body = wire::CreateAddressRequest,
    responses((status = 201, body = Envelope<wire::AddressCreated>), (status = 400, body = wire::ErrorEnvelope)))]
pub async fn create_address(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(wallet_id): Path<String>,
    JsonBody(req): JsonBody<wire::CreateAddressRequest>,
) -> ApiResult<Response> {
    let w = load_wallet(&ctx, &caller, &wallet_id).await?;
    let cur = currency("currency", &req.currency)?;
    let net = network("network", &req.network)?;
    let held = w.wallet.currencies();
    if !held.iter().any(|c| c == cur.as_str()) {
        return Err(ApiError::validation(
            "currency",
            format!("currency `{}` is not one of the wallet's currencies ({})", req.currency, held.join(", ")),
        ));
    }
    if !cur.supports(net) {
        let nets: Vec<&str> = cur.networks().iter().map(|n| n.as_str()).collect();
        return Err(ApiError::validation(
            "network",
            format!("{} is not available on `{}`; use one of {}", cur.as_str(), req.network, nets.join(", ")),
        ));
    }
    if w.wallet.status != "ACTIVE" {
        return Err(ApiError::conflict("wallet is frozen"));
    }
    let user = load_user(&ctx, &caller, &w.wallet.user_id).await?;
    if user.status != "ACTIVE" {
        return Err(ApiError::user_not_active(&user.user_id, &user.status));
    }
    let new = NewAddress {
        address_id: uuid::Uuid::new_v4().to_string(),
        wallet_id: w.wallet.wallet_id.clone(),
        customer_id: w.wallet.customer_id.clone(),
        user_id: w.wallet.user_id.clone(),
        currency: cur.as_str().to_string(),
        network: net.as_str().to_string(),
        family: net.derivation_family().to_string(),
        created_at: ctx.clock.now_ms(),
        reuse_existing: req.rotate != Some(true),
    };
    let keys = &ctx.keys;
    let derive = move |i: u32| keys.derive(net, i).map(|d| (d.address, d.path)).map_err(|e| e.to_string());
    let row = ctx.store.create_address(&new, &derive).await.map_err(|e| match e {
        StoreError::Derivation(m) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::ValidationError, m).with_field("network")
        }
        e => e.into(),
    })?;
    ctx.access.broadcast(&format!("addr:{}", row.address)).await;
    let all = ctx.store.wallet_addresses(&w.wallet.customer_id, std::slice::from_ref(&w.wallet.wallet_id)).await?;
    Ok(created(wire::AddressCreated {
        user_id: w.wallet.user_id.clone(),
        vault_wallet_id: w.wallet.wallet_id.clone(),
        name: w.wallet.name.clone(),
        description: w.wallet.description.clone(),
        addresses: all.iter().map(wallet_address).collect(),
        updated_at: iso(w.wallet.updated_at),
        address: address_view(row),
    }))
}

/// The currencies Sova keeps, with the networks each is available on (the vendor's `GET /currencies`).
#[utoipa::path(get, path = "/currencies", tag = "currencies", security(("api_key" = []), ("user_token" = [])),
    responses((status = 200, body = Envelope<Vec<wire::CurrencyInfo>>)))]
pub async fn list_currencies(_caller: Caller) -> ApiResult<Response> {
    let items = Currency::all()
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (code, name) = match c {
                Currency::Btc => ("BTC", "Bitcoin"),
                Currency::Eth => ("ETH", "Ether"),
                Currency::Sol => ("SOL", "Solana"),
                Currency::Usdc => ("USDC", "USD Coin"),
                Currency::Usdt => ("USDT", "Tether USD"),
            };
            wire::CurrencyInfo {
                id: u32::try_from(i + 1).unwrap_or(u32::MAX),
                symbol: code.into(),
                name: name.into(),
                code: code.to_ascii_lowercase(),
                currency: code.to_ascii_lowercase(),
                precision: c.decimals(),
                ascii_sign: code.into(),
                can_deposit: true,
                can_withdraw: false,
                min_withdrawal: 0,
                is_fiat: false,
                is_confirmations_needed: true,
                is_custody_enabled: true,
                is_trading_enabled: false,
                networks: c.networks().iter().map(|n| n.as_str().to_string()).collect(),
            }
        })
        .collect::<Vec<_>>();
    Ok(ok(items))
}

/// A wallet's deposit addresses.
#[utoipa::path(get, path = "/wallets/{wallet_id}/addresses", tag = "addresses", security(("api_key" = []), ("user_token" = [])),
    params(("wallet_id" = String, Path)), responses((status = 200, body = Envelope<Vec<wire::DepositAddress>>)))]
pub async fn list_wallet_addresses(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(wallet_id): Path<String>,
    f: Filters,
) -> ApiResult<Response> {
    let w = load_wallet(&ctx, &caller, &wallet_id).await?;
    let q = f.to_query(ADDRESS_FILTER, TIME_SORT)?;
    let page = ctx.store.list_addresses(&w.wallet.customer_id, Some(&w.wallet.wallet_id), &q).await?;
    Ok(list(page.items.into_iter().map(address_view).collect(), page.total, q.limit, q.skip))
}

/// All deposit addresses of the customer (owner key).
#[utoipa::path(get, path = "/addresses", tag = "addresses", security(("api_key" = [])),
    responses((status = 200, body = Envelope<Vec<wire::DepositAddress>>)))]
pub async fn list_addresses(State(ctx): State<Ctx>, owner: OwnerAuth, f: Filters) -> ApiResult<Response> {
    let q = f.to_query(ADDRESS_FILTER, TIME_SORT)?;
    let page = ctx.store.list_addresses(&owner.customer_id, None, &q).await?;
    Ok(list(page.items.into_iter().map(address_view).collect(), page.total, q.limit, q.skip))
}

/// Read a deposit address.
#[utoipa::path(get, path = "/addresses/{address_id}", tag = "addresses", security(("api_key" = []), ("user_token" = [])),
    params(("address_id" = String, Path)), responses((status = 200, body = Envelope<wire::DepositAddress>)))]
pub async fn get_address(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(address_id): Path<String>,
) -> ApiResult<Response> {
    let id = validate::uuid_path(&address_id, "address")?;
    let a = ctx.store.address(caller.customer_id(), &id).await?.ok_or_else(|| ApiError::not_found("address"))?;
    caller.check_user(&a.user_id, "address")?;
    Ok(ok(address_view(a)))
}

/// A wallet's deposits.
#[utoipa::path(get, path = "/wallets/{wallet_id}/deposits", tag = "deposits", security(("api_key" = []), ("user_token" = [])),
    params(("wallet_id" = String, Path)), responses((status = 200, body = Envelope<Vec<wire::Deposit>>)))]
pub async fn list_wallet_deposits(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(wallet_id): Path<String>,
    f: Filters,
) -> ApiResult<Response> {
    let w = load_wallet(&ctx, &caller, &wallet_id).await?;
    let q = f.to_query(DEPOSIT_FILTER, TIME_SORT)?;
    let page = ctx.store.list_deposits(&w.wallet.customer_id, Some(&w.wallet.wallet_id), &q).await?;
    Ok(list(page.items.into_iter().map(deposit_view).collect(), page.total, q.limit, q.skip))
}

/// All deposits of the customer (owner key).
#[utoipa::path(get, path = "/deposits", tag = "deposits", security(("api_key" = [])),
    responses((status = 200, body = Envelope<Vec<wire::Deposit>>)))]
pub async fn list_deposits(State(ctx): State<Ctx>, owner: OwnerAuth, f: Filters) -> ApiResult<Response> {
    let q = f.to_query(DEPOSIT_FILTER, TIME_SORT)?;
    let page = ctx.store.list_deposits(&owner.customer_id, None, &q).await?;
    Ok(list(page.items.into_iter().map(deposit_view).collect(), page.total, q.limit, q.skip))
}

/// Read a deposit.
#[utoipa::path(get, path = "/deposits/{deposit_id}", tag = "deposits", security(("api_key" = []), ("user_token" = [])),
    params(("deposit_id" = String, Path)), responses((status = 200, body = Envelope<wire::Deposit>)))]
pub async fn get_deposit(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(deposit_id): Path<String>,
) -> ApiResult<Response> {
    let id = validate::uuid_path(&deposit_id, "deposit")?;
    let d = ctx.store.deposit(caller.customer_id(), &id).await?.ok_or_else(|| ApiError::not_found("deposit"))?;
    load_wallet(&ctx, &caller, &d.wallet_id).await.map_err(|_| ApiError::not_found("deposit"))?;
    Ok(ok(deposit_view(d)))
}

fn require_sandbox(ctx: &Ctx) -> ApiResult<()> {
    if ctx.sandbox { Ok(()) } else { Err(ApiError::sandbox_only("sandbox deposits")) }
}

/// Sandbox only: credit a deposit to one of the customer's addresses. It is recorded `PENDING` and, unless
/// `pending: true`, completed at once, which moves the amount into the wallet's balance.
#[utoipa::path(post, path = "/sandbox/deposits", tag = "sandbox", security(("api_key" = [])),
    request_body = wire::SandboxDepositRequest,
    responses((status = 201, body = Envelope<wire::Deposit>), (status = 403, body = wire::ErrorEnvelope)))]
pub async fn sandbox_deposit(
    State(ctx): State<Ctx>,
    owner: OwnerAuth,
    JsonBody(req): JsonBody<wire::SandboxDepositRequest>,
) -> ApiResult<Response> {
    require_sandbox(&ctx)?;
    let cur = currency("currency", &req.currency)?;
    let net = network("network", &req.network)?;
    let amt = amount("amount", &req.amount, cur)?;
    let addr = req.address.trim();
    let a = ctx
        .store
        .address_by_value(net.as_str(), addr, cur.as_str())
        .await?
        .filter(|a| a.customer_id == owner.customer_id)
        .ok_or_else(|| ApiError::not_found("deposit address").with_field("address"))?;
    let now = ctx.clock.now_ms();
    let d = DepositRow::pending(&a, &amt.to_string(), &net.sandbox_tx_hash(), true, now);
    ctx.store.create_deposit(&d, &Effects::none().with_event(sova_http::outbox::deposit(&d, "pending", now))).await?;
    let d = if req.pending == Some(true) {
        d
    } else {
        let now = ctx.clock.now_ms();
        let done = DepositRow { status: "COMPLETED".into(), completed_at: Some(now), updated_at: now, ..d.clone() };
        let fx = Effects::none().with_event(sova_http::outbox::deposit(&done, "completed", now));
        ctx.store.complete_deposit(&d.customer_id, &d.deposit_id, now, &fx).await?
    };
    ctx.access.outbox.notify_one();
    let d = ctx.store.deposit(&owner.customer_id, &d.deposit_id).await?.unwrap_or(d);
    Ok(created(deposit_view(d)))
}

/// Sandbox only: complete a `PENDING` deposit (409 if it is not pending).
#[utoipa::path(post, path = "/sandbox/deposits/{deposit_id}/complete", tag = "sandbox", security(("api_key" = [])),
    params(("deposit_id" = String, Path)), responses((status = 200, body = Envelope<wire::Deposit>)))]
pub async fn sandbox_complete_deposit(
    State(ctx): State<Ctx>,
    owner: OwnerAuth,
    Path(deposit_id): Path<String>,
) -> ApiResult<Response> {
    require_sandbox(&ctx)?;
    let id = validate::uuid_path(&deposit_id, "deposit")?;
    let d = ctx.store.deposit(&owner.customer_id, &id).await?.ok_or_else(|| ApiError::not_found("deposit"))?;
    let now = ctx.clock.now_ms();
    let done = DepositRow { status: "COMPLETED".into(), completed_at: Some(now), updated_at: now, ..d };
    let fx = Effects::none().with_event(sova_http::outbox::deposit(&done, "completed", now));
    ctx.store.complete_deposit(&owner.customer_id, &id, now, &fx).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("deposit"),
        e => e.into(),
    })?;
    ctx.access.outbox.notify_one();
    let d = ctx.store.deposit(&owner.customer_id, &id).await?.ok_or_else(|| ApiError::not_found("deposit"))?;
    Ok(ok(deposit_view(d)))
}
