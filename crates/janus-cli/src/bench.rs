//! `janus bench`: throughput of loading (CSV and Parquet, in rows per second) and of the
//! engine, and peak memory, on a large synthetic market. Generation, writing and loading are
//! timed apart from the engine.

use crate::run::LazyProgress;
use anyhow::{Context, Result};
use clap::Args;
use janus_core::{RunMeta, RunStatus};
use janus_data::GenConfig;
use janus_engine::{Backtest, EngineConfig, StrategyConfig};
use std::time::Instant;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Symbols in the synthetic market.
    #[arg(long, default_value_t = 5_000)]
    pub symbols: usize,
    /// Trading days in the synthetic market.
    #[arg(long, default_value_t = 2_500)]
    pub days: usize,
    /// Generator seed.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Skip the CSV round trip (write, then load).
    #[arg(long)]
    pub no_csv: bool,
    /// Skip the Parquet round trip (write, then load).
    #[arg(long)]
    pub no_parquet: bool,
    /// Load each file this many times and report the fastest and the median load: one load
    /// on a shared or virtual machine can be off by tens of percent.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub load_runs: u32,
    /// Sell model file to run instead of the rule sell model (e.g. a LightGBM text model).
    #[arg(long)]
    pub sell_model: Option<std::path::PathBuf>,
    /// Store the run in this store (memory, sqlite:PATH, postgres://..., redis://...) to
    /// measure what persistence costs; the benchmark run is deleted afterwards.
    #[arg(long, value_name = "URL", default_value = "memory")]
    pub store: String,
    /// Kind of --sell-model: lightgbm, xgboost, linear, logistic or onnx.
    #[arg(long, default_value = "lightgbm")]
    pub sell_kind: String,
    /// Sell when the sell model's output exceeds this (strategy.sell_threshold).
    #[arg(long, default_value_t = 0.5)]
    pub sell_threshold: f64,
}

/// Peak resident memory of this process so far, in bytes (Linux; `None` elsewhere).
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Physical memory of this machine in bytes (Linux; `None` elsewhere), for the size check of
/// synthetic markets.
pub fn machine_memory_bytes() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn mib(b: u64) -> String {
    format!("{:.0} MiB", b as f64 / (1024.0 * 1024.0))
}

fn rate(n: usize, secs: f64) -> String {
    format!("{:.2} M/s", n as f64 / secs / 1e6)
}

pub fn bench(args: &BenchArgs) -> Result<()> {
    let started = Instant::now();
    // Connect first: a wrong store URL fails before minutes of generation.
    let (mut store, store_url) = crate::store_cmd::open(Some(&args.store), None)?;
    let limits = janus_core::LimitRules::default();
    let g = GenConfig { seed: args.seed, n_symbols: args.symbols, n_days: args.days, ..GenConfig::default() };
    g.validate(("--symbols", "--days"), machine_memory_bytes())?;
    println!("janus bench: {} symbols x {} days, seed {}", g.n_symbols, g.n_days, g.seed);

    let t = Instant::now();
    let mut panel = janus_data::generate(&g, &limits);
    let gen_secs = t.elapsed().as_secs_f64();
    let bars = panel.n_bars();
    println!("generate   {:>9.2} s  {} bars  ({})", gen_secs, bars, rate(bars, gen_secs));

    for (skip, kind) in [(args.no_csv, "csv"), (args.no_parquet, "parquet")] {
        if skip {
            continue;
        }
        let path = std::env::temp_dir().join(format!("janus-bench-{}.{kind}", std::process::id()));
        let t = Instant::now();
        if kind == "csv" {
            let file = std::fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
            janus_data::write_csv(&panel, std::io::BufWriter::with_capacity(1 << 20, file))?;
        } else {
            janus_data::write_parquet(&panel, &path)?;
        }
        let write_secs = t.elapsed().as_secs_f64();
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        println!("write {kind:<7} {:>6.2} s  {}  ({} rows)", write_secs, mib(size), rate(bars, write_secs));
        drop(panel);
        let mut secs = Vec::new();
        let mut loaded = None;
        for _ in 0..args.load_runs {
            drop(loaded.take());
            let t = Instant::now();
            let read = if kind == "csv" {
                janus_data::load_csv(&path, &limits)
            } else {
                janus_data::load_parquet(&path, janus_data::PriceMode::Raw, None, &limits)
            };
            secs.push(t.elapsed().as_secs_f64());
            match read {
                Ok(p) => loaded = Some(p),
                Err(e) => {
                    let _ = std::fs::remove_file(&path);
                    return Err(e.into());
                }
            }
        }
        let _ = std::fs::remove_file(&path);
        panel = loaded.context("no load ran")?;
        secs.sort_by(f64::total_cmp);
        let (best, median) = (secs[0], secs[secs.len() / 2]);
        // The part of loading that derives price limits (the same for every format), timed by
        // deriving them again.
        let t = Instant::now();
        panel.derive_limits(&limits);
        let limit_secs = t.elapsed().as_secs_f64();
        println!(
            "load {kind:<8} {:>6.2} s  load throughput {} rows/s ({}), median of {} loads {} ({:.2} s), of which {:.2} s deriving limits",
            best,
            (bars as f64 / best) as u64,
            rate(bars, best),
            secs.len(),
            rate(bars, median),
            median,
            limit_secs
        );
    }

    let cfg = EngineConfig::default();
    let mut strategy_cfg = StrategyConfig { sell_threshold: args.sell_threshold, ..StrategyConfig::default() };
    if let Some(p) = &args.sell_model {
        strategy_cfg.sell.kind = args.sell_kind.clone();
        strategy_cfg.sell.path = Some(p.display().to_string());
        println!("sell model {} ({})", p.display(), args.sell_kind);
    }
    let mut strategy = janus_models::build_strategy(&strategy_cfg, &panel, std::path::Path::new("."))?;
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let meta = RunMeta {
        run_id: format!("bench-{}-{secs}", std::process::id()),
        config: String::new(),
        data_source: "bench".into(),
        status: RunStatus::Running,
    };
    let mut engine = Backtest::new(&panel, cfg)?;
    // Checkpoints are what a persistent store resumes from; the memory store outlives nothing.
    engine.checkpoints = !janus_store::StoreUrl::parse(&args.store).is_ok_and(|u| u.is_memory());
    let mut progress = LazyProgress::new(panel.n_dates() as u64, "engine", true);
    let t = Instant::now();
    let outcome = engine.run(0..panel.n_dates(), &mut strategy, store.as_mut(), &meta, &mut |d, _| progress.set(d))?;
    let engine_secs = t.elapsed().as_secs_f64();
    progress.finish();
    println!(
        "engine     {:>9.2} s  engine throughput {} bars/s ({})  final value {}",
        engine_secs,
        (outcome.bars as f64 / engine_secs) as u64,
        rate(outcome.bars, engine_secs),
        outcome.final_value
    );
    match peak_memory_bytes() {
        Some(b) => println!("peak memory {}", mib(b)),
        None => println!("peak memory: not available on this platform"),
    }
    println!("wall time  {:>9.2} s  store {store_url}", started.elapsed().as_secs_f64());
    if store_url != "memory" {
        store.delete_run(&meta.run_id)?;
    }
    Ok(())
}
