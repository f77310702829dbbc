//! Behaviour of the spot engine. Every test runs through a harness that checks the engine's invariants after each
//! command and, at the end, that replaying the events and re-applying the commands rebuild the same state.
#![allow(clippy::unwrap_used)]

use sova_engine::*;

const Q: CoinId = 0; // quote, 0 decimals
const B: CoinId = 1; // base, 0 decimals
const M: MarketId = 7;
const FEE: AccountId = 999;
const ALICE: AccountId = 1;
const BOB: AccountId = 2;
const CAROL: AccountId = 3;

struct H {
    e: Engine,
    cfg: EngineConfig,
    cmds: Vec<Command>,
    events: Vec<Event>,
    ts: u64,
}

impl H {
    /// A toy market where one tick x one lot is one quote atom: a fill of `q` lots at `p` ticks moves `p*q` quote
    /// atoms and `q` base atoms. Maker fee 0.1%, taker fee 0.2%.
    fn new() -> H {
        H::with(EngineConfig { fee_account: FEE, ..EngineConfig::default() }, 1000, 2000, 0)
    }

    fn with(cfg: EngineConfig, maker_ppm: u32, taker_ppm: u32, min_notional: u64) -> H {
        let mut h = H { e: Engine::new(cfg.clone()), cfg, cmds: Vec::new(), events: Vec::new(), ts: 1_000 };
        h.ok(Action::AddCoin(CoinConfig { id: Q, symbol: "USD".into(), decimals: 0 }));
        h.ok(Action::AddCoin(CoinConfig { id: B, symbol: "XYZ".into(), decimals: 0 }));
        h.ok(Action::AddMarket(MarketConfig {
            id: M,
            name: "XYZ/USD".into(),
            base: B,
            quote: Q,
            price_decimals: 0,
            tick_size: 1,
            lot_size: 1,
            min_notional,
            maker_fee_ppm: maker_ppm,
            taker_fee_ppm: taker_ppm,
        }));
        h
    }

    fn run(&mut self, action: Action) -> Output {
        self.ts += 1;
        self.run_at(self.ts, action)
    }

    fn run_at(&mut self, ts: u64, action: Action) -> Output {
        self.ts = self.ts.max(ts);
        let cmd = Command::new(ts, action);
        let out = self.e.apply(&cmd);
        self.e.check_invariants().unwrap();
        self.cmds.push(cmd);
        self.events.extend(out.events.iter().cloned());
        out
    }

    fn ok(&mut self, action: Action) -> Ack {
        let out = self.run(action);
        *out.result().unwrap().as_ref().unwrap()
    }

    fn fund(&mut self, account: AccountId, quote: u64, base: u64) {
        if quote > 0 {
            self.ok(Action::Deposit { account, coin: Q, amount: quote });
        }
        if base > 0 {
            self.ok(Action::Deposit { account, coin: B, amount: base });
        }
    }

    fn order(&mut self, account: AccountId, order: NewOrder) -> ItemResult {
        *self.run(Action::NewOrder { account, order }).result().unwrap()
    }

    fn place(&mut self, account: AccountId, order: NewOrder) -> OrderId {
        self.order(account, order).unwrap().order_id.unwrap()
    }

    fn bal(&self, account: AccountId, coin: CoinId) -> Balance {
        self.e.balance(account, coin)
    }

    fn trades(out: &Output) -> Vec<Trade> {
        out.events
            .iter()
            .filter_map(|e| match e {
                Event::Trade(t) => Some(*t),
                _ => None,
            })
            .collect()
    }

    fn closes(out: &Output) -> Vec<OrderClosed> {
        out.events
            .iter()
            .filter_map(|e| match e {
                Event::OrderClosed(c) => Some(*c),
                _ => None,
            })
            .collect()
    }

    fn status(&self, id: OrderId) -> OrderStatus {
        self.e.order(id).unwrap().status
    }

    /// Replay of the events and re-application of the commands both rebuild the same state.
    fn verify_replay(&self) {
        let replayed = Engine::replay(self.cfg.clone(), &self.events).unwrap();
        replayed.check_invariants().unwrap();
        assert_eq!(replayed.snapshot(), self.e.snapshot());
        assert_eq!(replayed.digest(), self.e.digest());
        let mut again = Engine::new(self.cfg.clone());
        let mut events = Vec::new();
        for c in &self.cmds {
            events.extend(again.apply(c).events);
        }
        assert_eq!(events, self.events);
        assert_eq!(again.snapshot(), self.e.snapshot());
    }
}

impl Drop for H {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.verify_replay();
        }
    }
}

fn cl(s: &str) -> ClOrdId {
    ClOrdId::new(s).unwrap()
}

fn buy(p: u64, q: u64) -> NewOrder {
    NewOrder::limit(M, Side::Buy, p, q)
}

fn sell(p: u64, q: u64) -> NewOrder {
    NewOrder::limit(M, Side::Sell, p, q)
}

