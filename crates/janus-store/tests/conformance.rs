//! One conformance suite for every backend: each scenario runs against the memory store (the
//! reference) and against SQLite, PostgreSQL and Redis, which must return exactly the same rows.
//! PostgreSQL and Redis scenarios skip with a message when their server is unreachable (fail
//! instead with `JANUS_REQUIRE_SERVICES=1`).

mod common;

use chrono::NaiveDate;
use common::{Fixture, Kind};
use janus_core::{
    AccountSnapshot, Checkpoint, CorporateAction, CorporateActionLog, DayBatch, Event, ExecutionLog, JournalEvent,
    Money, Order, OrderId, OrderStatus, OrderType, PositionSnapshot, Price, Rate, RiskEvent, RiskReason, RunMeta,
    RunRecord, RunStatus, Side, Store, StoreError,
};
use janus_engine::{Backtest, EngineConfig, Resume, StrategyConfig};
use janus_store::{MemoryStore, StoreOptions};

fn meta(id: &str) -> RunMeta {
    RunMeta {
        run_id: id.into(),
        config: "initial_cash = 1_000.0 # 'quoted'; \"double\" 中文".into(),
        data_source: "synthetic:seed=1".into(),
        status: RunStatus::Running,
    }
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

const NASTY: [&str; 6] = [
    "600000.SH",
    "O'Neil'); DROP TABLE runs; --",
    "贵州茅台 \"引号\" ；分号",
    "emoji 📈\n\ttab|pipe,comma",
    "back\\slash %_ * ? [glob]",
    "",
];

fn position(date: &str, symbol: &str, i: i64) -> PositionSnapshot {
    PositionSnapshot {
        date: d(date),
        symbol: symbol.into(),
        amount: 100 * i,
        sellable: 100 * (i - 1),
        avg_price: Price(123_456 + i),
        entry_price: Price(120_000),
        entry_date: d("1990-12-19"),
        high_since_entry: Price(i64::MAX - i),
        last_price: Price(-1),
        days_held: u32::MAX - i as u32,
        market_value: Money(i64::MIN + i),
        realized_pnl: Money(-987_654_321),
    }
}

fn corporate(date: &str, symbol: &str, i: i64) -> CorporateActionLog {
    CorporateActionLog {
        date: d(date),
        symbol: symbol.into(),
        shares_before: i64::MAX - i,
        bonus_shares: i,
        rights_shares: 0,
        rights_paid: Money(i64::MIN + i),
        dividend: Money(-i),
        dividend_tax: Money(123_456_789_012),
        reference_price: Price(99_999 * i),
    }
}

fn order(id: u64, symbol: &str, status: OrderStatus, day: &str) -> Order {
    let mut o = Order::new(
        OrderId(id),
        symbol.into(),
        [Side::Buy, Side::Sell][(id % 2) as usize],
        [OrderType::Limit(Price(99_990)), OrderType::Market, OrderType::Market][(id % 3) as usize],
        1_000,
        d("2024-02-28"),
    );
    o.status = status;
    o.updated = d(day);
    o.filled = if status == OrderStatus::Filled { 1_000 } else { 0 };
    o.filled_notional = Money(99_990_000);
    o.commission = Money(50_000);
    o.taxes = Money(1);
    o.frozen_cash = Money(i64::MAX);
    o.tag = format!("tag '{symbol}'; --");
    o
}

/// Days full of text that breaks naive SQL or key encodings, and extreme numbers.
fn hostile_days() -> Vec<DayBatch> {
    let dates = ["2024-02-28", "2024-02-29", "2099-12-31"];
    dates
        .iter()
        .enumerate()
        .map(|(i, date)| DayBatch {
            day_index: 10 + i as u32,
            account: Some(AccountSnapshot {
                date: d(date),
                total_value: Money(i64::MAX - i as i64),
                cash: Money(i64::MIN),
                frozen_cash: Money(0),
                market_value: Money(-1),
                peak_value: Money(1),
                drawdown: [0.1 + 0.2, 1e-300, 123456.789e10][i],
            }),
            positions: NASTY.iter().enumerate().map(|(k, s)| position(date, s, k as i64 + 1)).collect(),
            orders: NASTY
                .iter()
                .enumerate()
                .map(|(k, s)| {
                    let status = if i == 0 { OrderStatus::Accepted } else { OrderStatus::Filled };
                    order(k as u64 + 1 + (i as u64 % 2) * 10, s, status, date)
                })
                .collect(),
            risk_events: NASTY
                .iter()
                .enumerate()
                .map(|(k, s)| RiskEvent {
                    date: d(date),
                    symbol: s.to_string(),
                    order_id: OrderId(k as u64 + 1),
                    side: Side::Sell,
                    reason: RiskReason::ALL[(i * 5 + k) % RiskReason::ALL.len()],
                    detail: format!("sell refused at limit-down: '{s}'; \"quoted\"; 跌停 -- /* */"),
                })
                .collect(),
            executions: NASTY
                .iter()
                .enumerate()
                .map(|(k, s)| ExecutionLog {
                    date: d(date),
                    order_id: OrderId(k as u64 + 1),
                    symbol: s.to_string(),
                    side: Side::Buy,
                    price: Price(101_230),
                    quantity: i64::MAX,
                    commission: Money(50_000),
                    taxes: Money(-3),
                    reference_price: Price(101_000),
                    slippage: Money(i64::MIN),
                })
                .collect(),
            corporate_actions: NASTY.iter().enumerate().map(|(k, s)| corporate(date, s, (i * 10 + k) as i64)).collect(),
            // One event a day for each instance named with hostile text (keys and columns alike).
            events: NASTY
                .iter()
                .map(|s| JournalEvent {
                    instance: s.to_string(),
                    seq: i as u64 + 1,
                    date: d(date),
                    event: Event::Reconciliation { detail: format!("{s} | '; -- 中文") },
                })
                .collect(),
            checkpoint: Some(Checkpoint {
                instance: NASTY[i].to_string(),
                day_index: 10 + i as u32,
                seq: i as u64 + 1,
                state: format!("{{\"s\":\"{}\"}}|'; --", NASTY[i].escape_default()),
            }),
        })
        .collect()
}

/// Every hostile instance's journal and checkpoint read back as `hostile_days` wrote them.
fn hostile_journals_read_back(store: &dyn Store, run: &str) {
    let days = hostile_days();
    for s in NASTY {
        let expected: Vec<JournalEvent> =
            days.iter().flat_map(|b| b.events.iter().filter(|e| e.instance == s).cloned()).collect();
        assert_eq!(store.load_events(run, s, 0).unwrap(), expected, "journal of instance {s:?}");
        let checkpoint = days.iter().filter_map(|b| b.checkpoint.clone()).find(|c| c.instance == s);
        assert_eq!(store.load_checkpoint(run, s).unwrap(), checkpoint, "checkpoint of instance {s:?}");
    }
}

type Outcome = (Vec<RunMeta>, Vec<RunRecord>);

fn read_all(store: &dyn Store) -> Outcome {
    let runs = store.list_runs().unwrap();
    let records = runs.iter().map(|m| store.load_run(&m.run_id).unwrap()).collect();
    (runs, records)
}

fn hostile_text_and_extreme_numbers_round_trip_exactly(store: &mut dyn Store) -> Outcome {
    store.begin_run(&meta("hostile'; --")).unwrap();
    for day in hostile_days() {
        store.commit_day("hostile'; --", &day).unwrap();
    }
    store.finish_run("hostile'; --", RunStatus::Finished).unwrap();
    hostile_journals_read_back(store, "hostile'; --");
    let out = read_all(store);
    assert_eq!(out.1[0].position_snapshots.len(), 3 * NASTY.len());
    assert_eq!(out.1[0].corporate_actions.len(), 3 * NASTY.len());
    out
}

fn corporate_actions_keep_their_commit_order_and_go_with_their_run(store: &mut dyn Store) -> Outcome {
    let day = |i: u32, logs: Vec<CorporateActionLog>| DayBatch {
        day_index: i,
        corporate_actions: logs,
        ..DayBatch::default()
    };
    let days = [
        // Not in symbol order within the day: the store keeps the order of the batch.
        day(0, vec![corporate("2024-06-03", "600000.SH", 1), corporate("2024-06-03", "000001.SZ", 2)]),
        day(1, Vec::new()),
        day(2, vec![corporate("2024-06-05", "000001.SZ", 3)]),
    ];
    store.begin_run(&meta("actions")).unwrap();
    for b in &days {
        store.commit_day("actions", b).unwrap();
    }
    store.finish_run("actions", RunStatus::Finished).unwrap();
    let stored = store.load_run("actions").unwrap();
    assert_eq!(stored.corporate_actions, days.iter().flat_map(|b| b.corporate_actions.clone()).collect::<Vec<_>>());
    // Deleted with the run: a new run of the same id starts with none.
    store.delete_run("actions").unwrap();
    store.begin_run(&meta("actions")).unwrap();
    store.commit_day("actions", &day(0, Vec::new())).unwrap();
    store.finish_run("actions", RunStatus::Finished).unwrap();
    let out = read_all(store);
    assert_eq!((out.1[0].corporate_actions.len(), out.1[0].last_day_index), (0, Some(0)));
    out
}

fn a_retried_day_is_never_written_twice(store: &mut dyn Store) -> Outcome {
    let days = hostile_days();
    store.begin_run(&meta("retry")).unwrap();
    store.commit_day("retry", &days[0]).unwrap();
    store.commit_day("retry", &days[0]).unwrap(); // while still buffered
    store.commit_day("retry", &days[1]).unwrap();
    store.finish_run("retry", RunStatus::Running).unwrap(); // flushes
    store.commit_day("retry", &days[1]).unwrap(); // after it was committed
    store.commit_day("retry", &days[0]).unwrap();
    store.commit_day("retry", &days[2]).unwrap();
    store.finish_run("retry", RunStatus::Failed).unwrap();
    hostile_journals_read_back(store, "retry");
    let out = read_all(store);
    assert_eq!(out.1[0].account_snapshots.len(), 3);
    assert_eq!(out.1[0].last_day_index, Some(12));
    out
}

fn orders_keep_their_last_state_and_runs_their_order(store: &mut dyn Store) -> Outcome {
    for id in ["b-run", "a-run"] {
        store.begin_run(&meta(id)).unwrap();
    }
    let mut first = DayBatch { day_index: 0, ..DayBatch::default() };
    first.orders =
        vec![order(7, "600000.SH", OrderStatus::Accepted, "2024-01-02"), order(3, "x", OrderStatus::New, "2024-01-02")];
    let mut second = DayBatch { day_index: 1, ..DayBatch::default() };
    second.orders = vec![order(7, "600000.SH", OrderStatus::Filled, "2024-01-03")];
    for b in [&first, &second] {
        store.commit_day("a-run", b).unwrap();
    }
    store.finish_run("a-run", RunStatus::Finished).unwrap();
    assert!(matches!(store.begin_run(&meta("a-run")), Err(StoreError::RunExists(_))));
    assert!(matches!(store.load_run("nope"), Err(StoreError::RunNotFound(_))));
    let out = read_all(store);
    assert_eq!(
        out.1[1].orders.iter().map(|o| (o.id.0, o.status)).collect::<Vec<_>>(),
        [(3, OrderStatus::New), (7, OrderStatus::Filled)]
    );
    let summaries = store.run_summaries().unwrap();
    assert_eq!(summaries[1].days, 0);
    assert_eq!(summaries[1].last_day_index, Some(1));
    store.delete_run("b-run").unwrap();
    assert!(matches!(store.load_run("b-run"), Err(StoreError::RunNotFound(_))));
    out
}

/// A synthetic market with a cash dividend for every stock on day 40 and a 10-for-1 bonus
/// issue with a dividend on day 80, so that runs hold stocks through ex-dates.
fn panel() -> janus_data::Panel {
    let mut p = janus_data::generate(
        &janus_data::GenConfig { n_symbols: 40, n_days: 120, ..Default::default() },
        &Default::default(),
    );
    let dividend = CorporateAction { cash_dividend: Price(1_000), ..Default::default() };
    let bonus = CorporateAction { cash_dividend: Price(500), share_ratio: Rate::from_f64(0.1), ..Default::default() };
    p.actions = [(40, dividend), (80, bonus)]
        .into_iter()
        .flat_map(|(day, action)| (0..p.n_symbols() as u32).map(move |sid| janus_data::DayAction { day, sid, action }))
        .collect();
    p.adj_factor = janus_data::adj_factor_from_actions(&p);
    p.derive_limits(&Default::default());
    p
}

fn an_engine_run_stores_every_row(store: &mut dyn Store) -> Outcome {
    let p = panel();
    let mut s = janus_engine::engine::default_strategy(&StrategyConfig::default(), &p).unwrap();
    Backtest::new(&p, EngineConfig::default())
        .unwrap()
        .run(0..120, &mut s, store, &meta("engine"), &mut |_, _| {})
        .unwrap();
    let out = read_all(store);
    assert!(!out.1[0].executions.is_empty() && !out.1[0].risk_events.is_empty());
    let dates: std::collections::BTreeSet<_> = out.1[0].corporate_actions.iter().map(|c| c.date).collect();
    assert_eq!(dates.into_iter().collect::<Vec<_>>(), [p.dates[40], p.dates[80]], "held through both ex-dates");
    out
}

/// Fails when asked to commit a given day, like a process killed mid-run.
struct DiesAt<'a> {
    inner: &'a mut dyn Store,
    day: u32,
}

