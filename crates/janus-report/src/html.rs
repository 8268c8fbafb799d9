//! The self-contained HTML report of one run: metrics, charts (inline SVG) and the tables that
//! show where the money went. One file, no external resource, no network at view time, and the
//! same run gives the same bytes.
//!
//! The page follows the analysis' [`Style`]: every text goes through its language ([`Lang::t`],
//! [`Lang::fill`]), and gains and losses (the `up` and `down` classes, the charts) take its
//! colour convention. Money shows with thousands separators and two decimals.
//!
//! A short inline script checks, once the page has loaded, that every chart drew content and
//! writes the verdict into `#render-status` (and to the console as an error when a chart is
//! empty), which the browser test reads.

use crate::analytics::{gave_back, ExitKind, RefusedSell};
use crate::charts::{self, Line};
use crate::compare::headline;
use crate::i18n::Lang;
use crate::style::{money, parse_money, Style};
use crate::trades::RoundTrip;
use crate::{Analysis, ReportError};
use chrono::NaiveDate;
use janus_core::RunRecord;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Rows shown in the all-round-trips table; the full list is in `trades.csv`.
const MAX_TRIP_ROWS: usize = 2_000;
/// Rows shown in the refused-sells table; the full list is in `refused_sells.csv`.
const MAX_REFUSED_ROWS: usize = 1_000;

/// Escape text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The style sheet before and after the colours of gains and losses (`.up`, `.down`), which
/// follow the colour convention.
const STYLE: &str = "\
body{font-family:-apple-system,'Segoe UI',Roboto,'Noto Sans',sans-serif;margin:0 auto;max-width:1160px;padding:16px 24px;color:#222;background:#fafafa}\
h1{font-size:24px;margin:8px 0}h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}\
header p,section>p{color:#555;margin:4px 0}\
figure.chart{margin:12px 0;background:#fff;border:1px solid #e3e3e3;border-radius:4px;padding:4px;display:inline-block;vertical-align:top}\
figure.chart svg{max-width:100%;height:auto;display:block}\
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}\
.card{background:#fff;border:1px solid #e3e3e3;border-radius:4px;padding:8px 14px;min-width:120px}\
.card b{display:block;font-size:20px}.card span{color:#666;font-size:12px}\
table{border-collapse:collapse;background:#fff;font-size:13px;margin:8px 0}\
th,td{border:1px solid #e3e3e3;padding:3px 8px;text-align:right;white-space:nowrap}\
th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}\
tr.group th{text-align:left;background:#e8eef5}\
tbody tr:nth-child(even) td{background:#fbfbfb}";
const STYLE_TAIL: &str = "\
.metrics-grid{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}\
details summary{cursor:pointer;color:#1f5fa8;margin:8px 0}\
#render-status{color:#888;font-size:12px}";

/// The checker: every `figure.chart` must hold an SVG with drawn shapes and a visible size.
const CHECK_SCRIPT: &str = "(function(){\
var figs=document.querySelectorAll('figure.chart'),bad=[];\
for(var i=0;i<figs.length;i++){var f=figs[i],svg=f.querySelector('svg');\
var n=svg?svg.querySelectorAll('polyline,path,rect,circle,polygon,line').length:0;\
var box=svg?svg.getBoundingClientRect():{width:0,height:0};\
f.setAttribute('data-shapes',n);\
if(n<3||box.width<50||box.height<50){bad.push(f.id);}}\
if(figs.length!==EXPECTED){bad.push('expected EXPECTED charts, found '+figs.length);}\
var s=document.getElementById('render-status');\
s.setAttribute('data-status',bad.length?'failed':'ok');\
s.textContent=bad.length?'charts failed: '+bad.join(', '):'all '+figs.length+' charts drawn';\
if(bad.length){console.error('janus report: '+s.textContent);}})();";

/// A whole English page around `body`, in the default colours, with the style sheet and the
/// chart checker expecting `charts` charts.
pub fn page(title: &str, body: &str, charts: usize) -> String {
    page_in(&Style::default(), title, body, charts, "")
}

/// A whole page around `body` in `style` (its language in `<html lang>`, its colours in the
/// style sheet), with `extra_css` rules appended and the chart checker expecting `charts`
/// charts.
pub fn page_in(style: &Style, title: &str, body: &str, charts: usize, extra_css: &str) -> String {
    let script = CHECK_SCRIPT.replace("EXPECTED", &charts.to_string());
    let p = style.palette();
    format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}.up{{color:{}}}.down{{color:{}}}{STYLE_TAIL}{extra_css}</style>\n</head>\n\
         <body>\n{body}\n\
         <p id=\"render-status\" data-status=\"pending\">checking charts</p>\n\
         <script>{script}</script>\n</body>\n</html>\n",
        style.lang.html_lang(),
        escape(title),
        p.up_css(),
        p.down_css(),
    )
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.2}%", x * 100.0)
    } else {
        "n/a".into()
    }
}

