//! Reading a run folder back: the CSV files and `metrics.json` that [`crate::write_run_folder`]
//! wrote become a [`RunRecord`] again, so `janus report` and `janus compare` work from the
//! folder alone, long after the run.
//!
//! Columns are found by header name, so a folder written by a later version with extra columns
//! still reads. What the files do not keep is rebuilt: each order's filled notional from its
//! fills, each account snapshot's peak from the initial cash. The run's config and data source
//! come from `config.toml` and `run.json` when the folder has them (older folders do not).

use crate::benchmark::{parse_money, Benchmark};
use crate::folder::{RunInfo, CONFIG_TOML};
use crate::ReportError;
use chrono::NaiveDate;
use janus_core::{
    parse_price, AccountSnapshot, CorporateActionLog, ExecutionLog, Money, Order, OrderId, OrderStatus, OrderType,
    PositionSnapshot, Price, RiskEvent, RiskReason, RunMeta, RunRecord, RunStatus, Side,
};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// A run folder read back.
#[derive(Clone, Debug)]
pub struct RunFolder {
    pub dir: PathBuf,
    /// The run id from `metrics.json`; the config text, data source and status from
    /// `config.toml` and `run.json` (empty, and `finished`, in a folder without them).
    pub meta: RunMeta,
    /// `run.json`, when the folder has one.
    pub info: Option<RunInfo>,
    pub initial_cash: Money,
    pub record: RunRecord,
    /// `benchmark.csv`, when the folder has one, named as `metrics.json` names it.
    pub benchmark: Option<Benchmark>,
    /// The friction attribution of `metrics.json` (computed by `janus backtest` from the
    /// run's twins; the folder alone cannot recompute it).
    pub friction: Option<crate::friction::FrictionAttribution>,
}

/// One CSV file: its rows with the header's column positions.
struct Table {
    path: PathBuf,
    columns: BTreeMap<String, usize>,
    rows: Vec<csv::StringRecord>,
}

impl Table {
    fn read(path: PathBuf) -> Result<Table, ReportError> {
        let mut reader = csv::Reader::from_path(&path)
            .map_err(|e| ReportError::Read { path: path.clone(), message: e.to_string() })?;
        let headers =
            reader.headers().map_err(|e| ReportError::Parse { path: path.clone(), line: 1, message: e.to_string() })?;
        let columns = headers.iter().enumerate().map(|(i, h)| (h.to_string(), i)).collect();
        let mut rows = Vec::new();
        for (i, row) in reader.records().enumerate() {
            rows.push(row.map_err(|e| ReportError::Parse {
                path: path.clone(),
                line: i as u64 + 2,
                message: e.to_string(),
            })?);
        }
        Ok(Table { path, columns, rows })
    }

    /// Each row, as a getter of typed fields by column name.
    fn parse<T>(&self, mut f: impl FnMut(&Row) -> Result<T, ReportError>) -> Result<Vec<T>, ReportError> {
        self.rows.iter().enumerate().map(|(i, record)| f(&Row { table: self, record, line: i as u64 + 2 })).collect()
    }
}

struct Row<'a> {
    table: &'a Table,
    record: &'a csv::StringRecord,
    line: u64,
}

