//! Orders per second on one thread, with the mix of issue 5: a book of ~1,000 resting orders, then a stream of
//! 80% replace (move a quote by a few ticks), 10% new GTC, 4% IOC (takes liquidity), 6% cancel.
//!
//! The stream is generated once against a scratch copy of the engine (so every replace and cancel names an order
//! that is really open at that point, with real ids) and then timed on fresh copies: the timed loop is the engine
//! alone (`apply_into` with a reused output buffer), events included. Also timed: the same stream through
//! `apply` (a new output per command), and replaying the stream's events (restart speed).
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use sova_engine::*;

const MARKET: MarketId = 1;
const ACCOUNTS: u64 = 100;
const RESTING: usize = 1_000;
const STREAM: usize = 200_000;
const MID: u64 = 100_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn cl(n: u64) -> ClOrdId {
    ClOrdId::new(&format!("bot-{n:012}")).unwrap()
}

/// The driver's view of the open orders: (order id, account, side, price), with an index for O(1) removal.
#[derive(Default)]
struct Open {
    list: Vec<(OrderId, AccountId, Side, u64)>,
    pos: HashMap<OrderId, usize>,
}

impl Open {
    fn add(&mut self, o: (OrderId, AccountId, Side, u64)) {
        self.pos.insert(o.0, self.list.len());
        self.list.push(o);
    }
    fn remove(&mut self, id: OrderId) {
        if let Some(i) = self.pos.remove(&id) {
            self.list.swap_remove(i);
            if i < self.list.len() {
                self.pos.insert(self.list[i].0, i);
            }
        }
    }
    fn track(&mut self, out: &Output, accepted: &mut HashMap<OrderId, (AccountId, Side, u64)>) {
        for ev in &out.events {
            match ev {
                Event::OrderAccepted(a) => {
                    accepted.insert(a.order_id, (a.account, a.side, a.price));
                }
                Event::OrderRested { order_id, .. } => {
                    let (acct, side, price) = accepted[order_id];
                    self.add((*order_id, acct, side, price));
                }
                Event::Trade(t) if t.maker_remaining == 0 => self.remove(t.maker_order),
                Event::OrderClosed(c) => self.remove(c.order_id),
                _ => {}
            }
        }
        accepted.clear();
    }
}

/// An engine with one market, 100 funded accounts and ~1,000 resting orders; and the driver's view of them.
fn setup(rng: &mut Rng, cfg: EngineConfig) -> (Engine, Vec<Command>, Open) {
    let mut e = Engine::new(cfg);
    let mut log = Vec::new();
    let mut open = Open::default();
    let mut accepted = HashMap::new();
    let mut ts = 1;
    let mut run = |e: &mut Engine, action: Action, open: &mut Open, log: &mut Vec<Command>| {
        ts += 1;
        let cmd = Command::new(ts, action);
        let out = e.apply(&cmd);
        assert!(out.results.iter().all(|r| r.is_ok()), "{cmd:?} -> {out:?}");
        open.track(&out, &mut accepted);
        log.push(cmd);
    };
    run(&mut e, Action::AddCoin(CoinConfig { id: 0, symbol: "USDC".into(), decimals: 6 }), &mut open, &mut log);
    run(&mut e, Action::AddCoin(CoinConfig { id: 1, symbol: "BTC".into(), decimals: 8 }), &mut open, &mut log);
    run(
        &mut e,
        Action::AddMarket(MarketConfig {
            id: MARKET,
            name: "BTC/USDC".into(),
            base: 1,
            quote: 0,
            price_decimals: 2,
            tick_size: 1,
            lot_size: 10_000,
            min_notional: 0,
            maker_fee_ppm: 1_000,
            taker_fee_ppm: 2_000,
        }),
        &mut open,
        &mut log,
    );
    for a in 1..=ACCOUNTS {
        run(&mut e, Action::Deposit { account: a, coin: 0, amount: 1 << 52 }, &mut open, &mut log);
        run(&mut e, Action::Deposit { account: a, coin: 1, amount: 1 << 50 }, &mut open, &mut log);
    }
    for i in 0..RESTING as u64 {
        let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
        let away = 1 + rng.below(100);
        let price = if side == Side::Buy { MID - away } else { MID + away };
        let order = NewOrder::limit(MARKET, side, price, 1 + rng.below(100)).cl(cl(i));
        run(&mut e, Action::NewOrder { account: 1 + rng.below(ACCOUNTS), order }, &mut open, &mut log);
    }
    (e, log, open)
}

