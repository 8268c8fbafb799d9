//! The growing-file feed: days appended to a bars CSV while it is tailed.
mod common;

use common::*;
use janus_feed::{FeedEnd, FeedOptions};
use std::io::Write;
use std::time::{Duration, Instant};

fn url(path: &std::path::Path) -> String {
    format!("file:{}", path.display())
}

#[test]
fn days_published_to_a_file_are_yielded_in_order_and_a_restart_yields_only_the_later_ones() {
    let dir = tempfile::tempdir().expect("a temp dir");
    publish_then_read_then_restart(&url(&dir.path().join("live.csv")), "", dir.path());
}

#[test]
fn days_appended_while_the_file_feed_waits_arrive_one_by_one() {
    let dir = tempfile::tempdir().expect("a temp dir");
    late_days_arrive_while_the_feed_waits(&url(&dir.path().join("live.csv")), "", dir.path());
}

#[test]
fn a_partial_last_line_waits_until_it_is_complete() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("live.csv");
    let csv = market_csv(2, 3);
    let history = load(&first_days(&csv, 1));
    let lines: Vec<&str> = csv.lines().collect();
    // Day 2 whole, then day 3's first row cut in the middle of its close.
    let mut f = std::fs::File::create(&path).expect("create");
    write!(f, "{}\n{}\n{}\n", lines[0], lines[3], lines[4]).expect("write");
    let (head, tail) = lines[5].split_at(lines[5].len() - 8);
    write!(f, "{head}").expect("write");
    f.flush().expect("flush");
    let after = history.dates[0];
    let o = FeedOptions {
        poll: Duration::from_millis(10),
        idle: Some(Duration::from_millis(300)),
        ..FeedOptions::default()
    };
    let mut feed = janus_feed::open(&url(&path), "", history, after, o).expect("a feed");
    // Day 2 would close at a row of day 3, but a row without its newline is not read yet.
    let first = feed.next_close().expect("valid").map(|h| h.date());
    assert_eq!(first, None, "no whole row of a later day yet, no marker: day 2 is still open");
    assert_eq!(feed.end(), Some(FeedEnd::Idle));

    let mut feed = janus_feed::open(&url(&path), "", load(&first_days(&csv, 1)), after, opts()).expect("a feed");
    write!(f, "{tail}\n{}\n#end\n", lines[6]).expect("write");
    f.flush().expect("flush");
    let (dates, end) = drain(feed.as_mut());
    assert_eq!(dates, load(&csv).dates[1..].to_vec());
    assert_eq!(end, Some(FeedEnd::Ended));
    assert_same(feed.panel(), &load(&csv));
}

#[test]
fn a_bad_bar_in_the_file_is_an_error_naming_its_line() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("live.csv");
    let csv = market_csv(2, 2);
    let lines: Vec<&str> = csv.lines().collect();
    let bad = lines[4].replacen(",1", ",-1", 1);
    std::fs::write(&path, format!("{}\n# a comment\n{}\n{bad}\n#closed,2024-01-03\n", lines[0], lines[3]))
        .expect("write");
    let history = load(&first_days(&csv, 1));
    let after = history.dates[0];
    let mut feed = janus_feed::open(&url(&path), "", history, after, opts()).expect("a feed");
    let e = feed.next_close().map(|h| h.map(|h| h.date())).expect_err("a bad bar");
    let text = e.to_string();
    assert!(text.starts_with(&format!("{}: line 4: column `open`", path.display())), "{text}");
}

#[test]
fn a_file_feed_stops_at_its_deadline_or_when_told() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("never.csv");
    let history = load(&first_days(&market_csv(2, 2), 1));
    let after = history.dates[0];
    let o = FeedOptions { deadline: Some(Instant::now() + Duration::from_millis(100)), ..opts() };
    let mut feed = janus_feed::open(&url(&path), "", history.clone(), after, o).expect("a feed");
    assert!(feed.next_close().expect("no error").is_none());
    assert_eq!(feed.end(), Some(FeedEnd::Deadline));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let o = FeedOptions { stop: Some(stop), ..opts() };
    let mut feed = janus_feed::open(&url(&path), "", history, after, o).expect("a feed");
    assert!(feed.next_close().expect("no error").is_none());
    assert_eq!(feed.end(), Some(FeedEnd::Stopped));
}
