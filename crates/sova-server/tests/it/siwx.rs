//! SIWX onboarding (seed 003) over HTTP: the three endpoints and the customer read, RFC 9421 signatures under
//! Sova's policy, RFC 9530 digests, idempotency (also on the Connect API), contract wallets against a mock JSON-RPC
//! node, and an end-to-end run driven by independent Python implementations.

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};
use sova_auth::httpsig::{self, Algorithm, Message, PublicOrigin, SignatureParams, SigningKey};
use sova_client::Method;
use sova_client::siwx::{SiwxClient, sign_challenge_evm, sign_challenge_solana};
use sova_proto::ErrorCode;

use sova_testkit_app::on_both;
use sova_testkit_app::prelude::*;

const KEYID: &str = "tenant-ed25519";

fn ed25519(seed: u8) -> SigningKey {
    SigningKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[seed; 32]))
}

fn public_b64(key: &SigningKey) -> String {
    match key {
        SigningKey::Ed25519(k) => STANDARD.encode(k.verifying_key().to_bytes()),
        SigningKey::EcdsaP256Sha256(k) => STANDARD.encode(k.verifying_key().to_encoded_point(false).as_bytes()),
        SigningKey::HmacSha256(s) => STANDARD.encode(s.as_slice()),
        SigningKey::RsaPssSha512(_) => unreachable!("the tests register RSA keys as PEM"),
    }
}

struct Tenant {
    id: String,
    secret: String,
    client: SiwxClient,
}

/// A tenant (Connect customer with an owner key) with an ed25519 signing key registered by the operator.
async fn tenant(app: &TestApp, slug: &str) -> Tenant {
    let ops = app.operator().await;
    let c = ops
        .create_customer(&sova_proto::connect::CreateCustomerRequest {
            email: format!("{slug}@example.com"),
            customer_id: slug.into(),
            entity_name: format!("{slug} Ltd"),
        })
        .await
        .unwrap();
    let cred = ops.create_credential(&c.customer_id).await.unwrap();
    let key = ed25519(7);
    register(app, &c.customer_id, KEYID, "ed25519", &public_b64(&key)).await;
    let client = SiwxClient::new(&app.url(), &cred.customer_secret, KEYID, key);
    Tenant { id: c.customer_id, secret: cred.customer_secret, client }
}

async fn register(app: &TestApp, tenant: &str, keyid: &str, alg: &str, key: &str) {
    let ops = app.operator().await;
    let req = sova_proto::siwx::CreateSigningKeyRequest { keyid: keyid.into(), alg: alg.into(), key: key.into() };
    let k = ops.create_signing_key(tenant, &req).await.unwrap();
    assert_eq!((k.keyid.as_str(), k.status.as_str()), (keyid, "ACTIVE"));
    let listed = ops.list_signing_keys(tenant).await.unwrap();
    assert!(listed.iter().any(|k| k.keyid == keyid));
}

fn wallet(seed: u8) -> ([u8; 32], String) {
    let sk = [seed; 32];
    let address = sova_auth::exchange::address_of(&sk).unwrap().to_checksum(None);
    (sk, format!("eip155:1:{address}"))
}

fn code(r: &sova_client::RawResponse) -> String {
    r.json["errors"][0]["code"].as_str().unwrap_or_default().to_string()
}

fn api_code(e: &sova_client::ClientError) -> ErrorCode {
    e.code().unwrap_or_else(|| panic!("not an API error: {e}"))
}

