//! The EVM deposit watcher against a real local node (ganache from npm, `tests/chain`): ETH and an ERC-20 deployed
//! here are seen, confirmed at the threshold, dropped by a reorg below it and restored when mined again, reversed
//! (wallet frozen) by a reorg above it; the ledger balances throughout; health in `/chains` and `/metrics`.

use std::time::Duration;

use alloy_primitives::U256;
use reqwest::Method;
use serde_json::{Value, json};
use sova_client::Client;
use sova_testkit_app::chains::Ganache;
use sova_testkit_app::on_both;
use sova_testkit_app::prelude::*;

use crate::withdrawals::send;

const ETHER: u128 = 1_000_000_000_000_000_000;

/// A wallet of a new user of `owner` with an address per (network, currency); (wallet id, addresses in order).
pub(crate) async fn wallet(owner: &Client, email: &str, pairs: &[(&str, &str)]) -> (String, Vec<String>) {
    let (w, a, _) = wallet_of(owner, email, pairs).await;
    (w, a)
}

/// [`wallet`], with the user's id.
pub(crate) async fn wallet_of(owner: &Client, email: &str, pairs: &[(&str, &str)]) -> (String, Vec<String>, String) {
    let u = owner.create_user(&user_req(email)).await.unwrap();
    let networks: Vec<Value> =
        pairs.iter().map(|(n, c)| json!({"name": format!("networks/{n}"), "currency": c})).collect();
    let body = json!({"name": "chain", "networks": networks});
    let (s, w) = send(owner, Method::POST, &format!("/users/{}/wallets", u.user_id), Some(body)).await;
    assert_eq!(s, 201, "{w}");
    let addresses = w["data"]["addresses"].as_array().unwrap();
    let mut out = Vec::new();
    for (n, c) in pairs {
        let a = addresses
            .iter()
            .find(|a| a["network"] == *n && a["currency"].as_str().unwrap().eq_ignore_ascii_case(c))
            .unwrap_or_else(|| panic!("no {c} address on {n}: {w}"));
        out.push(a["address"].as_str().unwrap().to_string());
    }
    (w["data"]["wallet_id"].as_str().unwrap().to_string(), out, u.user_id)
}

