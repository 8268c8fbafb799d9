//! What the direct readers ([`crate::parquet_direct`], [`crate::csv_direct`]) share: they
//! read a file twice, first only its dates and symbols (to learn the panel's shape), then
//! every row straight into its cell, with no row buffers in between (on a large file those
//! buffers cost as much fresh memory as the panel itself).
//!
//! A direct reader accepts exactly what the general reader of its format accepts and builds
//! the same panel; whenever it meets anything else (a bad value, a duplicate, an unsorted
//! row, a calendar mismatch) it gives up, and the general reader reads the file and reports
//! the exact line or row of the error. So nothing here builds an error: `None` means "let the
//! general reader do it".

use crate::assemble::carry_factors;
use crate::bulk::Row;
use crate::calendar::Calendar;
use crate::memory::Span;
use crate::panel::Panel;
use crate::rows::{from_day_number, same, FxMap, Short};
use janus_core::{Board, LimitRules, Price32};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Cells per band: big enough that input sorted by date rarely changes band, small enough
/// that two workers rarely want the same one.
const BAND_CELLS: usize = 1 << 16;

/// The panel's dates and symbols, from the first pass.
pub(crate) struct Shape {
    pub dates: Vec<chrono::NaiveDate>,
    /// Sorted: a symbol's rank is its column.
    pub names: Vec<String>,
    /// Panel day by day number (from `min_date`); `u32::MAX` for a day without bars.
    day_of: Vec<u32>,
    min_date: i32,
}

impl Shape {
    /// The shape of a panel holding `days` (day numbers) and `names`, in any order and with
    /// repeats; `None` if the general reader must decide: no rows, symbols differing only in
    /// case, dates that do not match `calendar`, more cells than a `u32` counts.
    pub(crate) fn new(mut days: Vec<i32>, mut names: Vec<String>, calendar: Option<&Calendar>) -> Option<Shape> {
        days.sort_unstable();
        days.dedup();
        names.sort_unstable();
        names.dedup();
        let (&min_date, &max_date) = (days.first()?, days.last()?);
        let mut lower: Vec<String> = names.iter().map(|s| s.to_lowercase()).collect();
        lower.sort_unstable();
        if lower.windows(2).any(|w| w[0] == w[1]) {
            return None;
        }
        let dates: Vec<chrono::NaiveDate> = days.iter().map(|&d| from_day_number(d)).collect();
        if let Some(cal) = calendar {
            let complete = |first, last| cal.days_between(first, last).all(|(d, _)| dates.binary_search(&d).is_ok());
            if !dates.iter().all(|&d| cal.contains(d)) || !complete(dates[0], dates[dates.len() - 1]) {
                return None;
            }
        }
        dates.len().checked_mul(names.len()).filter(|&n| n <= u32::MAX as usize)?;
        let mut day_of = vec![u32::MAX; (max_date - min_date) as usize + 1];
        for (k, &d) in days.iter().enumerate() {
            day_of[(d - min_date) as usize] = k as u32;
        }
        Some(Shape { dates, names, day_of, min_date })
    }

    /// The panel days from day number `first` to day number `last`, as a range of days (empty
    /// if either is not a day of the panel).
    pub(crate) fn days(&self, first: i32, last: i32) -> Range<usize> {
        let day = |d: i32| Some(*self.day_of.get(usize::try_from(d.checked_sub(self.min_date)?).ok()?)? as usize);
        match (day(first), day(last)) {
            (Some(a), Some(b)) if a <= b && b != u32::MAX as usize => a..b + 1,
            _ => 0..0,
        }
    }

    pub(crate) fn n_cells(&self) -> usize {
        self.dates.len() * self.names.len()
    }

    /// Where rows go.
    pub(crate) fn cells(&self) -> Cells<'_> {
        Cells {
            day_of: &self.day_of,
            min_date: self.min_date,
            n_sym: self.names.len() as u32,
            rank: self.names.iter().enumerate().map(|(k, s)| (s.as_bytes(), k as u32)).collect(),
            names: &self.names,
            shorts: self.names.iter().map(|s| Short::of(s.as_bytes())).collect(),
        }
    }
}

/// Where rows go: panel day of a day number, column of a symbol.
pub(crate) struct Cells<'a> {
    day_of: &'a [u32],
    min_date: i32,
    pub n_sym: u32,
    rank: FxMap<&'a [u8], u32>,
    /// By column: the symbol, and as a [`Short`] (for a row to compare its own with).
    names: &'a [String],
    shorts: Vec<Short>,
}

