//! The `janus` binary with persistent stores: choosing a store by URL (clear errors, no
//! password shown), `janus runs list` / `janus runs show`, regenerating a run folder from a
//! stored run, and resuming runs killed with SIGKILL at random points. PostgreSQL and Redis
//! tests skip with a message when their server is unreachable (fail instead with
//! `JANUS_REQUIRE_SERVICES=1`).

use janus_core::RunRecord;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn janus(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_janus")).args(args).current_dir(dir).output().expect("janus runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Sqlite,
    Postgres,
    Redis,
}

fn with_param(url: &str, key: &str, value: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{key}={value}")
}

fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("jc_{name}_{}_{}", std::process::id(), nanos % 100_000)
}

/// A store URL in a namespace of its own, or `None` (test skipped) when the server is down.
struct Ns {
    url: String,
    kind: Kind,
}

impl Ns {
    fn new(kind: Kind, name: &str, dir: &Path) -> Option<Ns> {
        let url = match kind {
            Kind::Sqlite => format!("sqlite:{}", dir.join("runs.db").display()),
            Kind::Postgres => with_param(
                &std::env::var("JANUS_TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
                "schema",
                &unique(name),
            ),
            Kind::Redis => with_param(
                &std::env::var("JANUS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into()),
                "prefix",
                &unique(name),
            ),
        };
        match janus_store::open_store(&url) {
            Ok(_) => Some(Ns { url, kind }),
            Err(e) => {
                if std::env::var("JANUS_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
                    panic!("{kind:?} is required (JANUS_REQUIRE_SERVICES=1) but unreachable: {e}");
                }
                eprintln!(
                    "SKIPPED: {kind:?} is unreachable ({e}); set JANUS_REQUIRE_SERVICES=1 to make this a failure"
                );
                None
            }
        }
    }

    fn load(&self, run_id: &str) -> RunRecord {
        janus_store::open_store(&self.url).unwrap().load_run(run_id).unwrap()
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        if self.kind != Kind::Sqlite {
            let _ = janus_store::drop_namespace(&self.url);
        }
    }
}

#[test]
fn a_wrong_or_unreachable_store_url_fails_before_the_run_and_never_shows_the_password() {
    let tmp = tempfile::tempdir().unwrap();
    for url in [
        "mysql://root:hunter2secret@127.0.0.1/db",
        "postgres://janus:hunter2secret@127.0.0.1:1/test",
        "redis://:hunter2secret@127.0.0.1:1/",
    ] {
        let t = Instant::now();
        let out = janus(&["backtest", "-q", "--store", url, "--out", "o"], tmp.path());
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{url} must fail");
        assert!(!err.contains("hunter2secret") && !text(&out.stdout).contains("hunter2secret"), "{err}");
        assert!(err.contains(":***@"), "the URL is shown redacted: {err}");
        assert!(t.elapsed() < Duration::from_secs(20), "fails fast");
        assert!(!tmp.path().join("o").exists(), "nothing ran: {err}");
    }
    let out = janus(&["backtest", "--store", "ftp://x"], tmp.path());
    assert!(text(&out.stderr).contains("sqlite:PATH"), "the error lists the URL forms");
}

#[test]
fn resume_needs_a_persistent_store_that_holds_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = janus(&["backtest", "--resume", "x"], tmp.path());
    assert!(text(&out.stderr).contains("--store"), "{}", text(&out.stderr));
    let out = janus(&["backtest", "--resume", "x", "--store", "memory"], tmp.path());
    assert!(text(&out.stderr).contains("memory"), "{}", text(&out.stderr));
    let out = janus(&["backtest", "--resume", "nope", "--store", "sqlite:r.db"], tmp.path());
    assert!(text(&out.stderr).contains("not in the store"), "{}", text(&out.stderr));
}

const SMALL: &str = "[data]\nsource = \"synthetic\"\nseed = 9\nsymbols = 60\ndays = 200\n";

fn stored_runs_are_listed_shown_and_their_folder_regenerated(kind: Kind) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(ns) = Ns::new(kind, "show", tmp.path()) else { return };
    std::fs::write(tmp.path().join("c.toml"), SMALL).unwrap();
    let run = janus(
        &["backtest", "-q", "--config", "c.toml", "--store", &ns.url, "--out", "a", "--run-id", "s1"],
        tmp.path(),
    );
    assert!(run.status.success(), "{}", text(&run.stderr));
    let list = janus(&["runs", "list", "--store", &ns.url], tmp.path());
    let listing = text(&list.stdout);
    assert!(list.status.success() && listing.contains("s1") && listing.contains("finished"), "{listing}");
    assert!(listing.contains("200") && listing.contains("synthetic:seed=9"), "{listing}");
    // The same run id again is refused, and the stored run keeps its status.
    let again = janus(
        &["backtest", "-q", "--config", "c.toml", "--store", &ns.url, "--out", "x", "--run-id", "s1"],
        tmp.path(),
    );
    assert!(!again.status.success() && text(&again.stderr).contains("already exists"), "{}", text(&again.stderr));
    let list = janus(&["runs", "list", "--store", &ns.url], tmp.path());
    assert!(text(&list.stdout).contains("finished"), "{}", text(&list.stdout));
    let show = janus(&["runs", "show", "s1", "--store", &ns.url, "--out", "b"], tmp.path());
    assert!(show.status.success(), "{}", text(&show.stderr));
    assert!(text(&show.stdout).contains("s1"), "{}", text(&show.stdout));
    let files: Vec<_> = std::fs::read_dir(tmp.path().join("a/s1")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(files.len() >= 7, "{files:?}");
    for f in files {
        let x = std::fs::read(tmp.path().join("a/s1").join(&f)).unwrap();
        let y = std::fs::read(tmp.path().join("b/s1").join(&f)).unwrap_or_default();
        assert!(x == y, "{f:?} differs when regenerated from the {kind:?} store");
    }
}

#[test]
fn sqlite_runs_are_listed_shown_and_their_folder_regenerated() {
    stored_runs_are_listed_shown_and_their_folder_regenerated(Kind::Sqlite);
}

#[test]
fn postgres_runs_are_listed_shown_and_their_folder_regenerated() {
    stored_runs_are_listed_shown_and_their_folder_regenerated(Kind::Postgres);
}

#[test]
fn redis_runs_are_listed_shown_and_their_folder_regenerated() {
    stored_runs_are_listed_shown_and_their_folder_regenerated(Kind::Redis);
}

/// xorshift64*: seeded, so the kill points are the same on every run of the test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Long enough to be killed mid-way, short enough for the test budget.
const LONG: &str = "[data]\nsource = \"synthetic\"\nseed = 3\nsymbols = 200\ndays = 2000\n";

fn killed_runs_resume_to_the_tables_of_an_uninterrupted_run(kind: Kind, seed: u64) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(ns) = Ns::new(kind, "kill", tmp.path()) else { return };
    std::fs::write(tmp.path().join("c.toml"), LONG).unwrap();
    let full = janus(
        &["backtest", "-q", "--config", "c.toml", "--store", &ns.url, "--run-id", "full", "--out", "a"],
        tmp.path(),
    );
    assert!(full.status.success(), "{}", text(&full.stderr));

