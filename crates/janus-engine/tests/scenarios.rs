//! Scenario tests on tiny hand-written markets: exact cash and positions after known fills.

use chrono::NaiveDate;
use janus_core::{
    Money, OrderStatus, OrderType, Portfolio, Price, RiskReason, RunMeta, RunRecord, RunStatus, Side, Store,
};
use janus_data::Panel;
use janus_engine::strategy::{Decisions, Intent, Strategy, StrategyView};
use janus_engine::{Backtest, EngineConfig};
use janus_store::MemoryStore;
use std::collections::BTreeMap;

/// Places exactly the orders it is given, after the close of the given day index.
struct Scripted {
    script: BTreeMap<usize, Vec<Intent>>,
}

impl Strategy for Scripted {
    fn decide(&mut self, view: &StrategyView<'_>, out: &mut Decisions) {
        for intent in self.script.get(&view.history.today()).cloned().unwrap_or_default() {
            match intent.side {
                Side::Sell => out.sells.push(intent),
                Side::Buy => out.buys.push(intent),
            }
        }
        out.max_new_buys = usize::MAX;
    }
}

fn panel(csv: &str) -> Panel {
    janus_data::load_csv_reader(csv.as_bytes(), "scenario.csv", &Default::default()).expect("valid scenario csv")
}

fn order(panel: &Panel, symbol: &str, side: Side, qty: i64, order_type: OrderType) -> Intent {
    Intent {
        sid: panel.symbol_id(symbol).expect("symbol in panel"),
        side,
        qty: Some(qty),
        order_type,
        tag: "script".into(),
    }
}

fn run(panel: &Panel, cfg: EngineConfig, script: Vec<(usize, Intent)>) -> (RunRecord, Portfolio) {
    let mut map: BTreeMap<usize, Vec<Intent>> = BTreeMap::new();
    for (d, i) in script {
        map.entry(d).or_default().push(i);
    }
    let mut strategy = Scripted { script: map };
    let mut store = MemoryStore::new();
    let meta = RunMeta {
        run_id: "t".into(),
        config: String::new(),
        data_source: "scenario".into(),
        status: RunStatus::Running,
    };
    let mut engine = Backtest::new(panel, cfg).expect("valid config");
    let outcome = engine.run(0..panel.n_dates(), &mut strategy, &mut store, &meta, &mut |_, _| {}).expect("run");
    (store.load_run("t").expect("stored run"), outcome.portfolio)
}

fn cfg(cash: f64) -> EngineConfig {
    let mut c = EngineConfig { initial_cash: cash, ..EngineConfig::default() };
    c.fill.volume_participation = 1.0;
    c.risk.max_position_pct = 1.0;
    c
}

fn yuan(y: f64) -> Money {
    Money::from_yuan(y)
}

const HEADER: &str = "date,symbol,open,high,low,close,volume\n";

#[test]
fn minimum_commission_applies_to_a_small_order() {
    let p = panel(&format!(
        "{HEADER}2024-01-02,600000.SH,10.00,10.00,10.00,10.00,100000\n\
         2024-01-03,600000.SH,10.00,10.20,9.90,10.10,100000\n"
    ));
    let (rec, pf) = run(&p, cfg(100_000.0), vec![(0, order(&p, "600000.SH", Side::Buy, 100, OrderType::Market))]);
    let fill = &rec.executions[0];
    assert_eq!((fill.price, fill.quantity), (Price::from_yuan(10.0), 100));
    assert_eq!(fill.commission, yuan(5.0), "0.025% of 1000 CNY is 0.25, the minimum is 5");
    assert_eq!(fill.taxes, yuan(0.01), "transfer fee 0.001% of 1000 rounds to 0.01; no stamp duty on buys");
    assert_eq!(pf.account.available_cash, yuan(100_000.0 - 1_000.0 - 5.01));
    assert_eq!(pf.account.frozen_cash, Money::ZERO);
    let pos = pf.positions.values().next().unwrap();
    assert_eq!((pos.amount, pos.cost_basis, pos.last_price), (100, yuan(1_005.01), Price::from_yuan(10.10)));
    assert_eq!(pf.total_asset(), yuan(100_000.0 - 1_005.01 + 1_010.0));
}

