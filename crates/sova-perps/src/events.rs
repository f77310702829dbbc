//! Commands (the engine's input), events (every state change) and per-item results.

use serde::{Deserialize, Serialize};
use sova_engine::{
    AccountId, CancelItem, ClOrdId, MarketId, OrderId, OrderRef, OrderType, ReplaceItem, Side, StpMode, TimeInForce,
    TradeId,
};

use crate::types::{CloseReason, MarginMode, Modifier, OrderStatus, PerpMarketConfig, PositionSide, Reject, StopSpec};

/// One input: an action and the sequencer's timestamp (Unix ms), the engine's only notion of time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    pub ts: u64,
    pub action: Action,
}

impl Command {
    pub fn new(ts: u64, action: Action) -> Command {
        Command { ts, action }
    }
}

/// What a command does. Batch actions give one result per item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    AddMarket(PerpMarketConfig),
    /// Collateral into an account's perps balance (spot -> perps through the treasury; faucet).
    TransferIn {
        account: AccountId,
        amount: u64,
    },
    /// Collateral out, at most [`crate::AccountState::withdrawable`].
    TransferOut {
        account: AccountId,
        amount: u64,
    },
    /// `updateLeverage`.
    UpdateLeverage {
        account: AccountId,
        market: MarketId,
        leverage: u32,
        mode: MarginMode,
    },
    /// `updateMargin` (quote atoms; > 0 adds to the isolated position, < 0 removes).
    UpdateMargin {
        account: AccountId,
        market: MarketId,
        amount: i64,
    },
    /// `newOrder` with one NORMAL or STOP order.
    NewOrder {
        account: AccountId,
        order: NewOrder,
    },
    /// `newOrder` with several items. If the first is a BRACKET, the batch is one bracket: the primary then up to
    /// two ATTACHED_STOP items; otherwise every item is independent (and none may be BRACKET or ATTACHED_STOP).
    BatchNew {
        account: AccountId,
        orders: Vec<NewOrder>,
    },
    Cancel {
        account: AccountId,
        cancel: CancelItem,
    },
    BatchCancel {
        account: AccountId,
        cancels: Vec<CancelItem>,
    },
    CancelAll {
        account: AccountId,
        market: Option<MarketId>,
    },
    /// `modifyOrder`: in place.
    Modify {
        account: AccountId,
        item: ModifyItem,
    },
    /// `replaceOrder`: cancel `orig`, place a new limit order of the same side, time in force, reduce-only flag
    /// and STP mode with `price` / `quantity` (defaults: the original's price and unfilled quantity), atomically
    /// (spot's [`ReplaceItem`]).
    Replace {
        account: AccountId,
        item: ReplaceItem,
    },
    ScheduleCancel {
        account: AccountId,
        deadline: Option<u64>,
    },
    /// The index price the sequencer computed (ignored while the index is pinned).
    SetIndex {
        market: MarketId,
        price: u64,
    },
    /// Sandbox: pin the index (`None` unpins).
    PinIndex {
        market: MarketId,
        price: Option<u64>,
    },
    /// Sandbox: pin the mark (`None` unpins; the next [`Action::MarkTick`] recomputes it).
    PinMark {
        market: MarketId,
        price: Option<u64>,
    },
    /// Recompute the mark of one market or all (every second).
    MarkTick {
        market: Option<MarketId>,
    },
    /// Take a premium sample for funding (every 5 s).
    SamplePremium {
        market: Option<MarketId>,
    },
    /// Sandbox: settle funding now from the samples since the last settlement.
    SettleFunding {
        market: Option<MarketId>,
    },
    /// Only advances time (dead-man switches, due funding settlements, liquidation slices).
    Tick,
}

/// A new order. Prices in ticks, quantities in lots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrder {
    pub market: MarketId,
    pub cl_ord_id: Option<ClOrdId>,
    pub side: Side,
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    /// Required for limit orders, absent for market orders.
    pub price: Option<u64>,
    pub quantity: u64,
    #[serde(default)]
    pub reduce_only: bool,
    #[serde(default)]
    pub position_side: PositionSide,
    #[serde(default)]
    pub modifier: Modifier,
    /// Required for STOP and ATTACHED_STOP, absent otherwise.
    #[serde(default)]
    pub stop: Option<StopSpec>,
    #[serde(default)]
    pub stp: StpMode,
}

