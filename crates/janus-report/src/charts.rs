//! The report's charts, drawn by `plotters` into SVG strings that the HTML report inlines.
//!
//! Time runs on a trading-day index (no gaps at weekends), labelled with dates. Every chart
//! draws its axes even without data, with a note saying what is missing, so a chart is never a
//! blank box. Output is deterministic: same inputs, same bytes. Titles, legends and notes are
//! in the [`Style`]'s language, and gains and losses take its colour convention.

use crate::analytics::RefusedSell;
use crate::style::Style;
use crate::trades::RoundTrip;
use crate::ReportError;
use chrono::{Datelike, NaiveDate};
use janus_core::RiskEvent;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::collections::BTreeMap;

/// Line colour of the run.
pub const RUN_COLOR: RGBColor = RGBColor(31, 119, 180);
/// Line colour of the benchmark (and of the second run in a comparison).
pub const OTHER_COLOR: RGBColor = RGBColor(230, 120, 20);
const GREY: RGBColor = RGBColor(120, 120, 120);
/// Colours of the risk-event reasons, in order of frequency.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
/// The `i`-th colour of the palette (it repeats after ten), for one line among many.
pub fn nth_color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

const FONT: &str = "sans-serif";
/// Font sizes as plotters takes them (its SVG text comes out at about 0.8 of this in pixels).
const LABEL: f64 = 14.0;
const TITLE: f64 = 20.0;

type Result<T> = std::result::Result<T, ReportError>;

fn chart_err<E: std::fmt::Display>(e: E) -> ReportError {
    ReportError::Chart(e.to_string())
}

/// Draw on a fresh SVG canvas of `size` and return the SVG text.
fn svg(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend, plotters::coord::Shift>) -> Result<()>,
) -> Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        draw(&root)?;
        root.present().map_err(chart_err)?;
    }
    Ok(out)
}

fn pct(x: f64) -> String {
    let s = format!("{:.0}%", x * 100.0);
    if s == "-0%" {
        "0%".to_string()
    } else {
        s
    }
}

/// A range padded by 5% on each side (and never empty).
fn padded(lo: f64, hi: f64) -> std::ops::Range<f64> {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() && lo <= hi { (lo, hi) } else { (0.0, 1.0) };
    let pad = ((hi - lo) * 0.05).max(1e-6);
    (lo - pad)..(hi + pad)
}

fn min_max<'a>(xs: impl IntoIterator<Item = &'a f64>) -> (f64, f64) {
    xs.into_iter()
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(*x), hi.max(*x)))
}

fn date_label(dates: &[NaiveDate], x: f64) -> String {
    let i = x.round();
    if i < 0.0 || i as usize >= dates.len() {
        return String::new();
    }
    dates[i as usize].format("%Y-%m").to_string()
}

fn note<DB: DrawingBackend>(area: &DrawingArea<DB, plotters::coord::Shift>, text: &str) -> Result<()> {
    let (w, h) = area.dim_in_pixel();
    let style = TextStyle::from((FONT, TITLE)).color(&GREY).pos(Pos::new(HPos::Center, VPos::Center));
    area.draw(&Text::new(text.to_string(), (w as i32 / 2, h as i32 / 2), style)).map_err(chart_err)
}

/// One named line: `(trading-day index, value)` points.
pub struct Line {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
}

impl Line {
    /// A line with one value per trading day from day 0.
    pub fn daily(name: &str, values: &[f64], color: RGBColor) -> Line {
        Line { name: name.to_string(), points: values.iter().enumerate().map(|(i, v)| (i as f64, *v)).collect(), color }
    }
}

