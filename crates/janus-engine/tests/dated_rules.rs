//! Scenarios under the rules of their dates: board lots, limits before and after a reform, a new
//! listing's free days, and the stamp-duty and transfer-fee changes, each with exact cash.

mod common;

use common::{cfg, market, panel, run, yuan, Scripted};
use janus_core::{Money, OrderStatus, Price, RiskReason, Side};
use janus_data::Panel;

const HEADER: &str = "date,symbol,open,high,low,close,volume";

/// The limit-up and limit-down of `symbol` on `date`.
fn limits(panel: &Panel, date: &str, symbol: &str) -> (Price, Price) {
    let day = panel.dates.iter().position(|d| d.to_string() == date).expect("date in panel");
    let i = panel.idx(day, panel.symbol_id(symbol).expect("symbol in panel"));
    (panel.limit_up[i].get(), panel.limit_down[i].get())
}

#[test]
fn a_star_buy_of_250_shares_fills_and_a_sell_below_200_must_close_the_holding() {
    let p = panel(
        HEADER,
        "2024-01-02,688981.SH,50.00,50.00,50.00,50.00,100000\n\
         2024-01-03,688981.SH,50.00,50.00,50.00,50.00,100000\n\
         2024-01-04,688981.SH,50.00,50.00,50.00,50.00,100000\n\
         2024-01-05,688981.SH,50.00,50.00,50.00,50.00,100000\n",
    );
    let s = "688981.SH";
    let mut strategy = Scripted::new(vec![
        (0, market(&p, s, Side::Buy, Some(250))),
        (0, market(&p, s, Side::Buy, Some(150))), // below STAR's 200-share minimum
        (1, market(&p, s, Side::Sell, Some(100))), // leaves 150: below 200 must go at once
        (2, market(&p, s, Side::Sell, Some(250))),
    ]);
    let (rec, pf) = run(&p, cfg(), &mut strategy);
    let reasons: Vec<_> = rec.risk_events.iter().map(|e| (e.order_id.0, e.reason)).collect();
    assert_eq!(reasons, vec![(2, RiskReason::LotSize), (3, RiskReason::LotSize)]);
    assert!(rec.risk_events[1].detail.contains("at least 200 shares"), "{}", rec.risk_events[1].detail);
    let fills: Vec<_> = rec.executions.iter().map(|e| (e.side, e.quantity, e.price)).collect();
    let fifty = Price::from_yuan(50.0);
    assert_eq!(fills, vec![(Side::Buy, 250, fifty), (Side::Sell, 250, fifty)]);
    // Buy 12,500: commission 5 (0.025% is 3.125), transfer 0.001% = 0.125 -> 0.13.
    assert_eq!((rec.executions[0].commission, rec.executions[0].taxes), (yuan(5.0), yuan(0.13)));
    // Sell 12,500: commission 5, stamp duty 0.05% = 6.25, transfer 0.13.
    assert_eq!((rec.executions[1].commission, rec.executions[1].taxes), (yuan(5.0), yuan(6.38)));
    assert_eq!(pf.account.available_cash, yuan(100_000.0 - 5.13 - 11.38));
    assert!(pf.positions.is_empty());
}

