//! The exchange across replicas (issue 14, item 10), with real `sova serve` processes on one PostgreSQL database:
//! one leads the sequencer, the other follows (reads from the leader's log, writes forwarded to it); the leader is
//! SIGKILLed under order load and the follower takes over, with every acknowledged order still there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sova_auth::exchange::{Action, Domain};
use sova_client::Method;
use sova_client::exchange::{ExchangeClient, types as ex};
use sova_testkit::prelude::*;

const SOVA: &str = env!("CARGO_BIN_EXE_sova");
const CHAIN: u64 = 286_623;
const TASKS: usize = 4;
/// Per task (an account holds at most 1000 open orders).
const MAX_ORDERS: usize = 900;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `sova serve` on `port`, its log in `<dir>/serve-<port>.log`.
fn serve(dir: &std::path::Path, url: &str, port: u16) -> Child {
    let log = std::fs::File::create(dir.join(format!("serve-{port}.log"))).unwrap();
    Command::new(SOVA)
        .args(["serve", "--data-dir"])
        .arg(dir)
        .args(["--database-url", url, "--listen", &format!("127.0.0.1:{port}"), "--rate-limit", "0"])
        .env("SOVA_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

async fn healthy(port: u16) {
    for _ in 0..400 {
        if reqwest::get(format!("http://127.0.0.1:{port}/sovx/v1/health")).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("sova serve on {port} did not start");
}

/// The value of a gauge on a replica's `/metrics`.
async fn gauge(port: u16, name: &str) -> Option<f64> {
    let text = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.ok()?.text().await.ok()?;
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

async fn until(what: &str, mut f: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

fn order(account: u64, cl: &str) -> ex::SpotNewOrder {
    serde_json::from_value(json!({"accountID": account, "symbolID": 1, "clOrdID": cl, "side": 1, "type": 1,
        "timeInForce": 1, "price": "1000", "quantity": "0.1"}))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leader_killed_under_order_load() {
    let Some(db) = TestDb::postgres().await else {
        eprintln!("SOVA_TEST_DATABASE_URL not set: the two-replica failover test is skipped");
        return;
    };
    let (pa, pb) = (free_port(), free_port());
    let mut a = serve(db.dir.path(), &db.url, pa);
    healthy(pa).await;
    until("the first replica leads", async || gauge(pa, "sova_exchange_leader").await == Some(1.0)).await;
    // The second replica shares the first one's keys (README, "Replicas").
    let dir_b = tempfile::tempdir().unwrap();
    for f in ["server.key", "sandbox-seed.txt", "x402-fee-payer.json", "x402-treasury.json"] {
        std::fs::copy(db.dir.path().join(f), dir_b.path().join(f)).unwrap();
    }
    let b = serve(dir_b.path(), &db.url, pb);
    healthy(pb).await;
    until("the second replica follows", async || gauge(pb, "sova_exchange_leader").await == Some(0.0)).await;

    let urls = [format!("http://127.0.0.1:{pa}"), format!("http://127.0.0.1:{pb}")];
    // Accounts funded through the follower (forwarded), visible on both within a second.
    let mut accounts = Vec::new();
    for t in 0..TASKS {
        let c = ExchangeClient::new(&urls[1], CHAIN, [0x10 + t as u8; 32]).unwrap();
        let r = c.faucet("USDC", "100000").await.unwrap();
        assert!(r.is_ok(), "faucet through the follower: {}", r.json);
        accounts.push(r.data()["accountID"].as_u64().unwrap());
    }
    let on_a = ExchangeClient::new(&urls[0], CHAIN, [0x10; 32]).unwrap();
    let state = format!("/api/v1/spot/accounts/{:#x}/state", on_a.address());
    assert!(on_a.get(&state).await.unwrap().is_ok());
    let on_b = ExchangeClient::new(&urls[1], CHAIN, [0x10; 32]).unwrap();
    until("the follower knows the account", async || on_b.get(&state).await.unwrap().is_ok()).await;

    // Order load on both replicas; the leader is killed in the middle of it.
    let killed_at: Arc<std::sync::Mutex<Option<Instant>>> = Arc::default();
    let first_after: Arc<std::sync::Mutex<Option<Instant>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for (t, &account) in accounts.iter().enumerate() {
        let (urls, killed_at, first_after, stop) = (urls.clone(), killed_at.clone(), first_after.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let clients: Vec<ExchangeClient> =
                urls.iter().map(|u| ExchangeClient::new(u, CHAIN, [0x10 + t as u8; 32]).unwrap()).collect();
            // One nonce sequence for the signer, whichever replica each order goes to.
            let nonces = &clients[0];
            let action = Action::for_route(Domain::Spot, "POST", "/trade/orders").unwrap();
            let mut acked = BTreeSet::new();
            let mut i = 0usize;
            while acked.len() < MAX_ORDERS && !stop.load(Ordering::Relaxed) {
                i += 1;
                let dead = killed_at.lock().unwrap().is_some();
                let c = &clients[if dead { 1 } else { i % 2 }];
                let body = serde_json::to_vec(&order(account, &format!("t{t}-{i}"))).unwrap();
                let sent = c
                    .send_signed(
                        Domain::Spot,
                        action,
                        Method::POST,
                        "/api/v1/spot/trade/orders",
                        body,
                        nonces.next_nonce(),
                    )
                    .await;
                match sent {
                    Ok(r) if r.is_ok() => {
                        acked.insert(r.data()["orderID"].as_u64().unwrap());
                        if dead {
                            first_after.lock().unwrap().get_or_insert_with(Instant::now);
                        }
                    }
                    // Refused while the follower has no leader to forward to (503 NOT_LEADER), or cut off by
                    // the kill: not acknowledged; try again.
                    Ok(r) => {
                        assert!(r.status == 503 || dead, "{} {}", r.status, r.json);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
            (account, acked)
        }));
    }
    // Let some orders through, then SIGKILL the leader.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    a.kill().unwrap();
    *killed_at.lock().unwrap() = Some(Instant::now());
    a.wait().unwrap();
    let took_over = {
        let mut ok = false;
        for _ in 0..200 {
            if first_after.lock().unwrap().is_some() {
                ok = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        ok
    };
    if !took_over {
        let log = std::fs::read_to_string(dir_b.path().join(format!("serve-{pb}.log"))).unwrap_or_default();
        panic!("the follower did not take over; its log:\n{log}");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let failover = first_after.lock().unwrap().unwrap() - killed_at.lock().unwrap().unwrap();
    assert_eq!(gauge(pb, "sova_exchange_leader").await, Some(1.0));

    // Every acknowledged order is on the new leader's book, open.
    for (t, (account, acked)) in results.iter().enumerate() {
        let c = ExchangeClient::new(&urls[1], CHAIN, [0x10 + t as u8; 32]).unwrap();
        let r = c.get(&format!("/api/v1/spot/accounts/{:#x}/orders", c.address())).await.unwrap();
        assert!(r.is_ok(), "{}", r.json);
        let open: BTreeSet<u64> =
            r.data()["orders"].as_array().unwrap().iter().filter_map(|o: &Value| o["orderID"].as_u64()).collect();
        let lost: Vec<&u64> = acked.difference(&open).collect();
        assert!(lost.is_empty(), "account {account}: acknowledged orders lost: {lost:?}");
        total += acked.len();
    }
    eprintln!(
        "failover: {} ms from SIGKILL to the first order acknowledged by the new leader; {total} orders \
         acknowledged, 0 lost",
        failover.as_millis()
    );

    // The killed replica comes back as a follower and sees the same book.
    let a = serve(db.dir.path(), &db.url, pa);
    healthy(pa).await;
    until("the old leader follows", async || gauge(pa, "sova_exchange_leader").await == Some(0.0)).await;
    let probe = ExchangeClient::new(&urls[0], CHAIN, [0x10; 32]).unwrap();
    let path = format!("/api/v1/spot/accounts/{:#x}/orders", probe.address());
    let want = results[0].1.len();
    until("the old leader caught up", async || {
        probe.get(&path).await.ok().and_then(|r| r.data()["orders"].as_array().map(Vec::len)) >= Some(want)
    })
    .await;
    for mut p in [a, b] {
        p.kill().unwrap();
        p.wait().unwrap();
    }
    drop_pg_database(&db.url).await;
}
