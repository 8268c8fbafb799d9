//! `janus sweep` and `janus worker`: runs that fan out beyond one machine.
//!
//! `janus sweep submit SPEC` expands a sweep file (a base config, a parameter grid, optional
//! walk-forward windows) into jobs, each a whole config with a deterministic run id, and puts
//! them on the Redis work queue ([`janus_shared::jobs`]). `janus worker` processes, on any
//! machine that reaches the queue, the store and the data, take jobs one at a time, run them
//! into the sweep's store (PostgreSQL, or any persistent store) under their run id, record a
//! short result on the queue and acknowledge. A worker touches its job every few seconds; a
//! job untouched for `--reclaim-after` (its worker died) is taken over by the next worker,
//! which resumes the run from its last committed day in the store. `janus sweep status`
//! shows where every job is, `janus sweep report` compares every run of a sweep.
//!
//! A walk-forward job trains the sell model on its train window (a backtest of the base config
//! recording every position-day, labelled as `janus export-training` labels them, fitted by
//! [`janus_models::fit`]) and tests it on the window after it; the test run is what the
//! store records.

use crate::config::{self, FileConfig};
use crate::run::{day_range, load_data, LazyProgress};
use anyhow::{anyhow, bail, Context, Result};
use chrono::NaiveDate;
use clap::{Args, Subcommand};
use janus_core::{Money, RunMeta, RunStatus, Store};
use janus_data::Panel;
use janus_engine::{derive_run_id, Backtest, Resume};
use janus_shared::jobs::{JobQueue, SweepState, Taken};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where the queue lives unless `--queue` or `JANUS_QUEUE` says otherwise.
const DEFAULT_QUEUE: &str = "redis://127.0.0.1:6379/";

#[derive(Args, Debug, Clone)]
pub struct QueueArgs {
    /// The work queue's Redis (default: $JANUS_QUEUE, else redis://127.0.0.1:6379/).
    #[arg(long, value_name = "URL")]
    pub queue: Option<String>,
    /// Key prefix of the queue in that Redis (several teams, or tests, can share one Redis).
    #[arg(long, default_value = "janus:sweep", value_name = "PREFIX")]
    pub queue_prefix: String,
}

impl QueueArgs {
    fn url(&self) -> String {
        self.queue.clone().or_else(|| std::env::var("JANUS_QUEUE").ok()).unwrap_or_else(|| DEFAULT_QUEUE.into())
    }

    /// The flags that name this queue, for a command line to show.
    fn hint(&self) -> String {
        let mut h = self.queue.as_ref().map(|q| format!(" --queue {}", janus_store::redact(q))).unwrap_or_default();
        if self.queue_prefix != "janus:sweep" {
            h.push_str(&format!(" --queue-prefix {}", self.queue_prefix));
        }
        h
    }

    fn open(&self) -> Result<JobQueue> {
        JobQueue::connect(&self.url(), &self.queue_prefix, Duration::from_secs(5))
            .context("opening the work queue (is Redis running? --queue URL or JANUS_QUEUE names it)")
    }
}

#[derive(Args, Debug)]
pub struct SweepArgs {
    #[command(subcommand)]
    pub command: SweepCommand,
}

#[derive(Subcommand, Debug)]
pub enum SweepCommand {
    /// Expand a sweep file into jobs and queue them (see examples/sweep.toml). Submitting the
    /// same file again queues only jobs not yet submitted, and those whose last attempt failed.
    Submit {
        /// The sweep file (TOML): base config, [grid] and optional [walk_forward].
        spec: PathBuf,
        #[command(flatten)]
        queue: QueueArgs,
    },
    /// Where every job of a sweep is (done, failed, running on which worker, queued); without
    /// a name, every sweep on the queue.
    Status {
        name: Option<String>,
        #[command(flatten)]
        queue: QueueArgs,
    },
    /// Compare every finished run of a sweep: a table (here and in an HTML page) of the
    /// parameters, windows and metrics, with the equity curves (walk-forward windows of one
    /// parameter set chained out of sample).
    Report {
        name: String,
        /// HTML file to write (default: sweep-<name>.html).
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// The store holding the runs (default: the one the sweep file named).
        #[arg(long, value_name = "URL")]
        store: Option<String>,
        #[command(flatten)]
        queue: QueueArgs,
    },
    /// Forget a sweep on the queue: its jobs, results and queued entries (runs stay in the store).
    Reset {
        name: String,
        #[command(flatten)]
        queue: QueueArgs,
    },
}

#[derive(Args, Debug)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub queue: QueueArgs,
    /// This worker's name on the queue (default: host name and process id).
    #[arg(long)]
    pub id: Option<String>,
    /// Take over a job another worker has not touched for this many seconds (it died).
    #[arg(long, default_value_t = 30.0, value_name = "SECS")]
    pub reclaim_after: f64,
    /// Give a job up as failed once it was handed out this many times (workers keep dying on it).
    #[arg(long, default_value_t = 3)]
    pub max_deliveries: u64,
    /// Stop when no job is queued or running anywhere (default: wait for jobs forever).
    #[arg(long)]
    pub exit_when_idle: bool,
    /// Folder for the sell models walk-forward jobs train (default: sweep-models).
    #[arg(long, default_value = "sweep-models")]
    pub work_dir: PathBuf,
}

