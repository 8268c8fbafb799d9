//! Redis: run state shared by distributed strategy instances. Each flush of buffered days is one
//! MULTI/EXEC under WATCH of the run's hash, so a reader never sees half a day and a retried
//! flush after a lost reply is skipped. Every key starts with a prefix (`janus` unless the URL
//! says `?prefix=NAME`):
//!
//! | key | type | contents |
//! |---|---|---|
//! | `P:runs` | sorted set | run ids, scored by the order they were begun |
//! | `P:run:ID` | hash | `run_id`, `started_at`, `config`, `data_source`, `status`, `last_day_index` |
//! | `P:run:ID:snapshots` | sorted set | one account snapshot per day, scored by day index (time order); member `date\|day_index\|total_value\|cash\|frozen_cash\|market_value\|peak_value\|drawdown` |
//! | `P:run:ID:positions` | hash | active positions after the last committed day: symbol to `date\|amount\|sellable\|avg_price\|entry_price\|entry_date\|high_since_entry\|last_price\|days_held\|market_value\|realized_pnl` |
//! | `P:run:ID:position_snapshots` | stream | daily position snapshots |
//! | `P:run:ID:orders` | stream | each order's state at the end of every day it changed (the last entry per `order_id` is its final state) |
//! | `P:run:ID:risk_events` | stream | refusals |
//! | `P:run:ID:executions` | stream | fills |
//!
//! Stream entries have ids `D-N` with D the trading day's index plus one and N counting within
//! the day, so `XRANGE key 11 20` reads days 10 to 19; their fields are named like the SQL
//! columns (the `position_snapshots` entries carry `symbol` and `position`, encoded like the
//! `positions` hash). Money and prices
//! are the fixed-point integers (1/10000 CNY).

use crate::codec;
use crate::persistent::{days_to_write, Backend, Fault};
use crate::redact;
use ::redis::streams::{StreamId, StreamRangeReply};
use ::redis::{Client, Connection, Value};
use janus_core::{
    AccountSnapshot, DayBatch, ExecutionLog, Money, Order, OrderId, PositionSnapshot, Price, RiskEvent, RunMeta,
    RunRecord, RunStatus, RunSummary, StoreError,
};
use std::collections::BTreeMap;
use std::time::Duration;

const NAME: &str = "redis";

/// A Redis database with Janus keys under one prefix.
pub struct RedisBackend {
    client: Client,
    conn: Connection,
    prefix: String,
    timeout: Duration,
    password: Option<String>,
}

