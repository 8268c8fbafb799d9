//! Two runs side by side: the headline metrics with their differences, in the terminal and as
//! an HTML page with the equity curves overlaid, so a user sees what a new sell model changed.

use crate::charts::{self, Line};
use crate::html::{escape, page};
use crate::metrics::Metrics;
use crate::{Analysis, ReportError};
use chrono::NaiveDate;
use janus_core::RunRecord;
use std::fmt::Write;

/// How a metric is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A fraction shown as a percentage.
    Pct,
    /// A ratio with two decimals.
    Num,
    /// A count.
    Int,
    /// Yuan with two decimals.
    Yuan,
}

impl Format {
    pub fn show(self, x: Option<f64>) -> String {
        let Some(x) = x.filter(|x| x.is_finite()) else { return "n/a".to_string() };
        match self {
            Format::Pct => format!("{:.2}%", x * 100.0),
            Format::Num => format!("{x:.2}"),
            Format::Int => format!("{x:.0}"),
            Format::Yuan => format!("{x:.2}"),
        }
    }

    /// A difference, signed, in points for percentages.
    pub fn delta(self, d: Option<f64>) -> String {
        let Some(d) = d.filter(|d| d.is_finite()) else { return "n/a".to_string() };
        match self {
            Format::Pct => format!("{:+.2} pp", d * 100.0),
            Format::Num => format!("{d:+.2}"),
            Format::Int => format!("{d:+.0}"),
            Format::Yuan => format!("{d:+.2}"),
        }
    }
}

/// One headline metric: its group, label, value and format.
pub struct Row {
    pub group: &'static str,
    pub label: &'static str,
    pub value: Option<f64>,
    pub format: Format,
}

fn yuan(text: &str) -> Option<f64> {
    text.parse().ok()
}

/// The headline metrics of a run, in display order.
pub fn headline(m: &Metrics) -> Vec<Row> {
    let b = m.benchmark.as_ref();
    let r = &m.refused_sells;
    let row = |group, label, value, format| Row { group, label, value, format };
    use Format::*;
    vec![
        row("Returns", "Total return", m.total_return, Pct),
        row("Returns", "Annualized return", m.annualized_return, Pct),
        row("Returns", "Final value", yuan(&m.final_value), Yuan),
        row("Risk", "Annualized volatility", m.annualized_volatility, Pct),
        row("Risk", "Sharpe", m.sharpe, Num),
        row("Risk", "Sortino", m.sortino, Num),
        row("Risk", "Max drawdown", Some(m.max_drawdown), Pct),
        row("Risk", "Max drawdown days", Some(m.max_drawdown_days as f64), Int),
        row("Risk", "Calmar", m.calmar, Num),
        row("Trades", "Closed round trips", Some(m.round_trips as f64), Int),
        row("Trades", "Win rate", m.win_rate, Pct),
        row("Trades", "Profit/loss ratio", m.profit_loss_ratio, Num),
        row("Trades", "Expectancy (CNY)", m.expectancy, Yuan),
        row("Trades", "Average trade return", m.avg_trade_return, Pct),
        row("Trades", "Average holding days", m.avg_holding_days, Num),
        row("Trades", "Gave it back", Some(m.gave_back_trades as f64), Int),
        row("Trades", "Turnover (x per year)", m.turnover, Num),
        row("Costs", "Fees and taxes (CNY)", yuan(&m.total_fees), Yuan),
        row("Costs", "Commission (CNY)", yuan(&m.total_commission), Yuan),
        row("Costs", "Taxes (CNY)", yuan(&m.total_taxes), Yuan),
        row("Refusals", "Pre-trade rejections", Some(m.pre_trade_rejections as f64), Int),
        row("Refusals", "Market refusals", Some(m.market_refusals as f64), Int),
        row("Refusals", "Stuck sells", Some(r.episodes as f64), Int),
        row("Refusals", "Stuck at the end", Some(r.still_stuck as f64), Int),
        row("Refusals", "Average days stuck", r.avg_days_stuck, Num),
        row("Refusals", "Cost of waiting (CNY)", yuan(&r.cost_resolved), Yuan),
        row("Refusals", "Stuck at end, marked (CNY)", yuan(&r.cost_still_stuck), Yuan),
        row("Benchmark", "Benchmark total return", b.and_then(|b| b.total_return), Pct),
        row("Benchmark", "Excess return", b.and_then(|b| b.excess_return), Pct),
        row("Benchmark", "Excess annualized return", b.and_then(|b| b.excess_annualized_return), Pct),
        row("Benchmark", "Alpha (annualized)", b.and_then(|b| b.alpha), Pct),
        row("Benchmark", "Beta", b.and_then(|b| b.beta), Num),
    ]
}

/// One metric of two runs.
struct Pair {
    group: &'static str,
    label: &'static str,
    a: String,
    b: String,
    delta: String,
    /// `b - a`, for colouring.
    diff: Option<f64>,
}

fn side_by_side(a: &Metrics, b: &Metrics) -> Vec<Pair> {
    headline(a)
        .into_iter()
        .zip(headline(b))
        .map(|(x, y)| {
            let diff = x.value.zip(y.value).map(|(x, y)| y - x);
            Pair {
                group: x.group,
                label: x.label,
                a: x.format.show(x.value),
                b: y.format.show(y.value),
                delta: x.format.delta(diff),
                diff,
            }
        })
        .collect()
}

