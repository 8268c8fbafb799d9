//! A seeded synthetic A-share market, and the CSV writer that saves any panel.
//!
//! The generator exists so tests and benchmarks can run on data with every friction the engine
//! must handle (price limits by board, ST names, one-price limit bars, multi-day suspensions,
//! late listings) without shipping data files. Its output looks exactly as if it had been loaded
//! from a CSV without limit columns: `write_csv` then `load_csv` gives the same panel back.

use crate::loader::DataError;
use crate::panel::{flag, narrow, Panel};
use chrono::NaiveDate;
use janus_core::money::{SCALE, TICK};
use janus_core::{Board, DailyLimit, LimitRules, Listing, Price, Price32};
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::io::{BufWriter, Write};

/// What to generate. The same config always gives the same panel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenConfig {
    pub seed: u64,
    pub n_symbols: usize,
    pub n_days: usize,
    /// First trading day (a weekend or holiday start moves to the next trading day).
    pub start: NaiveDate,
}

/// Bytes of memory one panel cell takes (prices, volume, amount, limits, flags), for the size
/// check of [`GenConfig::validate`].
pub const BYTES_PER_CELL: u64 = (size_of::<Price32>() * 6 + size_of::<f64>() * 2 + size_of::<u8>()) as u64;

/// Most codes the generator can draw (the boards' code ranges together).
pub const MAX_SYMBOLS: usize = 10_000 + 9_999 + 2_000 + 1_000 + 70_000;

impl GenConfig {
    /// Refuse sizes that cannot be generated: no symbol, fewer than two days, more symbols
    /// than the boards have codes, a panel past the loaders' limit of 2^32 cells, or one larger
    /// than `memory_bytes` (the machine's memory, when known). `keys` names the two settings
    /// in messages (`("--symbols", "--days")` or `("data.symbols", "data.days")`).
    pub fn validate(&self, keys: (&str, &str), memory_bytes: Option<u64>) -> Result<(), DataError> {
        let err = |key: &str, message: String| Err(DataError::GenSize { key: key.to_string(), message });
        if self.n_symbols == 0 {
            return err(keys.0, "is 0; the market needs at least 1 symbol".into());
        }
        if self.n_days < 2 {
            return err(keys.1, format!("is {}; the market needs at least 2 trading days", self.n_days));
        }
        if self.n_symbols > MAX_SYMBOLS {
            return err(
                keys.0,
                format!("is {}; the generator has codes for at most {MAX_SYMBOLS} symbols", self.n_symbols),
            );
        }
        let cells = self.n_symbols as u64 * self.n_days as u64;
        let bytes = cells.saturating_mul(BYTES_PER_CELL);
        let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
        if cells > u32::MAX as u64 {
            return err(
                keys.1,
                format!(
                    "{} symbols x {} days is {cells} cells, past the 2^32 cells a panel holds (about {:.0} GiB); \
                     use fewer symbols or days",
                    self.n_symbols,
                    self.n_days,
                    gib(bytes)
                ),
            );
        }
        if let Some(mem) = memory_bytes {
            if bytes > mem {
                return err(
                    keys.1,
                    format!(
                        "{} symbols x {} days needs about {:.1} GiB, more than this machine's {:.1} GiB of memory; \
                         use fewer symbols or days",
                        self.n_symbols,
                        self.n_days,
                        gib(bytes),
                        gib(mem)
                    ),
                );
            }
        }
        Ok(())
    }
}

impl Default for GenConfig {
    /// 300 symbols over 750 trading days from 2021-01-04, spanning the 2023-08-28 stamp-duty cut.
    fn default() -> Self {
        GenConfig {
            seed: 42,
            n_symbols: 300,
            n_days: 750,
            start: NaiveDate::from_ymd_opt(2021, 1, 4).unwrap_or_default(),
        }
    }
}

