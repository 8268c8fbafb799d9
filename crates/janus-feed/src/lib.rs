//! Live market feeds for paper trading, and the publisher that drives them.
//!
//! A live feed is a [`MarketFeed`] whose days arrive while it runs: it starts from a history
//! panel (the config's data file), appends each closed day as it arrives to a
//! [`GrowingPanel`] (validated by the same loader as a file, limits derived by the same rules),
//! and hands the engine each new close. Three sources ([`open`] picks one from a URL):
//!
//! - [`file`]: a Janus bars CSV that grows (`file:PATH`), tailed by byte offset;
//! - [`redis_feed`]: a Redis Stream (`redis://HOST:PORT`), read with `XREAD BLOCK`;
//! - [`nats`]: a NATS JetStream subject (`nats://HOST:PORT`), read by a pull consumer.
//!
//! All three speak one message format (docs/feeds.md): one message per bar with the Janus CSV
//! fields as decimal strings, a close marker per day and an end marker. A day is closed by its
//! close marker or by a bar of a later date; the end marker closes the open day and ends the
//! feed. Waits are bounded: a feed also ends when told to stop, at a deadline, or after a
//! configurable silence, so tests and Ctrl-C never hang.
//!
//! Restarts: a feed is opened "after" a date (the engine's last committed day). It replays its
//! source from the start, appending every day after the history to the panel (the strategy's
//! features need them) but yielding only the days after that date. [`publish`] replays a bars
//! file into any of the three, day by day, for demos and tests.
#![forbid(unsafe_code)]

pub mod file;
pub mod message;
pub mod nats;
pub mod publish;
pub mod redis_feed;

use chrono::NaiveDate;
use janus_core::LimitRules;
use janus_data::{DataError, DayCsv, GrowingPanel, History, Panel, Place, PriceMode, Unit, Universe};
pub use janus_data::{FeedError, MarketFeed};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a live feed reads, waits and stops.
#[derive(Clone, Debug)]
pub struct FeedOptions {
    /// Limit rules of the config (the history was loaded with them).
    pub rules: LimitRules,
    /// `[data] prices` of the config.
    pub prices: PriceMode,
    /// Index members of new days, when the config names a universe file.
    pub universe: Option<Universe>,
    /// Infer corporate actions from jumps of `adj_factor` on new days, as `janus` does for a
    /// loaded file.
    pub infer_actions: bool,
    /// How often a file is polled for new lines, and the longest single wait on a server, so
    /// that a stop request is seen within it.
    pub poll: Duration,
    /// End the feed when no new day has arrived for this long (`None`: wait for the end
    /// marker or a stop).
    pub idle: Option<Duration>,
    /// End the feed at this instant.
    pub deadline: Option<Instant>,
    /// End the feed when this becomes true (a Ctrl-C handler sets it).
    pub stop: Option<Arc<AtomicBool>>,
    /// Where to resume in the source instead of its start: a Redis entry id (entries after it
    /// are read) or a NATS durable consumer name (created on first use, resumed afterwards).
    /// Days between the history and that point are then not in the panel: use it only when
    /// the history file already holds them.
    pub resume: Option<String>,
}

impl Default for FeedOptions {
    fn default() -> Self {
        FeedOptions {
            rules: LimitRules::default(),
            prices: PriceMode::Raw,
            universe: None,
            infer_actions: false,
            poll: Duration::from_millis(200),
            idle: None,
            deadline: None,
            stop: None,
            resume: None,
        }
    }
}

/// Why a feed gave no more days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedEnd {
    /// The source's end marker: the publisher is done, the run is complete.
    Ended,
    /// No new day within [`FeedOptions::idle`].
    Idle,
    /// [`FeedOptions::deadline`] passed.
    Deadline,
    /// [`FeedOptions::stop`] was set.
    Stopped,
}

/// A feed whose days arrive while it runs.
pub trait LiveFeed: MarketFeed + Send {
    /// Why the feed ended, once `next_close` has returned `None`.
    fn end(&self) -> Option<FeedEnd>;
    /// The panel so far: the history and every day that has arrived.
    fn panel(&self) -> &Panel;
    /// Where the feed stands in its source (byte offset, entry id, stream sequence), to show.
    fn position(&self) -> String;
}

/// One closed day as a source hands it over.
#[derive(Clone, Debug)]
pub struct ClosedDay {
    pub date: NaiveDate,
    /// Janus CSV: a header line, then the day's rows.
    pub text: Vec<u8>,
    /// Names the source in errors.
    pub source: String,
    /// The source line of the text's first row (files); 2 for streams.
    pub first_line: u64,
    /// Streams: the message id of each row (row `k` is text line `k + 2`), so an error names
    /// the message rather than a line of text the user never saw.
    pub ids: Vec<String>,
}

/// What a source has next.
#[derive(Clone, Debug)]
pub enum Event {
    Day(ClosedDay),
    End,
}

/// Where closed days come from: a file, a stream.
pub trait Source: Send {
    /// The next event, waiting at most `wait`; `None` when nothing arrived in time.
    fn next_event(&mut self, wait: Duration) -> Result<Option<Event>, FeedError>;
    /// Every day up to `date` has been processed by the engine (it asked for the next one), so
    /// a source with durable positions may remember it.
    fn processed(&mut self, _date: NaiveDate) -> Result<(), FeedError> {
        Ok(())
    }
    fn position(&self) -> String;
}

