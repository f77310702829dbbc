//! Server configuration: every setting of `sova serve`, declared once, here.
//!
//! A field's serde name is its TOML key, its flag (`--` and kebab-case) and its environment variable (`SOVA_` and
//! upper case); its doc comment is the flag's help, its type says which values are accepted, [`Config::default`]
//! holds the defaults. The `sova` binary reads it from flags, `SOVA_*` variables, a TOML file and these defaults
//! (`crates/sova/src/config.rs`, from the JSON schema of this struct); anything it cannot read is refused.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::de::{self, IntoDeserializer, Unexpected};
use serde::{Deserialize, Deserializer, Serialize};

/// Price of an Intel endpoint: credits for key holders, USDC base units (6 decimals) for x402.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price {
    /// Credits per successful call.
    pub credits: i64,
    /// USDC base units per call paid with x402.
    pub usdc: u64,
}

/// How x402 payments are settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Settlement {
    /// Verify everything, record the payment in Sova's ledger, submit nothing (the embedded default).
    Sandbox,
    /// Co-sign and submit over Solana JSON-RPC.
    Rpc,
}

/// The Solana network of x402 payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum X402Network {
    /// Devnet: `solana-devnet`.
    #[serde(rename = "solana-devnet")]
    SolanaDevnet,
    /// Mainnet: `solana`.
    #[serde(rename = "solana")]
    Solana,
}

impl X402Network {
    /// The name: `solana-devnet` or `solana`.
    pub fn as_str(&self) -> &'static str {
        match self {
            X402Network::SolanaDevnet => "solana-devnet",
            X402Network::Solana => "solana",
        }
    }
}

