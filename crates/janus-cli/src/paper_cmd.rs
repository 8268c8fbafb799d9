//! `janus paper`: the strategy of a config trading a live bar feed with the simulated broker,
//! persisted day by day. The same engine as the backtest: the feed gives each closed day, the
//! simulated broker fills the orders of the evening before at that day's bars (its clock is the
//! feed's), the strategy decides after the close. Every order is journaled before it is sent and
//! every day is committed with a checkpoint, so a paper run that is killed continues from where
//! it stopped when the same command runs again, without sending an order twice or losing a fill.

use crate::config::{self, FileConfig};
use crate::run::load_data;
use anyhow::{bail, Context, Result};
use clap::Args;
use janus_core::{RunMeta, RunStatus, Store};
use janus_engine::{derive_run_id, Backtest, RunOptions};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

#[derive(Args, Debug)]
pub struct PaperArgs {
    /// TOML config: the backtest's sections plus `[paper]` (feed, stream, start); see
    /// examples/paper.toml. Its `[data]` source is the history the strategy starts from.
    #[arg(long, short)]
    pub config: PathBuf,
    /// Live bars: `file:PATH` (a bars CSV that grows), `redis://HOST:PORT` (a Redis Stream) or
    /// `nats://HOST:PORT` (a JetStream subject); overrides `paper.feed`.
    #[arg(long)]
    pub feed: Option<String>,
    /// Stream key (Redis) or subject (NATS) carrying the bars; overrides `paper.stream`.
    #[arg(long)]
    pub stream: Option<String>,
    /// Store the run in sqlite:PATH, postgres://... or redis://... (a persistent store is what
    /// lets a killed run continue); overrides `store` of the config.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Run id; default: derived from the config and the feed, so the same command continues the
    /// same run.
    #[arg(long)]
    pub run_id: Option<String>,
    /// Stop when no new day has arrived for this many seconds (default: run until the feed
    /// says it ended, or Ctrl-C; either way the same command continues the run).
    #[arg(long, value_name = "SECS")]
    pub idle_exit_secs: Option<f64>,
    /// Where orders go: `sim` (the simulated broker, filling at the feed's bars) or `gateway`
    /// (a broker bridge behind the gateway protocol of docs/gateway.md); overrides
    /// `paper.broker`.
    #[arg(long)]
    pub broker: Option<String>,
    /// The gateway's Redis (`redis://HOST:PORT`); overrides `paper.gateway`.
    #[arg(long, value_name = "URL")]
    pub gateway: Option<String>,
    /// The broker account the bridge trades; overrides `paper.account`.
    #[arg(long)]
    pub account: Option<String>,
    /// No line per day, only the run id at the end.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `JANUS_KILL_AT=POINT:N`: kill this process with SIGKILL the N-th time the engine reaches
/// POINT (one of `janus_engine::PROBE_POINTS`). For the crash tests of paper trading.
fn crash_probe(point: &'static str) {
    static AT: OnceLock<Option<(String, usize)>> = OnceLock::new();
    static SEEN: AtomicUsize = AtomicUsize::new(0);
    let at = AT.get_or_init(|| {
        let v = std::env::var("JANUS_KILL_AT").ok()?;
        let (p, n) = v.split_once(':')?;
        Some((p.to_string(), n.parse().ok()?))
    });
    if let Some((p, n)) = at {
        if p == point && SEEN.fetch_add(1, Ordering::SeqCst) + 1 == *n {
            let me = std::process::id().to_string();
            let _ = std::process::Command::new("kill").args(["-KILL", &me]).status();
            // Not reached: SIGKILL cannot be caught. Never go on past the point if it was.
            std::process::abort();
        }
    }
}

pub fn paper(args: &PaperArgs) -> Result<()> {
    let mut loaded = config::load(Some(&args.config))?;
    loaded.text = crate::store_cmd::redact_config(&loaded.text);
    let cfg: &FileConfig = &loaded.config;
    let paper = &cfg.paper;
    // A file feed in the config is relative to the config file, like `data.source`.
    let from_config = paper.feed.as_ref().map(|f| match f.strip_prefix("file:") {
        Some(path) => format!("file:{}", loaded.base.join(path).display()),
        None => f.clone(),
    });
    let Some(feed_url) = args.feed.clone().or(from_config) else {
        bail!("paper trading needs a live feed: give --feed (file:PATH, redis://HOST:PORT or nats://HOST:PORT) or `paper.feed` in the config");
    };
    let stream = args.stream.clone().unwrap_or_else(|| paper.stream.clone());
    let (history, _) = load_data(cfg, &loaded.base, None)?;
    if history.n_dates() == 0 {
        bail!("the history of `data.source` has no trading day: paper trading starts from some history");
    }
    let source = format!("paper:{feed_url}#{stream}");
    let run_id = match args.run_id.as_ref().or(cfg.run_id.as_ref()) {
        Some(id) => id.clone(),
        None => derive_run_id(&loaded.text, &source),
    };
    let meta = RunMeta {
        run_id: run_id.clone(),
        config: loaded.text.clone(),
        data_source: source,
        status: RunStatus::Running,
    };
    let store_url = args.store.clone().or_else(|| cfg.store.clone());
    let (mut store, shown) = crate::store_cmd::open(store_url.as_deref(), cfg.store_retry_secs)?;
    if store_url.as_deref().unwrap_or("memory") == "memory" && !args.quiet {
        eprintln!(
            "note: the memory store keeps nothing: a stopped paper run cannot continue; give --store sqlite:PATH"
        );
    }

    let mut engine = Backtest::new(&history, cfg.engine())?;
    engine.instance = paper.instance.clone();
    engine.probe = crash_probe;
    let mut broker: Box<dyn janus_core::Broker> = match args.broker.as_deref().unwrap_or(&paper.broker) {
        "sim" => Box::new(engine.sim_broker()),
        "gateway" => {
            let Some(url) = args.gateway.clone().or_else(|| paper.gateway.clone()) else {
                bail!("the gateway broker needs the gateway's Redis: --gateway redis://HOST:PORT or `paper.gateway`");
            };
            let account = args.account.clone().unwrap_or_else(|| paper.account.clone());
            let gw = janus_gateway::GatewayConfig::new(&url, &account);
            Box::new(janus_gateway::GatewayBroker::connect(gw).with_context(|| {
                format!("cannot reach the broker gateway at {}", janus_gateway::broker::redact(&url))
            })?)
        }
        other => bail!("`paper.broker` (or --broker) {other:?} is not \"sim\" or \"gateway\""),
    };
    let stored = store.run_summaries()?.into_iter().find(|s| s.meta.run_id == run_id);
    let begin = match &stored {
        Some(s) if s.meta.status == RunStatus::Finished => bail!(
            "paper run {run_id} already finished in the store at {shown}; `janus runs show {run_id} --store URL` \
             shows it, and --run-id starts another"
        ),
        Some(_) => match engine.restore(store.as_ref(), &run_id, broker.as_mut(), None, None)? {
            Some(_) => false,
            None => {
                // Nothing committed yet: start again from the beginning.
                store.delete_run(&run_id)?;
                true
            }
        },
        None => true,
    };
    // Trade the days after the checkpoint, or from `paper.start`, or after the history.
    let after = match engine.checkpoint_date() {
        Some(d) if !begin => d,
        _ => match paper.start {
            Some(start) => start.pred_opt().context("paper.start is the first representable date")?,
            None => *history.dates.last().expect("history has days"),
        },
    };
    if !args.quiet {
        let how = if begin { "starting" } else { "continuing" };
        eprintln!("paper run {run_id}: {how} after {after}, feed {feed_url} ({stream}), store {shown}");
    }
    // The broker is the truth: the node does not trade until it has reconciled with it.
    let differences = engine
        .reconcile_at_start(broker.as_mut(), store.as_mut(), &run_id, after, &|s| history.symbol_id(s))
        .with_context(|| format!("paper run {run_id} did not start"))?;
    if !args.quiet && differences > 0 {
        eprintln!("reconciled with the broker: {differences} differences taken from the broker (in the journal)");
    }
    let data = cfg.data.load_options(&loaded.base)?;
    let opts = janus_feed::FeedOptions {
        rules: cfg.market.limits,
        prices: data.prices,
        universe: match data.universe {
            Some(u) => Some(janus_data::Universe::load(&u)?),
            None => None,
        },
        infer_actions: !history.adj_factor.is_empty(),
        idle: args.idle_exit_secs.map(std::time::Duration::from_secs_f64),
        ..janus_feed::FeedOptions::default()
    };
    let mut feed = janus_feed::open(&feed_url, &stream, history.clone(), after, opts)
        .with_context(|| format!("cannot open the feed {}", janus_feed::redact(&feed_url)))?;
    let mut strategy = janus_models::build_strategy(&cfg.strategy, &history, &loaded.base)?;
    let run = RunOptions { begin, write_ahead: true, finish: false, ..RunOptions::default() };
    let mut printing = Printing { inner: store.as_mut(), quiet: args.quiet };
    let outcome = engine
        .run_feed(feed.as_mut(), broker.as_mut(), &mut strategy, &mut printing, &meta, &run, &mut |_| {})
        .with_context(|| format!("paper run {run_id} stopped; the same command continues it"))?;
    if feed.end() == Some(janus_feed::FeedEnd::Ended) {
        store.finish_run(&run_id, RunStatus::Finished)?;
    } else {
        // Idle: the run stays open; flush what is buffered.
        store.finish_run(&run_id, RunStatus::Running)?;
    }
    if args.quiet {
        println!("{run_id}");
    } else {
        println!(
            "paper run {run_id}: {} days traded, total asset {}",
            outcome.days,
            janus_report::style::money(outcome.final_value)
        );
    }
    Ok(())
}

/// A store that prints one line per committed day.
struct Printing<'s> {
    inner: &'s mut dyn Store,
    quiet: bool,
}

