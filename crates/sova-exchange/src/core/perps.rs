//! The perps half of the sequencer (spec/perps.md): the signed perps actions turned into `sova_perps` commands,
//! the spot <-> perps transfers through the treasury account 999 (both legs in one group), the sandbox controls,
//! and the leader's periodic work (index from the spot book, mark ticks, premium samples, funding and liquidation
//! housekeeping), all applied in the sequencer's group and logged in its one row, so replay is exact.

use sova_auth::exchange::{
    self as ex, Domain, PerpsCancelOrder, PerpsModifyOrder, PerpsNewOrder, PerpsOrderItem, ReplaceOrder, TransferAsset,
    TransferType, UpdateLeverage, UpdateMargin,
};
use sova_engine::{CancelItem, ClOrdId, OrderRef, OrderType, ReplaceItem, Side, StpMode, TimeInForce};
use sova_perps::{Action as PAction, Command as PCommand, Event as PEvent, ItemResult as PItemResult};
use sova_proto::exchange::{
    BatchItem, CodeAck, LeverageAck, OrderReceipt, ReceiptError, ScheduleCancelAck, TransferAck, WriteReply,
};

use crate::core::{Core, REPLACE_WHICH, Reply, Touched, order_ref};
use crate::error::{ExchangeError, Reason};

/// The treasury account: the spot side of every spot <-> perps transfer.
pub const TREASURY: u64 = ex::TREASURY_ACCOUNT_ID;
/// Index and mark are recomputed this often (ms).
pub const INDEX_EVERY_MS: u64 = 1_000;
/// A funding premium sample is taken this often (ms).
pub const PREMIUM_EVERY_MS: u64 = 5_000;
/// An index from external feeds stands this long (ms); after it, the spot book gives the index again.
pub const FEED_FRESH_MS: u64 = 10_000;

/// When the leader's periodic perps work is next due (Unix ms). Not logged: the commands it sends are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PerpsClock {
    /// Next index + mark update.
    pub next_mark: u64,
    /// Next premium sample.
    pub next_premium: u64,
}

impl PerpsClock {
    /// The schedule of a leader that takes over after a log whose last row is at `ts`: whatever was due by then
    /// was done by the previous leader (it runs the clock in every group), so the next runs come after `ts`.
    pub fn after(ts: u64) -> PerpsClock {
        PerpsClock {
            next_mark: ts - ts % INDEX_EVERY_MS + INDEX_EVERY_MS,
            next_premium: ts - ts % PREMIUM_EVERY_MS + PREMIUM_EVERY_MS,
        }
    }

    /// Move the schedule past what a logged event did (live and in replay, so a restarted leader resumes the same
    /// schedule instead of sampling again at once).
    pub fn observe(&mut self, ev: &PEvent) {
        match ev {
            PEvent::MarkUpdated { ts, .. } => {
                self.next_mark = self.next_mark.max(ts - ts % INDEX_EVERY_MS + INDEX_EVERY_MS)
            }
            PEvent::PremiumSampled { ts, .. } => {
                self.next_premium = self.next_premium.max(ts - ts % PREMIUM_EVERY_MS + PREMIUM_EVERY_MS);
            }
            _ => {}
        }
    }
}

/// A perps request without a signature: the sandbox controls (spec section 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PerpsRequest {
    /// Pin (or with `None` unpin) a market's index price, in ticks.
    PinIndex {
        /// Perps market id.
        market: u32,
        /// Ticks.
        price: Option<u64>,
    },
    /// Pin (or unpin) a market's mark price, in ticks.
    PinMark {
        /// Perps market id.
        market: u32,
        /// Ticks.
        price: Option<u64>,
    },
    /// Settle funding now (one market or all).
    SettleFunding {
        /// Perps market id; `None` for all.
        market: Option<u32>,
    },
    /// The median of a market's configured external index feeds (spec section 5), sent by the leader's feed job:
    /// it sets the index (unless pinned), and the spot book stops giving it for [`FEED_FRESH_MS`].
    FeedIndex {
        /// Perps market id.
        market: u32,
        /// Ticks.
        price: u64,
    },
}

