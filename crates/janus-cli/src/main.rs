//! `janus`: run backtests of the dual-model strategy on A-share daily bars, generate
//! synthetic markets, and benchmark the engine.
#![forbid(unsafe_code)]

mod bench;
mod config;
mod export_cmd;
mod paper_cmd;
mod publish_cmd;
mod report_cmd;
mod run;
mod shared_cmd;
mod store_cmd;
mod sweep_cmd;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "janus",
    version,
    about = "Asymmetric backtesting for China A-share markets: a buy model ranks, a sell model exits.",
    long_about = "Janus backtests a dual-model strategy on daily bars under A-share rules: board lots, T+1, \
                  price limits by board, suspensions, commission with a minimum, stamp duty and transfer fee, \
                  volume caps. Every order the risk manager or the market refused is written down.\n\n\
                  Start with `janus backtest` (runs on a built-in synthetic market) and read the run folder it prints."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a backtest and write a run folder (metrics.json, equity.csv, orders.csv, fills.csv,
    /// trades.csv, refused_sells.csv, risk_events.csv, positions.csv, benchmark.csv, report.html).
    ///
    /// Without --config it runs the built-in defaults on a seeded synthetic market of about 300
    /// symbols over 3 years. `janus config` prints the commented default config to start from.
    Backtest(run::BacktestArgs),
    /// Write a synthetic A-share market to a long-format CSV (main board, ChiNext, STAR and
    /// Beijing codes, ST names, suspensions, limit-up and limit-down days).
    GenData {
        /// Output file: CSV, or Parquet when it ends in .parquet or .pq.
        #[arg(long, short, default_value = "market.csv")]
        out: PathBuf,
        /// Random seed: the same seed gives the same market, byte for byte.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Number of symbols.
        #[arg(long, default_value_t = 300)]
        symbols: usize,
        /// Number of trading days (weekdays without the SSE/SZSE holidays of 2004-2026).
        #[arg(long, default_value_t = 750)]
        days: usize,
        /// First trading day (YYYY-MM-DD).
        #[arg(long, default_value = "2021-01-04")]
        start: chrono::NaiveDate,
    },
    /// Print the commented default configuration (save it, edit it, pass it to --config).
    ///
    /// Every key is shown with its A-share default and a comment saying what it does: data
    /// source and generator, backtest dates, output folder, lot size and price limits by board,
    /// commission, stamp duty and transfer fee, the fill model, risk limits, and the buy and sell
    /// models. Example: `janus config > my.toml && janus backtest --config my.toml`.
    Config,
    /// Measure load and engine throughput (bars per second) and peak memory on a large
    /// synthetic market (by default 5,000 symbols x 2,500 days = 12.5 million bars).
    Bench(bench::BenchArgs),
    /// List and show the runs recorded in a persistent store (SQLite, PostgreSQL, Redis), and
    /// write a stored run's folder again. Example: `janus runs list --store sqlite:runs.db`.
    Runs(store_cmd::RunsArgs),
    /// Write training data from a finished run: one row per position per day with every
    /// sell-model feature and the labels (forward returns, could-not-sell-next-day, exit
    /// return of the round trip, did selling that day beat the exit), and a buy-side dataset
    /// (per date and symbol: features and forward returns). Parquet by default, CSV on request.
    ///
    /// The run is replayed from the same config and data (the engine is deterministic) and
    /// checked against the run folder's metrics.json. Example:
    /// `janus export-training runs/<run id> --config my.toml`.
    ExportTraining(export_cmd::ExportArgs),
    /// Write the self-contained HTML report of a run: equity against the benchmark, drawdown,
    /// monthly returns, round-trip excursions (MFE/MAE), holding days, refusals by reason over
    /// time, the trades that gave their gains back, the sells that were stuck, and the metrics.
    ///
    /// RUN is a run folder (the report goes to report.html inside it), or a run id with
    /// --store. Example: `janus report runs/<run id> --benchmark csi300.csv`.
    Report(report_cmd::ReportArgs),
    /// Compare two runs: print their metrics side by side with the differences, and write an
    /// HTML page with the equity curves overlaid, to see what a new sell model changed.
    ///
    /// Example: `janus compare runs/<old run> runs/<new run> --out compare.html`.
    Compare(report_cmd::CompareArgs),
    /// Replay a bars file day by day into a live feed (a growing file, a Redis Stream or a NATS
    /// subject) for `janus paper` to trade: each day's bars, then its close marker.
    ///
    /// Example: `janus publish --to file:live.csv --data market.csv --from 2024-01-02 --interval-ms 1000 --end`.
    Publish(publish_cmd::PublishArgs),
    /// Paper trading: the config's strategy trades live bars (a growing file, a Redis Stream or
    /// a NATS subject) with the simulated broker, or a real broker behind the gateway, recorded
    /// day by day. Stop it any way; the same command continues the run.
    ///
    /// Example: `janus paper --config examples/paper.toml --store sqlite:paper.db`.
    Paper(paper_cmd::PaperArgs),
    /// One broker account shared by several strategy instances through Redis: the gateway
    /// that owns the broker, instances whose intents are admitted atomically against the shared
    /// cash and limits, and a check of every decision from the audit.
    ///
    /// Example: `janus shared gateway --store sqlite:shared.db` and, elsewhere,
    /// `janus shared fire --instance a`.
    Shared(shared_cmd::SharedArgs),
    /// Fan runs out to workers on any number of machines: expand a parameter grid or
    /// walk-forward windows (train the sell model on one window, test it on the next) into jobs
    /// on a Redis work queue, follow them, and compare every run.
    ///
    /// Example: `janus sweep submit examples/sweep.toml`, then `janus worker` on each machine,
    /// `janus sweep status stops` and `janus sweep report stops`.
    Sweep(sweep_cmd::SweepArgs),
    /// Take sweep jobs from the work queue and run them into the sweep's store, until stopped
    /// (or, with --exit-when-idle, until nothing is left). A job whose worker died is taken
    /// over after --reclaim-after seconds and resumes from its last committed day.
    Worker(sweep_cmd::WorkerArgs),
}

/// A closed standard output (`janus runs list | head`) ends the command quietly, with the
/// status a shell expects of a program stopped by SIGPIPE: Rust ignores the signal and
/// `println!` panics on the broken pipe instead. Any other panic is reported as before.
fn quiet_on_broken_pipe() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        // EPIPE is 32 on Linux and macOS; the text before it depends on the locale.
        if message.starts_with("failed printing to stdout") && message.contains("(os error 32)") {
            std::process::exit(141);
        }
        report(info);
    }));
}

fn main() {
    quiet_on_broken_pipe();
    let cli = Cli::parse();
    let result: Result<()> = match cli.command {
        Command::Backtest(args) => run::backtest(&args),
        Command::GenData { out, seed, symbols, days, start } => run::gen_data(&out, seed, symbols, days, start),
        Command::Config => {
            print!("{}", config::DEFAULT_CONFIG);
            Ok(())
        }
        Command::Bench(args) => bench::bench(&args),
        Command::Runs(args) => store_cmd::runs(&args),
        Command::ExportTraining(args) => export_cmd::export(&args),
        Command::Report(args) => report_cmd::report(&args),
        Command::Compare(args) => report_cmd::compare(&args),
        Command::Publish(args) => publish_cmd::publish(&args),
        Command::Paper(args) => paper_cmd::paper(&args),
        Command::Shared(args) => shared_cmd::shared(&args),
        Command::Sweep(args) => sweep_cmd::sweep(&args),
        Command::Worker(args) => sweep_cmd::worker(&args),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