#[test]
fn a_buy_at_limit_up_is_not_filled_and_its_cash_comes_back() {
    // Day 2 is a one-price bar sealed at limit-up 11.00.
    let p = panel(&format!(
        "{HEADER}2024-01-02,600000.SH,10.00,10.00,10.00,10.00,100000\n\
         2024-01-03,600000.SH,11.00,11.00,11.00,11.00,5000\n"
    ));
    let (rec, pf) = run(&p, cfg(100_000.0), vec![(0, order(&p, "600000.SH", Side::Buy, 1_000, OrderType::Market))]);
    assert!(rec.executions.is_empty());
    assert_eq!(rec.orders[0].status, OrderStatus::Expired);
    assert_eq!(rec.risk_events.len(), 1);
    assert_eq!(rec.risk_events[0].reason, RiskReason::MarketLimitUp);
    assert_eq!(pf.account.available_cash, yuan(100_000.0));
    assert_eq!(pf.account.frozen_cash, Money::ZERO);
    assert!(pf.positions.is_empty());
}

#[test]
fn a_buy_of_a_stock_that_closed_at_limit_up_is_refused_before_freezing_cash() {
    let p = panel(&format!(
        "{HEADER}2024-01-02,600000.SH,10.00,10.00,10.00,10.00,100000\n\
         2024-01-03,600000.SH,10.50,11.00,10.40,11.00,100000\n\
         2024-01-04,600000.SH,11.00,11.50,10.90,11.20,100000\n"
    ));
    // Off by default (tomorrow has new limits); this trader refuses to chase a sealed limit.
    let mut strict = cfg(100_000.0);
    strict.risk.reject_at_limit_close = true;
    let (rec, pf) = run(&p, strict, vec![(1, order(&p, "600000.SH", Side::Buy, 100, OrderType::Market))]);
    assert_eq!(rec.orders[0].status, OrderStatus::Rejected);
    assert_eq!(rec.risk_events[0].reason, RiskReason::LimitUp);
    assert_eq!(pf.account.available_cash, yuan(100_000.0));
}

#[test]
fn a_sell_on_the_day_of_purchase_is_rejected_for_t_plus_1() {
    let p = panel(&format!(
        "{HEADER}2024-01-02,600000.SH,10.00,10.00,10.00,10.00,100000\n\
         2024-01-03,600000.SH,10.00,10.20,9.90,10.10,100000\n"
    ));
    let (rec, pf) = run(
        &p,
        cfg(100_000.0),
        vec![
            (0, order(&p, "600000.SH", Side::Buy, 200, OrderType::Market)),
            (0, order(&p, "600000.SH", Side::Sell, 200, OrderType::Market)),
        ],
    );
    let sell = rec.orders.iter().find(|o| o.side == Side::Sell).unwrap();
    assert_eq!(sell.status, OrderStatus::Rejected);
    let ev = rec.risk_events.iter().find(|e| e.order_id == sell.id).unwrap();
    assert_eq!(ev.reason, RiskReason::TPlusOne);
    assert_eq!(pf.positions.values().next().unwrap().amount, 200, "the buy still filled");
}

#[test]
fn shares_bought_today_are_sellable_the_next_day() {
    let p = panel(&format!(
        "{HEADER}2024-01-02,600000.SH,10.00,10.00,10.00,10.00,100000\n\
         2024-01-03,600000.SH,10.00,10.20,9.90,10.10,100000\n\
         2024-01-04,600000.SH,10.30,10.40,10.20,10.30,100000\n"
    ));
    let (rec, pf) = run(
        &p,
        cfg(100_000.0),
        vec![
            (0, order(&p, "600000.SH", Side::Buy, 200, OrderType::Market)),
            (1, order(&p, "600000.SH", Side::Sell, 200, OrderType::Market)),
        ],
    );
    assert!(rec.risk_events.is_empty(), "{:?}", rec.risk_events);
    assert_eq!(rec.executions.len(), 2);
    assert!(pf.positions.is_empty());
}