/// The sweep file.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Spec {
    /// Default: the file's name without its extension.
    name: Option<String>,
    /// The base config, relative to the sweep file (default: the built-in defaults).
    config: Option<PathBuf>,
    /// Where the runs are recorded: a persistent store URL, without a password (give it in
    /// PGPASSWORD / REDISCLI_AUTH on every worker).
    store: String,
    /// Dotted config key -> the values to try; every combination is a job.
    #[serde(default)]
    grid: toml::Table,
    walk_forward: Option<WalkForwardSpec>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
struct WalkForwardSpec {
    /// Trading days the sell model is trained on.
    train_days: usize,
    /// Trading days it is then tested on.
    test_days: usize,
    /// Trading days from one window to the next (default: test_days, so tests do not overlap).
    step_days: Option<usize>,
    /// What the model learns to predict: `sell_beats_exit` (selling that day beats the
    /// eventual exit), or `falls_1d`, `falls_5d`, `falls_10d` (the close k days later is lower).
    #[serde(default = "default_label")]
    label: String,
    /// L2 penalty on the standardised coefficients.
    #[serde(default = "default_l2")]
    l2: f64,
}

fn default_label() -> String {
    "sell_beats_exit".into()
}

fn default_l2() -> f64 {
    1.0
}

const LABELS: [&str; 4] = ["sell_beats_exit", "falls_1d", "falls_5d", "falls_10d"];

/// A walk-forward window of a job.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Window {
    index: usize,
    train: (NaiveDate, NaiveDate),
    test: (NaiveDate, NaiveDate),
    label: String,
    l2: f64,
}

/// One job, as queued.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Job {
    sweep: String,
    id: String,
    run_id: String,
    /// The grid values of this job, `key = value`.
    params: Vec<(String, String)>,
    /// The job's whole config (for a walk-forward job, before the trained model is set).
    config: String,
    /// Folder the config's relative paths resolve against.
    base: PathBuf,
    store: String,
    window: Option<Window>,
}

impl Job {
    fn params_text(&self) -> String {
        if self.params.is_empty() {
            return "(base config)".into();
        }
        self.params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
    }
}

/// What a worker records for a job.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
struct JobResult {
    /// `done` or `failed`; first, so the queue can tell a failed result by its start.
    state: String,
    worker: String,
    seconds: f64,
    finished_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    final_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_return: Option<f64>,
    /// The last committed day the run resumed after (it was taken over from a dead worker).
    #[serde(skip_serializing_if = "Option::is_none")]
    resumed_after: Option<NaiveDate>,
    /// Walk-forward: the trained model (its JSON file) and what it was trained on.
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<serde_json::Value>,
}

pub fn sweep(args: &SweepArgs) -> Result<()> {
    match &args.command {
        SweepCommand::Submit { spec, queue } => submit(spec, queue),
        SweepCommand::Status { name, queue } => status(name.as_deref(), queue),
        SweepCommand::Report { name, out, store, queue } => report(name, out.as_deref(), store.as_deref(), queue),
        SweepCommand::Reset { name, queue } => {
            queue.open()?.reset(name)?;
            println!("sweep {name} removed from the queue (its runs stay in the store)");
            Ok(())
        }
    }
}

// ---------------------------------------------------------------------------------------
// Expansion

/// Set dotted `key` in `t` to `value`, creating tables on the way.
fn set_key(t: &mut toml::Table, key: &str, value: toml::Value) -> Result<()> {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().filter(|l| !l.is_empty()).ok_or_else(|| anyhow!("empty grid key {key:?}"))?;
    let mut cur = t;
    for p in parts {
        let slot = cur.entry(p.to_string()).or_insert_with(|| toml::Value::Table(Default::default()));
        cur = slot.as_table_mut().ok_or_else(|| anyhow!("grid key {key:?}: `{p}` is a value, not a section"))?;
    }
    cur.insert(last.to_string(), value);
    Ok(())
}

/// Every combination of the grid, in key order then value order.
fn grid_points(grid: &toml::Table, origin: &str) -> Result<Vec<Vec<(String, toml::Value)>>> {
    let mut points: Vec<Vec<(String, toml::Value)>> = vec![Vec::new()];
    for (key, values) in grid {
        let values = match values {
            toml::Value::Array(v) if !v.is_empty() => v.clone(),
            toml::Value::Array(_) => bail!("{origin}: grid key {key:?} has no values"),
            single => vec![single.clone()],
        };
        points = points
            .into_iter()
            .flat_map(|p| {
                values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.push((key.clone(), v.clone()));
                    q
                })
            })
            .collect();
    }
    Ok(points)
}

