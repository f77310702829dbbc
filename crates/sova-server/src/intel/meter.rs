//! Metering of the Intel API: who pays for a call, and billing it exactly once.
//!
//! A call with `X-Api-Key: ak_<hex>` (or signed with `Cs-*` by a Connect customer that owns an Intel account)
//! reserves its cost before the handler runs and gets it back if the handler does not succeed, so a 2xx is billed
//! exactly once and the balance never goes below zero, whatever the concurrency and however many replicas share the
//! database. Reservations and refunds go through the [`Biller`], which commits them in groups: while one group is
//! being committed the next accumulates, so a busy server makes one transaction per group, not per call.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sova_store::{Charge, Store};
use tokio::sync::{mpsc, oneshot};

use super::Ctx;
use sova_http::context::trace_id;
use sova_http::error::ApiError;
use sova_http::hmac::HmacIdentity;

/// Largest group of charges in one transaction.
const MAX_GROUP: usize = 512;

type Reply = oneshot::Sender<Result<Result<i64, i64>, String>>;

/// Group-committing biller.
#[derive(Clone)]
pub struct Biller {
    tx: mpsc::Sender<(Charge, Reply)>,
}

impl Biller {
    /// Start the biller's task.
    pub fn start(store: Arc<dyn Store>, jobs: &sova_runtime::Jobs, clock: sova_runtime::Clock) -> Self {
        let (tx, mut rx) = mpsc::channel::<(Charge, Reply)>(16 * MAX_GROUP);
        // One group in flight: while it commits the next accumulates. (Two billers with their own queues, and one
        // queue with two groups in flight on PostgreSQL, were both measured slower: smaller groups, and the second
        // waits on the account row lock of the first.)
        jobs.spawn("intel-biller", async move {
            let mut group = Vec::with_capacity(MAX_GROUP);
            while rx.recv_many(&mut group, MAX_GROUP).await > 0 {
                let (charges, replies): (Vec<Charge>, Vec<Reply>) = group.drain(..).unzip();
                let now = clock.now_ms();
                match store.apply_charges(&charges, now).await {
                    Ok(results) => {
                        for (reply, r) in replies.into_iter().zip(results) {
                            let _ = reply.send(Ok(r));
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "billing transaction failed");
                        for reply in replies {
                            let _ = reply.send(Err(e.to_string()));
                        }
                    }
                }
            }
        });
        Self { tx }
    }

    /// Apply one charge (waits for its group to commit): `Ok(balance)` or `Err(balance)` when credits are short.
    pub async fn charge(&self, c: Charge) -> Result<Result<i64, i64>, ApiError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send((c, reply)).await.map_err(|_| ApiError::internal("biller stopped"))?;
        rx.await.map_err(|_| ApiError::internal("biller dropped a charge"))?.map_err(ApiError::internal)
    }
}

/// A new Intel key (`ak_` + 32 hex characters) and its row (stored by keyed hash; `account_id` is the id a new
/// account gets, the store keeps an existing owner's). The key itself is shown once.
pub fn mint_key(hasher: &sova_auth::keys::KeyHasher, now: i64) -> (String, sova_store::IntelKeyRow) {
    let key = format!("ak_{}", hex::encode(sova_auth::keys::random_bytes::<16>()));
    let row = sova_store::IntelKeyRow {
        id: uuid::Uuid::new_v4().to_string(),
        account_id: uuid::Uuid::new_v4().to_string(),
        key_hash: hasher.hash(&key).0,
        prefix: key[..9].to_string(),
        created_at: now,
        revoked_at: None,
    };
    (key, row)
}

/// A verified `ak_` key, as cached.
#[derive(Debug)]
pub struct CachedIntelKey {
    /// Key id.
    pub key_id: String,
    /// Account.
    pub account_id: String,
    /// Revoked.
    pub revoked: bool,
}

/// Who pays for an Intel call.
#[derive(Debug, Clone)]
pub enum Payer {
    /// An account's credits, through one of its keys (or a `Cs-*` credential of its owner).
    Credits {
        /// Account.
        account_id: String,
        /// Key id (none for `Cs-*`).
        key_id: Option<String>,
    },
}

