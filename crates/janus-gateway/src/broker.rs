//! [`GatewayBroker`]: the `Broker` port spoken over two Redis Streams to an external bridge.
//!
//! Orders, cancels and queries are appended to the out stream; the bridge's reports, answers
//! and heartbeats are read from the in stream through the consumer group `janus`. A report is
//! acknowledged (XACK) only at the poll after the one that returned it, when the engine has
//! applied it: a process that dies in between gets it again from its pending list on restart,
//! and the ledger drops the repeat by trade id. Every command has a socket timeout; a dropped
//! connection is reopened once per command before the broker is declared unreachable.

use crate::protocol::{self, Body, Envelope, Query};
use crate::GatewayConfig;
use janus_core::{Broker, BrokerAccount, BrokerError, BrokerOrder, BrokerPosition, ExecReport, Order, OrderId};
use redis::streams::StreamReadReply;
use redis::{Client, Connection, RedisError, RedisResult};
use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

/// The consumer group Janus reads the in stream with.
pub const JANUS_GROUP: &str = "janus";
/// The consumer group the bridge is expected to read the out stream with.
pub const BRIDGE_GROUP: &str = "bridge";

/// Longest single blocking read: shorter than the socket timeout, so a blocked read is never
/// mistaken for a dead server.
const BLOCK_SLICE: Duration = Duration::from_millis(200);

pub use janus_core::url::redact;

/// One answer to a query, as read from the in stream.
enum Answer {
    Account(BrokerAccount),
    Positions(Vec<BrokerPosition>),
    OpenOrders(Vec<BrokerOrder>),
}

/// The broker behind a bridge, reached through Redis Streams.
pub struct GatewayBroker {
    cfg: GatewayConfig,
    client: Client,
    conn: Option<Connection>,
    out_key: String,
    in_key: String,
    dead_key: String,
    /// Client order ids this process has written to the out stream: a repeated submit is a no-op.
    sent: BTreeSet<u64>,
    /// Reports read but not yet returned by `poll` (read while waiting for a query's answer).
    buffered: VecDeque<(String, ExecReport)>,
    /// Entry ids returned by the last `poll`: acknowledged at the next one.
    to_ack: Vec<String>,
    /// Unacknowledged entry ids already handled, so a re-read of the pending list skips them.
    seen: BTreeSet<String>,
    /// Read the pending list after this entry id before new entries: from `0` at start-up and
    /// after a reconnect, paging on until it is exhausted.
    read_pending: Option<String>,
    /// A message the bridge sent that Janus could not use, reported by the next `poll`.
    bad: Option<String>,
    last_heard: Option<Instant>,
    started: Instant,
    queries: u64,
}

fn is_connection_fault(e: &RedisError) -> bool {
    e.is_timeout() || e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal()
}

impl GatewayBroker {
    /// Connect to Redis and make sure the in stream and Janus's consumer group exist. The
    /// bridge need not be running yet: its silence shows up at the first submit or poll.
    pub fn connect(cfg: GatewayConfig) -> Result<GatewayBroker, BrokerError> {
        let shown = redact(&cfg.url);
        let client = Client::open(cfg.url.as_str())
            .map_err(|e| BrokerError::Protocol(format!("gateway redis_url {shown} is not a Redis URL: {e}")))?;
        let mut gw = GatewayBroker {
            out_key: cfg.out_stream(),
            in_key: cfg.in_stream(),
            dead_key: format!("{}:{}:dead", cfg.prefix, cfg.account),
            cfg,
            client,
            conn: None,
            sent: BTreeSet::new(),
            buffered: VecDeque::new(),
            to_ack: Vec::new(),
            seen: BTreeSet::new(),
            read_pending: Some("0".into()),
            bad: None,
            last_heard: None,
            started: Instant::now(),
            queries: 0,
        };
        gw.ensure_group()?;
        Ok(gw)
    }

    pub fn config(&self) -> &GatewayConfig {
        &self.cfg
    }

    fn ensure_group(&mut self) -> Result<(), BrokerError> {
        let key = self.in_key.clone();
        let created = self.run("create the consumer group", |c| {
            redis::cmd("XGROUP").arg("CREATE").arg(&key).arg(JANUS_GROUP).arg("0").arg("MKSTREAM").exec(c)
        });
        match created {
            Err(BrokerError::Protocol(m)) if m.contains("BUSYGROUP") => Ok(()),
            other => other,
        }
    }

    fn open(&self) -> RedisResult<Connection> {
        let conn = self.client.get_connection_with_timeout(self.cfg.connect_timeout)?;
        conn.set_read_timeout(Some(self.cfg.io_timeout))?;
        conn.set_write_timeout(Some(self.cfg.io_timeout))?;
        Ok(conn)
    }

