//! Connect trading on Sova's own book (issue 17) on both backends: a wallet funded by sandbox deposits, a maker
//! on the exchange, quotes priced by walking the book, orders that take them with the ledger exact on both
//! sides; a quote the book can no longer fill, expired, reused (also by concurrent orders), and one the wallet
//! cannot pay because a withdrawal holds its funds: each refused with its code and nothing moved.

use reqwest::Method;
use serde_json::{Value, json};
use sova_client::Client;
use sova_client::exchange::{ExchangeClient, types as ex};
use sova_runtime::Clock;

use super::withdrawals::{DEST, code, send};
use sova_testkit_app::on_both;
use sova_testkit_app::prelude::*;

const CHAIN: u64 = 286_623;

/// A frozen clock at the real time (the maker's signatures carry real-time nonces); the test moves it for expiry.
fn frozen() -> Clock {
    Clock::manual(
        i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).unwrap(),
    )
}

/// A user's wallet holding BTC (bitcoin-testnet) and USDC (ethereum-sepolia), funded by sandbox deposits.
async fn trader(app: &TestApp, slug: &str, btc: &str, usdc: &str) -> (Client, String, String) {
    let (_, owner) = app.customer(slug).await;
    let u = owner.create_user(&user_req(&format!("{slug}@example.com"))).await.unwrap();
    let body = json!({"name": "trading", "networks": [
        {"name": "networks/bitcoin-testnet", "currency": "btc"},
        {"name": "networks/ethereum-sepolia", "currency": "usdc"}]});
    let (s, w) = send(&owner, Method::POST, &format!("/users/{}/wallets", u.user_id), Some(body)).await;
    assert_eq!(s, 201, "{w}");
    let wid = w["data"]["wallet_id"].as_str().unwrap().to_string();
    let addr = |net: &str| {
        w["data"]["addresses"].as_array().unwrap().iter().find(|a| a["network"] == net).unwrap()["address"]
            .as_str()
            .unwrap()
            .to_string()
    };
    for (cur, net, amount) in [("BTC", "bitcoin-testnet", btc), ("USDC", "ethereum-sepolia", usdc)] {
        let dep = json!({"address": addr(net), "currency": cur, "network": net, "amount": amount});
        let (s, d) = send(&owner, Method::POST, "/sandbox/deposits", Some(dep)).await;
        assert_eq!(s, 201, "{d}");
    }
    (owner, u.user_id, wid)
}

/// `(balance, available, held)` per currency of a user.
async fn balances(c: &Client, uid: &str) -> Value {
    let (s, b) = send(c, Method::GET, &format!("/users/{uid}/accounts/balance"), None).await;
    assert_eq!(s, 200, "{b}");
    let mut out = serde_json::Map::new();
    for r in b["data"].as_array().unwrap() {
        out.insert(r["currency"].as_str().unwrap().into(), json!([r["balance"], r["available"], r["held"]]));
    }
    Value::Object(out)
}

async fn balanced(app: &TestApp) {
    for (cur, sum) in app.running.ctx.store.ledger_totals().await.unwrap() {
        assert_eq!(sum, "0", "{cur} entries do not balance");
    }
}

/// The maker's spot balance of `coin` (total).
async fn maker_total(m: &ExchangeClient, coin: &str) -> f64 {
    let r = m.get(&format!("/api/v1/spot/accounts/{:#x}/balances", m.address())).await.unwrap();
    let b = r.data()["balances"].as_array().unwrap().iter().find(|b| b["coin"] == coin).unwrap().clone();
    b["total"].as_str().unwrap().parse().unwrap()
}

async fn rest(m: &ExchangeClient, account: u64, cl: &str, side: u8, price: &str, qty: &str) {
    let o: ex::SpotNewOrder = serde_json::from_value(json!({"accountID": account, "symbolID": 1, "clOrdID": cl,
        "side": side, "type": 1, "timeInForce": 1, "price": price, "quantity": qty}))
    .unwrap();
    let r = m.spot_new_order(&o).await.unwrap();
    assert!(r.is_ok(), "{}", r.json);
}

