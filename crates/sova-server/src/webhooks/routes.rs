//! The webhook handlers: the vendor's single target (`/customers/{id}/webhooks`) and Sova's endpoints API, managed
//! by an operator (session) or by the customer's own owner key.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::response::Response;
use sova_http::auth::OperatorOrOwner;
use sova_http::envelope::{created, list, ok};
use sova_http::error::{ApiError, ApiResult};
use sova_http::extract::JsonBody;
use sova_http::filters::Filters;
use sova_http::time::iso;
use sova_http::validate;
use sova_proto::connect::{self as wire, Envelope};
use sova_store::{StoreError, WebhookEndpointRow};

use super::{Ctx, EVENT_TYPES, ROTATION_OVERLAP_MS, url_problem};

/// Endpoints a customer may have.
const MAX_ENDPOINTS: usize = 20;
/// Headers an endpoint may send.
const MAX_HEADERS: usize = 20;
/// Headers Sova sets itself on every delivery.
const RESERVED: &[&str] =
    &["content-type", "content-length", "host", "transfer-encoding", "connection", "user-agent", "expect", "te"];

async fn endpoint(
    ctx: &Ctx,
    m: &OperatorOrOwner,
    customer_id: &str,
    endpoint_id: &str,
) -> ApiResult<WebhookEndpointRow> {
    m.customer(ctx.store.as_ref(), customer_id).await?;
    ctx.store.endpoint(customer_id, endpoint_id).await?.ok_or_else(|| ApiError::not_found("webhook endpoint"))
}

fn check_url(ctx: &Ctx, url: &str) -> ApiResult<String> {
    let url = url.trim();
    match url_problem(url, ctx.allow_private) {
        Some(problem) => Err(ApiError::validation("url", problem)),
        None => Ok(url.to_string()),
    }
}

fn check_headers(headers: Option<Vec<wire::WebhookHeader>>) -> ApiResult<Vec<(String, String)>> {
    let headers = headers.unwrap_or_default();
    if headers.len() > MAX_HEADERS {
        return Err(ApiError::validation("headers", format!("at most {MAX_HEADERS} headers")));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(headers.len());
    for h in headers {
        let key = h.key.trim().to_string();
        let lower = key.to_ascii_lowercase();
        if key.is_empty() || key.len() > 64 || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ApiError::validation(
                "headers",
                format!("header key `{key}` must be 1-64 letters, digits, `-` or `_`"),
            ));
        }
        if RESERVED.contains(&lower.as_str()) || lower.starts_with("webhook-") {
            return Err(ApiError::validation("headers", format!("header `{key}` is set by Sova on every delivery")));
        }
        if !seen.insert(lower) {
            return Err(ApiError::validation("headers", format!("header `{key}` is given twice")));
        }
        if h.value.len() > 1024 || axum::http::HeaderValue::from_str(&h.value).is_err() {
            return Err(ApiError::validation(
                "headers",
                format!("the value of header `{key}` must be at most 1024 visible characters, without line breaks"),
            ));
        }
        out.push((key, h.value));
    }
    Ok(out)
}

fn check_types(types: Option<Vec<String>>) -> ApiResult<String> {
    let mut out = BTreeSet::new();
    for t in types.unwrap_or_default() {
        if !EVENT_TYPES.contains(&t.as_str()) {
            return Err(ApiError::validation(
                "event_types",
                format!("unknown event type `{t}`; one of {}", EVENT_TYPES.join(", ")),
            ));
        }
        out.insert(t);
    }
    Ok(serde_json::to_string(&out.into_iter().collect::<Vec<_>>()).unwrap_or_else(|_| "[]".into()))
}

fn view(ctx: &Ctx, e: &WebhookEndpointRow, secret: Option<String>) -> wire::WebhookEndpoint {
    let now = ctx.clock.now_ms();
    wire::WebhookEndpoint {
        endpoint_id: e.endpoint_id.clone(),
        customer_id: e.customer_id.clone(),
        url: e.url.clone(),
        description: e.description.clone(),
        event_types: serde_json::from_str(&e.event_types).unwrap_or_default(),
        headers: ctx
            .headers(e)
            .into_iter()
            .map(|(key, _)| wire::WebhookHeader { key, value: "***masked***".into() })
            .collect(),
        status: e.status.clone(),
        disabled_reason: e.disabled_reason.clone(),
        vendor: e.vendor == 1,
        secret,
        previous_secret_expires_at: e.previous_until.filter(|u| *u > now).map(iso),
        created_at: iso(e.created_at),
        updated_at: iso(e.updated_at),
    }
}