#[test]
fn limit_order_rests_locks_and_shows_in_queries() {
    let mut h = H::new();
    h.fund(ALICE, 10_000, 0);
    let id = h.place(ALICE, buy(100, 5).cl(cl("a1")));
    assert_eq!(h.bal(ALICE, Q), Balance { available: 9_500, locked: 500 });
    let bbo = h.e.best_bid_ask(M).unwrap();
    assert_eq!(bbo.bid, Some(LevelView { price: 100, quantity: 5, orders: 1 }));
    assert_eq!(bbo.ask, None);
    h.place(ALICE, buy(100, 2));
    h.place(ALICE, buy(99, 1));
    let d = h.e.depth(M, 10).unwrap();
    assert_eq!(
        d.bids,
        vec![LevelView { price: 100, quantity: 7, orders: 2 }, LevelView { price: 99, quantity: 1, orders: 1 }]
    );
    assert!(d.asks.is_empty());
    let open = h.e.open_orders(ALICE, Some(M));
    assert_eq!(open.len(), 3);
    assert_eq!(open[0].order_id, id);
    assert_eq!(open[0].status, OrderStatus::New);
    assert_eq!(open[0].locked, 500);
    assert_eq!(h.e.order_by_cl_ord_id(ALICE, &cl("a1")).unwrap().order_id, id);
    assert_eq!(h.e.balances(ALICE), vec![(Q, Balance { available: 9_201, locked: 799 }), (B, Balance::default())]);
}

#[test]
fn price_time_priority_and_partial_fills() {
    let mut h = H::new();
    h.fund(ALICE, 0, 100);
    h.fund(BOB, 0, 100);
    h.fund(CAROL, 100_000, 0);
    let a = h.place(ALICE, sell(101, 5)); // older at 101
    let b = h.place(BOB, sell(101, 5)); // newer at 101
    let c = h.place(BOB, sell(100, 3)); // better price
    let out = h.run(Action::NewOrder { account: CAROL, order: buy(101, 10) });
    let t = H::trades(&out);
    assert_eq!(t.len(), 3);
    assert_eq!((t[0].maker_order, t[0].price, t[0].quantity), (c, 100, 3));
    assert_eq!((t[1].maker_order, t[1].price, t[1].quantity), (a, 101, 5));
    assert_eq!((t[2].maker_order, t[2].price, t[2].quantity), (b, 101, 2));
    assert_eq!(t[2].maker_remaining, 3);
    assert_eq!(t[2].taker_remaining, 0);
    assert_eq!(out.result().unwrap().unwrap().status, Some(OrderStatus::Filled));
    assert_eq!(h.status(a), OrderStatus::Filled);
    assert_eq!(h.status(c), OrderStatus::Filled);
    let bo = h.e.order(b).unwrap();
    assert_eq!((bo.status, bo.filled, bo.remaining, bo.locked), (OrderStatus::PartiallyFilled, 2, 3, 3));
    assert_eq!(h.e.best_bid_ask(M).unwrap().ask, Some(LevelView { price: 101, quantity: 3, orders: 1 }));
    // Trade ids are sequential; recent trades are newest first.
    let recent = h.e.recent_trades(M, 2);
    assert_eq!(recent.iter().map(|t| t.trade_id).collect::<Vec<_>>(), vec![3, 2]);
}

#[test]
fn buyer_gets_price_improvement_back() {
    let mut h = H::with(EngineConfig { fee_account: FEE, ..EngineConfig::default() }, 0, 0, 0);
    h.fund(ALICE, 0, 10);
    h.fund(BOB, 1_000, 0);
    h.place(ALICE, sell(90, 4));
    let id = h.place(BOB, buy(100, 10)); // locks 1000, fills 4 at 90, rests 6 at 100
    assert_eq!(h.bal(BOB, Q), Balance { available: 40, locked: 600 });
    assert_eq!(h.bal(BOB, B), Balance { available: 4, locked: 0 });
    assert_eq!(h.bal(ALICE, Q), Balance { available: 360, locked: 0 });
    let o = h.e.order(id).unwrap();
    assert_eq!((o.filled, o.remaining, o.executed_value, o.locked), (4, 6, 360, 600));
}

#[test]
fn fees_on_both_sides_go_to_the_fee_account() {
    // maker 0.1%, taker 0.2%, rounded up to the atom, in the coin each side receives.
    let mut h = H::new();
    h.fund(ALICE, 0, 1_000);
    h.fund(BOB, 1_000_000, 0);
    h.place(ALICE, sell(1_000, 500)); // maker sells 500 base for 500,000 quote
    let out = h.run(Action::NewOrder { account: BOB, order: buy(1_000, 500) });
    let t = H::trades(&out)[0];
    assert_eq!((t.quote_amount, t.base_amount), (500_000, 500));
    assert_eq!(t.maker_fee, 500); // 0.1% of 500,000 quote
    assert_eq!(t.taker_fee, 1); // 0.2% of 500 base
    assert_eq!(h.bal(ALICE, Q).available, 499_500);
    assert_eq!(h.bal(ALICE, B), Balance { available: 500, locked: 0 });
    assert_eq!(h.bal(BOB, B).available, 499);
    assert_eq!(h.bal(BOB, Q), Balance { available: 500_000, locked: 0 });
    assert_eq!(h.bal(FEE, Q).available, 500);
    assert_eq!(h.bal(FEE, B).available, 1);
    // Rounding up: 0.2% of 7 base is 0.014, charged as 1.
    h.place(ALICE, sell(10, 7));
    let out = h.run(Action::NewOrder { account: BOB, order: buy(10, 7) });
    assert_eq!(H::trades(&out)[0].taker_fee, 1);
    for coin in [Q, B] {
        let total: u64 = [ALICE, BOB, FEE].iter().map(|a| h.bal(*a, coin).total()).sum();
        assert_eq!(total, h.e.total_supply(coin));
    }
}

