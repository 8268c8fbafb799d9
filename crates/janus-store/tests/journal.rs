//! The journal and checkpoints, on every backend: every event kind round-trips exactly,
//! appends are idempotent per sequence number, events committed with days and appended between
//! them read back in order, the checkpoint is replaced by the next day's, and deleting a run
//! removes both. A failed commit leaves none of its events. (What a resume reads at
//! day 10,000 against day 10 is timed by the `resume_cost` example.)

mod common;

use chrono::NaiveDate;
use common::{Fixture, Kind};
use janus_core::{
    AccountSnapshot, Checkpoint, CorporateActionLog, DayBatch, Event, ExecReport, Fill, JournalEvent, Money, Order,
    OrderId, OrderType, Price, ReportKind, RiskEvent, RiskReason, RunMeta, RunStatus, Side, StoreError,
};
use janus_store::StoreOptions;

const KINDS: [Kind; 4] = [Kind::Memory, Kind::Sqlite, Kind::Postgres, Kind::Redis];

fn meta(id: &str) -> RunMeta {
    RunMeta { run_id: id.into(), config: String::new(), data_source: "test".into(), status: RunStatus::Running }
}

fn date(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Days::new(day as u64)
}

/// One event of every kind, with awkward text and extreme numbers.
fn every_kind(day: u32) -> Vec<Event> {
    let mut order = Order::new(
        OrderId(u64::MAX / 3),
        "贵州茅台 'x'|y\n".into(),
        Side::Sell,
        OrderType::Limit(Price(i64::MAX - 7)),
        1_000,
        date(day),
    );
    order.tag = "stop_loss \"q\" | pipe".into();
    order.frozen_cash = Money(i64::MIN + 1);
    let fill = Fill {
        trade_id: "T-1|2".into(),
        qty: 300,
        price: Price(123_456),
        commission: Money(50_000),
        taxes: Money(-1),
        reference: Price(123_400),
    };
    vec![
        Event::Submitted(order.clone()),
        Event::CancelRequested { order_id: OrderId(7) },
        Event::Report(ExecReport { order_id: OrderId(7), date: date(day), kind: ReportKind::Accepted }),
        Event::Report(ExecReport {
            order_id: OrderId(7),
            date: date(day),
            kind: ReportKind::PartiallyFilled(fill.clone()),
        }),
        Event::Report(ExecReport { order_id: OrderId(7), date: date(day), kind: ReportKind::Filled(fill) }),
        Event::Report(ExecReport {
            order_id: OrderId(8),
            date: date(day),
            kind: ReportKind::Rejected { reason: Some(RiskReason::InsufficientCash), detail: "没钱".into() },
        }),
        Event::Report(ExecReport { order_id: OrderId(8), date: date(day), kind: ReportKind::Canceled }),
        Event::Report(ExecReport {
            order_id: OrderId(8),
            date: date(day),
            kind: ReportKind::CancelRejected { detail: "too late".into() },
        }),
        Event::Report(ExecReport {
            order_id: OrderId(9),
            date: date(day),
            kind: ReportKind::Expired { reason: None, detail: String::new() },
        }),
        Event::Report(ExecReport {
            order_id: OrderId(9),
            date: date(day),
            kind: ReportKind::Held { reason: RiskReason::MarketSuspended, detail: "halted".into() },
        }),
        Event::Risk(RiskEvent {
            date: date(day),
            symbol: "600000.SH".into(),
            order_id: OrderId(10),
            side: Side::Buy,
            reason: RiskReason::Concentration,
            detail: "cap".into(),
        }),
        Event::CorporateAction(CorporateActionLog {
            date: date(day),
            symbol: "000001.SZ".into(),
            shares_before: 1_000,
            bonus_shares: 1_000,
            rights_shares: 0,
            rights_paid: Money::ZERO,
            dividend: Money(5_000_000),
            dividend_tax: Money(1_000_000),
            reference_price: Price(51_000),
        }),
        Event::Reconciliation { detail: "broker had 100 more shares of 600000.SH".into() },
    ]
}

fn events(instance: &str, first_seq: u64, day: u32, kinds: Vec<Event>) -> Vec<JournalEvent> {
    kinds
        .into_iter()
        .enumerate()
        .map(|(i, event)| JournalEvent { instance: instance.into(), seq: first_seq + i as u64, date: date(day), event })
        .collect()
}

