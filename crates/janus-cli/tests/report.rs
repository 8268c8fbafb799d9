//! `janus report`, `janus compare` and the report files `janus backtest` writes, end to end.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn janus(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_janus")).args(args).current_dir(dir).output().expect("janus runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A small synthetic market keeps these tests fast.
const SMALL: &str = "[data]\nsource = \"synthetic\"\nseed = 11\nsymbols = 80\ndays = 250\n";

/// Run a backtest of `config` with `extra` arguments into `dir/runs/<id>`; returns the folder.
fn backtest(dir: &Path, id: &str, config: &str, extra: &[&str]) -> PathBuf {
    let cfg = format!("{id}.toml");
    std::fs::write(dir.join(&cfg), config).unwrap();
    let mut args = vec!["backtest", "-q", "--config", &cfg, "--out", "runs", "--run-id", id];
    args.extend_from_slice(extra);
    let out = janus(&args, dir);
    assert!(out.status.success(), "{}", text(&out.stderr));
    dir.join("runs").join(id)
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn backtest_writes_the_report_and_the_benchmark_and_report_rebuilds_them_from_the_folder_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let run = backtest(tmp.path(), "small", SMALL, &[]);
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("Janus run small"));
    assert_eq!(html.matches("<figure class=\"chart\"").count(), 7);
    // Self-contained: no linked style sheet, script, image or font (the only URL is the SVG
    // namespace, which is a name, not a fetch).
    for fetch in ["<link", " src=", "href=\"http", "url(", "@import"] {
        assert!(!html.contains(fetch), "nothing is fetched at view time: found {fetch}");
    }
    assert_eq!(html.matches("http").count(), html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count());
    let bench = std::fs::read_to_string(run.join("benchmark.csv")).unwrap();
    let equity = std::fs::read_to_string(run.join("equity.csv")).unwrap();
    assert!(bench.starts_with("date,return,value\n"));
    assert_eq!(bench.lines().count(), equity.lines().count(), "one benchmark day per run day");

    let m = json(&run.join("metrics.json"));
    assert_eq!(m["benchmark"]["name"], "equal-weight market");
    assert!(m["benchmark"]["beta"].is_f64() && m["benchmark"]["excess_return"].is_f64());
    assert!(m["sortino"].is_f64() && m["max_drawdown_days"].is_u64() && m["avg_holding_days"].is_f64());
    assert!(m["refused_sells"]["episodes"].as_u64().unwrap() > 0, "the synthetic market refuses some sells");
    let trades = std::fs::read_to_string(run.join("trades.csv")).unwrap();
    assert!(trades.lines().next().unwrap().ends_with(",exit_kind,mfe,mae,giveback"));
    assert!(run.join("refused_sells.csv").is_file());

    // From the folder alone, later: the same bytes.
    let out = janus(&["report", run.to_str().unwrap(), "--out", "again.html"], tmp.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(tmp.path().join("again.html")).unwrap(), html.as_bytes());
    // Without --out it rewrites the folder's report.html.
    std::fs::remove_file(run.join("report.html")).unwrap();
    let out = janus(&["report", run.to_str().unwrap()], tmp.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(run.join("report.html")).unwrap(), html);
}

#[test]
fn the_summary_shows_stuck_sells_and_trades_that_gave_their_gains_back() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("c.toml"), SMALL).unwrap();
    let out = janus(&["backtest", "--config", "c.toml", "--out", "runs"], tmp.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("Stuck sells") && s.contains("Gave it back") && s.contains("Sortino"), "{s}");
    assert!(s.contains("equal-weight market"), "{s}");
}

