//! PostgreSQL: runs shared between machines, queried with SQL. Each flush of buffered days is
//! one transaction; rows go in with one `INSERT ... SELECT FROM UNNEST(...)` per table (a
//! handful of round trips per flush, whatever the number of rows), all parameters bound.

use crate::codec;
use crate::persistent::{days_to_write, Backend, Fault};
use crate::redact;
use chrono::NaiveDate;
use janus_core::{
    AccountSnapshot, DayBatch, ExecutionLog, Money, Order, OrderId, PositionSnapshot, Price, RiskEvent, RunMeta,
    RunRecord, RunStatus, RunSummary, StoreError,
};
use postgres::types::ToSql;
use postgres::{Client, Config, GenericClient, IsolationLevel, NoTls, Row};
use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

const NAME: &str = "postgres";

/// Versioned schema, applied once each under an advisory lock (parallel openers wait).
const MIGRATIONS: &[(i64, &str)] = &[(1, include_str!("../migrations/postgres_0001_initial.sql"))];

const RUN_TABLES: [&str; 6] =
    ["account_snapshots", "position_snapshots", "positions_active", "orders_history", "risk_events", "execution_logs"];

/// Key of the advisory lock that serializes migrations.
const MIGRATION_LOCK: i64 = 0x6a61_6e75_7301;

/// A PostgreSQL database (and optionally a schema in it) with the Janus tables.
pub struct PostgresBackend {
    config: Config,
    schema: Option<String>,
    password: Option<String>,
    client: Client,
}

fn fault(e: postgres::Error) -> Fault {
    use std::error::Error as _;
    let transient = e.is_closed()
        || e.source().is_some_and(|s| s.is::<std::io::Error>())
        || e.code().is_some_and(|c| {
            let c = c.code();
            c.starts_with("08") || c.starts_with("57P0") || c == "40001" || c == "40P01" || c == "53300"
        });
    let message = match (e.as_db_error(), e.source()) {
        (Some(db), _) => format!("{} ({})", db.message(), db.code().code()),
        (None, Some(source)) => format!("{e}: {source}"),
        (None, None) => e.to_string(),
    };
    if transient {
        Fault::Transient(message)
    } else {
        Fault::Fatal(StoreError::Backend { backend: NAME, message })
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

/// Quote a validated identifier.
fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

impl PostgresBackend {
    /// Connect and bring the schema up to date. The password comes from the URL, or else from
    /// the `PGPASSWORD` environment variable.
    pub fn open(url: &str, schema: Option<&str>, connect_timeout: Duration) -> Result<PostgresBackend, StoreError> {
        let shown = redact(url);
        let mut config = Config::from_str(url)
            .map_err(|e| StoreError::InvalidUrl { url: shown.clone(), reason: format!("not a PostgreSQL URL: {e}") })?;
        config.connect_timeout(connect_timeout);
        if config.get_password().is_none() {
            if let Ok(pw) = std::env::var("PGPASSWORD") {
                config.password(pw);
            }
        }
        let password = config.get_password().map(|p| String::from_utf8_lossy(p).into_owned());
        let client = connect(&config, schema).map_err(|e| StoreError::Backend {
            backend: NAME,
            message: crate::scrub(
                format!(
                    "cannot connect to PostgreSQL at {shown}: {}. Is the server running, and do the host, port, \
                     user and database in the URL exist?",
                    message(e)
                ),
                password.as_deref(),
            ),
        })?;
        let mut b = PostgresBackend { config, schema: schema.map(str::to_string), password, client };
        b.migrate().map_err(|e| StoreError::Backend {
            backend: NAME,
            message: crate::scrub(format!("migrating the schema at {shown}: {}", message(e)), b.password.as_deref()),
        })?;
        Ok(b)
    }

    fn migrate(&mut self) -> Result<(), Fault> {
        let mut tx = self.client.transaction().map_err(fault)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).map_err(fault)?;
        if let Some(s) = &self.schema {
            tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {}", ident(s))).map_err(fault)?;
        }
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)",
        )
        .map_err(fault)?;
        let current: i64 =
            tx.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[]).map_err(fault)?.get(0);
        let latest = MIGRATIONS.last().map_or(0, |m| m.0);
        if current > latest {
            return Err(Fault::Fatal(StoreError::Backend {
                backend: NAME,
                message: format!("schema version {current} is newer than this Janus knows ({latest}); upgrade Janus"),
            }));
        }
        for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
            tx.batch_execute(sql).map_err(fault)?;
            tx.execute("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now())", &[version])
                .map_err(fault)?;
        }
        tx.commit().map_err(fault)
    }

    fn fault(&self, e: postgres::Error) -> Fault {
        match fault(e) {
            Fault::Transient(m) => Fault::Transient(crate::scrub(m, self.password.as_deref())),
            f => f,
        }
    }
}

