//! The CSV loader: long-format bars (one line per date and symbol) into a dense [`Panel`].
//!
//! Built for ten million rows and more: one reused `csv::ByteRecord`, fields parsed straight
//! from bytes, symbols mapped to dense ids through a hash map looked up with borrowed text, and
//! rows kept in chunked columnar buffers (no per-row allocation, no doubling reallocation) that
//! are scattered one field at a time into the panel, each buffer freed as soon as it is used.
//! Every rejection names the file, the line, the column and the value, and says what to do.

pub use crate::error::DataError;
use crate::panel::{flag, Panel};
use crate::parse::{fast_f64, parse_date, parse_price_bytes};
use chrono::NaiveDate;
use janus_core::money::{DecimalError, SCALE};
use janus_core::{Board, LimitRules, Price};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Read;
use std::path::Path;

/// Columns every file must have, in the order the advice lists them.
pub const REQUIRED_COLUMNS: [&str; 7] = ["date", "symbol", "open", "high", "low", "close", "volume"];

/// Prices above this (100 million CNY a share) are rejected: no share trades there, and it keeps
/// every limit computation far from integer overflow.
const MAX_PRICE_YUAN: i64 = 100_000_000;

/// Load a long-format CSV file into a panel; limits missing from the file are derived with `rules`.
pub fn load_csv(path: &Path, rules: &LimitRules) -> Result<Panel, DataError> {
    let file = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|source| DataError::Open { file: file.clone(), source })?;
    load_csv_reader(f, &file, rules)
}

/// Load long-format CSV from any reader; `source` names it in error messages.
pub fn load_csv_reader<R: Read>(reader: R, source: &str, rules: &LimitRules) -> Result<Panel, DataError> {
    let mut rdr =
        csv::ReaderBuilder::new().has_headers(true).flexible(true).buffer_capacity(1 << 18).from_reader(reader);
    let header = rdr.byte_headers().map_err(|e| read_error(source, 1, &e))?.clone();
    if header.is_empty() {
        return Err(DataError::Empty { file: source.to_string() });
    }
    let cols = Columns::from_header(&header, source)?;
    let mut b = Builder::new(source, cols);
    let mut rec = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => b.push(&rec)?,
            Ok(false) => break,
            Err(e) => return Err(read_error(source, b.prev_line + 1, &e)),
        }
    }
    b.finish(rules)
}

fn read_error(file: &str, line: u64, e: &csv::Error) -> DataError {
    let line = e.position().map_or(line, |p| p.line());
    DataError::Read { file: file.to_string(), line, message: e.to_string() }
}

/// Where each known column sits in the header.
struct Columns {
    n: usize,
    date: usize,
    symbol: usize,
    open: usize,
    high: usize,
    low: usize,
    close: usize,
    volume: usize,
    amount: Option<usize>,
    vwap: Option<usize>,
    limit_up: Option<usize>,
    limit_down: Option<usize>,
    paused: Option<usize>,
    is_st: Option<usize>,
}

impl Columns {
    fn from_header(header: &csv::ByteRecord, file: &str) -> Result<Columns, DataError> {
        let names: Vec<String> = header
            .iter()
            .enumerate()
            .map(|(i, raw)| {
                let raw = if i == 0 { raw.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(raw) } else { raw };
                String::from_utf8_lossy(raw).trim().to_ascii_lowercase()
            })
            .collect();
        let find = |name: &str| -> Result<Option<usize>, DataError> {
            let mut hits = names.iter().enumerate().filter(|(_, n)| n.as_str() == name).map(|(i, _)| i);
            let first = hits.next();
            if hits.next().is_some() {
                return Err(DataError::DuplicateColumn { file: file.to_string(), column: name.to_string() });
            }
            Ok(first)
        };
        let mut req = [0usize; 7];
        for (slot, name) in req.iter_mut().zip(REQUIRED_COLUMNS) {
            *slot = find(name)?.ok_or_else(|| DataError::MissingColumn {
                file: file.to_string(),
                column: name,
                found: shorten(&names.join(",")),
            })?;
        }
        Ok(Columns {
            n: names.len(),
            date: req[0],
            symbol: req[1],
            open: req[2],
            high: req[3],
            low: req[4],
            close: req[5],
            volume: req[6],
            amount: find("amount")?,
            vwap: find("vwap")?,
            limit_up: find("limit_up")?,
            limit_down: find("limit_down")?,
            paused: find("paused")?,
            is_st: find("is_st")?,
        })
    }
}

