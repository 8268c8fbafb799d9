//! Closed days from a Redis Stream: one entry per bar, plus a close entry per day and an end
//! entry (the message format of [`crate::message`]).
//!
//! The reader uses `XREAD BLOCK` from the id of the last entry it has read, so it never skips
//! or repeats an entry, and a connection that drops is reopened at that id. It starts from the
//! stream's beginning (`0`), or after a given entry id ([`crate::FeedOptions::resume`]). It
//! reads as a plain reader, not in a consumer group: the stream is the market's record, kept
//! whole, and every paper run reads it all.

use crate::message::{decode, Days};
use crate::publish::Sink;
use crate::{redact, source_error, Event, FeedError, Source};
use chrono::NaiveDate;
use redis::streams::StreamReadReply;
use redis::{Client, Connection, RedisError, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long connecting or a non-blocking command may take before Redis counts as gone.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Entries read per `XREAD`.
const BATCH: usize = 1000;

fn is_connection_fault(e: &RedisError) -> bool {
    e.is_timeout() || e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal()
}

/// A Redis connection that is reopened once when it drops.
struct Link {
    client: Client,
    conn: Option<Connection>,
    shown: String,
}

impl Link {
    fn open(url: &str) -> Result<Link, FeedError> {
        let shown = redact(url);
        let client = Client::open(url)
            .map_err(|e| source_error(&shown, format!("not a Redis URL: {e}; write redis://HOST:PORT")))?;
        let mut link = Link { client, conn: None, shown };
        link.run("connect", Duration::ZERO, |c| redis::cmd("PING").query::<String>(c))?;
        Ok(link)
    }

    /// Run one command whose reply may take `block` (an `XREAD BLOCK`) on top of the usual
    /// I/O time; a dropped connection is reopened and the command tried once more.
    fn run<T>(
        &mut self,
        what: &str,
        block: Duration,
        f: impl Fn(&mut Connection) -> redis::RedisResult<T>,
    ) -> Result<T, FeedError> {
        let mut last = None;
        for _attempt in 0..2 {
            if self.conn.is_none() {
                match self.client.get_connection_with_timeout(IO_TIMEOUT) {
                    Ok(c) => self.conn = Some(c),
                    Err(e) => {
                        last = Some(e);
                        continue;
                    }
                }
            }
            let Some(conn) = self.conn.as_mut() else { continue };
            let timeouts =
                conn.set_read_timeout(Some(IO_TIMEOUT + block)).and_then(|_| conn.set_write_timeout(Some(IO_TIMEOUT)));
            match timeouts.and_then(|_| f(conn)) {
                Ok(v) => return Ok(v),
                Err(e) if is_connection_fault(&e) => {
                    self.conn = None;
                    last = Some(e);
                }
                Err(e) => return Err(source_error(&self.shown, format!("Redis refused to {what}: {e}"))),
            }
        }
        let e = last.map_or_else(|| "no connection".to_string(), |e| e.to_string());
        Err(source_error(&self.shown, format!("cannot {what}: Redis does not answer ({e}); is the server running?")))
    }
}

/// Reads closed days from a Redis Stream.
pub struct RedisSource {
    link: Link,
    key: String,
    /// The id of the last entry read (`0` before the first).
    last_id: String,
    days: Days,
}

impl RedisSource {
    /// Read stream `key` at `url` from its start, or after entry `after_id`.
    pub fn connect(url: &str, key: &str, after_id: Option<&str>) -> Result<RedisSource, FeedError> {
        let link = Link::open(url)?;
        let days = Days::new(format!("redis stream `{key}`"));
        Ok(RedisSource { link, key: key.to_string(), last_id: after_id.unwrap_or("0").to_string(), days })
    }

    /// The id of the last entry read: a reader opened after it continues from here.
    pub fn last_id(&self) -> &str {
        &self.last_id
    }
}

impl Source for RedisSource {
    fn next_event(&mut self, wait: Duration) -> Result<Option<Event>, FeedError> {
        if let Some(e) = self.days.pop() {
            return Ok(Some(e));
        }
        let (key, from) = (self.key.clone(), self.last_id.clone());
        let block_ms = wait.as_millis().max(1) as u64;
        let reply: Option<StreamReadReply> = self.link.run("read the stream", wait, |c| {
            redis::cmd("XREAD")
                .arg("COUNT")
                .arg(BATCH)
                .arg("BLOCK")
                .arg(block_ms)
                .arg("STREAMS")
                .arg(&key)
                .arg(&from)
                .query(c)
        })?;
        for entry in reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids) {
            let at = format!("redis stream `{}` entry {}", self.key, entry.id);
            let mut fields = BTreeMap::new();
            for (name, value) in entry.map {
                let text = match value {
                    Value::BulkString(b) => String::from_utf8(b).ok(),
                    Value::SimpleString(s) => Some(s),
                    _ => None,
                };
                let text = text.ok_or_else(|| source_error(&at, format!("field `{name}` is not UTF-8 text")))?;
                fields.insert(name, text);
            }
            let msg = decode(fields, &at)?;
            self.days.push(&entry.id, msg)?;
            self.last_id = entry.id;
        }
        Ok(self.days.pop())
    }

    fn position(&self) -> String {
        format!("redis stream `{}` after entry {}", self.key, self.last_id)
    }
}

/// Appends bar, close and end entries to a Redis Stream.
pub struct RedisSink {
    link: Link,
    key: String,
    /// Bars of the open day, sent with its close marker in one pipeline.
    pending: Vec<Vec<(String, String)>>,
}

impl RedisSink {
    pub fn connect(url: &str, key: &str) -> Result<RedisSink, FeedError> {
        Ok(RedisSink { link: Link::open(url)?, key: key.to_string(), pending: Vec::new() })
    }

    fn send(&mut self, last: Vec<(String, String)>) -> Result<(), FeedError> {
        let mut entries = std::mem::take(&mut self.pending);
        entries.push(last);
        let key = self.key.clone();
        self.link.run("append to the stream", Duration::ZERO, |c| {
            let mut pipe = redis::pipe();
            for fields in &entries {
                pipe.cmd("XADD").arg(&key).arg("*");
                for (k, v) in fields {
                    pipe.arg(k).arg(v);
                }
                pipe.ignore();
            }
            pipe.exec(c)
        })
    }
}

impl Sink for RedisSink {
    fn bar(&mut self, fields: &[(String, String)]) -> Result<(), FeedError> {
        let mut entry = vec![("type".to_string(), "bar".to_string())];
        entry.extend(fields.iter().filter(|(k, _)| k != "type").cloned());
        self.pending.push(entry);
        Ok(())
    }

    fn close(&mut self, date: NaiveDate) -> Result<(), FeedError> {
        self.send(crate::message::close_fields(date))
    }

    fn end(&mut self) -> Result<(), FeedError> {
        self.send(crate::message::end_fields())
    }

    fn name(&self) -> String {
        format!("{} stream `{}`", self.link.shown, self.key)
    }
}
