//! Intel API (seed 001): metered by credits (exact billing under concurrency), 402 offers, lookups.

use base64::Engine;
use reqwest::Method;
use sova_proto::connect as wire;

use sova_testkit_app::on_both;
use sova_testkit_app::prelude::*;

/// Create an `ak_` key with `credits` for `owner`, as `sova intel-key create` does.
pub async fn intel_key(app: &TestApp, owner: &str, credits: i64) -> String {
    let ctx = &app.running.ctx;
    let (key, row) = sova_server::intel::meter::mint_key(&ctx.access.hasher, 0);
    ctx.store.create_intel_key(owner, credits, &row, 0).await.unwrap();
    key
}

fn header(r: &sova_client::RawResponse, name: &str) -> String {
    r.headers.get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

async fn hud_and_billing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner) = app.customer("intel-co").await;
    let u = owner.create_user(&user_req("i@example.com")).await.unwrap();
    let w = owner
        .create_wallet(
            &u.user_id,
            &wire::CreateWalletRequest { name: "e".into(), currency: Some("ETH".into()), ..Default::default() },
        )
        .await
        .unwrap();
    let a = owner
        .create_address(
            &w.wallet_id,
            &wire::CreateAddressRequest { currency: "eth".into(), network: "ethereum".into(), rotate: None },
        )
        .await
        .unwrap();
    owner
        .sandbox_deposit(&wire::SandboxDepositRequest {
            address: a.address.clone(),
            currency: "ETH".into(),
            network: "ethereum".into(),
            amount: "2.5".into(),
            pending: None,
        })
        .await
        .unwrap();
    let key = intel_key(&app, "intel-reader", 5).await;
    let intel = app.client.with_api_key(&key);

    // A known address (asked in lower case): ours, with its deposit and balance; billed 1 credit.
    let r = intel.intel_raw(Method::GET, &format!("/wallet/{}/hud", a.address.to_lowercase()), None).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!((header(&r, "x-credits-cost").as_str(), header(&r, "x-credits-remaining").as_str()), ("1", "4"));
    let hud: sova_proto::intel::Hud = serde_json::from_value(r.json["data"].clone()).unwrap();
    assert_eq!((hud.chain.as_str(), hud.known, hud.address.as_str()), ("evm", true, a.address.as_str()));
    assert!(hud.networks.contains(&"ethereum".to_string()) && hud.networks.contains(&"ethereum-sepolia".to_string()));
    assert_eq!(hud.deposits.count, 1);
    assert_eq!(hud.deposits.totals[0].amount, "2.5");
    assert_eq!(hud.wallets[0].balance, "2.5");
    assert!(hud.first_seen.is_some() && hud.exchange.is_none());

    // An unknown but valid Bitcoin address.
    let h = intel.intel_hud("bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu").await.unwrap();
    assert_eq!((h.chain.as_str(), h.known, h.deposits.count), ("bitcoin", false, 0));
    assert_eq!(h.networks, vec!["bitcoin".to_string()]);

    // An invalid address: 400, and the credit comes back.
    let r = intel.intel_raw(Method::GET, "/wallet/not-an-address/hud", None).await.unwrap();
    assert_eq!(r.status, 400);
    assert_eq!((header(&r, "x-credits-cost").as_str(), header(&r, "x-credits-remaining").as_str()), ("0", "3"));

    // Activity and batch.
    let act = intel.intel_activity(&a.address, &[("filter[limit]", "5")]).await.unwrap();
    assert_eq!((act.pagination.total, act.items[0].amount.as_str()), (1, "2.5"));
    let b = intel
        .intel_raw(
            Method::POST,
            "/wallets/hud",
            Some(("application/json", serde_json::json!({"addresses": [a.address, "xyz"]}).to_string().into_bytes())),
        )
        .await
        .unwrap();
    // 10 credits for a batch, only 2 left: 402 with an offer, nothing billed.
    assert_eq!(b.status, 402);
    assert_eq!((header(&b, "x-credits-cost").as_str(), header(&b, "x-credits-remaining").as_str()), ("0", "2"));

    // Usage history, newest first: activity, the refunded invalid lookup, two lookups, the top-up.
    let (k, acct) = app
        .running
        .ctx
        .store
        .intel_key_by_hash(app.running.ctx.access.hasher.hash(&key).as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(acct.credits, 2);
    let usage = app.running.ctx.store.intel_usage(&acct.id, None, 100).await.unwrap();
    let kinds: Vec<&str> = usage.iter().map(|u| u.kind.as_str()).collect();
    assert_eq!(kinds, vec!["call", "refund", "call", "call", "call", "topup"]);
    assert!(usage.iter().filter(|u| u.kind != "topup").all(|u| u.key_id.as_deref() == Some(k.id.as_str())));
    app.stop().await;
}
on_both!(hud_and_billing);

