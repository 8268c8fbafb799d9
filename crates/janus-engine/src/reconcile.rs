//! Start-up reconciliation: the broker is the truth.
//!
//! Before a live or paper node trades, it reads the broker's account, positions and open
//! orders and compares them with its own ledger (rebuilt from the journal). Every difference
//! becomes an audited [`Event::Reconciliation`] and the ledger takes the broker's numbers:
//!
//! - **Cash**: available and frozen cash become the broker's. The open buy orders Janus keeps
//!   hold at most the broker's frozen cash between them (first come, first served), so
//!   releasing them never drives the frozen cash below zero.
//! - **Positions**: amount and sellable shares become the broker's; a holding only the broker
//!   has is added (cost and price unknown: zero until the next mark, said in its event), a
//!   holding the broker does not have is removed. A changed amount keeps the average cost.
//! - **Orders Janus has open and the broker lists**: quantity filled and status become the
//!   broker's (the shares and cash are already in the broker's positions and account).
//! - **Orders Janus has open and the broker does not list** are closed: a `PendingCancel` one
//!   as `Canceled`, any other as `Expired`. The broker answers a query only after it has handled
//!   every message sent before it, so such an order is finished there (traded, canceled,
//!   expired or never accepted), and whatever of it traded is already in the broker's numbers:
//!   nothing more of it is booked.
//! - **Orders the broker has open that Janus does not know** (placed by hand, or by another
//!   node on the same account) make reconciliation fail: Janus cannot tell what they will do
//!   to its cash and positions, so it must not trade until someone settles them.
//!
//! An unreachable broker fails reconciliation too; the caller must not trade then.
//! Call it after the engine has applied every report `poll` returns, so both sides count the
//! same fills.

use janus_core::{
    Broker, BrokerAccount, BrokerError, BrokerOrder, BrokerPosition, Event, Money, Order, OrderStatus, Portfolio,
    Position, Price, Side, SymbolId,
};
use std::collections::BTreeMap;

/// The engine's state after reconciliation, and what was changed to get there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reconciled {
    pub portfolio: Portfolio,
    /// Orders still open at the broker, in the engine's order, with the broker's status.
    pub open: Vec<Order>,
    /// Orders the engine had open that the broker does not: closed here.
    pub closed: Vec<Order>,
    /// One event per difference, then a summary; journal them before trading.
    pub events: Vec<Event>,
}

/// Why the node must not trade.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReconcileError {
    #[error("cannot reconcile, do not trade: reading the broker's {what} failed: {source}")]
    Broker { what: &'static str, source: BrokerError },
    #[error(
        "cannot reconcile, do not trade: the broker has open orders Janus did not place or does not know: {0}; \
         cancel them at the broker (or wait for them to finish) and restart"
    )]
    UnknownOrders(String),
    #[error(
        "cannot reconcile, do not trade: the broker holds {symbol}, which is not in the market data; add it to \
         the universe or close the position at the broker"
    )]
    UnknownSymbol { symbol: String },
}

fn read<T>(what: &'static str, r: Result<T, BrokerError>) -> Result<T, ReconcileError> {
    r.map_err(|source| ReconcileError::Broker { what, source })
}

/// Compare the engine's `portfolio` and `open` orders with `broker` on `date` and return the
/// broker's truth. `symbol_id` maps a symbol code to the dense id the portfolio uses.
pub fn reconcile(
    portfolio: &Portfolio,
    open: &[Order],
    broker: &mut dyn Broker,
    date: chrono::NaiveDate,
    symbol_id: &dyn Fn(&str) -> Option<SymbolId>,
) -> Result<Reconciled, ReconcileError> {
    let account = read("account", broker.account())?;
    let positions = read("positions", broker.positions())?;
    let orders = read("open orders", broker.open_orders())?;

    let unknown: Vec<String> = orders
        .iter()
        .filter(|b| !open.iter().any(|o| o.id == b.order_id))
        .map(|b| {
            format!("order {} ({} {} {}, {} filled)", b.order_id.0, b.side.as_str(), b.quantity, b.symbol, b.filled)
        })
        .collect();
    if !unknown.is_empty() {
        return Err(ReconcileError::UnknownOrders(unknown.join(", ")));
    }
    let mut events = Vec::new();
    let mut note = |detail: String| events.push(Event::Reconciliation { detail });
    let mut pf = portfolio.clone();

    let (kept, closed) = reconcile_orders(open, &orders, date, &mut note);
    reconcile_positions(&mut pf, &positions, &kept, date, symbol_id, &mut note)?;
    let kept = reconcile_cash(&mut pf, account, kept, &mut note);

    let changes = events.len();
    events.push(Event::Reconciliation {
        detail: format!(
            "reconciled with the broker on {date}: cash {} available, {} frozen; {} positions; {} open orders; {changes} \
             differences",
            account.available_cash,
            account.frozen_cash,
            positions.iter().filter(|p| p.amount > 0).count(),
            kept.len()
        ),
    });
    Ok(Reconciled { portfolio: pf, open: kept, closed, events })
}

