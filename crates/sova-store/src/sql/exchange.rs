//! The exchange: accounts, API keys, nonces and the event log.

use sqlx::{Any, AnyPool};

use super::{Pinned, SqlStore};
use crate::{Backend, ExAccount, ExApiKey, ExLogRow, ExWrites, ExchangeStore, LeaderLease, Result, StoreError};

const ACCOUNT_COLS: &str = "account_id, address, master_id, label, created_at";
const KEY_COLS: &str = "master, name, key_type, public_key, account_id, expires_at, created_at";
/// First account id handed out (999 is the vendor's treasury, 0 the fee account).
const FIRST_ACCOUNT_ID: i64 = 1001;

/// The advisory lock key of the exchange's leadership ("sovaex" in ASCII).
const LEADER_LOCK: i64 = 0x736f_7661_6578;

/// One process on SQLite: it always leads.
struct LocalLease;

#[async_trait::async_trait]
impl LeaderLease for LocalLease {
    async fn held(&mut self) -> bool {
        true
    }
}

/// A PostgreSQL session holding the leadership's advisory lock.
struct PgLease {
    conn: sqlx::AnyConnection,
}

#[async_trait::async_trait]
impl LeaderLease for PgLease {
    async fn held(&mut self) -> bool {
        let probe = sqlx::query_scalar::<Any, i32>("SELECT 1").fetch_one(&mut self.conn);
        matches!(tokio::time::timeout(std::time::Duration::from_secs(3), probe).await, Ok(Ok(1)))
    }
}

impl SqlStore {
    /// Take the advisory lock `key` for as long as the returned lease lives: on PostgreSQL a session lock on a
    /// connection of its own (released when the connection closes, so a crashed holder frees it), on SQLite (one
    /// process) at once. `None`: another session holds it.
    pub(super) async fn try_lead(&self, key: i64) -> Result<Option<Box<dyn LeaderLease>>> {
        if self.backend == Backend::Sqlite {
            return Ok(Some(Box::new(LocalLease)));
        }
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&self.url).await?;
        let got: bool =
            sqlx::query_scalar::<Any, bool>("SELECT pg_try_advisory_lock($1)").bind(key).fetch_one(&mut conn).await?;
        if got { Ok(Some(Box::new(PgLease { conn }))) } else { Ok(None) }
    }

    async fn ex_insert_account(
        &self,
        address: &str,
        master_id: Option<i64>,
        label: Option<&str>,
        now: i64,
    ) -> Result<ExAccount> {
        // Ids are MAX + 1: a concurrent insert of the same id fails the primary key and is retried.
        for _ in 0..5 {
            let sql = format!(
                "INSERT INTO ex_accounts ({ACCOUNT_COLS}) \
                 SELECT COALESCE(MAX(account_id) + 1, {FIRST_ACCOUNT_ID}), $1, $2, $3, $4 FROM ex_accounts \
                 RETURNING {ACCOUNT_COLS}"
            );
            match sqlx::query_as::<Any, ExAccount>(&sql)
                .bind(address.to_string())
                .bind(master_id)
                .bind(label.map(str::to_string))
                .bind(now)
                .fetch_one(&self.write)
                .await
            {
                Ok(a) => return Ok(a),
                Err(sqlx::Error::Database(d)) if d.is_unique_violation() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict("account id"))
    }
}