#[test]
fn ioc_remainder_expires_and_releases() {
    let mut h = H::new();
    h.fund(ALICE, 0, 10);
    h.fund(BOB, 10_000, 0);
    h.place(ALICE, sell(100, 3));
    let out = h.run(Action::NewOrder { account: BOB, order: buy(100, 10).tif(TimeInForce::Ioc) });
    assert_eq!(H::trades(&out).len(), 1);
    let c = H::closes(&out);
    assert_eq!(c.len(), 1);
    assert_eq!(
        (c[0].reason, c[0].status, c[0].filled, c[0].released),
        (CloseReason::Unfilled, OrderStatus::Expired, 3, 700)
    );
    assert_eq!(out.result().unwrap().unwrap().status, Some(OrderStatus::Expired));
    assert_eq!(h.bal(BOB, Q), Balance { available: 9_700, locked: 0 });
    assert!(h.e.open_orders(BOB, None).is_empty());
    assert_eq!(h.e.best_bid_ask(M).unwrap(), Bbo { bid: None, ask: None });
}

#[test]
fn fok_is_all_or_nothing() {
    let mut h = H::new();
    h.fund(ALICE, 0, 10);
    h.fund(BOB, 10_000, 0);
    h.place(ALICE, sell(100, 3));
    h.place(ALICE, sell(102, 3));
    let before = h.e.snapshot();
    // 6 available within 102, 7 wanted: nothing happens but an expired order.
    let out = h.run(Action::NewOrder { account: BOB, order: buy(102, 7).tif(TimeInForce::Fok) });
    assert!(H::trades(&out).is_empty());
    assert_eq!(H::closes(&out)[0].reason, CloseReason::FokUnfilled);
    assert_eq!(out.result().unwrap().unwrap().status, Some(OrderStatus::Expired));
    let after = h.e.snapshot();
    assert_eq!(after.balances, before.balances);
    assert_eq!(after.books, before.books);
    // Within 101 only 3 are available.
    let out = h.run(Action::NewOrder { account: BOB, order: buy(101, 4).tif(TimeInForce::Fok) });
    assert!(H::trades(&out).is_empty());
    // Exactly 6 within 102: fills completely.
    let out = h.run(Action::NewOrder { account: BOB, order: buy(102, 6).tif(TimeInForce::Fok) });
    assert_eq!(H::trades(&out).len(), 2);
    assert_eq!(out.result().unwrap().unwrap().status, Some(OrderStatus::Filled));
    assert_eq!(h.bal(BOB, Q), Balance { available: 10_000 - 300 - 306, locked: 0 });
}

#[test]
fn fok_does_not_count_own_orders() {
    let mut h = H::new();
    h.fund(ALICE, 10_000, 10);
    h.fund(BOB, 0, 10);
    h.place(ALICE, sell(100, 3)); // own: cancelled by STP, not a fill
    h.place(BOB, sell(100, 2));
    let out = h.run(Action::NewOrder { account: ALICE, order: buy(100, 3).tif(TimeInForce::Fok) });
    assert!(H::trades(&out).is_empty());
    assert_eq!(h.e.open_orders(ALICE, None).len(), 1, "a failed FOK changes nothing, own maker included");
    let out = h.run(Action::NewOrder { account: ALICE, order: buy(100, 2).tif(TimeInForce::Fok) });
    let t = H::trades(&out);
    assert_eq!((t.len(), t[0].maker_account), (1, BOB));
    assert!(h.e.open_orders(ALICE, None).is_empty(), "own maker cancelled on the way (CancelMaker)");
}

#[test]
fn post_only_rejects_when_it_would_take() {
    let mut h = H::new();
    h.fund(ALICE, 0, 10);
    h.fund(BOB, 10_000, 0);
    h.place(ALICE, sell(100, 3));
    let before = h.e.snapshot();
    let out = h.run(Action::NewOrder { account: BOB, order: buy(100, 1).tif(TimeInForce::Gtx) });
    assert_eq!(out.result(), Some(&Err(Reject::PostOnlyWouldTake)));
    assert!(out.events.is_empty());
    assert_eq!(h.e.snapshot(), before);
    let id = h.place(BOB, buy(99, 1).tif(TimeInForce::Gtx));
    assert_eq!(h.status(id), OrderStatus::New);
    assert_eq!(h.e.best_bid_ask(M).unwrap().bid.unwrap().price, 99);
}

