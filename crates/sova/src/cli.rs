//! Command line: flags override `SOVA_*` environment variables, which override the TOML file, which overrides
//! the defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use serde::Deserialize;
use sova_server::Config;

/// Sova: a self-hosted crypto platform backend in one binary.
#[derive(Debug, Parser)]
#[command(name = "sova", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (sandbox mode with no configuration).
    Serve(Box<ServeArgs>),
    /// Apply the embedded database migrations and exit.
    Migrate(DbArgs),
    /// Manage operator accounts (the logins of `/auth/login`).
    Operator {
        #[command(subcommand)]
        command: OperatorCommand,
    },
    /// Manage Intel API keys (`ak_<hex>`) and their accounts' credits.
    IntelKey {
        #[command(subcommand)]
        command: IntelKeyCommand,
    },
    /// Call the Intel API: with an `ak_` key, or paying per call with x402 from a Solana keypair.
    Intel {
        /// What Sova knows of this address.
        address: String,
        /// Base URL of the server.
        #[arg(long, env = "SOVA_URL", default_value = "http://127.0.0.1:8080")]
        url: String,
        /// Intel API key (`ak_<hex>`).
        #[arg(long, env = "SOVA_INTEL_KEY", hide_env_values = true, conflicts_with = "keypair")]
        api_key: Option<String>,
        /// Solana keypair file (JSON array of 64 bytes) that pays per call with x402.
        #[arg(long)]
        keypair: Option<PathBuf>,
    },
    /// Print the OpenAPI document of the Connect API.
    Openapi,
    /// Call a running server's health endpoint.
    Health {
        /// Base URL of the server.
        #[arg(long, env = "SOVA_URL", default_value = "http://127.0.0.1:8080")]
        url: String,
    },
}