/// A master wallet of the exchange: its HUD names its accounts, balances, open orders and trades.
async fn hud_shows_exchange_accounts(backend: Backend) {
    use sova_client::exchange::ExchangeClient;
    let app = spawn_app(backend).await;
    let alice = ExchangeClient::new(&app.url(), 286_623, [0xa1; 32]).unwrap();
    let bob = ExchangeClient::new(&app.url(), 286_623, [0xb0; 32]).unwrap();
    let a = alice.faucet("USDC", "1000").await.unwrap().data()["accountID"].as_u64().unwrap();
    let b = bob.faucet("BTC", "1").await.unwrap().data()["accountID"].as_u64().unwrap();
    let order = |account: u64, cl: &str, side: u8, qty: &str| {
        serde_json::from_value::<sova_client::exchange::types::SpotNewOrder>(serde_json::json!({
            "accountID": account, "symbolID": 1, "clOrdID": cl, "side": side, "type": 1, "timeInForce": 1,
            "price": "1000", "quantity": qty}))
        .unwrap()
    };
    assert!(alice.spot_new_order(&order(a, "bid", 1, "0.5")).await.unwrap().is_ok());
    assert!(bob.spot_new_order(&order(b, "ask", 2, "0.1")).await.unwrap().is_ok());

    let key = intel_key(&app, "intel-reader", 10).await;
    let intel = app.client.with_api_key(&key);
    let hud = intel.intel_hud(&format!("{:#x}", alice.address())).await.unwrap();
    assert_eq!((hud.chain.as_str(), hud.known), ("evm", false));
    let x = hud.exchange.expect("alice trades on the exchange");
    assert_eq!((x.master_account_id, x.api_keys, x.accounts.len()), (a, 0, 1));
    let acct = &x.accounts[0];
    assert_eq!((acct.account_id, acct.sub_account, acct.open_orders, acct.recent_trades), (a, false, 1, 1));
    let coins: Vec<(&str, &str, &str)> =
        acct.balances.iter().map(|b| (b.coin.as_str(), b.available.as_str(), b.locked.as_str())).collect();
    // 0.1 BTC bought at 1000 (maker fee 0.01%: 0.00001 BTC); 0.4 x 1000 still locked by the resting bid.
    assert_eq!(coins, vec![("USDC", "500", "400"), ("BTC", "0.09999", "0")]);
    assert_eq!(hud.last_seen, acct.last_trade_at);
    assert!(hud.last_seen.is_some() && hud.first_seen.is_none());

    // An address that never traded has no exchange section; a mixed-case address with a bad EIP-55 checksum is
    // refused (and not billed).
    let other = intel.intel_hud("0x9858effd232b4033e47d90003d41ec34ecaeda94").await.unwrap();
    assert!(other.exchange.is_none());
    let r = intel.intel_raw(Method::GET, "/wallet/0x9858efFD232B4033E47d90003D41EC34EcaEda94/hud", None).await.unwrap();
    assert_eq!(r.status, 400, "{}", r.json);
    app.stop().await;
}
on_both!(hud_shows_exchange_accounts);

