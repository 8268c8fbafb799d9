//! Return statistics on a series of daily returns, defined exactly as the `empyrical` Python
//! package defines them (daily periods, 252 per year, risk-free and required return 0), so that
//! numbers in a Janus report can be checked against the tools researchers already use.
//! `tests/empyrical.rs` compares every function here with empyrical's own output.
//!
//! Each function returns `None` where empyrical returns NaN or an infinity: too few returns, a
//! zero deviation, no drawdown.

use crate::metrics::TRADING_DAYS_PER_YEAR;

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample standard deviation (`ddof = 1`), 0 when every value is the same (empyrical's
/// `_zero_dispersion_std`: the centred mean of identical values can leave a residue of 1e-18).
fn sample_std(xs: &[f64]) -> f64 {
    let first = xs[0];
    if xs.iter().all(|x| *x == first) {
        return 0.0;
    }
    let m = mean(xs);
    let ss: f64 = xs.iter().map(|x| (x - m) * (x - m)).sum();
    (ss / (xs.len() as f64 - 1.0)).sqrt()
}

/// Compounded return of the whole series: `prod(1 + r) - 1` (`cum_returns_final`).
pub fn cum_return(returns: &[f64]) -> Option<f64> {
    if returns.is_empty() {
        return None;
    }
    finite(returns.iter().fold(1.0, |acc, r| acc * (1.0 + r)) - 1.0)
}

/// Geometric annual growth rate: `(1 + cum_return)^(1 / years) - 1` with `years = n / 252`
/// (`annual_return`).
pub fn annual_return(returns: &[f64]) -> Option<f64> {
    let ending = 1.0 + cum_return(returns)?;
    let years = returns.len() as f64 / TRADING_DAYS_PER_YEAR;
    finite(ending.powf(1.0 / years) - 1.0)
}

/// Sample standard deviation times `sqrt(252)`; needs two returns (`annual_volatility`).
pub fn annual_volatility(returns: &[f64]) -> Option<f64> {
    if returns.len() < 2 {
        return None;
    }
    finite(sample_std(returns) * TRADING_DAYS_PER_YEAR.powf(0.5))
}

/// Mean over sample standard deviation times `sqrt(252)`; `None` when the returns do not vary
/// (`sharpe_ratio`).
pub fn sharpe_ratio(returns: &[f64]) -> Option<f64> {
    if returns.len() < 2 {
        return None;
    }
    finite(mean(returns) / sample_std(returns) * TRADING_DAYS_PER_YEAR.sqrt())
}

/// Root mean square of the negative returns (positive ones count as 0) over all periods,
/// times `sqrt(252)` (`downside_risk`).
pub fn downside_risk(returns: &[f64]) -> Option<f64> {
    if returns.is_empty() {
        return None;
    }
    let sq: Vec<f64> = returns.iter().map(|r| r.min(0.0) * r.min(0.0)).collect();
    finite(mean(&sq).sqrt() * TRADING_DAYS_PER_YEAR.sqrt())
}

/// Annualized mean return (`mean * 252`, arithmetic) over the downside risk; `None` without a
/// losing day (`sortino_ratio`).
pub fn sortino_ratio(returns: &[f64]) -> Option<f64> {
    if returns.len() < 2 {
        return None;
    }
    finite(mean(returns) * TRADING_DAYS_PER_YEAR / downside_risk(returns)?)
}

/// Largest fall of the compounded value from a previous peak, the starting value included, as
/// a positive fraction (empyrical's `max_drawdown` is the same number, negative).
pub fn max_drawdown(returns: &[f64]) -> Option<f64> {
    if returns.is_empty() {
        return None;
    }
    let (mut value, mut peak, mut worst) = (100.0f64, 100.0f64, 0.0f64);
    for r in returns {
        value *= 1.0 + r;
        peak = peak.max(value);
        worst = worst.min((value - peak) / peak);
    }
    finite(-worst)
}

/// Annual return over the maximum drawdown; `None` without a drawdown (`calmar_ratio`).
pub fn calmar_ratio(returns: &[f64]) -> Option<f64> {
    let dd = max_drawdown(returns)?;
    if dd <= 0.0 {
        return None;
    }
    finite(annual_return(returns)? / dd)
}

/// Beta of the returns against the benchmark's: population covariance over the benchmark's
/// population variance; `None` when the benchmark does not vary (`beta`). The series must be
/// aligned day by day.
pub fn beta(returns: &[f64], benchmark: &[f64]) -> Option<f64> {
    if returns.is_empty() || benchmark.len() < 2 || returns.len() != benchmark.len() {
        return None;
    }
    let mb = mean(benchmark);
    let residual: Vec<f64> = benchmark.iter().map(|b| b - mb).collect();
    let cov: Vec<f64> = residual.iter().zip(returns).map(|(x, r)| x * r).collect();
    let var: Vec<f64> = residual.iter().map(|x| x * x).collect();
    let var = mean(&var);
    if var < 1e-30 {
        return None;
    }
    finite(mean(&cov) / var)
}

/// Annualized alpha: `(1 + mean(r - beta * b))^252 - 1` (`alpha`).
pub fn alpha(returns: &[f64], benchmark: &[f64]) -> Option<f64> {
    if returns.len() < 2 {
        return None;
    }
    let b = beta(returns, benchmark)?;
    let residual: Vec<f64> = returns.iter().zip(benchmark).map(|(r, f)| r - b * f).collect();
    finite((mean(&residual) + 1.0).powf(TRADING_DAYS_PER_YEAR) - 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_short_series_are_undefined_not_nan() {
        assert_eq!(cum_return(&[]), None);
        assert_eq!(annual_volatility(&[0.01]), None);
        assert_eq!(sharpe_ratio(&[0.01]), None);
        assert_eq!(sortino_ratio(&[0.01]), None);
        assert_eq!(max_drawdown(&[]), None);
        assert_eq!(beta(&[0.01], &[0.02]), None);
        assert_eq!(alpha(&[0.01, 0.02], &[0.01]), None);
    }

    #[test]
    fn flat_returns_have_no_sharpe_and_no_sortino() {
        let flat = [0.001; 5];
        assert_eq!(annual_volatility(&flat), Some(0.0));
        assert_eq!(sharpe_ratio(&flat), None);
        assert_eq!(sortino_ratio(&flat), None);
        assert_eq!(calmar_ratio(&flat), None);
    }

    #[test]
    fn drawdown_counts_a_first_day_loss_from_the_start() {
        assert!((max_drawdown(&[-0.1, 0.05]).unwrap() - 0.1).abs() < 1e-15);
    }
}
