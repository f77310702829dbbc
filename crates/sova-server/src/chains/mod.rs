//! Chain watchers (issue 18; `../shared/spec/connect-money.md` section 5): one per network given with
//! `--chain-rpc NETWORK=URL`, each following its node block by block by hash and parent, recording the blocks it
//! saw, and turning payments to issued deposit addresses into deposits: `PENDING` when seen, `COMPLETED` at the
//! network's threshold, `DROPPED` (or `REVERSED`, past the threshold) when a reorg takes their block away. Exactly
//! one replica writes a network (an advisory lock per network); the others stand by. Health is in `/metrics`
//! (`sova_chain_*`) and at `GET /sovx/v1/chains` (operators).
//!
//! The follower ([`watcher`]) reads chains only through [`sova_chain::watch::BlockSource`]; the store
//! ([`sova_store::ChainStore`]) makes each block, orphaning and settlement one transaction with its ledger postings
//! and webhook events.

pub mod sender;
pub mod watcher;

use std::str::FromStr;
use std::sync::Arc;

use anyhow::{Context, bail};
use axum::extract::State;
use axum::response::Response;
use sova_chain::{Chain, Currency, Network};
use sova_http::access::Access;
use sova_http::auth::OperatorAuth;
use sova_http::envelope::ok;
use sova_http::error::ApiResult;
use sova_proto::connect::{self as wire, Envelope};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use watcher::{Health, Watcher};

/// When a network's deposits are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threshold {
    /// At this many confirmations (the block itself is the first).
    Depth(u64),
    /// When the chain calls the block final (EVM's `finalized` tag, Solana's `finalized` commitment); where the
    /// node answers no such thing, at [`FALLBACK_DEPTH`].
    Finalized,
}

/// The depth used under [`Threshold::Finalized`] when the node has no notion of finality (the spec's N=12).
pub const FALLBACK_DEPTH: u64 = 12;

impl Threshold {
    /// The spec's default for `network`: BTC 3 (testnet 1), EVM and Solana their finality.
    pub fn default_for(network: Network) -> Self {
        match network {
            Network::Bitcoin => Threshold::Depth(3),
            Network::BitcoinTestnet => Threshold::Depth(1),
            _ => Threshold::Finalized,
        }
    }

    /// `depth:N` or `finalized`.
    pub fn label(&self) -> String {
        match self {
            Threshold::Depth(n) => format!("depth:{n}"),
            Threshold::Finalized => "finalized".into(),
        }
    }
}

/// One network to watch, from the configuration.
#[derive(Debug, Clone)]
pub struct WatchSpec {
    /// The network.
    pub network: Network,
    /// Its node's JSON-RPC URL (may hold credentials: never logged; see [`sova_chain::rpc::JsonRpc::label`]).
    pub url: String,
    /// When deposits are final.
    pub threshold: Threshold,
    /// Tokens credited: (currency, contract or mint).
    pub tokens: Vec<(Currency, String)>,
    /// The hot wallet's key file, when withdrawals are sent for real (EVM).
    pub signer: Option<std::path::PathBuf>,
}

fn network(s: &str, setting: &str) -> anyhow::Result<Network> {
    Network::parse(s).with_context(|| {
        let all: Vec<&str> = Network::all().iter().map(|n| n.as_str()).collect();
        format!("{setting}: unknown network {s:?} (one of {})", all.join(", "))
    })
}

