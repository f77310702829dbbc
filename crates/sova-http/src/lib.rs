//! What every Sova HTTP surface shares, below the surfaces and above the domain crates:
//!
//! - [`error`]: the one error type ([`ApiError`]) and the one place where domain errors become HTTP answers.
//! - [`envelope`]: the Connect envelope (`{success, data, meta}`).
//! - [`context`]: the request's trace id and rate-limit state, and the middleware that opens them.
//! - [`extract`], [`filters`], [`validate`]: JSON bodies, the `filter[...]` family and field checks, each failure a
//!   4xx naming the field.
//! - [`auth`]: who is calling ([`auth::Access`], the extractors, the one identification path); [`hmac`]: the
//!   `Cs-*` scheme as middleware; [`idempotency`]: `Idempotency-Key` for every surface.
//! - [`cache`]: read-through caches on one invalidation bus, which each surface registers its caches on.
//! - [`ratelimit`]: fixed windows per credential; [`shared`]: the replay and rate-limit state replicas share.
//! - [`metrics`]: the Prometheus recorder and the request counters.
//! - [`time`]: Unix milliseconds and their ISO 8601 form.
//!
//! Nothing here names a surface.

pub mod access;
pub mod approvals;
pub mod auth;
pub mod cache;
pub mod context;
pub mod credentials;
pub mod envelope;
pub mod error;
pub mod extract;
pub mod filters;
pub mod hmac;
pub mod idempotency;
pub mod metrics;
pub mod operators;
pub mod otp;
pub mod outbox;
pub mod ratelimit;
pub mod seal;
pub mod shared;
pub mod time;
pub mod validate;

pub use error::{ApiError, ApiResult};
