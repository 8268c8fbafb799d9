//! Parquet bars (`[data] format = "parquet"`, or a `.parquet`/`.pq` path): the Janus column
//! names, as pandas, polars or pyarrow write them.
//!
//! Read with the `parquet` crate's low-level column readers (no Arrow: it would double the
//! build), row group by row group on every core, each row group a [`Part`] checked by the same
//! rules as a CSV row. Codecs: uncompressed, snappy (pandas' and pyarrow's default), zstd
//! (polars' default), gzip and lz4. Column types accepted:
//!
//! | field | Parquet types |
//! |---|---|
//! | `date` | `DATE`; `TIMESTAMP` (ms, us, ns: the date of the timestamp); a `YYYY-MM-DD` or `YYYYMMDD` string; an integer `YYYYMMDD` |
//! | `symbol` | string |
//! | prices, `limit_up`, `limit_down` | double, float, `DECIMAL` (int32/int64), integer |
//! | `volume`, `amount`, `vwap`, `adj_factor` | double, float, integer |
//! | `paused`, `is_st` | boolean or integer 0/1 |
//!
//! Nulls mean what an empty CSV field means. Rows may come in any order (they are sorted);
//! an error names the file, the row (the first row being row 1), the column and the value.
//! A row group whose numbers all pass is checked column by column ([`crate::bulk`]); one with a
//! bad value is read again row by row to report it exactly.

use crate::assemble::assemble;
use crate::calendar::Calendar;
use crate::error::{DataError, Unit};
use crate::panel::Panel;
use crate::rows::{day_number, Bar, Layout, Order, Part, PriceMode};
use janus_core::{LimitRules, Price};
use parquet::basic::{LogicalType, TimeUnit};
use parquet::column::reader::ColumnReader;
use parquet::data_type::ByteArray;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::schema::types::ColumnDescriptor;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// The Janus fields, in the order of [`Field`]'s discriminants.
pub(crate) const FIELDS: [&str; 14] = [
    "date",
    "symbol",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "amount",
    "vwap",
    "limit_up",
    "limit_down",
    "paused",
    "is_st",
    "adj_factor",
];
const REQUIRED: usize = 7;

pub(crate) const DATE: usize = 0;
pub(crate) const SYMBOL: usize = 1;

/// 1970-01-01 as a day number.
pub(crate) const EPOCH_DAY: i32 = 719_163;

/// Load a Parquet file of bars.
pub fn load_parquet(
    path: &Path,
    prices: PriceMode,
    calendar: Option<&Calendar>,
    rules: &LimitRules,
) -> Result<Panel, DataError> {
    let (cols, layout) = columns(path, prices)?;
    if let Some(panel) = crate::parquet_direct::load(path, &cols, layout, calendar, rules) {
        return Ok(panel);
    }
    load_rows(path, &cols, layout, calendar, rules)
}

fn open(path: &Path, file: &str) -> Result<SerializedFileReader<std::fs::File>, DataError> {
    let f = std::fs::File::open(path).map_err(|source| DataError::Open { file: file.to_string(), source })?;
    SerializedFileReader::new(f)
        .map_err(|e| DataError::Format { file: file.to_string(), message: format!("cannot read Parquet: {e}") })
}

/// Where each field's column is in the file, and the layout of its rows.
pub(crate) fn columns(path: &Path, prices: PriceMode) -> Result<([Option<usize>; FIELDS.len()], Layout), DataError> {
    let file = path.display().to_string();
    let reader = open(path, &file)?;
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    let names: Vec<String> = (0..schema.num_columns()).map(|i| schema.column(i).name().to_lowercase()).collect();
    let mut cols = [None; FIELDS.len()];
    for (k, field) in FIELDS.iter().enumerate() {
        cols[k] = names.iter().position(|n| n == field);
        if k < REQUIRED && cols[k].is_none() {
            return Err(DataError::MissingColumn {
                file: file.clone(),
                column: FIELDS[k],
                found: names.join(","),
                needs: FIELDS[..REQUIRED].join(","),
            });
        }
    }
    let layout = Layout {
        order: Order::Sort,
        limits: cols[9].is_some() && cols[10].is_some(),
        adj: cols[13].is_some(),
        unit: Unit::Row,
        prices,
    };
    Ok((cols, layout))
}

