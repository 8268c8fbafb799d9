//! The gateway: the one process that owns the broker connection of a shared account.
//!
//! It holds the lease ([`crate::lease`]), takes admitted orders from the instances
//! ([`crate::intents`]), commits each in the ledger, journals the commit and only then sends
//! the order to the broker; it applies the broker's execution reports to the ledger, closes each
//! trading day (marks, T+1, circuit breaker), and copies the ledger's audit stream into the
//! run's journal in the store (as [`Event::Ledger`] entries of the instance [`LEDGER_INSTANCE`],
//! numbered by the audit sequence).
//!
//! On start it seeds an empty ledger from the broker (a first start), or, when the journal
//! already holds entries but Redis holds no ledger (Redis restarted empty), rebuilds it: the
//! journal is replayed and checked ([`LedgerModel`]), then the broker's cash, positions and
//! open orders replace what the replay says (the broker is the truth); every difference is an
//! audited reconciliation event, and an order the broker lists that the journal does not know
//! stops the gateway (it cannot know whose it is).

use crate::intents::{Handoff, IntentReader};
use crate::lease::Lease;
use crate::ledger::{Commit, OpenOrder, SharedLedger};
use crate::model::{AuditEntry, LedgerModel, LedgerState};
use crate::{Result, SharedConfig, SharedError};
use chrono::NaiveDate;
use janus_core::{Broker, Event, JournalEvent, MarketDay, Order, OrderId, OrderType, Price, ReportKind, Store};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The journal instance the ledger's audit entries are recorded under.
pub const LEDGER_INSTANCE: &str = "shared-ledger";

/// Limits and cash for a ledger set up from scratch.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountLimits {
    pub max_positions: usize,
    pub max_position_pct: f64,
    pub circuit_breaker_pct: f64,
}

/// What the gateway did, for its log and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GatewayStats {
    pub committed: usize,
    pub expired: usize,
    pub sent: usize,
    pub fills: usize,
    pub duplicate_fills: usize,
    pub done: usize,
    pub days: usize,
    /// The ledger was rebuilt from the journal and the broker at start.
    pub rebuilt: bool,
}

pub struct SharedGateway {
    cfg: SharedConfig,
    ledger: SharedLedger,
    lease: Lease,
    reader: IntentReader,
    broker: Box<dyn Broker>,
    store: Box<dyn Store>,
    run_id: String,
    /// The last audit sequence number copied into the journal, and the stream id after which
    /// to read.
    copied: u64,
    cursor: String,
    /// The trading day the ledger is open for.
    open: NaiveDate,
    last_renew: Instant,
    /// Reports taken from the broker and not yet applied to the ledger (Redis failed between).
    unapplied: Vec<janus_core::ExecReport>,
    /// The last day the broker traded, so a day is never shown to it twice.
    broker_day: Option<NaiveDate>,
    /// Whose each open order is: the instance and its own id of the order.
    owners: std::collections::HashMap<u64, (String, String)>,
    /// A strategy instance silent for longer is not waited for at the close.
    pub instance_timeout: Duration,
    pub stats: GatewayStats,
}

fn store_err(e: impl std::fmt::Display) -> SharedError {
    SharedError::Store(e.to_string())
}

fn broker_err(e: impl std::fmt::Display) -> SharedError {
    SharedError::Broker(e.to_string())
}

/// The closes of every symbol with a bar on `market`'s day.
pub fn closes(market: &dyn MarketDay) -> BTreeMap<String, Price> {
    (0..market.n_symbols() as u32)
        .filter_map(|s| market.bar(s).map(|b| (market.symbol(s).to_string(), b.close)))
        .collect()
}

