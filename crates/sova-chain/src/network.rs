//! Chain families and networks.

/// A chain family: networks of one family share an address format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Chain {
    /// Bitcoin (mainnet and testnet).
    Bitcoin,
    /// Ethereum-compatible chains.
    Evm,
    /// Solana.
    Solana,
}

impl Chain {
    /// Wire name: `"bitcoin"`, `"evm"` or `"solana"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Chain::Bitcoin => "bitcoin",
            Chain::Evm => "evm",
            Chain::Solana => "solana",
        }
    }

    /// Parses a wire name (case-insensitive, surrounding whitespace ignored).
    pub fn parse(s: &str) -> Option<Chain> {
        let s = s.trim();
        [Chain::Bitcoin, Chain::Evm, Chain::Solana].into_iter().find(|c| c.as_str().eq_ignore_ascii_case(s))
    }

    /// All chain families.
    pub fn all() -> &'static [Chain] {
        &[Chain::Bitcoin, Chain::Evm, Chain::Solana]
    }
}

/// A concrete network. Wire names are lower-case, see [`Network::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Network {
    /// Bitcoin mainnet (`"bitcoin"`).
    Bitcoin,
    /// Bitcoin testnet (`"bitcoin-testnet"`).
    BitcoinTestnet,
    /// Ethereum mainnet (`"ethereum"`).
    Ethereum,
    /// Ethereum Sepolia testnet (`"ethereum-sepolia"`).
    EthereumSepolia,
    /// Solana mainnet-beta (`"solana"`).
    Solana,
    /// Solana devnet (`"solana-devnet"`).
    SolanaDevnet,
}

const ALL_NETWORKS: &[Network] = &[
    Network::Bitcoin,
    Network::BitcoinTestnet,
    Network::Ethereum,
    Network::EthereumSepolia,
    Network::Solana,
    Network::SolanaDevnet,
];

impl Network {
    /// Parses a wire name (case-insensitive, surrounding whitespace ignored).
    pub fn parse(s: &str) -> Option<Network> {
        let s = s.trim();
        ALL_NETWORKS.iter().copied().find(|n| n.as_str().eq_ignore_ascii_case(s))
    }

    /// A random transaction hash in this network's form (`0x` + 64 hex on EVM, 64 hex on Bitcoin and Solana's
    /// sandbox), for what the sandbox pretends to send or receive: on no chain.
    pub fn sandbox_tx_hash(&self) -> String {
        use rand::RngCore;
        let mut b = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut b);
        let h = hex::encode(b);
        match self.chain() {
            Chain::Evm => format!("0x{h}"),
            _ => h,
        }
    }

    /// Lower-case wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Network::Bitcoin => "bitcoin",
            Network::BitcoinTestnet => "bitcoin-testnet",
            Network::Ethereum => "ethereum",
            Network::EthereumSepolia => "ethereum-sepolia",
            Network::Solana => "solana",
            Network::SolanaDevnet => "solana-devnet",
        }
    }

    /// The chain family of this network.
    pub fn chain(&self) -> Chain {
        match self {
            Network::Bitcoin | Network::BitcoinTestnet => Chain::Bitcoin,
            Network::Ethereum | Network::EthereumSepolia => Chain::Evm,
            Network::Solana | Network::SolanaDevnet => Chain::Solana,
        }
    }

    /// Whether this is a test network (no real value).
    pub fn is_testnet(&self) -> bool {
        matches!(self, Network::BitcoinTestnet | Network::EthereumSepolia | Network::SolanaDevnet)
    }

    /// All supported networks.
    pub fn all() -> &'static [Network] {
        ALL_NETWORKS
    }

    /// Derivation family. Addresses of networks in one family share one index
    /// sequence and one derivation path (and therefore the same address for a
    /// given index):
    /// `"btc"` (bitcoin), `"btc-test"` (bitcoin-testnet),
    /// `"evm"` (ethereum + ethereum-sepolia), `"sol"` (solana + solana-devnet).
    pub fn derivation_family(&self) -> &'static str {
        match self {
            Network::Bitcoin => "btc",
            Network::BitcoinTestnet => "btc-test",
            Network::Ethereum | Network::EthereumSepolia => "evm",
            Network::Solana | Network::SolanaDevnet => "sol",
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn round_trips() {
        for n in Network::all() {
            assert_eq!(Network::parse(n.as_str()), Some(*n));
            assert_eq!(n.to_string().parse::<Network>().unwrap(), *n);
            let json = serde_json::to_string(n).unwrap();
            assert_eq!(json, format!("\"{}\"", n.as_str()));
            assert_eq!(serde_json::from_str::<Network>(&json).unwrap(), *n);
        }
        assert_eq!(Network::parse("  Ethereum-SEPOLIA \n"), Some(Network::EthereumSepolia));
        assert_eq!(Network::parse("sepolia"), None);
        assert!("dogecoin".parse::<Network>().is_err());
        assert!(serde_json::from_str::<Network>("\"dogecoin\"").is_err());
        assert!(serde_json::from_str::<Network>("3").is_err());
        for c in Chain::all() {
            assert_eq!(c.as_str().parse::<Chain>().unwrap(), *c);
        }
    }

    #[test]
    fn families() {
        assert_eq!(Network::Bitcoin.derivation_family(), "btc");
        assert_eq!(Network::BitcoinTestnet.derivation_family(), "btc-test");
        assert_eq!(Network::Ethereum.derivation_family(), "evm");
        assert_eq!(Network::EthereumSepolia.derivation_family(), "evm");
        assert_eq!(Network::Solana.derivation_family(), "sol");
        assert_eq!(Network::SolanaDevnet.derivation_family(), "sol");
        let testnets: Vec<_> = Network::all().iter().filter(|n| n.is_testnet()).collect();
        assert_eq!(testnets.len(), 3);
        assert_eq!(Network::SolanaDevnet.chain(), Chain::Solana);
    }
}
