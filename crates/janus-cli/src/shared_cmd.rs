//! `janus shared`: one broker account traded by several strategy instances through Redis.
//!
//! `gateway` is the one process that owns the broker (here the simulated broker on the
//! config's market, on a virtual clock); `fire` is a strategy instance sending random order
//! intents (the load and concurrency test of the shared admission); `check` replays the
//! ledger's audit and verifies every decision; `status` shows the ledger; `reset` deletes it.

use crate::config;
use crate::run::load_data;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use janus_core::{Exchange, Money, Price, RiskReason, RunMeta, RunStatus, Side};
use janus_data::History;
use janus_engine::sim_broker::{SimBroker, SimRules};
use janus_shared::gateway::{load_journal, AccountLimits, SharedGateway};
use janus_shared::intents::IntentSender;
use janus_shared::{Admission, Intent, LedgerModel, SharedConfig, SharedError, SharedLedger};
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct SharedArgs {
    #[command(subcommand)]
    command: SharedCommand,
}

/// Where the shared account is.
#[derive(Args, Debug, Clone)]
pub struct AccountArgs {
    /// The Redis holding the shared ledger (`redis://[:PASSWORD@]HOST:PORT/DB`).
    #[arg(long, value_name = "URL", default_value = "redis://127.0.0.1:6379/")]
    pub redis: String,
    /// The broker account the instances share (part of every Redis key).
    #[arg(long, default_value = "shared")]
    pub account: String,
    /// How long an admitted intent holds its cash or shares before the gateway must have taken
    /// it; an instance that dies in between frees them after this.
    #[arg(long, value_name = "MS", default_value_t = 5000)]
    pub reservation_ttl_ms: u64,
}

impl AccountArgs {
    fn config(&self) -> SharedConfig {
        let mut c = SharedConfig::new(&self.redis, &self.account);
        c.reservation_ttl = Duration::from_millis(self.reservation_ttl_ms);
        c
    }
}

#[derive(Subcommand, Debug)]
enum SharedCommand {
    /// Run the gateway: take the account's lease, set the ledger up (from the broker, or
    /// rebuilt from the journal when Redis lost it), and trade the instances' admitted orders
    /// with the simulated broker on the config's market, one trading day per --day-ms.
    ///
    /// Example: `janus shared gateway --store sqlite:shared.db --days 20 --day-ms 500`.
    Gateway(GatewayArgs),
    /// Run the config's strategy and models as one instance on the shared account: its orders
    /// are admitted by the shared ledger, traded by the gateway, and recorded in its own run
    /// (stop it any way; the same command continues it). `initial_cash` is its budget inside the
    /// account; `[data]` must be the gateway's market.
    ///
    /// Example: `janus shared instance --config momentum.toml --instance mom --store sqlite:mom.db`.
    Instance(InstanceArgs),
    /// Be one strategy instance that sends random order intents (buys and sells of the marked
    /// symbols) through the shared admission, and print admissions per second. Run several at
    /// once against one gateway to see that no limit is ever broken (`janus shared check`).
    Fire(FireArgs),
    /// Replay the ledger's audit (from Redis, or from the store's journal with --store) with
    /// an independent model, check every admission, refusal and cash figure, and print what
    /// happened. Exits non-zero on the first step that does not add up.
    Check(CheckArgs),
    /// Show the ledger: cash, the day open for intents, holdings, open orders, the lease.
    Status(AccountArgs),
    /// Measure the shared admission: N instances (threads, each with its own connection)
    /// sending intents as fast as they can to a ledger of their own (deleted afterwards), for
    /// each N given; prints admissions per second. Run it with a release build.
    Bench(BenchArgs),
    /// Delete the account's ledger, intents and lease from Redis (not the store's journal).
    Reset(AccountArgs),
}

