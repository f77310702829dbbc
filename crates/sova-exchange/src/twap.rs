//! TWAP orders (`newTwapOrder`, `cancelTwapOrder`): a parent with a whole size, a side and a duration, executed by
//! the sequencer in slices. Every [`SLICE_MS`] (30 s) a slice is due; the sequencer sends it as an IOC market order
//! of `remaining / slices left` (remaining = the size not yet filled, so a slice that found no liquidity is made up
//! by the later ones; the last slice sends all that remains). With `randomize`, each slice but the last is scaled
//! by a factor between 0.8 and 1.2 drawn from the TWAP's id and the slice's index (so replay gives the same sizes).
//!
//! The state is event-sourced like the engine's: [`TwapEvent`]s join the group's log row, and [`Twaps::apply`] is
//! the only way the state changes, live and in replay. Time is the sequencer's (the command timestamp), never a
//! clock read here.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use sova_engine::{AccountId, MarketId, OrderId, Side};

/// Milliseconds between two slices.
pub const SLICE_MS: u64 = 30_000;
/// The longest TWAP (24 h), in minutes.
pub const MAX_MINUTES: u64 = 1440;
/// Running TWAP orders an account may have at once.
pub const MAX_ACTIVE_PER_ACCOUNT: usize = 10;
/// Ended TWAP orders kept per account (the oldest are forgotten first).
pub const ENDED_KEPT_PER_ACCOUNT: usize = 50;

/// Every change of the TWAP state, in the order it happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TwapEvent {
    /// A TWAP order was accepted; its first slice is due at once.
    Placed {
        /// Its id (the TWAP sequence, not the engine's order ids).
        id: u64,
        /// The account.
        account: AccountId,
        /// The market.
        market: MarketId,
        /// Side of every slice.
        side: Side,
        /// Whole size, in lots.
        quantity: u64,
        /// Duration.
        minutes: u64,
        /// Vary the slices' sizes.
        randomize: bool,
        /// Reduce-only (always false on spot).
        reduce_only: bool,
        /// Slices in all.
        slices: u32,
        /// Unix ms.
        ts: u64,
    },
    /// A slice was due and was sent (`order`: the child IOC order, `None` when there was nothing to send or the
    /// engine refused it).
    Slice {
        /// The TWAP.
        id: u64,
        /// 0-based index of the slice.
        index: u32,
        /// The child order.
        order: Option<OrderId>,
        /// Lots the child filled.
        filled: u64,
        /// Quote atoms the child filled.
        value: u64,
        /// Unix ms.
        ts: u64,
    },
    /// Its owner canceled it: no further slices.
    Canceled {
        /// The TWAP.
        id: u64,
        /// Unix ms.
        ts: u64,
    },
}

/// Where a TWAP order stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TwapState {
    /// Slices to come.
    Active,
    /// Every slice was sent.
    Finished,
    /// Canceled by its owner.
    Canceled,
}

/// A TWAP order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Twap {
    /// Its id.
    pub id: u64,
    /// The account.
    pub account: AccountId,
    /// The market.
    pub market: MarketId,
    /// Side.
    pub side: Side,
    /// Whole size, in lots.
    pub quantity: u64,
    /// Duration.
    pub minutes: u64,
    /// Vary the slices' sizes.
    pub randomize: bool,
    /// Reduce-only.
    pub reduce_only: bool,
    /// Slices in all.
    pub slices: u32,
    /// Slices sent.
    pub done: u32,
    /// Lots filled.
    pub filled: u64,
    /// Quote atoms filled.
    pub value: u64,
    /// Placed (Unix ms).
    pub created_at: u64,
    /// Last change (Unix ms).
    pub updated_at: u64,
    /// Where it stands.
    pub state: TwapState,
    /// Its children, in slice order.
    pub children: Vec<OrderId>,
}

impl Twap {
    /// When the next slice is due (for an ended TWAP: when it ended).
    pub fn next_at(&self) -> u64 {
        match self.state {
            TwapState::Active => self.created_at.saturating_add(u64::from(self.done).saturating_mul(SLICE_MS)),
            _ => self.updated_at,
        }
    }

