//! The `Idempotency-Key` store used by every surface: a key is claimed for one request, and its answer is recorded
//! once the request finished, so a retry gets the same answer.
//!
//! Atomicity rules:
//! - A key is claimed in its own transaction (the first claim inserts an `IN_FLIGHT` row holding a lock token).
//! - Where the request changes state, the change and the recording of its answer commit in ONE transaction
//!   ([`IdemDone`] handed to the state-changing call, alone or inside [`Effects`]), conditional on still holding the
//!   lock.

use crate::Result;

/// A response kept for an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdemRecord {
    /// HTTP status.
    pub status: i64,
    /// Headers to replay, as the caller encodes them (JSON).
    pub headers: String,
    /// Body, as the caller encodes it (Base64).
    pub body: String,
}

/// Claiming an idempotency key for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdemClaim {
    /// Surface and tenant, e.g. `siwx:<tenant>`.
    pub scope: String,
    /// The client's key.
    pub key: String,
    /// Hash of what makes two requests the same (method, path, body).
    pub fingerprint: String,
    /// A random token proving this request holds the lock.
    pub token: String,
    /// Now (ms).
    pub now: i64,
    /// The lock lapses at this time (ms) if the request never finishes (crash).
    pub locked_until: i64,
    /// The key is forgotten at this time (ms).
    pub expires_at: i64,
}

/// The outcome of [`IdempotencyStore::claim_idempotency_key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdemClaimOutcome {
    /// First use (or a lapsed lock taken over): proceed, then record the response with [`IdemDone`].
    Claimed,
    /// The same request finished before: answer this.
    Replay(IdemRecord),
    /// The key was used for a different request.
    Mismatch,
    /// The same key is being processed by another request right now.
    InFlight,
}

/// The response to record for a claimed key, committed with the state change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdemDone {
    /// Scope of the claim.
    pub scope: String,
    /// Key of the claim.
    pub key: String,
    /// Lock token of the claim.
    pub token: String,
    /// The response.
    pub record: IdemRecord,
}

/// What a mutation commits together with its own change, in the same database transaction: nothing is written
/// unless all of it is. Mutations that take it are named `..._with` (e.g. [`crate::UserStore::create_user_with`]).
///
/// `#[non_exhaustive]`, built with [`Effects::none`] and [`Effects::idempotent`], so the outbox issue can add its
/// events here without touching callers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Effects {
    /// The answer to record for a claimed idempotency key, conditional on the claim still holding its lock: when it
    /// does not (the lock lapsed and another request took the key over), the mutation fails with `InvalidState` and
    /// writes nothing.
    pub idempotency: Option<IdemDone>,
    /// Webhook events to put in the outbox, each fanned out to the customer's endpoints that take its type.
    pub events: Vec<crate::OutboxEvent>,
}

impl Effects {
    /// Nothing besides the mutation itself.
    pub fn none() -> Self {
        Self::default()
    }

    /// Record the answer of a claimed idempotency key with the mutation.
    pub fn idempotent(done: IdemDone) -> Self {
        Self { idempotency: Some(done), ..Self::default() }
    }

    /// Also put `event` in the outbox.
    pub fn with_event(mut self, event: crate::OutboxEvent) -> Self {
        self.events.push(event);
        self
    }

    /// Nothing to commit besides the mutation?
    pub fn is_empty(&self) -> bool {
        self.idempotency.is_none() && self.events.is_empty()
    }
}

/// Idempotency-key persistence.
#[async_trait::async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claim a key for one request (see [`IdemClaimOutcome`]). A key past its `expires_at` counts as unused.
    async fn claim_idempotency_key(&self, c: &IdemClaim) -> Result<IdemClaimOutcome>;
    /// Record the response of a claimed key (when no state change goes with it); false if the lock was lost.
    async fn complete_idempotency_key(&self, done: &IdemDone) -> Result<bool>;
    /// Give a claimed key up (the request failed in a way a retry may fix, e.g. a 5xx).
    async fn release_idempotency_key(&self, scope: &str, key: &str, token: &str) -> Result<()>;
}
