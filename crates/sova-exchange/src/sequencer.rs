//! The sequencer: one task owns the engine ([`Core`]) and applies requests in arrival order, in groups. Each group
//! is written atomically (nonces accepted and dropped, one event-log row, API-key changes; one statement on
//! PostgreSQL) and answered only after that write committed, so an acknowledged order survives a crash and a
//! restart replays exactly the acknowledged history. Signature recovery happens before, on the request's own worker thread, in parallel.
//!
//! If a commit fails, the group is answered `ENGINE_UNAVAILABLE` and the engine is rebuilt from the log, so memory
//! never holds an effect the database does not.
//!
//! # Replicas: one leader, followers
//!
//! Replicas on one PostgreSQL database elect one sequencer: the replica holding the store's leader lease (an
//! advisory lock on a connection of its own, [`sova_store::ExchangeStore::ex_try_lead`]) runs it and records its
//! URL; the others follow. A follower applies the leader's committed log rows every 200 ms (accounts as they
//! appear, API keys once a second), answers reads from that state and pushes the rows on its WebSocket feeds; the
//! HTTP layer forwards its signed writes to the leader (a request that still reaches a follower's sequencer is
//! refused `NOT_LEADER`, naming the leader). A follower tries to take the lease once a second: when the leader's
//! process dies its session ends and the lock frees, and the first follower to take it reads the rest of the log,
//! records its URL and serves writes. A leader checks its lease once a second and steps down (rebuilding from the
//! log) if it lost it. Safety does not rest on timing: the log's positions and the nonces are primary keys, so two
//! sequencers can never both commit the same position or accept the same nonce.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use sova_proto::exchange::{Channel, ChannelData};
use sova_store::{LeaderLease, Store};
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

/// How often a follower reads the leader's new log rows.
const FOLLOW_EVERY: Duration = Duration::from_millis(200);
/// How often a follower reloads the API keys, a follower tries to take the lead, and a leader checks its lease.
const LEASE_EVERY: Duration = Duration::from_secs(1);

/// This replica's part: leader or follower, and where the leader is.
#[derive(Debug, Default)]
pub struct Role {
    leader: AtomicBool,
    leader_url: parking_lot::RwLock<Option<String>>,
    /// Unix ms when a follower last found itself caught up with the log (a leader: always now).
    caught_up_at: AtomicI64,
}

impl Role {
    /// Does this replica run the sequencer?
    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::Acquire)
    }

    /// The leader's URL, as it recorded it (this replica's own when it leads).
    pub fn leader_url(&self) -> Option<String> {
        self.leader_url.read().clone()
    }

    /// How far behind the leader this replica's reads may be, in ms (0 for the leader).
    pub fn lag_ms(&self, now: i64) -> i64 {
        if self.is_leader() { 0 } else { (now - self.caught_up_at.load(Ordering::Acquire)).max(0) }
    }

    fn set(&self, leader: bool, url: Option<String>) {
        *self.leader_url.write() = url;
        self.leader.store(leader, Ordering::Release);
        metrics::gauge!("sova_exchange_leader").set(if leader { 1.0 } else { 0.0 });
    }
}

/// The refusal of a write that reached a follower's sequencer.
pub fn not_leader(url: Option<&str>) -> ExchangeError {
    ExchangeError::new(
        crate::Reason::NotLeader,
        match url {
            Some(u) => {
                format!("this replica follows the exchange's leader at {u}; send writes there (nothing was applied)")
            }
            None => "this replica follows and no leader is known yet; retry in a second (nothing was applied)".into(),
        },
    )
}

/// Handle to the running sequencer.
pub struct Exchange {
    tx: mpsc::Sender<Job>,
    /// Leader or follower.
    pub role: Arc<Role>,
    /// Signature verification for this deployment's chain id.
    pub verifier: sova_auth::exchange::Verifier,
    /// Coins and markets.
    pub catalog: Arc<Catalog>,
    /// Feed of spot changes (after commit), for `/ws/spot`.
    pub feed: broadcast::Sender<Arc<Vec<FeedMsg>>>,
    /// Feed of perps changes (after commit), for `/ws/perps`.
    pub perps_feed: broadcast::Sender<Arc<Vec<FeedMsg>>>,
}

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange").field("chain_id", &self.verifier.chain_id()).finish_non_exhaustive()
    }
}

