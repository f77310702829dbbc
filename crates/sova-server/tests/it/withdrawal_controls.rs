//! Withdrawal controls end to end on both backends: a versioned policy (first match wins; BLOCK, REQUIRE_APPROVAL,
//! velocity, address book), the address book's cooling-off, four-eyes approvals (distinct approvers, never the
//! initiator, one rejection decides, the window expires), with balances and the ledger exact throughout.

use reqwest::Method;
use serde_json::{Value, json};
use sova_client::Client;
use sova_runtime::Clock;

use crate::withdrawals::{DEST, code, funded, sandbox_code, send};
use sova_testkit_app::on_both;
use sova_testkit_app::prelude::*;

async fn available(c: &Client, wallet_id: &str) -> String {
    let (_, w) = send(c, Method::GET, &format!("/wallets/{wallet_id}"), None).await;
    w["data"]["available_balance"].as_str().unwrap().to_string()
}

/// Create and confirm a withdrawal of `amount`; the answer after the confirmation.
async fn create_confirmed(owner: &Client, uid: &str, amount: &str) -> Value {
    let path = format!("/users/{uid}/accounts/crypto/withdrawals");
    let (s, w) =
        send(owner, Method::POST, &path, Some(json!({"currency": "btc", "amount": amount, "address": DEST}))).await;
    assert_eq!(s, 201, "{w}");
    let id = w["data"]["id"].as_str().unwrap().to_string();
    let pin = sandbox_code(owner, &id).await;
    let (s, c) = send(owner, Method::POST, &format!("{path}/{id}/confirm"), Some(json!({"code": pin}))).await;
    assert_eq!(s, 200, "{c}");
    c
}

