//! Connect trading (issue 17, `spec/connect-money.md` section 3): quotes priced on Sova's own spot book and orders
//! that take them, for an end user's wallet. The quote walks the book for the size (`Core::connect_quote`); the
//! order holds what the wallet may spend (the hold withdrawals use too), then the exchange executes it in one
//! sequencer group whose commit also writes the Connect ledger legs (`sova_exchange::connect`). An order the book
//! can no longer fill at the quoted terms is refused, and its hold given back.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use sova_exchange::connect::{ConnectOrder, ConnectTerms};
use sova_exchange::{ExchangeError, Reason, Request};
use sova_proto::ErrorCode;
use sova_proto::connect::{self as wire, Envelope};
use sova_store::{Posting, QuoteRow, StoreError, TradeRow, wallet_accounts, wallet_hold_account};

use super::Ctx;
use super::wallets::load_wallet;
use sova_http::auth::Caller;
use sova_http::envelope::{created, list, ok};
use sova_http::error::{ApiError, ApiResult};
use sova_http::extract::JsonBody;
use sova_http::filters::Filters;
use sova_http::time::iso;
use sova_http::validate;

const ORDER_FILTER: &[&str] = &["pair", "side", "status", "quote_id"];
const ORDER_SORT: &[&str] = &["created_at", "updated_at", "completed_at"];

/// One tradable pair: the spot market, its coins' symbols and decimals.
struct Pair {
    name: String,
    spec: sova_engine::MarketSpec,
    base: String,
    quote: String,
}

fn pairs(ctx: &Ctx) -> Vec<Pair> {
    let catalog = &ctx.exchange.catalog;
    catalog
        .markets
        .iter()
        .filter_map(|m| {
            let base = catalog.coin(u64::from(m.config.base))?.symbol.to_ascii_uppercase();
            let quote = catalog.coin(u64::from(m.config.quote))?.symbol.to_ascii_uppercase();
            let name = format!("{base}{quote}").to_ascii_lowercase();
            Some(Pair { name, spec: m.clone(), base, quote })
        })
        .collect()
}

fn pair_of(ctx: &Ctx, name: &str) -> ApiResult<Pair> {
    let mut want = name.trim().to_ascii_lowercase().replace(['-', '_', '/'], "");
    if ctx.usd_alias && want.ends_with("usd") {
        want.push('c');
    }
    let all = pairs(ctx);
    let names: Vec<String> = all.iter().map(|p| p.name.clone()).collect();
    all.into_iter().find(|p| p.name == want).ok_or_else(|| {
        ApiError::validation("pair", format!("unknown pair `{name}`; pairs: {} (GET /trading/pairs)", names.join(", ")))
    })
}

/// A decimal of the request (`"0.5"` or `0.5`) in atoms of `decimals`, refused when finer than the engine keeps.
fn atoms(field: &str, raw: &serde_json::value::RawValue, decimals: u8, unit: &str) -> ApiResult<u64> {
    let text = validate::decimal_text(field, raw)?;
    let d = validate::amount(field, &text, 18, u64::MAX / 2, unit)?;
    if d.normalize().scale() > u32::from(decimals) {
        return Err(ApiError::validation(
            field,
            format!("`{field}` {text} is finer than the exchange keeps for {unit}: at most {decimals} decimals"),
        ));
    }
    sova_engine::parse_decimal(&d.normalize().to_string(), decimals).filter(|a| *a > 0).ok_or_else(|| {
        ApiError::validation(field, format!("`{field}` must be above zero and at most {decimals} decimals"))
    })
}

fn dec(atoms: u64, decimals: u8) -> rust_decimal::Decimal {
    rust_decimal::Decimal::from_i128_with_scale(i128::from(atoms), u32::from(decimals)).normalize()
}

fn exchange_error(e: ExchangeError) -> ApiError {
    match e.reason {
        Reason::QuoteNotFillable => ApiError::new(StatusCode::CONFLICT, ErrorCode::QuoteNotFillable, e.message),
        Reason::NotLeader | Reason::EngineUnavailable => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::ServiceUnavailable, e.message)
        }
        _ => ApiError::validation("quote", e.message),
    }
}

