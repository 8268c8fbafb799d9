//! SQLite: the embedded store for persisted runs, one file, no server. WAL journal with
//! `synchronous = NORMAL`: a committed transaction survives the process being killed, and
//! readers see the last committed state while a run writes. Several processes may open one new
//! file at the same moment (a script starting backtests in parallel): each waits its turn for
//! the file's locks (busy timeout), the migrations run inside `BEGIN IMMEDIATE` so only one
//! opener applies them, and the schema is created with `IF NOT EXISTS` so applying it again
//! is harmless.

mod read;

use crate::codec;
use crate::persistent::{days_to_write, Backend, Fault};
use janus_core::{Checkpoint, DayBatch, JournalEvent, RunMeta, RunRecord, RunStatus, RunSummary, StoreError};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::time::Duration;

const NAME: &str = "sqlite";

/// Versioned schema: each migration runs once, in order, recorded in `schema_migrations`.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite_0001_initial.sql")),
    (2, include_str!("../migrations/sqlite_0002_corporate_actions.sql")),
    (3, include_str!("../migrations/sqlite_0003_journal.sql")),
];

/// A SQLite file with the Janus schema.
pub struct SqliteBackend {
    path: PathBuf,
    conn: Connection,
}

/// Another connection holds the lock this one needs.
fn is_busy(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if matches!(f.code, DatabaseBusy | DatabaseLocked))
}

fn fault(e: rusqlite::Error) -> Fault {
    if is_busy(&e) {
        Fault::Transient(e.to_string())
    } else {
        Fault::Fatal(StoreError::Backend { backend: NAME, message: e.to_string() })
    }
}

fn fatal(e: Fault) -> StoreError {
    match e {
        Fault::Fatal(e) => e,
        Fault::Transient(message) => StoreError::Backend { backend: NAME, message },
    }
}

/// The bare message of a fault, for wrapping in a sentence of our own.
fn message(e: Fault) -> String {
    match e {
        Fault::Fatal(StoreError::Backend { message, .. }) | Fault::Transient(message) => message,
        Fault::Fatal(e) => e.to_string(),
    }
}

impl SqliteBackend {
    /// Open (or create) the file and bring its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteBackend, StoreError> {
        let conn = connect(path).map_err(|e| StoreError::Backend {
            backend: NAME,
            message: format!("cannot open the SQLite file {}: {}", path.display(), message(e)),
        })?;
        let mut b = SqliteBackend { path: path.to_path_buf(), conn };
        b.migrate().map_err(fatal)?;
        Ok(b)
    }

    fn migrate(&mut self) -> Result<(), Fault> {
        // The write lock first: a second opener waits here (busy timeout) until the first has
        // committed the whole schema, then finds it up to date.
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(fault)?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
        )
        .map_err(fault)?;
        let current: i64 =
            tx.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| r.get(0)).map_err(fault)?;
        let latest = MIGRATIONS.last().map_or(0, |m| m.0);
        if current > latest {
            return Err(Fault::Fatal(StoreError::Backend {
                backend: NAME,
                message: format!("schema version {current} is newer than this Janus knows ({latest}); upgrade Janus"),
            }));
        }
        for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
            tx.execute_batch(sql).map_err(fault)?;
            tx.execute(
                "INSERT OR IGNORE INTO schema_migrations (version, applied_at) VALUES (?1, datetime('now'))",
                [version],
            )
            .map_err(fault)?;
        }
        tx.commit().map_err(fault)
    }
}

/// How long an opener waits for another connection's lock on the file.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

fn connect(path: &Path) -> Result<Connection, Fault> {
    let conn = Connection::open(path).map_err(fault)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(fault)?;
    // Switching a new file to WAL needs the file to itself, and SQLite answers "locked" at once
    // (without its busy handler) while another opener holds it: wait for that here.
    let started = std::time::Instant::now();
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0)) {
            Ok(_) => break,
            Err(e) if is_busy(&e) && started.elapsed() < BUSY_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(fault(e)),
        }
    }
    conn.pragma_update(None, "synchronous", "NORMAL").map_err(fault)?;
    Ok(conn)
}

