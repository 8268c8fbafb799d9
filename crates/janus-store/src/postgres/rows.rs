//! Rows to and from PostgreSQL: the days of a flush as column vectors, inserted with one
//! `INSERT ... SELECT FROM UNNEST(...)` per table, and the decoding of read rows back into the
//! core types (an unknown code is an error, never a default).

use super::{exec as statement, last_day, NAME};
use crate::codec;
use crate::persistent::{days_to_write, Fault};
use chrono::NaiveDate;
use janus_core::{
    AccountSnapshot, CorporateActionLog, DayBatch, ExecutionLog, Money, Order, OrderId, PositionSnapshot, Price,
    RiskEvent, StoreError,
};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio_postgres::{Row, Transaction};

/// Column vectors of risk events: day, seq, date, symbol, order id, [side, reason, detail].
type RiskCols<'a> = (Vec<i64>, Vec<i64>, Vec<NaiveDate>, Vec<&'a str>, Vec<i64>, [Vec<&'a str>; 3]);

/// Column vectors of fills: day, seq, date, order id, symbol, side, [price, quantity,
/// commission, taxes, reference price, slippage].
type ExecCols<'a> = (Vec<i64>, Vec<i64>, Vec<NaiveDate>, Vec<i64>, Vec<&'a str>, Vec<&'a str>, [Vec<i64>; 6]);

/// Column vectors of corporate actions: day, seq, date, symbol, [shares before, bonus shares,
/// rights shares, rights paid, dividend, dividend tax, reference price].
type CorporateCols<'a> = (Vec<i64>, Vec<i64>, Vec<NaiveDate>, Vec<&'a str>, [Vec<i64>; 7]);

/// Column vectors of position rows, for `UNNEST`.
#[derive(Default)]
struct PositionCols {
    day: Vec<i64>,
    seq: Vec<i64>,
    date: Vec<NaiveDate>,
    symbol: Vec<String>,
    amount: Vec<i64>,
    sellable: Vec<i64>,
    avg: Vec<i64>,
    entry: Vec<i64>,
    entry_date: Vec<NaiveDate>,
    high: Vec<i64>,
    last: Vec<i64>,
    held: Vec<i64>,
    value: Vec<i64>,
    realized: Vec<i64>,
}

impl PositionCols {
    fn push(&mut self, day: u32, seq: usize, p: &PositionSnapshot) {
        self.day.push(day as i64);
        self.seq.push(seq as i64);
        self.date.push(p.date);
        self.symbol.push(p.symbol.clone());
        self.amount.push(p.amount);
        self.sellable.push(p.sellable);
        self.avg.push(p.avg_price.0);
        self.entry.push(p.entry_price.0);
        self.entry_date.push(p.entry_date);
        self.high.push(p.high_since_entry.0);
        self.last.push(p.last_price.0);
        self.held.push(p.days_held as i64);
        self.value.push(p.market_value.0);
        self.realized.push(p.realized_pnl.0);
    }
}

