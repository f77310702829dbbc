//! Exchange surface (seed 002) end to end: faucet, API keys, signed orders matched by the engine, reads, the
//! nonce rule, bad input with its codes, restart replay, WebSocket feeds.

use serde_json::{Value, json};
use sova_client::Method;
use sova_client::exchange::{ExResponse, ExchangeClient, types as ex};

use sova_testkit_app::on_both;
use sova_testkit_app::prelude::{Backend, TestApp, spawn_app, spawn_on};

const CHAIN: u64 = 286_623;

fn key(byte: u8) -> [u8; 32] {
    [byte; 32]
}

fn client(app: &TestApp, byte: u8) -> ExchangeClient {
    ExchangeClient::new(&app.url(), CHAIN, key(byte)).unwrap()
}

fn ok(r: &ExResponse) -> &Value {
    assert!(r.is_ok(), "expected success, got HTTP {}: {}", r.status, r.json);
    r.data()
}

fn refused(r: &ExResponse, status: u16, reason: &str) {
    assert_eq!((r.status, r.reason()), (status, reason), "{}", r.json);
    assert_ne!(r.code(), 0);
    assert!(r.json["error"].as_str().is_some_and(|e| !e.is_empty()), "{}", r.json);
    assert!(r.json["timestamp"].as_i64().is_some());
}

async fn funded(c: &ExchangeClient, coin: &str, amount: &str) -> u64 {
    let r = c.faucet(coin, amount).await.unwrap();
    ok(&r)["accountID"].as_u64().unwrap()
}

fn limit(account: u64, cl: &str, side: u8, price: &str, qty: &str) -> Value {
    json!({"accountID": account, "symbolID": 1, "clOrdID": cl, "side": side, "type": 1, "timeInForce": 1,
           "price": price, "quantity": qty})
}

fn order(v: Value) -> ex::SpotNewOrder {
    serde_json::from_value(v).unwrap()
}

async fn balance(c: &ExchangeClient, coin: &str) -> (String, String) {
    let r = c.get(&format!("/api/v1/spot/accounts/{:#x}/balances", c.address())).await.unwrap();
    let b = ok(&r)["balances"].as_array().unwrap().iter().find(|b| b["coin"] == coin).unwrap().clone();
    (b["available"].as_str().unwrap().to_string(), b["locked"].as_str().unwrap().to_string())
}

async fn trading(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = client(&app, 0xa1);
    let bob = client(&app, 0xb0);

    let r = alice.get("/api/v1/spot/markets/symbols").await.unwrap();
    let symbols = ok(&r).as_array().unwrap().clone();
    assert!(
        symbols.iter().any(|s| s["id"] == 1 && s["name"] == "BTC_USDC" && s["displayName"] == "BTC/USDC"),
        "{symbols:?}"
    );
    assert!(ok(&alice.get("/api/v1/time").await.unwrap()).as_i64().unwrap() > 1_700_000_000_000);

    let a = funded(&alice, "USDC", "100000").await;
    let b = funded(&bob, "BTC", "2").await;
    assert_ne!(a, b);
    assert_eq!(funded(&alice, "USDC", "1").await, a, "the faucet reuses the account");
    let r = alice.get(&format!("/api/v1/spot/accounts/{:#x}/state", alice.address())).await.unwrap();
    assert_eq!(ok(&r)["aid"], a);

    // Alice registers an API key (master signs AddAPIKey) and trades with it.
    let bot_secret = key(0x77);
    let bot_addr = sova_auth::exchange::address_of(&bot_secret).unwrap();
    let add: ex::AddApiKey = serde_json::from_value(json!({
        "accountID": a, "name": "bot-1", "type": 1, "publicKey": format!("{bot_addr:#x}"), "expiresAt": 0
    }))
    .unwrap();
    let r = alice.add_api_key(&add).await.unwrap();
    assert_eq!(ok(&r)["name"], "bot-1");
    let r = alice.get(&format!("/api/v1/spot/accounts/{:#x}/api-keys", alice.address())).await.unwrap();
    assert_eq!(ok(&r).as_array().unwrap().len(), 1);
    let bot = ExchangeClient::new(&app.url(), CHAIN, bot_secret).unwrap().with_key_name("bot-1");

    // Alice's bot bids 0.5 BTC at 50000; USDC is locked.
    let r = bot.spot_new_order(&order(limit(a, "bid-1", 1, "50000", "0.5"))).await.unwrap();
    let bid_id = ok(&r)["orderID"].as_u64().unwrap();
    assert_eq!(ok(&r)["status"], "NEW");
    assert_eq!(balance(&alice, "USDC").await, ("75001".into(), "25000".into()));
    let r = bob.get("/api/v1/spot/markets/BTC_USDC/orderbook?limit=5").await.unwrap();
    assert_eq!(ok(&r)["bids"], json!([["50000", "0.5"]]));

    // Bob (master key) sells 0.2 at 49000: fills at the maker's 50000.
    let r = bob.spot_new_order(&order(limit(b, "ask-1", 2, "49000", "0.2"))).await.unwrap();
    assert_eq!(ok(&r)["status"], "FILLED");
    // Alice paid 0.2 x 50000 = 10000 USDC and received 0.2 BTC less the maker fee (0.01%).
    assert_eq!(balance(&alice, "USDC").await, ("75001".into(), "15000".into()));
    assert_eq!(balance(&alice, "BTC").await, ("0.19998".into(), "0".into()));
    // Bob received 10000 USDC less the taker fee (0.04%).
    assert_eq!(balance(&bob, "USDC").await, ("9996".into(), "0".into()));
    let r = bob.get("/api/v1/spot/markets/BTC_USDC/trades").await.unwrap();
    assert_eq!(ok(&r)[0]["p"], "50000");
    assert_eq!(ok(&r)[0]["q"], "0.2");
    let r = alice.get(&format!("/api/v1/spot/accounts/{:#x}/trades", alice.address())).await.unwrap();
    assert_eq!(ok(&r)[0]["isMaker"], true);
    let r = alice.get("/api/v1/spot/markets/tickers").await.unwrap();
    assert!(ok(&r).as_array().unwrap().iter().any(|t| t["symbolID"] == 1 && t["lastPx"] == "50000"));
    let r = alice.get("/api/v1/spot/markets/BTC_USDC/klines?interval=1m").await.unwrap();
    assert_eq!(ok(&r)[0]["n"], 1);

    // Cancel the rest by client id: the lock is released.
    let cancel: ex::SpotCancelOrder =
        serde_json::from_value(json!({"accountID": a, "symbolID": 1, "clOrdID": "cx-1", "origClOrdID": "bid-1"}))
            .unwrap();
    let r = bot.spot_cancel_order(&cancel).await.unwrap();
    assert_eq!(ok(&r)["status"], "CANCELED");
    assert_eq!(ok(&r)["orderID"], bid_id);
    assert_eq!(balance(&alice, "USDC").await, ("90001".into(), "0".into()));
    let r = alice.get(&format!("/api/v1/spot/accounts/{:#x}/orders/history", alice.address())).await.unwrap();
    assert_eq!(ok(&r)[0]["status"], "CANCELED");
    assert_eq!(ok(&r)[0]["executedQty"], "0.2");
    let r = alice.get(&format!("/api/v1/spot/accounts/{:#x}/orders", alice.address())).await.unwrap();
    assert_eq!(ok(&r)["orders"].as_array().unwrap().len(), 0);

    // Insufficient balance: refused, nothing changes, but the nonce is consumed.
    let body = serde_json::to_vec(&order(limit(a, "big", 1, "50000", "100"))).unwrap();
    let nonce = bot.next_nonce();
    let r = bot
        .send_signed(
            ex::Domain::Spot,
            ex::Action::NewOrder,
            Method::POST,
            "/api/v1/spot/trade/orders",
            body.clone(),
            nonce,
        )
        .await
        .unwrap();
    refused(&r, 400, "INSUFFICIENT_BALANCE");
    let r = bot
        .send_signed(ex::Domain::Spot, ex::Action::NewOrder, Method::POST, "/api/v1/spot/trade/orders", body, nonce)
        .await
        .unwrap();
    refused(&r, 400, "NONCE_REUSED");
    assert_eq!(balance(&alice, "USDC").await, ("90001".into(), "0".into()));

    // Internal transfer to a sub-account of the same master; another master's account is refused.
    let r = alice
        .raw(
            Method::POST,
            "/api/v1/sandbox/sub-accounts",
            vec![],
            Some(json!({"address": format!("{:#x}", alice.address())}).to_string().into_bytes()),
        )
        .await
        .unwrap();
    let sub = ok(&r)["accountID"].as_u64().unwrap();
    let t = |to: u64, id: u64| -> ex::TransferAsset {
        serde_json::from_value(
            json!({"id": id, "fromAccountID": a, "toAccountID": to, "coinID": 1, "amount": "1", "type": 4}),
        )
        .unwrap()
    };
    let r = alice.signed(ex::Domain::Spot, Method::POST, "/api/v1/spot/accounts/transfers", &t(sub, 1)).await.unwrap();
    ok(&r);
    let r = alice.get(&format!("/api/v1/spot/accounts/{:#x}/balances?accountID={sub}", alice.address())).await.unwrap();
    assert_eq!(ok(&r)["balances"][0]["available"], "1");
    let r = alice.signed(ex::Domain::Spot, Method::POST, "/api/v1/spot/accounts/transfers", &t(b, 2)).await.unwrap();
    refused(&r, 403, "MASTER_MISMATCH");

    // Revoke the key: its next order is refused as an unknown key.
    let revoke: ex::RevokeApiKey = serde_json::from_value(json!({"accountID": a, "name": "bot-1"})).unwrap();
    ok(&alice.revoke_api_key(&revoke).await.unwrap());
    let r = bot.spot_new_order(&order(limit(a, "bid-2", 1, "50000", "0.1"))).await.unwrap();
    refused(&r, 401, "UNKNOWN_API_KEY");

    app.stop().await;
}
on_both!(trading);

