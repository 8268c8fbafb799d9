//! The journal: a run's sequenced audit stream, and the checkpoints that let a run resume
//! without replaying the market.
//!
//! Every order sent, every report received, every refusal and corporate action becomes one
//! [`JournalEvent`], numbered per run and strategy instance from 1 without gaps. A backtest
//! hands a day's events to the store with the day's batch; paper and live trading append an
//! order's `Submitted` event before the order leaves the process (write-ahead), so a restart
//! knows what may already be at the broker. A [`Checkpoint`] is the engine's whole state at
//! the end of a committed day; resuming reads the last one and the events after it.

use crate::broker::ExecReport;
use crate::journal::{CorporateActionLog, RiskEvent};
use crate::order::{Order, OrderId};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The strategy instance of a single-process run.
pub const MAIN_INSTANCE: &str = "main";

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// An admitted order, about to be sent to the broker (written before it is sent).
    Submitted(Order),
    /// A cancel of an open order, about to be sent.
    CancelRequested { order_id: OrderId },
    /// An execution report from the broker, as received (a repeated fill is recorded and
    /// ignored by the ledger).
    Report(ExecReport),
    /// A refusal by the risk manager or the market.
    Risk(RiskEvent),
    /// What a corporate action did to a holding before the open.
    CorporateAction(CorporateActionLog),
    /// A difference between the broker and the journal found at reconciliation, and what
    /// was done about it (the broker is the truth).
    Reconciliation { detail: String },
    /// One entry of a shared account's ledger audit stream (admissions and refusals with the
    /// strategy instance that asked, commits, fills, days), copied by the gateway that owns
    /// the broker connection. `kind` is the entry's kind; `fields` hold everything else.
    Ledger { kind: String, fields: std::collections::BTreeMap<String, String> },
}

impl Event {
    /// Stable name of the kind, stored beside the payload.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Submitted(_) => "submitted",
            Event::CancelRequested { .. } => "cancel_requested",
            Event::Report(_) => "report",
            Event::Risk(_) => "risk",
            Event::CorporateAction(_) => "corporate_action",
            Event::Reconciliation { .. } => "reconciliation",
            Event::Ledger { .. } => "ledger",
        }
    }
}

/// One entry of the journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEvent {
    /// The strategy instance that recorded it ([`MAIN_INSTANCE`] for a single process).
    pub instance: String,
    /// Position in the instance's stream: 1, 2, 3, ... without gaps.
    pub seq: u64,
    /// Trading day it belongs to.
    pub date: NaiveDate,
    pub event: Event,
}

/// The engine's state at the end of a committed day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub instance: String,
    /// The day it was taken after.
    pub day_index: u32,
    /// The last journal event it includes; events after it are replayed on resume.
    pub seq: u64,
    /// The state itself (JSON written by the engine; opaque to stores).
    pub state: String,
}