fn item_status(s: sova_perps::OrderStatus) -> sova_proto::exchange::OrderStatus {
    use sova_perps::OrderStatus as S;
    use sova_proto::exchange::OrderStatus as P;
    match s {
        S::New => P::New,
        S::PartiallyFilled => P::PartiallyFilled,
        S::Filled => P::Filled,
        S::Canceled => P::Canceled,
        S::Rejected => P::Rejected,
        S::Expired => P::Expired,
        S::Untriggered => P::Untriggered,
        S::Triggered => P::Triggered,
    }
}

/// The perps order status as answered.
pub fn status(s: sova_perps::OrderStatus) -> sova_proto::exchange::OrderStatus {
    item_status(s)
}

fn receipt(cl: &str, r: &PItemResult) -> BatchItem {
    match r {
        Ok(ack) => BatchItem::Ok(OrderReceipt {
            cl_ord_id: cl.to_string(),
            code: 0,
            order_id: ack.order_id,
            status: ack.status.map(item_status),
        }),
        Err(e) => item_error(cl, ExchangeError::from(*e)),
    }
}

fn item_error(cl: &str, e: ExchangeError) -> BatchItem {
    BatchItem::Err(ReceiptError {
        cl_ord_id: cl.to_string(),
        code: e.reason.number(),
        message: e.message.clone(),
        error: e.message,
        reason: e.reason,
        status: sova_proto::exchange::OrderStatus::Rejected,
    })
}

fn first(results: &[PItemResult]) -> Result<sova_perps::Ack, ExchangeError> {
    match results.first() {
        Some(Ok(a)) => Ok(*a),
        Some(Err(r)) => Err(ExchangeError::from(*r)),
        None => Err(ExchangeError::unavailable("the perps engine gave no result")),
    }
}

fn side(s: ex::Side) -> Side {
    match s {
        ex::Side::Buy => Side::Buy,
        ex::Side::Sell => Side::Sell,
    }
}

/// What a perps event touched (markets for the public feeds, accounts for the private ones).
pub(crate) fn note_perps(perps: &sova_perps::Perps, ev: &PEvent, t: &mut Touched) {
    let order_of = |id: u64| perps.order(id).map(|o| (o.account, o.market));
    match ev {
        PEvent::TransferredIn { account, .. }
        | PEvent::TransferredOut { account, .. }
        | PEvent::LeverageSet { account, .. }
        | PEvent::MarginMoved { account, .. }
        | PEvent::ScheduleCancelSet { account, .. }
        | PEvent::ScheduleCancelFired { account, .. }
        | PEvent::LiquidationStarted { account, .. }
        | PEvent::LiquidationScheduled { account, .. }
        | PEvent::LiquidationEnded { account, .. } => {
            t.perps_accounts.insert(*account);
        }
        PEvent::OrderAccepted(a) => {
            t.perps_accounts.insert(a.account);
            t.perps_markets.insert(a.market);
        }
        PEvent::Trade(tr) => {
            t.perps_accounts.insert(tr.maker_account);
            t.perps_accounts.insert(tr.taker_account);
            t.perps_markets.insert(tr.market);
        }
        PEvent::OrderRested { order_id, .. }
        | PEvent::OrderClosed { order_id, .. }
        | PEvent::OrderModified { order_id, .. }
        | PEvent::OrderReduced { order_id, .. }
        | PEvent::StopTriggered { order_id, .. } => {
            if let Some((a, m)) = order_of(*order_id) {
                t.perps_accounts.insert(a);
                t.perps_markets.insert(m);
            }
        }
        PEvent::IndexSet { market, .. }
        | PEvent::IndexPinned { market, .. }
        | PEvent::MarkPinned { market, .. }
        | PEvent::MarkUpdated { market, .. }
        | PEvent::PremiumSampled { market, .. } => {
            t.perps_markets.insert(*market);
        }
        PEvent::MarketAdded { config, .. } => {
            t.perps_markets.insert(config.market.id);
        }
        PEvent::FundingSettled { market, .. } => {
            t.perps_markets.insert(*market);
            for (a, _) in perps.market_positions(*market) {
                t.perps_accounts.insert(a);
            }
        }
        PEvent::TakenOver { account, market, .. } => {
            t.perps_accounts.insert(*account);
            t.perps_accounts.insert(perps.config().insurance_account);
            t.perps_markets.insert(*market);
        }
        PEvent::CollateralMoved { from, to, .. } => {
            t.perps_accounts.insert(*from);
            t.perps_accounts.insert(*to);
        }
        PEvent::Adl { account, counterparty, market, .. } => {
            t.perps_accounts.insert(*account);
            t.perps_accounts.insert(*counterparty);
            t.perps_markets.insert(*market);
        }
    }
}

