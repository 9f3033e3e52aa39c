"""A fake Pacifica trading server on loopback: signed POSTs checked as the exchange checks them.

    fake = FakePacificaVenue()
    fake.fund(signer.account, "10000")
    with serve(fake):                                   # tests/fakes/server.py
        venue = PacificaVenue(fake.base_url, signer)
        fake.set_mark("BTC", "70000")                   # fires the stops it reaches
        fake.posts("/orders/create_market")             # what it got, with `verified`

Every POST is verified by the recipe of exchange-apis.md 1.5, written here independently of
execution/signing.py: pop account, agent_wallet, signature, timestamp, expiry_window; the rest
is `data`; rebuild the message with the endpoint's type; verify with agent_wallet or account; a
bad or expired signature is answered with the bare body `Verification failed`. Then the body's
shape (missing / unknown / mistyped fields: 422 text, as serde words it), then tick and lot
(400 envelope "Bad Request"), then the trading rules of pacifica_ledger.py.

Faults: `inject` (server.py) answers instead of the exchange (5xx, 429, hang, a reject envelope);
`stall_after_accept` lets the exchange act, then stalls the answer past the client's timeout;
`partial_fill` fills the next market order only in part; `hide_new_orders` makes the next reads
of /orders and /orders/history lag behind the orders just placed.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tests.fakes.pacifica_ledger import ZERO, Account, D, Ledger, Market, Order, Refused
from tests.fakes.pacifica_wire import (
    AMOUNT_FIELDS,
    OPERATIONS,
    PRICE_FIELDS,
    READS,
    SPOT,
    market_json,
    position_json,
    shape_problem,
    text,
    verify,
)
from tests.fakes.server import FakeExchange, Fault, Reply, RowsHook, json_body

DEFAULT_MARKETS = (
    Market("BTC", tick=D("1"), lot=D("0.00001")),
    Market("ETH", tick=D("0.1"), lot=D("0.0001")),
    Market("SOL", tick=D("0.01"), lot=D("0.01"), max_leverage=20),
    Market("ODD", tick=D("0.5"), lot=D("0.25"), min_order_usd=D(1), max_leverage=5),
)
DEFAULT_MARKS = {"BTC": D("70000"), "ETH": D("3500"), "SOL": D("150"), "ODD": D("20")}
TAKER_FEE = D("0.0004")
SLIPPAGE = D("0.0005")  # fraction of the mark a market order fills away from it
VERIFICATION_FAILED = b"Verification failed"


@dataclass(frozen=True)
class SignedPost:
    """A POST the fake received: the body as sent and whether its signature verified."""

    endpoint: str
    body: Mapping[str, Any]
    verified: bool
    reason: str  # why not verified ("" when it did)


def _ok(data: object, **extra: object) -> Reply:
    return Reply(
        200, json.dumps({"success": True, "data": data, "error": None, "code": None, **extra}).encode()
    )


def _refused(status: int, code: int, message: str) -> Reply:
    return Reply(
        status, json.dumps({"success": False, "data": None, "error": message, "code": code}).encode()
    )


def _text_reply(status: int, body: str) -> Reply:
    return Reply(status, body.encode(), {"Content-Type": "text/plain; charset=utf-8"})


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class FakePacificaVenue(FakeExchange):
    """Pacifica's account reads and signed trading endpoints under /api/v1, state in a Ledger."""

    base_path = "/api/v1"

    def __init__(
        self,
        markets: tuple[Market, ...] = DEFAULT_MARKETS,
        marks: Mapping[str, Decimal] = DEFAULT_MARKS,
        *,
        taker_fee: Decimal = TAKER_FEE,
        slippage: Decimal = SLIPPAGE,
    ) -> None:
        super().__init__()
        self.ledger = Ledger(list(markets), dict(marks), taker_fee=taker_fee, slippage=slippage)
        self.agents: dict[str, str] = {}  # agent wallet -> the main account it may trade
        self._state = threading.RLock()
        self._stalls: dict[str, deque[float]] = {}
        self._fill_ratios: deque[Decimal] = deque()
        self._lagging: dict[str, tuple[int, int]] = {}  # read endpoint -> (reads left, newest id shown)
        self.refusals: list[tuple[str, int, str]] = []  # (endpoint, status, why) of every refused POST

    # ---- controls for tests ------------------------------------------------------------------

    def fund(self, account: str, balance: str) -> None:
        with self._state:
            self.ledger.accounts[account] = Account(D(balance))

    def bind_agent(self, account: str, agent_wallet: str) -> None:
        with self._state:
            self.agents[agent_wallet] = account

    def set_mark(self, symbol: str, price: str) -> None:
        with self._state:
            self.ledger.set_mark(symbol, D(price), _now_ms())

    def stall_after_accept(self, endpoint: str, seconds: float = 10.0, times: int = 1) -> None:
        """The exchange acts on the next request(s), then holds the answer for `seconds`."""
        with self._state:
            self._stalls.setdefault(endpoint, deque()).extend([seconds] * times)

    def partial_fill(self, ratio: str, times: int = 1) -> None:
        with self._state:
            self._fill_ratios.extend([D(ratio)] * times)

    def hide_new_orders(self, reads: int = 1) -> None:
        """The next `reads` answers of /orders and of /orders/history omit orders placed from now on."""
        with self._state:
            for endpoint in ("/orders", "/orders/history"):
                self._lagging[endpoint] = (reads, self.ledger.next_id)

    @staticmethod
    def reject(code: int, message: str, status: int = 422) -> Fault:
        """A fault answering with Pacifica's error envelope, e.g. reject(5, "Insufficient balance")."""
        return json_body({"success": False, "data": None, "error": message, "code": code}, status)

    def posts(self, endpoint: str) -> list[SignedPost]:
        return [SignedPost(endpoint, **r.params) for r in self.calls(endpoint)]

    def account_of(self, account: str) -> Account:
        return self.ledger.accounts[account]

    # ---- server side ---------------------------------------------------------------------------

    def route(self, method: str, path: str, query: dict[str, str], body: bytes) -> tuple[str, dict[str, Any]]:
        if method == "GET" and path in READS:
            return path, dict(query)
        if method != "POST" or path not in OPERATIONS:
            raise LookupError(path)
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            return path, {"body": {}, "verified": False, "reason": "body is not a JSON object"}
        verified, reason, _ = verify(OPERATIONS[path][0], parsed, _now_ms())
        return path, {"body": parsed, "verified": verified, "reason": reason}

    def answer(self, endpoint: str, params: dict[str, Any], rows: RowsHook | None) -> Reply:
        with self._state:
            reply = self._read(endpoint, params) if endpoint in READS else self._write(endpoint, params)
            if endpoint not in READS and reply.status != 200:
                self.refusals.append((endpoint, reply.status, reply.body.decode()))
            stalls = self._stalls.get(endpoint)
            stall_s = stalls.popleft() if stalls and reply.status == 200 else 0.0
        if stall_s:
            self.stopping.wait(stall_s)  # the work is done; only the answer is late
        return reply

    def _write(self, endpoint: str, params: dict[str, Any]) -> Reply:
        if not params["verified"]:
            return Reply(400, VERIFICATION_FAILED, {"Content-Type": "text/plain; charset=utf-8"})
        body = dict(params["body"])
        account, agent = body.pop("account"), body.pop("agent_wallet", None)
        data = {k: v for k, v in body.items() if k not in ("signature", "timestamp", "expiry_window")}
        if agent is not None and self.agents.get(agent) != account:
            return _refused(400, 400, "Agent not authorized for account")
        _, required, optional = OPERATIONS[endpoint]
        problem = shape_problem(data, required, optional)
        if problem:
            return _text_reply(422, f"Failed to deserialize the JSON body into the target type: {problem}")
        try:
            self._check_market(data)
            acct = self.ledger.accounts.get(account)
            if acct is None:
                raise Refused(422, 1, "Account not found")
            return _ok(self._dispatch(endpoint, acct, data, _now_ms()))
        except Refused as refusal:
            return _refused(refusal.status, refusal.code, refusal.message)

    def _check_market(self, data: dict[str, Any]) -> None:
        """Tick and lot of every price and amount (400 "Bad Request", as the docs say)."""
        symbol = data.get("symbol")
        if symbol is None:
            return
        market = self.ledger.markets.get(symbol)
        if market is None:
            raise Refused(422, 3, f"Book not found: {symbol}")
        for fields in (data, *(data[k] for k in ("stop_order", "take_profit", "stop_loss") if k in data)):
            for name in PRICE_FIELDS:
                if name in fields and (D(fields[name]) <= 0 or D(fields[name]) % market.tick != 0):
                    raise Refused(400, 400, "Bad Request")
            for name in AMOUNT_FIELDS:
                if name in fields and (D(fields[name]) <= 0 or D(fields[name]) % market.lot != 0):
                    raise Refused(400, 400, "Bad Request")

    def _dispatch(self, endpoint: str, acct: Account, p: dict[str, Any], now: int) -> object:
        handlers: dict[str, Callable[[Account, dict[str, Any], int], object]] = {
            "/orders/create_market": self._create_market,
            "/orders/create": self._create_limit,
            "/positions/tpsl": self._set_tpsl,
            "/orders/stop/create": self._create_stop,
            "/orders/cancel": self._cancel,
            "/orders/stop/cancel": self._cancel_stop,
            "/orders/cancel_all": self._cancel_all,
            "/account/leverage": self._leverage,
        }
        return handlers[endpoint](acct, p, now)

    def _create_market(self, acct: Account, p: dict[str, Any], now: int) -> object:
        self._check_min_size(p)
        ratio = self._fill_ratios.popleft() if self._fill_ratios else D(1)
        order = self.ledger.market_order(
            acct, p["symbol"], p["side"], D(p["amount"]), D(p["slippage_percent"]), p["reduce_only"],
            p.get("client_order_id"), now, ratio,
        )  # fmt: skip
        return {"order_id": order.order_id}

    def _create_limit(self, acct: Account, p: dict[str, Any], now: int) -> object:
        self._check_min_size(p)
        order = self.ledger.limit_order(
            acct, p["symbol"], p["side"], D(p["price"]), D(p["amount"]), p["reduce_only"],
            p.get("client_order_id"), now,
        )  # fmt: skip
        return {"order_id": order.order_id}

    def _set_tpsl(self, acct: Account, p: dict[str, Any], now: int) -> object:
        legs = {leg: p[key] for leg, key in (("tp", "take_profit"), ("sl", "stop_loss")) if key in p}
        if not legs:
            raise Refused(400, 400, "take_profit or stop_loss required")
        self.ledger.set_tpsl(acct, p["symbol"], p["side"], legs, now)
        return None

    def _create_stop(self, acct: Account, p: dict[str, Any], now: int) -> object:
        if "amount" not in p["stop_order"]:  # required here, optional in a position TP/SL (docs)
            raise Refused(422, 0, "missing field `amount`")
        order = self.ledger.stop_order(acct, p["symbol"], p["side"], p["reduce_only"], p["stop_order"], now)
        return {"order_id": order.order_id}

    def _cancel(self, acct: Account, p: dict[str, Any], now: int) -> object:
        if ("order_id" in p) == ("client_order_id" in p):
            raise Refused(400, 400, "exactly one of order_id and client_order_id")
        self.ledger.cancel(acct, p["symbol"], p.get("order_id"), p.get("client_order_id"), stops=False)
        return None

    def _cancel_stop(self, acct: Account, p: dict[str, Any], now: int) -> object:
        self.ledger.cancel(acct, p["symbol"], p["order_id"], None, stops=True)
        return None

    def _cancel_all(self, acct: Account, p: dict[str, Any], now: int) -> object:
        symbol = None if p["all_symbols"] else p.get("symbol")
        return {"cancelled_count": self.ledger.cancel_all(acct, symbol, p["exclude_reduce_only"])}

    def _leverage(self, acct: Account, p: dict[str, Any], now: int) -> object:
        self.ledger.set_leverage(acct, p["symbol"], p["leverage"])
        return None

    def _check_min_size(self, p: dict[str, Any]) -> None:
        market = self.ledger.markets[p["symbol"]]
        if not p["reduce_only"] and D(p["amount"]) * self.ledger.marks[p["symbol"]] < market.min_order_usd:
            raise Refused(422, 0, f"Order size below minimum of {market.min_order_usd} USD")

    # ---- reads -------------------------------------------------------------------------------

    def _read(self, endpoint: str, query: dict[str, str]) -> Reply:
        if endpoint == "/info":
            return _ok([market_json(m) for m in self.ledger.markets.values()] + [SPOT])
        if endpoint == "/info/prices":
            now = _now_ms()
            return _ok([{"symbol": s, "mark": text(p), "mid": text(p), "oracle": text(p), "timestamp": now}
                        for s, p in self.ledger.marks.items()])  # fmt: skip
        acct = self.ledger.accounts.get(query.get("account", ""))
        if acct is None:
            return _refused(422, 1, "Account not found")
        if endpoint == "/account":
            return _ok(self._account_json(acct))
        if endpoint == "/positions":
            return _ok(
                [position_json(s, p) for s, p in acct.positions.items()], last_order_id=self.ledger.next_id
            )
        orders = sorted(self._visible(endpoint, acct), key=lambda o: -o.order_id)
        if endpoint == "/orders":
            open_orders = [self._open_json(acct, o) for o in orders if o.status == "open"]
            return _ok(open_orders, last_order_id=self.ledger.next_id)
        limit = int(query.get("limit", 100))
        return _ok([self._history_json(acct, o) for o in orders[:limit]], next_cursor=None, has_more=False)

    def _visible(self, endpoint: str, acct: Account) -> list[Order]:
        reads, newest = self._lagging.get(endpoint, (0, 0))
        if reads <= 0:
            return list(acct.orders.values())
        self._lagging[endpoint] = (reads - 1, newest)
        return [o for o in acct.orders.values() if o.order_id <= newest]

    def _account_json(self, acct: Account) -> dict[str, Any]:
        equity, used = self.ledger.equity(acct), self.ledger.margin_used(acct)
        open_orders = self.ledger.open_orders(acct)
        return {
            "balance": text(acct.balance), "fee_level": 0, "maker_fee": "0.00015",
            "taker_fee": text(self.ledger.taker_fee), "account_equity": text(equity),
            "available_to_spend": text(equity - used),
            "available_to_withdraw": text(max(equity - used, ZERO)),
            "pending_balance": "0", "total_margin_used": text(used), "cross_mmr": text(used / 2),
            "positions_count": len(acct.positions),
            "orders_count": sum(o.stop_price is None for o in open_orders),
            "stop_orders_count": sum(o.stop_price is not None for o in open_orders),
            "updated_at": _now_ms(),
        }  # fmt: skip

    def _open_json(self, acct: Account, o: Order) -> dict[str, Any]:
        return {
            "order_id": o.order_id, "client_order_id": o.client_order_id, "symbol": o.symbol, "side": o.side,
            "price": text(o.price or D(0)), "initial_amount": text(self.ledger.order_amount(acct, o)),
            "filled_amount": text(o.filled), "cancelled_amount": text(o.cancelled),
            "stop_price": None if o.stop_price is None else text(o.stop_price), "order_type": o.order_type,
            "stop_parent_order_id": None, "reduce_only": o.reduce_only, "created_at": o.created_at,
            "updated_at": o.created_at,
        }  # fmt: skip

    def _history_json(self, acct: Account, o: Order) -> dict[str, Any]:
        return {
            "order_id": o.order_id, "client_order_id": o.client_order_id, "symbol": o.symbol, "side": o.side,
            "initial_price": text(o.price or o.stop_price or ZERO),
            "average_filled_price": text(o.average_price),
            "amount": text(self.ledger.order_amount(acct, o)), "filled_amount": text(o.filled),
            "order_status": o.status, "order_type": o.order_type,
            "stop_price": None if o.stop_price is None else text(o.stop_price),
            "stop_parent_order_id": None, "reduce_only": o.reduce_only, "created_at": o.created_at,
        }  # fmt: skip
