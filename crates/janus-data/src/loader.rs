//! The CSV loader: long-format bars (one line per date and symbol) into a dense [`Panel`], for
//! Janus's own columns and for the CSV presets ([`crate::tushare`], [`crate::akshare`]).
//!
//! Built for ten million rows and more. The input is cut into blocks of whole records (a cut
//! never falls inside a quoted field) that worker threads parse at once, each into its own
//! [`Part`]; [`crate::rows::assemble`] merges them in input order, so the panel and the error
//! reported do not depend on the number of threads. A block without a quote character is split
//! by hand at commas and newlines, fields parsed straight from bytes; a block with quotes goes
//! through the `csv` crate. Every rejection names the file, the line, the column and the value,
//! and says what to do. A file (not a stream) is first tried by [`crate::csv_direct`], which
//! reads it twice but writes rows straight into the panel; anything it does not take, errors
//! included, comes back here.

use crate::assemble::assemble;
use crate::calendar::Calendar;
pub use crate::error::DataError;
use crate::error::{Place, Unit};
use crate::panel::Panel;
use crate::rows::{At, Bar, Layout, Order, Part, PriceMode};
use crate::values::shorten;
use janus_core::{LimitRules, Price};
use std::io::Read;
use std::path::Path;
use std::sync::mpsc;
use std::sync::Mutex;

/// Columns every Janus file must have, in the order the advice lists them.
pub const REQUIRED_COLUMNS: [&str; 7] = ["date", "symbol", "open", "high", "low", "close", "volume"];

/// A CSV dialect: accepted header names per field (lower case, first match wins), units and
/// row order.
#[derive(Debug)]
pub struct CsvPreset {
    pub name: &'static str,
    pub date: &'static [&'static str],
    pub symbol: &'static [&'static str],
    pub open: &'static [&'static str],
    pub high: &'static [&'static str],
    pub low: &'static [&'static str],
    pub close: &'static [&'static str],
    pub volume: &'static [&'static str],
    pub amount: &'static [&'static str],
    pub vwap: &'static [&'static str],
    pub limit_up: &'static [&'static str],
    pub limit_down: &'static [&'static str],
    pub paused: &'static [&'static str],
    pub is_st: &'static [&'static str],
    pub adj_factor: &'static [&'static str],
    /// Shares per unit of the volume column (100 for lots).
    pub volume_scale: f64,
    /// CNY per unit of the amount column (1000 for thousands).
    pub amount_scale: f64,
    /// Rows must come sorted (checked), or are sorted here.
    pub(crate) order: Order,
    /// Bare six-digit codes get their exchange suffix (`000001` becomes `000001.SZ`).
    pub suffix_codes: bool,
}

/// Janus's own columns: sorted by date, then symbol; volume in shares, amount in CNY.
pub const JANUS: CsvPreset = CsvPreset {
    name: "janus",
    date: &["date"],
    symbol: &["symbol"],
    open: &["open"],
    high: &["high"],
    low: &["low"],
    close: &["close"],
    volume: &["volume"],
    amount: &["amount"],
    vwap: &["vwap"],
    limit_up: &["limit_up"],
    limit_down: &["limit_down"],
    paused: &["paused"],
    is_st: &["is_st"],
    adj_factor: &["adj_factor"],
    volume_scale: 1.0,
    amount_scale: 1.0,
    order: Order::Strict,
    suffix_codes: false,
};

/// What a CSV load needs besides the bytes.
#[derive(Clone, Copy, Debug)]
pub struct CsvOptions<'a> {
    pub preset: &'a CsvPreset,
    pub prices: PriceMode,
    pub calendar: Option<&'a Calendar>,
    /// Parsing threads (0: one per core, at most 4).
    pub threads: usize,
    /// Bytes per parallel block (0: 8 MiB); small values exercise the block seams in tests.
    pub block_bytes: usize,
}

impl Default for CsvOptions<'_> {
    fn default() -> Self {
        CsvOptions { preset: &JANUS, prices: PriceMode::Raw, calendar: None, threads: 0, block_bytes: 0 }
    }
}

/// Load a Janus long-format CSV file into a panel; limits missing from the file are derived
/// with `rules`.
pub fn load_csv(path: &Path, rules: &LimitRules) -> Result<Panel, DataError> {
    load_csv_with(path, &CsvOptions::default(), rules)
}

