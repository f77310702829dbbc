//! Scenario tests with hand-computed numbers (see `common` for the market: 1 tick x 1 lot = 1 000 atoms).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use sova_perps::*;

const SL: StopType = StopType::StopLoss;
const TP: StopType = StopType::TakeProfit;

fn stop(price: u64, stop_type: StopType, trigger: TriggerType) -> StopSpec {
    StopSpec { stop_price: price, stop_type, trigger }
}

#[test]
fn open_add_reduce_flip() {
    let mut w = World::new();
    w.fund(A, 10_000);
    w.fund(B, 10_000);
    // Open: 100 lots at 50 000 = 5 000 USDC; taker fee 0.05 % = 2.5 USDC, maker 0.02 % = 1 USDC.
    open_long(&mut w, A, B, 50_000, 100);
    let p = w.p.position(A, BTC).unwrap();
    assert_eq!((p.size, p.entry_notional, p.avg_entry_price_e6), (100, 5_000_000_000, 50_000_000_000));
    assert_eq!(p.cum_trading_fee, 2_500_000);
    assert_eq!(w.collateral(A), 10_000 * USDC as i128 - 2_500_000);
    assert_eq!(w.collateral(B), 10_000 * USDC as i128 - 1_000_000);
    assert_eq!(w.collateral(FEE), 3_500_000);
    assert_eq!(w.size(B), -100);
    // Add: 100 more at 52 000 -> 200 lots, cost 10 200 USDC, average 51 000.
    w.limit(B, Side::Sell, 52_000, 100);
    w.limit(A, Side::Buy, 52_000, 100);
    let p = w.p.position(A, BTC).unwrap();
    assert_eq!((p.size, p.entry_notional, p.avg_entry_price_e6), (200, 10_200_000_000, 51_000_000_000));
    assert_eq!(p.max_size, 200);
    // Reduce: sell 50 at 53 000: realised (53 000 - 51 000) x 0.05 BTC = 100 USDC; fee 1.325 USDC.
    w.limit(B, Side::Buy, 53_000, 50);
    w.market(A, Side::Sell, 50);
    let p = w.p.position(A, BTC).unwrap();
    assert_eq!((p.size, p.entry_notional, p.realized_pnl), (150, 7_650_000_000, 100_000_000));
    assert_eq!((p.cum_closed_size, p.avg_close_price_e6), (50, 53_000_000_000));
    // Flip: sell 250 at 50 000: closes 150 (realised -150 USDC), opens a short of 100 at 50 000.
    w.limit(B, Side::Buy, 50_000, 250);
    w.market(A, Side::Sell, 250);
    let p = w.p.position(A, BTC).unwrap();
    assert_eq!((p.size, p.entry_notional, p.realized_pnl), (-100, -5_000_000_000, 0));
    let h = w.p.position_history(A);
    assert_eq!(h.len(), 1);
    assert!(!h[0].active);
    assert_eq!((h[0].realized_pnl, h[0].cum_closed_size, h[0].max_size), (-50_000_000, 200, 200));
    assert_ne!(h[0].id, p.id);
    // Fees: 2.5 + 2.6 + 1.325 + 6.25 USDC; PnL -50 USDC.
    assert_eq!(w.collateral(A), 10_000_000_000 - 50_000_000 - 12_675_000);
    assert_eq!(w.size(B), 100);
    assert_eq!(w.p.market_view(BTC).unwrap().open_interest, 100);
    w.check_replay();
}