/// A growable column stored in fixed-size chunks: pushing never copies what is already there,
/// and a consumed chunk is freed at once, which keeps the loader's peak memory low.
struct Chunked<T> {
    chunks: Vec<Vec<T>>,
}

const CHUNK: usize = 1 << 16;

/// No symbol id.
const NONE: u32 = u32::MAX;

impl<T: Copy> Chunked<T> {
    fn new() -> Self {
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
}

/// Move every row's value into its panel cell, freeing the row buffer chunk by chunk.
fn scatter<T: Copy>(dst: &mut [T], cells: &Chunked<u32>, src: Chunked<T>) {
    for (cc, sc) in cells.chunks.iter().zip(src.chunks) {
        for (&cell, v) in cc.iter().zip(sc) {
            dst[cell as usize] = v;
        }
    }
}

/// FxHash (as in rustc): much faster than SipHash for short symbol keys. Ids do not depend on
/// the hasher (they follow first appearance, then sorting), so determinism is unaffected.
#[derive(Default)]
struct FxHasher(u64);

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

/// The rows read so far, column by column, plus what the order checks need.
struct Builder<'a> {
    file: &'a str,
    cols: Columns,
    ids: HashMap<String, u32, BuildHasherDefault<FxHasher>>,
    names: Vec<String>,
    /// By id: the id of the row that followed it last time, for guessing the next id.
    next_of: Vec<u32>,
    first_of_day: u32,
    dates: Vec<NaiveDate>,
    last_date_raw: Vec<u8>,
    prev_sym: Option<u32>,
    prev_line: u64,
    day: Chunked<u32>,
    sym: Chunked<u32>,
    open: Chunked<Price>,
    high: Chunked<Price>,
    low: Chunked<Price>,
    close: Chunked<Price>,
    volume: Chunked<f64>,
    amount: Chunked<f64>,
    limit_up: Chunked<Price>,
    limit_down: Chunked<Price>,
    flags: Chunked<u8>,
}

impl<'a> Builder<'a> {
    fn new(file: &'a str, cols: Columns) -> Self {
        Builder {
            file,
            cols,
            ids: HashMap::default(),
            names: Vec::new(),
            next_of: Vec::new(),
            first_of_day: NONE,
            dates: Vec::new(),
            last_date_raw: Vec::new(),
            prev_sym: None,
            prev_line: 1,
            day: Chunked::new(),
            sym: Chunked::new(),
            open: Chunked::new(),
            high: Chunked::new(),
            low: Chunked::new(),
            close: Chunked::new(),
            volume: Chunked::new(),
            amount: Chunked::new(),
            limit_up: Chunked::new(),
            limit_down: Chunked::new(),
            flags: Chunked::new(),
        }
    }

