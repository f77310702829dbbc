//! Command line: the subcommands, and what each does. The settings of `sova serve` and their flags are in
//! [`crate::config`] (flags override `SOVA_*` environment variables, which override the TOML file, which overrides
//! the defaults).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use sova_server::config::LogFormat;

use crate::config::{DbFlags, ServeFlags};

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
    Serve(ServeFlags),
    /// Apply the embedded database migrations and exit.
    Migrate(DbFlags),
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
    /// Print an OpenAPI document: the Connect API's (`/sovx/v1`, with Intel and SIWX) or the exchange's.
    Openapi {
        /// Which document.
        #[arg(long, value_enum, default_value_t = Surface::Connect)]
        surface: Surface,
    },
    /// Call a running server's health endpoint.
    Health {
        /// Base URL of the server.
        #[arg(long, env = "SOVA_URL", default_value = "http://127.0.0.1:8080")]
        url: String,
    },
}

/// The OpenAPI documents Sova serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Surface {
    /// `/sovx/v1/openapi.json`: Connect, Intel and SIWX.
    Connect,
    /// `/api/v1/openapi.json`: the exchange.
    Exchange,
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
        db: DbFlags,
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
        db: DbFlags,
    },
    /// Show a key: its account's remaining credits.
    Show {
        /// The key (`ak_<hex>`).
        key: String,
        #[command(flatten)]
        db: DbFlags,
    },
    /// Add credits to a key's account.
    Topup {
        /// The key (`ak_<hex>`).
        key: String,
        /// Credits to add.
        #[arg(long)]
        credits: i64,
        #[command(flatten)]
        db: DbFlags,
    },
    /// Revoke a key.
    Revoke {
        /// The key (`ak_<hex>`).
        key: String,
        #[command(flatten)]
        db: DbFlags,
    },
    /// Show a key's recent usage.
    Usage {
        /// The key (`ak_<hex>`).
        key: String,
        /// Most rows.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[command(flatten)]
        db: DbFlags,
    },
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SOVA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    if format == LogFormat::Json {
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
        Command::Serve(flags) => {
            let config = crate::config::load(&flags)?;
            init_logging(config.log_format);
            let mode = if config.sandbox() { "sandbox" } else { "production" };
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
            println!("  console   {url}/console   (operators sign in with their email and password)");
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
            let c = crate::config::load(&db)?;
            sova_server::secrets::private_dir(&c.data_dir)?;
            sova_store::open(&c.database_url()).await?;
            println!("migrations applied to {}", sova_store::redact_url(&c.database_url()));
            Ok(())
        }
        Command::Operator { command: OperatorCommand::Create { email, password, db } } => {
            let c = crate::config::load(&db)?;
            sova_server::secrets::private_dir(&c.data_dir)?;
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
        Command::Openapi { surface } => {
            let doc = match surface {
                Surface::Connect => sova_server::openapi(),
                Surface::Exchange => sova_server::exchange_openapi(),
            };
            println!("{}", serde_json::to_string_pretty(&doc)?);
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
    db: &DbFlags,
) -> anyhow::Result<(std::sync::Arc<dyn sova_store::Store>, sova_auth::keys::KeyHasher)> {
    let c = crate::config::load(db)?;
    sova_server::secrets::private_dir(&c.data_dir)?;
    let store = sova_store::open(&c.database_url()).await?;
    let key_path = c.server_key_file.clone().unwrap_or_else(|| c.data_dir.join("server.key"));
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
