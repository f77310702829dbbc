//! kill -9 between the outbox write and the delivery: the events a change committed are delivered after a restart,
//! exactly those (a real `sova serve` process, SIGKILLed; a webhook receiver that comes up only afterwards). And
//! kill -9 in the middle of a perps walk: the restarted process shows the same positions, orders, balances and
//! book, and the walk goes on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use serde_json::{Value, json};
use sova_testkit::prelude::*;

const SOVA: &str = env!("CARGO_BIN_EXE_sova");
const PASSWORD: &str = "a-long-operator-password";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn serve(db: &TestDb, port: u16) -> Child {
    let mut child = Command::new(SOVA)
        .args(["serve", "--data-dir"])
        .arg(db.dir.path())
        .args(["--database-url", &db.url, "--listen", &format!("127.0.0.1:{port}")])
        .args(["--webhook-allow-private", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if reqwest::get(format!("http://127.0.0.1:{port}/sovx/v1/health")).await.is_ok() {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("sova serve did not start");
}

async fn call(c: &reqwest::Client, method: reqwest::Method, url: String, auth: (&str, &str), body: Value) -> Value {
    let r = c.request(method, url).header(auth.0, auth.1).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap();
    assert!((200..300).contains(&status), "{status}: {v}");
    v
}

async fn committed_then_killed(backend: Backend) {
    let db = TestDb::new(backend).await;
    let out = Command::new(SOVA)
        .args(["operator", "create", "--email", "ops@example.com", "--data-dir"])
        .arg(db.dir.path())
        .args(["--database-url", &db.url])
        .env("SOVA_OPERATOR_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (port, sink_port) = (free_port(), free_port());
    let mut server = serve(&db, port).await;
    let b = format!("http://127.0.0.1:{port}/sovx/v1");
    let c = reqwest::Client::new();
    use reqwest::Method as M;

    let login = c.post(format!("{b}/auth/login")).json(&json!({"email": "ops@example.com", "password": PASSWORD}));
    let token: Value = login.send().await.unwrap().json().await.unwrap();
    let bearer = format!("Bearer {}", token["token"].as_str().unwrap());
    let op = ("authorization", bearer.as_str());
    call(
        &c,
        M::POST,
        format!("{b}/customers"),
        op,
        json!({"email": "c@example.com", "customer_id": "crash-co", "entity_name": "Crash"}),
    )
    .await;
    let cred = call(&c, M::POST, format!("{b}/customers/crash-co/credentials"), op, json!({})).await;
    let key = cred["data"]["customer_secret"].as_str().unwrap().to_string();
    let owner = ("x-api-key", key.as_str());
    // The receiver is not up yet: the first attempts fail and are rescheduled (5 s).
    call(
        &c,
        M::POST,
        format!("{b}/customers/crash-co/webhooks"),
        op,
        json!({"url": format!("http://127.0.0.1:{sink_port}/hook")}),
    )
    .await;
    let user = call(
        &c,
        M::POST,
        format!("{b}/users"),
        owner,
        json!({"user_type": "individual",
        "email": "u@example.com", "first_name": "U", "last_name": "Ser", "phone": "+14155550100",
        "date_of_birth": "1990-01-01", "country": "US"}),
    )
    .await;
    let uid = user["data"]["user_id"].as_str().unwrap().to_string();
    let wallet = call(
        &c,
        M::POST,
        format!("{b}/users/{uid}/wallets"),
        owner,
        json!({"name": "btc", "networks": [{"name": "networks/bitcoin-testnet", "currency": "btc"}]}),
    )
    .await;
    let address = wallet["data"]["addresses"][0]["address"].as_str().unwrap().to_string();
    call(
        &c,
        M::POST,
        format!("{b}/sandbox/deposits"),
        owner,
        json!({"address": address, "currency": "BTC", "network": "bitcoin-testnet", "amount": "1"}),
    )
    .await;
    call(
        &c,
        M::POST,
        format!("{b}/users/{uid}/accounts/crypto/withdrawals"),
        owner,
        json!({"currency": "btc", "amount": "0.1", "address": "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"}),
    )
    .await;

    // Every change above is acknowledged, so its events are committed. SIGKILL, before any was delivered.
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill().unwrap();
    server.wait().unwrap();

    // The receiver comes up; a new process on the same database delivers what was committed.
    let got: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let g = got.clone();
    let app = axum::Router::new().fallback(move |headers: HeaderMap, body: axum::body::Bytes| {
        let g = g.clone();
        async move {
            let v: Value = serde_json::from_slice(&body).unwrap_or_default();
            let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            g.lock().unwrap().push((id, v["type"].as_str().unwrap_or("").to_string()));
            "ok"
        }
    });
    let l = tokio::net::TcpListener::bind(("127.0.0.1", sink_port)).await.unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    let mut server = serve(&db, port).await;
    let want = ["deposit.completed", "deposit.pending", "withdrawal.confirmation_required", "withdrawal.created"];
    let mut by_type = BTreeMap::new();
    for _ in 0..300 {
        by_type = got.lock().unwrap().iter().map(|(id, t)| (t.clone(), id.clone())).collect::<BTreeMap<_, _>>();
        if by_type.len() >= want.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(by_type.keys().map(String::as_str).collect::<Vec<_>>(), want, "exactly the committed events");
    let ids: std::collections::BTreeSet<&String> = by_type.values().collect();
    assert_eq!(ids.len(), want.len(), "one webhook-id per event");
    if let Some(name) = db.pg_name() {
        let _ = name;
        drop_pg_database(&db.url).await;
    }
}
on_both!(committed_then_killed);

/// What a perps walk has built, as the API shows it, leaving out what moves with the clock (mark, uPnL, margins
/// valued at the mark).
async fn perps_view(c: &sova_client::exchange::ExchangeClient) -> Value {
    let a = format!("{:#x}", c.address());
    let get = async |path: String| {
        let r = c.get(&path).await.unwrap();
        assert!(r.is_ok(), "{path}: {}", r.json);
        r.data().clone()
    };
    let positions = get(format!("/api/v1/perps/accounts/{a}/positions")).await["positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            json!([
                p["id"],
                p["symbol"],
                p["size"],
                p["side"],
                p["avgEntryPrice"],
                p["cumOpenCost"],
                p["cumTradingFee"],
                p["leverage"],
                p["marginMode"]
            ])
        })
        .collect::<Vec<_>>();
    let orders = get(format!("/api/v1/perps/accounts/{a}/orders")).await["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| json!([o["orderID"], o["clOrdID"], o["status"], o["price"], o["origQty"], o["executedQty"]]))
        .collect::<Vec<_>>();
    let balance = get(format!("/api/v1/perps/accounts/{a}/balances")).await["balances"][0]["total"].clone();
    let trades = get(format!("/api/v1/perps/accounts/{a}/trades")).await;
    let spot = get(format!("/api/v1/spot/accounts/{a}/balances")).await["balances"].clone();
    json!({"positions": positions, "orders": orders, "balance": balance, "trades": trades, "spot": spot})
}

async fn perps_walk_killed_midway(backend: Backend) {
    use sova_client::exchange::{ExchangeClient, types as ex};
    const CHAIN: u64 = 286_623;
    let db = TestDb::new(backend).await;
    let port = free_port();
    let mut server = serve(&db, port).await;
    let url = format!("http://127.0.0.1:{port}");
    let alice = ExchangeClient::new(&url, CHAIN, [0x61; 32]).unwrap();
    let bob = ExchangeClient::new(&url, CHAIN, [0x62; 32]).unwrap();
    let ok = |r: sova_client::exchange::ExResponse| {
        assert!(r.is_ok(), "HTTP {}: {}", r.status, r.json);
        r.data().clone()
    };
    let a = ok(alice.faucet("USDC", "100000").await.unwrap())["accountID"].as_u64().unwrap();
    let b = ok(bob.faucet("USDC", "100000").await.unwrap())["accountID"].as_u64().unwrap();
    ok(alice.transfer_to_perps(1, a, 1, "10000").await.unwrap());
    ok(bob.transfer_to_perps(1, b, 1, "10000").await.unwrap());
    let lev: ex::UpdateLeverage =
        serde_json::from_value(json!({"accountID": a, "symbolID": 1, "leverage": 20, "marginMode": 2})).unwrap();
    ok(alice.perps_update_leverage(&lev).await.unwrap());
    let order = |account: u64, cl: &str, side: u8, price: Option<&str>, qty: &str| -> ex::PerpsNewOrder {
        let mut item = json!({"clOrdID": cl, "modifier": 1, "side": side, "type": if price.is_some() { 1 } else { 2 },
            "timeInForce": if price.is_some() { 1 } else { 3 }, "quantity": qty, "reduceOnly": false, "positionSide": 1});
        if let Some(p) = price {
            item["price"] = json!(p);
        }
        serde_json::from_value(json!({"accountID": account, "symbolID": 1, "orders": [item]})).unwrap()
    };
    let filled = |v: Value| assert_eq!(v[0]["status"], "FILLED", "{v}");
    ok(bob.perps_new_order(&order(b, "s1", 2, Some("50000"), "0.5")).await.unwrap());
    ok(bob.perps_new_order(&order(b, "s2", 2, Some("51000"), "0.5")).await.unwrap());
    filled(ok(alice.perps_new_order(&order(a, "b1", 1, None, "0.3")).await.unwrap()));
    ok(alice.perps_new_order(&order(a, "b2", 1, Some("49000"), "0.1")).await.unwrap());
    let before = (perps_view(&alice).await, perps_view(&bob).await);
    let book = ok(alice.get("/api/v1/perps/markets/BTC-USD/orderbook").await.unwrap());

    // Every write above was acknowledged, so committed. SIGKILL, then a new process on the same database.
    server.kill().unwrap();
    server.wait().unwrap();
    let mut server = serve(&db, port).await;
    let after = (perps_view(&alice).await, perps_view(&bob).await);
    assert_eq!(before, after, "the perps state after kill -9 and restart");
    let book_after = ok(alice.get("/api/v1/perps/markets/BTC-USD/orderbook").await.unwrap());
    assert_eq!((&book["bids"], &book["asks"]), (&book_after["bids"], &book_after["asks"]));
    assert_eq!(before.0["positions"][0][2], "0.3", "{before:?}");

    // The walk goes on: the rest of bob's first ask, then the transfer back.
    filled(ok(alice.perps_new_order(&order(a, "b3", 1, None, "0.2")).await.unwrap()));
    let view = perps_view(&alice).await;
    assert_eq!((&view["positions"][0][2], &view["positions"][0][4]), (&json!("0.5"), &json!("50000")), "{view}");
    ok(alice.transfer_to_spot(2, a, 1, "1000").await.unwrap());
    server.kill().unwrap();
    server.wait().unwrap();
    if db.pg_name().is_some() {
        drop_pg_database(&db.url).await;
    }
}
on_both!(perps_walk_killed_midway);
