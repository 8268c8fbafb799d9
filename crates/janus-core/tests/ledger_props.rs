//! Property test: random order, fill, expiry and mark sequences keep the ledger exact.
//! The expectations are computed independently of `Portfolio`, from the fills it reports.

use chrono::NaiveDate;
use janus_core::{FeeSchedule, FillSpec, Money, Order, OrderId, OrderType, Portfolio, Price, Side};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Buy { sym: u32, lots: i64, freeze_ticks: i64 },
    Sell { sym: u32, qty: i64 },
    Fill { pick: usize, share: u8, price_pct: u8 },
    Expire { pick: usize },
    Mark { sym: u32, ticks: i64 },
    EndOfDay,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u32..3, 1i64..50, 100i64..3_000).prop_map(|(sym, lots, freeze_ticks)| Op::Buy { sym, lots, freeze_ticks }),
        (0u32..3, 1i64..3_000).prop_map(|(sym, qty)| Op::Sell { sym, qty }),
        (0usize..8, 1u8..=100, 50u8..=100).prop_map(|(pick, share, price_pct)| Op::Fill { pick, share, price_pct }),
        (0usize..8).prop_map(|pick| Op::Expire { pick }),
        (0u32..3, 50i64..4_000).prop_map(|(sym, ticks)| Op::Mark { sym, ticks }),
        Just(Op::EndOfDay),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_keep_cash_plus_frozen_plus_value_equal_to_total_asset(ops in prop::collection::vec(op(), 1..80)) {
        let fees = FeeSchedule::default();
        let date = NaiveDate::from_ymd_opt(2023, 8, 28).unwrap();
        let initial = Money::from_yuan(200_000.0);
        let mut pf = Portfolio::new(initial);
        let mut open: Vec<(Order, u32, Price)> = Vec::new();
        let mut next_id = 1;
        // Independent books: cash from fills, shares and last price per symbol.
        let mut cash = initial;
        let mut shares = [0i64; 3];
        let mut last = [Price::ZERO; 3];

        for op in ops {
            match op {
                Op::Buy { sym, lots, freeze_ticks } => {
                    let freeze_price = Price(freeze_ticks * 100);
                    let qty = lots * 100;
                    let mut o = Order::new(OrderId(next_id), format!("S{sym}"), Side::Buy, OrderType::Market, qty, date);
                    next_id += 1;
                    let n = freeze_price.notional(qty);
                    let freeze = n + fees.fill_fees(&o, qty, freeze_price, date).total();
                    if pf.accept_buy(&mut o, freeze).is_ok() {
                        open.push((o, sym, freeze_price));
                    }
                }
                Op::Sell { sym, qty } => {
                    let mut o = Order::new(OrderId(next_id), format!("S{sym}"), Side::Sell, OrderType::Market, qty, date);
                    next_id += 1;
                    if pf.accept_sell(&mut o, sym).is_ok() {
                        let p = pf.positions[&sym].last_price;
                        open.push((o, sym, p));
                    }
                }
                Op::Fill { pick, share, price_pct } => {
                    if open.is_empty() { continue; }
                    let i = pick % open.len();
                    let (o, sym, cap) = &mut open[i];
                    let remaining = o.remaining();
                    let mut qty = (remaining * share as i64 / 100).max(1);
                    if o.side == Side::Buy { qty = (qty / 100 * 100).max(100).min(remaining); }
                    let price = Price((cap.0 * price_pct as i64 / 100).max(100)).round_to_tick();
                    let price = if o.side == Side::Buy { price.min(*cap) } else { price };
                    let janus_core::Fees { commission, taxes } = fees.fill_fees(o, qty, price, date);
                    let log = pf.fill(o, *sym, FillSpec { price, qty, reference: price, date, commission, taxes }).expect("fill within the freeze");
                    let fee = log.commission + log.taxes;
                    match o.side {
                        Side::Buy => { cash -= price.notional(qty) + fee; shares[*sym as usize] += qty; }
                        Side::Sell => { cash += price.notional(qty) - fee; shares[*sym as usize] -= qty; }
                    }
                    last[*sym as usize] = price;
                    if !o.status.is_open() { open.remove(i); }
                }
                Op::Expire { pick } => {
                    if open.is_empty() { continue; }
                    let (mut o, sym, _) = open.remove(pick % open.len());
                    pf.expire(&mut o, sym, date).expect("open orders expire");
                }
                Op::Mark { sym, ticks } => {
                    if pf.positions.contains_key(&sym) {
                        pf.mark(sym, Price(ticks * 100), Price(ticks * 100), date);
                        last[sym as usize] = Price(ticks * 100);
                    }
                }
                Op::EndOfDay => {
                    // Only between days, when no order is open.
                    for (mut o, sym, _) in open.drain(..) {
                        pf.expire(&mut o, sym, date).expect("open orders expire");
                    }
                    pf.end_of_day();
                }
            }
            let a = pf.account;
            prop_assert!(a.available_cash >= Money::ZERO, "available cash went negative: {}", a.available_cash);
            prop_assert!(a.frozen_cash >= Money::ZERO);
            prop_assert_eq!(a.available_cash + a.frozen_cash, cash, "cash is conserved by fills");
            let frozen: Money = open.iter().map(|(o, _, _)| o.frozen_cash).sum();
            prop_assert_eq!(a.frozen_cash, frozen, "frozen cash is exactly what open buys hold");
            let value: Money = (0..3).map(|s| last[s].notional(shares[s])).sum();
            prop_assert_eq!(a.available_cash + a.frozen_cash + pf.market_value(), cash + value);
            prop_assert_eq!(pf.total_asset(), cash + value);
            for (sym, p) in &pf.positions {
                prop_assert_eq!(p.amount, shares[*sym as usize]);
                prop_assert!(p.sellable >= 0 && p.sellable + p.locked_t1 <= p.amount);
            }
        }
    }
}

