//! The bar message format shared by the stream feeds (docs/feeds.md), and the assembly of
//! messages into closed days.
//!
//! A message is a flat map of text fields. `type` says what it is:
//! - `bar`: one bar, with the Janus CSV columns as fields (`date`, `symbol`, `open`, `high`,
//!   `low`, `close`, `volume`, and any of `amount`, `vwap`, `limit_up`, `limit_down`, `paused`,
//!   `is_st`, `adj_factor`), prices as decimal strings (`"10.23"`) so they stay exact;
//! - `close`: the day `date` is complete;
//! - `end`: the publisher is done (the open day, if any, is complete too).
//!
//! In Redis the fields are the entry's field/value pairs; in NATS the payload is a JSON object
//! of strings. The values are checked by the same loader as a file, through a Janus CSV text
//! built from the day's bars.

use crate::{source_error, ClosedDay, Event, FeedError};
use chrono::NaiveDate;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Columns every bar carries, in the order the day's CSV header lists them.
pub const REQUIRED: [&str; 7] = ["date", "symbol", "open", "high", "low", "close", "volume"];

/// One message, decoded.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    /// A bar: its date and all its fields but `type`.
    Bar(NaiveDate, BTreeMap<String, String>),
    Close(NaiveDate),
    End,
}

/// Decode a message's fields; `at` names it in errors (`<stream> entry <id>`).
pub fn decode(mut fields: BTreeMap<String, String>, at: &str) -> Result<Message, FeedError> {
    let kind = fields.remove("type").unwrap_or_default();
    let date = |fields: &BTreeMap<String, String>| -> Result<NaiveDate, FeedError> {
        let text = fields.get("date").map(String::as_str).unwrap_or("");
        parse_date(text)
            .ok_or_else(|| source_error(at, format!("field `date`: `{text}` is not a date; write dates as YYYY-MM-DD")))
    };
    match kind.as_str() {
        "bar" => Ok(Message::Bar(date(&fields)?, fields)),
        "close" => Ok(Message::Close(date(&fields)?)),
        "end" => Ok(Message::End),
        other => Err(source_error(
            at,
            format!("field `type` is `{other}`; a feed message is of type `bar`, `close` or `end` (docs/feeds.md)"),
        )),
    }
}

/// The fields of a bar message for a CSV row: the header's names with the row's non-empty
/// values, and `type = bar` first.
pub fn bar_fields(header: &[String], row: &[String]) -> Vec<(String, String)> {
    let mut out = vec![("type".to_string(), "bar".to_string())];
    out.extend(header.iter().zip(row).filter(|(_, v)| !v.is_empty()).map(|(k, v)| (k.clone(), v.clone())));
    out
}

pub fn close_fields(date: NaiveDate) -> Vec<(String, String)> {
    vec![("type".into(), "close".into()), ("date".into(), date.format("%Y-%m-%d").to_string())]
}

pub fn end_fields() -> Vec<(String, String)> {
    vec![("type".into(), "end".into())]
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text.trim(), "%Y%m%d"))
        .ok()
}

/// Messages in, closed days out: the closing rules of docs/feeds.md.
pub struct Days {
    /// Names the stream in errors and in the days' sources.
    source: String,
    open: Option<NaiveDate>,
    bars: Vec<(String, BTreeMap<String, String>)>,
    last_closed: Option<NaiveDate>,
    ready: VecDeque<Event>,
}

impl Days {
    pub fn new(source: impl Into<String>) -> Days {
        Days { source: source.into(), open: None, bars: Vec::new(), last_closed: None, ready: VecDeque::new() }
    }

    /// The next closed day or end, once one is complete.
    pub fn pop(&mut self) -> Option<Event> {
        self.ready.pop_front()
    }

    /// Take one message with id `id`.
    pub fn push(&mut self, id: &str, msg: Message) -> Result<(), FeedError> {
        let at = || format!("{} entry {id}", self.source);
        match msg {
            Message::Bar(date, fields) => {
                if self.last_closed.is_some_and(|c| date <= c) {
                    return Err(source_error(
                        at(),
                        format!(
                            "a bar of {date} arrives after that day closed ({} is the last closed day); a closed \
                             day cannot change: publish each day once, in order",
                            self.last_closed.map_or_else(String::new, |d| d.to_string())
                        ),
                    ));
                }
                match self.open {
                    Some(open) if date > open => self.close(),
                    Some(open) if date < open => {
                        return Err(source_error(
                            at(),
                            format!("a bar of {date} arrives among the bars of {open}; publish days in order"),
                        ))
                    }
                    _ => {}
                }
                self.open = Some(date);
                self.bars.push((id.to_string(), fields));
            }
            Message::Close(date) => match self.open {
                Some(open) if open == date => self.close(),
                // A day already closed by a bar of a later date: the marker adds nothing.
                _ if self.last_closed.is_some_and(|c| date <= c) => {}
                Some(open) => {
                    return Err(source_error(
                        at(),
                        format!("close marker of {date} while the open day is {open}; publish days in order"),
                    ))
                }
                None => {
                    return Err(source_error(
                        at(),
                        format!(
                            "close marker of {date}, but no bar of {date} arrived; a trading day has bars (or the \
                             marker's date is wrong)"
                        ),
                    ))
                }
            },
            Message::End => {
                self.close();
                self.ready.push_back(Event::End);
            }
        }
        Ok(())
    }

