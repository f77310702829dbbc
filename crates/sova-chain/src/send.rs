//! Sending from an EVM hot wallet: a key from a file ([`HotWallet`]), the call a withdrawal makes ([`Call`]: a
//! value transfer, or an ERC-20 `transfer`), EIP-1559 fees from the node ([`EvmNode::fees`]), signing and EIP-2718
//! encoding with alloy's consensus types and local signer, and the node calls a sender needs ([`EvmNode`]: pending
//! nonce, broadcast, receipts) over plain JSON-RPC.
//!
//! Why alloy's signer but not alloy's provider: the transaction types, their RLP/EIP-2718 encoding and the secp256k1
//! signature are the parts that must be exactly right and are well kept in `alloy-consensus` and
//! `alloy-signer-local`; the provider would bring a transport stack, fillers and retry layers for five JSON-RPC
//! calls whose retries and error meanings Sova decides itself (a failed broadcast is retried from the stored raw
//! transaction, never re-signed with another nonce).

use std::path::Path;
use std::str::FromStr;

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, TxKind, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::SolValue;
use serde_json::{Value, json};

use crate::Currency;
use crate::rpc::{JsonRpc, RpcError};

/// Why a send cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The key file is missing, unreadable or not a secp256k1 key.
    #[error("hot wallet key file {path}: {reason}")]
    Key {
        /// The file.
        path: String,
        /// What is wrong (never the key).
        reason: String,
    },
    /// The withdrawal cannot be expressed as a transaction (amount, address, token).
    #[error("{0}")]
    Call(String),
    /// Signing failed.
    #[error("signing: {0}")]
    Sign(String),
}

/// A hot wallet's key. `Debug` shows the address only; the key is never printed.
pub struct HotWallet {
    signer: PrivateKeySigner,
}

impl std::fmt::Debug for HotWallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotWallet").field("address", &self.address()).finish_non_exhaustive()
    }
}

impl HotWallet {
    /// Read the key: a file holding the 32-byte secp256k1 private key as hex (`0x` optional, surrounding whitespace
    /// ignored).
    pub fn from_key_file(path: &Path) -> Result<Self, SendError> {
        let err = |reason: &str| SendError::Key { path: path.display().to_string(), reason: reason.into() };
        let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| err(&e.to_string()))?);
        let hex = text.trim().trim_start_matches("0x");
        let signer = PrivateKeySigner::from_str(hex).map_err(|_| err("not a 32-byte secp256k1 private key in hex"))?;
        Ok(Self { signer })
    }

    /// A hot wallet from a key in hex (tests).
    pub fn from_hex(hex: &str) -> Result<Self, SendError> {
        let signer = PrivateKeySigner::from_str(hex.trim().trim_start_matches("0x"))
            .map_err(|_| SendError::Key { path: "(inline)".into(), reason: "not a private key".into() })?;
        Ok(Self { signer })
    }

    /// Its address.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// Sign `call` as an EIP-1559 transaction with `nonce` and `fees` on `chain_id`.
    pub fn sign(&self, chain_id: u64, nonce: u64, call: &Call, fees: Fees) -> Result<SignedTx, SendError> {
        let tx = TxEip1559 {
            chain_id,
            nonce,
            gas_limit: call.gas_limit,
            max_fee_per_gas: fees.max_fee_per_gas,
            max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
            to: TxKind::Call(call.to),
            value: call.value,
            access_list: Default::default(),
            input: call.data.clone(),
        };
        let signature = self.signer.sign_hash_sync(&tx.signature_hash()).map_err(|e| SendError::Sign(e.to_string()))?;
        let envelope: TxEnvelope = tx.into_signed(signature).into();
        Ok(SignedTx {
            hash: format!("{:#x}", envelope.tx_hash()),
            raw: format!("0x{}", alloy_primitives::hex::encode(envelope.encoded_2718())),
            fees,
        })
    }
}

/// What a withdrawal asks the chain to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The recipient (the token contract for a token).
    pub to: Address,
    /// Wei sent.
    pub value: U256,
    /// Call data (a token's `transfer`).
    pub data: Bytes,
    /// Gas limit: 21000 for a value transfer, 100000 for a token `transfer` (fixed, not estimated: an estimate of a
    /// call that would revert fails, and such a withdrawal must still be sent and fail on chain, visibly).
    pub gas_limit: u64,
}

/// Gas limit of a plain value transfer.
pub const TRANSFER_GAS: u64 = 21_000;
/// Gas limit of an ERC-20 `transfer`.
pub const TOKEN_TRANSFER_GAS: u64 = 100_000;

