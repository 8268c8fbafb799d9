//! The friction switches and the frictionless twins: each friction, turned off, lets through
//! exactly what it blocked, and the twins' ladder ends at a run with none of them.

use janus_core::{Money, OrderType, Portfolio, Price, RunMeta, RunStatus, Side};
use janus_data::Panel;
use janus_engine::friction::{run_twins, TallyStore, LADDER};
use janus_engine::strategy::{Decisions, Intent, Strategy, StrategyView};
use janus_engine::{Backtest, EngineConfig, EngineError, Frictions};

/// Buys `qty` of the first symbol after the first close, sells it all after the second.
#[derive(Clone)]
struct BuyThenSell {
    qty: i64,
}

impl Strategy for BuyThenSell {
    fn decide(&mut self, view: &StrategyView<'_>, out: &mut Decisions) {
        let intent = |side, qty| Intent { sid: 0, side, qty, order_type: OrderType::Market, tag: "script".into() };
        match view.history.today() {
            0 => out.buys.push(intent(Side::Buy, Some(self.qty))),
            1 => out.sells.push(intent(Side::Sell, None)),
            _ => {}
        }
        out.max_new_buys = usize::MAX;
    }
}

fn panel(rows: &str) -> Panel {
    let csv = format!("date,symbol,open,high,low,close,volume,paused\n{rows}");
    janus_data::load_csv_reader(csv.as_bytes(), "friction.csv", &Default::default()).expect("valid csv")
}

fn cfg(frictions: Frictions) -> EngineConfig {
    let mut c = EngineConfig { initial_cash: 100_000.0, frictions, ..EngineConfig::default() };
    c.risk.max_position_pct = 1.0;
    c
}

fn run(panel: &Panel, frictions: Frictions, qty: i64) -> (Portfolio, TallyStore) {
    let meta =
        RunMeta { run_id: "t".into(), config: String::new(), data_source: String::new(), status: RunStatus::Running };
    let mut store = TallyStore::default();
    let mut engine = Backtest::new(panel, cfg(frictions)).expect("valid config");
    let out = engine.run(0..panel.n_dates(), &mut BuyThenSell { qty }, &mut store, &meta, &mut |_, _| {}).expect("run");
    (out.portfolio, store)
}

fn all_but(off: impl Fn(&mut Frictions)) -> Frictions {
    let mut f = Frictions::default();
    off(&mut f);
    f
}

fn yuan(y: f64) -> Money {
    Money::from_yuan(y)
}

/// Day 3 opens sealed at limit-down (10.00 -> 9.00): the sell cannot fill there.
const LIMIT_DOWN: &str = "2024-01-02,600000.SH,10.00,10.00,10.00,10.00,100000,0\n\
                          2024-01-03,600000.SH,10.00,10.10,9.95,10.00,100000,0\n\
                          2024-01-04,600000.SH,9.00,9.00,9.00,9.00,100000,0\n";

#[test]
fn without_price_limits_a_sell_fills_at_the_limit_down_open() {
    let p = panel(LIMIT_DOWN);
    let (real, _) = run(&p, Frictions::default(), 1_000);
    assert_eq!(real.positions.values().next().map(|p| p.amount), Some(1_000), "the real sell is refused");
    let (twin, tally) = run(&p, all_but(|f| f.price_limits = false), 1_000);
    assert!(twin.positions.is_empty(), "the twin sold");
    assert_eq!(tally.fills, 2);
    // Bought 1,000 at 10.00 (commission 5, transfer 0.10), sold at 9.00: commission 5, transfer
    // 0.09, stamp duty 0.05% of 9,000 = 4.50.
    assert_eq!(twin.account.available_cash, yuan(100_000.0 - 10_005.10 + 9_000.0 - 5.0 - 0.09 - 4.50));
}