/// A new endpoint row and its secret (shown once).
fn new_endpoint(
    ctx: &Ctx,
    customer_id: &str,
    url: String,
    description: Option<String>,
    event_types: String,
    headers: &[(String, String)],
    vendor: bool,
) -> (WebhookEndpointRow, String) {
    let endpoint_id = format!("ep_{}", uuid::Uuid::new_v4().simple());
    let secret = sova_auth::webhook::new_secret();
    let now = ctx.clock.now_ms();
    let row = WebhookEndpointRow {
        secret_sealed: ctx.seal_secret(&endpoint_id, &secret),
        headers: ctx.seal_headers(&endpoint_id, headers),
        endpoint_id,
        customer_id: customer_id.to_string(),
        url,
        description,
        event_types,
        previous_sealed: None,
        previous_until: None,
        vendor: i64::from(vendor),
        status: "ENABLED".into(),
        disabled_reason: None,
        created_at: now,
        updated_at: now,
    };
    (row, secret.to_string())
}

async fn room_for_one(ctx: &Ctx, customer_id: &str) -> ApiResult<()> {
    if ctx.store.list_endpoints(customer_id).await?.len() >= MAX_ENDPOINTS {
        return Err(ApiError::conflict(format!(
            "a customer may have at most {MAX_ENDPOINTS} webhook endpoints; delete one first"
        )));
    }
    Ok(())
}

/// The vendor's Configure Webhook: where withdrawal codes and every other event are pushed. One target per
/// customer; calling again overwrites its URL and headers (the signing secret stays: it is shown only the first
/// time).
#[utoipa::path(post, path = "/customers/{customer_id}/webhooks", tag = "webhooks",
    security(("session" = []), ("api_key" = [])), params(("customer_id" = String, Path)),
    request_body = wire::ConfigureWebhookRequest, responses((status = 201, body = Envelope<wire::ConfiguredWebhook>)))]
pub async fn configure(
    State(ctx): State<Ctx>,
    m: OperatorOrOwner,
    Path(customer_id): Path<String>,
    JsonBody(req): JsonBody<wire::ConfigureWebhookRequest>,
) -> ApiResult<Response> {
    m.customer(ctx.store.as_ref(), &customer_id).await?;
    let url = check_url(&ctx, &req.url)?;
    let headers = check_headers(req.headers)?;
    let (row, secret) = match ctx.store.vendor_endpoint(&customer_id).await? {
        Some(mut e) => {
            e.url = url;
            e.headers = ctx.seal_headers(&e.endpoint_id, &headers);
            e.status = "ENABLED".into();
            e.disabled_reason = None;
            e.updated_at = ctx.clock.now_ms();
            ctx.store.update_endpoint(&e).await?;
            (e, None)
        }
        None => {
            room_for_one(&ctx, &customer_id).await?;
            let (row, secret) = new_endpoint(&ctx, &customer_id, url, None, "[]".into(), &headers, true);
            ctx.store.create_endpoint(&row).await?;
            (row, Some(secret))
        }
    };
    Ok(created(wire::ConfiguredWebhook {
        message: "Webhook configured successfully".into(),
        url: row.url,
        endpoint_id: row.endpoint_id,
        secret,
    }))
}

/// The customer's vendor-style target.
#[utoipa::path(get, path = "/customers/{customer_id}/webhooks", tag = "webhooks",
    security(("session" = []), ("api_key" = [])), params(("customer_id" = String, Path)),
    responses((status = 200, body = Envelope<wire::WebhookEndpoint>)))]
pub async fn get_configured(
    State(ctx): State<Ctx>,
    m: OperatorOrOwner,
    Path(customer_id): Path<String>,
) -> ApiResult<Response> {
    m.customer(ctx.store.as_ref(), &customer_id).await?;
    let e = ctx.store.vendor_endpoint(&customer_id).await?.ok_or_else(|| ApiError::not_found("webhook"))?;
    Ok(ok(view(&ctx, &e, None)))
}

/// Remove the customer's vendor-style target (pending deliveries to it fail).
#[utoipa::path(delete, path = "/customers/{customer_id}/webhooks", tag = "webhooks",
    security(("session" = []), ("api_key" = [])), params(("customer_id" = String, Path)),
    responses((status = 200, body = Envelope<wire::WebhookEndpoint>)))]