/// The watchers the configuration asks for, or why an entry is refused.
pub fn parse(config: &crate::Config) -> anyhow::Result<Vec<WatchSpec>> {
    let mut specs: Vec<WatchSpec> = Vec::new();
    for e in &config.chain_rpc {
        let (net, url) = e.split_once('=').with_context(|| format!("chain_rpc {e:?}: expected NETWORK=URL"))?;
        let net = network(net.trim(), "chain_rpc")?;
        let parsed = reqwest::Url::parse(url.trim()).with_context(|| format!("chain_rpc {net}: not a URL"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            bail!("chain_rpc {net}: the URL must be http or https");
        }
        if specs.iter().any(|s| s.network == net) {
            bail!("chain_rpc: network {net} is given twice (one node per network)");
        }
        let tokens = match net.chain() {
            Chain::Evm => {
                sova_chain::watch::evm::default_tokens(net).into_iter().map(|(c, a)| (c, a.to_checksum(None))).collect()
            }
            Chain::Solana => sova_chain::watch::solana::default_mints(net),
            Chain::Bitcoin => Vec::new(),
        };
        specs.push(WatchSpec {
            network: net,
            url: url.trim().to_string(),
            threshold: Threshold::default_for(net),
            tokens,
            signer: None,
        });
    }
    for e in &config.chain_confirmations {
        let (net, v) =
            e.split_once('=').with_context(|| format!("chain_confirmations {e:?}: expected NETWORK=DEPTH"))?;
        let net = network(net.trim(), "chain_confirmations")?;
        let threshold = match v.trim() {
            "finalized" => Threshold::Finalized,
            n => match n.parse::<u64>() {
                Ok(d) if (1..=10_000).contains(&d) => Threshold::Depth(d),
                _ => bail!("chain_confirmations {net}: {n:?} is neither a depth (1 to 10000) nor `finalized`"),
            },
        };
        if threshold == Threshold::Finalized && net.chain() == Chain::Bitcoin {
            bail!("chain_confirmations {net}: Bitcoin has no finality of its own; give a depth");
        }
        let spec = specs
            .iter_mut()
            .find(|s| s.network == net)
            .with_context(|| format!("chain_confirmations {net}: the network is not watched (no chain_rpc for it)"))?;
        spec.threshold = threshold;
    }
    for e in &config.chain_token {
        let (key, address) =
            e.split_once('=').with_context(|| format!("chain_token {e:?}: expected NETWORK:CURRENCY=ADDRESS"))?;
        let (net, cur) =
            key.split_once(':').with_context(|| format!("chain_token {e:?}: expected NETWORK:CURRENCY=ADDRESS"))?;
        let net = network(net.trim(), "chain_token")?;
        let cur = Currency::parse(cur).with_context(|| format!("chain_token {e:?}: unknown currency {cur:?}"))?;
        if !matches!(cur, Currency::Usdc | Currency::Usdt) || !cur.networks().contains(&net) {
            bail!("chain_token {e:?}: only USDC and USDT are tokens, on EVM and Solana networks");
        }
        let address = address.trim();
        let address = match net.chain() {
            Chain::Evm => alloy_primitives::Address::from_str(address)
                .with_context(|| format!("chain_token {e:?}: not an EVM address"))?
                .to_checksum(None),
            _ => {
                sova_chain::validate_address(net, address)
                    .map_err(|err| anyhow::anyhow!("chain_token {e:?}: {err}"))?;
                address.to_string()
            }
        };
        let spec = specs
            .iter_mut()
            .find(|s| s.network == net)
            .with_context(|| format!("chain_token {net}: the network is not watched (no chain_rpc for it)"))?;
        spec.tokens.retain(|(c, _)| *c != cur);
        spec.tokens.push((cur, address));
    }
    for e in &config.chain_signer {
        let (net, path) = e.split_once('=').with_context(|| format!("chain_signer {e:?}: expected NETWORK=KEYFILE"))?;
        let net = network(net.trim(), "chain_signer")?;
        if net.chain() != Chain::Evm {
            bail!("chain_signer {net}: only EVM withdrawals are sent for real (Bitcoin and Solana stay sandbox-only)");
        }
        let spec = specs
            .iter_mut()
            .find(|s| s.network == net)
            .with_context(|| format!("chain_signer {net}: the network is not watched (no chain_rpc for it)"))?;
        spec.signer = Some(std::path::PathBuf::from(path.trim()));
    }
    Ok(specs)
}

/// The networks whose withdrawals a hot wallet sends (for the withdrawal routes: those stay `QUEUED`).
pub fn live_networks(specs: &[WatchSpec]) -> std::collections::BTreeSet<String> {
    specs.iter().filter(|s| s.signer.is_some()).map(|s| s.network.as_str().to_string()).collect()
}

/// What the chains route reaches.
pub struct ChainsState {
    /// The watchers of this process.
    pub watchers: Vec<Arc<Watcher>>,
    /// Authentication.
    pub access: Arc<Access>,
}

/// The state type of the chains route.
pub type Ctx = Arc<ChainsState>;

/// The watchers' health: one entry per watched network, with its node, its head and the node's, how far behind it
/// is, its threshold and the counts of its deposits.
#[utoipa::path(get, path = "/chains", tag = "operators", security(("operator_session" = [])),
    responses((status = 200, body = Envelope<Vec<wire::ChainWatcher>>)))]
