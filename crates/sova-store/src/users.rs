//! A customer's users and their bearer tokens.

use crate::{Effects, ListQuery, Page, Result, User, UserPatch, UserTokenRow};

/// User and user-token persistence.
#[async_trait::async_trait]
pub trait UserStore: Send + Sync {
    // users
    /// Insert.
    async fn create_user(&self, u: &User) -> Result<()>;
    /// Insert, committing `fx` (e.g. the request's idempotent answer) in the same transaction: nothing is written
    /// unless both are (`InvalidState` if the idempotency key's lock was lost).
    async fn create_user_with(&self, u: &User, fx: &Effects) -> Result<()>;
    /// A customer's user.
    async fn user(&self, customer_id: &str, user_id: &str) -> Result<Option<User>>;
    /// A customer's users.
    async fn list_users(&self, customer_id: &str, q: &ListQuery) -> Result<Page<User>>;
    /// Apply a patch.
    async fn update_user(&self, customer_id: &str, user_id: &str, p: &UserPatch, now: i64) -> Result<User>;

    // user tokens
    /// Insert.
    async fn create_user_token(&self, t: &UserTokenRow) -> Result<()>;
    /// By keyed hash, with the user's and customer's status.
    async fn user_token_by_hash(&self, hash: &str) -> Result<Option<UserTokenRow>>;
    /// A user's tokens.
    async fn list_user_tokens(&self, customer_id: &str, user_id: &str) -> Result<Vec<UserTokenRow>>;
    /// Revoke (idempotent).
    async fn revoke_user_token(&self, customer_id: &str, user_id: &str, id: &str, now: i64) -> Result<UserTokenRow>;
}
