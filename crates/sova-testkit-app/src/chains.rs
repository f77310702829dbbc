//! Chains for the watcher tests: [`Ganache`], a real local EVM node from npm (`tests/chain` of sova-server,
//! installed by `.ci/run`), and [`ScriptedNode`], a JSON-RPC node serving a scripted Bitcoin or Solana chain that
//! can switch to a competing branch, skip Solana slots and fail on demand (no bitcoind or Solana validator can be
//! installed here).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolValue;
use serde_json::{Value, json};

/// The deterministic accounts' first key of `ganache --wallet.deterministic` (each holds 1000 ETH).
pub const GANACHE_KEY_0: &str = "0x4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d";

async fn call(http: &reqwest::Client, url: &str, method: &str, params: Value) -> Result<Value, String> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let r = http.post(url).json(&body).send().await.map_err(|e| e.to_string())?;
    let v: Value = r.json().await.map_err(|e| e.to_string())?;
    if let Some(e) = v.get("error") {
        return Err(format!("{method}: {e}"));
    }
    Ok(v["result"].clone())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A ganache node on a free port, killed on drop.
pub struct Ganache {
    child: Child,
    /// Its JSON-RPC URL.
    pub url: String,
    http: reqwest::Client,
    /// Its unlocked accounts (each with 1000 ETH).
    pub accounts: Vec<String>,
}

impl Drop for Ganache {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Ganache {
    /// Where `npm ci` in sova-server's `tests/chain` puts the binary.
    pub fn binary() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sova-server/tests/chain/node_modules/.bin/ganache")
    }

