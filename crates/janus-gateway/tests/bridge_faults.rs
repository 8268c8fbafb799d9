//! Janus against the reference bridge (bridge/reference_bridge.py) on a real Redis: each fault
//! the bridge can inject ends in the state docs/gateway.md promises.

mod common;

use common::{day, sid, yuan, Bridge, Ledger, ACCOUNT, CASH_UNITS};
use janus_core::{Broker, BrokerError, Event, OrderStatus, Portfolio, Price, Side};
use janus_engine::reconcile::{reconcile, ReconcileError};
use janus_gateway::GatewayBroker;
use std::time::Duration;

const TEN: Price = Price(100_000);
const SETTLE: Duration = Duration::from_secs(15);

#[test]
fn a_partial_fill_then_expiry_books_the_filled_shares_and_releases_the_rest() {
    let args = ["--price", "600000.SH=10.00", "--fill-limit", "100", "--latency", "0.05"];
    let Some((_bridge, mut gw)) = Bridge::start("partial", &args) else { return };
    let mut l = Ledger::new();
    l.submit(&mut gw, 1, "600000.SH", Side::Buy, 300, TEN).expect("sent");
    l.poll_until(&mut gw, SETTLE, |l| !l.status(1).is_open());
    let o = &l.orders[&1];
    assert_eq!((o.status, o.filled), (OrderStatus::Expired, 100));
    // 1 000 CNY of shares, 5 CNY minimum commission, 0.01 CNY transfer fee.
    assert_eq!(l.pf.account.available_cash, CASH_UNITS - yuan("1005.01"));
    assert_eq!(l.pf.account.frozen_cash, yuan("0"));
    let broker = gw.account().expect("account");
    assert_eq!((broker.available_cash, broker.frozen_cash), (l.pf.account.available_cash, l.pf.account.frozen_cash));
    assert_eq!(l.pf.positions[&0].amount, 100);
}

#[test]
fn a_rejected_order_ends_rejected_with_its_cash_released() {
    let Some((_bridge, mut gw)) = Bridge::start("reject", &["--reject-symbol", "600519.SH"]) else { return };
    let mut l = Ledger::new();
    l.submit(&mut gw, 1, "600519.SH", Side::Buy, 100, Price(15_000_000)).expect("sent");
    l.poll_until(&mut gw, SETTLE, |l| !l.status(1).is_open());
    assert_eq!(l.status(1), OrderStatus::Rejected);
    assert_eq!((l.pf.account.available_cash, l.pf.account.frozen_cash), (CASH_UNITS, yuan("0")));
    assert!(l
        .seen
        .iter()
        .any(|r| matches!(&r.kind, janus_core::ReportKind::Rejected { detail, .. } if detail.contains("600519.SH"))));
}

#[test]
fn an_order_sent_while_the_bridge_is_away_is_settled_when_it_returns_and_reaches_the_broker_once() {
    let args = ["--price", "600000.SH=10.00", "--disconnect-after", "1", "--disconnect-for", "4"];
    let Some((bridge, mut gw)) = Bridge::start("disconnect", &args) else { return };
    let mut l = Ledger::new();
    l.submit(&mut gw, 1, "600000.SH", Side::Buy, 100, TEN).expect("sent");
    l.poll_until(&mut gw, SETTLE, |l| l.status(1) == OrderStatus::Filled);
    // The bridge has now dropped its connection and stopped heartbeating.
    std::thread::sleep(Duration::from_millis(1_400));
    match gw.poll() {
        Err(BrokerError::Unreachable(m)) => assert!(m.contains("Is the bridge running?"), "{m}"),
        other => panic!("a silent bridge must be unreachable, got {other:?}"),
    }
    let sent = l.submit(&mut gw, 2, "600000.SH", Side::Buy, 100, TEN);
    assert!(matches!(sent, Err(BrokerError::Unreachable(_))), "{sent:?}");
    assert_eq!(l.status(2), OrderStatus::Submitted, "its fate is unknown until the bridge returns");
    // A restarted node resends what it journaled as submitted: the bridge must not trade it twice.
    let mut restarted = GatewayBroker::connect(common::config(&bridge.prefix)).expect("connects");
    let _ = restarted.submit(&l.orders[&2]);
    drop(restarted);
    l.poll_until(&mut gw, SETTLE, |l| l.status(2) == OrderStatus::Filled);
    assert_eq!(l.pf.positions[&0].amount, 200);
    assert_eq!(bridge.logged("created", 2), 1, "order 2 reached the broker once");
    assert_eq!(bridge.logged("received", 2), 2);
    assert_eq!(bridge.logged("duplicate_ignored", 2), 1);
}

