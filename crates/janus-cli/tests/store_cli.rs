//! The `janus` binary with persistent stores: choosing a store by URL (clear errors, no
//! password shown), `janus runs list` / `janus runs show`, regenerating a run folder from a
//! stored run, resuming runs killed with SIGKILL at random points, a password in the config's
//! `store` key that reaches no table, file or output, and failure advice that suggests
//! `--resume` only when it works (the suggested command is run). PostgreSQL and Redis tests
//! skip with a message when their server is unreachable (fail instead with
//! `JANUS_REQUIRE_SERVICES=1`).

use janus_core::RunRecord;
use std::io::Write;
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

/// Skip a test whose server or tool is missing, or fail it when `JANUS_REQUIRE_SERVICES=1`.
/// The message goes straight to the process's stderr: the test harness captures `eprintln!` of
/// a passing test, and a skip must show in the normal `cargo test` output.
fn skip(why: &str) {
    if std::env::var("JANUS_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
        panic!("required (JANUS_REQUIRE_SERVICES=1) but unavailable: {why}");
    }
    let test = match std::thread::current().name() {
        Some(name) if name != "main" => format!(" {name}"),
        _ => String::new(),
    };
    let _ = writeln!(std::io::stderr(), "SKIPPED{test}: {why}; set JANUS_REQUIRE_SERVICES=1 to make this a failure");
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
                skip(&format!("{kind:?} is unreachable ({e})"));
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
fn a_config_whose_store_line_does_not_parse_never_shows_the_password() {
    let tmp = tempfile::tempdir().unwrap();
    for bad in ["store = \"postgres://u:hunter2secret@h/db\n", "store = \"postgres://u:hunter2secret@h/db\" x\n"] {
        std::fs::write(tmp.path().join("c.toml"), bad).unwrap();
        let out = janus(&["backtest", "-q", "--config", "c.toml"], tmp.path());
        let err = text(&out.stderr);
        assert!(!out.status.success() && err.contains("c.toml") && err.contains("***"), "{err}");
        assert!(!err.contains("hunter2secret"), "{err}");
    }
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
    let refusal = text(&again.stderr);
    assert!(!again.status.success() && refusal.contains("already exists"), "{refusal}");
    assert!(refusal.contains("already finished") && refusal.contains("janus runs show s1"), "{refusal}");
    assert!(!refusal.contains("--resume"), "a finished run cannot be resumed: {refusal}");
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

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// `url` with `password` in its user info (kept when it already has one); the password used.
fn with_password(url: &str, password: &str) -> (String, String) {
    let start = url.find("://").map_or(0, |i| i + 3);
    match url[start..].find('@').map(|i| start + i) {
        Some(at) => match url[start..at].split_once(':') {
            Some((_, existing)) => (url.to_string(), existing.to_string()),
            None => (format!("{}:{password}{}", &url[..at], &url[at..]), password.to_string()),
        },
        None => (format!("{}:{password}@{}", &url[..start], &url[start..]), password.to_string()),
    }
}

/// A config whose `store` key holds a password: the run goes to the store (for SQLite the
/// config names a PostgreSQL server and `--store` overrides it, so the config text with the
/// password is what would be stored), and the password is in no table, file, or output.
fn a_password_in_the_config_store_key_reaches_nothing(kind: Kind) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(ns) = Ns::new(kind, "secret", tmp.path()) else { return };
    let (config_url, secret) = match kind {
        Kind::Sqlite => {
            ("postgres://janus:Pw-in-config-7731@db.invalid:5432/research".to_string(), "Pw-in-config-7731".into())
        }
        _ => with_password(&ns.url, "Pw-in-config-7731"),
    };
    let config = format!("store = \"{config_url}\"\n{SMALL}");
    std::fs::write(tmp.path().join("c.toml"), &config).unwrap();
    let mut args = vec!["backtest", "--config", "c.toml", "--out", "a"];
    if kind == Kind::Sqlite {
        args.extend(["--store", &ns.url]);
    }
    let run = janus(&args, tmp.path());
    assert!(run.status.success(), "{}", text(&run.stderr));
    let stored = janus_store::open_store(&ns.url).unwrap().run_summaries().unwrap();
    let run_id = stored[0].meta.run_id.clone();
    assert!(
        stored[0].meta.config.contains(":***@") && stored[0].meta.config.contains(SMALL),
        "{}",
        stored[0].meta.config
    );
    let show = janus(&["runs", "show", &run_id, "--store", &ns.url, "--out", "b"], tmp.path());
    assert!(show.status.success(), "{}", text(&show.stderr));
    for (what, out) in [("backtest", &run), ("runs show", &show)] {
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(!all.contains(&secret), "{kind:?}: the password is in the output of {what}: {all}");
    }
    assert!(format!("{stored:?}{:?}", ns.load(&run_id)).find(&secret).is_none(), "{kind:?}: in the store's rows");
    // Every byte written: run folders, and for SQLite the database file and its journal.
    for f in files_under(tmp.path()).into_iter().filter(|f| !f.ends_with("c.toml")) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "{kind:?}: the password is in {f:?}");
    }
    // The run id derived from the config does not depend on the password.
    let other = config.replace(&secret, "another-password");
    std::fs::write(tmp.path().join("c2.toml"), other).unwrap();
    let again = janus(&["backtest", "-q", "--config", "c2.toml", "--store", "memory", "--out", "m"], tmp.path());
    assert!(text(&again.stdout).trim().ends_with(&run_id), "{} vs {run_id}", text(&again.stdout));
}

