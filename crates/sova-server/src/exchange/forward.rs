//! A follower replica's writes go to the leader (issue 14, item 10): every exchange request that is not a read
//! (`GET`, `HEAD`, `OPTIONS`) arriving at a follower is sent on to the leader's recorded URL as received (method,
//! path and query, headers, body byte for byte; the EIP-712 signature is verified there) and the leader's answer
//! is relayed unchanged. The forwarded request carries a token derived from the server key every replica shares,
//! so the leader skips the per-IP budget the follower already counted (against the client's address, shared
//! across replicas) and never forwards it again. When no leader is known, the leader cannot be reached, or a
//! forwarded request lands on another follower, the answer is `503 NOT_LEADER` naming the leader: nothing was
//! applied and the client may retry.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use sova_exchange::Reason;

use super::Ctx;

/// The header a forwarded write carries.
const FORWARDED: HeaderName = HeaderName::from_static("x-sova-forwarded");
/// Headers not passed on (hop by hop, or recomputed).
const SKIP: [&str; 7] =
    ["host", "connection", "keep-alive", "transfer-encoding", "content-length", "upgrade", "x-sova-forwarded"];

/// The HTTP client and the deployment's forwarding token.
pub struct Forwarder {
    client: reqwest::Client,
    token: String,
    body_limit: usize,
}

impl Forwarder {
    /// `token`: a secret every replica derives alike (from the shared server key).
    pub fn new(token: String, body_limit: usize) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self { client, token, body_limit })
    }

    /// Did another replica forward this request (with the deployment's token)?
    pub fn is_forwarded(&self, h: &HeaderMap) -> bool {
        h.get(&FORWARDED).is_some_and(|v| sova_auth::keys::ct_eq(v.as_bytes(), self.token.as_bytes()))
    }
}

fn refuse(ctx: &Ctx, message: String) -> Response {
    let mut e = sova_http::ApiError::exchange(Reason::NotLeader, message);
    e.retry_after = Some(1);
    sova_http::envelope::exchange_error(&ctx.clock, &e)
}

/// Middleware of the exchange's routes: a follower forwards writes to the leader.
pub async fn forward_writes(State(ctx): State<Ctx>, req: Request, next: Next) -> Response {
    let read = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if read || ctx.exchange.role.is_leader() {
        return next.run(req).await;
    }
    let Some(leader) = ctx.exchange.role.leader_url() else {
        return refuse(&ctx, "this replica follows and no exchange leader is known yet; retry in a second".into());
    };
    if ctx.forwarder.is_forwarded(req.headers()) {
        return refuse(&ctx, format!("this replica follows; the exchange's leader is {leader}"));
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, ctx.forwarder.body_limit).await else {
        return refuse(&ctx, format!("the body could not be read to forward it to the leader at {leader}"));
    };
    let target = format!(
        "{}{}",
        leader.trim_end_matches('/'),
        parts.uri.path_and_query().map_or_else(|| parts.uri.path(), |p| p.as_str())
    );
    let Ok(method) = reqwest::Method::from_bytes(parts.method.as_str().as_bytes()) else {
        return refuse(&ctx, "unsupported method".into());
    };
    let mut rb = ctx.forwarder.client.request(method, &target);
    for (k, v) in &parts.headers {
        // The `Cs-*` headers were verified here already (and their signature spent): the leader needs the
        // exchange's own signature only.
        if SKIP.contains(&k.as_str()) || k.as_str().starts_with("cs-") {
            continue;
        }
        rb = rb.header(k.as_str(), v.as_bytes());
    }
    rb = rb.header(FORWARDED.as_str(), ctx.forwarder.token.as_str()).body(bytes);
    let answer = match rb.send().await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, leader = %leader, "exchange: forwarding a write to the leader failed");
            return refuse(&ctx, format!("the exchange's leader at {leader} could not be reached; retry in a second"));
        }
    };
    let status = answer.status().as_u16();
    let headers = answer.headers().clone();
    let Ok(body) = answer.bytes().await else {
        return refuse(
            &ctx,
            format!(
                "the answer of the exchange's leader at {leader} was cut off; the write may have applied: check before retrying"
            ),
        );
    };
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::BAD_GATEWAY);
    for (k, v) in &headers {
        if SKIP.contains(&k.as_str()) {
            continue;
        }
        if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(k.as_str().as_bytes()), HeaderValue::from_bytes(v.as_bytes())) {
            resp.headers_mut().append(k, v);
        }
    }
    resp
}
