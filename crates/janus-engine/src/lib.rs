//! Janus engine: one trading loop for backtests, paper and live trading, and the logic around it.
//!
//! [`engine::Backtest`] owns the state of a run (the ledger, the orders at the broker, the
//! journal's position) and for each closed day a `MarketFeed` gives: applies corporate
//! actions, lets the `Broker` see the day and applies its execution reports (the
//! [`sim_broker::SimBroker`] matches with the [`matcher`] under the A-share rules), marks
//! positions, asks a [`strategy::Strategy`] for intents on a read-only history (the
//! [`strategy::DualModelStrategy`] scans positions with a sell model, then ranks the market
//! with a buy model), admits them through the [`risk::RiskManager`] and sends them to the
//! broker. It talks to persistence only through the core `Store` trait: each day's rows, its
//! journal events and a checkpoint of the state ([`ledger`]) from which a run resumes.
#![forbid(unsafe_code)]

pub mod config;
pub mod engine;
pub mod features;
pub mod friction;
pub mod ledger;
pub mod matcher;
mod orders;
pub mod reconcile;
pub mod risk;
pub mod sim_broker;
pub mod strategy;

pub use config::{EngineConfig, FillConfig, FillPrice, Frictions, LimitBlock, RiskConfig, StrategyConfig};
pub use engine::{derive_run_id, Backtest, EngineError, Resume, RunOptions, RunOutcome, PROBE_POINTS};
pub use sim_broker::{SimBroker, SimRules};
pub use strategy::{BuyModel, Decisions, DualModelStrategy, Intent, SellModel, Strategy, StrategyView};
