//! Janus's return statistics against the `empyrical` Python package on the same daily returns.
//!
//! `fixtures/empyrical_reference.json` was written by `fixtures/make_empyrical_fixture.py`
//! (see its header for the pinned version and the command); it carries the return series and
//! empyrical's values. Every value must match to a relative 1e-9; `null` (empyrical's NaN or
//! infinity) must be `None` here.

use janus_core::{AccountSnapshot, Money, RunRecord};
use janus_report::{compute_metrics, stats, Benchmark};
use serde_json::Value;

const FIXTURE: &str = include_str!("fixtures/empyrical_reference.json");

fn cases() -> Vec<(String, Vec<f64>, Vec<f64>, Value)> {
    let v: Value = serde_json::from_str(FIXTURE).unwrap();
    let floats = |x: &Value| x.as_array().unwrap().iter().map(|f| f.as_f64().unwrap()).collect::<Vec<f64>>();
    v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                floats(&c["returns"]),
                floats(&c["benchmark"]),
                c["expected"].clone(),
            )
        })
        .collect()
}

/// Relative 1e-9; an expected exact zero allows 1e-15 of rounding.
fn check(case: &str, metric: &str, got: Option<f64>, want: &Value) {
    match (got, want.as_f64()) {
        (None, None) => {}
        (Some(g), Some(w)) => {
            let err = (g - w).abs();
            assert!(err <= 1e-9 * w.abs() || err <= 1e-15, "{case}: {metric} = {g}, empyrical {w} (error {err:e})");
        }
        (g, _) => panic!("{case}: {metric} = {g:?}, empyrical {want}"),
    }
}

#[test]
fn return_statistics_match_empyrical_to_a_relative_1e_9() {
    let cases = cases();
    assert!(cases.len() >= 4);
    for (name, r, b, e) in &cases {
        check(name, "cum_returns_final", stats::cum_return(r), &e["cum_returns_final"]);
        check(name, "annual_return", stats::annual_return(r), &e["annual_return"]);
        check(name, "annual_volatility", stats::annual_volatility(r), &e["annual_volatility"]);
        check(name, "sharpe_ratio", stats::sharpe_ratio(r), &e["sharpe_ratio"]);
        check(name, "sortino_ratio", stats::sortino_ratio(r), &e["sortino_ratio"]);
        check(name, "downside_risk", stats::downside_risk(r), &e["downside_risk"]);
        // empyrical reports the drawdown as a negative number.
        check(name, "max_drawdown", stats::max_drawdown(r).map(|d| -d), &e["max_drawdown"]);
        check(name, "calmar_ratio", stats::calmar_ratio(r), &e["calmar_ratio"]);
        check(name, "alpha", stats::alpha(r, b), &e["alpha"]);
        check(name, "beta", stats::beta(r, b), &e["beta"]);
        check(name, "benchmark_cum_returns_final", stats::cum_return(b), &e["benchmark_cum_returns_final"]);
        check(name, "benchmark_annual_return", stats::annual_return(b), &e["benchmark_annual_return"]);
    }
}

/// An equity curve whose daily returns are `returns` as closely as money in 0.0001 CNY allows.
fn equity(returns: &[f64], initial: Money) -> RunRecord {
    let mut value = initial.as_f64();
    let start = chrono::NaiveDate::from_ymd_opt(2022, 1, 3).unwrap();
    let account_snapshots = returns
        .iter()
        .enumerate()
        .map(|(i, r)| {
            value *= 1.0 + r;
            let total = Money::from_yuan(value);
            AccountSnapshot {
                date: start + chrono::Days::new(i as u64),
                total_value: total,
                cash: total,
                frozen_cash: Money::ZERO,
                market_value: Money::ZERO,
                peak_value: total,
                drawdown: 0.0,
            }
        })
        .collect();
    RunRecord { account_snapshots, ..RunRecord::default() }
}

#[test]
fn run_metrics_use_the_same_definitions_as_empyrical() {
    // Money rounds each day's value to 0.0001 CNY: on ten billion yuan that moves a return by
    // about 1e-14, far below the tolerance, so the run's metrics must match empyrical too.
    let initial = Money::from_yuan(1e10);
    for (name, r, b, e) in cases() {
        let record = equity(&r, initial);
        let dates: Vec<_> = record.account_snapshots.iter().map(|s| s.date).collect();
        let bench = Benchmark { name: "b".into(), dates, returns: b.clone() };
        let m = compute_metrics(&record, initial, &[]).with_benchmark(&record, initial, Some(&bench));
        let bm = m.benchmark.as_ref().unwrap();
        let loose = |metric: &str, got: Option<f64>, want: &Value| match (got, want.as_f64()) {
            (Some(g), Some(w)) => assert!((g - w).abs() <= 1e-9 * w.abs().max(1e-3), "{name}: {metric} {g} vs {w}"),
            (g, w) => assert_eq!(g.is_some(), w.is_some(), "{name}: {metric} {g:?} vs {w:?}"),
        };
        loose("total_return", m.total_return, &e["cum_returns_final"]);
        loose("annualized_return", m.annualized_return, &e["annual_return"]);
        loose("annualized_volatility", m.annualized_volatility, &e["annual_volatility"]);
        loose("sharpe", m.sharpe, &e["sharpe_ratio"]);
        loose("sortino", m.sortino, &e["sortino_ratio"]);
        loose("max_drawdown", Some(-m.max_drawdown), &e["max_drawdown"]);
        loose("calmar", m.calmar, &e["calmar_ratio"]);
        loose("alpha", bm.alpha, &e["alpha"]);
        loose("beta", bm.beta, &e["beta"]);
        loose("benchmark total", bm.total_return, &e["benchmark_cum_returns_final"]);
        let excess = e["cum_returns_final"].as_f64().unwrap() - e["benchmark_cum_returns_final"].as_f64().unwrap();
        loose("excess_return", bm.excess_return, &Value::from(excess));
    }
}