    fn push(&mut self, rec: &csv::ByteRecord) -> Result<(), DataError> {
        let line = rec.position().map_or(self.prev_line + 1, |p| p.line());
        let at = At { file: self.file, line };
        let c = &self.cols;
        if rec.len() != c.n {
            return Err(DataError::FieldCount { file: at.file.to_string(), line, expected: c.n, found: rec.len() });
        }
        let field = |i: usize| rec.get(i).unwrap_or_default().trim_ascii();
        let field_opt = |i: Option<usize>| i.map_or(&b""[..], field);

        // Date and symbol, and the order check: rows must be sorted by date, then symbol.
        let raw_date = field(c.date);
        let mut new_day = false;
        if self.dates.is_empty() || raw_date != self.last_date_raw.as_slice() {
            let date = parse_date(raw_date).ok_or_else(|| at.bad_date(raw_date))?;
            match self.dates.last() {
                Some(&last) if date < last => {
                    let sym = String::from_utf8_lossy(field(c.symbol)).into_owned();
                    return Err(self.unsorted(line, date, sym));
                }
                Some(&last) if date == last => {}
                _ => {
                    self.dates.push(date);
                    new_day = true;
                }
            }
            self.last_date_raw.clear();
            self.last_date_raw.extend_from_slice(raw_date);
        }
        let raw_sym = field(c.symbol);
        let sym = match std::str::from_utf8(raw_sym) {
            Ok(s) if !s.is_empty() => s,
            _ => return Err(at.err_symbol(raw_sym)),
        };
        if !new_day {
            if let Some(prev) = self.prev_sym {
                match sym.cmp(self.names[prev as usize].as_str()) {
                    std::cmp::Ordering::Greater => {}
                    std::cmp::Ordering::Equal => {
                        return Err(DataError::Duplicate {
                            file: at.file.to_string(),
                            line,
                            date: self.dates.last().copied().unwrap_or_default(),
                            symbol: sym.to_string(),
                            first_line: self.prev_line,
                        })
                    }
                    std::cmp::Ordering::Less => {
                        let date = self.dates.last().copied().unwrap_or_default();
                        return Err(self.unsorted(line, date, sym.to_string()));
                    }
                }
            }
        }

        // Prices and their consistency.
        let open = at.price(field(c.open), "open")?;
        let high = at.price(field(c.high), "high")?;
        let low = at.price(field(c.low), "low")?;
        let close = at.price(field(c.close), "close")?;
        if high < low {
            return Err(DataError::HighBelowLow { file: at.file.to_string(), line, high, low });
        }
        for (column, value) in [("open", open), ("close", close)] {
            if value < low || value > high {
                let file = at.file.to_string();
                return Err(DataError::OutsideRange { file, line, column, value, low, high });
            }
        }
        let volume =
            at.non_negative(field(c.volume), "volume")?.ok_or_else(|| at.bad_number(b"", "volume", "empty value"))?;
        let mut amount = at.non_negative(field_opt(c.amount), "amount")?.unwrap_or(f64::NAN);
        if c.amount.is_none() || amount.is_nan() {
            if let Some(vwap) = at.non_negative(field_opt(c.vwap), "vwap")? {
                amount = vwap * volume;
                if !amount.is_finite() {
                    return Err(at.not_finite(field_opt(c.vwap), "vwap"));
                }
            }
        }
        let paused = at.flag(field_opt(c.paused), "paused")?;
        let is_st = at.flag(field_opt(c.is_st), "is_st")?;
        let mut flags = flag::PRESENT;
        if paused || volume == 0.0 {
            flags |= flag::PAUSED;
        }
        if is_st {
            flags |= flag::ST;
        }

        // Explicit limits count only when both are given; a lone one is still validated.
        let (raw_up, raw_down) = (field_opt(c.limit_up), field_opt(c.limit_down));
        let up = if raw_up.is_empty() { None } else { Some(at.price(raw_up, "limit_up")?) };
        let down = if raw_down.is_empty() { None } else { Some(at.price(raw_down, "limit_down")?) };
        let (up, down) = match (up, down) {
            (Some(up), Some(down)) => {
                if down > up {
                    return Err(DataError::LimitsInverted { file: at.file.to_string(), line, up, down });
                }
                flags |= flag::EXPLICIT_LIMITS;
                (up, down)
            }
            _ => (Price::ZERO, Price::ZERO),
        };

        // Rows come in the same symbol order day after day, so guess the id first: the symbol
        // that followed the previous row's last time (or opened the previous day).
        let guess = if new_day { self.first_of_day } else { self.prev_sym.map_or(NONE, |p| self.next_of[p as usize]) };
        let id = match self.names.get(guess as usize) {
            Some(name) if name == sym => guess,
            _ => match self.ids.get(sym) {
                Some(&id) => id,
                None => {
                    let id = self.names.len() as u32;
                    self.ids.insert(sym.to_string(), id);
                    self.names.push(sym.to_string());
                    self.next_of.push(NONE);
                    id
                }
            },
        };
        match self.prev_sym {
            Some(p) if !new_day => self.next_of[p as usize] = id,
            _ => self.first_of_day = id,
        }
        self.day.push((self.dates.len() - 1) as u32);
        self.sym.push(id);
        self.open.push(open);
        self.high.push(high);
        self.low.push(low);
        self.close.push(close);
        self.volume.push(volume);
        self.amount.push(amount);
        if c.limit_up.is_some() && c.limit_down.is_some() {
            self.limit_up.push(up);
            self.limit_down.push(down);
        }
        self.flags.push(flags);
        self.prev_sym = Some(id);
        self.prev_line = line;
        Ok(())
    }