async fn bad_input(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = client(&app, 0xa2);
    let mallory = client(&app, 0xee);
    let a = funded(&alice, "USDC", "1000").await;
    funded(&mallory, "USDC", "1000").await;
    let path = "/api/v1/spot/trade/orders";
    let body = serde_json::to_vec(&order(limit(a, "o-1", 1, "100", "0.01"))).unwrap();
    let send = |headers: Vec<(&'static str, String)>, body: Vec<u8>| {
        let alice = &alice;
        async move { alice.raw(Method::POST, path, headers, Some(body)).await.unwrap() }
    };
    let good = |nonce: u64, body: &[u8]| -> String {
        alice
            .verifier()
            .sign_action(alice.secret(), ex::Domain::Spot, ex::Action::NewOrder, body, nonce)
            .unwrap()
            .to_header()
    };
    let with = |sign: String, nonce: u64| alice.signature_headers(sign, nonce);

    // Signature shape.
    let n = alice.next_nonce();
    let sig = good(n, &body);
    refused(&send(vec![("x-api-nonce", n.to_string())], body.clone()).await, 401, "MISSING_SIGNATURE");
    let wrong_type = format!("0x02{}", &sig[4..]);
    refused(&send(with(wrong_type, n), body.clone()).await, 401, "SIGNATURE_TYPE_MISMATCH");
    refused(&send(with(sig[..sig.len() - 2].to_string(), n), body.clone()).await, 401, "SIGNATURE_LENGTH");
    let v27 = format!("{}1b", &sig[..sig.len() - 2]);
    refused(&send(with(v27, n), body.clone()).await, 401, "SIGNATURE_RECOVERY_ID");
    ok(&send(with(sig.clone(), n), body.clone()).await);

    // Nonces.
    refused(&send(with(sig.clone(), n), body.clone()).await, 400, "NONCE_REUSED");
    let old = n - 3 * 86_400_000;
    refused(&send(with(good(old, &body), old), body.clone()).await, 400, "NONCE_OUT_OF_WINDOW");

    // Body: trailing zeros, unknown enum, unknown field.
    let zeros = format!(
        r#"{{"accountID":{a},"symbolID":1,"clOrdID":"o-2","side":1,"type":1,"timeInForce":1,"price":"100.0","quantity":"0.01"}}"#
    )
    .into_bytes();
    let n = alice.next_nonce();
    refused(&send(with(good(n, &zeros), n), zeros).await, 400, "INVALID_DECIMAL");
    // Keys out of the vendor's order.
    let reordered = format!(
        r#"{{"symbolID":1,"accountID":{a},"clOrdID":"o-2","side":1,"type":1,"timeInForce":1,"price":"100","quantity":"0.01"}}"#
    )
    .into_bytes();
    let n = alice.next_nonce();
    refused(&send(with(good(n, &reordered), n), reordered).await, 400, "NON_CANONICAL_BODY");
    let e = format!(
        r#"{{"accountID":{a},"symbolID":1,"clOrdID":"o-3","side":7,"type":1,"timeInForce":1,"price":"100","quantity":"0.01"}}"#
    )
    .into_bytes();
    let n = alice.next_nonce();
    refused(&send(with(good(n, &e), n), e).await, 400, "INVALID_ENUM");

    // Unknown key name; another master's account.
    let named = ExchangeClient::new(&app.url(), CHAIN, key(0xa2)).unwrap().with_key_name("nope");
    refused(&named.spot_new_order(&order(limit(a, "o-4", 1, "100", "0.01"))).await.unwrap(), 401, "UNKNOWN_API_KEY");
    refused(&mallory.spot_new_order(&order(limit(a, "o-5", 1, "100", "0.01"))).await.unwrap(), 401, "SIGNER_MISMATCH");
    // Unknown account, unknown market, off-tick price.
    refused(
        &alice.spot_new_order(&order(limit(999_999, "o-6", 1, "100", "0.01"))).await.unwrap(),
        404,
        "UNKNOWN_ACCOUNT",
    );
    let mut m = limit(a, "o-7", 1, "100", "0.01");
    m["symbolID"] = json!(99);
    refused(&alice.spot_new_order(&order(m)).await.unwrap(), 400, "UNKNOWN_MARKET");
    refused(&alice.spot_new_order(&order(limit(a, "o-8", 1, "100.001", "0.01"))).await.unwrap(), 400, "INVALID_PRICE");

    // Expired API key.
    let bot_secret = key(0x78);
    let bot_addr = sova_auth::exchange::address_of(&bot_secret).unwrap();
    let soon = alice.next_nonce() + 1500;
    let add: ex::AddApiKey = serde_json::from_value(json!({
        "accountID": a, "name": "short", "type": 1, "publicKey": format!("{bot_addr:#x}"), "expiresAt": soon
    }))
    .unwrap();
    ok(&alice.add_api_key(&add).await.unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    let bot = ExchangeClient::new(&app.url(), CHAIN, bot_secret).unwrap().with_key_name("short");
    refused(&bot.spot_new_order(&order(limit(a, "o-9", 1, "100", "0.01"))).await.unwrap(), 401, "API_KEY_EXPIRED");

    // Faucet and reads.
    let r = alice
        .raw(Method::POST, "/api/v1/sandbox/faucet", vec![], Some(b"{\"address\":\"0x12\"".to_vec()))
        .await
        .unwrap();
    refused(&r, 400, "INVALID_JSON");
    let body = json!({"address": "0xzz", "coin": "USDC", "amount": "1"}).to_string().into_bytes();
    refused(
        &alice.raw(Method::POST, "/api/v1/sandbox/faucet", vec![], Some(body)).await.unwrap(),
        400,
        "INVALID_ADDRESS",
    );
    let body =
        json!({"address": format!("{:#x}", alice.address()), "coin": "DOGE", "amount": "1"}).to_string().into_bytes();
    refused(
        &alice.raw(Method::POST, "/api/v1/sandbox/faucet", vec![], Some(body)).await.unwrap(),
        400,
        "UNKNOWN_COIN_SYMBOL",
    );
    let stranger = client(&app, 0x5a);
    refused(
        &stranger.get(&format!("/api/v1/spot/accounts/{:#x}/state", stranger.address())).await.unwrap(),
        404,
        "NOT_FOUND",
    );
    let r =
        alice.get(&format!("/api/v1/spot/accounts/{:#x}/balances?accountID={}", alice.address(), a + 1)).await.unwrap();
    refused(&r, 404, "NOT_FOUND");

    // Nothing above changed the balance.
    assert_eq!(balance(&alice, "USDC").await, ("999".into(), "1".into()));
    app.stop().await;
}
on_both!(bad_input);

async fn restart_replays(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = client(&app, 0xa3);
    let bob = client(&app, 0xb3);
    let a = funded(&alice, "USDC", "50000").await;
    let b = funded(&bob, "BTC", "1").await;
    let used = alice.next_nonce();
    let signed_once = serde_json::to_vec(&order(limit(a, "n0", 1, "10", "0.1"))).unwrap();
    async fn resend(c: &ExchangeClient, body: &[u8], nonce: u64) -> ExResponse {
        let path = "/api/v1/spot/trade/orders";
        c.send_signed(ex::Domain::Spot, ex::Action::NewOrder, Method::POST, path, body.to_vec(), nonce).await.unwrap()
    }
    ok(&resend(&alice, &signed_once, used).await);
    for (i, p) in ["100", "101", "102"].iter().enumerate() {
        ok(&alice.spot_new_order(&order(limit(a, &format!("b{i}"), 1, p, "0.5"))).await.unwrap());
    }
    ok(&bob.spot_new_order(&order(limit(b, "s0", 2, "101", "0.7"))).await.unwrap());
    ok(&bob.spot_new_order(&order(limit(b, "s1", 2, "150", "0.1"))).await.unwrap());
    let before = app.running.ctx.exchange.exchange.read(|c| (c.engine.digest(), c.engine.snapshot())).await.unwrap();
    let book = bob.get("/api/v1/spot/markets/BTC_USDC/orderbook").await.unwrap().json["data"].clone();

    // Kill and restart on the same database and data directory.
    let TestApp { running, dir, database_url, .. } = app;
    running.stop().await.unwrap();
    let app = spawn_on(dir, database_url, |_| {}).await;
    let after = app.running.ctx.exchange.exchange.read(|c| (c.engine.digest(), c.engine.snapshot())).await.unwrap();
    assert_eq!(before.0, after.0, "engine digest after restart");
    assert_eq!(before.1, after.1);
    let alice = client(&app, 0xa3);
    let again = alice.get("/api/v1/spot/markets/BTC_USDC/orderbook").await.unwrap().json["data"].clone();
    assert_eq!(book, again);
    // The old nonces stay consumed; trading continues with fresh ids.
    refused(&resend(&alice, &signed_once, used).await, 400, "NONCE_REUSED");
    let r = alice.spot_new_order(&order(limit(a, "b9", 1, "150", "0.1"))).await.unwrap();
    assert_eq!(ok(&r)["status"], "FILLED");
    app.stop().await;
}
on_both!(restart_replays);

async fn websocket_feeds(backend: Backend) {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let app = spawn_app(backend).await;
    let alice = client(&app, 0xa4);
    let bob = client(&app, 0xb4);
    let a = funded(&alice, "USDC", "1000").await;
    let b = funded(&bob, "BTC", "1").await;
    let url = format!("{}/ws/spot", app.url().replace("http://", "ws://"));
    async fn ws_next(
        ws: &mut tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    ) -> Option<Value> {
        match ws.next().await? {
            Ok(Message::Text(t)) => serde_json::from_str(&t).ok(),
            _ => None,
        }
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let send = |v: Value| Message::Text(v.to_string().into());
    ws.send(send(json!({"op": "ping"}))).await.unwrap();
    assert_eq!(ws_next(&mut ws).await.unwrap(), json!({"op": "pong"}));
    ws.send(send(json!({"op": "subscribe", "id": 1, "params": {"channel": "nope", "symbol": "BTC/USDC"}})))
        .await
        .unwrap();
    let refusal = ws_next(&mut ws).await.unwrap();
    assert_eq!((refusal["success"].as_bool(), refusal["id"].as_i64()), (Some(false), Some(1)), "{refusal}");
    ws.send(send(json!({"op": "nope", "id": 9}))).await.unwrap();
    let e = ws_next(&mut ws).await.unwrap();
    assert_eq!((e["op"].as_str(), e["code"].as_str()), (Some("error"), Some("UNKNOWN_OP")), "{e}");
    ws.send(send(json!({"op": "subscribe", "id": 2,
        "params": {"channel": "l2Book", "symbol": "BTC/USDC", "tickSize": "0.01", "level": 20, "pushInterval": 100}})))
        .await
        .unwrap();
    let ack = ws_next(&mut ws).await.unwrap();
    assert_eq!((ack["success"].as_bool(), ack["id"].as_i64()), (Some(true), Some(2)), "{ack}");
    assert_eq!(ack["result"]["symbol"], "BTC/USDC");
    let snap = ws_next(&mut ws).await.unwrap();
    assert_eq!((snap["channel"].as_str(), snap["type"].as_str()), (Some("l2Book"), Some("snapshot")));
    assert_eq!(snap["data"]["b"], json!([]));
    assert_eq!(snap["data"]["s"], "BTC/USDC", "s is the name the client subscribed by");
    let user = format!("{:#x}", alice.address());
    for (id, ch) in [(3, "accountOrderUpdate"), (4, "accountUpdate"), (5, "accountTrade"), (6, "accountState")] {
        ws.send(send(json!({"op": "subscribe", "id": id, "params": {"channel": ch, "user": user}}))).await.unwrap();
        let ack = ws_next(&mut ws).await.unwrap();
        assert_eq!((ack["success"].as_bool(), ack["id"].as_i64()), (Some(true), Some(id)), "{ack}");
        assert_eq!(ws_next(&mut ws).await.unwrap()["type"], "snapshot");
    }
    ws.send(send(json!({"op": "subscribe", "id": 7, "params": {"channel": "trade", "symbols": ["BTC_USDC"]}})))
        .await
        .unwrap();
    assert_eq!(ws_next(&mut ws).await.unwrap()["success"], true);
    assert_eq!(ws_next(&mut ws).await.unwrap()["data"], json!([]));
    ws.send(send(json!({"op": "subscribe", "id": 12, "params": {"channel": "l4Book", "symbol": "BTC_USDC"}})))
        .await
        .unwrap();
    assert_eq!(ws_next(&mut ws).await.unwrap()["success"], true);
    assert_eq!(ws_next(&mut ws).await.unwrap()["data"]["b"], json!([]));
    for (id, ch) in [(8, "allTicker"), (9, "allBookTicker"), (10, "allMiniTicker")] {
        ws.send(send(json!({"op": "subscribe", "id": id, "params": {"channel": ch}}))).await.unwrap();
        assert_eq!(ws_next(&mut ws).await.unwrap()["success"], true);
        for _ in 0..3 {
            assert_eq!(ws_next(&mut ws).await.unwrap()["channel"], ch, "one snapshot per market");
        }
    }
    ws.send(send(
        json!({"op": "subscribe", "id": 11, "params": {"channel": "candle", "symbol": "BTC_USDC", "interval": "5m"}}),
    ))
    .await
    .unwrap();
    assert_eq!(ws_next(&mut ws).await.unwrap()["success"], true);
    assert_eq!(ws_next(&mut ws).await.unwrap()["data"], Value::Null, "no candle before a trade");

    ok(&alice.spot_new_order(&order(limit(a, "w1", 1, "100", "1"))).await.unwrap());
    ok(&bob.spot_new_order(&order(limit(b, "w2", 2, "100", "0.4"))).await.unwrap());
    let mut seen: Vec<Value> = Vec::new();
    let wanted = |seen: &Vec<Value>| {
        let has = |ch: &str, f: &dyn Fn(&Value) -> bool| seen.iter().any(|m| m["channel"] == ch && f(&m["data"]));
        has("l2Book", &|d| d["b"] == json!([["100", "0.6"]]) && d["s"] == "BTC/USDC")
            && has("trade", &|d| d[0]["p"] == "100" && d[0]["q"] == "0.4" && d[0]["s"] == "BTC_USDC")
            && has("accountOrderUpdate", &|d| d[0]["c"] == "w1" && d[0]["X"] == "PARTIALLY_FILLED")
            && has("accountTrade", &|d| d[0]["m"] == true && d[0]["c"] == "w1")
            && has("accountUpdate", &|d| d["B"][0]["l"] == "60")
            && has("accountState", &|d| d["O"][0]["c"] == "w1")
            && has("allTicker", &|d| d["c"] == "100" && d["s"] == "BTC_USDC")
            && has("allBookTicker", &|d| d["b"] == "100")
            && has("candle", &|d| d["i"] == "5m" && d["c"] == "100" && d["n"] == 1)
            && has("l4Book", &|d| d["U"] == d["u"] && d["s"] == "BTC_USDC")
    };
    while !wanted(&seen) {
        let m = tokio::time::timeout(std::time::Duration::from_secs(5), ws_next(&mut ws))
            .await
            .unwrap_or_else(|_| panic!("missing pushes; got {seen:#?}"))
            .unwrap();
        assert_eq!(m["type"], "update", "{m}");
        seen.push(m);
    }
    ws.send(send(json!({"op": "unsubscribe", "params": {"channel": "l2Book", "symbol": "BTC/USDC"}}))).await.unwrap();
    app.stop().await;
}
on_both!(websocket_feeds);

async fn dead_man_switch_fires(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = client(&app, 0xa5);
    let a = funded(&alice, "USDC", "1000").await;
    ok(&alice.spot_new_order(&order(limit(a, "d1", 1, "100", "1"))).await.unwrap());
    let at = alice.next_nonce() + 300;
    let p: ex::ScheduleCancel = serde_json::from_value(json!({"accountID": a, "scheduledTimestamp": at})).unwrap();
    ok(&alice.signed(ex::Domain::Spot, Method::POST, "/api/v1/spot/trade/orders/schedule-cancel", &p).await.unwrap());
    // No further request: the sequencer's ticker fires it.
    let orders = format!("/api/v1/spot/accounts/{:#x}/orders", alice.address());
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if ok(&alice.get(&orders).await.unwrap())["orders"].as_array().unwrap().is_empty() {
            break;
        }
    }
    assert_eq!(ok(&alice.get(&orders).await.unwrap())["orders"].as_array().unwrap().len(), 0, "the switch fired");
    assert_eq!(balance(&alice, "USDC").await, ("1000".into(), "0".into()));
    let h = ok(&alice.get(&format!("{orders}/history")).await.unwrap()).clone();
    assert_eq!(h[0]["status"], "CANCELED");
    app.stop().await;
}
on_both!(dead_man_switch_fires);

/// Requests built and signed by Python `eth-account` (no shared code) are accepted over HTTP.
async fn eth_account_client(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = client(&app, 0xa6);
    let a = funded(&alice, "USDC", "1000").await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/independent/exchange_trader.py");
    let out = match std::process::Command::new("python3")
        .arg(script)
        .env("SOVA_URL", app.url())
        .env("CHAIN_ID", CHAIN.to_string())
        .env("MASTER_KEY", format!("0x{}", hex::encode(key(0xa6))))
        .env("ACCOUNT_ID", a.to_string())
        .output()
    {
        Ok(o) if o.status.code() != Some(3) => o,
        other => {
            assert!(std::env::var("SOVA_REQUIRE_INTEROP").is_err(), "python3 with eth-account is required: {other:?}");
            eprintln!("SKIPPED eth_account_client: python3 with eth-account is not available");
            app.stop().await;
            return;
        }
    };
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let steps: Vec<&str> = lines.iter().map(|l| l["step"].as_str().unwrap()).collect();
    assert_eq!(steps, ["addAPIKey", "newOrder", "cancelOrder", "revokeAPIKey"]);
    for l in &lines {
        assert_eq!((l["status"].as_u64(), l["body"]["code"].as_i64()), (Some(200), Some(0)), "{l}");
    }
    assert_eq!(lines[1]["body"]["data"]["status"], "NEW");
    assert_eq!(lines[2]["body"]["data"]["status"], "CANCELED");
    let r = alice.get(&format!("/api/v1/spot/accounts/{:#x}/api-keys", alice.address())).await.unwrap();
    assert_eq!(ok(&r).as_array().unwrap().len(), 0);
    assert_eq!(balance(&alice, "USDC").await, ("1000".into(), "0".into()));
    app.stop().await;
}
on_both!(eth_account_client);

/// Per-IP request budget, and the exchange's envelope on unknown routes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_budget_and_unknown_routes() {
    let app = sova_testkit_app::prelude::spawn_app_with(Backend::Sqlite, |c| c.rate_limit_per_minute = 5).await;
    let alice = client(&app, 0xa7);
    for _ in 0..5 {
        ok(&alice.get("/api/v1/spot/markets/coins").await.unwrap());
    }
    let r = alice.get("/api/v1/spot/markets/coins").await.unwrap();
    refused(&r, 429, "RATE_LIMITED");
    let r = alice.get("/api/v1/spot/nope").await.unwrap();
    refused(&r, 404, "NOT_FOUND");
    app.stop().await;
}

