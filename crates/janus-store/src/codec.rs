//! Text codes for the enums stored in columns and stream fields, and their decoding. What a
//! backend reads back must equal what was written, so an unknown code is an error, never a
//! default.

use chrono::NaiveDate;
use janus_core::{OrderStatus, OrderType, Price, RiskReason, RunStatus, Side, StoreError};

/// A stored value that does not decode.
pub fn corrupt(backend: &'static str, what: &str, value: &str) -> StoreError {
    StoreError::Backend {
        backend,
        message: format!("stored {what} {value:?} is not valid; the store was written by something other than Janus"),
    }
}

pub fn side(backend: &'static str, s: &str) -> Result<Side, StoreError> {
    Side::parse(s).ok_or_else(|| corrupt(backend, "side", s))
}

pub fn order_status(backend: &'static str, s: &str) -> Result<OrderStatus, StoreError> {
    OrderStatus::parse(s).ok_or_else(|| corrupt(backend, "order status", s))
}

pub fn reason(backend: &'static str, s: &str) -> Result<RiskReason, StoreError> {
    RiskReason::parse(s).ok_or_else(|| corrupt(backend, "risk reason", s))
}

pub fn run_status(backend: &'static str, s: &str) -> Result<RunStatus, StoreError> {
    RunStatus::parse(s).ok_or_else(|| corrupt(backend, "run status", s))
}

/// `("MARKET", None)` or `("LIMIT", Some(price))`.
pub fn order_type_parts(t: OrderType) -> (&'static str, Option<i64>) {
    (t.as_str(), t.limit_price().map(|p| p.0))
}

pub fn order_type(backend: &'static str, kind: &str, limit: Option<i64>) -> Result<OrderType, StoreError> {
    match (kind, limit) {
        ("MARKET", None) => Ok(OrderType::Market),
        ("LIMIT", Some(p)) => Ok(OrderType::Limit(Price(p))),
        _ => Err(corrupt(backend, "order type", &format!("{kind} {limit:?}"))),
    }
}

/// ISO `YYYY-MM-DD`.
pub fn date(backend: &'static str, s: &str) -> Result<NaiveDate, StoreError> {
    s.parse().map_err(|_| corrupt(backend, "date", s))
}

/// A u32 column stored as a signed 64-bit integer.
pub fn u32_of(backend: &'static str, what: &str, v: i64) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|_| corrupt(backend, what, &v.to_string()))
}

/// The stored payload of a journal event: its JSON (serde's external tagging, with money and
/// prices as their fixed-point integers, so it reads back exactly).
pub fn event_payload(e: &janus_core::Event) -> String {
    // Every field of an event is a string, an integer, a date or an enum of those: nothing
    // serde_json can refuse (no maps with non-string keys, no floats).
    serde_json::to_string(e).unwrap_or_else(|err| unreachable!("a journal event always serializes: {err}"))
}

/// A sequence number or day index as the signed 64-bit integer SQL stores.
pub fn seq_to_sql(backend: &'static str, what: &str, v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Backend {
        backend,
        message: format!("{what} {v} is beyond what the store can hold (at most {})", i64::MAX),
    })
}

/// A sequence number read back from a signed column.
pub fn seq_of(backend: &'static str, v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| corrupt(backend, "journal sequence number", &v.to_string()))
}

/// A journal event back from its stored parts.
pub fn journal_event(
    backend: &'static str,
    instance: &str,
    seq: u64,
    date: NaiveDate,
    payload: &str,
) -> Result<janus_core::JournalEvent, StoreError> {
    let event = serde_json::from_str(payload).map_err(|e| StoreError::Backend {
        backend,
        message: format!(
            "journal event {seq} of instance {instance:?} does not decode ({e}); it was written by another \
             version of Janus or by hand"
        ),
    })?;
    Ok(janus_core::JournalEvent { instance: instance.to_string(), seq, date, event })
}
