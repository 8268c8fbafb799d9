//! LightGBM's text model format (`booster.save_model("model.txt")`), evaluated natively.
//!
//! Supported: binary (`sigmoid:k`), cross-entropy, the regression objectives, ranking
//! objectives (raw score) and poisson / gamma / tweedie (exp), numerical splits with every
//! missing-value mode (`None`: NaN is read as 0; `Zero`: 0 and NaN take the default
//! direction; `NaN`: NaN takes the default direction), categorical splits (bitsets; NaN and
//! negative values go right), and random-forest mode (`average_output`). Multiclass models,
//! linear trees and `regression sqrt` are refused with a clear error.
//!
//! All trees live in one flat node array with leaf references tagged in the high bit, and
//! feature indices are rewritten at load time into columns of the engine's feature vector, so
//! a prediction is a loop over plain arrays with no allocation.

use crate::{resolve_features, ModelError, Predict, Side};
use std::path::Path;

/// A child reference with this bit set is a leaf index.
const LEAF: u32 = 1 << 31;
/// `decision_type` bits, as LightGBM writes them.
const CATEGORICAL: u8 = 1;
const DEFAULT_LEFT: u8 = 2;
const MISSING_SHIFT: u8 = 2;
const MISSING_ZERO: u8 = 1;
const MISSING_NAN: u8 = 2;
/// LightGBM's `kZeroThreshold` (a float).
const ZERO_THRESHOLD: f64 = 1e-35_f32 as f64;

#[derive(Clone, Copy, Debug)]
struct Node {
    threshold: f64,
    /// Column in the side's feature vector.
    feature: u32,
    decision_type: u8,
    /// Left, right: node indices, or leaf indices tagged with [`LEAF`].
    children: [u32; 2],
}

