//! The console's pages and forms.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::html;
use sova_chain::Network;
use sova_store::{ConsoleSession, Customer, ListQuery, StoreError};

use super::views::{self, amount, error, page, time};
use super::{COOKIE, Ctx, PRE_COOKIE, SESSION_MS, Signed, cookie_value, token};

/// The form fields of a request (`application/x-www-form-urlencoded`).
type Fields = HashMap<String, String>;

fn field<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.get(name).map(String::as_str).unwrap_or("").trim()
}

fn unavailable(e: StoreError) -> Response {
    tracing::error!(error = %e, "console page: store error");
    (StatusCode::SERVICE_UNAVAILABLE, views::message("Unavailable", "The database does not answer; try again."))
        .into_response()
}

/// `GET /console/assets/console.css`.
pub async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], views::CSS)
        .into_response()
}

fn sign_in_page(ctx: &Ctx, problem: Option<&str>, status: StatusCode) -> Response {
    let pre = token();
    let body = html! {
        (error(problem))
        form.stack method="post" action="/console/sign-in" {
            input type="hidden" name="csrf" value=(pre);
            label { "Email" input type="email" name="email" autocomplete="username" required autofocus; }
            label { "Password" input type="password" name="password" autocomplete="current-password" required; }
            button type="submit" { "Sign in" }
        }
    };
    let cookie = ctx.cookie(PRE_COOKIE, &pre, 600);
    (status, [(header::SET_COOKIE, cookie)], page("Sign in", None, body)).into_response()
}

/// `GET /console/sign-in`: the form (with its double-submit CSRF token).
pub async fn sign_in_form(State(ctx): State<Ctx>) -> Response {
    sign_in_page(&ctx, None, StatusCode::OK)
}

/// `POST /console/sign-in`: check the form's token against its cookie, then the password (the API's limit per
/// email applies); on success a new session and its cookie.
pub async fn sign_in(State(ctx): State<Ctx>, headers: HeaderMap, Form(f): Form<Fields>) -> Response {
    let pre = cookie_value(&headers, PRE_COOKIE);
    let given = field(&f, "csrf");
    if pre.as_deref().is_none_or(|p| given.is_empty() || !sova_auth::keys::ct_eq(p.as_bytes(), given.as_bytes())) {
        return super::forbidden();
    }
    let op = match sova_http::operators::sign_in(&ctx.access, field(&f, "email"), field(&f, "password")).await {
        Ok(op) => op,
        Err(e) if e.status == StatusCode::TOO_MANY_REQUESTS => {
            return sign_in_page(&ctx, Some("Too many attempts; wait a minute."), StatusCode::TOO_MANY_REQUESTS);
        }
        Err(_) => return sign_in_page(&ctx, Some("Email or password is wrong."), StatusCode::UNAUTHORIZED),
    };
    let session_token = token();
    let now = ctx.access.clock.now_ms();
    let s = ConsoleSession {
        token_hash: ctx.access.hasher.hash(&session_token).as_str().to_string(),
        operator_id: op.id.clone(),
        csrf: token(),
        created_at: now,
        expires_at: now + SESSION_MS,
        revoked_at: None,
    };
    if let Err(e) = ctx.store.create_console_session(&s).await {
        return unavailable(e);
    }
    let who = Signed { operator_id: op.id, email: op.email, csrf: s.csrf, token_hash: s.token_hash };
    ctx.audit(&who, "session.sign_in", &who.operator_id, None).await;
    let mut resp = Redirect::to("/console").into_response();
    let h = resp.headers_mut();
    if let Ok(v) = ctx.cookie(COOKIE, &session_token, SESSION_MS / 1000).parse() {
        h.append(header::SET_COOKIE, v);
    }
    if let Ok(v) = ctx.cookie(PRE_COOKIE, "", 0).parse() {
        h.append(header::SET_COOKIE, v);
    }
    resp
}

