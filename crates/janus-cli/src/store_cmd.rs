//! The store side of the CLI: opening the store a run names (`--store URL` or `store = "URL"`),
//! resuming a run that died (`janus backtest --resume RUN_ID`), and reading stored runs back
//! (`janus runs list`, `janus runs show`).

use crate::config::{FileConfig, Loaded};
use crate::run::{load_data, BacktestArgs};
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use janus_core::{RunStatus, Store};
use janus_engine::{EngineError, Resume, RunOutcome};
use janus_store::{open_store_with, redact, StoreOptions, StoreUrl};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Open a store by URL (`memory` when none is given), connecting now so that a wrong or
/// unreachable URL fails before any work. Returns the store and its URL with the password
/// redacted.
pub fn open(url: Option<&str>, retry_secs: Option<f64>) -> Result<(Box<dyn Store>, String)> {
    let url = url.unwrap_or("memory");
    let mut opts = StoreOptions::default();
    if let Some(secs) = retry_secs {
        if !(secs.is_finite() && secs >= 0.0) {
            bail!("--store-retry-secs (or `store_retry_secs`) must be a number of seconds, at least 0");
        }
        opts.retry = Duration::from_secs_f64(secs);
    }
    let store = open_store_with(url, &opts)?;
    Ok((store, redact(url)))
}

/// What `janus backtest` runs: its config, data override and store, and where a resumed run
/// stopped.
pub struct Session {
    pub loaded: Loaded,
    pub data: Option<PathBuf>,
    pub store: Box<dyn Store>,
    /// The store URL, password redacted.
    pub url: String,
    /// The run id of a resumed run.
    pub run_id: Option<String>,
    pub resume: Option<Resume>,
}

impl Session {
    pub fn open(args: &BacktestArgs) -> Result<Session> {
        let Some(run_id) = &args.resume else {
            let loaded = crate::config::load(args.config.as_deref())?;
            let url = args.store.clone().or_else(|| loaded.config.store.clone());
            let (store, url) = open(url.as_deref(), args.store_retry_secs.or(loaded.config.store_retry_secs))?;
            return Ok(Session { loaded, data: args.data.clone(), store, url, run_id: None, resume: None });
        };
        if args.config.is_some() || args.data.is_some() || args.run_id.is_some() {
            bail!(
                "--resume continues a stored run with its stored config and data; drop --config, --data and --run-id"
            );
        }
        let Some(url) = args.store.as_deref() else {
            bail!("--resume needs --store URL: the store that holds run {run_id:?}");
        };
        if StoreUrl::parse(url)?.is_memory() {
            bail!("a memory store keeps nothing between processes, so there is no run to resume; use a persistent --store");
        }
        let (mut store, shown) = open(Some(url), args.store_retry_secs)?;
        let Some(summary) = store.run_summaries()?.into_iter().find(|s| s.meta.run_id == *run_id) else {
            bail!("run {run_id:?} is not in the store at {shown}; `janus runs list --store URL` shows the stored runs");
        };
        if summary.meta.status == RunStatus::Finished {
            bail!("run {run_id:?} already finished; `janus runs show {run_id} --store URL` shows it");
        }
        let meta = summary.meta;
        let config = FileConfig::parse(&meta.config, &format!("of stored run {run_id}"))?;
        let data = match meta.data_source.strip_prefix("csv:") {
            Some(path) => Some(PathBuf::from(path)),
            None if meta.data_source.starts_with("synthetic:") => None,
            None => bail!("stored run {run_id:?} has an unknown data source {:?}", meta.data_source),
        };
        let record = store.load_run(run_id)?;
        let resume = match (record.last_day_index, record.account_snapshots.last()) {
            (Some(last_day_index), Some(snap)) => Some(Resume { last_day_index, last_snapshot: snap.clone() }),
            _ => {
                // Nothing committed yet: start the run again from its first day.
                store.delete_run(run_id)?;
                None
            }
        };
        if resume.is_some() {
            store.finish_run(run_id, RunStatus::Running)?;
        }
        let loaded = Loaded { config, text: meta.config, base: PathBuf::from(".") };
        Ok(Session { loaded, data, store, url: shown, run_id: Some(run_id.clone()), resume })
    }