#[test]
fn stamp_duty_switches_rate_on_2023_08_28() {
    // Two stocks bought on 08-24; A sold on Friday 08-25 (0.1%), B on Monday 08-28 (0.05%).
    let p = panel(&format!(
        "{HEADER}2023-08-23,600000.SH,10.00,10.00,10.00,10.00,1000000\n2023-08-23,600001.SH,10.00,10.00,10.00,10.00,1000000\n\
         2023-08-24,600000.SH,10.00,10.00,10.00,10.00,1000000\n2023-08-24,600001.SH,10.00,10.00,10.00,10.00,1000000\n\
         2023-08-25,600000.SH,10.00,10.00,10.00,10.00,1000000\n2023-08-25,600001.SH,10.00,10.00,10.00,10.00,1000000\n\
         2023-08-28,600000.SH,10.00,10.00,10.00,10.00,1000000\n2023-08-28,600001.SH,10.00,10.00,10.00,10.00,1000000\n"
    ));
    let (rec, pf) = run(
        &p,
        cfg(1_000_000.0),
        vec![
            (0, order(&p, "600000.SH", Side::Buy, 10_000, OrderType::Market)),
            (0, order(&p, "600001.SH", Side::Buy, 10_000, OrderType::Market)),
            (1, order(&p, "600000.SH", Side::Sell, 10_000, OrderType::Market)),
            (2, order(&p, "600001.SH", Side::Sell, 10_000, OrderType::Market)),
        ],
    );
    let sells: Vec<_> = rec.executions.iter().filter(|e| e.side == Side::Sell).collect();
    assert_eq!(sells[0].date, NaiveDate::from_ymd_opt(2023, 8, 25).unwrap());
    assert_eq!(sells[0].taxes, yuan(100.0 + 1.0), "0.1% stamp duty + 0.001% transfer on 100,000");
    assert_eq!(sells[1].date, NaiveDate::from_ymd_opt(2023, 8, 28).unwrap());
    assert_eq!(sells[1].taxes, yuan(50.0 + 1.0), "0.05% stamp duty from 2023-08-28");
    // Each side pays 25 commission and 1 transfer; sells add stamp duty.
    let expected = 1_000_000.0 - 2.0 * (25.0 + 1.0) - (25.0 + 101.0) - (25.0 + 51.0);
    assert_eq!(pf.account.available_cash, yuan(expected));
}

#[test]
fn a_partial_fill_under_the_volume_cap_expires_the_rest() {
    let p = panel(&format!(
        "{HEADER}2024-01-02,600000.SH,10.00,10.00,10.00,10.00,100000\n\
         2024-01-03,600000.SH,10.00,10.20,9.90,10.10,2500\n"
    ));
    let mut c = cfg(100_000.0);
    c.fill.volume_participation = 0.1; // 250 shares -> 200 in whole lots
    let (rec, pf) = run(&p, c, vec![(0, order(&p, "600000.SH", Side::Buy, 500, OrderType::Market))]);
    let o = &rec.orders[0];
    assert_eq!((o.filled, o.status), (200, OrderStatus::Expired));
    assert_eq!(rec.risk_events[0].reason, RiskReason::VolumeCap);
    assert_eq!(pf.account.frozen_cash, Money::ZERO, "the unfilled part's cash is released");
    assert_eq!(pf.account.available_cash, yuan(100_000.0 - 2_000.0 - 5.0 - 0.02));
    assert_eq!(pf.positions.values().next().unwrap().amount, 200);
}

#[test]
fn a_limit_order_the_bar_does_not_reach_stays_unfilled_and_expires() {
    let p = panel(&format!(
        "{HEADER}2024-01-02,600000.SH,10.00,10.00,10.00,10.00,100000\n\
         2024-01-03,600000.SH,10.00,10.20,9.60,10.10,100000\n\
         2024-01-04,600000.SH,9.80,9.90,9.40,9.50,100000\n"
    ));
    let limit = OrderType::Limit(Price::from_yuan(9.50));
    let (rec, pf) = run(
        &p,
        cfg(100_000.0),
        vec![(0, order(&p, "600000.SH", Side::Buy, 100, limit)), (1, order(&p, "600000.SH", Side::Buy, 100, limit))],
    );
    assert_eq!(rec.orders[0].status, OrderStatus::Expired, "low 9.60 never reached 9.50");
    assert_eq!(rec.orders[0].filled, 0);
    assert_eq!(rec.orders[1].status, OrderStatus::Filled, "low 9.40 trades through 9.50");
    assert_eq!(rec.executions[0].price, Price::from_yuan(9.50));
    assert_eq!(pf.account.available_cash, yuan(100_000.0 - 950.0 - 5.0 - 0.01));
    assert!(rec.risk_events.is_empty(), "not reaching a limit price is not a refusal");
}

