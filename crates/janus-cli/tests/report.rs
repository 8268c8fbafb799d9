//! `janus report`, `janus compare` and the report files `janus backtest` writes, end to end.

use std::io::Write;
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
    assert_eq!(html.matches("<figure class=\"chart\"").count(), 8);
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
    // The drawdown's duration, split: down to the trough, then back (when it came back).
    let down = m["max_drawdown_peak_to_trough_days"].as_u64().unwrap();
    match m["max_drawdown_recovery_days"].as_u64() {
        Some(up) => assert_eq!(down + up, m["max_drawdown_days"].as_u64().unwrap(), "{m}"),
        None => assert!(m["max_drawdown_recovery"].is_null() && down <= m["max_drawdown_days"].as_u64().unwrap()),
    }
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
    // Money with thousands separators and two decimals; the drawdown's days split.
    assert!(s.contains("(initial 1,000,000.00)"), "{s}");
    assert!(s.lines().any(|l| l.contains("Max drawdown") && l.contains("days down")), "{s}");
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
    assert!(!s.contains("warning") && !s.contains('\x1b'), "same period, and no colour into a pipe: {s}");
    let html = std::fs::read_to_string(tmp.path().join("cmp.html")).unwrap();
    assert!(html.contains("A: ten") || html.contains(">ten<"), "names run A");
    assert!(html.contains("class=\"better\"") || html.contains("class=\"worse\""), "deltas are judged");
    assert!(!html.contains("period-warning"));
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

/// Write `files` (relative path, contents) under `dir`.
fn files(dir: &Path, files: &[(&str, &str)]) {
    for (name, contents) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }
}

#[test]
fn a_run_folder_records_its_config_so_report_and_export_need_nothing_repeated() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    std::fs::create_dir_all(project.join("data")).unwrap();
    let g = janus(
        &["gen-data", "--out", "project/data/m.csv", "--symbols", "50", "--days", "160", "--seed", "4"],
        tmp.path(),
    );
    assert!(g.status.success(), "{}", text(&g.stderr));
    // Paths relative to the config's folder, run from elsewhere.
    let config = "[data]\nsource = \"data/m.csv\"\n\n[report]\nlang = \"zh\"\n";
    files(&project, &[("c.toml", config)]);
    let out = janus(&["backtest", "-q", "--config", "project/c.toml", "--out", "runs", "--run-id", "rel"], tmp.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let run = tmp.path().join("runs/rel");
    assert_eq!(std::fs::read_to_string(run.join("config.toml")).unwrap(), config, "the exact config text");
    let info = json(&run.join("run.json"));
    assert_eq!(info["run_id"], "rel");
    assert_eq!(info["status"], "finished");
    let project = project.canonicalize().unwrap();
    assert_eq!(Path::new(info["config_dir"].as_str().unwrap()).canonicalize().unwrap(), project);
    assert_eq!(Path::new(info["data_file"].as_str().unwrap()).canonicalize().unwrap(), project.join("data/m.csv"));
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(html.contains("<html lang=\"zh-CN\">") && html.contains("总收益率"), "the config's language");

    // From another folder, with nothing repeated.
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let folder = run.to_str().unwrap();
    std::fs::remove_file(run.join("report.html")).unwrap();
    let out = janus(&["report", folder], &elsewhere);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(run.join("report.html")).unwrap(), html, "the same page again");
    let out = janus(&["export-training", folder, "--format", "csv", "--no-buy"], &elsewhere);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(run.join("training_sell.csv").is_file());

    // Given explicitly, --config wins, and the replay check still guards it.
    files(tmp.path(), &[("other.toml", "[data]\nsource = \"project/data/m.csv\"\n[risk]\nmax_positions = 3\n")]);
    let out = janus(&["export-training", folder, "--config", "other.toml", "--format", "csv", "--no-buy"], tmp.path());
    assert!(!out.status.success() && text(&out.stderr).contains("--config"), "{}", text(&out.stderr));
}