/// Load a CSV file of any preset. A file is read straight into the panel when it can be
/// ([`crate::csv_direct`]); otherwise, and to report any error, as any reader is.
pub fn load_csv_with(path: &Path, opts: &CsvOptions<'_>, rules: &LimitRules) -> Result<Panel, DataError> {
    if let Some(panel) = crate::csv_direct::load(path, opts, rules) {
        return Ok(panel);
    }
    let file = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|source| DataError::Open { file: file.clone(), source })?;
    read_csv(f, &file, opts, rules)
}

/// Load Janus long-format CSV from any reader; `source` names it in error messages.
pub fn load_csv_reader<R: Read>(reader: R, source: &str, rules: &LimitRules) -> Result<Panel, DataError> {
    read_csv(reader, source, &CsvOptions::default(), rules)
}

/// Bytes per block handed to a worker: large enough that per-block symbol tables stay few.
const BLOCK: usize = 8 << 20;

/// Load CSV of any preset from any reader.
pub fn read_csv<R: Read>(
    mut reader: R,
    source: &str,
    opts: &CsvOptions<'_>,
    rules: &LimitRules,
) -> Result<Panel, DataError> {
    let (cols, layout, rest) = read_header(&mut reader, source, opts)?;
    let ctx = Ctx { file: source, cols: &cols, layout, preset: opts.preset };
    let parts = in_blocks(reader, rest, opts, source, |block, line| {
        let part = ctx.parse_block(block, line);
        let failed = part.error.is_some();
        (part, failed)
    })?;
    assemble(parts, source, layout, opts.calendar, rules)
}

/// Read the header line: where each column is, and the file's layout; returns the bytes
/// read past the header too (in a buffer with room for a block).
pub(crate) fn read_header<R: Read>(
    reader: &mut R,
    source: &str,
    opts: &CsvOptions<'_>,
) -> Result<(Columns, Layout, Vec<u8>), DataError> {
    let mut buf: Vec<u8> = Vec::with_capacity(block_size(opts) + (1 << 16));
    let header_end = loop {
        if let Some(i) = buf.iter().position(|&b| b == b'\n') {
            break Some(i);
        }
        if fill(reader, &mut buf, 1 << 16).map_err(|e| read_err(source, e, 1))? == 0 {
            break None;
        }
    };
    let header_line = &buf[..header_end.unwrap_or(buf.len())];
    let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(header_line);
    let mut header = csv::ByteRecord::new();
    let got = rdr
        .read_byte_record(&mut header)
        .map_err(|e| DataError::Read { at: Place::line(source, 1), message: e.to_string() })?;
    if !got || header.iter().all(|f| f.trim_ascii().is_empty()) {
        return Err(DataError::Empty { file: source.to_string() });
    }
    let cols = Columns::from_header(&header, source, opts.preset)?;
    let layout = Layout {
        order: opts.preset.order,
        limits: cols.limit_up.is_some() && cols.limit_down.is_some(),
        adj: cols.adj.is_some(),
        unit: Unit::Line,
        prices: opts.prices,
    };
    buf.drain(..header_end.map_or(buf.len(), |i| i + 1));
    Ok((cols, layout, buf))
}

fn read_err(source: &str, e: std::io::Error, line: u64) -> DataError {
    DataError::Read { at: Place::line(source, line), message: e.to_string() }
}

/// Bytes per block (per segment of a file read directly).
pub(crate) fn block_size(opts: &CsvOptions<'_>) -> usize {
    if opts.block_bytes == 0 {
        BLOCK
    } else {
        opts.block_bytes
    }
}

