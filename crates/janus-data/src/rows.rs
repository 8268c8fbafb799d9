//! Rows of any input format on their way into a [`Panel`], and the checks every row passes.
//!
//! Every format (CSV presets, Parquet, qlib) turns its rows into the same typed values and
//! hands them to a [`Part`]: a run of rows held in chunked columns (no per-row allocation, no
//! doubling reallocation), with its own symbol table, checking each row's date and symbol
//! (order, validity) and the bar's consistency. Large inputs are read as several parts in
//! parallel; [`crate::assemble`] merges them into the panel.

use crate::bulk::Row;
use crate::error::{DataError, Place, Unit};
use crate::panel::flag;
use crate::parse::parse_date;
pub(crate) use crate::values::{show, At, Kind, PriceMode};
use janus_core::{Price, Price32};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Whether rows must arrive sorted by date, then symbol (Janus CSV: checked, an error
/// otherwise) or may come in any order and are sorted here (the presets: tushare writes each
/// symbol's rows newest first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Order {
    Strict,
    Sort,
}

/// Which optional columns the input has, and how its rows are ordered.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Layout {
    pub order: Order,
    pub limits: bool,
    pub adj: bool,
    pub unit: Unit,
    pub prices: PriceMode,
}

/// One bar, parsed but not yet checked for consistency.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bar {
    pub open: Price,
    pub high: Price,
    pub low: Price,
    pub close: Price,
    pub volume: f64,
    /// NaN when unknown.
    pub amount: f64,
    pub up: Option<Price>,
    pub down: Option<Price>,
    /// NaN when not given (carry the symbol's previous factor).
    pub adj: f64,
    pub paused: bool,
    pub st: bool,
}

/// FxHash (as in rustc): much faster than SipHash for short symbol keys. Ids do not depend on
/// the hasher (they follow first appearance, then sorting), so determinism is unaffected.
#[derive(Default)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(K);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;
pub(crate) type FxSet<K> = std::collections::HashSet<K, BuildHasherDefault<FxHasher>>;

/// A growable column stored in fixed-size chunks: pushing never copies what is already there,
/// and a consumed chunk is freed at once, which keeps the loader's peak memory low.
pub(crate) struct Chunked<T> {
    pub(crate) chunks: Vec<Vec<T>>,
}

const CHUNK: usize = 1 << 16;

/// No symbol id.
const NONE: u32 = u32::MAX;

