//! Janus models: the buy and sell models that users train elsewhere, run natively in Rust, and
//! the training data that closes the loop.
//!
//! Every model reads the engine's named features ([`janus_engine::features`]): a sell model the
//! [`POSITION_FEATURES`] of each held position, a buy model the [`SYMBOL_FEATURES`] of each
//! symbol. A model file names the features it was trained on; they are resolved once, at load
//! time, into column indices, so an unknown name is an error that names the file and the
//! feature, and the per-position evaluation is a walk over flat arrays that never allocates.
//!
//! Formats ([`ModelKind`]):
//! - [`linear`]: linear and logistic models from a small JSON file;
//! - [`lightgbm`]: LightGBM's text model format (`booster.save_model("m.txt")`);
//! - [`xgboost`]: XGBoost's JSON model format (`booster.save_model("m.json")`);
//! - [`onnx`]: anything else, through tract, a pure-Rust ONNX runtime (feature `onnx`);
//! - [`score_file`]: a buy model from precomputed `date,symbol,score` rows (CSV or Parquet),
//!   e.g. qlib predictions.
//!
//! [`build_strategy`] turns a [`StrategyConfig`] into the engine's [`DualModelStrategy`];
//! [`training`] records what a run saw of its positions and joins the labels a researcher
//! needs to train the next sell model; [`table`] writes those datasets as Parquet or CSV.
#![forbid(unsafe_code)]

pub mod fit;
pub mod lightgbm;
pub mod linear;
#[cfg(feature = "onnx")]
pub mod onnx;
pub mod score_file;
pub mod table;
pub mod training;
pub mod xgboost;

use janus_core::SymbolId;
use janus_data::{History, Panel};
use janus_engine::config::{BuyModelConfig, ConfigError, StrategyConfig};
use janus_engine::features::{symbol_features, POSITION_FEATURES, SYMBOL_FEATURES};
use janus_engine::strategy::{MomentumBuyModel, RuleSellModel, SellSignal};
use janus_engine::{BuyModel, DualModelStrategy, SellModel};
use std::path::{Path, PathBuf};

/// Why a model, a score file or a dataset could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
    #[error("{path}, line {line}: {message}")]
    Line { path: PathBuf, line: u64, message: String },
    #[error(
        "model {path} asks for feature `{feature}`, which Janus does not compute for a {side} model; \
         available: {available}. Train the model on columns named like these (see the README's feature table)"
    )]
    UnknownFeature { path: PathBuf, feature: String, side: &'static str, available: String },
    #[error("model {path} uses {what}, which Janus does not support; {advice}")]
    Unsupported { path: PathBuf, what: String, advice: String },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot write {path}: {message}")]
    Write { path: PathBuf, message: String },
}

impl ModelError {
    pub(crate) fn format(path: &Path, message: impl Into<String>) -> ModelError {
        ModelError::Format { path: path.to_path_buf(), message: message.into() }
    }
    pub(crate) fn io(path: &Path, source: std::io::Error) -> ModelError {
        ModelError::Io { path: path.to_path_buf(), source }
    }
}

/// Which features a model is evaluated on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// [`POSITION_FEATURES`] of a held position.
    Sell,
    /// [`SYMBOL_FEATURES`] of a symbol.
    Buy,
}

impl Side {
    pub fn features(self) -> &'static [&'static str] {
        match self {
            Side::Sell => &POSITION_FEATURES,
            Side::Buy => &SYMBOL_FEATURES,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Side::Sell => "sell",
            Side::Buy => "buy",
        }
    }
}

/// Column index of each of a model's features in the side's feature vector.
pub fn resolve_features(path: &Path, names: &[String], side: Side) -> Result<Vec<usize>, ModelError> {
    janus_engine::features::resolve(names, side.features()).map_err(|feature| ModelError::UnknownFeature {
        path: path.to_path_buf(),
        feature,
        side: side.name(),
        available: side.features().join(", "),
    })
}

/// A loaded model bound to one side's feature vector: one number per row of features.
pub trait Predict {
    /// `row` is the full feature vector of the side ([`POSITION_FEATURES`] or
    /// [`SYMBOL_FEATURES`], in order). Classifiers give the probability of the positive class
    /// (sell, or a good buy), regressors and rankers their raw output.
    fn predict(&self, row: &[f64]) -> f64;
}

