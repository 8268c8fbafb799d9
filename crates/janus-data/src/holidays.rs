//! The days the Shanghai and Shenzhen exchanges were closed on a weekday, so the synthetic
//! market trades on the days a real one did.
//!
//! A-share trading stops for New Year, the Spring Festival, Qingming, Labour Day, the Dragon
//! Boat festival, Mid-Autumn and the National Day week, plus the weekdays given off in lieu of
//! weekend make-up workdays (on which the exchanges stay closed). The table lists every such
//! closed weekday of 2004 to 2026 (SSE and SZSE close together), taken from the exchanges'
//! yearly holiday notices as collected by two open-source calendars (the State Council's
//! holiday plans, and a Shanghai exchange calendar that adds the exchange-only closures: the
//! longer Spring Festival breaks of 2004 to 2006, 2015-09-03/04 for the Victory Day parade,
//! 2020-01-31 for the epidemic, 2024-02-09). Years outside the table are traded on every
//! weekday: [`covered`] tells a caller when that happens, so it can say so.

use chrono::{Datelike, NaiveDate, Weekday};

/// First and last year of [`CLOSED`].
pub const FIRST_YEAR: i32 = 2004;
pub const LAST_YEAR: i32 = 2026;

/// Closed weekdays per year, as `month * 100 + day`, sorted.
const CLOSED: [(i32, &[u16]); 23] = [
    (2004, &[101, 119, 120, 121, 122, 123, 126, 127, 128, 503, 504, 505, 506, 507, 1001, 1004, 1005, 1006, 1007]),
    (2005, &[103, 207, 208, 209, 210, 211, 214, 215, 502, 503, 504, 505, 506, 1003, 1004, 1005, 1006, 1007]),
    (2006, &[102, 103, 126, 127, 130, 131, 201, 202, 203, 501, 502, 503, 504, 505, 1002, 1003, 1004, 1005, 1006]),
    (2007, &[101, 102, 103, 219, 220, 221, 222, 223, 501, 502, 503, 504, 507, 1001, 1002, 1003, 1004, 1005, 1231]),
    (2008, &[101, 206, 207, 208, 211, 212, 404, 501, 502, 609, 915, 929, 930, 1001, 1002, 1003]),
    (2009, &[101, 102, 126, 127, 128, 129, 130, 406, 501, 528, 529, 1001, 1002, 1005, 1006, 1007, 1008]),
    (2010, &[101, 215, 216, 217, 218, 219, 405, 503, 614, 615, 616, 922, 923, 924, 1001, 1004, 1005, 1006, 1007]),
    (2011, &[103, 202, 203, 204, 207, 208, 404, 405, 502, 606, 912, 1003, 1004, 1005, 1006, 1007]),
    (2012, &[102, 103, 123, 124, 125, 126, 127, 402, 403, 404, 430, 501, 622, 1001, 1002, 1003, 1004, 1005]),
    (
        2013,
        &[
            101, 102, 103, 211, 212, 213, 214, 215, 404, 405, 429, 430, 501, 610, 611, 612, 919, 920, 1001, 1002, 1003,
            1004, 1007,
        ],
    ),
    (2014, &[101, 131, 203, 204, 205, 206, 407, 501, 502, 602, 908, 1001, 1002, 1003, 1006, 1007]),
    (2015, &[101, 102, 218, 219, 220, 223, 224, 406, 501, 622, 903, 904, 1001, 1002, 1005, 1006, 1007]),
    (2016, &[101, 208, 209, 210, 211, 212, 404, 502, 609, 610, 915, 916, 1003, 1004, 1005, 1006, 1007]),
    (2017, &[102, 127, 130, 131, 201, 202, 403, 404, 501, 529, 530, 1002, 1003, 1004, 1005, 1006]),
    (2018, &[101, 215, 216, 219, 220, 221, 405, 406, 430, 501, 618, 924, 1001, 1002, 1003, 1004, 1005, 1231]),
    (2019, &[101, 204, 205, 206, 207, 208, 405, 501, 502, 503, 607, 913, 1001, 1002, 1003, 1004, 1007]),
    (2020, &[101, 124, 127, 128, 129, 130, 131, 406, 501, 504, 505, 625, 626, 1001, 1002, 1005, 1006, 1007, 1008]),
    (2021, &[101, 211, 212, 215, 216, 217, 405, 503, 504, 505, 614, 920, 921, 1001, 1004, 1005, 1006, 1007]),
    (2022, &[103, 131, 201, 202, 203, 204, 404, 405, 502, 503, 504, 603, 912, 1003, 1004, 1005, 1006, 1007]),
    (2023, &[102, 123, 124, 125, 126, 127, 405, 501, 502, 503, 622, 623, 929, 1002, 1003, 1004, 1005, 1006]),
    (2024, &[101, 209, 212, 213, 214, 215, 216, 404, 405, 501, 502, 503, 610, 916, 917, 1001, 1002, 1003, 1004, 1007]),
    (2025, &[101, 128, 129, 130, 131, 203, 204, 404, 501, 502, 505, 602, 1001, 1002, 1003, 1006, 1007, 1008]),
    (2026, &[101, 102, 216, 217, 218, 219, 220, 223, 406, 501, 504, 505, 619, 925, 1001, 1002, 1005, 1006, 1007]),
];

