//! Random command streams (a deterministic PRNG, several seeds): after every command the engine's invariants hold
//! (conservation against deposits minus withdrawals, locks equal to open orders, books never crossed, indexes
//! consistent), rejected items change nothing, no account trades with itself; at checkpoints and at the end,
//! replaying the events (also after a JSON round trip) and re-applying the commands rebuild the identical state.
#![allow(clippy::unwrap_used)]

use sova_engine::*;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len() as u64) as usize]
    }
}

const Q: CoinId = 0;
const COINS: [CoinId; 3] = [0, 1, 2];
const FEE: AccountId = 999;
const ACCOUNTS: [AccountId; 7] = [1, 2, 3, 4, 5, 6, FEE];
const MARKETS: [MarketId; 2] = [1, 2];

fn config() -> EngineConfig {
    EngineConfig { fee_account: FEE, max_open_orders: 8, recent_trades: 30, closed_orders: 50 }
}

fn setup() -> Vec<Action> {
    vec![
        Action::AddCoin(CoinConfig { id: 0, symbol: "USD".into(), decimals: 0 }),
        Action::AddCoin(CoinConfig { id: 1, symbol: "AAA".into(), decimals: 0 }),
        Action::AddCoin(CoinConfig { id: 2, symbol: "BBB".into(), decimals: 0 }),
        // one tick x one lot = 1 quote atom
        Action::AddMarket(MarketConfig {
            id: 1,
            name: "AAA/USD".into(),
            base: 1,
            quote: 0,
            price_decimals: 0,
            tick_size: 1,
            lot_size: 1,
            min_notional: 0,
            maker_fee_ppm: 1_000,
            taker_fee_ppm: 2_500,
        }),
        // one tick x one lot = 5 x 10 = 50 quote atoms; a heavy taker fee to exercise rounding
        Action::AddMarket(MarketConfig {
            id: 2,
            name: "BBB/USD".into(),
            base: 2,
            quote: 0,
            price_decimals: 0,
            tick_size: 5,
            lot_size: 10,
            min_notional: 500,
            maker_fee_ppm: 0,
            taker_fee_ppm: 300_000,
        }),
    ]
}

fn cl(r: &mut Rng) -> Option<ClOrdId> {
    if r.chance(40) { Some(ClOrdId::new(&format!("c{}", r.below(12))).unwrap()) } else { None }
}

fn new_order(r: &mut Rng) -> NewOrder {
    let market = r.pick(&MARKETS);
    let side = if r.chance(50) { Side::Buy } else { Side::Sell };
    let stp = r.pick(&[StpMode::CancelMaker, StpMode::CancelTaker, StpMode::CancelBoth]);
    if r.chance(85) {
        let tif = r.pick(&[
            TimeInForce::Gtc,
            TimeInForce::Gtc,
            TimeInForce::Gtc,
            TimeInForce::Ioc,
            TimeInForce::Fok,
            TimeInForce::Gtx,
        ]);
        // Buys mostly below 100, sells mostly above: books build depth, with some overlap to trade.
        let price = match (r.chance(2), side) {
            (true, _) => r.below(3),
            (false, Side::Buy) => 80 + r.below(24),
            (false, Side::Sell) => 97 + r.below(24),
        };
        let qty = if r.chance(2) { 0 } else { 1 + r.below(20) };
        NewOrder { cl_ord_id: cl(r), stp, ..NewOrder::limit(market, side, price, qty).tif(tif) }
    } else {
        let tif = r.pick(&[TimeInForce::Ioc, TimeInForce::Ioc, TimeInForce::Fok, TimeInForce::Gtc, TimeInForce::Gtx]);
        let mut o = NewOrder { cl_ord_id: cl(r), stp, ..NewOrder::market(market, side, 1 + r.below(25)).tif(tif) };
        if side == Side::Buy {
            match r.below(3) {
                0 => {}
                1 => o = NewOrder { quantity: None, funds: Some(r.below(5_000)), ..o },
                _ => o = NewOrder { funds: Some(r.below(5_000)), ..o },
            }
        }
        o
    }
}

fn target(r: &mut Rng, e: &Engine, account: AccountId) -> (MarketId, OrderRef) {
    let open = e.open_orders(account, None);
    if !open.is_empty() && r.chance(85) {
        let o = &open[r.below(open.len() as u64) as usize];
        let t = match o.cl_ord_id {
            Some(c) if r.chance(50) => OrderRef::ClOrdId(c),
            _ => OrderRef::Id(o.order_id),
        };
        let market = if r.chance(3) { 3 - o.market } else { o.market };
        (market, t)
    } else {
        (r.pick(&MARKETS), OrderRef::Id(r.below(e.next_order_id() + 2)))
    }
}

