//! Two runs side by side: the headline metrics with their differences, in the terminal and as
//! an HTML page with the equity curves overlaid, so a user sees what a new sell model changed.
//!
//! Each metric knows which way is better ([`Better`]): a difference is coloured as an
//! improvement or a deterioration (in the report's colour convention), not by its sign, since
//! less drawdown, fewer fees or a lower cost of waiting are improvements. Money is shown and
//! differenced exactly from the metrics' decimal strings. Two runs over different periods are
//! compared with a warning, since their differences then mix strategy and market.

use crate::charts::{self, Line};
use crate::html::{escape, page_in};
use crate::i18n::Lang;
use crate::metrics::Metrics;
use crate::style::{money, parse_money, signed_money, yuan, Style};
use crate::{Analysis, ReportError};
use chrono::NaiveDate;
use janus_core::{Money, RunRecord};
use std::fmt::Write;
use unicode_width::UnicodeWidthStr;

/// How a metric is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A fraction shown as a percentage.
    Pct,
    /// A ratio with two decimals.
    Num,
    /// A count.
    Int,
    /// Yuan with thousands separators and two decimals.
    Yuan,
}

impl Format {
    pub fn show(self, x: Option<f64>) -> String {
        let Some(x) = x.filter(|x| x.is_finite()) else { return "n/a".to_string() };
        match self {
            Format::Pct => format!("{:.2}%", x * 100.0),
            Format::Num => format!("{x:.2}"),
            Format::Int => format!("{x:.0}"),
            Format::Yuan => yuan(x).unwrap_or_else(|| "n/a".to_string()),
        }
    }

    /// A difference, signed, in points for percentages.
    pub fn delta(self, d: Option<f64>) -> String {
        let Some(d) = d.filter(|d| d.is_finite()) else { return "n/a".to_string() };
        match self {
            Format::Pct => format!("{:+.2} pp", d * 100.0),
            Format::Num => format!("{d:+.2}"),
            Format::Int => format!("{d:+.0}"),
            Format::Yuan => match yuan(d) {
                Some(text) if d > 0.0 && text != "0.00" => format!("+{text}"),
                Some(text) => text,
                None => "n/a".to_string(),
            },
        }
    }
}

/// Which way a metric improves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
    /// Neither: a count of trips, the holding period, the benchmark itself.
    Neither,
}

/// One headline metric: its group, label (English; shown through the report's language),
/// value, format and direction.
pub struct Row {
    pub group: &'static str,
    pub label: &'static str,
    pub value: Option<f64>,
    /// The exact amount of a money metric, shown and differenced instead of `value`.
    pub money: Option<Money>,
    pub format: Format,
    pub better: Better,
    /// What an undefined value reads as (English).
    pub missing: &'static str,
}

impl Row {
    /// The value as a page or the terminal shows it.
    pub fn show(&self, lang: Lang) -> String {
        if let Some(m) = self.money {
            return money(m);
        }
        match self.value.filter(|x| x.is_finite()) {
            Some(_) => self.format.show(self.value),
            None => lang.t(self.missing).to_string(),
        }
    }
}

fn exact(text: &str) -> (Option<f64>, Option<Money>) {
    let m = parse_money(text);
    (m.map(Money::as_f64), m)
}

