//! The journal and checkpoints in PostgreSQL: events inserted in one statement per batch
//! (skipping those stored already), the checkpoint upserted, both read by their primary keys
//! in one statement each, so a resume costs the same at day 10 and at day 10,000.

use super::{exec as statement, within, NAME};
use crate::codec;
use crate::persistent::Fault;
use chrono::NaiveDate;
use janus_core::{Checkpoint, JournalEvent, StoreError};
use std::time::Duration;
use tokio_postgres::{Client, Transaction};

/// Insert journal events; those whose (run, instance, seq) is stored already are skipped.
pub async fn write_events(
    tx: &Transaction<'_>,
    io: Duration,
    run_id: &str,
    events: &[JournalEvent],
) -> Result<(), Fault> {
    if events.is_empty() {
        return Ok(());
    }
    let instance: Vec<&str> = events.iter().map(|e| e.instance.as_str()).collect();
    let seq = events
        .iter()
        .map(|e| codec::seq_to_sql(NAME, "journal sequence number", e.seq))
        .collect::<Result<Vec<i64>, _>>()?;
    let date: Vec<NaiveDate> = events.iter().map(|e| e.date).collect();
    let kind: Vec<&str> = events.iter().map(|e| e.event.kind()).collect();
    let payload: Vec<String> = events.iter().map(|e| codec::event_payload(&e.event)).collect();
    statement(
        tx,
        io,
        "INSERT INTO journal_events (run_id, instance, seq, date, kind, payload)
         SELECT $1, * FROM UNNEST($2::text[], $3::bigint[], $4::date[], $5::text[], $6::text[])
         ON CONFLICT (run_id, instance, seq) DO NOTHING",
        &[&run_id, &instance, &seq, &date, &kind, &payload],
    )
    .await
}

/// Replace the instance's checkpoint.
pub async fn write_checkpoint(tx: &Transaction<'_>, io: Duration, run_id: &str, c: &Checkpoint) -> Result<(), Fault> {
    statement(
        tx,
        io,
        "INSERT INTO run_checkpoints (run_id, instance, day_index, seq, state) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (run_id, instance) DO UPDATE SET day_index = EXCLUDED.day_index, seq = EXCLUDED.seq,
         state = EXCLUDED.state",
        &[
            &run_id,
            &c.instance,
            &(c.day_index as i64),
            &codec::seq_to_sql(NAME, "checkpoint sequence number", c.seq)?,
            &c.state,
        ],
    )
    .await
}

/// One instance's events after a sequence number, and whether the run exists, in one
/// statement (one round trip, one snapshot): no row means no run; a row of NULLs, a run with no
/// such events. The events are a range of the primary key, read in key order.
pub const SELECT_EVENTS: &str = "SELECT e.seq, e.date, e.payload FROM runs r
     LEFT JOIN journal_events e ON e.run_id = r.run_id AND e.instance = $2 AND e.seq > $3
     WHERE r.run_id = $1 ORDER BY e.seq";

/// One instance's checkpoint and whether the run exists, likewise: a primary-key lookup.
pub const SELECT_CHECKPOINT: &str = "SELECT c.day_index, c.seq, c.state FROM runs r
     LEFT JOIN run_checkpoints c ON c.run_id = r.run_id AND c.instance = $2
     WHERE r.run_id = $1";

/// The events of one instance after `after_seq`, in sequence.
pub async fn read_events(
    client: &Client,
    io: Duration,
    run_id: &str,
    instance: &str,
    after_seq: u64,
) -> Result<Vec<JournalEvent>, Fault> {
    // Past the largest stored sequence number nothing follows.
    let after = i64::try_from(after_seq).unwrap_or(i64::MAX);
    let rows = within(io, client.query(SELECT_EVENTS, &[&run_id, &instance, &after])).await?;
    if rows.is_empty() {
        return Err(Fault::Fatal(StoreError::RunNotFound(run_id.to_string())));
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let Some(seq) = r.get::<_, Option<i64>>(0) else { continue };
        let (date, payload): (Option<NaiveDate>, Option<&str>) = (r.get(1), r.get(2));
        let (Some(date), Some(payload)) = (date, payload) else {
            return Err(Fault::Fatal(codec::corrupt(NAME, "journal event", &seq.to_string())));
        };
        out.push(codec::journal_event(NAME, instance, codec::seq_of(NAME, seq)?, date, payload)?);
    }
    Ok(out)
}

