//! Accounts: balances per coin (available and locked), the list of open orders, client order ids in use, and the
//! dead-man switch deadline.

use crate::book::{NIL, Slab};
use crate::hash::FastMap;
use crate::types::{AccountId, Balance, ClOrdId};

#[derive(Clone, Debug)]
pub(crate) struct Account {
    pub id: AccountId,
    /// By coin index.
    pub balances: Vec<Balance>,
    pub open_head: u32,
    pub open_tail: u32,
    pub open_count: u32,
    /// Client order id -> slot, open orders only.
    pub cl_ord: FastMap<ClOrdId, u32>,
    pub deadline: Option<u64>,
}

impl Account {
    fn new(id: AccountId) -> Account {
        Account {
            id,
            balances: Vec::new(),
            open_head: NIL,
            open_tail: NIL,
            open_count: 0,
            cl_ord: FastMap::default(),
            deadline: None,
        }
    }

    #[inline]
    pub fn balance(&self, coin: usize) -> Balance {
        self.balances.get(coin).copied().unwrap_or_default()
    }

    #[inline]
    pub fn balance_mut(&mut self, coin: usize) -> &mut Balance {
        if self.balances.len() <= coin {
            self.balances.resize(coin + 1, Balance::default());
        }
        &mut self.balances[coin]
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Accounts {
    pub list: Vec<Account>,
    pub index: FastMap<AccountId, u32>,
}

impl Accounts {
    #[inline]
    pub fn idx(&self, id: AccountId) -> Option<u32> {
        self.index.get(&id).copied()
    }

    pub fn get_or_create(&mut self, id: AccountId) -> u32 {
        if let Some(i) = self.idx(id) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(Account::new(id));
        self.index.insert(id, i);
        i
    }

    #[inline]
    pub fn get(&self, idx: u32) -> &Account {
        &self.list[idx as usize]
    }

    #[inline]
    pub fn get_mut(&mut self, idx: u32) -> &mut Account {
        &mut self.list[idx as usize]
    }

    /// Appends `slot` to the account's open orders.
    pub fn link_open(&mut self, slab: &mut Slab, idx: u32, slot: u32) {
        let a = &mut self.list[idx as usize];
        let tail = a.open_tail;
        a.open_tail = slot;
        if tail == NIL {
            a.open_head = slot;
        }
        a.open_count += 1;
        if tail != NIL {
            slab.get_mut(tail).anext = slot;
        }
        let o = slab.get_mut(slot);
        o.aprev = tail;
        o.anext = NIL;
    }

    /// Removes `slot` from the account's open orders.
    pub fn unlink_open(&mut self, slab: &mut Slab, idx: u32, slot: u32) {
        let (prev, next) = {
            let o = slab.get(slot);
            (o.aprev, o.anext)
        };
        if prev != NIL {
            slab.get_mut(prev).anext = next;
        }
        if next != NIL {
            slab.get_mut(next).aprev = prev;
        }
        let a = &mut self.list[idx as usize];
        if a.open_head == slot {
            a.open_head = next;
        }
        if a.open_tail == slot {
            a.open_tail = prev;
        }
        a.open_count -= 1;
        let o = slab.get_mut(slot);
        o.aprev = NIL;
        o.anext = NIL;
    }
}
