-- Janus schema v2 for PostgreSQL: what corporate actions did to holdings, one row per
-- holding and ex-date, committed with its trading day. Money and prices are integers of
-- 0.0001 CNY like the other tables. Applied under the migration lock like v1; idempotent too.
CREATE TABLE IF NOT EXISTS corporate_actions (
    run_id TEXT NOT NULL, day_index BIGINT NOT NULL, seq BIGINT NOT NULL, date DATE NOT NULL,
    symbol TEXT NOT NULL, shares_before BIGINT NOT NULL, bonus_shares BIGINT NOT NULL,
    rights_shares BIGINT NOT NULL, rights_paid BIGINT NOT NULL, dividend BIGINT NOT NULL,
    dividend_tax BIGINT NOT NULL, reference_price BIGINT NOT NULL,
    PRIMARY KEY (run_id, day_index, seq)
);
CREATE INDEX IF NOT EXISTS corporate_actions_by_run ON corporate_actions (run_id, date);
CREATE INDEX IF NOT EXISTS corporate_actions_by_symbol ON corporate_actions (run_id, symbol, date);
