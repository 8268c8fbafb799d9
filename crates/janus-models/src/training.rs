//! Training data for the next sell model (and buy model), from what a run saw.
//!
//! A [`Recorder`] wraps the run's strategy and writes down, every decision day, each held
//! position's [`POSITION_FEATURES`] exactly as the sell model saw them, and whether the
//! strategy asked to sell it. [`sell_dataset`] then joins what happened next, from the bars
//! and from the run's round trips:
//!
//! | column | meaning |
//! |---|---|
//! | `date`, `symbol`, `entry_date` | the position and the decision day *t* (features known after *t*'s close) |
//! | the [`POSITION_FEATURES`] | as the sell model saw them |
//! | `sell_signal` | 1 when the strategy asked to sell after *t*'s close |
//! | `fwd_ret_1d`, `fwd_ret_5d`, `fwd_ret_10d` | close *k* trading days later over *t*'s close, minus 1 (a suspended symbol keeps its last close; NaN past the data) |
//! | `cannot_sell_next_day` | 1 when a sell decided after *t*'s close could not fill on *t + 1*: suspended, closed at limit-down (when the risk rules refuse that), or refused by the market at the fill (suspended, limit-down) |
//! | `exit_ret` | return of the round trip this day belongs to, fees included (`pnl / cost`) |
//! | `hold_ret_to_exit` | the round trip's average exit price over *t*'s close, minus 1: what holding on from *t* earned |
//! | `sell_beats_exit` | 1 when *t*'s close is above the eventual exit price (selling that day would have beaten the exit) |
//! | `days_to_exit` | trading days from *t* to the exit |
//! | `trip_closed` | 1 when the round trip was closed within the run; 0 when still open at the end (its exit labels use the last close) |
//! | `exit_reason` | tag of the order that closed the trip (`trailing_stop`, `sell_model`, ...), or `open` |
//!
//! [`buy_dataset`] gives, per trading day and tradable symbol, the [`SYMBOL_FEATURES`], the
//! same forward returns, and `buy_candidate` (1 when the buy model offered it that day).

use crate::table::{Column, Table};
use chrono::NaiveDate;
use janus_core::{Order, OrderId, OrderType, RiskReason, Side, SymbolId};
use janus_data::{History, Panel};
use janus_engine::features::{position_features, symbol_features, N_POSITION, POSITION_FEATURES, SYMBOL_FEATURES};
use janus_engine::matcher::match_order;
use janus_engine::{Decisions, EngineConfig, Strategy, StrategyView};
use std::collections::{BTreeSet, HashMap};

/// One held position on one decision day.
#[derive(Clone, Debug, PartialEq)]
pub struct PositionDay {
    pub day: u32,
    pub sid: SymbolId,
    pub entry_date: NaiveDate,
    pub features: [f64; N_POSITION],
    /// The strategy asked to sell it after this day's close.
    pub sell_signal: bool,
}

/// Wraps a strategy and records what its sell model saw, and the buy model's candidates.
pub struct Recorder<S> {
    pub inner: S,
    pub positions: Vec<PositionDay>,
    /// `(day, symbol)` of every buy candidate the strategy offered.
    pub buy_candidates: BTreeSet<(u32, SymbolId)>,
}

impl<S> Recorder<S> {
    pub fn new(inner: S) -> Recorder<S> {
        Recorder { inner, positions: Vec::new(), buy_candidates: BTreeSet::new() }
    }
}

impl<S: Strategy> Strategy for Recorder<S> {
    fn decide(&mut self, view: &StrategyView<'_>, out: &mut Decisions) {
        let start = self.positions.len();
        let day = view.history.today() as u32;
        for (&sid, pos) in &view.portfolio.positions {
            self.positions.push(PositionDay {
                day,
                sid,
                entry_date: pos.entry_date,
                features: position_features(&view.history, sid, pos, view.refused_sell[sid as usize]),
                sell_signal: false,
            });
        }
        self.inner.decide(view, out);
        for s in &out.sells {
            if let Some(row) = self.positions[start..].iter_mut().find(|r| r.sid == s.sid) {
                row.sell_signal = true;
            }
        }
        self.buy_candidates.extend(out.buys.iter().map(|b| (day, b.sid)));
    }
}

