//! Connect withdrawals end to end on both backends: hold, code, confirm, sandbox send, complete or fail, cancel,
//! expiry; idempotency on the withdrawal itself; the ledger exact at every step; no double spend under
//! concurrency.

use reqwest::Method;
use serde_json::{Value, json};
use sova_client::Client;
use sova_runtime::Clock;

use sova_testkit_app::on_both;
use sova_testkit_app::prelude::*;

/// BIP-173's testnet P2WPKH vector: a destination that is valid and belongs to no one here.
pub(crate) const DEST: &str = "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx";

pub(crate) async fn send(c: &Client, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
    let r = c.raw(method, path, body).await.unwrap();
    (r.status, r.json)
}

async fn send_keyed(c: &Client, path: &str, key: &str, body: &Value) -> (u16, Value) {
    let body = Some(("application/json", body.to_string().into_bytes()));
    let r = c.raw_with(Method::POST, path, &[("Idempotency-Key", key)], body).await.unwrap();
    (r.status, r.json)
}

pub(crate) fn code(v: &Value) -> &str {
    v["errors"][0]["code"].as_str().unwrap_or("")
}

/// A customer with an ACTIVE user holding a BTC wallet (address on bitcoin-testnet) funded with `funds`.
pub(crate) async fn funded(app: &TestApp, slug: &str, funds: &str) -> (Client, String, String) {
    let (_, owner) = app.customer(slug).await;
    let u = owner.create_user(&user_req(&format!("{slug}@example.com"))).await.unwrap();
    let body = json!({"name": "btc", "networks": [{"name": "networks/bitcoin-testnet", "currency": "btc"}]});
    let (s, w) = send(&owner, Method::POST, &format!("/users/{}/wallets", u.user_id), Some(body)).await;
    assert_eq!(s, 201, "{w}");
    let address = w["data"]["addresses"][0]["address"].as_str().unwrap().to_string();
    let dep = json!({"address": address, "currency": "BTC", "network": "bitcoin-testnet", "amount": funds});
    let (s, d) = send(&owner, Method::POST, "/sandbox/deposits", Some(dep)).await;
    assert_eq!(s, 201, "{d}");
    (owner, u.user_id, w["data"]["wallet_id"].as_str().unwrap().to_string())
}

async fn balances(c: &Client, wallet_id: &str) -> (String, String, String) {
    let (_, w) = send(c, Method::GET, &format!("/wallets/{wallet_id}"), None).await;
    let d = &w["data"];
    let s = |k: &str| d[k].as_str().unwrap().to_string();
    (s("balance"), s("available_balance"), s("held_balance"))
}

async fn balanced(app: &TestApp) {
    for (cur, sum) in app.running.ctx.store.ledger_totals().await.unwrap() {
        assert_eq!(sum, "0", "{cur} entries do not balance");
    }
}

pub(crate) async fn sandbox_code(owner: &Client, id: &str) -> String {
    let (s, c) = send(owner, Method::GET, &format!("/sandbox/withdrawals/{id}/code"), None).await;
    assert_eq!(s, 200, "{c}");
    c["data"]["code"].as_str().unwrap().to_string()
}

