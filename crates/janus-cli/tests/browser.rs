//! The HTML report in a real browser: headless Chromium loads the report of a small backtest,
//! which must render without console errors with every chart drawn; a screenshot is saved. The
//! Chinese report in the A-share colours and the comparison page are loaded the same way.
//!
//! Needs `chromium` (or `chromium-browser`, `google-chrome`) on PATH. Without one the test says
//! so and passes, unless `JANUS_REQUIRE_BROWSER=1` (as CI sets), when it fails.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn find_browser() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// What the browser printed.
struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Run the browser headless on `url` with `extra` flags and a fresh profile in `work/name`,
/// with a time limit. Output goes to files: a page's DOM is larger than a pipe's buffer.
fn chromium(browser: &Path, work: &Path, name: &str, extra: &[String], url: &str) -> Run {
    let (out_path, err_path) = (work.join(format!("{name}.out")), work.join(format!("{name}.err")));
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", work.join(format!("{name}-profile")).display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("the browser starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the browser") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the browser did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    Run { ok: status.success(), stdout: read(&out_path), stderr: read(&err_path) }
}

/// Console messages the browser logged (Chromium writes them as `...:CONSOLE(line)] "..."`),
/// and uncaught script errors.
fn console_messages(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught")).collect()
}

/// The `<figure class="chart" id="...">` elements of the dumped DOM: (id, its markup).
fn figures(dom: &str) -> Vec<(String, &str)> {
    let mut out = Vec::new();
    let mut rest = dom;
    while let Some(start) = rest.find("<figure class=\"chart\"") {
        let tail = &rest[start..];
        let end = tail.find("</figure>").map_or(tail.len(), |e| e + "</figure>".len());
        let fig = &tail[..end];
        let id = fig.split("id=\"").nth(1).and_then(|s| s.split('"').next()).unwrap_or("").to_string();
        out.push((id, fig));
        rest = &tail[end..];
    }
    out
}