/// Boards with their share of symbols (percent), first code, number of codes and suffix.
/// When a board runs out of codes, the rest go to the next board that has some.
const BOARDS: [(usize, u32, usize, &str); 5] = [
    (45, 600_000, 10_000, "SH"), // Shanghai main 60xxxx
    (25, 1, 9_999, "SZ"),        // Shenzhen main 00xxxx
    (18, 300_000, 2_000, "SZ"),  // ChiNext 300xxx / 301xxx
    (10, 688_000, 1_000, "SH"),  // STAR 688xxx
    (2, 830_000, 70_000, "BJ"),  // Beijing 83xxxx-89xxxx
];

/// No price goes below 0.50 CNY.
const FLOOR: Price = Price(5_000);

/// Per-symbol parameters, drawn once.
struct Stock {
    board: Board,
    list_day: usize,
    st_from: usize,
    st_to: usize,
    beta: f64,
    drift: f64,
    /// ln of the price the stock slowly reverts to, so prices stay plausible over long runs.
    anchor: f64,
    sigma: f64,
    /// ln of the typical daily volume in shares.
    ln_volume: f64,
}

/// Per-symbol state carried from day to day.
struct Live {
    prev_close: Option<Price>,
    /// ln of the price the stock "wants": news not yet absorbed because of a limit or a halt.
    latent: f64,
    halt_left: u32,
}

/// Generate a market panel; limits are derived with `rules`.
pub fn generate(cfg: &GenConfig, rules: &LimitRules) -> Panel {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let dates = business_days(cfg.start, cfg.n_days);
    let symbols = draw_symbols(&mut rng, cfg.n_symbols);
    let (n_days, n) = (dates.len(), symbols.len());
    let boards: Vec<Board> = symbols.iter().map(|s| Board::from_symbol(s)).collect();
    let (stocks, mut live) = draw_stocks(&mut rng, &boards, n_days);

    let cells = n_days * n;
    let mut p = Panel {
        dates,
        symbols,
        boards,
        open: vec![Price32::ZERO; cells],
        high: vec![Price32::ZERO; cells],
        low: vec![Price32::ZERO; cells],
        close: vec![Price32::ZERO; cells],
        volume: vec![0.0; cells],
        amount: vec![f64::NAN; cells],
        limit_up: vec![Price32::ZERO; cells],
        limit_down: vec![Price32::ZERO; cells],
        flags: vec![0; cells],
        ..Panel::default()
    };
    for d in 0..n_days {
        // The market factor: calm most days, a few days of turmoil that put many names at a limit.
        let z: f64 = rng.sample(StandardNormal);
        let market = 0.0001 + 0.011 * z * if rng.gen::<f64>() < 0.04 { 2.8 } else { 1.0 };
        for s in 0..n {
            let st = &stocks[s];
            if d < st.list_day {
                continue;
            }
            let is_st = (st.st_from..st.st_to).contains(&d);
            step(&mut rng, rules, &mut p, d * n + s, st, &mut live[s], market, is_st);
        }
    }
    p
}

