//! A-share market rules as pure functions: boards and exchanges, daily limit prices, board lots
//! and the fee schedule (commission with a per-order minimum, stamp duty, transfer fee).
//!
//! The numbers and dates come from [`crate::calendar`], the rules as they were on each date;
//! this module turns them into prices, lot checks and fees, and lays a config's explicit values
//! over them. An explicit value wins over the calendar for every date it covers.

use crate::calendar::{self, BoardLot, DailyLimit, Listing, StampDuty, TransferFee};
use crate::money::{div_round, Money, Price, Qty, Rate, SCALE, TICK};
use crate::order::{Order, Side};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The board a code trades on; it decides the daily price limit and the board lot.
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

/// The exchange a code trades on; it decides the transfer fee before 2015-08-01.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Exchange {
    Shanghai,
    Shenzhen,
    Beijing,
}

impl Exchange {
    /// Beijing codes as [`Board::from_symbol`] knows them; codes starting with 6 or 9 are
    /// Shanghai's; the rest (0, 2, 3) Shenzhen's.
    pub fn from_symbol(symbol: &str) -> Exchange {
        if Board::from_symbol(symbol) == Board::Beijing {
            return Exchange::Beijing;
        }
        match symbol.chars().find(|c| c.is_ascii_digit()) {
            Some('6' | '9') => Exchange::Shanghai,
            _ => Exchange::Shenzhen,
        }
    }
}

/// `reference × (1 + up_bps / 10_000)` and `reference × (1 − down_bps / 10_000)`, each rounded
/// half up to the 0.01 tick in one exact integer step (10.0045 × 1.1 = 11.00495 gives 11.00:
/// rounding first to 0.0001 and then to the tick would give 11.01).
#[inline]
pub fn bounds(reference: Price, up_bps: i64, down_bps: i64) -> (Price, Price) {
    let to_tick = |bps: i64| {
        let d = 10_000 * TICK;
        // Every real price fits the i64 product (it would take 4.6e10 CNY a share to overflow);
        // i128 division costs several times more in the loop that derives every cell's limits.
        // A positive product (every real limit) rounds half up with one division and no
        // branch on the remainder, which the loop could not predict.
        let ticks = match reference.0.checked_mul(10_000 + bps) {
            Some(n) if (0..=i64::MAX - d / 2).contains(&n) => (n + d / 2) / d,
            Some(n) => {
                let (q, r) = (n / d, n % d);
                if 2 * r.abs() >= d {
                    q + n.signum()
                } else {
                    q
                }
            }
            None => div_round(reference.0 as i128 * (10_000 + bps) as i128, d as i128) as i64,
        };
        Price(ticks * TICK)
    };
    (to_tick(up_bps), to_tick(-down_bps))
}

/// Limit-up and limit-down from the previous close at `bps` either way (see [`bounds`]).
#[inline]
pub fn limit_prices(prev_close: Price, bps: i64) -> (Price, Price) {
    bounds(prev_close, bps, bps)
}

impl DailyLimit {
    /// The day's limit-up and limit-down: from `prev_close` on an ordinary day (zero when it is
    /// unknown), from `listing_reference` (the issue price, or the listing day's open) under
    /// first-day bounds, zero on a day without limits.
    #[inline]
    pub fn prices(self, prev_close: Option<Price>, listing_reference: Price) -> (Price, Price) {
        match self {
            DailyLimit::Free => (Price::ZERO, Price::ZERO),
            DailyLimit::FromPrevClose(bps) => prev_close.map_or((Price::ZERO, Price::ZERO), |pc| limit_prices(pc, bps)),
            DailyLimit::FirstDay { .. } if !listing_reference.is_positive() => (Price::ZERO, Price::ZERO),
            DailyLimit::FirstDay { up_bps, down_bps } => bounds(listing_reference, up_bps, down_bps),
        }
    }
}