#[test]
fn market_buy_by_funds_spends_up_to_funds() {
    let mut h = H::with(EngineConfig { fee_account: FEE, ..EngineConfig::default() }, 0, 0, 0);
    h.fund(ALICE, 0, 100);
    h.fund(BOB, 10_000, 0);
    h.place(ALICE, sell(100, 2));
    h.place(ALICE, sell(110, 5));
    // 1000 quote: 2 at 100 (200), then 7 at 110 would be 770 but only 5 there (550) -> 750 spent
    let out = h.run(Action::NewOrder { account: BOB, order: NewOrder::market_buy_funds(M, 1_000) });
    let t = H::trades(&out);
    assert_eq!(t.iter().map(|t| (t.price, t.quantity)).collect::<Vec<_>>(), vec![(100, 2), (110, 5)]);
    assert_eq!(t[1].taker_remaining, 0);
    let c = H::closes(&out)[0];
    assert_eq!((c.reason, c.released), (CloseReason::Unfilled, 250)); // the book ran out
    assert_eq!(h.bal(BOB, Q), Balance { available: 9_250, locked: 0 });
    assert_eq!(h.bal(BOB, B).available, 7);
    // Funds that run out mid-level: 3 at 120 cost 360, 250 buys 2 (240); 10 comes back. Filled.
    h.place(ALICE, sell(120, 3));
    let out = h.run(Action::NewOrder { account: BOB, order: NewOrder::market_buy_funds(M, 250) });
    assert_eq!(H::trades(&out)[0].quantity, 2);
    let c = H::closes(&out)[0];
    assert_eq!((c.reason, c.status, c.released), (CloseReason::Filled, OrderStatus::Filled, 10));
    let o = h.e.order(c.order_id).unwrap();
    assert_eq!((o.funds, o.quantity, o.executed_value, o.filled), (Some(250), None, 240, 2));
    // Funds below one lot: nothing fills, everything comes back.
    let out = h.run(Action::NewOrder { account: BOB, order: NewOrder::market_buy_funds(M, 50) });
    assert!(H::trades(&out).is_empty());
    assert_eq!(h.bal(BOB, Q).locked, 0);
}

#[test]
fn market_orders_by_quantity() {
    let mut h = H::with(EngineConfig { fee_account: FEE, ..EngineConfig::default() }, 0, 0, 0);
    h.fund(ALICE, 5_000, 100);
    h.fund(BOB, 1_000, 100);
    h.place(ALICE, sell(100, 2));
    h.place(ALICE, sell(200, 10));
    // Buy 6: 2 at 100 and 4 at 200 = 1000, exactly Bob's balance (all of it locked while matching).
    let out = h.run(Action::NewOrder { account: BOB, order: NewOrder::market(M, Side::Buy, 6) });
    assert_eq!(H::trades(&out).iter().map(|t| t.quantity).sum::<u64>(), 6);
    assert_eq!(out.result().unwrap().unwrap().status, Some(OrderStatus::Filled));
    assert_eq!(h.bal(BOB, Q), Balance { available: 0, locked: 0 });
    // No quote left: rejected.
    let r = h.order(BOB, NewOrder::market(M, Side::Buy, 1));
    assert_eq!(r, Err(Reject::InsufficientBalance));
    // Market sell into bids; the rest expires when the bids run out.
    h.place(ALICE, buy(90, 3));
    let out = h.run(Action::NewOrder { account: BOB, order: NewOrder::market(M, Side::Sell, 5) });
    assert_eq!(H::trades(&out)[0].quantity, 3);
    let c = H::closes(&out)[0];
    assert_eq!((c.status, c.filled, c.released), (OrderStatus::Expired, 3, 2));
    assert_eq!(h.bal(BOB, B), Balance { available: 100 + 6 - 3, locked: 0 });
    // Market order shapes.
    assert_eq!(
        h.order(BOB, NewOrder { price: Some(1), ..NewOrder::market(M, Side::Sell, 1) }),
        Err(Reject::InvalidPrice)
    );
    assert_eq!(h.order(BOB, NewOrder::market(M, Side::Sell, 1).tif(TimeInForce::Gtx)), Err(Reject::InvalidTimeInForce));
    assert_eq!(h.order(BOB, NewOrder::market_buy_funds(M, 10).tif(TimeInForce::Fok)), Err(Reject::InvalidTimeInForce));
    assert_eq!(
        h.order(BOB, NewOrder { funds: Some(5), ..NewOrder::market(M, Side::Sell, 1) }),
        Err(Reject::InvalidFunds)
    );
    // GTC market orders behave as IOC.
    let out = h.run(Action::NewOrder { account: BOB, order: NewOrder::market(M, Side::Sell, 1).tif(TimeInForce::Gtc) });
    assert_eq!(H::closes(&out)[0].status, OrderStatus::Expired);
    assert!(h.e.open_orders(BOB, None).is_empty());
}

#[test]
fn self_trade_prevention_modes() {
    let mut h = H::with(EngineConfig { fee_account: FEE, ..EngineConfig::default() }, 0, 0, 0);
    h.fund(ALICE, 100_000, 100);
    h.fund(BOB, 0, 100);

    // CancelMaker (default): Alice's own ask is cancelled, she trades with Bob behind it.
    let own = h.place(ALICE, sell(100, 2));
    h.place(BOB, sell(100, 2));
    let out = h.run(Action::NewOrder { account: ALICE, order: buy(100, 2) });
    let c = H::closes(&out);
    assert_eq!((c[0].order_id, c[0].reason, c[0].status), (own, CloseReason::SelfTrade, OrderStatus::Canceled));
    assert_eq!(H::trades(&out)[0].maker_account, BOB);
    assert_eq!(out.result().unwrap().unwrap().status, Some(OrderStatus::Filled));

    // CancelTaker: the taker stops at its own order; fills before it stand; the maker stays.
    h.place(BOB, sell(100, 1));
    let own = h.place(ALICE, sell(101, 2));
    let out = h.run(Action::NewOrder { account: ALICE, order: buy(101, 5).stp(StpMode::CancelTaker) });
    assert_eq!(H::trades(&out).len(), 1);
    let c = H::closes(&out);
    assert_eq!(c.len(), 1);
    assert_eq!((c[0].reason, c[0].filled), (CloseReason::SelfTrade, 1));
    assert_eq!(h.status(own), OrderStatus::New);
    assert_eq!(h.e.best_bid_ask(M).unwrap().bid, None, "the taker's rest did not rest");

    // CancelBoth: both go.
    let out = h.run(Action::NewOrder { account: ALICE, order: buy(101, 5).stp(StpMode::CancelBoth) });
    assert!(H::trades(&out).is_empty());
    let c = H::closes(&out);
    assert_eq!(c.iter().map(|c| c.reason).collect::<Vec<_>>(), vec![CloseReason::SelfTrade, CloseReason::SelfTrade]);
    assert_eq!(h.status(own), OrderStatus::Canceled);
    assert!(h.e.open_orders(ALICE, None).is_empty());
    assert_eq!(h.bal(ALICE, Q).locked, 0);
    assert_eq!(h.bal(ALICE, B).locked, 0);
}

