//! Account and positions: the ledger. Every change of cash or shares goes through
//! [`Portfolio`], which keeps `available + frozen + market value == total asset` exact.

use crate::corporate::{adjust_price, CorporateAction, DividendTax};
use crate::journal::{AccountSnapshot, CorporateActionLog, ExecutionLog, PositionSnapshot};
use crate::money::{div_round, Money, Price, Qty};
use crate::order::{Order, OrderEvent, Side};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Dense symbol index into the bar panel.
pub type SymbolId = u32;

/// Cash split into what may be spent and what open buy orders hold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub available_cash: Money,
    pub frozen_cash: Money,
}

/// One held stock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub symbol: String,
    pub amount: Qty,
    /// Shares a sell executing on the next trading day may use (T+1 applied, pending sells
    /// excluded).
    pub sellable: Qty,
    /// Shares bought on the current execution day: sellable from the next one.
    pub locked_t1: Qty,
    /// Cost of the shares still held, buy fees included.
    pub cost_basis: Money,
    pub entry_price: Price,
    pub entry_date: NaiveDate,
    /// Highest price seen since entry (the fill price, then each later bar's high).
    pub high_since_entry: Price,
    /// Last mark-to-market price (the latest close).
    pub last_price: Price,
    /// Trading days since entry (0 on the entry day).
    pub days_held: u32,
    /// Realized P&L of sells so far in this round trip, fees included.
    pub realized_pnl: Money,
}

impl Position {
    pub fn market_value(&self) -> Money {
        self.last_price.notional(self.amount)
    }
    /// Average cost per share, fees included.
    pub fn avg_price(&self) -> Price {
        if self.amount == 0 {
            return Price::ZERO;
        }
        Price(div_round(self.cost_basis.0 as i128, self.amount as i128) as i64)
    }
    /// Unrealized return against the cost basis.
    pub fn current_return(&self) -> f64 {
        if self.cost_basis.0 <= 0 {
            return 0.0;
        }
        self.market_value().as_f64() / self.cost_basis.as_f64() - 1.0
    }
    /// Fractional drop of the last price from the high since entry (0 at a new high).
    pub fn drawdown_from_high(&self) -> f64 {
        if self.high_since_entry.0 <= 0 {
            return 0.0;
        }
        1.0 - self.last_price.as_f64() / self.high_since_entry.as_f64()
    }
}

/// One execution to book: `qty` shares at `price` on `date`, with the fees the broker charged
/// for it; `reference` is the bar's price for the fill mode, kept to measure slippage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FillSpec {
    pub price: Price,
    pub qty: Qty,
    pub reference: Price,
    pub date: NaiveDate,
    pub commission: Money,
    pub taxes: Money,
}

/// Why the ledger refused a change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("insufficient cash: need {need}, available {available}")]
    InsufficientCash { need: Money, available: Money },
    #[error("insufficient sellable shares of {symbol}: need {need}, sellable {sellable}")]
    InsufficientShares { symbol: String, need: Qty, sellable: Qty },
    #[error("a fill of {qty} shares does not fit order {order}, which has {remaining} shares open")]
    Overfill { order: u64, qty: Qty, remaining: Qty },
    #[error(transparent)]
    Transition(#[from] crate::order::IllegalTransition),
}

/// Account plus positions, keyed by dense symbol id for determinism and speed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Portfolio {
    pub account: Account,
    pub positions: BTreeMap<SymbolId, Position>,
}

impl Portfolio {
    pub fn new(initial_cash: Money) -> Portfolio {
        Portfolio {
            account: Account { available_cash: initial_cash, frozen_cash: Money::ZERO },
            positions: BTreeMap::new(),
        }
    }

    pub fn market_value(&self) -> Money {
        self.positions.values().map(Position::market_value).sum()
    }

    pub fn total_asset(&self) -> Money {
        self.account.available_cash + self.account.frozen_cash + self.market_value()
    }

