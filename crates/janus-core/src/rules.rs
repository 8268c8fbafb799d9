//! A-share market rules as pure functions: boards and their daily price limits, board lots,
//! and the fee schedule (commission with a per-order minimum, stamp duty, transfer fee).

use crate::money::{div_round, Money, Price, Qty, Rate};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The board a code trades on; it decides the daily price limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Board {
    /// Shanghai 60xxxx and Shenzhen 00xxxx main boards.
    Main,
    /// Shenzhen ChiNext, 300xxx and 301xxx.
    ChiNext,
    /// Shanghai STAR market, 688xxx and 689xxx.
    Star,
    /// Beijing Stock Exchange (43/83/87/88/92xxxx).
    Beijing,
}

impl Board {
    /// Derive the board from a code such as `600000`, `600000.SH`, `SZ300750` or `bj830799`.
    /// Unknown prefixes are treated as main board (the strictest common limit).
    pub fn from_symbol(symbol: &str) -> Board {
        let digits: String = symbol.chars().filter(|c| c.is_ascii_digit()).take(6).collect();
        let upper = symbol.to_ascii_uppercase();
        if upper.contains("BJ") {
            return Board::Beijing;
        }
        match digits.get(..3).unwrap_or("") {
            "300" | "301" => Board::ChiNext,
            "688" | "689" => Board::Star,
            p if p.starts_with("43") || p.starts_with("83") || p.starts_with("87") => Board::Beijing,
            p if p.starts_with("88") || p.starts_with("92") => Board::Beijing,
            _ => Board::Main,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Board::Main => "main",
            Board::ChiNext => "chinext",
            Board::Star => "star",
            Board::Beijing => "beijing",
        }
    }
}

/// Daily price-limit percentages in basis points (1000 = 10%), by board.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitRules {
    pub main_bps: i64,
    pub chinext_bps: i64,
    pub star_bps: i64,
    pub beijing_bps: i64,
    /// Main-board ST names. ChiNext and STAR ST names keep their board's 20% since 2020.
    pub st_bps: i64,
}

impl Default for LimitRules {
    fn default() -> Self {
        LimitRules { main_bps: 1000, chinext_bps: 2000, star_bps: 2000, beijing_bps: 3000, st_bps: 500 }
    }
}

impl LimitRules {
    pub fn limit_bps(&self, board: Board, is_st: bool) -> i64 {
        match board {
            Board::Main if is_st => self.st_bps,
            Board::Main => self.main_bps,
            Board::ChiNext => self.chinext_bps,
            Board::Star => self.star_bps,
            Board::Beijing => self.beijing_bps,
        }
    }

    /// Limit-up and limit-down prices for a day from the previous close, rounded to the tick.
    pub fn limits(&self, prev_close: Price, board: Board, is_st: bool) -> (Price, Price) {
        limit_prices(prev_close, self.limit_bps(board, is_st))
    }
}

/// `prev_close * (1 ± bps/10000)`, each rounded half up to 0.01, computed exactly.
pub fn limit_prices(prev_close: Price, bps: i64) -> (Price, Price) {
    let up = div_round(prev_close.0 as i128 * (10_000 + bps) as i128, 10_000) as i64;
    let down = div_round(prev_close.0 as i128 * (10_000 - bps) as i128, 10_000) as i64;
    (Price(up).round_to_tick(), Price(down).round_to_tick())
}

/// Commission, stamp duty and transfer fee. Rates are exact; amounts round to the fen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeSchedule {
    pub commission: Rate,
    /// Minimum commission per order (across all its fills).
    pub min_commission: Money,
    /// Stamp duty on sells before `stamp_duty_change_date`.
    pub stamp_duty_before: Rate,
    /// Stamp duty on sells from `stamp_duty_change_date` on.
    pub stamp_duty_after: Rate,
    pub stamp_duty_change_date: NaiveDate,
    /// Transfer fee on both sides.
    pub transfer: Rate,
}

impl Default for FeeSchedule {
    fn default() -> Self {
        FeeSchedule {
            commission: Rate(25_000),         // 0.025%
            min_commission: Money(50_000),    // 5 CNY
            stamp_duty_before: Rate(100_000), // 0.1%
            stamp_duty_after: Rate(50_000),   // 0.05%
            stamp_duty_change_date: NaiveDate::from_ymd_opt(2023, 8, 28).expect("valid date"),
            transfer: Rate(1_000), // 0.001%
        }
    }
}

/// Fees owed by an order whose fills so far total `notional`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fees {
    pub commission: Money,
    /// Stamp duty and transfer fee together: what the state takes.
    pub taxes: Money,
}

impl Fees {
    pub fn total(self) -> Money {
        self.commission + self.taxes
    }
}

