//! # sova-chain
//!
//! Chain, network and currency definitions, deposit-address derivation and
//! address validation for Bitcoin, EVM chains and Solana.
//!
//! ## Derivation paths
//!
//! | family (`Network::derivation_family`) | networks | path | address |
//! |---|---|---|---|
//! | `btc` | bitcoin | BIP-84 `m/84'/0'/0'/0/i` | P2WPKH `bc1q…` |
//! | `btc-test` | bitcoin-testnet | BIP-84 `m/84'/1'/0'/0/i` | P2WPKH `tb1q…` |
//! | `evm` | ethereum, ethereum-sepolia | BIP-44 `m/44'/60'/0'/0/i` | EIP-55 `0x…` (last 20 bytes of keccak256 of the uncompressed key) |
//! | `sol` | solana, solana-devnet | SLIP-0010 ed25519 `m/44'/501'/i'/0'` | base58 of the 32-byte public key |
//!
//! Networks of one family share an index sequence: index `i` gives the same
//! address on ethereum and ethereum-sepolia (and on solana and solana-devnet).
//!
//! ## Key sources and the watch-only model
//!
//! * [`KeySource::Sandbox`] holds a BIP-39 seed ([`SandboxSeed`], zeroized on drop,
//!   never printed) and derives every path privately from the master key. Meant for
//!   development and sandbox deployments.
//! * [`KeySource::Watch`] is for production: the server holds only the
//!   **account-level extended public keys** ([`WatchKeys`]: `m/84'/0'/0'` as
//!   xpub/zpub, `m/84'/1'/0'` as tpub/vpub, `m/44'/60'/0'` as xpub) and derives the
//!   non-hardened `0/i` children publicly, so it can create deposit addresses but
//!   never spend. Spending keys stay with the operator (hardware wallet / cold
//!   storage) and the addresses are identical to those of seed mode for the same seed.
//!   SLIP-0010 ed25519 has only hardened derivation, so Solana addresses cannot be
//!   derived from a public key: in watch mode they need the optional
//!   [`WatchKeys::sol_seed`], otherwise [`ChainError::SolanaRequiresSeed`] is returned.
//!
//! Address strings can be checked with [`validate_address`] (checksums included)
//! and classified with [`detect_chain`].
//!
//! [`solana`] decodes Solana wire transactions (legacy and v0), verifies their ed25519 signers, co-signs a
//! fee-payer slot and derives associated token addresses (x402 payment verification).
//!
//! [`watch`] reads chains for deposit watchers: blocks by height with their hash, parent and payments, over each
//! family's node JSON-RPC ([`rpc::JsonRpc`]). [`send`] signs and sends EVM withdrawals from a hot wallet.

mod currency;
mod derive;
mod error;
mod network;
pub mod rpc;
pub mod send;
mod validate;
pub mod watch;
mod wire;

pub mod solana;

pub use currency::Currency;
pub use derive::{DerivedAddress, KeySource, SandboxSeed, WatchKeys, Xpub};
pub use error::ChainError;
pub use network::{Chain, Network};
pub use validate::{address_networks, detect_chain, eip55_checksum, validate_address};
