//! `janus report` and `janus compare`: the HTML report of a run, and two runs side by side;
//! plus the report that `janus backtest` writes into every run folder.
//!
//! A run comes from its folder (the CSV and JSON files read back) or, with `--store`, from a
//! store by id. The benchmark is, in order: `--benchmark FILE`, the folder's `benchmark.csv`
//! (written by the backtest: the equal-weight market of its data), or for a stored run the
//! equal-weight market of its data loaded again.

use crate::config::FileConfig;
use crate::run::load_data;
use anyhow::{bail, Context, Result};
use clap::Args;
use janus_core::{Money, RunRecord};
use janus_data::Panel;
use janus_report::{Analysis, Benchmark, GaveBack};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The run: its folder (e.g. runs/<run id>), or its id together with --store.
    pub run: String,
    /// HTML file to write (default: report.html in the run folder; report-<run id>.html in the
    /// current folder for a stored run).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Benchmark file, a CSV with `date,close` or `date,return` (default: the run folder's
    /// benchmark.csv, the equal-weight market of the run's data).
    #[arg(long)]
    pub benchmark: Option<PathBuf>,
    /// Read the run from this store (e.g. sqlite://runs.db) instead of a run folder.
    #[arg(long)]
    pub store: Option<String>,
    /// "Gave it back" table: trips that were up at least this much at a close (0.2 = 20%) ...
    #[arg(long, default_value_t = 0.2)]
    pub gave_back_up: f64,
    /// ... and ended below this return (0 = at a loss).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub gave_back_below: f64,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Run folder A (the baseline).
    pub run_a: PathBuf,
    /// Run folder B (the change); deltas are B minus A.
    pub run_b: PathBuf,
    /// HTML file to write (default: compare-<A id>-vs-<B id>.html in the current folder).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

/// A run to report on.
struct Loaded {
    run_id: String,
    record: RunRecord,
    initial_cash: Money,
    benchmark: Option<Benchmark>,
    /// The folder it came from, if any.
    dir: Option<PathBuf>,
}

fn read_benchmark(path: &Path) -> Result<Benchmark> {
    Benchmark::from_csv(path).with_context(|| format!("reading the benchmark file {}", path.display()))
}

fn load_folder(dir: &Path) -> Result<Loaded> {
    let f = janus_report::read_run_folder(dir).with_context(|| format!("reading the run folder {}", dir.display()))?;
    Ok(Loaded {
        run_id: f.meta.run_id,
        record: f.record,
        initial_cash: f.initial_cash,
        benchmark: f.benchmark,
        dir: Some(dir.to_path_buf()),
    })
}

fn load_stored(url: &str, run_id: &str) -> Result<Loaded> {
    let store = janus_store::open_store(url)?;
    let Some(meta) = store.list_runs()?.into_iter().find(|m| m.run_id == run_id) else {
        bail!("run {run_id:?} is not in the store; `janus runs list --store ...` shows the stored runs");
    };
    let record = store.load_run(run_id)?;
    let cfg = FileConfig::parse(&meta.config, &format!("of stored run {run_id}"))?;
    // The equal-weight benchmark needs the run's bars: load them again as the run did.
    let panel = match meta.data_source.strip_prefix("csv:") {
        Some(path) => load_data(&cfg, Path::new("."), Some(Path::new(path))),
        None if meta.data_source.starts_with("synthetic:") && cfg.data.source == "synthetic" => {
            load_data(&cfg, Path::new("."), None)
        }
        None => Err(anyhow::anyhow!("unknown data source {:?}", meta.data_source)),
    };
    let benchmark = match panel {
        Ok((panel, _)) => equal_weight(&panel, &record),
        Err(e) => {
            eprintln!("note: no benchmark: cannot load the run's data again ({e:#}); pass --benchmark FILE");
            None
        }
    };
    Ok(Loaded { run_id: meta.run_id, initial_cash: Money::from_yuan(cfg.initial_cash), record, benchmark, dir: None })
}

