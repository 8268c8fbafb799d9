//! Test fixtures: the reference bridge as a subprocess on its own stream prefix, a
//! `GatewayBroker` in front of it, and a small ledger that applies execution reports the way
//! the engine does (fills booked once per trade id).
#![allow(dead_code)]

use janus_core::{
    Broker, BrokerError, ExecReport, FillSpec, Money, Order, OrderEvent, OrderId, OrderStatus, OrderType, Portfolio,
    Price, ReportKind, Side, SymbolId,
};
use janus_gateway::{GatewayBroker, GatewayConfig};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ACCOUNT: &str = "acc1";
pub const SYMBOLS: [&str; 3] = ["600000.SH", "000001.SZ", "600519.SH"];
/// The bridge's starting cash, in yuan and in Janus units.
pub const CASH: &str = "1000000";
pub const CASH_UNITS: Money = Money(1_000_000 * 10_000);

pub fn day() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2024, 1, 2).expect("valid date")
}

pub fn sid(symbol: &str) -> Option<SymbolId> {
    SYMBOLS.iter().position(|s| *s == symbol).map(|i| i as SymbolId)
}

fn redis_url() -> String {
    std::env::var("JANUS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
}

fn required(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| v == "1")
}

/// Skip (or, when `var` is `1`, fail) a test whose service or tool is missing.
fn skip(var: &str, what: &str) {
    if required(var) {
        panic!("{what} ({var}=1 makes this a failure)");
    }
    let test = std::thread::current().name().filter(|n| *n != "main").map(|n| format!(" {n}")).unwrap_or_default();
    let _ = writeln!(std::io::stderr(), "SKIPPED{test}: {what}; set {var}=1 to make this a failure");
}

/// Redis answers PING, or the test is skipped.
pub fn redis_available() -> bool {
    let url = redis_url();
    let up = redis::Client::open(url.as_str())
        .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
        .and_then(|mut c| redis::cmd("PING").exec(&mut c));
    match up {
        Ok(()) => true,
        Err(e) => {
            skip(
                "JANUS_REQUIRE_SERVICES",
                &format!("Redis at {} is unavailable ({e})", janus_gateway::broker::redact(&url)),
            );
            false
        }
    }
}

