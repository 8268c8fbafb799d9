//! A panel that grows by one closed trading day at a time: what a live feed (a file being
//! written, a stream) builds on top of the history it started from.
//!
//! A day arrives as Janus CSV text (a header line and that day's rows) and goes through the
//! same loader as a file ([`crate::read_csv`]): the same row validation, the same error messages.
//! Its bars are then placed in the panel's fixed symbol universe and the day's limits are
//! derived by [`Panel::derive_limits`], from the previous close by the rules of the date. So a
//! panel grown day by day equals the panel loaded from the whole file, every column and limit
//! included (the tests below check it on generated markets).
//!
//! The universe is fixed at the start (the history's symbols): symbol ids index every column
//! and every engine table, so a new symbol cannot appear mid-run. A bar of a symbol the history
//! does not have is an error naming it and its line, not a silent skip: a live feed that drops
//! bars would trade on a market that is not the one published.

use crate::actions::actions_from_adj_factor;
use crate::error::{DataError, Place};
use crate::loader::{read_csv, CsvOptions, JANUS};
use crate::panel::Panel;
use crate::parse::parse_date;
use crate::universe::Universe;
use crate::values::PriceMode;
use chrono::NaiveDate;
use janus_core::{LimitRules, Price32};

/// One closed day as Janus CSV text, and where it came from (for error messages).
#[derive(Clone, Copy, Debug)]
pub struct DayCsv<'a> {
    /// A header line, then the day's rows (all of one date); empty lines are allowed.
    pub text: &'a [u8],
    /// Names the source in errors (a file path, a stream).
    pub source: &'a str,
    /// The line of the source that the text's second line (its first row) came from: a
    /// feed that tails a file passes the file's line, so errors point into the file.
    pub first_line: u64,
}

/// A [`Panel`] that grows by whole closed days.
#[derive(Clone, Debug)]
pub struct GrowingPanel {
    panel: Panel,
    rules: LimitRules,
    prices: PriceMode,
    universe: Option<Universe>,
    infer_actions: bool,
}

impl GrowingPanel {
    /// Start from `history` (its symbols are the universe for good); limits of new days are
    /// derived with `rules`, which must be those the history was loaded with.
    pub fn new(history: Panel, rules: LimitRules) -> GrowingPanel {
        GrowingPanel { panel: history, rules, prices: PriceMode::Raw, universe: None, infer_actions: false }
    }

    /// Read prices of new days as `[data] prices` says (raw by default).
    pub fn with_prices(mut self, prices: PriceMode) -> GrowingPanel {
        self.prices = prices;
        self
    }

    /// Mark index membership of new days from this universe, as the loader does.
    pub fn with_universe(mut self, universe: Universe) -> GrowingPanel {
        self.universe = Some(universe);
        self
    }

    /// Infer a corporate action on a new day from a jump of its `adj_factor`, as `janus`
    /// does for a loaded file, so the day's limits come from the ex-rights reference price.
    pub fn inferring_actions(mut self, on: bool) -> GrowingPanel {
        self.infer_actions = on;
        self
    }

    pub fn panel(&self) -> &Panel {
        &self.panel
    }

    pub fn into_panel(self) -> Panel {
        self.panel
    }

    /// The last day the panel holds.
    pub fn last_date(&self) -> Option<NaiveDate> {
        self.panel.dates.last().copied()
    }

