//! Janus market data: everything between the files users have and the engine's hot loop.
//!
//! The [`Panel`] holds all bars of a market as dense columns (dates x symbols, row-major by
//! date) with the fields the market rules need: OHLC as exact prices in 32 bits
//! ([`janus_core::Price32`], read back as [`janus_core::Price`]), volume and amount, daily
//! limit prices, per-cell flags (present, paused, ST, explicit limits, outside
//! the universe) and the adjustment factor. [`load`] reads every supported input into a panel:
//! Janus CSV ([`load_csv`], fast and parallel), the tushare and akshare CSV presets with their
//! units converted, Parquet, and qlib's binary folder; it checks the bars against a trading
//! calendar and marks a universe's members. Every rejection is a [`DataError`] naming the file,
//! line (or row), column and value, with advice: off-tick (adjusted) prices, symbols with
//! spaces or case variants, limits the bar crosses, and the rest. [`generate`] builds a seeded
//! synthetic A-share market on the exchanges' real trading days ([`holidays`]) for tests and
//! benchmarks, and [`write_csv`] and [`write_parquet`] save any panel in a format the loaders
//! read. The [`MarketFeed`] port yields each day's close as a [`History`], through which no day
//! after it can be reached.
// `unsafe` is denied except in `memory`, for one measured system call and the zeroed columns it
// maps in.
#![deny(unsafe_code)]

pub mod actions;
pub mod akshare;
mod assemble;
mod bulk;
pub mod calendar;
mod csv_direct;
mod direct;
mod error;
pub mod feed;
pub mod generator;
pub mod grow;
pub mod history;
pub mod holidays;
mod load;
pub mod loader;
mod memory;
pub mod panel;
pub mod parquet_bars;
mod parquet_direct;
mod parquet_pages;
mod parquet_write;
mod parse;
pub mod qlib;
mod rows;
pub mod tushare;
pub mod universe;
mod values;

/// Worker threads for loading: one per core, at most four (past that, memory bandwidth, not
/// cores, limits the loaders).
pub(crate) fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4)
}

pub use actions::{actions_from_adj_factor, adj_factor_from_actions, load_actions, merge_actions, DayAction};
pub use calendar::Calendar;
pub use error::{Place, Unit};
pub use feed::{FeedError, MarketFeed, PanelFeed};
pub use generator::{generate, write_csv, GenConfig};
pub use grow::{DayCsv, GrowingPanel};
pub use history::History;
pub use load::{load, Format, LoadOptions, FORMATS};
pub use loader::{load_csv, load_csv_reader, load_csv_with, read_csv, CsvOptions, DataError};
pub use panel::Panel;
pub use parquet_bars::load_parquet;
pub use parquet_write::{write_parquet, write_parquet_groups};
pub use universe::Universe;
pub use values::PriceMode;
