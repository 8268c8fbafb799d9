//! Admitted intents on their way from the instances to the gateway: a Redis Stream read by the
//! consumer group `gateway`.
//!
//! An instance adds `{oid, inst, iid}` after its reservation (the order itself is in the
//! ledger; `iid` is the instance's own id of it).
//! The gateway reads new entries, and on start first takes over every entry another gateway
//! read but never acknowledged (`XAUTOCLAIM`), so an intent is handled even when the gateway
//! that read it died; it acknowledges an entry once the order was committed and sent (or found
//! expired). Committing twice returns the same order, and the broker ignores a client order id
//! it has seen, so handling an entry again never makes a second order.

use crate::ledger::{connect, redis_error};
use crate::{Result, SharedConfig, SharedError};
use redis::streams::{StreamAutoClaimReply, StreamReadOptions, StreamReadReply};
use redis::Connection;

pub const GROUP: &str = "gateway";

/// One admitted order waiting for the gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handoff {
    pub stream_id: String,
    pub order_id: u64,
    pub instance: String,
    /// The instance's own id of the order (its intent id).
    pub intent_id: String,
}

/// The instance's end: hand admitted orders to the gateway.
pub struct IntentSender {
    cfg: SharedConfig,
    conn: Connection,
    key: String,
}

impl IntentSender {
    pub fn connect(cfg: &SharedConfig) -> Result<IntentSender> {
        let (_, conn) = connect(cfg)?;
        Ok(IntentSender { cfg: cfg.clone(), conn, key: cfg.key("intents") })
    }

    pub fn send(&mut self, instance: &str, order_id: u64, intent_id: &str) -> Result<()> {
        redis::cmd("XADD")
            .arg(&self.key)
            .arg("*")
            .arg("oid")
            .arg(order_id)
            .arg("inst")
            .arg(instance)
            .arg("iid")
            .arg(intent_id)
            .exec(&mut self.conn)
            .map_err(|e| redis_error(&self.cfg, e))
    }
}

/// The gateway's end.
pub struct IntentReader {
    cfg: SharedConfig,
    conn: Connection,
    key: String,
    consumer: String,
    /// Entries taken over from dead consumers, handed out before new ones.
    backlog: Vec<Handoff>,
}

fn handoff(id: String, map: &std::collections::HashMap<String, redis::Value>) -> Result<Handoff> {
    let field = |k: &str| -> Option<String> { map.get(k).and_then(|v| redis::from_redis_value(v.clone()).ok()) };
    let order_id = field("oid")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| SharedError::Invalid(format!("intent {id} has no order id")))?;
    Ok(Handoff {
        stream_id: id,
        order_id,
        instance: field("inst").unwrap_or_default(),
        intent_id: field("iid").unwrap_or_default(),
    })
}

impl IntentReader {
    /// Join the group as `consumer`, and take over every entry read but not acknowledged.
    pub fn connect(cfg: &SharedConfig, consumer: &str) -> Result<IntentReader> {
        let (_, mut conn) = connect(cfg)?;
        let key = cfg.key("intents");
        let made: redis::RedisResult<()> =
            redis::cmd("XGROUP").arg("CREATE").arg(&key).arg(GROUP).arg("0").arg("MKSTREAM").query(&mut conn);
        if let Err(e) = made {
            if e.code() != Some("BUSYGROUP") {
                return Err(redis_error(cfg, e));
            }
        }
        let mut r = IntentReader { cfg: cfg.clone(), conn, key, consumer: consumer.to_string(), backlog: Vec::new() };
        r.claim_all()?;
        Ok(r)
    }

    fn claim_all(&mut self) -> Result<()> {
        let mut start = "0-0".to_string();
        loop {
            let reply: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
                .arg(&self.key)
                .arg(GROUP)
                .arg(&self.consumer)
                .arg(0)
                .arg(&start)
                .arg("COUNT")
                .arg(1000)
                .query(&mut self.conn)
                .map_err(|e| redis_error(&self.cfg, e))?;
            for e in &reply.claimed {
                self.backlog.push(handoff(e.id.clone(), &e.map)?);
            }
            if reply.next_stream_id == "0-0" {
                break;
            }
            start = reply.next_stream_id;
        }
        Ok(())
    }

    /// Entries to handle: the taken-over ones first, then new ones, waiting up to `block_ms`.
    pub fn read(&mut self, block_ms: usize, count: usize) -> Result<Vec<Handoff>> {
        if !self.backlog.is_empty() {
            return Ok(std::mem::take(&mut self.backlog));
        }
        let opts = StreamReadOptions::default().group(GROUP, &self.consumer).count(count).block(block_ms);
        let reply: Option<StreamReadReply> =
            redis::Commands::xread_options(&mut self.conn, &[&self.key], &[">"], &opts)
                .map_err(|e| redis_error(&self.cfg, e))?;
        let mut out = Vec::new();
        for k in reply.into_iter().flat_map(|r| r.keys) {
            for e in k.ids {
                out.push(handoff(e.id.clone(), &e.map)?);
            }
        }
        Ok(out)
    }

    pub fn ack(&mut self, ids: &[String]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        redis::cmd("XACK")
            .arg(&self.key)
            .arg(GROUP)
            .arg(ids)
            .exec(&mut self.conn)
            .map_err(|e| redis_error(&self.cfg, e))
    }
}
