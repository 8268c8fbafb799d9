//! Run metrics: the equity curve, the round trips and the refusals condensed into one value.
//!
//! Daily returns start from the initial cash (the first day's return is against it), and the
//! drawdown peak starts there too, so a loss on the first day counts. A year is
//! [`TRADING_DAYS_PER_YEAR`] trading days. The return statistics are empyrical's definitions
//! ([`crate::stats`]). Anything undefined is `None` (JSON `null`), never NaN.

use crate::analytics::{
    gave_back, refused_sell_totals, refused_sells, RefusedSellTotals, GAVE_BACK_BELOW, GAVE_BACK_UP,
};
use crate::benchmark::Benchmark;
pub use crate::drawdown::drawdowns;
use crate::drawdown::max_drawdown;
use crate::stats;
use crate::trades::RoundTrip;
use chrono::NaiveDate;
use janus_core::{Money, OrderId, RunRecord};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Trading days per year for annualizing.
pub const TRADING_DAYS_PER_YEAR: f64 = 252.0;

/// What a run achieved, as written to `metrics.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// First trading day with a snapshot.
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    /// Number of account snapshots (one per trading day).
    pub trading_days: u32,
    /// Exact decimal yuan.
    pub initial_cash: String,
    /// Last total value (the initial cash when nothing was recorded), exact decimal yuan.
    pub final_value: String,
    /// `final / initial - 1`.
    pub total_return: Option<f64>,
    /// Geometric: `(1 + total_return)^(252 / trading_days) - 1`.
    pub annualized_return: Option<f64>,
    /// Sample standard deviation of daily returns times `sqrt(252)`; needs two days.
    pub annualized_volatility: Option<f64>,
    /// Mean over sample standard deviation of daily returns times `sqrt(252)`, risk-free 0;
    /// undefined when the returns do not vary.
    pub sharpe: Option<f64>,
    /// Annualized mean daily return over the annualized downside deviation (root mean square of
    /// the negative daily returns over all days); undefined without a losing day.
    #[serde(default)]
    pub sortino: Option<f64>,
    /// Annualized return over the maximum drawdown; undefined without a drawdown.
    #[serde(default)]
    pub calmar: Option<f64>,
    /// Largest fall of total value from a previous peak, as a positive fraction.
    pub max_drawdown: f64,
    /// Date of the peak before the largest fall (the start date when the peak was the initial
    /// cash).
    pub max_drawdown_start: Option<NaiveDate>,
    /// Date of the trough of the largest fall.
    pub max_drawdown_end: Option<NaiveDate>,
    /// First day back at the peak after the largest fall; `None` if it never recovered.
    #[serde(default)]
    pub max_drawdown_recovery: Option<NaiveDate>,
    /// Trading days from the peak before the largest fall to its recovery (to the last day when
    /// it never recovered); a peak at the initial cash counts as the day before the first.
    #[serde(default)]
    pub max_drawdown_days: u32,
    /// Trading days from the peak before the largest fall to its trough (counted like
    /// `max_drawdown_days`); 0 without a drawdown.
    #[serde(default)]
    pub max_drawdown_peak_to_trough_days: u32,
    /// Trading days from the trough of the largest fall to the first day back at the peak;
    /// `None` when it never recovered (or there was no drawdown). When recovered,
    /// `peak_to_trough + trough_to_recovery = max_drawdown_days`.
    #[serde(default)]
    pub max_drawdown_recovery_days: Option<u32>,
    /// Closed round trips.
    pub round_trips: u64,
    /// Round trips still open at the end.
    pub open_positions_at_end: u64,
    /// Closed trips with `pnl > 0` over closed trips.
    pub win_rate: Option<f64>,
    /// Average winning P&L over average absolute losing P&L; `None` without both kinds.
    pub profit_loss_ratio: Option<f64>,
    /// Mean P&L of a closed round trip in CNY: win rate times average win minus loss rate times
    /// average loss.
    #[serde(default)]
    pub expectancy: Option<f64>,
    /// Mean return of a closed round trip.
    #[serde(default)]
    pub avg_trade_return: Option<f64>,
    /// Mean trading days held of the closed round trips.
    #[serde(default)]
    pub avg_holding_days: Option<f64>,
    /// Round trips (closed, or open and marked at the end) that were up at least
    /// `gave_back_up` at some close and ended below `gave_back_below`.
    #[serde(default)]
    pub gave_back_trades: u64,
    #[serde(default)]
    pub gave_back_up: f64,
    #[serde(default)]
    pub gave_back_below: f64,
    /// Annualized: traded notional / 2 / average total value / years.
    pub turnover: Option<f64>,
    pub total_commission: String,
    pub total_taxes: String,
    /// Commission plus taxes.
    pub total_fees: String,
    /// Distinct orders.
    pub n_orders: u64,
    pub n_fills: u64,
    /// Every refusal (pre-trade and at the fill) by reason code.
    pub risk_rejections: BTreeMap<String, u64>,
    /// Refusals by the pre-trade risk checks.
    pub pre_trade_rejections: u64,
    /// Refusals by the market at the fill point.
    pub market_refusals: u64,
    /// Sells the market refused or the T+1 rule delayed: episodes, days stuck, cost of waiting.
    #[serde(default)]
    pub refused_sells: RefusedSellTotals,
    /// The run against its benchmark; `None` when no benchmark was given.
    #[serde(default)]
    pub benchmark: Option<BenchmarkMetrics>,
    /// The return lost to each market friction, from the run's frictionless twins (see
    /// [`crate::friction`]); absent when the twins were not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub friction: Option<crate::friction::FrictionAttribution>,
}

