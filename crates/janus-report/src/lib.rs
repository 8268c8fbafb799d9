//! Janus report: turns what a run recorded into the numbers and files a user reads.
//!
//! Everything here reads a finished (or interrupted) [`RunRecord`] and never changes it.
//! [`round_trips`] pairs the fills of each symbol into entry-to-exit [`RoundTrip`]s, the unit
//! in which strategies win or lose; [`compute_metrics`] condenses the equity curve, the trips
//! and the refusals into one [`Metrics`] value; [`write_run_folder`] writes the run folder
//! (metrics JSON and CSV files) byte for byte deterministically; [`summary_text`] renders the
//! one-screen terminal summary. Money stays exact (decimal strings from [`janus_core::Money`]);
//! ratios are `f64`, and anything undefined (an empty run, no losing trade) is `None`, never NaN.
//!
//! [`RunRecord`]: janus_core::RunRecord
#![forbid(unsafe_code)]

pub mod metrics;
pub mod output;
pub mod summary;
pub mod trades;

pub use metrics::{compute_metrics, daily_returns, drawdowns, Metrics, TRADING_DAYS_PER_YEAR};
pub use output::write_run_folder;
pub use summary::summary_text;
pub use trades::{round_trips, RoundTrip};

use std::path::PathBuf;

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
    #[error("cannot encode JSON for {path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}