/// The equal-weight market of `panel` over the run's days; `None` when the panel does not
/// hold them.
fn equal_weight(panel: &Panel, record: &RunRecord) -> Option<Benchmark> {
    let first = record.account_snapshots.first()?.date;
    let last = record.account_snapshots.last()?.date;
    let lo = panel.dates.partition_point(|d| *d < first);
    let hi = panel.dates.partition_point(|d| *d <= last);
    (lo < hi).then(|| Benchmark::equal_weight(panel, lo..hi))
}

/// The analysis `janus backtest` writes into its run folder: the benchmark is `--benchmark
/// FILE` or the equal-weight market of the panel the run traded on.
pub fn backtest_analysis(
    record: &RunRecord,
    initial_cash: Money,
    panel: &Panel,
    benchmark_file: Option<&Path>,
) -> Result<Analysis> {
    let benchmark = match benchmark_file {
        Some(path) => Some(checked_benchmark(read_benchmark(path)?, record, path)?),
        None => equal_weight(panel, record),
    };
    Ok(Analysis::new(record, initial_cash, benchmark.as_ref(), GaveBack::default()))
}

/// A benchmark file must overlap the run's days.
fn checked_benchmark(b: Benchmark, record: &RunRecord, path: &Path) -> Result<Benchmark> {
    let dates: Vec<_> = record.account_snapshots.iter().map(|s| s.date).collect();
    if !dates.is_empty() && !b.covers_any(&dates) {
        bail!(
            "the benchmark file {} ({} .. {}) covers none of the run's days ({} .. {})",
            path.display(),
            b.dates.first().map_or("-".into(), |d| d.to_string()),
            b.dates.last().map_or("-".into(), |d| d.to_string()),
            dates[0],
            dates[dates.len() - 1]
        );
    }
    Ok(b)
}

pub fn report(args: &ReportArgs) -> Result<()> {
    if !(args.gave_back_up.is_finite() && args.gave_back_below.is_finite()) {
        bail!("--gave-back-up and --gave-back-below are fractions such as 0.2 and 0");
    }
    let mut run = match &args.store {
        Some(url) => load_stored(url, &args.run)?,
        None => {
            let dir = Path::new(&args.run);
            if !dir.is_dir() {
                bail!(
                    "{} is not a run folder; pass the folder `janus backtest` printed, or a run id with --store URL",
                    args.run
                );
            }
            load_folder(dir)?
        }
    };
    if let Some(path) = &args.benchmark {
        run.benchmark = Some(checked_benchmark(read_benchmark(path)?, &run.record, path)?);
    }
    let gave_back = GaveBack { up: args.gave_back_up, below: args.gave_back_below };
    let analysis = Analysis::new(&run.record, run.initial_cash, run.benchmark.as_ref(), gave_back);
    let html = janus_report::html::report_html(&run.run_id, &run.record, &analysis)?;
    let out = match (&args.out, &run.dir) {
        (Some(out), _) => out.clone(),
        (None, Some(dir)) => dir.join("report.html"),
        (None, None) => PathBuf::from(format!("report-{}.html", run.run_id)),
    };
    std::fs::write(&out, html).with_context(|| format!("writing {}", out.display()))?;
    println!("{}", out.display());
    Ok(())
}

pub fn compare(args: &CompareArgs) -> Result<()> {
    let a = load_folder(&args.run_a)?;
    let b = load_folder(&args.run_b)?;
    let analysis = |r: &Loaded| Analysis::new(&r.record, r.initial_cash, r.benchmark.as_ref(), GaveBack::default());
    let (aa, ab) = (analysis(&a), analysis(&b));
    print!("{}", janus_report::compare::compare_text(&a.run_id, &aa.metrics, &b.run_id, &ab.metrics));
    use janus_report::compare::{compare_html, Side};
    let html = compare_html(
        &Side { run_id: &a.run_id, record: &a.record, analysis: &aa },
        &Side { run_id: &b.run_id, record: &b.record, analysis: &ab },
    )?;
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("compare-{}-vs-{}.html", a.run_id, b.run_id)));
    std::fs::write(&out, html).with_context(|| format!("writing {}", out.display()))?;
    println!("Comparison page: {}", out.display());
    Ok(())
}