#[derive(Args, Debug)]
pub struct GatewayArgs {
    #[command(flatten)]
    account: AccountArgs,
    /// TOML config: the market (`[data]`), the broker's rules and fees, `initial_cash`, and
    /// the account's limits (`[risk]`: max_positions, max_position_pct, circuit_breaker_pct).
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// The store the ledger's journal goes to (sqlite:PATH or postgres://...): what rebuilds
    /// the ledger if Redis loses it.
    #[arg(long, value_name = "URL")]
    store: String,
    /// Run id of the journal; default `shared-ACCOUNT`.
    #[arg(long)]
    run_id: Option<String>,
    /// Trading days to run (default: to the end of the market).
    #[arg(long)]
    days: Option<usize>,
    /// First trading day to open for intents (default: `backtest.start` of the config, or the
    /// market's second day); the days before it are the instances' history.
    #[arg(long)]
    start: Option<chrono::NaiveDate>,
    /// Wall-clock milliseconds per trading day: how long intents are taken before the day's
    /// bars close it.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    day_ms: u64,
    /// How long the lease lasts without renewal; a gateway paused longer loses the account.
    #[arg(long, value_name = "MS", default_value_t = 3000)]
    lease_ttl_ms: u64,
    /// This gateway's name in the lease (default: host-pid).
    #[arg(long)]
    owner: Option<String>,
    /// How long to wait for Redis to come back after it failed, before giving up.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    redis_wait_secs: f64,
}