/// batchNewOrder, replaceOrder and batchCancelOrder: one result per item, a refused item alone.
async fn batches(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = client(&app, 0xa8);
    let a = funded(&alice, "USDC", "1000").await;
    let item = |cl: &str, price: &str| json!({"symbolID": 1, "clOrdID": cl, "side": 1, "type": 1, "timeInForce": 1, "price": price, "quantity": "0.02"});
    let batch: ex::SpotBatchNewOrder = serde_json::from_value(
        json!({"accountID": a, "orders": [item("k1", "100"), item("k2", "100.001"), item("k3", "90")]}),
    )
    .unwrap();
    let r = alice.signed(ex::Domain::Spot, Method::POST, "/api/v1/spot/trade/orders/batch", &batch).await.unwrap();
    let items = ok(&r).as_array().unwrap().clone();
    assert_eq!(items.len(), 3);
    assert_eq!((items[0]["clOrdID"].as_str(), items[0]["status"].as_str()), (Some("k1"), Some("NEW")));
    assert_eq!((items[1]["clOrdID"].as_str(), items[1]["reason"].as_str()), (Some("k2"), Some("INVALID_PRICE")));
    assert_eq!(items[2]["status"], "NEW", "{items:?}");
    let replace: ex::ReplaceOrder = serde_json::from_value(json!({"accountID": a, "orders": [
        {"symbolID": 1, "clOrdID": "k1b", "origClOrdID": "k1", "price": "95"},
        {"symbolID": 1, "clOrdID": "k9b", "origClOrdID": "k9", "price": "95"}
    ]}))
    .unwrap();
    let r = alice.signed(ex::Domain::Spot, Method::POST, "/api/v1/spot/trade/orders/replace", &replace).await.unwrap();
    let items = ok(&r).as_array().unwrap().clone();
    assert_eq!(items[0]["status"], "NEW", "{items:?}");
    assert_eq!(items[1]["reason"], "UNKNOWN_ORDER");
    let orders = format!("/api/v1/spot/accounts/{:#x}/orders", alice.address());
    let open = ok(&alice.get(&orders).await.unwrap()).clone();
    let prices: Vec<&str> = open["orders"].as_array().unwrap().iter().map(|o| o["price"].as_str().unwrap()).collect();
    assert_eq!(prices, ["90", "95"]);
    let cancel: ex::SpotBatchCancelOrder = serde_json::from_value(json!({"accountID": a, "cancels": [
        {"symbolID": 1, "clOrdID": "c1", "origClOrdID": "k1b"},
        {"symbolID": 1, "clOrdID": "c2", "origClOrdID": "k3"},
        {"symbolID": 1, "clOrdID": "c3"}
    ]}))
    .unwrap();
    let r = alice.signed(ex::Domain::Spot, Method::DELETE, "/api/v1/spot/trade/orders/batch", &cancel).await.unwrap();
    let items = ok(&r).as_array().unwrap().clone();
    assert_eq!((items[0]["status"].as_str(), items[1]["status"].as_str()), (Some("CANCELED"), Some("CANCELED")));
    assert_eq!(items[2]["reason"], "INVALID_FIELD");
    assert_eq!(ok(&alice.get(&orders).await.unwrap())["orders"].as_array().unwrap().len(), 0);
    assert_eq!(balance(&alice, "USDC").await, ("1000".into(), "0".into()));
    app.stop().await;
}
on_both!(batches);