async fn controls(backend: Backend) {
    let clock = Clock::manual(chrono::Utc::now().timestamp_millis());
    let app = spawn_app_at(backend, clock.clone()).await;
    let cid = "wd-controls";
    let (owner, uid, wid) = funded(&app, cid, "10").await;
    let ops = app.operator().await;
    let second = app.client.with_api_key(&ops.create_credential(cid).await.unwrap().customer_secret);
    let pol = format!("/customers/{cid}/withdrawal-policy");

    // No policy set: the sandbox's default.
    let (s, p) = send(&owner, Method::GET, &pol, None).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(
        (p["data"]["version"].clone(), p["data"]["policy"]["default_action"].clone()),
        (json!(0), json!("ALLOW"))
    );

    // A bad document names the field; a good one is version 1.
    let (s, e) = send(
        &owner,
        Method::PUT,
        &pol,
        Some(json!({"default_action": "ALLOW",
        "rules": [{"action": "REQUIRE_APPROVAL", "approvals": 11}]})),
    )
    .await;
    assert_eq!((s, code(&e)), (400, "VALIDATION_ERROR"), "{e}");
    assert_eq!(e["errors"][0]["field"], "rules[0].approvals");
    let (s, e) = send(&owner, Method::PUT, &pol, Some(json!({"default_action": "MAYBE"}))).await;
    assert_eq!(s, 400, "{e}");
    let doc = json!({
        "default_action": "ALLOW",
        "address_book_cooling_off_secs": 3600,
        "rules": [
            {"name": "unknown-destination", "action": "BLOCK", "destination": "NOT_IN_ADDRESS_BOOK", "min_amount": "2"},
            {"name": "big", "action": "REQUIRE_APPROVAL", "approvals": 2, "min_amount": "1"},
            {"name": "busy", "action": "BLOCK", "velocity": {"scope": "USER", "window_secs": 3600, "max_count": 4}}
        ]
    });
    let (s, p) = send(&owner, Method::PUT, &pol, Some(doc)).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["data"]["version"], 1);
    assert!(p["data"]["created_by"].as_str().unwrap().starts_with("credential:"));

    // Blocked: a large amount to an address not in the book; nothing is held.
    let path = format!("/users/{uid}/accounts/crypto/withdrawals");
    let big = json!({"currency": "btc", "amount": "3", "address": DEST});
    let (s, e) = send(&owner, Method::POST, &path, Some(big.clone())).await;
    assert_eq!((s, code(&e)), (422, "BLOCKED_BY_POLICY"), "{e}");
    assert!(e["errors"][0]["message"].as_str().unwrap().contains("unknown-destination"));
    assert_eq!(available(&owner, &wid).await, "10");

    // In the book but cooling off: its own code, naming when it becomes usable.
    let book = format!("/users/{uid}/address-book");
    let (s, b) = send(
        &owner,
        Method::POST,
        &book,
        Some(json!({"network": "bitcoin-testnet", "address": DEST, "label": "cold"})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["data"]["usable"], false);
    let (s, e) = send(&owner, Method::POST, &book, Some(json!({"network": "bitcoin-testnet", "address": DEST}))).await;
    assert_eq!((s, code(&e)), (409, "CONFLICT"), "{e}");
    let (s, e) =
        send(&owner, Method::POST, &book, Some(json!({"network": "bitcoin-testnet", "address": "0xabc"}))).await;
    assert_eq!((s, code(&e)), (400, "VALIDATION_ERROR"), "{e}");
    let (s, e) = send(&owner, Method::POST, &path, Some(big.clone())).await;
    assert_eq!((s, code(&e)), (422, "ADDRESS_COOLING_OFF"), "{e}");
    assert_eq!(e["errors"][0]["field"], "address");

    // After the cooling-off: the next rule asks for two approvals.
    clock.advance(3_601_000);
    let ops = app.operator().await; // a new session: an hour has passed
    let (s, l) = send(&owner, Method::GET, &book, None).await;
    assert_eq!((s, l["data"][0]["usable"].clone()), (200, json!(true)), "{l}");
    let w = create_confirmed(&owner, &uid, "3").await;
    let d = &w["data"];
    assert_eq!((d["status"].clone(), d["sub_status"].clone()), (json!("PENDING"), json!("PENDING_APPROVAL")), "{w}");
    assert_eq!(
        (d["policy_version"].clone(), d["policy_rule"].clone(), d["approvals_required"].clone()),
        (json!(1), json!("big"), json!(2))
    );
    assert!(d["approval_expires_at"].is_string());
    let id = d["id"].as_str().unwrap().to_string();
    assert_eq!(available(&owner, &wid).await, "6.9999", "held: 3 + 0.0001");

    // Four eyes: the initiator may not approve; one approver counts once; the second distinct approver decides.
    let approve = format!("/customers/{cid}/withdrawals/{id}/approve");
    let (s, e) = send(&owner, Method::POST, &approve, None).await;
    assert_eq!((s, code(&e)), (403, "SELF_APPROVAL"), "{e}");
    let (s, a) = send(&second, Method::POST, &approve, None).await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["data"]["sub_status"], "PENDING_APPROVAL");
    assert_eq!(a["data"]["approvals"].as_array().unwrap().len(), 1);
    let (s, e) = send(&second, Method::POST, &approve, None).await;
    assert_eq!((s, code(&e)), (409, "CONFLICT"), "{e}");
    let (s, a) = send(&ops, Method::POST, &approve, None).await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["data"]["sub_status"], "BROADCASTING", "queued, then sent by the sandbox: {a}");
    assert!(a["data"]["approvals"][1]["approver"].as_str().unwrap().starts_with("operator:"));
    let (s, c) = send(&owner, Method::POST, &format!("/sandbox/withdrawals/{id}/complete"), None).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(available(&owner, &wid).await, "6.9999");

    // One rejection decides and releases the hold.
    let w = create_confirmed(&owner, &uid, "1.5").await;
    let id = w["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(available(&owner, &wid).await, "5.4998");
    let reject = format!("/customers/{cid}/withdrawals/{id}/reject");
    let (s, r) = send(&ops, Method::POST, &reject, Some(json!({"reason": "unusual"}))).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (r["data"]["status"].clone(), r["data"]["sub_status"].clone()),
        (json!("REJECTED"), json!("REJECTED_BY_APPROVER"))
    );
    assert_eq!(available(&owner, &wid).await, "6.9999");
    let (s, e) = send(&second, Method::POST, &format!("/customers/{cid}/withdrawals/{id}/approve"), None).await;
    assert_eq!(s, 409, "decided: {e}");

    // Another tenant's owner cannot see the withdrawal at all.
    let (_, stranger) = app.customer("wd-stranger").await;
    let (s, _) = send(&stranger, Method::POST, &format!("/customers/{cid}/withdrawals/{id}/approve"), None).await;
    assert_eq!(s, 404);

    // Approvals expire: past the window (a day by default), the sweep rejects it and the hold comes back.
    let w = create_confirmed(&owner, &uid, "1").await;
    let id = w["data"]["id"].as_str().unwrap().to_string();
    clock.advance(86_401_000);
    let n = sova_server::withdrawals::expire_once(&app.running.ctx.withdrawals).await.unwrap();
    assert_eq!(n, 1);
    let (_, r) = send(&owner, Method::GET, &format!("/withdrawals/{id}"), None).await;
    assert_eq!(
        (r["data"]["status"].clone(), r["data"]["sub_status"].clone()),
        (json!("REJECTED"), json!("APPROVAL_EXPIRED"))
    );
    assert_eq!(available(&owner, &wid).await, "6.9999");

    // Velocity: four in the hour, the fifth is blocked; a cancelled one does not count.
    let small = json!({"currency": "btc", "amount": "0.1", "address": DEST});
    let mut ids = Vec::new();
    for _ in 0..4 {
        let (s, w) = send(&owner, Method::POST, &path, Some(small.clone())).await;
        assert_eq!(s, 201, "{w}");
        ids.push(w["data"]["id"].as_str().unwrap().to_string());
    }
    let (s, e) = send(&owner, Method::POST, &path, Some(small.clone())).await;
    assert_eq!((s, code(&e)), (422, "BLOCKED_BY_POLICY"), "{e}");
    assert!(e["errors"][0]["message"].as_str().unwrap().contains("busy"));
    let (s, c) = send(&owner, Method::POST, &format!("{path}/{}/cancel", ids[0]), None).await;
    assert_eq!(s, 200, "{c}");
    let (s, w) = send(&owner, Method::POST, &path, Some(small)).await;
    assert_eq!(s, 201, "{w}");
    assert_eq!(w["data"]["policy_rule"], "default");

    // The unified history shows every withdrawal (out) beside the deposit (in).
    let (s, t) = send(&owner, Method::GET, "/accounts/transactions?filter[where][type]=withdrawal", None).await;
    assert_eq!(s, 200, "{t}");
    let items = t["data"].as_array().unwrap();
    assert_eq!(items.len(), 8, "{t}");
    assert!(items.iter().all(|i| i["direction"] == "out" && i["address"] == DEST));
    assert_eq!(items.iter().filter(|i| i["status"] == "COMPLETED" && i["tx_hash"] != "").count(), 1);
    let (_, t) = send(&owner, Method::GET, &format!("/users/{uid}/accounts/transactions"), None).await;
    assert_eq!(t["meta"]["pagination"]["total"], 9, "{t}");

    // The Intel HUD of the wallet's address counts what left through it (sent, not rejected or cancelled).
    let (_, w) = send(&owner, Method::GET, &format!("/wallets/{wid}"), None).await;
    let address = w["data"]["addresses"][0]["address"].as_str().unwrap().to_string();
    let intel = app.client.with_api_key(&crate::intel::intel_key(&app, "hud-reader", 5).await);
    let r = intel.intel_raw(Method::GET, &format!("/wallet/{address}/hud"), None).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json["data"]["withdrawals"],
        json!({"count": 1, "totals": [{"currency": "BTC", "network": "bitcoin-testnet", "amount": "3"}]})
    );

    for (cur, sum) in app.running.ctx.store.ledger_totals().await.unwrap() {
        assert_eq!(sum, "0", "{cur} entries do not balance");
    }
    app.stop().await;
}
on_both!(controls);
