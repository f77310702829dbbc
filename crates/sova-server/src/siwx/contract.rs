//! Contract wallets (beyond the seed): when an `eip155` challenge signature does not recover to the account and an
//! EVM JSON-RPC URL is configured for its chain (`--evm-rpc-url <chain id>=<url>`), the account is asked over
//! JSON-RPC whether the signature is its own.
//!
//! - ERC-1271: `eth_call` of `isValidSignature(bytes32 hash, bytes signature)` on the account at `latest`, with
//!   `hash` the EIP-191 hash of the exact challenge bytes; valid iff it returns the magic value `0x1626ba7e`.
//! - ERC-6492 (signature ending in the `0x6492…6492` suffix; `abi.encode(factory, factoryCalldata, innerSignature)`
//!   before it): if the account already has code, ERC-1271 with the inner signature; if not (a counterfactual
//!   wallet), `eth_simulateV1` runs the factory call and then `isValidSignature` in one simulated block (nodes
//!   without `eth_simulateV1` answer an error, reported as `SIWX_CONTRACT_CHECK_FAILED`). Nothing is ever sent.

use std::time::Duration;

use serde_json::{Value, json};
use sova_auth::siwx::{self, AccountId};

/// `isValidSignature(bytes32,bytes)` selector and ERC-1271 magic value.
pub const ERC1271_MAGIC: [u8; 4] = [0x16, 0x26, 0xba, 0x7e];
/// The ERC-6492 detection suffix.
pub const ERC6492_SUFFIX: [u8; 32] = [
    0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64,
    0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92,
];

/// Why the check could not be made (the node is unreachable or answered nonsense): not a verdict on the signature.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RpcFailure(pub String);

/// The JSON-RPC client.
#[derive(Debug, Clone)]
pub struct EvmRpc {
    http: reqwest::Client,
}

impl Default for EvmRpc {
    fn default() -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default();
        Self { http }
    }
}

fn word(n: usize) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&(n as u64).to_be_bytes());
    w
}

/// Calldata of `isValidSignature(hash, signature)`.
pub fn is_valid_signature_call(hash: &[u8; 32], signature: &[u8]) -> Vec<u8> {
    let mut data = Vec::with_capacity(4 + 96 + signature.len().div_ceil(32) * 32);
    data.extend_from_slice(&ERC1271_MAGIC);
    data.extend_from_slice(hash);
    data.extend_from_slice(&word(64));
    data.extend_from_slice(&word(signature.len()));
    data.extend_from_slice(signature);
    data.resize(data.len() + (32 - signature.len() % 32) % 32, 0);
    data
}

fn read_word(data: &[u8], at: usize) -> Option<usize> {
    let w = data.get(at..at.checked_add(32)?)?;
    if w[..24].iter().any(|b| *b != 0) {
        return None;
    }
    usize::try_from(u64::from_be_bytes(w[24..].try_into().ok()?)).ok()
}

fn read_bytes(data: &[u8], offset: usize) -> Option<Vec<u8>> {
    let len = read_word(data, offset)?;
    let start = offset.checked_add(32)?;
    Some(data.get(start..start.checked_add(len)?)?.to_vec())
}

/// An ERC-6492 wrapper: `(factory, factoryCalldata, innerSignature)`, or `None` if `sig` is not one.
pub fn unwrap_6492(sig: &[u8]) -> Option<([u8; 20], Vec<u8>, Vec<u8>)> {
    let body = sig.strip_suffix(&ERC6492_SUFFIX)?;
    let head = body.get(..32)?;
    if head[..12].iter().any(|b| *b != 0) {
        return None;
    }
    let mut factory = [0u8; 20];
    factory.copy_from_slice(&head[12..]);
    let calldata = read_bytes(body, read_word(body, 32)?)?;
    let inner = read_bytes(body, read_word(body, 64)?)?;
    Some((factory, calldata, inner))
}

