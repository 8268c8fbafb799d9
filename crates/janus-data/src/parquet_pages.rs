//! Parquet column chunks decoded page by page, for the direct reader ([`crate::parquet_direct`]):
//! the page reader of the `parquet` crate hands over decompressed pages, and the values are
//! taken from them here without the crate's record machinery (which copies every value through
//! its own buffers, and every string into an owned buffer).
//!
//! Only flat columns (no repetition, at most one definition level) in the encodings the
//! common writers use are read: `PLAIN`, `PLAIN_DICTIONARY`/`RLE_DICTIONARY` (with a `PLAIN`
//! fallback after a full dictionary) and `RLE` booleans, in data pages v1 and v2. Anything
//! else (or anything malformed) gives `None`, and the caller reads the file with the crate's
//! column readers instead, which also report errors exactly.

use bytes::Bytes;
use parquet::basic::{Encoding, LogicalType, Type as Physical};
use parquet::column::page::{Page, PageReader};
use parquet::schema::types::ColumnDescriptor;

/// Buffers reused from column to column.
#[derive(Default)]
pub(crate) struct Scratch {
    defs: Vec<u32>,
    index: Vec<u32>,
}

/// How a column's numbers become f64, as the row reader converts them.
#[derive(Clone, Copy)]
struct Convert {
    physical: Physical,
    /// Decimal scale of integer columns (0: none).
    scale: i32,
}

impl Convert {
    fn of(descr: &ColumnDescriptor) -> Option<Convert> {
        let physical = descr.physical_type();
        if !matches!(
            physical,
            Physical::BOOLEAN | Physical::INT32 | Physical::INT64 | Physical::FLOAT | Physical::DOUBLE
        ) {
            return None;
        }
        let scale = match descr.logical_type() {
            Some(LogicalType::Decimal { scale, .. }) => scale,
            _ => 0,
        };
        Some(Convert { physical, scale })
    }

    #[inline]
    fn int(self, x: f64) -> f64 {
        if self.scale > 0 {
            x / 10f64.powi(self.scale)
        } else {
            x
        }
    }

    /// `count` PLAIN values from `buf`, each turned by `to`, appended to `out`.
    fn plain<T>(self, buf: &[u8], count: usize, to: impl Fn(f64) -> T, out: &mut Vec<T>) -> Option<()> {
        match self.physical {
            Physical::DOUBLE => out.extend(fixed(buf, count)?.map(|b| to(f64::from_le_bytes(b)))),
            Physical::FLOAT => out.extend(fixed(buf, count)?.map(|b| to(f64::from(f32::from_le_bytes(b))))),
            Physical::INT32 => out.extend(fixed(buf, count)?.map(|b| to(self.int(i32::from_le_bytes(b) as f64)))),
            Physical::INT64 => out.extend(fixed(buf, count)?.map(|b| to(self.int(i64::from_le_bytes(b) as f64)))),
            Physical::BOOLEAN => {
                let b = buf.get(..count.div_ceil(8))?;
                out.extend((0..count).map(|i| to(((b[i / 8] >> (i % 8)) & 1) as f64)));
            }
            _ => return None,
        }
        Some(())
    }
}

/// A data page's value bytes, their encoding and its number of slots (values and nulls).
struct DataPage<'a> {
    values: &'a [u8],
    encoding: Encoding,
    slots: usize,
    /// Non-null slots.
    present: usize,
}

/// Split a data page into levels and values; the levels of a nullable column go to `defs`
/// (1 present, 0 null). A page of more than `left` slots (the rows left in the chunk) is
/// corrupt, and must not size a buffer.
fn data_page<'a>(page: &'a Page, nullable: bool, left: usize, defs: &mut Vec<u32>) -> Option<DataPage<'a>> {
    defs.clear();
    let slots = match page {
        Page::DataPage { num_values, .. } | Page::DataPageV2 { num_values, .. } => *num_values as usize,
        Page::DictionaryPage { .. } => return None,
    };
    if slots > left {
        return None;
    }
    let (values, encoding) = match page {
        Page::DataPage { buf, encoding, def_level_encoding, .. } => {
            if !nullable {
                (&buf[..], *encoding)
            } else if *def_level_encoding == Encoding::RLE {
                let (levels, values) = length_prefixed(buf)?;
                Hybrid::new(levels, 1).read(slots, defs)?;
                (values, *encoding)
            } else {
                return None;
            }
        }
        Page::DataPageV2 { buf, encoding, def_levels_byte_len, rep_levels_byte_len, .. } => {
            if *rep_levels_byte_len != 0 {
                return None;
            }
            let len = *def_levels_byte_len as usize;
            if nullable {
                Hybrid::new(buf.get(..len)?, 1).read(slots, defs)?;
            }
            (buf.get(len..)?, *encoding)
        }
        Page::DictionaryPage { .. } => return None,
    };
    let present = if nullable { defs.iter().filter(|&&d| d == 1).count() } else { slots };
    if nullable && defs.iter().any(|&d| d > 1) {
        return None;
    }
    Some(DataPage { values, encoding, slots, present })
}

