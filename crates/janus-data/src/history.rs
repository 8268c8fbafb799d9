//! The market as of one day's close: that day and the days before it, never after.
//!
//! A [`History`] is what a strategy, its features and models see. Days are addressed by how
//! far back they lie from today (`back = 0` is today), as an unsigned number: a day after
//! today cannot even be named, so look-ahead is impossible by type, whatever the panel behind
//! it holds (a backtest's panel holds the whole future).
//!
//! Neither the panel behind a history nor a day after today can be reached from it:
//!
//! ```compile_fail
//! fn the_whole_panel<'a>(h: &janus_data::History<'a>) -> &'a janus_data::Panel {
//!     h.panel // private: there is no accessor either
//! }
//! ```
//!
//! ```compile_fail
//! fn tomorrow(h: &janus_data::History<'_>) -> Option<janus_core::Bar> {
//!     h.bar(-1, 0) // days are counted back from today, as an unsigned number
//! }
//! ```
//!
//! ```
//! // What compiles: today and the days before it.
//! fn today_and_yesterday(h: &janus_data::History<'_>) -> (Option<janus_core::Bar>, Option<janus_core::Bar>) {
//!     (h.bar(0, 0), h.bar(1, 0))
//! }
//! ```

use crate::panel::Panel;
use chrono::NaiveDate;
use janus_core::{ActionToday, Bar, Board, MarketDay, Price, SymbolId};

/// The market as of the close of one day.
#[derive(Clone, Copy, Debug)]
pub struct History<'a> {
    panel: &'a Panel,
    today: usize,
}

impl<'a> History<'a> {
    /// The market as of the close of day `today` of `panel` (an index into its dates).
    ///
    /// # Panics
    /// When the panel has no such day: feeds only build histories of days they hold.
    pub fn new(panel: &'a Panel, today: usize) -> History<'a> {
        assert!(today < panel.n_dates(), "day {today} is not in a panel of {} days", panel.n_dates());
        History { panel, today }
    }

    /// Index of today among the feed's days (what journals and checkpoints record).
    pub fn today(&self) -> usize {
        self.today
    }

    pub fn date(&self) -> NaiveDate {
        self.panel.dates[self.today]
    }

    pub fn n_symbols(&self) -> usize {
        self.panel.n_symbols()
    }

    pub fn symbols(&self) -> &'a [String] {
        &self.panel.symbols
    }

    /// The dense id of a symbol code, if the market has it.
    pub fn symbol_id(&self, symbol: &str) -> Option<SymbolId> {
        self.panel.symbol_id(symbol)
    }

