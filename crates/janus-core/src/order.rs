//! Orders and their life cycle. A status changes only through [`OrderStatus::transition`],
//! whose single `match` is the whole table of legal moves.

use crate::money::{Money, Price, Qty};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Order id, unique within a run (assigned in submission order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OrderId(pub u64);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }
    pub fn parse(s: &str) -> Option<Side> {
        match s {
            "BUY" => Some(Side::Buy),
            "SELL" => Some(Side::Sell),
            _ => None,
        }
    }
}

/// Market orders take the bar's reference price; limit orders fill only if the bar trades
/// through their price.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderType {
    Market,
    Limit(Price),
}

impl OrderType {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderType::Market => "MARKET",
            OrderType::Limit(_) => "LIMIT",
        }
    }
    pub fn limit_price(self) -> Option<Price> {
        match self {
            OrderType::Market => None,
            OrderType::Limit(p) => Some(p),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderStatus {
    New,
    Accepted,
    PartiallyFilled,
    Filled,
    Canceled,
    Rejected,
    Expired,
}

/// What can happen to an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderEvent {
    /// The risk manager admitted it (cash or shares are frozen).
    Accept,
    /// The risk manager refused it.
    Reject,
    /// A fill that leaves `remaining` shares open afterwards.
    Fill {
        remaining: Qty,
    },
    Cancel,
    /// The day ended with shares still open.
    Expire,
}

/// An event that the transition table does not allow from the current status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("illegal order transition: {event:?} while {from:?}")]
pub struct IllegalTransition {
    pub from: OrderStatus,
    pub event: OrderEvent,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 7] = [
        OrderStatus::New,
        OrderStatus::Accepted,
        OrderStatus::PartiallyFilled,
        OrderStatus::Filled,
        OrderStatus::Canceled,
        OrderStatus::Rejected,
        OrderStatus::Expired,
    ];

    /// The whole order life cycle. Anything not listed is an error.
    pub fn transition(self, event: OrderEvent) -> Result<OrderStatus, IllegalTransition> {
        use OrderEvent as E;
        use OrderStatus as S;
        let next = match (self, event) {
            (S::New, E::Accept) => S::Accepted,
            (S::New, E::Reject) => S::Rejected,
            // A strategy may withdraw an order before the risk manager has seen it.
            (S::New, E::Cancel) => S::Canceled,
            (S::Accepted | S::PartiallyFilled, E::Fill { remaining: 0 }) => S::Filled,
            (S::Accepted | S::PartiallyFilled, E::Fill { remaining }) if remaining > 0 => S::PartiallyFilled,
            (S::Accepted | S::PartiallyFilled, E::Cancel) => S::Canceled,
            // A remainder that the day's bar could not fill (volume cap, price limit, limit
            // price not reached, suspension) expires at the close: daily orders do not carry.
            (S::Accepted | S::PartiallyFilled, E::Expire) => S::Expired,
            _ => return Err(IllegalTransition { from: self, event }),
        };
        Ok(next)
    }

    pub fn is_open(self) -> bool {
        matches!(self, OrderStatus::New | OrderStatus::Accepted | OrderStatus::PartiallyFilled)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::New => "NEW",
            OrderStatus::Accepted => "ACCEPTED",
            OrderStatus::PartiallyFilled => "PARTIALLY_FILLED",
            OrderStatus::Filled => "FILLED",
            OrderStatus::Canceled => "CANCELED",
            OrderStatus::Rejected => "REJECTED",
            OrderStatus::Expired => "EXPIRED",
        }
    }

    pub fn parse(s: &str) -> Option<OrderStatus> {
        OrderStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// One order and what has happened to it so far.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub symbol: String,
    pub side: Side,
    pub order_type: OrderType,
    pub quantity: Qty,
    pub filled: Qty,
    pub status: OrderStatus,
    /// Trading day the order was decided on (after its close).
    pub created: NaiveDate,
    /// Last day its status changed.
    pub updated: NaiveDate,
    /// Sum of fill notionals, for the average fill price and the per-order fee total.
    pub filled_notional: Money,
    pub commission: Money,
    pub taxes: Money,
    /// Cash still frozen for this order (buys only).
    pub frozen_cash: Money,
    /// Why the strategy placed it (`sell_model`, `stop_loss`, `buy_rank`, ...).
    pub tag: String,
}

impl Order {
    pub fn new(id: OrderId, symbol: String, side: Side, order_type: OrderType, quantity: Qty, day: NaiveDate) -> Order {
        Order {
            id,
            symbol,
            side,
            order_type,
            quantity,
            filled: 0,
            status: OrderStatus::New,
            created: day,
            updated: day,
            filled_notional: Money::ZERO,
            commission: Money::ZERO,
            taxes: Money::ZERO,
            frozen_cash: Money::ZERO,
            tag: String::new(),
        }
    }

    pub fn remaining(&self) -> Qty {
        self.quantity - self.filled
    }

    /// Apply an event through the transition table, stamping the day.
    pub fn apply(&mut self, event: OrderEvent, day: NaiveDate) -> Result<(), IllegalTransition> {
        self.status = self.status.transition(event)?;
        self.updated = day;
        Ok(())
    }

    pub fn avg_fill_price(&self) -> Option<f64> {
        (self.filled > 0).then(|| self.filled_notional.as_f64() / self.filled as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderEvent as E;
    use OrderStatus as S;

    /// Every (status, event) pair, with the expected outcome. Keeping it explicit makes any
    /// change to the life cycle show up here.
    #[test]
    fn transition_table_is_exactly_the_documented_one() {
        let events = [E::Accept, E::Reject, E::Fill { remaining: 0 }, E::Fill { remaining: 5 }, E::Cancel, E::Expire];
        let expected = |s: S, e: E| -> Option<S> {
            match (s, e) {
                (S::New, E::Accept) => Some(S::Accepted),
                (S::New, E::Reject) => Some(S::Rejected),
                (S::New, E::Cancel) => Some(S::Canceled),
                (S::Accepted, E::Fill { remaining: 0 }) | (S::PartiallyFilled, E::Fill { remaining: 0 }) => {
                    Some(S::Filled)
                }
                (S::Accepted, E::Fill { .. }) | (S::PartiallyFilled, E::Fill { .. }) => Some(S::PartiallyFilled),
                (S::Accepted, E::Cancel) | (S::PartiallyFilled, E::Cancel) => Some(S::Canceled),
                (S::Accepted, E::Expire) | (S::PartiallyFilled, E::Expire) => Some(S::Expired),
                _ => None,
            }
        };
        let mut legal = 0;
        for s in S::ALL {
            for e in events {
                let got = s.transition(e).ok();
                assert_eq!(got, expected(s, e), "{s:?} + {e:?}");
                legal += got.is_some() as usize;
            }
        }
        assert_eq!(legal, 11, "number of legal moves");
    }

    #[test]
    fn terminal_statuses_accept_no_event() {
        for s in [S::Filled, S::Canceled, S::Rejected, S::Expired] {
            assert!(!s.is_open());
            for e in [E::Accept, E::Reject, E::Fill { remaining: 0 }, E::Cancel, E::Expire] {
                assert!(s.transition(e).is_err(), "{s:?} + {e:?}");
            }
        }
    }

    #[test]
    fn negative_remaining_is_never_legal() {
        assert!(S::Accepted.transition(E::Fill { remaining: -1 }).is_err());
    }

    #[test]
    fn status_names_round_trip() {
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
    }
}
