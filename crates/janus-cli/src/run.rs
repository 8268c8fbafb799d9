//! `janus backtest` and `janus gen-data`: wiring config, data, engine, store and outputs.

use crate::config::FileConfig;
use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use janus_core::{RunMeta, RunStatus};
use janus_data::{GenConfig, Panel};
use janus_engine::{derive_run_id, Backtest};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Args, Debug)]
pub struct BacktestArgs {
    /// TOML config file (see `janus config` for every key, with comments).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Bars to load (a CSV, Parquet file or qlib folder, in the config's `data.format`);
    /// overrides `data.source` of the config.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Folder for run folders; overrides `output.dir`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run id (names the run folder); default: derived from the config and the data.
    #[arg(long)]
    pub run_id: Option<String>,
    /// No progress bar and no summary, only the run folder's path.
    #[arg(long, short)]
    pub quiet: bool,
    /// Record the run in this store: memory (default), sqlite:PATH, postgres://USER@HOST:PORT/DB
    /// or redis://HOST:PORT/DB; overrides `store` of the config. A password may be in the URL
    /// or in PGPASSWORD / REDISCLI_AUTH; it is never printed.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Continue a run that died from its last committed day (with --store; the config and
    /// data are the run's stored ones).
    #[arg(long, value_name = "RUN_ID")]
    pub resume: Option<String>,
    /// Seconds to keep retrying when the store goes away mid-run before stopping (default 30).
    #[arg(long, value_name = "SECS")]
    pub store_retry_secs: Option<f64>,
    /// Benchmark for the report: a CSV with `date,close` or `date,return` (default: the
    /// equal-weight market of the data).
    #[arg(long)]
    pub benchmark: Option<PathBuf>,
}

/// Load or generate the bars a config asks for, with their corporate actions (the events file
/// of `[corporate_actions]`, else inferred from an `adj_factor` column). Returns the panel and
/// a description of it.
pub fn load_data(cfg: &FileConfig, base: &Path, data_override: Option<&Path>) -> Result<(Panel, String)> {
    let (mut panel, source) = load_bars(cfg, base, data_override)?;
    let events = match &cfg.corporate_actions.events {
        Some(file) => janus_data::load_actions(&base.join(file), &panel)?,
        None => Vec::new(),
    };
    let inferred = janus_data::actions_from_adj_factor(&panel);
    panel.actions = janus_data::merge_actions(events, inferred);
    if !panel.actions.is_empty() {
        if panel.adj_factor.is_empty() {
            panel.adj_factor = janus_data::adj_factor_from_actions(&panel);
        }
        // Limits on ex-dates come from the ex-rights reference price.
        panel.derive_limits(&cfg.market.limits);
    }
    Ok((panel, source))
}

/// The bars alone, from a file (in the format of `[data]`, checked against its calendar) or
/// the generator, with the universe's members marked.
fn load_bars(cfg: &FileConfig, base: &Path, data_override: Option<&Path>) -> Result<(Panel, String)> {
    let limits = cfg.market.limits;
    let opts = cfg.data.load_options(base)?;
    let path = match data_override {
        Some(p) => Some(p.to_path_buf()),
        None if cfg.data.source == "synthetic" => None,
        None => Some(base.join(&cfg.data.source)),
    };
    match path {
        Some(p) => {
            let (panel, format) = janus_data::load(&p, &opts, &limits)?;
            // Janus CSV keeps its historical prefix, so run ids of CSV runs do not change.
            let kind = match format {
                janus_data::Format::Janus => "csv",
                f => f.name(),
            };
            Ok((panel, format!("{kind}:{}", p.display())))
        }
        None => {
            let g = cfg.data.gen_config();
            g.validate(("data.symbols", "data.days"), crate::bench::machine_memory_bytes())?;
            let mut panel = janus_data::generate(&g, &limits);
            if let Some(u) = &opts.universe {
                janus_data::Universe::load(u)?.apply(&mut panel)?;
            }
            Ok((
                panel,
                format!("synthetic:seed={},symbols={},days={},start={}", g.seed, g.n_symbols, g.n_days, g.start),
            ))
        }
    }
}

/// Indices of the panel's dates inside the configured range.
pub fn day_range(panel: &Panel, start: Option<NaiveDate>, end: Option<NaiveDate>) -> Result<std::ops::Range<usize>> {
    let lo = start.map_or(0, |s| panel.dates.partition_point(|d| *d < s));
    let hi = end.map_or(panel.n_dates(), |e| panel.dates.partition_point(|d| *d <= e));
    if lo >= hi {
        bail!(
            "the backtest range {}..{} selects no trading day; the data covers {}..{}",
            start.map_or("start".into(), |d| d.to_string()),
            end.map_or("end".into(), |d| d.to_string()),
            panel.dates.first().map_or("-".into(), |d| d.to_string()),
            panel.dates.last().map_or("-".into(), |d| d.to_string()),
        );
    }
    Ok(lo..hi)
}

/// A progress bar that stays hidden for the first second, so short runs print nothing.
pub struct LazyProgress {
    bar: ProgressBar,
    started: Instant,
    shown: bool,
    enabled: bool,
}

impl LazyProgress {
    pub fn new(len: u64, message: &str, enabled: bool) -> LazyProgress {
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} days, {per_sec}, eta {eta}") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(message.to_string());
        LazyProgress { bar, started: Instant::now(), shown: false, enabled }
    }
    pub fn set(&mut self, pos: usize) {
        if self.enabled && !self.shown && self.started.elapsed().as_secs_f64() > 1.0 {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.shown = true;
        }
        if self.shown {
            self.bar.set_position(pos as u64);
        }
    }
    pub fn finish(&self) {
        if self.shown {
            self.bar.finish_and_clear();
        }
    }
}