fn replace_item(r: &mut Rng, e: &Engine, account: AccountId) -> ReplaceItem {
    let (market, orig) = target(r, e, account);
    ReplaceItem {
        market,
        orig,
        cl_ord_id: cl(r),
        price: r.chance(80).then(|| 85 + r.below(31)),
        quantity: r.chance(60).then(|| 1 + r.below(20)),
    }
}

fn random_action(r: &mut Rng, e: &Engine) -> Action {
    let account = r.pick(&ACCOUNTS);
    let coin = r.pick(&COINS);
    match r.below(100) {
        0..=5 => Action::Deposit { account, coin, amount: r.below(if coin == Q { 300_000 } else { 600 }) },
        6..=8 => Action::Withdraw { account, coin, amount: r.below(if coin == Q { 5_000 } else { 60 }) },
        9..=11 => Action::Transfer { from: account, to: r.pick(&ACCOUNTS), coin, amount: r.below(200) },
        12..=46 => Action::NewOrder { account, order: new_order(r) },
        47..=54 => {
            let (market, target) = target(r, e, account);
            Action::Cancel { account, cancel: CancelItem { market, target } }
        }
        55..=71 => Action::Replace { account, item: replace_item(r, e, account) },
        72..=75 => Action::BatchNew { account, orders: (0..r.below(6)).map(|_| new_order(r)).collect() },
        76..=78 => Action::BatchCancel {
            account,
            cancels: (0..r.below(5))
                .map(|_| {
                    let (market, target) = target(r, e, account);
                    CancelItem { market, target }
                })
                .collect(),
        },
        79..=80 => {
            Action::BatchReplace { account, items: (0..r.below(4)).map(|_| replace_item(r, e, account)).collect() }
        }
        81..=82 => Action::CancelAll { account, market: r.chance(50).then(|| r.pick(&MARKETS)) },
        83..=88 => Action::ScheduleCancel { account, deadline: if r.chance(80) { Some(r.below(60)) } else { None } },
        _ => Action::Tick,
    }
}

fn check_replay(cfg: &EngineConfig, e: &Engine, events: &[Event], cmds: &[Command]) {
    let replayed = Engine::replay(cfg.clone(), events).unwrap();
    replayed.check_invariants().unwrap();
    assert_eq!(replayed.snapshot(), e.snapshot());
    assert_eq!(replayed.digest(), e.digest());
    let mut again = Engine::new(cfg.clone());
    let mut out = Output::default();
    let mut n = 0;
    for c in cmds {
        again.apply_into(c, &mut out);
        assert_eq!(out.events[..], events[n..n + out.events.len()]);
        n += out.events.len();
    }
    assert_eq!(n, events.len());
    assert_eq!(again.digest(), e.digest());
}

