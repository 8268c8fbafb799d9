//! The broker port: how the engine sends orders and learns what happened to them.
//!
//! One interface for every venue: the simulated broker of backtests and paper trading, and a
//! gateway to a real broker. The engine submits admitted orders (the order id is the client
//! order id, the idempotency key: submitting an id twice never makes a second order), polls
//! execution reports and applies them to its ledger; at start-up it reads the broker's account,
//! positions and open orders to reconcile, because in live trading the broker is the truth.
//!
//! A simulated venue also needs the market: [`Broker::on_market`] hands it the bars of the
//! day just closed ([`MarketDay`]); a real broker has its own market and ignores the call.

use crate::corporate::CorporateAction;
use crate::journal::RiskReason;
use crate::money::{Money, Price, Qty};
use crate::order::{Order, OrderId, OrderStatus, Side};
use crate::rules::Board;
use crate::state::SymbolId;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// One execution, as the broker reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fill {
    /// The broker's id of this execution: a report repeating it is a duplicate.
    pub trade_id: String,
    pub qty: Qty,
    pub price: Price,
    pub commission: Money,
    pub taxes: Money,
    /// The bar's price for the fill mode before slippage and limits (the fill price itself
    /// when the broker does not know one).
    pub reference: Price,
}

/// What the broker says happened to an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReportKind {
    /// The broker took the order; it is working.
    Accepted,
    /// The broker refused the order; nothing of it will trade.
    Rejected { reason: Option<RiskReason>, detail: String },
    /// Part of the order traded; more may follow.
    PartiallyFilled(Fill),
    /// The last shares of the order traded.
    Filled(Fill),
    /// The order is canceled: nothing more of it will trade.
    Canceled,
    /// A cancel request was refused (usually: the order had already traded).
    CancelRejected { detail: String },
    /// The day ended with shares open; `reason` says why the market did not take them, when it
    /// was the market's doing (limit-up, suspension, volume cap).
    Expired { reason: Option<RiskReason>, detail: String },
    /// The order stays working but cannot trade now: a sell of a halted stock waits for the
    /// open of the day it trades again. Reported once, when it starts waiting.
    Held { reason: RiskReason, detail: String },
}

impl ReportKind {
    /// Stable name for journals and the gateway protocol.
    pub fn name(&self) -> &'static str {
        match self {
            ReportKind::Accepted => "accepted",
            ReportKind::Rejected { .. } => "rejected",
            ReportKind::PartiallyFilled(_) => "partially_filled",
            ReportKind::Filled(_) => "filled",
            ReportKind::Canceled => "canceled",
            ReportKind::CancelRejected { .. } => "cancel_rejected",
            ReportKind::Expired { .. } => "expired",
            ReportKind::Held { .. } => "held",
        }
    }

    pub fn fill(&self) -> Option<&Fill> {
        match self {
            ReportKind::PartiallyFilled(f) | ReportKind::Filled(f) => Some(f),
            _ => None,
        }
    }
}

/// One execution report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecReport {
    pub order_id: OrderId,
    /// Trading day the report belongs to.
    pub date: NaiveDate,
    pub kind: ReportKind,
}

/// The broker's view of the account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerAccount {
    /// Cash that can be spent now.
    pub available_cash: Money,
    /// Cash held by open buy orders.
    pub frozen_cash: Money,
}

/// The broker's view of one holding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerPosition {
    pub symbol: String,
    pub amount: Qty,
    /// Shares that can be sold today (T+1 applied, shares held by open sells excluded).
    pub sellable: Qty,
}

/// The broker's view of one open order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerOrder {
    pub order_id: OrderId,
    pub symbol: String,
    pub side: Side,
    pub quantity: Qty,
    pub filled: Qty,
    pub status: OrderStatus,
}

