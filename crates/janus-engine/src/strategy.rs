//! Strategies read a view of the market and the portfolio and return intents; the engine
//! turns intents into orders through the risk manager. The dual-model strategy keeps buying
//! and selling separate: a [`SellModel`] scores each held position, a [`BuyModel`] ranks the
//! market.

use crate::config::{BuyModelConfig, SellModelConfig, StrategyConfig};
use crate::features::{pos, position_features};
use janus_core::{Board, OrderType, Portfolio, Qty, Side, SymbolId};
use janus_data::{History, Panel};

/// What a strategy may look at after a day's close.
pub struct StrategyView<'a> {
    /// The market as of the close just passed (orders fill on the next day): that day and the
    /// days before it, and no way to reach any later day.
    pub history: History<'a>,
    pub portfolio: &'a Portfolio,
    pub max_positions: usize,
    /// Symbols whose sells the market refused at least once in the current holding.
    pub refused_sell: &'a [bool],
}

/// A wish to trade; the engine sizes, checks and books it.
#[derive(Clone, Debug, PartialEq)]
pub struct Intent {
    pub sid: SymbolId,
    pub side: Side,
    /// Shares; `None` lets the engine decide (sell everything sellable, or size a buy with the
    /// equal-weight sizer).
    pub qty: Option<Qty>,
    pub order_type: OrderType,
    /// Why, kept on the order (`trailing_stop`, `buy_rank`, ...).
    pub tag: String,
}

/// A day's decisions: sells first, then buy candidates best first.
#[derive(Clone, Debug, Default)]
pub struct Decisions {
    pub sells: Vec<Intent>,
    pub buys: Vec<Intent>,
    /// The engine admits buys in order until this many were accepted.
    pub max_new_buys: usize,
}

impl Decisions {
    pub fn clear(&mut self) {
        self.sells.clear();
        self.buys.clear();
        self.max_new_buys = 0;
    }
}

pub trait Strategy {
    fn decide(&mut self, view: &StrategyView<'_>, out: &mut Decisions);
}

/// A sell model's answer: probability, and the rule or model that drove it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SellSignal {
    pub probability: f64,
    pub reason: &'static str,
}

pub trait SellModel {
    /// `features` are the [`crate::features::POSITION_FEATURES`] of one position, in order.
    fn evaluate(&self, features: &[f64]) -> SellSignal;
}

pub trait BuyModel {
    /// Push `(symbol, score)` for every symbol the model would buy after today's close of
    /// `history`; higher is better. Symbols left out are not bought.
    fn score(&mut self, history: &History<'_>, out: &mut Vec<(SymbolId, f64)>);
}

/// Exit rules: trailing stop from the high since entry, take profit, stop loss, max days held.
#[derive(Clone, Debug)]
pub struct RuleSellModel {
    pub cfg: SellModelConfig,
}

impl SellModel for RuleSellModel {
    fn evaluate(&self, f: &[f64]) -> SellSignal {
        let c = &self.cfg;
        let (ret, drawdown, days) = (f[pos::RET_SINCE_ENTRY], f[pos::DRAWDOWN_FROM_HIGH], f[pos::DAYS_HELD]);
        let reason = if c.stop_loss > 0.0 && ret <= -c.stop_loss {
            Some("stop_loss")
        } else if c.trailing_stop > 0.0 && drawdown >= c.trailing_stop {
            Some("trailing_stop")
        } else if c.take_profit > 0.0 && ret >= c.take_profit {
            Some("take_profit")
        } else if c.max_days > 0 && days >= c.max_days as f64 {
            Some("max_days")
        } else {
            None
        };
        match reason {
            Some(r) => SellSignal { probability: 1.0, reason: r },
            None => SellSignal { probability: 0.0, reason: "hold" },
        }
    }
}

/// Rank by the return over `lookback` trading days (momentum), or its negative (reversal).
#[derive(Clone, Debug)]
pub struct MomentumBuyModel {
    pub lookback: usize,
    pub reversal: bool,
    pub skip_st: bool,
    /// Per symbol: may the model pick it (board filter).
    pub allowed: Vec<bool>,
}

impl MomentumBuyModel {
    pub fn new(cfg: &BuyModelConfig, panel: &Panel) -> MomentumBuyModel {
        let allowed = panel.boards.iter().map(|b: &Board| cfg.boards.iter().any(|n| n == b.name())).collect();
        MomentumBuyModel { lookback: cfg.lookback, reversal: cfg.kind == "reversal", skip_st: cfg.skip_st, allowed }
    }
}

impl BuyModel for MomentumBuyModel {
    fn score(&mut self, h: &History<'_>, out: &mut Vec<(SymbolId, f64)>) {
        let (Some(flags_now), Some(flags_then)) = (h.flags_row(0), h.flags_row(self.lookback)) else { return };
        use janus_data::panel::flag;
        for (s, (&f, &then)) in flags_now.iter().zip(flags_then).enumerate() {
            if f & flag::PRESENT == 0 || f & flag::PAUSED != 0 || then & flag::PRESENT == 0 {
                continue;
            }
            // Outside the universe file's members that day (README: Data).
            if (self.skip_st && f & flag::ST != 0) || !self.allowed[s] || f & flag::OUT_OF_UNIVERSE != 0 {
                continue;
            }
            // Adjusted closes: a bonus issue between the two days is not a fall.
            let r = h.adj_ratio(self.lookback, s as SymbolId) - 1.0;
            out.push((s as SymbolId, if self.reversal { -r } else { r }));
        }
    }
}

/// Sell scan first, then the buy model's best names while slots are free.
pub struct DualModelStrategy {
    pub buy: Box<dyn BuyModel>,
    pub sell: Box<dyn SellModel>,
    pub sell_threshold: f64,
    /// Candidates offered per free slot, so that refused names can be replaced.
    pub candidates_per_slot: usize,
    scores: Vec<(SymbolId, f64)>,
}

impl DualModelStrategy {
    pub fn new(buy: Box<dyn BuyModel>, sell: Box<dyn SellModel>, sell_threshold: f64) -> DualModelStrategy {
        DualModelStrategy { buy, sell, sell_threshold, candidates_per_slot: 3, scores: Vec::new() }
    }