#[test]
fn cancel_by_id_and_client_id_releases_locks() {
    let mut h = H::new();
    h.fund(ALICE, 1_000, 10);
    let a = h.place(ALICE, buy(100, 5).cl(cl("bid-1")));
    h.place(ALICE, sell(200, 4).cl(cl("ask-1")));
    assert_eq!(h.bal(ALICE, Q), Balance { available: 500, locked: 500 });
    assert_eq!(h.bal(ALICE, B), Balance { available: 6, locked: 4 });
    // Duplicate client id among open orders.
    assert_eq!(h.order(ALICE, buy(90, 1).cl(cl("bid-1"))), Err(Reject::DuplicateClOrdId));
    // Someone else's order, or the wrong market, is unknown.
    h.fund(BOB, 1, 0);
    let r = h.run(Action::Cancel { account: BOB, cancel: CancelItem { market: M, target: OrderRef::Id(a) } });
    assert_eq!(r.result(), Some(&Err(Reject::UnknownOrder)));
    let r = h.run(Action::Cancel { account: ALICE, cancel: CancelItem { market: 8, target: OrderRef::Id(a) } });
    assert_eq!(r.result(), Some(&Err(Reject::UnknownMarket)));
    // By client id.
    let ack = h.ok(Action::Cancel {
        account: ALICE,
        cancel: CancelItem { market: M, target: OrderRef::ClOrdId(cl("bid-1")) },
    });
    assert_eq!(ack, Ack { order_id: Some(a), status: Some(OrderStatus::Canceled) });
    assert_eq!(h.bal(ALICE, Q), Balance { available: 1_000, locked: 0 });
    assert_eq!(h.status(a), OrderStatus::Canceled);
    // Twice: unknown (closed).
    let r = h.run(Action::Cancel { account: ALICE, cancel: CancelItem { market: M, target: OrderRef::Id(a) } });
    assert_eq!(r.result(), Some(&Err(Reject::UnknownOrder)));
    // The client id is free again.
    h.place(ALICE, buy(90, 1).cl(cl("bid-1")));
    // Cancel all.
    h.ok(Action::CancelAll { account: ALICE, market: None });
    assert!(h.e.open_orders(ALICE, None).is_empty());
    assert_eq!(h.bal(ALICE, Q), Balance { available: 1_000, locked: 0 });
    assert_eq!(h.bal(ALICE, B), Balance { available: 10, locked: 0 });
}

#[test]
fn batch_items_succeed_or_fail_on_their_own() {
    let mut h = H::new();
    h.fund(ALICE, 1_000, 0);
    let out = h.run(Action::BatchNew {
        account: ALICE,
        orders: vec![
            buy(100, 2).cl(cl("x1")),
            buy(100, 1).cl(cl("x1")), // duplicate of the first
            buy(100, 50),             // 5000 > 800 left
            NewOrder { market: 99, ..buy(1, 1) },
            buy(0, 1),
            buy(99, 3).cl(cl("x2")),
        ],
    });
    let r = &out.results;
    assert_eq!(r.len(), 6);
    assert!(r[0].is_ok());
    assert_eq!(r[1], Err(Reject::DuplicateClOrdId));
    assert_eq!(r[2], Err(Reject::InsufficientBalance));
    assert_eq!(r[3], Err(Reject::UnknownMarket));
    assert_eq!(r[4], Err(Reject::InvalidPrice));
    assert!(r[5].is_ok());
    assert_eq!(h.e.open_orders(ALICE, None).len(), 2);
    assert_eq!(h.bal(ALICE, Q).locked, 200 + 297);

    let first = r[0].unwrap().order_id.unwrap();
    let out = h.run(Action::BatchCancel {
        account: ALICE,
        cancels: vec![
            CancelItem { market: M, target: OrderRef::Id(first) },
            CancelItem { market: M, target: OrderRef::Id(first) }, // already cancelled
            CancelItem { market: M, target: OrderRef::ClOrdId(cl("nope")) },
            CancelItem { market: M, target: OrderRef::ClOrdId(cl("x2")) },
        ],
    });
    assert!(out.results[0].is_ok());
    assert_eq!(out.results[1], Err(Reject::UnknownOrder));
    assert_eq!(out.results[2], Err(Reject::UnknownOrder));
    assert!(out.results[3].is_ok());
    assert!(h.e.open_orders(ALICE, None).is_empty());
    assert_eq!(h.bal(ALICE, Q), Balance { available: 1_000, locked: 0 });
}

