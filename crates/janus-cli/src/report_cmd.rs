//! `janus report` and `janus compare`: the HTML report of a run, and two runs side by side;
//! plus the report and run folder that `janus backtest` and `janus runs show --out` write.
//!
//! A run comes from its folder (the CSV and JSON files read back, with the config the folder
//! recorded) or, with `--store`, from a store by id. The benchmark is, in order: `--benchmark
//! FILE`, the folder's `benchmark.csv` (written by the backtest: `[report] benchmark` of its
//! config or the equal-weight market of its data), or for a stored run the config's benchmark
//! or the equal-weight market of its data loaded again. Language and colours are the flags',
//! else the run's `[report]` section's, else English with gains green.

use crate::config::FileConfig;
use crate::run::load_data;
use anyhow::{bail, Context, Result};
use clap::Args;
use janus_core::{Money, RunMeta, RunRecord};
use janus_data::Panel;
use janus_report::{Analysis, Benchmark, Colors, GaveBack, Lang, RunOrigin, Style};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

fn parse_lang(text: &str) -> Result<Lang, String> {
    Lang::parse(text).ok_or_else(|| format!("{text:?} is not a report language: use en or zh"))
}

fn parse_colors(text: &str) -> Result<Colors, String> {
    Colors::parse(text).ok_or_else(|| format!("{text:?} is not a colour convention: use green-up or red-up"))
}

/// The look of a page: `--lang` and `--colors` (default: the run's `[report]` settings).
#[derive(Args, Debug, Default)]
pub struct StyleArgs {
    /// Language of the page: en or zh (Chinese headings, labels, chart titles and metric names).
    #[arg(long, value_name = "LANG", value_parser = parse_lang)]
    pub lang: Option<Lang>,
    /// Colour convention: green-up (gains green, losses red) or red-up (the A-share convention).
    #[arg(long, value_name = "CONVENTION", value_parser = parse_colors)]
    pub colors: Option<Colors>,
}

impl StyleArgs {
    /// The flags over the config's `[report]` settings.
    fn over(&self, cfg: Option<&FileConfig>) -> Style {
        let report = cfg.map(|c| &c.report);
        Style {
            lang: self.lang.or(report.map(|r| r.lang)).unwrap_or_default(),
            colors: self.colors.or(report.map(|r| r.colors)).unwrap_or_default(),
        }
    }
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The run: its folder (e.g. runs/<run id>), or its id together with --store.
    pub run: String,
    /// HTML file to write (default: report.html in the run folder; report-<run id>.html in the
    /// current folder for a stored run).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Benchmark file, a CSV with `date,close` or `date,return` (default: the run folder's
    /// benchmark.csv: `[report] benchmark` of the run's config or the equal-weight market).
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
    #[command(flatten)]
    pub style: StyleArgs,
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
    /// Language and colours (default: run A's `[report]` settings). Deltas are coloured by
    /// whether B is better or worse than A, in the terminal only when it is one and NO_COLOR is
    /// not set.
    #[command(flatten)]
    pub style: StyleArgs,
}

/// A run to report on.
struct Loaded {
    run_id: String,
    record: RunRecord,
    initial_cash: Money,
    benchmark: Option<Benchmark>,
    /// The run's config, when the folder or store recorded one.
    config: Option<FileConfig>,
    /// The folder it came from, if any.
    dir: Option<PathBuf>,
    /// The friction attribution `janus backtest` recorded in the folder's metrics.json.
    friction: Option<janus_report::friction::FrictionAttribution>,
}

fn read_benchmark(path: &Path) -> Result<Benchmark> {
    Benchmark::from_csv(path).with_context(|| format!("reading the benchmark file {}", path.display()))
}

fn load_folder(dir: &Path) -> Result<Loaded> {
    let f = janus_report::read_run_folder(dir).with_context(|| format!("reading the run folder {}", dir.display()))?;
    let config = if f.info.is_some() {
        let origin = format!("{} (the config the run recorded)", dir.join(janus_report::folder::CONFIG_TOML).display());
        Some(FileConfig::parse(&f.meta.config, &origin)?)
    } else {
        None
    };
    Ok(Loaded {
        run_id: f.meta.run_id,
        record: f.record,
        initial_cash: f.initial_cash,
        benchmark: f.benchmark,
        config,
        dir: Some(dir.to_path_buf()),
        friction: f.friction,
    })
}

