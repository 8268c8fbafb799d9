//! The shared ledger in Redis and the Lua scripts that change it.
//!
//! Keys (all under `{prefix}:{account}:`): `meta` (free and frozen cash, the trading date open
//! for intents, the limits, the previous close's total asset, the breaker flag, the next order
//! id, the audit sequence), `amt` / `sell` / `shold` (shares held, sellable today, held by
//! open sells, per symbol), `mark` (last close per symbol), `pend` (value of reserved and open
//! buys per symbol, at their value price), `resv` + `dl` (reservations and their deadlines),
//! `ord` (committed orders with their unfilled rest and the cash it still holds), `trades`
//! (applied trade ids), `syms` (symbols held or pending), `answers` (each intent's answer
//! today, so a retried intent gets the same one), `fence` (the gateway's fencing token) and
//! `audit` (the sequenced stream of every change).
//!
//! Money is integer 0.0001 CNY throughout. Lua holds it in doubles, exact below 2^53 units
//! (900 billion CNY, which [`SharedLedger::seed`] checks); the cap and breaker tests multiply
//! by basis points in split limbs, so they are exact too.

use crate::model::{AuditEntry, LedgerState};
use crate::{Result, SharedConfig, SharedError};
use chrono::NaiveDate;
use janus_core::url::redact;
use janus_core::{Money, Price, Qty, RiskReason, Side};
use redis::{Client, Connection, Script, Value};
use std::collections::BTreeMap;

macro_rules! script {
    ($file:literal) => {
        Script::new(concat!(include_str!("lua/prelude.lua"), "\n", include_str!(concat!("lua/", $file))))
    };
}

/// Names of the account's keys in the order the scripts read them (`KEYS[1..]`).
const KEY_NAMES: [&str; 15] = [
    "meta", "amt", "sell", "shold", "mark", "pend", "resv", "dl", "ord", "trades", "audit", "fence", "syms", "answers",
    "books",
];

/// Largest total asset the ledger keeps exactly (see the module docs), in 0.0001 CNY.
pub const MAX_TOTAL: i64 = (1i64 << 53) - 1;

/// One order a strategy instance wants, priced and sized by the instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Intent {
    pub instance: String,
    /// Unique per instance and day: a retried intent with the same id gets the same answer.
    pub intent_id: String,
    /// The trading day the order is for (the day the ledger is open for).
    pub date: NaiveDate,
    pub symbol: String,
    pub side: Side,
    pub quantity: Qty,
    /// The limit price sent to the broker.
    pub price: Price,
    /// Cash to freeze for a buy: price x quantity plus the most fees it can cost.
    pub freeze: Money,
    /// The price the concentration cap values the order at (the last close).
    pub value_price: Price,
}

/// The ledger's answer to an intent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Cash or shares are reserved under this order id until the gateway commits it or the
    /// reservation expires.
    Reserved {
        order_id: u64,
    },
    Refused {
        reason: RiskReason,
        detail: String,
    },
}

/// What the gateway's commit found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Commit {
    /// The reservation is now an order the gateway must send.
    Committed(OpenOrder),
    /// The reservation expired (or was released) before the gateway took it.
    Expired,
}

/// A committed order in the ledger, as the scripts store it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenOrder {
    pub order_id: u64,
    pub instance: String,
    pub intent_id: String,
    pub side: Side,
    pub symbol: String,
    pub quantity: Qty,
    pub freeze: Money,
    pub value_price: Price,
    pub price: Price,
    pub date: NaiveDate,
    /// Shares not yet filled.
    pub left: Qty,
    /// Cash the unfilled rest still holds (buys).
    pub held: Money,
}

