//! Money: every deposit is a balanced double-entry transaction; concurrency never double-credits.

use sova_proto::ErrorCode;
use sova_proto::connect as wire;

use sova_testkit_app::on_both;
use sova_testkit_app::prelude::*;

async fn concurrent_deposits_balance(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner) = app.customer("ledger-co").await;
    let u = owner.create_user(&user_req("l@example.com")).await.unwrap();
    let w = owner
        .create_wallet(
            &u.user_id,
            &wire::CreateWalletRequest { name: "usdc".into(), currency: Some("USDC".into()), ..Default::default() },
        )
        .await
        .unwrap();
    let a = owner
        .create_address(
            &w.wallet_id,
            &wire::CreateAddressRequest { currency: "usdc".into(), network: "solana".into(), rotate: None },
        )
        .await
        .unwrap();
    let futs = (1..=25).map(|i| {
        let owner = owner.clone();
        let address = a.address.clone();
        tokio::spawn(async move {
            owner
                .sandbox_deposit(&wire::SandboxDepositRequest {
                    address,
                    currency: "USDC".into(),
                    network: "solana".into(),
                    amount: format!("{i}.000001"),
                    pending: None,
                })
                .await
        })
    });
    for r in futures::future::join_all(futs).await {
        assert_eq!(r.unwrap().unwrap().status, "COMPLETED");
    }
    // 1+..+25 = 325, plus 25 * 0.000001
    assert_eq!(owner.get_wallet(&w.wallet_id).await.unwrap().balance, "325.000025");

    // Completing one pending deposit twice at once credits it once.
    let d = owner
        .sandbox_deposit(&wire::SandboxDepositRequest {
            address: a.address.clone(),
            currency: "usdc".into(),
            network: "SOLANA".into(),
            amount: "10".into(),
            pending: Some(true),
        })
        .await
        .unwrap();
    let (r1, r2) =
        tokio::join!(owner.complete_sandbox_deposit(&d.deposit_id), owner.complete_sandbox_deposit(&d.deposit_id));
    let oks = [r1.is_ok(), r2.is_ok()].iter().filter(|x| **x).count();
    assert_eq!(oks, 1, "exactly one completion wins");
    let err = if let Err(e) = r1 { e } else { r2.unwrap_err() };
    assert_eq!(err.status(), Some(409));
    assert_eq!(owner.get_wallet(&w.wallet_id).await.unwrap().balance, "335.000025");

    // The double-entry invariant: every currency's entries sum to zero.
    for (cur, sum) in app.running.ctx.store.ledger_totals().await.unwrap() {
        assert_eq!(sum, "0", "{cur} entries do not balance");
    }
    let entries = app.running.ctx.store.ledger_entries(&sova_store::wallet_account(&w.wallet_id)).await.unwrap();
    assert_eq!(entries.len(), 26);
    app.stop().await;
}
on_both!(concurrent_deposits_balance);

async fn sandbox_endpoint_refused_in_production(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.sandbox = Some(false);
        // The BIP-84 test account (zpub of the "abandon ... about" mnemonic).
        c.btc_xpub = Some(
            "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs".into(),
        );
    })
    .await;
    let (_, owner) = app.customer("prod-co").await;
    let u = owner.create_user(&user_req("p@example.com")).await.unwrap();
    let w = owner
        .create_wallet(
            &u.user_id,
            &wire::CreateWalletRequest { name: "btc".into(), currency: Some("BTC".into()), ..Default::default() },
        )
        .await
        .unwrap();
    let a = owner
        .create_address(
            &w.wallet_id,
            &wire::CreateAddressRequest { currency: "btc".into(), network: "bitcoin".into(), rotate: None },
        )
        .await
        .unwrap();
    // Watch-only derivation from the xpub gives the published first address.
    assert_eq!(a.address, "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu");
    // No EVM key configured: a clear 422, nothing written.
    let we = owner
        .create_wallet(
            &u.user_id,
            &wire::CreateWalletRequest { name: "eth".into(), currency: Some("ETH".into()), ..Default::default() },
        )
        .await
        .unwrap();
    let e = owner
        .create_address(
            &we.wallet_id,
            &wire::CreateAddressRequest { currency: "eth".into(), network: "ethereum".into(), rotate: None },
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(422));
    assert_eq!(owner.list_wallet_addresses(&we.wallet_id).await.unwrap().pagination.total, 0);
    let e = owner
        .sandbox_deposit(&wire::SandboxDepositRequest {
            address: a.address,
            currency: "BTC".into(),
            network: "bitcoin".into(),
            amount: "1".into(),
            pending: None,
        })
        .await
        .unwrap_err();
    assert_eq!((e.status(), e.code()), (Some(403), Some(sova_proto::ErrorCode::SandboxOnly)));
    app.stop().await;
}
on_both!(sandbox_endpoint_refused_in_production);