    /// Append one closed day; returns its date. On an error the panel is unchanged.
    ///
    /// Cost: the day's rows, plus one pass of [`Panel::derive_limits`] over the whole panel
    /// (tens of milliseconds for ten years of five thousand symbols), paid once a trading day;
    /// deriving from the whole panel is what keeps a grown panel equal to a loaded one.
    pub fn append_day(&mut self, day: &DayCsv<'_>) -> Result<NaiveDate, DataError> {
        let opts = CsvOptions { preset: &JANUS, prices: self.prices, calendar: None, threads: 1, block_bytes: 0 };
        let at = |line: u64| Place::line(day.source, source_line(day, line));
        let parsed = read_csv(day.text, day.source, &opts, &self.rules).map_err(|mut e| {
            if let Some(place) = place_mut(&mut e) {
                *place = at(place.line);
            }
            e
        })?;
        let date = parsed.dates[0];
        if parsed.n_dates() > 1 {
            let line = row_line(day.text, |d, _| d != date).unwrap_or(2);
            return Err(DataError::Calendar {
                at: at(line),
                message: format!(
                    "a closed day holds the bars of one date, but {} follows {date}; mark the close of each day \
                     before the bars of the next",
                    parsed.dates[1]
                ),
            });
        }
        if let Some(last) = self.last_date() {
            if date <= last {
                return Err(DataError::Calendar {
                    at: at(2),
                    message: format!(
                        "day {date} does not come after the last day the panel holds, {last}; days arrive in order, \
                         once each"
                    ),
                });
            }
        }
        let mut map = Vec::with_capacity(parsed.n_symbols());
        for sym in &parsed.symbols {
            match self.panel.symbol_id(sym) {
                Some(id) => map.push(id as usize),
                None => {
                    let line = row_line(day.text, |_, s| s == sym.as_str()).unwrap_or(2);
                    return Err(DataError::Universe {
                        at: at(line),
                        message: format!(
                            "symbol `{sym}` is not among the {} symbols of the history the feed started from; the \
                             universe is fixed at the start: add the symbol's bars to the history file and restart",
                            self.panel.n_symbols()
                        ),
                    });
                }
            }
        }
        let given = if parsed.adj_factor.is_empty() { Vec::new() } else { factors_given(day.text, &parsed.symbols) };
        self.push_row(&parsed, &map, &given);
        let d = self.panel.n_dates() - 1;
        if self.infer_actions && !self.panel.adj_factor.is_empty() {
            let new = actions_from_adj_factor(&self.panel).into_iter().filter(|a| a.day as usize == d);
            self.panel.actions.extend(new);
        }
        self.panel.derive_limits(&self.rules);
        if let Some(u) = &self.universe {
            if let Err(e) = u.apply(&mut self.panel) {
                self.pop_row();
                return Err(e);
            }
        }
        Ok(date)
    }

    /// Append the one day of `parsed` as a new row; `map[k]` is the panel id of its symbol `k`.
    /// `given[k]`: the row of symbol `k` wrote a factor (the loader fills empty ones with 1).
    fn push_row(&mut self, parsed: &Panel, map: &[usize], given: &[bool]) {
        let n = self.panel.n_symbols();
        let p = &mut self.panel;
        let base = p.open.len();
        p.dates.push(parsed.dates[0]);
        for col in [&mut p.open, &mut p.high, &mut p.low, &mut p.close, &mut p.limit_up, &mut p.limit_down] {
            col.resize(base + n, Price32::ZERO);
        }
        p.volume.resize(base + n, 0.0);
        p.amount.resize(base + n, f64::NAN);
        p.flags.resize(base + n, 0);
        for (k, &s) in map.iter().enumerate() {
            let (i, j) = (base + s, k);
            p.open[i] = parsed.open[j];
            p.high[i] = parsed.high[j];
            p.low[i] = parsed.low[j];
            p.close[i] = parsed.close[j];
            p.volume[i] = parsed.volume[j];
            p.amount[i] = parsed.amount[j];
            p.limit_up[i] = parsed.limit_up[j];
            p.limit_down[i] = parsed.limit_down[j];
            p.flags[i] = parsed.flags[j];
        }
        // Adjustment factors: the day's own where given, else each symbol's previous one (1
        // before its first), as the loader carries them; a history without factors had 1.
        if !parsed.adj_factor.is_empty() && p.adj_factor.is_empty() {
            p.adj_factor = vec![1.0; base];
        }
        if !p.adj_factor.is_empty() {
            let prev: Vec<f64> = if base == 0 { vec![1.0; n] } else { p.adj_factor[base - n..base].to_vec() };
            p.adj_factor.extend(prev);
            for (k, &s) in map.iter().enumerate() {
                if given.get(k).copied().unwrap_or(false) {
                    p.adj_factor[base + s] = parsed.adj_factor[k];
                }
            }
        }
    }

    /// Undo [`GrowingPanel::push_row`] (and any action inferred for the row).
    fn pop_row(&mut self) {
        let p = &mut self.panel;
        let n = p.n_symbols();
        let Some(len) = p.open.len().checked_sub(n) else { return };
        p.dates.pop();
        for col in [&mut p.open, &mut p.high, &mut p.low, &mut p.close, &mut p.limit_up, &mut p.limit_down] {
            col.truncate(len);
        }
        p.volume.truncate(len);
        p.amount.truncate(len);
        p.flags.truncate(len);
        if p.adj_factor.len() > len {
            p.adj_factor.truncate(len);
        }
        let days = p.n_dates() as u32;
        p.actions.retain(|a| a.day < days);
    }
}