async fn block_time(app: &TestApp) -> u64 {
    app.running.ctx.exchange.exchange.read(|c| c.last_ts).await.unwrap()
}

/// Some answers pinned byte for byte (the envelope's `timestamp` aside): key order, numbers vs strings, nulls.
async fn answers_keep_their_bytes(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = client(&app, 0xa9);
    let a = funded(&alice, "USDC", "1000").await;
    ok(&alice.spot_new_order(&order(limit(a, "p1", 1, "100", "0.5"))).await.unwrap());
    let http = reqwest::Client::new();
    let raw = |path: String| {
        let (http, url) = (&http, app.url());
        async move {
            let r = http.get(format!("{url}{path}")).send().await.unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            // The envelope ends with the server time: `,"timestamp":<ms>}`.
            let (head, ts) = text.rsplit_once(",\"timestamp\":").unwrap();
            assert!(ts.strip_suffix('}').unwrap().parse::<i64>().is_ok(), "{text}");
            (status, format!("{head},\"timestamp\":0}}"))
        }
    };
    assert_eq!(
        raw("/api/v1/spot/markets/BTC_USDC/orderbook?depth=5".into()).await.1,
        r#"{"code":0,"data":{"asks":[],"bids":[["100","0.5"]],"blockHeight":3,"blockTime":0,"symbol":"BTC_USDC","symbolID":1,"updateID":3},"timestamp":0}"#
            .replace("\"blockTime\":0", &format!("\"blockTime\":{}", block_time(&app).await))
    );
    assert_eq!(
        raw("/api/v1/spot/markets/coins?coin=BTC".into()).await,
        (200, r#"{"code":0,"data":[{"coin":"BTC","coinID":2,"decimals":8,"id":2,"name":"BTC","precision":8}],"timestamp":0}"#.into())
    );
    let (status, symbols) = raw("/api/v1/spot/markets/symbols?symbol=BTC_USDC".into()).await;
    assert_eq!(status, 200);
    assert_eq!(
        symbols,
        concat!(
            r#"{"code":0,"data":[{"baseCoin":"BTC","baseCoinID":2,"baseCoinPrecision":8,"buyLimitUpRatio":"0","#,
            r#""displayName":"BTC/USDC","id":1,"lotSize":"0.0001","makerFee":"0.0001","marketDeviationRatio":"0","#,
            r#""marketMaxQuantity":"1844674407370955.1615","marketMinQuantity":"0.0001","#,
            r#""maxNotional":"18446744073709.551615","maxPrice":"184467440737095516.15","#,
            r#""maxQuantity":"1844674407370955.1615","minNotional":"1","minPrice":"0.01","minQuantity":"0.0001","#,
            r#""name":"BTC_USDC","pricePrecision":2,"quantityPrecision":4,"quoteCoin":"USDC","quoteCoinID":1,"#,
            r#""quoteCoinPrecision":6,"sellLimitDownRatio":"0","status":"TRADING","stepSize":"0.0001","#,
            r#""symbol":"BTC_USDC","symbolID":1,"takerFee":"0.0004","tickSize":"0.01"}],"timestamp":0}"#
        )
    );
    assert_eq!(
        raw("/api/v1/spot/markets/bookTickers?symbol=BTC/USDC".into()).await.1,
        r#"{"code":0,"data":[{"askPx":"0","askSz":"0","bidPx":"100","bidSz":"0.5","symbol":"BTC_USDC","symbolID":1}],"timestamp":0}"#
    );
    let (status, fees) = raw(format!("/api/v1/spot/accounts/{:#x}/fee-rate?symbol=BTC_USDC", alice.address())).await;
    assert_eq!(status, 200);
    assert_eq!(
        fees,
        format!(
            r#"{{"code":0,"data":{{"accountID":{a},"feeTier":0,"makerFeeRate":"0.0001","makerRebateTier":0,"stakingTier":0,"symbol":"BTC_USDC","symbolID":1,"takerFeeRate":"0.0004"}},"timestamp":0}}"#
        )
    );
    assert_eq!(
        raw("/api/v1/spot/markets/DOGE_USDC/orderbook".into()).await,
        (
            400,
            concat!(
                r#"{"code":10009,"error":"symbol \"DOGE_USDC\" is not listed (GET /api/v1/spot/markets/symbols)","#,
                r#""reason":"UNKNOWN_SYMBOL","timestamp":0}"#
            )
            .into()
        )
    );
    app.stop().await;
}
on_both!(answers_keep_their_bytes);

/// `GET /api/v1/openapi.json` describes every route the exchange serves, with its answer and its errors (issue 12,
/// item 5). The routes are walked over HTTP from `exchange::ROUTES` (the list kept beside the router): each is
/// served (not a routing 404/405), no other method is served on its path, and the document lists exactly them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_describes_every_route() {
    let app = spawn_app(Backend::Sqlite).await;
    let r = reqwest::get(format!("{}/api/v1/openapi.json", app.url())).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let doc: Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    assert_eq!(doc["info"]["title"], "Sova Exchange API");
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            documented.push((method.to_uppercase(), path.clone()));
            let ok = &op["responses"][if path.starts_with("/ws/") { "101" } else { "200" }];
            assert!(ok.is_object(), "{method} {path} has no success answer: {op}");
            for range in ["4XX", "5XX"] {
                let schema = &op["responses"][range]["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(schema, "#/components/schemas/ErrorEnvelope", "{method} {path}: no {range} answer");
            }
        }
    }
    documented.sort();
    let mut served: Vec<(String, String)> =
        sova_server::exchange::ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    served.sort();
    let missing: Vec<_> = served.iter().filter(|r| !documented.contains(r)).collect();
    assert!(missing.is_empty(), "served but not in the OpenAPI document: {missing:?}");
    let extra: Vec<_> = documented.iter().filter(|r| !served.contains(r)).collect();
    assert!(extra.is_empty(), "in the document but not in exchange::ROUTES: {extra:?}");

    // Walk the router: every listed route is served, and no other method on its path.
    let http = reqwest::Client::new();
    let concrete = |p: &str| {
        p.replace("{address}", "0x14791697260e4c9a71f18484c9f997b308e59325")
            .replace("{symbol}", "BTC_USDC")
            .replace("{route}", "spot/trade/orders")
    };
    let mut paths: Vec<&str> = sova_server::exchange::ROUTES.iter().map(|(_, p)| *p).collect();
    paths.dedup();
    for path in paths {
        let url = format!("{}{}", app.url(), concrete(path));
        for method in ["GET", "POST", "DELETE", "PUT", "PATCH"] {
            let listed = sova_server::exchange::ROUTES.contains(&(method, path));
            let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let r = http.request(m, &url).body("{}").send().await.unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            let unrouted = body["error"].as_str().is_some_and(|e| e.starts_with("no route for"))
                || body["reason"] == "METHOD_NOT_ALLOWED";
            assert!(status < 500, "{method} {path}: {status} {body}");
            if listed {
                assert!(!unrouted, "{method} {path} is listed but not served: {status} {body}");
            } else {
                assert_eq!((status, body["reason"].as_str()), (405, Some("METHOD_NOT_ALLOWED")), "{method} {path}");
            }
        }
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for s in ["OrderAck", "OrderReceipt", "BatchItem", "Order", "OrderBook", "Symbol", "Reason", "ErrorEnvelope"]
        .into_iter()
        .chain(["TwapReceipt", "AccountTwaps", "TwapOrder", "WsTwapOrder"])
    {
        assert!(schemas.contains_key(s), "no schema {s}: {:?}", schemas.keys().collect::<Vec<_>>());
    }
    app.stop().await;
}