#[test]
fn cross_versus_isolated() {
    let mut w = World::new();
    w.fund(A, 1_000);
    w.fund(C, 1_000);
    w.fund(B, 100_000);
    w.ok(Action::UpdateLeverage { account: A, market: BTC, leverage: 10, mode: MarginMode::Isolated });
    open_long(&mut w, A, B, 50_000, 100);
    open_long(&mut w, C, B, 50_000, 100);
    // Isolated: 500 USDC of initial margin moved into the position; fee 2.5.
    let pa = w.p.position(A, BTC).unwrap();
    assert_eq!((pa.margin_mode, pa.margin), (MarginMode::Isolated, 500_000_000));
    assert_eq!(w.collateral(A), 497_500_000);
    assert_eq!(w.collateral(C), 997_500_000);
    w.pin_mark(48_000);
    // A: the loss stays in the position: margin 500 + uPnL -200 = 300; cross equity untouched.
    let sa = w.p.account_state(A).unwrap();
    assert_eq!((sa.cross_equity, sa.equity, sa.unrealized_pnl), (497_500_000, 797_500_000, -200_000_000));
    assert_eq!(sa.available, 497_500_000);
    // C (cross): equity 997.5 - 200 = 797.5; initial margin 4 800 / 10 = 480; available 317.5.
    let sc = w.p.account_state(C).unwrap();
    assert_eq!((sc.cross_equity, sc.cross_initial_margin, sc.available), (797_500_000, 480_000_000, 317_500_000));
    // MM = 4 800 x 1.25 % = 60.
    assert_eq!(sc.maintenance_margin, 60_000_000);
    // Leverage and margin rules.
    let lev = |l, mode| Action::UpdateLeverage { account: A, market: BTC, leverage: l, mode };
    assert_eq!(w.err(lev(10, MarginMode::Cross)), Reject::PositionOpen);
    assert_eq!(w.err(lev(41, MarginMode::Isolated)), Reject::LeverageOutOfRange);
    assert_eq!(w.err(lev(0, MarginMode::Isolated)), Reject::LeverageOutOfRange);
    // Lowering to 5x needs 960 of margin; the position has 500.
    assert_eq!(w.err(lev(5, MarginMode::Isolated)), Reject::InsufficientMargin);
    w.ok(lev(20, MarginMode::Isolated));
    let margin = |amount| Action::UpdateMargin { account: A, market: BTC, amount };
    w.ok(margin(100_000_000));
    assert_eq!(w.p.position(A, BTC).unwrap().margin, 600_000_000);
    // Removal floor: max(initial 4 800 / 20 = 240, 10 % of 4 800 = 480) = 480.
    assert_eq!(w.err(margin(-120_000_001)), Reject::InsufficientMargin);
    w.ok(margin(-120_000_000));
    assert_eq!(w.p.position(A, BTC).unwrap().margin, 480_000_000);
    assert_eq!(w.err(Action::UpdateMargin { account: C, market: BTC, amount: 1 }), Reject::NotIsolated);
    assert_eq!(w.err(Action::UpdateMargin { account: D, market: BTC, amount: 1 }), Reject::NoPosition);
    assert_eq!(
        w.err(Action::UpdateLeverage { account: C, market: BTC, leverage: 10, mode: MarginMode::Isolated }),
        Reject::PositionOpen
    );
    // Closing the isolated position returns margin + realised PnL: sell 100 at 48 000 (-200), fee 2.4.
    w.limit(B, Side::Buy, 48_000, 100);
    w.market(A, Side::Sell, 100);
    assert_eq!(w.size(A), 0);
    assert_eq!(w.collateral(A), 1_000_000_000 - 2_500_000 - 200_000_000 - 2_400_000);
    // A mode change is allowed once flat and without orders.
    w.ok(lev(10, MarginMode::Cross));
    w.check_replay();
}

#[test]
fn margin_freezing_and_withdrawable() {
    let mut w = World::new();
    w.fund(A, 1_000);
    w.fund(B, 100_000);
    open_long(&mut w, A, B, 50_000, 100);
    w.pin_mark(50_000);
    // Equity 997.5; max(IM 500, 10 % of 5 000) = 500 -> 497.5 withdrawable.
    assert_eq!(w.p.account_state(A).unwrap().withdrawable, 497_500_000);
    // A buy of 10 lots at 40 000 freezes 400 / 10 + 0.2 fee = 40.2 USDC.
    let id = w.limit(A, Side::Buy, 40_000, 10);
    assert_eq!(w.p.order(id).unwrap().margin_frozen, 40_200_000);
    let s = w.p.account_state(A).unwrap();
    assert_eq!((s.frozen, s.withdrawable, s.available), (40_200_000, 457_300_000, 457_300_000));
    assert_eq!(w.err(Action::TransferOut { account: A, amount: 457_300_001 }), Reject::InsufficientBalance);
    w.ok(Action::TransferOut { account: A, amount: 457_300_000 });
    assert_eq!(w.p.supply(), 101_000 * USDC as i128 - 457_300_000);
    // Nothing left for a new opening order.
    assert_eq!(
        w.err(Action::NewOrder { account: A, order: NewOrder::limit(BTC, Side::Buy, 40_000, 1) }),
        Reject::InsufficientMargin
    );
    // A sell of 100 reduces only: it freezes the fee alone (5 000 x 0.05 % = 2.5 > available 0) -> refused;
    // as reduce-only it freezes nothing.
    let ro = w.order(A, NewOrder::limit(BTC, Side::Sell, 50_000, 100).reduce_only());
    assert_eq!(w.p.order(World::id(&ro)).unwrap().margin_frozen, 0);
    // Cancel releases the freeze.
    w.ok(Action::Cancel { account: A, cancel: CancelItem { market: BTC, target: OrderRef::Id(id) } });
    assert_eq!(w.p.account_state(A).unwrap().frozen, 0);
    w.check_replay();
}

