//! Field values from text or binary floats, checked one by one: exact prices (on the tick,
//! unless rounding was asked for), non-negative volumes and amounts, flags and adjustment
//! factors. Each error carries the place of the row and the value as it was written.

use crate::error::{DataError, Place, Unit};
use crate::parse::{fast_f64, parse_price_bytes};
use janus_core::money::{parse_fixed, DecimalError, SCALE, TICK};
use janus_core::Price;

/// Prices above this (200,000 CNY a share) are rejected. No A-share has traded above a few
/// thousand CNY, even backward-adjusted; the panel stores prices in 32 bits ([`Price32`], up
/// to 429,496 CNY) with room for a limit price above any accepted price.
///
/// [`Price32`]: janus_core::Price32
pub(crate) const MAX_PRICE_YUAN: i64 = 200_000;

/// What to do with a price that is not on the 0.01 tick.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PriceMode {
    /// Prices are raw exchange prices: one off the tick is an error (adjusted data).
    #[default]
    Raw,
    /// Round every price (and explicit limit) to the nearest tick, half away from zero: for
    /// users who knowingly load adjusted data. Limit refusals are then approximate.
    RoundToTick,
}

/// Units of 0.0001 CNY of a positive binary price: to the nearest 0.0001, or (rounding mode) to
/// the nearest tick, half away from zero. Adding a half and truncating is `round` for positive
/// numbers, without a call into libm in the hot loop.
#[inline]
fn round_units(v: f64, mode: PriceMode) -> i64 {
    match mode {
        PriceMode::Raw => (v * SCALE as f64 + 0.5) as i64,
        PriceMode::RoundToTick => (v * 100.0 + 0.5) as i64 * TICK,
    }
}

/// The units of a binary price if [`At::price_f64`] would accept it (finite, positive, not
/// too large, on the tick in raw mode); `None` otherwise.
#[inline]
pub(crate) fn units_of(v: f64, mode: PriceMode) -> Option<i64> {
    if !(v > 0.0 && v <= (MAX_PRICE_YUAN * 10) as f64) {
        return None;
    }
    let u = round_units(v, mode);
    (u > 0 && u <= MAX_PRICE_YUAN * SCALE && (mode == PriceMode::RoundToTick || u % TICK == 0)).then_some(u)
}

/// The place of the row being read, and the errors it can raise.
pub(crate) struct At<'a> {
    pub file: &'a str,
    pub line: u64,
    pub unit: Unit,
}

/// Which value an error is about, for [`At::err`].
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Date,
    Symbol,
}

