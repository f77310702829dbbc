//! What a deposit watcher reads of a chain: its blocks by height, each with its hash and its parent's, and the
//! payments in it ([`Block`]), through one trait ([`BlockSource`]) with one implementation per chain family, each
//! over the node's own JSON-RPC ([`evm::EvmSource`], [`bitcoin::BitcoinSource`], [`solana::SolanaSource`]).
//!
//! A source reports what the chain holds; it knows nothing of Sova's addresses: the watcher keeps the payments to
//! issued deposit addresses and drops the rest. Amounts are exact decimal strings in the currency's whole units
//! (ether, bitcoin, SOL, tokens), converted from the chain's integer base units without floating point (Bitcoin
//! Core's JSON `value` is the one float on the wire: it is read to satoshis by the `bitcoin` crate's
//! `Amount::from_btc`, exact for every amount Bitcoin can hold).

pub mod bitcoin;
pub mod evm;
pub mod solana;

use crate::rpc::RpcError;
use crate::{Currency, Network};

/// A block's place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRef {
    /// Height (Solana: slot).
    pub height: u64,
    /// Hash as the chain's tools print it (EVM: `0x` + 64 lower-case hex; Bitcoin: 64 hex; Solana: base58).
    pub hash: String,
    /// The parent's hash, in the same form.
    pub parent: String,
}

/// A payment seen in a block: a transfer of `amount` of `currency` to `address`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// The transaction (EVM hash, Bitcoin txid, Solana signature).
    pub tx_hash: String,
    /// Where in the transaction: Bitcoin's output index, an EVM log index (`-1` for the transaction's own value),
    /// Solana's account index in the transaction. With `tx_hash` it names the payment across reorgs.
    pub index: i64,
    /// The receiving address, as Sova issues it (EVM: EIP-55; Solana: the owner, also for tokens).
    pub address: String,
    /// What was paid.
    pub currency: Currency,
    /// Exact decimal amount in whole units, canonical (no trailing zeros).
    pub amount: String,
}

/// A block and the payments in it (all of them: the watcher keeps those to its addresses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Where it is.
    pub at: BlockRef,
    /// Payments, in the block's order.
    pub payments: Vec<Payment>,
}

/// A chain as a watcher reads it.
#[async_trait::async_trait]
pub trait BlockSource: Send + Sync {
    /// The network it reads.
    fn network(&self) -> Network;
    /// The node (URL without credentials), for logs and health.
    fn label(&self) -> String;
    /// The height of the node's best block.
    async fn tip(&self) -> Result<u64, RpcError>;
    /// The highest block the chain itself calls final (EVM's `finalized` tag, Solana's `finalized` commitment),
    /// or `None` when the chain has no such notion (Bitcoin) or the node does not answer it.
    async fn finalized(&self) -> Result<Option<u64>, RpcError>;
    /// The hash of the node's main-chain block at `height`, or `None` if there is none there (beyond the tip; a
    /// skipped Solana slot).
    async fn hash_at(&self, height: u64) -> Result<Option<String>, RpcError>;
    /// The node's main-chain block at `height`, or where heights may be empty (Solana's skipped slots) the first one
    /// above it up to `tip`; `None` if there is none yet. An answer the node cannot give now is an error, never a
    /// skip: the watcher retries the same height.
    async fn block(&self, height: u64, tip: u64) -> Result<Option<Block>, RpcError>;
}

/// `units` base units of a currency with `decimals` decimals as a canonical decimal string ("0" for zero), exact:
/// `1500000` with 6 decimals is `"1.5"`.
pub fn units_to_decimal(units: &str, decimals: u32) -> Option<String> {
    if units.is_empty() || !units.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = units.trim_start_matches('0');
    if digits.is_empty() {
        return Some("0".into());
    }
    let d = decimals as usize;
    let (int, frac) = if digits.len() > d {
        (digits[..digits.len() - d].to_string(), digits[digits.len() - d..].to_string())
    } else {
        ("0".to_string(), format!("{}{}", "0".repeat(d - digits.len()), digits))
    };
    let frac = frac.trim_end_matches('0');
    Some(if frac.is_empty() { int } else { format!("{int}.{frac}") })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::units_to_decimal;

    #[test]
    fn units() {
        assert_eq!(units_to_decimal("1500000", 6).unwrap(), "1.5");
        assert_eq!(units_to_decimal("1", 18).unwrap(), "0.000000000000000001");
        assert_eq!(units_to_decimal("000", 8).unwrap(), "0");
        assert_eq!(units_to_decimal("100000000", 8).unwrap(), "1");
        assert_eq!(units_to_decimal("123456789012345678901234567890", 18).unwrap(), "123456789012.34567890123456789");
        assert_eq!(units_to_decimal("5", 0).unwrap(), "5");
        assert!(units_to_decimal("-1", 6).is_none());
        assert!(units_to_decimal("", 6).is_none());
        assert!(units_to_decimal("0x10", 6).is_none());
    }
}
