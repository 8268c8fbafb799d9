//! A strategy instance on the shared account: the engine's [`Broker`] and [`MarketFeed`] ports
//! spoken to the shared ledger, so the same strategy, models and engine that backtest and paper
//! trade can trade one account with other instances.
//!
//! * [`SharedBroker`] admits each order through the ledger (a refusal comes back as a rejected
//!   report with the shared account's reason), hands admitted orders to the gateway, and reads
//!   the reports the gateway forwards to this instance under the instance's own order ids. Its
//!   account, positions and open orders are the instance's own book inside the account (its
//!   budget plus its fills), which is what start-up reconciliation compares with the journal.
//! * [`SharedClock`] is the market feed: it yields a day once the gateway has closed it, and
//!   tells the gateway when the instance has decided for the next day, so the gateway trades a
//!   day only after every live instance has sent its orders for it.

use crate::intents::IntentSender;
use crate::ledger::OpenOrder;
use crate::{Admission, Intent, SharedConfig, SharedError, SharedLedger};
use janus_core::{
    Broker, BrokerAccount, BrokerError, BrokerOrder, BrokerPosition, ExecReport, MarketDay, Money, Order, OrderStatus,
    OrderType, Price, ReportKind, Side,
};
use janus_data::{FeedError, History, MarketFeed, Panel};
use std::collections::HashMap;
use std::time::{Duration, Instant};

fn unreachable(e: SharedError) -> BrokerError {
    BrokerError::Unreachable(e.to_string())
}

/// The broker port of one instance on the shared account.
pub struct SharedBroker {
    ledger: SharedLedger,
    sender: IntentSender,
    instance: String,
    /// The instance's own starting cash inside the account.
    budget: Money,
    /// The last forwarded report read.
    cursor: String,
    /// Refusals of the shared admission, answered at the next poll.
    refused: Vec<ExecReport>,
    /// Last closes, the price the concentration cap values a buy at.
    marks: HashMap<String, Price>,
}

impl SharedBroker {
    pub fn connect(cfg: &SharedConfig, instance: &str, budget: Money) -> crate::Result<SharedBroker> {
        Ok(SharedBroker {
            ledger: SharedLedger::connect(cfg)?,
            sender: IntentSender::connect(cfg)?,
            instance: instance.to_string(),
            budget,
            cursor: "0".into(),
            refused: Vec::new(),
            marks: HashMap::new(),
        })
    }

    /// This instance's orders the ledger holds (reserved or open), with whether they are
    /// committed.
    fn mine(&mut self) -> Result<Vec<(OpenOrder, bool)>, BrokerError> {
        let resv = self.ledger.reservations().map_err(unreachable)?;
        let open = self.ledger.open_orders().map_err(unreachable)?;
        Ok(resv
            .into_iter()
            .map(|o| (o, false))
            .chain(open.into_iter().map(|o| (o, true)))
            .filter(|(o, _)| o.instance == self.instance)
            .collect())
    }
}

impl Broker for SharedBroker {
    fn submit(&mut self, order: &Order) -> Result<(), BrokerError> {
        let date = self
            .ledger
            .open_date()
            .map_err(unreachable)?
            .ok_or_else(|| BrokerError::Unreachable("the shared ledger is gone (Redis lost it?)".into()))?;
        let price = match order.order_type {
            OrderType::Limit(p) => p,
            OrderType::Market => Price::ZERO,
        };
        let value_price = self.marks.get(&order.symbol).copied().unwrap_or(price);
        let intent = Intent {
            instance: self.instance.clone(),
            intent_id: order.id.0.to_string(),
            date,
            symbol: order.symbol.clone(),
            side: order.side,
            quantity: order.quantity,
            price,
            freeze: if order.side == Side::Buy { order.frozen_cash } else { Money::ZERO },
            value_price,
        };
        match self.ledger.admit(&intent).map_err(unreachable)? {
            Admission::Reserved { order_id } => {
                self.sender.send(&self.instance, order_id, &intent.intent_id).map_err(unreachable)
            }
            Admission::Refused { reason, detail } => {
                let kind = ReportKind::Rejected { reason: Some(reason), detail: format!("shared account: {detail}") };
                self.refused.push(ExecReport { order_id: order.id, date, kind });
                Ok(())
            }
        }
    }

    fn cancel(&mut self, order_id: janus_core::OrderId) -> Result<(), BrokerError> {
        Err(BrokerError::Protocol(format!(
            "order {}: cancels do not go through the shared account; orders end at the close",
            order_id.0
        )))
    }

