//! EVM chains over the standard Ethereum JSON-RPC: `eth_blockNumber`, `eth_getBlockByNumber` (with full
//! transactions: native transfers are transactions with a value and a recipient) and `eth_getLogs` by block hash
//! (ERC-20 `Transfer(address,address,uint256)` logs of the configured token contracts). Reading the logs by the
//! block's hash, not its number, keeps a block's payments from mixing two branches during a reorg.
//!
//! Value moved by contract-internal calls (a multisig paying a deposit address) carries no log and is not seen;
//! only transfers made by the transaction itself are. Senders are told to send directly, as every exchange does.

use std::collections::HashMap;
use std::str::FromStr;

use alloy_primitives::{Address, U256};
use serde_json::{Value, json};

use super::{Block, BlockRef, BlockSource, Payment, units_to_decimal};
use crate::rpc::{JsonRpc, RpcError};
use crate::{Currency, Network};

/// `keccak256("Transfer(address,address,uint256)")`.
pub const TRANSFER_TOPIC: &str = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

/// The USDC and USDT contracts Sova watches by default on a network (Circle's and Tether's own deployments).
pub fn default_tokens(network: Network) -> Vec<(Currency, Address)> {
    let pairs: &[(Currency, &str)] = match network {
        Network::Ethereum => &[
            (Currency::Usdc, "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"),
            (Currency::Usdt, "0xdAC17F958D2ee523a2206206994597C13D831ec7"),
        ],
        Network::EthereumSepolia => &[(Currency::Usdc, "0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238")],
        _ => &[],
    };
    pairs.iter().filter_map(|(c, a)| Address::from_str(a).ok().map(|a| (*c, a))).collect()
}

/// An ERC-20 contract Sova credits: its currency and its decimals (read from the contract's `decimals()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// The currency its transfers credit.
    pub currency: Currency,
    /// Its `decimals()`.
    pub decimals: u32,
}

/// An EVM network read through one node.
#[derive(Debug, Clone)]
pub struct EvmSource {
    network: Network,
    rpc: JsonRpc,
    tokens: HashMap<Address, Token>,
}

fn hex_u64(v: &Value, what: &str) -> Result<u64, RpcError> {
    v.as_str()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .ok_or_else(|| RpcError::Shape(format!("{what}: not a hex quantity")))
}

fn hex_u256(v: &Value, what: &str) -> Result<U256, RpcError> {
    v.as_str()
        .and_then(|s| U256::from_str(if s == "0x" { "0x0" } else { s }).ok())
        .ok_or_else(|| RpcError::Shape(format!("{what}: not a hex quantity")))
}

fn text(v: &Value, what: &str) -> Result<String, RpcError> {
    v.as_str().map(str::to_ascii_lowercase).ok_or_else(|| RpcError::Shape(format!("{what}: missing")))
}

impl EvmSource {
    /// A source for `network` through the node at `url`, crediting transfers of `tokens` (contract, currency).
    /// Each token's decimals are read from the contract (`decimals()`), falling back to the currency's own when the
    /// call fails.
    pub async fn connect(network: Network, url: &str, tokens: &[(Currency, Address)]) -> Result<Self, RpcError> {
        let rpc = JsonRpc::new(url);
        let mut map = HashMap::new();
        for (currency, contract) in tokens {
            let answer = rpc
                .call("eth_call", json!([{"to": contract.to_string(), "data": "0x313ce567"}, "latest"]))
                .await
                .ok()
                .and_then(|v| hex_u256(&v, "decimals").ok())
                .and_then(|d| u32::try_from(d).ok())
                .filter(|d| *d <= 36);
            map.insert(*contract, Token { currency: *currency, decimals: answer.unwrap_or(currency.decimals()) });
        }
        Ok(Self { network, rpc, tokens: map })
    }

    /// The node's chain id (`eth_chainId`).
    pub async fn chain_id(&self) -> Result<u64, RpcError> {
        hex_u64(&self.rpc.call("eth_chainId", json!([])).await?, "eth_chainId")
    }

    /// The tokens it credits.
    pub fn tokens(&self) -> &HashMap<Address, Token> {
        &self.tokens
    }

