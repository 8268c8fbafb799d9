//! PostgreSQL: runs shared between machines, queried with SQL. Each flush of buffered days is
//! one transaction; rows go in with one `INSERT ... SELECT FROM UNNEST(...)` per table (a
//! handful of round trips per flush, whatever the number of rows), all parameters bound.
//!
//! The client is the asynchronous `tokio-postgres`, driven by a single-threaded runtime this
//! backend owns, so that every statement can have a deadline: the synchronous client waits
//! forever on a server that accepts the connection and never answers (hung, or stopped with
//! SIGSTOP). Opening (TCP, handshake, authentication) is bounded by
//! [`StoreOptions::connect_timeout`] and each statement by [`StoreOptions::io_timeout`]; a
//! statement past its deadline drops the connection and fails transiently, so the retry loop
//! reconnects or gives up in time.

mod journal;
mod rows;

use crate::codec;
use crate::persistent::{Backend, Fault};
use crate::{redact, StoreOptions};
use janus_core::{Checkpoint, DayBatch, JournalEvent, RunMeta, RunRecord, RunStatus, RunSummary, StoreError};
use rows::{account_row, corporate_row, exec_row, order_row, position_row, risk_row, write_days_in};
use std::future::Future;
use std::str::FromStr;
use std::time::Duration;
use tokio::runtime::Runtime;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, IsolationLevel, NoTls, Transaction};

const NAME: &str = "postgres";

/// Versioned schema, applied once each under an advisory lock (parallel openers wait).
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres_0001_initial.sql")),
    (2, include_str!("../migrations/postgres_0002_corporate_actions.sql")),
    (3, include_str!("../migrations/postgres_0003_journal.sql")),
];

/// Key of the advisory lock that serializes migrations.
const MIGRATION_LOCK: i64 = 0x6a61_6e75_7301;

/// A PostgreSQL database (and optionally a schema in it) with the Janus tables.
pub struct PostgresBackend {
    config: Config,
    schema: Option<String>,
    /// The password as written and decoded, scrubbed from every message.
    secrets: Vec<String>,
    connect_timeout: Duration,
    io_timeout: Duration,
    runtime: Runtime,
    /// `None` after a statement failed on it, until [`Backend::reconnect`].
    conn: Option<Conn>,
}

