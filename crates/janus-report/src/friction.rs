//! Friction attribution: the return the real market took for each of its frictions.
//!
//! The engine replays a run with the frictions removed one at a time, in a fixed order (costs,
//! price limits, suspensions, T+1, volume cap; see `janus_engine::friction`), each step
//! keeping the earlier removals. Here those twins become a [`FrictionAttribution`]: each
//! step's total return and the return lost to its friction (the step's return minus the one
//! before it), drawn as a waterfall from the real run to the frictionless one.

use crate::analytics::RefusedSell;
use crate::metrics::Metrics;
use crate::style::Style;
use crate::ReportError;
use janus_core::{Money, RiskReason, RunRecord};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What one twin run ended with (the engine's figures, before attribution).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TwinFigures {
    /// The friction the twin removed, on top of the ones before it.
    pub key: String,
    pub final_value: Money,
    pub fills: usize,
    pub refusals: usize,
}

/// One step of the ladder from the real run to the frictionless one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrictionStep {
    /// `costs`, `price_limits`, `suspensions`, `t_plus_1` or `volume_cap`.
    pub friction: String,
    /// Total return of the run with this friction and the ones before it removed.
    pub total_return: f64,
    /// Final value of that run, exact decimal yuan.
    pub final_value: String,
    /// Return this friction cost the run: this step's total return minus the previous
    /// step's (the real run's for the first step). Negative when the friction helped.
    pub return_lost: f64,
    /// What this friction demonstrably cost the real run, as a fraction of the initial cash
    /// (positive = lost): fees and slippage for costs; for the others, the cost of waiting of
    /// the sells it left stuck (refused_sells.csv, by the reason of the first refusal). Unlike
    /// `return_lost`, it has no path effect: the twins trade differently after the first
    /// order the friction changed (other cash, other picks), this is the real run's own bill.
    pub paid_in_real_run: f64,
    /// Fills and refusals of that run.
    pub fills: usize,
    pub refusals: usize,
}

/// The real run, the frictionless twin, and the steps between.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrictionAttribution {
    pub real_return: f64,
    pub frictionless_return: f64,
    pub steps: Vec<FrictionStep>,
}

impl FrictionAttribution {
    /// Attribute from the real run's final value and its twins, in ladder order; `paid` is
    /// what each friction cost the real run directly (see [`paid_in_real_run`]).
    pub fn new(
        initial: Money,
        real_final: Money,
        twins: &[TwinFigures],
        paid: &BTreeMap<&str, Money>,
    ) -> FrictionAttribution {
        let ret = |v: Money| if initial.0 > 0 { v.as_f64() / initial.as_f64() - 1.0 } else { 0.0 };
        let real_return = ret(real_final);
        let mut previous = real_return;
        let steps: Vec<FrictionStep> = twins
            .iter()
            .map(|t| {
                let total_return = ret(t.final_value);
                let step = FrictionStep {
                    friction: t.key.clone(),
                    total_return,
                    final_value: t.final_value.to_string(),
                    return_lost: total_return - previous,
                    paid_in_real_run: paid.get(t.key.as_str()).map_or(0.0, |m| {
                        if initial.0 > 0 {
                            m.as_f64() / initial.as_f64()
                        } else {
                            0.0
                        }
                    }),
                    fills: t.fills,
                    refusals: t.refusals,
                };
                previous = total_return;
                step
            })
            .collect();
        FrictionAttribution { real_return, frictionless_return: previous, steps }
    }

    /// The friction that cost the most return, if any cost some.
    pub fn largest(&self) -> Option<&FrictionStep> {
        self.steps.iter().filter(|s| s.return_lost > 0.0).max_by(|a, b| a.return_lost.total_cmp(&b.return_lost))
    }
}

/// What each friction cost the real run directly, in money (positive = lost): commission,
/// taxes and slippage of every fill for `costs`; the cost of waiting of the stuck sells whose
/// first refusal was that friction's for the others.
pub fn paid_in_real_run(record: &RunRecord, refused: &[RefusedSell]) -> BTreeMap<&'static str, Money> {
    let mut paid: BTreeMap<&'static str, Money> = BTreeMap::new();
    let fees: Money = record.executions.iter().map(|f| f.commission + f.taxes + f.slippage).sum();
    paid.insert("costs", fees);
    for r in refused {
        let key = match r.reason {
            RiskReason::LimitDown | RiskReason::MarketLimitDown => "price_limits",
            RiskReason::Suspended | RiskReason::MarketSuspended => "suspensions",
            RiskReason::TPlusOne => "t_plus_1",
            RiskReason::VolumeCap => "volume_cap",
            _ => continue,
        };
        *paid.entry(key).or_default() += r.cost;
    }
    paid
}

/// English name of a friction key.
pub fn label(key: &str) -> &str {
    match key {
        "costs" => "costs",
        "price_limits" => "price limits",
        "suspensions" => "suspensions",
        "t_plus_1" => "T+1",
        "volume_cap" => "volume cap",
        other => other,
    }
}

