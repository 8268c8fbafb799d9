//! What the persistent backends share: the [`Backend`] interface (whole days written
//! atomically and idempotently), and [`Persistent`], which turns a backend into a [`Store`] by
//! buffering days into batched transactions and by reconnecting and retrying with backoff when
//! the server goes away. Every backend call is bounded by the timeouts of [`StoreOptions`], so
//! the retry loop always gets control back: a server that hangs (accepts connections, never
//! answers) stops a run after the retry time plus about one timeout, with an error that says
//! what the store holds ([`Committed`]), hence whether the run can be resumed.

use janus_core::{Checkpoint, DayBatch, JournalEvent, RunMeta, RunRecord, RunStatus, RunSummary, Store, StoreError};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
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

/// A persistent backend. Every method is one atomic unit (a transaction, or MULTI/EXEC), and
/// returns within the backend's timeouts whatever the server does.
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
    /// Insert journal events in one atomic unit; an event whose (run, instance, seq) is stored
    /// already is skipped. A missing run is [`StoreError::RunNotFound`].
    fn append_events(&mut self, run_id: &str, events: &[JournalEvent]) -> Result<(), Fault>;
    /// The events of one instance of a run after `after_seq`, in sequence: an indexed range
    /// read, as fast on day 10,000 as on day 10.
    fn load_events(&mut self, run_id: &str, instance: &str, after_seq: u64) -> Result<Vec<JournalEvent>, Fault>;
    /// The latest checkpoint of one instance of a run (one keyed read).
    fn load_checkpoint(&mut self, run_id: &str, instance: &str) -> Result<Option<Checkpoint>, Fault>;
}

/// How a persistent store batches, retries and waits.
#[derive(Clone, Debug, PartialEq)]
pub struct StoreOptions {
    /// How long to keep reconnecting and retrying after the server went away before the run
    /// stops with an error (zero: fail at once).
    pub retry: Duration,
    /// Commit buffered days once this many are waiting...
    pub flush_days: usize,
    /// ...or once the oldest waiting day is this old.
    pub flush_interval: Duration,
    /// Time allowed for opening a connection, handshake and authentication included.
    pub connect_timeout: Duration,
    /// Time allowed for each request to be sent and answered (PostgreSQL statements, Redis
    /// commands); a server silent for longer is taken as gone, and the call is retried on a
    /// new connection.
    pub io_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            retry: Duration::from_secs(30),
            flush_days: 64,
            flush_interval: Duration::from_millis(200),
            connect_timeout: Duration::from_secs(5),
            io_timeout: Duration::from_secs(10),
        }
    }
}

/// What a store handle knows its store durably holds of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Held {
    /// The handle never saw the run in the store: it was not begun through this handle, or
    /// beginning it failed.
    Unseen,
    /// The run is recorded, with no trading day committed yet.
    NoDays,
    /// The run's whole trading days up to this day index are committed.
    UpTo(u32),
}

/// What one store handle has seen committed, per run: updated when a run is begun, when days
/// are committed, and when runs are read back. Shared with the code that opened the store, so
/// that after a failure it can tell whether a resume can work, even when the server no longer
/// answers.
#[derive(Clone, Debug, Default)]
pub struct Committed(Arc<Mutex<BTreeMap<String, Option<u32>>>>);