/// A flat column: no repetition, at most one definition level.
fn flat(descr: &ColumnDescriptor) -> Option<bool> {
    (descr.max_rep_level() == 0 && descr.max_def_level() <= 1).then_some(descr.max_def_level() == 1)
}

/// Read a numeric column chunk of `n` rows into `out` as f64, NaN for null: the values the
/// row reader gives. `None` for an encoding or type this reader does not handle.
pub(crate) fn read_f64(
    pages: &mut dyn PageReader,
    descr: &ColumnDescriptor,
    n: usize,
    s: &mut Scratch,
    out: &mut Vec<f64>,
) -> Option<()> {
    read_as(pages, descr, n, s, |x| x, f64::NAN, out)
}

/// [`read_f64`], each value then turned into a `T` by `to`, `null` for null. A dictionary's
/// values are turned once each, not once a row.
pub(crate) fn read_as<T: Copy>(
    pages: &mut dyn PageReader,
    descr: &ColumnDescriptor,
    n: usize,
    s: &mut Scratch,
    to: impl Fn(f64) -> T,
    null: T,
    out: &mut Vec<T>,
) -> Option<()> {
    let nullable = flat(descr)?;
    let conv = Convert::of(descr)?;
    out.clear();
    out.reserve(n);
    let mut dict: Option<Vec<T>> = None;
    let mut values: Vec<T> = Vec::new();
    while let Some(page) = pages.get_next_page().ok()? {
        if let Page::DictionaryPage { buf, num_values, encoding, .. } = &page {
            if dict.is_some() || !matches!(encoding, Encoding::PLAIN | Encoding::PLAIN_DICTIONARY) {
                return None;
            }
            let mut values = Vec::with_capacity(*num_values as usize);
            conv.plain(buf, *num_values as usize, &to, &mut values)?;
            dict = Some(values);
            continue;
        }
        let p = data_page(&page, nullable, n - out.len(), &mut s.defs)?;
        // A required column's values go straight to `out`; a nullable one's first to
        // `values`, then to `out` with the nulls in place.
        let before = out.len();
        let into = if nullable {
            values.clear();
            &mut values
        } else {
            &mut *out
        };
        match (p.encoding, &dict) {
            (Encoding::PLAIN, _) => conv.plain(p.values, p.present, &to, into)?,
            (Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY, Some(dict)) => {
                s.index.clear();
                dictionary_indices(p.values, p.present, dict.len(), &mut s.index)?;
                into.extend(s.index.iter().map(|&i| dict[i as usize]));
            }
            (Encoding::RLE, _) if conv.physical == Physical::BOOLEAN => {
                s.index.clear();
                Hybrid::new(length_prefixed(p.values)?.0, 1).read(p.present, &mut s.index)?;
                into.extend(s.index.iter().map(|&b| to(b as f64)));
            }
            _ => return None,
        }
        if nullable {
            with_nulls(&s.defs, &values, null, out)?;
        } else if out.len() - before != p.slots {
            return None;
        }
    }
    (out.len() == n).then_some(())
}

/// The distinct values of a key column (date, symbol) and, for each row, which one it holds.
#[derive(Default)]
pub(crate) struct Keys {
    /// Integer keys (INT32, INT64 columns).
    pub ints: Vec<i64>,
    /// Text keys (BYTE_ARRAY columns).
    pub texts: Vec<Bytes>,
    /// Per row: an index into `ints` or `texts`; [`NULL`] for a null.
    pub rows: Vec<u32>,
}

/// A null key in [`Keys::rows`].
pub(crate) const NULL: u32 = u32::MAX;

impl Keys {
    fn len(&self) -> usize {
        self.ints.len() + self.texts.len()
    }

    /// `count` PLAIN values appended as keys.
    fn plain(&mut self, physical: Physical, buf: &Bytes, count: usize) -> Option<()> {
        match physical {
            Physical::INT32 => self.ints.extend(fixed(buf, count)?.map(|b| i32::from_le_bytes(b) as i64)),
            Physical::INT64 => self.ints.extend(fixed(buf, count)?.map(i64::from_le_bytes)),
            Physical::BYTE_ARRAY => {
                let mut at = 0usize;
                for _ in 0..count {
                    let len = le_u32(buf.get(at..)?)?;
                    let end = (at + 4).checked_add(len).filter(|&e| e <= buf.len())?;
                    self.texts.push(buf.slice(at + 4..end));
                    at = end;
                }
            }
            _ => return None,
        }
        Some(())
    }
}

