//! `janus export-training`: the training data of a finished run.
//!
//! The run is replayed from its config and data: the engine is deterministic, so the replay
//! sees exactly the positions and features the run saw. A recorder around the strategy writes
//! each position's features down every day; the labels are joined from the bars and from the
//! run's round trips. The replay is checked against the run folder's `metrics.json` (final
//! value and number of round trips), so a wrong `--config` or `--data` is an error rather than
//! a dataset of some other run.
//!
//! A run folder records its config (`config.toml`) and where its inputs are (`run.json`: the
//! config's folder, against which the config's relative paths resolve, and the bars file), so
//! `janus export-training runs/<id>` needs neither `--config` nor `--data`; given, they win.
//! A folder written before it recorded them replays with `--config` or the built-in defaults.

use crate::config::{self, FileConfig, Loaded};
use crate::run::{day_range, load_data};
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use janus_core::{RunMeta, RunStatus, Store};
use janus_engine::Backtest;
use janus_models::table::Format;
use janus_models::training::{buy_dataset, sell_dataset, Recorder, Trip};
use janus_store::MemoryStore;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FormatArg {
    Parquet,
    Csv,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The run: its folder (e.g. runs/run-1a2b3c4d5e6f7a8b) or its id, looked up under
    /// --runs-dir.
    pub run: String,
    /// The config file the run was made with (default: the one the run folder recorded, else
    /// the built-in defaults).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// The bars CSV (default: the one the run folder recorded, when the run read a file).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Folder of run folders, for a run given by id (default: `output.dir` of the config).
    #[arg(long)]
    pub runs_dir: Option<PathBuf>,
    /// Folder to write the datasets to (default: the run folder).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// File format of the datasets.
    #[arg(long, value_enum, default_value = "parquet")]
    pub format: FormatArg,
    /// Leave out the buy-side dataset (one row per date and symbol; large on big markets).
    #[arg(long)]
    pub no_buy: bool,
}

/// The fields of a run folder's metrics.json the replay is checked against.
#[derive(serde::Deserialize)]
struct RecordedMetrics {
    run_id: String,
    final_value: String,
    round_trips: u64,
}

fn run_folder(args: &ExportArgs, default_root: &Path) -> Result<PathBuf> {
    let as_path = PathBuf::from(&args.run);
    if as_path.join("metrics.json").is_file() {
        return Ok(as_path);
    }
    let root = args.runs_dir.clone().unwrap_or_else(|| default_root.to_path_buf());
    let by_id = root.join(&args.run);
    if by_id.join("metrics.json").is_file() {
        return Ok(by_id);
    }
    bail!(
        "no finished run at {} or {} (a run folder holds metrics.json); pass the folder `janus backtest` printed",
        as_path.display(),
        by_id.display()
    )
}

/// The config and bars file to replay: the flags', else what the run folder recorded, else
/// the built-in defaults (for a folder that recorded nothing).
fn replay_inputs(args: &ExportArgs, folder: &Path, flags: Option<Loaded>) -> Result<(Loaded, Option<PathBuf>)> {
    let info = janus_report::RunInfo::read(folder)?;
    let recorded_data = info.as_ref().and_then(|i| i.origin.data_file.clone());
    if let Some(loaded) = flags {
        return Ok((loaded, args.data.clone()));
    }
    let Some(info) = info else {
        return Ok((config::load(None)?, args.data.clone()));
    };
    let path = folder.join(janus_report::folder::CONFIG_TOML);
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let config = FileConfig::parse(&text, &format!("{} (the config the run recorded)", path.display()))?;
    // Relative paths in the config (data, events, model files) resolve against the folder the
    // config was in when the run was made.
    let base = info.origin.config_dir.clone().unwrap_or_else(|| PathBuf::from("."));
    Ok((Loaded { config, text, base }, args.data.clone().or(recorded_data)))
}

