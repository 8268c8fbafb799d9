//! How rows are spelled in Redis: stream entry ids by trading day, the `|`-separated position
//! values, and reading typed fields back (a missing or malformed field is an error, never a
//! default).

use super::{corrupt, NAME};
use crate::codec;
use crate::persistent::Fault;
use ::redis::streams::StreamId;
use janus_core::{Money, PositionSnapshot, Price};

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
