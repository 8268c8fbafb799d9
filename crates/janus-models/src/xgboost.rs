//! XGBoost's JSON model format (`booster.save_model("model.json")`), evaluated natively.
//!
//! XGBoost works in single precision: a feature is rounded to `f32` and goes left when it is
//! strictly below the split condition (`x < t`), NaN takes the node's default direction, and
//! the margin is accumulated in `f32` from the base margin, tree by tree, then transformed
//! (`binary:logistic`: the logistic function in `f32`). This module does the same, so it
//! matches XGBoost's own predictions to the last bit or two of an `f32`.
//!
//! The base score is stored in probability space for logistic objectives (the margin is its
//! logit) and in log space for poisson / gamma / tweedie; both the XGBoost 1.x form (`"0.5"`)
//! and the 2.x/3.x forms (`"5E-1"`, `"[5E-1]"`) are read. Categorical splits, multi-class and
//! multi-target models, `gblinear` and `dart` boosters are refused with a clear error.

use crate::{resolve_features, ModelError, Predict, Side};
use serde_json::Value;
use std::path::Path;

const LEAF: u32 = 1 << 31;

#[derive(Clone, Copy, Debug)]
struct Node {
    threshold: f32,
    feature: u32,
    default_left: bool,
    children: [u32; 2],
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Transform {
    Identity,
    Sigmoid,
    Exp,
}

/// An XGBoost model bound to a side's feature vector.
#[derive(Clone, Debug)]
pub struct XgBoostModel {
    nodes: Vec<Node>,
    leaves: Vec<f32>,
    roots: Vec<u32>,
    base_margin: f32,
    transform: Transform,
    pub feature_names: Vec<String>,
}

fn get<'a>(v: &'a Value, path: &[&str], file: &Path) -> Result<&'a Value, ModelError> {
    let mut cur = v;
    for key in path {
        cur = cur.get(key).ok_or_else(|| {
            ModelError::format(
                file,
                format!("no `{}` in the JSON; save the model with booster.save_model(\"model.json\")", path.join(".")),
            )
        })?;
    }
    Ok(cur)
}

/// A number XGBoost may write as a JSON number, a string (`"5E-1"`) or a one-element list in
/// a string (`"[5E-1]"`).
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let s = s.trim().trim_start_matches('[').trim_end_matches(']');
            if s.contains(',') {
                None
            } else {
                s.trim().parse().ok()
            }
        }
        Value::Array(a) if a.len() == 1 => number(&a[0]),
        _ => None,
    }
}

fn array<'a>(tree: &'a Value, key: &str, file: &Path, t: usize) -> Result<&'a Vec<Value>, ModelError> {
    tree.get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| ModelError::format(file, format!("tree {t} has no `{key}` array")))
}

