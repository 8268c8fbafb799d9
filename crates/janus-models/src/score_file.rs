//! A buy model from precomputed scores: a CSV or Parquet file of `date,symbol,score` rows
//! (higher is better), such as alpha predictions made elsewhere (qlib's `datetime,instrument,
//! score` columns and `SH600000` codes are understood too).
//!
//! The score dated *D* ranks the market after *D*'s close; the orders fill on the next bar.
//! A trading day without scores buys nothing, or, with `fill_missing_days`, ranks by the
//! latest earlier day's scores. Symbols without a score that day are not bought. Rows dated
//! outside the market data's first..last day are skipped (a long prediction file can serve a
//! shorter backtest); everything else that is wrong stops the run with the file, the line
//! and the value: a date that is not a trading day, a symbol the data does not have, a score
//! that is not a finite number, the same date and symbol twice.

use crate::table::{read_columns, Cell};
use crate::{ModelError, Universe};
use chrono::NaiveDate;
use janus_core::SymbolId;
use janus_data::{History, Panel};
use janus_engine::BuyModel;
use std::collections::HashMap;
use std::path::Path;

/// Scores by trading day of the panel.
#[derive(Clone, Debug, Default)]
pub struct ScoreTable {
    /// Per panel day, `(symbol, score)` in symbol order.
    pub by_day: Vec<Vec<(SymbolId, f64)>>,
    /// Rows dated before the first or after the last day of the data.
    pub skipped_outside: usize,
}

/// `YYYY-MM-DD`, `YYYYMMDD`, `YYYY/MM/DD`, optionally followed by a time (pandas writes
/// `2024-01-02 00:00:00`).
fn parse_date(s: &str) -> Option<NaiveDate> {
    let day = s.split([' ', 'T']).next()?;
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(day, "%Y%m%d"))
        .or_else(|_| NaiveDate::parse_from_str(day, "%Y/%m/%d"))
        .ok()
}

/// qlib writes `SH600000`; the data says `600000.SH`.
fn qlib_code(s: &str) -> Option<String> {
    let (ex, code) = s.split_at_checked(2)?;
    let ex = ex.to_ascii_uppercase();
    (["SH", "SZ", "BJ"].contains(&ex.as_str()) && code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("{code}.{ex}"))
}

impl ScoreTable {
    pub fn load(path: &Path, panel: &Panel) -> Result<ScoreTable, ModelError> {
        let ids: HashMap<&str, SymbolId> =
            panel.symbols.iter().enumerate().map(|(i, s)| (s.as_str(), i as SymbolId)).collect();
        let (first, last) = match (panel.dates.first(), panel.dates.last()) {
            (Some(f), Some(l)) => (*f, *l),
            _ => return Ok(ScoreTable::default()),
        };
        let mut t = ScoreTable { by_day: vec![Vec::new(); panel.n_dates()], skipped_outside: 0 };
        let mut seen: HashMap<(usize, SymbolId), u64> = HashMap::new();
        let err = |line: u64, message: String| ModelError::Line { path: path.to_path_buf(), line, message };
        read_columns(
            path,
            &[&["date", "datetime", "trade_date"], &["symbol", "instrument", "code"], &["score"]],
            |line, cells| {
                let date = match &cells[0] {
                    Cell::Date(d) => *d,
                    Cell::Text(s) => {
                        parse_date(s).ok_or_else(|| err(line, format!("date {s:?} is not a date (use YYYY-MM-DD)")))?
                    }
                    other => return Err(err(line, format!("date {other:?} is not a date (use YYYY-MM-DD)"))),
                };
                if date < first || date > last {
                    t.skipped_outside += 1;
                    return Ok(());
                }
                let day = panel.dates.binary_search(&date).map_err(|_| {
                    err(
                        line,
                        format!("{date} is not a trading day of the market data; scores are dated by trading day"),
                    )
                })?;
                let symbol = match &cells[1] {
                    Cell::Text(s) => s.clone(),
                    other => return Err(err(line, format!("symbol {other:?} is not a code such as 600000.SH"))),
                };
                let sid = ids
                    .get(symbol.as_str())
                    .copied()
                    .or_else(|| qlib_code(&symbol).and_then(|c| ids.get(c.as_str()).copied()))
                    .ok_or_else(|| {
                        err(
                            line,
                            format!(
                                "symbol {symbol:?} is not in the market data; \
                                 score only symbols the bars have (codes such as 600000.SH)"
                            ),
                        )
                    })?;
                let score = match &cells[2] {
                    Cell::Number(x) => *x,
                    Cell::Text(s) => s.parse::<f64>().map_err(|_| err(line, format!("score {s:?} is not a number")))?,
                    other => return Err(err(line, format!("score {other:?} is missing"))),
                };
                if !score.is_finite() {
                    return Err(err(line, format!("score {score} is not a finite number")));
                }
                if let Some(prev) = seen.insert((day, sid), line) {
                    return Err(err(line, format!("{date} {symbol} is scored twice (also on line {prev})")));
                }
                t.by_day[day].push((sid, score));
                Ok(())
            },
        )?;
        for d in &mut t.by_day {
            d.sort_unstable_by_key(|(sid, _)| *sid);
        }
        Ok(t)
    }
}

