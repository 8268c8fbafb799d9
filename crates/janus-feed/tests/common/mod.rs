//! Fixtures for the feed tests: a small market as Janus CSV, the server URLs, visible skips,
//! and one scenario every source must pass.
#![allow(dead_code)]

use chrono::NaiveDate;
use janus_data::{load_csv_reader, Panel};
use janus_feed::publish::{open_sink, publish_days, Replay};
use janus_feed::{FeedEnd, FeedOptions, LiveFeed};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

pub fn redis_url() -> String {
    std::env::var("JANUS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
}

pub fn nats_url() -> String {
    std::env::var("JANUS_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// Skip (or, with JANUS_REQUIRE_SERVICES=1, fail) a test whose server is down.
pub fn skip(what: &str) {
    if std::env::var("JANUS_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
        panic!("{what} (JANUS_REQUIRE_SERVICES=1 makes this a failure)");
    }
    let test = std::thread::current().name().map(|n| format!(" {n}")).unwrap_or_default();
    let _ = writeln!(std::io::stderr(), "SKIPPED{test}: {what}; set JANUS_REQUIRE_SERVICES=1 to make this a failure");
}

/// A name no other test run uses.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{prefix}{}_{nanos}", std::process::id())
}

/// `n_days` weekdays from 2024-01-02 of `n_symbols` main-board and ChiNext names, with an
/// amount column, a halted bar and a limit-up day, as sorted Janus CSV.
pub fn market_csv(n_symbols: usize, n_days: usize) -> String {
    let mut out = String::from("date,symbol,open,high,low,close,volume,amount\n");
    let mut date = NaiveDate::from_ymd_opt(2024, 1, 2).expect("a date");
    let mut symbols: Vec<String> =
        (0..n_symbols).map(|s| if s % 2 == 0 { format!("60{:04}.SH", s) } else { format!("30{:04}.SZ", s) }).collect();
    symbols.sort();
    let mut close: Vec<i64> = (0..n_symbols).map(|s| 1000 + 37 * s as i64).collect();
    for d in 0..n_days {
        for (s, sym) in symbols.iter().enumerate() {
            let prev = close[s];
            // Up a tenth on day 3 for symbol 0 (a limit-up close), else a small wobble.
            let c = if d == 3 && s == 0 { prev + prev / 10 } else { prev + ((d * 7 + s * 3) % 11) as i64 - 5 };
            let (hi, lo) = (prev.max(c) + 3, prev.min(c) - 3);
            let volume = if d == 2 && s == 1 { 0 } else { 1000 + 10 * (d + s) };
            let fen = |v: i64| format!("{}.{:02}", v / 100, v % 100);
            out.push_str(&format!(
                "{date},{sym},{},{},{},{},{volume},{}\n",
                fen(prev),
                fen(hi),
                fen(lo),
                fen(c),
                volume as i64 * c / 100
            ));
            close[s] = c;
        }
        date = next_weekday(date);
    }
    out
}

fn next_weekday(d: NaiveDate) -> NaiveDate {
    let mut n = d.succ_opt().expect("a date");
    while chrono::Datelike::weekday(&n).number_from_monday() > 5 {
        n = n.succ_opt().expect("a date");
    }
    n
}

/// The CSV of the first `k` days of `csv`.
pub fn first_days(csv: &str, k: usize) -> String {
    let mut dates = Vec::new();
    let mut out = String::new();
    for (i, line) in csv.lines().enumerate() {
        if i > 0 {
            let d = &line[..10];
            if !dates.contains(&d) {
                dates.push(d);
            }
            if dates.len() > k {
                break;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

pub fn load(csv: &str) -> Panel {
    load_csv_reader(csv.as_bytes(), "test.csv", &Default::default()).expect("valid bars")
}

pub fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Two panels hold the same market, every column and limit.
pub fn assert_same(a: &Panel, b: &Panel) {
    assert_eq!(a.dates, b.dates);
    assert_eq!(a.symbols, b.symbols);
    assert_eq!((&a.open, &a.high, &a.low, &a.close), (&b.open, &b.high, &b.low, &b.close));
    assert_eq!((bits(&a.volume), bits(&a.amount)), (bits(&b.volume), bits(&b.amount)));
    assert_eq!((&a.limit_up, &a.limit_down), (&b.limit_up, &b.limit_down));
    assert_eq!(a.flags, b.flags);
}

pub fn opts() -> FeedOptions {
    FeedOptions {
        poll: Duration::from_millis(20),
        deadline: Some(Instant::now() + Duration::from_secs(30)),
        ..FeedOptions::default()
    }
}

/// Every day a feed yields until it ends, with how it ended.
pub fn drain(feed: &mut dyn LiveFeed) -> (Vec<NaiveDate>, Option<FeedEnd>) {
    let mut dates = Vec::new();
    while let Some(h) = feed.next_close().expect("a valid feed") {
        dates.push(h.date());
    }
    (dates, feed.end())
}

/// The scenario every source passes: history of 3 days, 5 more published with an end marker;
/// the feed yields exactly those 5 in order and its panel equals the whole file's; a feed
/// opened again after the 2nd of them yields the last 3 on the same panel.
pub fn publish_then_read_then_restart(url: &str, stream: &str, dir: &Path) {
    let csv = market_csv(6, 8);
    let whole = load(&csv);
    let history = load(&first_days(&csv, 3));
    let data = dir.join("market.csv");
    std::fs::write(&data, &csv).expect("write the data");
    let (header, days) = janus_feed::publish::read_days(&data).expect("readable");
    let mut sink = open_sink(url, stream, &header).expect("a sink");
    let replay = Replay { data, from: Some(whole.dates[3]), days: None, interval: Duration::ZERO, end: true };
    let n = publish_days(sink.as_mut(), &header, &days, &replay, &mut |_, _| {}).expect("published");
    assert_eq!(n, 5);

    let after = *history.dates.last().expect("days");
    let mut feed = janus_feed::open(url, stream, history.clone(), after, opts()).expect("a feed");
    let (dates, end) = drain(feed.as_mut());
    assert_eq!(dates, whole.dates[3..].to_vec());
    assert_eq!(end, Some(FeedEnd::Ended));
    assert_same(feed.panel(), &whole);

    let mut again = janus_feed::open(url, stream, history, whole.dates[4], opts()).expect("a feed");
    let (dates, end) = drain(again.as_mut());
    assert_eq!(dates, whole.dates[5..].to_vec());
    assert_eq!(end, Some(FeedEnd::Ended));
    assert_same(again.panel(), &whole);
}

/// Days published while the feed waits arrive in order; the feed ends at the end marker.
pub fn late_days_arrive_while_the_feed_waits(url: &str, stream: &str, dir: &Path) {
    let csv = market_csv(4, 6);
    let whole = load(&csv);
    let history = load(&first_days(&csv, 2));
    let data = dir.join("late.csv");
    std::fs::write(&data, &csv).expect("write the data");
    let (header, days) = janus_feed::publish::read_days(&data).expect("readable");
    let after = *history.dates.last().expect("days");
    let mut feed = janus_feed::open(url, stream, history, after, opts()).expect("a feed");
    let (url2, stream2) = (url.to_string(), stream.to_string());
    let publisher = std::thread::spawn(move || {
        let mut sink = open_sink(&url2, &stream2, &header).expect("a sink");
        let replay = Replay { data, from: None, days: None, interval: Duration::from_millis(150), end: true };
        publish_days(sink.as_mut(), &header, &days, &replay, &mut |_, _| {}).expect("published")
    });
    let mut seen = Vec::new();
    let started = Instant::now();
    while let Some(h) = feed.next_close().expect("valid") {
        seen.push((h.date(), started.elapsed()));
    }
    assert_eq!(publisher.join().expect("publisher"), 6);
    assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), whole.dates[2..].to_vec());
    // They came one by one, as published, not all at the end.
    assert!(seen[3].1 - seen[0].1 >= Duration::from_millis(300), "{seen:?}");
    assert_same(feed.panel(), &whole);
}