fn day(index: u32, events: Vec<JournalEvent>, checkpoint: Option<Checkpoint>) -> DayBatch {
    DayBatch {
        day_index: index,
        account: Some(AccountSnapshot {
            date: date(index),
            total_value: Money(1),
            cash: Money(1),
            frozen_cash: Money::ZERO,
            market_value: Money::ZERO,
            peak_value: Money(1),
            drawdown: 0.0,
        }),
        events,
        checkpoint,
        ..DayBatch::default()
    }
}

fn checkpoint(instance: &str, day_index: u32, seq: u64) -> Checkpoint {
    Checkpoint { instance: instance.into(), day_index, seq, state: format!("{{\"day\":{day_index},\"text\":\"a|b\"}}") }
}

#[test]
fn every_event_kind_round_trips_on_every_backend() {
    for kind in KINDS {
        let Some(mut f) = Fixture::open(kind, "journal-kinds") else { continue };
        let s = f.store.as_mut();
        s.begin_run(&meta("r")).unwrap();
        let all = events("main", 1, 0, every_kind(0));
        s.commit_day("r", &day(0, all.clone(), Some(checkpoint("main", 0, all.len() as u64)))).unwrap();
        s.finish_run("r", RunStatus::Running).unwrap();
        assert_eq!(s.load_events("r", "main", 0).unwrap(), all, "{kind:?}");
        assert_eq!(s.load_checkpoint("r", "main").unwrap(), Some(checkpoint("main", 0, all.len() as u64)), "{kind:?}");
        assert_eq!(s.load_events("r", "other", 0).unwrap(), vec![], "{kind:?}: another instance's journal is empty");
        assert_eq!(s.load_checkpoint("r", "other").unwrap(), None, "{kind:?}");
    }
}

#[test]
fn appends_are_idempotent_and_interleave_with_days_in_sequence() {
    for kind in KINDS {
        let Some(mut f) = Fixture::open(kind, "journal-append") else { continue };
        let s = f.store.as_mut();
        s.begin_run(&meta("r")).unwrap();
        let kinds = every_kind(0);
        let day0 = events("main", 1, 0, kinds[2..5].to_vec());
        s.commit_day("r", &day(0, day0.clone(), Some(checkpoint("main", 0, 3)))).unwrap();
        // Written ahead of day 1, then again after a restart: stored once.
        let ahead = events("main", 4, 1, kinds[..1].to_vec());
        s.append_events("r", &ahead).unwrap();
        s.append_events("r", &ahead).unwrap();
        let day1 = events("main", 5, 1, kinds[5..8].to_vec());
        s.commit_day("r", &day(1, day1.clone(), Some(checkpoint("main", 1, 7)))).unwrap();
        // A second instance of the same run keeps its own stream.
        let other = events("second", 1, 1, kinds[8..10].to_vec());
        s.append_events("r", &other).unwrap();
        s.finish_run("r", RunStatus::Running).unwrap();

        let all: Vec<JournalEvent> = day0.iter().chain(&ahead).chain(&day1).cloned().collect();
        assert_eq!(s.load_events("r", "main", 0).unwrap(), all, "{kind:?}");
        assert_eq!(s.load_events("r", "main", 4).unwrap(), day1, "{kind:?}: after the sequence number only");
        assert_eq!(s.load_events("r", "second", 0).unwrap(), other, "{kind:?}");
        assert_eq!(s.load_checkpoint("r", "main").unwrap(), Some(checkpoint("main", 1, 7)), "{kind:?}: replaced");
        // A retried commit of day 1 adds nothing.
        s.commit_day("r", &day(1, day1.clone(), Some(checkpoint("main", 1, 7)))).unwrap();
        s.finish_run("r", RunStatus::Running).unwrap();
        assert_eq!(s.load_events("r", "main", 0).unwrap().len(), all.len(), "{kind:?}");
    }
}

#[test]
fn deleting_a_run_removes_its_journal_and_checkpoints() {
    for kind in KINDS {
        let Some(mut f) = Fixture::open(kind, "journal-delete") else { continue };
        let s = f.store.as_mut();
        s.begin_run(&meta("r")).unwrap();
        s.commit_day("r", &day(0, events("main", 1, 0, every_kind(0)), Some(checkpoint("main", 0, 13)))).unwrap();
        s.append_events("r", &events("b", 1, 0, every_kind(0))).unwrap();
        s.delete_run("r").unwrap();
        assert!(matches!(s.load_events("r", "main", 0), Err(StoreError::RunNotFound(_))), "{kind:?}");
        assert!(matches!(s.load_checkpoint("r", "main"), Err(StoreError::RunNotFound(_))), "{kind:?}");
        // The same id starts empty.
        s.begin_run(&meta("r")).unwrap();
        s.finish_run("r", RunStatus::Running).unwrap();
        assert_eq!(s.load_events("r", "main", 0).unwrap(), vec![], "{kind:?}");
        assert_eq!(s.load_events("r", "b", 0).unwrap(), vec![], "{kind:?}");
        assert_eq!(s.load_checkpoint("r", "main").unwrap(), None, "{kind:?}");
    }
}