impl<T: Copy> Chunked<T> {
    pub(crate) fn new() -> Self {
        Chunked { chunks: Vec::new() }
    }
    #[inline]
    fn push(&mut self, v: T) {
        match self.chunks.last_mut() {
            Some(c) if c.len() < CHUNK => c.push(v),
            _ => {
                let mut c = Vec::with_capacity(CHUNK);
                c.push(v);
                self.chunks.push(c);
            }
        }
    }
    /// Append a whole column segment as one chunk (every column of a part gets the same
    /// segments, so their chunks stay aligned).
    pub(crate) fn push_chunk(&mut self, v: Vec<T>) {
        if !v.is_empty() {
            self.chunks.push(v);
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }
}

/// A date as a day number, for dense lookups.
#[inline]
pub(crate) fn day_number(d: chrono::NaiveDate) -> i32 {
    chrono::Datelike::num_days_from_ce(&d)
}

pub(crate) fn from_day_number(n: i32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_num_days_from_ce_opt(n).unwrap_or_default()
}

/// A run of consecutive input rows, parsed and checked one by one.
pub(crate) struct Part {
    pub(crate) file: String,
    pub(crate) layout: Layout,
    pub(crate) ids: FxMap<String, u32>,
    pub(crate) names: Vec<String>,
    /// By local id: the name as a [`Short`], for comparing rows with it.
    shorts: Vec<Short>,
    /// By local id: the line the symbol first appears on.
    pub(crate) first_line: Vec<u64>,
    /// The guess of the next row's id.
    next: NextSymbol,
    pub(crate) last_date_raw: Vec<u8>,
    pub(crate) last_date: i32,
    /// Strict order: every date with the line it first appears on, in order.
    pub(crate) dates: Vec<(i32, u64)>,
    pub(crate) min_date: i32,
    pub(crate) max_date: i32,
    pub(crate) prev_sym: Option<u32>,
    pub(crate) prev_line: u64,
    /// Date, symbol and line of the first row (even if that row failed later), for the order
    /// check across part boundaries.
    pub(crate) first_key: Option<(i32, String, u64)>,
    pub(crate) date: Chunked<i32>,
    pub(crate) sym: Chunked<u32>,
    pub(crate) open: Chunked<Price32>,
    pub(crate) high: Chunked<Price32>,
    pub(crate) low: Chunked<Price32>,
    pub(crate) close: Chunked<Price32>,
    pub(crate) volume: Chunked<f64>,
    pub(crate) amount: Chunked<f64>,
    pub(crate) limit_up: Chunked<Price32>,
    pub(crate) limit_down: Chunked<Price32>,
    pub(crate) adj: Chunked<f64>,
    pub(crate) flags: Chunked<u8>,
    /// Sorted order only: each row's line, for duplicate and calendar errors.
    pub(crate) line: Chunked<u64>,
    /// The first error of the part; rows after it are not read.
    pub error: Option<DataError>,
}

impl Part {
    pub fn new(file: &str, layout: Layout) -> Part {
        Part {
            file: file.to_string(),
            layout,
            ids: FxMap::default(),
            names: Vec::new(),
            shorts: Vec::new(),
            first_line: Vec::new(),
            next: NextSymbol::new(0),
            last_date_raw: Vec::new(),
            last_date: i32::MIN,
            dates: Vec::new(),
            min_date: i32::MAX,
            max_date: i32::MIN,
            prev_sym: None,
            prev_line: 0,
            first_key: None,
            date: Chunked::new(),
            sym: Chunked::new(),
            open: Chunked::new(),
            high: Chunked::new(),
            low: Chunked::new(),
            close: Chunked::new(),
            volume: Chunked::new(),
            amount: Chunked::new(),
            limit_up: Chunked::new(),
            limit_down: Chunked::new(),
            adj: Chunked::new(),
            flags: Chunked::new(),
            line: Chunked::new(),
            error: None,
        }
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    pub fn at(&self, line: u64) -> At<'_> {
        At { file: &self.file, line, unit: self.layout.unit }
    }

    /// The date of a row from its text; `raw_sym` only names the row in an order error.
    /// Returns the day number and whether it starts a new day.
    #[inline]
    pub fn date_text(&mut self, raw: &[u8], column: &str, raw_sym: &[u8], line: u64) -> Result<(i32, bool), DataError> {
        if self.last_date != i32::MIN && short_eq(raw, &self.last_date_raw) {
            return Ok((self.last_date, false));
        }
        let d = parse_date(raw).ok_or_else(|| self.at(line).err(Kind::Date, column, raw))?;
        let r = self.date(day_number(d), raw_sym, line)?;
        self.last_date_raw.clear();
        self.last_date_raw.extend_from_slice(raw);
        Ok(r)
    }

    /// A row's date as a day number: the order check (strict order) and the day bookkeeping.
    #[inline]
    pub fn date(&mut self, d: i32, raw_sym: &[u8], line: u64) -> Result<(i32, bool), DataError> {
        if d == self.last_date {
            return Ok((d, false));
        }
        if self.layout.order == Order::Strict {
            if self.last_date != i32::MIN && d < self.last_date {
                let at = self.at(line).place();
                return Err(self.unsorted(at, d, show(raw_sym)));
            }
            self.dates.push((d, line));
        }
        self.min_date = self.min_date.min(d);
        self.max_date = self.max_date.max(d);
        self.last_date = d;
        Ok((d, true))
    }

