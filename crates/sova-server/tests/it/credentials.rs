//! Owner keys and user tokens: list, revoke, rotate with grace, and revocation reaching other replicas.

use std::time::Duration;

use sova_proto::ErrorCode;
use sova_proto::connect as wire;

use sova_testkit_app::on_both;
use sova_testkit_app::prelude::*;

async fn revoke_and_rotate(backend: Backend) {
    let app = spawn_app(backend).await;
    let ops = app.operator().await;
    let (cid, owner) = app.customer("cred-co").await;
    owner.list_users(&[]).await.unwrap();

    // Revoke: the cached key stops working at once.
    let creds = ops.list_credentials(&cid).await.unwrap();
    let cred_id = creds.items[0].credential_id.clone();
    let revoked = ops.revoke_credential(&cid, &cred_id).await.unwrap();
    assert_eq!(revoked.status, "REVOKED");
    let e = owner.list_users(&[]).await.unwrap_err();
    assert_eq!((e.status(), e.code()), (Some(401), Some(ErrorCode::Unauthorized)));

    // Rotate with a grace period: both work; rotate with none: the old one stops.
    let k1 = ops.create_credential(&cid).await.unwrap();
    let k2 = ops.rotate_credential(&cid, &k1.credential_id, Some(600)).await.unwrap();
    let c1 = app.client.with_api_key(&k1.customer_secret);
    let c2 = app.client.with_api_key(&k2.customer_secret);
    c1.list_users(&[]).await.unwrap();
    c2.list_users(&[]).await.unwrap();
    let listed = ops.list_credentials(&cid).await.unwrap();
    let old = listed.items.iter().find(|c| c.credential_id == k1.credential_id).unwrap();
    assert!(old.expires_at.is_some(), "the grace period shows as an expiry");
    let k3 = ops.rotate_credential(&cid, &k2.credential_id, Some(0)).await.unwrap();
    assert_eq!(c2.list_users(&[]).await.unwrap_err().status(), Some(401));
    app.client.with_api_key(&k3.customer_secret).list_users(&[]).await.unwrap();
    // Rotating a revoked key is refused.
    let e = ops.rotate_credential(&cid, &k2.credential_id, None).await.unwrap_err();
    assert_eq!(e.status(), Some(409));
    // last_used_at is recorded.
    let listed = ops.list_credentials(&cid).await.unwrap();
    assert!(listed.items.iter().any(|c| c.last_used_at.is_some()));
    app.stop().await;
}
on_both!(revoke_and_rotate);

