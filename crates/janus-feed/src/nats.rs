//! Closed days from a NATS JetStream subject: one message per bar, plus a close message per
//! day and an end message, each a JSON object of strings (the format of [`crate::message`]).
//!
//! The subject is stored by a JetStream stream named after it (dots and other characters a
//! stream name cannot hold become `_`), created by whichever side comes first. The reader is a
//! pull consumer, driven by a small current-thread runtime of its own so the rest of Janus stays
//! synchronous. By default it is ephemeral and reads the stream from its first message (a
//! restarted paper run rebuilds its panel from all live days). With a durable name
//! ([`crate::FeedOptions::resume`]) it resumes where that consumer stopped: messages are
//! acknowledged once the engine is done with their day (it asks for the next), so a reader
//! killed mid-day gets the whole day again. Redeliveries are recognised by stream sequence.

use crate::message::{decode, Days, Message};
use crate::publish::Sink;
use crate::{redact, source_error, Event, FeedError, Source};
use async_nats::jetstream::{
    self, consumer::pull, consumer::AckPolicy, consumer::DeliverPolicy, consumer::PullConsumer,
};
use chrono::NaiveDate;
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::runtime::Runtime;

/// How long connecting or one request may take before the server counts as gone.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Messages fetched per request.
const BATCH: usize = 1000;

/// The JetStream stream that stores `subject`.
pub fn stream_name(subject: &str) -> String {
    let clean: String = subject.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    format!("JANUS_{clean}")
}

/// A runtime, a connection and the JetStream stream of `subject`.
struct Link {
    rt: Runtime,
    js: jetstream::Context,
    stream: jetstream::stream::Stream,
    shown: String,
    subject: String,
}

impl Link {
    fn open(url: &str, subject: &str) -> Result<Link, FeedError> {
        let shown = redact(url);
        let err = |what: &str, e: &dyn std::fmt::Display| source_error(&shown, format!("{what}: {e}"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| err("cannot start the NATS client's runtime", &e))?;
        let options =
            async_nats::ConnectOptions::new().connection_timeout(IO_TIMEOUT).request_timeout(Some(IO_TIMEOUT));
        let client = rt.block_on(options.connect(url)).map_err(|e| {
            err("cannot connect (is nats-server running, with JetStream enabled: `nats-server -js`?)", &e)
        })?;
        // The JetStream context starts a task of its own: inside the runtime.
        let js = {
            let _inside = rt.enter();
            jetstream::new(client)
        };
        let config = jetstream::stream::Config {
            name: stream_name(subject),
            subjects: vec![subject.to_string()],
            ..Default::default()
        };
        let stream = rt.block_on(js.get_or_create_stream(config)).map_err(|e| {
            err(
                &format!(
                    "cannot open the JetStream stream {} for subject `{subject}` (another stream may already hold \
                     the subject; pick another subject)",
                    stream_name(subject)
                ),
                &e,
            )
        })?;
        Ok(Link { rt, js, stream, shown, subject: subject.to_string() })
    }
}

/// Reads closed days from a JetStream subject.
pub struct NatsSource {
    link: Link,
    consumer: PullConsumer,
    durable: bool,
    /// The stream sequence of the last message taken.
    last_seq: u64,
    days: Days,
    /// Durable mode: messages not yet acknowledged, with the day they belong to.
    unacked: Vec<(Option<NaiveDate>, jetstream::Message)>,
}

impl NatsSource {
    /// Read `subject` at `url` from its first message, or through durable consumer `durable`.
    pub fn connect(url: &str, subject: &str, durable: Option<&str>) -> Result<NatsSource, FeedError> {
        let link = Link::open(url, subject)?;
        let mut config = pull::Config {
            deliver_policy: DeliverPolicy::All,
            filter_subject: subject.to_string(),
            ..Default::default()
        };
        match durable {
            Some(name) => {
                config.durable_name = Some(name.to_string());
                config.ack_policy = AckPolicy::Explicit;
                // A day's bars wait for their day to be processed before they are acknowledged:
                // room for a whole market's day, and time for the engine to work.
                config.max_ack_pending = 1 << 20;
                config.ack_wait = Duration::from_secs(600);
            }
            None => {
                config.ack_policy = AckPolicy::None;
                config.inactive_threshold = Duration::from_secs(60);
            }
        }
        if let Some(name) = durable {
            // Messages the last reader took but never acknowledged (it was killed mid-day)
            // would come back only after the ack wait: recreate the consumer at its ack floor
            // so a restart resumes at once, with the whole unfinished day.
            if let Ok(old) = link.rt.block_on(link.stream.get_consumer::<pull::Config>(name)) {
                let floor = old.cached_info().ack_floor.stream_sequence;
                link.rt
                    .block_on(link.stream.delete_consumer(name))
                    .map_err(|e| source_error(&link.shown, format!("cannot reset the durable consumer {name}: {e}")))?;
                config.deliver_policy = DeliverPolicy::ByStartSequence { start_sequence: floor + 1 };
            }
        }
        let made = link.rt.block_on(link.stream.create_consumer(config));
        let consumer = made.map_err(|e| source_error(&link.shown, format!("cannot create the consumer: {e}")))?;
        let days = Days::new(format!("nats subject `{subject}`"));
        Ok(NatsSource { link, consumer, durable: durable.is_some(), last_seq: 0, days, unacked: Vec::new() })
    }
}

impl Source for NatsSource {
    fn next_event(&mut self, wait: Duration) -> Result<Option<Event>, FeedError> {
        if let Some(e) = self.days.pop() {
            return Ok(Some(e));
        }
        let shown = self.link.shown.clone();
        let fetch_err = |e: &dyn std::fmt::Display| source_error(&shown, format!("cannot read the subject: {e}"));
        // The server refuses waits shorter than a few milliseconds.
        let expires = wait.max(Duration::from_millis(50));
        let consumer = &self.consumer;
        let got: Vec<jetstream::Message> = self.link.rt.block_on(async {
            // Take what is stored at once; if nothing is, wait for one message and then take
            // the rest at once. A waiting request for many messages is avoided on purpose:
            // once such a request has received some messages, the server does not always
            // send its end-of-request status at expiry, and the client then waits seconds
            // for a request that is over (seen on nats-server 2.9: about 1 in 40 requests).
            let mut got = Vec::new();
            let take = |batch: Option<Duration>| async move {
                let mut part = match batch {
                    None => consumer.fetch().max_messages(BATCH).messages().await,
                    Some(expires) => consumer.batch().max_messages(1).expires(expires).messages().await,
                }
                .map_err(|e| fetch_err(&e))?;
                let mut taken = Vec::new();
                while let Some(m) = part.next().await {
                    taken.push(m.map_err(|e| fetch_err(&e))?);
                }
                Ok::<_, FeedError>(taken)
            };
            got.extend(take(None).await?);
            if got.is_empty() {
                got.extend(take(Some(expires)).await?);
                if !got.is_empty() {
                    got.extend(take(None).await?);
                }
            }
            Ok::<_, FeedError>(got)
        })?;
        for m in got {
            let seq = m.info().map(|i| i.stream_sequence).map_err(|e| fetch_err(&e))?;
            if seq <= self.last_seq {
                continue; // a redelivery of a message already taken
            }
            let at = format!("nats subject `{}` entry {seq}", self.link.subject);
            let fields: BTreeMap<String, String> = serde_json::from_slice(&m.payload).map_err(|e| {
                source_error(&at, format!("not a JSON object of strings ({e}); see docs/feeds.md for the format"))
            })?;
            let msg = decode(fields, &at)?;
            let date = match &msg {
                Message::Bar(d, _) | Message::Close(d) => Some(*d),
                Message::End => None,
            };
            self.days.push(&seq.to_string(), msg)?;
            self.last_seq = seq;
            if self.durable {
                self.unacked.push((date, m));
            }
        }
        Ok(self.days.pop())
    }

