//! The NATS JetStream feed against a real server (skipped visibly when it is down).
mod common;

use common::*;
use janus_feed::publish::Sink;
use std::time::Duration;

/// A fresh subject whose stream is deleted when dropped.
struct Subject {
    subject: String,
}

impl Subject {
    fn new() -> Option<Subject> {
        let subject = unique("janus.test.feed.");
        match janus_feed::nats::delete_stream(&nats_url(), &subject) {
            Ok(()) => Some(Subject { subject }),
            Err(e) => {
                skip(&format!("NATS with JetStream at {} is unavailable ({e})", nats_url()));
                None
            }
        }
    }
}

impl Drop for Subject {
    fn drop(&mut self) {
        let _ = janus_feed::nats::delete_stream(&nats_url(), &self.subject);
    }
}

#[test]
fn days_published_to_a_nats_subject_are_yielded_in_order_and_a_restart_yields_only_the_later_ones() {
    let Some(s) = Subject::new() else { return };
    let dir = tempfile::tempdir().expect("a temp dir");
    publish_then_read_then_restart(&nats_url(), &s.subject, dir.path());
}

#[test]
fn days_published_while_the_nats_feed_waits_arrive_one_by_one() {
    let Some(s) = Subject::new() else { return };
    let dir = tempfile::tempdir().expect("a temp dir");
    late_days_arrive_while_the_feed_waits(&nats_url(), &s.subject, dir.path());
}

#[test]
fn a_durable_nats_reader_killed_mid_run_resumes_after_the_last_day_it_finished() {
    let Some(s) = Subject::new() else { return };
    let csv = market_csv(3, 5);
    let whole = load(&csv);
    let dir = tempfile::tempdir().expect("a temp dir");
    let data = dir.path().join("m.csv");
    std::fs::write(&data, &csv).expect("write");
    let (header, days) = janus_feed::publish::read_days(&data).expect("readable");
    let mut sink = janus_feed::nats::NatsSink::connect(&nats_url(), &s.subject).expect("a sink");
    let replay = janus_feed::publish::Replay { data, from: None, days: None, interval: Duration::ZERO, end: true };
    janus_feed::publish::publish_days(&mut sink, &header, &days, &replay, &mut |_, _| {}).expect("published");
    let durable = unique("janus-test-");
    let o = || janus_feed::FeedOptions { resume: Some(durable.clone()), ..opts() };
    let history = load(&first_days(&csv, 1));
    {
        // Days 2 and 3 are yielded; asking for day 4 acknowledges day 2 and 3 is in progress.
        let mut feed = janus_feed::open(&nats_url(), &s.subject, history.clone(), whole.dates[0], o()).expect("feed");
        assert_eq!(feed.next_close().expect("valid").map(|h| h.date()), Some(whole.dates[1]));
        assert_eq!(feed.next_close().expect("valid").map(|h| h.date()), Some(whole.dates[2]));
        // Dropped here without asking for more: day 3 was never finished.
    }
    // The restarted reader's history holds days 1 and 2 (the run committed day 2).
    let history = load(&first_days(&csv, 2));
    let mut feed = janus_feed::open(&nats_url(), &s.subject, history, whole.dates[1], o()).expect("a feed");
    let (dates, _) = drain(feed.as_mut());
    assert_eq!(dates, whole.dates[2..].to_vec());
    assert_same(feed.panel(), &whole);
}

#[test]
fn a_bad_message_on_a_nats_subject_is_an_error_naming_its_sequence() {
    let Some(s) = Subject::new() else { return };
    let mut sink = janus_feed::nats::NatsSink::connect(&nats_url(), &s.subject).expect("a sink");
    let fields = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
    let bar = |close: &str| {
        fields(&[
            ("date", "2024-01-03"),
            ("symbol", "600000.SH"),
            ("open", "10.00"),
            ("high", "10.50"),
            ("low", "9.90"),
            ("close", close),
            ("volume", "1000"),
        ])
    };
    sink.bar(&bar("10.001")).expect("bar"); // off the tick
    sink.close("2024-01-03".parse().expect("date")).expect("close");
    let history = load("date,symbol,open,high,low,close,volume\n2024-01-02,600000.SH,10,10,10,10,1\n");
    let after = history.dates[0];
    let mut feed = janus_feed::open(&nats_url(), &s.subject, history, after, opts()).expect("a feed");
    let e = feed.next_close().map(|h| h.map(|h| h.date())).expect_err("a bad bar");
    let text = e.to_string();
    assert!(text.starts_with(&format!("nats subject `{}` entry 1: row 1: column `close`", s.subject)), "{text}");
    assert!(text.contains("not on the 0.01 tick"), "{text}");
}
