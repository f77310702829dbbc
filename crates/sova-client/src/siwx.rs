//! The SIWX API (`/siwx/v1`, seed 003): onboarding customers by wallet, every request signed per RFC 9421 with a
//! key the tenant registered (`POST /sovx/v1/customers/{id}/signing-keys`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), sova_client::ClientError> {
//! use sova_client::siwx::{SiwxClient, sign_challenge_evm};
//! use sova_auth::httpsig::SigningKey;
//! let key = SigningKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]));
//! let c = SiwxClient::new("http://127.0.0.1:8080", "<customer_secret>", "my-key", key);
//! let wallet = [1u8; 32];
//! let address = sova_auth::exchange::address_of(&wallet).unwrap().to_checksum(None);
//! let customer = c.create_customer(&format!("eip155:1:{address}"), "user-42").await?;
//! let challenge = customer.challenge.unwrap_or_default();
//! let signature = sign_challenge_evm(&challenge, &wallet).unwrap();
//! c.sign_challenge(&customer.id, &customer.chain_id, &challenge, &signature).await?;
//! # Ok(()) }
//! ```

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use sova_auth::httpsig::{self, Message, PublicOrigin, SignatureParams, SigningKey};
use sova_proto::connect::{Envelope, ErrorEnvelope};
use sova_proto::siwx as wire;

use crate::{ClientError, Method, RawResponse, Result};

/// The components Sova's policy requires (body requests add `content-digest`, `content-type`, `idempotency-key`).
pub const COMPONENTS: [&str; 3] = ["@method", "@target-uri", "authorization"];
/// Added on requests with a body.
pub const BODY_COMPONENTS: [&str; 3] = ["content-digest", "content-type", "idempotency-key"];

/// A SIWX client: the tenant's `customer_secret` (sent as `Authorization: Bearer`) and its RFC 9421 key.
#[derive(Clone)]
pub struct SiwxClient {
    http: reqwest::Client,
    base: String,
    origin: PublicOrigin,
    secret: String,
    keyid: String,
    key: SigningKey,
    /// Send `alg` in the signature parameters.
    pub send_alg: bool,
    /// Send a random `nonce` in the signature parameters.
    pub send_nonce: bool,
}

impl std::fmt::Debug for SiwxClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiwxClient").field("base", &self.base).field("keyid", &self.keyid).finish_non_exhaustive()
    }
}

fn decode_err(message: impl Into<String>) -> ClientError {
    ClientError::Decode { status: 0, message: message.into() }
}

impl SiwxClient {
    /// A client for the server at `base` (e.g. `http://127.0.0.1:8080`); requests are signed against `base`'s
    /// origin unless [`SiwxClient::with_public_origin`] says otherwise (a server behind a proxy).
    pub fn new(base: &str, customer_secret: &str, keyid: &str, key: SigningKey) -> Self {
        let base = base.trim_end_matches('/').to_string();
        let origin = PublicOrigin::parse(&base)
            .unwrap_or_else(|_| PublicOrigin::parse("http://localhost").unwrap_or_else(|_| unreachable!()));
        Self {
            http: reqwest::Client::new(),
            base,
            origin,
            secret: customer_secret.to_string(),
            keyid: keyid.to_string(),
            key,
            send_alg: true,
            send_nonce: true,
        }
    }

    /// Sign against this public origin (`--public-origin` of the server).
    pub fn with_public_origin(mut self, origin: &str) -> Result<Self> {
        self.origin = PublicOrigin::parse(origin).map_err(|e| decode_err(e.to_string()))?;
        Ok(self)
    }

