//! Perps (issue 13) end to end over HTTP: spot <-> perps transfers through the treasury 999, leverage, limit and
//! market orders between two accounts, positions, funding settled by the sandbox route, cancel, the transfer back,
//! a liquidation walk (the mark pinned against a leveraged long), each perps reason answered with its code, and a
//! restart that replays to the same perps state.

use serde_json::{Value, json};
use sova_client::exchange::{ExResponse, ExchangeClient, types as ex};

use sova_runtime::Clock;
use sova_testkit_app::on_both;
use sova_testkit_app::prelude::{Backend, TestApp, spawn_app_at};
use sova_testkit_app::spawn_on_at;

const CHAIN: u64 = 286_623;
const USDC: u64 = 1;

fn client(app: &TestApp, byte: u8) -> ExchangeClient {
    ExchangeClient::new(&app.url(), CHAIN, [byte; 32]).unwrap()
}

fn ok(r: &ExResponse) -> &Value {
    assert!(r.is_ok(), "expected success, got HTTP {}: {}", r.status, r.json);
    r.data()
}

async fn funded(c: &ExchangeClient, amount: &str) -> u64 {
    let r = c.faucet("USDC", amount).await.unwrap();
    ok(&r)["accountID"].as_u64().unwrap()
}

fn num(v: &Value) -> f64 {
    v.as_str().unwrap_or_else(|| panic!("{v} is not a string")).parse().unwrap()
}

/// A perps `newOrder` of one item.
fn new_order(account: u64, cl: &str, side: u8, order_type: u8, price: Option<&str>, qty: &str) -> ex::PerpsNewOrder {
    let mut item = json!({"clOrdID": cl, "modifier": 1, "side": side, "type": order_type,
        "timeInForce": if order_type == 2 { 3 } else { 1 }});
    if let Some(p) = price {
        item["price"] = json!(p);
    }
    item["quantity"] = json!(qty);
    item["reduceOnly"] = json!(false);
    item["positionSide"] = json!(1);
    serde_json::from_value(json!({"accountID": account, "symbolID": 1, "orders": [item]})).unwrap()
}

fn receipt(r: &ExResponse) -> Value {
    ok(r).as_array().and_then(|a| a.first()).cloned().unwrap_or(Value::Null)
}

async fn positions(c: &ExchangeClient) -> Vec<Value> {
    let r = c.get(&format!("/api/v1/perps/accounts/{:#x}/positions", c.address())).await.unwrap();
    ok(&r)["positions"].as_array().unwrap().clone()
}

async fn spot_usdc(c: &ExchangeClient) -> f64 {
    let r = c.get(&format!("/api/v1/spot/accounts/{:#x}/balances", c.address())).await.unwrap();
    let b = ok(&r)["balances"].as_array().unwrap().iter().find(|b| b["coin"] == "USDC").unwrap().clone();
    num(&b["available"])
}

async fn perps_total(c: &ExchangeClient) -> f64 {
    let r = c.get(&format!("/api/v1/perps/accounts/{:#x}/balances", c.address())).await.unwrap();
    num(&ok(&r)["balances"][0]["total"])
}

/// Spot USDC held by the treasury equals the perps engine's net transfers in, and the engine's invariants hold.
async fn conserved(app: &TestApp) {
    let (supply, treasury, check) = app
        .running
        .ctx
        .exchange
        .exchange
        .read(|c| (c.perps.supply(), c.engine.balance(999, 1).total(), c.perps.check_invariants()))
        .await
        .unwrap();
    assert_eq!(supply, i128::from(treasury), "treasury 999 holds what perps holds");
    check.unwrap();
}

/// A frozen clock at the real time (signatures' nonces are the real time): the periodic perps work runs once, at
/// the first group, so the state is exactly what the test did.
fn frozen() -> Clock {
    Clock::manual(
        i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).unwrap(),
    )
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws_open(app: &TestApp, engine: &str) -> Ws {
    let url = format!("{}/ws/{engine}", app.url().replace("http://", "ws://"));
    tokio_tungstenite::connect_async(&url).await.unwrap().0
}

async fn ws_send(ws: &mut Ws, v: Value) {
    use futures::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::Text(v.to_string().into())).await.unwrap();
}

/// The next message that `pred` accepts (within 10 s), skipping the others.
async fn ws_until(ws: &mut Ws, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    use futures::StreamExt;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .unwrap_or_else(|_| panic!("no {what} within 10 s"))
            .unwrap_or_else(|| panic!("connection closed waiting for {what}"))
            .unwrap();
        if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).unwrap();
            if pred(&v) {
                return v;
            }
        }
    }
}

/// Subscribe and wait for the acknowledgement (and skip nothing else: snapshots follow it).
async fn ws_subscribe(ws: &mut Ws, id: u64, params: Value) {
    ws_send(ws, json!({"op": "subscribe", "id": id, "params": params})).await;
    let ack = ws_until(ws, "an acknowledgement", |v| v["id"] == id).await;
    assert_eq!(ack["success"], true, "{ack}");
}

