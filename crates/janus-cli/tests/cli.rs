//! End-to-end tests of the `janus` binary.

use std::path::Path;
use std::process::{Command, Output};

fn janus(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_janus")).args(args).current_dir(dir).output().expect("janus runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const RUN_FILES: [&str; 7] =
    ["metrics.json", "equity.csv", "orders.csv", "fills.csv", "trades.csv", "risk_events.csv", "positions.csv"];

fn only_subdir(dir: &Path) -> std::path::PathBuf {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(entries.len(), 1, "one run folder in {}", dir.display());
    entries.pop().unwrap()
}

#[test]
fn two_default_backtests_write_identical_files() {
    let tmp = tempfile::tempdir().unwrap();
    let a = janus(&["backtest", "--quiet", "--out", "a"], tmp.path());
    let b = janus(&["backtest", "--quiet", "--out", "b"], tmp.path());
    assert!(a.status.success(), "{}", text(&a.stderr));
    assert!(b.status.success(), "{}", text(&b.stderr));
    let (ra, rb) = (only_subdir(&tmp.path().join("a")), only_subdir(&tmp.path().join("b")));
    assert_eq!(ra.file_name(), rb.file_name(), "same inputs give the same run id");
    for f in RUN_FILES {
        let x = std::fs::read(ra.join(f)).unwrap();
        let y = std::fs::read(rb.join(f)).unwrap();
        assert!(!x.is_empty(), "{f} is written");
        assert!(x == y, "{f} differs between two identical runs");
    }
    // The default market trades: fills, round trips and refusals are all there.
    let fills = std::fs::read_to_string(ra.join("fills.csv")).unwrap();
    assert!(fills.lines().count() > 100, "the default run trades");
    let events = std::fs::read_to_string(ra.join("risk_events.csv")).unwrap();
    assert!(events.lines().count() > 1, "the default run records refusals");
}

#[test]
fn a_csv_written_by_gen_data_backtests_exactly_like_the_generator() {
    let tmp = tempfile::tempdir().unwrap();
    let g = janus(&["gen-data", "--out", "m.csv", "--symbols", "60", "--days", "200", "--seed", "5"], tmp.path());
    assert!(g.status.success(), "{}", text(&g.stderr));
    let cfg = "[data]\nsource = \"synthetic\"\nseed = 5\nsymbols = 60\ndays = 200\n";
    std::fs::write(tmp.path().join("c.toml"), cfg).unwrap();
    let synthetic = janus(&["backtest", "-q", "--config", "c.toml", "--out", "s", "--run-id", "x"], tmp.path());
    let from_csv =
        janus(&["backtest", "-q", "--config", "c.toml", "--data", "m.csv", "--out", "c", "--run-id", "x"], tmp.path());
    assert!(synthetic.status.success(), "{}", text(&synthetic.stderr));
    assert!(from_csv.status.success(), "{}", text(&from_csv.stderr));
    for f in ["equity.csv", "fills.csv", "orders.csv", "risk_events.csv", "trades.csv"] {
        let x = std::fs::read(tmp.path().join("s/x").join(f)).unwrap();
        let y = std::fs::read(tmp.path().join("c/x").join(f)).unwrap();
        assert!(x == y, "{f} differs between the generated panel and its CSV");
    }
}

#[test]
fn bad_data_exits_non_zero_naming_the_file_line_and_value() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = "date,symbol,open,high,low,close,volume\n\
               2024-01-02,600000.SH,10.00,10.50,9.90,10.20,1000\n\
               2024-01-03,600000.SH,10.00,9.50,9.90,10.20,1000\n";
    std::fs::write(tmp.path().join("bad.csv"), csv).unwrap();
    let out = janus(&["backtest", "--data", "bad.csv"], tmp.path());
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("bad.csv") && err.contains('3') && err.contains("9.50"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_missing_data_file_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = janus(&["backtest", "--data", "nowhere.csv"], tmp.path());
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("nowhere.csv"));
}

#[test]
fn a_config_typo_exits_non_zero_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("c.toml"), "[risk]\nmax_positons = 5\n").unwrap();
    let out = janus(&["backtest", "--config", "c.toml"], tmp.path());
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("max_positons") && err.contains("c.toml"), "{err}");
}

#[test]
fn the_printed_default_config_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = janus(&["config"], tmp.path());
    assert!(out.status.success());
    let cfg = text(&out.stdout).replace("days = 750", "days = 120").replace("symbols = 300", "symbols = 40");
    std::fs::write(tmp.path().join("c.toml"), cfg).unwrap();
    let run = janus(&["backtest", "--config", "c.toml", "-q"], tmp.path());
    assert!(run.status.success(), "{}", text(&run.stderr));
    let dir = text(&run.stdout).trim().to_string();
    assert!(tmp.path().join(dir).join("metrics.json").exists());
}

#[test]
fn every_command_has_help_that_explains_it() {
    let tmp = tempfile::tempdir().unwrap();
    for cmd in ["backtest", "gen-data", "config", "bench"] {
        let out = janus(&[cmd, "--help"], tmp.path());
        assert!(out.status.success(), "{cmd} --help");
        assert!(text(&out.stdout).len() > 200, "{cmd} --help explains itself");
    }
    let out = janus(&["--help"], tmp.path());
    assert!(text(&out.stdout).contains("A-share"));
}

