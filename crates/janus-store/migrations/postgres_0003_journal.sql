-- Janus schema v3 for PostgreSQL: the journal (sequenced events per run and strategy instance,
-- the payload as JSON) and the latest checkpoint of each instance, from which a run resumes
-- without replaying its days. Applied under the migration lock like v1 and v2; idempotent too.
CREATE TABLE IF NOT EXISTS journal_events (
    run_id TEXT NOT NULL, instance TEXT NOT NULL, seq BIGINT NOT NULL, date DATE NOT NULL,
    kind TEXT NOT NULL, payload TEXT NOT NULL,
    PRIMARY KEY (run_id, instance, seq)
);
CREATE TABLE IF NOT EXISTS run_checkpoints (
    run_id TEXT NOT NULL, instance TEXT NOT NULL, day_index BIGINT NOT NULL, seq BIGINT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (run_id, instance)
);
