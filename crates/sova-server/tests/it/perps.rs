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
    // Notional 10 000 at 40x: initial margin 250, maintenance 125; equity 1000 - 4 (taker fee).
    // The mark pinned at 45 500 leaves equity 96 < 125, and no bid to sell into: taken over.
    ok(&carol.post("/api/v1/sandbox/mark-price", &json!({"symbol": "BTC-USD", "price": "45500"})).await.unwrap());
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
