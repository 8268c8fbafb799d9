//! The wire format of the gateway protocol (docs/gateway.md is the reference for bridge
//! authors): one JSON object per stream entry, in the entry's `msg` field.
//!
//! Every message carries the protocol version `v`, a unique `msg_id`, its `type` and the
//! `client_order_id` it concerns (null for queries, answers and heartbeats). Prices and money
//! travel as decimal strings and are read exactly into the core's fixed-point types: a JSON
//! number where a decimal string belongs is refused, so no binary float ever touches a price.

use chrono::NaiveDate;
use janus_core::money::parse_fixed;
use janus_core::{
    BrokerAccount, BrokerOrder, BrokerPosition, ExecReport, Fill, Money, Order, OrderId, OrderStatus, Price, Qty,
    ReportKind, RiskReason, Side,
};
use serde::{Deserialize, Serialize};

/// The protocol version this build speaks; a message with another `v` is refused.
pub const VERSION: u32 = 1;

/// The stream entry field that holds the JSON message.
pub const FIELD: &str = "msg";

/// One message, either direction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub v: u32,
    pub msg_id: String,
    /// The Janus order id as a decimal string; null when the message is about no order.
    pub client_order_id: Option<String>,
    #[serde(flatten)]
    pub body: Body,
}

/// What a message says, by its `type`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Body {
    /// Janus to bridge: place an order.
    NewOrder {
        account: String,
        /// Trading day the order is for.
        date: NaiveDate,
        symbol: String,
        /// `BUY` or `SELL`.
        side: String,
        /// `LIMIT` or `MARKET`.
        order_type: String,
        /// Limit price; null for a market order.
        price: Option<String>,
        quantity: Qty,
        /// Why the strategy placed it, for the broker's remarks field.
        #[serde(default)]
        tag: String,
    },
    /// Janus to bridge: cancel an open order.
    CancelOrder { account: String },
    /// Janus to bridge: send the account, positions or open orders, echoing `correlation_id`.
    Query { what: Query, correlation_id: String },
    /// Bridge to Janus: something happened to an order.
    Report {
        date: NaiveDate,
        /// One of the names of [`ReportKind::name`].
        kind: String,
        /// Present for `partially_filled` and `filled`.
        #[serde(default)]
        fill: Option<WireFill>,
        /// A Janus reason code (`VOLUME_CAP`, `MARKET_LIMIT_UP`, ...) when the market refused.
        #[serde(default)]
        reason: Option<String>,
        #[serde(default)]
        detail: String,
    },
    /// Bridge to Janus: the account's cash.
    Account { correlation_id: Option<String>, available_cash: String, frozen_cash: String },
    /// Bridge to Janus: every holding.
    Positions { correlation_id: Option<String>, positions: Vec<WirePosition> },
    /// Bridge to Janus: every order that is still working.
    OpenOrders { correlation_id: Option<String>, orders: Vec<WireOrder> },
    /// Bridge to Janus: the bridge is alive (sent every second or so, also when idle).
    Heartbeat {
        #[serde(default)]
        seq: u64,
        #[serde(default)]
        bridge: String,
    },
    /// Bridge to Janus: a message could not be handled (a query it cannot answer, bad JSON).
    Error {
        #[serde(default)]
        correlation_id: Option<String>,
        detail: String,
    },
}

/// What a query asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Query {
    Account,
    Positions,
    OpenOrders,
}

