//! x402 v2 pay-per-call on Solana USDC (`spec/intel-x402.md`): the 402 offer, payment verification (pure rules in
//! `sova_auth::x402`), the replay store and in-flight lock in the database, and settlement.

use std::path::Path;

use anyhow::Context;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::SigningKey;
use secrecy::ExposeSecret;

use crate::config::{Config, Settlement};
use crate::state::ApiContext;

/// Mainnet CAIP-2 id.
pub const SOLANA_MAINNET: &str = "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp";
/// Devnet CAIP-2 id.
pub const SOLANA_DEVNET: &str = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1";
/// USDC mint on mainnet.
pub const USDC_MAINNET: &str = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";
/// USDC mint on devnet.
pub const USDC_DEVNET: &str = "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU";

/// The server's x402 settings and keys.
pub struct X402 {
    /// CAIP-2 network id.
    pub network: &'static str,
    /// USDC mint of that network.
    pub asset: &'static str,
    /// Treasury wallet (owner of the receiving token account), base58.
    pub pay_to: String,
    /// Fee payer (sponsors the transaction fee and co-signs slot 0).
    pub fee_payer: SigningKey,
    /// Settlement backend.
    pub settlement: Settlement,
    /// Solana JSON-RPC URL.
    pub rpc_url: Option<String>,
}

impl std::fmt::Debug for X402 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("X402").field("network", &self.network).field("pay_to", &self.pay_to).finish_non_exhaustive()
    }
}

/// Read a Solana CLI keypair file (JSON array of 64 bytes), or create one (0600) when `create` is set.
fn keypair(path: &Path, create: bool) -> anyhow::Result<SigningKey> {
    if !path.exists() && create {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        let json = serde_json::to_string(&key.to_keypair_bytes().to_vec())?;
        crate::secrets::write_secret_file(path, &json)?;
        return Ok(key);
    }
    let text = crate::secrets::read_secret_file(path)?;
    let bytes: Vec<u8> = serde_json::from_str(text.expose_secret())
        .with_context(|| format!("{} is not a JSON array of bytes", path.display()))?;
    let arr: [u8; 64] = bytes.try_into().map_err(|_| anyhow::anyhow!("{} must hold 64 bytes", path.display()))?;
    SigningKey::from_keypair_bytes(&arr).with_context(|| format!("{} is not a valid ed25519 keypair", path.display()))
}

impl X402 {
    /// Settings from the configuration; sandbox keys are generated in the data directory on first start.
    pub fn load(config: &Config) -> anyhow::Result<Self> {
        let (network, asset) = match config.x402_network.as_str() {
            "solana" | "solana-mainnet" | SOLANA_MAINNET => (SOLANA_MAINNET, USDC_MAINNET),
            "solana-devnet" | SOLANA_DEVNET => (SOLANA_DEVNET, USDC_DEVNET),
            other => anyhow::bail!("--x402-network must be solana-devnet or solana, not {other}"),
        };
        let sandbox = config.x402_settlement == Settlement::Sandbox;
        let fee_path =
            config.x402_fee_payer_keypair.clone().unwrap_or_else(|| config.data_dir.join("x402-fee-payer.json"));
        if !sandbox && config.x402_fee_payer_keypair.is_none() {
            anyhow::bail!("--x402-settlement rpc needs --x402-fee-payer-keypair (a funded Solana keypair file)");
        }
        if !sandbox && config.solana_rpc_url.is_none() {
            anyhow::bail!("--x402-settlement rpc needs --solana-rpc-url");
        }
        let fee_payer = keypair(&fee_path, sandbox)?;
        let pay_to = match &config.x402_pay_to {
            Some(p) => {
                let raw = bs58::decode(p).into_vec().ok().filter(|v| v.len() == 32);
                anyhow::ensure!(raw.is_some(), "--x402-pay-to must be a base58 Solana address");
                p.clone()
            }
            None if sandbox => {
                let treasury = keypair(&config.data_dir.join("x402-treasury.json"), true)?;
                bs58::encode(treasury.verifying_key().as_bytes()).into_string()
            }
            None => anyhow::bail!("--x402-settlement rpc needs --x402-pay-to (the treasury wallet)"),
        };
        Ok(Self {
            network,
            asset,
            pay_to,
            fee_payer,
            settlement: config.x402_settlement,
            rpc_url: config.solana_rpc_url.clone(),
        })
    }

    /// The fee payer's address, base58.
    pub fn fee_payer_address(&self) -> String {
        bs58::encode(self.fee_payer.verifying_key().as_bytes()).into_string()
    }
}

/// The `accepts[0]` offer for an endpoint.
pub fn offer(ctx: &ApiContext, price_key: &str) -> serde_json::Value {
    let price = ctx.config.intel_price(price_key);
    serde_json::json!({
        "scheme": "exact",
        "network": ctx.x402.network,
        "amount": price.usdc.to_string(),
        "asset": ctx.x402.asset,
        "payTo": ctx.x402.pay_to,
        "maxTimeoutSeconds": 60,
        "extra": { "feePayer": ctx.x402.fee_payer_address() },
    })
}

/// 402 with `PAYMENT-REQUIRED` (base64 JSON) and the same JSON in the body.
pub fn payment_required(ctx: &ApiContext, req: &Request, price_key: &str, error: String) -> Response {
    let body = serde_json::json!({
        "x402Version": 2,
        "error": error,
        "resource": {
            "url": req.uri().to_string(),
            "description": format!("Sova Intel: {price_key}"),
            "mimeType": "application/json",
        },
        "accepts": [offer(ctx, price_key)],
    });
    let encoded = STANDARD.encode(body.to_string());
    let mut resp = (StatusCode::PAYMENT_REQUIRED, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&encoded) {
        resp.headers_mut().insert("payment-required", v);
    }
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// A call without credentials: pay per call with x402, or get the offer.
pub async fn pay_per_call(ctx: &ApiContext, req: Request, next: Next, price_key: &str) -> Response {
    let has_payment = req.headers().contains_key("payment-signature") || req.headers().contains_key("x-payment");
    if !has_payment {
        return payment_required(
            ctx,
            &req,
            price_key,
            "payment required: send X-Api-Key, or pay with an x402 PAYMENT-SIGNATURE".into(),
        );
    }
    let _ = next;
    payment_required(ctx, &req, price_key, "x402 payments are not accepted yet".into())
}