fn push_of<'a>(channel: &'a str, kind: &'a str) -> impl Fn(&Value) -> bool + 'a {
    move |v: &Value| v["channel"] == channel && v["type"] == kind
}

async fn perps_trading(backend: Backend) {
    let clock = frozen();
    let app = spawn_app_at(backend, clock.clone()).await;
    let alice = client(&app, 0x71);
    let bob = client(&app, 0x72);
    let a = funded(&alice, "100000").await;
    let b = funded(&bob, "100000").await;

    // Markets: three, with their margin tiers.
    let r = alice.get("/api/v1/perps/markets/symbols").await.unwrap();
    let syms = ok(&r).as_array().unwrap().clone();
    let names: Vec<&str> = syms.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["BTC-USD", "ETH-USD", "SOL-USD"]);
    assert_eq!((syms[0]["maxLeverage"].as_u64(), syms[0]["initLeverage"].as_u64()), (Some(40), Some(10)));
    assert_eq!(syms[0]["marginTiers"][0]["maintenanceMarginRate"], "0.0125");

    // Spot -> perps, both legs at once.
    assert_eq!(ok(&alice.transfer_to_perps(7, a, USDC, "50000").await.unwrap())["id"], 7);
    ok(&bob.transfer_to_perps(8, b, USDC, "50000").await.unwrap());
    assert_eq!(spot_usdc(&alice).await, 50000.0);
    assert_eq!(perps_total(&alice).await, 50000.0);
    conserved(&app).await;

    // Leverage.
    let lev = |account, leverage, mode| -> ex::UpdateLeverage {
        serde_json::from_value(json!({"accountID": account, "symbolID": 1, "leverage": leverage, "marginMode": mode}))
            .unwrap()
    };
    let r = alice.perps_update_leverage(&lev(a, 20, 2)).await.unwrap();
    assert_eq!(ok(&r), &json!({"symbol": "BTC-USD", "leverage": 20, "marginMode": "CROSS"}));
    let r = alice.perps_update_leverage(&lev(a, 41, 2)).await.unwrap();
    assert_eq!((r.status, r.reason()), (400, "LEVERAGE_OUT_OF_RANGE"), "{}", r.json);

    // Bob rests a sell; Alice takes part with a market order, then with a limit order.
    let rest = receipt(&bob.perps_new_order(&new_order(b, "s1", 2, 1, Some("50000"), "0.5")).await.unwrap());
    assert_eq!((rest["code"].as_u64(), rest["status"].as_str()), (Some(0), Some("NEW")), "{rest}");
    let bob_order = rest["orderID"].as_u64().unwrap();
    let m = receipt(&alice.perps_new_order(&new_order(a, "b1", 1, 2, None, "0.2")).await.unwrap());
    assert_eq!(m["status"], "FILLED", "{m}");
    let l = receipt(&alice.perps_new_order(&new_order(a, "b2", 1, 1, Some("50000"), "0.1")).await.unwrap());
    assert_eq!(l["status"], "FILLED", "{l}");

    // Positions.
    let pa = positions(&alice).await;
    assert_eq!(pa.len(), 1);
    assert_eq!((pa[0]["symbol"].as_str(), pa[0]["side"].as_str()), (Some("BTC-USD"), Some("LONG")));
    assert_eq!((num(&pa[0]["size"]), num(&pa[0]["avgEntryPrice"])), (0.3, 50000.0));
    assert_eq!(pa[0]["leverage"], 20);
    let pb = positions(&bob).await;
    assert_eq!((pb[0]["side"].as_str(), num(&pb[0]["size"])), (Some("SHORT"), 0.3));
    assert_eq!(pb[0]["quantity"], "-0.3");

    // Mark and index pinned: uPnL at the mark.
    ok(&alice.post("/api/v1/sandbox/index-price", &json!({"symbol": "BTC-USD", "price": "50000"})).await.unwrap());
    let r = alice.post("/api/v1/sandbox/mark-price", &json!({"symbol": "BTC-USD", "price": "51000"})).await.unwrap();
    assert_eq!(ok(&r)["markPrice"], "51000");
    let pa = positions(&alice).await;
    assert_eq!(num(&pa[0]["unrealizedPnl"]), 300.0);
    let r = alice.get("/api/v1/perps/markets/mark-prices").await.unwrap();
    assert_eq!(ok(&r)[0]["indexPrice"], "50000");
    let r = alice.get("/api/v1/perps/markets/tickers?symbol=BTC-USD").await.unwrap();
    assert_eq!((ok(&r)[0]["lastPrice"].as_str(), num(&ok(&r)[0]["openInterest"])), (Some("50000"), 0.3));

    // Funding now: no premium sampled, so the 8-hour rate is the interest rate 0.01 %, hourly 0.00125 %;
    // longs pay 0.3 x 50000 x 0.0000125 = 0.1875.
    ok(&alice.post("/api/v1/sandbox/funding", &json!({"symbol": "BTC-USD"})).await.unwrap());
    let r = alice.get(&format!("/api/v1/perps/accounts/{:#x}/fundings", alice.address())).await.unwrap();
    let f = ok(&r).as_array().unwrap().clone();
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0]["symbol"].as_str(), num(&f[0]["fundingFee"])), (Some("BTC-USD"), 0.1875));
    let r = bob.get(&format!("/api/v1/perps/accounts/{:#x}/fundings", bob.address())).await.unwrap();
    assert_eq!(num(&ok(&r)[0]["fundingFee"]), -0.1875);

    // Reduce-only on the position's own side is refused in its receipt item.
    let mut ro = new_order(a, "ro", 1, 1, Some("40000"), "0.1");
    ro.orders[0].reduce_only = true;
    let item = receipt(&alice.perps_new_order(&ro).await.unwrap());
    assert_eq!(item["reason"], "REDUCE_ONLY_WOULD_INCREASE", "{item}");
    assert_ne!(item["code"], 0);

    // Open orders, cancel.
    let r = bob.get(&format!("/api/v1/perps/accounts/{:#x}/orders", bob.address())).await.unwrap();
    assert_eq!(ok(&r)["orders"][0]["orderID"].as_u64(), Some(bob_order));
    assert_eq!(num(&ok(&r)["orders"][0]["executedQty"]), 0.3);
    let cancel: ex::PerpsCancelOrder =
        serde_json::from_value(json!({"accountID": b, "cancels": [{"symbolID": 1, "orderID": bob_order}]})).unwrap();
    let c = receipt(&bob.perps_cancel_order(&cancel).await.unwrap());
    assert_eq!(c["status"], "CANCELED", "{c}");
    let r = bob.get(&format!("/api/v1/perps/accounts/{:#x}/orders", bob.address())).await.unwrap();
    assert_eq!(ok(&r)["orders"], json!([]));
    let r = bob.get(&format!("/api/v1/perps/accounts/{:#x}/orders/history", bob.address())).await.unwrap();
    assert_eq!(ok(&r)["orders"][0]["status"], "CANCELED");

    // State, and the transfer back (within the withdrawable amount; more is refused).
    let r = alice.get(&format!("/api/v1/perps/accounts/{:#x}/state", alice.address())).await.unwrap();
    let st = ok(&r).clone();
    assert_eq!(st["aid"].as_u64(), Some(a));
    assert_eq!(st["P"][0]["s"], "BTC-USD");
    assert_eq!(ok(&alice.transfer_to_spot(9, a, USDC, "1000").await.unwrap())["id"], 9);
    assert_eq!(spot_usdc(&alice).await, 51000.0);
    let r = alice.transfer_to_spot(10, a, USDC, "60000").await.unwrap();
    assert_eq!(r.reason(), "INSUFFICIENT_BALANCE", "{}", r.json);
    // A spot transfer to 999 of another type is still refused.
    let wrong: ex::TransferAsset = serde_json::from_value(
        json!({"id": 11, "fromAccountID": a, "toAccountID": 999, "coinID": 1, "amount": "1", "type": 2}),
    )
    .unwrap();
    let r = alice.signed(ex::Domain::Spot, sova_client::Method::POST, "/api/v1/spot/accounts/transfers", &wrong).await;
    assert_eq!(r.unwrap().reason(), "UNSUPPORTED_TRANSFER");
    conserved(&app).await;

    // A restart replays to the same perps state.
    let before =
        app.running.ctx.exchange.exchange.read(|c| (c.seq, c.perps.digest(), c.engine.digest())).await.unwrap();
    let snap_before = app.running.ctx.exchange.exchange.read(|c| format!("{:#?}", c.perps.snapshot())).await.unwrap();
    let pa_before = positions(&alice).await;
    let TestApp { running, dir, database_url, .. } = app;
    running.stop().await.unwrap();
    let app = spawn_on_at(dir, database_url, clock, |_| {}).await;
    let after = app.running.ctx.exchange.exchange.read(|c| (c.seq, c.perps.digest(), c.engine.digest())).await.unwrap();
    if before != after {
        let snap_after =
            app.running.ctx.exchange.exchange.read(|c| format!("{:#?}", c.perps.snapshot())).await.unwrap();
        let diff: Vec<String> = snap_before
            .lines()
            .zip(snap_after.lines())
            .filter(|(a, b)| a != b)
            .take(20)
            .map(|(a, b)| format!("{a}  =>  {b}"))
            .collect();
        panic!("perps and spot digests after restart: {before:?} vs {after:?}\n{}", diff.join("\n"));
    }
    let alice = client(&app, 0x71);
    let pa_after = positions(&alice).await;
    assert_eq!(pa_before[0]["size"], pa_after[0]["size"]);
    assert_eq!(pa_before[0]["avgEntryPrice"], pa_after[0]["avgEntryPrice"]);
    app.stop().await;
}
on_both!(perps_trading);

