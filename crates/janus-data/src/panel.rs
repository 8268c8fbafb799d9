//! The columnar bar panel: dates x symbols, one flat array per field, row-major by date so a
//! day's cross-section is contiguous. Indexed by dense integers in the engine's hot loop.

use chrono::NaiveDate;
use janus_core::{Board, LimitRules, Price, SymbolId};

/// Bit flags per cell.
pub mod flag {
    /// The cell holds a bar (otherwise the symbol did not trade that day or is not listed).
    pub const PRESENT: u8 = 1;
    /// Trading halted (paused flag in the data, or zero volume).
    pub const PAUSED: u8 = 2;
    /// Special-treatment name that day.
    pub const ST: u8 = 4;
    /// Limit prices came from the data rather than being derived.
    pub const EXPLICIT_LIMITS: u8 = 8;
}

/// All bars of a market. Cell `(d, s)` is at index `d * n_symbols + s`.
#[derive(Clone, Debug, Default)]
pub struct Panel {
    pub dates: Vec<NaiveDate>,
    pub symbols: Vec<String>,
    pub boards: Vec<Board>,
    pub open: Vec<Price>,
    pub high: Vec<Price>,
    pub low: Vec<Price>,
    pub close: Vec<Price>,
    /// Shares traded.
    pub volume: Vec<f64>,
    /// Value traded in CNY (NaN when the data has none).
    pub amount: Vec<f64>,
    /// Limit prices for the day (`Price::ZERO` when unknown, e.g. the first bar of a symbol).
    pub limit_up: Vec<Price>,
    pub limit_down: Vec<Price>,
    pub flags: Vec<u8>,
    /// Backward adjustment factor per cell (`close x adj_factor` is continuous across
    /// ex-dates): from the data's `adj_factor` column or from `actions`. Empty when there is no
    /// adjustment (every factor is 1).
    pub adj_factor: Vec<f64>,
    /// Corporate actions on their ex-dates, sorted by day, then symbol.
    pub actions: Vec<crate::actions::DayAction>,
}

impl Panel {
    pub fn n_dates(&self) -> usize {
        self.dates.len()
    }
    pub fn n_symbols(&self) -> usize {
        self.symbols.len()
    }
    /// Number of bars present.
    pub fn n_bars(&self) -> usize {
        self.flags.iter().filter(|f| **f & flag::PRESENT != 0).count()
    }
    #[inline]
    pub fn idx(&self, day: usize, sid: SymbolId) -> usize {
        day * self.symbols.len() + sid as usize
    }
    #[inline]
    pub fn is_present(&self, day: usize, sid: SymbolId) -> bool {
        self.flags[self.idx(day, sid)] & flag::PRESENT != 0
    }
    /// Present and not halted: the symbol can trade today.
    #[inline]
    pub fn is_tradable(&self, day: usize, sid: SymbolId) -> bool {
        let f = self.flags[self.idx(day, sid)];
        f & flag::PRESENT != 0 && f & flag::PAUSED == 0
    }
    #[inline]
    pub fn is_st(&self, day: usize, sid: SymbolId) -> bool {
        self.flags[self.idx(day, sid)] & flag::ST != 0
    }
    /// Adjusted close of cell `i`: the close times the adjustment factor, what features and
    /// models compare across days (a 10-for-10 bonus issue is not a -50% day).
    #[inline]
    pub fn adj_close(&self, i: usize) -> f64 {
        let c = self.close[i].as_f64();
        match self.adj_factor.get(i) {
            Some(f) => c * f,
            None => c,
        }
    }
    /// Adjusted close of cell `now` over that of cell `then` (exactly the raw ratio when the
    /// panel has no adjustment).
    #[inline]
    pub fn adj_ratio(&self, now: usize, then: usize) -> f64 {
        let raw = self.close[now].0 as f64 / self.close[then].0 as f64;
        match (self.adj_factor.get(now), self.adj_factor.get(then)) {
            (Some(a), Some(b)) => raw * (a / b),
            _ => raw,
        }
    }
    /// The corporate actions whose ex-date is `day`.
    pub fn actions_on(&self, day: usize) -> &[crate::actions::DayAction] {
        let lo = self.actions.partition_point(|a| (a.day as usize) < day);
        let hi = self.actions.partition_point(|a| (a.day as usize) <= day);
        &self.actions[lo..hi]
    }
    pub fn symbol_id(&self, symbol: &str) -> Option<SymbolId> {
        self.symbols.iter().position(|s| s == symbol).map(|i| i as SymbolId)
    }
    /// Volume-weighted average price of a bar: amount / volume when both are there, else the
    /// typical price (high + low + close) / 3.
    pub fn vwap(&self, day: usize, sid: SymbolId) -> Price {
        let i = self.idx(day, sid);
        let (a, v) = (self.amount[i], self.volume[i]);
        if a.is_finite() && a > 0.0 && v > 0.0 {
            let p = Price::from_yuan(a / v);
            // Keep it inside the bar even if amount and volume disagree slightly.
            p.max(self.low[i]).min(self.high[i])
        } else {
            Price((self.high[i].0 + self.low[i].0 + self.close[i].0) / 3)
        }
    }

    /// Fill in derived limit prices for every present cell without explicit ones, from the
    /// symbol's previous present close, its board and its ST flag.
    pub fn derive_limits(&mut self, rules: &LimitRules) {
        let n = self.n_symbols();
        // Day by day with each symbol's last close at hand: contiguous memory access.
        let mut prev: Vec<Option<Price>> = vec![None; n];
        for d in 0..self.n_dates() {
            // On an ex-date the limits come from the ex-rights reference price, not the close.
            for a in self.actions_on(d) {
                if let Some(pc) = prev[a.sid as usize] {
                    prev[a.sid as usize] = Some(a.action.reference_price(pc));
                }
            }
            for (s, last) in prev.iter_mut().enumerate() {
                let i = d * n + s;
                let f = self.flags[i];
                if f & flag::PRESENT == 0 {
                    continue;
                }
                if f & flag::EXPLICIT_LIMITS == 0 {
                    let (up, down) = match *last {
                        Some(pc) => rules.limits(pc, self.boards[s], f & flag::ST != 0),
                        None => (Price::ZERO, Price::ZERO),
                    };
                    self.limit_up[i] = up;
                    self.limit_down[i] = down;
                }
                *last = Some(self.close[i]);
            }
        }
    }
}
