//! The Rust SDK for Sova: typed calls over HTTP for every Connect API route, with the credentials of each audience.
//! The server's integration tests drive Sova through this crate, so it is exercised on every test run.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sova_client::ClientError> {
//! use sova_client::Client;
//! let c = Client::new("http://127.0.0.1:8080");
//! let session = c.login("ops@example.com", "a long password").await?;
//! let ops = c.with_session(&session.token);
//! # Ok(()) }
//! ```

pub mod exchange;

use reqwest::header::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sova_proto::connect::{self as wire, ApiErrorItem, Envelope, Pagination};

pub mod siwx;

pub use reqwest::Method;
pub use sova_proto;

/// What a call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error envelope.
    #[error("HTTP {status}: {}", errors.first().map(|e| format!("{}: {}", e.code, e.message)).unwrap_or_default())]
    Api {
        /// HTTP status.
        status: u16,
        /// The envelope's errors.
        errors: Vec<ApiErrorItem>,
        /// The trace id of the failed request.
        trace_id: Option<String>,
    },
    /// Transport failure.
    #[error("transport: {0}")]
    Http(#[from] reqwest::Error),
    /// The answer was not what the API promises.
    #[error("unexpected response (HTTP {status}): {message}")]
    Decode {
        /// HTTP status.
        status: u16,
        /// What did not fit.
        message: String,
    },
}

impl ClientError {
    /// HTTP status, if the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } | ClientError::Decode { status, .. } => Some(*status),
            ClientError::Http(e) => e.status().map(|s| s.as_u16()),
        }
    }

    /// The first error code, if the server answered with an envelope.
    pub fn code(&self) -> Option<sova_proto::ErrorCode> {
        match self {
            ClientError::Api { errors, .. } => errors.first().map(|e| e.code),
            _ => None,
        }
    }

    /// The first error's field, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            ClientError::Api { errors, .. } => errors.first().and_then(|e| e.field.as_deref()),
            _ => None,
        }
    }
}

/// Result of client calls.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// A page of a list.
#[derive(Debug, Clone)]
pub struct ListPage<T> {
    /// Items.
    pub items: Vec<T>,
    /// `meta.pagination`.
    pub pagination: Pagination,
}

/// A raw answer, for callers that need status and headers (tests, tooling).
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body parsed as JSON (`Null` if it was not JSON).
    pub json: serde_json::Value,
    /// The body as received (lossy UTF-8), for checks on its exact bytes (e.g. how a number is written).
    pub text: String,
}

/// A payment in progress: resolves to the `PAYMENT-SIGNATURE` header value, or why it could not be made.
pub type PaymentFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = std::result::Result<String, String>> + Send>>;

/// Builds an x402 payment for the offer a server made (the seed SDK's `buildPayment` callback).
pub type PaymentBuilder = std::sync::Arc<dyn Fn(sova_auth::x402::PaymentRequirements) -> PaymentFuture + Send + Sync>;

/// A [`PaymentBuilder`] that pays from a Solana wallet the way the official x402 SVM clients do (sponsored flow:
/// the server's fee payer in slot 0, compute budget, TransferChecked to `payTo`'s token account, memo), signing with
/// `payer`. It needs the server to offer `extra.recentBlockhash` (Sova does).
pub fn solana_payer(payer: sova_chain::solana::SigningKey) -> PaymentBuilder {
    std::sync::Arc::new(move |offer: sova_auth::x402::PaymentRequirements| {
        let payer = payer.clone();
        Box::pin(async move {
            use sova_chain::solana;
            let get = |k: &str| offer.extra.get(k).and_then(|v| v.as_str()).map(str::to_string);
            let key = |s: &str| solana::parse_pubkey(s).map_err(|e| e.to_string());
            let blockhash = get("recentBlockhash").ok_or("the offer carries no extra.recentBlockhash")?;
            let memo = get("memo")
                .unwrap_or_else(|| sova_auth::keys::random_bytes::<16>().iter().map(|b| format!("{b:02x}")).collect());
            let p = solana::ExactPayment {
                fee_payer: key(&get("feePayer").ok_or("the offer names no extra.feePayer")?)?,
                pay_to: key(&offer.pay_to)?,
                mint: key(&offer.asset)?,
                amount: offer.amount.parse().map_err(|_| format!("bad amount {}", offer.amount))?,
                decimals: sova_auth::x402::USDC_DECIMALS,
                recent_blockhash: solana::parse_hash(&blockhash).map_err(|e| e.to_string())?,
                memo,
            };
            let tx = solana::build_exact_payment(&payer, &p).map_err(|e| e.to_string())?;
            use base64::Engine;
            let b64 = base64::engine::general_purpose::STANDARD.encode(tx);
            Ok(sova_auth::x402::PaymentPayload::v2(offer, b64, None).to_header())
        })
    })
}