/// Split the engine's open orders into those the broker lists (taking its fill count and
/// status) and those it does not (closed).
fn reconcile_orders(
    open: &[Order],
    orders: &[BrokerOrder],
    date: chrono::NaiveDate,
    note: &mut impl FnMut(String),
) -> (Vec<Order>, Vec<Order>) {
    let (mut kept, mut closed) = (Vec::new(), Vec::new());
    for o in open {
        let mut o = o.clone();
        match orders.iter().find(|b| b.order_id == o.id) {
            Some(b) => {
                if (b.filled, b.status) != (o.filled, o.status) {
                    note(format!(
                        "order {}: Janus had {} filled and {}, the broker {} filled and {}: the broker's taken",
                        o.id.0,
                        o.filled,
                        o.status.as_str(),
                        b.filled,
                        b.status.as_str()
                    ));
                    o.filled = b.filled;
                    o.status = b.status;
                    o.updated = date;
                }
                kept.push(o);
            }
            None => {
                let status =
                    if o.status == OrderStatus::PendingCancel { OrderStatus::Canceled } else { OrderStatus::Expired };
                note(format!(
                    "order {} ({} {} {}) was {} in Janus but is not open at the broker: closed as {}; what of it \
                     traded is in the broker's positions and cash",
                    o.id.0,
                    o.side.as_str(),
                    o.quantity,
                    o.symbol,
                    o.status.as_str(),
                    status.as_str()
                ));
                o.status = status;
                o.updated = date;
                // The account is the broker's now: the freeze is not given back to it.
                o.frozen_cash = Money::ZERO;
                closed.push(o);
            }
        }
    }
    (kept, closed)
}

fn reconcile_positions(
    pf: &mut Portfolio,
    positions: &[BrokerPosition],
    kept: &[Order],
    date: chrono::NaiveDate,
    symbol_id: &dyn Fn(&str) -> Option<SymbolId>,
    note: &mut impl FnMut(String),
) -> Result<(), ReconcileError> {
    let mut theirs: BTreeMap<SymbolId, &BrokerPosition> = BTreeMap::new();
    for p in positions.iter().filter(|p| p.amount > 0) {
        let sid = symbol_id(&p.symbol).ok_or_else(|| ReconcileError::UnknownSymbol { symbol: p.symbol.clone() })?;
        theirs.insert(sid, p);
    }
    let ours: Vec<SymbolId> = pf.positions.keys().copied().collect();
    for sid in ours {
        if !theirs.contains_key(&sid) {
            if let Some(p) = pf.positions.remove(&sid) {
                note(format!("position {}: Janus had {} shares, the broker none: removed", p.symbol, p.amount));
            }
        }
    }
    for (sid, b) in theirs {
        // Shares of open sells are held by the broker as well as by us: neither sellable
        // nor locked by T+1.
        let selling: i64 =
            kept.iter().filter(|o| o.side == Side::Sell && o.symbol == b.symbol).map(Order::remaining).sum();
        let locked = (b.amount - b.sellable - selling).max(0);
        match pf.positions.get_mut(&sid) {
            Some(p) => {
                if (p.amount, p.sellable) != (b.amount, b.sellable) {
                    note(format!(
                        "position {}: Janus had {} shares ({} sellable), the broker {} ({} sellable): the broker's taken",
                        b.symbol, p.amount, p.sellable, b.amount, b.sellable
                    ));
                    if p.amount > 0 {
                        // Keep the average cost: the broker does not say what the difference cost.
                        let scaled = p.cost_basis.0 as i128 * b.amount as i128 / p.amount as i128;
                        p.cost_basis = Money(scaled as i64);
                    }
                    p.amount = b.amount;
                    p.sellable = b.sellable;
                    p.locked_t1 = locked;
                }
            }
            None => {
                note(format!(
                    "position {}: the broker holds {} shares ({} sellable) that Janus did not know: added with unknown \
                     cost (zero) and price (zero until the next mark)",
                    b.symbol, b.amount, b.sellable
                ));
                pf.positions.insert(
                    sid,
                    Position {
                        symbol: b.symbol.clone(),
                        amount: b.amount,
                        sellable: b.sellable,
                        locked_t1: locked,
                        cost_basis: Money::ZERO,
                        entry_price: Price::ZERO,
                        entry_date: date,
                        high_since_entry: Price::ZERO,
                        last_price: Price::ZERO,
                        days_held: 0,
                        realized_pnl: Money::ZERO,
                    },
                );
            }
        }
    }
    Ok(())
}

