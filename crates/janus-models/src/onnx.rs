//! ONNX models through tract, a pure-Rust inference runtime: for anything the native formats
//! do not cover (neural networks, scikit-learn pipelines exported with skl2onnx, ...).
//!
//! The model takes one input tensor of shape `[1, n]` (`float` or `double`), one row of the
//! features it names. The names come from the model's metadata entry `janus_features`
//! (comma-separated; `onnx_model.metadata_props` in Python) or, failing that, from a file
//! beside the model with `.features` appended to its name (one name per line). The output is
//! the `probabilities` output when there is one (its positive-class column, as skl2onnx writes
//! classifiers with `zipmap=False`), else the first output, which must hold one number (a
//! regressor) or two (the probabilities of a binary classifier).
//!
//! Unlike the native formats, a prediction allocates (tract's tensors); a model that fails at
//! run time gives NaN, which the strategy reads as "hold".

use crate::{resolve_features, ModelError, Predict, Side};
use std::path::{Path, PathBuf};
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::prelude::*;

type Plan = TypedRunnableModel<TypedModel>;

/// An ONNX model bound to a side's feature vector.
pub struct OnnxModel {
    plan: Plan,
    cols: Vec<usize>,
    double: bool,
    /// Which element of the output is the prediction.
    pick: usize,
    pub feature_names: Vec<String>,
}

impl std::fmt::Debug for OnnxModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxModel").field("features", &self.feature_names).finish()
    }
}

fn sidecar(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".features");
    PathBuf::from(p)
}

impl OnnxModel {
    pub fn load(path: &Path, side: Side) -> Result<OnnxModel, ModelError> {
        let fail = |what: &str, e: TractError| ModelError::format(path, format!("{what}: {e:#}"));
        let onnx = tract_onnx::onnx();
        if !path.exists() {
            return Err(ModelError::io(path, std::io::Error::from(std::io::ErrorKind::NotFound)));
        }
        let proto = onnx.proto_model_for_path(path).map_err(|e| fail("not a readable ONNX model", e))?;

        let names: Vec<String> = match proto.metadata_props.iter().find(|p| p.key == "janus_features") {
            Some(p) => p.value.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
            None => {
                let side_file = sidecar(path);
                match std::fs::read_to_string(&side_file) {
                    Ok(text) => text.lines().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
                    Err(_) => {
                        return Err(ModelError::format(
                            path,
                            format!(
                                "the model does not name its features: add a metadata entry `janus_features` \
                                 (comma-separated names) or a file {} with one name per line",
                                side_file.display()
                            ),
                        ))
                    }
                }
            }
        };
        let cols = resolve_features(path, &names, side)?;

        let graph = proto.graph.as_ref().ok_or_else(|| ModelError::format(path, "the model has no graph"))?;
        let initializers: std::collections::HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
        let inputs: Vec<_> = graph.input.iter().filter(|i| !initializers.contains(i.name.as_str())).collect();
        if inputs.len() != 1 {
            return Err(ModelError::format(
                path,
                format!("the model has {} inputs; Janus feeds one [1, n] tensor", inputs.len()),
            ));
        }
        let elem = inputs[0]
            .r#type
            .as_ref()
            .and_then(|t| t.value.as_ref())
            .map(|v| match v {
                tract_onnx::pb::type_proto::Value::TensorType(t) => t.elem_type,
                #[allow(unreachable_patterns)]
                _ => 0,
            })
            .unwrap_or(0);
        let double = elem == DataType::Double as i32;
        if !double && elem != DataType::Float as i32 {
            return Err(ModelError::Unsupported {
                path: path.to_path_buf(),
                what: format!("an input of ONNX element type {elem}"),
                advice: "export the model with a float or double input tensor".into(),
            });
        }
        let output = graph
            .output
            .iter()
            .find(|o| o.name == "probabilities")
            .or_else(|| graph.output.first())
            .map(|o| o.name.clone())
            .ok_or_else(|| ModelError::format(path, "the model has no output"))?;

        let mut model = onnx.model_for_proto_model(&proto).map_err(|e| fail("cannot load the ONNX graph", e))?;
        model.set_output_names([output.as_str()]).map_err(|e| fail("cannot select the output", e))?;
        let shape = [1usize, names.len()];
        let fact = if double { f64::fact(shape) } else { f32::fact(shape) };
        let typed = model
            .with_input_fact(0, fact.into())
            .and_then(|m| m.into_optimized())
            .map_err(|e| fail("tract cannot run this model", e))?;
        let out_len: Option<usize> =
            typed.output_fact(0).ok().and_then(|f| f.shape.as_concrete().map(|s| s.iter().product()));
        let pick = match out_len {
            Some(1) => 0,
            Some(2) => 1,
            other => {
                return Err(ModelError::Unsupported {
                    path: path.to_path_buf(),
                    what: format!("an output `{output}` of {other:?} values per row"),
                    advice: "give one number (a score) or two (binary class probabilities) per row".into(),
                })
            }
        };
        let plan = typed.into_runnable().map_err(|e| fail("tract cannot plan this model", e))?;
        Ok(OnnxModel { plan, cols, double, pick, feature_names: names })
    }

    fn run(&self, row: &[f64]) -> TractResult<f64> {
        let n = self.cols.len();
        let input: Tensor = if self.double {
            tract_ndarray::Array2::from_shape_fn((1, n), |(_, j)| row[self.cols[j]]).into()
        } else {
            tract_ndarray::Array2::from_shape_fn((1, n), |(_, j)| row[self.cols[j]] as f32).into()
        };
        let out = self.plan.run(tvec!(input.into()))?;
        let t = out[0].cast_to::<f64>()?;
        let v = t.as_slice::<f64>()?;
        Ok(v.get(self.pick).copied().unwrap_or(f64::NAN))
    }
}

impl Predict for OnnxModel {
    fn predict(&self, row: &[f64]) -> f64 {
        self.run(row).unwrap_or(f64::NAN)
    }
}
