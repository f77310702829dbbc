//! Error type for the crate.

use crate::network::Network;

/// Everything that can go wrong while parsing keys, deriving or validating addresses.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum ChainError {
    /// The string is not a known network wire name.
    #[error(
        "unknown network {0:?} (expected one of: bitcoin, bitcoin-testnet, ethereum, ethereum-sepolia, solana, solana-devnet)"
    )]
    UnknownNetwork(String),

    /// The string is not a known currency code.
    #[error("unknown currency {0:?} (expected one of: BTC, ETH, SOL, USDC, USDT)")]
    UnknownCurrency(String),

    /// The string is not a known chain family name.
    #[error("unknown chain {0:?} (expected one of: bitcoin, evm, solana)")]
    UnknownChain(String),

    /// The mnemonic is not a valid English BIP-39 phrase (bad word, word count or checksum).
    #[error("invalid BIP-39 mnemonic: {0}")]
    InvalidMnemonic(String),

    /// An extended public key could not be decoded or is not of the expected kind.
    #[error("invalid extended public key: {0}")]
    InvalidExtendedKey(String),

    /// No watch-only key is configured for the requested network.
    #[error("no watch-only key configured for network {0}")]
    MissingWatchKey(Network),

    /// Solana (ed25519, SLIP-0010) has no public derivation, so a seed is needed.
    #[error(
        "Solana addresses cannot be derived from a public key: production (watch-only) mode \
         requires a Solana seed (sol_seed)"
    )]
    SolanaRequiresSeed,

    /// Address indices must fit in 31 bits (BIP-32 non-hardened / hardened index range).
    #[error("address index {0} out of range (must be below 2^31)")]
    IndexOutOfRange(u32),

    /// A key derivation step failed (statistically impossible with valid input).
    #[error("key derivation failed: {0}")]
    Derivation(String),

    /// The address is not valid for the network.
    #[error("invalid {network} address: {reason}")]
    InvalidAddress {
        /// Network the address was checked against.
        network: Network,
        /// Human-readable reason.
        reason: String,
    },
}

impl ChainError {
    pub(crate) fn invalid_address(network: Network, reason: impl Into<String>) -> Self {
        ChainError::InvalidAddress { network, reason: reason.into() }
    }
}