fn run(seed: u64, steps: usize, seen: &mut std::collections::BTreeSet<String>) -> (u64, usize, usize) {
    let cfg = config();
    let mut e = Engine::new(cfg.clone());
    let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut cmds = Vec::new();
    let mut events = Vec::new();
    let mut supply = [0u64; 3];
    let mut ts = 1_000u64;
    let mut trades = 0usize;
    let mut rejects = 0usize;
    for a in setup() {
        let c = Command::new(ts, a);
        let out = e.apply(&c);
        assert!(out.result().unwrap().is_ok());
        events.extend(out.events);
        cmds.push(c);
    }
    for step in 0..steps {
        ts += r.below(6);
        let mut action = random_action(&mut r, &e);
        if let Action::ScheduleCancel { deadline: Some(d), .. } = &mut action {
            *d += ts.saturating_sub(5);
        }
        let cmd = Command::new(ts, action);
        let before = e.snapshot();
        let out = e.apply(&cmd);
        e.check_invariants().unwrap_or_else(|err| panic!("seed {seed} step {step}: {err}\n{cmd:?}"));

        // Conservation against the outside world.
        for (i, res) in out.results.iter().enumerate() {
            match (&cmd.action, res) {
                (Action::Deposit { coin, amount, .. }, Ok(_)) => supply[*coin as usize] += amount,
                (Action::Withdraw { coin, amount, .. }, Ok(_)) => supply[*coin as usize] -= amount,
                (_, Err(_)) => rejects += 1,
                _ => {}
            }
            let _ = i;
        }
        for c in COINS {
            assert_eq!(e.total_supply(c), supply[c as usize], "seed {seed} step {step}");
            let sum: u64 = e.account_ids().iter().map(|a| e.balance(*a, c).total()).sum();
            assert_eq!(sum, supply[c as usize], "seed {seed} step {step}: coin {c} not conserved");
        }
        // Books never crossed.
        for m in MARKETS {
            let bbo = e.best_bid_ask(m).unwrap();
            if let (Some(b), Some(a)) = (bbo.bid, bbo.ask) {
                assert!(b.price < a.price, "seed {seed} step {step}: crossed");
            }
        }
        // No self-trades; trades at prices within both orders' limits are checked by the engine itself.
        for ev in &out.events {
            if let Event::Trade(t) = ev {
                assert_ne!(t.maker_account, t.taker_account);
                trades += 1;
            }
            let kind = match ev {
                Event::OrderClosed(c) => format!("closed {:?} {:?}", c.reason, c.status),
                other => format!("{other:?}").split([' ', '(', '{']).next().unwrap_or("").to_string(),
            };
            seen.insert(kind);
        }
        for res in &out.results {
            if let Err(r) = res {
                seen.insert(format!("reject {r:?}"));
            }
        }
        // A command whose items were all rejected changes nothing (beyond a dead-man switch firing first).
        if out.results.iter().all(|r| r.is_err()) && !out.results.is_empty() {
            assert!(
                out.events.iter().all(|ev| matches!(
                    ev,
                    Event::ScheduleCancelFired { .. }
                        | Event::OrderClosed(OrderClosed { reason: CloseReason::ScheduleCancel, .. })
                )),
                "seed {seed} step {step}: rejected command emitted {:?}",
                out.events
            );
            if out.events.is_empty() {
                assert_eq!(e.snapshot(), before, "seed {seed} step {step}");
            }
        }
        if out.events.is_empty() {
            assert_eq!(e.snapshot(), before, "seed {seed} step {step}: no event but state changed");
        }
        events.extend(out.events);
        cmds.push(cmd);
        if step % 1_000 == 999 {
            check_replay(&cfg, &e, &events, &cmds);
        }
    }
    check_replay(&cfg, &e, &events, &cmds);
    // Restart from a serialized log.
    let log: String = events.iter().map(|ev| serde_json::to_string(ev).unwrap() + "\n").collect();
    let back: Vec<Event> = log.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let restarted = Engine::replay(cfg.clone(), &back).unwrap();
    assert_eq!(restarted.snapshot(), e.snapshot());
    (e.digest(), trades, rejects)
}

#[test]
fn random_streams_keep_every_invariant_and_replay_identically() {
    let mut total_trades = 0;
    let mut seen = std::collections::BTreeSet::new();
    for seed in 1..=8 {
        let (digest, trades, rejects) = run(seed, 3_000, &mut seen);
        // Same seed, same result.
        assert_eq!(run(seed, 3_000, &mut seen).0, digest);
        assert!(trades > 100, "seed {seed}: only {trades} trades");
        assert!(rejects > 50, "seed {seed}: only {rejects} rejects");
        total_trades += trades;
    }
    assert!(total_trades > 1_000);
    // The streams reach every kind of event, every way an order closes and the common rejections.
    for kind in [
        "Deposited",
        "Withdrawn",
        "Transferred",
        "OrderAccepted",
        "Trade",
        "OrderRested",
        "ScheduleCancelSet",
        "ScheduleCancelFired",
        "closed Filled Filled",
        "closed Canceled Canceled",
        "closed Replaced Canceled",
        "closed CancelAll Canceled",
        "closed ScheduleCancel Canceled",
        "closed SelfTrade Canceled",
        "closed Unfilled Expired",
        "closed FokUnfilled Expired",
        "reject InsufficientBalance",
        "reject PostOnlyWouldTake",
        "reject DuplicateClOrdId",
        "reject TooManyOpenOrders",
        "reject UnknownOrder",
        "reject MinNotional",
        "reject DeadlineNotInFuture",
        "reject InvalidTimeInForce",
    ] {
        assert!(seen.contains(kind), "never saw {kind}; saw {seen:?}");
    }
}