#[test]
fn chinext_is_limited_at_ten_percent_before_2020_08_24_and_at_twenty_after() {
    let s = "300750.SZ";
    let p = panel(
        HEADER,
        "2020-08-19,300750.SZ,10.00,10.00,10.00,10.00,100000\n\
         2020-08-20,300750.SZ,10.00,10.00,10.00,10.00,100000\n\
         2020-08-21,300750.SZ,11.00,11.00,11.00,11.00,5000\n\
         2020-08-24,300750.SZ,12.65,13.00,12.50,12.80,100000\n\
         2020-08-25,300750.SZ,15.36,15.36,15.36,15.36,5000\n",
    );
    assert_eq!(limits(&p, "2020-08-21", s), (Price::from_yuan(11.0), Price::from_yuan(9.0)));
    assert_eq!(limits(&p, "2020-08-24", s), (Price::from_yuan(13.2), Price::from_yuan(8.8)));
    assert_eq!(limits(&p, "2020-08-25", s), (Price::from_yuan(15.36), Price::from_yuan(10.24)));
    let mut strategy = Scripted::new(vec![
        (1, market(&p, s, Side::Buy, Some(1_000))), // 08-21 sealed at +10%: refused
        (2, market(&p, s, Side::Buy, Some(1_000))), // 08-24 opens +15%: inside the new 20%
        (3, market(&p, s, Side::Buy, Some(1_000))), // 08-25 sealed at +20%: refused
    ]);
    let (rec, pf) = run(&p, cfg(), &mut strategy);
    let refusals: Vec<_> = rec.risk_events.iter().map(|e| (e.date.to_string(), e.reason)).collect();
    assert_eq!(
        refusals,
        vec![("2020-08-21".into(), RiskReason::MarketLimitUp), ("2020-08-25".into(), RiskReason::MarketLimitUp)]
    );
    let fill = &rec.executions[0];
    assert_eq!(
        (fill.date.to_string().as_str(), fill.quantity, fill.price),
        ("2020-08-24", 1_000, Price::from_yuan(12.65))
    );
    // 12,650 + commission 5 (minimum) + transfer 0.002% = 0.253 -> 0.25.
    assert_eq!((fill.commission, fill.taxes), (yuan(5.0), yuan(0.25)));
    assert_eq!(pf.account.available_cash, yuan(100_000.0 - 12_655.25));
}

#[test]
fn a_new_star_listing_trades_fifty_percent_up_on_its_second_day_without_a_limit_refusal() {
    // 688999.SH lists on 2024-01-03; 688998.SH has the same bars but traded before the data.
    let p = panel(
        HEADER,
        "2024-01-02,600000.SH,10.00,10.00,10.00,10.00,100000\n2024-01-02,688998.SH,19.00,19.00,19.00,19.00,100000\n\
         2024-01-03,600000.SH,10.00,10.00,10.00,10.00,100000\n2024-01-03,688998.SH,20.00,20.00,20.00,20.00,100000\n\
         2024-01-03,688999.SH,20.00,20.00,20.00,20.00,100000\n\
         2024-01-04,600000.SH,10.00,10.00,10.00,10.00,100000\n2024-01-04,688998.SH,30.00,31.00,29.00,30.00,100000\n\
         2024-01-04,688999.SH,30.00,31.00,29.00,30.00,100000\n",
    );
    assert_eq!(limits(&p, "2024-01-04", "688999.SH"), (Price::ZERO, Price::ZERO), "day 2 of five free days");
    assert_eq!(limits(&p, "2024-01-04", "688998.SH"), (Price::from_yuan(24.0), Price::from_yuan(16.0)));
    let mut strategy = Scripted::new(vec![
        (1, market(&p, "688999.SH", Side::Buy, Some(300))),
        (1, market(&p, "688998.SH", Side::Buy, Some(300))),
    ]);
    let (rec, pf) = run(&p, cfg(), &mut strategy);
    let refused: Vec<_> = rec.risk_events.iter().map(|e| (e.symbol.as_str(), e.reason)).collect();
    assert_eq!(refused, vec![("688998.SH", RiskReason::MarketLimitUp)], "only the seasoned name is limited");
    let fill = &rec.executions[0];
    assert_eq!((fill.symbol.as_str(), fill.quantity, fill.price), ("688999.SH", 300, Price::from_yuan(30.0)));
    // Frozen at the listing day's close (no limit-up to freeze at), filled 50% higher: the
    // difference comes from available cash. 9,000 + commission 5 + transfer 0.09.
    assert_eq!((fill.commission, fill.taxes), (yuan(5.0), yuan(0.09)));
    assert_eq!(pf.account.available_cash, yuan(100_000.0 - 9_005.09));
    assert_eq!(pf.account.frozen_cash, yuan(0.0));
}

