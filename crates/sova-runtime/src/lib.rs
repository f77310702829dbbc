//! What Sova's long-running parts share below HTTP (used by `sova-http`, `sova-exchange` and the server):
//!
//! - [`Clock`]: the time that decides behaviour (expiries, windows, funding, backoff), injectable so that a test
//!   can move it ([`Clock::manual`]).
//! - [`Jobs`]: every background task is started through it, and stopped and awaited at shutdown.

mod clock;
mod jobs;

pub use clock::Clock;
pub use jobs::Jobs;
