//! Parity with the reference libraries: every model fixture gives, on the committed inputs, the
//! predictions its own library made (`tests/fixtures/make_fixtures.py`), within 1e-6.

use janus_engine::features::{POSITION_FEATURES, SYMBOL_FEATURES};
use janus_models::{load_model, ModelKind, Side};
use std::path::{Path, PathBuf};

const TOLERANCE: f64 = 1e-6;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// Feature rows laid out as the side's feature vector, and the reference predictions by name.
struct Fixture {
    rows: Vec<Vec<f64>>,
    preds: Vec<(String, Vec<f64>)>,
}

fn read(name: &str, side: Side) -> Fixture {
    let mut rdr = csv::Reader::from_path(fixture(name)).unwrap();
    let header: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
    let features = side.features();
    let cols: Vec<usize> = features.iter().map(|f| header.iter().position(|h| h == f).expect(f)).collect();
    let pred_cols: Vec<(usize, String)> =
        header.iter().enumerate().filter_map(|(i, h)| h.strip_prefix("pred_").map(|p| (i, p.to_string()))).collect();
    let mut fx = Fixture { rows: Vec::new(), preds: pred_cols.iter().map(|(_, n)| (n.clone(), Vec::new())).collect() };
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let num = |i: usize| if rec[i].is_empty() { f64::NAN } else { rec[i].parse::<f64>().unwrap() };
        fx.rows.push(cols.iter().map(|&c| num(c)).collect());
        for (k, (i, _)) in pred_cols.iter().enumerate() {
            fx.preds[k].1.push(num(*i));
        }
    }
    assert!(fx.rows.len() > 100, "{name} has its rows");
    fx
}

impl Fixture {
    fn expected(&self, model: &str) -> &[f64] {
        &self.preds.iter().find(|(n, _)| n == model).unwrap_or_else(|| panic!("no predictions for {model}")).1
    }
}

fn check(kind: ModelKind, file: &str, inputs: &str, side: Side, column: &str, nan_as_zero: bool) {
    let fx = read(inputs, side);
    let model = load_model(kind, &fixture(file), side).unwrap_or_else(|e| panic!("{e}"));
    let expected = fx.expected(column);
    let mut worst = 0.0f64;
    for (i, row) in fx.rows.iter().enumerate() {
        let row: Vec<f64> = row.iter().map(|&x| if nan_as_zero && x.is_nan() { 0.0 } else { x }).collect();
        let got = model.predict(&row);
        let diff = (got - expected[i]).abs();
        assert!(diff <= TOLERANCE, "{file}, row {i}: Janus {got}, reference {}, diff {diff:e}", expected[i]);
        worst = worst.max(diff);
    }
    eprintln!("{file}: {} rows, largest difference {worst:e}", fx.rows.len());
}

#[test]
fn lightgbm_binary_model_matches_lightgbm() {
    check(ModelKind::LightGbm, "lgb_sell.txt", "inputs_sell.csv", Side::Sell, "lgb_sell", false);
}

#[test]
fn lightgbm_zero_as_missing_model_matches_lightgbm() {
    check(ModelKind::LightGbm, "lgb_zero_missing.txt", "inputs_sell.csv", Side::Sell, "lgb_zero_missing", false);
}

#[test]
fn lightgbm_categorical_splits_match_lightgbm() {
    check(ModelKind::LightGbm, "lgb_categorical.txt", "inputs_sell.csv", Side::Sell, "lgb_categorical", false);
}

#[test]
fn lightgbm_benchmark_model_of_100_trees_matches_lightgbm() {
    check(ModelKind::LightGbm, "lgb_bench_100x6.txt", "inputs_sell.csv", Side::Sell, "lgb_bench_100x6", false);
}

#[test]
fn lightgbm_regression_buy_model_matches_lightgbm() {
    check(ModelKind::LightGbm, "lgb_buy.txt", "inputs_buy.csv", Side::Buy, "lgb_buy", false);
}

#[test]
fn xgboost_binary_model_matches_xgboost() {
    check(ModelKind::XgBoost, "xgb_sell.json", "inputs_sell.csv", Side::Sell, "xgb_sell", false);
}

#[test]
fn xgboost_regression_buy_model_matches_xgboost() {
    check(ModelKind::XgBoost, "xgb_buy.json", "inputs_buy.csv", Side::Buy, "xgb_buy", false);
}

#[test]
fn logistic_json_matches_the_scikit_learn_pipeline() {
    check(ModelKind::Logistic, "logistic_sell.json", "inputs_sell.csv", Side::Sell, "logistic_sell", false);
}

#[test]
fn linear_json_matches_the_scikit_learn_pipeline() {
    check(ModelKind::Linear, "linear_buy.json", "inputs_buy.csv", Side::Buy, "linear_buy", false);
}

#[cfg(feature = "onnx")]
#[test]
fn onnx_model_matches_onnxruntime() {
    check(ModelKind::Onnx, "mlp_sell.onnx", "inputs_sell.csv", Side::Sell, "mlp_sell", true);
}

#[test]
fn the_fixtures_use_the_engines_feature_names() {
    let fx = read("inputs_sell.csv", Side::Sell);
    assert_eq!(fx.rows[0].len(), POSITION_FEATURES.len());
    let fx = read("inputs_buy.csv", Side::Buy);
    assert_eq!(fx.rows[0].len(), SYMBOL_FEATURES.len());
}

#[test]
fn a_sell_model_cannot_load_for_the_buy_side_when_it_reads_position_features() {
    let e = load_model(ModelKind::LightGbm, &fixture("lgb_sell.txt"), Side::Buy).err().unwrap().to_string();
    assert!(e.contains("lgb_sell.txt") && e.contains("`ret_since_entry`") && e.contains("buy model"), "{e}");
}

/// Time per prediction of the benchmark's 100-tree depth-6 sell model (run with
/// `cargo test --release -p janus-models --test parity -- --ignored --nocapture`).
#[test]
#[ignore]
fn speed_of_the_benchmark_sell_model() {
    let fx = read("inputs_sell.csv", Side::Sell);
    let model = load_model(ModelKind::LightGbm, &fixture("lgb_bench_100x6.txt"), Side::Sell).unwrap();
    let n = 1_000_000;
    let t = std::time::Instant::now();
    let mut s = 0.0;
    for i in 0..n {
        s += model.predict(&fx.rows[i % fx.rows.len()]);
    }
    let ns = t.elapsed().as_nanos() as f64 / n as f64;
    eprintln!("{ns:.0} ns per prediction of 100 trees (checksum {s:.3})");
}