impl Node {
    /// Numerical split on a non-NaN value without the zero-as-missing mode: the common case.
    #[inline]
    fn is_plain(&self) -> bool {
        self.decision_type & (CATEGORICAL | (MISSING_ZERO << MISSING_SHIFT)) == 0
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Transform {
    Identity,
    Sigmoid(f64),
    Exp,
}

/// A LightGBM model bound to a side's feature vector.
#[derive(Clone, Debug)]
pub struct LightGbmModel {
    nodes: Vec<Node>,
    leaves: Vec<f64>,
    /// Root of each tree: a node index, or a tagged leaf for a one-leaf tree.
    roots: Vec<u32>,
    /// Categorical nodes: global node index -> range of `cat_words`.
    cat_ranges: Vec<(u32, u32)>,
    cat_words: Vec<u32>,
    transform: Transform,
    /// Random-forest mode: the mean of the trees instead of the sum.
    average: bool,
    /// The model's feature names, in its own order.
    pub feature_names: Vec<String>,
}

fn parse_list<T: std::str::FromStr>(path: &Path, line: u64, key: &str, value: &str) -> Result<Vec<T>, ModelError> {
    value
        .split_whitespace()
        .map(|v| {
            v.parse::<T>().map_err(|_| ModelError::Line {
                path: path.to_path_buf(),
                line,
                message: format!("`{key}` holds {v:?}, which is not a valid number"),
            })
        })
        .collect()
}

/// The key-value lines of one `Tree=` block.
#[derive(Default)]
struct TreeBlock {
    line: u64,
    kv: Vec<(String, String, u64)>,
}

impl TreeBlock {
    fn get(&self, key: &str) -> Option<(&str, u64)> {
        self.kv.iter().find(|(k, _, _)| k == key).map(|(_, v, l)| (v.as_str(), *l))
    }
    fn list<T: std::str::FromStr>(&self, path: &Path, key: &str) -> Result<Vec<T>, ModelError> {
        match self.get(key) {
            Some((v, l)) => parse_list(path, l, key, v),
            None => Err(ModelError::Line {
                path: path.to_path_buf(),
                line: self.line,
                message: format!("tree has no `{key}` line; is this a complete LightGBM model file?"),
            }),
        }
    }
}

fn parse_objective(path: &Path, line: u64, value: &str) -> Result<Transform, ModelError> {
    let mut parts = value.split_whitespace();
    let name = parts.next().unwrap_or("");
    let params: Vec<&str> = parts.collect();
    let unsupported = |what: String| ModelError::Unsupported {
        path: path.to_path_buf(),
        what,
        advice: "train a binary, regression or ranking model, or export it to ONNX".into(),
    };
    Ok(match name {
        "binary" => {
            let mut k = 1.0;
            for p in &params {
                if let Some(v) = p.strip_prefix("sigmoid:") {
                    k = v.parse().map_err(|_| ModelError::Line {
                        path: path.to_path_buf(),
                        line,
                        message: format!("objective parameter {p:?} is not a number"),
                    })?;
                }
            }
            Transform::Sigmoid(k)
        }
        "cross_entropy" | "xentropy" => Transform::Sigmoid(1.0),
        "regression" | "regression_l2" | "regression_l1" | "huber" | "fair" | "quantile" | "mape" | "lambdarank"
        | "rank_xendcg" | "custom" | "none" => {
            if params.contains(&"sqrt") {
                return Err(unsupported("the objective `regression sqrt`".into()));
            }
            Transform::Identity
        }
        "poisson" | "gamma" | "tweedie" => Transform::Exp,
        other => return Err(unsupported(format!("the objective `{other}`"))),
    })
}

impl LightGbmModel {
    pub fn load(path: &Path, side: Side) -> Result<LightGbmModel, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
        LightGbmModel::parse(&text, path, side)
    }

    pub fn parse(text: &str, path: &Path, side: Side) -> Result<LightGbmModel, ModelError> {
        let mut header: Vec<(String, String, u64)> = Vec::new();
        let mut trees: Vec<TreeBlock> = Vec::new();
        let mut average = false;
        let mut first = true;
        for (i, raw) in text.lines().enumerate() {
            let line_no = i as u64 + 1;
            let line = raw.trim();
            if first {
                if line != "tree" {
                    return Err(ModelError::Line {
                        path: path.to_path_buf(),
                        line: 1,
                        message: "not a LightGBM text model (it should start with `tree`); \
                                  save it with booster.save_model(\"model.txt\")"
                            .into(),
                    });
                }
                first = false;
                continue;
            }
            if line == "end of trees" {
                break;
            }
            if line.is_empty() {
                continue;
            }
            if line == "average_output" {
                average = true;
                continue;
            }
            let Some((k, v)) = line.split_once('=') else { continue };
            if k == "Tree" {
                trees.push(TreeBlock { line: line_no, kv: Vec::new() });
                continue;
            }
            match trees.last_mut() {
                Some(t) => t.kv.push((k.to_string(), v.to_string(), line_no)),
                None => header.push((k.to_string(), v.to_string(), line_no)),
            }
        }
        let head = |key: &str| header.iter().find(|(k, _, _)| k == key).map(|(_, v, l)| (v.as_str(), *l));
        if let Some((v, _)) = head("num_class") {
            if v.trim() != "1" {
                return Err(ModelError::Unsupported {
                    path: path.to_path_buf(),
                    what: format!("{v} classes"),
                    advice: "a sell model gives one probability: train a binary model".into(),
                });
            }
        }
        let transform = match head("objective") {
            Some((v, l)) => parse_objective(path, l, v)?,
            None => Transform::Identity,
        };
        let feature_names: Vec<String> = match head("feature_names") {
            Some((v, _)) => v.split_whitespace().map(str::to_string).collect(),
            None => return Err(ModelError::format(path, "the model has no `feature_names` line")),
        };
        let cols = resolve_features(path, &feature_names, side)?;
        if trees.is_empty() {
            return Err(ModelError::format(path, "the model has no trees"));
        }

        let mut m = LightGbmModel {
            nodes: Vec::new(),
            leaves: Vec::new(),
            roots: Vec::new(),
            cat_ranges: Vec::new(),
            cat_words: Vec::new(),
            transform,
            average,
            feature_names,
        };
        for t in &trees {
            m.add_tree(t, path, &cols)?;
        }
        Ok(m)
    }

    fn add_tree(&mut self, t: &TreeBlock, path: &Path, cols: &[usize]) -> Result<(), ModelError> {
        let bad = |message: String| ModelError::Line { path: path.to_path_buf(), line: t.line, message };
        if let Some((v, _)) = t.get("is_linear") {
            if v.trim() != "0" {
                return Err(ModelError::Unsupported {
                    path: path.to_path_buf(),
                    what: "linear trees (linear_tree=true)".into(),
                    advice: "train with linear_tree=false, or export the model to ONNX".into(),
                });
            }
        }
        let num_leaves: usize = t.list::<usize>(path, "num_leaves")?.first().copied().unwrap_or(0);
        let leaf_value: Vec<f64> = t.list(path, "leaf_value")?;
        if num_leaves == 0 || leaf_value.len() != num_leaves {
            return Err(bad(format!("num_leaves={num_leaves} but {} leaf values", leaf_value.len())));
        }
        let leaf_base = self.leaves.len() as u32;
        self.leaves.extend_from_slice(&leaf_value);
        if num_leaves == 1 {
            self.roots.push(leaf_base | LEAF);
            return Ok(());
        }
        let n = num_leaves - 1;
        let split_feature: Vec<usize> = t.list(path, "split_feature")?;
        let threshold: Vec<f64> = t.list(path, "threshold")?;
        let decision_type: Vec<u8> = t.list(path, "decision_type")?;
        let left: Vec<i64> = t.list(path, "left_child")?;
        let right: Vec<i64> = t.list(path, "right_child")?;
        for (key, len) in [
            ("split_feature", split_feature.len()),
            ("threshold", threshold.len()),
            ("decision_type", decision_type.len()),
            ("left_child", left.len()),
            ("right_child", right.len()),
        ] {
            if len != n {
                return Err(bad(format!("`{key}` has {len} values, expected {n} (num_leaves - 1)")));
            }
        }
        let num_cat: usize = t.get("num_cat").map(|(v, _)| v.trim().parse().unwrap_or(0)).unwrap_or(0);
        let (cat_boundaries, cat_threshold): (Vec<usize>, Vec<u32>) = if num_cat > 0 {
            (t.list(path, "cat_boundaries")?, t.list(path, "cat_threshold")?)
        } else {
            (Vec::new(), Vec::new())
        };
        let node_base = self.nodes.len() as u32;
        let child = |c: i64| -> Result<u32, ModelError> {
            if c >= 0 {
                if c as usize >= n {
                    return Err(bad(format!("child {c} is not a node of this tree")));
                }
                Ok(node_base + c as u32)
            } else {
                let leaf = (!c) as usize;
                if leaf >= num_leaves {
                    return Err(bad(format!("child {c} is not a leaf of this tree")));
                }
                Ok((leaf_base + leaf as u32) | LEAF)
            }
        };
        for j in 0..n {
            let f = split_feature[j];
            let col = *cols
                .get(f)
                .ok_or_else(|| bad(format!("split on feature {f}, but the model names only {}", cols.len())))?;
            let dt = decision_type[j];
            let mut range = (0, 0);
            if dt & CATEGORICAL != 0 {
                let c = threshold[j] as usize;
                if c + 1 >= cat_boundaries.len() || cat_boundaries[c + 1] > cat_threshold.len() {
                    return Err(bad(format!("categorical split {c} has no bitset")));
                }
                let start = self.cat_words.len() as u32;
                self.cat_words.extend_from_slice(&cat_threshold[cat_boundaries[c]..cat_boundaries[c + 1]]);
                range = (start, self.cat_words.len() as u32);
            }
            self.nodes.push(Node {
                threshold: threshold[j],
                feature: col as u32,
                decision_type: dt,
                children: [child(left[j])?, child(right[j])?],
            });
            self.cat_ranges.push(range);
        }
        self.roots.push(node_base);
        Ok(())
    }

    /// LightGBM's `NumericalDecision` and `CategoricalDecision`.
    #[cold]
    fn slow_next(&self, idx: u32, x: f64) -> u32 {
        let n = &self.nodes[idx as usize];
        let [left, right] = n.children;
        if n.decision_type & CATEGORICAL != 0 {
            if x.is_nan() {
                return right;
            }
            // C++ `static_cast<int>`: truncation toward zero, so -0.5 reads as category 0.
            let v = x as i64;
            if v < 0 {
                return right;
            }
            let (start, end) = self.cat_ranges[idx as usize];
            let word = (v / 32) as usize;
            let words = &self.cat_words[start as usize..end as usize];
            return if word < words.len() && (words[word] >> (v % 32)) & 1 != 0 { left } else { right };
        }
        let missing = (n.decision_type >> MISSING_SHIFT) & 3;
        let mut x = x;
        if x.is_nan() && missing != MISSING_NAN {
            x = 0.0;
        }
        let is_missing = (missing == MISSING_ZERO && (-ZERO_THRESHOLD..=ZERO_THRESHOLD).contains(&x))
            || (missing == MISSING_NAN && x.is_nan());
        if is_missing {
            if n.decision_type & DEFAULT_LEFT != 0 {
                left
            } else {
                right
            }
        } else if x <= n.threshold {
            left
        } else {
            right
        }
    }

    /// One step down a tree from node `c`.
    #[inline(always)]
    fn step(&self, c: u32, row: &[f64]) -> u32 {
        let n = &self.nodes[c as usize];
        let x = row[n.feature as usize];
        if n.is_plain() && !x.is_nan() {
            n.children[(x > n.threshold) as usize]
        } else {
            self.slow_next(c, x)
        }
    }

    /// Sum of the trees' outputs, before the objective's transform. Four trees are walked in
    /// lockstep: their node loads are independent, so the processor overlaps them instead of
    /// waiting on one chain of dependent loads. The leaves are still added in tree order.
    #[inline]
    pub fn raw_score(&self, row: &[f64]) -> f64 {
        let mut sum = 0.0;
        let mut chunks = self.roots.chunks_exact(4);
        for roots in &mut chunks {
            let mut c = [roots[0], roots[1], roots[2], roots[3]];
            while (c[0] & c[1] & c[2] & c[3]) & LEAF == 0 {
                for k in &mut c {
                    if *k & LEAF == 0 {
                        *k = self.step(*k, row);
                    }
                }
            }
            for k in c {
                sum += self.leaves[(k & !LEAF) as usize];
            }
        }
        for &root in chunks.remainder() {
            let mut c = root;
            while c & LEAF == 0 {
                c = self.step(c, row);
            }
            sum += self.leaves[(c & !LEAF) as usize];
        }
        if self.average {
            sum / self.roots.len() as f64
        } else {
            sum
        }
    }

    pub fn n_trees(&self) -> usize {
        self.roots.len()
    }
}

impl Predict for LightGbmModel {
    #[inline]
    fn predict(&self, row: &[f64]) -> f64 {
        let s = self.raw_score(row);
        match self.transform {
            Transform::Identity => s,
            Transform::Sigmoid(k) => 1.0 / (1.0 + (-k * s).exp()),
            Transform::Exp => s.exp(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use janus_engine::features::{pos, N_POSITION};

    /// A hand-written model: one stump on days_held (NaN goes left), one on
    /// drawdown_from_high with zero-as-missing going right.
    const MODEL: &str = "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\n\
        max_feature_idx=1\nobjective=binary sigmoid:1\nfeature_names=days_held drawdown_from_high\n\
        feature_infos=[0:30] [0:1]\ntree_sizes=1 1\n\n\
        Tree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\nsplit_gain=1\nthreshold=10.5\ndecision_type=10\n\
        left_child=-1\nright_child=-2\nleaf_value=-1 1\nleaf_weight=1 1\nleaf_count=1 1\n\
        internal_value=0\ninternal_weight=0\ninternal_count=2\nis_linear=0\nshrinkage=1\n\n\
        Tree=1\nnum_leaves=2\nnum_cat=0\nsplit_feature=1\nsplit_gain=1\nthreshold=0.05\ndecision_type=4\n\
        left_child=-1\nright_child=-2\nleaf_value=-0.5 0.5\nleaf_weight=1 1\nleaf_count=1 1\n\
        internal_value=0\ninternal_weight=0\ninternal_count=2\nis_linear=0\nshrinkage=1\n\n\
        end of trees\n";

    fn row(days: f64, drawdown: f64) -> [f64; N_POSITION] {
        let mut r = [0.0; N_POSITION];
        r[pos::DAYS_HELD] = days;
        r[pos::DRAWDOWN_FROM_HIGH] = drawdown;
        r
    }

    #[test]
    fn splits_follow_lightgbm_missing_value_rules() {
        let m = LightGbmModel::parse(MODEL, Path::new("m.txt"), Side::Sell).unwrap();
        assert_eq!(m.raw_score(&row(3.0, 0.01)), -1.5);
        assert_eq!(m.raw_score(&row(12.0, 0.10)), 1.5);
        // decision_type 10 = NaN missing, default left.
        assert_eq!(m.raw_score(&row(f64::NAN, 0.10)), -0.5);
        // decision_type 4 = zero missing, default right: 0 and NaN go right.
        assert_eq!(m.raw_score(&row(3.0, 0.0)), -0.5);
        assert_eq!(m.raw_score(&row(3.0, f64::NAN)), -0.5);
        assert!((m.predict(&row(12.0, 0.10)) - 1.0 / (1.0 + (-1.5f64).exp())).abs() < 1e-15);
    }

    #[test]
    fn an_unknown_feature_or_objective_is_refused_at_load() {
        let e = LightGbmModel::parse(
            &MODEL.replace("days_held drawdown", "Column_0 drawdown"),
            Path::new("m.txt"),
            Side::Sell,
        )
        .unwrap_err();
        assert!(e.to_string().contains("`Column_0`"), "{e}");
        let e = LightGbmModel::parse(
            &MODEL.replace("binary sigmoid:1", "multiclass num_class:3"),
            Path::new("m.txt"),
            Side::Sell,
        )
        .unwrap_err();
        assert!(e.to_string().contains("multiclass"), "{e}");
        let e = LightGbmModel::parse("{\"learner\": 1}", Path::new("x.json"), Side::Sell).unwrap_err();
        assert!(e.to_string().contains("not a LightGBM text model"), "{e}");
    }
}