impl OpenOrder {
    /// Read the JSON object a script stored (every value a string).
    pub fn from_json(order_id: u64, raw: &str) -> Result<OpenOrder> {
        let bad = |what: &str| SharedError::Invalid(format!("ledger order {order_id}: {what} in {raw}"));
        let map: BTreeMap<String, String> = serde_json::from_str(raw).map_err(|e| bad(&e.to_string()))?;
        let get = |k: &str| map.get(k).cloned().ok_or_else(|| bad(&format!("no {k}")));
        let int = |k: &str| get(k)?.parse::<i64>().map_err(|_| bad(&format!("{k} is not an integer")));
        Ok(OpenOrder {
            order_id,
            instance: get("inst")?,
            intent_id: get("iid")?,
            side: Side::parse(&get("side")?).ok_or_else(|| bad("side"))?,
            symbol: get("sym")?,
            quantity: int("qty")?,
            freeze: Money(int("amount")?),
            value_price: Price(int("vp")?),
            price: Price(int("price")?),
            date: get("date")?.parse().map_err(|_| bad("date"))?,
            left: map.get("left").map_or(Ok(int("qty")?), |_| int("left"))?,
            held: Money(map.get("held").map_or(Ok(int("amount")?), |_| int("held"))?),
        })
    }

    /// The JSON object the scripts store (every value a string, so Lua never rounds).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "oid": self.order_id.to_string(), "inst": self.instance, "iid": self.intent_id,
            "side": self.side.as_str(), "sym": self.symbol, "qty": self.quantity.to_string(),
            "amount": self.freeze.0.to_string(), "vp": self.value_price.0.to_string(),
            "price": self.price.0.to_string(), "date": self.date.to_string(),
            "left": self.left.to_string(), "held": self.held.0.to_string(),
        })
    }
}

/// One instance's own part of the account, from its fills.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstanceBook {
    /// Sells' proceeds minus buys' costs, fees included.
    pub cash_flow: Money,
    pub shares: BTreeMap<String, Qty>,
    pub bought_today: BTreeMap<String, Qty>,
}

/// The shared ledger: one connection and the scripts.
pub struct SharedLedger {
    cfg: SharedConfig,
    client: Client,
    conn: Connection,
    keys: Vec<String>,
    scripts: Scripts,
}

struct Scripts {
    admit: Script,
    release: Script,
    commit: Script,
    report: Script,
    new_day: Script,
    seed: Script,
    sweep: Script,
}

pub(crate) fn redis_error(cfg: &SharedConfig, e: impl std::fmt::Display) -> SharedError {
    SharedError::Redis { url: redact(&cfg.url), message: e.to_string() }
}

pub(crate) fn connect(cfg: &SharedConfig) -> Result<(Client, Connection)> {
    let client = Client::open(cfg.url.as_str()).map_err(|e| redis_error(cfg, format!("not a Redis URL: {e}")))?;
    let conn = client.get_connection_with_timeout(cfg.io_timeout).map_err(|e| redis_error(cfg, e))?;
    conn.set_read_timeout(Some(cfg.io_timeout)).map_err(|e| redis_error(cfg, e))?;
    conn.set_write_timeout(Some(cfg.io_timeout)).map_err(|e| redis_error(cfg, e))?;
    Ok((client, conn))
}

fn strings(v: Value) -> Vec<String> {
    match v {
        Value::Array(items) => items
            .into_iter()
            .map(|i| match i {
                Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
                Value::SimpleString(s) => s,
                Value::Int(n) => n.to_string(),
                other => format!("{other:?}"),
            })
            .collect(),
        other => vec![format!("{other:?}")],
    }
}

impl SharedLedger {
    pub fn connect(cfg: &SharedConfig) -> Result<SharedLedger> {
        let (client, conn) = connect(cfg)?;
        Ok(SharedLedger {
            keys: KEY_NAMES.iter().map(|k| cfg.key(k)).collect(),
            cfg: cfg.clone(),
            client,
            conn,
            scripts: Scripts {
                admit: script!("admit.lua"),
                release: script!("release.lua"),
                commit: script!("commit.lua"),
                report: script!("report.lua"),
                new_day: script!("new_day.lua"),
                seed: script!("seed.lua"),
                sweep: script!("sweep.lua"),
            },
        })
    }

    pub fn config(&self) -> &SharedConfig {
        &self.cfg
    }

    /// Open a second connection (the same account) on the same client.
    pub fn reconnect(&mut self) -> Result<()> {
        let conn = self.client.get_connection_with_timeout(self.cfg.io_timeout).map_err(|e| self.err(e))?;
        conn.set_read_timeout(Some(self.cfg.io_timeout)).map_err(|e| self.err(e))?;
        conn.set_write_timeout(Some(self.cfg.io_timeout)).map_err(|e| self.err(e))?;
        self.conn = conn;
        Ok(())
    }

