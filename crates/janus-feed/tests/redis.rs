//! The Redis Streams feed against a real server (skipped visibly when it is down).
mod common;

use common::*;
use janus_feed::publish::Sink;
use std::time::Duration;

/// A fresh stream key, deleted when dropped.
struct Key {
    key: String,
}

impl Key {
    fn new() -> Option<Key> {
        let up = redis::Client::open(redis_url().as_str())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
            .and_then(|mut c| redis::cmd("PING").exec(&mut c));
        match up {
            Ok(()) => Some(Key { key: unique("janus-test:feed:") }),
            Err(e) => {
                skip(&format!("Redis at {} is unavailable ({e})", janus_feed::redact(&redis_url())));
                None
            }
        }
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        if let Ok(mut c) = redis::Client::open(redis_url().as_str()).and_then(|c| c.get_connection()) {
            let _ = redis::cmd("DEL").arg(&self.key).exec(&mut c);
        }
    }
}

#[test]
fn days_published_to_a_redis_stream_are_yielded_in_order_and_a_restart_yields_only_the_later_ones() {
    let Some(k) = Key::new() else { return };
    let dir = tempfile::tempdir().expect("a temp dir");
    publish_then_read_then_restart(&redis_url(), &k.key, dir.path());
}

#[test]
fn days_published_while_the_redis_feed_waits_arrive_one_by_one() {
    let Some(k) = Key::new() else { return };
    let dir = tempfile::tempdir().expect("a temp dir");
    late_days_arrive_while_the_feed_waits(&redis_url(), &k.key, dir.path());
}

#[test]
fn a_redis_reader_resumes_after_a_given_entry_id() {
    let Some(k) = Key::new() else { return };
    let csv = market_csv(2, 4);
    let whole = load(&csv);
    let mut sink = janus_feed::redis_feed::RedisSink::connect(&redis_url(), &k.key).expect("a sink");
    let header: Vec<String> = csv.lines().next().expect("header").split(',').map(str::to_string).collect();
    let (_, days) = {
        let dir = tempfile::tempdir().expect("a temp dir");
        let data = dir.path().join("m.csv");
        std::fs::write(&data, &csv).expect("write");
        janus_feed::publish::read_days(&data).expect("readable")
    };
    // Days 2 and 3 of 4, then remember where the reader stood, then day 4 and the end.
    let publish = |sink: &mut dyn Sink, k: usize| {
        for row in &days[k].1 {
            sink.bar(&janus_feed::message::bar_fields(&header, row)).expect("bar");
        }
        sink.close(days[k].0).expect("close");
    };
    publish(&mut sink, 1);
    publish(&mut sink, 2);
    let mut first = janus_feed::redis_feed::RedisSource::connect(&redis_url(), &k.key, None).expect("a source");
    let mut got = Vec::new();
    while got.len() < 2 {
        if let Some(janus_feed::Event::Day(d)) =
            janus_feed::Source::next_event(&mut first, Duration::from_millis(50)).expect("valid")
        {
            got.push(d.date);
        }
    }
    let resume_at = first.last_id().to_string();
    publish(&mut sink, 3);
    sink.end().expect("end");
    // A reader resuming there sees day 4 only; its history must then hold days 1 to 3.
    let history = load(&first_days(&csv, 3));
    let o = janus_feed::FeedOptions { resume: Some(resume_at), ..opts() };
    let mut feed = janus_feed::open(&redis_url(), &k.key, history.clone(), whole.dates[2], o).expect("a feed");
    let (dates, _) = drain(feed.as_mut());
    assert_eq!(dates, vec![whole.dates[3]]);
    assert_same(feed.panel(), &whole);
}

#[test]
fn a_bad_bar_in_a_redis_stream_is_an_error_naming_its_entry() {
    let Some(k) = Key::new() else { return };
    let mut c = redis::Client::open(redis_url().as_str()).and_then(|c| c.get_connection()).expect("redis");
    let mut bar = |id: &str, symbol: &str, close: &str| {
        redis::cmd("XADD")
            .arg(&k.key)
            .arg(id)
            .arg(&["type", "bar", "date", "2024-01-03", "symbol", symbol, "open", "10.00", "high", "10.50"])
            .arg(&["low", "9.90", "close", close, "volume", "1000"])
            .exec(&mut c)
            .expect("xadd");
    };
    bar("5-1", "600000.SH", "10.10");
    bar("5-2", "600001.SH", "10.99"); // above its high
    redis::cmd("XADD").arg(&k.key).arg("5-3").arg(&["type", "close", "date", "2024-01-03"]).exec(&mut c).expect("xadd");
    let history = load(
        "date,symbol,open,high,low,close,volume\n2024-01-02,600000.SH,10,10,10,10,1\n2024-01-02,600001.SH,10,10,10,10,1\n",
    );
    let after = history.dates[0];
    let mut feed = janus_feed::open(&redis_url(), &k.key, history, after, opts()).expect("a feed");
    let e = feed.next_close().map(|h| h.map(|h| h.date())).expect_err("a bad bar");
    let text = e.to_string();
    assert!(text.starts_with(&format!("redis stream `{}` entry 5-2: row 2: column `close`", k.key)), "{text}");
}