#[test]
fn reduce_only_rules() {
    let mut w = World::new();
    w.fund(A, 10_000);
    w.fund(B, 100_000);
    let ro = |side, price, lots| NewOrder::limit(BTC, side, price, lots).reduce_only();
    // Flat: nothing to reduce.
    assert_eq!(
        w.err(Action::NewOrder { account: A, order: ro(Side::Sell, 60_000, 1) }),
        Reject::ReduceOnlyWouldIncrease
    );
    open_long(&mut w, A, B, 50_000, 100);
    // Same side as the position.
    assert_eq!(
        w.err(Action::NewOrder { account: A, order: ro(Side::Buy, 40_000, 1) }),
        Reject::ReduceOnlyWouldIncrease
    );
    // Capped to the position: 150 -> 100.
    let id = World::id(&w.order(A, ro(Side::Sell, 60_000, 150)));
    assert_eq!(w.p.order(id).unwrap().quantity, 100);
    // The position shrinks by 30 (a normal sell): the resting reduce-only order is cut to 70.
    w.limit(B, Side::Buy, 49_000, 30);
    w.market(A, Side::Sell, 30);
    assert_eq!(w.size(A), 70);
    assert_eq!(w.p.order(id).unwrap().quantity, 70);
    // A reduce-only taker is capped at match time: sells 70 of its 80 into a bid of 100.
    w.ok(Action::Cancel { account: A, cancel: CancelItem { market: BTC, target: OrderRef::Id(id) } });
    w.limit(B, Side::Buy, 49_000, 100);
    let out = w.order(A, NewOrder::market(BTC, Side::Sell, 80).reduce_only());
    let o = w.p.order(World::id(&out)).unwrap();
    assert_eq!((o.quantity, o.filled, o.status), (70, 70, OrderStatus::Filled));
    assert_eq!(w.size(A), 0);
    // Resting reduce-only orders die when the position is gone.
    open_long(&mut w, A, B, 50_000, 10);
    let id = World::id(&w.order(A, ro(Side::Sell, 60_000, 10)));
    w.limit(B, Side::Buy, 49_000, 10);
    w.market(A, Side::Sell, 10);
    assert_eq!(w.p.order(id).unwrap().status, OrderStatus::Canceled);
    w.check_replay();
}

#[test]
fn order_rejections() {
    let mut w = World::new();
    w.fund(A, 10_000);
    let new = |o| Action::NewOrder { account: A, order: o };
    let l = NewOrder::limit(BTC, Side::Buy, 50_000, 1);
    assert_eq!(w.err(new(NewOrder { position_side: PositionSide::Long, ..l })), Reject::PositionSideUnsupported);
    assert_eq!(w.err(new(NewOrder { quantity: 0, ..l })), Reject::InvalidQuantity);
    assert_eq!(w.err(new(NewOrder { price: None, ..l })), Reject::InvalidPrice);
    assert_eq!(w.err(new(NewOrder { market: 9, ..l })), Reject::UnknownMarket);
    assert_eq!(w.err(new(l.stop(stop(0, SL, TriggerType::Mark)))), Reject::InvalidStop);
    assert_eq!(w.err(new(NewOrder { stop: Some(stop(1, SL, TriggerType::Mark)), ..l })), Reject::InvalidStop);
    assert_eq!(w.err(new(l.bracket())), Reject::BracketMalformed);
    assert_eq!(w.err(Action::NewOrder { account: 77, order: l }), Reject::UnknownAccount);
    // GTX that would take.
    w.fund(B, 10_000);
    w.limit(B, Side::Sell, 50_000, 1);
    assert_eq!(w.err(new(l.tif(TimeInForce::Gtx))), Reject::PostOnlyWouldTake);
}

#[test]
fn stops_on_last_mark_and_index() {
    let mut w = World::new();
    w.fund(A, 10_000);
    w.fund(B, 100_000);
    w.fund(C, 100_000);
    open_long(&mut w, A, B, 50_000, 100);
    w.pin_mark(50_000);
    w.ok(Action::SetIndex { market: BTC, price: 50_000 });
    // MARK stop-loss at 49 000 (sell, market, reduce-only).
    let sl = World::id(
        &w.order(A, NewOrder::market(BTC, Side::Sell, 30).reduce_only().stop(stop(49_000, SL, TriggerType::Mark))),
    );
    assert_eq!(w.p.order(sl).unwrap().status, OrderStatus::Untriggered);
    // Already through: invalid.
    assert_eq!(
        w.err(Action::NewOrder {
            account: A,
            order: NewOrder::market(BTC, Side::Sell, 1).reduce_only().stop(stop(51_000, SL, TriggerType::Mark))
        }),
        Reject::InvalidStop
    );
    let bid = w.limit(B, Side::Buy, 48_900, 200);
    w.pin_mark(49_500);
    assert_eq!(w.p.order(sl).unwrap().status, OrderStatus::Untriggered);
    w.pin_mark(49_000);
    let o = w.p.order(sl).unwrap();
    assert_eq!((o.status, o.filled), (OrderStatus::Filled, 30));
    assert_eq!(w.size(A), 70);
    // INDEX take-profit at 55 000 (sell 20).
    let tp = World::id(
        &w.order(A, NewOrder::market(BTC, Side::Sell, 20).reduce_only().stop(stop(55_000, TP, TriggerType::Index))),
    );
    w.ok(Action::SetIndex { market: BTC, price: 54_999 });
    assert_eq!(w.p.order(tp).unwrap().status, OrderStatus::Untriggered);
    w.ok(Action::SetIndex { market: BTC, price: 55_000 });
    assert_eq!(w.p.order(tp).unwrap().filled, 20);
    assert_eq!(w.size(A), 50);
    // LAST stop-loss at 48 000 (sell 10 at limit 47 000): fires on a trade between B and C at 48 000.
    let ls = World::id(&w.order(
        A,
        NewOrder::limit(BTC, Side::Sell, 47_000, 10).reduce_only().stop(stop(48_000, SL, TriggerType::Last)),
    ));
    w.ok(Action::Cancel { account: B, cancel: CancelItem { market: BTC, target: OrderRef::Id(bid) } });
    w.limit(B, Side::Buy, 47_500, 10);
    w.limit(C, Side::Sell, 48_000, 5);
    assert_eq!(w.p.order(ls).unwrap().status, OrderStatus::Untriggered);
    w.market(B, Side::Buy, 5);
    let o = w.p.order(ls).unwrap();
    assert_eq!((o.status, o.filled, o.executed_value), (OrderStatus::Filled, 10, 475_000_000));
    assert_eq!(w.size(A), 40);
    w.check_replay();
}