#[test]
fn a_sell_at_limit_down_is_not_filled_and_is_recorded() {
    let p = panel(&format!(
        "{HEADER}2024-01-02,600000.SH,10.00,10.00,10.00,10.00,100000\n\
         2024-01-03,600000.SH,10.00,10.20,9.90,10.00,100000\n\
         2024-01-04,600000.SH,9.00,9.00,9.00,9.00,3000\n\
         2024-01-05,600000.SH,8.80,9.20,8.50,9.00,100000\n"
    ));
    let (rec, pf) = run(
        &p,
        cfg(100_000.0),
        vec![
            (0, order(&p, "600000.SH", Side::Buy, 100, OrderType::Market)),
            (1, order(&p, "600000.SH", Side::Sell, 100, OrderType::Market)),
        ],
    );
    let sell = rec.orders.iter().find(|o| o.side == Side::Sell).unwrap();
    assert_eq!(sell.status, OrderStatus::Expired);
    let ev: Vec<_> = rec.risk_events.iter().map(|e| e.reason).collect();
    assert_eq!(ev, vec![RiskReason::MarketLimitDown]);
    let pos = pf.positions.values().next().unwrap();
    assert_eq!((pos.amount, pos.sellable), (100, 100), "shares are sellable again after the refusal");
}

#[test]
fn the_circuit_breaker_blocks_buys_after_a_large_loss() {
    let p = panel(&format!(
        "{HEADER}2024-01-02,600000.SH,10.00,10.00,10.00,10.00,1000000\n2024-01-02,600001.SH,5.00,5.00,5.00,5.00,1000000\n\
         2024-01-03,600000.SH,10.00,10.00,10.00,10.00,1000000\n2024-01-03,600001.SH,5.00,5.00,5.00,5.00,1000000\n\
         2024-01-04,600000.SH,9.50,9.60,9.10,9.20,1000000\n2024-01-04,600001.SH,5.00,5.00,5.00,5.00,1000000\n\
         2024-01-05,600000.SH,9.20,9.30,9.10,9.20,1000000\n2024-01-05,600001.SH,5.00,5.00,5.00,5.00,1000000\n"
    ));
    // 9,000 shares at 10.00 in a 100k account; a drop to 9.20 loses 7.2% of equity.
    let (rec, pf) = run(
        &p,
        cfg(100_000.0),
        vec![
            (0, order(&p, "600000.SH", Side::Buy, 9_000, OrderType::Market)),
            (2, order(&p, "600001.SH", Side::Buy, 100, OrderType::Market)),
        ],
    );
    let blocked = rec.orders.iter().find(|o| o.symbol == "600001.SH").unwrap();
    assert_eq!(blocked.status, OrderStatus::Rejected);
    assert_eq!(rec.risk_events[0].reason, RiskReason::CircuitBreaker);
    assert_eq!(pf.positions.len(), 1);
}

#[test]
fn concentration_and_cash_limits_refuse_oversized_buys() {
    let p = panel(&format!(
        "{HEADER}2024-01-02,600000.SH,10.00,10.00,10.00,10.00,1000000\n\
         2024-01-03,600000.SH,10.00,10.00,10.00,10.00,1000000\n"
    ));
    let mut c = cfg(100_000.0);
    c.risk.max_position_pct = 0.2;
    let (rec, _) = run(&p, c.clone(), vec![(0, order(&p, "600000.SH", Side::Buy, 2_100, OrderType::Market))]);
    assert_eq!(rec.risk_events[0].reason, RiskReason::Concentration);
    c.risk.max_position_pct = 1.0;
    // 9,500 shares freeze at next day's limit-up 11.00: 104,500 > 100,000.
    let (rec, _) = run(&p, c, vec![(0, order(&p, "600000.SH", Side::Buy, 9_500, OrderType::Market))]);
    assert_eq!(rec.risk_events[0].reason, RiskReason::InsufficientCash);
}