pub async fn list(State(ctx): State<Ctx>, _op: OperatorAuth) -> ApiResult<Response> {
    let mut out = Vec::new();
    for w in &ctx.watchers {
        out.push(w.view(ctx.access.store.as_ref()).await?);
    }
    Ok(ok(out))
}

/// The chains route, relative to `/sovx/v1`.
pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Ctx: axum::extract::FromRef<S>,
    Arc<Access>: axum::extract::FromRef<S>,
{
    OpenApiRouter::new().routes(routes!(list))
}

/// Start a watcher job for each spec (connecting to EVM nodes to read their tokens' decimals); the watchers.
pub async fn spawn(
    specs: Vec<WatchSpec>,
    access: Arc<Access>,
    poll: std::time::Duration,
    replace_after: std::time::Duration,
    jobs: &sova_runtime::Jobs,
) -> anyhow::Result<Vec<Arc<Watcher>>> {
    use sova_chain::watch::{BlockSource, bitcoin::BitcoinSource, evm::EvmSource, solana::SolanaSource};
    let mut out = Vec::new();
    for spec in specs {
        let net = spec.network;
        let mut sender = None;
        let source: Box<dyn BlockSource> = match net.chain() {
            Chain::Evm => {
                let mut tokens = Vec::new();
                for (c, a) in &spec.tokens {
                    tokens.push((*c, alloy_primitives::Address::from_str(a).with_context(|| format!("token {a}"))?));
                }
                let s = EvmSource::connect(net, &spec.url, &tokens).await?;
                for (contract, t) in s.tokens() {
                    tracing::info!(network = %net, currency = t.currency.as_str(), contract = %contract,
                        decimals = t.decimals, "chain watcher credits this token");
                }
                if let Some(path) = &spec.signer {
                    let wallet = sova_chain::send::HotWallet::from_key_file(path)?;
                    let by_currency = s.tokens().iter().map(|(a, t)| (t.currency, (*a, t.decimals))).collect();
                    let replace_ms = i64::try_from(replace_after.as_millis()).unwrap_or(i64::MAX);
                    let snd = sender::Sender::new(net.as_str(), wallet, &spec.url, by_currency, replace_ms);
                    tracing::info!(network = %net, hot_wallet = %snd.address(), "withdrawals are sent for real from this hot wallet");
                    sender = Some(snd);
                }
                Box::new(s)
            }
            Chain::Bitcoin => Box::new(BitcoinSource::new(net, &spec.url)),
            Chain::Solana => Box::new(SolanaSource::new(net, &spec.url, &spec.tokens)),
        };
        let w = Watcher::new(spec, source.label());
        let cx =
            watcher::Context { store: access.store.clone(), access: access.clone(), clock: access.clock.clone(), poll };
        jobs.spawn("chain-watcher", watcher::run(w.clone(), source, sender, cx));
        out.push(w);
    }
    Ok(out)
}
