//! The backtest loop. For each trading day: orders placed after the previous close are
//! matched against today's bar; positions are marked at the close; a snapshot is taken; the
//! strategy decides, the risk manager admits or refuses; the day's records go to the store in
//! one batch.

use crate::config::{EngineConfig, StrategyConfig};
use crate::matcher::match_order;
use crate::risk::{PendingBuy, RiskContext, RiskManager};
use crate::strategy::{Decisions, Intent, Strategy, StrategyView};
use janus_core::{
    DayBatch, FillSpec, Money, Order, OrderEvent, OrderId, Portfolio, RiskEvent, RiskReason, RunMeta, RunStatus, Side,
    Store, StoreError, SymbolId,
};
use janus_data::Panel;
use std::ops::Range;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("ledger error on {date} for order {order}: {source}")]
    Ledger { date: chrono::NaiveDate, order: u64, source: janus_core::LedgerError },
    #[error(
        "cannot resume run {run_id}: replaying it gives a different account on {date} than the store holds; \
         the data or the engine changed since the run started"
    )]
    ResumeMismatch { run_id: String, date: String },
    #[error("the date range selects no trading days of the data ({first} .. {last})")]
    EmptyRange { first: String, last: String },
}

/// Where a stored run stopped: its last committed day and the account snapshot of that day.
#[derive(Clone, Debug, PartialEq)]
pub struct Resume {
    pub last_day_index: u32,
    pub last_snapshot: janus_core::AccountSnapshot,
}

/// What a finished run reports back (the full record is in the store).
#[derive(Clone, Debug, PartialEq)]
pub struct RunOutcome {
    pub days: usize,
    /// Bars present in the run's date range: the engine's unit of throughput.
    pub bars: usize,
    pub final_value: Money,
    pub portfolio: Portfolio,
}

/// The engine owns the state of one run.
pub struct Backtest<'a> {
    pub panel: &'a Panel,
    pub cfg: EngineConfig,
    pub risk: RiskManager,
    pub portfolio: Portfolio,
    next_order_id: u64,
    /// Orders placed after the last close, waiting for the next bar.
    pending: Vec<(Order, SymbolId)>,
    /// Ids of the sells waiting in `pending` for their halted stock to trade again.
    queued: std::collections::BTreeSet<u64>,
    refused_sell: Vec<bool>,
    peak: Money,
    prev_total: Money,
}