    /// A row's symbol: the order check (strict order), its validity when first seen, its id.
    #[inline]
    pub fn symbol(&mut self, raw: &[u8], column: &str, new_day: bool, date: i32, line: u64) -> Result<u32, DataError> {
        let key = Short::of(raw);
        if self.first_key.is_none() {
            self.first_key = Some((date, String::from_utf8_lossy(raw).into_owned(), line));
        }
        if self.layout.order == Order::Strict && !new_day {
            if let Some(prev) = self.prev_sym {
                let p = prev as usize;
                match order(raw, key, self.names[p].as_bytes(), self.shorts[p]) {
                    std::cmp::Ordering::Greater => {}
                    std::cmp::Ordering::Equal => {
                        return Err(DataError::Duplicate {
                            at: self.at(line).place(),
                            date: from_day_number(date),
                            symbol: show(raw),
                            first: self.at(self.prev_line).place().to_string(),
                        });
                    }
                    std::cmp::Ordering::Less => {
                        let at = self.at(line).place();
                        return Err(self.unsorted(at, date, show(raw)));
                    }
                }
            }
        }
        let guess = self.next.guess(self.prev_sym, new_day);
        let hit = |g: u32| {
            let g = g as usize;
            self.shorts.get(g).is_some_and(|&k| same(raw, key, self.names[g].as_bytes(), k))
        };
        let id = if hit(guess) {
            guess
        } else {
            // Sorted here (a preset): rows often come symbol by symbol, so try the previous one.
            match self.prev_sym {
                Some(p) if self.layout.order == Order::Sort && hit(p) => p,
                _ => self.lookup(raw, column, line)?,
            }
        };
        self.next.learn(self.prev_sym, new_day, id);
        // The row's place in the order, even before its values are checked (a row that fails
        // ends the part anyway).
        self.prev_sym = Some(id);
        self.prev_line = line;
        Ok(id)
    }

    fn lookup(&mut self, raw: &[u8], column: &str, line: u64) -> Result<u32, DataError> {
        let sym = match std::str::from_utf8(raw) {
            Ok(s) if !s.is_empty() => s,
            _ => return Err(self.at(line).err(Kind::Symbol, column, raw)),
        };
        if let Some(&id) = self.ids.get(sym) {
            return Ok(id);
        }
        if let Some(what) = symbol_flaw(sym) {
            return Err(DataError::SymbolChars {
                at: self.at(line).place(),
                column: column.to_string(),
                value: sym.escape_debug().to_string(),
                what,
            });
        }
        let id = self.names.len() as u32;
        self.ids.insert(sym.to_string(), id);
        self.names.push(sym.to_string());
        self.shorts.push(Short::of(sym.as_bytes()));
        self.first_line.push(line);
        self.next.add();
        Ok(id)
    }

    fn unsorted(&self, at: Place, date: i32, symbol: String) -> DataError {
        DataError::Unsorted {
            at,
            date: from_day_number(date),
            symbol,
            prev_date: from_day_number(self.last_date),
            prev_symbol: self.prev_sym.map(|s| self.names[s as usize].clone()).unwrap_or_default(),
            prev_line: self.prev_line,
        }
    }

    /// Check a bar's consistency and store it under `(date, id)`.
    #[inline]
    pub fn push(&mut self, date: i32, id: u32, bar: &Bar, line: u64) -> Result<(), DataError> {
        let row = check(bar, || self.at(line).place())?;
        self.date.push(date);
        self.sym.push(id);
        self.open.push(row.open);
        self.high.push(row.high);
        self.low.push(row.low);
        self.close.push(row.close);
        self.volume.push(row.volume);
        self.amount.push(row.amount);
        if self.layout.limits {
            self.limit_up.push(row.limit_up);
            self.limit_down.push(row.limit_down);
        }
        if self.layout.adj {
            self.adj.push(row.adj);
        }
        if self.layout.order == Order::Sort {
            self.line.push(line);
        }
        self.flags.push(row.flags);
        Ok(())
    }