    fn unsorted(&self, line: u64, date: NaiveDate, symbol: String) -> DataError {
        DataError::Unsorted {
            file: self.file.to_string(),
            line,
            date,
            symbol: shorten(&symbol),
            prev_date: self.dates.last().copied().unwrap_or_default(),
            prev_symbol: self.prev_sym.map(|s| self.names[s as usize].clone()).unwrap_or_default(),
            prev_line: self.prev_line,
        }
    }

    /// Sort the symbols, build the dense panel and scatter the rows into it.
    fn finish(self, rules: &LimitRules) -> Result<Panel, DataError> {
        if self.dates.is_empty() {
            return Err(DataError::Empty { file: self.file.to_string() });
        }
        let (n_dates, n_sym) = (self.dates.len(), self.names.len());
        let n_cells = n_dates.checked_mul(n_sym).filter(|&n| n <= u32::MAX as usize).ok_or(DataError::TooLarge {
            file: self.file.to_string(),
            dates: n_dates,
            symbols: n_sym,
        })?;

        let mut order: Vec<u32> = (0..n_sym as u32).collect();
        order.sort_unstable_by(|&a, &b| self.names[a as usize].cmp(&self.names[b as usize]));
        let mut rank = vec![0u32; n_sym];
        for (r, &id) in order.iter().enumerate() {
            rank[id as usize] = r as u32;
        }
        let mut names = self.names;
        let mut symbols = Vec::with_capacity(n_sym);
        for &id in &order {
            symbols.push(std::mem::take(&mut names[id as usize]));
        }
        drop(self.ids);

        // Turn (day, first-seen id) into the cell index, reusing the day buffer in place.
        let mut cells = self.day;
        for (dc, sc) in cells.chunks.iter_mut().zip(self.sym.chunks) {
            for (d, s) in dc.iter_mut().zip(sc) {
                *d = *d * n_sym as u32 + rank[s as usize];
            }
        }

        let mut p = Panel {
            dates: self.dates,
            boards: symbols.iter().map(|s| Board::from_symbol(s)).collect(),
            symbols,
            ..Panel::default()
        };
        p.flags = vec![0; n_cells];
        scatter(&mut p.flags, &cells, self.flags);
        p.open = vec![Price::ZERO; n_cells];
        scatter(&mut p.open, &cells, self.open);
        p.high = vec![Price::ZERO; n_cells];
        scatter(&mut p.high, &cells, self.high);
        p.low = vec![Price::ZERO; n_cells];
        scatter(&mut p.low, &cells, self.low);
        p.close = vec![Price::ZERO; n_cells];
        scatter(&mut p.close, &cells, self.close);
        p.volume = vec![0.0; n_cells];
        scatter(&mut p.volume, &cells, self.volume);
        p.amount = vec![f64::NAN; n_cells];
        scatter(&mut p.amount, &cells, self.amount);
        p.limit_up = vec![Price::ZERO; n_cells];
        scatter(&mut p.limit_up, &cells, self.limit_up);
        p.limit_down = vec![Price::ZERO; n_cells];
        scatter(&mut p.limit_down, &cells, self.limit_down);
        drop(cells);
        p.derive_limits(rules);
        Ok(p)
    }
}

