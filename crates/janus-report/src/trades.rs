//! Round trips: the fills of one symbol from the first share bought to the last share sold.
//!
//! A strategy is judged by its trades, not its fills: a position built in two buys and sold in
//! three partial sells is one decision that made or lost money. Costs, proceeds and P&L stay
//! exact [`Money`]; only the average prices and the return are `f64`.

use crate::analytics::ExitKind;
use chrono::NaiveDate;
use janus_core::{CorporateActionLog, ExecutionLog, Money, OrderId, Price, Qty, RunRecord, Side};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One position from 0 shares to >0 and back to 0 (or still open at the end of the run).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoundTrip {
    pub symbol: String,
    pub entry_date: NaiveDate,
    /// Date of the sell that closed it; `None` when it was still open at the end.
    pub exit_date: Option<NaiveDate>,
    /// Average buy fill price.
    pub entry_price: f64,
    /// Average sell fill price, or the last close for a trade still open.
    pub exit_price: f64,
    /// Total shares bought.
    pub quantity: Qty,
    /// Buy notional plus buy fees (and rights subscribed on an ex-date).
    pub cost: Money,
    /// Sell notional minus sell fees, plus dividends received net of tax, plus the market value
    /// of shares still held at the end.
    pub proceeds: Money,
    pub pnl: Money,
    /// `pnl / cost` (0 when the cost is 0).
    pub ret: f64,
    /// Trading days from entry to exit (or to the last day), counted on the snapshot calendar.
    pub days_held: u32,
    /// Tag of the order behind the last sell fill (`take_profit`, `sell_model`, ...), or `open`.
    pub exit_reason: String,
    /// Commission and taxes of all buys and sells.
    pub fees: Money,
    /// Maximum favourable excursion: the best unrealized return `close / entry_price - 1` while
    /// held (the entry counts as 0, so never negative). See [`crate::analytics::add_excursions`].
    #[serde(default)]
    pub mfe: f64,
    /// Maximum adverse excursion: the worst unrealized return while held (never positive).
    #[serde(default)]
    pub mae: f64,
    /// What the trip gave back from its best close: `mfe - ret`.
    #[serde(default)]
    pub giveback: f64,
    /// `exit_reason` grouped: sell model, stop rule, end of run.
    #[serde(default)]
    pub exit_kind: ExitKind,
}

impl RoundTrip {
    pub fn is_closed(&self) -> bool {
        self.exit_date.is_some()
    }
}

/// Exit reason of a trade still open at the end of the run.
pub const OPEN: &str = "open";
/// Exit reason when the closing order is missing from the record or carries no tag.
pub const UNKNOWN: &str = "unknown";

/// A round trip being accumulated.
struct Acc {
    seq: usize,
    symbol: String,
    entry_date: NaiveDate,
    held: Qty,
    bought: Qty,
    buy_notional: Money,
    buy_fees: Money,
    sold: Qty,
    sell_notional: Money,
    sell_fees: Money,
    last_sell_order: Option<OrderId>,
    last_fill_price: Price,
    /// Dividends received net of tax.
    dividends: Money,
}

impl Acc {
    fn open(seq: usize, fill: &ExecutionLog) -> Acc {
        Acc {
            seq,
            symbol: fill.symbol.clone(),
            entry_date: fill.date,
            held: 0,
            bought: 0,
            buy_notional: Money::ZERO,
            buy_fees: Money::ZERO,
            sold: 0,
            sell_notional: Money::ZERO,
            sell_fees: Money::ZERO,
            last_sell_order: None,
            last_fill_price: fill.price,
            dividends: Money::ZERO,
        }
    }

    /// A corporate action on the holding: bonus shares and rights join it (rights at their
    /// price, as a buy), the net dividend counts as proceeds.
    fn corporate(&mut self, a: &CorporateActionLog) {
        self.held += a.bonus_shares + a.rights_shares;
        self.buy_notional += a.rights_paid;
        self.dividends += a.dividend - a.dividend_tax;
    }

    fn add(&mut self, fill: &ExecutionLog) {
        let notional = fill.price.notional(fill.quantity);
        let fees = fill.commission + fill.taxes;
        match fill.side {
            Side::Buy => {
                self.held += fill.quantity;
                self.bought += fill.quantity;
                self.buy_notional += notional;
                self.buy_fees += fees;
            }
            Side::Sell => {
                self.held -= fill.quantity;
                self.sold += fill.quantity;
                self.sell_notional += notional;
                self.sell_fees += fees;
                self.last_sell_order = Some(fill.order_id);
            }
        }
        self.last_fill_price = fill.price;
    }

