//! Reading a run back from SQLite: one query per table, rows in commit order, every stored
//! code decoded strictly (an unknown one is an error, never a default).

use super::{fault, last_day, NAME};
use crate::codec;
use crate::persistent::Fault;
use janus_core::{
    AccountSnapshot, CorporateActionLog, ExecutionLog, Money, Order, OrderId, PositionSnapshot, Price, RiskEvent,
    RunRecord, StoreError,
};
use rusqlite::{Connection, Row};

/// Everything stored for `run_id`, read inside the caller's transaction.
pub fn run_record(tx: &Connection, run_id: &str) -> Result<RunRecord, Fault> {
    let last_day_index = last_day(tx, run_id)?;
    let record = RunRecord {
        account_snapshots: query(
            tx,
            "SELECT date, total_value, cash, frozen_cash, market_value, peak_value, drawdown
             FROM account_snapshots WHERE run_id = ?1 ORDER BY day_index",
            run_id,
            |r| {
                Ok(AccountSnapshot {
                    date: date(r, 0)?,
                    total_value: Money(r.get(1)?),
                    cash: Money(r.get(2)?),
                    frozen_cash: Money(r.get(3)?),
                    market_value: Money(r.get(4)?),
                    peak_value: Money(r.get(5)?),
                    drawdown: r.get(6)?,
                })
            },
        )?,
        position_snapshots: query(
            tx,
            "SELECT date, symbol, amount, sellable, avg_price, entry_price, entry_date, high_since_entry,
             last_price, days_held, market_value, realized_pnl
             FROM position_snapshots WHERE run_id = ?1 ORDER BY day_index, seq",
            run_id,
            |r| {
                Ok(PositionSnapshot {
                    date: date(r, 0)?,
                    symbol: r.get(1)?,
                    amount: r.get(2)?,
                    sellable: r.get(3)?,
                    avg_price: Price(r.get(4)?),
                    entry_price: Price(r.get(5)?),
                    entry_date: date(r, 6)?,
                    high_since_entry: Price(r.get(7)?),
                    last_price: Price(r.get(8)?),
                    days_held: r.get(9)?,
                    market_value: Money(r.get(10)?),
                    realized_pnl: Money(r.get(11)?),
                })
            },
        )?,
        orders: query(
            tx,
            "SELECT order_id, symbol, side, order_type, limit_price, quantity, filled, status, created, updated,
             filled_notional, commission, taxes, frozen_cash, tag
             FROM orders_history WHERE run_id = ?1 ORDER BY order_id",
            run_id,
            |r| {
                Ok(Order {
                    id: OrderId(r.get::<_, i64>(0)? as u64),
                    symbol: r.get(1)?,
                    side: decode(r, 2, codec::side)?,
                    order_type: {
                        let kind: String = r.get(3)?;
                        codec::order_type(NAME, &kind, r.get(4)?).map_err(to_sql_err)?
                    },
                    quantity: r.get(5)?,
                    filled: r.get(6)?,
                    status: decode(r, 7, codec::order_status)?,
                    created: date(r, 8)?,
                    updated: date(r, 9)?,
                    filled_notional: Money(r.get(10)?),
                    commission: Money(r.get(11)?),
                    taxes: Money(r.get(12)?),
                    frozen_cash: Money(r.get(13)?),
                    tag: r.get(14)?,
                })
            },
        )?,
        risk_events: query(
            tx,
            "SELECT date, symbol, order_id, side, reason, detail
             FROM risk_events WHERE run_id = ?1 ORDER BY day_index, seq",
            run_id,
            |r| {
                Ok(RiskEvent {
                    date: date(r, 0)?,
                    symbol: r.get(1)?,
                    order_id: OrderId(r.get::<_, i64>(2)? as u64),
                    side: decode(r, 3, codec::side)?,
                    reason: decode(r, 4, codec::reason)?,
                    detail: r.get(5)?,
                })
            },
        )?,
        executions: query(
            tx,
            "SELECT date, order_id, symbol, side, price, quantity, commission, taxes, reference_price, slippage
             FROM execution_logs WHERE run_id = ?1 ORDER BY day_index, seq",
            run_id,
            |r| {
                Ok(ExecutionLog {
                    date: date(r, 0)?,
                    order_id: OrderId(r.get::<_, i64>(1)? as u64),
                    symbol: r.get(2)?,
                    side: decode(r, 3, codec::side)?,
                    price: Price(r.get(4)?),
                    quantity: r.get(5)?,
                    commission: Money(r.get(6)?),
                    taxes: Money(r.get(7)?),
                    reference_price: Price(r.get(8)?),
                    slippage: Money(r.get(9)?),
                })
            },
        )?,
        corporate_actions: query(
            tx,
            "SELECT date, symbol, shares_before, bonus_shares, rights_shares, rights_paid, dividend, dividend_tax,
             reference_price FROM corporate_actions WHERE run_id = ?1 ORDER BY day_index, seq",
            run_id,
            |r| {
                Ok(CorporateActionLog {
                    date: date(r, 0)?,
                    symbol: r.get(1)?,
                    shares_before: r.get(2)?,
                    bonus_shares: r.get(3)?,
                    rights_shares: r.get(4)?,
                    rights_paid: Money(r.get(5)?),
                    dividend: Money(r.get(6)?),
                    dividend_tax: Money(r.get(7)?),
                    reference_price: Price(r.get(8)?),
                })
            },
        )?,
        last_day_index,
    };
    Ok(record)
}

fn query<T>(
    conn: &Connection,
    sql: &str,
    run_id: &str,
    f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, Fault> {
    let mut stmt = conn.prepare_cached(sql).map_err(fault)?;
    let rows = stmt.query_map([run_id], f).map_err(fault)?;
    rows.collect::<rusqlite::Result<Vec<T>>>().map_err(|e| match e {
        rusqlite::Error::ToSqlConversionFailure(inner) => match inner.downcast::<StoreError>() {
            Ok(s) => Fault::Fatal(*s),
            Err(other) => Fault::Fatal(StoreError::Backend { backend: NAME, message: other.to_string() }),
        },
        e => fault(e),
    })
}

/// Carry a decoding error out of a row closure.
fn to_sql_err(e: StoreError) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

fn decode<T>(r: &Row<'_>, i: usize, f: fn(&'static str, &str) -> Result<T, StoreError>) -> rusqlite::Result<T> {
    let s: String = r.get(i)?;
    f(NAME, &s).map_err(to_sql_err)
}

fn date(r: &Row<'_>, i: usize) -> rusqlite::Result<chrono::NaiveDate> {
    decode(r, i, codec::date)
}
