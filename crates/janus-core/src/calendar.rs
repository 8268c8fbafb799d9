//! The A-share rules as they were on each date: the one home of every dated market rule.
//!
//! A backtest over 2019 must not trade ChiNext under the 20% limit that began on 2020-08-24, nor
//! pay 2023's stamp duty in 2022. Each function here answers one question for one date (a board's
//! daily price limit, a new listing's first days, the board lot, the stamp duty, the transfer
//! fee), and each regime change is one dated row or constant with a comment naming the notice
//! behind it. [`crate::rules`] turns these answers into limit prices, lot checks and fees, and
//! lays a config's explicit values over them.
//!
//! Sources are the exchanges', the depository's (CSDC) and the Ministry of Finance's notices as
//! reported at the time; where a date could only be checked against secondary reports, its
//! comment says so.

use crate::money::{Qty, Rate};
use crate::rules::{Board, Exchange};
use chrono::NaiveDate;

/// A calendar date in a `const` (a typo in this file fails the build, not a run).
const fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(d) => d,
        None => panic!("invalid date in the rules calendar"),
    }
}

// ---- Daily price limits -------------------------------------------------------------------

/// SSE and SZSE put a 10% daily price limit on stocks from 1996-12-16; before it, none.
pub const DAILY_LIMITS_FROM: NaiveDate = date(1996, 12, 16);
/// Risk-warning (ST) names trade under a 5% limit from 1998-04-22, when the ST label began.
pub const ST_LIMIT_FROM: NaiveDate = date(1998, 4, 22);
/// ChiNext's registration reform: its limit goes from 10% to 20% (ST names too, from 5%), and
/// its new listings trade without a limit for five days, from 2020-08-24 (SZSE, ChiNext
/// trading special rules of June 2020).
pub const CHINEXT_REFORM: NaiveDate = date(2020, 8, 24);
/// Main-board risk-warning names move from a 5% to a 10% limit, like the rest of the main
/// board. SSE and SZSE consulted on it on 2025-06-27 (Xinhua, China Securities Journal); the
/// change took effect with the exchanges' trading-rule revisions of Monday 2026-07-06 (reports
/// of that day; a data check by one open-source A-share library finds main-board ST closes at
/// ±5% stopping in July 2026). Not 2025-07-07: no notice for that date was found.
pub const MAIN_ST_TEN_PERCENT: NaiveDate = date(2026, 7, 6);

/// ST names' own limit where they have one (see [`st_has_own_limit`]).
pub const ST_BPS: i64 = 500;

/// Whether ST names of `board` have a limit of their own on `date`; otherwise they follow
/// their board's limit.
pub fn st_has_own_limit(board: Board, date: NaiveDate) -> bool {
    match board {
        Board::Main => (ST_LIMIT_FROM..MAIN_ST_TEN_PERCENT).contains(&date),
        Board::ChiNext => (ST_LIMIT_FROM..CHINEXT_REFORM).contains(&date),
        // STAR (from its first trading day, 2019-07-22) and Beijing: one limit for all names.
        Board::Star | Board::Beijing => false,
    }
}

/// A board's ordinary daily limit on `date`, in basis points of the previous close (1000 =
/// 10%); `None` when the board had no daily limit.
pub fn board_limit_bps(board: Board, date: NaiveDate) -> Option<i64> {
    match board {
        Board::Main if date < DAILY_LIMITS_FROM => None,
        Board::Main => Some(1000),
        Board::ChiNext if date < CHINEXT_REFORM => Some(1000),
        Board::ChiNext => Some(2000),
        // STAR: 20% since it opened on 2019-07-22 (SSE STAR trading special rules).
        Board::Star => Some(2000),
        // Beijing codes: 30% on NEEQ's select tier (from 2020-07-27) and on the Beijing Stock
        // Exchange that took it over on 2021-11-15 (CSRC, September 2021). Earlier NEEQ
        // trading had other mechanisms, not modelled.
        Board::Beijing => Some(3000),
    }
}

/// The daily limit of a name on `date` (its ST limit where it has one), in basis points.
pub fn limit_bps(board: Board, is_st: bool, date: NaiveDate) -> Option<i64> {
    if is_st && st_has_own_limit(board, date) {
        Some(ST_BPS)
    } else {
        board_limit_bps(board, date)
    }
}

// ---- New listings -------------------------------------------------------------------------