/// Only the dictionary of a key column chunk (INT32, INT64 or BYTE_ARRAY) as its keys, with
/// no rows: `Some(false)` when the chunk does not start with a dictionary page.
pub(crate) fn read_key_dictionary(
    pages: &mut dyn PageReader,
    descr: &ColumnDescriptor,
    keys: &mut Keys,
) -> Option<bool> {
    flat(descr)?;
    keys.ints.clear();
    keys.texts.clear();
    keys.rows.clear();
    match pages.get_next_page().ok()? {
        Some(Page::DictionaryPage {
            buf, num_values, encoding: Encoding::PLAIN | Encoding::PLAIN_DICTIONARY, ..
        }) => {
            keys.plain(descr.physical_type(), &buf, num_values as usize)?;
            Some(true)
        }
        _ => Some(false),
    }
}

/// Read a key column chunk of `n` rows (INT32, INT64 or BYTE_ARRAY). A dictionary becomes the
/// first keys; values of plain pages are appended, one key per row.
pub(crate) fn read_keys(
    pages: &mut dyn PageReader,
    descr: &ColumnDescriptor,
    n: usize,
    s: &mut Scratch,
    keys: &mut Keys,
) -> Option<()> {
    let nullable = flat(descr)?;
    let physical = descr.physical_type();
    keys.ints.clear();
    keys.texts.clear();
    keys.rows.clear();
    keys.rows.reserve(n);
    let mut dict_len = None;
    while let Some(page) = pages.get_next_page().ok()? {
        if let Page::DictionaryPage { buf, num_values, encoding, .. } = &page {
            if dict_len.is_some() || keys.len() > 0 || !matches!(encoding, Encoding::PLAIN | Encoding::PLAIN_DICTIONARY)
            {
                return None;
            }
            keys.plain(physical, buf, *num_values as usize)?;
            dict_len = Some(keys.len());
            continue;
        }
        let p = data_page(&page, nullable, n - keys.rows.len(), &mut s.defs)?;
        s.index.clear();
        match p.encoding {
            Encoding::PLAIN => {
                let base = keys.len() as u32;
                let (Page::DataPage { buf, .. } | Page::DataPageV2 { buf, .. }) = &page else { return None };
                // The values are the tail of the page buffer: slice it so text keys share it.
                let start = buf.len() - p.values.len();
                keys.plain(physical, &buf.slice(start..), p.present)?;
                s.index.extend((0..p.present as u32).map(|i| base + i));
            }
            Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY => {
                dictionary_indices(p.values, p.present, dict_len?, &mut s.index)?;
            }
            _ => return None,
        }
        if nullable {
            with_nulls(&s.defs, &s.index, NULL, &mut keys.rows)?;
        } else {
            keys.rows.extend_from_slice(s.index.get(..p.slots)?);
        }
    }
    (keys.rows.len() == n).then_some(())
}

/// `count` fixed-size little-endian values at the start of `buf`, as byte arrays; `None` if
/// `buf` is too short.
fn fixed<const N: usize>(buf: &[u8], count: usize) -> Option<impl Iterator<Item = [u8; N]> + '_> {
    let bytes = buf.get(..count.checked_mul(N)?)?;
    Some(bytes.chunks_exact(N).map(|c| c.try_into().unwrap_or([0; N])))
}

/// A little-endian `u32` at the start of `buf` (a length prefix).
fn le_u32(buf: &[u8]) -> Option<usize> {
    Some(u32::from_le_bytes(buf.get(..4)?.try_into().ok()?) as usize)
}

/// The body of a run prefixed with its 4-byte length, and what follows it.
fn length_prefixed(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = le_u32(buf)?;
    Some((buf.get(4..4usize.checked_add(len)?)?, buf.get(4 + len..)?))
}

/// The `count` dictionary indices of a dictionary-encoded page (one byte of bit width, then
/// the hybrid encoding), appended to `out`; `None` if one is outside a dictionary of `len`.
fn dictionary_indices(values: &[u8], count: usize, len: usize, out: &mut Vec<u32>) -> Option<()> {
    let (&width, rest) = values.split_first()?;
    let start = out.len();
    Hybrid::new(rest, width as u32).read(count, out)?;
    out[start..].iter().all(|&i| (i as usize) < len).then_some(())
}