/// How the run did against a benchmark over the same days.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchmarkMetrics {
    /// What the benchmark is (`equal-weight market` or a file name).
    pub name: String,
    /// Compounded benchmark return over the run's days.
    pub total_return: Option<f64>,
    pub annualized_return: Option<f64>,
    /// Run total return minus benchmark total return.
    pub excess_return: Option<f64>,
    /// Run annualized return minus benchmark annualized return.
    pub excess_annualized_return: Option<f64>,
    /// Annualized alpha (empyrical's): `(1 + mean(r - beta * b))^252 - 1`.
    pub alpha: Option<f64>,
    /// Population covariance with the benchmark over its population variance.
    pub beta: Option<f64>,
}

impl Metrics {
    /// Add the comparison with `benchmark` (aligned to the run's days) to the metrics of a run.
    pub fn with_benchmark(mut self, record: &RunRecord, initial_cash: Money, benchmark: Option<&Benchmark>) -> Metrics {
        self.benchmark = benchmark.map(|b| benchmark_metrics(record, initial_cash, b, &self));
        self
    }
}

fn benchmark_metrics(record: &RunRecord, initial_cash: Money, b: &Benchmark, m: &Metrics) -> BenchmarkMetrics {
    let dates: Vec<NaiveDate> = record.account_snapshots.iter().map(|s| s.date).collect();
    let bench = b.aligned(&dates);
    let returns = daily_returns(record, initial_cash);
    let total_return = stats::cum_return(&bench);
    let annualized_return = stats::annual_return(&bench);
    let diff = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a - b);
    BenchmarkMetrics {
        name: b.name.clone(),
        total_return,
        annualized_return,
        excess_return: diff(m.total_return, total_return),
        excess_annualized_return: diff(m.annualized_return, annualized_return),
        alpha: stats::alpha(&returns, &bench),
        beta: stats::beta(&returns, &bench),
    }
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// Return of each snapshot's total value against the previous one (the first against the
/// initial cash); 0 where the previous value is not positive.
pub fn daily_returns(record: &RunRecord, initial_cash: Money) -> Vec<f64> {
    let mut prev = initial_cash;
    record
        .account_snapshots
        .iter()
        .map(|s| {
            let r = if prev.0 > 0 { s.total_value.as_f64() / prev.as_f64() - 1.0 } else { 0.0 };
            prev = s.total_value;
            r
        })
        .collect()
}