#[test]
fn a_password_in_the_config_reaches_no_sqlite_table_file_or_output() {
    a_password_in_the_config_store_key_reaches_nothing(Kind::Sqlite);
}

#[test]
fn a_password_in_the_config_reaches_no_postgres_table_file_or_output() {
    a_password_in_the_config_store_key_reaches_nothing(Kind::Postgres);
}

/// A throwaway `redis-server` that wants a password (append-only file, so a restart keeps
/// every acknowledged write), on a free loopback port; stopped by its process id.
struct ThrowawayRedis {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<std::process::Child>,
}

const REDIS_PASSWORD: &str = "Pw-redis-5519";

impl ThrowawayRedis {
    fn start() -> Option<ThrowawayRedis> {
        if Command::new("redis-server").arg("--version").output().is_err() {
            skip("redis-server is not installed (needed for a throwaway server)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut r = ThrowawayRedis { port, dir: tempfile::tempdir().unwrap(), child: None };
        r.run();
        Some(r)
    }

    fn run(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes"])
            .args(["--appendfsync", "always", "--requirepass", REDIS_PASSWORD, "--dir"])
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
            let _ = c.wait();
        }
    }
}

impl Drop for ThrowawayRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The store goes away mid-run: the run stops within the retry time, the error names the
/// redacted URL and gives the resume command, and that command (with the password put back)
/// finishes the run to the tables of a run that never stopped.
#[test]
fn a_run_whose_store_goes_away_names_the_resume_command_and_that_command_works() {
    let Some(mut server) = ThrowawayRedis::start() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("redis://:{REDIS_PASSWORD}@127.0.0.1:{}/", server.port);
    std::fs::write(tmp.path().join("c.toml"), "[data]\nsource = \"synthetic\"\nseed = 3\nsymbols = 300\ndays = 3000\n")
        .unwrap();
    let full =
        janus(&["backtest", "-q", "--config", "c.toml", "--store", &url, "--run-id", "full", "--out", "a"], tmp.path());
    assert!(full.status.success(), "{}", text(&full.stderr));

    let child = Command::new(env!("CARGO_BIN_EXE_janus"))
        .args(["backtest", "-q", "--config", "c.toml", "--store", &url, "--run-id", "gone", "--out", "b"])
        .args(["--store-retry-secs", "1"])
        .current_dir(tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let watcher = janus_store::open_store(&url).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let progress = || watcher.run_summaries().unwrap().into_iter().find(|s| s.meta.run_id == "gone");
    while !matches!(progress().and_then(|s| s.last_day_index), Some(d) if d >= 300) {
        assert!(Instant::now() < deadline, "no progress to day 300");
        std::thread::sleep(Duration::from_millis(3));
    }
    server.stop();
    let t = Instant::now();
    let out = child.wait_with_output().unwrap();
    let err = text(&out.stderr);
    eprintln!("after {:?}: {err}", t.elapsed());
    assert!(!out.status.success(), "the run stopped: {err}");
    assert!(t.elapsed() < Duration::from_secs(10), "stopped within the retry time: {:?}", t.elapsed());
    assert!(!err.contains(REDIS_PASSWORD), "{err}");
    let shown = format!("'redis://:***@127.0.0.1:{}/'", server.port);
    let command = format!("janus backtest --resume gone --store {shown}");
    assert!(err.contains(&command) && err.contains("REDISCLI_AUTH"), "the advice gives the command: {err}");

    server.run();
    let resume = janus(&["backtest", "-q", "--resume", "gone", "--store", &url, "--out", "b"], tmp.path());
    assert!(resume.status.success(), "{}", text(&resume.stderr));
    let store = janus_store::open_store(&url).unwrap();
    assert!(store.load_run("full").unwrap() == store.load_run("gone").unwrap(), "the resumed run's tables differ");
}

/// A resumed run whose data changed cannot match its stored days: the failure does not
/// suggest resuming again.
#[test]
fn a_resume_that_cannot_match_its_stored_days_is_not_suggested_again() {
    let tmp = tempfile::tempdir().unwrap();
    let gen = |seed: &str| {
        janus(&["gen-data", "--out", "market.csv", "--symbols", "200", "--days", "2000", "--seed", seed], tmp.path())
    };
    assert!(gen("7").status.success());
    std::fs::write(tmp.path().join("c.toml"), "[data]\nsource = \"market.csv\"\n").unwrap();
    let url = format!("sqlite:{}", tmp.path().join("runs.db").display());
    let child = Command::new(env!("CARGO_BIN_EXE_janus"))
        .args(["backtest", "-q", "--config", "c.toml", "--store", &url, "--run-id", "drift", "--out", "b"])
        .current_dir(tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let mut child = child.unwrap();
    let watcher = janus_store::open_store(&url);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let days = watcher
            .as_ref()
            .ok()
            .and_then(|w| w.run_summaries().ok())
            .and_then(|r| r.first().and_then(|s| s.last_day_index));
        if days.is_some_and(|d| d >= 100) {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be killed");
        assert!(Instant::now() < deadline, "no progress");
        std::thread::sleep(Duration::from_millis(3));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(gen("8").status.success(), "the data changes under the stored run");
    let out = janus(&["backtest", "-q", "--resume", "drift", "--store", &url, "--out", "b"], tmp.path());
    let err = text(&out.stderr);
    eprintln!("{err}");
    assert!(!out.status.success() && err.contains("different account"), "{err}");
    assert!(err.contains("cannot work") && !err.contains("--resume"), "no resume is suggested: {err}");
}