/// A client and the task that drives its connection (run whenever the runtime runs).
struct Conn {
    client: Client,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        // The socket goes with the task; a connection given up on may still be waiting for
        // a server that never answers.
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

fn fault(e: tokio_postgres::Error) -> Fault {
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

/// Await a request with a deadline: a server silent for longer is taken as gone.
async fn within<T>(limit: Duration, f: impl Future<Output = Result<T, tokio_postgres::Error>>) -> Result<T, Fault> {
    match tokio::time::timeout(limit, f).await {
        Ok(r) => r.map_err(fault),
        Err(_) => Err(Fault::Transient(format!("the server did not answer within {} s", limit.as_secs_f64()))),
    }
}

/// One statement of a transaction, with a deadline.
async fn exec(tx: &Transaction<'_>, io: Duration, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<(), Fault> {
    within(io, tx.execute(sql, params)).await.map(|_| ())
}

/// End a transaction: commit after `r` succeeded, else roll back now. (A transaction dropped
/// unfinished would queue its rollback until the next request, holding its locks meanwhile;
/// after a transient fault the connection itself is dropped, which ends it on the server.)
async fn end<T>(tx: Transaction<'_>, io: Duration, r: Result<T, Fault>) -> Result<T, Fault> {
    match r {
        Ok(v) => within(io, tx.commit()).await.map(|()| v),
        Err(f @ Fault::Fatal(_)) => {
            let _ = within(io, tx.rollback()).await;
            Err(f)
        }
        Err(f) => Err(f),
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

/// Advice for a refused login (SQLSTATE 28P01 wrong password, 28000 not allowed).
fn login_advice(msg: &str) -> &'static str {
    if msg.contains("(28P01)") || msg.contains("password") {
        " Put the password in the URL (postgres://USER:PASSWORD@HOST:PORT/DB) or in the PGPASSWORD environment \
         variable."
    } else {
        ""
    }
}

impl PostgresBackend {
    /// Connect and bring the schema up to date. The password comes from the URL, or else from
    /// the `PGPASSWORD` environment variable.
    pub fn open(url: &str, schema: Option<&str>, opts: &StoreOptions) -> Result<PostgresBackend, StoreError> {
        let shown = redact(url);
        let mut config = Config::from_str(url)
            .map_err(|e| StoreError::InvalidUrl { url: shown.clone(), reason: format!("not a PostgreSQL URL: {e}") })?;
        config.connect_timeout(opts.connect_timeout);
        let mut secrets = crate::url_secrets(url);
        if config.get_password().is_none() {
            if let Ok(pw) = std::env::var("PGPASSWORD") {
                secrets.push(pw.clone());
                config.password(pw);
            }
        }
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| {
            StoreError::Backend { backend: NAME, message: format!("cannot start the PostgreSQL client's runtime: {e}") }
        })?;
        let mut b = PostgresBackend {
            config,
            schema: schema.map(str::to_string),
            secrets,
            connect_timeout: opts.connect_timeout,
            io_timeout: opts.io_timeout,
            runtime,
            conn: None,
        };
        b.reconnect().map_err(|e| {
            let m = message(e);
            StoreError::Backend {
                backend: NAME,
                message: format!(
                    "cannot connect to PostgreSQL at {shown}: {m}. Is the server running, and do the host, port, \
                     user and database in the URL exist?{}",
                    login_advice(&m)
                ),
            }
        })?;
        b.migrate().map_err(|e| StoreError::Backend {
            backend: NAME,
            message: format!("migrating the schema at {shown}: {}", message(e)),
        })?;
        Ok(b)
    }

    /// The runtime and the client, or a transient fault when the connection was dropped.
    fn parts(&mut self) -> Result<(&Runtime, &mut Client, Duration), Fault> {
        match &mut self.conn {
            Some(c) => Ok((&self.runtime, &mut c.client, self.io_timeout)),
            None => Err(Fault::Transient("not connected".into())),
        }
    }

    /// A call's result with secrets scrubbed; a transient failure drops the connection (a
    /// request past its deadline leaves it mid-conversation).
    fn settle<T>(&mut self, r: Result<T, Fault>) -> Result<T, Fault> {
        r.map_err(|f| match f {
            Fault::Transient(m) => {
                self.conn = None;
                Fault::Transient(crate::scrub(m, &self.secrets))
            }
            Fault::Fatal(StoreError::Backend { backend, message }) => {
                Fault::Fatal(StoreError::Backend { backend, message: crate::scrub(message, &self.secrets) })
            }
            f => f,
        })
    }

    fn migrate(&mut self) -> Result<(), Fault> {
        let schema = self.schema.clone();
        let (rt, client, io) = self.parts()?;
        let r = rt.block_on(async {
            let tx = within(io, client.transaction()).await?;
            let r = async {
                exec(&tx, io, "SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
                if let Some(s) = &schema {
                    within(io, tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {}", ident(s)))).await?;
                }
                within(
                    io,
                    tx.batch_execute(
                        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, \
                     applied_at TIMESTAMPTZ NOT NULL)",
                    ),
                )
                .await?;
                let current: i64 =
                    within(io, tx.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[]))
                        .await?
                        .get(0);
                let latest = MIGRATIONS.last().map_or(0, |m| m.0);
                if current > latest {
                    return Err(Fault::Fatal(StoreError::Backend {
                        backend: NAME,
                        message: format!(
                            "schema version {current} is newer than this Janus knows ({latest}); upgrade Janus"
                        ),
                    }));
                }
                for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
                    within(io, tx.batch_execute(sql)).await?;
                    exec(&tx, io, "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now())", &[version])
                        .await?;
                }
                Ok(())
            }
            .await;
            end(tx, io, r).await
        });
        self.settle(r)
    }
}

impl Drop for PostgresBackend {
    /// Close the connection politely (the server then logs no broken connection), briefly.
    fn drop(&mut self) {
        if let Some(task) = self.conn.take().and_then(|mut c| c.task.take()) {
            // The client is gone: the connection task says goodbye to the server and ends.
            let _ = self.runtime.block_on(async { tokio::time::timeout(Duration::from_millis(200), task).await });
        }
    }
}

/// Remove a schema and everything in it.
pub fn drop_schema(url: &str, schema: &str) -> Result<(), StoreError> {
    let mut b = PostgresBackend::open(url, None, &StoreOptions::default())?;
    let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", ident(schema));
    let r = match b.parts() {
        Ok((rt, client, io)) => rt.block_on(within(io, client.batch_execute(&sql))),
        Err(f) => Err(f),
    };
    b.settle(r).map_err(|f| match f {
        Fault::Fatal(e) => e,
        Fault::Transient(message) => StoreError::Backend { backend: NAME, message },
    })
}

async fn last_day(tx: &Transaction<'_>, io: Duration, run_id: &str, lock: bool) -> Result<Option<u32>, Fault> {
    let sql = if lock {
        "SELECT last_day_index FROM runs WHERE run_id = $1 FOR UPDATE"
    } else {
        "SELECT last_day_index FROM runs WHERE run_id = $1"
    };
    match within(io, tx.query_opt(sql, &[&run_id])).await? {
        None => Err(Fault::Fatal(StoreError::RunNotFound(run_id.to_string()))),
        Some(row) => {
            row.get::<_, Option<i64>>(0).map(|l| codec::u32_of(NAME, "day index", l)).transpose().map_err(Fault::Fatal)
        }
    }
}

impl Backend for PostgresBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn reconnect(&mut self) -> Result<(), Fault> {
        self.conn = None;
        let (config, schema) = (&self.config, self.schema.as_deref());
        let (connect_timeout, io) = (self.connect_timeout, self.io_timeout);
        let r = self.runtime.block_on(async {
            let (client, connection) = match tokio::time::timeout(connect_timeout, config.connect(NoTls)).await {
                Ok(r) => r.map_err(fault)?,
                Err(_) => {
                    return Err(Fault::Transient(format!(
                        "no answer within {} s of connecting",
                        connect_timeout.as_secs_f64()
                    )))
                }
            };
            let task = tokio::spawn(async move {
                let _ = connection.await;
            });
            let conn = Conn { client, task: Some(task) };
            // Janus drives every transaction statement after statement; one left waiting longer
            // than a request may take belongs to a process that was frozen or cut off mid-write.
            // The server then ends it, so its row locks do not block whoever took the work over.
            let idle = format!("SET idle_in_transaction_session_timeout = {}", io.as_millis().max(1000));
            within(io, conn.client.batch_execute(&idle)).await?;
            if let Some(s) = schema {
                within(io, conn.client.batch_execute(&format!("SET search_path TO {}", ident(s)))).await?;
            }
            Ok(conn)
        });
        self.conn = Some(self.settle(r)?);
        Ok(())
    }

