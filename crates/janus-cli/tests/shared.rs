//! One account shared by several `janus` processes through a real Redis: eight instances
//! firing random intents at once never break the cash, the cap or the position limit (every
//! step checked from the journal); an instance killed between its reservation and handing the
//! order over frees the cash when the reservation expires; a gateway paused past its lease is
//! refused when it wakes up; Redis restarted empty is rebuilt from the SQL journal and the
//! broker.

mod common;

use common::*;
use janus_core::{Event, RiskReason};
use janus_shared::gateway::{load_journal, LEDGER_INSTANCE};
use janus_shared::{LedgerModel, SharedConfig, SharedLedger};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A small market and tight limits, so that every limit binds.
fn setup(redis: &str, name: &str) -> Option<(tempfile::TempDir, SharedConfig, SharedLedger)> {
    let cfg = SharedConfig::new(redis, &unique(name));
    let ledger = match SharedLedger::connect(&cfg) {
        Ok(l) => l,
        Err(e) => {
            skip(&format!("Redis at {redis}: {e}"));
            return None;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let toml = "initial_cash = 1000000.0\n[data]\nsymbols = 60\ndays = 40\n[risk]\nmax_positions = 6\n";
    std::fs::write(dir.path().join("shared.toml"), toml).unwrap();
    Some((dir, cfg, ledger))
}

fn gateway(dir: &Path, cfg: &SharedConfig, store: &str, extra: &[&str]) -> Child {
    janus()
        .args(["shared", "gateway", "--config", "shared.toml", "--redis", &cfg.url, "--account", &cfg.account])
        .args(["--store", store])
        .args(extra)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn fire(dir: &Path, cfg: &SharedConfig, instance: &str, extra: &[&str], env: &[(&str, &str)]) -> Child {
    let mut c = janus();
    c.args(["shared", "fire", "--redis", &cfg.url, "--account", &cfg.account, "--instance", instance, "--quiet"])
        .args(extra)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    c.spawn().unwrap()
}

fn finished(child: Child, what: &str) -> Output {
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{what} failed: {}\n{}", text(&out.stdout), text(&out.stderr));
    out
}

fn wait_for_ledger(l: &mut SharedLedger) {
    let until = Instant::now() + Duration::from_secs(60);
    while l.open_date().ok().flatten().is_none() {
        assert!(Instant::now() < until, "no gateway set the ledger up");
        std::thread::sleep(Duration::from_millis(50));
        let _ = l.reconnect();
    }
}

/// The journal in the store holds the audit stream in Redis up to the gateway's last copy
/// (instances may still have acted after the gateway stopped), and both replay with every
/// step checked.
fn replay_both(l: &mut SharedLedger, store: &str, run_id: &str) -> LedgerModel {
    let audit = l.audit_all().unwrap();
    let model = LedgerModel::replay(&audit).unwrap_or_else(|e| panic!("audit: {e}"));
    let store = janus_store::open_store(store).unwrap();
    let journal = load_journal(store.as_ref(), run_id).unwrap();
    LedgerModel::replay(&journal).unwrap_or_else(|e| panic!("journal: {e}"));
    let copied: Vec<_> = journal.iter().map(|e| (e.seq, e.kind.clone(), e.fields.clone())).collect();
    let last = copied.last().map_or(0, |c| c.0);
    let from_audit: Vec<_> = audit.into_iter().map(|e| (e.seq, e.kind, e.fields)).take_while(|e| e.0 <= last).collect();
    assert!(!from_audit.is_empty(), "nothing was journaled");
    assert_eq!(&copied[copied.len() - from_audit.len()..], &from_audit[..], "the journal holds the audit");
    model
}

#[test]
fn eight_instances_at_once_never_break_cash_cap_or_positions() {
    let Some((dir, cfg, mut l)) = setup(&redis_base(), "eight") else { return };
    let store = format!("sqlite:{}", dir.path().join("shared.db").display());
    let gw = gateway(dir.path(), &cfg, &store, &["--days", "8", "--day-ms", "500"]);
    wait_for_ledger(&mut l);
    let instances: Vec<Child> = (1..=8)
        .map(|k| {
            let seed = k.to_string();
            let args =
                ["--intents", "300", "--seed", &seed, "--spread-ms", "3000", "--buy-share", "0.6", "--max-lots", "40"];
            fire(dir.path(), &cfg, &format!("i{k}"), &args, &[])
        })
        .collect();
    for (k, c) in instances.into_iter().enumerate() {
        finished(c, &format!("instance {}", k + 1));
    }
    let out = finished(gw, "gateway");
    assert!(text(&out.stdout).contains("ledger matches the broker"), "{}", text(&out.stdout));

    let model = replay_both(&mut l, &store, &format!("shared-{}", cfg.account));
    let t = &model.tally;
    assert_eq!(t.instances.len(), 8, "{:?}", t.instances);
    assert!(t.reserved >= 20 && t.fills >= 10, "{t:?}");
    for reason in [RiskReason::MaxPositions, RiskReason::Concentration] {
        assert!(t.refused.get(&reason).copied().unwrap_or(0) > 0, "no {reason:?} refusal: {t:?}");
    }
    assert!(t.max_symbols <= 6 && t.max_share_bp <= 2_000, "{t:?}");
    assert!(model.state.cash.0 >= 0);
    // The command-line check says the same.
    let check = janus()
        .args(["shared", "check", "--redis", &cfg.url, "--account", &cfg.account, "--store", &store])
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", text(&check.stderr));
    assert!(text(&check.stdout).contains("every step checks out"));
    l.wipe().unwrap();
}

#[test]
fn an_instance_killed_after_reserving_frees_its_cash_when_the_reservation_expires() {
    let Some((dir, cfg, mut l)) = setup(&redis_base(), "killed") else { return };
    let store = format!("sqlite:{}", dir.path().join("shared.db").display());
    let gw = gateway(dir.path(), &cfg, &store, &["--days", "2", "--day-ms", "2500"]);
    wait_for_ledger(&mut l);
    let args = ["--intents", "50", "--max-lots", "3", "--reservation-ttl-ms", "1000"];
    let dead = fire(dir.path(), &cfg, "dead", &args, &[("JANUS_KILL_AT", "reserved:1")]).wait_with_output().unwrap();
    assert!(!dead.status.success(), "the instance was to be killed");
    let killed_at = Instant::now();
    let (_, frozen) = l.cash().unwrap();
    assert!(frozen.0 > 0, "the dead instance's reservation holds cash");
    // Nothing reached the gateway, and the cash is back once the reservation expired.
    std::thread::sleep(Duration::from_millis(1300).saturating_sub(killed_at.elapsed()));
    let until = Instant::now() + Duration::from_secs(2);
    while l.cash().unwrap().1 .0 != 0 {
        assert!(Instant::now() < until, "the reservation never expired");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(killed_at.elapsed() >= Duration::from_millis(900), "freed before the reservation expired");
    finished(gw, "gateway");
    let model = replay_both(&mut l, &store, &format!("shared-{}", cfg.account));
    assert_eq!((model.tally.reserved, model.tally.expired, model.tally.committed), (1, 1, 0), "{:?}", model.tally);
    let audit = l.audit_all().unwrap();
    let expired = audit.iter().find(|e| e.kind == "expired").unwrap();
    assert_eq!(expired.instance(), Some("dead"));
    l.wipe().unwrap();
}

#[cfg(unix)]
#[test]
fn a_gateway_paused_past_its_lease_is_refused_and_stops() {
    let Some((dir, cfg, mut l)) = setup(&redis_base(), "stale") else { return };
    let store = format!("sqlite:{}", dir.path().join("shared.db").display());
    let old = gateway(
        dir.path(),
        &cfg,
        &store,
        &["--days", "30", "--day-ms", "300", "--lease-ttl-ms", "800", "--owner", "old"],
    );
    wait_for_ledger(&mut l);
    let pid = old.id().to_string();
    assert!(Command::new("kill").args(["-STOP", &pid]).status().unwrap().success());
    std::thread::sleep(Duration::from_millis(1200));
    // A second gateway takes the lapsed lease and trades.
    let instance = fire(dir.path(), &cfg, "a", &["--intents", "40", "--spread-ms", "800"], &[]);
    let new = gateway(dir.path(), &cfg, &store, &["--days", "8", "--day-ms", "300", "--owner", "new"]);
    let lease = cfg.key("lease");
    let mut redis = redis::Client::open(cfg.url.as_str()).unwrap().get_connection().unwrap();
    let until = Instant::now() + Duration::from_secs(30);
    while redis::cmd("GET").arg(&lease).query::<Option<String>>(&mut redis).unwrap().as_deref() != Some("new") {
        assert!(Instant::now() < until, "the new gateway never took the lease");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The old one wakes up believing it owns the account: the ledger refuses it and it stops.
    assert!(Command::new("kill").args(["-CONT", &pid]).status().unwrap().success());
    let old = old.wait_with_output().unwrap();
    assert!(!old.status.success(), "the stale gateway went on: {}", text(&old.stdout));
    assert!(text(&old.stderr).contains("stale gateway"), "{}", text(&old.stderr));
    finished(instance, "instance");
    let new = finished(new, "new gateway");
    assert!(text(&new.stderr).contains("fencing token 2"), "{}", text(&new.stderr));
    assert!(text(&new.stdout).contains("ledger matches the broker"), "{}", text(&new.stdout));
    // Nothing the old gateway did after losing the lease is in the audit (fences only grow).
    let audit = l.audit_all().unwrap();
    let model = LedgerModel::replay(&audit).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(model.state.fence, 2);
    l.wipe().unwrap();
}

#[cfg(unix)]
#[test]
fn redis_restarted_empty_is_rebuilt_from_the_sql_journal_and_the_broker() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let start_redis = || {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn();
        let until = Instant::now() + Duration::from_secs(20);
        while child.is_ok() && std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < until, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(30));
        }
        child
    };
    let mut redis = match start_redis() {
        Ok(c) => c,
        Err(e) => return skip(&format!("redis-server: {e}")),
    };
    let url = format!("redis://127.0.0.1:{port}/");
    let Some((dir, cfg, mut l)) = setup(&url, "rebuild") else { return };
    let store = format!("{}?schema={}", postgres_base(), unique("rebuild"));
    if let Err(e) = janus_store::open_store(&store) {
        let _ = redis.kill();
        let _ = redis.wait();
        return skip(&format!("PostgreSQL: {e}"));
    }
    let gw = gateway(dir.path(), &cfg, &store, &["--days", "12", "--day-ms", "400", "--redis-wait-secs", "20"]);
    wait_for_ledger(&mut l);
    let before: Vec<Child> = (1..=3)
        .map(|k| {
            fire(
                dir.path(),
                &cfg,
                &format!("b{k}"),
                &["--intents", "60", "--seed", &k.to_string(), "--spread-ms", "1500"],
                &[],
            )
        })
        .collect();
    for c in before {
        finished(c, "instance before the restart");
    }
    redis.kill().unwrap();
    redis.wait().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut redis = start_redis().unwrap();
    l.reconnect().unwrap();
    wait_for_ledger(&mut l);
    let after: Vec<Child> = (1..=2)
        .map(|k| {
            fire(
                dir.path(),
                &cfg,
                &format!("a{k}"),
                &["--intents", "60", "--seed", &(10 + k).to_string(), "--spread-ms", "1200"],
                &[],
            )
        })
        .collect();
    for c in after {
        finished(c, "instance after the restart");
    }
    let out = finished(gw, "gateway");
    assert!(text(&out.stderr).contains("ledger rebuilt from the journal and the broker"), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("ledger matches the broker"), "{}", text(&out.stdout));

    // The journal holds both lives of the ledger and replays across the rebuild.
    let s = janus_store::open_store(&store).unwrap();
    let run_id = format!("shared-{}", cfg.account);
    let journal = load_journal(s.as_ref(), &run_id).unwrap();
    assert_eq!(journal.iter().filter(|e| e.kind == "seed").count(), 2);
    let model = LedgerModel::replay(&journal).unwrap_or_else(|e| panic!("{e}"));
    assert!(model.tally.instances.contains_key("b1") && model.tally.instances.contains_key("a1"), "{:?}", model.tally);
    let notes = s.load_events(&run_id, &format!("{LEDGER_INSTANCE}-reconcile-2"), 0).unwrap();
    assert!(
        notes
            .iter()
            .any(|e| matches!(&e.event, Event::Reconciliation { detail } if detail.starts_with("ledger rebuilt from"))),
        "{notes:?}"
    );
    let _ = janus_store::drop_namespace(&store);
    let _ = redis.kill();
    let _ = redis.wait();
}

/// Two strategy instances, each with its own models and budget, trade one account: the ledger
/// admits their orders, the gateway trades them, every fill lands in the right instance's run.
#[test]
fn two_strategy_instances_trade_one_account() {
    let Some((dir, cfg, mut l)) = setup(&redis_base(), "strategies") else { return };
    let market = "[data]\nsymbols = 60\ndays = 60\n[backtest]\nstart = \"2021-02-22\"\n";
    std::fs::write(
        dir.path().join("shared.toml"),
        format!("initial_cash = 1000000.0\n[risk]\nmax_positions = 6\n{market}"),
    )
    .unwrap();
    // Each instance holds at most four names (a quarter of its budget each), the account six:
    // they compete for the account's places (refusals), yet whichever is slower still gets
    // two, whatever the order they reach the ledger in on a loaded machine.
    let own = "[risk]\nmax_positions = 4\nmax_position_pct = 0.3\n";
    std::fs::write(dir.path().join("mom.toml"), format!("initial_cash = 600000.0\n{own}{market}")).unwrap();
    std::fs::write(
        dir.path().join("rev.toml"),
        format!("initial_cash = 400000.0\n{own}{market}[strategy.buy]\nkind = \"reversal\"\n"),
    )
    .unwrap();
    let instance = |name: &str| {
        janus()
            .args(["shared", "instance", "--redis", &cfg.url, "--account", &cfg.account, "--instance", name])
            .args([
                "--config",
                &format!("{name}.toml"),
                "--store",
                &format!("sqlite:{name}.db"),
                "--idle-exit-secs",
                "5",
            ])
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (mom, rev) = (instance("mom"), instance("rev"));
    let store = format!("sqlite:{}", dir.path().join("shared.db").display());
    let gw = gateway(dir.path(), &cfg, &store, &["--days", "12", "--day-ms", "150"]);
    let out = finished(gw, "gateway");
    assert!(text(&out.stdout).contains("ledger matches the broker"), "{}", text(&out.stdout));
    let logs = [finished(mom, "instance mom"), finished(rev, "instance rev")]
        .map(|o| format!("{}{}", text(&o.stdout), text(&o.stderr)));

    let model = replay_both(&mut l, &store, &format!("shared-{}", cfg.account));
    let t = &model.tally;
    assert!(t.instances.contains_key("mom") && t.instances.contains_key("rev"), "{t:?}\n{}\n{}", logs[0], logs[1]);
    assert!(t.fills > 0 && t.refused.get(&RiskReason::MaxPositions).copied().unwrap_or(0) > 0, "{t:?}");
    // Each instance's run holds exactly its own book of the account.
    let (cash, frozen) = l.cash().unwrap();
    let mut flows = 0;
    for name in ["mom", "rev"] {
        let s =
            janus_store::open_store(&format!("sqlite:{}", dir.path().join(format!("{name}.db")).display())).unwrap();
        let record = s.load_run(&format!("shared-{}-{name}", cfg.account)).unwrap();
        let last = record.account_snapshots.last().unwrap().date;
        let held: std::collections::BTreeMap<String, i64> =
            record.position_snapshots.iter().filter(|p| p.date == last).map(|p| (p.symbol.clone(), p.amount)).collect();
        let book = l.book(name).unwrap();
        assert_eq!(held, book.shares, "{name}");
        let log = &logs[usize::from(name == "rev")];
        assert!(!record.executions.is_empty(), "{name} traded nothing: {t:?}\n{log}");
        flows += book.cash_flow.0;
    }
    assert_eq!(cash.0 + frozen.0, 1_000_000 * 10_000 + flows, "the account's cash moved by the instances' fills only");
    l.wipe().unwrap();
}
