//! `/ws/spot`: subscribe / unsubscribe, a snapshot then updates per subscription, ping/pong, idle close.
//!
//! Client messages: `{"op":"subscribe"|"unsubscribe","params":{"channel":..,"symbol"|"symbols"|"user"|"accountID":..}}`
//! and `{"op":"ping"}`. Server pushes: `{"channel":..,"type":"snapshot"|"update","data":..}`, acknowledgements
//! `{"op":"subscribe","success":true,"params":..}`, errors `{"op":..,"success":false,"error":..}`, `{"op":"pong"}`.
//! A connection that sends nothing for 60 s is closed.

use std::collections::HashSet;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use crate::state::ApiContext;
use sova_exchange::Core;
use sova_exchange::read::{self as views, balances_json, book_json, book_ticker_json, ticker_json};
use sova_exchange::sequencer::BOOK_DEPTH;

/// Idle time after which the server closes the connection.
pub const IDLE: Duration = Duration::from_secs(60);

const MARKET_CHANNELS: &[&str] = &["l2Book", "trade", "ticker", "bookTicker"];
const ACCOUNT_CHANNELS: &[&str] = &["accountOrderUpdate", "accountTrade", "accountUpdate"];

#[derive(Debug, Deserialize)]
struct ClientMsg {
    op: String,
    #[serde(default)]
    params: Option<Params>,
}

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct Params {
    channel: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    symbol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    symbols: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    #[serde(rename = "accountID", default, skip_serializing_if = "Option::is_none")]
    account_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    interval: Option<String>,
}

/// `GET /ws/spot` (upgrade).
pub async fn spot(State(ctx): State<ApiContext>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| session(ctx, socket))
}

async fn send(socket: &mut WebSocket, v: &Value) -> bool {
    socket.send(Message::Text(v.to_string().into())).await.is_ok()
}

/// The (channel, key) pairs a subscription names, or why not.
async fn keys_of(ctx: &ApiContext, p: &Params) -> Result<Vec<(&'static str, u64)>, String> {
    if let Some(ch) = MARKET_CHANNELS.iter().find(|c| **c == p.channel) {
        let mut names: Vec<String> = p.symbols.clone().unwrap_or_default();
        names.extend(p.symbol.clone());
        if names.is_empty() {
            return Err(format!("channel {ch} needs \"symbol\" or \"symbols\""));
        }
        return names
            .iter()
            .map(|s| {
                ctx.exchange
                    .catalog
                    .market_by_name(s)
                    .map(|m| (*ch, u64::from(m.config.id)))
                    .ok_or_else(|| format!("symbol {s:?} is not listed"))
            })
            .collect();
    }
    if let Some(ch) = ACCOUNT_CHANNELS.iter().find(|c| **c == p.channel) {
        let user = p.user.clone().ok_or_else(|| format!("channel {ch} needs \"user\" (the master address)"))?;
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
        return Ok(vec![(*ch, id)]);
    }
    Err(format!(
        "unknown channel {:?}; channels: {}",
        p.channel,
        MARKET_CHANNELS.iter().chain(ACCOUNT_CHANNELS).copied().collect::<Vec<_>>().join(", ")
    ))
}

fn snapshot(core: &Core, channel: &str, key: u64) -> Value {
    let market = u32::try_from(key).unwrap_or(0);
    match channel {
        "l2Book" => book_json(core, market, BOOK_DEPTH),
        "trade" => match core.catalog.market(key) {
            Some(m) => {
                Value::Array(core.engine.recent_trades(market, 50).iter().map(|t| views::trade_json(m, t)).collect())
            }
            None => Value::Null,
        },
        "ticker" => ticker_json(core, market, sova_exchange::now_ms()),
        "bookTicker" => book_ticker_json(core, market),
        "accountOrderUpdate" => Value::Array(
            core.engine
                .open_orders(key, None)
                .iter()
                .filter_map(|o| core.catalog.market(u64::from(o.market)).map(|m| views::order_json(m, o)))
                .collect(),
        ),
        "accountTrade" => Value::Array(
            core.views
                .account_trades(key, 50)
                .into_iter()
                .filter_map(|t| {
                    core.catalog
                        .market(u64::from(t.market))
                        .map(|m| views::account_trade_json(m, &core.catalog, t, key))
                })
                .collect(),
        ),
        "accountUpdate" => balances_json(core, key),
        _ => Value::Null,
    }
}

async fn session(ctx: ApiContext, mut socket: WebSocket) {
    let mut feed = ctx.exchange.feed.subscribe();
    let mut subs: HashSet<(&'static str, u64)> = HashSet::new();
    let mut deadline = tokio::time::Instant::now() + IDLE;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {
                let _ = send(&mut socket, &json!({"op": "close", "reason": "idle for 60 s"})).await;
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
                                && !send(&mut socket, &json!({"channel": m.channel, "type": "update", "data": m.data})).await
                            {
                                return;
                            }
                        }
                    }
                    Err(RecvError::Lagged(n)) => {
                        // Too slow: say so and resend snapshots so the client's state is whole again.
                        let _ = send(&mut socket, &json!({"op": "lagged", "skipped": n})).await;
                        for (ch, key) in subs.clone() {
                            let data = ctx.exchange.read(move |core| snapshot(core, ch, key)).await.unwrap_or(Value::Null);
                            if !send(&mut socket, &json!({"channel": ch, "type": "snapshot", "data": data})).await {
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
async fn handle(ctx: &ApiContext, socket: &mut WebSocket, subs: &mut HashSet<(&'static str, u64)>, text: &str) -> bool {
    let msg: ClientMsg = match serde_json::from_str(text) {
        Ok(m) => m,
        Err(e) => {
            return send(
                socket,
                &json!({"op": "error", "success": false, "error": format!("not a valid message: {e}")}),
            )
            .await;
        }
    };
    match msg.op.as_str() {
        "ping" => send(socket, &json!({"op": "pong"})).await,
        "subscribe" | "unsubscribe" => {
            let Some(p) = msg.params else {
                return send(socket, &json!({"op": msg.op, "success": false, "error": "params is required"})).await;
            };
            let keys = match keys_of(ctx, &p).await {
                Ok(k) => k,
                Err(e) => return send(socket, &json!({"op": msg.op, "success": false, "error": e, "params": p})).await,
            };
            if !send(socket, &json!({"op": msg.op, "success": true, "params": p})).await {
                return false;
            }
            for (ch, key) in keys {
                if msg.op == "unsubscribe" {
                    subs.remove(&(ch, key));
                    continue;
                }
                subs.insert((ch, key));
                let data = ctx.exchange.read(move |core| snapshot(core, ch, key)).await.unwrap_or(Value::Null);
                if !send(socket, &json!({"channel": ch, "type": "snapshot", "data": data})).await {
                    return false;
                }
            }
            true
        }
        other => {
            send(socket, &json!({"op": other, "success": false, "error": "op must be subscribe, unsubscribe or ping"}))
                .await
        }
    }
}
