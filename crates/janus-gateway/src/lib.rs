//! Janus gateway: the `Broker` port spoken to a real broker through an external bridge.
//!
//! Janus never links a broker's SDK (xtquant/QMT, easytrader are Python, Windows-bound and
//! change often). Instead [`GatewayBroker`] writes orders, cancels and queries as JSON to a
//! Redis Stream and reads execution reports, account and position answers and heartbeats
//! from another; a small bridge process beside the broker's SDK does the rest. The protocol
//! ([`protocol`], and docs/gateway.md for bridge authors) carries prices and money as decimal
//! strings, keys every order by the Janus client order id (so a resent order is recognised),
//! and treats a silent bridge as unreachable rather than guessing what happened.
#![forbid(unsafe_code)]

pub mod broker;
pub mod protocol;

pub use broker::GatewayBroker;

use std::time::Duration;

/// Where the gateway's streams are and how long to wait for what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayConfig {
    /// `redis://[:PASSWORD@]HOST:PORT/DB`; shown in messages without the password.
    pub url: String,
    /// Stream names start with it: `{prefix}:{account}:out` and `{prefix}:{account}:in`.
    pub prefix: String,
    /// The broker account the bridge trades; part of the stream names and of every order.
    pub account: String,
    /// Janus's consumer name in the in stream's group (one per strategy instance).
    pub consumer: String,
    pub connect_timeout: Duration,
    /// Socket read and write timeout of every command.
    pub io_timeout: Duration,
    /// How long a query (account, positions, open orders) waits for the bridge's answer.
    pub query_timeout: Duration,
    /// A bridge that has sent nothing, not even a heartbeat, for longer is unreachable.
    pub silence_timeout: Duration,
    /// How long `poll` waits for a report when none is there (zero: it does not wait).
    pub poll_block: Duration,
}

impl GatewayConfig {
    /// The defaults: prefix `janus:gw`, consumer `janus`, 2 s to connect and per command, 5 s
    /// for a query's answer, 5 s of silence, `poll` without waiting.
    pub fn new(url: &str, account: &str) -> GatewayConfig {
        GatewayConfig {
            url: url.to_string(),
            prefix: "janus:gw".into(),
            account: account.to_string(),
            consumer: "janus".into(),
            connect_timeout: Duration::from_secs(2),
            io_timeout: Duration::from_secs(2),
            query_timeout: Duration::from_secs(5),
            silence_timeout: Duration::from_secs(5),
            poll_block: Duration::ZERO,
        }
    }

    /// Orders, cancels and queries, Janus to bridge.
    pub fn out_stream(&self) -> String {
        format!("{}:{}:out", self.prefix, self.account)
    }

    /// Reports, answers and heartbeats, bridge to Janus.
    pub fn in_stream(&self) -> String {
        format!("{}:{}:in", self.prefix, self.account)
    }
}
