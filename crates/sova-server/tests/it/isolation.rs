//! Tenants never see each other's data: another customer's ids answer 404, and nothing changes.

use reqwest::Method;
use sova_proto::connect as wire;

use sova_testkit_app::on_both;
use sova_testkit_app::prelude::*;

/// A raw request body with its content type.
type Body = Option<(&'static str, Vec<u8>)>;

async fn tenants_are_isolated(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, alice) = app.customer("alice-co").await;
    let (_, bob) = app.customer("bob-co").await;
    let u = alice.create_user(&user_req("a@example.com")).await.unwrap();
    let w = alice
        .create_wallet(
            &u.user_id,
            &wire::CreateWalletRequest { name: "w".into(), currency: Some("ETH".into()), ..Default::default() },
        )
        .await
        .unwrap();
    let a = alice
        .create_address(
            &w.wallet_id,
            &wire::CreateAddressRequest { currency: "eth".into(), network: "ethereum-sepolia".into(), rotate: None },
        )
        .await
        .unwrap();
    let d = alice
        .sandbox_deposit(&wire::SandboxDepositRequest {
            address: a.address.clone(),
            currency: "ETH".into(),
            network: "ethereum-sepolia".into(),
            amount: "1.5".into(),
            pending: Some(true),
        })
        .await
        .unwrap();

    let json = |v: serde_json::Value| Some(("application/json", v.to_string().into_bytes()));
    let probes: Vec<(Method, String, Body)> = vec![
        (Method::GET, format!("/users/{}", u.user_id), None),
        (Method::PATCH, format!("/users/{}", u.user_id), json(serde_json::json!({"first_name": "Mallory"}))),
        (Method::GET, format!("/users/{}/wallets", u.user_id), None),
        (
            Method::POST,
            format!("/users/{}/wallets", u.user_id),
            json(serde_json::json!({"name": "x", "currency": "BTC"})),
        ),
        (Method::POST, format!("/users/{}/tokens", u.user_id), None),
        (Method::GET, format!("/wallets/{}", w.wallet_id), None),
        (Method::PATCH, format!("/wallets/{}", w.wallet_id), json(serde_json::json!({"name": "pwned"}))),
        (
            Method::POST,
            format!("/wallets/{}/address", w.wallet_id),
            json(serde_json::json!({"currency": "eth", "network": "ethereum"})),
        ),
        (Method::GET, format!("/wallets/{}/addresses", w.wallet_id), None),
        (Method::GET, format!("/wallets/{}/deposits", w.wallet_id), None),
        (Method::GET, format!("/addresses/{}", a.address_id), None),
        (Method::GET, format!("/deposits/{}", d.deposit_id), None),
        (Method::POST, format!("/sandbox/deposits/{}/complete", d.deposit_id), None),
        (
            Method::POST,
            "/sandbox/deposits".to_string(),
            json(
                serde_json::json!({"address": a.address, "currency": "ETH", "network": "ethereum-sepolia", "amount": "1"}),
            ),
        ),
    ];
    for (m, p, body) in probes {
        let r = bob.raw(m.clone(), &p, body).await.unwrap();
        assert_eq!(r.status, 404, "{m} {p}: {}", r.json);
        assert_eq!(r.json["errors"][0]["code"], "NOT_FOUND");
        let text = r.json.to_string();
        assert!(!text.contains(&u.email) && !text.contains(&a.address), "no data leaks in {m} {p}");
    }
    // Bob's lists are empty; Alice's data is unchanged.
    assert_eq!(bob.list_users(&[]).await.unwrap().pagination.total, 0);
    assert_eq!(bob.list_wallets(&[]).await.unwrap().pagination.total, 0);
    assert_eq!(alice.get_user(&u.user_id).await.unwrap().first_name, "John");
    assert_eq!(alice.get_wallet(&w.wallet_id).await.unwrap().name, "w");
    assert_eq!(alice.get_deposit(&d.deposit_id).await.unwrap().status, "PENDING");
    assert_eq!(alice.list_wallet_addresses(&w.wallet_id).await.unwrap().pagination.total, 1);
    app.stop().await;
}
on_both!(tenants_are_isolated);
