//! Corporate actions in the data: an events file per symbol and ex-date, or actions inferred
//! from an adjustment factor, and the backward-adjusted factor that features read.
//!
//! Bars stay at raw prices, the prices orders fill at. What the engine needs on an ex-date is
//! the action itself (dividend per share, bonus shares per share, rights): an events file
//! states it exactly; a `tushare`/`qlib` style `adj_factor` column only gives the ratio
//! `prev_close / reference price`, from which [`actions_from_adj_factor`] infers one (the
//! ratio's whole tenths as bonus shares, the rest as a cash dividend; see its doc). Features
//! and models read the adjusted close `close x adj_factor`, continuous across ex-dates.

use crate::panel::Panel;
use crate::DataError;
use janus_core::money::parse_fixed;
use janus_core::{CorporateAction, Price, Rate, SymbolId};
use std::collections::BTreeMap;
use std::path::Path;

/// A corporate action of one symbol on one trading day (its ex-date) of the panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayAction {
    pub day: u32,
    pub sid: SymbolId,
    pub action: CorporateAction,
}

/// Column names accepted for each field: Janus's own, then tushare's `dividend` table's.
const SYMBOL: [&str; 2] = ["symbol", "ts_code"];
const EX_DATE: [&str; 2] = ["ex_date", "date"];
const DIVIDEND: [&str; 2] = ["cash_dividend", "cash_div_tax"];
const BONUS: [&str; 2] = ["bonus_shares", "stk_div"];
const RIGHTS: [&str; 1] = ["rights_shares"];
const RIGHTS_PRICE: [&str; 1] = ["rights_price"];

fn bad(file: &str, line: u64, message: String) -> DataError {
    DataError::Action { file: file.to_string(), line, message }
}

/// Read an events file: one row per symbol and ex-date with `symbol,ex_date` and any of
/// `cash_dividend` (pre-tax CNY per share), `bonus_shares` (new shares per share: bonus plus
/// capitalization; 10-for-10 is 1), `rights_shares` and `rights_price` (rights offered per share
/// and their price). tushare's `ts_code`, `cash_div_tax` and `stk_div` are read too. Rows of
/// symbols not in the panel, or dated outside it, are skipped; an ex-date inside the panel's
/// range that is not one of its trading days, a negative or unreadable value, or a symbol
/// listed twice for one date is an error naming the file, line and value.
pub fn load_actions(path: &Path, panel: &Panel) -> Result<Vec<DayAction>, DataError> {
    let file = path.display().to_string();
    let reader = std::fs::File::open(path).map_err(|source| DataError::Open { file: file.clone(), source })?;
    read_actions(reader, &file, panel)
}

/// [`load_actions`] from any reader; `file` names it in errors.
pub fn read_actions(reader: impl std::io::Read, file: &str, panel: &Panel) -> Result<Vec<DayAction>, DataError> {
    let mut csv = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(reader);
    let header = csv.headers().map_err(|e| bad(file, 1, e.to_string()))?.clone();
    let find = |names: &[&str]| header.iter().position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)));
    let (Some(sym_col), Some(date_col)) = (find(&SYMBOL), find(&EX_DATE)) else {
        return Err(bad(
            file,
            1,
            format!(
                "the header needs `symbol` and `ex_date` (found: {}); other columns: cash_dividend, bonus_shares, \
                 rights_shares, rights_price",
                header.iter().collect::<Vec<_>>().join(",")
            ),
        ));
    };
    let cols = [find(&DIVIDEND), find(&BONUS), find(&RIGHTS), find(&RIGHTS_PRICE)];
    let symbols: BTreeMap<&str, SymbolId> =
        panel.symbols.iter().enumerate().map(|(i, s)| (s.as_str(), i as SymbolId)).collect();
    let (first, last) = match (panel.dates.first(), panel.dates.last()) {
        (Some(f), Some(l)) => (*f, *l),
        _ => return Ok(Vec::new()),
    };
    let mut out: BTreeMap<(u32, SymbolId), (u64, CorporateAction)> = BTreeMap::new();
    for (n, row) in csv.records().enumerate() {
        let line = n as u64 + 2;
        let row = row.map_err(|e| bad(file, line, e.to_string()))?;
        let field = |c: usize| row.get(c).unwrap_or("");
        let date_text = field(date_col);
        let date = crate::parse::parse_date(date_text.as_bytes()).ok_or_else(|| {
            bad(file, line, format!("column `ex_date`: `{date_text}` is not a date; write YYYY-MM-DD or YYYYMMDD"))
        })?;
        let Some(&sid) = symbols.get(field(sym_col)) else { continue };
        if date < first || date > last {
            continue;
        }
        let day = panel.dates.binary_search(&date).map_err(|_| {
            bad(file, line, format!("ex-date {date} of {} is not a trading day of the bars", field(sym_col)))
        })? as u32;
        let value = |k: usize, decimals: u32| -> Result<i64, DataError> {
            let Some(c) = cols[k] else { return Ok(0) };
            let text = field(c);
            if text.is_empty() {
                return Ok(0);
            }
            let name = header.get(c).unwrap_or("?");
            let v = parse_fixed(text, decimals)
                .map_err(|e| bad(file, line, format!("column `{name}`: `{text}` cannot be read: {e}")))?;
            if v < 0 {
                return Err(bad(file, line, format!("column `{name}`: `{text}` is negative")));
            }
            Ok(v)
        };
        let action = CorporateAction {
            cash_dividend: Price(value(0, 4)?),
            share_ratio: Rate(value(1, 8)?),
            rights_ratio: Rate(value(2, 8)?),
            rights_price: Price(value(3, 4)?),
        };
        if action.rights_ratio.0 > 0 && action.rights_price.0 == 0 {
            return Err(bad(file, line, "a rights issue needs its `rights_price`".into()));
        }
        if let Some((prev, _)) = out.insert((day, sid), (line, action)) {
            return Err(bad(
                file,
                line,
                format!(
                    "{} has a second action on {date} (first on line {prev}); merge them into one row",
                    field(sym_col)
                ),
            ));
        }
    }
    Ok(out
        .into_iter()
        .filter(|(_, (_, a))| !a.is_empty())
        .map(|((day, sid), (_, action))| DayAction { day, sid, action })
        .collect())
}

