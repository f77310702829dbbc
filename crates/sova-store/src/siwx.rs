//! Persistence of SIWX onboarding (seed 003): tenants' RFC 9421 signing keys, seen signature nonces, SIWX customers
//! with their challenges, and the account → Connect user link.
//!
//! Atomicity rules:
//! - A state change that answers an idempotent request records the answer in its own transaction
//!   ([`IdemDone`] passed to the state-changing call, see [`crate::IdempotencyStore`]).
//! - A challenge is consumed or replaced with a conditional update on its nonce, so two concurrent signatures of one
//!   challenge verify the customer once.
//! - Signature nonces are recorded with an insert that succeeds once per `(tenant, keyid, nonce)` while unexpired.

use sqlx::{Any, FromRow, Transaction};

use crate::sql::SqlStore;
use crate::{IdemClaim, IdemClaimOutcome, IdemDone, IdemRecord, IdempotencyStore, Result, StoreError, User};

/// A tenant's RFC 9421 signing key.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct SigningKeyRow {
    /// The tenant (Connect customer id).
    pub tenant_id: String,
    /// The RFC 9421 `keyid`, unique per tenant (a revoked keyid is not reused).
    pub keyid: String,
    /// Algorithm name (`ed25519`, `ecdsa-p256-sha256`, `hmac-sha256`, `rsa-pss-sha512`).
    pub alg: String,
    /// The public key as registered; for `hmac-sha256` the secret encrypted by the server (never in the clear).
    pub key_material: String,
    /// Registration time.
    pub created_at: i64,
    /// Revocation time.
    pub revoked_at: Option<i64>,
}

/// A SIWX customer with its current challenge.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct SiwxCustomerRow {
    /// UUID.
    pub id: String,
    /// The tenant (Connect customer id).
    pub tenant_id: String,
    /// The tenant's id for the customer (unique per tenant).
    pub external_id: String,
    /// Canonical CAIP-10 account.
    pub account: String,
    /// `PENDING` or `VERIFIED`.
    pub status: String,
    /// The exact challenge text issued (`None` once consumed).
    pub challenge: Option<String>,
    /// The challenge's nonce (unique; `None` once consumed).
    pub challenge_nonce: Option<String>,
    /// Issue time of the challenge.
    pub challenge_issued_at: Option<i64>,
    /// Expiry of the challenge.
    pub challenge_expires_at: Option<i64>,
    /// The linked Connect user (once verified).
    pub user_id: Option<String>,
    /// Verification time.
    pub verified_at: Option<i64>,
    /// Creation time.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

/// A challenge to store in place of the current one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChallenge {
    /// The exact text.
    pub text: String,
    /// Its nonce.
    pub nonce: String,
    /// Issue time (ms).
    pub issued_at: i64,
    /// Expiry (ms).
    pub expires_at: i64,
}

/// SIWX and signing-key persistence. Implementations must make each method atomic.
#[async_trait::async_trait]
pub trait SiwxStore: Send + Sync {
    // signing keys
    /// Insert; `Conflict("keyid")` if the tenant already has (or had) this keyid.
    async fn create_signing_key(&self, k: &SigningKeyRow) -> Result<()>;
    /// A tenant's keys (revoked ones too), oldest first.
    async fn signing_keys(&self, tenant_id: &str) -> Result<Vec<SigningKeyRow>>;
    /// One key of a tenant.
    async fn signing_key(&self, tenant_id: &str, keyid: &str) -> Result<Option<SigningKeyRow>>;
    /// Revoke now (idempotent); `NotFound` if the tenant has no such key.
    async fn revoke_signing_key(&self, tenant_id: &str, keyid: &str, now: i64) -> Result<SigningKeyRow>;
    /// Record a signature nonce; false if it was already recorded and has not expired.
    async fn use_signature_nonce(
        &self,
        tenant_id: &str,
        keyid: &str,
        nonce: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool>;

    // housekeeping
    /// Drop idempotency keys and signature nonces that expired before `now`.
    async fn prune_siwx(&self, now: i64) -> Result<u64>;

    // customers
    /// Insert a customer with its first challenge (and record `idem`), atomically; `Conflict("externalId")` if the
    /// tenant already has this external id.
    async fn create_siwx_customer(&self, c: &SiwxCustomerRow, idem: Option<&IdemDone>) -> Result<()>;
    /// A tenant's customer.
    async fn siwx_customer(&self, tenant_id: &str, id: &str) -> Result<Option<SiwxCustomerRow>>;
    /// Replace the challenge whose nonce is `old_nonce` of a `PENDING` customer (and record `idem`), atomically;
    /// false (nothing written) if that challenge is no longer the current one.
    async fn replace_siwx_challenge(
        &self,
        tenant_id: &str,
        id: &str,
        old_nonce: &str,
        new: &NewChallenge,
        now: i64,
        idem: Option<&IdemDone>,
    ) -> Result<bool>;
    /// Consume the challenge whose nonce is `nonce`, mark the customer `VERIFIED`, link it to the tenant's Connect
    /// user for its account (inserting `new_user` when the account has none yet), and record `idem`: one
    /// transaction. `InvalidState` (nothing written) if the challenge is no longer current.
    async fn verify_siwx_customer(
        &self,
        tenant_id: &str,
        id: &str,
        nonce: &str,
        new_user: &User,
        now: i64,
        idem: Option<&IdemDone>,
    ) -> Result<SiwxCustomerRow>;
    /// The Connect user linked to a tenant's verified account.
    async fn siwx_account_user(&self, tenant_id: &str, account: &str) -> Result<Option<String>>;
}

const KEY_COLS: &str = "tenant_id, keyid, alg, key_material, created_at, revoked_at";
const SIWX_COLS: &str = "id, tenant_id, external_id, account, status, challenge, challenge_nonce, \
                         challenge_issued_at, challenge_expires_at, user_id, verified_at, created_at, updated_at";

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

async fn complete_or_abort(tx: &mut Transaction<'static, Any>, idem: Option<&IdemDone>) -> Result<()> {
    if let Some(done) = idem
        && !complete_in(tx, done).await?
    {
        return Err(StoreError::InvalidState(
            "the idempotency key's lock was lost (the request took too long); retry with the same key".into(),
        ));
    }
    Ok(())
}

impl SqlStore {
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
impl SiwxStore for SqlStore {
    async fn create_signing_key(&self, k: &SigningKeyRow) -> Result<()> {
        sqlx::query(&format!("INSERT INTO httpsig_keys ({KEY_COLS}) VALUES ($1, $2, $3, $4, $5, $6)"))
            .bind(k.tenant_id.clone())
            .bind(k.keyid.clone())
            .bind(k.alg.clone())
            .bind(k.key_material.clone())
            .bind(k.created_at)
            .bind(k.revoked_at)
            .execute(&self.write)
            .await
            .map_err(|e| StoreError::unique(e, "keyid"))?;
        Ok(())
    }

