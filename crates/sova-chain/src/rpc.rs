//! JSON-RPC over plain HTTP: [`JsonRpc`], the one client every chain's node is called through (EVM, Bitcoin Core,
//! Solana), and [`SolanaRpc`], what x402 settlement needs of a Solana node and nothing more
//! (`getLatestBlockhash`, `simulateTransaction`, `sendTransaction`, `getSignatureStatuses`).

use std::time::Duration;

use serde_json::{Value, json};

/// RPC failures.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// Transport or HTTP failure.
    #[error("RPC transport: {0}")]
    Transport(String),
    /// The node answered with a JSON-RPC error.
    #[error("RPC error {code}: {message}")]
    Node {
        /// JSON-RPC error code.
        code: i64,
        /// Message.
        message: String,
    },
    /// The answer did not have the expected shape.
    #[error("unexpected RPC answer: {0}")]
    Shape(String),
}

/// Result of a simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulation {
    /// The transaction error, if the simulation failed.
    pub err: Option<Value>,
    /// Program logs.
    pub logs: Vec<String>,
}

/// Status of a submitted transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxStatus {
    /// Not seen (yet).
    Unknown,
    /// Processed but not yet confirmed.
    Processed,
    /// Confirmed or finalized without error.
    Confirmed,
    /// Landed with an error.
    Failed(String),
}

/// A JSON-RPC 2.0 client for one node URL. The URL may carry credentials (`http://user:pass@host:8332`, as
/// Bitcoin Core wants): they are sent as HTTP basic authentication and never shown by `Debug` or [`JsonRpc::label`].
#[derive(Clone)]
pub struct JsonRpc {
    http: reqwest::Client,
    url: String,
}

impl std::fmt::Debug for JsonRpc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonRpc").field("url", &self.label()).finish()
    }
}

impl JsonRpc {
    /// A client for `url`, with a 10 s request timeout.
    pub fn new(url: impl Into<String>) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default();
        Self { http, url: url.into() }
    }

    /// The URL without credentials, path or query: what logs and the operator route show.
    pub fn label(&self) -> String {
        match reqwest::Url::parse(&self.url) {
            Ok(u) => format!(
                "{}://{}{}",
                u.scheme(),
                u.host_str().unwrap_or(""),
                u.port().map(|p| format!(":{p}")).unwrap_or_default()
            ),
            Err(_) => "(unparsable URL)".into(),
        }
    }

    /// Call `method` with `params`; the `result`, or the node's error.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let resp =
            self.http.post(&self.url).json(&body).send().await.map_err(|e| RpcError::Transport(e.to_string()))?;
        let status = resp.status();
        let v: Value = resp.json().await.map_err(|e| RpcError::Transport(format!("HTTP {status}: {e}")))?;
        if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
            return Err(RpcError::Node {
                code: err.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: err.get("message").and_then(Value::as_str).unwrap_or("").to_string(),
            });
        }
        v.get("result").cloned().ok_or_else(|| RpcError::Shape(format!("{method}: no result")))
    }
}

/// A Solana JSON-RPC client for one node.
#[derive(Debug, Clone)]
pub struct SolanaRpc {
    rpc: JsonRpc,
}

impl SolanaRpc {
    /// A client for `url` (e.g. `https://api.devnet.solana.com`), with a 10 s request timeout.
    pub fn new(url: impl Into<String>) -> Self {
        Self { rpc: JsonRpc::new(url) }
    }

    async fn call(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        self.rpc.call(method, params).await
    }

    /// `getLatestBlockhash` (confirmed): the blockhash and its last valid block height.
    pub async fn latest_blockhash(&self) -> Result<(String, u64), RpcError> {
        let r = self.call("getLatestBlockhash", json!([{"commitment": "confirmed"}])).await?;
        let v = &r["value"];
        match (v["blockhash"].as_str(), v["lastValidBlockHeight"].as_u64()) {
            (Some(h), Some(n)) => Ok((h.to_string(), n)),
            _ => Err(RpcError::Shape("getLatestBlockhash".into())),
        }
    }

    /// `simulateTransaction` of a base64 wire transaction (signatures verified, blockhash not replaced).
    pub async fn simulate(&self, tx_base64: &str) -> Result<Simulation, RpcError> {
        let r = self
            .call(
                "simulateTransaction",
                json!([tx_base64, {"encoding": "base64", "sigVerify": true, "commitment": "confirmed"}]),
            )
            .await?;
        let v = &r["value"];
        let err = v.get("err").filter(|e| !e.is_null()).cloned();
        let logs = v["logs"]
            .as_array()
            .map(|a| a.iter().filter_map(|l| l.as_str().map(String::from)).collect())
            .unwrap_or_default();
        Ok(Simulation { err, logs })
    }

    /// `sendTransaction` of a base64 wire transaction; the base58 signature.
    pub async fn send(&self, tx_base64: &str) -> Result<String, RpcError> {
        let r = self
            .call(
                "sendTransaction",
                json!([tx_base64, {"encoding": "base64", "skipPreflight": false, "preflightCommitment": "confirmed"}]),
            )
            .await?;
        r.as_str().map(String::from).ok_or_else(|| RpcError::Shape("sendTransaction".into()))
    }

    /// `getSignatureStatuses` for one signature.
    pub async fn status(&self, signature: &str) -> Result<TxStatus, RpcError> {
        let r = self.call("getSignatureStatuses", json!([[signature], {"searchTransactionHistory": true}])).await?;
        let s = &r["value"][0];
        if s.is_null() {
            return Ok(TxStatus::Unknown);
        }
        if let Some(err) = s.get("err").filter(|e| !e.is_null()) {
            return Ok(TxStatus::Failed(err.to_string()));
        }
        Ok(match s["confirmationStatus"].as_str() {
            Some("confirmed") | Some("finalized") => TxStatus::Confirmed,
            _ => TxStatus::Processed,
        })
    }

    /// Poll the status until confirmed, failed, or `timeout` passes (then the last status, for the caller to
    /// record as pending).
    pub async fn confirm(&self, signature: &str, timeout: Duration) -> Result<TxStatus, RpcError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let s = self.status(signature).await?;
            if matches!(s, TxStatus::Confirmed | TxStatus::Failed(_)) || tokio::time::Instant::now() >= deadline {
                return Ok(s);
            }
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
    }
}