/// The first-day bounds for new listings (a listing day trades between 64% and 144% of the
/// issue price, then the board's limit) apply to the listings after the 2012–13 IPO pause, per
/// the exchanges' notices of December 2013 on the trading of new shares. Earlier listing days
/// had no limit, only temporary halts.
pub const FIRST_DAY_BOUNDS_FROM: NaiveDate = date(2014, 1, 1);
/// Main-board listings under the full registration system trade five days without a limit;
/// the first of them listed on 2023-04-10 (SSE and SZSE main-board rules of February 2023).
pub const MAIN_REGISTRATION_LISTINGS: NaiveDate = date(2023, 4, 10);
/// The first-day bounds, in basis points of the reference price: +44%.
pub const FIRST_DAY_UP_BPS: i64 = 4400;
/// ... and -36%.
pub const FIRST_DAY_DOWN_BPS: i64 = 3600;
/// Trading days without a limit after a registration-system listing (the listing day is the
/// first of them).
pub const FREE_DAYS: u32 = 5;

/// How a day's limit prices are set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DailyLimit {
    /// No daily limit: both limit prices are zero.
    Free,
    /// `previous close × (1 ± bps / 10_000)`, rounded to the tick.
    FromPrevClose(i64),
    /// A listing day's bounds around the issue price (or, without one, the day's open).
    FirstDay { up_bps: i64, down_bps: i64 },
}

/// Where a symbol stands in its listing life on a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listing {
    /// Listed before the data begins (its listing date unknown): ordinary limits only.
    Seasoned,
    /// Listed on `listed`; `day` is the trading days since (0 on the listing day).
    New { listed: NaiveDate, day: u32 },
}

impl Listing {
    /// The same listing `k` trading days later.
    pub fn days_later(self, k: u32) -> Listing {
        match self {
            Listing::Seasoned => Listing::Seasoned,
            Listing::New { listed, day } => Listing::New { listed, day: day.saturating_add(k) },
        }
    }
}

/// A new listing's own rule for its `day`-th trading day (0 = the listing day), or `None` when
/// its board's ordinary limit applies that day.
pub fn new_listing_limit(board: Board, listed: NaiveDate, day: u32) -> Option<DailyLimit> {
    let first_days = |n: u32| (day < n).then_some(DailyLimit::Free);
    let bounds = DailyLimit::FirstDay { up_bps: FIRST_DAY_UP_BPS, down_bps: FIRST_DAY_DOWN_BPS };
    match board {
        // STAR: five days without a limit, from its first listings of 2019-07-22.
        Board::Star => first_days(FREE_DAYS),
        Board::ChiNext if listed >= CHINEXT_REFORM => first_days(FREE_DAYS),
        Board::Main if listed >= MAIN_REGISTRATION_LISTINGS => first_days(FREE_DAYS),
        Board::Main | Board::ChiNext if listed >= FIRST_DAY_BOUNDS_FROM => (day == 0).then_some(bounds),
        Board::Main | Board::ChiNext => first_days(1),
        // Beijing: the listing day only, then 30% (BSE trading rules of 2021-11-15; CSRC:
        // "no cap on the first trading day, the daily limit applies from the second").
        Board::Beijing => first_days(1),
    }
}

// ---- Board lots ---------------------------------------------------------------------------

/// The smallest buy of a board and the step above it, in shares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoardLot {
    pub min: Qty,
    pub step: Qty,
}

/// A board's order sizes. Sells follow from them (see [`BoardLot::is_valid_sell`]): a sell
/// below the minimum is allowed only when it sells the whole remaining holding, as the
/// exchanges require a remainder below the minimum to be sold at once.
pub fn board_lot(board: Board) -> BoardLot {
    match board {
        // Whole lots of 100 on the main boards and on ChiNext (before and after its reform).
        Board::Main | Board::ChiNext => BoardLot { min: 100, step: 100 },
        // STAR: at least 200 shares, then any number (SSE STAR trading special rules, 2019):
        // "a remainder below 200 shares must be sold in one order".
        Board::Star => BoardLot { min: 200, step: 1 },
        // Beijing: at least 100 shares, then any number; a remainder below 100 is sold at once.
        Board::Beijing => BoardLot { min: 100, step: 1 },
    }
}

// ---- Stamp duty ---------------------------------------------------------------------------

/// Stamp duty on a date: the rate, and whether buys pay it too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StampDuty {
    pub rate: Rate,
    pub on_buys: bool,
}

/// Securities-transaction stamp duty, from the date of each Ministry of Finance / State
/// Taxation Administration change on: (from, rate in 1e-8, buys pay too).
const STAMP_DUTY: [(NaiveDate, i64, bool); 9] = [
    (date(1991, 10, 10), 300_000, true), // 0.3% both sides (the rate the first cut replaced)
    (date(1997, 5, 12), 500_000, true),  // raised to 0.5%
    (date(1998, 6, 12), 400_000, true),  // cut to 0.4%
    (date(2001, 11, 16), 200_000, true), // cut to 0.2%
    (date(2005, 1, 24), 100_000, true),  // cut to 0.1%
    (date(2007, 5, 30), 300_000, true),  // raised to 0.3% ("5.30")
    (date(2008, 4, 24), 100_000, true),  // cut to 0.1%, both sides
    (date(2008, 9, 19), 100_000, false), // 0.1%, sells only from here on
    (date(2023, 8, 28), 50_000, false),  // halved to 0.05%, sells only
];

