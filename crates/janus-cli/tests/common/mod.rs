//! What the process-level tests of `janus` share: the binary, the test servers' URLs, unique
//! names, and the visible skip when a server is missing.
#![allow(dead_code)]

use std::process::Command;

pub fn janus() -> Command {
    Command::new(env!("CARGO_BIN_EXE_janus"))
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn redis_base() -> String {
    std::env::var("JANUS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
}

pub fn postgres_base() -> String {
    std::env::var("JANUS_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A name no other test (or test process) uses.
pub fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("t{name}{}x{}", std::process::id(), nanos % 1_000_000)
}

/// Skip a test whose server is missing (saying so, with the test's name), or fail it when
/// `JANUS_REQUIRE_SERVICES=1`.
pub fn skip(why: &str) {
    if std::env::var("JANUS_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
        panic!("required (JANUS_REQUIRE_SERVICES=1) but unavailable: {why}");
    }
    use std::io::Write;
    let test = std::thread::current().name().map(|n| format!(" {n}")).unwrap_or_default();
    let _ = writeln!(std::io::stderr(), "SKIPPED{test}: {why}; set JANUS_REQUIRE_SERVICES=1 to make this a failure");
}
