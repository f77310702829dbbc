//! The store's own suite, run on SQLite and (with `SOVA_TEST_DATABASE_URL`) on PostgreSQL: the ledger's rules
//! hold under concurrency, and a refused posting writes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::str::FromStr;
use std::sync::Arc;

use rust_decimal::Decimal;
use sova_store::{Posting, Store, StoreError};

mod common;
use common::{postgres, sqlite};

fn p(account: &str, amount: &str, may_go_negative: bool) -> Posting {
    Posting {
        account: account.into(),
        currency: "USDC".into(),
        amount: Decimal::from_str(amount).unwrap(),
        may_go_negative,
    }
}

async fn ledger_rules(store: &dyn Store) {
    // Fund a customer account from the outside world.
    store.post("fund", "f1", &[p("external:x", "-20", true), p("acct:a", "20", false)], 1).await.unwrap();
    assert_eq!(store.balance("acct:a").await.unwrap(), "20");
    // Same (kind, reference) again: refused, nothing posted twice.
    let e = store.post("fund", "f1", &[p("external:x", "-20", true), p("acct:a", "20", false)], 2).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e:?}");
    assert_eq!(store.balance("acct:a").await.unwrap(), "20");
    // Unbalanced: refused.
    let e = store.post("bad", "b1", &[p("acct:a", "-1", false)], 3).await.unwrap_err();
    assert!(matches!(e, StoreError::Unbalanced(_)), "{e:?}");
    // Overdraft: refused, and the whole transaction is rolled back (the credit leg too).
    let e = store.post("move", "m0", &[p("acct:a", "-21", false), p("acct:b", "21", false)], 4).await.unwrap_err();
    assert!(matches!(e, StoreError::InsufficientFunds(_)), "{e:?}");
    assert_eq!(store.balance("acct:b").await.unwrap(), "0");
    assert_eq!(store.ledger_entries("acct:a").await.unwrap().len(), 1);
    // A refused transaction's reference is free again.
    store.post("move", "m0", &[p("acct:a", "-0.5", false), p("acct:b", "0.5", false)], 5).await.unwrap();
    assert_eq!(store.balance("acct:a").await.unwrap(), "19.5");
}

async fn no_negative_under_concurrency(store: Arc<dyn Store>) {
    store.post("fund", "f2", &[p("external:y", "-10", true), p("acct:c", "10", false)], 1).await.unwrap();
    let tasks = (0..40).map(|i| {
        let s = store.clone();
        tokio::spawn(async move {
            s.post("spend", &format!("s{i}"), &[p("acct:c", "-1", false), p("acct:d", "1", false)], 2).await
        })
    });
    let results = futures::future::join_all(tasks).await;
    let ok = results.iter().filter(|r| matches!(r, Ok(Ok(())))).count();
    for r in &results {
        match r {
            Ok(Ok(())) | Ok(Err(StoreError::InsufficientFunds(_))) => {}
            other => panic!("unexpected: {other:?}"),
        }
    }
    assert_eq!(ok, 10, "exactly the funded amount is spent");
    assert_eq!(store.balance("acct:c").await.unwrap(), "0");
    assert_eq!(store.balance("acct:d").await.unwrap(), "10");
    for (cur, sum) in store.ledger_totals().await.unwrap() {
        assert_eq!(sum, "0", "{cur}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledger_rules_sqlite() {
    let db = sqlite().await;
    ledger_rules(db.store.as_ref()).await;
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledger_rules_postgres() {
    let Some(db) = postgres().await else { return };
    ledger_rules(db.store.as_ref()).await;
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_negative_under_concurrency_sqlite() {
    let db = sqlite().await;
    no_negative_under_concurrency(db.store.clone()).await;
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_negative_under_concurrency_postgres() {
    let Some(db) = postgres().await else { return };
    no_negative_under_concurrency(db.store.clone()).await;
    db.close().await;
}

/// Exchange groups: atomic (a refused group writes nothing), a nonce stored once, the log position taken once.
async fn exchange_commit_rules(store: &dyn Store) {
    use sova_store::{ExLogRow, ExWrites};
    let (a, created) = store.ex_master_account("0xabc", 1).await.unwrap();
    assert!(created);
    assert_eq!(a.account_id, 1001);
    assert_eq!(store.ex_master_account("0xabc", 2).await.unwrap(), (a.clone(), false));
    let sub = store.ex_create_sub_account(a.account_id, Some("bot"), 3).await.unwrap();
    assert_eq!((sub.account_id, sub.master_id), (1002, Some(1001)));

    let row = |seq| ExLogRow { seq, ts: seq, events: vec![1, 2, 3] };
    let w = ExWrites {
        log: vec![row(1)],
        nonces_added: vec![("spot:0xabc".into(), 10), ("spot:0xabc".into(), 11)],
        ..Default::default()
    };
    store.ex_commit(&w).await.unwrap();
    // The same nonce again (as another sequencer would): refused, and the log row of that group is not written.
    let again = ExWrites { log: vec![row(2)], nonces_added: vec![("spot:0xabc".into(), 11)], ..Default::default() };
    assert!(matches!(store.ex_commit(&again).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.ex_log_after(0, 10).await.unwrap(), vec![row(1)]);
    // A taken log position: refused, and the group's nonce is not stored.
    let taken = ExWrites { log: vec![row(1)], nonces_added: vec![("spot:0xabc".into(), 12)], ..Default::default() };
    assert!(matches!(store.ex_commit(&taken).await, Err(StoreError::Conflict(_))));
    // Dropping a nonce out of the 100 highest deletes it.
    let drop = ExWrites {
        log: vec![row(2)],
        nonces_added: vec![("spot:0xabc".into(), 13)],
        nonces_dropped: vec![("spot:0xabc".into(), 10)],
        ..Default::default()
    };
    store.ex_commit(&drop).await.unwrap();
    let mut n = store.ex_nonces(&["spot:0xabc".into(), "spot:0xdef".into()]).await.unwrap();
    n.sort();
    assert_eq!(n, vec![("spot:0xabc".to_string(), 11), ("spot:0xabc".to_string(), 13)]);
    assert_eq!(store.ex_log_after(1, 10).await.unwrap(), vec![row(2)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchange_commit_rules_sqlite() {
    let db = sqlite().await;
    exchange_commit_rules(db.store.as_ref()).await;
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchange_commit_rules_postgres() {
    let Some(db) = postgres().await else { return };
    exchange_commit_rules(db.store.as_ref()).await;
    db.close().await;
}