    /// Admit a buy: freeze `amount` of available cash for it and mark it submitted.
    pub fn accept_buy(&mut self, order: &mut Order, amount: Money) -> Result<(), LedgerError> {
        if amount > self.account.available_cash {
            return Err(LedgerError::InsufficientCash { need: amount, available: self.account.available_cash });
        }
        order.apply(OrderEvent::Submit, order.created)?;
        self.account.available_cash -= amount;
        self.account.frozen_cash += amount;
        order.frozen_cash = amount;
        Ok(())
    }

    /// Admit a sell: move its shares from sellable to pending and mark it submitted.
    pub fn accept_sell(&mut self, order: &mut Order, sid: SymbolId) -> Result<(), LedgerError> {
        let sellable = self.positions.get(&sid).map_or(0, |p| p.sellable);
        if order.quantity > sellable {
            return Err(LedgerError::InsufficientShares {
                symbol: order.symbol.clone(),
                need: order.quantity,
                sellable,
            });
        }
        order.apply(OrderEvent::Submit, order.created)?;
        if let Some(p) = self.positions.get_mut(&sid) {
            p.sellable -= order.quantity;
        }
        Ok(())
    }

    /// Execute `qty` shares of `order` at `price` on `date`, paying the fees the fill carries
    /// (a simulated broker charges them with [`crate::rules::FeeSchedule::fill_fees`], a real one reports
    /// them). Returns the execution log row.
    pub fn fill(&mut self, order: &mut Order, sid: SymbolId, exec: FillSpec) -> Result<ExecutionLog, LedgerError> {
        self.book_fill(order, sid, exec, false).map(|(log, _)| log)
    }

    /// [`Portfolio::fill`] for a fill a broker reports, which is a fact: a buy that costs more
    /// than its frozen cash and the available cash together (the broker priced it above what
    /// was frozen for it, or its cash differs from this ledger's) is booked all the same, and
    /// the shortfall overdraws the available cash until reconciliation takes the broker's
    /// numbers. Returns the shortfall (zero almost always) with the execution log row.
    pub fn fill_reported(
        &mut self,
        order: &mut Order,
        sid: SymbolId,
        exec: FillSpec,
    ) -> Result<(ExecutionLog, Money), LedgerError> {
        self.book_fill(order, sid, exec, true)
    }

    fn book_fill(
        &mut self,
        order: &mut Order,
        sid: SymbolId,
        exec: FillSpec,
        overdraw: bool,
    ) -> Result<(ExecutionLog, Money), LedgerError> {
        let FillSpec { price, qty, reference, date, commission, taxes } = exec;
        let mut shortfall = Money::ZERO;
        if qty <= 0 || qty > order.remaining() {
            return Err(LedgerError::Overfill { order: order.id.0, qty, remaining: order.remaining() });
        }
        let notional = price.notional(qty);
        let fee = commission + taxes;
        order.apply(OrderEvent::Fill { remaining: order.remaining() - qty }, date)?;
        order.filled += qty;
        order.filled_notional += notional;
        order.commission += commission;
        order.taxes += taxes;
        match order.side {
            Side::Buy => {
                let cost = notional + fee;
                // Pay from the order's frozen cash first; a fill dearer than the freeze (data
                // without limits) takes the rest from available cash, which the matcher checked.
                let from_frozen = cost.min(order.frozen_cash);
                let from_available = cost - from_frozen;
                if from_available > self.account.available_cash {
                    if !overdraw {
                        return Err(LedgerError::InsufficientCash {
                            need: from_available,
                            available: self.account.available_cash,
                        });
                    }
                    shortfall = from_available - self.account.available_cash.max(Money::ZERO);
                }
                order.frozen_cash -= from_frozen;
                self.account.frozen_cash -= from_frozen;
                self.account.available_cash -= from_available;
                let pos = self.positions.entry(sid).or_insert_with(|| Position {
                    symbol: order.symbol.clone(),
                    amount: 0,
                    sellable: 0,
                    locked_t1: 0,
                    cost_basis: Money::ZERO,
                    entry_price: price,
                    entry_date: date,
                    high_since_entry: price,
                    last_price: price,
                    days_held: 0,
                    realized_pnl: Money::ZERO,
                });
                pos.amount += qty;
                pos.locked_t1 += qty;
                pos.cost_basis += cost;
                pos.last_price = price;
                pos.high_since_entry = pos.high_since_entry.max(price);
            }
            Side::Sell => {
                let proceeds = notional - fee;
                self.account.available_cash += proceeds;
                let Some(pos) = self.positions.get_mut(&sid) else {
                    return Err(LedgerError::InsufficientShares {
                        symbol: order.symbol.clone(),
                        need: qty,
                        sellable: 0,
                    });
                };
                let cost_part = Money(div_round(pos.cost_basis.0 as i128 * qty as i128, pos.amount as i128) as i64);
                pos.cost_basis -= cost_part;
                pos.realized_pnl += proceeds - cost_part;
                pos.amount -= qty;
                pos.last_price = price;
            }
        }
        if !order.status.is_open() {
            self.release(order, sid);
        }
        let log = ExecutionLog {
            date,
            order_id: order.id,
            symbol: order.symbol.clone(),
            side: order.side,
            price,
            quantity: qty,
            commission,
            taxes,
            reference_price: reference,
            slippage: match order.side {
                Side::Buy => Money((price.0 - reference.0) * qty),
                Side::Sell => Money((reference.0 - price.0) * qty),
            },
        };
        Ok((log, shortfall))
    }

