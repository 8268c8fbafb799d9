//! Corporate actions with hand-computed shares and cash: bars at raw prices, holdings adjusted
//! on the ex-date, limits from the ex-rights reference price.

mod common;

use common::{cfg, market, panel, panel_with_events, run, yuan, Scripted};
use janus_core::{DayBatch, Price, RunMeta, RunRecord, RunStatus, Side, Store, StoreError};

const HEADER: &str = "date,symbol,open,high,low,close,volume";

/// 600000.SH closes at 20.00; 2024-01-04 is the ex-date of a 10-for-10 bonus issue (reference
/// 10.00), the stock then trades around 10.
const BONUS_BARS: &str = "2024-01-02,600000.SH,20.00,20.00,20.00,20.00,100000\n\
                          2024-01-03,600000.SH,20.00,20.40,19.80,20.00,100000\n\
                          2024-01-04,600000.SH,10.10,10.50,10.00,10.40,100000\n\
                          2024-01-05,600000.SH,10.40,11.00,10.30,11.00,100000\n";
const BONUS: &str = "symbol,ex_date,bonus_shares\n600000.SH,2024-01-04,1\n";

fn y(p: f64) -> Price {
    Price::from_yuan(p)
}

#[test]
fn a_ten_for_ten_bonus_doubles_the_shares_and_keeps_the_value() {
    let p = panel_with_events(HEADER, BONUS_BARS, BONUS);
    let sid = p.symbol_id("600000.SH").unwrap();
    // Limits on the ex-date come from the reference price 10.00, not the close 20.00.
    assert_eq!((p.limit_up[p.idx(2, sid)].get(), p.limit_down[p.idx(2, sid)].get()), (y(11.00), y(9.00)));
    let (rec, pf) = run(&p, cfg(), &mut Scripted::new(vec![(0, market(&p, "600000.SH", Side::Buy, Some(1_000)))]));
    let pos = pf.positions.values().next().unwrap();
    // Bought 1,000 at 20.00: 20,000 + commission 5 + transfer 0.20.
    assert_eq!((pos.amount, pos.sellable), (2_000, 2_000));
    assert_eq!(pos.cost_basis, yuan(20_005.20));
    assert_eq!(pos.entry_price, y(10.00), "the entry price is restated in the new shares");
    assert_eq!(pos.high_since_entry, y(11.00));
    assert_eq!(pf.account.available_cash, yuan(100_000.0 - 20_005.20));
    // The ex-date is not a loss: 2,000 x 10.40 = 20,800 against 1,000 x 20.00 the day before.
    let values: Vec<_> = rec.account_snapshots.iter().map(|s| s.total_value).collect();
    assert_eq!(values[2] - values[1], yuan(2_000.0 * 10.40 - 1_000.0 * 20.00));
    // One log, for the ex-date, in the stored record.
    let logs: Vec<_> = rec
        .corporate_actions
        .iter()
        .map(|l| (l.date.to_string(), l.symbol.as_str(), l.shares_before, l.bonus_shares, l.reference_price))
        .collect();
    assert_eq!(logs, [("2024-01-04".to_string(), "600000.SH", 1_000, 1_000, y(10.00))]);
}

/// Fails when asked to commit a given day, like a process killed mid-run.
struct DiesAt {
    inner: janus_store::MemoryStore,
    day: u32,
}