    async fn signing_keys(&self, tenant_id: &str) -> Result<Vec<SigningKeyRow>> {
        Ok(sqlx::query_as::<Any, SigningKeyRow>(&format!(
            "SELECT {KEY_COLS} FROM httpsig_keys WHERE tenant_id = $1 ORDER BY created_at, keyid"
        ))
        .bind(tenant_id.to_string())
        .fetch_all(&self.read)
        .await?)
    }

    async fn signing_key(&self, tenant_id: &str, keyid: &str) -> Result<Option<SigningKeyRow>> {
        Ok(sqlx::query_as::<Any, SigningKeyRow>(&format!(
            "SELECT {KEY_COLS} FROM httpsig_keys WHERE tenant_id = $1 AND keyid = $2"
        ))
        .bind(tenant_id.to_string())
        .bind(keyid.to_string())
        .fetch_optional(&self.read)
        .await?)
    }

    async fn revoke_signing_key(&self, tenant_id: &str, keyid: &str, now: i64) -> Result<SigningKeyRow> {
        sqlx::query(
            "UPDATE httpsig_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE tenant_id = $2 AND keyid = $3",
        )
        .bind(now)
        .bind(tenant_id.to_string())
        .bind(keyid.to_string())
        .execute(&self.write)
        .await?;
        sqlx::query_as::<Any, SigningKeyRow>(&format!(
            "SELECT {KEY_COLS} FROM httpsig_keys WHERE tenant_id = $1 AND keyid = $2"
        ))
        .bind(tenant_id.to_string())
        .bind(keyid.to_string())
        .fetch_optional(&self.write)
        .await?
        .ok_or(StoreError::NotFound)
    }