async fn suspended_customer_is_locked_out(backend: Backend) {
    let app = spawn_app(backend).await;
    let ops = app.operator().await;
    let (cid, owner) = app.customer("susp-co").await;
    owner.list_users(&[]).await.unwrap();
    ops.update_customer(&cid, &wire::UpdateCustomerRequest { status: Some("suspended".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(owner.list_users(&[]).await.unwrap_err().status(), Some(403));
    ops.update_customer(&cid, &wire::UpdateCustomerRequest { status: Some("ACTIVE".into()), ..Default::default() })
        .await
        .unwrap();
    owner.list_users(&[]).await.unwrap();
    app.stop().await;
}
on_both!(suspended_customer_is_locked_out);

async fn user_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner) = app.customer("tok-co").await;
    let u1 = owner.create_user(&user_req("one@example.com")).await.unwrap();
    let u2 = owner.create_user(&user_req("two@example.com")).await.unwrap();
    let t = owner.create_user_token(&u1.user_id, Some(600)).await.unwrap();
    let token = t.token.clone().unwrap();
    assert!(token.starts_with("sxu_"));
    let read = owner.get_user_token(&u1.user_id, &t.token_id).await.unwrap();
    assert!(read.token.is_none(), "the token is shown only once");
    let me = app.client.with_user_token(&token);
    assert_eq!(me.get_user(&u1.user_id).await.unwrap().user_id, u1.user_id);
    // Another user of the same customer is invisible to this token.
    assert_eq!(me.get_user(&u2.user_id).await.unwrap_err().status(), Some(404));
    // Owner-only calls are refused.
    assert_eq!(me.list_users(&[]).await.unwrap_err().status(), Some(403));
    // Its own wallets work.
    let w = me
        .create_wallet(
            &u1.user_id,
            &wire::CreateWalletRequest { name: "mine".into(), currency: Some("SOL".into()), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!(me.list_wallets(&[]).await.unwrap().pagination.total, 1);
    me.create_address(
        &w.wallet_id,
        &wire::CreateAddressRequest { currency: "sol".into(), network: "solana-devnet".into(), rotate: None },
    )
    .await
    .unwrap();
    let w2 = owner
        .create_wallet(
            &u2.user_id,
            &wire::CreateWalletRequest { name: "theirs".into(), currency: Some("SOL".into()), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!(me.get_wallet(&w2.wallet_id).await.unwrap_err().status(), Some(404));
    // Suspending the user kills the token; revoking it too.
    owner
        .update_user(&u1.user_id, &wire::UpdateUserRequest { status: Some("SUSPENDED".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(me.get_user(&u1.user_id).await.unwrap_err().status(), Some(401));
    let t2 = owner.create_user_token(&u2.user_id, None).await.unwrap();
    let them = app.client.with_user_token(t2.token.as_deref().unwrap());
    them.get_user(&u2.user_id).await.unwrap();
    owner.revoke_user_token(&u2.user_id, &t2.token_id).await.unwrap();
    assert_eq!(them.get_user(&u2.user_id).await.unwrap_err().status(), Some(401));
    app.stop().await;
}
on_both!(user_tokens);

/// Two replicas on one PostgreSQL database: a key revoked on one stops working on the other, although the other
/// had it cached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_reaches_other_replicas() {
    if pg_url().is_none() {
        eprintln!("SOVA_TEST_DATABASE_URL not set: skipped");
        return;
    }
    let a = spawn_app(Backend::Postgres).await;
    let b = spawn_replica(&a).await;
    let ops = a.operator().await;
    let (cid, _) = a.customer("replica-co").await;
    let key = ops.create_credential(&cid).await.unwrap();
    let on_a = a.client.with_api_key(&key.customer_secret);
    let on_b = b.client.with_api_key(&key.customer_secret);
    on_a.list_users(&[]).await.unwrap();
    on_b.list_users(&[]).await.unwrap();
    assert!(!b.running.ctx.access.creds.is_empty(), "replica B has the key cached");
    // Revoke through replica A; B must stop accepting the key it has cached.
    ops.revoke_credential(&cid, &key.credential_id).await.unwrap();
    let mut refused = false;
    for _ in 0..50 {
        if on_b.list_users(&[]).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refused, "replica B still accepts a revoked key after 5 s");

    // The same holds for cached reads: a user changed on A is seen changed on B.
    let key = ops.create_credential(&cid).await.unwrap();
    let on_a = a.client.with_api_key(&key.customer_secret);
    let on_b = b.client.with_api_key(&key.customer_secret);
    let u = on_a.create_user(&user_req("r@example.com")).await.unwrap();
    assert_eq!(on_b.get_user(&u.user_id).await.unwrap().last_name, "Doe");
    on_a.update_user(&u.user_id, &wire::UpdateUserRequest { last_name: Some("Roe".into()), ..Default::default() })
        .await
        .unwrap();
    let mut seen = false;
    for _ in 0..50 {
        if on_b.get_user(&u.user_id).await.unwrap().last_name == "Roe" {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen, "replica B still serves the old user after 5 s");
    b.stop_server().await;
    a.stop().await;
}

/// Issue 15: the reference's `POST /users/{id}/token` (200, one year, re-issuing revokes the earlier token), and a
/// user token sent as `x-api-key` as well as `Authorization: Bearer`.
async fn reference_user_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner) = app.customer("ref-tok-co").await;
    let u1 = owner.create_user(&user_req("r1@example.com")).await.unwrap();
    let u2 = owner.create_user(&user_req("r2@example.com")).await.unwrap();
    let issue = || {
        let (owner, path) = (owner.clone(), format!("/users/{}/token", u1.user_id));
        async move { owner.raw(reqwest::Method::POST, &path, None).await.unwrap() }
    };
    let r = issue().await;
    assert_eq!(r.status, 200, "{}", r.json);
    let d = &r.json["data"];
    let first = d["token"].as_str().unwrap().to_string();
    assert_eq!(d["user_id"].as_str(), Some(u1.user_id.as_str()));
    let expires = chrono::DateTime::parse_from_rfc3339(d["expires"].as_str().unwrap()).unwrap();
    let days = (expires.timestamp() - chrono::Utc::now().timestamp()) / 86_400;
    assert!((364..=365).contains(&days), "expires in {days} days");
    assert_eq!(d["expires"], d["expires_at"]);
    // As x-api-key and as Bearer, on its own user; another user is 404; owner-only calls 403.
    let http = reqwest::Client::new();
    let get = |token: String, bearer: bool, user: String| {
        let (http, url) = (http.clone(), format!("{}/sovx/v1/users/{user}", app.url()));
        async move {
            let req = if bearer { http.get(url).bearer_auth(token) } else { http.get(url).header("x-api-key", token) };
            req.send().await.unwrap().status().as_u16()
        }
    };
    assert_eq!(get(first.clone(), false, u1.user_id.clone()).await, 200);
    assert_eq!(get(first.clone(), true, u1.user_id.clone()).await, 200);
    assert_eq!(get(first.clone(), false, u2.user_id.clone()).await, 404);
    let r = http.get(format!("{}/sovx/v1/users", app.url())).header("x-api-key", &first).send().await.unwrap();
    assert_eq!(r.status(), 403);
    // Issuing again revokes the first token.
    let second = issue().await.json["data"]["token"].as_str().unwrap().to_string();
    assert_eq!(get(second.clone(), false, u1.user_id.clone()).await, 200);
    assert_eq!(get(first, false, u1.user_id.clone()).await, 401);
    // The bulk route: an unknown user refuses the whole request (nothing issued); then both users get a token.
    let bulk = |ids: Vec<String>| {
        let owner = owner.clone();
        async move {
            let body = serde_json::json!({ "user_ids": ids }).to_string().into_bytes();
            owner.raw(reqwest::Method::POST, "/users/tokens", Some(("application/json", body))).await.unwrap()
        }
    };
    let r = bulk(vec![u1.user_id.clone(), "00000000-0000-4000-8000-000000000000".into()]).await;
    assert_eq!((r.status, r.json["errors"][0]["field"].as_str()), (404, Some("user_ids")), "{}", r.json);
    assert_eq!(get(second.clone(), false, u1.user_id.clone()).await, 200, "nothing was issued or revoked");
    let r = bulk(vec![u1.user_id.clone(), u2.user_id.clone()]).await;
    assert_eq!(r.status, 200, "{}", r.json);
    let issued = r.json["data"].as_array().unwrap();
    assert_eq!(issued.len(), 2);
    for (t, u) in issued.iter().zip([&u1, &u2]) {
        assert_eq!(t["user_id"].as_str(), Some(u.user_id.as_str()));
        assert_eq!(get(t["token"].as_str().unwrap().to_string(), true, u.user_id.clone()).await, 200);
    }
    assert_eq!(get(second, false, u1.user_id.clone()).await, 401, "the bulk route revokes earlier tokens too");
    app.stop().await;
}
on_both!(reference_user_tokens);