/// Load the file row group by row group through the crate's column readers, each row checked
/// (the general reader: every type and encoding, and the exact place of an error).
pub(crate) fn load_rows(
    path: &Path,
    cols: &[Option<usize>; FIELDS.len()],
    layout: Layout,
    calendar: Option<&Calendar>,
    rules: &LimitRules,
) -> Result<Panel, DataError> {
    let file = path.display().to_string();
    let reader = open(path, &file)?;
    // First row of each row group.
    let groups = reader.num_row_groups();
    let mut first_row = Vec::with_capacity(groups + 1);
    let mut row = 1u64;
    for g in 0..groups {
        first_row.push(row);
        row += reader.metadata().row_group(g).num_rows() as u64;
    }
    let threads = crate::workers().min(groups.max(1));
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, Part)>();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, file, first_row) = (&next, &file, &first_row);
            // One reader per thread: readers of one `File` share its offset, and would race.
            let own = std::fs::File::open(path)
                .map_err(|e| e.to_string())
                .and_then(|f| SerializedFileReader::new(f).map_err(|e| e.to_string()));
            scope.spawn(move || {
                let mut scratch = Scratch::default();
                loop {
                    let g = next.fetch_add(1, Ordering::Relaxed);
                    if g >= groups {
                        return;
                    }
                    let mut part = Part::new(file, layout);
                    let read = match &own {
                        // The `parquet` crate panics on some damaged files (an unknown page
                        // type): report it as the damaged file it is.
                        Ok(reader) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            read_group(reader, g, cols, first_row[g], &mut part, &mut scratch)
                        }))
                        .unwrap_or_else(|panic| {
                            let why = panic
                                .downcast_ref::<String>()
                                .map(String::as_str)
                                .or_else(|| panic.downcast_ref::<&str>().copied())
                                .unwrap_or("unknown");
                            Err(DataError::Format {
                                file: file.clone(),
                                message: format!("cannot read Parquet: row group {} is damaged ({why})", g + 1),
                            })
                        }),
                        Err(e) => {
                            Err(DataError::Format { file: file.clone(), message: format!("cannot read Parquet: {e}") })
                        }
                    };
                    if let Err(e) = read {
                        part.error = Some(e);
                    }
                    if tx.send((g, part)).is_err() {
                        return;
                    }
                }
            });
        }
    });
    drop(tx);
    let mut parts: Vec<Option<Part>> = (0..groups).map(|_| None).collect();
    for (g, part) in rx {
        parts[g] = Some(part);
    }
    assemble(parts.into_iter().flatten().collect(), &file, layout, calendar, rules)
}

/// A column of one row group, converted for the row loop.
enum Col {
    /// Day numbers; `i32::MIN` marks a null or unreadable value, whose text is kept aside.
    Day(Vec<i32>, Vec<(usize, String)>),
    Bytes(Vec<Option<ByteArray>>),
    /// NaN for null.
    F64(Vec<f64>),
}

