//! Column-wise checks for columnar input (Parquet): a whole row group's numbers checked in
//! tight loops over its columns and appended to a [`crate::rows::Part`] at once. The checks
//! are the ones a row goes through (prices positive and on the tick, bars consistent, limits
//! not crossed, volumes, amounts, flags and factors valid); on the first value that fails, the
//! caller reads the group again row by row, which reports the exact error at its row.

use crate::panel::flag;
use crate::values::{units_of, PriceMode};
use janus_core::Price;

/// The numeric columns of a row group: prices as [`units`], the others NaN for null; `None`
/// for a column the file lacks.
pub(crate) struct Columns<'a> {
    pub open: &'a [i64],
    pub high: &'a [i64],
    pub low: &'a [i64],
    pub close: &'a [i64],
    pub volume: &'a [f64],
    pub amount: Option<&'a [f64]>,
    pub vwap: Option<&'a [f64]>,
    pub limit_up: Option<&'a [i64]>,
    pub limit_down: Option<&'a [i64]>,
    pub paused: Option<&'a [f64]>,
    pub is_st: Option<&'a [f64]>,
    pub adj: Option<&'a [f64]>,
}

/// The fields (numbered as in [`crate::parquet_bars`]) read as prices, in [`units`].
pub(crate) fn is_price(field: usize) -> bool {
    matches!(field, 2..=5 | 9 | 10)
}

/// [`units`] of a null (NaN) price. No accepted price is zero.
pub(crate) const NULL_UNITS: i64 = 0;
/// [`units`] of a price [`units_of`] refuses.
pub(crate) const BAD_UNITS: i64 = -1;

/// A price as its units of 0.0001 CNY if [`units_of`] accepts it, [`NULL_UNITS`] for null,
/// [`BAD_UNITS`] for a value it refuses: a price column is turned once, and a dictionary's
/// values once each, not once a row.
#[inline]
pub(crate) fn units(v: f64, mode: PriceMode) -> i64 {
    if v.is_nan() {
        NULL_UNITS
    } else {
        units_of(v, mode).unwrap_or(BAD_UNITS)
    }
}

impl<'a> Columns<'a> {
    /// The numeric columns by field number (open 2, high 3, ... adj_factor 13, as in
    /// [`crate::parquet_bars`]): prices from `price`, the others from `number`; `None` if a
    /// required one (a price, volume) is missing.
    pub(crate) fn by_field(
        price: impl Fn(usize) -> Option<&'a [i64]>,
        number: impl Fn(usize) -> Option<&'a [f64]>,
    ) -> Option<Self> {
        Some(Columns {
            open: price(2)?,
            high: price(3)?,
            low: price(4)?,
            close: price(5)?,
            volume: number(6)?,
            amount: number(7),
            vwap: number(8),
            limit_up: price(9),
            limit_down: price(10),
            paused: number(11),
            is_st: number(12),
            adj: number(13),
        })
    }
}

/// A row group's checked values, ready for the panel.
pub(crate) struct Checked {
    pub open: Vec<Price>,
    pub high: Vec<Price>,
    pub low: Vec<Price>,
    pub close: Vec<Price>,
    pub volume: Vec<f64>,
    pub amount: Vec<f64>,
    /// Empty unless the file has both limit columns.
    pub limit_up: Vec<Price>,
    pub limit_down: Vec<Price>,
    pub flags: Vec<u8>,
    /// Empty unless the file has a factor column; NaN carries the previous factor.
    pub adj: Vec<f64>,
}

/// One row's checked values.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Row {
    pub open: Price,
    pub high: Price,
    pub low: Price,
    pub close: Price,
    pub volume: f64,
    pub amount: f64,
    /// `Price::ZERO` unless the row has both limits.
    pub limit_up: Price,
    pub limit_down: Price,
    pub flags: u8,
    /// NaN when the row has no factor (or the file no factor column).
    pub adj: f64,
}

