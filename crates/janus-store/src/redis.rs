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
//! | `P:run:ID:corporate_actions` | stream | what corporate actions did to holdings, one entry per holding and ex-date |
//! | `P:run:ID:journal:INSTANCE` | sorted set | the journal of one strategy instance, scored by sequence number; member `seq\|date\|kind\|payload` (seq zero-padded to 20 digits, payload the event's JSON); a script adds an event only when its seq is not stored yet |
//! | `P:run:ID:instances` | set | the instances that have a journal |
//! | `P:run:ID:checkpoints` | hash | instance to its latest checkpoint, `day_index\|seq\|state` |
//!
//! A day's journal events and checkpoint go into the same MULTI/EXEC as its rows; events
//! appended between days (written ahead of an order) have their own, under WATCH of the run.
//!
//! Stream entries have ids `D-N` with D the trading day's index plus one and N counting within
//! the day, so `XRANGE key 11 20` reads days 10 to 19; their fields are named like the SQL
//! columns (the `position_snapshots` entries carry `symbol` and `position`, encoded like the
//! `positions` hash). Money and prices
//! are the fixed-point integers (1/10000 CNY).
//!
//! Every command has the read/write timeout of [`StoreOptions::io_timeout`], and opening checks
//! with a `PING` that the server accepts this client, so a server that wants a password (or
//! another one) fails at open with advice, not at the first write of a run.

mod fields;
mod journal;
mod open;

use crate::codec;
use crate::persistent::{days_to_write, Backend, Fault};
use crate::{redact, StoreOptions};
use ::redis::streams::StreamRangeReply;
use ::redis::{Client, Connection, Value};
use fields::{
    entry_id, parse_account, parse_corporate_action, parse_execution, parse_order, parse_position, parse_risk_event,
    position_value, text,
};
use janus_core::{Checkpoint, DayBatch, JournalEvent, Order, RunMeta, RunRecord, RunStatus, RunSummary, StoreError};
use open::{auth_advice, connect, is_auth_error, with_env_password};
use std::collections::BTreeMap;
use std::time::Duration;

const NAME: &str = "redis";

/// A run's streams, in the order `load_run` reads them.
const STREAMS: [&str; 5] = ["position_snapshots", "orders", "risk_events", "executions", "corporate_actions"];

/// A Redis database with Janus keys under one prefix.
pub struct RedisBackend {
    client: Client,
    conn: Connection,
    prefix: String,
    connect_timeout: Duration,
    io_timeout: Duration,
    /// The password as written and decoded, scrubbed from every message.
    secrets: Vec<String>,
}

/// The server is up but cannot serve yet (LOADING: a restarted server still reading its data
/// back); worth waiting for.
fn is_busy(e: &::redis::RedisError) -> bool {
    matches!(e.code(), Some("LOADING" | "TRYAGAIN" | "MASTERDOWN"))
}

