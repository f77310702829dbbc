//! Signed webhooks end to end on both backends: a real HTTP receiver, events written with the withdrawal changes,
//! Standard Webhooks signatures checked by the official Python library, retries on the schedule with a stable
//! `webhook-id`, secret rotation (two signatures), 410 disabling, redelivery, replay, test events; and what is
//! refused (private targets, unknown types, reserved headers, other tenants).

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use reqwest::Method;
use serde_json::{Value, json};
use sova_runtime::Clock;

use crate::withdrawals::{DEST, code, funded, sandbox_code, send};
use sova_testkit_app::on_both;
use sova_testkit_app::prelude::*;

#[derive(Debug, Clone)]
struct Got {
    path: String,
    headers: HashMap<String, String>,
    body: String,
}

/// A webhook receiver on 127.0.0.1: records every request; answers each path from its script (then 200).
#[derive(Clone, Default)]
struct Sink {
    got: Arc<Mutex<Vec<Got>>>,
    script: Arc<Mutex<HashMap<String, VecDeque<u16>>>>,
}

impl Sink {
    async fn start() -> (String, Sink) {
        let sink = Sink::default();
        let s = sink.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let s = s.clone();
            async move {
                let path = uri.path().to_string();
                let headers = headers
                    .iter()
                    .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
                    .collect();
                let body = String::from_utf8_lossy(&body).into_owned();
                s.got.lock().unwrap().push(Got { path: path.clone(), headers, body });
                let status = s.script.lock().unwrap().get_mut(&path).and_then(VecDeque::pop_front).unwrap_or(200);
                (StatusCode::from_u16(status).unwrap(), "thanks").into_response()
            }
        });
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        (format!("http://{addr}"), sink)
    }

    fn answer(&self, path: &str, statuses: &[u16]) {
        self.script.lock().unwrap().entry(path.into()).or_default().extend(statuses);
    }

    fn at(&self, path: &str) -> Vec<Got> {
        self.got.lock().unwrap().iter().filter(|g| g.path == path).cloned().collect()
    }

    /// Wait until `path` has had `n` requests (the dispatcher runs in the background).
    async fn wait(&self, path: &str, n: usize) -> Vec<Got> {
        for _ in 0..400 {
            let got = self.at(path);
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{path} received {} requests, expected {n}", self.at(path).len());
    }
}

fn body(g: &Got) -> Value {
    serde_json::from_str(&g.body).unwrap()
}

const PY_VERIFY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/verify_webhooks.py");

