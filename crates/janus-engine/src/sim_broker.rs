//! The simulated broker: the A-share market of a backtest or a paper run behind the `Broker`
//! port. It keeps its own account (cash, frozen cash, positions with T+1), as a real broker
//! does, and on each trading day's bars ([`Broker::on_market`], its virtual clock) applies the
//! day's corporate actions, matches its working orders with the [`crate::matcher`] under the
//! market's rules, charges the fees and reports every outcome. The engine's ledger follows
//! from the reports alone, so it can be checked against this account at any time.

use crate::config::{FillConfig, Frictions};
use crate::matcher::match_bar;
use janus_core::corporate::{adjust_price, CorporateAction};
use janus_core::{
    Board, Broker, BrokerAccount, BrokerError, BrokerOrder, BrokerPosition, DividendTax, ExecReport, FeeSchedule, Fill,
    FillSpec, LotRules, MarketDay, Order, OrderEvent, OrderId, OrderStatus, OrderType, Portfolio, Price, Qty,
    ReportKind, RiskReason, Side, SymbolId,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

#[cfg(test)]
mod tests {
    use super::IdSet;

    #[test]
    fn an_id_set_keeps_ranges_and_answers_like_a_set() {
        let mut s = IdSet::default();
        let mut reference = std::collections::BTreeSet::new();
        for id in [5u64, 1, 2, 3, 9, 4, 7, 8, 6, 6, 0, 20, u64::MAX, 19] {
            assert_eq!(s.insert(id), reference.insert(id), "insert {id}");
        }
        for id in 0..25 {
            assert_eq!(s.contains(id), reference.contains(&id), "contains {id}");
        }
        assert!(s.contains(u64::MAX));
        assert_eq!(s.0.len(), 3, "0..=9, 19..=20 and MAX: {:?}", s.0);
    }
}

/// The market rules and costs the simulated venue applies.
#[derive(Clone, Debug)]
pub struct SimRules {
    pub fill: FillConfig,
    pub frictions: Frictions,
    pub fees: FeeSchedule,
    pub lots: LotRules,
    pub dividend_tax: DividendTax,
    pub subscribe_rights: bool,
}

impl SimRules {
    pub fn new(cfg: &crate::EngineConfig) -> SimRules {
        SimRules {
            fill: cfg.fill.clone(),
            frictions: cfg.frictions,
            fees: if cfg.frictions.costs { cfg.fees.schedule() } else { FeeSchedule::free() },
            lots: cfg.market.lot_rules(),
            dividend_tax: cfg.corporate_actions.tax(),
            subscribe_rights: cfg.corporate_actions.subscribe_rights(),
        }
    }
}

/// What the venue remembers between days: everything a checkpoint must hold.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Book {
    ledger: Portfolio,
    /// Working orders in arrival order, with their symbol ids.
    working: Vec<(Order, SymbolId)>,
    /// Every client order id ever submitted: a repeated submission is ignored.
    seen: IdSet,
    /// Sells already reported as waiting for their halted stock.
    held: BTreeSet<u64>,
    next_trade: u64,
}

/// A set of order ids kept as ranges: the engine numbers its orders 1, 2, 3, ..., so the ids
/// a run has ever sent stay a handful of ranges however long the run (and its checkpoints
/// small).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct IdSet(BTreeMap<u64, u64>);

impl IdSet {
    /// The range `start..=end` that holds `id`, if any.
    fn range_of(&self, id: u64) -> Option<(u64, u64)> {
        self.0.range(..=id).next_back().filter(|(_, &end)| end >= id).map(|(&s, &e)| (s, e))
    }

    fn contains(&self, id: u64) -> bool {
        self.range_of(id).is_some()
    }