pub fn export(args: &ExportArgs) -> Result<()> {
    let flags = args.config.as_deref().map(|p| config::load(Some(p))).transpose()?;
    let root = match &flags {
        Some(l) => l.config.output.dir.clone(),
        None => config::load(None)?.config.output.dir,
    };
    let folder = run_folder(args, &root)?;
    let from_folder = flags.is_none() && folder.join(janus_report::folder::RUN_JSON).is_file();
    let (loaded, data) = replay_inputs(args, &folder, flags)?;
    let cfg = &loaded.config;
    let metrics_path = folder.join("metrics.json");
    let text =
        std::fs::read_to_string(&metrics_path).with_context(|| format!("cannot read {}", metrics_path.display()))?;
    let recorded: RecordedMetrics = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a Janus metrics file", metrics_path.display()))?;

    let (panel, source) = load_data(cfg, &loaded.base, data.as_deref()).with_context(|| {
        if from_folder {
            format!("loading the data run {} recorded in {}", args.run, folder.join("run.json").display())
        } else {
            format!("loading the data of run {}", args.run)
        }
    })?;
    let range = day_range(&panel, cfg.backtest.start, cfg.backtest.end)?;
    let strategy = janus_models::build_strategy(&cfg.strategy, &panel, &loaded.base)?;
    let mut recorder = Recorder::new(strategy);
    let meta = RunMeta {
        run_id: recorded.run_id.clone(),
        config: loaded.text.clone(),
        data_source: source,
        status: RunStatus::Running,
    };
    let mut store = MemoryStore::new();
    let mut engine = Backtest::new(&panel, cfg.engine())?;
    engine.run(range.clone(), &mut recorder, &mut store, &meta, &mut |_, _| {})?;

    let record = store.load_run(&recorded.run_id)?;
    let metrics = janus_report::compute_metrics(
        &record,
        janus_core::Money::from_yuan(cfg.initial_cash),
        &janus_report::round_trips(&record),
    );
    if metrics.final_value != recorded.final_value || metrics.round_trips != recorded.round_trips {
        let advice = if from_folder {
            "the config and data the run folder recorded no longer reproduce it (has the data file changed?): pass \
             the --config (and --data) the run was made with"
        } else {
            "pass the --config (and --data) the run was made with"
        };
        bail!(
            "replaying run {} with this config and data ends at {} after {} round trips, but the run folder says {} \
             after {}: {advice}",
            recorded.run_id,
            metrics.final_value,
            metrics.round_trips,
            recorded.final_value,
            recorded.round_trips
        );
    }

    let trips = training_trips(&record);
    let format = match args.format {
        FormatArg::Parquet => Format::Parquet,
        FormatArg::Csv => Format::Csv,
    };
    let out = args.out.clone().unwrap_or_else(|| folder.clone());
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let sell = sell_dataset(&panel, &recorder.positions, &trips, &cfg.engine());
    let sell_path = out.join(format!("training_sell.{}", format.extension()));
    sell.write(&sell_path, format)?;
    println!("{}: {} position-days x {} columns", sell_path.display(), sell.n_rows(), sell.names.len());
    if !args.no_buy {
        // Decision days: every day of the run but the last (no decision is made after it).
        let days = range.start..range.end.saturating_sub(1);
        let buy = buy_dataset(&panel, days, &recorder.buy_candidates);
        let buy_path = out.join(format!("training_buy.{}", format.extension()));
        buy.write(&buy_path, format)?;
        println!("{}: {} symbol-days x {} columns", buy_path.display(), buy.n_rows(), buy.names.len());
    }
    Ok(())
}

/// The round trips of a run, as the training labels need them.
pub fn training_trips(record: &janus_core::RunRecord) -> Vec<Trip> {
    janus_report::round_trips(record)
        .iter()
        .map(|t| Trip {
            symbol: t.symbol.clone(),
            entry_date: t.entry_date,
            exit_date: t.exit_date,
            ret: t.ret,
            exit_price: t.exit_price,
            exit_reason: t.exit_reason.clone(),
        })
        .collect()
}
