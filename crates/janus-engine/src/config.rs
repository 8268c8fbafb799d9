//! Engine configuration: market rules, fees, fill model, risk limits and strategy parameters.
//! Every field has an A-share default; the CLI reads these sections from the TOML config.

use chrono::NaiveDate;
use janus_core::{DividendTax, FeeSchedule, LimitRules, LotRules, Money, Rate};
use serde::{Deserialize, Serialize};

/// Which price of the execution bar a fill takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FillPrice {
    Open,
    Vwap,
    Close,
}

/// When a price limit blocks a fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitBlock {
    /// Blocked whenever the fill price is at (or beyond) the limit.
    AtLimit,
    /// Blocked only on a one-price bar sealed at the limit (high == low == limit).
    OnePrice,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FillConfig {
    pub price: FillPrice,
    pub limit_block: LimitBlock,
    /// Largest share of a bar's volume one symbol's fills may take (0 < x <= 1).
    pub volume_participation: f64,
    /// Adverse slippage against the reference price, in basis points (rounded to the tick).
    pub slippage_bps: f64,
}

impl Default for FillConfig {
    fn default() -> Self {
        FillConfig {
            price: FillPrice::Open,
            limit_block: LimitBlock::AtLimit,
            volume_participation: 0.1,
            slippage_bps: 0.0,
        }
    }
}

/// Fees. Commission is a broker's price and always comes from here; stamp duty and transfer fee
/// follow the dated history of `janus_core::calendar` unless given: `stamp_duty_before` and
/// `stamp_duty_after` are rates on sells before and from `stamp_duty_change_date` (each replaces
/// the history on its side of the date), `transfer_rate` a rate on the value of both sides on
/// every date and exchange.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeesConfig {
    pub commission_rate: f64,
    pub min_commission: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stamp_duty_before: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stamp_duty_after: Option<f64>,
    pub stamp_duty_change_date: NaiveDate,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer_rate: Option<f64>,
}

impl Default for FeesConfig {
    fn default() -> Self {
        let f = FeeSchedule::default();
        FeesConfig {
            commission_rate: f.commission.as_f64(),
            min_commission: f.min_commission.as_f64(),
            stamp_duty_before: None,
            stamp_duty_after: None,
            stamp_duty_change_date: f.stamp_duty_change_date,
            transfer_rate: None,
        }
    }
}