    /// Run one command; on a connection fault reopen the connection and try once more. What
    /// was being done (`what`) goes into the error.
    fn run<T>(&mut self, what: &str, f: impl Fn(&mut Connection) -> RedisResult<T>) -> Result<T, BrokerError> {
        let mut last = None;
        for _attempt in 0..2 {
            if self.conn.is_none() {
                match self.open() {
                    Ok(c) => {
                        // Entries delivered on the lost connection may never have reached us.
                        self.read_pending = Some("0".into());
                        self.conn = Some(c);
                    }
                    Err(e) => {
                        last = Some(e);
                        continue;
                    }
                }
            }
            let Some(conn) = self.conn.as_mut() else { continue };
            match f(conn) {
                Ok(v) => return Ok(v),
                Err(e) if is_connection_fault(&e) => {
                    self.conn = None;
                    last = Some(e);
                }
                Err(e) => {
                    return Err(BrokerError::Protocol(format!(
                        "Redis at {} refused to {what} ({e})",
                        redact(&self.cfg.url)
                    )))
                }
            }
        }
        let e = last.map_or_else(|| "no connection".to_string(), |e| e.to_string());
        Err(BrokerError::Unreachable(format!(
            "cannot {what}: Redis at {} does not answer ({e}); is the server running?",
            redact(&self.cfg.url)
        )))
    }

    fn append(&mut self, what: &str, env: &Envelope) -> Result<(), BrokerError> {
        let key = self.out_key.clone();
        let text = protocol::encode(env);
        self.run(what, |c| redis::cmd("XADD").arg(&key).arg("*").arg(protocol::FIELD).arg(&text).exec(c))
    }

    /// How long the bridge has said nothing (counted from start-up before its first message).
    fn silence(&self) -> Duration {
        self.last_heard.unwrap_or(self.started).elapsed()
    }

    fn silent_error(&self, what: &str) -> BrokerError {
        BrokerError::Unreachable(format!(
            "{what}: the bridge for account {:?} has sent nothing, not even a heartbeat, for {:.1} s on {} \
             (silence timeout {:.1} s); orders sent meanwhile stay Submitted until it returns or reconciliation \
             settles them. Is the bridge running?",
            self.cfg.account,
            self.silence().as_secs_f64(),
            self.in_key,
            self.cfg.silence_timeout.as_secs_f64()
        ))
    }

