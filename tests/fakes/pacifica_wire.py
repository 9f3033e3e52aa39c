"""The wire side of the fake Pacifica venue: operation table, field checks, signature check, JSON views.

The signature check follows exchange-apis.md 1.5 and is written independently of
execution/signing.py (json.dumps(sort_keys=True) rather than a hand-written sort), so a bug in
one does not hide in the other.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import base58
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from tests.fakes.pacifica_ledger import Market, Position

Check = Callable[[object], bool]


def _is_decimal(value: object) -> bool:
    try:
        return isinstance(value, str) and Decimal(value).is_finite() and Decimal(value) >= 0
    except InvalidOperation:
        return False


def _is_uuid(value: object) -> bool:
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value
    except ValueError:
        return False


DEC: Check = _is_decimal
STR: Check = lambda v: isinstance(v, str)  # noqa: E731
INT: Check = lambda v: isinstance(v, int) and not isinstance(v, bool)  # noqa: E731
BOOL: Check = lambda v: isinstance(v, bool)  # noqa: E731
SIDE: Check = lambda v: v in ("bid", "ask")  # noqa: E731
TIF: Check = lambda v: v in ("GTC", "IOC", "ALO", "TOB")  # noqa: E731
TRIGGER: Check = lambda v: v in ("mark_price", "last_trade_price", "mid_price")  # noqa: E731
UUID: Check = _is_uuid
STOP_REQUIRED: dict[str, Check] = {"stop_price": DEC}
STOP_OPTIONAL: dict[str, Check] = {
    "limit_price": DEC,
    "amount": DEC,
    "client_order_id": UUID,
    "trigger_price_type": TRIGGER,
}
STOP = "stop"  # a nested stop object, checked with the two tables above
ORDER_EXTRAS: dict[str, Check | str] = {
    "client_order_id": UUID,
    "take_profit": STOP,
    "stop_loss": STOP,
    "builder_code": STR,
}

# path -> (operation type, required fields, optional fields); section 1.6
OPERATIONS: dict[str, tuple[str, dict[str, Check | str], dict[str, Check | str]]] = {
    "/orders/create_market": (
        "create_market_order",
        {"symbol": STR, "amount": DEC, "side": SIDE, "slippage_percent": DEC, "reduce_only": BOOL},
        ORDER_EXTRAS,
    ),
    "/orders/create": (
        "create_order",
        {"symbol": STR, "price": DEC, "amount": DEC, "side": SIDE, "tif": TIF, "reduce_only": BOOL},
        ORDER_EXTRAS,
    ),
    "/positions/tpsl": (
        "set_position_tpsl",
        {"symbol": STR, "side": SIDE},
        {"take_profit": STOP, "stop_loss": STOP, "builder_code": STR},
    ),
    "/orders/stop/create": (
        "create_stop_order",
        {"symbol": STR, "side": SIDE, "reduce_only": BOOL, "stop_order": STOP},
        {},
    ),
    "/orders/cancel": ("cancel_order", {"symbol": STR}, {"order_id": INT, "client_order_id": UUID}),
    "/orders/stop/cancel": ("cancel_stop_order", {"symbol": STR, "order_id": INT}, {}),
    "/orders/cancel_all": (
        "cancel_all_orders",
        {"all_symbols": BOOL, "exclude_reduce_only": BOOL},
        {"symbol": STR},
    ),
    "/account/leverage": ("update_leverage", {"symbol": STR, "leverage": INT}, {}),
}
READS = ("/info", "/info/prices", "/account", "/positions", "/orders", "/orders/history")
PRICE_FIELDS = ("price", "stop_price", "limit_price")
AMOUNT_FIELDS = ("amount",)


def text(value: Decimal) -> str:
    """A decimal string as Pacifica prints it."""
    out = format(value.normalize(), "f")
    return "0" if out in ("-0", "0") else out


def verify(op_type: str, body: Mapping[str, Any], now_ms: int) -> tuple[bool, str, dict[str, Any]]:
    """(verified, why not, data) of a signed body, by the recipe of section 1.5."""
    data = dict(body)
    account, agent = data.pop("account", None), data.pop("agent_wallet", None)
    signature, stamp = data.pop("signature", None), data.pop("timestamp", None)
    window = data.pop("expiry_window", 30_000)
    if not (isinstance(account, str) and isinstance(signature, str) and isinstance(stamp, int)):
        return False, "missing account, signature or timestamp", data
    header = {"timestamp": stamp, "expiry_window": window, "type": op_type}
    message = json.dumps({**header, "data": data}, sort_keys=True, separators=(",", ":")).encode()
    try:
        VerifyKey(base58.b58decode(agent or account)).verify(message, base58.b58decode(signature))
    except (BadSignatureError, ValueError, TypeError):
        return False, "signature does not verify", data
    if not isinstance(window, int) or now_ms > stamp + window:
        return False, "signature expired", data
    return True, "", data


def shape_problem(
    data: Mapping[str, Any], required: Mapping[str, Check | str], optional: Mapping[str, Check | str]
) -> str | None:
    """Serde's words for the first thing wrong with a body's fields, or None."""
    for name in required:
        if name not in data:
            return f"missing field `{name}`"
    for name, value in data.items():
        check = required.get(name) or optional.get(name)
        if check is None:
            return f"unknown field `{name}`"
        if check == STOP:
            problem = shape_problem(value, STOP_REQUIRED, STOP_OPTIONAL) if isinstance(value, dict) else "x"
            if problem:
                return f"invalid `{name}`: {problem}"
        elif not callable(check) or not check(value):
            return f"invalid type or value for `{name}`: {json.dumps(value)[:40]}"
    return None


SPOT = {"symbol": "SOL-USDC", "tick_size": "0.01", "lot_size": "0.01", "max_leverage": 1,
         "min_order_size": "10", "instrument_type": "spot", "base_asset": "SOL"}  # fmt: skip


def market_json(m: Market) -> dict[str, Any]:
    return {
        "symbol": m.symbol, "tick_size": text(m.tick), "min_tick": "0", "max_tick": "1000000",
        "lot_size": text(m.lot), "max_leverage": m.max_leverage, "isolated_only": False,
        "min_order_size": text(m.min_order_usd), "max_order_size": "5000000", "funding_rate": "0.0000125",
        "next_funding_rate": "0.0000125", "created_at": 1748881333944, "instrument_type": "perpetual",
        "base_asset": m.symbol,
    }  # fmt: skip


def position_json(symbol: str, p: Position) -> dict[str, Any]:
    return {
        "symbol": symbol, "side": p.side, "amount": text(p.amount), "entry_price": text(p.entry),
        "margin": "0", "funding": "0", "isolated": False, "liquidation_price": None,
        "created_at": p.created_at, "updated_at": p.updated_at,
    }  # fmt: skip
