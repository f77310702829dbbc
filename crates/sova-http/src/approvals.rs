//! Deciding withdrawals awaiting approval, shared by the API (`/customers/{id}/withdrawals/{id}/approve|reject`)
//! and the operator console: the four-eyes rule (the initiator can never approve; each approver votes once; the
//! policy's number of distinct approvals queues it, one rejection rejects it and releases the hold), and the
//! sandbox's send of what is queued.

use axum::http::StatusCode;
use sova_proto::ErrorCode;
use sova_store::{LedgerMove, StoreError, VoteRow, WithdrawalChange, WithdrawalRow, WithdrawalVote};

use crate::access::Access;
use crate::error::{ApiError, ApiResult};

/// Whether `approver` is the one who asked for a withdrawal (an owner credential is the same whether it sent its
/// key or signed with `Cs-*`).
pub fn same_party(initiator: &str, approver: &str) -> bool {
    let norm = |s: &str| s.replace("hmac:", "credential:");
    norm(initiator) == norm(approver)
}

/// `approver` (`operator:<id>` or `credential:<id>`) approves or rejects withdrawal `id` of `customer_id`; the
/// withdrawal after the vote and whether the vote decided it. 403 `SELF_APPROVAL` for the initiator, 409 for a
/// second vote of the same approver or a withdrawal not awaiting approval, 404 for an unknown one.
pub async fn vote(
    access: &Access,
    customer_id: &str,
    id: &str,
    approver: &str,
    approve: bool,
    reason: Option<String>,
) -> ApiResult<(WithdrawalRow, bool)> {
    let store = &access.store;
    let w = store.withdrawal(customer_id, id).await?.ok_or_else(|| ApiError::not_found("withdrawal"))?;
    if approve && same_party(&w.initiator, approver) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::SelfApproval,
            "the initiator of a withdrawal cannot approve it; another approver must",
        ));
    }
    let now = access.clock.now_ms();
    let mut decided = if approve {
        let mut c = WithdrawalChange::new(customer_id, id, &["PENDING_APPROVAL"], ("PENDING", "QUEUED"), approver, now);
        c.detail = Some(format!("approved ({} approvals)", w.approvals_required));
        c
    } else {
        let mut c = WithdrawalChange::new(
            customer_id,
            id,
            &["PENDING_APPROVAL"],
            ("REJECTED", "REJECTED_BY_APPROVER"),
            approver,
            now,
        );
        c.ledger = LedgerMove::Release;
        c.detail = Some(reason.clone().unwrap_or_else(|| "rejected".into()));
        c
    };
    let mut after = w.clone();
    (after.status, after.sub_status) = (decided.status.clone(), decided.sub_status.clone());
    let what = if approve { "approved" } else { "rejected" };
    decided.effects = sova_store::Effects::none().with_event(crate::outbox::withdrawal(&after, what, None, now));
    let v = WithdrawalVote {
        vote: VoteRow {
            withdrawal_id: id.to_string(),
            approver: approver.to_string(),
            decision: if approve { "APPROVE" } else { "REJECT" }.into(),
            reason,
            at: now,
        },
        decided,
    };
    let out = store.vote_withdrawal(customer_id, &v).await.map_err(|e| match e {
        StoreError::Conflict(_) => ApiError::conflict("this approver has already decided on the withdrawal"),
        StoreError::InvalidState(s) => {
            ApiError::conflict(format!("{s}; only a withdrawal awaiting approval takes votes"))
        }
        e => e.into(),
    })?;
    if out.decided {
        access.outbox.notify_one();
    }
    Ok((out.row, out.decided))
}

/// The sandbox's executor: a queued withdrawal is "sent" at once with a fake hash (flagged), and the held funds
/// leave the wallet (to the outside world and the fee account).
pub async fn sandbox_send(access: &Access, w: &WithdrawalRow) -> ApiResult<WithdrawalRow> {
    let net = sova_chain::Network::parse(&w.network)
        .ok_or_else(|| ApiError::internal(format!("stored network {}", w.network)))?;
    let hash = net.sandbox_tx_hash();
    let now = access.clock.now_ms();
    let mut c = WithdrawalChange::new(
        &w.customer_id,
        &w.withdrawal_id,
        &["QUEUED"],
        ("PENDING", "BROADCASTING"),
        "sandbox",
        now,
    );
    c.ledger = LedgerMove::Send;
    c.tx_hash = Some(hash.clone());
    c.sandbox = true;
    c.detail = Some(format!("sandbox send {hash}"));
    let mut after = w.clone();
    (after.status, after.sub_status, after.tx_hash) = ("PENDING".into(), "BROADCASTING".into(), Some(hash));
    c.effects = sova_store::Effects::none().with_event(crate::outbox::withdrawal(&after, "broadcast", None, now));
    let out = access.store.change_withdrawal(&c).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("withdrawal"),
        e => e.into(),
    })?;
    access.outbox.notify_one();
    Ok(out)
}
