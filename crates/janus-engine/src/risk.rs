//! Pre-trade risk admission: hard blocks checked before any cash or shares are frozen. Every
//! refusal is returned with a reason code and a detail a user can act on; the engine records
//! it as a risk event.

use crate::config::{Frictions, RiskConfig};
use janus_core::{
    Exchange, FeeSchedule, LimitRules, LotRules, Money, Order, OrderType, Portfolio, Price, Qty, RiskReason, Side,
    SymbolId,
};
use janus_data::History;

/// An order admitted earlier in the same decision step (it will fill on the same day).
#[derive(Clone, Copy, Debug)]
pub struct PendingBuy {
    pub sid: SymbolId,
    /// Estimated value at the decision close, for the concentration cap.
    pub value: Money,
}

/// What the risk manager reads besides the order.
pub struct RiskContext<'a> {
    /// The market as of the decision close.
    pub history: History<'a>,
    pub portfolio: &'a Portfolio,
    pub pending_buys: &'a [PendingBuy],
    /// Symbols the same decision also wants to buy (sells are admitted first).
    pub planned_buys: &'a [SymbolId],
    /// The circuit breaker tripped today.
    pub buys_blocked: bool,
}

pub type Refusal = (RiskReason, String);

#[derive(Clone, Debug)]
pub struct RiskManager {
    pub cfg: RiskConfig,
    pub lot: LotRules,
    pub limits: LimitRules,
    pub fees: FeeSchedule,
    /// Which market rules apply (all in a real run; fewer in a frictionless twin).
    pub frictions: Frictions,
}

impl RiskManager {
    /// Highest price a buy placed after `day`'s close can pay on the next day: its limit price,
    /// or for a market order the next day's limit-up derived from today's close by the rules
    /// of that day (what a broker freezes for an A-share market buy). A next day without a
    /// limit (a new listing's first days) has no limit-up: the buy freezes at today's close,
    /// and a dearer fill is cut to the cash there is.
    pub fn freeze_price(&self, h: &History<'_>, sid: SymbolId, order_type: OrderType) -> Price {
        match order_type {
            OrderType::Limit(p) => p,
            OrderType::Market => {
                let close = h.close(0, sid);
                let next = h.next_date().unwrap_or(h.date());
                let listing = h.listing(sid).days_later(1);
                let rule = self.limits.daily_limit(next, h.boards()[sid as usize], h.is_st(0, sid), listing);
                let up = rule.prices(Some(close), close).0;
                if up.is_positive() {
                    up
                } else {
                    close
                }
            }
        }
    }

    /// Cash to freeze for a buy `order` at `price`, fees included.
    pub fn freeze_amount(&self, order: &Order, price: Price) -> Money {
        self.freeze_for(Exchange::from_symbol(&order.symbol), price, order.quantity, order.created)
    }

    fn freeze_for(&self, exchange: Exchange, price: Price, qty: Qty, date: chrono::NaiveDate) -> Money {
        let notional = price.notional(qty);
        notional + self.fees.order_fees(exchange, false, date, qty, notional).total()
    }

    /// The symbol trades at `day`: it has a bar that is not halted (or halts are not simulated).
    fn can_trade(&self, h: &History<'_>, sid: SymbolId) -> bool {
        h.is_tradable(0, sid) || (!self.frictions.suspensions && h.is_present(0, sid))
    }

    fn at_limit_close(&self, h: &History<'_>, sid: SymbolId, side: Side) -> Option<Price> {
        if !self.cfg.reject_at_limit_close || !self.frictions.price_limits {
            return None;
        }
        let close = h.close(0, sid);
        let (up, down) = h.limits(0, sid);
        let limit = match side {
            Side::Buy => up,
            Side::Sell => down,
        };
        (limit.is_positive() && close == limit).then_some(limit)
    }