/// Cut the input after the header (`buf` holds what was read of it already) into blocks of
/// whole records and run `work` on each, on the option's threads at once; `work` gets a block
/// and the line it starts on, and says whether it failed. Returns the results in input
/// order; after a failure no further block is read, so the results end with the blocks read
/// by then (the failed one among them).
fn in_blocks<R: Read, T: Send>(
    mut reader: R,
    mut buf: Vec<u8>,
    opts: &CsvOptions<'_>,
    source: &str,
    work: impl Fn(&[u8], u64) -> (T, bool) + Sync,
) -> Result<Vec<T>, DataError> {
    let block_size = block_size(opts);
    let threads = if opts.threads == 0 { crate::workers() } else { opts.threads };
    let mut results: Vec<Option<T>> = Vec::new();
    let failed = std::sync::atomic::AtomicBool::new(false);
    let (block_tx, block_rx) = mpsc::sync_channel::<(usize, u64, Vec<u8>)>(threads * 2);
    let (result_tx, result_rx) = mpsc::channel::<(usize, T)>();
    // Finished blocks come back to be filled again: a fresh 8 MiB buffer per block would be
    // mapped in page by page, at a cost close to that of parsing it.
    let (spare_tx, spare_rx) = mpsc::channel::<Vec<u8>>();
    let block_rx = Mutex::new(block_rx);
    std::thread::scope(|scope| -> Result<(), DataError> {
        let (work, failed, block_rx) = (&work, &failed, &block_rx);
        for _ in 0..threads {
            let result_tx = result_tx.clone();
            let spare_tx = spare_tx.clone();
            scope.spawn(move || loop {
                let next = match block_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok((k, start_line, block)) = next else { return };
                let (result, bad) = work(&block, start_line);
                let _ = spare_tx.send(block);
                if bad {
                    failed.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                if result_tx.send((k, result)).is_err() {
                    return;
                }
            });
        }
        drop((result_tx, spare_tx));
        let mut line = 2u64;
        let mut k = 0;
        let mut eof = false;
        let mut result = Ok(());
        while !failed.load(std::sync::atomic::Ordering::Relaxed) {
            let short = !eof && buf.len() < block_size;
            if !short && buf.is_empty() {
                break;
            }
            // The last record boundary inside the block size (else the last one buffered);
            // everything at the end of the input.
            let cut = if short {
                0
            } else if eof && buf.len() <= block_size {
                buf.len()
            } else {
                match record_cut(&buf[..block_size.min(buf.len())]) {
                    0 => record_cut(&buf),
                    c => c,
                }
            };
            if cut == 0 && !eof {
                // Less than a block buffered, or one record longer than what is: read on.
                let want = if short {
                    block_size.saturating_sub(buf.len()).max(block_size.min(1 << 16))
                } else {
                    block_size.clamp(1 << 16, 1 << 20)
                };
                match fill(&mut reader, &mut buf, want) {
                    Ok(0) => eof = true,
                    Ok(_) => {}
                    Err(e) => {
                        result = Err(read_err(source, e, line));
                        break;
                    }
                }
                continue;
            }
            let cut = if cut == 0 { buf.len() } else { cut };
            let mut rest = match spare_rx.try_recv() {
                Ok(mut b) => {
                    b.clear();
                    b
                }
                Err(_) => Vec::with_capacity(block_size + (1 << 16)),
            };
            rest.extend_from_slice(&buf[cut..]);
            buf.truncate(cut);
            let block = std::mem::replace(&mut buf, rest);
            let lines = memchr::memchr_iter(b'\n', &block).count() as u64;
            if block_tx.send((k, line, block)).is_err() {
                break;
            }
            line += lines;
            k += 1;
        }
        drop(block_tx);
        results.resize_with(k, || None);
        for (k, r) in result_rx {
            results[k] = Some(r);
        }
        result
    })?;
    Ok(results.into_iter().map_while(|r| r).collect())
}

/// Append up to `want` bytes; returns how many were read (0 at the end of the input).
fn fill<R: Read>(reader: &mut R, buf: &mut Vec<u8>, want: usize) -> std::io::Result<usize> {
    // `read_to_end` reads into the spare capacity without zeroing it first.
    let start = buf.len();
    reader.by_ref().take(want as u64).read_to_end(buf)?;
    Ok(buf.len() - start)
}

/// The end of the last whole record in `buf`: just after the last newline outside quotes
/// (an even number of quote characters before it, as RFC 4180 escapes a quote by doubling
/// it). 0 when there is none.
fn record_cut(buf: &[u8]) -> usize {
    if memchr::memchr(b'"', buf).is_none() {
        return memchr::memrchr(b'\n', buf).map_or(0, |i| i + 1);
    }
    let mut in_quotes = false;
    let mut cut = 0;
    for (i, &b) in buf.iter().enumerate() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' if !in_quotes => cut = i + 1,
            _ => {}
        }
    }
    cut
}

/// Where each known column sits in the header, and its name there (for messages).
pub(crate) struct Columns {
    n: usize,
    names: Vec<String>,
    pub(crate) date: usize,
    pub(crate) symbol: usize,
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
    adj: Option<usize>,
}

