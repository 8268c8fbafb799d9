//! Janus core: the domain types and pure rules everything else builds on.
//!
//! Money and prices are exact fixed-point integers ([`money`]); orders move through one
//! transition table ([`order`]); the [`state::Portfolio`] is the ledger of cash, frozen cash and
//! positions; [`rules`] holds the A-share market rules (boards and price limits, lots, fees) and
//! [`calendar`] the dates and numbers of those rules as they were on each day;
//! [`journal`] defines what a run records and the [`journal::Store`] interface, [`events`] the
//! sequenced journal and checkpoints, and [`broker`] the port to a broker (simulated or real).
//! No I/O here.
#![forbid(unsafe_code)]

pub mod broker;
pub mod calendar;
pub mod corporate;
pub mod events;
pub mod journal;
pub mod money;
pub mod order;
pub mod rules;
pub mod state;
pub mod url;

pub use broker::{
    ActionToday, Bar, Broker, BrokerAccount, BrokerError, BrokerOrder, BrokerPosition, ExecReport, Fill, MarketDay,
    ReportKind,
};
pub use calendar::{BoardLot, DailyLimit, Listing};
pub use corporate::{CorporateAction, DividendTax};
pub use events::{Checkpoint, Event, JournalEvent, MAIN_INSTANCE};
pub use journal::{
    AccountSnapshot, CorporateActionLog, DayBatch, ExecutionLog, PositionSnapshot, RiskEvent, RiskReason, RunMeta,
    RunRecord, RunStatus, RunSummary, Store, StoreError,
};
pub use money::{parse_price, Money, Price, Price32, Qty, Rate};
pub use order::{Order, OrderEvent, OrderId, OrderStatus, OrderType, Side};
pub use rules::{Board, Exchange, FeeSchedule, Fees, LimitRules, LotRules};
pub use state::{Account, FillSpec, LedgerError, Portfolio, Position, SymbolId};