impl FeesConfig {
    /// The exact schedule (rates to 1e-8, money to 0.0001 CNY).
    pub fn schedule(&self) -> FeeSchedule {
        FeeSchedule {
            commission: Rate::from_f64(self.commission_rate),
            min_commission: Money::from_yuan(self.min_commission),
            stamp_duty_before: self.stamp_duty_before.map(Rate::from_f64),
            stamp_duty_after: self.stamp_duty_after.map(Rate::from_f64),
            stamp_duty_change_date: self.stamp_duty_change_date,
            transfer: self.transfer_rate.map(Rate::from_f64),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RiskConfig {
    /// Cap on one symbol's share of total asset, pending orders included.
    pub max_position_pct: f64,
    pub max_positions: usize,
    /// Equity falling more than this fraction from the previous close blocks new buys that day.
    pub circuit_breaker_pct: f64,
    /// Refuse buys of stocks that closed at limit-up and sells of stocks that closed at
    /// limit-down when the order is placed. Off by default: the next day has new limits, and
    /// the fill is checked against the next bar anyway; on, it models a trader who will not
    /// chase a sealed limit.
    pub reject_at_limit_close: bool,
}

impl Default for RiskConfig {
    fn default() -> Self {
        RiskConfig { max_position_pct: 0.2, max_positions: 10, circuit_breaker_pct: 0.05, reject_at_limit_close: false }
    }
}

/// Market rules: board lots and price limits, by board and date unless given.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MarketConfig {
    /// One lot for every board (buys in whole lots, odd lots only to close). Without it each
    /// board has its own: 100 on the main boards and ChiNext, at least 200 then 1-share steps
    /// on STAR, at least 100 then 1-share steps on Beijing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lot: Option<i64>,
    pub limits: LimitRules,
}

impl MarketConfig {
    pub fn lot_rules(&self) -> LotRules {
        LotRules { lot: self.lot }
    }
}

/// Buy model kinds: the built-in rankings, and the model files of `janus-models`.
pub const BUY_KINDS: [&str; 8] =
    ["momentum", "reversal", "score_file", "linear", "logistic", "lightgbm", "xgboost", "onnx"];
/// Sell model kinds: the built-in exit rules, and the model files of `janus-models`.
pub const SELL_KINDS: [&str; 6] = ["rules", "linear", "logistic", "lightgbm", "xgboost", "onnx"];

/// The buy model: a built-in ranking by past return, a score file, or a model file scoring
/// each symbol's [`crate::features::SYMBOL_FEATURES`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BuyModelConfig {
    /// `momentum` buys the strongest past returns, `reversal` the weakest; `score_file` ranks by
    /// the scores of a `date,symbol,score` file; `linear`, `logistic`, `lightgbm`, `xgboost`
    /// and `onnx` rank by a model's output on the symbol features.
    pub kind: String,
    /// Trading days of the past return (momentum and reversal).
    pub lookback: usize,
    /// Leave ST names out of the ranking.
    pub skip_st: bool,
    /// Boards the buy model may pick from (`main`, `chinext`, `star`, `beijing`).
    pub boards: Vec<String>,
    /// Score file or model file, relative to the config file's folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Score files: on a trading day without scores, rank by the latest earlier day's scores
    /// (otherwise nothing is bought that day).
    pub fill_missing_days: bool,
}

impl Default for BuyModelConfig {
    fn default() -> Self {
        BuyModelConfig {
            kind: "momentum".into(),
            lookback: 20,
            skip_st: true,
            boards: vec!["main".into(), "chinext".into(), "star".into(), "beijing".into()],
            path: None,
            fill_missing_days: false,
        }
    }
}

/// The sell model: the built-in exit rules on a position's own features, or a model file
/// giving a sell probability from the [`crate::features::POSITION_FEATURES`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SellModelConfig {
    /// `rules` (the four rules below), or a model file: `linear`, `logistic`, `lightgbm`,
    /// `xgboost`, `onnx`.
    pub kind: String,
    /// Sell when the price is this far below the high since entry (0.1 = 10%).
    pub trailing_stop: f64,
    pub take_profit: f64,
    pub stop_loss: f64,
    /// Sell after this many trading days held (0 = never).
    pub max_days: u32,
    /// Model file (every kind but `rules`), relative to the config file's folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl Default for SellModelConfig {
    fn default() -> Self {
        SellModelConfig {
            kind: "rules".into(),
            trailing_stop: 0.10,
            take_profit: 0.30,
            stop_loss: 0.08,
            max_days: 20,
            path: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StrategyConfig {
    /// A position is sold when the sell model's probability exceeds this.
    pub sell_threshold: f64,
    pub buy: BuyModelConfig,
    pub sell: SellModelConfig,
}

impl Default for StrategyConfig {
    fn default() -> Self {
        StrategyConfig { sell_threshold: 0.5, buy: BuyModelConfig::default(), sell: SellModelConfig::default() }
    }
}

/// Which of the market's frictions a run simulates. All on by default: a real run. Turning
/// them off one by one gives the frictionless twins that attribute the gap between the ideal
/// and the real run to each friction (see [`crate::friction`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Frictions {
    /// Commission, stamp duty, transfer fee and slippage.
    pub costs: bool,
    /// Daily price limits: buys blocked at limit-up, sells at limit-down, fills clamped.
    pub price_limits: bool,
    /// Suspended bars do not trade (when off they trade at their flat price, uncapped).
    pub suspensions: bool,
    /// Shares bought on a day sell from the next one (when off, at once).
    pub t_plus_1: bool,
    /// The volume participation cap (when off, any size fills).
    pub volume_cap: bool,
}

impl Default for Frictions {
    fn default() -> Self {
        Frictions { costs: true, price_limits: true, suspensions: true, t_plus_1: true, volume_cap: true }
    }
}

/// What a holder does on an ex-date: the dividend tax withheld and whether rights are taken.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorporateConfig {
    /// Events file (`symbol,ex_date,cash_dividend,bonus_shares,rights_shares,rights_price`),
    /// relative to the config file; without one, actions are inferred from an `adj_factor`
    /// column of the bars, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<String>,
    /// `differentiated` (individuals: 20% up to a month held, 10% up to a year, then 0) or
    /// `flat` (`dividend_tax_rate` on every dividend).
    pub dividend_tax: String,
    pub dividend_tax_rate: f64,
    /// `subscribe` (take up rights issues as far as cash allows) or `decline`.
    pub rights: String,
}

impl Default for CorporateConfig {
    fn default() -> Self {
        CorporateConfig {
            events: None,
            dividend_tax: "differentiated".into(),
            dividend_tax_rate: 0.0,
            rights: "subscribe".into(),
        }
    }
}

impl CorporateConfig {
    pub fn tax(&self) -> DividendTax {
        match self.dividend_tax.as_str() {
            "flat" => DividendTax::Flat(Rate::from_f64(self.dividend_tax_rate)),
            _ => DividendTax::Differentiated,
        }
    }
    pub fn subscribe_rights(&self) -> bool {
        self.rights == "subscribe"
    }
}

/// Everything the engine needs besides the data and the strategy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    pub initial_cash: f64,
    pub market: MarketConfig,
    pub fees: FeesConfig,
    pub fill: FillConfig,
    pub risk: RiskConfig,
    pub frictions: Frictions,
    pub corporate_actions: CorporateConfig,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            initial_cash: 1_000_000.0,
            market: MarketConfig::default(),
            fees: FeesConfig::default(),
            fill: FillConfig::default(),
            risk: RiskConfig::default(),
            frictions: Frictions::default(),
            corporate_actions: CorporateConfig::default(),
        }
    }
}