    let mut rng = Rng(seed);
    // Five kill points: a random day to reach, then a random extra delay, so the kill lands
    // anywhere (between commits or during one) but always mid-run.
    let mut targets: Vec<u32> = (0..5).map(|_| 100 + (rng.next() * 1200.0) as u32).collect();
    targets.sort_unstable();
    let watcher = janus_store::open_store(&ns.url).unwrap();
    let progress = || watcher.run_summaries().unwrap().into_iter().find(|s| s.meta.run_id == "killed");
    let mut kill_points = Vec::new();
    let mut fresh = true;
    for target in targets {
        let args: Vec<&str> = if fresh {
            vec!["backtest", "-q", "--config", "c.toml", "--store", &ns.url, "--run-id", "killed", "--out", "b"]
        } else {
            vec!["backtest", "-q", "--resume", "killed", "--store", &ns.url, "--out", "b"]
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_janus"))
            .args(&args)
            .current_dir(tmp.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        while !matches!(progress().and_then(|s| s.last_day_index), Some(d) if d >= target) {
            if child.try_wait().unwrap().is_some() {
                let mut err = String::new();
                std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
                panic!("{kind:?}: the run ended before day {target}: {err}");
            }
            assert!(Instant::now() < deadline, "{kind:?}: no progress to day {target}");
            std::thread::sleep(Duration::from_millis(3));
        }
        let extra = Duration::from_micros((rng.next() * 20_000.0) as u64);
        std::thread::sleep(extra);
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        let summary = progress().expect("the run is recorded");
        assert_eq!(summary.meta.status, janus_core::RunStatus::Running, "{kind:?}: killed, not finished ({status})");
        assert_eq!(summary.days, summary.last_day_index.map_or(0, |l| l as usize + 1), "{kind:?}: only whole days");
        kill_points.push((target, extra, summary.last_day_index));
        fresh = false;
    }
    eprintln!("{kind:?}: killed at (target day, extra delay, last committed day) {kill_points:?}");
    let days: Vec<_> = kill_points.iter().filter_map(|k| k.2).collect();
    assert!(days.windows(2).all(|w| w[0] <= w[1]), "{kind:?}: each resume goes on from where the last stopped");

    let args: Vec<&str> = if fresh {
        vec!["backtest", "-q", "--config", "c.toml", "--store", &ns.url, "--run-id", "killed", "--out", "b"]
    } else {
        vec!["backtest", "-q", "--resume", "killed", "--store", &ns.url, "--out", "b"]
    };
    let last = janus(&args, tmp.path());
    assert!(last.status.success(), "{}", text(&last.stderr));
    let (a, b) = (ns.load("full"), ns.load("killed"));
    assert_eq!(a.last_day_index, b.last_day_index);
    assert!(a == b, "{kind:?}: the resumed run's tables differ from the uninterrupted run's");
    for f in ["equity.csv", "orders.csv", "fills.csv", "trades.csv", "risk_events.csv", "positions.csv"] {
        let x = std::fs::read(tmp.path().join("a/full").join(f)).unwrap();
        let y = std::fs::read(tmp.path().join("b/killed").join(f)).unwrap();
        assert!(x == y, "{kind:?}: {f} differs");
    }
}

#[test]
fn sqlite_runs_killed_at_five_random_points_resume_to_the_uninterrupted_tables() {
    killed_runs_resume_to_the_tables_of_an_uninterrupted_run(Kind::Sqlite, 11);
}

#[test]
fn postgres_runs_killed_at_five_random_points_resume_to_the_uninterrupted_tables() {
    killed_runs_resume_to_the_tables_of_an_uninterrupted_run(Kind::Postgres, 12);
}

#[test]
fn redis_runs_killed_at_five_random_points_resume_to_the_uninterrupted_tables() {
    killed_runs_resume_to_the_tables_of_an_uninterrupted_run(Kind::Redis, 13);
}