async fn offers_and_auth_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    // No credentials: 402 with PAYMENT-REQUIRED (base64 JSON), the same JSON in the body, no-store.
    let r = app
        .client
        .intel_raw(Method::GET, "/wallet/bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu/hud", None)
        .await
        .unwrap();
    assert_eq!(r.status, 402);
    assert_eq!(header(&r, "cache-control"), "no-store");
    let decoded: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD.decode(header(&r, "payment-required")).unwrap(),
    )
    .unwrap();
    assert_eq!(decoded, r.json);
    assert_eq!(decoded["x402Version"], 2);
    let offer = &decoded["accepts"][0];
    assert_eq!(offer["scheme"], "exact");
    assert_eq!(offer["network"], "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1");
    assert_eq!(offer["asset"], "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU");
    assert_eq!(offer["amount"], "15000");
    assert_eq!(bs58::decode(offer["payTo"].as_str().unwrap()).into_vec().unwrap().len(), 32);
    assert_eq!(bs58::decode(offer["extra"]["feePayer"].as_str().unwrap()).into_vec().unwrap().len(), 32);
    // Unknown and revoked keys: 401 in the envelope.
    let r = app
        .client
        .with_api_key("ak_00")
        .intel_raw(Method::GET, "/wallet/bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu/hud", None)
        .await
        .unwrap();
    assert_eq!((r.status, r.json["errors"][0]["code"].as_str()), (401, Some("UNAUTHORIZED")));
    // A key without credits: 402 with an offer.
    let key = intel_key(&app, "broke", 0).await;
    let r = app
        .client
        .with_api_key(&key)
        .intel_raw(Method::GET, "/wallet/bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu/hud", None)
        .await
        .unwrap();
    assert_eq!(r.status, 402);
    assert!(r.json["error"].as_str().unwrap().contains("not enough credits"));
    assert_eq!(header(&r, "x-credits-remaining"), "0");
    // CORS preflight exposes the x402 headers.
    let pre = reqwest::Client::new()
        .request(Method::OPTIONS, format!("{}/api/v1/intel/wallet/x/hud", app.url()))
        .header("origin", "https://agent.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "payment-signature")
        .send()
        .await
        .unwrap();
    let allow = pre
        .headers()
        .get("access-control-allow-headers")
        .map(|v| v.to_str().unwrap().to_lowercase())
        .unwrap_or_default();
    assert!(allow.contains("payment-signature"), "{allow:?} {:?}", pre.headers());
    // A browser's call gets the CORS headers; a call without `Origin` (agents, SDKs) only `Vary: Origin`.
    let url = format!("{}/api/v1/intel/wallet/bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu/hud", app.url());
    let browser = reqwest::Client::new().get(&url).header("origin", "https://agent.example").send().await.unwrap();
    assert_eq!(browser.status(), 402);
    assert_eq!(browser.headers()["access-control-allow-origin"], "*");
    let exposed = browser.headers()["access-control-expose-headers"].to_str().unwrap().to_lowercase();
    assert!(exposed.contains("payment-required") && exposed.contains("x-credits-remaining"), "{exposed}");
    let agent = reqwest::Client::new().get(&url).send().await.unwrap();
    assert_eq!(agent.status(), 402);
    assert!(agent.headers().get("access-control-allow-origin").is_none());
    assert!(agent.headers().get_all("vary").iter().any(|v| v.to_str().unwrap().to_lowercase().contains("origin")));
    app.stop().await;
}
on_both!(offers_and_auth_errors);

/// Many concurrent calls on an account with fewer credits: exactly `credits` succeed, each billed once, the rest get
/// 402, the balance ends at zero.
async fn concurrent_billing_is_exact(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = intel_key(&app, "racer", 40).await;
    let intel = app.client.with_api_key(&key);
    let tasks = (0..100).map(|_| {
        let c = intel.clone();
        tokio::spawn(async move {
            c.intel_raw(Method::GET, "/wallet/HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk/hud", None)
                .await
                .unwrap()
                .status
        })
    });
    let statuses: Vec<u16> = futures::future::join_all(tasks).await.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 40);
    assert_eq!(statuses.iter().filter(|s| **s == 402).count(), 60);
    let (_, acct) = app
        .running
        .ctx
        .store
        .intel_key_by_hash(app.running.ctx.access.hasher.hash(&key).as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(acct.credits, 0);
    let usage = app.running.ctx.store.intel_usage(&acct.id, None, 1000).await.unwrap();
    assert_eq!(usage.iter().filter(|u| u.kind == "call").map(|u| u.calls).sum::<i64>(), 40);
    assert_eq!(usage.iter().map(|u| u.cost).sum::<i64>(), 0, "40 calls of 1 against a top-up of 40");
    app.stop().await;
}
on_both!(concurrent_billing_is_exact);

/// A Connect customer that owns an Intel account can call it with `Cs-*` signatures.
async fn hmac_customers_bill_their_account(backend: Backend) {
    let app = spawn_app(backend).await;
    let (cid, _) = app.customer("intel-hmac").await;
    intel_key(&app, &cid, 3).await;
    let cred = app
        .operator()
        .await
        .create_credential_with(
            &cid,
            &wire::CreateCredentialRequest { passphrase: Some("intel passphrase".into()), ..Default::default() },
        )
        .await
        .unwrap();
    let signed = app.client.with_hmac(
        cred.access_key.as_deref().unwrap(),
        cred.secret_key.as_deref().unwrap(),
        "intel passphrase",
    );
    let r =
        signed.intel_raw(Method::GET, "/wallet/bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu/hud", None).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(header(&r, "x-credits-remaining"), "2");
    app.stop().await;
}
on_both!(hmac_customers_bill_their_account);