async fn perps_liquidation_walk(backend: Backend) {
    let app = spawn_app_at(backend, frozen()).await;
    let carol = client(&app, 0x73);
    let dave = client(&app, 0x74);
    let c = funded(&carol, "1000").await;
    let d = funded(&dave, "100000").await;
    ok(&carol.transfer_to_perps(1, c, USDC, "1000").await.unwrap());
    ok(&dave.transfer_to_perps(2, d, USDC, "50000").await.unwrap());
    let lev: ex::UpdateLeverage =
        serde_json::from_value(json!({"accountID": c, "symbolID": 1, "leverage": 40, "marginMode": 2})).unwrap();
    ok(&carol.perps_update_leverage(&lev).await.unwrap());
    ok(&dave.perps_new_order(&new_order(d, "s", 2, 1, Some("50000"), "0.2")).await.unwrap());
    let r = receipt(&carol.perps_new_order(&new_order(c, "b", 1, 2, None, "0.2")).await.unwrap());
    assert_eq!(r["status"], "FILLED", "{r}");
    // Carol watches her account and the mark on /ws/perps.
    let mut ws = ws_open(&app, "perps").await;
    let user = format!("{:#x}", carol.address());
    ws_subscribe(&mut ws, 1, json!({"channel": "accountEvent", "user": user})).await;
    ws_subscribe(&mut ws, 2, json!({"channel": "markPrice", "symbols": ["BTC-USD"]})).await;
    let snap = ws_until(&mut ws, "the markPrice snapshot", push_of("markPrice", "snapshot")).await;
    assert_eq!(snap["data"]["s"], "BTC-USD", "{snap}");
    // Notional 10 000 at 40x: initial margin 250, maintenance 125; equity 1000 - 4 (taker fee).
    // The mark pinned at 45 500 leaves equity 96 < 125, and no bid to sell into: taken over.
    ok(&carol.post("/api/v1/sandbox/mark-price", &json!({"symbol": "BTC-USD", "price": "45500"})).await.unwrap());
    // In the group's order: the events (the liquidation), then the markets (the mark).
    let ev = ws_until(&mut ws, "the liquidation accountEvent", push_of("accountEvent", "update")).await;
    let d = &ev["data"];
    assert_eq!((d["type"].as_str(), d["aid"].as_u64()), (Some("liquidation"), Some(c)), "{ev}");
    // Equity 96, maintenance at the mark 9100 x 1.25 % = 113.75.
    assert_eq!((d["av"].as_str(), d["mm"].as_str()), (Some("96"), Some("113.75")), "{ev}");
    assert_eq!(d["B"][0]["a"], "USDC", "{ev}");
    assert!(d["lid"].as_u64().is_some() && d["E"].as_u64().is_some(), "{ev}");
    let p = d["P"].as_array().unwrap();
    assert_eq!(
        (p[0]["s"].as_str(), p[0]["ps"].as_str(), p[0]["mp"].as_str()),
        (Some("BTC-USD"), Some("BOTH"), Some("45500")),
        "{ev}"
    );
    let mark = ws_until(&mut ws, "the pinned mark", |v| v["channel"] == "markPrice" && v["data"]["p"] == "45500").await;
    assert_eq!((mark["type"].as_str(), mark["data"]["oi"].is_string()), (Some("update"), true), "{mark}");
    assert!(positions(&carol).await.is_empty(), "carol's position was taken over");
    let r = carol.get(&format!("/api/v1/perps/accounts/{:#x}/positions/history", carol.address())).await.unwrap();
    let h = ok(&r).as_array().unwrap().clone();
    assert_eq!((h[0]["active"].as_bool(), h[0]["isTakenOver"].as_bool()), (Some(false), Some(true)), "{h:?}");
    assert_eq!(h[0]["takeOverPrice"], "45500");
    // The insurance account holds the long now.
    let ins = app
        .running
        .ctx
        .exchange
        .exchange
        .read(|c| c.perps.positions(sova_exchange::catalog::PERPS_INSURANCE_ACCOUNT))
        .await
        .unwrap();
    assert_eq!(ins.len(), 1);
    assert_eq!(ins[0].size, 2000, "0.2 BTC in lots of 0.0001");
    // Carol's orders are no longer refused once the liquidation ended; her remaining collateral is gone.
    let r = carol.get(&format!("/api/v1/perps/accounts/{:#x}/state", carol.address())).await.unwrap();
    assert_eq!(ok(&r)["liquidating"], false);
    assert!(perps_total(&carol).await <= 0.0);
    conserved(&app).await;
    app.stop().await;
}
on_both!(perps_liquidation_walk);