/// Why the broker could not be reached or did not understand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrokerError {
    /// No answer: the request may or may not have arrived (the order is then `Submitted`,
    /// its fate unknown until reconciliation).
    #[error("broker unreachable: {0}")]
    Unreachable(String),
    /// The broker answered with something Janus cannot use.
    #[error("broker protocol error: {0}")]
    Protocol(String),
    /// The order is not known to the broker (cancel of an unknown id, for example).
    #[error("order {0} is not known to the broker")]
    UnknownOrder(u64),
}

/// One symbol's bar on the day just closed, as a venue sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bar {
    pub open: Price,
    pub high: Price,
    pub low: Price,
    pub close: Price,
    /// Shares traded.
    pub volume: f64,
    /// Value traded, in CNY (for the VWAP).
    pub amount: f64,
    /// The day's limit prices (zero when the stock has none that day).
    pub limit_up: Price,
    pub limit_down: Price,
    /// Traded that day (a halted stock has a flat bar without volume).
    pub tradable: bool,
}

impl Bar {
    /// Volume-weighted average price of the bar: amount / volume when both are there (kept
    /// inside the bar), else the typical price (high + low + close) / 3.
    pub fn vwap(&self) -> Price {
        if self.amount.is_finite() && self.amount > 0.0 && self.volume > 0.0 {
            Price::from_yuan(self.amount / self.volume).max(self.low).min(self.high)
        } else {
            Price((self.high.0 + self.low.0 + self.close.0) / 3)
        }
    }
}

/// A corporate action whose ex-date is the day: it applies before that day's open.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ActionToday {
    pub sid: SymbolId,
    pub action: CorporateAction,
    /// The last close before the ex-date.
    pub prev_close: Price,
}

/// The market of one trading day just closed, as a simulated venue needs it: every symbol's
/// bar (none when the symbol has no bar that day), its board, and the day's corporate actions.
/// Nothing after the day is reachable through it.
pub trait MarketDay {
    fn date(&self) -> NaiveDate;
    fn n_symbols(&self) -> usize;
    fn symbol(&self, sid: SymbolId) -> &str;
    /// The dense id of a symbol code, if the market knows it.
    fn symbol_id(&self, symbol: &str) -> Option<SymbolId>;
    fn board(&self, sid: SymbolId) -> Board;
    fn bar(&self, sid: SymbolId) -> Option<Bar>;
    fn actions(&self) -> Vec<ActionToday>;
}

/// A broker: where admitted orders go and execution reports come from.
pub trait Broker {
    /// Send an admitted order (status `Submitted`). Submitting an id the broker already has
    /// must not create a second order.
    fn submit(&mut self, order: &Order) -> Result<(), BrokerError>;
    /// Ask to cancel an open order; the answer arrives as a `Canceled` or `CancelRejected`
    /// report.
    fn cancel(&mut self, order_id: OrderId) -> Result<(), BrokerError>;
    /// Execution reports since the last poll, in the order the broker produced them. A report
    /// may repeat (the engine ignores fills whose trade id it has applied).
    fn poll(&mut self) -> Result<Vec<ExecReport>, BrokerError>;
    fn account(&mut self) -> Result<BrokerAccount, BrokerError>;
    fn positions(&mut self) -> Result<Vec<BrokerPosition>, BrokerError>;
    fn open_orders(&mut self) -> Result<Vec<BrokerOrder>, BrokerError>;
    /// The bars of a new trading day: a simulated venue applies the day's corporate actions
    /// and matches its open orders against them. A real broker's market is real: the default
    /// does nothing.
    fn on_market(&mut self, _market: &dyn MarketDay) -> Result<(), BrokerError> {
        Ok(())
    }
    /// The broker's own state, for a checkpoint, when it lives in this process (a simulated
    /// venue); `None` for a broker that keeps its own.
    fn save_state(&self) -> Option<String> {
        None
    }
    /// Restore what [`Broker::save_state`] returned.
    fn restore_state(&mut self, _state: &str) -> Result<(), BrokerError> {
        Ok(())
    }
}
