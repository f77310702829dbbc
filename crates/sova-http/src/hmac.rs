//! The `Cs-*` HMAC scheme (seed 004) as middleware: any request carrying `Cs-Access-Key` is verified over its raw
//! bytes before routing, and on success carries an [`HmacIdentity`] that the owner-key extractors accept as an
//! alternative to `x-api-key`.
//!
//! Order of checks: all four headers present and well-formed; timestamp within the window; then the key's secret
//! and passphrase are checked together, so that a caller who knows neither always gets `UNKNOWN_ACCESS_KEY`, whether
//! the key exists or not (an unknown key is checked against a dummy key, so the work done is the same); only a
//! caller who got one of the two right learns which one is wrong. Then revocation, expiry, replay (a signature is
//! accepted once), and the customer's status.

use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use sova_auth::cs_hmac::{self, HmacError};
use sova_auth::keys::KeyHasher;
use sova_proto::ErrorCode;

use crate::access::{Access, CachedHmacKey, touch_later};
use crate::error::ApiError;

/// Header names (HTTP headers are case-insensitive; these are the document's spellings).
pub const ACCESS_KEY: &str = "cs-access-key";
/// Signature header.
pub const SIGNATURE: &str = "cs-signature";
/// Timestamp header.
pub const TIMESTAMP: &str = "cs-timestamp";
/// Passphrase header.
pub const PASSPHRASE: &str = "cs-passphrase";

/// Label of the secret-key derivation (see [`derive_secret_key`]).
const SECRET_LABEL: &str = "sova/cs-secret-key/v1";

/// The credential a verified `Cs-*` request was signed with.
#[derive(Debug, Clone)]
pub struct HmacIdentity {
    /// Customer.
    pub customer_id: String,
    /// Credential id.
    pub credential_id: String,
}

/// The HMAC secret key of a credential: derived from the server key and the credential's stored salt, so the
/// database never holds it. Base64url without padding (43 characters), used as the HMAC key's bytes.
pub fn derive_secret_key(hasher: &KeyHasher, credential_id: &str, salt: &str) -> SecretString {
    let raw = hasher.derive(SECRET_LABEL, format!("{credential_id}:{salt}").as_bytes());
    SecretString::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw))
}

fn header<'a>(h: &'a HeaderMap, name: &'static str) -> Result<&'a str, ApiError> {
    let v = h.get(name).ok_or_else(|| {
        malformed(format!(
            "missing header {}: a signed request carries Cs-Access-Key, Cs-Signature, Cs-Timestamp and Cs-Passphrase",
            display(name)
        ))
    })?;
    v.to_str().map_err(|_| malformed(format!("header {} must be visible ASCII", display(name))))
}

fn display(name: &str) -> &str {
    match name {
        ACCESS_KEY => "Cs-Access-Key",
        SIGNATURE => "Cs-Signature",
        TIMESTAMP => "Cs-Timestamp",
        _ => "Cs-Passphrase",
    }
}

fn malformed(msg: String) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::MalformedSignatureHeaders, msg)
}

fn refuse(code: ErrorCode, msg: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, msg)
}

/// Whether the request carries any `Cs-*` header.
pub fn is_signed(h: &HeaderMap) -> bool {
    [ACCESS_KEY, SIGNATURE, TIMESTAMP, PASSPHRASE].iter().any(|n| h.contains_key(*n))
}

async fn load_key(ctx: &Access, access_key: &str) -> Result<Option<Arc<CachedHmacKey>>, ApiError> {
    if let Some(k) = ctx.hmac.get(access_key) {
        return Ok(Some(k));
    }
    if access_key.is_empty() || access_key.len() > 128 {
        return Ok(None);
    }
    let epoch = ctx.bus.epoch();
    let Some((row, customer_status)) = ctx.store.credential_by_access_key(access_key).await? else {
        return Ok(None);
    };
    let (Some(salt), Some(passphrase_hash)) = (row.hmac_salt.as_deref(), row.passphrase_hash.clone()) else {
        return Ok(None);
    };
    let k = Arc::new(CachedHmacKey {
        credential_id: row.id.clone(),
        customer_id: row.customer_id.clone(),
        secret: derive_secret_key(&ctx.hasher, &row.id, salt),
        passphrase_hash,
        expires_at: row.expires_at,
        revoked: row.revoked_at.is_some(),
        customer_active: customer_status == "ACTIVE",
        last_touch: AtomicI64::new(row.last_used_at.unwrap_or(0)),
    });
    ctx.hmac.insert_if(epoch, access_key.to_string(), k.clone());
    Ok(Some(k))
}