/// Which of `secrets` the official `standardwebhooks` library accepts for each request; `None` when it is not
/// installed (a failure with `SOVA_REQUIRE_INTEROP=1`).
fn verified_by_standardwebhooks(secrets: &[&str], reqs: &[Got]) -> Option<Vec<Vec<bool>>> {
    let required = std::env::var("SOVA_REQUIRE_INTEROP").is_ok_and(|v| v == "1");
    let py = std::env::var("SOVA_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let job = json!({"secrets": secrets,
        "requests": reqs.iter().map(|g| json!({"headers": g.headers, "body": g.body})).collect::<Vec<_>>()});
    let mut child = Command::new(&py)
        .arg(PY_VERIFY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(job.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.code() == Some(3) {
        let why = String::from_utf8_lossy(&out.stderr);
        assert!(!required, "SOVA_REQUIRE_INTEROP=1 but {why}");
        eprintln!("SKIPPED: {why} (pip install -r crates/sova-server/tests/interop/requirements.txt)");
        return None;
    }
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    Some(serde_json::from_value(v["verified"].clone()).unwrap())
}

async fn delivered_signed_and_retried(backend: Backend) {
    let clock = Clock::manual(chrono::Utc::now().timestamp_millis());
    let app = spawn_app_at_with(backend, clock.clone(), |c| c.webhook_allow_private = true).await;
    let (sink_url, sink) = Sink::start().await;
    let (owner, uid, wallet_id) = funded(&app, "wh-flow", "1").await;
    let cid = "wh-flow";
    let ops = app.operator().await;

    // The vendor's Configure Webhook (session): the secret is shown the first time only; calling again overwrites.
    let hook = json!({"url": format!("{sink_url}/old"), "headers": [{"key": "X-Customer-Token", "value": "tok-1"}]});
    let (s, v) = send(&ops, Method::POST, &format!("/customers/{cid}/webhooks"), Some(hook)).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["data"]["message"], "Webhook configured successfully");
    let vendor_secret = v["data"]["secret"].as_str().unwrap().to_string();
    assert!(vendor_secret.starts_with("whsec_"));
    let vendor_ep = v["data"]["endpoint_id"].as_str().unwrap().to_string();
    let hook = json!({"url": format!("{sink_url}/vendor"), "headers": [{"key": "X-Customer-Token", "value": "tok-1"}]});
    let (s, v) = send(&ops, Method::POST, &format!("/customers/{cid}/webhooks"), Some(hook)).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["data"]["endpoint_id"], vendor_ep.as_str());
    assert!(v["data"].get("secret").is_none(), "shown once: {v}");
    let (s, v) = send(&ops, Method::GET, &format!("/customers/{cid}/webhooks"), None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"]["headers"][0]["value"], "***masked***");
    assert_eq!(v["data"]["url"], format!("{sink_url}/vendor"));

    // Stored sealed: neither the secret nor the header value is in the row.
    let row = app.running.ctx.store.endpoint(cid, &vendor_ep).await.unwrap().unwrap();
    assert!(row.secret_sealed.starts_with("sealed:v2:") && !row.secret_sealed.contains(&vendor_secret[6..]));
    assert!(!row.headers.contains("tok-1"));

    // A second endpoint, by the customer's own owner key, for codes only; its first answer is a 503.
    let ep = json!({"url": format!("{sink_url}/codes"), "event_types": ["withdrawal.confirmation_required"],
        "description": "codes to the user"});
    let (s, v) = send(&owner, Method::POST, &format!("/customers/{cid}/webhook-endpoints"), Some(ep)).await;
    assert_eq!(s, 201, "{v}");
    let codes_secret = v["data"]["secret"].as_str().unwrap().to_string();
    let codes_ep = v["data"]["endpoint_id"].as_str().unwrap().to_string();
    sink.answer("/codes", &[503]);

    // A withdrawal: its events reach the vendor target (every type) and the codes endpoint (its type).
    let path = format!("/users/{uid}/accounts/crypto/withdrawals");
    let (s, w) =
        send(&owner, Method::POST, &path, Some(json!({"currency": "btc", "amount": "0.1", "address": DEST}))).await;
    assert_eq!(s, 201, "{w}");
    let wid = w["data"]["id"].as_str().unwrap().to_string();
    let vendor = sink.wait("/vendor", 2).await;
    // No order is promised between deliveries sent at once: compare as sets.
    let mut types: Vec<String> = vendor.iter().map(|g| body(g)["type"].as_str().unwrap().to_string()).collect();
    types.sort();
    assert_eq!(types, ["withdrawal.confirmation_required", "withdrawal.created"]);
    for g in &vendor {
        assert_eq!(g.headers["x-customer-token"], "tok-1");
        assert_eq!(g.headers["content-type"], "application/json");
        assert_eq!(g.headers["webhook-id"], body(g)["id"].as_str().unwrap());
        assert!(g.headers["webhook-signature"].starts_with("v1,"));
        assert_eq!(body(g)["data"]["withdrawal_id"], wid.as_str());
    }

    // The codes endpoint answered 503: retried 5 s later (±10 %) with the same webhook-id.
    let first = sink.wait("/codes", 1).await;
    clock.advance(4_000);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sink.at("/codes").len(), 1, "not before the schedule");
    clock.advance(2_000);
    let codes = sink.wait("/codes", 2).await;
    assert_eq!(codes[0].headers["webhook-id"], first[0].headers["webhook-id"]);
    assert_eq!(codes[1].headers["webhook-id"], codes[0].headers["webhook-id"]);
    assert_eq!(codes[1].body, codes[0].body, "the same bytes");

    // The code in the event is the one that confirms the withdrawal (the customer's backend passes it on).
    let event = body(&codes[1]);
    let pin = event["data"]["code"].as_str().unwrap().to_string();
    assert_eq!(pin, sandbox_code(&owner, &wid).await);
    let (s, c) = send(&owner, Method::POST, &format!("{path}/{wid}/confirm"), Some(json!({"code": pin}))).await;
    assert_eq!(s, 200, "{c}");
    let mut after: Vec<String> =
        sink.wait("/vendor", 4).await[2..].iter().map(|g| body(g)["type"].as_str().unwrap().to_string()).collect();
    after.sort();
    assert_eq!(after, ["withdrawal.approved", "withdrawal.broadcast"]);

    // The deliveries as the API shows them.
    let (s, d) =
        send(&owner, Method::GET, &format!("/customers/{cid}/webhook-endpoints/{codes_ep}/deliveries"), None).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["data"][0]["status"], "SUCCEEDED", "{d}");
    assert_eq!(d["data"][0]["attempts"], 2);
    assert_eq!(d["data"][0]["response_status"], 200);

    // Rotation: for a day each delivery carries the new and the previous signature.
    let rot = format!("/customers/{cid}/webhook-endpoints/{codes_ep}/rotate-secret");
    let (s, r) = send(&owner, Method::POST, &rot, None).await;
    assert_eq!(s, 201, "{r}");
    let new_secret = r["data"]["secret"].as_str().unwrap().to_string();
    assert!(r["data"]["previous_secret_expires_at"].is_string());
    let (s, t) = send(&owner, Method::POST, &format!("/customers/{cid}/webhook-endpoints/{codes_ep}/test"), None).await;
    assert_eq!(s, 201, "{t}");
    let codes = sink.wait("/codes", 3).await;
    assert_eq!(body(&codes[2])["type"], "webhook.test");
    assert_eq!(codes[2].headers["webhook-signature"].split(' ').count(), 2);
    assert_eq!(sink.at("/vendor").len(), 4, "a test goes to its endpoint only");

    // The official library agrees with every signature, and only with the right secrets.
    if let Some(v) =
        verified_by_standardwebhooks(&[&vendor_secret, &codes_secret, &new_secret], &[vendor, codes].concat())
    {
        let want = [
            vec![true, false, false],
            vec![true, false, false],
            vec![false, true, false],
            vec![false, true, false],
            vec![false, true, true],
        ];
        assert_eq!(v, want);
    }

    // 410 Gone disables the endpoint; re-enabled, a redelivery sends the same event again.
    sink.answer("/vendor", &[410]);
    let (s, c) = send(&owner, Method::POST, &format!("/sandbox/withdrawals/{wid}/complete"), None).await;
    assert_eq!(s, 200, "{c}");
    let vendor = sink.wait("/vendor", 5).await;
    assert_eq!(body(&vendor[4])["type"], "withdrawal.completed");
    let gone_id = vendor[4].headers["webhook-id"].clone();
    let mut disabled = Value::Null;
    for _ in 0..100 {
        let (_, v) = send(&ops, Method::GET, &format!("/customers/{cid}/webhooks"), None).await;
        if v["data"]["status"] == "DISABLED" {
            disabled = v;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(disabled["data"]["disabled_reason"], "the target answered 410 Gone", "{disabled}");
    let n_before = sink.at("/vendor").len();
    let ep_path = format!("/customers/{cid}/webhook-endpoints/{vendor_ep}");
    let (s, v) = send(&ops, Method::PATCH, &ep_path, Some(json!({"enabled": true}))).await;
    assert_eq!(s, 200, "{v}");
    let (s, r) = send(&ops, Method::POST, &format!("/customers/{cid}/webhook-events/{gone_id}/redeliver"), None).await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["data"]["queued"], 1);
    let vendor = sink.wait("/vendor", n_before + 1).await;
    assert_eq!(vendor[n_before].headers["webhook-id"], gone_id);

    // Replay a range to the codes endpoint: the events of its type (one), again.
    let since = sova_http::time::iso(clock.now_ms() - 3_600_000);
    let (s, r) = send(
        &owner,
        Method::POST,
        &format!("/customers/{cid}/webhook-endpoints/{codes_ep}/replay"),
        Some(json!({"since": since})),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["data"]["queued"], 1);
    let codes = sink.wait("/codes", 4).await;
    assert_eq!(codes[3].headers["webhook-id"], codes[0].headers["webhook-id"]);

    // Deposits are events too: seen (pending), then completed, each written with its ledger move.
    let (_, w) = send(&owner, Method::GET, &format!("/wallets/{wallet_id}"), None).await;
    let address = w["data"]["addresses"][0]["address"].as_str().unwrap().to_string();
    let n_before = sink.at("/vendor").len();
    let dep = json!({"address": address, "currency": "BTC", "network": "bitcoin-testnet", "amount": "0.5"});
    let (s, d) = send(&owner, Method::POST, "/sandbox/deposits", Some(dep)).await;
    assert_eq!(s, 201, "{d}");
    let vendor = sink.wait("/vendor", n_before + 2).await;
    let mut deposit_events: Vec<(Value, Value, Value)> = vendor[n_before..]
        .iter()
        .map(|g| (body(g)["type"].clone(), body(g)["data"]["deposit_id"].clone(), body(g)["data"]["amount"].clone()))
        .collect();
    deposit_events.sort_by_key(|e| e.0.to_string());
    let (id, amount) = (d["data"]["deposit_id"].clone(), json!("0.5"));
    assert_eq!(
        deposit_events,
        [(json!("deposit.completed"), id.clone(), amount.clone()), (json!("deposit.pending"), id, amount)]
    );

    // Deleted: gone from the list.
    let (s, _) = send(&owner, Method::DELETE, &format!("/customers/{cid}/webhook-endpoints/{codes_ep}"), None).await;
    assert_eq!(s, 200);
    let (s, l) = send(&owner, Method::GET, &format!("/customers/{cid}/webhook-endpoints"), None).await;
    assert_eq!(s, 200, "{l}");
    assert_eq!(l["data"].as_array().unwrap().len(), 1, "{l}");
    app.stop().await;
}
on_both!(delivered_signed_and_retried);

