//! Column-wise checks for columnar input (Parquet): a whole row group's numbers checked in
//! tight loops over its columns and appended to a [`crate::rows::Part`] at once. The checks
//! are the ones a row goes through (prices positive and on the tick, bars consistent, limits
//! not crossed, volumes, amounts, flags and factors valid); on the first value that fails, the
//! caller reads the group again row by row, which reports the exact error at its row.

use crate::panel::flag;
use crate::values::{units_of, PriceMode};
use janus_core::{Price, Price32};

/// The numeric columns of a row group: prices as [`price`] gives them, the others NaN for
/// null; `None` for a column the file lacks.
pub(crate) struct Columns<'a> {
    pub open: &'a [Price32],
    pub high: &'a [Price32],
    pub low: &'a [Price32],
    pub close: &'a [Price32],
    pub volume: &'a [f64],
    pub amount: Option<&'a [f64]>,
    pub vwap: Option<&'a [f64]>,
    pub limit_up: Option<&'a [Price32]>,
    pub limit_down: Option<&'a [Price32]>,
    pub paused: Option<&'a [f64]>,
    pub is_st: Option<&'a [f64]>,
    pub adj: Option<&'a [f64]>,
}

/// The fields (numbered as in [`crate::parquet_bars`]) read as prices, by [`price`].
pub(crate) fn is_price(field: usize) -> bool {
    matches!(field, 2..=5 | 9 | 10)
}

/// [`price`] of a null (NaN). No accepted price is zero.
pub(crate) const NULL_PRICE: Price32 = Price32::ZERO;
/// [`price`] of a value [`units_of`] refuses. No accepted price is that large: they stop at
/// [`crate::values::MAX_PRICE_YUAN`].
pub(crate) const BAD_PRICE: Price32 = Price32::MAX;

/// A binary price as the panel stores it if [`units_of`] accepts it, [`NULL_PRICE`] for null,
/// [`BAD_PRICE`] for a value it refuses: a price column is turned once, and a dictionary's
/// values once each, not once a row.
#[inline]
pub(crate) fn price(v: f64, mode: PriceMode) -> Price32 {
    if v.is_nan() {
        return NULL_PRICE;
    }
    units_of(v, mode).and_then(|u| Price32::new(Price(u))).unwrap_or(BAD_PRICE)
}

impl<'a> Columns<'a> {
    /// The numeric columns by field number (open 2, high 3, ... adj_factor 13, as in
    /// [`crate::parquet_bars`]): prices from `price`, the others from `number`; `None` if a
    /// required one (a price, volume) is missing.
    pub(crate) fn by_field(
        price: impl Fn(usize) -> Option<&'a [Price32]>,
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
    pub open: Vec<Price32>,
    pub high: Vec<Price32>,
    pub low: Vec<Price32>,
    pub close: Vec<Price32>,
    pub volume: Vec<f64>,
    pub amount: Vec<f64>,
    /// Empty unless the file has both limit columns.
    pub limit_up: Vec<Price32>,
    pub limit_down: Vec<Price32>,
    pub flags: Vec<u8>,
    /// Empty unless the file has a factor column; NaN carries the previous factor.
    pub adj: Vec<f64>,
}

/// One row's checked values.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Row {
    pub open: Price32,
    pub high: Price32,
    pub low: Price32,
    pub close: Price32,
    pub volume: f64,
    pub amount: f64,
    /// Zero unless the row has both limits.
    pub limit_up: Price32,
    pub limit_down: Price32,
    pub flags: u8,
    /// NaN when the row has no factor (or the file no factor column).
    pub adj: f64,
}

/// Check row `r`; `None` if one of its values would be refused. Both limit columns or none:
/// the caller refuses a lone one.
#[inline(always)]
pub(crate) fn check_row(c: &Columns<'_>, r: usize) -> Option<Row> {
    let price = |v: &[Price32]| Some(v[r]).filter(|&p| p != NULL_PRICE && p != BAD_PRICE);
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
    let (mut limit_up, mut limit_down) = (Price32::ZERO, Price32::ZERO);
    if let (Some(up), Some(down)) = (c.limit_up, c.limit_down) {
        // A lone limit is checked but does not count, as in a CSV row.
        let limit = |p: Price32| match p {
            NULL_PRICE => Some(None),
            BAD_PRICE => None,
            p => Some(Some(p)),
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
    fn a_price_column_value_becomes_its_price_or_says_null_or_refused() {
        let raw = PriceMode::Raw;
        let units = |u: i64| Price32::new(Price(u)).expect("in range");
        for (v, mode, want) in [
            (10.01, raw, units(100_100)),
            (0.01, raw, units(100)),
            (200_000.0, raw, units(2_000_000_000)),
            (f64::NAN, raw, NULL_PRICE),
            (10.005, raw, BAD_PRICE),
            (10.005, PriceMode::RoundToTick, units(100_100)),
            (0.0, raw, BAD_PRICE),
            (-1.0, raw, BAD_PRICE),
            (f64::INFINITY, raw, BAD_PRICE),
            (200_000.01, raw, BAD_PRICE),
            (429_496.72, raw, BAD_PRICE),
            (1e12, raw, BAD_PRICE),
        ] {
            assert_eq!(price(v, mode), want, "{v} {mode:?}");
        }
    }
}
