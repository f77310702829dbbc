//! The SIWX persistence rules, on SQLite and (with `SOVA_TEST_DATABASE_URL`) on PostgreSQL: an idempotency key is
//! claimed once under concurrency and its answer commits with the state change; a challenge is consumed once;
//! signature nonces are single use; one Connect user per (tenant, account).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use sova_store::{
    Customer, IdemClaim, IdemClaimOutcome, IdemDone, IdemRecord, NewChallenge, SigningKeyRow, SiwxCustomerRow, Store,
    StoreError, User,
};

mod common;
use common::*;

async fn tenant(store: &dyn Store, id: &str) {
    store
        .create_customer(&Customer {
            customer_id: id.into(),
            email: format!("{id}@example.com"),
            entity_name: id.into(),
            status: "ACTIVE".into(),
            created_by: "op".into(),
            created_at: 1,
            updated_at: 1,
        })
        .await
        .unwrap();
}

fn claim(key: &str, fp: &str, now: i64) -> IdemClaim {
    IdemClaim {
        scope: "siwx:t".into(),
        key: key.into(),
        fingerprint: fp.into(),
        token: uuid::Uuid::new_v4().to_string(),
        now,
        locked_until: now + 60_000,
        expires_at: now + 86_400_000,
    }
}

fn done(c: &IdemClaim, status: i64) -> IdemDone {
    IdemDone {
        scope: c.scope.clone(),
        key: c.key.clone(),
        token: c.token.clone(),
        record: IdemRecord { status, headers: "[]".into(), body: "e30=".into() },
    }
}

fn customer(id: &str, ext: &str, nonce: &str) -> SiwxCustomerRow {
    SiwxCustomerRow {
        id: id.into(),
        tenant_id: "t".into(),
        external_id: ext.into(),
        account: "eip155:1:0xab16a96D359eC26a11e2C2b3d8f8B8942d5Bfcdb".into(),
        status: "PENDING".into(),
        challenge: Some(format!("text {nonce}")),
        challenge_nonce: Some(nonce.into()),
        challenge_issued_at: Some(1),
        challenge_expires_at: Some(3_600_001),
        user_id: None,
        verified_at: None,
        created_at: 1,
        updated_at: 1,
    }
}

fn user(id: &str) -> User {
    User {
        user_id: id.into(),
        customer_id: "t".into(),
        user_type: "individual".into(),
        email: "x@siwx.invalid".into(),
        first_name: "SIWX".into(),
        last_name: "acct".into(),
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

async fn idempotency_rules(store: Arc<dyn Store>) {
    tenant(store.as_ref(), "t").await;
    // Concurrent first uses: exactly one claims, the others see it in flight.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = store.clone();
            tokio::spawn(async move { s.claim_idempotency_key(&claim("k1", "fp", 1000)).await.unwrap() })
        })
        .collect();
    let mut claimed = 0;
    for t in tasks {
        match t.await.unwrap() {
            IdemClaimOutcome::Claimed => claimed += 1,
            IdemClaimOutcome::InFlight => {}
            o => panic!("{o:?}"),
        }
    }
    assert_eq!(claimed, 1);

    // The answer commits with the state change; then the same request replays it, another one is a mismatch.
    let c = claim("k2", "fp", 1000);
    assert_eq!(store.claim_idempotency_key(&c).await.unwrap(), IdemClaimOutcome::Claimed);
    store.create_siwx_customer(&customer("c1", "e1", "n1"), Some(&done(&c, 201))).await.unwrap();
    match store.claim_idempotency_key(&claim("k2", "fp", 2000)).await.unwrap() {
        IdemClaimOutcome::Replay(r) => assert_eq!((r.status, r.body.as_str()), (201, "e30=")),
        o => panic!("{o:?}"),
    }
    assert_eq!(store.claim_idempotency_key(&claim("k2", "other", 2000)).await.unwrap(), IdemClaimOutcome::Mismatch);

    // A refused state change records nothing and changes nothing: the key stays in flight (the caller records the
    // error answer or releases the key).
    let c = claim("k3", "fp", 1000);
    assert_eq!(store.claim_idempotency_key(&c).await.unwrap(), IdemClaimOutcome::Claimed);
    let e = store.create_siwx_customer(&customer("c2", "e1", "n2"), Some(&done(&c, 201))).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict("externalId")), "{e:?}");
    assert_eq!(store.claim_idempotency_key(&claim("k3", "fp", 1500)).await.unwrap(), IdemClaimOutcome::InFlight);
    // A state change whose claim was taken over (lock lapsed) is rolled back.
    let taken = claim("k3", "fp", 70_000);
    assert_eq!(store.claim_idempotency_key(&taken).await.unwrap(), IdemClaimOutcome::Claimed);
    let e = store.create_siwx_customer(&customer("c3", "e3", "n3"), Some(&done(&c, 201))).await.unwrap_err();
    assert!(matches!(e, StoreError::InvalidState(_)), "{e:?}");
    assert!(store.siwx_customer("t", "c3").await.unwrap().is_none(), "no half-written state");
    // Release: the key is free again.
    store.release_idempotency_key(&taken.scope, &taken.key, &taken.token).await.unwrap();
    assert_eq!(store.claim_idempotency_key(&claim("k3", "fp", 71_000)).await.unwrap(), IdemClaimOutcome::Claimed);
    // Past retention a key counts as unused, even for another request.
    let late = 1000 + 86_400_001;
    assert_eq!(store.claim_idempotency_key(&claim("k2", "other", late)).await.unwrap(), IdemClaimOutcome::Claimed);
    assert!(store.prune_siwx(late + 86_400_000 * 2).await.unwrap() <= 3);
}

