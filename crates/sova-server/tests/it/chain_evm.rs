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