/// Daily price limits: the dated history of [`calendar`], with the config's explicit
/// percentages (`[market.limits]`, basis points: 1000 = 10%) laid over it. An explicit value
/// replaces the calendar's ordinary limit of its board on every date; new listings' first days
/// keep their own rules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitRules {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_bps: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chinext_bps: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub star_bps: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beijing_bps: Option<i64>,
    /// ST names, wherever they have a limit of their own (main board before 2026-07-06,
    /// ChiNext before 2020-08-24); elsewhere they follow their board's value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub st_bps: Option<i64>,
}

impl LimitRules {
    /// The ordinary limit of a name on `date` in basis points (`None`: no daily limit).
    pub fn limit_bps(&self, board: Board, is_st: bool, date: NaiveDate) -> Option<i64> {
        if is_st && calendar::st_has_own_limit(board, date) {
            if let Some(bps) = self.st_bps {
                return Some(bps);
            }
            return calendar::limit_bps(board, is_st, date);
        }
        let explicit = match board {
            Board::Main => self.main_bps,
            Board::ChiNext => self.chinext_bps,
            Board::Star => self.star_bps,
            Board::Beijing => self.beijing_bps,
        };
        explicit.or_else(|| calendar::limit_bps(board, is_st, date))
    }

    /// How `date`'s limit prices of a name are set, given where it stands in its listing life.
    pub fn daily_limit(&self, date: NaiveDate, board: Board, is_st: bool, listing: Listing) -> DailyLimit {
        if let Listing::New { listed, day } = listing {
            if let Some(rule) = calendar::new_listing_limit(board, listed, day) {
                return rule;
            }
        }
        self.limit_bps(board, is_st, date).map_or(DailyLimit::Free, DailyLimit::FromPrevClose)
    }
}

/// Commission, stamp duty and transfer fee. Rates are exact; amounts round to the fen.
///
/// Stamp duty and transfer fee follow [`calendar`] unless given: `stamp_duty_before` and
/// `stamp_duty_after` are explicit rates on sells before and from `stamp_duty_change_date` (each
/// replaces the calendar for its side of the date), `transfer` an explicit rate on the value of
/// both sides on every date and exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeSchedule {
    pub commission: Rate,
    /// Minimum commission per order (across all its fills).
    pub min_commission: Money,
    pub stamp_duty_before: Option<Rate>,
    pub stamp_duty_after: Option<Rate>,
    pub stamp_duty_change_date: NaiveDate,
    pub transfer: Option<Rate>,
}

impl Default for FeeSchedule {
    fn default() -> Self {
        FeeSchedule {
            commission: Rate(25_000),      // 0.025%
            min_commission: Money(50_000), // 5 CNY
            stamp_duty_before: None,
            stamp_duty_after: None,
            stamp_duty_change_date: NaiveDate::from_ymd_opt(2023, 8, 28).unwrap_or_default(),
            transfer: None,
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
            stamp_duty_before: Some(Rate(0)),
            stamp_duty_after: Some(Rate(0)),
            transfer: Some(Rate(0)),
            ..FeeSchedule::default()
        }
    }

    /// The stamp duty on `date`: an explicit rate (sells only), else the calendar's.
    pub fn stamp_duty(&self, date: NaiveDate) -> StampDuty {
        let explicit = if date < self.stamp_duty_change_date { self.stamp_duty_before } else { self.stamp_duty_after };
        explicit.map_or_else(|| calendar::stamp_duty(date), |rate| StampDuty { rate, on_buys: false })
    }

    /// The transfer fee on `exchange` on `date`: an explicit rate on value, else the calendar's.
    pub fn transfer_fee(&self, exchange: Exchange, date: NaiveDate) -> TransferFee {
        self.transfer.map_or_else(|| calendar::transfer_fee(exchange, date), TransferFee::Value)
    }