/// A live feed over any [`Source`]: the history, the days that arrived, and the cursor.
pub struct Feed<S> {
    source: S,
    grow: GrowingPanel,
    history_last: Option<NaiveDate>,
    after: NaiveDate,
    next: usize,
    opts: FeedOptions,
    end: Option<FeedEnd>,
    progress: Instant,
    yielded: Option<NaiveDate>,
}

impl<S: Source> Feed<S> {
    /// A feed that yields the days after `after`: those of `history` first, then those that
    /// arrive. Days the source repeats from the history are skipped.
    pub fn new(source: S, history: Panel, after: NaiveDate, opts: FeedOptions) -> Feed<S> {
        let history_last = history.dates.last().copied();
        let mut grow =
            GrowingPanel::new(history, opts.rules).with_prices(opts.prices).inferring_actions(opts.infer_actions);
        if let Some(u) = &opts.universe {
            grow = grow.with_universe(u.clone());
        }
        Feed { source, grow, history_last, after, next: 0, opts, end: None, progress: Instant::now(), yielded: None }
    }

    pub fn source(&self) -> &S {
        &self.source
    }

    /// Add a day the source closed, unless the history already had it.
    fn take(&mut self, day: ClosedDay) -> Result<(), FeedError> {
        if self.history_last.is_some_and(|last| day.date <= last) {
            return Ok(());
        }
        let csv = DayCsv { text: &day.text, source: &day.source, first_line: day.first_line };
        self.grow.append_day(&csv).map_err(|e| FeedError::Data(name_message(e, &day)))?;
        self.progress = Instant::now();
        Ok(())
    }

    /// Why waiting must stop now, if it must; else how long the next wait may be.
    fn wait(&self) -> Result<Duration, FeedEnd> {
        if self.opts.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst)) {
            return Err(FeedEnd::Stopped);
        }
        let now = Instant::now();
        let mut wait = self.opts.poll;
        if let Some(d) = self.opts.deadline {
            wait = wait.min(d.checked_duration_since(now).ok_or(FeedEnd::Deadline)?);
        }
        if let Some(idle) = self.opts.idle {
            let until = self.progress + idle;
            wait = wait.min(until.checked_duration_since(now).ok_or(FeedEnd::Idle)?);
        }
        Ok(wait.max(Duration::from_millis(1)))
    }
}

/// A stream error names the message: `<stream> entry <id>: row <k>` instead of a line of the
/// text built from the messages.
fn name_message(mut e: DataError, day: &ClosedDay) -> DataError {
    if day.ids.is_empty() {
        return e;
    }
    if let Some(place) = janus_data::grow::place_mut(&mut e) {
        if let Some(id) = place.line.checked_sub(2).and_then(|k| day.ids.get(k as usize)) {
            *place = Place { file: format!("{} entry {id}", day.source), line: place.line - 1, unit: Unit::Row };
        }
    }
    e
}

impl<S: Source> MarketFeed for Feed<S> {
    fn next_close(&mut self) -> Result<Option<History<'_>>, FeedError> {
        // Asking for the next day means the engine is done with the one before.
        let done = self.yielded.map_or(self.after, |d| d.max(self.after));
        self.source.processed(done)?;
        let day = loop {
            let panel = self.grow.panel();
            while self.next < panel.n_dates() && panel.dates[self.next] <= self.after {
                self.next += 1;
            }
            if self.next < panel.n_dates() {
                break self.next;
            }
            if self.end.is_some() {
                return Ok(None);
            }
            let wait = match self.wait() {
                Ok(w) => w,
                Err(why) => {
                    self.end = Some(why);
                    return Ok(None);
                }
            };
            match self.source.next_event(wait)? {
                Some(Event::Day(d)) => self.take(d)?,
                Some(Event::End) => self.end = Some(FeedEnd::Ended),
                None => {}
            }
        };
        self.next = day + 1;
        let history = History::new(self.grow.panel(), day);
        self.yielded = Some(history.date());
        Ok(Some(history))
    }
}

impl<S: Source> LiveFeed for Feed<S> {
    fn end(&self) -> Option<FeedEnd> {
        self.end
    }
    fn panel(&self) -> &Panel {
        self.grow.panel()
    }
    fn position(&self) -> String {
        self.source.position()
    }
}

/// Open the feed a URL names: `file:PATH`, `redis://HOST:PORT[/DB]` (stream key `stream`) or
/// `nats://HOST:PORT` (subject `stream`); it yields the days after `after`.
pub fn open(
    url: &str,
    stream: &str,
    history: Panel,
    after: NaiveDate,
    opts: FeedOptions,
) -> Result<Box<dyn LiveFeed>, FeedError> {
    if let Some(path) = url.strip_prefix("file:") {
        let source = file::FileSource::new(path.as_ref());
        return Ok(Box::new(Feed::new(source, history, after, opts)));
    }
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        let source = redis_feed::RedisSource::connect(url, stream, opts.resume.as_deref())?;
        return Ok(Box::new(Feed::new(source, history, after, opts)));
    }
    if url.starts_with("nats://") {
        let source = nats::NatsSource::connect(url, stream, opts.resume.as_deref())?;
        return Ok(Box::new(Feed::new(source, history, after, opts)));
    }
    Err(FeedError::Source {
        feed: redact(url),
        message: "not a feed URL; give file:PATH, redis://HOST:PORT or nats://HOST:PORT".into(),
    })
}

pub use janus_core::url::redact;

/// A source error: `feed` names the source, `message` says what happened and what to do.
pub(crate) fn source_error(feed: impl Into<String>, message: impl Into<String>) -> FeedError {
    FeedError::Source { feed: feed.into(), message: message.into() }
}