/// Lines over the trading days `dates` (e.g. equity against the benchmark), `y_pct` formatting
/// the axis as percentages. `title` and the line names come translated.
pub fn lines_chart(
    title: &str,
    dates: &[NaiveDate],
    lines: &[Line],
    y_pct: bool,
    size: (u32, u32),
    style: &Style,
) -> Result<String> {
    svg(size, |root| {
        let (lo, hi) = min_max(lines.iter().flat_map(|l| l.points.iter().map(|p| &p.1)));
        let n = dates.len().max(2);
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, TITLE))
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..(n - 1) as f64, padded(lo, hi))
            .map_err(chart_err)?;
        let fmt_y = |y: &f64| if y_pct { pct(*y) } else { format!("{y:.2}") };
        chart
            .configure_mesh()
            .x_labels(8)
            .y_labels(8)
            .x_label_formatter(&|x| date_label(dates, *x))
            .y_label_formatter(&fmt_y)
            .label_style((FONT, LABEL))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(chart_err)?;
        for line in lines {
            let color = line.color;
            chart
                .draw_series(LineSeries::new(line.points.iter().copied(), color.stroke_width(2)))
                .map_err(chart_err)?
                .label(line.name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        }
        if lines.iter().all(|l| l.points.is_empty()) {
            return note(root, style.t("no trading day recorded"));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(GREY)
            .draw()
            .map_err(chart_err)
    })
}

/// Drawdown from the running peak, drawn below zero.
pub fn drawdown_chart(dates: &[NaiveDate], drawdowns: &[f64], style: &Style) -> Result<String> {
    let loss = style.palette().down;
    svg((1100, 300), |root| {
        let (_, worst) = min_max(drawdowns);
        let worst = if worst.is_finite() { worst.max(0.01) } else { 0.01 };
        let n = drawdowns.len().max(2);
        let mut chart = ChartBuilder::on(root)
            .caption(style.t("Drawdown from the running peak"), (FONT, TITLE))
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..(n - 1) as f64, -worst * 1.05..0f64)
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .x_labels(8)
            .x_label_formatter(&|x| date_label(dates, *x))
            .y_label_formatter(&|y| pct(*y))
            .label_style((FONT, LABEL))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(chart_err)?;
        let points = drawdowns.iter().enumerate().map(|(i, d)| (i as f64, -d));
        chart.draw_series(AreaSeries::new(points, 0.0, loss.mix(0.35)).border_style(loss)).map_err(chart_err)?;
        if drawdowns.is_empty() {
            note(root, style.t("no trading day recorded"))?;
        }
        Ok(())
    })
}

/// Compounded return of each calendar month: `(year, month) -> return`.
pub fn monthly_returns(dates: &[NaiveDate], returns: &[f64]) -> BTreeMap<(i32, u32), f64> {
    let mut growth: BTreeMap<(i32, u32), f64> = BTreeMap::new();
    for (d, r) in dates.iter().zip(returns) {
        *growth.entry((d.year(), d.month())).or_insert(1.0) *= 1.0 + r;
    }
    growth.into_iter().map(|(k, g)| (k, g - 1.0)).collect()
}

