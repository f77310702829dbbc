//! Perps engine speed on one thread, so the sequencer integration can quote numbers:
//!
//! * `order + fill`: a maker rests a 1-lot limit order and a taker takes it with a market order (margin checks,
//!   freezing, fees, positions); sides alternate so positions stay small. Throughput counts commands.
//! * `mark update, N positions`: a pinned mark moves with N open positions in the market (every position's
//!   account is checked for liquidation: today a full scan of the market's positions; none liquidates).
//! * `funding settlement, N positions`: the sandbox's settle-now with N positions (one row each).
#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use sova_perps::*;

#[path = "../tests/common/mod.rs"]
mod common;

use common::{BTC, USDC, btc_config as market};

fn base(accounts: &[AccountId]) -> (Perps, u64) {
    let mut p =
        Perps::new(PerpsConfig { history: 16, closed_orders: 1024, recent_trades: 64, ..PerpsConfig::default() });
    let mut ts = 1_000;
    let mut go = |p: &mut Perps, a: Action| {
        ts += 1;
        let out = p.apply(&Command::new(ts, a));
        assert!(out.results.iter().all(|r| r.is_ok()));
    };
    go(&mut p, Action::AddMarket(market()));
    for a in accounts {
        go(&mut p, Action::TransferIn { account: *a, amount: 1_000_000_000 * USDC });
    }
    go(&mut p, Action::PinMark { market: BTC, price: Some(50_000) });
    go(&mut p, Action::SetIndex { market: BTC, price: 50_000 });
    (p, ts)
}

/// N accounts each long 1 lot against one market maker (short N).
fn with_positions(n: u64) -> (Perps, u64) {
    let mm: AccountId = 100;
    let mut accts: Vec<AccountId> = vec![mm];
    accts.extend((0..n).map(|i| 1_000 + i));
    let (mut p, mut ts) = base(&accts);
    let mut out = Output::default();
    for i in 0..n {
        ts += 1;
        p.apply_into(
            &Command::new(ts, Action::NewOrder { account: mm, order: NewOrder::limit(BTC, Side::Sell, 50_000, 1) }),
            &mut out,
        );
        p.apply_into(
            &Command::new(ts, Action::NewOrder { account: 1_000 + i, order: NewOrder::market(BTC, Side::Buy, 1) }),
            &mut out,
        );
    }
    assert_eq!(p.market_view(BTC).unwrap().open_interest, i128::from(n as u32));
    (p, ts)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("perps");
    g.sample_size(10);
    g.measurement_time(std::time::Duration::from_secs(5));

    // Order + fill loop.
    const N: usize = 20_000;
    let (p0, ts0) = base(&[10, 11]);
    let mut cmds = Vec::with_capacity(2 * N);
    for i in 0..N {
        let (ms, ts) = if i % 2 == 0 { (Side::Sell, Side::Buy) } else { (Side::Buy, Side::Sell) };
        let t = ts0 + 1 + i as u64;
        cmds.push(Command::new(t, Action::NewOrder { account: 10, order: NewOrder::limit(BTC, ms, 50_000, 1) }));
        cmds.push(Command::new(t, Action::NewOrder { account: 11, order: NewOrder::market(BTC, ts, 1) }));
    }
    g.throughput(Throughput::Elements(cmds.len() as u64));
    g.bench_function("order + fill (commands)", |b| {
        b.iter_batched(
            || p0.clone(),
            |mut p| {
                let mut out = Output::default();
                for c in &cmds {
                    p.apply_into(c, &mut out);
                }
                black_box(p.next_order_id())
            },
            BatchSize::LargeInput,
        )
    });

    for n in [1_000u64, 10_000, 100_000] {
        let (p, ts) = with_positions(n);
        g.throughput(Throughput::Elements(1));
        g.bench_function(format!("mark update, {n} positions"), |b| {
            let mut p = p.clone();
            let mut out = Output::default();
            let mut t = ts;
            b.iter(|| {
                t += 1;
                let price = if t % 2 == 0 { 50_010 } else { 49_990 };
                p.apply_into(&Command::new(t, Action::PinMark { market: BTC, price: Some(price) }), &mut out);
                black_box(out.events.len())
            })
        });
        g.bench_function(format!("funding settlement, {n} positions"), |b| {
            let mut p = p.clone();
            let mut out = Output::default();
            let mut t = ts;
            b.iter(|| {
                t += 1;
                p.apply_into(&Command::new(t, Action::SettleFunding { market: Some(BTC) }), &mut out);
                black_box(out.events.len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