pub async fn delete_configured(
    State(ctx): State<Ctx>,
    m: OperatorOrOwner,
    Path(customer_id): Path<String>,
) -> ApiResult<Response> {
    m.customer(ctx.store.as_ref(), &customer_id).await?;
    let e = ctx.store.vendor_endpoint(&customer_id).await?.ok_or_else(|| ApiError::not_found("webhook"))?;
    remove(&ctx, e).await
}

async fn remove(ctx: &Ctx, mut e: WebhookEndpointRow) -> ApiResult<Response> {
    e.status = "DELETED".into();
    e.updated_at = ctx.clock.now_ms();
    ctx.store.update_endpoint(&e).await?;
    Ok(ok(view(ctx, &e, None)))
}

/// Add an endpoint. Its signing secret (`whsec_...`, Standard Webhooks) is in this answer only.
#[utoipa::path(post, path = "/customers/{customer_id}/webhook-endpoints", tag = "webhooks",
    security(("session" = []), ("api_key" = [])), params(("customer_id" = String, Path)),
    request_body = wire::CreateWebhookEndpointRequest, responses((status = 201, body = Envelope<wire::WebhookEndpoint>)))]
pub async fn create_endpoint(
    State(ctx): State<Ctx>,
    m: OperatorOrOwner,
    Path(customer_id): Path<String>,
    JsonBody(req): JsonBody<wire::CreateWebhookEndpointRequest>,
) -> ApiResult<Response> {
    m.customer(ctx.store.as_ref(), &customer_id).await?;
    let url = check_url(&ctx, &req.url)?;
    let description = req.description.as_deref().map(|d| validate::text("description", d, 255)).transpose()?;
    let types = check_types(req.event_types)?;
    let headers = check_headers(req.headers)?;
    room_for_one(&ctx, &customer_id).await?;
    let (row, secret) = new_endpoint(&ctx, &customer_id, url, description, types, &headers, false);
    ctx.store.create_endpoint(&row).await?;
    Ok(created(view(&ctx, &row, Some(secret))))
}

/// A customer's endpoints.
#[utoipa::path(get, path = "/customers/{customer_id}/webhook-endpoints", tag = "webhooks",
    security(("session" = []), ("api_key" = [])), params(("customer_id" = String, Path)),
    responses((status = 200, body = Envelope<Vec<wire::WebhookEndpoint>>)))]
pub async fn list_endpoints(
    State(ctx): State<Ctx>,
    m: OperatorOrOwner,
    Path(customer_id): Path<String>,
    f: Filters,
) -> ApiResult<Response> {
    m.customer(ctx.store.as_ref(), &customer_id).await?;
    let q = f.to_query(&[], &[])?;
    let all = ctx.store.list_endpoints(&customer_id).await?;
    let total = all.len() as u64;
    let page = all
        .iter()
        .skip(usize::try_from(q.skip).unwrap_or(usize::MAX))
        .take(usize::try_from(q.limit).unwrap_or(usize::MAX))
        .map(|e| view(&ctx, e, None))
        .collect();
    Ok(list(page, total, q.limit, q.skip))
}

/// One endpoint.
#[utoipa::path(get, path = "/customers/{customer_id}/webhook-endpoints/{endpoint_id}", tag = "webhooks",
    security(("session" = []), ("api_key" = [])), params(("customer_id" = String, Path), ("endpoint_id" = String, Path)),
    responses((status = 200, body = Envelope<wire::WebhookEndpoint>)))]
pub async fn get_endpoint(
    State(ctx): State<Ctx>,
    m: OperatorOrOwner,
    Path((customer_id, endpoint_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let e = endpoint(&ctx, &m, &customer_id, &endpoint_id).await?;
    Ok(ok(view(&ctx, &e, None)))
}

/// Change an endpoint (what is given); `enabled` pauses or resumes it.
#[utoipa::path(patch, path = "/customers/{customer_id}/webhook-endpoints/{endpoint_id}", tag = "webhooks",
    security(("session" = []), ("api_key" = [])), params(("customer_id" = String, Path), ("endpoint_id" = String, Path)),
    request_body = wire::UpdateWebhookEndpointRequest, responses((status = 200, body = Envelope<wire::WebhookEndpoint>)))]
