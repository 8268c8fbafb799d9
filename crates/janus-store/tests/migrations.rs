//! Schema upgrades in place: a SQLite file or PostgreSQL schema written by a Janus that knew only
//! schema v1 (no `corporate_actions` table) or v2 (no journal) is migrated when opened, keeps its
//! runs, and then stores corporate actions, journal events and checkpoints like a new one. The
//! old store is built here with the client crates directly, from the migration files themselves.

mod common;

use chrono::NaiveDate;
use janus_core::{Checkpoint, CorporateActionLog, DayBatch, Event, JournalEvent, Money, Price, RunStatus};
use janus_store::open_store;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn action() -> CorporateActionLog {
    CorporateActionLog {
        date: d("2024-01-04"),
        symbol: "600000.SH".into(),
        shares_before: 1_000,
        bonus_shares: 1_000,
        rights_shares: 0,
        rights_paid: Money(0),
        dividend: Money(5_000_000),
        dividend_tax: Money(1_000_000),
        reference_price: Price(100_000),
    }
}

/// The run `old` of an old store (one committed day) reads back whole, then takes a day with a
/// corporate action, journal events and a checkpoint, and an event appended after it.
fn an_old_run_reads_back_and_then_stores_new_records(url: &str) {
    let mut store = open_store(url).unwrap();
    let old = store.load_run("old").unwrap();
    assert_eq!((old.account_snapshots.len(), old.last_day_index), (1, Some(0)));
    assert!(old.corporate_actions.is_empty());
    assert_eq!(store.load_events("old", "main", 0).unwrap(), vec![]);
    assert_eq!(store.load_checkpoint("old", "main").unwrap(), None);
    let event = |seq: u64| JournalEvent {
        instance: "main".into(),
        seq,
        date: d("2024-01-04"),
        event: Event::Reconciliation { detail: format!("event {seq}") },
    };
    let checkpoint = Checkpoint { instance: "main".into(), day_index: 1, seq: 1, state: "{}".into() };
    let day = DayBatch {
        day_index: 1,
        corporate_actions: vec![action()],
        events: vec![event(1)],
        checkpoint: Some(checkpoint.clone()),
        ..DayBatch::default()
    };
    store.commit_day("old", &day).unwrap();
    store.append_events("old", &[event(2)]).unwrap();
    store.finish_run("old", RunStatus::Finished).unwrap();
    drop(store);
    let store = open_store(url).unwrap();
    let again = store.load_run("old").unwrap();
    assert_eq!((again.corporate_actions, again.last_day_index), (vec![action()], Some(1)));
    assert_eq!(store.load_events("old", "main", 0).unwrap(), vec![event(1), event(2)]);
    assert_eq!(store.load_checkpoint("old", "main").unwrap(), Some(checkpoint));
}

/// The migrations of the old versions, in order.
const SQLITE: [&str; 2] = [
    include_str!("../migrations/sqlite_0001_initial.sql"),
    include_str!("../migrations/sqlite_0002_corporate_actions.sql"),
];
const POSTGRES: [&str; 2] = [
    include_str!("../migrations/postgres_0001_initial.sql"),
    include_str!("../migrations/postgres_0002_corporate_actions.sql"),
];

/// Rows of a run as a v1 Janus wrote them (the same SQL on both databases).
const OLD_RUN: &str = "INSERT INTO runs (run_id, seq, started_at, config, data_source, status, last_day_index)
     VALUES ('old', 1, '2024-01-01T00:00:00Z', '', 'test', 'failed', 0);
     INSERT INTO account_snapshots (run_id, day_index, date, total_value, cash, frozen_cash, market_value,
     peak_value, drawdown) VALUES ('old', 0, '2024-01-02', 1000000000, 1000000000, 0, 0, 1000000000, 0);";

/// A SQLite file at schema `version`, holding the run `old`, is brought to the latest
/// version on its first open, each migration applied once.
#[cfg(feature = "sqlite")]
fn an_old_sqlite_file_is_migrated_in_place(version: usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let versions = || -> Vec<i64> {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let mut stmt = conn.prepare("SELECT version FROM schema_migrations ORDER BY version").unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    };
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
            .unwrap();
        for (v, sql) in SQLITE[..version].iter().enumerate() {
            conn.execute_batch(sql).unwrap();
            conn.execute("INSERT INTO schema_migrations VALUES (?1, '2024-01-01 00:00:00')", [v + 1]).unwrap();
        }
        conn.execute_batch(OLD_RUN).unwrap();
    }
    assert_eq!(versions(), (1..=version as i64).collect::<Vec<_>>());
    an_old_run_reads_back_and_then_stores_new_records(&format!("sqlite:{}", path.display()));
    assert_eq!(versions(), [1, 2, 3], "the newer migrations applied once, on the first open");
}

#[cfg(feature = "sqlite")]
#[test]
fn a_v1_sqlite_file_is_migrated_in_place_and_keeps_its_runs() {
    an_old_sqlite_file_is_migrated_in_place(1);
}

#[cfg(feature = "sqlite")]
#[test]
fn a_v2_sqlite_file_gains_the_journal_in_place_and_keeps_its_runs() {
    an_old_sqlite_file_is_migrated_in_place(2);
}

/// A PostgreSQL schema at `version`, holding the run `old`, likewise.
#[cfg(feature = "postgres")]
fn an_old_postgres_schema_is_migrated_in_place(version: usize) {
    let schema = common::unique(&format!("v{version}"));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let connected = rt.block_on(tokio_postgres::connect(&common::postgres_base(), tokio_postgres::NoTls));
    let (client, connection) = match connected {
        Ok(c) => c,
        Err(e) => return common::unavailable("Postgres", &e),
    };
    let task = rt.spawn(async move {
        let _ = connection.await;
    });
    let url = common::with_param(&common::postgres_base(), "schema", &schema);
    let versions = || -> Vec<i64> {
        let sql = format!("SELECT version FROM \"{schema}\".schema_migrations ORDER BY version");
        rt.block_on(client.query(&sql, &[])).unwrap().iter().map(|r| r.get(0)).collect()
    };
    let mut setup = format!(
        "CREATE SCHEMA \"{schema}\"; SET search_path TO \"{schema}\";
         CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL);"
    );
    for (v, sql) in POSTGRES[..version].iter().enumerate() {
        setup.push_str(&format!("{sql}\nINSERT INTO schema_migrations VALUES ({}, now());\n", v + 1));
    }
    setup.push_str(OLD_RUN);
    rt.block_on(client.batch_execute(&setup)).unwrap();
    assert_eq!(versions(), (1..=version as i64).collect::<Vec<_>>());
    let upgraded = std::panic::catch_unwind(|| an_old_run_reads_back_and_then_stores_new_records(&url));
    let after = versions();
    let _ = janus_store::drop_namespace(&url);
    drop(client);
    task.abort();
    if let Err(panic) = upgraded {
        std::panic::resume_unwind(panic);
    }
    assert_eq!(after, [1, 2, 3], "the newer migrations applied once, on the first open");
}

#[cfg(feature = "postgres")]
#[test]
fn a_v1_postgres_schema_is_migrated_in_place_and_keeps_its_runs() {
    an_old_postgres_schema_is_migrated_in_place(1);
}

#[cfg(feature = "postgres")]
#[test]
fn a_v2_postgres_schema_gains_the_journal_in_place_and_keeps_its_runs() {
    an_old_postgres_schema_is_migrated_in_place(2);
}
