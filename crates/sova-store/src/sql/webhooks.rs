//! Webhooks: endpoints, the outbox (written in the change's transaction) and deliveries claimed by dispatchers
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so replicas share the work; SQLite has one writer).

use sqlx::{Any, Transaction};

use super::SqlStore;
use crate::{
    AttemptResult, Backend, ClaimedDelivery, DeliveryRow, OutboxEvent, Result, StoreError, WebhookEndpointRow,
    WebhookStore,
};

const EP_COLS: &str = "endpoint_id, customer_id, url, description, event_types, headers, secret_sealed, \
                       previous_sealed, previous_until, vendor, status, disabled_reason, created_at, updated_at";
const DLV_COLS: &str = "delivery_id, event_id, endpoint_id, customer_id, status, attempts, next_attempt_at, \
                        locked_until, response_status, response_body, error, created_at, updated_at";

/// Insert `e` and one delivery per endpoint of its customer that takes its type.
pub(super) async fn enqueue(tx: &mut Transaction<'_, Any>, e: &OutboxEvent) -> Result<()> {
    sqlx::query(
        "INSERT INTO webhook_events (event_id, customer_id, event_type, payload, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(e.event_id.clone())
    .bind(e.customer_id.clone())
    .bind(e.event_type.clone())
    .bind(e.payload.clone())
    .bind(e.created_at)
    .execute(&mut **tx)
    .await
    .map_err(|err| StoreError::unique(err, "event_id"))?;
    let endpoints = sqlx::query_as::<Any, WebhookEndpointRow>(&format!(
        "SELECT {EP_COLS} FROM webhook_endpoints WHERE customer_id = $1 AND status = 'ENABLED'"
    ))
    .bind(e.customer_id.clone())
    .fetch_all(&mut **tx)
    .await?;
    // A targeted event (a test) goes to its endpoint whatever types that takes; the others by type.
    let wanted = |ep: &&WebhookEndpointRow| match &e.endpoint_id {
        Some(id) => *id == ep.endpoint_id,
        None => ep.takes(&e.event_type),
    };
    for ep in endpoints.iter().filter(wanted) {
        insert_delivery(tx, &e.event_id, ep, e.created_at).await?;
    }
    Ok(())
}

async fn insert_delivery(
    tx: &mut Transaction<'_, Any>,
    event_id: &str,
    ep: &WebhookEndpointRow,
    now: i64,
) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO webhook_deliveries ({DLV_COLS}) VALUES ($1, $2, $3, $4, 'PENDING', 0, $5, 0, NULL, NULL, NULL, $5, $5)"
    ))
    .bind(format!("dlv_{}", uuid::Uuid::new_v4().simple()))
    .bind(event_id.to_string())
    .bind(ep.endpoint_id.clone())
    .bind(ep.customer_id.clone())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Record one attempt inside `tx`.
async fn finish(tx: &mut Transaction<'static, Any>, d: &ClaimedDelivery, r: &AttemptResult, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, next_attempt_at = $2, \
             locked_until = 0, response_status = $3, response_body = $4, error = $5, updated_at = $6 \
             WHERE delivery_id = $7",
    )
    .bind(r.status.clone())
    .bind(r.next_attempt_at)
    .bind(r.response_status)
    .bind(r.response_body.clone())
    .bind(r.error.clone())
    .bind(now)
    .bind(d.delivery.delivery_id.clone())
    .execute(&mut **tx)
    .await?;
    if let Some(reason) = &r.disable_endpoint {
        sqlx::query(
            "UPDATE webhook_endpoints SET status = 'DISABLED', disabled_reason = $1, updated_at = $2 \
                 WHERE endpoint_id = $3 AND status = 'ENABLED'",
        )
        .bind(reason.clone())
        .bind(now)
        .bind(d.endpoint.endpoint_id.clone())
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "UPDATE webhook_deliveries SET status = 'FAILED', error = $1, updated_at = $2 \
                 WHERE endpoint_id = $3 AND status = 'PENDING'",
        )
        .bind(format!("endpoint disabled: {reason}"))
        .bind(now)
        .bind(d.endpoint.endpoint_id.clone())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// A due delivery joined with its event and endpoint.
#[derive(sqlx::FromRow)]
struct ClaimRow {
    delivery_id: String,
    event_id: String,
    endpoint_id: String,
    customer_id: String,
    status: String,
    attempts: i64,
    next_attempt_at: i64,
    response_status: Option<i64>,
    response_body: Option<String>,
    error: Option<String>,
    created_at: i64,
    updated_at: i64,
    ev_type: String,
    ev_payload: String,
    ep_endpoint_id: String,
    ep_customer_id: String,
    ep_url: String,
    ep_description: Option<String>,
    ep_event_types: String,
    ep_headers: String,
    ep_secret_sealed: String,
    ep_previous_sealed: Option<String>,
    ep_previous_until: Option<i64>,
    ep_vendor: i64,
    ep_status: String,
    ep_disabled_reason: Option<String>,
    ep_created_at: i64,
    ep_updated_at: i64,
}

