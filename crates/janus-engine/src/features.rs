//! Model features with stable names. Sell models read [`POSITION_FEATURES`] of each held
//! position; buy models may read [`SYMBOL_FEATURES`] of any symbol. Names never change meaning:
//! trained models refer to them, and training data is exported under them. New features are
//! only ever appended, so the index of an existing name never moves either.
//!
//! All features of day *t* are known after *t*'s close (the decision point); orders placed on
//! them fill on *t + 1*. Returns and the volatility are computed over the symbol's *present*
//! bars (a suspended day is skipped, not counted as a zero return); history the data does not
//! have gives NaN, which tree models treat as missing. Prices are compared as adjusted closes
//! (`close x adj_factor`), so dividends and bonus issues are not returns.
//!
//! | name | of | meaning |
//! |---|---|---|
//! | `ret_since_entry` | position | market value at today's close over the cost basis (buy fees included), minus 1 |
//! | `drawdown_from_high` | position | 1 - close / highest price since entry (0 at a new high) |
//! | `days_held` | position | trading days since the entry day on which the holding could trade (0 on the entry day; halted days do not count) |
//! | `refused_before` | position | 1 when the market refused a sell of this holding before (limit-down, suspension), else 0 |
//! | `ret_1d` | symbol | close over the previous present close, minus 1 |
//! | `ret_5d` | symbol | close over the close 5 present bars earlier, minus 1 |
//! | `volatility_20d` | symbol | sample standard deviation of the daily returns of the last 21 present closes (at least 3) |
//! | `volume_spike` | symbol | volume over the mean volume of the 20 earlier days with volume (1 without history) |
//! | `dist_limit_up` | symbol | \|limit-up - close\| / close, today's limit-up price (0 = closed at limit-up) |
//! | `dist_limit_down` | symbol | \|close - limit-down\| / close (0 = closed at limit-down) |
//! | `amount` | symbol | value traded today in CNY (the turnover); NaN when the data has no `amount` column |
//! | `ret_20d` | symbol | close over the close 20 present bars earlier, minus 1 |

use janus_core::{Position, SymbolId};
use janus_data::History;

/// Features of a symbol on a day, known after that day's close (see the module table).
pub const SYMBOL_FEATURES: [&str; 8] =
    ["ret_1d", "ret_5d", "volatility_20d", "volume_spike", "dist_limit_up", "dist_limit_down", "amount", "ret_20d"];

/// Features of a held position: its own state, then its symbol's features (see the module
/// table).
pub const POSITION_FEATURES: [&str; 12] = [
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
    "ret_20d",
];

/// Indices into [`POSITION_FEATURES`].
pub mod pos {
    pub const RET_SINCE_ENTRY: usize = 0;
    pub const DRAWDOWN_FROM_HIGH: usize = 1;
    pub const DAYS_HELD: usize = 2;
    pub const REFUSED_BEFORE: usize = 3;
    /// Where the symbol features start.
    pub const SYMBOL: usize = 4;
    pub const VOLUME_SPIKE: usize = 7;
}

/// Indices into [`SYMBOL_FEATURES`].
pub mod sym {
    pub const RET_1D: usize = 0;
    pub const RET_5D: usize = 1;
    pub const VOLATILITY_20D: usize = 2;
    pub const VOLUME_SPIKE: usize = 3;
    pub const DIST_LIMIT_UP: usize = 4;
    pub const DIST_LIMIT_DOWN: usize = 5;
    pub const AMOUNT: usize = 6;
    pub const RET_20D: usize = 7;
}

pub const N_SYMBOL: usize = SYMBOL_FEATURES.len();
pub const N_POSITION: usize = POSITION_FEATURES.len();

/// Window of the volatility and volume-spike features, in trading days.
pub const WINDOW: usize = 20;

/// Closes of up to `WINDOW + 1` present bars ending today, newest first, into `out`;
/// returns how many were found. A fixed array: this runs for every position every day.
fn recent_closes(h: &History<'_>, sid: SymbolId, out: &mut [f64; WINDOW + 1]) -> usize {
    let mut len = 0;
    for back in 0..=h.today() {
        if len > WINDOW {
            break;
        }
        if h.is_present(back, sid) && h.close(back, sid).is_positive() {
            out[len] = h.adj_close(back, sid);
            len += 1;
        }
    }
    len
}

