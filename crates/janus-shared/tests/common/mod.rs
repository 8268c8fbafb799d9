//! Fixtures for the shared-account tests: a Redis to talk to, an account nobody else uses.
#![allow(dead_code)]

use janus_shared::{SharedConfig, SharedLedger};
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub fn redis_base() -> String {
    std::env::var("JANUS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
}

/// An account name no other test (or test process) uses.
pub fn unique(name: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("t-{name}-{}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed), nanos % 100_000)
}

/// Skip a test whose server is unavailable, unless `JANUS_REQUIRE_SERVICES=1`.
pub fn unavailable(what: &str, err: &dyn std::fmt::Display) {
    if std::env::var("JANUS_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
        panic!("{what} is required (JANUS_REQUIRE_SERVICES=1) but unavailable: {err}");
    }
    let test = std::thread::current().name().map(|n| format!(" {n}")).unwrap_or_default();
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED{test}: {what} is unavailable ({err}); set JANUS_REQUIRE_SERVICES=1 to make this a failure"
    );
}

/// A fresh account on the test Redis, or None (skipped) when Redis is not there.
pub fn account(name: &str) -> Option<(SharedConfig, SharedLedger)> {
    let cfg = SharedConfig::new(&redis_base(), &unique(name));
    match SharedLedger::connect(&cfg) {
        Ok(l) => Some((cfg, l)),
        Err(e) => {
            unavailable("Redis", &e);
            None
        }
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A throwaway Redis server on `port` (no persistence: a restart comes back empty).
pub fn start_redis(port: u16) -> Option<Child> {
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match child {
        Ok(c) => {
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(std::time::Instant::now() < deadline, "redis-server on port {port} did not start");
                std::thread::sleep(Duration::from_millis(30));
            }
            Some(c)
        }
        Err(e) => {
            unavailable("redis-server", &e);
            None
        }
    }
}