fn signed(x: f64) -> &'static str {
    if x > 0.0 {
        " class=\"up\""
    } else if x < 0.0 {
        " class=\"down\""
    } else {
        ""
    }
}

/// An exact amount from the metrics, with thousands separators and two decimals.
pub(crate) fn cny(text: &str) -> String {
    parse_money(text).map_or_else(|| text.to_string(), money)
}

fn date(d: Option<NaiveDate>) -> String {
    d.map_or_else(|| "—".to_string(), |d| d.to_string())
}

fn table(out: &mut String, lang: Lang, header: &[&str], rows: impl IntoIterator<Item = String>) {
    out.push_str("<table><thead><tr>");
    for h in header {
        let _ = write!(out, "<th>{}</th>", lang.t(h));
    }
    out.push_str("</tr></thead><tbody>");
    for r in rows {
        out.push_str(&r);
    }
    out.push_str("</tbody></table>");
}

fn trip_row(t: &RoundTrip) -> String {
    format!(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td{}>{}</td><td>{}</td>\
         <td class=\"up\">{}</td><td class=\"down\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        escape(&t.symbol),
        t.entry_date,
        date(t.exit_date),
        t.entry_price,
        t.exit_price,
        signed(t.ret),
        pct(t.ret),
        t.days_held,
        pct(t.mfe),
        pct(t.mae),
        pct(t.giveback),
        escape(&t.exit_reason),
        t.exit_kind.as_str(),
    )
}

const TRIP_HEADER: [&str; 12] = [
    "symbol",
    "entry",
    "exit",
    "entry price",
    "exit price",
    "return",
    "days",
    "MFE",
    "MAE",
    "giveback",
    "exit reason",
    "kind",
];

fn refused_row(r: &RefusedSell, lang: Lang) -> String {
    format!(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td>\
         <td>{}</td><td{}>{}</td></tr>",
        escape(&r.symbol),
        escape(&r.tag),
        r.reason.code(),
        r.refusals,
        r.wanted_date,
        r.wanted_price,
        r.shares,
        r.filled_date.map_or_else(|| lang.t("still stuck").to_string(), |d| d.to_string()),
        r.fill_price,
        r.days_stuck,
        // A positive cost is money lost by waiting.
        signed(-r.cost.as_f64()),
        money(r.cost),
    )
}

/// Round trips grouped by exit reason: how each way out performed.
fn exits_table(out: &mut String, lang: Lang, trips: &[RoundTrip]) {
    let mut groups: BTreeMap<(ExitKind, &str), Vec<&RoundTrip>> = BTreeMap::new();
    for t in trips {
        groups.entry((t.exit_kind, t.exit_reason.as_str())).or_default().push(t);
    }
    let rows = groups.iter().map(|((kind, reason), ts)| {
        let n = ts.len() as f64;
        let avg = |f: &dyn Fn(&RoundTrip) -> f64| ts.iter().map(|t| f(t)).sum::<f64>() / n;
        let wins = ts.iter().filter(|t| t.pnl.0 > 0).count() as f64 / n;
        let pnl: janus_core::Money = ts.iter().map(|t| t.pnl).sum();
        format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td{}>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td{}>{}</td></tr>",
            escape(reason),
            kind.as_str(),
            ts.len(),
            pct(wins),
            signed(avg(&|t| t.ret)),
            pct(avg(&|t| t.ret)),
            pct(avg(&|t| t.mfe)),
            pct(avg(&|t| t.giveback)),
            avg(&|t| t.days_held as f64),
            signed(pnl.as_f64()),
            money(pnl),
        )
    });
    let header = [
        "exit reason",
        "kind",
        "trips",
        "win rate",
        "avg return",
        "avg MFE",
        "avg giveback",
        "avg days",
        "total P&amp;L",
    ];
    table(out, lang, &header, rows);
}

