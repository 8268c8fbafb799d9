//! The engine's state between days, besides the portfolio: the orders it has at the broker,
//! the sells waiting for a halted stock, the journal's position. All of it is saved with each
//! day's checkpoint, so a run resumes from the checkpoint instead of replaying the market.

use janus_core::{Money, Order, Portfolio, SymbolId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// An order at the broker, not finished yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenOrder {
    pub order: Order,
    pub sid: SymbolId,
    /// Trade ids of the fills applied to it: a report repeating one is ignored.
    pub trades: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EngineState {
    pub next_order_id: u64,
    /// Orders at the broker, in the order they were sent.
    pub open: Vec<OpenOrder>,
    /// Ids of sells waiting for their halted stock to trade again.
    pub held: BTreeSet<u64>,
    /// Per symbol: the market refused a sell of it at least once in the current holding
    /// (saved as the list of those symbols: a checkpoint stays small in a large market).
    #[serde(with = "flagged")]
    pub refused_sell: Vec<bool>,
    /// Highest total value so far, and the previous close's total (circuit breaker).
    pub peak: Money,
    pub prev_total: Money,
    /// Last journal sequence number used.
    pub seq: u64,
    /// The day of the checkpoint, and its [`crate::engine::market_fingerprint`].
    #[serde(default)]
    pub date: Option<chrono::NaiveDate>,
    #[serde(default)]
    pub market: u64,
}

/// What a checkpoint holds.
#[derive(Serialize, Deserialize)]
struct Saved {
    engine: EngineState,
    portfolio: Portfolio,
    /// The simulated broker's own state, when the broker lives in this process.
    broker: Option<String>,
}

impl EngineState {
    pub fn new(initial_cash: Money, n_symbols: usize) -> EngineState {
        EngineState {
            next_order_id: 1,
            open: Vec::new(),
            held: BTreeSet::new(),
            refused_sell: vec![false; n_symbols],
            peak: initial_cash,
            prev_total: initial_cash,
            seq: 0,
            date: None,
            market: 0,
        }
    }

    /// The checkpoint text of this state with `portfolio` and the broker's saved state.
    pub fn encode(&self, portfolio: &Portfolio, broker: Option<String>) -> String {
        #[derive(Serialize)]
        struct SavedRef<'a> {
            engine: &'a EngineState,
            portfolio: &'a Portfolio,
            broker: Option<String>,
        }
        serde_json::to_string(&SavedRef { engine: self, portfolio, broker })
            .expect("engine state is plain data and always serializes")
    }

    /// Read a checkpoint's text back.
    pub fn decode(text: &str) -> Result<(EngineState, Portfolio, Option<String>), String> {
        let s: Saved = serde_json::from_str(text).map_err(|e| e.to_string())?;
        Ok((s.engine, s.portfolio, s.broker))
    }
}

/// A vector of flags as its length and the indices that are set.
mod flagged {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Flagged {
        len: usize,
        set: Vec<u32>,
    }

    pub fn serialize<S: Serializer>(v: &[bool], s: S) -> Result<S::Ok, S::Error> {
        let set = v.iter().enumerate().filter(|(_, b)| **b).map(|(i, _)| i as u32).collect();
        Flagged { len: v.len(), set }.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<bool>, D::Error> {
        let f = Flagged::deserialize(d)?;
        let mut v = vec![false; f.len];
        for i in f.set {
            match v.get_mut(i as usize) {
                Some(b) => *b = true,
                None => return Err(serde::de::Error::custom(format!("flag {i} beyond {} symbols", f.len))),
            }
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use janus_core::{OrderId, OrderType, Side};

    #[test]
    fn a_state_survives_its_checkpoint_text_exactly() {
        let mut st = EngineState::new(Money::from_yuan(1_000_000.0), 3);
        let date = chrono::NaiveDate::from_ymd_opt(2024, 1, 2).expect("valid date");
        let order = Order::new(OrderId(7), "600000.SH".into(), Side::Buy, OrderType::Market, 300, date);
        st.open.push(OpenOrder { order, sid: 1, trades: vec!["T1".into()] });
        st.held.insert(7);
        st.refused_sell[2] = true;
        st.seq = 42;
        let pf = Portfolio::new(Money(123_456_789));
        let text = st.encode(&pf, Some("{\"x\":1}".into()));
        let (back, pf2, broker) = EngineState::decode(&text).expect("readable");
        assert_eq!((back, pf2, broker), (st, pf, Some("{\"x\":1}".to_string())));
        assert!(EngineState::decode("{not json").is_err());
    }
}
