//! Random sequences of every ledger operation, run by the real scripts in Redis: after each
//! sequence the audit stream replays in the independent model with every step checked, and the
//! ledger in Redis equals the replayed state (cash, frozen cash, holdings, open orders).

mod common;

use chrono::NaiveDate;
use janus_core::{Fill, Money, Price, Side};
use janus_shared::lease::Lease;
use janus_shared::ledger::Commit;
use janus_shared::model::LedgerState;
use janus_shared::{Intent, LedgerModel};
use proptest::prelude::*;
use std::collections::BTreeMap;

const SYMBOLS: [&str; 5] = ["600000.SH", "600001.SH", "000001.SZ", "300001.SZ", "688001.SH"];

#[derive(Clone, Debug)]
enum Op {
    /// Instance, symbol, buy or sell, lots, price step above or below the mark.
    Admit(u8, usize, bool, i64, i64),
    /// Several intents in one admission call.
    Batch(Vec<(u8, usize, bool, i64, i64)>),
    /// Commit the n-th reservation still held (mod count).
    Commit(usize),
    /// Fill part (in tenths) of the n-th open order at a price step, with fees.
    Fill(usize, i64, i64),
    Done(usize),
    Release(usize),
    /// Close the day with each mark moved by a step.
    Day([i64; 5]),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..3, 0usize..5, any::<bool>(), 1i64..60, -3i64..4).prop_map(|(i, s, b, l, p)| Op::Admit(i, s, b, l, p)),
        1 => proptest::collection::vec((0u8..3, 0usize..5, any::<bool>(), 1i64..60, -3i64..4), 1..6).prop_map(Op::Batch),
        2 => (0usize..8).prop_map(Op::Commit),
        2 => (0usize..8, 1i64..11, -2i64..3).prop_map(|(n, t, p)| Op::Fill(n, t, p)),
        1 => (0usize..8).prop_map(Op::Done),
        1 => (0usize..8).prop_map(Op::Release),
        1 => proptest::array::uniform5(-15i64..16).prop_map(Op::Day),
    ]
}

/// Intent number `n` of instance `i` for symbol `s`, `lots` lots at `step` from the mark.
fn intent(n: u32, day: NaiveDate, marks: &BTreeMap<String, Price>, a: (u8, usize, bool, i64, i64)) -> Intent {
    let (i, s, buy, lots, step) = a;
    let mark = marks[SYMBOLS[s]];
    let price = Price(mark.0 + step * 100);
    let qty = lots * 100;
    Intent {
        instance: format!("i{i}"),
        intent_id: n.to_string(),
        date: day,
        symbol: SYMBOLS[s].into(),
        side: if buy { Side::Buy } else { Side::Sell },
        quantity: qty,
        price,
        freeze: price.notional(qty) + Money(50_000),
        value_price: mark,
    }
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let Some((cfg, mut l)) = common::account("props") else { return Ok(()) };
    let lease = Lease::try_acquire(&cfg, "gw", 1).unwrap().unwrap();
    let fence = lease.token();
    let mut day: NaiveDate = "2024-01-02".parse().unwrap();
    // A small account with tight limits, so that every refusal happens.
    let mut st = LedgerState::new(day, Money(2_000_000_000), 3, 0.4, 0.03);
    for s in SYMBOLS {
        st.marks.insert(s.into(), Price(100_000));
    }
    st.amount.insert(SYMBOLS[0].into(), 5_000);
    st.sellable.insert(SYMBOLS[0].into(), 5_000);
    st.books.insert("i0|pos|600000.SH".into(), 5_000);
    st.prev_total = st.total_asset();
    l.seed(fence, &st).unwrap();
    let (mut n, mut trade) = (0u32, 0u32);
    let mut marks: BTreeMap<String, Price> = SYMBOLS.iter().map(|s| (s.to_string(), Price(100_000))).collect();
    for op in ops {
        match op {
            Op::Admit(i, s, buy, lots, step) => {
                n += 1;
                l.admit(&intent(n, day, &marks, (*i, *s, *buy, *lots, *step))).unwrap();
            }
            Op::Batch(many) => {
                let intents: Vec<Intent> = many
                    .iter()
                    .map(|a| {
                        n += 1;
                        intent(n, day, &marks, *a)
                    })
                    .collect();
                for answer in l.admit_many(&intents).unwrap() {
                    answer.unwrap();
                }
            }
            Op::Commit(k) => {
                let r = l.reservations().unwrap();
                if !r.is_empty() {
                    let c = l.commit(fence, r[k % r.len()].order_id).unwrap();
                    prop_assert!(matches!(c, Commit::Committed(_)));
                }
            }
            Op::Fill(k, tenths, step) => {
                let open = l.open_orders().unwrap();
                if let Some(o) = (!open.is_empty()).then(|| open[k % open.len()].clone()) {
                    if o.left == 0 {
                        let f = Fill {
                            trade_id: "over".into(),
                            qty: 100,
                            price: o.price,
                            commission: Money(0),
                            taxes: Money(0),
                            reference: o.price,
                        };
                        prop_assert!(
                            l.fill(fence, o.order_id, &f).is_err(),
                            "a fill past the order's quantity is refused"
                        );
                        continue;
                    }
                    let qty = (o.left * tenths / 10).max(1).min(o.left);
                    let base = if o.price.0 > 0 { o.price } else { marks[&o.symbol] };
                    // Buys fill at or below their limit, sells at or above.
                    let price = Price(base.0 - if o.side == Side::Buy { step.abs() } else { -step.abs() } * 100);
                    trade += 1;
                    let f = Fill {
                        trade_id: format!("T{trade}"),
                        qty,
                        price,
                        commission: Money(50_000),
                        taxes: Money(qty * 10),
                        reference: price,
                    };
                    prop_assert!(l.fill(fence, o.order_id, &f).unwrap());
                    prop_assert!(!l.fill(fence, o.order_id, &f).unwrap(), "a repeated trade id is applied once");
                }
            }
            Op::Done(k) => {
                let open = l.open_orders().unwrap();
                if !open.is_empty() {
                    prop_assert!(l.done(fence, open[k % open.len()].order_id).unwrap());
                }
            }
            Op::Release(k) => {
                let r = l.reservations().unwrap();
                if !r.is_empty() {
                    let o = &r[k % r.len()];
                    prop_assert!(l.release(&o.instance, o.order_id).unwrap());
                }
            }
            Op::Day(moves) => {
                for (s, m) in SYMBOLS.iter().zip(moves) {
                    let p = marks.get_mut(*s).unwrap();
                    p.0 = (p.0 + m * 1_000).max(1_000);
                }
                let next = day.succ_opt().unwrap();
                l.new_day(fence, day, next, &marks).unwrap();
                day = next;
            }
        }
    }
    let audit = l.audit_all().unwrap();
    let model = LedgerModel::replay(&audit).map_err(TestCaseError::fail)?;
    prop_assert_eq!(l.cash().unwrap(), (model.state.cash, model.state.frozen));
    let held: BTreeMap<String, (i64, i64)> = model
        .state
        .amount
        .iter()
        .map(|(s, a)| (s.clone(), (*a, model.state.sellable.get(s).copied().unwrap_or(0))))
        .collect();
    prop_assert_eq!(l.holdings().unwrap(), held);
    prop_assert_eq!(l.open_orders().unwrap(), model.state.orders.values().cloned().collect::<Vec<_>>());
    prop_assert!(model.tally.max_symbols <= 3);
    lease.release().unwrap();
    l.wipe().unwrap();
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_operations_replay_to_the_ledger(ops in proptest::collection::vec(op(), 1..70)) {
        run(&ops)?;
    }
}