#[test]
fn a_small_bench_prints_throughput_and_peak_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let out = janus(&["bench", "--symbols", "50", "--days", "100"], tmp.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("engine throughput") && s.contains("load throughput") && s.contains("peak memory"), "{s}");
}

/// A run from a tushare export, a gen-data Parquet file, and the same market as CSV: the
/// formats agree, and the universe file limits what is bought.
#[test]
fn every_input_format_backtests_and_the_universe_limits_the_buys() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    for out in ["m.csv", "m.parquet"] {
        let g = janus(&["gen-data", "--out", out, "--symbols", "40", "--days", "120", "--seed", "3"], p);
        assert!(g.status.success(), "{}", text(&g.stderr));
    }
    let run = |cfg: &str, out: &str| {
        std::fs::write(p.join("c.toml"), cfg).unwrap();
        let r = janus(&["backtest", "-q", "--config", "c.toml", "--out", out, "--run-id", "x"], p);
        assert!(r.status.success(), "{cfg}: {}", text(&r.stderr));
        std::fs::read_to_string(p.join(out).join("x/fills.csv")).unwrap()
    };
    let csv = run("[data]\nsource = \"m.csv\"\n", "a");
    let parquet = run("[data]\nsource = \"m.parquet\"\n", "b");
    assert_eq!(csv, parquet, "Parquet and CSV of one market trade alike");
    assert!(csv.lines().count() > 10, "the market trades");

    // A universe of one name: every buy is of that name.
    let first_buy = csv.lines().nth(1).unwrap().to_string();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "symbol").unwrap();
    let symbol = first_buy.split(',').nth(col).unwrap().to_string();
    std::fs::write(p.join("u.csv"), format!("date,symbol\n2021-01-04,{symbol}\n")).unwrap();
    let only = run("[data]\nsource = \"m.csv\"\nuniverse = \"u.csv\"\n", "c");
    let side = header.iter().position(|h| *h == "side").unwrap();
    let buys: Vec<&str> = only.lines().skip(1).filter(|l| l.split(',').nth(side) == Some("BUY")).collect();
    assert!(!buys.is_empty(), "the member is bought");
    for line in buys {
        assert_eq!(line.split(',').nth(col), Some(symbol.as_str()), "{line}");
    }

    // tushare: lots and thousands, newest first.
    let tushare = "ts_code,trade_date,open,high,low,close,vol,amount\n\
                   600000.SH,20240104,10.10,10.20,10.00,10.10,100,101\n\
                   600000.SH,20240103,10.00,10.10,9.90,10.00,100,100\n\
                   600000.SH,20240102,10.00,10.00,10.00,10.00,100,100\n";
    std::fs::write(p.join("daily.csv"), tushare).unwrap();
    let r = janus(&["backtest", "-q", "--data", "daily.csv", "--out", "d"], p);
    assert!(r.status.success(), "{}", text(&r.stderr));
}

/// (what, arguments or config, the words the error must contain).
#[test]
fn bad_inputs_exit_non_zero_with_the_place_and_the_value() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    std::fs::write(
        p.join("adj.csv"),
        "date,symbol,open,high,low,close,volume\n2024-01-02,600000.SH,10.00,10.50,9.90,10.2371,1000\n",
    )
    .unwrap();
    let cases: [(&str, Vec<&str>, &str, Vec<&str>); 5] = [
        (
            "off-tick prices",
            vec!["backtest", "--data", "adj.csv"],
            "",
            vec!["adj.csv: line 2", "10.2371", "round_to_tick"],
        ),
        ("zero days", vec!["gen-data", "--days", "0"], "", vec!["--days", "is 0"]),
        ("too large a market", vec!["gen-data", "--symbols", "90000", "--days", "100000"], "", vec!["--days", "cells"]),
        (
            "a percentage for a fraction",
            vec!["backtest", "--config", "c.toml"],
            "[strategy.sell]\nstop_loss = 8\n",
            vec!["strategy.sell.stop_loss", "0.08 means 8%"],
        ),
        (
            "an unknown format",
            vec!["backtest", "--config", "c.toml"],
            "[data]\nformat = \"xls\"\n",
            vec!["data.format", "xls"],
        ),
    ];
    for (what, args, cfg, words) in cases {
        std::fs::write(p.join("c.toml"), cfg).unwrap();
        let out = janus(&args, p);
        assert!(!out.status.success(), "{what}: succeeded");
        let err = text(&out.stderr);
        for w in words {
            assert!(err.contains(w), "{what}: no `{w}` in {err}");
        }
        assert!(!err.contains("panicked"), "{what}: {err}");
    }
}

#[test]
fn output_into_a_closed_pipe_ends_quietly_like_a_unix_tool() {
    // A pipe whose reading end is already closed: the first write fails with EPIPE.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_janus")).arg("config").stdout(writer).output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
