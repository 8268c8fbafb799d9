//! A universe file: which symbols are index members on which days, so the buy model ranks only
//! them (a CSI 300 strategy must not buy a stock the day before it joins the index).
//!
//! Two shapes are read, told apart by their first line:
//! - **members by date**: a CSV with a header naming a date column (`date` or tushare's
//!   `trade_date`) and a symbol column (`symbol`, tushare's `con_code` or `ts_code`, or
//!   `code`), one row per member and rebalance date (tushare's `index_weight` export reads as
//!   is). The members listed on a date hold from that date until the next date of the file;
//!   the last list holds to the end of the data. Before the first date nobody is a member.
//! - **qlib instruments**: `SYMBOL<TAB>START<TAB>END` lines without a header
//!   (`instruments/csi300.txt`): a member on every day in `[START, END]`; a symbol may have
//!   several lines. qlib codes such as `SH600000` become `600000.SH`.
//!
//! Members the data does not have are ignored; a universe none of whose symbols is in the data
//! is an error (almost always a code format mismatch).

use crate::error::{DataError, Place};
use crate::panel::{flag, Panel};
use crate::parse::parse_date;
use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Membership spans per symbol (inclusive dates).
#[derive(Clone, Debug, Default)]
pub struct Universe {
    pub file: String,
    spans: BTreeMap<String, Vec<(NaiveDate, NaiveDate)>>,
}

/// `SH600000` (qlib, any case) to `600000.SH`; other codes unchanged.
pub fn normalize_code(code: &str) -> String {
    let b = code.as_bytes();
    if b.len() == 8 && b[2..].iter().all(u8::is_ascii_digit) {
        let ex = code[..2].to_ascii_uppercase();
        if ["SH", "SZ", "BJ"].contains(&ex.as_str()) {
            return format!("{}.{ex}", &code[2..]);
        }
    }
    code.to_string()
}

impl Universe {
    pub fn load(path: &Path) -> Result<Universe, DataError> {
        let file = path.display().to_string();
        let f = std::fs::File::open(path).map_err(|source| DataError::Open { file: file.clone(), source })?;
        Universe::read(f, &file)
    }