fn fault(e: ::redis::RedisError) -> Fault {
    let busy = is_busy(&e);
    if e.is_timeout() {
        // A socket timeout reads "Resource temporarily unavailable": say what it means.
        Fault::Transient(format!("the server did not answer in time ({e})"))
    } else if busy || e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() {
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
    /// Connect and check that the server accepts this client. The password comes from the
    /// URL, or else from `REDISCLI_AUTH`.
    pub fn open(url: &str, prefix: &str, opts: &StoreOptions) -> Result<RedisBackend, StoreError> {
        let shown = redact(url);
        let (url, from) = with_env_password(url);
        let secrets = crate::url_secrets(&url);
        let client = Client::open(url.as_str())
            .map_err(|e| StoreError::InvalidUrl { url: shown.clone(), reason: format!("not a Redis URL: {e}") })?;
        let refused = |e: &::redis::RedisError| StoreError::Backend {
            backend: NAME,
            message: crate::scrub(auth_advice(&shown, from, e), &secrets),
        };
        let mut conn = match connect(&client, opts.connect_timeout, opts.io_timeout) {
            Ok(c) => c,
            Err(e) if is_auth_error(&e) => return Err(refused(&e)),
            Err(e) => {
                return Err(StoreError::Backend {
                    backend: NAME,
                    message: crate::scrub(
                        format!("cannot connect to Redis at {shown}: {}. Is the server running?", message(fault(e))),
                        &secrets,
                    ),
                })
            }
        };
        // Without a password the connection opens even when the server wants one: every
        // command would then fail with NOAUTH, so ask once now. A server still loading its data
        // after a restart is up: wait for it (for the retry time).
        let started = std::time::Instant::now();
        let mut ping = ::redis::cmd("PING").exec(&mut conn);
        while ping.as_ref().is_err_and(|e| is_busy(e) && started.elapsed() < opts.retry) {
            std::thread::sleep(Duration::from_millis(100));
            ping = ::redis::cmd("PING").exec(&mut conn);
        }
        if let Err(e) = ping {
            return Err(if is_auth_error(&e) {
                refused(&e)
            } else {
                StoreError::Backend {
                    backend: NAME,
                    message: crate::scrub(format!("Redis at {shown} does not answer PING: {e}"), &secrets),
                }
            });
        }
        Ok(RedisBackend {
            client,
            conn,
            prefix: prefix.to_string(),
            connect_timeout: opts.connect_timeout,
            io_timeout: opts.io_timeout,
            secrets,
        })
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
        scrubbed(fault(e), &self.secrets)
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

/// A fault with the secrets taken out of its message.
fn scrubbed(f: Fault, secrets: &[String]) -> Fault {
    match f {
        Fault::Transient(m) => Fault::Transient(crate::scrub(m, secrets)),
        Fault::Fatal(StoreError::Backend { backend, message }) => {
            Fault::Fatal(StoreError::Backend { backend, message: crate::scrub(message, secrets) })
        }
        f => f,
    }
}

/// Delete every key under a prefix.
pub fn drop_prefix(url: &str, prefix: &str) -> Result<(), StoreError> {
    let mut b = RedisBackend::open(url, prefix, &StoreOptions::default())?;
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

impl Backend for RedisBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn reconnect(&mut self) -> Result<(), Fault> {
        self.conn = connect(&self.client, self.connect_timeout, self.io_timeout).map_err(|e| self.fault(e))?;
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
                let key = self.key(run_id, "corporate_actions");
                for (n, c) in d.corporate_actions.iter().enumerate() {
                    p.cmd("XADD").arg(&key).arg(entry_id(d.day_index, n));
                    p.arg("date").arg(c.date.to_string()).arg("symbol").arg(&c.symbol);
                    p.arg("shares_before").arg(c.shares_before).arg("bonus_shares").arg(c.bonus_shares);
                    p.arg("rights_shares").arg(c.rights_shares).arg("rights_paid").arg(c.rights_paid.0);
                    p.arg("dividend").arg(c.dividend.0).arg("dividend_tax").arg(c.dividend_tax.0);
                    p.arg("reference_price").arg(c.reference_price.0).ignore();
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
            let events: Vec<JournalEvent> = todo.iter().flat_map(|d| d.events.iter().cloned()).collect();
            if let Err(f) = self.queue_events(&mut p, run_id, &events) {
                ::redis::cmd("UNWATCH").exec(&mut self.conn).map_err(|e| self.fault(e))?;
                return Err(f);
            }
            self.queue_checkpoints(&mut p, run_id, todo);
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
            StreamRangeReply,
        );
        let mut p = ::redis::pipe();
        p.atomic().cmd("HGETALL").arg(self.run_key(run_id));
        p.cmd("ZRANGE").arg(self.key(run_id, "snapshots")).arg(0).arg(-1);
        for part in STREAMS {
            p.cmd("XRANGE").arg(self.key(run_id, part)).arg("-").arg("+");
        }
        let (meta, snaps, positions, orders, risk, exec, corporate): Reply =
            p.query(&mut self.conn).map_err(|e| self.fault(e))?;
        if meta.is_empty() {
            return Err(Fault::Fatal(StoreError::RunNotFound(run_id.to_string())));
        }
        let last_day_index =
            meta.get("last_day_index").map(|l| l.parse().map_err(|_| corrupt("day index", l))).transpose()?;
        let mut last_state: BTreeMap<u64, Order> = BTreeMap::new();
        for e in &orders.ids {
            let o = parse_order(e)?;
            last_state.insert(o.id.0, o);
        }
        Ok(RunRecord {
            account_snapshots: snaps.iter().map(|s| parse_account(s)).collect::<Result<_, Fault>>()?,
            position_snapshots: positions
                .ids
                .iter()
                .map(|e| parse_position(&text(e, "symbol")?, &text(e, "position")?))
                .collect::<Result<_, Fault>>()?,
            orders: last_state.into_values().collect(),
            risk_events: risk.ids.iter().map(parse_risk_event).collect::<Result<_, Fault>>()?,
            executions: exec.ids.iter().map(parse_execution).collect::<Result<_, Fault>>()?,
            corporate_actions: corporate.ids.iter().map(parse_corporate_action).collect::<Result<_, Fault>>()?,
            last_day_index,
        })
    }

    fn append_events(&mut self, run_id: &str, events: &[JournalEvent]) -> Result<(), Fault> {
        let meta = self.run_key(run_id);
        loop {
            // Under WATCH of the run: a run deleted meanwhile gets no orphan journal.
            ::redis::cmd("WATCH").arg(&meta).exec(&mut self.conn).map_err(|e| self.fault(e))?;
            let mut p = ::redis::pipe();
            p.atomic();
            let queued = match self.last_day(run_id)? {
                None => Err(Fault::Fatal(StoreError::RunNotFound(run_id.to_string()))),
                Some(_) => self.queue_events(&mut p, run_id, events),
            };
            if let Err(f) = queued {
                ::redis::cmd("UNWATCH").exec(&mut self.conn).map_err(|e| self.fault(e))?;
                return Err(f);
            }
            let done: Option<()> = p.query(&mut self.conn).map_err(|e| self.fault(e))?;
            if done.is_some() {
                return Ok(());
            }
        }
    }

    fn load_events(&mut self, run_id: &str, instance: &str, after_seq: u64) -> Result<Vec<JournalEvent>, Fault> {
        // ZRANGEBYSCORE is a range read on the sorted set's index: O(log N + events read).
        let (exists, members): (bool, Vec<String>) = ::redis::pipe()
            .atomic()
            .cmd("EXISTS")
            .arg(self.run_key(run_id))
            .cmd("ZRANGEBYSCORE")
            .arg(self.journal_key(run_id, instance))
            .arg(format!("({after_seq}"))
            .arg("+inf")
            .query(&mut self.conn)
            .map_err(|e| self.fault(e))?;
        if !exists {
            return Err(Fault::Fatal(StoreError::RunNotFound(run_id.to_string())));
        }
        members.iter().map(|m| journal::parse_event(instance, m)).collect()
    }

    fn load_checkpoint(&mut self, run_id: &str, instance: &str) -> Result<Option<Checkpoint>, Fault> {
        let (exists, value): (bool, Option<String>) = ::redis::pipe()
            .atomic()
            .cmd("EXISTS")
            .arg(self.run_key(run_id))
            .cmd("HGET")
            .arg(self.key(run_id, "checkpoints"))
            .arg(instance)
            .query(&mut self.conn)
            .map_err(|e| self.fault(e))?;
        if !exists {
            return Err(Fault::Fatal(StoreError::RunNotFound(run_id.to_string())));
        }
        value.map(|v| journal::parse_checkpoint(instance, &v)).transpose()
    }

    fn delete_run(&mut self, run_id: &str) -> Result<(), Fault> {
        let instances_key = self.key(run_id, "instances");
        loop {
            // Under WATCH of the run and its instances: a journal begun meanwhile is not left behind.
            ::redis::cmd("WATCH")
                .arg(self.run_key(run_id))
                .arg(&instances_key)
                .exec(&mut self.conn)
                .map_err(|e| self.fault(e))?;
            if self.last_day(run_id)?.is_none() {
                ::redis::cmd("UNWATCH").exec(&mut self.conn).map_err(|e| self.fault(e))?;
                return Err(Fault::Fatal(StoreError::RunNotFound(run_id.to_string())));
            }
            let instances: Vec<String> =
                ::redis::cmd("SMEMBERS").arg(&instances_key).query(&mut self.conn).map_err(|e| self.fault(e))?;
            let mut p = ::redis::pipe();
            p.atomic().cmd("DEL").arg(self.run_key(run_id));
            for part in ["snapshots", "positions", "instances", "checkpoints"].into_iter().chain(STREAMS) {
                p.arg(self.key(run_id, part));
            }
            for instance in &instances {
                p.arg(self.journal_key(run_id, instance));
            }
            p.ignore().cmd("ZREM").arg(self.runs_key()).arg(run_id).ignore();
            let done: Option<()> = p.query(&mut self.conn).map_err(|e| self.fault(e))?;
            if done.is_some() {
                return Ok(());
            }
        }
    }
}