impl At<'_> {
    pub fn place(&self) -> Place {
        Place { file: self.file.to_string(), line: self.line, unit: self.unit }
    }
    pub fn err(&self, kind: Kind, column: &str, raw: &[u8]) -> DataError {
        let (at, column, value) = (self.place(), column.to_string(), show(raw));
        match kind {
            Kind::Date => DataError::BadDate { at, column, value },
            Kind::Symbol => DataError::BadSymbol { at, column, value },
        }
    }
    pub fn bad_number(&self, raw: &[u8], column: &str, reason: &str) -> DataError {
        DataError::BadNumber {
            at: self.place(),
            column: column.to_string(),
            value: show(raw),
            reason: reason.to_string(),
        }
    }
    fn too_large(&self, column: &str, value: String) -> DataError {
        DataError::PriceTooLarge { at: self.place(), column: column.to_string(), value }
    }
    pub fn not_finite(&self, raw: &[u8], column: &str) -> DataError {
        DataError::NotFinite { at: self.place(), column: column.to_string(), value: show(raw) }
    }

    /// A price from text, exact, strictly positive and (raw mode) on the tick.
    #[inline]
    pub fn price(&self, raw: &[u8], column: &str, mode: PriceMode) -> Result<Price, DataError> {
        let parsed = match mode {
            PriceMode::Raw => parse_price_bytes(raw),
            // Rounded once, from the text, straight to the tick.
            PriceMode::RoundToTick => match std::str::from_utf8(raw) {
                Ok(s) => parse_fixed(s, 2).map(|fen| Price(fen.saturating_mul(TICK))),
                Err(_) => Err(DecimalError::Malformed),
            },
        };
        match parsed {
            Ok(p) => self.valid_price(p, || show(raw), column, mode),
            Err(DecimalError::NotFinite) => Err(self.not_finite(raw, column)),
            Err(e) => Err(self.bad_number(raw, column, &e.to_string())),
        }
    }

    /// A price from a binary float (Parquet, qlib), with the same rules as from text.
    #[inline]
    pub fn price_f64(&self, v: f64, column: &str, mode: PriceMode) -> Result<Price, DataError> {
        if !v.is_finite() {
            return Err(DataError::NotFinite { at: self.place(), column: column.to_string(), value: v.to_string() });
        }
        if v.abs() > (MAX_PRICE_YUAN * 10) as f64 {
            return Err(self.too_large(column, v.to_string()));
        }
        // Non-positive values are refused below whatever their rounding.
        let units = if v > 0.0 { round_units(v, mode) } else { 0 };
        self.valid_price(Price(units), || v.to_string(), column, mode)
    }

    #[inline]
    fn valid_price(
        &self,
        p: Price,
        show: impl Fn() -> String,
        column: &str,
        mode: PriceMode,
    ) -> Result<Price, DataError> {
        if p.0 <= 0 {
            return Err(DataError::NonPositivePrice { at: self.place(), column: column.to_string(), value: show() });
        }
        if p.0 > MAX_PRICE_YUAN * SCALE {
            return Err(self.too_large(column, show()));
        }
        if mode == PriceMode::Raw && p.0 % TICK != 0 {
            return Err(DataError::OffTick { at: self.place(), column: column.to_string(), value: show() });
        }
        Ok(p)
    }

    /// A finite, non-negative float; `None` when the field is empty.
    #[inline]
    pub fn non_negative(&self, raw: &[u8], column: &str) -> Result<Option<f64>, DataError> {
        if raw.is_empty() {
            return Ok(None);
        }
        let v: f64 = fast_f64(raw)
            .or_else(|| std::str::from_utf8(raw).ok().and_then(|s| s.parse().ok()))
            .ok_or_else(|| self.bad_number(raw, column, "not a decimal number"))?;
        self.non_negative_f64(v, column, || show(raw)).map(Some)
    }

    /// A binary float that must be finite and non-negative.
    #[inline]
    pub fn non_negative_f64(&self, v: f64, column: &str, show: impl Fn() -> String) -> Result<f64, DataError> {
        if !v.is_finite() {
            return Err(DataError::NotFinite { at: self.place(), column: column.to_string(), value: show() });
        }
        if v < 0.0 {
            return Err(DataError::Negative { at: self.place(), column: column.to_string(), value: show() });
        }
        Ok(v + 0.0) // `+ 0.0` turns -0 into 0
    }

    /// An adjustment factor: positive and finite; NaN when the field is empty.
    pub fn factor(&self, raw: &[u8], column: &str) -> Result<f64, DataError> {
        if raw.is_empty() {
            return Ok(f64::NAN);
        }
        let v = fast_f64(raw).or_else(|| std::str::from_utf8(raw).ok().and_then(|s| s.parse().ok()));
        match v {
            Some(v) if v.is_finite() && v > 0.0 => Ok(v),
            _ => Err(DataError::BadFactor { at: self.place(), column: column.to_string(), value: show(raw) }),
        }
    }

    /// 0/1/true/false in any case; empty is false.
    #[inline]
    pub fn flag(&self, raw: &[u8], column: &str) -> Result<bool, DataError> {
        match raw {
            b"" | b"0" => Ok(false),
            b"1" => Ok(true),
            _ if raw.eq_ignore_ascii_case(b"true") => Ok(true),
            _ if raw.eq_ignore_ascii_case(b"false") => Ok(false),
            _ => Err(DataError::BadFlag { at: self.place(), column: column.to_string(), value: show(raw) }),
        }
    }
}

/// A value for an error message: lossy UTF-8, cut short if long.
pub(crate) fn show(raw: &[u8]) -> String {
    shorten(&String::from_utf8_lossy(raw))
}

pub(crate) fn shorten(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}
