//! A tenant's RFC 9421 signing keys for the SIWX API (`/sovx/v1/customers/{customer_id}/signing-keys`, account
//! session): register, list, revoke.
//!
//! Public keys are stored as registered. An `hmac-sha256` secret must stay usable for verification, so it cannot be
//! hashed; it is stored encrypted (XChaCha20-Poly1305) under a key derived from the server key (see
//! [`seal_secret`]): the database alone
//! reveals no secret, the server key plus the database reveal them (as with the `Cs-*` HMAC keys). It is never
//! returned after creation, and never logged.

use axum::extract::{Path, State};
use axum::response::Response;
use sova_auth::httpsig::{Algorithm, HttpSigError, VerifyingKey};
use sova_proto::ErrorCode;
use sova_proto::connect::Envelope;
use sova_proto::siwx as wire;
use sova_store::{SigningKeyRow, StoreError};
use std::sync::Arc;

use axum::extract::FromRef;
use sova_http::access::Access;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use zeroize::Zeroizing;

use super::Ctx;
use sova_http::auth::OperatorAuth;
use sova_http::envelope::{created, ok};
use sova_http::error::{ApiError, ApiResult};
use sova_http::extract::JsonBody;
use sova_http::time::iso;

/// The signing-key routes, relative to `/sovx/v1` (the SIWX surface owns them; the app mounts them beside the
/// Connect API's).
pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Ctx: FromRef<S>,
    Arc<Access>: FromRef<S>,
{
    OpenApiRouter::new().routes(routes!(create_signing_key, list_signing_keys)).routes(routes!(revoke_signing_key))
}

/// Most keys a tenant may hold (active and revoked).
pub const MAX_KEYS: usize = 100;
const SEAL_KEY_LABEL: &str = "sova/httpsig-hmac-seal/v2";

/// Whether `keyid` is acceptable: 1 to 128 of `A-Z a-z 0-9 . _ - : @ / + =`.
pub fn valid_keyid(keyid: &str) -> bool {
    (1..=128).contains(&keyid.len()) && keyid.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-:@/+=".contains(&b))
}

/// The cache key (and invalidation suffix) of a tenant's key.
pub fn cache_key(tenant_id: &str, keyid: &str) -> String {
    format!("{tenant_id}/{keyid}")
}

/// The associated data binding a sealed secret to its tenant and keyid (a row copied to another key does not open).
fn seal_aad(tenant_id: &str, keyid: &str) -> Vec<u8> {
    [tenant_id.as_bytes(), b"\0", keyid.as_bytes()].concat()
}

/// Seal an HMAC secret for storage ([`sova_http::seal`]), bound to its tenant and keyid.
pub fn seal_secret(ctx: &Ctx, tenant_id: &str, keyid: &str, secret: &[u8]) -> String {
    sova_http::seal::seal(&ctx.access.hasher, SEAL_KEY_LABEL, &seal_aad(tenant_id, keyid), secret)
}

/// Open a value made by [`seal_secret`]; `None` if it was not made for this tenant and keyid with this server key.
pub fn open_secret(ctx: &Ctx, tenant_id: &str, keyid: &str, sealed: &str) -> Option<Zeroizing<Vec<u8>>> {
    sova_http::seal::open(&ctx.access.hasher, SEAL_KEY_LABEL, &seal_aad(tenant_id, keyid), sealed)
}

/// The verifying key of a stored row.
pub fn verifying_key(ctx: &Ctx, row: &SigningKeyRow) -> ApiResult<VerifyingKey> {
    let alg = Algorithm::from_name(&row.alg)
        .ok_or_else(|| ApiError::internal(format!("signing key {} has unknown alg {}", row.keyid, row.alg)))?;
    let key = if alg == Algorithm::HmacSha256 {
        let secret = open_secret(ctx, &row.tenant_id, &row.keyid, &row.key_material).ok_or_else(|| {
            ApiError::internal(format!(
                "signing key {} of {} cannot be decrypted (was the server key changed?)",
                row.keyid, row.tenant_id
            ))
        })?;
        VerifyingKey::HmacSha256(secret)
    } else {
        VerifyingKey::from_registration(alg, &row.key_material)
            .map_err(|e| ApiError::internal(format!("stored signing key {} unreadable: {e}", row.keyid)))?
    };
    Ok(key)
}

fn view(k: &SigningKeyRow) -> wire::SigningKey {
    wire::SigningKey {
        keyid: k.keyid.clone(),
        alg: k.alg.clone(),
        public_key: (k.alg != Algorithm::HmacSha256.name()).then(|| k.key_material.clone()),
        status: if k.revoked_at.is_some() { "REVOKED" } else { "ACTIVE" }.into(),
        created_at: iso(k.created_at),
        revoked_at: k.revoked_at.map(iso),
    }
}

