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

use sova_auth::x402::{PaymentRequired, PaymentRequirements, ResourceInfo, SettleResponse, Verified, VerifyPolicy};
use sova_chain::rpc::{SolanaRpc, TxStatus};
use sova_proto::ErrorCode;
use sova_store::PaymentClaim;
use std::time::Duration;

use super::Ctx;
use crate::config::{Config, Settlement};
use sova_http::error::ApiError;

/// How long a claimed payment is locked against concurrent use.
const IN_FLIGHT_MS: i64 = 120_000;
/// How long a payment is remembered against replay.
const REPLAY_WINDOW_MS: i64 = 24 * 3600 * 1000;

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
    /// Solana JSON-RPC client (`rpc` settlement).
    pub rpc: Option<SolanaRpc>,
    /// Verification policy (fee payer, precomputed treasury token accounts).
    pub policy: VerifyPolicy,
    /// A recent blockhash to offer (`extra.recentBlockhash`), refreshed from the RPC node; a random one in sandbox.
    pub blockhash: parking_lot::RwLock<Option<(String, u64)>>,
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
        let fee_payer_key = sova_chain::solana::pubkey_of(&fee_payer);
        let pay_to_key = sova_chain::solana::parse_pubkey(&pay_to).map_err(|e| anyhow::anyhow!("payTo: {e}"))?;
        let mint = sova_chain::solana::parse_pubkey(asset).map_err(|e| anyhow::anyhow!("mint: {e}"))?;
        let policy = VerifyPolicy::new([fee_payer_key]).with_destination(&pay_to_key, &mint);
        // Sandbox: nothing is submitted, so any well-formed blockhash serves (it spares clients an RPC call).
        let blockhash =
            sandbox.then(|| (bs58::encode(sova_auth::keys::random_bytes::<32>()).into_string(), u64::MAX / 2));
        Ok(Self {
            network,
            asset,
            pay_to,
            fee_payer,
            settlement: config.x402_settlement,
            rpc: config.solana_rpc_url.as_deref().filter(|_| !sandbox).map(SolanaRpc::new),
            policy,
            blockhash: parking_lot::RwLock::new(blockhash),
        })
    }

    /// The fee payer's address, base58.
    pub fn fee_payer_address(&self) -> String {
        bs58::encode(self.fee_payer.verifying_key().as_bytes()).into_string()
    }
}

/// The `accepts[0]` offer for an endpoint.
pub fn offer(ctx: &Ctx, price_key: &str) -> PaymentRequirements {
    let price = ctx.config.intel_price(price_key);
    let offer = PaymentRequirements::exact(
        ctx.x402.network,
        price.usdc,
        ctx.x402.asset,
        &ctx.x402.pay_to,
        60,
        &ctx.x402.fee_payer_address(),
    );
    match ctx.x402.blockhash.read().clone() {
        Some((hash, height)) => offer.with_recent_blockhash(hash, height),
        None => offer,
    }
}

fn resource(req_uri: &str, price_key: &str) -> ResourceInfo {
    ResourceInfo {
        url: req_uri.to_string(),
        description: Some(format!("Sova Intel: {price_key}")),
        mime_type: Some("application/json".into()),
    }
}

/// 402 with `PAYMENT-REQUIRED` (base64 JSON), the same JSON in the body, `Cache-Control: no-store`.
pub fn payment_required(ctx: &Ctx, req: &Request, price_key: &str, error: String) -> Response {
    payment_required_for(ctx, &req.uri().to_string(), price_key, error)
}

