//! `/ws/spot`: subscribe / unsubscribe, a snapshot then updates per subscription, ping/pong, idle close.
//!
//! Client messages: `{"op":"subscribe"|"unsubscribe","params":{"channel":..,"symbol"|"symbols"|"user"|"accountID":..}}`
//! and `{"op":"ping"}`. Server pushes: `{"channel":..,"type":"snapshot"|"update","data":..}`, acknowledgements
//! `{"op":"subscribe","success":true,"params":..}`, errors `{"op":..,"success":false,"error":..}`, `{"op":"pong"}`.
//! A connection that sends nothing for 60 s is closed. The messages are `sova_proto::exchange::{WsRequest, WsReply,
//! WsPush}`.

use std::collections::HashSet;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde::Serialize;
use sova_exchange::read;
use sova_exchange::sequencer::BOOK_DEPTH;
use sova_exchange::{Core, now_ms};
use sova_proto::exchange::{Channel, ChannelData, PushType, WsParams, WsPush, WsReply, WsRequest};
use tokio::sync::broadcast::error::RecvError;

use super::Ctx;

/// Idle time after which the server closes the connection.
pub const IDLE: Duration = Duration::from_secs(60);

/// Trades and account trades in a snapshot.
const SNAPSHOT_TRADES: usize = 50;

/// `GET /ws/spot`: upgrade to the WebSocket feeds (market and account channels).
#[utoipa::path(get, path = "/ws/spot", tag = "websocket",
    responses((status = 101, description = "switching protocols; client messages are `WsRequest`, server messages `WsReply` and `WsPush`")))]
pub async fn spot(State(ctx): State<Ctx>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| session(ctx, socket))
}

async fn send(socket: &mut WebSocket, v: &impl Serialize) -> bool {
    let Ok(text) = serde_json::to_string(v) else { return false };
    socket.send(Message::Text(text.into())).await.is_ok()
}

async fn push(socket: &mut WebSocket, channel: Channel, kind: PushType, data: &ChannelData) -> bool {
    send(socket, &WsPush { channel, data, kind }).await
}

/// The (channel, key) pairs a subscription names, or why not.
async fn keys_of(ctx: &Ctx, p: &WsParams) -> Result<Vec<(Channel, u64)>, String> {
    let Ok(ch) = p.channel.parse::<Channel>() else {
        let names: Vec<&str> = Channel::all().map(Channel::as_str).collect();
        return Err(format!("unknown channel {:?}; channels: {}", p.channel, names.join(", ")));
    };
    if ch.is_market() {
        let mut names: Vec<String> = p.symbols.clone().unwrap_or_default();
        names.extend(p.symbol.clone());
        if names.is_empty() {
            return Err(format!("channel {} needs \"symbol\" or \"symbols\"", ch.as_str()));
        }
        return names
            .iter()
            .map(|s| {
                ctx.exchange
                    .catalog
                    .market_by_name(s)
                    .map(|m| (ch, u64::from(m.config.id)))
                    .ok_or_else(|| format!("symbol {s:?} is not listed"))
            })
            .collect();
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
    Ok(vec![(ch, id)])
}

fn snapshot(core: &Core, channel: Channel, key: u64, now: u64) -> ChannelData {
    let market = u32::try_from(key).unwrap_or(0);
    match channel {
        Channel::L2Book => ChannelData::OrderBook(read::book(core, market, BOOK_DEPTH)),
        Channel::Trade => ChannelData::Trades(read::trades(core, market, SNAPSHOT_TRADES)),
        Channel::Ticker => ChannelData::Ticker(read::ticker(core, market, now)),
        Channel::BookTicker => ChannelData::BookTicker(read::book_ticker(core, market)),
        Channel::AccountOrderUpdate => ChannelData::Orders(read::open_orders(core, key, None)),
        Channel::AccountTrade => ChannelData::UserTrades(read::user_trades(core, key, None, SNAPSHOT_TRADES)),
        Channel::AccountUpdate => ChannelData::Balances(read::account_balances(core, key)),
    }
}

async fn session(ctx: Ctx, mut socket: WebSocket) {
    let mut feed = ctx.exchange.feed.subscribe();
    let mut subs: HashSet<(Channel, u64)> = HashSet::new();
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
                if !handle(&ctx, &mut socket, &mut subs, &text).await {
                    return;
                }
            }
            pushed = feed.recv() => {
                match pushed {
                    Ok(batch) => {
                        for m in batch.iter() {
                            if subs.contains(&(m.channel, m.key))
                                && !push(&mut socket, m.channel, PushType::Update, &m.data).await
                            {
                                return;
                            }
                        }
                    }
                    Err(RecvError::Lagged(n)) => {
                        // Too slow: say so and resend snapshots so the client's state is whole again.
                        let _ = send(&mut socket, &WsReply { skipped: Some(n), ..WsReply::op("lagged") }).await;
                        for (ch, key) in subs.clone() {
                            let now = now_ms(&ctx.clock);
                let data = ctx.exchange.read(move |core| snapshot(core, ch, key, now)).await.unwrap_or(ChannelData::None);
                            if !push(&mut socket, ch, PushType::Snapshot, &data).await {
                                return;
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
async fn handle(ctx: &Ctx, socket: &mut WebSocket, subs: &mut HashSet<(Channel, u64)>, text: &str) -> bool {
    let msg: WsRequest = match serde_json::from_str(text) {
        Ok(m) => m,
        Err(e) => return send(socket, &WsReply::refused("error", format!("not a valid message: {e}"), None)).await,
    };
    match msg.op.as_str() {
        "ping" => send(socket, &WsReply::op("pong")).await,
        "subscribe" | "unsubscribe" => {
            let Some(p) = msg.params else {
                return send(socket, &WsReply::refused(msg.op, "params is required", None)).await;
            };
            let keys = match keys_of(ctx, &p).await {
                Ok(k) => k,
                Err(e) => return send(socket, &WsReply::refused(msg.op, e, Some(p))).await,
            };
            let unsubscribe = msg.op == "unsubscribe";
            if !send(socket, &WsReply::accepted(msg.op, p)).await {
                return false;
            }
            for (ch, key) in keys {
                if unsubscribe {
                    subs.remove(&(ch, key));
                    continue;
                }
                subs.insert((ch, key));
                let now = now_ms(&ctx.clock);
                let data =
                    ctx.exchange.read(move |core| snapshot(core, ch, key, now)).await.unwrap_or(ChannelData::None);
                if !push(socket, ch, PushType::Snapshot, &data).await {
                    return false;
                }
            }
            true
        }
        other => send(socket, &WsReply::refused(other, "op must be subscribe, unsubscribe or ping", None)).await,
    }
}
