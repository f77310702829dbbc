//! The sequencer: one task owns the engine ([`Core`]) and applies requests in arrival order, in groups. Each group
//! is written atomically (nonces accepted and dropped, one event-log row, API-key changes; one statement on
//! PostgreSQL) and answered only after that write committed, so an acknowledged order survives a crash and a
//! restart replays exactly the acknowledged history. Signature recovery happens before, on the request's own worker thread, in parallel.
//!
//! If a commit fails, the group is answered `ENGINE_UNAVAILABLE` and the engine is rebuilt from the log, so memory
//! never holds an effect the database does not.

use std::sync::Arc;
use std::time::Duration;

use sova_proto::exchange::{Channel, ChannelData};
use sova_store::Store;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::catalog::{Catalog, ExchangeConfig};
use crate::core::{Core, Reply, Request, Touched};
use crate::error::ExchangeError;
use crate::now_ms;
use crate::read;
use crate::replay::load;

/// Most requests handled in one group (one transaction).
const MAX_GROUP: usize = 512;
/// Depth of the order book pushed on `l2Book`.
pub const BOOK_DEPTH: usize = 50;

type ReadFn = Box<dyn FnOnce(&Core) + Send>;

enum Job {
    Req(Request, Option<oneshot::Sender<Reply>>),
    Read(ReadFn),
}

/// One message of the WebSocket feeds.
#[derive(Debug, Clone)]
pub struct FeedMsg {
    /// The channel.
    pub channel: Channel,
    /// Market id for market channels, account id for account channels.
    pub key: u64,
    /// The `data` of the push.
    pub data: ChannelData,
}

/// Handle to the running sequencer.
pub struct Exchange {
    tx: mpsc::Sender<Job>,
    /// Signature verification for this deployment's chain id.
    pub verifier: sova_auth::exchange::Verifier,
    /// Coins and markets.
    pub catalog: Arc<Catalog>,
    /// Feed of changes (after commit).
    pub feed: broadcast::Sender<Arc<Vec<FeedMsg>>>,
}

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange").field("chain_id", &self.verifier.chain_id()).finish_non_exhaustive()
    }
}

impl Exchange {
    /// Replay the log, add configured markets, and start the sequencer task.
    pub async fn start(
        store: Arc<dyn Store>,
        cfg: &ExchangeConfig,
        jobs: &sova_runtime::Jobs,
        clock: sova_runtime::Clock,
    ) -> anyhow::Result<Arc<Exchange>> {
        let catalog = Arc::new(Catalog::new(cfg)?);
        let mut core = load(&store, catalog.clone()).await?;
        let (feed, _) = broadcast::channel(1024);
        // Commit the configured coins and markets before the first request.
        let setup = core.setup(now_ms(&clock));
        store.ex_commit(&setup).await.map_err(|e| anyhow::anyhow!("exchange: writing the market setup failed: {e}"))?;
        let (tx, rx) = mpsc::channel(8192);
        jobs.spawn("exchange-sequencer", run(store, core, rx, feed.clone(), clock));
        Ok(Arc::new(Exchange { tx, verifier: sova_auth::exchange::Verifier::new(cfg.chain_id), catalog, feed }))
    }

    /// Hand a request to the sequencer and wait for its committed answer.
    pub async fn submit(&self, r: Request) -> Reply {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Job::Req(r, Some(tx)))
            .await
            .map_err(|_| ExchangeError::unavailable("the exchange sequencer stopped"))?;
        rx.await.map_err(|_| ExchangeError::unavailable("the exchange sequencer stopped"))?
    }

    /// Read the state (between groups, after their commit).
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Core) -> T + Send + 'static,
    ) -> Result<T, ExchangeError> {
        let (tx, rx) = oneshot::channel();
        let job = Job::Read(Box::new(move |core| {
            let _ = tx.send(f(core));
        }));
        self.tx.send(job).await.map_err(|_| ExchangeError::unavailable("the exchange sequencer stopped"))?;
        rx.await.map_err(|_| ExchangeError::unavailable("the exchange sequencer stopped"))
    }
}