pub async fn update_endpoint(
    State(ctx): State<Ctx>,
    m: OperatorOrOwner,
    Path((customer_id, endpoint_id)): Path<(String, String)>,
    JsonBody(req): JsonBody<wire::UpdateWebhookEndpointRequest>,
) -> ApiResult<Response> {
    let mut e = endpoint(&ctx, &m, &customer_id, &endpoint_id).await?;
    if let Some(url) = &req.url {
        e.url = check_url(&ctx, url)?;
    }
    if let Some(d) = &req.description {
        e.description = Some(validate::text("description", d, 255)?);
    }
    if req.event_types.is_some() {
        e.event_types = check_types(req.event_types)?;
    }
    if req.headers.is_some() {
        e.headers = ctx.seal_headers(&e.endpoint_id, &check_headers(req.headers)?);
    }
    match req.enabled {
        Some(true) => (e.status, e.disabled_reason) = ("ENABLED".into(), None),
        Some(false) => (e.status, e.disabled_reason) = ("DISABLED".into(), Some("paused".into())),
        None => {}
    }
    e.updated_at = ctx.clock.now_ms();
    ctx.store.update_endpoint(&e).await?;
    Ok(ok(view(&ctx, &e, None)))
}

/// Delete an endpoint (pending deliveries to it fail).
#[utoipa::path(delete, path = "/customers/{customer_id}/webhook-endpoints/{endpoint_id}", tag = "webhooks",
    security(("session" = []), ("api_key" = [])), params(("customer_id" = String, Path), ("endpoint_id" = String, Path)),
    responses((status = 200, body = Envelope<wire::WebhookEndpoint>)))]
pub async fn delete_endpoint(
    State(ctx): State<Ctx>,
    m: OperatorOrOwner,
    Path((customer_id, endpoint_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let e = endpoint(&ctx, &m, &customer_id, &endpoint_id).await?;
    remove(&ctx, e).await
}

/// A new signing secret, in this answer only. For 24 hours every delivery carries two signatures (the new secret's
/// and the previous one's), so the receiver can switch without missing an event.
#[utoipa::path(post, path = "/customers/{customer_id}/webhook-endpoints/{endpoint_id}/rotate-secret", tag = "webhooks",
    security(("session" = []), ("api_key" = [])), params(("customer_id" = String, Path), ("endpoint_id" = String, Path)),
    responses((status = 201, body = Envelope<wire::WebhookEndpoint>)))]
pub async fn rotate_secret(
    State(ctx): State<Ctx>,
    m: OperatorOrOwner,
    Path((customer_id, endpoint_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let mut e = endpoint(&ctx, &m, &customer_id, &endpoint_id).await?;
    let secret = sova_auth::webhook::new_secret();
    let now = ctx.clock.now_ms();
    e.previous_sealed = Some(std::mem::replace(&mut e.secret_sealed, ctx.seal_secret(&e.endpoint_id, &secret)));
    e.previous_until = Some(now + ROTATION_OVERLAP_MS);
    e.updated_at = now;
    ctx.store.update_endpoint(&e).await?;
    Ok(created(view(&ctx, &e, Some(secret.to_string()))))
}

/// An endpoint's deliveries, newest first (`filter[limit]`, at most 200).
#[utoipa::path(get, path = "/customers/{customer_id}/webhook-endpoints/{endpoint_id}/deliveries", tag = "webhooks",
    security(("session" = []), ("api_key" = [])), params(("customer_id" = String, Path), ("endpoint_id" = String, Path)),
    responses((status = 200, body = Envelope<Vec<wire::WebhookDelivery>>)))]
pub async fn list_deliveries(
    State(ctx): State<Ctx>,
    m: OperatorOrOwner,
    Path((customer_id, endpoint_id)): Path<(String, String)>,
    f: Filters,
) -> ApiResult<Response> {
    endpoint(&ctx, &m, &customer_id, &endpoint_id).await?;
    let q = f.to_query(&[], &[])?;
    let limit = q.limit.min(200);
    let rows = ctx.store.list_deliveries(&customer_id, &endpoint_id, i64::try_from(limit).unwrap_or(200)).await?;
    let n = rows.len() as u64;
    let items = rows
        .into_iter()
        .map(|d| wire::WebhookDelivery {
            next_attempt_at: (d.status == "PENDING").then(|| iso(d.next_attempt_at)),
            delivery_id: d.delivery_id,
            event_id: d.event_id,
            endpoint_id: d.endpoint_id,
            status: d.status,
            attempts: d.attempts,
            response_status: d.response_status,
            response_body: d.response_body,
            error: d.error,
            created_at: iso(d.created_at),
            updated_at: iso(d.updated_at),
        })
        .collect();
    Ok(list(items, n, limit, 0))
}