    pub fn check_sell(&self, order: &Order, sid: SymbolId, ctx: &RiskContext<'_>) -> Result<(), Refusal> {
        let h = &ctx.history;
        if !self.can_trade(h, sid) {
            return Err((RiskReason::Suspended, "suspended at the decision close; retry when it trades".into()));
        }
        if let Some(limit) = self.at_limit_close(h, sid, Side::Sell) {
            return Err((RiskReason::LimitDown, format!("closed at limit-down {limit}")));
        }
        let pos = ctx.portfolio.positions.get(&sid);
        let amount = pos.map_or(0, |p| p.amount);
        let board = h.boards()[sid as usize];
        let lot = self.lot.board(board);
        if !lot.is_valid_sell(order.quantity, amount) {
            return Err((
                RiskReason::LotSize,
                format!(
                    "{} shares: {} sells are {} unless they close the {amount}-share position",
                    order.quantity,
                    board.name(),
                    lot.describe()
                ),
            ));
        }
        let sellable = pos.map_or(0, |p| p.sellable);
        if order.quantity > sellable {
            let bought_on_execution_day = ctx.pending_buys.iter().any(|b| b.sid == sid)
                || ctx.planned_buys.contains(&sid)
                || pos.is_some_and(|p| p.locked_t1 > 0);
            return Err(if bought_on_execution_day {
                (
                    RiskReason::TPlusOne,
                    format!(
                        "wants {} shares, {sellable} sellable: shares bought that day sell from the next (T+1)",
                        order.quantity
                    ),
                )
            } else {
                (RiskReason::NotEnoughShares, format!("wants {} shares, {sellable} sellable", order.quantity))
            });
        }
        Ok(())
    }

    /// Check a buy that would freeze `freeze` of cash.
    pub fn check_buy(&self, order: &Order, sid: SymbolId, freeze: Money, ctx: &RiskContext<'_>) -> Result<(), Refusal> {
        let (h, pf) = (&ctx.history, ctx.portfolio);
        if ctx.buys_blocked {
            return Err((
                RiskReason::CircuitBreaker,
                format!(
                    "equity fell more than {:.1}% from the previous close; no new buys today",
                    self.cfg.circuit_breaker_pct * 100.0
                ),
            ));
        }
        if !self.can_trade(h, sid) {
            return Err((RiskReason::Suspended, "suspended at the decision close".into()));
        }
        if let Some(limit) = self.at_limit_close(h, sid, Side::Buy) {
            return Err((RiskReason::LimitUp, format!("closed at limit-up {limit}")));
        }
        let board = h.boards()[sid as usize];
        let lot = self.lot.board(board);
        if !lot.is_valid_buy(order.quantity) {
            return Err((
                RiskReason::LotSize,
                format!("{} shares is not a valid {} buy: {}", order.quantity, board.name(), lot.describe()),
            ));
        }
        let held = pf.positions.contains_key(&sid);
        let pending_same = ctx.pending_buys.iter().any(|b| b.sid == sid);
        if !held && !pending_same {
            let mut new_syms: Vec<SymbolId> =
                ctx.pending_buys.iter().map(|b| b.sid).filter(|s| !pf.positions.contains_key(s)).collect();
            new_syms.dedup();
            let count = pf.positions.len() + new_syms.len();
            if count >= self.cfg.max_positions {
                return Err((
                    RiskReason::MaxPositions,
                    format!("{count} positions held or pending, the limit is {}", self.cfg.max_positions),
                ));
            }
        }
        let total = pf.total_asset();
        let close = h.close(0, sid);
        let existing = pf.positions.get(&sid).map_or(Money::ZERO, |p| p.market_value());
        let pending: Money = ctx.pending_buys.iter().filter(|b| b.sid == sid).map(|b| b.value).sum();
        let after = existing + pending + close.notional(order.quantity);
        let share = if total.0 > 0 { after.as_f64() / total.as_f64() } else { f64::INFINITY };
        if share > self.cfg.max_position_pct {
            return Err((
                RiskReason::Concentration,
                format!(
                    "would hold {:.1}% of total asset, the cap is {:.1}%",
                    share * 100.0,
                    self.cfg.max_position_pct * 100.0
                ),
            ));
        }
        if freeze > pf.account.available_cash {
            return Err((
                RiskReason::InsufficientCash,
                format!("needs {freeze} frozen, {} available", pf.account.available_cash),
            ));
        }
        Ok(())
    }