fn payment_required_for(ctx: &Ctx, uri: &str, price_key: &str, error: String) -> Response {
    let body = PaymentRequired::new(resource(uri, price_key), vec![offer(ctx, price_key)]).with_error(error);
    let mut resp = (StatusCode::PAYMENT_REQUIRED, axum::Json(&body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&body.to_header()) {
        resp.headers_mut().insert("payment-required", v);
    }
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn with_settle_headers(resp: &mut Response, settle: &SettleResponse, tx_signature: Option<&str>) {
    if let Ok(v) = HeaderValue::from_str(&settle.to_header()) {
        resp.headers_mut().insert("payment-response", v);
    }
    if let Some(sig) = tx_signature.and_then(|s| HeaderValue::from_str(s).ok()) {
        resp.headers_mut().insert("x-payment-response", sig);
    }
}

/// How a settlement ended.
enum Settled {
    /// Final: the transaction id.
    Done(String),
    /// Submitted, not confirmed in time: resolved later, never charged twice.
    Pending(String),
    /// Refused or failed: nothing was taken.
    Failed(String),
}

/// Record a settled payment in Sova's ledger: the outside world paid the treasury.
async fn book(ctx: &Ctx, v: &Verified) -> Result<(), sova_store::StoreError> {
    let amount = rust_decimal::Decimal::from_i128_with_scale(i128::from(v.amount), 6);
    let network = if ctx.x402.network == SOLANA_MAINNET { "solana" } else { "solana-devnet" };
    let postings = [
        sova_store::Posting {
            account: sova_store::external_account("x402", network, "USDC"),
            currency: "USDC".into(),
            amount: -amount,
            may_go_negative: true,
        },
        sova_store::Posting {
            account: format!("x402-treasury:{network}:USDC"),
            currency: "USDC".into(),
            amount,
            may_go_negative: false,
        },
    ];
    match ctx.store.post("x402", &v.message_hash_hex(), &postings, ctx.clock.now_ms()).await {
        Ok(()) | Err(sova_store::StoreError::Conflict(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

async fn settle(ctx: &Ctx, v: &Verified) -> Settled {
    let signed = match v.co_sign(&ctx.x402.fee_payer) {
        Ok(s) => s,
        Err(e) => return Settled::Failed(format!("transaction confirmation failed: {e}")),
    };
    match (ctx.x402.settlement, ctx.x402.rpc.as_ref()) {
        (Settlement::Sandbox, _) | (Settlement::Rpc, None) => match book(ctx, v).await {
            Ok(()) => Settled::Done(signed.signature),
            Err(e) => Settled::Failed(format!("transaction confirmation failed: {e}")),
        },
        (Settlement::Rpc, Some(rpc)) => {
            let tx = STANDARD.encode(&signed.transaction);
            match rpc.simulate(&tx).await {
                Ok(sim) if sim.err.is_some() => {
                    return Settled::Failed(format!(
                        "transaction simulation failed: {}",
                        sim.err.map(|e| e.to_string()).unwrap_or_default()
                    ));
                }
                Ok(_) => {}
                Err(e) => return Settled::Failed(format!("transaction confirmation failed: {e}")),
            }
            let sig = match rpc.send(&tx).await {
                Ok(s) => s,
                Err(e) => return Settled::Failed(format!("transaction confirmation failed: {e}")),
            };
            match rpc.confirm(&sig, Duration::from_secs(30)).await {
                Ok(TxStatus::Confirmed) => match book(ctx, v).await {
                    Ok(()) => Settled::Done(sig),
                    Err(e) => {
                        tracing::error!(error = %e, signature = %sig, "settled on chain but not booked");
                        Settled::Done(sig)
                    }
                },
                Ok(TxStatus::Failed(e)) => Settled::Failed(format!("transaction confirmation failed: {e}")),
                Ok(_) | Err(_) => Settled::Pending(sig),
            }
        }
    }
}

/// A call without credentials: verify an x402 payment (official flow or the seed variant), run the call, settle it,
/// or answer 402 with the offer and the reason.
pub async fn pay_per_call(ctx: &Ctx, req: Request, next: Next, price_key: &str) -> Response {
    let uri = req.uri().to_string();
    let raw = req.headers().get("payment-signature").or_else(|| req.headers().get("x-payment")).cloned();
    let Some(raw) = raw else {
        return payment_required_for(
            ctx,
            &uri,
            price_key,
            "payment required: send X-Api-Key, or pay with an x402 PAYMENT-SIGNATURE".into(),
        );
    };
    let Ok(raw) = raw.to_str() else {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::MalformedJson,
            "PAYMENT-SIGNATURE must be ASCII base64",
        )
        .into_response();
    };
    let offers = [offer(ctx, price_key)];
    let verified = match sova_auth::x402::verify_payment_header(raw, &offers, &ctx.x402.policy) {
        Ok(v) => v,
        Err(e) if e.is_malformed() => {
            return ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::MalformedJson, e.to_string()).into_response();
        }
        Err(e) => {
            let mut resp = payment_required_for(ctx, &uri, price_key, e.to_string());
            let settle = SettleResponse::failure(e.code(), ctx.x402.network.into(), None, String::new());
            with_settle_headers(&mut resp, &settle, None);
            return resp;
        }
    };
    let now = ctx.clock.now_ms();
    let claim = sova_store::X402Payment {
        message_hash: verified.message_hash_hex(),
        tx_signature: verified.client_signature.clone(),
        payer: verified.payer.to_string(),
        amount: i64::try_from(verified.amount).unwrap_or(i64::MAX),
        network: verified.network.clone(),
        resource: uri.clone(),
        status: "IN_FLIGHT".into(),
        locked_until: now + IN_FLIGHT_MS,
        detail: None,
        created_at: now,
        updated_at: now,
    };
    let payer = Some(verified.payer.to_string());
    match ctx.store.claim_payment(&claim).await {
        Ok(PaymentClaim::Claimed) => {}
        Ok(PaymentClaim::InFlight) => {
            let mut resp =
                payment_required_for(ctx, &uri, price_key, "payment is being processed by another request".into());
            let settle = SettleResponse::failure("payment_in_flight", verified.network.clone(), payer, String::new());
            with_settle_headers(&mut resp, &settle, None);
            return resp;
        }
        Ok(PaymentClaim::AlreadyUsed(_)) => {
            let mut resp =
                payment_required_for(ctx, &uri, price_key, "transaction already used (replay attack)".into());
            let settle = SettleResponse::failure("replay", verified.network.clone(), payer, String::new());
            with_settle_headers(&mut resp, &settle, None);
            return resp;
        }
        Err(e) => return ApiError::from(e).into_response(),
    }
    // Serve first, settle only if the call succeeded (nothing is taken for a failed call).
    let mut resp = next.run(req).await;
    if !resp.status().is_success() {
        if let Err(e) = ctx.store.release_payment(&claim.message_hash).await {
            tracing::error!(error = %e, "could not release an unused payment");
        }
        return resp;
    }
    let (status, detail, settle, sig) = match settle(ctx, &verified).await {
        Settled::Done(sig) => (
            "SETTLED",
            None,
            SettleResponse::success(sig.clone(), verified.network.clone(), verified.payer.to_string(), verified.amount),
            Some(sig),
        ),
        Settled::Pending(sig) => (
            "PENDING",
            Some(format!("sig:{sig}")),
            SettleResponse::failure("settlement_pending", verified.network.clone(), payer.clone(), sig.clone()),
            Some(sig),
        ),
        Settled::Failed(reason) => {
            let _ = ctx.store.finish_payment(&claim.message_hash, "FAILED", Some(&reason), ctx.clock.now_ms()).await;
            let mut resp = payment_required_for(ctx, &uri, price_key, reason);
            let settle = SettleResponse::failure("settlement_failed", verified.network.clone(), payer, String::new());
            with_settle_headers(&mut resp, &settle, None);
            return resp;
        }
    };
    if let Err(e) = ctx.store.finish_payment(&claim.message_hash, status, detail.as_deref(), ctx.clock.now_ms()).await {
        tracing::error!(error = %e, "could not record a payment's settlement");
    }
    with_settle_headers(&mut resp, &settle, sig.as_deref());
    if ctx.x402.settlement == Settlement::Sandbox {
        resp.headers_mut().insert(
            "x-sova-settlement",
            HeaderValue::from_static("sandbox: verified and booked, not submitted to any chain"),
        );
    }
    resp
}

/// Resolve `PENDING` settlements (RPC): confirmed ones are booked, failed ones marked, every 10 s.
pub fn spawn_pending_resolver(ctx: Ctx) {
    let Some(rpc) = ctx.x402.rpc.clone() else { return };
    let jobs = ctx.access.jobs.clone();
    jobs.spawn("x402-pending-resolver", async move {
        loop {
            tokio::time::sleep(Duration::from_secs(10)).await;
            let Ok(pending) = ctx.store.payments_with_status("PENDING").await else { continue };
            for p in pending {
                let Some(sig) = p.detail.as_deref().and_then(|d| d.strip_prefix("sig:")).map(str::to_string) else {
                    continue;
                };
                match rpc.status(&sig).await {
                    Ok(TxStatus::Confirmed) => {
                        let _ = ctx
                            .store
                            .finish_payment(&p.message_hash, "SETTLED", Some(&format!("sig:{sig}")), ctx.clock.now_ms())
                            .await;
                    }
                    Ok(TxStatus::Failed(e)) => {
                        let _ = ctx.store.finish_payment(&p.message_hash, "FAILED", Some(&e), ctx.clock.now_ms()).await;
                    }
                    _ => {}
                }
            }
            let _ = ctx.store.prune_payments(ctx.clock.now_ms() - REPLAY_WINDOW_MS).await;
        }
    });
}

/// Keep `extra.recentBlockhash` fresh from the RPC node (every 20 s), so clients need no RPC call of their own.
pub fn spawn_blockhash_refresher(ctx: Ctx) {
    let Some(rpc) = ctx.x402.rpc.clone() else { return };
    let jobs = ctx.access.jobs.clone();
    jobs.spawn("x402-blockhash-refresher", async move {
        loop {
            match rpc.latest_blockhash().await {
                Ok(h) => *ctx.x402.blockhash.write() = Some(h),
                Err(e) => tracing::warn!(error = %e, "could not refresh the recent blockhash"),
            }
            tokio::time::sleep(Duration::from_secs(20)).await;
        }
    });
}
