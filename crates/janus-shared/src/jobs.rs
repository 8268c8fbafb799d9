//! A work queue of jobs for any number of worker processes on any number of machines: one
//! Redis Stream read by the consumer group `workers`.
//!
//! * [`JobQueue::submit`] adds the jobs of a sweep, each at most once (a job id already
//!   submitted is skipped, unless its last attempt failed: then it is queued again), in one
//!   script so a submission cut short never leaves a job recorded but not queued.
//! * [`JobQueue::take`] gives a worker one job: first a job another worker took but has not
//!   touched for `reclaim_after` (that worker died: `XAUTOCLAIM` moves the job to this one),
//!   else a new one, waiting a little for it.
//! * While a worker runs a job it calls [`JobQueue::touch`] every few seconds (from a thread
//!   of its own), which resets the job's idle time; a worker that stops touching (killed,
//!   frozen, cut off) loses the job to the next `take` after `reclaim_after`. Touch answers
//!   whether the job is still this worker's.
//! * [`JobQueue::finish`] records the job's result and acknowledges it, only when the job is
//!   still the caller's, in one script.
//!
//! Keys (`P` is the prefix, `S` a sweep): `P:queue` (the stream), `P:entries` (stream entry ->
//! sweep and job), `P:sweeps` (the sweeps' names), `P:S:jobs` (job -> its payload, as
//! submitted), `P:S:results` (job -> its result), `P:S:meta` (when the sweep was submitted).

use crate::ledger::{connect, redis_error};
use crate::{Result, SharedConfig, SharedError};
use redis::streams::{StreamAutoClaimReply, StreamId, StreamReadOptions, StreamReadReply};
use redis::{Connection, Script, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// The consumer group of the workers.
pub const GROUP: &str = "workers";

const SUBMIT: &str = r#"
-- KEYS: queue, sweeps, jobs, entries, results, meta; ARGV: sweep, now_ms, then job, payload pairs.
local added = 0
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('HSETNX', KEYS[6], 'submitted_ms', ARGV[2])
for i = 3, #ARGV, 2 do
  local job, payload = ARGV[i], ARGV[i + 1]
  local fresh = redis.call('HSETNX', KEYS[3], job, payload) == 1
  if not fresh then
    local r = redis.call('HGET', KEYS[5], job)
    if r and string.sub(r, 1, 18) == '{"state":"failed",' then
      redis.call('HDEL', KEYS[5], job)
      redis.call('HSET', KEYS[3], job, payload)
      fresh = true
    end
  end
  if fresh then
    local id = redis.call('XADD', KEYS[1], '*', 'sweep', ARGV[1], 'job', job)
    redis.call('HSET', KEYS[4], id, ARGV[1] .. '\n' .. job)
    added = added + 1
  end
end
return added
"#;

/// Is stream entry ARGV[1] pending with consumer ARGV[2]? (Lua prelude of touch and finish.)
const OWNER: &str = r#"
local function owned(queue, id, consumer)
  local p = redis.call('XPENDING', queue, 'workers', id, id, 1)
  return #p == 1 and p[1][2] == consumer
end
"#;

const TOUCH: &str = r#"
-- KEYS: queue; ARGV: entry, consumer. Resets the entry's idle time when it is the consumer's.
if not owned(KEYS[1], ARGV[1], ARGV[2]) then return 0 end
redis.call('XCLAIM', KEYS[1], 'workers', ARGV[2], 0, ARGV[1], 'JUSTID')
return 1
"#;

const FINISH: &str = r#"
-- KEYS: queue, results; ARGV: entry, consumer, job, result.
if not owned(KEYS[1], ARGV[1], ARGV[2]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
redis.call('XACK', KEYS[1], 'workers', ARGV[1])
return 1
"#;

/// A job handed to a worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Taken {
    /// The stream entry (what touch and finish name).
    pub entry: String,
    pub sweep: String,
    pub job: String,
    /// The payload as submitted; `None` when the sweep was reset since.
    pub payload: Option<String>,
    /// How many times the job was handed out, this time included (more than 1: a worker died
    /// on it, or lost it).
    pub deliveries: u64,
}

/// A job being run: which worker has it, untouched for how long, handed out how often.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Running {
    pub job: String,
    pub worker: String,
    pub idle_ms: u64,
    pub deliveries: u64,
}

