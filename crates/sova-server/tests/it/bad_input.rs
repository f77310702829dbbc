//! Every kind of bad input gets a 4xx in the envelope with a stable code naming the field, and writes nothing.

use reqwest::Method;
use sova_proto::ErrorCode;
use sova_proto::connect as wire;

use sova_testkit_app::on_both;
use sova_testkit_app::prelude::*;

const JSON: &str = "application/json";

struct Case {
    what: &'static str,
    method: Method,
    path: String,
    content_type: &'static str,
    body: String,
    status: u16,
    code: ErrorCode,
    field: Option<&'static str>,
}

fn user_body(patch: serde_json::Value) -> String {
    let mut v = serde_json::json!({
        "user_type": "individual", "email": "x@example.com", "first_name": "A", "last_name": "B",
        "phone": "+1234567890", "date_of_birth": "1990-01-01", "country": "US"
    });
    for (k, val) in patch.as_object().unwrap() {
        if val.is_null() {
            v.as_object_mut().unwrap().remove(k);
        } else {
            v[k] = val.clone();
        }
    }
    v.to_string()
}

async fn counts(app: &TestApp, owner: &sova_client::Client) -> (u64, u64, u64, u64) {
    let ops = app.operator().await;
    let customers = ops.list_customers(&[]).await.unwrap().pagination.total;
    let users = owner.list_users(&[]).await.unwrap().pagination.total;
    let wallets = owner.list_wallets(&[]).await.unwrap().pagination.total;
    let addrs =
        owner.raw(Method::GET, "/addresses", None).await.unwrap().json["meta"]["pagination"]["total"].as_u64().unwrap();
    (customers, users, wallets, addrs)
}