impl Columns {
    fn from_header(header: &csv::ByteRecord, file: &str, preset: &CsvPreset) -> Result<Columns, DataError> {
        let names: Vec<String> = header
            .iter()
            .enumerate()
            .map(|(i, raw)| {
                let raw = if i == 0 { raw.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(raw) } else { raw };
                String::from_utf8_lossy(raw).trim().to_lowercase()
            })
            .collect();
        for (i, n) in names.iter().enumerate() {
            if !n.is_empty() && names[..i].contains(n) {
                return Err(DataError::DuplicateColumn { file: file.to_string(), column: n.clone() });
            }
        }
        let find = |aliases: &[&str]| aliases.iter().find_map(|a| names.iter().position(|n| n == a));
        let required = [preset.date, preset.symbol, preset.open, preset.high, preset.low, preset.close, preset.volume];
        let mut req = [0usize; 7];
        for (slot, aliases) in req.iter_mut().zip(required) {
            *slot = find(aliases).ok_or_else(|| DataError::MissingColumn {
                file: file.to_string(),
                column: aliases[0],
                found: shorten(&names.join(",")),
                needs: required.iter().map(|a| a[0]).collect::<Vec<_>>().join(","),
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
            amount: find(preset.amount),
            vwap: find(preset.vwap),
            limit_up: find(preset.limit_up),
            limit_down: find(preset.limit_down),
            paused: find(preset.paused),
            is_st: find(preset.is_st),
            adj: find(preset.adj_factor),
            names,
        })
    }
}

/// The fields of one record: byte ranges into one buffer.
pub(crate) struct Fields<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) ranges: &'a [(usize, usize)],
}

impl<'a> Fields<'a> {
    #[inline]
    pub(crate) fn get(&self, i: usize) -> &'a [u8] {
        let (a, b) = self.ranges[i];
        self.buf[a..b].trim_ascii()
    }
    #[inline]
    fn opt(&self, i: Option<usize>) -> &'a [u8] {
        i.map_or(&b""[..], |i| self.get(i))
    }
}

/// What every worker shares.
pub(crate) struct Ctx<'a> {
    pub(crate) file: &'a str,
    pub(crate) cols: &'a Columns,
    pub(crate) layout: Layout,
    pub(crate) preset: &'a CsvPreset,
}

