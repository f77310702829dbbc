//! The vendor's API reference replayed as a client written from it would send it (bodies as its pages show them),
//! beside the seed's quick start (quickstart.rs): users with the reference's body and lifecycle, multi-network
//! wallets with their addresses provisioned, idempotent addresses, balances and the transaction history.

use reqwest::Method;
use serde_json::{Value, json};
use sova_client::Client;

use sova_testkit_app::on_both;
use sova_testkit_app::prelude::*;

/// The reference's Create User body (the onboarding flow's example, with its `individual` object).
fn reference_user(email: &str, phone_number: &str) -> Value {
    json!({
        "account_type": "individual",
        "account_role": "third",
        "account_purpose": "trading",
        "first_name": "Jane",
        "last_name": "Roe",
        "email": email,
        "phone_country_code": "US",
        "phone_number": phone_number,
        "individual": {
            "dob": "1988-04-12",
            "residential_country_code": "US",
            "residential_address": "1 Main St",
            "residential_city": "Springfield",
            "residential_state": "IL",
            "residential_postal_code": "62701",
            "id_type": "ssn",
            "id_number": "123-45-6789"
        }
    })
}

async fn send(c: &Client, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
    let r = c.raw(method, path, body).await.unwrap();
    (r.status, r.json)
}

fn code(v: &Value) -> (&str, &str) {
    (v["errors"][0]["code"].as_str().unwrap_or(""), v["errors"][0]["field"].as_str().unwrap_or(""))
}