/// Verify a signed request over the exact bytes received.
pub async fn verify(
    ctx: &Access,
    headers: &HeaderMap,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<HmacIdentity, ApiError> {
    let access_key = header(headers, ACCESS_KEY)?.trim();
    let signature = header(headers, SIGNATURE)?;
    let timestamp = header(headers, TIMESTAMP)?.trim();
    let passphrase = header(headers, PASSPHRASE)?;
    let as_malformed = |e: HmacError| malformed(e.to_string());
    let ts = cs_hmac::parse_timestamp(timestamp).map_err(as_malformed)?;
    let sig = cs_hmac::decode_signature(signature).map_err(as_malformed)?;
    let now = ctx.clock.now_ms() / 1000;
    let window = ctx.hmac_window_secs;
    cs_hmac::check_skew(ts, now, window).map_err(|e| refuse(ErrorCode::TimestampSkew, e.to_string()))?;

    let key = load_key(ctx, access_key).await?;
    const DUMMY_SECRET: &[u8] = b"sova-dummy-secret-key-for-unknown-access-keys";
    let (secret, phash) = match &key {
        Some(k) => (k.secret.expose_secret().as_bytes(), k.passphrase_hash.as_str()),
        None => (DUMMY_SECRET, ""),
    };
    let sig_ok = cs_hmac::verify(secret, &sig, timestamp, method, path, body).is_some();
    let pass_ok = ctx.hasher.verify(passphrase, phash) && key.is_some();
    let key = match (key, sig_ok, pass_ok) {
        (Some(k), true, true) => k,
        (_, false, false) | (None, _, _) => {
            return Err(refuse(
                ErrorCode::UnknownAccessKey,
                "no active key matches this Cs-Access-Key, passphrase and signature: check the access key \
                 (if it is right, both the secret key and the passphrase are wrong)",
            ));
        }
        (Some(_), false, true) => {
            return Err(refuse(
                ErrorCode::InvalidSignature,
                format!(
                    "Cs-Signature does not match: sign Base64(HMAC-SHA256(secret_key, prehash)) with prehash \
                     `{timestamp}|{method}|{path}|<raw body>` (the path exactly as sent, with its query string; \
                     the body byte for byte, not re-serialized JSON)"
                ),
            ));
        }
        (Some(_), true, false) => {
            return Err(refuse(
                ErrorCode::InvalidPassphrase,
                "Cs-Passphrase is wrong: send the passphrase chosen when the key was created",
            ));
        }
    };
    if key.revoked {
        return Err(refuse(ErrorCode::UnknownAccessKey, "this access key has been revoked"));
    }
    if key.expires_at.is_some_and(|e| e <= ctx.clock.now_ms()) {
        return Err(refuse(ErrorCode::CredentialExpired, "this access key has expired; ask for a new one"));
    }
    let first = ctx.replay.first_use(&sig, ts, now, window).await.map_err(|e| {
        tracing::error!(error = %e, "Cs-* replay guard: the shared store failed");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ServiceUnavailable,
            "the replay guard shared by the replicas is unreachable; retry the request with a new signature",
        )
    })?;
    if !first {
        return Err(refuse(
            ErrorCode::SignatureReplayed,
            "this signature was already used: sign every request anew (a fresh Cs-Timestamp gives a new signature)",
        ));
    }
    if !key.customer_active {
        return Err(ApiError::forbidden("customer is suspended"));
    }
    touch_later(ctx, &key.last_touch, &key.credential_id);
    Ok(HmacIdentity { customer_id: key.customer_id.clone(), credential_id: key.credential_id.clone() })
}

/// Middleware: verify `Cs-*` requests (buffering the body within the body limit) and attach the identity.
pub async fn middleware(State(ctx): State<Arc<Access>>, req: Request, next: Next) -> Response {
    if !is_signed(req.headers()) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    // Requests without a body (most reads) pass their (empty) body through untouched.
    let no_body = http_body::Body::size_hint(&body).exact() == Some(0);
    let (bytes, body) = if no_body {
        (axum::body::Bytes::new(), body)
    } else {
        match axum::body::to_bytes(body, ctx.body_limit).await {
            Ok(b) => (b.clone(), Body::from(b)),
            Err(e) => return crate::error::body_read_error(&e).into_response(),
        }
    };
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    match verify(&ctx, &parts.headers, parts.method.as_str(), path, &bytes).await {
        Ok(id) => {
            parts.extensions.insert(id);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(e) => e.into_response(),
    }
}
