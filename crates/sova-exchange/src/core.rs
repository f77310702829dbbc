//! The sequencer's state and the synchronous part of its work: authorize a verified request, consume its nonce,
//! turn it into engine commands, apply them, and say what to write and answer. No I/O here: the sequencer loads
//! the nonce sets a group needs, runs [`Core::run`], and writes what it returns with
//! [`sova_store::ExchangeStore::ex_commit`] before answering.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use alloy_primitives::Address;
use sova_auth::exchange::{
    self as ex, Action as ExAction, ApiKeyRecord, KeyName, KeySelector, NonceScope, NonceSet, Params, TransferType,
    VerifiedAction, VerifiedAddApiKey,
};
use sova_engine::{
    AccountId, Action, CancelItem, ClOrdId, Command, Engine, EngineConfig, Event, ItemResult, MarketSpec, NewOrder,
    OrderRef, OrderType, Output, ReplaceItem, Side, StpMode, TimeInForce,
};
use sova_proto::exchange::{
    ApiKeyRevoked, BatchItem, FaucetAck, OrderAck, OrderReceipt, ReceiptError, ScheduleCancelAck, TransferAck,
    TwapReceipt, WriteReply,
};
use sova_store::{ExAccount, ExApiKey, ExLogRow, ExWrites};

pub mod connect;
pub mod perps;

use crate::catalog::Catalog;
use crate::error::{ExchangeError, Reason};
use crate::log::encode_group;
use crate::twap::{self, TwapEvent, TwapState, Twaps};
use crate::views::Views;

/// What the sequencer knows of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountInfo {
    /// The master wallet.
    pub master: Address,
    /// `None` for a master account.
    pub master_id: Option<u64>,
}

/// A registered key, as kept in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRow {
    /// Name, address, expiry.
    pub record: ApiKeyRecord,
    /// The account id it was added with.
    pub account_id: u64,
    /// Unix ms.
    pub created_at: i64,
}

/// One request for the sequencer.
#[derive(Debug)]
pub enum Request {
    /// A verified `ExchangeAction`.
    Action(Box<VerifiedAction>),
    /// A verified `addAPIKey`.
    AddKey(Box<VerifiedAddApiKey>),
    /// Sandbox faucet: credit `amount` atoms of `coin`.
    Faucet {
        /// The account (created by the caller in the store).
        account: ExAccount,
        /// Coin id.
        coin: u32,
        /// Atoms.
        amount: u64,
    },
    /// A new account (sub-account) to know about.
    Account(ExAccount),
    /// Advance time (fires due dead-man switches).
    Tick,
    /// A perps request without a signature (sandbox controls, index feeds).
    Perps(perps::PerpsRequest),
    /// A Connect order on a quote (its ledger legs join the group's commit).
    ConnectTrade(Box<connect::ConnectOrder>),
}

impl Request {
    /// The nonce row this request reads and writes.
    pub fn scope(&self) -> Option<String> {
        match self {
            Request::Action(a) => Some(a.nonce_scope().to_string()),
            Request::AddKey(a) => Some(a.nonce_scope().to_string()),
            _ => None,
        }
    }
}

/// The answer to one request (`None` for the internal ones: a new account, a tick).
pub type Reply = Result<Option<WriteReply>, ExchangeError>;

/// What a group changed: its events (the log row) and, for the WebSocket feeds, the markets and accounts touched.
#[derive(Debug, Default)]
pub struct Touched {
    /// Events in order.
    pub events: Vec<Event>,
    /// Markets whose book or trades changed.
    pub markets: BTreeSet<u32>,
    /// Accounts whose balances changed.
    pub accounts: BTreeSet<AccountId>,
    /// TWAP events in order (they join the log row).
    pub twaps: Vec<TwapEvent>,
    /// Perps engine events in order (they join the log row).
    pub perps: Vec<sova_perps::Event>,
    /// Perps markets whose book, trades or prices changed.
    pub perps_markets: BTreeSet<u32>,
    /// Accounts whose perps state changed.
    pub perps_accounts: BTreeSet<AccountId>,
}

impl Touched {
    /// Nothing to log.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.twaps.is_empty() && self.perps.is_empty()
    }
}