    /// Add `id`; false when it was there already.
    fn insert(&mut self, id: u64) -> bool {
        if self.contains(id) {
            return false;
        }
        let mut start = id;
        let mut end = id;
        if let Some((s, e)) = id.checked_sub(1).and_then(|p| self.range_of(p)) {
            self.0.remove(&s);
            start = s;
            end = end.max(e);
        }
        if let Some(e) = id.checked_add(1).and_then(|n| self.0.remove(&n)) {
            end = e;
        }
        self.0.insert(start, end);
        true
    }
}

/// The simulated broker.
pub struct SimBroker {
    rules: SimRules,
    book: Book,
    reports: Vec<ExecReport>,
    /// Symbol code to dense id, learned from the market.
    ids: HashMap<String, SymbolId>,
    boards: Vec<Board>,
    today: Option<chrono::NaiveDate>,
}

impl SimBroker {
    pub fn new(rules: SimRules, initial_cash: janus_core::Money) -> SimBroker {
        SimBroker {
            rules,
            book: Book { ledger: Portfolio::new(initial_cash), ..Book::default() },
            reports: Vec::new(),
            ids: HashMap::new(),
            boards: Vec::new(),
            today: None,
        }
    }

    /// The venue's own account and positions.
    pub fn ledger(&self) -> &Portfolio {
        &self.book.ledger
    }

    /// A report dated on the venue's current day (or `fallback` before its first day).
    fn report(&mut self, order_id: OrderId, fallback: chrono::NaiveDate, kind: ReportKind) {
        let date = self.today.unwrap_or(fallback);
        self.reports.push(ExecReport { order_id, date, kind });
    }

    fn learn_symbols(&mut self, market: &dyn MarketDay) {
        if self.ids.len() != market.n_symbols() {
            self.ids = (0..market.n_symbols() as SymbolId).map(|s| (market.symbol(s).to_string(), s)).collect();
            self.boards = (0..market.n_symbols() as SymbolId).map(|s| market.board(s)).collect();
        }
    }

    fn lot_step(&self, sid: SymbolId) -> Qty {
        self.rules.lots.step(self.boards[sid as usize])
    }

    /// Match every working order against the day's bars, in arrival order; what is left of
    /// an order the bar could not fill expires at the close.
    fn match_working(&mut self, market: &dyn MarketDay) -> Result<(), BrokerError> {
        let date = market.date();
        let mut used: Vec<(SymbolId, Qty)> = Vec::new();
        for (mut order, sid) in std::mem::take(&mut self.book.working) {
            let bar = market.bar(sid);
            // A sell of a halted stock waits for the open of the day it trades again (its
            // shares stay reserved); reported once, when it starts waiting.
            let halted = bar.is_some_and(|b| !b.tradable);
            if order.side == Side::Sell && halted && self.rules.frictions.suspensions {
                if self.book.held.insert(order.id.0) {
                    let detail = "halted on the execution day: queued for the open of the day it trades again";
                    self.report(
                        order.id,
                        date,
                        ReportKind::Held { reason: RiskReason::MarketSuspended, detail: detail.into() },
                    );
                }
                self.book.working.push((order, sid));
                continue;
            }
            self.book.held.remove(&order.id.0);
            let volume_used = used.iter().find(|u| u.0 == sid).map_or(0, |u| u.1);
            let lot = self.lot_step(sid);
            let outcome = match_bar(&order, bar.as_ref(), &self.rules.fill, &self.rules.frictions, lot, volume_used);
            if let Some((mut qty, price)) = outcome.fill {
                let fees = &self.rules.fees;
                if order.side == Side::Buy {
                    // Data without limit columns can open above the frozen price: never spend
                    // cash that is not there.
                    let budget = order.frozen_cash + self.book.ledger.account.available_cash;
                    while qty > 0 && price.notional(qty) + fees.fill_fees(&order, qty, price, date).total() > budget {
                        qty = (qty - lot).max(0);
                    }
                }
                if qty > 0 {
                    let f = fees.fill_fees(&order, qty, price, date);
                    let spec = FillSpec {
                        price,
                        qty,
                        reference: outcome.reference,
                        date,
                        commission: f.commission,
                        taxes: f.taxes,
                    };
                    self.book.ledger.fill(&mut order, sid, spec).map_err(|e| BrokerError::Protocol(e.to_string()))?;
                    if order.side == Side::Buy && !self.rules.frictions.t_plus_1 {
                        self.book.ledger.unlock_t1(sid);
                    }
                    match used.iter_mut().find(|u| u.0 == sid) {
                        Some(u) => u.1 += qty,
                        None => used.push((sid, qty)),
                    }
                    self.book.next_trade += 1;
                    let fill = Fill {
                        trade_id: format!("T{}", self.book.next_trade),
                        qty,
                        price,
                        commission: f.commission,
                        taxes: f.taxes,
                        reference: outcome.reference,
                    };
                    let kind = if order.status.is_open() {
                        ReportKind::PartiallyFilled(fill)
                    } else {
                        ReportKind::Filled(fill)
                    };
                    self.report(order.id, date, kind);
                }
            }
            if order.status.is_open() {
                self.book.ledger.expire(&mut order, sid, date).map_err(|e| BrokerError::Protocol(e.to_string()))?;
                let (reason, detail) = match outcome.refusal {
                    Some((r, d)) => (Some(r), d),
                    None => (None, String::new()),
                };
                self.report(order.id, date, ReportKind::Expired { reason, detail });
            }
        }
        Ok(())
    }

