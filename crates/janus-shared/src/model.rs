//! The shared ledger replayed outside Redis, from its audit stream.
//!
//! [`LedgerModel`] applies audit entries one by one to a [`LedgerState`] written here in Rust,
//! independently of the Lua scripts, and checks each step: sequence numbers without gaps, every
//! admission and refusal the decision the rules give on the state before it, free and frozen
//! cash after it equal to what the script recorded, and the invariants (no negative cash,
//! frozen cash equal to what reservations and open buys hold, never more positions than the
//! limit). Tests use it to prove that concurrent instances never broke a limit; the gateway
//! uses it to rebuild the ledger from the journal when Redis restarts empty.

use crate::ledger::OpenOrder;
use crate::{Result, SharedError};
use chrono::NaiveDate;
use janus_core::{Money, Price, Qty, RiskReason, Side};
use redis::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One entry of the audit stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// The Redis stream id (empty when read back from the journal).
    pub stream_id: String,
    pub seq: u64,
    /// `seed`, `reserved`, `refused`, `released`, `expired`, `committed`, `fill`, `done`, `day`.
    pub kind: String,
    /// Every field as written, `cash` and `frozen` (after the change) included.
    pub fields: BTreeMap<String, String>,
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

impl AuditEntry {
    /// Parse an `XRANGE` reply.
    pub fn from_xrange(v: Value) -> Result<Vec<AuditEntry>> {
        AuditEntry::raw_entries(v)?.into_iter().map(|(id, fields)| AuditEntry::from_fields(id, fields)).collect()
    }

    /// The `(id, fields)` of each entry of an `XRANGE` reply.
    pub fn raw_entries(v: Value) -> Result<Vec<(String, BTreeMap<String, String>)>> {
        let bad = |what: &str| SharedError::Invalid(format!("stream: {what}"));
        let Value::Array(items) = v else { return Err(bad("not an array")) };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let Value::Array(pair) = item else { return Err(bad("entry is not a pair")) };
            let (Some(id), Some(Value::Array(kv))) = (pair.first().and_then(text), pair.get(1)) else {
                return Err(bad("entry without id or fields"));
            };
            let mut fields = BTreeMap::new();
            for c in kv.chunks(2) {
                if let (Some(k), Some(v)) = (c.first().and_then(text), c.get(1).and_then(text)) {
                    fields.insert(k, v);
                }
            }
            out.push((id, fields));
        }
        Ok(out)
    }

    /// An entry from its fields (`seq` and `kind` among them).
    pub fn from_fields(stream_id: String, mut fields: BTreeMap<String, String>) -> Result<AuditEntry> {
        let seq = fields.remove("seq").and_then(|s| s.parse().ok());
        let kind = fields.remove("kind");
        match (seq, kind) {
            (Some(seq), Some(kind)) => Ok(AuditEntry { stream_id, seq, kind, fields }),
            _ => Err(SharedError::Invalid(format!("audit entry {stream_id} has no seq or kind"))),
        }
    }

    pub fn get(&self, key: &str) -> std::result::Result<&str, String> {
        self.fields
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| format!("audit #{} ({}) has no {key}", self.seq, self.kind))
    }

    pub fn int(&self, key: &str) -> std::result::Result<i64, String> {
        let v = self.get(key)?;
        v.parse().map_err(|_| format!("audit #{} ({}): {key} = {v:?} is not an integer", self.seq, self.kind))
    }

    /// The strategy instance the entry is about, if any.
    pub fn instance(&self) -> Option<&str> {
        self.fields.get("inst").map(String::as_str)
    }
}

