//! Several processes opening one store at the same moment all succeed: the first run of a
//! research script often starts several backtests at once on a fresh `sqlite:runs.db` (or a
//! fresh PostgreSQL schema), and every one of them races to create the tables.

mod common;

use common::{postgres_base, unique, with_param, Kind};
use janus_core::{DayBatch, RunMeta, RunStatus};
use janus_store::{drop_namespace, open_store_with, StoreOptions};
use std::sync::{Arc, Barrier};

const OPENERS: usize = 8;

fn meta(id: &str) -> RunMeta {
    RunMeta { run_id: id.into(), config: String::new(), data_source: "gen".into(), status: RunStatus::Running }
}

/// Open `url` from `OPENERS` threads released together (each with its own connection, as
/// separate processes would have), then have each record a run of its own.
fn openers_race(url: &str) -> Vec<Result<(), String>> {
    let barrier = Arc::new(Barrier::new(OPENERS));
    let handles: Vec<_> = (0..OPENERS)
        .map(|i| {
            let (url, barrier) = (url.to_string(), barrier.clone());
            std::thread::spawn(move || -> Result<(), String> {
                let opts = StoreOptions { retry: std::time::Duration::ZERO, ..StoreOptions::default() };
                barrier.wait();
                let mut store = open_store_with(&url, &opts).map_err(|e| e.to_string())?;
                let id = format!("opener-{i}");
                store.begin_run(&meta(&id)).map_err(|e| e.to_string())?;
                store.commit_day(&id, &DayBatch { day_index: 0, ..DayBatch::default() }).map_err(|e| e.to_string())?;
                store.finish_run(&id, RunStatus::Finished).map_err(|e| e.to_string())
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("opener panicked".into()))).collect()
}

fn every_opener_succeeds_and_every_run_is_recorded(url: &str) {
    let results = openers_race(url);
    let failures: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(failures.is_empty(), "{} of {OPENERS} openers failed: {failures:?}", failures.len());
    let store = open_store_with(url, &StoreOptions::default()).unwrap();
    let mut ids: Vec<_> = store.run_summaries().unwrap().into_iter().map(|s| s.meta.run_id).collect();
    ids.sort();
    let expected: Vec<_> = (0..OPENERS).map(|i| format!("opener-{i}")).collect();
    assert_eq!(ids, expected);
}

#[test]
fn several_openers_of_one_new_sqlite_file_all_succeed() {
    // Several rounds: the race is over in milliseconds and does not lose every time.
    for round in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join(format!("fresh-{round}.db")).display());
        every_opener_succeeds_and_every_run_is_recorded(&url);
    }
}

#[test]
fn several_openers_of_one_new_postgres_schema_all_succeed() {
    let url = with_param(&postgres_base(), "schema", &unique("race"));
    if let Err(e) = open_store_with(&postgres_base(), &StoreOptions::default()) {
        common::unavailable(&format!("{:?}", Kind::Postgres), &e);
        return;
    }
    every_opener_succeeds_and_every_run_is_recorded(&url);
    let _ = drop_namespace(&url);
}
