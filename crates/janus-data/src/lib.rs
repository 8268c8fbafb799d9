//! Janus market data: everything between a file of daily bars and the engine's hot loop.
//!
//! The [`Panel`] holds all bars of a market as dense columns (dates x symbols, row-major by
//! date) with the fields the market rules need: OHLC as exact [`janus_core::Price`]s, volume and
//! amount, daily limit prices and per-cell flags (present, paused, ST, explicit limits).
//! [`load_csv`] reads long-format CSV into a panel fast and refuses bad input with a
//! [`DataError`] that names the file, line, column and value. [`generate`] builds a seeded
//! synthetic A-share market from a [`GenConfig`] (boards, ST names, limit streaks, one-price
//! bars, suspensions, late listings) for tests and benchmarks, and [`write_csv`] saves any panel
//! in the format the loader reads.
#![forbid(unsafe_code)]

pub mod actions;
mod error;
pub mod generator;
pub mod loader;
pub mod panel;
mod parse;

pub use actions::{adj_factor_from_actions, actions_from_adj_factor, load_actions, merge_actions, DayAction};
pub use generator::{generate, write_csv, GenConfig};
pub use loader::{load_csv, load_csv_reader, DataError};
pub use panel::Panel;