impl ClaimRow {
    fn into_claimed(self, locked_until: i64) -> ClaimedDelivery {
        ClaimedDelivery {
            delivery: DeliveryRow {
                delivery_id: self.delivery_id,
                event_id: self.event_id,
                endpoint_id: self.endpoint_id,
                customer_id: self.customer_id,
                status: self.status,
                attempts: self.attempts,
                next_attempt_at: self.next_attempt_at,
                locked_until,
                response_status: self.response_status,
                response_body: self.response_body,
                error: self.error,
                created_at: self.created_at,
                updated_at: self.updated_at,
            },
            event_type: self.ev_type,
            payload: self.ev_payload,
            endpoint: WebhookEndpointRow {
                endpoint_id: self.ep_endpoint_id,
                customer_id: self.ep_customer_id,
                url: self.ep_url,
                description: self.ep_description,
                event_types: self.ep_event_types,
                headers: self.ep_headers,
                secret_sealed: self.ep_secret_sealed,
                previous_sealed: self.ep_previous_sealed,
                previous_until: self.ep_previous_until,
                vendor: self.ep_vendor,
                status: self.ep_status,
                disabled_reason: self.ep_disabled_reason,
                created_at: self.ep_created_at,
                updated_at: self.ep_updated_at,
            },
        }
    }
}

#[derive(sqlx::FromRow)]
struct EventRow {
    event_id: String,
    event_type: String,
}

