//! The columnar bar panel: dates x symbols, one flat array per field, row-major by date so a
//! day's cross-section is contiguous. Indexed by dense integers in the engine's hot loop.

use chrono::NaiveDate;
use janus_core::money::TICK;
use janus_core::{Board, DailyLimit, LimitRules, Listing, Price, Price32, SymbolId};

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
    /// Not a member of the universe file's index that day (set only when a universe file is
    /// loaded: without one every symbol is a member). Buy models leave such cells out.
    pub const OUT_OF_UNIVERSE: u8 = 16;
}

/// All bars of a market. Cell `(d, s)` is at index `d * n_symbols + s`. Prices are stored in
/// 32 bits ([`Price32`]; the loaders refuse a price that would not fit) and read back exactly
/// with [`Price32::get`].
#[derive(Clone, Debug, Default)]
pub struct Panel {
    pub dates: Vec<NaiveDate>,
    pub symbols: Vec<String>,
    pub boards: Vec<Board>,
    pub open: Vec<Price32>,
    pub high: Vec<Price32>,
    pub low: Vec<Price32>,
    pub close: Vec<Price32>,
    /// Shares traded.
    pub volume: Vec<f64>,
    /// Value traded in CNY (NaN when the data has none).
    pub amount: Vec<f64>,
    /// Limit prices for the day (zero when unknown, e.g. the first bar of a symbol).
    pub limit_up: Vec<Price32>,
    pub limit_down: Vec<Price32>,
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
        let c = self.close[i].get().as_f64();
        match self.adj_factor.get(i) {
            Some(f) => c * f,
            None => c,
        }
    }
    /// Adjusted close of cell `now` over that of cell `then` (exactly the raw ratio when the
    /// panel has no adjustment).
    #[inline]
    pub fn adj_ratio(&self, now: usize, then: usize) -> f64 {
        let raw = self.close[now].get().0 as f64 / self.close[then].get().0 as f64;
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
            p.max(self.low[i].get()).min(self.high[i].get())
        } else {
            Price((self.high[i].get().0 + self.low[i].get().0 + self.close[i].get().0) / 3)
        }
    }

    /// Fill in derived limit prices for every present cell without explicit ones, by the rules
    /// of its date ([`janus_core::calendar`] with the config's explicit values over it): from the
    /// symbol's previous close (the ex-rights reference price on an ex-date), its board, its ST
    /// flag and its trading days since listing. A day without a limit (a new listing's free
    /// days, a first bar without a previous close) gets limit prices of zero. A listing day
    /// under first-day bounds takes them around its own open: the panel has no issue price.
    pub fn derive_limits(&mut self, rules: &LimitRules) {
        let n = self.n_symbols();
        if n == 0 {
            return;
        }
        // Symbols are independent: each thread takes a range of them, and gets that range of
        // every day's limit row.
        let threads = crate::workers().min(n.div_ceil(256));
        let per = n.div_ceil(threads);
        let mut rows: Vec<Vec<(&mut [Price32], &mut [Price32])>> = (0..threads).map(|_| Vec::new()).collect();
        for (up, down) in self.limit_up.chunks_mut(n).zip(self.limit_down.chunks_mut(n)) {
            for ((u, d), r) in up.chunks_mut(per).zip(down.chunks_mut(per)).zip(rows.iter_mut()) {
                r.push((u, d));
            }
        }
        let cells = Cells {
            dates: &self.dates,
            boards: &self.boards,
            flags: &self.flags,
            open: &self.open,
            close: &self.close,
            actions: &self.actions,
            n,
        };
        std::thread::scope(|s| {
            let mut ranges = rows.into_iter().enumerate();
            let first = ranges.next();
            for (k, r) in ranges {
                let cells = &cells;
                s.spawn(move || cells.derive(k * per, r, rules));
            }
            if let Some((k, r)) = first {
                cells.derive(k * per, r, rules);
            }
        });
    }

    /// Where `sid` stands in its listing life on `day`, as [`Panel::derive_limits`] sees it.
    /// The panel has no listing dates: a symbol whose first bar comes after the panel's first
    /// date listed on that bar; one present from the first date listed before the data began
    /// (a data set that starts on a listing day treats that listing as seasoned). Reads no
    /// bar after `day`.
    pub fn listing(&self, day: usize, sid: SymbolId) -> Listing {
        match (0..=day.min(self.n_dates().saturating_sub(1))).find(|&d| self.is_present(d, sid)) {
            Some(first) => listing_at(&self.dates, first, day),
            None => Listing::Seasoned,
        }
    }
}

