//! Persistence of the exchange surface (seed 002): accounts by master address, the API-key registry, the nonce
//! sets and the matching engine's event log.
//!
//! The engine itself lives in memory (one sequencer); what it needs to survive a restart is its event log, written
//! together with the nonces consumed and the API keys changed by the same group of commands in ONE transaction
//! ([`ExchangeStore::ex_commit`]). The nonce rows are read and locked inside that transaction, so the nonce rule
//! holds across replicas sharing the database.

use std::collections::HashMap;

use sqlx::{Any, FromRow};

use crate::sql::SqlStore;
use crate::{Backend, Result, StoreError};

/// An exchange account.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ExAccount {
    /// Numeric id (`accountID` / `aid`).
    pub account_id: i64,
    /// The master wallet's address, lower-case `0x` hex.
    pub address: String,
    /// `None` for a master account, else the master account's id.
    pub master_id: Option<i64>,
    /// A sub-account's label.
    pub label: Option<String>,
    /// Unix ms.
    pub created_at: i64,
}

/// A registered API key.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ExApiKey {
    /// The master's address, lower-case `0x` hex.
    pub master: String,
    /// The key's name (`X-API-Key`).
    pub name: String,
    /// 1 = EVM.
    pub key_type: i64,
    /// The key's address, lower-case `0x` hex.
    pub public_key: String,
    /// The account id given when it was added.
    pub account_id: i64,
    /// Unix ms, 0 = never.
    pub expires_at: i64,
    /// Unix ms.
    pub created_at: i64,
}

/// One row of the event log.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ExLogRow {
    /// Position in the log, from 1, without gaps.
    pub seq: i64,
    /// The sequencer's timestamp of the command (Unix ms).
    pub ts: i64,
    /// The command's events, as JSON.
    pub events: String,
}

/// What one group of commands writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExWrites {
    /// Event-log rows to append.
    pub log: Vec<ExLogRow>,
    /// API keys to insert (after `keys_removed` are deleted).
    pub keys_added: Vec<ExApiKey>,
    /// API keys to delete: (master, name).
    pub keys_removed: Vec<(String, String)>,
}

/// Nonce sets by scope, as stored (comma-separated ascending); a scope without a row is absent.
pub type NonceRows = HashMap<String, String>;

/// The group of commands, run inside the transaction once the nonce rows of `scopes` are read and locked. It
/// changes the rows in place (every row present afterwards is written) and returns the other writes.
pub type ExApply<'a> = &'a mut (dyn FnMut(&mut NonceRows) -> ExWrites + Send);

/// Exchange persistence.
#[async_trait::async_trait]
pub trait ExchangeStore: Send + Sync {
    /// The master account of `address` (lower-case), created with the next free id if absent; `true` if created.
    async fn ex_master_account(&self, address: &str, now: i64) -> Result<(ExAccount, bool)>;
    /// A new sub-account of the master account `master_id`.
    async fn ex_create_sub_account(&self, master_id: i64, label: Option<&str>, now: i64) -> Result<ExAccount>;
    /// Every account (for the sequencer at start).
    async fn ex_accounts(&self) -> Result<Vec<ExAccount>>;
    /// Every registered API key (for the sequencer at start).
    async fn ex_api_keys(&self) -> Result<Vec<ExApiKey>>;
    /// Up to `limit` log rows after `after_seq`, in order.
    async fn ex_log_after(&self, after_seq: i64, limit: i64) -> Result<Vec<ExLogRow>>;
    /// One atomic group: lock the nonce rows of `scopes`, run `apply`, write the rows, the log and the keys.
    async fn ex_commit(&self, scopes: &[String], apply: ExApply<'_>) -> Result<ExWrites>;
}

const ACCOUNT_COLS: &str = "account_id, address, master_id, label, created_at";
const KEY_COLS: &str = "master, name, key_type, public_key, account_id, expires_at, created_at";
/// First account id handed out (999 is the vendor's treasury, 0 the fee account).
const FIRST_ACCOUNT_ID: i64 = 1001;

impl SqlStore {
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

    async fn ex_commit(&self, scopes: &[String], apply: ExApply<'_>) -> Result<ExWrites> {
        let mut tx = self.write.begin().await?;
        let mut rows = NonceRows::new();
        let lock = match self.backend {
            Backend::Postgres => " ORDER BY scope FOR UPDATE",
            Backend::Sqlite => "",
        };
        for chunk in scopes.chunks(200) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!("SELECT scope, nonces FROM ex_nonces WHERE scope IN ({}){lock}", marks.join(", "));
            let mut q = sqlx::query_as::<Any, (String, String)>(&sql);
            for s in chunk {
                q = q.bind(s.clone());
            }
            rows.extend(q.fetch_all(&mut *tx).await?);
        }
        let writes = apply(&mut rows);
        let mut upserts: Vec<(&String, &String)> = rows.iter().collect();
        upserts.sort();
        for chunk in upserts.chunks(200) {
            let marks: Vec<String> = (0..chunk.len()).map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2)).collect();
            let sql = format!(
                "INSERT INTO ex_nonces (scope, nonces) VALUES {} ON CONFLICT (scope) DO UPDATE SET nonces = excluded.nonces",
                marks.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for (s, n) in chunk {
                q = q.bind(s.to_string()).bind(n.to_string());
            }
            q.execute(&mut *tx).await?;
        }
        for chunk in writes.log.chunks(300) {
            let marks: Vec<String> =
                (0..chunk.len()).map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3)).collect();
            let sql = format!("INSERT INTO ex_log (seq, ts, events) VALUES {}", marks.join(", "));
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q.bind(r.seq).bind(r.ts).bind(r.events.clone());
            }
            q.execute(&mut *tx).await.map_err(|e| StoreError::unique(e, "event log position"))?;
        }
        for (master, name) in &writes.keys_removed {
            sqlx::query("DELETE FROM ex_api_keys WHERE master = $1 AND name = $2")
                .bind(master.clone())
                .bind(name.clone())
                .execute(&mut *tx)
                .await?;
        }
        for k in &writes.keys_added {
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
        Ok(writes)
    }
}