/// For each symbol of a parsed day (sorted, as the loader orders them): whether its row wrote
/// an `adj_factor`. The loader has already validated every field; this only tells an empty
/// factor (carry the previous one) from a written 1.
fn factors_given(text: &[u8], symbols: &[String]) -> Vec<bool> {
    let mut given = vec![false; symbols.len()];
    let mut rdr = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(true).from_reader(text);
    let Ok(header) = rdr.headers().cloned() else { return given };
    let col = |name: &str| header.iter().position(|h| h.trim_start_matches('\u{feff}').eq_ignore_ascii_case(name));
    let (Some(sc), Some(ac)) = (col("symbol"), col("adj_factor")) else { return given };
    for rec in rdr.records().flatten() {
        if let (Some(sym), Some(f)) = (rec.get(sc), rec.get(ac)) {
            if let Ok(k) = symbols.binary_search_by(|s| s.as_str().cmp(sym)) {
                given[k] = !f.is_empty();
            }
        }
    }
    given
}

/// The line of the source that line `line` of a day's text came from (1 is the header).
fn source_line(day: &DayCsv<'_>, line: u64) -> u64 {
    if line <= 1 {
        line
    } else {
        day.first_line + (line - 2)
    }
}

/// The text line (1 is the header) of the first row whose date and symbol match `hit`. Used
/// only to name the line in an error, so a plain split at commas is enough: the rows were
/// already read by the loader.
fn row_line(text: &[u8], hit: impl Fn(NaiveDate, &str) -> bool) -> Option<u64> {
    let text = String::from_utf8_lossy(text);
    let mut lines = text.split('\n');
    let header: Vec<String> =
        lines.next()?.split(',').map(|h| h.trim().trim_start_matches('\u{feff}').to_lowercase()).collect();
    let (dc, sc) = (header.iter().position(|h| h == "date")?, header.iter().position(|h| h == "symbol")?);
    for (k, line) in lines.enumerate() {
        let fields: Vec<&str> = line.split(',').map(|f| f.trim().trim_matches('"')).collect();
        if let (Some(d), Some(s)) = (fields.get(dc), fields.get(sc)) {
            if parse_date(d.as_bytes()).is_some_and(|d| hit(d, s)) {
                return Some(k as u64 + 2);
            }
        }
    }
    None
}