impl RawResponse {
    /// Status, headers and the body as JSON (`Null` when it is not JSON).
    async fn read(resp: reqwest::Response) -> Result<Self> {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await?;
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Ok(Self { status, headers, json, text })
    }
}

#[derive(Clone)]
enum Auth {
    None,
    Session(String),
    ApiKey(String),
    UserToken(String),
    Hmac { access_key: String, secret_key: String, passphrase: String },
    X402(PaymentBuilder),
}

/// A Connect API client bound to a base URL and (optionally) a credential.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    auth: Auth,
    /// Seconds to add to the local clock for `Cs-Timestamp` (see [`Client::sync_clock`]).
    clock_offset: std::sync::Arc<std::sync::atomic::AtomicI64>,
    /// Recently sent `Cs-Signature`s: a server accepts each once, and two identical requests in the same second
    /// would sign alike, so the second one moves its timestamp forward instead.
    recent: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, i64>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.auth {
            Auth::None => "none",
            Auth::Session(_) => "session",
            Auth::ApiKey(_) => "api-key",
            Auth::UserToken(_) => "user-token",
            Auth::Hmac { .. } => "hmac",
            Auth::X402(_) => "x402",
        };
        f.debug_struct("Client").field("base", &self.base).field("auth", &kind).finish()
    }
}