/// The model formats Janus reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    Linear,
    Logistic,
    LightGbm,
    XgBoost,
    Onnx,
}

impl ModelKind {
    pub fn parse(kind: &str) -> Option<ModelKind> {
        Some(match kind {
            "linear" => ModelKind::Linear,
            "logistic" => ModelKind::Logistic,
            "lightgbm" => ModelKind::LightGbm,
            "xgboost" => ModelKind::XgBoost,
            "onnx" => ModelKind::Onnx,
            _ => return None,
        })
    }
}

/// Load a model file of `kind` for `side`.
pub fn load_model(kind: ModelKind, path: &Path, side: Side) -> Result<Box<dyn Predict>, ModelError> {
    Ok(match kind {
        ModelKind::Linear | ModelKind::Logistic => {
            let want = if kind == ModelKind::Logistic { linear::Link::Logistic } else { linear::Link::Identity };
            Box::new(linear::LinearModel::load(path, side, Some(want))?)
        }
        ModelKind::LightGbm => Box::new(lightgbm::LightGbmModel::load(path, side)?),
        ModelKind::XgBoost => Box::new(xgboost::XgBoostModel::load(path, side)?),
        ModelKind::Onnx => load_onnx(path, side)?,
    })
}

#[cfg(feature = "onnx")]
fn load_onnx(path: &Path, side: Side) -> Result<Box<dyn Predict>, ModelError> {
    Ok(Box::new(onnx::OnnxModel::load(path, side)?))
}

#[cfg(not(feature = "onnx"))]
fn load_onnx(path: &Path, _side: Side) -> Result<Box<dyn Predict>, ModelError> {
    Err(ModelError::Unsupported {
        path: path.to_path_buf(),
        what: "the ONNX format".into(),
        advice: "this janus was built without ONNX support; rebuild it with `cargo build --release --features onnx` \
                 (or run `cargo run --features onnx -- ...`), or export the model to LightGBM, XGBoost or linear JSON"
            .into(),
    })
}

/// A model as the sell side of the dual-model strategy: its output is the sell probability,
/// compared with `strategy.sell_threshold`; sells it causes carry the tag `sell_model`.
pub struct ModelSellModel<P: ?Sized> {
    pub model: Box<P>,
}

impl<P: Predict + ?Sized> SellModel for ModelSellModel<P> {
    #[inline]
    fn evaluate(&self, features: &[f64]) -> SellSignal {
        let p = self.model.predict(features);
        SellSignal { probability: p, reason: if p.is_nan() { "hold" } else { "sell_model" } }
    }
}

/// Which symbols a buy model may pick: present, not suspended, a member of the universe file
/// that day (when there is one), on an allowed board, and not ST when `skip_st` (the same
/// universe as the built-in momentum model).
#[derive(Clone, Debug)]
pub struct Universe {
    pub skip_st: bool,
    pub allowed: Vec<bool>,
}

impl Universe {
    pub fn new(cfg: &BuyModelConfig, panel: &Panel) -> Universe {
        let allowed = panel.boards.iter().map(|b| cfg.boards.iter().any(|n| n == b.name())).collect();
        Universe { skip_st: cfg.skip_st, allowed }
    }
    /// Everyone may be picked (tests, tools).
    pub fn all(panel: &Panel) -> Universe {
        Universe { skip_st: false, allowed: vec![true; panel.n_symbols()] }
    }
    #[inline]
    pub fn admits(&self, h: &History<'_>, sid: SymbolId) -> bool {
        use janus_data::panel::flag;
        let f = h.flags(0, sid);
        f & flag::PRESENT != 0
            && f & flag::PAUSED == 0
            && !(self.skip_st && f & flag::ST != 0)
            && f & flag::OUT_OF_UNIVERSE == 0
            && self.allowed[sid as usize]
    }
}

/// A model as the buy side: each admitted symbol's score is the model's output on its
/// [`SYMBOL_FEATURES`]; higher is better.
pub struct ModelBuyModel {
    pub model: Box<dyn Predict>,
    pub universe: Universe,
}

