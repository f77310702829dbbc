//! Commands (the engine's input), events (every state change it makes) and per-item results.

use serde::{Deserialize, Serialize};

use crate::types::{
    AccountId, ClOrdId, CloseReason, CoinConfig, CoinId, MarketConfig, MarketId, OrderId, OrderStatus, OrderType,
    Reject, Side, StpMode, TimeInForce, TradeId,
};

/// One input to [`crate::Engine::apply`]: an action and the sequencer's timestamp (Unix ms). The engine never reads
/// a clock; `ts` is its only notion of time (order and trade times, dead-man switch deadlines).
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

/// What a command does. Single-item actions give one result; batch actions give one result per item, each item
/// applied on its own (a failed item does not undo or stop the others).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Registers a coin.
    AddCoin(CoinConfig),
    /// Registers a market over two registered coins.
    AddMarket(MarketConfig),
    /// Credits an account (created on first use) from outside the engine: faucet, on-chain deposit.
    Deposit { account: AccountId, coin: CoinId, amount: u64 },
    /// Debits an account's available balance to outside the engine.
    Withdraw { account: AccountId, coin: CoinId, amount: u64 },
    /// Moves available balance between two accounts (`transferAsset`); the receiver is created on first use.
    Transfer { from: AccountId, to: AccountId, coin: CoinId, amount: u64 },
    /// `newOrder`.
    NewOrder { account: AccountId, order: NewOrder },
    /// `batchNewOrder`.
    BatchNew { account: AccountId, orders: Vec<NewOrder> },
    /// `cancelOrder`.
    Cancel { account: AccountId, cancel: CancelItem },
    /// `batchCancelOrder`.
    BatchCancel { account: AccountId, cancels: Vec<CancelItem> },
    /// Cancels every open order of the account, in one market or all.
    CancelAll { account: AccountId, market: Option<MarketId> },
    /// One item of `replaceOrder`.
    Replace { account: AccountId, item: ReplaceItem },
    /// `replaceOrder` with several items.
    BatchReplace { account: AccountId, items: Vec<ReplaceItem> },
    /// `scheduleCancel`: arm (or move) the account's dead-man switch, or clear it with `None`.
    ScheduleCancel { account: AccountId, deadline: Option<u64> },
    /// Only advances time (fires dead-man switches whose deadline has come).
    Tick,
}

/// A new order. Prices are in ticks, quantities in lots, funds in quote atoms (see [`crate::MarketSpec`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrder {
    pub market: MarketId,
    pub cl_ord_id: Option<ClOrdId>,
    pub side: Side,
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    /// Required for limit orders, absent for market orders.
    pub price: Option<u64>,
    /// Required except for market buys given by `funds`.
    pub quantity: Option<u64>,
    /// Market buys only: the most quote to spend.
    pub funds: Option<u64>,
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
            quantity: Some(quantity),
            funds: None,
            stp: StpMode::default(),
        }
    }

    /// An IOC market order by quantity.
    pub fn market(market: MarketId, side: Side, quantity: u64) -> NewOrder {
        NewOrder {
            market,
            cl_ord_id: None,
            side,
            order_type: OrderType::Market,
            time_in_force: TimeInForce::Ioc,
            price: None,
            quantity: Some(quantity),
            funds: None,
            stp: StpMode::default(),
        }
    }

    /// An IOC market buy spending at most `funds` quote atoms.
    pub fn market_buy_funds(market: MarketId, funds: u64) -> NewOrder {
        NewOrder { quantity: None, funds: Some(funds), ..NewOrder::market(market, Side::Buy, 0) }
    }

    pub fn tif(self, time_in_force: TimeInForce) -> NewOrder {
        NewOrder { time_in_force, ..self }
    }

    pub fn cl(self, cl_ord_id: ClOrdId) -> NewOrder {
        NewOrder { cl_ord_id: Some(cl_ord_id), ..self }
    }

    pub fn stp(self, stp: StpMode) -> NewOrder {
        NewOrder { stp, ..self }
    }
}

/// Which order: by the engine's id or by the client order id of an open order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderRef {
    Id(OrderId),
    ClOrdId(ClOrdId),
}

/// One cancel: the order must be open, belong to the account and trade in `market`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelItem {
    pub market: MarketId,
    pub target: OrderRef,
}

/// One replace: cancel `orig` and place a new limit order of the same side, time in force and STP mode, with
/// `price` (default: the original's) and `quantity` (default: the original's unfilled quantity), atomically.
/// The new order has a new id and goes to the back of its price level. `cl_ord_id` is the new order's client id
/// (default: the original's); it may equal the original's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplaceItem {
    pub market: MarketId,
    pub orig: OrderRef,
    pub cl_ord_id: Option<ClOrdId>,
    pub price: Option<u64>,
    pub quantity: Option<u64>,
}