/// The sequencer's state.
pub struct Core {
    /// The matching engine.
    pub engine: Engine,
    /// Coins and markets.
    pub catalog: Arc<Catalog>,
    /// Accounts by id.
    pub accounts: HashMap<u64, AccountInfo>,
    /// Master account id by master address.
    pub masters: HashMap<Address, u64>,
    /// API keys by master address.
    pub keys: HashMap<Address, Vec<KeyRow>>,
    /// History, candles.
    pub views: Views,
    /// TWAP orders.
    pub twaps: Twaps,
    /// Last log position written.
    pub seq: i64,
    /// Last command timestamp.
    pub last_ts: u64,
    /// Nonce sets by scope (`spot:0xabc...`), loaded from the store on first use (the store's copy is the truth;
    /// this is its cache in the one sequencer).
    pub nonces: HashMap<String, NonceSet>,
    /// The perps engine.
    pub perps: sova_perps::Perps,
    /// When the leader's periodic perps work is next due (not logged: its commands are).
    pub perps_clock: perps::PerpsClock,
    /// When each perps market last got an index from its external feeds (Unix ms; the leader's, not logged).
    pub index_feed_at: std::collections::BTreeMap<u32, u64>,
    out: Output,
    pub(crate) perps_out: sova_perps::Output,
}

fn parse_addr(s: &str) -> Option<Address> {
    s.parse::<Address>().ok()
}

impl Core {
    /// An empty core for `catalog`.
    pub fn new(catalog: Arc<Catalog>) -> Core {
        Core {
            engine: Engine::new(EngineConfig::default()),
            catalog: catalog.clone(),
            accounts: HashMap::new(),
            masters: HashMap::new(),
            keys: HashMap::new(),
            views: Views::default(),
            twaps: Twaps::default(),
            seq: 0,
            last_ts: 0,
            nonces: HashMap::new(),
            perps: sova_perps::Perps::new(catalog.perps_config.clone()),
            perps_clock: perps::PerpsClock::default(),
            index_feed_at: std::collections::BTreeMap::new(),
            out: Output::default(),
            perps_out: sova_perps::Output::default(),
        }
    }

    /// Learn an account.
    pub fn add_account(&mut self, a: &ExAccount) {
        let (Some(master), Ok(id)) = (parse_addr(&a.address), u64::try_from(a.account_id)) else { return };
        let master_id = a.master_id.and_then(|m| u64::try_from(m).ok());
        self.accounts.insert(id, AccountInfo { master, master_id });
        if master_id.is_none() {
            self.masters.insert(master, id);
        }
    }

    /// Learn a stored API key.
    pub fn add_key(&mut self, k: &ExApiKey) {
        let (Some(master), Some(public_key), Some(name)) =
            (parse_addr(&k.master), parse_addr(&k.public_key), KeyName::parse(&k.name))
        else {
            return;
        };
        self.keys.entry(master).or_default().push(KeyRow {
            record: ApiKeyRecord { name, public_key, expires_at: u64::try_from(k.expires_at).unwrap_or(0) },
            account_id: u64::try_from(k.account_id).unwrap_or(0),
            created_at: k.created_at,
        });
    }

    /// Commands that add the configured coins and markets the log does not have yet.
    fn setup_commands(&self) -> Vec<Action> {
        let mut v = Vec::new();
        for c in &self.catalog.coins {
            if self.engine.coin(c.id).is_none() {
                v.push(Action::AddCoin(c.clone()));
            }
        }
        for m in &self.catalog.markets {
            if self.engine.market(m.config.id).is_none() {
                v.push(Action::AddMarket(m.config.clone()));
            }
        }
        v
    }

    pub(crate) fn next_ts(&mut self, now: u64) -> u64 {
        self.last_ts = self.last_ts.max(now);
        self.last_ts
    }

    /// Apply one engine command; its events join the group's log row.
    pub(crate) fn exec(&mut self, action: Action, now: u64, touched: &mut Touched) -> Vec<ItemResult> {
        let ts = self.next_ts(now);
        let cmd = Command::new(ts, action);
        let mut out = std::mem::take(&mut self.out);
        self.engine.apply_into(&cmd, &mut out);
        for ev in &out.events {
            self.views.apply(ev);
            note(ev, touched);
        }
        touched.events.extend(out.events.iter().cloned());
        let results = out.results.clone();
        self.out = out;
        results
    }

    /// Scopes of `requests` whose nonce sets are not loaded yet.
    pub fn missing_scopes(&self, requests: &[Request]) -> Vec<String> {
        let mut v: Vec<String> =
            requests.iter().filter_map(Request::scope).filter(|s| !self.nonces.contains_key(s)).collect();
        v.sort();
        v.dedup();
        v
    }