/// Walk-forward windows over `range` of the panel's days.
fn windows(panel: &Panel, range: std::ops::Range<usize>, wf: &WalkForwardSpec) -> Result<Vec<Window>> {
    if wf.train_days < 20 || wf.test_days == 0 {
        bail!("walk_forward: train_days must be at least 20 and test_days at least 1");
    }
    if !LABELS.contains(&wf.label.as_str()) {
        bail!("walk_forward.label {:?} is not one of {}", wf.label, LABELS.join(", "));
    }
    if !(wf.l2.is_finite() && wf.l2 > 0.0) {
        bail!("walk_forward.l2 must be a positive number (it keeps the fit finite)");
    }
    let step = wf.step_days.unwrap_or(wf.test_days);
    if step == 0 {
        bail!("walk_forward.step_days must be at least 1");
    }
    let mut out = Vec::new();
    let mut start = range.start;
    while start + wf.train_days < range.end {
        let test_start = start + wf.train_days;
        let test_end = (test_start + wf.test_days).min(range.end);
        out.push(Window {
            index: out.len(),
            train: (panel.dates[start], panel.dates[test_start - 1]),
            test: (panel.dates[test_start], panel.dates[test_end - 1]),
            label: wf.label.clone(),
            l2: wf.l2,
        });
        start += step;
    }
    if out.is_empty() {
        bail!(
            "walk_forward: {} trading days in the backtest range leave no test window after {} training days",
            range.len(),
            wf.train_days
        );
    }
    Ok(out)
}

fn read_spec(path: &Path) -> Result<(Spec, String)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read sweep file {}", path.display()))?;
    let spec: Spec = toml::from_str(&text).with_context(|| format!("sweep file {} is not valid", path.display()))?;
    let name = match &spec.name {
        Some(n) => n.clone(),
        None => path.file_stem().and_then(|s| s.to_str()).unwrap_or("sweep").to_string(),
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        bail!("sweep name {name:?} may use only letters, digits, '-', '_' and '.'");
    }
    let parsed = janus_store::StoreUrl::parse(&spec.store)?;
    if parsed.is_memory() {
        bail!(
            "{}: `store` must be persistent (postgres://, sqlite:, redis://): workers record their runs there",
            path.display()
        );
    }
    if !janus_store::url_secrets(&spec.store).is_empty() {
        bail!(
            "{}: `store` holds a password, which would travel with every job; give it to the workers in PGPASSWORD \
             (or REDISCLI_AUTH) instead",
            path.display()
        );
    }
    Ok((spec, name))
}

/// The jobs of a sweep file.
fn expand(path: &Path) -> Result<Vec<Job>> {
    let (spec, name) = read_spec(path)?;
    let spec_dir = path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    let loaded = config::load(spec.config.as_ref().map(|c| spec_dir.join(c)).as_deref())?;
    // Absolute, so that workers started in another folder find the data.
    let folder = if loaded.base.as_os_str().is_empty() { Path::new(".") } else { loaded.base.as_path() };
    let base = std::fs::canonicalize(folder)
        .with_context(|| format!("cannot resolve the config's folder {}", folder.display()))?;
    let base_table: toml::Table = toml::from_str(&loaded.text).context("the base config is not valid TOML")?;
    let origin = path.display().to_string();
    let mut jobs = Vec::new();
    // One load per distinct data section: grid keys may change the data.
    let mut panels: HashMap<String, (Panel, String)> = HashMap::new();
    for point in grid_points(&spec.grid, &origin)? {
        let mut table = base_table.clone();
        for (k, v) in &point {
            set_key(&mut table, k, v.clone())?;
        }
        let params: Vec<(String, String)> = point.iter().map(|(k, v)| (k.clone(), v.to_string())).collect();
        let text = toml::to_string(&table).context("writing a job's config")?;
        let shown = params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ");
        let cfg = FileConfig::parse(&text, &format!("of sweep {name} with {shown}"))?;
        let key = data_key(&cfg, &base);
        if !panels.contains_key(&key) {
            panels.insert(key.clone(), load_data(&cfg, &base, None)?);
        }
        let (panel, source) = &panels[&key];
        let range = day_range(panel, cfg.backtest.start, cfg.backtest.end)?;
        let wins = match &spec.walk_forward {
            Some(wf) => windows(panel, range, wf)?.into_iter().map(Some).collect(),
            None => vec![None],
        };
        for window in wins {
            let run_id = match &window {
                None => derive_run_id(&text, source),
                Some(w) => derive_run_id(
                    &format!(
                        "{text}\n# walk-forward: train {:?}, test {:?}, label {}, l2 {}",
                        w.train, w.test, w.label, w.l2
                    ),
                    source,
                ),
            };
            jobs.push(Job {
                sweep: name.clone(),
                id: String::new(),
                run_id,
                params: params.clone(),
                config: text.clone(),
                base: base.clone(),
                store: spec.store.clone(),
                window,
            });
        }
    }
    let width = jobs.len().to_string().len().max(3);
    for (i, j) in jobs.iter_mut().enumerate() {
        j.id = format!("j{i:0width$}");
    }
    Ok(jobs)
}