fn fault(e: ::redis::RedisError) -> Fault {
    // LOADING: a restarted server still reading its data back; worth waiting for.
    let busy = matches!(e.code(), Some("LOADING" | "TRYAGAIN" | "MASTERDOWN"));
    if busy || e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_timeout() {
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

fn corrupt(what: &str, value: &str) -> Fault {
    Fault::Fatal(codec::corrupt(NAME, what, value))
}

impl RedisBackend {
    /// Connect. The password comes from the URL, or else from `REDISCLI_AUTH`.
    pub fn open(url: &str, prefix: &str, timeout: Duration) -> Result<RedisBackend, StoreError> {
        let shown = redact(url);
        let (url, password) = with_env_password(url);
        let client = Client::open(url.as_str())
            .map_err(|e| StoreError::InvalidUrl { url: shown.clone(), reason: format!("not a Redis URL: {e}") })?;
        let conn = connect(&client, timeout).map_err(|e| StoreError::Backend {
            backend: NAME,
            message: crate::scrub(
                format!("cannot connect to Redis at {shown}: {}. Is the server running?", message(e)),
                password.as_deref(),
            ),
        })?;
        Ok(RedisBackend { client, conn, prefix: prefix.to_string(), timeout, password })
    }

    fn run_key(&self, run_id: &str) -> String {
        format!("{}:run:{run_id}", self.prefix)
    }

    fn key(&self, run_id: &str, part: &str) -> String {
        format!("{}:run:{run_id}:{part}", self.prefix)
    }

    fn runs_key(&self) -> String {
        format!("{}:runs", self.prefix)
    }

    fn fault(&self, e: ::redis::RedisError) -> Fault {
        match fault(e) {
            Fault::Transient(m) => Fault::Transient(crate::scrub(m, self.password.as_deref())),
            Fault::Fatal(StoreError::Backend { backend, message }) => {
                Fault::Fatal(StoreError::Backend { backend, message: crate::scrub(message, self.password.as_deref()) })
            }
            f => f,
        }
    }

    /// `None` when the run does not exist, else its last committed day.
    fn last_day(&mut self, run_id: &str) -> Result<Option<Option<u32>>, Fault> {
        let (exists, last): (bool, Option<String>) = ::redis::pipe()
            .cmd("EXISTS")
            .arg(self.run_key(run_id))
            .cmd("HGET")
            .arg(self.run_key(run_id))
            .arg("last_day_index")
            .query(&mut self.conn)
            .map_err(|e| self.fault(e))?;
        if !exists {
            return Ok(None);
        }
        Ok(Some(last.map(|l| l.parse().map_err(|_| corrupt("day index", &l))).transpose()?))
    }
}

fn with_env_password(url: &str) -> (String, Option<String>) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let has_userinfo = url[after_scheme..].contains('@');
    if has_userinfo {
        let userinfo = &url[after_scheme..after_scheme + url[after_scheme..].rfind('@').unwrap_or(0)];
        return (url.to_string(), userinfo.split_once(':').map(|(_, p)| p.to_string()));
    }
    match std::env::var("REDISCLI_AUTH") {
        Ok(pw) if !pw.is_empty() => {
            let encoded: String = pw
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                    _ => format!("%{b:02X}"),
                })
                .collect();
            (format!("{}:{encoded}@{}", &url[..after_scheme], &url[after_scheme..]), Some(pw))
        }
        _ => (url.to_string(), None),
    }
}

fn connect(client: &Client, timeout: Duration) -> Result<Connection, Fault> {
    let conn = client.get_connection_with_timeout(timeout).map_err(fault)?;
    conn.set_read_timeout(Some(Duration::from_secs(30))).map_err(fault)?;
    conn.set_write_timeout(Some(Duration::from_secs(30))).map_err(fault)?;
    Ok(conn)
}

