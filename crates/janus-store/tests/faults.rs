//! The server goes away mid-run. Each test starts a throwaway server of its own (from the
//! installed binaries, on a free loopback port): a restart during a run is ridden out by
//! retrying with backoff; a server that stays away stops the run with a clear error after the
//! retry time, the store holds only whole days, and the run resumes to the same rows. A server
//! that hangs (stopped with SIGSTOP: it keeps its connections, the kernel even accepts new
//! ones, but nothing answers) stops the run too, within the retry time plus about one timeout.

mod common;

use common::{free_port, wait_for_port};
use janus_core::{DayBatch, RunMeta, RunRecord, RunStatus, Store, StoreError};
use janus_engine::{Backtest, EngineConfig, Resume, StrategyConfig};
use janus_store::{open_store_with, MemoryStore, StoreOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A throwaway server that can be stopped and started again with its data kept.
enum Server {
    Redis { port: u16, dir: tempfile::TempDir, child: Option<Child> },
    Postgres { port: u16, dir: tempfile::TempDir, bin: PathBuf, running: bool },
}

fn find_pg_bin() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|d| d.join("initdb").exists() && d.join("pg_ctl").exists());
    on_path.or_else(|| {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|d| d.join("initdb").exists())
            .collect();
        dirs.sort();
        dirs.pop()
    })
}

impl Server {
    fn redis() -> Option<Server> {
        if Command::new("redis-server").arg("--version").output().is_err() {
            common::unavailable("redis-server (to start a throwaway server)", &"not installed");
            return None;
        }
        let mut s = Server::Redis { port: free_port(), dir: tempfile::tempdir().unwrap(), child: None };
        s.start();
        Some(s)
    }

    fn postgres() -> Option<Server> {
        let Some(bin) = find_pg_bin() else {
            common::unavailable("initdb and pg_ctl (to start a throwaway PostgreSQL)", &"not installed");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        if is_root() {
            // PostgreSQL refuses to run as root: the cluster belongs to the postgres user.
            let ok = Command::new("chown").args(["-R", "postgres"]).arg(dir.path()).status().is_ok_and(|s| s.success());
            assert!(ok, "chown of the throwaway cluster's folder");
        }
        let data = dir.path().join("data");
        let out = pg_command(&bin, "initdb")
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--no-locale"])
            .output()
            .unwrap();
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        let mut s = Server::Postgres { port: free_port(), dir, bin, running: false };
        s.start();
        Some(s)
    }

    fn url(&self) -> String {
        match self {
            Server::Redis { port, .. } => format!("redis://127.0.0.1:{port}/"),
            Server::Postgres { port, .. } => format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        }
    }

    fn start(&mut self) {
        match self {
            Server::Redis { port, dir, child } => {
                let c = Command::new("redis-server")
                    .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""])
                    .args(["--appendonly", "yes", "--appendfsync", "always", "--dir"])
                    .arg(dir.path())
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap();
                *child = Some(c);
                wait_for_port(*port);
            }
            Server::Postgres { port, dir, bin, running } => {
                let opts = format!(
                    "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
                    dir.path().display()
                );
                let out = pg_command(bin, "pg_ctl")
                    .arg("-D")
                    .arg(dir.path().join("data"))
                    .arg("-l")
                    .arg(dir.path().join("log"))
                    .args(["-o", &opts, "-w", "start"])
                    .output()
                    .unwrap();
                assert!(out.status.success(), "pg_ctl start: {}", String::from_utf8_lossy(&out.stderr));
                *running = true;
            }
        }
    }

    /// Every process of the server: Redis, or the PostgreSQL postmaster and its backends.
    fn pids(&self) -> Vec<u32> {
        match self {
            Server::Redis { child, .. } => child.iter().map(|c| c.id()).collect(),
            Server::Postgres { dir, .. } => {
                let pid_file =
                    std::fs::read_to_string(dir.path().join("data").join("postmaster.pid")).unwrap_or_default();
                let Some(main) = pid_file.lines().next().and_then(|l| l.trim().parse::<u32>().ok()) else {
                    return Vec::new();
                };
                let mut pids = vec![main];
                pids.extend(children_of(main));
                pids
            }
        }
    }

    /// Send a signal to every process of the server by id: `-STOP` freezes it, `-CONT` thaws it.
    fn signal(&self, sig: &str) {
        for pid in self.pids() {
            let _ = Command::new("kill").args([sig, &pid.to_string()]).stderr(Stdio::null()).status();
        }
    }

    fn stop(&mut self) {
        self.signal("-CONT"); // a frozen server could not shut down
        match self {
            Server::Redis { child, .. } => {
                if let Some(mut c) = child.take() {
                    // SIGTERM: Redis shuts down cleanly and keeps its append-only file.
                    let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
                    let _ = c.wait();
                }
            }
            Server::Postgres { dir, bin, running, .. } => {
                if *running {
                    let _ = pg_command(bin, "pg_ctl")
                        .arg("-D")
                        .arg(dir.path().join("data"))
                        .args(["-m", "fast", "-w", "stop"])
                        .output();
                    *running = false;
                }
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The processes whose parent is `parent` (from `/proc/PID/stat`: `pid (comm) state ppid ...`,
/// where comm may hold spaces, so the fields are read after the last ')').
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let ppid: u32 = stat[stat.rfind(')')? + 1..].split_whitespace().nth(1)?.parse().ok()?;
            (ppid == parent).then_some(pid)
        })
        .collect()
}

fn pg_command(bin: &Path, tool: &str) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
        c
    } else {
        Command::new(bin.join(tool))
    }
}