impl Cells<'_> {
    /// The panel day of day number `d`.
    #[inline]
    pub(crate) fn day(&self, d: i32) -> Option<u32> {
        let k = *self.day_of.get(usize::try_from(d.checked_sub(self.min_date)?).ok()?)?;
        (k != u32::MAX).then_some(k)
    }
    /// The column of a symbol.
    pub(crate) fn rank(&self, name: &[u8]) -> Option<u32> {
        self.rank.get(name).copied()
    }
    /// Whether column `k` is the symbol `name` (whose [`Short`] is `short`).
    #[inline]
    pub(crate) fn is(&self, k: u32, name: &[u8], short: Short) -> bool {
        let k = k as usize;
        self.shorts.get(k).is_some_and(|&s| same(name, short, self.names[k].as_bytes(), s))
    }
}

/// A panel's columns, all zeros, before any row is in. The memory is fresh from the kernel
/// and not yet mapped in: [`Bands::mapping_in`] maps it in, on a thread of its own, while the
/// workers write rows (mapping in is most of the cost of a large panel's memory, and does not
/// get faster on two threads at once).
pub(crate) struct Blank {
    open: Vec<Price32>,
    high: Vec<Price32>,
    low: Vec<Price32>,
    close: Vec<Price32>,
    up: Vec<Price32>,
    down: Vec<Price32>,
    volume: Vec<f64>,
    /// NaN (unknown) in empty cells once finished, as in every panel.
    amount: Vec<f64>,
    flags: Vec<u8>,
    /// Empty when the file has no factors; NaN in empty cells until carried over them.
    adj: Vec<f64>,
}

impl Blank {
    pub(crate) fn new(n_cells: usize, adj: bool) -> Blank {
        use crate::memory::zeroed;
        Blank {
            open: zeroed(n_cells),
            high: zeroed(n_cells),
            low: zeroed(n_cells),
            close: zeroed(n_cells),
            up: zeroed(n_cells),
            down: zeroed(n_cells),
            volume: zeroed(n_cells),
            amount: zeroed(n_cells),
            flags: zeroed(n_cells),
            adj: if adj { zeroed(n_cells) } else { Vec::new() },
        }
    }

    /// The columns cut into bands of whole days (`n_sym` cells a day), each behind its lock.
    pub(crate) fn bands(&mut self, n_sym: usize) -> Bands<'_> {
        let n_sym = n_sym.max(1);
        let per_band = (BAND_CELLS / n_sym).max(1) * n_sym;
        let memory = [
            Span::of(&self.open),
            Span::of(&self.high),
            Span::of(&self.low),
            Span::of(&self.close),
            Span::of(&self.up),
            Span::of(&self.down),
            Span::of(&self.volume),
            Span::of(&self.amount),
            Span::of(&self.flags),
            Span::of(&self.adj),
        ];
        let mut adj = self.adj.chunks_mut(per_band);
        let bands = self
            .open
            .chunks_mut(per_band)
            .zip(self.high.chunks_mut(per_band))
            .zip(self.low.chunks_mut(per_band))
            .zip(self.close.chunks_mut(per_band))
            .zip(self.up.chunks_mut(per_band))
            .zip(self.down.chunks_mut(per_band))
            .zip(self.volume.chunks_mut(per_band))
            .zip(self.amount.chunks_mut(per_band))
            .zip(self.flags.chunks_mut(per_band))
            .map(|((((((((open, high), low), close), up), down), volume), amount), flags)| {
                let adj = adj.next().unwrap_or_default();
                Mutex::new(Band { open, high, low, close, up, down, volume, amount, flags, adj })
            })
            .collect();
        Bands { bands, per_band, n_sym, memory }
    }

    /// Whether every day and every symbol (`n_sym` a day) has a bar.
    pub(crate) fn every_day_and_symbol_has_a_bar(&self, n_sym: usize) -> bool {
        let mut symbol_has = vec![0u8; n_sym];
        for day in self.flags.chunks(n_sym.max(1)) {
            let mut day_has = 0;
            for (s, f) in symbol_has.iter_mut().zip(day) {
                *s |= f;
                day_has |= f;
            }
            if day_has == 0 {
                return false;
            }
        }
        symbol_has.iter().all(|&s| s != 0)
    }

    /// The panel, factors carried over empty cells and limits derived with `rules`.
    pub(crate) fn finish(mut self, shape: Shape, rules: &LimitRules) -> Panel {
        // Empty cells: amount unknown, factor to be carried over them.
        for (k, _) in self.flags.iter().enumerate().filter(|(_, f)| **f == 0) {
            self.amount[k] = f64::NAN;
            if let Some(a) = self.adj.get_mut(k) {
                *a = f64::NAN;
            }
        }
        if !self.adj.is_empty() {
            carry_factors(&mut self.adj, shape.names.len());
        }
        let boards = shape.names.iter().map(|s| Board::from_symbol(s)).collect();
        let mut p = Panel {
            dates: shape.dates,
            symbols: shape.names,
            boards,
            open: self.open,
            high: self.high,
            low: self.low,
            close: self.close,
            volume: self.volume,
            amount: self.amount,
            limit_up: self.up,
            limit_down: self.down,
            flags: self.flags,
            adj_factor: self.adj,
            actions: Vec::new(),
        };
        p.derive_limits(rules);
        p
    }
}