/// The perps engine's digest and the log position: a refused request changes neither.
async fn perps_digest(app: &TestApp) -> (i64, u64) {
    app.running.ctx.exchange.exchange.read(|c| (c.seq, c.perps.digest())).await.unwrap()
}

/// Each perps reason of `spec/perps.md` section 8 reached over HTTP, answered with its name and number, and
/// nothing changed (the perps digest and the log position stay).
async fn perps_reasons_are_reachable(backend: Backend) {
    let app = spawn_app_at(backend, frozen()).await;
    let alice = client(&app, 0x78);
    let bob = client(&app, 0x79);
    let a = funded(&alice, "100000").await;
    let b = funded(&bob, "100000").await;
    ok(&alice.transfer_to_perps(1, a, USDC, "1000").await.unwrap());
    ok(&bob.transfer_to_perps(1, b, USDC, "50000").await.unwrap());
    ok(&bob.perps_new_order(&new_order(b, "ask", 2, 1, Some("50000"), "1")).await.unwrap());
    let order = |items: Value| -> ex::PerpsNewOrder {
        serde_json::from_value(json!({"accountID": a, "symbolID": 1, "orders": items})).unwrap()
    };
    let item = |cl: &str, extra: Value| {
        let mut v = json!({"clOrdID": cl, "modifier": 1, "side": 1, "type": 1, "timeInForce": 1, "price": "49000",
            "quantity": "0.01", "reduceOnly": false, "positionSide": 1});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    let stop = |cl: &str, side: u8, stop_type: u8, px: &str| {
        json!({"clOrdID": cl, "modifier": 4, "side": side, "type": 2, "timeInForce": 3, "quantity": "0.01",
            "stopPrice": px, "stopType": stop_type, "triggerType": 2, "reduceOnly": true, "positionSide": 1})
    };
    // Refused items of a newOrder: (reason, number, items).
    let cases = [
        ("POSITION_SIDE_UNSUPPORTED", 31001, json!([item("ps", json!({"positionSide": 2}))])),
        ("REDUCE_ONLY_WOULD_INCREASE", 31002, json!([item("ro", json!({"reduceOnly": true}))])),
        ("INSUFFICIENT_MARGIN", 31003, json!([item("big", json!({"quantity": "1"}))])),
        (
            "INVALID_STOP",
            31007,
            json!([item("st", json!({"modifier": 2, "type": 2, "timeInForce": 3, "price": null}))]),
        ),
        (
            "BRACKET_MALFORMED",
            31008,
            json!([item("br", json!({"modifier": 3})), stop("sl1", 2, 1, "48000"), stop("sl2", 2, 1, "47000")]),
        ),
    ];
    for (reason, number, items) in cases {
        let before = perps_digest(&app).await;
        let r = alice.perps_new_order(&order(items)).await.unwrap();
        let first = if r.is_ok() { receipt(&r) } else { r.json.clone() };
        assert_eq!(
            (first["reason"].as_str(), first["code"].as_u64()),
            (Some(reason), Some(number)),
            "{reason}: {}",
            r.json
        );
        assert!(first["error"].as_str().is_some_and(|e| !e.is_empty()), "{reason}: {}", r.json);
        let after = perps_digest(&app).await;
        assert_eq!(before.1, after.1, "{reason}: the perps state is unchanged");
    }
    // Refused requests: the error envelope.
    let before = perps_digest(&app).await;
    let lev: ex::UpdateLeverage =
        serde_json::from_value(json!({"accountID": a, "symbolID": 1, "leverage": 41, "marginMode": 2})).unwrap();
    let r = alice.perps_update_leverage(&lev).await.unwrap();
    assert_eq!(
        (r.status, r.reason(), r.json["code"].as_u64()),
        (400, "LEVERAGE_OUT_OF_RANGE", Some(31004)),
        "{}",
        r.json
    );
    let m: ex::UpdateMargin = serde_json::from_value(json!({"accountID": a, "symbolID": 1, "amount": "10"})).unwrap();
    let r = alice.perps_update_margin(&m).await.unwrap();
    assert_eq!((r.reason(), r.json["code"].as_u64()), ("NOT_ISOLATED", Some(31006)), "{}", r.json);
    assert_eq!(before.1, perps_digest(&app).await.1, "refused requests change nothing");
    // A mode change with an open order in the market.
    ok(&alice.perps_new_order(&order(json!([item("rest", json!({}))]))).await.unwrap());
    let before = perps_digest(&app).await;
    let iso: ex::UpdateLeverage =
        serde_json::from_value(json!({"accountID": a, "symbolID": 1, "leverage": 10, "marginMode": 1})).unwrap();
    let r = alice.perps_update_leverage(&iso).await.unwrap();
    assert_eq!((r.reason(), r.json["code"].as_u64()), ("POSITION_OPEN", Some(31005)), "{}", r.json);
    assert_eq!(before.1, perps_digest(&app).await.1);
    conserved(&app).await;
    app.stop().await;
}
on_both!(perps_reasons_are_reachable);

/// Liquidation by the book (a large position sold in 20 % slices 30 s apart; orders refused with
/// ACCOUNT_LIQUIDATING meanwhile), then ADL when the mark falls past bankruptcy (the short on the other side is
/// closed against it); the conservation of money holds throughout.
async fn perps_liquidation_by_book_then_adl(backend: Backend) {
    let clock = frozen();
    let app = spawn_app_at(backend, clock.clone()).await;
    let carol = client(&app, 0x7a);
    let dave = client(&app, 0x7b);
    let c = funded(&carol, "10000").await;
    let d = funded(&dave, "200000").await;
    ok(&carol.transfer_to_perps(1, c, USDC, "3100").await.unwrap());
    ok(&dave.transfer_to_perps(1, d, USDC, "100000").await.unwrap());
    let lev: ex::UpdateLeverage =
        serde_json::from_value(json!({"accountID": c, "symbolID": 1, "leverage": 40, "marginMode": 2})).unwrap();
    ok(&carol.perps_update_leverage(&lev).await.unwrap());
    // Carol long 2.4 at 50 000 (notional 120 000 > the 100 000 that makes liquidations go in slices).
    ok(&dave.perps_new_order(&new_order(d, "ask", 2, 1, Some("50000"), "2.4")).await.unwrap());
    let r = receipt(&carol.perps_new_order(&new_order(c, "buy", 1, 2, None, "2.4")).await.unwrap());
    assert_eq!(r["status"], "FILLED", "{r}");
    // Dave bids for one slice (0.48) at 49 150; the mark pinned there leaves carol's equity
    // 3100 - 48 (fee) - 2040 = 1012 under maintenance (1474.5) and above two thirds of it: step 1, the book.
    ok(&dave.perps_new_order(&new_order(d, "bid", 1, 1, Some("49150"), "0.48")).await.unwrap());
    ok(&carol.post("/api/v1/sandbox/mark-price", &json!({"symbol": "BTC-USD", "price": "49150"})).await.unwrap());
    let p = positions(&carol).await;
    assert_eq!(p[0]["size"], "1.92", "one slice sold into dave's bid: {p:?}");
    let r = carol.get(&format!("/api/v1/perps/accounts/{:#x}/state", carol.address())).await.unwrap();
    assert_eq!(ok(&r)["liquidating"], true, "the next slice waits 30 s");
    let before = perps_digest(&app).await;
    let r = carol.perps_new_order(&new_order(c, "more", 1, 1, Some("40000"), "0.01")).await.unwrap();
    let first = if r.is_ok() { receipt(&r) } else { r.json.clone() };
    assert_eq!(
        (first["reason"].as_str(), first["code"].as_u64()),
        (Some("ACCOUNT_LIQUIDATING"), Some(31009)),
        "{}",
        r.json
    );
    assert_eq!(before.1, perps_digest(&app).await.1);
    conserved(&app).await;
    // The mark falls to 40 000 and the next slice comes due: carol's equity is negative, so her long is closed
    // against dave's short (ADL) instead of sold.
    ok(&carol.post("/api/v1/sandbox/mark-price", &json!({"symbol": "BTC-USD", "price": "40000"})).await.unwrap());
    clock.advance(31_000);
    ok(&carol.post("/api/v1/sandbox/mark-price", &json!({"symbol": "BTC-USD", "price": "40000"})).await.unwrap());
    assert!(positions(&carol).await.is_empty(), "carol's long is gone");
    let dp = positions(&dave).await;
    assert!(dp.is_empty(), "dave's short was closed by ADL: {dp:?}");
    let r = dave.get(&format!("/api/v1/perps/accounts/{:#x}/positions/history", dave.address())).await.unwrap();
    let h = ok(&r).as_array().unwrap().clone();
    // Dave's short of 2.4: 0.48 bought back by the slice at 49 150, 1.92 closed by ADL at the mark 40 000.
    assert_eq!((h[0]["active"].as_bool(), h[0]["cumClosedSize"].as_str()), (Some(false), Some("2.4")), "{h:?}");
    assert_eq!(h[0]["side"], "SHORT", "a closed position keeps its direction");
    assert_eq!((h[0]["avgClosePrice"].as_str(), h[0]["realizedPnL"].as_str()), (Some("41830"), Some("19608")), "{h:?}");
    let r = carol.get(&format!("/api/v1/perps/accounts/{:#x}/state", carol.address())).await.unwrap();
    assert_eq!(ok(&r)["liquidating"], false);
    conserved(&app).await;
    app.stop().await;
}
on_both!(perps_liquidation_by_book_then_adl);

/// `--perps-index-feed`: the leader fetches the feeds every second and the median becomes the index (a failing
/// feed is left out); the index is logged like any other, so `mark-prices` and the book-less mark follow it.
async fn perps_index_from_external_feeds(backend: Backend) {
    let feed = axum::Router::new()
        .route("/a", axum::routing::get(|| async { axum::Json(json!({"price": "51234"})) }))
        .route("/b", axum::routing::get(|| async { axum::Json(json!({"data": {"amount": 51240}})) }))
        .route("/c", axum::routing::get(|| async { axum::Json(json!({"price": "51236"})) }));
    let l = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(l, feed).await.unwrap() });
    let app = sova_testkit_app::prelude::spawn_app_with(backend, |c| {
        c.perps_index_feed = vec![
            format!("BTC-USD=http://127.0.0.1:{port}/a"),
            format!("BTC-USD=http://127.0.0.1:{port}/b#/data/amount"),
            format!("BTC-USD=http://127.0.0.1:{port}/c"),
            format!("BTC-USD=http://127.0.0.1:{port}/missing"),
        ];
    })
    .await;
    let alice = client(&app, 0x7c);
    let mut index = Value::Null;
    for _ in 0..100 {
        let r = alice.get("/api/v1/perps/markets/mark-prices?symbol=BTC-USD").await.unwrap();
        index = ok(&r)[0]["indexPrice"].clone();
        if index == "51236" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(index, "51236", "the median of 51234, 51240 and 51236 (the 404 left out)");
    app.stop().await;
}
on_both!(perps_index_from_external_feeds);