/// Amounts beyond a currency's maximum are refused, and no tenant's deposits can push another's ledger accounts out
/// of the exact range (the shared external account of issue 14, item 1): fractions are kept, nothing panics.
async fn amounts_stay_in_range(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut wallets = Vec::new();
    for slug in ["big-co", "small-co"] {
        let (_, owner) = app.customer(slug).await;
        let u = owner.create_user(&user_req(&format!("{slug}@example.com"))).await.unwrap();
        let w = owner
            .create_wallet(
                &u.user_id,
                &wire::CreateWalletRequest { name: "btc".into(), currency: Some("BTC".into()), ..Default::default() },
            )
            .await
            .unwrap();
        let a = owner
            .create_address(
                &w.wallet_id,
                &wire::CreateAddressRequest { currency: "btc".into(), network: "bitcoin-testnet".into(), rotate: None },
            )
            .await
            .unwrap();
        wallets.push((owner, w.wallet_id, a.address));
    }
    let deposit = |i: usize, amount: &str| {
        let (owner, _, address) = &wallets[i];
        let req = wire::SandboxDepositRequest {
            address: address.clone(),
            currency: "BTC".into(),
            network: "bitcoin-testnet".into(),
            amount: amount.into(),
            pending: None,
        };
        let owner = owner.clone();
        async move { owner.sandbox_deposit(&req).await }
    };
    for (amount, code) in [
        ("79228162514264337593543950325", ErrorCode::AmountOutOfRange),
        ("21000000.00000001", ErrorCode::AmountOutOfRange),
        ("00.1", ErrorCode::ValidationError),
        (" 1", ErrorCode::ValidationError),
        ("1 ", ErrorCode::ValidationError),
        ("-1", ErrorCode::ValidationError),
        ("0.000000001", ErrorCode::ValidationError),
    ] {
        let e = deposit(0, amount).await.unwrap_err();
        assert_eq!(e.status(), Some(400), "{amount:?}");
        assert_eq!(e.code(), Some(code), "{amount:?}");
    }
    // The largest amount, many times over, on one tenant; the other's fractions are kept exactly.
    for _ in 0..5 {
        assert_eq!(deposit(0, "21000000").await.unwrap().status, "COMPLETED");
    }
    for amount in ["0.7", "100", "0.00000001"] {
        assert_eq!(deposit(1, amount).await.unwrap().status, "COMPLETED");
    }
    let (owner, wallet, _) = &wallets[1];
    assert_eq!(owner.get_wallet(wallet).await.unwrap().balance, "100.70000001");
    let (owner, wallet, _) = &wallets[0];
    assert_eq!(owner.get_wallet(wallet).await.unwrap().balance, "105000000");
    for (cur, sum) in app.running.ctx.store.ledger_totals().await.unwrap() {
        assert_eq!(sum, "0", "{cur} entries do not balance");
    }
    app.stop().await;
}
on_both!(amounts_stay_in_range);

/// Issue 15: balances per currency as the reference shows them (numbers, written exactly), over a user's wallets and
/// over the whole customer; a user token reads its own user only.
async fn account_balances_are_exact_numbers(backend: Backend) {
    let app = spawn_app(backend).await;
    let (cid, owner) = app.customer("bal-co").await;
    let u1 = owner.create_user(&user_req("b1@example.com")).await.unwrap();
    let u2 = owner.create_user(&user_req("b2@example.com")).await.unwrap();
    let mut deposit = Vec::new();
    for (user, cur, net, amount) in [
        (&u1, "BTC", "bitcoin", "0.00000001"),
        (&u1, "BTC", "bitcoin", "20999999.99999999"),
        (&u1, "USDC", "solana", "12.5"),
        (&u2, "BTC", "bitcoin", "1"),
    ] {
        let w = owner
            .create_wallet(
                &user.user_id,
                &wire::CreateWalletRequest {
                    name: format!("{cur}-{amount}"),
                    currency: Some(cur.into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let a = owner
            .create_address(
                &w.wallet_id,
                &wire::CreateAddressRequest { currency: cur.into(), network: net.into(), rotate: None },
            )
            .await
            .unwrap();
        deposit.push(wire::SandboxDepositRequest {
            address: a.address,
            currency: cur.into(),
            network: net.into(),
            amount: amount.into(),
            pending: None,
        });
    }
    for d in &deposit {
        owner.sandbox_deposit(d).await.unwrap();
    }
    let key = app.operator().await.create_credential(&cid).await.unwrap().customer_secret;
    let http = reqwest::Client::new();
    let get = |path: String, key: String| {
        let http = http.clone();
        let url = format!("{}/sovx/v1{path}", app.url());
        async move {
            let r = http.get(url).header("x-api-key", key).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, text) = get(format!("/users/{}/accounts/balance", u1.user_id), key.clone()).await;
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains(r#"{"currency":"btc","balance":21000000.00000000,"available":21000000.00000000,"held":0}"#)
            || text.contains(r#"{"currency":"btc","balance":21000000,"available":21000000,"held":0}"#),
        "{text}"
    );
    assert!(text.contains(r#"{"currency":"usdc","balance":12.5,"available":12.5,"held":0}"#), "{text}");
    let (_, text) = get("/accounts/balance".into(), key.clone()).await;
    assert!(text.contains(r#""currency":"btc","balance":21000001,"#), "{text}");
    // A user token sees its own user's balances, not another's.
    let token = owner.create_user_token(&u2.user_id, Some(600)).await.unwrap().token.unwrap();
    let (status, text) = get(format!("/users/{}/accounts/balance", u2.user_id), token.clone()).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains(r#""currency":"btc","balance":1,"#), "{text}");
    assert_eq!(get(format!("/users/{}/accounts/balance", u1.user_id), token.clone()).await.0, 404);
    assert_eq!(get("/accounts/balance".into(), token).await.0, 403);
    app.stop().await;
}
on_both!(account_balances_are_exact_numbers);
