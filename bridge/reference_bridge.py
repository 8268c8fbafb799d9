#!/usr/bin/env python3
"""Reference bridge for the Janus gateway protocol: an emulated A-share broker.

It speaks the protocol of docs/gateway.md exactly as a bridge in front of a real broker API
(xtquant/QMT, easytrader) would, but the "broker" is an in-memory account, so Janus can be
tested against every fault a real bridge shows. Read it as a template for a real bridge: replace
the Account class with calls to the broker's SDK and keep the loop.

The emulated broker
  * keeps cash (available and frozen) and positions with T+1: shares bought on a trading day
    become sellable when an order for a later day arrives (the date of the order messages is
    the broker's clock);
  * checks board lots (buys in lots of 100; an odd-lot sell only closes a position), cash and
    sellable shares, and rejects what fails with a Janus reason code;
  * fills a market order at the price table (--price SYMBOL=PRICE), a limit order at the table
    price when the table has one and it is not worse than the limit (else it expires), or else
    at its limit price;
  * charges commission 0.025% (min 5 CNY per order), stamp duty 0.05% on sells and transfer
    fee 0.001% on both sides, each rounded half up to the fen, and reports them with each fill;
  * dedupes orders by client order id: a resent new_order never makes a second order;
  * logs every message it receives and every order it creates to --log (JSON lines), so a test
    can check that no order reached the broker twice.

Faults (command-line flags):
  --latency S            wait S seconds before each report.
  --fill-limit N         fill at most N shares of an order; the rest expires (VOLUME_CAP):
                         a partial fill, then expiry.
  --reject-symbol SYM    reject every order for SYM (repeatable).
  --hold                 accept orders but do not fill them: they stay working until canceled.
  --fill-after-cancel    with --hold: a cancel request first fills the order (up to
                         --fill-limit), then confirms the cancel of the rest, or refuses the
                         cancel when nothing is left.
  --duplicate-reports    send every fill report twice (same trade id, new message id).
  --disconnect-after N   after handling N messages from Janus, drop the Redis connection and
  --disconnect-for S     stop reading and heartbeating for S seconds, then come back and pick
                         up what Janus sent meanwhile (once).

Usage:
  python bridge/reference_bridge.py --account ACC --cash 1000000 --price 600000.SH=10.50 \
      --position 000001.SZ:1000 --log orders.jsonl
The Redis URL comes from --redis-url, else JANUS_TEST_REDIS_URL, else redis://127.0.0.1:6379/0.
"""

import argparse
import json
import os
import re
import sys
import threading
import time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import redis

VERSION = 1
FIELD = "msg"
GROUP = "bridge"
FEN = Decimal("0.01")
UNIT = Decimal("0.0001")
LOT = 100
COMMISSION, MIN_COMMISSION = Decimal("0.00025"), Decimal("5")
STAMP_DUTY, TRANSFER_FEE = Decimal("0.0005"), Decimal("0.00001")
SYMBOL = re.compile(r"^\d{6}\.(SH|SZ|BJ)$")


def dec(text):
    """Money and prices are decimal strings on the wire, never floats."""
    return str(Decimal(text).quantize(UNIT, rounding=ROUND_HALF_UP))


def fen(x):
    return x.quantize(FEN, rounding=ROUND_HALF_UP)


def order_fees(notional, is_sell):
    """Fees of an order whose fills total `notional`: the per-order minimum is charged once."""
    if notional == 0:
        return Decimal(0), Decimal(0)
    commission = max(fen(notional * COMMISSION), MIN_COMMISSION)
    taxes = fen(notional * TRANSFER_FEE) + (fen(notional * STAMP_DUTY) if is_sell else Decimal(0))
    return commission, taxes


class Reconnect(Exception):
    """The emulated disconnect is over: reconnect as after a real one."""


class Refused(Exception):
    def __init__(self, reason, detail):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


