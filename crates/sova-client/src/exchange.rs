//! Exchange client (seed 002): EIP-712 signed actions with `X-API-Sign`, `X-API-Key`, `X-API-Nonce`,
//! `X-API-Chain`, and the unsigned reads. Bodies are the canonical params (`serde_json` of the typed params of
//! [`sova_auth::exchange`], which serialize in the vendor's field order), sent byte for byte as signed.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use serde_json::Value;
use sova_auth::exchange::{Action, AddApiKey, Domain, InvalidSecretKey, Verifier, address_of};

use crate::{Method, Result};

pub use alloy_primitives::Address;
pub use sova_auth::exchange as types;

/// An exchange answer: status and the `{code,timestamp,data|error}` envelope.
#[derive(Debug, Clone)]
pub struct ExResponse {
    /// HTTP status.
    pub status: u16,
    /// The envelope.
    pub json: Value,
}

impl ExResponse {
    /// `data` (on success).
    pub fn data(&self) -> &Value {
        &self.json["data"]
    }

    /// The envelope's `code` (0 on success).
    pub fn code(&self) -> i64 {
        self.json["code"].as_i64().unwrap_or(-1)
    }

    /// The stable reason of an error (`NONCE_REUSED`, ...), empty on success.
    pub fn reason(&self) -> &str {
        self.json["reason"].as_str().unwrap_or("")
    }

    /// Success?
    pub fn is_ok(&self) -> bool {
        self.status == 200 && self.code() == 0
    }
}

/// A signer bound to one private key (a master wallet or an API key) and one deployment.
pub struct ExchangeClient {
    http: reqwest::Client,
    base: String,
    verifier: Verifier,
    secret: [u8; 32],
    address: Address,
    key_name: Option<String>,
    last_nonce: AtomicU64,
}

