//! Signed webhooks (`/sovx/v1`, issue 16): a customer's endpoints, the outbox and its dispatcher.
//!
//! Every surface writes its events into the outbox in the transaction of the change they report
//! ([`sova_store::Effects::with_event`]); the store fans each event out into one delivery per endpoint that takes
//! its type. The dispatcher here claims due deliveries (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so replicas share
//! the work), signs them with Standard Webhooks v1 and sends them: at least once, 2xx only, 15 s timeout, no
//! redirects, retried on a fixed schedule with jitter, `Retry-After` honoured, 410 Gone disables the endpoint.
//! Targets that resolve to private, loopback or link-local addresses are refused unless the operator allows them.

mod net;
mod routes;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use sova_http::access::Access;
use sova_store::{AttemptResult, ClaimedDelivery, Store, WebhookEndpointRow};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use zeroize::Zeroizing;

pub use net::{is_public, url_problem};

/// Seal label of endpoint secrets.
const SECRET_LABEL: &str = "webhook-endpoint-secret";
/// Seal label of endpoint headers (they may carry the customer's own credentials).
const HEADERS_LABEL: &str = "webhook-endpoint-headers";
/// How long the previous secret keeps signing after a rotation.
pub const ROTATION_OVERLAP_MS: i64 = 24 * 60 * 60 * 1000;
/// Delays before the 2nd, 3rd, ... attempt (the first is immediate): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h,
/// 20 h, 24 h. Ten attempts over about three days.
pub const SCHEDULE_SECS: [i64; 9] = [5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 86_400];
/// Per-attempt timeout.
pub const TIMEOUT: Duration = Duration::from_secs(15);
/// How much of a target's answer is kept.
const BODY_KEPT: usize = 1024;
/// Deliveries claimed per round.
const BATCH: i64 = 256;
/// Attempts in flight at once.
const IN_FLIGHT: usize = 64;
/// A claim outlives the longest round (BATCH / IN_FLIGHT waves of attempts of up to 15 s each), so no other
/// dispatcher takes a claimed delivery while it is being sent; one that dies frees its claims after this.
const CLAIM_MS: i64 = ((BATCH / IN_FLIGHT as i64) * 15 + 60) * 1000;

/// Every event type Sova emits (an endpoint's `event_types` must be among them).
pub const EVENT_TYPES: &[&str] = &[
    "deposit.pending",
    "deposit.completed",
    "deposit.dropped",
    "deposit.reversed",
    "withdrawal.created",
    "withdrawal.confirmation_required",
    "withdrawal.pending_approval",
    "withdrawal.approved",
    "withdrawal.rejected",
    "withdrawal.broadcast",
    "withdrawal.completed",
    "withdrawal.failed",
    "withdrawal.cancelled",
    "trade.completed",
    "transfer.confirmation_required",
    "transfer.completed",
    "transfer.cancelled",
    "webhook.test",
];

/// What the webhook handlers and the dispatcher reach.
pub struct WebhooksState {
    /// Authentication, the keyed hasher (sealing), the outbox bell.
    pub access: Arc<Access>,
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// The time that decides schedules.
    pub clock: sova_runtime::Clock,
    /// Private and loopback targets allowed (`--webhook-allow-private`).
    pub allow_private: bool,
    /// The HTTP client of deliveries: no redirects, no proxy, 15 s, public addresses only unless allowed.
    client: reqwest::Client,
}

