//! Idempotency keys: claims, answers, and the answer recorded in a state change's own transaction.

use sqlx::{Any, FromRow, Transaction};

use super::SqlStore;
use crate::{Effects, IdemClaim, IdemClaimOutcome, IdemDone, IdemRecord, IdempotencyStore, Result, StoreError};

#[derive(FromRow)]
struct IdemRow {
    fingerprint: String,
    status: String,
    locked_until: i64,
    response_status: Option<i64>,
    response_headers: Option<String>,
    response_body: Option<String>,
    expires_at: i64,
}

/// Record `done` in `tx`, conditional on still holding the lock.
async fn complete_in(tx: &mut Transaction<'static, Any>, done: &IdemDone) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE idempotency_keys SET status = 'COMPLETED', response_status = $1, response_headers = $2, \
         response_body = $3, locked_until = 0 \
         WHERE scope = $4 AND idem_key = $5 AND lock_token = $6 AND status = 'IN_FLIGHT'",
    )
    .bind(done.record.status)
    .bind(done.record.headers.clone())
    .bind(done.record.body.clone())
    .bind(done.scope.clone())
    .bind(done.key.clone())
    .bind(done.token.clone())
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Record `idem` (if any) in `tx`; `InvalidState` if its lock was lost, so the caller's transaction rolls back.
pub(super) async fn complete_or_abort(tx: &mut Transaction<'static, Any>, idem: Option<&IdemDone>) -> Result<()> {
    if let Some(done) = idem
        && !complete_in(tx, done).await?
    {
        return Err(StoreError::InvalidState(
            "the idempotency key's lock was lost (the request took too long); retry with the same key".into(),
        ));
    }
    Ok(())
}

/// Commit `fx` in `tx`, the mutation's own transaction; `InvalidState` if the idempotency key's lock was lost, so the
/// caller's transaction rolls back.
pub(super) async fn apply_effects(tx: &mut Transaction<'static, Any>, fx: &Effects) -> Result<()> {
    complete_or_abort(tx, fx.idempotency.as_ref()).await?;
    for e in &fx.events {
        super::webhooks::enqueue(tx, e).await?;
    }
    Ok(())
}

impl SqlStore {
    /// Drop idempotency keys that expired before `now` (part of [`crate::SiwxStore::prune_siwx`]).
    pub(super) async fn prune_idempotency_keys(&self, now: i64) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM idempotency_keys WHERE expires_at < $1")
            .bind(now)
            .execute(&self.write)
            .await?
            .rows_affected())
    }

    async fn try_claim(&self, c: &IdemClaim) -> std::result::Result<IdemClaimOutcome, sqlx::Error> {
        let mut tx = self.write.begin().await?;
        let existing = sqlx::query_as::<Any, IdemRow>(&format!(
            "SELECT fingerprint, status, locked_until, response_status, response_headers, response_body, expires_at \
             FROM idempotency_keys WHERE scope = $1 AND idem_key = $2{}",
            self.lock_suffix()
        ))
        .bind(c.scope.clone())
        .bind(c.key.clone())
        .fetch_optional(&mut *tx)
        .await?;
        let outcome = match existing {
            None => {
                sqlx::query(
                    "INSERT INTO idempotency_keys (scope, idem_key, fingerprint, status, lock_token, locked_until, \
                     created_at, expires_at) VALUES ($1, $2, $3, 'IN_FLIGHT', $4, $5, $6, $7)",
                )
                .bind(c.scope.clone())
                .bind(c.key.clone())
                .bind(c.fingerprint.clone())
                .bind(c.token.clone())
                .bind(c.locked_until)
                .bind(c.now)
                .bind(c.expires_at)
                .execute(&mut *tx)
                .await?;
                IdemClaimOutcome::Claimed
            }
            Some(row) if row.expires_at <= c.now || (row.status == "IN_FLIGHT" && row.locked_until <= c.now) => {
                // Forgotten (past retention), or a lock whose holder died: start over. A lapsed lock is only taken
                // over by the same request; another request with the key is still a mismatch.
                if row.expires_at > c.now && row.fingerprint != c.fingerprint {
                    IdemClaimOutcome::Mismatch
                } else {
                    sqlx::query(
                        "UPDATE idempotency_keys SET fingerprint = $1, status = 'IN_FLIGHT', lock_token = $2, \
                         locked_until = $3, response_status = NULL, response_headers = NULL, response_body = NULL, \
                         created_at = $4, expires_at = $5 WHERE scope = $6 AND idem_key = $7",
                    )
                    .bind(c.fingerprint.clone())
                    .bind(c.token.clone())
                    .bind(c.locked_until)
                    .bind(c.now)
                    .bind(c.expires_at)
                    .bind(c.scope.clone())
                    .bind(c.key.clone())
                    .execute(&mut *tx)
                    .await?;
                    IdemClaimOutcome::Claimed
                }
            }
            Some(row) if row.fingerprint != c.fingerprint => IdemClaimOutcome::Mismatch,
            Some(row) if row.status == "COMPLETED" => IdemClaimOutcome::Replay(IdemRecord {
                status: row.response_status.unwrap_or(500),
                headers: row.response_headers.unwrap_or_default(),
                body: row.response_body.unwrap_or_default(),
            }),
            Some(_) => IdemClaimOutcome::InFlight,
        };
        tx.commit().await?;
        Ok(outcome)
    }
}

fn is_unique(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

#[async_trait::async_trait]
impl IdempotencyStore for SqlStore {
    async fn claim_idempotency_key(&self, c: &IdemClaim) -> Result<IdemClaimOutcome> {
        // Two first uses racing on PostgreSQL: the loser's insert fails on the primary key; it then sees the
        // winner's row (in flight or completed) on the next attempt.
        let mut attempt = 0;
        loop {
            match self.try_claim(c).await {
                Ok(o) => return Ok(o),
                Err(e) if is_unique(&e) && attempt < 3 => attempt += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn complete_idempotency_key(&self, done: &IdemDone) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let ok = complete_in(&mut tx, done).await?;
        tx.commit().await?;
        Ok(ok)
    }

    async fn release_idempotency_key(&self, scope: &str, key: &str, token: &str) -> Result<()> {
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE scope = $1 AND idem_key = $2 AND lock_token = $3 \
             AND status = 'IN_FLIGHT'",
        )
        .bind(scope.to_string())
        .bind(key.to_string())
        .bind(token.to_string())
        .execute(&self.write)
        .await?;
        Ok(())
    }
}
