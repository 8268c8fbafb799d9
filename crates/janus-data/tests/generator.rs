//! The synthetic market: deterministic, realistic enough to exercise every rule, always valid,
//! and identical after a trip through CSV.

mod common;

use janus_core::money::TICK;
use janus_core::{Board, LimitRules, Price};
use janus_data::panel::flag;
use janus_data::{generate, load_csv, write_csv, GenConfig, Panel};
use std::time::Instant;

fn default_panel() -> Panel {
    generate(&GenConfig::default(), &LimitRules::default())
}

fn small(seed: u64) -> GenConfig {
    GenConfig { seed, n_symbols: 40, n_days: 120, ..GenConfig::default() }
}

#[test]
fn the_same_seed_gives_the_same_panel_and_another_seed_a_different_one() {
    let rules = LimitRules::default();
    let a = generate(&small(7), &rules);
    let b = generate(&small(7), &rules);
    common::assert_same_panel(&a, &b);
    let c = generate(&small(8), &rules);
    assert!(a.symbols != c.symbols || a.close != c.close, "seed 8 gave the same market as seed 7");
}

#[test]
fn the_default_market_spans_the_stamp_duty_change_and_mixes_every_board() {
    let p = default_panel();
    assert_eq!((p.n_dates(), p.n_symbols()), (750, 300));
    let change = chrono::NaiveDate::from_ymd_opt(2023, 8, 28).unwrap();
    assert!(p.dates[0] < change && change < p.dates[749]);
    assert!(p
        .dates
        .iter()
        .all(|d| !matches!(chrono::Datelike::weekday(d), chrono::Weekday::Sat | chrono::Weekday::Sun)));
    assert!(p.symbols.windows(2).all(|w| w[0] < w[1]), "symbols sorted and unique");
    let count = |b: Board| p.boards.iter().filter(|x| **x == b).count();
    assert_eq!(count(Board::Main), 210, "45% Shanghai + 25% Shenzhen main");
    assert_eq!(count(Board::ChiNext), 54);
    assert_eq!(count(Board::Star), 30);
    assert_eq!(count(Board::Beijing), 6);
    for s in &p.symbols {
        let ok = [".SH", ".SZ", ".BJ"].iter().any(|x| s.ends_with(x)) && s.len() == 9;
        assert!(ok, "{s}");
    }
}

#[test]
fn the_default_market_has_every_friction_the_engine_must_handle() {
    let p = default_panel();
    let n = p.n_symbols();
    let present: Vec<usize> = (0..p.flags.len()).filter(|&i| p.flags[i] & flag::PRESENT != 0).collect();
    let limited = |i: &&usize| p.limit_up[**i].get().0 > 0;
    let at_up = present
        .iter()
        .filter(limited)
        .filter(|&&i| p.close[i].get() == p.limit_up[i].get() && p.flags[i] & flag::PAUSED == 0);
    let at_down = present
        .iter()
        .filter(limited)
        .filter(|&&i| p.close[i].get() == p.limit_down[i].get() && p.flags[i] & flag::PAUSED == 0);
    let (ups, downs) = (at_up.clone().count(), at_down.clone().count());
    let one_price = present
        .iter()
        .filter(limited)
        .filter(|&&i| p.flags[i] & flag::PAUSED == 0 && p.high[i].get() == p.low[i].get())
        .filter(|&&i| p.close[i].get() == p.limit_up[i].get() || p.close[i].get() == p.limit_down[i].get())
        .count();
    let paused = present.iter().filter(|&&i| p.flags[i] & flag::PAUSED != 0).count();
    let st_names = (0..n).filter(|&s| (0..p.n_dates()).any(|d| p.is_st(d, s as u32))).count();
    let late = (0..n).filter(|&s| !p.is_present(0, s as u32)).count();
    let bars = present.len() as f64;
    if std::env::var_os("SHOW_STATS").is_some() {
        eprintln!(
            "bars {bars}: limit-up {:.2}%, limit-down {:.2}%, one-price {one_price}, paused {:.2}%, ST names {st_names}, late {late}",
            100.0 * ups as f64 / bars,
            100.0 * downs as f64 / bars,
            100.0 * paused as f64 / bars
        );
    }
    assert!(ups as f64 / bars > 0.01, "limit-up closes: {ups}");
    assert!(downs as f64 / bars > 0.005, "limit-down closes: {downs}");
    assert!((ups + downs) as f64 / bars < 0.10, "too many limit days: {}", ups + downs);
    assert!(one_price > 50, "one-price limit bars: {one_price}");
    assert!(paused > 100 && (paused as f64) < 0.05 * bars, "paused bars: {paused}");
    assert!((5..=40).contains(&st_names), "ST names: {st_names}");
    assert!(late >= 1, "late listings: {late}");
    // A late listing has no rows before its first one, whose limits are its board's listing-day
    // rule: none, or first-day bounds around its open (main board before 2023-04-10).
    for s in (0..n).filter(|&s| !p.is_present(0, s as u32)) {
        let first = (0..p.n_dates()).find(|&d| p.is_present(d, s as u32)).expect("lists at some point");
        assert!((first..p.n_dates()).all(|d| p.is_present(d, s as u32)), "no gaps after listing");
        let i = p.idx(first, s as u32);
        let bounds =
            p.boards[s] == Board::Main && p.dates[first] < chrono::NaiveDate::from_ymd_opt(2023, 4, 10).unwrap();
        let want =
            if bounds { janus_core::rules::bounds(p.open[i].get(), 4400, 3600) } else { (Price::ZERO, Price::ZERO) };
        assert_eq!((p.limit_up[i].get(), p.limit_down[i].get()), want, "{}", p.symbols[s]);
    }
    // Some ST names on the main board trade under 5% limits.
    let st_main = present.iter().find(|&&i| {
        let s = i % n;
        p.flags[i] & flag::ST != 0 && p.boards[s] == Board::Main && p.limit_up[i].get().0 > 0
    });
    let i = *st_main.expect("an ST main-board bar");
    let prev = (0..i / n).rev().map(|d| d * n + i % n).find(|&j| p.flags[j] & flag::PRESENT != 0).unwrap();
    assert_eq!((p.limit_up[i].get(), p.limit_down[i].get()), janus_core::rules::limit_prices(p.close[prev].get(), 500));
}

