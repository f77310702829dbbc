//! A mutation's effects commit in its own transaction, on SQLite and (with `SOVA_TEST_DATABASE_URL`) on PostgreSQL:
//! a successful mutation records its idempotent answer, a refused one records neither its change nor the answer, and
//! a mutation whose idempotency lock was taken over writes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use sova_store::prelude::*;
use sova_store::{Customer, Effects, IdemClaim, IdemClaimOutcome, IdemDone, IdemRecord, StoreError, User, Wallet};

mod common;
use common::*;

async fn tenant(store: &dyn Store) {
    let c = Customer {
        customer_id: "t".into(),
        email: "t@example.com".into(),
        entity_name: "t".into(),
        status: "ACTIVE".into(),
        created_by: "op".into(),
        created_at: 1,
        updated_at: 1,
    };
    store.create_customer(&c).await.unwrap();
}

fn claim(key: &str, now: i64) -> IdemClaim {
    IdemClaim {
        scope: "connect:t".into(),
        key: key.into(),
        fingerprint: "fp".into(),
        token: uuid::Uuid::new_v4().to_string(),
        now,
        locked_until: now + 60_000,
        expires_at: now + 86_400_000,
    }
}

fn answer(c: &IdemClaim, status: i64) -> Effects {
    Effects::idempotent(IdemDone {
        scope: c.scope.clone(),
        key: c.key.clone(),
        token: c.token.clone(),
        record: IdemRecord { status, headers: "[]".into(), body: "e30=".into() },
    })
}

fn user(id: &str) -> User {
    User {
        user_id: id.into(),
        customer_id: "t".into(),
        user_type: "individual".into(),
        email: format!("{id}@example.com"),
        first_name: "A".into(),
        last_name: "B".into(),
        phone: None,
        date_of_birth: None,
        country: None,
        status: "ACTIVE".into(),
        created_at: 1,
        updated_at: 1,
        account_role: None,
        account_purpose: None,
        phone_country_code: None,
        phone_number: None,
        individual: None,
        deleted_at: None,
    }
}

fn wallet(id: &str, user_id: &str) -> Wallet {
    Wallet {
        wallet_id: id.into(),
        customer_id: "t".into(),
        user_id: user_id.into(),
        name: format!("main {id}"),
        currency: "USDC".into(),
        status: "ACTIVE".into(),
        created_at: 1,
        updated_at: 1,
        description: None,
        wallet_type: "virtual".into(),
        networks: Vec::new(),
    }
}

/// The same request again: the recorded answer, or still in flight (nothing recorded).
async fn again(store: &dyn Store, key: &str, now: i64) -> IdemClaimOutcome {
    store.claim_idempotency_key(&claim(key, now)).await.unwrap()
}

async fn user_effects(store: Arc<dyn Store>) {
    let store = store.as_ref();
    tenant(store).await;

    // Success: the user and the answer, together.
    let c = claim("k1", 1000);
    assert_eq!(store.claim_idempotency_key(&c).await.unwrap(), IdemClaimOutcome::Claimed);
    store.create_user_with(&user("u1"), &answer(&c, 201)).await.unwrap();
    assert!(store.user("t", "u1").await.unwrap().is_some());
    match again(store, "k1", 2000).await {
        IdemClaimOutcome::Replay(r) => assert_eq!((r.status, r.body.as_str()), (201, "e30=")),
        o => panic!("{o:?}"),
    }

    // Refused (the user id is taken): no change, no answer; the key stays in flight for the caller to settle.
    let c = claim("k2", 1000);
    assert_eq!(store.claim_idempotency_key(&c).await.unwrap(), IdemClaimOutcome::Claimed);
    let e = store
        .create_user_with(&User { email: "other@example.com".into(), ..user("u1") }, &answer(&c, 201))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict("user_id")), "{e:?}");
    assert_eq!(again(store, "k2", 1500).await, IdemClaimOutcome::InFlight);
    assert_eq!(store.list_users("t", &Default::default()).await.unwrap().total, 1);

    // The lock was taken over (it lapsed): the answer cannot be recorded, so the user is not written either.
    let c = claim("k3", 1000);
    assert_eq!(store.claim_idempotency_key(&c).await.unwrap(), IdemClaimOutcome::Claimed);
    let taken = claim("k3", 70_000);
    assert_eq!(store.claim_idempotency_key(&taken).await.unwrap(), IdemClaimOutcome::Claimed);
    let e = store.create_user_with(&user("u3"), &answer(&c, 201)).await.unwrap_err();
    assert!(matches!(e, StoreError::InvalidState(_)), "{e:?}");
    assert!(store.user("t", "u3").await.unwrap().is_none(), "no half-written state");
    assert_eq!(again(store, "k3", 71_000).await, IdemClaimOutcome::InFlight);

    // No effects: a plain insert.
    store.create_user_with(&user("u4"), &Effects::none()).await.unwrap();
    assert!(store.user("t", "u4").await.unwrap().is_some());
}

async fn user_and_answer_commit_together(backend: Backend) {
    with_store(backend, user_effects).await;
}
on_both!(user_and_answer_commit_together);

async fn wallet_effects(store: Arc<dyn Store>) {
    let store = store.as_ref();
    tenant(store).await;
    store.create_user(&user("u1")).await.unwrap();

    // Success: the wallet (with its ledger accounts) and the answer, together.
    let c = claim("w1", 1000);
    assert_eq!(store.claim_idempotency_key(&c).await.unwrap(), IdemClaimOutcome::Claimed);
    store.create_wallet_with(&wallet("w1", "u1"), &[], &answer(&c, 201)).await.unwrap();
    let view = store.wallet("t", "w1").await.unwrap().unwrap();
    assert_eq!((view.balance.as_str(), view.pending.as_str()), ("0", "0"));
    assert!(matches!(again(store, "w1", 2000).await, IdemClaimOutcome::Replay(r) if r.status == 201));

    // Refused (the wallet id is taken): no change, no answer.
    let c = claim("w2", 1000);
    assert_eq!(store.claim_idempotency_key(&c).await.unwrap(), IdemClaimOutcome::Claimed);
    let e = store
        .create_wallet_with(&Wallet { name: "another".into(), ..wallet("w1", "u1") }, &[], &answer(&c, 201))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict("wallet_id")), "{e:?}");
    assert_eq!(again(store, "w2", 1500).await, IdemClaimOutcome::InFlight);

    // Lock lost: neither the wallet nor its ledger accounts are written (the id is free for a retry).
    let c = claim("w3", 1000);
    assert_eq!(store.claim_idempotency_key(&c).await.unwrap(), IdemClaimOutcome::Claimed);
    assert_eq!(store.claim_idempotency_key(&claim("w3", 70_000)).await.unwrap(), IdemClaimOutcome::Claimed);
    let e = store.create_wallet_with(&wallet("w3", "u1"), &[], &answer(&c, 201)).await.unwrap_err();
    assert!(matches!(e, StoreError::InvalidState(_)), "{e:?}");
    assert!(store.wallet("t", "w3").await.unwrap().is_none());
    store.create_wallet(&wallet("w3", "u1")).await.unwrap();
    assert_eq!(store.list_wallets("t", None, &Default::default()).await.unwrap().total, 2);
}

async fn wallet_and_answer_commit_together(backend: Backend) {
    with_store(backend, wallet_effects).await;
}
on_both!(wallet_and_answer_commit_together);
