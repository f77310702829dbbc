//! The Bitcoin and Solana deposit watchers against the scripted JSON-RPC node (`sova_testkit_app::chains`): outputs
//! and SOL/SPL transfers seen, completed at the threshold (a depth; Solana's `finalized` slot), dropped by a
//! competing branch and restored when re-mined, reversed past the threshold with the shortfall recorded; RPC
//! failures and skipped slots skip no block.

use reqwest::Method;
use serde_json::json;
use sova_testkit_app::chains::{Flavor, Pay, ScriptedNode};
use sova_testkit_app::on_both;
use sova_testkit_app::prelude::*;

use crate::chain_evm::{balance_of, balanced, deposit_when, following, wallet, wallet_of};
use crate::withdrawals::{DEST, send};

fn pay(address: &str, units: u64) -> Pay {
    Pay { address: address.to_string(), units, mint: None }
}

on_both!(bitcoin_deposits_follow_the_chain);
async fn bitcoin_deposits_follow_the_chain(backend: Backend) {
    let node = ScriptedNode::start(Flavor::Bitcoin).await;
    node.mine_empty(5);
    let url = node.url.clone();
    let app = spawn_app_with(backend, move |c| {
        c.chain_rpc = vec![format!("bitcoin-testnet={url}")];
        c.chain_confirmations = vec!["bitcoin-testnet=3".into()];
        c.chain_poll_ms = 50;
    })
    .await;
    let ops = app.operator().await;
    following(&ops, "bitcoin-testnet", node.height()).await;
    let (_, owner) = app.customer("btc").await;
    let (wallet_id, addrs, user_id) = wallet_of(&owner, "btc@example.com", &[("bitcoin-testnet", "btc")]).await;
    let addr = &addrs[0];

    // Seen, then completed at the third confirmation, through failing RPC calls.
    let (h1, _, ids) = node.mine(&[pay(addr, 150_000_000), pay("tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", 7)]);
    let d = deposit_when(&owner, &wallet_id, &ids[0], |d| d["status"] == "PENDING").await;
    assert_eq!((d["amount"].as_str(), d["output_index"].as_i64()), (Some("1.5"), Some(0)));
    assert_eq!(d["block_height"], h1);
    node.fail_next(5);
    node.mine_empty(2);
    let d = deposit_when(&owner, &wallet_id, &ids[0], |d| d["status"] == "COMPLETED").await;
    assert_eq!(d["confirmations"], 3);
    assert_eq!(balance_of(&owner, &wallet_id, "BTC").await, ("1.5".into(), "0".into()));

    // A competing branch takes a pending deposit away; it is restored when its transaction is mined again.
    let (h2, hash2, ids2) = node.mine(&[pay(addr, 25_000_000)]);
    deposit_when(&owner, &wallet_id, &ids2[0], |d| d["status"] == "PENDING").await;
    node.fork_after(h2 - 1);
    node.mine_empty(2);
    deposit_when(&owner, &wallet_id, &ids2[0], |d| d["status"] == "DROPPED").await;
    assert_eq!(balance_of(&owner, &wallet_id, "BTC").await, ("1.5".into(), "0".into()));
    node.remine(&hash2);
    deposit_when(&owner, &wallet_id, &ids2[0], |d| d["status"] == "PENDING").await;
    node.mine_empty(2);
    deposit_when(&owner, &wallet_id, &ids2[0], |d| d["status"] == "COMPLETED").await;
    assert_eq!(balance_of(&owner, &wallet_id, "BTC").await, ("1.75".into(), "0".into()));

    // A withdrawal holds 1.0001 (amount + fee); then a reorg deeper than the threshold takes both deposits away:
    // the wallet gives back what is available (0.7499), the rest is the shortfall, and it is frozen.
    let body = json!({"currency": "btc", "amount": "1", "address": DEST, "network": "bitcoin-testnet"});
    let (s, wd) =
        send(&owner, Method::POST, &format!("/users/{user_id}/accounts/crypto/withdrawals"), Some(body)).await;
    assert_eq!(s, 201, "{wd}");
    node.fork_after(h1 - 1);
    node.mine_empty(12);
    let a = deposit_when(&owner, &wallet_id, &ids2[0], |d| d["status"] == "REVERSED").await;
    let b = deposit_when(&owner, &wallet_id, &ids[0], |d| d["status"] == "REVERSED").await;
    // Orphaned from the top down: the later deposit (0.25) is taken in full first.
    assert_eq!(a["shortfall"], "0");
    assert_eq!(b["shortfall"], "1.0001");
    let (_, w) = send(&owner, Method::GET, &format!("/wallets/{wallet_id}"), None).await;
    assert_eq!(w["data"]["status"], "FROZEN");
    assert_eq!(w["data"]["available_balance"], "0");
    assert_eq!(w["data"]["held_balance"], "1.0001");
    balanced(&app).await;
    app.stop().await;
}

const DEVNET_USDC: &str = "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU";