/// Simulate one bar of one symbol into cell `i`.
#[allow(clippy::too_many_arguments)]
fn step(
    rng: &mut ChaCha8Rng,
    rules: &LimitRules,
    p: &mut Panel,
    i: usize,
    st: &Stock,
    lv: &mut Live,
    market: f64,
    is_st: bool,
) {
    // The limits of the day's date, board and listing age (first-day bounds wait for the open).
    let d = i / p.n_symbols();
    let listing = match st.list_day {
        0 => Listing::Seasoned,
        l => Listing::New { listed: p.dates[l], day: d.saturating_sub(l) as u32 },
    };
    let rule = rules.daily_limit(p.dates[d], st.board, is_st, listing);
    let (up, down) = rule.prices(lv.prev_close, Price::ZERO);
    let mut flags = flag::PRESENT | if is_st { flag::ST } else { 0 };

    // Suspension: a row with volume 0 and OHLC at the previous close. News still arrives.
    if let Some(pc) = lv.prev_close {
        if lv.halt_left == 0 && rng.gen::<f64>() < 0.0015 {
            let u: f64 = rng.gen();
            lv.halt_left = 1 + (20.0 * u * u) as u32;
        }
        if lv.halt_left > 0 {
            lv.halt_left -= 1;
            let z: f64 = rng.sample(StandardNormal);
            lv.latent += st.beta * market + 0.7 * st.sigma * z;
            flags |= flag::PAUSED;
            let pc = narrow(pc);
            (p.open[i], p.high[i], p.low[i], p.close[i]) = (pc, pc, pc, pc);
            (p.volume[i], p.amount[i], p.limit_up[i], p.limit_down[i], p.flags[i]) =
                (0.0, 0.0, narrow(up), narrow(down), flags);
            return;
        }
    }

    // The day's return: market, drift, fat-tailed idiosyncratic noise (a scale mixture of
    // normals) and rare news jumps, skewed up as on a retail-driven market.
    let z: f64 = rng.sample(StandardNormal);
    let scale = if rng.gen::<f64>() < 0.08 { 3.0 } else { 1.0 };
    let jump = if rng.gen::<f64>() < 0.035 {
        let size = rng.gen_range(0.07..0.25);
        if rng.gen::<f64>() < 0.6 {
            size
        } else {
            -size
        }
    } else {
        0.0
    };
    let reversion = -0.0015 * (lv.latent - st.anchor);
    let mut r = st.drift + reversion + st.beta * market + st.sigma * scale * z + jump;
    if lv.prev_close.is_none() && st.list_day > 0 {
        r = rng.gen_range(0.1..1.0); // the listing-day pop
    }
    lv.latent = (lv.latent + r).clamp(0.6f64.ln(), 5_000f64.ln());

    let limited = up.is_positive();
    let (lo, hi) = if limited { (down.max(FLOOR), up) } else { (FLOOR, Price(crate::values::MAX_PRICE_YUAN * SCALE)) };
    let close = to_tick(lv.latent.exp(), lo, hi);
    let pressure = lv.latent - close.as_f64().ln();
    let at_up = limited && close == up;
    let at_down = limited && close == down;
    let one_price = (at_up && pressure > 0.02 || at_down && pressure < -0.02) && rng.gen::<f64>() < 0.35;

    let (open, high, low) = if one_price {
        (close, close, close)
    } else {
        let reference = lv.prev_close.map_or(close.as_f64(), Price::as_f64);
        let z: [f64; 3] = [rng.sample(StandardNormal), rng.sample(StandardNormal), rng.sample(StandardNormal)];
        let open = to_tick(reference * (r * rng.gen_range(0.0..0.5) + 0.4 * st.sigma * z[0]).exp(), lo, hi);
        let (top, bottom) = (open.max(close), open.min(close));
        let high = to_tick(top.as_f64() * (0.6 * st.sigma * z[1].abs()).exp(), lo, hi).max(top);
        let low = to_tick(bottom.as_f64() * (-0.6 * st.sigma * z[2].abs()).exp(), lo, hi).min(bottom);
        (open, high, low)
    };
    // A listing day under first-day bounds: around its open (no issue price here), bar inside.
    let (up, down, close, high, low) = match rule {
        DailyLimit::FirstDay { .. } => {
            let (u, dn) = rule.prices(None, open);
            (u, dn, close.max(dn).min(u), high.min(u), low.max(dn))
        }
        _ => (up, down, close, high, low),
    };
    // Half the news a limit held back carries over to the next day: limit streaks.
    lv.latent = close.as_f64().ln() + 0.5 * pressure;
    lv.prev_close = Some(close);

    let z: f64 = rng.sample(StandardNormal);
    let mut shares = (st.ln_volume + 0.35 * z + 0.5 * (r.abs() / st.sigma).min(4.0)).exp();
    if one_price {
        shares *= rng.gen_range(0.02..0.12);
    }
    let volume = ((shares / 100.0).round().max(1.0) * 100.0).min(1e12);
    let vwap = low.0 + ((high.0 - low.0) as f64 * rng.gen::<f64>()) as i64;
    let amount_fen = (volume as i128 * vwap as i128 + TICK as i128 / 2) / TICK as i128;

    (p.open[i], p.high[i], p.low[i], p.close[i]) = (narrow(open), narrow(high), narrow(low), narrow(close));
    p.volume[i] = volume;
    p.amount[i] = amount_fen as f64 / 100.0;
    (p.limit_up[i], p.limit_down[i], p.flags[i]) = (narrow(up), narrow(down), flags);
}

