//! Where the money went: how far each round trip ran for and against the position before it
//! closed, the trades that gave their gains back, and the sells that could not execute.
//!
//! Excursions use the daily closes of the position snapshots (and the exit fill), not the
//! bars' highs and lows: the run folder alone then reproduces them, and a close is a price the
//! strategy could actually have acted on, since orders are decided after the close.

use crate::trades::RoundTrip;
use chrono::NaiveDate;
use janus_core::money::div_round;
use janus_core::{Money, Order, OrderId, Price, Qty, RiskReason, RunRecord, Side};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Default "was up at least" threshold of the gave-it-back table: 20%.
pub const GAVE_BACK_UP: f64 = 0.20;
/// Default "closed below" threshold of the gave-it-back table: a loss.
pub const GAVE_BACK_BELOW: f64 = 0.0;

/// Why a round trip ended, grouped from the closing order's tag.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitKind {
    /// A sell model asked for it (any tag that is not a stop rule).
    SellModel,
    /// A rule of the rule-based sell model: `trailing_stop`, `take_profit`, `stop_loss`,
    /// `max_days`.
    StopRule,
    /// Still held when the run ended: marked (as if sold) at the last close.
    EndOfRun,
    /// The closing order is missing from the record or has no tag.
    #[default]
    Unknown,
}

/// Tags of the rule sell model's exits.
pub const STOP_RULES: [&str; 4] = ["trailing_stop", "take_profit", "stop_loss", "max_days"];

impl ExitKind {
    /// Classify a round trip's exit reason (the closing order's tag, `open` or `unknown`).
    pub fn of_reason(reason: &str) -> ExitKind {
        match reason {
            crate::trades::OPEN => ExitKind::EndOfRun,
            crate::trades::UNKNOWN | "" => ExitKind::Unknown,
            r if STOP_RULES.contains(&r) => ExitKind::StopRule,
            _ => ExitKind::SellModel,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ExitKind::SellModel => "sell_model",
            ExitKind::StopRule => "stop_rule",
            ExitKind::EndOfRun => "end_of_run",
            ExitKind::Unknown => "unknown",
        }
    }
}

/// Fill in each trip's maximum favourable and adverse excursions and its giveback from the
/// position snapshots of `record`. The excursion is the unrealized return `close / entry - 1`
/// over every snapshot close while the trip was held and the exit price; the entry itself counts
/// as 0, so `mfe >= 0 >= mae`. After a corporate action the closes are in the new shares: they
/// are scaled back by how far the snapshot's entry price was restated (its first value over the
/// current one), so a bonus issue is not an adverse excursion.
pub fn add_excursions(trips: &mut [RoundTrip], record: &RunRecord) {
    let mut closes: BTreeMap<&str, Vec<(NaiveDate, Price, Price)>> = BTreeMap::new();
    for p in &record.position_snapshots {
        closes.entry(p.symbol.as_str()).or_default().push((p.date, p.last_price, p.entry_price));
    }
    for series in closes.values_mut() {
        series.sort_unstable();
    }
    for t in trips.iter_mut() {
        let (mut best, mut worst) = (0.0f64, 0.0f64);
        if t.entry_price > 0.0 {
            let mut see = |price: f64| {
                let r = price / t.entry_price - 1.0;
                best = best.max(r);
                worst = worst.min(r);
            };
            let mut scale = 1.0;
            let mut last_seen = t.entry_date;
            if let Some(series) = closes.get(t.symbol.as_str()) {
                let from = series.partition_point(|(d, _, _)| *d < t.entry_date);
                let first_entry = series.get(from).map_or(0, |(_, _, e)| e.0);
                for (date, close, entry) in &series[from..] {
                    if t.exit_date.is_some_and(|exit| *date >= exit) {
                        break;
                    }
                    if entry.0 > 0 && first_entry > 0 {
                        scale = first_entry as f64 / entry.0 as f64;
                    }
                    last_seen = *date;
                    see(close.as_f64() * scale);
                }
            }
            // A bonus issue on the exit day itself (sold at that open) has no snapshot yet.
            if let Some(exit) = t.exit_date {
                for a in record.corporate_actions.iter().filter(|a| a.symbol == t.symbol) {
                    if a.date > last_seen && a.date <= exit && a.shares_before > 0 {
                        scale *= a.shares_before as f64 / (a.shares_before + a.bonus_shares) as f64;
                    }
                }
            }
            see(t.exit_price * scale);
        }
        t.mfe = best;
        t.mae = worst;
        t.giveback = best - t.ret;
        t.exit_kind = ExitKind::of_reason(&t.exit_reason);
    }
}