    /// Start one (chain id 1337, deterministic accounts, a block per transaction); `None` with a message when it is
    /// not installed, unless `SOVA_REQUIRE_INTEROP` is set (CI), where that fails the test.
    pub async fn start() -> Option<Self> {
        let bin = Self::binary();
        if !bin.exists() {
            assert!(
                std::env::var_os("SOVA_REQUIRE_INTEROP").is_none(),
                "ganache is not installed: run `npm ci` in crates/sova-server/tests/chain"
            );
            eprintln!("ganache not installed (npm ci in crates/sova-server/tests/chain): EVM chain test skipped");
            return None;
        }
        let port = free_port();
        let child = Command::new(&bin)
            .args(["--port", &port.to_string(), "--chain.chainId", "1337", "--wallet.deterministic"])
            .args(["--logging.quiet", "--chain.hardfork", "london"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn ganache");
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let mut g = Self { child, url, http, accounts: Vec::new() };
        for _ in 0..300 {
            if call(&g.http, &g.url, "eth_blockNumber", json!([])).await.is_ok() {
                let accounts = g.rpc("eth_accounts", json!([])).await;
                g.accounts = accounts.as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect();
                return Some(g);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("ganache did not answer within 30 s");
    }

    /// Call a method; panics on an error answer.
    pub async fn rpc(&self, method: &str, params: Value) -> Value {
        call(&self.http, &self.url, method, params).await.unwrap()
    }

    /// Call a method; the error answer as text.
    pub async fn try_rpc(&self, method: &str, params: Value) -> Result<Value, String> {
        call(&self.http, &self.url, method, params).await
    }

    /// The best block's height.
    pub async fn height(&self) -> u64 {
        let h = self.rpc("eth_blockNumber", json!([])).await;
        u64::from_str_radix(h.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    }

    /// Mine `n` empty blocks.
    pub async fn mine(&self, n: u64) {
        for _ in 0..n {
            self.rpc("evm_mine", json!([])).await;
        }
    }

    /// Take a snapshot (its id).
    pub async fn snapshot(&self) -> String {
        self.rpc("evm_snapshot", json!([])).await.as_str().unwrap().to_string()
    }

    /// Go back to a snapshot: the blocks after it leave the chain.
    pub async fn revert(&self, id: &str) {
        assert_eq!(self.rpc("evm_revert", json!([id])).await, json!(true));
    }

    /// Send `wei` from unlocked account `from` to `to`; the transaction hash (mined at once).
    pub async fn send_eth(&self, from: usize, to: &str, wei: u128) -> String {
        let tx = json!({"from": self.accounts[from], "to": to, "value": format!("0x{wei:x}")});
        self.rpc("eth_sendTransaction", json!([tx])).await.as_str().unwrap().to_string()
    }

    /// A receipt (null until mined).
    pub async fn receipt(&self, hash: &str) -> Value {
        self.rpc("eth_getTransactionReceipt", json!([hash])).await
    }

    /// The ETH balance of an address, in wei.
    pub async fn balance(&self, address: &str) -> U256 {
        let b = self.rpc("eth_getBalance", json!([address, "latest"])).await;
        b.as_str().unwrap().parse().unwrap()
    }

    /// Deploy OpenZeppelin's `ERC20PresetFixedSupply` (18 decimals) minting `supply` base units to account 0; its
    /// address.
    pub async fn deploy_token(&self, symbol: &str, supply: U256) -> String {
        let artifact = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
            "../sova-server/tests/chain/node_modules/@openzeppelin/contracts/build/contracts/ERC20PresetFixedSupply.json",
        );
        let a: Value = serde_json::from_slice(&std::fs::read(&artifact).expect("the ERC-20 artifact")).unwrap();
        let owner: Address = self.accounts[0].parse().unwrap();
        let args = (symbol.to_string(), symbol.to_string(), supply, owner).abi_encode_params();
        let data = format!("{}{}", a["bytecode"].as_str().unwrap(), alloy_primitives::hex::encode(args));
        let tx = json!({"from": self.accounts[0], "data": data, "gas": "0x4c4b40"});
        let hash = self.rpc("eth_sendTransaction", json!([tx])).await;
        let r = self.receipt(hash.as_str().unwrap()).await;
        r["contractAddress"].as_str().unwrap().to_string()
    }

    /// `transfer(to, units)` on `token` from account 0; the transaction hash.
    pub async fn token_transfer(&self, token: &str, to: &str, units: U256) -> String {
        let to: Address = to.parse().unwrap();
        let data = format!("0xa9059cbb{}", alloy_primitives::hex::encode((to, units).abi_encode_params()));
        let tx = json!({"from": self.accounts[0], "to": token, "data": data, "gas": "0x186a0"});
        self.rpc("eth_sendTransaction", json!([tx])).await.as_str().unwrap().to_string()
    }

    /// `transfer(to, units)` on `token` from account 0, signed but not sent; the raw transaction.
    pub async fn sign_token_transfer(&self, token: &str, to: &str, units: U256, nonce: u64) -> String {
        let to: Address = to.parse().unwrap();
        let data = format!("0xa9059cbb{}", alloy_primitives::hex::encode((to, units).abi_encode_params()));
        let tx = json!({"from": self.accounts[0], "to": token, "data": data, "gas": "0x186a0",
            "nonce": format!("0x{nonce:x}"), "gasPrice": "0x77359400"});
        self.rpc("eth_signTransaction", json!([tx])).await.as_str().unwrap().to_string()
    }

    /// The next nonce of account `i`.
    pub async fn nonce(&self, i: usize) -> u64 {
        let n = self.rpc("eth_getTransactionCount", json!([self.accounts[i], "latest"])).await;
        u64::from_str_radix(n.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    }
}

/// Which chain a [`ScriptedNode`] pretends to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Bitcoin Core (`getblockcount`, `getblockhash`, `getblock` verbosity 2).
    Bitcoin,
    /// A Solana validator (`getSlot`, `getBlock`).
    Solana,
}

/// A payment in a scripted block: `units` base units to `address`, of a token `mint` (Solana) or the native coin.
#[derive(Debug, Clone)]
pub struct Pay {
    /// Receiver (Solana: the owner).
    pub address: String,
    /// Base units (satoshis, lamports, token units).
    pub units: u64,
    /// A Solana token mint, with its decimals.
    pub mint: Option<(String, u32)>,
}

#[derive(Debug, Clone)]
struct FakeBlock {
    height: u64,
    hash: String,
    parent: String,
    txs: Vec<(String, Vec<Pay>)>,
}

#[derive(Default)]
struct Chain {
    /// The main chain, by height (Solana: only produced slots).
    main: Vec<FakeBlock>,
    /// Every block ever made, by hash (Core answers `getblock` for stale blocks too).
    all: HashMap<String, FakeBlock>,
    /// Solana: the next slot to produce.
    next_slot: u64,
    /// Solana: how far finality lags the tip.
    finality_lag: u64,
    /// Answer this many calls with an error.
    fail: u32,
    branch: u64,
}

fn rand_hex(n: usize) -> String {
    let mut s = String::new();
    while s.len() < n {
        s.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    s.truncate(n);
    s
}

/// A scripted JSON-RPC node on 127.0.0.1.
#[derive(Clone)]
pub struct ScriptedNode {
    flavor: Flavor,
    chain: Arc<Mutex<Chain>>,
    /// Its URL.
    pub url: String,
}

impl ScriptedNode {
    /// Serve a chain holding a genesis block.
    pub async fn start(flavor: Flavor) -> Self {
        let chain = Arc::new(Mutex::new(Chain { finality_lag: 2, ..Chain::default() }));
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let node = Self { flavor, chain, url };
        let served = node.clone();
        let app = axum::Router::new().route(
            "/",
            axum::routing::post(move |axum::Json(req): axum::Json<Value>| {
                let n = served.clone();
                async move { axum::Json(n.answer(&req)) }
            }),
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        node.mine(&[]);
        node
    }

    /// Mine a block holding one transaction per payment (none: an empty block); its (height, hash) and the
    /// transactions' ids.
    pub fn mine(&self, pays: &[Pay]) -> (u64, String, Vec<String>) {
        let mut c = self.chain.lock().unwrap();
        let height = match self.flavor {
            Flavor::Bitcoin => c.main.len() as u64,
            Flavor::Solana => c.next_slot,
        };
        let parent = c.main.last().map(|b| b.hash.clone()).unwrap_or_default();
        let hash = rand_hex(64);
        let txs: Vec<(String, Vec<Pay>)> = pays.iter().map(|p| (rand_hex(64), vec![p.clone()])).collect();
        let ids = txs.iter().map(|(id, _)| id.clone()).collect();
        let b = FakeBlock { height, hash: hash.clone(), parent, txs };
        c.all.insert(hash.clone(), b.clone());
        c.main.push(b);
        c.next_slot = height + 1;
        (height, hash, ids)
    }

    /// Mine `n` empty blocks.
    pub fn mine_empty(&self, n: u64) {
        for _ in 0..n {
            self.mine(&[]);
        }
    }

    /// Mine a block holding the transactions of the stale block `hash` again (same ids): a reorg's re-mining.
    pub fn remine(&self, hash: &str) -> (u64, String) {
        let mut c = self.chain.lock().unwrap();
        let txs = c.all.get(hash).map(|b| b.txs.clone()).unwrap_or_default();
        let height = match self.flavor {
            Flavor::Bitcoin => c.main.len() as u64,
            Flavor::Solana => c.next_slot,
        };
        let parent = c.main.last().map(|b| b.hash.clone()).unwrap_or_default();
        let new = rand_hex(64);
        let b = FakeBlock { height, hash: new.clone(), parent, txs };
        c.all.insert(new.clone(), b.clone());
        c.main.push(b);
        c.next_slot = height + 1;
        (height, new)
    }

    /// Solana: leave `n` slots without a block.
    pub fn skip_slots(&self, n: u64) {
        self.chain.lock().unwrap().next_slot += n;
    }

    /// Switch to a competing branch forking after height `keep`: the blocks above it leave the main chain (the
    /// next [`ScriptedNode::mine`] builds on the block at `keep`).
    pub fn fork_after(&self, keep: u64) {
        let mut c = self.chain.lock().unwrap();
        c.main.retain(|b| b.height <= keep);
        c.next_slot = keep + 1;
        c.branch += 1;
    }

    /// Answer the next `n` calls with an error.
    pub fn fail_next(&self, n: u32) {
        self.chain.lock().unwrap().fail = n;
    }

    /// The best height.
    pub fn height(&self) -> u64 {
        self.chain.lock().unwrap().main.last().map(|b| b.height).unwrap_or(0)
    }

    fn answer(&self, req: &Value) -> Value {
        let id = req["id"].clone();
        let mut c = self.chain.lock().unwrap();
        if c.fail > 0 {
            c.fail -= 1;
            return json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32603, "message": "scripted failure"}});
        }
        let method = req["method"].as_str().unwrap_or("");
        let p = &req["params"];
        let result = match (self.flavor, method) {
            (Flavor::Bitcoin, "getblockcount") => Ok(json!(c.main.len() as u64 - 1)),
            (Flavor::Bitcoin, "getblockhash") => match c.main.get(p[0].as_u64().unwrap_or(u64::MAX) as usize) {
                Some(b) => Ok(json!(b.hash)),
                None => Err((-8, "Block height out of range")),
            },
            (Flavor::Bitcoin, "getblock") => match c.all.get(p[0].as_str().unwrap_or("")) {
                Some(b) => Ok(btc_block(b)),
                None => Err((-5, "Block not found")),
            },
            (Flavor::Solana, "getSlot") => {
                let tip = c.main.last().map(|b| b.height).unwrap_or(0);
                Ok(json!(if p[0]["commitment"] == "finalized" { tip.saturating_sub(c.finality_lag) } else { tip }))
            }
            (Flavor::Solana, "getBlock") => {
                let slot = p[0].as_u64().unwrap_or(u64::MAX);
                match c.main.iter().find(|b| b.height == slot) {
                    Some(b) => Ok(sol_block(b, p[1]["transactionDetails"] != "none")),
                    None if slot < c.next_slot => Err((-32007, "Slot was skipped, or missing due to ledger jump")),
                    None => Err((-32004, "Block not available for slot")),
                }
            }
            _ => Err((-32601, "Method not found")),
        };
        match result {
            Ok(r) => json!({"jsonrpc": "2.0", "id": id, "result": r}),
            Err((code, message)) => json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}),
        }
    }
}

fn btc_block(b: &FakeBlock) -> Value {
    let tx: Vec<Value> = b
        .txs
        .iter()
        .map(|(txid, pays)| {
            let vout: Vec<Value> = pays
                .iter()
                .enumerate()
                .map(|(n, p)| {
                    json!({"value": p.units as f64 / 1e8, "n": n, "scriptPubKey": {"address": p.address, "type": "witness_v0_keyhash"}})
                })
                .collect();
            json!({"txid": txid, "vout": vout})
        })
        .collect();
    let mut v = json!({"hash": b.hash, "height": b.height, "tx": tx, "confirmations": 1});
    if !b.parent.is_empty() {
        v["previousblockhash"] = json!(b.parent);
    }
    v
}

fn sol_block(b: &FakeBlock, full: bool) -> Value {
    let mut v = json!({"blockhash": b.hash, "previousBlockhash": b.parent, "parentSlot": b.height.saturating_sub(1)});
    if full {
        let txs: Vec<Value> = b
            .txs
            .iter()
            .map(|(sig, pays)| {
                // Account 0 pays; account 1 (and, for tokens, 2 as the token account) receive.
                let p = &pays[0];
                match &p.mint {
                    None => json!({
                        "transaction": {"signatures": [sig], "message": {"accountKeys": ["FeePayer1111111111111111111111111111111111", p.address]}},
                        "meta": {"err": null, "preBalances": [10_000_000_000u64, 0], "postBalances": [10_000_000_000u64 - p.units - 5000, p.units],
                            "preTokenBalances": [], "postTokenBalances": [], "loadedAddresses": {"writable": [], "readonly": []}}
                    }),
                    Some((mint, decimals)) => json!({
                        "transaction": {"signatures": [sig], "message": {"accountKeys": ["FeePayer1111111111111111111111111111111111", "TokenAcct111111111111111111111111111111111", mint]}},
                        "meta": {"err": null, "preBalances": [10_000_000_000u64, 2_039_280, 0], "postBalances": [10_000_000_000u64 - 5000, 2_039_280, 0],
                            "preTokenBalances": [{"accountIndex": 1, "mint": mint, "owner": p.address, "uiTokenAmount": {"amount": "0", "decimals": decimals}}],
                            "postTokenBalances": [{"accountIndex": 1, "mint": mint, "owner": p.address, "uiTokenAmount": {"amount": p.units.to_string(), "decimals": decimals}}],
                            "loadedAddresses": {"writable": [], "readonly": []}}
                    }),
                }
            })
            .collect();
        v["transactions"] = json!(txs);
    }
    v
}
