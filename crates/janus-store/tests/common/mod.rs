//! Test fixtures: one store of each backend in its own namespace (a temporary SQLite file, a
//! PostgreSQL schema, a Redis key prefix), dropped when the fixture goes away.
#![allow(dead_code)]

use janus_core::Store;
use janus_store::{drop_namespace, open_store_with, StoreOptions};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Memory,
    Sqlite,
    Postgres,
    Redis,
}

pub fn postgres_base() -> String {
    std::env::var("JANUS_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub fn redis_base() -> String {
    std::env::var("JANUS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
}

/// Add a query parameter to a URL.
pub fn with_param(url: &str, key: &str, value: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{key}={value}")
}

/// A namespace no other test (or test process) uses.
pub fn unique(name: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let short: String = name.to_lowercase().chars().filter(|c| c.is_ascii_alphanumeric()).take(24).collect();
    format!("jt_{short}_{}_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed), nanos % 1000)
}

/// A loopback port nothing listens on (for a throwaway server).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Wait until a throwaway server accepts connections.
pub fn wait_for_port(port: u16) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "server on port {port} did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Skip a test whose server (or tool) is unavailable, unless `JANUS_REQUIRE_SERVICES=1`. The message
/// goes straight to the process's stderr: the test harness captures `eprintln!` of a passing
/// test, and a skip must show in the normal `cargo test` output.
pub fn unavailable(what: &str, err: &dyn std::fmt::Display) {
    if std::env::var("JANUS_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
        panic!("{what} is required (JANUS_REQUIRE_SERVICES=1) but unavailable: {err}");
    }
    // The harness names each test's thread after the test (unless it runs them on the main one).
    let test = match std::thread::current().name() {
        Some(name) if name != "main" => format!(" {name}"),
        _ => String::new(),
    };
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED{test}: {what} is unavailable ({err}); set JANUS_REQUIRE_SERVICES=1 to make this a failure"
    );
}

/// A store in its own namespace; the namespace is dropped with the fixture.
pub struct Fixture {
    pub kind: Kind,
    pub url: String,
    pub store: Box<dyn Store>,
    _dir: Option<tempfile::TempDir>,
}

impl Fixture {
    pub fn open(kind: Kind, name: &str) -> Option<Fixture> {
        Fixture::open_with(kind, name, &StoreOptions { retry: std::time::Duration::ZERO, ..StoreOptions::default() })
    }

    pub fn open_with(kind: Kind, name: &str, opts: &StoreOptions) -> Option<Fixture> {
        let ns = unique(name);
        let (url, dir) = match kind {
            Kind::Memory => ("memory".to_string(), None),
            Kind::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                (format!("sqlite:{}", dir.path().join("runs.db").display()), Some(dir))
            }
            Kind::Postgres => (with_param(&postgres_base(), "schema", &ns), None),
            Kind::Redis => (with_param(&redis_base(), "prefix", &ns), None),
        };
        match open_store_with(&url, opts) {
            Ok(store) => Some(Fixture { kind, url, store, _dir: dir }),
            Err(e) => {
                unavailable(&format!("{kind:?}"), &e);
                None
            }
        }
    }

    /// Another handle on the same store (as a second process would open it).
    pub fn reopen(&self, opts: &StoreOptions) -> Box<dyn Store> {
        open_store_with(&self.url, opts).unwrap()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if matches!(self.kind, Kind::Postgres | Kind::Redis) {
            let _ = drop_namespace(&self.url);
        }
    }
}
