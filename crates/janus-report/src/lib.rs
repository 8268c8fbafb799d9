//! Janus report: turns what a run recorded into the numbers and files a user reads, and shows
//! where the money went.
//!
//! Everything here reads a finished (or interrupted) [`RunRecord`] and never changes it.
//! [`round_trips`] pairs the fills of each symbol into entry-to-exit [`RoundTrip`]s, the unit
//! in which strategies win or lose, with their excursions ([`analytics`]: best and worst close
//! while held, giveback, exit kind); [`refused_sells`] finds the sells the market refused or
//! T+1 delayed and what waiting cost; [`compute_metrics`] condenses the equity curve, the trips
//! and the refusals into one [`Metrics`] value, with empyrical's return statistics ([`stats`])
//! and, given a [`Benchmark`], excess return, alpha and beta; [`write_run_folder`] writes the
//! run folder's data files (metrics JSON and CSV files) byte for byte deterministically,
//! [`write_run`] writes a whole run folder safely (no stale files, the user's files kept, its
//! config and data source recorded: [`folder`]) and [`read_run_folder`] reads it back;
//! [`html::report_html`] renders the self-contained HTML report with its SVG [`charts`], and
//! [`compare`] sets two runs side by side, judging each difference better or worse;
//! [`summary_text`] renders the one-screen terminal summary. Pages come in English or Chinese
//! ([`i18n`], one translation table) and in either colour convention ([`style`]). Money stays
//! exact (decimal strings from [`janus_core::Money`]) and is shown with thousands separators;
//! ratios are `f64`, and anything undefined (an empty run, no losing trade) is `None`, never
//! NaN.
//!
//! [`RunRecord`]: janus_core::RunRecord
#![forbid(unsafe_code)]

pub mod analytics;
pub mod benchmark;
pub mod charts;
pub mod compare;
pub mod drawdown;
pub mod folder;
pub mod friction;
pub mod html;
pub mod i18n;
pub mod metrics;
pub mod output;
pub mod read;
pub mod stats;
pub mod style;
pub mod summary;
pub mod trades;

pub use analytics::{gave_back, refused_sells, ExitKind, RefusedSell, RefusedSellTotals};
pub use benchmark::Benchmark;
pub use folder::{write_report_file, write_run, RunInfo, RunOrigin};
pub use i18n::Lang;
pub use metrics::{compute_metrics, daily_returns, drawdowns, BenchmarkMetrics, Metrics, TRADING_DAYS_PER_YEAR};
pub use output::{write_report_files, write_run_folder};
pub use read::{read_run_folder, RunFolder};
pub use style::{Colors, Style};
pub use summary::summary_text;
pub use trades::{round_trips, RoundTrip};

use janus_core::{Money, RunRecord};
use std::path::PathBuf;

/// Thresholds of the gave-it-back table: trips up at least `up` at some close that ended below
/// `below`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GaveBack {
    pub up: f64,
    pub below: f64,
}

impl Default for GaveBack {
    fn default() -> GaveBack {
        GaveBack { up: analytics::GAVE_BACK_UP, below: analytics::GAVE_BACK_BELOW }
    }
}

/// Everything a report shows about one run, computed once.
#[derive(Clone, Debug)]
pub struct Analysis {
    pub initial_cash: Money,
    pub trips: Vec<RoundTrip>,
    pub refused: Vec<RefusedSell>,
    /// Daily returns of the run (the first against the initial cash).
    pub returns: Vec<f64>,
    pub drawdowns: Vec<f64>,
    /// The benchmark's returns on the run's days, and its name.
    pub benchmark: Option<(String, Vec<f64>)>,
    pub gave_back: GaveBack,
    pub metrics: Metrics,
    /// Language and colour convention of the pages drawn from this analysis.
    pub style: Style,
}

impl Analysis {
    pub fn new(
        record: &RunRecord,
        initial_cash: Money,
        benchmark: Option<&Benchmark>,
        gave_back: GaveBack,
    ) -> Analysis {
        let trips = round_trips(record);
        let mut metrics = compute_metrics(record, initial_cash, &trips).with_benchmark(record, initial_cash, benchmark);
        metrics.gave_back_trades = analytics::gave_back(&trips, gave_back.up, gave_back.below).len() as u64;
        metrics.gave_back_up = gave_back.up;
        metrics.gave_back_below = gave_back.below;
        let dates: Vec<_> = record.account_snapshots.iter().map(|s| s.date).collect();
        Analysis {
            initial_cash,
            refused: refused_sells(record),
            returns: daily_returns(record, initial_cash),
            drawdowns: drawdowns(record, initial_cash),
            benchmark: benchmark.map(|b| (b.name.clone(), b.aligned(&dates))),
            gave_back,
            trips,
            metrics,
            style: Style::default(),
        }
    }

    /// The same analysis, shown in `style`.
    pub fn with_style(mut self, style: Style) -> Analysis {
        self.style = style;
        self
    }
}

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write {path}: {source}; check that the directory is writable and the disk is not full")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot encode CSV for {path}: {source}")]
    Csv {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
    #[error("cannot encode or decode JSON in {path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot read {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{path}, line {line}: {message}")]
    Parse { path: PathBuf, line: u64, message: String },
    #[error("cannot draw a chart: {0}")]
    Chart(String),
}
