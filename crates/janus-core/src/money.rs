//! Exact fixed-point numbers for prices, money and fee rates.
//!
//! Everything that is summed into the ledger is an integer count of a small unit, so that
//! `available + frozen + market value == total asset` holds exactly and two runs agree byte for
//! byte. Floating point appears only where a value leaves the ledger (features, metrics).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

/// Units per yuan for both [`Price`] and [`Money`]: 1 unit = 0.0001 CNY.
pub const SCALE: i64 = 10_000;
/// One price tick (0.01 CNY) in units.
pub const TICK: i64 = 100;
/// Units of a fee rate: a rate of 1.0 is `RATE_SCALE` (so 0.025% is 25_000).
pub const RATE_SCALE: i64 = 100_000_000;

/// Divide rounding half away from zero; the one rounding rule used for money everywhere.
pub fn div_round(n: i128, d: i128) -> i128 {
    debug_assert!(d > 0);
    let q = n / d;
    let r = n % d;
    if 2 * r.abs() >= d {
        q + n.signum()
    } else {
        q
    }
}

/// A price per share in units of 0.0001 CNY.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Price(pub i64);

/// An amount of money in units of 0.0001 CNY (signed: P&L may be negative).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Money(pub i64);

/// A number of shares.
pub type Qty = i64;

/// A fee or tax rate in units of 1e-8 (exact for every rate the exchanges publish).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Rate(pub i64);

impl Price {
    pub const ZERO: Price = Price(0);

    /// From yuan, rounding to the nearest 0.0001; for config values and tests only.
    pub fn from_yuan(y: f64) -> Price {
        Price((y * SCALE as f64).round() as i64)
    }
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / SCALE as f64
    }
    /// Round to the nearest 0.01 tick, half up.
    pub fn round_to_tick(self) -> Price {
        Price(div_round(self.0 as i128, TICK as i128) as i64 * TICK)
    }
    /// Round down to a tick (used for sell prices after slippage).
    pub fn floor_tick(self) -> Price {
        Price(self.0.div_euclid(TICK) * TICK)
    }
    /// Round up to a tick (used for buy prices after slippage).
    pub fn ceil_tick(self) -> Price {
        Price(-((-self.0).div_euclid(TICK)) * TICK)
    }
    /// Value of `qty` shares at this price.
    pub fn notional(self, qty: Qty) -> Money {
        Money(self.0 * qty)
    }
    pub fn is_positive(self) -> bool {
        self.0 > 0
    }
}

/// A price in 32 bits, as the bar panel stores its price columns: units of 0.0001 CNY from
/// zero to [`Price32::MAX`] (429,496.7295 CNY), in half the memory of a [`Price`] (a panel of
/// 12.5 million cells holds six price columns: 300 MiB less). Every computation takes it back
/// as a [`Price`], exactly ([`Price32::get`]).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price32(u32);

impl Price32 {
    pub const ZERO: Price32 = Price32(0);
    /// The largest price it holds: 429,496.7295 CNY.
    pub const MAX: Price32 = Price32(u32::MAX);

    /// `p`, if it is between zero and [`Price32::MAX`].
    #[inline]
    pub fn new(p: Price) -> Option<Price32> {
        u32::try_from(p.0).ok().map(Price32)
    }
    /// The price, exactly.
    #[inline]
    pub fn get(self) -> Price {
        Price(i64::from(self.0))
    }
    pub fn is_positive(self) -> bool {
        self.0 > 0
    }
}

impl From<Price32> for Price {
    #[inline]
    fn from(p: Price32) -> Price {
        p.get()
    }
}

impl Money {
    pub const ZERO: Money = Money(0);

    pub fn from_yuan(y: f64) -> Money {
        Money((y * SCALE as f64).round() as i64)
    }
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / SCALE as f64
    }
    /// `self * rate`, rounded half away from zero to the fen (0.01 CNY), as brokers charge.
    pub fn times_rate_to_fen(self, rate: Rate) -> Money {
        let units = self.0 as i128 * rate.0 as i128;
        let fen = div_round(units, RATE_SCALE as i128 * TICK as i128);
        Money((fen * TICK as i128) as i64)
    }
    pub fn max(self, other: Money) -> Money {
        if self >= other {
            self
        } else {
            other
        }
    }
    pub fn min(self, other: Money) -> Money {
        if self <= other {
            self
        } else {
            other
        }
    }
}

impl Rate {
    pub fn from_f64(r: f64) -> Rate {
        Rate((r * RATE_SCALE as f64).round() as i64)
    }
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / RATE_SCALE as f64
    }
}

macro_rules! arith {
    ($t:ty) => {
        impl Add for $t {
            type Output = $t;
            fn add(self, o: $t) -> $t {
                Self(self.0 + o.0)
            }
        }
        impl Sub for $t {
            type Output = $t;
            fn sub(self, o: $t) -> $t {
                Self(self.0 - o.0)
            }
        }
        impl AddAssign for $t {
            fn add_assign(&mut self, o: $t) {
                self.0 += o.0;
            }
        }
        impl SubAssign for $t {
            fn sub_assign(&mut self, o: $t) {
                self.0 -= o.0;
            }
        }
        impl Neg for $t {
            type Output = $t;
            fn neg(self) -> $t {
                Self(-self.0)
            }
        }
        impl fmt::Display for $t {
            /// Four decimals, no float formatting involved.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let sign = if self.0 < 0 { "-" } else { "" };
                let a = self.0.unsigned_abs();
                write!(f, "{sign}{}.{:04}", a / SCALE as u64, a % SCALE as u64)
            }
        }
    };
}
arith!(Price);
arith!(Money);

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        Money(iter.map(|m| m.0).sum())
    }
}