/// The stream of commands, generated against a scratch engine so every reference is live.
fn stream(rng: &mut Rng, e: &mut Engine, open: &mut Open, n: usize) -> Vec<Command> {
    let mut cmds = Vec::with_capacity(n);
    let mut out = Output::default();
    let mut accepted = HashMap::new();
    let mut ts = 1_000_000;
    let mut next_cl = 1_000_000;
    let (mut replaces, mut news, mut iocs, mut cancels) = (0, 0, 0, 0);
    while cmds.len() < n {
        ts += 1;
        next_cl += 1;
        let roll = rng.below(100);
        let book = open.list.len();
        // Keep the book near its size: a new order becomes a cancel when it is 10% over, and vice versa.
        let (too_big, too_small) = (book > RESTING * 11 / 10, book < RESTING * 9 / 10);
        let action = if roll < 80 && book > 0 {
            // Move a quote by 1-3 ticks (back toward the mid when it drifted 150 ticks away), re-quoting its size,
            // under a new client id. A move across the spread trades.
            replaces += 1;
            let (id, account, side, price) = open.list[rng.below(book as u64) as usize];
            let delta = 1 + rng.below(3);
            let outward = match side {
                Side::Buy => MID.saturating_sub(price) < 150,
                Side::Sell => price.saturating_sub(MID) < 150,
            };
            let down = if outward { rng.below(2) == 0 } else { side == Side::Buy };
            let price = if down { price - delta } else { price + delta };
            Action::Replace {
                account,
                item: ReplaceItem {
                    market: MARKET,
                    orig: OrderRef::Id(id),
                    cl_ord_id: Some(cl(next_cl)),
                    price: Some(price),
                    quantity: Some(1 + rng.below(100)),
                },
            }
        } else if (roll < 90 && !too_big) || (roll >= 94 && too_small) || book == 0 {
            news += 1;
            let side = if rng.below(2) == 0 { Side::Buy } else { Side::Sell };
            let away = 1 + rng.below(100);
            let price = if side == Side::Buy { MID - away } else { MID + away };
            let order = NewOrder::limit(MARKET, side, price, 1 + rng.below(100)).cl(cl(next_cl));
            Action::NewOrder { account: 1 + rng.below(ACCOUNTS), order }
        } else if (90..94).contains(&roll) {
            iocs += 1;
            let side = if rng.below(2) == 0 { Side::Buy } else { Side::Sell };
            let price = if side == Side::Buy { MID + 20 } else { MID - 20 };
            let order = NewOrder::limit(MARKET, side, price, 1 + rng.below(150)).tif(TimeInForce::Ioc);
            Action::NewOrder { account: 1 + rng.below(ACCOUNTS), order }
        } else {
            cancels += 1;
            let (id, account, _, _) = open.list[rng.below(book as u64) as usize];
            Action::Cancel { account, cancel: CancelItem { market: MARKET, target: OrderRef::Id(id) } }
        };
        let cmd = Command::new(ts, action);
        e.apply_into(&cmd, &mut out);
        open.track(&out, &mut accepted);
        cmds.push(cmd);
    }
    eprintln!(
        "stream: {n} commands = {replaces} replace, {news} new GTC, {iocs} IOC, {cancels} cancel; {} open at the end",
        open.list.len()
    );
    cmds
}