    pub fn boards(&self) -> &'a [Board] {
        &self.panel.boards
    }

    /// Index into the panel of day `today - back` for `sid`, if that day exists.
    fn cell(&self, back: usize, sid: SymbolId) -> Option<usize> {
        let day = self.today.checked_sub(back)?;
        Some(self.panel.idx(day, sid))
    }

    /// The bar of `sid` `back` days before today, when it has one.
    pub fn bar(&self, back: usize, sid: SymbolId) -> Option<Bar> {
        let i = self.cell(back, sid)?;
        let p = self.panel;
        let day = self.today - back;
        p.is_present(day, sid).then(|| Bar {
            open: p.open[i].get(),
            high: p.high[i].get(),
            low: p.low[i].get(),
            close: p.close[i].get(),
            volume: p.volume[i],
            amount: p.amount[i],
            limit_up: p.limit_up[i].get(),
            limit_down: p.limit_down[i].get(),
            tradable: p.is_tradable(day, sid),
        })
    }

    /// The flags of `sid` `back` days before today ([`crate::panel::flag`]; 0 before the
    /// first day).
    pub fn flags(&self, back: usize, sid: SymbolId) -> u8 {
        self.cell(back, sid).map_or(0, |i| self.panel.flags[i])
    }

    /// The flags of every symbol `back` days before today, indexed by symbol id: one
    /// contiguous slice, for models that scan the market.
    pub fn flags_row(&self, back: usize) -> Option<&'a [u8]> {
        let day = self.today.checked_sub(back)?;
        let n = self.panel.n_symbols();
        Some(&self.panel.flags[day * n..(day + 1) * n])
    }

    /// Shares traded by `sid` `back` days before today (0 without a bar).
    pub fn volume(&self, back: usize, sid: SymbolId) -> f64 {
        self.cell(back, sid).map_or(0.0, |i| self.panel.volume[i])
    }

    /// Value traded by `sid` `back` days before today (NaN when the data has none).
    pub fn amount(&self, back: usize, sid: SymbolId) -> f64 {
        self.cell(back, sid).map_or(f64::NAN, |i| self.panel.amount[i])
    }

    /// The adjusted close of `sid` `back` days before today (see [`Panel::adj_close`]).
    pub fn adj_close(&self, back: usize, sid: SymbolId) -> f64 {
        self.cell(back, sid).map_or(f64::NAN, |i| self.panel.adj_close(i))
    }

    /// Today's adjusted close of `sid` over that of `back` days before (see
    /// [`Panel::adj_ratio`]); NaN when that day is before the first.
    pub fn adj_ratio(&self, back: usize, sid: SymbolId) -> f64 {
        match (self.cell(0, sid), self.cell(back, sid)) {
            (Some(now), Some(then)) => self.panel.adj_ratio(now, then),
            _ => f64::NAN,
        }
    }

    /// The close of `sid` `back` days before today, as the panel holds it (zero when the
    /// symbol had no bar; a day before the first is zero too).
    pub fn close(&self, back: usize, sid: SymbolId) -> Price {
        self.cell(back, sid).map_or(Price::ZERO, |i| self.panel.close[i].get())
    }

    /// The limit prices (up, down) of `sid` `back` days before today (zero when none).
    pub fn limits(&self, back: usize, sid: SymbolId) -> (Price, Price) {
        self.cell(back, sid)
            .map_or((Price::ZERO, Price::ZERO), |i| (self.panel.limit_up[i].get(), self.panel.limit_down[i].get()))
    }

    /// The symbol has a bar `back` days before today.
    pub fn is_present(&self, back: usize, sid: SymbolId) -> bool {
        self.today.checked_sub(back).is_some_and(|d| self.panel.is_present(d, sid))
    }

    /// The symbol traded `back` days before today (a bar, not halted).
    pub fn is_tradable(&self, back: usize, sid: SymbolId) -> bool {
        self.today.checked_sub(back).is_some_and(|d| self.panel.is_tradable(d, sid))
    }

    /// The symbol was a special-treatment (ST) name `back` days before today.
    pub fn is_st(&self, back: usize, sid: SymbolId) -> bool {
        self.today.checked_sub(back).is_some_and(|d| self.panel.is_st(d, sid))
    }

    /// Where the symbol stands today since its listing (new listings have their own limits).
    pub fn listing(&self, sid: SymbolId) -> janus_core::Listing {
        self.panel.listing(self.today, sid)
    }

    /// The next trading day by the exchange calendar, when the feed knows it (a stored panel
    /// does; a live feed may not yet). Public information, not look-ahead: the rules of that
    /// day decide what a buy placed tonight must freeze.
    pub fn next_date(&self) -> Option<NaiveDate> {
        self.panel.dates.get(self.today + 1).copied()
    }

    /// The last close of `sid` before today, if it traded before.
    pub fn previous_close(&self, sid: SymbolId) -> Option<Price> {
        (1..=self.today).find_map(|back| self.bar(back, sid)).map(|b| b.close)
    }
}

impl MarketDay for History<'_> {
    fn date(&self) -> NaiveDate {
        History::date(self)
    }
    fn n_symbols(&self) -> usize {
        History::n_symbols(self)
    }
    fn symbol(&self, sid: SymbolId) -> &str {
        &self.panel.symbols[sid as usize]
    }
    fn symbol_id(&self, symbol: &str) -> Option<SymbolId> {
        History::symbol_id(self, symbol)
    }
    fn board(&self, sid: SymbolId) -> Board {
        self.panel.boards[sid as usize]
    }
    fn bar(&self, sid: SymbolId) -> Option<Bar> {
        History::bar(self, 0, sid)
    }
    fn actions(&self) -> Vec<ActionToday> {
        self.panel
            .actions_on(self.today)
            .iter()
            .filter_map(|a| {
                let prev_close = self.previous_close(a.sid)?;
                Some(ActionToday { sid: a.sid, action: a.action, prev_close })
            })
            .collect()
    }
}
