//! What the persistent backends share: the [`Backend`] interface (whole days written
//! atomically and idempotently), and [`Persistent`], which turns a backend into a [`Store`] by
//! buffering days into batched transactions and by reconnecting and retrying with backoff when
//! the server goes away.

use janus_core::{DayBatch, RunMeta, RunRecord, RunStatus, RunSummary, Store, StoreError};
use std::cell::RefCell;
use std::time::{Duration, Instant};

/// How a backend call failed: worth retrying after a reconnect, or not.
#[derive(Debug)]
pub enum Fault {
    /// The connection or the server is (perhaps briefly) gone: reconnect and try again.
    Transient(String),
    /// Retrying cannot help (a missing run, a constraint, a corrupt row).
    Fatal(StoreError),
}

impl From<StoreError> for Fault {
    fn from(e: StoreError) -> Fault {
        Fault::Fatal(e)
    }
}

/// A persistent backend. Every method is one atomic unit (a transaction, or MULTI/EXEC).
pub trait Backend {
    /// Short name for messages: `sqlite`, `postgres`, `redis`.
    fn name(&self) -> &'static str;
    /// Drop the connection and open a new one.
    fn reconnect(&mut self) -> Result<(), Fault>;
    /// Record a new run; `started_at` is wall-clock metadata (RFC 3339).
    fn begin_run(&mut self, meta: &RunMeta, started_at: &str) -> Result<(), Fault>;
    /// Write whole days, in order, in one atomic unit. Days at or before the run's last
    /// committed day are skipped; a day that would leave a gap after it is an error.
    fn write_days(&mut self, run_id: &str, days: &[DayBatch]) -> Result<(), Fault>;
    fn set_status(&mut self, run_id: &str, status: RunStatus) -> Result<(), Fault>;
    /// Every run, in the order they were begun.
    fn run_summaries(&mut self) -> Result<Vec<RunSummary>, Fault>;
    /// A consistent read of one run (whole days only, even while a writer commits).
    fn load_run(&mut self, run_id: &str) -> Result<RunRecord, Fault>;
    fn delete_run(&mut self, run_id: &str) -> Result<(), Fault>;
}

/// How a persistent store batches and retries.
#[derive(Clone, Debug, PartialEq)]
pub struct StoreOptions {
    /// How long to keep reconnecting and retrying after the server went away before the run
    /// stops with an error (zero: fail at once).
    pub retry: Duration,
    /// Commit buffered days once this many are waiting...
    pub flush_days: usize,
    /// ...or once the oldest waiting day is this old.
    pub flush_interval: Duration,
    /// Time allowed for opening a connection.
    pub connect_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            retry: Duration::from_secs(30),
            flush_days: 64,
            flush_interval: Duration::from_millis(200),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// Days waiting to be committed, all of one run.
struct Pending {
    run_id: String,
    days: Vec<DayBatch>,
    since: Instant,
}

/// A [`Backend`] behind the [`Store`] trait: days are buffered and committed several to a
/// transaction (each day stays whole, so a reader never sees half of one, and a run that dies
/// resumes from the last committed day); lost connections are retried with backoff for
/// [`StoreOptions::retry`].
pub struct Persistent<B: Backend> {
    backend: RefCell<B>,
    /// The store's URL with its password redacted, for messages.
    url: String,
    opts: StoreOptions,
    pending: Option<Pending>,
}

impl<B: Backend> Persistent<B> {
    pub fn new(backend: B, redacted_url: String, opts: StoreOptions) -> Persistent<B> {
        Persistent { backend: RefCell::new(backend), url: redacted_url, opts, pending: None }
    }

    /// The store's URL, password redacted.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Run `f`, reconnecting and retrying with exponential backoff while it fails transiently.
    fn retrying<T>(&self, what: &str, mut f: impl FnMut(&mut B) -> Result<T, Fault>) -> Result<T, StoreError> {
        let deadline = Instant::now() + self.opts.retry;
        let mut delay = Duration::from_millis(50);
        let mut reconnect = false;
        let mut backend = self.backend.borrow_mut();
        loop {
            let result = if reconnect { backend.reconnect().and_then(|()| f(&mut backend)) } else { f(&mut backend) };
            match result {
                Ok(v) => return Ok(v),
                Err(Fault::Fatal(e)) => return Err(e),
                Err(Fault::Transient(msg)) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(StoreError::Backend {
                            backend: backend.name(),
                            message: format!(
                                "{what}: the store at {} stayed unreachable for {} s of retries (last error: {msg}); \
                                 it holds only whole days, so the run can be resumed once the server is back",
                                self.url,
                                self.opts.retry.as_secs_f64()
                            ),
                        });
                    }
                    std::thread::sleep(delay.min(deadline - now));
                    delay = (delay * 2).min(Duration::from_secs(2));
                    reconnect = true;
                }
            }
        }
    }

    /// Commit every buffered day.
    pub fn flush(&mut self) -> Result<(), StoreError> {
        if let Some(p) = &self.pending {
            self.retrying("committing trading days", |b| b.write_days(&p.run_id, &p.days))?;
            self.pending = None;
        }
        Ok(())
    }
}