/// The panel's columns over a run of days.
struct Band<'a> {
    open: &'a mut [Price32],
    high: &'a mut [Price32],
    low: &'a mut [Price32],
    close: &'a mut [Price32],
    up: &'a mut [Price32],
    down: &'a mut [Price32],
    volume: &'a mut [f64],
    amount: &'a mut [f64],
    flags: &'a mut [u8],
    adj: &'a mut [f64],
}

/// A blank panel cut into bands, for workers to write disjoint parts of it without `unsafe`.
pub(crate) struct Bands<'a> {
    bands: Vec<Mutex<Band<'a>>>,
    per_band: usize,
    n_sym: usize,
    /// Where each column's memory is, to map it in.
    memory: [Span; 10],
}

impl<'a> Bands<'a> {
    /// A worker's handle: it holds one band's lock at a time.
    pub(crate) fn writer(&self) -> Writer<'_, 'a> {
        Writer { bands: self, held: None }
    }

    /// Run `work` while another thread maps in the panel's memory: the days of each range of
    /// `order` in turn, which should be the order the workers write them in. A band the
    /// workers reach first is mapped in by their writes.
    pub(crate) fn mapping_in<R>(&self, order: &[Range<usize>], work: impl FnOnce() -> R) -> R {
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            let stop = &stop;
            s.spawn(move || {
                let mut done = vec![false; self.bands.len()];
                for days in order {
                    let cells = days.start * self.n_sym..days.end * self.n_sym;
                    for b in cells.start / self.per_band..cells.end.div_ceil(self.per_band) {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let Some(d) = done.get_mut(b).filter(|d| !**d) else { continue };
                        *d = true;
                        for m in &self.memory {
                            m.map_in(b * self.per_band..(b + 1) * self.per_band);
                        }
                    }
                }
            });
            let r = work();
            stop.store(true, Ordering::Relaxed);
            r
        })
    }
}

pub(crate) struct Writer<'b, 'a> {
    bands: &'b Bands<'a>,
    held: Option<(usize, MutexGuard<'b, Band<'a>>)>,
}

impl Writer<'_, '_> {
    /// Write a checked row to its cell; `None` if the cell has one already (a duplicate).
    #[inline]
    pub(crate) fn put(&mut self, cell: usize, row: &Row) -> Option<()> {
        let b = cell / self.bands.per_band;
        if !matches!(&self.held, Some((h, _)) if *h == b) {
            // Release the last band before taking the next: no worker waits holding a lock.
            self.held = None;
            self.held = Some((b, self.bands.bands.get(b)?.lock().ok()?));
        }
        let (_, band) = self.held.as_mut()?;
        let k = cell - b * self.bands.per_band;
        if *band.flags.get(k)? != 0 {
            return None;
        }
        band.flags[k] = row.flags;
        band.open[k] = row.open;
        band.high[k] = row.high;
        band.low[k] = row.low;
        band.close[k] = row.close;
        band.up[k] = row.limit_up;
        band.down[k] = row.limit_down;
        band.volume[k] = row.volume;
        band.amount[k] = row.amount;
        if let Some(a) = band.adj.get_mut(k) {
            *a = row.adj;
        }
        Some(())
    }
}

/// Assert two panels are the same, field for field (NaNs equal).
#[cfg(test)]
pub(crate) fn assert_same(a: &Panel, b: &Panel, what: &str) {
    let bits = |v: &[f64]| v.iter().map(|x| if x.is_nan() { u64::MAX } else { x.to_bits() }).collect::<Vec<_>>();
    assert_eq!((&a.dates, &a.symbols, &a.boards), (&b.dates, &b.symbols, &b.boards), "{what}");
    assert_eq!((&a.open, &a.high, &a.low, &a.close), (&b.open, &b.high, &b.low, &b.close), "{what}");
    assert_eq!((&a.limit_up, &a.limit_down, &a.flags), (&b.limit_up, &b.limit_down, &b.flags), "{what}");
    assert_eq!(bits(&a.volume), bits(&b.volume), "{what}");
    assert_eq!(bits(&a.amount), bits(&b.amount), "{what}");
    assert_eq!(bits(&a.adj_factor), bits(&b.adj_factor), "{what}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_or_a_symbol_without_a_bar_is_found() {
        // Three days of two symbols; `bars` are the cells that hold one.
        let covered = |bars: &[usize]| {
            let mut blank = Blank::new(6, false);
            for &k in bars {
                blank.flags[k] = crate::panel::flag::PRESENT;
            }
            blank.every_day_and_symbol_has_a_bar(2)
        };
        assert!(covered(&[0, 3, 4]));
        assert!(covered(&[0, 1, 2, 3, 4, 5]));
        assert!(!covered(&[0, 2, 4]), "the second symbol has no bar");
        assert!(!covered(&[0, 1, 5]), "the second day has no bar");
        assert!(!covered(&[]));
    }
}