#[test]
fn bracket_arms_pro_rata_and_is_oco() {
    let mut w = World::new();
    w.fund(A, 10_000);
    w.fund(B, 100_000);
    w.fund(C, 100_000);
    w.pin_mark(50_000);
    let primary = NewOrder::limit(BTC, Side::Buy, 50_000, 100).bracket();
    let slo = NewOrder::market(BTC, Side::Sell, 100).attached(stop(45_000, SL, TriggerType::Mark));
    let tpo = NewOrder::market(BTC, Side::Sell, 100).attached(stop(55_000, TP, TriggerType::Mark));
    // Malformed: two stop-losses; a same-side child.
    let bad = Action::BatchNew { account: A, orders: vec![primary, slo, slo] };
    assert_eq!(w.err(bad), Reject::BracketMalformed);
    let bad = Action::BatchNew { account: A, orders: vec![primary, NewOrder { side: Side::Buy, ..tpo }] };
    assert_eq!(w.err(bad), Reject::BracketMalformed);
    let out = w.ok(Action::BatchNew { account: A, orders: vec![primary, slo, tpo] });
    let ids: Vec<OrderId> = out.results.iter().map(|r| r.as_ref().unwrap().order_id.unwrap()).collect();
    let p = w.p.order(ids[0]).unwrap();
    assert_eq!(p.attached_order_ids, vec![ids[1], ids[2]]);
    assert_eq!(w.p.order(ids[1]).unwrap().primary_order_id, Some(ids[0]));
    assert_eq!(w.p.order(ids[1]).unwrap().armed, 0);
    // The mark crosses the TP while nothing is armed: nothing fires.
    w.pin_mark(56_000);
    assert_eq!(w.p.order(ids[2]).unwrap().status, OrderStatus::Untriggered);
    w.pin_mark(50_000);
    // 40 of the primary fill: both children arm 40.
    w.market(B, Side::Sell, 40);
    assert_eq!(w.p.order(ids[1]).unwrap().armed, 40);
    assert_eq!(w.p.order(ids[2]).unwrap().armed, 40);
    // The primary is cancelled partly filled: the children stay, armed 40.
    w.ok(Action::Cancel { account: A, cancel: CancelItem { market: BTC, target: OrderRef::Id(ids[0]) } });
    assert_eq!(w.p.order(ids[1]).unwrap().status, OrderStatus::Untriggered);
    // TP fires for 40 into C's bid; the SL dies (OCO).
    w.limit(C, Side::Buy, 55_000, 100);
    w.pin_mark(55_000);
    let tp = w.p.order(ids[2]).unwrap();
    assert_eq!((tp.status, tp.quantity, tp.filled), (OrderStatus::Filled, 40, 40));
    assert_eq!(w.p.order(ids[1]).unwrap().status, OrderStatus::Canceled);
    assert_eq!(w.size(A), 0);
    // A bracket whose primary dies unfilled takes its children with it.
    let small = NewOrder { quantity: 10, ..slo };
    let out = w.ok(Action::BatchNew {
        account: A,
        orders: vec![NewOrder::limit(BTC, Side::Buy, 40_000, 10).bracket(), small],
    });
    let ids: Vec<OrderId> = out.results.iter().map(|r| r.as_ref().unwrap().order_id.unwrap()).collect();
    w.ok(Action::Cancel { account: A, cancel: CancelItem { market: BTC, target: OrderRef::Id(ids[0]) } });
    assert_eq!(w.p.order(ids[1]).unwrap().status, OrderStatus::Canceled);
    assert!(w.p.open_orders(A, None).is_empty());
    w.check_replay();
}

