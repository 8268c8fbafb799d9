//! The publisher: replays a bars file day by day into a feed (a growing file, a Redis Stream,
//! a NATS subject), for demos and tests. Each day is its bars, then its close marker; an end
//! marker after the last day when asked.

use crate::message::REQUIRED;
use crate::{source_error, FeedError};
use chrono::NaiveDate;
use janus_core::LimitRules;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the publisher writes: the producing side of a feed.
pub trait Sink {
    /// One bar: its fields as in the message format (`type` may be given or not).
    fn bar(&mut self, fields: &[(String, String)]) -> Result<(), FeedError>;
    /// The day `date` is complete.
    fn close(&mut self, date: NaiveDate) -> Result<(), FeedError>;
    /// No more days.
    fn end(&mut self) -> Result<(), FeedError>;
    /// The sink as a URL, to print.
    fn name(&self) -> String;
}

/// Open the sink a URL names (as [`crate::open`] does for feeds). `header` is the columns of
/// the data being published: a new file gets it as its header.
pub fn open_sink(url: &str, stream: &str, header: &[String]) -> Result<Box<dyn Sink>, FeedError> {
    if let Some(path) = url.strip_prefix("file:") {
        return Ok(Box::new(crate::file::FileSink::open(path.as_ref(), header)?));
    }
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        return Ok(Box::new(crate::redis_feed::RedisSink::connect(url, stream)?));
    }
    if url.starts_with("nats://") {
        return Ok(Box::new(crate::nats::NatsSink::connect(url, stream)?));
    }
    Err(source_error(crate::redact(url), "not a feed URL; give file:PATH, redis://HOST:PORT or nats://HOST:PORT"))
}

/// What to replay.
#[derive(Clone, Debug)]
pub struct Replay {
    /// A Janus bars CSV.
    pub data: PathBuf,
    /// First day to publish (default: the file's first).
    pub from: Option<NaiveDate>,
    /// Publish at most this many days.
    pub days: Option<usize>,
    /// Pause between two days.
    pub interval: Duration,
    /// Send the end marker after the last day published.
    pub end: bool,
}

/// The header and the rows of each date of a Janus bars file, in order.
pub type DaysOfFile = (Vec<String>, Vec<(NaiveDate, Vec<Vec<String>>)>);

/// Read a bars file for replay: checked whole by the loader first (a publisher that sends a
/// bad file would only move the error into every reader), then split by date.
pub fn read_days(path: &Path) -> Result<DaysOfFile, FeedError> {
    janus_data::load_csv(path, &LimitRules::default())?;
    let shown = path.display().to_string();
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| source_error(&shown, format!("cannot read the bars file: {e}")))?;
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| source_error(&shown, e.to_string()))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_lowercase())
        .collect();
    let date_col = header.iter().position(|h| h == "date").unwrap_or(0);
    let mut days: Vec<(NaiveDate, Vec<Vec<String>>)> = Vec::new();
    for (k, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| source_error(format!("{shown}: line {}", k + 2), e.to_string()))?;
        let raw = rec.get(date_col).unwrap_or("");
        // The loader accepted the file, so every date reads.
        let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .or_else(|_| NaiveDate::parse_from_str(raw, "%Y%m%d"))
            .map_err(|_| source_error(format!("{shown}: line {}", k + 2), format!("`{raw}` is not a date")))?;
        let row: Vec<String> = rec.iter().map(str::to_string).collect();
        match days.last_mut() {
            Some((d, rows)) if *d == date => rows.push(row),
            _ => days.push((date, vec![row])),
        }
    }
    Ok((header, days))
}

/// Check that a header has the columns every bar needs.
pub fn check_header(header: &[String], file: &str) -> Result<(), FeedError> {
    match REQUIRED.iter().find(|c| !header.iter().any(|h| h == *c)) {
        Some(c) => Err(source_error(file, format!("the header has no `{c}` column"))),
        None => Ok(()),
    }
}

/// Publish the days of `header`/`days` that `replay` selects into `sink`; `each` is called
/// after each day with its date and number of bars. Returns the number of days published.
pub fn publish_days(
    sink: &mut dyn Sink,
    header: &[String],
    days: &[(NaiveDate, Vec<Vec<String>>)],
    replay: &Replay,
    each: &mut dyn FnMut(NaiveDate, usize),
) -> Result<usize, FeedError> {
    let start = replay.from.map_or(0, |f| days.partition_point(|(d, _)| *d < f));
    let chosen = &days[start..];
    let chosen = &chosen[..replay.days.map_or(chosen.len(), |n| n.min(chosen.len()))];
    for (k, (date, rows)) in chosen.iter().enumerate() {
        if k > 0 && !replay.interval.is_zero() {
            std::thread::sleep(replay.interval);
        }
        for row in rows {
            sink.bar(&crate::message::bar_fields(header, row))?;
        }
        sink.close(*date)?;
        each(*date, rows.len());
    }
    if replay.end {
        sink.end()?;
    }
    Ok(chosen.len())
}
