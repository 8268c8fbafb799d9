-- Janus schema v3 for SQLite: the journal (sequenced events per run and strategy instance,
-- the payload as JSON) and the latest checkpoint of each instance, from which a run resumes
-- without replaying its days. Idempotent, like v1 and v2.
CREATE TABLE IF NOT EXISTS journal_events (
    run_id TEXT NOT NULL, instance TEXT NOT NULL, seq INTEGER NOT NULL, date TEXT NOT NULL,
    kind TEXT NOT NULL, payload TEXT NOT NULL,
    PRIMARY KEY (run_id, instance, seq)
);
CREATE TABLE IF NOT EXISTS run_checkpoints (
    run_id TEXT NOT NULL, instance TEXT NOT NULL, day_index INTEGER NOT NULL, seq INTEGER NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (run_id, instance)
);