#[test]
fn funding_sign_and_amount() {
    let mut w = World::new();
    w.fund(A, 10_000);
    w.fund(B, 10_000);
    open_long(&mut w, A, B, 50_000, 100);
    w.ok(Action::SetIndex { market: BTC, price: 50_000 });
    // No samples: F8 = 0 + clamp(0.01 %) -> hourly 0.00125 % = 12 500 ppb; 5 000 USDC x that = 0.0625 USDC.
    assert_eq!(w.p.market_view(BTC).unwrap().funding_rate_ppb, 12_500);
    let (ca, cb) = (w.collateral(A), w.collateral(B));
    w.ok(Action::SettleFunding { market: Some(BTC) });
    assert_eq!(w.collateral(A), ca - 62_500);
    assert_eq!(w.collateral(B), cb + 62_500);
    let fa = w.p.fundings(A);
    assert_eq!((fa.len(), fa[0].fee, fa[0].rate_ppb), (1, 62_500, 12_500));
    assert_eq!(w.p.fundings(B)[0].fee, -62_500);
    // A premium: impact bid 50 100, impact ask 50 200 around an index of 50 000 -> 0.2 % = 2 000 000 ppb.
    // F8 = 0.2 % + clamp(0.01 % - 0.2 %, +-0.05 %) = 0.15 %; hourly 0.01875 % = 187 500 ppb -> 0.9375 USDC.
    w.fund(C, 1_000_000);
    w.limit(C, Side::Buy, 50_100, 500);
    w.limit(C, Side::Sell, 50_200, 500);
    w.ok(Action::SamplePremium { market: Some(BTC) });
    assert_eq!(w.p.market_view(BTC).unwrap().funding_rate_ppb, 187_500);
    let (ca, cb) = (w.collateral(A), w.collateral(B));
    w.ok(Action::SettleFunding { market: None });
    assert_eq!(w.collateral(A), ca - 937_500);
    assert_eq!(w.collateral(B), cb + 937_500);
    // Negative premium: shorts pay. Bids 49 800, asks 49 900: premium -0.2 % -> F8 = -0.15 %, hourly -187 500.
    w.ok(Action::CancelAll { account: C, market: None });
    w.limit(C, Side::Buy, 49_800, 500);
    w.limit(C, Side::Sell, 49_900, 500);
    w.ok(Action::SamplePremium { market: Some(BTC) });
    let (ca, cb) = (w.collateral(A), w.collateral(B));
    w.ok(Action::SettleFunding { market: Some(BTC) });
    assert_eq!(w.collateral(A), ca + 937_500);
    assert_eq!(w.collateral(B), cb - 937_500);
    w.check_replay();
}

#[test]
fn funding_rounding_goes_to_insurance_and_runs_hourly() {
    let mut w = World::new();
    w.fund(A, 10_000);
    w.fund(B, 10_000);
    open_long(&mut w, A, B, 50_001, 1);
    w.ok(Action::SetIndex { market: BTC, price: 50_001 });
    // 1 lot x 50 001 x 1 000 x 12 500 / 10^9 = 625.0125: A pays 626, B receives 625, insurance 1.
    assert_eq!(w.p.market_view(BTC).unwrap().next_funding_time, 3_600_000);
    let (ca, cb, ci) = (w.collateral(A), w.collateral(B), w.collateral(INS));
    w.at(3_599_999, Action::Tick);
    assert_eq!(w.collateral(A), ca);
    let out = w.at(3_600_000, Action::Tick);
    assert!(matches!(out.events[0], Event::FundingSettled { scheduled: true, rate_ppb: 12_500, .. }));
    assert_eq!(w.collateral(A), ca - 626);
    assert_eq!(w.collateral(B), cb + 625);
    assert_eq!(w.collateral(INS), ci + 1);
    assert_eq!(w.p.market_view(BTC).unwrap().next_funding_time, 7_200_000);
    w.check_replay();
}

/// A: 600 USDC cross at 10x, long 100 at 50 000 (collateral 597.5 after the fee); B is short.
fn liquidation_world() -> World {
    let mut w = World::new();
    w.fund(A, 600);
    w.fund(B, 100_000);
    w.fund(C, 100_000);
    open_long(&mut w, A, B, 50_000, 100);
    w.pin_mark(50_000);
    w
}

#[test]
fn liquidation_price_formula() {
    let w = liquidation_world();
    // (5 000 - 597.5) / (0.1 x (1 - 1.25 %)) = 44 582.278481...
    let p = w.p.position(A, BTC).unwrap();
    assert_eq!(p.liquidation_price_e6, Some(44_582_278_481));
    // At 44 583 the account is above maintenance, at 44 582 below.
    let mut w2 = liquidation_world();
    w2.pin_mark(44_583);
    assert!(!w2.p.is_account_liquidating(A) && w2.size(A) == 100);
    let s = w2.p.account_state(A).unwrap();
    assert!(s.cross_equity >= s.maintenance_margin);
    let mut w3 = liquidation_world();
    w3.limit(C, Side::Buy, 44_000, 100);
    w3.pin_mark(44_582);
    assert_eq!(w3.size(A), 0);
}

#[test]
fn liquidation_by_book() {
    let mut w = liquidation_world();
    w.limit(C, Side::Buy, 44_400, 100);
    let resting = w.limit(A, Side::Buy, 30_000, 1);
    // Mark 44 500: equity 597.5 - 550 = 47.5 < MM 55.625, but >= 2/3 of it: step 1 on the book.
    let out = w.pin_mark(44_500);
    assert!(matches!(
        out.events[1],
        Event::LiquidationStarted { account: A, market: None, equity: 47_500_000, maintenance: 55_625_000, .. }
    ));
    assert!(out.events.iter().any(|e| matches!(e, Event::Trade(t) if t.taker_account == A && t.price == 44_400)));
    assert!(matches!(out.events.last(), Some(Event::LiquidationEnded { account: A, .. })));
    assert_eq!(w.p.order(resting).unwrap().status, OrderStatus::Canceled);
    // Sold at 44 400: realised -560, fee 2.22: 597.5 - 560 - 2.22 = 35.28 stays with A.
    assert_eq!(w.size(A), 0);
    assert_eq!(w.collateral(A), 35_280_000);
    assert!(!w.p.is_account_liquidating(A));
    w.check_replay();
}

