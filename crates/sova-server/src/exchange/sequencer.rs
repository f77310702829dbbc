//! The sequencer: one task owns the engine ([`Core`]) and applies requests in arrival order, in groups. Each group
//! is written atomically (nonces accepted and dropped, one event-log row, API-key changes; one statement on
//! PostgreSQL) and answered only after that write committed, so an acknowledged order survives a crash and a
//! restart replays exactly the acknowledged history. Signature recovery happens before, on the request's own worker thread, in parallel.
//!
//! If a commit fails, the group is answered `ENGINE_UNAVAILABLE` and the engine is rebuilt from the log, so memory
//! never holds an effect the database does not.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sova_store::Store;
use tokio::sync::{broadcast, mpsc, oneshot};

use super::catalog::{Catalog, ExchangeConfig};
use super::core::{Core, Reply, Request, Touched};
use super::error::ExError;
use super::views;
use sova_http::time::now_ms;

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
    /// Channel name (`trade`, `l2Book`, `accountUpdate`, ...).
    pub channel: &'static str,
    /// Market id for market channels, account id for account channels.
    pub key: u64,
    /// The `data` of the push.
    pub data: Value,
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

/// Rebuild the core from the store: accounts, keys, then the event log.
async fn load(store: &Arc<dyn Store>, catalog: Arc<Catalog>) -> anyhow::Result<Core> {
    let mut core = Core::new(catalog);
    for a in store.ex_accounts().await? {
        core.add_account(&a);
    }
    for k in store.ex_api_keys().await? {
        core.add_key(&k);
    }
    let started = std::time::Instant::now();
    let mut after = 0;
    loop {
        let rows = store.ex_log_after(after, 5000).await?;
        let Some(last) = rows.last() else { break };
        after = last.seq;
        for r in &rows {
            core.replay(r).map_err(anyhow::Error::msg)?;
        }
        if started.elapsed() > Duration::from_secs(2) {
            tracing::info!(replayed = after, "exchange: replaying the event log");
        }
    }
    if after > 0 {
        tracing::info!(
            events = after,
            ms = started.elapsed().as_millis() as u64,
            "exchange: state rebuilt from the event log"
        );
    }
    Ok(core)
}

impl Exchange {
    /// Replay the log, add configured markets, and start the sequencer task.
    pub async fn start(store: Arc<dyn Store>, cfg: &ExchangeConfig) -> anyhow::Result<Arc<Exchange>> {
        let catalog = Arc::new(Catalog::new(cfg)?);
        let mut core = load(&store, catalog.clone()).await?;
        let (feed, _) = broadcast::channel(1024);
        // Commit the configured coins and markets before the first request.
        let setup = core.setup(u64::try_from(now_ms()).unwrap_or(0));
        store.ex_commit(&setup).await.map_err(|e| anyhow::anyhow!("exchange: writing the market setup failed: {e}"))?;
        let (tx, rx) = mpsc::channel(8192);
        tokio::spawn(run(store, core, rx, feed.clone()));
        Ok(Arc::new(Exchange { tx, verifier: sova_auth::exchange::Verifier::new(cfg.chain_id), catalog, feed }))
    }

    /// Hand a request to the sequencer and wait for its committed answer.
    pub async fn submit(&self, r: Request) -> Reply {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Job::Req(r, Some(tx)))
            .await
            .map_err(|_| ExError::unavailable("the exchange sequencer stopped"))?;
        rx.await.map_err(|_| ExError::unavailable("the exchange sequencer stopped"))?
    }

    /// Read the state (between groups, after their commit).
    pub async fn read<T: Send + 'static>(&self, f: impl FnOnce(&Core) -> T + Send + 'static) -> Result<T, ExError> {
        let (tx, rx) = oneshot::channel();
        let job = Job::Read(Box::new(move |core| {
            let _ = tx.send(f(core));
        }));
        self.tx.send(job).await.map_err(|_| ExError::unavailable("the exchange sequencer stopped"))?;
        rx.await.map_err(|_| ExError::unavailable("the exchange sequencer stopped"))
    }
}