/// `POST /console/sign-out`: revoke the session (its cookie stops working everywhere) and clear the cookie.
pub async fn sign_out(State(ctx): State<Ctx>, who: Signed, Form(f): Form<Fields>) -> Response {
    if let Some(refused) = who.refusal(f.get("csrf").map(String::as_str)) {
        return refused;
    }
    if let Err(e) = ctx.store.revoke_console_session(&who.token_hash, ctx.access.clock.now_ms()).await {
        return unavailable(e);
    }
    ctx.audit(&who, "session.sign_out", &who.operator_id, None).await;
    let mut resp = Redirect::to("/console/sign-in").into_response();
    if let Ok(v) = ctx.cookie(COOKIE, "", 0).parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// `GET /console`: version, mode, database, counts, the chain watchers' heads, recent activity.
pub async fn overview(State(ctx): State<Ctx>, who: Signed) -> Response {
    let store = &ctx.store;
    let now = ctx.access.clock.now_ms();
    let customers = match store.list_customers(&ListQuery { limit: 1, ..ListQuery::default() }).await {
        Ok(p) => p.total,
        Err(e) => return unavailable(e),
    };
    let mut chains = Vec::new();
    for n in Network::all() {
        match store.chain_head(n.as_str()).await {
            Ok(Some(b)) => {
                let counts = store.chain_deposit_counts(n.as_str()).await.unwrap_or_default();
                chains.push((n.as_str(), b, counts));
            }
            Ok(None) => {}
            Err(e) => return unavailable(e),
        }
    }
    let recent = match store.audit_log(10).await {
        Ok(r) => r,
        Err(e) => return unavailable(e),
    };
    let backend = match store.backend() {
        sova_store::Backend::Sqlite => "SQLite",
        sova_store::Backend::Postgres => "PostgreSQL",
    };
    let healthy = store.ping().await.is_ok();
    let body = html! {
        dl.facts {
            dt { "Version" } dd { (env!("CARGO_PKG_VERSION")) }
            dt { "Mode" } dd { @if ctx.sandbox { "sandbox" } @else { "production" } }
            dt { "Database" } dd { (backend) @if healthy { " (answers)" } @else { " (does not answer)" } }
            dt { "Customers" } dd { (customers) }
        }
        h2 { "Chains" }
        @if chains.is_empty() {
            p { "No chain is watched (start with " code { "--chain-rpc NETWORK=URL" } ")." }
        } @else {
            table {
                thead { tr { th scope="col" { "Network" } th.num scope="col" { "Head" } th scope="col" { "Seen" }
                    th.num scope="col" { "Pending deposits" } th.num scope="col" { "Completed deposits" } } }
                tbody {
                    @for (net, b, (pending, completed)) in &chains {
                        tr { td { (net) } td.num { (b.height) } td { (time(b.seen_at, now)) } td.num { (pending) } td.num { (completed) } }
                    }
                }
            }
        }
        h2 { "Recent activity" }
        (audit_table(&recent, now))
    };
    page("Overview", Some(&who), body).into_response()
}

fn audit_table(entries: &[sova_store::AuditEntry], now: i64) -> maud::Markup {
    html! {
        @if entries.is_empty() { p { "Nothing yet." } } @else {
            table {
                thead { tr { th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "What" } th scope="col" { "On" } th scope="col" { "Detail" } } }
                tbody {
                    @for e in entries {
                        tr { td { (time(e.at, now)) } td { (e.email) } td { code { (e.action) } } td { (e.target) } td { (e.detail.as_deref().unwrap_or("")) } }
                    }
                }
            }
        }
    }
}

/// `GET /console/audit`: the latest 200 changes made through the console.
pub async fn audit(State(ctx): State<Ctx>, who: Signed) -> Response {
    match ctx.store.audit_log(200).await {
        Ok(entries) => page("Audit log", Some(&who), audit_table(&entries, ctx.access.clock.now_ms())).into_response(),
        Err(e) => unavailable(e),
    }
}

fn customers_page(
    who: &Signed,
    list: &[Customer],
    total: u64,
    skip: u64,
    now: i64,
    problem: Option<&str>,
) -> Html<String> {
    let body = html! {
        h2 { "New customer" }
        (error(problem))
        form.stack method="post" action="/console/customers" {
            input type="hidden" name="csrf" value=(who.csrf);
            label { "Customer id" input name="customer_id" required pattern="[a-z0-9][a-z0-9_-]*" aria-describedby="cid-hint"; }
            span #cid-hint .hint { "Lower-case letters, digits, - and _." }
            label { "Email" input type="email" name="email" required; }
            label { "Entity name" input name="entity_name" required; }
            button type="submit" { "Create customer" }
        }
        h2 { "Customers (" (total) ")" }
        table {
            thead { tr { th scope="col" { "Id" } th scope="col" { "Entity" } th scope="col" { "Email" } th scope="col" { "Status" } th scope="col" { "Created" } } }
            tbody {
                @for c in list {
                    tr { td { a href={ "/console/customers/" (c.customer_id) } { code { (c.customer_id) } } } td { (c.entity_name) } td { (c.email) } td { (c.status) } td { (time(c.created_at, now)) } }
                }
            }
        }
        nav.pager aria-label="Pages" {
            @if skip > 0 { a href={ "/console/customers?skip=" (skip.saturating_sub(50)) } { "Previous" } }
            @if skip + 50 < total { a href={ "/console/customers?skip=" (skip + 50) } { "Next" } }
        }
    };
    page("Customers", Some(who), body)
}

