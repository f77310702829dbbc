//! Key sources and address derivation.
//!
//! See the crate documentation for the derivation paths and the watch-only model.

use std::fmt;
use std::sync::OnceLock;

use bitcoin::bip32::{ChildNumber, Xpriv};
use bitcoin::secp256k1::{self, All, Secp256k1};
use bitcoin::{CompressedPublicKey, NetworkKind};
use ed25519_dalek_bip32::{ChildIndex, ExtendedSigningKey};
use rand::RngCore;
use zeroize::{Zeroize, Zeroizing};

pub use bitcoin::bip32::Xpub;

use crate::error::ChainError;
use crate::network::{Chain, Network};

/// BIP-44 purpose used for EVM addresses.
const PURPOSE_BIP44: u32 = 44;
/// BIP-84 purpose (native SegWit P2WPKH) used for Bitcoin addresses.
const PURPOSE_BIP84: u32 = 84;
/// SLIP-44 coin types.
const COIN_BTC: u32 = 0;
const COIN_TESTNET: u32 = 1;
const COIN_ETH: u32 = 60;
const COIN_SOL: u32 = 501;
/// External (receive) chain below the account key.
const RECEIVE_CHAIN: u32 = 0;
/// Depth of an account-level extended key (m / purpose' / coin' / account').
const ACCOUNT_DEPTH: u8 = 3;
/// The account used by seed-mode derivation.
const DEFAULT_ACCOUNT: u32 = 0;

// Extended key version bytes (BIP-32 and SLIP-0132).
const VERSION_XPUB: [u8; 4] = [0x04, 0x88, 0xb2, 0x1e];
const VERSION_TPUB: [u8; 4] = [0x04, 0x35, 0x87, 0xcf];
const VERSION_ZPUB: [u8; 4] = [0x04, 0xb2, 0x47, 0x46];
const VERSION_VPUB: [u8; 4] = [0x04, 0x5f, 0x1c, 0xf6];
const VERSION_YPUB: [u8; 4] = [0x04, 0x9d, 0x7c, 0xb2];
const VERSION_UPUB: [u8; 4] = [0x04, 0x4a, 0x52, 0x62];
const PRIVATE_VERSIONS: [[u8; 4]; 6] = [
    [0x04, 0x88, 0xad, 0xe4], // xprv
    [0x04, 0x35, 0x83, 0x94], // tprv
    [0x04, 0xb2, 0x43, 0x0c], // zprv
    [0x04, 0x5f, 0x18, 0xbc], // vprv
    [0x04, 0x9d, 0x78, 0x78], // yprv
    [0x04, 0x4a, 0x4e, 0x28], // uprv
];

fn secp() -> &'static Secp256k1<All> {
    static SECP: OnceLock<Secp256k1<All>> = OnceLock::new();
    SECP.get_or_init(Secp256k1::new)
}

/// A 64-byte BIP-39 seed. The bytes are zeroized on drop and never printed.
pub struct SandboxSeed {
    bytes: [u8; 64],
}

impl SandboxSeed {
    /// Generates a fresh 24-word English mnemonic from the OS RNG and returns the
    /// seed (empty passphrase) together with the mnemonic phrase.
    pub fn generate() -> (SandboxSeed, String) {
        let mut entropy = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(entropy.as_mut());
        let Ok(mnemonic) = bip39::Mnemonic::from_entropy(entropy.as_ref()) else {
            unreachable!("256 bits is a valid BIP-39 entropy length");
        };
        let phrase = mnemonic.to_string();
        (Self::from_bip39(&mnemonic), phrase)
    }

    /// Parses an English BIP-39 mnemonic (any whitespace between words, any case)
    /// and derives the seed with an empty passphrase.
    pub fn from_mnemonic(words: &str) -> Result<SandboxSeed, ChainError> {
        let normalized = Zeroizing::new(words.trim().to_lowercase());
        let mnemonic = bip39::Mnemonic::parse_in(bip39::Language::English, normalized.as_str())
            .map_err(|e| ChainError::InvalidMnemonic(e.to_string()))?;
        Ok(Self::from_bip39(&mnemonic))
    }