/// The bars file of a stored data source (`csv:PATH`, possibly followed by `;events:PATH`);
/// `None` for the generator.
pub fn stored_data_file(data_source: &str) -> Option<PathBuf> {
    let rest = data_source.strip_prefix("csv:")?;
    Some(PathBuf::from(rest.split_once(";events:").map_or(rest, |(path, _)| path)))
}

fn load_stored(url: &str, run_id: &str) -> Result<Loaded> {
    let store = janus_store::open_store(url)?;
    let Some(meta) = store.list_runs()?.into_iter().find(|m| m.run_id == run_id) else {
        bail!("run {run_id:?} is not in the store; `janus runs list --store ...` shows the stored runs");
    };
    let record = store.load_run(run_id)?;
    let cfg = FileConfig::parse(&meta.config, &format!("of stored run {run_id}"))?;
    // The config's benchmark, else the equal-weight market: that needs the run's bars, loaded
    // again as the run did. A stored run keeps no config folder: paths resolve from here.
    // The run's bars, loaded again as the run did, for the equal-weight benchmark and the
    // friction attribution (the twins are replayed: the engine is deterministic).
    let panel = match stored_data_file(&meta.data_source) {
        Some(path) => load_data(&cfg, Path::new("."), Some(&path)),
        None if meta.data_source.starts_with("synthetic:") && cfg.data.source == "synthetic" => {
            load_data(&cfg, Path::new("."), None)
        }
        None => Err(anyhow::anyhow!("unknown data source {:?}", meta.data_source)),
    };
    let panel = match panel {
        Ok((panel, _)) => Some(panel),
        Err(e) => {
            eprintln!(
                "note: cannot load the run's data again ({e:#}): no equal-weight benchmark (pass --benchmark FILE) \
                 and no friction attribution"
            );
            None
        }
    };
    let benchmark = match &cfg.report.benchmark {
        Some(file) => Some(checked_benchmark(read_benchmark(file)?, &record, file)?),
        None => panel.as_ref().and_then(|p| equal_weight(p, &record)),
    };
    let friction = match &panel {
        Some(p) if meta.status == janus_core::RunStatus::Finished => {
            let refused = janus_report::refused_sells(&record);
            Some(crate::run::friction_attribution(&cfg, Path::new("."), p, &record, &refused, true)?)
        }
        _ => None,
    };
    Ok(Loaded {
        run_id: meta.run_id,
        initial_cash: Money::from_yuan(cfg.initial_cash),
        record,
        benchmark,
        config: Some(cfg),
        dir: None,
        friction,
    })
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

/// The analysis `janus backtest` writes into its run folder, in the config's `[report]` style:
/// the benchmark is `--benchmark FILE`, else `[report] benchmark` (relative to `base`, the
/// config's folder), else the equal-weight market of the panel the run traded on.
pub fn backtest_analysis(
    record: &RunRecord,
    initial_cash: Money,
    panel: &Panel,
    benchmark_flag: Option<&Path>,
    cfg: &FileConfig,
    base: &Path,
) -> Result<Analysis> {
    let file = benchmark_flag.map(Path::to_path_buf).or_else(|| cfg.report.benchmark.as_ref().map(|b| base.join(b)));
    let benchmark = match file {
        Some(path) => Some(checked_benchmark(read_benchmark(&path)?, record, &path)?),
        None => equal_weight(panel, record),
    };
    let style = StyleArgs::default().over(Some(cfg));
    Ok(Analysis::new(record, initial_cash, benchmark.as_ref(), GaveBack::default()).with_style(style))
}

/// Where a run's inputs are, for its `run.json`: the config's folder and the bars file it read
/// (`data`, else the config's `data.source` unless synthetic), both absolute.
pub fn run_origin(cfg: &FileConfig, base: &Path, data: Option<&Path>) -> RunOrigin {
    // A config given as a bare file name has an empty parent: the current folder.
    let absolute = |p: &Path| {
        let p = if p.as_os_str().is_empty() { Path::new(".") } else { p };
        std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
    };
    let data_file = match data {
        Some(p) => Some(p.to_path_buf()),
        None if cfg.data.source == "synthetic" => None,
        None => Some(base.join(&cfg.data.source)),
    };
    RunOrigin { config_dir: Some(absolute(base)), data_file: data_file.as_deref().map(absolute) }
}

/// Write the whole run folder `dir` (data files, report, config and provenance), replacing an
/// earlier write of it without leaving stale files (see `janus_report::folder`).
pub fn write_run(
    dir: &Path,
    meta: &RunMeta,
    origin: &RunOrigin,
    record: &RunRecord,
    analysis: &Analysis,
) -> Result<()> {
    janus_report::write_run(dir, meta, origin, record, analysis)
        .with_context(|| format!("writing the run folder {}", dir.display()))
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
    let style = args.style.over(run.config.as_ref());
    let mut analysis =
        Analysis::new(&run.record, run.initial_cash, run.benchmark.as_ref(), gave_back).with_style(style);
    analysis.metrics.friction = run.friction.clone();
    let html = janus_report::html::report_html(&run.run_id, &run.record, &analysis)?;
    let out = match (&args.out, &run.dir) {
        (Some(out), _) => out.clone(),
        (None, Some(dir)) => dir.join("report.html"),
        (None, None) => PathBuf::from(format!("report-{}.html", run.run_id)),
    };
    janus_report::write_report_file(&out, html.as_bytes())?;
    println!("{}", out.display());
    Ok(())
}

/// Colour in the terminal: only on a terminal, and not when NO_COLOR is set to anything but
/// the empty string (no-color.org).
fn want_color(is_terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    is_terminal
        && match no_color {
            None => true,
            Some(v) => v.is_empty(),
        }
}

pub fn compare(args: &CompareArgs) -> Result<()> {
    let a = load_folder(&args.run_a)?;
    let b = load_folder(&args.run_b)?;
    let style = args.style.over(a.config.as_ref());
    let analysis = |r: &Loaded| Analysis::new(&r.record, r.initial_cash, r.benchmark.as_ref(), GaveBack::default());
    let (aa, ab) = (analysis(&a), analysis(&b));
    let color = want_color(std::io::stdout().is_terminal(), std::env::var_os("NO_COLOR"));
    print!("{}", janus_report::compare::compare_text(&a.run_id, &aa.metrics, &b.run_id, &ab.metrics, &style, color));
    use janus_report::compare::{compare_html, Side};
    let html = compare_html(
        &Side { run_id: &a.run_id, record: &a.record, analysis: &aa },
        &Side { run_id: &b.run_id, record: &b.record, analysis: &ab },
        &style,
    )?;
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("compare-{}-vs-{}.html", a.run_id, b.run_id)));
    janus_report::write_report_file(&out, html.as_bytes())?;
    println!("Comparison page: {}", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        let cases = [
            (true, None, true),
            (false, None, false),
            (true, Some(""), true),
            (true, Some("1"), false),
            (false, Some("1"), false),
        ];
        for (tty, no_color, want) in cases {
            assert_eq!(want_color(tty, no_color.map(Into::into)), want, "{tty} {no_color:?}");
        }
    }

    #[test]
    fn a_stored_data_source_names_its_bars_file_without_the_events_file() {
        let cases = [
            ("csv:bars.csv", Some("bars.csv")),
            ("csv:/d/bars.csv;events:/d/div.csv", Some("/d/bars.csv")),
            ("synthetic:seed=1,symbols=2,days=3,start=2021-01-04", None),
            ("synthetic:seed=1;events:div.csv", None),
        ];
        for (source, want) in cases {
            assert_eq!(stored_data_file(source), want.map(PathBuf::from), "{source}");
        }
    }

    #[test]
    fn flags_win_over_the_config_which_wins_over_the_defaults() {
        let cfg = FileConfig::parse("[report]\nlang = \"zh\"\ncolors = \"red-up\"\n", "x").unwrap();
        assert_eq!(StyleArgs::default().over(None), Style::default());
        assert_eq!(StyleArgs::default().over(Some(&cfg)), Style { lang: Lang::Zh, colors: Colors::RedUp });
        let flags = StyleArgs { lang: Some(Lang::En), colors: None };
        assert_eq!(flags.over(Some(&cfg)), Style { lang: Lang::En, colors: Colors::RedUp });
    }
}