    /// Is a slice due at `now`?
    pub fn due(&self, now: u64) -> bool {
        self.state == TwapState::Active && self.next_at() <= now
    }

    /// Lots the next slice sends: what remains over the slices left (all of it on the last slice), scaled by the
    /// randomize factor, never more than what remains.
    pub fn next_slice(&self) -> u64 {
        let remaining = self.quantity.saturating_sub(self.filled);
        let left = u64::from(self.slices.saturating_sub(self.done)).max(1);
        if left == 1 {
            return remaining;
        }
        let even = remaining / left;
        if !self.randomize || even == 0 {
            return even;
        }
        let pct = 80 + mix(self.id, self.done) % 41; // 80..=120
        let scaled = u128::from(even) * u128::from(pct) / 100;
        u64::try_from(scaled).unwrap_or(u64::MAX).clamp(1, remaining)
    }
}

/// A deterministic spread of `(id, index)` over u64 (the SplitMix64 finalizer; not for secrets: it only varies
/// slice sizes, and must give the same value in replay).
fn mix(id: u64, index: u32) -> u64 {
    let mut z = id.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(index).rotate_left(32);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The number of slices of a TWAP of `minutes`: one every [`SLICE_MS`], the first at once.
pub fn slices_for(minutes: u64) -> u32 {
    u32::try_from((minutes.saturating_mul(60_000) / SLICE_MS).max(1)).unwrap_or(u32::MAX)
}

/// Every TWAP order known (running, and the last ended ones per account).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Twaps {
    by_id: BTreeMap<u64, Twap>,
    by_account: HashMap<AccountId, Vec<u64>>,
    next_id: u64,
}

impl Twaps {
    /// The id the next TWAP gets.
    pub fn next_id(&self) -> u64 {
        self.next_id.max(1)
    }

    /// One TWAP.
    pub fn get(&self, id: u64) -> Option<&Twap> {
        self.by_id.get(&id)
    }

    /// An account's TWAPs, running first (oldest first), then ended ones (newest first).
    pub fn of_account(&self, account: AccountId) -> Vec<&Twap> {
        let ids = self.by_account.get(&account).map(Vec::as_slice).unwrap_or_default();
        let mut v: Vec<&Twap> = ids.iter().filter_map(|id| self.by_id.get(id)).collect();
        v.sort_by_key(|t| {
            (t.state != TwapState::Active, if t.state == TwapState::Active { t.id } else { u64::MAX - t.id })
        });
        v
    }

    /// Running TWAPs of an account.
    pub fn active_of(&self, account: AccountId) -> usize {
        self.of_account(account).iter().filter(|t| t.state == TwapState::Active).count()
    }

    /// Is any TWAP running (the sequencer then ticks)?
    pub fn has_active(&self) -> bool {
        self.by_id.values().any(|t| t.state == TwapState::Active)
    }

    /// The TWAPs with a slice due at `now`, in id order.
    pub fn due(&self, now: u64) -> Vec<u64> {
        self.by_id.values().filter(|t| t.due(now)).map(|t| t.id).collect()
    }

    /// Apply one event (live and in replay).
    pub fn apply(&mut self, ev: &TwapEvent) {
        match *ev {
            TwapEvent::Placed { id, account, market, side, quantity, minutes, randomize, reduce_only, slices, ts } => {
                self.next_id = self.next_id.max(id.saturating_add(1));
                self.by_id.insert(
                    id,
                    Twap {
                        id,
                        account,
                        market,
                        side,
                        quantity,
                        minutes,
                        randomize,
                        reduce_only,
                        slices,
                        done: 0,
                        filled: 0,
                        value: 0,
                        created_at: ts,
                        updated_at: ts,
                        state: TwapState::Active,
                        children: Vec::new(),
                    },
                );
                self.by_account.entry(account).or_default().push(id);
            }
            TwapEvent::Slice { id, index, order, filled, value, ts } => {
                let Some(t) = self.by_id.get_mut(&id) else { return };
                t.done = t.done.max(index.saturating_add(1));
                t.filled = t.filled.saturating_add(filled);
                t.value = t.value.saturating_add(value);
                t.updated_at = ts;
                t.children.extend(order);
                if t.done >= t.slices || t.filled >= t.quantity {
                    t.state = TwapState::Finished;
                    let account = t.account;
                    self.prune(account);
                }
            }
            TwapEvent::Canceled { id, ts } => {
                let Some(t) = self.by_id.get_mut(&id) else { return };
                t.state = TwapState::Canceled;
                t.updated_at = ts;
                let account = t.account;
                self.prune(account);
            }
        }
    }