    fn from_bip39(mnemonic: &bip39::Mnemonic) -> SandboxSeed {
        let mut bytes = mnemonic.to_seed("");
        let seed = SandboxSeed { bytes };
        bytes.zeroize();
        seed
    }

    /// The account-level extended public key for `network`'s derivation family
    /// (m/84'/0'/0' for bitcoin, m/84'/1'/0' for bitcoin-testnet, m/44'/60'/0' for EVM),
    /// i.e. what an operator exports from this seed to run in watch-only mode.
    /// Solana has no extended public keys and yields [`ChainError::SolanaRequiresSeed`].
    pub fn account_xpub(&self, network: Network) -> Result<Xpub, ChainError> {
        let (purpose, coin) = match network.chain() {
            Chain::Bitcoin => (PURPOSE_BIP84, btc_coin(network)),
            Chain::Evm => (PURPOSE_BIP44, COIN_ETH),
            Chain::Solana => return Err(ChainError::SolanaRequiresSeed),
        };
        let kind = if network == Network::BitcoinTestnet { NetworkKind::Test } else { NetworkKind::Main };
        let mut account = self.derive_secp(kind, &[hardened(purpose)?, hardened(coin)?, hardened(DEFAULT_ACCOUNT)?])?;
        let xpub = Xpub::from_priv(secp(), &account);
        account.private_key.non_secure_erase();
        Ok(xpub)
    }

    /// BIP-32 (secp256k1) derivation of `path` from this seed's master key.
    fn derive_secp(&self, kind: NetworkKind, path: &[ChildNumber]) -> Result<Xpriv, ChainError> {
        let mut key = Xpriv::new_master(kind, &self.bytes).map_err(derivation_err)?;
        for step in path {
            let next = key.derive_priv(secp(), &[*step]).map_err(derivation_err);
            key.private_key.non_secure_erase();
            key = next?;
        }
        Ok(key)
    }

    /// Public key at `path` (all steps from the master key, private derivation).
    fn secp_public_key(&self, path: &[ChildNumber]) -> Result<secp256k1::PublicKey, ChainError> {
        let mut key = self.derive_secp(NetworkKind::Main, path)?;
        let public = secp256k1::PublicKey::from_secret_key(secp(), &key.private_key);
        key.private_key.non_secure_erase();
        Ok(public)
    }

    /// SLIP-0010 ed25519 public key at m/44'/501'/index'/0'.
    fn solana_public_key(&self, index: u32) -> Result<[u8; 32], ChainError> {
        let path = [
            ChildIndex::Hardened(PURPOSE_BIP44),
            ChildIndex::Hardened(COIN_SOL),
            ChildIndex::Hardened(index),
            ChildIndex::Hardened(0),
        ];
        let key = ExtendedSigningKey::from_seed(&self.bytes)
            .and_then(|master| master.derive(&path))
            .map_err(derivation_err)?;
        Ok(key.verifying_key().to_bytes())
    }
}

impl Drop for SandboxSeed {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl fmt::Debug for SandboxSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SandboxSeed(<redacted>)")
    }
}

/// Production watch-only keys: account-level extended public keys, no private keys.
#[derive(Debug, Default)]
pub struct WatchKeys {
    /// Bitcoin mainnet account key (m/84'/0'/account').
    pub btc: Option<Xpub>,
    /// Bitcoin testnet account key (m/84'/1'/account').
    pub btc_test: Option<Xpub>,
    /// EVM account key (m/44'/60'/account').
    pub evm: Option<Xpub>,
    /// Solana has no public derivation (ed25519 SLIP-0010 is hardened-only), so
    /// deriving Solana addresses needs a seed.
    pub sol_seed: Option<SandboxSeed>,
}

impl WatchKeys {
    /// Parses a Bitcoin mainnet BIP-84 account key (`xpub…` or `zpub…`, m/84'/0'/account').
    pub fn parse_btc(s: &str) -> Result<Xpub, ChainError> {
        parse_account_xpub(s, &[VERSION_XPUB, VERSION_ZPUB], VERSION_XPUB, "xpub or zpub")
    }

