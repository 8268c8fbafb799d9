//! The trading loop, one for backtests, paper and live trading. For each closed trading day
//! the [`MarketFeed`] gives: corporate actions are applied before the open; the [`Broker`]
//! sees the day (a simulated one matches the orders placed after the previous close) and its
//! execution reports are applied to the ledger; positions are marked at the close and a
//! snapshot is taken; the strategy decides on a read-only [`History`]; the risk manager admits
//! or refuses; admitted orders go to the broker. Everything that happened goes to the store as
//! the day's batch: rows, the sequenced journal and a checkpoint of the whole state, from which
//! a run resumes without replaying the market.

use crate::config::{EngineConfig, StrategyConfig};
use crate::ledger::{EngineState, OpenOrder};
use crate::orders::Out;
use crate::risk::RiskManager;
use crate::sim_broker::{restate_order, SimBroker, SimRules};
use crate::strategy::{Decisions, Strategy, StrategyView};
use janus_core::{
    AccountSnapshot, Broker, BrokerError, Checkpoint, DayBatch, Event, JournalEvent, MarketDay, Money, Order,
    RiskEvent, RunMeta, RunStatus, Store, StoreError, SymbolId, MAIN_INSTANCE,
};
use janus_data::{FeedError, History, MarketFeed, Panel, PanelFeed};
use std::ops::Range;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Feed(#[from] FeedError),
    #[error("broker: {0}")]
    Broker(#[from] BrokerError),
    #[error("ledger error on {date} for order {order}: {source}")]
    Ledger { date: chrono::NaiveDate, order: u64, source: janus_core::LedgerError },
    #[error("cannot resume run {run_id}: {what} on {date}; the data or the engine changed since the run started")]
    ResumeMismatch { run_id: String, date: String, what: String },
    #[error("the date range selects no trading days of the data ({first} .. {last})")]
    EmptyRange { first: String, last: String },
    #[error("{0}")]
    Reconcile(String),
    #[error("run {run_id}: the stored checkpoint is unreadable: {message}")]
    Checkpoint { run_id: String, message: String },
}

/// Where a stored run stopped: its last committed day and the account snapshot of that day.
#[derive(Clone, Debug, PartialEq)]
pub struct Resume {
    pub last_day_index: u32,
    pub last_snapshot: AccountSnapshot,
}

/// What a finished run reports back (the full record is in the store).
#[derive(Clone, Debug, PartialEq)]
pub struct RunOutcome {
    pub days: usize,
    /// Bars present in the run's date range: the engine's unit of throughput.
    pub bars: usize,
    pub final_value: Money,
    pub portfolio: janus_core::Portfolio,
}

/// How a run over a feed treats its store and its days.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Register the run in the store first (a new run; false when resuming).
    pub begin: bool,
    /// The last day of the feed on which to decide (a backtest does not decide on its last
    /// day: no bar would execute the orders). `None`: decide every day.
    pub last_decision_day: Option<usize>,
    /// Days up to this index are replayed without writing (resuming a run that has no
    /// checkpoint); the state after it must equal `replay_check`.
    pub replay_until: Option<usize>,
    pub replay_check: Option<AccountSnapshot>,
    /// Paper and live trading: an order's `Submitted` event is written to the store before the
    /// order goes to the broker, so a restart knows what may already be there.
    pub write_ahead: bool,
    /// Mark the run finished when the feed ends.
    pub finish: bool,
}

/// The engine owns the state of one run.
pub struct Backtest<'a> {
    pub panel: &'a Panel,
    pub cfg: EngineConfig,
    pub risk: RiskManager,
    pub portfolio: janus_core::Portfolio,
    pub(crate) st: EngineState,
    /// The strategy instance writing the journal.
    pub instance: String,
    /// Write a checkpoint with every day (off for throw-away twins).
    pub checkpoints: bool,
    /// Journal events written ahead of the crash being resumed from, by sequence number: a
    /// restarted day must send exactly what was sent before.
    pub(crate) written_ahead: std::collections::BTreeMap<u64, JournalEvent>,
    /// Records of start-up reconciliation, committed with the first day.
    pub(crate) carry: Option<DayBatch>,
    /// Called at the points of a day where a crash matters (see [`PROBE_POINTS`]); the
    /// crash tests of paper trading kill the process there. Does nothing by default.
    pub probe: fn(&'static str),
}

