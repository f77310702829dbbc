//! SIWX onboarding (`/siwx/v1`, seed 003): a tenant (a Connect customer) onboards its end customers by having them
//! sign a CAIP-122 challenge with the on-chain account they claim. Every request is RFC 9421-signed by the tenant
//! ([`request`]). A verified customer is linked to a Connect user of the same tenant (one per account).
//!
//! - `POST /customers` `{chainId, externalId}` → 201, the customer with `challenge` (Base64 of the EIP-4361 text).
//! - `GET /customers/{customerId}` → the customer (status, verified account, Connect `userId`, times).
//! - `GET /customers/{customerId}/challenge` → the current challenge; an expired one is replaced first.
//! - `POST /customers/{customerId}/challenge/sign` `{ownerId, challenge, signature}` → 204; the challenge is
//!   consumed. A failed signature (or an expired challenge) replaces the challenge, in the same transaction as the
//!   recorded answer.

pub mod contract;
pub mod request;
pub mod signing_keys;

use std::sync::Arc;

use axum::extract::{FromRef, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use sova_auth::httpsig::PublicOrigin;
use sova_auth::siwx::{self, AccountId, Challenge, Namespace, SignedChallenge, SiwxError};
use sova_proto::ErrorCode;
use sova_proto::connect::{Envelope, ErrorEnvelope};
use sova_proto::siwx as wire;
use sova_store::{NewChallenge, SiwxCustomerRow, StoreError};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Config;
use sova_http::access::Access;
use sova_http::cache::{Cache, Invalidations};
use sova_http::context::meta;
use sova_http::envelope::ok;
use sova_http::error::ApiError;
use sova_http::extract::parse_json;
use sova_http::idempotency::{Claim, StoredResponse};
use sova_http::time::iso;
use sova_store::Store;

pub use request::SiwxRequest;

/// The statement of every challenge.
pub const STATEMENT: &str = "Sign in to prove that you control this account.";
/// Longest `externalId`.
pub const MAX_EXTERNAL_ID: usize = 128;

/// What the SIWX handlers reach.
pub struct SiwxState {
    /// Authentication, limits, the invalidation bus.
    pub access: Arc<Access>,
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// Settings (RFC 9421 skew, contract-wallet RPC URLs, body limit).
    pub config: Arc<Config>,
    /// The origin clients sign against, and the challenges' domain and URI.
    pub origin: PublicOrigin,
    /// Contract-wallet checks.
    pub rpc: contract::EvmRpc,
    /// Tenants' active RFC 9421 signing keys by `<tenant>/<keyid>`.
    pub httpsig: Cache<sova_auth::httpsig::VerifyingKey>,
    /// SIWX customers by id.
    pub customers: Cache<SiwxCustomerRow>,
    /// The time that decides challenge and signature windows.
    pub clock: sova_runtime::Clock,
}

/// The state type of the SIWX routes.
pub type Ctx = Arc<SiwxState>;

/// The public origin in effect: `--public-origin`, else `http://<listen address>`.
pub fn public_origin(config: &Config) -> Result<PublicOrigin, sova_auth::httpsig::HttpSigError> {
    match &config.public_origin {
        Some(o) => PublicOrigin::parse(o),
        None => PublicOrigin::parse(&format!("http://{}", config.listen)),
    }
}

impl SiwxState {
    /// From the configuration, registering the SIWX caches on the bus.
    pub fn new(access: Arc<Access>, bus: &Arc<Invalidations>, config: Arc<Config>) -> anyhow::Result<Arc<Self>> {
        use anyhow::Context;
        let origin = public_origin(&config).context("--public-origin must be scheme://host[:port]")?;
        Ok(Arc::new(Self {
            clock: access.clock.clone(),
            store: access.store.clone(),
            access,
            config,
            origin,
            rpc: contract::EvmRpc::default(),
            httpsig: Cache::builder("httpsig")
                .customer(|k, _, c| k.strip_prefix(c).is_some_and(|r| r.starts_with('/')))
                .build(bus),
            customers: Cache::builder("siwx").customer(|_, v: &SiwxCustomerRow, c| v.tenant_id == c).build(bus),
        }))
    }
}

/// The SIWX routes, relative to `/siwx/v1`.
pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Ctx: FromRef<S>,
    Arc<Access>: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(create_customer))
        .routes(routes!(get_customer))
        .routes(routes!(get_challenge))
        .routes(routes!(sign_challenge))
}