async fn key_account(ctx: &Ctx, key: &str) -> Result<Arc<CachedIntelKey>, ApiError> {
    let invalid =
        || ApiError::unauthorized("invalid Intel API key: send `X-Api-Key: ak_<hex>` as issued by the operator");
    if !key.starts_with("ak_") || key.len() > 128 {
        return Err(invalid());
    }
    let hash = ctx.access.hasher.hash(key);
    if let Some(k) = ctx.keys.get(hash.as_str()) {
        return if k.revoked { Err(invalid()) } else { Ok(k) };
    }
    let epoch = ctx.access.bus.epoch();
    let Some((row, _account)) = ctx.store.intel_key_by_hash(hash.as_str()).await? else {
        return Err(invalid());
    };
    let k = Arc::new(CachedIntelKey { key_id: row.id, account_id: row.account_id, revoked: row.revoked_at.is_some() });
    ctx.keys.insert_if(epoch, hash.0, k.clone());
    if k.revoked { Err(invalid()) } else { Ok(k) }
}

/// Identify the payer of a request from its credentials; `None` when it carries none (then x402 applies).
pub async fn payer(ctx: &Ctx, headers: &HeaderMap, hmac: Option<&HmacIdentity>) -> Result<Option<Payer>, ApiError> {
    if let Some(id) = hmac {
        if let Some(account_id) = ctx.owners.get(id.customer_id.as_str()) {
            return Ok(Some(Payer::Credits { account_id: account_id.as_ref().clone(), key_id: None }));
        }
        let epoch = ctx.access.bus.epoch();
        let account = ctx.store.intel_account_by_owner(&id.customer_id).await?.ok_or_else(|| {
            ApiError::forbidden(
                "this customer has no Intel account; ask the operator for one, or pay per call with x402",
            )
        })?;
        ctx.owners.insert_if(epoch, id.customer_id.clone(), Arc::new(account.id.clone()));
        return Ok(Some(Payer::Credits { account_id: account.id, key_id: None }));
    }
    match headers.get("x-api-key").map(|v| v.to_str()) {
        Some(Ok(k)) => {
            let k = key_account(ctx, k.trim()).await?;
            Ok(Some(Payer::Credits { account_id: k.account_id.clone(), key_id: Some(k.key_id.clone()) }))
        }
        Some(Err(_)) => Err(ApiError::unauthorized("X-Api-Key must be ASCII")),
        None => Ok(None),
    }
}

/// The price key of an Intel route (`hud`, `activity`, `batch`).
pub fn price_key(route: &str) -> &'static str {
    if route.ends_with("/hud") && route.contains("/wallet/") {
        "hud"
    } else if route.ends_with("/activity") {
        "activity"
    } else {
        "batch"
    }
}

fn credit_headers(resp: &mut Response, cost: i64, remaining: i64) {
    resp.headers_mut().insert("x-credits-cost", HeaderValue::from(cost));
    resp.headers_mut().insert("x-credits-remaining", HeaderValue::from(remaining));
}

/// Middleware on the Intel routes: credits, or x402, or 402.
pub async fn meter(State(ctx): State<Ctx>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_default();
    let key = price_key(&route);
    let price = ctx.config.intel_price(key);
    let hmac = req.extensions().get::<HmacIdentity>().cloned();
    let payer = match payer(&ctx, req.headers(), hmac.as_ref()).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    match payer {
        Some(Payer::Credits { account_id, key_id }) => {
            let charge = Charge {
                account_id: account_id.clone(),
                key_id: key_id.clone(),
                kind: "call",
                endpoint: route.clone(),
                cost: price.credits,
                trace_id: trace_id(),
            };
            let balance = match ctx.biller.charge(charge).await {
                Ok(Ok(b)) => b,
                Ok(Err(balance)) => {
                    let mut resp = crate::intel::x402::payment_required(
                        &ctx,
                        &req,
                        key,
                        format!(
                            "not enough credits: this call costs {}, {balance} left; top up, or pay per call with x402",
                            price.credits
                        ),
                    );
                    credit_headers(&mut resp, 0, balance);
                    return resp;
                }
                Err(e) => return e.into_response(),
            };
            let mut resp = next.run(req).await;
            if resp.status().is_success() {
                credit_headers(&mut resp, price.credits, balance);
                return resp;
            }
            // Not a success: give the credits back.
            let refund = Charge {
                account_id,
                key_id,
                kind: "refund",
                endpoint: route,
                cost: -price.credits,
                trace_id: trace_id(),
            };
            match ctx.biller.charge(refund).await {
                Ok(Ok(b)) => credit_headers(&mut resp, 0, b),
                Ok(Err(_)) | Err(_) => {
                    tracing::error!("refund of a failed Intel call could not be written");
                }
            }
            resp
        }
        None => crate::intel::x402::pay_per_call(&ctx, req, next, key).await,
    }
}
