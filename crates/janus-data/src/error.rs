//! The one error type of the crate: what was wrong with the data, where, and what to do.

use chrono::NaiveDate;
use janus_core::Price;

/// Everything that can be wrong with market data, each with the place and a hint.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot open {file}: {source}; check the path and the permissions")]
    Open {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: line {line}: cannot read the CSV: {message}")]
    Read { file: String, line: u64, message: String },
    #[error("cannot write the CSV: {source}")]
    Write {
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{file}: no data rows; expected a header line `date,symbol,open,high,low,close,volume` \
         followed by one line per date and symbol"
    )]
    Empty { file: String },
    #[error(
        "{file}: line 1: required column `{column}` is missing (the header has: {found}); \
         the header needs date,symbol,open,high,low,close,volume in any order"
    )]
    MissingColumn { file: String, column: &'static str, found: String },
    #[error("{file}: line 1: column `{column}` appears twice in the header; keep one of them")]
    DuplicateColumn { file: String, column: String },
    #[error(
        "{file}: line {line}: expected {expected} fields as in the header, found {found}; \
         look for a missing or extra comma"
    )]
    FieldCount { file: String, line: u64, expected: usize, found: usize },
    #[error("{file}: line {line}: column `date`: `{value}` is not a date; write dates as YYYY-MM-DD or YYYYMMDD")]
    BadDate { file: String, line: u64, value: String },
    #[error("{file}: line {line}: column `symbol`: `{value}` is not a symbol; give a code such as 600000.SH")]
    BadSymbol { file: String, line: u64, value: String },
    #[error("{file}: line {line}: column `{column}`: `{value}` cannot be read: {reason}; write a plain decimal such as 12.34")]
    BadNumber { file: String, line: u64, column: String, value: String, reason: String },
    #[error("{file}: line {line}: column `{column}`: `{value}` is NaN or infinite; fill in the value or drop the row")]
    NotFinite { file: String, line: u64, column: String, value: String },
    #[error(
        "{file}: line {line}: column `{column}`: price `{value}` is not positive; prices must be > 0 \
         (fill suspended days with the previous close and volume 0, or drop them)"
    )]
    NonPositivePrice { file: String, line: u64, column: String, value: String },
    #[error("{file}: line {line}: column `{column}`: `{value}` is negative; volumes and amounts must be >= 0")]
    Negative { file: String, line: u64, column: String, value: String },
    #[error(
        "{file}: line {line}: column `{column}`: `{value}` is not a flag; write 0/1 or true/false (empty means false)"
    )]
    BadFlag { file: String, line: u64, column: String, value: String },
    #[error("{file}: line {line}: high {high} is below low {low}; check that the columns are not swapped")]
    HighBelowLow { file: String, line: u64, high: Price, low: Price },
    #[error(
        "{file}: line {line}: column `{column}`: {value} is outside the bar's range [low {low}, high {high}]; \
         open and close must lie between low and high"
    )]
    OutsideRange { file: String, line: u64, column: &'static str, value: Price, low: Price, high: Price },
    #[error("{file}: line {line}: limit_down {down} is above limit_up {up}; check that the columns are not swapped")]
    LimitsInverted { file: String, line: u64, up: Price, down: Price },
    #[error(
        "{file}: line {line}: second bar for {symbol} on {date} (the first is on line {first_line}); \
         keep one line per date and symbol"
    )]
    Duplicate { file: String, line: u64, date: NaiveDate, symbol: String, first_line: u64 },
    #[error(
        "{file}: line {line}: ({date}, {symbol}) comes after ({prev_date}, {prev_symbol}) on line {prev_line}; \
         sort the rows by date, then by symbol"
    )]
    Unsorted {
        file: String,
        line: u64,
        date: NaiveDate,
        symbol: String,
        prev_date: NaiveDate,
        prev_symbol: String,
        prev_line: u64,
    },
    #[error("{file}: {dates} dates x {symbols} symbols is too large for one panel; split the file by date or symbol")]
    TooLarge { file: String, dates: usize, symbols: usize },
    /// A corporate-actions (events) file that cannot be used.
    #[error("{file}: line {line}: {message}")]
    Action { file: String, line: u64, message: String },
}