#[test]
fn a_fill_arriving_after_a_cancel_request_is_booked_and_the_rest_is_canceled() {
    let args = ["--price", "600000.SH=10.00", "--hold", "--fill-after-cancel", "--fill-limit", "100"];
    let Some((_bridge, mut gw)) = Bridge::start("fill_after_cancel", &args) else { return };
    let mut l = Ledger::new();
    l.submit(&mut gw, 1, "600000.SH", Side::Buy, 300, TEN).expect("sent");
    l.poll_until(&mut gw, SETTLE, |l| l.status(1) == OrderStatus::Accepted);
    l.cancel(&mut gw, 1).expect("cancel sent");
    l.poll_until(&mut gw, SETTLE, |l| !l.status(1).is_open());
    let o = &l.orders[&1];
    assert_eq!((o.status, o.filled), (OrderStatus::Canceled, 100), "canceled with the late fill booked");
    assert_eq!(l.pf.positions[&0].amount, 100);
    assert_eq!(gw.account().expect("account").available_cash, l.pf.account.available_cash);
}

#[test]
fn a_fill_of_the_whole_order_after_a_cancel_request_leaves_it_filled() {
    let args = ["--price", "600000.SH=10.00", "--hold", "--fill-after-cancel"];
    let Some((_bridge, mut gw)) = Bridge::start("fill_after_cancel_all", &args) else { return };
    let mut l = Ledger::new();
    l.submit(&mut gw, 1, "600000.SH", Side::Buy, 300, TEN).expect("sent");
    l.poll_until(&mut gw, SETTLE, |l| l.status(1) == OrderStatus::Accepted);
    l.cancel(&mut gw, 1).expect("cancel sent");
    l.poll_until(&mut gw, SETTLE, |l| l.seen.iter().any(|r| r.kind.name() == "cancel_rejected"));
    assert_eq!((l.status(1), l.orders[&1].filled), (OrderStatus::Filled, 300));
}

#[test]
fn a_duplicated_fill_report_is_applied_once() {
    let Some((_bridge, mut gw)) = Bridge::start("duplicate", &["--price", "600000.SH=10.00", "--duplicate-reports"])
    else {
        return;
    };
    let mut l = Ledger::new();
    l.submit(&mut gw, 1, "600000.SH", Side::Buy, 300, TEN).expect("sent");
    // Both copies of the fill have arrived once two fill reports have been seen.
    l.poll_until(&mut gw, SETTLE, |l| l.seen.iter().filter(|r| r.kind.fill().is_some()).count() == 2);
    let trades: Vec<_> = l.seen.iter().filter_map(|r| r.kind.fill()).map(|f| f.trade_id.clone()).collect();
    assert_eq!(trades[0], trades[1], "the same trade reported twice");
    assert_eq!((l.status(1), l.pf.positions[&0].amount), (OrderStatus::Filled, 300));
    // 3 000 CNY, 5 CNY commission, 0.03 CNY transfer fee: charged once.
    assert_eq!(l.pf.account.available_cash, CASH_UNITS - yuan("3005.03"));
    assert_eq!(gw.account().expect("account").available_cash, l.pf.account.available_cash);
}

#[test]
fn reconciliation_after_a_restart_finds_the_bridge_s_positions_and_cash() {
    let args = ["--price", "600000.SH=10.00", "--position", "000001.SZ:1000"];
    let Some((bridge, mut gw)) = Bridge::start("reconcile", &args) else { return };
    let mut l = Ledger::new();
    l.submit(&mut gw, 1, "600000.SH", Side::Buy, 200, TEN).expect("sent");
    l.poll_until(&mut gw, SETTLE, |l| l.status(1) == OrderStatus::Filled);
    drop(gw);
    // The node restarts knowing nothing of its holdings.
    let mut gw = GatewayBroker::connect(common::config(&bridge.prefix)).expect("connects");
    let r = reconcile(&Portfolio::new(CASH_UNITS), &[], &mut gw, day(), &sid).expect("reconciles");
    let held: Vec<_> = r.portfolio.positions.values().map(|p| (p.symbol.as_str(), p.amount, p.sellable)).collect();
    assert_eq!(held, vec![("600000.SH", 200, 0), ("000001.SZ", 1_000, 1_000)]);
    assert_eq!(r.portfolio.account.available_cash, CASH_UNITS - yuan("2005.02"));
    assert_eq!(r.events.len(), 4, "cash, two positions and the summary: {:?}", r.events);
    assert!(r.events.iter().all(|e| matches!(e, Event::Reconciliation { .. })));
}