/// Heat map of monthly returns: one row per year, one cell per month, in the colours of gains
/// and losses.
pub fn monthly_heatmap(dates: &[NaiveDate], returns: &[f64], style: &Style) -> Result<String> {
    let palette = style.palette();
    let months = monthly_returns(dates, returns);
    let mut years: Vec<i32> = months.keys().map(|(y, _)| *y).collect();
    years.dedup();
    let ny = years.len().max(1);
    let max_abs = months.values().fold(0.0f64, |m, r| m.max(r.abs())).max(1e-9);
    svg((1100, 90 + 34 * ny as u32), |root| {
        // Cells on a plain grid: month m of the i-th year is [m, m + 1] x [i, i + 1], the first
        // year on top; month and year names are written on the canvas beside the grid.
        let mut chart = ChartBuilder::on(root)
            .caption(style.t("Monthly returns"), (FONT, TITLE))
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..12f64, ny as f64..0f64)
            .map_err(chart_err)?;
        let row_of = |year: i32| years.iter().position(|y| *y == year).unwrap_or(0) as f64;
        let cell = |(year, month): (i32, u32), r: f64| {
            let (x, y) = ((month - 1) as f64, row_of(year));
            let t = (r.abs() / max_abs).min(1.0);
            let base = if r >= 0.0 { palette.up } else { palette.down };
            let mix = |c: u8| (255.0 - (255.0 - c as f64) * (0.15 + 0.85 * t)).round() as u8;
            let fill = RGBColor(mix(base.0), mix(base.1), mix(base.2));
            Rectangle::new([(x, y), (x + 1.0, y + 1.0)], fill.filled())
        };
        chart.draw_series(months.iter().map(|(k, r)| cell(*k, *r))).map_err(chart_err)?;
        let centred = TextStyle::from((FONT, LABEL)).pos(Pos::new(HPos::Center, VPos::Center));
        chart
            .draw_series(months.iter().map(|((year, month), r)| {
                let at = ((month - 1) as f64 + 0.5, row_of(*year) + 0.5);
                Text::new(format!("{:+.1}%", r * 100.0), at, centred.clone())
            }))
            .map_err(chart_err)?;
        let names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        for (m, name) in names.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(m as f64 + 0.5, ny as f64));
            root.draw(&Text::new(style.t(name).to_string(), (x, y + 14), centred.clone())).map_err(chart_err)?;
        }
        let right = TextStyle::from((FONT, LABEL)).pos(Pos::new(HPos::Right, VPos::Center));
        for (i, year) in years.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(0.0, i as f64 + 0.5));
            root.draw(&Text::new(year.to_string(), (x - 8, y), right.clone())).map_err(chart_err)?;
        }
        if months.is_empty() {
            note(root, style.t("no trading day recorded"))?;
        }
        Ok(())
    })
}

/// Maximum favourable against maximum adverse excursion of each round trip, winners in the
/// colour of gains.
pub fn excursion_scatter(trips: &[RoundTrip], style: &Style) -> Result<String> {
    let palette = style.palette();
    svg((545, 420), |root| {
        let (xlo, _) = min_max(trips.iter().map(|t| &t.mae));
        let (_, yhi) = min_max(trips.iter().map(|t| &t.mfe));
        let xlo = if xlo.is_finite() { xlo.min(-0.01) } else { -0.1 };
        let yhi = if yhi.is_finite() { yhi.max(0.01) } else { 0.1 };
        let mut chart = ChartBuilder::on(root)
            .caption(style.t("Round trips: best (MFE) vs worst (MAE) close"), (FONT, TITLE))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(padded(xlo, 0.0), padded(0.0, yhi))
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .x_desc("MAE")
            .y_desc("MFE")
            .x_label_formatter(&|x| pct(*x))
            .y_label_formatter(&|y| pct(*y))
            .label_style((FONT, LABEL))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(chart_err)?;
        for (name, color, wins) in [("winners", palette.up, true), ("losers", palette.down, false)] {
            let points = trips
                .iter()
                .filter(|t| (t.ret > 0.0) == wins)
                .map(|t| Circle::new((t.mae, t.mfe), 3, color.mix(0.6).filled()));
            chart
                .draw_series(points)
                .map_err(chart_err)?
                .label(style.t(name))
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, color.filled()));
        }
        if trips.is_empty() {
            return note(root, style.t("no round trip"));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(GREY)
            .draw()
            .map_err(chart_err)
    })
}

/// Histogram of trading days held per round trip.
pub fn holding_histogram(trips: &[RoundTrip], style: &Style) -> Result<String> {
    svg((545, 420), |root| {
        let max_days = trips.iter().map(|t| t.days_held).max().unwrap_or(0);
        let width = (max_days / 40 + 1).max(1);
        let mut bins: BTreeMap<u32, u32> = BTreeMap::new();
        for t in trips {
            *bins.entry(t.days_held / width).or_default() += 1;
        }
        let top = bins.values().copied().max().unwrap_or(1) as f64;
        let mut chart = ChartBuilder::on(root)
            .caption(style.t("Trading days held per round trip"), (FONT, TITLE))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(0f64..((max_days / width + 1) * width) as f64, 0f64..top * 1.08)
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .x_desc(style.t("days held"))
            .y_desc(style.t("round trips"))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style((FONT, LABEL))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(chart_err)?;
        let bar = |(bin, count): (&u32, &u32)| {
            let x0 = (bin * width) as f64;
            Rectangle::new([(x0, 0.0), (x0 + width as f64, *count as f64)], RUN_COLOR.mix(0.75).filled())
        };
        chart.draw_series(bins.iter().map(bar)).map_err(chart_err)?;
        if trips.is_empty() {
            note(root, style.t("no round trip"))?;
        }
        Ok(())
    })
}