impl XgBoostModel {
    pub fn load(path: &Path, side: Side) -> Result<XgBoostModel, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
        XgBoostModel::parse(&text, path, side)
    }

    pub fn parse(text: &str, path: &Path, side: Side) -> Result<XgBoostModel, ModelError> {
        let doc: Value = serde_json::from_str(text).map_err(|e| ModelError::Line {
            path: path.to_path_buf(),
            line: e.line() as u64,
            message: format!("not an XGBoost JSON model: {e}"),
        })?;
        let learner = get(&doc, &["learner"], path)?;
        let unsupported = |what: String, advice: &str| ModelError::Unsupported {
            path: path.to_path_buf(),
            what,
            advice: advice.to_string(),
        };

        let names: Vec<String> = learner
            .get("feature_names")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        if names.is_empty() {
            return Err(ModelError::format(
                path,
                "the model carries no feature names; train it on a DataFrame whose columns are Janus feature names",
            ));
        }
        if let Some(types) = learner.get("feature_types").and_then(Value::as_array) {
            if let Some(t) = types.iter().filter_map(Value::as_str).find(|t| *t != "float" && *t != "int" && *t != "i")
            {
                return Err(unsupported(format!("a feature of type `{t}`"), "Janus features are numbers"));
            }
        }
        let cols = resolve_features(path, &names, side)?;

        let params = get(learner, &["learner_model_param"], path)?;
        for key in ["num_class", "num_target"] {
            if let Some(n) = params.get(key).and_then(number) {
                if n > 1.0 {
                    return Err(unsupported(
                        format!("{key} = {n}"),
                        "a sell model gives one number: train a binary model",
                    ));
                }
            }
        }
        let base_score =
            params.get("base_score").and_then(number).ok_or_else(|| {
                ModelError::format(path, "`learner_model_param.base_score` is missing or not one number")
            })? as f32;
        let objective = get(learner, &["objective", "name"], path)?.as_str().unwrap_or("");
        let (transform, base_margin) = match objective {
            "binary:logistic" | "reg:logistic" => {
                if !(base_score > 0.0 && base_score < 1.0) {
                    return Err(ModelError::format(path, format!("base_score {base_score} is not a probability")));
                }
                // XGBoost's ProbToMargin, in f32.
                (Transform::Sigmoid, -(1.0f32 / base_score - 1.0f32).ln())
            }
            "binary:logitraw"
            | "reg:squarederror"
            | "reg:linear"
            | "reg:squaredlogerror"
            | "reg:pseudohubererror"
            | "reg:absoluteerror"
            | "reg:quantileerror"
            | "rank:pairwise"
            | "rank:ndcg"
            | "rank:map" => (Transform::Identity, base_score),
            "count:poisson" | "reg:gamma" | "reg:tweedie" => (Transform::Exp, base_score.ln()),
            other => {
                return Err(unsupported(
                    format!("the objective `{other}`"),
                    "train a binary:logistic, regression or ranking model, or export it to ONNX",
                ))
            }
        };

        let booster = get(learner, &["gradient_booster"], path)?;
        let name = booster.get("name").and_then(Value::as_str).unwrap_or("");
        if name != "gbtree" {
            return Err(unsupported(format!("the `{name}` booster"), "train with booster=\"gbtree\""));
        }
        let trees = get(booster, &["model", "trees"], path)?
            .as_array()
            .ok_or_else(|| ModelError::format(path, "`trees` is not a list"))?;
        let mut m = XgBoostModel {
            nodes: Vec::new(),
            leaves: Vec::new(),
            roots: Vec::new(),
            base_margin,
            transform,
            feature_names: names,
        };
        for (t, tree) in trees.iter().enumerate() {
            m.add_tree(tree, t, path, &cols)?;
        }
        if m.roots.is_empty() {
            return Err(ModelError::format(path, "the model has no trees"));
        }
        Ok(m)
    }

    fn add_tree(&mut self, tree: &Value, t: usize, path: &Path, cols: &[usize]) -> Result<(), ModelError> {
        let bad = |message: String| ModelError::format(path, format!("tree {t}: {message}"));
        let ints = |key: &str| -> Result<Vec<i64>, ModelError> {
            array(tree, key, path, t)?
                .iter()
                .map(|v| {
                    v.as_i64().or_else(|| v.as_bool().map(i64::from)).ok_or_else(|| bad(format!("`{key}` holds {v}")))
                })
                .collect()
        };
        let left = ints("left_children")?;
        let right = ints("right_children")?;
        let index = ints("split_indices")?;
        let default_left = ints("default_left")?;
        let cond: Vec<f64> = array(tree, "split_conditions", path, t)?
            .iter()
            .map(|v| v.as_f64().ok_or_else(|| bad(format!("`split_conditions` holds {v}"))))
            .collect::<Result<_, _>>()?;
        let n = left.len();
        if [right.len(), index.len(), default_left.len(), cond.len()].iter().any(|&l| l != n) || n == 0 {
            return Err(bad("node arrays of different lengths".into()));
        }
        if let Some(types) = tree.get("split_type").and_then(Value::as_array) {
            if types.iter().any(|v| v.as_i64().unwrap_or(0) != 0) {
                return Err(ModelError::Unsupported {
                    path: path.to_path_buf(),
                    what: "categorical splits".into(),
                    advice: "train without enable_categorical, or export the model to ONNX".into(),
                });
            }
        }
        // Node j becomes either an internal node or a leaf; map each to its global reference.
        let node_base = self.nodes.len() as u32;
        let mut refs = vec![0u32; n];
        let mut n_internal = 0u32;
        for j in 0..n {
            if left[j] == -1 {
                refs[j] = self.leaves.len() as u32 | LEAF;
                self.leaves.push(cond[j] as f32);
            } else {
                refs[j] = node_base + n_internal;
                n_internal += 1;
            }
        }
        let child = |c: i64| -> Result<u32, ModelError> {
            if c <= 0 || c as usize >= n {
                return Err(bad(format!("child {c} is not a node of this tree")));
            }
            Ok(refs[c as usize])
        };
        for j in 0..n {
            if left[j] == -1 {
                continue;
            }
            let f = index[j] as usize;
            let col = *cols
                .get(f)
                .ok_or_else(|| bad(format!("split on feature {f}, but the model names only {}", cols.len())))?;
            self.nodes.push(Node {
                threshold: cond[j] as f32,
                feature: col as u32,
                default_left: default_left[j] != 0,
                children: [child(left[j])?, child(right[j])?],
            });
        }
        self.roots.push(refs[0]);
        Ok(())
    }

    /// The margin: base margin plus every tree's leaf, accumulated in `f32` like XGBoost.
    #[inline]
    pub fn margin(&self, row: &[f64]) -> f32 {
        let mut sum = self.base_margin;
        for &root in &self.roots {
            let mut c = root;
            while c & LEAF == 0 {
                let n = &self.nodes[c as usize];
                let x = row[n.feature as usize];
                let go_left = if x.is_nan() { n.default_left } else { (x as f32) < n.threshold };
                c = n.children[!go_left as usize];
            }
            sum += self.leaves[(c & !LEAF) as usize];
        }
        sum
    }

    pub fn n_trees(&self) -> usize {
        self.roots.len()
    }
}

impl Predict for XgBoostModel {
    #[inline]
    fn predict(&self, row: &[f64]) -> f64 {
        let m = self.margin(row);
        (match self.transform {
            Transform::Identity => m,
            Transform::Sigmoid => 1.0f32 / (1.0f32 + (-m).exp()),
            Transform::Exp => m.exp(),
        }) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_score_is_read_in_every_form_xgboost_writes() {
        for v in
            [serde_json::json!("0.5"), serde_json::json!("5E-1"), serde_json::json!("[5E-1]"), serde_json::json!(0.5)]
        {
            assert_eq!(number(&v), Some(0.5), "{v}");
        }
        assert_eq!(number(&serde_json::json!("[1E-1,2E-1]")), None);
    }

    #[test]
    fn a_model_without_feature_names_is_refused_with_advice() {
        let text = r#"{"learner": {"feature_names": [], "learner_model_param": {"base_score": "5E-1"},
                       "objective": {"name": "binary:logistic"}, "gradient_booster": {"name": "gbtree"}}}"#;
        let e = XgBoostModel::parse(text, Path::new("x.json"), Side::Sell).unwrap_err().to_string();
        assert!(e.contains("x.json") && e.contains("no feature names"), "{e}");
    }
}
