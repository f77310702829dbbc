//! Derivation tests: published vectors, seed vs watch-only equivalence and
//! independent re-checks of the generated addresses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use bech32::{Fe32, Hrp};
use sha3::{Digest, Keccak256};
use sova_chain::{ChainError, DerivedAddress, KeySource, Network, SandboxSeed, WatchKeys, validate_address};

const ABANDON: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon \
                       abandon abandon about";
/// BIP-84 account 0 key (m/84'/0'/0') for ABANDON, from the BIP-84 test vectors
/// (also listed in SLIP-0132).
const BIP84_ZPUB: &str =
    "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs";
/// The same key with plain BIP-32 `xpub` version bytes.
const BIP84_XPUB: &str =
    "xpub6CatWdiZiodmUeTDp8LT5or8nmbKNcuyvz7WyksVFkKB4RHwCD3XyuvPEbvqAQY3rAPshWcMLoP2fMFMKHPJ4ZeZXYVUhLv1VMrjPC7PW6V";
/// A corrupted variant of the zpub (same 44-character prefix, different tail) that
/// circulated in this project's spec; its base58check checksum does not hold.
const CORRUPTED_ZPUB: &str =
    "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wzAXNc2wdzk9GvhAmFXsFn6qQ5bPMXx2o6ifeSvTAtH5FBpzsYqCiqUdMmnKtaZB";

fn sandbox() -> KeySource {
    KeySource::Sandbox(SandboxSeed::from_mnemonic(ABANDON).unwrap())
}

fn derive(source: &KeySource, network: Network, index: u32) -> DerivedAddress {
    source.derive(network, index).unwrap()
}

/// Re-encodes a base58check extended key with other version bytes.
fn with_version(key: &str, version: [u8; 4]) -> String {
    let mut data = bs58::decode(key).with_check(None).into_vec().unwrap();
    assert_eq!(data.len(), 78);
    data[..4].copy_from_slice(&version);
    bs58::encode(data).with_check().into_string()
}

const XPUB: [u8; 4] = [0x04, 0x88, 0xb2, 0x1e];
const ZPUB: [u8; 4] = [0x04, 0xb2, 0x47, 0x46];
const VPUB: [u8; 4] = [0x04, 0x5f, 0x1c, 0xf6];

// ---------- independent checkers (no code under test) ----------

fn check_segwit_v0(address: &str, hrp: &str) {
    let (got_hrp, version, program) = bech32::segwit::decode(address).unwrap();
    assert_eq!(got_hrp, Hrp::parse(hrp).unwrap(), "{address}");
    assert_eq!(version, Fe32::Q, "{address}: witness version 0");
    assert_eq!(program.len(), 20, "{address}: P2WPKH program");
}

fn eip55_independent(address: &str) -> String {
    let lower = address.trim_start_matches("0x").to_ascii_lowercase();
    let hash = Keccak256::digest(lower.as_bytes());
    let body: String = lower
        .chars()
        .enumerate()
        .map(|(i, c)| {
            let nibble = (hash[i / 2] >> if i % 2 == 0 { 4 } else { 0 }) & 0x0f;
            if c.is_ascii_alphabetic() && nibble >= 8 { c.to_ascii_uppercase() } else { c }
        })
        .collect();
    format!("0x{body}")
}

fn check_evm(address: &str) {
    assert_eq!(address.len(), 42);
    assert_eq!(eip55_independent(address), address);
}

fn check_solana(address: &str) {
    let bytes: [u8; 32] = bs58::decode(address).into_vec().unwrap().try_into().unwrap();
    ed25519_dalek::VerifyingKey::from_bytes(&bytes).unwrap();
}

// ---------- known vectors ----------

#[test]
fn bip84_mainnet_vectors() {
    let src = sandbox();
    let a0 = derive(&src, Network::Bitcoin, 0);
    assert_eq!(a0.address, "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu");
    assert_eq!(a0.path, "m/84'/0'/0'/0/0");
    assert_eq!(a0.index, 0);
    let a1 = derive(&src, Network::Bitcoin, 1);
    assert_eq!(a1.address, "bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g");
    assert_eq!(a1.path, "m/84'/0'/0'/0/1");
}

