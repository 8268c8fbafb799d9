//! The broker seam: the engine's ledger follows the broker's reports alone, repeated and
//! reordered reports change nothing, orders are journaled before they leave, and a run resumes
//! from its checkpoint without replaying the market.

use janus_core::{
    Broker, BrokerAccount, BrokerError, BrokerOrder, BrokerPosition, Checkpoint, DayBatch, Event, ExecReport,
    JournalEvent, MarketDay, Order, OrderId, Portfolio, ReportKind, RunMeta, RunRecord, RunStatus, Store, StoreError,
};
use janus_data::{GenConfig, Panel, PanelFeed};
use janus_engine::engine::default_strategy;
use janus_engine::strategy::{Decisions, Strategy, StrategyView};
use janus_engine::{Backtest, EngineConfig, Resume, RunOptions, SimBroker, StrategyConfig};
use janus_store::MemoryStore;
use std::cell::RefCell;
use std::rc::Rc;

fn market() -> Panel {
    let g = GenConfig { seed: 5, n_symbols: 60, n_days: 260, ..GenConfig::default() };
    janus_data::generate(&g, &Default::default())
}

fn meta() -> RunMeta {
    RunMeta { run_id: "t".into(), config: String::new(), data_source: "gen".into(), status: RunStatus::Running }
}

/// Counts its decisions, to tell a resume from a replay.
struct Counting<S> {
    inner: S,
    decisions: Rc<RefCell<usize>>,
}

impl<S: Strategy> Strategy for Counting<S> {
    fn decide(&mut self, view: &StrategyView<'_>, out: &mut Decisions) {
        *self.decisions.borrow_mut() += 1;
        self.inner.decide(view, out);
    }
}

/// A memory store that also keeps the journal, the last checkpoint, and a log of the calls
/// that matter to write-ahead; it can be told to fail every commit after a day.
#[derive(Default)]
struct Journaled {
    rows: MemoryStore,
    events: Vec<JournalEvent>,
    checkpoint: Option<Checkpoint>,
    fail_after: Option<u32>,
    log: Rc<RefCell<Vec<String>>>,
}

impl Store for Journaled {
    fn begin_run(&mut self, meta: &RunMeta) -> Result<(), StoreError> {
        self.rows.begin_run(meta)
    }
    fn commit_day(&mut self, run_id: &str, batch: &DayBatch) -> Result<(), StoreError> {
        if self.fail_after.is_some_and(|d| batch.day_index > d) {
            return Err(StoreError::Backend { backend: "test", message: "the disk is gone".into() });
        }
        self.rows.commit_day(run_id, batch)?;
        self.events.extend(batch.events.iter().cloned());
        if batch.checkpoint.is_some() {
            self.checkpoint = batch.checkpoint.clone();
        }
        Ok(())
    }
    fn finish_run(&mut self, run_id: &str, status: RunStatus) -> Result<(), StoreError> {
        self.rows.finish_run(run_id, status)
    }
    fn list_runs(&self) -> Result<Vec<RunMeta>, StoreError> {
        self.rows.list_runs()
    }
    fn load_run(&self, run_id: &str) -> Result<RunRecord, StoreError> {
        self.rows.load_run(run_id)
    }
    fn append_events(&mut self, _run_id: &str, events: &[JournalEvent]) -> Result<(), StoreError> {
        for e in events {
            if let Event::Submitted(o) = &e.event {
                self.log.borrow_mut().push(format!("journal {}", o.id.0));
            }
            if !self.events.iter().any(|x| x.seq == e.seq) {
                self.events.push(e.clone());
            }
        }
        Ok(())
    }
    fn load_events(&self, _run_id: &str, _instance: &str, after: u64) -> Result<Vec<JournalEvent>, StoreError> {
        Ok(self.events.iter().filter(|e| e.seq > after).cloned().collect())
    }
    fn load_checkpoint(&self, _run_id: &str, _instance: &str) -> Result<Option<Checkpoint>, StoreError> {
        Ok(self.checkpoint.clone())
    }
}

/// A broker in front of the simulated one that misbehaves as real ones do.
struct Unruly {
    inner: SimBroker,
    /// Report every fill twice.
    duplicate: bool,
    /// Hold acknowledgements back and deliver them after the next day's fills.
    late_acks: bool,
    held_acks: Vec<ExecReport>,
    after_market: bool,
    log: Rc<RefCell<Vec<String>>>,
}

impl Unruly {
    fn new(inner: SimBroker) -> Unruly {
        Unruly {
            inner,
            duplicate: false,
            late_acks: false,
            held_acks: Vec::new(),
            after_market: false,
            log: Default::default(),
        }
    }
}

