//! Sova's spot exchange (seed 002, `spec/exchange-eip712.md`), without HTTP: the configured coins and markets
//! ([`catalog`]), the sequencer that owns the matching engine and commits each group of requests before answering
//! ([`sequencer`], its synchronous state [`core`]), the read models derived from the engine's events ([`views`]),
//! the event log and its replay at start ([`replay`]), and the answers built from the state ([`read`]).
//!
//! A signed write is verified by the caller (headers, nonce window, canonical body, secp256k1 recovery) and handed
//! to [`Exchange::submit`], which authorizes the signer, consumes the nonce, applies the action to the engine and
//! commits all of it in one transaction before answering.

pub mod catalog;
pub mod core;
pub mod error;
pub mod log;
pub mod read;
pub mod replay;
pub mod sequencer;
pub mod twap;
#[cfg(test)]
mod twap_tests;
pub mod views;

pub use catalog::{Catalog, ExchangeConfig};
pub use core::{Core, Reply, Request, connect, perps};
pub use error::{ExchangeError, Reason};
pub use read::hud;
pub use sequencer::{Exchange, FeedMsg};

/// The server's clock as the engine counts time: Unix milliseconds (the one place this crate reads the time).
pub fn now_ms(clock: &sova_runtime::Clock) -> u64 {
    u64::try_from(clock.now_ms()).unwrap_or(0)
}
