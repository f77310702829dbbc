//! The nonce rule, per (signer address, domain), as a pure function of (stored set, nonce, server time).
//!
//! - Window: `T - 2 days < nonce < T + 1 day`, T the server time in ms.
//! - The 100 highest accepted nonces are kept. A nonce is accepted if it is not in the set and (the set holds fewer
//!   than 100, or it is greater than the smallest in the set); it is inserted and the smallest dropped past 100.
//!
//! The server must consume a nonce only after the signature verified and the key is authorized, keep it consumed
//! even when the action is then refused, and run check-and-insert atomically per (signer, domain) across replicas
//! (e.g. a row lock on the stored set, or a conditional update on its version).

use alloy_primitives::Address;
use serde::{Deserialize, Serialize};

use super::eip712::Domain;

/// How far in the past a nonce may be (exclusive): 2 days in ms.
pub const NONCE_PAST_WINDOW_MS: u64 = 2 * 86_400_000;
/// How far in the future a nonce may be (exclusive): 1 day in ms.
pub const NONCE_FUTURE_WINDOW_MS: u64 = 86_400_000;
/// How many of the highest accepted nonces are kept per (signer, domain).
pub const NONCE_SET_CAPACITY: usize = 100;

/// Whose nonce set a nonce belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NonceScope {
    /// The recovered signer (an API key's address, or the master wallet).
    pub signer: Address,
    /// The domain the action was signed in.
    pub domain: Domain,
}

impl std::fmt::Display for NonceScope {
    /// `spot:0xabc...` (lower-case hex): a stable storage key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{:#x}", self.domain.name(), self.signer)
    }
}

/// Why a nonce was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NonceError {
    /// At or before `T - 2 days`.
    #[error(
        "X-API-Nonce {nonce} is more than 2 days behind the server time {now} ms; use the current Unix time in \
         milliseconds (GET /api/v1/time)"
    )]
    TooOld {
        /// The nonce.
        nonce: u64,
        /// Server time.
        now: u64,
    },
    /// At or after `T + 1 day`.
    #[error(
        "X-API-Nonce {nonce} is more than 1 day ahead of the server time {now} ms; use the current Unix time in \
         milliseconds (GET /api/v1/time)"
    )]
    TooNew {
        /// The nonce.
        nonce: u64,
        /// Server time.
        now: u64,
    },
    /// Already used by this signer in this domain.
    #[error("X-API-Nonce {nonce} was already used by this signer; every request needs a new nonce")]
    Reused {
        /// The nonce.
        nonce: u64,
    },
    /// The signer's 100 kept nonces are all at least this high.
    #[error(
        "X-API-Nonce {nonce} is not above {smallest}, the smallest of this signer's 100 most recent nonces; use a \
         higher nonce"
    )]
    TooLow {
        /// The nonce.
        nonce: u64,
        /// The smallest kept nonce.
        smallest: u64,
    },
}

impl NonceError {
    /// A stable identifier for the envelope's error code.
    pub const fn code(&self) -> &'static str {
        match self {
            NonceError::TooOld { .. } | NonceError::TooNew { .. } => "NONCE_OUT_OF_WINDOW",
            NonceError::Reused { .. } => "NONCE_REUSED",
            NonceError::TooLow { .. } => "NONCE_TOO_LOW",
        }
    }
}

/// The window check alone (cheap; may run before signature recovery).
pub fn check_nonce_window(nonce: u64, now_ms: u64) -> Result<(), NonceError> {
    let (n, t) = (u128::from(nonce), u128::from(now_ms));
    if n + u128::from(NONCE_PAST_WINDOW_MS) <= t {
        return Err(NonceError::TooOld { nonce, now: now_ms });
    }
    if n >= t + u128::from(NONCE_FUTURE_WINDOW_MS) {
        return Err(NonceError::TooNew { nonce, now: now_ms });
    }
    Ok(())
}

/// The kept nonces of one (signer, domain): ascending, distinct, at most [`NONCE_SET_CAPACITY`].
/// Serializes as a JSON array of integers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<u64>", into = "Vec<u64>")]
pub struct NonceSet {
    nonces: Vec<u64>,
}

impl From<Vec<u64>> for NonceSet {
    /// Normalizes: sorts, removes duplicates, keeps the 100 highest.
    fn from(mut nonces: Vec<u64>) -> NonceSet {
        nonces.sort_unstable();
        nonces.dedup();
        let excess = nonces.len().saturating_sub(NONCE_SET_CAPACITY);
        nonces.drain(..excess);
        NonceSet { nonces }
    }
}

impl From<NonceSet> for Vec<u64> {
    fn from(set: NonceSet) -> Vec<u64> {
        set.nonces
    }
}

impl FromIterator<u64> for NonceSet {
    fn from_iter<I: IntoIterator<Item = u64>>(iter: I) -> NonceSet {
        NonceSet::from(iter.into_iter().collect::<Vec<_>>())
    }
}

impl NonceSet {
    /// No nonce used yet.
    pub const fn new() -> NonceSet {
        NonceSet { nonces: Vec::new() }
    }

    /// The kept nonces, ascending.
    pub fn as_slice(&self) -> &[u64] {
        &self.nonces
    }

    /// How many are kept.
    pub fn len(&self) -> usize {
        self.nonces.len()
    }

    /// None kept.
    pub fn is_empty(&self) -> bool {
        self.nonces.is_empty()
    }

    /// The smallest kept nonce.
    pub fn smallest(&self) -> Option<u64> {
        self.nonces.first().copied()
    }

    /// Would `nonce` be accepted at `now_ms`? (Window, then uniqueness, then the smallest-of-100 rule.)
    pub fn check(&self, nonce: u64, now_ms: u64) -> Result<(), NonceError> {
        check_nonce_window(nonce, now_ms)?;
        if self.nonces.binary_search(&nonce).is_ok() {
            return Err(NonceError::Reused { nonce });
        }
        match self.smallest() {
            Some(smallest) if self.nonces.len() >= NONCE_SET_CAPACITY && nonce <= smallest => {
                Err(NonceError::TooLow { nonce, smallest })
            }
            _ => Ok(()),
        }
    }

    /// Check and insert in place; on success returns the nonce dropped to stay at 100, if any. On error the set is
    /// unchanged.
    pub fn try_insert(&mut self, nonce: u64, now_ms: u64) -> Result<Option<u64>, NonceError> {
        self.check(nonce, now_ms)?;
        let at = self.nonces.binary_search(&nonce).unwrap_or_else(|i| i);
        self.nonces.insert(at, nonce);
        Ok((self.nonces.len() > NONCE_SET_CAPACITY).then(|| self.nonces.remove(0)))
    }

    /// The pure form: the new state if `nonce` is accepted at `now_ms`.
    pub fn accept(&self, nonce: u64, now_ms: u64) -> Result<NonceSet, NonceError> {
        let mut next = self.clone();
        next.try_insert(nonce, now_ms)?;
        Ok(next)
    }
}