/// Drop expired idempotency keys and signature nonces every ten minutes (they are ignored once expired anyway).
pub fn spawn_pruner(ctx: Ctx) {
    let jobs = ctx.access.jobs.clone();
    jobs.spawn("siwx-pruner", async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            if let Err(e) = ctx.store.prune_siwx(ctx.clock.now_ms()).await {
                tracing::warn!(error = %e, "could not prune idempotency keys and signature nonces");
            }
        }
    });
}

/// A SIWX refusal: 400 with the error's own code.
pub fn siwx_error(e: &SiwxError) -> ApiError {
    let code = ErrorCode::from_wire(e.code()).unwrap_or(ErrorCode::ValidationError);
    ApiError::new(StatusCode::BAD_REQUEST, code, e.to_string())
}

fn json_body<T: serde::de::DeserializeOwned>(req: &SiwxRequest) -> Result<T, ApiError> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::MalformedJson,
            "request body is empty; send a JSON object",
        ));
    }
    parse_json(&req.body)
}

fn envelope<T: serde::Serialize>(status: StatusCode, data: T) -> Result<StoredResponse, ApiError> {
    StoredResponse::json(status, &Envelope { success: true, data, meta: meta(None) })
}

/// Issue a challenge for `account` now.
fn issue(ctx: &Ctx, account: &AccountId, now: DateTime<Utc>) -> Result<(Challenge, NewChallenge), ApiError> {
    let origin = &ctx.origin;
    let ch = Challenge::new(origin.authority(), account, Some(STATEMENT), &origin.to_string(), &siwx::new_nonce(), now)
        .map_err(|e| ApiError::internal(format!("cannot issue a challenge: {e}")))?;
    let new = NewChallenge {
        text: ch.text(),
        nonce: ch.nonce.clone(),
        issued_at: ch.issued_at.timestamp_millis(),
        expires_at: ch.expiration_time.timestamp_millis(),
    };
    Ok((ch, new))
}

fn b64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn view(c: &SiwxCustomerRow, with_challenge: bool) -> wire::SiwxCustomer {
    let pending = c.status == "PENDING";
    wire::SiwxCustomer {
        id: c.id.clone(),
        chain_id: c.account.clone(),
        external_id: c.external_id.clone(),
        status: c.status.clone(),
        challenge: c.challenge.as_deref().filter(|_| with_challenge && pending).map(b64),
        challenge_expires_at: c.challenge_expires_at.filter(|_| pending).map(iso),
        verified_account: (!pending).then(|| c.account.clone()),
        user_id: c.user_id.clone(),
        created_at: iso(c.created_at),
        updated_at: iso(c.updated_at),
        verified_at: c.verified_at.map(iso),
    }
}

fn already_verified() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        ErrorCode::SiwxAlreadyVerified,
        "this customer is already verified; there is no challenge to sign",
    )
}

/// A tenant's customer, through the cache (filled epoch-guarded; every change invalidates it on every replica, see
/// [`changed`]). Another tenant's customer is not found.
async fn load(ctx: &Ctx, tenant: &str, id: &str) -> Result<SiwxCustomerRow, ApiError> {
    let id = sova_http::validate::uuid_path(id, "customer")?;
    if let Some(row) = ctx.customers.get(&id) {
        return if row.tenant_id == tenant { Ok((*row).clone()) } else { Err(ApiError::not_found("customer")) };
    }
    let epoch = ctx.access.bus.epoch();
    let row = ctx.store.siwx_customer(tenant, &id).await?.ok_or_else(|| ApiError::not_found("customer"))?;
    ctx.customers.insert_if(epoch, id, std::sync::Arc::new(row.clone()));
    Ok(row)
}

/// A customer changed (or may have changed under us): drop it from every replica's cache.
async fn changed(ctx: &Ctx, id: &str) {
    ctx.access.broadcast(&format!("siwx:{id}")).await;
}

