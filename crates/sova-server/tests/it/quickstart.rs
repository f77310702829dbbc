//! The seed's seven quick-start steps, in order, checking every documented field; then a sandbox deposit.

use chrono::DateTime;
use reqwest::Method;
use sova_proto::connect as wire;

use sova_testkit_app::on_both;
use sova_testkit_app::prelude::*;

fn is_iso(s: &str) -> bool {
    DateTime::parse_from_rfc3339(s).is_ok() && s.ends_with('Z')
}

async fn quickstart(backend: Backend) {
    let app = spawn_app(backend).await;

    // Step 1: health, exactly as the document shows (not enveloped).
    let h = app.client.health().await.unwrap();
    assert_eq!(h.status, "ok");
    assert!(is_iso(&h.timestamp), "{}", h.timestamp);
    let raw = app.client.raw(Method::GET, "/health", None).await.unwrap();
    assert_eq!(raw.status, 200);
    let keys: Vec<&String> = raw.json.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 3, "health has exactly status, timestamp, uptime: {keys:?}");
    assert!(raw.json["uptime"].is_u64());

    // Step 2: log in: the envelope, with token and expires mirrored at the top level.
    let body = serde_json::json!({"email": OPERATOR_EMAIL, "password": OPERATOR_PASSWORD}).to_string();
    let raw = app.client.raw(Method::POST, "/auth/login", Some(("application/json", body.into_bytes()))).await.unwrap();
    assert_eq!(raw.status, 200);
    let token = raw.json["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("eyJ"), "a JWT");
    assert_eq!(raw.json["data"]["token"], raw.json["token"]);
    assert_eq!(raw.json["data"]["expires"], raw.json["expires"]);
    let expires = DateTime::parse_from_rfc3339(raw.json["expires"].as_str().unwrap()).unwrap();
    assert!(expires > chrono::Utc::now());
    assert_eq!(raw.json["success"], true);
    let ops = app.client.with_session(&token);

    // Step 3: create a customer.
    let req = wire::CreateCustomerRequest {
        email: "john.doe@example.com".into(),
        customer_id: "corp-redundant-firewall".into(),
        entity_name: "Hedge Fund e-commerce".into(),
    };
    let body = serde_json::to_vec(&req).unwrap();
    let raw = ops.raw(Method::POST, "/customers", Some(("application/json", body))).await.unwrap();
    assert_eq!(raw.status, 201);
    assert_eq!(raw.json["success"], true);
    assert_eq!(raw.json["data"]["email"], "john.doe@example.com");
    assert_eq!(raw.json["data"]["customer_id"], "corp-redundant-firewall");
    assert_eq!(raw.json["data"]["entity_name"], "Hedge Fund e-commerce");
    assert_eq!(raw.json["meta"]["version"], "v1");
    assert!(is_iso(raw.json["meta"]["timestamp"].as_str().unwrap()));
    let trace = raw.json["meta"]["trace_id"].as_str().unwrap();
    assert!(!trace.is_empty());
    assert_eq!(raw.headers["x-request-id"].to_str().unwrap(), trace);

    // Step 4: credentials; the secret is shown once.
    let cred = ops.create_credential("corp-redundant-firewall").await.unwrap();
    assert_eq!(cred.customer_id, "corp-redundant-firewall");
    assert_eq!(cred.customer_secret.len(), 32);
    assert!(cred.customer_secret.bytes().all(|b| b.is_ascii_alphanumeric()));
    let listed = ops.list_credentials("corp-redundant-firewall").await.unwrap();
    let listed_json = serde_json::to_string(&listed.items).unwrap();
    assert!(!listed_json.contains(&cred.customer_secret), "a list never shows the secret");
    assert_eq!(listed.items[0].prefix, &cred.customer_secret[..6]);
    let owner = app.client.with_api_key(&cred.customer_secret);

    // Step 5: the first user.
    let u = owner.create_user(&user_req("john.doe@example.com")).await.unwrap();
    assert!(uuid::Uuid::parse_str(&u.user_id).is_ok());
    assert_eq!(u.email, "john.doe@example.com");
    assert_eq!(u.user_type, "individual");
    assert_eq!(u.status, "ACTIVE");
    assert!(is_iso(&u.created_at));

    // Step 6: a wallet.
    let w = owner
        .create_wallet(
            &u.user_id,
            &wire::CreateWalletRequest {
                name: "My BTC Wallet".into(),
                currency: Some("BTC".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(uuid::Uuid::parse_str(&w.wallet_id).is_ok());
    assert_eq!((w.name.as_str(), w.currency.as_str(), w.balance.as_str()), ("My BTC Wallet", "BTC", "0"));

    // Step 7: a deposit address, lower-case currency as in the document.
    let a = owner
        .create_address(
            &w.wallet_id,
            &wire::CreateAddressRequest { currency: "btc".into(), network: "bitcoin-testnet".into(), rotate: None },
        )
        .await
        .unwrap();
    assert_eq!((a.currency.as_str(), a.network.as_str()), ("BTC", "bitcoin-testnet"));
    let (hrp, version, program) = bech32::segwit::decode(&a.address).unwrap();
    assert_eq!((hrp.as_str(), version.to_u8(), program.len()), ("tb", 0, 20));
    assert!(a.derivation_path.starts_with("m/84'/1'/0'/0/"));

    // ... and fund it in the sandbox: PENDING then COMPLETED, balance shows it.
    let d = owner
        .sandbox_deposit(&wire::SandboxDepositRequest {
            address: a.address.clone(),
            currency: "BTC".into(),
            network: "bitcoin-testnet".into(),
            amount: "0.015".into(),
            pending: Some(true),
        })
        .await
        .unwrap();
    assert_eq!(d.status, "PENDING");
    let w1 = owner.get_wallet(&w.wallet_id).await.unwrap();
    assert_eq!((w1.balance.as_str(), w1.pending_balance.as_str()), ("0", "0.015"));
    let d = owner.complete_sandbox_deposit(&d.deposit_id).await.unwrap();
    assert_eq!(d.status, "COMPLETED");
    assert!(d.completed_at.is_some());
    let raw = owner.raw(Method::GET, &format!("/wallets/{}", w.wallet_id), None).await.unwrap();
    assert_eq!(raw.json["data"]["balance"], "0.015");
    assert_eq!(raw.json["data"]["pending_balance"], "0");

    // Lists carry pagination.
    let users = owner.list_users(&[]).await.unwrap();
    assert_eq!(users.pagination.total, 1);
    assert_eq!((users.pagination.limit, users.pagination.skip), (20, 0));
    app.stop().await;
}
on_both!(quickstart);

async fn filters_and_patch(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner) = app.customer("filters-co").await;
    for i in 0..5 {
        let mut r = user_req(&format!("u{i}@example.com"));
        r.user_type = Some(if i % 2 == 0 { "individual" } else { "business" }.into());
        owner.create_user(&r).await.unwrap();
    }
    let page = owner
        .list_users(&[("filter[limit]", "2"), ("filter[skip]", "1"), ("filter[sort]", "created_at ASC")])
        .await
        .unwrap();
    assert_eq!(page.pagination.total, 5);
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[0].email, "u1@example.com");
    let biz = owner.list_users(&[("filter[where][user_type]", "business")]).await.unwrap();
    assert_eq!(biz.pagination.total, 2);
    assert!(biz.items.iter().all(|u| u.user_type == "business"));
    let desc = owner.list_users(&[("filter[sort]", "email DESC")]).await.unwrap();
    assert_eq!(desc.items[0].email, "u4@example.com");

    let u = &page.items[0];
    let patched = owner
        .update_user(&u.user_id, &wire::UpdateUserRequest { last_name: Some("Smith".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(patched.last_name, "Smith");
    assert_eq!(patched.first_name, u.first_name);
    let ops = app.operator().await;
    let c = ops
        .update_customer(
            "filters-co",
            &wire::UpdateCustomerRequest { entity_name: Some("Renamed".into()), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!(c.entity_name, "Renamed");
    assert_eq!(ops.get_customer("filters-co").await.unwrap().entity_name, "Renamed");
    app.stop().await;
}
on_both!(filters_and_patch);
