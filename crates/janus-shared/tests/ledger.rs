//! The shared ledger's scripts against a real Redis: every admission rule with exact cash,
//! reservations that expire, fills applied once, the fencing token, and the audit stream
//! replayed and checked by the independent model.

mod common;

use chrono::NaiveDate;
use janus_core::{Money, Price, RiskReason, Side};
use janus_shared::lease::Lease;
use janus_shared::ledger::Commit;
use janus_shared::model::LedgerState;
use janus_shared::{Admission, Intent, LedgerModel, SharedError};
use std::collections::BTreeMap;
use std::time::Duration;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn cny(x: i64) -> Money {
    Money(x * 10_000)
}

fn intent(n: u32, sym: &str, side: Side, qty: i64, price: &str) -> Intent {
    let p = Price::from_yuan(price.parse().unwrap());
    Intent {
        instance: if n.is_multiple_of(2) { "a".into() } else { "b".into() },
        intent_id: n.to_string(),
        date: d("2024-01-03"),
        symbol: sym.into(),
        side,
        quantity: qty,
        price: p,
        // 5 CNY of fees on every buy, to keep the arithmetic readable.
        freeze: p.notional(qty) + cny(5),
        value_price: p,
    }
}

fn fill(trade: &str, qty: i64, price: Price, commission: Money, taxes: Money) -> janus_core::Fill {
    janus_core::Fill { trade_id: trade.into(), qty, price, commission, taxes, reference: price }
}