    async fn use_signature_nonce(
        &self,
        tenant_id: &str,
        keyid: &str,
        nonce: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool> {
        let r = sqlx::query(
            "INSERT INTO httpsig_nonces (tenant_id, keyid, nonce, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, keyid, nonce) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE httpsig_nonces.expires_at < $5",
        )
        .bind(tenant_id.to_string())
        .bind(keyid.to_string())
        .bind(nonce.to_string())
        .bind(expires_at)
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn prune_siwx(&self, now: i64) -> Result<u64> {
        let a = sqlx::query("DELETE FROM idempotency_keys WHERE expires_at < $1")
            .bind(now)
            .execute(&self.write)
            .await?
            .rows_affected();
        let b = sqlx::query("DELETE FROM httpsig_nonces WHERE expires_at < $1")
            .bind(now)
            .execute(&self.write)
            .await?
            .rows_affected();
        Ok(a + b)
    }

    async fn create_siwx_customer(&self, c: &SiwxCustomerRow, idem: Option<&IdemDone>) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO siwx_customers ({SIWX_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(c.id.clone())
        .bind(c.tenant_id.clone())
        .bind(c.external_id.clone())
        .bind(c.account.clone())
        .bind(c.status.clone())
        .bind(c.challenge.clone())
        .bind(c.challenge_nonce.clone())
        .bind(c.challenge_issued_at)
        .bind(c.challenge_expires_at)
        .bind(c.user_id.clone())
        .bind(c.verified_at)
        .bind(c.created_at)
        .bind(c.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::unique(e, "externalId"))?;
        complete_or_abort(&mut tx, idem).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn siwx_customer(&self, tenant_id: &str, id: &str) -> Result<Option<SiwxCustomerRow>> {
        Ok(sqlx::query_as::<Any, SiwxCustomerRow>(&format!(
            "SELECT {SIWX_COLS} FROM siwx_customers WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?)
    }

    async fn replace_siwx_challenge(
        &self,
        tenant_id: &str,
        id: &str,
        old_nonce: &str,
        new: &NewChallenge,
        now: i64,
        idem: Option<&IdemDone>,
    ) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let r = sqlx::query(
            "UPDATE siwx_customers SET challenge = $1, challenge_nonce = $2, challenge_issued_at = $3, \
             challenge_expires_at = $4, updated_at = $5 \
             WHERE tenant_id = $6 AND id = $7 AND status = 'PENDING' AND challenge_nonce = $8",
        )
        .bind(new.text.clone())
        .bind(new.nonce.clone())
        .bind(new.issued_at)
        .bind(new.expires_at)
        .bind(now)
        .bind(tenant_id.to_string())
        .bind(id.to_string())
        .bind(old_nonce.to_string())
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() != 1 {
            return Ok(false);
        }
        complete_or_abort(&mut tx, idem).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn verify_siwx_customer(
        &self,
        tenant_id: &str,
        id: &str,
        nonce: &str,
        new_user: &User,
        now: i64,
        idem: Option<&IdemDone>,
    ) -> Result<SiwxCustomerRow> {
        let mut tx = self.write.begin().await?;
        let r = sqlx::query(
            "UPDATE siwx_customers SET status = 'VERIFIED', challenge = NULL, challenge_nonce = NULL, \
             challenge_issued_at = NULL, challenge_expires_at = NULL, verified_at = $1, updated_at = $1 \
             WHERE tenant_id = $2 AND id = $3 AND status = 'PENDING' AND challenge_nonce = $4",
        )
        .bind(now)
        .bind(tenant_id.to_string())
        .bind(id.to_string())
        .bind(nonce.to_string())
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() != 1 {
            return Err(StoreError::InvalidState(
                "the challenge was already used or replaced; fetch the current one with GET .../challenge".into(),
            ));
        }
        let account: String =
            sqlx::query_scalar::<Any, String>("SELECT account FROM siwx_customers WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id.to_string())
                .bind(id.to_string())
                .fetch_one(&mut *tx)
                .await?;
        // The link is inserted first: of two verifications of one account racing, one inserts it (and its user),
        // the other waits for it and reuses that user.
        let linked = sqlx::query(
            "INSERT INTO siwx_accounts (tenant_id, account, user_id, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, account) DO NOTHING",
        )
        .bind(tenant_id.to_string())
        .bind(account.clone())
        .bind(new_user.user_id.clone())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let user_id = if linked.rows_affected() == 1 {
            sqlx::query(
                "INSERT INTO users (user_id, customer_id, user_type, email, first_name, last_name, phone, \
                 date_of_birth, country, status, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(new_user.user_id.clone())
            .bind(tenant_id.to_string())
            .bind(new_user.user_type.clone())
            .bind(new_user.email.clone())
            .bind(new_user.first_name.clone())
            .bind(new_user.last_name.clone())
            .bind(new_user.phone.clone())
            .bind(new_user.date_of_birth.clone())
            .bind(new_user.country.clone())
            .bind(new_user.status.clone())
            .bind(new_user.created_at)
            .bind(new_user.updated_at)
            .execute(&mut *tx)
            .await?;
            new_user.user_id.clone()
        } else {
            sqlx::query_scalar::<Any, String>("SELECT user_id FROM siwx_accounts WHERE tenant_id = $1 AND account = $2")
                .bind(tenant_id.to_string())
                .bind(account)
                .fetch_one(&mut *tx)
                .await?
        };
        sqlx::query("UPDATE siwx_customers SET user_id = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(user_id)
            .bind(tenant_id.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        complete_or_abort(&mut tx, idem).await?;
        let row = sqlx::query_as::<Any, SiwxCustomerRow>(&format!(
            "SELECT {SIWX_COLS} FROM siwx_customers WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id.to_string())
        .bind(id.to_string())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    async fn siwx_account_user(&self, tenant_id: &str, account: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar::<Any, String>("SELECT user_id FROM siwx_accounts WHERE tenant_id = $1 AND account = $2")
            .bind(tenant_id.to_string())
            .bind(account.to_string())
            .fetch_optional(&self.read)
            .await?)
    }
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