impl Broker for Unruly {
    fn submit(&mut self, order: &Order) -> Result<(), BrokerError> {
        self.log.borrow_mut().push(format!("submit {}", order.id.0));
        self.inner.submit(order)
    }
    fn cancel(&mut self, id: OrderId) -> Result<(), BrokerError> {
        self.inner.cancel(id)
    }
    fn poll(&mut self) -> Result<Vec<ExecReport>, BrokerError> {
        let mut out = Vec::new();
        for r in self.inner.poll()? {
            if self.late_acks && r.kind == ReportKind::Accepted {
                self.held_acks.push(r);
                continue;
            }
            if self.duplicate && r.kind.fill().is_some() {
                out.push(r.clone());
            }
            out.push(r);
        }
        if std::mem::take(&mut self.after_market) {
            // The acknowledgements arrive after the fills they should have preceded.
            out.append(&mut self.held_acks);
        }
        Ok(out)
    }
    fn account(&mut self) -> Result<BrokerAccount, BrokerError> {
        self.inner.account()
    }
    fn positions(&mut self) -> Result<Vec<BrokerPosition>, BrokerError> {
        self.inner.positions()
    }
    fn open_orders(&mut self) -> Result<Vec<BrokerOrder>, BrokerError> {
        self.inner.open_orders()
    }
    fn on_market(&mut self, market: &dyn MarketDay) -> Result<(), BrokerError> {
        self.after_market = true;
        self.inner.on_market(market)
    }
}

/// Run the whole market with `broker`; returns the engine's portfolio, the store.
fn run_with(p: &Panel, broker: &mut dyn Broker, store: &mut Journaled, write_ahead: bool) -> Portfolio {
    let cfg = EngineConfig::default();
    let mut strategy = default_strategy(&StrategyConfig::default(), p).expect("built-in models");
    let mut engine = Backtest::new(p, cfg).expect("valid config");
    let mut feed = PanelFeed::new(p, 0..p.n_dates());
    let opts = RunOptions {
        begin: true,
        last_decision_day: Some(p.n_dates() - 1),
        write_ahead,
        finish: true,
        ..RunOptions::default()
    };
    let out = engine.run_feed(&mut feed, broker, &mut strategy, store, &meta(), &opts, &mut |_| {}).expect("run");
    out.portfolio
}

fn sim(p: &Panel) -> SimBroker {
    Backtest::new(p, EngineConfig::default()).expect("valid config").sim_broker()
}

fn holdings(pf: &Portfolio) -> Vec<(String, i64, i64)> {
    pf.positions.values().map(|p| (p.symbol.clone(), p.amount, p.sellable)).collect()
}

#[test]
fn the_engine_s_ledger_agrees_with_the_simulated_broker_s_account() {
    let p = market();
    let mut broker = sim(&p);
    let pf = run_with(&p, &mut broker, &mut Journaled::default(), false);
    let venue = broker.ledger();
    assert_eq!(pf.account, venue.account, "cash and frozen cash");
    assert_eq!(holdings(&pf), holdings(venue), "shares and sellable shares");
    assert!(!pf.positions.is_empty() || pf.account.available_cash != janus_core::Money::from_yuan(1e6), "it traded");
}

#[test]
fn a_fill_reported_twice_is_applied_once_and_noted_in_the_journal() {
    let p = market();
    let plain = run_with(&p, &mut sim(&p), &mut Journaled::default(), false);
    let mut twice = Unruly::new(sim(&p));
    twice.duplicate = true;
    let mut store = Journaled::default();
    let doubled = run_with(&p, &mut twice, &mut store, false);
    assert_eq!(doubled, plain);
    let noted = store
        .events
        .iter()
        .filter(|e| matches!(&e.event, Event::Reconciliation { detail } if detail.contains("reported twice")))
        .count();
    let fills = store.rows.load_run("t").expect("stored").executions.len();
    assert!(fills > 10, "the run traded: {fills} fills");
    assert_eq!(noted, fills, "one note per repeated fill");
}

#[test]
fn fills_that_overtake_their_acknowledgements_change_nothing() {
    let p = market();
    let plain = run_with(&p, &mut sim(&p), &mut Journaled::default(), false);
    let mut late = Unruly::new(sim(&p));
    late.late_acks = true;
    let mut store = Journaled::default();
    assert_eq!(run_with(&p, &mut late, &mut store, false), plain);
    // The journal keeps the reports as they came: acknowledgements after their fills.
    let mut filled = std::collections::BTreeSet::new();
    let mut late_notes = 0;
    for e in &store.events {
        if let Event::Report(r) = &e.event {
            if r.kind.fill().is_some() {
                filled.insert(r.order_id);
            } else if r.kind == ReportKind::Accepted && filled.contains(&r.order_id) {
                late_notes += 1;
            }
        }
    }
    assert!(late_notes > 10, "late acknowledgements of filled orders: {late_notes}");
}