/// The whole ledger, as the scripts keep it in Redis.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LedgerState {
    /// The trading day open for intents.
    pub date: Option<NaiveDate>,
    pub cash: Money,
    pub frozen: Money,
    pub max_positions: i64,
    /// Concentration cap in basis points of total asset.
    pub cap_bp: i64,
    /// Circuit breaker: a fall of this many basis points from the previous close blocks buys.
    pub breaker_bp: i64,
    pub prev_total: Money,
    pub blocked: bool,
    /// The last order id handed out.
    pub next_id: u64,
    /// The last audit sequence number.
    pub seq: u64,
    pub amount: BTreeMap<String, Qty>,
    pub sellable: BTreeMap<String, Qty>,
    /// Shares held by reserved and open sells.
    pub sell_held: BTreeMap<String, Qty>,
    pub marks: BTreeMap<String, Price>,
    /// Value (at the value price) of reserved and open buys.
    pub pending: BTreeMap<String, i64>,
    pub reservations: BTreeMap<u64, OpenOrder>,
    pub orders: BTreeMap<u64, OpenOrder>,
    pub trades: BTreeSet<String>,
    /// The highest fencing token seen.
    pub fence: u64,
    /// Each instance's own book, as the `books` hash keeps it (`INST|cash`, `INST|pos|SYM`,
    /// `INST|t1|SYM`).
    pub books: BTreeMap<String, i64>,
}

fn add(map: &mut BTreeMap<String, i64>, key: &str, delta: i64) {
    let v = map.entry(key.to_string()).or_insert(0);
    *v += delta;
    if *v == 0 {
        map.remove(key);
    }
}

impl LedgerState {
    /// A fresh ledger: cash and the account's limits.
    pub fn new(
        date: NaiveDate,
        cash: Money,
        max_positions: usize,
        max_position_pct: f64,
        circuit_breaker_pct: f64,
    ) -> LedgerState {
        LedgerState {
            date: Some(date),
            cash,
            max_positions: max_positions as i64,
            cap_bp: (max_position_pct * 10_000.0).round() as i64,
            breaker_bp: (circuit_breaker_pct * 10_000.0).round() as i64,
            ..LedgerState::default()
        }
    }

    pub fn market_value(&self) -> i64 {
        self.amount.iter().map(|(s, a)| a * self.marks.get(s).map_or(0, |p| p.0)).sum()
    }

    pub fn total_asset(&self) -> Money {
        Money(self.cash.0 + self.frozen.0 + self.market_value())
    }

    /// Symbols held or with a buy reserved or open.
    pub fn symbols(&self) -> BTreeSet<&str> {
        self.amount.keys().chain(self.pending.keys()).map(String::as_str).collect()
    }

    /// The rules' decision on an intent, on this state.
    pub fn decide(&self, side: Side, sym: &str, qty: Qty, amount: i64, vp: i64) -> Option<RiskReason> {
        let held = self.amount.get(sym).copied().unwrap_or(0);
        match side {
            Side::Buy => {
                if self.blocked {
                    return Some(RiskReason::CircuitBreaker);
                }
                let pend = self.pending.get(sym).copied().unwrap_or(0);
                if held == 0 && pend == 0 && self.symbols().len() as i64 >= self.max_positions {
                    return Some(RiskReason::MaxPositions);
                }
                let after = held as i128 * self.marks.get(sym).map_or(0, |p| p.0) as i128
                    + pend as i128
                    + vp as i128 * qty as i128;
                if after * 10_000 > self.cap_bp as i128 * self.total_asset().0 as i128 {
                    return Some(RiskReason::Concentration);
                }
                (amount > self.cash.0).then_some(RiskReason::InsufficientCash)
            }
            Side::Sell => {
                let sellable = self.sellable.get(sym).copied().unwrap_or(0);
                if qty <= sellable {
                    None
                } else if held >= qty {
                    Some(RiskReason::TPlusOne)
                } else {
                    Some(RiskReason::NotEnoughShares)
                }
            }
        }
    }