async fn list_customers(ctx: &Ctx, skip: u64) -> Result<(Vec<Customer>, u64), StoreError> {
    let p = ctx.store.list_customers(&ListQuery { limit: 50, skip, ..ListQuery::default() }).await?;
    Ok((p.items, p.total))
}

/// `GET /console/customers?skip=N`.
pub async fn customers(State(ctx): State<Ctx>, who: Signed, Query(q): Query<Fields>) -> Response {
    let skip = field(&q, "skip").parse::<u64>().unwrap_or(0);
    match list_customers(&ctx, skip).await {
        Ok((list, total)) => customers_page(&who, &list, total, skip, ctx.access.clock.now_ms(), None).into_response(),
        Err(e) => unavailable(e),
    }
}

/// `POST /console/customers`: create one (validated as the API validates it).
pub async fn create_customer(State(ctx): State<Ctx>, who: Signed, Form(f): Form<Fields>) -> Response {
    if let Some(refused) = who.refusal(f.get("csrf").map(String::as_str)) {
        return refused;
    }
    let now = ctx.access.clock.now_ms();
    let made = (|| {
        Ok::<_, sova_http::error::ApiError>(Customer {
            customer_id: sova_http::validate::slug("customer_id", field(&f, "customer_id"))?,
            email: sova_http::validate::email("email", field(&f, "email"))?,
            entity_name: sova_http::validate::text("entity_name", field(&f, "entity_name"), 200)?,
            status: "ACTIVE".into(),
            created_by: who.operator_id.clone(),
            created_at: now,
            updated_at: now,
        })
    })();
    let problem = match made {
        Err(e) => Some(e.message),
        Ok(c) => match ctx.store.create_customer(&c).await {
            Ok(()) => {
                ctx.audit(&who, "customer.create", &c.customer_id, Some(c.entity_name.clone())).await;
                return Redirect::to("/console/customers").into_response();
            }
            Err(StoreError::Conflict(_)) => {
                Some(format!("The customer id {} is taken; choose another.", c.customer_id))
            }
            Err(e) => return unavailable(e),
        },
    };
    match list_customers(&ctx, 0).await {
        Ok((list, total)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, customers_page(&who, &list, total, 0, now, problem.as_deref()))
                .into_response()
        }
        Err(e) => unavailable(e),
    }
}

/// `GET /console/search?q=`: an address (deposits to it, any tenant) or a deposit's transaction hash.
pub async fn search(State(ctx): State<Ctx>, who: Signed, Query(q): Query<Fields>) -> Response {
    let term = field(&q, "q").to_string();
    let now = ctx.access.clock.now_ms();
    let (deposits, addresses) = if term.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        let d = match ctx.store.deposits_to(&term, 100, 0).await {
            Ok((d, _)) => d,
            Err(e) => return unavailable(e),
        };
        let a = match ctx.store.addresses_by_value(&term).await {
            Ok(a) => a,
            Err(e) => return unavailable(e),
        };
        (d, a)
    };
    let body = html! {
        form role="search" method="get" action="/console/search" {
            label for="q" { "Address " }
            input #q type="search" name="q" value=(term) size="60";
            " "
            button type="submit" { "Search" }
        }
        @if !term.is_empty() {
            h2 { "Address" }
            @if addresses.is_empty() { p { "No issued address is " code { (term) } "." } }
            @for a in &addresses {
                p { "Issued to customer " code { (a.customer_id) } ", wallet " code { (a.wallet_id) } " (" (a.currency) " on " (a.network) ")." }
            }
            h2 { "Deposits (" (deposits.len()) ")" }
            table {
                thead { tr { th scope="col" { "Deposit" } th scope="col" { "Customer" } th.num scope="col" { "Amount" } th scope="col" { "Status" } th scope="col" { "Transaction" } th scope="col" { "Created" } } }
                tbody {
                    @for d in &deposits {
                        tr { td { code { (d.deposit_id) } } td { (d.customer_id) } (amount(&d.amount, &d.currency)) td { (d.status) } td { code { (d.tx_hash) } } td { (time(d.created_at, now)) } }
                    }
                }
            }
        }
    };
    page("Search", Some(&who), body).into_response()
}

