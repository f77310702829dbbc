//! Operator sign-in, shared by the API's `/auth/login` and the console's sign-in form: the same brute-force limit
//! (per email, through the shared limiter) and the same constant-time answer for unknown emails.

use sova_auth::password;
use sova_store::Operator;

use crate::access::Access;
use crate::error::{ApiError, ApiResult};

/// The operator `email` (trimmed, lower-cased) if `password` is theirs; `401` otherwise, `429` past the limit.
pub async fn sign_in(access: &Access, email: &str, pw: &str) -> ApiResult<Operator> {
    let email = email.trim().to_lowercase();
    if email.is_empty() {
        return Err(ApiError::validation("email", "`email` is required"));
    }
    if pw.is_empty() {
        return Err(ApiError::validation("password", "`password` is required"));
    }
    access.limiter.check(&format!("login:{email}")).await?;
    let op = access.store.operator_by_email(&email).await?;
    // argon2 takes ~20 ms: run it off the async workers, and equally for unknown emails.
    let pw = pw.to_string();
    let phc = op.as_ref().map(|o| o.password_hash.clone());
    let valid = tokio::task::spawn_blocking(move || match phc {
        Some(h) => password::verify_password(&pw, &h),
        None => {
            password::dummy_verify(&pw);
            false
        }
    })
    .await
    .map_err(ApiError::internal)?;
    op.filter(|_| valid).ok_or_else(|| ApiError::unauthorized("email or password is wrong"))
}