fn enc(s: &str) -> String {
    // Path segments: ids are UUIDs or slugs; escape anything else.
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

impl Client {
    /// A client for `base` (e.g. `http://127.0.0.1:8080`), no credential.
    pub fn new(base: impl Into<String>) -> Self {
        let http = reqwest::Client::builder()
            .user_agent(concat!("sova-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            http,
            base: base.into().trim_end_matches('/').to_string(),
            auth: Auth::None,
            clock_offset: Default::default(),
            recent: Default::default(),
        }
    }

    fn with_auth(&self, auth: Auth) -> Self {
        Self { auth, ..self.clone() }
    }

    /// Same server, authenticated with an operator session token.
    pub fn with_session(&self, token: &str) -> Self {
        self.with_auth(Auth::Session(token.to_string()))
    }

    /// Same server, authenticated with an owner key (`x-api-key`).
    pub fn with_api_key(&self, key: &str) -> Self {
        self.with_auth(Auth::ApiKey(key.to_string()))
    }

    /// Same server, authenticated with a user token.
    pub fn with_user_token(&self, token: &str) -> Self {
        self.with_auth(Auth::UserToken(token.to_string()))
    }

    /// Same server, every request signed with the `Cs-*` HMAC scheme (seed 004).
    pub fn with_hmac(&self, access_key: &str, secret_key: &str, passphrase: &str) -> Self {
        self.with_auth(Auth::Hmac {
            access_key: access_key.to_string(),
            secret_key: secret_key.to_string(),
            passphrase: passphrase.to_string(),
        })
    }

    /// Same server; Intel calls that answer 402 are paid with `build` and retried once (x402 v2).
    pub fn with_x402(&self, build: PaymentBuilder) -> Self {
        self.with_auth(Auth::X402(build))
    }

    /// Base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET /time`: the server clock.
    pub async fn server_time(&self) -> Result<wire::ServerTime> {
        Ok(self.send(self.build(Method::GET, "/time", &[], None)).await?.0)
    }

    /// Measure the offset between the local clock and the server's and use it for `Cs-Timestamp` from now on
    /// (for every clone of this client). Returns the offset in seconds.
    pub async fn sync_clock(&self) -> Result<i64> {
        let t = self.server_time().await?;
        let offset = t.epoch - unix_now();
        self.clock_offset.store(offset, std::sync::atomic::Ordering::Relaxed);
        Ok(offset)
    }

    /// Build a request: the target (path below `/sovx/v1`, plus the encoded query) and the body are fixed here,
    /// so that what is signed is exactly what is sent.
    fn build(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> reqwest::RequestBuilder {
        self.build_at("/sovx/v1", method, path, query, body)
    }

    /// Like `build`, below another base path (`/api/v1/intel`).
    fn build_at(
        &self,
        prefix: &str,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> reqwest::RequestBuilder {
        let mut target = format!("{prefix}{path}");
        if !query.is_empty() {
            target.push('?');
            target.push_str(&form_urlencoded::Serializer::new(String::new()).extend_pairs(query).finish());
        }
        let mut rb =
            self.http.request(method.clone(), format!("{}{target}", self.base)).header("accept", "application/json");
        let body_bytes: &[u8] = body.as_ref().map(|(_, b)| b.as_slice()).unwrap_or(b"");
        rb = match &self.auth {
            Auth::None | Auth::X402(_) => rb,
            Auth::Session(t) | Auth::UserToken(t) => rb.bearer_auth(t),
            Auth::ApiKey(k) => rb.header("x-api-key", k),
            Auth::Hmac { access_key, secret_key, passphrase } => {
                let now = unix_now() + self.clock_offset.load(std::sync::atomic::Ordering::Relaxed);
                let (ts, sig) = self.fresh_signature(now, secret_key, method.as_str(), &target, body_bytes);
                rb.header("Cs-Access-Key", access_key)
                    .header("Cs-Signature", sig)
                    .header("Cs-Timestamp", ts)
                    .header("Cs-Passphrase", passphrase)
            }
        };
        if let Some((content_type, bytes)) = body {
            rb = rb.header("content-type", content_type).body(bytes);
        }
        rb
    }

    /// Sign at `now`, or a second later (and so on) if that exact signature was sent already.
    fn fresh_signature(&self, now: i64, secret: &str, method: &str, target: &str, body: &[u8]) -> (String, String) {
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        recent.retain(|_, t| *t >= now - 120);
        let mut ts = now;
        loop {
            let t = ts.to_string();
            let sig = sova_auth::cs_hmac::sign(secret, &t, method, target, body);
            if !recent.contains_key(&sig) {
                recent.insert(sig.clone(), ts);
                return (t, sig);
            }
            ts += 1;
        }
    }

    fn json_body<B: Serialize>(body: &B) -> Result<Option<(&'static str, Vec<u8>)>> {
        let bytes = serde_json::to_vec(body).map_err(|e| ClientError::Decode { status: 0, message: e.to_string() })?;
        Ok(Some(("application/json", bytes)))
    }

    async fn send<T: DeserializeOwned>(&self, rb: reqwest::RequestBuilder) -> Result<(T, Option<Pagination>)> {
        Self::parse(rb.send().await?).await
    }

    /// An Intel request; with x402 auth, a 402 is paid for and the request sent once more with `PAYMENT-SIGNATURE`.
    async fn intel_send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<reqwest::Response> {
        let first = self.build_at("/api/v1/intel", method.clone(), path, query, body.clone()).send().await?;
        let Auth::X402(build) = &self.auth else { return Ok(first) };
        if first.status().as_u16() != 402 {
            return Ok(first);
        }
        let status = 402;
        let offer = first
            .headers()
            .get("payment-required")
            .and_then(|v| v.to_str().ok())
            .ok_or(ClientError::Decode { status, message: "402 without PAYMENT-REQUIRED".into() })
            .and_then(|h| {
                sova_auth::x402::decode_header::<sova_auth::x402::PaymentRequired>(h)
                    .map_err(|e| ClientError::Decode { status, message: e.to_string() })
            })?
            .accepts
            .into_iter()
            .next()
            .ok_or(ClientError::Decode { status, message: "PAYMENT-REQUIRED offers nothing".into() })?;
        let payment = build(offer).await.map_err(|message| ClientError::Decode { status, message })?;
        let rb = self.build_at("/api/v1/intel", method, path, query, body).header("PAYMENT-SIGNATURE", payment);
        Ok(rb.send().await?)
    }

    async fn parse<T: DeserializeOwned>(resp: reqwest::Response) -> Result<(T, Option<Pagination>)> {
        let status = resp.status().as_u16();
        let trace_id = resp.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(String::from);
        let bytes = resp.bytes().await?;
        if !(200..300).contains(&status) {
            let errors = serde_json::from_slice::<wire::ErrorEnvelope>(&bytes)
                .map(|e| e.errors)
                .map_err(|e| ClientError::Decode { status, message: format!("error body: {e}") })?;
            return Err(ClientError::Api { status, errors, trace_id });
        }
        let env: Envelope<T> =
            serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode { status, message: e.to_string() })?;
        Ok((env.data, env.meta.pagination))
    }

    async fn call<T: DeserializeOwned>(&self, method: Method, path: &str) -> Result<T> {
        Ok(self.send(self.build(method, path, &[], None)).await?.0)
    }

    async fn call_json<B: Serialize, T: DeserializeOwned>(&self, method: Method, path: &str, body: &B) -> Result<T> {
        Ok(self.send(self.build(method, path, &[], Self::json_body(body)?)).await?.0)
    }

    async fn list<T: DeserializeOwned>(&self, path: &str, filters: &[(&str, &str)]) -> Result<ListPage<T>> {
        let (items, p) = self.send(self.build(Method::GET, path, filters, None)).await?;
        let pagination =
            p.ok_or(ClientError::Decode { status: 200, message: "list without meta.pagination".into() })?;
        Ok(ListPage { items, pagination })
    }

    /// Any request, answered raw (status, headers, JSON), with this client's credential. `path` is below
    /// `/sovx/v1` and may carry its own `?query` (sent and signed as given).
    pub async fn raw(&self, method: Method, path: &str, body: Option<(&str, Vec<u8>)>) -> Result<RawResponse> {
        RawResponse::read(self.build(method, path, &[], body).send().await?).await
    }

    /// Like [`Client::raw`], with extra request headers (e.g. `Idempotency-Key`).
    pub async fn raw_with(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<RawResponse> {
        let mut rb = self.build(method, path, &[], body);
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        RawResponse::read(rb.send().await?).await
    }

    /// `GET /health` (not enveloped).
    pub async fn health(&self) -> Result<wire::Health> {
        let resp = self.build(Method::GET, "/health", &[], None).send().await?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode { status, message: e.to_string() })
    }

    /// `POST /auth/login`.
    pub async fn login(&self, email: &str, password: &str) -> Result<wire::LoginResponse> {
        let body = wire::LoginRequest { email: email.into(), password: password.into() };
        self.call_json(Method::POST, "/auth/login", &body).await
    }

    /// `POST /customers` (session).
    pub async fn create_customer(&self, req: &wire::CreateCustomerRequest) -> Result<wire::Customer> {
        self.call_json(Method::POST, "/customers", req).await
    }

    /// `GET /customers` (session).
    pub async fn list_customers(&self, filters: &[(&str, &str)]) -> Result<ListPage<wire::Customer>> {
        self.list("/customers", filters).await
    }

    /// `GET /customers/{id}` (session).
    pub async fn get_customer(&self, customer_id: &str) -> Result<wire::Customer> {
        self.call(Method::GET, &format!("/customers/{}", enc(customer_id))).await
    }

    /// `PATCH /customers/{id}` (session).
    pub async fn update_customer(
        &self,
        customer_id: &str,
        req: &wire::UpdateCustomerRequest,
    ) -> Result<wire::Customer> {
        self.call_json(Method::PATCH, &format!("/customers/{}", enc(customer_id)), req).await
    }

    /// `POST /customers/{id}/credentials` (session), with no body, as the document shows.
    pub async fn create_credential(&self, customer_id: &str) -> Result<wire::CredentialSecret> {
        self.call(Method::POST, &format!("/customers/{}/credentials", enc(customer_id))).await
    }

    /// `POST /customers/{id}/credentials` (session) with options.
    pub async fn create_credential_with(
        &self,
        customer_id: &str,
        req: &wire::CreateCredentialRequest,
    ) -> Result<wire::CredentialSecret> {
        self.call_json(Method::POST, &format!("/customers/{}/credentials", enc(customer_id)), req).await
    }

    /// `GET /customers/{id}/credentials` (session).
    pub async fn list_credentials(&self, customer_id: &str) -> Result<ListPage<wire::Credential>> {
        self.list(&format!("/customers/{}/credentials", enc(customer_id)), &[]).await
    }

    /// `DELETE /customers/{id}/credentials/{credential_id}` (session).
    pub async fn revoke_credential(&self, customer_id: &str, credential_id: &str) -> Result<wire::Credential> {
        self.call(Method::DELETE, &format!("/customers/{}/credentials/{}", enc(customer_id), enc(credential_id))).await
    }

    /// `POST /customers/{id}/credentials/{credential_id}/rotate` (session).
    pub async fn rotate_credential(
        &self,
        customer_id: &str,
        credential_id: &str,
        grace_seconds: Option<u64>,
    ) -> Result<wire::CredentialSecret> {
        let body = wire::RotateCredentialRequest { grace_seconds, passphrase: None };
        let path = format!("/customers/{}/credentials/{}/rotate", enc(customer_id), enc(credential_id));
        self.call_json(Method::POST, &path, &body).await
    }

    /// `POST /users` (owner key).
    pub async fn create_user(&self, req: &wire::CreateUserRequest) -> Result<wire::User> {
        self.call_json(Method::POST, "/users", req).await
    }

    /// `GET /users` (owner key).
    pub async fn list_users(&self, filters: &[(&str, &str)]) -> Result<ListPage<wire::User>> {
        self.list("/users", filters).await
    }

    /// `GET /users/{id}` (owner key or the user's token).
    pub async fn get_user(&self, user_id: &str) -> Result<wire::User> {
        self.call(Method::GET, &format!("/users/{}", enc(user_id))).await
    }

    /// `PATCH /users/{id}` (owner key).
    pub async fn update_user(&self, user_id: &str, req: &wire::UpdateUserRequest) -> Result<wire::User> {
        self.call_json(Method::PATCH, &format!("/users/{}", enc(user_id)), req).await
    }

    /// `POST /users/{id}/tokens` (owner key).
    pub async fn create_user_token(&self, user_id: &str, expires_in: Option<u64>) -> Result<wire::UserToken> {
        let body = wire::CreateUserTokenRequest { expires_in };
        self.call_json(Method::POST, &format!("/users/{}/tokens", enc(user_id)), &body).await
    }

    /// `GET /users/{id}/tokens/{token_id}` (owner key).
    pub async fn get_user_token(&self, user_id: &str, token_id: &str) -> Result<wire::UserToken> {
        self.call(Method::GET, &format!("/users/{}/tokens/{}", enc(user_id), enc(token_id))).await
    }

    /// `DELETE /users/{id}/tokens/{token_id}` (owner key).
    pub async fn revoke_user_token(&self, user_id: &str, token_id: &str) -> Result<wire::UserToken> {
        self.call(Method::DELETE, &format!("/users/{}/tokens/{}", enc(user_id), enc(token_id))).await
    }

    /// `POST /users/{id}/wallets`.
    pub async fn create_wallet(&self, user_id: &str, req: &wire::CreateWalletRequest) -> Result<wire::Wallet> {
        self.call_json(Method::POST, &format!("/users/{}/wallets", enc(user_id)), req).await
    }

    /// `GET /users/{id}/wallets`.
    pub async fn list_user_wallets(&self, user_id: &str, filters: &[(&str, &str)]) -> Result<ListPage<wire::Wallet>> {
        self.list(&format!("/users/{}/wallets", enc(user_id)), filters).await
    }

    /// `GET /wallets`.
    pub async fn list_wallets(&self, filters: &[(&str, &str)]) -> Result<ListPage<wire::Wallet>> {
        self.list("/wallets", filters).await
    }

    /// `GET /wallets/{id}` (with `balance`).
    pub async fn get_wallet(&self, wallet_id: &str) -> Result<wire::Wallet> {
        self.call(Method::GET, &format!("/wallets/{}", enc(wallet_id))).await
    }

    /// `PATCH /wallets/{id}` (owner key).
    pub async fn update_wallet(&self, wallet_id: &str, req: &wire::UpdateWalletRequest) -> Result<wire::Wallet> {
        self.call_json(Method::PATCH, &format!("/wallets/{}", enc(wallet_id)), req).await
    }

    /// `POST /wallets/{id}/address`.
    pub async fn create_address(
        &self,
        wallet_id: &str,
        req: &wire::CreateAddressRequest,
    ) -> Result<wire::DepositAddress> {
        self.call_json(Method::POST, &format!("/wallets/{}/address", enc(wallet_id)), req).await
    }

    /// `GET /wallets/{id}/addresses`.
    pub async fn list_wallet_addresses(&self, wallet_id: &str) -> Result<ListPage<wire::DepositAddress>> {
        self.list(&format!("/wallets/{}/addresses", enc(wallet_id)), &[]).await
    }

    /// `GET /addresses/{id}`.
    pub async fn get_address(&self, address_id: &str) -> Result<wire::DepositAddress> {
        self.call(Method::GET, &format!("/addresses/{}", enc(address_id))).await
    }

    /// `POST /sandbox/deposits` (owner key, sandbox mode).
    pub async fn sandbox_deposit(&self, req: &wire::SandboxDepositRequest) -> Result<wire::Deposit> {
        self.call_json(Method::POST, "/sandbox/deposits", req).await
    }

    /// `POST /sandbox/deposits/{id}/complete` (owner key, sandbox mode).
    pub async fn complete_sandbox_deposit(&self, deposit_id: &str) -> Result<wire::Deposit> {
        self.call(Method::POST, &format!("/sandbox/deposits/{}/complete", enc(deposit_id))).await
    }

    /// `GET /deposits/{id}`.
    pub async fn get_deposit(&self, deposit_id: &str) -> Result<wire::Deposit> {
        self.call(Method::GET, &format!("/deposits/{}", enc(deposit_id))).await
    }

    /// `GET /wallets/{id}/deposits`.
    pub async fn list_wallet_deposits(&self, wallet_id: &str) -> Result<ListPage<wire::Deposit>> {
        self.list(&format!("/wallets/{}/deposits", enc(wallet_id)), &[]).await
    }

    /// Intel API: any request below `/api/v1/intel`, answered raw (status, headers, JSON). With `with_api_key`
    /// the key goes in `X-Api-Key` (header names are case-insensitive).
    pub async fn intel_raw(&self, method: Method, path: &str, body: Option<(&str, Vec<u8>)>) -> Result<RawResponse> {
        RawResponse::read(self.intel_send(method, path, &[], body).await?).await
    }

    /// `GET /api/v1/intel/wallet/{address}/hud`.
    pub async fn intel_hud(&self, address: &str) -> Result<sova_proto::intel::Hud> {
        Ok(Self::parse(self.intel_send(Method::GET, &format!("/wallet/{}/hud", enc(address)), &[], None).await?)
            .await?
            .0)
    }

    /// `GET /api/v1/intel/wallet/{address}/activity`.
    pub async fn intel_activity(
        &self,
        address: &str,
        filters: &[(&str, &str)],
    ) -> Result<ListPage<sova_proto::intel::Activity>> {
        let path = format!("/wallet/{}/activity", enc(address));
        let (items, p) = Self::parse(self.intel_send(Method::GET, &path, filters, None).await?).await?;
        let pagination =
            p.ok_or(ClientError::Decode { status: 200, message: "list without meta.pagination".into() })?;
        Ok(ListPage { items, pagination })
    }

    /// `POST /api/v1/intel/wallets/hud`.
    pub async fn intel_batch(&self, addresses: &[&str]) -> Result<Vec<sova_proto::intel::BatchHudItem>> {
        let body = sova_proto::intel::BatchHudRequest { addresses: addresses.iter().map(|a| a.to_string()).collect() };
        Ok(Self::parse(self.intel_send(Method::POST, "/wallets/hud", &[], Self::json_body(&body)?).await?).await?.0)
    }
}
