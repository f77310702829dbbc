//! x402 v2 pay-per-call on the Intel API, end to end: transactions built with the Solana crates (independently of
//! the verifier) pay for calls; replays, concurrent double use and each seed-document mistake are refused.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_message::{VersionedMessage, legacy, v0};
use solana_signer::Signer;
use sova_chain::solana::{Hash, MEMO_PROGRAM_ID, Pubkey, Signature, TOKEN_PROGRAM_ID, VersionedTransaction};
use spl_associated_token_account_interface::address::get_associated_token_address_with_program_id as ata;

use sova_testkit_app::on_both;
use sova_testkit_app::prelude::*;

const HUD: &str = "/wallet/bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu/hud";

/// What a 402 offers.
struct Offer {
    json: serde_json::Value,
    pay_to: Pubkey,
    mint: Pubkey,
    fee_payer: Pubkey,
    amount: u64,
    blockhash: Hash,
}

async fn offer(app: &TestApp) -> Offer {
    let r = app.client.intel_raw(Method::GET, HUD, None).await.unwrap();
    assert_eq!(r.status, 402);
    let decoded: serde_json::Value =
        serde_json::from_slice(&STANDARD.decode(r.headers["payment-required"].to_str().unwrap()).unwrap()).unwrap();
    let o = decoded["accepts"][0].clone();
    let key = |v: &serde_json::Value| v.as_str().unwrap().parse::<Pubkey>().unwrap();
    Offer {
        pay_to: key(&o["payTo"]),
        mint: key(&o["asset"]),
        fee_payer: key(&o["extra"]["feePayer"]),
        amount: o["amount"].as_str().unwrap().parse().unwrap(),
        blockhash: o["extra"]["recentBlockhash"].as_str().unwrap().parse().unwrap(),
        json: o,
    }
}

fn transfer(o: &Offer, payer: &Keypair, destination: &Pubkey, amount: u64) -> Instruction {
    spl_token_interface::instruction::transfer_checked(
        &TOKEN_PROGRAM_ID,
        &ata(&payer.pubkey(), &o.mint, &TOKEN_PROGRAM_ID),
        &o.mint,
        destination,
        &payer.pubkey(),
        &[],
        amount,
        6,
    )
    .unwrap()
}

fn memo(text: &str) -> Instruction {
    Instruction { program_id: MEMO_PROGRAM_ID, accounts: vec![], data: text.as_bytes().to_vec() }
}

/// The official client's transaction: v0, the server's fee payer in slot 0 left unsigned, limit, price, transfer,
/// memo; the payer signs its own slot.
fn sponsored(o: &Offer, payer: &Keypair, destination: &Pubkey, amount: u64, memo_text: &str) -> Vec<u8> {
    let ixs = [
        ComputeBudgetInstruction::set_compute_unit_limit(20_000),
        ComputeBudgetInstruction::set_compute_unit_price(1),
        transfer(o, payer, destination, amount),
        memo(memo_text),
    ];
    let message = VersionedMessage::V0(v0::Message::try_compile(&o.fee_payer, &ixs, &[], o.blockhash).unwrap());
    let bytes = message.serialize();
    let n = message.header().num_required_signatures as usize;
    let keys = message.static_account_keys().to_vec();
    let mut signatures = vec![Signature::default(); n];
    let slot = keys.iter().position(|k| *k == payer.pubkey()).unwrap();
    signatures[slot] = payer.sign_message(&bytes);
    wincode::serialize(&VersionedTransaction { signatures, message }).unwrap()
}

fn header(o: &Offer, tx: &[u8]) -> String {
    let payload = serde_json::json!({
        "x402Version": 2,
        "resource": {"url": format!("http://localhost/api/v1/intel{HUD}")},
        "accepted": o.json,
        "payload": {"transaction": STANDARD.encode(tx)},
    });
    STANDARD.encode(payload.to_string())
}