fn read_group(
    reader: &SerializedFileReader<std::fs::File>,
    g: usize,
    cols: &[Option<usize>; FIELDS.len()],
    first_row: u64,
    part: &mut Part,
    scratch: &mut Scratch,
) -> Result<(), DataError> {
    let rg = reader.get_row_group(g).map_err(|e| format_err(part, e))?;
    let n = rg.metadata().num_rows() as usize;
    let mut data: Vec<Option<Col>> = Vec::with_capacity(FIELDS.len());
    scratch.out.resize_with(FIELDS.len(), Vec::new);
    for (k, c) in cols.iter().enumerate() {
        data.push(match c {
            None => None,
            Some(i) => {
                let descr = rg.metadata().column(*i).column_descr_ptr();
                let r = rg.get_column_reader(*i).map_err(|e| format_err(part, e))?;
                let fail = |m: String| DataError::Format {
                    file: part.at(0).file.to_string(),
                    message: format!("column `{}`: {m}", FIELDS[k]),
                };
                if k == DATE || k == SYMBOL {
                    Some(read_column(r, &descr, n, k).map_err(fail)?)
                } else {
                    // Numbers go to buffers reused from group to group: fresh memory costs a
                    // page fault per page, more than decoding it.
                    let mut out = std::mem::take(&mut scratch.out[k]);
                    read_numbers(r, &descr, n, &mut scratch.raw, &mut out).map_err(fail)?;
                    Some(Col::F64(out))
                }
            }
        })
    }
    for (k, c) in data.iter().enumerate() {
        let len = match c {
            Some(Col::Day(v, _)) => v.len(),
            Some(Col::Bytes(v)) => v.len(),
            Some(Col::F64(v)) => v.len(),
            None => n,
        };
        if len != n {
            return Err(DataError::Format {
                file: part.at(0).file.to_string(),
                message: format!("column `{}` has {len} values in row group {g}, which has {n} rows", FIELDS[k]),
            });
        }
    }
    let mode = part_prices(part);
    // The price columns as the panel stores them, for the column-wise checks.
    let stored: Vec<Option<Vec<janus_core::Price32>>> = (data.iter().enumerate())
        .map(|(k, c)| match c {
            Some(Col::F64(v)) if crate::bulk::is_price(k) => {
                Some(v.iter().map(|&x| crate::bulk::price(x, mode)).collect())
            }
            _ => None,
        })
        .collect();
    let f64s = |k: usize| match &data[k] {
        Some(Col::F64(v)) => Some(v.as_slice()),
        _ => None,
    };
    let (Some(Col::Day(days, bad_days)), Some(Col::Bytes(syms))) = (&data[DATE], &data[SYMBOL]) else {
        return Ok(());
    };
    let get = |k: usize, r: usize| f64s(k).map_or(f64::NAN, |v| v[r]);
    // Fast path: every number checked column-wise, then dates and symbols row by row.
    if bad_days.is_empty() {
        let prices = |k: usize| stored[k].as_deref();
        if let Some(checked) = crate::bulk::Columns::by_field(prices, f64s).and_then(|c| crate::bulk::check(&c, n)) {
            let mut dates = Vec::with_capacity(n);
            let mut ids = Vec::with_capacity(n);
            for r in 0..n {
                let line = first_row + r as u64;
                let sym = syms[r].as_ref().map_or(&b""[..], |b| b.data());
                let (date, new_day) = part.date(days[r], sym, line)?;
                ids.push(part.symbol(sym, "symbol", new_day, date, line)?);
                dates.push(date);
            }
            part.append(dates, ids, checked, (first_row..first_row + n as u64).collect());
            scratch.keep(data);
            return Ok(());
        }
    }
    // Something is wrong: row by row, to report the first error exactly.
    for r in 0..n {
        let line = first_row + r as u64;
        let sym = syms[r].as_ref().map_or(&b""[..], |b| b.data());
        let d = days[r];
        if d == i32::MIN {
            let raw = bad_days.iter().find(|(x, _)| *x == r).map_or("null".to_string(), |(_, s)| s.clone());
            return Err(part.at(line).err(crate::rows::Kind::Date, "date", raw.as_bytes()));
        }
        let (date, new_day) = part.date(d, sym, line)?;
        let id = part.symbol(sym, "symbol", new_day, date, line)?;
        let at = part.at(line);
        let price = |k: usize| at.price_f64(get(k, r), FIELDS[k], mode);
        let (open, high, low, close) = (price(2)?, price(3)?, price(4)?, price(5)?);
        let show = |v: f64| move || v.to_string();
        let volume = at.non_negative_f64(get(6, r), "volume", show(get(6, r)))?;
        let opt = |k: usize| -> Result<f64, DataError> {
            let v = get(k, r);
            if v.is_nan() {
                Ok(f64::NAN)
            } else {
                at.non_negative_f64(v, FIELDS[k], show(v))
            }
        };
        let mut amount = opt(7)?;
        if amount.is_nan() {
            let vwap = opt(8)?;
            amount = vwap * volume;
        }
        let limit = |k: usize| -> Result<Option<Price>, DataError> {
            let v = get(k, r);
            if v.is_nan() {
                Ok(None)
            } else {
                at.price_f64(v, FIELDS[k], mode).map(Some)
            }
        };
        let (up, down) = (limit(9)?, limit(10)?);
        let flag_of = |k: usize| -> Result<bool, DataError> {
            match get(k, r) {
                v if v.is_nan() || v == 0.0 => Ok(false),
                1.0 => Ok(true),
                v => Err(DataError::BadFlag { at: at.place(), column: FIELDS[k].to_string(), value: v.to_string() }),
            }
        };
        let (paused, st) = (flag_of(11)?, flag_of(12)?);
        let adj = get(13, r);
        if !(adj.is_nan() || adj.is_finite() && adj > 0.0) {
            return Err(DataError::BadFactor { at: at.place(), column: "adj_factor".into(), value: adj.to_string() });
        }
        let bar = Bar { open, high, low, close, volume, amount, up, down, adj, paused, st };
        part.push(date, id, &bar, line)?;
    }
    Ok(())
}