    fn poll(&mut self) -> Result<Vec<ExecReport>, BrokerError> {
        let mut out = std::mem::take(&mut self.refused);
        for (id, r) in self.ledger.reports_after(&self.instance, &self.cursor).map_err(unreachable)? {
            self.cursor = id;
            out.push(r);
        }
        Ok(out)
    }

    fn account(&mut self) -> Result<BrokerAccount, BrokerError> {
        let book = self.ledger.book(&self.instance).map_err(unreachable)?;
        let frozen: i64 = self.mine()?.iter().filter(|(o, _)| o.side == Side::Buy).map(|(o, _)| o.held.0).sum();
        let cash = self.budget + book.cash_flow;
        Ok(BrokerAccount { available_cash: cash - Money(frozen), frozen_cash: Money(frozen) })
    }

    fn positions(&mut self) -> Result<Vec<BrokerPosition>, BrokerError> {
        let book = self.ledger.book(&self.instance).map_err(unreachable)?;
        let mine = self.mine()?;
        Ok(book
            .shares
            .iter()
            .map(|(sym, &amount)| {
                let selling: i64 =
                    mine.iter().filter(|(o, _)| o.side == Side::Sell && &o.symbol == sym).map(|(o, _)| o.left).sum();
                let today = book.bought_today.get(sym).copied().unwrap_or(0);
                BrokerPosition { symbol: sym.clone(), amount, sellable: (amount - today - selling).max(0) }
            })
            .collect())
    }

    fn open_orders(&mut self) -> Result<Vec<BrokerOrder>, BrokerError> {
        Ok(self
            .mine()?
            .into_iter()
            .filter_map(|(o, committed)| {
                Some(BrokerOrder {
                    order_id: janus_core::OrderId(o.intent_id.parse().ok()?),
                    symbol: o.symbol,
                    side: o.side,
                    quantity: o.quantity,
                    filled: o.quantity - o.left,
                    status: if committed { OrderStatus::Accepted } else { OrderStatus::Submitted },
                })
            })
            .collect())
    }

    fn on_market(&mut self, market: &dyn MarketDay) -> Result<(), BrokerError> {
        self.marks = crate::gateway::closes(market).into_iter().collect();
        Ok(())
    }

    fn save_state(&self) -> Option<String> {
        Some(self.cursor.clone())
    }

    fn restore_state(&mut self, state: &str) -> Result<(), BrokerError> {
        self.cursor = state.to_string();
        Ok(())
    }
}

/// The market feed of an instance: the days of `panel` as the gateway closes them.
pub struct SharedClock<'a> {
    ledger: SharedLedger,
    panel: &'a Panel,
    instance: String,
    next: usize,
    /// Stop when the gateway has closed no day for this long.
    pub idle: Duration,
}

impl<'a> SharedClock<'a> {
    /// Start at `first` (an index into the panel's dates).
    pub fn new(cfg: &SharedConfig, panel: &'a Panel, instance: &str, first: usize) -> crate::Result<SharedClock<'a>> {
        Ok(SharedClock {
            ledger: SharedLedger::connect(cfg)?,
            panel,
            instance: instance.to_string(),
            next: first,
            idle: Duration::from_secs(60),
        })
    }

    /// The instance stops: the gateway no longer waits for it.
    pub fn leave(&mut self) -> crate::Result<()> {
        self.ledger.leave(&self.instance)
    }
}

impl MarketFeed for SharedClock<'_> {
    fn next_close(&mut self) -> Result<Option<History<'_>>, FeedError> {
        let feed_err = |e: SharedError| FeedError::Source { feed: "shared ledger".into(), message: e.to_string() };
        let Some(&date) = self.panel.dates.get(self.next) else {
            self.ledger.leave(&self.instance).map_err(feed_err)?;
            return Ok(None);
        };
        // Everything for `date` has been sent: the gateway may trade it.
        let mut since = Instant::now();
        let mut beat = Instant::now() - Duration::from_secs(10);
        loop {
            if beat.elapsed() >= Duration::from_millis(500) {
                if self.ledger.set_ready(&self.instance, date).is_err() {
                    let _ = self.ledger.reconnect();
                }
                beat = Instant::now();
            }
            match self.ledger.open_date() {
                Ok(Some(open)) if open > date => break,
                Ok(_) => {}
                Err(_) => {
                    let _ = self.ledger.reconnect();
                    since = since.min(Instant::now());
                }
            }
            if since.elapsed() >= self.idle {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.next += 1;
        Ok(Some(History::new(self.panel, self.next - 1)))
    }
}