/// A configuration value that cannot work, naming its key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid config value for `{key}`: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

fn check(ok: bool, key: &str, message: &str) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError { key: key.into(), message: message.into() })
    }
}

impl EngineConfig {
    /// Reject values that would make a run meaningless, naming the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check(
            self.initial_cash.is_finite() && self.initial_cash > 0.0,
            "initial_cash",
            "must be a positive amount of CNY",
        )?;
        check(self.initial_cash < 1e14, "initial_cash", "is too large for the fixed-point ledger (max 1e14 CNY)")?;
        if let Some(lot) = self.market.lot {
            check(lot > 0, "market.lot", "must be a positive number of shares")?;
        }
        let f = &self.fees;
        for (k, v) in [
            ("fees.commission_rate", Some(f.commission_rate)),
            ("fees.min_commission", Some(f.min_commission)),
            ("fees.stamp_duty_before", f.stamp_duty_before),
            ("fees.stamp_duty_after", f.stamp_duty_after),
            ("fees.transfer_rate", f.transfer_rate),
        ] {
            if let Some(v) = v {
                check(v.is_finite() && v >= 0.0, k, "must be a non-negative number")?;
            }
        }
        check(f.commission_rate < 0.1, "fees.commission_rate", "is a fraction (0.00025 = 0.025%), not a percentage")?;
        for (k, v) in [
            ("fees.stamp_duty_before", f.stamp_duty_before),
            ("fees.stamp_duty_after", f.stamp_duty_after),
            ("fees.transfer_rate", f.transfer_rate),
        ] {
            check(!v.is_some_and(|v| v >= 0.1), k, "is a fraction (0.001 = 0.1%), not a percentage")?;
        }
        let v = self.fill.volume_participation;
        check(
            v > 0.0 && v <= 1.0,
            "fill.volume_participation",
            "must be in (0, 1], e.g. 0.1 for 10% of the bar's volume",
        )?;
        check(
            self.fill.slippage_bps >= 0.0 && self.fill.slippage_bps < 1000.0,
            "fill.slippage_bps",
            "must be in [0, 1000)",
        )?;
        let c = &self.corporate_actions;
        check(
            c.dividend_tax == "differentiated" || c.dividend_tax == "flat",
            "corporate_actions.dividend_tax",
            "must be \"differentiated\" or \"flat\"",
        )?;
        check(
            (0.0..1.0).contains(&c.dividend_tax_rate),
            "corporate_actions.dividend_tax_rate",
            "must be a fraction in [0, 1) (0.2 = 20%), not a percentage",
        )?;
        check(
            c.rights == "subscribe" || c.rights == "decline",
            "corporate_actions.rights",
            "must be \"subscribe\" or \"decline\"",
        )?;
        let r = &self.risk;
        not_a_percentage("risk.max_position_pct", r.max_position_pct, true)?;
        check(r.max_position_pct > 0.0 && r.max_position_pct <= 1.0, "risk.max_position_pct", "must be in (0, 1]")?;
        check(r.max_positions > 0, "risk.max_positions", "must be at least 1")?;
        not_a_percentage("risk.circuit_breaker_pct", r.circuit_breaker_pct, false)?;
        check(r.circuit_breaker_pct > 0.0, "risk.circuit_breaker_pct", "must be positive (e.g. 0.05 for 5%)")?;
        for (k, bps) in [
            ("market.limits.main_bps", self.market.limits.main_bps),
            ("market.limits.chinext_bps", self.market.limits.chinext_bps),
            ("market.limits.star_bps", self.market.limits.star_bps),
            ("market.limits.beijing_bps", self.market.limits.beijing_bps),
            ("market.limits.st_bps", self.market.limits.st_bps),
        ] {
            if let Some(bps) = bps {
                check((1..10_000).contains(&bps), k, "must be between 1 and 9999 basis points")?;
            }
        }
        Ok(())
    }
}

