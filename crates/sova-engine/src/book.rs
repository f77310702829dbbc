//! Order storage and the order book.
//!
//! Orders live in a slab (`Vec` plus free list) and are addressed by slot; a slot never moves while its order is
//! open. Each price level is an intrusive doubly linked FIFO through the orders' `prev`/`next` slots, so adding
//! at the back and removing anywhere are O(1) with no allocation; levels are kept in a `BTreeMap` by price
//! (O(log levels) to find or create one). Each account's open orders form a second intrusive list
//! (`aprev`/`anext`), in acceptance order.

use std::collections::BTreeMap;

use crate::types::{ClOrdId, OrderId, OrderStatus, OrderType, Side, StpMode, TimeInForce};

pub(crate) const NIL: u32 = u32::MAX;

#[derive(Clone, Debug)]
pub(crate) struct Order {
    pub id: OrderId,
    /// Account index (not id).
    pub account: u32,
    /// Market index (not id).
    pub market: u32,
    pub side: Side,
    pub order_type: OrderType,
    pub tif: TimeInForce,
    pub stp: StpMode,
    pub status: OrderStatus,
    pub in_book: bool,
    /// Ticks (0 for market orders).
    pub price: u64,
    pub quantity: Option<u64>,
    pub funds: Option<u64>,
    /// Lots still to fill; `u64::MAX` for a market buy given by funds only.
    pub remaining: u64,
    pub filled: u64,
    /// Quote atoms traded.
    pub executed_value: u64,
    /// Atoms still locked for this order (quote for buys, base for sells).
    pub locked: u64,
    pub cl_ord_id: Option<ClOrdId>,
    pub created: u64,
    pub updated: u64,
    /// Index of its level in the book (while `in_book`).
    pub level: u32,
    pub prev: u32,
    pub next: u32,
    pub aprev: u32,
    pub anext: u32,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Slab {
    pub orders: Vec<Order>,
    free: Vec<u32>,
}

impl Slab {
    pub fn alloc(&mut self, o: Order) -> u32 {
        if let Some(s) = self.free.pop() {
            self.orders[s as usize] = o;
            s
        } else {
            self.orders.push(o);
            (self.orders.len() - 1) as u32
        }
    }

    pub fn free(&mut self, slot: u32) {
        self.free.push(slot);
    }

    #[inline]
    pub fn get(&self, slot: u32) -> &Order {
        &self.orders[slot as usize]
    }

    #[inline]
    pub fn get_mut(&mut self, slot: u32) -> &mut Order {
        &mut self.orders[slot as usize]
    }
}

/// One price level: a FIFO of orders and their total unfilled quantity.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Level {
    pub head: u32,
    pub tail: u32,
    pub count: u32,
    /// Lots.
    pub qty: u64,
}

impl Default for Level {
    fn default() -> Self {
        Level { head: NIL, tail: NIL, qty: 0, count: 0 }
    }
}

/// Both sides of one market. Levels live in a small slab (each order knows its level's index, so removing an order
/// or filling part of it needs no search); each side maps price -> level index in a `BTreeMap`, touched only to
/// find or create a level and to drop an empty one.
#[derive(Clone, Debug, Default)]
pub(crate) struct Book {
    pub bids: BTreeMap<u64, u32>,
    pub asks: BTreeMap<u64, u32>,
    levels: Vec<Level>,
    free: Vec<u32>,
}

impl Book {
    #[inline]
    fn side_mut(&mut self, side: Side) -> &mut BTreeMap<u64, u32> {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    #[inline]
    pub fn level(&self, idx: u32) -> &Level {
        &self.levels[idx as usize]
    }

    #[inline]
    pub fn best_bid(&self) -> Option<(u64, &Level)> {
        self.bids.last_key_value().map(|(p, l)| (*p, self.level(*l)))
    }

    #[inline]
    pub fn best_ask(&self) -> Option<(u64, &Level)> {
        self.asks.first_key_value().map(|(p, l)| (*p, self.level(*l)))
    }

    /// The best level an incoming order of `taker_side` would meet.
    #[inline]
    pub fn best_opposite(&self, taker_side: Side) -> Option<(u64, &Level)> {
        match taker_side {
            Side::Buy => self.best_ask(),
            Side::Sell => self.best_bid(),
        }
    }

    /// Levels an incoming order of `taker_side` would meet, best first.
    pub fn opposite_levels(&self, taker_side: Side) -> Box<dyn Iterator<Item = (u64, &Level)> + '_> {
        self.levels(taker_side.opposite())
    }

    /// Levels of `side`, best first.
    pub fn levels(&self, side: Side) -> Box<dyn Iterator<Item = (u64, &Level)> + '_> {
        match side {
            Side::Buy => Box::new(self.bids.iter().rev().map(|(p, l)| (*p, self.level(*l)))),
            Side::Sell => Box::new(self.asks.iter().map(|(p, l)| (*p, self.level(*l)))),
        }
    }

    /// Appends the order in `slot` to the back of its price level.
    pub fn push_back(&mut self, slab: &mut Slab, slot: u32) {
        let (side, price, remaining) = {
            let o = slab.get(slot);
            (o.side, o.price, o.remaining)
        };
        let li = match self.side_mut(side).get(&price) {
            Some(li) => *li,
            None => {
                let li = match self.free.pop() {
                    Some(li) => {
                        self.levels[li as usize] = Level::default();
                        li
                    }
                    None => {
                        self.levels.push(Level::default());
                        (self.levels.len() - 1) as u32
                    }
                };
                self.side_mut(side).insert(price, li);
                li
            }
        };
        let level = &mut self.levels[li as usize];
        let tail = level.tail;
        level.tail = slot;
        if tail == NIL {
            level.head = slot;
        }
        level.qty += remaining;
        level.count += 1;
        if tail != NIL {
            slab.get_mut(tail).next = slot;
        }
        let o = slab.get_mut(slot);
        o.prev = tail;
        o.next = NIL;
        o.level = li;
        o.in_book = true;
    }

    /// Removes the order in `slot` from its level (dropping the level when it empties). The order's `remaining`
    /// must be what the level counts for it.
    pub fn unlink(&mut self, slab: &mut Slab, slot: u32) {
        let (side, price, remaining, prev, next, li) = {
            let o = slab.get(slot);
            (o.side, o.price, o.remaining, o.prev, o.next, o.level)
        };
        if prev != NIL {
            slab.get_mut(prev).next = next;
        }
        if next != NIL {
            slab.get_mut(next).prev = prev;
        }
        let level = &mut self.levels[li as usize];
        if level.head == slot {
            level.head = next;
        }
        if level.tail == slot {
            level.tail = prev;
        }
        level.qty -= remaining;
        level.count -= 1;
        if level.count == 0 {
            self.side_mut(side).remove(&price);
            self.free.push(li);
        }
        let o = slab.get_mut(slot);
        o.prev = NIL;
        o.next = NIL;
        o.level = NIL;
        o.in_book = false;
    }

    /// Takes `qty` lots off the level of the order in `slot` (a partial fill of it).
    #[inline]
    pub fn reduce(&mut self, slab: &Slab, slot: u32, qty: u64) {
        self.levels[slab.get(slot).level as usize].qty -= qty;
    }
}