/// Runs `action` once, just before the given day is committed.
struct Hook {
    inner: Box<dyn Store>,
    day: u32,
    action: Option<Box<dyn FnOnce()>>,
}

impl Store for Hook {
    fn begin_run(&mut self, meta: &RunMeta) -> Result<(), StoreError> {
        self.inner.begin_run(meta)
    }
    fn commit_day(&mut self, run_id: &str, batch: &DayBatch) -> Result<(), StoreError> {
        if batch.day_index == self.day {
            if let Some(f) = self.action.take() {
                f();
            }
        }
        self.inner.commit_day(run_id, batch)
    }
    fn finish_run(&mut self, run_id: &str, status: RunStatus) -> Result<(), StoreError> {
        self.inner.finish_run(run_id, status)
    }
    fn list_runs(&self) -> Result<Vec<RunMeta>, StoreError> {
        self.inner.list_runs()
    }
    fn load_run(&self, run_id: &str) -> Result<RunRecord, StoreError> {
        self.inner.load_run(run_id)
    }
}

fn meta(id: &str) -> RunMeta {
    RunMeta { run_id: id.into(), config: String::new(), data_source: "gen".into(), status: RunStatus::Running }
}

fn survives_a_restart_and_gives_up_cleanly(server: Server) {
    let panel = janus_data::generate(
        &janus_data::GenConfig { n_symbols: 40, n_days: 120, ..Default::default() },
        &Default::default(),
    );
    let strategy = || janus_engine::engine::default_strategy(&StrategyConfig::default(), &panel).unwrap();
    let engine = || Backtest::new(&panel, EngineConfig::default()).unwrap();
    let reference = {
        let mut m = MemoryStore::new();
        engine().run(0..120, &mut strategy(), &mut m, &meta("r"), &mut |_, _| {}).unwrap();
        m.load_run("r").unwrap()
    };
    let url = server.url();
    let server = Arc::new(Mutex::new(server));

    // 1. The server restarts while the run commits day 50: retried, nothing lost or doubled.
    let opts = StoreOptions { retry: Duration::from_secs(60), flush_days: 1, ..StoreOptions::default() };
    let s = server.clone();
    let mut hook = Hook {
        inner: open_store_with(&url, &opts).unwrap(),
        day: 50,
        action: Some(Box::new(move || {
            s.lock().unwrap().stop();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(1500));
                s.lock().unwrap().start();
            });
        })),
    };
    let t = Instant::now();
    engine().run(0..120, &mut strategy(), &mut hook, &meta("restarted"), &mut |_, _| {}).unwrap();
    assert!(t.elapsed() >= Duration::from_millis(1400), "the run waited for the server");
    assert_eq!(hook.inner.load_run("restarted").unwrap(), reference, "rows after a server restart");

    // 2. The server goes away for good at day 60: a clear error after the retry time.
    let opts = StoreOptions { retry: Duration::from_millis(1500), flush_days: 1, ..StoreOptions::default() };
    let s = server.clone();
    let mut hook = Hook {
        inner: open_store_with(&url, &opts).unwrap(),
        day: 60,
        action: Some(Box::new(move || s.lock().unwrap().stop())),
    };
    let t = Instant::now();
    let err = engine().run(0..120, &mut strategy(), &mut hook, &meta("gone"), &mut |_, _| {}).unwrap_err().to_string();
    let waited = t.elapsed();
    drop(hook);
    assert!(err.contains("unreachable") && err.contains(&url) && err.contains("resumed"), "{err}");
    assert!(waited >= Duration::from_millis(1400) && waited < Duration::from_secs(30), "{waited:?}");

    // The store holds whole days only (up to day 59), and the run resumes to the same rows.
    server.lock().unwrap().start();
    let mut store = open_store_with(&url, &StoreOptions::default()).unwrap();
    let partial = store.load_run("gone").unwrap();
    assert_eq!(partial.last_day_index, Some(59));
    assert_eq!(partial.account_snapshots, reference.account_snapshots[..60]);
    let cut = reference.account_snapshots[59].date;
    let fills: Vec<_> = reference.executions.iter().filter(|x| x.date <= cut).cloned().collect();
    assert_eq!(partial.executions, fills);
    let resume = Resume { last_day_index: 59, last_snapshot: partial.account_snapshots[59].clone() };
    engine()
        .run_resumable(0..120, &mut strategy(), store.as_mut(), &meta("gone"), Some(&resume), &mut |_, _| {})
        .unwrap();
    assert_eq!(store.load_run("gone").unwrap(), reference, "rows after resuming");
}

