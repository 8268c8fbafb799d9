//! A trading-calendar file: the days the market was open, against which the bars are checked.
//!
//! Data downloaded day by day can silently miss a whole day, or carry a bar dated on a holiday
//! (a timezone slip, a weekend test print). With `[data] calendar = "FILE"` the loader refuses
//! both: a bar on a day that is not in the calendar is an error naming the data file and line,
//! and a calendar day inside the data's range without a single bar is an error naming the
//! calendar file and line (one symbol without a bar that day is a suspension; the whole market
//! without one is a gap in the download). Days of the calendar outside the data's range are
//! ignored, so one calendar file serves every data set.
//!
//! The file has one date per line (`YYYY-MM-DD` or `YYYYMMDD`, as qlib's `calendars/day.txt`);
//! with several comma-separated fields the first is the date, unless the header names
//! tushare's `trade_cal` columns (`cal_date`, `is_open`), whose closed days are skipped. A first
//! line that is not a date is a header; blank lines and `#` comments are skipped; any order is
//! accepted (tushare lists newest first).

use crate::error::{DataError, Place};
use crate::parse::parse_date;
use chrono::NaiveDate;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// The trading days of a calendar file, each with the line it is on.
#[derive(Clone, Debug, Default)]
pub struct Calendar {
    pub file: String,
    days: Vec<(NaiveDate, u64)>,
}

impl Calendar {
    /// Read a calendar file.
    pub fn load(path: &Path) -> Result<Calendar, DataError> {
        let file = path.display().to_string();
        let f = std::fs::File::open(path).map_err(|source| DataError::Open { file: file.clone(), source })?;
        Calendar::read(f, &file)
    }

    /// Read a calendar from any reader; `file` names it in errors.
    pub fn read(reader: impl Read, file: &str) -> Result<Calendar, DataError> {
        let bad = |line: u64, message: String| DataError::Calendar { at: Place::line(file, line), message };
        let mut days = Vec::new();
        // Column of the date and of tushare's is_open flag.
        let (mut date_col, mut open_col, mut header) = (0usize, None, false);
        for (k, text) in BufReader::new(reader).lines().enumerate() {
            let line = k as u64 + 1;
            let text = text.map_err(|e| bad(line, format!("cannot read the file: {e}")))?;
            let text = text.trim_start_matches('\u{feff}').trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = text.split([',', '\t']).map(str::trim).collect();
            let raw = fields.get(date_col).copied().unwrap_or("");
            let Some(date) = parse_date(raw.as_bytes()) else {
                if days.is_empty() && !header {
                    header = true;
                    // A header: find tushare's columns, else the date is the first field.
                    let find = |name: &str| fields.iter().position(|f| f.eq_ignore_ascii_case(name));
                    date_col = find("cal_date").or_else(|| find("date")).or_else(|| find("trade_date")).unwrap_or(0);
                    open_col = find("is_open");
                    continue;
                }
                return Err(bad(line, format!("`{raw}` is not a date; write one trading day per line as YYYY-MM-DD")));
            };
            if let Some(c) = open_col {
                match fields.get(c).copied() {
                    Some("1") => {}
                    Some("0") => continue,
                    other => {
                        return Err(bad(line, format!("column `is_open`: `{}` is not 0 or 1", other.unwrap_or(""))));
                    }
                }
            }
            days.push((date, line));
        }
        days.sort();
        days.dedup_by_key(|(d, _)| *d);
        if days.is_empty() {
            return Err(bad(1, "no trading day in the calendar file; write one date per line".into()));
        }
        Ok(Calendar { file: file.to_string(), days })
    }

    /// A calendar of the given days (qlib's own calendar file after reading).
    pub fn from_days(file: &str, days: Vec<(NaiveDate, u64)>) -> Calendar {
        Calendar { file: file.to_string(), days }
    }

    pub fn contains(&self, d: NaiveDate) -> bool {
        self.days.binary_search_by_key(&d, |(x, _)| *x).is_ok()
    }

    /// The trading days in `[first, last]`, with their lines.
    pub fn days_between(&self, first: NaiveDate, last: NaiveDate) -> impl Iterator<Item = (NaiveDate, u64)> + '_ {
        let lo = self.days.partition_point(|(d, _)| *d < first);
        self.days[lo..].iter().take_while(move |(d, _)| *d <= last).copied()
    }

    /// Every trading day, in order.
    pub fn dates(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.days.iter().map(|(d, _)| *d)
    }

    pub fn len(&self) -> usize {
        self.days.len()
    }

    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Calendar, DataError> {
        Calendar::read(text.as_bytes(), "cal.txt")
    }

    /// (what, file text, the days read).
    #[test]
    fn calendars_are_read_in_every_accepted_shape() {
        let cases: [(&str, &str, &[&str]); 5] = [
            ("one date per line", "2024-01-02\n2024-01-03\n", &["2024-01-02", "2024-01-03"]),
            (
                "a header, compact dates, comments",
                "date\n# holidays left out\n20240103\n\n20240102\n",
                &["2024-01-02", "2024-01-03"],
            ),
            (
                "tushare trade_cal, newest first, closed days skipped",
                "exchange,cal_date,is_open,pretrade_date\nSSE,20240103,1,20240102\nSSE,20240101,0,20231229\n\
                 SSE,20240102,1,20231229\n",
                &["2024-01-02", "2024-01-03"],
            ),
            ("qlib day.txt with a BOM", "\u{feff}2024-01-02\n2024-01-03\n", &["2024-01-02", "2024-01-03"]),
            ("a repeated day counts once", "2024-01-02\n2024-01-02\n", &["2024-01-02"]),
        ];
        for (what, text, want) in cases {
            let cal = read(text).unwrap_or_else(|e| panic!("{what}: {e}"));
            let got: Vec<String> = cal.dates().map(|d| d.to_string()).collect();
            assert_eq!(got, want, "{what}");
        }
    }

    #[test]
    fn a_bad_calendar_line_names_the_file_line_and_value() {
        let cases = [
            ("2024-01-02\n2024-13-01\n", "cal.txt: line 2", "2024-13-01"),
            ("cal_date,is_open\n20240102,yes\n", "cal.txt: line 2", "yes"),
            ("date\n", "cal.txt: line 1", "no trading day"),
        ];
        for (text, at, value) in cases {
            let e = read(text).unwrap_err().to_string();
            assert!(e.contains(at) && e.contains(value), "{e}");
        }
    }

    #[test]
    fn days_between_lists_the_days_inside_the_range_with_their_lines() {
        let cal = read("2024-01-02\n2024-01-03\n2024-01-04\n2024-01-05\n").unwrap();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let got: Vec<_> = cal.days_between(d("2024-01-03"), d("2024-01-04")).collect();
        assert_eq!(got, [(d("2024-01-03"), 2), (d("2024-01-04"), 3)]);
        assert!(cal.contains(d("2024-01-05")) && !cal.contains(d("2024-01-06")));
    }
}