/// Everything `write_days` does inside its transaction: the rows of the days after the run's
/// last committed one, the active positions, and the run's new last day.
pub async fn write_days_in(tx: &Transaction<'_>, io: Duration, run_id: &str, days: &[DayBatch]) -> Result<(), Fault> {
    let last = last_day(tx, io, run_id, true).await?;
    let days = days_to_write(NAME, run_id, last, days)?;
    let Some(final_day) = days.last() else { return Ok(()) };

    let mut acc: (Vec<i64>, Vec<NaiveDate>, [Vec<i64>; 5], Vec<f64>) = Default::default();
    let mut pos = PositionCols::default();
    let mut orders: BTreeMap<u64, (u32, &Order)> = BTreeMap::new();
    let mut risk: RiskCols = Default::default();
    let mut exec: ExecCols = Default::default();
    let mut corporate: CorporateCols = Default::default();
    for d in days {
        if let Some(a) = &d.account {
            acc.0.push(d.day_index as i64);
            acc.1.push(a.date);
            for (col, v) in acc.2.iter_mut().zip([a.total_value, a.cash, a.frozen_cash, a.market_value, a.peak_value]) {
                col.push(v.0);
            }
            acc.3.push(a.drawdown);
        }
        for (seq, p) in d.positions.iter().enumerate() {
            pos.push(d.day_index, seq, p);
        }
        for o in &d.orders {
            // The last state of each order wins (one row per order and statement).
            orders.insert(o.id.0, (d.day_index, o));
        }
        for (seq, e) in d.risk_events.iter().enumerate() {
            risk.0.push(d.day_index as i64);
            risk.1.push(seq as i64);
            risk.2.push(e.date);
            risk.3.push(&e.symbol);
            risk.4.push(e.order_id.0 as i64);
            risk.5[0].push(e.side.as_str());
            risk.5[1].push(e.reason.code());
            risk.5[2].push(&e.detail);
        }
        for (seq, x) in d.executions.iter().enumerate() {
            exec.0.push(d.day_index as i64);
            exec.1.push(seq as i64);
            exec.2.push(x.date);
            exec.3.push(x.order_id.0 as i64);
            exec.4.push(&x.symbol);
            exec.5.push(x.side.as_str());
            for (col, v) in exec.6.iter_mut().zip([
                x.price.0,
                x.quantity,
                x.commission.0,
                x.taxes.0,
                x.reference_price.0,
                x.slippage.0,
            ]) {
                col.push(v);
            }
        }
        for (seq, c) in d.corporate_actions.iter().enumerate() {
            corporate.0.push(d.day_index as i64);
            corporate.1.push(seq as i64);
            corporate.2.push(c.date);
            corporate.3.push(&c.symbol);
            for (col, v) in corporate.4.iter_mut().zip([
                c.shares_before,
                c.bonus_shares,
                c.rights_shares,
                c.rights_paid.0,
                c.dividend.0,
                c.dividend_tax.0,
                c.reference_price.0,
            ]) {
                col.push(v);
            }
        }
    }
    if !acc.0.is_empty() {
        let [t, c, f, m, p] = &acc.2;
        statement(
            tx,
            io,
            "INSERT INTO account_snapshots (run_id, day_index, date, total_value, cash, frozen_cash, market_value,
                 peak_value, drawdown)
                 SELECT $1, * FROM UNNEST($2::bigint[], $3::date[], $4::bigint[], $5::bigint[], $6::bigint[],
                 $7::bigint[], $8::bigint[], $9::float8[])",
            &[&run_id, &acc.0, &acc.1, t, c, f, m, p, &acc.3],
        )
        .await?;
    }
    if !pos.day.is_empty() {
        statement(
            tx,
            io,
            "INSERT INTO position_snapshots (run_id, day_index, seq, date, symbol, amount, sellable, avg_price,
                 entry_price, entry_date, high_since_entry, last_price, days_held, market_value, realized_pnl)
                 SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], $4::date[], $5::text[], $6::bigint[],
                 $7::bigint[], $8::bigint[], $9::bigint[], $10::date[], $11::bigint[], $12::bigint[], $13::bigint[],
                 $14::bigint[], $15::bigint[])",
            &[
                &run_id,
                &pos.day,
                &pos.seq,
                &pos.date,
                &pos.symbol,
                &pos.amount,
                &pos.sellable,
                &pos.avg,
                &pos.entry,
                &pos.entry_date,
                &pos.high,
                &pos.last,
                &pos.held,
                &pos.value,
                &pos.realized,
            ],
        )
        .await?;
    }
    if !orders.is_empty() {
        let mut ints: [Vec<i64>; 8] = Default::default();
        let mut limit: Vec<Option<i64>> = Vec::new();
        let mut texts: [Vec<&str>; 5] = Default::default();
        let mut dates: [Vec<NaiveDate>; 2] = Default::default();
        for (&id, &(day, o)) in &orders {
            let (kind, lim) = codec::order_type_parts(o.order_type);
            let vals = [
                id as i64,
                day as i64,
                o.quantity,
                o.filled,
                o.filled_notional.0,
                o.commission.0,
                o.taxes.0,
                o.frozen_cash.0,
            ];
            for (col, v) in ints.iter_mut().zip(vals) {
                col.push(v);
            }
            limit.push(lim);
            for (col, v) in texts.iter_mut().zip([o.symbol.as_str(), o.side.as_str(), kind, o.status.as_str(), &o.tag])
            {
                col.push(v);
            }
            dates[0].push(o.created);
            dates[1].push(o.updated);
        }
        statement(
            tx,
            io,
            "INSERT INTO orders_history (run_id, order_id, day_index, symbol, side, order_type, limit_price,
                 quantity, filled, status, created, updated, filled_notional, commission, taxes, frozen_cash, tag)
                 SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[],
                 $7::bigint[], $8::bigint[], $9::bigint[], $10::text[], $11::date[], $12::date[], $13::bigint[],
                 $14::bigint[], $15::bigint[], $16::bigint[], $17::text[])
                 ON CONFLICT (run_id, order_id) DO UPDATE SET day_index = EXCLUDED.day_index,
                 symbol = EXCLUDED.symbol, side = EXCLUDED.side, order_type = EXCLUDED.order_type,
                 limit_price = EXCLUDED.limit_price, quantity = EXCLUDED.quantity, filled = EXCLUDED.filled,
                 status = EXCLUDED.status, created = EXCLUDED.created, updated = EXCLUDED.updated,
                 filled_notional = EXCLUDED.filled_notional, commission = EXCLUDED.commission,
                 taxes = EXCLUDED.taxes, frozen_cash = EXCLUDED.frozen_cash, tag = EXCLUDED.tag",
            &[
                &run_id, &ints[0], &ints[1], &texts[0], &texts[1], &texts[2], &limit, &ints[2], &ints[3], &texts[3],
                &dates[0], &dates[1], &ints[4], &ints[5], &ints[6], &ints[7], &texts[4],
            ],
        )
        .await?;
    }
    if !risk.0.is_empty() {
        let [side, reason, detail] = &risk.5;
        statement(
            tx,
            io,
            "INSERT INTO risk_events (run_id, day_index, seq, date, symbol, order_id, side, reason, detail)
                 SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], $4::date[], $5::text[], $6::bigint[],
                 $7::text[], $8::text[], $9::text[])",
            &[&run_id, &risk.0, &risk.1, &risk.2, &risk.3, &risk.4, side, reason, detail],
        )
        .await?;
    }
    if !exec.0.is_empty() {
        let [price, qty, comm, taxes, reference, slip] = &exec.6;
        statement(
            tx,
            io,
            "INSERT INTO execution_logs (run_id, day_index, seq, date, order_id, symbol, side, price, quantity,
                 commission, taxes, reference_price, slippage)
                 SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], $4::date[], $5::bigint[], $6::text[],
                 $7::text[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[])",
            &[&run_id, &exec.0, &exec.1, &exec.2, &exec.3, &exec.4, &exec.5, price, qty, comm, taxes, reference, slip],
        )
        .await?;
    }
    if !corporate.0.is_empty() {
        let [before, bonus, rights, paid, dividend, tax, reference] = &corporate.4;
        statement(
            tx,
            io,
            "INSERT INTO corporate_actions (run_id, day_index, seq, date, symbol, shares_before, bonus_shares,
                 rights_shares, rights_paid, dividend, dividend_tax, reference_price)
                 SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], $4::date[], $5::text[], $6::bigint[],
                 $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[])",
            &[
                &run_id,
                &corporate.0,
                &corporate.1,
                &corporate.2,
                &corporate.3,
                before,
                bonus,
                rights,
                paid,
                dividend,
                tax,
                reference,
            ],
        )
        .await?;
    }
    // The active positions are those of the last day written.
    statement(tx, io, "DELETE FROM positions_active WHERE run_id = $1", &[&run_id]).await?;
    if !final_day.positions.is_empty() {
        let mut a = PositionCols::default();
        for (seq, p) in final_day.positions.iter().enumerate() {
            a.push(final_day.day_index, seq, p);
        }
        statement(
            tx,
            io,
            "INSERT INTO positions_active (run_id, symbol, date, amount, sellable, avg_price, entry_price,
                 entry_date, high_since_entry, last_price, days_held, market_value, realized_pnl)
                 SELECT $1, * FROM UNNEST($2::text[], $3::date[], $4::bigint[], $5::bigint[], $6::bigint[],
                 $7::bigint[], $8::date[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[])",
            &[
                &run_id,
                &a.symbol,
                &a.date,
                &a.amount,
                &a.sellable,
                &a.avg,
                &a.entry,
                &a.entry_date,
                &a.high,
                &a.last,
                &a.held,
                &a.value,
                &a.realized,
            ],
        )
        .await?;
    }
    let events: Vec<janus_core::JournalEvent> = days.iter().flat_map(|d| d.events.iter().cloned()).collect();
    super::journal::write_events(tx, io, run_id, &events).await?;
    // Each instance's last checkpoint of the flush is the one that stays.
    let checkpoints: BTreeMap<&str, &janus_core::Checkpoint> =
        days.iter().filter_map(|d| d.checkpoint.as_ref()).map(|c| (c.instance.as_str(), c)).collect();
    for c in checkpoints.into_values() {
        super::journal::write_checkpoint(tx, io, run_id, c).await?;
    }
    statement(
        tx,
        io,
        "UPDATE runs SET last_day_index = $1 WHERE run_id = $2",
        &[&(final_day.day_index as i64), &run_id],
    )
    .await?;
    Ok(())
}

