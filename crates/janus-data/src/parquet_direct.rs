//! The direct Parquet reader: row groups decoded straight into the panel, on every core.
//!
//! The general reader ([`crate::parquet_bars`]) reads every row into intermediate columns and
//! then scatters them into the panel, which costs twice the memory traffic and, worse, twice
//! the fresh memory (whose first touch is a page fault per 4 KiB). This one reads each file in
//! two passes over its row groups:
//!
//! 1. the date and symbol columns only (small: dictionary-encoded in every common writer), to
//!    learn the panel's dates and symbols, each distinct value checked once;
//! 2. every column again, each row checked by the same rules ([`crate::bulk::check_row`]) and
//!    written to its cell. The panel is cut into bands of days, each behind a lock, so workers
//!    write disjoint parts of it without `unsafe`; input sorted by date takes one lock per
//!    band and row group.
//!
//! It accepts exactly what the general reader accepts and builds the same panel (a test
//! compares them on files written every way). Whenever it meets something it does not handle
//! (an encoding it does not decode, a bad value, a duplicate, a calendar mismatch), it gives
//! up and the general reader reads the file, which reports the exact row of an error.

use crate::bulk::{is_price, price, Columns, NULL_PRICE};
use crate::calendar::Calendar;
use crate::direct::{Bands, Blank, Cells, Shape};
use crate::panel::Panel;
use crate::parquet_bars::{day_of_text, DateKind, DATE, FIELDS, SYMBOL};
use crate::parquet_pages::{read_as, read_f64, read_key_dictionary, read_keys, Keys, Scratch, NULL};
use crate::rows::{symbol_flaw, Layout};
use janus_core::{LimitRules, Price32};
use parquet::file::reader::{FileReader, RowGroupReader, SerializedFileReader};
use parquet::schema::types::ColumnDescPtr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Column slots, one per field of [`FIELDS`].
const SLOTS: usize = FIELDS.len();

/// Read the file at `path` (whose columns are at `cols`) into a panel; `None` when the general
/// reader must do it.
pub(crate) fn load(
    path: &Path,
    cols: &[Option<usize>; SLOTS],
    layout: Layout,
    calendar: Option<&Calendar>,
    rules: &LimitRules,
) -> Option<Panel> {
    // A lone limit column is checked, but not used, by the general reader.
    if cols[9].is_some() != cols[10].is_some() {
        return None;
    }
    let reader = || SerializedFileReader::new(std::fs::File::open(path).ok()?).ok();
    let first = reader()?;
    let groups = first.num_row_groups();
    let threads = crate::workers().min(groups.max(1));
    // One reader per worker: readers of one `File` share its offset.
    let mut readers = vec![first];
    for _ in 1..threads {
        readers.push(reader()?);
    }

    // Pass 1: the dates and symbols of every row group (from the key columns' dictionaries
    // where they have them: see `keys_of`).
    let mut works: Vec<Work> = readers.iter().map(|_| Work::default()).collect();
    let seen: Vec<Mutex<Option<Seen>>> = (0..groups).map(|_| Mutex::new(None)).collect();
    let ok = for_each_group(&readers, &mut works, groups, |reader, g, work| {
        let s = keys_of(reader, g, cols, work)?;
        *seen[g].lock().ok()? = Some(s);
        Some(())
    });
    if !ok {
        return None;
    }
    let (mut days, mut names, mut spans) = (Vec::new(), Vec::new(), Vec::new());
    let mut from_dictionaries = false;
    for s in seen {
        let s = s.into_inner().ok()??;
        from_dictionaries |= s.from_dictionaries;
        if let (Some(&first), Some(&last)) = (s.days.first(), s.days.last()) {
            spans.push((first, last));
        }
        days.extend(s.days);
        names.extend(s.symbols);
    }
    let shape = Shape::new(days, names, calendar)?;

    // Pass 2: every row into its cell, the panel's memory mapped in group by group ahead of
    // the workers (they take the groups in order).
    let mut blank = Blank::new(shape.n_cells(), layout.adj);
    {
        let cells = shape.cells();
        let bands = blank.bands(shape.names.len());
        let order: Vec<_> = spans.iter().map(|&(first, last)| shape.days(first, last)).collect();
        let ok = bands.mapping_in(&order, || {
            for_each_group(&readers, &mut works, groups, |reader, g, work| {
                write_group(reader, g, cols, layout, &cells, &bands, work)
            })
        });
        if !ok {
            return None;
        }
    }
    // A dictionary value no row holds would be a date or symbol without a bar, which the
    // general reader's panel does not have.
    if from_dictionaries && !blank.every_day_and_symbol_has_a_bar(shape.names.len()) {
        return None;
    }
    Some(blank.finish(shape, rules))
}

