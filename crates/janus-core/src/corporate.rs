//! Corporate actions: cash dividends, bonus and capitalization shares (and splits), rights
//! issues. Trading happens at raw prices; on an ex-date the exchange publishes an ex-rights
//! reference price (除权除息参考价) that the day's price limits are computed from, and a holder's
//! shares, cost and cash change as the action says. Everything here is exact integer math.

use crate::money::{div_round, Money, Price, Qty, Rate, RATE_SCALE};
use serde::{Deserialize, Serialize};

/// One action on one stock's ex-date, per held share.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorporateAction {
    /// Pre-tax cash dividend per share (派息).
    pub cash_dividend: Price,
    /// New shares per held share from bonus issues, capitalization of reserves and splits
    /// (送股 + 转增; 10-for-10 is 1.0), in rate units of 1e-8.
    pub share_ratio: Rate,
    /// Shares offered per held share in a rights issue (配股), and their price.
    pub rights_ratio: Rate,
    pub rights_price: Price,
}

impl CorporateAction {
    pub fn is_empty(&self) -> bool {
        self.cash_dividend.0 == 0 && self.share_ratio.0 == 0 && self.rights_ratio.0 == 0
    }

    /// The ex-rights reference price from the previous close, exact to 0.0001 before rounding
    /// half up to the 0.01 tick in one step:
    /// `(prev_close - dividend + rights_price x rights_ratio) / (1 + share_ratio + rights_ratio)`.
    pub fn reference_price(&self, prev_close: Price) -> Price {
        let s = RATE_SCALE as i128;
        let num = (prev_close.0 as i128 - self.cash_dividend.0 as i128) * s
            + self.rights_price.0 as i128 * self.rights_ratio.0 as i128;
        let den = s + self.share_ratio.0 as i128 + self.rights_ratio.0 as i128;
        // Units of 0.0001 -> ticks of 0.01: divide by 100 more, then scale back.
        let ticks = div_round(num, den * 100).max(1);
        Price((ticks * 100) as i64)
    }

    /// Bonus and capitalization shares for `held` shares, rounded down (fractions of a share
    /// are not credited).
    pub fn bonus_shares(&self, held: Qty) -> Qty {
        (held as i128 * self.share_ratio.0 as i128 / RATE_SCALE as i128) as Qty
    }

    /// Rights offered for `held` shares, rounded down.
    pub fn rights_shares(&self, held: Qty) -> Qty {
        (held as i128 * self.rights_ratio.0 as i128 / RATE_SCALE as i128) as Qty
    }

    /// Pre-tax dividend on `held` shares.
    pub fn gross_dividend(&self, held: Qty) -> Money {
        self.cash_dividend.notional(held)
    }
}

/// Scale a per-share price by the ex-date's adjustment `reference / prev_close` (entry price,
/// high since entry, a limit order's price), to 0.0001.
pub fn adjust_price(p: Price, reference: Price, prev_close: Price) -> Price {
    if prev_close.0 <= 0 {
        return p;
    }
    Price(div_round(p.0 as i128 * reference.0 as i128, prev_close.0 as i128) as i64)
}

/// How the dividend tax is withheld.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DividendTax {
    /// The individual-investor rule in force since 2015-09-08: held up to one month (calendar)
    /// 20%, up to one year 10%, longer 0%, on the holding up to the ex-date (in reality the tax
    /// is settled when the shares are sold; charging it at the ex-date is the simplification).
    Differentiated,
    /// One rate for every holding (0 for funds and most institutions).
    Flat(Rate),
}

impl DividendTax {
    /// Tax on a `gross` dividend of a holding `held_days` calendar days old at the ex-date,
    /// rounded to the fen.
    pub fn tax(&self, gross: Money, held_days: i64) -> Money {
        let rate = match *self {
            DividendTax::Differentiated if held_days <= 30 => Rate(20_000_000),
            DividendTax::Differentiated if held_days <= 365 => Rate(10_000_000),
            DividendTax::Differentiated => Rate(0),
            DividendTax::Flat(r) => r,
        };
        gross.times_rate_to_fen(rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn y(p: f64) -> Price {
        Price::from_yuan(p)
    }

    #[test]
    fn reference_price_of_each_kind_of_action() {
        let ten_for_ten = CorporateAction { share_ratio: Rate::from_f64(1.0), ..Default::default() };
        assert_eq!(ten_for_ten.reference_price(y(20.00)), y(10.00));
        let dividend = CorporateAction { cash_dividend: y(0.5), ..Default::default() };
        assert_eq!(dividend.reference_price(y(20.00)), y(19.50));
        // 10 送 3 派 2 元: (20 - 0.2) / 1.3 = 15.2307... -> 15.23
        let both = CorporateAction { cash_dividend: y(0.2), share_ratio: Rate::from_f64(0.3), ..Default::default() };
        assert_eq!(both.reference_price(y(20.00)), y(15.23));
        // 10 配 3 at 8 元: (20 + 0.3 x 8) / 1.3 = 17.2307... -> 17.23
        let rights = CorporateAction { rights_ratio: Rate::from_f64(0.3), rights_price: y(8.0), ..Default::default() };
        assert_eq!(rights.reference_price(y(20.00)), y(17.23));
        // One rounding step: (10.05 - 0.0) / 1.5 = 6.7 exactly; 10.01 / 3 = 3.33666.. -> 3.34
        let third = CorporateAction { share_ratio: Rate::from_f64(2.0), ..Default::default() };
        assert_eq!(third.reference_price(y(10.01)), y(3.34));
    }

    #[test]
    fn shares_round_down_and_prices_scale_exactly() {
        let a = CorporateAction { share_ratio: Rate::from_f64(0.35), ..Default::default() };
        assert_eq!(a.bonus_shares(1_000), 350);
        assert_eq!(a.bonus_shares(101), 35);
        assert_eq!(adjust_price(y(12.00), y(10.00), y(20.00)), y(6.00));
    }

    #[test]
    fn differentiated_dividend_tax_by_holding_period() {
        let gross = Money::from_yuan(1_000.0);
        let t = DividendTax::Differentiated;
        assert_eq!(t.tax(gross, 30), Money::from_yuan(200.0));
        assert_eq!(t.tax(gross, 31), Money::from_yuan(100.0));
        assert_eq!(t.tax(gross, 365), Money::from_yuan(100.0));
        assert_eq!(t.tax(gross, 366), Money::ZERO);
        assert_eq!(DividendTax::Flat(Rate::from_f64(0.05)).tax(gross, 1), Money::from_yuan(50.0));
    }
}