    fn give_back(&mut self, o: &OpenOrder, left: Qty, held: i64) {
        match o.side {
            Side::Buy => {
                self.cash.0 += held;
                self.frozen.0 -= held;
                add(&mut self.pending, &o.symbol, -(o.value_price.0 * left));
            }
            Side::Sell => {
                add(&mut self.sell_held, &o.symbol, -left);
                *self.sellable.entry(o.symbol.clone()).or_insert(0) += left;
            }
        }
        self.tidy(&o.symbol.clone());
    }

    /// Give back everything a reservation holds (the reservation itself is the caller's to drop).
    pub fn give_back_public(&mut self, o: &OpenOrder) {
        self.give_back(o, o.quantity, o.freeze.0);
    }

    fn tidy(&mut self, sym: &str) {
        if self.amount.get(sym).copied().unwrap_or(0) == 0 {
            self.amount.remove(sym);
            self.sellable.remove(sym);
        }
    }

    /// The JSON the seed script reads (every number a string).
    pub fn to_seed_json(&self) -> String {
        let positions: Vec<serde_json::Value> = self
            .amount
            .iter()
            .map(|(s, a)| {
                serde_json::json!({
                    "sym": s, "amount": a.to_string(),
                    "sellable": self.sellable.get(s).copied().unwrap_or(0).to_string(),
                    "shold": self.sell_held.get(s).copied().unwrap_or(0).to_string(),
                })
            })
            .collect();
        let marks: BTreeMap<&str, String> = self.marks.iter().map(|(s, p)| (s.as_str(), p.0.to_string())).collect();
        let orders: Vec<serde_json::Value> = self.orders.values().map(OpenOrder::to_json).collect();
        serde_json::json!({
            "cash": self.cash.0.to_string(), "frozen": self.frozen.0.to_string(),
            "date": self.date.map(|d| d.to_string()).unwrap_or_default(),
            "max_positions": self.max_positions.to_string(), "cap_bp": self.cap_bp.to_string(),
            "breaker_bp": self.breaker_bp.to_string(), "prev_total": self.prev_total.0.to_string(),
            "blocked": if self.blocked { "1" } else { "0" }, "next_id": self.next_id.to_string(),
            "seq": self.seq.to_string(), "positions": positions, "marks": marks, "orders": orders,
            "trades": self.trades.iter().collect::<Vec<_>>(),
            "books": self.books.iter().map(|(k, v)| (k.clone(), v.to_string())).collect::<BTreeMap<_, _>>(),
        })
        .to_string()
    }

    /// Read the seed script's JSON back.
    pub fn from_seed_json(raw: &str) -> std::result::Result<LedgerState, String> {
        let v: serde_json::Value = serde_json::from_str(raw).map_err(|e| format!("seed state: {e}"))?;
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).ok_or_else(|| format!("seed state has no {k}"));
        let i = |k: &str| s(k)?.parse::<i64>().map_err(|_| format!("seed state: {k} is not an integer"));
        let mut st = LedgerState {
            date: s("date")?.parse().ok(),
            cash: Money(i("cash")?),
            frozen: Money(i("frozen")?),
            max_positions: i("max_positions")?,
            cap_bp: i("cap_bp")?,
            breaker_bp: i("breaker_bp")?,
            prev_total: Money(i("prev_total")?),
            blocked: s("blocked")? == "1",
            next_id: i("next_id")? as u64,
            seq: i("seq")? as u64,
            ..LedgerState::default()
        };
        let int = |x: &serde_json::Value, k: &str| -> std::result::Result<i64, String> {
            x.get(k).and_then(|v| v.as_str()).and_then(|v| v.parse().ok()).ok_or_else(|| format!("seed state: bad {k}"))
        };
        for p in v.get("positions").and_then(|p| p.as_array()).into_iter().flatten() {
            let sym = p.get("sym").and_then(|x| x.as_str()).ok_or("seed position without sym")?.to_string();
            st.amount.insert(sym.clone(), int(p, "amount")?);
            st.sellable.insert(sym.clone(), int(p, "sellable")?);
            let held = int(p, "shold")?;
            if held > 0 {
                st.sell_held.insert(sym, held);
            }
        }
        for (sym, p) in v.get("marks").and_then(|m| m.as_object()).into_iter().flatten() {
            let p = p.as_str().and_then(|p| p.parse().ok()).ok_or_else(|| format!("seed mark of {sym}"))?;
            st.marks.insert(sym.clone(), Price(p));
        }
        for o in v.get("orders").and_then(|o| o.as_array()).into_iter().flatten() {
            let id = int(o, "oid")? as u64;
            let order = OpenOrder::from_json(id, &o.to_string()).map_err(|e| e.to_string())?;
            if order.side == Side::Buy {
                add(&mut st.pending, &order.symbol, order.value_price.0 * order.left);
            }
            st.orders.insert(id, order);
        }
        for (k, n) in v.get("books").and_then(|b| b.as_object()).into_iter().flatten() {
            let n = n.as_str().and_then(|n| n.parse().ok()).ok_or_else(|| format!("seed book {k}"))?;
            st.books.insert(k.clone(), n);
        }
        for t in v.get("trades").and_then(|t| t.as_array()).into_iter().flatten() {
            st.trades.insert(t.as_str().unwrap_or_default().to_string());
        }
        Ok(st)
    }
}