fn connect(config: &Config, schema: Option<&str>) -> Result<Client, Fault> {
    let mut client = config.connect(NoTls).map_err(fault)?;
    if let Some(s) = schema {
        client.batch_execute(&format!("SET search_path TO {}", ident(s))).map_err(fault)?;
    }
    Ok(client)
}

/// Remove a schema and everything in it.
pub fn drop_schema(url: &str, schema: &str) -> Result<(), StoreError> {
    let mut b = PostgresBackend::open(url, None, Duration::from_secs(5))?;
    b.client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", ident(schema))).map_err(|e| fatal(fault(e)))
}

fn last_day(tx: &mut impl GenericClient, run_id: &str, lock: bool) -> Result<Option<u32>, Fault> {
    let sql = if lock {
        "SELECT last_day_index FROM runs WHERE run_id = $1 FOR UPDATE"
    } else {
        "SELECT last_day_index FROM runs WHERE run_id = $1"
    };
    match tx.query_opt(sql, &[&run_id]).map_err(fault)? {
        None => Err(Fault::Fatal(StoreError::RunNotFound(run_id.to_string()))),
        Some(row) => {
            row.get::<_, Option<i64>>(0).map(|l| codec::u32_of(NAME, "day index", l)).transpose().map_err(Fault::Fatal)
        }
    }
}