#[derive(Args, Debug)]
pub struct FireArgs {
    #[command(flatten)]
    account: AccountArgs,
    /// This instance's id (recorded with every admission and refusal).
    #[arg(long)]
    instance: String,
    /// Number of intents to send.
    #[arg(long, default_value_t = 1000)]
    intents: usize,
    /// Random seed of the intents.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Share of intents that are buys (the rest sell what the account holds).
    #[arg(long, default_value_t = 0.7)]
    buy_share: f64,
    /// Largest order in board lots of 100 shares.
    #[arg(long, default_value_t = 30)]
    max_lots: i64,
    /// Wait this long for a gateway to set the ledger up.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    wait_secs: f64,
    /// Spread the intents evenly over this many milliseconds (default: as fast as possible).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    spread_ms: u64,
    /// Print only the final line.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args, Debug)]
pub struct InstanceArgs {
    #[command(flatten)]
    account: AccountArgs,
    /// TOML config: the strategy and models, `initial_cash` (this instance's budget), the
    /// engine's own risk limits, and `[data]` (the gateway's market).
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// This instance's id (recorded with every admission and refusal).
    #[arg(long)]
    instance: String,
    /// Where this instance's run is recorded (sqlite:PATH, postgres://..., redis://...).
    #[arg(long, value_name = "URL")]
    store: String,
    /// Run id; default `shared-ACCOUNT-INSTANCE`, so the same command continues the run.
    #[arg(long)]
    run_id: Option<String>,
    /// Stop when the gateway has closed no day for this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    idle_exit_secs: f64,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// The Redis to measure.
    #[arg(long, value_name = "URL", default_value = "redis://127.0.0.1:6379/")]
    redis: String,
    /// Numbers of concurrent instances to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8")]
    instances: Vec<usize>,
    /// Intents per measurement, shared among the instances.
    #[arg(long, default_value_t = 40_000)]
    intents: usize,
    /// Intents per admission call, comma-separated (an instance admits its day's orders in
    /// one call; 1 is one round trip per intent).
    #[arg(long, value_delimiter = ',', default_value = "1,10")]
    batch: Vec<usize>,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    account: AccountArgs,
    /// Replay the journal in this store instead of the Redis audit stream.
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    /// Run id of the journal; default `shared-ACCOUNT`.
    #[arg(long)]
    run_id: Option<String>,
}

pub fn shared(args: &SharedArgs) -> Result<()> {
    match &args.command {
        SharedCommand::Gateway(a) => gateway(a),
        SharedCommand::Fire(a) => fire(a),
        SharedCommand::Instance(a) => instance(a),
        SharedCommand::Check(a) => check(a),
        SharedCommand::Status(a) => status(a),
        SharedCommand::Bench(a) => bench(a),
        SharedCommand::Reset(a) => {
            SharedLedger::connect(&a.config())?.wipe()?;
            println!("account {}: ledger, intents and lease deleted", a.account);
            Ok(())
        }
    }
}

fn gateway(args: &GatewayArgs) -> Result<()> {
    let loaded = config::load(args.config.as_deref())?;
    let cfg = &loaded.config;
    let (panel, source) = load_data(cfg, &loaded.base, None)?;
    if panel.n_dates() < 2 {
        bail!("the market of `data.source` has fewer than two trading days: nothing to trade");
    }
    let ecfg = cfg.engine();
    let limits = AccountLimits {
        max_positions: ecfg.risk.max_positions,
        max_position_pct: ecfg.risk.max_position_pct,
        circuit_breaker_pct: ecfg.risk.circuit_breaker_pct,
    };
    let mut scfg = args.account.config();
    scfg.lease_ttl = Duration::from_millis(args.lease_ttl_ms);
    let run_id = args.run_id.clone().unwrap_or_else(|| format!("shared-{}", args.account.account));
    if args.store == "memory" {
        bail!("the gateway journals the ledger so that it can be rebuilt: --store must be sqlite:PATH, postgres://... or redis://...");
    }
    let (mut store, shown) = crate::store_cmd::open(Some(&args.store), cfg.store_retry_secs)?;
    if !store.list_runs()?.iter().any(|m| m.run_id == run_id) {
        let meta = RunMeta {
            run_id: run_id.clone(),
            config: crate::store_cmd::redact_config(&loaded.text),
            data_source: format!("shared:{}#{source}", args.account.account),
            status: RunStatus::Running,
        };
        store.begin_run(&meta)?;
    }
    let owner = args.owner.clone().unwrap_or_else(|| format!("gateway-{}", std::process::id()));
    let mut broker = Box::new(SimBroker::new(SimRules::new(&ecfg), Money::from_yuan(ecfg.initial_cash)));
    // The simulated venue's state at the last closed day, if this journal has one; else the
    // day before the first one to trade.
    let mut day = match args.start.or(cfg.backtest.start) {
        Some(start) => panel.dates.partition_point(|d| *d < start).saturating_sub(1).min(panel.n_dates() - 2),
        None => 0,
    };
    if let Some(cp) = store.load_checkpoint(&run_id, BROKER_INSTANCE)? {
        janus_core::Broker::restore_state(broker.as_mut(), &cp.state)?;
        day = cp.day_index as usize;
    }
    let seen = store.load_checkpoint(&run_id, BROKER_INSTANCE)?.is_some();
    let mut gw = SharedGateway::start(
        &scfg,
        &owner,
        broker,
        store,
        &run_id,
        &limits,
        &History::new(&panel, day),
        panel.dates[day + 1],
        seen,
    )
    .with_context(|| format!("the gateway of account {} did not start", args.account.account))?;
    eprintln!(
        "gateway {owner} of account {}: fencing token {}, ledger {} for {}, journal {run_id} in {shown}",
        args.account.account,
        gw.fence(),
        if gw.stats.rebuilt { "rebuilt from the journal and the broker" } else { "ready" },
        gw.open_date()
    );
    let last = match args.days {
        Some(n) => (day + n).min(panel.n_dates() - 1),
        None => panel.n_dates() - 1,
    };
    let wait = Duration::from_secs_f64(args.redis_wait_secs);
    while day < last {
        let closing = day + 1;
        let next = panel.dates.get(closing + 1).copied().unwrap_or(panel.dates[closing] + chrono::Days::new(1));
        let step = gw
            .pump(Duration::from_millis(args.day_ms))
            .and_then(|_| gw.close_day(&History::new(&panel, closing), next));
        match step {
            Ok(()) => {
                day = closing;
                let state = janus_core::Broker::save_state(gw.broker()).unwrap_or_default();
                gw.checkpoint(BROKER_INSTANCE, day as u32, state)?;
            }
            Err(SharedError::Redis { message, .. }) => {
                eprintln!("Redis failed ({message}); waiting for it to come back");
                gw = gw.recover(&limits, &History::new(&panel, day), wait)?;
                if gw.stats.rebuilt {
                    eprintln!("ledger rebuilt from the journal and the broker (fencing token {})", gw.fence());
                }
            }
            Err(e) => return Err(e).context("the gateway stopped"),
        }
    }
    let differences = gw.differences()?;
    if differences.is_empty() {
        println!("ledger matches the broker: cash and every holding");
    } else {
        println!("ledger differs from the broker: {}", differences.join("; "));
    }
    let stats = gw.stop()?;
    println!(
        "gateway {owner}: {} days, {} orders sent, {} fills ({} repeated), {} reservations expired before commit",
        stats.days, stats.sent, stats.fills, stats.duplicate_fills, stats.expired
    );
    Ok(())
}

/// The journal instance the simulated broker's checkpoints are kept under.
const BROKER_INSTANCE: &str = "shared-broker";

/// `JANUS_KILL_AT=reserved:N`: kill this instance with SIGKILL right after its N-th
/// reservation, before it hands the order to the gateway (the crash test of expiry).
fn kill_after_reservation(n: usize) {
    let Ok(spec) = std::env::var("JANUS_KILL_AT") else { return };
    if spec.strip_prefix("reserved:").and_then(|k| k.parse::<usize>().ok()) == Some(n) {
        let _ = std::process::Command::new("kill").args(["-9", &std::process::id().to_string()]).status();
        std::process::abort();
    }
}

fn fire(args: &FireArgs) -> Result<()> {
    let scfg = args.account.config();
    let mut ledger = SharedLedger::connect(&scfg)?;
    let mut sender = IntentSender::connect(&scfg)?;
    let fees = janus_engine::EngineConfig::default().fees.schedule();
    ledger.wait_open(Duration::from_secs_f64(args.wait_secs))?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(args.seed);
    let (mut date, mut marks, mut held) = (None, Vec::new(), Vec::new());
    let mut refused: BTreeMap<RiskReason, usize> = BTreeMap::new();
    let (mut admitted, mut reservations) = (0usize, 0usize);
    let started = Instant::now();
    let gap = Duration::from_millis(args.spread_ms) / args.intents.max(1) as u32;
    for n in 0..args.intents {
        if !gap.is_zero() {
            std::thread::sleep(gap);
        }
        if n % 50 == 0 || date.is_none() || !gap.is_zero() {
            date = ledger.open_date()?;
            marks = ledger.marks()?.into_iter().collect::<Vec<(String, Price)>>();
            held = ledger.holdings()?.into_iter().filter(|(_, (_, s))| *s > 0).collect::<Vec<_>>();
        }
        let Some(day) = date else { bail!("the ledger of account {} is gone", scfg.account) };
        if marks.is_empty() {
            bail!("the ledger of account {} has no marked symbol to trade", scfg.account);
        }
        let buy = held.is_empty() || rng.gen_bool(args.buy_share.clamp(0.0, 1.0));
        let (symbol, mark, qty) = if buy {
            let (s, p) = &marks[rng.gen_range(0..marks.len())];
            (s.clone(), *p, 100 * rng.gen_range(1..=args.max_lots.max(1)))
        } else {
            let (s, (_, sellable)) = &held[rng.gen_range(0..held.len())];
            let mark = marks.iter().find(|m| &m.0 == s).map_or(Price::ZERO, |m| m.1);
            (s.clone(), mark, (*sellable).min(100 * rng.gen_range(1..=args.max_lots.max(1))))
        };
        // Limit within 2% of the last close, on the tick.
        let bump = if buy { 1.0 + rng.gen_range(0.0..0.02) } else { 1.0 - rng.gen_range(0.0..0.02) };
        let price = Price((mark.0 as f64 * bump / 100.0).round() as i64 * 100);
        let notional = price.notional(qty);
        let fee = fees.order_fees(Exchange::from_symbol(&symbol), !buy, day, qty, notional).total();
        let intent = Intent {
            instance: args.instance.clone(),
            intent_id: format!("{}-{n}", args.seed),
            date: day,
            symbol,
            side: if buy { Side::Buy } else { Side::Sell },
            quantity: qty,
            price,
            freeze: notional + fee,
            value_price: mark,
        };
        match ledger.admit(&intent) {
            Ok(Admission::Reserved { order_id }) => {
                admitted += 1;
                reservations += 1;
                kill_after_reservation(reservations);
                sender.send(&args.instance, order_id, &intent.intent_id)?;
            }
            Ok(Admission::Refused { reason, .. }) => *refused.entry(reason).or_insert(0) += 1,
            // The day moved on between reading it and sending: read it again.
            Err(SharedError::Invalid(_)) => date = None,
            Err(e) => return Err(e.into()),
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let reasons: Vec<String> = refused.iter().map(|(r, n)| format!("{} {n}", r.code())).collect();
    if !args.quiet {
        eprintln!("refusals: {}", if reasons.is_empty() { "none".into() } else { reasons.join(", ") });
    }
    println!(
        "instance {}: {} intents in {secs:.2} s ({:.0} admissions/s), {admitted} admitted, {} refused",
        args.instance,
        args.intents,
        args.intents as f64 / secs.max(1e-9),
        refused.values().sum::<usize>()
    );
    Ok(())
}

fn check(args: &CheckArgs) -> Result<()> {
    let scfg = args.account.config();
    let (entries, from) = match &args.store {
        Some(url) => {
            let run_id = args.run_id.clone().unwrap_or_else(|| format!("shared-{}", args.account.account));
            let (store, shown) = crate::store_cmd::open(Some(url), None)?;
            (load_journal(store.as_ref(), &run_id)?, format!("journal {run_id} in {shown}"))
        }
        None => (SharedLedger::connect(&scfg)?.audit_all()?, format!("audit stream of account {}", scfg.account)),
    };
    if entries.is_empty() {
        bail!("the {from} is empty");
    }
    let model = LedgerModel::replay(&entries).map_err(|e| anyhow::anyhow!("the {from} does not check out: {e}"))?;
    let t = &model.tally;
    println!("{from}: {} entries, every step checks out", entries.len());
    println!(
        "  {} admitted, {} refused, {} committed, {} fills, {} orders ended, {} reservations expired, {} released, {} days",
        t.reserved,
        t.refused.values().sum::<usize>(),
        t.committed,
        t.fills,
        t.done,
        t.expired,
        t.released,
        t.days
    );
    for (r, n) in &t.refused {
        println!("  refused {}: {n}", r.code());
    }
    println!(
        "  most symbols held or pending at once: {} (limit {}); largest share of total asset after a buy: {:.2}% (cap {:.2}%)",
        t.max_symbols,
        model.state.max_positions,
        t.max_share_bp as f64 / 100.0,
        model.state.cap_bp as f64 / 100.0
    );
    println!("  instances: {}", t.instances.iter().map(|(i, n)| format!("{i} ({n})")).collect::<Vec<_>>().join(", "));
    println!("  cash {} free, {} frozen", model.state.cash, model.state.frozen);
    Ok(())
}

fn status(args: &AccountArgs) -> Result<()> {
    let scfg = args.config();
    let mut l = SharedLedger::connect(&scfg)?;
    let Some(date) = l.open_date()? else {
        println!("account {}: no ledger in Redis (start `janus shared gateway`)", args.account);
        return Ok(());
    };
    let (cash, frozen) = l.cash()?;
    println!("account {}: open for {date}; cash {cash} free, {frozen} frozen", args.account);
    for (sym, (amount, sellable)) in l.holdings()? {
        println!("  {sym}: {amount} shares, {sellable} sellable");
    }
    for o in l.open_orders()? {
        println!(
            "  order {} ({}): {} {} {} at {}, {} open",
            o.order_id,
            o.instance,
            o.side.as_str(),
            o.quantity,
            o.symbol,
            o.price,
            o.left
        );
    }
    Ok(())
}

fn bench(args: &BenchArgs) -> Result<()> {
    if args.instances.contains(&0) || args.batch.contains(&0) || args.intents == 0 {
        bail!("--instances, --batch and --intents must be positive");
    }
    println!("shared admission on {}: {} intents per line", janus_core::url::redact(&args.redis), args.intents);
    println!(
        "{:>9} {:>6} {:>12} {:>10} {:>14} {:>10} {:>9}",
        "instances", "batch", "admissions", "seconds", "admissions/s", "admitted", "refused"
    );
    let runs: Vec<(usize, usize)> =
        args.batch.iter().flat_map(|&b| args.instances.iter().map(move |&n| (n, b))).collect();
    for (n, batch) in runs {
        let mut scfg = SharedConfig::new(&args.redis, &format!("bench-{}-{n}-{batch}", std::process::id()));
        // Long enough that nothing expires during the measurement (no gateway commits here).
        scfg.reservation_ttl = Duration::from_secs(600);
        let mut ledger = SharedLedger::connect(&scfg)?;
        let lease = janus_shared::lease::Lease::try_acquire(&scfg, "bench", 1)?
            .context("the bench account's lease is taken")?;
        // 100 symbols at 10.00, ten of them held: every admission values the holdings.
        let day = chrono::NaiveDate::from_ymd_opt(2024, 1, 2).context("date")?;
        let mut st = janus_shared::model::LedgerState::new(day, Money::from_yuan(1e9), 60, 0.2, 0.05);
        let symbols: Vec<String> = (0..100).map(|i| format!("{:06}.SH", 600000 + i)).collect();
        for (i, s) in symbols.iter().enumerate() {
            st.marks.insert(s.clone(), Price::from_yuan(10.0));
            if i < 10 {
                st.amount.insert(s.clone(), 100_000);
                st.sellable.insert(s.clone(), 100_000);
            }
        }
        ledger.seed(lease.token(), &st)?;
        let per = args.intents / n;
        let started = Instant::now();
        let results: Vec<Result<(usize, usize)>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..n)
                .map(|k| {
                    let (scfg, symbols) = (scfg.clone(), &symbols);
                    scope.spawn(move || -> Result<(usize, usize)> {
                        let mut l = SharedLedger::connect(&scfg)?;
                        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(k as u64);
                        let (mut ok, mut no) = (0, 0);
                        let mut intents = Vec::with_capacity(batch);
                        for i in 0..per {
                            let sell = rng.gen_bool(0.3);
                            let sym = &symbols[if sell { rng.gen_range(0..10) } else { rng.gen_range(0..100) }];
                            let qty = 100 * rng.gen_range(1..=20);
                            let price = Price::from_yuan(10.0);
                            intents.push(Intent {
                                instance: format!("bench-{k}"),
                                intent_id: i.to_string(),
                                date: day,
                                symbol: sym.clone(),
                                side: if sell { Side::Sell } else { Side::Buy },
                                quantity: qty,
                                price,
                                freeze: price.notional(qty) + Money::from_yuan(5.0),
                                value_price: price,
                            });
                            if intents.len() == batch || i + 1 == per {
                                for answer in l.admit_many(&intents)? {
                                    match answer? {
                                        Admission::Reserved { .. } => ok += 1,
                                        Admission::Refused { .. } => no += 1,
                                    }
                                }
                                intents.clear();
                            }
                        }
                        Ok((ok, no))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a bench thread panicked"))))
                .collect()
        });
        let secs = started.elapsed().as_secs_f64();
        let (mut ok, mut no) = (0, 0);
        for r in results {
            let (a, b) = r?;
            ok += a;
            no += b;
        }
        let total = ok + no;
        println!("{n:>9} {batch:>6} {total:>12} {secs:>10.3} {:>14.0} {ok:>10} {no:>9}", total as f64 / secs);
        lease.release()?;
        ledger.wipe()?;
    }
    Ok(())
}

fn instance(args: &InstanceArgs) -> Result<()> {
    let mut loaded = config::load(args.config.as_deref())?;
    loaded.text = crate::store_cmd::redact_config(&loaded.text);
    let cfg = &loaded.config;
    let (panel, _) = load_data(cfg, &loaded.base, None)?;
    let scfg = args.account.config();
    let inst = &args.instance;
    let run_id = args.run_id.clone().unwrap_or_else(|| format!("shared-{}-{inst}", args.account.account));
    let ecfg = cfg.engine();
    let mut broker = janus_shared::instance::SharedBroker::connect(&scfg, inst, Money::from_yuan(ecfg.initial_cash))?;
    let mut ledger = SharedLedger::connect(&scfg)?;
    let open = ledger.wait_open(Duration::from_secs_f64(args.idle_exit_secs))?;
    let (mut store, shown) = crate::store_cmd::open(Some(&args.store), cfg.store_retry_secs)?;
    let mut engine = janus_engine::Backtest::new(&panel, ecfg)?;
    engine.instance = inst.clone();
    let stored = store.run_summaries()?.into_iter().any(|s| s.meta.run_id == run_id);
    let begin = !stored || engine.restore(store.as_ref(), &run_id, &mut broker, None, None)?.is_none();
    if stored && begin {
        store.delete_run(&run_id)?;
    }
    // The first day to see: the one after the checkpoint, or the last day the gateway closed.
    let first = match engine.checkpoint_date() {
        Some(d) if !begin => panel.dates.partition_point(|x| *x <= d),
        _ => panel.dates.partition_point(|x| *x < open).saturating_sub(1),
    };
    let after = panel.dates.get(first.saturating_sub(1)).copied().unwrap_or(open);
    eprintln!(
        "instance {inst} of account {}: {} at {}, run {run_id} in {shown}",
        scfg.account,
        if begin { "starting" } else { "continuing" },
        panel.dates.get(first).map_or("the end".to_string(), |d| d.to_string())
    );
    engine
        .reconcile_at_start(&mut broker, store.as_mut(), &run_id, after, &|s| panel.symbol_id(s))
        .with_context(|| format!("instance {inst} did not start"))?;
    let mut clock = janus_shared::instance::SharedClock::new(&scfg, &panel, inst, first)?;
    clock.idle = Duration::from_secs_f64(args.idle_exit_secs);
    let mut strategy = janus_models::build_strategy(&cfg.strategy, &panel, &loaded.base)?;
    let meta = RunMeta {
        run_id: run_id.clone(),
        config: loaded.text.clone(),
        data_source: format!("shared:{}#{inst}", scfg.account),
        status: RunStatus::Running,
    };
    let run = janus_engine::RunOptions { begin, write_ahead: true, finish: false, ..Default::default() };
    let outcome = engine
        .run_feed(&mut clock, &mut broker, &mut strategy, store.as_mut(), &meta, &run, &mut |_| {})
        .with_context(|| format!("instance {inst} stopped; the same command continues it"));
    clock.leave()?;
    let outcome = outcome?;
    store.finish_run(&run_id, RunStatus::Finished)?;
    println!(
        "instance {inst}: run {run_id}, {} days traded, total asset {}",
        outcome.days,
        janus_report::style::money(outcome.final_value)
    );
    Ok(())
}