impl StrategyConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let b = &self.buy;
        check(
            BUY_KINDS.contains(&b.kind.as_str()),
            "strategy.buy.kind",
            &format!("must be one of {}", quoted(&BUY_KINDS)),
        )?;
        let built_in = b.kind == "momentum" || b.kind == "reversal";
        check(
            built_in || b.path.as_deref().is_some_and(|p| !p.is_empty()),
            "strategy.buy.path",
            &format!("is required for kind = \"{}\": the score or model file", b.kind),
        )?;
        check(
            !built_in || b.path.is_none(),
            "strategy.buy.path",
            &format!("is not used by kind = \"{}\"; remove it or choose a model kind", b.kind),
        )?;
        check(b.lookback >= 1, "strategy.buy.lookback", "must be at least 1 trading day")?;
        for board in &b.boards {
            check(
                ["main", "chinext", "star", "beijing"].contains(&board.as_str()),
                "strategy.buy.boards",
                "lists boards from main, chinext, star, beijing",
            )?;
        }
        let s = &self.sell;
        check(
            SELL_KINDS.contains(&s.kind.as_str()),
            "strategy.sell.kind",
            &format!("must be one of {}", quoted(&SELL_KINDS)),
        )?;
        check(
            s.kind == "rules" || s.path.as_deref().is_some_and(|p| !p.is_empty()),
            "strategy.sell.path",
            &format!("is required for kind = \"{}\": the model file", s.kind),
        )?;
        check(
            s.kind != "rules" || s.path.is_none(),
            "strategy.sell.path",
            "is not used by kind = \"rules\"; remove it or choose a model kind",
        )?;
        check((0.0..=1.0).contains(&self.sell_threshold), "strategy.sell_threshold", "must be in [0, 1]")?;
        for (k, v) in [
            ("strategy.sell.trailing_stop", s.trailing_stop),
            ("strategy.sell.take_profit", s.take_profit),
            ("strategy.sell.stop_loss", s.stop_loss),
        ] {
            check(v.is_finite() && v >= 0.0, k, "must be a non-negative fraction (0 turns the rule off)")?;
        }
        // A fall of 100% or more never happens: such a value was meant as a percentage.
        not_a_percentage("strategy.sell.trailing_stop", s.trailing_stop, false)?;
        not_a_percentage("strategy.sell.stop_loss", s.stop_loss, false)?;
        Ok(())
    }
}

/// A fraction key given as a percentage (`stop_loss = 8` for 8%): an error saying how to write
/// it. `one_allowed` when 1 (100%) is a meaningful value of the key.
fn not_a_percentage(key: &str, v: f64, one_allowed: bool) -> Result<(), ConfigError> {
    if v > 1.0 || (v == 1.0 && !one_allowed) {
        return Err(ConfigError {
            key: key.into(),
            message: format!("is {v}, which reads as a percentage; it is a fraction: {} means {v}%", v / 100.0),
        });
    }
    Ok(())
}

