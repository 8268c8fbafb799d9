//! The one-screen terminal summary of a run.

use crate::metrics::Metrics;
use crate::style::{money, parse_money, yuan};
use janus_core::RunMeta;
use std::fmt::Write;

/// Rejection reasons listed one per line; the rest are counted on one line.
const TOP_REASONS: usize = 5;

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_string(), |x| format!("{:.2}%", x * 100.0))
}

fn signed_pct(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_string(), |x| format!("{:+.2}%", x * 100.0))
}

fn num(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_string(), |x| format!("{x:.2}"))
}

/// An exact amount from the metrics, with thousands separators and two decimals.
fn cny(text: &str) -> String {
    parse_money(text).map_or_else(|| text.to_string(), money)
}

/// How long the largest fall took, and its recovery (or that there was none).
fn drawdown_days(m: &Metrics) -> String {
    if m.max_drawdown_end.is_none() {
        return String::new();
    }
    let down = m.max_drawdown_peak_to_trough_days;
    match (m.max_drawdown_recovery_days, m.max_drawdown_recovery) {
        (Some(up), Some(on)) => format!(", {down} days down, recovered in {up} ({on})"),
        _ => format!(", {down} days down, not recovered ({} days to the end)", m.max_drawdown_days),
    }
}

/// An aligned summary of at most 25 lines: performance, trades, costs, refusals and stuck
/// sells.
pub fn summary_text(meta: &RunMeta, m: &Metrics) -> String {
    let mut out = String::new();
    let mut line = |label: &str, value: String| {
        let _ = writeln!(out, "  {label:<16}{value}");
    };
    let period = match (m.start_date, m.end_date) {
        (Some(s), Some(e)) => format!("{s} .. {e} ({} trading days)", m.trading_days),
        _ => "no trading day recorded".to_string(),
    };
    line("Period", period);
    line("Final value", format!("{} (initial {})", cny(&m.final_value), cny(&m.initial_cash)));
    line("Total return", format!("{}  annualized {}", signed_pct(m.total_return), signed_pct(m.annualized_return)));
    line("Volatility", format!("{} annualized", pct(m.annualized_volatility)));
    line("Sharpe", format!("{}  Sortino {}  Calmar {}", num(m.sharpe), num(m.sortino), num(m.calmar)));
    let dd_dates = match (m.max_drawdown_start, m.max_drawdown_end) {
        (Some(s), Some(e)) => format!(" ({s} .. {e})"),
        _ => String::new(),
    };
    line("Max drawdown", format!("{}{dd_dates}{}", pct(Some(m.max_drawdown)), drawdown_days(m)));
    if let Some(b) = &m.benchmark {
        line("Benchmark", format!("{} {}  excess {}", b.name, signed_pct(b.total_return), signed_pct(b.excess_return)));
    }
    line("Round trips", format!("{} closed, {} open at the end", m.round_trips, m.open_positions_at_end));
    line("Win rate", pct(m.win_rate));
    let expectancy = m.expectancy.and_then(yuan).unwrap_or_else(|| "n/a".to_string());
    line("P/L ratio", format!("{}  expectancy {expectancy} CNY per trip", num(m.profit_loss_ratio)));
    line(
        "Gave it back",
        format!(
            "{} trips up {} that ended below {}",
            m.gave_back_trades,
            pct(Some(m.gave_back_up)),
            pct(Some(m.gave_back_below))
        ),
    );
    line("Turnover", m.turnover.map_or_else(|| "n/a".to_string(), |t| format!("{t:.2}x per year")));
    line(
        "Fees",
        format!("{} (commission {}, taxes {})", cny(&m.total_fees), cny(&m.total_commission), cny(&m.total_taxes)),
    );
    line("Orders / fills", format!("{} / {}", m.n_orders, m.n_fills));
    line("Rejections", format!("{} pre-trade, {} market refusals", m.pre_trade_rejections, m.market_refusals));
    let r = &m.refused_sells;
    line(
        "Stuck sells",
        format!(
            "{} ({} at the end), {} days on average, cost {} CNY (at the end {})",
            r.episodes,
            r.still_stuck,
            num(r.avg_days_stuck),
            cny(&r.cost_resolved),
            cny(&r.cost_still_stuck)
        ),
    );

    let mut reasons: Vec<(&String, &u64)> = m.risk_rejections.iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (code, count) in reasons.iter().take(TOP_REASONS) {
        let _ = writeln!(out, "    {code:<20}{count:>8}");
    }
    if reasons.len() > TOP_REASONS {
        let rest: u64 = reasons[TOP_REASONS..].iter().map(|(_, c)| **c).sum();
        let _ = writeln!(out, "    {:<20}{rest:>8}", format!("({} more reasons)", reasons.len() - TOP_REASONS));
    }
    format!("Janus run {} [{}]\n{out}", meta.run_id, meta.status.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::compute_metrics;
    use janus_core::{Money, RiskReason, RunRecord, RunStatus};

    fn meta() -> RunMeta {
        RunMeta { run_id: "r1".into(), config: String::new(), data_source: String::new(), status: RunStatus::Finished }
    }

    #[test]
    fn summary_fits_one_screen_even_with_every_rejection_reason() {
        let mut m = compute_metrics(&RunRecord::default(), Money(1_000_000_000), &[]);
        for (i, r) in RiskReason::ALL.into_iter().enumerate() {
            m.risk_rejections.insert(r.code().to_string(), i as u64 + 1);
        }
        let text = summary_text(&meta(), &m);
        assert!(text.lines().count() <= 25, "{text}");
        // The most frequent reasons come first; the tail is folded into one line.
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.iter().any(|l| l.trim_start().starts_with("VOLUME_CAP") && l.ends_with("14")), "{text}");
        assert!(text.contains("(9 more reasons)"), "{text}");
        assert!(!text.contains("NaN"));
    }

    #[test]
    fn summary_of_an_empty_run_says_so_and_shows_not_available() {
        let m = compute_metrics(&RunRecord::default(), Money(1_000_000_000), &[]);
        let text = summary_text(&meta(), &m);
        assert!(text.starts_with("Janus run r1 [finished]\n"));
        assert!(text.contains("no trading day recorded"));
        assert!(text.contains("Sharpe          n/a"), "{text}");
    }
}