/// Buffers a worker reuses from row group to row group.
#[derive(Default)]
struct Scratch {
    raw: Raw,
    /// Per field: its numbers as f64.
    out: Vec<Vec<f64>>,
}

/// Raw values as the column reader decodes them.
#[derive(Default)]
struct Raw {
    defs: Vec<i16>,
    f64s: Vec<f64>,
    f32s: Vec<f32>,
    i32s: Vec<i32>,
    i64s: Vec<i64>,
    bools: Vec<bool>,
}

impl Scratch {
    /// Take back the number buffers of a row group's columns.
    fn keep(&mut self, data: Vec<Option<Col>>) {
        for (k, c) in data.into_iter().enumerate() {
            if let Some(Col::F64(v)) = c {
                self.out[k] = v;
            }
        }
    }
}

/// Read `n` numbers of one column chunk into `out` as f64, NaN for null.
fn read_numbers(
    r: ColumnReader,
    descr: &ColumnDescriptor,
    n: usize,
    raw: &mut Raw,
    out: &mut Vec<f64>,
) -> Result<(), String> {
    let nullable = descr.max_def_level() > 0;
    raw.defs.clear();
    out.clear();
    let scale = match descr.logical_type() {
        Some(LogicalType::Decimal { scale, .. }) => scale,
        _ => 0,
    };
    let dec = |v: f64| if scale > 0 { v / 10f64.powi(scale) } else { v };
    macro_rules! numbers {
        ($reader:expr, $buf:ident, $conv:expr) => {{
            let mut r = $reader;
            let vals = &mut raw.$buf;
            vals.clear();
            let mut read = 0;
            while read < n {
                let defs = if nullable { Some(&mut raw.defs) } else { None };
                let (recs, _, _) = r.read_records(n - read, defs, None, vals).map_err(|e| e.to_string())?;
                if recs == 0 {
                    break;
                }
                read += recs;
            }
            let conv = $conv;
            if nullable {
                let mut it = vals.iter().copied();
                out.extend(raw.defs.iter().take(n).map(|&d| {
                    if d > 0 {
                        it.next().map_or(f64::NAN, conv)
                    } else {
                        f64::NAN
                    }
                }));
            } else {
                out.extend(vals.iter().copied().map(conv));
            }
        }};
    }
    match r {
        ColumnReader::DoubleColumnReader(r) => numbers!(r, f64s, |x: f64| x),
        ColumnReader::FloatColumnReader(r) => numbers!(r, f32s, f64::from),
        ColumnReader::Int32ColumnReader(r) => numbers!(r, i32s, |x: i32| dec(x as f64)),
        ColumnReader::Int64ColumnReader(r) => numbers!(r, i64s, |x: i64| dec(x as f64)),
        ColumnReader::BoolColumnReader(r) => numbers!(r, bools, |b: bool| b as u8 as f64),
        _ => {
            return Err(format!(
                "type {:?} ({:?}) is not supported here (write numbers as double or integer)",
                descr.physical_type(),
                descr.logical_type()
            ))
        }
    }
    Ok(())
}

