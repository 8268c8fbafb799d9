//! Column-wise checks for columnar input (Parquet): a whole row group's numbers checked in
//! tight loops over its columns and appended to a [`crate::rows::Part`] at once. The checks
//! are the ones a row goes through (prices positive and on the tick, bars consistent, limits
//! not crossed, volumes, amounts, flags and factors valid); on the first value that fails, the
//! caller reads the group again row by row, which reports the exact error at its row.

use crate::panel::flag;
use crate::values::{units_of, PriceMode};
use janus_core::Price;

/// The numeric columns of a row group, NaN for null; `None` for a column the file lacks.
pub(crate) struct Columns<'a> {
    pub open: &'a [f64],
    pub high: &'a [f64],
    pub low: &'a [f64],
    pub close: &'a [f64],
    pub volume: &'a [f64],
    pub amount: Option<&'a [f64]>,
    pub vwap: Option<&'a [f64]>,
    pub limit_up: Option<&'a [f64]>,
    pub limit_down: Option<&'a [f64]>,
    pub paused: Option<&'a [f64]>,
    pub is_st: Option<&'a [f64]>,
    pub adj: Option<&'a [f64]>,
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

/// Check `n` rows; `None` as soon as one value would be refused.
pub(crate) fn check(c: &Columns<'_>, n: usize, mode: PriceMode) -> Option<Checked> {
    let prices = |v: &[f64]| -> Option<Vec<Price>> {
        let mut out = Vec::with_capacity(n);
        for &x in &v[..n] {
            out.push(Price(units_of(x, mode)?));
        }
        Some(out)
    };
    let (open, high, low, close) = (prices(c.open)?, prices(c.high)?, prices(c.low)?, prices(c.close)?);
    let ok_bars = (0..n).all(|r| {
        let (o, h, l, cl) = (open[r], high[r], low[r], close[r]);
        l <= h && l <= o && o <= h && l <= cl && cl <= h
    });
    if !ok_bars {
        return None;
    }
    let non_negative = |v: f64| v.is_finite() && v >= 0.0;
    let volume: Vec<f64> = c.volume[..n].iter().map(|&v| v + 0.0).collect();
    if !volume.iter().all(|&v| non_negative(v)) {
        return None;
    }
    let optional = |v: Option<&[f64]>| match v {
        Some(v) => v[..n].iter().all(|&x| x.is_nan() || non_negative(x)),
        None => true,
    };
    if !optional(c.amount) || !optional(c.vwap) {
        return None;
    }
    let amount: Vec<f64> = (0..n)
        .map(|r| {
            let a = c.amount.map_or(f64::NAN, |v| v[r] + 0.0);
            if a.is_nan() {
                c.vwap.map_or(f64::NAN, |v| v[r] * volume[r])
            } else {
                a
            }
        })
        .collect();
    let flag_ok = |v: Option<&[f64]>| match v {
        Some(v) => v[..n].iter().all(|&x| x.is_nan() || x == 0.0 || x == 1.0),
        None => true,
    };
    if !flag_ok(c.paused) || !flag_ok(c.is_st) {
        return None;
    }
    let mut flags: Vec<u8> = (0..n)
        .map(|r| {
            let on = |v: Option<&[f64]>| v.is_some_and(|v| v[r] == 1.0);
            let mut f = flag::PRESENT;
            if on(c.paused) || volume[r] == 0.0 {
                f |= flag::PAUSED;
            }
            if on(c.is_st) {
                f |= flag::ST;
            }
            f
        })
        .collect();
    let (mut limit_up, mut limit_down) = (Vec::new(), Vec::new());
    if let (Some(up), Some(down)) = (c.limit_up, c.limit_down) {
        limit_up.reserve(n);
        limit_down.reserve(n);
        for r in 0..n {
            let (u, d) = (up[r], down[r]);
            // A lone limit is checked but does not count, as in a CSV row.
            let u = if u.is_nan() { None } else { Some(Price(units_of(u, mode)?)) };
            let d = if d.is_nan() { None } else { Some(Price(units_of(d, mode)?)) };
            match (u, d) {
                (Some(u), Some(d)) => {
                    if d > u || high[r] > u || low[r] < d {
                        return None;
                    }
                    flags[r] |= flag::EXPLICIT_LIMITS;
                    limit_up.push(u);
                    limit_down.push(d);
                }
                _ => {
                    limit_up.push(Price::ZERO);
                    limit_down.push(Price::ZERO);
                }
            }
        }
    } else if c.limit_up.is_some() || c.limit_down.is_some() {
        // One limit column alone: the row path checks its values.
        return None;
    }
    let adj = match c.adj {
        Some(v) if v[..n].iter().all(|&x| x.is_nan() || (x.is_finite() && x > 0.0)) => v[..n].to_vec(),
        Some(_) => return None,
        None => Vec::new(),
    };
    Some(Checked { open, high, low, close, volume, amount, limit_up, limit_down, flags, adj })
}
