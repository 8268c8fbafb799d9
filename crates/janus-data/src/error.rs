//! The one error type of the crate: what was wrong with the data, where, and what to do.

use chrono::NaiveDate;
use janus_core::Price;
use std::fmt;

/// Where a bad value sits: a file and a line (CSV), a row (Parquet) or a record (qlib's
/// binary files, 1-based after the start index).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub file: String,
    pub line: u64,
    pub unit: Unit,
}

/// What [`Place::line`] counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// A text line, the header being line 1.
    Line,
    /// A data row, the first being row 1.
    Row,
    /// A value of a qlib feature file, the first after the start index being record 1.
    Record,
}

impl Place {
    pub fn line(file: &str, line: u64) -> Place {
        Place { file: file.to_string(), line, unit: Unit::Line }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.unit {
            Unit::Line => "line",
            Unit::Row => "row",
            Unit::Record => "record",
        };
        write!(f, "{}: {unit} {}", self.file, self.line)
    }
}

/// Everything that can be wrong with market data, each with the place and a hint.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot open {file}: {source}; check the path and the permissions")]
    Open {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{at}: cannot read the CSV: {message}")]
    Read { at: Place, message: String },
    #[error("cannot write the data: {source}")]
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
         the header needs {needs} in any order"
    )]
    MissingColumn { file: String, column: &'static str, found: String, needs: String },
    #[error("{file}: line 1: column `{column}` appears twice in the header; keep one of them")]
    DuplicateColumn { file: String, column: String },
    #[error("{at}: expected {expected} fields as in the header, found {found}; look for a missing or extra comma")]
    FieldCount { at: Place, expected: usize, found: usize },
    #[error("{at}: column `{column}`: `{value}` is not a date; write dates as YYYY-MM-DD or YYYYMMDD")]
    BadDate { at: Place, column: String, value: String },
    #[error("{at}: column `{column}`: `{value}` is not a symbol; give a code such as 600000.SH")]
    BadSymbol { at: Place, column: String, value: String },
    #[error(
        "{at}: column `{column}`: symbol `{value}` contains {what}; a code such as 600000.SH has \
         none (check the file's encoding and separators)"
    )]
    SymbolChars { at: Place, column: String, value: String, what: &'static str },
    #[error(
        "{at}: symbol `{symbol}` differs from `{other}` (first seen on {other_line}) only in letter case; \
         one code must be spelled one way, or the two would trade as different stocks"
    )]
    CaseVariant { at: Place, symbol: String, other: String, other_line: String },
    #[error("{at}: column `{column}`: `{value}` cannot be read: {reason}; write a plain decimal such as 12.34")]
    BadNumber { at: Place, column: String, value: String, reason: String },
    #[error("{at}: column `{column}`: `{value}` is NaN or infinite; fill in the value or drop the row")]
    NotFinite { at: Place, column: String, value: String },
    #[error(
        "{at}: column `{column}`: price `{value}` is not positive; prices must be > 0 \
         (fill suspended days with the previous close and volume 0, or drop them)"
    )]
    NonPositivePrice { at: Place, column: String, value: String },
    #[error(
        "{at}: column `{column}`: price `{value}` is above 200,000 CNY, the largest Janus accepts (it keeps \
         prices in 32 bits; no A-share has traded near it): is the column in fen, or in another unit than CNY?"
    )]
    PriceTooLarge { at: Place, column: String, value: String },
    #[error(
        "{at}: column `{column}`: price `{value}` is not on the 0.01 tick: A-share prices are whole fen, so \
         this looks like forward- or backward-adjusted data, on which price limits silently stop binding. \
         Load raw prices with an `adj_factor` column for the adjustment, or set `[data] prices = \
         \"round_to_tick\"` to round every price to the tick knowingly"
    )]
    OffTick { at: Place, column: String, value: String },
    #[error("{at}: column `{column}`: `{value}` is negative; volumes and amounts must be >= 0")]
    Negative { at: Place, column: String, value: String },
    #[error(
        "{at}: column `{column}`: adjustment factor `{value}` is not a positive finite number; \
         leave the cell empty for a factor of 1"
    )]
    BadFactor { at: Place, column: String, value: String },
    #[error("{at}: column `{column}`: `{value}` is not a flag; write 0/1 or true/false (empty means false)")]
    BadFlag { at: Place, column: String, value: String },
    #[error("{at}: high {high} is below low {low}; check that the columns are not swapped")]
    HighBelowLow { at: Place, high: Price, low: Price },
    #[error(
        "{at}: column `{column}`: {value} is outside the bar's range [low {low}, high {high}]; \
         open and close must lie between low and high"
    )]
    OutsideRange { at: Place, column: &'static str, value: Price, low: Price, high: Price },
    #[error("{at}: limit_down {down} is above limit_up {up}; check that the columns are not swapped")]
    LimitsInverted { at: Place, up: Price, down: Price },
    #[error(
        "{at}: the bar traded at {value} ({column}), {side} its own {limit_name} {limit}: a price limit \
         cannot be crossed, so the limit columns belong to another day or symbol; fix them, or drop both \
         columns to derive the limits"
    )]
    LimitContradicted {
        at: Place,
        column: &'static str,
        value: Price,
        side: &'static str,
        limit_name: &'static str,
        limit: Price,
    },
    #[error("{at}: second bar for {symbol} on {date} (the first is on {first}); keep one row per date and symbol")]
    Duplicate { at: Place, date: NaiveDate, symbol: String, first: String },
    #[error(
        "{at}: ({date}, {symbol}) comes after ({prev_date}, {prev_symbol}) on line {prev_line}; \
         sort the rows by date, then by symbol (or name a `[data] format` preset, whose rows are sorted for you)"
    )]
    Unsorted { at: Place, date: NaiveDate, symbol: String, prev_date: NaiveDate, prev_symbol: String, prev_line: u64 },
    #[error("{file}: {dates} dates x {symbols} symbols is too large for one panel; split the file by date or symbol")]
    TooLarge { file: String, dates: usize, symbols: usize },
    /// The input's structure (not one value) is unusable: a Parquet schema, a qlib folder.
    #[error("{file}: {message}")]
    Format { file: String, message: String },
    /// A trading-calendar file that cannot be used, or bars that disagree with it.
    #[error("{at}: {message}")]
    Calendar { at: Place, message: String },
    /// A universe (index members) file that cannot be used.
    #[error("{at}: {message}")]
    Universe { at: Place, message: String },
    /// A synthetic market that cannot be generated.
    #[error("{key}: {message}")]
    GenSize { key: String, message: String },
    /// A corporate-actions (events) file that cannot be used.
    #[error("{file}: line {line}: {message}")]
    Action { file: String, line: u64, message: String },
}

impl DataError {
    /// The line (or row, or record) the error is about, when it is about one.
    pub fn line(&self) -> Option<u64> {
        use DataError::*;
        match self {
            Read { at, .. }
            | FieldCount { at, .. }
            | BadDate { at, .. }
            | BadSymbol { at, .. }
            | SymbolChars { at, .. }
            | CaseVariant { at, .. }
            | BadNumber { at, .. }
            | NotFinite { at, .. }
            | NonPositivePrice { at, .. }
            | PriceTooLarge { at, .. }
            | OffTick { at, .. }
            | Negative { at, .. }
            | BadFactor { at, .. }
            | BadFlag { at, .. }
            | HighBelowLow { at, .. }
            | OutsideRange { at, .. }
            | LimitsInverted { at, .. }
            | LimitContradicted { at, .. }
            | Duplicate { at, .. }
            | Unsorted { at, .. }
            | Calendar { at, .. }
            | Universe { at, .. } => Some(at.line),
            Action { line, .. } => Some(*line),
            Empty { .. } | MissingColumn { .. } | DuplicateColumn { .. } => Some(1),
            Open { .. } | Write { .. } | TooLarge { .. } | Format { .. } | GenSize { .. } => None,
        }
    }
}