#[test]
fn without_costs_nothing_is_paid_beyond_the_prices() {
    let p = panel(
        "2024-01-02,600000.SH,10.00,10.00,10.00,10.00,100000,0\n\
         2024-01-03,600000.SH,10.00,10.10,9.95,10.00,100000,0\n\
         2024-01-04,600000.SH,10.50,10.60,10.40,10.50,100000,0\n",
    );
    let (twin, _) = run(&p, all_but(|f| f.costs = false), 1_000);
    assert_eq!(twin.account.available_cash, yuan(100_000.0 + 500.0));
    let (real, _) = run(&p, Frictions::default(), 1_000);
    assert_eq!(real.account.available_cash, yuan(100_000.0 + 500.0 - 5.10 - 5.0 - 0.11 - 5.25));
}

#[test]
fn without_suspensions_a_halted_bar_trades_at_its_flat_price_without_a_volume_cap() {
    let p = panel(
        "2024-01-02,600000.SH,10.00,10.00,10.00,10.00,100000,0\n\
         2024-01-03,600000.SH,10.00,10.10,9.95,10.00,100000,0\n\
         2024-01-04,600000.SH,10.00,10.00,10.00,10.00,0,1\n",
    );
    let (real, _) = run(&p, Frictions::default(), 1_000);
    assert_eq!(real.positions.len(), 1, "halted: the real sell waits");
    let (twin, _) = run(&p, all_but(|f| f.suspensions = false), 1_000);
    assert!(twin.positions.is_empty(), "the twin sold on the halted bar");
}

#[test]
fn without_the_volume_cap_an_order_fills_beyond_the_participation_share() {
    // 10% of 5,000 shares is 500: the real buy fills 500 of 2,000.
    let p = panel(
        "2024-01-02,600000.SH,10.00,10.00,10.00,10.00,5000,0\n\
         2024-01-03,600000.SH,10.00,10.10,9.95,10.00,5000,0\n",
    );
    let (real, _) = run(&p, Frictions::default(), 2_000);
    assert_eq!(real.positions.values().next().map(|p| p.amount), Some(500));
    let (twin, _) = run(&p, all_but(|f| f.volume_cap = false), 2_000);
    assert_eq!(twin.positions.values().next().map(|p| p.amount), Some(2_000));
    assert_eq!(twin.positions.values().next().map(|p| p.last_price), Some(Price::from_yuan(10.0)));
}

#[test]
fn without_t_plus_1_shares_bought_are_sellable_the_same_day() {
    let p = panel(
        "2024-01-02,600000.SH,10.00,10.00,10.00,10.00,100000,0\n\
         2024-01-03,600000.SH,10.00,10.10,9.95,10.00,100000,0\n",
    );
    let mut engine = Backtest::new(&p, cfg(all_but(|f| f.t_plus_1 = false))).unwrap();
    let mut strategy = BuyThenSell { qty: 1_000 };
    let mut store = janus_store::MemoryStore::default();
    let meta =
        RunMeta { run_id: "t".into(), config: String::new(), data_source: String::new(), status: RunStatus::Running };
    // Day 1: the buy fills at the open; before the close the shares are already sellable.
    engine.run(0..2, &mut strategy, &mut store, &meta, &mut |_, _| {}).unwrap();
    let pos = engine.portfolio.positions.values().next().unwrap();
    assert_eq!((pos.amount, pos.locked_t1), (1_000, 0));
}

#[test]
fn the_twins_remove_the_frictions_in_ladder_order_and_end_frictionless() {
    let p = panel(LIMIT_DOWN);
    let twins =
        run_twins(&p, &cfg(Frictions::default()), 0..p.n_dates(), || Ok::<_, EngineError>(BuyThenSell { qty: 1_000 }))
            .unwrap();
    let keys: Vec<&str> = twins.iter().map(|t| t.key).collect();
    assert_eq!(keys, LADDER.iter().map(|r| r.key).collect::<Vec<_>>());
    // Costs off: still stuck at limit-down, holding 1,000 marked at 9.00, no fee paid.
    assert_eq!(twins[0].final_value, yuan(100_000.0 - 1_000.0));
    // Limits off too: sold at 9.00 without fees.
    assert_eq!(twins[1].final_value, yuan(100_000.0 - 1_000.0));
    assert_eq!(twins[1].fills, 2);
    assert_eq!(twins.last().map(|t| t.fills), Some(2));
}