#[test]
fn every_generated_bar_is_valid_and_its_limits_are_the_derived_ones() {
    let p = default_panel();
    let mut derived = p.clone();
    derived.derive_limits(&LimitRules::default());
    assert_eq!(p.limit_up, derived.limit_up);
    assert_eq!(p.limit_down, derived.limit_down);
    for i in 0..p.flags.len() {
        let f = p.flags[i];
        if f & flag::PRESENT == 0 {
            assert_eq!((f, p.close[i].get().0, p.volume[i]), (0, 0, 0.0));
            continue;
        }
        assert_eq!(f & flag::EXPLICIT_LIMITS, 0);
        let (o, h, l, c) = (p.open[i].get(), p.high[i].get(), p.low[i].get(), p.close[i].get());
        assert!(l <= o && o <= h && l <= c && c <= h, "cell {i}: {o} {h} {l} {c}");
        assert!(l.0 >= 5_000, "cell {i}: price below 0.50: {l}");
        for x in [o, h, l, c] {
            assert_eq!(x.0 % TICK, 0, "cell {i}: {x} not on the tick");
        }
        if p.limit_up[i].get().0 > 0 {
            assert!(p.limit_down[i].get() <= l && h <= p.limit_up[i].get(), "cell {i}: outside limits");
        }
        let v = p.volume[i];
        assert!(v >= 0.0 && v % 100.0 == 0.0, "cell {i}: volume {v}");
        if f & flag::PAUSED != 0 {
            assert_eq!((v, o, h, l), (0.0, c, c, c), "cell {i}: a halted bar");
        } else {
            assert!(v >= 100.0);
            let vwap = p.amount[i] / v;
            assert!(vwap >= l.as_f64() - 0.01 && vwap <= h.as_f64() + 0.01, "cell {i}: vwap {vwap}");
        }
    }
}

#[test]
fn write_csv_then_load_csv_gives_the_identical_panel() {
    let p = generate(&GenConfig { n_symbols: 120, n_days: 300, ..GenConfig::default() }, &LimitRules::default());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("market.csv");
    write_csv(&p, std::fs::File::create(&path).unwrap()).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("date,symbol,open,high,low,close,volume,amount,paused,is_st"));
    assert_eq!(lines.count(), p.n_bars());
    let back = load_csv(&path, &LimitRules::default()).unwrap();
    common::assert_same_panel(&p, &back);
}

#[test]
fn tiny_and_empty_configs_do_not_panic() {
    let rules = LimitRules::default();
    for (n_symbols, n_days) in [(0, 0), (0, 5), (5, 0), (1, 1), (3, 2), (7, 30)] {
        let p = generate(&GenConfig { n_symbols, n_days, ..GenConfig::default() }, &rules);
        assert_eq!((p.n_symbols(), p.n_dates()), (n_symbols, n_days));
        assert_eq!(p.flags.len(), n_symbols * n_days);
    }
}

/// Speed checks on the full size (5000 x 2500 unless `JANUS_SYMBOLS` / `JANUS_DAYS` say
/// otherwise): `cargo test -p janus-data --test generator -- --ignored --nocapture`.
/// With `JANUS_CSV=path`, the CSV is written there once and then only loaded.
#[test]
#[ignore]
fn full_market_speed() {
    let var = |k: &str, d: usize| std::env::var(k).ok().and_then(|s| s.parse().ok()).unwrap_or(d);
    let (symbols, days) = (var("JANUS_SYMBOLS", 5000), var("JANUS_DAYS", 2500));
    let dir = tempfile::tempdir().unwrap();
    let path = std::env::var_os("JANUS_CSV").map_or_else(|| dir.path().join("big.csv"), Into::into);
    if !path.exists() {
        let cfg = GenConfig { n_symbols: symbols, n_days: days, ..GenConfig::default() };
        let t = Instant::now();
        let p = generate(&cfg, &LimitRules::default());
        eprintln!("generate {symbols}x{days}: {:.2?} ({} bars)", t.elapsed(), p.n_bars());
        let t = Instant::now();
        write_csv(&p, std::fs::File::create(&path).unwrap()).unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        eprintln!("write_csv: {:.2?} ({} MB)", t.elapsed(), size >> 20);
    }
    let t = Instant::now();
    let back = load_csv(&path, &LimitRules::default()).unwrap();
    let secs = t.elapsed().as_secs_f64();
    eprintln!("load_csv: {secs:.2}s ({:.2} M rows/s)", back.n_bars() as f64 / secs / 1e6);
}