    /// Install loaded nonce sets (`rows` as stored; a scope without rows has none).
    pub fn load_nonces(&mut self, scopes: &[String], rows: Vec<(String, i64)>) {
        let mut sets: HashMap<String, Vec<u64>> = scopes.iter().map(|s| (s.clone(), Vec::new())).collect();
        for (s, n) in rows {
            if let (Some(v), Ok(n)) = (sets.get_mut(&s), u64::try_from(n)) {
                v.push(n);
            }
        }
        for (s, v) in sets {
            self.nonces.insert(s, NonceSet::from(v));
        }
    }

    /// Add the configured coins and markets the log does not have yet (once, at start): what to write.
    pub fn setup(&mut self, now: u64) -> ExWrites {
        // Leading from here: the periodic perps work resumes after the last logged group.
        self.perps_clock = perps::PerpsClock::after(self.last_ts);
        let mut touched = Touched::default();
        for a in self.setup_commands() {
            self.exec(a, now, &mut touched);
        }
        for m in self.catalog.perps.clone() {
            if self.perps.market(m.id()).is_none() {
                self.exec_perps(sova_perps::Action::AddMarket(m.config.clone()), now, &mut touched);
            }
        }
        let mut writes = ExWrites::default();
        self.log_group(&touched, &mut writes);
        writes
    }

    /// The group's events as one log row.
    fn log_group(&mut self, touched: &Touched, writes: &mut ExWrites) {
        if !touched.is_empty() {
            self.seq += 1;
            writes.log.push(ExLogRow {
                seq: self.seq,
                ts: i64::try_from(self.last_ts).unwrap_or(i64::MAX),
                events: encode_group(&touched.events, &touched.twaps, &touched.perps),
            });
        }
    }

    /// Run a group of requests (their nonce sets loaded): apply them and say what to write and answer.
    pub fn run(&mut self, requests: &[Request], now: u64, replies: &mut Vec<Reply>, touched: &mut Touched) -> ExWrites {
        let mut writes = ExWrites::default();
        for r in requests {
            let reply = match r {
                Request::Action(a) => self.action(a, now, &mut writes, touched),
                Request::AddKey(a) => self.add_api_key(a, now, &mut writes),
                Request::Faucet { account, coin, amount } => {
                    self.add_account(account);
                    let id = u64::try_from(account.account_id).unwrap_or(0);
                    let action = Action::Deposit { account: id, coin: *coin, amount: *amount };
                    match self.exec(action, now, touched).first() {
                        Some(Ok(_)) => Ok(Some(WriteReply::Faucet(FaucetAck { account_id: id }))),
                        Some(Err(r)) => Err(ExchangeError::from(*r)),
                        None => Err(ExchangeError::unavailable("the engine gave no result")),
                    }
                }
                Request::Account(a) => {
                    self.add_account(a);
                    Ok(None)
                }
                Request::Tick => {
                    self.exec(Action::Tick, now, touched);
                    Ok(None)
                }
                Request::Perps(p) => self.perps_request(p, now, touched),
                Request::ConnectTrade(o) => self.connect_trade(o, now, &mut writes, touched),
            };
            replies.push(reply);
        }
        // The TWAP slices due by now (among them the first slice of a TWAP placed in this group).
        self.run_twaps(now, touched);
        // The perps engine's periodic work (index, mark, premium, funding and liquidation housekeeping).
        self.run_perps_clock(now, touched);
        // One log row per group: its events in order (each carries its own timestamp).
        self.log_group(touched, &mut writes);
        writes.net_nonces();
        writes
    }

    /// The account a request acts for, and its info.
    fn account(&self, id: u64) -> Result<AccountInfo, ExchangeError> {
        self.accounts.get(&id).copied().ok_or_else(|| {
            ExchangeError::new(
                Reason::UnknownAccount,
                format!("account {id} does not exist (GET /api/v1/spot/accounts/{{address}}/state gives yours)"),
            )
        })
    }

    fn consume_nonce(
        &mut self,
        scope: NonceScope,
        nonce: u64,
        now: u64,
        writes: &mut ExWrites,
    ) -> Result<(), ExchangeError> {
        let key = scope.to_string();
        let set = self.nonces.entry(key.clone()).or_default();
        let dropped = set.try_insert(nonce, now)?;
        let i = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        if let Some(d) = dropped {
            writes.nonces_dropped.push((key.clone(), i(d)));
        }
        writes.nonces_added.push((key, i(nonce)));
        Ok(())
    }