    fn begin_run(&mut self, meta: &RunMeta, started_at: &str) -> Result<(), Fault> {
        let (rt, client, io) = self.parts()?;
        let r = rt.block_on(within(
            io,
            client.execute(
                "INSERT INTO runs (run_id, started_at, config, data_source, status) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (run_id) DO NOTHING",
                &[&meta.run_id, &started_at, &meta.config, &meta.data_source, &meta.status.as_str()],
            ),
        ));
        if self.settle(r)? == 0 {
            return Err(Fault::Fatal(StoreError::RunExists(meta.run_id.clone())));
        }
        Ok(())
    }

    fn write_days(&mut self, run_id: &str, days: &[DayBatch]) -> Result<(), Fault> {
        let (rt, client, io) = self.parts()?;
        let r = rt.block_on(async {
            let tx = within(io, client.transaction()).await?;
            let r = write_days_in(&tx, io, run_id, days).await;
            end(tx, io, r).await
        });
        self.settle(r)
    }

    fn set_status(&mut self, run_id: &str, status: RunStatus) -> Result<(), Fault> {
        let (rt, client, io) = self.parts()?;
        let r = rt.block_on(within(
            io,
            client.execute("UPDATE runs SET status = $1 WHERE run_id = $2", &[&status.as_str(), &run_id]),
        ));
        if self.settle(r)? == 0 {
            return Err(Fault::Fatal(StoreError::RunNotFound(run_id.to_string())));
        }
        Ok(())
    }