#[test]
fn reconciliation_refuses_to_trade_while_the_broker_has_an_order_janus_does_not_know() {
    let Some((bridge, mut gw)) = Bridge::start("unknown_order", &["--price", "600000.SH=10.00", "--hold"]) else {
        return;
    };
    let mut l = Ledger::new();
    l.submit(&mut gw, 1, "600000.SH", Side::Buy, 100, TEN).expect("sent");
    l.poll_until(&mut gw, SETTLE, |l| l.status(1) == OrderStatus::Accepted);
    let mut restarted = GatewayBroker::connect(common::config(&bridge.prefix)).expect("connects");
    let e = reconcile(&Portfolio::new(CASH_UNITS), &[], &mut restarted, day(), &sid).expect_err("an unknown order");
    assert!(matches!(&e, ReconcileError::UnknownOrders(m) if m.contains("order 1 ")), "{e}");
    // The node that journaled the order reconciles: it is open at the broker, its cash frozen.
    let r = reconcile(&l.pf, &[l.orders[&1].clone()], &mut restarted, day(), &sid).expect("reconciles");
    assert_eq!(r.open.iter().map(|o| (o.id.0, o.status)).collect::<Vec<_>>(), vec![(1, OrderStatus::Accepted)]);
    assert_eq!(r.portfolio.account.frozen_cash, gw.account().expect("account").frozen_cash);
}

#[test]
fn a_silent_bridge_makes_queries_and_submits_unreachable() {
    if !common::redis_available() {
        return;
    }
    let mut cfg = common::config(&common::unique_prefix("silent"));
    cfg.query_timeout = Duration::from_millis(400);
    cfg.silence_timeout = Duration::from_millis(300);
    let _cleanup = common::Streams(cfg.clone());
    let mut gw = GatewayBroker::connect(cfg.clone()).expect("connects");
    let e = gw.account().expect_err("nobody answers");
    assert!(matches!(&e, BrokerError::Unreachable(m) if m.contains(ACCOUNT) && m.contains("account query")), "{e}");
    let mut l = Ledger::new();
    let sent = l.submit(&mut gw, 1, "600000.SH", Side::Buy, 100, TEN);
    assert!(matches!(sent, Err(BrokerError::Unreachable(_))), "{sent:?}");
    assert!(matches!(gw.poll(), Err(BrokerError::Unreachable(_))));
}

#[test]
fn a_message_janus_cannot_read_is_set_aside_and_reported_once_without_losing_the_reports_beside_it() {
    if !common::redis_available() {
        return;
    }
    let cfg = common::config(&common::unique_prefix("bad_message"));
    let _cleanup = common::Streams(cfg.clone());
    let mut gw = GatewayBroker::connect(cfg.clone()).expect("connects");
    let mut c = redis::Client::open(cfg.url.as_str()).and_then(|c| c.get_connection()).expect("redis");
    let report = r#"{"v":1,"msg_id":"b1","client_order_id":"1","type":"report","date":"2024-01-02","kind":"accepted"}"#;
    let float = r#"{"v":1,"msg_id":"b2","client_order_id":null,"type":"account","correlation_id":null,
        "available_cash":12.5,"frozen_cash":"0"}"#;
    let bad_fill = r#"{"v":1,"msg_id":"b3","client_order_id":"1","type":"report","date":"2024-01-02","kind":"filled"}"#;
    for text in [report, "not json", float, bad_fill] {
        let _: String =
            redis::cmd("XADD").arg(cfg.in_stream()).arg("*").arg("msg").arg(text).query(&mut c).expect("xadd");
    }
    let dead = format!("{}:{}:dead", cfg.prefix, cfg.account);
    match gw.poll() {
        Err(BrokerError::Protocol(m)) => assert!(m.contains(&dead) && m.contains("not json"), "{m}"),
        other => panic!("expected a protocol error, got {other:?}"),
    }
    let reports = gw.poll().expect("the next poll goes on");
    assert_eq!(reports.len(), 1, "the good report survives: {reports:?}");
    let set_aside: usize = redis::cmd("XLEN").arg(&dead).query(&mut c).expect("xlen");
    assert_eq!(set_aside, 3, "bad JSON, a float for money, a fill report without a fill");
}