/// Counts of what the replayed entries did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditTally {
    pub reserved: usize,
    pub refused: BTreeMap<RiskReason, usize>,
    pub committed: usize,
    pub expired: usize,
    pub released: usize,
    pub fills: usize,
    pub done: usize,
    pub days: usize,
    /// Entries per instance.
    pub instances: BTreeMap<String, usize>,
    /// The most symbols held or pending at once.
    pub max_symbols: usize,
    /// The largest share of total asset any buy admission left a symbol at, in basis points.
    pub max_share_bp: i64,
}

/// Replays audit entries and checks every step (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct LedgerModel {
    pub state: LedgerState,
    pub tally: AuditTally,
    started: bool,
}

impl LedgerModel {
    pub fn new() -> LedgerModel {
        LedgerModel::default()
    }

    /// Replay every entry; the first error names the entry.
    pub fn replay(entries: &[AuditEntry]) -> std::result::Result<LedgerModel, String> {
        let mut m = LedgerModel::new();
        for e in entries {
            m.apply(e)?;
        }
        Ok(m)
    }

    pub fn apply(&mut self, e: &AuditEntry) -> std::result::Result<(), String> {
        let at = format!("audit #{} ({})", e.seq, e.kind);
        if e.kind == "seed" {
            let mut st = LedgerState::from_seed_json(e.get("state")?)?;
            if self.started && e.seq != self.state.seq + 1 && e.seq != st.seq + 1 {
                return Err(format!("{at}: sequence jumps from {}", self.state.seq));
            }
            let fence = e.int("fence")? as u64;
            if fence < self.state.fence {
                return Err(format!("{at}: fencing token {fence} after {}", self.state.fence));
            }
            st.fence = fence;
            st.seq = e.seq;
            self.state = st;
            self.started = true;
            return self.check(e, &at);
        }
        if !self.started {
            return Err(format!("{at}: the journal does not start with a seed"));
        }
        if e.seq != self.state.seq + 1 {
            return Err(format!("{at}: expected sequence {}", self.state.seq + 1));
        }
        self.state.seq = e.seq;
        if let Some(inst) = e.instance() {
            *self.tally.instances.entry(inst.to_string()).or_insert(0) += 1;
        }
        if let Ok(f) = e.int("fence") {
            let f = f as u64;
            if f < self.state.fence {
                return Err(format!("{at}: stale fencing token {f} applied after {}", self.state.fence));
            }
            self.state.fence = f;
        }
        let st = &mut self.state;
        match e.kind.as_str() {
            "reserved" | "refused" => {
                let side = Side::parse(e.get("side")?).ok_or(format!("{at}: side"))?;
                let sym = e.get("sym")?.to_string();
                let (qty, amount, vp) = (e.int("qty")?, e.int("amount")?, e.int("vp")?);
                let decided = st.decide(side, &sym, qty, amount, vp);
                let recorded = if e.kind == "refused" {
                    Some(RiskReason::parse(e.get("reason")?).ok_or(format!("{at}: reason"))?)
                } else {
                    None
                };
                if decided != recorded {
                    return Err(format!(
                        "{at}: the rules decide {decided:?} on the state before it, the ledger recorded {recorded:?}"
                    ));
                }
                if let Some(r) = recorded {
                    *self.tally.refused.entry(r).or_insert(0) += 1;
                    return self.check(e, &at);
                }
                let oid = e.int("oid")? as u64;
                let order = OpenOrder {
                    order_id: oid,
                    instance: e.get("inst")?.into(),
                    intent_id: e.get("iid")?.into(),
                    side,
                    symbol: sym.clone(),
                    quantity: qty,
                    freeze: Money(amount),
                    value_price: Price(vp),
                    price: Price(e.int("price")?),
                    date: st.date.unwrap_or_default(),
                    left: qty,
                    held: Money(amount),
                };
                match side {
                    Side::Buy => {
                        st.cash.0 -= amount;
                        st.frozen.0 += amount;
                        add(&mut st.pending, &sym, vp * qty);
                        let total = st.total_asset().0 as i128;
                        let after = st.amount.get(&sym).copied().unwrap_or(0) as i128
                            * st.marks.get(&sym).map_or(0, |p| p.0) as i128
                            + st.pending.get(&sym).copied().unwrap_or(0) as i128;
                        if total > 0 {
                            self.tally.max_share_bp = self.tally.max_share_bp.max((after * 10_000 / total) as i64);
                        }
                    }
                    Side::Sell => {
                        *st.sellable.entry(sym.clone()).or_insert(0) -= qty;
                        add(&mut st.sell_held, &sym, qty);
                    }
                }
                if oid <= st.next_id {
                    return Err(format!("{at}: order id {oid} is not new (last {})", st.next_id));
                }
                st.next_id = oid;
                st.reservations.insert(oid, order);
                self.tally.reserved += 1;
            }
            "released" | "expired" => {
                let oid = e.int("oid")? as u64;
                let o = st.reservations.remove(&oid).ok_or(format!("{at}: no reservation {oid}"))?;
                st.give_back(&o, o.quantity, o.freeze.0);
                if e.kind == "expired" {
                    self.tally.expired += 1;
                } else {
                    self.tally.released += 1;
                }
            }
            "committed" => {
                let oid = e.int("oid")? as u64;
                let o = st.reservations.remove(&oid).ok_or(format!("{at}: no reservation {oid}"))?;
                st.orders.insert(oid, o);
                self.tally.committed += 1;
            }
            "fill" => {
                let oid = e.int("oid")? as u64;
                let trade = e.get("trade")?.to_string();
                if !st.trades.insert(trade.clone()) {
                    return Err(format!("{at}: trade {trade} applied twice"));
                }
                let (qty, price, fees) = (e.int("qty")?, e.int("price")?, e.int("commission")? + e.int("taxes")?);
                let mut o = st.orders.remove(&oid).ok_or(format!("{at}: no open order {oid}"))?;
                if qty > o.left || qty <= 0 {
                    return Err(format!("{at}: fill of {qty} shares, {} open", o.left));
                }
                match o.side {
                    Side::Buy => {
                        let cost = qty * price + fees;
                        let used = cost.min(o.held.0);
                        st.frozen.0 -= used;
                        st.cash.0 -= cost - used;
                        o.held.0 -= used;
                        *st.amount.entry(o.symbol.clone()).or_insert(0) += qty;
                        st.sellable.entry(o.symbol.clone()).or_insert(0);
                        add(&mut st.pending, &o.symbol, -(o.value_price.0 * qty));
                        *st.books.entry(format!("{}|pos|{}", o.instance, o.symbol)).or_insert(0) += qty;
                        *st.books.entry(format!("{}|t1|{}", o.instance, o.symbol)).or_insert(0) += qty;
                        *st.books.entry(format!("{}|cash", o.instance)).or_insert(0) -= cost;
                    }
                    Side::Sell => {
                        *st.amount.entry(o.symbol.clone()).or_insert(0) -= qty;
                        add(&mut st.sell_held, &o.symbol, -qty);
                        st.cash.0 += qty * price - fees;
                        add(&mut st.books, &format!("{}|pos|{}", o.instance, o.symbol), -qty);
                        *st.books.entry(format!("{}|cash", o.instance)).or_insert(0) += qty * price - fees;
                    }
                }
                o.left -= qty;
                let sym = o.symbol.clone();
                st.orders.insert(oid, o);
                st.tidy(&sym);
                self.tally.fills += 1;
            }
            "done" => {
                let oid = e.int("oid")? as u64;
                let o = st.orders.remove(&oid).ok_or(format!("{at}: no open order {oid}"))?;
                st.give_back(&o, o.left, o.held.0);
                self.tally.done += 1;
            }
            "day" => {
                let marks: BTreeMap<String, String> =
                    serde_json::from_str(e.get("marks")?).map_err(|err| format!("{at}: marks: {err}"))?;
                for (s, p) in marks {
                    st.marks.insert(s, Price(p.parse().map_err(|_| format!("{at}: mark {p:?}"))?));
                }
                st.books.retain(|k, _| !k.contains("|t1|"));
                let syms: Vec<String> = st.amount.keys().cloned().collect();
                for s in syms {
                    let v = st.amount[&s] - st.sell_held.get(&s).copied().unwrap_or(0);
                    st.sellable.insert(s, v);
                }
                let total = st.total_asset();
                let blocked = st.prev_total.0 > 0
                    && (total.0 as i128) * 10_000 < st.prev_total.0 as i128 * (10_000 - st.breaker_bp) as i128;
                if total.0 != e.int("total")? || blocked != (e.get("blocked")? == "1") {
                    return Err(format!("{at}: total {total} / blocked {blocked} differ from the ledger's"));
                }
                st.prev_total = total;
                st.blocked = blocked;
                st.date = Some(e.get("next")?.parse().map_err(|_| format!("{at}: next date"))?);
                self.tally.days += 1;
            }
            other => return Err(format!("{at}: unknown kind {other:?}")),
        }
        self.check(e, &at)
    }