impl fmt::Display for X402Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Format of the log lines on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Everything `sova serve` needs. The doc comments of the fields are the help of `sova serve --help`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Data directory (SQLite database, keys).
    pub data_dir: PathBuf,
    /// Database URL (`sqlite://PATH` or `postgres://USER@HOST/DB`); default SQLite in the data directory.
    pub database_url: Option<String>,
    /// Force sandbox mode (true) or production mode (false); default: sandbox unless a production key is configured.
    pub sandbox: Option<bool>,
    /// BTC mainnet account extended public key (xpub/zpub at m/84'/0'/0'); turns sandbox mode off.
    pub btc_xpub: Option<String>,
    /// BTC testnet account extended public key (tpub/vpub at m/84'/1'/0').
    pub btc_testnet_xpub: Option<String>,
    /// EVM account extended public key (xpub at m/44'/60'/0').
    pub evm_xpub: Option<String>,
    /// File with a BIP-39 mnemonic for Solana deposit addresses in production (mode 0600).
    pub solana_mnemonic_file: Option<PathBuf>,
    /// Requests per minute per credential (0: unlimited).
    #[serde(rename = "rate_limit")]
    pub rate_limit_per_minute: u64,
    /// Allowed distance in seconds between `Cs-Timestamp` and the server clock (at least 1).
    #[serde(rename = "hmac_window", deserialize_with = "at_least_one")]
    pub hmac_window_secs: i64,
    /// Largest request body in bytes.
    #[serde(rename = "body_limit")]
    pub body_limit_bytes: usize,
    /// Seconds a client has to send a request's headers; also how long an idle keep-alive connection stays open
    /// (at least 1).
    #[serde(rename = "header_timeout", deserialize_with = "at_least_one")]
    pub header_timeout_secs: i64,
    /// Seconds a request body may pause between two reads before the request is answered 408 (at least 1).
    #[serde(rename = "body_timeout", deserialize_with = "at_least_one")]
    pub body_timeout_secs: i64,
    /// Most connections served at once (more wait in the listen queue); lowered to fit the open-file limit.
    #[serde(deserialize_with = "at_least_one_usize")]
    pub max_connections: usize,
    /// Operator session lifetime in seconds.
    #[serde(rename = "session_ttl")]
    pub session_ttl_secs: u64,
    /// Log format: text or json.
    #[serde(deserialize_with = "by_name")]
    pub log_format: LogFormat,
    /// Intel prices by endpoint key (`hud`, `activity`, `batch`); not configurable.
    #[serde(skip)]
    pub intel_prices: BTreeMap<String, Price>,
    /// x402 network of the Intel API: solana-devnet or solana.
    #[serde(deserialize_with = "by_name")]
    pub x402_network: X402Network,
    /// x402 treasury wallet (payTo); sandbox default: generated in the data directory.
    pub x402_pay_to: Option<String>,
    /// x402 fee-payer keypair file (Solana CLI JSON); sandbox default: generated in the data directory.
    pub x402_fee_payer_keypair: Option<PathBuf>,
    /// x402 settlement: sandbox (verify and book, submit nothing) or rpc.
    #[serde(deserialize_with = "by_name")]
    pub x402_settlement: Settlement,
    /// Solana JSON-RPC URL for rpc settlement.
    pub solana_rpc_url: Option<String>,
    /// Server key file (shared by all replicas); default <data-dir>/server.key.
    pub server_key_file: Option<PathBuf>,
    /// EIP-712 chain id of the exchange: 286623 (mainnet, default) or 138565 (testnet); overrides `[exchange]
    /// chain_id`.
    #[serde(deserialize_with = "exchange_chain_id")]
    pub chain_id: Option<u64>,
    /// Prefix of the exchange's coin names, to mirror the vendor's listing (`v`: coins vBTC, vUSDC, markets
    /// vBTC_vUSDC; display names stay BTC/USDC); overrides `[exchange] coin_name_prefix`.
    pub exchange_coin_prefix: Option<String>,
    /// The exchange: `[exchange]` chain_id, `[[exchange.coins]]`, `[[exchange.markets]]` (TOML file only).
    #[schemars(skip)]
    pub exchange: sova_exchange::ExchangeConfig,
    /// Public origin `https://host[:port]` clients sign SIWX requests against (RFC 9421 @authority/@target-uri) and
    /// the SIWX challenges' domain and URI; default http://<listen address>.
    pub public_origin: Option<String>,
    /// Allowed distance in seconds between an RFC 9421 signature's `created` and the server clock (at least 1).
    #[serde(rename = "httpsig_skew", deserialize_with = "at_least_one")]
    pub httpsig_max_skew_secs: i64,
    /// EVM JSON-RPC URL for contract-wallet SIWX signatures (ERC-1271/6492), as CHAIN_ID=URL; repeatable
    /// (environment and TOML: comma-separated, a list, or a TOML table CHAIN_ID = URL).
    #[serde(rename = "evm_rpc_url", with = "evm_rpc_urls")]
    #[schemars(with = "Vec<String>")]
    pub evm_rpc_urls: BTreeMap<u64, String>,
    /// Let webhook endpoints target private, loopback and link-local addresses (a development setting: by default
    /// Sova refuses them, so a tenant cannot make it call inside your network).
    pub webhook_allow_private: bool,
    /// Redis URL (`redis://127.0.0.1:6379`) where replicas share `Cs-*` replays and rate-limit windows; without it,
    /// replicas on PostgreSQL share them through the database, and SQLite keeps them in memory.
    pub redis_url: Option<String>,
    /// The URL other replicas reach this one at (`http://10.0.0.5:8080`), for writes to the exchange they forward
    /// to the leader; default: `http://` + the listen address (loopback when listening on all interfaces).
    pub advertise_url: Option<String>,
    /// An external index feed of a perps market, as SYMBOL=URL[#/json/pointer] (default pointer `/price`);
    /// repeatable, several per market give their median; without one a market's index comes from the spot book
    /// (environment and TOML: comma-separated or a list).
    #[serde(with = "index_feeds")]
    #[schemars(with = "Vec<String>")]
    pub perps_index_feed: Vec<String>,
    /// How long a Connect trading quote holds, in seconds (1 to 300).
    #[serde(deserialize_with = "quote_ttl")]
    pub quote_ttl: u64,
    /// Connect trading takes the vendor's `usd` pairs (`btcusd`) as the USDC ones (`btcusdc`).
    pub trading_usd_alias: bool,
    /// Watch a network for deposits through a node's JSON-RPC, as NETWORK=URL (`ethereum=http://127.0.0.1:8545`,
    /// `bitcoin=http://user:pass@127.0.0.1:8332`, `solana=https://api.mainnet-beta.solana.com`); repeatable, one
    /// per network (environment and TOML: comma-separated or a list).
    #[serde(with = "chain_rpcs")]
    #[schemars(with = "Vec<String>")]
    pub chain_rpc: Vec<String>,
    /// When a watched network's deposits are final, as NETWORK=DEPTH (confirmations) or NETWORK=finalized (the
    /// chain's own finality); defaults: bitcoin 3, bitcoin-testnet 1, EVM finalized (12 deep where the node has no
    /// `finalized` tag), Solana finalized.
    #[serde(with = "chain_thresholds")]
    #[schemars(with = "Vec<String>")]
    pub chain_confirmations: Vec<String>,
    /// A token contract (EVM) or mint (Solana) credited as a currency, as NETWORK:CURRENCY=ADDRESS
    /// (`ethereum:USDC=0x...`); replaces the default (Circle's USDC, Tether's USDT) for that pair.
    #[serde(with = "chain_tokens")]
    #[schemars(with = "Vec<String>")]
    pub chain_token: Vec<String>,
    /// How often a caught-up chain watcher asks its node for new blocks, in milliseconds (50 to 600000).
    #[serde(deserialize_with = "chain_poll_ms")]
    pub chain_poll_ms: u64,
    /// Send withdrawals on an EVM network for real from a hot wallet, as NETWORK=KEYFILE (a file holding the
    /// wallet's private key in hex; keep it mode 0600); the network must be watched (`chain_rpc`).
    #[serde(with = "chain_signers")]
    #[schemars(with = "Vec<String>")]
    pub chain_signer: Vec<String>,
    /// Seconds a sent withdrawal may stay unmined before it is replaced with higher fees (5 to 86400).
    #[serde(deserialize_with = "chain_replace_secs")]
    pub chain_replace_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./sova-data"),
            database_url: None,
            sandbox: None,
            btc_xpub: None,
            btc_testnet_xpub: None,
            evm_xpub: None,
            solana_mnemonic_file: None,
            rate_limit_per_minute: 1200,
            hmac_window_secs: 30,
            body_limit_bytes: 64 * 1024,
            header_timeout_secs: 15,
            body_timeout_secs: 30,
            max_connections: 10_000,
            session_ttl_secs: 3600,
            log_format: LogFormat::Text,
            server_key_file: None,
            intel_prices: BTreeMap::from([
                ("hud".to_string(), Price { credits: 1, usdc: 15_000 }),
                ("activity".to_string(), Price { credits: 1, usdc: 15_000 }),
                ("batch".to_string(), Price { credits: 10, usdc: 100_000 }),
            ]),
            x402_network: X402Network::SolanaDevnet,
            x402_pay_to: None,
            x402_fee_payer_keypair: None,
            x402_settlement: Settlement::Sandbox,
            solana_rpc_url: None,
            chain_id: None,
            exchange_coin_prefix: None,
            exchange: Default::default(),
            public_origin: None,
            httpsig_max_skew_secs: sova_auth::httpsig::DEFAULT_MAX_SKEW_SECS,
            evm_rpc_urls: BTreeMap::new(),
            webhook_allow_private: false,
            redis_url: None,
            advertise_url: None,
            perps_index_feed: Vec::new(),
            quote_ttl: 30,
            trading_usd_alias: false,
            chain_rpc: Vec::new(),
            chain_confirmations: Vec::new(),
            chain_token: Vec::new(),
            chain_poll_ms: 2000,
            chain_signer: Vec::new(),
            chain_replace_secs: 180,
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

    /// Sandbox mode: as set, or on unless a production key is configured.
    pub fn sandbox(&self) -> bool {
        self.sandbox.unwrap_or(!self.has_production_keys())
    }
}