on_both!(solana_deposits_follow_the_chain);
async fn solana_deposits_follow_the_chain(backend: Backend) {
    let node = ScriptedNode::start(Flavor::Solana).await;
    node.mine_empty(3);
    let url = node.url.clone();
    let app = spawn_app_with(backend, move |c| {
        c.chain_rpc = vec![format!("solana-devnet={url}")];
        c.chain_poll_ms = 50;
    })
    .await;
    let ops = app.operator().await;
    let w = following(&ops, "solana-devnet", node.height()).await;
    assert_eq!(w["threshold"], "finalized");
    let (_, owner) = app.customer("sol").await;
    let (wallet_id, addrs) =
        wallet(&owner, "sol@example.com", &[("solana-devnet", "sol"), ("solana-devnet", "usdc")]).await;

    // Skipped slots on the way; SOL and an SPL token (credited to the token account's owner).
    node.skip_slots(3);
    let (_, _, sol) = node.mine(&[pay(&addrs[0], 2_000_000_000)]);
    node.skip_slots(1);
    let token = Pay { address: addrs[1].clone(), units: 7_500_000, mint: Some((DEVNET_USDC.to_string(), 6)) };
    let (_, _, usdc) = node.mine(&[token]);
    // (The SOL one may already be final: the token's block moved the finalized slot up to it.)
    let d = deposit_when(&owner, &wallet_id, &sol[0], |d| d["status"] != "DROPPED").await;
    assert_eq!((d["amount"].as_str(), d["output_index"].as_i64()), (Some("2"), Some(1)));
    let d = deposit_when(&owner, &wallet_id, &usdc[0], |d| d["status"] == "PENDING").await;
    assert_eq!(
        (d["amount"].as_str(), d["currency"].as_str(), d["output_index"].as_i64()),
        (Some("7.5"), Some("USDC"), Some(257))
    );
    // Final when the finalized slot (two behind here) passes them.
    node.mine_empty(2);
    deposit_when(&owner, &wallet_id, &sol[0], |d| d["status"] == "COMPLETED").await;
    deposit_when(&owner, &wallet_id, &usdc[0], |d| d["status"] == "COMPLETED").await;
    assert_eq!(balance_of(&owner, &wallet_id, "SOL").await, ("2".into(), "0".into()));
    assert_eq!(balance_of(&owner, &wallet_id, "USDC").await, ("7.5".into(), "0".into()));

    // A fork drops a confirmed-but-not-final slot.
    let (slot, _, late) = node.mine(&[pay(&addrs[0], 1_000_000_000)]);
    deposit_when(&owner, &wallet_id, &late[0], |d| d["status"] == "PENDING").await;
    node.fork_after(slot - 1);
    node.skip_slots(1);
    node.mine_empty(1);
    deposit_when(&owner, &wallet_id, &late[0], |d| d["status"] == "DROPPED").await;
    assert_eq!(balance_of(&owner, &wallet_id, "SOL").await, ("2".into(), "0".into()));
    balanced(&app).await;
    app.stop().await;
}

/// Two replicas on one PostgreSQL database watching the same network: exactly one writes it (the other stands by),
/// and when the writer stops the other takes over and credits what came meanwhile, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_writer_per_network_across_replicas() {
    if pg_url().is_none() {
        eprintln!("SOVA_TEST_DATABASE_URL not set: PostgreSQL-only test skipped");
        return;
    }
    let node = ScriptedNode::start(Flavor::Bitcoin).await;
    let url = node.url.clone();
    let tweak = move |c: &mut sova_server::Config| {
        c.chain_rpc = vec![format!("bitcoin-testnet={url}")];
        c.chain_poll_ms = 50;
    };
    let first = spawn_app_with(Backend::Postgres, tweak.clone()).await;
    let ops = first.operator().await;
    following(&ops, "bitcoin-testnet", node.height()).await;
    let second = spawn_replica_at_with(&first, sova_runtime::Clock::system(), tweak).await;
    let ops2 = second.operator().await;
    let mut standby = false;
    for _ in 0..100 {
        let (_, l) = send(&ops2, Method::GET, "/chains", None).await;
        if l["data"][0]["state"] == "standby" {
            standby = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(standby, "the second replica stands by while the first writes");
    let (customer_id, owner) = first.customer("lease").await;
    let (wallet_id, addrs) = wallet(&owner, "lease@example.com", &[("bitcoin-testnet", "btc")]).await;
    let database_url = first.database_url.clone();
    first.stop_server().await;
    let (_, _, ids) = node.mine(&[pay(&addrs[0], 1_000)]);
    node.mine_empty(1);
    let cred = ops2.create_credential(&customer_id).await.unwrap();
    let owner2 = second.client.with_api_key(&cred.customer_secret);
    let d = deposit_when(&owner2, &wallet_id, &ids[0], |d| d["status"] == "COMPLETED").await;
    assert_eq!(d["amount"], "0.00001");
    let (_, l) = send(&owner2, Method::GET, &format!("/wallets/{wallet_id}/deposits"), None).await;
    assert_eq!(l["data"].as_array().unwrap().len(), 1, "credited once");
    second.stop_server().await;
    drop_pg_database(&database_url).await;
}
