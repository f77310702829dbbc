//! Shared fixtures: BTC-USD with a $1 tick and 0.001 BTC lot, so one tick x one lot is 1 000 atoms of USDC
//! (6 decimals): 100 lots (0.1 BTC) at 50 000 is 5 000 USDC = 5 000 000 000 atoms. Maker 0.02 %, taker 0.05 %,
//! 40x max (MMR 1.25 %), init leverage 10.
#![allow(dead_code, clippy::unwrap_used)]

use sova_perps::*;

pub const BTC: MarketId = 1;
pub const USDC: u64 = 1_000_000;
pub const FEE: AccountId = 1;
pub const INS: AccountId = 2;
pub const A: AccountId = 10;
pub const B: AccountId = 11;
pub const C: AccountId = 12;
pub const D: AccountId = 13;

pub fn btc_config() -> PerpMarketConfig {
    let m = MarketConfig {
        id: BTC,
        name: "BTC-USD".into(),
        base: 1,
        quote: 0,
        price_decimals: 0,
        tick_size: 1,
        lot_size: 100_000,
        min_notional: 0,
        maker_fee_ppm: 200,
        taker_fee_ppm: 500,
    };
    PerpMarketConfig::new(m, 8, 6, 40)
}

pub struct World {
    pub p: Perps,
    pub ts: u64,
    pub log: Vec<Event>,
}

impl World {
    pub fn new() -> World {
        let mut w = World { p: Perps::new(PerpsConfig::default()), ts: 1_000, log: Vec::new() };
        w.ok(Action::AddMarket(btc_config()));
        w
    }

    /// Runs a command one ms after the previous one; checks invariants.
    pub fn run(&mut self, action: Action) -> Output {
        self.ts += 1;
        self.at(self.ts, action)
    }

    pub fn at(&mut self, ts: u64, action: Action) -> Output {
        self.ts = ts;
        let out = self.p.apply(&Command::new(ts, action));
        self.log.extend(out.events.iter().cloned());
        if let Err(e) = self.p.check_invariants() {
            panic!("invariants after {:?}: {e}", out.events);
        }
        out
    }

    pub fn ok(&mut self, action: Action) -> Output {
        let out = self.run(action.clone());
        for r in &out.results {
            assert!(r.is_ok(), "{action:?} -> {r:?}");
        }
        out
    }

    pub fn err(&mut self, action: Action) -> Reject {
        let before = self.p.digest();
        let out = self.run(action.clone());
        assert!(out.events.is_empty(), "rejected item emitted {:?}", out.events);
        assert_eq!(before, self.p.digest());
        match out.result() {
            Some(Err(e)) => *e,
            r => panic!("{action:?} should fail, got {r:?}"),
        }
    }

    pub fn fund(&mut self, a: AccountId, usdc: u64) {
        self.ok(Action::TransferIn { account: a, amount: usdc * USDC });
    }

    pub fn order(&mut self, a: AccountId, o: NewOrder) -> Output {
        self.ok(Action::NewOrder { account: a, order: o })
    }

    pub fn id(out: &Output) -> OrderId {
        out.result().unwrap().as_ref().unwrap().order_id.unwrap()
    }

    pub fn limit(&mut self, a: AccountId, side: Side, price: u64, lots: u64) -> OrderId {
        let out = self.order(a, NewOrder::limit(BTC, side, price, lots));
        Self::id(&out)
    }

    pub fn market(&mut self, a: AccountId, side: Side, lots: u64) -> Output {
        self.order(a, NewOrder::market(BTC, side, lots))
    }

    pub fn pin_mark(&mut self, price: u64) -> Output {
        self.ok(Action::PinMark { market: BTC, price: Some(price) })
    }

    pub fn collateral(&self, a: AccountId) -> i128 {
        self.p.account_state(a).map_or(0, |s| s.collateral)
    }

    pub fn size(&self, a: AccountId) -> i128 {
        self.p.position(a, BTC).map_or(0, |p| p.size)
    }

    /// Replay of the whole log gives the same state.
    pub fn check_replay(&self) {
        let r = Perps::replay(PerpsConfig::default(), &self.log).unwrap();
        assert_eq!(r.snapshot(), self.p.snapshot());
        assert_eq!(r.digest(), self.p.digest());
        let json = serde_json::to_string(&self.log).unwrap();
        let back: Vec<Event> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, self.log);
    }
}

/// A long of `lots` for `a` at `price`, sold by `b` (a resting limit sell, then a market buy).
pub fn open_long(w: &mut World, a: AccountId, b: AccountId, price: u64, lots: u64) {
    w.limit(b, Side::Sell, price, lots);
    w.market(a, Side::Buy, lots);
}