/// Answer a POST: an answer already recorded with its state change is returned as is; any other is recorded now
/// (final answers) or the key released (5xx, 429).
async fn conclude(ctx: &Ctx, claim: Option<Claim>, r: Result<(StoredResponse, bool), ApiError>) -> Response {
    let (resp, recorded) = match r {
        Ok(x) => x,
        Err(e) => (StoredResponse::from_error(e).await, false),
    };
    match claim {
        Some(c) if !recorded => c.finish(&ctx.access, resp).await,
        _ => resp.into_response(),
    }
}

/// Create a customer for an on-chain account and issue its first challenge.
#[utoipa::path(post, path = "/customers", tag = "siwx", security(("tenant_bearer" = [])),
    request_body = wire::CreateSiwxCustomerRequest,
    params(("Signature" = String, Header), ("Signature-Input" = String, Header),
        ("Idempotency-Key" = String, Header), ("Content-Digest" = String, Header)),
    responses((status = 201, body = Envelope<wire::SiwxCustomer>), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
pub async fn create_customer(State(ctx): State<Ctx>, req: SiwxRequest) -> Response {
    let r = create_inner(&ctx, &req).await;
    conclude(&ctx, req.claim, r).await
}

async fn create_inner(ctx: &Ctx, req: &SiwxRequest) -> Result<(StoredResponse, bool), ApiError> {
    let body: wire::CreateSiwxCustomerRequest = json_body(req)?;
    let account = AccountId::parse(body.chain_id.trim()).map_err(|e| siwx_error(&e).with_field("chainId"))?;
    let external_id = body.external_id.trim();
    if external_id.is_empty() || external_id.len() > MAX_EXTERNAL_ID || external_id.chars().any(char::is_control) {
        return Err(ApiError::validation(
            "externalId",
            format!("`externalId` must be 1 to {MAX_EXTERNAL_ID} characters without control characters"),
        ));
    }
    let now = Utc::now();
    let (_, ch) = issue(ctx, &account, now)?;
    let now_ms = now.timestamp_millis();
    let row = SiwxCustomerRow {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: req.tenant.clone(),
        external_id: external_id.to_string(),
        account: account.to_string(),
        status: "PENDING".into(),
        challenge: Some(ch.text.clone()),
        challenge_nonce: Some(ch.nonce.clone()),
        challenge_issued_at: Some(ch.issued_at),
        challenge_expires_at: Some(ch.expires_at),
        user_id: None,
        verified_at: None,
        created_at: now_ms,
        updated_at: now_ms,
    };
    let mut resp = envelope(StatusCode::CREATED, view(&row, true))?;
    resp.headers.push((header::LOCATION.to_string(), format!("/siwx/v1/customers/{}", row.id)));
    let done = req.claim.as_ref().map(|c| c.done(&resp));
    ctx.store.create_siwx_customer(&row, done.as_ref()).await.map_err(|e| match e {
        StoreError::Conflict(_) => ApiError::conflict(format!(
            "externalId `{external_id}` is already used by another customer of yours; each customer needs its own"
        ))
        .with_field("externalId"),
        e => e.into(),
    })?;
    Ok((resp, true))
}

/// Read a customer: status (`PENDING`/`VERIFIED`), the verified account, the linked Connect user, times.
#[utoipa::path(get, path = "/customers/{customerId}", tag = "siwx", security(("tenant_bearer" = [])),
    params(("customerId" = String, Path), ("Signature" = String, Header), ("Signature-Input" = String, Header)),
    responses((status = 200, body = Envelope<wire::SiwxCustomer>), (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope)))]
pub async fn get_customer(
    State(ctx): State<Ctx>,
    Path(customer_id): Path<String>,
    req: SiwxRequest,
) -> Result<Response, ApiError> {
    let row = load(&ctx, &req.tenant, &customer_id).await?;
    Ok(ok(view(&row, false)))
}