class Account:
    """The emulated broker's books: cash, positions with T+1, orders by client order id."""

    def __init__(self, cash, positions, prices):
        self.cash, self.frozen = Decimal(cash), Decimal(0)
        self.positions = {s: {"amount": a, "sellable": a, "bought_today": 0} for s, a in positions.items()}
        self.prices = prices
        self.orders = {}
        self.date = None
        self.trades = 0

    def roll(self, date):
        """A message for a later trading day: yesterday's purchases become sellable."""
        if self.date is None or date > self.date:
            if self.date is not None:
                for p in self.positions.values():
                    p["sellable"] += p["bought_today"]
                    p["bought_today"] = 0
            self.date = date

    def fill_price(self, o):
        table = self.prices.get(o["symbol"])
        if o["order_type"] == "MARKET":
            if table is None:
                raise Refused(None, f"no price for {o['symbol']} in the price table")
            return table
        limit = Decimal(o["price"])
        if table is None:
            return limit
        worse = table > limit if o["side"] == "BUY" else table < limit
        if worse:
            raise Refused(None, f"limit {limit} not reached: the market is at {table}")
        return table

    def open(self, o):
        """Check and book a new order (freeze its cash or shares); raise Refused to reject."""
        if o["side"] not in ("BUY", "SELL") or o["quantity"] <= 0:
            raise Refused(None, f"bad side {o['side']!r} or quantity {o['quantity']}")
        if not SYMBOL.match(o["symbol"]):
            raise Refused(None, f"symbol {o['symbol']!r} is not like 600000.SH")
        qty, pos = o["quantity"], self.positions.get(o["symbol"])
        if o["side"] == "BUY":
            if qty % LOT:
                raise Refused("LOT_SIZE", f"buys are in lots of {LOT}, got {qty}")
            price = Decimal(o["price"]) if o["price"] else self.prices.get(o["symbol"], Decimal(0))
            need = price * qty + sum(order_fees(price * qty, False))
            if need > self.cash:
                raise Refused("INSUFFICIENT_CASH", f"needs {need}, available {self.cash}")
            self.cash -= need
            self.frozen += need
            o["frozen"] = str(need)
        else:
            sellable = pos["sellable"] if pos else 0
            if qty > sellable:
                raise Refused("NOT_ENOUGH_SHARES", f"sell {qty}, sellable {sellable}")
            if qty % LOT and qty != pos["amount"]:
                raise Refused("LOT_SIZE", f"an odd lot ({qty}) may only close the position ({pos['amount']})")
            pos["sellable"] -= qty
        o.update(filled=0, notional="0", commission="0", taxes="0", status="ACCEPTED")
        self.orders[o["client_order_id"]] = o

    def fill(self, o, qty, price):
        """Execute qty shares of o at price; returns the fill as it goes on the wire."""
        sell = o["side"] == "SELL"
        notional = price * qty
        total_c, total_t = order_fees(Decimal(o["notional"]) + notional, sell)
        commission, taxes = total_c - Decimal(o["commission"]), total_t - Decimal(o["taxes"])
        pos = self.positions.setdefault(o["symbol"], {"amount": 0, "sellable": 0, "bought_today": 0})
        if sell:
            self.cash += notional - commission - taxes
            pos["amount"] -= qty
        else:
            cost = notional + commission + taxes
            from_frozen = min(cost, Decimal(o["frozen"]))
            o["frozen"] = str(Decimal(o["frozen"]) - from_frozen)
            self.frozen -= from_frozen
            self.cash -= cost - from_frozen
            pos["amount"] += qty
            pos["bought_today"] += qty
        if pos["amount"] == 0:
            del self.positions[o["symbol"]]
        o["filled"] += qty
        o["notional"] = str(Decimal(o["notional"]) + notional)
        o["commission"], o["taxes"] = str(total_c), str(total_t)
        o["status"] = "FILLED" if o["filled"] == o["quantity"] else "PARTIALLY_FILLED"
        if o["status"] == "FILLED":
            self.release(o)
        self.trades += 1
        return {"trade_id": f"T{self.trades}", "qty": qty, "price": dec(price),
                "commission": dec(commission), "taxes": dec(taxes), "reference": dec(price)}

    def release(self, o):
        """End an order's claim: unused frozen cash back, unsold shares sellable again."""
        if o["side"] == "BUY":
            self.cash += Decimal(o["frozen"])
            self.frozen -= Decimal(o["frozen"])
            o["frozen"] = "0"
        elif o["symbol"] in self.positions:
            self.positions[o["symbol"]]["sellable"] += o["quantity"] - o["filled"]

    def open_orders(self):
        return [
            {"client_order_id": o["client_order_id"], "broker_order_id": f"B{o['client_order_id']}",
             "symbol": o["symbol"], "side": o["side"], "quantity": o["quantity"], "filled": o["filled"],
             "status": o["status"]}
            for o in self.orders.values() if o["status"] in ("ACCEPTED", "PARTIALLY_FILLED")
        ]