    /// Pass a run's outcome on; a failed run is marked failed (when the store still answers)
    /// and the error says how to resume it.
    pub fn finish(&mut self, run_id: &str, outcome: Result<RunOutcome, EngineError>) -> Result<RunOutcome> {
        match outcome {
            Ok(o) => Ok(o),
            Err(e) => {
                let persistent = !self.url.starts_with("memory");
                // A run id already in the store belongs to another run: leave its status alone.
                let taken = matches!(e, EngineError::Store(janus_core::StoreError::RunExists(_)));
                if persistent && !taken {
                    let _ = self.store.finish_run(run_id, RunStatus::Failed);
                    Err(anyhow::Error::new(e).context(format!(
                        "run {run_id} stopped; the store at {} holds its whole days up to the last commit. \
                         Resume it with `janus backtest --resume {run_id} --store URL`",
                        self.url
                    )))
                } else {
                    Err(e.into())
                }
            }
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum RunsCommand {
    /// List the runs in a store: id, status, start time, committed days, data source.
    List {
        /// The store: sqlite:PATH, postgres://USER@HOST:PORT/DB or redis://HOST:PORT/DB.
        #[arg(long)]
        store: String,
    },
    /// Show a stored run: provenance, progress and the summary metrics; with --out, write its
    /// run folder again (the same files `janus backtest` wrote).
    Show {
        /// Run id (see `janus runs list`).
        run_id: String,
        /// The store: sqlite:PATH, postgres://USER@HOST:PORT/DB or redis://HOST:PORT/DB.
        #[arg(long)]
        store: String,
        /// Write the run folder into DIR/<run id>/ (the run's data is loaded again for the
        /// benchmark, as the run did).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
pub struct RunsArgs {
    #[command(subcommand)]
    pub command: RunsCommand,
}

pub fn runs(args: &RunsArgs) -> Result<()> {
    match &args.command {
        RunsCommand::List { store } => list(store),
        RunsCommand::Show { run_id, store, out } => show(store, run_id, out.as_deref()),
    }
}

fn list(url: &str) -> Result<()> {
    let (store, shown) = open(Some(url), Some(0.0))?;
    let runs = store.run_summaries()?;
    if runs.is_empty() {
        println!("no runs in the store at {shown}");
        return Ok(());
    }
    let w = runs.iter().map(|r| r.meta.run_id.chars().count()).max().unwrap_or(6).max(6);
    println!("{:<w$}  {:<8}  {:<20}  {:>6}  data", "run id", "status", "started", "days");
    for r in runs {
        println!(
            "{:<w$}  {:<8}  {:<20}  {:>6}  {}",
            r.meta.run_id,
            r.meta.status.as_str(),
            r.started_at.as_deref().unwrap_or("-"),
            r.days,
            r.meta.data_source
        );
    }
    Ok(())
}

fn show(url: &str, run_id: &str, out: Option<&Path>) -> Result<()> {
    let (store, shown) = open(Some(url), Some(0.0))?;
    let Some(summary) = store.run_summaries()?.into_iter().find(|s| s.meta.run_id == run_id) else {
        bail!("run {run_id:?} is not in the store at {shown}; `janus runs list --store URL` shows the stored runs");
    };
    let record = store.load_run(run_id)?;
    let meta = summary.meta;
    let cfg = FileConfig::parse(&meta.config, &format!("of stored run {run_id}"))?;
    let initial = janus_core::Money::from_yuan(cfg.initial_cash);
    println!("run {run_id} ({}) in {shown}", meta.status.as_str());
    println!("started   {}", summary.started_at.as_deref().unwrap_or("-"));
    println!("data      {}", meta.data_source);
    let span = match (record.account_snapshots.first(), record.account_snapshots.last()) {
        (Some(a), Some(b)) => format!("{} .. {}", a.date, b.date),
        _ => "none yet".into(),
    };
    println!("days      {} ({span})", summary.days);
    println!(
        "rows      {} orders, {} fills, {} risk events, {} position snapshots",
        record.orders.len(),
        record.executions.len(),
        record.risk_events.len(),
        record.position_snapshots.len()
    );
    let trips = janus_report::round_trips(&record);
    let metrics = janus_report::compute_metrics(&record, initial, &trips);
    println!("{}", janus_report::summary_text(&meta, &metrics));
    if let Some(root) = out {
        let data = meta.data_source.strip_prefix("csv:").map(Path::new);
        let (panel, _) = load_data(&cfg, Path::new("."), data)
            .with_context(|| format!("loading the data of run {run_id} again ({})", meta.data_source))?;
        let analysis = crate::report_cmd::backtest_analysis(&record, initial, &panel, None)?;
        let dir = root.join(run_id);
        janus_report::write_run_folder(&dir, &meta, &record, &analysis.metrics, &analysis.trips)
            .with_context(|| format!("writing the run folder {}", dir.display()))?;
        janus_report::write_report_files(&dir, run_id, &record, &analysis)
            .with_context(|| format!("writing the report into {}", dir.display()))?;
        println!("Run folder: {}", dir.display());
    }
    Ok(())
}
