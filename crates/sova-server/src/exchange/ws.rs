//! `/ws/spot` and `/ws/perps`: subscribe / unsubscribe, a snapshot then updates per subscription, ping/pong, idle
//! close, in the vendor SDKs' protocol (`spec/exchange-sdk-wire.md` §1.4). `/ws/perps` serves the spot channels
//! over the perps markets (perps keys added, `spec/perps.md` §2) plus `markPrice`, `allMarkPrice` and
//! `accountEvent` (liquidations); its account channels carry the perps state (positions in `accountUpdate`).
//!
//! Client messages: `{"op":"subscribe"|"unsubscribe","id":n,"params":{"channel":..,"symbol"|"symbols"|"user"|
//! "accountID"|"interval"|"tickSize"|"level"|"pushInterval":..}}` and `{"op":"ping"}`. Server messages:
//! acknowledgements `{"id":n,"op":"subscribe","result":{params},"success":true}`, refusals
//! `{"error":..,"id":n,"op":..,"success":false}`, unreadable messages `{"code":..,"error":..,"op":"error"}`,
//! `{"op":"pong"}`, and pushes `{"channel":..,"type":"snapshot"|"update","data":..}` in short keys, each market
//! record carrying `s` with the name the client subscribed by. A connection that sends nothing for 60 s is closed.
//! The messages are `sova_proto::exchange::{WsRequest, WsReply, WsPush}`.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde::Serialize;
use sova_exchange::read;
use sova_exchange::sequencer::BOOK_DEPTH;
use sova_exchange::{Core, now_ms, views};
use sova_proto::exchange::{Channel, ChannelData, ErrorEnvelope, PushType, WsParams, WsPush, WsReply, WsRequest};
use tokio::sync::broadcast::error::RecvError;

use super::Ctx;

/// Idle time after which the server closes the connection.
pub const IDLE: Duration = Duration::from_secs(60);

/// Trades and account trades in a snapshot.
const SNAPSHOT_TRADES: usize = 50;

/// `GET /ws/spot`: upgrade to the WebSocket feeds (market and account channels).
#[utoipa::path(get, path = "/ws/spot", tag = "websocket",
    responses((status = 101, description = "switching protocols; client messages are `WsRequest`, server messages `WsReply` and `WsPush`"),
        (status = "4XX", description = "not a WebSocket upgrade (or refused: `reason` says why)", body = ErrorEnvelope)))]
pub async fn spot(State(ctx): State<Ctx>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| session(ctx, socket, Engine::Spot))
}

/// `GET /ws/perps`: upgrade to the perps feeds (the spot channels over the perps markets, plus `markPrice`,
/// `allMarkPrice` and `accountEvent`).
#[utoipa::path(get, path = "/ws/perps", tag = "websocket",
    responses((status = 101, description = "switching protocols; client messages are `WsRequest`, server messages `WsReply` and `WsPush`"),
        (status = "4XX", description = "not a WebSocket upgrade (or refused: `reason` says why)", body = ErrorEnvelope)))]
pub async fn perps(State(ctx): State<Ctx>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| session(ctx, socket, Engine::Perps))
}

/// Which engine's feeds a connection follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Engine {
    Spot,
    Perps,
}

/// One subscription of a feed key, as the client asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sub {
    /// The channel as subscribed (`allTicker` rides the `ticker` feed, ...).
    channel: Channel,
    /// Market names to write as the client wrote them: (the exchange's name, the client's).
    aliases: Vec<(String, String)>,
    /// `candle`: the interval and its length in ms.
    interval: Option<(String, u64)>,
}

/// Subscriptions by feed (channel, key): market id for market feeds, account id for account feeds.
type Subs = HashMap<(Channel, u64), Vec<Sub>>;

async fn send(socket: &mut WebSocket, v: &impl Serialize) -> bool {
    let Ok(text) = serde_json::to_string(v) else { return false };
    socket.send(Message::Text(text.into())).await.is_ok()
}