/// The pairs a wallet can trade (the exchange's spot markets).
#[utoipa::path(get, path = "/trading/pairs", tag = "trading", security(("api_key" = []), ("user_token" = [])),
    responses((status = 200, body = Envelope<Vec<wire::TradingPair>>)))]
pub async fn list_pairs(State(ctx): State<Ctx>, _caller: Caller) -> ApiResult<Response> {
    let out: Vec<wire::TradingPair> = pairs(&ctx)
        .into_iter()
        .map(|p| wire::TradingPair {
            pair: p.name,
            base: p.base.to_ascii_lowercase(),
            quote: p.quote.to_ascii_lowercase(),
            quantity_step: p.spec.format_quantity(1),
            price_step: p.spec.format_price(1),
            fee_rate: sova_engine::format_decimal(u64::from(p.spec.config.taker_fee_ppm), 6),
        })
        .collect();
    Ok(ok(out))
}

/// Quote a trade for a wallet: the book is walked for the size; the price (or better) holds, all or nothing, until
/// `expired_at`. Refused with `409 QUOTE_NOT_FILLABLE` when the book is too thin for the size.
#[utoipa::path(post, path = "/users/{wallet_id}/trading/quotes", tag = "trading",
    security(("api_key" = []), ("user_token" = [])), params(("wallet_id" = String, Path)),
    request_body = wire::CreateQuoteRequest,
    responses((status = 201, body = Envelope<wire::Quote>), (status = 400, body = wire::ErrorEnvelope),
        (status = 404, body = wire::ErrorEnvelope), (status = 409, body = wire::ErrorEnvelope)))]
pub async fn create_quote(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(wallet_id): Path<String>,
    JsonBody(req): JsonBody<wire::CreateQuoteRequest>,
) -> ApiResult<Response> {
    let w = load_wallet(&ctx, &caller, &wallet_id).await?;
    let pair = pair_of(&ctx, &req.pair)?;
    let buy = match req.side.to_ascii_lowercase().as_str() {
        "buy" => true,
        "sell" => false,
        _ => return Err(ApiError::validation("side", format!("`side` must be buy or sell, got `{}`", req.side))),
    };
    let spec = pair.spec.clone();
    let (lots, funds) = match (&req.quantity, &req.amount) {
        (Some(q), None) => {
            let a = atoms("quantity", q, spec.base_decimals, &pair.base)?;
            if a % spec.config.lot_size != 0 {
                return Err(ApiError::validation(
                    "quantity",
                    format!("`quantity` must be a whole number of {} {} steps", spec.format_quantity(1), pair.base),
                ));
            }
            (Some(a / spec.config.lot_size), None)
        }
        (None, Some(a)) => (None, Some(atoms("amount", a, spec.quote_decimals, &pair.quote)?)),
        _ => return Err(ApiError::validation("quantity", "send `quantity` (base) or `amount` (quote), not both")),
    };
    let market = spec.config.id;
    let q = ctx
        .exchange
        .read(move |core| core.connect_quote(market, buy, lots, funds))
        .await
        .map_err(exchange_error)?
        .map_err(exchange_error)?;
    let t = q.terms;
    let base_atoms = spec.base_amount(t.lots).unwrap_or(u64::MAX);
    let quantity = dec(base_atoms, spec.base_decimals);
    let amount = dec(t.notional, spec.quote_decimals);
    let price = (amount / quantity).round_dp(u32::from(spec.config.price_decimals)).normalize();
    let (fee_decimals, fee_currency) =
        if buy { (spec.base_decimals, &pair.base) } else { (spec.quote_decimals, &pair.quote) };
    let now = ctx.clock.now_ms();
    let row = QuoteRow {
        quote_id: uuid::Uuid::new_v4().to_string(),
        customer_id: w.wallet.customer_id.clone(),
        user_id: w.wallet.user_id.clone(),
        wallet_id: w.wallet.wallet_id.clone(),
        pair: pair.name.clone(),
        side: if buy { "buy" } else { "sell" }.into(),
        quantity: quantity.to_string(),
        amount: amount.to_string(),
        price: price.to_string(),
        fee: dec(q.fee, fee_decimals).to_string(),
        fee_currency: fee_currency.clone(),
        terms: serde_json::to_string(&t).map_err(|e| ApiError::internal(e.to_string()))?,
        created_at: now,
        expires_at: now + ctx.quote_ttl_ms,
        order_id: None,
    };
    ctx.store.create_quote(&row).await?;
    Ok(created(quote_view(&row)))
}