/// `/ws/perps`: the spot channels over the perps markets with the perps keys, `markPrice` / `allMarkPrice`,
/// `accountState` with positions; `/ws/spot` refuses the perps-only channels.
async fn perps_websocket(backend: Backend) {
    let app = spawn_app_at(backend, frozen()).await;
    let alice = client(&app, 0x76);
    let bob = client(&app, 0x77);
    let a = funded(&alice, "100000").await;
    let b = funded(&bob, "100000").await;
    ok(&alice.transfer_to_perps(1, a, USDC, "10000").await.unwrap());
    ok(&bob.transfer_to_perps(1, b, USDC, "10000").await.unwrap());

    let mut spot = ws_open(&app, "spot").await;
    ws_send(&mut spot, json!({"op": "subscribe", "id": 1, "params": {"channel": "markPrice", "symbols": ["BTC-USD"]}}))
        .await;
    let r = ws_until(&mut spot, "a refusal", |v| v["id"] == 1).await;
    assert_eq!(r["success"], false, "{r}");
    assert!(r["error"].as_str().unwrap().contains("/ws/perps"), "{r}");

    let mut ws = ws_open(&app, "perps").await;
    let user = format!("{:#x}", alice.address());
    ws_send(&mut ws, json!({"op": "subscribe", "id": 9, "params": {"channel": "l2Book", "symbol": "NOPE-USD"}})).await;
    let r = ws_until(&mut ws, "a refusal", |v| v["id"] == 9).await;
    assert_eq!(r["success"], false, "{r}");
    ws_subscribe(&mut ws, 1, json!({"channel": "l2Book", "symbol": "BTC-USD"})).await;
    let snap = ws_until(&mut ws, "the book snapshot", push_of("l2Book", "snapshot")).await;
    assert_eq!((snap["data"]["s"].as_str(), snap["data"]["b"].as_array().map(Vec::len)), (Some("BTC-USD"), Some(0)));
    ws_subscribe(&mut ws, 2, json!({"channel": "trade", "symbols": ["BTC-USD"]})).await;
    ws_subscribe(&mut ws, 3, json!({"channel": "ticker", "symbols": ["BTC-USD"]})).await;
    ws_subscribe(&mut ws, 4, json!({"channel": "allMarkPrice"})).await;
    let all = ws_until(&mut ws, "allMarkPrice snapshots", push_of("allMarkPrice", "snapshot")).await;
    assert!(all["data"]["T"].as_u64().is_some(), "{all}");
    ws_subscribe(&mut ws, 5, json!({"channel": "accountOrderUpdate", "user": user})).await;
    ws_subscribe(&mut ws, 6, json!({"channel": "accountTrade", "user": user})).await;
    ws_subscribe(&mut ws, 7, json!({"channel": "accountUpdate", "user": user})).await;
    ws_subscribe(&mut ws, 8, json!({"channel": "accountState", "user": user})).await;
    let st = ws_until(&mut ws, "the accountState snapshot", push_of("accountState", "snapshot")).await;
    assert_eq!((st["data"]["aid"].as_u64(), st["data"]["B"][0]["wb"].as_str()), (Some(a), Some("10000")), "{st}");
    ws_subscribe(&mut ws, 10, json!({"channel": "candle", "symbol": "BTC-USD", "interval": "1m"})).await;

    // Bob rests a bid, Alice sells into it: she is short 0.1.
    ok(&bob.perps_new_order(&new_order(b, "bid", 1, 1, Some("50000"), "0.1")).await.unwrap());
    let book =
        ws_until(&mut ws, "the book with the bid", |v| v["channel"] == "l2Book" && v["data"]["b"][0][0] == "50000")
            .await;
    assert_eq!(book["data"]["b"][0][1], "0.1", "{book}");
    let r = receipt(&alice.perps_new_order(&new_order(a, "sell", 2, 2, None, "0.1")).await.unwrap());
    assert_eq!(r["status"], "FILLED", "{r}");
    let t = ws_until(&mut ws, "the public trade", push_of("trade", "update")).await;
    assert_eq!(
        (t["data"][0]["s"].as_str(), t["data"][0]["p"].as_str(), t["data"][0]["S"].as_str()),
        (Some("BTC-USD"), Some("50000"), Some("SELL")),
        "{t}"
    );
    // In the group's order: the events (alice's fill, then her order), the markets, the accounts.
    let f = ws_until(&mut ws, "alice's fill", push_of("accountTrade", "update")).await;
    assert_eq!(
        (f["data"][0]["d"].as_str(), f["data"][0]["S"].as_str(), f["data"][0]["q"].as_str()),
        (Some("SHORT"), Some("SELL"), Some("0.1")),
        "{f}"
    );
    let o = ws_until(&mut ws, "alice's filled order", |v| {
        v["channel"] == "accountOrderUpdate" && v["type"] == "update" && v["data"][0]["X"] == "FILLED"
    })
    .await;
    let o = &o["data"][0];
    assert_eq!(
        (o["c"].as_str(), o["ps"].as_str(), o["R"].as_bool(), o["m"].as_bool()),
        (Some("sell"), Some("BOTH"), Some(false), Some(false)),
        "{o}"
    );
    assert_eq!((o["z"].as_str(), o["L"].as_str()), (Some("0.1"), Some("50000")), "{o}");
    let c = ws_until(&mut ws, "the candle", |v| v["channel"] == "candle" && v["data"]["n"].as_u64().is_some()).await;
    assert_eq!(
        (c["data"]["s"].as_str(), c["data"]["c"].as_str(), c["data"]["i"].as_str()),
        (Some("BTC-USD"), Some("50000"), Some("1m")),
        "{c}"
    );
    let u = ws_until(&mut ws, "alice's accountUpdate with the position", |v| {
        v["channel"] == "accountUpdate" && v["data"]["P"].as_array().is_some_and(|p| !p.is_empty())
    })
    .await;
    let p = &u["data"]["P"][0];
    assert_eq!(
        (p["s"].as_str(), p["sz"].as_str(), p["ep"].as_str(), p["ps"].as_str()),
        (Some("BTC-USD"), Some("-0.1"), Some("50000"), Some("BOTH")),
        "{u}"
    );
    let st = ws_until(&mut ws, "alice's accountState with the position", |v| {
        v["channel"] == "accountState" && v["data"]["P"].as_array().is_some_and(|p| !p.is_empty())
    })
    .await;
    assert_eq!(st["data"]["P"][0]["sz"], "-0.1", "{st}");
    // The index pinned: markPrice pushes carry it.
    ok(&alice.post("/api/v1/sandbox/index-price", &json!({"symbol": "BTC-USD", "price": "50100"})).await.unwrap());
    let m = ws_until(&mut ws, "the index", |v| v["channel"] == "allMarkPrice" && v["data"]["i"] == "50100").await;
    assert_eq!(m["data"]["s"], "BTC-USD", "{m}");
    app.stop().await;
}
on_both!(perps_websocket);

