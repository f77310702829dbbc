//! Bitcoin over Bitcoin Core's JSON-RPC: `getblockcount`, `getblockhash` and `getblock <hash> 2` (verbosity 2:
//! every transaction decoded, each output with its value and `scriptPubKey.address`). A payment is an output to an
//! address; its index is the output's `n`. Bitcoin has no finality of its own: the watcher counts confirmations.

use serde_json::{Value, json};

use super::{Block, BlockRef, BlockSource, Payment, units_to_decimal};
use crate::rpc::{JsonRpc, RpcError};
use crate::{Currency, Network};

/// A Bitcoin network read through one node.
#[derive(Debug, Clone)]
pub struct BitcoinSource {
    network: Network,
    rpc: JsonRpc,
}

impl BitcoinSource {
    /// A source for `network` through the node at `url` (`http://user:password@host:port`).
    pub fn new(network: Network, url: &str) -> Self {
        Self { network, rpc: JsonRpc::new(url) }
    }
}

fn text(v: &Value, what: &str) -> Result<String, RpcError> {
    v.as_str().map(str::to_string).ok_or_else(|| RpcError::Shape(format!("{what}: missing")))
}

/// Bitcoin Core's JSON `value` (a float of BTC with at most 8 decimals) as an exact decimal string, through the
/// `bitcoin` crate's rounding to satoshis.
fn btc_value(v: &Value) -> Result<String, RpcError> {
    let f = v.as_f64().ok_or_else(|| RpcError::Shape("vout value".into()))?;
    let sats = bitcoin::Amount::from_btc(f).map_err(|e| RpcError::Shape(format!("vout value: {e}")))?.to_sat();
    units_to_decimal(&sats.to_string(), 8).ok_or_else(|| RpcError::Shape("vout value".into()))
}

#[async_trait::async_trait]
impl BlockSource for BitcoinSource {
    fn network(&self) -> Network {
        self.network
    }

    fn label(&self) -> String {
        self.rpc.label()
    }

    async fn tip(&self) -> Result<u64, RpcError> {
        self.rpc.call("getblockcount", json!([])).await?.as_u64().ok_or_else(|| RpcError::Shape("getblockcount".into()))
    }

    async fn finalized(&self) -> Result<Option<u64>, RpcError> {
        Ok(None)
    }

    async fn hash_at(&self, height: u64) -> Result<Option<String>, RpcError> {
        match self.rpc.call("getblockhash", json!([height])).await {
            Ok(h) => Ok(Some(text(&h, "getblockhash")?)),
            // RPC_INVALID_PARAMETER: "Block height out of range".
            Err(RpcError::Node { code: -8, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn block(&self, height: u64, _tip: u64) -> Result<Option<Block>, RpcError> {
        let Some(hash) = self.hash_at(height).await? else { return Ok(None) };
        let b = self.rpc.call("getblock", json!([hash, 2])).await?;
        let at = BlockRef {
            height: b["height"].as_u64().ok_or_else(|| RpcError::Shape("getblock height".into()))?,
            hash: text(&b["hash"], "hash")?,
            // The genesis block has no parent.
            parent: b["previousblockhash"].as_str().unwrap_or_default().to_string(),
        };
        if at.height != height || at.hash != hash {
            return Err(RpcError::Shape(format!("asked for block {height} {hash}, got {} {}", at.height, at.hash)));
        }
        let mut payments = Vec::new();
        for tx in b["tx"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let txid = text(&tx["txid"], "txid")?;
            for out in tx["vout"].as_array().map(Vec::as_slice).unwrap_or_default() {
                let Some(address) = out["scriptPubKey"]["address"].as_str() else { continue };
                let amount = btc_value(&out["value"])?;
                if amount == "0" {
                    continue;
                }
                payments.push(Payment {
                    tx_hash: txid.clone(),
                    index: out["n"].as_i64().ok_or_else(|| RpcError::Shape("vout n".into()))?,
                    address: address.to_string(),
                    currency: Currency::Btc,
                    amount,
                });
            }
        }
        Ok(Some(Block { at, payments }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::btc_value;

    #[test]
    fn values_are_exact() {
        assert_eq!(btc_value(&serde_json::json!(0.1)).unwrap(), "0.1");
        assert_eq!(btc_value(&serde_json::json!(0.00000001)).unwrap(), "0.00000001");
        assert_eq!(btc_value(&serde_json::json!(20999999.9769)).unwrap(), "20999999.9769");
        assert_eq!(btc_value(&serde_json::json!(1.23456789)).unwrap(), "1.23456789");
        assert!(btc_value(&serde_json::json!(-1)).is_err());
    }
}