/// Why a decimal text could not be read as a price or amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    #[error("empty value")]
    Empty,
    #[error("not a number (NaN or infinity)")]
    NotFinite,
    #[error("not a decimal number")]
    Malformed,
    #[error("too large")]
    Overflow,
}

/// Parse a plain decimal (`12.34`, `-0.5`, `7`, `1.5e2`) exactly into units of `10^-decimals`,
/// rounding half away from zero beyond the last kept digit. No float is involved.
pub fn parse_fixed(text: &str, decimals: u32) -> Result<i64, DecimalError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(DecimalError::Empty);
    }
    let lower = s.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    if unsigned.starts_with("nan") || unsigned.starts_with("inf") {
        return Err(DecimalError::NotFinite);
    }
    let (neg, body) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => {
            let e: i32 = body[i + 1..].parse().map_err(|_| DecimalError::Malformed)?;
            (&body[..i], e)
        }
        None => (body, 0),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(DecimalError::Malformed);
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit()) || !frac_part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DecimalError::Malformed);
    }
    // Exponents this large either overflow any price or round it to zero; bounding them keeps
    // the arithmetic below small (and `-exp` from overflowing).
    let exp = exp.clamp(-100, 100);
    // All digits as one integer, with the decimal point `shift` places from the right.
    let mut digits: i128 = 0;
    let mut shift: i32 = -exp;
    for b in int_part.bytes().chain(frac_part.bytes()) {
        if digits > i128::MAX / 100 {
            // Further digits beyond 30 significant ones cannot change the result at our scale
            // unless they are integer digits, which would overflow anyway.
            shift -= 1;
            continue;
        }
        digits = digits * 10 + (b - b'0') as i128;
    }
    shift += frac_part.len() as i32;
    let want = decimals as i32;
    let value = if shift <= want {
        let mut v = digits;
        for _ in 0..(want - shift) {
            if v == 0 {
                break;
            }
            v = v.checked_mul(10).ok_or(DecimalError::Overflow)?;
        }
        v
    } else {
        let drop = (shift - want) as u32;
        if drop > 38 {
            0
        } else {
            div_round(digits, 10i128.pow(drop))
        }
    };
    let v = if neg { -value } else { value };
    i64::try_from(v).map_err(|_| DecimalError::Overflow)
}

/// Parse a price in yuan, exact to 0.0001.
pub fn parse_price(text: &str) -> Result<Price, DecimalError> {
    parse_fixed(text, 4).map(Price)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_price32_holds_every_price_from_zero_to_its_max_exactly_and_nothing_else() {
        for units in [0, 1, 100, 123_456_789, 2_000_000_000, i64::from(u32::MAX)] {
            let p = Price32::new(Price(units)).expect("in range");
            assert_eq!((p.get(), Price::from(p)), (Price(units), Price(units)));
        }
        assert_eq!(Price32::MAX.get(), Price(4_294_967_295));
        for units in [-1, i64::from(u32::MAX) + 1, i64::MAX] {
            assert_eq!(Price32::new(Price(units)), None, "{units}");
        }
        // Ordered as the prices are.
        let (a, b) = (Price32::new(Price(99)).unwrap(), Price32::new(Price(100)).unwrap());
        assert!(a < b && Price32::ZERO < a && b < Price32::MAX);
    }

    #[test]
    fn decimal_parser_reads_plain_and_exponent_forms_exactly() {
        let cases = [
            ("12.34", Ok(123_400)),
            ("  7 ", Ok(70_000)),
            ("-0.5", Ok(-5_000)),
            ("+3.", Ok(30_000)),
            (".25", Ok(2_500)),
            ("1.5e2", Ok(1_500_000)),
            ("1.23456", Ok(12_346)),
            ("1.23454", Ok(12_345)),
            ("0.00005", Ok(1)),
            ("NaN", Err(DecimalError::NotFinite)),
            ("-inf", Err(DecimalError::NotFinite)),
            ("", Err(DecimalError::Empty)),
            ("1,5", Err(DecimalError::Malformed)),
            ("abc", Err(DecimalError::Malformed)),
            (".", Err(DecimalError::Malformed)),
            ("99999999999999999999", Err(DecimalError::Overflow)),
            ("1e-2147483648", Ok(0)),
            ("0e2000000000", Ok(0)),
            ("1e2000000000", Err(DecimalError::Overflow)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_fixed(text, 4), want, "parsing {text:?}");
        }
    }

    #[test]
    fn fees_round_half_up_to_the_fen() {
        // 10_000 CNY at 0.025% is 2.50 CNY exactly.
        let m = Money::from_yuan(10_000.0);
        assert_eq!(m.times_rate_to_fen(Rate::from_f64(0.00025)), Money(25_000));
        // 1_234.5 CNY at 0.001% is 0.012345 -> 0.01 CNY.
        let m = Money::from_yuan(1_234.5);
        assert_eq!(m.times_rate_to_fen(Rate::from_f64(0.00001)), Money(100));
    }

    #[test]
    fn tick_rounding_goes_the_right_way() {
        assert_eq!(Price(123_450).round_to_tick(), Price(123_500));
        assert_eq!(Price(123_449).round_to_tick(), Price(123_400));
        assert_eq!(Price(123_401).ceil_tick(), Price(123_500));
        assert_eq!(Price(123_499).floor_tick(), Price(123_400));
        assert_eq!(Price(123_400).ceil_tick(), Price(123_400));
    }

    #[test]
    fn money_displays_without_floats() {
        assert_eq!(Money(-12_345).to_string(), "-1.2345");
        assert_eq!(Money(10_000_000_000).to_string(), "1000000.0000");
    }
}