/// The stamp duty in force on `date` (before the first row: the first row's).
pub fn stamp_duty(date: NaiveDate) -> StampDuty {
    let k = STAMP_DUTY.partition_point(|row| row.0 <= date).max(1) - 1;
    let (_, rate, on_buys) = STAMP_DUTY[k];
    StampDuty { rate: Rate(rate), on_buys }
}

// ---- Transfer fee -------------------------------------------------------------------------

/// What the transfer fee is charged on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferFee {
    /// A rate on the value traded.
    Value(Rate),
    /// A rate on the par value traded (1 CNY a share for A-shares): a fee per share.
    Par(Rate),
}

/// The uniform transfer fee on both exchanges: CSDC's notice of July 2015 replaced Shanghai's
/// 0.3‰ of par value and Shenzhen's 0.0255‰ of value with 0.02‰ (0.002%) of value, both
/// sides, from 2015-08-01 (SSE/SZSE/CSDC Q&A of 2015-07-03).
pub const TRANSFER_BY_VALUE_FROM: NaiveDate = date(2015, 8, 1);
/// CSDC halved it to 0.01‰ (0.001%) on all three exchanges from 2022-04-29.
pub const TRANSFER_HALVED: NaiveDate = date(2022, 4, 29);

/// Shanghai's transfer fee before it went by value: (from, rate on par value in 1e-8).
const SHANGHAI_PAR_FEE: [(NaiveDate, i64); 3] = [
    // 0.5‰ of par: inferred from the 25% cut of 2012-06-01 to 0.375‰ (CSRC, April 2012).
    (date(1991, 1, 1), 50_000),
    (date(2012, 6, 1), 37_500), // 0.375‰ of par (20% above the September rate)
    (date(2012, 9, 1), 30_000), // 0.3‰ of par, a 20% cut (Futures Daily, 2012-08-03)
];