    fn err(&self, e: impl std::fmt::Display) -> SharedError {
        redis_error(&self.cfg, e)
    }

    fn run(&mut self, which: fn(&Scripts) -> &Script, args: &[String]) -> Result<Vec<String>> {
        let mut inv = which(&self.scripts).prepare_invoke();
        for k in &self.keys {
            inv.key(k);
        }
        for a in args {
            inv.arg(a);
        }
        let v: Value = inv.invoke(&mut self.conn).map_err(|e| redis_error(&self.cfg, e))?;
        Ok(strings(v))
    }

    fn stale_or(&self, out: Vec<String>) -> Result<Vec<String>> {
        match out.first().map(String::as_str) {
            Some("STALE") => Err(SharedError::Stale(out.get(1).cloned().unwrap_or_default())),
            _ => Ok(out),
        }
    }

    /// Whether the ledger has been set up (a Redis restarted empty has none).
    pub fn exists(&mut self) -> Result<bool> {
        let n: i64 = redis::cmd("EXISTS").arg(&self.keys[0]).query(&mut self.conn).map_err(|e| self.err(e))?;
        Ok(n == 1)
    }

    /// Admit one intent (any instance). Instance-side checks that need no shared state (board
    /// lots, a tradable symbol) are the instance's; this checks and reserves the shared ones.
    pub fn admit(&mut self, intent: &Intent) -> Result<Admission> {
        self.admit_many(std::slice::from_ref(intent))?.pop().unwrap_or_else(|| Err(self.err("no answer")))
    }

    /// Admit several intents in one call (one round trip, one script run): each is decided
    /// exactly as if it came alone, in order, so a refusal of one does not stop the next. An
    /// intent for another day is an error of its own; an empty ledger fails the whole call.
    pub fn admit_many(&mut self, intents: &[Intent]) -> Result<Vec<Result<Admission>>> {
        if intents.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = Vec::with_capacity(1 + 9 * intents.len());
        args.push(self.cfg.reservation_ttl.as_millis().to_string());
        for intent in intents {
            if intent.quantity <= 0 || intent.freeze.0 < 0 || intent.value_price.0 < 0 {
                return Err(SharedError::Invalid(format!(
                    "intent {}/{}: quantity {} and prices must be positive",
                    intent.instance, intent.intent_id, intent.quantity
                )));
            }
            args.extend([
                intent.instance.clone(),
                intent.intent_id.clone(),
                intent.side.as_str().to_string(),
                intent.symbol.clone(),
                intent.quantity.to_string(),
                if intent.side == Side::Buy { intent.freeze.0 } else { 0 }.to_string(),
                intent.value_price.0.to_string(),
                intent.date.to_string(),
                intent.price.0.to_string(),
            ]);
        }
        let out = self.run(|l| &l.admit, &args)?;
        if out.len() != 3 * intents.len() {
            return Err(self.err(format!("{} answers to {} intents", out.len() / 3, intents.len())));
        }
        let mut answers = Vec::with_capacity(intents.len());
        for a in out.chunks(3) {
            answers.push(match a[0].as_str() {
                "RESERVED" => match a[1].parse() {
                    Ok(order_id) => Ok(Admission::Reserved { order_id }),
                    Err(_) => Err(self.err(format!("bad answer {a:?}"))),
                },
                "REFUSED" => match RiskReason::parse(&a[1]) {
                    Some(reason) => Ok(Admission::Refused { reason, detail: a[2].clone() }),
                    None => Err(self.err(format!("unknown reason {}", a[1]))),
                },
                "ERROR" if a[1] == "NO_LEDGER" => return Err(SharedError::NoLedger(a[2].clone())),
                _ => Err(SharedError::Invalid(if a[2].is_empty() { format!("{a:?}") } else { a[2].clone() })),
            });
        }
        Ok(answers)
    }

    /// Free what expired reservations hold now; returns how many expired.
    pub fn sweep(&mut self) -> Result<usize> {
        let out = self.run(|s| &s.sweep, &[])?;
        Ok(out.first().and_then(|n| n.parse().ok()).unwrap_or(0))
    }