impl Query {
    pub fn name(self) -> &'static str {
        match self {
            Query::Account => "account",
            Query::Positions => "positions",
            Query::OpenOrders => "open_orders",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireFill {
    pub trade_id: String,
    pub qty: Qty,
    pub price: String,
    pub commission: String,
    pub taxes: String,
    /// The market price the fill is measured against; defaults to the fill price.
    #[serde(default)]
    pub reference: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WirePosition {
    pub symbol: String,
    pub amount: Qty,
    pub sellable: Qty,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireOrder {
    /// Null for an order placed outside Janus (by hand in the broker's client).
    pub client_order_id: Option<String>,
    /// The broker's own id, for messages about orders Janus does not know.
    #[serde(default)]
    pub broker_order_id: Option<String>,
    pub symbol: String,
    pub side: String,
    pub quantity: Qty,
    pub filled: Qty,
    /// One of `SUBMITTED`, `ACCEPTED`, `PARTIALLY_FILLED`, `PENDING_CANCEL`.
    pub status: String,
}

/// Read one message. The error says what is wrong with it, in words for a bridge author.
pub fn decode(text: &str) -> Result<Envelope, String> {
    let env: Envelope = serde_json::from_str(text).map_err(|e| format!("not a protocol message ({e})"))?;
    if env.v != VERSION {
        return Err(format!("protocol version {} is not spoken here (this Janus speaks {VERSION})", env.v));
    }
    Ok(env)
}

pub fn encode(env: &Envelope) -> String {
    serde_json::to_string(env).expect("protocol messages are plain data and always serialize")
}

/// A Janus order id in a message.
pub fn parse_order_id(text: Option<&str>) -> Result<OrderId, String> {
    let text = text.ok_or("client_order_id is missing (null)")?;
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("client_order_id {text:?} is not a Janus order id (decimal digits)"));
    }
    text.parse().map(OrderId).map_err(|_| format!("client_order_id {text:?} is too large"))
}

/// An exact decimal string (`"10.5"`, `"5.00"`) as units of 0.0001 CNY; `field` names it.
pub fn parse_decimal(text: &str, field: &str) -> Result<i64, String> {
    let decimals = text.trim().split_once('.').map_or(0, |(_, f)| f.len());
    if decimals > 4 {
        return Err(format!("{field} {text:?} has more than 4 decimals"));
    }
    parse_fixed(text, 4).map_err(|e| format!("{field} {text:?} is not a decimal string: {e}"))
}

fn positive_qty(qty: Qty, field: &str) -> Result<Qty, String> {
    if qty <= 0 {
        return Err(format!("{field} {qty} must be a positive number of shares"));
    }
    Ok(qty)
}

/// The `new_order` message for an admitted order.
pub fn new_order(order: &Order, account: &str) -> Envelope {
    Envelope {
        v: VERSION,
        // One id per order: a resend is recognisably the same message.
        msg_id: format!("janus-order-{}", order.id.0),
        client_order_id: Some(order.id.0.to_string()),
        body: Body::NewOrder {
            account: account.to_string(),
            date: order.created,
            symbol: order.symbol.clone(),
            side: order.side.as_str().to_string(),
            order_type: order.order_type.as_str().to_string(),
            price: order.order_type.limit_price().map(|p| p.to_string()),
            quantity: order.quantity,
            tag: order.tag.clone(),
        },
    }
}

impl Envelope {
    /// The execution report this message carries, or `None` when it is not a report.
    pub fn to_report(&self) -> Option<Result<ExecReport, String>> {
        let Body::Report { date, kind, fill, reason, detail } = &self.body else {
            return None;
        };
        Some(report(self.client_order_id.as_deref(), *date, kind, fill.as_ref(), reason.as_deref(), detail))
    }
}

fn reason_code(code: Option<&str>) -> Result<Option<RiskReason>, String> {
    code.map(|c| RiskReason::parse(c).ok_or_else(|| format!("reason {c:?} is not a Janus reason code"))).transpose()
}

fn report(
    id: Option<&str>,
    date: NaiveDate,
    kind: &str,
    fill: Option<&WireFill>,
    reason: Option<&str>,
    detail: &str,
) -> Result<ExecReport, String> {
    let order_id = parse_order_id(id)?;
    let the_fill = || -> Result<Fill, String> {
        let f = fill.ok_or_else(|| format!("a {kind} report needs a fill"))?;
        if f.trade_id.is_empty() {
            return Err("fill.trade_id is empty: it is how repeated fills are recognised".into());
        }
        let price = Price(parse_decimal(&f.price, "fill.price")?);
        if !price.is_positive() {
            return Err(format!("fill.price {:?} must be positive", f.price));
        }
        let reference = match &f.reference {
            Some(r) => Price(parse_decimal(r, "fill.reference")?),
            None => price,
        };
        Ok(Fill {
            trade_id: f.trade_id.clone(),
            qty: positive_qty(f.qty, "fill.qty")?,
            price,
            commission: Money(parse_decimal(&f.commission, "fill.commission")?),
            taxes: Money(parse_decimal(&f.taxes, "fill.taxes")?),
            reference,
        })
    };
    let detail = detail.to_string();
    let kind = match kind {
        "accepted" => ReportKind::Accepted,
        "rejected" => ReportKind::Rejected { reason: reason_code(reason)?, detail },
        "partially_filled" => ReportKind::PartiallyFilled(the_fill()?),
        "filled" => ReportKind::Filled(the_fill()?),
        "canceled" => ReportKind::Canceled,
        "cancel_rejected" => ReportKind::CancelRejected { detail },
        "expired" => ReportKind::Expired { reason: reason_code(reason)?, detail },
        "held" => ReportKind::Held {
            reason: reason_code(reason)?.ok_or("a held report needs a reason code (e.g. MARKET_SUSPENDED)")?,
            detail,
        },
        other => return Err(format!("report kind {other:?} is unknown")),
    };
    Ok(ExecReport { order_id, date, kind })
}

pub fn account(available_cash: &str, frozen_cash: &str) -> Result<BrokerAccount, String> {
    Ok(BrokerAccount {
        available_cash: Money(parse_decimal(available_cash, "available_cash")?),
        frozen_cash: Money(parse_decimal(frozen_cash, "frozen_cash")?),
    })
}

pub fn position(p: &WirePosition) -> Result<BrokerPosition, String> {
    if p.amount < 0 || p.sellable < 0 || p.sellable > p.amount {
        return Err(format!(
            "position {}: amount {} and sellable {} must satisfy 0 <= sellable <= amount",
            p.symbol, p.amount, p.sellable
        ));
    }
    Ok(BrokerPosition { symbol: p.symbol.clone(), amount: p.amount, sellable: p.sellable })
}

pub fn open_order(o: &WireOrder) -> Result<BrokerOrder, String> {
    let order_id = parse_order_id(o.client_order_id.as_deref()).map_err(|e| {
        format!(
            "open order {} of {} ({} {}): {e}; an order Janus did not place must be settled by hand before Janus trades",
            o.broker_order_id.as_deref().unwrap_or("without a broker id"),
            o.symbol,
            o.side,
            o.quantity
        )
    })?;
    let side = Side::parse(&o.side)
        .ok_or_else(|| format!("open order {}: side {:?} is not BUY or SELL", order_id.0, o.side))?;
    let status = OrderStatus::parse(&o.status)
        .filter(|s| s.is_open() && *s != OrderStatus::New)
        .ok_or_else(|| format!("open order {}: status {:?} is not an open status", order_id.0, o.status))?;
    if o.filled < 0 || o.filled > o.quantity {
        return Err(format!("open order {}: filled {} is outside 0..={}", order_id.0, o.filled, o.quantity));
    }
    Ok(BrokerOrder {
        order_id,
        symbol: o.symbol.clone(),
        side,
        quantity: positive_qty(o.quantity, "quantity")?,
        filled: o.filled,
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use janus_core::OrderType;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 1, 2).expect("valid date")
    }

    #[test]
    fn a_new_order_carries_exact_decimal_strings_and_the_client_order_id() {
        let mut o =
            Order::new(OrderId(42), "600000.SH".into(), Side::Buy, OrderType::Limit(Price(105_000)), 300, day());
        o.tag = "buy_rank".into();
        let text = encode(&new_order(&o, "acc1"));
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(v["type"], "new_order");
        assert_eq!(v["v"], 1);
        assert_eq!(v["client_order_id"], "42");
        assert_eq!(v["price"], "10.5000");
        assert_eq!(v["quantity"], 300);
        assert_eq!(v["date"], "2024-01-02");
        assert_eq!(decode(&text).expect("decodes"), new_order(&o, "acc1"));
    }

    #[test]
    fn a_fill_report_is_read_exactly() {
        let text = r#"{"v":1,"msg_id":"b-1","client_order_id":"7","type":"report","date":"2024-01-02",
            "kind":"partially_filled","fill":{"trade_id":"T9","qty":100,"price":"10.01",
            "commission":"5.00","taxes":"0.01"}}"#;
        let r = decode(text).expect("decodes").to_report().expect("a report").expect("valid");
        let f = r.kind.fill().expect("a fill");
        assert_eq!(
            (r.order_id, f.qty, f.price, f.commission, f.taxes),
            (OrderId(7), 100, Price(100_100), Money(50_000), Money(100))
        );
        assert_eq!(f.reference, f.price);
    }

    #[test]
    fn a_float_where_a_decimal_string_belongs_is_refused() {
        let text = r#"{"v":1,"msg_id":"b-1","client_order_id":null,"type":"account","correlation_id":"q",
            "available_cash":1000.5,"frozen_cash":"0"}"#;
        assert!(decode(text).is_err());
        assert!(parse_decimal("1.23456", "price").is_err());
        assert!(parse_decimal("NaN", "price").is_err());
    }