impl SharedGateway {
    /// Take the lease and make the ledger ready: continue it, seed it from the broker, or
    /// rebuild it. `market` is the last closed day (its closes are the marks) and `next` the
    /// day the ledger opens for. `market` is shown to the broker first (a simulated venue
    /// learns its symbols and trades that day) unless `seen` says it already saw it.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        cfg: &SharedConfig,
        owner: &str,
        mut broker: Box<dyn Broker>,
        mut store: Box<dyn Store>,
        run_id: &str,
        limits: &AccountLimits,
        market: &dyn MarketDay,
        next: NaiveDate,
        seen: bool,
    ) -> Result<SharedGateway> {
        let journal = load_journal(store.as_ref(), run_id)?;
        let top_fence = journal.iter().filter_map(|e| e.int("fence").ok()).max().unwrap_or(0) as u64;
        let lease = Lease::acquire(cfg, owner, top_fence + 1, cfg.lease_ttl * 2)?;
        let fence = lease.token();
        let mut ledger = SharedLedger::connect(cfg)?;
        let mut stats = GatewayStats::default();
        if !seen {
            broker.on_market(market).map_err(broker_err)?;
        }
        let copied = journal.last().map_or(0, |e| e.seq);
        if !ledger.exists()? {
            let state = if journal.is_empty() {
                from_broker(broker.as_mut(), limits, market, next)?
            } else {
                stats.rebuilt = true;
                let (state, notes) = rebuild(&journal, broker.as_mut(), market, next)?;
                let events: Vec<JournalEvent> = notes
                    .into_iter()
                    .enumerate()
                    .map(|(i, detail)| JournalEvent {
                        instance: format!("{LEDGER_INSTANCE}-reconcile-{fence}"),
                        seq: i as u64 + 1,
                        date: market.date(),
                        event: Event::Reconciliation { detail },
                    })
                    .collect();
                if !events.is_empty() {
                    store.append_events(run_id, &events).map_err(store_err)?;
                }
                state
            };
            ledger.seed(fence, &state)?;
        }
        let reader = IntentReader::connect(cfg, owner)?;
        let open = ledger.open_date()?.unwrap_or(next);
        let mut gw = SharedGateway {
            cfg: cfg.clone(),
            ledger,
            lease,
            reader,
            broker,
            store,
            run_id: run_id.to_string(),
            copied,
            cursor: "0".into(),
            open,
            last_renew: Instant::now(),
            unapplied: Vec::new(),
            broker_day: Some(market.date()),
            owners: Default::default(),
            instance_timeout: Duration::from_secs(10),
            stats,
        };
        for o in gw.ledger.open_orders()? {
            gw.owners.insert(o.order_id, (o.instance, o.intent_id));
        }
        gw.copy_audit()?;
        gw.resend_open()?;
        Ok(gw)
    }

    /// Send every order the ledger holds as open again. The broker ignores a client order id
    /// it has seen, so this only reaches one that never got the order (the gateway died
    /// between commit and send) or forgot it (a simulated venue restored from a checkpoint).
    fn resend_open(&mut self) -> Result<()> {
        for o in self.ledger.open_orders()? {
            self.broker.submit(&to_order(&o)).map_err(broker_err)?;
        }
        self.apply_reports()
    }

    pub fn fence(&self) -> u64 {
        self.lease.token()
    }

    pub fn open_date(&self) -> NaiveDate {
        self.open
    }

    pub fn ledger(&mut self) -> &mut SharedLedger {
        &mut self.ledger
    }

    pub fn broker(&mut self) -> &mut dyn Broker {
        self.broker.as_mut()
    }

    fn renew(&mut self, force: bool) -> Result<()> {
        if force || self.last_renew.elapsed() >= self.cfg.lease_ttl / 3 {
            self.lease.renew()?;
            self.last_renew = Instant::now();
        }
        Ok(())
    }

    /// Handle intents and broker reports for `for_how_long`.
    pub fn pump(&mut self, for_how_long: Duration) -> Result<()> {
        let until = Instant::now() + for_how_long;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            self.step(left.min(Duration::from_millis(20)).as_millis().max(1) as usize)?;
            if Instant::now() >= until {
                return Ok(());
            }
        }
    }

    /// Handle every intent handed over so far.
    fn drain(&mut self) -> Result<()> {
        while self.step(1)? > 0 {}
        Ok(())
    }

    /// One round: renew the lease, handle the intents that arrive within `block_ms`, apply
    /// the broker's reports, free expired reservations, copy the audit. Returns how many
    /// intents it handled.
    fn step(&mut self, block_ms: usize) -> Result<usize> {
        self.renew(false)?;
        let batch = self.reader.read(block_ms, 256)?;
        for h in &batch {
            self.handle(h)?;
        }
        self.reader.ack(&batch.iter().map(|h| h.stream_id.clone()).collect::<Vec<_>>())?;
        self.apply_reports()?;
        self.ledger.sweep()?;
        self.copy_audit()?;
        Ok(batch.len())
    }

    fn handle(&mut self, h: &Handoff) -> Result<()> {
        match self.ledger.commit(self.fence(), h.order_id)? {
            Commit::Expired => {
                self.stats.expired += 1;
                let detail = "the reservation expired before the gateway took it: the instance handed it over too late";
                let kind = ReportKind::Rejected { reason: None, detail: detail.into() };
                self.forward(
                    &h.instance,
                    &h.intent_id,
                    janus_core::ExecReport { order_id: OrderId(0), date: self.open, kind },
                )?;
            }
            Commit::Committed(o) => {
                self.stats.committed += 1;
                self.owners.insert(o.order_id, (o.instance.clone(), o.intent_id.clone()));
                // Write-ahead: the commit is in the journal before the order can reach the broker.
                self.copy_audit()?;
                self.broker.submit(&to_order(&o)).map_err(broker_err)?;
                self.stats.sent += 1;
            }
        }
        Ok(())
    }

    fn apply_reports(&mut self) -> Result<()> {
        let fence = self.fence();
        self.unapplied.extend(self.broker.poll().map_err(broker_err)?);
        while let Some(r) = self.unapplied.first().cloned() {
            let id = r.order_id.0;
            let mut new = true;
            if let Some(f) = r.kind.fill() {
                new = self.ledger.fill(fence, id, f)?;
                if new {
                    self.stats.fills += 1;
                } else {
                    self.stats.duplicate_fills += 1;
                }
            }
            if let (true, Some((inst, iid))) = (new, self.owners.get(&id).cloned()) {
                self.forward(&inst, &iid, r.clone())?;
            }
            let ends = matches!(
                r.kind,
                ReportKind::Filled(_) | ReportKind::Rejected { .. } | ReportKind::Canceled | ReportKind::Expired { .. }
            );
            if ends && self.ledger.done(fence, id)? {
                self.stats.done += 1;
                self.owners.remove(&id);
            }
            self.unapplied.remove(0);
        }
        Ok(())
    }

    /// Hand a report to the strategy instance that placed the order, under its own order id.
    /// Only instances that number their orders (strategy instances) read reports.
    fn forward(&mut self, instance: &str, intent_id: &str, mut report: janus_core::ExecReport) -> Result<()> {
        let Ok(own) = intent_id.parse::<u64>() else { return Ok(()) };
        report.order_id = OrderId(own);
        self.ledger.forward_report(instance, &report)
    }

    /// Wait (handling intents) until every live strategy instance has decided for `date`.
    fn wait_for_instances(&mut self, date: NaiveDate) -> Result<()> {
        loop {
            let now = self.ledger.now_ms()?;
            let timeout = self.instance_timeout.as_millis() as u64;
            let waiting =
                self.ledger.ready()?.into_iter().any(|(_, d, at)| d < date && now.saturating_sub(at) < timeout);
            if !waiting {
                return Ok(());
            }
            self.step(20)?;
        }
    }

    /// Close `market`'s day: every live strategy instance has decided for it, the broker
    /// trades it, its reports are applied, the ledger marks the closes, unlocks T+1 shares,
    /// checks the breaker and opens `next`.
    pub fn close_day(&mut self, market: &dyn MarketDay, next: NaiveDate) -> Result<()> {
        self.wait_for_instances(market.date())?;
        // What the instances handed over last is committed and sent before the day trades.
        self.drain()?;
        self.renew(true)?;
        if self.broker_day < Some(market.date()) {
            self.broker.on_market(market).map_err(broker_err)?;
            self.broker_day = Some(market.date());
        }
        self.apply_reports()?;
        self.ledger.new_day(self.fence(), market.date(), next, &closes(market))?;
        self.open = next;
        self.stats.days += 1;
        self.copy_audit()
    }

    /// Copy new audit entries into the journal (durable when it returns).
    pub fn copy_audit(&mut self) -> Result<()> {
        loop {
            let batch = self.ledger.audit_after(&self.cursor, 1000)?;
            let Some(last) = batch.last() else { return Ok(()) };
            self.cursor = last.stream_id.clone();
            let events: Vec<JournalEvent> = batch
                .into_iter()
                .filter(|e| e.seq > self.copied)
                .map(|e| JournalEvent {
                    instance: LEDGER_INSTANCE.into(),
                    seq: e.seq,
                    date: self.open,
                    event: Event::Ledger { kind: e.kind, fields: e.fields },
                })
                .collect();
            if let Some(last) = events.last() {
                let seq = last.seq;
                self.store.append_events(&self.run_id, &events).map_err(store_err)?;
                self.store.flush().map_err(store_err)?;
                self.copied = seq;
            }
        }
    }

    /// Start again after Redis failed (restarted, possibly empty): reconnect, retake the lease
    /// with a higher token, and rebuild the ledger from the journal and the broker if it is
    /// gone. `market` is the last closed day (already traded by the broker).
    pub fn recover(self, limits: &AccountLimits, market: &dyn MarketDay, wait: Duration) -> Result<SharedGateway> {
        let SharedGateway { cfg, lease, broker, store, run_id, open, unapplied, broker_day, .. } = self;
        let owner = lease.owner().to_string();
        drop(lease);
        let until = Instant::now() + wait;
        loop {
            match crate::ledger::connect(&cfg) {
                Ok(_) => break,
                Err(e) if Instant::now() >= until => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        let mut gw = SharedGateway::start(&cfg, &owner, broker, store, &run_id, limits, market, open, true)?;
        // A rebuilt ledger took the broker's cash and positions, which include every report;
        // a surviving one still needs the reports taken before Redis failed.
        if !gw.stats.rebuilt {
            gw.unapplied = unapplied;
            gw.apply_reports()?;
        }
        gw.broker_day = broker_day;
        Ok(gw)
    }

    /// Record a checkpoint of `instance` (the simulated broker's state) after `day_index`,
    /// with the journal's position; durable when it returns.
    pub fn checkpoint(&mut self, instance: &str, day_index: u32, state: String) -> Result<()> {
        let checkpoint = janus_core::Checkpoint { instance: instance.into(), day_index, seq: self.copied, state };
        let batch = janus_core::DayBatch { day_index, checkpoint: Some(checkpoint), ..Default::default() };
        self.store.commit_day(&self.run_id, &batch).map_err(store_err)?;
        self.store.flush().map_err(store_err)
    }

    /// Differences between the ledger and the broker: total cash, and shares per symbol (the
    /// ledger should always agree with the broker once every report is applied).
    pub fn differences(&mut self) -> Result<Vec<String>> {
        self.apply_reports()?;
        let mut out = Vec::new();
        let (cash, frozen) = self.ledger.cash()?;
        let acct = self.broker.account().map_err(broker_err)?;
        if cash + frozen != acct.available_cash + acct.frozen_cash {
            out.push(format!("cash: ledger {}, broker {}", cash + frozen, acct.available_cash + acct.frozen_cash));
        }
        let ledger: BTreeMap<String, i64> = self.ledger.holdings()?.into_iter().map(|(s, (a, _))| (s, a)).collect();
        let broker: BTreeMap<String, i64> = self
            .broker
            .positions()
            .map_err(broker_err)?
            .into_iter()
            .filter(|p| p.amount != 0)
            .map(|p| (p.symbol, p.amount))
            .collect();
        for sym in ledger.keys().chain(broker.keys()).collect::<std::collections::BTreeSet<_>>() {
            let (l, b) = (ledger.get(sym).copied().unwrap_or(0), broker.get(sym).copied().unwrap_or(0));
            if l != b {
                out.push(format!("{sym}: ledger {l} shares, broker {b}"));
            }
        }
        Ok(out)
    }

    /// Stop cleanly: the journal is complete and the lease is free for the next gateway.
    pub fn stop(mut self) -> Result<GatewayStats> {
        self.copy_audit()?;
        self.lease.release()?;
        Ok(self.stats)
    }
}

/// The Janus order a committed ledger order becomes: a limit order decided after the close
/// before its day, tagged with the instance that wanted it.
fn to_order(o: &OpenOrder) -> Order {
    // A price of zero is a market order.
    let kind = if o.price.0 > 0 { OrderType::Limit(o.price) } else { OrderType::Market };
    let mut order = Order::new(OrderId(o.order_id), o.symbol.clone(), o.side, kind, o.quantity, o.date);
    order.frozen_cash = o.freeze;
    order.tag = format!("shared:{}", o.instance);
    order
}

/// The ledger's journal in the store: every copied audit entry, in sequence.
pub fn load_journal(store: &dyn Store, run_id: &str) -> Result<Vec<AuditEntry>> {
    let events = match store.load_events(run_id, LEDGER_INSTANCE, 0) {
        Ok(ev) => ev,
        Err(janus_core::StoreError::RunNotFound(_)) => Vec::new(),
        Err(e) => return Err(store_err(e)),
    };
    Ok(events
        .into_iter()
        .filter_map(|e| match e.event {
            Event::Ledger { kind, fields } => Some(AuditEntry { stream_id: String::new(), seq: e.seq, kind, fields }),
            _ => None,
        })
        .collect())
}

/// A ledger for an account the broker holds: its cash and positions, the given limits.
fn from_broker(
    broker: &mut dyn Broker,
    limits: &AccountLimits,
    market: &dyn MarketDay,
    next: NaiveDate,
) -> Result<LedgerState> {
    let open = broker.open_orders().map_err(broker_err)?;
    if !open.is_empty() {
        return Err(SharedError::Broker(format!(
            "the broker lists {} open orders the shared ledger never sent (first: {} {:?}); cancel them before the first start",
            open.len(),
            open[0].order_id.0,
            open[0].symbol
        )));
    }
    let acct = broker.account().map_err(broker_err)?;
    let mut st = LedgerState::new(
        next,
        acct.available_cash + acct.frozen_cash,
        limits.max_positions,
        limits.max_position_pct,
        limits.circuit_breaker_pct,
    );
    for p in broker.positions().map_err(broker_err)? {
        st.amount.insert(p.symbol.clone(), p.amount);
        st.sellable.insert(p.symbol, p.sellable);
    }
    st.marks = closes(market);
    st.prev_total = st.total_asset();
    Ok(st)
}

/// Replay the journal, then take the broker's cash, positions and open orders as the truth.
/// Returns the state and one note per difference.
fn rebuild(
    journal: &[AuditEntry],
    broker: &mut dyn Broker,
    market: &dyn MarketDay,
    next: NaiveDate,
) -> Result<(LedgerState, Vec<String>)> {
    let model = LedgerModel::replay(journal)
        .map_err(|e| SharedError::Invalid(format!("the ledger journal does not replay: {e}")))?;
    let mut st = model.state;
    let mut notes = vec![format!(
        "ledger rebuilt from {} journal entries (last #{}) and the broker: {} reservations dropped",
        journal.len(),
        st.seq,
        st.reservations.len()
    )];
    for (id, r) in std::mem::take(&mut st.reservations) {
        st.give_back_public(&r);
        let _ = id;
    }
    let listed = broker.open_orders().map_err(broker_err)?;
    let mut open = BTreeMap::new();
    for b in &listed {
        let Some(mut o) = st.orders.remove(&b.order_id.0) else {
            return Err(SharedError::Broker(format!(
                "the broker lists open order {} ({} {}) that the ledger journal does not know; cancel it or settle it by hand, then restart",
                b.order_id.0, b.side.as_str(), b.symbol
            )));
        };
        let left = b.quantity - b.filled;
        if left != o.left {
            notes.push(format!("order {}: {} shares open at the broker, {} in the journal", o.order_id, left, o.left));
            o.left = left;
        }
        open.insert(o.order_id, o);
    }
    for (id, o) in std::mem::take(&mut st.orders) {
        notes.push(format!(
            "order {id} ({} {}) is no longer open at the broker: closed in the ledger",
            o.side.as_str(),
            o.symbol
        ));
    }
    // Cash held by the broker's open buys: what the journal's orders still hold, scaled down
    // to the broker's frozen cash when it holds less.
    let acct = broker.account().map_err(broker_err)?;
    let cash_total = acct.available_cash + acct.frozen_cash;
    let journal_total = st.cash + st.frozen;
    if cash_total != journal_total {
        notes.push(format!("cash: broker {cash_total}, journal {journal_total}; the broker's is kept"));
    }
    st.orders = open;
    st.frozen =
        janus_core::Money(st.orders.values().filter(|o| o.side == janus_core::Side::Buy).map(|o| o.held.0).sum());
    st.cash = cash_total - st.frozen;
    let mut pending: BTreeMap<String, i64> = BTreeMap::new();
    for o in st.orders.values().filter(|o| o.side == janus_core::Side::Buy) {
        *pending.entry(o.symbol.clone()).or_insert(0) += o.value_price.0 * o.left;
    }
    st.pending = pending;
    let positions = broker.positions().map_err(broker_err)?;
    let broker_pos: BTreeMap<String, (i64, i64)> =
        positions.iter().map(|p| (p.symbol.clone(), (p.amount, p.sellable))).collect();
    for (sym, amount) in &st.amount {
        let b = broker_pos.get(sym).map_or(0, |b| b.0);
        if b != *amount {
            notes.push(format!("{sym}: broker holds {b} shares, journal {amount}; the broker's is kept"));
        }
    }
    for (sym, (amount, _)) in &broker_pos {
        if !st.amount.contains_key(sym) {
            notes.push(format!("{sym}: broker holds {amount} shares the journal does not; the broker's is kept"));
        }
    }
    st.amount = broker_pos.iter().map(|(s, a)| (s.clone(), a.0)).collect();
    st.sellable = broker_pos.iter().map(|(s, a)| (s.clone(), a.1)).collect();
    st.sell_held = st.orders.values().filter(|o| o.side == janus_core::Side::Sell).fold(BTreeMap::new(), |mut m, o| {
        *m.entry(o.symbol.clone()).or_insert(0) += o.left;
        m
    });
    st.marks.extend(closes(market));
    st.date = Some(next);
    st.next_id = st.next_id.max(model.tally.reserved as u64);
    Ok((st, notes))
}