    /// Give up a reservation the instance will not submit. False when it was already gone.
    pub fn release(&mut self, instance: &str, order_id: u64) -> Result<bool> {
        let out = self.run(|l| &l.release, &[instance.to_string(), order_id.to_string()])?;
        Ok(out.first().map(String::as_str) == Some("RELEASED"))
    }

    /// The gateway takes a reservation to send it.
    pub fn commit(&mut self, fence: u64, order_id: u64) -> Result<Commit> {
        let out = self.run(|l| &l.commit, &[fence.to_string(), order_id.to_string()])?;
        let out = self.stale_or(out)?;
        match out.first().map(String::as_str) {
            Some("COMMITTED") => Ok(Commit::Committed(OpenOrder::from_json(order_id, out.get(1).map_or("", |s| s))?)),
            _ => Ok(Commit::Expired),
        }
    }

    /// The gateway applies one execution. False when the trade id was applied before or the
    /// order is unknown to the ledger; an error, with nothing applied, when it is for more
    /// shares than the order has open (the broker and the ledger disagree: stop and reconcile).
    pub fn fill(&mut self, fence: u64, order_id: u64, fill: &janus_core::Fill) -> Result<bool> {
        let args = [
            fence.to_string(),
            order_id.to_string(),
            "fill".into(),
            fill.trade_id.clone(),
            fill.qty.to_string(),
            fill.price.0.to_string(),
            fill.commission.0.to_string(),
            fill.taxes.0.to_string(),
        ];
        let out = self.run(|l| &l.report, &args)?;
        let out = self.stale_or(out)?;
        match out.first().map(String::as_str) {
            Some("APPLIED") => Ok(true),
            Some("INVALID") => Err(SharedError::Invalid(out.get(1).cloned().unwrap_or_default())),
            _ => Ok(false),
        }
    }

    /// The gateway ends an order (filled, canceled, rejected, expired): what its unfilled rest
    /// holds goes back. False when the ledger did not know the order.
    pub fn done(&mut self, fence: u64, order_id: u64) -> Result<bool> {
        let args = [
            fence.to_string(),
            order_id.to_string(),
            "done".into(),
            String::new(),
            "0".into(),
            "0".into(),
            "0".into(),
            "0".into(),
        ];
        let out = self.run(|l| &l.report, &args)?;
        Ok(self.stale_or(out)?.first().map(String::as_str) == Some("APPLIED"))
    }

    /// The gateway closes `closed` at `marks` and opens `next` for intents. Returns the total
    /// asset at the close and whether the circuit breaker blocks buys.
    pub fn new_day(
        &mut self,
        fence: u64,
        closed: NaiveDate,
        next: NaiveDate,
        marks: &BTreeMap<String, Price>,
    ) -> Result<(Money, bool)> {
        let marks: BTreeMap<&str, String> = marks.iter().map(|(s, p)| (s.as_str(), p.0.to_string())).collect();
        let marks = serde_json::to_string(&marks).map_err(|e| SharedError::Invalid(e.to_string()))?;
        let out = self.run(|l| &l.new_day, &[fence.to_string(), closed.to_string(), next.to_string(), marks])?;
        let out = self.stale_or(out)?;
        let total = out.get(1).and_then(|s| s.parse().ok()).ok_or_else(|| self.err(format!("bad answer {out:?}")))?;
        Ok((Money(total), out.get(2).map(String::as_str) == Some("1")))
    }

    /// Replace the whole ledger with `state` (the gateway, on a first start or a rebuild).
    pub fn seed(&mut self, fence: u64, state: &LedgerState) -> Result<()> {
        if state.total_asset().0 > MAX_TOTAL {
            return Err(SharedError::Invalid(format!(
                "total asset {} is more than the shared ledger keeps exactly ({} CNY)",
                state.total_asset(),
                MAX_TOTAL / 10_000
            )));
        }
        let out = self.run(|l| &l.seed, &[fence.to_string(), state.to_seed_json()])?;
        self.stale_or(out).map(|_| ())
    }

    /// Audit entries after stream id `after` (`"0"` for all), at most `count`.
    pub fn audit_after(&mut self, after: &str, count: usize) -> Result<Vec<AuditEntry>> {
        let key = &self.keys[10];
        let v: Value = redis::cmd("XRANGE")
            .arg(key)
            .arg(format!("({after}"))
            .arg("+")
            .arg("COUNT")
            .arg(count)
            .query(&mut self.conn)
            .map_err(|e| redis_error(&self.cfg, e))?;
        AuditEntry::from_xrange(v)
    }

