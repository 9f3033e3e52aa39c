"""Find the decision objects in parsed JSON and pick the one for a symbol.

A decision object is a JSON object with an action (`action`, `signal`, `decision` or `side` holding
a scalar) or a `confidence`. It is labelled with the symbol it is for: its own `coin`/`symbol`/...
field, else the nearest enclosing key that is not a known wrapper ({"BTC": {...}} is labelled BTC,
{"decision": {...}} is not labelled). Lists pass their label on to their items.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

ACTION_KEYS = ("action", "signal", "decision", "side")
_SYMBOL_KEYS = ("coin", "symbol", "asset", "ticker", "pair", "instrument")
# Keys that hold decisions without naming a coin. Any other key above a decision is its symbol.
_WRAPPER_KEYS = frozenset(
    {
        "decision", "decisions", "trade_decision", "trade_decisions", "trade_signal_args",
        "signal", "signals", "trade", "trades", "order", "orders", "position", "positions",
        "action", "actions", "result", "results", "output", "response", "answer", "data",
        "args", "arguments", "recommendation", "recommendations",
    }
)  # fmt: skip
# Real answers nest a decision two or three levels down; deeper structures are not decisions.
_MAX_DEPTH = 12
_SEPARATORS = re.compile(r"[-_/:.\s]+")
_QUOTE_SUFFIXES = ("PERP", "USDT", "USDC", "BUSD", "USD")


@dataclass(frozen=True)
class Candidate:
    """One decision object found in the answer, with keys normalised, and the symbol it names."""

    label: str | None
    fields: Mapping[str, object]
    has_action: bool


def normalise_key(key: str) -> str:
    """`Take-Profit`, `take profit` and `take_profit` are the same field."""
    return _SEPARATORS.sub("_", key.strip().casefold())


def find_candidates(values: Iterable[object]) -> list[Candidate]:
    """Every decision object in `values`, in document order."""
    found: list[Candidate] = []
    for value in values:
        _walk(value, None, 0, found)
    return found


def _walk(value: object, label: str | None, depth: int, found: list[Candidate]) -> None:
    # Recursion is bounded by _MAX_DEPTH, far below the interpreter's limit.
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, list):
        for item in value:
            _walk(item, label, depth + 1, found)
    elif isinstance(value, dict):
        fields = {normalise_key(str(k)): v for k, v in value.items()}
        has_action = _has_action(fields)
        if has_action or "confidence" in fields:
            found.append(Candidate(_own_symbol(fields) or label, fields, has_action))
            return
        for key, child in value.items():
            _walk(child, _child_label(str(key), label), depth + 1, found)


def _has_action(fields: Mapping[str, object]) -> bool:
    return any(k in fields and not isinstance(fields[k], dict | list) for k in ACTION_KEYS)


def _own_symbol(fields: Mapping[str, object]) -> str | None:
    for key in _SYMBOL_KEYS:
        value = fields.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _child_label(key: str, label: str | None) -> str | None:
    return label if normalise_key(key) in _WRAPPER_KEYS else key


def symbol_base(symbol: str) -> str:
    """The coin a symbol names: BTC, btc, BTC-PERP, BTCUSDT and BTC/USDT:USDT are all BTC."""
    parts = [p for p in _SEPARATORS.split(symbol.strip().upper()) if p]
    base = parts[0] if parts else ""
    stripped = True
    while stripped:
        stripped = False
        for suffix in _QUOTE_SUFFIXES:
            # A coin whose whole name is a suffix (PERP, USDC) keeps its name.
            if base.endswith(suffix) and len(base) > len(suffix):
                base, stripped = base[: -len(suffix)], True
    return base


def same_symbol(label: str, symbol: str) -> bool:
    base = symbol_base(symbol)
    return bool(base) and symbol_base(label) == base


def choose(candidates: list[Candidate], symbol: str) -> Candidate | str:
    """The decision for `symbol`, or why there is none.

    A decision labelled with the symbol wins; failing that, an unlabelled one (the single-decision
    format we ask for names no coin). Among several, the last with an action: models draft before
    they answer, and an object without an action (an echoed position) is no answer. Only when none
    has an action is the last one taken, so that its flaw is what gets reported.
    """
    labelled = [c for c in candidates if c.label is not None and same_symbol(c.label, symbol)]
    unlabelled = [c for c in candidates if c.label is None]
    group = labelled or unlabelled
    if group:
        return ([c for c in group if c.has_action] or group)[-1]
    if candidates:
        others = ", ".join(dict.fromkeys(c.label or "" for c in candidates))
        return f"no decision for {symbol} (answer covers {others})"
    return "JSON holds no trade decision"