pub fn account_row(r: &Row) -> AccountSnapshot {
    AccountSnapshot {
        date: r.get(0),
        total_value: Money(r.get(1)),
        cash: Money(r.get(2)),
        frozen_cash: Money(r.get(3)),
        market_value: Money(r.get(4)),
        peak_value: Money(r.get(5)),
        drawdown: r.get(6),
    }
}

pub fn position_row(r: &Row) -> Result<PositionSnapshot, StoreError> {
    Ok(PositionSnapshot {
        date: r.get(0),
        symbol: r.get(1),
        amount: r.get(2),
        sellable: r.get(3),
        avg_price: Price(r.get(4)),
        entry_price: Price(r.get(5)),
        entry_date: r.get(6),
        high_since_entry: Price(r.get(7)),
        last_price: Price(r.get(8)),
        days_held: codec::u32_of(NAME, "days held", r.get(9))?,
        market_value: Money(r.get(10)),
        realized_pnl: Money(r.get(11)),
    })
}

pub fn order_row(r: &Row) -> Result<Order, StoreError> {
    Ok(Order {
        id: OrderId(r.get::<_, i64>(0) as u64),
        symbol: r.get(1),
        side: codec::side(NAME, r.get(2))?,
        order_type: codec::order_type(NAME, r.get(3), r.get(4))?,
        quantity: r.get(5),
        filled: r.get(6),
        status: codec::order_status(NAME, r.get(7))?,
        created: r.get(8),
        updated: r.get(9),
        filled_notional: Money(r.get(10)),
        commission: Money(r.get(11)),
        taxes: Money(r.get(12)),
        frozen_cash: Money(r.get(13)),
        tag: r.get(14),
    })
}