    /// Corporate actions of the day, before the open: the venue's holdings get their shares,
    /// dividends and rights, and its working orders are restated in the new shares and prices.
    fn apply_actions(&mut self, market: &dyn MarketDay) {
        let date = market.date();
        for a in market.actions() {
            let reference = a.action.reference_price(a.prev_close);
            let (tax, subscribe) = (self.rules.dividend_tax, self.rules.subscribe_rights);
            self.book.ledger.apply_corporate_action(a.sid, &a.action, a.prev_close, reference, date, tax, subscribe);
            let board = self.boards[a.sid as usize];
            for (order, sid) in self.book.working.iter_mut().filter(|(_, s)| *s == a.sid) {
                restate_order(order, *sid, &a.action, a.prev_close, &mut self.book.ledger, &self.rules.lots, board);
            }
        }
    }
}

/// Restate an open order of a stock going ex-rights, before the open: a sell of the whole
/// holding still sells all of it (bonus shares join it from sellable), a buy keeps its value in
/// the board's lots, and a limit price moves with the reference price.
pub fn restate_order(
    order: &mut Order,
    sid: SymbolId,
    action: &CorporateAction,
    prev_close: Price,
    portfolio: &mut Portfolio,
    lots: &LotRules,
    board: Board,
) {
    let reference = action.reference_price(prev_close);
    let extra = action.bonus_shares(order.remaining());
    match order.side {
        Side::Sell => {
            if let Some(p) = portfolio.positions.get_mut(&sid) {
                let extra = extra.min(p.sellable);
                p.sellable -= extra;
                order.quantity += extra;
            }
        }
        Side::Buy => order.quantity = lots.round_buy(board, order.quantity + extra),
    }
    if let OrderType::Limit(p) = order.order_type {
        order.order_type = OrderType::Limit(adjust_price(p, reference, prev_close).round_to_tick());
    }
}

fn ledger_error(e: janus_core::LedgerError) -> BrokerError {
    BrokerError::Protocol(e.to_string())
}

