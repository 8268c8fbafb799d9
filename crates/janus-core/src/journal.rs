//! What a run records, and the [`Store`] interface that persists it.
//!
//! The engine hands the store one [`DayBatch`] per trading day; a backend commits it
//! atomically, so a reader never sees half a day and a run can resume from its last day.
//! The trait lives in the core so that backends and the engine both depend only on it.

use crate::events::{Checkpoint, JournalEvent};
use crate::money::{Money, Price, Qty};
use crate::order::{Order, OrderId, Side};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Account state after a day's close.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountSnapshot {
    pub date: NaiveDate,
    pub total_value: Money,
    pub cash: Money,
    pub frozen_cash: Money,
    pub market_value: Money,
    /// Highest total value so far.
    pub peak_value: Money,
    /// Drawdown of total value from `peak_value` (0 at a new high).
    pub drawdown: f64,
}

/// One held position after a day's close.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionSnapshot {
    pub date: NaiveDate,
    pub symbol: String,
    pub amount: Qty,
    pub sellable: Qty,
    pub avg_price: Price,
    pub entry_price: Price,
    pub entry_date: NaiveDate,
    pub high_since_entry: Price,
    pub last_price: Price,
    pub days_held: u32,
    pub market_value: Money,
    pub realized_pnl: Money,
}

/// One fill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionLog {
    pub date: NaiveDate,
    pub order_id: OrderId,
    pub symbol: String,
    pub side: Side,
    pub price: Price,
    pub quantity: Qty,
    pub commission: Money,
    pub taxes: Money,
    /// The bar's price for the fill mode (open, VWAP or close) before slippage and limits.
    pub reference_price: Price,
    /// Cost of the fill price against the reference: positive when it was worse.
    pub slippage: Money,
}

/// What a corporate action did to a holding on its ex-date (before the open).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorporateActionLog {
    pub date: NaiveDate,
    pub symbol: String,
    /// Shares held before the action.
    pub shares_before: Qty,
    /// Bonus and capitalization shares credited.
    pub bonus_shares: Qty,
    /// Rights subscribed, and the cash paid for them.
    pub rights_shares: Qty,
    pub rights_paid: Money,
    /// Cash dividend before tax, and the tax withheld.
    pub dividend: Money,
    pub dividend_tax: Money,
    /// The ex-rights reference price the day's limits were computed from.
    pub reference_price: Price,
}

/// Why an order was refused: by the risk manager before any cash was frozen, or by the market
/// at the fill point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RiskReason {
    /// Pre-trade: the symbol is suspended (no bar, zero volume, or a paused flag).
    Suspended,
    /// Pre-trade: a buy of a stock that closed at limit-up.
    LimitUp,
    /// Pre-trade: a sell of a stock that closed at limit-down.
    LimitDown,
    /// Pre-trade: the shares would be bought on the execution day (T+1).
    TPlusOne,
    /// Pre-trade: selling more than the position's sellable shares.
    NotEnoughShares,
    /// Pre-trade: a buy not in the board's lots, or a sell below them that does not close the position.
    LotSize,
    InsufficientCash,
    /// Pre-trade: the symbol would exceed the per-symbol share of total asset.
    Concentration,
    MaxPositions,
    /// Pre-trade: equity fell more than the limit from the previous close; no new buys today.
    CircuitBreaker,
    /// At the fill: the bar was suspended.
    MarketSuspended,
    /// At the fill: a buy could not fill at limit-up.
    MarketLimitUp,
    /// At the fill: a sell could not fill at limit-down.
    MarketLimitDown,
    /// At the fill: the volume participation cap left part of the order unfilled.
    VolumeCap,
}

impl RiskReason {
    pub const ALL: [RiskReason; 14] = [
        RiskReason::Suspended,
        RiskReason::LimitUp,
        RiskReason::LimitDown,
        RiskReason::TPlusOne,
        RiskReason::NotEnoughShares,
        RiskReason::LotSize,
        RiskReason::InsufficientCash,
        RiskReason::Concentration,
        RiskReason::MaxPositions,
        RiskReason::CircuitBreaker,
        RiskReason::MarketSuspended,
        RiskReason::MarketLimitUp,
        RiskReason::MarketLimitDown,
        RiskReason::VolumeCap,
    ];

