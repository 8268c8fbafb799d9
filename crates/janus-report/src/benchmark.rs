//! The benchmark a run is measured against: by default an equal-weight portfolio of the whole
//! market of the data, or a series from a file.
//!
//! A benchmark is a list of dated daily returns. [`Benchmark::aligned`] maps it onto a run's
//! trading days, compounding returns of days the run did not trade, so a benchmark file may
//! have more (or fewer) days than the run. The run folder keeps the aligned series as
//! `benchmark.csv` (`date,return,value`), which is itself a valid benchmark file: a report built
//! later from the folder alone measures against the same numbers.

use crate::ReportError;
use chrono::NaiveDate;
use janus_core::money::parse_fixed;
use janus_data::Panel;
use std::path::Path;

/// Name of the default benchmark.
pub const EQUAL_WEIGHT: &str = "equal-weight market";

/// Dated daily returns, sorted by date, one per date.
#[derive(Clone, Debug, PartialEq)]
pub struct Benchmark {
    /// What it is: [`EQUAL_WEIGHT`] or the file name.
    pub name: String,
    pub dates: Vec<NaiveDate>,
    pub returns: Vec<f64>,
}

impl Benchmark {
    /// The equal-weight market over the panel days `days`: each day's return is the mean of the
    /// close-to-close returns of the symbols present (with a positive close) on that day and the
    /// panel's previous day. The first panel day, and a day no symbol spans, return 0.
    pub fn equal_weight(panel: &Panel, days: std::ops::Range<usize>) -> Benchmark {
        let n = panel.n_symbols();
        let mut returns = Vec::with_capacity(days.len());
        for d in days.clone() {
            let (mut sum, mut count) = (0.0f64, 0usize);
            if d > 0 {
                for s in 0..n {
                    let (i, j) = ((d - 1) * n + s, d * n + s);
                    let both = panel.flags[i] & panel.flags[j] & janus_data::panel::flag::PRESENT != 0;
                    if both && panel.close[i].is_positive() && panel.close[j].is_positive() {
                        sum += panel.adj_ratio(j, i) - 1.0;
                        count += 1;
                    }
                }
            }
            returns.push(if count > 0 { sum / count as f64 } else { 0.0 });
        }
        Benchmark { name: EQUAL_WEIGHT.to_string(), dates: panel.dates[days].to_vec(), returns }
    }

    /// The returns on each of `dates` (sorted): the benchmark's returns compounded over the days
    /// after the previous run date up to and including this one; the first run date takes only
    /// its own day. A date the benchmark does not cover returns 0.
    pub fn aligned(&self, dates: &[NaiveDate]) -> Vec<f64> {
        let mut out = Vec::with_capacity(dates.len());
        let mut prev: Option<NaiveDate> = None;
        for &d in dates {
            let lo = match prev {
                Some(p) => self.dates.partition_point(|x| *x <= p),
                None => self.dates.partition_point(|x| *x < d),
            };
            let hi = self.dates.partition_point(|x| *x <= d);
            let days = &self.returns[lo..hi.max(lo)];
            // One day is taken as is: `(1 + r) - 1` is not always `r` in floating point, and a
            // series aligned once must align to itself again.
            out.push(match days {
                [] => 0.0,
                [r] => *r,
                _ => days.iter().fold(1.0, |acc, r| acc * (1.0 + r)) - 1.0,
            });
            prev = Some(d);
        }
        out
    }

    /// Whether any of `dates` falls inside the benchmark's first and last date.
    pub fn covers_any(&self, dates: &[NaiveDate]) -> bool {
        match (self.dates.first(), self.dates.last()) {
            (Some(first), Some(last)) => dates.iter().any(|d| d >= first && d <= last),
            _ => false,
        }
    }