    /// Equal-weight sizing: a buy of `sid` worth `total asset / max positions` at `day`'s close,
    /// cut to what the available cash can freeze, in the board's lots. When not even the
    /// board's minimum fits, the uncut size is returned so the cash check refuses it with the
    /// real figures.
    pub fn size_buy(&self, pf: &Portfolio, h: &History<'_>, sid: SymbolId, freeze_price: Price) -> Qty {
        let close = h.close(0, sid);
        if !close.is_positive() || !freeze_price.is_positive() {
            return 0;
        }
        let lot = self.lot.board(h.boards()[sid as usize]);
        let exchange = Exchange::from_symbol(&h.symbols()[sid as usize]);
        let target = pf.total_asset().0 / self.cfg.max_positions as i64;
        let wanted = lot.round_buy(target / close.0).max(lot.min);
        let available = pf.account.available_cash;
        let mut qty = wanted.min(lot.round_buy(available.0 / freeze_price.0));
        while qty > 0 && self.freeze_for(exchange, freeze_price, qty, h.date()) > available {
            qty = lot.round_buy(qty - 1);
        }
        if qty == 0 {
            wanted
        } else {
            qty
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EngineConfig;

    fn manager() -> RiskManager {
        let c = EngineConfig::default();
        RiskManager {
            cfg: c.risk,
            lot: c.market.lot_rules(),
            limits: c.market.limits,
            fees: c.fees.schedule(),
            frictions: c.frictions,
        }
    }

    fn panel(rows: &str) -> janus_data::Panel {
        let csv = format!("date,symbol,open,high,low,close,volume\n{rows}");
        janus_data::load_csv_reader(csv.as_bytes(), "risk.csv", &LimitRules::default()).unwrap()
    }

    #[test]
    fn a_market_buy_freezes_at_the_next_day_s_limit_up_by_the_rules_of_that_day() {
        let p = panel(
            "2020-08-20,300001.SZ,10.00,10.00,10.00,10.00,1000\n2020-08-20,688001.SH,10.00,10.00,10.00,10.00,1000\n\
             2020-08-21,300001.SZ,10.00,10.00,10.00,10.00,1000\n2020-08-21,688001.SH,10.00,10.00,10.00,10.00,1000\n\
             2020-08-21,688002.SH,10.00,10.00,10.00,10.00,1000\n\
             2020-08-24,300001.SZ,10.00,10.00,10.00,10.00,1000\n2020-08-24,688001.SH,10.00,10.00,10.00,10.00,1000\n\
             2020-08-24,688002.SH,10.00,10.00,10.00,10.00,1000\n",
        );
        let r = manager();
        let freeze = |day, sym| r.freeze_price(&History::new(&p, day), p.symbol_id(sym).unwrap(), OrderType::Market);
        assert_eq!(freeze(0, "300001.SZ"), Price::from_yuan(11.0), "08-21: ChiNext still 10%");
        assert_eq!(freeze(1, "300001.SZ"), Price::from_yuan(12.0), "08-24: 20%");
        assert_eq!(freeze(1, "688001.SH"), Price::from_yuan(12.0));
        assert_eq!(freeze(1, "688002.SH"), Price::from_yuan(10.0), "a new listing's free day: the close");
        let limit = OrderType::Limit(Price::from_yuan(10.5));
        assert_eq!(r.freeze_price(&History::new(&p, 1), 0, limit), Price::from_yuan(10.5));
    }

    #[test]
    fn the_sizer_buys_in_the_board_s_lots() {
        let p = panel(
            "2024-01-02,600000.SH,33.33,33.33,33.33,33.33,1000\n2024-01-02,688001.SH,33.33,33.33,33.33,33.33,1000\n",
        );
        let r = manager();
        let pf = Portfolio::new(Money::from_yuan(100_000.0));
        // 10 positions: 10,000 CNY each at 33.33 is 300.03 shares.
        let size = |sym| r.size_buy(&pf, &History::new(&p, 0), p.symbol_id(sym).unwrap(), Price::from_yuan(36.66));
        assert_eq!(size("600000.SH"), 300);
        assert_eq!(size("688001.SH"), 300);
        let poor = Portfolio::new(Money::from_yuan(8_000.0));
        // 800 CNY each is less than either minimum: the uncut minimum, for the cash check to refuse.
        let size = |sym| r.size_buy(&poor, &History::new(&p, 0), p.symbol_id(sym).unwrap(), Price::from_yuan(36.66));
        assert_eq!((size("600000.SH"), size("688001.SH")), (100, 200));
        // One position: the target is the whole account, so cash decides. 8,470 CNY buys 231
        // shares at the freeze price of 36.66 (8,468.46) but not their fees: 230.
        let mut one = manager();
        one.cfg.max_positions = 1;
        let tight = Portfolio::new(Money::from_yuan(8_470.0));
        let size = |sym| one.size_buy(&tight, &History::new(&p, 0), p.symbol_id(sym).unwrap(), Price::from_yuan(36.66));
        assert_eq!(size("688001.SH"), 230, "cut in 1-share steps");
        assert_eq!(size("600000.SH"), 200, "cut in whole lots");
    }
}
