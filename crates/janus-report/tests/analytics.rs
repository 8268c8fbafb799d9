//! Where the money went, on a small hand-built run: a winner that gave its gain back while a
//! limit-down kept it from being sold, a sell stuck in a suspension until the end, and a sell
//! that T+1 delayed by a day (and that waiting happened to help).

use chrono::NaiveDate;
use janus_core::{
    AccountSnapshot, ExecutionLog, Money, Order, OrderId, OrderStatus, OrderType, PositionSnapshot, Price, Qty,
    RiskEvent, RiskReason, RunRecord, Side,
};
use janus_report::{gave_back, refused_sells, round_trips, Analysis, ExitKind, GaveBack};

fn d(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 3, day).unwrap()
}

fn p(yuan: f64) -> Price {
    Price::from_yuan(yuan)
}

const DAYS: [u32; 10] = [4, 5, 6, 7, 8, 11, 12, 13, 14, 15];

fn account(day: u32) -> AccountSnapshot {
    let total = Money::from_yuan(100_000.0);
    AccountSnapshot {
        date: d(day),
        total_value: total,
        cash: total,
        frozen_cash: Money::ZERO,
        market_value: Money::ZERO,
        peak_value: total,
        drawdown: 0.0,
    }
}

fn position(day: u32, symbol: &str, amount: Qty, entry: u32, close: f64) -> PositionSnapshot {
    PositionSnapshot {
        date: d(day),
        symbol: symbol.into(),
        amount,
        sellable: amount,
        avg_price: p(10.0),
        entry_price: p(10.0),
        entry_date: d(entry),
        high_since_entry: p(close),
        last_price: p(close),
        days_held: 0,
        market_value: p(close).notional(amount),
        realized_pnl: Money::ZERO,
    }
}

fn order(id: u64, symbol: &str, side: Side, qty: Qty, created: u32, tag: &str, status: OrderStatus) -> Order {
    let mut o = Order::new(OrderId(id), symbol.into(), side, OrderType::Market, qty, d(created));
    o.tag = tag.into();
    o.status = status;
    if status == OrderStatus::Filled {
        o.filled = qty;
    }
    o
}

fn fill(day: u32, id: u64, symbol: &str, side: Side, price: f64, qty: Qty) -> ExecutionLog {
    ExecutionLog {
        date: d(day),
        order_id: OrderId(id),
        symbol: symbol.into(),
        side,
        price: p(price),
        quantity: qty,
        commission: Money::ZERO,
        taxes: Money::ZERO,
        reference_price: p(price),
        slippage: Money::ZERO,
    }
}

fn event(day: u32, id: u64, symbol: &str, side: Side, reason: RiskReason) -> RiskEvent {
    RiskEvent { date: d(day), symbol: symbol.into(), order_id: OrderId(id), side, reason, detail: String::new() }
}

fn record() -> RunRecord {
    use OrderStatus::*;
    use Side::*;
    let mut positions = Vec::new();
    // A: bought at 10.00 on the 4th, up 25% on the 5th, falls; the trailing stop decided on the
    // 7th (close 9.00) meets limit-down on the 8th and is refused again pre-trade; sold on the
    // 12th at 8.00.
    for (day, close) in [(4, 10.0), (5, 12.5), (6, 11.0), (7, 9.0), (8, 8.1), (11, 8.0)] {
        positions.push(position(day, "A", 1000, 4, close));
    }
    // C: bought on the 5th at 10.00; a sell decided that day is refused by T+1, sold on the 7th.
    for (day, close) in [(5, 10.2), (6, 10.4)] {
        positions.push(position(day, "C", 100, 5, close));
    }
    // B: bought on the 11th at 20.00; the sell decided on the 12th (close 19.00) meets a
    // suspension and is still stuck at the end (last close 17.00).
    for (day, close) in [(11, 20.0), (12, 19.0), (13, 19.0), (14, 18.0), (15, 17.0)] {
        positions.push(position(day, "B", 500, 11, close));
    }
    positions.sort_by_key(|p| p.date);
    RunRecord {
        account_snapshots: DAYS.iter().map(|&day| account(day)).collect(),
        position_snapshots: positions,
        orders: vec![
            order(1, "A", Buy, 1000, 1, "buy_rank", Filled),
            order(2, "A", Sell, 1000, 7, "trailing_stop", Expired),
            order(3, "A", Sell, 1000, 8, "trailing_stop", Rejected),
            order(4, "A", Sell, 1000, 11, "trailing_stop", Filled),
            order(5, "B", Buy, 500, 8, "buy_rank", Filled),
            order(6, "B", Sell, 500, 12, "lgbm_v2", Expired),
            order(7, "B", Sell, 500, 13, "lgbm_v2", Rejected),
            order(8, "C", Buy, 100, 4, "buy_rank", Filled),
            order(9, "C", Sell, 100, 5, "lgbm_v2", Rejected),
            order(10, "C", Sell, 100, 6, "lgbm_v2", Filled),
            order(11, "D", Buy, 100, 6, "buy_rank", Rejected),
            order(12, "C", Sell, 100, 6, "lgbm_v2", Rejected),
        ],
        risk_events: vec![
            event(5, 9, "C", Sell, RiskReason::TPlusOne),
            event(6, 11, "D", Buy, RiskReason::LimitUp),
            event(6, 12, "C", Sell, RiskReason::Concentration),
            event(8, 2, "A", Sell, RiskReason::MarketLimitDown),
            event(8, 3, "A", Sell, RiskReason::LimitDown),
            event(13, 6, "B", Sell, RiskReason::MarketSuspended),
            event(13, 7, "B", Sell, RiskReason::Suspended),
        ],
        executions: vec![
            fill(4, 1, "A", Buy, 10.0, 1000),
            fill(5, 8, "C", Buy, 10.0, 100),
            fill(7, 10, "C", Sell, 10.5, 100),
            fill(11, 5, "B", Buy, 20.0, 500),
            fill(12, 4, "A", Sell, 8.0, 1000),
        ],
        corporate_actions: Vec::new(),
        last_day_index: Some(9),
    }
}