impl Exchange {
    /// Replay the log and start the sequencer task: as the leader (adding the configured markets, recording
    /// `advertise` as the leader's URL) if this replica takes the lease, else as a follower.
    pub async fn start(
        store: Arc<dyn Store>,
        cfg: &ExchangeConfig,
        jobs: &sova_runtime::Jobs,
        clock: sova_runtime::Clock,
        advertise: String,
    ) -> anyhow::Result<Arc<Exchange>> {
        let catalog = Arc::new(Catalog::new(cfg)?);
        let mut core = load(&store, catalog.clone()).await?;
        let (feed, _) = broadcast::channel(1024);
        let (perps_feed, _) = broadcast::channel(1024);
        let role = Arc::new(Role::default());
        let lease = store.ex_try_lead().await?;
        if lease.is_some() {
            lead(&store, &mut core, &clock, &advertise, &role).await?;
        } else {
            let leader = store.ex_leader().await?.map(|(u, _)| u);
            tracing::info!(leader = leader.as_deref().unwrap_or("unknown"), "exchange: following the leader");
            role.set(false, leader);
            role.caught_up_at.store(clock.now_ms(), Ordering::Release);
        }
        let (tx, rx) = mpsc::channel(8192);
        let seq = Sequencer {
            store,
            core,
            feed: feed.clone(),
            perps_feed: perps_feed.clone(),
            clock,
            role: role.clone(),
            advertise,
            lease,
        };
        jobs.spawn("exchange-sequencer", seq.run(rx));
        let verifier = sova_auth::exchange::Verifier::new(cfg.chain_id);
        Ok(Arc::new(Exchange { tx, role, verifier, catalog, feed, perps_feed }))
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

/// Become the leader: read the rest of the log, commit the configured coins and markets, record `advertise`.
async fn lead(
    store: &Arc<dyn Store>,
    core: &mut Core,
    clock: &sova_runtime::Clock,
    advertise: &str,
    role: &Role,
) -> anyhow::Result<()> {
    catch_up(store, core, None).await.map_err(anyhow::Error::msg)?;
    let setup = core.setup(now_ms(clock));
    store.ex_commit(&setup).await.map_err(|e| anyhow::anyhow!("exchange: writing the market setup failed: {e}"))?;
    store.ex_set_leader(advertise, clock.now_ms()).await?;
    role.set(true, Some(advertise.to_string()));
    tracing::info!(url = advertise, seq = core.seq, "exchange: leading the sequencer");
    Ok(())
}

/// Apply the log rows after the core's position (all of them), noting what they touched.
async fn catch_up(store: &Arc<dyn Store>, core: &mut Core, mut touched: Option<&mut Touched>) -> Result<usize, String> {
    let mut applied = 0;
    loop {
        let rows = store.ex_log_after(core.seq, 5000).await.map_err(|e| e.to_string())?;
        for r in &rows {
            core.replay_noting(r, touched.as_deref_mut())?;
            applied += 1;
        }
        if rows.len() < 5000 {
            return Ok(applied);
        }
    }
}

struct Sequencer {
    store: Arc<dyn Store>,
    core: Core,
    feed: broadcast::Sender<Arc<Vec<FeedMsg>>>,
    perps_feed: broadcast::Sender<Arc<Vec<FeedMsg>>>,
    clock: sova_runtime::Clock,
    role: Arc<Role>,
    advertise: String,
    /// Held while this replica leads.
    lease: Option<Box<dyn LeaderLease>>,
}

impl Sequencer {
    async fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        let mut jobs: Vec<Job> = Vec::with_capacity(MAX_GROUP);
        let (mut last_lease, mut last_follow, mut last_keys) = (Instant::now(), Instant::now(), Instant::now());
        let mut known_account = self.core.accounts.keys().copied().max().unwrap_or(0);
        loop {
            if self.lease.is_none() {
                // Follower: answer reads, refuse writes, follow the log, try to take the lead.
                match tokio::time::timeout(FOLLOW_EVERY, rx.recv()).await {
                    Ok(Some(Job::Read(f))) => f(&self.core),
                    Ok(Some(Job::Req(_, s))) => {
                        if let Some(s) = s {
                            let _ = s.send(Err(not_leader(self.role.leader_url().as_deref())));
                        }
                    }
                    Ok(None) => return,
                    Err(_) => {}
                }
                if last_follow.elapsed() >= FOLLOW_EVERY {
                    last_follow = Instant::now();
                    let reload_keys = last_keys.elapsed() >= LEASE_EVERY;
                    if reload_keys {
                        last_keys = Instant::now();
                    }
                    self.follow(&mut known_account, reload_keys).await;
                }
                if last_lease.elapsed() >= LEASE_EVERY {
                    last_lease = Instant::now();
                    self.try_lead().await;
                }
                continue;
            }
            let wait = if self.core.has_deadlines() { Duration::from_millis(100) } else { LEASE_EVERY };
            let first = match tokio::time::timeout(wait, rx.recv()).await {
                Ok(Some(j)) => Some(j),
                Ok(None) => return,
                Err(_) => self.core.has_deadlines().then_some(Job::Req(Request::Tick, None)),
            };
            if last_lease.elapsed() >= LEASE_EVERY {
                last_lease = Instant::now();
                if !self.still_leading().await {
                    if let Some(Job::Req(_, Some(s))) = first {
                        let _ = s.send(Err(not_leader(self.role.leader_url().as_deref())));
                    } else if let Some(Job::Read(f)) = first {
                        f(&self.core);
                    }
                    continue;
                }
            }
            let Some(first) = first else { continue };
            jobs.push(first);
            while jobs.len() < MAX_GROUP {
                match rx.try_recv() {
                    Ok(j) => jobs.push(j),
                    Err(_) => break,
                }
            }
            self.group(&mut jobs).await;
        }
    }

    /// Run one group of jobs: commit the requests, answer them, push the feeds, then answer the reads.
    async fn group(&mut self, jobs: &mut Vec<Job>) {
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
            let (replies, touched) = commit(&self.store, &mut self.core, requests, now_ms(&self.clock)).await;
            match replies {
                Ok(replies) => {
                    for (s, r) in senders.into_iter().zip(replies) {
                        if let Some(s) = s {
                            let _ = s.send(r);
                        }
                    }
                    self.push(&touched);
                }
                Err(e) => {
                    for s in senders.into_iter().flatten() {
                        let _ = s.send(Err(e.clone()));
                    }
                }
            }
        }
        for f in reads {
            f(&self.core);
        }
    }