/// Delete every key under a prefix.
pub fn drop_prefix(url: &str, prefix: &str) -> Result<(), StoreError> {
    let mut b = RedisBackend::open(url, prefix, Duration::from_secs(5))?;
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = ::redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}:*"))
            .arg("COUNT")
            .arg(1000)
            .query(&mut b.conn)
            .map_err(|e| fatal(fault(e)))?;
        if !keys.is_empty() {
            ::redis::cmd("DEL").arg(&keys).exec(&mut b.conn).map_err(|e| fatal(fault(e)))?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

/// A stream entry id from the day and a counter within the day (ids must be above `0-0`).
fn entry_id(day_index: u32, n: usize) -> String {
    format!("{}-{n}", day_index as u64 + 1)
}

fn position_value(p: &PositionSnapshot) -> String {
    format!(
        "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
        p.date,
        p.amount,
        p.sellable,
        p.avg_price.0,
        p.entry_price.0,
        p.entry_date,
        p.high_since_entry.0,
        p.last_price.0,
        p.days_held,
        p.market_value.0,
        p.realized_pnl.0
    )
}

impl Backend for RedisBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn reconnect(&mut self) -> Result<(), Fault> {
        self.conn = connect(&self.client, self.timeout).map_err(|e| match e {
            Fault::Transient(m) => Fault::Transient(crate::scrub(m, self.password.as_deref())),
            f => f,
        })?;
        Ok(())
    }

    fn begin_run(&mut self, meta: &RunMeta, started_at: &str) -> Result<(), Fault> {
        let key = self.run_key(&meta.run_id);
        loop {
            ::redis::cmd("WATCH").arg(&key).exec(&mut self.conn).map_err(|e| self.fault(e))?;
            if self.last_day(&meta.run_id)?.is_some() {
                ::redis::cmd("UNWATCH").exec(&mut self.conn).map_err(|e| self.fault(e))?;
                return Err(Fault::Fatal(StoreError::RunExists(meta.run_id.clone())));
            }
            let seq: i64 = ::redis::cmd("INCR")
                .arg(format!("{}:runs:seq", self.prefix))
                .query(&mut self.conn)
                .map_err(|e| self.fault(e))?;
            let done: Option<()> = ::redis::pipe()
                .atomic()
                .cmd("HSET")
                .arg(&key)
                .arg("run_id")
                .arg(&meta.run_id)
                .arg("started_at")
                .arg(started_at)
                .arg("config")
                .arg(&meta.config)
                .arg("data_source")
                .arg(&meta.data_source)
                .arg("status")
                .arg(meta.status.as_str())
                .ignore()
                .cmd("ZADD")
                .arg(self.runs_key())
                .arg(seq)
                .arg(&meta.run_id)
                .ignore()
                .query(&mut self.conn)
                .map_err(|e| self.fault(e))?;
            if done.is_some() {
                return Ok(());
            }
        }
    }

    fn write_days(&mut self, run_id: &str, days: &[DayBatch]) -> Result<(), Fault> {
        let meta = self.run_key(run_id);
        loop {
            ::redis::cmd("WATCH").arg(&meta).exec(&mut self.conn).map_err(|e| self.fault(e))?;
            let checked = match self.last_day(run_id)? {
                None => Err(Fault::Fatal(StoreError::RunNotFound(run_id.to_string()))),
                Some(last) => days_to_write(NAME, run_id, last, days),
            };
            let todo = match checked {
                Ok(d) if !d.is_empty() => d,
                other => {
                    ::redis::cmd("UNWATCH").exec(&mut self.conn).map_err(|e| self.fault(e))?;
                    return other.map(|_| ());
                }
            };
            let mut p = ::redis::pipe();
            p.atomic();
            for d in todo {
                if let Some(a) = &d.account {
                    let member = format!(
                        "{}|{}|{}|{}|{}|{}|{}|{}",
                        a.date,
                        d.day_index,
                        a.total_value.0,
                        a.cash.0,
                        a.frozen_cash.0,
                        a.market_value.0,
                        a.peak_value.0,
                        a.drawdown
                    );
                    p.cmd("ZADD").arg(self.key(run_id, "snapshots")).arg(d.day_index).arg(member).ignore();
                }
                let key = self.key(run_id, "position_snapshots");
                for (n, x) in d.positions.iter().enumerate() {
                    p.cmd("XADD").arg(&key).arg(entry_id(d.day_index, n));
                    p.arg("symbol").arg(&x.symbol).arg("position").arg(position_value(x)).ignore();
                }
                let key = self.key(run_id, "orders");
                for (n, o) in d.orders.iter().enumerate() {
                    let (kind, limit) = codec::order_type_parts(o.order_type);
                    p.cmd("XADD").arg(&key).arg(entry_id(d.day_index, n));
                    p.arg("order_id").arg(o.id.0).arg("day_index").arg(d.day_index);
                    p.arg("symbol").arg(&o.symbol).arg("side").arg(o.side.as_str());
                    p.arg("order_type")
                        .arg(kind)
                        .arg("limit_price")
                        .arg(limit.map_or(String::new(), |l| l.to_string()));
                    p.arg("quantity").arg(o.quantity).arg("filled").arg(o.filled).arg("status").arg(o.status.as_str());
                    p.arg("created").arg(o.created.to_string()).arg("updated").arg(o.updated.to_string());
                    p.arg("filled_notional").arg(o.filled_notional.0).arg("commission").arg(o.commission.0);
                    p.arg("taxes").arg(o.taxes.0).arg("frozen_cash").arg(o.frozen_cash.0).arg("tag").arg(&o.tag);
                    p.ignore();
                }
                let key = self.key(run_id, "risk_events");
                for (n, e) in d.risk_events.iter().enumerate() {
                    p.cmd("XADD").arg(&key).arg(entry_id(d.day_index, n));
                    p.arg("date").arg(e.date.to_string()).arg("symbol").arg(&e.symbol);
                    p.arg("order_id").arg(e.order_id.0).arg("side").arg(e.side.as_str());
                    p.arg("reason").arg(e.reason.code()).arg("detail").arg(&e.detail).ignore();
                }
                let key = self.key(run_id, "executions");
                for (n, x) in d.executions.iter().enumerate() {
                    p.cmd("XADD").arg(&key).arg(entry_id(d.day_index, n));
                    p.arg("date").arg(x.date.to_string()).arg("order_id").arg(x.order_id.0);
                    p.arg("symbol").arg(&x.symbol).arg("side").arg(x.side.as_str());
                    p.arg("price").arg(x.price.0).arg("quantity").arg(x.quantity);
                    p.arg("commission").arg(x.commission.0).arg("taxes").arg(x.taxes.0);
                    p.arg("reference_price").arg(x.reference_price.0).arg("slippage").arg(x.slippage.0).ignore();
                }
            }
            let final_day = &todo[todo.len() - 1];
            let key = self.key(run_id, "positions");
            p.cmd("DEL").arg(&key).ignore();
            if !final_day.positions.is_empty() {
                p.cmd("HSET").arg(&key);
                for x in &final_day.positions {
                    p.arg(&x.symbol).arg(position_value(x));
                }
                p.ignore();
            }
            p.cmd("HSET").arg(&meta).arg("last_day_index").arg(final_day.day_index).ignore();
            let done: Option<()> = p.query(&mut self.conn).map_err(|e| self.fault(e))?;
            if done.is_some() {
                return Ok(());
            }
            // Another client touched the run between WATCH and EXEC: read it again.
        }
    }

    fn set_status(&mut self, run_id: &str, status: RunStatus) -> Result<(), Fault> {
        // HSET with XX semantics: only an existing run.
        let key = self.run_key(run_id);
        let exists: bool = ::redis::cmd("EXISTS").arg(&key).query(&mut self.conn).map_err(|e| self.fault(e))?;
        if !exists {
            return Err(Fault::Fatal(StoreError::RunNotFound(run_id.to_string())));
        }
        ::redis::cmd("HSET")
            .arg(&key)
            .arg("status")
            .arg(status.as_str())
            .exec(&mut self.conn)
            .map_err(|e| self.fault(e))
    }

    fn run_summaries(&mut self) -> Result<Vec<RunSummary>, Fault> {
        let ids: Vec<String> = ::redis::cmd("ZRANGE")
            .arg(self.runs_key())
            .arg(0)
            .arg(-1)
            .query(&mut self.conn)
            .map_err(|e| self.fault(e))?;
        let mut p = ::redis::pipe();
        for id in &ids {
            p.cmd("HGETALL").arg(self.run_key(id)).cmd("ZCARD").arg(self.key(id, "snapshots"));
        }
        let replies: Vec<(BTreeMap<String, String>, usize)> = if ids.is_empty() {
            Vec::new()
        } else {
            let flat: Vec<Value> = p.query(&mut self.conn).map_err(|e| self.fault(e))?;
            flat.chunks(2)
                .map(|c| {
                    let h = ::redis::from_redis_value(c[0].clone());
                    let n = ::redis::from_redis_value(c[1].clone());
                    match (h, n) {
                        (Ok(h), Ok(n)) => Ok((h, n)),
                        _ => Err(corrupt("run hash", "")),
                    }
                })
                .collect::<Result<_, Fault>>()?
        };
        let mut out = Vec::new();
        for (id, (h, days)) in ids.iter().zip(replies) {
            if h.is_empty() {
                continue; // deleted while listing
            }
            let field = |f: &str| h.get(f).cloned().ok_or_else(|| corrupt(&format!("field {f} of run"), id));
            out.push(RunSummary {
                meta: RunMeta {
                    run_id: field("run_id")?,
                    config: field("config")?,
                    data_source: field("data_source")?,
                    status: codec::run_status(NAME, &field("status")?)?,
                },
                started_at: h.get("started_at").cloned(),
                last_day_index: h
                    .get("last_day_index")
                    .map(|l| l.parse().map_err(|_| corrupt("day index", l)))
                    .transpose()?,
                days,
            });
        }
        Ok(out)
    }

    fn load_run(&mut self, run_id: &str) -> Result<RunRecord, Fault> {
        // All reads inside one MULTI/EXEC: a consistent view between two writers' flushes.
        type Reply = (
            BTreeMap<String, String>,
            Vec<String>,
            StreamRangeReply,
            StreamRangeReply,
            StreamRangeReply,
            StreamRangeReply,
        );
        let (meta, snaps, positions, orders, risk, exec): Reply = ::redis::pipe()
            .atomic()
            .cmd("HGETALL")
            .arg(self.run_key(run_id))
            .cmd("ZRANGE")
            .arg(self.key(run_id, "snapshots"))
            .arg(0)
            .arg(-1)
            .cmd("XRANGE")
            .arg(self.key(run_id, "position_snapshots"))
            .arg("-")
            .arg("+")
            .cmd("XRANGE")
            .arg(self.key(run_id, "orders"))
            .arg("-")
            .arg("+")
            .cmd("XRANGE")
            .arg(self.key(run_id, "risk_events"))
            .arg("-")
            .arg("+")
            .cmd("XRANGE")
            .arg(self.key(run_id, "executions"))
            .arg("-")
            .arg("+")
            .query(&mut self.conn)
            .map_err(|e| self.fault(e))?;
        if meta.is_empty() {
            return Err(Fault::Fatal(StoreError::RunNotFound(run_id.to_string())));
        }
        let last_day_index =
            meta.get("last_day_index").map(|l| l.parse().map_err(|_| corrupt("day index", l))).transpose()?;
        let mut account_snapshots = Vec::with_capacity(snaps.len());
        for s in &snaps {
            let f: Vec<&str> = s.split('|').collect();
            if f.len() != 8 {
                return Err(corrupt("account snapshot", s));
            }
            let n = |i: usize| f[i].parse::<i64>().map_err(|_| corrupt("account snapshot", s));
            account_snapshots.push(AccountSnapshot {
                date: codec::date(NAME, f[0])?,
                total_value: Money(n(2)?),
                cash: Money(n(3)?),
                frozen_cash: Money(n(4)?),
                market_value: Money(n(5)?),
                peak_value: Money(n(6)?),
                drawdown: f[7].parse().map_err(|_| corrupt("drawdown", s))?,
            });
        }
        let position_snapshots = positions
            .ids
            .iter()
            .map(|e| parse_position(&text(e, "symbol")?, &text(e, "position")?))
            .collect::<Result<_, Fault>>()?;
        let mut last_state: BTreeMap<u64, Order> = BTreeMap::new();
        for e in &orders.ids {
            let limit = text(e, "limit_price")?;
            let limit = if limit.is_empty() { None } else { Some(int(e, "limit_price")?) };
            let o = Order {
                id: OrderId(int(e, "order_id")?),
                symbol: text(e, "symbol")?,
                side: codec::side(NAME, &text(e, "side")?)?,
                order_type: codec::order_type(NAME, &text(e, "order_type")?, limit)?,
                quantity: int(e, "quantity")?,
                filled: int(e, "filled")?,
                status: codec::order_status(NAME, &text(e, "status")?)?,
                created: codec::date(NAME, &text(e, "created")?)?,
                updated: codec::date(NAME, &text(e, "updated")?)?,
                filled_notional: Money(int(e, "filled_notional")?),
                commission: Money(int(e, "commission")?),
                taxes: Money(int(e, "taxes")?),
                frozen_cash: Money(int(e, "frozen_cash")?),
                tag: text(e, "tag")?,
            };
            last_state.insert(o.id.0, o);
        }
        let risk_events = risk
            .ids
            .iter()
            .map(|e| {
                Ok(RiskEvent {
                    date: codec::date(NAME, &text(e, "date")?)?,
                    symbol: text(e, "symbol")?,
                    order_id: OrderId(int(e, "order_id")?),
                    side: codec::side(NAME, &text(e, "side")?)?,
                    reason: codec::reason(NAME, &text(e, "reason")?)?,
                    detail: text(e, "detail")?,
                })
            })
            .collect::<Result<_, Fault>>()?;
        let executions = exec
            .ids
            .iter()
            .map(|e| {
                Ok(ExecutionLog {
                    date: codec::date(NAME, &text(e, "date")?)?,
                    order_id: OrderId(int(e, "order_id")?),
                    symbol: text(e, "symbol")?,
                    side: codec::side(NAME, &text(e, "side")?)?,
                    price: Price(int(e, "price")?),
                    quantity: int(e, "quantity")?,
                    commission: Money(int(e, "commission")?),
                    taxes: Money(int(e, "taxes")?),
                    reference_price: Price(int(e, "reference_price")?),
                    slippage: Money(int(e, "slippage")?),
                })
            })
            .collect::<Result<_, Fault>>()?;
        Ok(RunRecord {
            account_snapshots,
            position_snapshots,
            orders: last_state.into_values().collect(),
            risk_events,
            executions,
            last_day_index,
        })
    }

    fn delete_run(&mut self, run_id: &str) -> Result<(), Fault> {
        if self.last_day(run_id)?.is_none() {
            return Err(Fault::Fatal(StoreError::RunNotFound(run_id.to_string())));
        }
        let mut p = ::redis::pipe();
        p.atomic().cmd("DEL").arg(self.run_key(run_id));
        for part in ["snapshots", "positions", "position_snapshots", "orders", "risk_events", "executions"] {
            p.arg(self.key(run_id, part));
        }
        p.ignore().cmd("ZREM").arg(self.runs_key()).arg(run_id).ignore();
        p.exec(&mut self.conn).map_err(|e| self.fault(e))
    }
}

