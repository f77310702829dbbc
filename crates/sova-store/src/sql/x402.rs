//! x402 payments (the replay store).

use sqlx::Any;

use super::SqlStore;
use crate::{PaymentClaim, Result, X402Payment, X402Store};

const PAYMENT_COLS: &str = "message_hash, tx_signature, payer, amount, network, resource, status, locked_until, detail, \
                            created_at, updated_at";

#[async_trait::async_trait]
impl X402Store for SqlStore {
    async fn claim_payment(&self, p: &X402Payment) -> Result<PaymentClaim> {
        let mut tx = self.write.begin().await?;
        let existing = sqlx::query_as::<Any, X402Payment>(&format!(
            "SELECT {PAYMENT_COLS} FROM x402_payments WHERE message_hash = $1 OR tx_signature = $2{}",
            self.lock_suffix()
        ))
        .bind(p.message_hash.clone())
        .bind(p.tx_signature.clone())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(e) = existing {
            return Ok(if e.status == "IN_FLIGHT" && e.locked_until > p.created_at {
                PaymentClaim::InFlight
            } else {
                PaymentClaim::AlreadyUsed(e)
            });
        }
        let r = sqlx::query(&format!(
            "INSERT INTO x402_payments ({PAYMENT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(p.message_hash.clone())
        .bind(p.tx_signature.clone())
        .bind(p.payer.clone())
        .bind(p.amount)
        .bind(p.network.clone())
        .bind(p.resource.clone())
        .bind(p.status.clone())
        .bind(p.locked_until)
        .bind(p.detail.clone())
        .bind(p.created_at)
        .bind(p.updated_at)
        .execute(&mut *tx)
        .await;
        match r {
            Ok(_) => {
                tx.commit().await?;
                Ok(PaymentClaim::Claimed)
            }
            // A concurrent claim on another connection won the race.
            Err(sqlx::Error::Database(d)) if d.is_unique_violation() => Ok(PaymentClaim::InFlight),
            Err(e) => Err(e.into()),
        }
    }

    async fn finish_payment(&self, message_hash: &str, status: &str, detail: Option<&str>, now: i64) -> Result<()> {
        sqlx::query("UPDATE x402_payments SET status = $1, detail = $2, updated_at = $3, locked_until = $3 WHERE message_hash = $4")
            .bind(status.to_string())
            .bind(detail.map(str::to_string))
            .bind(now)
            .bind(message_hash.to_string())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn release_payment(&self, message_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM x402_payments WHERE message_hash = $1 AND status = 'IN_FLIGHT'")
            .bind(message_hash.to_string())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn payments_with_status(&self, status: &str) -> Result<Vec<X402Payment>> {
        Ok(sqlx::query_as::<Any, X402Payment>(&format!(
            "SELECT {PAYMENT_COLS} FROM x402_payments WHERE status = $1 ORDER BY created_at"
        ))
        .bind(status.to_string())
        .fetch_all(&self.read)
        .await?)
    }

    async fn prune_payments(&self, before: i64) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM x402_payments WHERE created_at < $1 AND status <> 'PENDING'")
            .bind(before)
            .execute(&self.write)
            .await?
            .rows_affected())
    }
}