    /// Read either shape from any reader; `file` names it in errors.
    pub fn read(reader: impl Read, file: &str) -> Result<Universe, DataError> {
        let bad = |line: u64, message: String| DataError::Universe { at: Place::line(file, line), message };
        let mut lines = Vec::new();
        for (k, text) in BufReader::new(reader).lines().enumerate() {
            let text = text.map_err(|e| bad(k as u64 + 1, format!("cannot read the file: {e}")))?;
            let text = text.trim_start_matches('\u{feff}').trim().to_string();
            if !text.is_empty() && !text.starts_with('#') {
                lines.push((k as u64 + 1, text));
            }
        }
        let Some((_, first)) = lines.first() else {
            return Err(bad(1, "the universe file is empty; write `date,symbol` rows or qlib instrument lines".into()));
        };
        let symbol = |line: u64, raw: &str| -> Result<String, DataError> {
            if raw.is_empty() || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(bad(
                    line,
                    format!("`{}` is not a symbol; give a code such as 600000.SH", raw.escape_debug()),
                ));
            }
            Ok(normalize_code(raw))
        };
        let date = |line: u64, raw: &str| {
            parse_date(raw.as_bytes())
                .ok_or_else(|| bad(line, format!("`{raw}` is not a date; write dates as YYYY-MM-DD or YYYYMMDD")))
        };
        let mut spans: BTreeMap<String, Vec<(NaiveDate, NaiveDate)>> = BTreeMap::new();
        if first.contains('\t') {
            for (line, text) in &lines {
                let f: Vec<&str> = text.split('\t').map(str::trim).collect();
                if f.len() != 3 {
                    return Err(bad(*line, format!("expected SYMBOL<TAB>START<TAB>END, found {} fields", f.len())));
                }
                let (start, end) = (date(*line, f[1])?, date(*line, f[2])?);
                if end < start {
                    return Err(bad(*line, format!("end {end} is before start {start}")));
                }
                spans.entry(symbol(*line, f[0])?).or_default().push((start, end));
            }
        } else {
            let header: Vec<String> = first.split(',').map(|h| h.trim().to_ascii_lowercase()).collect();
            let find = |names: &[&str]| header.iter().position(|h| names.contains(&h.as_str()));
            let (Some(dc), Some(sc)) =
                (find(&["date", "trade_date"]), find(&["symbol", "con_code", "ts_code", "code"]))
            else {
                return Err(bad(
                    lines[0].0,
                    format!(
                        "the header needs a `date` and a `symbol` column (found: {first}), or write qlib instrument \
                         lines SYMBOL<TAB>START<TAB>END"
                    ),
                ));
            };
            let mut by_date: BTreeMap<NaiveDate, Vec<String>> = BTreeMap::new();
            for (line, text) in &lines[1..] {
                let f: Vec<&str> = text.split(',').map(str::trim).collect();
                let d = date(*line, f.get(dc).copied().unwrap_or(""))?;
                by_date.entry(d).or_default().push(symbol(*line, f.get(sc).copied().unwrap_or(""))?);
            }
            let dates: Vec<NaiveDate> = by_date.keys().copied().collect();
            for (k, (d, members)) in by_date.into_iter().enumerate() {
                let end = dates.get(k + 1).and_then(|n| n.pred_opt()).unwrap_or(NaiveDate::MAX);
                for m in members {
                    spans.entry(m).or_default().push((d, end));
                }
            }
        }
        if spans.is_empty() {
            return Err(bad(lines[0].0, "no members in the universe file".into()));
        }
        Ok(Universe { file: file.to_string(), spans })
    }

    /// Whether `symbol` is a member on `date`.
    pub fn is_member(&self, symbol: &str, date: NaiveDate) -> bool {
        self.spans.get(symbol).is_some_and(|s| s.iter().any(|(a, b)| (*a..=*b).contains(&date)))
    }

    /// Mark every present cell of a non-member with [`flag::OUT_OF_UNIVERSE`]. Returns the
    /// number of the panel's symbols that are members on at least one day.
    pub fn apply(&self, panel: &mut Panel) -> Result<usize, DataError> {
        let n = panel.n_symbols();
        let mut members = 0;
        for s in 0..n {
            let spans = self.spans.get(&panel.symbols[s]);
            members += spans.is_some() as usize;
            for d in 0..panel.n_dates() {
                let date = panel.dates[d];
                let member = spans.is_some_and(|v| v.iter().any(|(a, b)| (*a..=*b).contains(&date)));
                let f = &mut panel.flags[d * n + s];
                if member {
                    *f &= !flag::OUT_OF_UNIVERSE;
                } else {
                    *f |= flag::OUT_OF_UNIVERSE;
                }
            }
        }
        if members == 0 {
            let example = self.spans.keys().next().cloned().unwrap_or_default();
            return Err(DataError::Universe {
                at: Place::line(&self.file, 1),
                message: format!(
                    "none of the {} symbols of the universe (e.g. `{example}`) is in the data (e.g. `{}`); \
                     write the codes as the data does",
                    self.spans.len(),
                    panel.symbols.first().cloned().unwrap_or_default()
                ),
            });
        }
        Ok(members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// (what, file, symbol, date, member?).
    #[test]
    fn membership_follows_the_file_in_both_shapes() {
        let by_date = "date,symbol,weight\n2024-01-02,600000.SH,1\n2024-01-02,000001.SZ,1\n\
                       2024-02-01,000001.SZ,1\n2024-02-01,300750.SZ,1\n";
        let tushare = "index_code,con_code,trade_date,weight\n399300.SZ,600000.SH,20240102,0.5\n";
        let qlib =
            "SH600000\t2024-01-02\t2024-01-31\nsz000001\t2024-01-10\t2099-12-31\nSH600000\t2024-03-01\t2024-03-31\n";
        let cases = [
            ("by date: before the first list", by_date, "600000.SH", "2024-01-01", false),
            ("by date: listed on the first date", by_date, "600000.SH", "2024-01-02", true),
            ("by date: holds until the next list", by_date, "600000.SH", "2024-01-31", true),
            ("by date: dropped at the next list", by_date, "600000.SH", "2024-02-01", false),
            ("by date: joins at the next list", by_date, "300750.SZ", "2024-02-01", true),
            ("by date: the last list holds on", by_date, "000001.SZ", "2030-01-01", true),
            ("tushare index_weight", tushare, "600000.SH", "2024-06-01", true),
            ("qlib: inside a span", qlib, "600000.SH", "2024-01-31", true),
            ("qlib: between spans", qlib, "600000.SH", "2024-02-15", false),
            ("qlib: a second span", qlib, "600000.SH", "2024-03-01", true),
            ("qlib: lower-case code", qlib, "000001.SZ", "2024-01-10", true),
            ("qlib: before the start", qlib, "000001.SZ", "2024-01-09", false),
        ];
        for (what, text, sym, date, want) in cases {
            let u = Universe::read(text.as_bytes(), "u.csv").unwrap();
            assert_eq!(u.is_member(sym, d(date)), want, "{what}");
        }
    }

    #[test]
    fn a_bad_universe_line_names_the_file_line_and_value() {
        let cases = [
            ("date,symbol\n2024-01-02,600000.SH\n2024-01-32,600001.SH\n", "u.csv: line 3", "2024-01-32"),
            ("date,symbol\n2024-01-02,600000 SH\n", "u.csv: line 2", "600000 SH"),
            ("SH600000\t2024-01-02\n", "u.csv: line 1", "found 2 fields"),
            ("SH600000\t2024-02-02\t2024-01-02\n", "u.csv: line 1", "before start"),
            ("day,code\n", "u.csv: line 1", "`date`"),
            ("", "u.csv: line 1", "empty"),
        ];
        for (text, at, value) in cases {
            let e = Universe::read(text.as_bytes(), "u.csv").unwrap_err().to_string();
            assert!(e.contains(at) && e.contains(value), "{e}");
        }
    }

    #[test]
    fn qlib_codes_become_janus_codes() {
        assert_eq!(normalize_code("SH600000"), "600000.SH");
        assert_eq!(normalize_code("bj830799"), "830799.BJ");
        assert_eq!(normalize_code("600000.SH"), "600000.SH");
        assert_eq!(normalize_code("AAPL"), "AAPL");
    }
}