impl NewOrder {
    /// A GTC limit order.
    pub fn limit(market: MarketId, side: Side, price: u64, quantity: u64) -> NewOrder {
        NewOrder {
            market,
            cl_ord_id: None,
            side,
            order_type: OrderType::Limit,
            time_in_force: TimeInForce::Gtc,
            price: Some(price),
            quantity,
            reduce_only: false,
            position_side: PositionSide::Both,
            modifier: Modifier::Normal,
            stop: None,
            stp: StpMode::default(),
        }
    }

    /// An IOC market order.
    pub fn market(market: MarketId, side: Side, quantity: u64) -> NewOrder {
        NewOrder {
            order_type: OrderType::Market,
            time_in_force: TimeInForce::Ioc,
            price: None,
            ..NewOrder::limit(market, side, 0, quantity)
        }
    }

    pub fn tif(self, time_in_force: TimeInForce) -> NewOrder {
        NewOrder { time_in_force, ..self }
    }
    pub fn cl(self, cl_ord_id: ClOrdId) -> NewOrder {
        NewOrder { cl_ord_id: Some(cl_ord_id), ..self }
    }
    pub fn reduce_only(self) -> NewOrder {
        NewOrder { reduce_only: true, ..self }
    }
    /// Makes it a STOP order with this trigger.
    pub fn stop(self, stop: StopSpec) -> NewOrder {
        NewOrder { modifier: Modifier::Stop, stop: Some(stop), ..self }
    }
    /// Makes it a BRACKET primary.
    pub fn bracket(self) -> NewOrder {
        NewOrder { modifier: Modifier::Bracket, ..self }
    }
    /// Makes it an ATTACHED_STOP with this trigger.
    pub fn attached(self, stop: StopSpec) -> NewOrder {
        NewOrder { modifier: Modifier::AttachedStop, stop: Some(stop), reduce_only: true, ..self }
    }
    pub fn stp(self, stp: StpMode) -> NewOrder {
        NewOrder { stp, ..self }
    }
}

/// `modifyOrder`: new price and/or new total quantity (`origQty`; must stay above what is filled) of an open
/// limit order, in place (same id). Priority is kept only if the price is unchanged and the quantity falls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModifyItem {
    pub market: MarketId,
    pub target: OrderRef,
    pub price: Option<u64>,
    pub quantity: Option<u64>,
}

/// An order entered the engine. `frozen` quote atoms of the account's available margin are reserved for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OrderAccepted {
    pub order_id: OrderId,
    pub account: AccountId,
    pub market: MarketId,
    pub cl_ord_id: Option<ClOrdId>,
    pub side: Side,
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    pub stp: StpMode,
    /// Ticks; 0 for market orders.
    pub price: u64,
    pub quantity: u64,
    pub reduce_only: bool,
    pub modifier: Modifier,
    pub stop: Option<StopSpec>,
    /// For ATTACHED_STOP: the bracket primary.
    pub primary: Option<OrderId>,
    /// Sent by the engine's liquidation (exempt from margin checks and ACCOUNT_LIQUIDATING).
    pub liquidation: bool,
    pub frozen: i128,
    pub ts: u64,
}

/// A fill at the maker's price. Positions, realised PnL, isolated margin and fees follow from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Trade {
    pub trade_id: TradeId,
    pub market: MarketId,
    pub price: u64,
    pub quantity: u64,
    /// Quote atoms: price x quantity x quote per tick-lot.
    pub notional: i128,
    pub taker_side: Side,
    pub maker_order: OrderId,
    pub taker_order: OrderId,
    pub maker_account: AccountId,
    pub taker_account: AccountId,
    /// Quote atoms, paid to the fee account.
    pub maker_fee: i128,
    pub taker_fee: i128,
    pub ts: u64,
}