fn part_prices(part: &Part) -> PriceMode {
    part.layout().prices
}

fn format_err(part: &Part, e: parquet::errors::ParquetError) -> DataError {
    DataError::Format { file: part.at(0).file.to_string(), message: format!("cannot read Parquet: {e}") }
}

/// Read the `n` dates or symbols of one column chunk, nulls included.
fn read_column(r: ColumnReader, descr: &ColumnDescriptor, n: usize, k: usize) -> Result<Col, String> {
    let nullable = descr.max_def_level() > 0;
    let mut defs: Vec<i16> = Vec::with_capacity(if nullable { n } else { 0 });
    // The non-null values and, for a nullable column, the definition levels.
    macro_rules! raw {
        ($reader:expr, $ty:ty) => {{
            let mut r = $reader;
            let mut vals: Vec<$ty> = Vec::with_capacity(n);
            let mut read = 0;
            while read < n {
                let (recs, _, _) = r
                    .read_records(n - read, if nullable { Some(&mut defs) } else { None }, None, &mut vals)
                    .map_err(|e| e.to_string())?;
                if recs == 0 {
                    break;
                }
                read += recs;
            }
            vals
        }};
    }
    macro_rules! values {
        ($reader:expr, $ty:ty) => {{
            let vals = raw!($reader, $ty);
            spread(vals, nullable.then_some(&defs), n)
        }};
    }
    let logical = descr.logical_type();
    let kind = descr.physical_type();
    let unsupported = || format!("type {kind:?} ({logical:?}) is not supported here");
    if k == SYMBOL {
        return match r {
            ColumnReader::ByteArrayColumnReader(r) => Ok(Col::Bytes(values!(r, ByteArray))),
            _ => Err(format!("{} (write symbols as strings)", unsupported())),
        };
    }
    if k == DATE {
        let mut bad = Vec::new();
        let mut note = |row: usize, text: String| {
            if bad.len() < 16 {
                bad.push((row, text));
            }
            i32::MIN
        };
        let date_kind =
            DateKind::of(descr).ok_or_else(|| format!("{} (write dates as DATE, TIMESTAMP or text)", unsupported()))?;
        let days: Vec<i32> = match r {
            ColumnReader::Int32ColumnReader(r) => {
                let v: Vec<Option<i32>> = values!(r, i32);
                v.into_iter()
                    .enumerate()
                    .map(|(row, x)| match x {
                        Some(x) => date_kind.int(x as i64).unwrap_or_else(|| note(row, x.to_string())),
                        None => note(row, "null".into()),
                    })
                    .collect()
            }
            ColumnReader::Int64ColumnReader(r) => {
                let v: Vec<Option<i64>> = values!(r, i64);
                v.into_iter()
                    .enumerate()
                    .map(|(row, x)| match x {
                        Some(x) => date_kind.int(x).unwrap_or_else(|| note(row, x.to_string())),
                        None => note(row, "null".into()),
                    })
                    .collect()
            }
            ColumnReader::ByteArrayColumnReader(r) => {
                let v: Vec<Option<ByteArray>> = values!(r, ByteArray);
                v.into_iter()
                    .enumerate()
                    .map(|(row, x)| match x {
                        Some(b) => day_of_text(b.data())
                            .unwrap_or_else(|| note(row, String::from_utf8_lossy(b.data()).into_owned())),
                        None => note(row, "null".into()),
                    })
                    .collect()
            }
            _ => return Err(format!("{} (write dates as DATE, TIMESTAMP or text)", unsupported())),
        };
        return Ok(Col::Day(days, bad));
    }
    Err(format!("internal: field {k} is not read as a date or a symbol"))
}

