//! Connect trading on Sova's own spot book (issue 17, `spec/connect-money.md` section 3): a quote is priced by
//! walking the book for its size ([`Core::connect_quote`], a read); an order on it ([`Request::ConnectTrade`]) is
//! executed in one sequencer group as: the wallet's spend credited to the engine account Sova keeps for the
//! wallet, a fill-or-kill order at the quoted terms, everything that account then holds taken back out; and the
//! Connect ledger legs of exactly those amounts join the group's commit ([`ExWrites::ledger`]), so the engine's log
//! and the Connect ledger commit together or not at all. An order the book can no longer fill at the quoted terms
//! changes nothing (`QUOTE_NOT_FILLABLE`).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sova_engine::{Action, NewOrder, Side, TimeInForce};
use sova_store::{ExAccount, ExWrites, LedgerPost, Posting, TradeDone};

use super::{Core, Reply, Touched};
use crate::error::{ExchangeError, Reason};

/// The engine terms of a quote (kept with it, sent back with the order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectTerms {
    /// Spot market id.
    pub market: u32,
    /// The wallet buys the base (else sells it).
    pub buy: bool,
    /// Base lots.
    pub lots: u64,
    /// The worst price level the quote's walk reached (ticks): the fill-or-kill order's limit.
    pub limit: u64,
    /// Quote atoms of the fills at the quote (before the fee): a buy pays at most this, a sell gets at least this.
    pub notional: u64,
}

/// A quote as the book gives it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectQuote {
    /// The terms to keep.
    pub terms: ConnectTerms,
    /// The taker fee on it, in atoms of what the wallet receives (rounded up).
    pub fee: u64,
}

/// Builds the webhook event of a completed order (the Connect surface owns its shape).
pub type EventOf = std::sync::Arc<dyn Fn(&TradeDone) -> sova_store::OutboxEvent + Send + Sync>;

/// An order on a quote, with the Connect ledger accounts its legs move.
#[derive(Clone)]
pub struct ConnectOrder {
    /// The Connect order id (the ledger reference).
    pub order_id: String,
    /// The engine account Sova keeps for the wallet (created by the caller in the store).
    pub account: ExAccount,
    /// The quote's terms.
    pub terms: ConnectTerms,
    /// Ledger currency (upper case) of what the wallet spends, and of what it receives.
    pub spend_currency: String,
    /// See `spend_currency`.
    pub receive_currency: String,
    /// The hold the order took (spend currency).
    pub hold_account: String,
    /// What the hold took (decimal).
    pub held: Decimal,
    /// The wallet's account of the spend currency (what the hold does not use goes back there).
    pub spend_account: String,
    /// The wallet's account of the receive currency.
    pub receive_account: String,
    /// The exchange's side of the ledger, per currency (may go negative).
    pub bridge_spend: String,
    /// See `bridge_spend`.
    pub bridge_receive: String,
    /// The `trade.completed` event of the outcome, put in the outbox by the group's commit.
    pub event: EventOf,
}

impl std::fmt::Debug for ConnectOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectOrder")
            .field("order_id", &self.order_id)
            .field("terms", &self.terms)
            .finish_non_exhaustive()
    }
}

/// `atoms` of a coin with `decimals` as a decimal.
fn dec(atoms: u64, decimals: u8) -> Decimal {
    Decimal::from_i128_with_scale(i128::from(atoms), u32::from(decimals)).normalize()
}

fn not_fillable(why: impl Into<String>) -> ExchangeError {
    ExchangeError::new(Reason::QuoteNotFillable, why)
}

impl Core {
    /// Walk market `market`'s book for `lots` (`buy`: the asks), or (`funds`, a buy by quote amount) for as many
    /// whole lots as `funds` quote atoms pay: the terms, or why the book cannot give them.
    pub fn connect_quote(
        &self,
        market: u32,
        buy: bool,
        lots: Option<u64>,
        funds: Option<u64>,
    ) -> Result<ConnectQuote, ExchangeError> {
        let spec = self
            .engine
            .market(market)
            .ok_or_else(|| ExchangeError::new(Reason::UnknownSymbol, format!("market {market} is not listed")))?;
        let depth =
            self.engine.depth(market, 10_000).unwrap_or(sova_engine::Depth { bids: Vec::new(), asks: Vec::new() });
        let levels = if buy { &depth.asks } else { &depth.bids };
        let qptl = u128::from(spec.quote_per_tick_lot);
        let (mut left, mut budget) = (lots.unwrap_or(u64::MAX), funds.map(u128::from));
        let (mut got, mut notional, mut limit) = (0u64, 0u128, 0u64);
        for l in levels {
            if left == 0 {
                break;
            }
            let mut q = left.min(l.quantity);
            if let Some(b) = budget {
                q = q.min(u64::try_from(b / (u128::from(l.price) * qptl)).unwrap_or(u64::MAX));
                if q == 0 {
                    break;
                }
                budget = Some(b - u128::from(q) * u128::from(l.price) * qptl);
            }
            got += q;
            left -= q.min(left);
            notional += u128::from(q) * u128::from(l.price) * qptl;
            limit = l.price;
        }
        if got == 0 || (lots.is_some() && left > 0) {
            let side = if buy { "asks" } else { "bids" };
            return Err(not_fillable(format!("the book's {side} cannot fill that size now")));
        }
        let notional = u64::try_from(notional).map_err(|_| not_fillable("the size is out of range"))?;
        let receive = if buy { spec.base_amount(got).unwrap_or(u64::MAX) } else { notional };
        let fee = sova_engine::fee_of(receive, spec.config.taker_fee_ppm);
        Ok(ConnectQuote { terms: ConnectTerms { market, buy, lots: got, limit, notional }, fee })
    }