/// Trips that were up at least `up` at some close and ended (or, still open, stand) below
/// `below`, the largest giveback first.
pub fn gave_back(trips: &[RoundTrip], up: f64, below: f64) -> Vec<&RoundTrip> {
    let mut out: Vec<&RoundTrip> = trips.iter().filter(|t| t.mfe >= up && t.ret < below).collect();
    out.sort_by(|a, b| {
        b.giveback.total_cmp(&a.giveback).then((a.entry_date, &a.symbol).cmp(&(b.entry_date, &b.symbol)))
    });
    out
}

/// Refusals that leave a wanted sell stuck: the market's (limit-down, suspension, volume cap)
/// and the T+1 rule's.
pub fn is_stuck_sell_reason(reason: RiskReason) -> bool {
    matches!(
        reason,
        RiskReason::Suspended
            | RiskReason::LimitDown
            | RiskReason::TPlusOne
            | RiskReason::MarketSuspended
            | RiskReason::MarketLimitDown
            | RiskReason::VolumeCap
    )
}

/// One wanted sell that the market refused or the rules delayed, from its first refusal to the
/// next sell fill of the symbol. The strategy usually asks again every day while stuck; those
/// repeated refusals belong to the same episode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RefusedSell {
    pub symbol: String,
    /// The first refused order.
    pub order_id: OrderId,
    /// Why the strategy wanted to sell (the order's tag).
    pub tag: String,
    /// Reason code of the first refusal.
    pub reason: RiskReason,
    /// Refusal events in the episode.
    pub refusals: u32,
    /// Trading day the sell was decided on (after its close).
    pub wanted_date: NaiveDate,
    /// The position's close on `wanted_date`.
    pub wanted_price: Price,
    /// Shares the first refused order could not sell.
    pub shares: Qty,
    /// Day of the next sell fill of the symbol; `None` when still stuck at the end.
    pub filled_date: Option<NaiveDate>,
    /// Average price of that day's sell fills, or the last close when still stuck.
    pub fill_price: f64,
    /// Trading days on which the sell could have filled and did not: from the day after
    /// `wanted_date` to the day before the fill (to the last day when still stuck).
    pub days_stuck: u32,
    /// `(wanted_price - fill_price) * shares`: positive when waiting lost money.
    pub cost: Money,
}

impl RefusedSell {
    pub fn is_resolved(&self) -> bool {
        self.filled_date.is_some()
    }
}

/// Totals of [`RefusedSell`]s, as written to `metrics.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RefusedSellTotals {
    /// Episodes of stuck sells.
    pub episodes: u64,
    /// Refusal events in them.
    pub refusals: u64,
    /// Episodes that ended in a fill.
    pub resolved: u64,
    /// Episodes still stuck when the run ended.
    pub still_stuck: u64,
    /// Shares stuck, over all episodes.
    pub shares: i64,
    /// Average trading days stuck over the resolved episodes.
    pub avg_days_stuck: Option<f64>,
    /// Cost of waiting of the resolved episodes, exact decimal yuan (positive = lost).
    pub cost_resolved: String,
    /// Cost of the episodes still stuck, marked at the last close.
    pub cost_still_stuck: String,
    /// Episodes by the reason code of their first refusal.
    pub by_reason: BTreeMap<String, u64>,
}

/// Sum up refused-sell episodes.
pub fn refused_sell_totals(refused: &[RefusedSell]) -> RefusedSellTotals {
    let resolved: Vec<&RefusedSell> = refused.iter().filter(|r| r.is_resolved()).collect();
    let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
    for r in refused {
        *by_reason.entry(r.reason.code().to_string()).or_default() += 1;
    }
    let cost = |it: &mut dyn Iterator<Item = &RefusedSell>| it.map(|r| r.cost).sum::<Money>().to_string();
    RefusedSellTotals {
        episodes: refused.len() as u64,
        refusals: refused.iter().map(|r| r.refusals as u64).sum(),
        resolved: resolved.len() as u64,
        still_stuck: (refused.len() - resolved.len()) as u64,
        shares: refused.iter().map(|r| r.shares).sum(),
        avg_days_stuck: (!resolved.is_empty())
            .then(|| resolved.iter().map(|r| r.days_stuck as f64).sum::<f64>() / resolved.len() as f64),
        cost_resolved: cost(&mut resolved.iter().copied()),
        cost_still_stuck: cost(&mut refused.iter().filter(|r| !r.is_resolved())),
        by_reason,
    }
}