    /// Fees for an order on `exchange` whose fills total `qty` shares worth `notional` on
    /// `date`. Fills of one order pay the difference between this total before and after the
    /// fill ([`FeeSchedule::fill_fees`]), so the per-order minimum commission is charged once
    /// however an order is split.
    pub fn order_fees(&self, exchange: Exchange, is_sell: bool, date: NaiveDate, qty: Qty, notional: Money) -> Fees {
        if notional.0 == 0 {
            return Fees::default();
        }
        let commission = notional.times_rate_to_fen(self.commission).max(self.min_commission);
        let mut taxes = match self.transfer_fee(exchange, date) {
            TransferFee::Value(rate) => notional.times_rate_to_fen(rate),
            // Par value 1 CNY a share.
            TransferFee::Par(rate) => Money(qty * SCALE).times_rate_to_fen(rate),
        };
        let stamp = self.stamp_duty(date);
        if is_sell || stamp.on_buys {
            taxes += notional.times_rate_to_fen(stamp.rate);
        }
        Fees { commission, taxes }
    }

    /// What a fill of `qty` shares at `price` on `date` adds to `order`'s fees: the order's
    /// fee total after the fill minus what it has paid.
    pub fn fill_fees(&self, order: &Order, qty: Qty, price: Price, date: NaiveDate) -> Fees {
        let total = self.order_fees(
            Exchange::from_symbol(&order.symbol),
            order.side == Side::Sell,
            date,
            order.filled + qty,
            order.filled_notional + price.notional(qty),
        );
        Fees { commission: total.commission - order.commission, taxes: total.taxes - order.taxes }
    }
}

impl BoardLot {
    /// A buy is at least the minimum, in steps above it.
    pub fn is_valid_buy(self, qty: Qty) -> bool {
        qty >= self.min && (qty - self.min) % self.step == 0
    }
    /// A sell is a valid size, or sells the whole remaining holding (a remainder below the
    /// minimum must be sold at once, and an odd lot only closes a position).
    pub fn is_valid_sell(self, qty: Qty, holding: Qty) -> bool {
        qty > 0 && (self.is_valid_buy(qty) || qty == holding)
    }
    /// The largest valid buy not above `qty` (0 when even the minimum is more).
    pub fn round_buy(self, qty: Qty) -> Qty {
        if qty < self.min {
            0
        } else {
            qty - (qty - self.min) % self.step
        }
    }
    /// The rule in words, for refusal messages.
    pub fn describe(self) -> String {
        if self.step == self.min {
            format!("whole lots of {}", self.min)
        } else if self.step == 1 {
            format!("at least {} shares", self.min)
        } else {
            format!("at least {} shares in steps of {}", self.min, self.step)
        }
    }
}

/// Board lots: each board's own ([`calendar::board_lot`]) unless the config sets one lot
/// (`market.lot`) for every board.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotRules {
    pub lot: Option<Qty>,
}