async fn pay(app: &TestApp, path: &str, name: &str, value: &str) -> sova_client::RawResponse {
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/intel{path}", app.url()))
        .header(name, value)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    sova_client::RawResponse { status, headers, json, text }
}

fn settle_response(r: &sova_client::RawResponse) -> serde_json::Value {
    serde_json::from_slice(&STANDARD.decode(r.headers["payment-response"].to_str().unwrap()).unwrap()).unwrap()
}

async fn pay_per_call(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = offer(&app).await;
    assert_eq!(o.amount, 15_000);
    let payer = Keypair::new();
    let treasury_ata = ata(&o.pay_to, &o.mint, &TOKEN_PROGRAM_ID);

    // The official flow: accepted, served, settled (sandbox: booked, nothing on chain).
    let tx = sponsored(&o, &payer, &treasury_ata, o.amount, "0123456789abcdef0123456789abcdef");
    let h = header(&o, &tx);
    let r = pay(&app, HUD, "PAYMENT-SIGNATURE", &h).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["data"]["chain"], "bitcoin");
    let s = settle_response(&r);
    assert_eq!(s["success"], true);
    assert_eq!(s["payer"], payer.pubkey().to_string());
    assert_eq!(s["amount"], "15000");
    let sig = r.headers["x-payment-response"].to_str().unwrap();
    assert_eq!(s["transaction"], sig);
    assert_eq!(bs58::decode(sig).into_vec().unwrap().len(), 64);
    assert!(r.headers["x-sova-settlement"].to_str().unwrap().contains("not submitted"));
    assert_eq!(app.running.ctx.store.balance("x402-treasury:solana-devnet:USDC").await.unwrap(), "0.015");

    // The same payment again: a replay.
    let r = pay(&app, HUD, "PAYMENT-SIGNATURE", &h).await;
    assert_eq!(r.status, 402);
    assert_eq!(r.json["error"], "transaction already used (replay attack)");

    // The v1 header name works too.
    let tx = sponsored(&o, &payer, &treasury_ata, o.amount, "v1 header name");
    assert_eq!(pay(&app, HUD, "X-PAYMENT", &header(&o, &tx)).await.status, 200);

    // The seed document's mistake: paying the raw payTo instead of its token account.
    let tx = sponsored(&o, &payer, &o.pay_to, o.amount, "raw payTo");
    let r = pay(&app, HUD, "PAYMENT-SIGNATURE", &header(&o, &tx)).await;
    assert_eq!(r.status, 402);
    assert_eq!(r.json["error"], "transfer destination does not match treasury ATA");
    // Too little.
    let tx = sponsored(&o, &payer, &treasury_ata, 10_000, "too little");
    let r = pay(&app, HUD, "PAYMENT-SIGNATURE", &header(&o, &tx)).await;
    assert_eq!(r.status, 402);
    assert!(r.json["error"].as_str().unwrap().contains("10000 < required 15000"), "{}", r.json);
    // Not base64 JSON: 400.
    assert_eq!(pay(&app, HUD, "PAYMENT-SIGNATURE", "not a payment").await.status, 400);

    // A call that fails is not paid for: the payment stays usable.
    let tx = sponsored(&o, &payer, &treasury_ata, o.amount, "failed call");
    let h = header(&o, &tx);
    assert_eq!(pay(&app, "/wallet/not-an-address/hud", "PAYMENT-SIGNATURE", &h).await.status, 400);
    assert_eq!(pay(&app, HUD, "PAYMENT-SIGNATURE", &h).await.status, 200);
    assert_eq!(app.running.ctx.store.balance("x402-treasury:solana-devnet:USDC").await.unwrap(), "0.045");

    // The seed-document variant: legacy, the client pays its own fee, fully signed, just the transfer.
    let message = legacy::Message::new(&[transfer(&o, &payer, &treasury_ata, o.amount)], Some(&payer.pubkey()));
    let tx = solana_transaction::Transaction::new(&[&payer], message, o.blockhash);
    let bytes = wincode::serialize(&VersionedTransaction::from(tx)).unwrap();
    let seed = serde_json::json!({
        "x402Version": 2,
        "scheme": "exact",
        "network": "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1",
        "payload": {"transaction": STANDARD.encode(bytes)},
    });
    let r = pay(&app, HUD, "PAYMENT-SIGNATURE", &STANDARD.encode(seed.to_string())).await;
    assert_eq!(r.status, 200, "{}", r.json);
    app.stop().await;
}
on_both!(pay_per_call);