fn quoted(kinds: &[&str]) -> String {
    kinds.iter().map(|k| format!("\"{k}\"")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_kind_needs_a_path_and_a_rule_kind_refuses_one() {
        let mut c = StrategyConfig::default();
        assert!(c.validate().is_ok());
        c.sell.kind = "lightgbm".into();
        assert_eq!(c.validate().unwrap_err().key, "strategy.sell.path");
        c.sell.path = Some("model.txt".into());
        assert!(c.validate().is_ok());
        c.sell.kind = "rules".into();
        assert_eq!(c.validate().unwrap_err().key, "strategy.sell.path");
        let mut c = StrategyConfig::default();
        c.buy.kind = "score_file".into();
        assert_eq!(c.validate().unwrap_err().key, "strategy.buy.path");
        c.buy.path = Some("scores.csv".into());
        assert!(c.validate().is_ok());
    }

    #[test]
    fn market_and_fee_values_are_optional_overrides_checked_by_key() {
        use janus_core::{Board, BoardLot, Exchange};
        let mut c = EngineConfig::default();
        assert!(c.validate().is_ok());
        assert_eq!(c.market.lot_rules().board(Board::Star), BoardLot { min: 200, step: 1 }, "lots by board");
        c.market.lot = Some(100);
        assert_eq!(c.market.lot_rules().board(Board::Star), BoardLot { min: 100, step: 100 }, "one lot for all");
        c.market.lot = Some(0);
        assert_eq!(c.validate().unwrap_err().key, "market.lot");
        let mut c = EngineConfig::default();
        c.market.limits.star_bps = Some(10_000);
        assert_eq!(c.validate().unwrap_err().key, "market.limits.star_bps");
        let mut c = EngineConfig::default();
        c.fees.stamp_duty_after = Some(5.0);
        let e = c.validate().unwrap_err();
        assert_eq!(e.key, "fees.stamp_duty_after");
        assert!(e.message.contains("fraction"), "{}", e.message);
        c.fees.stamp_duty_after = Some(-0.001);
        assert_eq!(c.validate().unwrap_err().key, "fees.stamp_duty_after");
        // Without values the schedule is the history; with one, that value wins on its dates.
        let date = chrono::NaiveDate::from_ymd_opt(2008, 5, 5).unwrap();
        let notional = Money::from_yuan(100_000.0);
        let history = EngineConfig::default().fees.schedule();
        assert_eq!(
            history.order_fees(Exchange::Shenzhen, false, date, 10_000, notional).taxes,
            Money::from_yuan(102.55)
        );
        let mut flat = EngineConfig::default().fees;
        (flat.stamp_duty_before, flat.transfer_rate) = (Some(0.001), Some(0.00001));
        let flat = flat.schedule();
        assert_eq!(flat.order_fees(Exchange::Shenzhen, false, date, 10_000, notional).taxes, Money::from_yuan(1.0));
        assert_eq!(flat.order_fees(Exchange::Shenzhen, true, date, 10_000, notional).taxes, Money::from_yuan(101.0));
    }

    /// (key, value given as a percentage, the fraction the message must suggest).
    #[test]
    fn a_fraction_given_as_a_percentage_names_the_key_and_the_fraction() {
        let cases = [
            ("strategy.sell.stop_loss", 8.0, "0.08 means 8%"),
            ("strategy.sell.trailing_stop", 10.0, "0.1 means 10%"),
            ("risk.max_position_pct", 20.0, "0.2 means 20%"),
            ("risk.circuit_breaker_pct", 5.0, "0.05 means 5%"),
            ("strategy.sell.stop_loss", 1.0, "0.01 means 1%"),
        ];
        for (key, v, want) in cases {
            let mut e = EngineConfig::default();
            let mut s = StrategyConfig::default();
            match key {
                "strategy.sell.stop_loss" => s.sell.stop_loss = v,
                "strategy.sell.trailing_stop" => s.sell.trailing_stop = v,
                "risk.max_position_pct" => e.risk.max_position_pct = v,
                _ => e.risk.circuit_breaker_pct = v,
            }
            let err = e.validate().and_then(|_| s.validate()).unwrap_err();
            assert_eq!(err.key, key);
            assert!(err.to_string().contains(want) && err.to_string().contains(key), "{err}");
        }
        let mut e = EngineConfig::default();
        e.risk.max_position_pct = 1.0;
        assert!(e.validate().is_ok(), "one position may take everything");
        let mut s = StrategyConfig::default();
        s.sell.take_profit = 2.0;
        assert!(s.validate().is_ok(), "a take profit of 200% is a fraction above 1");
    }

    #[test]
    fn an_unknown_kind_lists_the_known_ones() {
        let mut c = StrategyConfig::default();
        c.sell.kind = "random_forest".into();
        let e = c.validate().unwrap_err();
        assert_eq!(e.key, "strategy.sell.kind");
        assert!(e.message.contains("\"lightgbm\"") && e.message.contains("\"onnx\""), "{}", e.message);
    }
}