async fn reference_onboarding(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner) = app.customer("ref-co").await;

    // Create User with the reference's body: PENDING, both shapes answered, the id number kept masked.
    let (s, u) = send(&owner, Method::POST, "/users", Some(reference_user("jane@example.com", "(201) 555-0123"))).await;
    assert_eq!(s, 201, "{u}");
    let user = &u["data"];
    let uid = user["user_id"].as_str().unwrap().to_string();
    assert_eq!(user["status"], "PENDING");
    assert_eq!((user["account_type"].as_str(), user["user_type"].as_str()), (Some("individual"), Some("individual")));
    assert_eq!((user["account_role"].as_str(), user["account_purpose"].as_str()), (Some("third"), Some("trading")));
    assert_eq!(user["phone"], "+12015550123");
    assert_eq!((user["phone_country_code"].as_str(), user["phone_number"].as_str()), (Some("US"), Some("2015550123")));
    assert_eq!((user["date_of_birth"].as_str(), user["country"].as_str()), (Some("1988-04-12"), Some("US")));
    assert_eq!(user["individual"]["id_number"], "*******6789");
    assert_eq!(user["individual"]["residential_city"], "Springfield");
    let stored = serde_json::to_string(&user).unwrap();
    assert!(!stored.contains("123-45"), "the id number is never answered whole");

    // Email and phone are unique within the customer (case-insensitive email; the phone in either form).
    let (s, e) = send(&owner, Method::POST, "/users", Some(reference_user("JANE@example.com", "2015550199"))).await;
    assert_eq!((s, code(&e)), (409, ("CONFLICT", "email")), "{e}");
    let seed_same_phone = json!({"user_type": "individual", "email": "other@example.com", "first_name": "O",
        "last_name": "P", "phone": "+12015550123"});
    let (s, e) = send(&owner, Method::POST, "/users", Some(seed_same_phone)).await;
    assert_eq!((s, code(&e)), (409, ("CONFLICT", "phone")), "{e}");
    // Another customer may reuse both.
    let (_, other) = app.customer("ref-other").await;
    let (s, _) = send(&other, Method::POST, "/users", Some(reference_user("jane@example.com", "2015550123"))).await;
    assert_eq!(s, 201);

    // The reference's fields are checked: a landline is not a mobile, a role other than `third` is refused, and a
    // reference body missing `individual` names it.
    let mut bad = reference_user("x1@example.com", "020 7946 0000");
    bad["phone_country_code"] = json!("GB");
    let (s, e) = send(&owner, Method::POST, "/users", Some(bad)).await;
    assert_eq!((s, code(&e)), (400, ("VALIDATION_ERROR", "phone_number")), "{e}");
    let mut bad = reference_user("x2@example.com", "2015550124");
    bad["account_role"] = json!("first");
    let (s, e) = send(&owner, Method::POST, "/users", Some(bad)).await;
    assert_eq!((s, code(&e)), (400, ("VALIDATION_ERROR", "account_role")), "{e}");
    let mut bad = reference_user("x3@example.com", "2015550125");
    bad.as_object_mut().unwrap().remove("individual");
    let (s, e) = send(&owner, Method::POST, "/users", Some(bad)).await;
    assert_eq!((s, code(&e)), (400, ("MISSING_FIELD", "individual")), "{e}");
    let mut bad = reference_user("x4@example.com", "2015550126");
    bad["individual"]["passport_expiry"] = json!("2030-01-01");
    let (s, e) = send(&owner, Method::POST, "/users", Some(bad)).await;
    assert_eq!((s, code(&e).0), (400, "UNKNOWN_FIELD"), "{e}");

    // A caller-chosen user_id is kept; reusing it is a conflict.
    let chosen = "5b0d6f5e-8f7e-4c39-9d3a-2f1c1b0a9e11";
    let mut body = reference_user("chosen@example.com", "2015550127");
    body["user_id"] = json!(chosen);
    let (s, c) = send(&owner, Method::POST, "/users", Some(body.clone())).await;
    assert_eq!((s, c["data"]["user_id"].as_str()), (201, Some(chosen)), "{c}");
    body["email"] = json!("chosen2@example.com");
    body["phone_number"] = json!("2015550128");
    let (s, e) = send(&owner, Method::POST, "/users", Some(body)).await;
    assert_eq!((s, code(&e)), (409, ("CONFLICT", "user_id")), "{e}");

    // A PENDING user gets a token, but neither it nor the owner can open a wallet until it is activated.
    let (s, t) = send(&owner, Method::POST, &format!("/users/{uid}/token"), None).await;
    assert_eq!(s, 200, "{t}");
    let token = t["data"]["token"].as_str().unwrap().to_string();
    let as_user = app.client.with_api_key(&token);
    let (s, _) = send(&as_user, Method::GET, &format!("/users/{uid}"), None).await;
    assert_eq!(s, 200, "a pending user's token reads");
    let wallet_body = json!({
        "name": "Main",
        "networks": [
            {"name": "networks/bitcoin-testnet", "currency": "btc"},
            {"name": "networks/ethereum-sepolia", "currency": "eth"}
        ],
        "wallet_type": "virtual",
        "description": "trading wallet"
    });
    let (s, e) = send(&as_user, Method::POST, &format!("/users/{uid}/wallets"), Some(wallet_body.clone())).await;
    assert_eq!((s, code(&e).0), (409, "USER_NOT_ACTIVE"), "{e}");
    let (s, a) = send(&owner, Method::POST, &format!("/users/{uid}/activate"), None).await;
    assert_eq!((s, a["data"]["status"].as_str()), (200, Some("ACTIVE")), "{a}");

    // Create Wallet with `networks[]` (user token as x-api-key): one address per pair, provisioned at once.
    let (s, w) = send(&as_user, Method::POST, &format!("/users/{uid}/wallets"), Some(wallet_body.clone())).await;
    assert_eq!(s, 201, "{w}");
    let wallet = &w["data"];
    let wid = wallet["wallet_id"].as_str().unwrap().to_string();
    assert_eq!(wallet["vault_wallet_id"], wallet["wallet_id"]);
    assert_eq!(
        (wallet["description"].as_str(), wallet["wallet_type"].as_str()),
        (Some("trading wallet"), Some("virtual"))
    );
    assert_eq!(wallet["networks"], wallet_body["networks"]);
    let addresses = wallet["addresses"].as_array().unwrap();
    assert_eq!(addresses.len(), 2, "{wallet}");
    for a in addresses {
        let mut keys: Vec<&String> = a.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["address", "address_id", "currency", "network"], "exactly the reference's four fields");
    }
    let btc_address = addresses.iter().find(|a| a["currency"] == "btc").unwrap()["address"].clone();
    let eth_address =
        addresses.iter().find(|a| a["currency"] == "eth").unwrap()["address"].as_str().unwrap().to_string();
    assert!(btc_address.as_str().unwrap().starts_with("tb1"), "{btc_address}");
    let currencies: Vec<&str> =
        wallet["balances"].as_array().unwrap().iter().map(|b| b["currency"].as_str().unwrap()).collect();
    assert_eq!(currencies, ["BTC", "ETH"]);

    // Wallet names are unique per user (case-insensitive): the reference answers 400.
    let mut again = wallet_body.clone();
    again["name"] = json!("MAIN");
    let (s, e) = send(&owner, Method::POST, &format!("/users/{uid}/wallets"), Some(again)).await;
    assert_eq!((s, code(&e)), (400, ("VALIDATION_ERROR", "name")), "{e}");

    // Create Address for a provisioned pair gives that address back, in the wallet + addresses[] shape.
    let body = json!({"currency": "BTC", "network": "bitcoin-testnet"});
    let (s, a) = send(&as_user, Method::POST, &format!("/wallets/{wid}/address"), Some(body)).await;
    assert_eq!(s, 201, "{a}");
    assert_eq!(a["data"]["address"], btc_address);
    assert_eq!(a["data"]["addresses"].as_array().unwrap().len(), 2);
    assert_eq!(a["data"]["description"], "trading wallet");
    // A currency the wallet does not hold is refused.
    let body = json!({"currency": "sol", "network": "solana-devnet"});
    let (s, e) = send(&as_user, Method::POST, &format!("/wallets/{wid}/address"), Some(body)).await;
    assert_eq!((s, code(&e)), (400, ("VALIDATION_ERROR", "currency")), "{e}");

    // A deposit in the wallet's second currency: balances and the history show it, money as exact numbers.
    let dep = json!({"address": eth_address, "currency": "ETH", "network": "ethereum-sepolia", "amount": "1.250000000000000001"});
    let (s, d) = send(&owner, Method::POST, "/sandbox/deposits", Some(dep)).await;
    assert_eq!(s, 201, "{d}");
    let raw = owner.raw(Method::GET, &format!("/users/{uid}/accounts/balance"), None).await.unwrap();
    assert_eq!(raw.status, 200);
    assert!(raw.text.contains(r#""balance":1.250000000000000001"#), "{}", raw.text);
    let (_, w) = send(&as_user, Method::GET, &format!("/wallets/{wid}"), None).await;
    assert_eq!(w["data"]["balances"][1]["balance"], "1.250000000000000001", "{w}");
    assert_eq!(w["data"]["balance"], "0", "the first currency's balance is unchanged");
    let raw = as_user.raw(Method::GET, &format!("/users/{uid}/accounts/transactions"), None).await.unwrap();
    assert_eq!(raw.status, 200, "{}", raw.text);
    assert!(raw.text.contains(r#""amount":1.250000000000000001"#), "{}", raw.text);
    let items = raw.json["data"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!((items[0]["type"].as_str(), items[0]["currency"].as_str()), (Some("deposit"), Some("eth")));
    assert_eq!(items[0]["status"], "COMPLETED");
    let (s, t) = send(&owner, Method::GET, "/accounts/transactions?filter[where][type]=deposit", None).await;
    assert_eq!((s, t["data"].as_array().map(Vec::len)), (200, Some(1)), "{t}");
    let (s, t) = send(&owner, Method::GET, "/accounts/transactions?filter[where][type]=withdrawal", None).await;
    assert_eq!((s, t["data"].as_array().map(Vec::len)), (200, Some(0)), "{t}");
    let (s, t) = send(&as_user, Method::GET, "/accounts/transactions", None).await;
    assert_eq!(s, 403, "the owner-level history is the owner's: {t}");

    // Filters on the reference's fields.
    let (s, l) =
        send(&owner, Method::GET, "/users?filter[where][account_type]=individual&filter[where][status]=ACTIVE", None)
            .await;
    assert_eq!((s, l["data"].as_array().map(Vec::len)), (200, Some(1)), "{l}");
    let (s, l) = send(&owner, Method::GET, "/users?filter[where][account_purpose]=trading", None).await;
    assert_eq!((s, l["data"].as_array().map(Vec::len)), (200, Some(2)), "{l}");

    // Deactivate: the token stops working; activate again: it works; soft-delete: gone, email free again.
    let (s, _) = send(&owner, Method::POST, &format!("/users/{uid}/deactivate"), None).await;
    assert_eq!(s, 200);
    let (s, _) = send(&as_user, Method::GET, &format!("/users/{uid}"), None).await;
    assert_eq!(s, 401, "a suspended user's token is dead");
    let (s, e) = send(
        &owner,
        Method::POST,
        &format!("/wallets/{wid}/address"),
        Some(json!({"currency": "eth", "network": "ethereum-sepolia", "rotate": true})),
    )
    .await;
    assert_eq!((s, code(&e).0), (409, "USER_NOT_ACTIVE"), "{e}");
    let (s, _) = send(&owner, Method::PATCH, &format!("/users/{uid}/activate"), None).await;
    assert_eq!(s, 200, "activate answers PATCH too");
    let (s, _) = send(&as_user, Method::GET, &format!("/users/{uid}"), None).await;
    assert_eq!(s, 200);
    let (s, d) = send(&owner, Method::DELETE, &format!("/users/{uid}"), None).await;
    assert_eq!((s, d["data"]["status"].as_str()), (200, Some("DELETED")), "{d}");
    let (s, _) = send(&owner, Method::GET, &format!("/users/{uid}"), None).await;
    assert_eq!(s, 404);
    let (s, _) = send(&as_user, Method::GET, &format!("/users/{uid}"), None).await;
    assert_eq!(s, 401);
    let (_, l) = send(&owner, Method::GET, "/users?filter[where][status]=DELETED", None).await;
    assert_eq!(l["data"].as_array().map(Vec::len), Some(1), "kept for the record: {l}");
    let (s, l) = send(&owner, Method::GET, "/users", None).await;
    assert!(s == 200 && l["data"].as_array().unwrap().iter().all(|u| u["user_id"] != uid.as_str()), "{l}");
    let (s, n) = send(&owner, Method::POST, "/users", Some(reference_user("jane@example.com", "2015550123"))).await;
    assert_eq!(s, 201, "a deleted user's email and phone are free: {n}");

    // The seed's body still makes an ACTIVE user.
    let seed = json!({"user_type": "individual", "email": "john.doe@example.com", "first_name": "John",
        "last_name": "Doe", "phone": "+1234567890", "date_of_birth": "1990-01-01", "country": "US"});
    let (s, u) = send(&owner, Method::POST, "/users", Some(seed)).await;
    assert_eq!(
        (s, u["data"]["status"].as_str(), u["data"]["account_type"].as_str()),
        (201, Some("ACTIVE"), Some("individual"))
    );
    app.stop().await;
}
on_both!(reference_onboarding);

/// Two requests racing for the same pair of one wallet get one address between them.
async fn idempotent_address_under_concurrency(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner) = app.customer("ref-race").await;
    let u = owner.create_user(&user_req("race@example.com")).await.unwrap();
    let body = json!({"name": "w", "networks": [{"name": "ethereum-sepolia", "currency": "usdc"}]});
    let (s, w) = send(&owner, Method::POST, &format!("/users/{}/wallets", u.user_id), Some(body)).await;
    assert_eq!(s, 201, "{w}");
    let wid = w["data"]["wallet_id"].as_str().unwrap().to_string();
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let owner = owner.clone();
            let wid = wid.clone();
            // Half ask for the provisioned pair, half for a new one (USDC on Solana).
            let net = if i % 2 == 0 { "ethereum-sepolia" } else { "solana-devnet" };
            tokio::spawn(async move {
                send(
                    &owner,
                    Method::POST,
                    &format!("/wallets/{wid}/address"),
                    Some(json!({"currency": "usdc", "network": net})),
                )
                .await
            })
        })
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for t in tasks {
        let (s, a) = t.await.unwrap();
        assert_eq!(s, 201, "{a}");
        seen.insert(a["data"]["address"].as_str().unwrap().to_string());
    }
    assert_eq!(seen.len(), 2, "one address per (currency, network): {seen:?}");
    let (_, w) = send(&owner, Method::GET, &format!("/wallets/{wid}"), None).await;
    assert_eq!(w["data"]["addresses"].as_array().map(Vec::len), Some(2), "{w}");
    app.stop().await;
}
on_both!(idempotent_address_under_concurrency);