pub fn backtest(args: &BacktestArgs) -> Result<()> {
    let mut session = crate::store_cmd::Session::open(args)?;
    let loaded = &session.loaded;
    let cfg = &loaded.config;
    let (panel, source) = load_data(cfg, &loaded.base, session.data.as_deref())?;
    let range = day_range(&panel, cfg.backtest.start, cfg.backtest.end)?;
    let run_id = match session.run_id.as_ref().or(args.run_id.as_ref()).or(cfg.run_id.as_ref()) {
        Some(id) => id.clone(),
        None => derive_run_id(&loaded.text, &source),
    };
    if run_id.is_empty() || !run_id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        bail!("run id {run_id:?} may use only letters, digits, '-', '_' and '.'");
    }
    let meta = RunMeta {
        run_id: run_id.clone(),
        config: loaded.text.clone(),
        data_source: source,
        status: RunStatus::Running,
    };

    let mut strategy = janus_models::build_strategy(&cfg.strategy, &panel, &loaded.base)?;
    let mut engine = Backtest::new(&panel, cfg.engine())?;
    // Checkpoints are what a persistent store resumes from; the memory store outlives nothing.
    engine.checkpoints = !janus_store::StoreUrl::parse(&session.url).is_ok_and(|u| u.is_memory());
    let mut progress = LazyProgress::new(range.len() as u64, "backtest", !args.quiet);
    let resume = session.resume.clone();
    let outcome =
        engine.run_resumable(range, &mut strategy, session.store.as_mut(), &meta, resume.as_ref(), &mut |done, _| {
            progress.set(done)
        });
    progress.finish();
    let outcome = session.finish(&run_id, outcome)?;
    let store = &session.store;
    let cfg = &session.loaded.config;

    let record = store.load_run(&run_id)?;
    let meta = store.list_runs()?.into_iter().find(|m| m.run_id == run_id).unwrap_or(meta);
    let initial = janus_core::Money::from_yuan(cfg.initial_cash);
    let base = &session.loaded.base;
    let mut analysis =
        crate::report_cmd::backtest_analysis(&record, initial, &panel, args.benchmark.as_deref(), cfg, base)?;
    let friction = friction_attribution(cfg, base, &panel, &record, &analysis.refused, args.quiet)?;
    analysis.metrics.friction = Some(friction.clone());
    let metrics = &analysis.metrics;
    let out_root = args.out.clone().unwrap_or_else(|| cfg.output.dir.clone());
    let dir = out_root.join(&run_id);
    let origin = crate::report_cmd::run_origin(cfg, base, session.data.as_deref());
    crate::report_cmd::write_run(&dir, &meta, &origin, &record, &analysis)?;
    if args.quiet {
        println!("{}", dir.display());
    } else {
        println!("{}", janus_report::summary_text(&meta, metrics));
        println!("{}", janus_report::friction::summary_lines(&friction));
        println!("{} days, {} bars. Run folder: {}", outcome.days, outcome.bars, dir.display());
    }
    Ok(())
}

/// The friction attribution of a finished run: its twins replayed with the frictions removed
/// one by one (costs, price limits, suspensions, T+1, volume cap) over the config's range,
/// against the run's recorded final value and its direct bills. The engine is deterministic,
/// so recomputing it for a stored run gives the same figures.
pub fn friction_attribution(
    cfg: &FileConfig,
    base: &Path,
    panel: &Panel,
    record: &janus_core::RunRecord,
    refused: &[janus_report::RefusedSell],
    quiet: bool,
) -> Result<janus_report::friction::FrictionAttribution> {
    let range = day_range(panel, cfg.backtest.start, cfg.backtest.end)?;
    let steps = janus_engine::friction::LADDER.len();
    let mut progress = LazyProgress::new(steps as u64, "frictionless twins", !quiet);
    let mut built = 0;
    let twins = janus_engine::friction::run_twins(panel, &cfg.engine(), range, || -> Result<_> {
        progress.set(built);
        built += 1;
        Ok(janus_models::build_strategy(&cfg.strategy, panel, base)?)
    })
    .context("running the frictionless twins of the run")?;
    progress.finish();
    let figures: Vec<janus_report::friction::TwinFigures> = twins
        .into_iter()
        .map(|t| janus_report::friction::TwinFigures {
            key: t.key.to_string(),
            final_value: t.final_value,
            fills: t.fills,
            refusals: t.refusals,
        })
        .collect();
    let initial = janus_core::Money::from_yuan(cfg.initial_cash);
    let real_final = record.account_snapshots.last().map_or(initial, |s| s.total_value);
    let paid = janus_report::friction::paid_in_real_run(record, refused);
    Ok(janus_report::friction::FrictionAttribution::new(initial, real_final, &figures, &paid))
}

/// `janus gen-data`: a synthetic market as CSV, or as Parquet when `out` ends in `.parquet`
/// or `.pq`.
pub fn gen_data(out: &Path, seed: u64, symbols: usize, days: usize, start: NaiveDate) -> Result<()> {
    let g = GenConfig { seed, n_symbols: symbols, n_days: days, start };
    g.validate(("--symbols", "--days"), crate::bench::machine_memory_bytes())?;
    let panel = janus_data::generate(&g, &Default::default());
    let ext = out.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    if matches!(ext.as_deref(), Some("parquet" | "pq")) {
        janus_data::write_parquet(&panel, out).with_context(|| format!("writing {}", out.display()))?;
    } else {
        let file = std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
        janus_data::write_csv(&panel, std::io::BufWriter::new(file))
            .with_context(|| format!("writing {}", out.display()))?;
    }
    println!("wrote {} bars of {} symbols over {} days to {}", panel.n_bars(), symbols, days, out.display());
    Ok(())
}
