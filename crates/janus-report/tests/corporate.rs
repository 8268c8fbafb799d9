//! Round trips across corporate actions: bonus shares join the holding, dividends count as
//! proceeds, and a bonus issue is not an adverse excursion.

use chrono::NaiveDate;
use janus_core::{
    AccountSnapshot, CorporateActionLog, ExecutionLog, Money, OrderId, PositionSnapshot, Price, RunRecord, Side,
};
use janus_report::round_trips;

fn d(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, day).unwrap()
}

fn fill(day: u32, id: u64, side: Side, price: f64, qty: i64, commission: f64) -> ExecutionLog {
    ExecutionLog {
        date: d(day),
        order_id: OrderId(id),
        symbol: "600000.SH".into(),
        side,
        price: Price::from_yuan(price),
        quantity: qty,
        commission: Money::from_yuan(commission),
        taxes: Money::ZERO,
        reference_price: Price::from_yuan(price),
        slippage: Money::ZERO,
    }
}

fn snap(day: u32) -> AccountSnapshot {
    let v = Money::from_yuan(100_000.0);
    AccountSnapshot {
        date: d(day),
        total_value: v,
        cash: v,
        frozen_cash: Money::ZERO,
        market_value: Money::ZERO,
        peak_value: v,
        drawdown: 0.0,
    }
}

fn pos(day: u32, amount: i64, last: f64, entry: f64) -> PositionSnapshot {
    PositionSnapshot {
        date: d(day),
        symbol: "600000.SH".into(),
        amount,
        sellable: amount,
        avg_price: Price::from_yuan(entry),
        entry_price: Price::from_yuan(entry),
        entry_date: d(2),
        high_since_entry: Price::from_yuan(last),
        last_price: Price::from_yuan(last),
        days_held: 0,
        market_value: Price::from_yuan(last).notional(amount),
        realized_pnl: Money::ZERO,
    }
}

/// Bought 1,000 at 20.00 on the 2nd; a 10-for-10 bonus and a 0.10 dividend (tax 20) on the
/// 4th; 2,000 sold at 10.50 on the 5th.
fn record() -> RunRecord {
    RunRecord {
        account_snapshots: (2..=5).map(snap).collect(),
        position_snapshots: vec![pos(2, 1_000, 20.0, 20.0), pos(3, 1_000, 20.2, 20.0), pos(4, 2_000, 10.2, 10.0)],
        executions: vec![fill(2, 1, Side::Buy, 20.0, 1_000, 5.0), fill(5, 2, Side::Sell, 10.5, 2_000, 5.25)],
        corporate_actions: vec![CorporateActionLog {
            date: d(4),
            symbol: "600000.SH".into(),
            shares_before: 1_000,
            bonus_shares: 1_000,
            rights_shares: 0,
            rights_paid: Money::ZERO,
            dividend: Money::from_yuan(100.0),
            dividend_tax: Money::from_yuan(20.0),
            reference_price: Price::from_yuan(9.95),
        }],
        ..RunRecord::default()
    }
}

#[test]
fn bonus_shares_join_the_trip_and_the_net_dividend_is_proceeds() {
    let trips = round_trips(&record());
    assert_eq!(trips.len(), 1, "one trip, closed by selling the 2,000 shares: {trips:?}");
    let t = &trips[0];
    assert_eq!(t.exit_date, Some(d(5)));
    assert_eq!(t.cost, Money::from_yuan(20_005.0));
    assert_eq!(t.proceeds, Money::from_yuan(21_000.0 - 5.25 + 80.0));
    assert_eq!(t.pnl, Money::from_yuan(21_000.0 - 5.25 + 80.0 - 20_005.0));
}

#[test]
fn a_bonus_issue_is_not_an_adverse_excursion() {
    let t = &round_trips(&record())[0];
    // Closes 20.00, 20.20, then 10.20 in the new shares = 20.40 in the old: never below entry.
    assert_eq!(t.mae, 0.0, "{t:?}");
    assert!((t.mfe - (10.5 * 2.0 / 20.0 - 1.0)).abs() < 1e-12, "exit at 10.50 = 21.00 in the old shares: {t:?}");
}