/// The transfer fee on `exchange` on `date`, paid by both sides.
pub fn transfer_fee(exchange: Exchange, date: NaiveDate) -> TransferFee {
    if date >= TRANSFER_HALVED {
        return TransferFee::Value(Rate(1_000));
    }
    if date >= TRANSFER_BY_VALUE_FROM {
        return TransferFee::Value(Rate(2_000));
    }
    match exchange {
        Exchange::Shanghai => {
            let k = SHANGHAI_PAR_FEE.partition_point(|row| row.0 <= date).max(1) - 1;
            TransferFee::Par(Rate(SHANGHAI_PAR_FEE[k].1))
        }
        // 0.0255‰ of value, the Shenzhen rate the 2015 notice replaced; its earlier history is
        // not modelled.
        Exchange::Shenzhen => TransferFee::Value(Rate(2_550)),
        // Beijing-coded shares traded on NEEQ before 2015-08-01: no CSDC transfer fee modelled.
        Exchange::Beijing => TransferFee::Value(Rate(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        date(y, m, day)
    }

    #[test]
    fn board_limits_follow_each_regime_change_by_date() {
        use Board::*;
        #[rustfmt::skip]
        let cases = [
            (Main, false, d(1996, 12, 13), None),
            (Main, false, d(1996, 12, 16), Some(1000)),
            (Main, false, d(2024, 6, 14), Some(1000)),
            (Main, true, d(1998, 4, 21), Some(1000)),
            (Main, true, d(1998, 4, 22), Some(500)),
            (Main, true, d(2024, 6, 14), Some(500)),
            (Main, true, d(2026, 7, 3), Some(500)),
            (Main, true, d(2026, 7, 6), Some(1000)),
            (ChiNext, false, d(2020, 8, 21), Some(1000)),
            (ChiNext, false, d(2020, 8, 24), Some(2000)),
            (ChiNext, true, d(2020, 8, 21), Some(500)),
            (ChiNext, true, d(2020, 8, 24), Some(2000)),
            (Star, false, d(2019, 7, 22), Some(2000)),
            (Star, true, d(2024, 1, 2), Some(2000)),
            (Beijing, false, d(2021, 11, 15), Some(3000)),
            (Beijing, true, d(2024, 1, 2), Some(3000)),
        ];
        for (board, st, date, want) in cases {
            assert_eq!(limit_bps(board, st, date), want, "{board:?} st={st} on {date}");
        }
    }

    #[test]
    fn new_listings_trade_without_a_limit_or_within_first_day_bounds_by_board_and_date() {
        use Board::*;
        use DailyLimit::*;
        let bounds = Some(FirstDay { up_bps: 4400, down_bps: 3600 });
        #[rustfmt::skip]
        let cases = [
            // STAR: five free days, the sixth has the board limit.
            (Star, d(2019, 7, 22), 0, Some(Free)),
            (Star, d(2019, 7, 22), 4, Some(Free)),
            (Star, d(2019, 7, 22), 5, None),
            // ChiNext: first-day bounds before the reform, five free days for listings from it.
            (ChiNext, d(2020, 8, 21), 0, bounds),
            (ChiNext, d(2020, 8, 21), 1, None),
            (ChiNext, d(2020, 8, 24), 0, Some(Free)),
            (ChiNext, d(2020, 8, 24), 4, Some(Free)),
            (ChiNext, d(2020, 8, 24), 5, None),
            // Main board: free listing day before 2014, bounds until registration, then five free days.
            (Main, d(2010, 6, 1), 0, Some(Free)),
            (Main, d(2010, 6, 1), 1, None),
            (Main, d(2014, 1, 17), 0, bounds),
            (Main, d(2023, 4, 7), 0, bounds),
            (Main, d(2023, 4, 7), 1, None),
            (Main, d(2023, 4, 10), 0, Some(Free)),
            (Main, d(2023, 4, 10), 4, Some(Free)),
            (Main, d(2023, 4, 10), 5, None),
            // Beijing: the listing day only.
            (Beijing, d(2021, 11, 15), 0, Some(Free)),
            (Beijing, d(2021, 11, 15), 1, None),
        ];
        for (board, listed, day, want) in cases {
            assert_eq!(new_listing_limit(board, listed, day), want, "{board:?} listed {listed}, day {day}");
        }
        let listed = d(2024, 1, 2);
        assert_eq!(Listing::New { listed, day: 3 }.days_later(2), Listing::New { listed, day: 5 });
        assert_eq!(Listing::Seasoned.days_later(2), Listing::Seasoned);
    }

    #[test]
    fn board_lots_are_whole_hundreds_except_on_star_and_beijing() {
        assert_eq!(board_lot(Board::Main), BoardLot { min: 100, step: 100 });
        assert_eq!(board_lot(Board::ChiNext), BoardLot { min: 100, step: 100 });
        assert_eq!(board_lot(Board::Star), BoardLot { min: 200, step: 1 });
        assert_eq!(board_lot(Board::Beijing), BoardLot { min: 100, step: 1 });
    }

    #[test]
    fn stamp_duty_follows_its_history_by_date() {
        #[rustfmt::skip]
        let cases = [
            (d(1990, 1, 1), 300_000, true),
            (d(1997, 5, 11), 300_000, true),
            (d(1997, 5, 12), 500_000, true),
            (d(1998, 6, 12), 400_000, true),
            (d(2001, 11, 16), 200_000, true),
            (d(2005, 1, 24), 100_000, true),
            (d(2007, 5, 29), 100_000, true),
            (d(2007, 5, 30), 300_000, true),
            (d(2008, 4, 23), 300_000, true),
            (d(2008, 4, 24), 100_000, true),
            (d(2008, 9, 18), 100_000, true),
            (d(2008, 9, 19), 100_000, false),
            (d(2023, 8, 25), 100_000, false),
            (d(2023, 8, 28), 50_000, false),
            (d(2030, 1, 2), 50_000, false),
        ];
        for (date, rate, on_buys) in cases {
            assert_eq!(stamp_duty(date), StampDuty { rate: Rate(rate), on_buys }, "{date}");
        }
        assert!(STAMP_DUTY.windows(2).all(|w| w[0].0 < w[1].0), "rows in date order");
    }

    #[test]
    fn transfer_fee_follows_its_history_by_exchange_and_date() {
        use Exchange::*;
        use TransferFee::*;
        #[rustfmt::skip]
        let cases = [
            (Shanghai, d(2012, 5, 31), Par(Rate(50_000))),
            (Shanghai, d(2012, 6, 1), Par(Rate(37_500))),
            (Shanghai, d(2012, 9, 1), Par(Rate(30_000))),
            (Shanghai, d(2015, 7, 31), Par(Rate(30_000))),
            (Shenzhen, d(2015, 7, 31), Value(Rate(2_550))),
            (Beijing, d(2015, 7, 31), Value(Rate(0))),
            (Shanghai, d(2015, 8, 3), Value(Rate(2_000))),
            (Shenzhen, d(2015, 8, 3), Value(Rate(2_000))),
            (Beijing, d(2021, 11, 15), Value(Rate(2_000))),
            (Shanghai, d(2022, 4, 28), Value(Rate(2_000))),
            (Shanghai, d(2022, 4, 29), Value(Rate(1_000))),
            (Shenzhen, d(2022, 4, 29), Value(Rate(1_000))),
            (Beijing, d(2024, 1, 2), Value(Rate(1_000))),
        ];
        for (exchange, date, want) in cases {
            assert_eq!(transfer_fee(exchange, date), want, "{exchange:?} on {date}");
        }
    }
}