/// Round a price in yuan to the tick and keep it within `[lo, hi]`.
fn to_tick(yuan: f64, lo: Price, hi: Price) -> Price {
    let fen = (yuan * 100.0).round().clamp(0.0, 1e12) as i64;
    Price(fen * (SCALE / 100)).max(lo).min(hi)
}

/// `n` trading days from `start`: weekdays without the exchanges' holidays of
/// [`crate::holidays`] (beyond its years, every weekday).
fn business_days(start: NaiveDate, n: usize) -> Vec<NaiveDate> {
    crate::holidays::trading_days(start, n)
}

/// Unique codes across the boards in the target shares, sorted lexicographically.
fn draw_symbols(rng: &mut ChaCha8Rng, n: usize) -> Vec<String> {
    let capacity: usize = BOARDS.iter().map(|b| b.2).sum();
    let n = n.min(capacity);
    // Largest-remainder apportionment, then at least one name per board when there is room.
    let mut counts: Vec<usize> = BOARDS.iter().map(|b| n * b.0 / 100).collect();
    let mut rest: Vec<(usize, usize)> = BOARDS.iter().enumerate().map(|(i, b)| (n * b.0 % 100, i)).collect();
    rest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let short = n - counts.iter().sum::<usize>();
    for &(_, i) in rest.iter().take(short) {
        counts[i] += 1;
    }
    if n >= BOARDS.len() {
        for i in 0..BOARDS.len() {
            if counts[i] == 0 {
                counts[0] -= 1;
                counts[i] = 1;
            }
        }
    }
    // Overflow beyond a board's codes moves on to the next board with spare codes.
    let mut spill = 0;
    for (count, b) in counts.iter_mut().zip(BOARDS) {
        *count += spill;
        spill = count.saturating_sub(b.2);
        *count -= spill;
    }
    for (count, b) in counts.iter_mut().zip(BOARDS) {
        let take = spill.min(b.2 - *count);
        *count += take;
        spill -= take;
    }
    let mut out = Vec::with_capacity(n);
    for (&count, (_, first, cap, suffix)) in counts.iter().zip(BOARDS) {
        let mut picked: Vec<usize> = sample(rng, cap, count).into_vec();
        picked.sort_unstable();
        out.extend(picked.into_iter().map(|k| format!("{:06}.{suffix}", first as usize + k)));
    }
    out.sort_unstable();
    out
}

/// Parameters and initial state of every symbol, drawn in symbol order.
fn draw_stocks(rng: &mut ChaCha8Rng, boards: &[Board], n_days: usize) -> (Vec<Stock>, Vec<Live>) {
    let n = boards.len();
    let mut late = vec![false; n];
    let mut st = vec![false; n];
    if n > 0 && n_days > 1 {
        for k in sample(rng, n, (n / 25).max(1)) {
            late[k] = true;
        }
    }
    if n > 0 {
        for k in sample(rng, n, ((n + 10) / 20).max(1)) {
            st[k] = true;
        }
    }
    let mut stocks = Vec::with_capacity(n);
    let mut live = Vec::with_capacity(n);
    for (s, &board) in boards.iter().enumerate() {
        let list_day = if late[s] { rng.gen_range(1..=(n_days * 3 / 4).max(1)) } else { 0 };
        let (st_from, st_to) = if st[s] {
            let from = if rng.gen::<bool>() { 0 } else { rng.gen_range(0..=n_days / 2) };
            let len = rng.gen_range(n_days / 4..=n_days);
            (from, (from + len).min(n_days))
        } else {
            (0, 0)
        };
        let board_vol = match board {
            Board::Main => 1.0,
            Board::ChiNext | Board::Star => 1.3,
            Board::Beijing => 1.5,
        };
        let price: f64 =
            if late[s] { rng.gen_range(5f64.ln()..40f64.ln()) } else { rng.gen_range(3f64.ln()..150f64.ln()) };
        let turnover_ln = rng.gen_range(5e6f64.ln()..5e8f64.ln());
        stocks.push(Stock {
            board,
            list_day,
            st_from,
            st_to,
            beta: rng.gen_range(0.6..1.4),
            // Net of the jumps' mean (0.035 * 0.2 * 0.16), so jumps do not become a trend.
            drift: 0.0001 - 0.00112 + 0.0003 * rng.sample::<f64, _>(StandardNormal),
            anchor: price,
            sigma: rng.gen_range(0.012..0.03) * board_vol,
            ln_volume: turnover_ln - price,
        });
        live.push(Live { prev_close: None, latent: price, halt_left: 0 });
    }
    (stocks, live)
}