fn hex0x(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

fn is_magic(ret: &str) -> bool {
    let ret = ret.strip_prefix("0x").unwrap_or(ret);
    hex::decode(ret).is_ok_and(|b| b.len() >= 4 && b[..4] == ERC1271_MAGIC)
}

impl EvmRpc {
    async fn call(&self, url: &str, method: &str, params: Value) -> Result<Value, RpcFailure> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        // Errors never carry the URL: RPC URLs often embed an API key, and these messages are logged.
        let fail = |e: reqwest::Error| RpcFailure(format!("{method}: {}", e.without_url()));
        let resp = self.http.post(url).json(&body).send().await.map_err(fail)?;
        let v: Value = resp.json().await.map_err(fail)?;
        if let Some(err) = v.get("error") {
            // A revert is a verdict (the contract refused); other errors are failures to check.
            let msg = err.get("message").and_then(Value::as_str).unwrap_or("");
            if msg.contains("revert") || err.get("code").and_then(Value::as_i64) == Some(3) {
                return Ok(Value::Null);
            }
            return Err(RpcFailure(format!("{method}: node error {msg}")));
        }
        v.get("result").cloned().ok_or_else(|| RpcFailure(format!("{method}: answer without result")))
    }

    async fn erc1271(&self, url: &str, account: &str, hash: &[u8; 32], sig: &[u8]) -> Result<bool, RpcFailure> {
        let data = hex0x(&is_valid_signature_call(hash, sig));
        let r = self.call(url, "eth_call", json!([{"to": account, "data": data}, "latest"])).await?;
        Ok(r.as_str().is_some_and(is_magic))
    }

    /// Whether the contract `account` accepts `signature` over the challenge `message`.
    pub async fn verify(
        &self,
        url: &str,
        account: &AccountId,
        message: &[u8],
        signature: &str,
    ) -> Result<bool, RpcFailure> {
        let Ok(sig) = siwx::decode_signature_bytes(signature) else {
            return Ok(false);
        };
        let hash = siwx::eip191_hash(message);
        let address = account.address().to_string();
        let Some((factory, calldata, inner)) = unwrap_6492(&sig) else {
            return self.erc1271(url, &address, &hash, &sig).await;
        };
        let code = self.call(url, "eth_getCode", json!([address, "latest"])).await?;
        let deployed = code.as_str().is_some_and(|c| !matches!(c, "" | "0x" | "0x0"));
        if deployed {
            return self.erc1271(url, &address, &hash, &inner).await;
        }
        let check = hex0x(&is_valid_signature_call(&hash, &inner));
        let params = json!([{
            "blockStateCalls": [{"calls": [
                {"to": hex0x(&factory), "data": hex0x(&calldata)},
                {"to": address, "data": check},
            ]}],
        }, "latest"]);
        let r = self.call(url, "eth_simulateV1", params).await?;
        let ret = r.pointer("/0/calls/1/returnData").and_then(Value::as_str).unwrap_or("");
        let ok = r.pointer("/0/calls/1/status").and_then(Value::as_str) == Some("0x1");
        Ok(ok && is_magic(ret))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn calldata_and_6492_round_trip() {
        let hash = [7u8; 32];
        let data = is_valid_signature_call(&hash, &[1, 2, 3]);
        assert_eq!(data.len(), 4 + 32 * 4);
        assert_eq!(&data[..4], &ERC1271_MAGIC);
        assert_eq!(read_word(&data[4..], 64), Some(3));
        // abi.encode(address, bytes, bytes) ++ suffix
        let factory = [0xfa; 20];
        let calldata = vec![0xcc; 40];
        let inner = vec![0x11; 65];
        let mut enc = vec![0u8; 12];
        enc.extend_from_slice(&factory);
        enc.extend_from_slice(&word(96));
        enc.extend_from_slice(&word(96 + 32 + 64));
        enc.extend_from_slice(&word(40));
        enc.extend_from_slice(&calldata);
        enc.resize(enc.len() + 24, 0);
        enc.extend_from_slice(&word(65));
        enc.extend_from_slice(&inner);
        enc.resize(enc.len() + 31, 0);
        enc.extend_from_slice(&ERC6492_SUFFIX);
        let (f, c, i) = unwrap_6492(&enc).unwrap();
        assert_eq!((f, c, i), (factory, calldata, inner));
        assert!(unwrap_6492(&[0u8; 65]).is_none());
        assert!(is_magic("0x1626ba7e00000000000000000000000000000000000000000000000000000000"));
        assert!(!is_magic("0xffffffff"));
    }
}
