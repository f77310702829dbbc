//! Connect quotes and trade orders (the order's money moves in the exchange's group commit, `sql/exchange.rs`).

use super::SqlStore;
use crate::{ListQuery, Page, Posting, QuoteRow, Result, StoreError, TradeDone, TradeRow, TradeStore};

const QUOTE_COLS: &str = "quote_id, customer_id, user_id, wallet_id, pair, side, quantity, amount, price, fee, \
                          fee_currency, terms, created_at, expires_at, order_id";
pub(super) const TRADE_COLS: &str = "order_id, quote_id, customer_id, user_id, wallet_id, pair, side, base_currency, \
                          quote_currency, quantity, amount, price, fee, fee_currency, held, status, reason, \
                          created_at, updated_at, completed_at";
const FILTER: &[&str] = &["user_id", "wallet_id", "pair", "side", "status", "quote_id"];
const SORT: &[&str] = &["created_at", "updated_at", "completed_at"];

/// The exchange's outcome of an order, inside its group commit's transaction.
pub(super) async fn complete_trade(tx: &mut sqlx::Transaction<'_, sqlx::Any>, d: &TradeDone) -> Result<()> {
    let done = sqlx::query(
        "UPDATE connect_trades SET status = $1, quantity = $2, amount = $3, price = $4, fee = $5, updated_at = $6, \
         completed_at = $6 WHERE order_id = $7 AND status = 'PENDING'",
    )
    .bind(d.status.clone())
    .bind(d.quantity.clone())
    .bind(d.amount.clone())
    .bind(d.price.clone())
    .bind(d.fee.clone())
    .bind(d.now)
    .bind(d.order_id.clone())
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::InvalidState(format!("trade order {} is not pending", d.order_id)));
    }
    Ok(())
}

#[async_trait::async_trait]
impl TradeStore for SqlStore {
    async fn create_quote(&self, q: &QuoteRow) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO connect_quotes ({QUOTE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
             $14, $15)"
        ))
        .bind(q.quote_id.clone())
        .bind(q.customer_id.clone())
        .bind(q.user_id.clone())
        .bind(q.wallet_id.clone())
        .bind(q.pair.clone())
        .bind(q.side.clone())
        .bind(q.quantity.clone())
        .bind(q.amount.clone())
        .bind(q.price.clone())
        .bind(q.fee.clone())
        .bind(q.fee_currency.clone())
        .bind(q.terms.clone())
        .bind(q.created_at)
        .bind(q.expires_at)
        .bind(q.order_id.clone())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn quote(&self, customer_id: &str, quote_id: &str) -> Result<Option<QuoteRow>> {
        let sql = format!("SELECT {QUOTE_COLS} FROM connect_quotes WHERE customer_id = $1 AND quote_id = $2");
        Ok(sqlx::query_as(&sql)
            .bind(customer_id.to_string())
            .bind(quote_id.to_string())
            .fetch_optional(&self.write)
            .await?)
    }

    async fn take_quote(&self, t: &TradeRow, hold: &[Posting], now: i64) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let taken = sqlx::query(
            "UPDATE connect_quotes SET order_id = $1 WHERE quote_id = $2 AND customer_id = $3 AND order_id IS NULL \
             AND expires_at > $4",
        )
        .bind(t.order_id.clone())
        .bind(t.quote_id.clone())
        .bind(t.customer_id.clone())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if taken.rows_affected() != 1 {
            let used: Option<Option<String>> =
                sqlx::query_scalar("SELECT order_id FROM connect_quotes WHERE quote_id = $1 AND customer_id = $2")
                    .bind(t.quote_id.clone())
                    .bind(t.customer_id.clone())
                    .fetch_optional(&mut *tx)
                    .await?;
            return Err(match used {
                None => StoreError::NotFound,
                Some(Some(_)) => StoreError::Conflict("quote used"),
                Some(None) => StoreError::InvalidState("expired".into()),
            });
        }
        sqlx::query(&format!(
            "INSERT INTO connect_trades ({TRADE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
             $14, $15, $16, $17, $18, $19, $20)"
        ))
        .bind(t.order_id.clone())
        .bind(t.quote_id.clone())
        .bind(t.customer_id.clone())
        .bind(t.user_id.clone())
        .bind(t.wallet_id.clone())
        .bind(t.pair.clone())
        .bind(t.side.clone())
        .bind(t.base_currency.clone())
        .bind(t.quote_currency.clone())
        .bind(t.quantity.clone())
        .bind(t.amount.clone())
        .bind(t.price.clone())
        .bind(t.fee.clone())
        .bind(t.fee_currency.clone())
        .bind(t.held.clone())
        .bind(t.status.clone())
        .bind(t.reason.clone())
        .bind(t.created_at)
        .bind(t.updated_at)
        .bind(t.completed_at)
        .execute(&mut *tx)
        .await?;
        self.post_tx(&mut tx, "trade-hold", &t.order_id, hold, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn reject_trade(&self, order_id: &str, reason: &str, release: &[Posting], now: i64) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(
            "UPDATE connect_trades SET status = 'REJECTED', reason = $1, updated_at = $2, completed_at = $2 \
             WHERE order_id = $3 AND status = 'PENDING'",
        )
        .bind(reason.to_string())
        .bind(now)
        .bind(order_id.to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict("trade order not pending"));
        }
        self.post_tx(&mut tx, "trade-release", order_id, release, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn trade(&self, customer_id: &str, order_id: &str) -> Result<Option<TradeRow>> {
        let sql = format!("SELECT {TRADE_COLS} FROM connect_trades WHERE customer_id = $1 AND order_id = $2");
        Ok(sqlx::query_as(&sql)
            .bind(customer_id.to_string())
            .bind(order_id.to_string())
            .fetch_optional(&self.write)
            .await?)
    }

    async fn list_trades(&self, customer_id: &str, wallet_id: Option<&str>, q: &ListQuery) -> Result<Page<TradeRow>> {
        match wallet_id {
            Some(w) => {
                self.list(
                    TRADE_COLS,
                    "connect_trades",
                    "customer_id = $1 AND wallet_id = $2",
                    &[customer_id, w],
                    FILTER,
                    SORT,
                    q,
                )
                .await
            }
            None => self.list(TRADE_COLS, "connect_trades", "customer_id = $1", &[customer_id], FILTER, SORT, q).await,
        }
    }

    async fn pending_trades(&self, before: i64) -> Result<Vec<TradeRow>> {
        let sql = format!(
            "SELECT {TRADE_COLS} FROM connect_trades WHERE status = 'PENDING' AND created_at < $1 ORDER BY seq"
        );
        Ok(sqlx::query_as(&sql).bind(before).fetch_all(&self.write).await?)
    }
}