async fn withdrawal_flow(backend: Backend) {
    let app = spawn_app(backend).await;
    let (owner, uid, wid) = funded(&app, "wd-flow", "1").await;
    let path = format!("/users/{uid}/accounts/crypto/withdrawals");

    // Initiate with the reference's body (amount as a JSON number): held, awaiting the code.
    let body = json!({"currency": "btc", "amount": 0.25, "address": DEST, "memo": "rent"});
    let key = "6f1c7a52-3c1e-4d7e-9c55-0f5f8d1b2a10";
    let (s, w) = send_keyed(&owner, &path, key, &body).await;
    assert_eq!(s, 201, "{w}");
    let d = &w["data"];
    let id = d["id"].as_str().unwrap().to_string();
    assert_eq!((d["status"].as_str(), d["sub_status"].as_str()), (Some("PENDING"), Some("AWAITING_CONFIRMATION")));
    assert_eq!(d["withdraw"], json!({"id": id, "status": "PENDING", "idempotency_key": key, "is_duplicate": false}));
    assert_eq!(
        (d["amount"].as_f64(), d["fee"].as_str(), d["total"].as_str()),
        (Some(0.25), Some("0.0001"), Some("0.2501"))
    );
    assert_eq!((d["network"].as_str(), d["currency"].as_str()), (Some("bitcoin-testnet"), Some("btc")), "inferred");
    assert_eq!(balances(&owner, &wid).await, ("1".into(), "0.7499".into(), "0.2501".into()));
    balanced(&app).await;

    // The same key again: the same withdrawal, flagged; with another body: refused.
    let (s, again) = send_keyed(&owner, &path, key, &body).await;
    assert_eq!(
        (s, again["data"]["id"].as_str(), again["data"]["withdraw"]["is_duplicate"].as_bool()),
        (201, Some(id.as_str()), Some(true))
    );
    let other = json!({"currency": "btc", "amount": "0.3", "address": DEST});
    let (s, e) = send_keyed(&owner, &path, key, &other).await;
    assert_eq!((s, code(&e)), (422, "IDEMPOTENCY_KEY_REUSED"), "{e}");
    assert_eq!(balances(&owner, &wid).await.2, "0.2501", "held once");

    // A wrong code counts; the right one confirms, and the sandbox sends at once.
    let confirm = format!("{path}/{id}/confirm");
    let real = sandbox_code(&owner, &id).await;
    let wrong = if real == "000000" { "000001" } else { "000000" };
    let (s, e) = send(&owner, Method::POST, &confirm, Some(json!({"code": wrong}))).await;
    assert_eq!((s, code(&e)), (422, "WITHDRAWAL_CODE_INVALID"), "{e}");
    assert!(e["errors"][0]["message"].as_str().unwrap().contains("4 tries left"), "{e}");
    let (s, c) = send(&owner, Method::POST, &confirm, Some(json!({"code": real}))).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(
        (c["data"]["status"].as_str(), c["data"]["sub_status"].as_str()),
        (Some("PENDING"), Some("BROADCASTING"))
    );
    assert_eq!(c["data"]["sandbox"], true);
    assert!(c["data"]["tx_hash"].as_str().is_some_and(|h| h.len() == 64), "{c}");
    assert_eq!(balances(&owner, &wid).await, ("0.7499".into(), "0.7499".into(), "0".into()));
    balanced(&app).await;

    // Sent: too late to cancel; the sandbox completes it; the events tell the story.
    let (s, e) = send(&owner, Method::POST, &format!("{path}/{id}/cancel"), None).await;
    assert_eq!((s, code(&e)), (409, "NOT_CANCELLABLE"), "{e}");
    let (s, done) = send(&owner, Method::POST, &format!("/sandbox/withdrawals/{id}/complete"), None).await;
    assert_eq!((s, done["data"]["status"].as_str()), (200, Some("COMPLETED")), "{done}");
    let (_, one) = send(&owner, Method::GET, &format!("/withdrawals/{id}"), None).await;
    let steps: Vec<&str> =
        one["data"]["events"].as_array().unwrap().iter().map(|e| e["sub_status"].as_str().unwrap()).collect();
    assert_eq!(steps, ["AWAITING_CONFIRMATION", "QUEUED", "BROADCASTING", "CONFIRMED"]);
    assert!(one["data"]["completed_at"].is_string());

    // Cancel before sending: the hold comes back.
    let (s, w2) =
        send(&owner, Method::POST, &path, Some(json!({"currency": "BTC", "amount": "0.1", "address": DEST}))).await;
    assert_eq!(s, 201, "{w2}");
    let id2 = w2["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(balances(&owner, &wid).await.2, "0.1001");
    let (s, c) = send(&owner, Method::POST, &format!("{path}/{id2}/cancel"), None).await;
    assert_eq!((s, c["data"]["sub_status"].as_str()), (200, Some("CANCELLED_BY_USER")), "{c}");
    assert_eq!(balances(&owner, &wid).await, ("0.7499".into(), "0.7499".into(), "0".into()));

    // Send-max with the fee included, then the chain fails it: the amount comes back, the fee does not.
    let (s, w3) = send(
        &owner,
        Method::POST,
        &path,
        Some(json!({"currency": "btc", "amount": "0.7499", "address": DEST, "fee_included": true})),
    )
    .await;
    assert_eq!(
        (s, w3["data"]["amount_string"].as_str(), w3["data"]["total"].as_str()),
        (201, Some("0.7498"), Some("0.7499")),
        "{w3}"
    );
    let id3 = w3["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(balances(&owner, &wid).await, ("0.7499".into(), "0".into(), "0.7499".into()));
    let code3 = sandbox_code(&owner, &id3).await;
    let (s, _) = send(&owner, Method::POST, &format!("{path}/{id3}/confirm"), Some(json!({"code": code3}))).await;
    assert_eq!(s, 200);
    let (s, f) = send(&owner, Method::POST, &format!("/sandbox/withdrawals/{id3}/fail"), None).await;
    assert_eq!((s, f["data"]["status"].as_str()), (200, Some("FAILED")), "{f}");
    assert_eq!(balances(&owner, &wid).await, ("0.7498".into(), "0.7498".into(), "0".into()));
    balanced(&app).await;

    // Refusals, each with its code, nothing held.
    let refusals = [
        (json!({"currency": "btc", "amount": "5", "address": DEST}), 422, "INSUFFICIENT_FUNDS"),
        (
            json!({"currency": "btc", "amount": "0.1", "address": "0x52908400098527886E0F7030069857D2E4169EE7"}),
            400,
            "VALIDATION_ERROR",
        ),
        (json!({"currency": "btc", "amount": "0.000000001", "address": DEST}), 400, "VALIDATION_ERROR"),
        (json!({"currency": "btc", "amount": "-1", "address": DEST}), 400, "VALIDATION_ERROR"),
        (json!({"currency": "btc", "amount": "0.1", "address": DEST, "network": "ethereum"}), 400, "VALIDATION_ERROR"),
        (json!({"currency": "doge", "amount": "0.1", "address": DEST}), 400, "VALIDATION_ERROR"),
    ];
    for (body, status, want) in refusals {
        let (s, e) = send(&owner, Method::POST, &path, Some(body.clone())).await;
        assert_eq!((s, code(&e)), (status, want), "{body} -> {e}");
    }
    // A number with an exponent is refused (the body as a client would write it; serde_json never writes one).
    let raw = format!(r#"{{"currency": "btc", "amount": 1e-3, "address": "{DEST}"}}"#);
    let r = owner.raw(Method::POST, &path, Some(("application/json", raw.into_bytes()))).await.unwrap();
    assert_eq!((r.status, code(&r.json)), (400, "VALIDATION_ERROR"), "{}", r.text);
    assert_eq!(balances(&owner, &wid).await.2, "0");

    // A user token works on its own user's withdrawals; another user's are not found; the type is `crypto`.
    let (s, t) = send(&owner, Method::POST, &format!("/users/{uid}/token"), None).await;
    assert_eq!(s, 200);
    let as_user = app.client.with_user_token(t["data"]["token"].as_str().unwrap());
    let (s, l) = send(&as_user, Method::GET, &path, None).await;
    assert_eq!((s, l["data"].as_array().map(Vec::len)), (200, Some(3)), "{l}");
    let other = owner.create_user(&user_req("someone-else@example.com")).await.unwrap();
    let (s, _) =
        send(&as_user, Method::GET, &format!("/users/{}/accounts/crypto/withdrawals", other.user_id), None).await;
    assert_eq!(s, 404);
    let (s, _) = send(&owner, Method::GET, &format!("/users/{uid}/accounts/fiat/withdrawals"), None).await;
    assert_eq!(s, 404);
    let (_, other_tenant) = app.customer("wd-flow-other").await;
    let (s, _) = send(&other_tenant, Method::GET, &format!("/withdrawals/{id}"), None).await;
    assert_eq!(s, 404, "another tenant's withdrawal is not found");
    let (s, l) = send(&owner, Method::GET, "/withdrawals?filter[where][status]=completed", None).await;
    assert_eq!((s, l["data"].as_array().map(Vec::len)), (200, Some(1)), "{l}");
    app.stop().await;
}
on_both!(withdrawal_flow);

/// Codes expire, can be resent (the old one dies), and die after five wrong tries; unconfirmed withdrawals expire
/// and give their hold back.
async fn codes_and_expiry(backend: Backend) {
    let clock = Clock::manual(chrono::Utc::now().timestamp_millis());
    let app = spawn_app_at(backend, clock.clone()).await;
    let (owner, uid, wid) = funded(&app, "wd-codes", "1").await;
    let path = format!("/users/{uid}/accounts/crypto/withdrawals");
    let body = json!({"currency": "btc", "amount": "0.1", "address": DEST});
    let (_, w) = send(&owner, Method::POST, &path, Some(body.clone())).await;
    let id = w["data"]["id"].as_str().unwrap().to_string();
    let confirm = format!("{path}/{id}/confirm");

    let old = sandbox_code(&owner, &id).await;
    clock.advance(11 * 60 * 1000);
    let (s, e) = send(&owner, Method::POST, &confirm, Some(json!({"code": old}))).await;
    assert_eq!((s, code(&e)), (422, "WITHDRAWAL_CODE_EXPIRED"), "{e}");
    let (s, _) = send(&owner, Method::POST, &format!("{path}/{id}/resend-code"), None).await;
    assert_eq!(s, 200);
    let new = sandbox_code(&owner, &id).await;
    if new != old {
        let (s, e) = send(&owner, Method::POST, &confirm, Some(json!({"code": old}))).await;
        assert_eq!((s, code(&e)), (422, "WITHDRAWAL_CODE_INVALID"), "the resent code replaces the old: {e}");
    }
    // Five wrong tries void the code.
    let wrong = if new == "123456" { "654321" } else { "123456" };
    let mut last = Value::Null;
    for _ in 0..5 {
        last = send(&owner, Method::POST, &confirm, Some(json!({"code": wrong}))).await.1;
    }
    assert_eq!(code(&last), "WITHDRAWAL_CODE_VOID", "{last}");
    let (s, e) = send(&owner, Method::POST, &confirm, Some(json!({"code": new}))).await;
    assert_eq!((s, code(&e)), (422, "WITHDRAWAL_CODE_VOID"), "even the right code, once void: {e}");

    // Unconfirmed past the hour: the sweep cancels it and releases the hold.
    assert_eq!(balances(&owner, &wid).await.2, "0.1001");
    clock.advance(60 * 60 * 1000);
    let n = sova_server::withdrawals::expire_once(&app.running.ctx.withdrawals).await.unwrap();
    assert_eq!(n, 1);
    let (_, one) = send(&owner, Method::GET, &format!("/withdrawals/{id}"), None).await;
    assert_eq!(
        (one["data"]["status"].as_str(), one["data"]["sub_status"].as_str()),
        (Some("CANCELLED"), Some("EXPIRED"))
    );
    assert_eq!(balances(&owner, &wid).await, ("1".into(), "1".into(), "0".into()));
    balanced(&app).await;
    app.stop().await;
}
on_both!(codes_and_expiry);

/// Many withdrawals at once can never spend the same funds; many retries of one key make one withdrawal.
async fn no_double_spend(backend: Backend) {
    let app = spawn_app(backend).await;
    let (owner, uid, wid) = funded(&app, "wd-race", "1").await;
    let path = format!("/users/{uid}/accounts/crypto/withdrawals");
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (owner, path) = (owner.clone(), path.clone());
            tokio::spawn(async move {
                send(&owner, Method::POST, &path, Some(json!({"currency": "btc", "amount": "0.1", "address": DEST})))
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        let (s, v) = t.await.unwrap();
        match s {
            201 => ok += 1,
            422 => assert_eq!(code(&v), "INSUFFICIENT_FUNDS", "{v}"),
            _ => panic!("{s} {v}"),
        }
    }
    assert_eq!(ok, 9, "1 BTC holds nine withdrawals of 0.1 + 0.0001 fee");
    let (total, available, held) = balances(&owner, &wid).await;
    assert_eq!((total.as_str(), available.as_str(), held.as_str()), ("1", "0.0991", "0.9009"));

    // One key, many concurrent retries: one withdrawal.
    let (_, other) = app.customer("wd-race-key").await;
    let u = other.create_user(&user_req("k@example.com")).await.unwrap();
    let body = json!({"name": "b", "networks": [{"name": "bitcoin-testnet", "currency": "btc"}]});
    let (_, w) = send(&other, Method::POST, &format!("/users/{}/wallets", u.user_id), Some(body)).await;
    let addr = w["data"]["addresses"][0]["address"].as_str().unwrap().to_string();
    let dep = json!({"address": addr, "currency": "BTC", "network": "bitcoin-testnet", "amount": "1"});
    send(&other, Method::POST, "/sandbox/deposits", Some(dep)).await;
    let path = format!("/users/{}/accounts/crypto/withdrawals", u.user_id);
    let key = uuid::Uuid::new_v4().to_string();
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let (other, path, key) = (other.clone(), path.clone(), key.clone());
            tokio::spawn(async move {
                send_keyed(&other, &path, &key, &json!({"currency": "btc", "amount": "0.2", "address": DEST})).await
            })
        })
        .collect();
    let mut ids = std::collections::BTreeSet::new();
    for t in tasks {
        let (s, v) = t.await.unwrap();
        assert_eq!(s, 201, "{v}");
        ids.insert(v["data"]["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    let (_, l) = send(&other, Method::GET, "/withdrawals", None).await;
    assert_eq!(l["data"].as_array().map(Vec::len), Some(1));
    balanced(&app).await;
    app.stop().await;
}
on_both!(no_double_spend);
