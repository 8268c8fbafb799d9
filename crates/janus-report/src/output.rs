//! The run folder: `metrics.json`, one CSV file per record kind, and the report files
//! (`benchmark.csv`, `report.html`).
//!
//! Files are built in memory and written whole. Money and prices use their exact decimal
//! display, floats a fixed `{:.6}`, rows a fixed order, so two writes of the same run are byte
//! for byte identical and can be diffed across runs and backends.

use crate::analytics::refused_sells;
use crate::benchmark::Benchmark;
use crate::metrics::{daily_returns, drawdowns, Metrics};
use crate::trades::RoundTrip;
use crate::{Analysis, ReportError};
use janus_core::money::parse_fixed;
use janus_core::{Money, Order, OrderId, RunMeta, RunRecord};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// `metrics.json`: the metrics with the run id in front.
#[derive(Serialize)]
struct MetricsFile<'a> {
    run_id: &'a str,
    #[serde(flatten)]
    metrics: &'a Metrics,
}

/// Create `dir` (and its parents) and write the run's metrics, equity curve, orders, fills,
/// round trips, refused sells, risk events and daily positions into it, replacing files already
/// there.
pub fn write_run_folder(
    dir: &Path,
    meta: &RunMeta,
    record: &RunRecord,
    metrics: &Metrics,
    trips: &[RoundTrip],
) -> Result<(), ReportError> {
    fs::create_dir_all(dir).map_err(|source| ReportError::Io { path: dir.to_path_buf(), source })?;

    let path = dir.join("metrics.json");
    let mut json = serde_json::to_vec_pretty(&MetricsFile { run_id: &meta.run_id, metrics })
        .map_err(|source| ReportError::Json { path: path.clone(), source })?;
    json.push(b'\n');
    fs::write(&path, json).map_err(|source| ReportError::Io { path, source })?;

    write_equity(dir, record, metrics)?;
    write_orders(dir, record)?;
    write_fills(dir, record)?;
    write_trades(dir, trips)?;
    write_refused_sells(dir, record)?;
    write_risk_events(dir, record)?;
    write_positions(dir, record)?;
    write_corporate_actions(dir, record)
}

/// `corporate_actions.csv`, when the run had any: what each ex-date did to a holding.
fn write_corporate_actions(dir: &Path, record: &RunRecord) -> Result<(), ReportError> {
    if record.corporate_actions.is_empty() {
        return Ok(());
    }
    let rows = record.corporate_actions.iter().map(|a| {
        vec![
            a.date.to_string(),
            a.symbol.clone(),
            a.shares_before.to_string(),
            a.bonus_shares.to_string(),
            a.rights_shares.to_string(),
            a.rights_paid.to_string(),
            a.dividend.to_string(),
            a.dividend_tax.to_string(),
            a.reference_price.to_string(),
        ]
    });
    write_csv(dir, CORPORATE_ACTIONS_CSV, &CORPORATE_ACTIONS_HEADER, rows)
}

/// The file name and columns of a run's corporate actions.
pub const CORPORATE_ACTIONS_CSV: &str = "corporate_actions.csv";
pub const CORPORATE_ACTIONS_HEADER: [&str; 9] = [
    "date",
    "symbol",
    "shares_before",
    "bonus_shares",
    "rights_shares",
    "rights_paid",
    "dividend",
    "dividend_tax",
    "reference_price",
];

fn write_file(path: std::path::PathBuf, bytes: &[u8]) -> Result<(), ReportError> {
    fs::write(&path, bytes).map_err(|source| ReportError::Io { path, source })
}

/// Write `report.html` (and `benchmark.csv`, the benchmark on the run's days, when the analysis
/// has one) into the run folder `dir`, which must exist.
pub fn write_report_files(
    dir: &Path,
    run_id: &str,
    record: &RunRecord,
    analysis: &Analysis,
) -> Result<(), ReportError> {
    if let Some((name, returns)) = &analysis.benchmark {
        let dates = record.account_snapshots.iter().map(|s| s.date).collect();
        let b = Benchmark { name: name.clone(), dates, returns: returns.clone() };
        write_file(dir.join("benchmark.csv"), b.to_csv().as_bytes())?;
    }
    let html = crate::html::report_html(run_id, record, analysis)?;
    write_file(dir.join("report.html"), html.as_bytes())
}