/// Push `data` to one subscription: its channel name, its names of the markets.
async fn push(socket: &mut WebSocket, sub: &Sub, kind: PushType, data: &ChannelData) -> bool {
    let l4 = sub.channel == Channel::L4Book && kind == PushType::Update;
    if sub.aliases.is_empty() && !l4 {
        return send(socket, &WsPush { channel: sub.channel, data, kind }).await;
    }
    let mut d = if l4 { data.as_l4_update() } else { data.clone() };
    for (from, to) in &sub.aliases {
        d = d.renamed(from, to);
    }
    send(socket, &WsPush { channel: sub.channel, data: &d, kind }).await
}

/// The feed keys a subscription names with its [`Sub`], or why not.
async fn keys_of(ctx: &Ctx, p: &WsParams, engine: Engine) -> Result<(Vec<(Channel, u64)>, Sub), String> {
    let ch = match p.channel.parse::<Channel>() {
        Ok(c) if engine == Engine::Perps || !c.is_perps_only() => c,
        Ok(c) => return Err(format!("channel {} is served on /ws/perps", c.as_str())),
        Err(_) => {
            let names: Vec<&str> =
                Channel::all().filter(|c| engine == Engine::Perps || !c.is_perps_only()).map(Channel::as_str).collect();
            return Err(format!("unknown channel {:?}; channels: {}", p.channel, names.join(", ")));
        }
    };
    let mut names: Vec<String> = p.symbols.clone().unwrap_or_default();
    names.extend(p.symbol.clone());
    let catalog = &ctx.exchange.catalog;
    let mut aliases = Vec::new();
    let mut markets = Vec::new();
    for s in &names {
        let (name, id) = match engine {
            Engine::Spot => {
                let m = catalog.market_by_name(s).ok_or_else(|| format!("symbol {s:?} is not listed"))?;
                (read::name(m), m.config.id)
            }
            Engine::Perps => {
                let m = catalog.perp_by_name(s).ok_or_else(|| format!("symbol {s:?} is not a perps market"))?;
                (m.config.market.name.clone(), m.id())
            }
        };
        if &name != s {
            aliases.push((name, s.clone()));
        }
        markets.push(u64::from(id));
    }
    let interval = match ch {
        Channel::Candle => {
            let i = p.interval.clone().unwrap_or_else(|| "1m".into());
            let ms = views::interval_ms(&i)
                .ok_or_else(|| format!("interval {i:?}: use 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M"))?;
            Some((i, ms))
        }
        _ => None,
    };
    let sub = Sub { channel: ch, aliases, interval };
    if ch.is_all_markets() {
        let ids: Vec<u64> = match engine {
            Engine::Spot => catalog.markets.iter().map(|m| u64::from(m.config.id)).collect(),
            Engine::Perps => catalog.perps.iter().map(|m| u64::from(m.id())).collect(),
        };
        return Ok((ids.into_iter().map(|m| (ch.feed(), m)).collect(), sub));
    }
    if ch.is_market() {
        if markets.is_empty() {
            return Err(format!("channel {} needs \"symbol\" or \"symbols\"", ch.as_str()));
        }
        return Ok((markets.into_iter().map(|m| (ch.feed(), m)).collect(), sub));
    }
    let user = p.user.clone().ok_or_else(|| format!("channel {} needs \"user\" (the master address)", ch.as_str()))?;
    let address: alloy_primitives::Address =
        user.parse().map_err(|_| format!("user {user:?} is not an EVM address"))?;
    let account_id = p.account_id;
    let id = ctx
        .exchange
        .read(move |core| match account_id {
            Some(id) => core.accounts.get(&id).filter(|a| a.master == address).map(|_| id),
            None => core.masters.get(&address).copied(),
        })
        .await
        .map_err(|e| e.message)?
        .ok_or_else(|| format!("no exchange account for {user}"))?;
    Ok((vec![(ch.feed(), id)], sub))
}

