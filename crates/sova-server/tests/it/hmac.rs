//! The `Cs-*` HMAC scheme (seed 004) on the Connect API: accepted from independent implementations (Python's
//! `hmac`, the openssl CLI), and each way of getting it wrong refused with its own code.

use std::process::Command;
use std::time::Duration;

use reqwest::Method;
use sova_proto::ErrorCode;
use sova_proto::connect as wire;

use sova_testkit_app::on_both;
use sova_testkit_app::prelude::*;

const PASSPHRASE: &str = "correct passphrase";

struct Keys {
    access_key: String,
    secret_key: String,
    credential_id: String,
}

async fn hmac_keys(app: &TestApp, customer_id: &str) -> Keys {
    let ops = app.operator().await;
    let c = ops
        .create_credential_with(
            customer_id,
            &wire::CreateCredentialRequest { passphrase: Some(PASSPHRASE.into()), ..Default::default() },
        )
        .await
        .unwrap();
    Keys {
        access_key: c.access_key.expect("access_key when a passphrase is chosen"),
        secret_key: c.secret_key.expect("secret_key when a passphrase is chosen"),
        credential_id: c.credential_id,
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Send a request with hand-made `Cs-*` headers.
async fn send(
    app: &TestApp,
    method: Method,
    target: &str,
    body: &[u8],
    headers: &[(&str, String)],
) -> (u16, serde_json::Value) {
    let mut rb = reqwest::Client::new().request(method, format!("{}{target}", app.url()));
    for (k, v) in headers {
        rb = rb.header(*k, v);
    }
    if !body.is_empty() {
        rb = rb.header("content-type", "application/json").body(body.to_vec());
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

fn cs_headers(k: &Keys, ts: i64, sig: String, pass: &str) -> Vec<(&'static str, String)> {
    vec![
        ("Cs-Access-Key", k.access_key.clone()),
        ("Cs-Signature", sig),
        ("Cs-Timestamp", ts.to_string()),
        ("Cs-Passphrase", pass.to_string()),
    ]
}

fn sign(secret: &str, ts: i64, method: &str, target: &str, body: &[u8]) -> String {
    sova_auth::cs_hmac::sign(secret, &ts.to_string(), method, target, body)
}

fn code(v: &serde_json::Value) -> String {
    v["errors"][0]["code"].as_str().unwrap_or_default().to_string()
}

async fn signed_requests_work(backend: Backend) {
    let app = spawn_app(backend).await;
    let (cid, _) = app.customer("hmac-co").await;
    let k = hmac_keys(&app, &cid).await;
    assert_eq!(k.access_key.len(), 32);
    // Listed with its access key, never its secrets.
    let listed = app.operator().await.list_credentials(&cid).await.unwrap();
    let text = serde_json::to_string(&listed.items).unwrap();
    assert!(text.contains(&k.access_key) && !text.contains(&k.secret_key));

    // The SDK signs every request: GET, POST with a body, a query string.
    let c = app.client.with_hmac(&k.access_key, &k.secret_key, PASSPHRASE);
    assert!(c.sync_clock().await.unwrap().abs() <= 1);
    let u = c.create_user(&user_req("signed@example.com")).await.unwrap();
    assert_eq!(c.get_user(&u.user_id).await.unwrap().email, "signed@example.com");
    let page = c.list_users(&[("filter[limit]", "5"), ("filter[sort]", "created_at DESC")]).await.unwrap();
    assert_eq!(page.pagination.total, 1);
    let w = c
        .create_wallet(
            &u.user_id,
            &wire::CreateWalletRequest { name: "w".into(), currency: Some("BTC".into()), ..Default::default() },
        )
        .await
        .unwrap();
    c.create_address(
        &w.wallet_id,
        &wire::CreateAddressRequest { currency: "btc".into(), network: "bitcoin".into(), rotate: None },
    )
    .await
    .unwrap();

    // Python's hmac module, from the document alone.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/independent/cs_hmac_client.py");
    let out = Command::new("python3")
        .arg(script)
        .env("SOVA_URL", app.url())
        .env("CS_ACCESS_KEY", &k.access_key)
        .env("CS_SECRET_KEY", &k.secret_key)
        .env("CS_PASSPHRASE", PASSPHRASE)
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    for l in &lines {
        assert!(l["status"] == 200 || l["status"] == 201, "{l}");
    }
    assert_eq!(lines[0]["body"]["data"]["first_name"], "Py");
    assert_eq!(lines[1]["body"]["meta"]["pagination"]["total"], 2);

    // The openssl CLI computes the signature; curl-like raw request.
    let ts = now();
    let target = "/sovx/v1/users?filter[where][email]=py%40example.com";
    let prehash = format!("{ts}|GET|{target}|");
    let sh = format!("printf '%s' '{prehash}' | openssl dgst -sha256 -hmac '{}' -binary | base64", k.secret_key);
    let out = Command::new("sh").arg("-c").arg(&sh).output().expect("openssl runs");
    assert!(out.status.success());
    let sig = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let (status, body) = send(&app, Method::GET, target, b"", &cs_headers(&k, ts, sig, PASSPHRASE)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["meta"]["pagination"]["total"], 1);

    // Server time, no auth.
    let t = app.client.server_time().await.unwrap();
    assert!((t.epoch - now()).abs() <= 1);
    app.stop().await;
}
on_both!(signed_requests_work);

async fn every_mistake_has_its_code(backend: Backend) {
    let app = spawn_app(backend).await;
    let (cid, _) = app.customer("hmac-bad").await;
    let k = hmac_keys(&app, &cid).await;
    let target = "/sovx/v1/users?filter[limit]=5";
    let body = br#"{"user_type":"individual","email":"t@example.com","first_name":"T","last_name":"T"}"#;
    let ts = now();
    let good = sign(&k.secret_key, ts, "POST", "/sovx/v1/users", body);

    // Tampered body: signed one body, sent another (the same JSON re-serialized with a space).
    let tampered = br#"{"user_type":"individual", "email":"t@example.com","first_name":"T","last_name":"T"}"#;
    let (s, b) =
        send(&app, Method::POST, "/sovx/v1/users", tampered, &cs_headers(&k, ts, good.clone(), PASSPHRASE)).await;
    assert_eq!((s, code(&b).as_str()), (401, "INVALID_SIGNATURE"), "{b}");
    assert!(
        b["errors"][0]["message"].as_str().unwrap().contains("|POST|/sovx/v1/users|"),
        "the message shows the prehash"
    );
    // Tampered path and tampered query.
    let sig = sign(&k.secret_key, ts, "GET", target, b"");
    let (s, b) =
        send(&app, Method::GET, "/sovx/v1/wallets?filter[limit]=5", b"", &cs_headers(&k, ts, sig.clone(), PASSPHRASE))
            .await;
    assert_eq!((s, code(&b).as_str()), (401, "INVALID_SIGNATURE"));
    let (s, b) =
        send(&app, Method::GET, "/sovx/v1/users?filter[limit]=6", b"", &cs_headers(&k, ts, sig.clone(), PASSPHRASE))
            .await;
    assert_eq!((s, code(&b).as_str()), (401, "INVALID_SIGNATURE"));
    // Nothing was written by the refused POST.
    let owner_view = app.client.with_hmac(&k.access_key, &k.secret_key, PASSPHRASE);
    assert_eq!(owner_view.list_users(&[]).await.unwrap().pagination.total, 0);

    // The right request once, then its replay.
    let (s, _) = send(&app, Method::GET, target, b"", &cs_headers(&k, ts, sig.clone(), PASSPHRASE)).await;
    assert_eq!(s, 200);
    let (s, b) = send(&app, Method::GET, target, b"", &cs_headers(&k, ts, sig, PASSPHRASE)).await;
    assert_eq!((s, code(&b).as_str()), (401, "SIGNATURE_REPLAYED"));

    // Stale and future timestamps (the window is 30 s).
    // Offsets from a fresh clock reading (a slow machine may have spent seconds since `ts`); the message names the
    // skew, which may be a second more than the offset if the clock ticks in between.
    for off in [-35, 35, -3600] {
        let t = now() + off;
        let sig = sign(&k.secret_key, t, "GET", target, b"");
        let (s, b) = send(&app, Method::GET, target, b"", &cs_headers(&k, t, sig, PASSPHRASE)).await;
        assert_eq!((s, code(&b).as_str()), (401, "TIMESTAMP_SKEW"), "offset {off}");
        let msg = b["errors"][0]["message"].as_str().unwrap();
        let named = [off.abs(), off.abs() + 1].iter().any(|s| msg.contains(&format!("Cs-Timestamp is {s} s ")));
        assert!(named && msg.contains("/sovx/v1/time"), "{msg}");
        assert!(msg.contains(if off < 0 { "behind" } else { "ahead of" }), "{msg}");
    }
    // Wrong passphrase (signature right).
    let sig = sign(&k.secret_key, ts, "GET", "/sovx/v1/users", b"");
    let (s, b) = send(&app, Method::GET, "/sovx/v1/users", b"", &cs_headers(&k, ts, sig, "wrong passphrase")).await;
    assert_eq!((s, code(&b).as_str()), (401, "INVALID_PASSPHRASE"));
    // Unknown access key, and an existing key with both secrets wrong: the same answer, byte for byte.
    let fake = Keys { access_key: "0".repeat(32), secret_key: "not the secret".into(), credential_id: String::new() };
    let sig = sign(&fake.secret_key, ts, "GET", "/sovx/v1/users", b"");
    let (s1, b1) = send(&app, Method::GET, "/sovx/v1/users", b"", &cs_headers(&fake, ts, sig.clone(), "guess")).await;
    let wrong_both =
        Keys { access_key: k.access_key.clone(), secret_key: fake.secret_key.clone(), credential_id: String::new() };
    let (s2, b2) = send(&app, Method::GET, "/sovx/v1/users", b"", &cs_headers(&wrong_both, ts, sig, "guess")).await;
    assert_eq!((s1, code(&b1).as_str()), (401, "UNKNOWN_ACCESS_KEY"));
    assert_eq!((s2, &b2["errors"]), (s1, &b1["errors"]), "existence of a key is not revealed");
    // Missing or malformed headers.
    let mut h = cs_headers(&k, ts, "x".into(), PASSPHRASE);
    h.remove(3);
    let (s, b) = send(&app, Method::GET, "/sovx/v1/users", b"", &h).await;
    assert_eq!((s, code(&b).as_str()), (401, "MALFORMED_SIGNATURE_HEADERS"));
    assert!(b["errors"][0]["message"].as_str().unwrap().contains("Cs-Passphrase"));
    let h = cs_headers(&k, ts, "not base64!".into(), PASSPHRASE);
    let (s, b) = send(&app, Method::GET, "/sovx/v1/users", b"", &h).await;
    assert_eq!((s, code(&b).as_str()), (401, "MALFORMED_SIGNATURE_HEADERS"));
    let mut h = cs_headers(&k, ts, "x".into(), PASSPHRASE);
    h[2].1 = "2026-01-01T00:00:00Z".into();
    let (s, b) = send(&app, Method::GET, "/sovx/v1/users", b"", &h).await;
    assert_eq!((s, code(&b).as_str()), (401, "MALFORMED_SIGNATURE_HEADERS"));
    app.stop().await;
}
on_both!(every_mistake_has_its_code);

async fn revocation_expiry_and_rotation(backend: Backend) {
    let app = spawn_app(backend).await;
    let ops = app.operator().await;
    let (cid, _) = app.customer("hmac-rot").await;
    let k = hmac_keys(&app, &cid).await;
    let old = app.client.with_hmac(&k.access_key, &k.secret_key, PASSPHRASE);
    old.list_users(&[]).await.unwrap();

    // Rotation: new access key and secret, same passphrase; both work during the grace period.
    let r = ops.rotate_credential(&cid, &k.credential_id, Some(1)).await.unwrap();
    let (nk, ns) = (r.access_key.clone().unwrap(), r.secret_key.clone().unwrap());
    assert_ne!(nk, k.access_key);
    let new = app.client.with_hmac(&nk, &ns, PASSPHRASE);
    new.list_users(&[]).await.unwrap();
    old.list_users(&[]).await.unwrap();
    // After the grace period the old key has expired.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let e = old.list_users(&[]).await.unwrap_err();
    assert_eq!((e.status(), e.code()), (Some(401), Some(ErrorCode::CredentialExpired)));
    new.list_users(&[]).await.unwrap();

    // Revocation: refused at once, as an unknown key.
    ops.revoke_credential(&cid, &r.credential_id).await.unwrap();
    let e = new.list_users(&[]).await.unwrap_err();
    assert_eq!((e.status(), e.code()), (Some(401), Some(ErrorCode::UnknownAccessKey)));

    // A credential minted without a passphrase has no HMAC keys.
    let plain = ops.create_credential(&cid).await.unwrap();
    assert!(plain.access_key.is_none() && plain.secret_key.is_none());
    // A bad passphrase is refused at creation.
    let e = ops
        .create_credential_with(
            &cid,
            &wire::CreateCredentialRequest { passphrase: Some("short".into()), ..Default::default() },
        )
        .await
        .unwrap_err();
    assert_eq!((e.status(), e.field()), (Some(400), Some("passphrase")));
    app.stop().await;
}
on_both!(revocation_expiry_and_rotation);
