//! Solana over its JSON-RPC: `getSlot` (`confirmed` for the tip, `finalized` for finality) and `getBlock` (JSON
//! encoding, full transaction details, versioned transactions). Heights are slots; a skipped slot has no block, so
//! [`BlockSource::block`] walks to the next produced one. Payments are read from each successful transaction's
//! balance changes: an account whose lamports grew received SOL (index: its account index), and a token account of
//! a watched mint whose amount grew paid its owner (index: 256 + its account index; a transaction has fewer than 256
//! accounts). Deposits of tokens are credited to the owner, the address Sova issues.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{Block, BlockRef, BlockSource, Payment, units_to_decimal};
use crate::rpc::{JsonRpc, RpcError};
use crate::{Currency, Network};

/// The USDC and USDT mints Sova watches by default on a network.
pub fn default_mints(network: Network) -> Vec<(Currency, String)> {
    let pairs: &[(Currency, &str)] = match network {
        Network::Solana => &[
            (Currency::Usdc, "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"),
            (Currency::Usdt, "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB"),
        ],
        Network::SolanaDevnet => &[(Currency::Usdc, "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU")],
        _ => &[],
    };
    pairs.iter().map(|(c, m)| (*c, m.to_string())).collect()
}

/// Slot skipped, or missing (ledger jump, long-term storage).
const SKIPPED: &[i64] = &[-32007, -32009];

/// A Solana network read through one node.
#[derive(Debug, Clone)]
pub struct SolanaSource {
    network: Network,
    rpc: JsonRpc,
    mints: HashMap<String, Currency>,
}

impl SolanaSource {
    /// A source for `network` through the node at `url`, crediting the tokens of `mints` (currency, mint).
    pub fn new(network: Network, url: &str, mints: &[(Currency, String)]) -> Self {
        Self { network, rpc: JsonRpc::new(url), mints: mints.iter().map(|(c, m)| (m.clone(), *c)).collect() }
    }

    async fn get_block(&self, slot: u64, details: &str) -> Result<Option<Value>, RpcError> {
        let params = json!([slot, {"encoding": "json", "transactionDetails": details, "rewards": false,
            "maxSupportedTransactionVersion": 0, "commitment": "confirmed"}]);
        match self.rpc.call("getBlock", params).await {
            Ok(Value::Null) => Ok(None),
            Ok(b) => Ok(Some(b)),
            Err(RpcError::Node { code, .. }) if SKIPPED.contains(&code) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn payments(&self, tx: &Value, out: &mut Vec<Payment>) -> Result<(), RpcError> {
        let meta = &tx["meta"];
        if !meta["err"].is_null() {
            return Ok(());
        }
        let signature = tx["transaction"]["signatures"][0]
            .as_str()
            .ok_or_else(|| RpcError::Shape("transaction signature".into()))?
            .to_string();
        let mut keys: Vec<&str> = Vec::new();
        for list in [
            &tx["transaction"]["message"]["accountKeys"],
            &meta["loadedAddresses"]["writable"],
            &meta["loadedAddresses"]["readonly"],
        ] {
            keys.extend(list.as_array().map(Vec::as_slice).unwrap_or_default().iter().filter_map(Value::as_str));
        }
        let pre = meta["preBalances"].as_array().cloned().unwrap_or_default();
        let post = meta["postBalances"].as_array().cloned().unwrap_or_default();
        for (i, key) in keys.iter().enumerate() {
            let (Some(a), Some(b)) = (pre.get(i).and_then(Value::as_u64), post.get(i).and_then(Value::as_u64)) else {
                continue;
            };
            if b > a {
                out.push(Payment {
                    tx_hash: signature.clone(),
                    index: i as i64,
                    address: key.to_string(),
                    currency: Currency::Sol,
                    amount: units_to_decimal(&(b - a).to_string(), 9).unwrap_or_default(),
                });
            }
        }
        let token = |v: &Value| -> Option<(u64, String, String, u128, u32)> {
            let mint = v["mint"].as_str()?.to_string();
            let owner = v["owner"].as_str()?.to_string();
            let amount = v["uiTokenAmount"]["amount"].as_str()?.parse::<u128>().ok()?;
            let decimals = u32::try_from(v["uiTokenAmount"]["decimals"].as_u64()?).ok()?;
            Some((v["accountIndex"].as_u64()?, mint, owner, amount, decimals))
        };
        let before: HashMap<u64, u128> = meta["preTokenBalances"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(token)
            .map(|(i, _, _, amount, _)| (i, amount))
            .collect();
        for (i, mint, owner, amount, decimals) in
            meta["postTokenBalances"].as_array().map(Vec::as_slice).unwrap_or_default().iter().filter_map(token)
        {
            let Some(currency) = self.mints.get(&mint) else { continue };
            let was = before.get(&i).copied().unwrap_or(0);
            if amount > was {
                out.push(Payment {
                    tx_hash: signature.clone(),
                    index: 256 + i as i64,
                    address: owner,
                    currency: *currency,
                    amount: units_to_decimal(&(amount - was).to_string(), decimals).unwrap_or_default(),
                });
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl BlockSource for SolanaSource {
    fn network(&self) -> Network {
        self.network
    }

    fn label(&self) -> String {
        self.rpc.label()
    }

    async fn tip(&self) -> Result<u64, RpcError> {
        let s = self.rpc.call("getSlot", json!([{"commitment": "confirmed"}])).await?;
        s.as_u64().ok_or_else(|| RpcError::Shape("getSlot".into()))
    }

    async fn finalized(&self) -> Result<Option<u64>, RpcError> {
        let s = self.rpc.call("getSlot", json!([{"commitment": "finalized"}])).await?;
        Ok(s.as_u64())
    }

    async fn hash_at(&self, height: u64) -> Result<Option<String>, RpcError> {
        Ok(match self.get_block(height, "none").await? {
            Some(b) => Some(b["blockhash"].as_str().ok_or_else(|| RpcError::Shape("blockhash".into()))?.to_string()),
            None => None,
        })
    }

    async fn block(&self, height: u64, tip: u64) -> Result<Option<Block>, RpcError> {
        let mut slot = height;
        while slot <= tip {
            if let Some(b) = self.get_block(slot, "full").await? {
                let at = BlockRef {
                    height: slot,
                    hash: b["blockhash"].as_str().ok_or_else(|| RpcError::Shape("blockhash".into()))?.to_string(),
                    parent: b["previousBlockhash"]
                        .as_str()
                        .ok_or_else(|| RpcError::Shape("previousBlockhash".into()))?
                        .to_string(),
                };
                let mut payments = Vec::new();
                for tx in b["transactions"].as_array().map(Vec::as_slice).unwrap_or_default() {
                    self.payments(tx, &mut payments)?;
                }
                return Ok(Some(Block { at, payments }));
            }
            slot += 1;
        }
        Ok(None)
    }
}