fn submit(spec: &Path, queue: &QueueArgs) -> Result<()> {
    let jobs = expand(spec)?;
    let name = jobs.first().map(|j| j.sweep.clone()).unwrap_or_default();
    let payloads = jobs.iter().map(|j| Ok((j.id.clone(), serde_json::to_string(j)?))).collect::<Result<Vec<_>>>()?;
    let added = queue.open()?.submit(&name, &payloads)?;
    let windows = jobs.iter().filter(|j| j.window.is_some()).count();
    println!(
        "sweep {name}: {} jobs ({}), {added} queued now{}",
        jobs.len(),
        if windows > 0 { format!("{windows} walk-forward windows") } else { "parameter grid".to_string() },
        if added < jobs.len() { format!(", {} submitted before", jobs.len() - added) } else { String::new() }
    );
    println!(
        "Start workers (on any machine that reaches the queue, the store and the data): janus worker{}",
        queue.hint()
    );
    println!("Follow it: janus sweep status {name}; compare the runs: janus sweep report {name}");
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The worker

/// Keeps a taken job touched from a thread of its own, so a long job is not reclaimed. A worker
/// that finds its job taken over (it was not heard from for `--reclaim-after`: frozen, or cut off
/// from Redis) stops at once, so that two workers never write the same run; like a killed
/// worker, it can simply be started again.
struct Heartbeat {
    stop: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Heartbeat {
    fn start(queue: &QueueArgs, taken: &Taken, worker: &str, every: Duration) -> Result<Heartbeat> {
        let mut q = queue.open()?;
        let (stop, rx) = std::sync::mpsc::channel::<()>();
        let (entry, worker) = (taken.entry.clone(), worker.to_string());
        let job = format!("{}/{}", taken.sweep, taken.job);
        let thread = std::thread::spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(every) {
                match q.touch(&entry, &worker) {
                    Ok(true) => {}
                    Ok(false) => {
                        eprintln!(
                            "worker {worker}: job {job} was taken over by another worker (this one was not heard \
                             from in time); stopping so that two workers never write the same run"
                        );
                        std::process::exit(3);
                    }
                    Err(e) => eprintln!("worker {worker}: cannot touch job {job} (will retry): {e}"),
                }
            }
        });
        Ok(Heartbeat { stop, thread })
    }

    fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "worker".into())
}

/// What a worker keeps between jobs: the stores it opened and the last data it loaded.
#[derive(Default)]
struct WorkerCache {
    stores: HashMap<String, Box<dyn Store>>,
    /// The data key, the panel and its source description.
    panel: Option<(String, Arc<(Panel, String)>)>,
}

/// What decides the bars a config loads: jobs with the same key share one panel.
fn data_key(cfg: &FileConfig, base: &Path) -> String {
    format!("{:?}|{:?}|{:?}|{}", cfg.data, cfg.corporate_actions, cfg.market.limits, base.display())
}

impl WorkerCache {
    fn store(&mut self, url: &str) -> Result<&mut Box<dyn Store>> {
        if !self.stores.contains_key(url) {
            let (store, _) = janus_store::open_store_tracked(url, &janus_store::StoreOptions::default())?;
            self.stores.insert(url.to_string(), store);
        }
        Ok(self.stores.get_mut(url).expect("inserted above"))
    }

    /// The bars of `cfg`, loaded again only when the data key changes (shared, not copied,
    /// so the worker can hold them while it writes to a store).
    fn panel(&mut self, cfg: &FileConfig, base: &Path) -> Result<Arc<(Panel, String)>> {
        let key = data_key(cfg, base);
        match &self.panel {
            Some((k, loaded)) if *k == key => Ok(loaded.clone()),
            _ => {
                let loaded = Arc::new(load_data(cfg, base, None)?);
                self.panel = Some((key, loaded.clone()));
                Ok(loaded)
            }
        }
    }
}