/// Find the refused-sell episodes of a run, ordered by wanted date, then symbol.
pub fn refused_sells(record: &RunRecord) -> Vec<RefusedSell> {
    let orders: BTreeMap<OrderId, &Order> = record.orders.iter().map(|o| (o.id, o)).collect();
    let mut calendar: Vec<NaiveDate> = record.account_snapshots.iter().map(|s| s.date).collect();
    calendar.sort_unstable();
    calendar.dedup();
    let day_index = |d: NaiveDate| calendar.partition_point(|c| *c < d);

    let mut closes: BTreeMap<(&str, NaiveDate), Price> = BTreeMap::new();
    let mut last_close: BTreeMap<&str, Price> = BTreeMap::new();
    for p in &record.position_snapshots {
        closes.insert((p.symbol.as_str(), p.date), p.last_price);
        last_close.insert(p.symbol.as_str(), p.last_price);
    }
    // Sell fills by symbol and day: (quantity, notional).
    let mut sells: BTreeMap<&str, BTreeMap<NaiveDate, (Qty, Money)>> = BTreeMap::new();
    for f in record.executions.iter().filter(|f| f.side == Side::Sell && f.quantity > 0) {
        let day = sells.entry(f.symbol.as_str()).or_default().entry(f.date).or_insert((0, Money::ZERO));
        day.0 += f.quantity;
        day.1 += f.price.notional(f.quantity);
    }
    let mut fills_of: BTreeMap<OrderId, Vec<(NaiveDate, Qty)>> = BTreeMap::new();
    for f in record.executions.iter().filter(|f| f.side == Side::Sell) {
        fills_of.entry(f.order_id).or_default().push((f.date, f.quantity));
    }
    let mut events: Vec<_> =
        record.risk_events.iter().filter(|e| e.side == Side::Sell && is_stuck_sell_reason(e.reason)).collect();
    events.sort_by(|a, b| (a.symbol.as_str(), a.date, a.order_id).cmp(&(b.symbol.as_str(), b.date, b.order_id)));

    let mut out: Vec<RefusedSell> = Vec::new();
    // The episode still open for a symbol: its index in `out` and the day it ends.
    let mut current: Option<(&str, usize, Option<NaiveDate>)> = None;
    for e in events {
        if let Some((symbol, i, end)) = current {
            if symbol == e.symbol && end.is_none_or(|end| e.date < end) {
                out[i].refusals += 1;
                continue;
            }
        }
        let order = orders.get(&e.order_id);
        let wanted_date = order.map_or(e.date, |o| o.created);
        // What the order had not sold by the refusal: a sell queued through a halt fills in
        // full later, so its final state alone would say nothing was stuck.
        let sold_by_then: Qty =
            fills_of.get(&e.order_id).map_or(0, |f| f.iter().filter(|(d, _)| *d <= e.date).map(|(_, q)| q).sum());
        let shares = order.map_or(0, |o| (o.quantity - sold_by_then).max(0));
        let wanted_price = closes
            .range((e.symbol.as_str(), NaiveDate::MIN)..=(e.symbol.as_str(), wanted_date))
            .next_back()
            .map_or(Price::ZERO, |(_, p)| *p);
        let fill = sells.get(e.symbol.as_str()).and_then(|days| days.range(e.date.succ_opt()?..).next());
        let (filled_date, fill_value, fill_price, last) = match fill {
            Some((date, (qty, notional))) => {
                let value = Money(div_round(notional.0 as i128 * shares as i128, *qty as i128) as i64);
                (Some(*date), value, notional.as_f64() / *qty as f64, *date)
            }
            None => {
                let mark = last_close.get(e.symbol.as_str()).copied().unwrap_or(wanted_price);
                let end = calendar.last().copied().unwrap_or(e.date);
                (None, mark.notional(shares), mark.as_f64(), end)
            }
        };
        let waited = day_index(last).saturating_sub(day_index(wanted_date));
        let days_stuck = if filled_date.is_some() { waited.saturating_sub(1) } else { waited };
        out.push(RefusedSell {
            symbol: e.symbol.clone(),
            order_id: e.order_id,
            tag: order.map_or_else(String::new, |o| o.tag.clone()),
            reason: e.reason,
            refusals: 1,
            wanted_date,
            wanted_price,
            shares,
            filled_date,
            fill_price,
            days_stuck: days_stuck as u32,
            cost: wanted_price.notional(shares) - fill_value,
        });
        current = Some((e.symbol.as_str(), out.len() - 1, filled_date));
    }
    out.sort_by(|a, b| (a.wanted_date, &a.symbol, a.order_id).cmp(&(b.wanted_date, &b.symbol, b.order_id)));
    out
}