    /// Every audit entry in the stream, in order.
    pub fn audit_all(&mut self) -> Result<Vec<AuditEntry>> {
        let mut all = Vec::new();
        let mut after = "0".to_string();
        loop {
            let batch = self.audit_after(&after, 10_000)?;
            let Some(last) = batch.last() else { break };
            after = last.stream_id.clone();
            all.extend(batch);
        }
        Ok(all)
    }

    /// Free and frozen cash as the ledger holds them now.
    pub fn cash(&mut self) -> Result<(Money, Money)> {
        let (c, f): (Option<i64>, Option<i64>) = redis::cmd("HMGET")
            .arg(&self.keys[0])
            .arg("cash")
            .arg("frozen")
            .query(&mut self.conn)
            .map_err(|e| self.err(e))?;
        Ok((Money(c.unwrap_or(0)), Money(f.unwrap_or(0))))
    }

    /// Wait up to `wait` for a gateway to set the ledger up; the date it opened.
    pub fn wait_open(&mut self, wait: std::time::Duration) -> Result<NaiveDate> {
        let until = std::time::Instant::now() + wait;
        loop {
            if let Some(d) = self.open_date()? {
                return Ok(d);
            }
            if std::time::Instant::now() >= until {
                return Err(SharedError::NoLedger(format!(
                    "no gateway set up account {} within {:.0} s; start `janus shared gateway` first",
                    self.cfg.account,
                    wait.as_secs_f64()
                )));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// The trading date the ledger takes intents for, if set up.
    pub fn open_date(&mut self) -> Result<Option<NaiveDate>> {
        let d: Option<String> =
            redis::cmd("HGET").arg(&self.keys[0]).arg("date").query(&mut self.conn).map_err(|e| self.err(e))?;
        Ok(d.and_then(|d| d.parse().ok()))
    }

    /// The last close of every marked symbol.
    pub fn marks(&mut self) -> Result<BTreeMap<String, Price>> {
        let m: BTreeMap<String, i64> =
            redis::cmd("HGETALL").arg(&self.keys[4]).query(&mut self.conn).map_err(|e| self.err(e))?;
        Ok(m.into_iter().map(|(s, p)| (s, Price(p))).collect())
    }

    /// Shares held per symbol, and how many are sellable today.
    pub fn holdings(&mut self) -> Result<BTreeMap<String, (Qty, Qty)>> {
        let (amt, sell): (BTreeMap<String, i64>, BTreeMap<String, i64>) = redis::pipe()
            .cmd("HGETALL")
            .arg(&self.keys[1])
            .cmd("HGETALL")
            .arg(&self.keys[2])
            .query(&mut self.conn)
            .map_err(|e| self.err(e))?;
        Ok(amt.into_iter().map(|(s, a)| (s.clone(), (a, sell.get(&s).copied().unwrap_or(0)))).collect())
    }

    /// Committed orders the ledger still holds cash or shares for.
    pub fn open_orders(&mut self) -> Result<Vec<OpenOrder>> {
        self.orders_in(8)
    }

    /// Orders stored as JSON in the hash `keys[index]`, by order id.
    fn orders_in(&mut self, index: usize) -> Result<Vec<OpenOrder>> {
        let m: BTreeMap<String, String> =
            redis::cmd("HGETALL").arg(&self.keys[index]).query(&mut self.conn).map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(m.len());
        for (id, raw) in m {
            let id = id.parse().map_err(|_| self.err(format!("order id {id:?} in {}", self.keys[index])))?;
            out.push(OpenOrder::from_json(id, &raw)?);
        }
        out.sort_by_key(|o| o.order_id);
        Ok(out)
    }

    /// Redis's clock, in milliseconds (every process compares heartbeats on one clock).
    pub fn now_ms(&mut self) -> Result<u64> {
        let (s, us): (u64, u64) = redis::cmd("TIME").query(&mut self.conn).map_err(|e| self.err(e))?;
        Ok(s * 1000 + us / 1000)
    }

    /// A strategy instance declares it has decided everything for `date` (and is alive).
    pub fn set_ready(&mut self, instance: &str, date: NaiveDate) -> Result<()> {
        let now = self.now_ms()?;
        redis::cmd("HSET")
            .arg(self.cfg.key("ready"))
            .arg(instance)
            .arg(format!("{date}|{now}"))
            .exec(&mut self.conn)
            .map_err(|e| self.err(e))
    }

    /// Every strategy instance's last declaration: the date it is ready for and when it said so.
    pub fn ready(&mut self) -> Result<Vec<(String, NaiveDate, u64)>> {
        let m: BTreeMap<String, String> =
            redis::cmd("HGETALL").arg(self.cfg.key("ready")).query(&mut self.conn).map_err(|e| self.err(e))?;
        Ok(m.into_iter()
            .filter_map(|(i, v)| {
                let (d, t) = v.split_once('|')?;
                Some((i, d.parse().ok()?, t.parse().ok()?))
            })
            .collect())
    }

    /// A strategy instance leaves: the gateway stops waiting for it.
    pub fn leave(&mut self, instance: &str) -> Result<()> {
        redis::cmd("HDEL").arg(self.cfg.key("ready")).arg(instance).exec(&mut self.conn).map_err(|e| self.err(e))
    }

    /// Hand an execution report to the instance whose order it is (its own order id inside).
    pub fn forward_report(&mut self, instance: &str, report: &janus_core::ExecReport) -> Result<()> {
        let msg = serde_json::to_string(report).map_err(|e| SharedError::Invalid(e.to_string()))?;
        redis::cmd("XADD")
            .arg(self.cfg.key(&format!("reports:{instance}")))
            .arg("MAXLEN")
            .arg("~")
            .arg(100_000)
            .arg("*")
            .arg("msg")
            .arg(msg)
            .exec(&mut self.conn)
            .map_err(|e| self.err(e))
    }

    /// The reports handed to `instance` after stream id `after`, with their ids.
    pub fn reports_after(&mut self, instance: &str, after: &str) -> Result<Vec<(String, janus_core::ExecReport)>> {
        let key = self.cfg.key(&format!("reports:{instance}"));
        let v: Value = redis::cmd("XRANGE")
            .arg(&key)
            .arg(format!("({after}"))
            .arg("+")
            .query(&mut self.conn)
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for e in AuditEntry::raw_entries(v)? {
            let (id, fields) = e;
            let msg = fields.get("msg").ok_or_else(|| SharedError::Invalid(format!("report {id} without msg")))?;
            let r = serde_json::from_str(msg).map_err(|err| SharedError::Invalid(format!("report {id}: {err}")))?;
            out.push((id, r));
        }
        Ok(out)
    }

    /// One instance's own book: cash in minus cash out, shares held, shares bought today.
    pub fn book(&mut self, instance: &str) -> Result<InstanceBook> {
        let m: BTreeMap<String, i64> =
            redis::cmd("HGETALL").arg(&self.keys[14]).query(&mut self.conn).map_err(|e| self.err(e))?;
        let mut book = InstanceBook::default();
        let prefix = format!("{instance}|");
        for (k, v) in m {
            let Some(rest) = k.strip_prefix(&prefix) else { continue };
            if rest == "cash" {
                book.cash_flow = Money(v);
            } else if let Some(sym) = rest.strip_prefix("pos|") {
                book.shares.insert(sym.to_string(), v);
            } else if let Some(sym) = rest.strip_prefix("t1|") {
                book.bought_today.insert(sym.to_string(), v);
            }
        }
        Ok(book)
    }

    /// Reservations not yet committed (instance, intent id, order), for an instance's view.
    pub fn reservations(&mut self) -> Result<Vec<OpenOrder>> {
        self.orders_in(6)
    }

    /// Delete every key of the account (tests and `janus shared reset`).
    pub fn wipe(&mut self) -> Result<()> {
        let mut keys = self.keys.clone();
        keys.push(self.cfg.key("lease"));
        keys.push(self.cfg.key("intents"));
        keys.push(self.cfg.key("ready"));
        for (inst, _, _) in self.ready().unwrap_or_default() {
            keys.push(self.cfg.key(&format!("reports:{inst}")));
        }
        redis::cmd("DEL").arg(&keys).exec(&mut self.conn).map_err(|e| self.err(e))
    }
}