#[test]
fn replace_is_cancel_plus_new_and_loses_priority() {
    let mut h = H::new();
    h.fund(ALICE, 0, 100);
    h.fund(BOB, 0, 100);
    h.fund(CAROL, 10_000, 0);
    let a = h.place(ALICE, sell(100, 5).cl(cl("a")));
    let b = h.place(BOB, sell(100, 5));
    // Same price and client id: Alice's replacement goes behind Bob.
    let out = h.run(Action::Replace {
        account: ALICE,
        item: ReplaceItem {
            market: M,
            orig: OrderRef::ClOrdId(cl("a")),
            cl_ord_id: None,
            price: None,
            quantity: Some(4),
        },
    });
    let a2 = out.result().unwrap().unwrap().order_id.unwrap();
    assert!(a2 > b);
    assert_eq!(H::closes(&out)[0].reason, CloseReason::Replaced);
    assert_eq!(h.status(a), OrderStatus::Canceled);
    assert_eq!(h.e.order_by_cl_ord_id(ALICE, &cl("a")).unwrap().order_id, a2);
    assert_eq!(h.bal(ALICE, B), Balance { available: 96, locked: 4 });
    let out = h.run(Action::NewOrder { account: CAROL, order: buy(100, 6) });
    let t = H::trades(&out);
    assert_eq!((t[0].maker_order, t[0].quantity), (b, 5));
    assert_eq!((t[1].maker_order, t[1].quantity), (a2, 1));

    // A replacement that cannot be placed leaves the original untouched.
    let before = h.e.snapshot();
    let r = h.run(Action::Replace {
        account: ALICE,
        item: ReplaceItem { market: M, orig: OrderRef::Id(a2), cl_ord_id: None, price: None, quantity: Some(1_000) },
    });
    assert_eq!(r.result(), Some(&Err(Reject::InsufficientBalance)));
    assert!(r.events.is_empty());
    assert_eq!(h.e.snapshot(), before);
    // Its own lock counts: 3 remaining locked + 96 available = 99 is enough.
    let ok = h.run(Action::Replace {
        account: ALICE,
        item: ReplaceItem {
            market: M,
            orig: OrderRef::Id(a2),
            cl_ord_id: Some(cl("a-2")),
            price: Some(105),
            quantity: Some(99),
        },
    });
    let a3 = ok.result().unwrap().unwrap().order_id.unwrap();
    assert_eq!(h.bal(ALICE, B), Balance { available: 0, locked: 99 });
    assert!(h.e.order_by_cl_ord_id(ALICE, &cl("a")).is_none());

    // A replacement may cross and trade at once.
    h.place(CAROL, buy(104, 2));
    let out = h.run(Action::Replace {
        account: ALICE,
        item: ReplaceItem { market: M, orig: OrderRef::Id(a3), cl_ord_id: None, price: Some(104), quantity: Some(10) },
    });
    assert_eq!(H::trades(&out)[0].quantity, 2);
    assert_eq!(out.result().unwrap().unwrap().status, Some(OrderStatus::PartiallyFilled));

    // Replacing a post-only order so it would take is rejected; the original stays.
    h.place(CAROL, buy(100, 1));
    let p = h.place(BOB, sell(110, 1).tif(TimeInForce::Gtx));
    let r = h.run(Action::Replace {
        account: BOB,
        item: ReplaceItem { market: M, orig: OrderRef::Id(p), cl_ord_id: None, price: Some(100), quantity: None },
    });
    assert_eq!(r.result(), Some(&Err(Reject::PostOnlyWouldTake)));
    assert_eq!(h.status(p), OrderStatus::New);
    // Unknown originals.
    let r = h.run(Action::Replace {
        account: BOB,
        item: ReplaceItem { market: M, orig: OrderRef::Id(a), cl_ord_id: None, price: None, quantity: None },
    });
    assert_eq!(r.result(), Some(&Err(Reject::UnknownOrder)));
}

#[test]
fn schedule_cancel_fires_when_time_passes() {
    let mut h = H::new();
    h.fund(ALICE, 1_000, 10);
    h.fund(BOB, 1_000, 0);
    h.place(ALICE, buy(100, 5));
    h.place(ALICE, sell(200, 5));
    let bob = h.place(BOB, buy(90, 1));
    let now = h.ts;
    assert_eq!(
        h.run(Action::ScheduleCancel { account: ALICE, deadline: Some(now) }).result(),
        Some(&Err(Reject::DeadlineNotInFuture))
    );
    h.ok(Action::ScheduleCancel { account: ALICE, deadline: Some(now + 100) });
    assert_eq!(h.e.schedule_cancel(ALICE), Some(now + 100));
    // Before the deadline nothing happens.
    let out = h.run_at(now + 99, Action::Tick);
    assert!(out.events.is_empty());
    assert_eq!(h.e.open_orders(ALICE, None).len(), 2);
    // At the deadline, any command fires it first: Alice's orders go, Bob's stay.
    let out = h.run_at(now + 100, Action::Deposit { account: BOB, coin: Q, amount: 1 });
    assert!(matches!(out.events[0], Event::ScheduleCancelFired { account: ALICE, .. }));
    let c = H::closes(&out);
    assert_eq!(c.len(), 2);
    assert!(c.iter().all(|c| c.reason == CloseReason::ScheduleCancel && c.status == OrderStatus::Canceled));
    assert!(h.e.open_orders(ALICE, None).is_empty());
    assert_eq!(h.bal(ALICE, Q), Balance { available: 1_000, locked: 0 });
    assert_eq!(h.bal(ALICE, B), Balance { available: 10, locked: 0 });
    assert_eq!(h.status(bob), OrderStatus::New);
    assert_eq!(h.e.schedule_cancel(ALICE), None, "one-shot");
    // Moving and clearing.
    h.place(ALICE, buy(100, 1));
    h.ok(Action::ScheduleCancel { account: ALICE, deadline: Some(now + 500) });
    h.ok(Action::ScheduleCancel { account: ALICE, deadline: Some(now + 1_000) });
    assert!(h.run_at(now + 600, Action::Tick).events.is_empty());
    h.ok(Action::ScheduleCancel { account: ALICE, deadline: None });
    assert!(h.run_at(now + 2_000, Action::Tick).events.is_empty());
    assert_eq!(h.e.open_orders(ALICE, None).len(), 1);
}