/// `decimal` (a canonical decimal string) in base units of `decimals` decimals, exactly (`None` if it has more
/// decimals than that, or is not a decimal).
pub fn to_units(decimal: &str, decimals: u32) -> Option<U256> {
    let (int, frac) = decimal.split_once('.').unwrap_or((decimal, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if frac.len() > decimals as usize {
        return None;
    }
    let digits = format!("{int}{frac}{}", "0".repeat(decimals as usize - frac.len()));
    U256::from_str_radix(&digits, 10).ok()
}

impl Call {
    /// Pay `amount` of `currency` to `to`: a value transfer for ETH, else `transfer(to, units)` on `token` (its
    /// contract and decimals).
    pub fn payment(
        currency: Currency,
        amount: &str,
        to: &str,
        token: Option<(Address, u32)>,
    ) -> Result<Self, SendError> {
        let to = Address::from_str(to.trim()).map_err(|_| SendError::Call(format!("{to} is not an EVM address")))?;
        match (currency, token) {
            (Currency::Eth, _) => Ok(Self {
                to,
                value: to_units(amount, 18).ok_or_else(|| SendError::Call(format!("{amount} ETH in wei")))?,
                data: Bytes::new(),
                gas_limit: TRANSFER_GAS,
            }),
            (c, Some((contract, decimals))) => {
                let units = to_units(amount, decimals)
                    .ok_or_else(|| SendError::Call(format!("{amount} {} in base units", c.as_str())))?;
                let mut data = vec![0xa9, 0x05, 0x9c, 0xbb];
                data.extend((to, units).abi_encode_params());
                Ok(Self { to: contract, value: U256::ZERO, data: data.into(), gas_limit: TOKEN_TRANSFER_GAS })
            }
            (c, None) => Err(SendError::Call(format!("no token contract is configured for {}", c.as_str()))),
        }
    }
}

/// EIP-1559 fees per gas, in wei.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fees {
    /// `maxFeePerGas`.
    pub max_fee_per_gas: u128,
    /// `maxPriorityFeePerGas`.
    pub max_priority_fee_per_gas: u128,
}

impl Fees {
    /// Fees for replacing a transaction sent with `self`, given the node's `current` ones: at least 12.5% above
    /// both of the old ones (nodes ask for 10%), and at least the current ones.
    pub fn bumped(&self, current: Fees) -> Fees {
        let up = |x: u128| x.saturating_add(x / 8).saturating_add(1);
        Fees {
            max_fee_per_gas: up(self.max_fee_per_gas).max(current.max_fee_per_gas),
            max_priority_fee_per_gas: up(self.max_priority_fee_per_gas).max(current.max_priority_fee_per_gas),
        }
    }
}

/// A signed transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTx {
    /// Its hash (`0x` + 64 hex).
    pub hash: String,
    /// Its EIP-2718 encoding, `0x` hex (for `eth_sendRawTransaction`).
    pub raw: String,
    /// The fees it was signed with.
    pub fees: Fees,
}

/// A mined transaction's receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// `status` 1.
    pub success: bool,
    /// Its block's height.
    pub block_number: u64,
    /// Its block's hash.
    pub block_hash: String,
}

/// The node calls a sender makes.
#[derive(Debug, Clone)]
pub struct EvmNode {
    rpc: JsonRpc,
}

