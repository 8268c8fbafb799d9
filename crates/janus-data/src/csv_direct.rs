//! The direct CSV reader: a file read twice, first only each row's date and symbol (to learn
//! the panel's shape), then every row parsed and checked as [`crate::loader`] does it and
//! written straight to its cell (see [`crate::direct`]). The general loader keeps every row in
//! buffers as large as the panel and scatters them at the end; this one needs no buffers, and
//! on a large file it is faster even though it reads the file twice. The file is cut into
//! segments of whole records that each thread reads itself (no reader thread handing blocks
//! over, no line counting: this reader reports no error, so it needs no line numbers).
//!
//! It reads files only (a stream cannot be read twice), and steps aside (the general loader
//! then reads the file and reports the exact line of any error) for a segment with a quote
//! character, for any value the row checks refuse, and for anything only the whole input can
//! show: rows out of order across segments, duplicates, case variants, a calendar mismatch.

use crate::direct::{Bands, Blank, Cells, Shape};
use crate::loader::{block_size, read_header, split_rows, CsvOptions, Ctx};
use crate::panel::Panel;
use crate::parse::parse_date;
use crate::rows::{check, day_number, short_eq, At, FxSet, NextSymbol, Order, Part, Short};
use janus_core::LimitRules;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Read the CSV file at `path` into a panel; `None` when the general loader must do it.
pub(crate) fn load(path: &Path, opts: &CsvOptions<'_>, rules: &LimitRules) -> Option<Panel> {
    let source = path.display().to_string();
    let mut file = std::fs::File::open(path).ok()?;
    let (cols, layout, rest) = read_header(&mut file, &source, opts).ok()?;
    // Where the rows start: after the header line.
    let base = file.stream_position().ok()?.checked_sub(rest.len() as u64)?;
    drop((file, rest));
    let ctx = Ctx { file: &source, cols: &cols, layout, preset: opts.preset };

    // Pass 1: every segment's dates and symbols.
    let seg = block_size(opts) as u64;
    let seen = in_segments(path, base, seg, opts, |rows| scan(&ctx, rows))?;
    // Each segment names most symbols again: gathered in a set, not sorted all together.
    let (mut days, mut names, mut spans) = (Vec::new(), FxSet::default(), Vec::new());
    let mut last: Option<(i32, String)> = None;
    for s in seen {
        // Strict order across the seam between two segments (inside one, `Part` checks it).
        if let (Order::Strict, Some((pd, ps)), Some((d, sym))) = (layout.order, &last, &s.first) {
            if (d, sym.as_bytes()) <= (pd, ps.as_bytes()) {
                return None;
            }
        }
        if s.last.is_some() {
            last = s.last;
        }
        if let (Some(&first), Some(&last)) = (s.days.first(), s.days.last()) {
            spans.push((first, last));
        }
        days.extend(s.days);
        names.extend(s.names);
    }
    let shape = Shape::new(days, names.into_iter().collect(), opts.calendar)?;

    // Pass 2: every row into its cell, the panel's memory mapped in segment by segment ahead
    // of the workers (they take the segments in order).
    let mut blank = Blank::new(shape.n_cells(), layout.adj);
    {
        let cells = shape.cells();
        let bands = blank.bands(shape.names.len());
        let order: Vec<_> = spans.iter().map(|&(first, last)| shape.days(first, last)).collect();
        bands.mapping_in(&order, || in_segments(path, base, seg, opts, |rows| write(&ctx, rows, &cells, &bands)))?;
    }
    Some(blank.finish(shape, rules))
}