    /// Close the open day: its bars become Janus CSV, sorted by symbol as the loader wants
    /// (a stream may carry a day's bars in any order).
    fn close(&mut self) {
        let Some(date) = self.open.take() else { return };
        let mut bars = std::mem::take(&mut self.bars);
        bars.sort_by(|a, b| a.1.get("symbol").cmp(&b.1.get("symbol")));
        let optional: BTreeSet<&str> =
            bars.iter().flat_map(|(_, f)| f.keys().map(String::as_str)).filter(|k| !REQUIRED.contains(k)).collect();
        let columns: Vec<&str> = REQUIRED.iter().copied().chain(optional).collect();
        let mut text = Vec::with_capacity(64 * (bars.len() + 1));
        {
            let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(&mut text);
            // Writing to memory cannot fail.
            let _ = w.write_record(&columns);
            for (_, fields) in &bars {
                let _ = w.write_record(columns.iter().map(|c| fields.get(*c).map_or("", String::as_str)));
            }
            let _ = w.flush();
        }
        let ids = bars.into_iter().map(|(id, _)| id).collect();
        self.last_closed = Some(date);
        self.ready.push_back(Event::Day(ClosedDay { date, text, source: self.source.clone(), first_line: 2, ids }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(date: &str, symbol: &str, close: &str) -> Message {
        let fields: BTreeMap<String, String> = [
            ("type", "bar"),
            ("date", date),
            ("symbol", symbol),
            ("open", close),
            ("high", close),
            ("low", close),
            ("close", close),
            ("volume", "100"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        decode(fields, "t").expect("a bar")
    }

    fn day(e: Option<Event>) -> ClosedDay {
        match e {
            Some(Event::Day(d)) => d,
            other => panic!("expected a day, got {other:?}"),
        }
    }

    #[test]
    fn a_day_closes_at_its_marker_or_at_a_bar_of_a_later_date_with_its_bars_sorted_by_symbol() {
        let mut days = Days::new("s");
        days.push("1-0", bar("2024-01-02", "600000.SH", "8.00")).expect("ok");
        days.push("2-0", bar("2024-01-02", "000001.SZ", "10.00")).expect("ok");
        assert!(days.pop().is_none());
        days.push("3-0", bar("2024-01-03", "000001.SZ", "10.10")).expect("ok");
        let d = day(days.pop());
        assert_eq!(d.date.to_string(), "2024-01-02");
        assert_eq!(d.ids, ["2-0", "1-0"]);
        let text = String::from_utf8(d.text).expect("utf-8");
        assert_eq!(
            text,
            "date,symbol,open,high,low,close,volume\n2024-01-02,000001.SZ,10.00,10.00,10.00,10.00,100\n\
             2024-01-02,600000.SH,8.00,8.00,8.00,8.00,100\n"
        );
        days.push("4-0", Message::Close("2024-01-03".parse().expect("date"))).expect("ok");
        assert_eq!(day(days.pop()).ids, ["3-0"]);
        // A marker of a day already closed adds nothing; the end marker ends.
        days.push("5-0", Message::Close("2024-01-02".parse().expect("date"))).expect("ok");
        days.push("6-0", Message::End).expect("ok");
        assert!(matches!(days.pop(), Some(Event::End)));
    }

    #[test]
    fn a_bar_of_a_closed_day_or_a_marker_without_bars_is_an_error_naming_the_entry() {
        let mut days = Days::new("stream `bars`");
        days.push("1-0", bar("2024-01-03", "000001.SZ", "10.00")).expect("ok");
        days.push("2-0", Message::Close("2024-01-03".parse().expect("date"))).expect("ok");
        let e = days.push("3-0", bar("2024-01-03", "600000.SH", "8.00")).expect_err("late bar");
        assert!(e
            .to_string()
            .starts_with("stream `bars` entry 3-0: a bar of 2024-01-03 arrives after that day closed"));
        let e = days.push("4-0", Message::Close("2024-01-04".parse().expect("date"))).expect_err("no bars");
        assert!(e.to_string().contains("entry 4-0: close marker of 2024-01-04, but no bar"), "{e}");
        let e = decode([("type".to_string(), "quote".to_string())].into(), "s entry 9-0").expect_err("bad type");
        assert!(e.to_string().starts_with("s entry 9-0: field `type` is `quote`"), "{e}");
    }
}
