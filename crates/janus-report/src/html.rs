//! The self-contained HTML report of one run: metrics, charts (inline SVG) and the tables that
//! show where the money went. One file, no external resource, no network at view time, and the
//! same run gives the same bytes.
//!
//! A short inline script checks, once the page has loaded, that every chart drew content and
//! writes the verdict into `#render-status` (and to the console as an error when a chart is
//! empty), which the browser test reads.

use crate::analytics::{gave_back, ExitKind, RefusedSell};
use crate::charts::{self, Line};
use crate::compare::headline;
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
tbody tr:nth-child(even) td{background:#fbfbfb}\
.up{color:#1a7f37}.down{color:#c62828}\
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

/// A whole HTML page around `body`, with the style sheet and the chart checker expecting
/// `charts` charts.
pub fn page(title: &str, body: &str, charts: usize) -> String {
    let script = CHECK_SCRIPT.replace("EXPECTED", &charts.to_string());
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n\
         <p id=\"render-status\" data-status=\"pending\">checking charts</p>\n\
         <script>{script}</script>\n</body>\n</html>\n",
        escape(title)
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

fn date(d: Option<NaiveDate>) -> String {
    d.map_or_else(|| "—".to_string(), |d| d.to_string())
}

fn table(out: &mut String, header: &[&str], rows: impl IntoIterator<Item = String>) {
    out.push_str("<table><thead><tr>");
    for h in header {
        let _ = write!(out, "<th>{h}</th>");
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

fn refused_row(r: &RefusedSell) -> String {
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
        r.filled_date.map_or_else(|| "still stuck".to_string(), |d| d.to_string()),
        r.fill_price,
        r.days_stuck,
        // A positive cost is money lost by waiting.
        signed(-r.cost.as_f64()),
        r.cost,
    )
}

/// Round trips grouped by exit reason: how each way out performed.
fn exits_table(out: &mut String, trips: &[RoundTrip]) {
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
            pnl,
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
    table(out, &header, rows);
}

/// Render the report of one run. `run_id` heads the page; the record and its analysis give
/// everything else.
pub fn report_html(run_id: &str, record: &RunRecord, a: &Analysis) -> Result<String, ReportError> {
    let m = &a.metrics;
    let dates: Vec<NaiveDate> = record.account_snapshots.iter().map(|s| s.date).collect();
    let initial = a.initial_cash.as_f64();
    let growth: Vec<f64> = record
        .account_snapshots
        .iter()
        .map(|s| if initial > 0.0 { s.total_value.as_f64() / initial } else { 1.0 })
        .collect();
    let mut lines = vec![Line::daily("run", &growth, charts::RUN_COLOR)];
    if let Some((name, returns)) = &a.benchmark {
        let mut value = 1.0;
        let bench: Vec<f64> = returns
            .iter()
            .map(|r| {
                value *= 1.0 + r;
                value
            })
            .collect();
        lines.push(Line::daily(&format!("benchmark: {name}"), &bench, charts::OTHER_COLOR));
    }
    let chart_list = [
        (
            "chart-equity",
            charts::lines_chart("Equity against the benchmark (1 = initial cash)", &dates, &lines, false, (1100, 380))?,
        ),
        ("chart-drawdown", charts::drawdown_chart(&dates, &a.drawdowns)?),
        ("chart-monthly", charts::monthly_heatmap(&dates, &a.returns)?),
        ("chart-excursions", charts::excursion_scatter(&a.trips)?),
        ("chart-holding", charts::holding_histogram(&a.trips)?),
        ("chart-risk-events", charts::risk_events_chart(&dates, &record.risk_events)?),
        ("chart-stuck-sells", charts::refused_sell_scatter(&a.refused)?),
    ];
    let figure = |id: &str| {
        let svg = chart_list.iter().find(|(i, _)| *i == id).map_or("", |(_, s)| s.as_str());
        format!("<figure class=\"chart\" id=\"{id}\">{svg}</figure>")
    };

    let mut body = String::new();
    let period = match (m.start_date, m.end_date) {
        (Some(s), Some(e)) => format!("{s} to {e}, {} trading days", m.trading_days),
        _ => "no trading day recorded".to_string(),
    };
    let bench = a.benchmark.as_ref().map_or_else(|| "none".to_string(), |(n, _)| escape(n));
    let _ = write!(
        body,
        "<header><h1>Janus run {}</h1><p>{period}. Initial cash {}, final value {}. Benchmark: {bench}.</p></header>",
        escape(run_id),
        m.initial_cash,
        m.final_value
    );
    body.push_str("<nav><a href=\"#charts\">charts</a> · <a href=\"#metrics\">metrics</a> · <a href=\"#exits\">exits</a> · \
                   <a href=\"#gave-back\">gave it back</a> · <a href=\"#refused-sells\">refused sells</a> · <a href=\"#trips\">round trips</a></nav>");
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
            let _ = write!(body, "<div class=\"card\"><b>{}</b><span>{}</span></div>", r.format.show(r.value), r.label);
        }
    }
    body.push_str("</div>");

    body.push_str("<section id=\"charts\"><h2>Charts</h2>");
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

    body.push_str("<section id=\"metrics\"><h2>Metrics</h2><div class=\"metrics-grid\">");
    let mut groups: Vec<(&str, Vec<&crate::compare::Row>)> = Vec::new();
    for r in &rows {
        match groups.last_mut() {
            Some((g, v)) if *g == r.group => v.push(r),
            _ => groups.push((r.group, vec![r])),
        }
    }
    for (g, rs) in groups {
        let _ = write!(body, "<table><thead><tr><th colspan=\"2\">{g}</th></tr></thead><tbody>");
        for r in rs {
            let _ = write!(body, "<tr><td>{}</td><td>{}</td></tr>", r.label, r.format.show(r.value));
        }
        body.push_str("</tbody></table>");
    }
    body.push_str("</div>");
    if let (Some(s), Some(e)) = (m.max_drawdown_start, m.max_drawdown_end) {
        let _ = write!(
            body,
            "<p>Max drawdown from the peak of {s} to the trough of {e}; {}.</p>",
            m.max_drawdown_recovery.map_or("not recovered by the end".to_string(), |r| format!("recovered on {r}"))
        );
    }
    body.push_str("</section>");

    body.push_str(
        "<section id=\"exits\"><h2>Exits</h2><p>Round trips by the reason of their last sell \
                   (<i>end_of_run</i>: still held, marked at the last close). MFE is the best close while held, \
                   giveback what the trip gave back from it.</p>",
    );
    exits_table(&mut body, &a.trips);
    body.push_str("</section>");

    let gb = gave_back(&a.trips, a.gave_back.up, a.gave_back.below);
    let _ = write!(
        body,
        "<section id=\"gave-back\"><h2>Gave it back</h2><p>{} of {} round trips were up at least {} at a close \
         and ended below {}.</p>",
        gb.len(),
        a.trips.len(),
        pct(a.gave_back.up),
        pct(a.gave_back.below)
    );
    table(&mut body, &TRIP_HEADER, gb.iter().map(|t| trip_row(t)));
    body.push_str("</section>");

    let r = &m.refused_sells;
    let _ = write!(
        body,
        "<section id=\"refused-sells\"><h2>Refused sells</h2><p>{} wanted sells were stuck ({} refusals: limit-down, \
         suspension, volume cap, T+1): {} filled later after {} trading days on average, costing {} CNY against the \
         close when the sell was wanted; {} still stuck at the end, marked at {} CNY. Positive cost = lost by waiting.</p>",
        r.episodes,
        r.refusals,
        r.resolved,
        r.avg_days_stuck.map_or_else(|| "n/a".to_string(), |d| format!("{d:.1}")),
        r.cost_resolved,
        r.still_stuck,
        r.cost_still_stuck,
    );
    table(
        &mut body,
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
    table(&mut body, &header, a.refused.iter().take(MAX_REFUSED_ROWS).map(refused_row));
    if a.refused.len() > MAX_REFUSED_ROWS {
        let _ = write!(body, "<p>{} more in refused_sells.csv.</p>", a.refused.len() - MAX_REFUSED_ROWS);
    }
    body.push_str("</section>");

    let _ = write!(
        body,
        "<section id=\"trips\"><h2>Round trips</h2><details><summary>All {} round trips</summary>",
        a.trips.len()
    );
    table(&mut body, &TRIP_HEADER, a.trips.iter().take(MAX_TRIP_ROWS).map(trip_row));
    if a.trips.len() > MAX_TRIP_ROWS {
        let _ = write!(body, "<p>{} more in trades.csv.</p>", a.trips.len() - MAX_TRIP_ROWS);
    }
    body.push_str("</details></section>");
    Ok(page(&format!("Janus report: {run_id}"), &body, chart_list.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GaveBack;
    use janus_core::Money;

    #[test]
    fn text_from_the_run_is_escaped() {
        assert_eq!(escape("<b>\"x\" & 'y'</b>"), "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;");
        let a = Analysis::new(&RunRecord::default(), Money(1_000_000_000), None, GaveBack::default());
        let html = report_html("<script>", &RunRecord::default(), &a).unwrap();
        assert!(html.contains("Janus run &lt;script&gt;") && !html.contains("<script>alert"));
    }

    #[test]
    fn an_empty_run_still_renders_a_complete_page_with_every_chart() {
        let a = Analysis::new(&RunRecord::default(), Money(1_000_000_000), None, GaveBack::default());
        let html = report_html("empty", &RunRecord::default(), &a).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
        assert_eq!(html.matches("<figure class=\"chart\"").count(), 7);
        assert!(html.contains("figs.length!==7"), "the checker expects every chart");
        assert!(html.contains("no trading day recorded") && html.contains("Benchmark: none"));
        assert!(!html.contains("NaN"));
    }
}
