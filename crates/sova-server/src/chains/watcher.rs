//! The follower of one network. Each round it asks the node for its best height, checks that the block it recorded
//! last is still the node's block at that height (if not, it orphans its blocks from the top down until it meets the
//! node's chain again: the common ancestor), then records the next blocks one by one, each only if its parent is the
//! block recorded before it, and finally counts confirmations and completes what reached the threshold. Any RPC
//! failure ends the round before the failing block is recorded: the next round starts from the last recorded block,
//! so no block is ever skipped, and each block's deposits commit with the block in one transaction, so a crash
//! (kill -9) at any point neither misses nor double-credits a deposit.
//!
//! On its first start for a network the watcher begins at the node's best block: deposits made before the
//! watcher existed are not looked for (addresses issued before then had no watcher to promise them).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sova_chain::rpc::RpcError;
use sova_chain::watch::{Block, BlockSource};
use sova_http::time::iso;
use sova_proto::connect as wire;
use sova_store::{ChainBlock, ChainPayment, Store, Transitions};
use tokio::sync::Mutex;

use super::{FALLBACK_DEPTH, Threshold, WatchSpec};

/// Blocks recorded per round before confirmations are counted again (so a long catch-up still settles and reports).
const ROUND_BLOCKS: u64 = 200;
/// How often a catch-up logs its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// The longest wait between rounds after failures.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How often a standby replica tries to take a network over.
const STANDBY_RETRY: Duration = Duration::from_secs(5);

/// A watcher's health, as the operator route and the metrics show it.
#[derive(Debug, Clone, Default)]
pub struct Health {
    /// `starting`, `standby`, `catching_up`, `following`, `failing`.
    pub state: &'static str,
    /// The highest recorded block.
    pub head: Option<(i64, String)>,
    /// The node's best height when last asked.
    pub node_height: Option<i64>,
    /// The highest final height.
    pub final_height: Option<i64>,
    /// Reorgs handled.
    pub reorgs: u64,
    /// The last error (cleared by a good round).
    pub last_error: Option<String>,
    /// When the node last answered (Unix ms).
    pub last_ok_at: Option<i64>,
}

/// One network's watcher: its configuration and its health.
pub struct Watcher {
    /// What it watches.
    pub spec: WatchSpec,
    /// The node, without credentials.
    pub node: String,
    health: Mutex<Health>,
}