impl Row<'_> {
    fn err(&self, message: String) -> ReportError {
        ReportError::Parse { path: self.table.path.clone(), line: self.line, message }
    }
    fn text(&self, column: &str) -> Result<&str, ReportError> {
        let i = self.table.columns.get(column).ok_or_else(|| ReportError::Parse {
            path: self.table.path.clone(),
            line: 1,
            message: format!("no `{column}` column"),
        })?;
        Ok(self.record.get(*i).unwrap_or(""))
    }
    fn get<T>(&self, column: &str, what: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, ReportError> {
        let text = self.text(column)?;
        parse(text).ok_or_else(|| self.err(format!("{column} {text:?} is not {what}")))
    }
    fn date(&self, column: &str) -> Result<NaiveDate, ReportError> {
        self.get(column, "a date", |t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
    }
    fn money(&self, column: &str) -> Result<Money, ReportError> {
        self.get(column, "an amount", parse_money)
    }
    fn price(&self, column: &str) -> Result<Price, ReportError> {
        self.get(column, "a price", |t| parse_price(t).ok())
    }
    fn int(&self, column: &str) -> Result<i64, ReportError> {
        self.get(column, "an integer", |t| t.parse().ok())
    }
    fn side(&self) -> Result<Side, ReportError> {
        self.get("side", "BUY or SELL", Side::parse)
    }
}

/// Read the run folder `dir`. `metrics.json`, `equity.csv`, `orders.csv`, `fills.csv`,
/// `risk_events.csv` and `positions.csv` must be there; `benchmark.csv` is optional.
pub fn read_run_folder(dir: &Path) -> Result<RunFolder, ReportError> {
    if !dir.join("metrics.json").is_file() {
        return Err(ReportError::Read {
            path: dir.to_path_buf(),
            message: "not a run folder (no metrics.json); pass the folder `janus backtest` printed".into(),
        });
    }
    let metrics_path = dir.join("metrics.json");
    let text =
        fs::read_to_string(&metrics_path).map_err(|source| ReportError::Io { path: metrics_path.clone(), source })?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|source| ReportError::Json { path: metrics_path.clone(), source })?;
    let field = |key: &str| json.get(key).and_then(|v| v.as_str());
    let run_id = field("run_id").unwrap_or_default().to_string();
    let friction = match json.get("friction") {
        Some(v) => Some(
            serde_json::from_value(v.clone())
                .map_err(|source| ReportError::Json { path: metrics_path.clone(), source })?,
        ),
        None => None,
    };
    let initial_cash = field("initial_cash").and_then(parse_money).ok_or_else(|| ReportError::Parse {
        path: metrics_path.clone(),
        line: 1,
        message: "`initial_cash` is missing or not an amount".into(),
    })?;

    let mut peak = initial_cash;
    let account_snapshots = Table::read(dir.join("equity.csv"))?.parse(|r| {
        let total_value = r.money("total_value")?;
        peak = peak.max(total_value);
        Ok(AccountSnapshot {
            date: r.date("date")?,
            total_value,
            cash: r.money("cash")?,
            frozen_cash: r.money("frozen_cash")?,
            market_value: r.money("market_value")?,
            peak_value: peak,
            drawdown: if peak.0 > 0 { 1.0 - total_value.as_f64() / peak.as_f64() } else { 0.0 },
        })
    })?;

    let executions = Table::read(dir.join("fills.csv"))?.parse(|r| {
        Ok(ExecutionLog {
            date: r.date("date")?,
            order_id: OrderId(r.int("order_id")? as u64),
            symbol: r.text("symbol")?.to_string(),
            side: r.side()?,
            price: r.price("price")?,
            quantity: r.int("quantity")?,
            commission: r.money("commission")?,
            taxes: r.money("taxes")?,
            reference_price: r.price("reference_price")?,
            slippage: r.money("slippage")?,
        })
    })?;
    let mut notional: BTreeMap<OrderId, Money> = BTreeMap::new();
    for f in &executions {
        *notional.entry(f.order_id).or_default() += f.price.notional(f.quantity);
    }

    let orders = Table::read(dir.join("orders.csv"))?.parse(|r| {
        let id = OrderId(r.int("order_id")? as u64);
        let order_type = match r.text("type")? {
            "MARKET" => OrderType::Market,
            "LIMIT" => OrderType::Limit(r.price("limit_price")?),
            other => return Err(r.err(format!("type {other:?} is not MARKET or LIMIT"))),
        };
        Ok(Order {
            id,
            symbol: r.text("symbol")?.to_string(),
            side: r.side()?,
            order_type,
            quantity: r.int("quantity")?,
            filled: r.int("filled")?,
            status: r.get("status", "an order status", OrderStatus::parse)?,
            created: r.date("created")?,
            updated: r.date("updated")?,
            filled_notional: notional.get(&id).copied().unwrap_or_default(),
            commission: r.money("commission")?,
            taxes: r.money("taxes")?,
            frozen_cash: Money::ZERO,
            tag: r.text("tag")?.to_string(),
        })
    })?;

    let risk_events = Table::read(dir.join("risk_events.csv"))?.parse(|r| {
        Ok(RiskEvent {
            date: r.date("date")?,
            symbol: r.text("symbol")?.to_string(),
            order_id: OrderId(r.int("order_id")? as u64),
            side: r.side()?,
            reason: r.get("reason", "a reason code", RiskReason::parse)?,
            detail: r.text("detail")?.to_string(),
        })
    })?;

    let position_snapshots = Table::read(dir.join("positions.csv"))?.parse(|r| {
        Ok(PositionSnapshot {
            date: r.date("date")?,
            symbol: r.text("symbol")?.to_string(),
            amount: r.int("amount")?,
            sellable: r.int("sellable")?,
            avg_price: r.price("avg_price")?,
            entry_price: r.price("entry_price")?,
            entry_date: r.date("entry_date")?,
            high_since_entry: r.price("high_since_entry")?,
            last_price: r.price("last_price")?,
            days_held: r.int("days_held")? as u32,
            market_value: r.money("market_value")?,
            realized_pnl: r.money("realized_pnl")?,
        })
    })?;

    let benchmark_path = dir.join("benchmark.csv");
    let benchmark = if benchmark_path.is_file() {
        let mut b = Benchmark::from_csv(&benchmark_path)?;
        if let Some(name) = json.get("benchmark").and_then(|b| b.get("name")).and_then(|n| n.as_str()) {
            b.name = name.to_string();
        }
        Some(b)
    } else {
        None
    };

    let info = RunInfo::read(dir)?;
    let mut meta = RunMeta { run_id, config: String::new(), data_source: String::new(), status: RunStatus::Finished };
    if let Some(info) = &info {
        let path = dir.join(crate::folder::RUN_JSON);
        meta.status = RunStatus::parse(&info.status).ok_or_else(|| ReportError::Parse {
            path: path.clone(),
            line: 1,
            message: format!("status {:?} is not running, finished or failed", info.status),
        })?;
        meta.data_source = info.data_source.clone();
        let config = dir.join(CONFIG_TOML);
        meta.config = fs::read_to_string(&config).map_err(|source| ReportError::Io { path: config, source })?;
    }

    // Written only when the run had corporate actions.
    let actions_path = dir.join(crate::output::CORPORATE_ACTIONS_CSV);
    let corporate_actions = if actions_path.is_file() {
        Table::read(actions_path)?.parse(|r| {
            Ok(CorporateActionLog {
                date: r.date("date")?,
                symbol: r.text("symbol")?.to_string(),
                shares_before: r.int("shares_before")?,
                bonus_shares: r.int("bonus_shares")?,
                rights_shares: r.int("rights_shares")?,
                rights_paid: r.money("rights_paid")?,
                dividend: r.money("dividend")?,
                dividend_tax: r.money("dividend_tax")?,
                reference_price: r.price("reference_price")?,
            })
        })?
    } else {
        Vec::new()
    };
    let last_day_index = account_snapshots.len().checked_sub(1).map(|i| i as u32);
    Ok(RunFolder {
        dir: dir.to_path_buf(),
        meta,
        info,
        initial_cash,
        record: RunRecord {
            account_snapshots,
            position_snapshots,
            orders,
            risk_events,
            executions,
            corporate_actions,
            last_day_index,
        },
        benchmark,
        friction,
    })
}