    /// Append rows checked column-wise ([`crate::bulk`]): their dates and ids (from
    /// [`Part::date`] and [`Part::symbol`]) and lines.
    pub fn append(&mut self, dates: Vec<i32>, ids: Vec<u32>, c: crate::bulk::Checked, lines: Vec<u64>) {
        if let (Some(&id), Some(&line)) = (ids.last(), lines.last()) {
            self.prev_sym = Some(id);
            self.prev_line = line;
        }
        self.date.push_chunk(dates);
        self.sym.push_chunk(ids);
        self.open.push_chunk(c.open);
        self.high.push_chunk(c.high);
        self.low.push_chunk(c.low);
        self.close.push_chunk(c.close);
        self.volume.push_chunk(c.volume);
        self.amount.push_chunk(c.amount);
        if self.layout.limits {
            self.limit_up.push_chunk(c.limit_up);
            self.limit_down.push_chunk(c.limit_down);
        }
        if self.layout.adj {
            self.adj.push_chunk(c.adj);
        }
        if self.layout.order == Order::Sort {
            self.line.push_chunk(lines);
        }
        self.flags.push_chunk(c.flags);
    }

    /// Date, symbol and line of the last row stored.
    pub(crate) fn last_key(&self) -> Option<(i32, &str, u64)> {
        self.prev_sym.map(|s| (self.last_date, self.names[s as usize].as_str(), self.prev_line))
    }
}

/// Which symbol a row probably has: rows come in the same symbol order day after day, so the
/// one that followed the previous row's symbol last time, or opened the previous day.
pub(crate) struct NextSymbol {
    /// By symbol id: the id of the row that followed it last time.
    next_of: Vec<u32>,
    first_of_day: u32,
}

impl NextSymbol {
    /// For `n` symbols (ids `0..n`).
    pub(crate) fn new(n: usize) -> Self {
        NextSymbol { next_of: vec![NONE; n], first_of_day: NONE }
    }

    /// One symbol more.
    fn add(&mut self) {
        self.next_of.push(NONE);
    }

    /// The guess for a row after one of symbol `prev` (`None`: the first row), on a new day
    /// or not; [`NONE`] when there is none yet.
    #[inline]
    pub(crate) fn guess(&self, prev: Option<u32>, new_day: bool) -> u32 {
        match prev {
            Some(p) if !new_day => self.next_of[p as usize],
            _ => self.first_of_day,
        }
    }

    /// The row after one of symbol `prev` had symbol `id`.
    #[inline]
    pub(crate) fn learn(&mut self, prev: Option<u32>, new_day: bool, id: u32) {
        match prev {
            Some(p) if !new_day => self.next_of[p as usize] = id,
            _ => self.first_of_day = id,
        }
    }
}

/// A short text (a date, a symbol) as numbers whose comparison compares the bytes: the first
/// and the last eight (overlapping when shorter than 16), big-endian, or the bytes padded with
/// zeros when shorter than 8; and its length. Two texts of one length up to 16 bytes are equal,
/// or ordered, exactly as their `Short`s are. Rows compare their symbol with a name's `Short`
/// kept in a dense array (not with the name's bytes, a pointer away on the heap), and without
/// a call to `memcmp`, which cost more per row than the comparison itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Short {
    first: u64,
    last: u64,
    len: usize,
}

impl Short {
    #[inline]
    pub(crate) fn of(a: &[u8]) -> Short {
        let word = |b: &[u8]| b.try_into().map_or(0, u64::from_be_bytes);
        match a.len() {
            0..8 => {
                let mut w = [0u8; 8];
                w[..a.len()].copy_from_slice(a);
                Short { first: u64::from_be_bytes(w), last: 0, len: a.len() }
            }
            n => Short { first: word(&a[..8]), last: word(&a[n - 8..]), len: n },
        }
    }

    /// Whether the `Short`s decide a comparison of the texts alone.
    #[inline]
    fn decides(self, other: Short) -> bool {
        self.len == other.len && self.len <= 16
    }
}

/// `a == b`, comparing [`Short`]s where they decide.
#[inline]
pub(crate) fn short_eq(a: &[u8], b: &[u8]) -> bool {
    same(a, Short::of(a), b, Short::of(b))
}

/// `a == b` given their [`Short`]s.
#[inline]
pub(crate) fn same(a: &[u8], ka: Short, b: &[u8], kb: Short) -> bool {
    ka == kb && (ka.len <= 16 || a == b)
}