    /// Stable code written to files and tables.
    pub fn code(self) -> &'static str {
        match self {
            RiskReason::Suspended => "SUSPENDED",
            RiskReason::LimitUp => "LIMIT_UP",
            RiskReason::LimitDown => "LIMIT_DOWN",
            RiskReason::TPlusOne => "T_PLUS_1",
            RiskReason::NotEnoughShares => "NOT_ENOUGH_SHARES",
            RiskReason::LotSize => "LOT_SIZE",
            RiskReason::InsufficientCash => "INSUFFICIENT_CASH",
            RiskReason::Concentration => "CONCENTRATION",
            RiskReason::MaxPositions => "MAX_POSITIONS",
            RiskReason::CircuitBreaker => "CIRCUIT_BREAKER",
            RiskReason::MarketSuspended => "MARKET_SUSPENDED",
            RiskReason::MarketLimitUp => "MARKET_LIMIT_UP",
            RiskReason::MarketLimitDown => "MARKET_LIMIT_DOWN",
            RiskReason::VolumeCap => "VOLUME_CAP",
        }
    }

    pub fn parse(code: &str) -> Option<RiskReason> {
        RiskReason::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Refused by the market at the fill point rather than by the pre-trade risk checks.
    pub fn is_market(self) -> bool {
        matches!(
            self,
            RiskReason::MarketSuspended
                | RiskReason::MarketLimitUp
                | RiskReason::MarketLimitDown
                | RiskReason::VolumeCap
        )
    }
}

/// One refusal, pre-trade or at the fill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskEvent {
    pub date: NaiveDate,
    pub symbol: String,
    pub order_id: OrderId,
    pub side: Side,
    pub reason: RiskReason,
    pub detail: String,
}

/// Everything one trading day changed, committed together.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DayBatch {
    pub day_index: u32,
    pub account: Option<AccountSnapshot>,
    pub positions: Vec<PositionSnapshot>,
    /// Orders created or changed on this day, in their state at the day's end.
    pub orders: Vec<Order>,
    pub risk_events: Vec<RiskEvent>,
    pub executions: Vec<ExecutionLog>,
    /// What the day's corporate actions did to holdings before the open: one log per holding
    /// and ex-date.
    #[serde(default)]
    pub corporate_actions: Vec<CorporateActionLog>,
    /// The day's journal events, in sequence (see [`crate::events`]).
    #[serde(default)]
    pub events: Vec<JournalEvent>,
    /// The engine's state after the day, replacing the run's previous checkpoint.
    #[serde(default)]
    pub checkpoint: Option<Checkpoint>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunStatus {
    Running,
    Finished,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Finished => "finished",
            RunStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<RunStatus> {
        [RunStatus::Running, RunStatus::Finished, RunStatus::Failed].into_iter().find(|st| st.as_str() == s)
    }
}

/// A run's identity and provenance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunMeta {
    pub run_id: String,
    /// The full configuration text the run used.
    pub config: String,
    /// Where the bars came from (file path or generator seed).
    pub data_source: String,
    pub status: RunStatus,
}

/// Everything stored for one run, in commit order (orders by id, last state wins).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub account_snapshots: Vec<AccountSnapshot>,
    pub position_snapshots: Vec<PositionSnapshot>,
    pub orders: Vec<Order>,
    pub risk_events: Vec<RiskEvent>,
    pub executions: Vec<ExecutionLog>,
    /// Corporate actions applied to holdings, in commit order (absent from records written
    /// before they were journaled).
    #[serde(default)]
    pub corporate_actions: Vec<CorporateActionLog>,
    /// Index of the last committed trading day, if any.
    pub last_day_index: Option<u32>,
}

