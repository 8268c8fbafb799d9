//! `janus publish`: replay a bars file day by day into a live feed (a growing file, a Redis
//! Stream, a NATS subject), so that `janus paper` has a market to trade in demos and tests.

use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::Args;
use janus_feed::publish::{check_header, open_sink, publish_days, read_days, Replay};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args, Debug)]
#[command(after_help = "Each day goes out as its bars, then a close marker; with --end an end marker follows the \
                        last day, and a paper run reading the feed finishes there. The message format is in \
                        docs/feeds.md.\n\nExample, one day every two seconds into Redis:\n  janus publish --to \
                        redis://127.0.0.1:6379 --stream janus:bars --data market.csv --from 2024-01-02 \
                        --interval-ms 2000 --end")]
pub struct PublishArgs {
    /// Where to publish: `file:PATH` (appends Janus CSV rows and `#closed,DATE` markers to
    /// PATH, creating it with the data's header), `redis://HOST:PORT[/DB]` (entries on the
    /// Redis Stream --stream) or `nats://HOST:PORT` (messages on the JetStream subject
    /// --stream, whose stream is created when missing).
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// Redis stream key or NATS subject (ignored for a file).
    #[arg(long, default_value = "janus.bars")]
    pub stream: String,
    /// The bars to replay: a Janus CSV (date,symbol,open,high,low,close,volume[,amount,...]),
    /// checked whole before anything is sent.
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// First day to publish (YYYY-MM-DD); default: the file's first day.
    #[arg(long, value_name = "DATE")]
    pub from: Option<NaiveDate>,
    /// Publish at most N days.
    #[arg(long, value_name = "N")]
    pub days: Option<usize>,
    /// Pause between two days, in milliseconds (0: as fast as the feed takes them).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub interval_ms: u64,
    /// Send the end marker after the last day: readers of the feed finish there.
    #[arg(long)]
    pub end: bool,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn publish(args: &PublishArgs) -> Result<()> {
    let shown = args.data.display().to_string();
    let (header, days) = read_days(&args.data).with_context(|| format!("cannot publish {shown}"))?;
    check_header(&header, &shown)?;
    let mut sink = open_sink(&args.to, &args.stream, &header)?;
    let replay = Replay {
        data: args.data.clone(),
        from: args.from,
        days: args.days,
        interval: Duration::from_millis(args.interval_ms),
        end: args.end,
    };
    let quiet = args.quiet;
    let name = sink.name();
    let n = publish_days(sink.as_mut(), &header, &days, &replay, &mut |date, bars| {
        if !quiet {
            println!("{date}  {bars} bars  -> {name}");
        }
    })?;
    if !quiet {
        let end = if args.end { ", then the end marker" } else { "" };
        let s = if n == 1 { "" } else { "s" };
        eprintln!("published {n} day{s} of {shown} to {name}{end}");
    }
    Ok(())
}