fn hex_u128(v: &Value, what: &str) -> Result<u128, RpcError> {
    v.as_str()
        .and_then(|s| u128::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .ok_or_else(|| RpcError::Shape(format!("{what}: not a hex quantity")))
}

/// The priority fee used when the node does not suggest one (1.5 gwei).
pub const DEFAULT_PRIORITY_FEE: u128 = 1_500_000_000;

impl EvmNode {
    /// The node at `url`.
    pub fn new(url: &str) -> Self {
        Self { rpc: JsonRpc::new(url) }
    }

    /// `eth_chainId`.
    pub async fn chain_id(&self) -> Result<u64, RpcError> {
        let v = self.rpc.call("eth_chainId", json!([])).await?;
        u64::try_from(hex_u128(&v, "eth_chainId")?).map_err(|_| RpcError::Shape("eth_chainId".into()))
    }

    /// The next nonce of `address` counting its pending transactions.
    pub async fn pending_nonce(&self, address: Address) -> Result<u64, RpcError> {
        let v = self.rpc.call("eth_getTransactionCount", json!([address.to_string(), "pending"])).await?;
        u64::try_from(hex_u128(&v, "eth_getTransactionCount")?).map_err(|_| RpcError::Shape("nonce".into()))
    }

    /// Fees now: a priority fee from `eth_maxPriorityFeePerGas` (1.5 gwei when the node has none) and a fee cap
    /// of twice the latest base fee plus it (room for six full blocks of base-fee growth).
    pub async fn fees(&self) -> Result<Fees, RpcError> {
        let latest = self.rpc.call("eth_getBlockByNumber", json!(["latest", false])).await?;
        let base = latest.get("baseFeePerGas").map(|b| hex_u128(b, "baseFeePerGas")).transpose()?.unwrap_or(0);
        let tip = match self.rpc.call("eth_maxPriorityFeePerGas", json!([])).await {
            Ok(v) => hex_u128(&v, "eth_maxPriorityFeePerGas")?,
            Err(RpcError::Node { .. }) => DEFAULT_PRIORITY_FEE,
            Err(e) => return Err(e),
        };
        Ok(Fees { max_fee_per_gas: base.saturating_mul(2).saturating_add(tip), max_priority_fee_per_gas: tip })
    }

    /// Broadcast a raw transaction. A node that already has it (or has mined it) answers an error that means
    /// success here: those are `Ok`.
    pub async fn broadcast(&self, raw: &str) -> Result<(), RpcError> {
        match self.rpc.call("eth_sendRawTransaction", json!([raw])).await {
            Ok(_) => Ok(()),
            Err(RpcError::Node { message, .. })
                if ["already known", "known transaction", "nonce too low", "already imported"]
                    .iter()
                    .any(|m| message.to_ascii_lowercase().contains(m)) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// The receipt of `hash`, or `None` while it is not mined (on the node's main chain).
    pub async fn receipt(&self, hash: &str) -> Result<Option<Receipt>, RpcError> {
        let r = self.rpc.call("eth_getTransactionReceipt", json!([hash])).await?;
        if r.is_null() {
            return Ok(None);
        }
        Ok(Some(Receipt {
            success: hex_u128(&r["status"], "status")? == 1,
            block_number: u64::try_from(hex_u128(&r["blockNumber"], "blockNumber")?)
                .map_err(|_| RpcError::Shape("blockNumber".into()))?,
            block_hash: r["blockHash"].as_str().unwrap_or_default().to_ascii_lowercase(),
        }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn units_are_exact() {
        assert_eq!(to_units("1.25", 18).unwrap(), U256::from(1_250_000_000_000_000_000u128));
        assert_eq!(to_units("3", 6).unwrap(), U256::from(3_000_000u64));
        assert_eq!(to_units("0.000001", 6).unwrap(), U256::from(1u64));
        assert!(to_units("0.0000001", 6).is_none());
        assert!(to_units("-1", 6).is_none());
        assert!(to_units("1e3", 6).is_none());
    }

    #[test]
    fn bumps_by_an_eighth_at_least() {
        let old = Fees { max_fee_per_gas: 800, max_priority_fee_per_gas: 80 };
        let b = old.bumped(Fees { max_fee_per_gas: 10, max_priority_fee_per_gas: 1 });
        assert_eq!((b.max_fee_per_gas, b.max_priority_fee_per_gas), (901, 91));
        let b = old.bumped(Fees { max_fee_per_gas: 5000, max_priority_fee_per_gas: 500 });
        assert_eq!((b.max_fee_per_gas, b.max_priority_fee_per_gas), (5000, 500));
    }

    /// A transaction signed here recovers to the wallet's address (alloy's own decoding), and the token call is
    /// `transfer(address,uint256)`.
    #[test]
    fn signs_recoverably() {
        use alloy_consensus::transaction::SignerRecoverable;
        use alloy_eips::eip2718::Decodable2718;
        let w = HotWallet::from_hex("0x4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d").unwrap();
        assert_eq!(w.address().to_string(), "0x90F8bf6A479f320ead074411a4B0e7944Ea8c9C1");
        assert!(!format!("{w:?}").contains("4f3edf98"));
        let token: Address = "0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238".parse().unwrap();
        let call = Call::payment(Currency::Usdc, "2.5", "0xFFcf8FDEE72ac11b5c542428B35EEF5769C409f0", Some((token, 6)))
            .unwrap();
        assert_eq!(call.to, token);
        assert_eq!(&call.data[..4], &[0xa9, 0x05, 0x9c, 0xbb]);
        let fees = Fees { max_fee_per_gas: 2_000_000_000, max_priority_fee_per_gas: 1_000_000_000 };
        let s = w.sign(1337, 7, &call, fees).unwrap();
        let raw = alloy_primitives::hex::decode(&s.raw).unwrap();
        let env = TxEnvelope::decode_2718(&mut raw.as_slice()).unwrap();
        assert_eq!(env.recover_signer().unwrap(), w.address());
        assert_eq!(format!("{:#x}", env.tx_hash()), s.hash);
    }
}