/// What deriving limits reads of a panel.
struct Cells<'a> {
    dates: &'a [NaiveDate],
    boards: &'a [Board],
    flags: &'a [u8],
    open: &'a [Price32],
    close: &'a [Price32],
    actions: &'a [crate::actions::DayAction],
    n: usize,
}

impl Cells<'_> {
    /// [`Panel::derive_limits`] for the symbols from `from` on: `rows` holds their limit-up and
    /// limit-down on each day.
    fn derive(&self, from: usize, rows: Vec<(&mut [Price32], &mut [Price32])>, rules: &LimitRules) {
        let width = rows.first().map_or(0, |(u, _)| u.len());
        // Day by day with each symbol's last close (zero: none yet) and first bar at hand:
        // contiguous memory access.
        let mut prev: Vec<Price32> = vec![Price32::ZERO; width];
        let mut first: Vec<Option<usize>> = vec![None; width];
        let mut actions = self.actions.iter().peekable();
        for (d, (up, down)) in rows.into_iter().enumerate() {
            // On an ex-date the limits come from the ex-rights reference price, not the close.
            while let Some(a) = actions.next_if(|a| a.day as usize <= d) {
                let s = (a.sid as usize).wrapping_sub(from);
                if let Some(pc) = prev.get(s).filter(|p| p.is_positive()) {
                    prev[s] = narrow(a.action.reference_price(pc.get()));
                }
            }
            let date = self.dates[d];
            // The day's rule of a seasoned name depends only on its board and ST flag: look
            // each up once a day, not once a cell (the calendar walks dated rules).
            let seasoned: [[Rule; 2]; 4] = BOARDS
                .map(|board| [false, true].map(|st| Rule::of(rules.daily_limit(date, board, st, Listing::Seasoned))));
            let (flags, open, close) =
                (&self.flags[d * self.n + from..], &self.open[d * self.n + from..], &self.close[d * self.n + from..]);
            for s in 0..width {
                let f = flags[s];
                if f & flag::PRESENT == 0 {
                    continue;
                }
                let listed_at = *first[s].get_or_insert(d);
                if f & flag::EXPLICIT_LIMITS == 0 {
                    let (board, st) = (self.boards[from + s], f & flag::ST != 0);
                    (up[s], down[s]) = if listed_at > 0 && d - listed_at < NEW_LISTING_DAYS {
                        let rule = rules.daily_limit(date, board, st, listing_at(self.dates, listed_at, d));
                        Rule::Other(rule).prices(prev[s], open[s])
                    } else {
                        seasoned[board as usize][st as usize].prices(prev[s], open[s])
                    };
                }
                prev[s] = close[s];
            }
        }
    }
}

/// A day's limit rule, the common one (a percentage of the previous close) ready for the loop
/// over every cell.
#[derive(Clone, Copy)]
enum Rule {
    /// Limit-up and limit-down are the previous close times these, over [`Rule::PER`], to the
    /// tick: [`janus_core::rules::bounds`] in unsigned 64-bit arithmetic, which cannot
    /// overflow for a 32-bit price (and needs no branch on the sign).
    Percent {
        up: u64,
        down: u64,
    },
    Other(DailyLimit),
}

impl Rule {
    /// Units of the factors: basis points times the tick.
    const PER: u64 = 10_000 * TICK as u64;

    fn of(rule: DailyLimit) -> Rule {
        match rule {
            // A limit of 100% or more (never a real one) takes the general path.
            DailyLimit::FromPrevClose(bps) if (0..10_000).contains(&bps) => {
                Rule::Percent { up: (10_000 + bps) as u64, down: (10_000 - bps) as u64 }
            }
            rule => Rule::Other(rule),
        }
    }

    /// Limit-up and limit-down from the previous close (zero: none) and the day's open.
    #[inline(always)]
    fn prices(self, prev: Price32, open: Price32) -> (Price32, Price32) {
        match self {
            Rule::Percent { up, down } => {
                let p = prev.get().0 as u64;
                // Half up, as `bounds` rounds a positive product; zero stays zero.
                let at = |factor: u64| narrow(Price(((p * factor + Self::PER / 2) / Self::PER * TICK as u64) as i64));
                (at(up), at(down))
            }
            Rule::Other(rule) => Self::other(rule, prev, open),
        }
    }