async fn bad_input_is_refused_and_writes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner) = app.customer("bad-input-co").await;
    let ops = app.operator().await;
    let u = owner.create_user(&user_req("base@example.com")).await.unwrap();
    let w = owner
        .create_wallet(
            &u.user_id,
            &wire::CreateWalletRequest { name: "btc".into(), currency: Some("BTC".into()), ..Default::default() },
        )
        .await
        .unwrap();
    let before = counts(&app, &owner).await;
    let wallet_path = format!("/users/{}/wallets", u.user_id);
    let addr_path = format!("/wallets/{}/address", w.wallet_id);
    let c = |what, method: Method, path: &str, body: String, status, code, field| Case {
        what,
        method,
        path: path.to_string(),
        content_type: JSON,
        body,
        status,
        code,
        field,
    };
    use ErrorCode::*;
    let mut cases = vec![
        c("malformed JSON", Method::POST, "/users", "{\"email\":".into(), 400, MalformedJson, None),
        c("not an object", Method::POST, "/users", "[]".into(), 400, ValidationError, None),
        c(
            "positional array",
            Method::POST,
            "/users",
            r#"["individual","p@example.com","P","Q",null,null,null]"#.into(),
            400,
            ValidationError,
            None,
        ),
        c(
            "trailing garbage",
            Method::POST,
            "/users",
            format!("{}xyz", user_body(serde_json::json!({}))),
            400,
            MalformedJson,
            None,
        ),
        c(
            "two objects",
            Method::POST,
            "/users",
            format!("{}{}", user_body(serde_json::json!({})), user_body(serde_json::json!({}))),
            400,
            MalformedJson,
            None,
        ),
        c("empty body", Method::POST, "/users", String::new(), 400, MalformedJson, None),
        c(
            "unknown field",
            Method::POST,
            "/users",
            user_body(serde_json::json!({"nickname": "x"})),
            400,
            UnknownField,
            Some("nickname"),
        ),
        c(
            "missing field",
            Method::POST,
            "/users",
            user_body(serde_json::json!({"email": null})),
            400,
            MissingField,
            Some("email"),
        ),
        c(
            "wrong type",
            Method::POST,
            "/users",
            user_body(serde_json::json!({"first_name": 42})),
            400,
            ValidationError,
            Some("first_name"),
        ),
        c(
            "bad email",
            Method::POST,
            "/users",
            user_body(serde_json::json!({"email": "not-an-email"})),
            400,
            ValidationError,
            Some("email"),
        ),
        c(
            "bad phone",
            Method::POST,
            "/users",
            user_body(serde_json::json!({"phone": "12345"})),
            400,
            ValidationError,
            Some("phone"),
        ),
        c(
            "bad country",
            Method::POST,
            "/users",
            user_body(serde_json::json!({"country": "XX"})),
            400,
            ValidationError,
            Some("country"),
        ),
        c(
            "bad date",
            Method::POST,
            "/users",
            user_body(serde_json::json!({"date_of_birth": "1990-13-01"})),
            400,
            ValidationError,
            Some("date_of_birth"),
        ),
        c(
            "future date",
            Method::POST,
            "/users",
            user_body(serde_json::json!({"date_of_birth": "2999-01-01"})),
            400,
            ValidationError,
            Some("date_of_birth"),
        ),
        c(
            "bad user_type",
            Method::POST,
            "/users",
            user_body(serde_json::json!({"user_type": "robot"})),
            400,
            ValidationError,
            Some("user_type"),
        ),
        c(
            "empty name",
            Method::POST,
            "/users",
            user_body(serde_json::json!({"first_name": "  "})),
            400,
            ValidationError,
            Some("first_name"),
        ),
        c(
            "unknown currency",
            Method::POST,
            &wallet_path,
            r#"{"name":"x","currency":"DOGE"}"#.into(),
            400,
            ValidationError,
            Some("currency"),
        ),
        c(
            "unknown network",
            Method::POST,
            &addr_path,
            r#"{"currency":"btc","network":"litecoin"}"#.into(),
            400,
            ValidationError,
            Some("network"),
        ),
        c(
            "currency not the wallet's",
            Method::POST,
            &addr_path,
            r#"{"currency":"eth","network":"ethereum"}"#.into(),
            400,
            ValidationError,
            Some("currency"),
        ),
        c(
            "network not the currency's",
            Method::POST,
            &addr_path,
            r#"{"currency":"btc","network":"solana"}"#.into(),
            400,
            ValidationError,
            Some("network"),
        ),
        c(
            "bad filter",
            Method::GET,
            "/users?filter[limit]=1000",
            String::new(),
            400,
            ValidationError,
            Some("filter[limit]"),
        ),
        c(
            "filter on unknown field",
            Method::GET,
            "/users?filter[where][password]=x",
            String::new(),
            400,
            ValidationError,
            Some("filter[where][password]"),
        ),
        c("unknown route", Method::GET, "/nope", String::new(), 404, NotFound, None),
        c("wrong method", Method::PUT, "/users", String::new(), 405, MethodNotAllowed, None),
        c("malformed id", Method::GET, "/users/not-a-uuid", String::new(), 404, NotFound, None),
    ];
    cases.push(Case {
        what: "oversize body",
        method: Method::POST,
        path: "/users".into(),
        content_type: JSON,
        body: user_body(serde_json::json!({"first_name": "x".repeat(100 * 1024)})),
        status: 413,
        code: PayloadTooLarge,
        field: None,
    });
    cases.push(Case {
        what: "not JSON content type",
        method: Method::POST,
        path: "/users".into(),
        content_type: "text/plain",
        body: user_body(serde_json::json!({})),
        status: 415,
        code: UnsupportedMediaType,
        field: None,
    });
    for case in &cases {
        let body = (!case.body.is_empty()).then(|| (case.content_type, case.body.clone().into_bytes()));
        let r = owner.raw(case.method.clone(), &case.path, body).await.unwrap();
        assert_eq!(r.status, case.status, "{}: {}", case.what, r.json);
        assert_eq!(r.json["success"], false, "{}", case.what);
        let err = &r.json["errors"][0];
        assert_eq!(err["code"], serde_json::to_value(case.code).unwrap(), "{}: {}", case.what, r.json);
        assert!(!err["message"].as_str().unwrap().is_empty(), "{}", case.what);
        if let Some(f) = case.field {
            assert_eq!(err["field"], f, "{}: {}", case.what, r.json);
        }
        assert!(r.json["meta"]["trace_id"].is_string(), "{}", case.what);
    }

    // No Content-Type on a body: 415 (as documented). A path that does not percent-decode: axum's plain-text
    // rejection, answered in the envelope.
    let http = reqwest::Client::new();
    let key = ops.create_credential("bad-input-co").await.unwrap().customer_secret;
    let r = http
        .post(format!("{}/sovx/v1/users", app.url()))
        .header("x-api-key", &key)
        .body(user_body(serde_json::json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["errors"][0]["code"], "UNSUPPORTED_MEDIA_TYPE");
    let r = http.get(format!("{}/sovx/v1/users/%FF%FE", app.url())).header("x-api-key", &key).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (v["success"].as_bool(), v["errors"][0]["code"].as_str()),
        (Some(false), Some("VALIDATION_ERROR")),
        "{v}"
    );
    assert!(v["meta"]["trace_id"].is_string());

    // Customers: duplicate id, bad slug, bad email; credentials for an unknown customer.
    let dup = ops
        .create_customer(&wire::CreateCustomerRequest {
            email: "dup@example.com".into(),
            customer_id: "bad-input-co".into(),
            entity_name: "Dup".into(),
        })
        .await
        .unwrap_err();
    assert_eq!((dup.status(), dup.code(), dup.field()), (Some(409), Some(Conflict), Some("customer_id")));
    let bad = ops
        .create_customer(&wire::CreateCustomerRequest {
            email: "x@example.com".into(),
            customer_id: "Bad Slug!".into(),
            entity_name: "X".into(),
        })
        .await
        .unwrap_err();
    assert_eq!((bad.status(), bad.field()), (Some(400), Some("customer_id")));
    let nf = ops.create_credential("no-such-customer").await.unwrap_err();
    assert_eq!(nf.status(), Some(404));

    // Sandbox deposit with a bad amount or to an unknown address.
    let a = owner
        .create_address(
            &w.wallet_id,
            &wire::CreateAddressRequest { currency: "btc".into(), network: "bitcoin".into(), rotate: None },
        )
        .await
        .unwrap();
    for (amount, field) in [
        ("-1", "amount"),
        ("0", "amount"),
        ("1e3", "amount"),
        ("0.000000001", "amount"),
        ("abc", "amount"),
        (" 1", "amount"),
        ("1 ", "amount"),
        ("00.1", "amount"),
    ] {
        let e = owner
            .sandbox_deposit(&wire::SandboxDepositRequest {
                address: a.address.clone(),
                currency: "BTC".into(),
                network: "bitcoin".into(),
                amount: amount.into(),
                pending: None,
            })
            .await
            .unwrap_err();
        assert_eq!((e.status(), e.field()), (Some(400), Some(field)), "amount {amount}");
    }
    let after_addr = counts(&app, &owner).await;
    assert_eq!(owner.list_wallet_deposits(&w.wallet_id).await.unwrap().pagination.total, 0);
    assert_eq!(owner.get_wallet(&w.wallet_id).await.unwrap().balance, "0");
    // Nothing was written by any refused request (the one address above is the only change).
    assert_eq!((before.0, before.1, before.2, before.3 + 1), after_addr);
    app.stop().await;
}
on_both!(bad_input_is_refused_and_writes_nothing);