    fn action(&mut self, a: &VerifiedAction, now: u64, writes: &mut ExWrites, touched: &mut Touched) -> Reply {
        let account_id = a.params.account_id();
        let info = self.account(account_id)?;
        let stored = match &a.key {
            KeySelector::Named(name) => {
                self.keys.get(&info.master).and_then(|ks| ks.iter().find(|k| &k.record.name == name)).map(|k| &k.record)
            }
            KeySelector::Master => None,
        };
        ex::authorize(a.action, &a.key, a.signer, info.master, stored, now)?;
        // Valid signature of an authorized signer: the nonce is consumed from here on, whatever the action does.
        self.consume_nonce(a.nonce_scope(), a.nonce, now, writes)?;
        self.execute(a, account_id, info, now, writes, touched)
    }

    fn execute(
        &mut self,
        a: &VerifiedAction,
        account: u64,
        info: AccountInfo,
        now: u64,
        writes: &mut ExWrites,
        touched: &mut Touched,
    ) -> Reply {
        match &a.params {
            Params::SpotNewOrder(p) => {
                let order = self.new_order(
                    p.symbol_id,
                    &p.cl_ord_id,
                    p.side,
                    p.order_type,
                    p.time_in_force,
                    [&p.price, &p.quantity, &p.funds],
                )?;
                let r = self.exec(Action::NewOrder { account, order }, now, touched);
                one(r, |ack| {
                    WriteReply::Order(OrderAck {
                        cl_ord_id: p.cl_ord_id.as_str().to_string(),
                        code: 0,
                        order_id: ack.order_id,
                        status: ack.status.map(status),
                        symbol_id: order.market,
                    })
                })
            }
            Params::SpotBatchNewOrder(p) => self.batch(
                &p.orders,
                |it| it.cl_ord_id.as_str(),
                |me, it| {
                    me.new_order(
                        it.symbol_id,
                        &it.cl_ord_id,
                        it.side,
                        it.order_type,
                        it.time_in_force,
                        [&it.price, &it.quantity, &it.funds],
                    )
                },
                |orders| Action::BatchNew { account, orders },
                now,
                touched,
            ),
            Params::SpotCancelOrder(p) => {
                let cancel = self.cancel_item(p.symbol_id, p.order_id, p.orig_cl_ord_id.as_ref())?;
                let r = self.exec(Action::Cancel { account, cancel }, now, touched);
                one(r, |ack| WriteReply::Receipt(receipt(p.cl_ord_id.as_str(), ack)))
            }
            Params::SpotBatchCancelOrder(p) => self.batch(
                &p.cancels,
                |it| it.cl_ord_id.as_str(),
                |me, it| me.cancel_item(it.symbol_id, it.order_id, it.orig_cl_ord_id.as_ref()),
                |cancels| Action::BatchCancel { account, cancels },
                now,
                touched,
            ),
            Params::ReplaceOrder(p) if a.domain == ex::Domain::Futures => self.perps_replace(account, p, now, touched),
            Params::ScheduleCancel(p) if a.domain == ex::Domain::Futures => {
                self.perps_schedule_cancel(account, p.scheduled_timestamp, now, touched)
            }
            Params::CancelTwapOrder(_) if a.domain == ex::Domain::Futures => Err(ExchangeError::new(
                Reason::PerpsNotAvailable,
                "perps TWAP orders are not available yet; the signature verified and the nonce was consumed",
            )),
            Params::ReplaceOrder(p) => self.batch(
                &p.orders,
                |it| it.cl_ord_id.as_str(),
                |me, it| me.replace_item(it),
                |items| Action::BatchReplace { account, items },
                now,
                touched,
            ),
            Params::ScheduleCancel(p) => {
                let r = self.exec(Action::ScheduleCancel { account, deadline: p.scheduled_timestamp }, now, touched);
                one(r, |_| {
                    WriteReply::ScheduleCancel(ScheduleCancelAck {
                        account_id: account,
                        scheduled_timestamp: p.scheduled_timestamp,
                    })
                })
            }
            Params::TransferAsset(p)
                if matches!(p.transfer_type, TransferType::PerpsWithdraw | TransferType::SpotWithdraw)
                    || a.domain == ex::Domain::Futures =>
            {
                self.perps_transfer(a.domain, p, account, now, touched)
            }
            Params::TransferAsset(p) => {
                if p.transfer_type != TransferType::Internal {
                    return Err(ExchangeError::new(
                        Reason::UnsupportedTransfer,
                        format!(
                            "transfer type {} is not available here: only INTERNAL (4) transfers between exchange \
                             accounts (deposits and withdrawals go through the Connect API)",
                            p.transfer_type.wire()
                        ),
                    ));
                }
                let to = self.account(p.to_account_id)?;
                if to.master != info.master {
                    return Err(ExchangeError::new(
                        Reason::MasterMismatch,
                        format!(
                            "account {} belongs to another master wallet; internal transfers stay under one master",
                            p.to_account_id
                        ),
                    ));
                }
                let coin =
                    u32::try_from(p.coin_id).ok().and_then(|c| self.catalog.coin(u64::from(c))).ok_or_else(|| {
                        ExchangeError::new(
                            Reason::UnknownCoin,
                            format!("coinID {} is not listed (GET /markets/coins)", p.coin_id),
                        )
                    })?;
                let amount = sova_engine::parse_decimal(p.amount.as_str(), coin.decimals)
                    .filter(|a| *a > 0)
                    .ok_or_else(|| {
                        ExchangeError::new(
                            Reason::InvalidAmount,
                            format!(
                                "amount must be positive with at most {} decimals for {}",
                                coin.decimals, coin.symbol
                            ),
                        )
                    })?;
                let coin_id = coin.id;
                let r = self.exec(
                    Action::Transfer { from: p.from_account_id, to: p.to_account_id, coin: coin_id, amount },
                    now,
                    touched,
                );
                one(r, |_| {
                    WriteReply::Transfer(TransferAck {
                        from_account_id: p.from_account_id,
                        id: p.id,
                        to_account_id: p.to_account_id,
                    })
                })
            }
            Params::RevokeApiKey(p) => {
                let keys = self.keys.entry(info.master).or_default();
                let records: Vec<ApiKeyRecord> = keys.iter().map(|k| k.record.clone()).collect();
                ex::check_revoke(&p.name, &records)?;
                keys.retain(|k| k.record.name != p.name);
                writes.keys_removed.push((format!("{:#x}", info.master), p.name.as_str().to_string()));
                Ok(Some(WriteReply::ApiKeyRevoked(ApiKeyRevoked {
                    account_id: account,
                    name: p.name.as_str().to_string(),
                })))
            }
            Params::SpotNewTwapOrder(p) => {
                if p.reduce_only == Some(true) {
                    return Err(ExchangeError::new(
                        Reason::InvalidField,
                        "reduceOnly applies to perps positions; a spot TWAP cannot be reduce-only (omit it or send \
                         false)",
                    ));
                }
                self.place_twap(account, p.symbol_id, p.side, &p.quantity, p.minutes, p.randomize, now, touched)
            }
            Params::CancelTwapOrder(p) => self.cancel_twap(account, p.symbol_id, p.order_id, now, touched),
            Params::PerpsNewOrder(p) => self.perps_new_order(account, p, now, touched),
            Params::PerpsCancelOrder(p) => self.perps_cancel(account, p, now, touched),
            Params::PerpsModifyOrder(p) => self.perps_modify(account, p, now, touched),
            Params::UpdateLeverage(p) => self.perps_leverage(account, p, now, touched),
            Params::UpdateMargin(p) => self.perps_margin(account, p, now, touched),
            Params::PerpsNewTwapOrder(_) => Err(ExchangeError::new(
                Reason::PerpsNotAvailable,
                "perps TWAP orders are not available yet; the signature verified and the nonce was consumed",
            )),
        }
    }