    /// Parses a Bitcoin testnet BIP-84 account key (`tpub…` or `vpub…`, m/84'/1'/account').
    pub fn parse_btc_test(s: &str) -> Result<Xpub, ChainError> {
        parse_account_xpub(s, &[VERSION_TPUB, VERSION_VPUB], VERSION_TPUB, "tpub or vpub")
    }

    /// Parses an EVM BIP-44 account key (`xpub…`, m/44'/60'/account').
    pub fn parse_evm(s: &str) -> Result<Xpub, ChainError> {
        parse_account_xpub(s, &[VERSION_XPUB], VERSION_XPUB, "xpub")
    }
}

/// Decodes a base58check extended public key, maps accepted (SLIP-0132) version
/// bytes to the plain BIP-32 ones and checks it is an account-level key.
/// The input is never echoed in errors (it might be a private key pasted by mistake).
fn parse_account_xpub(s: &str, accepted: &[[u8; 4]], canonical: [u8; 4], expected: &str) -> Result<Xpub, ChainError> {
    let invalid = |reason: String| ChainError::InvalidExtendedKey(reason);
    let mut data = Zeroizing::new(
        bs58::decode(s.trim())
            .with_check(None)
            .into_vec()
            .map_err(|e| invalid(format!("base58check decoding failed: {e}")))?,
    );
    if data.len() != 78 {
        return Err(invalid(format!("expected 78 bytes after base58check decoding, got {}", data.len())));
    }
    let mut version = [0u8; 4];
    version.copy_from_slice(&data[..4]);
    if PRIVATE_VERSIONS.contains(&version) {
        return Err(invalid(format!("this is an extended PRIVATE key; provide the {expected} (public) key instead")));
    }
    if !accepted.contains(&version) {
        let hint = match version {
            VERSION_YPUB | VERSION_UPUB => " (ypub/upub are BIP-49 P2SH-SegWit keys, which are not supported)",
            VERSION_XPUB | VERSION_ZPUB => " (this is a mainnet key)",
            VERSION_TPUB | VERSION_VPUB => " (this is a testnet key)",
            _ => "",
        };
        return Err(invalid(format!("unexpected version bytes {}; expected {expected}{hint}", hex::encode(version))));
    }
    data[..4].copy_from_slice(&canonical);
    let xpub = Xpub::decode(&data).map_err(|e| invalid(e.to_string()))?;
    account_index(&xpub)?;
    Ok(xpub)
}

/// Checks that `xpub` is an account-level key (depth 3, hardened child number)
/// and returns its account number.
fn account_index(xpub: &Xpub) -> Result<u32, ChainError> {
    if xpub.depth != ACCOUNT_DEPTH {
        return Err(ChainError::InvalidExtendedKey(format!(
            "expected an account-level key (depth {ACCOUNT_DEPTH}, m/purpose'/coin'/account'), \
             got depth {}",
            xpub.depth
        )));
    }
    match xpub.child_number {
        ChildNumber::Hardened { index } => Ok(index),
        ChildNumber::Normal { .. } => {
            Err(ChainError::InvalidExtendedKey("account-level key must be a hardened child (account')".to_owned()))
        }
    }
}

/// Where address keys come from.
// Built once at startup and shared, so the variant size difference does not
// matter; keeping `Watch(WatchKeys)` unboxed keeps construction simple.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum KeySource {
    /// Everything derived from one seed (development / sandbox deployments).
    Sandbox(SandboxSeed),
    /// Watch-only production keys.
    Watch(WatchKeys),
}

/// A derived deposit address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DerivedAddress {
    /// The address in its canonical string form.
    pub address: String,
    /// Full derivation path from the master key, e.g. `m/84'/1'/0'/0/7`.
    pub path: String,
    /// The address index (last path component).
    pub index: u32,
}