    fn push(&self, touched: &Touched) {
        let spot = !(touched.events.is_empty() && touched.twaps.is_empty() && touched.accounts.is_empty());
        if self.feed.receiver_count() > 0 && spot {
            let _ = self.feed.send(Arc::new(feed_of(&self.core, touched, now_ms(&self.clock))));
        }
        if self.perps_feed.receiver_count() > 0 && !touched.perps.is_empty() {
            let _ = self.perps_feed.send(Arc::new(perps_feed_of(&self.core, touched, now_ms(&self.clock))));
        }
    }

    /// A follower's step: the new log rows, new accounts, and (every second) the API keys.
    async fn follow(&mut self, known_account: &mut u64, reload_keys: bool) {
        let started = self.clock.now_ms();
        let mut touched = Touched::default();
        let applied = catch_up(&self.store, &mut self.core, Some(&mut touched)).await;
        // Ids are handed out as MAX + 1 and a late commit may land below the highest seen: look a little back.
        let after = i64::try_from(known_account.saturating_sub(64)).unwrap_or(0);
        let accounts = self.store.ex_accounts_after(after).await;
        let keys = if reload_keys { Some(self.store.ex_api_keys().await) } else { None };
        match (&applied, &accounts) {
            (Ok(_), Ok(_)) => {
                self.role.caught_up_at.store(started, Ordering::Release);
            }
            (Err(e), _) => tracing::warn!(error = %e, "exchange follower: reading the log failed; retrying"),
            (_, Err(e)) => tracing::warn!(error = %e, "exchange follower: reading new accounts failed; retrying"),
        }
        if let Ok(accounts) = accounts {
            for a in &accounts {
                self.core.add_account(a);
                *known_account = (*known_account).max(u64::try_from(a.account_id).unwrap_or(0));
            }
        }
        match keys {
            Some(Ok(keys)) => {
                self.core.keys.clear();
                for k in &keys {
                    self.core.add_key(k);
                }
            }
            Some(Err(e)) => tracing::warn!(error = %e, "exchange follower: reloading API keys failed"),
            None => {}
        }
        metrics::gauge!("sova_exchange_leader").set(0.0);
        metrics::gauge!("sova_exchange_lag_seconds").set(self.role.lag_ms(self.clock.now_ms()) as f64 / 1000.0);
        metrics::gauge!("sova_exchange_log_seq").set(self.core.seq as f64);
        self.push(&touched);
        if reload_keys
            && let Ok(Some((url, _))) = self.store.ex_leader().await
            && self.role.leader_url().as_deref() != Some(url.as_str())
        {
            self.role.set(false, Some(url));
        }
    }

