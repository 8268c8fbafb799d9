//! Schema upgrades in place: a SQLite file or PostgreSQL schema written by a Janus that knew only
//! schema v1 (no `corporate_actions` table) is migrated when opened, keeps its runs, and then
//! stores corporate actions like a new one. The v1 store is built here with the client crates
//! directly, from the v1 migration file itself.

mod common;

use chrono::NaiveDate;
use janus_core::{CorporateActionLog, DayBatch, Money, Price, RunStatus};
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

/// The run `old` of a v1 store (one committed day) reads back whole, then takes a day with a
/// corporate action.
fn an_old_run_reads_back_and_then_stores_corporate_actions(url: &str) {
    let mut store = open_store(url).unwrap();
    let old = store.load_run("old").unwrap();
    assert_eq!((old.account_snapshots.len(), old.last_day_index), (1, Some(0)));
    assert!(old.corporate_actions.is_empty());
    let day = DayBatch { day_index: 1, corporate_actions: vec![action()], ..DayBatch::default() };
    store.commit_day("old", &day).unwrap();
    store.finish_run("old", RunStatus::Finished).unwrap();
    drop(store);
    let again = open_store(url).unwrap().load_run("old").unwrap();
    assert_eq!((again.corporate_actions, again.last_day_index), (vec![action()], Some(1)));
}

const SQLITE_V1: &str = include_str!("../migrations/sqlite_0001_initial.sql");
const POSTGRES_V1: &str = include_str!("../migrations/postgres_0001_initial.sql");

/// Rows of a run as a v1 Janus wrote them (the same SQL on both databases).
const OLD_RUN: &str = "INSERT INTO runs (run_id, seq, started_at, config, data_source, status, last_day_index)
     VALUES ('old', 1, '2024-01-01T00:00:00Z', '', 'test', 'failed', 0);
     INSERT INTO account_snapshots (run_id, day_index, date, total_value, cash, frozen_cash, market_value,
     peak_value, drawdown) VALUES ('old', 0, '2024-01-02', 1000000000, 1000000000, 0, 0, 1000000000, 0);";

#[cfg(feature = "sqlite")]
#[test]
fn a_v1_sqlite_file_is_migrated_in_place_and_keeps_its_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    let versions = || -> Vec<i64> {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let mut stmt = conn.prepare("SELECT version FROM schema_migrations ORDER BY version").unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    };
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(SQLITE_V1).unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);
             INSERT INTO schema_migrations VALUES (1, '2024-01-01 00:00:00');",
        )
        .unwrap();
        conn.execute_batch(OLD_RUN).unwrap();
    }
    assert_eq!(versions(), [1]);
    an_old_run_reads_back_and_then_stores_corporate_actions(&format!("sqlite:{}", path.display()));
    assert_eq!(versions(), [1, 2], "v2 applied once, on the first open");
}

#[cfg(feature = "postgres")]
#[test]
fn a_v1_postgres_schema_is_migrated_in_place_and_keeps_its_runs() {
    let schema = common::unique("v1");
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
    rt.block_on(client.batch_execute(&format!(
        "CREATE SCHEMA \"{schema}\"; SET search_path TO \"{schema}\"; {POSTGRES_V1}
         CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL);
         INSERT INTO schema_migrations VALUES (1, now()); {OLD_RUN}"
    )))
    .unwrap();
    assert_eq!(versions(), [1]);
    let upgraded = std::panic::catch_unwind(|| an_old_run_reads_back_and_then_stores_corporate_actions(&url));
    let after = versions();
    let _ = janus_store::drop_namespace(&url);
    drop(client);
    task.abort();
    if let Err(panic) = upgraded {
        std::panic::resume_unwind(panic);
    }
    assert_eq!(after, [1, 2], "v2 applied once, on the first open");
}