/// Infer actions from an adjustment factor (tushare `adj_factor`, qlib `factor`: it grows by
/// `prev_close / reference` on each ex-date). A factor step of ratio `r` becomes, with the
/// reference price `prev_close / r`: bonus shares of `r - 1` rounded down to whole tenths (A-share
/// bonus and capitalization issues are quoted per 10 shares), and a cash dividend for the rest,
/// `prev_close - reference x (1 + bonus)`. Exact for pure dividends, pure bonus issues and their
/// usual combinations; a rights issue shows as a bonus plus a negative dividend and is kept as
/// bonus shares only. An events file states actions exactly and wins where it has a row.
pub fn actions_from_adj_factor(panel: &Panel) -> Vec<DayAction> {
    let mut out = Vec::new();
    if panel.adj_factor.is_empty() {
        return out;
    }
    let n = panel.n_symbols();
    let mut prev: Vec<Option<(f64, Price)>> = vec![None; n];
    for d in 0..panel.n_dates() {
        for (s, last) in prev.iter_mut().enumerate() {
            let i = d * n + s;
            if !panel.is_present(d, s as SymbolId) {
                continue;
            }
            let f = panel.adj_factor[i];
            if let Some((pf, pc)) = *last {
                let r = f / pf;
                if f.is_finite() && pf > 0.0 && (r - 1.0).abs() > 1e-6 && r > 0.0 {
                    let tenths = (((r - 1.0) * 10.0) + 1e-6).floor().max(0.0);
                    let share_ratio = tenths / 10.0;
                    let reference = pc.as_f64() / r;
                    let dividend = (pc.as_f64() - reference * (1.0 + share_ratio)).max(0.0);
                    let action = CorporateAction {
                        cash_dividend: Price::from_yuan(dividend),
                        share_ratio: Rate::from_f64(share_ratio),
                        ..CorporateAction::default()
                    };
                    if !action.is_empty() {
                        out.push(DayAction { day: d as u32, sid: s as SymbolId, action });
                    }
                }
            }
            if f.is_finite() && f > 0.0 {
                *last = Some((f, panel.close[i].get()));
            }
        }
    }
    out
}

/// Merge inferred actions under exact ones: an exact action on a (day, symbol) replaces the
/// inferred one. The result is sorted by day, then symbol.
pub fn merge_actions(exact: Vec<DayAction>, inferred: Vec<DayAction>) -> Vec<DayAction> {
    let mut all: BTreeMap<(u32, SymbolId), CorporateAction> =
        inferred.into_iter().map(|a| ((a.day, a.sid), a.action)).collect();
    all.extend(exact.into_iter().map(|a| ((a.day, a.sid), a.action)));
    all.into_iter().map(|((day, sid), action)| DayAction { day, sid, action }).collect()
}