    /// A batch action: each item converted (a refused conversion answers that item alone), the others applied in
    /// one engine command; one result per item, in order.
    fn batch<I, T>(
        &mut self,
        items: &[I],
        cl: impl Fn(&I) -> &str,
        convert: impl Fn(&Self, &I) -> Result<T, ExchangeError>,
        action: impl FnOnce(Vec<T>) -> Action,
        now: u64,
        touched: &mut Touched,
    ) -> Reply {
        let converted: Vec<Result<T, ExchangeError>> = items.iter().map(|it| convert(self, it)).collect();
        let mut refused = Vec::with_capacity(items.len());
        let mut good = Vec::new();
        for c in converted {
            match c {
                Ok(t) => {
                    good.push(t);
                    refused.push(None);
                }
                Err(e) => refused.push(Some(e)),
            }
        }
        let results = if good.is_empty() { Vec::new() } else { self.exec(action(good), now, touched) };
        let mut results = results.into_iter();
        let out = items
            .iter()
            .zip(refused)
            .map(|(it, e)| {
                let cl = cl(it);
                match e.map(Err).or_else(|| results.next().map(|r| r.map_err(ExchangeError::from))) {
                    Some(Ok(ack)) => BatchItem::Ok(receipt(cl, &ack)),
                    Some(Err(e)) => BatchItem::Err(item_error(cl, e)),
                    None => BatchItem::Err(item_error(cl, ExchangeError::unavailable("no result"))),
                }
            })
            .collect();
        Ok(Some(WriteReply::Batch(out)))
    }