fn pct(x: f64) -> String {
    let s = format!("{:+.2}%", x * 100.0);
    if s == "-0.00%" || s == "+0.00%" {
        "0.00%".to_string()
    } else {
        s
    }
}

/// The terminal lines: real, each friction's cost (twin step and paid directly), frictionless.
pub fn summary_lines(f: &FrictionAttribution) -> String {
    let mut out = format!(
        "Frictions      real run {} -> frictionless twin {}\n  {:<14}{:>12}{:>14}{:>12}\n",
        pct(f.real_return),
        pct(f.frictionless_return),
        "removed",
        "twin step",
        "twin return",
        "paid"
    );
    for s in &f.steps {
        out.push_str(&format!(
            "  {:<14}{:>12}{:>14}{:>12}\n",
            label(&s.friction),
            pct(-s.return_lost),
            pct(s.total_return),
            pct(-s.paid_in_real_run)
        ));
    }
    out.push_str(
        "  (twin step: return the friction took, each removed on top of the ones before; paid: its direct \
         bill in the real run, fees or stuck sells' cost of waiting; the difference is the path the twin took)",
    );
    out
}

/// A waterfall from the real run's total return, through each friction, to the frictionless
/// twin's: full bars at both ends, a floating bar per friction (red where the friction cost
/// return, green where it helped). Without attribution the axes are drawn with a note.
pub fn waterfall_svg(f: Option<&FrictionAttribution>, style: &Style) -> Result<String, ReportError> {
    let err = |e: &dyn std::fmt::Display| ReportError::Chart(e.to_string());
    let palette = style.palette();
    let (cost, help) = (palette.down, palette.up);
    let t = |english: &str| style.t(english).to_string();
    let mut names: Vec<String> = vec![t("real run")];
    let mut bars: Vec<(f64, f64, RGBColor)> = Vec::new();
    let run = RGBColor(31, 119, 180);
    if let Some(f) = f {
        bars.push((0.0, f.real_return, run));
        let mut level = f.real_return;
        for s in &f.steps {
            names.push(t(label(&s.friction)));
            let colour = if s.return_lost > 0.0 { cost } else { help };
            bars.push((level, s.total_return, colour));
            level = s.total_return;
        }
        bars.push((0.0, f.frictionless_return, run));
    } else {
        names.extend(["costs", "price limits", "suspensions", "T+1", "volume cap"].map(t));
    }
    names.push(t("frictionless"));
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    for (a, b, _) in &bars {
        lo = lo.min(a.min(*b));
        hi = hi.max(a.max(*b));
    }
    let pad = ((hi - lo) * 0.12).max(0.01);
    let n = names.len();
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (1100, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(t("Where the return went: real run to frictionless twin"), ("sans-serif", 20.0))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), (lo - pad)..(hi + pad))
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-9 && i >= 0.0 && (i as usize) < n {
                    names[i as usize].clone()
                } else {
                    String::new()
                }
            })
            .y_desc(t("total return"))
            .y_label_formatter(&|y| format!("{:.0}%", y * 100.0))
            .label_style(("sans-serif", 14.0))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|e| err(&e))?;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, (a, b, c))| {
                let x = i as f64;
                Rectangle::new([(x - 0.35, *a), (x + 0.35, *b)], c.mix(0.85).filled())
            }))
            .map_err(|e| err(&e))?;
        let label_style = TextStyle::from(("sans-serif", 13.0)).pos(Pos::new(HPos::Center, VPos::Bottom));
        chart
            .draw_series(bars.iter().enumerate().map(|(i, (a, b, _))| {
                let text = if i == 0 || i + 1 == bars.len() { pct(*b) } else { pct(b - a) };
                Text::new(text, (i as f64, a.max(*b) + pad * 0.15), label_style.clone())
            }))
            .map_err(|e| err(&e))?;
        if f.is_none() {
            let (w, h) = root.dim_in_pixel();
            let note = TextStyle::from(("sans-serif", 20.0))
                .color(&RGBColor(120, 120, 120))
                .pos(Pos::new(HPos::Center, VPos::Center));
            root.draw(&Text::new(
                t("friction attribution not computed for this run"),
                (w as i32 / 2, h as i32 / 2),
                note,
            ))
            .map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    Ok(out)
}

