//! Intel keys, accounts, the biller's charge groups and usage.

use sqlx::{Any, AnyPool, Transaction};

use super::{Pinned, SqlStore, lock_suffix};
use crate::{Backend, Charge, IntelAccount, IntelKeyRow, IntelStore, MAX_CREDITS, Result, StoreError, UsageRow};

const INTEL_ACCOUNT_COLS: &str = "id, owner, credits, created_at, updated_at";
const INTEL_KEY_COLS: &str = "id, account_id, key_hash, prefix, created_at, revoked_at";

/// The Intel biller's writer: it applies the biller's groups of charges, one group at a time, on PostgreSQL over a
/// connection pinned to it (see [`Pinned`]).
pub(super) struct IntelWriter {
    pool: AnyPool,
    backend: Backend,
    pinned: Pinned,
}

impl IntelWriter {
    pub(super) fn new(pool: &AnyPool, backend: Backend) -> Self {
        Self { pool: pool.clone(), backend, pinned: Pinned::default() }
    }

    /// One group of charges (see [`IntelStore::apply_charges`]).
    pub(super) async fn apply_charges(
        &self,
        charges: &[Charge],
        now: i64,
    ) -> Result<Vec<std::result::Result<i64, i64>>> {
        if charges.is_empty() {
            return Ok(Vec::new());
        }
        if self.backend == Backend::Postgres {
            let mut pinned = self.pinned.take(&self.pool).await?;
            let results = match Self::debit_in_one_statement(pinned.conn(), charges, now).await? {
                Some(results) => results,
                None => {
                    let tx = sqlx::Connection::begin(pinned.conn()).await?;
                    self.charge_in_transaction(tx, charges, now).await?
                }
            };
            pinned.keep();
            return Ok(results);
        }
        let tx = self.pool.begin().await?;
        self.charge_in_transaction(tx, charges, now).await
    }