    /// [`Rule::prices`] of a rule that is not a percentage (rare: a new listing's days, a
    /// board without limits), kept out of the loop's code.
    #[inline(never)]
    fn other(rule: DailyLimit, prev: Price32, open: Price32) -> (Price32, Price32) {
        let (u, d) = rule.prices(prev.is_positive().then(|| prev.get()), open.get());
        (narrow(u), narrow(d))
    }
}

/// A price the panel computed (a derived limit, a generated bar) in 32 bits. Bars are at most
/// 200,000 CNY (the loaders refuse larger prices, the generator stays below) and no limit
/// reaches twice its reference price (configured limits are below 100%, a listing day's bound
/// is +44%), so every such price fits; were one not to, the largest price would stand in for
/// it, never a missing one. A negative one (from an ex-rights reference price a dividend
/// larger than the close drove below zero) is zero: no limit.
pub(crate) fn narrow(limit: Price) -> Price32 {
    Price32::new(limit.max(Price::ZERO)).unwrap_or(Price32::MAX)
}

/// Trading days after a listing during which its own rules may apply (the longest, STAR's and
/// the registration-system boards', is five); later its limits are a seasoned name's.
const NEW_LISTING_DAYS: usize = 8;

/// Every board, in the order of their discriminants (`board as usize` indexes a table built
/// from this).
const BOARDS: [Board; 4] = [Board::Main, Board::ChiNext, Board::Star, Board::Beijing];

/// The listing of a symbol whose first bar is on day `first`, seen on `day` (see
/// [`Panel::listing`]).
fn listing_at(dates: &[NaiveDate], first: usize, day: usize) -> Listing {
    if first == 0 {
        return Listing::Seasoned;
    }
    Listing::New { listed: dates[first], day: day.saturating_sub(first) as u32 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The loop's percentage rule gives exactly what the rules' own `bounds` gives, for
        /// every 32-bit previous close (on the tick or not: an ex-rights reference price) and
        /// every percentage below 100%.
        #[test]
        fn the_percent_rule_is_the_rules_own_bounds(prev in 0u32..=u32::MAX, bps in 0i64..10_000, open in 0u32..=u32::MAX) {
            let (prev, open) = (narrow(Price(i64::from(prev))), narrow(Price(i64::from(open))));
            let rule = DailyLimit::FromPrevClose(bps);
            prop_assert!(matches!(Rule::of(rule), Rule::Percent { .. }), "a percentage takes the fast path");
            let general = Rule::Other(rule).prices(prev, open);
            prop_assert_eq!(Rule::of(rule).prices(prev, open), general);
            if prev.is_positive() {
                let (u, d) = janus_core::rules::limit_prices(prev.get(), bps);
                prop_assert_eq!(general, (narrow(u), narrow(d)));
            } else {
                prop_assert_eq!(general, (Price32::ZERO, Price32::ZERO));
            }
        }
    }

    #[test]
    fn limits_that_are_not_a_percentage_take_the_rules_path() {
        for rule in
            [DailyLimit::Free, DailyLimit::FirstDay { up_bps: 4400, down_bps: 3600 }, DailyLimit::FromPrevClose(10_000)]
        {
            assert!(matches!(Rule::of(rule), Rule::Other(_)), "{rule:?}");
        }
        let p = |yuan| narrow(Price::from_yuan(yuan));
        // A listing day's bounds around its open; no previous close needed.
        assert_eq!(
            Rule::of(DailyLimit::FirstDay { up_bps: 4400, down_bps: 3600 }).prices(Price32::ZERO, p(10.0)),
            (p(14.4), p(6.4))
        );
        assert_eq!(Rule::of(DailyLimit::Free).prices(p(10.0), p(10.0)), (Price32::ZERO, Price32::ZERO));
        // A negative price (never a real one) is no limit.
        assert_eq!(narrow(Price(-5)), Price32::ZERO);
        assert_eq!(narrow(Price(i64::from(u32::MAX) + 1)), Price32::MAX);
    }
}
