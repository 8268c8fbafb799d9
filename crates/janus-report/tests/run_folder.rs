//! A small hand-built run written to a run folder: headers, rows, quoting and determinism.

use chrono::NaiveDate;
use janus_core::{
    AccountSnapshot, ExecutionLog, Money, Order, OrderId, OrderStatus, OrderType, PositionSnapshot, Price, RiskEvent,
    RiskReason, RunMeta, RunRecord, RunStatus, Side,
};
use janus_report::{
    compute_metrics, read_run_folder, round_trips, summary_text, write_run, write_run_folder, Analysis, GaveBack,
    Metrics, ReportError, RoundTrip, RunInfo, RunOrigin,
};
use std::fs;
use std::path::Path;

const INITIAL: Money = Money(1_000_000_000); // 100_000 CNY

fn d(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 3, day).unwrap()
}

fn p(yuan: f64) -> Price {
    Price::from_yuan(yuan)
}

fn m(yuan: f64) -> Money {
    Money::from_yuan(yuan)
}

fn meta() -> RunMeta {
    RunMeta {
        run_id: "run-42".into(),
        config: "[strategy]\n".into(),
        data_source: "synthetic:seed=7".into(),
        status: RunStatus::Finished,
    }
}

fn account(day: u32, cash: f64, market_value: f64) -> AccountSnapshot {
    let total = m(cash) + m(market_value);
    AccountSnapshot {
        date: d(day),
        total_value: total,
        cash: m(cash),
        frozen_cash: Money::ZERO,
        market_value: m(market_value),
        peak_value: total,
        drawdown: 0.0,
    }
}

/// Buy 1000 600000.SH at 10.00 on the 5th, sell them at 10.50 on the 6th; one buy of
/// 000001.SZ refused at limit-up.
fn record() -> RunRecord {
    let mut buy = Order::new(OrderId(1), "600000.SH".into(), Side::Buy, OrderType::Market, 1000, d(4));
    buy.tag = "buy_rank".into();
    buy.status = OrderStatus::Accepted;
    let mut buy_filled = buy.clone();
    buy_filled.status = OrderStatus::Filled;
    buy_filled.filled = 1000;
    buy_filled.filled_notional = m(10_000.0);
    buy_filled.commission = m(5.0);
    buy_filled.taxes = m(0.10);
    buy_filled.updated = d(5);

    let mut sell = Order::new(OrderId(2), "600000.SH".into(), Side::Sell, OrderType::Limit(p(10.5)), 1000, d(5));
    sell.tag = "stop, \"hard\"".into();
    sell.status = OrderStatus::Filled;
    sell.filled = 1000;
    sell.filled_notional = m(10_500.0);
    sell.commission = m(5.0);
    sell.taxes = m(5.36);
    sell.updated = d(6);

    let mut refused = Order::new(OrderId(3), "000001.SZ".into(), Side::Buy, OrderType::Market, 500, d(5));
    refused.tag = "buy_rank".into();
    refused.status = OrderStatus::Expired;

    RunRecord {
        account_snapshots: vec![
            account(4, 100_000.0, 0.0),
            account(5, 89_994.90, 10_200.0),
            account(6, 100_484.54, 0.0),
        ],
        position_snapshots: vec![PositionSnapshot {
            date: d(5),
            symbol: "600000.SH".into(),
            amount: 1000,
            sellable: 0,
            avg_price: p(10.0051),
            entry_price: p(10.0),
            entry_date: d(5),
            high_since_entry: p(10.3),
            last_price: p(10.2),
            days_held: 0,
            market_value: m(10_200.0),
            realized_pnl: Money::ZERO,
        }],
        // Commit order: an order appears again each day it changes.
        orders: vec![buy, sell, refused, buy_filled],
        risk_events: vec![RiskEvent {
            date: d(6),
            symbol: "000001.SZ".into(),
            order_id: OrderId(3),
            side: Side::Buy,
            reason: RiskReason::MarketLimitUp,
            detail: "limit-up 11.00, \"one-price\" bar".into(),
        }],
        executions: vec![
            ExecutionLog {
                date: d(5),
                order_id: OrderId(1),
                symbol: "600000.SH".into(),
                side: Side::Buy,
                price: p(10.0),
                quantity: 1000,
                commission: m(5.0),
                taxes: m(0.10),
                reference_price: p(9.99),
                slippage: m(10.0),
            },
            ExecutionLog {
                date: d(6),
                order_id: OrderId(2),
                symbol: "600000.SH".into(),
                side: Side::Sell,
                price: p(10.5),
                quantity: 1000,
                commission: m(5.0),
                taxes: m(5.36),
                reference_price: p(10.5),
                slippage: Money::ZERO,
            },
        ],
        corporate_actions: Vec::new(),
        last_day_index: Some(2),
    }
}