/// Refusals per month, stacked by reason code (the most frequent at the bottom).
pub fn risk_events_chart(dates: &[NaiveDate], events: &[RiskEvent], style: &Style) -> Result<String> {
    let month = |d: &NaiveDate| (d.year(), d.month());
    let mut months: Vec<(i32, u32)> = dates.iter().chain(events.iter().map(|e| &e.date)).map(month).collect();
    months.sort_unstable();
    months.dedup();
    let mut totals: BTreeMap<&str, u64> = BTreeMap::new();
    let mut counts: BTreeMap<(&str, usize), u64> = BTreeMap::new();
    for e in events {
        let m = months.binary_search(&month(&e.date)).unwrap_or(0);
        *totals.entry(e.reason.code()).or_default() += 1;
        *counts.entry((e.reason.code(), m)).or_default() += 1;
    }
    let mut reasons: Vec<(&str, u64)> = totals.into_iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut per_month = vec![0u64; months.len()];
    for ((_, m), c) in &counts {
        per_month[*m] += c;
    }
    let top = per_month.iter().copied().max().unwrap_or(0).max(1) as f64;
    svg((1100, 360), |root| {
        let n = months.len().max(1);
        let mut chart = ChartBuilder::on(root)
            .caption(style.t("Refusals per month by reason"), (FONT, TITLE))
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..n as f64, 0f64..top * 1.08)
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .x_labels(12)
            .x_label_formatter(&|x| {
                let i = x.floor() as usize;
                months.get(i).map_or_else(String::new, |(y, m)| format!("{y}-{m:02}"))
            })
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style((FONT, LABEL))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(chart_err)?;
        let mut base = vec![0u64; months.len()];
        for (k, (reason, _)) in reasons.iter().enumerate() {
            let color = PALETTE[k % PALETTE.len()];
            let mut bars = Vec::new();
            for (m, b) in base.iter_mut().enumerate() {
                let c = counts.get(&(*reason, m)).copied().unwrap_or(0);
                if c > 0 {
                    bars.push(Rectangle::new(
                        [(m as f64 + 0.1, *b as f64), (m as f64 + 0.9, (*b + c) as f64)],
                        color.filled(),
                    ));
                    *b += c;
                }
            }
            chart
                .draw_series(bars)
                .map_err(chart_err)?
                .label(reason.to_string())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
        }
        if events.is_empty() {
            return note(root, style.t("no refusal recorded"));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(GREY)
            .draw()
            .map_err(chart_err)
    })
}

