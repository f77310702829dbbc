//! The operator console (`/console`): every page redirects to sign-in without a session; sign-in with the
//! operators' email and password sets an `HttpOnly`, `SameSite=Strict` session cookie; forms without the session's
//! CSRF token are refused (403) and write nothing; changes land in the audit log; a signed-out session's cookie
//! cannot be replayed. And the same flow in a real browser (headless Debian Chromium through Selenium), with
//! screenshots.

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use sova_testkit_app::on_both;
use sova_testkit_app::prelude::*;

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The value of the hidden `csrf` input of a page.
fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf input") + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_string()
}

/// The `name=value` of a `Set-Cookie` for `name`, and the whole header.
fn set_cookie(r: &reqwest::Response, name: &str) -> (String, String) {
    let h = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie"));
    (h.split(';').next().unwrap().to_string(), h)
}

/// Sign in through the form; the session cookie (`sova_console=...`).
async fn sign_in(c: &reqwest::Client, base: &str, email: &str, password: &str) -> Result<String, StatusCode> {
    let form = c.get(format!("{base}/console/sign-in")).send().await.unwrap();
    let (pre, _) = set_cookie(&form, "sova_console_pre");
    let csrf = csrf_of(&form.text().await.unwrap());
    let r = c
        .post(format!("{base}/console/sign-in"))
        .header(COOKIE, pre)
        .form(&[("csrf", csrf.as_str()), ("email", email), ("password", password)])
        .send()
        .await
        .unwrap();
    if r.status() != StatusCode::SEE_OTHER {
        return Err(r.status());
    }
    assert_eq!(r.headers()[LOCATION], "/console");
    let (session, header) = set_cookie(&r, "sova_console");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(header.contains(attr), "{attr} in {header}");
    }
    assert!(!header.contains("Secure"), "plain http here: {header}");
    Ok(session)
}

