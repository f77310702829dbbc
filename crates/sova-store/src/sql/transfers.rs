//! Connect transfers between wallets: each change, its ledger move and its events in one transaction.

use super::SqlStore;
use super::idempotency::apply_effects;
use crate::{Effects, ListQuery, Page, Posting, Result, StoreError, TransferRow, TransferStore};

const COLS: &str = "transfer_id, customer_id, user_id, source_wallet_id, destination_wallet_id, transfer_type, \
                    purpose, description, currency, amount, status, code_hash, code_expires_at, code_tries, \
                    created_at, updated_at, completed_at";
const FILTER: &[&str] = &["status", "currency", "transfer_type", "source_wallet_id", "destination_wallet_id"];
const SORT: &[&str] = &["created_at", "updated_at", "completed_at"];

#[async_trait::async_trait]
impl TransferStore for SqlStore {
    async fn create_transfer(&self, t: &TransferRow, hold: &[Posting], fx: &Effects) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO connect_transfers ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
             $14, $15, $16, $17)"
        ))
        .bind(t.transfer_id.clone())
        .bind(t.customer_id.clone())
        .bind(t.user_id.clone())
        .bind(t.source_wallet_id.clone())
        .bind(t.destination_wallet_id.clone())
        .bind(t.transfer_type.clone())
        .bind(t.purpose.clone())
        .bind(t.description.clone())
        .bind(t.currency.clone())
        .bind(t.amount.clone())
        .bind(t.status.clone())
        .bind(t.code_hash.clone())
        .bind(t.code_expires_at)
        .bind(t.code_tries)
        .bind(t.created_at)
        .bind(t.updated_at)
        .bind(t.completed_at)
        .execute(&mut *tx)
        .await?;
        self.post_tx(&mut tx, "transfer-hold", &t.transfer_id, hold, t.created_at).await?;
        apply_effects(&mut tx, fx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn transfer(&self, customer_id: &str, transfer_id: &str) -> Result<Option<TransferRow>> {
        let sql = format!("SELECT {COLS} FROM connect_transfers WHERE customer_id = $1 AND transfer_id = $2");
        Ok(sqlx::query_as(&sql)
            .bind(customer_id.to_string())
            .bind(transfer_id.to_string())
            .fetch_optional(&self.write)
            .await?)
    }

    async fn list_transfers(&self, customer_id: &str, wallet_id: &str, q: &ListQuery) -> Result<Page<TransferRow>> {
        self.list(
            COLS,
            "connect_transfers",
            "customer_id = $1 AND (source_wallet_id = $2 OR destination_wallet_id = $2)",
            &[customer_id, wallet_id],
            FILTER,
            SORT,
            q,
        )
        .await
    }

    async fn new_transfer_code(&self, t: &TransferRow, hash: &str, expires_at: i64, fx: &Effects) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(
            "UPDATE connect_transfers SET code_hash = $1, code_expires_at = $2, code_tries = 0, updated_at = $3 \
             WHERE customer_id = $4 AND transfer_id = $5 AND status = 'PENDING'",
        )
        .bind(hash.to_string())
        .bind(expires_at)
        .bind(t.updated_at)
        .bind(t.customer_id.clone())
        .bind(t.transfer_id.clone())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict("transfer not pending"));
        }
        apply_effects(&mut tx, fx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn wrong_transfer_code(&self, customer_id: &str, transfer_id: &str) -> Result<i64> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "UPDATE connect_transfers SET code_tries = code_tries + 1 WHERE customer_id = $1 AND transfer_id = $2",
        )
        .bind(customer_id.to_string())
        .bind(transfer_id.to_string())
        .execute(&mut *tx)
        .await?;
        let tries: i64 =
            sqlx::query_scalar("SELECT code_tries FROM connect_transfers WHERE customer_id = $1 AND transfer_id = $2")
                .bind(customer_id.to_string())
                .bind(transfer_id.to_string())
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(tries)
    }

    async fn finish_transfer(
        &self,
        t: &TransferRow,
        status: &str,
        postings: &[Posting],
        fx: &Effects,
        now: i64,
    ) -> Result<TransferRow> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(
            "UPDATE connect_transfers SET status = $1, code_hash = NULL, code_expires_at = NULL, updated_at = $2, \
             completed_at = $2 WHERE customer_id = $3 AND transfer_id = $4 AND status = 'PENDING'",
        )
        .bind(status.to_string())
        .bind(now)
        .bind(t.customer_id.clone())
        .bind(t.transfer_id.clone())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict("transfer not pending"));
        }
        let kind = if status == "COMPLETED" { "transfer" } else { "transfer-release" };
        self.post_tx(&mut tx, kind, &t.transfer_id, postings, now).await?;
        apply_effects(&mut tx, fx).await?;
        let sql = format!("SELECT {COLS} FROM connect_transfers WHERE customer_id = $1 AND transfer_id = $2");
        let row =
            sqlx::query_as(&sql).bind(t.customer_id.clone()).bind(t.transfer_id.clone()).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(row)
    }
}