impl<B: Backend> Store for Persistent<B> {
    fn begin_run(&mut self, meta: &RunMeta) -> Result<(), StoreError> {
        self.flush()?;
        let started_at = now_rfc3339();
        self.retrying("starting the run", |b| b.begin_run(meta, &started_at))
    }

    fn commit_day(&mut self, run_id: &str, batch: &DayBatch) -> Result<(), StoreError> {
        if self.pending.as_ref().is_some_and(|p| p.run_id != run_id) {
            self.flush()?;
        }
        let last_pending = self.pending.as_ref().and_then(|p| p.days.last()).map(|d| d.day_index);
        if last_pending.is_some_and(|l| batch.day_index <= l) {
            return Ok(()); // a retried commit of a buffered day
        }
        let p = self.pending.get_or_insert_with(|| Pending {
            run_id: run_id.to_string(),
            days: Vec::new(),
            since: Instant::now(),
        });
        p.days.push(batch.clone());
        if p.days.len() >= self.opts.flush_days || p.since.elapsed() >= self.opts.flush_interval {
            self.flush()?;
        }
        Ok(())
    }

    fn finish_run(&mut self, run_id: &str, status: RunStatus) -> Result<(), StoreError> {
        self.flush()?;
        self.retrying("recording the run's status", |b| b.set_status(run_id, status))
    }

    fn list_runs(&self) -> Result<Vec<RunMeta>, StoreError> {
        Ok(self.run_summaries()?.into_iter().map(|s| s.meta).collect())
    }

    fn load_run(&self, run_id: &str) -> Result<RunRecord, StoreError> {
        self.retrying("reading the run", |b| b.load_run(run_id))
    }

    fn run_summaries(&self) -> Result<Vec<RunSummary>, StoreError> {
        self.retrying("listing runs", |b| b.run_summaries())
    }

    fn delete_run(&mut self, run_id: &str) -> Result<(), StoreError> {
        if self.pending.as_ref().is_some_and(|p| p.run_id == run_id) {
            self.pending = None;
        }
        self.retrying("deleting the run", |b| b.delete_run(run_id))
    }
}

impl<B: Backend> Drop for Persistent<B> {
    /// Days still buffered when the store is dropped (the run stopped on an error that was not
    /// the store's) are whole: commit them with one attempt, without retrying.
    fn drop(&mut self) {
        if let Some(p) = self.pending.take() {
            let _ = self.backend.get_mut().write_days(&p.run_id, &p.days);
        }
    }
}

/// The days of `days` after the run's last committed day `last`: a retried batch is skipped
/// (idempotence per day), and a batch that would leave a gap (days lost by a server that
/// crashed after acknowledging them, or a writer that skipped some) is refused.
pub fn days_to_write<'a>(
    backend: &'static str,
    run_id: &str,
    last: Option<u32>,
    days: &'a [DayBatch],
) -> Result<&'a [DayBatch], Fault> {
    let start = match last {
        Some(l) => days.iter().position(|d| d.day_index > l).unwrap_or(days.len()),
        None => 0,
    };
    let days = &days[start..];
    let mut expected = last.map(|l| l + 1);
    for d in days {
        if expected.is_some_and(|e| d.day_index != e) {
            return Err(Fault::Fatal(StoreError::Backend {
                backend,
                message: format!(
                    "run {run_id:?}: the store holds days up to index {} but the next day to write is {}; \
                     days are missing, resume the run from what the store holds",
                    last.map_or("(none)".into(), |l| l.to_string()),
                    d.day_index
                ),
            }));
        }
        expected = Some(d.day_index + 1);
    }
    Ok(days)
}

/// Wall-clock time as RFC 3339 UTC, for the runs table's start time.
fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    chrono::DateTime::from_timestamp(secs as i64, 0)
        .map_or_else(String::new, |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}
