//! Janus engine: the daily backtest loop and the logic around it.
//!
//! [`engine::Backtest`] owns the state of a run (the ledger and the pending orders) and for
//! each day matches orders against the bar ([`matcher`]), marks positions, asks a
//! [`strategy::Strategy`] for intents (the [`strategy::DualModelStrategy`] scans positions with
//! a sell model, then ranks the market with a buy model) and admits them through the
//! [`risk::RiskManager`]. It talks to persistence only through the core `Store` trait.
#![forbid(unsafe_code)]

pub mod config;
pub mod engine;
pub mod features;
pub mod friction;
pub mod matcher;
pub mod risk;
pub mod strategy;

pub use config::{EngineConfig, FillConfig, FillPrice, Frictions, LimitBlock, RiskConfig, StrategyConfig};
pub use engine::{derive_run_id, Backtest, EngineError, Resume, RunOutcome};
pub use strategy::{BuyModel, Decisions, DualModelStrategy, Intent, SellModel, Strategy, StrategyView};