/// The state of one subscription of a feed key, for a snapshot (and for the feeds that only signal a change).
fn state_of(core: &Core, sub: &Sub, key: u64, now: u64, engine: Engine) -> ChannelData {
    let market = u32::try_from(key).unwrap_or(0);
    if engine == Engine::Perps {
        return perps_state_of(core, sub, key, now);
    }
    match sub.channel {
        Channel::L2Book | Channel::L4Book => ChannelData::Book(read::ws_book(core, market, BOOK_DEPTH, now)),
        Channel::Trade => ChannelData::Trades(read::trades(core, market, SNAPSHOT_TRADES).unwrap_or_default()),
        Channel::Ticker | Channel::AllTicker | Channel::MiniTicker | Channel::AllMiniTicker => {
            ChannelData::Ticker(read::ws_ticker(core, market, now))
        }
        Channel::BookTicker | Channel::AllBookTicker => {
            ChannelData::BookTicker(read::ws_book_ticker(core, market, now))
        }
        Channel::Candle => {
            let (i, ms) = sub.interval.clone().unwrap_or_else(|| ("1m".into(), 60_000));
            ChannelData::Candle(read::ws_candle(core, market, &i, ms, now))
        }
        Channel::AccountOrderUpdate => ChannelData::Orders(read::ws_open_orders(core, key, now)),
        Channel::AccountTrade => ChannelData::AccountTrades(read::ws_account_trades(core, key, SNAPSHOT_TRADES)),
        Channel::AccountUpdate => ChannelData::Balances(read::ws_account_update(core, key, now)),
        Channel::AccountState => match core.accounts.get(&key) {
            Some(info) => ChannelData::State(Box::new(read::state(core, &info.master, key))),
            None => ChannelData::None,
        },
        Channel::MarkPrice | Channel::AllMarkPrice | Channel::AccountEvent => ChannelData::None,
    }
}

/// [`state_of`] on `/ws/perps`.
fn perps_state_of(core: &Core, sub: &Sub, key: u64, now: u64) -> ChannelData {
    use sova_exchange::read::perps as rp;
    let market = core.catalog.perp(key);
    let json = ChannelData::Json;
    let list = |v: Vec<serde_json::Value>| ChannelData::Json(serde_json::Value::Array(v));
    match (sub.channel, market) {
        (Channel::L2Book | Channel::L4Book, Some(m)) => json(rp::ws_book(core, m, BOOK_DEPTH, now)),
        (Channel::Trade, Some(m)) => list(
            core.perps.recent_trades(m.id(), SNAPSHOT_TRADES).iter().rev().map(|t| rp::ws_trade(m, t, now)).collect(),
        ),
        (Channel::Ticker | Channel::AllTicker | Channel::MiniTicker | Channel::AllMiniTicker, Some(m)) => {
            json(rp::ws_ticker(core, m, now))
        }
        (Channel::BookTicker | Channel::AllBookTicker, Some(m)) => json(rp::ws_book_ticker(core, m, now)),
        (Channel::MarkPrice | Channel::AllMarkPrice, Some(m)) => json(rp::ws_mark_price(core, m, now)),
        (Channel::Candle, Some(m)) => {
            let (i, ms) = sub.interval.clone().unwrap_or_else(|| ("1m".into(), 60_000));
            let since = now.saturating_sub(now % ms.max(1)).saturating_sub(ms);
            match rp::candles(core, m, ms, |ts| ts >= since).last() {
                Some(c) => json(rp::candle(m, c, &i, ms, now)),
                None => ChannelData::None,
            }
        }
        (Channel::AccountOrderUpdate, _) => {
            list(core.perps.open_orders(key, None).iter().map(|o| rp::ws_order(core, o, None, now)).collect())
        }
        (Channel::AccountTrade, _) => list(
            rp::account_fills(core, &core.catalog.perps, key)
                .iter()
                .filter_map(|t| rp::ws_account_trade(core, t, key, now))
                .take(SNAPSHOT_TRADES)
                .collect(),
        ),
        (Channel::AccountUpdate, _) => json(rp::ws_account_update(core, key, now)),
        (Channel::AccountState, _) => match core.accounts.get(&key) {
            Some(info) => json(rp::state(core, &info.master, key)),
            None => ChannelData::None,
        },
        _ => ChannelData::None,
    }
}

/// Whether a feed message is pushed as is, or the subscription's state is read for it.
fn reads_state(c: Channel) -> bool {
    matches!(c, Channel::Candle | Channel::AccountState)
}

async fn read_state(ctx: &Ctx, sub: &Sub, key: u64, engine: Engine) -> ChannelData {
    let now = now_ms(&ctx.clock);
    let s = sub.clone();
    ctx.exchange.read(move |core| state_of(core, &s, key, now, engine)).await.unwrap_or(ChannelData::None)
}