impl Store for DiesAt<'_> {
    fn begin_run(&mut self, meta: &RunMeta) -> Result<(), StoreError> {
        self.inner.begin_run(meta)
    }
    fn commit_day(&mut self, run_id: &str, batch: &DayBatch) -> Result<(), StoreError> {
        if batch.day_index == self.day {
            return Err(StoreError::Backend { backend: "test", message: "killed".into() });
        }
        self.inner.commit_day(run_id, batch)
    }
    fn finish_run(&mut self, run_id: &str, status: RunStatus) -> Result<(), StoreError> {
        self.inner.finish_run(run_id, status)
    }
    fn list_runs(&self) -> Result<Vec<RunMeta>, StoreError> {
        self.inner.list_runs()
    }
    fn load_run(&self, run_id: &str) -> Result<RunRecord, StoreError> {
        self.inner.load_run(run_id)
    }
}

fn a_run_that_died_resumes_to_the_same_rows(store: &mut dyn Store) -> Outcome {
    let p = panel();
    let strategy = || janus_engine::engine::default_strategy(&StrategyConfig::default(), &p).unwrap();
    let m = meta("resumed");
    let died = Backtest::new(&p, EngineConfig::default()).unwrap().run(
        0..120,
        &mut strategy(),
        &mut DiesAt { inner: &mut *store, day: 71 },
        &m,
        &mut |_, _| {},
    );
    assert!(died.is_err());
    store.finish_run("resumed", RunStatus::Failed).unwrap();
    let partial = store.load_run("resumed").unwrap();
    assert_eq!(partial.last_day_index, Some(70));
    let resume = Resume { last_day_index: 70, last_snapshot: partial.account_snapshots.last().unwrap().clone() };
    Backtest::new(&p, EngineConfig::default())
        .unwrap()
        .run_resumable(0..120, &mut strategy(), store, &m, Some(&resume), &mut |_, _| {})
        .unwrap();
    read_all(store)
}