async fn onboarding(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = tenant(&app, "acme").await;
    let (sk, account) = wallet(1);

    let c = t.client.create_customer(&account, "user-1").await.unwrap();
    assert_eq!(
        (c.status.as_str(), c.chain_id.as_str(), c.external_id.as_str()),
        ("PENDING", account.as_str(), "user-1")
    );
    let challenge = c.challenge.clone().unwrap();
    let text = String::from_utf8(STANDARD.decode(&challenge).unwrap()).unwrap();
    let authority = app.url().trim_start_matches("http://").to_string();
    assert!(text.starts_with(&format!("{authority} wants you to sign in with your Ethereum account:\n0x")), "{text}");
    assert!(text.contains(&format!("\nURI: {}\nVersion: 1\nChain ID: 1\nNonce: ", app.url())), "{text}");
    assert!(!text.ends_with('\n'));

    // Reading: pending, the same challenge.
    let read = t.client.get_customer(&c.id).await.unwrap();
    assert_eq!(
        (read.status.as_str(), read.user_id.as_deref(), read.verified_account.as_deref()),
        ("PENDING", None, None)
    );
    let ch = t.client.get_challenge(&c.id).await.unwrap();
    assert_eq!(ch.challenge, challenge);

    // Sign (base64 of r|s|v) -> 204, VERIFIED, linked to a Connect user of the same tenant.
    let sig = sign_challenge_evm(&challenge, &sk).unwrap();
    t.client.sign_challenge(&c.id, &account, &challenge, &sig).await.unwrap();
    let done = t.client.get_customer(&c.id).await.unwrap();
    assert_eq!((done.status.as_str(), done.verified_account.as_deref()), ("VERIFIED", Some(account.as_str())));
    let user_id = done.user_id.clone().unwrap();
    assert!(done.verified_at.is_some());
    let owner = app.client.with_api_key(&t.secret);
    let user = owner.get_user(&user_id).await.unwrap();
    assert_eq!(user.last_name, account);

    // The challenge was consumed: signing again, or fetching it, is refused.
    let again = t.client.sign_challenge(&c.id, &account, &challenge, &sig).await.unwrap_err();
    assert_eq!(api_code(&again), ErrorCode::SiwxAlreadyVerified);
    assert_eq!(api_code(&t.client.get_challenge(&c.id).await.unwrap_err()), ErrorCode::SiwxAlreadyVerified);

    // A second customer of the same account (lower-case address, 0x-hex signature with v = 0/1) reuses the user.
    let lower = account.to_ascii_lowercase();
    let c2 = t.client.create_customer(&lower, "user-1-bis").await.unwrap();
    assert_eq!(c2.chain_id, account, "stored in canonical EIP-55 form");
    let ch2 = c2.challenge.unwrap();
    let mut raw = STANDARD.decode(sign_challenge_evm(&ch2, &sk).unwrap()).unwrap();
    raw[64] -= 27;
    t.client.sign_challenge(&c2.id, &lower, &ch2, &format!("0x{}", hex::encode(raw))).await.unwrap();
    assert_eq!(t.client.get_customer(&c2.id).await.unwrap().user_id.as_deref(), Some(user_id.as_str()));

    // externalId is unique per tenant.
    let dup = t.client.create_customer(&account, "user-1").await.unwrap_err();
    assert_eq!((dup.status(), api_code(&dup), dup.field()), (Some(409), ErrorCode::Conflict, Some("externalId")));

    // Another tenant: 404 for this customer id, and its own externalId space.
    let other = tenant(&app, "globex").await;
    assert_eq!(api_code(&other.client.get_customer(&c.id).await.unwrap_err()), ErrorCode::NotFound);
    assert_eq!(api_code(&other.client.get_challenge(&c.id).await.unwrap_err()), ErrorCode::NotFound);
    other.client.create_customer(&account, "user-1").await.unwrap();
    // A malformed id is a 404 too.
    assert_eq!(api_code(&t.client.get_customer("nope").await.unwrap_err()), ErrorCode::NotFound);

    // Bad inputs name the field.
    let e = t.client.create_customer("eip155:1:0xAb16a96D359eC26a11e2C2b3d8f8B8942d5Bfcdb", "x").await.unwrap_err();
    assert_eq!((api_code(&e), e.field()), (ErrorCode::SiwxBadChecksum, Some("chainId")));
    let e = t.client.create_customer("cosmos:hub:abc", "x").await.unwrap_err();
    assert_eq!((api_code(&e), e.field()), (ErrorCode::SiwxUnsupportedNamespace, Some("chainId")));
    let e = t.client.create_customer(&account, "").await.unwrap_err();
    assert_eq!((api_code(&e), e.field()), (ErrorCode::ValidationError, Some("externalId")));
    let r = t.client.send(Method::POST, "/siwx/v1/customers", Some(b"{\"chainId\":".to_vec()), None).await.unwrap();
    assert_eq!((r.status, code(&r)), (400, "MALFORMED_JSON".into()));
    let r = t
        .client
        .send(Method::POST, "/siwx/v1/customers", Some(br#"{"chainId":"a","externalId":"b","x":1}"#.to_vec()), None)
        .await
        .unwrap();
    assert_eq!((r.status, code(&r)), (400, "UNKNOWN_FIELD".into()));
    app.stop().await;
}
on_both!(onboarding);

async fn challenge_failures(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = tenant(&app, "acme").await;
    let (sk, account) = wallet(2);
    let (other_sk, other_account) = wallet(3);
    let c = t.client.create_customer(&account, "u").await.unwrap();
    let ch = c.challenge.unwrap();

    // Wrong owner: 400 SIWX_OWNER_MISMATCH, the challenge stays.
    let e = t.client.sign_challenge(&c.id, &other_account, &ch, &sign_challenge_evm(&ch, &sk).unwrap()).await;
    let e = e.unwrap_err();
    assert_eq!((e.status(), api_code(&e), e.field()), (Some(400), ErrorCode::SiwxOwnerMismatch, Some("ownerId")));
    // Tampered challenge (one byte changed): SIWX_CHALLENGE_MISMATCH, the challenge stays.
    let mut text = STANDARD.decode(&ch).unwrap();
    text[0] ^= 1;
    let tampered = STANDARD.encode(&text);
    let e = t.client.sign_challenge(&c.id, &account, &tampered, &sign_challenge_evm(&tampered, &sk).unwrap()).await;
    assert_eq!(api_code(&e.unwrap_err()), ErrorCode::SiwxChallengeMismatch);
    let e = t.client.sign_challenge(&c.id, &account, "%%%", "0x00").await.unwrap_err();
    assert_eq!(api_code(&e), ErrorCode::SiwxChallengeMalformed);
    assert_eq!(t.client.get_challenge(&c.id).await.unwrap().challenge, ch);

    // Signed by another wallet: SIWX_WRONG_SIGNER, and a new challenge replaces the old one.
    let e = t.client.sign_challenge(&c.id, &account, &ch, &sign_challenge_evm(&ch, &other_sk).unwrap()).await;
    let e = e.unwrap_err();
    assert_eq!((api_code(&e), e.field()), (ErrorCode::SiwxWrongSigner, Some("signature")));
    let ch2 = t.client.get_challenge(&c.id).await.unwrap().challenge;
    assert_ne!(ch2, ch);
    // The old challenge no longer works, even correctly signed.
    let e = t.client.sign_challenge(&c.id, &account, &ch, &sign_challenge_evm(&ch, &sk).unwrap()).await;
    assert_eq!(api_code(&e.unwrap_err()), ErrorCode::SiwxChallengeMismatch);
    // Garbage signatures: malformed / bad v, each replacing the challenge.
    let e = t.client.sign_challenge(&c.id, &account, &ch2, "not a signature").await.unwrap_err();
    assert_eq!(api_code(&e), ErrorCode::SiwxMalformedSignature);
    let ch3 = t.client.get_challenge(&c.id).await.unwrap().challenge;
    assert_ne!(ch3, ch2);
    let mut raw = STANDARD.decode(sign_challenge_evm(&ch3, &sk).unwrap()).unwrap();
    raw[64] = 29;
    let e = t.client.sign_challenge(&c.id, &account, &ch3, &STANDARD.encode(raw)).await.unwrap_err();
    assert_eq!(api_code(&e), ErrorCode::SiwxBadRecoveryId);

    // Expired challenge: put an hour-old one in place, as the store would have issued it.
    let cur = app.running.ctx.store.siwx_customer(&t.id, &c.id).await.unwrap().unwrap();
    let acc = sova_auth::siwx::AccountId::parse(&account).unwrap();
    let old = chrono::Utc::now() - chrono::TimeDelta::seconds(3700);
    let authority = app.url().trim_start_matches("http://").to_string();
    let expired = sova_auth::siwx::Challenge::new(&authority, &acc, None, &app.url(), "Expired0Nonce1", old).unwrap();
    let new = sova_store::NewChallenge {
        text: expired.text(),
        nonce: expired.nonce.clone(),
        issued_at: expired.issued_at.timestamp_millis(),
        expires_at: expired.expiration_time.timestamp_millis(),
    };
    let now = chrono::Utc::now().timestamp_millis();
    let replaced = app.running.ctx.store.replace_siwx_challenge(
        &t.id,
        &c.id,
        cur.challenge_nonce.as_deref().unwrap(),
        &new,
        now,
        None,
    );
    assert!(replaced.await.unwrap());
    // As another replica's change would: the cached row is invalidated (by NOTIFY there).
    app.running.ctx.bus.invalidate(&format!("siwx:{}", c.id));
    let old_b64 = expired.text_base64();
    let e = t.client.sign_challenge(&c.id, &account, &old_b64, &sign_challenge_evm(&old_b64, &sk).unwrap()).await;
    let e = e.unwrap_err();
    assert_eq!((api_code(&e), e.field()), (ErrorCode::SiwxChallengeExpired, Some("challenge")));
    let fresh = t.client.get_challenge(&c.id).await.unwrap();
    assert_ne!(fresh.challenge, old_b64);
    // GET replaces an expired challenge too.
    let cur = app.running.ctx.store.siwx_customer(&t.id, &c.id).await.unwrap().unwrap();
    let expired2 = sova_auth::siwx::Challenge::new(&authority, &acc, None, &app.url(), "Expired0Nonce2", old).unwrap();
    let new2 = sova_store::NewChallenge { text: expired2.text(), nonce: expired2.nonce.clone(), ..new.clone() };
    assert!(
        app.running
            .ctx
            .store
            .replace_siwx_challenge(&t.id, &c.id, cur.challenge_nonce.as_deref().unwrap(), &new2, now, None)
            .await
            .unwrap()
    );
    app.running.ctx.bus.invalidate(&format!("siwx:{}", c.id));
    let got = t.client.get_challenge(&c.id).await.unwrap();
    assert_ne!(got.challenge, expired2.text_base64());
    // And the fresh one verifies.
    t.client
        .sign_challenge(&c.id, &account, &got.challenge, &sign_challenge_evm(&got.challenge, &sk).unwrap())
        .await
        .unwrap();
    app.stop().await;
}
on_both!(challenge_failures);

/// Sign `headers` for a request with custom parameters (the policy tests).
fn sign_into(
    origin: &PublicOrigin,
    method: &str,
    target: &str,
    h: &mut HeaderMap,
    p: &SignatureParams,
    key: &SigningKey,
) {
    let signed = httpsig::sign(&Message::request(origin, method, target, h), "sig1", p, key).unwrap();
    h.insert("signature-input", HeaderValue::from_str(&signed.signature_input).unwrap());
    h.insert("signature", HeaderValue::from_str(&signed.signature).unwrap());
}

async fn send_raw(app: &TestApp, method: Method, target: &str, h: HeaderMap, body: Option<Vec<u8>>) -> (u16, Value) {
    let mut rb = reqwest::Client::new().request(method, format!("{}{target}", app.url())).headers(h);
    if let Some(b) = body {
        rb = rb.body(b);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn params(components: &[&str], created: i64) -> SignatureParams {
    SignatureParams {
        components: components.iter().map(|s| s.to_string()).collect(),
        created: Some(created),
        keyid: Some(KEYID.into()),
        alg: Some(Algorithm::Ed25519),
        nonce: Some(uuid::Uuid::new_v4().simple().to_string()),
        ..Default::default()
    }
}

async fn policy_violations(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = tenant(&app, "acme").await;
    let (_, account) = wallet(4);
    let c = t.client.create_customer(&account, "u").await.unwrap();
    let origin = PublicOrigin::parse(&app.url()).unwrap();
    let key = ed25519(7);
    let now = chrono::Utc::now().timestamp();
    let get_target = format!("/siwx/v1/customers/{}", c.id);
    let base_headers = || {
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_str(&format!("Bearer {}", t.secret)).unwrap());
        h
    };
    let get = |p: SignatureParams, k: &SigningKey| {
        let mut h = base_headers();
        sign_into(&origin, "GET", &get_target, &mut h, &p, k);
        h
    };
    let all = ["@method", "@target-uri", "authorization"];
    let expect = |what: &str, r: (u16, Value), status: u16, want: &str| {
        assert_eq!((r.0, r.1["errors"][0]["code"].as_str().unwrap_or_default()), (status, want), "{what}: {}", r.1);
    };

    // The control: a well-formed signature passes.
    let ok = send_raw(&app, Method::GET, &get_target, get(params(&all, now), &key), None).await;
    assert_eq!(ok.0, 200, "{}", ok.1);
    // Missing component (authorization not covered).
    let r = send_raw(&app, Method::GET, &get_target, get(params(&["@method", "@target-uri"], now), &key), None).await;
    expect("missing component", r, 401, "HTTPSIG_MISSING_COMPONENT");
    // @authority + @path + @query is an accepted alternative to @target-uri.
    let r = get(params(&["@method", "@authority", "@path", "@query", "authorization"], now), &key);
    assert_eq!(send_raw(&app, Method::GET, &get_target, r, None).await.0, 200);
    // Stale and future created.
    let r = send_raw(&app, Method::GET, &get_target, get(params(&all, now - 120), &key), None).await;
    expect("stale created", r, 401, "HTTPSIG_STALE_CREATED");
    let r = send_raw(&app, Method::GET, &get_target, get(params(&all, now + 120), &key), None).await;
    expect("future created", r, 401, "HTTPSIG_CREATED_IN_FUTURE");
    // No created at all.
    let r = send_raw(
        &app,
        Method::GET,
        &get_target,
        get(SignatureParams { created: None, ..params(&all, now) }, &key),
        None,
    );
    expect("missing created", r.await, 401, "HTTPSIG_MISSING_CREATED");
    // Expired.
    let r = get(SignatureParams { expires: Some(now - 1), ..params(&all, now - 5) }, &key);
    expect("expired", send_raw(&app, Method::GET, &get_target, r, None).await, 401, "HTTPSIG_EXPIRED");
    // Unknown keyid.
    let r = get(SignatureParams { keyid: Some("nobody".into()), ..params(&all, now) }, &key);
    expect("unknown keyid", send_raw(&app, Method::GET, &get_target, r, None).await, 401, "HTTPSIG_UNKNOWN_KEYID");
    // alg mismatch.
    let r = get(SignatureParams { alg: Some(Algorithm::EcdsaP256Sha256), ..params(&all, now) }, &key);
    expect("alg mismatch", send_raw(&app, Method::GET, &get_target, r, None).await, 401, "HTTPSIG_ALG_MISMATCH");
    // Signed by another key under the registered keyid.
    let r = get(params(&all, now), &ed25519(8));
    expect("another key", send_raw(&app, Method::GET, &get_target, r, None).await, 401, "HTTPSIG_BAD_SIGNATURE");
    // Replayed nonce: the exact same request twice.
    let h = get(params(&all, now), &key);
    assert_eq!(send_raw(&app, Method::GET, &get_target, h.clone(), None).await.0, 200);
    expect("replayed nonce", send_raw(&app, Method::GET, &get_target, h, None).await, 401, "HTTPSIG_REPLAYED_NONCE");
    // Overlong nonces are refused before anything is stored.
    let r = get(SignatureParams { nonce: Some("n".repeat(200)), ..params(&all, now) }, &key);
    expect(
        "long nonce",
        send_raw(&app, Method::GET, &get_target, r, None).await,
        401,
        "HTTPSIG_MALFORMED_SIGNATURE_INPUT",
    );
    // Signed against another origin (the public origin decides @authority, never Host).
    let mut h = base_headers();
    let elsewhere = PublicOrigin::parse("https://evil.example").unwrap();
    sign_into(&elsewhere, "GET", &get_target, &mut h, &params(&all, now), &key);
    expect("other origin", send_raw(&app, Method::GET, &get_target, h, None).await, 401, "HTTPSIG_BAD_SIGNATURE");
    // The signature covers the target: another customer id under the same signature.
    let h = get(params(&all, now), &key);
    let r = send_raw(&app, Method::GET, &format!("{get_target}/challenge"), h, None).await;
    expect("other target", r, 401, "HTTPSIG_BAD_SIGNATURE");
    // No signature at all; no bearer; a wrong bearer.
    expect(
        "unsigned",
        send_raw(&app, Method::GET, &get_target, base_headers(), None).await,
        401,
        "HTTPSIG_MISSING_SIGNATURE_INPUT",
    );
    let mut h = get(params(&all, now), &key);
    h.remove("authorization");
    expect("no bearer", send_raw(&app, Method::GET, &get_target, h, None).await, 401, "UNAUTHORIZED");
    let mut h = get(params(&all, now), &key);
    h.insert("authorization", HeaderValue::from_static("Bearer sk_wrong"));
    expect("wrong bearer", send_raw(&app, Method::GET, &get_target, h, None).await, 401, "UNAUTHORIZED");

    // Bodies: digest mismatch (signed), body swapped under a valid signature, missing digest, missing key.
    let post = "/siwx/v1/customers";
    let body = serde_json::to_vec(&json!({"chainId": account, "externalId": "v2"})).unwrap();
    let body_components =
        ["@method", "@target-uri", "authorization", "content-digest", "content-type", "idempotency-key"];
    let post_headers = |digest: &str, idem: Option<&str>| {
        let mut h = base_headers();
        h.insert("content-type", HeaderValue::from_static("application/json"));
        h.insert("content-digest", HeaderValue::from_str(digest).unwrap());
        if let Some(k) = idem {
            h.insert("idempotency-key", HeaderValue::from_str(k).unwrap());
        }
        h
    };
    let idem = uuid::Uuid::new_v4().to_string();
    let mut h = post_headers(&sova_auth::digest::content_digest_sha256(b"{}"), Some(&idem));
    sign_into(&origin, "POST", post, &mut h, &params(&body_components, now), &key);
    let r = send_raw(&app, Method::POST, post, h, Some(body.clone())).await;
    expect("digest mismatch", r, 400, "CONTENT_DIGEST_MISMATCH");
    let mut h = post_headers(&sova_auth::digest::content_digest_sha256(&body), Some(&idem));
    sign_into(&origin, "POST", post, &mut h, &params(&body_components, now), &key);
    let swapped = serde_json::to_vec(&json!({"chainId": account, "externalId": "evil"})).unwrap();
    let r = send_raw(&app, Method::POST, post, h, Some(swapped)).await;
    expect("body swapped", r, 400, "CONTENT_DIGEST_MISMATCH");
    let mut h = post_headers("sha-256=:AAAA:", Some(&idem));
    sign_into(&origin, "POST", post, &mut h, &params(&body_components, now), &key);
    expect(
        "malformed digest",
        send_raw(&app, Method::POST, post, h, Some(body.clone())).await,
        400,
        "CONTENT_DIGEST_MALFORMED",
    );
    let mut h = post_headers("md5=:AAAAAAAAAAAAAAAAAAAAAA==:", Some(&idem));
    sign_into(&origin, "POST", post, &mut h, &params(&body_components, now), &key);
    let r = send_raw(&app, Method::POST, post, h, Some(body.clone())).await;
    expect("deprecated digest only", r, 400, "CONTENT_DIGEST_UNSUPPORTED_ALGORITHM");
    // Without content-digest covered: the policy refuses it.
    let mut h = post_headers(&sova_auth::digest::content_digest_sha256(&body), Some(&idem));
    sign_into(
        &origin,
        "POST",
        post,
        &mut h,
        &params(&["@method", "@target-uri", "authorization", "content-type", "idempotency-key"], now),
        &key,
    );
    let r = send_raw(&app, Method::POST, post, h, Some(body.clone())).await;
    expect("digest not covered", r, 401, "HTTPSIG_MISSING_COMPONENT");
    let mut h = post_headers(&sova_auth::digest::content_digest_sha256(&body), None);
    sign_into(&origin, "POST", post, &mut h, &params(&all, now), &key);
    expect(
        "no idempotency key",
        send_raw(&app, Method::POST, post, h, Some(body.clone())).await,
        400,
        "IDEMPOTENCY_KEY_MISSING",
    );
    let mut h = post_headers(&sova_auth::digest::content_digest_sha256(&body), Some("not-a-uuid"));
    sign_into(&origin, "POST", post, &mut h, &params(&body_components, now), &key);
    expect(
        "bad idempotency key",
        send_raw(&app, Method::POST, post, h, Some(body.clone())).await,
        400,
        "IDEMPOTENCY_KEY_INVALID",
    );
    // And the same request done right: 201 (the refused attempts above claimed nothing).
    let mut h = post_headers(&sova_auth::digest::content_digest_sha256(&body), Some(&idem));
    sign_into(&origin, "POST", post, &mut h, &params(&body_components, now), &key);
    let r = send_raw(&app, Method::POST, post, h, Some(body.clone())).await;
    assert_eq!(r.0, 201, "{}", r.1);

    // A revoked key stops working at once.
    let ops = app.operator().await;
    let revoked = ops.revoke_signing_key(&t.id, KEYID).await.unwrap();
    assert_eq!((revoked.status.as_str(), revoked.revoked_at.is_some()), ("REVOKED", true));
    let r = send_raw(&app, Method::GET, &get_target, get(params(&all, now), &key), None).await;
    expect("revoked key", r, 401, "HTTPSIG_UNKNOWN_KEYID");
    app.stop().await;
}
on_both!(policy_violations);

async fn signing_keys_api(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = tenant(&app, "acme").await;
    let ops = app.operator().await;
    let path = format!("/customers/{}/signing-keys", t.id);
    let post = |b: Value| {
        let ops = ops.clone();
        let path = path.clone();
        async move {
            ops.raw(Method::POST, &path, Some(("application/json", serde_json::to_vec(&b).unwrap()))).await.unwrap()
        }
    };
    // Every algorithm: register, then sign a read with it.
    let p256 = SigningKey::EcdsaP256Sha256(p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap());
    let hmac = SigningKey::HmacSha256(zeroize::Zeroizing::new(vec![5u8; 32]));
    let rsa_key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
    let rsa_pem = {
        use rsa::pkcs8::EncodePublicKey;
        rsa_key.to_public_key().to_public_key_pem(rsa::pkcs8::LineEnding::LF).unwrap()
    };
    let rsa = SigningKey::RsaPssSha512(rsa_key);
    for (keyid, alg, key, material) in [
        ("p256", "ecdsa-p256-sha256", p256.clone(), public_b64(&p256)),
        ("mac", "hmac-sha256", hmac.clone(), public_b64(&hmac)),
        ("rsa", "rsa-pss-sha512", rsa.clone(), rsa_pem.clone()),
    ] {
        let r = post(json!({"keyid": keyid, "alg": alg, "key": material})).await;
        assert_eq!(r.status, 201, "{}", r.json);
        if alg == "hmac-sha256" {
            assert!(r.json["data"].get("public_key").is_none(), "an HMAC secret is never returned: {}", r.json);
        }
        let c = SiwxClient::new(&app.url(), &t.secret, keyid, key);
        let (_, account) = wallet(5);
        let created = c.create_customer(&account, keyid).await.unwrap();
        assert_eq!(c.get_customer(&created.id).await.unwrap().id, created.id, "{alg}");
    }
    let list = ops.raw(Method::GET, &path, None).await.unwrap();
    assert_eq!(list.json["data"].as_array().unwrap().len(), 4);
    assert!(!list.json.to_string().contains(&STANDARD.encode([5u8; 32])), "no HMAC secret in listings");
    // The secret is not stored in the clear either.
    let row = app.running.ctx.store.signing_key(&t.id, "mac").await.unwrap().unwrap();
    assert!(row.key_material.starts_with("sealed:v2:") && !row.key_material.contains(&STANDARD.encode([5u8; 32])));

    // Refusals name the field.
    let r = post(json!({"keyid": "k", "alg": "ed448", "key": "x"})).await;
    assert_eq!((r.status, r.json["errors"][0]["field"].as_str()), (400, Some("alg")));
    let r = post(json!({"keyid": "k", "alg": "ed25519", "key": "AAAA"})).await;
    assert_eq!(
        (r.status, code(&r).as_str(), r.json["errors"][0]["field"].as_str()),
        (400, "HTTPSIG_INVALID_KEY", Some("key"))
    );
    let r = post(json!({"keyid": "k", "alg": "hmac-sha256", "key": STANDARD.encode([1u8; 8])})).await;
    assert_eq!((r.status, code(&r).as_str()), (400, "HTTPSIG_INVALID_KEY"));
    let r = post(json!({"keyid": "has space", "alg": "ed25519", "key": public_b64(&ed25519(1))})).await;
    assert_eq!((r.status, r.json["errors"][0]["field"].as_str()), (400, Some("keyid")));
    let r = post(json!({"keyid": "p256", "alg": "ed25519", "key": public_b64(&ed25519(1))})).await;
    assert_eq!((r.status, code(&r).as_str()), (409, "CONFLICT"));
    // Unknown customer, unknown key, no session.
    let r = ops.raw(Method::GET, "/customers/nobody/signing-keys", None).await.unwrap();
    assert_eq!(r.status, 404);
    let r = ops.raw(Method::DELETE, &format!("{path}/nope"), None).await.unwrap();
    assert_eq!(r.status, 404);
    let owner = app.client.with_api_key(&t.secret);
    assert_eq!(owner.raw(Method::GET, &path, None).await.unwrap().status, 401);
    app.stop().await;
}
on_both!(signing_keys_api);

async fn idempotency(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = tenant(&app, "acme").await;
    let (_, account) = wallet(6);
    let body = serde_json::to_vec(&json!({"chainId": account, "externalId": "idem"})).unwrap();
    let key = uuid::Uuid::new_v4().to_string();
    let first = t.client.send(Method::POST, "/siwx/v1/customers", Some(body.clone()), Some(&key)).await.unwrap();
    assert_eq!(first.status, 201);
    assert!(first.headers.get("idempotent-replayed").is_none());
    // Same key, same request (freshly signed): the stored answer, flagged. Quoted keys are the same key.
    let again = t
        .client
        .send(Method::POST, "/siwx/v1/customers", Some(body.clone()), Some(&format!("\"{}\"", key.to_uppercase())))
        .await
        .unwrap();
    assert_eq!(again.status, 201);
    assert_eq!(again.headers.get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    assert_eq!(again.json["data"], first.json["data"]);
    // Same key, another body: 422.
    let other = serde_json::to_vec(&json!({"chainId": account, "externalId": "idem-2"})).unwrap();
    let r = t.client.send(Method::POST, "/siwx/v1/customers", Some(other), Some(&key)).await.unwrap();
    assert_eq!((r.status, code(&r).as_str()), (422, "IDEMPOTENCY_KEY_REUSED"));
    // Keys are per tenant: another tenant may use the same key.
    let t2 = tenant(&app, "globex").await;
    let r = t2.client.send(Method::POST, "/siwx/v1/customers", Some(body.clone()), Some(&key)).await.unwrap();
    assert_eq!((r.status, r.headers.get("idempotent-replayed").is_none()), (201, true));
    // A refused sign attempt is recorded with its new challenge: the retry with the same key replays it.
    let cid = first.json["data"]["id"].as_str().unwrap();
    let ch = first.json["data"]["challenge"].as_str().unwrap();
    let bad = serde_json::to_vec(&json!({"ownerId": account, "challenge": ch, "signature": "0x1234"})).unwrap();
    let k2 = uuid::Uuid::new_v4().to_string();
    let path = format!("/siwx/v1/customers/{cid}/challenge/sign");
    let a = t.client.send(Method::POST, &path, Some(bad.clone()), Some(&k2)).await.unwrap();
    let b = t.client.send(Method::POST, &path, Some(bad), Some(&k2)).await.unwrap();
    assert_eq!((a.status, b.status, code(&a)), (400, 400, code(&b)));
    assert_eq!(b.headers.get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));

    // Concurrency: one key, many simultaneous requests: exactly one customer.
    let key = uuid::Uuid::new_v4().to_string();
    let body = serde_json::to_vec(&json!({"chainId": account, "externalId": "race"})).unwrap();
    let client = Arc::new(t.client.clone());
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let (c, b, k) = (client.clone(), body.clone(), key.clone());
            tokio::spawn(async move { c.send(Method::POST, "/siwx/v1/customers", Some(b), Some(&k)).await.unwrap() })
        })
        .collect();
    let mut ids = HashMap::new();
    let mut statuses = Vec::new();
    for task in tasks {
        let r = task.await.unwrap();
        statuses.push(r.status);
        match r.status {
            201 => *ids.entry(r.json["data"]["id"].as_str().unwrap().to_string()).or_insert(0) += 1,
            409 => assert_eq!(code(&r), "IDEMPOTENCY_KEY_IN_FLIGHT"),
            s => panic!("unexpected {s}: {}", r.json),
        }
    }
    assert_eq!(ids.len(), 1, "one customer for one key: {statuses:?}");
    // And only one exists: a new key for the same externalId conflicts.
    let r = t.client.send(Method::POST, "/siwx/v1/customers", Some(body), None).await.unwrap();
    assert_eq!((r.status, code(&r).as_str()), (409, "CONFLICT"));
    // Concurrent signatures of one challenge with different keys: verified once, one Connect user.
    let (sk, acc2) = wallet(9);
    let c = t.client.create_customer(&acc2, "sig-race").await.unwrap();
    let ch = c.challenge.unwrap();
    let sig = sign_challenge_evm(&ch, &sk).unwrap();
    let body = serde_json::to_vec(&json!({"ownerId": acc2, "challenge": ch, "signature": sig})).unwrap();
    let path = format!("/siwx/v1/customers/{}/challenge/sign", c.id);
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (cl, b, p) = (client.clone(), body.clone(), path.clone());
            tokio::spawn(async move { cl.send(Method::POST, &p, Some(b), None).await.unwrap().status })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        match task.await.unwrap() {
            204 => wins += 1,
            409 => {}
            s => panic!("unexpected {s}"),
        }
    }
    assert_eq!(wins, 1);

    // The Connect API honours the key on its POSTs (optional there).
    let owner = app.client.with_api_key(&t.secret);
    let user_body = serde_json::to_vec(&user_req("jane@example.com")).unwrap();
    let k = uuid::Uuid::new_v4().to_string();
    let send = |b: Vec<u8>, key: Option<String>| {
        let url = format!("{}/sovx/v1/users", app.url());
        let secret = t.secret.clone();
        async move {
            let mut rb =
                reqwest::Client::new().post(url).header("x-api-key", secret).header("content-type", "application/json");
            if let Some(k) = key {
                rb = rb.header("idempotency-key", k);
            }
            let r = rb.body(b).send().await.unwrap();
            // A replay is counted against the key's rate limit like any call (its headers say so).
            assert!(r.headers().contains_key("x-ratelimit-remaining"), "{:?}", r.headers());
            let replayed = r.headers().contains_key("idempotent-replayed");
            (r.status().as_u16(), replayed, r.json::<Value>().await.unwrap())
        }
    };
    let (s1, r1, u1) = send(user_body.clone(), Some(k.clone())).await;
    let (s2, r2, u2) = send(user_body.clone(), Some(k.clone())).await;
    assert_eq!((s1, r1, s2, r2), (201, false, 201, true));
    assert_eq!(u1["data"]["user_id"], u2["data"]["user_id"]);
    let other_body = serde_json::to_vec(&user_req("john@example.com")).unwrap();
    let (s3, _, e3) = send(other_body.clone(), Some(k)).await;
    assert_eq!((s3, e3["errors"][0]["code"].as_str()), (422, Some("IDEMPOTENCY_KEY_REUSED")));
    let (s4, r4, _) = send(other_body, None).await;
    assert_eq!((s4, r4), (201, false));
    let (s5, _, e5) = send(user_body, Some("nope".into())).await;
    assert_eq!((s5, e5["errors"][0]["code"].as_str()), (400, Some("IDEMPOTENCY_KEY_INVALID")));
    assert_eq!(
        owner.list_users(&[]).await.unwrap().items.len(),
        3,
        "two created by hand, one for the verified account"
    );
    app.stop().await;
}
on_both!(idempotency);