/// Write a panel as long-format CSV, sorted by date then symbol, skipping absent cells.
///
/// Columns: `date,symbol,open,high,low,close,volume,amount,paused,is_st`, plus
/// `limit_up,limit_down` when some bar carries explicit limits (filled only for those bars, so
/// that loading derives the others again). Prices are written from their integers: two
/// decimals on the tick, four otherwise; an unknown amount is an empty field.
pub fn write_csv<W: Write>(panel: &Panel, w: W) -> Result<(), DataError> {
    let mut out = BufWriter::with_capacity(1 << 17, w);
    let explicit = panel.flags.iter().any(|f| f & flag::EXPLICIT_LIMITS != 0);
    let mut line = Vec::with_capacity(256);
    line.extend_from_slice(b"date,symbol,open,high,low,close,volume,amount,paused,is_st");
    if explicit {
        line.extend_from_slice(b",limit_up,limit_down");
    }
    line.push(b'\n');
    out.write_all(&line).map_err(|source| DataError::Write { source })?;

    let n = panel.n_symbols();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| panel.symbols[a].cmp(&panel.symbols[b]));
    let names: Vec<Vec<u8>> = panel.symbols.iter().map(|s| csv_field(s)).collect();
    for (d, date) in panel.dates.iter().enumerate() {
        let date = date.format("%Y-%m-%d").to_string();
        for &s in &order {
            let i = d * n + s;
            let f = panel.flags[i];
            if f & flag::PRESENT == 0 {
                continue;
            }
            line.clear();
            line.extend_from_slice(date.as_bytes());
            line.push(b',');
            line.extend_from_slice(&names[s]);
            for p in [panel.open[i], panel.high[i], panel.low[i], panel.close[i]] {
                line.push(b',');
                put_price(&mut line, p.get());
            }
            line.push(b',');
            put_f64(&mut line, panel.volume[i]);
            line.push(b',');
            put_amount(&mut line, panel.amount[i]);
            line.extend_from_slice(if f & flag::PAUSED != 0 { b",1" } else { b",0" });
            line.extend_from_slice(if f & flag::ST != 0 { b",1" } else { b",0" });
            if explicit {
                line.push(b',');
                if f & flag::EXPLICIT_LIMITS != 0 {
                    put_price(&mut line, panel.limit_up[i].get());
                    line.push(b',');
                    put_price(&mut line, panel.limit_down[i].get());
                } else {
                    line.push(b',');
                }
            }
            line.push(b'\n');
            out.write_all(&line).map_err(|source| DataError::Write { source })?;
        }
    }
    out.flush().map_err(|source| DataError::Write { source })
}

/// A symbol as a CSV field, quoted only when it has to be.
fn csv_field(s: &str) -> Vec<u8> {
    if s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) || s.trim_ascii() != s {
        format!("\"{}\"", s.replace('"', "\"\"")).into_bytes()
    } else {
        s.as_bytes().to_vec()
    }
}

fn put_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut k = buf.len();
    loop {
        k -= 1;
        buf[k] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[k..]);
}

/// `int.ff` when on the tick, `int.ffff` otherwise; exact.
fn put_price(out: &mut Vec<u8>, p: Price) {
    if p.0 < 0 {
        out.push(b'-');
    }
    let a = p.0.unsigned_abs();
    let (int, frac) = (a / SCALE as u64, a % SCALE as u64);
    put_u64(out, int);
    out.push(b'.');
    let (digits, v) = if frac % TICK as u64 == 0 { (2, frac / TICK as u64) } else { (4, frac) };
    let start = out.len();
    put_u64(out, v);
    let written = out.len() - start;
    for _ in written..digits {
        out.insert(start, b'0');
    }
}