/// One instance's events after a sequence number: a range on the primary key, in key order.
const SELECT_EVENTS: &str =
    "SELECT seq, date, payload FROM journal_events WHERE run_id = ?1 AND instance = ?2 AND seq > ?3 ORDER BY seq";

/// One instance's checkpoint: a lookup of the primary key.
const SELECT_CHECKPOINT: &str = "SELECT day_index, seq, state FROM run_checkpoints WHERE run_id = ?1 AND instance = ?2";

/// Insert journal events, skipping those stored already (a retried or repeated append).
fn write_journal(conn: &Connection, run_id: &str, events: &[JournalEvent]) -> Result<(), Fault> {
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO journal_events (run_id, instance, seq, date, kind, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (run_id, instance, seq) DO NOTHING",
        )
        .map_err(fault)?;
    for e in events {
        let seq = codec::seq_to_sql(NAME, "journal sequence number", e.seq)?;
        let payload = codec::event_payload(&e.event);
        insert.execute(params![run_id, e.instance, seq, e.date.to_string(), e.event.kind(), payload]).map_err(fault)?;
    }
    Ok(())
}

/// Replace an instance's checkpoint (one row per run and instance).
fn write_checkpoint(conn: &Connection, run_id: &str, c: &Checkpoint) -> Result<(), Fault> {
    let seq = codec::seq_to_sql(NAME, "checkpoint sequence number", c.seq)?;
    conn.prepare_cached(
        "INSERT INTO run_checkpoints (run_id, instance, day_index, seq, state) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (run_id, instance) DO UPDATE SET
         day_index = excluded.day_index, seq = excluded.seq, state = excluded.state",
    )
    .map_err(fault)?
    .execute(params![run_id, c.instance, c.day_index as i64, seq, c.state])
    .map_err(fault)?;
    Ok(())
}

fn last_day(conn: &Connection, run_id: &str) -> Result<Option<u32>, Fault> {
    let row: Option<Option<i64>> = conn
        .query_row("SELECT last_day_index FROM runs WHERE run_id = ?1", [run_id], |r| r.get(0))
        .optional()
        .map_err(fault)?;
    match row {
        None => Err(Fault::Fatal(StoreError::RunNotFound(run_id.to_string()))),
        Some(l) => l.map(|l| codec::u32_of(NAME, "day index", l)).transpose().map_err(Fault::Fatal),
    }
}