async fn solana_and_public_origin(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.public_origin = Some("https://onboard.example.com".into())).await;
    let t = tenant(&app, "acme").await;
    // Signing against the listen address fails: the public origin is what counts.
    let (_, account) = wallet(10);
    let e = t.client.create_customer(&account, "x").await.unwrap_err();
    assert_eq!(api_code(&e), ErrorCode::HttpsigBadSignature);
    let c = t.client.clone().with_public_origin("https://onboard.example.com").unwrap();
    let sol = ed25519_dalek::SigningKey::from_bytes(&[11u8; 32]);
    let address = bs58::encode(sol.verifying_key().to_bytes()).into_string();
    let account = format!("solana:{}:{address}", sova_auth::siwx::SOLANA_MAINNET);
    let created = c.create_customer(&account, "sol").await.unwrap();
    let ch = created.challenge.unwrap();
    let text = String::from_utf8(STANDARD.decode(&ch).unwrap()).unwrap();
    assert!(text.starts_with("onboard.example.com wants you to sign in with your Solana account:\n"), "{text}");
    assert!(text.contains("\nURI: https://onboard.example.com\n"), "{text}");
    // Another ed25519 key's signature: refused, challenge replaced.
    let wrong = sign_challenge_solana(&ch, &ed25519_dalek::SigningKey::from_bytes(&[12u8; 32])).unwrap();
    assert_eq!(
        api_code(&c.sign_challenge(&created.id, &account, &ch, &wrong).await.unwrap_err()),
        ErrorCode::SiwxBadSignature
    );
    let ch = c.get_challenge(&created.id).await.unwrap().challenge;
    c.sign_challenge(&created.id, &account, &ch, &sign_challenge_solana(&ch, &sol).unwrap()).await.unwrap();
    assert_eq!(c.get_customer(&created.id).await.unwrap().status, "VERIFIED");
    app.stop().await;
}
on_both!(solana_and_public_origin);