async fn idempotency_keys_are_claimed_once(backend: Backend) {
    with_store(backend, idempotency_rules).await;
}
on_both!(idempotency_keys_are_claimed_once);

async fn challenge_rules(store: Arc<dyn Store>) {
    tenant(store.as_ref(), "t").await;
    store.create_siwx_customer(&customer("c1", "e1", "n1"), None).await.unwrap();
    // Replace only if the nonce is the current one.
    let new = NewChallenge { text: "text n2".into(), nonce: "n2".into(), issued_at: 5, expires_at: 3_600_005 };
    assert!(store.replace_siwx_challenge("t", "c1", "n1", &new, 5, None).await.unwrap());
    assert!(!store.replace_siwx_challenge("t", "c1", "n1", &new, 6, None).await.unwrap());
    // Another tenant sees nothing.
    assert!(store.siwx_customer("u", "c1").await.unwrap().is_none());
    // Concurrent consumptions of one challenge: one wins.
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let s = store.clone();
            tokio::spawn(
                async move { s.verify_siwx_customer("t", "c1", "n2", &user(&format!("u{i}")), 10, None).await },
            )
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(row) => {
                ok += 1;
                assert_eq!((row.status.as_str(), row.challenge.as_deref()), ("VERIFIED", None));
            }
            Err(StoreError::InvalidState(_)) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(ok, 1);
    let row = store.siwx_customer("t", "c1").await.unwrap().unwrap();
    let user_id = row.user_id.unwrap();
    assert!(store.user("t", &user_id).await.unwrap().is_some());
    // A second customer of the same account reuses the user.
    store.create_siwx_customer(&customer("c2", "e2", "n3"), None).await.unwrap();
    let row = store.verify_siwx_customer("t", "c2", "n3", &user("fresh"), 11, None).await.unwrap();
    assert_eq!(row.user_id.as_deref(), Some(user_id.as_str()));
    assert!(store.user("t", "fresh").await.unwrap().is_none());
    assert_eq!(
        store.siwx_account_user("t", "eip155:1:0xab16a96D359eC26a11e2C2b3d8f8B8942d5Bfcdb").await.unwrap(),
        Some(user_id)
    );
}

async fn challenges_are_consumed_once(backend: Backend) {
    with_store(backend, challenge_rules).await;
}
on_both!(challenges_are_consumed_once);

async fn key_and_nonce_rules(store: Arc<dyn Store>) {
    tenant(store.as_ref(), "t").await;
    let k = SigningKeyRow {
        tenant_id: "t".into(),
        keyid: "k".into(),
        alg: "ed25519".into(),
        key_material: "AAAA".into(),
        created_at: 1,
        revoked_at: None,
    };
    store.create_signing_key(&k).await.unwrap();
    assert!(matches!(store.create_signing_key(&k).await.unwrap_err(), StoreError::Conflict("keyid")));
    assert_eq!(store.revoke_signing_key("t", "k", 5).await.unwrap().revoked_at, Some(5));
    assert_eq!(store.revoke_signing_key("t", "k", 9).await.unwrap().revoked_at, Some(5), "idempotent");
    assert!(matches!(store.revoke_signing_key("t", "zz", 5).await.unwrap_err(), StoreError::NotFound));
    assert_eq!(store.signing_keys("t").await.unwrap().len(), 1);
    // Nonces: once per key while unexpired, concurrently too.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = store.clone();
            tokio::spawn(async move { s.use_signature_nonce("t", "k", "n", 100, 10).await.unwrap() })
        })
        .collect();
    let mut firsts = 0;
    for t in tasks {
        firsts += usize::from(t.await.unwrap());
    }
    assert_eq!(firsts, 1);
    assert!(store.use_signature_nonce("t", "k2", "n", 100, 10).await.unwrap(), "scoped per key");
    assert!(store.use_signature_nonce("t", "k", "n", 300, 200).await.unwrap(), "usable again once expired");
}

async fn keys_and_nonces(backend: Backend) {
    with_store(backend, key_and_nonce_rules).await;
}
on_both!(keys_and_nonces);
