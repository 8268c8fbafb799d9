//! A scripted strategy and a runner for scenario tests on tiny hand-written markets.
#![allow(dead_code)]

use janus_core::{Money, OrderType, Portfolio, RunMeta, RunRecord, RunStatus, Side, Store};
use janus_data::Panel;
use janus_engine::strategy::{Decisions, Intent, Strategy, StrategyView};
use janus_engine::{Backtest, EngineConfig};
use janus_store::MemoryStore;
use std::collections::BTreeMap;

/// Places exactly the intents it is given, after the close of the given day index.
#[derive(Clone, Default)]
pub struct Scripted {
    pub script: BTreeMap<usize, Vec<Intent>>,
}

impl Scripted {
    pub fn new(script: Vec<(usize, Intent)>) -> Scripted {
        let mut map: BTreeMap<usize, Vec<Intent>> = BTreeMap::new();
        for (d, i) in script {
            map.entry(d).or_default().push(i);
        }
        Scripted { script: map }
    }
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

/// A panel from CSV rows under `header`.
pub fn panel(header: &str, rows: &str) -> Panel {
    let csv = format!("{header}\n{rows}");
    janus_data::load_csv_reader(csv.as_bytes(), "scenario.csv", &Default::default()).expect("valid scenario csv")
}

/// A market order of `qty` shares (`None`: all sellable, or the sizer's choice).
pub fn market(panel: &Panel, symbol: &str, side: Side, qty: Option<i64>) -> Intent {
    Intent {
        sid: panel.symbol_id(symbol).expect("symbol in panel"),
        side,
        qty,
        order_type: OrderType::Market,
        tag: "script".into(),
    }
}

/// 100,000 CNY, no concentration cap, the whole bar's volume available.
pub fn cfg() -> EngineConfig {
    let mut c = EngineConfig { initial_cash: 100_000.0, ..EngineConfig::default() };
    c.fill.volume_participation = 1.0;
    c.risk.max_position_pct = 1.0;
    c
}

/// Run every day of `panel` and return what the store recorded and the final portfolio.
pub fn run(panel: &Panel, cfg: EngineConfig, strategy: &mut dyn Strategy) -> (RunRecord, Portfolio) {
    let mut store = MemoryStore::new();
    let meta = RunMeta {
        run_id: "t".into(),
        config: String::new(),
        data_source: "scenario".into(),
        status: RunStatus::Running,
    };
    let mut engine = Backtest::new(panel, cfg).expect("valid config");
    let outcome = engine.run(0..panel.n_dates(), strategy, &mut store, &meta, &mut |_, _| {}).expect("run");
    (store.load_run("t").expect("stored run"), outcome.portfolio)
}

pub fn yuan(y: f64) -> Money {
    Money::from_yuan(y)
}

/// A panel with the corporate actions of an events CSV, as the CLI attaches them: actions,
/// the adjustment factor, and limits from the ex-rights reference price.
pub fn panel_with_events(header: &str, rows: &str, events: &str) -> Panel {
    let mut p = panel(header, rows);
    p.actions = janus_data::actions::read_actions(events.as_bytes(), "events.csv", &p).expect("valid events csv");
    p.adj_factor = janus_data::adj_factor_from_actions(&p);
    p.derive_limits(&Default::default());
    p
}