impl Core {
    /// Apply one perps command; its events join the group's log row.
    pub(crate) fn exec_perps(&mut self, action: PAction, now: u64, touched: &mut Touched) -> Vec<PItemResult> {
        let ts = self.next_ts(now);
        let cmd = PCommand::new(ts, action);
        let mut out = std::mem::take(&mut self.perps_out);
        self.perps.apply_into(&cmd, &mut out);
        for ev in &out.events {
            note_perps(&self.perps, ev, touched);
            self.perps_clock.observe(ev);
        }
        touched.perps.extend(out.events.iter().cloned());
        let results = out.results.clone();
        self.perps_out = out;
        results
    }

    fn perp(&self, symbol_id: u64) -> Result<&sova_perps::PerpMarketSpec, ExchangeError> {
        self.catalog.perp(symbol_id).ok_or_else(|| {
            ExchangeError::new(
                Reason::UnknownMarket,
                format!("symbolID {symbol_id} is not a perps market (GET /api/v1/perps/markets/symbols)"),
            )
        })
    }

    fn perps_order_item(&self, symbol_id: u64, it: &PerpsOrderItem) -> Result<sova_perps::NewOrder, ExchangeError> {
        let m = self.perp(symbol_id)?;
        let spec = &m.spec;
        if it.funds.is_some() {
            return Err(ExchangeError::new(
                Reason::InvalidFunds,
                "perps orders take a quantity; funds (a quote amount) is for spot market buys",
            ));
        }
        let price = it.price.as_ref().map(|p| spec.parse_price(p.as_str())).transpose()?;
        let quantity = match it.quantity.as_ref() {
            Some(q) => spec.parse_quantity(q.as_str())?,
            None => return Err(ExchangeError::new(Reason::InvalidQuantity, "a perps order needs a quantity")),
        };
        let modifier = match it.modifier {
            ex::OrderModifier::Normal => sova_perps::Modifier::Normal,
            ex::OrderModifier::Stop => sova_perps::Modifier::Stop,
            ex::OrderModifier::Bracket => sova_perps::Modifier::Bracket,
            ex::OrderModifier::AttachedStop => sova_perps::Modifier::AttachedStop,
        };
        let stop = match (it.stop_price.as_ref(), it.stop_type, it.trigger_type) {
            (None, None, None) => None,
            (Some(p), Some(st), tt) => Some(sova_perps::StopSpec {
                stop_price: spec.parse_price(p.as_str())?,
                stop_type: match st {
                    ex::StopType::StopLoss => sova_perps::StopType::StopLoss,
                    ex::StopType::TakeProfit => sova_perps::StopType::TakeProfit,
                },
                trigger: match tt {
                    Some(ex::TriggerType::Last) => sova_perps::TriggerType::Last,
                    Some(ex::TriggerType::Mark) | None => sova_perps::TriggerType::Mark,
                    Some(ex::TriggerType::Index) => sova_perps::TriggerType::Index,
                },
            }),
            _ => {
                return Err(ExchangeError::new(
                    Reason::InvalidStop,
                    "a stop needs stopPrice and stopType (triggerType LAST, MARK or INDEX; default MARK)",
                ));
            }
        };
        Ok(sova_perps::NewOrder {
            market: m.id(),
            cl_ord_id: Some(ClOrdId::new(it.cl_ord_id.as_str())?),
            side: side(it.side),
            order_type: match it.order_type {
                ex::OrderType::Limit => OrderType::Limit,
                ex::OrderType::Market => OrderType::Market,
            },
            time_in_force: match it.time_in_force {
                ex::TimeInForce::Gtc => TimeInForce::Gtc,
                ex::TimeInForce::Fok => TimeInForce::Fok,
                ex::TimeInForce::Ioc => TimeInForce::Ioc,
                ex::TimeInForce::Gtx => TimeInForce::Gtx,
            },
            price,
            quantity,
            reduce_only: it.reduce_only,
            position_side: match it.position_side {
                ex::PositionSide::Both => sova_perps::PositionSide::Both,
                ex::PositionSide::Long => sova_perps::PositionSide::Long,
                ex::PositionSide::Short => sova_perps::PositionSide::Short,
            },
            modifier,
            stop,
            stp: StpMode::default(),
        })
    }