/// Two requests racing with one payment: exactly one is served.
async fn concurrent_double_use(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = offer(&app).await;
    let payer = Keypair::new();
    let tx = sponsored(&o, &payer, &ata(&o.pay_to, &o.mint, &TOKEN_PROGRAM_ID), o.amount, "race");
    let h = header(&o, &tx);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (url, h) = (app.url(), h.clone());
            tokio::spawn(async move {
                reqwest::Client::new()
                    .get(format!("{url}/api/v1/intel{HUD}"))
                    .header("PAYMENT-SIGNATURE", h)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let statuses: Vec<u16> = futures::future::join_all(tasks).await.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 402));
    assert_eq!(app.running.ctx.store.balance("x402-treasury:solana-devnet:USDC").await.unwrap(), "0.015");
    app.stop().await;
}
on_both!(concurrent_double_use);

/// The SDK pays by itself: 402, build and sign the payment with the built-in Solana payer, retry.
async fn sdk_pays_automatically(backend: Backend) {
    let app = spawn_app(backend).await;
    let wallet = sova_chain::solana::SigningKey::from_bytes(&sova_auth::keys::random_bytes::<32>());
    let client = app.client.with_x402(sova_client::solana_payer(wallet.clone()));
    let hud = client.intel_hud("HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk").await.unwrap();
    assert_eq!(hud.chain, "solana");
    let r = client.intel_raw(Method::GET, HUD, None).await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(settle_response(&r)["payer"], sova_chain::solana::pubkey_of(&wallet).to_string());
    assert_eq!(app.running.ctx.store.balance("x402-treasury:solana-devnet:USDC").await.unwrap(), "0.03");
    app.stop().await;
}
on_both!(sdk_pays_automatically);

