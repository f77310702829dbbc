//! The binary as a user runs it: `sova operator create`, `sova serve` with no configuration but a data dir, the
//! banner, SIGTERM, and logs that never contain a secret.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

const SOVA: &str = env!("CARGO_BIN_EXE_sova");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_banner_login_and_no_secrets_in_logs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = Command::new(SOVA)
        .args(["operator", "create", "--email", "Ops@Example.com", "--data-dir"])
        .arg(&data)
        .env("SOVA_OPERATOR_PASSWORD", "a-long-operator-password")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(created["email"], "ops@example.com");
    // A second time: a clear error, non-zero exit.
    let again = Command::new(SOVA)
        .args([
            "operator",
            "create",
            "--email",
            "ops@example.com",
            "--password",
            "a-long-operator-password",
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let port = free_port();
    let mut child = Command::new(SOVA)
        .args(["serve", "--data-dir"])
        .arg(&data)
        .env("SOVA_LISTEN", format!("127.0.0.1:{port}"))
        .env("SOVA_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.contains(&format!("listening on http://127.0.0.1:{port}")), "{first}");
    assert!(first.contains("sandbox mode"));

    let base = format!("http://127.0.0.1:{port}/sovx/v1");
    let http = reqwest::Client::new();
    let login: serde_json::Value = http
        .post(format!("{base}/auth/login"))
        .json(&serde_json::json!({"email": "ops@example.com", "password": "a-long-operator-password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_string();
    http.post(format!("{base}/customers"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"email": "c@example.com", "customer_id": "cli-co", "entity_name": "CLI"}))
        .send()
        .await
        .unwrap();
    let cred: serde_json::Value = http
        .post(format!("{base}/customers/cli-co/credentials"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = cred["data"]["customer_secret"].as_str().unwrap().to_string();
    let r = http.get(format!("{base}/users")).header("x-api-key", &secret).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = http.get(format!("{base}/users")).header("x-api-key", "wrong-key-value-1234").send().await.unwrap();
    assert_eq!(r.status(), 401);

    // SIGTERM: graceful exit with status 0.
    let kill = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let mut waited = 0;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(waited < 100, "sova did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
        waited += 1;
    };
    assert!(status.success(), "{status:?}");
    let mut logs = String::new();
    child.stderr.take().unwrap().read_to_string(&mut logs).unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let all = format!("{first}{rest}{logs}");
    assert!(logs.contains("trace_id"), "request logs carry the trace id: {logs}");
    for s in [secret.as_str(), token.as_str(), "a-long-operator-password", "wrong-key-value-1234"] {
        assert!(!all.contains(s), "a secret reached the output");
    }
    let seed = std::fs::read_to_string(data.join("sandbox-seed.txt")).unwrap();
    let first_word = seed.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    assert!(!all.contains(&first_word), "the seed reached the output");
}

#[test]
fn intel_key_create_show_topup_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| -> serde_json::Value {
        let out = Command::new(SOVA).args(args).arg("--data-dir").arg(dir.path()).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let created = run(&["intel-key", "create", "--credits", "25", "--owner", "acme"]);
    let key = created["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("ak_") && key.len() == 35 && key[3..].bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(created["remaining"], 25);
    let shown = run(&["intel-key", "show", &key]);
    assert_eq!((shown["remaining"].as_i64(), shown["owner"].as_str()), (Some(25), Some("acme")));
    assert!(shown.get("key").is_none(), "the key is printed only at creation");
    // A second key for the same owner adds to the same account.
    let second = run(&["intel-key", "create", "--credits", "5", "--owner", "acme"]);
    assert_eq!(second["remaining"], 30);
    assert_eq!(run(&["intel-key", "topup", &key, "--credits", "10"])["remaining"], 40);
    assert_eq!(run(&["intel-key", "revoke", &key])["status"], "REVOKED");
    let usage = run(&["intel-key", "usage", &key]);
    assert_eq!(usage.as_array().unwrap().len(), 1, "the top-up made with this key");
}

/// `sova intel ADDRESS --keypair FILE`: one call paid with x402 from a Solana keypair against a sandbox server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intel_call_paid_with_x402() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = Command::new(SOVA)
        .args(["serve", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("{url}/sovx/v1/health")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let key = sova_chain::solana::SigningKey::from_bytes(&[7u8; 32]);
    let keypair = dir.path().join("payer.json");
    std::fs::write(&keypair, serde_json::to_string(&key.to_keypair_bytes().to_vec()).unwrap()).unwrap();
    let out = Command::new(SOVA)
        .args(["intel", "HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk", "--url", &url, "--keypair"])
        .arg(&keypair)
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], 200);
    assert_eq!(v["body"]["data"]["chain"], "solana");
    assert_eq!(v["settlement"]["success"], true);
    assert_eq!(v["settlement"]["payer"], sova_chain::solana::pubkey_of(&key).to_string());
}

#[test]
fn serve_refuses_a_bad_public_origin_or_rpc_url() {
    let dir = tempfile::tempdir().unwrap();
    for (flag, value, says) in [
        ("--public-origin", "not a url", "--public-origin must be scheme://host[:port]"),
        ("--public-origin", "https://host/path", "--public-origin must be scheme://host[:port]"),
        (
            "--evm-rpc-url",
            "https://rpc.example",
            "evm_rpc_url: invalid value string \"https://rpc.example\", expected CHAIN_ID=URL",
        ),
        (
            "--x402-settlement",
            "foo",
            "x402_settlement: unknown value 'foo', expected sandbox or rpc (from --x402-settlement)",
        ),
    ] {
        let out = Command::new(SOVA)
            .args(["serve", "--listen", "127.0.0.1:0", flag, value, "--data-dir"])
            .arg(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flag} {value} must be refused");
        assert!(stderr.contains(says), "{flag} {value}: {stderr}");
    }
}

/// `sova openapi` prints the Connect document, `--surface exchange` the exchange's.
#[test]
fn openapi_documents_of_both_surfaces() {
    for (args, title, path) in [
        (&["openapi"][..], "Sova Connect API", "/sovx/v1/users"),
        (&["openapi", "--surface", "exchange"][..], "Sova Exchange API", "/api/v1/spot/markets/symbols"),
    ] {
        let out = Command::new(SOVA).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(doc["info"]["title"].as_str().unwrap().starts_with(title), "{args:?}: {}", doc["info"]["title"]);
        assert!(doc["paths"].get(path).is_some(), "{args:?} lists {path}");
    }
}