impl Broker for SimBroker {
    fn submit(&mut self, order: &Order) -> Result<(), BrokerError> {
        if !self.book.seen.insert(order.id.0) {
            return Ok(()); // the client order id is the idempotency key
        }
        let Some(&sid) = self.ids.get(&order.symbol) else {
            let detail = format!("unknown symbol {}", order.symbol);
            self.report(order.id, order.created, ReportKind::Rejected { reason: None, detail });
            return Ok(());
        };
        // The venue's own copy, admitted against its own account.
        let mut mine = order.clone();
        mine.status = OrderStatus::New;
        mine.frozen_cash = janus_core::Money::ZERO;
        let admitted = match order.side {
            Side::Buy => self.book.ledger.accept_buy(&mut mine, order.frozen_cash),
            Side::Sell => self.book.ledger.accept_sell(&mut mine, sid),
        };
        if let Err(e) = admitted {
            let reason = match order.side {
                Side::Buy => RiskReason::InsufficientCash,
                Side::Sell => RiskReason::NotEnoughShares,
            };
            self.report(order.id, order.created, ReportKind::Rejected { reason: Some(reason), detail: e.to_string() });
            return Ok(());
        }
        mine.apply(OrderEvent::Accept, order.created).map_err(|e| BrokerError::Protocol(e.to_string()))?;
        self.book.working.push((mine, sid));
        self.report(order.id, order.created, ReportKind::Accepted);
        Ok(())
    }

    fn cancel(&mut self, order_id: OrderId) -> Result<(), BrokerError> {
        let Some(pos) = self.book.working.iter().position(|(o, _)| o.id == order_id) else {
            if self.book.seen.contains(order_id.0) {
                let date = self.today.unwrap_or_default();
                self.report(
                    order_id,
                    date,
                    ReportKind::CancelRejected { detail: "the order is no longer working".into() },
                );
                return Ok(());
            }
            return Err(BrokerError::UnknownOrder(order_id.0));
        };
        let (mut order, sid) = self.book.working.remove(pos);
        let date = self.today.unwrap_or(order.updated);
        self.book.ledger.cancel(&mut order, sid, date).map_err(ledger_error)?;
        self.book.held.remove(&order_id.0);
        self.report(order_id, date, ReportKind::Canceled);
        Ok(())
    }

    fn poll(&mut self) -> Result<Vec<ExecReport>, BrokerError> {
        Ok(std::mem::take(&mut self.reports))
    }

    fn account(&mut self) -> Result<BrokerAccount, BrokerError> {
        let a = self.book.ledger.account;
        Ok(BrokerAccount { available_cash: a.available_cash, frozen_cash: a.frozen_cash })
    }

    fn positions(&mut self) -> Result<Vec<BrokerPosition>, BrokerError> {
        Ok(self
            .book
            .ledger
            .positions
            .values()
            .map(|p| BrokerPosition { symbol: p.symbol.clone(), amount: p.amount, sellable: p.sellable })
            .collect())
    }

    fn open_orders(&mut self) -> Result<Vec<BrokerOrder>, BrokerError> {
        Ok(self
            .book
            .working
            .iter()
            .map(|(o, _)| BrokerOrder {
                order_id: o.id,
                symbol: o.symbol.clone(),
                side: o.side,
                quantity: o.quantity,
                filled: o.filled,
                status: o.status,
            })
            .collect())
    }

    /// The venue's day: corporate actions before the open, then matching, then the close
    /// (today's purchases become sellable tomorrow; sold-out positions are closed).
    fn on_market(&mut self, market: &dyn MarketDay) -> Result<(), BrokerError> {
        self.learn_symbols(market);
        self.today = Some(market.date());
        self.apply_actions(market);
        self.match_working(market)?;
        self.book.ledger.end_of_day();
        Ok(())
    }

    fn save_state(&self) -> Option<String> {
        serde_json::to_string(&self.book).ok()
    }

    fn restore_state(&mut self, state: &str) -> Result<(), BrokerError> {
        self.book = serde_json::from_str(state)
            .map_err(|e| BrokerError::Protocol(format!("the simulated broker's saved state is unreadable: {e}")))?;
        Ok(())
    }
}

/// Summary of the venue's positions by symbol, for comparisons in tests and reconciliation.
pub fn holdings(p: &Portfolio) -> BTreeMap<String, (Qty, Qty)> {
    p.positions.values().map(|x| (x.symbol.clone(), (x.amount, x.sellable))).collect()
}
