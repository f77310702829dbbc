//! Trace ids, rate-limit headers and 429, Prometheus metrics, the OpenAPI document.

use reqwest::Method;

use sova_testkit_app::on_both;
use sova_testkit_app::prelude::*;

async fn rate_limits(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.rate_limit_per_minute = 5).await;
    let (_, owner) = app.customer("rl-co").await;
    for left in [4, 3, 2, 1, 0] {
        let r = owner.raw(Method::GET, "/users", None).await.unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.headers["x-ratelimit-limit"], "5");
        assert_eq!(r.headers["x-ratelimit-remaining"], left.to_string().as_str());
        assert_eq!(r.headers["ratelimit-policy"], "5;w=60");
        assert!(r.headers["ratelimit"].to_str().unwrap().starts_with("limit=5, remaining="));
        assert!(r.headers.contains_key("x-ratelimit-reset"));
    }
    let r = owner.raw(Method::GET, "/users", None).await.unwrap();
    assert_eq!(r.status, 429);
    assert_eq!(r.json["errors"][0]["code"], "RATE_LIMITED");
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    // Another credential has its own window.
    let (_, other) = app.customer("rl-other").await;
    assert_eq!(other.raw(Method::GET, "/users", None).await.unwrap().status, 200);
    app.stop().await;
}
on_both!(rate_limits);

async fn trace_ids_and_metrics(backend: Backend) {
    let app = spawn_app(backend).await;
    let http = reqwest::Client::new();
    let r =
        http.get(format!("{}/sovx/v1/users", app.url())).header("x-request-id", "my-trace-42").send().await.unwrap();
    assert_eq!(r.headers()["x-request-id"], "my-trace-42");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["meta"]["trace_id"], "my-trace-42");
    // The vendor reference's header works the same way (issue 15).
    let r = http.get(format!("{}/sovx/v1/users", app.url())).header("x-trace-id", "tr-123").send().await.unwrap();
    assert_eq!(
        (r.headers()["x-trace-id"].to_str().unwrap(), r.headers()["x-request-id"].to_str().unwrap()),
        ("tr-123", "tr-123")
    );
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["meta"]["trace_id"], "tr-123");
    // A hostile id is replaced, not echoed.
    let r =
        http.get(format!("{}/sovx/v1/health", app.url())).header("x-request-id", "a b<script>").send().await.unwrap();
    assert_ne!(r.headers()["x-request-id"], "a b<script>");

    let m = http.get(format!("{}/metrics", app.url())).send().await.unwrap().text().await.unwrap();
    assert!(m.contains("sova_http_requests_total"), "{m}");
    assert!(m.contains("route=\"/sovx/v1/users\""), "{m}");
    assert!(m.contains("status=\"401\""), "{m}");
    assert!(m.contains("sova_http_request_duration_seconds"), "{m}");
    app.stop().await;
}
on_both!(trace_ids_and_metrics);

#[tokio::test]
async fn openapi_document_is_served_and_complete() {
    let app = spawn_app(Backend::Sqlite).await;
    let doc: serde_json::Value =
        reqwest::get(format!("{}/sovx/v1/openapi.json", app.url())).await.unwrap().json().await.unwrap();
    assert_eq!(doc, serde_json::to_value(sova_server::openapi()).unwrap());
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/sovx/v1/health", "get"),
        ("/sovx/v1/auth/login", "post"),
        ("/sovx/v1/customers", "post"),
        ("/sovx/v1/customers/{customer_id}/credentials", "post"),
        ("/sovx/v1/users", "post"),
        ("/sovx/v1/users/{user_id}", "patch"),
        ("/sovx/v1/users/{user_id}/wallets", "post"),
        ("/sovx/v1/wallets/{wallet_id}", "get"),
        ("/sovx/v1/wallets/{wallet_id}/address", "post"),
        ("/sovx/v1/sandbox/deposits", "post"),
    ] {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} missing");
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for s in ["CreateUserRequest", "User", "Wallet", "DepositAddress", "ErrorEnvelope", "ErrorCode"] {
        assert!(schemas.contains_key(s), "schema {s} missing");
    }
    // Every operation of both documents declares its error answers in its envelope (issue 14, item 7).
    let exchange = serde_json::to_value(sova_server::exchange_openapi()).unwrap();
    for doc in [&doc, &exchange] {
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                for range in ["4XX", "5XX"] {
                    let schema = &op["responses"][range]["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(schema, "#/components/schemas/ErrorEnvelope", "{method} {path} {range}");
                }
            }
        }
    }
    app.stop().await;
}

/// The data directory is private (0700, tightened if it was open) and so are the files in it (0600): the SQLite
/// database with its `-wal` and `-shm`, the server key, the sandbox seed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let root = tempfile::tempdir().unwrap();
    let fresh = root.path().join("fresh");
    let open = root.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(open.join("sova.db"), b"").unwrap();
    std::fs::set_permissions(open.join("sova.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    for data in [fresh, open] {
        let url = format!("sqlite://{}", data.join("sova.db").display());
        let d = data.clone();
        let app = spawn_on(tempfile::tempdir().unwrap(), url, move |c| c.data_dir = d).await;
        let (_, owner) = app.customer("files-co").await;
        owner.create_user(&user_req("f@example.com")).await.unwrap();
        assert_eq!(mode(&data), 0o700, "{}", data.display());
        for f in ["sova.db", "sova.db-wal", "sova.db-shm", "server.key", "sandbox-seed.txt"] {
            assert_eq!(mode(&data.join(f)), 0o600, "{f} in {}", data.display());
        }
        app.stop().await;
    }
}