/// The backward-adjusted factor of every cell from the panel's actions: 1 at each symbol's
/// first bar, multiplied by `prev_close / reference` on each ex-date. Used when the data has
/// no factor of its own; empty when there are no actions (every factor is 1).
pub fn adj_factor_from_actions(panel: &Panel) -> Vec<f64> {
    if panel.actions.is_empty() {
        return Vec::new();
    }
    let n = panel.n_symbols();
    let mut factor = vec![1.0f64; panel.n_dates() * n];
    let mut current = vec![1.0f64; n];
    let mut last_close: Vec<Option<Price>> = vec![None; n];
    let mut next = 0;
    for d in 0..panel.n_dates() {
        while next < panel.actions.len() && panel.actions[next].day as usize == d {
            let a = panel.actions[next];
            if let Some(pc) = last_close[a.sid as usize] {
                let reference = a.action.reference_price(pc);
                current[a.sid as usize] *= pc.as_f64() / reference.as_f64();
            }
            next += 1;
        }
        for s in 0..n {
            let i = d * n + s;
            factor[i] = current[s];
            if panel.is_present(d, s as SymbolId) && panel.close[i].is_positive() {
                last_close[s] = Some(panel.close[i].get());
            }
        }
    }
    factor
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel() -> Panel {
        let csv = "date,symbol,open,high,low,close,volume\n\
                   2024-06-03,000001.SZ,10.00,10.00,10.00,10.00,1000\n\
                   2024-06-03,600000.SH,20.00,20.00,20.00,20.00,1000\n\
                   2024-06-04,000001.SZ,9.50,9.60,9.40,9.50,1000\n\
                   2024-06-04,600000.SH,10.00,10.20,9.90,10.10,1000\n";
        crate::load_csv_reader(csv.as_bytes(), "bars.csv", &Default::default()).unwrap()
    }

    #[test]
    fn an_events_file_is_read_with_janus_or_tushare_columns() {
        let p = panel();
        let janus = "symbol,ex_date,cash_dividend,bonus_shares\n600000.SH,2024-06-04,0,1\n000001.SZ,2024-06-04,0.5,\n\
                     600519.SH,2024-06-04,10,0\n000001.SZ,2019-06-04,1,0\n";
        let a = read_actions(janus.as_bytes(), "a.csv", &p).unwrap();
        assert_eq!(a.len(), 2, "unknown symbols and dates outside the bars are skipped");
        let bonus = a.iter().find(|x| p.symbols[x.sid as usize] == "600000.SH").unwrap();
        assert_eq!((bonus.day, bonus.action.share_ratio), (1, Rate::from_f64(1.0)));
        let div = a.iter().find(|x| p.symbols[x.sid as usize] == "000001.SZ").unwrap();
        assert_eq!(div.action.cash_dividend, Price::from_yuan(0.5));
        let tushare = "ts_code,ex_date,stk_div,cash_div_tax\n600000.SH,20240604,1.0,0.1\n";
        let t = read_actions(tushare.as_bytes(), "t.csv", &p).unwrap();
        assert_eq!(t[0].action.share_ratio, Rate::from_f64(1.0));
        assert_eq!(t[0].action.cash_dividend, Price::from_yuan(0.1));
    }

    #[test]
    fn bad_event_rows_name_the_file_line_and_value() {
        let p = panel();
        let cases = [
            ("symbol,ex_date,cash_dividend\n600000.SH,2024-06-04,abc\n", "line 2: column `cash_dividend`: `abc`"),
            ("symbol,ex_date,cash_dividend\n600000.SH,2024-06-04,-1\n", "is negative"),
            ("symbol,ex_date,cash_dividend\n600000.SH,2024-06-0x,1\n", "`2024-06-0x` is not a date"),
            ("symbol,ex_date,cash_dividend\n600000.SH,2024-06-03,1\n600000.SH,2024-06-03,2\n", "line 3"),
            ("symbol,ex_date,rights_shares\n600000.SH,2024-06-04,0.3\n", "rights_price"),
            ("symbol,cash_dividend\n600000.SH,1\n", "line 1: the header needs `symbol` and `ex_date`"),
        ];
        for (text, want) in cases {
            let e = read_actions(text.as_bytes(), "ev.csv", &p).unwrap_err().to_string();
            assert!(e.contains("ev.csv") && e.contains(want), "{want:?} not in {e:?}");
        }
    }

    #[test]
    fn a_factor_step_is_inferred_as_bonus_tenths_plus_a_dividend() {
        let mut p = panel();
        // 600000.SH: 10-for-10 (20.00 -> reference 10.00, factor doubles); 000001.SZ: a 0.50
        // dividend (10.00 -> 9.50, factor x 10/9.5).
        p.adj_factor = vec![1.0, 1.0, 10.0 / 9.5, 2.0];
        let a = actions_from_adj_factor(&p);
        assert_eq!(a.len(), 2);
        let by = |code: &str| a.iter().find(|x| p.symbols[x.sid as usize] == code).unwrap().action;
        assert_eq!(by("600000.SH").share_ratio, Rate::from_f64(1.0));
        assert_eq!(by("600000.SH").cash_dividend, Price::ZERO);
        assert_eq!(by("000001.SZ").share_ratio, Rate(0));
        assert_eq!(by("000001.SZ").cash_dividend, Price::from_yuan(0.5));
    }

    #[test]
    fn the_factor_from_actions_makes_the_adjusted_close_continuous() {
        let mut p = panel();
        let sid = p.symbol_id("600000.SH").unwrap();
        p.actions = vec![DayAction {
            day: 1,
            sid,
            action: CorporateAction { share_ratio: Rate::from_f64(1.0), ..Default::default() },
        }];
        p.adj_factor = adj_factor_from_actions(&p);
        let i0 = p.idx(0, sid);
        let i1 = p.idx(1, sid);
        assert_eq!(p.adj_close(i0), 20.0);
        assert!((p.adj_close(i1) - 20.2).abs() < 1e-9, "{}", p.adj_close(i1));
    }
}