    /// `newOrder`: one order (NORMAL or STOP), several independent ones, or one BRACKET; `[receipt]`.
    pub(crate) fn perps_new_order(&mut self, account: u64, p: &PerpsNewOrder, now: u64, t: &mut Touched) -> Reply {
        let converted: Vec<Result<sova_perps::NewOrder, ExchangeError>> =
            p.orders.iter().map(|it| self.perps_order_item(p.symbol_id, it)).collect();
        let bracket = p.orders.first().is_some_and(|o| o.modifier == ex::OrderModifier::Bracket);
        if bracket {
            // All or nothing: one refused item refuses the bracket.
            if let Some(e) = converted.iter().find_map(|c| c.as_ref().err()) {
                let e = e.clone();
                return Ok(Some(WriteReply::Batch(
                    p.orders.iter().map(|it| item_error(it.cl_ord_id.as_str(), e.clone())).collect(),
                )));
            }
        }
        let mut good = Vec::new();
        let mut refused = Vec::new();
        for c in converted {
            match c {
                Ok(o) => {
                    good.push(o);
                    refused.push(None);
                }
                Err(e) => refused.push(Some(e)),
            }
        }
        let results = match good.len() {
            0 => Vec::new(),
            1 if !bracket => self.exec_perps(PAction::NewOrder { account, order: good[0] }, now, t),
            _ => self.exec_perps(PAction::BatchNew { account, orders: good }, now, t),
        };
        let mut results = results.into_iter();
        let out = p
            .orders
            .iter()
            .zip(refused)
            .map(|(it, e)| {
                let cl = it.cl_ord_id.as_str();
                match e {
                    Some(e) => item_error(cl, e),
                    None => match results.next() {
                        Some(r) => receipt(cl, &r),
                        None => item_error(cl, ExchangeError::unavailable("no result")),
                    },
                }
            })
            .collect();
        Ok(Some(WriteReply::Batch(out)))
    }

    /// `cancelOrder`: `[receipt + origClOrdID]` per item.
    pub(crate) fn perps_cancel(&mut self, account: u64, p: &PerpsCancelOrder, now: u64, t: &mut Touched) -> Reply {
        let mut items = Vec::new();
        let mut refused = Vec::new();
        for c in &p.cancels {
            let target = order_ref(c.order_id, c.cl_ord_id.as_ref(), "give orderID or clOrdID of the order to cancel");
            match self
                .perp(c.symbol_id)
                .map(|m| m.id())
                .and_then(|m| target.map(|t| CancelItem { market: m, target: t }))
            {
                Ok(item) => {
                    items.push(item);
                    refused.push(None);
                }
                Err(e) => refused.push(Some(e)),
            }
        }
        let results = match items.len() {
            0 => Vec::new(),
            1 => self.exec_perps(PAction::Cancel { account, cancel: items[0] }, now, t),
            _ => self.exec_perps(PAction::BatchCancel { account, cancels: items }, now, t),
        };
        let mut results = results.into_iter();
        let out = p
            .cancels
            .iter()
            .zip(refused)
            .map(|(c, e)| {
                let cl = c.cl_ord_id.as_ref().map(|c| c.as_str().to_string()).unwrap_or_default();
                match e {
                    Some(e) => item_error(&cl, e),
                    None => match results.next() {
                        Some(r) => receipt(&cl, &r),
                        None => item_error(&cl, ExchangeError::unavailable("no result")),
                    },
                }
            })
            .collect();
        Ok(Some(WriteReply::Batch(out)))
    }

