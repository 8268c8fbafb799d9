//! What the market does and does not forbid: a limit close is not a refusal by default, a sell
//! of a halted stock waits for the day it trades again, a holding ages only on days it could
//! trade, and the snapshot's frozen cash is what the evening's orders reserved.

mod common;

use common::{cfg, market, panel, run, yuan, Scripted};
use janus_core::{OrderStatus, Price, RiskReason, Side};

const HEADER: &str = "date,symbol,open,high,low,close,volume,paused";

#[test]
fn by_default_a_buy_of_a_stock_that_closed_at_limit_up_is_placed_and_fills_below_the_new_limit() {
    // Day 1 closes at limit-up 11.00; day 2 opens at 11.50, under its own limit of 12.10.
    let p = panel(
        HEADER,
        "2024-01-02,600000.SH,10.00,10.00,10.00,10.00,100000,0\n\
         2024-01-03,600000.SH,10.50,11.00,10.40,11.00,100000,0\n\
         2024-01-04,600000.SH,11.50,11.80,11.30,11.60,100000,0\n",
    );
    let mut s = Scripted::new(vec![(1, market(&p, "600000.SH", Side::Buy, Some(100)))]);
    let (rec, pf) = run(&p, cfg(), &mut s);
    assert!(rec.risk_events.is_empty(), "{:?}", rec.risk_events);
    assert_eq!(rec.executions[0].price, Price::from_yuan(11.50));
    assert_eq!(pf.positions.values().next().map(|p| p.amount), Some(100));

    // The old behaviour is one switch away.
    let mut strict = cfg();
    strict.risk.reject_at_limit_close = true;
    let (rec, _) = run(&p, strict, &mut s.clone());
    assert_eq!(rec.risk_events[0].reason, RiskReason::LimitUp);
}

/// Bought on day 1 at 10.00; halted on days 2 and 3; trades again on day 4 at 9.50.
const HALT: &str = "2024-01-02,600000.SH,10.00,10.00,10.00,10.00,100000,0\n\
                    2024-01-03,600000.SH,10.00,10.10,9.90,10.00,100000,0\n\
                    2024-01-04,600000.SH,10.00,10.00,10.00,10.00,0,1\n\
                    2024-01-05,600000.SH,10.00,10.00,10.00,10.00,0,1\n\
                    2024-01-08,600000.SH,9.50,9.60,9.40,9.45,100000,0\n";

#[test]
fn a_sell_wanted_before_a_halt_waits_and_fills_at_the_resumption_open() {
    let p = panel(HEADER, HALT);
    // The strategy asks to sell after every close from day 1 on, as a sell model would.
    let mut script = vec![(0, market(&p, "600000.SH", Side::Buy, Some(1_000)))];
    script.extend((1..4).map(|d| (d, market(&p, "600000.SH", Side::Sell, None))));
    let (rec, pf) = run(&p, cfg(), &mut Scripted::new(script));
    let sells: Vec<_> = rec.orders.iter().filter(|o| o.side == Side::Sell).collect();
    assert_eq!(sells.len(), 1, "one order waits; no new order or refusal each day: {sells:?}");
    assert_eq!(sells[0].status, OrderStatus::Filled);
    assert_eq!(rec.risk_events.len(), 1, "{:?}", rec.risk_events);
    assert_eq!(rec.risk_events[0].reason, RiskReason::MarketSuspended);
    let fill = rec.executions.iter().find(|f| f.side == Side::Sell).unwrap();
    assert_eq!(
        (fill.date.to_string().as_str(), fill.price, fill.quantity),
        ("2024-01-08", Price::from_yuan(9.50), 1_000)
    );
    // Buy 10,000 + commission 5 + transfer 0.10; sell 9,500 - commission 5 - transfer 0.10 -
    // stamp duty 0.05% = 4.75.
    assert_eq!(pf.account.available_cash, yuan(100_000.0 - 10_005.10 + 9_500.0 - 5.0 - 0.10 - 4.75));
    assert!(pf.positions.is_empty());
}

#[test]
fn a_sell_decided_on_a_halted_close_is_queued_once_instead_of_refused_every_day() {
    let p = panel(HEADER, HALT);
    let mut script = vec![(0, market(&p, "600000.SH", Side::Buy, Some(1_000)))];
    script.extend((2..4).map(|d| (d, market(&p, "600000.SH", Side::Sell, None))));
    let (rec, pf) = run(&p, cfg(), &mut Scripted::new(script));
    let reasons: Vec<RiskReason> = rec.risk_events.iter().map(|e| e.reason).collect();
    assert_eq!(reasons, [RiskReason::Suspended]);
    assert_eq!(rec.orders.iter().filter(|o| o.side == Side::Sell).count(), 1);
    assert!(pf.positions.is_empty(), "sold at the resumption open");
}

#[test]
fn days_held_counts_only_the_days_the_holding_could_trade() {
    let p = panel(HEADER, HALT);
    let (rec, _) = run(&p, cfg(), &mut Scripted::new(vec![(0, market(&p, "600000.SH", Side::Buy, Some(1_000)))]));
    let held: Vec<(String, u32)> = rec.position_snapshots.iter().map(|s| (s.date.to_string(), s.days_held)).collect();
    assert_eq!(
        held,
        [
            ("2024-01-03".to_string(), 0),
            ("2024-01-04".to_string(), 0),
            ("2024-01-05".to_string(), 0),
            ("2024-01-08".to_string(), 1)
        ]
    );
}

#[test]
fn frozen_cash_in_the_snapshot_is_what_the_evenings_buys_reserved() {
    let p = panel(
        HEADER,
        "2024-01-02,600000.SH,10.00,10.00,10.00,10.00,100000,0\n\
         2024-01-03,600000.SH,10.00,10.10,9.90,10.00,100000,0\n",
    );
    let (rec, _) = run(&p, cfg(), &mut Scripted::new(vec![(0, market(&p, "600000.SH", Side::Buy, Some(1_000)))]));
    let day0 = &rec.account_snapshots[0];
    // 1,000 shares at the next day's limit-up 11.00 plus fees: commission 5 (0.025% is 2.75,
    // the minimum applies), transfer 0.11.
    assert_eq!(day0.frozen_cash, yuan(11_000.0 + 5.0 + 0.11));
    assert_eq!(day0.cash + day0.frozen_cash, yuan(100_000.0));
    assert_eq!(day0.total_value, yuan(100_000.0));
    assert_eq!(rec.account_snapshots[1].frozen_cash, yuan(0.0), "nothing is ordered on the last day");
}