fn quote_view(q: &QuoteRow) -> wire::Quote {
    let buy = q.side == "buy";
    wire::Quote {
        quote_id: q.quote_id.clone(),
        pair: q.pair.clone(),
        side: q.side.clone(),
        quantity: q.quantity.clone(),
        amount: q.amount.clone(),
        buy_price: buy.then(|| q.price.clone()),
        sell_price: (!buy).then(|| q.price.clone()),
        fee: q.fee.clone(),
        fee_currency: q.fee_currency.to_ascii_lowercase(),
        created_at: iso(q.created_at),
        expired_at: iso(q.expires_at),
    }
}

fn order_view(t: TradeRow) -> wire::TradeOrder {
    wire::TradeOrder {
        id: t.order_id,
        quote_id: t.quote_id,
        user_id: t.user_id,
        wallet_id: t.wallet_id,
        pair: t.pair,
        side: t.side,
        status: t.status,
        quantity: t.quantity,
        amount: t.amount,
        price: t.price,
        fee: t.fee,
        fee_currency: t.fee_currency.to_ascii_lowercase(),
        reason: t.reason,
        created_at: iso(t.created_at),
        updated_at: iso(t.updated_at),
        completed_at: t.completed_at.map(iso),
    }
}

/// The engine account Sova keeps for a Connect wallet: a master address no one holds a key for (the last 20
/// bytes of `keccak256("sova:connect-wallet:" + wallet_id)`).
fn engine_address(wallet_id: &str) -> String {
    let h = alloy_primitives::keccak256(format!("sova:connect-wallet:{wallet_id}"));
    format!("{:#x}", alloy_primitives::Address::from_slice(&h[12..]))
}

/// Take a quote: the order executes at once against Sova's book, all or nothing (`201` with the completed order);
/// `409 QUOTE_NOT_FILLABLE` (the book moved; nothing moved), `409 QUOTE_EXPIRED`, `409 QUOTE_USED`, `422
/// INSUFFICIENT_FUNDS` (the available balance, after holds of withdrawals and other orders, is short).
#[utoipa::path(post, path = "/users/{wallet_id}/trading/orders", tag = "trading",
    security(("api_key" = []), ("user_token" = [])), params(("wallet_id" = String, Path)),
    request_body = wire::CreateTradeOrderRequest,
    responses((status = 201, body = Envelope<wire::TradeOrder>), (status = 404, body = wire::ErrorEnvelope),
        (status = 409, body = wire::ErrorEnvelope), (status = 422, body = wire::ErrorEnvelope)))]
