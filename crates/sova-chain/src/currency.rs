//! Supported currencies.

use crate::network::{Chain, Network};

/// A currency. Wire names are upper-case, see [`Currency::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Currency {
    /// Bitcoin (`"BTC"`).
    Btc,
    /// Ether (`"ETH"`).
    Eth,
    /// Solana (`"SOL"`).
    Sol,
    /// USD Coin (`"USDC"`, ERC-20 / SPL token).
    Usdc,
    /// Tether (`"USDT"`, ERC-20 / SPL token).
    Usdt,
}

const ALL_CURRENCIES: &[Currency] = &[Currency::Btc, Currency::Eth, Currency::Sol, Currency::Usdc, Currency::Usdt];

const BTC_NETWORKS: &[Network] = &[Network::Bitcoin, Network::BitcoinTestnet];
const ETH_NETWORKS: &[Network] = &[Network::Ethereum, Network::EthereumSepolia];
const SOL_NETWORKS: &[Network] = &[Network::Solana, Network::SolanaDevnet];
const STABLE_NETWORKS: &[Network] =
    &[Network::Ethereum, Network::EthereumSepolia, Network::Solana, Network::SolanaDevnet];

impl Currency {
    /// Parses a currency code (case-insensitive, surrounding whitespace ignored).
    pub fn parse(s: &str) -> Option<Currency> {
        let s = s.trim();
        ALL_CURRENCIES.iter().copied().find(|c| c.as_str().eq_ignore_ascii_case(s))
    }

    /// Upper-case wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Currency::Btc => "BTC",
            Currency::Eth => "ETH",
            Currency::Sol => "SOL",
            Currency::Usdc => "USDC",
            Currency::Usdt => "USDT",
        }
    }

    /// Number of decimals of the smallest on-chain unit
    /// (satoshi, wei, lamport, token base unit).
    pub fn decimals(&self) -> u32 {
        match self {
            Currency::Btc => 8,
            Currency::Eth => 18,
            Currency::Sol => 9,
            Currency::Usdc | Currency::Usdt => 6,
        }
    }

    /// The largest amount one operation (a deposit, a withdrawal) may move, in whole units: above any real supply,
    /// and small enough that balances stay well inside the exact range of the ledger's decimals (28 significant
    /// digits) across many operations.
    pub fn max_amount(&self) -> u64 {
        match self {
            Currency::Btc => 21_000_000,
            Currency::Eth | Currency::Sol => 1_000_000_000,
            Currency::Usdc | Currency::Usdt => 1_000_000_000_000,
        }
    }

    /// Networks on which this currency is supported.
    pub fn networks(&self) -> &'static [Network] {
        match self {
            Currency::Btc => BTC_NETWORKS,
            Currency::Eth => ETH_NETWORKS,
            Currency::Sol => SOL_NETWORKS,
            Currency::Usdc | Currency::Usdt => STABLE_NETWORKS,
        }
    }

    /// Whether this currency is supported on `n`.
    pub fn supports(&self, n: Network) -> bool {
        self.networks().contains(&n)
    }

    /// All supported currencies.
    pub fn all() -> &'static [Currency] {
        ALL_CURRENCIES
    }
}

impl Network {
    /// The network's native (fee) currency.
    pub fn native_currency(&self) -> Currency {
        match self.chain() {
            Chain::Bitcoin => Currency::Btc,
            Chain::Evm => Currency::Eth,
            Chain::Solana => Currency::Sol,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn round_trips() {
        for c in Currency::all() {
            assert_eq!(Currency::parse(&c.as_str().to_lowercase()), Some(*c));
            assert_eq!(c.to_string().parse::<Currency>().unwrap(), *c);
            let json = serde_json::to_string(c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            assert_eq!(serde_json::from_str::<Currency>(&json).unwrap(), *c);
        }
        assert_eq!(serde_json::from_str::<Currency>("\"usdc\"").unwrap(), Currency::Usdc);
        assert_eq!(Currency::parse("DOGE"), None);
        assert!("".parse::<Currency>().is_err());
    }

    #[test]
    fn decimals_and_support() {
        assert_eq!(Currency::Btc.decimals(), 8);
        assert_eq!(Currency::Eth.decimals(), 18);
        assert_eq!(Currency::Sol.decimals(), 9);
        assert_eq!(Currency::Usdc.decimals(), 6);
        assert_eq!(Currency::Usdt.decimals(), 6);
        assert!(Currency::Btc.supports(Network::BitcoinTestnet));
        assert!(!Currency::Btc.supports(Network::Ethereum));
        assert!(Currency::Usdt.supports(Network::SolanaDevnet));
        assert!(!Currency::Usdc.supports(Network::Bitcoin));
        assert!(!Currency::Sol.supports(Network::Ethereum));
        // Every network supports its native currency.
        for n in Network::all() {
            assert!(n.native_currency().supports(*n));
        }
        assert_eq!(Network::EthereumSepolia.native_currency(), Currency::Eth);
    }
}
