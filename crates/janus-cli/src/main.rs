//! `janus`: run backtests of the dual-model strategy on A-share daily bars, generate
//! synthetic markets, and benchmark the engine.
#![forbid(unsafe_code)]

mod bench;
mod config;
mod run;

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
    /// trades.csv, risk_events.csv, positions.csv).
    ///
    /// Without --config it runs the built-in defaults on a seeded synthetic market of about 300
    /// symbols over 3 years. `janus config` prints the commented default config to start from.
    Backtest(run::BacktestArgs),
    /// Write a synthetic A-share market to a long-format CSV (main board, ChiNext, STAR and
    /// Beijing codes, ST names, suspensions, limit-up and limit-down days).
    GenData {
        /// Output CSV file.
        #[arg(long, short, default_value = "market.csv")]
        out: PathBuf,
        /// Random seed: the same seed gives the same market, byte for byte.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Number of symbols.
        #[arg(long, default_value_t = 300)]
        symbols: usize,
        /// Number of trading days (Monday to Friday).
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
}

fn main() {
    let cli = Cli::parse();
    let result: Result<()> = match cli.command {
        Command::Backtest(args) => run::backtest(&args),
        Command::GenData { out, seed, symbols, days, start } => run::gen_data(&out, seed, symbols, days, start),
        Command::Config => {
            print!("{}", config::DEFAULT_CONFIG);
            Ok(())
        }
        Command::Bench(args) => bench::bench(&args),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
