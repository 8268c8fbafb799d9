-- Janus schema v1 for SQLite: the runs table and the tables of one run's records,
-- all keyed by run_id. Applied once, recorded in schema_migrations; every statement is
-- idempotent, so an opener that applies it over a half-created schema does no harm.
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    config TEXT NOT NULL,
    data_source TEXT NOT NULL,
    status TEXT NOT NULL,
    last_day_index INTEGER
);
CREATE TABLE IF NOT EXISTS account_snapshots (
    run_id TEXT NOT NULL, day_index INTEGER NOT NULL, date TEXT NOT NULL,
    total_value INTEGER NOT NULL, cash INTEGER NOT NULL, frozen_cash INTEGER NOT NULL,
    market_value INTEGER NOT NULL, peak_value INTEGER NOT NULL, drawdown REAL NOT NULL,
    PRIMARY KEY (run_id, day_index)
);
CREATE INDEX IF NOT EXISTS account_snapshots_by_date ON account_snapshots (run_id, date);
CREATE TABLE IF NOT EXISTS position_snapshots (
    run_id TEXT NOT NULL, day_index INTEGER NOT NULL, seq INTEGER NOT NULL, date TEXT NOT NULL,
    symbol TEXT NOT NULL, amount INTEGER NOT NULL, sellable INTEGER NOT NULL, avg_price INTEGER NOT NULL,
    entry_price INTEGER NOT NULL, entry_date TEXT NOT NULL, high_since_entry INTEGER NOT NULL,
    last_price INTEGER NOT NULL, days_held INTEGER NOT NULL, market_value INTEGER NOT NULL,
    realized_pnl INTEGER NOT NULL,
    PRIMARY KEY (run_id, day_index, seq)
);
CREATE INDEX IF NOT EXISTS position_snapshots_by_symbol ON position_snapshots (run_id, symbol, date);
CREATE TABLE IF NOT EXISTS positions_active (
    run_id TEXT NOT NULL, symbol TEXT NOT NULL, date TEXT NOT NULL, amount INTEGER NOT NULL,
    sellable INTEGER NOT NULL, avg_price INTEGER NOT NULL, entry_price INTEGER NOT NULL,
    entry_date TEXT NOT NULL, high_since_entry INTEGER NOT NULL, last_price INTEGER NOT NULL,
    days_held INTEGER NOT NULL, market_value INTEGER NOT NULL, realized_pnl INTEGER NOT NULL,
    PRIMARY KEY (run_id, symbol)
);
CREATE TABLE IF NOT EXISTS orders_history (
    run_id TEXT NOT NULL, order_id INTEGER NOT NULL, day_index INTEGER NOT NULL, symbol TEXT NOT NULL,
    side TEXT NOT NULL, order_type TEXT NOT NULL, limit_price INTEGER, quantity INTEGER NOT NULL,
    filled INTEGER NOT NULL, status TEXT NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL,
    filled_notional INTEGER NOT NULL, commission INTEGER NOT NULL, taxes INTEGER NOT NULL,
    frozen_cash INTEGER NOT NULL, tag TEXT NOT NULL,
    PRIMARY KEY (run_id, order_id)
);
CREATE INDEX IF NOT EXISTS orders_history_by_symbol ON orders_history (run_id, symbol, created);
CREATE INDEX IF NOT EXISTS orders_history_by_date ON orders_history (run_id, created);
CREATE TABLE IF NOT EXISTS risk_events (
    run_id TEXT NOT NULL, day_index INTEGER NOT NULL, seq INTEGER NOT NULL, date TEXT NOT NULL,
    symbol TEXT NOT NULL, order_id INTEGER NOT NULL, side TEXT NOT NULL, reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (run_id, day_index, seq)
);
CREATE INDEX IF NOT EXISTS risk_events_by_symbol ON risk_events (run_id, symbol, date);
CREATE INDEX IF NOT EXISTS risk_events_by_reason ON risk_events (run_id, reason, date);
CREATE TABLE IF NOT EXISTS execution_logs (
    run_id TEXT NOT NULL, day_index INTEGER NOT NULL, seq INTEGER NOT NULL, date TEXT NOT NULL,
    order_id INTEGER NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL, price INTEGER NOT NULL,
    quantity INTEGER NOT NULL, commission INTEGER NOT NULL, taxes INTEGER NOT NULL,
    reference_price INTEGER NOT NULL, slippage INTEGER NOT NULL,
    PRIMARY KEY (run_id, day_index, seq)
);
CREATE INDEX IF NOT EXISTS execution_logs_by_symbol ON execution_logs (run_id, symbol, date);
CREATE INDEX IF NOT EXISTS execution_logs_by_order ON execution_logs (run_id, order_id);