/// Render the report of one run. `run_id` heads the page; the record and its analysis give
/// everything else.
pub fn report_html(run_id: &str, record: &RunRecord, a: &Analysis) -> Result<String, ReportError> {
    let m = &a.metrics;
    let style = &a.style;
    let lang = style.lang;
    let dates: Vec<NaiveDate> = record.account_snapshots.iter().map(|s| s.date).collect();
    let initial = a.initial_cash.as_f64();
    let growth: Vec<f64> = record
        .account_snapshots
        .iter()
        .map(|s| if initial > 0.0 { s.total_value.as_f64() / initial } else { 1.0 })
        .collect();
    let mut lines = vec![Line::daily(lang.t("run"), &growth, charts::RUN_COLOR)];
    // The default benchmark's name is Janus's own words; a file's name is the file's.
    let bench_name = |name: &str| {
        if name == crate::benchmark::EQUAL_WEIGHT {
            lang.t(name).to_string()
        } else {
            name.to_string()
        }
    };
    if let Some((name, returns)) = &a.benchmark {
        let mut value = 1.0;
        let bench: Vec<f64> = returns
            .iter()
            .map(|r| {
                value *= 1.0 + r;
                value
            })
            .collect();
        lines.push(Line::daily(&lang.fill("benchmark: {0}", &[&bench_name(name)]), &bench, charts::OTHER_COLOR));
    }
    let chart_list = [
        (
            "chart-equity",
            charts::lines_chart(
                lang.t("Equity against the benchmark (1 = initial cash)"),
                &dates,
                &lines,
                false,
                (1100, 380),
                style,
            )?,
        ),
        ("chart-drawdown", charts::drawdown_chart(&dates, &a.drawdowns, style)?),
        ("chart-monthly", charts::monthly_heatmap(&dates, &a.returns, style)?),
        ("chart-excursions", charts::excursion_scatter(&a.trips, style)?),
        ("chart-holding", charts::holding_histogram(&a.trips, style)?),
        ("chart-risk-events", charts::risk_events_chart(&dates, &record.risk_events, style)?),
        ("chart-stuck-sells", charts::refused_sell_scatter(&a.refused, style)?),
        ("chart-friction", crate::friction::waterfall_svg(m.friction.as_ref(), style)?),
    ];
    let figure = |id: &str| {
        let svg = chart_list.iter().find(|(i, _)| *i == id).map_or("", |(_, s)| s.as_str());
        format!("<figure class=\"chart\" id=\"{id}\">{svg}</figure>")
    };

    let mut body = String::new();
    let period = match (m.start_date, m.end_date) {
        (Some(s), Some(e)) => lang.fill("{0} to {1}, {2} trading days", &[&s, &e, &m.trading_days]),
        _ => lang.t("no trading day recorded").to_string(),
    };
    let bench = a.benchmark.as_ref().map_or_else(|| lang.t("none").to_string(), |(n, _)| escape(&bench_name(n)));
    let _ = write!(
        body,
        "<header><h1>{}</h1><p>{}</p></header>",
        lang.fill("Janus run {0}", &[&escape(run_id)]),
        lang.fill(
            "{0}. Initial cash {1}, final value {2}. Benchmark: {3}.",
            &[&period, &cny(&m.initial_cash), &cny(&m.final_value), &bench]
        ),
    );
    body.push_str("<nav>");
    let sections = [
        ("frictions", "why it fails live"),
        ("charts", "charts"),
        ("metrics", "metrics"),
        ("exits", "exits"),
        ("gave-back", "gave it back"),
        ("refused-sells", "refused sells"),
        ("trips", "round trips"),
    ];
    for (i, (id, name)) in sections.iter().enumerate() {
        let _ = write!(body, "{}<a href=\"#{id}\">{}</a>", if i > 0 { " · " } else { "" }, lang.t(name));
    }
    body.push_str("</nav>");
    body.push_str("<div class=\"cards\">");
    let rows = headline(m);
    for label in [
        "Total return",
        "Annualized return",
        "Sharpe",
        "Max drawdown",
        "Win rate",
        "Profit/loss ratio",
        "Excess return",
        "Stuck sells",
    ] {
        if let Some(r) = rows.iter().find(|r| r.label == label) {
            let _ = write!(body, "<div class=\"card\"><b>{}</b><span>{}</span></div>", r.show(lang), lang.t(r.label));
        }
    }
    body.push_str("</div>");

    let gave_back_count = gave_back(&a.trips, a.gave_back.up, a.gave_back.below).len();
    body.push_str(&crate::friction::section_html(m, &figure("chart-friction"), gave_back_count, style));
    let _ = write!(body, "<section id=\"charts\"><h2>{}</h2>", lang.t("Charts"));
    for id in [
        "chart-equity",
        "chart-drawdown",
        "chart-monthly",
        "chart-excursions",
        "chart-holding",
        "chart-risk-events",
        "chart-stuck-sells",
    ] {
        body.push_str(&figure(id));
    }
    body.push_str("</section>");

    let _ = write!(body, "<section id=\"metrics\"><h2>{}</h2><div class=\"metrics-grid\">", lang.t("Metrics"));
    let mut groups: Vec<(&str, Vec<&crate::compare::Row>)> = Vec::new();
    for r in &rows {
        match groups.last_mut() {
            Some((g, v)) if *g == r.group => v.push(r),
            _ => groups.push((r.group, vec![r])),
        }
    }
    for (g, rs) in groups {
        let _ = write!(body, "<table><thead><tr><th colspan=\"2\">{}</th></tr></thead><tbody>", lang.t(g));
        for r in rs {
            let _ = write!(body, "<tr><td>{}</td><td>{}</td></tr>", lang.t(r.label), r.show(lang));
        }
        body.push_str("</tbody></table>");
    }
    body.push_str("</div>");
    if let (Some(s), Some(e)) = (m.max_drawdown_start, m.max_drawdown_end) {
        let recovery = match (m.max_drawdown_recovery, m.max_drawdown_recovery_days) {
            (Some(on), Some(days)) => lang.fill("recovered on {0}, {1} trading days after the trough", &[&on, &days]),
            _ => match m.max_drawdown_days.saturating_sub(m.max_drawdown_peak_to_trough_days) {
                0 => lang.t("not recovered: the trough is the last day").to_string(),
                since => lang.fill("not recovered by the end, {0} trading days after the trough", &[&since]),
            },
        };
        let _ = write!(
            body,
            "<p>{}</p>",
            lang.fill(
                "Max drawdown from the peak of {0} to the trough of {1}, {2} trading days down; {3}.",
                &[&s, &e, &m.max_drawdown_peak_to_trough_days, &recovery]
            )
        );
    }
    body.push_str("</section>");

    let _ = write!(
        body,
        "<section id=\"exits\"><h2>{}</h2><p>{}</p>",
        lang.t("Exits"),
        lang.t(
            "Round trips by the reason of their last sell (<i>end_of_run</i>: still held, marked at the last close). \
             MFE is the best close while held, giveback what the trip gave back from it."
        )
    );
    exits_table(&mut body, lang, &a.trips);
    body.push_str("</section>");

    let gb = gave_back(&a.trips, a.gave_back.up, a.gave_back.below);
    let _ = write!(
        body,
        "<section id=\"gave-back\"><h2>{}</h2><p>{}</p>",
        lang.t("Gave it back"),
        lang.fill(
            "{0} of {1} round trips were up at least {2} at a close and ended below {3}.",
            &[&gb.len(), &a.trips.len(), &pct(a.gave_back.up), &pct(a.gave_back.below)]
        )
    );
    table(&mut body, lang, &TRIP_HEADER, gb.iter().map(|t| trip_row(t)));
    body.push_str("</section>");

    let r = &m.refused_sells;
    let _ = write!(
        body,
        "<section id=\"refused-sells\"><h2>{}</h2><p>{}</p>",
        lang.t("Refused sells"),
        lang.fill(
            "{0} wanted sells were stuck ({1} refusals: limit-down, suspension, volume cap, T+1): {2} filled later \
             after {3} trading days on average, costing {4} CNY against the close when the sell was wanted; {5} \
             still stuck at the end, marked at {6} CNY. Positive cost = lost by waiting.",
            &[
                &r.episodes,
                &r.refusals,
                &r.resolved,
                &r.avg_days_stuck.map_or_else(|| lang.t("n/a").to_string(), |d| format!("{d:.1}")),
                &cny(&r.cost_resolved),
                &r.still_stuck,
                &cny(&r.cost_still_stuck),
            ]
        )
    );
    table(
        &mut body,
        lang,
        &["first refusal", "episodes"],
        r.by_reason.iter().map(|(k, v)| format!("<tr><td>{k}</td><td>{v}</td></tr>")),
    );
    let header = [
        "symbol",
        "wanted by",
        "reason",
        "refusals",
        "wanted on",
        "price then",
        "shares",
        "filled on",
        "fill price",
        "days stuck",
        "cost",
    ];
    table(&mut body, lang, &header, a.refused.iter().take(MAX_REFUSED_ROWS).map(|r| refused_row(r, lang)));
    if a.refused.len() > MAX_REFUSED_ROWS {
        let more = a.refused.len() - MAX_REFUSED_ROWS;
        let _ = write!(body, "<p>{}</p>", lang.fill("{0} more in refused_sells.csv.", &[&more]));
    }
    body.push_str("</section>");

    let _ = write!(
        body,
        "<section id=\"trips\"><h2>{}</h2><details><summary>{}</summary>",
        lang.t("Round trips"),
        lang.fill("All {0} round trips", &[&a.trips.len()])
    );
    table(&mut body, lang, &TRIP_HEADER, a.trips.iter().take(MAX_TRIP_ROWS).map(trip_row));
    if a.trips.len() > MAX_TRIP_ROWS {
        let more = a.trips.len() - MAX_TRIP_ROWS;
        let _ = write!(body, "<p>{}</p>", lang.fill("{0} more in trades.csv.", &[&more]));
    }
    body.push_str("</details></section>");
    let title = lang.fill("Janus report: {0}", &[&run_id]);
    Ok(page_in(style, &title, &body, chart_list.len(), ""))
}

#[cfg(test)]
mod tests;
