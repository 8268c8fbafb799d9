-- Janus schema v1 for PostgreSQL: the runs table and the tables of one run's records,
-- all keyed by run_id. Applied once (under an advisory lock), recorded in schema_migrations;
-- every statement is idempotent as well.
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    seq BIGSERIAL NOT NULL,
    started_at TEXT NOT NULL,
    config TEXT NOT NULL,
    data_source TEXT NOT NULL,
    status TEXT NOT NULL,
    last_day_index BIGINT
);
CREATE TABLE IF NOT EXISTS account_snapshots (
    run_id TEXT NOT NULL, day_index BIGINT NOT NULL, date DATE NOT NULL,
    total_value BIGINT NOT NULL, cash BIGINT NOT NULL, frozen_cash BIGINT NOT NULL,
    market_value BIGINT NOT NULL, peak_value BIGINT NOT NULL, drawdown DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (run_id, day_index)
);
CREATE INDEX IF NOT EXISTS account_snapshots_by_date ON account_snapshots (run_id, date);
CREATE TABLE IF NOT EXISTS position_snapshots (
    run_id TEXT NOT NULL, day_index BIGINT NOT NULL, seq BIGINT NOT NULL, date DATE NOT NULL,
    symbol TEXT NOT NULL, amount BIGINT NOT NULL, sellable BIGINT NOT NULL, avg_price BIGINT NOT NULL,
    entry_price BIGINT NOT NULL, entry_date DATE NOT NULL, high_since_entry BIGINT NOT NULL,
    last_price BIGINT NOT NULL, days_held BIGINT NOT NULL, market_value BIGINT NOT NULL,
    realized_pnl BIGINT NOT NULL,
    PRIMARY KEY (run_id, day_index, seq)
);
CREATE INDEX IF NOT EXISTS position_snapshots_by_symbol ON position_snapshots (run_id, symbol, date);
CREATE TABLE IF NOT EXISTS positions_active (
    run_id TEXT NOT NULL, symbol TEXT NOT NULL, date DATE NOT NULL, amount BIGINT NOT NULL,
    sellable BIGINT NOT NULL, avg_price BIGINT NOT NULL, entry_price BIGINT NOT NULL,
    entry_date DATE NOT NULL, high_since_entry BIGINT NOT NULL, last_price BIGINT NOT NULL,
    days_held BIGINT NOT NULL, market_value BIGINT NOT NULL, realized_pnl BIGINT NOT NULL,
    PRIMARY KEY (run_id, symbol)
);
CREATE TABLE IF NOT EXISTS orders_history (
    run_id TEXT NOT NULL, order_id BIGINT NOT NULL, day_index BIGINT NOT NULL, symbol TEXT NOT NULL,
    side TEXT NOT NULL, order_type TEXT NOT NULL, limit_price BIGINT, quantity BIGINT NOT NULL,
    filled BIGINT NOT NULL, status TEXT NOT NULL, created DATE NOT NULL, updated DATE NOT NULL,
    filled_notional BIGINT NOT NULL, commission BIGINT NOT NULL, taxes BIGINT NOT NULL,
    frozen_cash BIGINT NOT NULL, tag TEXT NOT NULL,
    PRIMARY KEY (run_id, order_id)
);
CREATE INDEX IF NOT EXISTS orders_history_by_symbol ON orders_history (run_id, symbol, created);
CREATE INDEX IF NOT EXISTS orders_history_by_date ON orders_history (run_id, created);
CREATE TABLE IF NOT EXISTS risk_events (
    run_id TEXT NOT NULL, day_index BIGINT NOT NULL, seq BIGINT NOT NULL, date DATE NOT NULL,
    symbol TEXT NOT NULL, order_id BIGINT NOT NULL, side TEXT NOT NULL, reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (run_id, day_index, seq)
);
CREATE INDEX IF NOT EXISTS risk_events_by_symbol ON risk_events (run_id, symbol, date);
CREATE INDEX IF NOT EXISTS risk_events_by_reason ON risk_events (run_id, reason, date);
CREATE TABLE IF NOT EXISTS execution_logs (
    run_id TEXT NOT NULL, day_index BIGINT NOT NULL, seq BIGINT NOT NULL, date DATE NOT NULL,
    order_id BIGINT NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL, price BIGINT NOT NULL,
    quantity BIGINT NOT NULL, commission BIGINT NOT NULL, taxes BIGINT NOT NULL,
    reference_price BIGINT NOT NULL, slippage BIGINT NOT NULL,
    PRIMARY KEY (run_id, day_index, seq)
);
CREATE INDEX IF NOT EXISTS execution_logs_by_symbol ON execution_logs (run_id, symbol, date);
CREATE INDEX IF NOT EXISTS execution_logs_by_order ON execution_logs (run_id, order_id);
