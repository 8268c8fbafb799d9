//! The matcher: decides how much of an order the execution bar can fill, and at what price,
//! under the A-share rules (suspension, price limits, limit prices, volume cap). Pure: it
//! reads the bar and the order and returns an outcome; the engine applies it to the ledger.

use crate::config::{FillConfig, FillPrice, Frictions, LimitBlock};
use janus_core::{Bar, Order, OrderType, Price, Qty, RiskReason, Side, SymbolId};
use janus_data::{History, Panel};

/// What one bar does to one order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchOutcome {
    /// Shares and price of the fill, if any.
    pub fill: Option<(Qty, Price)>,
    /// The bar's reference price for the fill mode, before slippage and limits.
    pub reference: Price,
    /// Why the market did not fill all of it, when it was the market's doing.
    pub refusal: Option<(RiskReason, String)>,
}

impl MatchOutcome {
    fn refused(reference: Price, reason: RiskReason, detail: String) -> MatchOutcome {
        MatchOutcome { fill: None, reference, refusal: Some((reason, detail)) }
    }
}

/// Match `order` against bar `day` of `sid` of a panel (see [`match_bar`]).
#[allow(clippy::too_many_arguments)]
pub fn match_order(
    order: &Order,
    sid: SymbolId,
    panel: &Panel,
    day: usize,
    cfg: &FillConfig,
    frictions: &Frictions,
    lot: Qty,
    volume_used: Qty,
) -> MatchOutcome {
    let bar = History::new(panel, day).bar(0, sid);
    match_bar(order, bar.as_ref(), cfg, frictions, lot, volume_used)
}

/// Match `order` against the execution day's `bar` of its symbol (`None`: no bar that day).
/// `volume_used` is what earlier orders of the same symbol already took from this bar under
/// the participation cap. `frictions` says which of the market's rules apply (all of them in a
/// real run).
pub fn match_bar(
    order: &Order,
    bar: Option<&Bar>,
    cfg: &FillConfig,
    frictions: &Frictions,
    lot: Qty,
    volume_used: Qty,
) -> MatchOutcome {
    // Without the suspension friction a halted bar (present, flat, no volume) trades at its
    // price; a missing bar never does: there is no price to trade at.
    let Some(bar) = bar.filter(|b| b.tradable || !frictions.suspensions) else {
        return MatchOutcome::refused(
            Price::ZERO,
            RiskReason::MarketSuspended,
            "no trading on the execution day".into(),
        );
    };
    let halted = !bar.tradable;
    let (open, high, low, close) = (bar.open, bar.high, bar.low, bar.close);
    let reference = match cfg.price {
        FillPrice::Open => open,
        FillPrice::Vwap => bar.vwap(),
        FillPrice::Close => close,
    };
    let (up, down) = if frictions.price_limits { (bar.limit_up, bar.limit_down) } else { (Price::ZERO, Price::ZERO) };
    let one_price = high == low;
    match order.side {
        Side::Buy if up.is_positive() => {
            let blocked = match cfg.limit_block {
                LimitBlock::AtLimit => reference >= up,
                LimitBlock::OnePrice => one_price && low >= up,
            };
            if blocked {
                return MatchOutcome::refused(reference, RiskReason::MarketLimitUp, format!("bar at limit-up {up}"));
            }
        }
        Side::Sell if down.is_positive() => {
            let blocked = match cfg.limit_block {
                LimitBlock::AtLimit => reference <= down,
                LimitBlock::OnePrice => one_price && high <= down,
            };
            if blocked {
                return MatchOutcome::refused(
                    reference,
                    RiskReason::MarketLimitDown,
                    format!("bar at limit-down {down}"),
                );
            }
        }
        _ => {}
    }

    // Slippage moves the price against the order, to the tick, never beyond the limits.
    let mut price = reference;
    if cfg.slippage_bps > 0.0 && frictions.costs {
        let slip = (reference.0 as f64 * cfg.slippage_bps / 10_000.0).round() as i64;
        price = match order.side {
            Side::Buy => Price(reference.0 + slip).ceil_tick(),
            Side::Sell => Price(reference.0 - slip).floor_tick(),
        };
    }
    match order.side {
        Side::Buy => {
            price = price.min(high);
            if up.is_positive() {
                price = price.min(up);
            }
        }
        Side::Sell => {
            price = price.max(low);
            if down.is_positive() {
                price = price.max(down);
            }
        }
    }

    // A limit order fills at its reference when that is at or better than its limit, or at the
    // limit when the bar trades through it; otherwise not at all (it simply expires).
    if let OrderType::Limit(limit) = order.order_type {
        match order.side {
            Side::Buy if price > limit => {
                if low < limit {
                    price = limit;
                } else {
                    return MatchOutcome { fill: None, reference, refusal: None };
                }
            }
            Side::Sell if price < limit => {
                if high > limit {
                    price = limit;
                } else {
                    return MatchOutcome { fill: None, reference, refusal: None };
                }
            }
            _ => {}
        }
    }

    // Volume participation cap, in whole lots unless the sell closes out what is left.
    if !frictions.volume_cap || halted {
        let qty = order.remaining();
        return MatchOutcome { fill: (qty > 0).then_some((qty, price)), reference, refusal: None };
    }
    let cap = ((bar.volume * cfg.volume_participation).floor() as Qty - volume_used).max(0);
    let remaining = order.remaining();
    let qty = if remaining <= cap { remaining } else { cap / lot * lot };
    let refusal = (qty < remaining).then(|| {
        (
            RiskReason::VolumeCap,
            format!(
                "filled {qty} of {remaining}: cap {cap} shares at {:.0}% of volume",
                cfg.volume_participation * 100.0
            ),
        )
    });
    MatchOutcome { fill: (qty > 0).then_some((qty, price)), reference, refusal }
}