/// A broker's fill priced above what was frozen for it, by more than the available cash: the
/// ledger's own fill refuses it, the reported fill books it (the broker's fill is a fact) and
/// returns the shortfall, which the available cash is overdrawn by; cash stays exact.
#[test]
fn a_reported_fill_dearer_than_the_cash_is_booked_with_its_shortfall() {
    let date = NaiveDate::from_ymd_opt(2023, 8, 28).unwrap();
    let mut pf = Portfolio::new(Money::from_yuan(10_500.0));
    let mut o = Order::new(OrderId(1), "S0".into(), Side::Buy, OrderType::Market, 1_000, date);
    pf.accept_buy(&mut o, Money::from_yuan(10_000.0)).unwrap();
    // 1,000 shares at 11.00 with 5.00 of fees: 11,005.00, against 10,000 frozen and 500 available.
    let spec = FillSpec {
        price: Price::from_yuan(11.0),
        qty: 1_000,
        reference: Price::from_yuan(10.0),
        date,
        commission: Money::from_yuan(5.0),
        taxes: Money::ZERO,
    };
    let (mut own, mut own_order) = (pf.clone(), o.clone());
    assert!(own.fill(&mut own_order, 0, spec).is_err(), "the ledger's own fill refuses it");
    let (log, shortfall) = pf.fill_reported(&mut o, 0, spec).unwrap();
    assert_eq!((log.quantity, shortfall), (1_000, Money::from_yuan(505.0)));
    assert_eq!((pf.account.available_cash, pf.account.frozen_cash), (Money::from_yuan(-505.0), Money::ZERO));
    assert_eq!(pf.positions[&0].amount, 1_000);
    assert_eq!(pf.positions[&0].cost_basis, Money::from_yuan(11_005.0));

    // One that fits: the same as the ledger's own fill, no shortfall.
    let mut pf = Portfolio::new(Money::from_yuan(20_000.0));
    let mut o = Order::new(OrderId(2), "S0".into(), Side::Buy, OrderType::Market, 1_000, date);
    pf.accept_buy(&mut o, Money::from_yuan(10_000.0)).unwrap();
    let (mut own, mut own_order) = (pf.clone(), o.clone());
    let want = own.fill(&mut own_order, 0, spec).unwrap();
    let (log, shortfall) = pf.fill_reported(&mut o, 0, spec).unwrap();
    assert_eq!((log, shortfall), (want, Money::ZERO));
    assert_eq!(pf, own);
}