/// Take the broker's cash, and cap the freezes of the open buy orders by the broker's frozen
/// cash.
fn reconcile_cash(
    pf: &mut Portfolio,
    account: BrokerAccount,
    mut kept: Vec<Order>,
    note: &mut impl FnMut(String),
) -> Vec<Order> {
    let ours = pf.account;
    if (ours.available_cash, ours.frozen_cash) != (account.available_cash, account.frozen_cash) {
        note(format!(
            "cash: Janus had {} available and {} frozen, the broker {} and {}: the broker's taken",
            ours.available_cash, ours.frozen_cash, account.available_cash, account.frozen_cash
        ));
    }
    pf.account.available_cash = account.available_cash;
    pf.account.frozen_cash = account.frozen_cash;
    let mut left = account.frozen_cash.max(Money::ZERO);
    for o in kept.iter_mut().filter(|o| o.side == Side::Buy) {
        let capped = o.frozen_cash.min(left);
        if capped != o.frozen_cash {
            note(format!(
                "order {}: Janus had {} frozen for it, the broker's frozen cash leaves {}: lowered",
                o.id.0, o.frozen_cash, capped
            ));
            o.frozen_cash = capped;
        }
        left -= capped;
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use janus_core::{BrokerOrder, ExecReport, OrderId, OrderType};

    fn day() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2024, 1, 3).expect("valid date")
    }

    /// A broker that answers from fixed data, or not at all.
    struct Fake {
        account: BrokerAccount,
        positions: Vec<BrokerPosition>,
        orders: Vec<BrokerOrder>,
        down: bool,
    }

    impl Broker for Fake {
        fn submit(&mut self, _: &Order) -> Result<(), BrokerError> {
            Ok(())
        }
        fn cancel(&mut self, _: OrderId) -> Result<(), BrokerError> {
            Ok(())
        }
        fn poll(&mut self) -> Result<Vec<ExecReport>, BrokerError> {
            Ok(Vec::new())
        }
        fn account(&mut self) -> Result<BrokerAccount, BrokerError> {
            if self.down {
                return Err(BrokerError::Unreachable("no answer".into()));
            }
            Ok(self.account)
        }
        fn positions(&mut self) -> Result<Vec<BrokerPosition>, BrokerError> {
            Ok(self.positions.clone())
        }
        fn open_orders(&mut self) -> Result<Vec<BrokerOrder>, BrokerError> {
            Ok(self.orders.clone())
        }
    }

    fn sid(symbol: &str) -> Option<SymbolId> {
        ["600000.SH", "000001.SZ", "600519.SH"].iter().position(|s| *s == symbol).map(|i| i as SymbolId)
    }

    fn cash(available: i64, frozen: i64) -> BrokerAccount {
        BrokerAccount { available_cash: Money(available), frozen_cash: Money(frozen) }
    }

    fn held(symbol: &str, amount: i64, sellable: i64) -> BrokerPosition {
        BrokerPosition { symbol: symbol.into(), amount, sellable }
    }

    fn order(id: u64, symbol: &str, side: Side, qty: i64, status: OrderStatus) -> Order {
        let mut o = Order::new(OrderId(id), symbol.into(), side, OrderType::Limit(Price(100_000)), qty, day());
        o.status = status;
        o
    }

    fn ours() -> Portfolio {
        let mut pf = Portfolio::new(Money(1_000_000_000));
        pf.positions.insert(
            0,
            Position {
                symbol: "600000.SH".into(),
                amount: 1_000,
                sellable: 1_000,
                locked_t1: 0,
                cost_basis: Money(100_000_000),
                entry_price: Price(100_000),
                entry_date: day(),
                high_since_entry: Price(110_000),
                last_price: Price(105_000),
                days_held: 3,
                realized_pnl: Money::ZERO,
            },
        );
        pf
    }

    #[test]
    fn agreeing_books_give_only_the_summary_event() {
        let mut b = Fake {
            account: cash(1_000_000_000, 0),
            positions: vec![held("600000.SH", 1_000, 1_000)],
            orders: vec![],
            down: false,
        };
        let r = reconcile(&ours(), &[], &mut b, day(), &sid).expect("reconciles");
        assert_eq!(r.portfolio, ours());
        assert_eq!(r.events.len(), 1, "{:?}", r.events);
    }

    #[test]
    fn the_broker_s_positions_and_cash_win_and_each_difference_is_an_event() {
        let mut b = Fake {
            account: cash(900_000_000, 0),
            positions: vec![held("600000.SH", 500, 500), held("000001.SZ", 200, 0)],
            orders: vec![],
            down: false,
        };
        let r = reconcile(&ours(), &[], &mut b, day(), &sid).expect("reconciles");
        let p = &r.portfolio.positions[&0];
        assert_eq!((p.amount, p.sellable, p.cost_basis), (500, 500, Money(50_000_000)), "average cost kept");
        let new = &r.portfolio.positions[&1];
        assert_eq!((new.amount, new.sellable, new.locked_t1), (200, 0, 200));
        assert_eq!(r.portfolio.account.available_cash, Money(900_000_000));
        assert_eq!(r.events.len(), 4, "cash, two positions, summary: {:?}", r.events);
    }

    #[test]
    fn a_position_the_broker_does_not_have_is_removed() {
        let mut b = Fake { account: cash(1_000_000_000, 0), positions: vec![], orders: vec![], down: false };
        let r = reconcile(&ours(), &[], &mut b, day(), &sid).expect("reconciles");
        assert!(r.portfolio.positions.is_empty());
    }

    #[test]
    fn open_orders_the_broker_does_not_list_are_closed_and_listed_ones_take_its_status() {
        let mut gone = order(1, "600000.SH", Side::Buy, 100, OrderStatus::Submitted);
        gone.frozen_cash = Money(10_050_000);
        let cancel = order(2, "600000.SH", Side::Sell, 100, OrderStatus::PendingCancel);
        let mut working = order(3, "000001.SZ", Side::Buy, 300, OrderStatus::Accepted);
        working.frozen_cash = Money(30_000_000);
        let mut b = Fake {
            account: cash(970_000_000, 20_000_000),
            positions: vec![held("600000.SH", 1_000, 1_000), held("000001.SZ", 100, 0)],
            orders: vec![BrokerOrder {
                order_id: OrderId(3),
                symbol: "000001.SZ".into(),
                side: Side::Buy,
                quantity: 300,
                filled: 100,
                status: OrderStatus::PartiallyFilled,
            }],
            down: false,
        };
        let r = reconcile(&ours(), &[gone, cancel, working], &mut b, day(), &sid).expect("reconciles");
        let closed: Vec<_> = r.closed.iter().map(|o| (o.id.0, o.status, o.frozen_cash)).collect();
        assert_eq!(closed, vec![(1, OrderStatus::Expired, Money::ZERO), (2, OrderStatus::Canceled, Money::ZERO)]);
        let open = &r.open[0];
        assert_eq!((open.id.0, open.filled, open.status), (3, 100, OrderStatus::PartiallyFilled));
        assert_eq!(open.frozen_cash, Money(20_000_000), "capped by the broker's frozen cash");
        assert_eq!(r.portfolio.account.frozen_cash, Money(20_000_000));
    }

    #[test]
    fn shares_of_an_open_sell_are_neither_sellable_nor_locked() {
        let sell = order(5, "600000.SH", Side::Sell, 300, OrderStatus::Accepted);
        let mut b = Fake {
            account: cash(1_000_000_000, 0),
            positions: vec![held("600000.SH", 1_200, 700)],
            orders: vec![BrokerOrder {
                order_id: OrderId(5),
                symbol: "600000.SH".into(),
                side: Side::Sell,
                quantity: 300,
                filled: 0,
                status: OrderStatus::Accepted,
            }],
            down: false,
        };
        let r = reconcile(&ours(), &[sell], &mut b, day(), &sid).expect("reconciles");
        let p = &r.portfolio.positions[&0];
        assert_eq!((p.amount, p.sellable, p.locked_t1), (1_200, 700, 200));
    }

    #[test]
    fn an_order_only_the_broker_knows_refuses_trading() {
        let mut b = Fake {
            account: cash(1_000_000_000, 0),
            positions: vec![],
            orders: vec![BrokerOrder {
                order_id: OrderId(99),
                symbol: "600519.SH".into(),
                side: Side::Buy,
                quantity: 100,
                filled: 0,
                status: OrderStatus::Accepted,
            }],
            down: false,
        };
        let e = reconcile(&ours(), &[], &mut b, day(), &sid).expect_err("unknown order");
        assert!(matches!(&e, ReconcileError::UnknownOrders(m) if m.contains("order 99")), "{e}");
        assert!(e.to_string().contains("do not trade"));
    }

    #[test]
    fn an_unreachable_broker_or_an_unknown_symbol_refuses_trading() {
        let mut b = Fake { account: cash(0, 0), positions: vec![], orders: vec![], down: true };
        let e = reconcile(&ours(), &[], &mut b, day(), &sid).expect_err("down");
        assert!(matches!(e, ReconcileError::Broker { what: "account", .. }), "{e}");
        let mut b =
            Fake { account: cash(0, 0), positions: vec![held("399999.SZ", 100, 100)], orders: vec![], down: false };
        let e = reconcile(&ours(), &[], &mut b, day(), &sid).expect_err("unknown symbol");
        assert!(matches!(e, ReconcileError::UnknownSymbol { .. }), "{e}");
    }
}