    /// Forget the oldest ended TWAPs of an account past [`ENDED_KEPT_PER_ACCOUNT`].
    fn prune(&mut self, account: AccountId) {
        let Some(ids) = self.by_account.get_mut(&account) else { return };
        let ended: Vec<u64> =
            ids.iter().copied().filter(|id| self.by_id.get(id).is_some_and(|t| t.state != TwapState::Active)).collect();
        if ended.len() <= ENDED_KEPT_PER_ACCOUNT {
            return;
        }
        let drop: Vec<u64> = ended[..ended.len() - ENDED_KEPT_PER_ACCOUNT].to_vec();
        ids.retain(|id| !drop.contains(id));
        for id in drop {
            self.by_id.remove(&id);
        }
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    fn placed(id: u64, quantity: u64, minutes: u64, randomize: bool) -> TwapEvent {
        TwapEvent::Placed {
            id,
            account: 7,
            market: 1,
            side: Side::Buy,
            quantity,
            minutes,
            randomize,
            reduce_only: false,
            slices: slices_for(minutes),
            ts: 1_000,
        }
    }

    #[test]
    fn slices_split_what_remains_and_the_last_takes_the_rest() {
        let mut s = Twaps::default();
        s.apply(&placed(1, 100, 2, false)); // 4 slices
        let t = s.get(1).expect("placed");
        assert_eq!((t.slices, t.next_slice(), t.next_at()), (4, 25, 1_000));
        // A slice that found nothing leaves the remainder to the later ones.
        s.apply(&TwapEvent::Slice { id: 1, index: 0, order: Some(9), filled: 0, value: 0, ts: 1_000 });
        let t = s.get(1).expect("placed");
        assert_eq!((t.next_slice(), t.next_at()), (33, 1_000 + SLICE_MS));
        s.apply(&TwapEvent::Slice { id: 1, index: 1, order: Some(10), filled: 33, value: 330, ts: 31_000 });
        s.apply(&TwapEvent::Slice { id: 1, index: 2, order: Some(11), filled: 33, value: 330, ts: 61_000 });
        let t = s.get(1).expect("placed");
        assert_eq!(t.next_slice(), 34, "the last slice sends all that remains");
        s.apply(&TwapEvent::Slice { id: 1, index: 3, order: Some(12), filled: 34, value: 340, ts: 91_000 });
        let t = s.get(1).expect("placed");
        assert_eq!((t.state, t.filled, t.value, t.children.len()), (TwapState::Finished, 100, 1_000, 4));
        assert!(!s.has_active());
    }

    #[test]
    fn randomized_slices_stay_within_bounds_and_repeat() {
        let mut s = Twaps::default();
        s.apply(&placed(3, 1_000, 10, true));
        let a = s.get(3).expect("placed").next_slice();
        let even = 1_000 / 20;
        assert!((even * 8 / 10..=even * 12 / 10).contains(&a), "{a}");
        let mut again = Twaps::default();
        again.apply(&placed(3, 1_000, 10, true));
        assert_eq!(again.get(3).expect("placed").next_slice(), a);
    }

    #[test]
    fn ended_twaps_are_pruned_per_account() {
        let mut s = Twaps::default();
        for id in 1..=(ENDED_KEPT_PER_ACCOUNT as u64 + 5) {
            s.apply(&placed(id, 10, 1, false));
            s.apply(&TwapEvent::Canceled { id, ts: 2_000 });
        }
        s.apply(&placed(100, 10, 1, false));
        let v = s.of_account(7);
        assert_eq!(v.len(), ENDED_KEPT_PER_ACCOUNT + 1);
        assert_eq!(v[0].id, 100, "the running one first");
        assert_eq!(v[1].id, ENDED_KEPT_PER_ACCOUNT as u64 + 5, "then the newest ended");
        assert_eq!(s.next_id(), 101);
    }
}