    /// End an order's claim on the ledger after it was filled, canceled or expired: unused
    /// frozen cash goes back to available, unsold shares back to sellable.
    pub fn release(&mut self, order: &mut Order, sid: SymbolId) {
        match order.side {
            Side::Buy => {
                self.account.frozen_cash -= order.frozen_cash;
                self.account.available_cash += order.frozen_cash;
                order.frozen_cash = Money::ZERO;
            }
            Side::Sell => {
                if let Some(p) = self.positions.get_mut(&sid) {
                    p.sellable += order.remaining();
                }
            }
        }
    }

    /// Expire what is left of an open order at the day's end.
    pub fn expire(&mut self, order: &mut Order, sid: SymbolId, date: NaiveDate) -> Result<(), LedgerError> {
        order.apply(OrderEvent::Expire, date)?;
        self.release(order, sid);
        Ok(())
    }

    /// Cancel an open order.
    pub fn cancel(&mut self, order: &mut Order, sid: SymbolId, date: NaiveDate) -> Result<(), LedgerError> {
        order.apply(OrderEvent::Cancel, date)?;
        self.release(order, sid);
        Ok(())
    }

    /// After the close: today's purchases become sellable for the next trading day, and
    /// positions sold down to zero are removed (returning them as closed round trips).
    pub fn end_of_day(&mut self) -> Vec<(SymbolId, Position)> {
        let mut closed = Vec::new();
        let ids: Vec<SymbolId> = self.positions.iter().filter(|(_, p)| p.amount == 0).map(|(k, _)| *k).collect();
        for id in ids {
            if let Some(p) = self.positions.remove(&id) {
                closed.push((id, p));
            }
        }
        for p in self.positions.values_mut() {
            p.sellable += p.locked_t1;
            p.locked_t1 = 0;
        }
        closed
    }