    /// A follower's attempt to take the lead.
    async fn try_lead(&mut self) {
        let lease = match self.store.ex_try_lead().await {
            Ok(Some(l)) => l,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "exchange follower: asking for the lead failed");
                return;
            }
        };
        let started = Instant::now();
        // Everything the leader knew: every account and key (a key added in the last second is not lost), then
        // the rest of the log (in `lead`).
        match (self.store.ex_accounts().await, self.store.ex_api_keys().await) {
            (Ok(accounts), Ok(keys)) => {
                for a in &accounts {
                    self.core.add_account(a);
                }
                self.core.keys.clear();
                for k in &keys {
                    self.core.add_key(k);
                }
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(error = %e, "exchange: taking the lead failed (reading accounts and keys); following on");
                return;
            }
        }
        match lead(&self.store, &mut self.core, &self.clock, &self.advertise, &self.role).await {
            Ok(()) => {
                self.lease = Some(lease);
                metrics::gauge!("sova_exchange_lag_seconds").set(0.0);
                tracing::info!(ms = started.elapsed().as_millis() as u64, "exchange: took over as leader");
            }
            Err(e) => tracing::error!(error = %e, "exchange: taking the lead failed; following on"),
        }
    }

    /// A leader's lease check; on loss, step down to follower (rebuilding from the log).
    async fn still_leading(&mut self) -> bool {
        let held = match self.lease.as_mut() {
            Some(l) => l.held().await,
            None => false,
        };
        if held {
            // Set again each second: the metrics recorder may be installed after the start.
            metrics::gauge!("sova_exchange_leader").set(1.0);
            metrics::gauge!("sova_exchange_lag_seconds").set(0.0);
            metrics::gauge!("sova_exchange_log_seq").set(self.core.seq as f64);
            return true;
        }
        tracing::error!("exchange: the leader lease was lost; following from now on");
        self.lease = None;
        self.role.set(false, None);
        if let Ok(c) = load(&self.store, self.core.catalog.clone()).await {
            self.core = c;
        }
        false
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

/// The `/ws/perps` pushes a committed group causes (`candle` and `accountState` are only signalled: the
/// WebSocket session reads them per subscription).
fn perps_feed_of(core: &Core, t: &Touched, now: u64) -> Vec<FeedMsg> {
    use crate::read::perps as rp;
    let mut out = Vec::new();
    let json = ChannelData::Json;
    let order_push = |out: &mut Vec<FeedMsg>, order: u64, fill: Option<&sova_perps::Trade>| {
        if let Some(o) = core.perps.order(order) {
            let v = rp::ws_order(core, &o, fill, now);
            out.push(FeedMsg {
                channel: Channel::AccountOrderUpdate,
                key: o.account,
                data: json(Value::Array(vec![v])),
            });
        }
    };
    for ev in &t.perps {
        match ev {
            sova_perps::Event::Trade(tr) => {
                let Some(m) = core.catalog.perp(u64::from(tr.market)) else { continue };
                let trade = Value::Array(vec![rp::ws_trade(m, tr, now)]);
                out.push(FeedMsg { channel: Channel::Trade, key: u64::from(tr.market), data: json(trade) });
                for (acct, order) in [(tr.maker_account, tr.maker_order), (tr.taker_account, tr.taker_order)] {
                    if let Some(v) = rp::ws_account_trade(core, tr, acct, now) {
                        out.push(FeedMsg {
                            channel: Channel::AccountTrade,
                            key: acct,
                            data: json(Value::Array(vec![v])),
                        });
                    }
                    order_push(&mut out, order, Some(tr));
                }
            }
            sova_perps::Event::OrderAccepted(a) => order_push(&mut out, a.order_id, None),
            sova_perps::Event::OrderClosed { order_id, .. }
            | sova_perps::Event::OrderModified { order_id, .. }
            | sova_perps::Event::OrderReduced { order_id, .. }
            | sova_perps::Event::StopTriggered { order_id, .. } => order_push(&mut out, *order_id, None),
            sova_perps::Event::LiquidationStarted { account, equity, maintenance, ts, .. } => {
                let v = rp::ws_liquidation(core, *account, *equity, *maintenance, *ts, now);
                out.push(FeedMsg { channel: Channel::AccountEvent, key: *account, data: json(v) });
            }
            _ => {}
        }
    }
    for &mid in &t.perps_markets {
        let Some(m) = core.catalog.perp(u64::from(mid)) else { continue };
        let key = u64::from(mid);
        out.push(FeedMsg { channel: Channel::L2Book, key, data: json(rp::ws_book(core, m, BOOK_DEPTH, now)) });
        out.push(FeedMsg { channel: Channel::BookTicker, key, data: json(rp::ws_book_ticker(core, m, now)) });
        out.push(FeedMsg { channel: Channel::Ticker, key, data: json(rp::ws_ticker(core, m, now)) });
        out.push(FeedMsg { channel: Channel::MarkPrice, key, data: json(rp::ws_mark_price(core, m, now)) });
        out.push(FeedMsg { channel: Channel::Candle, key, data: ChannelData::None });
    }
    for &acct in &t.perps_accounts {
        out.push(FeedMsg {
            channel: Channel::AccountUpdate,
            key: acct,
            data: json(rp::ws_account_update(core, acct, now)),
        });
    }
    out
}