async fn page(c: &reqwest::Client, url: String, cookie: &str) -> (StatusCode, String) {
    let r = c.get(url).header(COOKIE, cookie).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// A second operator (the four-eyes rule needs two).
const SECOND_EMAIL: &str = "second@example.com";
const SECOND_PASSWORD: &str = "another long passphrase";

async fn second_operator(app: &TestApp) {
    let op = sova_store::Operator {
        id: uuid::Uuid::new_v4().to_string(),
        email: SECOND_EMAIL.into(),
        password_hash: sova_auth::password::hash_password(SECOND_PASSWORD).unwrap(),
        created_at: 0,
    };
    app.running.ctx.store.create_operator(&op).await.unwrap();
}

/// A customer whose policy asks two approvals for everything, and a confirmed withdrawal of 0.5 BTC waiting for
/// them; (owner client, withdrawal id).
async fn awaiting_two_approvals(app: &TestApp, slug: &str) -> (sova_client::Client, String) {
    use reqwest::Method;
    use serde_json::json;
    let (owner, uid, _) = crate::withdrawals::funded(app, slug, "2").await;
    let policy =
        json!({"default_action": "ALLOW", "rules": [{"name": "two", "action": "REQUIRE_APPROVAL", "approvals": 2}]});
    let (s, p) =
        crate::withdrawals::send(&owner, Method::PUT, &format!("/customers/{slug}/withdrawal-policy"), Some(policy))
            .await;
    assert_eq!(s, 200, "{p}");
    let path = format!("/users/{uid}/accounts/crypto/withdrawals");
    let body = json!({"currency": "btc", "amount": "0.5", "address": crate::withdrawals::DEST});
    let (s, w) = crate::withdrawals::send(&owner, Method::POST, &path, Some(body)).await;
    assert_eq!(s, 201, "{w}");
    let id = w["data"]["id"].as_str().unwrap().to_string();
    let code = crate::withdrawals::sandbox_code(&owner, &id).await;
    let (s, c) =
        crate::withdrawals::send(&owner, Method::POST, &format!("{path}/{id}/confirm"), Some(json!({"code": code})))
            .await;
    assert_eq!((s, c["data"]["sub_status"].as_str()), (200, Some("PENDING_APPROVAL")), "{c}");
    (owner, id)
}

on_both!(console_four_eyes);
async fn console_four_eyes(backend: Backend) {
    let app = spawn_app(backend).await;
    second_operator(&app).await;
    let (owner, id) = awaiting_two_approvals(&app, "eyes").await;
    let base = app.url();
    let c = http();
    let first = sign_in(&c, &base, OPERATOR_EMAIL, OPERATOR_PASSWORD).await.unwrap();
    let (s, queue) = page(&c, format!("{base}/console/withdrawals"), &first).await;
    assert_eq!(s, StatusCode::OK);
    assert!(queue.contains(&id) && queue.contains("0 of 2") && queue.contains("<code>two</code>"), "{queue}");
    let csrf = csrf_of(&queue);
    let approve = format!("{base}/console/withdrawals/eyes/{id}/approve");
    let r = c.post(&approve).header(COOKIE, &first).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // The same operator again: refused (four eyes), and it says why.
    let r = c.post(&approve).header(COOKIE, &first).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r.text().await.unwrap().contains("already decided"));
    let (_, queue) = page(&c, format!("{base}/console/withdrawals"), &first).await;
    assert!(queue.contains("1 of 2"), "{queue}");
    // A second operator completes it; the sandbox sends it.
    let second = sign_in(&c, &base, SECOND_EMAIL, SECOND_PASSWORD).await.unwrap();
    let (_, queue) = page(&c, format!("{base}/console/withdrawals"), &second).await;
    let csrf2 = csrf_of(&queue);
    let r = c.post(&approve).header(COOKIE, &second).form(&[("csrf", csrf2.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, w) = crate::withdrawals::send(&owner, reqwest::Method::GET, &format!("/withdrawals/{id}"), None).await;
    assert_eq!(w["data"]["sub_status"], "BROADCASTING", "{w}");
    let (_, queue) = page(&c, format!("{base}/console/withdrawals"), &second).await;
    assert!(!queue.contains(&id), "gone from the queue");
    let (_, audit) = page(&c, format!("{base}/console/audit"), &second).await;
    assert_eq!(audit.matches("withdrawal.approve").count(), 2, "{audit}");
    // The customer's page shows its user, its wallet's balances (the sent 0.5 and its fee gone) and its deposit.
    let (_, detail) = page(&c, format!("{base}/console/customers/eyes"), &second).await;
    assert!(
        detail.contains("Users (1)") && detail.contains("Wallets (1)") && detail.contains("Deposits (1, latest 50)"),
        "{detail}"
    );
    assert!(
        detail.contains("<td class=\"num\">1.4999 <abbr>BTC</abbr></td>"),
        "available, right-aligned with its currency: {detail}"
    );
    // CSRF applies here too.
    let r = c.post(&approve).header(COOKIE, &second).form(&[("csrf", "nope")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    app.stop().await;
}

on_both!(console_sessions_csrf_and_audit);
async fn console_sessions_csrf_and_audit(backend: Backend) {
    let app = spawn_app(backend).await;
    let base = app.url();
    let c = http();

    // Without a session every page and form sends to the sign-in page.
    for path in ["/console", "/console/customers", "/console/search?q=x", "/console/audit"] {
        let r = c.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.headers()[LOCATION], "/console/sign-in", "{path}");
    }
    for path in ["/console/customers", "/console/sign-out"] {
        let r = c.post(format!("{base}{path}")).form(&[("csrf", "x")]).send().await.unwrap();
        assert_eq!((r.status(), &r.headers()[LOCATION]), (StatusCode::SEE_OTHER, &"/console/sign-in".parse().unwrap()));
    }
    let css = c.get(format!("{base}/console/assets/console.css")).send().await.unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");

    // A wrong password, and a sign-in form posted without its double-submitted token.
    assert_eq!(sign_in(&c, &base, OPERATOR_EMAIL, "wrong password").await, Err(StatusCode::UNAUTHORIZED));
    let r = c
        .post(format!("{base}/console/sign-in"))
        .form(&[("email", OPERATOR_EMAIL), ("password", OPERATOR_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let session = sign_in(&c, &base, OPERATOR_EMAIL, OPERATOR_PASSWORD).await.unwrap();
    let (s, html) = page(&c, format!("{base}/console"), &session).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("<h1>Overview</h1>") && html.contains("sandbox") && html.contains(OPERATOR_EMAIL), "{html}");
    let csrf = csrf_of(&html);

    // A form without the session's CSRF token (or with another) is refused and writes nothing.
    for bad in [None, Some("0".repeat(64))] {
        let mut form = vec![("customer_id", "acme"), ("email", "acme@example.com"), ("entity_name", "Acme")];
        if let Some(b) = &bad {
            form.push(("csrf", b));
        }
        let r = c.post(format!("{base}/console/customers")).header(COOKIE, &session).form(&form).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(r.text().await.unwrap().contains("<h1>Refused</h1>"), "the console's own page");
    }
    assert!(app.running.ctx.store.customer("acme").await.unwrap().is_none());

    // With it: created, listed, audited; a bad value answers the form again with the reason.
    let form =
        [("csrf", csrf.as_str()), ("customer_id", "acme"), ("email", "acme@example.com"), ("entity_name", "Acme")];
    let r = c.post(format!("{base}/console/customers")).header(COOKIE, &session).form(&form).send().await.unwrap();
    assert_eq!((r.status(), &r.headers()[LOCATION]), (StatusCode::SEE_OTHER, &"/console/customers".parse().unwrap()));
    let (_, list) = page(&c, format!("{base}/console/customers"), &session).await;
    assert!(list.contains("<code>acme</code>") && list.contains("Acme"), "{list}");
    let r = c.post(format!("{base}/console/customers")).header(COOKIE, &session).form(&form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("is taken"));
    let (_, audit) = page(&c, format!("{base}/console/audit"), &session).await;
    assert!(audit.contains("customer.create") && audit.contains("session.sign_in"), "{audit}");

    // Markup is escaped: a customer named with HTML shows as text.
    let evil = [
        ("csrf", csrf.as_str()),
        ("customer_id", "evil"),
        ("email", "e@example.com"),
        ("entity_name", "<script>x</script>"),
    ];
    c.post(format!("{base}/console/customers")).header(COOKIE, &session).form(&evil).send().await.unwrap();
    let (_, list) = page(&c, format!("{base}/console/customers"), &session).await;
    assert!(list.contains("&lt;script&gt;x&lt;/script&gt;") && !list.contains("<script>x"), "escaped");

    // A second operator's session is theirs; signing out revokes the cookie: replaying it sends to sign-in.
    let other = sign_in(&c, &base, OPERATOR_EMAIL, OPERATOR_PASSWORD).await.unwrap();
    assert_ne!(other, session);
    let r = c
        .post(format!("{base}/console/sign-out"))
        .header(COOKIE, &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!((r.status(), &r.headers()[LOCATION]), (StatusCode::SEE_OTHER, &"/console/sign-in".parse().unwrap()));
    let r = c.get(format!("{base}/console")).header(COOKIE, &session).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "a signed-out session cannot be replayed");
    let (s, _) = page(&c, format!("{base}/console"), &other).await;
    assert_eq!(s, StatusCode::OK, "the other session lives on");
    app.stop().await;
}

/// The console in headless Chromium (Debian's `chromium` and `chromium-driver`, driven by Selenium from PyPI;
/// `tests/interop/console_browser.py`): sign in, create a customer, find a deposit by its address, sign out, and a
/// CSRF-less form refused. Screenshots go to `$SOVA_SCREENSHOTS` (CI: `target/console-screenshots`). Skipped with a
/// message when Chromium or Selenium is missing, unless `SOVA_REQUIRE_INTEROP=1`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_in_a_real_browser() {
    let require = std::env::var("SOVA_REQUIRE_INTEROP").is_ok_and(|v| v == "1");
    let selenium = std::process::Command::new("python3")
        .args(["-c", "import selenium"])
        .output()
        .is_ok_and(|o| o.status.success());
    let chromium = std::path::Path::new("/usr/bin/chromedriver").exists();
    if !(selenium && chromium) {
        assert!(!require, "Chromium/chromedriver (apt) or selenium (pip) missing");
        eprintln!("SKIPPED: no Chromium or Selenium for the console browser test");
        return;
    }
    let app = spawn_app_with(Backend::Sqlite, |c| c.webhook_allow_private = true).await;
    let (endpoint, event) = delivered_test_event(&app, "hooked").await;
    // A deposit to find by its address.
    let (_, owner) = app.customer("browsed").await;
    let u = owner.create_user(&user_req("browsed@example.com")).await.unwrap();
    let (_, w) = crate::withdrawals::send(
        &owner,
        reqwest::Method::POST,
        &format!("/users/{}/wallets", u.user_id),
        Some(serde_json::json!({"name": "b", "networks": [{"name": "networks/bitcoin-testnet", "currency": "btc"}]})),
    )
    .await;
    let address = w["data"]["addresses"][0]["address"].as_str().unwrap().to_string();
    let dep = serde_json::json!({"address": address, "currency": "BTC", "network": "bitcoin-testnet", "amount": "0.5"});
    crate::withdrawals::send(&owner, reqwest::Method::POST, "/sandbox/deposits", Some(dep)).await;

    second_operator(&app).await;
    let (_, withdrawal) = awaiting_two_approvals(&app, "browsed-eyes").await;
    let shots = std::env::var("SOVA_SCREENSHOTS").unwrap_or_else(|_| {
        std::env::temp_dir().join(format!("sova-console-{}", std::process::id())).display().to_string()
    });
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop");
    let url = app.url();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .args(["console_browser.py", &url, OPERATOR_EMAIL, OPERATOR_PASSWORD, &address, &shots, &withdrawal])
            .args([SECOND_EMAIL, SECOND_PASSWORD, &format!("/console/customers/hooked/webhooks/{endpoint}"), &event])
            .current_dir(dir)
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{log}");
    assert!(log.contains("console browser walk: ok"), "{log}");
    app.stop().await;
}

/// The secret between `data-secret="customer_secret">` and the next `<`.
fn shown_secret(html: &str) -> Option<String> {
    let tag = "data-secret=\"customer_secret\">";
    let at = html.find(tag)? + tag.len();
    Some(html[at..].split('<').next()?.to_string())
}

on_both!(console_credentials);
async fn console_credentials(backend: Backend) {
    let app = spawn_app(backend).await;
    let base = app.url();
    let c = http();
    let (_, _owner) = app.customer("keys").await;
    let session = sign_in(&c, &base, OPERATOR_EMAIL, OPERATOR_PASSWORD).await.unwrap();
    let (s, detail) = page(&c, format!("{base}/console/customers/keys"), &session).await;
    assert_eq!(s, StatusCode::OK);
    let csrf = csrf_of(&detail);
    let (s, _) = page(&c, format!("{base}/console/customers/nobody"), &session).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Minted with the HMAC scheme: both secrets shown on this answer only (no-store), and they work.
    let r = c
        .post(format!("{base}/console/customers/keys/credentials"))
        .header(COOKIE, &session)
        .form(&[("csrf", csrf.as_str()), ("name", "console"), ("passphrase", "a passphrase here")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().await.unwrap();
    let secret = shown_secret(&html).expect("the owner key is shown");
    assert!(html.contains("data-secret=\"secret_key\""), "the HMAC secret key too");
    let api = app.client.with_api_key(&secret);
    assert!(api.create_user(&user_req("k@example.com")).await.is_ok(), "the minted key works");
    let (_, later) = page(&c, format!("{base}/console/customers/keys"), &session).await;
    assert!(!later.contains(&secret) && shown_secret(&later).is_none(), "never shown again");
    assert!(later.contains("Cs-* HMAC"));

    // A bad passphrase is refused with the reason; CSRF applies.
    let r = c
        .post(format!("{base}/console/customers/keys/credentials"))
        .header(COOKIE, &session)
        .form(&[("csrf", csrf.as_str()), ("passphrase", "short")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("8 to 128"));
    let r = c
        .post(format!("{base}/console/customers/keys/credentials"))
        .header(COOKIE, &session)
        .form(&[("name", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Revoked: the key stops at once.
    let id =
        later.split("/credentials/").filter_map(|p| p.split('/').next()).find(|p| p.len() == 36).map(str::to_string);
    let mut revoked = 0;
    for cred in later.split("action=\"/console/customers/keys/credentials/").skip(1) {
        let cid = cred.split('/').next().unwrap();
        let r = c
            .post(format!("{base}/console/customers/keys/credentials/{cid}/revoke"))
            .header(COOKIE, &session)
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        revoked += 1;
    }
    assert!(revoked >= 2 && id.is_some(), "the test key and the console's");
    assert!(api.create_user(&user_req("k2@example.com")).await.is_err(), "revoked keys stop");

    // Suspend and activate; audited.
    for status in ["SUSPENDED", "ACTIVE"] {
        let r = c
            .post(format!("{base}/console/customers/keys/status"))
            .header(COOKIE, &session)
            .form(&[("csrf", csrf.as_str()), ("status", status)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(app.running.ctx.store.customer("keys").await.unwrap().unwrap().status, status);
    }
    let (_, audit) = page(&c, format!("{base}/console/audit"), &session).await;
    for action in ["credential.mint", "credential.revoke", "customer.status"] {
        assert!(audit.contains(action), "{action}");
    }
    app.stop().await;
}

/// A webhook receiver that answers 200 to everything; its URL.
async fn sink() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(|| async { "ok" });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

/// A customer `slug` with an endpoint at a live receiver and one delivered `webhook.test`; (endpoint id, event id).
async fn delivered_test_event(app: &TestApp, slug: &str) -> (String, String) {
    use reqwest::Method;
    let (_, owner) = app.customer(slug).await;
    let ep = serde_json::json!({"url": format!("{}/hook", sink().await)});
    let (s, e) =
        crate::withdrawals::send(&owner, Method::POST, &format!("/customers/{slug}/webhook-endpoints"), Some(ep)).await;
    assert_eq!(s, 201, "{e}");
    let endpoint = e["data"]["endpoint_id"].as_str().unwrap().to_string();
    let path = format!("/customers/{slug}/webhook-endpoints/{endpoint}");
    let (s, t) = crate::withdrawals::send(&owner, Method::POST, &format!("{path}/test"), None).await;
    assert_eq!(s, 201, "{t}");
    let event = t["data"]["event_id"].as_str().unwrap().to_string();
    for _ in 0..200 {
        let d = app.running.ctx.store.list_deliveries(slug, &endpoint, 10).await.unwrap();
        if d.iter().any(|d| d.status == "SUCCEEDED" || d.status == "DELIVERED") {
            return (endpoint, event);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the test event was not delivered");
}

on_both!(console_webhooks);
async fn console_webhooks(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.webhook_allow_private = true).await;
    let (endpoint, event) = delivered_test_event(&app, "hooks").await;
    let base = app.url();
    let c = http();
    let session = sign_in(&c, &base, OPERATOR_EMAIL, OPERATOR_PASSWORD).await.unwrap();
    let (_, customer) = page(&c, format!("{base}/console/customers/hooks"), &session).await;
    assert!(customer.contains(&endpoint), "the endpoint is listed");
    let url = format!("{base}/console/customers/hooks/webhooks/{endpoint}");
    let (s, html) = page(&c, url.clone(), &session).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains(&event) && html.contains("Deliveries (1)"), "{html}");
    let csrf = csrf_of(&html);

    let r = c
        .post(format!("{url}/redeliver"))
        .header(COOKIE, &session)
        .form(&[("csrf", csrf.as_str()), ("event_id", event.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("Queued 1 new delivery"));
    assert_eq!(app.running.ctx.store.list_deliveries("hooks", &endpoint, 10).await.unwrap().len(), 2);
    let r = c
        .post(format!("{url}/redeliver"))
        .header(COOKIE, &session)
        .form(&[("csrf", csrf.as_str()), ("event_id", "msg_nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let since = sova_http::time::iso(app.running.ctx.clock.now_ms() - 3_600_000);
    let r = c
        .post(format!("{url}/replay"))
        .header(COOKIE, &session)
        .form(&[("csrf", csrf.as_str()), ("since", since.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("Queued 1 event(s) again"));
    let r = c
        .post(format!("{url}/replay"))
        .header(COOKIE, &session)
        .form(&[("csrf", csrf.as_str()), ("since", "yesterday")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = c
        .post(format!("{url}/redeliver"))
        .header(COOKIE, &session)
        .form(&[("event_id", event.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (_, audit) = page(&c, format!("{base}/console/audit"), &session).await;
    assert!(audit.contains("webhook.redeliver") && audit.contains("webhook.replay"));
    app.stop().await;
}