#[test]
fn a_benchmark_file_replaces_the_market_and_a_bad_one_names_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let run = backtest(tmp.path(), "b", SMALL, &[]);
    // A benchmark that gains 0.1% every run day, as closes.
    let equity = std::fs::read_to_string(run.join("equity.csv")).unwrap();
    let mut close = 1000.0;
    let mut csv = String::from("date,close\n2020-12-31,1000\n");
    for line in equity.lines().skip(1) {
        close *= 1.001;
        csv.push_str(&format!("{},{close}\n", &line[..10]));
    }
    std::fs::write(tmp.path().join("index.csv"), csv).unwrap();
    let out = janus(&["report", run.to_str().unwrap(), "--benchmark", "index.csv", "--out", "r.html"], tmp.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let html = std::fs::read_to_string(tmp.path().join("r.html")).unwrap();
    assert!(html.contains("Benchmark: index.csv"), "the page names its benchmark");

    // The same file at backtest time lands in metrics.json and benchmark.csv.
    let run2 = backtest(tmp.path(), "b2", SMALL, &["--benchmark", "index.csv"]);
    let m = json(&run2.join("metrics.json"));
    assert_eq!(m["benchmark"]["name"], "index.csv");
    let days = equity.lines().count() as i32 - 1;
    let want = 1.001f64.powi(days) - 1.0;
    assert!((m["benchmark"]["total_return"].as_f64().unwrap() - want).abs() < 1e-9, "{m}");

    std::fs::write(tmp.path().join("bad.csv"), "date,close\n2021-01-04,100\n2021-01-05,n/a\n").unwrap();
    let out = janus(&["report", run.to_str().unwrap(), "--benchmark", "bad.csv"], tmp.path());
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("bad.csv") && err.contains("line 3") && err.contains("n/a"), "{err}");
    std::fs::write(tmp.path().join("old.csv"), "date,close\n1999-01-04,100\n1999-01-05,101\n").unwrap();
    let out = janus(&["report", run.to_str().unwrap(), "--benchmark", "old.csv"], tmp.path());
    assert!(text(&out.stderr).contains("covers none of the run's days"), "{}", text(&out.stderr));
}

#[test]
fn compare_prints_both_runs_side_by_side_and_writes_an_overlay_page() {
    let tmp = tempfile::tempdir().unwrap();
    let a = backtest(tmp.path(), "ten", SMALL, &[]);
    let b = backtest(tmp.path(), "five", &format!("{SMALL}[risk]\nmax_positions = 5\n"), &[]);
    let out = janus(&["compare", a.to_str().unwrap(), b.to_str().unwrap(), "--out", "cmp.html"], tmp.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    let header = s.lines().next().unwrap();
    assert!(header.contains("ten") && header.contains("five") && header.contains("B - A"), "{s}");
    for label in ["Total return", "Sharpe", "Profit/loss ratio", "Stuck sells", "Excess return"] {
        assert!(s.lines().any(|l| l.trim_start().starts_with(label)), "{label} in {s}");
    }
    let html = std::fs::read_to_string(tmp.path().join("cmp.html")).unwrap();
    assert!(html.contains("A: ten") || html.contains(">ten<"), "names run A");
    assert_eq!(html.matches("<figure class=\"chart\"").count(), 2);
    // Each overlay chart draws one line per run.
    let equity = &html[html.find("id=\"chart-equity\"").unwrap()..html.find("id=\"chart-drawdown\"").unwrap()];
    assert!(equity.matches("<polyline").count() >= 2, "two equity curves");
}

#[test]
fn report_of_something_that_is_not_a_run_folder_says_what_to_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let out = janus(&["report", "no-such-run"], tmp.path());
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("no-such-run") && err.contains("run folder"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_stored_run_reports_by_id_exactly_like_its_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let run = backtest(tmp.path(), "stored", SMALL, &["--store", "sqlite:runs.db"]);
    let out = janus(&["report", "stored", "--store", "sqlite:runs.db"], tmp.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let from_store = std::fs::read(tmp.path().join("report-stored.html")).unwrap();
    assert_eq!(from_store, std::fs::read(run.join("report.html")).unwrap(), "same run, same bytes");
    let out = janus(&["report", "nope", "--store", "sqlite:runs.db"], tmp.path());
    assert!(!out.status.success() && text(&out.stderr).contains("\"nope\""), "{}", text(&out.stderr));
}