/// The terminal comparison: one line per metric with both values and `B - A`.
pub fn compare_text(id_a: &str, a: &Metrics, id_b: &str, b: &Metrics) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{:<30}{:>16}{:>16}{:>14}", "", clip(id_a), clip(id_b), "B - A");
    let mut group = "";
    for p in side_by_side(a, b) {
        if p.group != group {
            let _ = writeln!(out, "{}", p.group);
            group = p.group;
        }
        let _ = writeln!(out, "  {:<28}{:>16}{:>16}{:>14}", p.label, p.a, p.b, p.delta);
    }
    out
}

fn clip(id: &str) -> String {
    if id.chars().count() <= 15 {
        id.to_string()
    } else {
        id.chars().take(14).collect::<String>() + "~"
    }
}

/// One run of a comparison.
pub struct Side<'a> {
    pub run_id: &'a str,
    pub record: &'a RunRecord,
    pub analysis: &'a Analysis,
}

/// The HTML comparison page: equity curves overlaid (each relative to its initial cash, on the
/// union of both runs' trading days), drawdowns overlaid, and the metrics with their deltas.
pub fn compare_html(a: &Side, b: &Side) -> Result<String, ReportError> {
    let mut dates: Vec<NaiveDate> =
        a.record.account_snapshots.iter().chain(&b.record.account_snapshots).map(|s| s.date).collect();
    dates.sort_unstable();
    dates.dedup();
    let line = |side: &Side, label: &str, values: Vec<f64>, color| {
        let points = side
            .record
            .account_snapshots
            .iter()
            .zip(values)
            .map(|(s, v)| (dates.partition_point(|d| *d < s.date) as f64, v))
            .collect();
        Line { name: format!("{label}: {}", side.run_id), points, color }
    };
    let growth = |side: &Side| {
        let initial = side.analysis.initial_cash.as_f64();
        let value =
            |s: &janus_core::AccountSnapshot| if initial > 0.0 { s.total_value.as_f64() / initial } else { 1.0 };
        side.record.account_snapshots.iter().map(value).collect::<Vec<f64>>()
    };
    let drawdown = |side: &Side| side.analysis.drawdowns.iter().map(|d| -d).collect::<Vec<f64>>();
    let equity = charts::lines_chart(
        "Equity (1 = initial cash)",
        &dates,
        &[line(a, "A", growth(a), charts::RUN_COLOR), line(b, "B", growth(b), charts::OTHER_COLOR)],
        false,
        (1100, 380),
    )?;
    let drawdown = charts::lines_chart(
        "Drawdown",
        &dates,
        &[line(a, "A", drawdown(a), charts::RUN_COLOR), line(b, "B", drawdown(b), charts::OTHER_COLOR)],
        true,
        (1100, 300),
    )?;

    let mut body = String::new();
    let _ = write!(
        body,
        "<header><h1>Janus: run A against run B</h1><p>A = <b>{}</b>, B = <b>{}</b>. Deltas are B minus A.</p></header>",
        escape(a.run_id),
        escape(b.run_id)
    );
    body.push_str("<section><h2>Equity and drawdown</h2>");
    let _ = write!(body, "<figure class=\"chart\" id=\"chart-equity\">{equity}</figure>");
    let _ = write!(body, "<figure class=\"chart\" id=\"chart-drawdown\">{drawdown}</figure></section>");
    body.push_str("<section><h2>Metrics</h2><table class=\"metrics\"><thead><tr><th></th><th>A</th><th>B</th><th>B − A</th></tr></thead><tbody>");
    let mut group = "";
    for p in side_by_side(&a.analysis.metrics, &b.analysis.metrics) {
        if p.group != group {
            let _ = write!(body, "<tr class=\"group\"><th colspan=\"4\">{}</th></tr>", p.group);
            group = p.group;
        }
        let class = match p.diff {
            Some(d) if d > 0.0 => " class=\"up\"",
            Some(d) if d < 0.0 => " class=\"down\"",
            _ => "",
        };
        let _ =
            write!(body, "<tr><td>{}</td><td>{}</td><td>{}</td><td{class}>{}</td></tr>", p.label, p.a, p.b, p.delta);
    }
    body.push_str("</tbody></table></section>");
    Ok(page(&format!("Janus: {} vs {}", a.run_id, b.run_id), &body, 2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute_metrics;
    use janus_core::Money;

    #[test]
    fn the_terminal_comparison_shows_both_values_and_the_difference() {
        let mut a = compute_metrics(&RunRecord::default(), Money(1_000_000_000), &[]);
        let mut b = a.clone();
        a.total_return = Some(0.10);
        b.total_return = Some(0.125);
        a.sharpe = Some(1.0);
        b.sharpe = None;
        let text = compare_text("old", &a, "a-very-long-run-identifier", &b);
        let line = text.lines().find(|l| l.trim_start().starts_with("Total return")).unwrap();
        assert!(line.contains("10.00%") && line.contains("12.50%") && line.contains("+2.50 pp"), "{line}");
        let sharpe = text.lines().find(|l| l.trim_start().starts_with("Sharpe")).unwrap();
        assert!(sharpe.contains("1.00") && sharpe.ends_with("n/a"), "{sharpe}");
        assert!(text.contains("a-very-long-ru~"), "{text}");
    }
}
