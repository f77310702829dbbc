//! Webhook events as every surface writes them into the outbox: the Standard Webhooks body `{type, timestamp,
//! data}` and a `msg_` id that stays the same across retries.

use sova_store::OutboxEvent;

/// An event of `event_type` for `customer_id`'s endpoints, with `data`, at `now` (Unix ms).
pub fn event(customer_id: &str, event_type: &str, data: serde_json::Value, now: i64) -> OutboxEvent {
    let event_id = format!("msg_{}", uuid::Uuid::new_v4().simple());
    let payload = serde_json::json!({
        "id": event_id,
        "type": event_type,
        "timestamp": crate::time::iso(now),
        "data": data,
    });
    OutboxEvent {
        event_id,
        customer_id: customer_id.to_string(),
        event_type: event_type.to_string(),
        payload: payload.to_string(),
        created_at: now,
        endpoint_id: None,
    }
}

/// A Connect deposit's event (`deposit.<what>`: `pending`, `completed`, `dropped`, `reversed`), written by the
/// sandbox routes and by the chain watchers alike.
pub fn deposit(d: &sova_store::DepositRow, what: &str, now: i64) -> OutboxEvent {
    let data = serde_json::json!({
        "deposit_id": d.deposit_id,
        "wallet_id": d.wallet_id,
        "address": d.address,
        "currency": d.currency.to_ascii_lowercase(),
        "network": d.network,
        "amount": d.amount,
        "status": d.status,
        "tx_hash": d.tx_hash,
        "confirmations": d.confirmations,
        "block_height": d.block_height,
        "shortfall": d.shortfall,
        "completed_at": d.completed_at.map(crate::time::iso),
    });
    event(&d.customer_id, &format!("deposit.{what}"), data, now)
}

/// A Connect withdrawal's event (`withdrawal.<what>`), its data the withdrawal's summary, plus the code for
/// `confirmation_required`; written by the withdrawal routes and by the chain sender alike.
pub fn withdrawal(w: &sova_store::WithdrawalRow, what: &str, code: Option<(&str, i64)>, now: i64) -> OutboxEvent {
    let mut data = serde_json::json!({
        "withdrawal_id": w.withdrawal_id,
        "user_id": w.user_id,
        "wallet_id": w.wallet_id,
        "currency": w.currency.to_ascii_lowercase(),
        "network": w.network,
        "address": w.address,
        "amount": w.amount,
        "fee": w.fee,
        "status": w.status,
        "sub_status": w.sub_status,
        "tx_hash": w.tx_hash,
    });
    if let Some((code, expires)) = code {
        data["code"] = code.into();
        data["code_expires_at"] = crate::time::iso(expires).into();
    }
    event(&w.customer_id, &format!("withdrawal.{what}"), data, now)
}