async fn quote(c: &Client, wid: &str, body: Value) -> (u16, Value) {
    send(c, Method::POST, &format!("/users/{wid}/trading/quotes"), Some(body)).await
}

async fn order(c: &Client, wid: &str, quote_id: &str) -> (u16, Value) {
    send(c, Method::POST, &format!("/users/{wid}/trading/orders"), Some(json!({"quote_id": quote_id}))).await
}

/// A webhook receiver on loopback: the event types it got.
async fn receiver() -> (String, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    let got: std::sync::Arc<std::sync::Mutex<Vec<Value>>> = Default::default();
    let g = got.clone();
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let g = g.clone();
        async move {
            g.lock().unwrap().push(serde_json::from_slice(&body).unwrap_or_default());
            "ok"
        }
    });
    let l = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, got)
}

async fn trading_on_quotes(backend: Backend) {
    let clock = frozen();
    let app = spawn_app_at_with(backend, clock.clone(), |c| {
        c.webhook_allow_private = true;
        c.trading_usd_alias = true;
    })
    .await;
    let (owner, uid, wid) = trader(&app, "trade-co", "1", "100000").await;
    let (hook, got) = receiver().await;
    let (s, v) =
        send(&app.operator().await, Method::POST, "/customers/trade-co/webhooks", Some(json!({"url": hook}))).await;
    assert_eq!(s, 201, "{v}");
    let maker = ExchangeClient::new(&app.url(), CHAIN, [0x51; 32]).unwrap();
    let r = maker.faucet("USDC", "1000000").await.unwrap();
    let m = r.data()["accountID"].as_u64().unwrap();
    assert!(maker.faucet("BTC", "10").await.unwrap().is_ok());
    rest(&maker, m, "a1", 2, "50000", "0.1").await;
    rest(&maker, m, "a2", 2, "50100", "0.1").await;
    rest(&maker, m, "b1", 1, "49900", "0.1").await;

    let (s, p) = send(&owner, Method::GET, "/trading/pairs", None).await;
    assert_eq!(s, 200, "{p}");
    let btc = p["data"].as_array().unwrap().iter().find(|p| p["pair"] == "btcusdc").unwrap().clone();
    assert_eq!((btc["base"].as_str(), btc["quantity_step"].as_str()), (Some("btc"), Some("0.0001")), "{btc}");

    // Buy 0.15 BTC: 0.1 at 50 000 and 0.05 at 50 100 = 7505 USDC; the fee (0.04 %) comes off the BTC.
    let (s, q) = quote(&owner, &wid, json!({"pair": "btcusdc", "side": "buy", "quantity": "0.15"})).await;
    assert_eq!(s, 201, "{q}");
    let d = &q["data"];
    assert_eq!((d["quantity"].as_str(), d["amount"].as_str()), (Some("0.15"), Some("7505")), "{q}");
    assert_eq!(
        (d["buy_price"].as_str(), d["fee"].as_str(), d["fee_currency"].as_str()),
        (Some("50033.33"), Some("0.00006"), Some("btc")),
        "{q}"
    );
    let qid = d["quote_id"].as_str().unwrap().to_string();
    let (s, o) = order(&owner, &wid, &qid).await;
    assert_eq!(s, 201, "{o}");
    assert_eq!(
        (o["data"]["status"].as_str(), o["data"]["amount"].as_str(), o["data"]["fee"].as_str()),
        (Some("COMPLETED"), Some("7505"), Some("0.00006")),
        "{o}"
    );
    let b = balances(&owner, &uid).await;
    assert_eq!(b["btc"], json!([1.14994, 1.14994, 0]), "{b}");
    assert_eq!(b["usdc"], json!([92495, 92495, 0]), "{b}");
    assert!((maker_total(&maker, "BTC").await - 9.85).abs() < 1e-12);
    balanced(&app).await;
    // The trade.completed event, from the group's commit.
    let mut event = Value::Null;
    for _ in 0..100 {
        if let Some(e) = got.lock().unwrap().iter().find(|e| e["type"] == "trade.completed").cloned() {
            event = e;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        (event["data"]["quote_id"].as_str(), event["data"]["status"].as_str()),
        (Some(qid.as_str()), Some("COMPLETED")),
        "{event}"
    );
    assert_eq!(event["data"]["amount"], "7505", "{event}");
    // The same quote again: used.
    let (s, e) = order(&owner, &wid, &qid).await;
    assert_eq!((s, code(&e)), (409, "QUOTE_USED"), "{e}");
    // The order and its trade, one object, in the wallet's orders.
    let (s, l) = send(&owner, Method::GET, &format!("/users/{wid}/trading/orders"), None).await;
    assert_eq!((s, l["data"][0]["quote_id"].as_str()), (200, Some(qid.as_str())), "{l}");

    // Sell 0.05 BTC into the bid at 49 900: 2495 USDC less the fee (0.998).
    let (s, q) = quote(&owner, &wid, json!({"pair": "BTC-USDC", "side": "sell", "quantity": 0.05})).await;
    assert_eq!(s, 201, "{q}");
    assert_eq!((q["data"]["sell_price"].as_str(), q["data"]["fee"].as_str()), (Some("49900"), Some("0.998")), "{q}");
    let (s, o) = order(&owner, &wid, q["data"]["quote_id"].as_str().unwrap()).await;
    assert_eq!((s, o["data"]["status"].as_str()), (201, Some("COMPLETED")), "{o}");
    let b = balances(&owner, &uid).await;
    assert_eq!((b["btc"][0].clone(), b["usdc"][0].clone()), (json!(1.09994), json!(94989.002)), "{b}");

    // Two quotes for the last 0.05 on the ask side; the first order takes it, the second cannot be filled.
    let q1 = quote(&owner, &wid, json!({"pair": "btcusdc", "side": "buy", "quantity": "0.05"})).await.1;
    let q2 = quote(&owner, &wid, json!({"pair": "btcusdc", "side": "buy", "quantity": "0.05"})).await.1;
    let (s, _) = order(&owner, &wid, q1["data"]["quote_id"].as_str().unwrap()).await;
    assert_eq!(s, 201);
    let before = balances(&owner, &uid).await;
    let (s, e) = order(&owner, &wid, q2["data"]["quote_id"].as_str().unwrap()).await;
    assert_eq!((s, code(&e)), (409, "QUOTE_NOT_FILLABLE"), "{e}");
    assert_eq!(balances(&owner, &uid).await, before, "nothing moved");
    let (s, e) = quote(&owner, &wid, json!({"pair": "btcusdc", "side": "buy", "quantity": "0.05"})).await;
    assert_eq!((s, code(&e)), (409, "QUOTE_NOT_FILLABLE"), "an empty side: {e}");

    // Refused requests name what to fix.
    for (body, field) in [
        (json!({"pair": "dogeusdc", "side": "buy", "quantity": "1"}), "pair"),
        (json!({"pair": "btcusdc", "side": "hold", "quantity": "1"}), "side"),
        (json!({"pair": "btcusdc", "side": "sell", "quantity": "0.00001"}), "quantity"),
        (json!({"pair": "btcusdc", "side": "sell", "quantity": "0.000000001"}), "quantity"),
        (json!({"pair": "btcusdc", "side": "sell", "quantity": "1", "amount": "1"}), "quantity"),
    ] {
        let (s, e) = quote(&owner, &wid, body.clone()).await;
        assert_eq!(
            (s, code(&e), e["errors"][0]["field"].as_str()),
            (400, "VALIDATION_ERROR", Some(field)),
            "{body}: {e}"
        );
    }

    // Concurrent orders on one quote: one fills.
    rest(&maker, m, "b2", 1, "49800", "0.5").await;
    // (The vendor's `usd` name of the pair, with --trading-usd-alias.)
    let (_, q) = quote(&owner, &wid, json!({"pair": "btcusd", "side": "sell", "quantity": "0.01"})).await;
    assert_eq!(q["data"]["pair"], "btcusdc", "{q}");
    let qid = q["data"]["quote_id"].as_str().unwrap().to_string();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (owner, wid, qid) = (owner.clone(), wid.clone(), qid.clone());
            tokio::spawn(async move { order(&owner, &wid, &qid).await })
        })
        .collect();
    let mut filled = 0;
    for t in tasks {
        let (s, v) = t.await.unwrap();
        match s {
            201 => filled += 1,
            409 => assert_eq!(code(&v), "QUOTE_USED", "{v}"),
            _ => panic!("{s} {v}"),
        }
    }
    assert_eq!(filled, 1);

    // A withdrawal holds the BTC: a sell the available balance cannot pay is refused, nothing moves.
    let w = json!({"currency": "btc", "amount": "1.1", "address": DEST, "wallet_id": wid});
    let (s, v) = send(&owner, Method::POST, &format!("/users/{uid}/accounts/crypto/withdrawals"), Some(w)).await;
    assert_eq!(s, 201, "{v}");
    let (_, q) = quote(&owner, &wid, json!({"pair": "btcusdc", "side": "sell", "quantity": "0.1"})).await;
    let before = balances(&owner, &uid).await;
    let (s, e) = order(&owner, &wid, q["data"]["quote_id"].as_str().unwrap()).await;
    assert_eq!((s, code(&e)), (422, "INSUFFICIENT_FUNDS"), "{e}");
    assert_eq!(balances(&owner, &uid).await, before);

    // The unified history: each order and its trade as one object.
    let (s, h) =
        send(&owner, Method::GET, &format!("/users/{uid}/accounts/transactions?filter[where][type]=trade"), None).await;
    assert_eq!(s, 200, "{h}");
    let trades = h["data"].as_array().unwrap();
    assert!(
        trades.iter().any(|t| t["direction"] == "in" && t["amount_string"] == "0.15" && t["address"] == "btcusdc"),
        "{h}"
    );
    assert!(trades.iter().any(|t| t["direction"] == "out" && t["amount_string"] == "0.05"), "{h}");
    assert!(trades.iter().any(|t| t["status"] == "REJECTED"), "the order the book could not fill: {h}");

    // Expired: 30 s by default.
    let (_, q) = quote(&owner, &wid, json!({"pair": "btcusdc", "side": "sell", "quantity": "0.01"})).await;
    clock.advance(30_001);
    let (s, e) = order(&owner, &wid, q["data"]["quote_id"].as_str().unwrap()).await;
    assert_eq!((s, code(&e)), (409, "QUOTE_EXPIRED"), "{e}");
    balanced(&app).await;

    // An order whose process died between its hold and the exchange's answer: PENDING with its hold, refused and
    // released by the reconciler once abandoned.
    let before = balances(&owner, &uid).await;
    let (_, q) = quote(&owner, &wid, json!({"pair": "btcusdc", "side": "sell", "quantity": "0.01"})).await;
    let store = &app.running.ctx.store;
    let qrow = store.quote("trade-co", q["data"]["quote_id"].as_str().unwrap()).await.unwrap().unwrap();
    let w = store.wallet("trade-co", &wid).await.unwrap().unwrap();
    let (wallet_acct, _) = sova_store::wallet_accounts(&wid, &w.wallet.currency, "BTC");
    let hold_acct = sova_store::wallet_hold_account(&wid, &w.wallet.currency, "BTC");
    let held: rust_decimal::Decimal = "0.01".parse().unwrap();
    let leg = |account: &str, amount| sova_store::Posting {
        account: account.into(),
        currency: "BTC".into(),
        amount,
        may_go_negative: false,
    };
    let now = clock.now_ms();
    let row = sova_store::TradeRow {
        order_id: uuid::Uuid::new_v4().to_string(),
        quote_id: qrow.quote_id.clone(),
        customer_id: qrow.customer_id.clone(),
        user_id: qrow.user_id.clone(),
        wallet_id: wid.clone(),
        pair: qrow.pair.clone(),
        side: "sell".into(),
        base_currency: "BTC".into(),
        quote_currency: "USDC".into(),
        quantity: qrow.quantity.clone(),
        amount: qrow.amount.clone(),
        price: qrow.price.clone(),
        fee: qrow.fee.clone(),
        fee_currency: qrow.fee_currency.clone(),
        held: "0.01".into(),
        status: "PENDING".into(),
        reason: None,
        created_at: now,
        updated_at: now,
        completed_at: None,
    };
    store.take_quote(&row, &[leg(&wallet_acct, -held), leg(&hold_acct, held)], now).await.unwrap();
    assert_ne!(balances(&owner, &uid).await, before, "held");
    assert_eq!(sova_server::connect::trading::reconcile_once(&app.running.ctx.connect).await.unwrap(), 0, "not yet");
    clock.advance(sova_server::connect::trading::ABANDONED_AFTER_MS + 1);
    assert_eq!(sova_server::connect::trading::reconcile_once(&app.running.ctx.connect).await.unwrap(), 1);
    assert_eq!(balances(&owner, &uid).await, before, "released");
    let (s, o) = send(&owner, Method::GET, &format!("/users/{wid}/trading/orders/{}", row.order_id), None).await;
    assert_eq!(
        (s, o["data"]["status"].as_str(), o["data"]["reason"].as_str()),
        (200, Some("REJECTED"), Some("ABANDONED")),
        "{o}"
    );
    balanced(&app).await;
    app.stop().await;
}
on_both!(trading_on_quotes);