async fn queue_page(ctx: &Ctx, who: &Signed, problem: Option<&str>, status: StatusCode) -> Response {
    let now = ctx.access.clock.now_ms();
    let queue = match ctx.store.stale_withdrawals("PENDING_APPROVAL", i64::MAX, 100).await {
        Ok(q) => q,
        Err(e) => return unavailable(e),
    };
    let mut rows = Vec::new();
    for w in queue {
        let votes = match ctx.store.withdrawal_votes(&w.withdrawal_id).await {
            Ok(v) => v,
            Err(e) => return unavailable(e),
        };
        let events = match ctx.store.withdrawal_events(&w.withdrawal_id).await {
            Ok(e) => e,
            Err(e) => return unavailable(e),
        };
        rows.push((w, votes, events));
    }
    let body = html! {
        (error(problem))
        p { "Withdrawals waiting for approvals, oldest first. The initiator can never approve, and each approver decides once: a second operator completes what the first approved." }
        @if rows.is_empty() { p { "Nothing awaits approval." } }
        @for (w, votes, events) in &rows {
            section.withdrawal aria-labelledby={ "w-" (w.withdrawal_id) } {
                h2 #{ "w-" (w.withdrawal_id) } { (w.amount) " " (w.currency.to_ascii_uppercase()) " to " code { (w.address) } }
                dl.facts {
                    dt { "Withdrawal" } dd { code { (w.withdrawal_id) } }
                    dt { "Customer" } dd { (w.customer_id) }
                    dt { "Network" } dd { (w.network) }
                    dt { "Fee" } dd { (w.fee) " " (w.currency.to_ascii_uppercase()) }
                    dt { "Policy" } dd { "version " (w.policy_version) ", rule " code { (w.policy_rule.as_deref().unwrap_or("default")) } }
                    dt { "Approvals" } dd { (votes.iter().filter(|v| v.decision == "APPROVE").count()) " of " (w.approvals_required) }
                    dt { "Initiator" } dd { (w.initiator) }
                    @if let Some(exp) = w.approval_expires_at { dt { "Expires" } dd { (time(exp, now)) } }
                }
                h3 { "Timeline" }
                ol {
                    @for e in events { li { (time(e.at, now)) " " (e.sub_status) " by " (e.actor) @if let Some(d) = &e.detail { ": " (d) } } }
                    @for v in votes { li { (time(v.at, now)) " " (v.decision) " by " (v.approver) } }
                }
                form method="post" action={ "/console/withdrawals/" (w.customer_id) "/" (w.withdrawal_id) "/approve" } {
                    input type="hidden" name="csrf" value=(who.csrf);
                    button type="submit" { "Approve" }
                }
                form method="post" action={ "/console/withdrawals/" (w.customer_id) "/" (w.withdrawal_id) "/reject" } {
                    input type="hidden" name="csrf" value=(who.csrf);
                    label { "Reason " input name="reason" maxlength="255"; }
                    " "
                    button type="submit" { "Reject" }
                }
            }
        }
    };
    (status, page("Approvals", Some(who), body)).into_response()
}

/// `GET /console/withdrawals`: the approval queue (every customer's withdrawals awaiting approval).
pub async fn withdrawals(State(ctx): State<Ctx>, who: Signed) -> Response {
    queue_page(&ctx, &who, None, StatusCode::OK).await
}

/// `POST /console/withdrawals/{customer_id}/{withdrawal_id}/{approve|reject}`: the signed-in operator's vote
/// (`operator:<id>`), under the same four-eyes rule as the API's; queued ones are sent by the sandbox (or a hot
/// wallet) as after an API approval.
pub async fn decide(
    State(ctx): State<Ctx>,
    who: Signed,
    axum::extract::Path((customer_id, id, decision)): axum::extract::Path<(String, String, String)>,
    Form(f): Form<Fields>,
) -> Response {
    if let Some(refused) = who.refusal(f.get("csrf").map(String::as_str)) {
        return refused;
    }
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return queue_page(&ctx, &who, Some("Unknown decision."), StatusCode::NOT_FOUND).await,
    };
    let reason = Some(field(&f, "reason")).filter(|r| !r.is_empty()).map(|r| r.chars().take(255).collect());
    let approver = format!("operator:{}", who.operator_id);
    match sova_http::approvals::vote(&ctx.access, &customer_id, &id, &approver, approve, reason).await {
        Ok((row, decided)) => {
            let mut detail = format!("{} {}", row.amount, row.currency.to_ascii_uppercase());
            if decided && approve && ctx.sandbox && !ctx.live.contains(&row.network) {
                if let Err(e) = sova_http::approvals::sandbox_send(&ctx.access, &row).await {
                    tracing::warn!(error = %e.message, "console: sandbox send after approval failed");
                }
                detail.push_str(" (sent by the sandbox)");
            }
            let action = if approve { "withdrawal.approve" } else { "withdrawal.reject" };
            ctx.audit(&who, action, &id, Some(detail)).await;
            Redirect::to("/console/withdrawals").into_response()
        }
        Err(e) => queue_page(&ctx, &who, Some(&e.message), e.status).await,
    }
}