async fn tenant(ctx: &Ctx, customer_id: &str) -> ApiResult<String> {
    match ctx.store.customer(customer_id).await? {
        Some(c) => Ok(c.customer_id),
        None => Err(ApiError::not_found("customer")),
    }
}

fn invalid_key(e: HttpSigError) -> ApiError {
    ApiError::new(axum::http::StatusCode::BAD_REQUEST, ErrorCode::HttpsigInvalidKey, e.to_string()).with_field("key")
}

/// Register an RFC 9421 key the tenant signs SIWX requests with. An `hmac-sha256` secret is never shown again.
#[utoipa::path(post, path = "/customers/{customer_id}/signing-keys", tag = "signing-keys", security(("session" = [])),
    params(("customer_id" = String, Path)), request_body = wire::CreateSigningKeyRequest,
    responses((status = 201, body = Envelope<wire::SigningKey>), (status = 400, body = sova_proto::connect::ErrorEnvelope),
        (status = 409, body = sova_proto::connect::ErrorEnvelope)))]
pub async fn create_signing_key(
    State(ctx): State<Ctx>,
    _op: OperatorAuth,
    Path(customer_id): Path<String>,
    JsonBody(req): JsonBody<wire::CreateSigningKeyRequest>,
) -> ApiResult<Response> {
    let tenant_id = tenant(&ctx, &customer_id).await?;
    let keyid = req.keyid.trim();
    if !valid_keyid(keyid) {
        return Err(ApiError::validation("keyid", "`keyid` must be 1 to 128 of A-Z a-z 0-9 . _ - : @ / + ="));
    }
    let alg = Algorithm::from_name(req.alg.trim()).ok_or_else(|| {
        ApiError::validation("alg", "`alg` must be ed25519, ecdsa-p256-sha256, hmac-sha256 or rsa-pss-sha512")
    })?;
    if req.key.len() > 16 * 1024 {
        return Err(ApiError::validation("key", "`key` is too long (16 KiB at most)"));
    }
    let parsed = VerifyingKey::from_registration(alg, &req.key).map_err(invalid_key)?;
    let material = match &parsed {
        VerifyingKey::HmacSha256(secret) => seal_secret(&ctx, &tenant_id, keyid, secret),
        _ => req.key.trim().to_string(),
    };
    if ctx.store.signing_keys(&tenant_id).await?.len() >= MAX_KEYS {
        return Err(ApiError::conflict(format!("a customer holds at most {MAX_KEYS} signing keys")));
    }
    let row = SigningKeyRow {
        tenant_id: tenant_id.clone(),
        keyid: keyid.to_string(),
        alg: alg.name().to_string(),
        key_material: material,
        created_at: ctx.clock.now_ms(),
        revoked_at: None,
    };
    ctx.store.create_signing_key(&row).await.map_err(|e| match e {
        StoreError::Conflict(_) => ApiError::conflict(format!(
            "keyid `{keyid}` is already registered (or was, and is revoked) for this customer; choose another keyid"
        ))
        .with_field("keyid"),
        e => e.into(),
    })?;
    Ok(created(view(&row)))
}

/// List the tenant's signing keys (revoked ones too).
#[utoipa::path(get, path = "/customers/{customer_id}/signing-keys", tag = "signing-keys", security(("session" = [])),
    params(("customer_id" = String, Path)), responses((status = 200, body = Envelope<Vec<wire::SigningKey>>)))]
pub async fn list_signing_keys(
    State(ctx): State<Ctx>,
    _op: OperatorAuth,
    Path(customer_id): Path<String>,
) -> ApiResult<Response> {
    let tenant_id = tenant(&ctx, &customer_id).await?;
    let keys = ctx.store.signing_keys(&tenant_id).await?;
    Ok(ok(keys.iter().map(view).collect::<Vec<_>>()))
}

/// Revoke a signing key: requests signed with it are refused at once on every replica.
#[utoipa::path(delete, path = "/customers/{customer_id}/signing-keys/{keyid}", tag = "signing-keys",
    security(("session" = [])), params(("customer_id" = String, Path), ("keyid" = String, Path)),
    responses((status = 200, body = Envelope<wire::SigningKey>), (status = 404, body = sova_proto::connect::ErrorEnvelope)))]
pub async fn revoke_signing_key(
    State(ctx): State<Ctx>,
    _op: OperatorAuth,
    Path((customer_id, keyid)): Path<(String, String)>,
) -> ApiResult<Response> {
    let tenant_id = tenant(&ctx, &customer_id).await?;
    let row = ctx.store.revoke_signing_key(&tenant_id, &keyid, ctx.clock.now_ms()).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("signing key"),
        e => e.into(),
    })?;
    ctx.access.broadcast(&format!("httpsig:{}", cache_key(&tenant_id, &keyid))).await;
    Ok(ok(view(&row)))
}