#[test]
fn liquidation_backstop_when_book_cannot_absorb() {
    let mut w = liquidation_world();
    let ins_before = w.collateral(INS);
    w.pin_mark(44_500);
    // No bids: the IOC finds nothing; the position and the collateral (597.5 - 550 = 47.5) go to insurance.
    assert_eq!(w.size(A), 0);
    assert_eq!(w.collateral(A), 0);
    assert_eq!(w.collateral(INS), ins_before + 47_500_000);
    let ip = w.p.position(INS, BTC).unwrap();
    assert_eq!((ip.size, ip.entry_notional), (100, 4_450_000_000));
    let h = w.p.position_history(A);
    assert!(h[0].is_taken_over);
    assert_eq!(h[0].take_over_price, 44_500);
    w.check_replay();
}

#[test]
fn liquidation_backstop_below_two_thirds() {
    let mut w = liquidation_world();
    w.limit(C, Side::Buy, 44_100, 100);
    // Mark 44 200: equity 17.5 < 2/3 x 55.25: straight to the backstop although bids exist.
    let out = w.pin_mark(44_200);
    assert!(out.events.iter().any(|e| matches!(e, Event::TakenOver { account: A, mark: 44_200, .. })));
    assert!(!out.events.iter().any(|e| matches!(e, Event::Trade(_))));
    assert_eq!(w.size(INS), 100);
    assert_eq!(w.collateral(A), 0);
    w.check_replay();
}

#[test]
fn liquidation_isolated_backstop() {
    let mut w = World::new();
    w.fund(A, 1_000);
    w.fund(B, 100_000);
    w.ok(Action::UpdateLeverage { account: A, market: BTC, leverage: 10, mode: MarginMode::Isolated });
    open_long(&mut w, A, B, 50_000, 100);
    w.pin_mark(50_000);
    // Margin 500; at 45 400: 500 - 460 = 40 < MM 56.75 -> 3 x 40 = 120 >= 113.5: step 1; no bids -> backstop.
    w.pin_mark(45_400);
    assert_eq!(w.size(A), 0);
    // Only the position's 40 went; the cross collateral (497.5) stays.
    assert_eq!(w.collateral(A), 497_500_000);
    assert_eq!(w.collateral(INS), 40_000_000);
    w.check_replay();
}

#[test]
fn adl_when_equity_is_negative() {
    let mut w = World::new();
    w.fund(A, 600);
    w.fund(B, 100_000);
    w.fund(D, 100_000);
    w.ok(Action::UpdateLeverage { account: D, market: BTC, leverage: 20, mode: MarginMode::Cross });
    w.limit(B, Side::Sell, 50_000, 60);
    w.limit(D, Side::Sell, 50_000, 40);
    w.market(A, Side::Buy, 100);
    w.pin_mark(50_000);
    let (cb, cd) = (w.collateral(B), w.collateral(D));
    // Mark 44 000: A's equity 597.5 - 600 = -2.5 < 0 -> ADL. Ranking uPnL% x leverage: D 12 % x 20 first, then
    // B 12 % x 10. Both close at 44 000 (+240 for D, +360 for B); the 2.5 deficit is charged 40/100 to D (1),
    // the rest to B (1.5).
    let out = w.pin_mark(44_000);
    let adl: Vec<(AccountId, u64)> = out
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Adl { counterparty, quantity, price: 44_000, .. } => Some((*counterparty, *quantity)),
            _ => None,
        })
        .collect();
    assert_eq!(adl, vec![(D, 40), (B, 60)]);
    assert_eq!(w.size(A), 0);
    assert_eq!((w.size(B), w.size(D)), (0, 0));
    assert_eq!(w.collateral(A), 0);
    assert_eq!(w.collateral(D), cd + 240_000_000 - 1_000_000);
    assert_eq!(w.collateral(B), cb + 360_000_000 - 1_500_000);
    w.check_replay();
}