#[async_trait::async_trait]
impl WebhookStore for SqlStore {
    async fn create_endpoint(&self, e: &WebhookEndpointRow) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO webhook_endpoints ({EP_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ))
        .bind(e.endpoint_id.clone())
        .bind(e.customer_id.clone())
        .bind(e.url.clone())
        .bind(e.description.clone())
        .bind(e.event_types.clone())
        .bind(e.headers.clone())
        .bind(e.secret_sealed.clone())
        .bind(e.previous_sealed.clone())
        .bind(e.previous_until)
        .bind(e.vendor)
        .bind(e.status.clone())
        .bind(e.disabled_reason.clone())
        .bind(e.created_at)
        .bind(e.updated_at)
        .execute(&self.write)
        .await
        .map_err(|err| StoreError::unique(err, "endpoint_id"))?;
        Ok(())
    }

    async fn endpoint(&self, customer_id: &str, endpoint_id: &str) -> Result<Option<WebhookEndpointRow>> {
        Ok(sqlx::query_as::<Any, WebhookEndpointRow>(&format!(
            "SELECT {EP_COLS} FROM webhook_endpoints WHERE customer_id = $1 AND endpoint_id = $2 AND status <> 'DELETED'"
        ))
        .bind(customer_id.to_string())
        .bind(endpoint_id.to_string())
        .fetch_optional(&self.write)
        .await?)
    }

    async fn vendor_endpoint(&self, customer_id: &str) -> Result<Option<WebhookEndpointRow>> {
        Ok(sqlx::query_as::<Any, WebhookEndpointRow>(&format!(
            "SELECT {EP_COLS} FROM webhook_endpoints WHERE customer_id = $1 AND vendor = 1 AND status <> 'DELETED' \
             ORDER BY seq LIMIT 1"
        ))
        .bind(customer_id.to_string())
        .fetch_optional(&self.write)
        .await?)
    }

    async fn list_endpoints(&self, customer_id: &str) -> Result<Vec<WebhookEndpointRow>> {
        Ok(sqlx::query_as::<Any, WebhookEndpointRow>(&format!(
            "SELECT {EP_COLS} FROM webhook_endpoints WHERE customer_id = $1 AND status <> 'DELETED' ORDER BY seq"
        ))
        .bind(customer_id.to_string())
        .fetch_all(&self.read)
        .await?)
    }

    async fn update_endpoint(&self, e: &WebhookEndpointRow) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let r = sqlx::query(
            "UPDATE webhook_endpoints SET url = $1, description = $2, event_types = $3, headers = $4, \
             secret_sealed = $5, previous_sealed = $6, previous_until = $7, status = $8, disabled_reason = $9, \
             updated_at = $10 WHERE customer_id = $11 AND endpoint_id = $12",
        )
        .bind(e.url.clone())
        .bind(e.description.clone())
        .bind(e.event_types.clone())
        .bind(e.headers.clone())
        .bind(e.secret_sealed.clone())
        .bind(e.previous_sealed.clone())
        .bind(e.previous_until)
        .bind(e.status.clone())
        .bind(e.disabled_reason.clone())
        .bind(e.updated_at)
        .bind(e.customer_id.clone())
        .bind(e.endpoint_id.clone())
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        if e.status == "DELETED" {
            // Nothing more goes to a deleted endpoint.
            sqlx::query(
                "UPDATE webhook_deliveries SET status = 'FAILED', error = 'endpoint deleted', updated_at = $1 \
                 WHERE endpoint_id = $2 AND status = 'PENDING'",
            )
            .bind(e.updated_at)
            .bind(e.endpoint_id.clone())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn record_events(&self, events: &[OutboxEvent]) -> Result<()> {
        let mut tx = self.write.begin().await?;
        for e in events {
            enqueue(&mut tx, e).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn claim_deliveries(&self, now: i64, limit: i64, lock_ms: i64) -> Result<Vec<ClaimedDelivery>> {
        let mut tx = self.write.begin().await?;
        let skip = match self.backend {
            Backend::Postgres => " FOR UPDATE OF d SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let d_cols = DLV_COLS.split(", ").map(|c| format!("d.{c}")).collect::<Vec<_>>().join(", ");
        let ep_cols = EP_COLS.split(", ").map(|c| format!("ep.{c} AS ep_{}", c.trim())).collect::<Vec<_>>().join(", ");
        let rows = sqlx::query_as::<Any, ClaimRow>(&format!(
            "SELECT {d_cols}, e.event_type AS ev_type, e.payload AS ev_payload, \
             {ep_cols} FROM webhook_deliveries d JOIN webhook_events e ON e.event_id = d.event_id \
             JOIN webhook_endpoints ep ON ep.endpoint_id = d.endpoint_id \
             WHERE d.status = 'PENDING' AND d.next_attempt_at <= $1 AND d.locked_until <= $1 \
             ORDER BY d.next_attempt_at, d.seq LIMIT $2{skip}"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let marks = (0..rows.len()).map(|i| format!("${}", i + 2)).collect::<Vec<_>>().join(", ");
        let sql = format!("UPDATE webhook_deliveries SET locked_until = $1 WHERE delivery_id IN ({marks})");
        let mut q = sqlx::query(&sql).bind(now + lock_ms);
        for r in &rows {
            q = q.bind(r.delivery_id.clone());
        }
        q.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(rows.into_iter().map(|r| r.into_claimed(now + lock_ms)).collect())
    }

    async fn finish_deliveries(&self, results: &[(ClaimedDelivery, AttemptResult)], now: i64) -> Result<()> {
        let mut tx = self.write.begin().await?;
        for (d, r) in results {
            finish(&mut tx, d, r, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn list_deliveries(&self, customer_id: &str, endpoint_id: &str, limit: i64) -> Result<Vec<DeliveryRow>> {
        Ok(sqlx::query_as::<Any, DeliveryRow>(&format!(
            "SELECT {DLV_COLS} FROM webhook_deliveries WHERE customer_id = $1 AND endpoint_id = $2 \
             ORDER BY seq DESC LIMIT $3"
        ))
        .bind(customer_id.to_string())
        .bind(endpoint_id.to_string())
        .bind(limit)
        .fetch_all(&self.read)
        .await?)
    }

    async fn redeliver(&self, customer_id: &str, event_id: &str, now: i64) -> Result<usize> {
        let mut tx = self.write.begin().await?;
        let ev = sqlx::query_as::<Any, EventRow>(
            "SELECT event_id, event_type FROM webhook_events WHERE customer_id = $1 AND event_id = $2",
        )
        .bind(customer_id.to_string())
        .bind(event_id.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let endpoints = sqlx::query_as::<Any, WebhookEndpointRow>(&format!(
            "SELECT {EP_COLS} FROM webhook_endpoints WHERE customer_id = $1 AND status = 'ENABLED'"
        ))
        .bind(customer_id.to_string())
        .fetch_all(&mut *tx)
        .await?;
        let mut n = 0;
        for ep in endpoints.iter().filter(|ep| ep.takes(&ev.event_type)) {
            insert_delivery(&mut tx, &ev.event_id, ep, now).await?;
            n += 1;
        }
        tx.commit().await?;
        Ok(n)
    }

    async fn replay(&self, customer_id: &str, endpoint_id: &str, since: i64, until: i64, now: i64) -> Result<usize> {
        let mut tx = self.write.begin().await?;
        let ep = sqlx::query_as::<Any, WebhookEndpointRow>(&format!(
            "SELECT {EP_COLS} FROM webhook_endpoints WHERE customer_id = $1 AND endpoint_id = $2 AND status = 'ENABLED'"
        ))
        .bind(customer_id.to_string())
        .bind(endpoint_id.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let events = sqlx::query_as::<Any, EventRow>(
            "SELECT event_id, event_type FROM webhook_events \
             WHERE customer_id = $1 AND created_at >= $2 AND created_at < $3 ORDER BY seq LIMIT 10000",
        )
        .bind(customer_id.to_string())
        .bind(since)
        .bind(until)
        .fetch_all(&mut *tx)
        .await?;
        let mut n = 0;
        for ev in events.iter().filter(|ev| ep.takes(&ev.event_type)) {
            insert_delivery(&mut tx, &ev.event_id, &ep, now).await?;
            n += 1;
        }
        tx.commit().await?;
        Ok(n)
    }
}