/// Run one group: load the nonce sets it needs, apply it, write it atomically. Returns per-request replies (or
/// the one error for all) and what changed.
async fn commit(
    store: &Arc<dyn Store>,
    core: &mut Core,
    requests: Vec<Request>,
    now: u64,
) -> (Result<Vec<Reply>, ExchangeError>, Touched) {
    let unavailable =
        || ExchangeError::unavailable("the exchange could not commit this request; nothing was applied, retry it");
    let missing = core.missing_scopes(&requests);
    if !missing.is_empty() {
        match store.ex_nonces(&missing).await {
            Ok(rows) => core.load_nonces(&missing, rows),
            Err(e) => {
                tracing::error!(error = %e, "exchange: loading nonces failed");
                return (Err(unavailable()), Touched::default());
            }
        }
    }
    let mut replies = Vec::with_capacity(requests.len());
    let mut touched = Touched::default();
    let writes = core.run(&requests, now, &mut replies, &mut touched);
    match store.ex_commit(&writes).await {
        Ok(()) => (Ok(replies), touched),
        Err(e) => {
            tracing::error!(error = %e, "exchange: group commit failed; rebuilding the engine from the log");
            // Memory moved ahead of the database: rebuild it from what committed.
            loop {
                match load(store, core.catalog.clone()).await {
                    Ok(c) => {
                        *core = c;
                        break;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "exchange: rebuilding failed; retrying in 1 s");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
            (Err(unavailable()), Touched::default())
        }
    }
}

async fn run(
    store: Arc<dyn Store>,
    mut core: Core,
    mut rx: mpsc::Receiver<Job>,
    feed: broadcast::Sender<Arc<Vec<FeedMsg>>>,
    clock: sova_runtime::Clock,
) {
    let mut jobs: Vec<Job> = Vec::with_capacity(MAX_GROUP);
    loop {
        let first = if core.has_deadlines() {
            match tokio::time::timeout(Duration::from_millis(100), rx.recv()).await {
                Ok(j) => j,
                Err(_) => Some(Job::Req(Request::Tick, None)),
            }
        } else {
            rx.recv().await
        };
        let Some(first) = first else { return };
        jobs.push(first);
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let mut requests = Vec::new();
        let mut senders = Vec::new();
        let mut reads = Vec::new();
        for j in jobs.drain(..) {
            match j {
                Job::Req(r, s) => {
                    requests.push(r);
                    senders.push(s);
                }
                Job::Read(f) => reads.push(f),
            }
        }
        if !requests.is_empty() {
            let (replies, touched) = commit(&store, &mut core, requests, now_ms(&clock)).await;
            match replies {
                Ok(replies) => {
                    for (s, r) in senders.into_iter().zip(replies) {
                        if let Some(s) = s {
                            let _ = s.send(r);
                        }
                    }
                    if feed.receiver_count() > 0 && (!touched.events.is_empty() || !touched.twaps.is_empty()) {
                        let _ = feed.send(Arc::new(feed_of(&core, &touched, now_ms(&clock))));
                    }
                }
                Err(e) => {
                    for s in senders.into_iter().flatten() {
                        let _ = s.send(Err(e.clone()));
                    }
                }
            }
        }
        for f in reads {
            f(&core);
        }
    }
}

/// The pushes a committed group causes. `candle` is only signalled (its data depends on each subscription's
/// interval; the WebSocket session reads it).
fn feed_of(core: &Core, t: &Touched, now: u64) -> Vec<FeedMsg> {
    let mut out = Vec::new();
    let cl = |order: u64| core.engine.order(order).and_then(|o| o.cl_ord_id);
    for ev in &t.events {
        match ev {
            sova_engine::Event::Trade(tr) => {
                if let Some(m) = core.catalog.market(u64::from(tr.market)) {
                    out.push(FeedMsg {
                        channel: Channel::Trade,
                        key: u64::from(tr.market),
                        data: ChannelData::Trades(vec![read::public_trade(m, tr)]),
                    });
                    for (acct, order) in [(tr.maker_account, tr.maker_order), (tr.taker_account, tr.taker_order)] {
                        let fill = read::ws_account_trade(m, &core.catalog, tr, cl(order), acct);
                        out.push(FeedMsg {
                            channel: Channel::AccountTrade,
                            key: acct,
                            data: ChannelData::AccountTrades(vec![fill]),
                        });
                        // The order as the fill left it (a maker filled completely gets no `OrderClosed`).
                        if let Some(o) = core.engine.order(order) {
                            out.push(FeedMsg {
                                channel: Channel::AccountOrderUpdate,
                                key: acct,
                                data: ChannelData::Orders(vec![read::ws_order(m, &o, now)]),
                            });
                        }
                    }
                }
            }
            sova_engine::Event::OrderAccepted(a) => {
                if let (Some(m), Some(o)) = (core.catalog.market(u64::from(a.market)), core.engine.order(a.order_id)) {
                    out.push(FeedMsg {
                        channel: Channel::AccountOrderUpdate,
                        key: a.account,
                        data: ChannelData::Orders(vec![read::ws_order(m, &o, now)]),
                    });
                }
            }
            sova_engine::Event::OrderClosed(c) => {
                if let (Some(m), Some(o)) = (core.catalog.market(u64::from(c.market)), core.engine.order(c.order_id)) {
                    out.push(FeedMsg {
                        channel: Channel::AccountOrderUpdate,
                        key: c.account,
                        data: ChannelData::Orders(vec![read::ws_order(m, &o, now)]),
                    });
                }
            }
            _ => {}
        }
    }
    for &mid in &t.markets {
        let key = u64::from(mid);
        let book = ChannelData::Book(read::ws_book(core, mid, BOOK_DEPTH, now));
        out.push(FeedMsg { channel: Channel::L2Book, key, data: book });
        out.push(FeedMsg {
            channel: Channel::BookTicker,
            key,
            data: ChannelData::BookTicker(read::ws_book_ticker(core, mid, now)),
        });
        out.push(FeedMsg { channel: Channel::Ticker, key, data: ChannelData::Ticker(read::ws_ticker(core, mid, now)) });
        out.push(FeedMsg { channel: Channel::Candle, key, data: ChannelData::None });
    }
    for &acct in &t.accounts {
        out.push(FeedMsg {
            channel: Channel::AccountUpdate,
            key: acct,
            data: ChannelData::Balances(read::ws_account_update(core, acct, now)),
        });
    }
    out
}
