//! How rows are spelled in Redis: stream entry ids by trading day, the `|`-separated account
//! and position values, and reading typed rows back from them (a missing or malformed field is
//! an error, never a default).

use super::{corrupt, NAME};
use crate::codec;
use crate::persistent::Fault;
use ::redis::streams::StreamId;
use janus_core::{
    AccountSnapshot, CorporateActionLog, ExecutionLog, Money, Order, OrderId, PositionSnapshot, Price, RiskEvent,
};

/// A stream entry id from the day and a counter within the day (ids must be above `0-0`).
pub fn entry_id(day_index: u32, n: usize) -> String {
    format!("{}-{n}", day_index as u64 + 1)
}

pub fn position_value(p: &PositionSnapshot) -> String {
    format!(
        "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
        p.date,
        p.amount,
        p.sellable,
        p.avg_price.0,
        p.entry_price.0,
        p.entry_date,
        p.high_since_entry.0,
        p.last_price.0,
        p.days_held,
        p.market_value.0,
        p.realized_pnl.0
    )
}

pub fn text(e: &StreamId, field: &str) -> Result<String, Fault> {
    e.get::<String>(field).ok_or_else(|| corrupt(&format!("field {field} of stream entry"), &e.id))
}

pub fn int<T: std::str::FromStr>(e: &StreamId, field: &str) -> Result<T, Fault> {
    let s = text(e, field)?;
    s.parse().map_err(|_| corrupt(field, &s))
}

pub fn parse_position(symbol: &str, v: &str) -> Result<PositionSnapshot, Fault> {
    let f: Vec<&str> = v.split('|').collect();
    if f.len() != 11 {
        return Err(corrupt("position", v));
    }
    let n = |i: usize| f[i].parse::<i64>().map_err(|_| corrupt("position", v));
    Ok(PositionSnapshot {
        date: codec::date(NAME, f[0])?,
        symbol: symbol.to_string(),
        amount: n(1)?,
        sellable: n(2)?,
        avg_price: Price(n(3)?),
        entry_price: Price(n(4)?),
        entry_date: codec::date(NAME, f[5])?,
        high_since_entry: Price(n(6)?),
        last_price: Price(n(7)?),
        days_held: f[8].parse().map_err(|_| corrupt("days held", v))?,
        market_value: Money(n(9)?),
        realized_pnl: Money(n(10)?),
    })
}

/// A member of the `snapshots` sorted set.
pub fn parse_account(s: &str) -> Result<AccountSnapshot, Fault> {
    let f: Vec<&str> = s.split('|').collect();
    if f.len() != 8 {
        return Err(corrupt("account snapshot", s));
    }
    let n = |i: usize| f[i].parse::<i64>().map_err(|_| corrupt("account snapshot", s));
    Ok(AccountSnapshot {
        date: codec::date(NAME, f[0])?,
        total_value: Money(n(2)?),
        cash: Money(n(3)?),
        frozen_cash: Money(n(4)?),
        market_value: Money(n(5)?),
        peak_value: Money(n(6)?),
        drawdown: f[7].parse().map_err(|_| corrupt("drawdown", s))?,
    })
}

pub fn parse_order(e: &StreamId) -> Result<Order, Fault> {
    let limit = text(e, "limit_price")?;
    let limit = if limit.is_empty() { None } else { Some(int(e, "limit_price")?) };
    Ok(Order {
        id: OrderId(int(e, "order_id")?),
        symbol: text(e, "symbol")?,
        side: codec::side(NAME, &text(e, "side")?)?,
        order_type: codec::order_type(NAME, &text(e, "order_type")?, limit)?,
        quantity: int(e, "quantity")?,
        filled: int(e, "filled")?,
        status: codec::order_status(NAME, &text(e, "status")?)?,
        created: codec::date(NAME, &text(e, "created")?)?,
        updated: codec::date(NAME, &text(e, "updated")?)?,
        filled_notional: Money(int(e, "filled_notional")?),
        commission: Money(int(e, "commission")?),
        taxes: Money(int(e, "taxes")?),
        frozen_cash: Money(int(e, "frozen_cash")?),
        tag: text(e, "tag")?,
    })
}

pub fn parse_risk_event(e: &StreamId) -> Result<RiskEvent, Fault> {
    Ok(RiskEvent {
        date: codec::date(NAME, &text(e, "date")?)?,
        symbol: text(e, "symbol")?,
        order_id: OrderId(int(e, "order_id")?),
        side: codec::side(NAME, &text(e, "side")?)?,
        reason: codec::reason(NAME, &text(e, "reason")?)?,
        detail: text(e, "detail")?,
    })
}

pub fn parse_execution(e: &StreamId) -> Result<ExecutionLog, Fault> {
    Ok(ExecutionLog {
        date: codec::date(NAME, &text(e, "date")?)?,
        order_id: OrderId(int(e, "order_id")?),
        symbol: text(e, "symbol")?,
        side: codec::side(NAME, &text(e, "side")?)?,
        price: Price(int(e, "price")?),
        quantity: int(e, "quantity")?,
        commission: Money(int(e, "commission")?),
        taxes: Money(int(e, "taxes")?),
        reference_price: Price(int(e, "reference_price")?),
        slippage: Money(int(e, "slippage")?),
    })
}

pub fn parse_corporate_action(e: &StreamId) -> Result<CorporateActionLog, Fault> {
    Ok(CorporateActionLog {
        date: codec::date(NAME, &text(e, "date")?)?,
        symbol: text(e, "symbol")?,
        shares_before: int(e, "shares_before")?,
        bonus_shares: int(e, "bonus_shares")?,
        rights_shares: int(e, "rights_shares")?,
        rights_paid: Money(int(e, "rights_paid")?),
        dividend: Money(int(e, "dividend")?),
        dividend_tax: Money(int(e, "dividend_tax")?),
        reference_price: Price(int(e, "reference_price")?),
    })
}
