//! [`MemoryStore`]: every run in process memory, the default for backtests, where persistence
//! should cost nothing. It is also the reference every other backend must agree with.

use janus_core::{Checkpoint, DayBatch, JournalEvent, OrderId, RunMeta, RunRecord, RunStatus, Store, StoreError};
use std::collections::{BTreeMap, HashMap};

#[derive(Default)]
struct StoredRun {
    meta: Option<RunMeta>,
    record: RunRecord,
    order_index: HashMap<OrderId, usize>,
    /// The journal by (instance, seq), and each instance's latest checkpoint.
    events: BTreeMap<(String, u64), JournalEvent>,
    checkpoints: BTreeMap<String, Checkpoint>,
}

/// All runs in memory, in the order they were begun.
#[derive(Default)]
pub struct MemoryStore {
    runs: BTreeMap<String, StoredRun>,
    order: Vec<String>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn run_mut(&mut self, run_id: &str) -> Result<&mut StoredRun, StoreError> {
        self.runs.get_mut(run_id).ok_or_else(|| StoreError::RunNotFound(run_id.to_string()))
    }
}

impl Store for MemoryStore {
    fn begin_run(&mut self, meta: &RunMeta) -> Result<(), StoreError> {
        if self.runs.contains_key(&meta.run_id) {
            return Err(StoreError::RunExists(meta.run_id.clone()));
        }
        self.order.push(meta.run_id.clone());
        self.runs.insert(meta.run_id.clone(), StoredRun { meta: Some(meta.clone()), ..StoredRun::default() });
        Ok(())
    }

    fn commit_day(&mut self, run_id: &str, batch: &DayBatch) -> Result<(), StoreError> {
        let run = self.run_mut(run_id)?;
        let r = &mut run.record;
        if r.last_day_index.is_some_and(|last| batch.day_index <= last) {
            return Ok(()); // already committed: a retried commit must not duplicate rows
        }
        if let Some(a) = &batch.account {
            r.account_snapshots.push(a.clone());
        }
        r.position_snapshots.extend_from_slice(&batch.positions);
        for o in &batch.orders {
            match run.order_index.get(&o.id) {
                Some(&i) => r.orders[i] = o.clone(),
                None => {
                    run.order_index.insert(o.id, r.orders.len());
                    r.orders.push(o.clone());
                }
            }
        }
        r.risk_events.extend_from_slice(&batch.risk_events);
        r.executions.extend_from_slice(&batch.executions);
        r.corporate_actions.extend_from_slice(&batch.corporate_actions);
        r.last_day_index = Some(batch.day_index);
        for e in &batch.events {
            run.events.entry((e.instance.clone(), e.seq)).or_insert_with(|| e.clone());
        }
        if let Some(c) = &batch.checkpoint {
            run.checkpoints.insert(c.instance.clone(), c.clone());
        }
        Ok(())
    }

    fn append_events(&mut self, run_id: &str, events: &[JournalEvent]) -> Result<(), StoreError> {
        let run = self.run_mut(run_id)?;
        for e in events {
            run.events.entry((e.instance.clone(), e.seq)).or_insert_with(|| e.clone());
        }
        Ok(())
    }

    fn load_events(&self, run_id: &str, instance: &str, after_seq: u64) -> Result<Vec<JournalEvent>, StoreError> {
        let run = self.runs.get(run_id).ok_or_else(|| StoreError::RunNotFound(run_id.to_string()))?;
        let from = (instance.to_string(), after_seq.saturating_add(1));
        Ok(run.events.range(from..).take_while(|((i, _), _)| i == instance).map(|(_, e)| e.clone()).collect())
    }

    fn load_checkpoint(&self, run_id: &str, instance: &str) -> Result<Option<Checkpoint>, StoreError> {
        let run = self.runs.get(run_id).ok_or_else(|| StoreError::RunNotFound(run_id.to_string()))?;
        Ok(run.checkpoints.get(instance).cloned())
    }

    fn finish_run(&mut self, run_id: &str, status: RunStatus) -> Result<(), StoreError> {
        let run = self.run_mut(run_id)?;
        if let Some(m) = run.meta.as_mut() {
            m.status = status;
        }
        Ok(())
    }

    fn list_runs(&self) -> Result<Vec<RunMeta>, StoreError> {
        Ok(self.order.iter().filter_map(|id| self.runs.get(id).and_then(|r| r.meta.clone())).collect())
    }

    fn load_run(&self, run_id: &str) -> Result<RunRecord, StoreError> {
        let run = self.runs.get(run_id).ok_or_else(|| StoreError::RunNotFound(run_id.to_string()))?;
        let mut record = run.record.clone();
        record.orders.sort_by_key(|o| o.id);
        Ok(record)
    }

    fn delete_run(&mut self, run_id: &str) -> Result<(), StoreError> {
        self.runs.remove(run_id).ok_or_else(|| StoreError::RunNotFound(run_id.to_string()))?;
        self.order.retain(|id| id != run_id);
        Ok(())
    }
}
