//! TWAP orders run by the sequencer's core on a manual clock: slices at their times, children in the account's
//! orders and trades, cancel, refusals, and replay of the log giving the same state.
#![allow(clippy::expect_used)]

use std::sync::Arc;

use alloy_primitives::{Address, B256};
use sova_auth::exchange::{self as ex, Domain, KeySelector, Params, VerifiedAction};
use sova_proto::exchange::{Reason, WriteReply};
use sova_runtime::Clock;
use sova_store::{ExAccount, ExLogRow};

use crate::catalog::{Catalog, ExchangeConfig};
use crate::core::{Core, Reply, Request, Touched};
use crate::now_ms;
use crate::twap::{SLICE_MS, TwapState};

const ALICE: u64 = 1001;
const BOB: u64 = 1002;

struct Harness {
    core: Core,
    clock: Clock,
    log: Vec<ExLogRow>,
    nonce: u64,
}

fn addr(byte: u8) -> Address {
    Address::from([byte; 20])
}

fn account(id: u64, byte: u8) -> ExAccount {
    ExAccount {
        account_id: i64::try_from(id).expect("small id"),
        address: format!("{:#x}", addr(byte)),
        master_id: None,
        label: None,
        created_at: 0,
    }
}

fn json<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("valid params")
}

impl Harness {
    fn new() -> Harness {
        let catalog = Arc::new(Catalog::new(&ExchangeConfig::default()).expect("default catalog"));
        let clock = Clock::manual(1_760_000_000_000);
        let mut core = Core::new(catalog);
        let log = core.setup(now_ms(&clock)).log;
        let mut h = Harness { core, clock, log, nonce: 0 };
        for (id, byte) in [(ALICE, 0xa1), (BOB, 0xb0)] {
            h.core.add_account(&account(id, byte));
        }
        h
    }

    fn run(&mut self, r: Request) -> Reply {
        let now = now_ms(&self.clock);
        let (mut replies, mut touched) = (Vec::new(), Touched::default());
        let mut writes = self.core.run(&[r], now, &mut replies, &mut touched);
        self.log.append(&mut writes.log);
        replies.pop().expect("one reply")
    }

    fn tick(&mut self) {
        self.run(Request::Tick).expect("tick");
    }

    fn faucet(&mut self, id: u64, byte: u8, coin: u32, amount: u64) {
        self.run(Request::Faucet { account: account(id, byte), coin, amount }).expect("faucet");
    }

    fn act(&mut self, byte: u8, params: Params) -> Reply {
        self.nonce += 1;
        let v = VerifiedAction {
            domain: Domain::Spot,
            action: params.action(),
            params,
            signer: addr(byte),
            key: KeySelector::Master,
            nonce: now_ms(&self.clock) + self.nonce,
            payload_hash: B256::ZERO,
        };
        self.run(Request::Action(Box::new(v)))
    }

    fn twap(&mut self, id: u64, byte: u8, side: u8, quantity: &str, minutes: u64) -> Reply {
        let p: ex::SpotNewTwapOrder = json(serde_json::json!({"accountID": id, "symbolID": 1, "side": side,
            "quantity": quantity, "minutes": minutes, "randomize": false}));
        self.act(byte, Params::SpotNewTwapOrder(p))
    }

    fn cancel(&mut self, id: u64, byte: u8, symbol: u64, twap: u64) -> Reply {
        let p: ex::CancelTwapOrder = json(serde_json::json!({"accountID": id, "symbolID": symbol, "orderID": twap}));
        self.act(byte, Params::CancelTwapOrder(p))
    }

    /// Bob rests `qty` BTC for sale at `price` USDC.
    fn ask(&mut self, cl: &str, price: &str, qty: &str) {
        let p: ex::SpotNewOrder = json(serde_json::json!({"accountID": BOB, "symbolID": 1, "clOrdID": cl, "side": 2,
            "type": 1, "timeInForce": 1, "price": price, "quantity": qty}));
        self.act(0xb0, Params::SpotNewOrder(p)).expect("ask rests");
    }

    fn twap_id(reply: Reply) -> u64 {
        match reply {
            Ok(Some(WriteReply::Twap(r))) => {
                assert_eq!(r.code, 0);
                r.order_id
            }
            other => panic!("expected a TWAP receipt, got {other:?}"),
        }
    }

    fn filled(&self, id: u64) -> String {
        let t = crate::read::twaps(&self.core, ALICE, None);
        t.twaps.iter().find(|t| t.order_id == id).map(|t| t.executed_qty.clone()).unwrap_or_default()
    }
}

fn refused(r: Reply, reason: Reason) {
    match r {
        Err(e) => assert_eq!(e.reason, reason, "{e}"),
        Ok(v) => panic!("expected {reason}, got {v:?}"),
    }
}

