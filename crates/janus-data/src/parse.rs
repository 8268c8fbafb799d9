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
    let (int, frac) = match memchr::memchr(b'.', b) {
        Some(k) => (&b[..k], &b[k + 1..]),
        None => (b, &b[..0]),
    };
    let digits = int.len() + frac.len();
    if digits == 0 || digits > 15 {
        return None;
    }
    // A second dot, a sign or anything else is not a digit: `None`.
    let mantissa = digits_value(int)? * 10u64.pow(frac.len() as u32) + digits_value(frac)?;
    Some(mantissa as f64 / POW10[frac.len()])
}

/// The value of a run of ASCII digits (0 when empty); `None` if any byte is not a digit.
/// Eight digits at a time in one 64-bit word (the SWAR method of Lemire's `fast_float`).
#[inline]
fn digits_value(s: &[u8]) -> Option<u64> {
    let mut v = 0u64;
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
        // Every byte in b'0'..=b'9': neither below b'0' nor above b'9' (which +0x46 carries
        // into the top bit).
        if (w.wrapping_add(0x4646_4646_4646_4646) | w.wrapping_sub(0x3030_3030_3030_3030)) & 0x8080_8080_8080_8080 != 0
        {
            return None;
        }
        let d = w.wrapping_sub(0x3030_3030_3030_3030);
        let d = d.wrapping_mul(10).wrapping_add(d >> 8);
        const MASK: u64 = 0x0000_00FF_0000_00FF;
        let eight = ((d & MASK)
            .wrapping_mul(100 + (1_000_000 << 32))
            .wrapping_add(((d >> 16) & MASK).wrapping_mul(1 + (10_000 << 32))))
            >> 32;
        v = v * 100_000_000 + (eight & 0xFFFF_FFFF);
    }
    for &c in chunks.remainder() {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u64;
    }
    Some(v)
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

    /// The byte loop `fast_f64` was before it read eight digits at a time.
    fn byte_by_byte(b: &[u8]) -> Option<f64> {
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
        Some(mantissa as f64 / 10f64.powi(dot.map_or(0, |k| b.len() - k - 1) as i32))
    }

    #[test]
    fn eight_digits_at_a_time_read_every_digit_string() {
        for s in ["0", "12345678", "123456789012345", "99999999", "00000001", "1234567.89", ".5", "5.", "10000000.00"] {
            assert_eq!(fast_f64(s.as_bytes()), s.parse::<f64>().ok(), "{s}");
        }
        for bad in ["", ".", "1.2.3", "1234567a", "1234:678", "12/45678", "-1", "+1", "1e5", "1234567890123456"] {
            assert_eq!(fast_f64(bad.as_bytes()), None, "{bad}");
        }
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

        /// The word-at-a-time float parser reads exactly what the byte loop it replaced read.
        #[test]
        fn fast_float_path_agrees_with_a_byte_by_byte_reading(
            s in "[0-9.+e/:a-]{0,20}|[0-9]{0,10}[0-9./:]?[0-9]{0,10}"
        ) {
            prop_assert_eq!(fast_f64(s.as_bytes()).map(f64::to_bits), byte_by_byte(s.as_bytes()).map(f64::to_bits));
        }

        #[test]
        fn price_parsing_never_panics(s in "\\PC{0,30}") {
            let _ = parse_price_bytes(s.as_bytes());
        }
    }
}