/// Condense a run into its metrics. `trips` should come from [`crate::round_trips`] on the
/// same record.
pub fn compute_metrics(record: &RunRecord, initial_cash: Money, trips: &[RoundTrip]) -> Metrics {
    let snaps = &record.account_snapshots;
    let n = snaps.len();
    let final_value = snaps.last().map_or(initial_cash, |s| s.total_value);

    let total_return =
        if n > 0 && initial_cash.0 > 0 { finite(final_value.as_f64() / initial_cash.as_f64() - 1.0) } else { None };
    let years = n as f64 / TRADING_DAYS_PER_YEAR;
    let annualized_return = total_return.and_then(|tr| finite((1.0 + tr).powf(1.0 / years) - 1.0));

    let returns = daily_returns(record, initial_cash);
    let annualized_volatility = stats::annual_volatility(&returns);
    let sharpe = stats::sharpe_ratio(&returns);
    let sortino = stats::sortino_ratio(&returns);

    let dd = max_drawdown(record, initial_cash);
    let calmar = annualized_return.filter(|_| dd.max > 0.0).and_then(|r| finite(r / dd.max));

    let closed: Vec<&RoundTrip> = trips.iter().filter(|t| t.is_closed()).collect();
    let wins: Vec<f64> = closed.iter().filter(|t| t.pnl.0 > 0).map(|t| t.pnl.as_f64()).collect();
    let losses: Vec<f64> = closed.iter().filter(|t| t.pnl.0 < 0).map(|t| -t.pnl.as_f64()).collect();
    let win_rate = (!closed.is_empty()).then(|| wins.len() as f64 / closed.len() as f64);
    let avg = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
    let profit_loss_ratio = if wins.is_empty() || losses.is_empty() { None } else { finite(avg(&wins) / avg(&losses)) };
    let mean_of = |f: &dyn Fn(&RoundTrip) -> f64| {
        (!closed.is_empty()).then(|| closed.iter().map(|t| f(t)).sum::<f64>() / closed.len() as f64).and_then(finite)
    };
    let expectancy = mean_of(&|t| t.pnl.as_f64());
    let avg_trade_return = mean_of(&|t| t.ret);
    let avg_holding_days = mean_of(&|t| t.days_held as f64);

    let traded: Money = record.executions.iter().map(|f| f.price.notional(f.quantity)).sum();
    let turnover = if n > 0 {
        let avg_value = snaps.iter().map(|s| s.total_value.as_f64()).sum::<f64>() / n as f64;
        (avg_value > 0.0).then(|| traded.as_f64() / 2.0 / avg_value / years).and_then(finite)
    } else {
        None
    };

    let commission: Money = record.executions.iter().map(|f| f.commission).sum();
    let taxes: Money = record.executions.iter().map(|f| f.taxes).sum();
    let n_orders = record.orders.iter().map(|o| o.id).collect::<BTreeSet<OrderId>>().len();

    let mut risk_rejections: BTreeMap<String, u64> = BTreeMap::new();
    let mut market_refusals = 0u64;
    for e in &record.risk_events {
        *risk_rejections.entry(e.reason.code().to_string()).or_default() += 1;
        market_refusals += e.reason.is_market() as u64;
    }

    Metrics {
        start_date: snaps.first().map(|s| s.date),
        end_date: snaps.last().map(|s| s.date),
        trading_days: n as u32,
        initial_cash: initial_cash.to_string(),
        final_value: final_value.to_string(),
        total_return,
        annualized_return,
        annualized_volatility,
        sharpe,
        sortino,
        calmar,
        max_drawdown: dd.max,
        max_drawdown_start: dd.start,
        max_drawdown_end: dd.end,
        max_drawdown_recovery: dd.recovery,
        max_drawdown_days: dd.days,
        max_drawdown_peak_to_trough_days: dd.peak_to_trough,
        max_drawdown_recovery_days: dd.recovery_days,
        round_trips: closed.len() as u64,
        open_positions_at_end: (trips.len() - closed.len()) as u64,
        win_rate,
        profit_loss_ratio,
        expectancy,
        avg_trade_return,
        avg_holding_days,
        gave_back_trades: gave_back(trips, GAVE_BACK_UP, GAVE_BACK_BELOW).len() as u64,
        gave_back_up: GAVE_BACK_UP,
        gave_back_below: GAVE_BACK_BELOW,
        turnover,
        total_commission: commission.to_string(),
        total_taxes: taxes.to_string(),
        total_fees: (commission + taxes).to_string(),
        n_orders: n_orders as u64,
        n_fills: record.executions.len() as u64,
        pre_trade_rejections: record.risk_events.len() as u64 - market_refusals,
        risk_rejections,
        market_refusals,
        refused_sells: refused_sell_totals(&refused_sells(record)),
        benchmark: None,
        friction: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use janus_core::{AccountSnapshot, ExecutionLog, OrderId, Price, RiskEvent, RiskReason, Side};

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 3, day).unwrap()
    }

    fn snap(day: u32, total: Money) -> AccountSnapshot {
        AccountSnapshot {
            date: d(day),
            total_value: total,
            cash: total,
            frozen_cash: Money::ZERO,
            market_value: Money::ZERO,
            peak_value: total,
            drawdown: 0.0,
        }
    }

    fn trip(pnl_yuan: i64, closed: bool) -> RoundTrip {
        RoundTrip {
            symbol: "X".into(),
            entry_date: d(4),
            exit_date: closed.then(|| d(5)),
            entry_price: 10.0,
            exit_price: 10.0,
            quantity: 100,
            cost: Money(10_000_000),
            proceeds: Money(10_000_000 + pnl_yuan * 10_000),
            pnl: Money(pnl_yuan * 10_000),
            ret: 0.0,
            days_held: 1,
            exit_reason: if closed { "sell_model".into() } else { "open".into() },
            fees: Money::ZERO,
            mfe: 0.0,
            mae: 0.0,
            giveback: 0.0,
            exit_kind: if closed { crate::ExitKind::SellModel } else { crate::ExitKind::EndOfRun },
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    /// Initial 100_000; +2%, -2%, +5%, -10%.
    fn hand_series() -> RunRecord {
        RunRecord {
            account_snapshots: vec![
                snap(4, Money(1_020_000_000)),
                snap(5, Money(999_600_000)),
                snap(6, Money(1_049_580_000)),
                snap(7, Money(944_622_000)),
            ],
            ..RunRecord::default()
        }
    }

    #[test]
    fn equity_metrics_match_a_hand_computed_series() {
        let record = hand_series();
        let m = compute_metrics(&record, Money(1_000_000_000), &[]);
        assert_eq!(m.initial_cash, "100000.0000");
        assert_eq!(m.final_value, "94462.2000");
        assert_eq!(m.trading_days, 4);
        assert_eq!((m.start_date, m.end_date), (Some(d(4)), Some(d(7))));
        assert!(close(m.total_return.unwrap(), -0.055378));
        assert!(close(m.annualized_return.unwrap(), 0.944622f64.powf(63.0) - 1.0));
        // Peak 104_958 on the 6th, trough 94_462.2 on the 7th: exactly 10%.
        assert!(close(m.max_drawdown, 0.1));
        assert_eq!((m.max_drawdown_start, m.max_drawdown_end), (Some(d(6)), Some(d(7))));
        // Returns 0.02, -0.02, 0.05, -0.10: mean -0.0125, squared deviations sum 0.012675,
        // sample variance 0.004225, standard deviation 0.065.
        let std = 0.065;
        assert!(close(m.annualized_volatility.unwrap(), std * 252f64.sqrt()));
        assert!(close(m.sharpe.unwrap(), -0.0125 / std * 252f64.sqrt()));
        let r = daily_returns(&record, Money(1_000_000_000));
        for (got, want) in r.iter().zip([0.02, -0.02, 0.05, -0.10]) {
            assert!(close(*got, want), "{got} vs {want}");
        }
    }

    #[test]
    fn win_rate_and_profit_loss_ratio_use_closed_trips_only() {
        let trips = [trip(300, true), trip(100, true), trip(-50, true), trip(-150, true), trip(-1000, false)];
        let m = compute_metrics(&hand_series(), Money(1_000_000_000), &trips);
        assert_eq!(m.round_trips, 4);
        assert_eq!(m.open_positions_at_end, 1);
        assert_eq!(m.win_rate, Some(0.5));
        // Average win 200, average loss 100.
        assert_eq!(m.profit_loss_ratio, Some(2.0));
        // (300 + 100 - 50 - 150) / 4 = 0.5 * 200 - 0.5 * 100.
        assert_eq!(m.expectancy, Some(50.0));
        assert_eq!(m.avg_holding_days, Some(1.0));
    }

    #[test]
    fn profit_loss_ratio_is_undefined_without_a_losing_trip() {
        let m = compute_metrics(&hand_series(), Money(1_000_000_000), &[trip(10, true)]);
        assert_eq!(m.win_rate, Some(1.0));
        assert_eq!(m.profit_loss_ratio, None);
    }

    #[test]
    fn constant_equity_has_zero_volatility_and_no_sharpe_as_in_empyrical() {
        let record = RunRecord {
            account_snapshots: (4..=8).map(|day| snap(day, Money(1_000_000_000))).collect(),
            ..RunRecord::default()
        };
        let m = compute_metrics(&record, Money(1_000_000_000), &[]);
        // empyrical gives NaN for a Sharpe ratio of returns that do not vary (0 / 0).
        assert_eq!((m.sharpe, m.sortino, m.calmar), (None, None, None));
        assert_eq!(m.annualized_volatility, Some(0.0));
        assert_eq!(m.max_drawdown, 0.0);
        assert_eq!(m.max_drawdown_start, None);
        assert_eq!((m.max_drawdown_days, m.max_drawdown_recovery), (0, None));
        assert_eq!((m.max_drawdown_peak_to_trough_days, m.max_drawdown_recovery_days), (0, None));
    }

    #[test]
    fn sortino_and_calmar_of_the_hand_series_follow_their_definitions() {
        let m = compute_metrics(&hand_series(), Money(1_000_000_000), &[]);
        // Downside deviation: squares of the negative returns (0.0004, 0.01) over all 4 days.
        let downside = (0.0104f64 / 4.0).sqrt() * 252f64.sqrt();
        assert!(close(m.sortino.unwrap(), -0.0125 * 252.0 / downside));
        assert!(close(m.calmar.unwrap(), m.annualized_return.unwrap() / 0.1));
        // Peak on the 6th, trough on the 7th, the last day: one day and not recovered.
        assert_eq!((m.max_drawdown_days, m.max_drawdown_recovery), (1, None));
        assert_eq!((m.max_drawdown_peak_to_trough_days, m.max_drawdown_recovery_days), (1, None));
    }

    #[test]
    fn a_run_measured_against_itself_has_beta_one_and_no_excess() {
        let record = hand_series();
        let initial = Money(1_000_000_000);
        let own = Benchmark {
            name: "self".into(),
            dates: record.account_snapshots.iter().map(|s| s.date).collect(),
            returns: daily_returns(&record, initial),
        };
        let m = compute_metrics(&record, initial, &[]).with_benchmark(&record, initial, Some(&own));
        let b = m.benchmark.unwrap();
        assert_eq!(b.name, "self");
        assert!(close(b.beta.unwrap(), 1.0));
        assert!(b.alpha.unwrap().abs() < 1e-12);
        assert!(b.excess_return.unwrap().abs() < 1e-12);
        assert!(b.excess_annualized_return.unwrap().abs() < 1e-9);
        assert!(close(b.total_return.unwrap(), -0.055378));
    }

    #[test]
    fn fees_turnover_orders_and_refusals_are_counted() {
        let mut record = hand_series();
        let fill = |side, price: f64, qty, commission, taxes| ExecutionLog {
            date: d(5),
            order_id: OrderId(1),
            symbol: "X".into(),
            side,
            price: Price::from_yuan(price),
            quantity: qty,
            commission: Money(commission),
            taxes: Money(taxes),
            reference_price: Price::from_yuan(price),
            slippage: Money::ZERO,
        };
        record.executions =
            vec![fill(Side::Buy, 10.0, 5_000, 50_000, 500), fill(Side::Sell, 10.0, 5_000, 50_000, 25_500)];
        let event = |reason| RiskEvent {
            date: d(5),
            symbol: "X".into(),
            order_id: OrderId(2),
            side: Side::Buy,
            reason,
            detail: String::new(),
        };
        record.risk_events = vec![
            event(RiskReason::TPlusOne),
            event(RiskReason::TPlusOne),
            event(RiskReason::MarketLimitDown),
            event(RiskReason::Concentration),
        ];
        let m = compute_metrics(&record, Money(1_000_000_000), &[]);
        assert_eq!(m.total_commission, "10.0000");
        assert_eq!(m.total_taxes, "2.6000");
        assert_eq!(m.total_fees, "12.6000");
        assert_eq!(m.n_fills, 2);
        assert_eq!(m.n_orders, 0);
        assert_eq!(m.market_refusals, 1);
        assert_eq!(m.pre_trade_rejections, 3);
        let codes: Vec<(&str, u64)> = m.risk_rejections.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(codes, vec![("CONCENTRATION", 1), ("MARKET_LIMIT_DOWN", 1), ("T_PLUS_1", 2)]);
        // 100_000 traded / 2 over an average value of 99_160.5 for 4/252 of a year.
        let avg = (102_000.0 + 99_960.0 + 104_958.0 + 94_462.2) / 4.0;
        assert!(close(m.turnover.unwrap(), 50_000.0 / avg / (4.0 / 252.0)));
    }

    #[test]
    fn an_empty_run_has_no_nan_and_serializes_to_valid_json() {
        let m = compute_metrics(&RunRecord::default(), Money(1_000_000_000), &[]);
        assert_eq!(m.final_value, "100000.0000");
        assert_eq!(m.trading_days, 0);
        assert_eq!((m.total_return, m.sharpe, m.turnover, m.win_rate), (None, None, None, None));
        let json = serde_json::to_string(&m).unwrap();
        assert!(!json.contains("NaN") && !json.contains("inf"), "{json}");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(v["total_return"].is_null());
        assert!(v["start_date"].is_null());
        assert_eq!(v["max_drawdown"], 0.0);
        assert!(v["max_drawdown_recovery_days"].is_null() && v["max_drawdown_peak_to_trough_days"] == 0);
    }

    #[test]
    fn zero_initial_cash_gives_null_returns_instead_of_infinity() {
        let record = RunRecord { account_snapshots: vec![snap(4, Money(5))], ..RunRecord::default() };
        let m = compute_metrics(&record, Money::ZERO, &[]);
        assert_eq!((m.total_return, m.annualized_return), (None, None));
        assert!(serde_json::to_string(&m).is_ok());
    }
}