    #[test]
    fn every_report_kind_round_trips_through_its_name() {
        for kind in ["accepted", "canceled"] {
            let r = report(Some("1"), day(), kind, None, None, "").expect("valid");
            assert_eq!(r.kind.name(), kind);
        }
        let r = report(Some("1"), day(), "expired", None, Some("VOLUME_CAP"), "rest").expect("valid");
        assert_eq!(r.kind, ReportKind::Expired { reason: Some(RiskReason::VolumeCap), detail: "rest".into() });
        assert!(report(Some("1"), day(), "held", None, None, "").is_err(), "held needs a reason");
        assert!(report(Some("1"), day(), "filled", None, None, "").is_err(), "filled needs a fill");
        assert!(report(Some("x1"), day(), "accepted", None, None, "").is_err());
        assert!(report(Some("1"), day(), "exploded", None, None, "").is_err());
    }

    #[test]
    fn an_open_order_without_a_janus_id_is_refused_with_advice() {
        let o = WireOrder {
            client_order_id: None,
            broker_order_id: Some("B77".into()),
            symbol: "600000.SH".into(),
            side: "BUY".into(),
            quantity: 100,
            filled: 0,
            status: "ACCEPTED".into(),
        };
        let e = open_order(&o).expect_err("unknown order");
        assert!(e.contains("B77") && e.contains("by hand"), "{e}");
    }

    #[test]
    fn another_protocol_version_is_refused() {
        let text = r#"{"v":2,"msg_id":"x","client_order_id":null,"type":"heartbeat"}"#;
        assert!(decode(text).expect_err("v2").contains("version 2"));
    }
}