    fn market(&self, symbol_id: u64) -> Result<&MarketSpec, ExchangeError> {
        self.catalog.market(symbol_id).ok_or_else(|| {
            ExchangeError::new(
                Reason::UnknownMarket,
                format!("symbolID {symbol_id} is not listed (GET /api/v1/spot/markets/symbols)"),
            )
        })
    }

    fn new_order(
        &self,
        symbol_id: u64,
        cl: &ex::ClOrdId,
        side: ex::Side,
        order_type: ex::OrderType,
        tif: ex::TimeInForce,
        [price, quantity, funds]: [&Option<ex::Decimal>; 3],
    ) -> Result<NewOrder, ExchangeError> {
        let m = self.market(symbol_id)?;
        let price = price.as_ref().map(|p| m.parse_price(p.as_str())).transpose()?;
        let quantity = quantity.as_ref().map(|q| m.parse_quantity(q.as_str())).transpose()?;
        let funds = funds.as_ref().map(|f| m.parse_funds(f.as_str())).transpose()?;
        let order = NewOrder {
            market: m.config.id,
            cl_ord_id: Some(ClOrdId::new(cl.as_str())?),
            side: match side {
                ex::Side::Buy => Side::Buy,
                ex::Side::Sell => Side::Sell,
            },
            order_type: match order_type {
                ex::OrderType::Limit => OrderType::Limit,
                ex::OrderType::Market => OrderType::Market,
            },
            time_in_force: match tif {
                ex::TimeInForce::Gtc => TimeInForce::Gtc,
                ex::TimeInForce::Fok => TimeInForce::Fok,
                ex::TimeInForce::Ioc => TimeInForce::Ioc,
                ex::TimeInForce::Gtx => TimeInForce::Gtx,
            },
            price,
            quantity,
            funds,
            stp: StpMode::default(),
        };
        Ok(order)
    }

    fn cancel_item(
        &self,
        symbol_id: u64,
        order_id: Option<u64>,
        orig: Option<&ex::ClOrdId>,
    ) -> Result<CancelItem, ExchangeError> {
        let m = self.market(symbol_id)?;
        let target = order_ref(order_id, orig, "give orderID or origClOrdID of the order to cancel")?;
        Ok(CancelItem { market: m.config.id, target })
    }

    fn replace_item(&self, it: &ex::ReplaceItem) -> Result<ReplaceItem, ExchangeError> {
        let m = self.market(it.symbol_id)?;
        let orig = order_ref(it.orig_order_id, it.orig_cl_ord_id.as_ref(), REPLACE_WHICH)?;
        Ok(ReplaceItem {
            market: m.config.id,
            orig,
            cl_ord_id: Some(ClOrdId::new(it.cl_ord_id.as_str())?),
            price: it.price.as_ref().map(|p| m.parse_price(p.as_str())).transpose()?,
            quantity: it.quantity.as_ref().map(|q| m.parse_quantity(q.as_str())).transpose()?,
        })
    }

    fn add_api_key(&mut self, a: &VerifiedAddApiKey, now: u64, writes: &mut ExWrites) -> Reply {
        let info = self.account(a.request.account_id)?;
        ex::authorize(ExAction::AddApiKey, &a.key, a.signer, info.master, None, now)?;
        self.consume_nonce(a.nonce_scope(), a.nonce, now, writes)?;
        let keys = self.keys.entry(info.master).or_default();
        let records: Vec<ApiKeyRecord> = keys.iter().map(|k| k.record.clone()).collect();
        ex::check_add(&a.request, &records, now)?;
        let master = format!("{:#x}", info.master);
        // An expired key of the same name is replaced.
        if keys.iter().any(|k| k.record.name == a.request.name) {
            keys.retain(|k| k.record.name != a.request.name);
            writes.keys_removed.push((master.clone(), a.request.name.as_str().to_string()));
        }
        let row = KeyRow {
            record: ApiKeyRecord {
                name: a.request.name.clone(),
                public_key: a.request.public_key,
                expires_at: a.request.expires_at,
            },
            account_id: a.request.account_id,
            created_at: i64::try_from(now).unwrap_or(0),
        };
        writes.keys_added.push(ExApiKey {
            master,
            name: a.request.name.as_str().to_string(),
            key_type: i64::from(a.request.key_type.wire()),
            public_key: format!("{:#x}", a.request.public_key),
            account_id: i64::try_from(a.request.account_id).unwrap_or(0),
            expires_at: i64::try_from(a.request.expires_at).unwrap_or(i64::MAX),
            created_at: row.created_at,
        });
        let v = api_key(&row);
        keys.push(row);
        Ok(Some(WriteReply::ApiKey(v)))
    }