    /// Read a benchmark file: CSV with a header, a `date` column (`YYYY-MM-DD` or `YYYYMMDD`)
    /// and either `close` (levels; returns are close over previous close, from the second row)
    /// or `return` (daily returns as fractions). Other columns are ignored.
    pub fn from_csv(path: &Path) -> Result<Benchmark, ReportError> {
        let bad = |line: u64, message: String| ReportError::Parse { path: path.to_path_buf(), line, message };
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_path(path)
            .map_err(|e| ReportError::Read { path: path.to_path_buf(), message: e.to_string() })?;
        let headers = reader.headers().map_err(|e| bad(1, e.to_string()))?.clone();
        let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
        let date_col = col("date").ok_or_else(|| bad(1, "no `date` column in the header".into()))?;
        let (value_col, is_close) = match (col("return"), col("close")) {
            (Some(c), _) => (c, false),
            (None, Some(c)) => (c, true),
            (None, None) => return Err(bad(1, "the header needs a `close` or a `return` column".into())),
        };
        let mut dates: Vec<NaiveDate> = Vec::new();
        let mut values: Vec<f64> = Vec::new();
        for (i, row) in reader.records().enumerate() {
            let line = i as u64 + 2;
            let row = row.map_err(|e| bad(line, e.to_string()))?;
            let field = |c: usize| row.get(c).unwrap_or("");
            let date = parse_date(field(date_col))
                .ok_or_else(|| bad(line, format!("date {:?} is not YYYY-MM-DD", field(date_col))))?;
            if let Some(prev) = dates.last() {
                if date <= *prev {
                    return Err(bad(line, format!("date {date} is not after the previous row's {prev}")));
                }
            }
            let text = field(value_col);
            let value: f64 = text
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| bad(line, format!("{:?} is not a number", text)))?;
            if is_close && value <= 0.0 {
                return Err(bad(line, format!("close {text} is not positive")));
            }
            if !is_close && value <= -1.0 {
                return Err(bad(line, format!("return {text} loses more than everything")));
            }
            dates.push(date);
            values.push(value);
        }
        if dates.is_empty() {
            return Err(bad(1, "no rows after the header".into()));
        }
        let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        if is_close {
            let returns = values.windows(2).map(|w| w[1] / w[0] - 1.0).collect();
            Ok(Benchmark { name, dates: dates[1..].to_vec(), returns })
        } else {
            Ok(Benchmark { name, dates, returns: values })
        }
    }

    /// `benchmark.csv`: `date,return,value`, the value compounding from 1 before the first day.
    /// Numbers are written in the shortest form that reads back to the same `f64`, so a report
    /// built from the folder later measures against exactly the same returns.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("date,return,value\n");
        let mut value = 1.0;
        for (d, r) in self.dates.iter().zip(&self.returns) {
            value *= 1.0 + r;
            out.push_str(&format!("{d},{},{}\n", exact(*r), exact(value)));
        }
        out
    }
}

/// The shortest decimal that parses back to `x`, without negative zero.
fn exact(x: f64) -> String {
    if x == 0.0 {
        "0".to_string()
    } else {
        format!("{x}")
    }
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").or_else(|_| NaiveDate::parse_from_str(text, "%Y%m%d")).ok()
}

/// Parse a decimal the way the run folder writes money; used by the folder reader.
pub(crate) fn parse_money(text: &str) -> Option<janus_core::Money> {
    parse_fixed(text, 4).ok().map(janus_core::Money)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 3, day).unwrap()
    }

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bench.csv");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn a_close_file_becomes_close_to_close_returns() {
        let (_dir, path) = write("date,close\n2024-03-04,100\n20240305,110\n2024-03-06,99\n");
        let b = Benchmark::from_csv(&path).unwrap();
        assert_eq!(b.name, "bench.csv");
        assert_eq!(b.dates, vec![d(5), d(6)]);
        assert!((b.returns[0] - 0.1).abs() < 1e-15 && (b.returns[1] + 0.1).abs() < 1e-15);
    }

    #[test]
    fn days_the_run_skipped_are_compounded_into_the_next_run_day() {
        let b = Benchmark { name: "x".into(), dates: vec![d(4), d(5), d(6), d(7)], returns: vec![0.01, 0.1, 0.1, 0.5] };
        let r = b.aligned(&[d(5), d(7), d(8)]);
        assert!((r[0] - 0.1).abs() < 1e-15, "the first run day takes only its own return");
        assert!((r[1] - (1.1 * 1.5 - 1.0)).abs() < 1e-15);
        assert_eq!(r[2], 0.0, "a day past the file's end");
    }

    #[test]
    fn a_series_aligned_to_its_own_dates_is_unchanged() {
        let b = Benchmark { name: "x".into(), dates: vec![d(4), d(5), d(6)], returns: vec![0.1, 0.2, -0.3] };
        assert_eq!(b.aligned(&b.dates), b.returns);
    }

    #[test]
    fn the_written_benchmark_csv_reads_back_as_a_return_file() {
        let b = Benchmark { name: "x".into(), dates: vec![d(4), d(5)], returns: vec![0.01, -0.02] };
        let text = b.to_csv();
        assert_eq!(text, "date,return,value\n2024-03-04,0.01,1.01\n2024-03-05,-0.02,0.9898\n");
        let (_dir, path) = write(&text);
        let back = Benchmark::from_csv(&path).unwrap();
        assert_eq!(back.returns, b.returns);
    }

    #[test]
    fn a_bad_benchmark_file_names_the_file_line_and_value() {
        let (_dir, path) = write("date,close\n2024-03-04,100\n2024-03-05,abc\n");
        let err = Benchmark::from_csv(&path).unwrap_err().to_string();
        assert!(err.contains("bench.csv") && err.contains("line 3") && err.contains("abc"), "{err}");
        let (_dir, path) = write("date,close\n2024-03-05,100\n2024-03-04,101\n");
        let err = Benchmark::from_csv(&path).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("2024-03-04"), "{err}");
        let (_dir, path) = write("day,price\n2024-03-05,100\n");
        let err = Benchmark::from_csv(&path).unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains("date"), "{err}");
        let (_dir, path) = write("date,close\n2024-03-05,-1\n");
        let err = Benchmark::from_csv(&path).unwrap_err().to_string();
        assert!(err.contains("not positive"), "{err}");
    }
}