fn report(rec: &RunRecord) -> (Vec<RoundTrip>, Metrics) {
    let trips = round_trips(rec);
    let metrics = compute_metrics(rec, INITIAL, &trips);
    (trips, metrics)
}

fn write(dir: &Path, rec: &RunRecord) {
    let (trips, metrics) = report(rec);
    write_run_folder(dir, &meta(), rec, &metrics, &trips).unwrap();
}

fn read(dir: &Path, name: &str) -> String {
    fs::read_to_string(dir.join(name)).unwrap()
}

#[test]
fn run_folder_files_have_the_expected_headers_and_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("runs").join("run-42");
    write(&dir, &record());

    assert_eq!(
        read(&dir, "equity.csv"),
        "date,total_value,cash,frozen_cash,market_value,daily_return,drawdown\n\
         2024-03-04,100000.0000,100000.0000,0.0000,0.0000,0.000000,0.000000\n\
         2024-03-05,100194.9000,89994.9000,0.0000,10200.0000,0.001949,0.000000\n\
         2024-03-06,100484.5400,100484.5400,0.0000,0.0000,0.002891,0.000000\n"
    );
    assert_eq!(
        read(&dir, "orders.csv"),
        "order_id,symbol,side,type,limit_price,quantity,filled,status,created,updated,avg_fill_price,commission,taxes,tag\n\
         1,600000.SH,BUY,MARKET,,1000,1000,FILLED,2024-03-04,2024-03-05,10.000000,5.0000,0.1000,buy_rank\n\
         2,600000.SH,SELL,LIMIT,10.5000,1000,1000,FILLED,2024-03-05,2024-03-06,10.500000,5.0000,5.3600,\"stop, \"\"hard\"\"\"\n\
         3,000001.SZ,BUY,MARKET,,500,0,EXPIRED,2024-03-05,2024-03-05,,0.0000,0.0000,buy_rank\n"
    );
    assert_eq!(
        read(&dir, "fills.csv"),
        "date,order_id,symbol,side,price,quantity,notional,commission,taxes,reference_price,slippage\n\
         2024-03-05,1,600000.SH,BUY,10.0000,1000,10000.0000,5.0000,0.1000,9.9900,10.0000\n\
         2024-03-06,2,600000.SH,SELL,10.5000,1000,10500.0000,5.0000,5.3600,10.5000,0.0000\n"
    );
    // Cost 10_005.10, proceeds 10_489.64, P&L 484.54 (the whole equity gain). Best close 10.20
    // on the 5th, exit at 10.50: MFE 5%, giveback 5% - 4.8429%.
    assert_eq!(
        read(&dir, "trades.csv"),
        "symbol,entry_date,exit_date,entry_price,exit_price,quantity,cost,proceeds,pnl,return,days_held,exit_reason,fees,\
         exit_kind,mfe,mae,giveback\n\
         600000.SH,2024-03-05,2024-03-06,10.000000,10.500000,1000,10005.1000,10489.6400,484.5400,0.048429,1,\"stop, \"\"hard\"\"\",15.4600,\
         sell_model,0.050000,0.000000,0.001571\n"
    );
    assert_eq!(
        read(&dir, "risk_events.csv"),
        "date,symbol,order_id,side,reason,source,detail\n\
         2024-03-06,000001.SZ,3,BUY,MARKET_LIMIT_UP,market,\"limit-up 11.00, \"\"one-price\"\" bar\"\n"
    );
    assert_eq!(
        read(&dir, "positions.csv"),
        "date,symbol,amount,sellable,avg_price,entry_price,entry_date,high_since_entry,last_price,days_held,market_value,realized_pnl\n\
         2024-03-05,600000.SH,1000,0,10.0051,10.0000,2024-03-05,10.3000,10.2000,0,10200.0000,0.0000\n"
    );
}

#[test]
fn quoted_fields_read_back_unchanged_with_a_csv_reader() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), &record());
    let mut r = csv::Reader::from_path(tmp.path().join("risk_events.csv")).unwrap();
    let row = r.records().next().unwrap().unwrap();
    assert_eq!(&row[6], "limit-up 11.00, \"one-price\" bar");
    let mut r = csv::Reader::from_path(tmp.path().join("orders.csv")).unwrap();
    let tags: Vec<String> = r.records().map(|row| row.unwrap()[13].to_string()).collect();
    assert_eq!(tags, ["buy_rank", "stop, \"hard\"", "buy_rank"]);
}