#[test]
fn bip84_testnet_vector() {
    let a0 = derive(&sandbox(), Network::BitcoinTestnet, 0);
    assert_eq!(a0.address, "tb1q6rz28mcfaxtmd6v789l9rrlrusdprr9pqcpvkl");
    assert_eq!(a0.path, "m/84'/1'/0'/0/0");
}

#[test]
fn evm_vector() {
    let src = sandbox();
    let a0 = derive(&src, Network::Ethereum, 0);
    assert_eq!(a0.address, "0x9858EfFD232B4033E47d90003D41EC34EcaEda94");
    assert_eq!(a0.path, "m/44'/60'/0'/0/0");
    // Same family, same address.
    assert_eq!(derive(&src, Network::EthereumSepolia, 0), a0);
}

#[test]
fn solana_vector() {
    let src = sandbox();
    let a0 = derive(&src, Network::Solana, 0);
    assert_eq!(a0.address, "HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk");
    assert_eq!(a0.path, "m/44'/501'/0'/0'");
    assert_eq!(derive(&src, Network::SolanaDevnet, 0), a0);
    assert_eq!(derive(&src, Network::Solana, 7).path, "m/44'/501'/7'/0'");
}

#[test]
fn account_xpub_matches_bip84_zpub() {
    let seed = SandboxSeed::from_mnemonic(ABANDON).unwrap();
    let xpub = seed.account_xpub(Network::Bitcoin).unwrap();
    assert_eq!(xpub.to_string(), BIP84_XPUB);
    assert_eq!(with_version(&xpub.to_string(), ZPUB), BIP84_ZPUB);
    assert_eq!(with_version(BIP84_ZPUB, XPUB), BIP84_XPUB);
    assert!(matches!(seed.account_xpub(Network::Solana), Err(ChainError::SolanaRequiresSeed)));
}

// ---------- watch-only mode ----------

#[test]
fn watch_zpub_and_xpub_give_seed_addresses() {
    let seed_src = sandbox();
    for key in [BIP84_ZPUB, BIP84_XPUB] {
        let watch =
            KeySource::Watch(WatchKeys { btc: Some(WatchKeys::parse_btc(key).unwrap()), ..WatchKeys::default() });
        let a0 = derive(&watch, Network::Bitcoin, 0);
        assert_eq!(a0.address, "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu");
        assert_eq!(a0.path, "m/84'/0'/0'/0/0");
        assert_eq!(derive(&watch, Network::Bitcoin, 1).address, "bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g");
        for i in [0, 2, 19, 1000, (1 << 31) - 1] {
            assert_eq!(derive(&watch, Network::Bitcoin, i), derive(&seed_src, Network::Bitcoin, i));
        }
    }
}

#[test]
fn watch_mode_matches_seed_mode_all_families() {
    let seed = SandboxSeed::from_mnemonic(ABANDON).unwrap();
    let tpub = seed.account_xpub(Network::BitcoinTestnet).unwrap().to_string();
    assert!(tpub.starts_with("tpub"));
    let vpub = with_version(&tpub, VPUB);
    let evm = seed.account_xpub(Network::Ethereum).unwrap().to_string();
    assert!(evm.starts_with("xpub"));

    let seed_src = sandbox();
    for btc_test in [&tpub, &vpub] {
        let watch = KeySource::Watch(WatchKeys {
            btc: Some(WatchKeys::parse_btc(BIP84_ZPUB).unwrap()),
            btc_test: Some(WatchKeys::parse_btc_test(btc_test).unwrap()),
            evm: Some(WatchKeys::parse_evm(&evm).unwrap()),
            sol_seed: Some(SandboxSeed::from_mnemonic(ABANDON).unwrap()),
        });
        for &network in Network::all() {
            for i in 0..5 {
                assert_eq!(derive(&watch, network, i), derive(&seed_src, network, i));
            }
        }
        assert_eq!(derive(&watch, Network::BitcoinTestnet, 0).address, "tb1q6rz28mcfaxtmd6v789l9rrlrusdprr9pqcpvkl");
        assert_eq!(derive(&watch, Network::Ethereum, 0).address, "0x9858EfFD232B4033E47d90003D41EC34EcaEda94");
    }
}