/// Cut the rows of the file (from byte `base` on) into segments of `seg` bytes and run `work`
/// on each, on the option's threads at once, each thread reading its segments itself (no
/// reader thread, nothing counted but what is parsed). A segment holds the records that start
/// inside its byte range. The results in file order; `None` if `work` or a read failed.
fn in_segments<T: Send>(
    path: &Path,
    base: u64,
    seg: u64,
    opts: &CsvOptions<'_>,
    work: impl Fn(&[u8]) -> Option<T> + Sync,
) -> Option<Vec<T>> {
    let size = std::fs::metadata(path).ok()?.len();
    let n = usize::try_from(size.saturating_sub(base).div_ceil(seg)).ok()?;
    let threads = if opts.threads == 0 { crate::workers() } else { opts.threads }.min(n.max(1));
    let results: Vec<Mutex<Option<T>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let Ok(mut file) = std::fs::File::open(path) else {
                    return failed.store(true, Ordering::Relaxed);
                };
                let mut buf = Vec::new();
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return;
                    }
                    let start = base + i as u64 * seg;
                    let done = read_segment(&mut file, start, (start + seg).min(size), size, &mut buf)
                        .and_then(|rows| work(&buf[rows]))
                        .and_then(|r| results[i].lock().ok().map(|mut slot| *slot = Some(r)));
                    if done.is_none() {
                        failed.store(true, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    if failed.load(Ordering::Relaxed) {
        return None;
    }
    results.into_iter().map(|r| r.into_inner().ok()?).collect()
}

/// Read into `buf` the records that start in bytes `start..end` of the file (a record
/// starts after a newline; the header's ends just before the first segment), and return
/// their range in `buf`: from the first one's start to the newline ending the last one, or
/// to the end of the file. Empty when no record starts in the range.
fn read_segment(
    file: &mut std::fs::File,
    start: u64,
    end: u64,
    size: u64,
    buf: &mut Vec<u8>,
) -> Option<std::ops::Range<usize>> {
    // From the byte before the range; past its end, a margin for the last record, widened
    // until that record's newline is in.
    let from = start.checked_sub(1)?;
    let mut margin = 1u64 << 16;
    loop {
        buf.clear();
        file.seek(SeekFrom::Start(from)).ok()?;
        file.by_ref().take(end - from + margin).read_to_end(buf).ok()?;
        // A newline at bytes start - 1 ..= end - 2 starts a record inside the range.
        let inside = usize::try_from(end - start).ok()?.min(buf.len());
        let Some(k) = memchr::memchr(b'\n', &buf[..inside]) else { return Some(0..0) };
        match memchr::memchr(b'\n', &buf[inside..]) {
            Some(e) => return Some(k + 1..inside + e + 1),
            None if from + buf.len() as u64 >= size => return Some(k + 1..buf.len()),
            None => margin = margin.checked_mul(2)?,
        }
    }
}

/// The dates and symbols of one segment.
struct Seen {
    /// Day numbers, sorted, each once.
    days: Vec<i32>,
    names: Vec<String>,
    /// The first and last row's date and symbol.
    first: Option<(i32, String)>,
    last: Option<(i32, String)>,
}

/// Pass 1 on a segment: each row's date and symbol, read and checked as the loader does
/// ([`Ctx::key`]); the rest of a row is split (finding every separator costs no more than
/// stopping at the symbol) but not read.
fn scan(ctx: &Ctx<'_>, block: &[u8]) -> Option<Seen> {
    if memchr::memchr(b'"', block).is_some() {
        return None;
    }
    let mut part = Part::new(ctx.file, ctx.layout);
    let mut days: Vec<i32> = Vec::new();
    // Lines counted from the segment's start: this reader reports no error, so no line.
    split_rows(block, 0, |f, line| -> Result<(), ()> {
        let (date, _) = ctx.key(&mut part, f, line).map_err(drop)?;
        if days.last() != Some(&date) {
            days.push(date);
        }
        Ok(())
    })
    .ok()?;
    days.sort_unstable();
    days.dedup();
    let last = part.last_key().map(|(d, s, _)| (d, s.to_string()));
    Some(Seen { days, first: part.first_key.take().map(|(d, s, _)| (d, s)), last, names: part.names })
}

/// Pass 2 on a segment: every row's values parsed and checked ([`Ctx::bar`], [`check`]) and
/// written to its cell. The dates and symbols (order, validity) were checked by the first
/// pass over the whole file: here they only find the cell.
fn write(ctx: &Ctx<'_>, block: &[u8], cells: &Cells<'_>, bands: &Bands<'_>) -> Option<()> {
    if memchr::memchr(b'"', block).is_some() {
        return None;
    }
    let c = ctx.cols;
    let mut writer = bands.writer();
    let mut columns = SymbolColumns::new(cells);
    let (mut last_date, mut day): (Vec<u8>, u32) = (Vec::new(), u32::MAX);
    split_rows(block, 0, |f, line| -> Result<(), ()> {
        ctx.field_count(f, line).map_err(drop)?;
        let raw = f.get(c.date);
        let new_day = day == u32::MAX || !short_eq(raw, &last_date);
        if new_day {
            let date = parse_date(raw).ok_or(())?;
            day = cells.day(day_number(date)).ok_or(())?;
            last_date.clear();
            last_date.extend_from_slice(raw);
        }
        let mut code = [0u8; 9];
        let column = columns.of(ctx.symbol(f, &mut code), new_day).ok_or(())?;
        let at = At { file: ctx.file, line, unit: ctx.layout.unit };
        let bar = ctx.bar(f, &at).map_err(drop)?;
        let row = check(&bar, || at.place()).map_err(drop)?;
        writer.put(day as usize * cells.n_sym as usize + column as usize, &row).ok_or(())
    })
    .ok()
}

/// A segment's way from a row's symbol to its column: first the column a [`NextSymbol`]
/// guesses, then (sorted here, symbol by symbol) the previous row's own; else a lookup.
struct SymbolColumns<'c> {
    cells: &'c Cells<'c>,
    next: NextSymbol,
    prev: Option<u32>,
}