impl Committed {
    /// What the store holds of `run_id`, as far as this handle has seen.
    pub fn held(&self, run_id: &str) -> Held {
        match self.map().get(run_id) {
            None => Held::Unseen,
            Some(None) => Held::NoDays,
            Some(Some(d)) => Held::UpTo(*d),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Option<u32>>> {
        // A panic elsewhere while holding the lock leaves a map that is still whole.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn set(&self, run_id: &str, last: Option<u32>) {
        self.map().insert(run_id.to_string(), last);
    }

    /// Days up to `day` are committed (never moves backwards).
    fn advance(&self, run_id: &str, day: u32) {
        let mut map = self.map();
        let e = map.entry(run_id.to_string()).or_insert(None);
        *e = Some(e.map_or(day, |d| d.max(day)));
    }

    fn forget(&self, run_id: &str) {
        self.map().remove(run_id);
    }

    /// What the store holds of a run, to follow "it holds only whole days: " in messages.
    fn describe(&self, run_id: &str) -> String {
        match self.held(run_id) {
            Held::Unseen => format!("run {run_id:?} was not recorded there by this process"),
            Held::NoDays => format!("run {run_id:?} has no committed trading day yet"),
            Held::UpTo(d) => format!(
                "run {run_id:?} up to day index {d}, so the run can be resumed from there once the server answers \
                 again"
            ),
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
/// [`StoreOptions::retry`]. Once that time has run out the handle takes the server as gone:
/// later calls fail at once rather than each waiting out another retry period (open the store
/// again to try again).
pub struct Persistent<B: Backend> {
    backend: RefCell<B>,
    /// The store's URL with its password redacted, for messages.
    url: String,
    opts: StoreOptions,
    pending: Option<Pending>,
    /// A call failed on the connection: the next attempt opens a new one first.
    stale: Cell<bool>,
    /// Why the handle gave up on the server, once it has.
    down: RefCell<Option<String>>,
    committed: Committed,
}

impl<B: Backend> Persistent<B> {
    pub fn new(backend: B, redacted_url: String, opts: StoreOptions) -> Persistent<B> {
        Persistent {
            backend: RefCell::new(backend),
            url: redacted_url,
            opts,
            pending: None,
            stale: Cell::new(false),
            down: RefCell::new(None),
            committed: Committed::default(),
        }
    }

    /// The store's URL, password redacted.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What this handle has seen committed (a shared view that stays readable after a failure).
    pub fn committed(&self) -> Committed {
        self.committed.clone()
    }

    /// Run `f`, reconnecting and retrying with exponential backoff while it fails transiently.
    /// `run_id` names the run the call is about, for the message when the server stays away.
    fn retrying<T>(
        &self,
        what: &str,
        run_id: Option<&str>,
        mut f: impl FnMut(&mut B) -> Result<T, Fault>,
    ) -> Result<T, StoreError> {
        let mut backend = self.backend.borrow_mut();
        if let Some(why) = self.down.borrow().as_ref() {
            return Err(StoreError::Backend {
                backend: backend.name(),
                message: format!(
                    "{what}: the store at {} stopped answering earlier in this process ({why}); \
                     not trying again on this connection",
                    self.url
                ),
            });
        }
        let deadline = Instant::now() + self.opts.retry;
        let mut delay = Duration::from_millis(50);
        loop {
            let result = if self.stale.get() {
                backend.reconnect().and_then(|()| {
                    self.stale.set(false);
                    f(&mut backend)
                })
            } else {
                f(&mut backend)
            };
            match result {
                Ok(v) => return Ok(v),
                Err(Fault::Fatal(e)) => return Err(e),
                Err(Fault::Transient(msg)) => {
                    self.stale.set(true);
                    let now = Instant::now();
                    if now >= deadline {
                        let held = run_id.map_or_else(String::new, |id| {
                            format!("; it holds only whole days: {}", self.committed.describe(id))
                        });
                        *self.down.borrow_mut() = Some(format!("last error: {msg}"));
                        return Err(StoreError::Backend {
                            backend: backend.name(),
                            message: format!(
                                "{what}: the store at {} stayed unreachable or silent for {} s of retries \
                                 (last error: {msg}){held}",
                                self.url,
                                self.opts.retry.as_secs_f64()
                            ),
                        });
                    }
                    std::thread::sleep(delay.min(deadline - now));
                    delay = (delay * 2).min(Duration::from_secs(2));
                }
            }
        }
    }

    /// Commit every buffered day.
    pub fn flush(&mut self) -> Result<(), StoreError> {
        if let Some(p) = &self.pending {
            self.retrying("committing trading days", Some(&p.run_id), |b| b.write_days(&p.run_id, &p.days))?;
            if let Some(last) = p.days.last() {
                self.committed.advance(&p.run_id, last.day_index);
            }
            self.pending = None;
        }
        Ok(())
    }
}

impl<B: Backend> Store for Persistent<B> {
    fn begin_run(&mut self, meta: &RunMeta) -> Result<(), StoreError> {
        self.flush()?;
        let started_at = now_rfc3339();
        let mut retried = false;
        self.retrying("starting the run", Some(&meta.run_id), |b| match b.begin_run(meta, &started_at) {
            Err(Fault::Fatal(StoreError::RunExists(id))) if retried => {
                // An earlier attempt may have been applied with its answer lost (a timeout): the
                // run found is ours if it is exactly the one this call began.
                let ours = b.run_summaries()?.into_iter().any(|s| {
                    s.meta.run_id == meta.run_id
                        && s.meta.config == meta.config
                        && s.meta.data_source == meta.data_source
                        && s.started_at.as_deref() == Some(started_at.as_str())
                        && s.last_day_index.is_none()
                });
                if ours {
                    Ok(())
                } else {
                    Err(Fault::Fatal(StoreError::RunExists(id)))
                }
            }
            Err(Fault::Transient(m)) => {
                retried = true;
                Err(Fault::Transient(m))
            }
            r => r,
        })?;
        self.committed.set(&meta.run_id, None);
        Ok(())
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
        self.retrying("recording the run's status", Some(run_id), |b| b.set_status(run_id, status))
    }

    fn list_runs(&self) -> Result<Vec<RunMeta>, StoreError> {
        Ok(self.run_summaries()?.into_iter().map(|s| s.meta).collect())
    }

    fn load_run(&self, run_id: &str) -> Result<RunRecord, StoreError> {
        let record = self.retrying("reading the run", Some(run_id), |b| b.load_run(run_id))?;
        self.committed.set(run_id, record.last_day_index);
        Ok(record)
    }

    fn run_summaries(&self) -> Result<Vec<RunSummary>, StoreError> {
        let runs = self.retrying("listing runs", None, |b| b.run_summaries())?;
        for r in &runs {
            self.committed.set(&r.meta.run_id, r.last_day_index);
        }
        Ok(runs)
    }

    fn append_events(&mut self, run_id: &str, events: &[JournalEvent]) -> Result<(), StoreError> {
        self.flush()?;
        self.retrying("writing the journal", Some(run_id), |b| b.append_events(run_id, events))
    }

    fn load_events(&self, run_id: &str, instance: &str, after_seq: u64) -> Result<Vec<JournalEvent>, StoreError> {
        self.retrying("reading the journal", Some(run_id), |b| b.load_events(run_id, instance, after_seq))
    }

    fn load_checkpoint(&self, run_id: &str, instance: &str) -> Result<Option<Checkpoint>, StoreError> {
        self.retrying("reading the checkpoint", Some(run_id), |b| b.load_checkpoint(run_id, instance))
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        Persistent::flush(self)
    }

    fn delete_run(&mut self, run_id: &str) -> Result<(), StoreError> {
        if self.pending.as_ref().is_some_and(|p| p.run_id == run_id) {
            self.pending = None;
        }
        self.retrying("deleting the run", Some(run_id), |b| b.delete_run(run_id))?;
        self.committed.forget(run_id);
        Ok(())
    }
}

impl<B: Backend> Drop for Persistent<B> {
    /// Days still buffered when the store is dropped (the run stopped on an error that was not
    /// the store's) are whole: commit them with one attempt, without retrying, unless the
    /// server was already given up on.
    fn drop(&mut self) {
        if self.down.get_mut().is_some() {
            return;
        }
        if let Some(p) = self.pending.take() {
            let backend = self.backend.get_mut();
            if !self.stale.get() || backend.reconnect().is_ok() {
                let _ = backend.write_days(&p.run_id, &p.days);
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A backend whose server can be made to fail every call transiently.
    struct Flaky {
        gone: std::rc::Rc<Cell<bool>>,
        calls: std::rc::Rc<Cell<usize>>,
    }

    impl Flaky {
        fn call(&self) -> Result<(), Fault> {
            self.calls.set(self.calls.get() + 1);
            if self.gone.get() {
                Err(Fault::Transient("connection refused".into()))
            } else {
                Ok(())
            }
        }
    }

    impl Backend for Flaky {
        fn name(&self) -> &'static str {
            "flaky"
        }
        fn reconnect(&mut self) -> Result<(), Fault> {
            self.call()
        }
        fn begin_run(&mut self, _: &RunMeta, _: &str) -> Result<(), Fault> {
            self.call()
        }
        fn write_days(&mut self, _: &str, _: &[DayBatch]) -> Result<(), Fault> {
            self.call()
        }
        fn set_status(&mut self, _: &str, _: RunStatus) -> Result<(), Fault> {
            self.call()
        }
        fn run_summaries(&mut self) -> Result<Vec<RunSummary>, Fault> {
            self.call().map(|()| Vec::new())
        }
        fn load_run(&mut self, _: &str) -> Result<RunRecord, Fault> {
            self.call().map(|()| RunRecord::default())
        }
        fn delete_run(&mut self, _: &str) -> Result<(), Fault> {
            self.call()
        }
        fn append_events(&mut self, _: &str, _: &[JournalEvent]) -> Result<(), Fault> {
            self.call()
        }
        fn load_events(&mut self, _: &str, _: &str, _: u64) -> Result<Vec<JournalEvent>, Fault> {
            self.call().map(|()| Vec::new())
        }
        fn load_checkpoint(&mut self, _: &str, _: &str) -> Result<Option<Checkpoint>, Fault> {
            self.call().map(|()| None)
        }
    }

    fn store(retry_ms: u64) -> (Persistent<Flaky>, std::rc::Rc<Cell<bool>>, std::rc::Rc<Cell<usize>>) {
        let (gone, calls) = (std::rc::Rc::new(Cell::new(false)), std::rc::Rc::new(Cell::new(0)));
        let opts = StoreOptions { retry: Duration::from_millis(retry_ms), flush_days: 2, ..StoreOptions::default() };
        let backend = Flaky { gone: gone.clone(), calls: calls.clone() };
        (Persistent::new(backend, "flaky://h/".into(), opts), gone, calls)
    }

    fn meta(id: &str) -> RunMeta {
        RunMeta { run_id: id.into(), config: String::new(), data_source: "x".into(), status: RunStatus::Running }
    }

    fn day(i: u32) -> DayBatch {
        DayBatch { day_index: i, ..DayBatch::default() }
    }

    #[test]
    fn committed_follows_begun_runs_and_flushed_days_only() {
        let (mut s, _, _) = store(0);
        let committed = s.committed();
        assert_eq!(committed.held("r"), Held::Unseen);
        s.begin_run(&meta("r")).unwrap();
        assert_eq!(committed.held("r"), Held::NoDays);
        s.commit_day("r", &day(0)).unwrap();
        assert_eq!(committed.held("r"), Held::NoDays, "a buffered day is not committed");
        s.commit_day("r", &day(1)).unwrap();
        assert_eq!(committed.held("r"), Held::UpTo(1));
        s.delete_run("r").unwrap();
        assert_eq!(committed.held("r"), Held::Unseen);
    }

    /// A backend that applies a begun run but loses the answer the first time.
    #[derive(Default)]
    struct LostAnswer {
        runs: Vec<RunSummary>,
        answered_once: bool,
    }

    impl Backend for LostAnswer {
        fn name(&self) -> &'static str {
            "lost"
        }
        fn reconnect(&mut self) -> Result<(), Fault> {
            Ok(())
        }
        fn begin_run(&mut self, meta: &RunMeta, started_at: &str) -> Result<(), Fault> {
            if self.runs.iter().any(|r| r.meta.run_id == meta.run_id) {
                return Err(Fault::Fatal(StoreError::RunExists(meta.run_id.clone())));
            }
            self.runs.push(RunSummary {
                meta: meta.clone(),
                started_at: Some(started_at.to_string()),
                last_day_index: None,
                days: 0,
            });
            if !self.answered_once {
                self.answered_once = true;
                return Err(Fault::Transient("timed out".into()));
            }
            Ok(())
        }
        fn write_days(&mut self, _: &str, _: &[DayBatch]) -> Result<(), Fault> {
            Ok(())
        }
        fn set_status(&mut self, _: &str, _: RunStatus) -> Result<(), Fault> {
            Ok(())
        }
        fn run_summaries(&mut self) -> Result<Vec<RunSummary>, Fault> {
            Ok(self.runs.clone())
        }
        fn load_run(&mut self, _: &str) -> Result<RunRecord, Fault> {
            Ok(RunRecord::default())
        }
        fn delete_run(&mut self, _: &str) -> Result<(), Fault> {
            Ok(())
        }
        fn append_events(&mut self, _: &str, _: &[JournalEvent]) -> Result<(), Fault> {
            Ok(())
        }
        fn load_events(&mut self, _: &str, _: &str, _: u64) -> Result<Vec<JournalEvent>, Fault> {
            Ok(Vec::new())
        }
        fn load_checkpoint(&mut self, _: &str, _: &str) -> Result<Option<Checkpoint>, Fault> {
            Ok(None)
        }
    }

    #[test]
    fn a_run_begun_whose_answer_was_lost_is_not_taken_for_another_run() {
        let opts = StoreOptions { retry: Duration::from_secs(5), ..StoreOptions::default() };
        let mut s = Persistent::new(LostAnswer::default(), "lost://".into(), opts);
        s.begin_run(&meta("r")).unwrap();
        assert_eq!(s.committed().held("r"), Held::NoDays);
        assert!(matches!(s.begin_run(&meta("r")), Err(StoreError::RunExists(_))), "a second begin is refused");
    }

    #[test]
    fn a_store_that_gave_up_fails_later_calls_at_once_and_says_what_it_holds() {
        let (mut s, gone, calls) = store(300);
        s.begin_run(&meta("r")).unwrap();
        s.commit_day("r", &day(0)).unwrap();
        s.commit_day("r", &day(1)).unwrap();
        gone.set(true);
        s.commit_day("r", &day(2)).unwrap();
        let t = Instant::now();
        let err = s.commit_day("r", &day(3)).unwrap_err().to_string();
        assert!(t.elapsed() >= Duration::from_millis(300), "retried for the retry time");
        assert!(
            err.contains("flaky://h/") && err.contains("\"r\" up to day index 1") && err.contains("resumed"),
            "{err}"
        );
        let (t, before) = (Instant::now(), calls.get());
        let err = s.finish_run("r", RunStatus::Failed).unwrap_err().to_string();
        assert!(t.elapsed() < Duration::from_millis(50) && calls.get() == before, "no new attempt: {err}");
        assert!(err.contains("stopped answering earlier"), "{err}");
        assert_eq!(s.committed().held("r"), Held::UpTo(1));
        drop(s);
        assert_eq!(calls.get(), before, "the buffered days are not written on drop once the server was given up");
    }
}