/// The values of a nullable column's page with its nulls in place: `null` where the level is 0.
fn with_nulls<T: Copy>(defs: &[u32], values: &[T], null: T, out: &mut Vec<T>) -> Option<()> {
    let mut it = values.iter();
    for &d in defs {
        out.push(if d == 1 { *it.next()? } else { null });
    }
    Some(())
}

/// The RLE / bit-packing hybrid encoding of Parquet's levels and dictionary indices.
struct Hybrid<'a> {
    buf: &'a [u8],
    at: usize,
    width: u32,
}

impl<'a> Hybrid<'a> {
    fn new(buf: &'a [u8], width: u32) -> Self {
        Hybrid { buf, at: 0, width }
    }

    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.at)?;
            self.at += 1;
            v |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    /// Append the next `n` values to `out`; `None` if the data ends early or is malformed.
    fn read(&mut self, n: usize, out: &mut Vec<u32>) -> Option<()> {
        if self.width > 32 {
            return None;
        }
        let width = self.width as usize;
        let mask = if width == 32 { u32::MAX } else { (1u32 << width) - 1 };
        let start = out.len();
        out.resize(start + n, 0);
        let dst = &mut out[start..];
        let mut at = 0;
        while at < n {
            let header = self.varint()?;
            let count = usize::try_from(header >> 1).ok()?;
            if header & 1 == 0 {
                // A run of one value, in the fewest whole bytes.
                let bytes = width.div_ceil(8);
                let raw = self.buf.get(self.at..self.at + bytes)?;
                self.at += bytes;
                let mut w = [0u8; 4];
                w[..bytes].copy_from_slice(raw);
                let value = u32::from_le_bytes(w);
                if count == 0 || value > mask {
                    return None;
                }
                let take = count.min(n - at);
                dst[at..at + take].fill(value);
                at += take;
            } else {
                // Groups of eight values, `width` bits each, least significant bit first: a
                // group is `width` bytes.
                let bytes = count.checked_mul(width)?;
                let data = self.buf.get(self.at..self.at.checked_add(bytes)?)?;
                self.at += bytes;
                let take = count.checked_mul(8)?.min(n - at);
                UNPACK[width](data, &mut dst[at..at + take]);
                at += take;
            }
        }
        Some(())
    }
}

/// Unpack a group of eight `W`-bit values (`W` bytes) into `o` (the first `o.len()` of them),
/// the width known at compile time so the shifts are constants.
fn unpack<const W: usize>(group: &[u8], o: &mut [u32]) {
    let mut w = [0u8; 32];
    w[..W].copy_from_slice(&group[..W]);
    let lo = u128::from_le_bytes(w[..16].try_into().unwrap_or([0; 16]));
    let hi = u128::from_le_bytes(w[16..].try_into().unwrap_or([0; 16]));
    let mask = if W == 32 { u32::MAX } else { (1u32 << W) - 1 };
    for (j, v) in o.iter_mut().enumerate() {
        let bit = j * W;
        let x = if bit >= 128 {
            hi >> (bit - 128)
        } else if bit + W <= 128 {
            lo >> bit
        } else {
            (lo >> bit) | (hi << (128 - bit))
        };
        *v = x as u32 & mask;
    }
}

/// Unpack a run of groups of eight `W`-bit values (`W` bytes a group) into `o`: one call
/// a run, not a group, so the loop over the groups is compiled for each width. Each value is
/// one 8-byte load, shift and mask while 8 bytes past the group are in `data`; the last groups
/// go through [`unpack`].
fn unpack_run<const W: usize>(data: &[u8], o: &mut [u32]) {
    if W == 0 {
        return;
    }
    let mask = if W == 32 { u32::MAX } else { (1u32 << W) - 1 };
    for (g, o) in o.chunks_mut(8).enumerate() {
        let at = g * W;
        match data.get(at..at + W + 8) {
            Some(group) if o.len() == 8 => {
                for (j, v) in o.iter_mut().enumerate() {
                    let bit = j * W;
                    let word: [u8; 8] = group[bit / 8..bit / 8 + 8].try_into().unwrap_or([0; 8]);
                    *v = (u64::from_le_bytes(word) >> (bit % 8)) as u32 & mask;
                }
            }
            _ => match data.get(at..at + W) {
                Some(group) => unpack::<W>(group, o),
                None => return,
            },
        }
    }
}

/// Unpacks a run of groups of eight values into a slice.
type Unpack = fn(&[u8], &mut [u32]);