    /// The built-in models from the config.
    pub fn from_config(cfg: &StrategyConfig, panel: &Panel) -> DualModelStrategy {
        DualModelStrategy::new(
            Box::new(MomentumBuyModel::new(&cfg.buy, panel)),
            Box::new(RuleSellModel { cfg: cfg.sell.clone() }),
            cfg.sell_threshold,
        )
    }
}

impl Strategy for DualModelStrategy {
    fn decide(&mut self, view: &StrategyView<'_>, out: &mut Decisions) {
        let h = &view.history;
        for (&sid, pos) in &view.portfolio.positions {
            let features = position_features(h, sid, pos, view.refused_sell[sid as usize]);
            let signal = self.sell.evaluate(&features);
            if signal.probability > self.sell_threshold {
                out.sells.push(Intent {
                    sid,
                    side: Side::Sell,
                    qty: None,
                    order_type: OrderType::Market,
                    tag: signal.reason.to_string(),
                });
            }
        }
        let held = view.portfolio.positions.len();
        let free = view.max_positions.saturating_sub(held);
        out.max_new_buys = free;
        if free == 0 {
            return;
        }
        self.scores.clear();
        self.buy.score(h, &mut self.scores);
        self.scores.retain(|(sid, s)| s.is_finite() && !view.portfolio.positions.contains_key(sid));
        let k = (free * self.candidates_per_slot).min(self.scores.len());
        if k == 0 {
            return;
        }
        // Best first; ties broken by symbol id so the ranking is deterministic.
        let better = |a: &(SymbolId, f64), b: &(SymbolId, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if k < self.scores.len() {
            self.scores.select_nth_unstable_by(k - 1, better);
            self.scores.truncate(k);
        }
        self.scores.sort_unstable_by(better);
        for &(sid, _) in &self.scores {
            out.buys.push(Intent {
                sid,
                side: Side::Buy,
                qty: None,
                order_type: OrderType::Market,
                tag: "buy_rank".into(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features(ret: f64, drawdown: f64, days_held: u32) -> Vec<f64> {
        let mut f = vec![f64::NAN; crate::features::N_POSITION];
        f[pos::RET_SINCE_ENTRY] = ret;
        f[pos::DRAWDOWN_FROM_HIGH] = drawdown;
        f[pos::DAYS_HELD] = days_held as f64;
        f
    }

    #[test]
    fn rule_sell_model_names_the_rule_that_fired() {
        let m = RuleSellModel { cfg: SellModelConfig::default() };
        assert_eq!(m.evaluate(&features(-0.09, 0.09, 1)).reason, "stop_loss");
        assert_eq!(m.evaluate(&features(0.15, 0.12, 3)).reason, "trailing_stop");
        assert_eq!(m.evaluate(&features(0.31, 0.0, 3)).reason, "take_profit");
        assert_eq!(m.evaluate(&features(0.01, 0.01, 20)).reason, "max_days");
        let hold = m.evaluate(&features(0.05, 0.02, 5));
        assert_eq!((hold.probability, hold.reason), (0.0, "hold"));
    }

    #[test]
    fn the_momentum_model_ranks_only_members_of_the_universe() {
        let csv = "date,symbol,open,high,low,close,volume\n\
                   2024-01-02,600000.SH,10,10,10,10,100\n2024-01-02,600001.SH,10,10,10,10,100\n\
                   2024-01-03,600000.SH,11,11,11,11,100\n2024-01-03,600001.SH,12,12,12,12,100\n";
        let mut panel = janus_data::load_csv_reader(csv.as_bytes(), "t.csv", &Default::default()).unwrap();
        let cfg = BuyModelConfig { lookback: 1, ..BuyModelConfig::default() };
        let mut scored = Vec::new();
        MomentumBuyModel::new(&cfg, &panel).score(&History::new(&panel, 1), &mut scored);
        assert_eq!(scored.len(), 2);
        let i = panel.idx(1, 1);
        panel.flags[i] |= janus_data::panel::flag::OUT_OF_UNIVERSE;
        scored.clear();
        MomentumBuyModel::new(&cfg, &panel).score(&History::new(&panel, 1), &mut scored);
        assert_eq!(scored.iter().map(|s| s.0).collect::<Vec<_>>(), [0], "600001.SH left the index");
    }

    #[test]
    fn a_zero_threshold_turns_a_rule_off() {
        let m = RuleSellModel { cfg: SellModelConfig { stop_loss: 0.0, max_days: 0, ..SellModelConfig::default() } };
        assert_eq!(m.evaluate(&features(-0.5, 0.0, 100)).reason, "hold");
    }
}