/// Where [`Backtest::probe`] is called: a day came from the feed (`day`), the broker's
/// reports of it were applied (`reports`), an order was journaled and not yet sent
/// (`journaled`), an order was sent and its day not yet committed (`sent`), the day was
/// committed (`committed`).
pub const PROBE_POINTS: [&str; 5] = ["day", "reports", "journaled", "sent", "committed"];

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
            portfolio: janus_core::Portfolio::new(initial),
            st: EngineState::new(initial, panel.n_symbols()),
            instance: MAIN_INSTANCE.to_string(),
            checkpoints: true,
            written_ahead: Default::default(),
            carry: None,
            probe: |_| {},
        })
    }

    /// The trading day of the state, when it came from (or was saved to) a checkpoint.
    pub fn checkpoint_date(&self) -> Option<chrono::NaiveDate> {
        self.st.date
    }

    /// The simulated broker of this configuration, with the run's initial cash.
    pub fn sim_broker(&self) -> SimBroker {
        SimBroker::new(SimRules::new(&self.cfg), Money::from_yuan(self.cfg.initial_cash))
    }

    /// Run the days in `range` (indices into the panel's dates) against the simulated broker,
    /// committing each day to `store` under `meta.run_id`. `progress(done, total)` is called
    /// after every day.
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
    /// `resume.last_day_index`. The state is restored from the run's checkpoint of that day
    /// (checked against the stored snapshot) and the run goes on from the next day; a run
    /// stored before checkpoints existed is replayed from its first day without writing.
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
        let mut broker = self.sim_broker();
        let mut opts = RunOptions {
            begin: resume.is_none(),
            last_decision_day: Some(range.end - 1),
            finish: true,
            ..Default::default()
        };
        let mut start = range.start;
        if let Some(r) = resume {
            let day = r.last_day_index as usize;
            let market = (day < panel.n_dates()).then(|| market_fingerprint(&History::new(panel, day)));
            let restored = self.restore(store, &meta.run_id, &mut broker, Some(&r.last_snapshot), market)?;
            match restored {
                Some(d) if d == day => start = day + 1,
                _ => {
                    // No checkpoint of that day: start from scratch and replay up to it.
                    self.st = EngineState::new(Money::from_yuan(self.cfg.initial_cash), panel.n_symbols());
                    self.portfolio = janus_core::Portfolio::new(Money::from_yuan(self.cfg.initial_cash));
                    broker = self.sim_broker();
                    opts.replay_until = Some(r.last_day_index as usize);
                    opts.replay_check = Some(r.last_snapshot.clone());
                }
            }
        }
        let total = range.len();
        let skipped = start - range.start;
        let mut feed = PanelFeed::new(panel, start..range.end);
        let mut outcome = self.run_feed(&mut feed, &mut broker, strategy, store, meta, &opts, &mut |done| {
            progress(skipped + done, total)
        })?;
        outcome.days = total;
        outcome.bars =
            range.map(|d| (0..panel.n_symbols() as SymbolId).filter(|&s| panel.is_present(d, s)).count()).sum();
        Ok(outcome)
    }

    /// Restore the state saved with the run's last checkpoint (and the broker's, for a
    /// simulated one); `expected` is the stored snapshot of that day, checked against the
    /// restored ledger, and `market` the [`market_fingerprint`] of that day in the data at hand,
    /// checked against the one the run saw. Returns the day index restored, or `None` when the store holds no
    /// checkpoint for the run (a run written before checkpoints, or a store without them).
    pub fn restore(
        &mut self,
        store: &dyn Store,
        run_id: &str,
        broker: &mut dyn Broker,
        expected: Option<&AccountSnapshot>,
        market: Option<u64>,
    ) -> Result<Option<usize>, EngineError> {
        let Ok(Some(cp)) = store.load_checkpoint(run_id, &self.instance) else { return Ok(None) };
        let bad = |message: String| EngineError::Checkpoint { run_id: run_id.to_string(), message };
        let (st, portfolio, broker_state) = EngineState::decode(&cp.state).map_err(bad)?;
        if market.is_some_and(|m| m != st.market) {
            return Err(EngineError::ResumeMismatch {
                run_id: run_id.to_string(),
                date: expected.map(|s| s.date.to_string()).unwrap_or_else(|| format!("day {}", cp.day_index)),
                what: "the bars are not those the run saw, so it would go on with a different account".into(),
            });
        }
        if let Some(snap) = expected {
            let mine = portfolio.account_snapshot(snap.date, st.peak);
            if mine.total_value != snap.total_value || portfolio.account.available_cash != snap.cash {
                return Err(EngineError::ResumeMismatch {
                    run_id: run_id.to_string(),
                    date: snap.date.to_string(),
                    what: "the checkpoint gives a different account than the stored snapshot".into(),
                });
            }
        }
        if let Some(b) = broker_state {
            broker.restore_state(&b)?;
        }
        self.st = st;
        self.portfolio = portfolio;
        self.written_ahead = match store.load_events(run_id, &self.instance, cp.seq) {
            Ok(events) => events.into_iter().map(|e| (e.seq, e)).collect(),
            Err(_) => Default::default(),
        };
        Ok(Some(cp.day_index as usize))
    }

    /// Reconcile with the broker before trading (paper and live start-up), on `date`: the
    /// reports waiting at the broker are applied first, then the broker's account, positions
    /// and open orders become the engine's ([`crate::reconcile`]); every difference is
    /// journaled with the first day. Returns the number of differences. An error means the
    /// node must not trade.
    pub fn reconcile_at_start(
        &mut self,
        broker: &mut dyn Broker,
        store: &mut dyn Store,
        run_id: &str,
        date: chrono::NaiveDate,
        symbol_id: &dyn Fn(&str) -> Option<SymbolId>,
    ) -> Result<usize, EngineError> {
        let mut batch = self.carry.take().unwrap_or_default();
        let mut out = Out { batch: &mut batch, store: Some(store), run_id, write_ahead: true };
        let reports = broker.poll()?;
        self.apply_reports(reports, &mut out)?;
        let open: Vec<Order> = self.st.open.iter().map(|o| o.order.clone()).collect();
        let r = crate::reconcile::reconcile(&self.portfolio, &open, broker, date, symbol_id)
            .map_err(|e| EngineError::Reconcile(e.to_string()))?;
        // Without differences nothing is journaled, so a restarted day numbers its events as
        // the day before the stop did (and finds the orders it wrote ahead at their numbers).
        let differences = r.events.len().saturating_sub(1);
        if differences > 0 {
            for ev in r.events {
                self.journal(date, ev, &mut out)?;
            }
        }
        out.batch.orders.extend(r.closed.iter().cloned());
        let mut kept = Vec::new();
        for order in r.open {
            let Some(sid) = symbol_id(&order.symbol) else { continue };
            let trades =
                self.st.open.iter().find(|o| o.order.id == order.id).map(|o| o.trades.clone()).unwrap_or_default();
            kept.push(OpenOrder { order, sid, trades });
        }
        self.st.open = kept;
        self.portfolio = r.portfolio;
        self.carry = Some(batch);
        Ok(differences)
    }

    /// Run every day the feed gives, with `broker`, committing each day to `store`.
    /// `progress(done)` is called after every day.
    #[allow(clippy::too_many_arguments)]
    pub fn run_feed(
        &mut self,
        feed: &mut dyn MarketFeed,
        broker: &mut dyn Broker,
        strategy: &mut dyn Strategy,
        store: &mut dyn Store,
        meta: &RunMeta,
        opts: &RunOptions,
        progress: &mut dyn FnMut(usize),
    ) -> Result<RunOutcome, EngineError> {
        if opts.begin {
            store.begin_run(meta)?;
        }
        let mut decisions = Decisions::default();
        let mut batch = DayBatch::default();
        let (mut days, mut bars) = (0, 0);
        while let Some(h) = feed.next_close()? {
            (self.probe)("day");
            let day = h.today();
            batch.day_index = day as u32;
            let decide = opts.last_decision_day.is_none_or(|last| day < last);
            let replaying = opts.replay_until.is_some_and(|r| day <= r);
            let mut out = Out {
                batch: &mut batch,
                store: if replaying { None } else { Some(&mut *store) },
                run_id: &meta.run_id,
                write_ahead: opts.write_ahead,
            };
            self.step(h, decide, strategy, &mut decisions, broker, &mut out)?;
            bars +=
                h.flags_row(0).map_or(0, |f| f.iter().filter(|&&x| x & janus_data::panel::flag::PRESENT != 0).count());
            match opts.replay_until {
                Some(r) if day < r => {}
                Some(r) if day == r => {
                    if batch.account.as_ref() != opts.replay_check.as_ref() {
                        return Err(EngineError::ResumeMismatch {
                            run_id: meta.run_id.clone(),
                            date: h.date().to_string(),
                            what: "replaying it gives a different account than the store holds".into(),
                        });
                    }
                }
                _ => {
                    if self.checkpoints {
                        self.st.market = market_fingerprint(&h);
                        self.st.date = Some(h.date());
                        batch.checkpoint = Some(self.checkpoint(day, broker));
                    }
                    store.commit_day(&meta.run_id, &batch)?;
                    if opts.write_ahead {
                        // Live days are far apart: make each durable before waiting for the next.
                        store.flush()?;
                    }
                    (self.probe)("committed");
                }
            }
            days += 1;
            progress(days);
        }
        if opts.finish {
            store.finish_run(&meta.run_id, RunStatus::Finished)?;
        }
        Ok(RunOutcome { days, bars, final_value: self.portfolio.total_asset(), portfolio: self.portfolio.clone() })
    }

    fn checkpoint(&self, day: usize, broker: &dyn Broker) -> Checkpoint {
        Checkpoint {
            instance: self.instance.clone(),
            day_index: day as u32,
            seq: self.st.seq,
            state: self.st.encode(&self.portfolio, broker.save_state()),
        }
    }

    /// One trading day, with `h` the market as of its close. Fills `out.batch` with
    /// everything that changed.
    fn step(
        &mut self,
        h: History<'_>,
        decide: bool,
        strategy: &mut dyn Strategy,
        decisions: &mut Decisions,
        broker: &mut dyn Broker,
        out: &mut Out<'_>,
    ) -> Result<(), EngineError> {
        let b = &mut *out.batch;
        b.positions.clear();
        b.orders.clear();
        b.risk_events.clear();
        b.executions.clear();
        b.corporate_actions.clear();
        b.events.clear();
        b.checkpoint = None;
        if let Some(carry) = self.carry.take() {
            // What start-up reconciliation applied goes into the first day's records.
            b.orders.extend(carry.orders);
            b.risk_events.extend(carry.risk_events);
            b.executions.extend(carry.executions);
            b.events.extend(carry.events);
        }
        let date = h.date();
        self.portfolio.start_day(date, |sid| h.is_tradable(0, sid));
        self.apply_corporate_actions(&h, out);
        broker.on_market(&h)?;
        let reports = broker.poll()?;
        self.apply_reports(reports, out)?;
        (self.probe)("reports");

        // The close: mark to market, release T+1, snapshot.
        let marks: Vec<SymbolId> = self.portfolio.positions.keys().copied().collect();
        for sid in marks {
            if let Some(bar) = h.bar(0, sid).filter(|b| b.close.is_positive()) {
                self.portfolio.mark(sid, bar.close, bar.high, date);
            }
        }
        for (sid, _) in self.portfolio.end_of_day() {
            self.st.refused_sell[sid as usize] = false;
        }
        let snap = self.portfolio.account_snapshot(date, self.st.peak);
        self.st.peak = snap.peak_value;
        let total = snap.total_value;
        out.batch.account = Some(snap);
        out.batch.positions = self.portfolio.position_snapshots(date);

        if decide {
            let breaker = total.as_f64() < self.st.prev_total.as_f64() * (1.0 - self.cfg.risk.circuit_breaker_pct);
            decisions.clear();
            strategy.decide(
                &StrategyView {
                    history: h,
                    portfolio: &self.portfolio,
                    max_positions: self.cfg.risk.max_positions,
                    refused_sell: &self.st.refused_sell,
                },
                decisions,
            );
            self.admit(&h, breaker, decisions, broker, out)?;
            // The account as it stands after the evening's orders: `frozen_cash` is the cash
            // reserved for the next day's buys (the total is unchanged by freezing).
            if let Some(a) = out.batch.account.as_mut() {
                a.cash = self.portfolio.account.available_cash;
                a.frozen_cash = self.portfolio.account.frozen_cash;
            }
        }
        self.st.prev_total = total;
        Ok(())
    }

    /// Record an event in the journal: with the day's batch, or at once when it is an order
    /// about to leave the process and the run writes ahead.
    pub(crate) fn journal(
        &mut self,
        date: chrono::NaiveDate,
        event: Event,
        out: &mut Out<'_>,
    ) -> Result<(), EngineError> {
        self.st.seq += 1;
        let ev = JournalEvent { instance: self.instance.clone(), seq: self.st.seq, date, event };
        let ahead = out.write_ahead && matches!(ev.event, Event::Submitted(_) | Event::CancelRequested { .. });
        if !ahead {
            out.batch.events.push(ev);
            return Ok(());
        }
        if let Some(before) = self.written_ahead.remove(&ev.seq) {
            // Resuming the day of a crash: this was written (and maybe sent) before it.
            if before != ev {
                return Err(EngineError::ResumeMismatch {
                    run_id: out.run_id.to_string(),
                    date: date.to_string(),
                    what: format!("journal event {} differs from the order sent before the restart", ev.seq),
                });
            }
            return Ok(());
        }
        if let Some(store) = out.store.as_deref_mut() {
            store.append_events(out.run_id, std::slice::from_ref(&ev))?;
        }
        Ok(())
    }

    /// A refusal, into the day's rows and the journal.
    pub(crate) fn refuse(&mut self, ev: RiskEvent, out: &mut Out<'_>) -> Result<(), EngineError> {
        out.batch.risk_events.push(ev.clone());
        self.journal(ev.date, Event::Risk(ev), out)
    }

    /// Corporate actions whose ex-date is today, before the open: holdings get their bonus
    /// shares, dividends and rights, and the orders placed last evening are restated in the
    /// new shares and prices (a sell of the whole holding still sells all of it). What each
    /// action did to a holding goes into the day's batch.
    fn apply_corporate_actions(&mut self, h: &History<'_>, out: &mut Out<'_>) {
        let date = h.date();
        let tax = self.cfg.corporate_actions.tax();
        let subscribe = self.cfg.corporate_actions.subscribe_rights();
        for a in MarketDay::actions(h) {
            let reference = a.action.reference_price(a.prev_close);
            if let Some(log) =
                self.portfolio.apply_corporate_action(a.sid, &a.action, a.prev_close, reference, date, tax, subscribe)
            {
                out.batch.corporate_actions.push(log.clone());
                self.st.seq += 1;
                let ev = JournalEvent {
                    instance: self.instance.clone(),
                    seq: self.st.seq,
                    date,
                    event: Event::CorporateAction(log),
                };
                out.batch.events.push(ev);
            }
            let board = h.boards()[a.sid as usize];
            for o in self.st.open.iter_mut().filter(|o| o.sid == a.sid) {
                restate_order(&mut o.order, o.sid, &a.action, a.prev_close, &mut self.portfolio, &self.risk.lot, board);
            }
        }
    }
}

/// A digest of one day's cross-section (every symbol's presence, trading and close): a
/// resumed run checks that its data still holds the day its checkpoint was taken on.
pub fn market_fingerprint(h: &History<'_>) -> u64 {
    // One multiply-xorshift step per symbol: cheap enough for every day of a large market.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for sid in 0..h.n_symbols() as SymbolId {
        let cell = (h.close(0, sid).0 as u64) << 2 | (h.is_present(0, sid) as u64) << 1 | h.is_tradable(0, sid) as u64;
        x = (x ^ cell).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x ^= x >> 31;
    }
    x
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