/// Whole numbers without a fraction; others in Rust's shortest exact form.
fn put_f64(out: &mut Vec<u8>, v: f64) {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        if v < 0.0 {
            out.push(b'-');
        }
        put_u64(out, v.abs() as u64);
    } else {
        out.extend_from_slice(v.to_string().as_bytes());
    }
}

/// Two decimals; empty when unknown.
fn put_amount(out: &mut Vec<u8>, a: f64) {
    if a.is_nan() {
        return;
    }
    if a.abs() < 1e13 {
        let fen = (a * 100.0).round() as i64;
        if fen < 0 {
            out.push(b'-');
        }
        let f = fen.unsigned_abs();
        put_u64(out, f / 100);
        out.push(b'.');
        out.push(b'0' + (f % 100 / 10) as u8);
        out.push(b'0' + (f % 10) as u8);
    } else {
        out.extend_from_slice(format!("{a:.2}").as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_days_skip_weekends_and_holidays() {
        let sat = NaiveDate::from_ymd_opt(2024, 1, 6).unwrap();
        let days = business_days(sat, 6);
        let want = ["2024-01-08", "2024-01-09", "2024-01-10", "2024-01-11", "2024-01-12", "2024-01-15"];
        assert_eq!(days.iter().map(|d| d.to_string()).collect::<Vec<_>>(), want);
        let before_spring_festival = NaiveDate::from_ymd_opt(2024, 2, 8).unwrap();
        let days = business_days(before_spring_festival, 2);
        assert_eq!(days.iter().map(|d| d.to_string()).collect::<Vec<_>>(), ["2024-02-08", "2024-02-19"]);
    }

    /// (symbols, days, machine memory, the key the error names or None).
    #[test]
    fn absurd_sizes_are_refused_naming_the_setting() {
        let cases: [(usize, usize, Option<u64>, Option<&str>); 7] = [
            (300, 750, Some(1 << 34), None),
            (0, 750, None, Some("symbols")),
            (300, 0, None, Some("days")),
            (300, 1, None, Some("days")),
            (MAX_SYMBOLS + 1, 10, None, Some("symbols")),
            (90_000, 100_000, None, Some("days")),
            (10_000, 100_000, Some(1 << 34), Some("days")),
        ];
        for (n_symbols, n_days, mem, want) in cases {
            let g = GenConfig { n_symbols, n_days, ..GenConfig::default() };
            match (g.validate(("symbols", "days"), mem), want) {
                (Ok(()), None) => {}
                (Err(e), Some(key)) => assert!(e.to_string().starts_with(key), "{n_symbols}x{n_days}: {e}"),
                (got, _) => panic!("{n_symbols}x{n_days}: {got:?}"),
            }
        }
    }

    #[test]
    fn prices_and_amounts_are_written_from_integers() {
        let mut out = Vec::new();
        for p in [Price(123_400), Price(5_000), Price(123_456), Price(10_001), Price(0)] {
            put_price(&mut out, p);
            out.push(b' ');
        }
        put_amount(&mut out, 1234.5);
        out.push(b' ');
        put_amount(&mut out, 0.07);
        assert_eq!(String::from_utf8(out).unwrap(), "12.34 0.50 12.3456 1.0001 0.00 1234.50 0.07");
    }

    #[test]
    fn symbols_get_unique_codes_on_every_board_even_beyond_a_board_s_capacity() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for n in [0, 1, 5, 37, 300, 12_000] {
            let syms = draw_symbols(&mut rng, n);
            assert_eq!(syms.len(), n);
            assert!(syms.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
            if n >= 5 {
                for board in [Board::Main, Board::ChiNext, Board::Star, Board::Beijing] {
                    assert!(syms.iter().any(|s| Board::from_symbol(s) == board), "{n}: {board:?}");
                }
            }
        }
    }
}