/// Run `f` on every row group, on one worker per reader with its own buffers from `works`;
/// false if any call gave `None` (the others stop at their next group).
fn for_each_group<F>(readers: &[SerializedFileReader<std::fs::File>], works: &mut [Work], groups: usize, f: F) -> bool
where
    F: Fn(&SerializedFileReader<std::fs::File>, usize, &mut Work) -> Option<()> + Sync,
{
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    std::thread::scope(|s| {
        for (reader, work) in readers.iter().zip(works) {
            let (next, failed, f) = (&next, &failed, &f);
            s.spawn(move || {
                while !failed.load(Ordering::Relaxed) {
                    let g = next.fetch_add(1, Ordering::Relaxed);
                    if g >= groups {
                        return;
                    }
                    // The `parquet` crate panics on some damaged files (an unknown page type):
                    // that is a damaged file, for the general reader to report.
                    let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(reader, g, work)));
                    if !matches!(done, Ok(Some(()))) {
                        failed.store(true, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    !failed.load(Ordering::Relaxed)
}

/// Buffers a worker reuses from row group to row group, in both passes (fresh memory costs a
/// page fault per 4 KiB).
#[derive(Default)]
struct Work {
    pages: Scratch,
    date: Keys,
    symbol: Keys,
    /// Per row: its cell.
    cells: Vec<u32>,
    /// Per key: its panel day, or its symbol's rank.
    key_day: Vec<u32>,
    key_rank: Vec<u32>,
    /// Per numeric slot: the row group's values, prices as the panel stores them
    /// ([`crate::bulk::price`]).
    numbers: Vec<Vec<f64>>,
    prices: Vec<Vec<Price32>>,
    used: Vec<bool>,
}

/// The distinct dates (day numbers) and symbols of one row group.
struct Seen {
    days: Vec<i32>,
    symbols: Vec<String>,
    /// Read from the key columns' dictionaries, which may hold a value no row does.
    from_dictionaries: bool,
}

/// A row group's date and symbol columns: where they are, what they hold, and how its dates
/// are written.
struct KeyColumns {
    date: usize,
    symbol: usize,
    date_descr: ColumnDescPtr,
    sym_descr: ColumnDescPtr,
    kind: DateKind,
}

impl KeyColumns {
    /// `None` if the symbols are not text or the dates of no type a date is read from.
    fn of(rg: &dyn RowGroupReader, cols: &[Option<usize>; SLOTS]) -> Option<KeyColumns> {
        let (date, symbol) = (cols[DATE]?, cols[SYMBOL]?);
        let date_descr = rg.metadata().column(date).column_descr_ptr();
        let sym_descr = rg.metadata().column(symbol).column_descr_ptr();
        if sym_descr.physical_type() != parquet::basic::Type::BYTE_ARRAY {
            return None;
        }
        let kind = DateKind::of(&date_descr)?;
        Some(KeyColumns { date, symbol, date_descr, sym_descr, kind })
    }
}

/// Read the date and symbol columns of a row group into `work.date` and `work.symbol`;
/// returns its number of rows and how its dates are written.
fn read_key_columns(
    rg: &dyn RowGroupReader,
    cols: &[Option<usize>; SLOTS],
    work: &mut Work,
) -> Option<(usize, DateKind)> {
    let n = usize::try_from(rg.metadata().num_rows()).ok()?;
    let k = KeyColumns::of(rg, cols)?;
    read_keys(&mut *rg.get_column_page_reader(k.date).ok()?, &k.date_descr, n, &mut work.pages, &mut work.date)?;
    read_keys(&mut *rg.get_column_page_reader(k.symbol).ok()?, &k.sym_descr, n, &mut work.pages, &mut work.symbol)?;
    Some((n, k.kind))
}

/// The day number of key `i` of a date column.
fn key_day(keys: &Keys, i: usize, kind: DateKind) -> Option<i32> {
    match kind {
        DateKind::Text => day_of_text(keys.texts.get(i)?),
        _ => kind.int(*keys.ints.get(i)?),
    }
}

/// Mark the keys some row holds; `None` if a row holds a null.
fn mark_used(keys: &Keys, used: &mut Vec<bool>) -> Option<()> {
    used.clear();
    used.resize(keys.ints.len() + keys.texts.len(), false);
    for &k in &keys.rows {
        *used.get_mut(if k == NULL { return None } else { k as usize })? = true;
    }
    Some(())
}

/// The dictionaries of a row group's date and symbol columns into `work.date` and
/// `work.symbol` (no rows), and how its dates are written; `Some(None)` unless the metadata
/// of both says every data page is dictionary-encoded.
fn read_key_dictionaries(
    rg: &dyn RowGroupReader,
    cols: &[Option<usize>; SLOTS],
    work: &mut Work,
) -> Option<Option<DateKind>> {
    let k = KeyColumns::of(rg, cols)?;
    if !dictionary_only(rg.metadata().column(k.date)) || !dictionary_only(rg.metadata().column(k.symbol)) {
        return Some(None);
    }
    let both = read_key_dictionary(&mut *rg.get_column_page_reader(k.date).ok()?, &k.date_descr, &mut work.date)?
        && read_key_dictionary(&mut *rg.get_column_page_reader(k.symbol).ok()?, &k.sym_descr, &mut work.symbol)?;
    Some(both.then_some(k.kind))
}

/// Whether a column chunk's page encoding statistics (which writers record) say it has a
/// dictionary and every data page is dictionary-encoded: then its dictionary holds every value
/// of its rows.
fn dictionary_only(meta: &parquet::file::metadata::ColumnChunkMetaData) -> bool {
    use parquet::basic::{Encoding, PageType};
    let Some(stats) = meta.page_encoding_stats() else { return false };
    let data = |t: PageType| matches!(t, PageType::DATA_PAGE | PageType::DATA_PAGE_V2);
    stats.iter().any(|p| p.page_type == PageType::DICTIONARY_PAGE && p.count > 0)
        && stats
            .iter()
            .filter(|p| data(p.page_type) && p.count > 0)
            .all(|p| matches!(p.encoding, Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY))
}

/// Pass 1 on row group `g`: its dates and symbols, each checked. Where both key columns are
/// wholly dictionary-encoded (as writers encode dates and symbols), only the dictionaries are
/// read, not the rows: a writer puts in a dictionary only values its rows hold, and a file in
/// which a value has no row is left to the general reader after pass 2.
fn keys_of(
    reader: &SerializedFileReader<std::fs::File>,
    g: usize,
    cols: &[Option<usize>; SLOTS],
    work: &mut Work,
) -> Option<Seen> {
    let rg = reader.get_row_group(g).ok()?;
    let (kind, from_dictionaries) = match read_key_dictionaries(&*rg, cols, work)? {
        Some(kind) => (kind, true),
        None => (read_key_columns(&*rg, cols, work)?.1, false),
    };
    // Keys from a dictionary are all used; keys of rows only if a row holds them.
    let mark = |keys: &Keys, used: &mut Vec<bool>| {
        if !from_dictionaries {
            return mark_used(keys, used);
        }
        used.clear();
        used.resize(keys.ints.len() + keys.texts.len(), true);
        Some(())
    };
    mark(&work.date, &mut work.used)?;
    let mut days = Vec::new();
    for (i, _) in work.used.iter().enumerate().filter(|(_, u)| **u) {
        days.push(key_day(&work.date, i, kind)?);
    }
    days.sort_unstable();
    days.dedup();
    mark(&work.symbol, &mut work.used)?;
    let mut names: Vec<&[u8]> =
        work.symbol.texts.iter().zip(&work.used).filter(|(_, u)| **u).map(|(t, _)| &t[..]).collect();
    names.sort_unstable();
    names.dedup();
    let mut symbols = Vec::with_capacity(names.len());
    for raw in names {
        match std::str::from_utf8(raw) {
            Ok(s) if !s.is_empty() && symbol_flaw(s).is_none() => symbols.push(s.to_string()),
            _ => return None,
        }
    }
    Some(Seen { days, symbols, from_dictionaries })
}

/// Pass 2 on row group `g`: every row checked and written to its cell.
fn write_group(
    reader: &SerializedFileReader<std::fs::File>,
    g: usize,
    cols: &[Option<usize>; SLOTS],
    layout: Layout,
    at: &Cells<'_>,
    bands: &Bands<'_>,
    work: &mut Work,
) -> Option<()> {
    let rg = reader.get_row_group(g).ok()?;
    let (n, kind) = read_key_columns(&*rg, cols, work)?;
    // Each key's day and rank, then each row's cell.
    let date_keys = work.date.ints.len() + work.date.texts.len();
    work.key_day.clear();
    work.key_day
        .extend((0..date_keys).map(|i| key_day(&work.date, i, kind).and_then(|d| at.day(d)).unwrap_or(u32::MAX)));
    work.key_rank.clear();
    work.key_rank.extend(work.symbol.texts.iter().map(|t| at.rank(t).unwrap_or(u32::MAX)));
    work.cells.clear();
    for (&d, &s) in work.date.rows.iter().zip(&work.symbol.rows) {
        let (day, rank) = (*work.key_day.get(d as usize)?, *work.key_rank.get(s as usize)?);
        if day == u32::MAX || rank == u32::MAX {
            return None;
        }
        work.cells.push(day * at.n_sym + rank);
    }
    // The numbers, column by column: prices in units, the others as f64.
    work.numbers.resize_with(SLOTS, Vec::new);
    work.prices.resize_with(SLOTS, Vec::new);
    for (k, col) in cols.iter().enumerate().skip(2) {
        work.numbers[k].clear();
        work.prices[k].clear();
        if let Some(c) = *col {
            let descr = rg.metadata().column(c).column_descr_ptr();
            let mut pages = rg.get_column_page_reader(c).ok()?;
            if is_price(k) {
                let to = |v| price(v, layout.prices);
                read_as(&mut *pages, &descr, n, &mut work.pages, to, NULL_PRICE, &mut work.prices[k])?;
            } else {
                read_f64(&mut *pages, &descr, n, &mut work.pages, &mut work.numbers[k])?;
            }
        }
    }
    let present = |k: usize| cols[k].is_some();
    let columns = Columns::by_field(
        |k| present(k).then(|| work.prices[k].as_slice()),
        |k| present(k).then(|| work.numbers[k].as_slice()),
    )?;
    let mut writer = bands.writer();
    for (r, &cell) in work.cells.iter().enumerate() {
        let row = crate::bulk::check_row(&columns, r)?;
        writer.put(cell as usize, &row)?;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    //! The direct reader against the general one, on files written every way the `parquet`
    //! crate can: both must give the same panel, or the direct one must step aside.

    use super::*;
    use crate::direct::assert_same;
    use crate::panel::flag;
    use crate::parquet_bars::{columns, load_parquet, load_rows, EPOCH_DAY};
    use crate::{generate, GenConfig, PriceMode};
    use janus_core::Price;
    use parquet::basic::Compression;
    use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, FloatType, Int32Type, Int64Type};
    use parquet::file::properties::{WriterProperties, WriterVersion};
    use parquet::file::writer::SerializedFileWriter;
    use std::sync::Arc;

    #[derive(Clone, Copy, Debug)]
    enum Dates {
        Date32,
        Ymd32,
        Micros,
        Text,
    }

    #[derive(Clone, Copy, Debug)]
    enum Prices {
        Double,
        Float,
        Decimal,
    }

    /// How a test file is written.
    #[derive(Clone, Copy, Debug)]
    struct Style {
        dates: Dates,
        prices: Prices,
        /// Every column optional (pandas), with some nulls where a null means something.
        nullable: bool,
        /// Rows symbol by symbol, newest first (tushare's order).
        unsorted: bool,
        /// Flags as 0/1 integers instead of booleans.
        int_flags: bool,
        dictionary: bool,
        v2: bool,
        compression: Compression,
        rows_per_group: usize,
        /// Small pages: many pages per chunk, and dictionaries that overflow into plain pages.
        small_pages: bool,
    }

    const BASE: Style = Style {
        dates: Dates::Date32,
        prices: Prices::Double,
        nullable: false,
        unsorted: false,
        int_flags: false,
        dictionary: true,
        v2: false,
        compression: Compression::SNAPPY,
        rows_per_group: 1 << 20,
        small_pages: false,
    };

    /// A market with a bit of everything: suspensions, ST names, explicit limits on some
    /// bars, unknown amounts and changing adjustment factors.
    fn market() -> Panel {
        let mut p =
            generate(&GenConfig { n_symbols: 23, n_days: 60, seed: 5, ..GenConfig::default() }, &LimitRules::default());
        let n = p.n_symbols();
        let mut last = vec![1.0; n];
        p.adj_factor = (0..p.flags.len())
            .map(|i| {
                if p.flags[i] & flag::PRESENT != 0 && i % 11 == 0 {
                    last[i % n] *= 1.1;
                }
                last[i % n]
            })
            .collect();
        for i in 0..p.flags.len() {
            if p.flags[i] & flag::PRESENT == 0 {
                continue;
            }
            if i % 13 == 0 && p.limit_up[i].is_positive() {
                p.flags[i] |= flag::EXPLICIT_LIMITS;
            }
            if i % 17 == 0 {
                p.amount[i] = f64::NAN;
            }
        }
        p
    }

    fn write(p: &Panel, path: &Path, st: Style) {
        let n = p.n_symbols();
        let mut rows: Vec<usize> = (0..p.flags.len()).filter(|&i| p.flags[i] & flag::PRESENT != 0).collect();
        if st.unsorted {
            rows.sort_by_key(|&i| (i % n, std::cmp::Reverse(i / n)));
        }
        let req = if st.nullable { "optional" } else { "required" };
        let date = match st.dates {
            Dates::Date32 => "int32 date (DATE)",
            Dates::Ymd32 => "int32 date",
            Dates::Micros => "int64 date (TIMESTAMP(MICROS,false))",
            Dates::Text => "binary date (UTF8)",
        };
        let price = match st.prices {
            Prices::Double => "double",
            Prices::Float => "float",
            Prices::Decimal => "int64",
        };
        let dec = if matches!(st.prices, Prices::Decimal) { " (DECIMAL(18,2))" } else { "" };
        let flag_type = if st.int_flags { "int32" } else { "boolean" };
        let mut message = format!("message m {{\n {req} {date};\n {req} binary symbol (UTF8);\n");
        for f in ["open", "high", "low", "close"] {
            message.push_str(&format!(" {req} {price} {f}{dec};\n"));
        }
        message.push_str(&format!(
            " {req} double volume;\n optional double amount;\n {req} {flag_type} paused;\n {req} {flag_type} is_st;\n \
             optional {price} limit_up{dec};\n optional {price} limit_down{dec};\n optional double adj_factor;\n}}"
        ));
        let schema = Arc::new(parquet::schema::parser::parse_message_type(&message).unwrap());
        let mut props = WriterProperties::builder()
            .set_compression(st.compression)
            .set_dictionary_enabled(st.dictionary)
            .set_writer_version(if st.v2 { WriterVersion::PARQUET_2_0 } else { WriterVersion::PARQUET_1_0 });
        if st.small_pages {
            props = props.set_data_page_size_limit(512).set_dictionary_page_size_limit(256).set_write_batch_size(64);
        }
        let mut w =
            SerializedFileWriter::new(std::fs::File::create(path).unwrap(), schema, Arc::new(props.build())).unwrap();
        for rows in rows.chunks(st.rows_per_group) {
            let mut rg = w.next_row_group().unwrap();
            let all = vec![1i16; rows.len()];
            let defs = |has: &dyn Fn(usize) -> bool| -> Vec<i16> { rows.iter().map(|&i| has(i) as i16).collect() };
            let req_defs = st.nullable.then_some(all.as_slice());
            let mut k = 0;
            while let Some(mut col) = rg.next_column().unwrap() {
                let explicit = |i: usize| p.flags[i] & flag::EXPLICIT_LIMITS != 0;
                // Prices of the cells where `has`, as the style writes them.
                let prices = |col: &mut parquet::file::writer::SerializedColumnWriter<'_>,
                              get: &dyn Fn(usize) -> Price,
                              has: &dyn Fn(usize) -> bool,
                              d: Option<&[i16]>| {
                    let cells: Vec<usize> = rows.iter().copied().filter(|&i| has(i)).collect();
                    match st.prices {
                        Prices::Double => {
                            let v: Vec<f64> = cells.iter().map(|&i| get(i).as_f64()).collect();
                            col.typed::<DoubleType>().write_batch(&v, d, None).unwrap();
                        }
                        Prices::Float => {
                            let v: Vec<f32> = cells.iter().map(|&i| get(i).as_f64() as f32).collect();
                            col.typed::<FloatType>().write_batch(&v, d, None).unwrap();
                        }
                        Prices::Decimal => {
                            let v: Vec<i64> = cells.iter().map(|&i| get(i).0 / 100).collect();
                            col.typed::<Int64Type>().write_batch(&v, d, None).unwrap();
                        }
                    }
                };
                let flag_col = |col: &mut parquet::file::writer::SerializedColumnWriter<'_>, bit: u8| {
                    if st.int_flags {
                        let v: Vec<i32> = rows.iter().map(|&i| (p.flags[i] & bit != 0) as i32).collect();
                        col.typed::<Int32Type>().write_batch(&v, req_defs, None).unwrap();
                    } else {
                        let v: Vec<bool> = rows.iter().map(|&i| p.flags[i] & bit != 0).collect();
                        col.typed::<BoolType>().write_batch(&v, req_defs, None).unwrap();
                    }
                };
                match k {
                    0 => {
                        let day = |i: usize| p.dates[i / n];
                        match st.dates {
                            Dates::Date32 | Dates::Ymd32 => {
                                let v: Vec<i32> = rows
                                    .iter()
                                    .map(|&i| match st.dates {
                                        Dates::Date32 => crate::rows::day_number(day(i)) - EPOCH_DAY,
                                        _ => day(i).format("%Y%m%d").to_string().parse().unwrap(),
                                    })
                                    .collect();
                                col.typed::<Int32Type>().write_batch(&v, req_defs, None).unwrap();
                            }
                            Dates::Micros => {
                                let v: Vec<i64> = rows
                                    .iter()
                                    .map(|&i| {
                                        (crate::rows::day_number(day(i)) - EPOCH_DAY) as i64 * 86_400_000_000
                                            + 3_600_000_000
                                    })
                                    .collect();
                                col.typed::<Int64Type>().write_batch(&v, req_defs, None).unwrap();
                            }
                            Dates::Text => {
                                let v: Vec<ByteArray> =
                                    rows.iter().map(|&i| ByteArray::from(day(i).to_string().as_str())).collect();
                                col.typed::<ByteArrayType>().write_batch(&v, req_defs, None).unwrap();
                            }
                        }
                    }
                    1 => {
                        let v: Vec<ByteArray> =
                            rows.iter().map(|&i| ByteArray::from(p.symbols[i % n].as_str())).collect();
                        col.typed::<ByteArrayType>().write_batch(&v, req_defs, None).unwrap();
                    }
                    2..=5 => {
                        let column = [&p.open, &p.high, &p.low, &p.close][k - 2];
                        prices(&mut col, &|i| column[i].get(), &|_| true, req_defs);
                    }
                    6 => {
                        let v: Vec<f64> = rows.iter().map(|&i| p.volume[i]).collect();
                        col.typed::<DoubleType>().write_batch(&v, req_defs, None).unwrap();
                    }
                    7 => {
                        let v: Vec<f64> = rows.iter().map(|&i| p.amount[i]).filter(|a| !a.is_nan()).collect();
                        let d = defs(&|i| !p.amount[i].is_nan());
                        col.typed::<DoubleType>().write_batch(&v, Some(&d), None).unwrap();
                    }
                    8 => flag_col(&mut col, flag::PAUSED),
                    9 => flag_col(&mut col, flag::ST),
                    10 | 11 => {
                        let d = defs(&explicit);
                        let get = |i: usize| if k == 10 { p.limit_up[i].get() } else { p.limit_down[i].get() };
                        prices(&mut col, &get, &explicit, Some(&d));
                    }
                    _ => {
                        // Unchanged factors left out: the reader carries the last one.
                        let changed = |i: usize| i < n || p.adj_factor[i] != p.adj_factor[i - n] || i.is_multiple_of(5);
                        let v: Vec<f64> = rows.iter().filter(|&&i| changed(i)).map(|&i| p.adj_factor[i]).collect();
                        let d = defs(&changed);
                        col.typed::<DoubleType>().write_batch(&v, Some(&d), None).unwrap();
                    }
                }
                col.close().unwrap();
                k += 1;
            }
            rg.close().unwrap();
        }
        w.close().unwrap();
    }

    /// The direct reader's panel, and the general reader's.
    fn both(path: &Path) -> (Option<Panel>, Result<Panel, crate::DataError>) {
        let rules = LimitRules::default();
        let (cols, layout) = columns(path, PriceMode::Raw).unwrap();
        (load(path, &cols, layout, None, &rules), load_rows(path, &cols, layout, None, &rules))
    }

    #[test]
    fn files_written_every_way_load_directly_into_the_panel_the_general_reader_builds() {
        let dir = tempfile::tempdir().unwrap();
        let p = market();
        let mut styles = vec![BASE];
        for dates in [Dates::Ymd32, Dates::Micros, Dates::Text] {
            styles.push(Style { dates, ..BASE });
        }
        for prices in [Prices::Float, Prices::Decimal] {
            styles.push(Style { prices, ..BASE });
        }
        for compression in [
            Compression::UNCOMPRESSED,
            Compression::ZSTD(Default::default()),
            Compression::GZIP(Default::default()),
            Compression::LZ4_RAW,
        ] {
            styles.push(Style { compression, ..BASE });
        }
        styles.extend([
            Style { nullable: true, ..BASE },
            Style { unsorted: true, ..BASE },
            Style { int_flags: true, ..BASE },
            Style { dictionary: false, ..BASE },
            Style { v2: true, ..BASE },
            Style { v2: true, nullable: true, rows_per_group: 97, ..BASE },
            Style { small_pages: true, rows_per_group: 97, ..BASE },
            Style { dictionary: false, dates: Dates::Text, unsorted: true, rows_per_group: 300, ..BASE },
            Style { rows_per_group: 1, ..BASE },
        ]);
        for (k, st) in styles.into_iter().enumerate() {
            let path = dir.path().join(format!("{k}.parquet"));
            write(&p, &path, st);
            let (direct, rows) = both(&path);
            let rows = rows.unwrap_or_else(|e| panic!("{st:?}: {e}"));
            let direct = direct.unwrap_or_else(|| panic!("{st:?}: the direct reader stepped aside"));
            assert_same(&direct, &rows, &format!("{st:?}"));
            assert!(direct.n_bars() > 1000 && direct.adj_factor.len() == direct.flags.len(), "{st:?}");
        }
        // Text that overflows its dictionary in a v2 page goes on in DELTA_BYTE_ARRAY, which only
        // the general reader decodes.
        let path = dir.path().join("delta.parquet");
        write(&p, &path, Style { v2: true, small_pages: true, ..BASE });
        let (direct, rows) = both(&path);
        assert!(direct.is_none() && rows.is_ok());
        let loaded = load_parquet(&path, PriceMode::Raw, None, &LimitRules::default()).unwrap();
        assert_same(&loaded, &rows.unwrap(), "v2 with DELTA_BYTE_ARRAY");
    }

    #[test]
    fn only_wholly_dictionary_encoded_key_columns_are_read_from_their_dictionaries() {
        let dir = tempfile::tempdir().unwrap();
        let p = market();
        for (st, want) in [
            (BASE, true),
            (Style { v2: true, ..BASE }, true),
            (Style { dictionary: false, ..BASE }, false),
            // The symbols' dictionary overflows into plain pages.
            (Style { small_pages: true, rows_per_group: 97, ..BASE }, false),
        ] {
            let path = dir.path().join("keys.parquet");
            write(&p, &path, st);
            let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
            let (cols, _) = columns(&path, PriceMode::Raw).unwrap();
            let rg = reader.get_row_group(0).unwrap();
            let mut work = Work::default();
            let kind = read_key_dictionaries(&*rg, &cols, &mut work).unwrap();
            assert_eq!(kind.is_some(), want, "{st:?}");
            if want {
                // The dictionaries hold exactly the keys the rows hold.
                let seen = keys_of(&reader, 0, &cols, &mut work).unwrap();
                let (n, _) = read_key_columns(&*rg, &cols, &mut work).unwrap();
                assert!(seen.from_dictionaries && n > 0);
                mark_used(&work.symbol, &mut work.used).unwrap();
                assert!(work.used.iter().all(|&u| u), "{st:?}: an unused symbol in the dictionary");
                assert_eq!(seen.symbols.len(), work.symbol.texts.len(), "{st:?}");
            }
        }
    }

    #[test]
    fn the_direct_reader_steps_aside_for_what_it_must_not_decide() {
        let dir = tempfile::tempdir().unwrap();
        let p = market();
        let n = p.n_symbols();
        let first = (0..p.flags.len()).find(|&i| p.flags[i] & flag::PRESENT != 0 && i >= 5 * n).unwrap();
        type Spoil = Box<dyn Fn(&mut Panel)>;
        let units = |u: i64| Price32::new(Price(u)).expect("in range");
        let cases: Vec<(&str, Spoil)> = vec![
            ("an off-tick price", Box::new(move |p: &mut Panel| p.close[first] = units(p.close[first].get().0 + 1))),
            ("high below low", Box::new(move |p: &mut Panel| p.high[first] = units(p.low[first].get().0 - 100))),
            (
                "a price above 200,000 CNY",
                Box::new(move |p: &mut Panel| {
                    let big = units(2_000_000_100);
                    (p.open[first], p.high[first], p.low[first], p.close[first]) = (big, big, big, big);
                }),
            ),
            ("a negative volume", Box::new(move |p: &mut Panel| p.volume[first] = -1.0)),
            ("a symbol with a space", Box::new(|p: &mut Panel| p.symbols[3] = "600 000.SH".into())),
            ("symbols differing in case", Box::new(|p: &mut Panel| p.symbols[3] = p.symbols[4].to_lowercase())),
            ("a duplicate row", Box::new(|p: &mut Panel| p.symbols[3] = p.symbols[4].clone())),
            ("a bad factor", Box::new(move |p: &mut Panel| p.adj_factor[first] = 0.0)),
        ];
        for (what, spoil) in cases {
            let mut bad = p.clone();
            spoil(&mut bad);
            let path = dir.path().join("bad.parquet");
            write(&bad, &path, BASE);
            let (direct, rows) = both(&path);
            assert!(direct.is_none(), "{what}: the direct reader took it");
            let e = rows.map(|_| ()).unwrap_err().to_string();
            let loaded =
                load_parquet(&path, PriceMode::Raw, None, &LimitRules::default()).map(|_| ()).unwrap_err().to_string();
            assert_eq!(loaded, e, "{what}: the error is the general reader's");
            assert!(e.contains("bad.parquet"), "{what}: {e}");
        }
    }

    #[test]
    fn a_damaged_file_is_refused_or_read_never_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ok.parquet");
        write(&market(), &path, Style { rows_per_group: 400, ..BASE });
        let good = std::fs::read(&path).unwrap();
        let bad = dir.path().join("damaged.parquet");
        // Bytes all over the file in turn set to values that break lengths, widths, counts
        // and page types.
        let rules = LimitRules::default();
        let (mut refused, mut stepped_aside) = (0, 0);
        for at in (4..good.len() - 8).step_by(good.len() / 120) {
            for v in [0x00, 0x7f, 0xff] {
                let mut b = good.clone();
                b[at] = v;
                std::fs::write(&bad, &b).unwrap();
                let Ok((cols, layout)) = columns(&bad, PriceMode::Raw) else { continue };
                // Neither reader may panic; what the direct one accepts, the general one
                // accepts the same way.
                let direct = load(&bad, &cols, layout, None, &rules);
                match (direct, load_rows(&bad, &cols, layout, None, &rules)) {
                    (Some(direct), Ok(rows)) => assert_same(&direct, &rows, &format!("byte {at} = {v}")),
                    (direct, Err(e)) => {
                        assert!(direct.is_none() && e.to_string().contains("damaged.parquet"), "{e}");
                        refused += 1;
                    }
                    (None, Ok(_)) => stepped_aside += 1,
                }
            }
        }
        assert!(refused > 20 && stepped_aside > 0, "{refused} refused, {stepped_aside} read by the general reader");
    }
}