    fn run_summaries(&mut self) -> Result<Vec<RunSummary>, Fault> {
        let (rt, client, io) = self.parts()?;
        let r = rt.block_on(within(
            io,
            client.query(
                "SELECT r.run_id, r.config, r.data_source, r.status, r.started_at, r.last_day_index,
                 (SELECT COUNT(*) FROM account_snapshots a WHERE a.run_id = r.run_id)
                 FROM runs r ORDER BY r.seq",
                &[],
            ),
        ));
        let rows = self.settle(r)?;
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
        let (rt, client, io) = self.parts()?;
        let r = rt.block_on(async {
            // One repeatable-read snapshot: whole days only, even while a writer commits.
            let tx = within(
                io,
                client.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true).start(),
            )
            .await?;
            let r = async {
                let last_day_index = last_day(&tx, io, run_id, false).await?;
                let params: [&(dyn ToSql + Sync); 1] = [&run_id];
                let q = |sql: &'static str| within(io, tx.query(sql, &params));
                let account = q("SELECT date, total_value, cash, frozen_cash, market_value, peak_value, drawdown
                 FROM account_snapshots WHERE run_id = $1 ORDER BY day_index")
                .await?;
                let positions = q("SELECT date, symbol, amount, sellable, avg_price, entry_price, entry_date,
                 high_since_entry, last_price, days_held, market_value, realized_pnl
                 FROM position_snapshots WHERE run_id = $1 ORDER BY day_index, seq")
                .await?;
                let orders =
                    q("SELECT order_id, symbol, side, order_type, limit_price, quantity, filled, status, created,
                 updated, filled_notional, commission, taxes, frozen_cash, tag
                 FROM orders_history WHERE run_id = $1 ORDER BY order_id")
                    .await?;
                let risk = q("SELECT date, symbol, order_id, side, reason, detail
                 FROM risk_events WHERE run_id = $1 ORDER BY day_index, seq")
                .await?;
                let exec =
                    q("SELECT date, order_id, symbol, side, price, quantity, commission, taxes, reference_price,
                 slippage FROM execution_logs WHERE run_id = $1 ORDER BY day_index, seq")
                    .await?;
                let corporate = q("SELECT date, symbol, shares_before, bonus_shares, rights_shares, rights_paid,
                 dividend, dividend_tax, reference_price
                 FROM corporate_actions WHERE run_id = $1 ORDER BY day_index, seq")
                .await?;
                Ok((last_day_index, account, positions, orders, risk, exec, corporate))
            }
            .await;
            end(tx, io, r).await
        });
        let (last_day_index, account, positions, orders, risk, exec, corporate) = self.settle(r)?;
        Ok(RunRecord {
            account_snapshots: account.iter().map(account_row).collect(),
            position_snapshots: positions.iter().map(position_row).collect::<Result<_, StoreError>>()?,
            orders: orders.iter().map(order_row).collect::<Result<_, StoreError>>()?,
            risk_events: risk.iter().map(risk_row).collect::<Result<_, StoreError>>()?,
            executions: exec.iter().map(exec_row).collect::<Result<_, StoreError>>()?,
            corporate_actions: corporate.iter().map(corporate_row).collect(),
            last_day_index,
        })
    }

    fn append_events(&mut self, run_id: &str, events: &[JournalEvent]) -> Result<(), Fault> {
        let (rt, client, io) = self.parts()?;
        let r = rt.block_on(async {
            let tx = within(io, client.transaction()).await?;
            let r = async {
                last_day(&tx, io, run_id, true).await?;
                journal::write_events(&tx, io, run_id, events).await
            }
            .await;
            end(tx, io, r).await
        });
        self.settle(r)
    }

    fn load_events(&mut self, run_id: &str, instance: &str, after_seq: u64) -> Result<Vec<JournalEvent>, Fault> {
        let (rt, client, io) = self.parts()?;
        let r = rt.block_on(journal::read_events(client, io, run_id, instance, after_seq));
        self.settle(r)
    }

    fn load_checkpoint(&mut self, run_id: &str, instance: &str) -> Result<Option<Checkpoint>, Fault> {
        let (rt, client, io) = self.parts()?;
        let r = rt.block_on(journal::read_checkpoint(client, io, run_id, instance));
        self.settle(r)
    }

    fn delete_run(&mut self, run_id: &str) -> Result<(), Fault> {
        let (rt, client, io) = self.parts()?;
        let r = rt.block_on(async {
            let tx = within(io, client.transaction()).await?;
            let r = async {
                last_day(&tx, io, run_id, true).await?;
                for table in crate::RUN_TABLES {
                    exec(&tx, io, &format!("DELETE FROM {table} WHERE run_id = $1"), &[&run_id]).await?;
                }
                exec(&tx, io, "DELETE FROM runs WHERE run_id = $1", &[&run_id]).await
            }
            .await;
            end(tx, io, r).await
        });
        self.settle(r)
    }
}