#[test]
fn writing_a_run_folder_again_leaves_no_stale_file_and_keeps_the_users_files() {
    let tmp = tempfile::tempdir().unwrap();
    let run = backtest(tmp.path(), "again", SMALL, &["--store", "sqlite:runs.db"]);
    let first: Vec<(String, Vec<u8>)> = {
        let mut v: Vec<_> = std::fs::read_dir(&run)
            .unwrap()
            .map(|e| e.unwrap())
            .map(|e| (e.file_name().into_string().unwrap(), std::fs::read(e.path()).unwrap()))
            .collect();
        v.sort();
        v
    };
    let out = janus(&["export-training", run.to_str().unwrap(), "--format", "csv", "--no-buy"], tmp.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(run.join("training_sell.csv").is_file());
    files(&run, &[("notes.md", "my notes"), ("plots/equity.png", "mine")]);

    // The stored run written again into the same folder: the same bytes, the old training
    // data gone, the user's files kept.
    let out = janus(&["runs", "show", "again", "--store", "sqlite:runs.db", "--out", "runs"], tmp.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    for (name, bytes) in &first {
        assert!(std::fs::read(run.join(name)).unwrap() == *bytes, "{name} is written again byte for byte");
    }
    let mut names: Vec<String> =
        std::fs::read_dir(&run).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    let mut want: Vec<String> =
        first.iter().map(|(n, _)| n.clone()).chain(["notes.md".into(), "plots".into()]).collect();
    want.sort();
    assert_eq!(names, want, "no training data of the earlier write, no staging folder");
    assert_eq!(std::fs::read_to_string(run.join("plots/equity.png")).unwrap(), "mine");

    // A re-run under the same id with another config replaces every file of the run.
    let out = janus(
        &["backtest", "-q", "--config", "again.toml", "--out", "runs", "--run-id", "again", "--benchmark", "nope.csv"],
        tmp.path(),
    );
    assert!(!out.status.success(), "a bad benchmark fails the write");
    assert!(
        std::fs::read(run.join("metrics.json")).unwrap() == first.iter().find(|(n, _)| n == "metrics.json").unwrap().1
    );
    std::fs::write(tmp.path().join("again.toml"), format!("{SMALL}[risk]\nmax_positions = 4\n")).unwrap();
    let out = janus(&["backtest", "-q", "--config", "again.toml", "--out", "runs", "--run-id", "again"], tmp.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(std::fs::read_to_string(run.join("config.toml")).unwrap().contains("max_positions = 4"));
    assert!(run.join("notes.md").is_file());
}

#[test]
fn the_report_section_sets_benchmark_language_and_colours_and_the_flags_win() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = backtest(tmp.path(), "plain", SMALL, &[]);
    // A benchmark gaining 0.1% a day, beside the config in its own folder.
    let equity = std::fs::read_to_string(plain.join("equity.csv")).unwrap();
    let mut csv = String::from("date,return\n");
    for line in equity.lines().skip(1) {
        csv.push_str(&format!("{},0.001\n", &line[..10]));
    }
    let config = format!("{SMALL}\n[report]\nbenchmark = \"index.csv\"\nlang = \"zh\"\ncolors = \"red-up\"\n");
    files(tmp.path(), &[("cfg/index.csv", &csv), ("cfg/c.toml", &config)]);
    let out = janus(&["backtest", "-q", "--config", "cfg/c.toml", "--out", "runs", "--run-id", "styled"], tmp.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let run = tmp.path().join("runs/styled");
    assert_eq!(json(&run.join("metrics.json"))["benchmark"]["name"], "index.csv", "resolved beside the config");
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(html.contains("<html lang=\"zh-CN\">") && html.contains("基准：index.csv"), "Chinese");
    assert!(html.contains(".up{color:#c62828}.down{color:#1a7f37}"), "gains red");
    assert!(html.contains("月度收益") && html.contains("自历史高点的回撤"), "chart titles too");

    let out = janus(
        &["report", run.to_str().unwrap(), "--lang", "en", "--colors", "green-up", "--out", "en.html"],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let en = std::fs::read_to_string(tmp.path().join("en.html")).unwrap();
    assert!(en.contains("<html lang=\"en\">") && en.contains("Monthly returns") && !en.contains("月度收益"));
    assert!(en.contains(".up{color:#1a7f37}.down{color:#c62828}"));
    // The English page of this run is the page of the plain run's layout: same sections.
    let plain_html = std::fs::read_to_string(plain.join("report.html")).unwrap();
    assert_eq!(en.matches("<h2>").count(), plain_html.matches("<h2>").count());

    // The flag wins over the config's benchmark too, and a bad key value names itself.
    let out = janus(
        &["backtest", "-q", "--config", "cfg/c.toml", "--out", "runs", "--run-id", "b2", "--benchmark", "cfg/none.csv"],
        tmp.path(),
    );
    assert!(!out.status.success() && text(&out.stderr).contains("none.csv"), "{}", text(&out.stderr));
    files(tmp.path(), &[("bad.toml", "[report]\nlang = \"fr\"\n")]);
    let out = janus(&["backtest", "-q", "--config", "bad.toml"], tmp.path());
    let err = text(&out.stderr);
    assert!(!out.status.success() && err.contains("bad.toml") && err.contains("fr"), "{err}");
}

#[test]
fn compare_warns_when_the_runs_cover_different_periods() {
    let tmp = tempfile::tempdir().unwrap();
    let a = backtest(tmp.path(), "whole", SMALL, &[]);
    let b = backtest(tmp.path(), "half", &format!("{SMALL}[backtest]\nend = \"2021-06-30\"\n"), &[]);
    let out = janus(&["compare", a.to_str().unwrap(), b.to_str().unwrap(), "--out", "cmp.html"], tmp.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    let first = s.lines().next().unwrap();
    assert!(first.starts_with("warning: The two runs cover different periods") && first.contains("2021-06-30"), "{s}");
    let html = std::fs::read_to_string(tmp.path().join("cmp.html")).unwrap();
    assert!(html.contains("id=\"period-warning\""), "the page warns too");

    let out =
        janus(&["compare", a.to_str().unwrap(), b.to_str().unwrap(), "--lang", "zh", "--out", "zh.html"], tmp.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("注意：") || text(&out.stdout).starts_with("注意:"), "{}", text(&out.stdout));
}

/// Run `janus args` in a pseudo-terminal (util-linux `script`), with `env` set; `None` when
/// `script` is not installed.
fn in_terminal(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Option<String> {
    let quoted: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_janus"))
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    let mut cmd = Command::new("script");
    cmd.args(["-q", "-e", "-c", &quoted.join(" "), "/dev/null"]).current_dir(dir).env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().ok()?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    Some(text(&out.stdout))
}

#[test]
fn compare_colours_better_green_and_worse_red_only_on_a_terminal_without_no_color() {
    let tmp = tempfile::tempdir().unwrap();
    let a = backtest(tmp.path(), "ten", SMALL, &[]);
    let b = backtest(tmp.path(), "five", &format!("{SMALL}[risk]\nmax_positions = 5\n"), &[]);
    let args = ["compare", a.to_str().unwrap(), b.to_str().unwrap(), "--out", "cmp.html"];
    let Some(colored) = in_terminal(&args, tmp.path(), &[]) else {
        // Straight to stderr: the harness captures eprintln!, and a skip must show.
        let _ = writeln!(std::io::stderr(), "SKIPPED: no `script` command to run janus in a terminal");
        return;
    };
    assert!(colored.contains("\x1b[32m") && colored.contains("\x1b[31m"), "better and worse: {colored}");
    // Fees: fewer positions trade less, so B pays less: better, green.
    let fees = colored.lines().find(|l| l.contains("Fees and taxes")).unwrap();
    let (fa, fb) = {
        let m = |run: &Path| json(&run.join("metrics.json"))["total_fees"].as_str().unwrap().parse::<f64>().unwrap();
        (m(&a), m(&b))
    };
    let want = if fb < fa { "\x1b[32m" } else { "\x1b[31m" };
    assert!(fees.contains(want), "{fees:?} with fees {fa} -> {fb}");
    let plain = in_terminal(&args, tmp.path(), &[("NO_COLOR", "1")]).unwrap();
    assert!(!plain.contains("\x1b["), "NO_COLOR: {plain}");
    let red_up = in_terminal(&[&args[..], &["--colors", "red-up"]].concat(), tmp.path(), &[]).unwrap();
    let fees = red_up.lines().find(|l| l.contains("Fees and taxes")).unwrap();
    assert!(fees.contains(if fb < fa { "\x1b[31m" } else { "\x1b[32m" }), "swapped: {fees:?}");
}
