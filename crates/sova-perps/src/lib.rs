//! Sova's perpetual-futures engine (the perps half of seed 002): deterministic, single-threaded,
//! event-sourced, no I/O, no clock, no randomness. It follows `sova-engine`'s design so the exchange's sequencer
//! can drive both in one ordered stream.
//!
//! # Model
//!
//! One [`Perps`] holds perpetual markets, accounts (collateral in one quote coin, USDC), one-way positions per
//! (account, market), orders and one order book per market. It is driven by [`Command`]s ([`Perps::apply`] /
//! [`Perps::apply_into`]); each carries the sequencer's timestamp (Unix ms), the engine's only notion of time.
//! A command returns the [`Event`]s it caused (every state change, in order) and one [`ItemResult`] per item.
//! A rejected item changes nothing.
//!
//! Per command: first housekeeping (dead-man switches whose deadline is due, the hourly funding settlement of
//! markets whose `next_funding_time` has come, liquidation slices whose 30 s pause is over), then the action,
//! then the effects until quiet: stops whose trigger price has crossed fire, and every account touched by a
//! fill (or holding a position in a market whose mark moved or that settled funding) is checked for
//! liquidation.
//!
//! # Units (fixed point; no floats anywhere)
//!
//! * Prices are ticks and quantities lots, as spot ([`PerpMarketConfig::market`] is a spot-shaped
//!   [`sova_engine::MarketConfig`]; one tick x one lot is a whole number of quote atoms, `qptl`), so every
//!   notional `ticks x lots x qptl` is exact.
//! * Money (collateral, margins, PnL, fees, funding) is `i128` quote atoms (signed: PnL and a bankrupt account
//!   can be negative). Positions are signed lots (`> 0` long).
//! * Rates (funding, premium, interest) are integers in parts per billion; maintenance-margin rates and
//!   deductions are scaled by 10^12; mark-price EMAs are kept in micro-ticks (ticks x 10^6). Average prices in
//!   views are micro-ticks ([`PerpMarketSpec::format_price_e6`]).
//!
//! # Accounting and conservation
//!
//! * A position keeps `size` and `cost`, the signed entry notional of its open size. uPnL at price P is
//!   `size x P x qptl - cost`; the average entry price is `cost / (size x qptl)`.
//! * A fill that reduces a position by `c` of `|size|` lots removes `r = cost x c / |size|` (truncated toward
//!   zero; the remainder stays in the cost of what is left, and the last lot takes it all) and realises
//!   `sign x price x c x qptl - r` into collateral. A fill past zero closes the position (into the account's
//!   history) and opens a new one with the rest (a flip).
//! * Fees: `ceil(notional x ppm / 10^6)` (maker or taker rate), paid from collateral to the fee account
//!   ([`PerpsConfig::fee_account`]).
//! * Whatever the rounding, each fill changes `collateral - cost` of the buyer by `-price x qty x qptl` and of
//!   the seller by the opposite, so the engine's total value, `sum(collateral) + sum(isolated margin) -
//!   sum(cost)` (= all equity at any price, since longs and shorts net to zero), equals the net transfers in
//!   ([`Perps::total_collateral`] == [`Perps::supply`]), checked by [`Perps::check_invariants`]. Only
//!   [`Action::TransferIn`] / [`Action::TransferOut`] change it.
//!
//! # Margin (spec section 4)
//!
//! * Per (account, market): leverage 1..=max ([`Reject::LeverageOutOfRange`]) and a mode, CROSS (default) or
//!   ISOLATED; defaults `init_leverage`, CROSS. A mode change needs no position and no open order in the market
//!   ([`Reject::PositionOpen`]); lowering leverage with a position needs the new initial margin to fit (cross:
//!   available stays >= 0; isolated: margin >= new initial margin).
//! * A non-reduce-only order whose position would reach a margin tier with a lower leverage cap than the
//!   account's leverage is refused ([`Reject::LeverageOutOfRange`]), valued at its price (market orders: the
//!   mark, else the last trade).
//! * Initial margin = `ceil(|size| x mark x qptl / leverage)`. Maintenance margin =
//!   `ceil((notional x MMR - deduction) / 10^12)`, `MMR = ceil(10^12 / (2 x tier max leverage))`, deductions
//!   cumulative (`d(n) = d(n-1) + lower_bound(n) x (MMR(n) - MMR(n-1))`) ([`TierRow`]). Positions are valued at
//!   the mark; before a market's first mark, at its last trade (else its index).
//! * Cross equity = collateral + uPnL of cross positions; available = cross equity - cross initial margin -
//!   frozen. Isolated positions hold their own margin: an opening fill moves `ceil(notional / leverage)` from
//!   collateral into it; a reducing fill adds its realised PnL to the margin then returns the margin pro rata
//!   (all of it when the position closes, even if negative) to collateral. Funding of an isolated position is
//!   paid from / to its margin.
//! * [`Action::UpdateMargin`]: isolated only ([`Reject::NotIsolated`]); > 0 must fit available; < 0 must leave
//!   `margin >= max(initial margin, 10 % of notional)` ([`Reject::InsufficientMargin`]).
//! * [`Action::TransferOut`] (spec section 7): at most `cross equity - max(cross initial margin, 10 % of cross
//!   open notional) - frozen`, and never more than the collateral itself ([`Reject::InsufficientBalance`]).
//!
//! # Orders (spec section 3)
//!
//! * One-way mode: `positionSide` BOTH only ([`Reject::PositionSideUnsupported`]).
//! * NORMAL orders as spot: limit or market, GTC / IOC / FOK / GTX (rejected if it would take), market = IOC,
//!   price-time priority, fills at the maker's price, self-trade prevention by the taker's [`StpMode`], client
//!   ids unique among open orders, cancel, cancel-all, dead-man switch, at most `max_open_orders`.
//! * An opening order freezes `ceil(notional_open / leverage) + taker fee(notional)` (`marginFrozen`), where
//!   the notional is at its limit price (market: the worst price it could reach in the book now, the best bid
//!   for a sell) and `notional_open` counts only the part beyond what would reduce the position. It must fit
//!   available ([`Reject::InsufficientMargin`]). Fills release it pro rata; the close releases the rest.
//!   Reduce-only orders and untriggered stops freeze 0.
//! * Reduce-only: flat or same side -> [`Reject::ReduceOnlyWouldIncrease`]; quantity capped to the position at
//!   acceptance and each fill capped at match time (a resting reduce-only maker with nothing to reduce is
//!   cancelled); after every fill the account's resting reduce-only orders are cut to the position
//!   ([`Event::OrderReduced`]) or closed ([`CloseReason::ReduceOnly`]).
//! * STOP: `stop_price`, `stop_type`, `trigger` (LAST / MARK / INDEX). A sell stop (protecting a long) fires on
//!   STOP_LOSS when the price is <= the stop, on TAKE_PROFIT when >=; a buy stop the mirror. A stop that would
//!   fire at once is [`Reject::InvalidStop`]. It waits off the book ([`OrderStatus::Untriggered`]); fired, it
//!   becomes a normal order with the same id ([`OrderStatus::Triggered`]), margin checked then (else closed,
//!   [`CloseReason::InsufficientMargin`]).
//! * BRACKET ([`Action::BatchNew`] whose first item is BRACKET): the primary plus up to two ATTACHED_STOP items,
//!   one STOP_LOSS and one TAKE_PROFIT, on the other side, quantity <= the primary's, reduce-only; anything else
//!   is [`Reject::BracketMalformed`]. All or nothing. Attached stops arm pro rata as the primary fills (`armed
//!   = quantity x primary filled / primary quantity`, floor), fire only when armed, for the armed quantity; they
//!   die ([`CloseReason::BracketVoid`]) with a primary that closes unfilled, and are OCO: when one fires the
//!   other dies.
//! * Modify ([`Action::Modify`]): new price and/or total quantity of an open limit order, same id; keeps its
//!   priority only if the price is unchanged and the quantity does not rise, else it leaves the book and
//!   matches/rests again (a reduce-only order's quantity is capped to the position). Its frozen margin is
//!   recomputed and must fit (the old freeze counts as available). Replace ([`Action::Replace`]): atomic cancel +
//!   new order (new id, loses priority), the original's freeze counting as available.
//!
//! # Prices and funding (spec section 5)
//!
//! * Index: [`Action::SetIndex`] from the sequencer (spot book or feeds); [`Action::PinIndex`] pins it (sandbox).
//! * Mark, on [`Action::MarkTick`] unless pinned ([`Action::PinMark`]): `median(index + EMA150s(mid - index),
//!   B, EMA30s(B))`, `B = median(bid, ask, last)` (of those present: one -> it, two -> their mean). EMA step:
//!   `ema += (x - ema) x min(dt, tau) / tau`, truncated toward zero, seeded with the first value. Without an
//!   index the mid, then the last trade, stand in. The mark is rounded to the nearest tick.
//! * Premium ([`Action::SamplePremium`], every 5 s): `[max(impact bid - index, 0) - max(index - impact ask, 0)]
//!   / index` in ppb, impact prices being the average fill price of the impact notional (a side that cannot
//!   fill it contributes 0).
//! * Settlement, hourly on the hour (housekeeping) or now ([`Action::SettleFunding`]): `F8 = avg + clamp(I -
//!   avg, -0.05 %, 0.05 %)`, hourly rate `F8 / 8` clamped to the market's min/max (all in ppb, truncated).
//!   Every position pays `|size| x index x qptl x |rate| / 10^9` (longs pay when the rate is positive): payers
//!   round up, receivers down, and the insurance account receives the difference, so funding conserves exactly.
//!   One [`FundingRow`] per position.
//!
//! # Liquidation (spec section 6)
//!
//! * A scope is the cross account (collateral + cross uPnL vs. cross maintenance) or one isolated position
//!   (margin + uPnL vs. its maintenance). Below maintenance: [`Event::LiquidationStarted`], its open orders are
//!   cancelled, and while it lasts the account's orders, modifications, leverage, margin and transfers out are
//!   refused ([`Reject::AccountLiquidating`]).
//! * If equity < 0: ADL (below). Else if equity < 2/3 maintenance: backstop. Else step 1: a reduce-only IOC
//!   market order per position for its full size (for notional above `large_position_notional`: 20 %, rounded
//!   up, then a pause of `liquidation_slice_ms` before the next slice). After it: restored (equity >=
//!   maintenance) or flat -> ended (a flat account left with negative collateral has the deficit covered by the
//!   insurance account); the book could not absorb, or equity < 2/3 maintenance -> backstop (or ADL if < 0).
//! * Backstop ([`Event::TakenOver`]): each position of the scope closes at mark into the insurance account
//!   (`isTakenOver`, `takeOverPrice` on the closed position), then the scope's collateral (cross: all cross
//!   collateral; isolated: the position's margin + uPnL) moves to the insurance account. Maintenance margin is
//!   not returned.
//! * ADL ([`Event::Adl`]): each position of the scope closes at mark against opposite positions ranked by `uPnL /
//!   |entry notional| x leverage` (highest first, then account id); the scope's deficit (-equity) is then
//!   charged to those counterparties pro rata to the lots closed (floor; the highest account id takes the
//!   remainder). An
//!   account with no position never pays.
//! * Which scopes a mark move can reach is answered by a derived index (kept by [`Perps::apply_event`], so
//!   replay rebuilds it; not part of the snapshot): for each scope holding one position a conservative trigger
//!   price (maintenance never exceeds `notional x` the market's largest tier rate), in a `BTreeSet` per market
//!   and side; accounts with several cross positions are always checked. So a mark tick costs O(log n + scopes
//!   it reaches), not a scan of every position. Accounts touched by a fill, a transfer, a margin move or an ADL
//!   charge are checked exactly after every command.
//! * The insurance and fee accounts are never liquidated; the insurance account may go negative (it covers
//!   deficits) — that is the operator's loss, visible in its state.
//! * Liquidation price shown ([`PositionView::liquidation_price_e6`]): spec 6's `entry - side x margin / size /
//!   (1 - MMR x side)`, evaluated from the current mark so it is exact for a lone position in its scope:
//!   `(|size| x mark x qptl - side x equity) / (|size| x qptl x (1 - side x MMR))`, equity = the scope's (at
//!   mark = entry that is the spec's form with margin = collateral or isolated margin); tier deductions and the
//!   other cross positions' moves are ignored.
//!
//! # Queries
//!
//! Markets ([`Perps::market`], tiers in [`PerpMarketSpec::tiers`]) and their prices and funding
//! ([`Perps::market_view`]: mark, index, last, predicted funding rate, next funding time, open interest); best
//! bid/ask and depth; recent trades; an account's margin state ([`Perps::account_state`]: equity, available,
//! withdrawable, initial / maintenance margin, frozen); positions, open and closed ([`Perps::positions`],
//! [`Perps::position_history`]); open orders, an order by id (open or in the closed window), recent closed
//! orders; funding rows ([`Perps::fundings`]); leverage and mode per market. Money in views is quote atoms,
//! prices ticks (averages in micro-ticks), quantities lots: the API layer formats them with
//! [`PerpMarketSpec::spec`] ([`sova_engine::MarketSpec`]).
//!
//! # Speed
//!
//! `benches/perps.rs` (one thread, the shared 2-vCPU development machine), in M commands per CPU-second (the
//! thread's CPU time, so the figure holds while other builds run; median of 9 runs, each several copies of the
//! stream long), before -> after issue 13's work, measured side by side:
//!
//! * Mixed stream with spot's op mix (~1,000 resting orders from 100 accounts, then 200,000 commands: 80 %
//!   replace, 9 % new GTC, 4 % IOC, 7 % cancel; every order margin-checked and freezing margin): 0.37-0.42 M ->
//!   1.92-2.11 M (2 M or more in 4 of 7 runs: at issue 13's target of 2 M, not clearly over it). Spot's engine:
//!   4.55 M on the same mix.
//! * Order + fill (a resting 1-lot order and a market order taking it: every second command trades, opening and
//!   closing positions, paying fees, re-indexing both accounts and checking them for liquidation): 1.48-1.65 M ->
//!   2.22-2.46 M.
//! * A mark move with 100,000 open positions that liquidates nobody: ~0.2 us (the trigger-price index); a funding
//!   settlement of 100,000 positions: ~0.1 s (one row and one index update per position). Wall clock, noisy;
//!   not changed by issue 13.
//!
//! What made the difference: open orders and accounts in hash tables with a fixed hasher (looked up by id; no
//! output depends on their order); derived indexes of client ids and of resting reduce-only orders (no scan of an account's
//! orders); an account's open order ids in a sorted vector; a book side as a B-tree of price levels, each a
//! vector in time priority; the margin check looking up the position, leverage and market once and computing
//! only the available margin; reused work lists; the liquidation index touched only where an entry changed.
//! Events, snapshots and digests are unchanged.
//!
//! # Determinism and event sourcing
//!
//! No clock, no randomness, no I/O. State is in `BTreeMap`s / `Vec`s, except the open orders and the accounts:
//! hash tables with a fixed (seedless) hasher, looked up by id; what iterates them either sorts by id first (the
//! snapshot and so the digest, the account list, the invariant check) or only sums or collects into ordered sets,
//! so no output depends on hash order. Every state change is an [`Event`] applied by [`Perps::apply_event`], the same code for the live path and for
//! [`Perps::replay`]; [`Perps::snapshot`] is the canonical state and [`Perps::digest`] its FNV-1a hash (the
//! hasher of `sova-engine`). Commands and events are serde types (the sequencer logs them as JSON).

mod engine;
mod events;
mod state;
mod types;
mod views;

pub use events::{Ack, Action, Command, Event, ItemResult, ModifyItem, NewOrder, OrderAccepted, Output, Trade};
pub use sova_engine::{
    AccountId, CancelItem, ClOrdId, MarketConfig, MarketId, OrderId, OrderRef, OrderType, ReplaceItem, Side, StpMode,
    TimeInForce,
};
pub use state::{FundingRow, Perps, ReplayError};
pub use types::{
    CloseReason, E12, FundingParams, MAX_PRICE, MAX_QUANTITY, MICRO, MarginMode, MarginTier, Modifier, OrderStatus,
    PPB, PerpMarketConfig, PerpMarketSpec, PerpsConfig, PositionId, PositionSide, Reject, StopSpec, StopType, TierRow,
    TriggerType,
};
pub use views::{AccountState, Bbo, Depth, MarketView, OrderView, PositionView, Snapshot};