/// A run as a listing shows it: its identity, when it started and how far it got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    pub meta: RunMeta,
    /// Wall-clock start time (RFC 3339, UTC), where the store records one. Metadata only: it
    /// never enters a [`RunRecord`] or an output file.
    pub started_at: Option<String>,
    /// Index of the last committed trading day, if any.
    pub last_day_index: Option<u32>,
    /// Number of committed trading days.
    pub days: usize,
}

/// Why a store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("run {0:?} not found in the store")]
    RunNotFound(String),
    #[error("run {0:?} already exists in the store; pick another --run-id or resume it")]
    RunExists(String),
    #[error("{backend} store: {message}")]
    Backend { backend: &'static str, message: String },
    /// A store URL that names no backend or is malformed (the URL is shown with its password
    /// redacted).
    #[error("invalid store URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
}

/// Persistence of runs. The engine writes one batch per trading day; implementations must make
/// each `commit_day` atomic (a reader sees a day whole or not at all) and idempotent per
/// `(run_id, day_index)`: a batch at or before the run's last committed day is skipped, so a
/// commit retried after a lost acknowledgement never duplicates rows. A persistent backend may
/// buffer days and commit several in one transaction; `finish_run` makes everything durable.
pub trait Store {
    fn begin_run(&mut self, meta: &RunMeta) -> Result<(), StoreError>;
    fn commit_day(&mut self, run_id: &str, batch: &DayBatch) -> Result<(), StoreError>;
    /// Set the run's status (also used to mark a resumed run as running again); flushes
    /// buffered days first.
    fn finish_run(&mut self, run_id: &str, status: RunStatus) -> Result<(), StoreError>;
    fn list_runs(&self) -> Result<Vec<RunMeta>, StoreError>;
    fn load_run(&self, run_id: &str) -> Result<RunRecord, StoreError>;

    /// Runs with their start time and progress, in the order they were begun. Backends answer
    /// from their runs table; the default loads every run.
    fn run_summaries(&self) -> Result<Vec<RunSummary>, StoreError> {
        self.list_runs()?
            .into_iter()
            .map(|meta| {
                let record = self.load_run(&meta.run_id)?;
                Ok(RunSummary {
                    meta,
                    started_at: None,
                    last_day_index: record.last_day_index,
                    days: record.account_snapshots.len(),
                })
            })
            .collect()
    }

    /// Append journal events outside a day batch (paper and live trading write an order's
    /// `Submitted` event before sending it). Durable when it returns; idempotent per
    /// `(run_id, instance, seq)`: an event already stored is skipped. Buffered days are
    /// flushed first, so the journal stays in order.
    fn append_events(&mut self, run_id: &str, events: &[JournalEvent]) -> Result<(), StoreError> {
        let _ = events;
        Err(StoreError::Backend {
            backend: "store",
            message: format!("this store keeps no journal for run {run_id:?}"),
        })
    }

    /// The journal events of one instance of a run with `seq > after_seq`, in sequence.
    fn load_events(&self, run_id: &str, instance: &str, after_seq: u64) -> Result<Vec<JournalEvent>, StoreError> {
        let _ = (instance, after_seq);
        Err(StoreError::Backend {
            backend: "store",
            message: format!("this store keeps no journal for run {run_id:?}"),
        })
    }

    /// The latest checkpoint of one instance of a run, if any. Must not read the run's days:
    /// resuming a long run costs the same as resuming a short one.
    fn load_checkpoint(&self, run_id: &str, instance: &str) -> Result<Option<Checkpoint>, StoreError> {
        let _ = instance;
        Err(StoreError::Backend {
            backend: "store",
            message: format!("this store keeps no checkpoints for run {run_id:?}"),
        })
    }

    /// Make every committed day durable now (a persistent backend buffers days for speed;
    /// paper and live trading flush after each day). The default has nothing to flush.
    fn flush(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Remove a run and everything recorded for it.
    fn delete_run(&mut self, run_id: &str) -> Result<(), StoreError> {
        Err(StoreError::Backend { backend: "store", message: format!("this store cannot delete run {run_id:?}") })
    }
}