/// Values with their nulls back in place.
fn spread<T>(vals: Vec<T>, defs: Option<&Vec<i16>>, n: usize) -> Vec<Option<T>> {
    match defs {
        None => vals.into_iter().map(Some).collect(),
        Some(defs) => {
            let mut it = vals.into_iter();
            let mut out = Vec::with_capacity(n);
            for &d in defs.iter().take(n) {
                out.push(if d > 0 { it.next() } else { None });
            }
            out
        }
    }
}

/// How the values of a date column become day numbers.
#[derive(Clone, Copy, Debug)]
pub(crate) enum DateKind {
    /// `DATE`: days since 1970-01-01.
    Days,
    /// `TIMESTAMP`: this many units a day since 1970-01-01.
    Timestamp(i64),
    /// Any other integer: `YYYYMMDD`.
    Ymd,
    /// Text: `YYYY-MM-DD` or `YYYYMMDD`, with or without a time after it.
    Text,
}

impl DateKind {
    /// The kind of a date column; `None` for a type dates cannot be written in.
    pub(crate) fn of(descr: &ColumnDescriptor) -> Option<DateKind> {
        let logical = descr.logical_type();
        Some(match descr.physical_type() {
            parquet::basic::Type::INT32 if matches!(logical, Some(LogicalType::Date)) => DateKind::Days,
            parquet::basic::Type::INT64 => match logical {
                Some(LogicalType::Timestamp { unit: TimeUnit::MILLIS(_), .. }) => DateKind::Timestamp(86_400_000),
                Some(LogicalType::Timestamp { unit: TimeUnit::MICROS(_), .. }) => DateKind::Timestamp(86_400_000_000),
                Some(LogicalType::Timestamp { unit: TimeUnit::NANOS(_), .. }) => {
                    DateKind::Timestamp(86_400_000_000_000)
                }
                _ => DateKind::Ymd,
            },
            parquet::basic::Type::INT32 => DateKind::Ymd,
            parquet::basic::Type::BYTE_ARRAY => DateKind::Text,
            _ => return None,
        })
    }

    /// The day number of an integer value (`None`: not a date; never for text).
    pub(crate) fn int(self, x: i64) -> Option<i32> {
        match self {
            DateKind::Days => i32::try_from(x).ok().and_then(|d| EPOCH_DAY.checked_add(d)),
            DateKind::Timestamp(per_day) => {
                i32::try_from(x.div_euclid(per_day)).ok().and_then(|d| EPOCH_DAY.checked_add(d))
            }
            DateKind::Ymd => ymd_int(x),
            DateKind::Text => None,
        }
    }
}

/// The day number of a text date (a time after the date is ignored).
pub(crate) fn day_of_text(b: &[u8]) -> Option<i32> {
    crate::parse::parse_date(b.trim_ascii())
        .or_else(|| crate::parse::parse_date(b.get(..10).unwrap_or(b"")))
        .map(day_number)
}

/// An integer `YYYYMMDD` as a day number.
fn ymd_int(x: i64) -> Option<i32> {
    let (y, m, d) = (x / 10_000, x / 100 % 100, x % 100);
    let date = chrono::NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m as u32, d as u32)?;
    (10_000_000..100_000_000).contains(&x).then(|| day_number(date))
}