/// The place an error names, to move it to where the text really came from (a file's line,
/// a stream entry). `None` for errors about no single place.
pub fn place_mut(e: &mut DataError) -> Option<&mut Place> {
    use DataError::*;
    match e {
        Read { at, .. }
        | FieldCount { at, .. }
        | BadDate { at, .. }
        | BadSymbol { at, .. }
        | SymbolChars { at, .. }
        | CaseVariant { at, .. }
        | BadNumber { at, .. }
        | NotFinite { at, .. }
        | NonPositivePrice { at, .. }
        | PriceTooLarge { at, .. }
        | OffTick { at, .. }
        | Negative { at, .. }
        | BadFactor { at, .. }
        | BadFlag { at, .. }
        | HighBelowLow { at, .. }
        | OutsideRange { at, .. }
        | LimitsInverted { at, .. }
        | LimitContradicted { at, .. }
        | Duplicate { at, .. }
        | Unsorted { at, .. }
        | Calendar { at, .. }
        | Universe { at, .. } => Some(at),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::{generate, write_csv, GenConfig};
    use proptest::prelude::*;

    /// A CSV text split into its header and the rows of each date, in order.
    fn days_of(csv: &str) -> (String, Vec<(NaiveDate, String)>) {
        let mut lines = csv.lines();
        let header = lines.next().expect("a header").to_string();
        let mut days: Vec<(NaiveDate, String)> = Vec::new();
        for line in lines {
            let date: NaiveDate = line[..10].parse().expect("a date");
            match days.last_mut() {
                Some((d, rows)) if *d == date => rows.push_str(&format!("{line}\n")),
                _ => days.push((date, format!("{line}\n"))),
            }
        }
        (header, days)
    }

    /// The first `k` days of a loaded panel: what a history file of those days gives, with
    /// the symbols of the whole file (limits of a day read no later day).
    fn first_days(p: &Panel, k: usize) -> Panel {
        let cells = k * p.n_symbols();
        let mut h = p.clone();
        h.dates.truncate(k);
        for col in [&mut h.open, &mut h.high, &mut h.low, &mut h.close, &mut h.limit_up, &mut h.limit_down] {
            col.truncate(cells);
        }
        h.volume.truncate(cells);
        h.amount.truncate(cells);
        h.flags.truncate(cells);
        if !h.adj_factor.is_empty() {
            h.adj_factor.truncate(cells);
        }
        h.actions.retain(|a| (a.day as usize) < k);
        h
    }

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    fn assert_same(a: &Panel, b: &Panel) {
        assert_eq!(a.dates, b.dates);
        assert_eq!(a.symbols, b.symbols);
        assert_eq!(a.boards, b.boards);
        assert_eq!((&a.open, &a.high, &a.low, &a.close), (&b.open, &b.high, &b.low, &b.close));
        assert_eq!((bits(&a.volume), bits(&a.amount)), (bits(&b.volume), bits(&b.amount)));
        assert_eq!(a.limit_up, b.limit_up, "limit_up");
        assert_eq!(a.limit_down, b.limit_down, "limit_down");
        assert_eq!(a.flags, b.flags);
        assert_eq!(bits(&a.adj_factor), bits(&b.adj_factor));
        assert_eq!(a.actions, b.actions);
    }

    /// Grow the first `k` days of `csv` into the whole file, day by day.
    fn grow(csv: &str, k: usize, rules: &LimitRules) -> (Panel, Panel) {
        let whole = crate::load_csv_reader(csv.as_bytes(), "m.csv", rules).expect("valid market");
        let (header, days) = days_of(csv);
        let mut g = GrowingPanel::new(first_days(&whole, k), *rules);
        let mut line = 2 + days[..k].iter().map(|(_, r)| r.lines().count() as u64).sum::<u64>();
        for (date, rows) in &days[k..] {
            let text = format!("{header}\n{rows}");
            let got = g
                .append_day(&DayCsv { text: text.as_bytes(), source: "m.csv", first_line: line })
                .expect("a valid day");
            assert_eq!(got, *date);
            line += rows.lines().count() as u64;
        }
        (g.into_panel(), whole)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn a_panel_grown_day_by_day_equals_the_panel_loaded_from_the_whole_file(
            seed in 0u64..1_000, n_symbols in 1usize..12, n_days in 2usize..30, k in 1usize..29,
        ) {
            let start = NaiveDate::from_ymd_opt(2020, 7, 1).expect("a date");
            let rules = LimitRules::default();
            let market = generate(&GenConfig { seed, n_symbols, n_days, start }, &rules);
            let mut csv = Vec::new();
            write_csv(&market, &mut csv).expect("in memory");
            let csv = String::from_utf8(csv).expect("utf-8");
            let (grown, whole) = grow(&csv, k.min(whole_days(&csv) - 1), &rules);
            assert_same(&grown, &whole);
        }
    }

    fn whole_days(csv: &str) -> usize {
        days_of(csv).1.len()
    }

    const FACTORS: &str = "date,symbol,open,high,low,close,volume,adj_factor\n\
        2024-01-02,000001.SZ,10.00,10.50,9.90,10.20,1000,1.0\n\
        2024-01-02,600000.SH,8.00,8.10,7.90,8.00,500,\n\
        2024-01-03,000001.SZ,10.20,10.60,10.10,10.50,1000,\n\
        2024-01-04,000001.SZ,5.30,5.40,5.20,5.25,2000,2.0\n\
        2024-01-04,600000.SH,8.00,8.20,7.95,8.10,0,\n\
        2024-01-05,000001.SZ,5.25,5.30,5.10,5.20,2000,\n\
        2024-01-05,600000.SH,8.10,8.90,8.10,8.90,700,1.5\n";

    #[test]
    fn grown_adjustment_factors_carry_and_infer_actions_as_a_loaded_file_does() {
        let rules = LimitRules::default();
        // As loaded: the factors carried; as `janus` runs it: actions inferred, limits again.
        let (grown, whole) = grow(FACTORS, 1, &rules);
        assert_same(&grown, &whole);
        let mut acted = whole.clone();
        acted.actions = actions_from_adj_factor(&acted);
        acted.derive_limits(&rules);
        assert!(!acted.actions.is_empty());
        let (header, days) = days_of(FACTORS);
        let mut g = GrowingPanel::new(first_days(&acted, 1), rules).inferring_actions(true);
        for (_, rows) in &days[1..] {
            let text = format!("{header}\n{rows}");
            g.append_day(&DayCsv { text: text.as_bytes(), source: "f.csv", first_line: 2 }).expect("valid");
        }
        assert_same(g.panel(), &acted);
    }

    fn history() -> GrowingPanel {
        let csv = "date,symbol,open,high,low,close,volume\n\
                   2024-01-02,000001.SZ,10.00,10.50,9.90,10.20,1000\n\
                   2024-01-02,600000.SH,8.00,8.10,7.90,8.00,500\n";
        let p = crate::load_csv_reader(csv.as_bytes(), "h.csv", &LimitRules::default()).expect("valid");
        GrowingPanel::new(p, LimitRules::default())
    }

    fn append(g: &mut GrowingPanel, rows: &str, first_line: u64) -> Result<NaiveDate, DataError> {
        let text = format!("date,symbol,open,high,low,close,volume\n{rows}");
        g.append_day(&DayCsv { text: text.as_bytes(), source: "live.csv", first_line })
    }

    #[test]
    fn a_bad_bar_is_reported_at_its_line_in_the_source_and_leaves_the_panel_unchanged() {
        let mut g = history();
        let e = append(&mut g, "2024-01-03,000001.SZ,10.2,10.1,10.3,10.2,1000\n", 41).expect_err("high < low");
        assert!(e.to_string().starts_with("live.csv: line 41: high 10.1000 is below low 10.3000"), "{e}");
        let e = append(&mut g, "\n2024-01-03,000001.SZ,10.2,10.6,10.1,x,1000\n", 41).expect_err("bad close");
        assert!(e.to_string().starts_with("live.csv: line 42: column `close`"), "{e}");
        assert_eq!(g.panel().n_dates(), 1);
        assert_eq!(g.panel().close.len(), 2);
    }

    #[test]
    fn a_bar_of_a_symbol_outside_the_history_is_an_error_naming_it() {
        let mut g = history();
        let rows = "2024-01-03,000001.SZ,10.2,10.6,10.1,10.5,1000\n2024-01-03,300750.SZ,100,101,99,100,10\n";
        let e = append(&mut g, rows, 7).expect_err("unknown symbol");
        let text = e.to_string();
        assert!(text.starts_with("live.csv: line 8: symbol `300750.SZ` is not among the 2 symbols"), "{text}");
        assert_eq!(g.panel().n_dates(), 1);
    }

    #[test]
    fn a_day_must_come_after_the_last_and_hold_one_date() {
        let mut g = history();
        let e = append(&mut g, "2024-01-02,000001.SZ,10.2,10.6,10.1,10.5,1000\n", 3).expect_err("old day");
        assert!(e.to_string().contains("does not come after the last day the panel holds, 2024-01-02"), "{e}");
        let rows = "2024-01-03,000001.SZ,10.2,10.6,10.1,10.5,1000\n2024-01-04,000001.SZ,10.5,10.6,10.1,10.5,1000\n";
        let e = append(&mut g, rows, 3).expect_err("two dates");
        assert!(e.to_string().starts_with("live.csv: line 4: a closed day holds the bars of one date"), "{e}");
    }

    #[test]
    fn a_symbol_without_a_bar_on_the_new_day_is_absent_and_its_limits_come_from_its_last_close() {
        let mut g = history();
        append(&mut g, "2024-01-03,000001.SZ,10.2,10.6,10.1,10.5,1000\n", 4).expect("valid");
        append(&mut g, "2024-01-04,600000.SH,8.0,8.1,7.9,8.0,500\n", 5).expect("valid");
        let p = g.panel();
        assert!(!p.is_present(1, 1));
        assert!(!p.is_present(2, 0));
        // 8.00 * 1.1 on the main board, from the close two days before.
        assert_eq!(p.limit_up[p.idx(2, 1)].get().to_string(), "8.8000");
    }
}