impl KeySource {
    /// Derives the receive address number `index` (below 2^31) for `network`.
    /// Networks of one [derivation family](Network::derivation_family) give the same
    /// address for the same index.
    pub fn derive(&self, network: Network, index: u32) -> Result<DerivedAddress, ChainError> {
        if index >= (1 << 31) {
            return Err(ChainError::IndexOutOfRange(index));
        }
        match network.chain() {
            Chain::Bitcoin => {
                let coin = btc_coin(network);
                let (public, account) = match self {
                    KeySource::Sandbox(seed) => {
                        let path = full_path(PURPOSE_BIP84, coin, DEFAULT_ACCOUNT, index)?;
                        (seed.secp_public_key(&path)?, DEFAULT_ACCOUNT)
                    }
                    KeySource::Watch(keys) => {
                        let xpub = if network == Network::Bitcoin { keys.btc.as_ref() } else { keys.btc_test.as_ref() };
                        let xpub = xpub.ok_or(ChainError::MissingWatchKey(network))?;
                        watch_public_key(xpub, index)?
                    }
                };
                let btc_network =
                    if network == Network::Bitcoin { bitcoin::Network::Bitcoin } else { bitcoin::Network::Testnet };
                let address = bitcoin::Address::p2wpkh(&CompressedPublicKey(public), btc_network);
                Ok(DerivedAddress {
                    address: address.to_string(),
                    path: format!("m/{PURPOSE_BIP84}'/{coin}'/{account}'/{RECEIVE_CHAIN}/{index}"),
                    index,
                })
            }
            Chain::Evm => {
                let (public, account) = match self {
                    KeySource::Sandbox(seed) => {
                        let path = full_path(PURPOSE_BIP44, COIN_ETH, DEFAULT_ACCOUNT, index)?;
                        (seed.secp_public_key(&path)?, DEFAULT_ACCOUNT)
                    }
                    KeySource::Watch(keys) => {
                        let xpub = keys.evm.as_ref().ok_or(ChainError::MissingWatchKey(network))?;
                        watch_public_key(xpub, index)?
                    }
                };
                let uncompressed = public.serialize_uncompressed();
                let address = alloy_primitives::Address::from_raw_public_key(&uncompressed[1..]);
                Ok(DerivedAddress {
                    address: address.to_checksum(None),
                    path: format!("m/{PURPOSE_BIP44}'/{COIN_ETH}'/{account}'/{RECEIVE_CHAIN}/{index}"),
                    index,
                })
            }
            Chain::Solana => {
                let seed = match self {
                    KeySource::Sandbox(seed) => seed,
                    KeySource::Watch(keys) => keys.sol_seed.as_ref().ok_or(ChainError::SolanaRequiresSeed)?,
                };
                let public = seed.solana_public_key(index)?;
                Ok(DerivedAddress {
                    address: bs58::encode(public).into_string(),
                    path: format!("m/{PURPOSE_BIP44}'/{COIN_SOL}'/{index}'/0'"),
                    index,
                })
            }
        }
    }
}

fn btc_coin(network: Network) -> u32 {
    if network == Network::BitcoinTestnet { COIN_TESTNET } else { COIN_BTC }
}

fn hardened(index: u32) -> Result<ChildNumber, ChainError> {
    ChildNumber::from_hardened_idx(index).map_err(|_| ChainError::IndexOutOfRange(index))
}

fn normal(index: u32) -> Result<ChildNumber, ChainError> {
    ChildNumber::from_normal_idx(index).map_err(|_| ChainError::IndexOutOfRange(index))
}

/// m / purpose' / coin' / account' / 0 / index
fn full_path(purpose: u32, coin: u32, account: u32, index: u32) -> Result<[ChildNumber; 5], ChainError> {
    Ok([hardened(purpose)?, hardened(coin)?, hardened(account)?, normal(RECEIVE_CHAIN)?, normal(index)?])
}

/// Public derivation of account / 0 / index; returns the key and the account number.
fn watch_public_key(xpub: &Xpub, index: u32) -> Result<(secp256k1::PublicKey, u32), ChainError> {
    let account = account_index(xpub)?;
    let child = xpub.derive_pub(secp(), &[normal(RECEIVE_CHAIN)?, normal(index)?]).map_err(derivation_err)?;
    Ok((child.public_key, account))
}

fn derivation_err(e: impl fmt::Display) -> ChainError {
    ChainError::Derivation(e.to_string())
}