impl Store for DiesAt {
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

#[test]
fn a_corporate_action_is_committed_with_its_day_and_a_resumed_run_records_it_once() {
    let p = panel_with_events(HEADER, BONUS_BARS, BONUS);
    let buy = || Scripted::new(vec![(0, market(&p, "600000.SH", Side::Buy, Some(1_000)))]);
    let (whole, _) = run(&p, cfg(), &mut buy());
    assert_eq!(whole.corporate_actions.len(), 1);
    let meta = RunMeta {
        run_id: "t".into(),
        config: String::new(),
        data_source: "scenario".into(),
        status: RunStatus::Running,
    };
    // Killed committing the ex-date (index 2), then after it (index 3): each time the stored
    // record holds the action exactly when it holds its day, and the resumed run equals the
    // uninterrupted one.
    for killed_at in [2, 3] {
        let mut store = DiesAt { inner: janus_store::MemoryStore::new(), day: killed_at };
        let died = janus_engine::Backtest::new(&p, cfg()).unwrap().run(
            0..p.n_dates(),
            &mut buy(),
            &mut store,
            &meta,
            &mut |_, _| {},
        );
        assert!(died.is_err());
        let partial = store.inner.load_run("t").unwrap();
        assert_eq!(partial.corporate_actions.len(), usize::from(killed_at > 2), "killed at {killed_at}");
        let resume = janus_engine::Resume {
            last_day_index: killed_at - 1,
            last_snapshot: partial.account_snapshots.last().unwrap().clone(),
        };
        janus_engine::Backtest::new(&p, cfg())
            .unwrap()
            .run_resumable(0..p.n_dates(), &mut buy(), &mut store.inner, &meta, Some(&resume), &mut |_, _| {})
            .unwrap();
        assert_eq!(store.inner.load_run("t").unwrap(), whole, "killed at {killed_at}");
    }
}

/// A market order of 600000.SH, as the strategy sees the market.
fn intent(view: &janus_engine::StrategyView<'_>, side: Side, qty: Option<i64>) -> janus_engine::Intent {
    let sid = view.history.symbol_id("600000.SH").expect("600000.SH in the market");
    janus_engine::Intent { sid, side, qty, order_type: janus_core::OrderType::Market, tag: "script".into() }
}

/// Buys 1,000 shares after the first close, then sells when the default exit rules say so
/// (stop loss 8%, trailing stop 10%, ...), as the dual-model strategy's sell side does.
struct BuyThenRules;

impl janus_engine::Strategy for BuyThenRules {
    fn decide(&mut self, view: &janus_engine::StrategyView<'_>, out: &mut janus_engine::Decisions) {
        use janus_engine::SellModel;
        let rules = janus_engine::strategy::RuleSellModel { cfg: Default::default() };
        if view.history.today() == 0 {
            out.buys.push(intent(view, Side::Buy, Some(1_000)));
            out.max_new_buys = 1;
        }
        for (&sid, pos) in &view.portfolio.positions {
            let f = janus_engine::features::position_features(&view.history, sid, pos, false);
            let signal = rules.evaluate(&f);
            if signal.probability > 0.5 {
                let mut sell = intent(view, Side::Sell, None);
                sell.tag = signal.reason.into();
                out.sells.push(sell);
            }
        }
    }
}

#[test]
fn without_the_action_a_bonus_issue_is_a_fake_loss_that_fires_the_stop_loss() {
    // Raw bars alone: the ex-date looks like -48%, the stop loss sells the next morning.
    let raw = panel(HEADER, BONUS_BARS);
    let (rec, _) = run(&raw, cfg(), &mut BuyThenRules);
    let sold: Vec<_> = rec.orders.iter().filter(|o| o.side == Side::Sell).map(|o| o.tag.as_str()).collect();
    assert_eq!(sold, ["stop_loss"]);
    // With the action the holding is up 4% on the ex-date and nothing is sold.
    let adjusted = panel_with_events(HEADER, BONUS_BARS, BONUS);
    let (rec, pf) = run(&adjusted, cfg(), &mut BuyThenRules);
    assert!(rec.orders.iter().all(|o| o.side == Side::Buy), "{:?}", rec.orders);
    assert_eq!(pf.positions.values().next().map(|p| p.amount), Some(2_000));
}

#[test]
fn a_sell_of_the_whole_holding_placed_before_the_ex_date_sells_the_new_shares_too() {
    let p = panel_with_events(HEADER, BONUS_BARS, BONUS);
    let script =
        vec![(0, market(&p, "600000.SH", Side::Buy, Some(1_000))), (1, market(&p, "600000.SH", Side::Sell, None))];
    let (rec, pf) = run(&p, cfg(), &mut Scripted::new(script));
    let sell = rec.executions.iter().find(|f| f.side == Side::Sell).unwrap();
    assert_eq!((sell.quantity, sell.price), (2_000, y(10.10)));
    assert!(pf.positions.is_empty());
    // Sold 2,000 at 10.10 = 20,200: commission 5.05, transfer 0.20, stamp duty 0.05% = 10.10.
    assert_eq!(pf.account.available_cash, yuan(100_000.0 - 20_005.20 + 20_200.0 - 5.05 - 0.20 - 10.10));
}

const DIVIDEND_BARS: &str = "2024-01-02,600000.SH,10.00,10.00,10.00,10.00,100000\n\
                             2024-01-03,600000.SH,10.00,10.10,9.90,10.00,100000\n\
                             2024-01-04,600000.SH,9.50,9.60,9.40,9.55,100000\n";

#[test]
fn a_cash_dividend_is_paid_net_of_the_differentiated_tax_and_lowers_the_cost() {
    let events = "symbol,ex_date,cash_dividend\n600000.SH,2024-01-04,0.5\n";
    let p = panel_with_events(HEADER, DIVIDEND_BARS, events);
    let sid = p.symbol_id("600000.SH").unwrap();
    // Reference 10.00 - 0.50 = 9.50: limits 10.45 / 8.55.
    assert_eq!((p.limit_up[p.idx(2, sid)].get(), p.limit_down[p.idx(2, sid)].get()), (y(10.45), y(8.55)));
    let buy = || Scripted::new(vec![(0, market(&p, "600000.SH", Side::Buy, Some(1_000)))]);
    let (rec, pf) = run(&p, cfg(), &mut buy());
    // 1,000 x 0.50 = 500 gross; held 1 day: 20% tax = 100; 400 paid.
    assert_eq!(pf.account.available_cash, yuan(100_000.0 - 10_005.10 + 400.0));
    let log = &rec.corporate_actions[..];
    assert_eq!((log.len(), log[0].dividend, log[0].dividend_tax), (1, yuan(500.0), yuan(100.0)));
    let pos = pf.positions.values().next().unwrap();
    assert_eq!((pos.amount, pos.cost_basis, pos.entry_price), (1_000, yuan(10_005.10 - 400.0), y(9.50)));

    // A fund pays no dividend tax.
    let mut flat = cfg();
    flat.corporate_actions.dividend_tax = "flat".into();
    let (_, pf) = run(&p, flat, &mut buy());
    assert_eq!(pf.account.available_cash, yuan(100_000.0 - 10_005.10 + 500.0));
}

#[test]
fn rights_are_subscribed_with_cash_and_sell_from_the_next_day() {
    // 10 配 3 at 8.00: reference (10.00 + 0.3 x 8.00) / 1.3 = 9.538.. -> 9.54.
    let events = "symbol,ex_date,rights_shares,rights_price\n600000.SH,2024-01-04,0.3,8.00\n";
    let p = panel_with_events(HEADER, DIVIDEND_BARS, events);
    let (rec, pf) = run(&p, cfg(), &mut Scripted::new(vec![(0, market(&p, "600000.SH", Side::Buy, Some(1_000)))]));
    let pos = pf.positions.values().next().unwrap();
    assert_eq!((pos.amount, pos.sellable, pos.locked_t1), (1_300, 1_300, 0), "released at the ex-date's close");
    let log = &rec.corporate_actions[0];
    assert_eq!((log.rights_shares, log.rights_paid, log.reference_price), (300, yuan(2_400.0), y(9.54)));
    assert_eq!(pos.cost_basis, yuan(10_005.10 + 2_400.0));
    assert_eq!(pf.account.available_cash, yuan(100_000.0 - 10_005.10 - 2_400.0));

    let mut decline = cfg();
    decline.corporate_actions.rights = "decline".into();
    let (_, pf) = run(&p, decline, &mut Scripted::new(vec![(0, market(&p, "600000.SH", Side::Buy, Some(1_000)))]));
    assert_eq!(pf.positions.values().next().map(|p| p.amount), Some(1_000));
}

#[test]
fn an_adjustment_factor_alone_gives_the_same_holding_as_the_events_file() {
    let mut p = panel(HEADER, BONUS_BARS);
    p.adj_factor = vec![1.0, 1.0, 2.0, 2.0];
    p.actions = janus_data::actions_from_adj_factor(&p);
    p.derive_limits(&Default::default());
    let (_, pf) = run(&p, cfg(), &mut Scripted::new(vec![(0, market(&p, "600000.SH", Side::Buy, Some(1_000)))]));
    let exact = panel_with_events(HEADER, BONUS_BARS, BONUS);
    let (_, want) =
        run(&exact, cfg(), &mut Scripted::new(vec![(0, market(&exact, "600000.SH", Side::Buy, Some(1_000)))]));
    assert_eq!(pf, want);
}