/// Issue 14, item 3: a resting order filled completely by later takers leaves the open orders and appears in the
/// maker's history, `FILLED` with every lot, before and after a restart.
async fn filled_makers_reach_history(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = client(&app, 0xa8);
    let bob = client(&app, 0xb8);
    let a = funded(&alice, "BTC", "1").await;
    let b = funded(&bob, "USDC", "1000").await;
    ok(&alice.spot_new_order(&order(limit(a, "m1", 2, "100", "1"))).await.unwrap());
    for (i, q) in ["0.4", "0.6"].iter().enumerate() {
        ok(&bob.spot_new_order(&order(limit(b, &format!("t{i}"), 1, "100", q))).await.unwrap());
    }
    let orders = format!("/api/v1/spot/accounts/{:#x}/orders", alice.address());
    let check = |app: &TestApp| {
        let alice = client(app, 0xa8);
        let orders = orders.clone();
        async move {
            assert_eq!(ok(&alice.get(&orders).await.unwrap())["orders"].as_array().unwrap().len(), 0, "still open");
            let h = ok(&alice.get(&format!("{orders}/history")).await.unwrap()).clone();
            let h = h.as_array().unwrap();
            assert_eq!(h.len(), 1, "{h:?}");
            assert_eq!((h[0]["clOrdID"].as_str(), h[0]["status"].as_str()), (Some("m1"), Some("FILLED")));
            assert_eq!(h[0]["executedQty"].as_str().map(|q| q.trim_end_matches('0').trim_end_matches('.')), Some("1"));
        }
    };
    check(&app).await;
    let TestApp { running, dir, database_url, .. } = app;
    running.stop().await.unwrap();
    let app = spawn_on(dir, database_url, |_| {}).await;
    check(&app).await;
    app.stop().await;
}
on_both!(filled_makers_reach_history);

/// Issue 14, item 6: a signature header with bytes outside visible ASCII is refused as malformed, not taken for
/// absent; and a path the router cannot decode answers in the exchange's envelope.
async fn non_ascii_headers_are_malformed(backend: Backend) {
    let app = spawn_app(backend).await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/spot/trade/orders", app.url());
    for (name, expected, reason) in [
        ("x-api-chain", 400, "MALFORMED_CHAIN"),
        ("x-api-nonce", 400, "MALFORMED_NONCE"),
        ("x-api-sign", 401, "MALFORMED_SIGNATURE"),
    ] {
        let r = http
            .post(&url)
            .header("content-type", "application/json")
            .header(name, reqwest::header::HeaderValue::from_bytes(b"\xc3\xa9").unwrap())
            .body("{}")
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        assert_eq!((status, v["reason"].as_str()), (expected, Some(reason)), "{name}: {v}");
    }
    let r = http.get(format!("{}/api/v1/spot/accounts/%FF/orders", app.url())).send().await.unwrap();
    assert!(r.status().is_client_error());
    let v: Value = r.json().await.unwrap();
    assert!(v["reason"].is_string() && v["code"].as_u64().is_some_and(|c| c > 0), "{v}");
    app.stop().await;
}
on_both!(non_ascii_headers_are_malformed);

/// The key set of an object (sorted).
fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> =
        v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().map(|k| k.as_str()).collect();
    k.sort_unstable();
    k
}

