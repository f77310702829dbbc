//! Connect withdrawals (`/sovx/v1`, issue 16), on the vendor's paths: the two-stage flow. Creation validates the
//! destination for its network, quotes the fee and holds `amount + fee` in the ledger; nothing leaves until the
//! 6-digit code is confirmed; then the withdrawal is queued and (in the sandbox) sent with a fake hash, completed or
//! failed through sandbox routes. Every transition is an event; the hold, the send and the refund are ledger moves
//! made in the transition's own transaction. The idempotency key is stored on the withdrawal, unique per customer
//! forever, so a retried request can never send twice.

mod controls;
pub mod policy;
mod routes;

use std::sync::Arc;
use std::time::Duration;

use sova_http::access::Access;
use sova_store::{LedgerMove, Store, WithdrawalChange};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// How long a confirmation code lives.
pub const CODE_TTL_MS: i64 = 10 * 60 * 1000;
/// Wrong codes before the code is void (a new one must be sent).
pub const CODE_MAX_TRIES: i64 = 5;
/// An unconfirmed withdrawal is cancelled (`EXPIRED`) after this long.
pub const CONFIRM_WINDOW_MS: i64 = 60 * 60 * 1000;

/// What the withdrawal handlers reach.
pub struct WithdrawalsState {
    /// Authentication, limits, the keyed hasher (codes).
    pub access: Arc<Access>,
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// Sandbox mode: confirmed withdrawals are sent with a fake hash; sandbox routes answer.
    pub sandbox: bool,
    /// The time that decides expiries.
    pub clock: sova_runtime::Clock,
    /// Networks with a hot wallet (`--chain-signer`): their confirmed withdrawals stay `QUEUED` for the chain
    /// sender, in the sandbox too.
    pub live: std::collections::BTreeSet<String>,
}

impl WithdrawalsState {
    /// Build.
    pub fn new(access: Arc<Access>, sandbox: bool, live: std::collections::BTreeSet<String>) -> Arc<Self> {
        Arc::new(Self { clock: access.clock.clone(), store: access.store.clone(), access, sandbox, live })
    }

    /// Whether a queued withdrawal on `network` is sent by the sandbox (a fake hash) rather than by a chain sender.
    pub fn sandbox_sends(&self, network: &str) -> bool {
        self.sandbox && !self.live.contains(network)
    }

    /// The confirmation code of a withdrawal's code issued to expire at `expires_at`: six digits from the keyed
    /// hash (HMAC under the server's pepper) of both, so it is unpredictable without the server key, and nothing
    /// but its own keyed hash is stored. The sandbox route recomputes it from the row.
    pub fn code(&self, withdrawal_id: &str, expires_at: i64) -> String {
        sova_http::otp::code(&self.access.hasher, "withdrawal", withdrawal_id, expires_at)
    }

    /// What is stored to check a code.
    pub fn code_hash(&self, withdrawal_id: &str, code: &str) -> String {
        sova_http::otp::check_hash(&self.access.hasher, "withdrawal", withdrawal_id, code)
    }
}

/// The state type of the withdrawal routes.
pub type Ctx = Arc<WithdrawalsState>;

/// The withdrawal routes, relative to `/sovx/v1`. Not behind the generic idempotency layer: the key lives on the
/// withdrawal itself.
pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Ctx: axum::extract::FromRef<S>,
    Arc<Access>: axum::extract::FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(routes::create, routes::list_user))
        .routes(routes!(routes::get_user_withdrawal))
        .routes(routes!(routes::confirm))
        .routes(routes!(routes::resend_code))
        .routes(routes!(routes::cancel))
        .routes(routes!(routes::list_owner))
        .routes(routes!(routes::get_owner_withdrawal))
        .routes(routes!(routes::sandbox_code))
        .routes(routes!(routes::sandbox_complete))
        .routes(routes!(routes::sandbox_fail))
        .routes(routes!(controls::get_policy, controls::put_policy))
        .routes(routes!(controls::policy_versions))
        .routes(routes!(controls::add_address, controls::list_addresses))
        .routes(routes!(controls::remove_address))
        .routes(routes!(controls::approve))
        .routes(routes!(controls::reject))
}

/// Cancel (`EXPIRED`, hold released) withdrawals left unconfirmed past [`CONFIRM_WINDOW_MS`], every 30 s.
pub fn spawn_expirer(ctx: Ctx, jobs: &sova_runtime::Jobs) {
    jobs.spawn("withdrawal-expirer", async move {
        loop {
            tokio::time::sleep(Duration::from_secs(30)).await;
            if let Err(e) = expire_once(&ctx).await {
                tracing::warn!(error = %e, "withdrawal expiry sweep failed; retrying in 30 s");
            }
        }
    });
}

/// One sweep: how many withdrawals it expired (unconfirmed past the hour, or unapproved past the policy's window).
pub async fn expire_once(ctx: &Ctx) -> sova_store::Result<usize> {
    let now = ctx.clock.now_ms();
    let mut n = 0;
    for w in ctx.store.expired_approvals(now, 100).await? {
        let mut c = WithdrawalChange::new(
            &w.customer_id,
            &w.withdrawal_id,
            &["PENDING_APPROVAL"],
            ("REJECTED", "APPROVAL_EXPIRED"),
            "system",
            now,
        );
        c.ledger = LedgerMove::Release;
        c.detail = Some("not approved within the policy's window".into());
        let mut after = w.clone();
        (after.status, after.sub_status) = ("REJECTED".into(), "APPROVAL_EXPIRED".into());
        c.effects =
            sova_store::Effects::none().with_event(sova_http::outbox::withdrawal(&after, "rejected", None, now));
        match ctx.store.change_withdrawal(&c).await {
            Ok(_) => {
                n += 1;
                ctx.access.outbox.notify_one();
            }
            Err(sova_store::StoreError::InvalidState(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let stale = ctx.store.stale_withdrawals("AWAITING_CONFIRMATION", now - CONFIRM_WINDOW_MS, 100).await?;
    for w in stale {
        let mut c = WithdrawalChange::new(
            &w.customer_id,
            &w.withdrawal_id,
            &["AWAITING_CONFIRMATION"],
            ("CANCELLED", "EXPIRED"),
            "system",
            now,
        );
        c.ledger = LedgerMove::Release;
        c.clear_code = true;
        c.detail = Some("not confirmed within an hour".into());
        let mut after = w.clone();
        (after.status, after.sub_status) = ("CANCELLED".into(), "EXPIRED".into());
        c.effects =
            sova_store::Effects::none().with_event(sova_http::outbox::withdrawal(&after, "cancelled", None, now));
        match ctx.store.change_withdrawal(&c).await {
            Ok(_) => {
                n += 1;
                ctx.access.outbox.notify_one();
            }
            // Confirmed or cancelled meanwhile: nothing to do.
            Err(sova_store::StoreError::InvalidState(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
