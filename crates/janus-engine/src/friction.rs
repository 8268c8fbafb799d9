//! Friction attribution: why the real run makes less than the ideal one.
//!
//! A run is replayed in the same process with the market's frictions removed one at a time, in
//! a fixed order ([`LADDER`]): costs, then price limits, then suspensions, then T+1, then the
//! volume cap. Each step keeps the earlier removals, so the last step is the frictionless twin
//! and the return lost to a friction is the gain from removing it on top of the earlier ones.
//! The order matters where frictions interact (a sell refused at limit-down during a halt);
//! it goes from the costs every order pays to the rules that bind rarely. The twins write
//! nothing: they count into a [`TallyStore`], which keeps the figures the attribution needs.

use crate::config::{EngineConfig, Frictions};
use crate::engine::{Backtest, EngineError};
use crate::strategy::Strategy;
use janus_core::{DayBatch, Money, RunMeta, RunRecord, RunStatus, Store, StoreError};
use janus_data::Panel;
use std::ops::Range;

/// One friction of the ladder: its stable key (metrics.json), and how to turn it off.
pub struct Rung {
    pub key: &'static str,
    pub remove: fn(&mut Frictions),
}

/// The frictions in the order they are removed.
pub const LADDER: [Rung; 5] = [
    Rung { key: "costs", remove: |f| f.costs = false },
    Rung { key: "price_limits", remove: |f| f.price_limits = false },
    Rung { key: "suspensions", remove: |f| f.suspensions = false },
    Rung { key: "t_plus_1", remove: |f| f.t_plus_1 = false },
    Rung { key: "volume_cap", remove: |f| f.volume_cap = false },
];

/// The outcome of one twin: the run with the frictions up to and including `key` removed.
#[derive(Clone, Debug, PartialEq)]
pub struct TwinOutcome {
    /// The friction this twin removed (on top of those before it in [`LADDER`]).
    pub key: &'static str,
    pub final_value: Money,
    /// Fills and refusals (pre-trade and at the fill) the twin recorded.
    pub fills: usize,
    pub refusals: usize,
}

/// Run the twins of a run over `range`: one per rung of [`LADDER`], each with a fresh strategy
/// from `make_strategy` (models are stateless between runs only if rebuilt).
pub fn run_twins<S, E>(
    panel: &Panel,
    cfg: &EngineConfig,
    range: Range<usize>,
    mut make_strategy: impl FnMut() -> Result<S, E>,
) -> Result<Vec<TwinOutcome>, E>
where
    S: Strategy,
    E: From<EngineError>,
{
    let mut frictions = cfg.frictions;
    let mut out = Vec::with_capacity(LADDER.len());
    for rung in &LADDER {
        (rung.remove)(&mut frictions);
        let twin_cfg = EngineConfig { frictions, ..cfg.clone() };
        let mut strategy = make_strategy()?;
        let mut engine = Backtest::new(panel, twin_cfg)?;
        engine.checkpoints = false; // a twin is never resumed
        let mut tally = TallyStore::default();
        let meta = RunMeta {
            run_id: format!("twin-{}", rung.key),
            config: String::new(),
            data_source: String::new(),
            status: RunStatus::Running,
        };
        let outcome = engine.run(range.clone(), &mut strategy, &mut tally, &meta, &mut |_, _| {})?;
        out.push(TwinOutcome {
            key: rung.key,
            final_value: outcome.final_value,
            fills: tally.fills,
            refusals: tally.refusals,
        });
    }
    Ok(out)
}

/// A store that keeps nothing but counts: what a twin run needs, at no cost.
#[derive(Debug, Default)]
pub struct TallyStore {
    pub days: usize,
    pub fills: usize,
    pub refusals: usize,
}

impl Store for TallyStore {
    fn begin_run(&mut self, _meta: &RunMeta) -> Result<(), StoreError> {
        Ok(())
    }
    fn commit_day(&mut self, _run_id: &str, batch: &DayBatch) -> Result<(), StoreError> {
        self.days += 1;
        self.fills += batch.executions.len();
        self.refusals += batch.risk_events.len();
        Ok(())
    }
    fn finish_run(&mut self, _run_id: &str, _status: RunStatus) -> Result<(), StoreError> {
        Ok(())
    }
    fn list_runs(&self) -> Result<Vec<RunMeta>, StoreError> {
        Ok(Vec::new())
    }
    fn load_run(&self, run_id: &str) -> Result<RunRecord, StoreError> {
        Err(StoreError::RunNotFound(run_id.to_string()))
    }
}