/// A JSON-RPC node that knows one contract wallet: `isValidSignature(hash, sig)` answers the magic value iff `sig`
/// is `good` (a deployed ERC-1271 wallet), or, for a counterfactual one, through `eth_simulateV1`.
async fn mock_rpc(good: Vec<u8>) -> (String, tokio::task::JoinHandle<()>) {
    use axum::Json;
    use axum::routing::post;
    let good = Arc::new(good);
    let app = axum::Router::new().route(
        "/",
        post(move |Json(req): Json<Value>| {
            let good = good.clone();
            async move {
                let id = req["id"].clone();
                let check = |data: &str| -> String {
                    let data = hex::decode(data.trim_start_matches("0x")).unwrap();
                    assert_eq!(&data[..4], &[0x16, 0x26, 0xba, 0x7e], "isValidSignature selector");
                    let len = usize::from(data[4 + 64 + 31]);
                    let sig = &data[4 + 96..4 + 96 + len];
                    if sig == good.as_slice() {
                        format!("0x1626ba7e{}", "0".repeat(56))
                    } else {
                        format!("0xffffffff{}", "0".repeat(56))
                    }
                };
                let result = match req["method"].as_str().unwrap() {
                    "eth_call" => json!(check(req["params"][0]["data"].as_str().unwrap())),
                    "eth_getCode" => json!("0x"),
                    "eth_simulateV1" => {
                        let calls = &req["params"][0]["blockStateCalls"][0]["calls"];
                        assert_eq!(calls[0]["to"], "0xfafafafafafafafafafafafafafafafafafafafa");
                        json!([{"calls": [{"status": "0x1", "returnData": "0x"},
                            {"status": "0x1", "returnData": check(calls[1]["data"].as_str().unwrap())}]}])
                    }
                    m => return Json(json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": m}})),
                };
                Json(json!({"jsonrpc": "2.0", "id": id, "result": result}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    (url, tokio::spawn(async move { axum::serve(listener, app).await.unwrap() }))
}

async fn contract_wallets(backend: Backend) {
    let good = vec![0xab; 100];
    let (url, node) = mock_rpc(good.clone()).await;
    let app = spawn_app_with(backend, |c| {
        c.evm_rpc_urls.insert(1, url);
    })
    .await;
    let t = tenant(&app, "acme").await;
    // A smart-contract account: no private key exists for it.
    let account = "eip155:1:0x1111111111111111111111111111111111111111";
    let c = t.client.create_customer(account, "safe").await.unwrap();
    let ch = c.challenge.unwrap();
    // A signature the contract refuses: the EOA error stands (the challenge is replaced).
    let e = t.client.sign_challenge(&c.id, account, &ch, &format!("0x{}", hex::encode([0xcd; 100]))).await.unwrap_err();
    assert_eq!(api_code(&e), ErrorCode::SiwxMalformedSignature);
    // ERC-1271: accepted.
    let ch = t.client.get_challenge(&c.id).await.unwrap().challenge;
    t.client.sign_challenge(&c.id, account, &ch, &format!("0x{}", hex::encode(&good))).await.unwrap();
    assert_eq!(t.client.get_customer(&c.id).await.unwrap().status, "VERIFIED");

    // ERC-6492 (not deployed yet): factory call then isValidSignature in one simulated block.
    let account = "eip155:1:0x2222222222222222222222222222222222222222";
    let c = t.client.create_customer(account, "counterfactual").await.unwrap();
    let word = |n: usize| {
        let mut w = [0u8; 32];
        w[24..].copy_from_slice(&(n as u64).to_be_bytes());
        w
    };
    let mut wrapped = vec![0u8; 12];
    wrapped.extend_from_slice(&[0xfa; 20]);
    wrapped.extend_from_slice(&word(96));
    wrapped.extend_from_slice(&word(96 + 32 + 32));
    wrapped.extend_from_slice(&word(4));
    wrapped.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    wrapped.resize(wrapped.len() + 28, 0);
    wrapped.extend_from_slice(&word(good.len()));
    wrapped.extend_from_slice(&good);
    wrapped.resize(wrapped.len() + (32 - good.len() % 32) % 32, 0);
    wrapped.extend_from_slice(&[0x64, 0x92].repeat(16));
    let ch = c.challenge.unwrap();
    t.client.sign_challenge(&c.id, account, &ch, &STANDARD.encode(&wrapped)).await.unwrap();
    assert_eq!(t.client.get_customer(&c.id).await.unwrap().status, "VERIFIED");

    // No RPC for the chain (eip155:10): a contract signature is simply not the account's.
    let account = "eip155:10:0x1111111111111111111111111111111111111111";
    let c = t.client.create_customer(account, "op").await.unwrap();
    let e = t.client.sign_challenge(&c.id, account, &c.challenge.unwrap(), &format!("0x{}", hex::encode(&good))).await;
    assert_eq!(api_code(&e.unwrap_err()), ErrorCode::SiwxMalformedSignature);
    node.abort();
    // The node gone: 502, and the challenge is kept (the signature was not judged).
    let account = "eip155:1:0x3333333333333333333333333333333333333333";
    let c = t.client.create_customer(account, "down").await.unwrap();
    let ch = c.challenge.unwrap();
    let e = t.client.sign_challenge(&c.id, account, &ch, &format!("0x{}", hex::encode(&good))).await.unwrap_err();
    assert_eq!((e.status(), api_code(&e)), (Some(502), ErrorCode::SiwxContractCheckFailed));
    assert_eq!(t.client.get_challenge(&c.id).await.unwrap().challenge, ch);
    app.stop().await;
}
on_both!(contract_wallets);

const PY_ED25519_PUB: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----";
const PY_P256_PUB: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqIVYZVLCrPZHGHjP17CTW0/+D9Lf
w0EkjqF7xB4FivAxzic30tMM4GF+hR6Dxh71Z50VGGdldkkDXZCnTNnoXQ==
-----END PUBLIC KEY-----";
const PY_SHARED_SECRET: &str =
    "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==";

const PY_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../sova-auth/tests/independent/siwx_server_e2e.py");

/// Run the independent client; `None` when Python or its libraries are missing (a failure with
/// `SOVA_REQUIRE_INTEROP=1`).
fn python_e2e(input: &Value) -> Option<Value> {
    let required = std::env::var("SOVA_REQUIRE_INTEROP").is_ok_and(|v| v == "1");
    let py = std::env::var("SOVA_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let skip = |why: String| {
        assert!(!required, "SOVA_REQUIRE_INTEROP=1 but {why}");
        eprintln!("SKIPPED: {why} (pip install -r crates/sova-auth/tests/independent/requirements-siwx.txt)");
        None
    };
    let mut child = match Command::new(&py)
        .arg(PY_SCRIPT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return skip(format!("cannot run {py}: {e}")),
    };
    child.stdin.take().unwrap().write_all(input.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.code() == Some(3) {
        return skip(String::from_utf8_lossy(&out.stderr).trim().to_owned());
    }
    assert!(out.status.success(), "{py} {PY_SCRIPT} failed: {}", String::from_utf8_lossy(&out.stderr));
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

async fn independent_client(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = tenant(&app, "acme").await;
    for (i, (alg, keyid, material)) in [
        ("ed25519", "py-ed25519", PY_ED25519_PUB),
        ("ecdsa-p256-sha256", "py-p256", PY_P256_PUB),
        ("hmac-sha256", "py-hmac", PY_SHARED_SECRET),
    ]
    .into_iter()
    .enumerate()
    {
        register(&app, &t.id, keyid, alg, material).await;
        let wallet_key = format!("0x{}", hex::encode([u8::try_from(20 + i).unwrap(); 32]));
        let input = json!({"base": app.url(), "secret": t.secret, "alg": alg, "keyid": keyid,
            "wallet_key": wallet_key, "external_id": format!("py-{alg}")});
        let Some(out) = python_e2e(&input) else {
            app.stop().await;
            return;
        };
        let steps: HashMap<String, Value> = out["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["name"].as_str().unwrap().to_string(), s.clone()))
            .collect();
        let status = |n: &str| {
            steps.get(n).map(|s| s["status"].as_u64().unwrap()).unwrap_or_else(|| panic!("{alg}: no step {n}: {out}"))
        };
        assert_eq!(status("create"), 201, "{alg}: {out}");
        assert_eq!(status("create-replay"), 201, "{alg}: {out}");
        assert_eq!(steps["create-replay"]["headers"]["idempotent-replayed"], "true", "{alg}: {out}");
        assert_eq!(status("challenge"), 200, "{alg}: {out}");
        assert_eq!(status("sign"), 204, "{alg}: {out}");
        assert_eq!(status("read"), 200, "{alg}: {out}");
        let read = &steps["read"]["body"]["data"];
        assert_eq!(read["status"], "VERIFIED", "{alg}: {out}");
        assert_eq!(read["verifiedAccount"], format!("eip155:1:{}", out["address"].as_str().unwrap()));
        assert!(read["userId"].is_string());
    }
    app.stop().await;
}
on_both!(independent_client);

#[tokio::test]
async fn openapi_documents_the_siwx_surface() {
    let doc = serde_json::to_value(sova_server::openapi()).unwrap();
    for p in [
        "/siwx/v1/customers",
        "/siwx/v1/customers/{customerId}",
        "/siwx/v1/customers/{customerId}/challenge",
        "/siwx/v1/customers/{customerId}/challenge/sign",
        "/sovx/v1/customers/{customer_id}/signing-keys",
        "/sovx/v1/customers/{customer_id}/signing-keys/{keyid}",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p} missing from OpenAPI");
    }
    let _ = HeaderName::from_static("signature");
}

/// Two replicas on one PostgreSQL database behind one public origin: idempotency keys, signature nonces and key
/// revocations hold across them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_idempotency_nonces_and_revocations() {
    if pg_url().is_none() {
        eprintln!("SOVA_TEST_DATABASE_URL not set: skipped");
        return;
    }
    const ORIGIN: &str = "https://api.example.com";
    let a = spawn_app_with(Backend::Postgres, |c| c.public_origin = Some(ORIGIN.into())).await;
    let dir = tempfile::tempdir().unwrap();
    copy_replica_keys(a.dir.path(), dir.path());
    let b = spawn_on(dir, a.database_url.clone(), |c| c.public_origin = Some(ORIGIN.into())).await;
    let t = tenant(&a, "acme").await;
    let on_a = t.client.clone().with_public_origin(ORIGIN).unwrap();
    let on_b = SiwxClient::new(&b.url(), &t.secret, KEYID, ed25519(7)).with_public_origin(ORIGIN).unwrap();

    // The same idempotency key on the other replica replays the answer.
    let (_, account) = wallet(30);
    let body = serde_json::to_vec(&json!({"chainId": account, "externalId": "r"})).unwrap();
    let key = uuid::Uuid::new_v4().to_string();
    let first = on_a.send(Method::POST, "/siwx/v1/customers", Some(body.clone()), Some(&key)).await.unwrap();
    let again = on_b.send(Method::POST, "/siwx/v1/customers", Some(body), Some(&key)).await.unwrap();
    assert_eq!((first.status, again.status), (201, 201));
    assert_eq!(again.headers.get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    assert_eq!(again.json["data"], first.json["data"]);

    // A nonce used on A is refused on B.
    let target = format!("/siwx/v1/customers/{}", first.json["data"]["id"].as_str().unwrap());
    let h = on_a.signed_headers("GET", &target, None, None).unwrap();
    let r = send_raw(&a, Method::GET, &target, h.clone(), None).await;
    assert_eq!(r.0, 200, "{}", r.1);
    let r = send_raw(&b, Method::GET, &target, h, None).await;
    assert_eq!((r.0, r.1["errors"][0]["code"].as_str()), (401, Some("HTTPSIG_REPLAYED_NONCE")));

    // B caches a pending customer; verifying it through A shows on B within moments.
    let (sk, acc) = wallet(31);
    let c = on_a.create_customer(&acc, "r2").await.unwrap();
    assert_eq!(on_b.get_customer(&c.id).await.unwrap().status, "PENDING");
    assert!(b.running.ctx.siwx.customers.get(&c.id).is_some(), "B caches the customer");
    let ch = c.challenge.unwrap();
    on_a.sign_challenge(&c.id, &acc, &ch, &sign_challenge_evm(&ch, &sk).unwrap()).await.unwrap();
    let mut seen = false;
    for _ in 0..50 {
        if on_b.get_customer(&c.id).await.unwrap().status == "VERIFIED" {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(seen, "replica B still shows the customer pending after 5 s");

    // B has the key cached; revoking it through A stops B within moments.
    on_b.get_customer(first.json["data"]["id"].as_str().unwrap()).await.unwrap();
    assert!(b.running.ctx.siwx.httpsig.get(&format!("acme/{KEYID}")).is_some(), "B caches the key");
    a.operator().await.revoke_signing_key("acme", KEYID).await.unwrap();
    let mut refused = false;
    for _ in 0..50 {
        match on_b.get_customer(first.json["data"]["id"].as_str().unwrap()).await {
            Err(e) if e.code() == Some(ErrorCode::HttpsigUnknownKeyid) => {
                refused = true;
                break;
            }
            _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    assert!(refused, "replica B still accepts a revoked signing key after 5 s");
    b.stop_server().await;
    a.stop().await;
}