fn check(kind: Kind, name: &str, scenario: fn(&mut dyn Store) -> Outcome) {
    let mut memory = MemoryStore::new();
    let expected = scenario(&mut memory);
    let expected_after = read_all(&memory);
    let Some(mut fx) = Fixture::open(kind, name) else { return };
    let got = scenario(fx.store.as_mut());
    assert_eq!(got.0, expected.0, "{kind:?}: runs differ from the memory store's");
    for (g, e) in got.1.iter().zip(&expected.1) {
        assert_eq!(g.account_snapshots, e.account_snapshots, "{kind:?}: account snapshots");
        assert_eq!(g.position_snapshots, e.position_snapshots, "{kind:?}: position snapshots");
        assert_eq!(g.orders, e.orders, "{kind:?}: orders");
        assert_eq!(g.risk_events, e.risk_events, "{kind:?}: risk events");
        assert_eq!(g.executions, e.executions, "{kind:?}: executions");
        assert_eq!(g.corporate_actions, e.corporate_actions, "{kind:?}: corporate actions");
    }
    assert_eq!(got, expected, "{kind:?}");
    if kind == Kind::Memory {
        return;
    }
    // A second handle (another process) reads the same rows.
    let again = read_all(fx.reopen(&StoreOptions::default()).as_ref());
    assert_eq!(again, expected_after, "{kind:?}: reopened");
}

macro_rules! conformance {
    ($backend:ident => $kind:ident) => {
        mod $backend {
            use super::{check, Kind};
            conformance!(@tests Kind::$kind;
                hostile_text_and_extreme_numbers_round_trip_exactly,
                a_retried_day_is_never_written_twice,
                orders_keep_their_last_state_and_runs_their_order,
                corporate_actions_keep_their_commit_order_and_go_with_their_run,
                an_engine_run_stores_every_row,
                a_run_that_died_resumes_to_the_same_rows);
        }
    };
    (@tests $kind:expr; $($scenario:ident),*) => {
        $(#[test]
        fn $scenario() {
            check($kind, stringify!($scenario), super::$scenario);
        })*
    };
}

conformance!(memory => Memory);
conformance!(sqlite => Sqlite);
conformance!(postgres => Postgres);
conformance!(redis => Redis);
