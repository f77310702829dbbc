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
pub(super) async fn enqueue(tx: &mut Transaction<'static, Any>, e: &OutboxEvent) -> Result<()> {
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
    tx: &mut Transaction<'static, Any>,
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

#[derive(sqlx::FromRow)]
struct EventRow {
    event_id: String,
    event_type: String,
    payload: String,
    created_at: i64,
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
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let due = sqlx::query_as::<Any, DeliveryRow>(&format!(
            "SELECT {DLV_COLS} FROM webhook_deliveries WHERE status = 'PENDING' AND next_attempt_at <= $1 \
             AND locked_until <= $1 ORDER BY next_attempt_at, seq LIMIT $2{skip}"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let mut out = Vec::with_capacity(due.len());
        for mut d in due {
            sqlx::query("UPDATE webhook_deliveries SET locked_until = $1 WHERE delivery_id = $2")
                .bind(now + lock_ms)
                .bind(d.delivery_id.clone())
                .execute(&mut *tx)
                .await?;
            d.locked_until = now + lock_ms;
            let ev = sqlx::query_as::<Any, EventRow>(
                "SELECT event_id, event_type, payload, created_at FROM webhook_events WHERE event_id = $1",
            )
            .bind(d.event_id.clone())
            .fetch_one(&mut *tx)
            .await?;
            let ep = sqlx::query_as::<Any, WebhookEndpointRow>(&format!(
                "SELECT {EP_COLS} FROM webhook_endpoints WHERE endpoint_id = $1"
            ))
            .bind(d.endpoint_id.clone())
            .fetch_one(&mut *tx)
            .await?;
            out.push(ClaimedDelivery {
                delivery: d,
                event_type: ev.event_type,
                payload: ev.payload,
                event_created_at: ev.created_at,
                endpoint: ep,
            });
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn finish_delivery(&self, d: &ClaimedDelivery, r: &AttemptResult, now: i64) -> Result<()> {
        let mut tx = self.write.begin().await?;
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
        .execute(&mut *tx)
        .await?;
        if let Some(reason) = &r.disable_endpoint {
            sqlx::query(
                "UPDATE webhook_endpoints SET status = 'DISABLED', disabled_reason = $1, updated_at = $2 \
                 WHERE endpoint_id = $3 AND status = 'ENABLED'",
            )
            .bind(reason.clone())
            .bind(now)
            .bind(d.endpoint.endpoint_id.clone())
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE webhook_deliveries SET status = 'FAILED', error = $1, updated_at = $2 \
                 WHERE endpoint_id = $3 AND status = 'PENDING'",
            )
            .bind(format!("endpoint disabled: {reason}"))
            .bind(now)
            .bind(d.endpoint.endpoint_id.clone())
            .execute(&mut *tx)
            .await?;
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
            "SELECT event_id, event_type, payload, created_at FROM webhook_events WHERE customer_id = $1 AND event_id = $2",
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
            "SELECT event_id, event_type, payload, created_at FROM webhook_events \
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