    /// The headers of a signed request: `Authorization`, and for a body `Content-Type`, `Content-Digest` and
    /// `Idempotency-Key`, then `Signature-Input` and `Signature` (created now, label `sig1`).
    pub fn signed_headers(
        &self,
        method: &str,
        target: &str,
        body: Option<&[u8]>,
        idempotency_key: Option<&str>,
    ) -> Result<HeaderMap> {
        let mut h = HeaderMap::new();
        let val = |s: &str| HeaderValue::from_str(s).map_err(|e| decode_err(e.to_string()));
        h.insert(reqwest::header::AUTHORIZATION, val(&format!("Bearer {}", self.secret))?);
        let mut components: Vec<String> = COMPONENTS.iter().map(|s| s.to_string()).collect();
        if let Some(body) = body {
            h.insert(reqwest::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            h.insert(HeaderName::from_static("content-digest"), val(&sova_auth::digest::content_digest_sha256(body))?);
            components.extend(BODY_COMPONENTS.iter().map(|s| s.to_string()));
        }
        if let Some(k) = idempotency_key {
            h.insert(HeaderName::from_static("idempotency-key"), val(k)?);
            if body.is_none() {
                components.push("idempotency-key".into());
            }
        }
        let params = SignatureParams {
            components,
            created: Some(unix_now()),
            keyid: Some(self.keyid.clone()),
            alg: self.send_alg.then(|| self.key.algorithm()),
            nonce: self
                .send_nonce
                .then(|| sova_auth::keys::random_bytes::<16>().iter().map(|b| format!("{b:02x}")).collect()),
            ..Default::default()
        };
        let msg = Message::request(&self.origin, method, target, &h);
        let signed = httpsig::sign(&msg, "sig1", &params, &self.key).map_err(|e| decode_err(e.to_string()))?;
        h.insert(HeaderName::from_static("signature-input"), val(&signed.signature_input)?);
        h.insert(HeaderName::from_static("signature"), val(&signed.signature)?);
        Ok(h)
    }

    /// Send a signed request to `target` (path and query below the server root, e.g. `/siwx/v1/customers`); POSTs
    /// get a fresh `Idempotency-Key` unless one is given.
    pub async fn send(
        &self,
        method: Method,
        target: &str,
        body: Option<Vec<u8>>,
        idempotency_key: Option<&str>,
    ) -> Result<RawResponse> {
        let fresh;
        let key = match idempotency_key {
            Some(k) => Some(k),
            None if method == Method::POST => {
                fresh = new_idempotency_key();
                Some(fresh.as_str())
            }
            None => None,
        };
        let headers = self.signed_headers(method.as_str(), target, body.as_deref(), key)?;
        let mut rb = self.http.request(method, format!("{}{target}", self.base)).headers(headers);
        if let Some(b) = body {
            rb = rb.body(b);
        }
        RawResponse::read(rb.send().await?).await
    }

    fn data<T: serde::de::DeserializeOwned>(r: RawResponse) -> Result<T> {
        if !(200..300).contains(&r.status) {
            let errors = serde_json::from_value::<ErrorEnvelope>(r.json)
                .map(|e| e.errors)
                .map_err(|e| ClientError::Decode { status: r.status, message: format!("error body: {e}") })?;
            let trace_id = r.headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(String::from);
            return Err(ClientError::Api { status: r.status, errors, trace_id });
        }
        serde_json::from_value::<Envelope<T>>(r.json)
            .map(|e| e.data)
            .map_err(|e| ClientError::Decode { status: r.status, message: e.to_string() })
    }

    /// `POST /siwx/v1/customers`: the customer, with its first challenge.
    pub async fn create_customer(&self, chain_id: &str, external_id: &str) -> Result<wire::SiwxCustomer> {
        let body = wire::CreateSiwxCustomerRequest { chain_id: chain_id.into(), external_id: external_id.into() };
        let bytes = serde_json::to_vec(&body).map_err(|e| decode_err(e.to_string()))?;
        Self::data(self.send(Method::POST, "/siwx/v1/customers", Some(bytes), None).await?)
    }

    /// `GET /siwx/v1/customers/{id}`.
    pub async fn get_customer(&self, id: &str) -> Result<wire::SiwxCustomer> {
        Self::data(self.send(Method::GET, &format!("/siwx/v1/customers/{id}"), None, None).await?)
    }

    /// `GET /siwx/v1/customers/{id}/challenge`.
    pub async fn get_challenge(&self, id: &str) -> Result<wire::SiwxChallenge> {
        Self::data(self.send(Method::GET, &format!("/siwx/v1/customers/{id}/challenge"), None, None).await?)
    }

    /// `POST /siwx/v1/customers/{id}/challenge/sign` (204 on success).
    pub async fn sign_challenge(&self, id: &str, owner_id: &str, challenge: &str, signature: &str) -> Result<()> {
        let body = wire::SignChallengeRequest {
            owner_id: owner_id.into(),
            challenge: challenge.into(),
            signature: signature.into(),
        };
        let bytes = serde_json::to_vec(&body).map_err(|e| decode_err(e.to_string()))?;
        let r = self.send(Method::POST, &format!("/siwx/v1/customers/{id}/challenge/sign"), Some(bytes), None).await?;
        if r.status == 204 {
            return Ok(());
        }
        Self::data::<serde_json::Value>(r).map(|_| ())
    }
}

/// A fresh `Idempotency-Key` (a v4 UUID).
pub fn new_idempotency_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Sign a challenge as issued (Base64) with an EVM secret key: EIP-191 `personal_sign`, Base64 of `r|s|v`
/// (`v` 27/28).
pub fn sign_challenge_evm(challenge_b64: &str, secret_key: &[u8; 32]) -> Result<String> {
    let text = STANDARD.decode(challenge_b64.trim()).map_err(|e| decode_err(format!("challenge: {e}")))?;
    let digest = alloy_primitives::B256::from(sova_auth::siwx::eip191_hash(&text));
    let sig = sova_auth::exchange::sign_digest(secret_key, &digest, sova_auth::exchange::SignatureType::Universal)
        .map_err(|e| decode_err(e.to_string()))?;
    let mut raw = Vec::with_capacity(65);
    raw.extend_from_slice(sig.r.as_slice());
    raw.extend_from_slice(sig.s.as_slice());
    raw.push(sig.v + 27);
    Ok(STANDARD.encode(raw))
}

/// Sign a challenge as issued (Base64) with a Solana (ed25519) key: Base64 of the 64-byte signature.
pub fn sign_challenge_solana(challenge_b64: &str, key: &ed25519_dalek::SigningKey) -> Result<String> {
    use ed25519_dalek::Signer;
    let text = STANDARD.decode(challenge_b64.trim()).map_err(|e| decode_err(format!("challenge: {e}")))?;
    Ok(STANDARD.encode(key.sign(&text).to_bytes()))
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Signing-key management on the Connect API (operator session).
impl crate::Client {
    /// `POST /customers/{customer_id}/signing-keys`: register an RFC 9421 key for the SIWX API.
    pub async fn create_signing_key(
        &self,
        customer_id: &str,
        req: &wire::CreateSigningKeyRequest,
    ) -> Result<wire::SigningKey> {
        self.call_json(Method::POST, &format!("/customers/{customer_id}/signing-keys"), req).await
    }

    /// `GET /customers/{customer_id}/signing-keys`.
    pub async fn list_signing_keys(&self, customer_id: &str) -> Result<Vec<wire::SigningKey>> {
        self.call(Method::GET, &format!("/customers/{customer_id}/signing-keys")).await
    }

    /// `DELETE /customers/{customer_id}/signing-keys/{keyid}`.
    pub async fn revoke_signing_key(&self, customer_id: &str, keyid: &str) -> Result<wire::SigningKey> {
        self.call(Method::DELETE, &format!("/customers/{customer_id}/signing-keys/{keyid}")).await
    }
}