/// Why a round stopped.
#[derive(Debug, thiserror::Error)]
enum RoundError {
    #[error("{0}")]
    Rpc(#[from] RpcError),
    #[error("store: {0}")]
    Store(#[from] sova_store::StoreError),
    #[error("sending: {0}")]
    Send(#[from] super::sender::SendRoundError),
}

impl Watcher {
    /// A watcher for `spec` reading through a node labelled `node`.
    pub fn new(spec: WatchSpec, node: String) -> Arc<Self> {
        Arc::new(Self { spec, node, health: Mutex::new(Health { state: "starting", ..Health::default() }) })
    }

    /// A copy of its health.
    pub async fn health(&self) -> Health {
        self.health.lock().await.clone()
    }

    /// Its health as the operator route answers it (with its network's deposit counts).
    pub async fn view(&self, store: &dyn Store) -> sova_store::Result<wire::ChainWatcher> {
        let h = self.health().await;
        let blocks_behind = behind(&h);
        let (pending, completed) = store.chain_deposit_counts(self.spec.network.as_str()).await?;
        Ok(wire::ChainWatcher {
            network: self.spec.network.as_str().into(),
            node: self.node.clone(),
            state: h.state.into(),
            threshold: self.spec.threshold.label(),
            head_height: h.head.as_ref().map(|(n, _)| *n),
            head_hash: h.head.map(|(_, hash)| hash),
            node_height: h.node_height,
            blocks_behind,
            final_height: h.final_height,
            reorgs: h.reorgs,
            pending_deposits: pending,
            completed_deposits: completed,
            last_error: h.last_error,
            last_ok_at: h.last_ok_at.map(iso),
        })
    }

    async fn set_state(&self, state: &'static str) {
        self.health.lock().await.state = state;
    }
}

fn behind(h: &Health) -> i64 {
    match (h.node_height, &h.head) {
        (Some(node), Some((head, _))) => (node - head).max(0),
        _ => 0,
    }
}

/// What a round needs besides the source.
pub struct Context {
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// Its outbox bell is rung after webhook events are written.
    pub access: Arc<sova_http::access::Access>,
    /// Time.
    pub clock: sova_runtime::Clock,
    /// Wait between rounds once caught up.
    pub poll: Duration,
}

/// The issued addresses of one network, kept in memory and topped up each round (by `seq`), so a block's payments
/// are filtered without a query each.
#[derive(Default)]
struct Addresses {
    known: HashSet<(String, String)>,
    after: i64,
}

impl Addresses {
    async fn refresh(&mut self, store: &dyn Store, network: &str) -> sova_store::Result<()> {
        for (address, currency, seq) in store.chain_addresses(network, self.after).await? {
            self.known.insert((address, currency));
            self.after = self.after.max(seq);
        }
        Ok(())
    }

    fn keep(&self, block: &Block) -> Vec<ChainPayment> {
        block
            .payments
            .iter()
            .filter(|p| self.known.contains(&(p.address.clone(), p.currency.as_str().to_string())))
            .map(|p| ChainPayment {
                tx_hash: p.tx_hash.clone(),
                index: p.index,
                address: p.address.clone(),
                currency: p.currency.as_str().to_string(),
                amount: p.amount.clone(),
            })
            .collect()
    }
}

fn h(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Run `w` against `source` until the process stops: take the network's lease (or stand by), then follow.
pub async fn run(w: Arc<Watcher>, source: Box<dyn BlockSource>, sender: Option<super::sender::Sender>, cx: Context) {
    let net = w.spec.network.as_str();
    loop {
        let lease = match cx.store.chain_try_lead(net).await {
            Ok(Some(lease)) => lease,
            Ok(None) => {
                w.set_state("standby").await;
                tokio::time::sleep(STANDBY_RETRY).await;
                continue;
            }
            Err(e) => {
                tracing::warn!(network = net, error = %e, "chain watcher: cannot take the network's lease; retrying");
                tokio::time::sleep(STANDBY_RETRY).await;
                continue;
            }
        };
        tracing::info!(network = net, node = %w.node, threshold = %w.spec.threshold.label(), "chain watcher started");
        follow(&w, source.as_ref(), sender.as_ref(), &cx, lease).await;
        tracing::warn!(network = net, "chain watcher lost its lease; standing by");
        w.set_state("standby").await;
    }
}

async fn follow(
    w: &Watcher,
    source: &dyn BlockSource,
    sender: Option<&super::sender::Sender>,
    cx: &Context,
    mut lease: Box<dyn sova_store::LeaderLease>,
) {
    let net = w.spec.network.as_str();
    let mut addresses = Addresses::default();
    let mut failures: u32 = 0;
    let mut progress = Progress::default();
    loop {
        if !lease.held().await {
            return;
        }
        match round(w, source, sender, cx, &mut addresses, &mut progress).await {
            Ok(wait) => {
                if failures > 0 {
                    tracing::info!(network = net, "chain watcher: the node answers again");
                }
                failures = 0;
                if wait {
                    tokio::time::sleep(cx.poll).await;
                }
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                metrics::counter!("sova_chain_errors_total", "network" => net.to_string()).increment(1);
                let wait = cx.poll.saturating_mul(2u32.saturating_pow(failures.min(8))).min(MAX_BACKOFF);
                tracing::warn!(network = net, node = %w.node, error = %e, retry_in_ms = wait.as_millis() as u64,
                    "chain watcher round failed; nothing after the last recorded block was recorded");
                {
                    let mut hl = w.health.lock().await;
                    hl.state = "failing";
                    hl.last_error = Some(e.to_string());
                }
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// Catch-up progress, logged every [`PROGRESS_EVERY`].
#[derive(Default)]
struct Progress {
    last_log: Option<Instant>,
}

/// One round; `true` when the next should wait a poll: the watcher has reached the node's best block, or the node
/// could not serve the next one yet (so a lagging node is not asked in a tight loop).
async fn round(
    w: &Watcher,
    source: &dyn BlockSource,
    sender: Option<&super::sender::Sender>,
    cx: &Context,
    addresses: &mut Addresses,
    progress: &mut Progress,
) -> Result<bool, RoundError> {
    let net = w.spec.network.as_str();
    let store = cx.store.as_ref();
    let tip = source.tip().await?;
    addresses.refresh(store, net).await?;
    {
        let mut hl = w.health.lock().await;
        hl.node_height = Some(h(tip));
        hl.last_ok_at = Some(cx.clock.now_ms());
    }
    // Walk back while our head is not the node's block at its height.
    let mut head = store.chain_head(net).await?;
    let mut orphaned = 0u64;
    while let Some(b) = &head {
        let theirs = source.hash_at(u64::try_from(b.height).unwrap_or(0)).await?;
        if theirs.as_deref() == Some(b.hash.as_str()) {
            break;
        }
        let changed = store.chain_orphan_block(net, &b.hash, cx.clock.now_ms(), &sova_http::outbox::deposit).await?;
        tracing::warn!(network = net, height = b.height, hash = %b.hash, deposits = changed.len(),
            "chain watcher: block left the main chain (reorg)");
        report(net, &changed, cx);
        orphaned += 1;
        head = store.chain_head(net).await?;
    }
    if orphaned > 0 {
        metrics::counter!("sova_chain_reorgs_total", "network" => net.to_string()).increment(1);
        metrics::counter!("sova_chain_orphaned_blocks_total", "network" => net.to_string()).increment(orphaned);
        w.health.lock().await.reorgs += 1;
    }
    let mut head = match head {
        Some(b) => b,
        None => {
            // First start (or a reorg deeper than everything recorded): begin at the node's best block.
            // Nothing served there yet: wait a poll before asking again.
            let Some(block) = source.block(tip, tip).await? else { return Ok(true) };
            let b = record(w, cx, addresses, &block).await?;
            tracing::info!(network = net, height = b.height, hash = %b.hash, "chain watcher: following from here");
            b
        }
    };
    let mut recorded = 0u64;
    let mut stalled = false;
    while u64::try_from(head.height).unwrap_or(0) < tip && recorded < ROUND_BLOCKS {
        let next = u64::try_from(head.height).unwrap_or(0) + 1;
        let Some(block) = source.block(next, tip).await? else {
            // The node has nothing there yet although it said so: ask again after a poll, skipping nothing.
            stalled = true;
            break;
        };
        if block.at.parent != head.hash {
            // The chain changed under us between two calls: the next round walks back.
            return Ok(false);
        }
        head = record(w, cx, addresses, &block).await?;
        recorded += 1;
        let behind_now = tip.saturating_sub(block.at.height);
        metrics::gauge!("sova_chain_blocks_behind", "network" => net.to_string()).set(behind_now as f64);
        if behind_now > 0 && progress.last_log.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY) {
            progress.last_log = Some(Instant::now());
            tracing::info!(
                network = net,
                height = block.at.height,
                node_height = tip,
                blocks_behind = behind_now,
                "chain watcher catching up"
            );
        }
    }
    // Count confirmations and complete what is final, against the head recorded (never beyond it).
    let final_height = match w.spec.threshold {
        Threshold::Depth(n) => head.height - h(n) + 1,
        Threshold::Finalized => match source.finalized().await? {
            Some(f) => h(f).min(head.height),
            None => head.height - h(FALLBACK_DEPTH) + 1,
        },
    };
    let changed =
        store.chain_settle(net, head.height, final_height, cx.clock.now_ms(), &sova_http::outbox::deposit).await?;
    report(net, &changed, cx);
    if let Some(sender) = sender {
        sender.round(cx, final_height).await?;
    }
    let caught_up = u64::try_from(head.height).unwrap_or(0) >= tip;
    {
        let mut hl = w.health.lock().await;
        hl.head = Some((head.height, head.hash.clone()));
        hl.final_height = Some(final_height);
        hl.state = if caught_up { "following" } else { "catching_up" };
        hl.last_error = None;
        metrics::gauge!("sova_chain_blocks_behind", "network" => net.to_string()).set(behind(&hl) as f64);
        metrics::gauge!("sova_chain_head_height", "network" => net.to_string()).set(head.height as f64);
    }
    if caught_up && progress.last_log.take().is_some() {
        tracing::info!(network = net, height = head.height, "chain watcher caught up");
    }
    Ok(caught_up || stalled)
}

/// Record `block` (with the payments to issued addresses) as the new head.
async fn record(w: &Watcher, cx: &Context, addresses: &Addresses, block: &Block) -> Result<ChainBlock, RoundError> {
    let net = w.spec.network.as_str();
    let b = ChainBlock {
        network: net.to_string(),
        height: h(block.at.height),
        hash: block.at.hash.clone(),
        parent: block.at.parent.clone(),
        seen_at: cx.clock.now_ms(),
    };
    let changed = cx.store.chain_add_block(&b, &addresses.keep(block), &sova_http::outbox::deposit).await?;
    report(net, &changed, cx);
    Ok(b)
}

fn report(net: &str, changed: &Transitions, cx: &Context) {
    for (d, what) in changed {
        tracing::info!(network = net, deposit_id = %d.deposit_id, tx_hash = %d.tx_hash, amount = %d.amount,
            currency = %d.currency, transition = what, "deposit {what}");
        metrics::counter!("sova_chain_deposits_total", "network" => net.to_string(), "transition" => *what)
            .increment(1);
    }
    if !changed.is_empty() {
        cx.access.outbox.notify_one();
    }
}
