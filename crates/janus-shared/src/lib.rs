//! Janus shared account: several strategy instances, on one machine or many, trade one broker
//! account through Redis.
//!
//! * Every order intent is admitted by one Lua script run atomically in Redis ([`ledger`]):
//!   free cash after every reservation and open buy, the per-symbol concentration cap, the
//!   maximum number of positions, the circuit breaker and T+1 sellable shares are checked and
//!   reserved in one step, on integer money, so two instances can never spend the same cash
//!   or both buy past a cap. A reservation expires when its instance does not hand it to the
//!   gateway in time (it died), and gives back what it held.
//! * One gateway process owns the broker connection: it holds a Redis lease with a fencing
//!   token ([`lease`]); every ledger change it makes carries the token, so a gateway that lost
//!   its lease (paused, partitioned) is refused by the ledger instead of trading twice.
//! * Instances hand admitted orders to the gateway through a Redis Stream consumer group
//!   ([`intents`]); the gateway commits each reservation, journals it, sends it to the broker
//!   and applies the execution reports to the ledger ([`gateway`]).
//! * Every ledger change, refusals included (with the instance that asked), is one entry of a
//!   sequenced audit stream written by the same script; the gateway copies it into the run's
//!   journal in the SQL store. [`model`] replays that journal independently of the scripts:
//!   it checks every decision and rebuilds the ledger when Redis restarts empty.
#![forbid(unsafe_code)]

pub mod gateway;
pub mod instance;
pub mod intents;
pub mod jobs;
pub mod lease;
pub mod ledger;
pub mod model;

use std::time::Duration;

pub use ledger::{Admission, Intent, SharedLedger};
pub use model::{AuditEntry, LedgerModel};

/// Where the shared account lives in Redis and how long things may take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedConfig {
    /// `redis://[:PASSWORD@]HOST:PORT/DB`.
    pub url: String,
    /// The broker account the instances share; part of every key.
    pub account: String,
    /// Keys are `{prefix}:{{account}}:...` (the braces keep one account's keys in one cluster slot).
    pub prefix: String,
    /// How long an admitted intent holds its cash or shares before the gateway must commit it.
    pub reservation_ttl: Duration,
    /// How long the gateway's lease lasts without renewal.
    pub lease_ttl: Duration,
    /// Connect, read and write timeout of every Redis command.
    pub io_timeout: Duration,
}

impl SharedConfig {
    /// Defaults: prefix `janus:acct`, reservations of 5 s, a lease of 3 s, 2 s per command.
    pub fn new(url: &str, account: &str) -> SharedConfig {
        SharedConfig {
            url: url.to_string(),
            account: account.to_string(),
            prefix: "janus:acct".into(),
            reservation_ttl: Duration::from_secs(5),
            lease_ttl: Duration::from_secs(3),
            io_timeout: Duration::from_secs(2),
        }
    }

    /// One key of the account.
    pub fn key(&self, name: &str) -> String {
        format!("{}:{{{}}}:{name}", self.prefix, self.account)
    }
}

/// Why the shared account could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum SharedError {
    #[error("shared account Redis {url}: {message}")]
    Redis { url: String, message: String },
    /// The ledger has not been set up (or Redis lost it).
    #[error("{0}")]
    NoLedger(String),
    /// The gateway's fencing token is not the current one: another gateway took over.
    #[error("stale gateway: {0}")]
    Stale(String),
    #[error("{0}")]
    Invalid(String),
    #[error("broker: {0}")]
    Broker(String),
    #[error("store: {0}")]
    Store(String),
}

pub type Result<T> = std::result::Result<T, SharedError>;