impl WebhooksState {
    /// Build.
    pub fn new(access: Arc<Access>, allow_private: bool) -> anyhow::Result<Arc<Self>> {
        let mut b = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("Sova-Webhooks/", env!("CARGO_PKG_VERSION")));
        if !allow_private {
            b = b.dns_resolver(Arc::new(net::PublicOnly));
        }
        Ok(Arc::new(Self {
            clock: access.clock.clone(),
            store: access.store.clone(),
            access,
            allow_private,
            client: b.build()?,
        }))
    }

    /// Seal an endpoint's secret for storage.
    pub fn seal_secret(&self, endpoint_id: &str, secret: &str) -> String {
        sova_http::seal::seal(&self.access.hasher, SECRET_LABEL, endpoint_id.as_bytes(), secret.as_bytes())
    }

    /// Seal an endpoint's headers (JSON) for storage.
    pub fn seal_headers(&self, endpoint_id: &str, headers: &[(String, String)]) -> String {
        let json = serde_json::to_string(headers).unwrap_or_else(|_| "[]".into());
        sova_http::seal::seal(&self.access.hasher, HEADERS_LABEL, endpoint_id.as_bytes(), json.as_bytes())
    }

    /// An endpoint's headers, opened.
    pub fn headers(&self, e: &WebhookEndpointRow) -> Vec<(String, String)> {
        sova_http::seal::open(&self.access.hasher, HEADERS_LABEL, e.endpoint_id.as_bytes(), &e.headers)
            .and_then(|json| serde_json::from_slice(&json).ok())
            .unwrap_or_default()
    }

    /// The keys that sign an endpoint's deliveries at `now`: the current secret, and the previous one during a
    /// rotation.
    fn keys(&self, e: &WebhookEndpointRow, now: i64) -> Vec<Zeroizing<Vec<u8>>> {
        let open = |sealed: &str| {
            sova_http::seal::open(&self.access.hasher, SECRET_LABEL, e.endpoint_id.as_bytes(), sealed)
                .and_then(|s| std::str::from_utf8(&s).ok().and_then(sova_auth::webhook::secret_key))
        };
        let mut keys: Vec<_> = open(&e.secret_sealed).into_iter().collect();
        if e.previous_until.is_some_and(|until| until > now)
            && let Some(prev) = e.previous_sealed.as_deref().and_then(open)
        {
            keys.push(prev);
        }
        keys
    }
}

/// The state type of the webhook routes.
pub type Ctx = Arc<WebhooksState>;

/// The webhook routes, relative to `/sovx/v1`.
pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Ctx: axum::extract::FromRef<S>,
    Arc<Access>: axum::extract::FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(routes::configure, routes::get_configured, routes::delete_configured))
        .routes(routes!(routes::create_endpoint, routes::list_endpoints))
        .routes(routes!(routes::get_endpoint, routes::update_endpoint, routes::delete_endpoint))
        .routes(routes!(routes::rotate_secret))
        .routes(routes!(routes::list_deliveries))
        .routes(routes!(routes::send_test))
        .routes(routes!(routes::replay))
        .routes(routes!(routes::redeliver))
}