#[test]
fn insufficient_balance_changes_nothing() {
    let mut h = H::new();
    h.fund(ALICE, 1_000, 5);
    h.place(ALICE, buy(100, 6));
    let before = h.e.snapshot();
    for o in [buy(100, 5), sell(100, 6), NewOrder::market(M, Side::Sell, 6), NewOrder::market_buy_funds(M, 401)] {
        let out = h.run(Action::NewOrder { account: ALICE, order: o });
        assert_eq!(out.result(), Some(&Err(Reject::InsufficientBalance)), "{o:?}");
        assert!(out.events.is_empty());
        assert_eq!(h.e.snapshot(), before);
    }
    assert_eq!(h.order(42, buy(1, 1)), Err(Reject::UnknownAccount));
    assert_eq!(
        h.run(Action::Withdraw { account: ALICE, coin: Q, amount: 401 }).result(),
        Some(&Err(Reject::InsufficientBalance))
    );
    assert_eq!(
        h.run(Action::Transfer { from: ALICE, to: BOB, coin: B, amount: 6 }).result(),
        Some(&Err(Reject::InsufficientBalance))
    );
    assert_eq!(h.e.snapshot(), before);
}

#[test]
fn deposits_withdrawals_and_transfers() {
    let mut h = H::new();
    h.fund(ALICE, 1_000, 0);
    h.ok(Action::Transfer { from: ALICE, to: BOB, coin: Q, amount: 300 });
    h.ok(Action::Withdraw { account: BOB, coin: Q, amount: 100 });
    assert_eq!(h.bal(ALICE, Q).available, 700);
    assert_eq!(h.bal(BOB, Q).available, 200);
    assert_eq!(h.e.total_supply(Q), 900);
    assert_eq!(
        h.run(Action::Transfer { from: ALICE, to: ALICE, coin: Q, amount: 1 }).result(),
        Some(&Err(Reject::SameAccount))
    );
    assert_eq!(h.run(Action::Deposit { account: ALICE, coin: 5, amount: 1 }).result(), Some(&Err(Reject::UnknownCoin)));
    assert_eq!(
        h.run(Action::Deposit { account: ALICE, coin: Q, amount: 0 }).result(),
        Some(&Err(Reject::InvalidAmount))
    );
    assert_eq!(
        h.run(Action::Deposit { account: ALICE, coin: Q, amount: u64::MAX }).result(),
        Some(&Err(Reject::SupplyOverflow))
    );
    // Locked funds cannot be moved.
    h.place(ALICE, buy(100, 7));
    assert_eq!(
        h.run(Action::Withdraw { account: ALICE, coin: Q, amount: 1 }).result(),
        Some(&Err(Reject::InsufficientBalance))
    );
}

#[test]
fn order_limits_and_shapes() {
    let cfg = EngineConfig { fee_account: FEE, max_open_orders: 3, ..EngineConfig::default() };
    let mut h = H::with(cfg, 0, 0, 100);
    h.fund(ALICE, 100_000, 100);
    assert_eq!(h.order(ALICE, buy(10, 9)), Err(Reject::MinNotional));
    assert_eq!(h.order(ALICE, NewOrder::market_buy_funds(M, 99)), Err(Reject::MinNotional));
    assert_eq!(h.order(ALICE, buy(10, 0)), Err(Reject::InvalidQuantity));
    assert_eq!(h.order(ALICE, NewOrder { funds: Some(1), ..buy(10, 10) }), Err(Reject::InvalidFunds));
    assert_eq!(h.order(ALICE, buy(u64::MAX, 2)), Err(Reject::Overflow));
    for p in 1..=3 {
        h.place(ALICE, buy(100 + p, 1));
    }
    assert_eq!(h.order(ALICE, buy(10, 10)), Err(Reject::TooManyOpenOrders));
    // A replace does not add an open order.
    let id = h.e.open_orders(ALICE, None)[0].order_id;
    h.ok(Action::Replace {
        account: ALICE,
        item: ReplaceItem { market: M, orig: OrderRef::Id(id), cl_ord_id: None, price: Some(50), quantity: Some(2) },
    });
    // Market and coin registration rules.
    assert_eq!(
        h.run(Action::AddCoin(CoinConfig { id: Q, symbol: "DUP".into(), decimals: 2 })).result(),
        Some(&Err(Reject::AlreadyExists))
    );
    let bad = MarketConfig {
        id: 9,
        name: "BAD".into(),
        base: B,
        quote: Q,
        price_decimals: 2, // a tick of 0.01 quote atoms: not whole
        tick_size: 1,
        lot_size: 1,
        min_notional: 0,
        maker_fee_ppm: 0,
        taker_fee_ppm: 0,
    };
    assert_eq!(h.run(Action::AddMarket(bad)).result(), Some(&Err(Reject::InvalidConfig)));
}