#[test]
fn an_unknown_run_has_no_journal() {
    for kind in KINDS {
        let Some(mut f) = Fixture::open(kind, "journal-unknown") else { continue };
        let s = f.store.as_mut();
        assert!(matches!(s.load_events("nope", "main", 0), Err(StoreError::RunNotFound(_))), "{kind:?}");
        assert!(matches!(s.load_checkpoint("nope", "main"), Err(StoreError::RunNotFound(_))), "{kind:?}");
        assert!(s.append_events("nope", &events("main", 1, 0, every_kind(0))).is_err(), "{kind:?}");
    }
}

/// A flush of three days whose last cannot be stored (its last event's sequence number is
/// beyond what the store holds) fails as a whole, after the first days' rows and events went
/// into the same transaction: no day, no event and no checkpoint of the flush is left behind.
#[test]
fn a_failed_commit_leaves_neither_its_events_nor_its_checkpoint() {
    for kind in [Kind::Sqlite, Kind::Postgres, Kind::Redis] {
        let opts = StoreOptions { retry: std::time::Duration::ZERO, flush_days: 3, ..StoreOptions::default() };
        let Some(mut f) = Fixture::open_with(kind, "journal-atomic", &opts) else { continue };
        f.store.begin_run(&meta("r")).unwrap();
        let kinds = every_kind(0);
        f.store
            .commit_day("r", &day(0, events("main", 1, 0, kinds[..4].to_vec()), Some(checkpoint("main", 0, 4))))
            .unwrap();
        f.store
            .commit_day("r", &day(1, events("main", 5, 1, kinds[4..8].to_vec()), Some(checkpoint("main", 1, 8))))
            .unwrap();
        let mut late = events("main", 9, 2, kinds[8..].to_vec());
        late.last_mut().unwrap().seq = u64::MAX;
        let bad = day(2, late, Some(checkpoint("main", 2, u64::MAX)));
        let err = f.store.commit_day("r", &bad).unwrap_err().to_string();
        assert!(err.contains("sequence number"), "{kind:?}: {err}");
        let reader = f.reopen(&opts);
        assert_eq!(reader.load_events("r", "main", 0).unwrap(), vec![], "{kind:?}");
        assert_eq!(reader.load_checkpoint("r", "main").unwrap(), None, "{kind:?}");
        assert_eq!(reader.load_run("r").unwrap().last_day_index, None, "{kind:?}");
    }
}

/// An order's event written ahead must follow the days before it in the stream: appending
/// commits the buffered days first, so another process sees them all.
#[test]
fn an_append_first_commits_the_days_buffered_before_it() {
    for kind in [Kind::Sqlite, Kind::Postgres, Kind::Redis] {
        let opts = StoreOptions {
            retry: std::time::Duration::ZERO,
            flush_days: 1_000,
            flush_interval: std::time::Duration::from_secs(3_600),
            ..StoreOptions::default()
        };
        let Some(mut f) = Fixture::open_with(kind, "journal-flush", &opts) else { continue };
        f.store.begin_run(&meta("r")).unwrap();
        let kinds = every_kind(0);
        let day0 = events("main", 1, 0, kinds[..3].to_vec());
        f.store.commit_day("r", &day(0, day0.clone(), Some(checkpoint("main", 0, 3)))).unwrap();
        let reader = f.reopen(&opts);
        assert_eq!(reader.load_run("r").unwrap().last_day_index, None, "{kind:?}: the day is still buffered");
        let ahead = events("main", 4, 1, kinds[3..4].to_vec());
        f.store.append_events("r", &ahead).unwrap();
        assert_eq!(reader.load_run("r").unwrap().last_day_index, Some(0), "{kind:?}");
        let all: Vec<JournalEvent> = day0.into_iter().chain(ahead).collect();
        assert_eq!(reader.load_events("r", "main", 0).unwrap(), all, "{kind:?}");
        assert_eq!(reader.load_checkpoint("r", "main").unwrap(), Some(checkpoint("main", 0, 3)), "{kind:?}");
    }
}