#[test]
fn round_trips_carry_their_best_and_worst_close_and_what_they_gave_back() {
    let trips = round_trips(&record());
    let a = trips.iter().find(|t| t.symbol == "A").unwrap();
    assert!((a.ret + 0.2).abs() < 1e-12);
    assert!((a.mfe - 0.25).abs() < 1e-12, "best close 12.50 on 10.00");
    assert!((a.mae + 0.2).abs() < 1e-12, "worst: the exit at 8.00");
    assert!((a.giveback - 0.45).abs() < 1e-12);
    assert_eq!((a.exit_reason.as_str(), a.exit_kind), ("trailing_stop", ExitKind::StopRule));

    let c = trips.iter().find(|t| t.symbol == "C").unwrap();
    assert_eq!(c.exit_kind, ExitKind::SellModel);
    assert!((c.mfe - 0.05).abs() < 1e-12 && c.mae == 0.0, "never below the entry");

    let b = trips.iter().find(|t| t.symbol == "B").unwrap();
    assert_eq!((b.exit_reason.as_str(), b.exit_kind), ("open", ExitKind::EndOfRun));
    assert_eq!(b.mfe, 0.0, "never above the entry");
    assert!((b.mae + 0.15).abs() < 1e-12);
}

#[test]
fn the_gave_it_back_table_lists_trips_up_20_percent_that_closed_at_a_loss() {
    let trips = round_trips(&record());
    let gb: Vec<&str> = gave_back(&trips, 0.20, 0.0).iter().map(|t| t.symbol.as_str()).collect();
    assert_eq!(gb, ["A"]);
    assert!(gave_back(&trips, 0.30, 0.0).is_empty(), "A was never up 30%");
    // Up at least 5% and closed below +6%: C (+5%) and A.
    let gb: Vec<&str> = gave_back(&trips, 0.05, 0.06).iter().map(|t| t.symbol.as_str()).collect();
    assert_eq!(gb, ["A", "C"], "largest giveback first");
}

#[test]
fn a_sell_refused_at_limit_down_is_one_episode_until_the_next_sell_fill() {
    let refused = refused_sells(&record());
    assert_eq!(refused.len(), 3, "{refused:#?}");
    let a = refused.iter().find(|r| r.symbol == "A").unwrap();
    assert_eq!((a.order_id, a.reason, a.refusals), (OrderId(2), RiskReason::MarketLimitDown, 2));
    assert_eq!((a.wanted_date, a.wanted_price, a.shares), (d(7), p(9.0), 1000));
    assert_eq!((a.filled_date, a.fill_price), (Some(d(12)), 8.0));
    assert_eq!(a.days_stuck, 2, "it could have filled on the 8th and the 11th");
    assert_eq!(a.cost, Money::from_yuan(1_000.0), "(9.00 - 8.00) x 1000 lost by waiting");
    assert_eq!(a.tag, "trailing_stop");
}

#[test]
fn a_sell_still_suspended_at_the_end_is_marked_at_the_last_close() {
    let refused = refused_sells(&record());
    let b = refused.iter().find(|r| r.symbol == "B").unwrap();
    assert_eq!((b.reason, b.refusals, b.filled_date), (RiskReason::MarketSuspended, 2, None));
    assert!(!b.is_resolved());
    assert_eq!((b.wanted_price, b.fill_price, b.days_stuck), (p(19.0), 17.0, 3));
    assert_eq!(b.cost, Money::from_yuan(1_000.0));
}

#[test]
fn a_t_plus_1_delay_counts_and_waiting_can_gain() {
    let refused = refused_sells(&record());
    let c = refused.iter().find(|r| r.symbol == "C").unwrap();
    assert_eq!((c.reason, c.refusals, c.days_stuck), (RiskReason::TPlusOne, 1, 1));
    assert_eq!(c.cost, Money::from_yuan(-30.0), "sold at 10.50 instead of 10.20");
    assert!(refused.iter().all(|r| r.symbol != "D"), "a refused buy is not a stuck sell");
}

#[test]
fn refused_sell_totals_reach_the_metrics() {
    let record = record();
    let a = Analysis::new(&record, Money::from_yuan(100_000.0), None, GaveBack::default());
    let t = &a.metrics.refused_sells;
    assert_eq!((t.episodes, t.refusals, t.resolved, t.still_stuck, t.shares), (3, 5, 2, 1, 1600));
    assert_eq!(t.avg_days_stuck, Some(1.5));
    assert_eq!((t.cost_resolved.as_str(), t.cost_still_stuck.as_str()), ("970.0000", "1000.0000"));
    let reasons: Vec<(&str, u64)> = t.by_reason.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(reasons, [("MARKET_LIMIT_DOWN", 1), ("MARKET_SUSPENDED", 1), ("T_PLUS_1", 1)]);
    assert_eq!(a.metrics.gave_back_trades, 1);
    let json = serde_json::to_value(&a.metrics).unwrap();
    assert_eq!(json["refused_sells"]["cost_resolved"], "970.0000");
    assert_eq!(json["gave_back_trades"], 1);
    assert_eq!(json["gave_back_up"], 0.2);
}