/// `(balance, available, held)` of a wallet's first currency.
async fn wallet_balances(c: &Client, wid: &str) -> (String, String, String) {
    let (_, w) = send(c, Method::GET, &format!("/wallets/{wid}"), None).await;
    let d = &w["data"];
    let s = |k: &str| d[k].as_str().unwrap_or_default().to_string();
    (s("balance"), s("available_balance"), s("held_balance"))
}

/// Transfers between wallets: held at creation, moved on confirmation with the one-time code, cancelled back;
/// wrong codes, short balances and foreign wallets refused.
async fn transfers_between_wallets(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner) = app.customer("xfer-co").await;
    let u = owner.create_user(&user_req("xfer@example.com")).await.unwrap();
    let mut wallets = Vec::new();
    for name in ["main", "savings"] {
        let body = json!({"name": name, "networks": [{"name": "networks/ethereum-sepolia", "currency": "usdc"}]});
        let (s, w) = send(&owner, Method::POST, &format!("/users/{}/wallets", u.user_id), Some(body)).await;
        assert_eq!(s, 201, "{w}");
        wallets.push((
            w["data"]["wallet_id"].as_str().unwrap().to_string(),
            w["data"]["addresses"][0]["address"].as_str().unwrap().to_string(),
        ));
    }
    let ((src, addr), (dst, _)) = (wallets[0].clone(), wallets[1].clone());
    let dep = json!({"address": addr, "currency": "USDC", "network": "ethereum-sepolia", "amount": "1000"});
    assert_eq!(send(&owner, Method::POST, "/sandbox/deposits", Some(dep)).await.0, 201);
    let path = format!("/users/{src}/transfers");
    let body = |to: &str, amount: Value| {
        json!({"destination_wallet_id": to, "type": "PAYOUT", "purpose": "savings", "description": "monthly",
            "currency": "USDC", "amount": amount})
    };

    let (s, t) = send(&owner, Method::POST, &path, Some(body(&dst, json!(250)))).await;
    assert_eq!(s, 201, "{t}");
    assert_eq!((t["data"]["status"].as_str(), t["data"]["amount"].as_str()), (Some("PENDING"), Some("250")), "{t}");
    let id = t["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(wallet_balances(&owner, &src).await, ("1000".into(), "750".into(), "250".into()));
    let (s, e) = send(&owner, Method::POST, &format!("{path}/{id}/confirm"), Some(json!({"code": "000000"}))).await;
    assert_eq!((s, code(&e)), (422, "TRANSFER_CODE_INVALID"), "{e}");
    let (s, c) = send(&owner, Method::GET, &format!("/sandbox/transfers/{id}/code"), None).await;
    assert_eq!(s, 200, "{c}");
    let the_code = c["data"]["code"].as_str().unwrap().to_string();
    let (s, t) = send(&owner, Method::POST, &format!("{path}/{id}/confirm"), Some(json!({"code": the_code}))).await;
    assert_eq!((s, t["data"]["status"].as_str()), (200, Some("COMPLETED")), "{t}");
    assert_eq!(wallet_balances(&owner, &src).await, ("750".into(), "750".into(), "0".into()));
    assert_eq!(wallet_balances(&owner, &dst).await, ("250".into(), "250".into(), "0".into()));
    let (s, e) = send(&owner, Method::POST, &format!("{path}/{id}/confirm"), Some(json!({"code": the_code}))).await;
    assert_eq!(s, 409, "{e}");

    // Short: nothing held.
    let (s, e) = send(&owner, Method::POST, &path, Some(body(&dst, json!("800")))).await;
    assert_eq!((s, code(&e)), (422, "INSUFFICIENT_FUNDS"), "{e}");
    // Cancelled: the hold goes back; a resent code replaces the old one.
    let (_, t) = send(&owner, Method::POST, &path, Some(body(&dst, json!("100")))).await;
    let id2 = t["data"]["id"].as_str().unwrap().to_string();
    let old =
        send(&owner, Method::GET, &format!("/sandbox/transfers/{id2}/code"), None).await.1["data"]["code"].clone();
    let (s, r) = send(&owner, Method::POST, &format!("{path}/{id2}/resend-code"), None).await;
    assert_eq!(s, 200, "{r}");
    let new =
        send(&owner, Method::GET, &format!("/sandbox/transfers/{id2}/code"), None).await.1["data"]["code"].clone();
    if old != new {
        let (s, e) = send(&owner, Method::POST, &format!("{path}/{id2}/confirm"), Some(json!({"code": old}))).await;
        assert_eq!((s, code(&e)), (422, "TRANSFER_CODE_INVALID"), "{e}");
    }
    assert_eq!(wallet_balances(&owner, &src).await, ("750".into(), "650".into(), "100".into()));
    let (s, t) = send(&owner, Method::POST, &format!("{path}/{id2}/cancel"), None).await;
    assert_eq!((s, t["data"]["status"].as_str()), (200, Some("CANCELLED")), "{t}");
    assert_eq!(wallet_balances(&owner, &src).await, ("750".into(), "750".into(), "0".into()));

    // Refused: to itself, to no wallet, a bad type, a tiny amount; another customer's transfer is not found.
    for (b, want) in [
        (body(&src, json!(1)), 400),
        (body("6f1c7a52-3c1e-4d7e-9c55-0f5f8d1b2a10", json!(1)), 404),
        (
            json!({"destination_wallet_id": dst, "type": "GIFT", "purpose": "p", "description": "d", "currency": "USDC", "amount": 1}),
            400,
        ),
        (body(&dst, json!("0.0000001")), 400),
    ] {
        let (s, e) = send(&owner, Method::POST, &path, Some(b.clone())).await;
        assert_eq!(s, want, "{b}: {e}");
    }
    let (_, other) = app.customer("xfer-other").await;
    let (s, _) = send(&other, Method::GET, &format!("/sandbox/transfers/{id}/code"), None).await;
    assert_eq!(s, 404);
    let (s, l) = send(&owner, Method::GET, &path, None).await;
    assert_eq!((s, l["data"].as_array().map(Vec::len)), (200, Some(2)), "{l}");
    let (s, l) = send(&owner, Method::GET, &format!("/users/{dst}/transfers/{id}"), None).await;
    assert_eq!((s, l["data"]["status"].as_str()), (200, Some("COMPLETED")), "the destination sees it: {l}");
    balanced(&app).await;
    app.stop().await;
}
on_both!(transfers_between_wallets);