class Bridge:
    def __init__(self, args):
        self.args = args
        self.out_key = f"{args.prefix}:{args.account}:out"
        self.in_key = f"{args.prefix}:{args.account}:in"
        prices = {}
        for item in args.price:
            sym, _, p = item.partition("=")
            prices[sym] = Decimal(p)
        positions = {}
        for item in args.position:
            sym, _, amount = item.partition(":")
            positions[sym] = int(amount)
        self.book = Account(args.cash, positions, prices)
        self.msgs = 0
        self.handled = 0
        self.disconnected = False
        self.online = threading.Event()
        self.online.set()
        self.log_file = open(args.log, "a", encoding="utf-8") if args.log else None

    def msg_id(self):
        self.msgs += 1
        return f"{self.args.account}-bridge-{os.getpid()}-{self.msgs}"

    def log(self, event, **fields):
        if self.log_file:
            self.log_file.write(json.dumps({"event": event, **fields}, sort_keys=True) + "\n")
            self.log_file.flush()

    def send(self, r, type_, client_order_id=None, **body):
        msg = {"v": VERSION, "msg_id": self.msg_id(), "type": type_, "client_order_id": client_order_id, **body}
        r.xadd(self.in_key, {FIELD: json.dumps(msg)})

    def report(self, r, o, kind, fill=None, reason=None, detail=""):
        if self.args.latency:
            time.sleep(self.args.latency)
        body = {"date": self.book.date, "kind": kind, "fill": fill, "reason": reason, "detail": detail}
        self.send(r, "report", o["client_order_id"], **body)
        if fill and self.args.duplicate_reports:
            self.send(r, "report", o["client_order_id"], **body)

    def execute(self, r, o, qty):
        """Fill up to qty shares of o (at most --fill-limit); report the fill."""
        if self.args.fill_limit:
            qty = min(qty, self.args.fill_limit)
        try:
            price = self.book.fill_price(o)
        except Refused as e:
            return e
        fill = self.book.fill(o, qty, price)
        self.report(r, o, "filled" if o["status"] == "FILLED" else "partially_filled", fill)
        return None

    def on_new_order(self, r, m):
        cid = m.get("client_order_id")
        self.log("received", client_order_id=cid, msg_id=m.get("msg_id"))
        if cid in self.book.orders:
            self.log("duplicate_ignored", client_order_id=cid)
            return
        self.book.roll(m["date"])
        o = {k: m.get(k) for k in ("client_order_id", "symbol", "side", "order_type", "price", "quantity", "date")}
        try:
            if m.get("account") != self.args.account:
                raise Refused(None, f"account {m.get('account')!r} is not {self.args.account!r}")
            if o["symbol"] in self.args.reject_symbol:
                raise Refused(None, f"the broker refuses orders for {o['symbol']}")
            self.book.open(o)
        except Refused as e:
            self.book.orders[cid] = {**o, "status": "REJECTED", "filled": 0}
            self.log("created", client_order_id=cid, status="REJECTED")
            self.report(r, o, "rejected", reason=e.reason, detail=e.detail)
            return
        self.log("created", client_order_id=cid, status="ACCEPTED", symbol=o["symbol"], side=o["side"],
                 quantity=o["quantity"])
        self.report(r, o, "accepted")
        if self.args.hold:
            return
        refused = self.execute(r, o, o["quantity"])
        if o["status"] != "FILLED":
            self.book.release(o)
            o["status"] = "EXPIRED"
            reason, detail = ("VOLUME_CAP", "fill limit reached") if refused is None else (None, refused.detail)
            self.report(r, o, "expired", reason=reason, detail=detail)

    def on_cancel(self, r, m):
        cid = m.get("client_order_id")
        self.log("cancel_received", client_order_id=cid, msg_id=m.get("msg_id"))
        o = self.book.orders.get(cid)
        if o is None or o["status"] not in ("ACCEPTED", "PARTIALLY_FILLED"):
            state = "unknown" if o is None else o["status"]
            self.send(r, "report", cid, date=self.book.date, kind="cancel_rejected", detail=f"order is {state}")
            return
        if self.args.fill_after_cancel:
            self.execute(r, o, o["quantity"] - o["filled"])
            if o["status"] == "FILLED":
                self.report(r, o, "cancel_rejected", detail="filled before the cancel arrived")
                return
        self.book.release(o)
        o["status"] = "CANCELED"
        self.report(r, o, "canceled")

    def on_query(self, r, m):
        what, cid = m.get("what"), m.get("correlation_id")
        b = self.book
        if what == "account":
            self.send(r, "account", correlation_id=cid, available_cash=dec(b.cash), frozen_cash=dec(b.frozen))
        elif what == "positions":
            rows = [{"symbol": s, "amount": p["amount"], "sellable": p["sellable"]} for s, p in sorted(b.positions.items())]
            self.send(r, "positions", correlation_id=cid, positions=rows)
        elif what == "open_orders":
            self.send(r, "open_orders", correlation_id=cid, orders=b.open_orders())
        else:
            self.send(r, "error", correlation_id=cid, detail=f"query {what!r} is not account, positions or open_orders")

    def handle(self, r, entry_id, fields):
        """Handle one message from Janus; what cannot be handled is answered with an error."""
        m = None
        try:
            m = json.loads(fields.get(FIELD, ""))
            if not isinstance(m, dict) or m.get("v") != VERSION:
                raise ValueError(f"not a version {VERSION} protocol message")
            handler = {"new_order": self.on_new_order, "cancel_order": self.on_cancel, "query": self.on_query}
            if m.get("type") not in handler:
                raise ValueError(f"message type {m.get('type')!r} is unknown")
            handler[m["type"]](r, m)
        except (ValueError, KeyError, TypeError, InvalidOperation) as e:
            cid = m.get("correlation_id") if isinstance(m, dict) else None
            self.send(r, "error", correlation_id=cid, detail=f"entry {entry_id}: {e}")

    def heartbeat(self):
        r, seq = None, 0
        while True:
            self.online.wait()
            try:
                r = r or redis.Redis.from_url(self.args.redis_url, decode_responses=True)
                seq += 1
                msg = {"v": VERSION, "msg_id": f"{self.args.account}-hb-{os.getpid()}-{seq}", "type": "heartbeat",
                       "client_order_id": None, "seq": seq, "bridge": "reference"}
                r.xadd(self.in_key, {FIELD: json.dumps(msg)})
            except redis.RedisError:
                r = None
            time.sleep(self.args.heartbeat)

    def connect(self):
        r = redis.Redis.from_url(self.args.redis_url, decode_responses=True)
        try:
            r.xgroup_create(self.out_key, GROUP, id="0", mkstream=True)
        except redis.ResponseError as e:
            if "BUSYGROUP" not in str(e):
                raise
        return r

    def run(self):
        threading.Thread(target=self.heartbeat, daemon=True).start()
        r, pending = self.connect(), True
        while True:
            try:
                pending = self.step(r, pending)
            except (redis.ConnectionError, Reconnect) as e:
                # Redis went away: wait, reconnect, and re-read what was not acknowledged (an
                # order handled but not acknowledged is then ignored as a duplicate).
                if isinstance(e, redis.ConnectionError):
                    print(f"reference bridge: connection lost ({e}); reconnecting", file=sys.stderr)
                    time.sleep(0.5)
                try:
                    r, pending = self.connect(), True
                except redis.ConnectionError:
                    continue

    def step(self, r, pending):
        """Handle one batch: the pending list first (messages read before a crash or a drop),
        then new messages. Returns whether the pending list still needs reading."""
        start = "0" if pending else ">"
        reply = r.xreadgroup(GROUP, "bridge", {self.out_key: start}, count=10, block=None if pending else 200)
        entries = reply[0][1] if reply else []
        if pending and not entries:
            return False
        for entry_id, fields in entries:
            self.handle(r, entry_id, fields)
            r.xack(self.out_key, GROUP, entry_id)
            self.handled += 1
            if self.args.disconnect_after and self.handled == self.args.disconnect_after and not self.disconnected:
                self.disconnected = True
                self.online.clear()
                r.close()
                time.sleep(self.args.disconnect_for)
                self.online.set()
                raise Reconnect()
        return pending


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--redis-url", default=os.environ.get("JANUS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    p.add_argument("--prefix", default="janus:gw")
    p.add_argument("--account", required=True)
    p.add_argument("--cash", default="1000000")
    p.add_argument("--price", action="append", default=[], metavar="SYMBOL=PRICE")
    p.add_argument("--position", action="append", default=[], metavar="SYMBOL:AMOUNT")
    p.add_argument("--log", help="JSON-lines log of every order message received and order created")
    p.add_argument("--heartbeat", type=float, default=1.0, metavar="S")
    p.add_argument("--latency", type=float, default=0.0, metavar="S")
    p.add_argument("--fill-limit", type=int, default=0, metavar="N")
    p.add_argument("--reject-symbol", action="append", default=[], metavar="SYMBOL")
    p.add_argument("--hold", action="store_true")
    p.add_argument("--fill-after-cancel", action="store_true")
    p.add_argument("--duplicate-reports", action="store_true")
    p.add_argument("--disconnect-after", type=int, default=0, metavar="N")
    p.add_argument("--disconnect-for", type=float, default=3.0, metavar="S")
    args = p.parse_args(argv)
    try:
        Decimal(args.cash)
        for item in args.price:
            Decimal(item.partition("=")[2])
        for item in args.position:
            int(item.partition(":")[2])
    except (InvalidOperation, ValueError) as e:
        p.error(f"bad --cash, --price or --position value: {e}")
    try:
        Bridge(args).run()
    except KeyboardInterrupt:
        return 0
    except redis.RedisError as e:
        print(f"reference bridge: Redis at {args.redis_url.rsplit('@', 1)[-1]} failed: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