#[async_trait::async_trait]
impl ExchangeStore for SqlStore {
    async fn ex_master_account(&self, address: &str, now: i64) -> Result<(ExAccount, bool)> {
        let find = format!("SELECT {ACCOUNT_COLS} FROM ex_accounts WHERE address = $1 AND master_id IS NULL");
        for _ in 0..3 {
            if let Some(a) =
                sqlx::query_as::<Any, ExAccount>(&find).bind(address.to_string()).fetch_optional(&self.write).await?
            {
                return Ok((a, false));
            }
            match self.ex_insert_account(address, None, None, now).await {
                Ok(a) => return Ok((a, true)),
                // Another request created this master account first: read it.
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict("account"))
    }

    async fn ex_create_sub_account(&self, master_id: i64, label: Option<&str>, now: i64) -> Result<ExAccount> {
        let sql = format!("SELECT {ACCOUNT_COLS} FROM ex_accounts WHERE account_id = $1 AND master_id IS NULL");
        let master = sqlx::query_as::<Any, ExAccount>(&sql)
            .bind(master_id)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        self.ex_insert_account(&master.address, Some(master_id), label, now).await
    }

    async fn ex_accounts(&self) -> Result<Vec<ExAccount>> {
        let sql = format!("SELECT {ACCOUNT_COLS} FROM ex_accounts ORDER BY account_id");
        Ok(sqlx::query_as::<Any, ExAccount>(&sql).fetch_all(&self.read).await?)
    }

    async fn ex_accounts_after(&self, after_id: i64) -> Result<Vec<ExAccount>> {
        let sql = format!("SELECT {ACCOUNT_COLS} FROM ex_accounts WHERE account_id > $1 ORDER BY account_id");
        Ok(sqlx::query_as::<Any, ExAccount>(&sql).bind(after_id).fetch_all(&self.read).await?)
    }

    async fn ex_try_lead(&self) -> Result<Option<Box<dyn LeaderLease>>> {
        self.try_lead(LEADER_LOCK).await
    }

    async fn ex_set_leader(&self, url: &str, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO ex_leader (id, url, since) VALUES (1, $1, $2)              ON CONFLICT (id) DO UPDATE SET url = excluded.url, since = excluded.since",
        )
        .bind(url.to_string())
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn ex_leader(&self) -> Result<Option<(String, i64)>> {
        Ok(sqlx::query_as::<Any, (String, i64)>("SELECT url, since FROM ex_leader WHERE id = 1")
            .fetch_optional(&self.read)
            .await?)
    }

    async fn ex_api_keys(&self) -> Result<Vec<ExApiKey>> {
        let sql = format!("SELECT {KEY_COLS} FROM ex_api_keys ORDER BY master, created_at, name");
        Ok(sqlx::query_as::<Any, ExApiKey>(&sql).fetch_all(&self.read).await?)
    }

    async fn ex_log_after(&self, after_seq: i64, limit: i64) -> Result<Vec<ExLogRow>> {
        Ok(sqlx::query_as::<Any, ExLogRow>("SELECT seq, ts, events FROM ex_log WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(after_seq)
            .bind(limit)
            .fetch_all(&self.read)
            .await?)
    }

    async fn ex_nonces(&self, scopes: &[String]) -> Result<Vec<(String, i64)>> {
        let mut out = Vec::new();
        for chunk in scopes.chunks(200) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!("SELECT scope, nonce FROM ex_nonces WHERE scope IN ({})", marks.join(", "));
            let mut q = sqlx::query_as::<Any, (String, i64)>(&sql);
            for s in chunk {
                q = q.bind(s.clone());
            }
            out.extend(q.fetch_all(&self.write).await?);
        }
        Ok(out)
    }

    async fn ex_commit(&self, w: &ExWrites) -> Result<()> {
        self.exchange.commit(w).await
    }
}

/// The exchange sequencer's writer: it commits the sequencer's groups, one at a time, on PostgreSQL over a connection
/// pinned to it (see [`Pinned`]).
pub(super) struct ExchangeWriter {
    pool: AnyPool,
    backend: Backend,
    pinned: Pinned,
}

impl ExchangeWriter {
    pub(super) fn new(pool: &AnyPool, backend: Backend) -> Self {
        Self { pool: pool.clone(), backend, pinned: Pinned::default() }
    }