#[test]
fn liquidation_of_large_position_in_slices() {
    let mut w = World::new();
    w.fund(A, 30_000);
    w.fund(B, 1_000_000);
    w.fund(C, 1_000_000);
    // 3 000 lots at 50 000 = 150 000 USDC > 100 000: 20 % slices. 10x: IM 15 000; fee 75.
    w.ok(Action::UpdateLeverage { account: A, market: BTC, leverage: 10, mode: MarginMode::Cross });
    open_long(&mut w, A, B, 50_000, 3_000);
    w.pin_mark(50_000);
    // Mark 40 400: equity 29 925 - 28 800 = 1 125 < MM 121 200 x 1.25 % = 1 515, >= 2/3 of it (1 010): step 1
    // sells a 20 % slice (600 lots) into C's bid. After it: equity 1 125 - 12.12 fee = 1 112.88 < MM 1 212: the
    // next slice waits 30 s.
    w.limit(C, Side::Buy, 40_400, 600);
    let out = w.pin_mark(40_400);
    assert!(
        out.events
            .iter()
            .any(|e| matches!(e, Event::LiquidationScheduled { account: A, next_ts, .. } if *next_ts == w.ts + 30_000))
    );
    assert_eq!(w.size(A), 2_400);
    assert!(w.p.is_account_liquidating(A));
    assert_eq!(
        w.err(Action::NewOrder { account: A, order: NewOrder::limit(BTC, Side::Buy, 1_000, 1) }),
        Reject::AccountLiquidating
    );
    // 30 s later the next slice: 2 400 lots (96 960 USDC, one piece), no bids left: backstop.
    let t = w.ts + 30_000;
    w.at(t, Action::Tick);
    assert!(!w.p.is_account_liquidating(A));
    assert_eq!(w.size(A), 0);
    assert_eq!(w.size(INS), 2_400);
    w.check_replay();
}

#[test]
fn modify_and_replace() {
    let mut w = World::new();
    w.fund(A, 100_000);
    w.fund(B, 100_000);
    let a1 = w.limit(A, Side::Buy, 49_000, 10);
    let a2 = w.limit(B, Side::Buy, 49_000, 10);
    let modify = |id, price, quantity| Action::Modify {
        account: A,
        item: ModifyItem { market: BTC, target: OrderRef::Id(id), price, quantity },
    };
    // Quantity down, same price: keeps priority (A still first).
    w.ok(modify(a1, None, Some(5)));
    assert_eq!(w.p.order(a1).unwrap().quantity, 5);
    assert_eq!(w.p.order(a1).unwrap().margin_frozen, 24_500_000 + 122_500);
    w.ok(Action::TransferIn { account: C, amount: 100_000 * USDC });
    w.market(C, Side::Sell, 5);
    assert_eq!(w.p.order(a1).unwrap().status, OrderStatus::Filled);
    // Quantity up: loses priority (behind B).
    let a3 = w.limit(A, Side::Buy, 49_000, 5);
    w.ok(modify(a3, None, Some(8)));
    w.market(C, Side::Sell, 10);
    assert_eq!(w.p.order(a2).unwrap().status, OrderStatus::Filled);
    assert_eq!(w.p.order(a3).unwrap().filled, 0);
    // A price change that crosses matches at once, same id.
    w.limit(C, Side::Sell, 49_500, 8);
    w.ok(modify(a3, Some(49_500), None));
    assert_eq!(w.p.order(a3).unwrap().status, OrderStatus::Filled);
    // Replace: new id, the original cancelled.
    let a4 = w.limit(A, Side::Buy, 48_000, 3);
    let out = w.ok(Action::Replace {
        account: A,
        item: ReplaceItem { market: BTC, orig: OrderRef::Id(a4), cl_ord_id: None, price: Some(47_000), quantity: None },
    });
    let a5 = World::id(&out);
    assert_ne!(a4, a5);
    assert_eq!(w.p.order(a4).unwrap().status, OrderStatus::Canceled);
    let o = w.p.order(a5).unwrap();
    assert_eq!((o.price, o.quantity), (47_000, 3));
    w.check_replay();
}

#[test]
fn schedule_cancel_and_mark_formula() {
    let mut w = World::new();
    w.fund(A, 100_000);
    w.fund(B, 100_000);
    w.limit(A, Side::Buy, 49_900, 10);
    w.limit(B, Side::Sell, 50_100, 10);
    w.ok(Action::ScheduleCancel { account: A, deadline: Some(10_000) });
    w.ok(Action::SetIndex { market: BTC, price: 49_000 });
    // First tick seeds the EMAs: mid 50 000, basis 1 000; a = 49 000 + 1 000 = 50 000; B = median(49 900,
    // 50 100) of the two present = 50 000; mark 50 000.
    w.ok(Action::MarkTick { market: Some(BTC) });
    assert_eq!(w.p.market_view(BTC).unwrap().mark_price, Some(50_000));
    // At 16 000 the dead-man switch has taken A's bid; index 50 000. About 15 s later: basis (no mid) 0, so
    // EMA150 = 1 000 x (1 - 0.1) ~ 900 -> a ~ 50 900; B = the ask alone, 50 100; EMA30 of B ~ 50 050. The median
    // is 50 100.
    w.at(16_000, Action::SetIndex { market: BTC, price: 50_000 });
    assert!(w.p.open_orders(A, None).is_empty(), "the dead-man switch fired at 10 000");
    w.ok(Action::MarkTick { market: None });
    let mv = w.p.market_view(BTC).unwrap();
    assert_eq!(mv.mark_price, Some(50_100));
    w.check_replay();
}