/// The instance's checkpoint, if any.
pub async fn read_checkpoint(
    client: &Client,
    io: Duration,
    run_id: &str,
    instance: &str,
) -> Result<Option<Checkpoint>, Fault> {
    let row = within(io, client.query_opt(SELECT_CHECKPOINT, &[&run_id, &instance])).await?;
    let Some(r) = row else { return Err(Fault::Fatal(StoreError::RunNotFound(run_id.to_string()))) };
    let (day, seq, state): (Option<i64>, Option<i64>, Option<String>) = (r.get(0), r.get(1), r.get(2));
    let (Some(day), Some(seq), Some(state)) = (day, seq, state) else { return Ok(None) };
    Ok(Some(Checkpoint {
        instance: instance.to_string(),
        day_index: codec::u32_of(NAME, "checkpoint day index", day)?,
        seq: codec::seq_of(NAME, seq)?,
        state,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::postgres::{drop_schema, PostgresBackend};
    use crate::StoreOptions;
    use std::io::Write;

    /// A resume must cost the same at day 10 and at day 10,000: on a run of 40,000 events and a
    /// store of 10,000 checkpoints, both lookups are index scans of the primary keys.
    #[test]
    fn resume_lookups_are_index_scans_on_a_long_run() {
        let base = std::env::var("JANUS_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let schema = format!("jt_plan_{}", std::process::id());
        let mut b = match PostgresBackend::open(&base, Some(&schema), &StoreOptions::default()) {
            Ok(b) => b,
            Err(e) if std::env::var("JANUS_REQUIRE_SERVICES").map_or(true, |v| v != "1") => {
                let _ = writeln!(std::io::stderr(), "SKIPPED resume_lookups_are_index_scans_on_a_long_run: {e}");
                return;
            }
            Err(e) => panic!("PostgreSQL is required (JANUS_REQUIRE_SERVICES=1) but unavailable: {e}"),
        };
        let plans = {
            let (rt, client, _) = b.parts().unwrap();
            rt.block_on(async {
                client
                    .batch_execute(
                        "INSERT INTO runs (run_id, started_at, config, data_source, status)
                         SELECT 'r' || n, '', '', '', 'running' FROM generate_series(1, 10000) n;
                         INSERT INTO journal_events (run_id, instance, seq, date, kind, payload)
                         SELECT 'r1', 'main', n, DATE '2000-01-03', 'risk', '{}' FROM generate_series(1, 40000) n;
                         INSERT INTO run_checkpoints (run_id, instance, day_index, seq, state)
                         SELECT 'r' || n, 'main', n, n, repeat('x', 2000) FROM generate_series(1, 10000) n;
                         ANALYZE",
                    )
                    .await
                    .unwrap();
                let explain = |sql: &str| format!("EXPLAIN {sql}");
                let after: i64 = 39_996;
                let events = client.query(&explain(SELECT_EVENTS), &[&"r1", &"main", &after]).await.unwrap();
                let checkpoint = client.query(&explain(SELECT_CHECKPOINT), &[&"r1", &"main"]).await.unwrap();
                [events, checkpoint].map(|rows| rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>())
            })
        };
        drop(b);
        let _ = drop_schema(&base, &schema);
        for (plan, table) in plans.iter().zip(["journal_events", "run_checkpoints"]) {
            let text = plan.join("\n");
            assert!(text.contains(&format!("Index Scan using {table}_pkey")), "{table}:\n{text}");
            assert!(!text.contains("Seq Scan"), "{table}:\n{text}");
        }
    }
}