/// Send a `webhook.test` event to this endpoint only.
#[utoipa::path(post, path = "/customers/{customer_id}/webhook-endpoints/{endpoint_id}/test", tag = "webhooks",
    security(("session" = []), ("api_key" = [])), params(("customer_id" = String, Path), ("endpoint_id" = String, Path)),
    responses((status = 201, body = Envelope<wire::WebhooksQueued>)))]
pub async fn send_test(
    State(ctx): State<Ctx>,
    m: OperatorOrOwner,
    Path((customer_id, endpoint_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let e = endpoint(&ctx, &m, &customer_id, &endpoint_id).await?;
    if e.status != "ENABLED" {
        return Err(ApiError::conflict(format!("the endpoint is {}; enable it first", e.status.to_ascii_lowercase())));
    }
    let data = serde_json::json!({"endpoint_id": e.endpoint_id, "message": "a test event from Sova"});
    let mut ev = sova_http::outbox::event(&customer_id, "webhook.test", data, ctx.clock.now_ms());
    ev.endpoint_id = Some(e.endpoint_id.clone());
    ctx.store.record_events(std::slice::from_ref(&ev)).await?;
    ctx.access.outbox.notify_one();
    Ok(created(wire::WebhooksQueued { queued: 1, event_id: Some(ev.event_id) }))
}

fn parse_time(field: &str, v: &str) -> ApiResult<i64> {
    chrono::DateTime::parse_from_rfc3339(v).map(|t| t.timestamp_millis()).map_err(|_| {
        ApiError::validation(field, format!("`{field}` must be an RFC 3339 time such as 2026-12-07T10:00:00Z"))
    })
}

/// Send again every event of the customer created in `[since, until)` that this endpoint takes (a new delivery
/// each, with the event's own `webhook-id`, so a receiver that deduplicates by id sees each once).
#[utoipa::path(post, path = "/customers/{customer_id}/webhook-endpoints/{endpoint_id}/replay", tag = "webhooks",
    security(("session" = []), ("api_key" = [])), params(("customer_id" = String, Path), ("endpoint_id" = String, Path)),
    request_body = wire::ReplayWebhooksRequest, responses((status = 201, body = Envelope<wire::WebhooksQueued>)))]
pub async fn replay(
    State(ctx): State<Ctx>,
    m: OperatorOrOwner,
    Path((customer_id, endpoint_id)): Path<(String, String)>,
    JsonBody(req): JsonBody<wire::ReplayWebhooksRequest>,
) -> ApiResult<Response> {
    let e = endpoint(&ctx, &m, &customer_id, &endpoint_id).await?;
    let now = ctx.clock.now_ms();
    let since = parse_time("since", &req.since)?;
    let until = req.until.as_deref().map(|u| parse_time("until", u)).transpose()?.unwrap_or(now + 1);
    if since >= until {
        return Err(ApiError::validation("until", "`until` must be after `since`"));
    }
    let n = ctx.store.replay(&customer_id, &e.endpoint_id, since, until, now).await.map_err(|err| match err {
        StoreError::NotFound => ApiError::conflict("the endpoint is not enabled; enable it first"),
        err => err.into(),
    })?;
    ctx.access.outbox.notify_one();
    Ok(created(wire::WebhooksQueued { queued: n, event_id: None }))
}

/// Send one event again to every enabled endpoint that takes it.
#[utoipa::path(post, path = "/customers/{customer_id}/webhook-events/{event_id}/redeliver", tag = "webhooks",
    security(("session" = []), ("api_key" = [])), params(("customer_id" = String, Path), ("event_id" = String, Path)),
    responses((status = 201, body = Envelope<wire::WebhooksQueued>)))]
pub async fn redeliver(
    State(ctx): State<Ctx>,
    m: OperatorOrOwner,
    Path((customer_id, event_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    m.customer(ctx.store.as_ref(), &customer_id).await?;
    let n = ctx.store.redeliver(&customer_id, &event_id, ctx.clock.now_ms()).await.map_err(|err| match err {
        StoreError::NotFound => ApiError::not_found("webhook event"),
        err => err.into(),
    })?;
    ctx.access.outbox.notify_one();
    Ok(created(wire::WebhooksQueued { queued: n, event_id: Some(event_id) }))
}