pub fn worker(args: &WorkerArgs) -> Result<()> {
    if !(args.reclaim_after.is_finite() && args.reclaim_after >= 1.0) {
        bail!("--reclaim-after must be at least 1 second");
    }
    let id = args.id.clone().unwrap_or_else(|| format!("{}-{}", host_name(), std::process::id()));
    let reclaim = Duration::from_secs_f64(args.reclaim_after);
    let mut queue = args.queue.open()?;
    let mut cache = WorkerCache::default();
    let mut done = 0usize;
    eprintln!("worker {id}: waiting for jobs on {}", janus_store::redact(&args.queue.url()));
    loop {
        let Some(taken) = queue.take(&id, reclaim, Duration::from_secs(1))? else {
            if args.exit_when_idle && queue.running_count()? == 0 {
                eprintln!("worker {id}: no job queued or running; {done} jobs done, stopping");
                return Ok(());
            }
            continue;
        };
        let Some(payload) = taken.payload.clone() else {
            queue.drop_entry(&taken.entry)?; // its sweep was reset
            continue;
        };
        let started = Instant::now();
        let outcome = if taken.deliveries > args.max_deliveries {
            Err(anyhow!(
                "given up: handed out {} times, and the workers that took it stopped before finishing (more \
                 than --max-deliveries {})",
                taken.deliveries,
                args.max_deliveries
            ))
        } else {
            let beat = Heartbeat::start(&args.queue, &taken, &id, reclaim / 4)?;
            let outcome = serde_json::from_str::<Job>(&payload)
                .with_context(|| format!("job {} of sweep {} is not a job", taken.job, taken.sweep))
                .and_then(|job| run_job(&job, &mut cache, &args.work_dir));
            beat.stop();
            outcome
        };
        let mut result = match outcome {
            Ok(r) => r,
            Err(e) => JobResult { state: "failed".into(), error: Some(format!("{e:#}")), ..Default::default() },
        };
        result.worker = id.clone();
        result.seconds = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
        result.finished_ms = queue.clock_ms()?;
        let line = match &result.error {
            Some(e) => format!("failed: {e}"),
            None => format!(
                "done in {:.1} s, final value {}{}",
                result.seconds,
                result.final_value.as_deref().unwrap_or("-"),
                result.resumed_after.map(|d| format!(" (resumed after {d})")).unwrap_or_default()
            ),
        };
        if queue.finish(&taken, &id, &serde_json::to_string(&result)?)? {
            done += 1;
            eprintln!("worker {id}: {}/{} {line}", taken.sweep, taken.job);
        } else {
            eprintln!(
                "worker {id}: {}/{} was taken over by another worker; its result here is dropped",
                taken.sweep, taken.job
            );
        }
    }
}

/// The sell dataset's label column `label` (see [`LABELS`]), NaN where unknown.
fn label_column(t: &janus_models::table::Table, label: &str) -> Result<Vec<f64>> {
    let col = |name: &str| match t.column(name) {
        Some(janus_models::table::Column::F64(v)) => Ok(v.clone()),
        _ => Err(anyhow!("the training data has no column {name}")),
    };
    Ok(match label {
        "sell_beats_exit" => col("sell_beats_exit")?,
        falls => {
            let k = falls.trim_start_matches("falls_");
            col(&format!("fwd_ret_{k}"))?
                .into_iter()
                .map(|r| if r.is_nan() { r } else { (r < 0.0) as u8 as f64 })
                .collect()
        }
    })
}

/// Train the sell model of a walk-forward window: the base config run over the train window,
/// every position-day labelled, a logistic model fitted. Returns its JSON and a summary.
fn train_window(cfg: &FileConfig, base: &Path, panel: &Panel, w: &Window) -> Result<(String, serde_json::Value)> {
    let range = day_range(panel, Some(w.train.0), Some(w.train.1))?;
    let strategy = janus_models::build_strategy(&cfg.strategy, panel, base)?;
    let mut recorder = janus_models::training::Recorder::new(strategy);
    let mut store = janus_store::MemoryStore::new();
    let meta = RunMeta {
        run_id: "train".into(),
        config: String::new(),
        data_source: String::new(),
        status: RunStatus::Running,
    };
    Backtest::new(panel, cfg.engine())?.run(range, &mut recorder, &mut store, &meta, &mut |_, _| {})?;
    let record = store.load_run("train")?;
    let trips = crate::export_cmd::training_trips(&record);
    let table = janus_models::training::sell_dataset(panel, &recorder.positions, &trips, &cfg.engine());
    let y = label_column(&table, &w.label)?;
    let names = janus_engine::features::POSITION_FEATURES;
    let cols: Vec<Vec<f64>> = names
        .iter()
        .map(|n| match table.column(n) {
            Some(janus_models::table::Column::F64(v)) => Ok(v.clone()),
            _ => Err(anyhow!("the training data has no feature column {n}")),
        })
        .collect::<Result<_>>()?;
    let refs: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
    let fit = janus_models::fit::fit_logistic(&names, &refs, &y, w.l2).map_err(|e| {
        anyhow!("training the sell model on {} .. {} ({} position-days): {e}", w.train.0, w.train.1, table.n_rows())
    })?;
    let json = fit.to_json(&format!(
        "walk-forward window {}: trained on {} .. {} to predict {}, l2 {}",
        w.index, w.train.0, w.train.1, w.label, w.l2
    ));
    let summary = serde_json::json!({
        "rows": fit.rows,
        "positives": fit.positives,
        "log_loss": fit.log_loss,
        "iterations": fit.iterations,
        "file": serde_json::from_str::<serde_json::Value>(&json)?,
    });
    Ok((json, summary))
}