async fn sandbox_controls_are_sandbox_only(backend: Backend) {
    let app = spawn_app_at(backend, frozen()).await;
    let alice = client(&app, 0x75);
    let r = alice.post("/api/v1/sandbox/mark-price", &json!({"symbol": "NOPE", "price": "1"})).await.unwrap();
    assert_eq!(r.reason(), "UNKNOWN_SYMBOL");
    let r = alice.post("/api/v1/sandbox/funding", &json!({})).await.unwrap();
    assert!(r.is_ok(), "{}", r.json);
    app.stop().await;
    let app = sova_testkit_app::prelude::spawn_app_with(backend, |c| {
        c.sandbox = Some(false);
        // Production mode needs an xpub: the BIP-84 test account (zpub of the "abandon ... about" mnemonic).
        c.btc_xpub = Some(
            "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs".into(),
        );
    })
    .await;
    let alice = client(&app, 0x75);
    for path in ["/api/v1/sandbox/mark-price", "/api/v1/sandbox/index-price"] {
        let r = alice.post(path, &json!({"symbol": "BTC-USD", "price": "1"})).await.unwrap();
        assert_eq!((r.status, r.reason()), (403, "SANDBOX_ONLY"), "{path}: {}", r.json);
    }
    let r = alice.post("/api/v1/sandbox/funding", &json!({})).await.unwrap();
    assert_eq!((r.status, r.reason()), (403, "SANDBOX_ONLY"));
    app.stop().await;
}
on_both!(sandbox_controls_are_sandbox_only);