/// Cost of each refused-sell episode against the days it was stuck (still-stuck ones hollow); a
/// cost (money lost by waiting) in the colour of losses.
pub fn refused_sell_scatter(refused: &[RefusedSell], style: &Style) -> Result<String> {
    let palette = style.palette();
    svg((545, 420), |root| {
        let (lo, hi) = min_max(refused.iter().map(|r| r.cost.as_f64()).collect::<Vec<f64>>().iter());
        let days = refused.iter().map(|r| r.days_stuck).max().unwrap_or(1).max(1) as f64;
        let (lo, hi) = if lo.is_finite() { (lo.min(0.0), hi.max(0.0)) } else { (0.0, 1.0) };
        let mut chart = ChartBuilder::on(root)
            .caption(style.t("Stuck sells: cost of waiting vs days stuck"), (FONT, TITLE))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(padded(0.0, days), padded(lo, hi))
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .x_desc(style.t("days stuck"))
            .y_desc(style.t("cost (CNY)"))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style((FONT, LABEL))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(chart_err)?;
        let marker = |r: &RefusedSell| {
            let c = if r.cost.0 > 0 { palette.down } else { palette.up };
            if r.is_resolved() {
                c.mix(0.6).filled()
            } else {
                c.stroke_width(2)
            }
        };
        chart
            .draw_series(refused.iter().map(|r| Circle::new((r.days_stuck as f64, r.cost.as_f64()), 4, marker(r))))
            .map_err(chart_err)?;
        if refused.is_empty() {
            note(root, style.t("no sell was refused"))?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;
    use crate::style::Colors;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, m, day).unwrap()
    }

    #[test]
    fn charts_without_data_still_draw_axes_and_say_what_is_missing() {
        for (lang, no) in [(Lang::En, "no "), (Lang::Zh, "没有")] {
            let s = &Style { lang, ..Style::default() };
            let svgs = [
                lines_chart("t", &[], &[Line::daily("run", &[], RUN_COLOR)], false, (600, 300), s).unwrap(),
                drawdown_chart(&[], &[], s).unwrap(),
                monthly_heatmap(&[], &[], s).unwrap(),
                excursion_scatter(&[], s).unwrap(),
                holding_histogram(&[], s).unwrap(),
                risk_events_chart(&[], &[], s).unwrap(),
                refused_sell_scatter(&[], s).unwrap(),
            ];
            for svg in &svgs {
                assert!(svg.starts_with("<svg") && svg.contains("<text"), "{svg}");
                assert!(svg.contains(no), "a note says what is missing: {svg}");
            }
        }
        assert!(crate::i18n::missing::take().is_empty());
    }

    #[test]
    fn monthly_returns_compound_within_each_month_and_one_year_draws_twelve_columns() {
        let dates = [d(1, 30), d(1, 31), d(2, 1)];
        let m = monthly_returns(&dates, &[0.1, 0.1, -0.05]);
        assert!((m[&(2024, 1)] - 0.21).abs() < 1e-12 && (m[&(2024, 2)] + 0.05).abs() < 1e-12);
        let svg = monthly_heatmap(&dates, &[0.1, 0.1, -0.05], &Style::default()).unwrap();
        assert!(svg.contains("\nDec\n") && svg.contains("\n2024\n") && svg.contains("+21.0%"), "{svg}");
        assert!(!svg.contains("2025"));
        assert_eq!(svg.matches("<rect").count(), 3, "the background and two month cells");
    }

    #[test]
    fn the_same_data_draws_the_same_bytes() {
        let dates = [d(1, 2), d(1, 3), d(1, 4)];
        let s = &Style::default();
        let a =
            lines_chart("t", &dates, &[Line::daily("run", &[1.0, 1.1, 0.9], RUN_COLOR)], false, (600, 300), s).unwrap();
        let b =
            lines_chart("t", &dates, &[Line::daily("run", &[1.0, 1.1, 0.9], RUN_COLOR)], false, (600, 300), s).unwrap();
        assert_eq!(a, b);
        assert!(a.contains("<polyline"));
    }

    #[test]
    fn the_a_share_convention_draws_gains_red_and_losses_green() {
        let dates = [d(1, 30), d(2, 1)];
        let returns = [0.1, -0.05];
        let green_up = monthly_heatmap(&dates, &returns, &Style::default()).unwrap();
        let red_up = monthly_heatmap(&dates, &returns, &Style { colors: Colors::RedUp, ..Style::default() }).unwrap();
        // January gained (full colour at the largest move), February lost.
        let full = |c: RGBColor| format!("fill=\"#{:02X}{:02X}{:02X}\"", c.0, c.1, c.2);
        let (green, red) = (Colors::GreenUp.palette().up, Colors::GreenUp.palette().down);
        assert!(green_up.contains(&full(green)) && !green_up.contains(&full(red)), "{green_up}");
        assert!(red_up.contains(&full(red)) && !red_up.contains(&full(green)), "{red_up}");
        let zh = monthly_heatmap(&dates, &returns, &Style { lang: Lang::Zh, ..Style::default() }).unwrap();
        assert!(zh.contains("月度收益") && zh.contains("\n1月\n") && zh.contains("\n12月\n"), "{zh}");
    }
}