    /// Whether any dead-man switch is set or any TWAP runs (the sequencer then ticks so that they fire without
    /// traffic).
    pub fn has_deadlines(&self) -> bool {
        self.views.has_deadlines() || self.twaps.has_active() || self.perps_active()
    }

    /// Record a TWAP event: applied to the state and kept for the log row.
    fn twap_event(&mut self, ev: TwapEvent, touched: &mut Touched) {
        self.twaps.apply(&ev);
        let id = match ev {
            TwapEvent::Placed { id, .. } | TwapEvent::Slice { id, .. } | TwapEvent::Canceled { id, .. } => id,
        };
        // Its account's `accountUpdate` carries the TWAP (`TO`).
        if let Some(t) = self.twaps.get(id) {
            touched.accounts.insert(t.account);
        }
        touched.twaps.push(ev);
    }

    #[allow(clippy::too_many_arguments)]
    fn place_twap(
        &mut self,
        account: u64,
        symbol_id: u64,
        side: ex::Side,
        quantity: &ex::Decimal,
        minutes: u64,
        randomize: bool,
        now: u64,
        touched: &mut Touched,
    ) -> Reply {
        let m = self.market(symbol_id)?;
        let market = m.config.id;
        if !(1..=twap::MAX_MINUTES).contains(&minutes) {
            return Err(ExchangeError::new(
                Reason::InvalidTwapDuration,
                format!("minutes must be from 1 to {} (got {minutes})", twap::MAX_MINUTES),
            ));
        }
        let lots = m.parse_quantity(quantity.as_str())?;
        if lots == 0 {
            return Err(ExchangeError::new(Reason::InvalidQuantity, "a TWAP order's quantity must be above zero"));
        }
        if self.twaps.active_of(account) >= twap::MAX_ACTIVE_PER_ACCOUNT {
            return Err(ExchangeError::new(
                Reason::TooManyTwaps,
                format!(
                    "account {account} already runs {} TWAP orders; cancel one (DELETE /trade/twaps) or wait",
                    twap::MAX_ACTIVE_PER_ACCOUNT
                ),
            ));
        }
        let id = self.twaps.next_id();
        let ts = self.next_ts(now);
        let ev = TwapEvent::Placed {
            id,
            account,
            market,
            side: match side {
                ex::Side::Buy => Side::Buy,
                ex::Side::Sell => Side::Sell,
            },
            quantity: lots,
            minutes,
            randomize,
            reduce_only: false,
            slices: twap::slices_for(minutes),
            ts,
        };
        self.twap_event(ev, touched);
        Ok(Some(WriteReply::Twap(TwapReceipt { code: 0, order_id: id })))
    }

    fn cancel_twap(&mut self, account: u64, symbol_id: u64, id: u64, now: u64, touched: &mut Touched) -> Reply {
        let unknown = |why: &str| {
            ExchangeError::new(
                Reason::UnknownTwap,
                format!("TWAP order {id} {why} (GET /api/v1/spot/accounts/{{address}}/twaps lists them)"),
            )
        };
        let t = self.twaps.get(id).filter(|t| t.account == account).ok_or_else(|| unknown("is not this account's"))?;
        if u64::from(t.market) != symbol_id {
            return Err(unknown(&format!("trades in market {}, not symbolID {symbol_id}", t.market)));
        }
        if t.state != TwapState::Active {
            return Err(unknown("has already ended"));
        }
        let ts = self.next_ts(now);
        self.twap_event(TwapEvent::Canceled { id, ts }, touched);
        Ok(Some(WriteReply::Twap(TwapReceipt { code: 0, order_id: id })))
    }

