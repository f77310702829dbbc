//! The store's own suite, run on SQLite and (with `SOVA_TEST_DATABASE_URL`) on PostgreSQL: the ledger's rules
//! hold under concurrency, and a refused posting writes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::str::FromStr;
use std::sync::Arc;

use rust_decimal::Decimal;
use sova_store::{Posting, Store, StoreError};

mod common;
use common::*;

fn p(account: &str, amount: &str, may_go_negative: bool) -> Posting {
    Posting {
        account: account.into(),
        currency: "USDC".into(),
        amount: Decimal::from_str(amount).unwrap(),
        may_go_negative,
    }
}

async fn ledger_rules_on(store: &dyn Store) {
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

async fn no_negative_under_concurrency_on(store: Arc<dyn Store>) {
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

async fn ledger_rules(backend: Backend) {
    with_store(backend, |store| async move { ledger_rules_on(store.as_ref()).await }).await;
}
on_both!(ledger_rules);

async fn no_negative_under_concurrency(backend: Backend) {
    with_store(backend, |store| async move { no_negative_under_concurrency_on(store).await }).await;
}
on_both!(no_negative_under_concurrency);

/// Exchange groups: atomic (a refused group writes nothing), a nonce stored once, the log position taken once.
async fn exchange_commit_rules_on(store: &dyn Store) {
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

async fn exchange_commit_rules(backend: Backend) {
    with_store(backend, |store| async move { exchange_commit_rules_on(store.as_ref()).await }).await;
}
on_both!(exchange_commit_rules);

fn intel_key(id: &str) -> sova_store::IntelKeyRow {
    sova_store::IntelKeyRow {
        id: id.into(),
        account_id: format!("acct-{id}"),
        key_hash: format!("hash-{id}"),
        prefix: "ak_000000".into(),
        created_at: 1,
        revoked_at: None,
    }
}

fn charge(account: &str, cost: i64) -> sova_store::Charge {
    sova_store::Charge {
        account_id: account.into(),
        key_id: None,
        kind: if cost < 0 { "refund" } else { "call" },
        endpoint: "/wallet/{address}/hud".into(),
        cost,
        trace_id: "t".into(),
    }
}

/// Intel billing groups: each charge applied once, in order; a debit the balance cannot cover is refused (with the
/// balance) and the rest go on; refunds; several accounts in one group; usage counts every call.
async fn charge_rules_on(store: &dyn Store) {
    let a = store.create_intel_key("owner-a", 3, &intel_key("ka"), 1).await.unwrap().id;
    let b = store.create_intel_key("owner-b", 1, &intel_key("kb"), 1).await.unwrap().id;
    // The common case: one account, all covered.
    assert_eq!(store.apply_charges(&[charge(&a, 1), charge(&a, 1)], 2).await.unwrap(), vec![Ok(2), Ok(1)]);
    // Not covered: the general path refuses that one debit only.
    let r = store.apply_charges(&[charge(&a, 1), charge(&a, 1), charge(&b, 1), charge(&a, -1)], 3).await.unwrap();
    assert_eq!(r, vec![Ok(0), Err(0), Ok(0), Ok(1)]);
    assert_eq!(store.intel_account(&a).await.unwrap().unwrap().credits, 1);
    assert_eq!(store.intel_account(&b).await.unwrap().unwrap().credits, 0);
    let usage = store.intel_usage(&a, None, 100).await.unwrap();
    let calls: i64 = usage.iter().filter(|u| u.kind == "call").map(|u| u.calls).sum();
    assert_eq!(calls, 3, "{usage:?}");
}

async fn charge_rules(backend: Backend) {
    with_store(backend, |store| async move { charge_rules_on(store.as_ref()).await }).await;
}
on_both!(charge_rules);

/// The biller's pinned PostgreSQL connection is killed under it: at most the group in flight fails (and writes
/// nothing), the next one runs on a fresh connection, and the balance counts exactly the groups that succeeded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn billing_outlives_a_killed_connection_postgres() {
    let Some(db) = TestDb::postgres().await else { return };
    let store = sova_store::open(&db.url).await.unwrap();
    let store = store.as_ref();
    let a = store.create_intel_key("owner-a", 10, &intel_key("ka"), 1).await.unwrap().id;
    assert_eq!(store.apply_charges(&[charge(&a, 1)], 2).await.unwrap(), vec![Ok(9)]);
    // Kill every other session on this database, the pinned one included.
    let admin = std::env::var("SOVA_TEST_DATABASE_URL").unwrap();
    let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await.unwrap();
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(db.pg_name().unwrap())
    .fetch_all(&mut c)
    .await
    .unwrap();
    assert!(killed.contains(&true), "the store's connections were terminated");
    let mut ok = 1;
    for _ in 0..3 {
        if store.apply_charges(&[charge(&a, 1)], 3).await.is_ok() {
            ok += 1;
        }
    }
    assert!(ok >= 3, "at most one group fails after the kill, {ok} succeeded");
    assert_eq!(store.intel_account(&a).await.unwrap().unwrap().credits, 10 - ok);
    db.drop().await;
}

/// Postings whose sums would overflow or be rounded are refused whole; every transaction still sums to zero.
async fn ledger_range(backend: Backend) {
    with_store(backend, |store| async move {
        let store = store.as_ref();
        let big = "79228162514264337593543950325";
        store
            .post("fund", "r1", &[p("external:z", &format!("-{big}"), true), p("acct:r", big, false)], 1)
            .await
            .unwrap();
        // Adding a fraction would round it away; adding 100 would overflow: both refused, nothing written.
        for (i, amount) in ["0.7", "100"].iter().enumerate() {
            let e = store
                .post(
                    "fund",
                    &format!("r2-{i}"),
                    &[p("external:z", &format!("-{amount}"), true), p("acct:r", amount, false)],
                    2,
                )
                .await
                .unwrap_err();
            assert!(matches!(e, StoreError::OutOfRange(_)), "{e:?}");
        }
        assert_eq!(store.balance("acct:r").await.unwrap(), big);
        // Legs whose own sum leaves the range are refused before anything is written.
        let e = store
            .post("fund", "r3", &[p("acct:s", big, false), p("acct:t", big, false), p("external:w", "-1", true)], 3)
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::OutOfRange(_)), "{e:?}");
        assert_eq!(store.balance("acct:s").await.unwrap(), "0");
        store.post("fund", "r4", &[p("external:y", "-0.7", true), p("acct:u", "0.7", false)], 4).await.unwrap();
        for (cur, sum) in store.ledger_totals().await.unwrap() {
            assert_eq!(sum, "0", "{cur}");
        }
    })
    .await;
}
on_both!(ledger_range);
