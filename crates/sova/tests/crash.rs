//! kill -9 between the outbox write and the delivery: the events a change committed are delivered after a restart,
//! exactly those (a real `sova serve` process, SIGKILLed; a webhook receiver that comes up only afterwards). And
//! kill -9 in the middle of a perps walk: the restarted process shows the same positions, orders, balances and
//! book, and the walk goes on. And kill -9 of a chain watcher in the middle of a catch-up: after the restart every
//! deposit made while it was down is credited exactly once.
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
    serve_with(db, port, &[]).await
}

async fn serve_with(db: &TestDb, port: u16, extra: &[String]) -> Child {
    let mut child = Command::new(SOVA)
        .args(["serve", "--data-dir"])
        .arg(db.dir.path())
        .args(["--database-url", &db.url, "--listen", &format!("127.0.0.1:{port}")])
        .args(["--webhook-allow-private", "true"])
        .args(extra)
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
    let mut req = c.request(method, url).header(auth.0, auth.1);
    if !body.is_null() {
        req = req.json(&body);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap();
    assert!((200..300).contains(&status), "{status}: {v}");
    v
}

/// Signed in as the operator: a customer `slug` with an owner key and one user. `(operator bearer, key, user id)`.
async fn tenant(c: &reqwest::Client, b: &str, slug: &str) -> (String, String, String) {
    use reqwest::Method as M;
    let login = c.post(format!("{b}/auth/login")).json(&json!({"email": "ops@example.com", "password": PASSWORD}));
    let token: Value = login.send().await.unwrap().json().await.unwrap();
    let bearer = format!("Bearer {}", token["token"].as_str().unwrap());
    let op = ("authorization", bearer.as_str());
    let body = json!({"email": format!("{slug}@example.com"), "customer_id": slug, "entity_name": "Crash"});
    call(c, M::POST, format!("{b}/customers"), op, body).await;
    let cred = call(c, M::POST, format!("{b}/customers/{slug}/credentials"), op, json!({})).await;
    let key = cred["data"]["customer_secret"].as_str().unwrap().to_string();
    let user = call(
        c,
        M::POST,
        format!("{b}/users"),
        ("x-api-key", key.as_str()),
        json!({"user_type": "individual",
        "email": "u@example.com", "first_name": "U", "last_name": "Ser", "phone": "+14155550100",
        "date_of_birth": "1990-01-01", "country": "US"}),
    )
    .await;
    let uid = user["data"]["user_id"].as_str().unwrap().to_string();
    (bearer, key, uid)
}

/// The operator `ops@example.com` created by the CLI.
fn operator(db: &TestDb) {
    let out = Command::new(SOVA)
        .args(["operator", "create", "--email", "ops@example.com", "--data-dir"])
        .arg(db.dir.path())
        .args(["--database-url", &db.url])
        .env("SOVA_OPERATOR_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

async fn committed_then_killed(backend: Backend) {
    let db = TestDb::new(backend).await;
    operator(&db);
    let (port, sink_port) = (free_port(), free_port());
    let mut server = serve(&db, port).await;
    let b = format!("http://127.0.0.1:{port}/sovx/v1");
    let c = reqwest::Client::new();
    use reqwest::Method as M;

    let (bearer, key, uid) = tenant(&c, &b, "crash-co").await;
    let op = ("authorization", bearer.as_str());
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

/// kill -9 right after a Connect trade order is acknowledged: after the restart the Connect ledger (the wallet's
/// balances, the order COMPLETED) and the exchange (the maker's balances) both show it.
async fn trade_acknowledged_then_killed(backend: Backend) {
    use reqwest::Method as M;
    use sova_client::exchange::{ExchangeClient, types as ex};
    let db = TestDb::new(backend).await;
    operator(&db);
    let port = free_port();
    let mut server = serve(&db, port).await;
    let b = format!("http://127.0.0.1:{port}/sovx/v1");
    let c = reqwest::Client::new();
    let (_, key, uid) = tenant(&c, &b, "trade-kill").await;
    let owner = ("x-api-key", key.as_str());
    let body = json!({"name": "t", "networks": [{"name": "networks/ethereum-sepolia", "currency": "usdc"}]});
    let wallet = call(&c, M::POST, format!("{b}/users/{uid}/wallets"), owner, body).await;
    let wid = wallet["data"]["wallet_id"].as_str().unwrap().to_string();
    let address = wallet["data"]["addresses"][0]["address"].as_str().unwrap().to_string();
    let dep = json!({"address": address, "currency": "USDC", "network": "ethereum-sepolia", "amount": "10000"});
    call(&c, M::POST, format!("{b}/sandbox/deposits"), owner, dep).await;
    let maker = ExchangeClient::new(&format!("http://127.0.0.1:{port}"), 286_623, [0x63; 32]).unwrap();
    let m = maker.faucet("BTC", "1").await.unwrap().data()["accountID"].as_u64().unwrap();
    let ask: ex::SpotNewOrder = serde_json::from_value(json!({"accountID": m, "symbolID": 1, "clOrdID": "ask",
        "side": 2, "type": 1, "timeInForce": 1, "price": "50000", "quantity": "0.1"}))
    .unwrap();
    assert!(maker.spot_new_order(&ask).await.unwrap().is_ok());
    let q = json!({"pair": "btcusdc", "side": "buy", "quantity": "0.1"});
    let q = call(&c, M::POST, format!("{b}/users/{wid}/trading/quotes"), owner, q).await;
    let body = json!({"quote_id": q["data"]["quote_id"]});
    let o = call(&c, M::POST, format!("{b}/users/{wid}/trading/orders"), owner, body).await;
    assert_eq!(o["data"]["status"], "COMPLETED", "{o}");
    let oid = o["data"]["id"].as_str().unwrap().to_string();
    server.kill().unwrap();
    server.wait().unwrap();

    let mut server = serve(&db, port).await;
    let o = call(&c, M::GET, format!("{b}/users/{wid}/trading/orders/{oid}"), owner, Value::Null).await;
    assert_eq!((o["data"]["status"].as_str(), o["data"]["amount"].as_str()), (Some("COMPLETED"), Some("5000")), "{o}");
    let bal = call(&c, M::GET, format!("{b}/users/{uid}/accounts/balance"), owner, Value::Null).await;
    let of =
        |cur: &str| bal["data"].as_array().unwrap().iter().find(|r| r["currency"] == cur).unwrap()["balance"].clone();
    assert_eq!((of("usdc"), of("btc")), (json!(5000), json!(0.09996)), "{bal}");
    let r = maker.get(&format!("/api/v1/spot/accounts/{:#x}/balances", maker.address())).await.unwrap();
    let btc = r.data()["balances"].as_array().unwrap().iter().find(|x| x["coin"] == "BTC").unwrap()["total"].clone();
    assert_eq!(btc, "0.9", "{}", r.json);
    server.kill().unwrap();
    server.wait().unwrap();
    if db.pg_name().is_some() {
        drop_pg_database(&db.url).await;
    }
}
on_both!(trade_acknowledged_then_killed);

/// The watcher's entry for `network` in `GET /chains`.
async fn watcher(c: &reqwest::Client, b: &str, bearer: &str, network: &str) -> Value {
    let l = call(c, reqwest::Method::GET, format!("{b}/chains"), ("authorization", bearer), Value::Null).await;
    l["data"].as_array().unwrap().iter().find(|w| w["network"] == network).cloned().unwrap_or(Value::Null)
}

async fn chain_catch_up_killed(backend: Backend) {
    use reqwest::Method as M;
    use sova_testkit_app::chains::{Flavor, Pay, ScriptedNode};
    let node = ScriptedNode::start(Flavor::Bitcoin).await;
    let db = TestDb::new(backend).await;
    operator(&db);
    let port = free_port();
    let args: Vec<String> = ["--chain-rpc", &format!("bitcoin-testnet={}", node.url)]
        .into_iter()
        .map(String::from)
        .chain(["--chain-confirmations", "bitcoin-testnet=2", "--chain-poll-ms", "50"].map(String::from))
        .collect();
    let mut server = serve_with(&db, port, &args).await;
    let b = format!("http://127.0.0.1:{port}/sovx/v1");
    let c = reqwest::Client::new();
    let (bearer, key, uid) = tenant(&c, &b, "chain-kill").await;
    let owner = ("x-api-key", key.as_str());
    let body = json!({"name": "c", "networks": [{"name": "networks/bitcoin-testnet", "currency": "btc"}]});
    let wallet = call(&c, M::POST, format!("{b}/users/{uid}/wallets"), owner, body).await;
    let wid = wallet["data"]["wallet_id"].as_str().unwrap().to_string();
    let address = wallet["data"]["addresses"][0]["address"].as_str().unwrap().to_string();
    for _ in 0..200 {
        if watcher(&c, &b, &bearer, "bitcoin-testnet").await["state"] == "following" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();

    // While it is down: 3000 blocks, a deposit in every 100th (i satoshis... in whole thousands).
    let mut expected = BTreeMap::new();
    for i in 1..=3000u64 {
        if i % 100 == 0 {
            let (_, _, ids) = node.mine(&[Pay { address: address.clone(), units: i * 1000, mint: None }]);
            expected.insert(ids[0].clone(), i * 1000);
        } else {
            node.mine_empty(1);
        }
    }
    node.mine_empty(2);
    let tip = node.height() as i64;

    // Restart, and kill it again while it is catching up.
    let mut server = serve_with(&db, port, &args).await;
    let mut killed_at = None;
    for _ in 0..2000 {
        let w = watcher(&c, &b, &bearer, "bitcoin-testnet").await;
        let head = w["head_height"].as_i64().unwrap_or(0);
        if w["state"] == "catching_up" && head > 300 && head < tip - 300 {
            killed_at = Some(head);
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let killed_at = killed_at.expect("the watcher was seen catching up");
    assert!(killed_at < tip, "killed mid-way");

    let mut server = serve_with(&db, port, &args).await;
    let mut caught_up = false;
    for _ in 0..1200 {
        let w = watcher(&c, &b, &bearer, "bitcoin-testnet").await;
        if w["state"] == "following" && w["head_height"].as_i64() == Some(tip) {
            caught_up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(caught_up, "the restarted watcher caught up with the node");
    let l = call(&c, M::GET, format!("{b}/wallets/{wid}/deposits?filter[limit]=100"), owner, Value::Null).await;
    let mut seen = BTreeMap::new();
    for d in l["data"].as_array().unwrap() {
        assert_eq!(d["status"], "COMPLETED", "{d}");
        let prior = seen.insert(d["tx_hash"].as_str().unwrap().to_string(), d["amount"].as_str().unwrap().to_string());
        assert!(prior.is_none(), "credited twice: {d}");
    }
    assert_eq!(seen.len(), expected.len(), "every deposit, once");
    for (tx, sats) in &expected {
        let want = format!("{}", rust_decimal::Decimal::new(*sats as i64, 8).normalize());
        assert_eq!(seen.get(tx), Some(&want), "{tx}");
    }
    let total: u64 = expected.values().sum();
    let w = call(&c, M::GET, format!("{b}/wallets/{wid}"), owner, Value::Null).await;
    let want = format!("{}", rust_decimal::Decimal::new(total as i64, 8).normalize());
    assert_eq!(w["data"]["balance"], want.as_str(), "{w}");
    server.kill().unwrap();
    server.wait().unwrap();
    if db.pg_name().is_some() {
        drop_pg_database(&db.url).await;
    }
}
on_both!(chain_catch_up_killed);

/// Benchmark (ignored; `cargo test --release -p sova --test crash chain_catch_up_rate -- --ignored --nocapture`):
/// how fast a watcher catches up with a chain it missed: 5000 blocks of 20 outputs each (one in ten blocks paying a
/// deposit address), a `sova serve` process restarted against them, timed until it follows the tip.
async fn chain_catch_up_rate(backend: Backend) {
    use reqwest::Method as M;
    use sova_testkit_app::chains::{Flavor, Pay, ScriptedNode};
    const BLOCKS: u64 = 5000;
    let node = ScriptedNode::start(Flavor::Bitcoin).await;
    let db = TestDb::new(backend).await;
    operator(&db);
    let port = free_port();
    let args: Vec<String> =
        ["--chain-rpc", &format!("bitcoin-testnet={}", node.url), "--chain-poll-ms", "50"].map(String::from).to_vec();
    let mut server = serve_with(&db, port, &args).await;
    let b = format!("http://127.0.0.1:{port}/sovx/v1");
    let c = reqwest::Client::new();
    let (bearer, key, uid) = tenant(&c, &b, "chain-rate").await;
    let body = json!({"name": "c", "networks": [{"name": "networks/bitcoin-testnet", "currency": "btc"}]});
    let wallet = call(&c, M::POST, format!("{b}/users/{uid}/wallets"), ("x-api-key", key.as_str()), body).await;
    let address = wallet["data"]["addresses"][0]["address"].as_str().unwrap().to_string();
    while watcher(&c, &b, &bearer, "bitcoin-testnet").await["state"] != "following" {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let other = "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx";
    for i in 0..BLOCKS {
        let mut pays: Vec<Pay> = (0..19).map(|k| Pay { address: other.into(), units: 1000 + k, mint: None }).collect();
        let to = if i % 10 == 0 { address.clone() } else { other.to_string() };
        pays.push(Pay { address: to, units: 5000, mint: None });
        node.mine(&pays);
    }
    let tip = node.height() as i64;
    let started = std::time::Instant::now();
    let mut server = serve_with(&db, port, &args).await;
    loop {
        let w = watcher(&c, &b, &bearer, "bitcoin-testnet").await;
        if w["head_height"].as_i64() == Some(tip) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "chain catch-up ({backend:?}): {BLOCKS} blocks, {} outputs, {} deposits in {secs:.2} s: {:.0} blocks/s, {:.0} outputs/s",
        BLOCKS * 20,
        BLOCKS / 10,
        BLOCKS as f64 / secs,
        (BLOCKS * 20) as f64 / secs
    );
    server.kill().unwrap();
    server.wait().unwrap();
    if db.pg_name().is_some() {
        drop_pg_database(&db.url).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run with --ignored --nocapture, in release"]
async fn chain_catch_up_rate_sqlite() {
    chain_catch_up_rate(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run with --ignored --nocapture, in release"]
async fn chain_catch_up_rate_postgres() {
    if pg_url().is_none() {
        return;
    }
    chain_catch_up_rate(Backend::Postgres).await;
}