/// Issue 12: the exact key sets of every spot answer the vendor SDKs parse (`spec/exchange-sdk-wire.md` §1), so a
/// later change cannot silently drop or rename a field a client reads. Extras beyond the vendor's names are listed
/// too: adding a key is a deliberate change of this test.
async fn sdk_reply_shapes(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = client(&app, 0xc1);
    let bob = client(&app, 0xc2);
    let a = funded(&alice, "USDC", "1000").await;
    let b = funded(&bob, "BTC", "1").await;
    let me = format!("{:#x}", alice.address());
    let get = |path: String| {
        let alice = &alice;
        async move { ok(&alice.get(&path).await.unwrap()).clone() }
    };
    let order_keys = [
        "accountID",
        "clOrdID",
        "createdAt",
        "executedQty",
        "executedValue",
        "funds",
        "marginFrozen",
        "orderID",
        "origQty",
        "price",
        "quantity",
        "side",
        "status",
        "symbol",
        "symbolID",
        "timeInForce",
        "type",
        "updatedAt",
    ];

    // Writes: every receipt carries `code`; optional ids are absent, never null.
    let r = alice.spot_new_order(&order(limit(a, "o1", 1, "100", "1"))).await.unwrap();
    assert_eq!(keys(ok(&r)), ["clOrdID", "code", "orderID", "status", "symbolID"]);
    let batch: ex::SpotBatchNewOrder = serde_json::from_value(json!({"accountID": a, "orders": [
        {"symbolID": 1, "clOrdID": "o2", "side": 1, "type": 1, "timeInForce": 1, "price": "90", "quantity": "1"},
        {"symbolID": 1, "clOrdID": "o3", "side": 1, "type": 1, "timeInForce": 1, "price": "90", "quantity": "1000"}
    ]}))
    .unwrap();
    let r = alice.signed(ex::Domain::Spot, Method::POST, "/api/v1/spot/trade/orders/batch", &batch).await.unwrap();
    let items = ok(&r).as_array().unwrap().clone();
    assert_eq!(keys(&items[0]), ["clOrdID", "code", "orderID", "status"]);
    assert_eq!(items[0]["code"], 0);
    assert_eq!(keys(&items[1]), ["clOrdID", "code", "error", "message", "reason", "status"]);
    assert_eq!(items[1]["status"], "REJECTED");
    ok(&bob.spot_new_order(&order(limit(b, "s1", 2, "100", "0.4"))).await.unwrap());

    // Market data.
    let symbols = get("/api/v1/spot/markets/symbols".into()).await;
    assert_eq!(
        keys(&symbols[0]),
        [
            "baseCoin",
            "baseCoinID",
            "baseCoinPrecision",
            "buyLimitUpRatio",
            "displayName",
            "id",
            "lotSize",
            "makerFee",
            "marketDeviationRatio",
            "marketMaxQuantity",
            "marketMinQuantity",
            "maxNotional",
            "maxPrice",
            "maxQuantity",
            "minNotional",
            "minPrice",
            "minQuantity",
            "name",
            "pricePrecision",
            "quantityPrecision",
            "quoteCoin",
            "quoteCoinID",
            "quoteCoinPrecision",
            "sellLimitDownRatio",
            "status",
            "stepSize",
            "symbol",
            "symbolID",
            "takerFee",
            "tickSize"
        ]
    );
    let coins = get("/api/v1/spot/markets/coins".into()).await;
    assert_eq!(keys(&coins[0]), ["coin", "coinID", "decimals", "id", "name", "precision"]);
    let ticker_keys = [
        "askPx",
        "askSz",
        "bidPx",
        "bidSz",
        "change",
        "changePct",
        "closeTime",
        "count",
        "highPx",
        "lastPx",
        "lastSz",
        "lowPx",
        "openPx",
        "openTime",
        "quoteVolume",
        "symbol",
        "symbolID",
        "volume",
        "vwap",
    ];
    for path in ["tickers", "miniTickers"] {
        let t = get(format!("/api/v1/spot/markets/{path}?symbol=BTC_USDC")).await;
        assert_eq!(t.as_array().unwrap().len(), 1);
        assert_eq!(keys(&t[0]), ticker_keys);
        assert_eq!((t[0]["lastPx"].as_str(), t[0]["vwap"].as_str()), (Some("100"), Some("100")), "{t}");
        assert!(t[0]["changePct"].is_number());
    }
    let bt = get("/api/v1/spot/markets/bookTickers".into()).await;
    assert_eq!(keys(&bt[0]), ["askPx", "askSz", "bidPx", "bidSz", "symbol", "symbolID"]);
    let book = get("/api/v1/spot/markets/BTC_USDC/orderbook?depth=1".into()).await;
    assert_eq!(keys(&book), ["asks", "bids", "blockHeight", "blockTime", "symbol", "symbolID", "updateID"]);
    assert_eq!(book["bids"], json!([["100", "0.6"]]), "depth is the limit: one level");
    let trades = get("/api/v1/spot/markets/BTC_USDC/trades?limit=5".into()).await;
    assert_eq!(keys(&trades[0]), ["E", "S", "T", "p", "q", "s", "t"]);
    assert_eq!((trades[0]["S"].as_str(), trades[0]["s"].as_str()), (Some("SELL"), Some("BTC_USDC")));
    for interval in
        ["1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "1D", "3d", "3D", "1w", "1W", "1M"]
    {
        let k = get(format!("/api/v1/spot/markets/BTC_USDC/klines?interval={interval}&startTime=0&limit=10")).await;
        assert_eq!(keys(&k[0]), ["T", "c", "h", "l", "n", "o", "q", "t", "v"], "{interval}");
    }

    // Accounts.
    let st = get(format!("/api/v1/spot/accounts/{me}/state")).await;
    assert_eq!(
        keys(&st),
        [
            "B",
            "O",
            "TO",
            "address",
            "aid",
            "balances",
            "isSubAccount",
            "masterAccountID",
            "openOrders",
            "scheduledCancel",
            "subAccounts",
            "uid",
            "user"
        ]
    );
    assert_eq!(keys(&st["B"][0]), ["a", "i", "l", "t"]);
    assert_eq!(keys(&st["O"][0]), ["M", "S", "X", "c", "ct", "f", "i", "o", "p", "q", "s", "ut", "v", "z"]);
    let bal = get(format!("/api/v1/spot/accounts/{me}/balances")).await;
    assert_eq!(keys(&bal), ["accountID", "balances", "blockHeight", "blockTime"]);
    assert_eq!(keys(&bal["balances"][0]), ["available", "coin", "coinID", "id", "locked", "total"]);
    let open = get(format!("/api/v1/spot/accounts/{me}/orders?symbol=BTC_USDC&limit=10")).await;
    assert_eq!(keys(&open), ["blockHeight", "blockTime", "orders"]);
    assert_eq!(keys(&open["orders"][0]), order_keys);
    let now = alice.next_nonce();
    let hist = get(format!("/api/v1/spot/accounts/{me}/orders/history?startTime=0&endTime={now}&limit=5")).await;
    assert_eq!(hist.as_array().unwrap().len(), 0, "nothing closed yet");
    let mine = get(format!("/api/v1/spot/accounts/{me}/trades?symbol=BTC_USDC&startTime=0&endTime={now}")).await;
    assert_eq!(
        keys(&mine[0]),
        [
            "accountID",
            "clOrdID",
            "fee",
            "feeCoin",
            "isMaker",
            "orderID",
            "price",
            "quantity",
            "quoteQty",
            "side",
            "symbol",
            "symbolID",
            "time",
            "tradeID"
        ]
    );
    assert_eq!(mine[0]["clOrdID"], "o1");
    let of_order = mine[0]["orderID"].as_u64().unwrap();
    let by_order = get(format!("/api/v1/spot/accounts/{me}/trades?orderID={of_order}")).await;
    assert_eq!(by_order.as_array().unwrap().len(), 1);
    let none = get(format!("/api/v1/spot/accounts/{me}/trades?orderID={}", of_order + 1000)).await;
    assert_eq!(none, json!([]), "orderID is applied");
    let before = get(format!("/api/v1/spot/accounts/{me}/trades?endTime=1")).await;
    assert_eq!(before, json!([]), "endTime is applied");
    let fee = get(format!("/api/v1/user/{me}/fee-rate?market=spot&symbol=BTC_USDC")).await;
    assert_eq!(
        keys(&fee),
        [
            "accountID",
            "feeTier",
            "makerFeeRate",
            "makerRebateTier",
            "stakingTier",
            "symbol",
            "symbolID",
            "takerFeeRate"
        ]
    );

    // Users: status, sub-accounts, keys per engine.
    let status = get(format!("/api/v1/user/{me}/status")).await;
    assert_eq!(status, json!({"status": "Active", "userID": a}));
    let nobody = get(format!("/api/v1/user/0x{}/status", "00".repeat(19) + "01")).await;
    assert_eq!(nobody, json!({"status": "UserNotFound", "userID": 0}));
    let subs = get(format!("/api/v1/user/{me}/subaccounts")).await;
    assert_eq!(subs, json!({"primaryAccountID": a, "subaccounts": [], "userID": a}));
    let bot_secret = key(0x78);
    let bot_addr = sova_auth::exchange::address_of(&bot_secret).unwrap();
    let add: ex::AddApiKey = serde_json::from_value(json!({
        "accountID": a, "name": "bot", "type": 1, "publicKey": format!("{bot_addr:#x}"), "expiresAt": 0
    }))
    .unwrap();
    ok(&alice.add_api_key(&add).await.unwrap());
    let ks = get(format!("/api/v1/user/{me}/api-keys?name=bot")).await;
    assert_eq!(keys(&ks), ["perps", "spot"]);
    assert_eq!(keys(&ks["spot"][0]), ["accountID", "createdAt", "expiresAt", "name", "publicKey", "type"]);
    assert_eq!(ks["spot"][0]["type"], "PRIMARY");
    assert_eq!(get(format!("/api/v1/user/{me}/api-keys?name=other")).await, json!({"perps": [], "spot": []}));
    assert_eq!(get(format!("/api/v1/spot/accounts/{me}/api-keys?name=bot")).await.as_array().unwrap().len(), 1);

    // Wrong values are still refused, in the exchange's envelope.
    refused(&alice.get("/api/v1/spot/markets/BTC_USDC/klines?interval=7m").await.unwrap(), 400, "INVALID_PARAMETER");
    let reversed = get("/api/v1/spot/markets/BTC_USDC/klines?interval=1h&startTime=5000&endTime=1".into()).await;
    assert_eq!(reversed, json!([]), "an empty window, and the exchange still answers");
    assert_eq!(get("/api/v1/spot/markets/BTC_USDC/trades".into()).await.as_array().unwrap().len(), 1);
    refused(
        &alice.get(&format!("/api/v1/spot/accounts/{me}/trades?startTime=x")).await.unwrap(),
        400,
        "INVALID_PARAMETER",
    );
    refused(&alice.get(&format!("/api/v1/user/{me}/fee-rate?market=options")).await.unwrap(), 400, "INVALID_PARAMETER");
    refused(&alice.get("/api/v1/user/0x12/status").await.unwrap(), 400, "INVALID_ADDRESS");
    refused(
        &alice.get(&format!("/api/v1/user/0x{}/subaccounts", "00".repeat(19) + "01")).await.unwrap(),
        404,
        "NOT_FOUND",
    );
    app.stop().await;
}
on_both!(sdk_reply_shapes);

/// Issue 12: `addAPIKey` posted on the engine's path (the vendor's TypeScript SDK), universal-domain signature.
async fn add_api_key_on_engine_path(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = client(&app, 0xc3);
    let a = funded(&alice, "USDC", "10").await;
    let bot_addr = sova_auth::exchange::address_of(&key(0x79)).unwrap();
    let add: ex::AddApiKey = serde_json::from_value(json!({
        "accountID": a, "name": "ts-bot", "type": 1, "publicKey": format!("{bot_addr:#x}"), "expiresAt": 0
    }))
    .unwrap();
    let body = serde_json::to_vec(&add).unwrap();
    let nonce = alice.next_nonce();
    let sig = alice.verifier().sign_add_api_key(alice.secret(), &add, nonce).unwrap().to_header();
    let mut headers = alice.signature_headers(sig, nonce);
    headers.push(("x-api-key", "default".into()));
    let r = alice.raw(Method::POST, "/api/v1/spot/accounts/api-keys", headers, Some(body)).await.unwrap();
    assert_eq!(ok(&r)["name"], "ts-bot");
    let me = format!("{:#x}", alice.address());
    let ks = ok(&alice.get(&format!("/api/v1/user/{me}/api-keys")).await.unwrap()).clone();
    assert_eq!(ks["spot"][0]["name"], "ts-bot");
    app.stop().await;
}
on_both!(add_api_key_on_engine_path);

/// Issue 12: the exchange vendor's own Python SDK (`../shared/clients/sodex-python-sdk`, unchanged; or
/// `SODEX_SDK_DIR`) walks spot end to end against Sova (`tests/interop/sodex_walk.py`: market data, account state,
/// balances, an API key added and used, orders placed, filled between two masters, replaced, cancelled, history,
/// trades, a transfer, the dead-man switch, WebSocket acks and pushes). Skipped with a message when Python, its
/// packages (`tests/interop/requirements.txt`) or the SDK are missing, unless `SOVA_REQUIRE_INTEROP=1` (as in CI).
async fn vendor_python_sdk_walk(backend: Backend) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop");
    let require = std::env::var("SOVA_REQUIRE_INTEROP").is_ok_and(|v| v == "1");
    // `shared/` beside the repository (CI: /work/<clone> and /work/shared), or beside one of its parents (a
    // worktree in a sub-directory).
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let sdk = std::env::var("SODEX_SDK_DIR").unwrap_or_else(|_| {
        let found = repo.ancestors().skip(1).map(|d| d.join("shared/clients/sodex-python-sdk")).find(|d| d.exists());
        found.unwrap_or_else(|| repo.join("../shared/clients/sodex-python-sdk")).to_string_lossy().into_owned()
    });
    let sdk_present = std::path::Path::new(&sdk).join("sodex/client/client.py").exists();
    let packages = std::process::Command::new("python3")
        .args(["-c", "import eth_account, eth_abi, requests, websocket"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !(sdk_present && packages) {
        assert!(
            !require,
            "the vendor Python SDK walk cannot run: SDK at {sdk} present: {sdk_present}; packages installed: \
             {packages} (pip install -r tests/interop/requirements.txt)"
        );
        eprintln!("SKIPPED: vendor Python SDK walk (SDK present: {sdk_present}, packages: {packages})");
        return;
    }
    let app = spawn_app(backend).await;
    let url = app.url();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg("sodex_walk.py")
            .arg(url)
            .env("SODEX_SDK_DIR", sdk)
            .current_dir(dir)
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: Value = stdout.lines().last().and_then(|l| serde_json::from_str(l).ok()).unwrap_or(Value::Null);
    assert!(
        out.status.success() && summary["failed"] == json!([]),
        "the vendor SDK walk failed: {}\n{stdout}\n{}",
        summary["failed"],
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(summary["calls"].as_u64().unwrap_or(0) >= 42, "{summary}");
    app.stop().await;
}
on_both!(vendor_python_sdk_walk);

/// Issue 12: TWAP orders as the vendor's TypeScript SDK sends them (`POST`/`DELETE /trade/twaps`, `GET
/// /accounts/{a}/twaps`, `TO` in the account state), executed by the sequencer in slices on the server's clock
/// (manual here: the test moves it), the children in the account's orders and trades; cancel stops the slices.
async fn twap_orders_over_http(backend: Backend) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let clock = sova_runtime::Clock::manual(now);
    let app = sova_testkit_app::prelude::spawn_app_at(backend, clock.clone()).await;
    let alice = client(&app, 0xc1);
    let bob = client(&app, 0xc2);
    let a = funded(&alice, "USDC", "100000").await;
    funded(&alice, "BTC", "1").await;
    let b = funded(&bob, "BTC", "1").await;
    funded(&bob, "USDC", "100000").await;
    ok(&bob.spot_new_order(&order(limit(b, "ask1", 2, "100", "0.5"))).await.unwrap());
    ok(&bob.spot_new_order(&order(limit(b, "bid1", 1, "90", "0.5"))).await.unwrap());

    // The TypeScript SDK's body (no reduceOnly on spot), receipt `{orderID}`.
    let twap = |side: u8, qty: &str, minutes: u64| -> ex::SpotNewTwapOrder {
        serde_json::from_value(json!({"accountID": a, "symbolID": 1, "side": side, "quantity": qty,
            "minutes": minutes, "randomize": false}))
        .unwrap()
    };
    let r = alice.spot_new_twap(&twap(1, "0.01", 1)).await.unwrap();
    let id = ok(&r)["orderID"].as_u64().unwrap();
    assert_eq!(r.json["data"]["code"], 0);
    let list = format!("/api/v1/spot/accounts/{:#x}/twaps", alice.address());
    let twaps = ok(&alice.get(&list).await.unwrap()).clone();
    assert!(twaps["blockTime"].as_u64().is_some() && twaps["blockHeight"].as_u64().is_some(), "{twaps}");
    let t = &twaps["twaps"][0];
    let mut k = keys(t);
    k.retain(|k| !["sliceIntervalMs", "slicesDone", "slicesTotal", "status", "updatedAt"].contains(k));
    assert_eq!(
        k,
        [
            "accountID",
            "active",
            "createdAt",
            "executedQty",
            "executedValue",
            "minutes",
            "nextActiveAt",
            "orderID",
            "quantity",
            "randomize",
            "reduceOnly",
            "side",
            "symbol",
            "symbolID",
            "userID"
        ],
        "the TypeScript SDK's TwapOrder"
    );
    assert_eq!(
        (t["orderID"].as_u64(), t["side"].as_str(), t["symbol"].as_str()),
        (Some(id), Some("BUY"), Some("BTC_USDC"))
    );
    assert_eq!((t["active"].as_bool(), t["executedQty"].as_str()), (Some(true), Some("0.005")), "{t}");
    let state = ok(&alice.get(&format!("/api/v1/spot/accounts/{:#x}/state", alice.address())).await.unwrap()).clone();
    assert_eq!(keys(&state["TO"][0]), ["R", "S", "a", "ct", "i", "m", "nt", "q", "r", "s", "v", "z"]);

    // The next slice comes when the server's clock reaches it, with no request in between.
    let wait_for = |want: &'static str| {
        let alice = &alice;
        let list = list.clone();
        async move {
            for _ in 0..50 {
                let v = ok(&alice.get(&list).await.unwrap()).clone();
                if v["twaps"][0]["executedQty"] == want {
                    return v;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            panic!("executedQty never reached {want}");
        }
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(ok(&alice.get(&list).await.unwrap())["twaps"][0]["executedQty"], "0.005", "not due yet");
    clock.advance(30_000);
    let v = wait_for("0.01").await;
    assert_eq!((v["twaps"][0]["active"].as_bool(), v["twaps"][0]["status"].as_str()), (Some(false), Some("FINISHED")));
    let hist =
        ok(&alice.get(&format!("/api/v1/spot/accounts/{:#x}/orders/history", alice.address())).await.unwrap()).clone();
    let children: Vec<&Value> = hist
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["clOrdID"].as_str().is_some_and(|c| c.starts_with(&format!("twap-{id}-"))))
        .collect();
    assert_eq!(children.len(), 2, "{hist}");
    assert!(children.iter().all(|o| o["status"] == "FILLED" && o["type"] == "MARKET" && o["timeInForce"] == "IOC"));
    let fills = ok(&alice.get(&format!("/api/v1/spot/accounts/{:#x}/trades", alice.address())).await.unwrap()).clone();
    assert_eq!(fills.as_array().unwrap().len(), 2);

    // A sell over 5 minutes (10 slices of 0.01), canceled after two: no further slices.
    let r = alice.spot_new_twap(&twap(2, "0.1", 5)).await.unwrap();
    let sell = ok(&r)["orderID"].as_u64().unwrap();
    assert_eq!(sell, id + 1);
    clock.advance(30_000);
    let sell_qty = |v: &Value| {
        v["twaps"].as_array().unwrap().iter().find(|t| t["orderID"] == sell).unwrap()["executedQty"].clone()
    };
    for _ in 0..50 {
        if sell_qty(ok(&alice.get(&list).await.unwrap())) == "0.02" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let cancel = |symbol: u64, twap: u64| -> ex::CancelTwapOrder {
        serde_json::from_value(json!({"accountID": a, "symbolID": symbol, "orderID": twap})).unwrap()
    };
    refused(&alice.spot_cancel_twap(&cancel(1, 999)).await.unwrap(), 404, "UNKNOWN_TWAP");
    refused(&alice.spot_cancel_twap(&cancel(2, sell)).await.unwrap(), 404, "UNKNOWN_TWAP");
    let r = alice.spot_cancel_twap(&cancel(1, sell)).await.unwrap();
    assert_eq!(ok(&r)["orderID"].as_u64(), Some(sell));
    clock.advance(60_000);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let v = ok(&alice.get(&list).await.unwrap()).clone();
    assert_eq!(sell_qty(&v), "0.02", "no slice after the cancel");
    assert_eq!(v["twaps"].as_array().unwrap().iter().find(|t| t["orderID"] == sell).unwrap()["status"], "CANCELED");

    // Bad input: stable codes, never a 500.
    refused(&alice.spot_new_twap(&twap(1, "0.01", 0)).await.unwrap(), 400, "INVALID_TWAP_DURATION");
    refused(&alice.spot_new_twap(&twap(1, "0.00001", 5)).await.unwrap(), 400, "INVALID_QUANTITY");
    let body = br#"{"accountID":1,"symbolID":1,"side":1,"quantity":"1","minutes":"5","randomize":false}"#.to_vec();
    let r = alice
        .send_signed(
            ex::Domain::Spot,
            ex::Action::NewTwapOrder,
            Method::POST,
            "/api/v1/spot/trade/twaps",
            body,
            alice.next_nonce(),
        )
        .await
        .unwrap();
    refused(&r, 400, "INVALID_FIELD");
    refused(&alice.get(&format!("{list}?symbol=NOPE")).await.unwrap(), 400, "UNKNOWN_SYMBOL");
    // Perps TWAPs verify, then answer that the perps engine is not there.
    let p: ex::PerpsNewTwapOrder = serde_json::from_value(json!({"accountID": a, "symbolID": 1, "side": 1,
        "quantity": "1", "minutes": 5, "randomize": false, "reduceOnly": false}))
    .unwrap();
    let r = alice.signed(ex::Domain::Futures, Method::POST, "/api/v1/perps/trade/twaps", &p).await.unwrap();
    refused(&r, 501, "PERPS_NOT_AVAILABLE");

    // A restart replays the TWAPs from the log.
    let before = ok(&alice.get(&list).await.unwrap()).clone();
    let TestApp { running, dir, database_url, .. } = app;
    running.stop().await.unwrap();
    let app = spawn_on(dir, database_url, |_| {}).await;
    let alice = client(&app, 0xc1);
    let after = ok(&alice.get(&list).await.unwrap()).clone();
    assert_eq!(after["twaps"], before["twaps"]);
    app.stop().await;
}
on_both!(twap_orders_over_http);

/// Issue 12: market and coin names are configurable; an operator mirroring the vendor's listing (coins `vBTC`,
/// `vUSDC`, market `vBTC_vUSDC`, display `BTC/USDC`) gets those names in every SDK-facing read and push, and
/// requests accept them (and the earlier names).
async fn configured_names_reach_the_sdk_reads(backend: Backend) {
    let app = sova_testkit_app::prelude::spawn_app_with(backend, |c| {
        c.exchange.coin_name_prefix = "v".into();
        c.exchange.markets[2].name = Some("SOL-SPOT".into());
        c.exchange.markets[2].display_name = Some("SOL/USDC spot".into());
    })
    .await;
    let alice = client(&app, 0xd1);
    let bob = client(&app, 0xd2);
    let a = funded(&alice, "vUSDC", "1000").await;
    let b = funded(&bob, "BTC", "1").await; // the symbol still works
    ok(&bob.spot_new_order(&order(limit(b, "s1", 2, "100", "0.5"))).await.unwrap());
    ok(&alice.spot_new_order(&order(limit(a, "b1", 1, "100", "0.1"))).await.unwrap());

    let symbols = ok(&alice.get("/api/v1/spot/markets/symbols").await.unwrap()).clone();
    let s: Vec<(&str, &str, &str, &str)> = symbols
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap(),
                s["displayName"].as_str().unwrap(),
                s["baseCoin"].as_str().unwrap(),
                s["quoteCoin"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        s,
        [
            ("vBTC_vUSDC", "BTC/USDC", "vBTC", "vUSDC"),
            ("vETH_vUSDC", "ETH/USDC", "vETH", "vUSDC"),
            ("SOL-SPOT", "SOL/USDC spot", "vSOL", "vUSDC")
        ]
    );
    assert_eq!(symbols[0]["symbol"], "vBTC_vUSDC");
    let coins = ok(&alice.get("/api/v1/spot/markets/coins?coin=vBTC").await.unwrap()).clone();
    assert_eq!((coins[0]["id"].as_u64(), coins[0]["name"].as_str()), (Some(2), Some("vBTC")));
    for path in ["vBTC_vUSDC", "BTC_USDC", "BTC%2FUSDC", "1"] {
        let book = ok(&alice.get(&format!("/api/v1/spot/markets/{path}/orderbook")).await.unwrap()).clone();
        assert_eq!(book["asks"][0][0], "100", "{path}");
    }
    let t = ok(&alice.get("/api/v1/spot/markets/vBTC_vUSDC/trades").await.unwrap()).clone();
    assert_eq!(t[0]["s"], "vBTC_vUSDC");
    let tickers = ok(&alice.get("/api/v1/spot/markets/tickers?symbol=vBTC_vUSDC").await.unwrap()).clone();
    assert_eq!((tickers.as_array().unwrap().len(), tickers[0]["symbol"].as_str()), (1, Some("vBTC_vUSDC")));
    let bal = ok(&alice.get(&format!("/api/v1/spot/accounts/{:#x}/balances", alice.address())).await.unwrap()).clone();
    let names: Vec<&str> = bal["balances"].as_array().unwrap().iter().map(|b| b["coin"].as_str().unwrap()).collect();
    assert_eq!(names, ["vUSDC", "vBTC", "vETH", "vSOL"]);
    let state = ok(&alice.get(&format!("/api/v1/spot/accounts/{:#x}/state", alice.address())).await.unwrap()).clone();
    assert_eq!(state["B"][0]["a"], "vUSDC");
    let fills = ok(&alice
        .get(&format!("/api/v1/spot/accounts/{:#x}/trades?symbol=vBTC_vUSDC", alice.address()))
        .await
        .unwrap())
    .clone();
    assert_eq!((fills[0]["symbol"].as_str(), fills[0]["feeCoin"].as_str()), (Some("vBTC_vUSDC"), Some("vBTC")));
    let hist =
        ok(&alice.get(&format!("/api/v1/spot/accounts/{:#x}/orders/history", alice.address())).await.unwrap()).clone();
    assert_eq!(hist[0]["symbol"], "vBTC_vUSDC");
    app.stop().await;
}
on_both!(configured_names_reach_the_sdk_reads);