impl Ctx<'_> {
    /// Parse one block of whole records whose first line is `start_line`.
    fn parse_block(&self, block: &[u8], start_line: u64) -> Part {
        let mut part = Part::new(self.file, self.layout);
        if memchr::memchr(b'"', block).is_none() {
            if let Err(e) = split_rows(block, start_line, |f, line| self.row(&mut part, f, line)) {
                part.error = Some(e);
            }
            return part;
        }
        let mut ranges: Vec<(usize, usize)> = Vec::with_capacity(self.cols.n + 1);
        let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(block);
        let mut rec = csv::ByteRecord::new();
        loop {
            let line = |rec: &csv::ByteRecord| start_line + rec.position().map_or(0, |p| p.line() - 1);
            match rdr.read_byte_record(&mut rec) {
                Ok(true) => {
                    ranges.clear();
                    ranges.extend((0..rec.len()).filter_map(|i| rec.range(i)).map(|r| (r.start, r.end)));
                    let fields = Fields { buf: rec.as_slice(), ranges: &ranges };
                    if let Err(e) = self.row(&mut part, &fields, line(&rec)) {
                        part.error = Some(e);
                        return part;
                    }
                }
                Ok(false) => return part,
                Err(e) => {
                    let at = start_line + e.position().map_or(0, |p| p.line() - 1);
                    part.error = Some(DataError::Read { at: Place::line(self.file, at), message: e.to_string() });
                    return part;
                }
            }
        }
    }

    /// One record into the part.
    #[inline]
    fn row(&self, part: &mut Part, f: &Fields<'_>, line: u64) -> Result<(), DataError> {
        let (date, id, bar) = self.parse_row(part, f, line)?;
        part.push(date, id, &bar, line)
    }

    /// A record's date (day number) and symbol (the part's id for it), read and checked: the
    /// part's order and symbol checks.
    #[inline]
    pub(crate) fn key(&self, part: &mut Part, f: &Fields<'_>, line: u64) -> Result<(i32, u32), DataError> {
        let c = self.cols;
        let mut code = [0u8; 9];
        let raw_sym = self.symbol(f, &mut code);
        let (date, new_day) = part.date_text(f.get(c.date), &c.names[c.date], raw_sym, line)?;
        let id = part.symbol(raw_sym, &c.names[c.symbol], new_day, date, line)?;
        Ok((date, id))
    }

    /// A record's symbol as the preset reads it (a bare code suffixed, in `code`).
    #[inline]
    pub(crate) fn symbol<'a>(&self, f: &Fields<'a>, code: &'a mut [u8; 9]) -> &'a [u8] {
        let raw = f.get(self.cols.symbol);
        match self.preset.suffix_codes {
            true => suffix_code(raw, code).unwrap_or(raw),
            false => raw,
        }
    }

    /// A record read and checked value by value (the bar's consistency is [`Part::push`]'s).
    #[inline]
    fn parse_row(&self, part: &mut Part, f: &Fields<'_>, line: u64) -> Result<(i32, u32, Bar), DataError> {
        self.field_count(f, line)?;
        let (date, id) = self.key(part, f, line)?;
        Ok((date, id, self.bar(f, &part.at(line))?))
    }

    /// A record with another number of fields than the header is refused.
    #[inline]
    pub(crate) fn field_count(&self, f: &Fields<'_>, line: u64) -> Result<(), DataError> {
        let n = self.cols.n;
        if f.ranges.len() != n {
            let at = Place::line(self.file, line);
            return Err(DataError::FieldCount { at, expected: n, found: f.ranges.len() });
        }
        Ok(())
    }

    /// A record's values (all but its date and symbol), read and checked one by one.
    #[inline]
    pub(crate) fn bar(&self, f: &Fields<'_>, at: &At<'_>) -> Result<Bar, DataError> {
        let c = self.cols;
        let mode = self.layout.prices;
        let name = |i: usize| c.names[i].as_str();
        let open = at.price(f.get(c.open), name(c.open), mode)?;
        let high = at.price(f.get(c.high), name(c.high), mode)?;
        let low = at.price(f.get(c.low), name(c.low), mode)?;
        let close = at.price(f.get(c.close), name(c.close), mode)?;
        let volume = at
            .non_negative(f.get(c.volume), name(c.volume))?
            .ok_or_else(|| at.bad_number(b"", name(c.volume), "empty value"))?
            * self.preset.volume_scale;
        let mut amount = match c.amount {
            Some(i) => at.non_negative(f.get(i), name(i))?.map_or(f64::NAN, |a| a * self.preset.amount_scale),
            None => f64::NAN,
        };
        if amount.is_nan() {
            if let Some(i) = c.vwap {
                if let Some(vwap) = at.non_negative(f.get(i), name(i))? {
                    amount = vwap * volume;
                    if !amount.is_finite() {
                        return Err(at.not_finite(f.get(i), name(i)));
                    }
                }
            }
        }
        let paused = match c.paused {
            Some(i) => at.flag(f.get(i), name(i))?,
            None => false,
        };
        let st = match c.is_st {
            Some(i) => at.flag(f.get(i), name(i))?,
            None => false,
        };
        // An empty limit is `Price::ZERO` here (a price is positive), not `None`: a returned
        // `Option<Price>` was written as two words and read back as one, which stalled the
        // loop on every row.
        let limit = |i: Option<usize>| -> Result<Price, DataError> {
            match i {
                Some(i) if !f.get(i).is_empty() => at.price(f.get(i), name(i), mode),
                _ => Ok(Price::ZERO),
            }
        };
        let given = |p: Price| (p != Price::ZERO).then_some(p);
        let (up, down) = (given(limit(c.limit_up)?), given(limit(c.limit_down)?));
        let adj = match c.adj {
            Some(i) => at.factor(f.opt(Some(i)), name(i))?,
            None => f64::NAN,
        };
        Ok(Bar { open, high, low, close, volume, amount, up, down, adj, paused, st })
    }
}