impl Store for Printing<'_> {
    fn begin_run(&mut self, meta: &RunMeta) -> Result<(), janus_core::StoreError> {
        self.inner.begin_run(meta)
    }
    fn commit_day(&mut self, run_id: &str, batch: &janus_core::DayBatch) -> Result<(), janus_core::StoreError> {
        self.inner.commit_day(run_id, batch)?;
        if let (false, Some(a)) = (self.quiet, &batch.account) {
            println!(
                "{}  total {}  cash {}  orders {}  fills {}  refused {}",
                a.date,
                janus_report::style::money(a.total_value),
                janus_report::style::money(a.cash),
                batch.orders.len(),
                batch.executions.len(),
                batch.risk_events.len()
            );
        }
        Ok(())
    }
    fn finish_run(&mut self, run_id: &str, status: RunStatus) -> Result<(), janus_core::StoreError> {
        self.inner.finish_run(run_id, status)
    }
    fn list_runs(&self) -> Result<Vec<RunMeta>, janus_core::StoreError> {
        self.inner.list_runs()
    }
    fn load_run(&self, run_id: &str) -> Result<janus_core::RunRecord, janus_core::StoreError> {
        self.inner.load_run(run_id)
    }
    fn append_events(
        &mut self,
        run_id: &str,
        events: &[janus_core::JournalEvent],
    ) -> Result<(), janus_core::StoreError> {
        self.inner.append_events(run_id, events)
    }
    fn load_events(
        &self,
        run_id: &str,
        instance: &str,
        after_seq: u64,
    ) -> Result<Vec<janus_core::JournalEvent>, janus_core::StoreError> {
        self.inner.load_events(run_id, instance, after_seq)
    }
    fn load_checkpoint(
        &self,
        run_id: &str,
        instance: &str,
    ) -> Result<Option<janus_core::Checkpoint>, janus_core::StoreError> {
        self.inner.load_checkpoint(run_id, instance)
    }
    fn flush(&mut self) -> Result<(), janus_core::StoreError> {
        self.inner.flush()
    }
    fn run_summaries(&self) -> Result<Vec<janus_core::RunSummary>, janus_core::StoreError> {
        self.inner.run_summaries()
    }
    fn delete_run(&mut self, run_id: &str) -> Result<(), janus_core::StoreError> {
        self.inner.delete_run(run_id)
    }
}