/// Run one group: load the nonce sets it needs, apply it, write it atomically. Returns per-request replies (or
/// the one error for all) and what changed.
async fn commit(
    store: &Arc<dyn Store>,
    core: &mut Core,
    requests: Vec<Request>,
) -> (Result<Vec<Reply>, ExError>, Touched) {
    let unavailable =
        || ExError::unavailable("the exchange could not commit this request; nothing was applied, retry it");
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
    let now = u64::try_from(now_ms()).unwrap_or(0);
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
            let (replies, touched) = commit(&store, &mut core, requests).await;
            match replies {
                Ok(replies) => {
                    for (s, r) in senders.into_iter().zip(replies) {
                        if let Some(s) = s {
                            let _ = s.send(r);
                        }
                    }
                    if feed.receiver_count() > 0 && !touched.events.is_empty() {
                        let _ = feed.send(Arc::new(feed_of(&core, &touched)));
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

/// The pushes a committed group causes.
fn feed_of(core: &Core, t: &Touched) -> Vec<FeedMsg> {
    let mut out = Vec::new();
    let now = u64::try_from(now_ms()).unwrap_or(0);
    for ev in &t.events {
        match ev {
            sova_engine::Event::Trade(tr) => {
                if let Some(m) = core.catalog.market(u64::from(tr.market)) {
                    out.push(FeedMsg { channel: "trade", key: u64::from(tr.market), data: views::trade_json(m, tr) });
                    for acct in [tr.maker_account, tr.taker_account] {
                        out.push(FeedMsg {
                            channel: "accountTrade",
                            key: acct,
                            data: views::account_trade_json(m, &core.catalog, tr, acct),
                        });
                    }
                }
            }
            sova_engine::Event::OrderAccepted(a) => {
                if let (Some(m), Some(o)) = (core.catalog.market(u64::from(a.market)), core.engine.order(a.order_id)) {
                    out.push(FeedMsg { channel: "accountOrderUpdate", key: a.account, data: views::order_json(m, &o) });
                }
            }
            sova_engine::Event::OrderClosed(c) => {
                if let (Some(m), Some(o)) = (core.catalog.market(u64::from(c.market)), core.engine.order(c.order_id)) {
                    out.push(FeedMsg { channel: "accountOrderUpdate", key: c.account, data: views::order_json(m, &o) });
                }
            }
            _ => {}
        }
    }
    for &mid in &t.markets {
        out.push(FeedMsg { channel: "l2Book", key: u64::from(mid), data: book_json(core, mid, BOOK_DEPTH) });
        out.push(FeedMsg { channel: "bookTicker", key: u64::from(mid), data: book_ticker_json(core, mid) });
        out.push(FeedMsg { channel: "ticker", key: u64::from(mid), data: ticker_json(core, mid, now) });
    }
    for &acct in &t.accounts {
        out.push(FeedMsg { channel: "accountUpdate", key: acct, data: balances_json(core, acct) });
    }
    out
}

/// `{"symbol","bids":[[price,qty]],"asks":..}` to `depth` levels.
pub fn book_json(core: &Core, market: u32, depth: usize) -> Value {
    let Some(m) = core.catalog.market(u64::from(market)) else { return Value::Null };
    let d = core.engine.depth(market, depth).unwrap_or(sova_engine::Depth { bids: vec![], asks: vec![] });
    let side = |v: &[sova_engine::LevelView]| -> Vec<Value> {
        v.iter().map(|l| json!([m.format_price(l.price), m.format_quantity(l.quantity)])).collect()
    };
    json!({"symbolID": market, "symbol": m.config.name, "bids": side(&d.bids), "asks": side(&d.asks)})
}

/// Best bid and ask.
pub fn book_ticker_json(core: &Core, market: u32) -> Value {
    let Some(m) = core.catalog.market(u64::from(market)) else { return Value::Null };
    let bbo = core.engine.best_bid_ask(market);
    let lv = |l: Option<sova_engine::LevelView>| l.map(|l| (m.format_price(l.price), m.format_quantity(l.quantity)));
    let (bid, ask) = bbo.map(|b| (lv(b.bid), lv(b.ask))).unwrap_or((None, None));
    json!({
        "symbolID": market,
        "symbol": m.config.name,
        "bidPrice": bid.as_ref().map(|b| b.0.clone()),
        "bidQty": bid.as_ref().map(|b| b.1.clone()),
        "askPrice": ask.as_ref().map(|a| a.0.clone()),
        "askQty": ask.as_ref().map(|a| a.1.clone()),
    })
}

/// 24 h statistics.
pub fn ticker_json(core: &Core, market: u32, now: u64) -> Value {
    let Some(m) = core.catalog.market(u64::from(market)) else { return Value::Null };
    let day = core.views.day(market, now);
    let last = core.engine.recent_trades(market, 1).first().map(|t| m.format_price(t.price));
    json!({
        "symbolID": market,
        "symbol": m.config.name,
        "lastPrice": last,
        "openPrice": day.map(|d| m.format_price(d.open)),
        "highPrice": day.map(|d| m.format_price(d.high)),
        "lowPrice": day.map(|d| m.format_price(d.low)),
        "volume": day.map(|d| m.format_quantity(d.volume)).unwrap_or_else(|| "0".into()),
        "quoteVolume": day.map(|d| m.format_quote(d.quote_volume)).unwrap_or_else(|| "0".into()),
        "count": day.map(|d| d.trades).unwrap_or(0),
    })
}

/// Balances of an account, one entry per listed coin.
pub fn balances_json(core: &Core, account: u64) -> Value {
    let items: Vec<Value> = core
        .catalog
        .coins
        .iter()
        .map(|c| {
            let b = core.engine.balance(account, c.id);
            json!({
                "coin": c.symbol,
                "coinID": c.id,
                "total": sova_engine::format_decimal(b.total(), c.decimals),
                "available": sova_engine::format_decimal(b.available, c.decimals),
                "locked": sova_engine::format_decimal(b.locked, c.decimals),
            })
        })
        .collect();
    json!({"accountID": account, "balances": items})
}

/// What the exchange knows of a master wallet, for the Intel HUD, with the time of its newest trade (ms): `None`
/// when the address has no account here.
pub fn hud(core: &Core, master: &alloy_primitives::Address) -> Option<(sova_proto::intel::HudExchange, Option<i64>)> {
    use sova_proto::intel::{HudExchange, HudExchangeAccount, HudExchangeBalance};
    let master_id = *core.masters.get(master)?;
    let mut subs: Vec<u64> =
        core.accounts.iter().filter(|(_, a)| a.master_id == Some(master_id)).map(|(id, _)| *id).collect();
    subs.sort_unstable();
    // Each account with the time of its newest trade (ms).
    let account = |id: u64| {
        let balances = core
            .catalog
            .coins
            .iter()
            .filter_map(|c| {
                let b = core.engine.balance(id, c.id);
                (b.total() > 0).then(|| HudExchangeBalance {
                    coin: c.symbol.clone(),
                    total: sova_engine::format_decimal(b.total(), c.decimals),
                    available: sova_engine::format_decimal(b.available, c.decimals),
                    locked: sova_engine::format_decimal(b.locked, c.decimals),
                })
            })
            .collect();
        let trades = core.views.account_trades(id, views::HISTORY_PER_ACCOUNT);
        let newest = trades.first().map(|t| t.ts as i64);
        let acct = HudExchangeAccount {
            account_id: id,
            sub_account: id != master_id,
            balances,
            open_orders: core.engine.open_orders(id, None).len() as u64,
            recent_trades: trades.len() as u64,
            last_trade_at: newest.map(sova_http::time::iso),
        };
        (acct, newest)
    };
    let (accounts, newest): (Vec<HudExchangeAccount>, Vec<Option<i64>>) =
        std::iter::once(master_id).chain(subs).map(account).unzip();
    let hud = HudExchange {
        master_account_id: master_id,
        api_keys: core.keys.get(master).map_or(0, |k| k.len() as u64),
        accounts,
    };
    Some((hud, newest.into_iter().flatten().max()))
}