    /// Read what the in stream has (waiting up to `block`), buffer the reports and hand back
    /// the first answer carrying `want` as correlation id, if any arrived.
    fn read_in(&mut self, block: Duration, want: Option<&str>) -> Result<Option<Answer>, BrokerError> {
        let (from, entries) = loop {
            let from = self.read_pending.clone().unwrap_or_else(|| ">".into());
            let (key, consumer) = (self.in_key.clone(), self.cfg.consumer.clone());
            let block_ms = block.as_millis().max(1) as u64;
            let reply: Option<StreamReadReply> = self.run("read the in stream", |c| {
                let mut cmd = redis::cmd("XREADGROUP");
                cmd.arg("GROUP").arg(JANUS_GROUP).arg(&consumer).arg("COUNT").arg(100);
                if from == ">" && !block.is_zero() {
                    cmd.arg("BLOCK").arg(block_ms);
                }
                cmd.arg("STREAMS").arg(&key).arg(&from).query(c)
            })?;
            let entries: Vec<_> = reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids).collect();
            if from == ">" {
                break (from, entries);
            }
            // Paging through the pending list; once it is exhausted, new entries follow.
            self.read_pending = entries.last().map(|e| e.id.clone());
            if !entries.is_empty() {
                break (from, entries);
            }
        };
        let mut answer = None;
        let mut done = Vec::new();
        let mut beats = Vec::new();
        for entry in entries {
            if !self.seen.insert(entry.id.clone()) {
                continue; // handled already, not yet acknowledged
            }
            if from == ">" {
                // Entries re-read from the pending list are old news, not a sign of life.
                self.last_heard = Some(Instant::now());
            }
            let text: Option<String> = entry.get(protocol::FIELD);
            let decoded = text
                .as_deref()
                .map_or_else(|| Err(format!("the entry has no {:?} field", protocol::FIELD)), protocol::decode);
            let env = match decoded {
                Ok(env) => env,
                Err(why) => {
                    self.set_aside(&entry.id, text.as_deref().unwrap_or(""), &why)?;
                    done.push(entry.id);
                    continue;
                }
            };
            if let Some(report) = env.to_report() {
                match report {
                    Ok(r) => self.buffered.push_back((entry.id, r)),
                    Err(why) => {
                        self.set_aside(&entry.id, text.as_deref().unwrap_or(""), &why)?;
                        done.push(entry.id);
                    }
                }
                continue;
            }
            done.push(entry.id.clone());
            if matches!(env.body, Body::Heartbeat { .. }) {
                beats.push(entry.id.clone());
            }
            let matches = |cid: &Option<String>| want.is_some() && cid.as_deref() == want;
            let parsed = match &env.body {
                Body::Account { correlation_id, available_cash, frozen_cash } if matches(correlation_id) => {
                    Some(protocol::account(available_cash, frozen_cash).map(Answer::Account))
                }
                Body::Positions { correlation_id, positions } if matches(correlation_id) => {
                    Some(positions.iter().map(protocol::position).collect::<Result<_, _>>().map(Answer::Positions))
                }
                Body::OpenOrders { correlation_id, orders } if matches(correlation_id) => {
                    Some(orders.iter().map(protocol::open_order).collect::<Result<_, _>>().map(Answer::OpenOrders))
                }
                Body::Error { correlation_id, detail } if matches(correlation_id) => Some(Err(detail.clone())),
                // Heartbeats, unsolicited snapshots and late answers to queries that timed out.
                _ => None,
            };
            match parsed {
                Some(Ok(a)) => answer = Some(a),
                Some(Err(why)) => {
                    self.ack(&done)?;
                    return Err(BrokerError::Protocol(format!(
                        "the bridge's answer {} on {} cannot be used: {why}",
                        env.msg_id, self.in_key
                    )));
                }
                None => {}
            }
        }
        self.ack(&done)?;
        self.forget(&beats)?;
        Ok(answer)
    }

    /// Delete read heartbeats: they say nothing later readers need, and a day of them would
    /// otherwise outnumber the reports many times.
    fn forget(&mut self, ids: &[String]) -> Result<(), BrokerError> {
        if ids.is_empty() {
            return Ok(());
        }
        let key = self.in_key.clone();
        self.run("delete read heartbeats", |c| redis::cmd("XDEL").arg(&key).arg(ids).exec(c))
    }

    /// Move an unusable entry to the dead-letter stream (kept for the bridge's author) and
    /// remember it for the next `poll`, which fails with it once.
    fn set_aside(&mut self, id: &str, text: &str, why: &str) -> Result<(), BrokerError> {
        let key = self.dead_key.clone();
        self.run("set aside a bad message", |c| {
            redis::cmd("XADD")
                .arg(&key)
                .arg("*")
                .arg("entry")
                .arg(id)
                .arg(protocol::FIELD)
                .arg(text)
                .arg("error")
                .arg(why)
                .exec(c)
        })?;
        if self.bad.is_none() {
            self.bad = Some(format!(
                "the bridge sent entry {id} on {} that Janus cannot use: {why}; it was moved to {} (message: {text})",
                self.in_key, self.dead_key
            ));
        }
        Ok(())
    }

    fn ack(&mut self, ids: &[String]) -> Result<(), BrokerError> {
        if ids.is_empty() {
            return Ok(());
        }
        let key = self.in_key.clone();
        self.run("acknowledge messages", |c| redis::cmd("XACK").arg(&key).arg(JANUS_GROUP).arg(ids).exec(c))?;
        for id in ids {
            self.seen.remove(id);
        }
        Ok(())
    }

    /// Ask the bridge something and wait (up to the query timeout) for its answer.
    fn query(&mut self, what: Query) -> Result<Answer, BrokerError> {
        self.queries += 1;
        // Unique across restarts, so a late answer to an older process's query never matches.
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let cid = format!("{}-{nanos}-{}", self.cfg.consumer, self.queries);
        let env = Envelope {
            v: protocol::VERSION,
            msg_id: format!("janus-query-{cid}"),
            client_order_id: None,
            body: Body::Query { what, correlation_id: cid.clone() },
        };
        self.append(&format!("send the {} query", what.name()), &env)?;
        let deadline = Instant::now() + self.cfg.query_timeout;
        loop {
            if let Some(a) = self.read_in(BLOCK_SLICE, Some(&cid))? {
                return Ok(a);
            }
            if Instant::now() >= deadline {
                let mut e = self.silent_error(&format!("no answer to the {} query {cid}", what.name()));
                if let BrokerError::Unreachable(m) = &mut e {
                    m.push_str(&format!(" (waited {:.1} s)", self.cfg.query_timeout.as_secs_f64()));
                }
                return Err(e);
            }
        }
    }

    /// Wait until the bridge has said something (a heartbeat will do), up to `within`.
    pub fn wait_for_bridge(&mut self, within: Duration) -> Result<(), BrokerError> {
        let deadline = Instant::now() + within;
        let before = self.last_heard;
        while self.last_heard == before {
            if Instant::now() >= deadline {
                return Err(self.silent_error("waiting for the bridge"));
            }
            self.read_in(BLOCK_SLICE, None)?;
        }
        Ok(())
    }

    /// Check for silence after writing: read what has come in, then judge.
    fn check_alive(&mut self, what: &str) -> Result<(), BrokerError> {
        if self.silence() > self.cfg.silence_timeout {
            self.read_in(Duration::ZERO, None)?;
            if self.silence() > self.cfg.silence_timeout {
                return Err(self.silent_error(what));
            }
        }
        Ok(())
    }
}

