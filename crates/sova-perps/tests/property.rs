//! Random order streams, price paths and funding rounds: after every command the invariants hold (conservation
//! of collateral + margins + PnL + fees, frozen sums, books, open interest), and replaying the emitted events
//! gives the same digest.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use proptest::prelude::*;
use sova_perps::*;

#[derive(Clone, Debug)]
enum Op {
    Limit {
        acct: usize,
        buy: bool,
        off: i64,
        qty: u64,
        tif: u8,
        ro: bool,
    },
    Market {
        acct: usize,
        buy: bool,
        qty: u64,
        ro: bool,
    },
    Stop {
        acct: usize,
        buy: bool,
        off: i64,
        qty: u64,
        kind: u8,
        trig: u8,
    },
    Bracket {
        acct: usize,
        buy: bool,
        off: i64,
        qty: u64,
        sl: i64,
        tp: i64,
    },
    Cancel {
        acct: usize,
        id: u64,
    },
    CancelAll {
        acct: usize,
    },
    Modify {
        acct: usize,
        id: u64,
        off: i64,
        qty: u64,
    },
    Replace {
        acct: usize,
        id: u64,
        off: i64,
    },
    Leverage {
        acct: usize,
        lev: u32,
        iso: bool,
    },
    Margin {
        acct: usize,
        amount: i64,
    },
    TransferOut {
        acct: usize,
        amount: u64,
    },
    TransferIn {
        acct: usize,
        amount: u64,
    },
    /// Move the price path (basis points).
    Move {
        bp: i64,
    },
    PinMark,
    UnpinMark,
    Index,
    MarkTick,
    Sample,
    Settle,
    Wait {
        ms: u64,
    },
    Deadman {
        acct: usize,
        ms: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let acct = 0usize..4;
    prop_oneof![
        8 => (acct.clone(), any::<bool>(), -15i64..40, 1u64..400, 0u8..4, prop::bool::weighted(0.2))
            .prop_map(|(acct, buy, off, qty, tif, ro)| Op::Limit { acct, buy, off, qty, tif, ro }),
        4 => (acct.clone(), any::<bool>(), 1u64..400, prop::bool::weighted(0.2))
            .prop_map(|(acct, buy, qty, ro)| Op::Market { acct, buy, qty, ro }),
        2 => (acct.clone(), any::<bool>(), -600i64..600, 1u64..40, 0u8..2, 0u8..3)
            .prop_map(|(acct, buy, off, qty, kind, trig)| Op::Stop { acct, buy, off, qty, kind, trig }),
        1 => (acct.clone(), any::<bool>(), -20i64..20, 1u64..40, 100i64..1500, 100i64..1500)
            .prop_map(|(acct, buy, off, qty, sl, tp)| Op::Bracket { acct, buy, off, qty, sl, tp }),
        3 => (acct.clone(), 1u64..200).prop_map(|(acct, id)| Op::Cancel { acct, id }),
        1 => acct.clone().prop_map(|acct| Op::CancelAll { acct }),
        2 => (acct.clone(), 1u64..200, -20i64..20, 1u64..60).prop_map(|(acct, id, off, qty)| Op::Modify { acct, id, off, qty }),
        1 => (acct.clone(), 1u64..200, -20i64..20).prop_map(|(acct, id, off)| Op::Replace { acct, id, off }),
        1 => (acct.clone(), 1u32..45, any::<bool>()).prop_map(|(acct, lev, iso)| Op::Leverage { acct, lev, iso }),
        1 => (acct.clone(), -300i64..300).prop_map(|(acct, amount)| Op::Margin { acct, amount }),
        1 => (acct.clone(), 1u64..800).prop_map(|(acct, amount)| Op::TransferOut { acct, amount }),
        1 => (acct.clone(), 1u64..800).prop_map(|(acct, amount)| Op::TransferIn { acct, amount }),
        4 => (-800i64..800).prop_map(|bp| Op::Move { bp }),
        3 => Just(Op::PinMark),
        1 => Just(Op::UnpinMark),
        2 => Just(Op::Index),
        2 => Just(Op::MarkTick),
        2 => Just(Op::Sample),
        1 => Just(Op::Settle),
        2 => (1u64..1_200_000).prop_map(|ms| Op::Wait { ms }),
        1 => (acct, 1u64..100_000).prop_map(|(acct, ms)| Op::Deadman { acct, ms }),
    ]
}

const ACCTS: [AccountId; 4] = [A, B, C, D];

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut p = Perps::new(PerpsConfig::default());
    let mut log: Vec<Event> = Vec::new();
    let mut ts = 1_000u64;
    let mut price: i64 = 50_000;
    let mut cmds = vec![Action::AddMarket(btc_config())];
    for a in ACCTS {
        cmds.push(Action::TransferIn { account: a, amount: 3_000 * USDC });
    }
    cmds.push(Action::SetIndex { market: BTC, price: 50_000 });
    cmds.push(Action::MarkTick { market: None });
    let px = |price: i64, off: i64| u64::try_from((price + off).max(1)).unwrap();
    for o in ops {
        let action = match o {
            Op::Limit { acct, buy, off, qty, tif, ro } => {
                let side = if buy { Side::Buy } else { Side::Sell };
                let tif = [TimeInForce::Gtc, TimeInForce::Ioc, TimeInForce::Fok, TimeInForce::Gtx][tif as usize];
                // Positive offsets are aggressive (cross the spread), negative ones passive.
                let off = if buy { off } else { -off };
                let mut o = NewOrder::limit(BTC, side, px(price, off), qty).tif(tif);
                o.reduce_only = ro;
                Action::NewOrder { account: ACCTS[acct], order: o }
            }
            Op::Market { acct, buy, qty, ro } => {
                let side = if buy { Side::Buy } else { Side::Sell };
                let mut o = NewOrder::market(BTC, side, qty);
                o.reduce_only = ro;
                Action::NewOrder { account: ACCTS[acct], order: o }
            }
            Op::Stop { acct, buy, off, qty, kind, trig } => {
                let side = if buy { Side::Buy } else { Side::Sell };
                let stop_type = if kind == 0 { StopType::StopLoss } else { StopType::TakeProfit };
                let trigger = [TriggerType::Last, TriggerType::Mark, TriggerType::Index][trig as usize];
                let o =
                    NewOrder::market(BTC, side, qty).stop(StopSpec { stop_price: px(price, off), stop_type, trigger });
                Action::NewOrder { account: ACCTS[acct], order: o }
            }
            Op::Bracket { acct, buy, off, qty, sl, tp } => {
                let side = if buy { Side::Buy } else { Side::Sell };
                let dir = if buy { 1 } else { -1 };
                let entry = px(price, off);
                let mk = |t, d: i64| {
                    NewOrder::market(BTC, side.opposite(), qty).attached(StopSpec {
                        stop_price: px(entry as i64, d),
                        stop_type: t,
                        trigger: TriggerType::Mark,
                    })
                };
                let orders = vec![
                    NewOrder::limit(BTC, side, entry, qty).bracket(),
                    mk(StopType::StopLoss, -dir * sl),
                    mk(StopType::TakeProfit, dir * tp),
                ];
                Action::BatchNew { account: ACCTS[acct], orders }
            }
            Op::Cancel { acct, id } => {
                Action::Cancel { account: ACCTS[acct], cancel: CancelItem { market: BTC, target: OrderRef::Id(id) } }
            }
            Op::CancelAll { acct } => Action::CancelAll { account: ACCTS[acct], market: None },
            Op::Modify { acct, id, off, qty } => Action::Modify {
                account: ACCTS[acct],
                item: ModifyItem {
                    market: BTC,
                    target: OrderRef::Id(id),
                    price: Some(px(price, off)),
                    quantity: Some(qty),
                },
            },
            Op::Replace { acct, id, off } => Action::Replace {
                account: ACCTS[acct],
                item: ReplaceItem {
                    market: BTC,
                    orig: OrderRef::Id(id),
                    cl_ord_id: None,
                    price: Some(px(price, off)),
                    quantity: None,
                },
            },
            Op::Leverage { acct, lev, iso } => Action::UpdateLeverage {
                account: ACCTS[acct],
                market: BTC,
                leverage: lev,
                mode: if iso { MarginMode::Isolated } else { MarginMode::Cross },
            },
            Op::Margin { acct, amount } => {
                Action::UpdateMargin { account: ACCTS[acct], market: BTC, amount: amount * 1_000_000 }
            }
            Op::TransferOut { acct, amount } => Action::TransferOut { account: ACCTS[acct], amount: amount * USDC },
            Op::TransferIn { acct, amount } => Action::TransferIn { account: ACCTS[acct], amount: amount * USDC },
            Op::Move { bp } => {
                price = (price + price * bp / 10_000).clamp(20_000, 120_000);
                continue;
            }
            Op::PinMark => Action::PinMark { market: BTC, price: Some(px(price, 0)) },
            Op::UnpinMark => Action::PinMark { market: BTC, price: None },
            Op::Index => Action::SetIndex { market: BTC, price: px(price, 0) },
            Op::MarkTick => Action::MarkTick { market: None },
            Op::Sample => Action::SamplePremium { market: Some(BTC) },
            Op::Settle => Action::SettleFunding { market: None },
            Op::Wait { ms } => {
                ts += ms;
                Action::Tick
            }
            Op::Deadman { acct, ms } => Action::ScheduleCancel { account: ACCTS[acct], deadline: Some(ts + ms) },
        };
        cmds.push(action);
    }
    for action in cmds {
        ts += 7;
        let before_supply = p.supply();
        let transfer = matches!(action, Action::TransferIn { .. } | Action::TransferOut { .. });
        let out = p.apply(&Command::new(ts, action.clone()));
        if let Err(e) = p.check_invariants() {
            return Err(TestCaseError::fail(format!("{action:?}: {e}\n{:?}", out.events)));
        }
        prop_assert_eq!(p.total_collateral(), p.supply());
        // Liquidation is never missed: no scope stays below maintenance outside a liquidation.
        prop_assert!(p.below_maintenance().is_empty(), "{:?} after {:?}", p.below_maintenance(), action);
        if !transfer {
            prop_assert_eq!(before_supply, p.supply(), "only transfers change the total");
        }
        log.extend(out.events);
    }
    if std::env::var("PERPS_STATS").is_ok() {
        let mut k: std::collections::BTreeMap<String, usize> = Default::default();
        for e in &log {
            let n = format!("{e:?}");
            *k.entry(n.split([' ', '(', '{']).next().unwrap_or("").to_string()).or_default() += 1;
        }
        eprintln!("{k:?}");
    }
    let r = Perps::replay(PerpsConfig::default(), &log).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(r.digest(), p.digest());
    prop_assert!(r.snapshot() == p.snapshot());
    // The JSON round trip of the log replays to the same state too.
    let json = serde_json::to_string(&log).unwrap();
    let back: Vec<Event> = serde_json::from_str(&json).unwrap();
    let r2 = Perps::replay(PerpsConfig::default(), &back).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(r2.digest(), p.digest());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_streams_conserve_and_replay(ops in prop::collection::vec(op(), 1..250)) {
        run(ops)?;
    }
}

/// A rejected command changes nothing (single-item commands).
#[test]
fn rejections_change_nothing() {
    let mut w = World::new();
    w.fund(A, 100);
    let d = w.p.digest();
    let out = w.run(Action::NewOrder { account: A, order: NewOrder::limit(BTC, Side::Buy, 50_000, 1_000) });
    assert_eq!(out.result(), Some(&Err(Reject::InsufficientMargin)));
    assert!(out.events.is_empty());
    assert_eq!(d, w.p.digest());
}
