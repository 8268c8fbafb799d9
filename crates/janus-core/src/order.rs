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
    /// Created by the strategy, not yet seen by the risk manager.
    New,
    /// Admitted by the risk manager (cash or shares frozen) and sent to the broker, which has
    /// not answered yet: after a crash or a timeout its fate is unknown until reconciliation.
    Submitted,
    /// The broker acknowledged it; it is working.
    Accepted,
    PartiallyFilled,
    /// A cancel was requested and not yet confirmed: fills may still arrive.
    PendingCancel,
    Filled,
    Canceled,
    Rejected,
    Expired,
}

/// What can happen to an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderEvent {
    /// The risk manager admitted it (cash or shares are frozen) and it was sent to the broker.
    Submit,
    /// The broker acknowledged it.
    Accept,
    /// The risk manager or the broker refused it.
    Reject,
    /// A fill that leaves `remaining` shares open afterwards.
    Fill { remaining: Qty },
    /// A cancel was sent to the broker.
    RequestCancel,
    /// The order is canceled (withdrawn before admission, or confirmed by the broker).
    Cancel,
    /// The broker refused the cancel; `filled` shares of the order had filled by then.
    CancelReject { filled: Qty },
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
    pub const ALL: [OrderStatus; 9] = [
        OrderStatus::New,
        OrderStatus::Submitted,
        OrderStatus::Accepted,
        OrderStatus::PartiallyFilled,
        OrderStatus::PendingCancel,
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
            (S::New, E::Submit) => S::Submitted,
            // Refused by the risk manager before anything was frozen.
            (S::New, E::Reject) => S::Rejected,
            // A strategy may withdraw an order before the risk manager has seen it.
            (S::New, E::Cancel) => S::Canceled,
            (S::Submitted, E::Accept) => S::Accepted,
            (S::Submitted, E::Reject) => S::Rejected,
            // Reports can overtake one another: a fill may arrive before the acknowledgement,
            // and it proves the broker has the order.
            (S::Submitted | S::Accepted | S::PartiallyFilled | S::PendingCancel, E::Fill { remaining: 0 }) => S::Filled,
            (S::Submitted | S::Accepted | S::PartiallyFilled, E::Fill { remaining }) if remaining > 0 => {
                S::PartiallyFilled
            }
            // A fill arriving after a cancel request: the cancel is still pending for the rest.
            (S::PendingCancel, E::Fill { remaining }) if remaining > 0 => S::PendingCancel,
            (S::Submitted | S::Accepted | S::PartiallyFilled, E::RequestCancel) => S::PendingCancel,
            // Confirmed, or canceled by the broker on its own (no request of ours was needed).
            (S::Submitted | S::Accepted | S::PartiallyFilled | S::PendingCancel, E::Cancel) => S::Canceled,
            // The cancel came too late or was refused: the order works on as it was.
            (S::PendingCancel, E::CancelReject { filled: 0 }) => S::Accepted,
            (S::PendingCancel, E::CancelReject { filled }) if filled > 0 => S::PartiallyFilled,
            // A remainder that the day's bar could not fill (volume cap, price limit, limit
            // price not reached, suspension) expires at the close: daily orders do not carry.
            (S::Submitted | S::Accepted | S::PartiallyFilled | S::PendingCancel, E::Expire) => S::Expired,
            _ => return Err(IllegalTransition { from: self, event }),
        };
        Ok(next)
    }

    pub fn is_open(self) -> bool {
        matches!(
            self,
            OrderStatus::New
                | OrderStatus::Submitted
                | OrderStatus::Accepted
                | OrderStatus::PartiallyFilled
                | OrderStatus::PendingCancel
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::New => "NEW",
            OrderStatus::Submitted => "SUBMITTED",
            OrderStatus::Accepted => "ACCEPTED",
            OrderStatus::PartiallyFilled => "PARTIALLY_FILLED",
            OrderStatus::PendingCancel => "PENDING_CANCEL",
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
        let events = [
            E::Submit,
            E::Accept,
            E::Reject,
            E::Fill { remaining: 0 },
            E::Fill { remaining: 5 },
            E::RequestCancel,
            E::Cancel,
            E::CancelReject { filled: 0 },
            E::CancelReject { filled: 5 },
            E::Expire,
        ];
        let expected = |s: S, e: E| -> Option<S> {
            let working = matches!(s, S::Submitted | S::Accepted | S::PartiallyFilled);
            match (s, e) {
                (S::New, E::Submit) => Some(S::Submitted),
                (S::New | S::Submitted, E::Reject) => Some(S::Rejected),
                (S::New, E::Cancel) => Some(S::Canceled),
                (S::Submitted, E::Accept) => Some(S::Accepted),
                (_, E::Fill { remaining: 0 }) if working || s == S::PendingCancel => Some(S::Filled),
                (_, E::Fill { .. }) if working => Some(S::PartiallyFilled),
                (S::PendingCancel, E::Fill { .. }) => Some(S::PendingCancel),
                (_, E::RequestCancel) if working => Some(S::PendingCancel),
                (_, E::Cancel) if working || s == S::PendingCancel => Some(S::Canceled),
                (S::PendingCancel, E::CancelReject { filled: 0 }) => Some(S::Accepted),
                (S::PendingCancel, E::CancelReject { .. }) => Some(S::PartiallyFilled),
                (_, E::Expire) if working || s == S::PendingCancel => Some(S::Expired),
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
        assert_eq!(legal, 26, "number of legal moves");
    }

    #[test]
    fn terminal_statuses_accept_no_event() {
        for s in [S::Filled, S::Canceled, S::Rejected, S::Expired] {
            assert!(!s.is_open());
            for e in [
                E::Submit,
                E::Accept,
                E::Reject,
                E::Fill { remaining: 0 },
                E::RequestCancel,
                E::Cancel,
                E::CancelReject { filled: 0 },
                E::Expire,
            ] {
                assert!(s.transition(e).is_err(), "{s:?} + {e:?}");
            }
        }
    }

    #[test]
    fn a_fill_after_a_cancel_request_keeps_the_cancel_pending() {
        let s = S::Accepted.transition(E::RequestCancel).unwrap();
        assert_eq!(s.transition(E::Fill { remaining: 100 }), Ok(S::PendingCancel));
        assert_eq!(s.transition(E::Fill { remaining: 0 }), Ok(S::Filled));
        assert_eq!(s.transition(E::CancelReject { filled: 100 }), Ok(S::PartiallyFilled));
    }

    #[test]
    fn negative_remaining_is_never_legal() {
        assert!(S::Accepted.transition(E::Fill { remaining: -1 }).is_err());
        assert!(S::PendingCancel.transition(E::Fill { remaining: -1 }).is_err());
        assert!(S::PendingCancel.transition(E::CancelReject { filled: -1 }).is_err());
    }

    #[test]
    fn status_names_round_trip() {
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
    }
}
