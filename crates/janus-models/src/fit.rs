//! Fitting a logistic model natively (for walk-forward sweeps: train the sell model on one
//! window, test it on the next), written as the JSON file [`crate::linear`] reads.
//!
//! L2-regularised logistic regression by Newton's method on standardised features: a missing
//! (NaN) feature takes its column's mean (the file's `impute`), a constant column gets a zero
//! coefficient, and the scaling is folded back into the coefficients and intercept. The
//! penalty `l2` applies to the standardised coefficients (not the intercept), so it keeps the
//! fit finite on separable data. Sums run in row order, so the same rows give the same model
//! bit for bit on every machine. With a dozen features, a dense Newton step is a few
//! microseconds: no optimisation crate is needed.

/// A fitted logistic model.
#[derive(Clone, Debug, PartialEq)]
pub struct LogisticFit {
    pub features: Vec<String>,
    pub coefficients: Vec<f64>,
    pub intercept: f64,
    pub impute: Vec<f64>,
    /// Rows used (those with a label) and how many of them were positive.
    pub rows: usize,
    pub positives: usize,
    pub iterations: usize,
    /// Mean log loss on the training rows.
    pub log_loss: f64,
}

/// Fit `P(y = 1) = logistic(intercept + sum(coefficients[j] * x[j]))` to the rows whose label
/// `y` is 0 or 1 (NaN labels are left out). `columns[j]` holds feature `names[j]` per row.
// Matrix code reads best with indices.
#[allow(clippy::needless_range_loop)]
pub fn fit_logistic(names: &[&str], columns: &[&[f64]], y: &[f64], l2: f64) -> Result<LogisticFit, String> {
    if names.len() != columns.len() || columns.iter().any(|c| c.len() != y.len()) {
        return Err("every feature column needs one value per label".into());
    }
    if let Some(bad) = y.iter().find(|v| !v.is_nan() && **v != 0.0 && **v != 1.0) {
        return Err(format!("labels must be 0 or 1 (or missing), found {bad}"));
    }
    let rows: Vec<usize> = (0..y.len()).filter(|&i| !y[i].is_nan()).collect();
    let positives = rows.iter().filter(|&&i| y[i] == 1.0).count();
    if rows.is_empty() || positives == 0 || positives == rows.len() {
        return Err(format!(
            "{} labelled rows with {positives} positive: a model needs both outcomes to learn from",
            rows.len()
        ));
    }
    let p = names.len();
    let n = rows.len() as f64;
    // Column means over the present values (the imputation), and standard deviations.
    let mut mean = vec![0.0; p];
    let mut sd = vec![0.0; p];
    for j in 0..p {
        let present: Vec<f64> = rows.iter().map(|&i| columns[j][i]).filter(|v| v.is_finite()).collect();
        let m = if present.is_empty() { 0.0 } else { present.iter().sum::<f64>() / present.len() as f64 };
        let var = rows.iter().map(|&i| value(columns[j][i], m) - m).map(|d| d * d).sum::<f64>() / n;
        mean[j] = m;
        sd[j] = var.sqrt();
    }
    let used: Vec<usize> = (0..p).filter(|&j| sd[j] > 1e-12).collect();
    // The design matrix on standardised features, with the intercept column first.
    let k = used.len() + 1;
    let x: Vec<Vec<f64>> = rows
        .iter()
        .map(|&i| {
            let mut r = Vec::with_capacity(k);
            r.push(1.0);
            r.extend(used.iter().map(|&j| (value(columns[j][i], mean[j]) - mean[j]) / sd[j]));
            r
        })
        .collect();
    let labels: Vec<f64> = rows.iter().map(|&i| y[i]).collect();
    let mut beta = vec![0.0; k];
    beta[0] = (positives as f64 / (n - positives as f64)).ln();
    let mut iterations = 0;
    for it in 1..=100 {
        iterations = it;
        let mut grad = vec![0.0; k];
        let mut hess = vec![vec![0.0; k]; k];
        for (r, &t) in x.iter().zip(&labels) {
            let q = logistic(dot(r, &beta));
            let w = q * (1.0 - q);
            for a in 0..k {
                grad[a] += (q - t) * r[a];
                for b in 0..=a {
                    hess[a][b] += w * r[a] * r[b];
                }
            }
        }
        for a in 1..k {
            grad[a] += l2 * beta[a];
            hess[a][a] += l2;
        }
        for a in 0..k {
            for b in 0..a {
                hess[b][a] = hess[a][b];
            }
        }
        let step = solve(hess, grad).ok_or("the Newton system is singular; add some l2 penalty")?;
        let mut biggest: f64 = 0.0;
        for (b, s) in beta.iter_mut().zip(&step) {
            *b -= s;
            biggest = biggest.max(s.abs());
        }
        if biggest < 1e-10 {
            break;
        }
    }
    if beta.iter().any(|b| !b.is_finite()) {
        return Err("the fit diverged".into());
    }
    let log_loss = x
        .iter()
        .zip(&labels)
        .map(|(r, &t)| {
            let q = logistic(dot(r, &beta)).clamp(1e-15, 1.0 - 1e-15);
            -(t * q.ln() + (1.0 - t) * (1.0 - q).ln())
        })
        .sum::<f64>()
        / n;
    let mut coefficients = vec![0.0; p];
    let mut intercept = beta[0];
    for (slot, &j) in used.iter().enumerate() {
        coefficients[j] = beta[slot + 1] / sd[j];
        intercept -= coefficients[j] * mean[j];
    }
    Ok(LogisticFit {
        features: names.iter().map(|s| s.to_string()).collect(),
        coefficients,
        intercept,
        impute: mean,
        rows: rows.len(),
        positives,
        iterations,
        log_loss,
    })
}