/// The report's section on frictions: the waterfall (`figure`, drawn by [`waterfall_svg`]),
/// each friction's twin step and real bill, and the two other answers to "why does it fail
/// live": the sells the market refused and the winners that gave their gains back.
pub fn section_html(m: &Metrics, figure: &str, gave_back: usize, style: &Style) -> String {
    let lang = style.lang;
    let mut out = format!("<section id=\"frictions\"><h2>{}</h2>", lang.t("Why it fails live"));
    match &m.friction {
        Some(f) => {
            out.push_str(&format!(
                "<p>{}</p>{figure}",
                lang.fill(
                    "The real run made {0}; the same strategy on the same bars without the market's frictions made \
                     {1}. Each friction was removed on top of the ones before: <i>twin step</i> is the return it \
                     took, <i>paid</i> what it demonstrably cost the real run (fees and slippage, or the cost of \
                     waiting of the sells it left stuck). Where the two differ, the twin traded differently after \
                     the first order the friction changed.",
                    &[&pct(f.real_return), &pct(f.frictionless_return)]
                )
            ));
            out.push_str("<table><thead><tr>");
            for h in ["removed", "twin step", "twin return", "paid"] {
                out.push_str(&format!("<th>{}</th>", lang.t(h)));
            }
            out.push_str("</tr></thead><tbody>");
            for s in &f.steps {
                out.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    lang.t(label(&s.friction)),
                    pct(-s.return_lost),
                    pct(s.total_return),
                    pct(-s.paid_in_real_run)
                ));
            }
            out.push_str("</tbody></table>");
        }
        None => out.push_str(figure),
    }
    let r = &m.refused_sells;
    let cost = crate::html::cny(&r.cost_resolved);
    out.push_str(&format!(
        "<p>{}</p></section>",
        lang.fill(
            "The market refused or delayed {0} sells the model wanted; waiting cost {1} CNY (see <a \
             href=\"#refused-sells\">refused sells</a>). {2} winners gave their gains back (see <a \
             href=\"#gave-back\">gave it back</a>).",
            &[&r.episodes, &cost, &gave_back]
        )
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn twin(key: &str, yuan: f64) -> TwinFigures {
        TwinFigures { key: key.into(), final_value: Money::from_yuan(yuan), fills: 0, refusals: 0 }
    }

    #[test]
    fn each_friction_is_charged_the_gain_from_removing_it_on_top_of_the_earlier_ones() {
        let twins = [
            twin("costs", 900.0),
            twin("price_limits", 1_200.0),
            twin("suspensions", 1_150.0),
            twin("t_plus_1", 1_150.0),
        ];
        let paid = BTreeMap::from([("costs", Money::from_yuan(30.0))]);
        let f = FrictionAttribution::new(Money::from_yuan(1_000.0), Money::from_yuan(800.0), &twins, &paid);
        assert!((f.steps[0].paid_in_real_run - 0.03).abs() < 1e-12);
        assert_eq!(f.steps[1].paid_in_real_run, 0.0);
        assert!((f.real_return - -0.2).abs() < 1e-12);
        let lost: Vec<f64> = f.steps.iter().map(|s| s.return_lost).collect();
        for (got, want) in lost.iter().zip([0.1, 0.3, -0.05, 0.0]) {
            assert!((got - want).abs() < 1e-12, "{lost:?}");
        }
        assert!((f.frictionless_return - 0.15).abs() < 1e-12);
        // The losses add up from the real run to the frictionless one.
        assert!((f.real_return + lost.iter().sum::<f64>() - f.frictionless_return).abs() < 1e-12);
        assert_eq!(f.largest().map(|s| s.friction.as_str()), Some("price_limits"));
        assert_eq!(f.steps[0].final_value, "900.0000");
    }

    #[test]
    fn the_summary_names_every_friction_and_both_ends() {
        let f = FrictionAttribution::new(
            Money::from_yuan(100.0),
            Money::from_yuan(90.0),
            &[twin("costs", 95.0), twin("volume_cap", 95.0)],
            &BTreeMap::from([("costs", Money::from_yuan(2.0))]),
        );
        let text = summary_lines(&f);
        assert!(text.contains("real run -10.00% -> frictionless twin -5.00%"), "{text}");
        let costs = text.lines().find(|l| l.trim_start().starts_with("costs")).unwrap();
        assert_eq!(costs.split_whitespace().collect::<Vec<_>>(), ["costs", "-5.00%", "-5.00%", "-2.00%"]);
        let cap = text.lines().find(|l| l.trim_start().starts_with("volume cap")).unwrap();
        assert_eq!(cap.split_whitespace().collect::<Vec<_>>(), ["volume", "cap", "0.00%", "-5.00%", "0.00%"]);
    }

    #[test]
    fn the_waterfall_draws_a_bar_per_step_and_a_note_without_data() {
        let f = FrictionAttribution::new(
            Money::from_yuan(100.0),
            Money::from_yuan(90.0),
            &[twin("costs", 95.0)],
            &BTreeMap::new(),
        );
        let style = Style::default();
        let svg = waterfall_svg(Some(&f), &style).unwrap();
        assert!(svg.contains("lost") || svg.contains("costs"), "labels drawn");
        assert!(svg.matches("<rect").count() > 3, "background plus three bars");
        let empty = waterfall_svg(None, &style).unwrap();
        assert!(empty.contains("not computed"));
        assert_eq!(svg, waterfall_svg(Some(&f), &style).unwrap());
    }
}