/// Run one job into its store; a run the store already holds part of goes on from its last
/// committed day, a finished one is not run again.
fn run_job(job: &Job, cache: &mut WorkerCache, work_dir: &Path) -> Result<JobResult> {
    let base_cfg = FileConfig::parse(&job.config, &format!("of job {}/{}", job.sweep, job.id))?;
    let loaded = cache.panel(&base_cfg, &job.base)?;
    let (panel, source) = (&loaded.0, loaded.1.clone());
    let (text, model) = match &job.window {
        None => (job.config.clone(), None),
        Some(w) => {
            let (json, summary) = train_window(&base_cfg, &job.base, panel, w)?;
            std::fs::create_dir_all(work_dir).with_context(|| format!("cannot create {}", work_dir.display()))?;
            let file = std::fs::canonicalize(work_dir)?.join(format!("{}.json", job.run_id));
            std::fs::write(&file, json).with_context(|| format!("cannot write {}", file.display()))?;
            let mut table: toml::Table = toml::from_str(&job.config)?;
            set_key(&mut table, "strategy.sell.kind", "logistic".into())?;
            set_key(&mut table, "strategy.sell.path", file.display().to_string().into())?;
            set_key(&mut table, "backtest.start", toml::Value::String(w.test.0.to_string()))?;
            set_key(&mut table, "backtest.end", toml::Value::String(w.test.1.to_string()))?;
            (toml::to_string(&table)?, Some(summary))
        }
    };
    let cfg = FileConfig::parse(&text, &format!("of job {}/{}", job.sweep, job.id))?;
    let range = day_range(panel, cfg.backtest.start, cfg.backtest.end)?;
    let store = cache.store(&job.store)?;
    let run_id = &job.run_id;
    let existing = store.run_summaries()?.into_iter().find(|s| s.meta.run_id == *run_id);
    let finished = existing.as_ref().is_some_and(|s| s.meta.status == RunStatus::Finished);
    let mut resume = None;
    match existing {
        Some(_) if finished => {}
        Some(_) => {
            let record = store.load_run(run_id)?;
            match (record.last_day_index, record.account_snapshots.last()) {
                (Some(last_day_index), Some(snap)) => {
                    resume = Some(Resume { last_day_index, last_snapshot: snap.clone() });
                    store.finish_run(run_id, RunStatus::Running)?;
                }
                _ => store.delete_run(run_id)?,
            }
        }
        None => {}
    }
    if !finished {
        let meta =
            RunMeta { run_id: run_id.clone(), config: text.clone(), data_source: source, status: RunStatus::Running };
        let mut strategy = janus_models::build_strategy(&cfg.strategy, panel, &job.base)?;
        let mut engine = Backtest::new(panel, cfg.engine())?;
        engine.checkpoints = true;
        let show = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let mut progress = LazyProgress::new(range.len() as u64, &format!("{}/{}", job.sweep, job.id), show);
        let outcome =
            engine.run_resumable(range, &mut strategy, store.as_mut(), &meta, resume.as_ref(), &mut |d, _| {
                progress.set(d)
            });
        progress.finish();
        if let Err(e) = outcome {
            let _ = store.finish_run(run_id, RunStatus::Failed);
            return Err(e.into());
        }
    }
    let record = store.load_run(run_id)?;
    let trips = janus_report::round_trips(&record);
    let metrics = janus_report::compute_metrics(&record, Money::from_yuan(cfg.initial_cash), &trips);
    Ok(JobResult {
        state: "done".into(),
        final_value: Some(metrics.final_value),
        total_return: metrics.total_return,
        resumed_after: resume.map(|r| panel.dates[r.last_day_index as usize]),
        model,
        ..Default::default()
    })
}

// ---------------------------------------------------------------------------------------
// Status and report

fn parse_jobs(state: &SweepState) -> Result<Vec<(Job, Option<JobResult>)>> {
    state
        .jobs
        .iter()
        .map(|(id, payload)| {
            let job: Job =
                serde_json::from_str(payload).with_context(|| format!("job {id} on the queue is unreadable"))?;
            let result = match state.results.get(id) {
                Some(r) => {
                    Some(serde_json::from_str(r).with_context(|| format!("the result of job {id} is unreadable"))?)
                }
                None => None,
            };
            Ok((job, result))
        })
        .collect()
}

fn window_text(w: &Option<Window>) -> String {
    match w {
        Some(w) => format!("#{} test {}..{}", w.index, w.test.0, w.test.1),
        None => "-".into(),
    }
}

fn status(name: Option<&str>, queue: &QueueArgs) -> Result<()> {
    let mut q = queue.open()?;
    let Some(name) = name else {
        let sweeps = q.sweeps()?;
        if sweeps.is_empty() {
            println!("no sweep on the queue; `janus sweep submit FILE` queues one");
        }
        for s in sweeps {
            let st = q.state(&s)?;
            println!("{}", summary_line(&s, &st, &parse_jobs(&st)?, q.clock_ms()?));
        }
        return Ok(());
    };
    let st = q.state(name)?;
    if st.jobs.is_empty() {
        bail!("no sweep {name:?} on the queue; `janus sweep status` lists the sweeps");
    }
    let jobs = parse_jobs(&st)?;
    println!("{}", summary_line(name, &st, &jobs, q.clock_ms()?));
    let mut rows = Vec::new();
    for (job, result) in &jobs {
        let running = st.running.iter().find(|r| r.job == job.id);
        let (state, worker) = match (result, running) {
            (Some(r), _) => (r.state.clone(), format!("{} {:.1}s", r.worker, r.seconds)),
            (None, Some(r)) => (
                if r.deliveries > 1 { format!("running#{}", r.deliveries) } else { "running".into() },
                format!("{} ({:.0}s quiet)", r.worker, r.idle_ms as f64 / 1000.0),
            ),
            (None, None) => ("queued".into(), String::new()),
        };
        rows.push(vec![job.id.clone(), state, worker, window_text(&job.window), job.params_text(), job.run_id.clone()]);
    }
    print!("{}", text_table(&["job", "state", "worker", "window", "parameters", "run"], &rows, 0));
    for (job, result) in &jobs {
        if let Some(e) = result.as_ref().and_then(|r| r.error.as_ref()) {
            println!("{} failed: {e}", job.id);
        }
    }
    Ok(())
}