fn value(v: f64, fill: f64) -> f64 {
    if v.is_finite() {
        v
    } else {
        fill
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn logistic(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Solve `a x = b` by Gaussian elimination with partial pivoting.
#[allow(clippy::needless_range_loop)]
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for c in 0..n {
        let pivot = (c..n).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[pivot][c].abs() < 1e-300 {
            return None;
        }
        a.swap(c, pivot);
        b.swap(c, pivot);
        for r in c + 1..n {
            let f = a[r][c] / a[c][c];
            for k in c..n {
                a[r][k] -= f * a[c][k];
            }
            b[r] -= f * b[c];
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        let s: f64 = (r + 1..n).map(|k| a[r][k] * x[k]).sum();
        x[r] = (b[r] - s) / a[r][r];
    }
    Some(x)
}

impl LogisticFit {
    /// The model as a `kind = "logistic"` JSON file for [`crate::linear::LinearModel`].
    pub fn to_json(&self, description: &str) -> String {
        let v = serde_json::json!({
            "kind": "logistic",
            "features": self.features,
            "coefficients": self.coefficients,
            "intercept": self.intercept,
            "impute": self.impute,
            "description": description,
        });
        serde_json::to_string_pretty(&v).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linear::{LinearModel, Link};
    use crate::Side;

    /// A small deterministic generator (no RNG crate needed for a test).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn sample(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut g = Lcg(seed);
        let (mut a, mut b, mut c, mut y) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..n {
            let (x1, x2) = (g.next() * 4.0 - 2.0, g.next() * 10.0);
            let p = logistic(-1.0 + 1.5 * x1 - 0.2 * x2);
            a.push(x1);
            b.push(x2);
            c.push(3.0); // constant: no information
            y.push(if g.next() < p { 1.0 } else { 0.0 });
        }
        (a, b, c, y)
    }

    #[test]
    fn recovers_the_coefficients_that_made_the_labels() {
        let (a, b, c, y) = sample(40_000, 7);
        let f = fit_logistic(&["x1", "x2", "flat"], &[&a, &b, &c], &y, 1e-6).unwrap();
        assert!((f.intercept + 1.0).abs() < 0.1, "{f:?}");
        assert!((f.coefficients[0] - 1.5).abs() < 0.06, "{f:?}");
        assert!((f.coefficients[1] + 0.2).abs() < 0.02, "{f:?}");
        assert_eq!(f.coefficients[2], 0.0);
        assert!(f.iterations < 20);
        // The same rows give the same model, bit for bit.
        assert_eq!(f, fit_logistic(&["x1", "x2", "flat"], &[&a, &b, &c], &y, 1e-6).unwrap());
    }

    #[test]
    fn missing_values_take_the_mean_and_missing_labels_are_left_out() {
        let (mut a, b, _, mut y) = sample(2_000, 3);
        a[0] = f64::NAN;
        y[1] = f64::NAN;
        let f = fit_logistic(&["x1", "x2"], &[&a, &b], &y, 1e-3).unwrap();
        assert_eq!(f.rows, 1_999);
        let present: Vec<f64> =
            a.iter().enumerate().filter(|(i, v)| *i != 1 && v.is_finite()).map(|(_, v)| *v).collect();
        assert!((f.impute[0] - present.iter().sum::<f64>() / present.len() as f64).abs() < 1e-12);
    }

    #[test]
    fn separable_data_stays_finite_with_a_penalty() {
        let a: Vec<f64> = (0..100).map(|i| i as f64).collect();
        let y: Vec<f64> = (0..100).map(|i| if i >= 50 { 1.0 } else { 0.0 }).collect();
        let f = fit_logistic(&["x"], &[&a], &y, 1.0).unwrap();
        assert!(f.coefficients[0] > 0.0 && f.coefficients[0].is_finite());
    }

    #[test]
    fn one_outcome_or_bad_labels_are_errors() {
        let a = [1.0, 2.0, 3.0];
        assert!(fit_logistic(&["x"], &[&a], &[1.0, 1.0, 1.0], 1.0).unwrap_err().contains("both outcomes"));
        assert!(fit_logistic(&["x"], &[&a], &[0.0, 2.0, 1.0], 1.0).unwrap_err().contains("0 or 1"));
        assert!(fit_logistic(&["x"], &[&a[..2]], &[0.0, 1.0, 1.0], 1.0).is_err());
    }

    #[test]
    fn the_json_is_a_sell_model_that_scores_like_the_fit() {
        let (a, b, _, y) = sample(5_000, 11);
        let names = ["ret_since_entry", "days_held"];
        let f = fit_logistic(&names, &[&a, &b], &y, 1e-3).unwrap();
        let m =
            LinearModel::parse(&f.to_json("test"), std::path::Path::new("m.json"), Side::Sell, Some(Link::Logistic))
                .unwrap();
        let mut row = vec![0.0; janus_engine::features::N_POSITION];
        let (ret, days) = (janus_engine::features::pos::RET_SINCE_ENTRY, janus_engine::features::pos::DAYS_HELD);
        row[ret] = 0.5;
        row[days] = 4.0;
        let want = f.intercept + f.coefficients[0] * 0.5 + f.coefficients[1] * 4.0;
        assert!((m.margin(&row) - want).abs() < 1e-12);
    }
}