#[test]
fn closed_orders_are_kept_for_status_queries_up_to_the_limit() {
    let cfg = EngineConfig { fee_account: FEE, closed_orders: 2, ..EngineConfig::default() };
    let mut h = H::with(cfg, 0, 0, 0);
    h.fund(ALICE, 1_000, 0);
    let ids: Vec<OrderId> = (0..3).map(|i| h.place(ALICE, buy(10 + i, 1))).collect();
    h.ok(Action::CancelAll { account: ALICE, market: Some(M) });
    assert!(h.e.order(ids[0]).is_none(), "dropped: only 2 kept");
    assert_eq!(h.status(ids[1]), OrderStatus::Canceled);
    assert_eq!(h.status(ids[2]), OrderStatus::Canceled);
}

#[test]
fn real_units_btc_usdc() {
    // USDC 6 decimals, BTC 8; price tick 0.01, lot 0.0001 BTC: one tick x one lot = 1 USDC atom.
    let cfg = EngineConfig { fee_account: FEE, ..EngineConfig::default() };
    let mut e = Engine::new(cfg);
    let run = |e: &mut Engine, a: Action| e.apply(&Command::new(1, a));
    run(&mut e, Action::AddCoin(CoinConfig { id: 0, symbol: "USDC".into(), decimals: 6 }));
    run(&mut e, Action::AddCoin(CoinConfig { id: 1, symbol: "BTC".into(), decimals: 8 }));
    let out = run(
        &mut e,
        Action::AddMarket(MarketConfig {
            id: 1,
            name: "BTC/USDC".into(),
            base: 1,
            quote: 0,
            price_decimals: 2,
            tick_size: 1,
            lot_size: 10_000,
            min_notional: 10_000_000, // 10 USDC
            maker_fee_ppm: 1_000,
            taker_fee_ppm: 2_500,
        }),
    );
    assert!(out.result().unwrap().is_ok());
    let m = e.market_by_name("BTC/USDC").unwrap().clone();
    assert_eq!(m.quote_per_tick_lot, 1);
    let usdc = parse_decimal("100000", 6).unwrap();
    let btc = parse_decimal("1.5", 8).unwrap();
    run(&mut e, Action::Deposit { account: 10, coin: 0, amount: usdc });
    run(&mut e, Action::Deposit { account: 11, coin: 1, amount: btc });
    let price = m.parse_price("50000.5").unwrap();
    let qty = m.parse_quantity("0.25").unwrap();
    run(&mut e, Action::NewOrder { account: 11, order: NewOrder::limit(1, Side::Sell, price, qty) });
    let out = run(&mut e, Action::NewOrder { account: 10, order: NewOrder::limit(1, Side::Buy, price, qty) });
    let t = out.events.iter().find_map(|e| if let Event::Trade(t) = e { Some(*t) } else { None }).unwrap();
    assert_eq!(m.format_quote(t.quote_amount), "12500.125");
    assert_eq!(m.format_base(t.base_amount), "0.25");
    assert_eq!(m.format_quote(t.maker_fee), "12.500125"); // seller (maker) pays 0.1% in USDC
    assert_eq!(m.format_base(t.taker_fee), "0.000625"); // buyer (taker) pays 0.25% in BTC
    assert_eq!(format_decimal(e.balance(10, 1).available, 8), "0.249375");
    assert_eq!(format_decimal(e.balance(11, 0).available, 6), "12487.624875");
    assert_eq!(format_decimal(e.balance(10, 0).available, 6), "87499.875");
    assert_eq!(m.format_price(t.price), "50000.5");
    e.check_invariants().unwrap();
}

#[test]
fn events_survive_serialization_and_rebuild_the_state() {
    let mut h = H::new();
    h.fund(ALICE, 100_000, 100);
    h.fund(BOB, 100_000, 100);
    h.place(ALICE, sell(100, 5).cl(cl("s1")));
    h.place(BOB, buy(101, 7).cl(cl("b1")));
    h.place(ALICE, buy(90, 3));
    h.ok(Action::ScheduleCancel { account: BOB, deadline: Some(h.ts + 10) });
    let json: Vec<String> = h.events.iter().map(|e| serde_json::to_string(e).unwrap()).collect();
    let back: Vec<Event> = json.iter().map(|s| serde_json::from_str(s).unwrap()).collect();
    assert_eq!(back, h.events);
    let rebuilt = Engine::replay(h.cfg.clone(), &back).unwrap();
    assert_eq!(rebuilt.snapshot(), h.e.snapshot());
    // Commands serialize too.
    let cmds: Vec<Command> =
        h.cmds.iter().map(|c| serde_json::from_str(&serde_json::to_string(c).unwrap()).unwrap()).collect();
    assert_eq!(cmds, h.cmds);
    // A log that does not fit is refused.
    let mut broken = back.clone();
    broken.remove(2); // the market
    assert!(Engine::replay(h.cfg.clone(), &broken).is_err());
}