async fn refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (cid, owner) = app.customer("wh-ref").await;
    let (_, other) = app.customer("wh-other").await;
    let ep = format!("/customers/{cid}/webhook-endpoints");
    let cases = [
        (json!({"url": "http://127.0.0.1:9/x"}), "VALIDATION_ERROR", "url"),
        (json!({"url": "http://169.254.169.254/latest"}), "VALIDATION_ERROR", "url"),
        (json!({"url": "http://localhost/x"}), "VALIDATION_ERROR", "url"),
        (json!({"url": "ftp://example.com/x"}), "VALIDATION_ERROR", "url"),
        (
            json!({"url": "https://example.com/x", "event_types": ["withdrawal.sent"]}),
            "VALIDATION_ERROR",
            "event_types",
        ),
        (
            json!({"url": "https://example.com/x", "headers": [{"key": "webhook-id", "value": "x"}]}),
            "VALIDATION_ERROR",
            "headers",
        ),
        (
            json!({"url": "https://example.com/x", "headers": [{"key": "a b", "value": "x"}]}),
            "VALIDATION_ERROR",
            "headers",
        ),
        (json!({"url": "https://example.com/x", "secret": "mine"}), "UNKNOWN_FIELD", "secret"),
    ];
    for (body, want, field) in cases {
        let (s, v) = send(&owner, Method::POST, &ep, Some(body.clone())).await;
        assert_eq!((s, code(&v)), (400, want), "{body}: {v}");
        assert_eq!(v["errors"][0]["field"], field, "{v}");
    }
    // The vendor's path refuses the same.
    let (s, v) =
        send(&owner, Method::POST, &format!("/customers/{cid}/webhooks"), Some(json!({"url": "http://10.0.0.1/"})))
            .await;
    assert_eq!((s, code(&v)), (400, "VALIDATION_ERROR"), "{v}");

    let (s, v) = send(&owner, Method::POST, &ep, Some(json!({"url": "https://example.com/hooks"}))).await;
    assert_eq!(s, 201, "{v}");
    let id = v["data"]["endpoint_id"].as_str().unwrap().to_string();
    // Another tenant's key sees nothing of it; no credential is a 401.
    for (m, p) in
        [(Method::GET, ep.clone()), (Method::GET, format!("{ep}/{id}")), (Method::POST, format!("{ep}/{id}/test"))]
    {
        let (s, v) = send(&other, m.clone(), &p, None).await;
        assert_eq!(s, 404, "{m} {p}: {v}");
    }
    let (s, _) = send(&app.client, Method::GET, &ep, None).await;
    assert_eq!(s, 401);
    let (s, v) = send(&owner, Method::GET, &format!("{ep}/ep_nope"), None).await;
    assert_eq!((s, code(&v)), (404, "NOT_FOUND"), "{v}");
    let (s, v) = send(&owner, Method::POST, &format!("/customers/{cid}/webhook-events/msg_nope/redeliver"), None).await;
    assert_eq!(s, 404, "{v}");
    let replay = json!({"since": "2026-12-07T10:00:00Z", "until": "2026-12-07T09:00:00Z"});
    let (s, v) = send(&owner, Method::POST, &format!("{ep}/{id}/replay"), Some(replay)).await;
    assert_eq!((s, code(&v)), (400, "VALIDATION_ERROR"), "{v}");
    let (s, v) = send(&owner, Method::POST, &format!("{ep}/{id}/replay"), Some(json!({"since": "yesterday"}))).await;
    assert_eq!((s, code(&v)), (400, "VALIDATION_ERROR"), "{v}");
    app.stop().await;
}
on_both!(refused);
