//! Pre-trade risk admission: hard blocks checked before any cash or shares are frozen. Every
//! refusal is returned with a reason code and a detail a user can act on; the engine records
//! it as a risk event.

use crate::config::{Frictions, RiskConfig};
use janus_core::{
    FeeSchedule, LimitRules, LotRules, Money, Order, OrderType, Portfolio, Price, Qty, RiskReason, Side, SymbolId,
};
use janus_data::Panel;

/// An order admitted earlier in the same decision step (it will fill on the same day).
#[derive(Clone, Copy, Debug)]
pub struct PendingBuy {
    pub sid: SymbolId,
    /// Estimated value at the decision close, for the concentration cap.
    pub value: Money,
}

/// What the risk manager reads besides the order.
pub struct RiskContext<'a> {
    pub panel: &'a Panel,
    pub day: usize,
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
    /// or for a market order the next day's limit-up derived from today's close (what a broker
    /// freezes for an A-share market buy).
    pub fn freeze_price(&self, panel: &Panel, day: usize, sid: SymbolId, order_type: OrderType) -> Price {
        match order_type {
            OrderType::Limit(p) => p,
            OrderType::Market => {
                let close = panel.close[panel.idx(day, sid)];
                self.limits.limits(close, panel.boards[sid as usize], panel.is_st(day, sid)).0
            }
        }
    }

    /// Cash to freeze for a buy of `qty` at `price`, fees included.
    pub fn freeze_amount(&self, price: Price, qty: Qty, date: chrono::NaiveDate) -> Money {
        let notional = price.notional(qty);
        notional + self.fees.order_fees(notional, false, date).total()
    }

    /// The symbol trades at `day`: it has a bar that is not halted (or halts are not simulated).
    fn can_trade(&self, panel: &Panel, day: usize, sid: SymbolId) -> bool {
        panel.is_tradable(day, sid) || (!self.frictions.suspensions && panel.is_present(day, sid))
    }

    fn at_limit_close(&self, panel: &Panel, day: usize, sid: SymbolId, side: Side) -> Option<Price> {
        if !self.cfg.reject_at_limit_close || !self.frictions.price_limits {
            return None;
        }
        let i = panel.idx(day, sid);
        let close = panel.close[i];
        let limit = match side {
            Side::Buy => panel.limit_up[i],
            Side::Sell => panel.limit_down[i],
        };
        (limit.is_positive() && close == limit).then_some(limit)
    }

    pub fn check_sell(&self, order: &Order, sid: SymbolId, ctx: &RiskContext<'_>) -> Result<(), Refusal> {
        let (panel, day) = (ctx.panel, ctx.day);
        if !self.can_trade(panel, day, sid) {
            return Err((RiskReason::Suspended, "suspended at the decision close; retry when it trades".into()));
        }
        if let Some(limit) = self.at_limit_close(panel, day, sid, Side::Sell) {
            return Err((RiskReason::LimitDown, format!("closed at limit-down {limit}")));
        }
        let pos = ctx.portfolio.positions.get(&sid);
        let amount = pos.map_or(0, |p| p.amount);
        if !self.lot.is_valid(true, order.quantity, amount) {
            return Err((
                RiskReason::LotSize,
                format!(
                    "{} shares is not a multiple of {} and does not close the {amount}-share position",
                    order.quantity, self.lot.lot
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
        let (panel, day, pf) = (ctx.panel, ctx.day, ctx.portfolio);
        if ctx.buys_blocked {
            return Err((
                RiskReason::CircuitBreaker,
                format!(
                    "equity fell more than {:.1}% from the previous close; no new buys today",
                    self.cfg.circuit_breaker_pct * 100.0
                ),
            ));
        }
        if !self.can_trade(panel, day, sid) {
            return Err((RiskReason::Suspended, "suspended at the decision close".into()));
        }
        if let Some(limit) = self.at_limit_close(panel, day, sid, Side::Buy) {
            return Err((RiskReason::LimitUp, format!("closed at limit-up {limit}")));
        }
        if !self.lot.is_valid(false, order.quantity, 0) {
            return Err((
                RiskReason::LotSize,
                format!("{} shares is not a multiple of {}", order.quantity, self.lot.lot),
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
        let close = panel.close[panel.idx(day, sid)];
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

    /// Equal-weight sizing: a buy worth `total asset / max positions` at today's close, cut to
    /// what the available cash can freeze, in whole lots. When not even one lot fits, the
    /// uncut size is returned so the cash check refuses it with the real figures.
    pub fn size_buy(&self, pf: &Portfolio, close: Price, freeze_price: Price, date: chrono::NaiveDate) -> Qty {
        let lot = self.lot.lot;
        if !close.is_positive() || !freeze_price.is_positive() {
            return 0;
        }
        let target = pf.total_asset().0 / self.cfg.max_positions as i64;
        let wanted = (target / close.0 / lot * lot).max(lot);
        let available = pf.account.available_cash;
        let mut qty = wanted.min(available.0 / freeze_price.0 / lot * lot);
        while qty > 0 && self.freeze_amount(freeze_price, qty, date) > available {
            qty -= lot;
        }
        if qty == 0 {
            wanted
        } else {
            qty
        }
    }
}