    /// `modifyOrder`: `{code: 0}`.
    pub(crate) fn perps_modify(&mut self, account: u64, p: &PerpsModifyOrder, now: u64, t: &mut Touched) -> Reply {
        let m = self.perp(p.symbol_id)?;
        let spec = m.spec.clone();
        let target = match (p.order_id, p.cl_ord_id.as_ref()) {
            (Some(id), None) => OrderRef::Id(id),
            (None, Some(c)) => OrderRef::ClOrdId(ClOrdId::new(c.as_str())?),
            _ => {
                return Err(ExchangeError::new(
                    Reason::InvalidField,
                    "give exactly one of orderID and clOrdID of the order to modify",
                ));
            }
        };
        if p.stop_price.is_some() {
            return Err(ExchangeError::new(
                Reason::InvalidStop,
                "modifying stopPrice is not supported; replace the stop order (cancel and place a new one)",
            ));
        }
        let item = sova_perps::ModifyItem {
            market: m.id(),
            target,
            price: p.price.as_ref().map(|x| spec.parse_price(x.as_str())).transpose()?,
            quantity: p.quantity.as_ref().map(|x| spec.parse_quantity(x.as_str())).transpose()?,
        };
        let r = self.exec_perps(PAction::Modify { account, item }, now, t);
        first(&r)?;
        Ok(Some(WriteReply::Code(CodeAck { code: 0 })))
    }

    /// `replaceOrder` (futures domain): `[receipt]`.
    pub(crate) fn perps_replace(&mut self, account: u64, p: &ReplaceOrder, now: u64, t: &mut Touched) -> Reply {
        let mut out = Vec::new();
        for it in &p.orders {
            let cl = it.cl_ord_id.as_str();
            let item = (|| -> Result<ReplaceItem, ExchangeError> {
                let m = self.perp(it.symbol_id)?;
                let orig = order_ref(it.orig_order_id, it.orig_cl_ord_id.as_ref(), REPLACE_WHICH)?;
                Ok(ReplaceItem {
                    market: m.id(),
                    orig,
                    cl_ord_id: Some(ClOrdId::new(cl)?),
                    price: it.price.as_ref().map(|x| m.spec.parse_price(x.as_str())).transpose()?,
                    quantity: it.quantity.as_ref().map(|x| m.spec.parse_quantity(x.as_str())).transpose()?,
                })
            })();
            match item {
                Ok(item) => {
                    let r = self.exec_perps(PAction::Replace { account, item }, now, t);
                    match r.first() {
                        Some(r) => out.push(receipt(cl, r)),
                        None => out.push(item_error(cl, ExchangeError::unavailable("no result"))),
                    }
                }
                Err(e) => out.push(item_error(cl, e)),
            }
        }
        Ok(Some(WriteReply::Batch(out)))
    }

    /// `scheduleCancel` (futures domain).
    pub(crate) fn perps_schedule_cancel(
        &mut self,
        account: u64,
        deadline: Option<u64>,
        now: u64,
        t: &mut Touched,
    ) -> Reply {
        let r = self.exec_perps(PAction::ScheduleCancel { account, deadline }, now, t);
        first(&r)?;
        Ok(Some(WriteReply::ScheduleCancel(ScheduleCancelAck { account_id: account, scheduled_timestamp: deadline })))
    }

    /// `updateLeverage`: `{symbol, leverage, marginMode}`.
    pub(crate) fn perps_leverage(&mut self, account: u64, p: &UpdateLeverage, now: u64, t: &mut Touched) -> Reply {
        let m = self.perp(p.symbol_id)?;
        let (market, symbol) = (m.id(), m.config.market.name.clone());
        let mode = match p.margin_mode {
            ex::MarginMode::Isolated => sova_perps::MarginMode::Isolated,
            ex::MarginMode::Cross => sova_perps::MarginMode::Cross,
        };
        let r = self.exec_perps(PAction::UpdateLeverage { account, market, leverage: p.leverage, mode }, now, t);
        first(&r)?;
        Ok(Some(WriteReply::Leverage(LeverageAck {
            symbol,
            leverage: p.leverage,
            margin_mode: mode.as_str().to_string(),
        })))
    }

