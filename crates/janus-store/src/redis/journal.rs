//! The journal and checkpoints in Redis. Each strategy instance's events are a sorted set
//! scored by sequence number (a range read from a sequence number costs the same however long
//! the run), written by a small script that adds an event only when its sequence number is not
//! stored yet: appends are idempotent even when the same event comes back with other bytes.
//! Checkpoints are one hash per run, instance to its latest checkpoint.

use super::{corrupt, RedisBackend, NAME};
use crate::codec;
use crate::persistent::Fault;
use janus_core::{Checkpoint, DayBatch, JournalEvent, StoreError};
use std::collections::BTreeMap;

/// KEYS[1]: an instance's journal; ARGV: (seq, member) pairs. Adds each member whose sequence
/// number is not in the journal yet, so a repeated append neither duplicates nor fails.
const ADD_EVENTS: &str = "for i = 1, #ARGV, 2 do \
     if redis.call('ZCOUNT', KEYS[1], ARGV[i], ARGV[i]) == 0 then \
     redis.call('ZADD', KEYS[1], ARGV[i], ARGV[i + 1]) end end return 0";

/// Sorted-set scores are doubles: integers are exact up to 2^53, far beyond any run.
const MAX_SEQ: u64 = 1 << 53;

impl RedisBackend {
    pub(super) fn journal_key(&self, run_id: &str, instance: &str) -> String {
        format!("{}:run:{run_id}:journal:{instance}", self.prefix)
    }

    /// Queue, on an atomic pipeline, the commands that add `events` to their instances'
    /// journals (one script call per instance) and record the instances for `delete_run`.
    pub(super) fn queue_events(
        &self,
        p: &mut ::redis::Pipeline,
        run_id: &str,
        events: &[JournalEvent],
    ) -> Result<(), Fault> {
        let mut by_instance: BTreeMap<&str, Vec<&JournalEvent>> = BTreeMap::new();
        for e in events {
            if e.seq > MAX_SEQ {
                return Err(Fault::Fatal(StoreError::Backend {
                    backend: NAME,
                    message: format!(
                        "run {run_id:?}: journal sequence number {} of instance {:?} is beyond what Redis scores hold \
                         exactly (2^53); use a SQL store for such a run",
                        e.seq, e.instance
                    ),
                }));
            }
            by_instance.entry(&e.instance).or_default().push(e);
        }
        for (instance, events) in by_instance {
            p.cmd("EVAL").arg(ADD_EVENTS).arg(1).arg(self.journal_key(run_id, instance));
            for e in events {
                p.arg(e.seq).arg(member(e));
            }
            p.ignore();
            p.cmd("SADD").arg(self.key(run_id, "instances")).arg(instance).ignore();
        }
        Ok(())
    }

    /// Queue each instance's last checkpoint among `days` (it replaces the stored one).
    pub(super) fn queue_checkpoints(&self, p: &mut ::redis::Pipeline, run_id: &str, days: &[DayBatch]) {
        let last: BTreeMap<&str, &Checkpoint> =
            days.iter().filter_map(|d| d.checkpoint.as_ref()).map(|c| (c.instance.as_str(), c)).collect();
        if last.is_empty() {
            return;
        }
        p.cmd("HSET").arg(self.key(run_id, "checkpoints"));
        for (instance, c) in last {
            p.arg(instance).arg(format!("{}|{}|{}", c.day_index, c.seq, c.state));
        }
        p.ignore();
    }
}

/// `seq|date|kind|payload`: the sequence number first (zero-padded, so members of equal score
/// could never be confused), the payload last (it may contain `|`).
fn member(e: &JournalEvent) -> String {
    format!("{:020}|{}|{}|{}", e.seq, e.date, e.event.kind(), codec::event_payload(&e.event))
}

/// A journal member read back.
pub(super) fn parse_event(instance: &str, m: &str) -> Result<JournalEvent, Fault> {
    let mut parts = m.splitn(4, '|');
    let (Some(seq), Some(date), Some(_kind), Some(payload)) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(corrupt("journal event", m));
    };
    let seq = seq.parse().map_err(|_| corrupt("journal sequence number", seq))?;
    let date = codec::date(NAME, date)?;
    Ok(codec::journal_event(NAME, instance, seq, date, payload)?)
}

/// A checkpoint read back from `day_index|seq|state`.
pub(super) fn parse_checkpoint(instance: &str, v: &str) -> Result<Checkpoint, Fault> {
    let mut parts = v.splitn(3, '|');
    let (Some(day), Some(seq), Some(state)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(corrupt("checkpoint", v));
    };
    Ok(Checkpoint {
        instance: instance.to_string(),
        day_index: day.parse().map_err(|_| corrupt("checkpoint day index", day))?,
        seq: seq.parse().map_err(|_| corrupt("checkpoint sequence number", seq))?,
        state: state.to_string(),
    })
}