#[test]
fn metrics_json_carries_the_run_id_and_exact_money_strings() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = record();
    write(tmp.path(), &rec);
    let v: serde_json::Value = serde_json::from_str(&read(tmp.path(), "metrics.json")).unwrap();
    assert_eq!(v["run_id"], "run-42");
    assert_eq!(v["initial_cash"], "100000.0000");
    assert_eq!(v["final_value"], "100484.5400");
    assert_eq!(v["total_commission"], "10.0000");
    assert_eq!(v["total_taxes"], "5.4600");
    assert_eq!(v["total_fees"], "15.4600");
    assert_eq!(v["n_orders"], 3);
    assert_eq!(v["n_fills"], 2);
    assert_eq!(v["round_trips"], 1);
    assert_eq!(v["win_rate"], 1.0);
    assert!(v["profit_loss_ratio"].is_null(), "no losing trade");
    assert_eq!(v["risk_rejections"]["MARKET_LIMIT_UP"], 1);
    assert_eq!(v["market_refusals"], 1);
    assert_eq!(v["pre_trade_rejections"], 0);
    assert_eq!(v["max_drawdown"], 0.0);
    assert_eq!(v["start_date"], "2024-03-04");
    let (_, metrics) = report(&rec);
    let back: Metrics = serde_json::from_value(v).unwrap();
    assert_eq!(back, metrics);
}

#[test]
fn two_writes_of_the_same_record_are_byte_identical() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    write(a.path(), &record());
    write(b.path(), &record());
    let mut names: Vec<String> =
        fs::read_dir(a.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "equity.csv",
            "fills.csv",
            "metrics.json",
            "orders.csv",
            "positions.csv",
            "refused_sells.csv",
            "risk_events.csv",
            "trades.csv"
        ]
    );
    for name in &names {
        assert_eq!(fs::read(a.path().join(name)).unwrap(), fs::read(b.path().join(name)).unwrap(), "{name}");
    }
}

#[test]
fn an_empty_run_writes_header_only_files_and_json_without_nan() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), &RunRecord::default());
    let json = read(tmp.path(), "metrics.json");
    assert!(!json.contains("NaN") && !json.contains("inf"), "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(v["sharpe"].is_null() && v["total_return"].is_null() && v["turnover"].is_null());
    assert_eq!(read(tmp.path(), "trades.csv").lines().count(), 1);
    assert_eq!(
        read(tmp.path(), "equity.csv"),
        "date,total_value,cash,frozen_cash,market_value,daily_return,drawdown\n"
    );
}

#[test]
fn an_unwritable_folder_is_reported_with_its_path() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("not-a-dir");
    fs::write(&file, "x").unwrap();
    let (trips, metrics) = report(&record());
    let err = write_run_folder(&file.join("run"), &meta(), &record(), &metrics, &trips).unwrap_err();
    assert!(matches!(err, ReportError::Io { .. }));
    assert!(err.to_string().contains("not-a-dir"), "{err}");
}

#[test]
fn the_summary_of_a_run_shows_its_headline_numbers() {
    let (_, metrics) = report(&record());
    let text = summary_text(&meta(), &metrics);
    assert!(text.lines().count() <= 25);
    assert!(text.contains("2024-03-04 .. 2024-03-06 (3 trading days)"), "{text}");
    assert!(text.contains("Final value     100,484.54 (initial 100,000.00)"), "money is grouped: {text}");
    assert!(text.contains("Fees            15.46 (commission 10.00, taxes 5.46)"), "{text}");
    assert!(text.contains("+0.48%"), "{text}");
    assert!(text.contains("MARKET_LIMIT_UP"), "{text}");
}

#[test]
fn a_run_folder_reads_back_into_the_same_record_and_rewrites_byte_for_byte() {
    let a = tempfile::tempdir().unwrap();
    let original = record();
    write(a.path(), &original);
    let folder = read_run_folder(a.path()).unwrap();
    assert_eq!(folder.meta.run_id, "run-42");
    assert_eq!(folder.initial_cash, INITIAL);
    assert!(folder.benchmark.is_none());
    let back = &folder.record;
    assert_eq!(back.executions, original.executions);
    assert_eq!(back.risk_events, original.risk_events);
    assert_eq!(back.position_snapshots, original.position_snapshots);
    let dates = |r: &RunRecord| r.account_snapshots.iter().map(|s| (s.date, s.total_value, s.cash)).collect::<Vec<_>>();
    assert_eq!(dates(back), dates(&original));
    // Orders: one row per order, the last state, with the filled notional rebuilt from fills.
    assert_eq!(back.orders.len(), 3);
    let buy = back.orders.iter().find(|o| o.id == OrderId(1)).unwrap();
    assert_eq!(
        (buy.status, buy.filled, buy.filled_notional, buy.tag.as_str()),
        (OrderStatus::Filled, 1000, m(10_000.0), "buy_rank")
    );
    let sell = back.orders.iter().find(|o| o.id == OrderId(2)).unwrap();
    assert_eq!(sell.order_type, OrderType::Limit(p(10.5)));
    assert_eq!(sell.tag, "stop, \"hard\"");

    let b = tempfile::tempdir().unwrap();
    write(b.path(), back);
    for name in [
        "equity.csv",
        "fills.csv",
        "metrics.json",
        "orders.csv",
        "positions.csv",
        "refused_sells.csv",
        "risk_events.csv",
        "trades.csv",
    ] {
        assert_eq!(read(a.path(), name), read(b.path(), name), "{name}");
    }
}

