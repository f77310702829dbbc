//! Webhook endpoints, the event outbox and its deliveries.

use crate::Result;

/// An event to put in the outbox with a change ([`crate::Effects::with_event`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    /// `msg_...`: the Standard Webhooks `webhook-id`, stable across retries.
    pub event_id: String,
    /// The customer whose endpoints receive it.
    pub customer_id: String,
    /// e.g. `withdrawal.confirmation_required`.
    pub event_type: String,
    /// The body sent, JSON.
    pub payload: String,
    /// When.
    pub created_at: i64,
    /// Deliver only to this endpoint (a `webhook.test`); `None`: every endpoint of the customer that takes the type.
    pub endpoint_id: Option<String>,
}

/// A customer's webhook endpoint.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct WebhookEndpointRow {
    /// `ep_...`.
    pub endpoint_id: String,
    /// Customer.
    pub customer_id: String,
    /// Target URL.
    pub url: String,
    /// Free text.
    pub description: Option<String>,
    /// JSON array of event types (empty: all).
    pub event_types: String,
    /// JSON array of `{key, value}`.
    pub headers: String,
    /// The signing secret, sealed.
    pub secret_sealed: String,
    /// The previous secret during a rotation, sealed.
    pub previous_sealed: Option<String>,
    /// Until when the previous secret also signs.
    pub previous_until: Option<i64>,
    /// 1 for the vendor's single target.
    pub vendor: i64,
    /// `ENABLED`, `DISABLED` or `DELETED`.
    pub status: String,
    /// Why it was disabled (e.g. the target answered 410).
    pub disabled_reason: Option<String>,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

impl WebhookEndpointRow {
    /// Whether it takes events of `event_type`.
    pub fn takes(&self, event_type: &str) -> bool {
        let types: Vec<String> = serde_json::from_str(&self.event_types).unwrap_or_default();
        types.is_empty() || types.iter().any(|t| t == event_type)
    }
}

/// One delivery of an event to an endpoint, with its attempts.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct DeliveryRow {
    /// `dlv_...`.
    pub delivery_id: String,
    /// The event.
    pub event_id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// Customer.
    pub customer_id: String,
    /// `PENDING`, `SUCCEEDED` or `FAILED` (no attempts left, or the endpoint is gone).
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// When the next attempt is due.
    pub next_attempt_at: i64,
    /// Claimed by a dispatcher until then.
    pub locked_until: i64,
    /// The last answer's status.
    pub response_status: Option<i64>,
    /// The start of the last answer's body.
    pub response_body: Option<String>,
    /// The last transport error.
    pub error: Option<String>,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

/// A claimed delivery with what sending it needs.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    /// The delivery.
    pub delivery: DeliveryRow,
    /// Its event's type.
    pub event_type: String,
    /// Its event's body.
    pub payload: String,
    /// The endpoint.
    pub endpoint: WebhookEndpointRow,
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    /// `SUCCEEDED`, `PENDING` (retry at `next_attempt_at`) or `FAILED`.
    pub status: String,
    /// When to try again (for `PENDING`).
    pub next_attempt_at: i64,
    /// The answer's status.
    pub response_status: Option<i64>,
    /// The start of the answer's body.
    pub response_body: Option<String>,
    /// The transport error.
    pub error: Option<String>,
    /// Disable the endpoint, with this reason (e.g. it answered 410 Gone).
    pub disable_endpoint: Option<String>,
}

/// Webhook persistence.
#[async_trait::async_trait]
pub trait WebhookStore: Send + Sync {
    /// Insert an endpoint.
    async fn create_endpoint(&self, e: &WebhookEndpointRow) -> Result<()>;
    /// A customer's endpoint (not deleted).
    async fn endpoint(&self, customer_id: &str, endpoint_id: &str) -> Result<Option<WebhookEndpointRow>>;
    /// The customer's vendor-style endpoint, if any.
    async fn vendor_endpoint(&self, customer_id: &str) -> Result<Option<WebhookEndpointRow>>;
    /// A customer's endpoints (not deleted), oldest first.
    async fn list_endpoints(&self, customer_id: &str) -> Result<Vec<WebhookEndpointRow>>;
    /// Replace an endpoint's mutable fields (url, description, types, headers, secrets, status).
    async fn update_endpoint(&self, e: &WebhookEndpointRow) -> Result<()>;
    /// Put events in the outbox outside any other change (e.g. `webhook.test`).
    async fn record_events(&self, events: &[OutboxEvent]) -> Result<()>;
    /// Claim up to `limit` due deliveries for `lock_ms` (other dispatchers skip them).
    async fn claim_deliveries(&self, now: i64, limit: i64, lock_ms: i64) -> Result<Vec<ClaimedDelivery>>;
    /// Record a round's results in one transaction.
    async fn finish_deliveries(&self, results: &[(ClaimedDelivery, AttemptResult)], now: i64) -> Result<()>;
    /// An endpoint's deliveries, newest first.
    async fn list_deliveries(&self, customer_id: &str, endpoint_id: &str, limit: i64) -> Result<Vec<DeliveryRow>>;
    /// Send an event again to every endpoint that takes it (a new delivery each); how many.
    async fn redeliver(&self, customer_id: &str, event_id: &str, now: i64) -> Result<usize>;
    /// Send again every event of the customer created in `[since, until)` that the endpoint takes; how many.
    async fn replay(&self, customer_id: &str, endpoint_id: &str, since: i64, until: i64, now: i64) -> Result<usize>;
}
