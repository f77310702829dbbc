//! SIWX onboarding: signing keys, signature nonces, SIWX customers and their challenges, the account link.

use sqlx::Any;

use super::SqlStore;
use super::idempotency::complete_or_abort;
use crate::{IdemDone, NewChallenge, Result, SigningKeyRow, SiwxCustomerRow, SiwxStore, StoreError, User};

const KEY_COLS: &str = "tenant_id, keyid, alg, key_material, created_at, revoked_at";
const SIWX_COLS: &str = "id, tenant_id, external_id, account, status, challenge, challenge_nonce, \
                         challenge_issued_at, challenge_expires_at, user_id, verified_at, created_at, updated_at";

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
        let a = self.prune_idempotency_keys(now).await?;
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