/// What the queue holds of one sweep.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepState {
    /// Job -> payload, in job order.
    pub jobs: BTreeMap<String, String>,
    /// Job -> result, for the finished ones.
    pub results: BTreeMap<String, String>,
    pub running: Vec<Running>,
    /// When the sweep was first submitted (milliseconds on the Redis clock).
    pub submitted_ms: Option<u64>,
}

impl SweepState {
    /// Jobs neither finished nor running.
    pub fn queued(&self) -> Vec<&str> {
        self.jobs
            .keys()
            .filter(|j| !self.results.contains_key(*j) && !self.running.iter().any(|r| &r.job == *j))
            .map(String::as_str)
            .collect()
    }
}

/// The work queue.
pub struct JobQueue {
    cfg: SharedConfig,
    conn: Connection,
    prefix: String,
    submit: Script,
    touch: Script,
    finish: Script,
}

fn field(e: &StreamId, k: &str) -> String {
    e.map.get(k).and_then(|v| redis::from_redis_value::<String>(v.clone()).ok()).unwrap_or_default()
}

impl JobQueue {
    /// Connect to the queue under `prefix` (e.g. `janus:sweep`) at Redis `url`; commands
    /// time out after `io_timeout` (a take waits at most a second beyond it).
    pub fn connect(url: &str, prefix: &str, io_timeout: Duration) -> Result<JobQueue> {
        let mut cfg = SharedConfig::new(url, "");
        cfg.io_timeout = io_timeout + Duration::from_secs(1);
        let (_, mut conn) = connect(&cfg)?;
        let created: redis::RedisResult<()> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(format!("{prefix}:queue"))
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query(&mut conn);
        if let Err(e) = created {
            if e.code() != Some("BUSYGROUP") {
                return Err(redis_error(&cfg, e));
            }
        }
        Ok(JobQueue {
            cfg,
            conn,
            prefix: prefix.to_string(),
            submit: Script::new(SUBMIT),
            touch: Script::new(&format!("{OWNER}\n{TOUCH}")),
            finish: Script::new(&format!("{OWNER}\n{FINISH}")),
        })
    }

    fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.prefix)
    }

    fn sweep_key(&self, sweep: &str, name: &str) -> String {
        format!("{}:{sweep}:{name}", self.prefix)
    }

    fn err(&self, e: impl std::fmt::Display) -> SharedError {
        redis_error(&self.cfg, e)
    }

    fn now_ms(&mut self) -> Result<u64> {
        let (s, us): (u64, u64) = redis::cmd("TIME").query(&mut self.conn).map_err(|e| self.err(e))?;
        Ok(s * 1000 + us / 1000)
    }

    /// Queue the jobs `(id, payload)` of `sweep`; returns how many were queued (a job already
    /// submitted is skipped unless it failed).
    pub fn submit(&mut self, sweep: &str, jobs: &[(String, String)]) -> Result<usize> {
        if sweep.is_empty() || sweep.contains(['\n', ':', '{', '}']) {
            return Err(SharedError::Invalid(format!("sweep name {sweep:?} may not be empty or hold ':', '{{', '}}'")));
        }
        let now = self.now_ms()?;
        let mut added = 0;
        // A few thousand jobs per script call keeps Redis responsive to the workers.
        for chunk in jobs.chunks(2000) {
            let mut inv = self.submit.prepare_invoke();
            for k in ["queue", "sweeps"] {
                inv.key(self.key(k));
            }
            inv.key(self.sweep_key(sweep, "jobs"));
            inv.key(self.key("entries"));
            inv.key(self.sweep_key(sweep, "results"));
            inv.key(self.sweep_key(sweep, "meta"));
            inv.arg(sweep).arg(now);
            for (id, payload) in chunk {
                inv.arg(id).arg(payload);
            }
            let n: usize = inv.invoke(&mut self.conn).map_err(|e| self.err(e))?;
            added += n;
        }
        Ok(added)
    }

    /// One job for `worker`: a job untouched for `reclaim_after` first, else a new one,
    /// waiting up to `wait` for it; `None` when there is none.
    pub fn take(&mut self, worker: &str, reclaim_after: Duration, wait: Duration) -> Result<Option<Taken>> {
        let queue = self.key("queue");
        let reply: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
            .arg(&queue)
            .arg(GROUP)
            .arg(worker)
            .arg(reclaim_after.as_millis() as u64)
            .arg("0-0")
            .arg("COUNT")
            .arg(1)
            .query(&mut self.conn)
            .map_err(|e| self.err(e))?;
        if let Some(e) = reply.claimed.into_iter().next() {
            let deliveries = self.deliveries(&e.id)?;
            return self.taken(e, deliveries).map(Some);
        }
        let opts = StreamReadOptions::default().group(GROUP, worker).count(1).block(wait.as_millis() as usize);
        let reply: Option<StreamReadReply> =
            redis::Commands::xread_options(&mut self.conn, &[&queue], &[">"], &opts).map_err(|e| self.err(e))?;
        match reply.and_then(|r| r.keys.into_iter().next()).and_then(|k| k.ids.into_iter().next()) {
            Some(e) => self.taken(e, 1).map(Some),
            None => Ok(None),
        }
    }

    fn deliveries(&mut self, entry: &str) -> Result<u64> {
        let v: Value = redis::cmd("XPENDING")
            .arg(self.key("queue"))
            .arg(GROUP)
            .arg(entry)
            .arg(entry)
            .arg(1)
            .query(&mut self.conn)
            .map_err(|e| self.err(e))?;
        Ok(pending_rows(v).first().map_or(1, |r| r.3))
    }

    fn taken(&mut self, e: StreamId, deliveries: u64) -> Result<Taken> {
        let (sweep, job) = (field(&e, "sweep"), field(&e, "job"));
        let payload: Option<String> = redis::cmd("HGET")
            .arg(self.sweep_key(&sweep, "jobs"))
            .arg(&job)
            .query(&mut self.conn)
            .map_err(|e| self.err(e))?;
        Ok(Taken { entry: e.id, sweep, job, payload, deliveries })
    }

    /// Keep the job `entry` for `worker`; `false` when it is no longer the worker's (another
    /// worker took it over, or it was finished or reset).
    pub fn touch(&mut self, entry: &str, worker: &str) -> Result<bool> {
        let mut inv = self.touch.prepare_invoke();
        inv.key(self.key("queue")).arg(entry).arg(worker);
        let n: i64 = inv.invoke(&mut self.conn).map_err(|e| self.err(e))?;
        Ok(n == 1)
    }

    /// Record `result` for the job and acknowledge it; `false` (and nothing recorded) when the
    /// job is no longer `worker`'s.
    pub fn finish(&mut self, t: &Taken, worker: &str, result: &str) -> Result<bool> {
        let mut inv = self.finish.prepare_invoke();
        inv.key(self.key("queue")).key(self.sweep_key(&t.sweep, "results"));
        inv.arg(&t.entry).arg(worker).arg(&t.job).arg(result);
        let n: i64 = inv.invoke(&mut self.conn).map_err(|e| self.err(e))?;
        Ok(n == 1)
    }

    /// Acknowledge an entry without a result (its sweep was reset).
    pub fn drop_entry(&mut self, entry: &str) -> Result<()> {
        redis::cmd("XACK").arg(self.key("queue")).arg(GROUP).arg(entry).exec(&mut self.conn).map_err(|e| self.err(e))
    }

    /// The names of the submitted sweeps.
    pub fn sweeps(&mut self) -> Result<Vec<String>> {
        let mut s: Vec<String> =
            redis::cmd("SMEMBERS").arg(self.key("sweeps")).query(&mut self.conn).map_err(|e| self.err(e))?;
        s.sort();
        Ok(s)
    }

    /// Where the jobs of `sweep` are.
    pub fn state(&mut self, sweep: &str) -> Result<SweepState> {
        let jobs: BTreeMap<String, String> =
            redis::cmd("HGETALL").arg(self.sweep_key(sweep, "jobs")).query(&mut self.conn).map_err(|e| self.err(e))?;
        let results: BTreeMap<String, String> = redis::cmd("HGETALL")
            .arg(self.sweep_key(sweep, "results"))
            .query(&mut self.conn)
            .map_err(|e| self.err(e))?;
        let submitted: Option<u64> = redis::cmd("HGET")
            .arg(self.sweep_key(sweep, "meta"))
            .arg("submitted_ms")
            .query(&mut self.conn)
            .map_err(|e| self.err(e))?;
        let mut running = Vec::new();
        let pending = self.pending()?;
        if !pending.is_empty() {
            let ids: Vec<&str> = pending.iter().map(|p| p.0.as_str()).collect();
            let owners: Vec<Option<String>> = redis::cmd("HMGET")
                .arg(self.key("entries"))
                .arg(&ids)
                .query(&mut self.conn)
                .map_err(|e| self.err(e))?;
            for ((_, worker, idle_ms, deliveries), owner) in pending.into_iter().zip(owners) {
                if let Some((s, job)) = owner.as_deref().and_then(|o| o.split_once('\n')) {
                    if s == sweep && !results.contains_key(job) {
                        running.push(Running { job: job.to_string(), worker, idle_ms, deliveries });
                    }
                }
            }
        }
        Ok(SweepState { jobs, results, running, submitted_ms: submitted })
    }

    /// How many jobs are taken and not finished, over every sweep.
    pub fn running_count(&mut self) -> Result<u64> {
        let v: Value =
            redis::cmd("XPENDING").arg(self.key("queue")).arg(GROUP).query(&mut self.conn).map_err(|e| self.err(e))?;
        match v {
            Value::Array(items) => {
                Ok(items.into_iter().next().and_then(|c| redis::from_redis_value(c).ok()).unwrap_or(0))
            }
            _ => Ok(0),
        }
    }

    /// Every pending entry: (entry, worker, idle ms, deliveries).
    fn pending(&mut self) -> Result<Vec<(String, String, u64, u64)>> {
        let v: Value = redis::cmd("XPENDING")
            .arg(self.key("queue"))
            .arg(GROUP)
            .arg("-")
            .arg("+")
            .arg(1_000_000)
            .query(&mut self.conn)
            .map_err(|e| self.err(e))?;
        Ok(pending_rows(v))
    }

    /// Forget `sweep`: its jobs, results and queued entries.
    pub fn reset(&mut self, sweep: &str) -> Result<()> {
        let entries: BTreeMap<String, String> =
            redis::cmd("HGETALL").arg(self.key("entries")).query(&mut self.conn).map_err(|e| self.err(e))?;
        let mine: Vec<&String> =
            entries.iter().filter(|(_, v)| v.split('\n').next() == Some(sweep)).map(|(k, _)| k).collect();
        let queue = self.key("queue");
        let mut pipe = redis::pipe();
        pipe.atomic();
        for chunk in mine.chunks(1000) {
            pipe.cmd("XACK").arg(&queue).arg(GROUP).arg(chunk).ignore();
            pipe.cmd("XDEL").arg(&queue).arg(chunk).ignore();
            pipe.cmd("HDEL").arg(self.key("entries")).arg(chunk).ignore();
        }
        for k in ["jobs", "results", "meta"] {
            pipe.cmd("DEL").arg(self.sweep_key(sweep, k)).ignore();
        }
        pipe.cmd("SREM").arg(self.key("sweeps")).arg(sweep).ignore();
        pipe.exec(&mut self.conn).map_err(|e| self.err(e))
    }

    /// Milliseconds on the Redis clock (one clock for every worker).
    pub fn clock_ms(&mut self) -> Result<u64> {
        self.now_ms()
    }
}

/// Rows of an extended XPENDING reply: (entry, consumer, idle ms, deliveries).
fn pending_rows(v: Value) -> Vec<(String, String, u64, u64)> {
    let Value::Array(rows) = v else { return Vec::new() };
    rows.into_iter().filter_map(|r| redis::from_redis_value::<(String, String, u64, u64)>(r).ok()).collect()
}
