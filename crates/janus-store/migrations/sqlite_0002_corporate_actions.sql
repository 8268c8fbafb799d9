-- Janus schema v2 for SQLite: what corporate actions did to holdings, one row per holding and
-- ex-date, committed with its trading day. Money and prices are integers of 0.0001 CNY like
-- the other tables. Idempotent, like v1.
CREATE TABLE IF NOT EXISTS corporate_actions (
    run_id TEXT NOT NULL, day_index INTEGER NOT NULL, seq INTEGER NOT NULL, date TEXT NOT NULL,
    symbol TEXT NOT NULL, shares_before INTEGER NOT NULL, bonus_shares INTEGER NOT NULL,
    rights_shares INTEGER NOT NULL, rights_paid INTEGER NOT NULL, dividend INTEGER NOT NULL,
    dividend_tax INTEGER NOT NULL, reference_price INTEGER NOT NULL,
    PRIMARY KEY (run_id, day_index, seq)
);
CREATE INDEX IF NOT EXISTS corporate_actions_by_run ON corporate_actions (run_id, date);
CREATE INDEX IF NOT EXISTS corporate_actions_by_symbol ON corporate_actions (run_id, symbol, date);