#[test]
fn spot_rules_carry_over() {
    let mut w = World::new();
    w.fund(A, 100_000);
    w.fund(B, 100_000);
    // Self-trade prevention (default: cancel the maker).
    let own = w.limit(A, Side::Sell, 50_000, 5);
    let out = w.order(A, NewOrder::limit(BTC, Side::Buy, 50_000, 5));
    assert_eq!(w.p.order(own).unwrap().status, OrderStatus::Canceled);
    assert_eq!(out.result().unwrap().unwrap().status, Some(OrderStatus::New));
    assert_eq!(w.size(A), 0);
    // FOK that cannot fill: expires with nothing filled, nothing frozen.
    w.limit(B, Side::Sell, 50_100, 3);
    let out = w.order(A, NewOrder::limit(BTC, Side::Buy, 50_100, 4).tif(TimeInForce::Fok));
    assert_eq!(out.result().unwrap().unwrap().status, Some(OrderStatus::Expired));
    // IOC takes what it can.
    let out = w.order(A, NewOrder::limit(BTC, Side::Buy, 50_100, 4).tif(TimeInForce::Ioc));
    let o = w.p.order(World::id(&out)).unwrap();
    assert_eq!((o.filled, o.status), (3, OrderStatus::Expired));
    // A market order on an empty side expires.
    let out = w.order(A, NewOrder::market(BTC, Side::Buy, 1));
    assert_eq!(out.result().unwrap().unwrap().status, Some(OrderStatus::Expired));
    // Client ids: unique among open orders; cancel by client id; cancel-all.
    let cl = ClOrdId::new("a-1").unwrap();
    w.order(A, NewOrder::limit(BTC, Side::Buy, 40_000, 1).cl(cl));
    assert_eq!(
        w.err(Action::NewOrder { account: A, order: NewOrder::limit(BTC, Side::Buy, 40_001, 1).cl(cl) }),
        Reject::DuplicateClOrdId
    );
    w.ok(Action::Cancel { account: A, cancel: CancelItem { market: BTC, target: OrderRef::ClOrdId(cl) } });
    w.limit(A, Side::Buy, 40_000, 1);
    w.limit(A, Side::Buy, 40_001, 1);
    w.ok(Action::CancelAll { account: A, market: Some(BTC) });
    assert!(w.p.open_orders(A, None).is_empty());
    assert_eq!(w.p.account_state(A).unwrap().frozen, 0);
    // Depth and best bid/ask.
    w.limit(B, Side::Buy, 49_000, 2);
    w.limit(A, Side::Buy, 49_000, 3);
    let d = w.p.depth(BTC, 5).unwrap();
    assert_eq!(d.bids, vec![(49_000, 5)]);
    assert_eq!(w.p.best_bid_ask(BTC).unwrap().bid, Some((49_000, 5)));
    // Commands are JSON.
    let c = Command::new(1, Action::NewOrder { account: A, order: NewOrder::limit(BTC, Side::Buy, 1, 1).cl(cl) });
    let back: Command = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
    assert_eq!(back, c);
    w.check_replay();
}

#[test]
fn margin_tiers_are_cumulative() {
    // Two tiers: 40x up to 1 000 000 USDC (MMR 1.25 %), 20x above (MMR 2.5 %): deduction = 1 000 000 x 1.25 %
    // = 12 500 USDC, so MM is continuous at the boundary.
    let mut c = btc_config();
    c.margin_tiers = vec![
        MarginTier { lower_bound: 0, max_leverage: 40 },
        MarginTier { lower_bound: 1_000_000 * USDC, max_leverage: 20 },
    ];
    let spec = PerpMarketSpec::new(c, 0, 6).unwrap();
    assert_eq!(spec.tiers[1].deduction_e12, 12_500 * USDC as i128 * E12);
    assert_eq!(spec.tiers[0].max_notional, 1_000_000 * USDC);
    let mm = |usdc: i128| spec.maintenance(usdc * USDC as i128) / USDC as i128;
    assert_eq!(mm(1_000_000), 12_500);
    assert_eq!(mm(2_000_000), 50_000 - 12_500);
    assert_eq!(mm(100_000), 1_250);
    // In the engine: at 40x an order taking the position past 1 000 000 USDC is refused; at 20x it is not.
    let mut w = World::new();
    let mut c2 = btc_config();
    c2.market.id = 2;
    c2.market.name = "BTC2-USD".into();
    c2.margin_tiers = vec![
        MarginTier { lower_bound: 0, max_leverage: 40 },
        MarginTier { lower_bound: 1_000_000 * USDC, max_leverage: 20 },
    ];
    w.ok(Action::AddMarket(c2));
    w.fund(A, 1_000_000);
    w.ok(Action::UpdateLeverage { account: A, market: 2, leverage: 40, mode: MarginMode::Cross });
    // 20 001 lots at 50 000 = 1 000 050 USDC.
    let big = NewOrder::limit(2, Side::Buy, 50_000, 20_001);
    assert_eq!(w.err(Action::NewOrder { account: A, order: big }), Reject::LeverageOutOfRange);
    w.order(A, NewOrder { quantity: 19_999, ..big });
    w.ok(Action::UpdateLeverage { account: A, market: 2, leverage: 20, mode: MarginMode::Cross });
    w.order(A, big);
}