/// Ten thousand shares of `symbol` at 10.00 bought on each day index of `buys` and sold on each
/// of `sells` (decided the evening before): the taxes of every fill, in order. Checks that each
/// fill's cash is exactly its notional and fees.
fn taxes_of_fills(symbol: &str, dates: &[&str], buys: &[usize], sells: &[usize]) -> Vec<Money> {
    let rows: String = dates.iter().map(|d| format!("{d},{symbol},10.00,10.00,10.00,10.00,1000000\n")).collect();
    let p = panel(HEADER, &rows);
    let mut script = Vec::new();
    for &d in buys {
        script.push((d - 1, market(&p, symbol, Side::Buy, Some(10_000))));
    }
    for &d in sells {
        script.push((d - 1, market(&p, symbol, Side::Sell, Some(10_000))));
    }
    let mut c = cfg();
    c.initial_cash = 1_000_000.0;
    let (rec, pf) = run(&p, c, &mut Scripted::new(script));
    assert!(rec.risk_events.is_empty(), "{:?}", rec.risk_events);
    assert!(rec.orders.iter().all(|o| o.status == OrderStatus::Filled));
    // Every fill is 100,000 CNY with a commission of 25.
    let mut cash = yuan(1_000_000.0);
    for e in &rec.executions {
        assert_eq!(e.commission, yuan(25.0));
        match e.side {
            Side::Buy => cash -= yuan(100_000.0) + e.commission + e.taxes,
            Side::Sell => cash += yuan(100_000.0) - e.commission - e.taxes,
        }
    }
    assert_eq!(pf.account.available_cash, cash);
    rec.executions.iter().map(|e| e.taxes).collect()
}

#[test]
fn stamp_duty_falls_to_a_tenth_of_a_percent_on_2008_04_24_and_leaves_buys_on_2008_09_19() {
    let dates = ["2008-04-22", "2008-04-23", "2008-04-24", "2008-09-18", "2008-09-19"];
    // Buys filled on 04-23, 04-24 and 09-19; a sell on 09-18 (bought 04-23) and one on 09-19.
    let taxes = taxes_of_fills("600000.SH", &dates, &[1, 2, 4], &[3, 4]);
    // Shanghai's transfer fee was 0.5‰ of par value then: 5.00 for 10,000 shares.
    let want = [
        300.0 + 5.0, // 04-23 buy: 0.3% on both sides
        100.0 + 5.0, // 04-24 buy: 0.1% on both sides
        100.0 + 5.0, // 09-18 sell
        100.0 + 5.0, // 09-19 sell (sells are matched first)
        5.0,         // 09-19 buy: stamp duty on sells only from here on
    ];
    assert_eq!(taxes, want.map(yuan));
}

#[test]
fn stamp_duty_halves_on_2023_08_28_for_the_sells_only() {
    let dates = ["2023-08-24", "2023-08-25", "2023-08-28"];
    let taxes = taxes_of_fills("000001.SZ", &dates, &[1, 2], &[2]);
    // The 08-25 buy pays the transfer fee only; on 08-28 the sell (0.05%) fills before the buy.
    assert_eq!(taxes, [1.0, 50.0 + 1.0, 1.0].map(yuan));
}

#[test]
fn transfer_fee_goes_by_value_from_2015_08_01_and_halves_on_2022_04_29() {
    let dates = ["2015-07-30", "2015-07-31", "2015-08-03"];
    let taxes = taxes_of_fills("600000.SH", &dates, &[1, 2], &[]);
    assert_eq!(taxes, [3.0, 2.0].map(yuan), "0.3‰ of par (0.03 CNY per 100 shares), then 0.002% of value");
    let taxes = taxes_of_fills("000001.SZ", &dates, &[1, 2], &[]);
    assert_eq!(taxes, [2.55, 2.0].map(yuan), "Shenzhen's 0.0255‰ of value, then the same 0.002%");
    let dates = ["2022-04-27", "2022-04-28", "2022-04-29"];
    let taxes = taxes_of_fills("600000.SH", &dates, &[1, 2], &[]);
    assert_eq!(taxes, [2.0, 1.0].map(yuan));
}
