//! A reader never sees half a day: while one handle commits days of many rows, another reads
//! the run over and over, and every read holds whole days only, journal events and checkpoints
//! included.

mod common;

use chrono::NaiveDate;
use common::{Fixture, Kind};
use janus_core::{
    AccountSnapshot, Checkpoint, CorporateActionLog, DayBatch, Event, ExecutionLog, JournalEvent, Money, Order,
    OrderId, OrderType, PositionSnapshot, Price, RiskEvent, RiskReason, RunMeta, RunStatus, Side,
};
use janus_store::{open_store, StoreOptions};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const POSITIONS: usize = 40;
const FILLS: usize = 30;
const EVENTS: usize = 10;
const ACTIONS: usize = 8;
/// Journal events a day (the day's checkpoint includes them).
const JOURNAL: u64 = 6;
const DAYS: u32 = 60;

fn day(i: u32) -> DayBatch {
    let date = NaiveDate::from_ymd_opt(2022, 1, 3).unwrap() + chrono::Days::new(i as u64);
    let sym = |k: usize| format!("{:06}.SZ", k);
    DayBatch {
        day_index: i,
        account: Some(AccountSnapshot {
            date,
            total_value: Money(i as i64),
            cash: Money(1),
            frozen_cash: Money(2),
            market_value: Money(3),
            peak_value: Money(4),
            drawdown: 0.5,
        }),
        positions: (0..POSITIONS)
            .map(|k| PositionSnapshot {
                date,
                symbol: sym(k),
                amount: 100,
                sellable: 100,
                avg_price: Price(1),
                entry_price: Price(1),
                entry_date: date,
                high_since_entry: Price(1),
                last_price: Price(1),
                days_held: i,
                market_value: Money(100),
                realized_pnl: Money(0),
            })
            .collect(),
        orders: (0..5)
            .map(|k| {
                Order::new(OrderId((i * 5 + k) as u64 + 1), sym(k as usize), Side::Buy, OrderType::Market, 100, date)
            })
            .collect(),
        risk_events: (0..EVENTS)
            .map(|k| RiskEvent {
                date,
                symbol: sym(k),
                order_id: OrderId(1),
                side: Side::Sell,
                reason: RiskReason::MarketLimitDown,
                detail: "limit-down".into(),
            })
            .collect(),
        executions: (0..FILLS)
            .map(|k| ExecutionLog {
                date,
                order_id: OrderId(1),
                symbol: sym(k),
                side: Side::Buy,
                price: Price(1),
                quantity: 100,
                commission: Money(5),
                taxes: Money(0),
                reference_price: Price(1),
                slippage: Money(0),
            })
            .collect(),
        corporate_actions: (0..ACTIONS)
            .map(|k| CorporateActionLog {
                date,
                symbol: sym(k),
                shares_before: 100,
                bonus_shares: 10,
                rights_shares: 0,
                rights_paid: Money(0),
                dividend: Money(500),
                dividend_tax: Money(100),
                reference_price: Price(1),
            })
            .collect(),
        events: (1..=JOURNAL)
            .map(|k| JournalEvent {
                instance: "main".into(),
                seq: i as u64 * JOURNAL + k,
                date,
                event: Event::Reconciliation { detail: format!("day {i} event {k}") },
            })
            .collect(),
        checkpoint: Some(Checkpoint {
            instance: "main".into(),
            day_index: i,
            seq: (i as u64 + 1) * JOURNAL,
            state: "x".repeat(2_000),
        }),
    }
}

fn a_reader_never_sees_half_a_day(kind: Kind) {
    let opts = StoreOptions { flush_days: 1, ..StoreOptions::default() };
    let Some(mut fx) = Fixture::open_with(kind, "atomic", &opts) else { return };
    let meta =
        RunMeta { run_id: "w".into(), config: String::new(), data_source: "test".into(), status: RunStatus::Running };
    fx.store.begin_run(&meta).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicBool::new(false));
    let reader = {
        let (url, done, started) = (fx.url.clone(), done.clone(), started.clone());
        std::thread::spawn(move || {
            let store = open_store(&url).unwrap();
            let mut reads = 0;
            let mut seen_partial_run = false;
            loop {
                let finished = done.load(Ordering::SeqCst);
                // Checkpoint, then journal, then rows: each read sees at least the days of the one
                // before it, and only whole days of each.
                let checkpoint = store.load_checkpoint("w", "main").unwrap();
                let journal = store.load_events("w", "main", 0).unwrap().len() as u64;
                let r = store.load_run("w").unwrap();
                let days_at_checkpoint = checkpoint.map_or(0, |c| c.day_index as u64 + 1);
                assert_eq!(journal % JOURNAL, 0, "half a day of journal events");
                assert!(journal >= days_at_checkpoint * JOURNAL, "a checkpoint without its day's events");
                assert!(r.account_snapshots.len() as u64 * JOURNAL >= journal, "journal events without their day");
                let n = r.account_snapshots.len();
                assert_eq!(r.position_snapshots.len(), n * POSITIONS, "half a day of positions");
                assert_eq!(r.executions.len(), n * FILLS, "half a day of fills");
                assert_eq!(r.risk_events.len(), n * EVENTS, "half a day of risk events");
                assert_eq!(r.corporate_actions.len(), n * ACTIONS, "half a day of corporate actions");
                assert_eq!(r.orders.len(), n * 5, "half a day of orders");
                assert_eq!(r.last_day_index, n.checked_sub(1).map(|l| l as u32));
                seen_partial_run |= n > 0 && n < DAYS as usize;
                reads += 1;
                started.store(true, Ordering::SeqCst);
                if finished {
                    return (reads, seen_partial_run);
                }
            }
        })
    };
    // The reader has read once before the first day is written: the writes overlap its reads
    // however busy the machine is.
    while !started.load(Ordering::SeqCst) {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    for i in 0..DAYS {
        fx.store.commit_day("w", &day(i)).unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let (reads, partial) = reader.join().unwrap();
    assert!(reads > 1, "{kind:?}: the reader ran");
    eprintln!("{kind:?}: {reads} consistent reads during the writes (a partial run seen: {partial})");
}

#[test]
fn sqlite_readers_never_see_half_a_day() {
    a_reader_never_sees_half_a_day(Kind::Sqlite);
}

#[test]
fn postgres_readers_never_see_half_a_day() {
    a_reader_never_sees_half_a_day(Kind::Postgres);
}

#[test]
fn redis_readers_never_see_half_a_day() {
    a_reader_never_sees_half_a_day(Kind::Redis);
}