    /// Close the trip; `exit` is the closing date, or the mark for a trip still open.
    fn finish(self, exit: Exit, ctx: &Context) -> (usize, RoundTrip) {
        let cost = self.buy_notional + self.buy_fees;
        let (exit_date, exit_price, proceeds, exit_reason, days_to) = match exit {
            Exit::Closed(date) => {
                let reason = self
                    .last_sell_order
                    .and_then(|id| ctx.tags.get(&id))
                    .filter(|t| !t.is_empty())
                    .map_or(UNKNOWN, |t| t.as_str());
                let avg = if self.sold > 0 { self.sell_notional.as_f64() / self.sold as f64 } else { 0.0 };
                (Some(date), avg, self.sell_notional - self.sell_fees + self.dividends, reason.to_string(), Some(date))
            }
            Exit::Open(mark) => {
                let held = self.held.max(0);
                let proceeds = self.sell_notional - self.sell_fees + self.dividends + mark.notional(held);
                (None, mark.as_f64(), proceeds, OPEN.to_string(), ctx.calendar.last().copied())
            }
        };
        let pnl = proceeds - cost;
        let days_held = days_to.map_or(0, |to| ctx.days_between(self.entry_date, to));
        let trip = RoundTrip {
            symbol: self.symbol,
            entry_date: self.entry_date,
            exit_date,
            entry_price: if self.bought > 0 { self.buy_notional.as_f64() / self.bought as f64 } else { 0.0 },
            exit_price,
            quantity: self.bought,
            cost,
            proceeds,
            pnl,
            ret: if cost.0 > 0 { pnl.as_f64() / cost.as_f64() } else { 0.0 },
            days_held,
            exit_kind: ExitKind::of_reason(&exit_reason),
            exit_reason,
            fees: self.buy_fees + self.sell_fees,
            mfe: 0.0,
            mae: 0.0,
            giveback: 0.0,
        };
        (self.seq, trip)
    }
}

enum Exit {
    Closed(NaiveDate),
    Open(Price),
}

struct Context<'a> {
    tags: BTreeMap<OrderId, &'a String>,
    /// Trading days, from the account snapshots.
    calendar: Vec<NaiveDate>,
}

impl Context<'_> {
    /// Trading days from `from` to `to`; dates missing from the calendar count from the next
    /// trading day after them.
    fn days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        let idx = |d: NaiveDate| self.calendar.partition_point(|c| *c < d);
        idx(to).saturating_sub(idx(from)) as u32
    }
}

/// Pair the run's fills into round trips, ordered by entry date, then symbol (then opening
/// order). Trades still open at the end are marked to the last position snapshot's price of
/// their symbol (or their last fill price when no snapshot has it). Sells with no open
/// position are ignored. Excursions come from the position snapshots
/// ([`crate::analytics::add_excursions`]).
pub fn round_trips(record: &RunRecord) -> Vec<RoundTrip> {
    // Orders may appear once per day they changed; the last state wins.
    let tags: BTreeMap<OrderId, &String> = record.orders.iter().map(|o| (o.id, &o.tag)).collect();
    let mut calendar: Vec<NaiveDate> = record.account_snapshots.iter().map(|s| s.date).collect();
    calendar.sort_unstable();
    calendar.dedup();
    let ctx = Context { tags, calendar };

    let mut open: BTreeMap<&str, Acc> = BTreeMap::new();
    let mut done: Vec<(usize, RoundTrip)> = Vec::new();
    let mut seq = 0usize;
    // Corporate actions apply before the open of their ex-date, so before that day's fills.
    let mut actions = record.corporate_actions.iter().peekable();
    for fill in &record.executions {
        while let Some(a) = actions.next_if(|a| a.date <= fill.date) {
            if let Some(acc) = open.get_mut(a.symbol.as_str()) {
                acc.corporate(a);
            }
        }
        if fill.quantity <= 0 {
            continue;
        }
        let acc = match (open.get_mut(fill.symbol.as_str()), fill.side) {
            (Some(acc), _) => acc,
            (None, Side::Buy) => {
                seq += 1;
                open.entry(fill.symbol.as_str()).or_insert_with(|| Acc::open(seq, fill))
            }
            (None, Side::Sell) => continue,
        };
        acc.add(fill);
        if acc.held <= 0 {
            if let Some(acc) = open.remove(fill.symbol.as_str()) {
                done.push(acc.finish(Exit::Closed(fill.date), &ctx));
            }
        }
    }

    for a in actions {
        if let Some(acc) = open.get_mut(a.symbol.as_str()) {
            acc.corporate(a);
        }
    }
    let mut marks: BTreeMap<&str, Price> = BTreeMap::new();
    for snap in &record.position_snapshots {
        marks.insert(snap.symbol.as_str(), snap.last_price);
    }
    for (symbol, acc) in open {
        let mark = marks.get(symbol).copied().unwrap_or(acc.last_fill_price);
        done.push(acc.finish(Exit::Open(mark), &ctx));
    }

    done.sort_by(|(sa, a), (sb, b)| (a.entry_date, &a.symbol, sa).cmp(&(b.entry_date, &b.symbol, sb)));
    let mut trips: Vec<RoundTrip> = done.into_iter().map(|(_, t)| t).collect();
    crate::analytics::add_excursions(&mut trips, record);
    trips
}