/// Whether the table covers `year` (outside it, every weekday counts as a trading day).
pub fn covered(year: i32) -> bool {
    (FIRST_YEAR..=LAST_YEAR).contains(&year)
}

/// Whether the exchanges were closed on `date`: a weekend, or a weekday holiday of the table.
pub fn is_closed(date: NaiveDate) -> bool {
    if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
        return true;
    }
    let Some((_, days)) = CLOSED.iter().find(|(y, _)| *y == date.year()) else {
        return false;
    };
    days.binary_search(&((date.month() * 100 + date.day()) as u16)).is_ok()
}

/// `n` trading days from `start` (inclusive when it is one), skipping weekends and the table's
/// holidays.
pub fn trading_days(start: NaiveDate, n: usize) -> Vec<NaiveDate> {
    let mut out = Vec::with_capacity(n);
    let mut d = start;
    while out.len() < n {
        if !is_closed(d) {
            out.push(d);
        }
        match d.succ_opt() {
            Some(next) => d = next,
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_table_is_sorted_lists_only_weekdays_and_covers_consecutive_years() {
        for (k, (year, days)) in CLOSED.iter().enumerate() {
            assert_eq!(*year, FIRST_YEAR + k as i32);
            assert!(days.windows(2).all(|w| w[0] < w[1]), "{year} sorted");
            for &md in *days {
                let d = NaiveDate::from_ymd_opt(*year, (md / 100) as u32, (md % 100) as u32).unwrap();
                assert!(!matches!(d.weekday(), Weekday::Sat | Weekday::Sun), "{d} is a weekday");
            }
        }
        assert_eq!(CLOSED.last().unwrap().0, LAST_YEAR);
    }

    /// (date, closed?) from the exchanges' notices.
    #[test]
    fn known_closures_and_trading_days_are_right() {
        let cases = [
            ("2021-01-01", true),  // New Year
            ("2021-01-04", false), // first trading day of 2021
            ("2021-02-11", true),  // Spring Festival eve
            ("2021-02-18", false), // back after the Spring Festival
            ("2021-10-07", true),  // National Day week
            ("2021-10-08", false), // a Friday, trading
            ("2021-10-09", true),  // a make-up workday is a Saturday: closed all the same
            ("2015-09-03", true),  // the Victory Day parade
            ("2020-01-31", true),  // epidemic extension
            ("2024-02-09", true),  // exchange-only closure on Spring Festival eve
            ("2024-02-19", false),
            ("2025-01-28", true),
            ("2026-10-07", true),
            ("2027-01-01", false), // beyond the table: weekdays only
        ];
        for (d, closed) in cases {
            assert_eq!(is_closed(day(d)), closed, "{d}");
        }
    }

    #[test]
    fn trading_days_skip_weekends_and_holidays() {
        let days = trading_days(day("2021-09-17"), 4);
        let want = ["2021-09-17", "2021-09-22", "2021-09-23", "2021-09-24"];
        assert_eq!(days.iter().map(|d| d.to_string()).collect::<Vec<_>>(), want);
        assert_eq!(trading_days(day("2021-01-01"), 0), Vec::<NaiveDate>::new());
        // 2021 had 243 trading days on SSE.
        let year: Vec<_> = trading_days(day("2021-01-01"), 300).into_iter().filter(|d| d.year() == 2021).collect();
        assert_eq!(year.len(), 243);
        assert!(covered(2021) && !covered(2030));
    }
}