/// An address issued on one replica is known to the other's Intel API (the in-memory index hears of it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn address_index_spans_replicas() {
    if pg_url().is_none() {
        eprintln!("SOVA_TEST_DATABASE_URL not set: skipped");
        return;
    }
    let a = spawn_app(Backend::Postgres).await;
    let b = spawn_replica(&a).await;
    let key = intel_key(&a, "replicas", 100).await;
    let on_b = b.client.with_api_key(&key);
    // B loads its index now (before the address exists).
    assert!(!on_b.intel_hud("HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk").await.unwrap().known);
    let (_, owner) = a.customer("idx-co").await;
    let u = owner.create_user(&user_req("x@example.com")).await.unwrap();
    let w = owner
        .create_wallet(
            &u.user_id,
            &wire::CreateWalletRequest { name: "s".into(), currency: Some("SOL".into()), ..Default::default() },
        )
        .await
        .unwrap();
    let addr = owner
        .create_address(
            &w.wallet_id,
            &wire::CreateAddressRequest { currency: "sol".into(), network: "solana".into(), rotate: None },
        )
        .await
        .unwrap();
    let mut known = false;
    for _ in 0..50 {
        if on_b.intel_hud(&addr.address).await.unwrap().known {
            known = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(known, "replica B does not know an address issued on A after 5 s");
    b.stop_server().await;
    a.stop().await;
}

/// The operator API issues, tops up, reports and revokes Intel keys; a revoked key stops at once.
async fn operator_api_for_intel_keys(backend: Backend) {
    let app = spawn_app(backend).await;
    let ops = app.operator().await;
    let json = |v: serde_json::Value| Some(("application/json", v.to_string().into_bytes()));
    let r = ops
        .raw(Method::POST, "/intel/keys", json(serde_json::json!({"owner": "ops-made", "credits": 2})))
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.json);
    let key = r.json["data"]["key"].as_str().unwrap().to_string();
    let id = r.json["data"]["key_id"].as_str().unwrap().to_string();
    assert_eq!(r.json["data"]["remaining"], 2);
    let intel = app.client.with_api_key(&key);
    intel.intel_hud("bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu").await.unwrap();
    let r = ops
        .raw(Method::POST, &format!("/intel/keys/{id}/topup"), json(serde_json::json!({"credits": 5})))
        .await
        .unwrap();
    assert_eq!(r.json["data"]["remaining"], 6);
    let r = ops.raw(Method::GET, &format!("/intel/keys/{id}/usage"), None).await.unwrap();
    let kinds: Vec<&str> = r.json["data"].as_array().unwrap().iter().map(|u| u["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["topup", "call"]);
    let r = ops.raw(Method::DELETE, &format!("/intel/keys/{id}"), None).await.unwrap();
    assert_eq!(r.json["data"]["status"], "REVOKED");
    let r = intel.intel_raw(Method::GET, "/wallet/bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu/hud", None).await.unwrap();
    assert_eq!(r.status, 401);
    // Owner keys cannot use the operator API.
    let r = intel.raw(Method::GET, &format!("/intel/keys/{id}"), None).await.unwrap();
    assert_eq!(r.status, 401);
    app.stop().await;
}
on_both!(operator_api_for_intel_keys);

/// Credits stay inside their documented maximum: the key (i64::MAX - 1 credits, topped up by 6) is refused
/// with a 4xx naming the field, never a 500, and nothing changes.
async fn credits_stay_in_range(backend: Backend) {
    let app = spawn_app(backend).await;
    let ops = app.operator().await;
    let json = |v: serde_json::Value| Some(("application/json", v.to_string().into_bytes()));
    let create = |credits: i64| {
        let ops = ops.clone();
        async move {
            ops.raw(Method::POST, "/intel/keys", json(serde_json::json!({"owner": "rich", "credits": credits})))
                .await
                .unwrap()
        }
    };
    let r = create(9223372036854775806).await;
    assert_eq!((r.status, r.json["errors"][0]["code"].as_str()), (400, Some("AMOUNT_OUT_OF_RANGE")), "{}", r.json);
    assert_eq!(r.json["errors"][0]["field"], "credits");
    let max = sova_store::MAX_CREDITS;
    let r = create(max - 5).await;
    assert_eq!(r.status, 201, "{}", r.json);
    let id = r.json["data"]["key_id"].as_str().unwrap().to_string();
    let topup = |credits: i64| {
        let (ops, id) = (ops.clone(), id.clone());
        async move {
            ops.raw(Method::POST, &format!("/intel/keys/{id}/topup"), json(serde_json::json!({"credits": credits})))
                .await
                .unwrap()
        }
    };
    for (credits, status) in [(6, 422), (i64::MAX, 400), (9223372036854775806, 400)] {
        let r = topup(credits).await;
        assert_eq!(
            (r.status, r.json["errors"][0]["code"].as_str()),
            (status, Some("AMOUNT_OUT_OF_RANGE")),
            "{}",
            r.json
        );
    }
    // A second key for the same owner, adding past the maximum: refused, no key issued.
    let r = create(6).await;
    assert_eq!((r.status, r.json["errors"][0]["code"].as_str()), (422, Some("AMOUNT_OUT_OF_RANGE")), "{}", r.json);
    let r = topup(5).await;
    assert_eq!(r.json["data"]["remaining"], max);
    app.stop().await;
}
on_both!(credits_stay_in_range);