async fn auth_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner) = app.customer("auth-co").await;
    let none = app.client.list_users(&[]).await.unwrap_err();
    assert_eq!((none.status(), none.code()), (Some(401), Some(ErrorCode::Unauthorized)));
    let wrong = app.client.with_api_key("uiFkvaYbt1YfBO2NiXyi1txbdysIxa8H").list_users(&[]).await.unwrap_err();
    assert_eq!((wrong.status(), wrong.code()), (Some(401), Some(ErrorCode::Unauthorized)));
    let bad_login = app.client.login(OPERATOR_EMAIL, "wrong password").await.unwrap_err();
    assert_eq!(bad_login.status(), Some(401));
    let unknown = app.client.login("nobody@example.com", "wrong password").await.unwrap_err();
    assert_eq!(unknown.to_string(), bad_login.to_string(), "unknown email and wrong password look the same");
    // An owner key cannot manage customers, a session cannot call the user API.
    let e = owner.list_customers(&[]).await.unwrap_err();
    assert_eq!(e.status(), Some(401));
    let ops = app.operator().await;
    let e = ops.list_users(&[]).await.unwrap_err();
    assert_eq!(e.status(), Some(401));
    let forged = app.client.with_session("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl");
    assert_eq!(forged.list_customers(&[]).await.unwrap_err().status(), Some(401));
    app.stop().await;
}
on_both!(auth_errors);
