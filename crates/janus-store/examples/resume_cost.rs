//! What resuming costs as a run grows: commits 10,000 trading days to each backend (four
//! journal events and a checkpoint of about 2 KB a day) and times what a resume reads, the
//! latest checkpoint and the events of its day (as if written ahead of it), once at day 10 and
//! once at day 10,000. Both lookups are keyed (a primary key, a sorted-set range), so the two
//! figures should match.
//!
//! ```text
//! cargo run -p janus-store --example resume_cost
//! ```
//!
//! PostgreSQL and Redis are taken from `JANUS_TEST_POSTGRES_URL` and `JANUS_TEST_REDIS_URL`
//! (local defaults); each gets a fresh schema or key prefix, dropped at the end, and a server
//! that does not answer is skipped with a message.

use chrono::NaiveDate;
use janus_core::{
    AccountSnapshot, Checkpoint, DayBatch, Event, ExecReport, Fill, JournalEvent, Money, OrderId, Price, ReportKind,
    RunMeta, RunStatus, Store, StoreError,
};
use janus_store::{drop_namespace, open_store};
use std::time::Instant;

const DAYS: u32 = 10_000;
const EVENTS_PER_DAY: u64 = 4;
/// Lookups timed at each point (the median is printed).
const REPEATS: usize = 21;

fn main() {
    let pid = std::process::id();
    let dir = std::env::temp_dir().join(format!("janus-resume-cost-{pid}"));
    let postgres =
        std::env::var("JANUS_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let redis = std::env::var("JANUS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    let with = |url: &str, key: &str, value: String| {
        format!("{url}{}{key}={value}", if url.contains('?') { '&' } else { '?' })
    };
    let stores = [
        ("memory", "memory".to_string()),
        ("sqlite", format!("sqlite:{}", dir.join("runs.db").display())),
        ("postgres", with(&postgres, "schema", format!("janus_resume_cost_{pid}"))),
        ("redis", with(&redis, "prefix", format!("janus_resume_cost_{pid}"))),
    ];
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {e}", dir.display());
        std::process::exit(1);
    }
    println!("{:<9} {:>14} {:>16} {:>12}", "backend", "day 10 (ms)", "day 10000 (ms)", "write (s)");
    for (name, url) in stores {
        match measure(&url) {
            Ok((early, late, write)) => println!("{name:<9} {early:>14.3} {late:>16.3} {write:>12.1}"),
            Err(e) => println!("{name:<9} skipped: {e}"),
        }
        if let Err(e) = drop_namespace(&url) {
            eprintln!("{name}: could not drop the measurement's namespace: {e}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Milliseconds for checkpoint + events after it at day 10 and at day 10,000 (medians), and
/// the seconds spent writing the days.
fn measure(url: &str) -> Result<(f64, f64, f64), StoreError> {
    let mut store = open_store(url)?;
    let run = "resume-cost";
    store.begin_run(&RunMeta {
        run_id: run.into(),
        config: String::new(),
        data_source: "synthetic".into(),
        status: RunStatus::Running,
    })?;
    let state = format!("{{\"ledger\":\"{}\"}}", "0123456789abcdef".repeat(128));
    let (mut early, mut write) = (0.0, 0.0);
    for d in 0..DAYS {
        let t = Instant::now();
        store.commit_day(run, &day(d, &state))?;
        write += t.elapsed().as_secs_f64();
        if d + 1 == 10 {
            store.flush()?;
            early = resume_ms(store.as_ref(), run)?;
        }
    }
    store.flush()?;
    let late = resume_ms(store.as_ref(), run)?;
    store.finish_run(run, RunStatus::Finished)?;
    Ok((early, late, write))
}

/// The median time of reading what a resume reads.
fn resume_ms(store: &dyn Store, run: &str) -> Result<f64, StoreError> {
    let mut times = Vec::with_capacity(REPEATS);
    for _ in 0..REPEATS {
        let t = Instant::now();
        let cp = store.load_checkpoint(run, "main")?;
        let seq = cp.as_ref().map_or(0, |c| c.seq);
        let after = store.load_events(run, "main", seq.saturating_sub(EVENTS_PER_DAY))?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(cp.is_some() && after.len() as u64 == EVENTS_PER_DAY, "the lookups read one day's worth");
    }
    times.sort_by(f64::total_cmp);
    Ok(times[REPEATS / 2])
}

fn date(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 3).unwrap_or_default() + chrono::Days::new(d as u64)
}

/// One day: an account row, four journal events and the checkpoint after them.
fn day(d: u32, state: &str) -> DayBatch {
    let first = d as u64 * EVENTS_PER_DAY + 1;
    let order_id = OrderId(d as u64 + 1);
    let fill = Fill {
        trade_id: format!("T{d}"),
        qty: 100,
        price: Price(102_300),
        commission: Money(50_000),
        taxes: Money(0),
        reference: Price(102_000),
    };
    let kinds = [
        ReportKind::Accepted,
        ReportKind::PartiallyFilled(fill.clone()),
        ReportKind::Filled(fill),
        ReportKind::Expired { reason: None, detail: String::new() },
    ];
    let events = kinds
        .into_iter()
        .enumerate()
        .map(|(i, kind)| JournalEvent {
            instance: "main".into(),
            seq: first + i as u64,
            date: date(d),
            event: Event::Report(ExecReport { order_id, date: date(d), kind }),
        })
        .collect();
    let cash = Money(1_000_000_000);
    DayBatch {
        day_index: d,
        account: Some(AccountSnapshot {
            date: date(d),
            total_value: cash,
            cash,
            frozen_cash: Money::ZERO,
            market_value: Money::ZERO,
            peak_value: cash,
            drawdown: 0.0,
        }),
        events,
        checkpoint: Some(Checkpoint {
            instance: "main".into(),
            day_index: d,
            seq: first + EVENTS_PER_DAY - 1,
            state: state.to_string(),
        }),
        ..DayBatch::default()
    }
}