/// The headline metrics of a run, in display order.
pub fn headline(m: &Metrics) -> Vec<Row> {
    let b = m.benchmark.as_ref();
    let r = &m.refused_sells;
    use Better::*;
    use Format::*;
    let row =
        |group, label, value, format, better| Row { group, label, value, money: None, format, better, missing: "n/a" };
    let cny = |group, label, text: &str, better| {
        let (value, money) = exact(text);
        Row { money, ..row(group, label, value, Yuan, better) }
    };
    let recovered = m.max_drawdown_recovery_days.map(f64::from);
    vec![
        row("Returns", "Total return", m.total_return, Pct, Higher),
        row("Returns", "Annualized return", m.annualized_return, Pct, Higher),
        cny("Returns", "Final value", &m.final_value, Higher),
        row("Risk", "Annualized volatility", m.annualized_volatility, Pct, Lower),
        row("Risk", "Sharpe", m.sharpe, Num, Higher),
        row("Risk", "Sortino", m.sortino, Num, Higher),
        row("Risk", "Max drawdown", Some(m.max_drawdown), Pct, Lower),
        row("Risk", "Days from peak to trough", Some(m.max_drawdown_peak_to_trough_days as f64), Int, Lower),
        Row {
            // Without a drawdown there is nothing to recover from.
            missing: if m.max_drawdown_end.is_some() { "not recovered" } else { "n/a" },
            ..row("Risk", "Days from trough to recovery", recovered, Int, Lower)
        },
        row("Risk", "Calmar", m.calmar, Num, Higher),
        row("Trades", "Closed round trips", Some(m.round_trips as f64), Int, Neither),
        row("Trades", "Win rate", m.win_rate, Pct, Higher),
        row("Trades", "Profit/loss ratio", m.profit_loss_ratio, Num, Higher),
        row("Trades", "Expectancy (CNY)", m.expectancy, Yuan, Higher),
        row("Trades", "Average trade return", m.avg_trade_return, Pct, Higher),
        row("Trades", "Average holding days", m.avg_holding_days, Num, Neither),
        row("Trades", "Gave it back", Some(m.gave_back_trades as f64), Int, Lower),
        row("Trades", "Turnover (x per year)", m.turnover, Num, Neither),
        cny("Costs", "Fees and taxes (CNY)", &m.total_fees, Lower),
        cny("Costs", "Commission (CNY)", &m.total_commission, Lower),
        cny("Costs", "Taxes (CNY)", &m.total_taxes, Lower),
        row("Refusals", "Pre-trade rejections", Some(m.pre_trade_rejections as f64), Int, Lower),
        row("Refusals", "Market refusals", Some(m.market_refusals as f64), Int, Lower),
        row("Refusals", "Stuck sells", Some(r.episodes as f64), Int, Lower),
        row("Refusals", "Stuck at the end", Some(r.still_stuck as f64), Int, Lower),
        row("Refusals", "Average days stuck", r.avg_days_stuck, Num, Lower),
        cny("Refusals", "Cost of waiting (CNY)", &r.cost_resolved, Lower),
        cny("Refusals", "Stuck at end, marked (CNY)", &r.cost_still_stuck, Lower),
        row("Benchmark", "Benchmark total return", b.and_then(|b| b.total_return), Pct, Neither),
        row("Benchmark", "Excess return", b.and_then(|b| b.excess_return), Pct, Higher),
        row("Benchmark", "Excess annualized return", b.and_then(|b| b.excess_annualized_return), Pct, Higher),
        row("Benchmark", "Alpha (annualized)", b.and_then(|b| b.alpha), Pct, Higher),
        row("Benchmark", "Beta", b.and_then(|b| b.beta), Num, Neither),
    ]
}

/// Whether B is better or worse than A on one metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Better,
    Worse,
}

/// One metric of two runs.
pub struct Pair {
    pub group: &'static str,
    pub label: &'static str,
    pub a: String,
    pub b: String,
    /// `B - A`, shown.
    pub delta: String,
    /// `None` when the metric has no direction, did not change or is undefined on a side.
    pub verdict: Option<Verdict>,
}

/// The headline metrics of both runs with their differences and verdicts.
pub fn side_by_side(a: &Metrics, b: &Metrics, lang: Lang) -> Vec<Pair> {
    headline(a)
        .into_iter()
        .zip(headline(b))
        .map(|(x, y)| {
            let (delta, sign) = match (x.money, y.money) {
                (Some(p), Some(q)) => (signed_money(q - p), (q - p).0.signum() as f64),
                _ => {
                    let diff = x.value.zip(y.value).map(|(p, q)| q - p).filter(|d| d.is_finite());
                    (x.format.delta(diff), diff.unwrap_or(0.0))
                }
            };
            let verdict = match (x.better, sign) {
                (Better::Higher, s) if s > 0.0 => Some(Verdict::Better),
                (Better::Higher, s) if s < 0.0 => Some(Verdict::Worse),
                (Better::Lower, s) if s < 0.0 => Some(Verdict::Better),
                (Better::Lower, s) if s > 0.0 => Some(Verdict::Worse),
                _ => None,
            };
            Pair { group: x.group, label: x.label, a: x.show(lang), b: y.show(lang), delta, verdict }
        })
        .collect()
}