impl FeeSchedule {
    /// No fees at all: the frictionless twins of a run.
    pub fn free() -> FeeSchedule {
        FeeSchedule {
            commission: Rate(0),
            min_commission: Money::ZERO,
            stamp_duty_before: Rate(0),
            stamp_duty_after: Rate(0),
            transfer: Rate(0),
            ..FeeSchedule::default()
        }
    }

    pub fn stamp_duty_rate(&self, date: NaiveDate) -> Rate {
        if date < self.stamp_duty_change_date {
            self.stamp_duty_before
        } else {
            self.stamp_duty_after
        }
    }

    /// Fees for an order's cumulative `notional` on `date`. Fills of one order pay the
    /// difference between this total before and after the fill, so the per-order minimum
    /// commission is charged once however an order is split.
    pub fn order_fees(&self, notional: Money, is_sell: bool, date: NaiveDate) -> Fees {
        if notional.0 == 0 {
            return Fees::default();
        }
        let commission = notional.times_rate_to_fen(self.commission).max(self.min_commission);
        let mut taxes = notional.times_rate_to_fen(self.transfer);
        if is_sell {
            taxes += notional.times_rate_to_fen(self.stamp_duty_rate(date));
        }
        Fees { commission, taxes }
    }
}

/// Board-lot rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotRules {
    pub lot: Qty,
}

impl Default for LotRules {
    fn default() -> Self {
        LotRules { lot: 100 }
    }
}

impl LotRules {
    /// Round a wanted buy size down to whole lots.
    pub fn round_buy(&self, qty: Qty) -> Qty {
        qty / self.lot * self.lot
    }
    /// A buy must be whole lots; a sell may be an odd lot only when it closes the position.
    pub fn is_valid(&self, is_sell: bool, qty: Qty, position_amount: Qty) -> bool {
        qty > 0 && (qty % self.lot == 0 || (is_sell && qty == position_amount))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn board_is_derived_from_the_code() {
        let cases = [
            ("600000.SH", Board::Main),
            ("000001.SZ", Board::Main),
            ("002594", Board::Main),
            ("300750.SZ", Board::ChiNext),
            ("301269.SZ", Board::ChiNext),
            ("688981.SH", Board::Star),
            ("830799.BJ", Board::Beijing),
            ("920001", Board::Beijing),
            ("SZ300750", Board::ChiNext),
        ];
        for (code, board) in cases {
            assert_eq!(Board::from_symbol(code), board, "{code}");
        }
    }

    #[test]
    fn limit_prices_round_to_the_tick_by_board() {
        let r = LimitRules::default();
        let p = Price::from_yuan(10.05);
        assert_eq!(r.limits(p, Board::Main, false), (Price::from_yuan(11.06), Price::from_yuan(9.05)));
        assert_eq!(r.limits(p, Board::Main, true), (Price::from_yuan(10.55), Price::from_yuan(9.55)));
        assert_eq!(r.limits(p, Board::ChiNext, false), (Price::from_yuan(12.06), Price::from_yuan(8.04)));
        assert_eq!(r.limits(p, Board::ChiNext, true), (Price::from_yuan(12.06), Price::from_yuan(8.04)));
        assert_eq!(r.limits(p, Board::Beijing, false), (Price::from_yuan(13.07), Price::from_yuan(7.04)));
    }

    #[test]
    fn minimum_commission_applies_to_a_small_order() {
        let f = FeeSchedule::default();
        // 100 shares at 10 CNY: 0.025% is 0.25 CNY, the minimum of 5 CNY applies.
        let fees = f.order_fees(Money::from_yuan(1_000.0), false, d(2024, 1, 2));
        assert_eq!(fees.commission, Money::from_yuan(5.0));
        assert_eq!(fees.taxes, Money::from_yuan(0.01));
    }

    #[test]
    fn stamp_duty_halves_on_2023_08_28_and_only_on_sells() {
        let f = FeeSchedule::default();
        let n = Money::from_yuan(100_000.0);
        let before = f.order_fees(n, true, d(2023, 8, 25));
        let after = f.order_fees(n, true, d(2023, 8, 28));
        let buy = f.order_fees(n, false, d(2023, 8, 25));
        assert_eq!(before.taxes, Money::from_yuan(100.0 + 1.0));
        assert_eq!(after.taxes, Money::from_yuan(50.0 + 1.0));
        assert_eq!(buy.taxes, Money::from_yuan(1.0));
        assert_eq!(before.commission, Money::from_yuan(25.0));
    }

    #[test]
    fn odd_lot_sell_allowed_only_when_closing_the_position() {
        let l = LotRules::default();
        assert!(l.is_valid(true, 150, 150));
        assert!(!l.is_valid(true, 50, 150));
        assert!(l.is_valid(true, 100, 150));
        assert!(!l.is_valid(false, 150, 0));
        assert!(!l.is_valid(false, 0, 0));
        assert_eq!(l.round_buy(1_234), 1_200);
    }
}
