//! The double-entry ledger.

use std::str::FromStr;

use rust_decimal::Decimal;
use sqlx::{Any, Transaction};

use super::{SqlStore, dec};
use crate::{LedgerEntry, LedgerStore, Posting, Result, StoreError};

impl SqlStore {
    /// Post a balanced transaction inside `tx` (the caller's state change commits with it).
    pub(super) async fn post_tx(
        &self,
        tx: &mut Transaction<'_, Any>,
        kind: &str,
        reference: &str,
        postings: &[Posting],
        now: i64,
    ) -> Result<()> {
        let mut sums: std::collections::BTreeMap<&str, Decimal> = Default::default();
        for p in postings {
            *sums.entry(p.currency.as_str()).or_default() += p.amount;
        }
        if let Some((cur, s)) = sums.iter().find(|(_, s)| !s.is_zero()) {
            return Err(StoreError::Unbalanced(format!("{kind}/{reference}: {cur} legs sum to {s}")));
        }
        let txn_id = uuid::Uuid::new_v4().to_string();
        sqlx::query("INSERT INTO ledger_transactions (id, kind, reference, created_at) VALUES ($1, $2, $3, $4)")
            .bind(txn_id.clone())
            .bind(kind.to_string())
            .bind(reference.to_string())
            .bind(now)
            .execute(&mut **tx)
            .await
            .map_err(|e| StoreError::unique(e, "ledger transaction"))?;
        // Lock accounts in a fixed order so concurrent transactions cannot deadlock.
        let mut ordered: Vec<&Posting> = postings.iter().collect();
        ordered.sort_by(|a, b| a.account.cmp(&b.account));
        let select = format!("SELECT balance FROM ledger_accounts WHERE account = $1{}", self.lock_suffix());
        for p in ordered {
            sqlx::query(
                "INSERT INTO ledger_accounts (account, currency, balance, may_go_negative, updated_at) \
                 VALUES ($1, $2, '0', $3, $4) ON CONFLICT (account) DO NOTHING",
            )
            .bind(p.account.clone())
            .bind(p.currency.clone())
            .bind(i64::from(p.may_go_negative))
            .bind(now)
            .execute(&mut **tx)
            .await?;
            let old: String =
                sqlx::query_scalar::<Any, String>(&select).bind(p.account.clone()).fetch_one(&mut **tx).await?;
            let old = Decimal::from_str(&old).map_err(|e| StoreError::Corrupt(format!("{}: {e}", p.account)))?;
            let new = old + p.amount;
            if new.is_sign_negative() && !new.is_zero() && !p.may_go_negative {
                return Err(StoreError::InsufficientFunds(p.account.clone()));
            }
            sqlx::query("UPDATE ledger_accounts SET balance = $1, updated_at = $2 WHERE account = $3")
                .bind(new.normalize().to_string())
                .bind(now)
                .bind(p.account.clone())
                .execute(&mut **tx)
                .await?;
            sqlx::query(
                "INSERT INTO ledger_entries (txn_id, account, currency, amount, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(txn_id.clone())
            .bind(p.account.clone())
            .bind(p.currency.clone())
            .bind(p.amount.normalize().to_string())
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl LedgerStore for SqlStore {
    async fn post(&self, kind: &str, reference: &str, postings: &[Posting], now: i64) -> Result<()> {
        let mut tx = self.write.begin().await?;
        self.post_tx(&mut tx, kind, reference, postings, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn balance(&self, account: &str) -> Result<String> {
        Ok(sqlx::query_scalar::<Any, String>("SELECT balance FROM ledger_accounts WHERE account = $1")
            .bind(account.to_string())
            .fetch_optional(&self.read)
            .await?
            .unwrap_or_else(|| "0".into()))
    }

    async fn ledger_entries(&self, account: &str) -> Result<Vec<LedgerEntry>> {
        Ok(sqlx::query_as::<Any, LedgerEntry>(
            "SELECT txn_id, account, currency, amount, created_at FROM ledger_entries WHERE account = $1 ORDER BY seq",
        )
        .bind(account.to_string())
        .fetch_all(&self.read)
        .await?)
    }

    async fn ledger_totals(&self) -> Result<Vec<(String, String)>> {
        let rows: Vec<(String, String)> =
            sqlx::query_as::<Any, (String, String)>("SELECT currency, amount FROM ledger_entries")
                .fetch_all(&self.read)
                .await?;
        let mut sums: std::collections::BTreeMap<String, Decimal> = Default::default();
        for (c, a) in rows {
            *sums.entry(c).or_default() += dec(&a)?;
        }
        Ok(sums.into_iter().map(|(c, s)| (c, s.normalize().to_string())).collect())
    }
}