    /// Send the slice of every TWAP due at `now` (one slice per TWAP per group; a TWAP that fell behind catches up
    /// on the following ticks).
    fn run_twaps(&mut self, now: u64, touched: &mut Touched) {
        let ts = self.next_ts(now);
        for id in self.twaps.due(ts) {
            let Some(t) = self.twaps.get(id) else { continue };
            let (account, market, side, index, lots) = (t.account, t.market, t.side, t.done, t.next_slice());
            let (mut order, mut filled, mut value) = (None, 0, 0);
            if lots > 0 {
                let cl = ClOrdId::new(&format!("twap-{id}-{index}")).ok();
                let child = NewOrder { cl_ord_id: cl, ..NewOrder::market(market, side, lots) };
                let start = touched.events.len();
                if let Some(Ok(ack)) = self.exec(Action::NewOrder { account, order: child }, now, touched).first() {
                    order = ack.order_id;
                }
                for ev in &touched.events[start..] {
                    if let Event::Trade(tr) = ev
                        && Some(tr.taker_order) == order
                    {
                        filled += tr.quantity;
                        value += tr.quote_amount;
                    }
                }
            }
            let ts = self.next_ts(now);
            self.twap_event(TwapEvent::Slice { id, index, order, filled, value, ts }, touched);
        }
    }
}

fn one(results: Vec<ItemResult>, ok: impl FnOnce(&sova_engine::Ack) -> WriteReply) -> Reply {
    match results.first() {
        Some(Ok(ack)) => Ok(Some(ok(ack))),
        Some(Err(r)) => Err(ExchangeError::from(*r)),
        None => Err(ExchangeError::unavailable("the engine gave no result")),
    }
}

fn receipt(cl: &str, ack: &sova_engine::Ack) -> OrderReceipt {
    OrderReceipt { cl_ord_id: cl.to_string(), code: 0, order_id: ack.order_id, status: ack.status.map(status) }
}

fn item_error(cl: &str, e: ExchangeError) -> ReceiptError {
    ReceiptError {
        cl_ord_id: cl.to_string(),
        code: e.reason.number(),
        message: e.message.clone(),
        error: e.message,
        reason: e.reason,
        status: sova_proto::exchange::OrderStatus::Rejected,
    }
}

/// What a replace item without an order says.
pub(crate) const REPLACE_WHICH: &str = "give origOrderID or origClOrdID of the order to replace";

/// The order a cancel or replace item names: by id first, else by client order id; `missing` when neither is given.
pub(crate) fn order_ref(
    id: Option<u64>,
    cl: Option<&ex::ClOrdId>,
    missing: &'static str,
) -> Result<OrderRef, ExchangeError> {
    match (id, cl) {
        (Some(id), _) => Ok(OrderRef::Id(id)),
        (None, Some(c)) => Ok(OrderRef::ClOrdId(ClOrdId::new(c.as_str())?)),
        (None, None) => Err(ExchangeError::new(Reason::InvalidField, missing)),
    }
}

pub(crate) fn note(ev: &Event, t: &mut Touched) {
    match ev {
        Event::Deposited { account, .. } | Event::Withdrawn { account, .. } => {
            t.accounts.insert(*account);
        }
        Event::Transferred { from, to, .. } => {
            t.accounts.insert(*from);
            t.accounts.insert(*to);
        }
        Event::OrderAccepted(a) => {
            t.accounts.insert(a.account);
            t.markets.insert(a.market);
        }
        Event::Trade(tr) => {
            t.accounts.insert(tr.maker_account);
            t.accounts.insert(tr.taker_account);
            t.markets.insert(tr.market);
        }
        Event::OrderClosed(c) => {
            t.accounts.insert(c.account);
            t.markets.insert(c.market);
        }
        _ => {}
    }
}

/// The engine's order status as answered.
pub fn status(s: sova_engine::OrderStatus) -> sova_proto::exchange::OrderStatus {
    use sova_engine::OrderStatus as S;
    match s {
        S::New => sova_proto::exchange::OrderStatus::New,
        S::PartiallyFilled => sova_proto::exchange::OrderStatus::PartiallyFilled,
        S::Filled => sova_proto::exchange::OrderStatus::Filled,
        S::Canceled => sova_proto::exchange::OrderStatus::Canceled,
        S::Rejected => sova_proto::exchange::OrderStatus::Rejected,
        S::Expired => sova_proto::exchange::OrderStatus::Expired,
    }
}

/// An API key.
pub fn api_key(k: &KeyRow) -> sova_proto::exchange::ApiKey {
    sova_proto::exchange::ApiKey {
        account_id: k.account_id,
        created_at: k.created_at,
        expires_at: k.record.expires_at,
        name: k.record.name.as_str().to_string(),
        public_key: format!("{:#x}", k.record.public_key),
        key_type: "PRIMARY".to_string(),
    }
}