    /// The common case on PostgreSQL, in one statement (one round trip, one commit): debits only, one account, and
    /// enough credits for all of them. The balance update and the usage rows are one data-modifying CTE; if the
    /// credits do not cover the group, nothing is written and `None` sends the caller to the general path.
    async fn debit_in_one_statement(
        conn: &mut sqlx::AnyConnection,
        charges: &[Charge],
        now: i64,
    ) -> Result<Option<Vec<std::result::Result<i64, i64>>>> {
        let account = charges[0].account_id.as_str();
        if charges.len() > 1000 || charges.iter().any(|c| c.cost <= 0 || c.account_id != account) {
            return Ok(None);
        }
        let total: i64 = charges.iter().map(|c| c.cost).sum();
        // Balances relative to the final one: after charge i, `final + (total - cum_i)`.
        let mut cum = 0i64;
        let offsets: Vec<i64> = charges
            .iter()
            .map(|c| {
                cum += c.cost;
                total - cum
            })
            .collect();
        let rows = aggregate(charges.iter().zip(&offsets).map(|(c, off)| (c, *off)));
        let mut sql = String::from(
            "WITH upd AS (UPDATE intel_accounts SET credits = credits - $1, updated_at = $2 \
             WHERE id = $3 AND credits >= $1 RETURNING credits), \
             rows (key_id, kind, endpoint, cost, calls, off, trace_id) AS (VALUES ",
        );
        for i in 0..rows.len() {
            let b = 4 + i * 7;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${b}::text, ${}::text, ${}::text, ${}::bigint, ${}::bigint, ${}::bigint, ${}::text)",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6
            ));
        }
        sql.push_str(
            ") INSERT INTO intel_usage (account_id, key_id, kind, endpoint, cost, calls, balance, trace_id, created_at) \
             SELECT $3, rows.key_id, rows.kind, rows.endpoint, rows.cost, rows.calls, upd.credits + rows.off, \
             rows.trace_id, $2 FROM rows, upd RETURNING balance",
        );
        let mut q = sqlx::query_scalar::<Any, i64>(&sql).bind(total).bind(now).bind(account.to_string());
        for r in &rows {
            q = q
                .bind(r.key_id.clone())
                .bind(r.kind.clone())
                .bind(r.endpoint.clone())
                .bind(r.cost)
                .bind(r.calls)
                .bind(r.balance)
                .bind(r.trace_id.clone());
        }
        let balances = q.fetch_all(conn).await?;
        let Some(final_balance) = balances.iter().min().copied() else { return Ok(None) };
        let last_off = rows.iter().map(|r| r.balance).min().unwrap_or(0);
        let final_balance = final_balance - last_off;
        Ok(Some(offsets.into_iter().map(|off| Ok(final_balance + off)).collect()))
    }

    /// Charges in one transaction, locking each account once in a fixed order (any mix of accounts, debits and
    /// refunds; a debit the balance cannot cover is refused and the rest go on).
    async fn charge_in_transaction(
        &self,
        mut tx: Transaction<'_, Any>,
        charges: &[Charge],
        now: i64,
    ) -> Result<Vec<std::result::Result<i64, i64>>> {
        let mut balances: std::collections::BTreeMap<&str, i64> = Default::default();
        for c in charges {
            balances.entry(c.account_id.as_str()).or_default();
        }
        let select = format!("SELECT credits FROM intel_accounts WHERE id = $1{}", lock_suffix(self.backend));
        for (id, bal) in balances.iter_mut() {
            *bal = sqlx::query_scalar::<Any, i64>(&select)
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
        }
        let mut results = Vec::with_capacity(charges.len());
        let mut applied: Vec<(&Charge, i64)> = Vec::with_capacity(charges.len());
        for c in charges {
            let bal = balances.get_mut(c.account_id.as_str()).ok_or(StoreError::NotFound)?;
            let after = bal.checked_sub(c.cost).filter(|b| (0..=MAX_CREDITS).contains(b));
            let Some(after) = after else {
                // Not covered (a call), or past the most an account may hold (a top-up or refund).
                results.push(Err(*bal));
                continue;
            };
            *bal = after;
            results.push(Ok(*bal));
            applied.push((c, *bal));
        }
        for (id, bal) in &balances {
            sqlx::query("UPDATE intel_accounts SET credits = $1, updated_at = $2 WHERE id = $3")
                .bind(*bal)
                .bind(now)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        // One usage row per (account, key, kind, endpoint) of the group, in multi-row INSERTs.
        let rows = aggregate(applied.iter().map(|(c, bal)| (*c, *bal)));
        for chunk in rows.chunks(200) {
            let mut sql = String::from(
                "INSERT INTO intel_usage (account_id, key_id, kind, endpoint, cost, calls, balance, trace_id, created_at) VALUES ",
            );
            for i in 0..chunk.len() {
                let b = i * 9;
                if i > 0 {
                    sql.push_str(", ");
                }
                let ps: Vec<String> = (1..=9).map(|k| format!("${}", b + k)).collect();
                sql.push_str(&format!("({})", ps.join(", ")));
            }
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q
                    .bind(r.account_id.clone())
                    .bind(r.key_id.clone())
                    .bind(r.kind.clone())
                    .bind(r.endpoint.clone())
                    .bind(r.cost)
                    .bind(r.calls)
                    .bind(r.balance)
                    .bind(r.trace_id.clone())
                    .bind(now);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(results)
    }
}

impl SqlStore {
    async fn with_account(&self, key: Option<IntelKeyRow>) -> Result<Option<(IntelKeyRow, IntelAccount)>> {
        let Some(key) = key else { return Ok(None) };
        let account = sqlx::query_as::<Any, IntelAccount>(&format!(
            "SELECT {INTEL_ACCOUNT_COLS} FROM intel_accounts WHERE id = $1"
        ))
        .bind(key.account_id.clone())
        .fetch_optional(&self.read)
        .await?;
        Ok(account.map(|a| (key, a)))
    }
}

#[async_trait::async_trait]
impl IntelStore for SqlStore {
    async fn create_intel_key(&self, owner: &str, credits: i64, key: &IntelKeyRow, now: i64) -> Result<IntelAccount> {
        let mut tx = self.write.begin().await?;
        let existing = sqlx::query_as::<Any, IntelAccount>(&format!(
            "SELECT {INTEL_ACCOUNT_COLS} FROM intel_accounts WHERE owner = $1{}",
            self.lock_suffix()
        ))
        .bind(owner.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let account_id = match existing {
            Some(a) => {
                if credits > 0 {
                    let balance = a
                        .credits
                        .checked_add(credits)
                        .filter(|b| *b <= MAX_CREDITS)
                        .ok_or_else(|| StoreError::OutOfRange("intel credits".into()))?;
                    sqlx::query("UPDATE intel_accounts SET credits = $1, updated_at = $2 WHERE id = $3")
                        .bind(balance)
                        .bind(now)
                        .bind(a.id.clone())
                        .execute(&mut *tx)
                        .await?;
                    insert_usage(&mut tx, &a.id, None, "topup", "", -credits, balance, "-", now).await?;
                }
                a.id
            }
            None => {
                if credits > MAX_CREDITS {
                    return Err(StoreError::OutOfRange("intel credits".into()));
                }
                sqlx::query(&format!("INSERT INTO intel_accounts ({INTEL_ACCOUNT_COLS}) VALUES ($1, $2, $3, $4, $5)"))
                    .bind(key.account_id.clone())
                    .bind(owner.to_string())
                    .bind(credits)
                    .bind(now)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| StoreError::unique(e, "intel account"))?;
                if credits > 0 {
                    insert_usage(&mut tx, &key.account_id, None, "topup", "", -credits, credits, "-", now).await?;
                }
                key.account_id.clone()
            }
        };
        sqlx::query(&format!("INSERT INTO intel_keys ({INTEL_KEY_COLS}) VALUES ($1, $2, $3, $4, $5, $6)"))
            .bind(key.id.clone())
            .bind(account_id.clone())
            .bind(key.key_hash.clone())
            .bind(key.prefix.clone())
            .bind(key.created_at)
            .bind(key.revoked_at)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::unique(e, "intel key"))?;
        let account = sqlx::query_as::<Any, IntelAccount>(&format!(
            "SELECT {INTEL_ACCOUNT_COLS} FROM intel_accounts WHERE id = $1"
        ))
        .bind(account_id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(account)
    }

    async fn intel_key_by_hash(&self, hash: &str) -> Result<Option<(IntelKeyRow, IntelAccount)>> {
        let key =
            sqlx::query_as::<Any, IntelKeyRow>(&format!("SELECT {INTEL_KEY_COLS} FROM intel_keys WHERE key_hash = $1"))
                .bind(hash.to_string())
                .fetch_optional(&self.read)
                .await?;
        self.with_account(key).await
    }

    async fn intel_key(&self, id: &str) -> Result<Option<(IntelKeyRow, IntelAccount)>> {
        let key = sqlx::query_as::<Any, IntelKeyRow>(&format!("SELECT {INTEL_KEY_COLS} FROM intel_keys WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?;
        self.with_account(key).await
    }

    async fn intel_account_by_owner(&self, owner: &str) -> Result<Option<IntelAccount>> {
        Ok(sqlx::query_as::<Any, IntelAccount>(&format!(
            "SELECT {INTEL_ACCOUNT_COLS} FROM intel_accounts WHERE owner = $1"
        ))
        .bind(owner.to_string())
        .fetch_optional(&self.read)
        .await?)
    }

    async fn intel_account(&self, id: &str) -> Result<Option<IntelAccount>> {
        Ok(sqlx::query_as::<Any, IntelAccount>(&format!(
            "SELECT {INTEL_ACCOUNT_COLS} FROM intel_accounts WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?)
    }

    async fn intel_keys(&self, account_id: &str) -> Result<Vec<IntelKeyRow>> {
        Ok(sqlx::query_as::<Any, IntelKeyRow>(&format!(
            "SELECT {INTEL_KEY_COLS} FROM intel_keys WHERE account_id = $1 ORDER BY seq DESC"
        ))
        .bind(account_id.to_string())
        .fetch_all(&self.read)
        .await?)
    }

    async fn revoke_intel_key(&self, id: &str, now: i64) -> Result<IntelKeyRow> {
        sqlx::query("UPDATE intel_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2")
            .bind(now)
            .bind(id.to_string())
            .execute(&self.write)
            .await?;
        sqlx::query_as::<Any, IntelKeyRow>(&format!("SELECT {INTEL_KEY_COLS} FROM intel_keys WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.write)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn apply_charges(&self, charges: &[Charge], now: i64) -> Result<Vec<std::result::Result<i64, i64>>> {
        self.intel.apply_charges(charges, now).await
    }

    async fn intel_usage(&self, account_id: &str, key_id: Option<&str>, limit: i64) -> Result<Vec<UsageRow>> {
        let cols = "account_id, key_id, kind, endpoint, cost, calls, balance, trace_id, created_at";
        let rows =
            match key_id {
                Some(k) => sqlx::query_as::<Any, UsageRow>(&format!(
                    "SELECT {cols} FROM intel_usage WHERE account_id = $1 AND key_id = $2 ORDER BY seq DESC LIMIT $3"
                ))
                .bind(account_id.to_string())
                .bind(k.to_string())
                .bind(limit)
                .fetch_all(&self.read)
                .await?,
                None => {
                    sqlx::query_as::<Any, UsageRow>(&format!(
                        "SELECT {cols} FROM intel_usage WHERE account_id = $1 ORDER BY seq DESC LIMIT $2"
                    ))
                    .bind(account_id.to_string())
                    .bind(limit)
                    .fetch_all(&self.read)
                    .await?
                }
            };
        Ok(rows)
    }
}

#[allow(clippy::too_many_arguments)]
async fn insert_usage(
    tx: &mut Transaction<'_, Any>,
    account_id: &str,
    key_id: Option<&str>,
    kind: &str,
    endpoint: &str,
    cost: i64,
    balance: i64,
    trace_id: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO intel_usage (account_id, key_id, kind, endpoint, cost, balance, trace_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(account_id.to_string())
    .bind(key_id.map(str::to_string))
    .bind(kind.to_string())
    .bind(endpoint.to_string())
    .bind(cost)
    .bind(balance)
    .bind(trace_id.to_string())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A usage row in the making: consecutive charges of one group with the same account, key, kind and endpoint.
struct UsageAgg {
    account_id: String,
    key_id: Option<String>,
    kind: String,
    endpoint: String,
    cost: i64,
    calls: i64,
    /// Balance after the row's last charge (or, on the one-statement path, its offset from the final balance).
    balance: i64,
    trace_id: String,
}

/// Fold charges (with the balance, or offset, after each) into usage rows, one per run of equal
/// (account, key, kind, endpoint).
fn aggregate<'a>(charges: impl Iterator<Item = (&'a Charge, i64)>) -> Vec<UsageAgg> {
    let mut rows: Vec<UsageAgg> = Vec::new();
    for (c, balance) in charges {
        match rows.iter_mut().find(|r| {
            r.account_id == c.account_id && r.key_id == c.key_id && r.kind == c.kind && r.endpoint == c.endpoint
        }) {
            Some(r) => {
                r.cost += c.cost;
                r.calls += 1;
                r.balance = balance;
                r.trace_id.clone_from(&c.trace_id);
            }
            None => rows.push(UsageAgg {
                account_id: c.account_id.clone(),
                key_id: c.key_id.clone(),
                kind: c.kind.to_string(),
                endpoint: c.endpoint.clone(),
                cost: c.cost,
                calls: 1,
                balance,
                trace_id: c.trace_id.clone(),
            }),
        }
    }
    rows
}