fn text(e: &StreamId, field: &str) -> Result<String, Fault> {
    e.get::<String>(field).ok_or_else(|| corrupt(&format!("field {field} of stream entry"), &e.id))
}

fn int<T: std::str::FromStr>(e: &StreamId, field: &str) -> Result<T, Fault> {
    let s = text(e, field)?;
    s.parse().map_err(|_| corrupt(field, &s))
}

fn parse_position(symbol: &str, v: &str) -> Result<PositionSnapshot, Fault> {
    let f: Vec<&str> = v.split('|').collect();
    if f.len() != 11 {
        return Err(corrupt("position", v));
    }
    let n = |i: usize| f[i].parse::<i64>().map_err(|_| corrupt("position", v));
    Ok(PositionSnapshot {
        date: codec::date(NAME, f[0])?,
        symbol: symbol.to_string(),
        amount: n(1)?,
        sellable: n(2)?,
        avg_price: Price(n(3)?),
        entry_price: Price(n(4)?),
        entry_date: codec::date(NAME, f[5])?,
        high_since_entry: Price(n(6)?),
        last_price: Price(n(7)?),
        days_held: f[8].parse().map_err(|_| corrupt("days held", v))?,
        market_value: Money(n(9)?),
        realized_pnl: Money(n(10)?),
    })
}