/// `a.cmp(b)` given their [`Short`]s.
#[inline]
fn order(a: &[u8], ka: Short, b: &[u8], kb: Short) -> std::cmp::Ordering {
    if ka.decides(kb) {
        ka.cmp(&kb)
    } else {
        a.cmp(b)
    }
}

/// What makes a symbol unusable, if anything: a control character or a space (an empty
/// symbol or one that is not UTF-8 is refused before).
pub(crate) fn symbol_flaw(sym: &str) -> Option<&'static str> {
    if sym.chars().any(char::is_control) {
        Some("a control character")
    } else if sym.chars().any(char::is_whitespace) {
        Some("a space")
    } else {
        None
    }
}

/// The consistency rules of one bar; returns it as the panel holds it: with its flags, and its
/// limits only if both are given (a lone one is checked, and the day's limits are derived).
#[inline]
pub(crate) fn check(bar: &Bar, at: impl Fn() -> Place) -> Result<Row, DataError> {
    let (open, high, low, close) = (bar.open, bar.high, bar.low, bar.close);
    if high < low {
        return Err(DataError::HighBelowLow { at: at(), high, low });
    }
    for (column, value) in [("open", open), ("close", close)] {
        if value < low || value > high {
            return Err(DataError::OutsideRange { at: at(), column, value, low, high });
        }
    }
    let mut flags = flag::PRESENT;
    if bar.paused || bar.volume == 0.0 {
        flags |= flag::PAUSED;
    }
    if bar.st {
        flags |= flag::ST;
    }
    // Explicit limits count only when both are given; a lone one is still validated.
    if let (Some(up), Some(down)) = (bar.up, bar.down) {
        if down > up {
            return Err(DataError::LimitsInverted { at: at(), up, down });
        }
        let crossed = |column, value, side, limit_name, limit| DataError::LimitContradicted {
            at: at(),
            column,
            value,
            side,
            limit_name,
            limit,
        };
        if high > up {
            return Err(crossed("high", high, "above", "limit_up", up));
        }
        if low < down {
            return Err(crossed("low", low, "below", "limit_down", down));
        }
        flags |= flag::EXPLICIT_LIMITS;
    }
    let (limit_up, limit_down) = match (bar.up, bar.down) {
        (Some(up), Some(down)) => (up, down),
        _ => (Price::ZERO, Price::ZERO),
    };
    // In 32 bits, as the panel stores them: every reader refuses a price above
    // `MAX_PRICE_YUAN`, far below the largest `Price32`.
    let narrow = |column: &str, p: Price| {
        Price32::new(p).ok_or_else(|| DataError::PriceTooLarge {
            at: at(),
            column: column.to_string(),
            value: p.to_string(),
        })
    };
    Ok(Row {
        open: narrow("open", open)?,
        high: narrow("high", high)?,
        low: narrow("low", low)?,
        close: narrow("close", close)?,
        volume: bar.volume,
        amount: bar.amount,
        limit_up: narrow("limit_up", limit_up)?,
        limit_down: narrow("limit_down", limit_down)?,
        flags,
        adj: bar.adj,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The word-wise comparisons agree with the slices' own, at every length around 8 and
        /// 16 and for texts sharing a prefix.
        #[test]
        fn short_comparisons_agree_with_the_slices(a in "[0A.\\x00\\xff]{0,24}", b in "[0A.\\x00\\xff]{0,24}", same_len in any::<bool>()) {
            let (a, mut b) = (a.into_bytes(), b.into_bytes());
            if same_len {
                b.resize(a.len(), b'0');
            }
            let (ka, kb) = (Short::of(&a), Short::of(&b));
            prop_assert_eq!(short_eq(&a, &b), a == b);
            prop_assert_eq!(same(&a, ka, &b, kb), a == b);
            prop_assert_eq!(order(&a, ka, &b, kb), a.cmp(&b));
            prop_assert_eq!(order(&a, ka, &a, ka), std::cmp::Ordering::Equal);
        }
    }
}