/// A float in the fixed file format; empty when not finite; no negative zero.
fn f6(x: f64) -> String {
    if !x.is_finite() {
        return String::new();
    }
    let s = format!("{x:.6}");
    if s == "-0.000000" {
        "0.000000".to_string()
    } else {
        s
    }
}

fn write_csv<I>(dir: &Path, name: &str, header: &[&str], rows: I) -> Result<(), ReportError>
where
    I: IntoIterator<Item = Vec<String>>,
{
    let path = dir.join(name);
    let csv_err = |source| ReportError::Csv { path: path.clone(), source };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).map_err(csv_err)?;
    for row in rows {
        w.write_record(&row).map_err(csv_err)?;
    }
    let bytes = w.into_inner().map_err(|e| ReportError::Io { path: path.clone(), source: e.into_error() })?;
    fs::write(&path, bytes).map_err(|source| ReportError::Io { path, source })
}

fn write_equity(dir: &Path, record: &RunRecord, metrics: &Metrics) -> Result<(), ReportError> {
    // The metrics carry the initial cash exactly; a record without it starts from day one.
    let initial = parse_fixed(&metrics.initial_cash, 4)
        .map(Money)
        .unwrap_or_else(|_| record.account_snapshots.first().map_or(Money::ZERO, |s| s.total_value));
    let returns = daily_returns(record, initial);
    let dds = drawdowns(record, initial);
    let rows = record.account_snapshots.iter().zip(returns).zip(dds).map(|((s, r), dd)| {
        vec![
            s.date.to_string(),
            s.total_value.to_string(),
            s.cash.to_string(),
            s.frozen_cash.to_string(),
            s.market_value.to_string(),
            f6(r),
            f6(dd),
        ]
    });
    write_csv(
        dir,
        "equity.csv",
        &["date", "total_value", "cash", "frozen_cash", "market_value", "daily_return", "drawdown"],
        rows,
    )
}

fn write_orders(dir: &Path, record: &RunRecord) -> Result<(), ReportError> {
    // An order appears once per day it changed; the last state wins.
    let orders: BTreeMap<OrderId, &Order> = record.orders.iter().map(|o| (o.id, o)).collect();
    let rows = orders.values().map(|o| {
        vec![
            o.id.0.to_string(),
            o.symbol.clone(),
            o.side.as_str().to_string(),
            o.order_type.as_str().to_string(),
            o.order_type.limit_price().map_or_else(String::new, |p| p.to_string()),
            o.quantity.to_string(),
            o.filled.to_string(),
            o.status.as_str().to_string(),
            o.created.to_string(),
            o.updated.to_string(),
            o.avg_fill_price().map_or_else(String::new, f6),
            o.commission.to_string(),
            o.taxes.to_string(),
            o.tag.clone(),
        ]
    });
    let header = [
        "order_id",
        "symbol",
        "side",
        "type",
        "limit_price",
        "quantity",
        "filled",
        "status",
        "created",
        "updated",
        "avg_fill_price",
        "commission",
        "taxes",
        "tag",
    ];
    write_csv(dir, "orders.csv", &header, rows)
}

fn write_fills(dir: &Path, record: &RunRecord) -> Result<(), ReportError> {
    let rows = record.executions.iter().map(|f| {
        vec![
            f.date.to_string(),
            f.order_id.0.to_string(),
            f.symbol.clone(),
            f.side.as_str().to_string(),
            f.price.to_string(),
            f.quantity.to_string(),
            f.price.notional(f.quantity).to_string(),
            f.commission.to_string(),
            f.taxes.to_string(),
            f.reference_price.to_string(),
            f.slippage.to_string(),
        ]
    });
    let header = [
        "date",
        "order_id",
        "symbol",
        "side",
        "price",
        "quantity",
        "notional",
        "commission",
        "taxes",
        "reference_price",
        "slippage",
    ];
    write_csv(dir, "fills.csv", &header, rows)
}