/// Every state change, in order. [`crate::Perps::replay`] of these rebuilds the state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    MarketAdded {
        config: PerpMarketConfig,
        ts: u64,
    },
    TransferredIn {
        account: AccountId,
        amount: u64,
        ts: u64,
    },
    TransferredOut {
        account: AccountId,
        amount: u64,
        ts: u64,
    },
    LeverageSet {
        account: AccountId,
        market: MarketId,
        leverage: u32,
        mode: MarginMode,
        ts: u64,
    },
    /// Collateral moved into (> 0) or out of (< 0) an isolated position's margin.
    MarginMoved {
        account: AccountId,
        market: MarketId,
        amount: i128,
        ts: u64,
    },
    OrderAccepted(OrderAccepted),
    OrderRested {
        order_id: OrderId,
        ts: u64,
    },
    Trade(Trade),
    OrderClosed {
        order_id: OrderId,
        reason: CloseReason,
        ts: u64,
    },
    /// Modified in place: new price and total quantity; `requeue`: it lost its priority (leaves the book; it
    /// matches or rests again next). The frozen margin is reset to `frozen`.
    OrderModified {
        order_id: OrderId,
        price: u64,
        quantity: u64,
        frozen: i128,
        requeue: bool,
        ts: u64,
    },
    /// A reduce-only order cut to `quantity` (total, filled part included) because the position shrank, or an
    /// attached stop sized to what its primary filled when it fires.
    OrderReduced {
        order_id: OrderId,
        quantity: u64,
        ts: u64,
    },
    /// A stop fired: it is now a normal order (matches next), with `frozen` reserved.
    StopTriggered {
        order_id: OrderId,
        frozen: i128,
        ts: u64,
    },
    ScheduleCancelSet {
        account: AccountId,
        deadline: Option<u64>,
        ts: u64,
    },
    ScheduleCancelFired {
        account: AccountId,
        deadline: u64,
        ts: u64,
    },
    IndexSet {
        market: MarketId,
        price: u64,
        ts: u64,
    },
    IndexPinned {
        market: MarketId,
        price: Option<u64>,
        ts: u64,
    },
    MarkPinned {
        market: MarketId,
        price: Option<u64>,
        ts: u64,
    },
    /// The computed mark and the two EMAs (micro-ticks) behind it.
    MarkUpdated {
        market: MarketId,
        mark: u64,
        basis_ema: i128,
        book_ema: i128,
        ts: u64,
    },
    PremiumSampled {
        market: MarketId,
        premium_ppb: i64,
        ts: u64,
    },
    /// Every position of the market pays or receives `size x index x rate`; the samples restart. `scheduled`:
    /// the hourly settlement (moves the next funding time) rather than the sandbox's settle-now.
    FundingSettled {
        market: MarketId,
        rate_ppb: i64,
        index: u64,
        scheduled: bool,
        ts: u64,
    },
    /// `market`: `None` for the cross scope, the market for an isolated position.
    LiquidationStarted {
        account: AccountId,
        market: Option<MarketId>,
        equity: i128,
        maintenance: i128,
        ts: u64,
    },
    /// Step 1 waits for its next slice at `next_ts`.
    LiquidationScheduled {
        account: AccountId,
        market: Option<MarketId>,
        next_ts: u64,
    },
    LiquidationEnded {
        account: AccountId,
        market: Option<MarketId>,
        ts: u64,
    },
    /// Backstop: the account's position in `market` moves at `mark` to the insurance account.
    TakenOver {
        account: AccountId,
        market: MarketId,
        mark: u64,
        ts: u64,
    },
    /// Collateral moved between two accounts by a liquidation: the backstop's seizure (account -> insurance),
    /// a deficit covered by insurance (insurance -> account) or an ADL charge (counterparty -> account).
    CollateralMoved {
        from: AccountId,
        to: AccountId,
        amount: i128,
        ts: u64,
    },
    /// Auto-deleveraging: `quantity` lots of the bankrupt `account`'s position in `market` close against the
    /// opposite position of `counterparty` at `price` (the mark), no fees.
    Adl {
        account: AccountId,
        counterparty: AccountId,
        market: MarketId,
        quantity: u64,
        price: u64,
        ts: u64,
    },
}

/// A successful item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub order_id: Option<OrderId>,
    pub status: Option<OrderStatus>,
}

impl Ack {
    pub(crate) const NONE: Ack = Ack { order_id: None, status: None };
}

pub type ItemResult = Result<Ack, Reject>;

/// What one command produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    pub events: Vec<Event>,
    pub results: Vec<ItemResult>,
}

impl Output {
    pub fn clear(&mut self) {
        self.events.clear();
        self.results.clear();
    }
    pub fn result(&self) -> Option<&ItemResult> {
        self.results.first()
    }
}