#[test]
fn slices_run_on_the_sequencer_clock_and_replay_to_the_same_state() {
    let mut h = Harness::new();
    h.faucet(ALICE, 0xa1, 1, 100_000 * 1_000_000); // 100k USDC
    h.faucet(BOB, 0xb0, 2, 100_000_000); // 1 BTC
    h.ask("a1", "100", "0.5");

    // 0.01 BTC over 2 minutes: 4 slices of 0.0025, one every 30 s, the first at once.
    let id = Harness::twap_id(h.twap(ALICE, 0xa1, 1, "0.01", 2));
    assert_eq!(id, 1);
    assert_eq!(h.filled(id), "0.0025", "the first slice goes out with the placement");
    let t = crate::read::twaps(&h.core, ALICE, None).twaps.remove(0);
    assert_eq!((t.active, t.slices_total, t.slices_done, t.next_active_at), (true, 4, 1, t.created_at + SLICE_MS));

    // Nothing before the next slice is due.
    h.clock.advance(10_000);
    h.tick();
    assert_eq!(h.filled(id), "0.0025");
    for (advance, want) in [(20_000, "0.005"), (SLICE_MS, "0.0075"), (SLICE_MS, "0.01")] {
        h.clock.advance(i64::try_from(advance).expect("small"));
        h.tick();
        assert_eq!(h.filled(id), want);
    }
    let t = crate::read::twaps(&h.core, ALICE, None).twaps.remove(0);
    assert_eq!((t.active, t.slices_done, t.executed_value.as_str()), (false, 4, "1"));
    assert!(!h.core.has_deadlines(), "no TWAP left to tick for");
    assert!(crate::read::ws_twaps(&h.core, ALICE).is_empty());

    // The children are the account's orders and trades: four IOC market buys, filled.
    let history = crate::read::order_history(&h.core, ALICE, None, crate::read::Window::default(), 100);
    assert_eq!(history.len(), 4);
    assert!(history.iter().all(|o| o.status == sova_proto::exchange::OrderStatus::Filled), "{history:?}");
    assert!(history.iter().all(|o| o.cl_ord_id.as_deref().is_some_and(|c| c.starts_with("twap-1-"))));
    assert_eq!(crate::read::user_trades(&h.core, ALICE, None, None, crate::read::Window::default(), 100).len(), 4);
    let btc = h.core.engine.balance(ALICE, 2);
    assert_eq!(btc.total(), 1_000_000 - 400, "0.01 BTC less the 0.04% taker fee");

    // Replay of the log (accounts first, as at start) gives the same state.
    let mut replayed = Core::new(h.core.catalog.clone());
    for (id, byte) in [(ALICE, 0xa1), (BOB, 0xb0)] {
        replayed.add_account(&account(id, byte));
    }
    for row in &h.log {
        replayed.replay(row).expect("replays");
    }
    assert_eq!(replayed.twaps, h.core.twaps);
    assert_eq!(replayed.engine.balances(ALICE), h.core.engine.balances(ALICE));
    assert_eq!(replayed.seq, h.core.seq);
}

#[test]
fn cancel_stops_further_slices() {
    let mut h = Harness::new();
    h.faucet(ALICE, 0xa1, 2, 100_000_000); // 1 BTC to sell
    h.faucet(BOB, 0xb0, 1, 100_000 * 1_000_000);
    let bid: ex::SpotNewOrder = json(serde_json::json!({"accountID": BOB, "symbolID": 1, "clOrdID": "b1", "side": 1,
        "type": 1, "timeInForce": 1, "price": "100", "quantity": "1"}));
    h.act(0xb0, Params::SpotNewOrder(bid)).expect("bid rests");

    // A sell over 5 minutes: 10 slices of 0.01.
    let id = Harness::twap_id(h.twap(ALICE, 0xa1, 2, "0.1", 5));
    h.clock.advance(i64::try_from(SLICE_MS).expect("small"));
    h.tick();
    assert_eq!(h.filled(id), "0.02");
    refused(h.cancel(ALICE, 0xa1, 2, id), Reason::UnknownTwap); // not its market
    refused(h.cancel(BOB, 0xb0, 1, id), Reason::UnknownTwap); // not Bob's
    assert_eq!(Harness::twap_id(h.cancel(ALICE, 0xa1, 1, id)), id);
    refused(h.cancel(ALICE, 0xa1, 1, id), Reason::UnknownTwap); // already ended
    for _ in 0..5 {
        h.clock.advance(i64::try_from(SLICE_MS).expect("small"));
        h.tick();
    }
    assert_eq!(h.filled(id), "0.02", "no slice after the cancel");
    let t = crate::read::twaps(&h.core, ALICE, None).twaps.remove(0);
    assert_eq!((t.active, t.status), (false, sova_proto::exchange::TwapStatus::Canceled));
    assert_eq!(h.core.twaps.get(id).map(|t| t.state), Some(TwapState::Canceled));
    assert!(!h.core.has_deadlines());
}

#[test]
fn bad_twaps_are_refused_with_their_reasons() {
    let mut h = Harness::new();
    h.faucet(ALICE, 0xa1, 1, 1_000_000);
    refused(h.twap(ALICE, 0xa1, 1, "0.01", 0), Reason::InvalidTwapDuration);
    refused(h.twap(ALICE, 0xa1, 1, "0.01", 1441), Reason::InvalidTwapDuration);
    refused(h.twap(ALICE, 0xa1, 1, "0", 5), Reason::InvalidQuantity);
    refused(h.twap(ALICE, 0xa1, 1, "0.00001", 5), Reason::InvalidQuantity); // below the lot
    let p: ex::SpotNewTwapOrder = json(serde_json::json!({"accountID": ALICE, "symbolID": 9, "side": 1,
        "quantity": "1", "minutes": 5, "randomize": false}));
    refused(h.act(0xa1, Params::SpotNewTwapOrder(p)), Reason::UnknownMarket);
    let p: ex::SpotNewTwapOrder = json(serde_json::json!({"accountID": ALICE, "symbolID": 1, "side": 1,
        "quantity": "1", "minutes": 5, "randomize": false, "reduceOnly": true}));
    refused(h.act(0xa1, Params::SpotNewTwapOrder(p)), Reason::InvalidField);
    refused(h.cancel(ALICE, 0xa1, 1, 77), Reason::UnknownTwap);
    for _ in 0..crate::twap::MAX_ACTIVE_PER_ACCOUNT {
        Harness::twap_id(h.twap(ALICE, 0xa1, 1, "0.01", 60));
    }
    refused(h.twap(ALICE, 0xa1, 1, "0.01", 60), Reason::TooManyTwaps);
    assert!(h.core.has_deadlines());
}
