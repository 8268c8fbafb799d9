//! Paper trading end to end, with the `janus` binary: the days of a bars file published into a
//! growing file feed are traded with the simulated broker and recorded in SQLite. A paper run
//! gives the same fills as the backtest of the same days; killed with SIGKILL at each of the
//! engine's five crash points and started again, it ends with exactly the records, journal and
//! account of a run that never stopped, each order sent once.

use janus_core::{Event, RunRecord};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

fn janus(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_janus"));
    c.args(args).current_dir(dir);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("janus runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A market of 130 days: the first 100 are the history, the last 30 are traded.
struct Market {
    dir: tempfile::TempDir,
    first_traded: String,
}

fn market() -> Market {
    let dir = tempfile::tempdir().unwrap();
    let out =
        janus(&["gen-data", "--out", "full.csv", "--symbols", "40", "--days", "130", "--seed", "3"], dir.path(), &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let full = std::fs::read_to_string(dir.path().join("full.csv")).unwrap();
    let mut lines = full.lines();
    let header = lines.next().unwrap();
    let mut dates: Vec<&str> = full.lines().skip(1).map(|l| &l[..10]).collect();
    dates.dedup();
    assert_eq!(dates.len(), 130);
    let last_history = dates[99];
    let history: Vec<&str> = std::iter::once(header).chain(lines.filter(|l| &l[..10] <= last_history)).collect();
    std::fs::write(dir.path().join("history.csv"), history.join("\n") + "\n").unwrap();
    std::fs::write(dir.path().join("live.csv"), history.join("\n") + "\n").unwrap();
    let cfg =
        format!("[data]\nsource = \"history.csv\"\n[paper]\nfeed = \"file:live.csv\"\nstart = \"{}\"\n", dates[100]);
    std::fs::write(dir.path().join("paper.toml"), cfg).unwrap();
    let cfg = format!("[data]\nsource = \"full.csv\"\n[backtest]\nstart = \"{}\"\n", dates[100]);
    std::fs::write(dir.path().join("backtest.toml"), cfg).unwrap();
    Market { dir, first_traded: dates[100].to_string() }
}

impl Market {
    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Append the traded days to the feed file, then the end marker.
    fn publish(&self) {
        let out = janus(
            &["publish", "--to", "file:live.csv", "--data", "full.csv", "--from", &self.first_traded, "--end"],
            self.path(),
            &[],
        );
        assert!(out.status.success(), "publish: {}", text(&out.stderr));
    }

    fn paper(&self, db: &str, env: &[(&str, &str)]) -> Output {
        let url = if db.contains("://") { db.to_string() } else { format!("sqlite:{db}") };
        janus(&["paper", "-q", "--config", "paper.toml", "--store", &url, "--run-id", "p"], self.path(), env)
    }

    fn load(&self, db: &str, run: &str) -> (RunRecord, Vec<janus_core::JournalEvent>) {
        let url =
            if db.contains("://") { db.to_string() } else { format!("sqlite:{}", self.path().join(db).display()) };
        let store = janus_store::open_store(&url).unwrap();
        let record = store.load_run(run).unwrap();
        let journal = store.load_events(run, "main", 0).unwrap();
        (record, journal)
    }
}

#[test]
fn paper_trading_gives_the_backtest_s_fills_on_the_same_bars() {
    let m = market();
    m.publish();
    let out = m.paper("paper.db", &[]);
    assert!(out.status.success(), "paper: {}", text(&out.stderr));
    let out = janus(
        &["backtest", "-q", "--config", "backtest.toml", "--store", "sqlite:bt.db", "--run-id", "b"],
        m.path(),
        &[],
    );
    assert!(out.status.success(), "backtest: {}", text(&out.stderr));
    let (paper, journal) = m.load("paper.db", "p");
    let (backtest, _) = m.load("bt.db", "b");
    assert!(backtest.executions.len() > 20, "the strategy traded: {} fills", backtest.executions.len());
    assert_eq!(paper.executions, backtest.executions);
    // The backtest does not decide on its last day (no bar would fill the orders), paper trading
    // does: the last evening's frozen cash differs, every day before is the same.
    let n = backtest.account_snapshots.len();
    assert_eq!(paper.account_snapshots.len(), n);
    assert_eq!(paper.account_snapshots[..n - 1], backtest.account_snapshots[..n - 1]);
    let sent = journal.iter().filter(|e| matches!(e.event, Event::Submitted(_))).count();
    assert!(sent >= paper.executions.len().min(1), "orders were journaled: {sent}");
}

/// PostgreSQL and Redis hold a paper run killed mid-day exactly as SQLite does.
#[test]
fn a_paper_run_killed_mid_day_continues_the_same_on_postgres_and_redis() {
    let m = market();
    m.publish();
    assert!(m.paper("ref.db", &[]).status.success());
    let (reference, reference_journal) = m.load("ref.db", "p");
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let ns = format!("jc_paper_{}_{nanos}", std::process::id());
    let pg =
        std::env::var("JANUS_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let redis = std::env::var("JANUS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    let sep = |u: &str| if u.contains('?') { '&' } else { '?' };
    for url in [format!("{pg}{}schema={ns}", sep(&pg)), format!("{redis}{}prefix={ns}", sep(&redis))] {
        if janus_store::open_store(&url).is_err() {
            skip(&format!("no store at {url}"));
            continue;
        }
        let killed = m.paper(&url, &[("JANUS_KILL_AT", "journaled:30")]);
        assert!(!killed.status.success(), "{url}: killed");
        let again = m.paper(&url, &[]);
        assert!(again.status.success(), "{url}: {}", text(&again.stderr));
        let (record, journal) = m.load(&url, "p");
        assert_eq!(record, reference, "{url}");
        assert_eq!(journal, reference_journal, "{url}");
        let _ = janus_store::drop_namespace(&url);
    }
}

/// Skip a test whose server is missing, or fail it when `JANUS_REQUIRE_SERVICES=1`.
fn skip(why: &str) {
    if std::env::var("JANUS_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
        panic!("required (JANUS_REQUIRE_SERVICES=1) but unavailable: {why}");
    }
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED paper over a stream: {why}; set JANUS_REQUIRE_SERVICES=1 to make this a failure"
    );
}

/// The same days published to a Redis Stream and to a NATS subject give the file feed's run.
#[test]
fn paper_trading_over_redis_streams_and_nats_gives_the_file_feed_s_records() {
    let m = market();
    m.publish();
    let out = m.paper("file.db", &[]);
    assert!(out.status.success(), "paper: {}", text(&out.stderr));
    let (by_file, _) = m.load("file.db", "p");
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let stream = format!("janus_test_paper_{}_{nanos}", std::process::id());
    let redis = std::env::var("JANUS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    let nats = std::env::var("JANUS_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    for (url, db) in [(redis.as_str(), "redis.db"), (nats.as_str(), "nats.db")] {
        let sent = janus(
            &[
                "publish",
                "--to",
                url,
                "--stream",
                &stream,
                "--data",
                "full.csv",
                "--from",
                &m.first_traded,
                "--end",
                "-q",
            ],
            m.path(),
            &[],
        );
        if !sent.status.success() {
            skip(&format!("cannot publish to {url}: {}", text(&sent.stderr)));
            continue;
        }
        let store = format!("sqlite:{db}");
        let args = ["paper", "-q", "--config", "paper.toml", "--feed", url, "--stream", &stream, "--store", &store];
        let out = janus(&[&args[..], &["--run-id", "p"]].concat(), m.path(), &[]);
        assert!(out.status.success(), "paper over {url}: {}", text(&out.stderr));
        let (record, _) = m.load(db, "p");
        assert_eq!(record, by_file, "{url}");
    }
    if let Ok(client) = redis::Client::open(redis.as_str()) {
        if let Ok(mut c) = client.get_connection() {
            let _: Result<(), _> = redis::cmd("DEL").arg(&stream).query(&mut c);
        }
    }
}

#[test]
fn a_paper_run_killed_at_each_crash_point_continues_without_sending_an_order_twice() {
    let m = market();
    m.publish();
    let out = m.paper("clean.db", &[]);
    assert!(out.status.success(), "paper: {}", text(&out.stderr));
    let (clean, clean_journal) = m.load("clean.db", "p");
    // Each point once, some days into the run (about 30 orders are sent over its 30 days).
    for (point, n) in janus_engine::PROBE_POINTS.into_iter().zip([7, 12, 30, 33, 18]) {
        let db = format!("{point}.db");
        let at = format!("{point}:{n}");
        let killed = m.paper(&db, &[("JANUS_KILL_AT", &at)]);
        assert!(!killed.status.success(), "{point}: the process was killed");
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(killed.status.signal(), Some(9), "{point}: SIGKILL");
        }
        let (before, _) = m.load(&db, "p");
        let days = before.account_snapshots.len();
        assert!(days > 0 && days < clean.account_snapshots.len(), "{point}: killed mid-run, after {days} days");
        let again = m.paper(&db, &[]);
        assert!(again.status.success(), "{point}: restart: {}", text(&again.stderr));
        let (record, journal) = m.load(&db, "p");
        assert_eq!(record, clean, "{point}: the records equal those of a run that never stopped");
        assert_eq!(journal, clean_journal, "{point}: the journal too");
        let mut sent: BTreeMap<u64, usize> = BTreeMap::new();
        for e in &journal {
            if let Event::Submitted(o) = &e.event {
                *sent.entry(o.id.0).or_default() += 1;
            }
        }
        assert!(sent.values().all(|&n| n == 1), "{point}: an order was sent twice: {sent:?}");
    }
}

/// The Python that runs the reference bridge (JANUS_PYTHON, else `python3`), if it has `redis`.
fn bridge_python() -> Option<String> {
    let py = std::env::var("JANUS_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&py).args(["-c", "import redis"]).output().is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("JANUS_REQUIRE_PYTHON").is_ok_and(|v| v == "1") {
            panic!("{py} cannot import redis (JANUS_REQUIRE_PYTHON=1 makes this a failure)");
        }
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "SKIPPED paper through the gateway: {py} cannot import `redis`; set JANUS_PYTHON to a Python with bridge/requirements.txt");
    }
    ok.then_some(py)
}

/// Paper trading with a broker bridge behind the gateway instead of the simulated broker:
/// the same command, `--broker gateway`. Every order reaches the bridge once, its fills are
/// booked, and killed between two days the run reconciles with the bridge (the broker is the
/// truth, the differences are journaled) and goes on without sending an order twice.
#[test]
fn paper_trading_through_the_gateway_sends_each_order_once_and_reconciles_after_a_kill() {
    let Some(py) = bridge_python() else { return };
    let redis = std::env::var("JANUS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    if redis::Client::open(redis.as_str()).and_then(|c| c.get_connection()).is_err() {
        skip(&format!("Redis at {redis} is unavailable"));
        return;
    }
    let m = market();
    m.publish();
    // The bridge fills market orders at a price table: the last close of the history.
    let history = std::fs::read_to_string(m.path().join("history.csv")).unwrap();
    let mut last: BTreeMap<String, String> = BTreeMap::new();
    for line in history.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        last.insert(f[1].to_string(), f[5].to_string());
    }
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let account = format!("paper-test-{}-{nanos}", std::process::id());
    let log = m.path().join("bridge.jsonl");
    let mut bridge = Command::new(&py);
    bridge.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../bridge/reference_bridge.py"));
    bridge.args(["--redis-url", &redis, "--account", &account, "--cash", "1000000", "--heartbeat", "0.2", "--log"]);
    bridge.arg(&log);
    for (symbol, close) in &last {
        bridge.args(["--price", &format!("{symbol}={close}")]);
    }
    let mut child = bridge.stdout(std::process::Stdio::null()).spawn().expect("the bridge starts");
    std::thread::sleep(std::time::Duration::from_millis(1500));

    let args =
        ["paper", "-q", "--config", "paper.toml", "--store", "sqlite:gw.db", "--run-id", "g", "--broker", "gateway"];
    let gw = ["--gateway", redis.as_str(), "--account", account.as_str()];
    let killed = janus(&[&args[..], &gw[..]].concat(), m.path(), &[("JANUS_KILL_AT", "committed:10")]);
    let again = janus(&[&args[..], &gw[..]].concat(), m.path(), &[]);
    // The bridge reads its stream on its own time: let it take the last evening's orders.
    let orders_sent = |journal: &[janus_core::JournalEvent]| {
        journal.iter().filter(|e| matches!(e.event, Event::Submitted(_))).count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while std::time::Instant::now() < deadline {
        let created =
            std::fs::read_to_string(&log).unwrap_or_default().lines().filter(|l| l.contains("\"created\"")).count();
        if again.status.success() && created >= orders_sent(&m.load("gw.db", "g").1) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let _ = child.kill();
    let _ = child.wait();
    if let Ok(mut c) = redis::Client::open(redis.as_str()).and_then(|c| c.get_connection()) {
        let _: Result<(), _> = redis::cmd("DEL")
            .arg(format!("janus:gw:{account}:out"))
            .arg(format!("janus:gw:{account}:in"))
            .query(&mut c);
    }
    assert!(!killed.status.success(), "the first run was killed");
    assert!(again.status.success(), "restart: {}", text(&again.stderr));

    let (record, journal) = m.load("gw.db", "g");
    assert!(record.executions.len() > 10, "fills were booked: {}", record.executions.len());
    let sent: Vec<u64> = journal
        .iter()
        .filter_map(|e| match &e.event {
            Event::Submitted(o) => Some(o.id.0),
            _ => None,
        })
        .collect();
    let log = std::fs::read_to_string(&log).unwrap();
    let mut created: BTreeMap<String, usize> = BTreeMap::new();
    for line in log.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["event"] == "created" {
            *created.entry(v["client_order_id"].as_str().unwrap().to_string()).or_default() += 1;
        }
    }
    assert!(created.values().all(|&n| n == 1), "the bridge created an order twice: {created:?}");
    for id in &sent {
        assert_eq!(created.get(&id.to_string()), Some(&1), "order {id} reached the bridge once");
    }
    assert!(
        journal.iter().any(
            |e| matches!(&e.event, Event::Reconciliation { detail } if detail.contains("reconciled with the broker"))
        ),
        "the restart reconciled with the bridge and journaled what differed"
    );
}