pub async fn create_order(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(wallet_id): Path<String>,
    JsonBody(req): JsonBody<wire::CreateTradeOrderRequest>,
) -> ApiResult<Response> {
    let w = load_wallet(&ctx, &caller, &wallet_id).await?;
    let quote_id = validate::uuid_path(&req.quote_id, "quote")?;
    let q = ctx
        .store
        .quote(&w.wallet.customer_id, &quote_id)
        .await?
        .filter(|q| q.wallet_id == w.wallet.wallet_id)
        .ok_or_else(|| ApiError::not_found("quote"))?;
    let now = ctx.clock.now_ms();
    let used = || ApiError::new(StatusCode::CONFLICT, ErrorCode::QuoteUsed, "an order already took this quote");
    let expired = || {
        ApiError::new(StatusCode::CONFLICT, ErrorCode::QuoteExpired, "the quote expired; ask for a new one")
            .with_field("quote_id")
    };
    if q.order_id.is_some() {
        return Err(used());
    }
    if now >= q.expires_at {
        return Err(expired());
    }
    let terms: ConnectTerms = serde_json::from_str(&q.terms).map_err(|e| ApiError::internal(e.to_string()))?;
    let pair = pair_of(&ctx, &q.pair)?;
    let spec = &pair.spec;
    let (spend_cur, receive_cur) =
        if terms.buy { (pair.quote.clone(), pair.base.clone()) } else { (pair.base.clone(), pair.quote.clone()) };
    let held = if terms.buy {
        dec(terms.notional, spec.quote_decimals)
    } else {
        dec(spec.base_amount(terms.lots).unwrap_or(u64::MAX), spec.base_decimals)
    };
    let primary = w.wallet.currency.clone();
    let (spend_account, _) = wallet_accounts(&w.wallet.wallet_id, &primary, &spend_cur);
    let (receive_account, _) = wallet_accounts(&w.wallet.wallet_id, &primary, &receive_cur);
    let hold_account = wallet_hold_account(&w.wallet.wallet_id, &primary, &spend_cur);
    let leg = |account: &str, amount| Posting {
        account: account.to_string(),
        currency: spend_cur.clone(),
        amount,
        may_go_negative: false,
    };
    let order_id = uuid::Uuid::new_v4().to_string();
    let row = TradeRow {
        order_id: order_id.clone(),
        quote_id: q.quote_id.clone(),
        customer_id: q.customer_id.clone(),
        user_id: q.user_id.clone(),
        wallet_id: q.wallet_id.clone(),
        pair: q.pair.clone(),
        side: q.side.clone(),
        base_currency: pair.base.clone(),
        quote_currency: pair.quote.clone(),
        quantity: q.quantity.clone(),
        amount: q.amount.clone(),
        price: q.price.clone(),
        fee: q.fee.clone(),
        fee_currency: q.fee_currency.clone(),
        held: held.to_string(),
        status: "PENDING".into(),
        reason: None,
        created_at: now,
        updated_at: now,
        completed_at: None,
    };
    let hold = [leg(&spend_account, -held), leg(&hold_account, held)];
    match ctx.store.take_quote(&row, &hold, now).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Err(used()),
        Err(StoreError::InvalidState(_)) => return Err(expired()),
        Err(e) => return Err(e.into()),
    }
    let release = [leg(&hold_account, -held), leg(&spend_account, held)];
    let reject = async |reason: &str| {
        if let Err(e) = ctx.store.reject_trade(&order_id, reason, &release, ctx.clock.now_ms()).await {
            tracing::error!(order_id, error = %e, "releasing a refused trade order's hold failed");
        }
    };
    let cached = ctx.engine_accounts.lock().ok().and_then(|m| m.get(&w.wallet.wallet_id).cloned());
    let account = match cached {
        Some(a) => a,
        None => match ctx.store.ex_master_account(&engine_address(&w.wallet.wallet_id), now).await {
            Ok((a, _)) => {
                if let Ok(mut m) = ctx.engine_accounts.lock() {
                    if m.len() >= 100_000 {
                        m.clear();
                    }
                    m.insert(w.wallet.wallet_id.clone(), a.clone());
                }
                a
            }
            Err(e) => {
                reject("ENGINE_UNAVAILABLE").await;
                return Err(e.into());
            }
        },
    };
    let bridge = |cur: &str| format!("exchange:{}:{cur}", w.wallet.customer_id);
    let template = row.clone();
    let event: sova_exchange::connect::EventOf = std::sync::Arc::new(move |d: &sova_store::TradeDone| {
        let t = TradeRow {
            status: d.status.clone(),
            quantity: d.quantity.clone(),
            amount: d.amount.clone(),
            price: d.price.clone(),
            fee: d.fee.clone(),
            updated_at: d.now,
            completed_at: Some(d.now),
            ..template.clone()
        };
        let data = serde_json::to_value(order_view(t)).unwrap_or_default();
        sova_http::outbox::event(&template.customer_id, "trade.completed", data, d.now)
    });
    let order = ConnectOrder {
        order_id: order_id.clone(),
        account,
        terms,
        spend_currency: spend_cur.clone(),
        receive_currency: receive_cur.clone(),
        hold_account: hold_account.clone(),
        held,
        spend_account: spend_account.clone(),
        receive_account,
        bridge_spend: bridge(&spend_cur),
        bridge_receive: bridge(&receive_cur),
        event,
    };
    if let Err(e) = ctx.exchange.submit(Request::ConnectTrade(Box::new(order))).await {
        reject(e.reason.as_str()).await;
        return Err(exchange_error(e));
    }
    let done = ctx.store.trade(&q.customer_id, &order_id).await?.ok_or_else(|| ApiError::not_found("order"))?;
    Ok(created(order_view(done)))
}