async fn customer_page(ctx: &Ctx, who: &Signed, id: &str, shown: Option<maud::Markup>, status: StatusCode) -> Response {
    let now = ctx.access.clock.now_ms();
    let c = match ctx.store.customer(id).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return (
                StatusCode::NOT_FOUND,
                page("Not found", Some(who), html! { p { "No customer " code { (id) } "." } }),
            )
                .into_response();
        }
        Err(e) => return unavailable(e),
    };
    let creds = match ctx.store.list_credentials(id, &ListQuery { limit: 100, ..ListQuery::default() }).await {
        Ok(p) => p.items,
        Err(e) => return unavailable(e),
    };
    let endpoints = match ctx.store.list_endpoints(id).await {
        Ok(e) => e,
        Err(e) => return unavailable(e),
    };
    let recent = ListQuery { limit: 50, ..ListQuery::default() };
    let users = match ctx.store.list_users(id, &recent).await {
        Ok(p) => p,
        Err(e) => return unavailable(e),
    };
    let wallets = match ctx.store.list_wallets(id, None, &recent).await {
        Ok(p) => p,
        Err(e) => return unavailable(e),
    };
    let deposits = match ctx.store.list_deposits(id, None, &recent).await {
        Ok(p) => p,
        Err(e) => return unavailable(e),
    };
    let base = format!("/console/customers/{}", c.customer_id);
    let body = html! {
        @if let Some(s) = shown { (s) }
        dl.facts {
            dt { "Id" } dd { code { (c.customer_id) } }
            dt { "Entity" } dd { (c.entity_name) }
            dt { "Email" } dd { (c.email) }
            dt { "Status" } dd { (c.status) }
            dt { "Created" } dd { (time(c.created_at, now)) }
        }
        form method="post" action={ (base) "/status" } {
            input type="hidden" name="csrf" value=(who.csrf);
            @if c.status == "ACTIVE" {
                input type="hidden" name="status" value="SUSPENDED";
                button type="submit" { "Suspend (its keys stop at once)" }
            } @else {
                input type="hidden" name="status" value="ACTIVE";
                button type="submit" { "Activate" }
            }
        }
        h2 { "Credentials" }
        table {
            thead { tr { th scope="col" { "Id" } th scope="col" { "Name" } th scope="col" { "Prefix" } th scope="col" { "Schemes" } th scope="col" { "Status" } th scope="col" { "Created" } th scope="col" { "Last used" } th scope="col" { span.hint { "Action" } } } }
            tbody {
                @for k in &creds {
                    tr {
                        td { code { (k.id) } }
                        td { (k.name.as_deref().unwrap_or("")) }
                        td { code { (k.prefix) "…" } }
                        td { "owner key" @if k.access_key.is_some() { ", Cs-* HMAC" } }
                        td { (k.status(now)) }
                        td { (time(k.created_at, now)) }
                        td { @if let Some(t) = k.last_used_at { (time(t, now)) } @else { "never" } }
                        td {
                            @if k.revoked_at.is_none() {
                                form method="post" action={ (base) "/credentials/" (k.id) "/revoke" } {
                                    input type="hidden" name="csrf" value=(who.csrf);
                                    button type="submit" aria-label={ "Revoke credential " (k.id) } { "Revoke" }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Users (" (users.total) ")" }
        table {
            thead { tr { th scope="col" { "User" } th scope="col" { "Name" } th scope="col" { "Email" } th scope="col" { "Status" } th scope="col" { "Created" } } }
            tbody {
                @for u in &users.items {
                    tr { td { code { (u.user_id) } } td { (u.first_name) " " (u.last_name) } td { (u.email) } td { (u.status) } td { (time(u.created_at, now)) } }
                }
            }
        }
        h2 { "Wallets (" (wallets.total) ")" }
        table {
            thead { tr { th scope="col" { "Wallet" } th scope="col" { "Name" } th scope="col" { "User" } th scope="col" { "Status" } th.num scope="col" { "Available" } th.num scope="col" { "Held" } th.num scope="col" { "Pending" } } }
            tbody {
                @for w in &wallets.items {
                    @for (i, b) in w.balances.iter().enumerate() {
                        tr {
                            td { @if i == 0 { code { (w.wallet.wallet_id) } } }
                            td { @if i == 0 { (w.wallet.name) } }
                            td { @if i == 0 { code { (w.wallet.user_id) } } }
                            td { @if i == 0 { (w.wallet.status) } }
                            (amount(&b.available, &b.currency)) (amount(&b.held, &b.currency)) (amount(&b.pending, &b.currency))
                        }
                    }
                }
            }
        }
        h2 { "Deposits (" (deposits.total) ", latest 50)" }
        table {
            thead { tr { th scope="col" { "Deposit" } th scope="col" { "Wallet" } th.num scope="col" { "Amount" } th scope="col" { "Network" } th scope="col" { "Status" } th.num scope="col" { "Confirmations" } th scope="col" { "Address" } th scope="col" { "Created" } } }
            tbody {
                @for d in &deposits.items {
                    tr {
                        td { code { (d.deposit_id) } } td { code { (d.wallet_id) } } (amount(&d.amount, &d.currency)) td { (d.network) } td { (d.status) }
                        td.num { @if d.output_index.is_some() { (d.confirmations) } @else { span.hint { "sandbox" } } }
                        td { a href={ "/console/search?q=" (d.address) } { code { (d.address) } } }
                        td { (time(d.created_at, now)) }
                    }
                }
            }
        }
        h2 { "Webhook endpoints" }
        @if endpoints.is_empty() { p { "None." } }
        ul {
            @for e in &endpoints {
                li { a href={ (base) "/webhooks/" (e.endpoint_id) } { code { (e.endpoint_id) } } " " (e.url) " (" (e.status.to_ascii_lowercase()) ")" }
            }
        }
        h3 { "Mint a credential" }
        form.stack method="post" action={ (base) "/credentials" } {
            input type="hidden" name="csrf" value=(who.csrf);
            label { "Name (optional)" input name="name" maxlength="100"; }
            label { "Passphrase for the Cs-* HMAC scheme (optional, 8 to 128 characters)" input type="password" name="passphrase" autocomplete="new-password"; }
            button type="submit" { "Mint credential" }
        }
    };
    (status, page(&format!("Customer {}", c.customer_id), Some(who), body)).into_response()
}

/// `GET /console/customers/{id}`: the customer, its status and its credentials.
pub async fn customer(
    State(ctx): State<Ctx>,
    who: Signed,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    customer_page(&ctx, &who, &id, None, StatusCode::OK).await
}

/// `POST /console/customers/{id}/status`: suspend (its keys stop on every replica at once) or activate.
pub async fn customer_status(
    State(ctx): State<Ctx>,
    who: Signed,
    axum::extract::Path(id): axum::extract::Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    if let Some(refused) = who.refusal(f.get("csrf").map(String::as_str)) {
        return refused;
    }
    let status = field(&f, "status");
    if !matches!(status, "ACTIVE" | "SUSPENDED") {
        return customer_page(&ctx, &who, &id, Some(error(Some("Unknown status."))), StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    }
    let patch = sova_store::CustomerPatch { status: Some(status.to_string()), ..Default::default() };
    match ctx.store.update_customer(&id, &patch, ctx.access.clock.now_ms()).await {
        Ok(c) => {
            ctx.access.broadcast(&format!("customer:{}", c.customer_id)).await;
            ctx.audit(&who, "customer.status", &c.customer_id, Some(status.to_string())).await;
            Redirect::to(&format!("/console/customers/{}", c.customer_id)).into_response()
        }
        Err(StoreError::NotFound) => customer_page(&ctx, &who, &id, None, StatusCode::NOT_FOUND).await,
        Err(e) => unavailable(e),
    }
}

/// `POST /console/customers/{id}/credentials`: mint one; its secrets are shown on this answer only.
pub async fn mint_credential(
    State(ctx): State<Ctx>,
    who: Signed,
    axum::extract::Path(id): axum::extract::Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    if let Some(refused) = who.refusal(f.get("csrf").map(String::as_str)) {
        return refused;
    }
    match ctx.store.customer(&id).await {
        Ok(Some(_)) => {}
        Ok(None) => return customer_page(&ctx, &who, &id, None, StatusCode::NOT_FOUND).await,
        Err(e) => return unavailable(e),
    }
    use sova_http::credentials::{NewCredential, mint, passphrase_hash};
    let made = (|| {
        let name = Some(field(&f, "name")).filter(|n| !n.is_empty());
        let name = name.map(|n| sova_http::validate::text("name", n, 100)).transpose()?;
        let pass = f.get("passphrase").map(String::as_str).filter(|p| !p.is_empty());
        let passphrase_hash = pass.map(|p| passphrase_hash(&ctx.access, p)).transpose()?;
        mint(&ctx.access, &id, NewCredential { name, expires_in: None, passphrase_hash })
    })();
    let m = match made {
        Ok(m) => m,
        Err(e) => {
            return customer_page(&ctx, &who, &id, Some(error(Some(&e.message))), StatusCode::UNPROCESSABLE_ENTITY)
                .await;
        }
    };
    if let Err(e) = ctx.store.create_credential(&m.row).await {
        return unavailable(e);
    }
    ctx.audit(&who, "credential.mint", &m.row.id, Some(format!("customer {id}"))).await;
    let shown = html! {
        section.once aria-labelledby="once" {
            h2 #once { "New credential: copy its secrets now" }
            p { "They are shown only on this page; Sova keeps keyed hashes and cannot show them again." }
            dl.facts {
                dt { "Credential" } dd { code { (m.row.id) } }
                dt { "Owner key (x-api-key)" } dd { p.secret data-secret="customer_secret" { (m.customer_secret) } }
                @if let (Some(ak), Some(sk)) = (&m.row.access_key, &m.secret_key) {
                    dt { "Cs-Access-Key" } dd { code { (ak) } }
                    dt { "Secret key (Cs-Sign)" } dd { p.secret data-secret="secret_key" { (sk) } }
                }
            }
        }
    };
    let mut resp = customer_page(&ctx, &who, &id, Some(shown), StatusCode::CREATED).await;
    resp.headers_mut().insert(header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    resp
}

/// `POST /console/customers/{id}/credentials/{credential_id}/revoke`: at once, on every replica, both schemes.
pub async fn revoke_credential(
    State(ctx): State<Ctx>,
    who: Signed,
    axum::extract::Path((id, credential_id)): axum::extract::Path<(String, String)>,
    Form(f): Form<Fields>,
) -> Response {
    if let Some(refused) = who.refusal(f.get("csrf").map(String::as_str)) {
        return refused;
    }
    match ctx.store.revoke_credential(&id, &credential_id, ctx.access.clock.now_ms()).await {
        Ok(row) => {
            sova_http::credentials::forget(&ctx.access, &row).await;
            ctx.audit(&who, "credential.revoke", &credential_id, Some(format!("customer {id}"))).await;
            Redirect::to(&format!("/console/customers/{id}")).into_response()
        }
        Err(StoreError::NotFound) => {
            customer_page(&ctx, &who, &id, Some(error(Some("No such credential."))), StatusCode::NOT_FOUND).await
        }
        Err(e) => unavailable(e),
    }
}

async fn endpoint_page(
    ctx: &Ctx,
    who: &Signed,
    id: &str,
    endpoint_id: &str,
    note: Option<maud::Markup>,
    status: StatusCode,
) -> Response {
    let now = ctx.access.clock.now_ms();
    let e = match ctx.store.endpoint(id, endpoint_id).await {
        Ok(Some(e)) => e,
        Ok(None) => {
            return (StatusCode::NOT_FOUND, page("Not found", Some(who), html! { p { "No such endpoint." } }))
                .into_response();
        }
        Err(err) => return unavailable(err),
    };
    let deliveries = match ctx.store.list_deliveries(id, endpoint_id, 100).await {
        Ok(d) => d,
        Err(err) => return unavailable(err),
    };
    let base = format!("/console/customers/{id}/webhooks/{endpoint_id}");
    let body = html! {
        @if let Some(n) = note { (n) }
        p { a href={ "/console/customers/" (id) } { "Back to " (id) } }
        dl.facts {
            dt { "URL" } dd { (e.url) }
            dt { "Status" } dd { (e.status) }
            dt { "Event types" } dd { (e.event_types) }
        }
        h2 { "Deliveries (" (deliveries.len()) ")" }
        table {
            thead { tr { th scope="col" { "Event" } th scope="col" { "Status" } th.num scope="col" { "Attempts" } th.num scope="col" { "Response" } th scope="col" { "Body or error" } th scope="col" { "Updated" } th scope="col" { span.hint { "Action" } } } }
            tbody {
                @for d in &deliveries {
                    tr {
                        td { code { (d.event_id) } }
                        td { (d.status) }
                        td.num { (d.attempts) }
                        td.num { @if let Some(s) = d.response_status { (s) } }
                        td { (d.error.as_deref().or(d.response_body.as_deref()).unwrap_or("").chars().take(200).collect::<String>()) }
                        td { (time(d.updated_at, now)) }
                        td {
                            form method="post" action={ (base) "/redeliver" } {
                                input type="hidden" name="csrf" value=(who.csrf);
                                input type="hidden" name="event_id" value=(d.event_id);
                                button type="submit" aria-label={ "Redeliver event " (d.event_id) } { "Redeliver" }
                            }
                        }
                    }
                }
            }
        }
        h3 { "Replay a range" }
        form.stack method="post" action={ (base) "/replay" } {
            input type="hidden" name="csrf" value=(who.csrf);
            label { "Since (UTC, RFC 3339)" input name="since" placeholder="2026-12-07T00:00:00Z" required; }
            label { "Until (UTC, RFC 3339; empty: now)" input name="until"; }
            button type="submit" { "Replay" }
        }
    };
    (status, page(&format!("Webhook endpoint {endpoint_id}"), Some(who), body)).into_response()
}

/// `GET /console/customers/{id}/webhooks/{endpoint_id}`: the endpoint and its latest deliveries.
pub async fn endpoint(
    State(ctx): State<Ctx>,
    who: Signed,
    axum::extract::Path((id, endpoint_id)): axum::extract::Path<(String, String)>,
) -> Response {
    endpoint_page(&ctx, &who, &id, &endpoint_id, None, StatusCode::OK).await
}

/// `POST .../webhooks/{endpoint_id}/redeliver` (`event_id`): send that event again to every enabled endpoint that
/// takes it (the API's redeliver).
pub async fn redeliver(
    State(ctx): State<Ctx>,
    who: Signed,
    axum::extract::Path((id, endpoint_id)): axum::extract::Path<(String, String)>,
    Form(f): Form<Fields>,
) -> Response {
    if let Some(refused) = who.refusal(f.get("csrf").map(String::as_str)) {
        return refused;
    }
    let event_id = field(&f, "event_id").to_string();
    match ctx.store.redeliver(&id, &event_id, ctx.access.clock.now_ms()).await {
        Ok(n) => {
            ctx.access.outbox.notify_one();
            ctx.audit(&who, "webhook.redeliver", &event_id, Some(format!("{n} delivery(ies) queued"))).await;
            let note = html! { p role="status" { "Queued " (n) " new delivery(ies) of " code { (event_id) } "." } };
            endpoint_page(&ctx, &who, &id, &endpoint_id, Some(note), StatusCode::OK).await
        }
        Err(StoreError::NotFound) => {
            endpoint_page(&ctx, &who, &id, &endpoint_id, Some(error(Some("No such event."))), StatusCode::NOT_FOUND)
                .await
        }
        Err(e) => unavailable(e),
    }
}

/// `POST .../webhooks/{endpoint_id}/replay` (`since`, `until`): send again every event of the range this endpoint
/// takes (the API's replay).
pub async fn replay(
    State(ctx): State<Ctx>,
    who: Signed,
    axum::extract::Path((id, endpoint_id)): axum::extract::Path<(String, String)>,
    Form(f): Form<Fields>,
) -> Response {
    if let Some(refused) = who.refusal(f.get("csrf").map(String::as_str)) {
        return refused;
    }
    let now = ctx.access.clock.now_ms();
    let at = |v: &str| chrono::DateTime::parse_from_rfc3339(v).map(|t| t.timestamp_millis()).ok();
    let since = at(field(&f, "since"));
    let until = match field(&f, "until") {
        "" => Some(now + 1),
        u => at(u),
    };
    let (Some(since), Some(until)) = (since, until) else {
        let e = error(Some("Times must be RFC 3339, such as 2026-12-07T10:00:00Z."));
        return endpoint_page(&ctx, &who, &id, &endpoint_id, Some(e), StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    if since >= until {
        let e = error(Some("Until must be after since."));
        return endpoint_page(&ctx, &who, &id, &endpoint_id, Some(e), StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    match ctx.store.replay(&id, &endpoint_id, since, until, now).await {
        Ok(n) => {
            ctx.access.outbox.notify_one();
            ctx.audit(&who, "webhook.replay", &endpoint_id, Some(format!("{n} event(s) queued"))).await;
            let note = html! { p role="status" { "Queued " (n) " event(s) again." } };
            endpoint_page(&ctx, &who, &id, &endpoint_id, Some(note), StatusCode::OK).await
        }
        Err(StoreError::NotFound) => {
            let e = error(Some("The endpoint is not enabled; enable it first."));
            endpoint_page(&ctx, &who, &id, &endpoint_id, Some(e), StatusCode::CONFLICT).await
        }
        Err(e) => unavailable(e),
    }
}