/// Wait (up to 60 s) for the wallet's deposit of `tx_hash` to satisfy `ok`; the deposit.
pub(crate) async fn deposit_when(owner: &Client, wallet_id: &str, tx_hash: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..600 {
        let (_, l) = send(owner, Method::GET, &format!("/wallets/{wallet_id}/deposits?filter[limit]=100"), None).await;
        if let Some(d) = l["data"].as_array().and_then(|a| a.iter().find(|d| d["tx_hash"] == tx_hash)) {
            if ok(d) {
                return d.clone();
            }
            last = d.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("deposit of {tx_hash} never got there; last seen: {last}");
}

/// The wallet's balances in `currency`: (balance, pending).
pub(crate) async fn balance_of(owner: &Client, wallet_id: &str, currency: &str) -> (String, String) {
    let (_, w) = send(owner, Method::GET, &format!("/wallets/{wallet_id}"), None).await;
    let b = w["data"]["balances"].as_array().and_then(|a| a.iter().find(|b| b["currency"] == currency).cloned());
    match b {
        Some(b) => {
            (b["balance"].as_str().unwrap().to_string(), b["pending_balance"].as_str().unwrap_or("0").to_string())
        }
        None => ("0".into(), "0".into()),
    }
}

pub(crate) async fn balanced(app: &TestApp) {
    for (cur, sum) in app.running.ctx.store.ledger_totals().await.unwrap() {
        assert_eq!(sum, "0", "{cur} entries do not balance");
    }
}

/// Wait until the watcher of `network` follows the node at `height` or above.
pub(crate) async fn following(ops: &Client, network: &str, height: u64) -> Value {
    for _ in 0..600 {
        let (s, l) = send(ops, Method::GET, "/chains", None).await;
        assert_eq!(s, 200, "{l}");
        if let Some(w) = l["data"].as_array().and_then(|a| a.iter().find(|w| w["network"] == network))
            && w["state"] == "following"
            && w["head_height"].as_u64().is_some_and(|h| h >= height)
        {
            return w.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the {network} watcher did not reach {height}");
}

on_both!(evm_deposits_follow_the_chain);
async fn evm_deposits_follow_the_chain(backend: Backend) {
    let Some(node) = Ganache::start().await else { return };
    let token = node.deploy_token("USDC", U256::from(1_000_000u64) * U256::from(ETHER)).await;
    let url = node.url.clone();
    let token_entry = format!("ethereum:USDC={token}");
    let app = spawn_app_with(backend, move |c| {
        c.chain_rpc = vec![format!("ethereum={url}")];
        c.chain_confirmations = vec!["ethereum=3".into()];
        c.chain_token = vec![token_entry];
        c.chain_poll_ms = 100;
    })
    .await;
    let ops = app.operator().await;
    let w = following(&ops, "ethereum", node.height().await).await;
    assert_eq!(w["threshold"], "depth:3");
    assert!(!w["node"].as_str().unwrap().is_empty());
    let (_, owner) = app.customer("evm").await;
    let (wallet_id, addrs) = wallet(&owner, "evm@example.com", &[("ethereum", "eth"), ("ethereum", "usdc")]).await;
    let (eth_addr, usdc_addr) = (&addrs[0], &addrs[1]);

    // ETH: pending at once, completed at the third confirmation.
    let h1 = node.send_eth(1, eth_addr, 3 * ETHER / 2).await;
    let d = deposit_when(&owner, &wallet_id, &h1, |d| d["status"] == "PENDING").await;
    assert_eq!(d["amount"], "1.5");
    assert_eq!(d["currency"], "ETH");
    assert_eq!(d["confirmations"], 1, "{d}");
    assert_eq!(d["output_index"], -1);
    assert_eq!(d["sandbox"], false);
    assert_eq!(balance_of(&owner, &wallet_id, "ETH").await, ("0".into(), "1.5".into()));
    node.mine(1).await;
    let d = deposit_when(&owner, &wallet_id, &h1, |d| d["confirmations"] == 2).await;
    assert_eq!(d["status"], "PENDING");
    node.mine(1).await;
    let d = deposit_when(&owner, &wallet_id, &h1, |d| d["status"] == "COMPLETED").await;
    assert_eq!(d["confirmations"], 3);
    assert!(d["completed_at"].is_string());
    assert_eq!(balance_of(&owner, &wallet_id, "ETH").await, ("1.5".into(), "0".into()));

    // An ERC-20 transfer dropped by a reorg below the threshold, then mined again.
    let snap = node.snapshot().await;
    let raw = node
        .sign_token_transfer(&token, usdc_addr, U256::from(5u64) * U256::from(ETHER / 2), node.nonce(0).await)
        .await;
    let h2 = node.rpc("eth_sendRawTransaction", json!([raw])).await.as_str().unwrap().to_string();
    let d = deposit_when(&owner, &wallet_id, &h2, |d| d["status"] == "PENDING").await;
    assert_eq!(d["amount"], "2.5");
    assert_eq!(d["currency"], "USDC");
    let first_block = d["block_hash"].as_str().unwrap().to_string();
    assert_eq!(balance_of(&owner, &wallet_id, "USDC").await, ("0".into(), "2.5".into()));
    node.revert(&snap).await;
    node.mine(2).await;
    let d = deposit_when(&owner, &wallet_id, &h2, |d| d["status"] == "DROPPED").await;
    assert_eq!(d["confirmations"], 0);
    assert_eq!(balance_of(&owner, &wallet_id, "USDC").await, ("0".into(), "0".into()));
    balanced(&app).await;
    let again = node.rpc("eth_sendRawTransaction", json!([raw])).await;
    assert_eq!(again, json!(h2), "the same transaction, mined again");
    let d = deposit_when(&owner, &wallet_id, &h2, |d| d["status"] == "PENDING").await;
    assert_ne!(d["block_hash"].as_str().unwrap(), first_block);
    node.mine(2).await;
    deposit_when(&owner, &wallet_id, &h2, |d| d["status"] == "COMPLETED").await;
    assert_eq!(balance_of(&owner, &wallet_id, "USDC").await, ("2.5".into(), "0".into()));

    // A reorg deeper than the threshold: the credited deposit is reversed and the wallet frozen.
    let (frozen_id, frozen_addrs) = wallet(&owner, "deep@example.com", &[("ethereum", "eth")]).await;
    let snap = node.snapshot().await;
    let h3 = node.send_eth(2, &frozen_addrs[0], ETHER).await;
    node.mine(2).await;
    deposit_when(&owner, &frozen_id, &h3, |d| d["status"] == "COMPLETED").await;
    assert_eq!(balance_of(&owner, &frozen_id, "ETH").await, ("1".into(), "0".into()));
    node.revert(&snap).await;
    node.mine(5).await;
    let d = deposit_when(&owner, &frozen_id, &h3, |d| d["status"] == "REVERSED").await;
    assert_eq!(d["shortfall"], "0", "the wallet still held it all: {d}");
    assert_eq!(balance_of(&owner, &frozen_id, "ETH").await, ("0".into(), "0".into()));
    let (_, fw) = send(&owner, Method::GET, &format!("/wallets/{frozen_id}"), None).await;
    assert_eq!(fw["data"]["status"], "FROZEN");
    // The first wallet's deposits were older than the fork: untouched.
    assert_eq!(balance_of(&owner, &wallet_id, "ETH").await, ("1.5".into(), "0".into()));
    balanced(&app).await;

    // Health: the operator route and the metrics.
    let w = following(&ops, "ethereum", node.height().await).await;
    assert!(w["reorgs"].as_u64().unwrap() >= 2, "{w}");
    assert_eq!(w["blocks_behind"], 0);
    assert!(w["completed_deposits"].as_i64().unwrap() >= 2, "{w}");
    let (s, _) = send(&owner, Method::GET, "/chains", None).await;
    assert_eq!(s, 401, "operators only");
    let metrics = reqwest::get(format!("{}/metrics", app.url())).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("sova_chain_blocks_behind{network=\"ethereum\"}"), "{metrics}");
    assert!(metrics.contains("sova_chain_reorgs_total{network=\"ethereum\"}"));
    app.stop().await;
}

/// The second deterministic ganache account's key: the hot wallet of the sending test.
const GANACHE_KEY_1: &str = "0x6cbed15c793ce57650b9877cf6fa156fbef513c4e6134f022a85b1ffdd59b2a1";

/// Create a withdrawal and confirm it with the sandbox's code; its id.
async fn withdraw(owner: &Client, uid: &str, currency: &str, amount: &str, to: &str) -> String {
    let path = format!("/users/{uid}/accounts/crypto/withdrawals");
    let body = json!({"currency": currency, "amount": amount, "address": to, "network": "ethereum"});
    let (s, w) = send(owner, Method::POST, &path, Some(body)).await;
    assert_eq!(s, 201, "{w}");
    let id = w["data"]["id"].as_str().unwrap().to_string();
    let code = crate::withdrawals::sandbox_code(owner, &id).await;
    let (s, c) = send(owner, Method::POST, &format!("{path}/{id}/confirm"), Some(json!({"code": code}))).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["data"]["sub_status"], "QUEUED", "a hot wallet sends it, not the sandbox: {c}");
    id
}

/// Wait (up to 60 s) for withdrawal `id` to satisfy `ok`; the withdrawal with its events.
async fn withdrawal_when(owner: &Client, id: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..600 {
        let (s, w) = send(owner, Method::GET, &format!("/withdrawals/{id}"), None).await;
        assert_eq!(s, 200, "{w}");
        if ok(&w["data"]) {
            return w["data"].clone();
        }
        last = w["data"].clone();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("withdrawal {id} never got there; last seen: {last}");
}

async fn token_balance(node: &Ganache, token: &str, holder: &str) -> U256 {
    let data = format!("0x70a08231000000000000000000000000{}", holder.trim_start_matches("0x"));
    let v = node.rpc("eth_call", json!([{"to": token, "data": data}, "latest"])).await;
    v.as_str().unwrap().parse().unwrap()
}

on_both!(evm_withdrawals_sent_for_real);
async fn evm_withdrawals_sent_for_real(backend: Backend) {
    let Some(node) = Ganache::start().await else { return };
    let token = node.deploy_token("USDC", U256::from(1_000_000u64) * U256::from(ETHER)).await;
    let keys = tempfile::tempdir().unwrap();
    let key_file = keys.path().join("hot.key");
    write_secret(&key_file, GANACHE_KEY_1);
    let hot = node.accounts[1].clone();
    let (url, token_entry, signer) =
        (node.url.clone(), format!("ethereum:USDC={token}"), format!("ethereum={}", key_file.display()));
    let app = spawn_app_with(backend, move |c| {
        c.chain_rpc = vec![format!("ethereum={url}")];
        c.chain_confirmations = vec!["ethereum=3".into()];
        c.chain_token = vec![token_entry];
        c.chain_signer = vec![signer];
        c.chain_replace_secs = 5;
        c.chain_poll_ms = 100;
    })
    .await;
    let ops = app.operator().await;
    following(&ops, "ethereum", node.height().await).await;
    let (_, owner) = app.customer("send").await;
    let (wallet_id, addrs, uid) =
        wallet_of(&owner, "send@example.com", &[("ethereum", "eth"), ("ethereum", "usdc")]).await;
    for (address, currency, amount) in [(&addrs[0], "ETH", "5"), (&addrs[1], "USDC", "10")] {
        let dep = json!({"address": address, "currency": currency, "network": "ethereum", "amount": amount});
        let (s, d) = send(&owner, Method::POST, "/sandbox/deposits", Some(dep)).await;
        assert_eq!(s, 201, "{d}");
    }
    let dest = node.accounts[5].clone();

    // ETH: signed by the hot wallet, broadcast, mined, final at depth 3; exactly the amount arrives.
    let before = node.balance(&dest).await;
    let id = withdraw(&owner, &uid, "eth", "1.25", &dest).await;
    let w = withdrawal_when(&owner, &id, |w| w["sub_status"] == "CONFIRMING").await;
    let hash = w["tx_hash"].as_str().unwrap().to_string();
    assert_eq!(w["sandbox"], false);
    let r = node.receipt(&hash).await;
    assert_eq!(r["from"].as_str().unwrap(), hot.to_ascii_lowercase());
    assert_eq!(r["to"].as_str().unwrap(), dest.to_ascii_lowercase());
    let tx = node.rpc("eth_getTransactionByHash", json!([hash])).await;
    assert_eq!(tx["type"], "0x2", "EIP-1559");
    node.mine(2).await;
    let w = withdrawal_when(&owner, &id, |w| w["status"] == "COMPLETED").await;
    assert_eq!(w["tx_hash"], hash.as_str());
    assert_eq!(node.balance(&dest).await - before, U256::from(5 * ETHER / 4));
    assert_eq!(balance_of(&owner, &wallet_id, "ETH").await.0, "3.7495", "5 - 1.25 - the 0.0005 fee");
    let store = &app.running.ctx.store;
    assert_eq!(store.balance("fees:ethereum:ETH").await.unwrap(), "0.0005", "the fee leg");
    let sent: Vec<_> = store.ledger_entries("fees:ethereum:ETH").await.unwrap();
    assert_eq!(sent.len(), 1);
    let external = store.ledger_entries("external:ethereum:ETH:send").await.unwrap();
    let amounts: Vec<&str> = external.iter().map(|e| e.amount.as_str()).collect();
    assert_eq!(amounts, ["-5", "1.25"], "the sandbox deposit in, exactly the amount out");
    balanced(&app).await;

    // An ERC-20 transfer that reverts (the hot wallet holds no tokens): FAILED, the amount back, the fee kept.
    let id = withdraw(&owner, &uid, "usdc", "3", &dest).await;
    withdrawal_when(&owner, &id, |w| w["sub_status"] == "CONFIRMING").await;
    node.mine(2).await;
    let w = withdrawal_when(&owner, &id, |w| w["status"] == "FAILED").await;
    assert_eq!(w["sub_status"], "CHAIN_FAILED");
    assert_eq!(node.receipt(w["tx_hash"].as_str().unwrap()).await["status"], "0x0");
    assert_eq!(balance_of(&owner, &wallet_id, "USDC").await.0, "9", "10 - the 1 USDC fee");
    balanced(&app).await;

    // With tokens in the hot wallet, the same kind of withdrawal arrives.
    node.token_transfer(&token, &hot, U256::from(100u64) * U256::from(ETHER)).await;
    let id = withdraw(&owner, &uid, "usdc", "2", &dest).await;
    withdrawal_when(&owner, &id, |w| w["sub_status"] == "CONFIRMING").await;
    node.mine(2).await;
    withdrawal_when(&owner, &id, |w| w["status"] == "COMPLETED").await;
    assert_eq!(token_balance(&node, &token, &dest).await, U256::from(2u64) * U256::from(ETHER));
    assert_eq!(balance_of(&owner, &wallet_id, "USDC").await.0, "6");

    // A reorg drops the withdrawal's block: sent again from the stored bytes, mined again, arrives once.
    let before = node.balance(&dest).await;
    let snap = node.snapshot().await;
    let id = withdraw(&owner, &uid, "eth", "0.5", &dest).await;
    let w = withdrawal_when(&owner, &id, |w| w["sub_status"] == "CONFIRMING").await;
    let hash = w["tx_hash"].as_str().unwrap().to_string();
    node.revert(&snap).await;
    node.mine(1).await;
    let w = withdrawal_when(&owner, &id, |w| {
        w["events"].as_array().is_some_and(|e| e.iter().any(|e| e["detail"].as_str().unwrap_or("").contains("reorg")))
    })
    .await;
    assert_eq!(w["tx_hash"], hash.as_str(), "the same transaction");
    withdrawal_when(&owner, &id, |w| w["sub_status"] == "CONFIRMING").await;
    node.mine(3).await;
    withdrawal_when(&owner, &id, |w| w["status"] == "COMPLETED").await;
    assert_eq!(node.balance(&dest).await - before, U256::from(ETHER / 2));

    // Stuck (nothing is mined): replaced with higher fees after --chain-replace-secs; the replacement is mined.
    node.rpc("miner_stop", json!([])).await;
    let id = withdraw(&owner, &uid, "eth", "0.1", &dest).await;
    let w = withdrawal_when(&owner, &id, |w| w["sub_status"] == "BROADCASTING" && w["tx_hash"].is_string()).await;
    let first = w["tx_hash"].as_str().unwrap().to_string();
    let w = withdrawal_when(&owner, &id, |w| w["tx_hash"].as_str().is_some_and(|h| h != first)).await;
    let second = w["tx_hash"].as_str().unwrap().to_string();
    node.rpc("miner_start", json!([])).await;
    node.mine(3).await;
    let w = withdrawal_when(&owner, &id, |w| w["status"] == "COMPLETED").await;
    assert_eq!(w["tx_hash"], second.as_str());
    assert!(node.receipt(&first).await.is_null(), "the replaced version was never mined");

    // Two at once: consecutive nonces, both arrive.
    let (a, b) =
        tokio::join!(withdraw(&owner, &uid, "eth", "0.01", &dest), withdraw(&owner, &uid, "eth", "0.02", &dest));
    for id in [&a, &b] {
        withdrawal_when(&owner, id, |w| w["sub_status"] == "CONFIRMING" || w["status"] == "COMPLETED").await;
    }
    node.mine(3).await;
    let wa = withdrawal_when(&owner, &a, |w| w["status"] == "COMPLETED").await;
    let wb = withdrawal_when(&owner, &b, |w| w["status"] == "COMPLETED").await;
    let (na, nb) = (node_nonce(&node, &wa["tx_hash"]).await, node_nonce(&node, &wb["tx_hash"]).await);
    assert_eq!(na.abs_diff(nb), 1, "consecutive nonces");
    balanced(&app).await;
    app.stop().await;
}

/// The nonce of the transaction `hash`.
async fn node_nonce(node: &Ganache, hash: &Value) -> u64 {
    let t = node.rpc("eth_getTransactionByHash", json!([hash])).await;
    u64::from_str_radix(t["nonce"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}