/// An enum read from its name only (serde would also take a variant's index, e.g. `x402_settlement = 1`).
fn by_name<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    let name = String::deserialize(d)?;
    T::deserialize(IntoDeserializer::<D::Error>::into_deserializer(name))
}

/// A number of seconds of at least 1.
fn at_least_one<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let secs = i64::deserialize(d)?;
    if secs < 1 {
        return Err(de::Error::invalid_value(Unexpected::Signed(secs), &"at least 1"));
    }
    Ok(secs)
}

fn quote_ttl<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let secs = u64::deserialize(d)?;
    if !(1..=300).contains(&secs) {
        return Err(de::Error::invalid_value(Unexpected::Unsigned(secs), &"1 to 300 seconds"));
    }
    Ok(secs)
}

fn chain_poll_ms<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let ms = u64::deserialize(d)?;
    if !(50..=600_000).contains(&ms) {
        return Err(de::Error::invalid_value(Unexpected::Unsigned(ms), &"50 to 600000 milliseconds"));
    }
    Ok(ms)
}

fn chain_replace_secs<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let secs = u64::deserialize(d)?;
    if !(5..=86_400).contains(&secs) {
        return Err(de::Error::invalid_value(Unexpected::Unsigned(secs), &"5 to 86400 seconds"));
    }
    Ok(secs)
}

fn at_least_one_usize<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let n = usize::deserialize(d)?;
    if n < 1 {
        return Err(de::Error::invalid_value(Unexpected::Unsigned(0), &"at least 1"));
    }
    Ok(n)
}

/// One of the exchange's two EIP-712 chain ids.
fn exchange_chain_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    use sova_auth::exchange::{MAINNET_CHAIN_ID, TESTNET_CHAIN_ID};
    let id = Option::<u64>::deserialize(d)?;
    match id {
        None | Some(MAINNET_CHAIN_ID | TESTNET_CHAIN_ID) => Ok(id),
        Some(other) => {
            Err(de::Error::invalid_value(Unexpected::Unsigned(other), &"286623 (mainnet) or 138565 (testnet)"))
        }
    }
}