#[test]
fn watch_mode_missing_keys() {
    let watch = KeySource::Watch(WatchKeys::default());
    assert_eq!(watch.derive(Network::Solana, 0), Err(ChainError::SolanaRequiresSeed));
    assert_eq!(watch.derive(Network::SolanaDevnet, 0), Err(ChainError::SolanaRequiresSeed));
    assert!(ChainError::SolanaRequiresSeed.to_string().contains("requires a Solana seed"));
    assert_eq!(watch.derive(Network::Bitcoin, 0), Err(ChainError::MissingWatchKey(Network::Bitcoin)));
    assert_eq!(watch.derive(Network::BitcoinTestnet, 0), Err(ChainError::MissingWatchKey(Network::BitcoinTestnet)));
    assert_eq!(watch.derive(Network::EthereumSepolia, 0), Err(ChainError::MissingWatchKey(Network::EthereumSepolia)));
}

#[test]
fn watch_key_parsing_rejects_wrong_keys() {
    let seed = SandboxSeed::from_mnemonic(ABANDON).unwrap();
    let tpub = seed.account_xpub(Network::BitcoinTestnet).unwrap().to_string();
    let xpub = with_version(BIP84_ZPUB, XPUB);

    // Network mismatches.
    assert!(WatchKeys::parse_btc(&tpub).is_err());
    assert!(WatchKeys::parse_btc_test(BIP84_ZPUB).is_err());
    assert!(WatchKeys::parse_btc_test(&xpub).is_err());
    // EVM takes plain xpub only.
    assert!(WatchKeys::parse_evm(BIP84_ZPUB).is_err());
    assert!(WatchKeys::parse_evm(&xpub).is_ok());
    // ypub (BIP-49) is refused.
    let ypub = with_version(BIP84_ZPUB, [0x04, 0x9d, 0x7c, 0xb2]);
    let err = WatchKeys::parse_btc(&ypub).unwrap_err().to_string();
    assert!(err.contains("BIP-49"), "{err}");
    // Surrounding whitespace is fine.
    assert!(WatchKeys::parse_btc(&format!("  {BIP84_ZPUB}\n")).is_ok());

    // Bad checksum.
    let mut corrupted = BIP84_ZPUB.to_owned();
    corrupted.pop();
    corrupted.push('C');
    assert!(matches!(WatchKeys::parse_btc(&corrupted), Err(ChainError::InvalidExtendedKey(_))));
    assert!(matches!(WatchKeys::parse_btc(CORRUPTED_ZPUB), Err(ChainError::InvalidExtendedKey(_))));
    assert!(WatchKeys::parse_btc("").is_err());
    assert!(WatchKeys::parse_btc("not a key").is_err());

    // Private keys are refused and not echoed back.
    let secp = bitcoin::secp256k1::Secp256k1::new();
    let bip39_seed = bip39::Mnemonic::parse(ABANDON).unwrap().to_seed("");
    let master = bitcoin::bip32::Xpriv::new_master(bitcoin::NetworkKind::Main, &bip39_seed).unwrap();
    let xprv = master.to_string();
    let err = WatchKeys::parse_btc(&xprv).unwrap_err().to_string();
    assert!(err.contains("PRIVATE"), "{err}");
    assert!(!err.contains(&xprv));

    // Non-account-level keys (master, or a receive-chain key) are refused.
    let master_xpub = bitcoin::bip32::Xpub::from_priv(&secp, &master).to_string();
    let err = WatchKeys::parse_btc(&master_xpub).unwrap_err().to_string();
    assert!(err.contains("depth 0"), "{err}");
    let chain_key = WatchKeys::parse_btc(&xpub)
        .unwrap()
        .derive_pub(&secp, &[bitcoin::bip32::ChildNumber::from_normal_idx(0).unwrap()])
        .unwrap();
    assert!(WatchKeys::parse_btc(&chain_key.to_string()).is_err());
}

// ---------- seeds ----------