    /// Execute an order on a quote (see the module): the answer is `Ok(None)`; the outcome is in the store.
    pub(crate) fn connect_trade(
        &mut self,
        o: &ConnectOrder,
        now: u64,
        writes: &mut ExWrites,
        touched: &mut Touched,
    ) -> Reply {
        let t = o.terms;
        let spec = self.engine.market(t.market).cloned().ok_or_else(|| not_fillable("the market is gone"))?;
        // The book now, for the quoted size: not worse than the quote, or nothing happens.
        let now_q = self.connect_quote(t.market, t.buy, Some(t.lots), None)?;
        let worse = if t.buy { now_q.terms.notional > t.notional } else { now_q.terms.notional < t.notional };
        if worse {
            return Err(not_fillable("the book moved: the quoted price cannot be met now"));
        }
        self.add_account(&o.account);
        let id = u64::try_from(o.account.account_id).map_err(|_| not_fillable("bad account"))?;
        let (spend_coin, receive_coin) =
            if t.buy { (spec.config.quote, spec.config.base) } else { (spec.config.base, spec.config.quote) };
        // A buy's order reserves its whole size at its limit; what the fills do not use comes back out below.
        let spend = if t.buy {
            spec.notional(now_q.terms.limit, t.lots).ok_or_else(|| not_fillable("the size is out of range"))?
        } else {
            spec.base_amount(t.lots).unwrap_or(u64::MAX)
        };
        let fail = |e: sova_engine::Reject| ExchangeError::from(e);
        if let Some(Err(e)) =
            self.exec(Action::Deposit { account: id, coin: spend_coin, amount: spend }, now, touched).first()
        {
            return Err(fail(*e));
        }
        let side = if t.buy { Side::Buy } else { Side::Sell };
        let mut order = NewOrder::limit(t.market, side, now_q.terms.limit, t.lots);
        order.time_in_force = TimeInForce::Fok;
        let placed = self.exec(Action::NewOrder { account: id, order }, now, touched);
        let filled = matches!(placed.first(), Some(Ok(a)) if a.status == Some(sova_engine::OrderStatus::Filled));
        // Everything the account holds goes back out (the fill, and on a refusal the deposit).
        let mut back = (0u64, 0u64);
        for (coin, b) in self.engine.balances(id) {
            if b.available > 0 {
                self.exec(Action::Withdraw { account: id, coin, amount: b.available }, now, touched);
                if coin == spend_coin {
                    back.0 += b.available;
                } else if coin == receive_coin {
                    back.1 += b.available;
                }
            }
        }
        if !filled {
            return Err(not_fillable("the book could not fill the whole size at the quoted terms"));
        }
        let (spent, received) = (spend - back.0, back.1);
        let coin_dec = |c: u32| self.catalog.coin(u64::from(c)).map_or(0, |c| c.decimals);
        let (sd, rd) = (coin_dec(spend_coin), coin_dec(receive_coin));
        let (spent_d, received_d) = (dec(spent, sd), dec(received, rd));
        let leg = |account: &str, currency: &str, amount: Decimal, may_go_negative: bool| Posting {
            account: account.to_string(),
            currency: currency.to_string(),
            amount,
            may_go_negative,
        };
        let mut postings = vec![
            leg(&o.hold_account, &o.spend_currency, -o.held, false),
            leg(&o.bridge_spend, &o.spend_currency, spent_d, true),
            leg(&o.bridge_receive, &o.receive_currency, -received_d, true),
            leg(&o.receive_account, &o.receive_currency, received_d, false),
        ];
        let leftover = o.held - spent_d;
        if !leftover.is_zero() {
            postings.push(leg(&o.spend_account, &o.spend_currency, leftover, false));
        }
        writes.ledger.push(LedgerPost { kind: "trade".into(), reference: o.order_id.clone(), postings });
        let base_atoms = spec.base_amount(t.lots).unwrap_or(u64::MAX);
        let quote_atoms = if t.buy { spent } else { now_q.terms.notional };
        let fee = if t.buy { base_atoms - received } else { now_q.terms.notional - received };
        let price = Decimal::from_i128_with_scale(i128::from(quote_atoms), u32::from(spec.quote_decimals))
            / dec(base_atoms, spec.base_decimals);
        let done = TradeDone {
            order_id: o.order_id.clone(),
            status: "COMPLETED".into(),
            quantity: dec(base_atoms, spec.base_decimals).to_string(),
            amount: dec(quote_atoms, spec.quote_decimals).to_string(),
            price: price.round_dp(u32::from(spec.config.price_decimals)).normalize().to_string(),
            fee: dec(fee, rd).to_string(),
            now: i64::try_from(now).unwrap_or(i64::MAX),
        };
        writes.events.push((o.event)(&done));
        writes.trades_done.push(done);
        Ok(None)
    }
}