/// `evm_rpc_url`: written as `CHAIN_ID=URL` entries (a list, or one comma-separated string), or as a table of URLs
/// by chain id.
/// Lists of `KEY=VALUE` entries (a list, or one comma-separated string), each module naming its form for errors.
mod pairs {
    use std::fmt;

    use serde::de::{self, SeqAccess, Unexpected, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(entries: &[String], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(entries)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D, expected: &'static str) -> Result<Vec<String>, D::Error> {
        d.deserialize_any(Pairs(expected))
    }

    struct Pairs(&'static str);

    impl Pairs {
        fn entry<E: de::Error>(&self, out: &mut Vec<String>, e: &str) -> Result<(), E> {
            match e.split_once('=') {
                Some((s, u)) if !s.trim().is_empty() && !u.trim().is_empty() => {
                    out.push(format!("{}={}", s.trim(), u.trim()));
                    Ok(())
                }
                _ => Err(E::invalid_value(Unexpected::Str(e), &self.0)),
            }
        }
    }

    impl<'de> Visitor<'de> for Pairs {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{} entries", self.0)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let mut out = Vec::new();
            for e in v.split(',').filter(|e| !e.trim().is_empty()) {
                self.entry(&mut out, e)?;
            }
            Ok(out)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(e) = seq.next_element::<String>()? {
                self.entry(&mut out, &e)?;
            }
            Ok(out)
        }
    }
}

/// `perps_index_feed`: SYMBOL=URL entries (checked against the markets at start).
mod index_feeds {
    pub use super::pairs::serialize;

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        super::pairs::deserialize(d, "SYMBOL=URL")
    }
}

/// `chain_rpc`: NETWORK=URL entries (checked at start).
mod chain_rpcs {
    pub use super::pairs::serialize;

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        super::pairs::deserialize(d, "NETWORK=URL")
    }
}

/// `chain_confirmations`: NETWORK=DEPTH|finalized entries (checked at start).
mod chain_thresholds {
    pub use super::pairs::serialize;

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        super::pairs::deserialize(d, "NETWORK=DEPTH or NETWORK=finalized")
    }
}

/// `chain_signer`: NETWORK=KEYFILE entries (checked at start).
mod chain_signers {
    pub use super::pairs::serialize;

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        super::pairs::deserialize(d, "NETWORK=KEYFILE")
    }
}

/// `chain_token`: NETWORK:CURRENCY=CONTRACT entries (checked at start).
mod chain_tokens {
    pub use super::pairs::serialize;

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        super::pairs::deserialize(d, "NETWORK:CURRENCY=CONTRACT")
    }
}

mod evm_rpc_urls {
    use std::collections::BTreeMap;
    use std::fmt;

    use serde::de::{self, MapAccess, SeqAccess, Unexpected, Visitor};
    use serde::{Deserializer, Serializer};

    const EXPECTED: &str = "CHAIN_ID=URL, e.g. 8453=https://mainnet.base.org";

    pub fn serialize<S: Serializer>(urls: &BTreeMap<u64, String>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(urls.iter().map(|(id, url)| format!("{id}={url}")))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<u64, String>, D::Error> {
        d.deserialize_any(Urls)
    }

    struct Urls;

    fn insert<E: de::Error>(urls: &mut BTreeMap<u64, String>, id: &str, url: &str) -> Result<(), E> {
        let id: u64 = id.trim().parse().map_err(|_| E::invalid_value(Unexpected::Str(id), &"a chain id"))?;
        let url = url.trim();
        if url.is_empty() {
            return Err(E::invalid_value(Unexpected::Str(url), &"a URL"));
        }
        if urls.insert(id, url.to_string()).is_some() {
            return Err(E::custom(format_args!("chain id {id} is given twice")));
        }
        Ok(())
    }

    fn entry<E: de::Error>(urls: &mut BTreeMap<u64, String>, entry: &str) -> Result<(), E> {
        let (id, url) = entry.split_once('=').ok_or_else(|| E::invalid_value(Unexpected::Str(entry), &EXPECTED))?;
        insert(urls, id, url)
    }

    impl<'de> Visitor<'de> for Urls {
        type Value = BTreeMap<u64, String>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{EXPECTED} entries")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let mut urls = BTreeMap::new();
            for e in v.split(',').filter(|e| !e.trim().is_empty()) {
                entry(&mut urls, e)?;
            }
            Ok(urls)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut urls = BTreeMap::new();
            while let Some(e) = seq.next_element::<String>()? {
                entry(&mut urls, &e)?;
            }
            Ok(urls)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut urls = BTreeMap::new();
            while let Some((id, url)) = map.next_entry::<String, String>()? {
                insert(&mut urls, &id, &url)?;
            }
            Ok(urls)
        }
    }
}