impl Backend for SqliteBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn reconnect(&mut self) -> Result<(), Fault> {
        self.conn = connect(&self.path)?;
        Ok(())
    }

    fn begin_run(&mut self, meta: &RunMeta, started_at: &str) -> Result<(), Fault> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(fault)?;
        let exists: Option<i64> = tx
            .query_row("SELECT 1 FROM runs WHERE run_id = ?1", [&meta.run_id], |r| r.get(0))
            .optional()
            .map_err(fault)?;
        if exists.is_some() {
            return Err(Fault::Fatal(StoreError::RunExists(meta.run_id.clone())));
        }
        tx.execute(
            "INSERT INTO runs (run_id, seq, started_at, config, data_source, status, last_day_index)
             VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM runs), ?2, ?3, ?4, ?5, NULL)",
            params![meta.run_id, started_at, meta.config, meta.data_source, meta.status.as_str()],
        )
        .map_err(fault)?;
        tx.commit().map_err(fault)
    }

    fn write_days(&mut self, run_id: &str, days: &[DayBatch]) -> Result<(), Fault> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(fault)?;
        let last = last_day(&tx, run_id)?;
        let days = days_to_write(NAME, run_id, last, days)?;
        let Some(final_day) = days.last() else { return Ok(()) };
        {
            let mut account = tx
                .prepare_cached(
                    "INSERT INTO account_snapshots (run_id, day_index, date, total_value, cash, frozen_cash,
                     market_value, peak_value, drawdown) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .map_err(fault)?;
            let mut position = tx
                .prepare_cached(
                    "INSERT INTO position_snapshots (run_id, day_index, seq, date, symbol, amount, sellable,
                     avg_price, entry_price, entry_date, high_since_entry, last_price, days_held, market_value,
                     realized_pnl) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                )
                .map_err(fault)?;
            let mut order = tx
                .prepare_cached(
                    "INSERT INTO orders_history (run_id, order_id, day_index, symbol, side, order_type, limit_price,
                     quantity, filled, status, created, updated, filled_notional, commission, taxes, frozen_cash, tag)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
                     ON CONFLICT (run_id, order_id) DO UPDATE SET day_index = excluded.day_index,
                     symbol = excluded.symbol, side = excluded.side, order_type = excluded.order_type,
                     limit_price = excluded.limit_price, quantity = excluded.quantity, filled = excluded.filled,
                     status = excluded.status, created = excluded.created, updated = excluded.updated,
                     filled_notional = excluded.filled_notional, commission = excluded.commission,
                     taxes = excluded.taxes, frozen_cash = excluded.frozen_cash, tag = excluded.tag",
                )
                .map_err(fault)?;
            let mut risk = tx
                .prepare_cached(
                    "INSERT INTO risk_events (run_id, day_index, seq, date, symbol, order_id, side, reason, detail)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .map_err(fault)?;
            let mut exec = tx
                .prepare_cached(
                    "INSERT INTO execution_logs (run_id, day_index, seq, date, order_id, symbol, side, price,
                     quantity, commission, taxes, reference_price, slippage)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )
                .map_err(fault)?;
            let mut corporate = tx
                .prepare_cached(
                    "INSERT INTO corporate_actions (run_id, day_index, seq, date, symbol, shares_before,
                     bonus_shares, rights_shares, rights_paid, dividend, dividend_tax, reference_price)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                )
                .map_err(fault)?;
            for d in days {
                let day = d.day_index as i64;
                if let Some(a) = &d.account {
                    account
                        .execute(params![
                            run_id,
                            day,
                            a.date.to_string(),
                            a.total_value.0,
                            a.cash.0,
                            a.frozen_cash.0,
                            a.market_value.0,
                            a.peak_value.0,
                            a.drawdown
                        ])
                        .map_err(fault)?;
                }
                for (seq, p) in d.positions.iter().enumerate() {
                    position
                        .execute(params![
                            run_id,
                            day,
                            seq as i64,
                            p.date.to_string(),
                            p.symbol,
                            p.amount,
                            p.sellable,
                            p.avg_price.0,
                            p.entry_price.0,
                            p.entry_date.to_string(),
                            p.high_since_entry.0,
                            p.last_price.0,
                            p.days_held as i64,
                            p.market_value.0,
                            p.realized_pnl.0
                        ])
                        .map_err(fault)?;
                }
                for o in &d.orders {
                    let (kind, limit) = codec::order_type_parts(o.order_type);
                    order
                        .execute(params![
                            run_id,
                            o.id.0 as i64,
                            day,
                            o.symbol,
                            o.side.as_str(),
                            kind,
                            limit,
                            o.quantity,
                            o.filled,
                            o.status.as_str(),
                            o.created.to_string(),
                            o.updated.to_string(),
                            o.filled_notional.0,
                            o.commission.0,
                            o.taxes.0,
                            o.frozen_cash.0,
                            o.tag
                        ])
                        .map_err(fault)?;
                }
                for (seq, e) in d.risk_events.iter().enumerate() {
                    risk.execute(params![
                        run_id,
                        day,
                        seq as i64,
                        e.date.to_string(),
                        e.symbol,
                        e.order_id.0 as i64,
                        e.side.as_str(),
                        e.reason.code(),
                        e.detail
                    ])
                    .map_err(fault)?;
                }
                for (seq, x) in d.executions.iter().enumerate() {
                    exec.execute(params![
                        run_id,
                        day,
                        seq as i64,
                        x.date.to_string(),
                        x.order_id.0 as i64,
                        x.symbol,
                        x.side.as_str(),
                        x.price.0,
                        x.quantity,
                        x.commission.0,
                        x.taxes.0,
                        x.reference_price.0,
                        x.slippage.0
                    ])
                    .map_err(fault)?;
                }
                for (seq, c) in d.corporate_actions.iter().enumerate() {
                    corporate
                        .execute(params![
                            run_id,
                            day,
                            seq as i64,
                            c.date.to_string(),
                            c.symbol,
                            c.shares_before,
                            c.bonus_shares,
                            c.rights_shares,
                            c.rights_paid.0,
                            c.dividend.0,
                            c.dividend_tax.0,
                            c.reference_price.0
                        ])
                        .map_err(fault)?;
                }
                write_journal(&tx, run_id, &d.events)?;
                if let Some(c) = &d.checkpoint {
                    write_checkpoint(&tx, run_id, c)?;
                }
            }
            // The active positions are those of the last day written.
            tx.execute("DELETE FROM positions_active WHERE run_id = ?1", [run_id]).map_err(fault)?;
            let mut active = tx
                .prepare_cached(
                    "INSERT INTO positions_active (run_id, symbol, date, amount, sellable, avg_price, entry_price,
                     entry_date, high_since_entry, last_price, days_held, market_value, realized_pnl)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )
                .map_err(fault)?;
            for p in &final_day.positions {
                active
                    .execute(params![
                        run_id,
                        p.symbol,
                        p.date.to_string(),
                        p.amount,
                        p.sellable,
                        p.avg_price.0,
                        p.entry_price.0,
                        p.entry_date.to_string(),
                        p.high_since_entry.0,
                        p.last_price.0,
                        p.days_held as i64,
                        p.market_value.0,
                        p.realized_pnl.0
                    ])
                    .map_err(fault)?;
            }
        }
        tx.execute(
            "UPDATE runs SET last_day_index = ?1 WHERE run_id = ?2",
            params![final_day.day_index as i64, run_id],
        )
        .map_err(fault)?;
        tx.commit().map_err(fault)
    }

    fn set_status(&mut self, run_id: &str, status: RunStatus) -> Result<(), Fault> {
        let n = self
            .conn
            .execute("UPDATE runs SET status = ?1 WHERE run_id = ?2", params![status.as_str(), run_id])
            .map_err(fault)?;
        if n == 0 {
            return Err(Fault::Fatal(StoreError::RunNotFound(run_id.to_string())));
        }
        Ok(())
    }

    fn run_summaries(&mut self) -> Result<Vec<RunSummary>, Fault> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.run_id, r.config, r.data_source, r.status, r.started_at, r.last_day_index,
                 (SELECT COUNT(*) FROM account_snapshots a WHERE a.run_id = r.run_id)
                 FROM runs r ORDER BY r.seq",
            )
            .map_err(fault)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                    r.get::<_, i64>(6)?,
                ))
            })
            .map_err(fault)?;
        let mut out = Vec::new();
        for row in rows {
            let (run_id, config, data_source, status, started_at, last, days) = row.map_err(fault)?;
            out.push(RunSummary {
                meta: RunMeta { run_id, config, data_source, status: codec::run_status(NAME, &status)? },
                started_at: Some(started_at),
                last_day_index: last.map(|l| codec::u32_of(NAME, "day index", l)).transpose()?,
                days: days as usize,
            });
        }
        Ok(out)
    }

    fn load_run(&mut self, run_id: &str) -> Result<RunRecord, Fault> {
        // One read transaction: a consistent snapshot even while another connection commits.
        let tx = self.conn.transaction().map_err(fault)?;
        let record = read::run_record(&tx, run_id)?;
        tx.commit().map_err(fault)?;
        Ok(record)
    }

    fn append_events(&mut self, run_id: &str, events: &[JournalEvent]) -> Result<(), Fault> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(fault)?;
        last_day(&tx, run_id)?;
        write_journal(&tx, run_id, events)?;
        tx.commit().map_err(fault)
    }

    fn load_events(&mut self, run_id: &str, instance: &str, after_seq: u64) -> Result<Vec<JournalEvent>, Fault> {
        // A read transaction: the run's existence and its events from one snapshot.
        let tx = self.conn.transaction().map_err(fault)?;
        last_day(&tx, run_id)?;
        let Ok(after) = i64::try_from(after_seq) else { return Ok(Vec::new()) };
        let mut q = tx.prepare_cached(SELECT_EVENTS).map_err(fault)?;
        let rows = q
            .query_map(params![run_id, instance, after], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
            })
            .map_err(fault)?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, date, payload) = row.map_err(fault)?;
            let (seq, date) = (codec::seq_of(NAME, seq)?, codec::date(NAME, &date)?);
            out.push(codec::journal_event(NAME, instance, seq, date, &payload)?);
        }
        Ok(out)
    }

    fn load_checkpoint(&mut self, run_id: &str, instance: &str) -> Result<Option<Checkpoint>, Fault> {
        let tx = self.conn.transaction().map_err(fault)?;
        last_day(&tx, run_id)?;
        let row = tx
            .query_row(SELECT_CHECKPOINT, params![run_id, instance], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?))
            })
            .optional()
            .map_err(fault)?;
        let Some((day, seq, state)) = row else { return Ok(None) };
        Ok(Some(Checkpoint {
            instance: instance.to_string(),
            day_index: codec::u32_of(NAME, "checkpoint day index", day)?,
            seq: codec::seq_of(NAME, seq)?,
            state,
        }))
    }

    fn delete_run(&mut self, run_id: &str) -> Result<(), Fault> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(fault)?;
        last_day(&tx, run_id)?;
        for table in crate::RUN_TABLES {
            tx.execute(&format!("DELETE FROM {table} WHERE run_id = ?1"), [run_id]).map_err(fault)?;
        }
        tx.execute("DELETE FROM runs WHERE run_id = ?1", [run_id]).map_err(fault)?;
        tx.commit().map_err(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What SQLite plans for a query: one line per step.
    fn plan(conn: &Connection, sql: &str) -> Vec<String> {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let args: [&dyn rusqlite::ToSql; 3] = [&"r", &"main", &0];
        let rows = stmt.query_map(&args[..stmt.parameter_count()], |r| r.get::<_, String>(3)).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }

    /// A resume must cost the same at day 10 and at day 10,000: both lookups search the primary
    /// key (no scan of the run's rows, no sort), so they read only the rows they return.
    #[test]
    fn resume_lookups_search_the_primary_key_and_never_scan_or_sort() {
        let dir = tempfile::tempdir().unwrap();
        let b = SqliteBackend::open(&dir.path().join("plan.db")).unwrap();
        for (sql, table) in [(SELECT_EVENTS, "journal_events"), (SELECT_CHECKPOINT, "run_checkpoints")] {
            let steps = plan(&b.conn, sql);
            assert_eq!(steps.len(), 1, "{table}: {steps:?}");
            assert!(steps[0].starts_with(&format!("SEARCH {table} USING")), "{table}: {steps:?}");
            assert!(steps[0].contains("run_id=? AND instance=?"), "{table}: {steps:?}");
        }
        assert!(plan(&b.conn, SELECT_EVENTS)[0].contains("seq>?"), "the range starts at the sequence number");
    }
}
