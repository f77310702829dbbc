//! Deposit addresses are real: checked by independent decoders, unique, and equal to known BIP-84/BIP-44 vectors
//! when the sandbox seed is the standard test mnemonic.

use sha3::{Digest, Keccak256};
use sova_proto::connect as wire;

use sova_testkit_app::on_both;
use sova_testkit_app::prelude::*;

const ABANDON: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

/// EIP-55 recomputed here, independent of Sova's code.
fn eip55_ok(addr: &str) -> bool {
    let Some(hex) = addr.strip_prefix("0x") else {
        return false;
    };
    if hex.len() != 40 {
        return false;
    }
    let hash = Keccak256::digest(hex.to_ascii_lowercase().as_bytes());
    hex.chars().enumerate().all(|(i, c)| {
        let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0x0f;
        if c.is_ascii_digit() {
            true
        } else if nibble >= 8 {
            c.is_ascii_uppercase()
        } else {
            c.is_ascii_lowercase()
        }
    })
}

async fn addresses_are_real(backend: Backend) {
    let db = TestDb::new(backend).await;
    write_secret(&db.dir.path().join("sandbox-seed.txt"), ABANDON);
    let app = spawn_on(db.dir, db.url, |_| {}).await;
    let (_, owner) = app.customer("addr-co").await;
    let u = owner.create_user(&user_req("a@example.com")).await.unwrap();
    let mut seen = std::collections::HashSet::new();
    let cases = [
        ("BTC", "bitcoin"),
        ("BTC", "bitcoin-testnet"),
        ("ETH", "ethereum"),
        ("ETH", "ethereum-sepolia"),
        ("SOL", "solana"),
        ("SOL", "solana-devnet"),
        ("USDC", "ethereum"),
        ("USDC", "solana"),
    ];
    let mut first = std::collections::HashMap::new();
    for (cur, net) in cases {
        let w = owner
            .create_wallet(
                &u.user_id,
                &wire::CreateWalletRequest {
                    name: format!("{cur} {net}"),
                    currency: Some(cur.into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        for _ in 0..3 {
            // Rotation asks for a new address each time (the default gives the wallet's existing one back).
            let a = owner
                .create_address(
                    &w.wallet_id,
                    &wire::CreateAddressRequest { currency: cur.into(), network: net.into(), rotate: Some(true) },
                )
                .await
                .unwrap();
            assert!(seen.insert(a.address.clone()), "address reused: {}", a.address);
            first.entry(net).or_insert(a.address.clone());
            match net {
                "bitcoin" | "bitcoin-testnet" => {
                    let (hrp, v, prog) = bech32::segwit::decode(&a.address).unwrap();
                    let want = if net == "bitcoin" { "bc" } else { "tb" };
                    assert_eq!((hrp.as_str(), v.to_u8(), prog.len()), (want, 0, 20), "{}", a.address);
                }
                "ethereum" | "ethereum-sepolia" => assert!(eip55_ok(&a.address), "{}", a.address),
                _ => {
                    let bytes = bs58::decode(&a.address).into_vec().unwrap();
                    assert_eq!(bytes.len(), 32, "{}", a.address);
                }
            }
        }
    }
    // Index 0 of each family is the published vector of the test mnemonic.
    assert_eq!(first["bitcoin"], "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu");
    assert_eq!(first["bitcoin-testnet"], "tb1q6rz28mcfaxtmd6v789l9rrlrusdprr9pqcpvkl");
    assert_eq!(first["ethereum"], "0x9858EfFD232B4033E47d90003D41EC34EcaEda94");
    assert_eq!(first["solana"], "HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk");
    app.stop().await;
}
on_both!(addresses_are_real);

async fn sandbox_seed_is_private(backend: Backend) {
    let app = spawn_app(backend).await;
    use std::os::unix::fs::PermissionsExt;
    for f in ["sandbox-seed.txt", "server.key"] {
        let mode = std::fs::metadata(app.dir.path().join(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    let words = std::fs::read_to_string(app.dir.path().join("sandbox-seed.txt")).unwrap();
    assert_eq!(words.split_whitespace().count(), 24);
    app.stop().await;
}
on_both!(sandbox_seed_is_private);

async fn concurrent_addresses_get_unique_indices(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner) = app.customer("conc-addr").await;
    let u = owner.create_user(&user_req("c@example.com")).await.unwrap();
    let w = owner
        .create_wallet(
            &u.user_id,
            &wire::CreateWalletRequest { name: "eth".into(), currency: Some("ETH".into()), ..Default::default() },
        )
        .await
        .unwrap();
    let futs = (0..20).map(|_| {
        let owner = owner.clone();
        let wid = w.wallet_id.clone();
        tokio::spawn(async move {
            owner
                .create_address(
                    &wid,
                    &wire::CreateAddressRequest {
                        currency: "eth".into(),
                        network: "ethereum".into(),
                        rotate: Some(true),
                    },
                )
                .await
        })
    });
    let mut addrs = std::collections::HashSet::new();
    for f in futures::future::join_all(futs).await {
        addrs.insert(f.unwrap().unwrap().address);
    }
    assert_eq!(addrs.len(), 20);
    app.stop().await;
}
on_both!(concurrent_addresses_get_unique_indices);

/// Issue 15: asking again for a wallet's address on the same network gives the existing one back (also when 20 ask
/// at once), answered as the vendor's reference shows it (the wallet and its `addresses[]`) with Sova's fields.
async fn address_creation_is_idempotent_per_network(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, owner) = app.customer("idem-addr").await;
    let u = owner.create_user(&user_req("i@example.com")).await.unwrap();
    let w = owner
        .create_wallet(
            &u.user_id,
            &wire::CreateWalletRequest { name: "usdc".into(), currency: Some("USDC".into()), ..Default::default() },
        )
        .await
        .unwrap();
    let path = format!("/wallets/{}/address", w.wallet_id);
    let body = |net: &str| {
        Some(("application/json", serde_json::json!({"currency": "usdc", "network": net}).to_string().into_bytes()))
    };
    let futs = (0..20).map(|_| {
        let (owner, path, body) = (owner.clone(), path.clone(), body("solana"));
        tokio::spawn(async move { owner.raw(reqwest::Method::POST, &path, body).await.unwrap() })
    });
    let mut ids = std::collections::HashSet::new();
    for r in futures::future::join_all(futs).await {
        let r = r.unwrap();
        assert_eq!(r.status, 201, "{}", r.json);
        ids.insert(r.json["data"]["address_id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1, "one address for (usdc, solana)");
    let r = owner.raw(reqwest::Method::POST, &path, body("ethereum")).await.unwrap();
    let d = &r.json["data"];
    assert_eq!(
        (d["wallet_id"].as_str(), d["vault_wallet_id"].as_str()),
        (Some(w.wallet_id.as_str()), Some(w.wallet_id.as_str()))
    );
    assert_eq!((d["user_id"].as_str(), d["name"].as_str()), (Some(u.user_id.as_str()), Some("usdc")));
    let listed = d["addresses"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{d}");
    for a in listed {
        let keys: Vec<&str> = a.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 4, "{a}");
        assert_eq!(a["currency"], "usdc");
    }
    assert!(listed.iter().any(|a| a["address"] == d["address"] && a["network"] == "ethereum"));
    // Sova's fields are there too (the seed's clients read them).
    assert_eq!((d["currency"].as_str(), d["status"].as_str()), (Some("USDC"), Some("ACTIVE")));
    assert!(d["derivation_path"].as_str().is_some_and(|p| p.starts_with("m/")));
    assert_eq!(owner.list_wallet_addresses(&w.wallet_id).await.unwrap().pagination.total, 2);

    // GET /currencies: every currency with its networks.
    let r = owner.raw(reqwest::Method::GET, "/currencies", None).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.json);
    let list = r.json["data"].as_array().unwrap();
    let usdc = list.iter().find(|c| c["code"] == "usdc").unwrap();
    assert_eq!((usdc["precision"].as_u64(), usdc["is_fiat"].as_bool()), (Some(6), Some(false)));
    assert!(usdc["networks"].as_array().unwrap().iter().any(|n| n == "solana"));
    assert_eq!(list.len(), 5);
    app.stop().await;
}
on_both!(address_creation_is_idempotent_per_network);

/// Replicas on one database must share their keys (issue 14, item 11): with the same files a second server starts;
/// with its own sandbox seed it refuses to start, naming the key and the file to copy.
async fn replica_keys_must_match(backend: Backend) {
    let app = spawn_app(backend).await;
    let twin = spawn_replica(&app).await;
    twin.stop_server().await;
    let dir = tempfile::tempdir().unwrap();
    copy_replica_keys(app.dir.path(), dir.path());
    std::fs::remove_file(dir.path().join("sandbox-seed.txt")).unwrap();
    let config = sova_server::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        database_url: Some(app.database_url.clone()),
        ..sova_server::Config::default()
    };
    let refused = sova_server::start_with(config, sova_runtime::Clock::system(), std::future::pending()).await;
    let msg = format!("{:#}", refused.err().expect("a replica with another seed is refused"));
    assert!(msg.contains("sandbox-seed (") && msg.contains("sandbox-seed.txt"), "{msg}");
    app.stop().await;
}
on_both!(replica_keys_must_match);