#[test]
fn the_report_renders_in_headless_chromium_with_every_chart_drawn_and_no_console_error() {
    let Some(browser) = find_browser() else {
        if std::env::var("JANUS_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
            panic!("JANUS_REQUIRE_BROWSER=1 but no chromium, chromium-browser or google-chrome is on PATH");
        }
        // Straight to stderr: the harness captures eprintln!, and a skip must show.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: no chromium on PATH; install Debian's `chromium` to run the browser test"
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // A tight volume cap leaves sells stuck, so the stuck-sells chart has points to draw.
    let cfg =
        "[data]\nsource = \"synthetic\"\nseed = 3\nsymbols = 120\ndays = 400\n[fill]\nvolume_participation = 0.01\n";
    std::fs::write(tmp.path().join("c.toml"), cfg).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_janus"))
        .args(["backtest", "-q", "--config", "c.toml", "--out", "runs", "--run-id", "browser"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = tmp.path().join("runs/browser/report.html").canonicalize().unwrap();
    let url = format!("file://{}", report.display());

    let dump = chromium(&browser, tmp.path(), "dom", &["--dump-dom".to_string()], &url);
    let (dom, stderr) = (&dump.stdout, &dump.stderr);
    assert!(dump.ok, "the browser failed: {stderr}");
    assert!(dom.contains("Janus run browser"), "the page loaded: {}", &dom[..dom.len().min(500)]);
    assert!(console_messages(stderr).is_empty(), "console messages: {:#?}", console_messages(stderr));
    // The page's own check ran (so scripts work) and found every chart drawn.
    assert!(dom.contains("id=\"render-status\" data-status=\"ok\""), "render status: {}", {
        let at = dom.find("render-status").unwrap_or(0);
        &dom[at..(at + 200).min(dom.len())]
    });

    // And we check the drawn DOM ourselves: each chart holds the marks of its data.
    let figs = figures(dom);
    let ids: Vec<&str> = figs.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "chart-friction",
            "chart-equity",
            "chart-drawdown",
            "chart-monthly",
            "chart-excursions",
            "chart-holding",
            "chart-risk-events",
            "chart-stuck-sells"
        ]
    );
    for (id, fig) in &figs {
        assert!(fig.contains("<svg"), "{id} has an SVG");
        let count = |tag: &str| fig.matches(tag).count();
        let (lines, rects, circles, polygons) =
            (count("<polyline"), count("<rect"), count("<circle"), count("<polygon"));
        let drawn = match id.as_str() {
            "chart-equity" => lines >= 2,      // the run and its benchmark
            "chart-drawdown" => polygons >= 1, // the filled area
            "chart-monthly" => rects >= 12,    // a year of month cells
            "chart-excursions" | "chart-stuck-sells" => circles >= 5,
            "chart-holding" | "chart-risk-events" => rects >= 4,
            "chart-friction" => rects >= 8, // the background and seven bars, real to frictionless
            _ => false,
        };
        assert!(
            drawn,
            "{id} has no drawn content: {lines} lines, {rects} rects, {circles} circles, {polygons} polygons"
        );
        assert!(fig.contains("data-shapes=\""), "{id} was checked by the page");
    }

    screenshot(&browser, tmp.path(), &url, "report-screenshot.png");

    // The Chinese report with gains red, and the comparison page of two runs.
    let janus = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_janus")).args(args).current_dir(tmp.path()).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    janus(&["report", "runs/browser", "--lang", "zh", "--colors", "red-up", "--out", "zh.html"]);
    std::fs::write(tmp.path().join("b.toml"), format!("{cfg}[backtest]\nend = \"2021-10-29\"\n")).unwrap();
    janus(&["backtest", "-q", "--config", "b.toml", "--out", "runs", "--run-id", "shorter"]);
    janus(&["compare", "runs/browser", "runs/shorter", "--out", "cmp.html"]);
    for (page, charts, shot) in [("zh.html", 8, "report-zh-screenshot.png"), ("cmp.html", 2, "compare-screenshot.png")]
    {
        let url = format!("file://{}", tmp.path().join(page).canonicalize().unwrap().display());
        let dump = chromium(&browser, tmp.path(), &format!("{page}-dom"), &["--dump-dom".to_string()], &url);
        assert!(dump.ok, "the browser failed on {page}: {}", dump.stderr);
        assert!(console_messages(&dump.stderr).is_empty(), "{page}: {:#?}", console_messages(&dump.stderr));
        assert!(dump.stdout.contains("id=\"render-status\" data-status=\"ok\""), "{page}: charts not all drawn");
        assert_eq!(figures(&dump.stdout).len(), charts, "{page}");
        screenshot(&browser, tmp.path(), &url, shot);
    }
    let zh = std::fs::read_to_string(tmp.path().join("zh.html")).unwrap();
    assert!(zh.contains("<html lang=\"zh-CN\">") && zh.contains("月度收益"));
    let cmp = std::fs::read_to_string(tmp.path().join("cmp.html")).unwrap();
    assert!(cmp.contains("id=\"period-warning\""), "the shorter run is compared with a warning");
}

/// A full-page screenshot of `url`, checked to be a real picture and kept beside the build
/// output as `name` for people to look at.
fn screenshot(browser: &Path, work: &Path, url: &str, name: &str) {
    let shot = work.join(name);
    let extra =
        [format!("--screenshot={}", shot.display()), "--window-size=1400,4000".to_string(), "--hide-scrollbars".into()];
    let out = chromium(browser, work, &format!("{name}-shot"), &extra, url);
    assert!(out.ok, "{}", out.stderr);
    let png = std::fs::read(&shot).expect("a screenshot was written");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 50_000, "a real picture, {} bytes", png.len());
    if let Some(target) = Path::new(env!("CARGO_TARGET_TMPDIR")).parent() {
        let _ = std::fs::copy(&shot, target.join(name));
    }
}