/// A wallet's trade orders, newest first. Filters: `pair`, `side`, `status`, `quote_id`.
#[utoipa::path(get, path = "/users/{wallet_id}/trading/orders", tag = "trading",
    security(("api_key" = []), ("user_token" = [])), params(("wallet_id" = String, Path)),
    responses((status = 200, body = Envelope<Vec<wire::TradeOrder>>), (status = 404, body = wire::ErrorEnvelope)))]
pub async fn list_orders(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path(wallet_id): Path<String>,
    f: Filters,
) -> ApiResult<Response> {
    let w = load_wallet(&ctx, &caller, &wallet_id).await?;
    let q = f.to_query(ORDER_FILTER, ORDER_SORT)?;
    let page = ctx.store.list_trades(&w.wallet.customer_id, Some(&w.wallet.wallet_id), &q).await?;
    Ok(list(page.items.into_iter().map(order_view).collect::<Vec<_>>(), page.total, q.limit, q.skip))
}

/// One trade order of a wallet.
#[utoipa::path(get, path = "/users/{wallet_id}/trading/orders/{order_id}", tag = "trading",
    security(("api_key" = []), ("user_token" = [])), params(("wallet_id" = String, Path), ("order_id" = String, Path)),
    responses((status = 200, body = Envelope<wire::TradeOrder>), (status = 404, body = wire::ErrorEnvelope)))]
pub async fn get_order(
    State(ctx): State<Ctx>,
    caller: Caller,
    Path((wallet_id, order_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let w = load_wallet(&ctx, &caller, &wallet_id).await?;
    let id = validate::uuid_path(&order_id, "order")?;
    let t = ctx
        .store
        .trade(&w.wallet.customer_id, &id)
        .await?
        .filter(|t| t.wallet_id == w.wallet.wallet_id)
        .ok_or_else(|| ApiError::not_found("order"))?;
    Ok(ok(order_view(t)))
}

/// An order still `PENDING` this long after it was placed never reached the exchange's commit (its process died
/// between the hold and the answer): the reconciler refuses it and gives its hold back.
pub const ABANDONED_AFTER_MS: i64 = 5 * 60 * 1000;

/// Every minute: refuse the abandoned orders (see [`ABANDONED_AFTER_MS`]), releasing their holds.
pub fn spawn_reconciler(ctx: Ctx, jobs: &sova_runtime::Jobs) {
    jobs.spawn("trade-reconciler", async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            if let Err(e) = reconcile_once(&ctx).await {
                tracing::warn!(error = ?e, "trade order reconciliation failed; retrying in 60 s");
            }
        }
    });
}

/// One sweep: how many abandoned orders it refused.
pub async fn reconcile_once(ctx: &Ctx) -> ApiResult<usize> {
    let now = ctx.clock.now_ms();
    let mut n = 0;
    for t in ctx.store.pending_trades(now - ABANDONED_AFTER_MS).await? {
        let Some(w) = ctx.store.wallet(&t.customer_id, &t.wallet_id).await? else { continue };
        let spend = if t.side == "buy" { &t.quote_currency } else { &t.base_currency };
        let held: rust_decimal::Decimal =
            t.held.parse().map_err(|_| ApiError::internal(format!("stored hold {:?}", t.held)))?;
        let (wallet, _) = wallet_accounts(&t.wallet_id, &w.wallet.currency, spend);
        let hold = wallet_hold_account(&t.wallet_id, &w.wallet.currency, spend);
        let leg = |account: &str, amount| Posting {
            account: account.to_string(),
            currency: spend.clone(),
            amount,
            may_go_negative: false,
        };
        ctx.store.reject_trade(&t.order_id, "ABANDONED", &[leg(&hold, -held), leg(&wallet, held)], now).await?;
        tracing::warn!(order_id = %t.order_id, "a trade order that never reached the exchange was refused, its hold released");
        n += 1;
    }
    Ok(n)
}