/// Check row `r`; `None` if one of its values would be refused. Both limit columns or none:
/// the caller refuses a lone one.
#[inline]
pub(crate) fn check_row(c: &Columns<'_>, r: usize) -> Option<Row> {
    let price = |v: &[i64]| (v[r] > 0).then_some(Price(v[r]));
    let (open, high, low, close) = (price(c.open)?, price(c.high)?, price(c.low)?, price(c.close)?);
    if !(low <= high && low <= open && open <= high && low <= close && close <= high) {
        return None;
    }
    let non_negative = |v: f64| v.is_finite() && v >= 0.0;
    let volume = c.volume[r] + 0.0;
    if !non_negative(volume) {
        return None;
    }
    let optional = |v: Option<&[f64]>| v.map_or(f64::NAN, |v| v[r]);
    let (amount, vwap) = (optional(c.amount), optional(c.vwap));
    if !(amount.is_nan() || non_negative(amount)) || !(vwap.is_nan() || non_negative(vwap)) {
        return None;
    }
    let amount = if amount.is_nan() { vwap * volume } else { amount + 0.0 };
    let flag = |v: Option<&[f64]>| match v.map_or(0.0, |v| v[r]) {
        x if x.is_nan() || x == 0.0 => Some(false),
        1.0 => Some(true),
        _ => None,
    };
    let (paused, st) = (flag(c.paused)?, flag(c.is_st)?);
    let mut flags = flag::PRESENT;
    if paused || volume == 0.0 {
        flags |= flag::PAUSED;
    }
    if st {
        flags |= flag::ST;
    }
    let (mut limit_up, mut limit_down) = (Price::ZERO, Price::ZERO);
    if let (Some(up), Some(down)) = (c.limit_up, c.limit_down) {
        // A lone limit is checked but does not count, as in a CSV row.
        let limit = |u: i64| match u {
            NULL_UNITS => Some(None),
            u => (u > 0).then_some(Some(Price(u))),
        };
        if let (Some(u), Some(d)) = (limit(up[r])?, limit(down[r])?) {
            if d > u || high > u || low < d {
                return None;
            }
            flags |= flag::EXPLICIT_LIMITS;
            (limit_up, limit_down) = (u, d);
        }
    }
    let adj = c.adj.map_or(f64::NAN, |v| v[r]);
    if !(adj.is_nan() || adj.is_finite() && adj > 0.0) {
        return None;
    }
    Some(Row { open, high, low, close, volume, amount, limit_up, limit_down, flags, adj })
}

/// Check `n` rows; `None` as soon as one value would be refused.
pub(crate) fn check(c: &Columns<'_>, n: usize) -> Option<Checked> {
    // One limit column alone: the row path checks its values.
    if c.limit_up.is_some() != c.limit_down.is_some() {
        return None;
    }
    let (limits, adj) = (c.limit_up.is_some(), c.adj.is_some());
    let with = |on: bool| if on { n } else { 0 };
    let mut out = Checked {
        open: Vec::with_capacity(n),
        high: Vec::with_capacity(n),
        low: Vec::with_capacity(n),
        close: Vec::with_capacity(n),
        volume: Vec::with_capacity(n),
        amount: Vec::with_capacity(n),
        limit_up: Vec::with_capacity(with(limits)),
        limit_down: Vec::with_capacity(with(limits)),
        flags: Vec::with_capacity(n),
        adj: Vec::with_capacity(with(adj)),
    };
    for r in 0..n {
        let row = check_row(c, r)?;
        out.open.push(row.open);
        out.high.push(row.high);
        out.low.push(row.low);
        out.close.push(row.close);
        out.volume.push(row.volume);
        out.amount.push(row.amount);
        if limits {
            out.limit_up.push(row.limit_up);
            out.limit_down.push(row.limit_down);
        }
        out.flags.push(row.flags);
        if adj {
            out.adj.push(row.adj);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_price_column_value_becomes_its_units_or_says_null_or_refused() {
        let raw = PriceMode::Raw;
        for (v, mode, want) in [
            (10.01, raw, 100_100),
            (0.01, raw, 100),
            (f64::NAN, raw, NULL_UNITS),
            (10.005, raw, BAD_UNITS),
            (10.005, PriceMode::RoundToTick, 100_100),
            (0.0, raw, BAD_UNITS),
            (-1.0, raw, BAD_UNITS),
            (f64::INFINITY, raw, BAD_UNITS),
            (1e12, raw, BAD_UNITS),
        ] {
            assert_eq!(units(v, mode), want, "{v} {mode:?}");
        }
    }
}
