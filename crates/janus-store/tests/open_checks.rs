//! Opening a store checks what would otherwise fail mid-run: a server that accepts the
//! connection and never answers fails the open within the timeouts (it used to wait forever),
//! and a Redis that wants a password (or another one) says so at open, with the URL redacted
//! and how to pass the password.

mod common;

use common::{free_port, wait_for_port};
use janus_store::{open_store_with, StoreOptions};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A TCP server that accepts every connection and never says a word (a hung server as the
/// client sees it). Returns its port; connections stay open until the test process ends.
fn silent_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

fn quick() -> StoreOptions {
    StoreOptions {
        retry: Duration::ZERO,
        connect_timeout: Duration::from_secs(1),
        io_timeout: Duration::from_secs(1),
        ..StoreOptions::default()
    }
}

fn opening_fails_within(url: &str, bound: Duration) -> String {
    let t = Instant::now();
    let err = match open_store_with(url, &quick()) {
        Ok(_) => panic!("opening {url} on a silent server succeeded"),
        Err(e) => e.to_string(),
    };
    eprintln!("{url}: {err} (after {:?})", t.elapsed());
    assert!(t.elapsed() < bound, "opening {url} took {:?}: {err}", t.elapsed());
    err
}

#[test]
fn opening_a_postgres_server_that_never_answers_fails_within_the_connect_timeout() {
    let url = format!("postgres://janus:hush@127.0.0.1:{}/test", silent_server());
    let err = opening_fails_within(&url, Duration::from_secs(4));
    assert!(err.contains("janus:***@127.0.0.1") && err.contains("within 1 s"), "{err}");
    assert!(!err.contains("hush"), "{err}");
}

#[test]
fn opening_a_redis_server_that_never_answers_fails_within_the_timeouts() {
    let url = format!("redis://127.0.0.1:{}/", silent_server());
    let err = opening_fails_within(&url, Duration::from_secs(4));
    assert!(err.contains(&url), "{err}");
}

/// A throwaway `redis-server --requirepass` on a free port, stopped (by its id) on drop.
struct GuardedRedis {
    port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl GuardedRedis {
    fn start(password: &str) -> Option<GuardedRedis> {
        if Command::new("redis-server").arg("--version").output().is_err() {
            common::unavailable("redis-server (to start a throwaway server)", &"not installed");
            return None;
        }
        let (port, dir) = (free_port(), tempfile::tempdir().unwrap());
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--requirepass", password])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_port(port);
        Some(GuardedRedis { port, child, _dir: dir })
    }
}

impl Drop for GuardedRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_redis_that_needs_a_password_fails_at_open_with_advice_unless_it_is_given() {
    let secret = "s3cret-Pw";
    let Some(server) = GuardedRedis::start(secret) else { return };
    let base = format!("127.0.0.1:{}/", server.port);
    // The environment is the process's: this one test owns REDISCLI_AUTH.
    std::env::remove_var("REDISCLI_AUTH");

    // No password: refused at open (before, the first write of the run failed with NOAUTH).
    let t = Instant::now();
    let err = open_store_with(&format!("redis://{base}"), &quick()).err().expect("no password").to_string();
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    eprintln!("{err}");
    assert!(err.contains(&format!("redis://{base}")) && err.contains("requires a password"), "{err}");
    assert!(err.contains("redis://:PASSWORD@") && err.contains("REDISCLI_AUTH"), "says how to pass it: {err}");

    // A wrong password in the URL: refused, shown redacted.
    let err = open_store_with(&format!("redis://:wrong-one@{base}"), &quick()).err().expect("wrong").to_string();
    assert!(err.contains(&format!("redis://:***@{base}")) && err.contains("refused the password"), "{err}");
    assert!(!err.contains("wrong-one"), "{err}");

    // A wrong password in REDISCLI_AUTH: refused, and the message says where it came from.
    std::env::set_var("REDISCLI_AUTH", "wrong-two");
    let err = open_store_with(&format!("redis://{base}"), &quick()).err().expect("wrong env").to_string();
    assert!(err.contains("REDISCLI_AUTH") && !err.contains("wrong-two"), "{err}");

    // The right one, from the environment or from the URL: the store works.
    std::env::set_var("REDISCLI_AUTH", secret);
    let env_store = open_store_with(&format!("redis://{base}?prefix=pw"), &quick());
    std::env::remove_var("REDISCLI_AUTH");
    assert!(env_store.unwrap().run_summaries().unwrap().is_empty());
    let url_store = open_store_with(&format!("redis://:{secret}@{base}?prefix=pw"), &quick());
    assert!(url_store.unwrap().run_summaries().unwrap().is_empty());
}
