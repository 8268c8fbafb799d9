//! Model features with stable names. Sell models read [`POSITION_FEATURES`] of each held
//! position; buy models may read [`SYMBOL_FEATURES`] of any symbol. Names never change meaning:
//! trained models refer to them, and training data is exported under them.

use janus_core::{Position, SymbolId};
use janus_data::Panel;

/// Features of a symbol on a day, known after that day's close.
pub const SYMBOL_FEATURES: [&str; 7] =
    ["ret_1d", "ret_5d", "volatility_20d", "volume_spike", "dist_limit_up", "dist_limit_down", "amount"];

/// Features of a held position: its own state, then its symbol's features.
pub const POSITION_FEATURES: [&str; 11] = [
    "ret_since_entry",
    "drawdown_from_high",
    "days_held",
    "refused_before",
    "ret_1d",
    "ret_5d",
    "volatility_20d",
    "volume_spike",
    "dist_limit_up",
    "dist_limit_down",
    "amount",
];

/// Indices into [`POSITION_FEATURES`].
pub mod pos {
    pub const RET_SINCE_ENTRY: usize = 0;
    pub const DRAWDOWN_FROM_HIGH: usize = 1;
    pub const DAYS_HELD: usize = 2;
    pub const REFUSED_BEFORE: usize = 3;
    pub const VOLUME_SPIKE: usize = 7;
}

pub const N_SYMBOL: usize = SYMBOL_FEATURES.len();
pub const N_POSITION: usize = POSITION_FEATURES.len();

/// Window of the volatility and volume-spike features, in trading days.
pub const WINDOW: usize = 20;

/// Closes of up to `n + 1` present bars ending at `day` (newest first) into `out`.
fn recent_closes(panel: &Panel, day: usize, sid: SymbolId, n: usize, out: &mut Vec<f64>) {
    out.clear();
    let mut d = day + 1;
    while d > 0 && out.len() <= n {
        d -= 1;
        let i = panel.idx(d, sid);
        if panel.is_present(d, sid) && panel.close[i].is_positive() {
            out.push(panel.close[i].as_f64());
        }
    }
}

/// Volume on `day` over the mean volume of up to `window` earlier bars with volume (1.0 when
/// there is no history).
pub fn volume_spike(panel: &Panel, day: usize, sid: SymbolId, window: usize) -> f64 {
    let today = panel.volume[panel.idx(day, sid)];
    let (mut sum, mut n) = (0.0, 0usize);
    let mut d = day;
    while d > 0 && n < window {
        d -= 1;
        let v = panel.volume[panel.idx(d, sid)];
        if v > 0.0 {
            sum += v;
            n += 1;
        }
    }
    if n == 0 || sum <= 0.0 || today <= 0.0 {
        1.0
    } else {
        today / (sum / n as f64)
    }
}

/// [`SYMBOL_FEATURES`] of `sid` after `day`'s close. Missing history gives NaN (tree models
/// treat it as missing; the rule model does not read these).
pub fn symbol_features(panel: &Panel, day: usize, sid: SymbolId) -> [f64; N_SYMBOL] {
    let mut closes = Vec::with_capacity(WINDOW + 1);
    recent_closes(panel, day, sid, WINDOW, &mut closes);
    let ret = |k: usize| if closes.len() > k { closes[0] / closes[k] - 1.0 } else { f64::NAN };
    let volatility = if closes.len() >= 3 {
        let r: Vec<f64> = closes.windows(2).map(|w| w[0] / w[1] - 1.0).collect();
        let mean = r.iter().sum::<f64>() / r.len() as f64;
        (r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (r.len() - 1) as f64).sqrt()
    } else {
        f64::NAN
    };
    let i = panel.idx(day, sid);
    let close = panel.close[i].as_f64();
    let (up, down) = (panel.limit_up[i], panel.limit_down[i]);
    let dist = |p: janus_core::Price| {
        if p.is_positive() && close > 0.0 {
            (p.as_f64() - close).abs() / close
        } else {
            f64::NAN
        }
    };
    [
        ret(1),
        ret(5),
        volatility,
        volume_spike(panel, day, sid, WINDOW),
        dist(up),
        dist(down),
        if panel.amount[i].is_finite() { panel.amount[i] } else { f64::NAN },
    ]
}

/// [`POSITION_FEATURES`] of a held position after `day`'s close.
pub fn position_features(
    panel: &Panel,
    day: usize,
    sid: SymbolId,
    pos: &Position,
    refused_before: bool,
) -> [f64; N_POSITION] {
    let s = symbol_features(panel, day, sid);
    let mut f = [0.0; N_POSITION];
    f[pos::RET_SINCE_ENTRY] = pos.current_return();
    f[pos::DRAWDOWN_FROM_HIGH] = pos.drawdown_from_high();
    f[pos::DAYS_HELD] = pos.days_held as f64;
    f[pos::REFUSED_BEFORE] = if refused_before { 1.0 } else { 0.0 };
    f[4..].copy_from_slice(&s);
    f
}

/// Column indices of `wanted` feature names in `available`, or the first unknown name.
pub fn resolve(wanted: &[String], available: &[&str]) -> Result<Vec<usize>, String> {
    wanted.iter().map(|w| available.iter().position(|a| a == w).ok_or_else(|| w.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_features_end_with_the_symbol_features_in_order() {
        assert_eq!(&POSITION_FEATURES[4..], &SYMBOL_FEATURES[..]);
        assert_eq!(POSITION_FEATURES[pos::VOLUME_SPIKE], "volume_spike");
    }

    #[test]
    fn resolve_names_the_unknown_feature() {
        let want = vec!["days_held".to_string(), "moon_phase".to_string()];
        assert_eq!(resolve(&want, &POSITION_FEATURES), Err("moon_phase".to_string()));
        assert_eq!(resolve(&want[..1], &POSITION_FEATURES), Ok(vec![2]));
    }

    #[test]
    fn symbol_features_read_returns_limits_and_volume() {
        let csv = "date,symbol,open,high,low,close,volume\n\
                   2024-01-02,600000.SH,10.00,10.00,10.00,10.00,1000\n\
                   2024-01-03,600000.SH,10.00,11.00,10.00,11.00,3000\n";
        let p = janus_data::load_csv_reader(csv.as_bytes(), "f.csv", &Default::default()).unwrap();
        let f = symbol_features(&p, 1, 0);
        assert!((f[0] - 0.1).abs() < 1e-12, "ret_1d");
        assert!(f[1].is_nan(), "ret_5d needs 5 bars");
        assert_eq!(f[3], 3.0, "volume_spike");
        assert_eq!(f[4], 0.0, "closed at limit-up 11.00");
        assert!((f[5] - 0.2 / 1.1).abs() < 1e-12, "limit-down 9.00");
        assert!(f[6].is_nan(), "no amount column");
    }
}