/// The Python to run the bridge with (JANUS_PYTHON, else `python3`), if it has `redis`.
pub fn python() -> Option<String> {
    let py = std::env::var("JANUS_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&py)
        .args(["-c", "import redis"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(py);
    }
    skip(
        "JANUS_REQUIRE_PYTHON",
        &format!("{py} cannot import the `redis` package: set JANUS_PYTHON to a Python with bridge/requirements.txt"),
    );
    None
}

/// A stream prefix no other test (or test process) uses.
pub fn unique_prefix(name: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("janus:test:gw:{name}:{}:{nanos}", std::process::id())
}

/// A gateway configuration with short timeouts, for tests.
pub fn config(prefix: &str) -> GatewayConfig {
    GatewayConfig {
        prefix: prefix.to_string(),
        query_timeout: Duration::from_secs(5),
        silence_timeout: Duration::from_millis(1_000),
        ..GatewayConfig::new(&redis_url(), ACCOUNT)
    }
}

/// The reference bridge running on its own prefix; killed and its streams deleted on drop.
pub struct Bridge {
    child: Child,
    pub prefix: String,
    pub log: tempfile::NamedTempFile,
}

impl Bridge {
    /// Start the bridge with `args` (on top of account, cash, prefix, log, a fast heartbeat)
    /// and a gateway in front of it that has heard from it; `None` when the test is skipped.
    pub fn start(name: &str, args: &[&str]) -> Option<(Bridge, GatewayBroker)> {
        if !redis_available() {
            return None;
        }
        let py = python()?;
        let prefix = unique_prefix(name);
        let log = tempfile::NamedTempFile::new().expect("a temporary log file");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bridge/reference_bridge.py");
        let child = Command::new(py)
            .arg(script)
            .args(["--redis-url", &redis_url(), "--prefix", &prefix, "--account", ACCOUNT, "--cash", CASH])
            .args(["--heartbeat", "0.2", "--log"])
            .arg(log.path())
            .args(args)
            .stdout(Stdio::null())
            .spawn()
            .expect("the bridge starts");
        let bridge = Bridge { child, prefix, log };
        let mut gw = GatewayBroker::connect(config(&bridge.prefix)).expect("gateway connects");
        gw.wait_for_bridge(Duration::from_secs(15)).expect("the bridge says hello");
        Some((bridge, gw))
    }

    /// The bridge's log lines with `event` for client order `id`.
    pub fn logged(&self, event: &str, id: u64) -> usize {
        let text = std::fs::read_to_string(self.log.path()).expect("the bridge's log");
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["event"] == event && v["client_order_id"].as_str() == Some(id.to_string().as_str()))
            .count()
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        delete_streams(&config(&self.prefix));
    }
}

/// Deletes a gateway's streams when dropped, also when the test fails.
pub struct Streams(pub GatewayConfig);

impl Drop for Streams {
    fn drop(&mut self) {
        delete_streams(&self.0);
    }
}

fn delete_streams(cfg: &GatewayConfig) {
    if let Ok(mut c) = redis::Client::open(cfg.url.as_str()).and_then(|c| c.get_connection()) {
        let dead = format!("{}:{}:dead", cfg.prefix, cfg.account);
        let _ = redis::cmd("DEL").arg(cfg.out_stream()).arg(cfg.in_stream()).arg(dead).exec(&mut c);
    }
}

/// The engine's side in miniature: orders, a portfolio, and the trade ids already booked.
pub struct Ledger {
    pub pf: Portfolio,
    pub orders: BTreeMap<u64, Order>,
    pub trades: BTreeSet<String>,
    /// Every report received, in order.
    pub seen: Vec<ExecReport>,
}

impl Ledger {
    pub fn new() -> Ledger {
        Ledger { pf: Portfolio::new(CASH_UNITS), orders: BTreeMap::new(), trades: BTreeSet::new(), seen: Vec::new() }
    }

    /// Admit (freeze) and send an order; the broker's answer is returned, the order kept
    /// `Submitted` whatever it is.
    pub fn submit(
        &mut self,
        gw: &mut dyn Broker,
        id: u64,
        symbol: &str,
        side: Side,
        qty: i64,
        limit: Price,
    ) -> Result<(), BrokerError> {
        let mut o = Order::new(OrderId(id), symbol.into(), side, OrderType::Limit(limit), qty, day());
        let s = sid(symbol).expect("a test symbol");
        match side {
            // Price plus a generous allowance for fees.
            Side::Buy => self.pf.accept_buy(&mut o, Money(limit.notional(qty).0 + 100_000)).expect("cash"),
            Side::Sell => self.pf.accept_sell(&mut o, s).expect("shares"),
        }
        let sent = gw.submit(&o);
        self.orders.insert(id, o);
        sent
    }

    /// Ask for a cancel (the order goes `PendingCancel`).
    pub fn cancel(&mut self, gw: &mut dyn Broker, id: u64) -> Result<(), BrokerError> {
        let o = self.orders.get_mut(&id).expect("a known order");
        o.apply(OrderEvent::RequestCancel, day()).expect("cancelable");
        gw.cancel(OrderId(id))
    }

    /// Apply reports as the engine does: a fill whose trade id was booked is ignored, a report
    /// for a finished order is ignored.
    pub fn apply(&mut self, reports: Vec<ExecReport>) {
        for r in reports {
            self.seen.push(r.clone());
            let Some(o) = self.orders.get_mut(&r.order_id.0) else { continue };
            if !o.status.is_open() {
                continue;
            }
            let s = sid(&o.symbol).expect("a test symbol");
            match &r.kind {
                ReportKind::Accepted => {
                    let _ = o.apply(OrderEvent::Accept, r.date);
                }
                ReportKind::Rejected { .. } => {
                    o.apply(OrderEvent::Reject, r.date).expect("rejectable");
                    self.pf.release(o, s);
                }
                ReportKind::PartiallyFilled(f) | ReportKind::Filled(f) => {
                    if !self.trades.insert(f.trade_id.clone()) {
                        continue;
                    }
                    let spec = FillSpec {
                        price: f.price,
                        qty: f.qty,
                        reference: f.reference,
                        date: r.date,
                        commission: f.commission,
                        taxes: f.taxes,
                    };
                    self.pf.fill(o, s, spec).expect("the fill fits the order");
                }
                ReportKind::Canceled => self.pf.cancel(o, s, r.date).expect("cancelable"),
                ReportKind::Expired { .. } => self.pf.expire(o, s, r.date).expect("expirable"),
                ReportKind::CancelRejected { .. } => {
                    let filled = o.filled;
                    o.apply(OrderEvent::CancelReject { filled }, r.date).expect("cancel rejectable");
                }
                ReportKind::Held { .. } => {}
            }
        }
    }

    pub fn status(&self, id: u64) -> OrderStatus {
        self.orders[&id].status
    }

    /// Poll and apply until `done` holds, for at most `within`.
    pub fn poll_until(&mut self, gw: &mut dyn Broker, within: Duration, done: impl Fn(&Ledger) -> bool) {
        let deadline = Instant::now() + within;
        while !done(self) {
            assert!(Instant::now() < deadline, "not settled in {within:?}; reports so far: {:#?}", self.seen);
            match gw.poll() {
                Ok(reports) => self.apply(reports),
                Err(BrokerError::Unreachable(_)) => {}
                Err(e) => panic!("poll failed: {e}"),
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Yuan as Janus money units.
pub fn yuan(text: &str) -> Money {
    Money(janus_core::money::parse_fixed(text, 4).expect("a decimal"))
}
