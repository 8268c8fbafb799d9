//! The engine's order flow: admitting the strategy's intents through the risk manager, sending
//! them to the broker (journaled first), and applying the broker's execution reports to the
//! ledger: the only way cash and shares change hands.

use crate::engine::{Backtest, EngineError};
use crate::ledger::OpenOrder;
use crate::risk::{PendingBuy, RiskContext};
use crate::strategy::{Decisions, Intent};
use janus_core::{
    Broker, BrokerError, DayBatch, Event, Money, Order, OrderEvent, OrderId, RiskEvent, RiskReason, Side, Store,
    SymbolId,
};
use janus_data::History;

/// Where a day's records go: the batch, and for events written ahead the store itself
/// (`None` while replaying: nothing is written).
pub(crate) struct Out<'s> {
    pub(crate) batch: &'s mut DayBatch,
    pub(crate) store: Option<&'s mut dyn Store>,
    pub(crate) run_id: &'s str,
    pub(crate) write_ahead: bool,
}

impl Backtest<'_> {
    /// Apply the broker's reports in order. Each order a report changed goes into the day's
    /// rows once, in its state after the last report; finished orders leave the book.
    pub(crate) fn apply_reports(
        &mut self,
        reports: Vec<janus_core::ExecReport>,
        out: &mut Out<'_>,
    ) -> Result<(), EngineError> {
        use janus_core::ReportKind as K;
        let mut touched: Vec<OrderId> = Vec::new();
        for r in reports {
            self.journal(r.date, Event::Report(r.clone()), out)?;
            let Some(ix) = self.st.open.iter().position(|o| o.order.id == r.order_id) else {
                let detail = format!("{} report for order {}, which is not open: ignored", r.kind.name(), r.order_id.0);
                self.journal(r.date, Event::Reconciliation { detail }, out)?;
                continue;
            };
            let date = r.date;
            let ledger = |source| EngineError::Ledger { date, order: r.order_id.0, source };
            let OpenOrder { order, sid, trades } = &mut self.st.open[ix];
            let sid = *sid;
            let mut refusal = None;
            match r.kind {
                K::Accepted => {
                    if order.apply(OrderEvent::Accept, date).is_err() {
                        // A fill overtook the acknowledgement: the order is already working.
                        continue;
                    }
                }
                K::Rejected { reason, detail } => {
                    order.apply(OrderEvent::Reject, date).map_err(|e| ledger(e.into()))?;
                    self.portfolio.release(order, sid);
                    refusal = reason.map(|reason| (reason, detail));
                }
                K::PartiallyFilled(f) | K::Filled(f) => {
                    if trades.contains(&f.trade_id) {
                        let detail =
                            format!("trade {} of order {} reported twice: applied once", f.trade_id, r.order_id.0);
                        self.journal(date, Event::Reconciliation { detail }, out)?;
                        continue;
                    }
                    trades.push(f.trade_id.clone());
                    let spec = janus_core::FillSpec {
                        price: f.price,
                        qty: f.qty,
                        reference: f.reference,
                        date,
                        commission: f.commission,
                        taxes: f.taxes,
                    };
                    // The broker's fill is a fact: booked even when it costs more than this
                    // ledger holds for it (reconciliation then takes the broker's cash).
                    let (log, shortfall) = self.portfolio.fill_reported(order, sid, spec).map_err(ledger)?;
                    if order.side == Side::Buy && !self.cfg.frictions.t_plus_1 {
                        self.portfolio.unlock_t1(sid);
                    }
                    out.batch.executions.push(log);
                    self.st.held.remove(&r.order_id.0);
                    if shortfall > Money::ZERO {
                        let detail = format!(
                            "fill {} of order {} costs {} more than the cash held for it: booked as the broker \
                             reported it, the available cash overdrawn until reconciled with the broker's",
                            f.trade_id, r.order_id.0, shortfall
                        );
                        self.journal(date, Event::Reconciliation { detail }, out)?;
                    }
                }
                K::Expired { reason, detail } => {
                    if let Some(reason) = reason {
                        if order.side == Side::Sell && reason != RiskReason::VolumeCap {
                            self.st.refused_sell[sid as usize] = true;
                        }
                        refusal = Some((reason, detail));
                    }
                    self.portfolio.expire(order, sid, date).map_err(ledger)?;
                    self.st.held.remove(&r.order_id.0);
                }
                K::Held { reason, detail } => {
                    self.st.refused_sell[sid as usize] = true;
                    if !self.st.held.insert(r.order_id.0) {
                        continue; // already recorded when it started waiting
                    }
                    refusal = Some((reason, detail));
                }
                K::Canceled => {
                    self.portfolio.cancel(order, sid, date).map_err(ledger)?;
                    self.st.held.remove(&r.order_id.0);
                }
                K::CancelRejected { .. } => {
                    let filled = order.filled;
                    order.apply(OrderEvent::CancelReject { filled }, date).map_err(|e| ledger(e.into()))?;
                }
            }
            if let Some((reason, detail)) = refusal {
                let ev = risk_event(&self.st.open[ix].order, date, reason, detail);
                self.refuse(ev, out)?;
            }
            if !touched.contains(&r.order_id) {
                touched.push(r.order_id);
            }
        }
        for id in touched {
            if let Some(ix) = self.st.open.iter().position(|o| o.order.id == id) {
                out.batch.orders.push(self.st.open[ix].order.clone());
                if !self.st.open[ix].order.status.is_open() {
                    self.st.open.remove(ix);
                }
            }
        }
        Ok(())
    }

    /// Send an admitted order to the broker (journaled first) and apply its answer.
    pub(crate) fn send(
        &mut self,
        order: Order,
        sid: SymbolId,
        broker: &mut dyn Broker,
        out: &mut Out<'_>,
    ) -> Result<(), EngineError> {
        self.journal(order.created, Event::Submitted(order.clone()), out)?;
        (self.probe)("journaled");
        let result = broker.submit(&order);
        (self.probe)("sent");
        self.st.open.push(OpenOrder { order, sid, trades: Vec::new() });
        match result {
            // No answer: the order stays `Submitted` (its fate unknown until the broker
            // reports or reconciliation settles it).
            Err(BrokerError::Unreachable(_)) => Ok(()),
            Err(e) => Err(e.into()),
            Ok(()) => {
                let reports = broker.poll()?;
                self.apply_reports(reports, out)
            }
        }
    }

    fn new_order(&mut self, h: &History<'_>, intent: &Intent, qty: i64) -> Order {
        let id = OrderId(self.st.next_order_id);
        self.st.next_order_id += 1;
        let symbol = h.symbols()[intent.sid as usize].clone();
        let mut o = Order::new(id, symbol, intent.side, intent.order_type, qty, h.date());
        o.tag = intent.tag.clone();
        o
    }

    fn reject(
        &mut self,
        mut order: Order,
        reason: RiskReason,
        detail: String,
        out: &mut Out<'_>,
    ) -> Result<(), EngineError> {
        let date = order.created;
        order.apply(OrderEvent::Reject, date).expect("a new order can always be rejected");
        let ev = risk_event(&order, date, reason, detail);
        out.batch.orders.push(order);
        self.refuse(ev, out)
    }

    /// Turn the strategy's intents into orders: sells first, then buys in rank order while
    /// slots remain. Each passes the risk manager before anything is frozen, then goes to the
    /// broker.
    pub(crate) fn admit(
        &mut self,
        h: &History<'_>,
        breaker: bool,
        d: &Decisions,
        broker: &mut dyn Broker,
        out: &mut Out<'_>,
    ) -> Result<(), EngineError> {
        let date = h.date();
        let mut pending_buys: Vec<PendingBuy> = Vec::new();
        let planned: Vec<SymbolId> = d.buys.iter().map(|b| b.sid).collect();
        let ledger = |order: &Order| {
            let id = order.id.0;
            move |source| EngineError::Ledger { date, order: id, source }
        };
        for intent in &d.sells {
            if self.st.open.iter().any(|o| o.sid == intent.sid && self.st.held.contains(&o.order.id.0)) {
                continue; // a sell of this stock is already waiting for it to trade again
            }
            let qty = intent.qty.unwrap_or_else(|| self.portfolio.positions.get(&intent.sid).map_or(0, |p| p.sellable));
            let mut order = self.new_order(h, intent, qty);
            if self.cfg.frictions.suspensions && h.is_present(0, intent.sid) && !h.is_tradable(0, intent.sid) && qty > 0
            {
                // Halted at the decision close: queue the sell for the day it trades again
                // instead of refusing it every day; recorded once, as the refusal it is.
                self.portfolio.accept_sell(&mut order, intent.sid).map_err(ledger(&order))?;
                self.st.held.insert(order.id.0);
                let detail = "suspended at the decision close: queued for the open of the day it trades again";
                self.refuse(risk_event(&order, date, RiskReason::Suspended, detail.into()), out)?;
                self.st.refused_sell[intent.sid as usize] = true;
                self.send(order, intent.sid, broker, out)?;
                continue;
            }
            let ctx = RiskContext {
                history: *h,
                portfolio: &self.portfolio,
                pending_buys: &pending_buys,
                planned_buys: &planned,
                buys_blocked: breaker,
            };
            match self.risk.check_sell(&order, intent.sid, &ctx) {
                Err((reason, detail)) => self.reject(order, reason, detail, out)?,
                Ok(()) => {
                    self.portfolio.accept_sell(&mut order, intent.sid).map_err(ledger(&order))?;
                    self.send(order, intent.sid, broker, out)?;
                }
            }
        }
        let mut admitted = 0;
        for intent in &d.buys {
            if admitted >= d.max_new_buys {
                break;
            }
            let sid = intent.sid;
            let close = h.close(0, sid);
            let freeze_price = self.risk.freeze_price(h, sid, intent.order_type);
            let qty = intent.qty.unwrap_or_else(|| self.risk.size_buy(&self.portfolio, h, sid, freeze_price));
            let mut order = self.new_order(h, intent, qty);
            let freeze = self.risk.freeze_amount(&order, freeze_price);
            let ctx = RiskContext {
                history: *h,
                portfolio: &self.portfolio,
                pending_buys: &pending_buys,
                planned_buys: &planned,
                buys_blocked: breaker,
            };
            match self.risk.check_buy(&order, sid, freeze, &ctx) {
                Err((reason, detail)) => {
                    let stop = reason == RiskReason::CircuitBreaker;
                    self.reject(order, reason, detail, out)?;
                    if stop {
                        break;
                    }
                }
                Ok(()) => {
                    self.portfolio.accept_buy(&mut order, freeze).map_err(ledger(&order))?;
                    pending_buys.push(PendingBuy { sid, value: close.notional(qty) });
                    self.send(order, sid, broker, out)?;
                    admitted += 1;
                }
            }
        }
        Ok(())
    }
}

/// The risk event recording that `order` was refused on `date`.
pub(crate) fn risk_event(order: &Order, date: chrono::NaiveDate, reason: RiskReason, detail: String) -> RiskEvent {
    RiskEvent { date, symbol: order.symbol.clone(), order_id: order.id, side: order.side, reason, detail }
}