impl<'a> Backtest<'a> {
    pub fn new(panel: &'a Panel, cfg: EngineConfig) -> Result<Backtest<'a>, EngineError> {
        cfg.validate()?;
        let initial = Money::from_yuan(cfg.initial_cash);
        let risk = RiskManager {
            cfg: cfg.risk.clone(),
            lot: cfg.market.lot_rules(),
            limits: cfg.market.limits,
            fees: if cfg.frictions.costs { cfg.fees.schedule() } else { janus_core::FeeSchedule::free() },
            frictions: cfg.frictions,
        };
        Ok(Backtest {
            panel,
            cfg,
            risk,
            portfolio: Portfolio::new(initial),
            next_order_id: 1,
            pending: Vec::new(),
            queued: Default::default(),
            refused_sell: vec![false; panel.n_symbols()],
            peak: initial,
            prev_total: initial,
        })
    }

    /// Run the days in `range` (indices into the panel's dates), committing each day to
    /// `store` under `meta.run_id`. `progress(done, total)` is called after every day.
    pub fn run(
        &mut self,
        range: Range<usize>,
        strategy: &mut dyn Strategy,
        store: &mut dyn Store,
        meta: &RunMeta,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<RunOutcome, EngineError> {
        self.run_resumable(range, strategy, store, meta, None, progress)
    }

    /// Like [`Backtest::run`]; with `resume`, the run already has committed days up to
    /// `resume.last_day_index`: those days are replayed without writing (the engine is
    /// deterministic, so this rebuilds the exact state), the replayed state is checked against
    /// the last stored snapshot, and the run continues from the next day.
    pub fn run_resumable(
        &mut self,
        range: Range<usize>,
        strategy: &mut dyn Strategy,
        store: &mut dyn Store,
        meta: &RunMeta,
        resume: Option<&Resume>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<RunOutcome, EngineError> {
        let panel = self.panel;
        if range.is_empty() || range.end > panel.n_dates() {
            return Err(EngineError::EmptyRange {
                first: panel.dates.first().map(|d| d.to_string()).unwrap_or_default(),
                last: panel.dates.last().map(|d| d.to_string()).unwrap_or_default(),
            });
        }
        if resume.is_none() {
            store.begin_run(meta)?;
        }
        let mut decisions = Decisions::default();
        let total_days = range.len();
        let last = range.end - 1;
        let mut batch = DayBatch::default();
        for (n, day) in range.clone().enumerate() {
            batch.day_index = day as u32;
            self.step(day, day < last, strategy, &mut decisions, &mut batch)?;
            match resume {
                Some(r) if day < r.last_day_index as usize => {}
                Some(r) if day == r.last_day_index as usize => {
                    if batch.account.as_ref() != Some(&r.last_snapshot) {
                        return Err(EngineError::ResumeMismatch {
                            run_id: meta.run_id.clone(),
                            date: panel.dates[day].to_string(),
                        });
                    }
                }
                _ => store.commit_day(&meta.run_id, &batch)?,
            }
            progress(n + 1, total_days);
        }
        store.finish_run(&meta.run_id, RunStatus::Finished)?;
        let bars = range.map(|d| (0..panel.n_symbols() as SymbolId).filter(|&s| panel.is_present(d, s)).count()).sum();
        Ok(RunOutcome {
            days: total_days,
            bars,
            final_value: self.portfolio.total_asset(),
            portfolio: self.portfolio.clone(),
        })
    }

    /// One trading day. Fills `batch` with everything that changed.
    pub fn step(
        &mut self,
        day: usize,
        decide: bool,
        strategy: &mut dyn Strategy,
        decisions: &mut Decisions,
        batch: &mut DayBatch,
    ) -> Result<(), EngineError> {
        batch.positions.clear();
        batch.orders.clear();
        batch.risk_events.clear();
        batch.executions.clear();
        batch.corporate_actions.clear();
        let panel = self.panel;
        let date = panel.dates[day];
        self.portfolio.start_day(date, |sid| panel.is_tradable(day, sid));
        self.apply_corporate_actions(day, batch);
        self.match_pending(day, batch)?;

        // The close: mark to market, release T+1, snapshot.
        let marks: Vec<SymbolId> = self.portfolio.positions.keys().copied().collect();
        for sid in marks {
            let i = panel.idx(day, sid);
            if panel.is_present(day, sid) && panel.close[i].is_positive() {
                self.portfolio.mark(sid, panel.close[i], panel.high[i], date);
            }
        }
        for (sid, _) in self.portfolio.end_of_day() {
            self.refused_sell[sid as usize] = false;
        }
        let snap = self.portfolio.account_snapshot(date, self.peak);
        self.peak = snap.peak_value;
        let total = snap.total_value;
        batch.account = Some(snap);
        batch.positions = self.portfolio.position_snapshots(date);

        if decide {
            let breaker = total.as_f64() < self.prev_total.as_f64() * (1.0 - self.cfg.risk.circuit_breaker_pct);
            decisions.clear();
            strategy.decide(
                &StrategyView {
                    panel,
                    day,
                    portfolio: &self.portfolio,
                    max_positions: self.cfg.risk.max_positions,
                    refused_sell: &self.refused_sell,
                },
                decisions,
            );
            self.admit(day, breaker, decisions, batch)?;
            // The account as it stands after the evening's orders: `frozen_cash` is the cash
            // reserved for the next day's buys (the total is unchanged by freezing).
            if let Some(a) = batch.account.as_mut() {
                a.cash = self.portfolio.account.available_cash;
                a.frozen_cash = self.portfolio.account.frozen_cash;
            }
        }
        self.prev_total = total;
        Ok(())
    }

    /// Corporate actions whose ex-date is today, before the open: holdings get their bonus
    /// shares, dividends and rights, and the orders placed last evening are restated in the
    /// new shares and prices (a sell of the whole holding still sells all of it). What each
    /// action did to a holding goes into the day's batch.
    fn apply_corporate_actions(&mut self, day: usize, batch: &mut DayBatch) {
        let panel = self.panel;
        let date = panel.dates[day];
        let tax = self.cfg.corporate_actions.tax();
        let subscribe = self.cfg.corporate_actions.subscribe_rights();
        for a in panel.actions_on(day) {
            let Some(prev_close) = previous_close(panel, day, a.sid) else { continue };
            let reference = a.action.reference_price(prev_close);
            if let Some(log) =
                self.portfolio.apply_corporate_action(a.sid, &a.action, prev_close, reference, date, tax, subscribe)
            {
                batch.corporate_actions.push(log);
            }
            let lots = self.risk.lot;
            for (order, sid) in self.pending.iter_mut().filter(|(_, s)| *s == a.sid) {
                let extra = a.action.bonus_shares(order.remaining());
                match order.side {
                    Side::Sell => {
                        if let Some(p) = self.portfolio.positions.get_mut(sid) {
                            let extra = extra.min(p.sellable);
                            p.sellable -= extra;
                            order.quantity += extra;
                        }
                    }
                    Side::Buy => order.quantity = lots.round_buy(panel.boards[*sid as usize], order.quantity + extra),
                }
                if let janus_core::OrderType::Limit(p) = order.order_type {
                    let adjusted = janus_core::corporate::adjust_price(p, reference, prev_close);
                    order.order_type = janus_core::OrderType::Limit(adjusted.round_to_tick());
                }
            }
        }
    }

    /// Match every pending order against today's bar; what is left expires at the close.
    fn match_pending(&mut self, day: usize, batch: &mut DayBatch) -> Result<(), EngineError> {
        let panel = self.panel;
        let date = panel.dates[day];
        let mut used: Vec<(SymbolId, i64)> = Vec::new();
        let pending = std::mem::take(&mut self.pending);
        for (mut order, sid) in pending {
            // A sell of a halted stock waits for the open of the day it trades again (its
            // shares stay reserved); the refusal was recorded once, when it was queued.
            if self.queues_sell(&order, day, sid) {
                if self.queued.insert(order.id.0) {
                    batch.risk_events.push(risk_event(
                        &order,
                        date,
                        RiskReason::MarketSuspended,
                        "halted on the execution day: queued for the open of the day it trades again".into(),
                    ));
                    batch.orders.push(order.clone());
                }
                self.refused_sell[sid as usize] = true;
                self.pending.push((order, sid));
                continue;
            }
            self.queued.remove(&order.id.0);
            let volume_used = used.iter().find(|u| u.0 == sid).map_or(0, |u| u.1);
            let outcome = match_order(
                &order,
                sid,
                panel,
                day,
                &self.cfg.fill,
                &self.cfg.frictions,
                self.risk.lot.step(panel.boards[sid as usize]),
                volume_used,
            );
            let oid = order.id.0;
            let ledger = |source| EngineError::Ledger { date, order: oid, source };
            if let Some((mut qty, price)) = outcome.fill {
                if order.side == Side::Buy {
                    // Data without limit columns can open above the frozen price: never spend
                    // cash that is not there.
                    let fees = &self.risk.fees;
                    let budget = order.frozen_cash + self.portfolio.account.available_cash;
                    let step = self.risk.lot.step(panel.boards[sid as usize]);
                    while qty > 0 && price.notional(qty) + fees.fill_fees(&order, qty, price, date).total() > budget {
                        qty = (qty - step).max(0);
                    }
                }
                if qty > 0 {
                    let log = self
                        .portfolio
                        .fill(
                            &mut order,
                            sid,
                            FillSpec { price, qty, reference: outcome.reference, date },
                            &self.risk.fees,
                        )
                        .map_err(ledger)?;
                    if order.side == Side::Buy && !self.cfg.frictions.t_plus_1 {
                        self.portfolio.unlock_t1(sid);
                    }
                    match used.iter_mut().find(|u| u.0 == sid) {
                        Some(u) => u.1 += qty,
                        None => used.push((sid, qty)),
                    }
                    batch.executions.push(log);
                }
            }
            if let Some((reason, detail)) = outcome.refusal {
                if order.side == Side::Sell && reason != RiskReason::VolumeCap {
                    self.refused_sell[sid as usize] = true;
                }
                batch.risk_events.push(risk_event(&order, date, reason, detail));
            }
            if order.status.is_open() {
                self.portfolio.expire(&mut order, sid, date).map_err(ledger)?;
            }
            batch.orders.push(order);
        }
        Ok(())
    }

    /// A sell is queued rather than refused while its stock is halted (a present bar without
    /// trading), when suspensions are simulated. A stock with no bar at all is not halted but
    /// gone (not listed, delisted): the order is refused by the matcher as before.
    fn queues_sell(&self, order: &Order, day: usize, sid: SymbolId) -> bool {
        order.side == Side::Sell
            && self.cfg.frictions.suspensions
            && self.panel.is_present(day, sid)
            && !self.panel.is_tradable(day, sid)
    }

    fn new_order(&mut self, intent: &Intent, qty: i64, date: chrono::NaiveDate) -> Order {
        let id = OrderId(self.next_order_id);
        self.next_order_id += 1;
        let mut o =
            Order::new(id, self.panel.symbols[intent.sid as usize].clone(), intent.side, intent.order_type, qty, date);
        o.tag = intent.tag.clone();
        o
    }

    fn reject(&mut self, mut order: Order, reason: RiskReason, detail: String, batch: &mut DayBatch) {
        let date = order.created;
        order.apply(OrderEvent::Reject, date).expect("a new order can always be rejected");
        batch.risk_events.push(risk_event(&order, date, reason, detail));
        batch.orders.push(order);
    }

    /// Turn the strategy's intents into orders: sells first, then buys in rank order while
    /// slots remain. Each passes the risk manager before anything is frozen.
    fn admit(&mut self, day: usize, breaker: bool, d: &Decisions, batch: &mut DayBatch) -> Result<(), EngineError> {
        let panel = self.panel;
        let date = panel.dates[day];
        let mut pending_buys: Vec<PendingBuy> = Vec::new();
        let planned: Vec<SymbolId> = d.buys.iter().map(|b| b.sid).collect();
        for intent in &d.sells {
            if self.pending.iter().any(|(o, sid)| *sid == intent.sid && self.queued.contains(&o.id.0)) {
                continue; // a sell of this stock is already waiting for it to trade again
            }
            let qty = intent.qty.unwrap_or_else(|| self.portfolio.positions.get(&intent.sid).map_or(0, |p| p.sellable));
            let mut order = self.new_order(intent, qty, date);
            if self.queues_sell(&order, day, intent.sid) && qty > 0 {
                // Halted at the decision close: queue the sell for the day it trades again
                // instead of refusing it every day; recorded once, as the refusal it is.
                self.portfolio.accept_sell(&mut order, intent.sid).map_err(|source| EngineError::Ledger {
                    date,
                    order: order.id.0,
                    source,
                })?;
                self.queued.insert(order.id.0);
                batch.risk_events.push(risk_event(
                    &order,
                    date,
                    RiskReason::Suspended,
                    "suspended at the decision close: queued for the open of the day it trades again".into(),
                ));
                self.refused_sell[intent.sid as usize] = true;
                batch.orders.push(order.clone());
                self.pending.push((order, intent.sid));
                continue;
            }
            let ctx = RiskContext {
                panel,
                day,
                portfolio: &self.portfolio,
                pending_buys: &pending_buys,
                planned_buys: &planned,
                buys_blocked: breaker,
            };
            match self.risk.check_sell(&order, intent.sid, &ctx) {
                Err((reason, detail)) => self.reject(order, reason, detail, batch),
                Ok(()) => {
                    self.portfolio.accept_sell(&mut order, intent.sid).map_err(|source| EngineError::Ledger {
                        date,
                        order: order.id.0,
                        source,
                    })?;
                    batch.orders.push(order.clone());
                    self.pending.push((order, intent.sid));
                }
            }
        }
        let mut admitted = 0;
        for intent in &d.buys {
            if admitted >= d.max_new_buys {
                break;
            }
            let sid = intent.sid;
            let close = panel.close[panel.idx(day, sid)];
            let freeze_price = self.risk.freeze_price(panel, day, sid, intent.order_type);
            let qty = intent.qty.unwrap_or_else(|| self.risk.size_buy(&self.portfolio, panel, day, sid, freeze_price));
            let mut order = self.new_order(intent, qty, date);
            let freeze = self.risk.freeze_amount(&order, freeze_price);
            let ctx = RiskContext {
                panel,
                day,
                portfolio: &self.portfolio,
                pending_buys: &pending_buys,
                planned_buys: &planned,
                buys_blocked: breaker,
            };
            match self.risk.check_buy(&order, sid, freeze, &ctx) {
                Err((reason, detail)) => {
                    let stop = reason == RiskReason::CircuitBreaker;
                    self.reject(order, reason, detail, batch);
                    if stop {
                        break;
                    }
                }
                Ok(()) => {
                    self.portfolio.accept_buy(&mut order, freeze).map_err(|source| EngineError::Ledger {
                        date,
                        order: order.id.0,
                        source,
                    })?;
                    pending_buys.push(PendingBuy { sid, value: close.notional(qty) });
                    batch.orders.push(order.clone());
                    self.pending.push((order, sid));
                    admitted += 1;
                }
            }
        }
        Ok(())
    }
}

/// The last close of `sid` before `day`, if it traded before.
fn previous_close(panel: &Panel, day: usize, sid: SymbolId) -> Option<janus_core::Price> {
    (0..day)
        .rev()
        .map(|d| panel.idx(d, sid))
        .find(|&i| panel.flags[i] & janus_data::panel::flag::PRESENT != 0)
        .map(|i| panel.close[i])
}

/// The risk event recording that `order` was refused on `date`.
fn risk_event(order: &Order, date: chrono::NaiveDate, reason: RiskReason, detail: String) -> RiskEvent {
    RiskEvent { date, symbol: order.symbol.clone(), order_id: order.id, side: order.side, reason, detail }
}

/// Run id from the inputs, so that the same config and data give the same id (and files).
pub fn derive_run_id(config_text: &str, data_source: &str) -> String {
    // FNV-1a: tiny, stable across platforms and releases, enough to tell runs apart.
    let mut h: u64 = 0xcbf29ce484222325;
    for b in config_text.bytes().chain([0u8]).chain(data_source.bytes()) {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("run-{h:016x}")
}

/// Convenience: the dual-model strategy of the built-in models (momentum or reversal buy
/// model, rule sell model) from a strategy config. Model files are loaded by `janus-models`.
pub fn default_strategy(
    cfg: &StrategyConfig,
    panel: &Panel,
) -> Result<crate::strategy::DualModelStrategy, EngineError> {
    cfg.validate()?;
    for (key, kind, built_in) in [
        ("strategy.buy.kind", &cfg.buy.kind, cfg.buy.kind == "momentum" || cfg.buy.kind == "reversal"),
        ("strategy.sell.kind", &cfg.sell.kind, cfg.sell.kind == "rules"),
    ] {
        if !built_in {
            return Err(crate::config::ConfigError {
                key: key.into(),
                message: format!(
                    "\"{kind}\" is a model file kind: build the strategy with janus_models::build_strategy"
                ),
            }
            .into());
        }
    }
    Ok(crate::strategy::DualModelStrategy::from_config(cfg, panel))
}