/// Nanoseconds this thread has spent on a CPU (Linux), so the figure holds on a loaded machine.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Median ops per CPU-second of `runs` runs of the stream on fresh copies of each base (interleaved, so a change
/// in the machine's load affects them alike).
fn cpu_rates(bases: &[&Engine], cmds: &[Command], runs: usize) -> Option<Vec<f64>> {
    let mut rates = vec![Vec::new(); bases.len()];
    for _ in 0..runs {
        for (i, base) in bases.iter().enumerate() {
            let mut e = (*base).clone();
            let mut out = Output::default();
            let t0 = cpu_ns()?;
            for cmd in cmds {
                e.apply_into(cmd, &mut out);
                black_box(&out.events);
            }
            let t1 = cpu_ns()?;
            rates[i].push(cmds.len() as f64 / ((t1 - t0) as f64 / 1e9));
        }
    }
    Some(
        rates
            .into_iter()
            .map(|mut r| {
                r.sort_by(|a, b| a.total_cmp(b));
                r[runs / 2]
            })
            .collect(),
    )
}

fn bench(c: &mut Criterion) {
    const SEED: u64 = 0x5eed_1234_abcd_ef01;
    let mut rng = Rng(SEED);
    let cfg = EngineConfig { fee_account: 0, ..EngineConfig::default() };
    let (base, setup_log, mut open) = setup(&mut rng, cfg.clone());
    // The same state without the window of closed orders kept for status queries.
    let (base_no_history, _, _) = setup(&mut Rng(SEED), EngineConfig { closed_orders: 0, ..cfg });
    let mut scratch = base.clone();
    let cmds = stream(&mut rng, &mut scratch, &mut open, STREAM);

    // What the stream does, and the events it makes (for the replay benchmark).
    let mut e = base.clone();
    let mut out = Output::default();
    let (mut events, mut trades, mut rejects) = (Vec::new(), 0usize, 0usize);
    for cmd in &cmds {
        e.apply_into(cmd, &mut out);
        trades += out.events.iter().filter(|ev| matches!(ev, Event::Trade(_))).count();
        rejects += out.results.iter().filter(|r| r.is_err()).count();
        events.extend(out.events.iter().cloned());
    }
    assert_eq!(e.digest(), scratch.digest(), "deterministic");
    e.check_invariants().unwrap();
    let bbo = e.best_bid_ask(MARKET).unwrap();
    eprintln!(
        "stream effects: {trades} trades, {rejects} rejects, {} events; book at the end {:?} / {:?}",
        events.len(),
        bbo.bid.map(|l| l.price),
        bbo.ask.map(|l| l.price)
    );
    let base_events: Vec<Event> = {
        // The base state's own log, for replaying it with the stream.
        let mut b = Engine::new(base.config().clone());
        let mut evs = Vec::new();
        for cmd in &setup_log {
            evs.extend(b.apply(cmd).events);
        }
        evs
    };

    if let Some(r) = cpu_rates(&[&base, &base_no_history], &cmds, 9) {
        eprintln!(
            "mixed stream, apply_into: {:.2} M ops per CPU-second; {:.2} M without closed-order history \
             (median of 9 runs each)",
            r[0] / 1e6,
            r[1] / 1e6
        );
    }

    let mut g = c.benchmark_group("engine");
    g.sample_size(10);
    g.measurement_time(std::time::Duration::from_secs(15));
    g.throughput(Throughput::Elements(cmds.len() as u64));
    g.bench_function("mixed stream, apply_into (ops)", |b| {
        b.iter_batched_ref(
            || (base.clone(), Output::default()),
            |(e, out)| {
                for cmd in &cmds {
                    e.apply_into(cmd, out);
                    black_box(&out.events);
                }
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("mixed stream, apply (ops)", |b| {
        b.iter_batched_ref(
            || base.clone(),
            |e| {
                for cmd in &cmds {
                    black_box(e.apply(cmd));
                }
            },
            BatchSize::PerIteration,
        )
    });
    g.throughput(Throughput::Elements((base_events.len() + events.len()) as u64));
    g.bench_function("replay setup + stream (events)", |b| {
        b.iter(|| {
            let mut e = Engine::new(base.config().clone());
            for ev in base_events.iter().chain(&events) {
                e.apply_event(ev).unwrap();
            }
            black_box(e.next_order_id())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