#[test]
fn mnemonic_parsing() {
    let a = derive(&sandbox(), Network::Ethereum, 3);
    let shouty = ABANDON.to_uppercase().replace(' ', "  \n ");
    let b = derive(&KeySource::Sandbox(SandboxSeed::from_mnemonic(&shouty).unwrap()), Network::Ethereum, 3);
    assert_eq!(a, b);

    // Bad checksum, unknown word, bad word count.
    let bad_checksum = "abandon ".repeat(12);
    assert!(matches!(SandboxSeed::from_mnemonic(&bad_checksum), Err(ChainError::InvalidMnemonic(_))));
    assert!(SandboxSeed::from_mnemonic(&ABANDON.replace("about", "abute")).is_err());
    assert!(SandboxSeed::from_mnemonic("abandon about").is_err());
    assert!(SandboxSeed::from_mnemonic("").is_err());
}

#[test]
fn generated_seed_round_trips() {
    let (seed, words) = SandboxSeed::generate();
    assert_eq!(words.split_whitespace().count(), 24);
    let again = SandboxSeed::from_mnemonic(&words).unwrap();
    let (a, b) = (KeySource::Sandbox(seed), KeySource::Sandbox(again));
    for &network in Network::all() {
        assert_eq!(derive(&a, network, 0), derive(&b, network, 0));
    }
    let (_, other) = SandboxSeed::generate();
    assert_ne!(words, other);
}

#[test]
fn debug_does_not_leak_secrets() {
    let seed = SandboxSeed::from_mnemonic(ABANDON).unwrap();
    let seed_hex = hex::encode(bip39::Mnemonic::parse(ABANDON).unwrap().to_seed(""));
    let dbg = format!(
        "{seed:?} {:?}",
        KeySource::Watch(WatchKeys {
            sol_seed: Some(SandboxSeed::from_mnemonic(ABANDON).unwrap()),
            ..WatchKeys::default()
        })
    );
    assert!(dbg.contains("redacted"));
    assert!(!dbg.contains(&seed_hex[..16]));
    assert!(!dbg.contains("abandon"));
    let dbg = format!("{:?}", KeySource::Sandbox(seed));
    assert!(!dbg.contains(&seed_hex[..16]));
}

#[test]
fn index_range() {
    let src = sandbox();
    for &network in Network::all() {
        assert_eq!(src.derive(network, 1 << 31), Err(ChainError::IndexOutOfRange(1 << 31)));
        assert!(src.derive(network, (1 << 31) - 1).is_ok());
    }
}

// ---------- independent checks + uniqueness ----------

#[test]
fn generated_addresses_are_well_formed_and_unique() {
    let src = sandbox();
    let mut families: Vec<(Network, HashSet<String>)> = Vec::new();
    for &network in Network::all() {
        let mut seen = HashSet::new();
        for i in 0..50 {
            let a = derive(&src, network, i);
            assert_eq!(a.index, i);
            match network {
                Network::Bitcoin => {
                    check_segwit_v0(&a.address, "bc");
                    assert_eq!(a.path, format!("m/84'/0'/0'/0/{i}"));
                }
                Network::BitcoinTestnet => {
                    check_segwit_v0(&a.address, "tb");
                    assert_eq!(a.path, format!("m/84'/1'/0'/0/{i}"));
                }
                Network::Ethereum | Network::EthereumSepolia => {
                    check_evm(&a.address);
                    assert_eq!(a.path, format!("m/44'/60'/0'/0/{i}"));
                }
                Network::Solana | Network::SolanaDevnet => {
                    check_solana(&a.address);
                    assert_eq!(a.path, format!("m/44'/501'/{i}'/0'"));
                }
            }
            validate_address(network, &a.address).unwrap();
            assert!(seen.insert(a.address), "{network} index {i} repeats");
        }
        assert_eq!(seen.len(), 50);
        families.push((network, seen));
    }
    // Networks of one derivation family share addresses; different families never do.
    for (n1, s1) in &families {
        for (n2, s2) in &families {
            if n1.derivation_family() == n2.derivation_family() {
                assert_eq!(s1, s2);
            } else {
                assert!(s1.is_disjoint(s2), "{n1} / {n2}");
            }
        }
    }
}
