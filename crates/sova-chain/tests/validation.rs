//! Address validation and chain detection tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sova_chain::{Chain, ChainError, Network, address_networks, detect_chain, eip55_checksum, validate_address};

fn ok(network: Network, address: &str) {
    if let Err(e) = validate_address(network, address) {
        panic!("{address} should be valid on {network}: {e}");
    }
}

fn bad(network: Network, address: &str) {
    match validate_address(network, address) {
        Err(ChainError::InvalidAddress { network: n, .. }) => assert_eq!(n, network),
        other => panic!("{address:?} should be invalid on {network}, got {other:?}"),
    }
}

/// Base58check with an explicit version byte, built with bs58 (not the code under test).
fn base58check(version: u8, payload: &[u8]) -> String {
    let mut data = vec![version];
    data.extend_from_slice(payload);
    bs58::encode(data).with_check().into_string()
}

/// A well-formed regtest (`bcrt1…`) P2WPKH address, built with the bech32 crate.
fn regtest_address() -> String {
    let hrp = bech32::Hrp::parse("bcrt").unwrap();
    bech32::segwit::encode(hrp, bech32::segwit::VERSION_0, &[9; 20]).unwrap()
}

#[test]
fn bitcoin_mainnet() {
    let n = Network::Bitcoin;
    ok(n, "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"); // P2WPKH (BIP-84)
    ok(n, "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3"); // P2WSH (BIP-173)
    ok(n, "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"); // P2TR (BIP-350)
    ok(n, "BC1QCR8TE4KR609GCAWUTMRZA0J4XV80JY8Z306FYU"); // all upper-case bech32 is legal
    ok(n, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"); // P2PKH
    ok(n, &base58check(0x00, &[7; 20])); // P2PKH
    ok(n, &base58check(0x05, &[7; 20])); // P2SH

    // Wrong network prefix.
    bad(n, "tb1q6rz28mcfaxtmd6v789l9rrlrusdprr9pqcpvkl");
    bad(n, &regtest_address());
    bad(n, &base58check(0x6f, &[7; 20]));
    bad(n, &base58check(0xc4, &[7; 20]));
    // Bad checksums.
    bad(n, "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyv");
    bad(n, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb");
    // Mixed-case bech32.
    bad(n, "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306FYU");
    // Wrong lengths.
    bad(n, &base58check(0x00, &[7; 19]));
    bad(n, &base58check(0x00, &[7; 21]));
    bad(n, "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306f");
    // Unsupported witness versions (valid BIP-350 strings, but not P2WPKH/P2WSH/P2TR).
    bad(n, "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs");
    bad(n, "BC1SW50QGDZ25J");
    // Other chains, junk, whitespace.
    bad(n, "0x9858EfFD232B4033E47d90003D41EC34EcaEda94");
    bad(n, "HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk");
    bad(n, "");
    bad(n, " bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu");
}

#[test]
fn bitcoin_testnet() {
    let n = Network::BitcoinTestnet;
    ok(n, "tb1q6rz28mcfaxtmd6v789l9rrlrusdprr9pqcpvkl");
    ok(n, "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7"); // P2WSH (BIP-173)
    ok(n, &base58check(0x6f, &[7; 20])); // m/n P2PKH
    ok(n, &base58check(0xc4, &[7; 20])); // 2… P2SH
    assert!(base58check(0xc4, &[7; 20]).starts_with('2'));

    bad(n, "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu");
    bad(n, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa");
    bad(n, &base58check(0x05, &[7; 20]));
    bad(n, "tb1q6rz28mcfaxtmd6v789l9rrlrusdprr9pqcpvkm");
}

#[test]
fn generated_bech32_checks_against_network() {
    // A P2TR and a P2WSH built with the bech32 crate directly.
    let program = [0x42u8; 32];
    for (hrp, good, wrong) in
        [("bc", Network::Bitcoin, Network::BitcoinTestnet), ("tb", Network::BitcoinTestnet, Network::Bitcoin)]
    {
        let hrp = bech32::Hrp::parse(hrp).unwrap();
        let p2tr = bech32::segwit::encode(hrp, bech32::segwit::VERSION_1, &program).unwrap();
        let p2wsh = bech32::segwit::encode(hrp, bech32::segwit::VERSION_0, &program).unwrap();
        let p2wpkh = bech32::segwit::encode(hrp, bech32::segwit::VERSION_0, &program[..20]).unwrap();
        for a in [&p2tr, &p2wsh, &p2wpkh] {
            ok(good, a);
            bad(wrong, a);
            assert_eq!(detect_chain(a), Some(Chain::Bitcoin));
        }
        // Taproot with a 20-byte program is not a valid P2TR.
        let short_tr = bech32::segwit::encode(hrp, bech32::segwit::VERSION_1, &program[..20]).unwrap();
        bad(good, &short_tr);
    }
}

#[test]
fn evm() {
    // EIP-55 specification vectors.
    let checksummed = [
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        "0x52908400098527886E0F7030069857D2E4169EE7",
        "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
        "0xde709f2102306220921060314715629080e2fb77",
        "0x27b1fdb04752bbc536007a920d24acb045561c26",
    ];
    for a in checksummed {
        let mut bytes = [0u8; 20];
        hex::decode_to_slice(&a[2..], &mut bytes).unwrap();
        assert_eq!(eip55_checksum(&bytes), a);
        for n in [Network::Ethereum, Network::EthereumSepolia] {
            ok(n, a);
            ok(n, &a.to_lowercase());
            ok(n, &format!("0x{}", a[2..].to_uppercase()));
        }
        assert_eq!(detect_chain(a), Some(Chain::Evm));
    }
    let n = Network::Ethereum;
    // Bad EIP-55 casing: flip the case of one letter.
    bad(n, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD");
    bad(n, "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
    bad(n, "0x9858efFD232B4033E47d90003D41EC34EcaEda94");
    // Wrong length.
    bad(n, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe");
    bad(n, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed0");
    bad(n, "0x");
    // Missing / wrong prefix, non-hex.
    bad(n, "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
    bad(n, "0X5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
    bad(n, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg");
    bad(n, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA d");
    bad(n, "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu");
}

#[test]
fn solana() {
    for n in [Network::Solana, Network::SolanaDevnet] {
        ok(n, "HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk");
        ok(n, "11111111111111111111111111111111"); // system program (32 zero bytes)
        ok(n, "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"); // USDC mint
        ok(n, &bs58::encode([0xffu8; 32]).into_string());

        // Wrong length.
        bad(n, &bs58::encode([7u8; 31]).into_string());
        bad(n, &bs58::encode([7u8; 33]).into_string());
        bad(n, &bs58::encode([7u8; 64]).into_string());
        // Characters outside the base58 alphabet (0, O, I, l).
        bad(n, "HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpq0");
        bad(n, "HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqO");
        bad(n, "HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpql");
        // Other chains.
        bad(n, "0x9858EfFD232B4033E47d90003D41EC34EcaEda94");
        bad(n, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa");
        bad(n, "");
    }
}

#[test]
fn detection() {
    assert_eq!(detect_chain("bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"), Some(Chain::Bitcoin));
    assert_eq!(detect_chain("tb1q6rz28mcfaxtmd6v789l9rrlrusdprr9pqcpvkl"), Some(Chain::Bitcoin));
    assert_eq!(detect_chain("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"), Some(Chain::Bitcoin));
    assert_eq!(detect_chain(" 0x9858EfFD232B4033E47d90003D41EC34EcaEda94\n"), Some(Chain::Evm));
    assert_eq!(detect_chain("0x9858effd232b4033e47d90003d41ec34ecaeda94"), Some(Chain::Evm));
    assert_eq!(detect_chain("HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk"), Some(Chain::Solana));
    assert_eq!(detect_chain(&regtest_address()), None);
    for junk in [
        "",
        "hello",
        "0x9858efFD232B4033E47d90003D41EC34EcaEda94", // bad EIP-55
        "0x1234",
        "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyv", // bad checksum
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb",
    ] {
        assert_eq!(detect_chain(junk), None, "{junk:?}");
    }
}

/// `address_networks` (one decode) names exactly the networks `validate_address` (one decode per network) accepts.
#[test]
fn address_networks_agree_with_validation() {
    let program = [0x42u8; 32];
    let mut corpus: Vec<String> = [
        "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu",
        "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        "BC1QCR8TE4KR609GCAWUTMRZA0J4XV80JY8Z306FYU",
        "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306FYU",
        "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyv",
        "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306f",
        "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs",
        "BC1SW50QGDZ25J",
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb",
        "tb1q6rz28mcfaxtmd6v789l9rrlrusdprr9pqcpvkl",
        "tb1q6rz28mcfaxtmd6v789l9rrlrusdprr9pqcpvkm",
        "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
        "0x9858EfFD232B4033E47d90003D41EC34EcaEda94",
        "0x9858effd232b4033e47d90003d41ec34ecaeda94",
        "0x9858EFFD232B4033E47D90003D41EC34ECAEDA94",
        "0x9858efFD232B4033E47d90003D41EC34EcaEda94",
        "0x1234",
        "HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk",
        "HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpql",
        "11111111111111111111111111111111",
        "",
        "hello",
        " bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    corpus.push(regtest_address());
    for v in [0x00, 0x05, 0x6f, 0xc4, 0x42] {
        for len in [19, 20, 21, 32] {
            corpus.push(base58check(v, &program[..len]));
        }
    }
    for hrp in ["bc", "tb", "bcrt"] {
        let hrp = bech32::Hrp::parse(hrp).unwrap();
        for (version, len) in [
            (bech32::segwit::VERSION_0, 20),
            (bech32::segwit::VERSION_0, 32),
            (bech32::segwit::VERSION_1, 32),
            (bech32::segwit::VERSION_1, 20),
        ] {
            corpus.push(bech32::segwit::encode(hrp, version, &program[..len]).unwrap());
        }
    }
    for a in &corpus {
        let expected: Vec<Network> =
            Network::all().iter().copied().filter(|n| validate_address(*n, a).is_ok()).collect();
        assert_eq!(address_networks(a), expected, "{a:?}");
    }
}

#[test]
fn error_messages() {
    let msg = |n, a| validate_address(n, a).unwrap_err().to_string();
    let err = msg(Network::EthereumSepolia, "0x12");
    assert!(err.starts_with("invalid ethereum-sepolia address"), "{err}");
    let err = msg(Network::Bitcoin, "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyv");
    assert!(err.contains("bech32") && err.contains("checksum"), "{err}");
    let err = msg(Network::Bitcoin, "tb1q6rz28mcfaxtmd6v789l9rrlrusdprr9pqcpvkl");
    assert!(err.contains("different Bitcoin network"), "{err}");
    let err = msg(Network::Bitcoin, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb");
    assert!(err.contains("checksum"), "{err}");
    let err = msg(Network::Ethereum, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD");
    assert!(err.contains("EIP-55"), "{err}");
    let err = msg(Network::Solana, &bs58::encode([7u8; 31]).into_string());
    assert!(err.contains("31 bytes"), "{err}");
}