/// An order entered the engine: its funds are locked. It matches (trades follow), then either rests
/// ([`Event::OrderRested`]) or closes ([`Event::OrderClosed`]) within the same command.
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
    pub quantity: Option<u64>,
    pub funds: Option<u64>,
    /// Atoms locked: quote for buys, base for sells.
    pub locked: u64,
    pub ts: u64,
}

/// A fill between a resting maker and an incoming taker, at the maker's price. The buyer receives base and pays
/// its fee in base; the seller receives quote and pays its fee in quote; fees go to the fee account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Trade {
    pub trade_id: TradeId,
    pub market: MarketId,
    /// Ticks.
    pub price: u64,
    /// Lots.
    pub quantity: u64,
    /// Quote atoms: price x quantity x quote per tick-lot.
    pub quote_amount: u64,
    /// Base atoms: quantity x lot size.
    pub base_amount: u64,
    pub taker_side: Side,
    pub maker_order: OrderId,
    pub taker_order: OrderId,
    pub maker_account: AccountId,
    pub taker_account: AccountId,
    /// In the coin the maker receives.
    pub maker_fee: u64,
    /// In the coin the taker receives.
    pub taker_fee: u64,
    /// Lots left on the maker after this fill (0: the maker is filled and leaves the book).
    pub maker_remaining: u64,
    /// Lots left on the taker after this fill (always 0 for a market buy given by funds only, which has no
    /// quantity; its end comes with [`Event::OrderClosed`] as for every taker).
    pub taker_remaining: u64,
    pub ts: u64,
}

impl Trade {
    pub fn buyer_order(&self) -> OrderId {
        if self.taker_side == Side::Buy { self.taker_order } else { self.maker_order }
    }
    pub fn seller_order(&self) -> OrderId {
        if self.taker_side == Side::Sell { self.taker_order } else { self.maker_order }
    }
    pub fn buyer_account(&self) -> AccountId {
        if self.taker_side == Side::Buy { self.taker_account } else { self.maker_account }
    }
    pub fn seller_account(&self) -> AccountId {
        if self.taker_side == Side::Sell { self.taker_account } else { self.maker_account }
    }
}

/// An order left the book (or, as a taker, ended without resting). `released` atoms of its lock go back to
/// available.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OrderClosed {
    pub order_id: OrderId,
    pub account: AccountId,
    pub market: MarketId,
    pub reason: CloseReason,
    pub status: OrderStatus,
    /// Lots filled over the order's life.
    pub filled: u64,
    pub released: u64,
    pub ts: u64,
}

/// Every state change, in order. Applying the same events to an engine built with the same [`crate::EngineConfig`]
/// gives the same state ([`crate::Engine::replay`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    CoinAdded(CoinConfig),
    MarketAdded(MarketConfig),
    Deposited {
        account: AccountId,
        coin: CoinId,
        amount: u64,
        ts: u64,
    },
    Withdrawn {
        account: AccountId,
        coin: CoinId,
        amount: u64,
        ts: u64,
    },
    Transferred {
        from: AccountId,
        to: AccountId,
        coin: CoinId,
        amount: u64,
        ts: u64,
    },
    OrderAccepted(OrderAccepted),
    Trade(Trade),
    /// The taker's unfilled rest joined the back of its price level.
    OrderRested {
        order_id: OrderId,
        ts: u64,
    },
    OrderClosed(OrderClosed),
    /// The dead-man switch was armed or moved (`Some`) or cleared (`None`).
    ScheduleCancelSet {
        account: AccountId,
        deadline: Option<u64>,
        ts: u64,
    },
    /// The dead-man switch fired (and is cleared); the account's open orders close next, each with
    /// [`CloseReason::ScheduleCancel`].
    ScheduleCancelFired {
        account: AccountId,
        deadline: u64,
        ts: u64,
    },
}

/// A successful item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// The new order (new order, replace), or the cancelled one (cancel).
    pub order_id: Option<OrderId>,
    /// The order's status when the command finished.
    pub status: Option<OrderStatus>,
}

impl Ack {
    pub(crate) const NONE: Ack = Ack { order_id: None, status: None };
}

/// One item's result.
pub type ItemResult = Result<Ack, Reject>;

/// What one command produced. Reuse one `Output` with [`crate::Engine::apply_into`] to avoid allocating.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// State changes, to append to the log and publish.
    pub events: Vec<Event>,
    /// One per item (one for single-item commands, none for `Tick`).
    pub results: Vec<ItemResult>,
}

impl Output {
    pub fn clear(&mut self) {
        self.events.clear();
        self.results.clear();
    }

    /// The single result of a single-item command.
    pub fn result(&self) -> Option<&ItemResult> {
        self.results.first()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Events are copied into the output on the hot path; at 128 bytes or less the copy is inline, not a call.
    #[test]
    fn events_stay_small() {
        assert!(size_of::<Event>() <= 128, "Event is {} bytes", size_of::<Event>());
        assert_eq!(size_of::<Option<ClOrdId>>(), 40);
    }
}