/// A local Solana JSON-RPC node for the `rpc` settlement backend: it checks that what it is sent is fully signed.
async fn mock_rpc() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use axum::{Json, Router, routing::post};
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = sent.clone();
    let app = Router::new().route(
        "/",
        post(move |Json(req): Json<serde_json::Value>| {
            let seen = seen.clone();
            async move {
                let result = match req["method"].as_str().unwrap_or("") {
                    "getLatestBlockhash" => serde_json::json!({"context": {"slot": 1}, "value": {
                        "blockhash": bs58::encode([9u8; 32]).into_string(), "lastValidBlockHeight": 100}}),
                    "simulateTransaction" => {
                        serde_json::json!({"context": {"slot": 1}, "value": {"err": null, "logs": []}})
                    }
                    "sendTransaction" => {
                        let bytes = STANDARD.decode(req["params"][0].as_str().unwrap()).unwrap();
                        let tx = sova_chain::solana::WireTransaction::decode(&bytes).unwrap();
                        tx.verify_signatures(false).expect("the node only gets fully signed transactions");
                        let sig = tx.signature_base58(0).unwrap();
                        seen.lock().unwrap().push(sig.clone());
                        serde_json::json!(sig)
                    }
                    "getSignatureStatuses" => serde_json::json!({"context": {"slot": 1}, "value": [
                        {"slot": 1, "confirmations": null, "err": null, "confirmationStatus": "confirmed"}]}),
                    other => panic!("unexpected RPC method {other}"),
                };
                Json(serde_json::json!({"jsonrpc": "2.0", "id": req["id"], "result": result}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, sent)
}

/// `rpc` settlement: the server co-signs, simulates, sends and confirms over JSON-RPC.
async fn rpc_settlement(backend: Backend) {
    let (rpc_url, sent) = mock_rpc().await;
    let dir = tempfile::tempdir().unwrap();
    let fee_payer = sova_chain::solana::SigningKey::from_bytes(&[5u8; 32]);
    let keypair = dir.path().join("fee-payer.json");
    write_secret(&keypair, &serde_json::to_string(&fee_payer.to_keypair_bytes().to_vec()).unwrap());
    let treasury = sova_chain::solana::pubkey_of(&sova_chain::solana::SigningKey::from_bytes(&[6u8; 32])).to_string();
    let app = spawn_app_with(backend, |c| {
        c.x402_settlement = sova_server::config::Settlement::Rpc;
        c.solana_rpc_url = Some(rpc_url);
        c.x402_fee_payer_keypair = Some(keypair);
        c.x402_pay_to = Some(treasury.clone());
    })
    .await;
    // The offer carries the node's blockhash once the refresher has run.
    let mut offered = false;
    for _ in 0..50 {
        let o = offer(&app).await;
        if o.blockhash.to_string() == bs58::encode([9u8; 32]).into_string() {
            assert_eq!(o.pay_to.to_string(), treasury);
            offered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(offered, "the RPC node's blockhash is offered");
    let payer = sova_chain::solana::SigningKey::from_bytes(&[8u8; 32]);
    let client = app.client.with_x402(sova_client::solana_payer(payer));
    let r = client.intel_raw(Method::GET, HUD, None).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.json);
    let s = settle_response(&r);
    assert_eq!(s["success"], true);
    let sent = sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(s["transaction"], sent[0]);
    assert_eq!(r.headers["x-payment-response"].to_str().unwrap(), sent[0]);
    assert!(r.headers.get("x-sova-settlement").is_none(), "rpc settlement is real");
    app.stop().await;
}
on_both!(rpc_settlement);

/// The official clients pay Sova over HTTP: npm `@x402/fetch` + `@x402/svm` 2.27 and PyPI `x402` 2.25
/// (`tests/interop/`). Skipped with a message when their runtime or packages are missing, unless
/// `SOVA_REQUIRE_INTEROP=1` (as in CI, which installs them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_clients_pay_sova() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop");
    let require = std::env::var("SOVA_REQUIRE_INTEROP").is_ok_and(|v| v == "1");
    let app = spawn_app(Backend::Sqlite).await;
    let runs: [(&str, Vec<&str>, bool); 2] = [
        ("node", vec!["pay.mjs"], std::path::Path::new(dir).join("node_modules/@x402/fetch").exists()),
        (
            "python3",
            vec!["pay.py"],
            std::process::Command::new("python3")
                .args(["-c", "import x402.http.clients.httpx"])
                .output()
                .is_ok_and(|o| o.status.success()),
        ),
    ];
    for (program, args, available) in runs {
        if !available {
            assert!(
                !require,
                "{program} client packages missing (npm ci / pip install -r tests/interop/requirements.txt)"
            );
            eprintln!("SKIPPED: {program} official x402 client not installed");
            continue;
        }
        let url = app.url();
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new(program)
                .args(&args)
                .arg(url)
                .arg("bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu")
                .current_dir(dir)
                .output()
        })
        .await
        .unwrap()
        .unwrap();
        assert!(out.status.success(), "{program}: {}", String::from_utf8_lossy(&out.stderr));
        let line = String::from_utf8(out.stdout).unwrap();
        let v: serde_json::Value = serde_json::from_str(line.lines().last().unwrap()).unwrap();
        assert_eq!(v["status"], 200, "{program}: {v}");
        assert_eq!(v["paymentResponse"]["success"], true, "{program}: {v}");
        assert_eq!(v["paymentResponse"]["payer"], v["payer"], "{program}: {v}");
    }
    app.stop().await;
}