    /// The state after `e` against what the script recorded, and the invariants.
    fn check(&mut self, e: &AuditEntry, at: &str) -> std::result::Result<(), String> {
        let st = &self.state;
        let (cash, frozen) = (e.int("cash")?, e.int("frozen")?);
        if cash != st.cash.0 || frozen != st.frozen.0 {
            return Err(format!(
                "{at}: the ledger recorded cash {cash} / frozen {frozen}, the replay gives {} / {}",
                st.cash.0, st.frozen.0
            ));
        }
        if st.cash.0 < 0 {
            return Err(format!("{at}: free cash is negative ({})", st.cash));
        }
        let held: i64 =
            st.reservations.values().chain(st.orders.values()).filter(|o| o.side == Side::Buy).map(|o| o.held.0).sum();
        if held != st.frozen.0 {
            return Err(format!("{at}: frozen cash {} but reservations and open buys hold {held}", st.frozen.0));
        }
        let n = st.symbols().len();
        self.tally.max_symbols = self.tally.max_symbols.max(n);
        if n as i64 > st.max_positions && e.kind == "reserved" {
            return Err(format!("{at}: {n} symbols held or pending, the limit is {}", st.max_positions));
        }
        if st.sellable.values().any(|&s| s < 0) {
            return Err(format!("{at}: negative sellable shares"));
        }
        Ok(())
    }
}