fn period(m: &Metrics, lang: Lang) -> String {
    match (m.start_date, m.end_date) {
        (Some(s), Some(e)) => lang.fill("{0} .. {1} ({2} trading days)", &[&s, &e, &m.trading_days]),
        _ => lang.t("no trading day recorded").to_string(),
    }
}

/// A warning when the two runs cover different periods (first or last day, or number of
/// trading days), naming both; `None` when they cover the same.
pub fn period_warning(a: &Metrics, b: &Metrics, lang: Lang) -> Option<String> {
    let same = (a.start_date, a.end_date, a.trading_days) == (b.start_date, b.end_date, b.trading_days);
    (!same).then(|| {
        lang.fill(
            "The two runs cover different periods: A {0}, B {1}. Differences mix strategy and market; compare runs \
             over the same dates.",
            &[&period(a, lang), &period(b, lang)],
        )
    })
}

/// `text` padded with spaces to `width` columns (wide characters count two).
fn pad(text: &str, width: usize, right: bool) -> String {
    let fill = " ".repeat(width.saturating_sub(text.width()));
    if right {
        format!("{fill}{text}")
    } else {
        format!("{text}{fill}")
    }
}

/// The terminal comparison: a warning when the periods differ, then one line per metric with
/// both values and `B - A`. With `color`, the difference is green when B is better and red
/// when worse (swapped by the red-up convention), in ANSI escapes; callers pass `color` only
/// for a terminal that wants colour.
pub fn compare_text(id_a: &str, a: &Metrics, id_b: &str, b: &Metrics, style: &Style, color: bool) -> String {
    let lang = style.lang;
    let palette = style.palette();
    let paint = |text: String, code: &str| if color { format!("\x1b[{code}m{text}\x1b[0m") } else { text };
    let mut out = String::new();
    if let Some(w) = period_warning(a, b, lang) {
        let _ = writeln!(out, "{}", paint(lang.fill("warning: {0}", &[&w]), "33"));
    }
    let _ = writeln!(out, "{}{}{}{}", pad("", 30, false), pad(&clip(id_a), 16, true), pad(&clip(id_b), 16, true), {
        pad(lang.t("B - A"), 14, true)
    });
    let mut group = "";
    for p in side_by_side(a, b, lang) {
        if p.group != group {
            let _ = writeln!(out, "{}", lang.t(p.group));
            group = p.group;
        }
        let delta = pad(&p.delta, 14, true);
        let delta = match p.verdict {
            Some(Verdict::Better) => paint(delta, palette.up_ansi()),
            Some(Verdict::Worse) => paint(delta, palette.down_ansi()),
            None => delta,
        };
        let _ =
            writeln!(out, "  {}{}{}{delta}", pad(lang.t(p.label), 28, false), pad(&p.a, 16, true), pad(&p.b, 16, true));
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

/// Extra rules of the comparison page: better and worse deltas, and the period warning.
fn compare_css(style: &Style) -> String {
    let p = style.palette();
    format!(
        ".better{{color:{};font-weight:600}}.worse{{color:{};font-weight:600}}\
         .warning{{background:#fff4e5;border:1px solid #f0b35b;border-radius:4px;padding:8px 12px;color:#6b4100}}",
        p.up_css(),
        p.down_css()
    )
}

/// The HTML comparison page: the period warning when the runs cover different periods, equity
/// curves overlaid (each relative to its initial cash, on the union of both runs' trading
/// days), drawdowns overlaid, and the metrics with their deltas coloured better or worse.
pub fn compare_html(a: &Side, b: &Side, style: &Style) -> Result<String, ReportError> {
    let lang = style.lang;
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
        lang.t("Equity (1 = initial cash)"),
        &dates,
        &[line(a, "A", growth(a), charts::RUN_COLOR), line(b, "B", growth(b), charts::OTHER_COLOR)],
        false,
        (1100, 380),
        style,
    )?;
    let drawdown = charts::lines_chart(
        lang.t("Drawdown"),
        &dates,
        &[line(a, "A", drawdown(a), charts::RUN_COLOR), line(b, "B", drawdown(b), charts::OTHER_COLOR)],
        true,
        (1100, 300),
        style,
    )?;

    let mut body = String::new();
    let _ = write!(
        body,
        "<header><h1>{}</h1><p>{} {}</p></header>",
        lang.t("Janus: run A against run B"),
        lang.fill("A = <b>{0}</b>, B = <b>{1}</b>. Deltas are B minus A.", &[&escape(a.run_id), &escape(b.run_id)]),
        lang.t("Deltas are coloured by whether B is better or worse than A.")
    );
    if let Some(w) = period_warning(&a.analysis.metrics, &b.analysis.metrics, lang) {
        let _ = write!(
            body,
            "<p class=\"warning\" id=\"period-warning\">{}</p>",
            lang.fill("<b>warning</b>: {0}", &[&escape(&w)])
        );
    }
    let _ = write!(body, "<section><h2>{}</h2>", lang.t("Equity and drawdown"));
    let _ = write!(body, "<figure class=\"chart\" id=\"chart-equity\">{equity}</figure>");
    let _ = write!(body, "<figure class=\"chart\" id=\"chart-drawdown\">{drawdown}</figure></section>");
    let _ = write!(
        body,
        "<section><h2>{}</h2><table class=\"metrics\"><thead><tr><th></th><th>A</th><th>B</th><th>{}</th></tr></thead><tbody>",
        lang.t("Metrics"),
        lang.t("B − A")
    );
    let mut group = "";
    for p in side_by_side(&a.analysis.metrics, &b.analysis.metrics, lang) {
        if p.group != group {
            let _ = write!(body, "<tr class=\"group\"><th colspan=\"4\">{}</th></tr>", lang.t(p.group));
            group = p.group;
        }
        let class = match p.verdict {
            Some(Verdict::Better) => " class=\"better\"",
            Some(Verdict::Worse) => " class=\"worse\"",
            None => "",
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td{class}>{}</td></tr>",
            lang.t(p.label),
            p.a,
            p.b,
            p.delta
        );
    }
    body.push_str("</tbody></table></section>");
    let title = lang.fill("Janus: {0} vs {1}", &[&a.run_id, &b.run_id]);
    Ok(page_in(style, &title, &body, 2, &compare_css(style)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute_metrics;
    use crate::style::Colors;
    use janus_core::AccountSnapshot;

    fn base() -> Metrics {
        compute_metrics(&RunRecord::default(), Money(1_000_000_000), &[])
    }

    fn line<'a>(text: &'a str, label: &str) -> &'a str {
        text.lines().find(|l| l.trim_start().starts_with(label)).unwrap_or_else(|| panic!("{label} in {text}"))
    }

    #[test]
    fn the_terminal_comparison_shows_both_values_and_the_difference() {
        let mut a = base();
        let mut b = a.clone();
        a.total_return = Some(0.10);
        b.total_return = Some(0.125);
        a.sharpe = Some(1.0);
        b.sharpe = None;
        let text = compare_text("old", &a, "a-very-long-run-identifier", &b, &Style::default(), false);
        let total = line(&text, "Total return");
        assert!(total.contains("10.00%") && total.contains("12.50%") && total.contains("+2.50 pp"), "{total}");
        let sharpe = line(&text, "Sharpe");
        assert!(sharpe.contains("1.00") && sharpe.ends_with("n/a"), "{sharpe}");
        assert!(text.contains("a-very-long-ru~"), "{text}");
        assert!(!text.contains('\x1b'), "no colour unless asked");
        assert!(!text.contains("warning"), "same period: {text}");
    }

    #[test]
    fn each_difference_is_judged_by_the_direction_of_its_metric() {
        let (mut a, mut b) = (base(), base());
        a.total_return = Some(0.10);
        b.total_return = Some(0.05); // lower return: worse
        a.max_drawdown = 0.30;
        b.max_drawdown = 0.20; // less drawdown: better
        a.total_fees = "1000.0000".into();
        b.total_fees = "2500.5000".into(); // more fees: worse
        a.refused_sells.cost_resolved = "300.0000".into();
        b.refused_sells.cost_resolved = "100.0000".into(); // cheaper waiting: better
        a.round_trips = 10;
        b.round_trips = 30; // more trips: neither
        a.market_refusals = 4;
        b.market_refusals = 4; // unchanged: neither
        let pairs = side_by_side(&a, &b, Lang::En);
        let verdict = |label: &str| pairs.iter().find(|p| p.label == label).unwrap().verdict;
        assert_eq!(verdict("Total return"), Some(Verdict::Worse));
        assert_eq!(verdict("Max drawdown"), Some(Verdict::Better));
        assert_eq!(verdict("Fees and taxes (CNY)"), Some(Verdict::Worse));
        assert_eq!(verdict("Cost of waiting (CNY)"), Some(Verdict::Better));
        assert_eq!(verdict("Closed round trips"), None);
        assert_eq!(verdict("Market refusals"), None);
        let fees = pairs.iter().find(|p| p.label == "Fees and taxes (CNY)").unwrap();
        assert_eq!((fees.a.as_str(), fees.b.as_str(), fees.delta.as_str()), ("1,000.00", "2,500.50", "+1,500.50"));

        // Green for better and red for worse, only when colour is asked for.
        let text = compare_text("a", &a, "b", &b, &Style::default(), true);
        assert!(line(&text, "Max drawdown").contains("\x1b[32m"), "{text}");
        assert!(line(&text, "Fees and taxes").contains("\x1b[31m"), "{text}");
        assert!(!line(&text, "Closed round trips").contains('\x1b'), "{text}");
        // The A-share convention swaps them.
        let red_up = Style { colors: Colors::RedUp, ..Style::default() };
        let text = compare_text("a", &a, "b", &b, &red_up, true);
        assert!(line(&text, "Max drawdown").contains("\x1b[31m"), "{text}");
        assert!(line(&text, "Fees and taxes").contains("\x1b[32m"), "{text}");
    }

    #[test]
    fn money_differences_are_exact() {
        let (mut a, mut b) = (base(), base());
        // As floats, 0.1 + 0.2 style noise would show; exact decimals do not.
        a.final_value = "1000000.1000".into();
        b.final_value = "1000000.3000".into();
        let pairs = side_by_side(&a, &b, Lang::En);
        let fv = pairs.iter().find(|p| p.label == "Final value").unwrap();
        assert_eq!((fv.a.as_str(), fv.b.as_str(), fv.delta.as_str()), ("1,000,000.10", "1,000,000.30", "+0.20"));
        assert_eq!(fv.verdict, Some(Verdict::Better));
    }

    #[test]
    fn runs_over_different_periods_are_compared_with_a_warning() {
        let d = |m, day| NaiveDate::from_ymd_opt(2024, m, day).unwrap();
        let (mut a, mut b) = (base(), base());
        (a.start_date, a.end_date, a.trading_days) = (Some(d(1, 2)), Some(d(6, 28)), 119);
        (b.start_date, b.end_date, b.trading_days) = (Some(d(1, 2)), Some(d(6, 28)), 119);
        assert_eq!(period_warning(&a, &b, Lang::En), None);
        b.end_date = Some(d(12, 31));
        b.trading_days = 242;
        let w = period_warning(&a, &b, Lang::En).unwrap();
        assert!(w.contains("A 2024-01-02 .. 2024-06-28 (119 trading days)"), "{w}");
        assert!(w.contains("B 2024-01-02 .. 2024-12-31 (242 trading days)"), "{w}");
        let text = compare_text("a", &a, "b", &b, &Style::default(), false);
        assert!(text.starts_with("warning: The two runs cover different periods"), "{text}");
        let zh = period_warning(&a, &b, Lang::Zh).unwrap();
        assert!(zh.starts_with("两次回测的区间不同") && zh.contains("242 个交易日"), "{zh}");
    }

    #[test]
    fn the_chinese_terminal_comparison_stays_aligned() {
        let (a, b) = (base(), base());
        let style = Style { lang: Lang::Zh, ..Style::default() };
        let text = compare_text("a", &a, "b", &b, &style, false);
        let widths: Vec<usize> = text.lines().filter(|l| l.starts_with("  ")).map(|l| l.width()).collect();
        assert!(widths.len() > 20 && widths.iter().all(|w| *w == widths[0]), "{text}");
        assert!(text.contains("总收益率") && !text.contains("尚未收复"), "{text}");
        let _ = crate::i18n::missing::take();
    }

    fn snap(m: u32, day: u32, yuan: f64) -> AccountSnapshot {
        let v = Money::from_yuan(yuan);
        AccountSnapshot {
            date: NaiveDate::from_ymd_opt(2024, m, day).unwrap(),
            total_value: v,
            cash: v,
            frozen_cash: Money::ZERO,
            market_value: Money::ZERO,
            peak_value: v,
            drawdown: 0.0,
        }
    }

    #[test]
    fn the_page_colours_deltas_better_or_worse_and_warns_of_different_periods() {
        let ra =
            RunRecord { account_snapshots: vec![snap(1, 2, 100_000.0), snap(1, 3, 90_000.0)], ..RunRecord::default() };
        let rb = RunRecord {
            account_snapshots: vec![snap(1, 2, 100_000.0), snap(1, 3, 95_000.0), snap(1, 4, 99_000.0)],
            ..RunRecord::default()
        };
        let initial = Money::from_yuan(100_000.0);
        let xa = Analysis::new(&ra, initial, None, crate::GaveBack::default());
        let xb = Analysis::new(&rb, initial, None, crate::GaveBack::default());
        let (sa, sb) =
            (Side { run_id: "a", record: &ra, analysis: &xa }, Side { run_id: "b", record: &rb, analysis: &xb });
        let html = compare_html(&sa, &sb, &Style::default()).unwrap();
        let row = |label: &str| {
            let at = html.find(&format!("<td>{label}</td>")).unwrap();
            &html[at..at + html[at..].find("</tr>").unwrap()]
        };
        assert!(row("Max drawdown").contains("class=\"better\""), "{}", row("Max drawdown"));
        assert!(row("Total return").contains("class=\"better\""));
        assert!(row("Final value").contains("99,000.00") && row("Final value").contains("+9,000.00"));
        assert!(html.contains(".better{color:#1a7f37"), "better is green by default");
        assert!(html.contains("id=\"period-warning\""), "B has one more day");
        let red_up = compare_html(&sa, &sb, &Style { colors: Colors::RedUp, ..Style::default() }).unwrap();
        assert!(red_up.contains(".better{color:#c62828"), "better is red in the A-share convention");
        let same = compare_html(&sa, &sa, &Style::default()).unwrap();
        assert!(!same.contains("period-warning") && !same.contains("class=\"better\""));

        let zh = compare_html(&sa, &sb, &Style { lang: Lang::Zh, ..Style::default() }).unwrap();
        assert!(zh.contains("<html lang=\"zh-CN\">") && zh.contains("最大回撤") && zh.contains("两次回测的区间不同"));
        let missing = crate::i18n::missing::take();
        assert!(missing.is_empty(), "untranslated: {missing:?}");
    }
}