#[derive(Debug, Subcommand)]
enum OperatorCommand {
    /// Create an operator login.
    Create {
        /// Login email.
        #[arg(long)]
        email: String,
        /// Password (8 to 256 characters). Prefer SOVA_OPERATOR_PASSWORD to keep it out of shell history.
        #[arg(long, env = "SOVA_OPERATOR_PASSWORD", hide_env_values = true)]
        password: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
enum IntelKeyCommand {
    /// Create a key; its owner's account is created with the credits, or topped up by them.
    Create {
        /// Credits to add to the owner's account.
        #[arg(long)]
        credits: i64,
        /// Owner of the account (a Connect customer id links that customer's Cs-* keys to it).
        #[arg(long, default_value = "default")]
        owner: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Show a key: its account's remaining credits.
    Show {
        /// The key (`ak_<hex>`).
        key: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Add credits to a key's account.
    Topup {
        /// The key (`ak_<hex>`).
        key: String,
        /// Credits to add.
        #[arg(long)]
        credits: i64,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Revoke a key.
    Revoke {
        /// The key (`ak_<hex>`).
        key: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Show a key's recent usage.
    Usage {
        /// The key (`ak_<hex>`).
        key: String,
        /// Most rows.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// Where the database is.
#[derive(Debug, Args, Clone)]
struct DbArgs {
    /// Data directory (SQLite database, keys).
    #[arg(long, env = "SOVA_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL (`sqlite://PATH` or `postgres://USER@HOST/DB`); default SQLite in the data directory.
    #[arg(long, env = "SOVA_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// TOML configuration file (default: ./sova.toml when it exists).
    #[arg(long, env = "SOVA_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Address to listen on.
    #[arg(long, env = "SOVA_LISTEN")]
    listen: Option<SocketAddr>,
    /// Force sandbox mode (the default when no production keys are configured).
    #[arg(long, env = "SOVA_SANDBOX")]
    sandbox: Option<bool>,
    /// BTC mainnet account extended public key (xpub/zpub at m/84'/0'/0'); turns sandbox mode off.
    #[arg(long, env = "SOVA_BTC_XPUB")]
    btc_xpub: Option<String>,
    /// BTC testnet account extended public key (tpub/vpub at m/84'/1'/0').
    #[arg(long, env = "SOVA_BTC_TESTNET_XPUB")]
    btc_testnet_xpub: Option<String>,
    /// EVM account extended public key (xpub at m/44'/60'/0').
    #[arg(long, env = "SOVA_EVM_XPUB")]
    evm_xpub: Option<String>,
    /// File with a BIP-39 mnemonic for Solana deposit addresses in production (mode 0600).
    #[arg(long, env = "SOVA_SOLANA_MNEMONIC_FILE")]
    solana_mnemonic_file: Option<PathBuf>,
    /// Requests per minute per credential (0: unlimited).
    #[arg(long, env = "SOVA_RATE_LIMIT")]
    rate_limit: Option<u64>,
    /// Largest request body in bytes.
    #[arg(long, env = "SOVA_BODY_LIMIT")]
    body_limit: Option<usize>,
    /// Allowed distance in seconds between `Cs-Timestamp` and the server clock.
    #[arg(long, env = "SOVA_HMAC_WINDOW")]
    hmac_window: Option<i64>,
    /// Operator session lifetime in seconds.
    #[arg(long, env = "SOVA_SESSION_TTL")]
    session_ttl: Option<u64>,
    /// Server key file (shared by all replicas); default <data-dir>/server.key.
    #[arg(long, env = "SOVA_SERVER_KEY_FILE")]
    server_key_file: Option<PathBuf>,
    /// Log format.
    #[arg(long, env = "SOVA_LOG_FORMAT", value_parser = ["text", "json"])]
    log_format: Option<String>,
    /// x402 network of the Intel API: solana-devnet (default) or solana.
    #[arg(long, env = "SOVA_X402_NETWORK", value_parser = ["solana-devnet", "solana"])]
    x402_network: Option<String>,
    /// x402 treasury wallet (payTo); sandbox default: generated in the data directory.
    #[arg(long, env = "SOVA_X402_PAY_TO")]
    x402_pay_to: Option<String>,
    /// x402 fee-payer keypair file (Solana CLI JSON); sandbox default: generated in the data directory.
    #[arg(long, env = "SOVA_X402_FEE_PAYER_KEYPAIR")]
    x402_fee_payer_keypair: Option<PathBuf>,
    /// x402 settlement: sandbox (verify and book, submit nothing; the default) or rpc.
    #[arg(long, env = "SOVA_X402_SETTLEMENT", value_parser = ["sandbox", "rpc"])]
    x402_settlement: Option<String>,
    /// Solana JSON-RPC URL for rpc settlement.
    #[arg(long, env = "SOVA_SOLANA_RPC_URL")]
    solana_rpc_url: Option<String>,
    /// EIP-712 chain id of the exchange: 286623 (mainnet, default) or 138565 (testnet).
    #[arg(long, env = "SOVA_CHAIN_ID", value_parser = ["286623", "138565"])]
    chain_id: Option<String>,
    /// Public origin `https://host[:port]` clients sign SIWX requests against (RFC 9421 @authority/@target-uri) and
    /// the SIWX challenges' domain and URI; default http://<listen address>.
    #[arg(long, env = "SOVA_PUBLIC_ORIGIN")]
    public_origin: Option<String>,
    /// Allowed distance in seconds between an RFC 9421 signature's `created` and the server clock (default 60).
    #[arg(long, env = "SOVA_HTTPSIG_SKEW")]
    httpsig_skew: Option<i64>,
    /// EVM JSON-RPC URL for contract-wallet SIWX signatures (ERC-1271/6492), as CHAIN_ID=URL; repeatable
    /// (env: comma-separated).
    #[arg(long, env = "SOVA_EVM_RPC_URL", value_delimiter = ',')]
    evm_rpc_url: Vec<String>,
}

/// The TOML file: the same settings as the flags, snake_case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    sandbox: Option<bool>,
    btc_xpub: Option<String>,
    btc_testnet_xpub: Option<String>,
    evm_xpub: Option<String>,
    solana_mnemonic_file: Option<PathBuf>,
    rate_limit: Option<u64>,
    body_limit: Option<usize>,
    hmac_window: Option<i64>,
    session_ttl: Option<u64>,
    server_key_file: Option<PathBuf>,
    log_format: Option<String>,
    x402_network: Option<String>,
    x402_pay_to: Option<String>,
    x402_fee_payer_keypair: Option<PathBuf>,
    x402_settlement: Option<String>,
    solana_rpc_url: Option<String>,
    chain_id: Option<u64>,
    /// `[exchange]`: chain_id, `[[exchange.coins]]`, `[[exchange.markets]]`.
    exchange: Option<sova_server::exchange::ExchangeConfig>,
    public_origin: Option<String>,
    httpsig_skew: Option<i64>,
    #[serde(default)]
    evm_rpc_url: Vec<String>,
}

fn load_file(path: Option<&Path>) -> anyhow::Result<FileConfig> {
    let (path, required) = match path {
        Some(p) => (p.to_path_buf(), true),
        None => (PathBuf::from("sova.toml"), false),
    };
    if !path.exists() {
        if required {
            anyhow::bail!("configuration file {} does not exist", path.display());
        }
        return Ok(FileConfig::default());
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

fn db_config(db: &DbArgs, file: &FileConfig) -> Config {
    let mut c = Config::default();
    if let Some(d) = db.data_dir.clone().or_else(|| file.data_dir.clone()) {
        c.data_dir = d;
    }
    c.database_url = db.database_url.clone().or_else(|| file.database_url.clone());
    c
}

fn serve_config(a: &ServeArgs, f: &FileConfig) -> Config {
    let mut c = db_config(&a.db, f);
    let d = Config::default();
    c.listen = a.listen.or(f.listen).unwrap_or(d.listen);
    c.btc_xpub = a.btc_xpub.clone().or_else(|| f.btc_xpub.clone());
    c.btc_testnet_xpub = a.btc_testnet_xpub.clone().or_else(|| f.btc_testnet_xpub.clone());
    c.evm_xpub = a.evm_xpub.clone().or_else(|| f.evm_xpub.clone());
    c.solana_mnemonic_file = a.solana_mnemonic_file.clone().or_else(|| f.solana_mnemonic_file.clone());
    c.sandbox = a.sandbox.or(f.sandbox).unwrap_or(!c.has_production_keys());
    c.rate_limit_per_minute = a.rate_limit.or(f.rate_limit).unwrap_or(d.rate_limit_per_minute);
    c.body_limit_bytes = a.body_limit.or(f.body_limit).unwrap_or(d.body_limit_bytes);
    c.hmac_window_secs = a.hmac_window.or(f.hmac_window).unwrap_or(d.hmac_window_secs).max(1);
    c.session_ttl_secs = a.session_ttl.or(f.session_ttl).unwrap_or(d.session_ttl_secs);
    c.server_key_file = a.server_key_file.clone().or_else(|| f.server_key_file.clone());
    if let Some(n) = a.x402_network.clone().or_else(|| f.x402_network.clone()) {
        c.x402_network = n;
    }
    c.x402_pay_to = a.x402_pay_to.clone().or_else(|| f.x402_pay_to.clone());
    c.x402_fee_payer_keypair = a.x402_fee_payer_keypair.clone().or_else(|| f.x402_fee_payer_keypair.clone());
    c.x402_settlement = match a.x402_settlement.as_deref().or(f.x402_settlement.as_deref()) {
        Some("rpc") => sova_server::config::Settlement::Rpc,
        _ => sova_server::config::Settlement::Sandbox,
    };
    c.solana_rpc_url = a.solana_rpc_url.clone().or_else(|| f.solana_rpc_url.clone());
    if let Some(ex) = f.exchange.clone() {
        c.exchange = ex;
    }
    if let Some(id) = a.chain_id.as_deref().and_then(|s| s.parse().ok()).or(f.chain_id) {
        c.exchange.chain_id = id;
    }
    c.public_origin = a.public_origin.clone().or_else(|| f.public_origin.clone());
    c.httpsig_max_skew_secs = a.httpsig_skew.or(f.httpsig_skew).unwrap_or(d.httpsig_max_skew_secs).max(1);
    let rpc = if a.evm_rpc_url.is_empty() { &f.evm_rpc_url } else { &a.evm_rpc_url };
    c.evm_rpc_urls = rpc
        .iter()
        .filter_map(|s| {
            let (chain, url) = s.split_once('=')?;
            Some((chain.trim().parse().ok()?, url.trim().to_string()))
        })
        .collect();
    c
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SOVA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().flatten_event(true).with_current_span(true).init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}

/// Run a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(a) => {
            let file = load_file(a.db.config.as_deref())?;
            let config = serve_config(&a, &file);
            let rpc = if a.evm_rpc_url.is_empty() { &file.evm_rpc_url } else { &a.evm_rpc_url };
            if rpc.len() != config.evm_rpc_urls.len() {
                anyhow::bail!("--evm-rpc-url takes CHAIN_ID=URL, e.g. 8453=https://mainnet.base.org; got {rpc:?}");
            }
            init_logging(a.log_format.as_deref().or(file.log_format.as_deref()).unwrap_or("text"));
            let mode = if config.sandbox { "sandbox" } else { "production" };
            let db = sova_store::redact_url(&config.database_url());
            let data_dir = config.data_dir.display().to_string();
            let chain_id = config.exchange.chain_id;
            let running = sova_server::start(config, shutdown_signal()).await?;
            let url = running.url();
            let has_operator = running.ctx.store.operator_count().await.unwrap_or(0) > 0;
            tracing::info!(%url, mode, "listening");
            println!("Sova {} listening on {url} ({mode} mode)", env!("CARGO_PKG_VERSION"));
            println!("  API       {url}/sovx/v1   (health: {url}/sovx/v1/health, OpenAPI: {url}/sovx/v1/openapi.json)");
            println!(
                "  exchange  {url}/api/v1/spot   (WebSocket: ws://{}/ws/spot, chain id {})",
                url.trim_start_matches("http://"),
                chain_id
            );
            println!("  metrics   {url}/metrics");
            println!("  database  {db}");
            println!("  data dir  {data_dir}");
            if !has_operator {
                println!();
                println!("No operator account yet. Create the first one (in another terminal):");
                println!(
                    "  sova operator create --email you@example.com --password 'choose-a-long-password' --data-dir {data_dir}"
                );
            }
            println!();
            println!("Log in for a session token:");
            println!(
                "  curl -s -X POST {url}/sovx/v1/auth/login -H 'Content-Type: application/json' \\\n    -d '{{\"email\":\"you@example.com\",\"password\":\"choose-a-long-password\"}}'"
            );
            running.wait().await?;
            tracing::info!("stopped");
            Ok(())
        }
        Command::Migrate(db) => {
            let file = load_file(db.config.as_deref())?;
            let c = db_config(&db, &file);
            std::fs::create_dir_all(&c.data_dir)?;
            sova_store::open(&c.database_url()).await?;
            println!("migrations applied to {}", sova_store::redact_url(&c.database_url()));
            Ok(())
        }
        Command::Operator { command: OperatorCommand::Create { email, password, db } } => {
            let file = load_file(db.config.as_deref())?;
            let c = db_config(&db, &file);
            std::fs::create_dir_all(&c.data_dir)?;
            let store = sova_store::open(&c.database_url()).await?;
            let email = email.trim().to_lowercase();
            if !email.contains('@') {
                anyhow::bail!("--email must be an email address");
            }
            let hash = tokio::task::spawn_blocking(move || sova_auth::password::hash_password(&password)).await??;
            let op = sova_store::Operator {
                id: uuid::Uuid::new_v4().to_string(),
                email: email.clone(),
                password_hash: hash,
                created_at: chrono::Utc::now().timestamp_millis(),
            };
            match store.create_operator(&op).await {
                Ok(()) => {}
                Err(sova_store::StoreError::Conflict(_)) => {
                    anyhow::bail!("an operator with email {email} already exists")
                }
                Err(e) => return Err(e.into()),
            }
            println!("{}", serde_json::json!({"id": op.id, "email": op.email}));
            Ok(())
        }
        Command::IntelKey { command } => intel_key(command).await,
        Command::Intel { address, url, api_key, keypair } => {
            let client = sova_client::Client::new(url);
            let client = match (api_key, keypair) {
                (Some(k), _) => client.with_api_key(&k),
                (None, Some(path)) => {
                    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                    let bytes: Vec<u8> =
                        serde_json::from_str(&text).context("the keypair file must be a JSON array of 64 bytes")?;
                    let arr: [u8; 64] =
                        bytes.try_into().map_err(|_| anyhow::anyhow!("the keypair file must hold 64 bytes"))?;
                    let key =
                        sova_chain::solana::SigningKey::from_keypair_bytes(&arr).context("not an ed25519 keypair")?;
                    client.with_x402(sova_client::solana_payer(key))
                }
                (None, None) => anyhow::bail!("pass --api-key or --keypair"),
            };
            let path = format!("/wallet/{address}/hud");
            let r = client.intel_raw(sova_client::Method::GET, &path, None).await?;
            let header = |n: &str| r.headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
            let settlement =
                header("payment-response").and_then(|h| sova_auth::x402::decode_header::<serde_json::Value>(&h).ok());
            println!(
                "{}",
                serde_json::json!({
                    "status": r.status,
                    "body": r.json,
                    "credits_cost": header("x-credits-cost"),
                    "credits_remaining": header("x-credits-remaining"),
                    "settlement": settlement,
                    "transaction": header("x-payment-response"),
                })
            );
            anyhow::ensure!(r.status < 400, "the call failed with HTTP {}", r.status);
            Ok(())
        }
        Command::Openapi => {
            println!("{}", serde_json::to_string_pretty(&sova_server::openapi())?);
            Ok(())
        }
        Command::Health { url } => {
            let h = sova_client::Client::new(url).health().await?;
            println!("{}", serde_json::to_string(&h)?);
            Ok(())
        }
    }
}

/// Open the store and the keyed hasher (the server key in the data directory, created if missing) for CLI commands.
async fn admin_context(
    db: &DbArgs,
) -> anyhow::Result<(std::sync::Arc<dyn sova_store::Store>, sova_auth::keys::KeyHasher)> {
    let file = load_file(db.config.as_deref())?;
    let c = db_config(db, &file);
    std::fs::create_dir_all(&c.data_dir)?;
    let store = sova_store::open(&c.database_url()).await?;
    let key_path = file.server_key_file.clone().unwrap_or_else(|| c.data_dir.join("server.key"));
    let server_key = sova_server::secrets::server_key(&key_path)?;
    Ok((store, sova_auth::keys::KeyHasher::new(server_key.pepper)))
}

async fn key_row(
    store: &dyn sova_store::Store,
    hasher: &sova_auth::keys::KeyHasher,
    key: &str,
) -> anyhow::Result<(sova_store::IntelKeyRow, sova_store::IntelAccount)> {
    store.intel_key_by_hash(hasher.hash(key.trim()).as_str()).await?.ok_or_else(|| anyhow::anyhow!("no such Intel key"))
}

fn key_json(k: &sova_store::IntelKeyRow, a: &sova_store::IntelAccount, key: Option<&str>) -> serde_json::Value {
    let mut v = serde_json::json!({
        "key_id": k.id,
        "prefix": k.prefix,
        "owner": a.owner,
        "account_id": a.id,
        "remaining": a.credits,
        "status": if k.revoked_at.is_some() { "REVOKED" } else { "ACTIVE" },
    });
    if let Some(key) = key {
        v["key"] = serde_json::Value::String(key.to_string());
    }
    v
}

async fn intel_key(cmd: IntelKeyCommand) -> anyhow::Result<()> {
    let now = chrono::Utc::now().timestamp_millis();
    match cmd {
        IntelKeyCommand::Create { credits, owner, db } => {
            anyhow::ensure!(credits >= 0, "--credits must be 0 or more");
            let owner = owner.trim().to_string();
            anyhow::ensure!(!owner.is_empty() && owner.len() <= 100, "--owner must be 1 to 100 characters");
            let (store, hasher) = admin_context(&db).await?;
            let (key, row) = sova_server::intel::meter::mint_key(&hasher, now);
            let account = store.create_intel_key(&owner, credits, &row, now).await?;
            println!("{}", key_json(&row, &account, Some(&key)));
        }
        IntelKeyCommand::Show { key, db } => {
            let (store, hasher) = admin_context(&db).await?;
            let (k, a) = key_row(store.as_ref(), &hasher, &key).await?;
            println!("{}", key_json(&k, &a, None));
        }
        IntelKeyCommand::Topup { key, credits, db } => {
            anyhow::ensure!(credits > 0, "--credits must be 1 or more");
            let (store, hasher) = admin_context(&db).await?;
            let (k, a) = key_row(store.as_ref(), &hasher, &key).await?;
            let topup = sova_store::Charge {
                account_id: a.id.clone(),
                key_id: Some(k.id.clone()),
                kind: "topup",
                endpoint: String::new(),
                cost: -credits,
                trace_id: "cli".into(),
            };
            store.apply_charges(&[topup], now).await?;
            let (k, a) = key_row(store.as_ref(), &hasher, &key).await?;
            println!("{}", key_json(&k, &a, None));
        }
        IntelKeyCommand::Revoke { key, db } => {
            let (store, hasher) = admin_context(&db).await?;
            let (k, _) = key_row(store.as_ref(), &hasher, &key).await?;
            store.revoke_intel_key(&k.id, now).await?;
            // A running server learns of it through the store's notifications (PostgreSQL) or its own cache
            // invalidation; on SQLite, restart the server or revoke through the operator API.
            store.notify_auth_change(&format!("intel:{}", k.key_hash)).await?;
            let (k, a) = key_row(store.as_ref(), &hasher, &key).await?;
            println!("{}", key_json(&k, &a, None));
        }
        IntelKeyCommand::Usage { key, limit, db } => {
            let (store, hasher) = admin_context(&db).await?;
            let (k, a) = key_row(store.as_ref(), &hasher, &key).await?;
            let rows = store.intel_usage(&a.id, Some(&k.id), limit.clamp(1, 1000)).await?;
            let rows: Vec<serde_json::Value> = rows
                .into_iter()
                .map(|u| serde_json::json!({"kind": u.kind, "endpoint": u.endpoint, "cost": u.cost, "calls": u.calls, "balance": u.balance, "trace_id": u.trace_id, "at": u.created_at}))
                .collect();
            println!("{}", serde_json::Value::Array(rows));
        }
    }
    Ok(())
}