pub fn risk_row(r: &Row) -> Result<RiskEvent, StoreError> {
    Ok(RiskEvent {
        date: r.get(0),
        symbol: r.get(1),
        order_id: OrderId(r.get::<_, i64>(2) as u64),
        side: codec::side(NAME, r.get(3))?,
        reason: codec::reason(NAME, r.get(4))?,
        detail: r.get(5),
    })
}

pub fn exec_row(r: &Row) -> Result<ExecutionLog, StoreError> {
    Ok(ExecutionLog {
        date: r.get(0),
        order_id: OrderId(r.get::<_, i64>(1) as u64),
        symbol: r.get(2),
        side: codec::side(NAME, r.get(3))?,
        price: Price(r.get(4)),
        quantity: r.get(5),
        commission: Money(r.get(6)),
        taxes: Money(r.get(7)),
        reference_price: Price(r.get(8)),
        slippage: Money(r.get(9)),
    })
}

pub fn corporate_row(r: &Row) -> CorporateActionLog {
    CorporateActionLog {
        date: r.get(0),
        symbol: r.get(1),
        shares_before: r.get(2),
        bonus_shares: r.get(3),
        rights_shares: r.get(4),
        rights_paid: Money(r.get(5)),
        dividend: Money(r.get(6)),
        dividend_tax: Money(r.get(7)),
        reference_price: Price(r.get(8)),
    }
}