impl Broker for GatewayBroker {
    /// Write the order to the out stream once per process; the bridge ignores an id it has
    /// (so a resend after a restart is safe). A silent bridge makes this `Unreachable` after
    /// the write: the order waits in the stream and its fate is unknown until it returns.
    fn submit(&mut self, order: &Order) -> Result<(), BrokerError> {
        if self.sent.contains(&order.id.0) {
            return Ok(());
        }
        if order.quantity <= 0 {
            return Err(BrokerError::Protocol(format!(
                "order {} has quantity {}: only positive quantities can be sent",
                order.id.0, order.quantity
            )));
        }
        let env = protocol::new_order(order, &self.cfg.account);
        self.append(&format!("send order {}", order.id.0), &env)?;
        self.sent.insert(order.id.0);
        self.check_alive(&format!("order {} was written to {}", order.id.0, self.out_key))
    }

    fn cancel(&mut self, order_id: OrderId) -> Result<(), BrokerError> {
        self.queries += 1;
        let env = Envelope {
            v: protocol::VERSION,
            msg_id: format!("janus-cancel-{}-{}-{}", order_id.0, self.cfg.consumer, self.queries),
            client_order_id: Some(order_id.0.to_string()),
            body: Body::CancelOrder { account: self.cfg.account.clone() },
        };
        self.append(&format!("send the cancel of order {}", order_id.0), &env)?;
        self.check_alive(&format!("the cancel of order {} was written to {}", order_id.0, self.out_key))
    }

    fn poll(&mut self) -> Result<Vec<ExecReport>, BrokerError> {
        // The engine has applied what the last poll returned: those may go now.
        let done = std::mem::take(&mut self.to_ack);
        self.ack(&done)?;
        self.read_in(self.cfg.poll_block, None)?;
        if let Some(bad) = self.bad.take() {
            return Err(BrokerError::Protocol(bad));
        }
        if self.buffered.is_empty() && self.silence() > self.cfg.silence_timeout {
            return Err(self.silent_error("poll"));
        }
        let (ids, reports): (Vec<String>, Vec<ExecReport>) = self.buffered.drain(..).unzip();
        self.to_ack = ids;
        Ok(reports)
    }

    fn account(&mut self) -> Result<BrokerAccount, BrokerError> {
        match self.query(Query::Account)? {
            Answer::Account(a) => Ok(a),
            _ => Err(BrokerError::Protocol("the bridge answered the account query with another type".into())),
        }
    }

    fn positions(&mut self) -> Result<Vec<BrokerPosition>, BrokerError> {
        match self.query(Query::Positions)? {
            Answer::Positions(p) => Ok(p),
            _ => Err(BrokerError::Protocol("the bridge answered the positions query with another type".into())),
        }
    }

    fn open_orders(&mut self) -> Result<Vec<BrokerOrder>, BrokerError> {
        match self.query(Query::OpenOrders)? {
            Answer::OpenOrders(o) => Ok(o),
            _ => Err(BrokerError::Protocol("the bridge answered the open_orders query with another type".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_never_appears_in_a_shown_url() {
        assert_eq!(redact("redis://:secret@host:6379/0"), "redis://:***@host:6379/0");
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }

    #[test]
    fn an_unreachable_server_is_reported_as_unreachable_not_as_a_protocol_error() {
        let cfg = GatewayConfig {
            connect_timeout: Duration::from_millis(300),
            ..GatewayConfig::new("redis://127.0.0.1:1/0", "acc")
        };
        match GatewayBroker::connect(cfg) {
            Err(BrokerError::Unreachable(m)) => assert!(m.contains("127.0.0.1:1"), "{m}"),
            Err(e) => panic!("expected Unreachable, got {e}"),
            Ok(_) => panic!("port 1 has no Redis"),
        }
    }
}