/// Ranks by a [`ScoreTable`].
#[derive(Clone, Debug)]
pub struct ScoreFileBuyModel {
    scores: ScoreTable,
    /// Per panel day, the day whose scores rank it.
    source: Vec<Option<usize>>,
    universe: Universe,
}

impl ScoreFileBuyModel {
    pub fn new(scores: ScoreTable, fill_missing_days: bool, universe: Universe) -> ScoreFileBuyModel {
        let mut last = None;
        let source = scores
            .by_day
            .iter()
            .enumerate()
            .map(|(d, s)| {
                if !s.is_empty() {
                    last = Some(d);
                    Some(d)
                } else if fill_missing_days {
                    last
                } else {
                    None
                }
            })
            .collect();
        ScoreFileBuyModel { scores, source, universe }
    }
}

impl BuyModel for ScoreFileBuyModel {
    fn score(&mut self, h: &History<'_>, out: &mut Vec<(SymbolId, f64)>) {
        let Some(Some(src)) = self.source.get(h.today()) else { return };
        for &(sid, s) in &self.scores.by_day[*src] {
            if self.universe.admits(h, sid) {
                out.push((sid, s));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel() -> Panel {
        let csv = "date,symbol,open,high,low,close,volume\n\
                   2024-01-02,000001.SZ,10,10,10,10,1000\n2024-01-02,600000.SH,10,10,10,10,1000\n\
                   2024-01-03,000001.SZ,10,10,10,10,1000\n2024-01-03,600000.SH,10,10,10,10,1000\n\
                   2024-01-05,000001.SZ,10,10,10,10,1000\n2024-01-05,600000.SH,10,10,10,10,0\n";
        janus_data::load_csv_reader(csv.as_bytes(), "bars.csv", &Default::default()).unwrap()
    }

    fn load(text: &str) -> Result<ScoreTable, ModelError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scores.csv");
        std::fs::write(&path, text).unwrap();
        ScoreTable::load(&path, &panel())
    }

    fn ranked(model: &mut ScoreFileBuyModel, day: usize) -> Vec<(SymbolId, f64)> {
        let mut out = Vec::new();
        let p = panel();
        model.score(&History::new(&p, day), &mut out);
        out
    }

    #[test]
    fn each_day_ranks_by_that_days_scores_and_unscored_symbols_are_left_out() {
        let t = load("date,symbol,score\n2024-01-02,600000.SH,0.9\n2024-01-02,000001.SZ,0.1\n2023-12-29,600000.SH,5\n")
            .unwrap();
        assert_eq!(t.skipped_outside, 1);
        let p = panel();
        let mut m = ScoreFileBuyModel::new(t.clone(), false, Universe::all(&p));
        assert_eq!(ranked(&mut m, 0), vec![(0, 0.1), (1, 0.9)]);
        assert!(ranked(&mut m, 1).is_empty(), "no scores for 2024-01-03: nothing bought");
        let mut filled = ScoreFileBuyModel::new(t, true, Universe::all(&p));
        assert_eq!(ranked(&mut filled, 1), vec![(0, 0.1), (1, 0.9)], "filled from 2024-01-02");
        assert_eq!(ranked(&mut filled, 2), vec![(0, 0.1)], "600000.SH is suspended on 2024-01-05");
    }

    #[test]
    fn qlib_columns_and_codes_are_understood() {
        let t = load("datetime,instrument,score\n2024-01-03 00:00:00,SH600000,1.5\n").unwrap();
        assert_eq!(t.by_day[1], vec![(1, 1.5)]);
    }

    #[test]
    fn malformed_rows_name_the_file_line_and_value() {
        let cases = [
            ("date,symbol,score\n2024-01-02,600000.SH,abc\n", "line 2", "\"abc\""),
            ("date,symbol,score\n2024-01-02,600000.SH,1\n2024-01-02,600519.SH,1\n", "line 3", "\"600519.SH\""),
            ("date,symbol,score\n2024-01-04,600000.SH,1\n", "line 2", "2024-01-04 is not a trading day"),
            ("date,symbol,score\n2024-13-02,600000.SH,1\n", "line 2", "\"2024-13-02\""),
            ("date,symbol,score\n2024-01-02,600000.SH,NaN\n", "line 2", "NaN"),
            ("date,symbol,score\n2024-01-02,600000.SH,1\n2024-01-02,600000.SH,2\n", "line 3", "also on line 2"),
            ("date,ticker\n", "scores.csv", "no column `symbol`"),
        ];
        for (text, a, b) in cases {
            let e = load(text).unwrap_err().to_string();
            assert!(e.contains("scores.csv") && e.contains(a) && e.contains(b), "{text:?}: {e}");
        }
    }
}