    fn processed(&mut self, date: NaiveDate) -> Result<(), FeedError> {
        let (done, keep): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.unacked).into_iter().partition(|(d, _)| d.is_some_and(|d| d <= date));
        self.unacked = keep;
        let shown = self.link.shown.clone();
        self.link.rt.block_on(async {
            for (_, m) in &done {
                m.ack().await.map_err(|e| source_error(&shown, format!("cannot acknowledge a message: {e}")))?;
            }
            Ok(())
        })
    }

    fn position(&self) -> String {
        format!("nats subject `{}` after stream sequence {}", self.link.subject, self.last_seq)
    }
}

/// Publishes bar, close and end messages to a JetStream subject, waiting for the server to
/// store each day.
pub struct NatsSink {
    link: Link,
    pending: Vec<Vec<(String, String)>>,
}

impl NatsSink {
    pub fn connect(url: &str, subject: &str) -> Result<NatsSink, FeedError> {
        Ok(NatsSink { link: Link::open(url, subject)?, pending: Vec::new() })
    }

    fn send(&mut self, last: Vec<(String, String)>) -> Result<(), FeedError> {
        let mut messages = std::mem::take(&mut self.pending);
        messages.push(last);
        let (js, subject, shown) = (&self.link.js, self.link.subject.clone(), self.link.shown.clone());
        let err = |e: &dyn std::fmt::Display| source_error(&shown, format!("cannot publish to `{subject}`: {e}"));
        self.link.rt.block_on(async {
            let mut acks = Vec::with_capacity(messages.len());
            for fields in &messages {
                let object: BTreeMap<&str, &str> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let payload = serde_json::to_vec(&object).map_err(|e| err(&e))?;
                acks.push(js.publish(subject.clone(), payload.into()).await.map_err(|e| err(&e))?);
            }
            // Stored by the server, in order, before the day counts as published.
            for ack in acks {
                ack.await.map_err(|e| err(&e))?;
            }
            Ok(())
        })
    }
}

impl Sink for NatsSink {
    fn bar(&mut self, fields: &[(String, String)]) -> Result<(), FeedError> {
        let mut message = vec![("type".to_string(), "bar".to_string())];
        message.extend(fields.iter().filter(|(k, _)| k != "type").cloned());
        self.pending.push(message);
        Ok(())
    }

    fn close(&mut self, date: NaiveDate) -> Result<(), FeedError> {
        self.send(crate::message::close_fields(date))
    }

    fn end(&mut self) -> Result<(), FeedError> {
        self.send(crate::message::end_fields())
    }

    fn name(&self) -> String {
        format!("{} subject `{}`", self.link.shown, self.link.subject)
    }
}

/// Delete the JetStream stream of `subject` (tests and demos clean up with it); a stream
/// that does not exist is not an error.
pub fn delete_stream(url: &str, subject: &str) -> Result<(), FeedError> {
    let link = Link::open(url, subject)?;
    let name = stream_name(subject);
    link.rt
        .block_on(link.js.delete_stream(&name))
        .map(|_| ())
        .map_err(|e| source_error(&link.shown, format!("cannot delete the stream {name}: {e}")))
}