    fn native(&self, tx: &Value) -> Result<Option<Payment>, RpcError> {
        let Some(to) = tx.get("to").and_then(Value::as_str) else { return Ok(None) };
        let value = hex_u256(&tx["value"], "value")?;
        if value.is_zero() {
            return Ok(None);
        }
        let Ok(to) = Address::from_str(to) else { return Ok(None) };
        let amount = units_to_decimal(&value.to_string(), 18).ok_or_else(|| RpcError::Shape("value".into()))?;
        Ok(Some(Payment {
            tx_hash: text(&tx["hash"], "hash")?,
            index: -1,
            address: to.to_checksum(None),
            currency: Currency::Eth,
            amount,
        }))
    }

    fn transfer(&self, log: &Value) -> Result<Option<Payment>, RpcError> {
        let Some(contract) = log.get("address").and_then(Value::as_str).and_then(|a| Address::from_str(a).ok()) else {
            return Ok(None);
        };
        let Some(token) = self.tokens.get(&contract) else { return Ok(None) };
        let topics = log["topics"].as_array().cloned().unwrap_or_default();
        if topics.len() != 3 || topics[0].as_str().map(str::to_ascii_lowercase).as_deref() != Some(TRANSFER_TOPIC) {
            return Ok(None);
        }
        let to = topics[2].as_str().and_then(|t| t.get(26..)).and_then(|t| Address::from_str(t).ok());
        let Some(to) = to else { return Ok(None) };
        let value = hex_u256(&log["data"], "log data")?;
        if value.is_zero() {
            return Ok(None);
        }
        let amount =
            units_to_decimal(&value.to_string(), token.decimals).ok_or_else(|| RpcError::Shape("data".into()))?;
        let index = i64::try_from(hex_u64(&log["logIndex"], "logIndex")?).unwrap_or(i64::MAX);
        Ok(Some(Payment {
            tx_hash: text(&log["transactionHash"], "transactionHash")?,
            index,
            address: to.to_checksum(None),
            currency: token.currency,
            amount,
        }))
    }
}

#[async_trait::async_trait]
impl BlockSource for EvmSource {
    fn network(&self) -> Network {
        self.network
    }

    fn label(&self) -> String {
        self.rpc.label()
    }

    async fn tip(&self) -> Result<u64, RpcError> {
        hex_u64(&self.rpc.call("eth_blockNumber", json!([])).await?, "eth_blockNumber")
    }

    async fn finalized(&self) -> Result<Option<u64>, RpcError> {
        match self.rpc.call("eth_getBlockByNumber", json!(["finalized", false])).await {
            Ok(Value::Null) => Ok(None),
            Ok(b) => Ok(Some(hex_u64(&b["number"], "number")?)),
            // A node without the tag (pre-merge clients, some dev nodes).
            Err(RpcError::Node { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn hash_at(&self, height: u64) -> Result<Option<String>, RpcError> {
        let b = self.rpc.call("eth_getBlockByNumber", json!([format!("0x{height:x}"), false])).await?;
        if b.is_null() {
            return Ok(None);
        }
        Ok(Some(text(&b["hash"], "hash")?))
    }

    async fn block(&self, height: u64, _tip: u64) -> Result<Option<Block>, RpcError> {
        let b = self.rpc.call("eth_getBlockByNumber", json!([format!("0x{height:x}"), true])).await?;
        if b.is_null() {
            return Ok(None);
        }
        let at = BlockRef {
            height: hex_u64(&b["number"], "number")?,
            hash: text(&b["hash"], "hash")?,
            parent: text(&b["parentHash"], "parentHash")?,
        };
        if at.height != height {
            return Err(RpcError::Shape(format!("asked for block {height}, got {}", at.height)));
        }
        let mut payments = Vec::new();
        for tx in b["transactions"].as_array().map(Vec::as_slice).unwrap_or_default() {
            if let Some(p) = self.native(tx)? {
                payments.push(p);
            }
        }
        if !self.tokens.is_empty() {
            let contracts: Vec<String> = self.tokens.keys().map(|a| a.to_string()).collect();
            let logs = self
                .rpc
                .call("eth_getLogs", json!([{"blockHash": at.hash, "address": contracts, "topics": [TRANSFER_TOPIC]}]))
                .await?;
            for log in logs.as_array().map(Vec::as_slice).unwrap_or_default() {
                if log.get("removed").and_then(Value::as_bool) == Some(true) {
                    continue;
                }
                if let Some(p) = self.transfer(log)? {
                    payments.push(p);
                }
            }
        }
        Ok(Some(Block { at, payments }))
    }
}