    /// One group's writes (see [`ExchangeStore::ex_commit`]).
    pub(super) async fn commit(&self, w: &ExWrites) -> Result<()> {
        if w.is_empty() {
            return Ok(());
        }
        if self.backend == Backend::Postgres {
            let mut pinned = self.pinned.take(&self.pool).await?;
            if w.keys_added.is_empty()
                && w.keys_removed.is_empty()
                && w.ledger.is_empty()
                && w.trades_done.is_empty()
                && w.events.is_empty()
            {
                // The common case in one statement (one round trip, atomic by itself).
                let (sql, binds) = group_statement(w);
                let mut q = sqlx::query(&sql);
                for b in binds {
                    q = match b {
                        Bind::I(v) => q.bind(v),
                        Bind::S(v) => q.bind(v),
                        Bind::B(v) => q.bind(v),
                    };
                }
                q.execute(pinned.conn()).await.map_err(log_conflict)?;
            } else {
                let tx = sqlx::Connection::begin(pinned.conn()).await?;
                commit_in_transaction(tx, w, self.backend).await?;
            }
            pinned.keep();
            return Ok(());
        }
        commit_in_transaction(self.pool.begin().await?, w, self.backend).await
    }
}

fn log_conflict(e: sqlx::Error) -> StoreError {
    StoreError::unique(e, "nonce or event-log position")
}

/// One group's writes in one transaction (SQLite, and PostgreSQL groups that change API keys or move Connect money).
async fn commit_in_transaction(mut tx: sqlx::Transaction<'_, Any>, w: &ExWrites, backend: Backend) -> Result<()> {
    for p in &w.ledger {
        let now = w.log.last().map_or(0, |r| r.ts);
        super::ledger::post_in(&mut tx, backend, &p.kind, &p.reference, &p.postings, now).await?;
    }
    for d in &w.trades_done {
        super::trades::complete_trade(&mut tx, d).await?;
    }
    for e in &w.events {
        super::webhooks::enqueue(&mut tx, e).await?;
    }
    for chunk in w.nonces_dropped.chunks(400) {
        let marks: Vec<String> =
            (0..chunk.len()).map(|i| format!("(scope = ${} AND nonce = ${})", 2 * i + 1, 2 * i + 2)).collect();
        let sql = format!("DELETE FROM ex_nonces WHERE {}", marks.join(" OR "));
        let mut q = sqlx::query(&sql);
        for (s, n) in chunk {
            q = q.bind(s.clone()).bind(*n);
        }
        q.execute(&mut *tx).await?;
    }
    for chunk in w.nonces_added.chunks(400) {
        let marks: Vec<String> = (0..chunk.len()).map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2)).collect();
        let sql = format!("INSERT INTO ex_nonces (scope, nonce) VALUES {}", marks.join(", "));
        let mut q = sqlx::query(&sql);
        for (s, n) in chunk {
            q = q.bind(s.clone()).bind(*n);
        }
        q.execute(&mut *tx).await.map_err(log_conflict)?;
    }
    for r in &w.log {
        sqlx::query("INSERT INTO ex_log (seq, ts, events) VALUES ($1, $2, $3)")
            .bind(r.seq)
            .bind(r.ts)
            .bind(r.events.clone())
            .execute(&mut *tx)
            .await
            .map_err(log_conflict)?;
    }
    for (master, name) in &w.keys_removed {
        sqlx::query("DELETE FROM ex_api_keys WHERE master = $1 AND name = $2")
            .bind(master.clone())
            .bind(name.clone())
            .execute(&mut *tx)
            .await?;
    }
    for k in &w.keys_added {
        let sql = format!("INSERT INTO ex_api_keys ({KEY_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)");
        sqlx::query(&sql)
            .bind(k.master.clone())
            .bind(k.name.clone())
            .bind(k.key_type)
            .bind(k.public_key.clone())
            .bind(k.account_id)
            .bind(k.expires_at)
            .bind(k.created_at)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::unique(e, "API key name"))?;
    }
    tx.commit().await?;
    Ok(())
}

enum Bind {
    I(i64),
    S(String),
    B(Vec<u8>),
}

/// PostgreSQL: the nonce and log writes of a group as one data-modifying statement.
fn group_statement(w: &ExWrites) -> (String, Vec<Bind>) {
    let mut binds = Vec::new();
    // `(scope, nonce)` tuples as placeholders, their values pushed to `binds`.
    let tuples = |pairs: &[(String, i64)], binds: &mut Vec<Bind>| -> String {
        let mut out = Vec::with_capacity(pairs.len());
        for (s, n) in pairs {
            binds.push(Bind::S(s.clone()));
            binds.push(Bind::I(*n));
            out.push(format!("(${}, ${})", binds.len() - 1, binds.len()));
        }
        out.join(", ")
    };
    let mut parts = Vec::new();
    if !w.nonces_dropped.is_empty() {
        let t = tuples(&w.nonces_dropped, &mut binds);
        parts.push(format!("d AS (DELETE FROM ex_nonces WHERE (scope, nonce) IN ({t}))"));
    }
    if !w.nonces_added.is_empty() {
        let t = tuples(&w.nonces_added, &mut binds);
        parts.push(format!("n AS (INSERT INTO ex_nonces (scope, nonce) VALUES {t})"));
    }
    if !w.log.is_empty() {
        let mut rows = Vec::with_capacity(w.log.len());
        for r in &w.log {
            binds.extend([Bind::I(r.seq), Bind::I(r.ts), Bind::B(r.events.clone())]);
            let n = binds.len();
            rows.push(format!("(${}, ${}, ${n})", n - 2, n - 1));
        }
        parts.push(format!("l AS (INSERT INTO ex_log (seq, ts, events) VALUES {})", rows.join(", ")));
    }
    (format!("WITH {} SELECT 1", parts.join(", ")), binds)
}