#[test]
fn a_suspended_bar_refuses_the_fill_and_odd_lot_buys_are_refused() {
    let p = panel(&format!(
        "{HEADER}2024-01-02,600000.SH,10.00,10.00,10.00,10.00,1000000\n\
         2024-01-03,600000.SH,10.00,10.00,10.00,10.00,0\n"
    ));
    let (rec, pf) = run(
        &p,
        cfg(100_000.0),
        vec![
            (0, order(&p, "600000.SH", Side::Buy, 100, OrderType::Market)),
            (0, order(&p, "600000.SH", Side::Buy, 150, OrderType::Market)),
        ],
    );
    let reasons: Vec<_> = rec.risk_events.iter().map(|e| e.reason).collect();
    assert_eq!(reasons, vec![RiskReason::LotSize, RiskReason::MarketSuspended]);
    assert_eq!(pf.account.available_cash, yuan(100_000.0));
}

#[test]
fn a_resumed_run_commits_exactly_the_days_an_uninterrupted_run_would() {
    let p = janus_data::generate(
        &janus_data::GenConfig { n_symbols: 40, n_days: 120, ..Default::default() },
        &Default::default(),
    );
    let meta =
        RunMeta { run_id: "r".into(), config: String::new(), data_source: "gen".into(), status: RunStatus::Running };
    let strategy_cfg = janus_engine::StrategyConfig::default();
    let full = {
        let mut store = MemoryStore::new();
        let mut s = janus_engine::engine::default_strategy(&strategy_cfg, &p).unwrap();
        Backtest::new(&p, EngineConfig::default())
            .unwrap()
            .run(0..120, &mut s, &mut store, &meta, &mut |_, _| {})
            .unwrap();
        store.load_run("r").unwrap()
    };
    // A run that dies while committing day 71: days 0..=70 are stored, then resume.
    let mut store = DiesAt { inner: MemoryStore::new(), day: 71 };
    let mut s = janus_engine::engine::default_strategy(&strategy_cfg, &p).unwrap();
    let died =
        Backtest::new(&p, EngineConfig::default()).unwrap().run(0..120, &mut s, &mut store, &meta, &mut |_, _| {});
    assert!(died.is_err());
    let mut store = store.inner;
    let partial = store.load_run("r").unwrap();
    assert_eq!(partial.last_day_index, Some(70));
    let resume = janus_engine::Resume {
        last_day_index: partial.last_day_index.unwrap(),
        last_snapshot: partial.account_snapshots.last().unwrap().clone(),
    };
    let mut s = janus_engine::engine::default_strategy(&strategy_cfg, &p).unwrap();
    Backtest::new(&p, EngineConfig::default())
        .unwrap()
        .run_resumable(0..120, &mut s, &mut store, &meta, Some(&resume), &mut |_, _| {})
        .unwrap();
    let resumed = store.load_run("r").unwrap();
    assert_eq!(resumed, full);
    assert!(!full.executions.is_empty());
}

/// A store that fails when asked to commit a given day, like a process killed mid-run.
struct DiesAt {
    inner: MemoryStore,
    day: u32,
}

impl Store for DiesAt {
    fn begin_run(&mut self, meta: &RunMeta) -> Result<(), janus_core::StoreError> {
        self.inner.begin_run(meta)
    }
    fn commit_day(&mut self, run_id: &str, batch: &janus_core::DayBatch) -> Result<(), janus_core::StoreError> {
        if batch.day_index == self.day {
            return Err(janus_core::StoreError::Backend { backend: "test", message: "killed".into() });
        }
        self.inner.commit_day(run_id, batch)
    }
    fn finish_run(&mut self, run_id: &str, status: RunStatus) -> Result<(), janus_core::StoreError> {
        self.inner.finish_run(run_id, status)
    }
    fn list_runs(&self) -> Result<Vec<RunMeta>, janus_core::StoreError> {
        self.inner.list_runs()
    }
    fn load_run(&self, run_id: &str) -> Result<RunRecord, janus_core::StoreError> {
        self.inner.load_run(run_id)
    }
}
