//! Shared request guards. On PostgreSQL these statements run on their own small pool whose sessions commit
//! asynchronously (`synchronous_commit = off`): a guard row is a hint kept for seconds, not money, so it does not
//! wait for the WAL flush; a crash of the database server itself may forget the last few hundred milliseconds of
//! them (the `Cs-Timestamp` window still bounds any replay to 30 s).

use sqlx::Any;

use super::SqlStore;
use crate::{GuardStore, Result};

#[async_trait::async_trait]
impl GuardStore for SqlStore {
    async fn claim_signature(&self, sig: &[u8], expires_at: i64) -> Result<bool> {
        let done =
            sqlx::query("INSERT INTO used_signatures (sig, expires_at) VALUES ($1, $2) ON CONFLICT (sig) DO NOTHING")
                .bind(sig.to_vec())
                .bind(expires_at)
                .execute(&self.guard)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn count_window(&self, key: &str, win: i64, n: i64, expires_at: i64) -> Result<i64> {
        Ok(sqlx::query_scalar::<Any, i64>(
            "INSERT INTO rate_windows (key, win, used, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (key, win) DO UPDATE SET used = rate_windows.used + excluded.used RETURNING used",
        )
        .bind(key.to_string())
        .bind(win)
        .bind(n)
        .bind(expires_at)
        .fetch_one(&self.guard)
        .await?)
    }

    async fn prune_guards(&self, now: i64) -> Result<u64> {
        let a = sqlx::query("DELETE FROM used_signatures WHERE expires_at < $1").bind(now).execute(&self.guard).await?;
        let b = sqlx::query("DELETE FROM rate_windows WHERE expires_at < $1").bind(now).execute(&self.guard).await?;
        Ok(a.rows_affected() + b.rows_affected())
    }
}