#[test]
fn an_order_is_journaled_before_the_broker_sees_it() {
    let p = market();
    let log: Rc<RefCell<Vec<String>>> = Default::default();
    let mut broker = Unruly::new(sim(&p));
    broker.log = log.clone();
    let mut store = Journaled { log: log.clone(), ..Journaled::default() };
    run_with(&p, &mut broker, &mut store, true);
    let log = log.borrow();
    let submits: Vec<&String> = log.iter().filter(|l| l.starts_with("submit")).collect();
    assert!(submits.len() > 10, "orders were sent: {}", submits.len());
    for (i, line) in log.iter().enumerate() {
        if let Some(id) = line.strip_prefix("submit ") {
            assert!(i > 0 && log[i - 1] == format!("journal {id}"), "order {id} was sent before it was journaled");
        }
    }
    // Written ahead, the Submitted events are not in the day batches a second time.
    let submitted = store.events.iter().filter(|e| matches!(e.event, Event::Submitted(_))).count();
    assert_eq!(submitted, submits.len());
    let seqs: Vec<u64> = {
        let mut s: Vec<u64> = store.events.iter().map(|e| e.seq).collect();
        s.sort_unstable();
        s
    };
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "the journal has no gaps");
}

#[test]
fn a_run_resumed_from_its_checkpoint_equals_the_uninterrupted_run_without_replaying_it() {
    let p = market();
    let cfg = EngineConfig::default();
    let days = p.n_dates();
    let full = {
        let mut store = Journaled::default();
        let mut s = default_strategy(&StrategyConfig::default(), &p).expect("models");
        Backtest::new(&p, cfg.clone()).unwrap().run(0..days, &mut s, &mut store, &meta(), &mut |_, _| {}).unwrap();
        store
    };
    let mut store = Journaled { fail_after: Some(180), ..Journaled::default() };
    let mut s = default_strategy(&StrategyConfig::default(), &p).expect("models");
    let died = Backtest::new(&p, cfg.clone()).unwrap().run(0..days, &mut s, &mut store, &meta(), &mut |_, _| {});
    assert!(died.is_err(), "the store failed after day 180");
    store.fail_after = None;
    let partial = store.rows.load_run("t").unwrap();
    let resume = Resume { last_day_index: 180, last_snapshot: partial.account_snapshots.last().unwrap().clone() };
    let decisions = Rc::new(RefCell::new(0));
    let mut counting =
        Counting { inner: default_strategy(&StrategyConfig::default(), &p).unwrap(), decisions: decisions.clone() };
    Backtest::new(&p, cfg)
        .unwrap()
        .run_resumable(0..days, &mut counting, &mut store, &meta(), Some(&resume), &mut |_, _| {})
        .expect("resumed");
    assert_eq!(*decisions.borrow(), days - 1 - 181, "only the days after the checkpoint were run");
    assert_eq!(store.rows.load_run("t").unwrap(), full.rows.load_run("t").unwrap());
    assert_eq!(store.events, full.events, "the journal goes on where it stopped");
}

#[test]
fn a_resume_on_different_bars_is_refused() {
    let p = market();
    let cfg = EngineConfig::default();
    let mut store = Journaled { fail_after: Some(100), ..Journaled::default() };
    let mut s = default_strategy(&StrategyConfig::default(), &p).unwrap();
    let _ = Backtest::new(&p, cfg.clone()).unwrap().run(0..p.n_dates(), &mut s, &mut store, &meta(), &mut |_, _| {});
    store.fail_after = None;
    let partial = store.rows.load_run("t").unwrap();
    let resume = Resume { last_day_index: 100, last_snapshot: partial.account_snapshots.last().unwrap().clone() };
    let other = janus_data::generate(
        &GenConfig { seed: 6, n_symbols: 60, n_days: 260, ..GenConfig::default() },
        &Default::default(),
    );
    let mut s = default_strategy(&StrategyConfig::default(), &other).unwrap();
    let err = Backtest::new(&other, cfg)
        .unwrap()
        .run_resumable(0..other.n_dates(), &mut s, &mut store, &meta(), Some(&resume), &mut |_, _| {})
        .expect_err("different data");
    assert!(err.to_string().contains("bars are not those the run saw"), "{err}");
}
