//! How a report looks: its language and its colour convention, and the display of money.
//!
//! Markets disagree on colour: most show gains green and losses red, while A-share quotes show
//! gains red and losses green. [`Colors`] picks one; [`Palette`] turns it into the colours the
//! charts, the tables' `up`/`down` classes and the comparison's better/worse deltas use, so one
//! switch changes every place at once.
//!
//! Money is shown with thousands separators and two decimals ([`money`]), rounded half away
//! from zero from the exact amount; the files keep their exact four-decimal values.

use crate::i18n::Lang;
use janus_core::money::div_round;
use janus_core::Money;
use plotters::style::RGBColor;
use serde::{Deserialize, Serialize};

/// Which colour means up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Colors {
    /// Gains green, losses red (the default).
    #[default]
    GreenUp,
    /// Gains red, losses green (the A-share convention).
    RedUp,
}

impl Colors {
    /// Parse `green-up` or `red-up`, as the config and the `--colors` flag spell them.
    pub fn parse(text: &str) -> Option<Colors> {
        match text {
            "green-up" => Some(Colors::GreenUp),
            "red-up" => Some(Colors::RedUp),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Colors::GreenUp => "green-up",
            Colors::RedUp => "red-up",
        }
    }

    pub fn palette(self) -> Palette {
        let (green, red) = (Palette::GREEN, Palette::RED);
        match self {
            Colors::GreenUp => Palette { up: green, down: red },
            Colors::RedUp => Palette { up: red, down: green },
        }
    }
}

/// The colours of gains (and of "better" in a comparison) and of losses ("worse").
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Palette {
    /// Chart colour of a gain.
    pub up: RGBColor,
    /// Chart colour of a loss.
    pub down: RGBColor,
}

impl Palette {
    const GREEN: RGBColor = RGBColor(44, 160, 44);
    const RED: RGBColor = RGBColor(214, 39, 40);

    /// Text colour of a gain in a page (darker than the chart colour, for contrast on white).
    pub fn up_css(&self) -> &'static str {
        if self.up == Palette::GREEN {
            "#1a7f37"
        } else {
            "#c62828"
        }
    }

    /// Text colour of a loss in a page.
    pub fn down_css(&self) -> &'static str {
        if self.down == Palette::GREEN {
            "#1a7f37"
        } else {
            "#c62828"
        }
    }

    /// ANSI colour code of a gain in a terminal (32 green, 31 red).
    pub fn up_ansi(&self) -> &'static str {
        if self.up == Palette::GREEN {
            "32"
        } else {
            "31"
        }
    }

    /// ANSI colour code of a loss in a terminal.
    pub fn down_ansi(&self) -> &'static str {
        if self.down == Palette::GREEN {
            "32"
        } else {
            "31"
        }
    }
}

/// Language and colour convention of a report or comparison.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Style {
    pub lang: Lang,
    pub colors: Colors,
}

impl Style {
    pub fn palette(&self) -> Palette {
        self.colors.palette()
    }

    /// `english` in the report's language (see [`Lang::t`]).
    pub fn t<'a>(&self, english: &'a str) -> &'a str {
        self.lang.t(english)
    }
}

/// Group the digits of a non-negative integer in threes: `1234567` -> `1,234,567`.
fn grouped(digits: &str) -> String {
    // The first group takes what the threes leave over (digits are ASCII: one byte each).
    let lead = match digits.len() % 3 {
        0 => 3.min(digits.len()),
        r => r,
    };
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    out.push_str(&digits[..lead]);
    let mut at = lead;
    while at < digits.len() {
        out.push(',');
        out.push_str(&digits[at..at + 3]);
        at += 3;
    }
    out
}

/// An amount with thousands separators and two decimals, rounded half away from zero from the
/// exact value: `Money(12_345_678_9050)` -> `1,234,567.91`. No float is involved.
pub fn money(m: Money) -> String {
    let cents = div_round(m.0 as i128, (janus_core::money::SCALE / 100) as i128);
    let sign = if cents < 0 { "-" } else { "" };
    let a = cents.unsigned_abs();
    format!("{sign}{}.{:02}", grouped(&(a / 100).to_string()), a % 100)
}

/// [`money`] with a sign in front of a positive amount, for differences.
pub fn signed_money(m: Money) -> String {
    let text = money(m);
    if text.starts_with('-') || text == "0.00" {
        text
    } else {
        format!("+{text}")
    }
}

/// A float amount (a mean, an expectancy) with thousands separators and two decimals; `None`
/// when not finite.
pub fn yuan(x: f64) -> Option<String> {
    if !x.is_finite() {
        return None;
    }
    let text = format!("{:.2}", x.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, "00"));
    let sign = if x < 0.0 && text.bytes().any(|b| b.is_ascii_digit() && b != b'0') { "-" } else { "" };
    Some(format!("{sign}{}.{frac}", grouped(int)))
}

/// Parse an exact decimal amount as the run folder writes it (`12345.6789`).
pub fn parse_money(text: &str) -> Option<Money> {
    janus_core::money::parse_fixed(text, 4).ok().map(Money)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_grouped_in_thousands_with_two_decimals_rounded_half_away_from_zero() {
        let cases = [
            ("0", "0.00"),
            ("0.4999", "0.50"),
            ("0.0049", "0.00"),
            ("0.005", "0.01"),
            ("-0.005", "-0.01"),
            ("-0.0049", "0.00"),
            ("999.9999", "1,000.00"),
            ("1234567.89", "1,234,567.89"),
            ("12345678.905", "12,345,678.91"),
            ("-1000000", "-1,000,000.00"),
            ("999.9949", "999.99"),
            ("100", "100.00"),
            ("123456", "123,456.00"),
        ];
        for (text, want) in cases {
            assert_eq!(money(parse_money(text).unwrap()), want, "{text}");
        }
        assert_eq!(money(Money(i64::MAX)), "922,337,203,685,477.58");
        assert_eq!(money(Money(i64::MIN)), "-922,337,203,685,477.58");
    }

    #[test]
    fn differences_carry_a_sign_and_zero_none() {
        assert_eq!(signed_money(Money::from_yuan(1_234.5)), "+1,234.50");
        assert_eq!(signed_money(Money::from_yuan(-0.5)), "-0.50");
        assert_eq!(signed_money(Money(10)), "0.00");
    }

    #[test]
    fn float_amounts_are_grouped_and_never_show_negative_zero_or_nan() {
        let cases = [
            (0.0, Some("0.00")),
            (-0.001, Some("0.00")),
            (-303.8, Some("-303.80")),
            (1234567.891, Some("1,234,567.89")),
            (999.999, Some("1,000.00")),
            (f64::NAN, None),
            (f64::INFINITY, None),
        ];
        for (x, want) in cases {
            assert_eq!(yuan(x).as_deref(), want, "{x}");
        }
    }

    #[test]
    fn the_a_share_convention_swaps_red_and_green_everywhere() {
        let default = Colors::default().palette();
        let a_share = Colors::RedUp.palette();
        assert_eq!((default.up, default.down), (a_share.down, a_share.up));
        assert_eq!((default.up_css(), default.down_css()), ("#1a7f37", "#c62828"));
        assert_eq!((a_share.up_css(), a_share.down_css()), ("#c62828", "#1a7f37"));
        assert_eq!((default.up_ansi(), a_share.up_ansi()), ("32", "31"));
        for c in [Colors::GreenUp, Colors::RedUp] {
            assert_eq!(Colors::parse(c.as_str()), Some(c));
        }
        assert_eq!(Colors::parse("blue-up"), None);
    }
}