impl LotRules {
    pub fn board(&self, board: Board) -> BoardLot {
        match self.lot {
            Some(lot) => BoardLot { min: lot, step: lot },
            None => calendar::board_lot(board),
        }
    }
    /// The share step of `board`'s orders (what partial fills round to).
    pub fn step(&self, board: Board) -> Qty {
        self.board(board).step
    }
    /// Round a wanted buy size down to a valid one (0 when below the minimum).
    pub fn round_buy(&self, board: Board, qty: Qty) -> Qty {
        self.board(board).round_buy(qty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::{OrderId, OrderType};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn p(text: &str) -> Price {
        Price(crate::money::parse_fixed(text, 4).unwrap())
    }

    #[test]
    fn board_and_exchange_are_derived_from_the_code() {
        let cases = [
            ("600000.SH", Board::Main, Exchange::Shanghai),
            ("000001.SZ", Board::Main, Exchange::Shenzhen),
            ("002594", Board::Main, Exchange::Shenzhen),
            ("300750.SZ", Board::ChiNext, Exchange::Shenzhen),
            ("301269.SZ", Board::ChiNext, Exchange::Shenzhen),
            ("688981.SH", Board::Star, Exchange::Shanghai),
            ("830799.BJ", Board::Beijing, Exchange::Beijing),
            ("920001", Board::Beijing, Exchange::Beijing),
            ("SZ300750", Board::ChiNext, Exchange::Shenzhen),
            ("sh601318", Board::Main, Exchange::Shanghai),
        ];
        for (code, board, exchange) in cases {
            assert_eq!(Board::from_symbol(code), board, "{code}");
            assert_eq!(Exchange::from_symbol(code), exchange, "{code}");
        }
    }

    #[test]
    fn limit_prices_are_rounded_half_up_to_the_tick_in_one_step() {
        #[rustfmt::skip]
        let cases = [
            // (previous close, bps, limit-up, limit-down)
            ("10.0045", 1000, "11.00", "9.00"),   // 11.00495 -> 11.00 (two steps gave 11.01)
            ("10.05", 1000, "11.06", "9.05"),     // 11.055 and 9.045: exact halves go up
            ("10.05", 500, "10.55", "9.55"),      // 10.5525, 9.5475
            ("10.05", 2000, "12.06", "8.04"),
            ("10.05", 3000, "13.07", "7.04"),     // 13.065, 7.035
            ("4.26", 1000, "4.69", "3.83"),       // 4.686, 3.834
            ("0.01", 1000, "0.01", "0.01"),       // the tick is the floor of a penny stock
            ("12.3449", 1000, "13.58", "11.11"),  // 13.57939, 11.11041
            ("2.215", 500, "2.33", "2.10"),       // 2.32575, 2.10425
        ];
        for (close, bps, up, down) in cases {
            assert_eq!(limit_prices(p(close), bps), (p(up), p(down)), "{close} at {bps} bps");
        }
        // First-day bounds around a reference: 144% and 64% of it.
        assert_eq!(bounds(p("10.00"), 4400, 3600), (p("14.40"), p("6.40")));
        assert_eq!(bounds(p("7.77"), 4400, 3600), (p("11.19"), p("4.97")));
    }

    proptest::proptest! {
        /// The integer fast path gives what one exact rounding (half away from zero) of the
        /// 128-bit product gives, for any price and percentage, negative ones included.
        #[test]
        fn bounds_round_the_exact_product_once(price in -10_000_000_000i64..10_000_000_000_000, up in -20_000i64..20_000, down in -20_000i64..20_000) {
            let exact = |bps: i64| {
                let d = 10_000 * TICK as i128;
                Price(div_round(price as i128 * (10_000 + bps) as i128, d) as i64 * TICK)
            };
            proptest::prop_assert_eq!(bounds(Price(price), up, down), (exact(up), exact(-down)));
        }
    }

    #[test]
    fn a_day_rule_gives_prices_from_its_own_reference() {
        let close = Some(p("10.00"));
        assert_eq!(DailyLimit::Free.prices(close, p("9.00")), (Price::ZERO, Price::ZERO));
        assert_eq!(DailyLimit::FromPrevClose(1000).prices(close, p("9.00")), (p("11.00"), p("9.00")));
        assert_eq!(DailyLimit::FromPrevClose(1000).prices(None, p("9.00")), (Price::ZERO, Price::ZERO));
        let first = DailyLimit::FirstDay { up_bps: 4400, down_bps: 3600 };
        assert_eq!(first.prices(None, p("9.00")), (p("12.96"), p("5.76")));
        assert_eq!(first.prices(None, Price::ZERO), (Price::ZERO, Price::ZERO));
    }

    #[test]
    fn explicit_limits_win_over_the_calendar_on_every_date() {
        let history = LimitRules::default();
        let before = d(2020, 8, 21);
        assert_eq!(history.limit_bps(Board::ChiNext, false, before), Some(1000));
        let flat = LimitRules { chinext_bps: Some(2000), st_bps: Some(300), ..LimitRules::default() };
        assert_eq!(flat.limit_bps(Board::ChiNext, false, before), Some(2000));
        assert_eq!(flat.limit_bps(Board::ChiNext, true, before), Some(300), "ChiNext ST had its own limit");
        assert_eq!(flat.limit_bps(Board::ChiNext, true, d(2021, 1, 4)), Some(2000), "then followed the board");
        assert_eq!(flat.limit_bps(Board::Main, true, d(2021, 1, 4)), Some(300));
        assert_eq!(flat.limit_bps(Board::Main, false, d(2021, 1, 4)), Some(1000), "the calendar fills the rest");
        let main = LimitRules { main_bps: Some(700), ..LimitRules::default() };
        assert_eq!(main.limit_bps(Board::Main, false, d(1990, 1, 2)), Some(700));
        assert_eq!(main.limit_bps(Board::Main, true, d(2024, 1, 2)), Some(500), "ST keeps its calendar limit");
    }

    #[test]
    fn new_listing_rules_come_before_the_ordinary_limit() {
        let r = LimitRules { star_bps: Some(1000), ..LimitRules::default() };
        let listed = d(2023, 3, 1);
        let day = |n| Listing::New { listed, day: n };
        assert_eq!(r.daily_limit(listed, Board::Star, false, day(0)), DailyLimit::Free);
        assert_eq!(r.daily_limit(d(2023, 3, 8), Board::Star, false, day(5)), DailyLimit::FromPrevClose(1000));
        assert_eq!(
            r.daily_limit(listed, Board::Main, false, day(0)),
            DailyLimit::FirstDay { up_bps: 4400, down_bps: 3600 }
        );
        assert_eq!(r.daily_limit(listed, Board::Main, true, Listing::Seasoned), DailyLimit::FromPrevClose(500));
        assert_eq!(r.daily_limit(d(1995, 1, 3), Board::Main, false, Listing::Seasoned), DailyLimit::Free);
    }

    fn fees(f: &FeeSchedule, ex: Exchange, sell: bool, date: NaiveDate, qty: Qty, price: &str) -> Fees {
        f.order_fees(ex, sell, date, qty, p(price).notional(qty))
    }

    #[test]
    fn minimum_commission_applies_to_a_small_order() {
        let f = FeeSchedule::default();
        // 100 shares at 10 CNY: 0.025% is 0.25 CNY, the minimum of 5 CNY applies.
        let got = fees(&f, Exchange::Shanghai, false, d(2024, 1, 2), 100, "10.00");
        assert_eq!(got, Fees { commission: Money::from_yuan(5.0), taxes: Money::from_yuan(0.01) });
    }

    #[test]
    fn fees_follow_the_dated_schedule() {
        let f = FeeSchedule::default();
        let y = Money::from_yuan;
        #[rustfmt::skip]
        let cases = [
            // 10,000 shares at 10.00 = 100,000 CNY; commission 25 throughout.
            (Exchange::Shanghai, true, d(2023, 8, 25), y(100.0 + 1.0)),  // 0.1% stamp + 0.001% transfer
            (Exchange::Shanghai, true, d(2023, 8, 28), y(50.0 + 1.0)),   // 0.05% from 2023-08-28
            (Exchange::Shanghai, false, d(2023, 8, 25), y(1.0)),         // no stamp duty on buys
            (Exchange::Shenzhen, true, d(2022, 4, 28), y(100.0 + 2.0)),  // 0.002% transfer until 04-28
            (Exchange::Shenzhen, true, d(2022, 4, 29), y(100.0 + 1.0)),
            (Exchange::Shanghai, false, d(2008, 4, 23), y(300.0 + 5.0)), // 0.3% on buys too; 0.5‰ of par
            (Exchange::Shanghai, false, d(2008, 4, 24), y(100.0 + 5.0)), // 0.1% both sides
            (Exchange::Shanghai, false, d(2008, 9, 19), y(5.0)),         // buys pay none from 09-19
            (Exchange::Shenzhen, false, d(2008, 9, 19), y(2.55)),        // 0.0255‰ of value
            (Exchange::Shanghai, true, d(2015, 7, 31), y(100.0 + 3.0)),  // 0.03 CNY per 100 shares
            (Exchange::Shanghai, true, d(2015, 8, 3), y(100.0 + 2.0)),   // 0.002% of value
            (Exchange::Beijing, false, d(2021, 11, 15), y(2.0)),
        ];
        for (ex, sell, date, taxes) in cases {
            let got = fees(&f, ex, sell, date, 10_000, "10.00");
            assert_eq!(got, Fees { commission: y(25.0), taxes }, "{ex:?} sell={sell} on {date}");
        }
        // The par-value fee counts shares, not value: 10,000 shares at 50.00 still pay 3.00.
        assert_eq!(fees(&f, Exchange::Shanghai, false, d(2014, 6, 3), 10_000, "50.00").taxes, y(3.0));
    }

    #[test]
    fn explicit_fee_rates_win_over_the_calendar() {
        let f = FeeSchedule {
            stamp_duty_before: Some(Rate(200_000)),
            transfer: Some(Rate(1_000)),
            ..FeeSchedule::default()
        };
        let y = Money::from_yuan;
        // 0.2% on sells before the change date, even in 2008 (and never on buys); the calendar after it.
        assert_eq!(fees(&f, Exchange::Shanghai, true, d(2008, 5, 5), 10_000, "10.00").taxes, y(200.0 + 1.0));
        assert_eq!(fees(&f, Exchange::Shanghai, false, d(2008, 5, 5), 10_000, "10.00").taxes, y(1.0));
        assert_eq!(fees(&f, Exchange::Shanghai, true, d(2023, 9, 1), 10_000, "10.00").taxes, y(50.0 + 1.0));
        let free = FeeSchedule::free();
        assert_eq!(fees(&free, Exchange::Shanghai, true, d(2008, 5, 5), 10_000, "10.00"), Fees::default());
    }

    #[test]
    fn a_fill_pays_what_the_order_total_adds() {
        let f = FeeSchedule::default();
        let mut o = Order::new(OrderId(1), "600000.SH".into(), Side::Sell, OrderType::Market, 2_000, d(2024, 1, 2));
        let first = f.fill_fees(&o, 1_000, p("10.00"), d(2024, 1, 2));
        assert_eq!(first, Fees { commission: Money::from_yuan(5.0), taxes: Money::from_yuan(5.0 + 0.1) });
        (o.filled, o.filled_notional, o.commission, o.taxes) =
            (1_000, p("10.00").notional(1_000), first.commission, first.taxes);
        let second = f.fill_fees(&o, 1_000, p("10.00"), d(2024, 1, 2));
        assert_eq!(
            second,
            Fees { commission: Money::ZERO, taxes: Money::from_yuan(5.0 + 0.1) },
            "the minimum is paid once"
        );
    }

    #[test]
    fn board_lots_decide_valid_buys_and_sells() {
        let by_board = LotRules::default();
        #[rustfmt::skip]
        let cases = [
            // (board, qty, holding, valid buy, valid sell)
            (Board::Main, 100, 150, true, true),
            (Board::Main, 150, 150, false, true),   // odd lot only to close
            (Board::Main, 50, 150, false, false),
            (Board::ChiNext, 250, 300, false, false),
            (Board::Star, 200, 500, true, true),
            (Board::Star, 250, 500, true, true),    // 200, then 1-share steps
            (Board::Star, 199, 500, false, false),
            (Board::Star, 150, 150, false, true),   // a remainder below 200 goes at once
            (Board::Star, 100, 150, false, false),
            (Board::Beijing, 101, 300, true, true),
            (Board::Beijing, 99, 300, false, false),
            (Board::Beijing, 99, 99, false, true),
            (Board::Main, 0, 0, false, false),
        ];
        for (board, qty, holding, buy, sell) in cases {
            let lot = by_board.board(board);
            assert_eq!(lot.is_valid_buy(qty), buy, "{board:?} buy {qty}");
            assert_eq!(lot.is_valid_sell(qty, holding), sell, "{board:?} sell {qty} of {holding}");
        }
        assert_eq!(by_board.round_buy(Board::Main, 1_234), 1_200);
        assert_eq!(by_board.round_buy(Board::Star, 1_234), 1_234);
        assert_eq!(by_board.round_buy(Board::Star, 199), 0);
        assert_eq!(by_board.round_buy(Board::Beijing, 99), 0);
        let flat = LotRules { lot: Some(100) };
        assert_eq!(flat.round_buy(Board::Star, 1_234), 1_200, "an explicit lot applies to every board");
        assert!(!flat.board(Board::Star).is_valid_buy(250));
        assert_eq!(by_board.board(Board::Star).describe(), "at least 200 shares");
        assert_eq!(by_board.board(Board::Main).describe(), "whole lots of 100");
    }
}