fn write_trades(dir: &Path, trips: &[RoundTrip]) -> Result<(), ReportError> {
    let rows = trips.iter().map(|t| {
        vec![
            t.symbol.clone(),
            t.entry_date.to_string(),
            t.exit_date.map_or_else(String::new, |d| d.to_string()),
            f6(t.entry_price),
            f6(t.exit_price),
            t.quantity.to_string(),
            t.cost.to_string(),
            t.proceeds.to_string(),
            t.pnl.to_string(),
            f6(t.ret),
            t.days_held.to_string(),
            t.exit_reason.clone(),
            t.fees.to_string(),
            t.exit_kind.as_str().to_string(),
            f6(t.mfe),
            f6(t.mae),
            f6(t.giveback),
        ]
    });
    let header = [
        "symbol",
        "entry_date",
        "exit_date",
        "entry_price",
        "exit_price",
        "quantity",
        "cost",
        "proceeds",
        "pnl",
        "return",
        "days_held",
        "exit_reason",
        "fees",
        "exit_kind",
        "mfe",
        "mae",
        "giveback",
    ];
    write_csv(dir, "trades.csv", &header, rows)
}

fn write_refused_sells(dir: &Path, record: &RunRecord) -> Result<(), ReportError> {
    let rows = refused_sells(record).into_iter().map(|r| {
        vec![
            r.symbol,
            r.order_id.0.to_string(),
            r.tag,
            r.reason.code().to_string(),
            r.refusals.to_string(),
            r.wanted_date.to_string(),
            r.wanted_price.to_string(),
            r.shares.to_string(),
            r.filled_date.map_or_else(String::new, |d| d.to_string()),
            f6(r.fill_price),
            r.days_stuck.to_string(),
            r.cost.to_string(),
        ]
    });
    let header = [
        "symbol",
        "order_id",
        "tag",
        "reason",
        "refusals",
        "wanted_date",
        "wanted_price",
        "shares",
        "filled_date",
        "fill_price",
        "days_stuck",
        "cost",
    ];
    write_csv(dir, "refused_sells.csv", &header, rows)
}

fn write_risk_events(dir: &Path, record: &RunRecord) -> Result<(), ReportError> {
    let rows = record.risk_events.iter().map(|e| {
        vec![
            e.date.to_string(),
            e.symbol.clone(),
            e.order_id.0.to_string(),
            e.side.as_str().to_string(),
            e.reason.code().to_string(),
            if e.reason.is_market() { "market" } else { "risk" }.to_string(),
            e.detail.clone(),
        ]
    });
    write_csv(dir, "risk_events.csv", &["date", "symbol", "order_id", "side", "reason", "source", "detail"], rows)
}

fn write_positions(dir: &Path, record: &RunRecord) -> Result<(), ReportError> {
    let rows = record.position_snapshots.iter().map(|p| {
        vec![
            p.date.to_string(),
            p.symbol.clone(),
            p.amount.to_string(),
            p.sellable.to_string(),
            p.avg_price.to_string(),
            p.entry_price.to_string(),
            p.entry_date.to_string(),
            p.high_since_entry.to_string(),
            p.last_price.to_string(),
            p.days_held.to_string(),
            p.market_value.to_string(),
            p.realized_pnl.to_string(),
        ]
    });
    let header = [
        "date",
        "symbol",
        "amount",
        "sellable",
        "avg_price",
        "entry_price",
        "entry_date",
        "high_since_entry",
        "last_price",
        "days_held",
        "market_value",
        "realized_pnl",
    ];
    write_csv(dir, "positions.csv", &header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_have_a_fixed_format_without_negative_zero_or_nan() {
        assert_eq!(f6(0.1), "0.100000");
        assert_eq!(f6(-1e-9), "0.000000");
        assert_eq!(f6(-0.25), "-0.250000");
        assert_eq!(f6(f64::NAN), "");
    }
}
