//! Linear and logistic models from a small JSON file:
//!
//! ```json
//! {
//!   "kind": "logistic",
//!   "features": ["ret_since_entry", "drawdown_from_high", "days_held"],
//!   "coefficients": [-1.5, 4.0, 0.05],
//!   "intercept": -2.0,
//!   "impute": [0.0, 0.0, 5.0]
//! }
//! ```
//!
//! The output is `intercept + sum(coefficients[i] * x[i])`, passed through the logistic
//! function for `"kind": "logistic"`. `impute` (optional, zeros by default) replaces a missing
//! (NaN) feature, the way a mean imputer in front of the model would; a scaler in front of
//! the model folds into the coefficients and the intercept (see the fixture script).

use crate::{resolve_features, ModelError, Predict, Side};
use serde::Deserialize;
use std::path::Path;

/// The output transform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    /// `kind = "linear"`: the raw linear score.
    #[serde(rename = "linear")]
    Identity,
    /// `kind = "logistic"`: `1 / (1 + exp(-score))`.
    Logistic,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    kind: Link,
    features: Vec<String>,
    coefficients: Vec<f64>,
    intercept: f64,
    #[serde(default)]
    impute: Option<Vec<f64>>,
    /// Free text (who trained it, on what), ignored.
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
}

/// A linear or logistic model bound to a side's feature vector.
#[derive(Clone, Debug)]
pub struct LinearModel {
    pub link: Link,
    /// Column of each term in the feature vector.
    cols: Vec<usize>,
    coefficients: Vec<f64>,
    impute: Vec<f64>,
    intercept: f64,
}

impl LinearModel {
    /// Read `path`; with `expect`, the file's `kind` must match it (a config saying
    /// `logistic` for a linear file is an error rather than a silent change of scale).
    pub fn load(path: &Path, side: Side, expect: Option<Link>) -> Result<LinearModel, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
        LinearModel::parse(&text, path, side, expect)
    }

    pub fn parse(text: &str, path: &Path, side: Side, expect: Option<Link>) -> Result<LinearModel, ModelError> {
        let f: File = serde_json::from_str(text).map_err(|e| ModelError::Line {
            path: path.to_path_buf(),
            line: e.line() as u64,
            message: format!("not a linear model: {e}"),
        })?;
        let n = f.features.len();
        if f.coefficients.len() != n {
            return Err(ModelError::format(
                path,
                format!("{} features but {} coefficients; give one coefficient per feature", n, f.coefficients.len()),
            ));
        }
        let impute = f.impute.unwrap_or_else(|| vec![0.0; n]);
        if impute.len() != n {
            return Err(ModelError::format(path, format!("{} features but {} impute values", n, impute.len())));
        }
        if !f.intercept.is_finite() || f.coefficients.iter().chain(&impute).any(|c| !c.is_finite()) {
            return Err(ModelError::format(path, "coefficients, intercept and impute values must be finite numbers"));
        }
        if let Some(want) = expect {
            if want != f.kind {
                let name = |l: Link| if l == Link::Logistic { "logistic" } else { "linear" };
                return Err(ModelError::format(
                    path,
                    format!("the file is a {} model but the config says kind = \"{}\"", name(f.kind), name(want)),
                ));
            }
        }
        let cols = resolve_features(path, &f.features, side)?;
        Ok(LinearModel { link: f.kind, cols, coefficients: f.coefficients, impute, intercept: f.intercept })
    }

    /// The score before the link.
    #[inline]
    pub fn margin(&self, row: &[f64]) -> f64 {
        let mut z = self.intercept;
        for ((&c, &w), &m) in self.cols.iter().zip(&self.coefficients).zip(&self.impute) {
            let x = row[c];
            z += w * if x.is_nan() { m } else { x };
        }
        z
    }
}

impl Predict for LinearModel {
    #[inline]
    fn predict(&self, row: &[f64]) -> f64 {
        let z = self.margin(row);
        match self.link {
            Link::Identity => z,
            Link::Logistic => 1.0 / (1.0 + (-z).exp()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use janus_engine::features::{pos, N_POSITION};

    #[test]
    fn a_logistic_model_reads_its_features_by_name() {
        let text = r#"{"kind": "logistic", "features": ["days_held", "ret_since_entry"],
                       "coefficients": [0.5, -2.0], "intercept": -1.0, "impute": [3.0, 0.0]}"#;
        let m = LinearModel::parse(text, Path::new("m.json"), Side::Sell, None).unwrap();
        let mut row = [0.0; N_POSITION];
        row[pos::DAYS_HELD] = 4.0;
        row[pos::RET_SINCE_ENTRY] = 0.25;
        let z: f64 = -1.0 + 0.5 * 4.0 - 2.0 * 0.25;
        assert!((m.predict(&row) - 1.0 / (1.0 + (-z).exp())).abs() < 1e-15);
        row[pos::DAYS_HELD] = f64::NAN;
        let z: f64 = -1.0 + 0.5 * 3.0 - 2.0 * 0.25;
        assert!((m.predict(&row) - 1.0 / (1.0 + (-z).exp())).abs() < 1e-15, "NaN takes the impute value");
    }

    #[test]
    fn a_kind_mismatch_and_a_length_mismatch_are_errors() {
        let text = r#"{"kind": "linear", "features": ["days_held"], "coefficients": [1.0], "intercept": 0.0}"#;
        let e = LinearModel::parse(text, Path::new("m.json"), Side::Sell, Some(Link::Logistic)).unwrap_err();
        assert!(e.to_string().contains("linear model but the config says kind = \"logistic\""), "{e}");
        let text = r#"{"kind": "linear", "features": ["days_held"], "coefficients": [1.0, 2.0], "intercept": 0.0}"#;
        let e = LinearModel::parse(text, Path::new("m.json"), Side::Sell, None).unwrap_err();
        assert!(e.to_string().contains("1 features but 2 coefficients"), "{e}");
    }
}