/// [`unpack_run`] by width (`0` unpacks nothing).
const UNPACK: [Unpack; 33] = [
    unpack_run::<0>,
    unpack_run::<1>,
    unpack_run::<2>,
    unpack_run::<3>,
    unpack_run::<4>,
    unpack_run::<5>,
    unpack_run::<6>,
    unpack_run::<7>,
    unpack_run::<8>,
    unpack_run::<9>,
    unpack_run::<10>,
    unpack_run::<11>,
    unpack_run::<12>,
    unpack_run::<13>,
    unpack_run::<14>,
    unpack_run::<15>,
    unpack_run::<16>,
    unpack_run::<17>,
    unpack_run::<18>,
    unpack_run::<19>,
    unpack_run::<20>,
    unpack_run::<21>,
    unpack_run::<22>,
    unpack_run::<23>,
    unpack_run::<24>,
    unpack_run::<25>,
    unpack_run::<26>,
    unpack_run::<27>,
    unpack_run::<28>,
    unpack_run::<29>,
    unpack_run::<30>,
    unpack_run::<31>,
    unpack_run::<32>,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Values packed as the spec describes, for the tests.
    fn pack(values: &[u32], width: usize) -> Vec<u8> {
        let mut out = vec![0u8; (values.len() * width).div_ceil(8)];
        for (i, &v) in values.iter().enumerate() {
            for b in 0..width {
                if v >> b & 1 == 1 {
                    let bit = i * width + b;
                    out[bit / 8] |= 1 << (bit % 8);
                }
            }
        }
        out
    }

    #[test]
    fn hybrid_reads_runs_and_bit_packed_groups_of_every_width() {
        for width in [0usize, 1, 2, 3, 7, 8, 9, 13, 16, 17, 31, 32] {
            let max = if width == 32 { u32::MAX as u64 } else { (1u64 << width) - 1 };
            let packed: Vec<u32> = (0..24u64).map(|i| ((i * 2_654_435_761) & max) as u32).collect();
            let repeated = (5u64 & max) as u32;
            let mut buf = Vec::new();
            // An RLE run of 10, then three groups of eight bit-packed values.
            buf.push(10 << 1);
            buf.extend_from_slice(&repeated.to_le_bytes()[..width.div_ceil(8)]);
            buf.push((3 << 1) | 1);
            buf.extend(pack(&packed, width));
            let mut out = Vec::new();
            // Fewer than all: the tail of the last group is padding.
            Hybrid::new(&buf, width as u32).read(10 + 20, &mut out).unwrap();
            let mut want = vec![repeated; 10];
            want.extend_from_slice(&packed[..20]);
            assert_eq!(out, want, "width {width}");
        }
    }

    proptest::proptest! {
        /// Runs of bit-packed groups of any width and length, read in full or in part, with
        /// bytes after them: the values packed, whichever way each group is unpacked.
        #[test]
        fn bit_packed_runs_read_back_at_every_width(
            width in 0usize..=32,
            seeds in proptest::collection::vec(proptest::num::u32::ANY, 1..200),
            cut in 0usize..8,
            tail in proptest::collection::vec(proptest::num::u8::ANY, 0..12),
        ) {
            let mask = if width == 32 { u32::MAX } else { (1u32 << width) - 1 };
            let groups = seeds.len().div_ceil(8);
            let values: Vec<u32> = (0..groups * 8).map(|i| seeds.get(i).map_or(0, |v| v & mask)).collect();
            let mut buf = vec![((groups << 1) | 1) as u8];
            if groups >= 64 {
                // A two-byte varint header.
                buf = vec![(((groups << 1) | 1) & 0x7f) as u8 | 0x80, ((groups << 1) >> 7) as u8];
            }
            buf.extend(pack(&values, width));
            buf.extend(&tail);
            let n = (groups * 8).saturating_sub(cut).max(1);
            let mut out = vec![7];
            Hybrid::new(&buf, width as u32).read(n, &mut out).unwrap();
            proptest::prop_assert_eq!(&out[1..], &values[..n]);
        }
    }

    #[test]
    fn hybrid_refuses_data_that_ends_early_or_is_too_wide() {
        let mut out = Vec::new();
        assert!(Hybrid::new(&[(2 << 1) | 1, 0xff], 3).read(16, &mut out).is_none(), "group cut short");
        assert!(Hybrid::new(&[4 << 1], 8).read(4, &mut out).is_none(), "run value missing");
        assert!(Hybrid::new(&[], 1).read(1, &mut out).is_none(), "nothing at all");
        assert!(Hybrid::new(&[2, 1], 33).read(1, &mut out).is_none(), "wider than 32 bits");
        assert!(Hybrid::new(&[0x80], 1).read(1, &mut out).is_none(), "unfinished varint");
    }
}
