//! Sova's spot matching engine (the exchange surface of seed 002): deterministic, single-threaded, event-sourced,
//! no I/O, no clock, no randomness.
//!
//! # Model
//!
//! One [`Engine`] holds coins, markets, accounts and their balances, and one order book per market. It is driven
//! by [`Command`]s ([`Engine::apply`] / [`Engine::apply_into`]) from a single sequencer; each command carries the
//! sequencer's timestamp (Unix ms), which is the engine's only notion of time. A command returns the [`Event`]s
//! it caused (every state change, in order) and one [`ItemResult`] per item (batch items are independent: a
//! rejected item changes nothing and does not stop the others).
//!
//! # Units (fixed point)
//!
//! * Balances are `u64` **atoms** of a coin: one coin is `10^decimals` atoms ([`CoinConfig`]). A coin's total in
//!   the engine never exceeds `u64::MAX` atoms (deposits past it are rejected), so no balance can overflow.
//! * An order's price is a whole number of **ticks** and its quantity a whole number of **lots**
//!   ([`MarketConfig`]): one tick is `tick_size / 10^price_decimals` quote per whole base coin, one lot is
//!   `lot_size` base atoms, and a market is only accepted if one tick x one lot is a whole number of quote atoms
//!   (`quote_per_tick_lot`). Every notional (`ticks x lots x quote_per_tick_lot`) is therefore exact; the only
//!   rounding in the engine is fees. [`MarketSpec`] converts decimal strings to and from ticks, lots and atoms.
//! * `funds` (market buys) and `min_notional` are quote atoms; fee rates are parts per million. The minimum
//!   notional applies to limit orders (price x quantity) and to `funds`; a market order given by quantity alone
//!   is not checked against it (its price is not known in advance).
//!
//! # Locking and fees
//!
//! * A limit buy locks `price x quantity` quote; a sell (limit or market) locks `quantity` base. A market buy
//!   locks its `funds`, or, given only a quantity, all of the account's available quote while it matches. The
//!   lock is taken when the order is accepted and must fit the **available** balance, else the order is rejected
//!   ([`Reject::InsufficientBalance`]) and nothing changes.
//! * Fills happen at the resting (maker) order's price. A buyer whose limit is above the fill price gets the
//!   difference unlocked at once, so a resting buy always locks exactly `price x remaining`.
//! * Fees are charged in the coin received: the buyer pays `ceil(base x rate)` in base, the seller
//!   `ceil(quote x rate)` in quote, with the maker or taker rate of the market. Fees are credited to the fee
//!   account ([`EngineConfig::fee_account`]). So no worst-case fee has to be locked up front.
//! * Cancels, expiry and the end of a taker release what the order still locks.
//! * Balances never go negative and are conserved: for every coin, the sum of `available + locked` over all
//!   accounts (the fee account included) equals deposits minus withdrawals ([`Engine::total_supply`]).
//!
//! # Orders
//!
//! * Price-time priority: the best price first, then the oldest order at that price.
//! * Time in force: GTC (rests), IOC (the rest expires), FOK (fills completely at once or expires with nothing
//!   filled), GTX post-only (rejected with [`Reject::PostOnlyWouldTake`] if it would take any liquidity, so it never
//!   fills as a taker; the vendor's warning that its GTX may partly fill first is not reproduced). Market orders
//!   never rest: IOC, FOK (with a quantity), or GTC treated as IOC; a market buy may give `funds`, a quantity, or
//!   both (it stops at whichever runs out first).
//! * Client order ids (`clOrdID`) are unique among an account's open orders; orders may be cancelled by id or by
//!   client id; [`Action::CancelAll`] cancels an account's open orders in one market or all.
//! * Replace ([`ReplaceItem`], the vendor's `replaceOrder`) is an atomic cancel + new: the replacement takes the
//!   original's side, time in force and STP mode, the given price and quantity (defaults: the original's price
//!   and unfilled quantity), gets a **new order id and loses time priority**, and may match at once. If the new
//!   order would be rejected (balance, post-only, ...) the original stays untouched. The original's lock counts as
//!   available for the replacement.
//! * Dead-man switch ([`Action::ScheduleCancel`], `scheduleCancel`): per account, one deadline (a new one moves it,
//!   `None` clears it). Before executing any command whose timestamp is at or past a deadline, the engine fires
//!   the switch (clearing it) and cancels all the account's open orders. [`Action::Tick`] advances time alone.
//! * Self-trade prevention ([`StpMode`], the taker's mode decides; default `CancelMaker`): cancel the resting order
//!   and go on, cancel the rest of the taker, or both. Own orders never trade with each other.
//! * At most [`EngineConfig::max_open_orders`] open orders per account (1000 by default, the vendor's limit).
//! * Ids: orders and trades are numbered 1, 2, 3, ... engine-wide; a rejected order gets no id (an unfillable FOK
//!   is accepted, then expires, so it has one).
//!
//! # Time
//!
//! Each command's `ts` is used as given: order and trade times, and the dead-man switch check (`ts >= deadline`).
//! The sequencer should hand out non-decreasing timestamps; the engine keeps no clock of its own, so a replayed
//! log needs none either.
//!
//! # Queries
//!
//! Best bid/ask, aggregated depth, balances, open orders (per account, in acceptance order), order status by id
//! (open orders, and closed ones within a window of the last [`EngineConfig::closed_orders`] ids; the full history
//! belongs to whoever stores the events), open orders by client id, recent trades per market, markets and coins
//! with their fixed-point conversions.
//!
//! # Determinism and event sourcing
//!
//! * The engine uses no clock, no randomness and no I/O; hash tables are only looked up, never iterated into
//!   outputs or state (ordered state lives in `BTreeMap`s, linked lists and vectors). The same commands from the
//!   same state give the same events and results, byte for byte.
//! * Every state change is an [`Event`], applied by one code path shared by the live engine and the replay: the
//!   engine builds each event, applies it with [`Engine::apply_event`]'s logic, then emits it. Hence
//!   [`Engine::replay`] of the emitted events (with the same [`EngineConfig`]) rebuilds the same state, as does
//!   re-applying the command log. Rejected items emit no event (they change nothing).
//! * [`Engine::snapshot`] is the canonical logical state (independent of internal slots); [`Engine::digest`]
//!   hashes it. [`Engine::check_invariants`] verifies conservation, locks, books and indexes.
//!
//! # Speed
//!
//! Orders live in a slab; price levels are intrusive FIFO lists in a `BTreeMap` by price; client ids are stored
//! inline; [`Engine::apply_into`] reuses the caller's output buffers, so steady-state commands do not allocate.
//! See `benches/engine.rs`.

mod accounts;
mod book;
mod engine;
mod events;
mod hash;
mod types;

/// The stable state-digest hasher (64-bit FNV-1a), shared with `sova-perps`.
pub use hash::Fnv64;

pub use engine::{Bbo, BookSnapshot, Depth, Engine, EngineConfig, LevelView, OrderView, ReplayError, Snapshot};
pub use events::{
    Ack, Action, CancelItem, Command, Event, ItemResult, NewOrder, OrderAccepted, OrderClosed, OrderRef, Output,
    ReplaceItem, Trade,
};
pub use types::{
    AccountId, Balance, ClOrdId, CloseReason, CoinConfig, CoinId, MarketConfig, MarketId, MarketSpec, OrderId,
    OrderStatus, OrderType, PPM, Reject, Side, StpMode, TimeInForce, TradeId, fee_of, format_decimal, parse_decimal,
};