/// The vendor's Python SDK (`../shared/clients/sodex-python-sdk`, unchanged; or `SODEX_SDK_DIR`) walks perps
/// against Sova (`tests/interop/sodex_perps_walk.py`: transfer in, leverage, limit and market orders, positions,
/// fundings, cancel, transfer back). Skipped with a message when Python, its packages or the SDK are missing,
/// unless `SOVA_REQUIRE_INTEROP=1`.
async fn vendor_python_sdk_perps_walk(backend: Backend) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop");
    let require = std::env::var("SOVA_REQUIRE_INTEROP").is_ok_and(|v| v == "1");
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
        assert!(!require, "the vendor Python SDK perps walk cannot run: SDK {sdk_present}, packages {packages}");
        eprintln!("SKIPPED: vendor Python SDK perps walk (SDK present: {sdk_present}, packages: {packages})");
        return;
    }
    let app = spawn_app_at(backend, frozen()).await;
    let url = app.url();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg("sodex_perps_walk.py")
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
        "the vendor SDK perps walk failed: {}\n{stdout}\n{}",
        summary["failed"],
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(summary["calls"].as_u64().unwrap_or(0) >= 25, "{summary}");
    conserved(&app).await;
    app.stop().await;
}
on_both!(vendor_python_sdk_perps_walk);
