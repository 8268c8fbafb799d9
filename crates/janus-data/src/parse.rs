//! Field parsers that work on raw bytes: dates, exact prices and floats, without allocating on
//! the common forms and always agreeing with the general parsers they stand in for.

use chrono::NaiveDate;
use janus_core::money::{DecimalError, SCALE};
use janus_core::{parse_price, Price};

/// `YYYY-MM-DD` or `YYYYMMDD`.
pub(crate) fn parse_date(b: &[u8]) -> Option<NaiveDate> {
    let num = |s: &[u8]| -> Option<u32> {
        s.iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + (c - b'0') as u32))
    };
    let (y, m, d) = match b.len() {
        10 if b[4] == b'-' && b[7] == b'-' => (num(&b[..4])?, num(&b[5..7])?, num(&b[8..])?),
        8 => (num(&b[..4])?, num(&b[4..6])?, num(&b[6..])?),
        _ => return None,
    };
    NaiveDate::from_ymd_opt(y as i32, m, d)
}

/// Exact price parsing. Plain decimals with at most four decimals (nearly every real file) are
/// read here without allocating; everything else goes to `janus_core::parse_price`, so the
/// result is always the one `parse_price` gives.
pub(crate) fn parse_price_bytes(b: &[u8]) -> Result<Price, DecimalError> {
    fast_price(b).map_or_else(|| slow_price(b), Ok)
}

#[inline]
fn fast_price(b: &[u8]) -> Option<Price> {
    let mut i = 0;
    let mut int: i64 = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        if i >= 12 {
            return None;
        }
        int = int * 10 + (b[i] - b'0') as i64;
        i += 1;
    }
    let n_int = i;
    let mut frac: i64 = 0;
    let mut n_frac = 0;
    if i < b.len() {
        if b[i] != b'.' {
            return None;
        }
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            if n_frac == 4 {
                return None;
            }
            frac = frac * 10 + (b[i] - b'0') as i64;
            n_frac += 1;
            i += 1;
        }
        if i != b.len() {
            return None;
        }
    }
    if n_int == 0 && n_frac == 0 {
        return None;
    }
    for _ in n_frac..4 {
        frac *= 10;
    }
    Some(Price(int * SCALE + frac))
}

/// Plain decimals of at most 15 digits, exactly as `str::parse::<f64>` reads them: the digits
/// form an integer below 2^53 and the power of ten is exact, so one correctly rounded division
/// gives the correctly rounded value (Clinger's fast path). Anything else returns `None`.
#[inline]
pub(crate) fn fast_f64(b: &[u8]) -> Option<f64> {
    const POW10: [f64; 16] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
    let mut mantissa: u64 = 0;
    let mut digits = 0;
    let mut dot = None;
    for (k, &c) in b.iter().enumerate() {
        if c.is_ascii_digit() {
            if digits == 15 {
                return None;
            }
            mantissa = mantissa * 10 + (c - b'0') as u64;
            digits += 1;
        } else if c == b'.' && dot.is_none() {
            dot = Some(k);
        } else {
            return None;
        }
    }
    if digits == 0 {
        return None;
    }
    let decimals = dot.map_or(0, |k| b.len() - k - 1);
    Some(mantissa as f64 / POW10[decimals])
}

fn slow_price(b: &[u8]) -> Result<Price, DecimalError> {
    let s = std::str::from_utf8(b).map_err(|_| DecimalError::Malformed)?;
    // Huge exponents would make the core parser loop or overflow; no price needs more than
    // four exponent digits.
    if let Some(i) = s.find(['e', 'E']) {
        let e = s[i + 1..].trim_end();
        let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
        if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|c| c.is_ascii_digit()) {
            let lower = s.trim().to_ascii_lowercase();
            let unsigned = lower.trim_start_matches(['+', '-']);
            if unsigned.starts_with("nan") || unsigned.starts_with("inf") {
                return Err(DecimalError::NotFinite);
            }
            return Err(DecimalError::Malformed);
        }
    }
    parse_price(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use janus_core::parse_price;
    use proptest::prelude::*;

    #[test]
    fn dates_are_read_in_both_formats_and_bad_ones_refused() {
        let d = NaiveDate::from_ymd_opt(2024, 2, 29);
        assert_eq!(parse_date(b"2024-02-29"), d);
        assert_eq!(parse_date(b"20240229"), d);
        for bad in [&b"2023-02-29"[..], b"2024/02/29", b"2024-2-29", b"", b"24-02-29", b"2024-02-2x"] {
            assert_eq!(parse_date(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn huge_exponents_are_refused_before_reaching_the_core_parser() {
        assert_eq!(parse_price_bytes(b"1e-2147483648"), Err(DecimalError::Malformed));
        assert_eq!(parse_price_bytes(b"0e2000000000"), Err(DecimalError::Malformed));
        assert_eq!(parse_price_bytes(b"1.5e2"), Ok(Price(1_500_000)));
        assert_eq!(parse_price_bytes(b"infinity"), Err(DecimalError::NotFinite));
    }

    proptest! {
        #[test]
        fn fast_price_path_agrees_with_the_core_parser(s in "[0-9]{0,14}(\\.[0-9]{0,6})?") {
            let want = parse_price(&s);
            prop_assert_eq!(parse_price_bytes(s.as_bytes()), want);
        }

        #[test]
        fn fast_float_path_agrees_with_the_standard_parser(s in "[0-9]{0,12}(\\.[0-9]{0,8})?") {
            if let Some(v) = fast_f64(s.as_bytes()) {
                prop_assert_eq!(Some(v), s.parse::<f64>().ok());
            }
        }

        #[test]
        fn price_parsing_never_panics(s in "\\PC{0,30}") {
            let _ = parse_price_bytes(s.as_bytes());
        }
    }
}