/// The place of the row being read, and the errors it can raise.
struct At<'a> {
    file: &'a str,
    line: u64,
}

impl At<'_> {
    fn bad_date(&self, raw: &[u8]) -> DataError {
        DataError::BadDate { file: self.file.to_string(), line: self.line, value: show(raw) }
    }
    fn err_symbol(&self, raw: &[u8]) -> DataError {
        DataError::BadSymbol { file: self.file.to_string(), line: self.line, value: show(raw) }
    }
    fn bad_number(&self, raw: &[u8], column: &str, reason: &str) -> DataError {
        let (file, line) = (self.file.to_string(), self.line);
        DataError::BadNumber { file, line, column: column.to_string(), value: show(raw), reason: reason.to_string() }
    }
    fn not_finite(&self, raw: &[u8], column: &str) -> DataError {
        DataError::NotFinite {
            file: self.file.to_string(),
            line: self.line,
            column: column.to_string(),
            value: show(raw),
        }
    }

    /// A price, exact to 0.0001, strictly positive.
    fn price(&self, raw: &[u8], column: &str) -> Result<Price, DataError> {
        match parse_price_bytes(raw) {
            Ok(p) if p.0 <= 0 => Err(DataError::NonPositivePrice {
                file: self.file.to_string(),
                line: self.line,
                column: column.to_string(),
                value: show(raw),
            }),
            Ok(p) if p.0 > MAX_PRICE_YUAN * SCALE => Err(self.bad_number(raw, column, "too large for a price")),
            Ok(p) => Ok(p),
            Err(DecimalError::NotFinite) => Err(self.not_finite(raw, column)),
            Err(e) => Err(self.bad_number(raw, column, &e.to_string())),
        }
    }

    /// A finite, non-negative float; `None` when the field is empty.
    fn non_negative(&self, raw: &[u8], column: &str) -> Result<Option<f64>, DataError> {
        if raw.is_empty() {
            return Ok(None);
        }
        let v: f64 = fast_f64(raw)
            .or_else(|| std::str::from_utf8(raw).ok().and_then(|s| s.parse().ok()))
            .ok_or_else(|| self.bad_number(raw, column, "not a decimal number"))?;
        if !v.is_finite() {
            return Err(self.not_finite(raw, column));
        }
        if v < 0.0 {
            return Err(DataError::Negative {
                file: self.file.to_string(),
                line: self.line,
                column: column.to_string(),
                value: show(raw),
            });
        }
        Ok(Some(v + 0.0)) // `+ 0.0` turns -0 into 0
    }

    /// 0/1/true/false in any case; empty is false.
    fn flag(&self, raw: &[u8], column: &str) -> Result<bool, DataError> {
        match raw {
            b"" | b"0" => Ok(false),
            b"1" => Ok(true),
            _ if raw.eq_ignore_ascii_case(b"true") => Ok(true),
            _ if raw.eq_ignore_ascii_case(b"false") => Ok(false),
            _ => Err(DataError::BadFlag {
                file: self.file.to_string(),
                line: self.line,
                column: column.to_string(),
                value: show(raw),
            }),
        }
    }
}

/// A value for an error message: lossy UTF-8, cut short if long.
fn show(raw: &[u8]) -> String {
    shorten(&String::from_utf8_lossy(raw))
}

fn shorten(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}