/// Split a block without quote characters into records at commas and newlines and call `row`
/// on each with its line; empty lines are skipped as the `csv` crate skips them. Stops at the
/// first error.
pub(crate) fn split_rows<E>(
    block: &[u8],
    start_line: u64,
    mut row: impl FnMut(&Fields<'_>, u64) -> Result<(), E>,
) -> Result<(), E> {
    let mut ranges: Vec<(usize, usize)> = Vec::with_capacity(32);
    let mut line = start_line;
    let mut a = 0;
    let mut row_start = 0;
    let seps = Separators::new(block).chain(std::iter::once(block.len()));
    for p in seps {
        let end_of_row = p == block.len() || block[p] == b'\n';
        if !end_of_row {
            ranges.push((a, p));
            a = p + 1;
            continue;
        }
        let end = if p > a && block[p - 1] == b'\r' { p - 1 } else { p };
        if p == block.len() && row_start == block.len() {
            break;
        }
        if !(ranges.is_empty() && end == row_start) {
            ranges.push((a, end));
            row(&Fields { buf: block, ranges: &ranges }, line)?;
        }
        ranges.clear();
        line += 1;
        a = p + 1;
        row_start = a;
    }
    Ok(())
}

/// The positions of the commas and newlines of a block, in order, found 64 bytes at a time:
/// sixteen bytes compared with one vector instruction, and a bit per byte kept of each
/// comparison. Fields are a few bytes long, so a search call per separator (`memchr2`) spent
/// more on each call than on the bytes (and comparing eight bytes at a time in an integer was
/// about 10% slower for the whole CSV load).
struct Separators<'a> {
    block: &'a [u8],
    /// Where the 64 bytes of `mask` start, and where the next 64 do.
    base: usize,
    next: usize,
    /// A bit per byte of those 64 that is a separator, lowest byte first.
    mask: u64,
}

impl<'a> Separators<'a> {
    fn new(block: &'a [u8]) -> Self {
        Separators { block, base: 0, next: 0, mask: 0 }
    }
}

impl Iterator for Separators<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            let at = self.next;
            let mut tail = [0u8; 64];
            let bytes = match self.block.get(at..at + 64) {
                Some(b) => b,
                None if at < self.block.len() => {
                    tail[..self.block.len() - at].copy_from_slice(&self.block[at..]);
                    &tail[..]
                }
                None => return None,
            };
            self.mask = separator_bits(bytes);
            (self.base, self.next) = (at, at + 64);
        }
        let i = self.base + self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(i)
    }
}

/// Bit `i` set where byte `i` of the first 64 of `bytes` is a comma or a newline.
#[inline(always)]
fn separator_bits(bytes: &[u8]) -> u64 {
    use wide::u8x16;
    let (comma, newline) = (u8x16::splat(b','), u8x16::splat(b'\n'));
    let mut mask = 0u64;
    for (k, sixteen) in bytes.chunks_exact(16).take(4).enumerate() {
        let v = u8x16::new(<[u8; 16]>::try_from(sixteen).unwrap_or_default());
        let hits = (v.cmp_eq(comma) | v.cmp_eq(newline)).move_mask() as u16;
        mask |= u64::from(hits) << (16 * k);
    }
    mask
}

/// A bare six-digit A-share code with its exchange suffix, written into `out`: `6`/`9`
/// Shanghai (but `92` Beijing), `0`/`2`/`3` Shenzhen, `4`/`8` Beijing. `None` for anything else.
pub(crate) fn suffix_code<'a>(raw: &[u8], out: &'a mut [u8; 9]) -> Option<&'a [u8]> {
    if raw.len() != 6 || !raw.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let ex: &[u8; 3] = match (raw[0], raw[1]) {
        (b'9', b'2') => b".BJ",
        (b'6' | b'9', _) => b".SH",
        (b'0' | b'2' | b'3', _) => b".SZ",
        (b'4' | b'8', _) => b".BJ",
        _ => return None,
    };
    out[..6].copy_from_slice(raw);
    out[6..].copy_from_slice(ex);
    Some(&out[..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The 64-bytes-at-a-time search finds exactly the commas and newlines a byte loop
        /// finds, whatever the length (over several 64-byte steps) and content (bytes near ','
        /// and '\n' included).
        #[test]
        fn separators_are_every_comma_and_newline(block in proptest::collection::vec(
            prop_oneof![Just(b','), Just(b'\n'), Just(b'\r'), Just(b'+'), Just(b'-'), Just(0x8a_u8), Just(0xac_u8), any::<u8>()],
            0..300,
        )) {
            let want: Vec<usize> = block.iter().enumerate().filter(|(_, b)| **b == b',' || **b == b'\n').map(|(i, _)| i).collect();
            prop_assert_eq!(Separators::new(&block).collect::<Vec<_>>(), want);
        }
    }
}