impl std::fmt::Debug for ExchangeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangeClient")
            .field("base", &self.base)
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl ExchangeClient {
    /// Sign with `secret` (32 bytes) as the master wallet, for chain `chain_id`, against `base` (`http://host:port`).
    pub fn new(base: &str, chain_id: u64, secret: [u8; 32]) -> std::result::Result<Self, InvalidSecretKey> {
        Ok(Self {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_string(),
            verifier: Verifier::new(chain_id),
            address: address_of(&secret)?,
            secret,
            key_name: None,
            last_nonce: AtomicU64::new(0),
        })
    }

    /// Sign as the API key `name` (its private key is `secret` given to [`ExchangeClient::new`]).
    pub fn with_key_name(mut self, name: &str) -> Self {
        self.key_name = Some(name.to_string());
        self
    }

    /// The signer's address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// A fresh nonce: the current Unix ms, or one more than the last one handed out.
    pub fn next_nonce(&self) -> u64 {
        let now = now_ms();
        let mut last = self.last_nonce.load(Ordering::Relaxed);
        loop {
            let next = now.max(last + 1);
            match self.last_nonce.compare_exchange(last, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return next,
                Err(l) => last = l,
            }
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: Vec<(&str, String)>,
        body: Option<Vec<u8>>,
    ) -> Result<ExResponse> {
        let mut rb = self.http.request(method, format!("{}{}", self.base, path));
        for (k, v) in headers {
            rb = rb.header(k, v);
        }
        if let Some(b) = body {
            rb = rb.header("content-type", "application/json").body(b);
        }
        let resp = rb.send().await?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await?;
        Ok(ExResponse { status, json: serde_json::from_slice(&bytes).unwrap_or(Value::Null) })
    }

    /// Send `body` (already canonical) signed for `action` in `domain` with `nonce`; `headers` are added or
    /// override the signature headers (tests use it to send broken ones).
    pub async fn send_signed(
        &self,
        domain: Domain,
        action: Action,
        method: Method,
        path: &str,
        body: Vec<u8>,
        nonce: u64,
    ) -> Result<ExResponse> {
        let sig = match self.verifier.sign_action(&self.secret, domain, action, &body, nonce) {
            Ok(s) => s.to_header(),
            Err(_) => String::new(),
        };
        self.send(method, path, self.signature_headers(sig, nonce), Some(body)).await
    }

    /// The four signature headers for a signature value and nonce.
    pub fn signature_headers(&self, sign: String, nonce: u64) -> Vec<(&'static str, String)> {
        let mut h = vec![("x-api-sign", sign), ("x-api-nonce", nonce.to_string())];
        h.push(("x-api-chain", self.verifier.chain_id().to_string()));
        if let Some(n) = &self.key_name {
            h.push(("x-api-key", n.clone()));
        }
        h
    }

    /// Sign and send typed `params` (serialized canonically) for the route `method path` of `domain`.
    pub async fn signed<P: Serialize>(
        &self,
        domain: Domain,
        method: Method,
        path: &str,
        params: &P,
    ) -> Result<ExResponse> {
        let body =
            serde_json::to_vec(params).map_err(|e| crate::ClientError::Decode { status: 0, message: e.to_string() })?;
        let rel = match domain {
            Domain::Spot => path.strip_prefix("/api/v1/spot").unwrap_or(path),
            Domain::Futures => path.strip_prefix("/api/v1/perps").unwrap_or(path),
            Domain::Universal => path.find("/api-keys").map(|i| &path[i..]).unwrap_or(path),
        };
        let action = Action::for_route(domain, method.as_str(), rel).ok_or_else(|| crate::ClientError::Decode {
            status: 0,
            message: format!("{method} {path} is not a signed route of {}", domain.name()),
        })?;
        self.send_signed(domain, action, method, path, body, self.next_nonce()).await
    }

    /// `POST /api/v1/spot/trade/orders`.
    pub async fn spot_new_order(&self, p: &types::SpotNewOrder) -> Result<ExResponse> {
        self.signed(Domain::Spot, Method::POST, "/api/v1/spot/trade/orders", p).await
    }

    /// `DELETE /api/v1/spot/trade/orders`.
    pub async fn spot_cancel_order(&self, p: &types::SpotCancelOrder) -> Result<ExResponse> {
        self.signed(Domain::Spot, Method::DELETE, "/api/v1/spot/trade/orders", p).await
    }

    /// `newTwapOrder`: `POST /api/v1/spot/trade/twaps`.
    pub async fn spot_new_twap(&self, p: &types::SpotNewTwapOrder) -> Result<ExResponse> {
        self.signed(Domain::Spot, Method::POST, "/api/v1/spot/trade/twaps", p).await
    }

    /// `cancelTwapOrder`: `DELETE /api/v1/spot/trade/twaps`.
    pub async fn spot_cancel_twap(&self, p: &types::CancelTwapOrder) -> Result<ExResponse> {
        self.signed(Domain::Spot, Method::DELETE, "/api/v1/spot/trade/twaps", p).await
    }

    /// Perps `newOrder`: `POST /api/v1/perps/trade/orders` (answers `[receipt]`).
    pub async fn perps_new_order(&self, p: &types::PerpsNewOrder) -> Result<ExResponse> {
        self.signed(Domain::Futures, Method::POST, "/api/v1/perps/trade/orders", p).await
    }

    /// Perps `cancelOrder`: `DELETE /api/v1/perps/trade/orders`.
    pub async fn perps_cancel_order(&self, p: &types::PerpsCancelOrder) -> Result<ExResponse> {
        self.signed(Domain::Futures, Method::DELETE, "/api/v1/perps/trade/orders", p).await
    }

    /// Perps `modifyOrder`: `POST /api/v1/perps/trade/orders/modify`.
    pub async fn perps_modify_order(&self, p: &types::PerpsModifyOrder) -> Result<ExResponse> {
        self.signed(Domain::Futures, Method::POST, "/api/v1/perps/trade/orders/modify", p).await
    }

    /// Perps `updateLeverage`: `POST /api/v1/perps/trade/leverage`.
    pub async fn perps_update_leverage(&self, p: &types::UpdateLeverage) -> Result<ExResponse> {
        self.signed(Domain::Futures, Method::POST, "/api/v1/perps/trade/leverage", p).await
    }

    /// Perps `updateMargin`: `POST /api/v1/perps/trade/margin`.
    pub async fn perps_update_margin(&self, p: &types::UpdateMargin) -> Result<ExResponse> {
        self.signed(Domain::Futures, Method::POST, "/api/v1/perps/trade/margin", p).await
    }

    /// Spot -> perps: `transferAsset` type PERPS_WITHDRAW (3) to the treasury 999, signed on the spot domain.
    pub async fn transfer_to_perps(&self, id: u64, account: u64, coin: u64, amount: &str) -> Result<ExResponse> {
        self.transfer(Domain::Spot, id, account, coin, amount, types::TransferType::PerpsWithdraw).await
    }

    /// Perps -> spot: `transferAsset` type SPOT_WITHDRAW (5) to the treasury 999, signed on the futures domain.
    pub async fn transfer_to_spot(&self, id: u64, account: u64, coin: u64, amount: &str) -> Result<ExResponse> {
        self.transfer(Domain::Futures, id, account, coin, amount, types::TransferType::SpotWithdraw).await
    }

    async fn transfer(
        &self,
        domain: Domain,
        id: u64,
        account: u64,
        coin: u64,
        amount: &str,
        transfer_type: types::TransferType,
    ) -> Result<ExResponse> {
        let amount = types::Decimal::parse(amount)
            .map_err(|e| crate::ClientError::Decode { status: 0, message: format!("amount {amount:?}: {e}") })?;
        let p = types::TransferAsset {
            id,
            from_account_id: account,
            to_account_id: types::TREASURY_ACCOUNT_ID,
            coin_id: coin,
            amount,
            transfer_type,
        };
        let path = match domain {
            Domain::Futures => "/api/v1/perps/accounts/transfers",
            _ => "/api/v1/spot/accounts/transfers",
        };
        self.signed(domain, Method::POST, path, &p).await
    }

    /// An unsigned JSON `POST` (the sandbox routes: `/api/v1/sandbox/mark-price`, `.../index-price`,
    /// `.../funding`).
    pub async fn post(&self, path: &str, body: &Value) -> Result<ExResponse> {
        self.send(Method::POST, path, Vec::new(), Some(body.to_string().into_bytes())).await
    }

    /// `addAPIKey`, signed by this (master) key: `POST /api/v1/user/{master}/api-keys`.
    pub async fn add_api_key(&self, req: &AddApiKey) -> Result<ExResponse> {
        let nonce = self.next_nonce();
        let sig = self.verifier.sign_add_api_key(&self.secret, req, nonce).map(|s| s.to_header()).unwrap_or_default();
        let body =
            serde_json::to_vec(req).map_err(|e| crate::ClientError::Decode { status: 0, message: e.to_string() })?;
        let path = format!("/api/v1/user/{:#x}/api-keys", self.address);
        self.send(Method::POST, &path, self.signature_headers(sig, nonce), Some(body)).await
    }

    /// `revokeAPIKey` in the universal domain: `DELETE /api/v1/user/{master}/api-keys`.
    pub async fn revoke_api_key(&self, p: &types::RevokeApiKey) -> Result<ExResponse> {
        let path = format!("/api/v1/user/{:#x}/api-keys", self.address);
        self.signed(Domain::Universal, Method::DELETE, &path, p).await
    }

    /// An unsigned read (`path` absolute, with its query).
    pub async fn get(&self, path: &str) -> Result<ExResponse> {
        self.send(Method::GET, path, Vec::new(), None).await
    }

    /// Sandbox faucet: credit `amount` of `coin` to this signer's master account; returns the account id.
    pub async fn faucet(&self, coin: &str, amount: &str) -> Result<ExResponse> {
        let body = serde_json::json!({"address": format!("{:#x}", self.address), "coin": coin, "amount": amount});
        self.send(Method::POST, "/api/v1/sandbox/faucet", Vec::new(), Some(body.to_string().into_bytes())).await
    }

    /// Any request with explicit headers and body (tests of bad input).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        headers: Vec<(&str, String)>,
        body: Option<Vec<u8>>,
    ) -> Result<ExResponse> {
        self.send(method, path, headers, body).await
    }

    /// The verifier (domains, chain id) this client signs for.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The private key (tests sign custom payloads with it).
    pub fn secret(&self) -> &[u8; 32] {
        &self.secret
    }
}