/// Today's volume over the mean volume of up to `window` earlier bars with volume (1.0 when
/// there is no history).
pub fn volume_spike(h: &History<'_>, sid: SymbolId, window: usize) -> f64 {
    let today = h.volume(0, sid);
    let (mut sum, mut n) = (0.0, 0usize);
    for back in 1..=h.today() {
        if n >= window {
            break;
        }
        let v = h.volume(back, sid);
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

/// [`SYMBOL_FEATURES`] of `sid` after today's close. Missing history gives NaN (tree models
/// treat it as missing; the rule model does not read these). Does not allocate.
pub fn symbol_features(h: &History<'_>, sid: SymbolId) -> [f64; N_SYMBOL] {
    let mut closes = [0.0; WINDOW + 1];
    let len = recent_closes(h, sid, &mut closes);
    let ret = |k: usize| if len > k { closes[0] / closes[k] - 1.0 } else { f64::NAN };
    let volatility = if len >= 3 {
        let n = len - 1;
        let r = |j: usize| closes[j] / closes[j + 1] - 1.0;
        let mean = (0..n).fold(0.0, |s, j| s + r(j)) / n as f64;
        ((0..n).fold(0.0, |s, j| s + (r(j) - mean).powi(2)) / (n - 1) as f64).sqrt()
    } else {
        f64::NAN
    };
    let close = h.close(0, sid).as_f64();
    let (up, down) = h.limits(0, sid);
    let dist = |p: janus_core::Price| {
        if p.is_positive() && close > 0.0 {
            (p.as_f64() - close).abs() / close
        } else {
            f64::NAN
        }
    };
    let amount = h.amount(0, sid);
    [
        ret(1),
        ret(5),
        volatility,
        volume_spike(h, sid, WINDOW),
        dist(up),
        dist(down),
        if amount.is_finite() { amount } else { f64::NAN },
        ret(WINDOW),
    ]
}

/// [`POSITION_FEATURES`] of a held position after today's close. Does not allocate.
pub fn position_features(h: &History<'_>, sid: SymbolId, pos: &Position, refused_before: bool) -> [f64; N_POSITION] {
    let s = symbol_features(h, sid);
    let mut f = [0.0; N_POSITION];
    f[pos::RET_SINCE_ENTRY] = pos.current_return();
    f[pos::DRAWDOWN_FROM_HIGH] = pos.drawdown_from_high();
    f[pos::DAYS_HELD] = pos.days_held as f64;
    f[pos::REFUSED_BEFORE] = if refused_before { 1.0 } else { 0.0 };
    f[pos::SYMBOL..].copy_from_slice(&s);
    f
}

/// Column indices of `wanted` feature names in `available`, or the first unknown name.
pub fn resolve(wanted: &[String], available: &[&str]) -> Result<Vec<usize>, String> {
    wanted.iter().map(|w| available.iter().position(|a| a == w).ok_or_else(|| w.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use janus_core::{Money, Price};

    /// Seven bars of one main-board stock: a limit-up day (11.00 = 10.00 + 10%) and then a
    /// limit-down day (9.90 = 11.00 - 10%), with volume and amount.
    const BARS: &str = "date,symbol,open,high,low,close,volume,amount\n\
        2024-01-02,600000.SH,10.00,10.00,10.00,10.00,1000,10000\n\
        2024-01-03,600000.SH,10.00,10.50,10.00,10.50,2000,20800\n\
        2024-01-04,600000.SH,10.50,10.50,10.00,10.00,1000,10100\n\
        2024-01-05,600000.SH,10.00,10.20,10.00,10.20,1000,10150\n\
        2024-01-08,600000.SH,10.20,10.20,10.00,10.00,1000,10050\n\
        2024-01-09,600000.SH,10.00,11.00,10.00,11.00,4000,43000\n\
        2024-01-10,600000.SH,10.50,10.50,9.90,9.90,6000,60000\n";

    fn panel(csv: &str) -> janus_data::Panel {
        janus_data::load_csv_reader(csv.as_bytes(), "f.csv", &Default::default()).unwrap()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn position_features_end_with_the_symbol_features_in_order() {
        assert_eq!(&POSITION_FEATURES[pos::SYMBOL..], &SYMBOL_FEATURES[..]);
        assert_eq!(POSITION_FEATURES[pos::VOLUME_SPIKE], "volume_spike");
        assert_eq!(SYMBOL_FEATURES[sym::VOLUME_SPIKE], "volume_spike");
        assert_eq!(SYMBOL_FEATURES[sym::RET_20D], "ret_20d");
    }

    #[test]
    fn existing_feature_names_keep_their_index() {
        // Trained models and exported data refer to these positions: append, never reorder.
        let first = [
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
        assert_eq!(&POSITION_FEATURES[..first.len()], &first[..]);
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
        let p = panel(csv);
        let f = symbol_features(&History::new(&p, 1), 0);
        assert!(close(f[sym::RET_1D], 0.1), "ret_1d");
        assert!(f[sym::RET_5D].is_nan(), "ret_5d needs 5 earlier bars");
        assert!(f[sym::VOLATILITY_20D].is_nan(), "volatility needs 2 returns");
        assert_eq!(f[sym::VOLUME_SPIKE], 3.0, "volume_spike");
        assert_eq!(f[sym::DIST_LIMIT_UP], 0.0, "closed at limit-up 11.00");
        assert!(close(f[sym::DIST_LIMIT_DOWN], 0.2 / 1.1), "limit-down 9.00");
        assert!(f[sym::AMOUNT].is_nan(), "no amount column");
        assert!(f[sym::RET_20D].is_nan(), "ret_20d needs 20 earlier bars");
    }

    #[test]
    fn each_symbol_feature_on_a_hand_written_limit_down_day() {
        let p = panel(BARS);
        let f = symbol_features(&History::new(&p, 6), 0);
        let c = [10.00, 10.50, 10.00, 10.20, 10.00, 11.00, 9.90];
        assert!(close(f[sym::RET_1D], 9.90 / 11.00 - 1.0), "ret_1d");
        assert!(close(f[sym::RET_5D], 9.90 / 10.50 - 1.0), "ret_5d");
        let r: Vec<f64> = c.windows(2).map(|w| w[1] / w[0] - 1.0).collect();
        let mean = r.iter().sum::<f64>() / 6.0;
        let sd = (r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 5.0).sqrt();
        assert!(close(f[sym::VOLATILITY_20D], sd), "volatility_20d {} vs {sd}", f[sym::VOLATILITY_20D]);
        let mean_volume = (1000.0 + 2000.0 + 1000.0 + 1000.0 + 1000.0 + 4000.0) / 6.0;
        assert!(close(f[sym::VOLUME_SPIKE], 6000.0 / mean_volume), "volume_spike");
        assert!(close(f[sym::DIST_LIMIT_UP], (12.10 - 9.90) / 9.90), "limit-up 12.10");
        assert_eq!(f[sym::DIST_LIMIT_DOWN], 0.0, "closed at limit-down 9.90");
        assert_eq!(f[sym::AMOUNT], 60000.0, "amount");
        assert!(f[sym::RET_20D].is_nan());
        // The limit-up day before.
        let g = symbol_features(&History::new(&p, 5), 0);
        assert_eq!(g[sym::DIST_LIMIT_UP], 0.0);
        assert!(close(g[sym::DIST_LIMIT_DOWN], (11.00 - 9.00) / 11.00));
    }

    #[test]
    fn twenty_day_return_and_volatility_use_the_last_21_closes() {
        let mut csv = String::from("date,symbol,open,high,low,close,volume\n");
        let start = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let closes: Vec<f64> = (0..25).map(|d| 10.0 + 0.1 * d as f64 + if d % 2 == 0 { 0.05 } else { 0.0 }).collect();
        for (d, c) in closes.iter().enumerate() {
            let date = start + chrono::Days::new(d as u64);
            csv.push_str(&format!("{date},000001.SZ,{c:.2},{c:.2},{c:.2},{c:.2},1000\n"));
        }
        let p = panel(&csv);
        let f = symbol_features(&History::new(&p, 24), 0);
        assert!(close(f[sym::RET_20D], closes[24] / closes[4] - 1.0));
        let r: Vec<f64> = closes[4..].windows(2).map(|w| w[1] / w[0] - 1.0).collect();
        assert_eq!(r.len(), 20);
        let mean = r.iter().sum::<f64>() / 20.0;
        let sd = (r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 19.0).sqrt();
        assert!(close(f[sym::VOLATILITY_20D], sd));
        assert_eq!(f[sym::VOLUME_SPIKE], 1.0, "flat volume");
    }

    #[test]
    fn each_position_feature_of_a_hand_made_position() {
        let p = panel(BARS);
        let position = Position {
            symbol: "600000.SH".into(),
            amount: 1000,
            sellable: 1000,
            locked_t1: 0,
            cost_basis: Money::from_yuan(10_005.0),
            entry_price: Price::from_yuan(10.0),
            entry_date: NaiveDate::from_ymd_opt(2024, 1, 4).unwrap(),
            high_since_entry: Price::from_yuan(11.0),
            last_price: Price::from_yuan(9.9),
            days_held: 4,
            realized_pnl: Money::ZERO,
        };
        let f = position_features(&History::new(&p, 6), 0, &position, true);
        assert!(close(f[pos::RET_SINCE_ENTRY], 9900.0 / 10_005.0 - 1.0), "ret_since_entry");
        assert!(close(f[pos::DRAWDOWN_FROM_HIGH], 1.0 - 9.9 / 11.0), "drawdown_from_high");
        assert_eq!(f[pos::DAYS_HELD], 4.0, "days_held");
        assert_eq!(f[pos::REFUSED_BEFORE], 1.0, "refused_before");
        assert_eq!(position_features(&History::new(&p, 6), 0, &position, false)[pos::REFUSED_BEFORE], 0.0);
        let s = symbol_features(&History::new(&p, 6), 0);
        for (j, name) in SYMBOL_FEATURES.iter().enumerate() {
            let (a, b) = (f[pos::SYMBOL + j], s[j]);
            assert!(a == b || (a.is_nan() && b.is_nan()), "{name}");
        }
    }
}