/// The dispatcher: woken by every change that wrote an event (and every second for retries that fell due), it
/// sends what is due until nothing is.
pub fn spawn_dispatcher(ctx: Ctx, jobs: &sova_runtime::Jobs) {
    jobs.spawn("webhook-dispatcher", async move {
        loop {
            let sent = match dispatch_once(&ctx).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook dispatch failed; retrying in 1 s");
                    0
                }
            };
            if sent == 0 {
                tokio::select! {
                    _ = ctx.access.outbox.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    });
}

/// Claim what is due and send it; how many attempts were made.
pub async fn dispatch_once(ctx: &Ctx) -> sova_store::Result<usize> {
    let claimed = ctx.store.claim_deliveries(ctx.clock.now_ms(), BATCH, CLAIM_MS).await?;
    let n = claimed.len();
    // Up to `IN_FLIGHT` attempts at once, over every endpoint (no order is promised: receivers order by the
    // event's `timestamp` and deduplicate by `webhook-id`); the round's results are recorded in one transaction.
    let results: Vec<(ClaimedDelivery, AttemptResult)> = futures::stream::iter(claimed)
        .map(|d| async move {
            let r = attempt(ctx, &d).await;
            (d, r)
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    ctx.store.finish_deliveries(&results, ctx.clock.now_ms()).await?;
    for (_, r) in &results {
        metrics::counter!("sova_webhook_attempts_total", "status" => r.status.clone()).increment(1);
    }
    Ok(n)
}

/// The delay before attempt `attempts + 1`, with ±10 % jitter; `None` after the last.
fn next_delay_ms(attempts: i64, retry_after: Option<i64>) -> Option<i64> {
    let base = *SCHEDULE_SECS.get(usize::try_from(attempts - 1).ok()?)? * 1000;
    let r = u16::from_le_bytes(sova_auth::keys::random_bytes::<2>());
    let jitter = base / 10 * (i64::from(r % 2001) - 1000) / 1000;
    let scheduled = base + jitter;
    // The target's Retry-After, when it asks for more time than the schedule gives (at most a day).
    Some(retry_after.map_or(scheduled, |ra| scheduled.max(ra.clamp(0, 86_400) * 1000)))
}

/// Send one delivery; what happened.
async fn attempt(ctx: &Ctx, d: &ClaimedDelivery) -> AttemptResult {
    let now = ctx.clock.now_ms();
    let attempts = d.delivery.attempts + 1;
    let retry = |error: Option<String>, status: Option<i64>, body: Option<String>, retry_after: Option<i64>| {
        let (status_s, next) = match next_delay_ms(attempts, retry_after) {
            Some(delay) => ("PENDING", now + delay),
            None => ("FAILED", now),
        };
        AttemptResult {
            status: status_s.into(),
            next_attempt_at: next,
            response_status: status,
            response_body: body,
            error,
            disable_endpoint: None,
        }
    };
    if d.endpoint.status != "ENABLED" {
        return AttemptResult {
            status: "FAILED".into(),
            next_attempt_at: now,
            response_status: None,
            response_body: None,
            error: Some(format!("endpoint {}", d.endpoint.status.to_ascii_lowercase())),
            disable_endpoint: None,
        };
    }
    if !ctx.allow_private
        && let Some(problem) = url_problem(&d.endpoint.url, false)
    {
        return retry(Some(problem), None, None, None);
    }
    let keys = ctx.keys(&d.endpoint, now);
    if keys.is_empty() {
        return retry(Some("the endpoint's secret cannot be opened with this server key".into()), None, None, None);
    }
    let ts = now / 1000;
    let body = d.payload.as_bytes();
    let signature: Vec<String> =
        keys.iter().map(|k| sova_auth::webhook::sign(k, &d.delivery.event_id, ts, body)).collect();
    let mut req = ctx.client.post(&d.endpoint.url);
    for (k, v) in ctx.headers(&d.endpoint) {
        req = req.header(k, v);
    }
    let req = req
        .header("content-type", "application/json")
        .header("webhook-id", &d.delivery.event_id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", signature.join(" "))
        .body(d.payload.clone());
    let mut resp = match req.send().await {
        Ok(r) => r,
        Err(e) => return retry(Some(describe(&e)), None, None, None),
    };
    let status = i64::from(resp.status().as_u16());
    let retry_after =
        resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<i64>().ok());
    let mut kept = Vec::new();
    while kept.len() < BODY_KEPT {
        match resp.chunk().await {
            Ok(Some(c)) => kept.extend_from_slice(&c[..c.len().min(BODY_KEPT - kept.len())]),
            _ => break,
        }
    }
    let text = Some(String::from_utf8_lossy(&kept).into_owned()).filter(|t| !t.is_empty());
    match status {
        200..=299 => AttemptResult {
            status: "SUCCEEDED".into(),
            next_attempt_at: now,
            response_status: Some(status),
            response_body: text,
            error: None,
            disable_endpoint: None,
        },
        410 => AttemptResult {
            status: "FAILED".into(),
            next_attempt_at: now,
            response_status: Some(status),
            response_body: text,
            error: Some("the target answered 410 Gone: endpoint disabled".into()),
            disable_endpoint: Some("the target answered 410 Gone".into()),
        },
        _ => retry(Some(format!("the target answered {status}")), Some(status), text, retry_after),
    }
}

/// A transport error in a line, with its cause (reqwest's own message hides it).
fn describe(e: &reqwest::Error) -> String {
    let mut s = if e.is_timeout() { "timed out after 15 s".to_string() } else { e.to_string() };
    let mut src = std::error::Error::source(e);
    while let Some(cause) = src {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        src = cause.source();
    }
    s
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_has_ten_attempts_with_jitter_and_honours_retry_after() {
        for (attempts, base) in (1..=9).zip(SCHEDULE_SECS) {
            let d = next_delay_ms(attempts, None).expect("a retry is due");
            assert!((base * 900..=base * 1100).contains(&d), "attempt {attempts}: {d}");
        }
        assert_eq!(next_delay_ms(10, None), None, "ten attempts in all");
        assert!(next_delay_ms(1, Some(120)).expect("due") >= 120_000, "Retry-After asks for more");
        assert!(next_delay_ms(1, Some(999_999)).expect("due") <= 86_400_000, "at most a day");
    }
}