/// A round trip, as the run's report computed it.
#[derive(Clone, Debug, PartialEq)]
pub struct Trip {
    pub symbol: String,
    pub entry_date: NaiveDate,
    /// `None` when still open at the end of the run.
    pub exit_date: Option<NaiveDate>,
    /// `pnl / cost`, fees included.
    pub ret: f64,
    /// Average exit price (the last close for an open trip).
    pub exit_price: f64,
    pub exit_reason: String,
}

/// Forward return horizons, in trading days.
pub const HORIZONS: [usize; 3] = [1, 5, 10];

fn close_at(panel: &Panel, day: usize, sid: SymbolId) -> Option<f64> {
    let i = panel.idx(day, sid);
    (panel.is_present(day, sid) && panel.close[i].is_positive()).then(|| panel.adj_close(i))
}

/// Close `k` trading days after `day` over `day`'s close, minus 1. A symbol without a bar on
/// the later day keeps its last close before it; NaN past the end of the data.
pub fn forward_return(panel: &Panel, day: usize, sid: SymbolId, k: usize) -> f64 {
    let Some(base) = close_at(panel, day, sid) else { return f64::NAN };
    if day + k >= panel.n_dates() {
        return f64::NAN;
    }
    let later = (day + 1..=day + k).rev().find_map(|d| close_at(panel, d, sid)).unwrap_or(base);
    later / base - 1.0
}

/// Could a market sell decided after `day`'s close not be filled on `day + 1`? NaN on the
/// last day of the data.
pub fn cannot_sell_next_day(panel: &Panel, day: usize, sid: SymbolId, cfg: &EngineConfig) -> f64 {
    if day + 1 >= panel.n_dates() {
        return f64::NAN;
    }
    let i = panel.idx(day, sid);
    let closed_at_limit_down = panel.limit_down[i].is_positive() && panel.close[i] == panel.limit_down[i];
    if !panel.is_tradable(day, sid) || (cfg.risk.reject_at_limit_close && closed_at_limit_down) {
        return 1.0;
    }
    let lot = cfg.market.lot_rules().board(panel.boards[sid as usize]);
    let order = Order::new(
        OrderId(0),
        panel.symbols[sid as usize].clone(),
        Side::Sell,
        OrderType::Market,
        lot.min,
        panel.dates[day],
    );
    let outcome = match_order(&order, sid, panel, day + 1, &cfg.fill, &cfg.frictions, lot.step, 0);
    match outcome.refusal {
        Some((RiskReason::MarketSuspended | RiskReason::MarketLimitDown, _)) => 1.0,
        _ => 0.0,
    }
}