#[cfg(test)]
mod tests {
    use super::*;
    use janus_core::{AccountSnapshot, Order, OrderType, PositionSnapshot};

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 3, day).unwrap()
    }

    fn y(yuan: i64) -> Money {
        Money(yuan * 10_000)
    }

    /// A fill; `fees` is (commission, taxes).
    fn fill(day: u32, id: u64, symbol: &str, side: Side, price: f64, qty: Qty, fees: (Money, Money)) -> ExecutionLog {
        let (commission, taxes) = fees;
        ExecutionLog {
            date: d(day),
            order_id: OrderId(id),
            symbol: symbol.to_string(),
            side,
            price: Price::from_yuan(price),
            quantity: qty,
            commission,
            taxes,
            reference_price: Price::from_yuan(price),
            slippage: Money::ZERO,
        }
    }

    fn order(id: u64, symbol: &str, side: Side, tag: &str) -> Order {
        let mut o = Order::new(OrderId(id), symbol.to_string(), side, OrderType::Market, 100, d(1));
        o.tag = tag.to_string();
        o
    }

    fn snap(day: u32) -> AccountSnapshot {
        AccountSnapshot {
            date: d(day),
            total_value: y(100_000),
            cash: y(100_000),
            frozen_cash: Money::ZERO,
            market_value: Money::ZERO,
            peak_value: y(100_000),
            drawdown: 0.0,
        }
    }

    fn pos(day: u32, symbol: &str, amount: Qty, last: f64) -> PositionSnapshot {
        PositionSnapshot {
            date: d(day),
            symbol: symbol.to_string(),
            amount,
            sellable: amount,
            avg_price: Price::from_yuan(10.0),
            entry_price: Price::from_yuan(10.0),
            entry_date: d(4),
            high_since_entry: Price::from_yuan(last),
            last_price: Price::from_yuan(last),
            days_held: 0,
            market_value: Price::from_yuan(last).notional(amount),
            realized_pnl: Money::ZERO,
        }
    }

    /// Trading days 4..8 and 11..15 March 2024 (weekends skipped).
    fn calendar() -> Vec<AccountSnapshot> {
        [4, 5, 6, 7, 8, 11, 12, 13, 14, 15].into_iter().map(snap).collect()
    }

    #[test]
    fn a_buy_two_partial_sells_and_a_final_sell_make_one_round_trip_with_exact_pnl_and_fees() {
        let five = y(5);
        let record = RunRecord {
            account_snapshots: calendar(),
            orders: vec![
                order(1, "600000.SH", Side::Buy, "buy_rank"),
                order(2, "600000.SH", Side::Sell, "take_profit"),
                order(3, "600000.SH", Side::Sell, "trailing_stop"),
            ],
            executions: vec![
                // 1000 @ 10.00 = 10_000; fees 5 + 0.10 transfer.
                fill(4, 1, "600000.SH", Side::Buy, 10.0, 1000, (five, Money(1_000))),
                // 300 @ 11.00 = 3_300; fees 5 + 1.65 stamp.
                fill(7, 2, "600000.SH", Side::Sell, 11.0, 300, (five, Money(16_500))),
                // 300 @ 11.50 = 3_450 (same order, next day).
                fill(8, 2, "600000.SH", Side::Sell, 11.5, 300, (five, Money(17_250))),
                // 400 @ 9.00 = 3_600.
                fill(12, 3, "600000.SH", Side::Sell, 9.0, 400, (five, Money(18_000))),
            ],
            ..RunRecord::default()
        };
        let trips = round_trips(&record);
        assert_eq!(trips.len(), 1);
        let t = &trips[0];
        assert_eq!(t.symbol, "600000.SH");
        assert_eq!((t.entry_date, t.exit_date), (d(4), Some(d(12))));
        assert_eq!(t.quantity, 1000);
        assert_eq!(t.cost, Money(100_051_000)); // 10_005.10
                                                // 10_350 notional - 15 commission - 5.1750 stamp duty.
        assert_eq!(t.proceeds, Money(103_298_250));
        assert_eq!(t.pnl, Money(3_247_250)); // 324.7250
        assert_eq!(t.fees, Money(252_750)); // 4 x 5 commission + 0.10 + 5.175 taxes
        assert_eq!(t.entry_price, 10.0);
        assert!((t.exit_price - 10.35).abs() < 1e-12);
        assert!((t.ret - 324.725 / 10_005.1).abs() < 1e-12);
        // 4, 5, 6, 7, 8, 11, 12 March: six trading days later.
        assert_eq!(t.days_held, 6);
        assert_eq!(t.exit_reason, "trailing_stop");
    }

    #[test]
    fn a_trade_still_open_at_the_end_is_marked_to_the_last_snapshot_price() {
        let record = RunRecord {
            account_snapshots: calendar(),
            position_snapshots: vec![pos(14, "000001.SZ", 200, 12.0), pos(15, "000001.SZ", 200, 12.5)],
            orders: vec![order(1, "000001.SZ", Side::Buy, "buy_rank")],
            executions: vec![fill(11, 1, "000001.SZ", Side::Buy, 12.0, 200, (y(5), Money::ZERO))],
            ..RunRecord::default()
        };
        let trips = round_trips(&record);
        assert_eq!(trips.len(), 1);
        let t = &trips[0];
        assert_eq!(t.exit_date, None);
        assert_eq!(t.exit_reason, "open");
        assert_eq!(t.exit_price, 12.5);
        assert_eq!(t.cost, y(2_405));
        assert_eq!(t.proceeds, y(2_500));
        assert_eq!(t.pnl, y(95));
        // 11 -> 15 March.
        assert_eq!(t.days_held, 4);
    }

    #[test]
    fn days_held_counts_trading_days_not_calendar_days_across_a_weekend() {
        let record = RunRecord {
            account_snapshots: calendar(),
            executions: vec![
                fill(8, 1, "A", Side::Buy, 1.0, 100, (Money::ZERO, Money::ZERO)),
                fill(11, 2, "A", Side::Sell, 1.0, 100, (Money::ZERO, Money::ZERO)),
            ],
            ..RunRecord::default()
        };
        let t = &round_trips(&record)[0];
        assert_eq!(t.days_held, 1, "Friday to Monday is one trading day");
        assert_eq!(t.exit_reason, UNKNOWN, "the closing order is not in the record");
    }

    #[test]
    fn reopening_a_symbol_starts_a_new_trip_and_trips_are_ordered_by_entry_then_symbol() {
        let z = (Money::ZERO, Money::ZERO);
        let record = RunRecord {
            account_snapshots: calendar(),
            executions: vec![
                fill(5, 1, "B", Side::Buy, 1.0, 100, z),
                fill(4, 2, "C", Side::Buy, 1.0, 100, z),
                fill(5, 3, "A", Side::Buy, 1.0, 100, z),
                fill(6, 4, "B", Side::Sell, 2.0, 100, z),
                fill(7, 5, "B", Side::Buy, 3.0, 100, z),
                // A sell with nothing held is ignored rather than opening a short trip.
                fill(7, 6, "D", Side::Sell, 3.0, 100, z),
            ],
            ..RunRecord::default()
        };
        let trips = round_trips(&record);
        let got: Vec<(NaiveDate, &str, bool)> =
            trips.iter().map(|t| (t.entry_date, t.symbol.as_str(), t.is_closed())).collect();
        assert_eq!(got, vec![(d(4), "C", false), (d(5), "A", false), (d(5), "B", true), (d(7), "B", false)]);
    }
}