async fn session(ctx: Ctx, mut socket: WebSocket, engine: Engine) {
    let mut feed = match engine {
        Engine::Spot => ctx.exchange.feed.subscribe(),
        Engine::Perps => ctx.exchange.perps_feed.subscribe(),
    };
    let mut subs: Subs = HashMap::new();
    let mut deadline = tokio::time::Instant::now() + IDLE;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {
                let close = WsReply { reason: Some("idle for 60 s".into()), ..WsReply::op("close") };
                let _ = send(&mut socket, &close).await;
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
            msg = socket.recv() => {
                let Some(Ok(msg)) = msg else { return };
                deadline = tokio::time::Instant::now() + IDLE;
                let text = match msg {
                    Message::Text(t) => t.to_string(),
                    Message::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
                    Message::Ping(_) | Message::Pong(_) => continue,
                    Message::Close(_) => return,
                };
                if !handle(&ctx, &mut socket, &mut subs, &text, engine).await {
                    return;
                }
            }
            pushed = feed.recv() => {
                match pushed {
                    Ok(batch) => {
                        for m in batch.iter() {
                            let Some(list) = subs.get(&(m.channel, m.key)) else { continue };
                            for sub in list.clone() {
                                let data = if reads_state(sub.channel) {
                                    read_state(&ctx, &sub, m.key, engine).await
                                } else {
                                    m.data.clone()
                                };
                                if matches!(data, ChannelData::None | ChannelData::Candle(None)) {
                                    continue;
                                }
                                if !push(&mut socket, &sub, PushType::Update, &data).await {
                                    return;
                                }
                            }
                        }
                    }
                    Err(RecvError::Lagged(n)) => {
                        // Too slow: say so and resend snapshots so the client's state is whole again.
                        let _ = send(&mut socket, &WsReply { skipped: Some(n), ..WsReply::op("lagged") }).await;
                        for ((_, key), list) in subs.clone() {
                            for sub in list {
                                if sub.channel == Channel::AccountEvent {
                                    continue;
                                }
                                let data = read_state(&ctx, &sub, key, engine).await;
                                if !push(&mut socket, &sub, PushType::Snapshot, &data).await {
                                    return;
                                }
                            }
                        }
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        }
    }
}

/// Handle one client message; `false` closes the connection.
async fn handle(ctx: &Ctx, socket: &mut WebSocket, subs: &mut Subs, text: &str, engine: Engine) -> bool {
    let msg: WsRequest = match serde_json::from_str(text) {
        Ok(m) => m,
        Err(e) => return send(socket, &WsReply::error("BAD_REQUEST", format!("not a valid message: {e}"))).await,
    };
    match msg.op.as_str() {
        "ping" => send(socket, &WsReply::op("pong")).await,
        "subscribe" | "unsubscribe" => {
            let Some(p) = msg.params else {
                return send(socket, &WsReply::refused(msg.op, msg.id, "params is required")).await;
            };
            let (keys, sub) = match keys_of(ctx, &p, engine).await {
                Ok(k) => k,
                Err(e) => return send(socket, &WsReply::refused(msg.op, msg.id, e)).await,
            };
            let unsubscribe = msg.op == "unsubscribe";
            if !send(socket, &WsReply::accepted(msg.op, msg.id, p)).await {
                return false;
            }
            for key in keys {
                let list = subs.entry(key).or_default();
                if unsubscribe {
                    list.retain(|s| s.channel != sub.channel);
                    if list.is_empty() {
                        subs.remove(&key);
                    }
                    continue;
                }
                // Subscribing again replaces the earlier subscription of the channel (and sends a fresh snapshot).
                list.retain(|s| s.channel != sub.channel);
                list.push(sub.clone());
                if sub.channel == Channel::AccountEvent {
                    // Events only: nothing to snapshot.
                    continue;
                }
                let data = read_state(ctx, &sub, key.1, engine).await;
                if !push(socket, &sub, PushType::Snapshot, &data).await {
                    return false;
                }
            }
            true
        }
        other => {
            let e = format!("op {other:?}: use subscribe, unsubscribe or ping");
            send(socket, &WsReply { id: msg.id, ..WsReply::error("UNKNOWN_OP", e) }).await
        }
    }
}