fn summary_line(name: &str, st: &SweepState, jobs: &[(Job, Option<JobResult>)], now_ms: u64) -> String {
    let done: Vec<&JobResult> = jobs.iter().filter_map(|(_, r)| r.as_ref()).filter(|r| r.state == "done").collect();
    let failed = jobs.iter().filter(|(_, r)| r.as_ref().is_some_and(|r| r.state != "done")).count();
    let mut line = format!(
        "sweep {name}: {} jobs: {} done, {failed} failed, {} running, {} queued",
        jobs.len(),
        done.len(),
        st.running.len(),
        st.queued().len()
    );
    if let (Some(start), false) = (st.submitted_ms, done.is_empty()) {
        let finished = st.running.is_empty() && st.queued().is_empty();
        let end = if finished { done.iter().map(|r| r.finished_ms).max().unwrap_or(now_ms) } else { now_ms };
        let secs = end.saturating_sub(start) as f64 / 1000.0;
        if secs > 0.0 {
            let _ = write!(
                line,
                "; {} {secs:.1} s after submission ({:.1} jobs/min)",
                if finished { "finished" } else { "now" },
                done.len() as f64 * 60.0 / secs
            );
        }
    }
    line
}

/// Columns padded to their widest cell; columns from `numeric_from` on are right-aligned.
fn text_table(header: &[&str], rows: &[Vec<String>], numeric_from: usize) -> String {
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let head: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for r in std::iter::once(&head).chain(rows) {
        let cells: Vec<String> = r
            .iter()
            .zip(&width)
            .enumerate()
            .map(
                |(i, (c, w))| {
                    if i >= numeric_from && numeric_from > 0 {
                        format!("{c:>w$}")
                    } else {
                        format!("{c:<w$}")
                    }
                },
            )
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn pct(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{:+.2}%", v * 100.0))
}

fn report(name: &str, out: Option<&Path>, store_url: Option<&str>, queue: &QueueArgs) -> Result<()> {
    let mut q = queue.open()?;
    let st = q.state(name)?;
    if st.jobs.is_empty() {
        bail!("no sweep {name:?} on the queue; `janus sweep status` lists the sweeps");
    }
    let jobs = parse_jobs(&st)?;
    let url = store_url.map(str::to_string).unwrap_or_else(|| jobs[0].0.store.clone());
    let store = janus_store::open_store(&url)?;
    let style = janus_report::Style::default();
    // One row per finished run; equity curves by parameter set (walk-forward windows chained).
    let mut rows = String::new();
    let mut table = Vec::new();
    let mut curves: BTreeMap<String, BTreeMap<NaiveDate, f64>> = BTreeMap::new();
    let mut missing = Vec::new();
    for (job, result) in &jobs {
        if result.as_ref().is_none_or(|r| r.state != "done") {
            missing.push(format!(
                "{} ({})",
                job.id,
                result.as_ref().map_or("not finished", |r| r.error.as_deref().unwrap_or("failed"))
            ));
            continue;
        }
        let record =
            store.load_run(&job.run_id).with_context(|| format!("loading run {} of job {}", job.run_id, job.id))?;
        let cfg = FileConfig::parse(&job.config, &format!("of job {}", job.id))?;
        let initial = Money::from_yuan(cfg.initial_cash);
        let m = janus_report::compute_metrics(&record, initial, &janus_report::round_trips(&record));
        let curve = curves.entry(job.params_text()).or_default();
        let mut prev = initial.as_f64();
        let mut level = curve.values().last().copied().unwrap_or(1.0);
        for s in &record.account_snapshots {
            let v = s.total_value.as_f64();
            level *= v / prev;
            prev = v;
            curve.insert(s.date, level);
        }
        let cells = [
            job.id.clone(),
            job.params_text(),
            window_text(&job.window),
            pct(m.total_return),
            pct(m.annualized_return),
            m.sharpe.map_or("-".into(), |s| format!("{s:.2}")),
            format!("{:.2}%", m.max_drawdown * 100.0),
            m.round_trips.to_string(),
            m.final_value.clone(),
        ];
        rows.push_str("<tr>");
        for (i, c) in cells.iter().enumerate() {
            let class = if i >= 3 { " class=\"num\"" } else { "" };
            let _ = write!(rows, "<td{class}>{}</td>", janus_report::html::escape(c));
        }
        let _ = write!(rows, "<td>{}</td></tr>", janus_report::html::escape(&job.run_id));
        table.push(cells.to_vec());
    }
    let header = ["job", "parameters", "window", "return", "annualised", "Sharpe", "max dd", "trips", "final value"];
    print!("{}", text_table(&header, &table, 3));
    if !missing.is_empty() {
        println!("not in the report: {}", missing.join(", "));
    }
    // The curves on the union of their dates (a curve holds its level where it has no day).
    let dates: Vec<NaiveDate> = {
        let mut all: Vec<NaiveDate> = curves.values().flat_map(|c| c.keys().copied()).collect();
        all.sort();
        all.dedup();
        all
    };
    let lines: Vec<janus_report::charts::Line> = curves
        .iter()
        .enumerate()
        .map(|(i, (label, c))| {
            let mut last = 1.0;
            let values: Vec<f64> = dates
                .iter()
                .map(|d| {
                    if let Some(v) = c.get(d) {
                        last = *v;
                    }
                    last - 1.0
                })
                .collect();
            janus_report::charts::Line::daily(label, &values, janus_report::charts::nth_color(i))
        })
        .collect();
    let title = if jobs.iter().any(|(j, _)| j.window.is_some()) {
        "Out-of-sample return, walk-forward windows chained"
    } else {
        "Return of each parameter set"
    };
    let chart = janus_report::charts::lines_chart(title, &dates, &lines, true, (960, 420), &style)?;
    let mut body = format!(
        "<h1>Sweep {}</h1>\n<p>{}</p>\n",
        janus_report::html::escape(name),
        janus_report::html::escape(&summary_line(name, &st, &jobs, q.clock_ms()?))
    );
    let _ = writeln!(body, "<figure class=\"chart\" id=\"chart-sweep\">{chart}</figure>");
    body.push_str("<table><thead><tr><th>job</th><th>parameters</th><th>window</th><th>return</th><th>annualised</th><th>Sharpe</th><th>max drawdown</th><th>round trips</th><th>final value</th><th>run id</th></tr></thead><tbody>");
    body.push_str(&rows);
    body.push_str("</tbody></table>\n");
    if !missing.is_empty() {
        let _ = write!(body, "<p>Not in the report: {}</p>", janus_report::html::escape(&missing.join(", ")));
    }
    let html = janus_report::html::page(&format!("Janus sweep {name}"), &body, 1);
    let out = out.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(format!("sweep-{name}.html")));
    janus_report::write_report_file(&out, html.as_bytes())?;
    println!("Comparison page: {}", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_points_are_every_combination_in_key_then_value_order() {
        let grid: toml::Table = toml::from_str("a = [1, 2]\nb = [\"x\", \"y\", \"z\"]\nc = 0.5\n").unwrap();
        let points = grid_points(&grid, "t").unwrap();
        assert_eq!(points.len(), 6);
        let shown: Vec<String> =
            points.iter().map(|p| p.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")).collect();
        assert_eq!(shown[0], "a=1,b=\"x\",c=0.5");
        assert_eq!(shown[5], "a=2,b=\"z\",c=0.5");
        let empty: toml::Table = toml::from_str("a = []").unwrap();
        assert!(grid_points(&empty, "t").unwrap_err().to_string().contains("no values"));
    }

    #[test]
    fn dotted_keys_set_nested_values_and_refuse_to_go_through_a_value() {
        let mut t: toml::Table = toml::from_str("[risk]\nmax_positions = 3\n").unwrap();
        set_key(&mut t, "risk.max_positions", 7.into()).unwrap();
        set_key(&mut t, "strategy.sell.stop_loss", 0.05.into()).unwrap();
        assert_eq!(t["risk"]["max_positions"].as_integer(), Some(7));
        assert_eq!(t["strategy"]["sell"]["stop_loss"].as_float(), Some(0.05));
        assert!(set_key(&mut t, "risk.max_positions.x", 1.into()).is_err());
    }

    #[test]
    fn walk_forward_windows_step_through_the_range() {
        let g = janus_data::GenConfig {
            seed: 1,
            n_symbols: 3,
            n_days: 100,
            start: NaiveDate::from_ymd_opt(2021, 1, 4).unwrap(),
        };
        let panel = janus_data::generate(&g, &Default::default());
        let wf = WalkForwardSpec { train_days: 40, test_days: 25, step_days: None, label: default_label(), l2: 1.0 };
        let w = windows(&panel, 0..100, &wf).unwrap();
        // Tests start at days 40, 65, 90; the last is cut at the range's end.
        assert_eq!(w.len(), 3);
        assert_eq!(w[0].train, (panel.dates[0], panel.dates[39]));
        assert_eq!(w[0].test, (panel.dates[40], panel.dates[64]));
        assert_eq!(w[2].test, (panel.dates[90], panel.dates[99]));
        let bad = WalkForwardSpec { label: "up".into(), ..wf.clone() };
        assert!(windows(&panel, 0..100, &bad).unwrap_err().to_string().contains("sell_beats_exit"));
        let long = WalkForwardSpec { train_days: 100, ..wf };
        assert!(windows(&panel, 0..100, &long).is_err());
    }
}