fn bool01(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// The sell-side dataset: one row per position per decision day (see the module table).
pub fn sell_dataset(panel: &Panel, rows: &[PositionDay], trips: &[Trip], cfg: &EngineConfig) -> Table {
    // Trips by symbol, in entry order, to find the one a position-day belongs to.
    let mut by_symbol: HashMap<&str, Vec<&Trip>> = HashMap::new();
    for t in trips {
        by_symbol.entry(t.symbol.as_str()).or_default().push(t);
    }
    let n = rows.len();
    let mut date = Vec::with_capacity(n);
    let mut symbol = Vec::with_capacity(n);
    let mut entry = Vec::with_capacity(n);
    let mut feats: Vec<Vec<f64>> = (0..N_POSITION).map(|_| Vec::with_capacity(n)).collect();
    let mut sell_signal = Vec::with_capacity(n);
    let mut fwd: Vec<Vec<f64>> = (0..HORIZONS.len()).map(|_| Vec::with_capacity(n)).collect();
    let (mut cannot, mut exit_ret, mut hold_ret, mut beats, mut to_exit, mut closed, mut reason) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in rows {
        let day = r.day as usize;
        let d = panel.dates[day];
        let sym = panel.symbols[r.sid as usize].as_str();
        date.push(d);
        symbol.push(sym.to_string());
        entry.push(r.entry_date);
        for (j, f) in r.features.iter().enumerate() {
            feats[j].push(*f);
        }
        sell_signal.push(bool01(r.sell_signal));
        for (h, k) in HORIZONS.iter().enumerate() {
            fwd[h].push(forward_return(panel, day, r.sid, *k));
        }
        cannot.push(cannot_sell_next_day(panel, day, r.sid, cfg));
        let trip = by_symbol.get(sym).and_then(|ts| {
            ts.iter().rev().find(|t| t.entry_date <= d && !matches!(t.exit_date, Some(x) if x < d)).copied()
        });
        let close = close_at(panel, day, r.sid).unwrap_or(f64::NAN);
        match trip {
            Some(t) => {
                exit_ret.push(t.ret);
                let hold = t.exit_price / close - 1.0;
                hold_ret.push(hold);
                beats.push(if hold.is_nan() { f64::NAN } else { bool01(close > t.exit_price) });
                let exit_day = t.exit_date.map_or(panel.n_dates() - 1, |x| panel.dates.partition_point(|p| *p < x));
                to_exit.push(exit_day.saturating_sub(day) as f64);
                closed.push(bool01(t.exit_date.is_some()));
                reason.push(t.exit_reason.clone());
            }
            None => {
                for v in [&mut exit_ret, &mut hold_ret, &mut beats, &mut to_exit, &mut closed] {
                    v.push(f64::NAN);
                }
                reason.push(String::new());
            }
        }
    }
    let mut t = Table::default();
    t.push("date", Column::Date(date));
    t.push("symbol", Column::Str(symbol));
    t.push("entry_date", Column::Date(entry));
    for (name, v) in POSITION_FEATURES.iter().zip(feats) {
        t.push(name, Column::F64(v));
    }
    t.push("sell_signal", Column::F64(sell_signal));
    for (k, v) in HORIZONS.iter().zip(fwd) {
        t.push(&format!("fwd_ret_{k}d"), Column::F64(v));
    }
    t.push("cannot_sell_next_day", Column::F64(cannot));
    t.push("exit_ret", Column::F64(exit_ret));
    t.push("hold_ret_to_exit", Column::F64(hold_ret));
    t.push("sell_beats_exit", Column::F64(beats));
    t.push("days_to_exit", Column::F64(to_exit));
    t.push("trip_closed", Column::F64(closed));
    t.push("exit_reason", Column::Str(reason));
    t
}

/// The buy-side dataset: one row per decision day in `days` and symbol that could trade
/// that day (see the module docs).
pub fn buy_dataset(panel: &Panel, days: std::ops::Range<usize>, candidates: &BTreeSet<(u32, SymbolId)>) -> Table {
    let mut date = Vec::new();
    let mut symbol = Vec::new();
    let mut feats: Vec<Vec<f64>> = vec![Vec::new(); SYMBOL_FEATURES.len()];
    let mut fwd: Vec<Vec<f64>> = vec![Vec::new(); HORIZONS.len()];
    let mut cand = Vec::new();
    for day in days {
        for sid in 0..panel.n_symbols() as SymbolId {
            if !panel.is_tradable(day, sid) {
                continue;
            }
            date.push(panel.dates[day]);
            symbol.push(panel.symbols[sid as usize].clone());
            for (j, f) in symbol_features(&History::new(panel, day), sid).iter().enumerate() {
                feats[j].push(*f);
            }
            for (h, k) in HORIZONS.iter().enumerate() {
                fwd[h].push(forward_return(panel, day, sid, *k));
            }
            cand.push(bool01(candidates.contains(&(day as u32, sid))));
        }
    }
    let mut t = Table::default();
    t.push("date", Column::Date(date));
    t.push("symbol", Column::Str(symbol));
    for (name, v) in SYMBOL_FEATURES.iter().zip(feats) {
        t.push(name, Column::F64(v));
    }
    for (k, v) in HORIZONS.iter().zip(fwd) {
        t.push(&format!("fwd_ret_{k}d"), Column::F64(v));
    }
    t.push("buy_candidate", Column::F64(cand));
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A main-board stock that closes at limit-down on day 2 and is suspended on day 4.
    const BARS: &str = "date,symbol,open,high,low,close,volume\n\
        2024-01-02,600000.SH,10.00,10.00,10.00,10.00,1000\n\
        2024-01-03,600000.SH,10.00,10.50,10.00,10.50,1000\n\
        2024-01-04,600000.SH,10.00,10.00,9.45,9.45,1000\n\
        2024-01-05,600000.SH,9.45,9.80,9.45,9.80,1000\n\
        2024-01-08,600000.SH,9.80,9.80,9.80,9.80,0\n\
        2024-01-09,600000.SH,9.90,10.20,9.90,10.20,1000\n";

    fn panel() -> Panel {
        janus_data::load_csv_reader(BARS.as_bytes(), "bars.csv", &Default::default()).unwrap()
    }

    #[test]
    fn forward_returns_skip_nothing_and_end_with_the_data() {
        let p = panel();
        assert!((forward_return(&p, 0, 0, 1) - 0.05).abs() < 1e-12);
        assert!((forward_return(&p, 0, 0, 5) - (10.20 / 10.00 - 1.0)).abs() < 1e-12);
        assert!((forward_return(&p, 1, 0, 4) - (10.20 / 10.50 - 1.0)).abs() < 1e-12);
        assert!(forward_return(&p, 1, 0, 5).is_nan(), "past the data");
        assert!(forward_return(&p, 5, 0, 1).is_nan(), "last day");
    }

    #[test]
    fn a_limit_down_close_or_a_suspension_the_next_day_means_cannot_sell() {
        let p = panel();
        let cfg = EngineConfig::default();
        assert_eq!(cannot_sell_next_day(&p, 0, 0, &cfg), 0.0);
        assert_eq!(cannot_sell_next_day(&p, 1, 0, &cfg), 0.0, "day 2 opens at 10.00, above limit-down 9.45");
        assert_eq!(cannot_sell_next_day(&p, 2, 0, &cfg), 0.0, "day 3 opens at 9.45, the limit-down is 8.51");
        assert_eq!(cannot_sell_next_day(&p, 3, 0, &cfg), 1.0, "suspended on day 4");
        assert_eq!(cannot_sell_next_day(&p, 4, 0, &cfg), 1.0, "suspended at the decision close");
        assert!(cannot_sell_next_day(&p, 5, 0, &cfg).is_nan());
        let strict = EngineConfig {
            risk: janus_engine::RiskConfig { reject_at_limit_close: true, ..Default::default() },
            ..Default::default()
        };
        assert_eq!(cannot_sell_next_day(&p, 2, 0, &strict), 1.0, "closed at limit-down: refused before the fill");
    }

    #[test]
    fn each_position_day_gets_the_labels_of_its_round_trip() {
        let p = panel();
        let d = |i: usize| p.dates[i];
        let mut features = [0.0; N_POSITION];
        features[0] = 0.05;
        let rows: Vec<PositionDay> =
            (1..=3).map(|day| PositionDay { day, sid: 0, entry_date: d(1), features, sell_signal: day == 3 }).collect();
        let trips = vec![Trip {
            symbol: "600000.SH".into(),
            entry_date: d(1),
            exit_date: Some(d(5)),
            ret: -0.02,
            exit_price: 9.90,
            exit_reason: "sell_model".into(),
        }];
        let t = sell_dataset(&p, &rows, &trips, &EngineConfig::default());
        assert_eq!(t.n_rows(), 3);
        let col = |name: &str| match t.column(name).unwrap() {
            Column::F64(v) => v.clone(),
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(col("exit_ret"), vec![-0.02; 3]);
        assert_eq!(col("sell_beats_exit"), vec![1.0, 0.0, 0.0], "10.50 > 9.90; 9.45 and 9.80 are not");
        assert_eq!(col("days_to_exit"), vec![4.0, 3.0, 2.0]);
        assert_eq!(col("cannot_sell_next_day"), vec![0.0, 0.0, 1.0], "day 2's limit-down close no longer refuses");
        assert_eq!(col("sell_signal"), vec![0.0, 0.0, 1.0]);
        assert_eq!(col("ret_since_entry"), vec![0.05; 3]);
        assert!((col("hold_ret_to_exit")[0] - (9.90 / 10.50 - 1.0)).abs() < 1e-12);
        assert_eq!(col("trip_closed"), vec![1.0; 3]);
    }
}
