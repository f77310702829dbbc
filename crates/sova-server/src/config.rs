//! Server configuration, as the CLI assembles it from flags, `SOVA_*` environment variables and a TOML file.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Price of an Intel endpoint: credits for key holders, USDC base units (6 decimals) for x402.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price {
    /// Credits per successful call.
    pub credits: i64,
    /// USDC base units per call paid with x402.
    pub usdc: u64,
}

/// How x402 payments are settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// Verify everything, record the payment in Sova's ledger, submit nothing (the embedded default).
    Sandbox,
    /// Co-sign and submit over Solana JSON-RPC.
    Rpc,
}

/// Everything `sova serve` needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory for the SQLite database, the sandbox seed and the server key.
    pub data_dir: PathBuf,
    /// Database URL; `None` means SQLite at `<data_dir>/sova.db`.
    pub database_url: Option<String>,
    /// Sandbox mode: generated seed, sandbox deposit endpoint. Off when production keys are configured.
    pub sandbox: bool,
    /// Production BTC mainnet account xpub/zpub (m/84'/0'/0').
    pub btc_xpub: Option<String>,
    /// Production BTC testnet account tpub/vpub (m/84'/1'/0').
    pub btc_testnet_xpub: Option<String>,
    /// Production EVM account xpub (m/44'/60'/0').
    pub evm_xpub: Option<String>,
    /// Production Solana seed (a BIP-39 mnemonic file); Solana has no public derivation.
    pub solana_mnemonic_file: Option<PathBuf>,
    /// Requests per minute per credential (0: unlimited).
    pub rate_limit_per_minute: u64,
    /// Allowed distance between `Cs-Timestamp` and the server clock, in seconds.
    pub hmac_window_secs: i64,
    /// Largest accepted request body in bytes.
    pub body_limit_bytes: usize,
    /// Operator session lifetime in seconds.
    pub session_ttl_secs: u64,
    /// Intel prices by endpoint key (`hud`, `activity`, `batch`).
    pub intel_prices: BTreeMap<String, Price>,
    /// x402 network: `solana-devnet` or `solana`.
    pub x402_network: String,
    /// x402 treasury wallet (the `payTo` owner address); sandbox default: generated in the data directory.
    pub x402_pay_to: Option<String>,
    /// Fee-payer keypair file (Solana CLI JSON format); sandbox default: generated in the data directory.
    pub x402_fee_payer_keypair: Option<PathBuf>,
    /// x402 settlement backend.
    pub x402_settlement: Settlement,
    /// Solana JSON-RPC URL (for `rpc` settlement).
    pub solana_rpc_url: Option<String>,
    /// File holding the server secret (pepper for keyed hashes and the session signing key); replicas must share it.
    /// Default `<data_dir>/server.key`.
    pub server_key_file: Option<PathBuf>,
    /// Exchange: chain id, coins, markets.
    pub exchange: sova_exchange::ExchangeConfig,
    /// The public origin `scheme://host[:port]` clients sign against (RFC 9421 `@authority`/`@target-uri`) and the
    /// SIWX challenges' domain and URI; `None`: `http://<listen address>`.
    pub public_origin: Option<String>,
    /// Allowed `|now - created|` of RFC 9421 signatures, in seconds.
    pub httpsig_max_skew_secs: i64,
    /// EVM JSON-RPC URLs by chain id, for contract-wallet (ERC-1271 / ERC-6492) SIWX signatures.
    pub evm_rpc_urls: BTreeMap<u64, String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./sova-data"),
            database_url: None,
            sandbox: true,
            btc_xpub: None,
            btc_testnet_xpub: None,
            evm_xpub: None,
            solana_mnemonic_file: None,
            rate_limit_per_minute: 1200,
            hmac_window_secs: 30,
            body_limit_bytes: 64 * 1024,
            session_ttl_secs: 3600,
            server_key_file: None,
            intel_prices: BTreeMap::from([
                ("hud".to_string(), Price { credits: 1, usdc: 15_000 }),
                ("activity".to_string(), Price { credits: 1, usdc: 15_000 }),
                ("batch".to_string(), Price { credits: 10, usdc: 100_000 }),
            ]),
            x402_network: "solana-devnet".into(),
            x402_pay_to: None,
            x402_fee_payer_keypair: None,
            x402_settlement: Settlement::Sandbox,
            solana_rpc_url: None,
            exchange: Default::default(),
            public_origin: None,
            httpsig_max_skew_secs: sova_auth::httpsig::DEFAULT_MAX_SKEW_SECS,
            evm_rpc_urls: BTreeMap::new(),
        }
    }
}

impl Config {
    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("sova.db").display()))
    }

    /// Price of an Intel endpoint key (unknown keys cost like `hud`).
    pub fn intel_price(&self, key: &str) -> Price {
        self.intel_prices
            .get(key)
            .or_else(|| self.intel_prices.get("hud"))
            .copied()
            .unwrap_or(Price { credits: 1, usdc: 15_000 })
    }

    /// Whether any production key is configured.
    pub fn has_production_keys(&self) -> bool {
        self.btc_xpub.is_some() || self.btc_testnet_xpub.is_some() || self.evm_xpub.is_some()
    }
}