/// Column vectors of risk events: day, seq, date, symbol, order id, [side, reason, detail].
type RiskCols<'a> = (Vec<i64>, Vec<i64>, Vec<NaiveDate>, Vec<&'a str>, Vec<i64>, [Vec<&'a str>; 3]);

/// Column vectors of fills: day, seq, date, order id, symbol, side, [price, quantity,
/// commission, taxes, reference price, slippage].
type ExecCols<'a> = (Vec<i64>, Vec<i64>, Vec<NaiveDate>, Vec<i64>, Vec<&'a str>, Vec<&'a str>, [Vec<i64>; 6]);

/// Column vectors of position rows, for `UNNEST`.
#[derive(Default)]
struct PositionCols {
    day: Vec<i64>,
    seq: Vec<i64>,
    date: Vec<NaiveDate>,
    symbol: Vec<String>,
    amount: Vec<i64>,
    sellable: Vec<i64>,
    avg: Vec<i64>,
    entry: Vec<i64>,
    entry_date: Vec<NaiveDate>,
    high: Vec<i64>,
    last: Vec<i64>,
    held: Vec<i64>,
    value: Vec<i64>,
    realized: Vec<i64>,
}

impl PositionCols {
    fn push(&mut self, day: u32, seq: usize, p: &PositionSnapshot) {
        self.day.push(day as i64);
        self.seq.push(seq as i64);
        self.date.push(p.date);
        self.symbol.push(p.symbol.clone());
        self.amount.push(p.amount);
        self.sellable.push(p.sellable);
        self.avg.push(p.avg_price.0);
        self.entry.push(p.entry_price.0);
        self.entry_date.push(p.entry_date);
        self.high.push(p.high_since_entry.0);
        self.last.push(p.last_price.0);
        self.held.push(p.days_held as i64);
        self.value.push(p.market_value.0);
        self.realized.push(p.realized_pnl.0);
    }
}

impl Backend for PostgresBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn reconnect(&mut self) -> Result<(), Fault> {
        self.client = connect(&self.config, self.schema.as_deref()).map_err(|e| match e {
            Fault::Transient(m) => Fault::Transient(crate::scrub(m, self.password.as_deref())),
            f => f,
        })?;
        Ok(())
    }

    fn begin_run(&mut self, meta: &RunMeta, started_at: &str) -> Result<(), Fault> {
        let n = self
            .client
            .execute(
                "INSERT INTO runs (run_id, started_at, config, data_source, status) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (run_id) DO NOTHING",
                &[&meta.run_id, &started_at, &meta.config, &meta.data_source, &meta.status.as_str()],
            )
            .map_err(|e| self.fault(e))?;
        if n == 0 {
            return Err(Fault::Fatal(StoreError::RunExists(meta.run_id.clone())));
        }
        Ok(())
    }

    fn write_days(&mut self, run_id: &str, days: &[DayBatch]) -> Result<(), Fault> {
        let mut tx = self.client.transaction().map_err(fault)?;
        let last = last_day(&mut tx, run_id, true)?;
        let days = days_to_write(NAME, run_id, last, days)?;
        let Some(final_day) = days.last() else { return Ok(()) };

        let mut acc: (Vec<i64>, Vec<NaiveDate>, [Vec<i64>; 5], Vec<f64>) = Default::default();
        let mut pos = PositionCols::default();
        let mut orders: BTreeMap<u64, (u32, &Order)> = BTreeMap::new();
        let mut risk: RiskCols = Default::default();
        let mut exec: ExecCols = Default::default();
        for d in days {
            if let Some(a) = &d.account {
                acc.0.push(d.day_index as i64);
                acc.1.push(a.date);
                for (col, v) in
                    acc.2.iter_mut().zip([a.total_value, a.cash, a.frozen_cash, a.market_value, a.peak_value])
                {
                    col.push(v.0);
                }
                acc.3.push(a.drawdown);
            }
            for (seq, p) in d.positions.iter().enumerate() {
                pos.push(d.day_index, seq, p);
            }
            for o in &d.orders {
                // The last state of each order wins (one row per order and statement).
                orders.insert(o.id.0, (d.day_index, o));
            }
            for (seq, e) in d.risk_events.iter().enumerate() {
                risk.0.push(d.day_index as i64);
                risk.1.push(seq as i64);
                risk.2.push(e.date);
                risk.3.push(&e.symbol);
                risk.4.push(e.order_id.0 as i64);
                risk.5[0].push(e.side.as_str());
                risk.5[1].push(e.reason.code());
                risk.5[2].push(&e.detail);
            }
            for (seq, x) in d.executions.iter().enumerate() {
                exec.0.push(d.day_index as i64);
                exec.1.push(seq as i64);
                exec.2.push(x.date);
                exec.3.push(x.order_id.0 as i64);
                exec.4.push(&x.symbol);
                exec.5.push(x.side.as_str());
                for (col, v) in exec.6.iter_mut().zip([
                    x.price.0,
                    x.quantity,
                    x.commission.0,
                    x.taxes.0,
                    x.reference_price.0,
                    x.slippage.0,
                ]) {
                    col.push(v);
                }
            }
        }
        let mut run = |sql: &str, params: &[&(dyn ToSql + Sync)]| tx.execute(sql, params).map(|_| ()).map_err(fault);
        if !acc.0.is_empty() {
            let [t, c, f, m, p] = &acc.2;
            run(
                "INSERT INTO account_snapshots (run_id, day_index, date, total_value, cash, frozen_cash, market_value,
                 peak_value, drawdown)
                 SELECT $1, * FROM UNNEST($2::bigint[], $3::date[], $4::bigint[], $5::bigint[], $6::bigint[],
                 $7::bigint[], $8::bigint[], $9::float8[])",
                &[&run_id, &acc.0, &acc.1, t, c, f, m, p, &acc.3],
            )?;
        }
        if !pos.day.is_empty() {
            run(
                "INSERT INTO position_snapshots (run_id, day_index, seq, date, symbol, amount, sellable, avg_price,
                 entry_price, entry_date, high_since_entry, last_price, days_held, market_value, realized_pnl)
                 SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], $4::date[], $5::text[], $6::bigint[],
                 $7::bigint[], $8::bigint[], $9::bigint[], $10::date[], $11::bigint[], $12::bigint[], $13::bigint[],
                 $14::bigint[], $15::bigint[])",
                &[
                    &run_id,
                    &pos.day,
                    &pos.seq,
                    &pos.date,
                    &pos.symbol,
                    &pos.amount,
                    &pos.sellable,
                    &pos.avg,
                    &pos.entry,
                    &pos.entry_date,
                    &pos.high,
                    &pos.last,
                    &pos.held,
                    &pos.value,
                    &pos.realized,
                ],
            )?;
        }
        if !orders.is_empty() {
            let mut ints: [Vec<i64>; 8] = Default::default();
            let mut limit: Vec<Option<i64>> = Vec::new();
            let mut texts: [Vec<&str>; 5] = Default::default();
            let mut dates: [Vec<NaiveDate>; 2] = Default::default();
            for (&id, &(day, o)) in &orders {
                let (kind, lim) = codec::order_type_parts(o.order_type);
                let vals = [
                    id as i64,
                    day as i64,
                    o.quantity,
                    o.filled,
                    o.filled_notional.0,
                    o.commission.0,
                    o.taxes.0,
                    o.frozen_cash.0,
                ];
                for (col, v) in ints.iter_mut().zip(vals) {
                    col.push(v);
                }
                limit.push(lim);
                for (col, v) in
                    texts.iter_mut().zip([o.symbol.as_str(), o.side.as_str(), kind, o.status.as_str(), &o.tag])
                {
                    col.push(v);
                }
                dates[0].push(o.created);
                dates[1].push(o.updated);
            }
            run(
                "INSERT INTO orders_history (run_id, order_id, day_index, symbol, side, order_type, limit_price,
                 quantity, filled, status, created, updated, filled_notional, commission, taxes, frozen_cash, tag)
                 SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[],
                 $7::bigint[], $8::bigint[], $9::bigint[], $10::text[], $11::date[], $12::date[], $13::bigint[],
                 $14::bigint[], $15::bigint[], $16::bigint[], $17::text[])
                 ON CONFLICT (run_id, order_id) DO UPDATE SET day_index = EXCLUDED.day_index,
                 symbol = EXCLUDED.symbol, side = EXCLUDED.side, order_type = EXCLUDED.order_type,
                 limit_price = EXCLUDED.limit_price, quantity = EXCLUDED.quantity, filled = EXCLUDED.filled,
                 status = EXCLUDED.status, created = EXCLUDED.created, updated = EXCLUDED.updated,
                 filled_notional = EXCLUDED.filled_notional, commission = EXCLUDED.commission,
                 taxes = EXCLUDED.taxes, frozen_cash = EXCLUDED.frozen_cash, tag = EXCLUDED.tag",
                &[
                    &run_id, &ints[0], &ints[1], &texts[0], &texts[1], &texts[2], &limit, &ints[2], &ints[3],
                    &texts[3], &dates[0], &dates[1], &ints[4], &ints[5], &ints[6], &ints[7], &texts[4],
                ],
            )?;
        }
        if !risk.0.is_empty() {
            let [side, reason, detail] = &risk.5;
            run(
                "INSERT INTO risk_events (run_id, day_index, seq, date, symbol, order_id, side, reason, detail)
                 SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], $4::date[], $5::text[], $6::bigint[],
                 $7::text[], $8::text[], $9::text[])",
                &[&run_id, &risk.0, &risk.1, &risk.2, &risk.3, &risk.4, side, reason, detail],
            )?;
        }
        if !exec.0.is_empty() {
            let [price, qty, comm, taxes, reference, slip] = &exec.6;
            run(
                "INSERT INTO execution_logs (run_id, day_index, seq, date, order_id, symbol, side, price, quantity,
                 commission, taxes, reference_price, slippage)
                 SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], $4::date[], $5::bigint[], $6::text[],
                 $7::text[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[])",
                &[
                    &run_id, &exec.0, &exec.1, &exec.2, &exec.3, &exec.4, &exec.5, price, qty, comm, taxes, reference,
                    slip,
                ],
            )?;
        }
        // The active positions are those of the last day written.
        run("DELETE FROM positions_active WHERE run_id = $1", &[&run_id])?;
        if !final_day.positions.is_empty() {
            let mut a = PositionCols::default();
            for (seq, p) in final_day.positions.iter().enumerate() {
                a.push(final_day.day_index, seq, p);
            }
            run(
                "INSERT INTO positions_active (run_id, symbol, date, amount, sellable, avg_price, entry_price,
                 entry_date, high_since_entry, last_price, days_held, market_value, realized_pnl)
                 SELECT $1, * FROM UNNEST($2::text[], $3::date[], $4::bigint[], $5::bigint[], $6::bigint[],
                 $7::bigint[], $8::date[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[])",
                &[
                    &run_id,
                    &a.symbol,
                    &a.date,
                    &a.amount,
                    &a.sellable,
                    &a.avg,
                    &a.entry,
                    &a.entry_date,
                    &a.high,
                    &a.last,
                    &a.held,
                    &a.value,
                    &a.realized,
                ],
            )?;
        }
        run("UPDATE runs SET last_day_index = $1 WHERE run_id = $2", &[&(final_day.day_index as i64), &run_id])?;
        tx.commit().map_err(|e| self.fault(e))
    }

    fn set_status(&mut self, run_id: &str, status: RunStatus) -> Result<(), Fault> {
        let n = self
            .client
            .execute("UPDATE runs SET status = $1 WHERE run_id = $2", &[&status.as_str(), &run_id])
            .map_err(|e| self.fault(e))?;
        if n == 0 {
            return Err(Fault::Fatal(StoreError::RunNotFound(run_id.to_string())));
        }
        Ok(())
    }

    fn run_summaries(&mut self) -> Result<Vec<RunSummary>, Fault> {
        let rows = self
            .client
            .query(
                "SELECT r.run_id, r.config, r.data_source, r.status, r.started_at, r.last_day_index,
                 (SELECT COUNT(*) FROM account_snapshots a WHERE a.run_id = r.run_id)
                 FROM runs r ORDER BY r.seq",
                &[],
            )
            .map_err(|e| self.fault(e))?;
        rows.iter()
            .map(|r| {
                Ok(RunSummary {
                    meta: RunMeta {
                        run_id: r.get(0),
                        config: r.get(1),
                        data_source: r.get(2),
                        status: codec::run_status(NAME, r.get(3))?,
                    },
                    started_at: Some(r.get(4)),
                    last_day_index: r
                        .get::<_, Option<i64>>(5)
                        .map(|l| codec::u32_of(NAME, "day index", l))
                        .transpose()?,
                    days: r.get::<_, i64>(6) as usize,
                })
            })
            .collect()
    }

    fn load_run(&mut self, run_id: &str) -> Result<RunRecord, Fault> {
        // One repeatable-read snapshot: whole days only, even while a writer commits.
        let mut tx = self
            .client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(fault)?;
        let last_day_index = last_day(&mut tx, run_id, false)?;
        let mut q = |sql: &str| tx.query(sql, &[&run_id]).map_err(fault);
        let account = q("SELECT date, total_value, cash, frozen_cash, market_value, peak_value, drawdown
             FROM account_snapshots WHERE run_id = $1 ORDER BY day_index")?;
        let positions = q("SELECT date, symbol, amount, sellable, avg_price, entry_price, entry_date,
             high_since_entry, last_price, days_held, market_value, realized_pnl
             FROM position_snapshots WHERE run_id = $1 ORDER BY day_index, seq")?;
        let orders = q("SELECT order_id, symbol, side, order_type, limit_price, quantity, filled, status, created,
             updated, filled_notional, commission, taxes, frozen_cash, tag
             FROM orders_history WHERE run_id = $1 ORDER BY order_id")?;
        let risk = q("SELECT date, symbol, order_id, side, reason, detail
             FROM risk_events WHERE run_id = $1 ORDER BY day_index, seq")?;
        let exec = q("SELECT date, order_id, symbol, side, price, quantity, commission, taxes, reference_price,
             slippage FROM execution_logs WHERE run_id = $1 ORDER BY day_index, seq")?;
        tx.commit().map_err(fault)?;
        Ok(RunRecord {
            account_snapshots: account.iter().map(account_row).collect(),
            position_snapshots: positions.iter().map(position_row).collect::<Result<_, StoreError>>()?,
            orders: orders.iter().map(order_row).collect::<Result<_, StoreError>>()?,
            risk_events: risk.iter().map(risk_row).collect::<Result<_, StoreError>>()?,
            executions: exec.iter().map(exec_row).collect::<Result<_, StoreError>>()?,
            last_day_index,
        })
    }

    fn delete_run(&mut self, run_id: &str) -> Result<(), Fault> {
        let mut tx = self.client.transaction().map_err(fault)?;
        last_day(&mut tx, run_id, true)?;
        for table in RUN_TABLES {
            tx.execute(&format!("DELETE FROM {table} WHERE run_id = $1"), &[&run_id]).map_err(fault)?;
        }
        tx.execute("DELETE FROM runs WHERE run_id = $1", &[&run_id]).map_err(fault)?;
        tx.commit().map_err(fault)
    }
}

fn account_row(r: &Row) -> AccountSnapshot {
    AccountSnapshot {
        date: r.get(0),
        total_value: Money(r.get(1)),
        cash: Money(r.get(2)),
        frozen_cash: Money(r.get(3)),
        market_value: Money(r.get(4)),
        peak_value: Money(r.get(5)),
        drawdown: r.get(6),
    }
}

fn position_row(r: &Row) -> Result<PositionSnapshot, StoreError> {
    Ok(PositionSnapshot {
        date: r.get(0),
        symbol: r.get(1),
        amount: r.get(2),
        sellable: r.get(3),
        avg_price: Price(r.get(4)),
        entry_price: Price(r.get(5)),
        entry_date: r.get(6),
        high_since_entry: Price(r.get(7)),
        last_price: Price(r.get(8)),
        days_held: codec::u32_of(NAME, "days held", r.get(9))?,
        market_value: Money(r.get(10)),
        realized_pnl: Money(r.get(11)),
    })
}

fn order_row(r: &Row) -> Result<Order, StoreError> {
    Ok(Order {
        id: OrderId(r.get::<_, i64>(0) as u64),
        symbol: r.get(1),
        side: codec::side(NAME, r.get(2))?,
        order_type: codec::order_type(NAME, r.get(3), r.get(4))?,
        quantity: r.get(5),
        filled: r.get(6),
        status: codec::order_status(NAME, r.get(7))?,
        created: r.get(8),
        updated: r.get(9),
        filled_notional: Money(r.get(10)),
        commission: Money(r.get(11)),
        taxes: Money(r.get(12)),
        frozen_cash: Money(r.get(13)),
        tag: r.get(14),
    })
}

fn risk_row(r: &Row) -> Result<RiskEvent, StoreError> {
    Ok(RiskEvent {
        date: r.get(0),
        symbol: r.get(1),
        order_id: OrderId(r.get::<_, i64>(2) as u64),
        side: codec::side(NAME, r.get(3))?,
        reason: codec::reason(NAME, r.get(4))?,
        detail: r.get(5),
    })
}

fn exec_row(r: &Row) -> Result<ExecutionLog, StoreError> {
    Ok(ExecutionLog {
        date: r.get(0),
        order_id: OrderId(r.get::<_, i64>(1) as u64),
        symbol: r.get(2),
        side: codec::side(NAME, r.get(3))?,
        price: Price(r.get(4)),
        quantity: r.get(5),
        commission: Money(r.get(6)),
        taxes: Money(r.get(7)),
        reference_price: Price(r.get(8)),
        slippage: Money(r.get(9)),
    })
}