fn refused(a: Admission) -> RiskReason {
    match a {
        Admission::Refused { reason, .. } => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn reserved(a: Admission) -> u64 {
    match a {
        Admission::Reserved { order_id } => order_id,
        other => panic!("expected a reservation, got {other:?}"),
    }
}

#[test]
fn every_rule_with_exact_cash_and_a_replayable_audit() {
    let Some((mut cfg, _)) = common::account("rules") else { return };
    cfg.reservation_ttl = Duration::from_millis(300);
    let mut l = janus_shared::SharedLedger::connect(&cfg).unwrap();
    let lease = Lease::try_acquire(&cfg, "gw-1", 1).unwrap().expect("a free lease");
    let fence = lease.token();
    // 1,000,000 CNY, at most 3 positions, 20% per symbol, breaker at 5%.
    let mut st = LedgerState::new(d("2024-01-03"), cny(1_000_000), 3, 0.2, 0.05);
    for s in ["600000.SH", "600001.SH", "600002.SH", "600003.SH"] {
        st.marks.insert(s.into(), Price::from_yuan(10.0));
    }
    st.prev_total = st.total_asset();
    l.seed(fence, &st).unwrap();
    assert!(matches!(
        l.admit(&Intent { date: d("2024-01-04"), ..intent(0, "600000.SH", Side::Buy, 100, "10") }),
        Err(SharedError::Invalid(_))
    ));

    // 10,000 shares at 10.00 = 100,000 CNY (10% of total asset): reserved with its fees.
    let a = reserved(l.admit(&intent(1, "600000.SH", Side::Buy, 10_000, "10")).unwrap());
    assert_eq!(l.cash().unwrap(), (cny(1_000_000 - 100_005), cny(100_005)));
    // The same intent again gets the same answer and reserves nothing more.
    assert_eq!(reserved(l.admit(&intent(1, "600000.SH", Side::Buy, 10_000, "10")).unwrap()), a);
    assert_eq!(l.cash().unwrap().1, cny(100_005));
    // 10,001 more would make 20.001%: over the cap.
    assert_eq!(refused(l.admit(&intent(2, "600000.SH", Side::Buy, 10_001, "10")).unwrap()), RiskReason::Concentration);
    let b = reserved(l.admit(&intent(3, "600001.SH", Side::Buy, 1_000, "10")).unwrap());
    let c = reserved(l.admit(&intent(4, "600002.SH", Side::Buy, 1_000, "10")).unwrap());
    assert_eq!(refused(l.admit(&intent(5, "600003.SH", Side::Buy, 100, "10")).unwrap()), RiskReason::MaxPositions);
    assert_eq!(refused(l.admit(&intent(6, "600000.SH", Side::Sell, 100, "10")).unwrap()), RiskReason::NotEnoughShares);

    // The gateway commits the first and the broker fills it at 9.99 with 5 + 1 CNY of fees.
    let Commit::Committed(o) = l.commit(fence, a).unwrap() else { panic!("not committed") };
    assert_eq!((o.quantity, o.freeze), (10_000, cny(100_005)));
    assert!(l.fill(fence, a, &fill("T1", 6_000, Price::from_yuan(9.99), cny(5), cny(1))).unwrap());
    assert!(
        !l.fill(fence, a, &fill("T1", 6_000, Price::from_yuan(9.99), cny(5), cny(1))).unwrap(),
        "a repeated trade id"
    );
    assert!(l.fill(fence, a, &fill("T2", 4_000, Price::from_yuan(9.99), cny(5), cny(1))).unwrap());
    assert!(l.done(fence, a).unwrap());
    // Paid 99,900 + 12 of fees; the 93 CNY the limit price and the fee estimate held come back.
    let spent = 99_900 + 12;
    assert_eq!(l.cash().unwrap(), (cny(1_000_000 - spent - 10_005 - 10_005), cny(20_010)));
    assert_eq!(l.holdings().unwrap()["600000.SH"], (10_000, 0));
    // Bought today: T+1.
    assert_eq!(refused(l.admit(&intent(7, "600000.SH", Side::Sell, 100, "10")).unwrap()), RiskReason::TPlusOne);

    // B is released by its instance; C expires (its instance never handed it over).
    assert!(!l.release("a", b).unwrap(), "b belongs to instance b");
    assert!(l.release("b", b).unwrap());
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(l.commit(fence, c).unwrap(), Commit::Expired);
    assert_eq!(l.cash().unwrap(), (cny(1_000_000 - spent), Money::ZERO));

    // The day closes at 11.00: shares unlock, total asset is 1,009,988 CNY.
    let mut marks = BTreeMap::new();
    marks.insert("600000.SH".to_string(), Price::from_yuan(11.0));
    let (total, blocked) = l.new_day(fence, d("2024-01-03"), d("2024-01-04"), &marks).unwrap();
    assert_eq!((total, blocked), (cny(1_000_000 - spent + 110_000), false));
    let sell = Intent { date: d("2024-01-04"), ..intent(8, "600000.SH", Side::Sell, 10_000, "11") };
    let s = reserved(l.admit(&sell).unwrap());
    assert_eq!(l.holdings().unwrap()["600000.SH"], (10_000, 0));
    let Commit::Committed(_) = l.commit(fence, s).unwrap() else { panic!() };
    assert!(l.fill(fence, s, &fill("T3", 10_000, Price::from_yuan(11.0), cny(5), cny(55))).unwrap());
    assert!(l.done(fence, s).unwrap());
    assert_eq!(l.cash().unwrap(), (cny(1_000_000 - spent + 110_000 - 60), Money::ZERO));
    assert!(l.holdings().unwrap().is_empty());

    // A crash of the equity by more than 5% blocks buys after the close.
    let mut st2 = LedgerState::new(d("2024-01-05"), cny(500_000), 3, 0.2, 0.05);
    st2.amount.insert("600000.SH".into(), 50_000);
    st2.sellable.insert("600000.SH".into(), 50_000);
    st2.marks.insert("600000.SH".into(), Price::from_yuan(10.0));
    st2.seq = 100;
    st2.prev_total = st2.total_asset();
    l.seed(fence, &st2).unwrap();
    marks.insert("600000.SH".to_string(), Price::from_yuan(8.0));
    let (_, blocked) = l.new_day(fence, d("2024-01-05"), d("2024-01-08"), &marks).unwrap();
    assert!(blocked, "1,000,000 -> 900,000 is a 10% fall");
    let buy = Intent { date: d("2024-01-08"), ..intent(9, "600001.SH", Side::Buy, 100, "10") };
    assert_eq!(refused(l.admit(&buy).unwrap()), RiskReason::CircuitBreaker);

    // A stale token is refused by every gateway script.
    assert!(matches!(l.commit(fence + 1, 1), Err(SharedError::Stale(_))));
    assert!(matches!(l.new_day(fence - 1, d("2024-01-08"), d("2024-01-09"), &marks), Err(SharedError::Stale(_))));

    // The audit stream replays to the same cash at every step.
    let audit = l.audit_all().unwrap();
    let model = LedgerModel::replay(&audit).unwrap_or_else(|e| panic!("{e}"));
    let t = &model.tally;
    assert_eq!((t.reserved, t.committed, t.fills, t.done, t.released, t.expired, t.days), (4, 2, 3, 2, 1, 1, 2));
    let reasons: Vec<_> = t.refused.keys().copied().collect();
    assert_eq!(
        reasons,
        vec![
            RiskReason::TPlusOne,
            RiskReason::NotEnoughShares,
            RiskReason::Concentration,
            RiskReason::MaxPositions,
            RiskReason::CircuitBreaker
        ]
    );
    assert_eq!(t.instances.keys().cloned().collect::<Vec<_>>(), vec!["a".to_string(), "b".to_string()]);
    assert_eq!(model.state.cash, l.cash().unwrap().0);
    lease.release().unwrap();
    l.wipe().unwrap();
}

#[test]
fn a_tampered_audit_is_caught_by_the_replay() {
    let Some((cfg, mut l)) = common::account("tamper") else { return };
    let lease = Lease::try_acquire(&cfg, "gw", 1).unwrap().unwrap();
    let mut st = LedgerState::new(d("2024-01-03"), cny(100_000), 5, 0.5, 0.05);
    st.marks.insert("600000.SH".into(), Price::from_yuan(10.0));
    l.seed(lease.token(), &st).unwrap();
    reserved(l.admit(&intent(1, "600000.SH", Side::Buy, 4_000, "10")).unwrap());
    refused(l.admit(&intent(2, "600000.SH", Side::Buy, 4_000, "10")).unwrap());
    let audit = l.audit_all().unwrap();
    assert!(LedgerModel::replay(&audit).is_ok());
    // The refusal recorded as an admission: the replay says the rules decide otherwise.
    let mut forged = audit.clone();
    forged[2].kind = "reserved".into();
    forged[2].fields.insert("oid".into(), "99".into());
    forged[2].fields.insert("price".into(), "100000".into());
    assert!(LedgerModel::replay(&forged).unwrap_err().contains("the rules decide"));
    // Cash that does not add up.
    let mut forged = audit.clone();
    forged[1].fields.insert("cash".into(), "1".into());
    assert!(LedgerModel::replay(&forged).unwrap_err().contains("the replay gives"));
    // A gap in the sequence.
    assert!(LedgerModel::replay(&[audit[0].clone(), audit[2].clone()]).unwrap_err().contains("expected sequence"));
    lease.release().unwrap();
    l.wipe().unwrap();
}

#[test]
fn a_gateway_past_its_lease_is_refused_by_the_ledger() {
    let Some((mut cfg, mut l)) = common::account("fence") else { return };
    cfg.lease_ttl = Duration::from_millis(300);
    let mut old = Lease::try_acquire(&cfg, "gw-old", 1).unwrap().unwrap();
    l.seed(old.token(), &LedgerState::new(d("2024-01-03"), cny(100_000), 5, 0.2, 0.05)).unwrap();
    assert!(Lease::try_acquire(&cfg, "gw-new", 1).unwrap().is_none(), "the lease is held");
    old.renew().unwrap();
    // The old gateway is paused past its lease; a new one takes over with the next token.
    std::thread::sleep(Duration::from_millis(450));
    let new = Lease::try_acquire(&cfg, "gw-new", 1).unwrap().expect("the lapsed lease is free");
    assert_eq!(new.token(), old.token() + 1);
    let id = reserved(l.admit(&intent(1, "600000.SH", Side::Buy, 100, "10")).unwrap());
    // The old one wakes up: its renewal fails, and the ledger refuses its token.
    assert!(matches!(old.renew(), Err(SharedError::Stale(_))));
    assert!(matches!(l.commit(old.token(), id), Err(SharedError::Stale(_))));
    assert!(matches!(l.seed(old.token(), &LedgerState::default()), Err(SharedError::Stale(_))));
    let c = l.commit(new.token(), id);
    assert!(matches!(c, Ok(Commit::Committed(_))), "{c:?}");
    // Tokens never go back, even when the counter is lost: the lowest acceptable one wins.
    new.release().unwrap();
    let again = Lease::try_acquire(&cfg, "gw-3", 50).unwrap().unwrap();
    assert_eq!(again.token(), 50);
    again.release().unwrap();
    l.wipe().unwrap();
}

#[test]
fn the_cap_is_exact_on_an_account_of_a_hundred_billion() {
    let Some((cfg, mut l)) = common::account("big") else { return };
    let lease = Lease::try_acquire(&cfg, "gw", 1).unwrap().unwrap();
    // 100 billion CNY: the cap's product (value x 10,000 basis points) is far past 2^53.
    let mut st = LedgerState::new(d("2024-01-03"), cny(100_000_000_000), 5, 0.2, 0.05);
    st.marks.insert("600000.SH".into(), Price::from_yuan(10.0));
    l.seed(lease.token(), &st).unwrap();
    // Exactly 20% is allowed; one more lot is over.
    let over = intent(1, "600000.SH", Side::Buy, 2_000_000_100, "10");
    assert_eq!(refused(l.admit(&over).unwrap()), RiskReason::Concentration);
    let mut exact = intent(2, "600000.SH", Side::Buy, 2_000_000_000, "10");
    exact.freeze = Price::from_yuan(10.0).notional(2_000_000_000);
    reserved(l.admit(&exact).unwrap());
    assert_eq!(l.cash().unwrap(), (cny(80_000_000_000), cny(20_000_000_000)));
    LedgerModel::replay(&l.audit_all().unwrap()).unwrap_or_else(|e| panic!("{e}"));
    lease.release().unwrap();
    l.wipe().unwrap();
}

#[test]
fn a_batch_of_intents_is_decided_exactly_as_the_same_intents_one_by_one() {
    let Some((one_cfg, mut one)) = common::account("one") else { return };
    let Some((batch_cfg, mut batch)) = common::account("batch") else { return };
    let mut st = LedgerState::new(d("2024-01-03"), cny(200_000), 3, 0.2, 0.05);
    for s in ["600000.SH", "600001.SH", "600002.SH", "600003.SH"] {
        st.marks.insert(s.into(), Price::from_yuan(10.0));
    }
    st.amount.insert("600000.SH".into(), 2_000);
    st.sellable.insert("600000.SH".into(), 1_000);
    st.prev_total = st.total_asset();
    for (cfg, l) in [(&one_cfg, &mut one), (&batch_cfg, &mut batch)] {
        let lease = Lease::try_acquire(cfg, "gw", 1).unwrap().unwrap();
        l.seed(lease.token(), &st).unwrap();
    }
    // Buys past the cap, the cash and the position limit, sells past T+1, a repeated intent and
    // one for the wrong day: every kind of answer.
    let syms = ["600000.SH", "600001.SH", "600002.SH", "600003.SH"];
    let mut intents: Vec<Intent> = (0..40u32)
        .map(|n| {
            let side = if n % 5 == 0 { Side::Sell } else { Side::Buy };
            intent(n, syms[(n as usize * 7) % 4], side, 100 * (1 + (n as i64 * 13) % 40), "10")
        })
        .collect();
    intents.insert(20, intents[3].clone());
    intents.insert(30, Intent { date: d("2024-01-04"), ..intents[9].clone() });
    let singles: Vec<String> = intents.iter().map(|i| format!("{:?}", one.admit(i))).collect();
    let mut batched = Vec::new();
    for chunk in intents.chunks(7) {
        batched.extend(batch.admit_many(chunk).unwrap().into_iter().map(|a| format!("{a:?}")));
    }
    assert_eq!(singles, batched);
    assert!(singles.iter().any(|a| a.contains("Reserved")) && singles.iter().any(|a| a.contains("Concentration")));
    assert!(singles.iter().any(|a| a.contains("WRONG_DATE") || a.contains("trades 2024-01-03")), "{singles:?}");
    let strip = |entries: Vec<janus_shared::AuditEntry>| {
        entries.into_iter().map(|e| (e.seq, e.kind, e.fields)).collect::<Vec<_>>()
    };
    assert_eq!(strip(one.audit_all().unwrap()), strip(batch.audit_all().unwrap()));
    assert_eq!(one.cash().unwrap(), batch.cash().unwrap());
}