    /// `updateMargin`: `{code: 0}`.
    pub(crate) fn perps_margin(&mut self, account: u64, p: &UpdateMargin, now: u64, t: &mut Touched) -> Reply {
        let m = self.perp(p.symbol_id)?;
        let market = m.id();
        let decimals = self.catalog.perps_config.collateral_decimals;
        let s = p.amount.as_str();
        let (neg, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let atoms = sova_engine::parse_decimal(digits, decimals)
            .and_then(|a| i64::try_from(a).ok())
            .filter(|a| *a > 0)
            .ok_or_else(|| {
                ExchangeError::new(
                    Reason::InvalidAmount,
                    format!("amount must be a non-zero decimal with at most {decimals} decimals"),
                )
            })?;
        let amount = if neg { -atoms } else { atoms };
        let r = self.exec_perps(PAction::UpdateMargin { account, market, amount }, now, t);
        first(&r)?;
        Ok(Some(WriteReply::Code(CodeAck { code: 0 })))
    }

    /// Spot <-> perps transfers (spec section 7): spot domain PERPS_WITHDRAW (3) to 999 moves available spot USDC
    /// into perps collateral; futures domain SPOT_WITHDRAW (5) to 999 moves withdrawable collateral back. Both
    /// legs are applied in this group (one log row), or neither.
    pub(crate) fn perps_transfer(
        &mut self,
        domain: Domain,
        p: &TransferAsset,
        account: u64,
        now: u64,
        t: &mut Touched,
    ) -> Reply {
        let expected = match domain {
            Domain::Futures => TransferType::SpotWithdraw,
            _ => TransferType::PerpsWithdraw,
        };
        if p.transfer_type != expected || p.to_account_id != TREASURY || p.from_account_id != account {
            return Err(ExchangeError::new(
                Reason::UnsupportedTransfer,
                format!(
                    "spot -> perps: spot domain, type PERPS_WITHDRAW (3); perps -> spot: futures domain, type \
                     SPOT_WITHDRAW (5); both from your account to toAccountID {TREASURY} (got type {} from {} to {})",
                    p.transfer_type.wire(),
                    p.from_account_id,
                    p.to_account_id
                ),
            ));
        }
        let collateral = self.catalog.perps_config.collateral;
        if self.catalog.perps.is_empty() || u64::from(collateral) != p.coin_id {
            return Err(ExchangeError::new(
                Reason::UnknownCoin,
                format!("perps collateral is coinID {collateral} (USDC) only (got {})", p.coin_id),
            ));
        }
        let decimals = self.catalog.perps_config.collateral_decimals;
        let amount = sova_engine::parse_decimal(p.amount.as_str(), decimals).filter(|a| *a > 0).ok_or_else(|| {
            ExchangeError::new(
                Reason::InvalidAmount,
                format!("amount must be positive with at most {decimals} decimals"),
            )
        })?;
        let spot = |from, to| sova_engine::Action::Transfer { from, to, coin: collateral, amount };
        if domain == Domain::Futures {
            // Perps first (the withdrawable rule), then the treasury pays out on spot.
            first(&self.exec_perps(PAction::TransferOut { account, amount }, now, t))?;
            if let Some(Err(r)) = self.exec_spot(spot(TREASURY, account), now, t).first().copied() {
                // Cannot happen while the treasury holds every transfer in; undo the perps leg.
                self.exec_perps(PAction::TransferIn { account, amount }, now, t);
                return Err(ExchangeError::from(r));
            }
        } else {
            if let Some(Err(r)) = self.exec_spot(spot(account, TREASURY), now, t).first().copied() {
                return Err(ExchangeError::from(r));
            }
            if let Err(e) = first(&self.exec_perps(PAction::TransferIn { account, amount }, now, t)) {
                self.exec_spot(spot(TREASURY, account), now, t);
                return Err(e);
            }
        }
        Ok(Some(WriteReply::Transfer(TransferAck {
            from_account_id: p.from_account_id,
            id: p.id,
            to_account_id: p.to_account_id,
        })))
    }

    /// An index from the external feeds ([`PerpsRequest::FeedIndex`]).
    fn feed_index(&mut self, market: u32, price: u64, now: u64, t: &mut Touched) -> Reply {
        let view = self
            .perps
            .market_view(market)
            .ok_or_else(|| ExchangeError::new(Reason::UnknownSymbol, format!("perps market {market} is not listed")))?;
        self.index_feed_at.insert(market, now);
        if view.index_price != Some(price) && !view.index_pinned {
            first(&self.exec_perps(PAction::SetIndex { market, price }, now, t))?;
        }
        Ok(Some(WriteReply::Code(CodeAck { code: 0 })))
    }

    /// The sandbox controls and the external index feeds.
    pub(crate) fn perps_request(&mut self, r: &PerpsRequest, now: u64, t: &mut Touched) -> Reply {
        let action = match *r {
            PerpsRequest::FeedIndex { market, price } => return self.feed_index(market, price, now, t),
            PerpsRequest::PinIndex { market, price } => PAction::PinIndex { market, price },
            PerpsRequest::PinMark { market, price } => PAction::PinMark { market, price },
            PerpsRequest::SettleFunding { market } => PAction::SettleFunding { market },
        };
        let pin_mark_cleared = matches!(r, PerpsRequest::PinMark { price: None, .. });
        let res = self.exec_perps(action, now, t);
        first(&res)?;
        if pin_mark_cleared && let PerpsRequest::PinMark { market, .. } = *r {
            self.exec_perps(PAction::MarkTick { market: Some(market) }, now, t);
        }
        Ok(Some(WriteReply::Code(CodeAck { code: 0 })))
    }

    /// The index of a perps market from the spot book of its base (median of bid, ask and last; of those
    /// present: one -> it, two -> their mean), in ticks (perps and spot share the tick).
    pub fn spot_index(&self, m: &sova_perps::PerpMarketSpec) -> Option<u64> {
        let s = self.catalog.spot_of_perp(m)?;
        if s.config.tick_size != m.config.market.tick_size || s.config.price_decimals != m.config.market.price_decimals
        {
            return None;
        }
        let id = s.config.id;
        let bbo = self.engine.best_bid_ask(id)?;
        let last = self.engine.recent_trades(id, 1).last().map(|tr| tr.price);
        let mut v: Vec<u64> =
            [bbo.bid.map(|l| l.price), bbo.ask.map(|l| l.price), last].into_iter().flatten().collect();
        v.sort_unstable();
        match v.len() {
            0 => None,
            1 => Some(v[0]),
            2 => Some(v[0] / 2 + v[1] / 2 + (v[0] % 2 + v[1] % 2) / 2),
            _ => Some(v[1]),
        }
    }

    /// Is any perps periodic work due? (The sequencer then ticks without traffic.)
    pub fn perps_due(&self, now: u64) -> bool {
        self.perps_active() && (now >= self.perps_clock.next_mark || now >= self.perps_clock.next_premium)
    }

    /// Whether perps needs its clock: any account holds collateral or a position.
    pub fn perps_active(&self) -> bool {
        !self.catalog.perps.is_empty() && self.perps.account_ids().iter().any(|a| *a >= 1001)
    }

    /// The leader's periodic perps work due at `now`: index from the spot book, mark tick (every second),
    /// premium sample (every 5 s). Funding on the hour, liquidation slices and dead-man switches run in the engine's
    /// housekeeping of these commands.
    pub(crate) fn run_perps_clock(&mut self, now: u64, t: &mut Touched) {
        if !self.perps_active() {
            return;
        }
        if now >= self.perps_clock.next_mark {
            self.perps_clock.next_mark = now - now % INDEX_EVERY_MS + INDEX_EVERY_MS;
            for m in self.catalog.perps.clone() {
                let fed = self.index_feed_at.get(&m.id()).is_some_and(|at| now < at + FEED_FRESH_MS);
                if !fed
                    && let Some(price) = self.spot_index(&m)
                    && self.perps.market_view(m.id()).is_some_and(|v| v.index_price != Some(price) && !v.index_pinned)
                {
                    self.exec_perps(PAction::SetIndex { market: m.id(), price }, now, t);
                }
            }
            self.exec_perps(PAction::MarkTick { market: None }, now, t);
        }
        if now >= self.perps_clock.next_premium {
            self.perps_clock.next_premium = now - now % PREMIUM_EVERY_MS + PREMIUM_EVERY_MS;
            self.exec_perps(PAction::SamplePremium { market: None }, now, t);
        }
    }

    /// Apply one spot engine command (a transfer leg).
    fn exec_spot(&mut self, action: sova_engine::Action, now: u64, t: &mut Touched) -> Vec<sova_engine::ItemResult> {
        self.exec(action, now, t)
    }
}