impl<'c> SymbolColumns<'c> {
    fn new(cells: &'c Cells<'c>) -> Self {
        SymbolColumns { cells, next: NextSymbol::new(cells.n_sym as usize), prev: None }
    }

    #[inline]
    fn of(&mut self, raw: &[u8], new_day: bool) -> Option<u32> {
        let short = Short::of(raw);
        let guess = self.next.guess(self.prev, new_day);
        let column = if self.cells.is(guess, raw, short) {
            guess
        } else {
            match self.prev {
                Some(p) if self.cells.is(p, raw, short) => p,
                _ => self.cells.rank(raw)?,
            }
        };
        self.next.learn(self.prev, new_day, column);
        self.prev = Some(column);
        Some(column)
    }
}

#[cfg(test)]
mod tests {
    //! The direct reader against the general one: the same panel from every kind of file it
    //! takes, and for everything else it steps aside so that the general error is reported.

    use super::*;
    use crate::akshare::AKSHARE;
    use crate::calendar::Calendar;
    use crate::direct::assert_same;
    use crate::loader::{load_csv_with, read_csv};
    use crate::tushare::TUSHARE;
    use crate::{generate, write_csv, GenConfig, PriceMode};

    /// The direct panel (which must exist) and the general one, from the same text.
    fn both(text: &str, opts: &CsvOptions<'_>) -> (Option<Panel>, Result<Panel, crate::DataError>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bars.csv");
        std::fs::write(&path, text).unwrap();
        let rules = LimitRules::default();
        let general = read_csv(text.as_bytes(), &path.display().to_string(), opts, &rules);
        let via_path = load_csv_with(&path, opts, &rules);
        // Whichever reader runs, the caller sees the general reader's outcome.
        match (&via_path, &general) {
            (Ok(a), Ok(b)) => assert_same(a, b, "load_csv_with"),
            (a, b) => assert_eq!(a.as_ref().err().map(|e| e.to_string()), b.as_ref().err().map(|e| e.to_string())),
        }
        (load(&path, opts, &rules), general)
    }

    fn same(text: &str, opts: &CsvOptions<'_>, what: &str) {
        let (direct, general) = both(text, opts);
        let general = general.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_same(&direct.unwrap_or_else(|| panic!("{what}: the direct reader stepped aside")), &general, what);
    }