#[test]
fn redis_restarts_are_retried_and_an_outage_stops_the_run_resumably() {
    if let Some(s) = Server::redis() {
        survives_a_restart_and_gives_up_cleanly(s);
    }
}

#[test]
fn postgres_restarts_are_retried_and_an_outage_stops_the_run_resumably() {
    if let Some(s) = Server::postgres() {
        survives_a_restart_and_gives_up_cleanly(s);
    }
}

/// The server freezes (SIGSTOP) just before day 60 is committed: every call waits at most one
/// timeout, the retry loop gives up after its time, and the error says what the store holds.
/// Thawed, the server holds whole days up to day 59, and the run resumes to the same rows.
fn a_hung_server_stops_the_run_within_the_retry_time(server: Server) {
    let panel = janus_data::generate(
        &janus_data::GenConfig { n_symbols: 40, n_days: 120, ..Default::default() },
        &Default::default(),
    );
    let strategy = || janus_engine::engine::default_strategy(&StrategyConfig::default(), &panel).unwrap();
    let engine = || Backtest::new(&panel, EngineConfig::default()).unwrap();
    let reference = {
        let mut m = MemoryStore::new();
        engine().run(0..120, &mut strategy(), &mut m, &meta("r"), &mut |_, _| {}).unwrap();
        m.load_run("r").unwrap()
    };
    let url = server.url();
    let server = Arc::new(Mutex::new(server));
    let opts = StoreOptions {
        retry: Duration::from_secs(2),
        flush_days: 1,
        connect_timeout: Duration::from_secs(1),
        io_timeout: Duration::from_secs(1),
        ..StoreOptions::default()
    };
    let s = server.clone();
    let mut hook = Hook {
        inner: open_store_with(&url, &opts).unwrap(),
        day: 60,
        action: Some(Box::new(move || s.lock().unwrap().signal("-STOP"))),
    };
    let t = Instant::now();
    let result = engine().run(0..120, &mut strategy(), &mut hook, &meta("hung"), &mut |_, _| {});
    let waited = t.elapsed();
    let t = Instant::now();
    drop(hook);
    let dropped = t.elapsed();
    server.lock().unwrap().signal("-CONT");
    let err = result.unwrap_err().to_string();
    eprintln!("stopped after {waited:?}: {err}");
    assert!(err.contains("unreachable") && err.contains(&url), "{err}");
    assert!(err.contains("up to day index 59") && err.contains("resumed"), "the error says what can be resumed: {err}");
    let bound = opts.retry + opts.connect_timeout + opts.io_timeout + Duration::from_secs(2);
    assert!(waited >= opts.retry && waited < bound, "stopped after {waited:?}, expected {:?} to {bound:?}", opts.retry);
    assert!(dropped < Duration::from_millis(500), "a store that gave up is dropped without waiting again: {dropped:?}");

    let mut store = open_store_with(&url, &StoreOptions::default()).unwrap();
    let partial = store.load_run("hung").unwrap();
    assert_eq!(partial.last_day_index, Some(59));
    assert_eq!(partial.account_snapshots, reference.account_snapshots[..60]);
    let resume = Resume { last_day_index: 59, last_snapshot: partial.account_snapshots[59].clone() };
    engine()
        .run_resumable(0..120, &mut strategy(), store.as_mut(), &meta("hung"), Some(&resume), &mut |_, _| {})
        .unwrap();
    assert_eq!(store.load_run("hung").unwrap(), reference, "rows after resuming");
}

#[test]
fn a_redis_server_that_hangs_mid_run_stops_it_within_the_retry_time_resumably() {
    if let Some(s) = Server::redis() {
        a_hung_server_stops_the_run_within_the_retry_time(s);
    }
}

#[test]
fn a_postgres_server_that_hangs_mid_run_stops_it_within_the_retry_time_resumably() {
    if let Some(s) = Server::postgres() {
        a_hung_server_stops_the_run_within_the_retry_time(s);
    }
}