/// The customer's current challenge; one past its expiry is replaced by a new one first.
#[utoipa::path(get, path = "/customers/{customerId}/challenge", tag = "siwx", security(("tenant_bearer" = [])),
    params(("customerId" = String, Path), ("Signature" = String, Header), ("Signature-Input" = String, Header)),
    responses((status = 200, body = Envelope<wire::SiwxChallenge>), (status = 401, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn get_challenge(
    State(ctx): State<Ctx>,
    Path(customer_id): Path<String>,
    req: SiwxRequest,
) -> Result<Response, ApiError> {
    let mut row = load(&ctx, &req.tenant, &customer_id).await?;
    for _ in 0..3 {
        if row.status != "PENDING" {
            return Err(already_verified());
        }
        let (Some(text), Some(nonce), Some(issued), Some(expires)) =
            (&row.challenge, &row.challenge_nonce, row.challenge_issued_at, row.challenge_expires_at)
        else {
            return Err(ApiError::internal(format!("pending customer {} has no challenge", row.id)));
        };
        let now = Utc::now();
        if expires > now.timestamp_millis() {
            return Ok(ok(wire::SiwxChallenge {
                challenge: b64(text),
                issued_at: iso(issued),
                expires_at: iso(expires),
            }));
        }
        let account = AccountId::parse(&row.account).map_err(ApiError::internal)?;
        let (_, new) = issue(&ctx, &account, now)?;
        let replaced =
            ctx.store.replace_siwx_challenge(&req.tenant, &row.id, nonce, &new, now.timestamp_millis(), None).await?;
        changed(&ctx, &row.id).await;
        if replaced {
            return Ok(ok(wire::SiwxChallenge {
                challenge: b64(&new.text),
                issued_at: iso(new.issued_at),
                expires_at: iso(new.expires_at),
            }));
        }
        // Replaced or consumed concurrently: read again.
        row = load(&ctx, &req.tenant, &row.id).await?;
    }
    Err(ApiError::conflict("the challenge is changing concurrently; retry"))
}

/// Whether a failed check should replace the challenge: the signature failed, or the challenge expired.
fn replaces_challenge(e: &SiwxError) -> bool {
    matches!(
        e,
        SiwxError::MalformedSignature(_)
            | SiwxError::BadRecoveryId(_)
            | SiwxError::BadSignature
            | SiwxError::WrongSigner { .. }
            | SiwxError::ChallengeExpired
    )
}

/// Whether a contract wallet may still accept the signature (an EOA check failed at the signature stage).
fn contract_may_accept(e: &SiwxError) -> bool {
    matches!(
        e,
        SiwxError::MalformedSignature(_)
            | SiwxError::BadRecoveryId(_)
            | SiwxError::BadSignature
            | SiwxError::WrongSigner { .. }
    )
}

/// Submit the customer's signature of its challenge: 204 and `VERIFIED` on success.
#[utoipa::path(post, path = "/customers/{customerId}/challenge/sign", tag = "siwx", security(("tenant_bearer" = [])),
    request_body = wire::SignChallengeRequest,
    params(("customerId" = String, Path), ("Signature" = String, Header), ("Signature-Input" = String, Header),
        ("Idempotency-Key" = String, Header), ("Content-Digest" = String, Header)),
    responses((status = 204, description = "verified"), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn sign_challenge(State(ctx): State<Ctx>, Path(customer_id): Path<String>, req: SiwxRequest) -> Response {
    let r = sign_inner(&ctx, &customer_id, &req).await;
    conclude(&ctx, req.claim, r).await
}

async fn sign_inner(ctx: &Ctx, customer_id: &str, req: &SiwxRequest) -> Result<(StoredResponse, bool), ApiError> {
    let body: wire::SignChallengeRequest = json_body(req)?;
    let row = load(ctx, &req.tenant, customer_id).await?;
    if row.status != "PENDING" {
        return Err(already_verified());
    }
    let (Some(issued), Some(nonce)) = (&row.challenge, &row.challenge_nonce) else {
        return Err(ApiError::internal(format!("pending customer {} has no challenge", row.id)));
    };
    let account = AccountId::parse(&row.account).map_err(ApiError::internal)?;
    let submitted =
        SignedChallenge { owner_id: &body.owner_id, challenge: &body.challenge, signature: &body.signature };
    let now = Utc::now();
    let mut result = siwx::verify_signed_challenge(&account, issued, &submitted, now);
    if let Err(e) = &result
        && contract_may_accept(e)
        && account.namespace() == Namespace::Eip155
        && let Some(url) = account.eip155_chain_id().and_then(|c| ctx.config.evm_rpc_urls.get(&c))
    {
        match ctx.rpc.verify(url, &account, issued.as_bytes(), &body.signature).await {
            Ok(true) => result = Ok(()),
            Ok(false) => {}
            Err(failure) => {
                tracing::warn!(error = %failure, "contract-wallet check failed");
                return Err(ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    ErrorCode::SiwxContractCheckFailed,
                    "the signature is not the account's EOA signature, and the contract-wallet check (ERC-1271/6492) \
                     could not be made over JSON-RPC; retry later",
                ));
            }
        }
    }
    match result {
        Ok(()) => {
            let resp = StoredResponse::no_content();
            let done = req.claim.as_ref().map(|c| c.done(&resp));
            let user = link_user(&req.tenant, &account, now.timestamp_millis());
            let verified = ctx
                .store
                .verify_siwx_customer(&req.tenant, &row.id, nonce, &user, now.timestamp_millis(), done.as_ref())
                .await;
            changed(ctx, &row.id).await;
            match verified {
                Ok(_) => Ok((resp, true)),
                Err(StoreError::InvalidState(m)) => {
                    Err(ApiError::new(StatusCode::CONFLICT, ErrorCode::SiwxChallengeMismatch, m))
                }
                Err(e) => Err(e.into()),
            }
        }
        Err(e) => {
            let mut api = siwx_error(&e);
            if !replaces_challenge(&e) {
                let field = match e {
                    SiwxError::OwnerMismatch
                    | SiwxError::InvalidAccountId(_)
                    | SiwxError::UnsupportedNamespace(_)
                    | SiwxError::BadChecksum(_) => "ownerId",
                    _ => "challenge",
                };
                return Err(api.with_field(field));
            }
            api.message.push_str("; a new challenge was issued: fetch it with GET .../challenge and sign that one");
            let field = if matches!(e, SiwxError::ChallengeExpired) { "challenge" } else { "signature" };
            let api = api.with_field(field);
            let (_, new) = issue(ctx, &account, now)?;
            let resp = StoredResponse::from_error(api.clone()).await;
            let done = req.claim.as_ref().map(|c| c.done(&resp));
            let replaced = ctx
                .store
                .replace_siwx_challenge(&req.tenant, &row.id, nonce, &new, now.timestamp_millis(), done.as_ref())
                .await;
            changed(ctx, &row.id).await;
            if replaced? { Ok((resp, true)) } else { Err(api) }
        }
    }
}

/// The Connect user a verified account gets when its tenant has none for it yet: an `individual` with a
/// placeholder address under the reserved `.invalid` domain (RFC 2606) and the CAIP-10 account as its name.
fn link_user(tenant: &str, account: &AccountId, now: i64) -> sova_store::User {
    sova_store::User {
        user_id: uuid::Uuid::new_v4().to_string(),
        customer_id: tenant.to_string(),
        user_type: "individual".into(),
        // One address on two chains is two accounts (two users): the chain goes in the domain, so the placeholder
        // emails stay distinct (emails are unique among a customer's users).
        email: format!(
            "{}@{}.{}.siwx.invalid",
            account.address().to_ascii_lowercase(),
            account.reference().to_ascii_lowercase(),
            account.namespace().as_str()
        ),
        first_name: "SIWX".into(),
        last_name: account.to_string(),
        phone: None,
        date_of_birth: None,
        country: None,
        status: "ACTIVE".into(),
        created_at: now,
        updated_at: now,
        account_role: None,
        account_purpose: None,
        phone_country_code: None,
        phone_number: None,
        individual: None,
        deleted_at: None,
    }
}

impl std::fmt::Debug for SiwxRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiwxRequest").field("tenant", &self.tenant).finish_non_exhaustive()
    }
}