    fn market() -> String {
        let cfg = GenConfig { n_symbols: 37, n_days: 60, seed: 11, ..GenConfig::default() };
        let mut out = Vec::new();
        write_csv(&generate(&cfg, &LimitRules::default()), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    const H: &str = "date,symbol,open,high,low,close,volume";

    #[test]
    fn files_of_every_kind_load_directly_into_the_panel_the_general_loader_builds() {
        let text = market();
        for (block_bytes, threads) in [(0, 0), (1, 2), (300, 3), (4096, 2), (100_000, 1)] {
            same(
                &text,
                &CsvOptions { block_bytes, threads, ..CsvOptions::default() },
                &format!("market {block_bytes}"),
            );
        }
        let d = CsvOptions::default();
        let plain =
            format!("{H}\n2024-01-02,A,10,11,9,10.5,100\n2024-01-02,B,5,5.5,4.5,5,0\n2024-01-03,A,10,11,9,10.5,100\n");
        same(&plain.replace('\n', "\r\n"), &d, "CRLF");
        same(&plain.replace("100\n2024-01-03", "100\n\n\r\n2024-01-03"), &d, "blank lines");
        same(plain.trim_end(), &d, "no last newline");
        same(&plain.replace(",A,", ", A ,"), &d, "spaces around a field");
        // Columns in another order, an extra one, every optional one (a lone limit value, an
        // empty factor carried, a paused flag, vwap for a missing amount).
        let full =
            "extra,volume,close,low,high,open,symbol,date,amount,vwap,limit_up,limit_down,paused,is_st,adj_factor\n\
                    x,100,10.5,9,11,10,600000.SH,2024-01-02,1050,,11.00,9.00,0,0,1.5\n\
                    y,200,20,19,21,20,600001.SH,2024-01-02,,20.1,,18.00,false,TRUE,\n\
                    z,0,10.5,10.5,10.5,10.5,600000.SH,2024-01-03,,,,,1,0,\n\
                    w,300,11,10,11.5,10.5,600001.SH,2024-01-03,3300,,12.00,9.00,0,1,2\n";
        same(full, &d, "every column");
        // A record far longer than a segment and than the first read past its end.
        let long = full.replacen("\ny,", &format!("\n{},", "y".repeat(300_000)), 1);
        for block_bytes in [0, 1000, 70_000] {
            same(&long, &CsvOptions { block_bytes, threads: 2, ..d }, &format!("a long record {block_bytes}"));
        }
        let off_tick = format!("{H}\n2024-01-02,A,10.004,11.0051,9,10.5,100\n");
        same(&off_tick, &CsvOptions { prices: PriceMode::RoundToTick, ..d }, "rounded to the tick");
        // The presets: rows sorted here (tushare writes each symbol newest first), units
        // converted, bare codes suffixed (akshare, Chinese headers).
        let tushare = "ts_code,trade_date,open,high,low,close,vol,amount\n\
                       000001.SZ,20240103,10,11,9,10.5,12,34.5\n000001.SZ,20240102,10,11,9,10.5,10,30\n\
                       600000.SH,20240103,5,5.5,4.5,5,1,2\n600000.SH,20240102,5,5.5,4.5,5,1,2\n";
        same(tushare, &CsvOptions { preset: &TUSHARE, ..d }, "tushare");
        let akshare = "日期,股票代码,开盘,收盘,最高,最低,成交量,成交额\n\
                       2024-01-03,000001,10,10.5,11,9,12,3450\n2024-01-02,000001,10,10.5,11,9,10,3000\n\
                       2024-01-02,600000,5,5,5.5,4.5,1,200\n";
        same(akshare, &CsvOptions { preset: &AKSHARE, block_bytes: 40, threads: 2, ..d }, "akshare");
        let cal = Calendar::read("2024-01-02\n2024-01-03\n".as_bytes(), "cal.csv").unwrap();
        same(&plain, &CsvOptions { calendar: Some(&cal), ..d }, "with its calendar");
    }

    #[test]
    fn the_direct_reader_steps_aside_for_what_only_the_general_loader_reports() {
        let r = |d: &str, s: &str| format!("{d},{s},10,11,9,10.5,100");
        let cases = [
            ("a quoted field", format!("{H}\n2024-01-02,\"A\",10,11,9,10.5,100\n"), true),
            ("unsorted", format!("{H}\n{}\n{}\n", r("2024-01-03", "A"), r("2024-01-02", "A")), false),
            ("duplicate", format!("{H}\n{}\n{}\n", r("2024-01-02", "A"), r("2024-01-02", "A")), false),
            ("case variant", format!("{H}\n{}\n{}\n", r("2024-01-02", "aa"), r("2024-01-03", "AA")), false),
            ("bad price", format!("{H}\n2024-01-02,A,1o,11,9,10.5,100\n"), false),
            ("off tick", format!("{H}\n2024-01-02,A,10.001,11,9,10.5,100\n"), false),
            ("high below low", format!("{H}\n2024-01-02,A,10,9,11,10.5,100\n"), false),
            ("a field short", format!("{H}\n2024-01-02,A,10,11,9,10.5\n"), false),
            ("a symbol with a space", format!("{H}\n2024-01-02,A B,10,11,9,10.5,100\n"), false),
            ("bad date", format!("{H}\n2024-13-02,A,10,11,9,10.5,100\n"), false),
            ("no rows", format!("{H}\n"), false),
        ];
        for (what, text, ok) in cases {
            for block_bytes in [0, 30] {
                let (direct, general) = both(&text, &CsvOptions { block_bytes, threads: 2, ..CsvOptions::default() });
                assert!(direct.is_none(), "{what}: read directly");
                assert_eq!(general.is_ok(), ok, "{what}");
            }
        }
        // Rows sorted here: a duplicate is seen only when its cell is written twice.
        let dup = "ts_code,trade_date,open,high,low,close,vol\n000001.SZ,20240103,10,11,9,10.5,12\n\
                   000001.SZ,20240102,10,11,9,10.5,10\n000001.SZ,20240103,10,11,9,10.5,12\n";
        let (direct, general) = both(dup, &CsvOptions { preset: &TUSHARE, ..CsvOptions::default() });
        assert!(direct.is_none() && general.unwrap_err().to_string().contains("line 4"));
        // A calendar the data does not match.
        let cal = Calendar::read("2024-01-02\n".as_bytes(), "cal.csv").unwrap();
        let text = format!("{H}\n{}\n{}\n", r("2024-01-02", "A"), r("2024-01-03", "A"));
        let (direct, general) = both(&text, &CsvOptions { calendar: Some(&cal), ..CsvOptions::default() });
        assert!(direct.is_none() && general.is_err());
    }
}