#[test]
fn reading_something_that_is_not_a_run_folder_says_what_to_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let err = read_run_folder(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("not a run folder"), "{err}");
    write(tmp.path(), &record());
    fs::write(tmp.path().join("fills.csv"), "date,order_id,symbol,side,price,quantity,commission,taxes,reference_price,slippage\n2024-03-05,1,X,HOLD,1,1,0,0,1,0\n").unwrap();
    let err = read_run_folder(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("fills.csv") && err.contains("line 2") && err.contains("HOLD"), "{err}");
}

fn analysis(rec: &RunRecord) -> Analysis {
    Analysis::new(rec, INITIAL, None, GaveBack::default())
}

#[test]
fn a_whole_run_folder_records_its_config_and_origin_and_reads_them_back() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("runs").join("run-42");
    let rec = record();
    let origin = RunOrigin { config_dir: Some(tmp.path().to_path_buf()), data_file: Some(tmp.path().join("bars.csv")) };
    write_run(&dir, &meta(), &origin, &rec, &analysis(&rec)).unwrap();
    assert_eq!(read(&dir, "config.toml"), "[strategy]\n", "the exact config text");
    let info = RunInfo::read(&dir).unwrap().unwrap();
    assert_eq!((info.run_id.as_str(), info.status.as_str()), ("run-42", "finished"));
    assert_eq!(info.data_source, "synthetic:seed=7");
    assert_eq!(info.origin, origin);
    assert!(info.files.iter().any(|f| f == "report.html") && info.files.iter().any(|f| f == "run.json"));
    let folder = read_run_folder(&dir).unwrap();
    assert_eq!(folder.meta, meta(), "config, data source and status come back from the folder");

    // The data files are the same bytes write_run_folder writes alone.
    let alone = tmp.path().join("alone");
    write(&alone, &rec);
    for name in ["equity.csv", "fills.csv", "metrics.json", "orders.csv", "positions.csv", "trades.csv"] {
        assert_eq!(read(&dir, name), read(&alone, name), "{name}");
    }
}

#[test]
fn writing_a_run_folder_again_leaves_no_stale_file_and_keeps_the_users_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run-42");
    let rec = record();
    let bench = janus_report::Benchmark {
        name: "index.csv".into(),
        dates: rec.account_snapshots.iter().map(|s| s.date).collect(),
        returns: vec![0.0, 0.01, 0.01],
    };
    let with_bench = Analysis::new(&rec, INITIAL, Some(&bench), GaveBack::default());
    write_run(&dir, &meta(), &RunOrigin::default(), &rec, &with_bench).unwrap();
    assert!(dir.join("benchmark.csv").is_file());
    fs::write(dir.join("training_sell.parquet"), "from the earlier run").unwrap();
    fs::write(dir.join("my notes.md"), "keep me").unwrap();

    // The same id again, now without a benchmark and with fewer days.
    let mut shorter = rec.clone();
    shorter.account_snapshots.truncate(2);
    write_run(&dir, &meta(), &RunOrigin::default(), &shorter, &analysis(&shorter)).unwrap();
    let mut names: Vec<String> =
        fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "config.toml",
            "equity.csv",
            "fills.csv",
            "metrics.json",
            "my notes.md",
            "orders.csv",
            "positions.csv",
            "refused_sells.csv",
            "report.html",
            "risk_events.csv",
            "run.json",
            "trades.csv"
        ],
        "the old benchmark and training data are gone, the user's notes stay, no staging folder is left"
    );
    assert_eq!(read(&dir, "my notes.md"), "keep me");
    assert_eq!(read(&dir, "equity.csv").lines().count(), 3, "the new equity curve");
    assert!(read_run_folder(&dir).unwrap().benchmark.is_none());
}