impl BuyModel for ModelBuyModel {
    fn score(&mut self, h: &History<'_>, out: &mut Vec<(SymbolId, f64)>) {
        for sid in 0..h.n_symbols() as SymbolId {
            if self.universe.admits(h, sid) {
                let s = self.model.predict(&symbol_features(h, sid));
                if s.is_finite() {
                    out.push((sid, s));
                }
            }
        }
    }
}

fn model_path(base: &Path, key: &str, path: Option<&String>) -> Result<PathBuf, ModelError> {
    match path {
        Some(p) if !p.is_empty() => Ok(base.join(p)),
        _ => Err(ConfigError { key: key.into(), message: "is required for this kind".into() }.into()),
    }
}

/// The sell model a config asks for; model paths are relative to `base` (the config's folder).
pub fn build_sell_model(cfg: &StrategyConfig, base: &Path) -> Result<Box<dyn SellModel>, ModelError> {
    if cfg.sell.kind == "rules" {
        return Ok(Box::new(RuleSellModel { cfg: cfg.sell.clone() }));
    }
    let kind = ModelKind::parse(&cfg.sell.kind).ok_or_else(|| ConfigError {
        key: "strategy.sell.kind".into(),
        message: format!("unknown kind {:?}", cfg.sell.kind),
    })?;
    let path = model_path(base, "strategy.sell.path", cfg.sell.path.as_ref())?;
    Ok(Box::new(ModelSellModel { model: load_model(kind, &path, Side::Sell)? }))
}

/// The buy model a config asks for; file paths are relative to `base`.
pub fn build_buy_model(cfg: &StrategyConfig, panel: &Panel, base: &Path) -> Result<Box<dyn BuyModel>, ModelError> {
    let b = &cfg.buy;
    match b.kind.as_str() {
        "momentum" | "reversal" => Ok(Box::new(MomentumBuyModel::new(b, panel))),
        "score_file" => {
            let path = model_path(base, "strategy.buy.path", b.path.as_ref())?;
            let scores = score_file::ScoreTable::load(&path, panel)?;
            Ok(Box::new(score_file::ScoreFileBuyModel::new(scores, b.fill_missing_days, Universe::new(b, panel))))
        }
        other => {
            let kind = ModelKind::parse(other).ok_or_else(|| ConfigError {
                key: "strategy.buy.kind".into(),
                message: format!("unknown kind {other:?}"),
            })?;
            let path = model_path(base, "strategy.buy.path", b.path.as_ref())?;
            Ok(Box::new(ModelBuyModel {
                model: load_model(kind, &path, Side::Buy)?,
                universe: Universe::new(b, panel),
            }))
        }
    }
}

/// The dual-model strategy a config describes, with its model files loaded. `base` is the
/// folder relative paths are taken from (the config file's folder). With the default config
/// this is exactly [`janus_engine::engine::default_strategy`].
pub fn build_strategy(cfg: &StrategyConfig, panel: &Panel, base: &Path) -> Result<DualModelStrategy, ModelError> {
    cfg.validate()?;
    Ok(DualModelStrategy::new(build_buy_model(cfg, panel, base)?, build_sell_model(cfg, base)?, cfg.sell_threshold))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_feature_names_the_file_the_feature_and_what_exists() {
        let e = resolve_features(Path::new("m.txt"), &["days_held".into(), "moon_phase".into()], Side::Sell)
            .unwrap_err()
            .to_string();
        assert!(e.contains("m.txt") && e.contains("`moon_phase`") && e.contains("ret_since_entry"), "{e}");
        // Position features are not symbol features.
        let e = resolve_features(Path::new("b.json"), &["days_held".into()], Side::Buy).unwrap_err().to_string();
        assert!(e.contains("buy model") && e.contains("ret_20d"), "{e}");
    }

    #[test]
    fn the_default_config_builds_the_built_in_strategy() {
        let panel = janus_data::generate(
            &janus_data::GenConfig { n_symbols: 5, n_days: 30, ..Default::default() },
            &Default::default(),
        );
        assert!(build_strategy(&StrategyConfig::default(), &panel, Path::new(".")).is_ok());
        let mut cfg = StrategyConfig::default();
        cfg.sell.kind = "xgboost".into();
        cfg.sell.path = Some("missing.json".into());
        let e = build_strategy(&cfg, &panel, Path::new("/nonexistent")).err().unwrap().to_string();
        assert!(e.contains("missing.json"), "{e}");
    }
}