    /// Apply a corporate action to a holding on its ex-date, before the open: credit bonus
    /// shares (sellable like the shares they came with) and subscribed rights (sellable from
    /// the next day), pay the dividend net of `tax` into available cash, and rescale the
    /// position's prices by `reference / prev_close` so returns and drawdowns read on. The net
    /// dividend lowers the cost basis and the rights payment raises it, as brokers show it.
    /// `subscribe` takes up the rights as far as available cash allows. Returns what happened,
    /// or `None` when the stock is not held.
    #[allow(clippy::too_many_arguments)]
    pub fn apply_corporate_action(
        &mut self,
        sid: SymbolId,
        action: &CorporateAction,
        prev_close: Price,
        reference: Price,
        date: NaiveDate,
        tax: DividendTax,
        subscribe: bool,
    ) -> Option<CorporateActionLog> {
        let available = self.account.available_cash;
        let p = self.positions.get_mut(&sid)?;
        let held = p.amount;
        let bonus = action.bonus_shares(held);
        let gross = action.gross_dividend(held);
        let dividend_tax = tax.tax(gross, (date - p.entry_date).num_days());
        let net = gross - dividend_tax;
        let mut rights = if subscribe { action.rights_shares(held) } else { 0 };
        if action.rights_price.0 > 0 {
            rights = rights.min((available + net).0 / action.rights_price.0);
        }
        let rights_paid = action.rights_price.notional(rights);
        p.amount += bonus + rights;
        p.sellable += bonus;
        p.locked_t1 += rights;
        p.cost_basis = p.cost_basis - net + rights_paid;
        p.entry_price = adjust_price(p.entry_price, reference, prev_close);
        p.high_since_entry = adjust_price(p.high_since_entry, reference, prev_close);
        p.last_price = reference;
        self.account.available_cash = available + net - rights_paid;
        Some(CorporateActionLog {
            date,
            symbol: p.symbol.clone(),
            shares_before: held,
            bonus_shares: bonus,
            rights_shares: rights,
            rights_paid,
            dividend: gross,
            dividend_tax,
            reference_price: reference,
        })
    }

    /// Make a position's shares bought today sellable at once (a market without T+1).
    pub fn unlock_t1(&mut self, sid: SymbolId) {
        if let Some(p) = self.positions.get_mut(&sid) {
            p.sellable += p.locked_t1;
            p.locked_t1 = 0;
        }
    }

    /// A new trading day began: every position held since an earlier day ages by one, if it
    /// could trade that day (`tradable`): `days_held` counts the trading days the holding could
    /// have been sold on, so a suspension does not age it.
    pub fn start_day(&mut self, date: NaiveDate, tradable: impl Fn(SymbolId) -> bool) {
        for (sid, p) in self.positions.iter_mut() {
            if date > p.entry_date && tradable(*sid) {
                p.days_held += 1;
            }
        }
    }

    /// Mark a position to a bar: last price, and the high since entry (the bar's high on days
    /// after the entry day; on the entry day only prices after the fill count, so the close).
    pub fn mark(&mut self, sid: SymbolId, close: Price, high: Price, date: NaiveDate) {
        if let Some(p) = self.positions.get_mut(&sid) {
            p.last_price = close;
            let seen = if date > p.entry_date { high } else { close };
            p.high_since_entry = p.high_since_entry.max(seen);
        }
    }

    pub fn account_snapshot(&self, date: NaiveDate, peak: Money) -> AccountSnapshot {
        let total = self.total_asset();
        let peak = peak.max(total);
        AccountSnapshot {
            date,
            total_value: total,
            cash: self.account.available_cash,
            frozen_cash: self.account.frozen_cash,
            market_value: self.market_value(),
            peak_value: peak,
            drawdown: if peak.0 > 0 { 1.0 - total.as_f64() / peak.as_f64() } else { 0.0 },
        }
    }

    pub fn position_snapshots(&self, date: NaiveDate) -> Vec<PositionSnapshot> {
        self.positions
            .values()
            .map(|p| PositionSnapshot {
                date,
                symbol: p.symbol.clone(),
                amount: p.amount,
                sellable: p.sellable,
                avg_price: p.avg_price(),
                entry_price: p.entry_price,
                entry_date: p.entry_date,
                high_since_entry: p.high_since_entry,
                last_price: p.last_price,
                days_held: p.days_held,
                market_value: p.market_value(),
                realized_pnl: p.realized_pnl,
            })
            .collect()
    }
}
