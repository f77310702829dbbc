//! Customers and their credentials.

use sqlx::{Any, Executor};

use super::{SORTABLE, SqlStore};
use crate::{CredentialRow, Customer, CustomerPatch, CustomerStore, ListQuery, Page, Result, StoreError};

const CUSTOMER_COLS: &str = "customer_id, email, entity_name, status, created_by, created_at, updated_at";
const CUSTOMER_FILTER: &[&str] = &["customer_id", "email", "entity_name", "status"];
const CUSTOMER_SORT: &[&str] = &["created_at", "updated_at", "customer_id", "entity_name"];
const CREDENTIAL_COLS: &str = "id, customer_id, name, prefix, secret_hash, created_at, last_used_at, expires_at, \
                               revoked_at, access_key, hmac_salt, passphrase_hash";

#[async_trait::async_trait]
impl CustomerStore for SqlStore {
    async fn create_customer(&self, c: &Customer) -> Result<()> {
        sqlx::query(&format!("INSERT INTO customers ({CUSTOMER_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"))
            .bind(c.customer_id.clone())
            .bind(c.email.clone())
            .bind(c.entity_name.clone())
            .bind(c.status.clone())
            .bind(c.created_by.clone())
            .bind(c.created_at)
            .bind(c.updated_at)
            .execute(&self.write)
            .await
            .map_err(|e| StoreError::unique(e, "customer_id"))?;
        Ok(())
    }

    async fn customer(&self, customer_id: &str) -> Result<Option<Customer>> {
        Ok(sqlx::query_as::<Any, Customer>(&format!("SELECT {CUSTOMER_COLS} FROM customers WHERE customer_id = $1"))
            .bind(customer_id.to_string())
            .fetch_optional(&self.read)
            .await?)
    }

    async fn list_customers(&self, q: &ListQuery) -> Result<Page<Customer>> {
        self.list(CUSTOMER_COLS, "customers", "1 = 1", &[], CUSTOMER_FILTER, CUSTOMER_SORT, q).await
    }

    async fn update_customer(&self, customer_id: &str, p: &CustomerPatch, now: i64) -> Result<Customer> {
        let r = sqlx::query(
            "UPDATE customers SET email = COALESCE($1, email), entity_name = COALESCE($2, entity_name), \
             status = COALESCE($3, status), updated_at = $4 WHERE customer_id = $5",
        )
        .bind(p.email.clone())
        .bind(p.entity_name.clone())
        .bind(p.status.clone())
        .bind(now)
        .bind(customer_id.to_string())
        .execute(&self.write)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query_as::<Any, Customer>(&format!("SELECT {CUSTOMER_COLS} FROM customers WHERE customer_id = $1"))
            .bind(customer_id.to_string())
            .fetch_optional(&self.write)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn create_credential(&self, c: &CredentialRow) -> Result<()> {
        insert_credential(&self.write, c).await
    }

    async fn list_credentials(&self, customer_id: &str, q: &ListQuery) -> Result<Page<CredentialRow>> {
        self.list(CREDENTIAL_COLS, "credentials", "customer_id = $1", &[customer_id], &["name", "prefix"], SORTABLE, q)
            .await
    }

    async fn credential(&self, customer_id: &str, id: &str) -> Result<Option<CredentialRow>> {
        Ok(sqlx::query_as::<Any, CredentialRow>(&format!(
            "SELECT {CREDENTIAL_COLS} FROM credentials WHERE customer_id = $1 AND id = $2"
        ))
        .bind(customer_id.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?)
    }

    async fn credential_by_hash(&self, hash: &str) -> Result<Option<(CredentialRow, String)>> {
        let row = sqlx::query_as::<Any, CredentialRow>(&format!(
            "SELECT {CREDENTIAL_COLS} FROM credentials WHERE secret_hash = $1"
        ))
        .bind(hash.to_string())
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let status: Option<String> =
            sqlx::query_scalar::<Any, String>("SELECT status FROM customers WHERE customer_id = $1")
                .bind(row.customer_id.clone())
                .fetch_optional(&self.read)
                .await?;
        Ok(status.map(|s| (row, s)))
    }

    async fn credential_by_access_key(&self, access_key: &str) -> Result<Option<(CredentialRow, String)>> {
        let row = sqlx::query_as::<Any, CredentialRow>(&format!(
            "SELECT {CREDENTIAL_COLS} FROM credentials WHERE access_key = $1"
        ))
        .bind(access_key.to_string())
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let status: Option<String> =
            sqlx::query_scalar::<Any, String>("SELECT status FROM customers WHERE customer_id = $1")
                .bind(row.customer_id.clone())
                .fetch_optional(&self.read)
                .await?;
        Ok(status.map(|s| (row, s)))
    }

    async fn revoke_credential(&self, customer_id: &str, id: &str, now: i64) -> Result<CredentialRow> {
        sqlx::query("UPDATE credentials SET revoked_at = COALESCE(revoked_at, $1) WHERE customer_id = $2 AND id = $3")
            .bind(now)
            .bind(customer_id.to_string())
            .bind(id.to_string())
            .execute(&self.write)
            .await?;
        sqlx::query_as::<Any, CredentialRow>(&format!(
            "SELECT {CREDENTIAL_COLS} FROM credentials WHERE customer_id = $1 AND id = $2"
        ))
        .bind(customer_id.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.write)
        .await?
        .ok_or(StoreError::NotFound)
    }

    async fn rotate_credential(
        &self,
        customer_id: &str,
        old_id: &str,
        new: &CredentialRow,
        old_expires_at: Option<i64>,
        now: i64,
    ) -> Result<CredentialRow> {
        let mut tx = self.write.begin().await?;
        let old = sqlx::query_as::<Any, CredentialRow>(&format!(
            "SELECT {CREDENTIAL_COLS} FROM credentials WHERE customer_id = $1 AND id = $2{}",
            self.lock_suffix()
        ))
        .bind(customer_id.to_string())
        .bind(old_id.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        if old.status(now) != "ACTIVE" {
            return Err(StoreError::InvalidState(format!(
                "credential is {}; only an ACTIVE one can be rotated",
                old.status(now)
            )));
        }
        match old_expires_at {
            Some(at) => {
                sqlx::query(
                    "UPDATE credentials SET expires_at = $1 WHERE id = $2 AND (expires_at IS NULL OR expires_at > $1)",
                )
                .bind(at)
                .bind(old_id.to_string())
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query("UPDATE credentials SET revoked_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(old_id.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        insert_credential(&mut *tx, new).await?;
        let old =
            sqlx::query_as::<Any, CredentialRow>(&format!("SELECT {CREDENTIAL_COLS} FROM credentials WHERE id = $1"))
                .bind(old_id.to_string())
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(old)
    }

    async fn touch_credential(&self, id: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE credentials SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id.to_string())
            .execute(&self.write)
            .await?;
        Ok(())
    }
}

async fn insert_credential<'e, E>(ex: E, c: &CredentialRow) -> Result<()>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(&format!(
        "INSERT INTO credentials ({CREDENTIAL_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(c.id.clone())
    .bind(c.customer_id.clone())
    .bind(c.name.clone())
    .bind(c.prefix.clone())
    .bind(c.secret_hash.clone())
    .bind(c.created_at)
    .bind(c.last_used_at)
    .bind(c.expires_at)
    .bind(c.revoked_at)
    .bind(c.access_key.clone())
    .bind(c.hmac_salt.clone())
    .bind(c.passphrase_hash.clone())
    .execute(ex)
    .await
    .map_err(|e| StoreError::unique(e, "credential"))?;
    Ok(())
}
