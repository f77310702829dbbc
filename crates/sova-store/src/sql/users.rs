//! Users and their tokens.

use sqlx::{Any, Executor};

use super::SqlStore;
use super::idempotency::apply_effects;
use crate::{Effects, ListQuery, Page, Result, StoreError, User, UserPatch, UserStore, UserTokenRow};

const USER_COLS: &str = "user_id, customer_id, user_type, email, first_name, last_name, phone, date_of_birth, \
                         country, status, created_at, updated_at, account_role, account_purpose, \
                         phone_country_code, phone_number, individual, deleted_at";
const USER_FILTER: &[&str] = &[
    "user_type",
    "email",
    "first_name",
    "last_name",
    "phone",
    "country",
    "status",
    "account_role",
    "account_purpose",
    "phone_country_code",
];
const USER_SORT: &[&str] = &["created_at", "updated_at", "email", "last_name"];
const TOKEN_COLS: &str = "id, user_id, customer_id, token_hash, created_at, expires_at, revoked_at";

#[async_trait::async_trait]
impl UserStore for SqlStore {
    async fn create_user(&self, u: &User) -> Result<()> {
        insert_user(&self.write, u).await
    }

    async fn create_user_with(&self, u: &User, fx: &Effects) -> Result<()> {
        let mut tx = self.write.begin().await?;
        insert_user(&mut *tx, u).await?;
        apply_effects(&mut tx, fx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn user(&self, customer_id: &str, user_id: &str) -> Result<Option<User>> {
        Ok(sqlx::query_as::<Any, User>(&format!(
            "SELECT {USER_COLS} FROM users WHERE customer_id = $1 AND user_id = $2"
        ))
        .bind(customer_id.to_string())
        .bind(user_id.to_string())
        .fetch_optional(&self.read)
        .await?)
    }

    async fn list_users(&self, customer_id: &str, q: &ListQuery) -> Result<Page<User>> {
        // Soft-deleted users are listed only when asked for by status.
        let scope = if q.wheres.iter().any(|w| w.field == "status") {
            "customer_id = $1"
        } else {
            "customer_id = $1 AND status <> 'DELETED'"
        };
        self.list(USER_COLS, "users", scope, &[customer_id], USER_FILTER, USER_SORT, q).await
    }

    async fn update_user(&self, customer_id: &str, user_id: &str, p: &UserPatch, now: i64) -> Result<User> {
        let phone = p.phone.as_ref();
        let r = sqlx::query(
            "UPDATE users SET email = COALESCE($1, email), first_name = COALESCE($2, first_name), \
             last_name = COALESCE($3, last_name), \
             phone = CASE WHEN $4 = 1 THEN $5 ELSE phone END, \
             phone_country_code = CASE WHEN $4 = 1 THEN $6 ELSE phone_country_code END, \
             phone_number = CASE WHEN $4 = 1 THEN $7 ELSE phone_number END, \
             date_of_birth = COALESCE($8, date_of_birth), country = COALESCE($9, country), \
             status = COALESCE($10, status), \
             deleted_at = CASE WHEN $10 = 'DELETED' THEN COALESCE(deleted_at, $11) ELSE deleted_at END, \
             updated_at = $11 WHERE customer_id = $12 AND user_id = $13 AND status <> 'DELETED'",
        )
        .bind(p.email.clone())
        .bind(p.first_name.clone())
        .bind(p.last_name.clone())
        .bind(i32::from(phone.is_some()))
        .bind(phone.map(|x| x.e164.clone()))
        .bind(phone.and_then(|x| x.country_code.clone()))
        .bind(phone.and_then(|x| x.number.clone()))
        .bind(p.date_of_birth.clone())
        .bind(p.country.clone())
        .bind(p.status.clone())
        .bind(now)
        .bind(customer_id.to_string())
        .bind(user_id.to_string())
        .execute(&self.write)
        .await
        .map_err(user_unique)?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query_as::<Any, User>(&format!("SELECT {USER_COLS} FROM users WHERE user_id = $1"))
            .bind(user_id.to_string())
            .fetch_one(&self.write)
            .await
            .map_err(StoreError::from)
    }

    async fn create_user_token(&self, t: &UserTokenRow) -> Result<()> {
        sqlx::query(&format!("INSERT INTO user_tokens ({TOKEN_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"))
            .bind(t.id.clone())
            .bind(t.user_id.clone())
            .bind(t.customer_id.clone())
            .bind(t.token_hash.clone())
            .bind(t.created_at)
            .bind(t.expires_at)
            .bind(t.revoked_at)
            .execute(&self.write)
            .await
            .map_err(|e| StoreError::unique(e, "token"))?;
        Ok(())
    }

    async fn user_token_by_hash(&self, hash: &str) -> Result<Option<UserTokenRow>> {
        Ok(sqlx::query_as::<Any, UserTokenRow>(&format!("SELECT {TOKEN_COLS} FROM user_tokens WHERE token_hash = $1"))
            .bind(hash.to_string())
            .fetch_optional(&self.read)
            .await?)
    }

    async fn list_user_tokens(&self, customer_id: &str, user_id: &str) -> Result<Vec<UserTokenRow>> {
        Ok(sqlx::query_as::<Any, UserTokenRow>(&format!(
            "SELECT {TOKEN_COLS} FROM user_tokens WHERE customer_id = $1 AND user_id = $2 ORDER BY seq DESC"
        ))
        .bind(customer_id.to_string())
        .bind(user_id.to_string())
        .fetch_all(&self.read)
        .await?)
    }

    async fn revoke_user_token(&self, customer_id: &str, user_id: &str, id: &str, now: i64) -> Result<UserTokenRow> {
        sqlx::query(
            "UPDATE user_tokens SET revoked_at = COALESCE(revoked_at, $1) \
             WHERE customer_id = $2 AND user_id = $3 AND id = $4",
        )
        .bind(now)
        .bind(customer_id.to_string())
        .bind(user_id.to_string())
        .bind(id.to_string())
        .execute(&self.write)
        .await?;
        sqlx::query_as::<Any, UserTokenRow>(&format!(
            "SELECT {TOKEN_COLS} FROM user_tokens WHERE customer_id = $1 AND user_id = $2 AND id = $3"
        ))
        .bind(customer_id.to_string())
        .bind(user_id.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.write)
        .await?
        .ok_or(StoreError::NotFound)
    }
}

async fn insert_user<'e, E>(ex: E, u: &User) -> Result<()>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(&format!(
        "INSERT INTO users ({USER_COLS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
    ))
    .bind(u.user_id.clone())
    .bind(u.customer_id.clone())
    .bind(u.user_type.clone())
    .bind(u.email.clone())
    .bind(u.first_name.clone())
    .bind(u.last_name.clone())
    .bind(u.phone.clone())
    .bind(u.date_of_birth.clone())
    .bind(u.country.clone())
    .bind(u.status.clone())
    .bind(u.created_at)
    .bind(u.updated_at)
    .bind(u.account_role.clone())
    .bind(u.account_purpose.clone())
    .bind(u.phone_country_code.clone())
    .bind(u.phone_number.clone())
    .bind(u.individual.clone())
    .bind(u.deleted_at)
    .execute(ex)
    .await
    .map_err(user_unique)?;
    Ok(())
}

/// A unique violation on users names what is taken: the email or the phone (per customer), else the id. PostgreSQL
/// names the index; SQLite names an expression index, or the columns of a plain one.
fn user_unique(e: sqlx::Error) -> StoreError {
    let which = match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            let text = format!("{} {}", d.constraint().unwrap_or_default(), d.message());
            if text.contains("users_email_unique") {
                "email"
            } else if text.contains("users_phone_unique") || text.contains("users.phone") {
                "phone"
            } else {
                "user_id"
            }
        }
        _ => return StoreError::Db(e),
    };
    StoreError::Conflict(which)
}
