//! The double-entry ledger.

use std::str::FromStr;

use rust_decimal::Decimal;
use sqlx::{Any, Transaction};

use super::{SqlStore, dec};
use crate::{LedgerEntry, LedgerStore, Posting, Result, StoreError};

/// `a + b` when a decimal represents it exactly: `None` where the sum needs more than 96 bits of mantissa at the
/// finer of the two (normalised) scales (`rust_decimal`'s own addition would round it to fewer decimal places, or panic).
pub(crate) fn exact_add(a: Decimal, b: Decimal) -> Option<Decimal> {
    let (a, b) = (a.normalize(), b.normalize());
    let scale = a.scale().max(b.scale());
    let at = |d: Decimal| d.mantissa().checked_mul(10i128.checked_pow(scale - d.scale())?);
    let sum = at(a)?.checked_add(at(b)?)?;
    // Normalised, so that a running sum carries no scale it does not need (0.0 + a large amount).
    Decimal::try_from_i128_with_scale(sum, scale).ok().map(|d| d.normalize())
}

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
        post_in(tx, self.backend, kind, reference, postings, now).await
    }
}

/// Post a balanced transaction inside `tx` on `backend` (for writers that are not the store itself: the exchange
/// sequencer's group commit).
pub(super) async fn post_in(
    tx: &mut Transaction<'_, Any>,
    backend: crate::Backend,
    kind: &str,
    reference: &str,
    postings: &[Posting],
    now: i64,
) -> Result<()> {
    {
        let mut sums: std::collections::BTreeMap<&str, Decimal> = Default::default();
        for p in postings {
            let sum = sums.entry(p.currency.as_str()).or_default();
            *sum = exact_add(*sum, p.amount).ok_or_else(|| StoreError::OutOfRange(p.account.clone()))?;
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
        let select = format!("SELECT balance FROM ledger_accounts WHERE account = $1{}", super::lock_suffix(backend));
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
            let new = exact_add(old, p.amount).ok_or_else(|| StoreError::OutOfRange(p.account.clone()))?;
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
            // Each transaction's legs together: the running sum then never strays further from zero than one
            // transaction's legs did when they were posted (and checked exact).
            sqlx::query_as::<Any, (String, String)>("SELECT currency, amount FROM ledger_entries ORDER BY txn_id, seq")
                .fetch_all(&self.read)
                .await?;
        let mut sums: std::collections::BTreeMap<String, Decimal> = Default::default();
        for (c, a) in rows {
            let sum = sums.entry(c).or_default();
            *sum = exact_add(*sum, dec(&a)?).ok_or_else(|| StoreError::Corrupt("ledger totals out of range".into()))?;
        }
        Ok(sums.into_iter().map(|(c, s)| (c, s.normalize().to_string())).collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sums_are_exact_or_refused() {
        let d = |s: &str| Decimal::from_str(s).unwrap();
        assert_eq!(exact_add(d("1.5"), d("0.25")), Some(d("1.75")));
        assert_eq!(exact_add(d("-0.7"), d("0.7")).unwrap(), Decimal::ZERO);
        // The deposit: near the maximum, a fraction would be rounded away, and 100 more overflows.
        let big = d("79228162514264337593543950325");
        assert_eq!(exact_add(big, d("0.7")), None);
        assert_eq!(exact_add(big, d("100")), None);
        assert_eq!(exact_add(Decimal::MAX, Decimal::ONE), None);
        assert_eq!(exact_add(Decimal::MIN, -Decimal::ONE), None);
        // 28 significant digits still add exactly.
        assert_eq!(
            exact_add(d("12345678901234567890.12345678"), d("0.00000001")),
            Some(d("12345678901234567890.12345679"))
        );
    }
}
