"""Read one decision object, in our vocabulary or Alpha Arena's, into a TradeDecision.

Rules (each is a choice; the tests pin them):

- Confidence: a bare number from 0 to 1 is a fraction and is scaled to 0-100 when the decision uses
  Alpha Arena's vocabulary (key `signal`, `profit_target`, `risk_usd` or `invalidation_condition`,
  or the words buy_to_enter/sell_to_enter/close_position), or when every confidence in the answer
  is within 0-1 and at least one lies strictly between. So 1 exactly becomes 100 only where the
  answer shows it speaks in fractions; alone it stays 1 (on our 0-100 scale, the cautious reading).
  "75%" is a percent and never scaled.
- Take-profit and stop-loss (our vocabulary): fractions of entry. A field is in percent when it is
  written with "%" or any bare value of it is 1 or more (a 100 % stop cannot be meant). A result of
  100 % or more is rejected as a price sent by mistake. A lone 0 means "none". Targets must
  already be ascending: sorting them would be guessing what the model meant.
- Alpha Arena exits (`profit_target`, `stop_loss` are prices): converted to fractions only for
  LONG/SHORT and only when the decision states an entry or current price; otherwise dropped,
  never invented. A price on the wrong side of entry is invalid.
- `leverage`, `risk_usd`: not part of a TradeDecision, but must be non-negative numbers. `quantity`
  must be a number and may be negative: Alpha Arena signs it by side (-3.03 holds a short), and
  real answers do send it so.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from consensus._select import ACTION_KEYS, normalise_key
from consensus.decision import Action, TradeDecision

_ACTIONS: dict[str, Action] = {
    **dict.fromkeys(
        ("long", "buy", "bullish", "buy_to_enter", "enter_long", "open_long", "go_long"), Action.LONG
    ),
    **dict.fromkeys(
        ("short", "sell", "bearish", "sell_to_enter", "enter_short", "open_short", "go_short"), Action.SHORT
    ),
    **dict.fromkeys(("hold", "wait", "neutral", "no_trade", "no_action", "stay"), Action.HOLD),
    **dict.fromkeys(
        ("close", "close_position", "exit", "exit_position", "close_long", "close_short"), Action.CLOSE
    ),
}
_ALPHA_ARENA_KEYS = ("signal", "profit_target", "risk_usd", "invalidation_condition")
_ALPHA_ARENA_WORDS = frozenset({"buy_to_enter", "sell_to_enter", "close_position"})
_REASONING_KEYS = ("reasoning", "justification", "rationale", "reason", "explanation")
_SIZE_KEYS = ("position_size_pct", "size_pct", "position_pct", "position_size", "allocation_pct")
_TAKE_PROFIT_KEYS = ("take_profit", "take_profits", "take_profit_pct", "tp")
_STOP_LOSS_KEYS = ("stop_loss", "stop_loss_pct", "sl")
_ENTRY_KEYS = ("entry_price", "entry", "current_price", "price", "mark_price")
_UNSIGNED_SIZES = ("leverage", "risk_usd")
_DIRECTION = {Action.LONG: 1, Action.SHORT: -1}
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


class InvalidFieldError(ValueError):
    """A field that cannot be read; the message names it. Caught in this module, never escapes."""


@dataclass(frozen=True)
class _Number:
    value: float
    percent: bool  # written with a "%" sign


def build_decision(fields: Mapping[str, object], answer_in_fractions: bool) -> TradeDecision | str:
    """The TradeDecision `fields` describe, or a one-line reason it is invalid."""
    try:
        data = _decision_data(fields, answer_in_fractions)
    except InvalidFieldError as exc:
        return str(exc)
    try:
        return TradeDecision.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        return f"{field}: {error['msg']} (got {_short(error['input'])})"


def answer_in_fractions(decisions: Sequence[Mapping[str, object]]) -> bool:
    """Whether every confidence the answer states is within 0-1, one strictly (see module doc)."""
    stated = [_stated_confidence(fields) for fields in decisions]
    numbers = [n.value for n in stated if n is not None and not n.percent]
    if len(numbers) != len([n for n in stated if n is not None]):
        return False  # a "75%" anywhere says the answer speaks in percent
    return bool(numbers) and all(0 <= v <= 1 for v in numbers) and any(0 < v < 1 for v in numbers)


def _stated_confidence(fields: Mapping[str, object]) -> _Number | None:
    try:
        return _number(fields["confidence"], "confidence")
    except (KeyError, InvalidFieldError):
        return None


def _decision_data(fields: Mapping[str, object], answer_in_fractions: bool) -> dict[str, object]:
    word = _action_word(fields)
    action = _action(word)
    alpha_arena = any(k in fields for k in _ALPHA_ARENA_KEYS) or normalise_key(word) in _ALPHA_ARENA_WORDS
    _check_dropped_sizes(fields)
    take_profit, stop_loss = _alpha_arena_exits(fields, action) if alpha_arena else _exits(fields)
    return {
        "action": action,
        "confidence": _confidence(fields, alpha_arena or answer_in_fractions),
        "reasoning": _reasoning(fields),
        "position_size_pct": _size_pct(fields),
        "take_profit": take_profit,
        "stop_loss": stop_loss,
    }


def _first(fields: Mapping[str, object], keys: Sequence[str]) -> tuple[str, object] | None:
    """The first of `keys` with a value; null and "" mean the model left the field out."""
    for key in keys:
        value = fields.get(key)
        if value is not None and value != "":
            return key, value
    return None


def _number(value: object, field: str) -> _Number:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidFieldError(f"{field} must be a number, got {_short(value)}")
    percent = isinstance(value, str) and value.strip().endswith("%")
    if isinstance(value, str):
        text = value.strip().removesuffix("%").strip()
        if not _NUMBER.fullmatch(text):
            raise InvalidFieldError(f"{field} is not a number: {_short(value)}")
        value = text
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        number = math.inf
    if not math.isfinite(number):
        raise InvalidFieldError(f"{field} is not a finite number: {_short(value)}")
    return _Number(number, percent)


def _action_word(fields: Mapping[str, object]) -> str:
    for key in ACTION_KEYS:
        value = fields.get(key)
        if value is None or isinstance(value, dict | list):
            continue  # a container under "decision" is a wrapper, not an action
        if not isinstance(value, str):
            raise InvalidFieldError(f"{key} must be a word, got {_short(value)}")
        return value
    raise InvalidFieldError("missing action")


def _action(word: str) -> Action:
    action = _ACTIONS.get(normalise_key(word))
    if action is None:
        raise InvalidFieldError(f"unknown action {_short(word)}")
    return action


def _confidence(fields: Mapping[str, object], in_fractions: bool) -> float:
    found = _first(fields, ("confidence",))
    if found is None:
        raise InvalidFieldError("missing confidence")
    number = _number(found[1], "confidence")
    if in_fractions and not number.percent and 0 <= number.value <= 1:
        return number.value * 100
    return number.value


def _reasoning(fields: Mapping[str, object]) -> str:
    for key in _REASONING_KEYS:
        value = fields.get(key)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = " ".join(value)
        if isinstance(value, str) and value:
            return value
        if value is not None and not isinstance(value, str):
            raise InvalidFieldError(f"{key} must be text, got {_short(value)}")
    return ""


def _size_pct(fields: Mapping[str, object]) -> float:
    found = _first(fields, _SIZE_KEYS)
    # "2.5%" and 2.5 both mean 2.5 % of equity.
    return 0.0 if found is None else _number(found[1], found[0]).value


def _check_dropped_sizes(fields: Mapping[str, object]) -> None:
    if (quantity := _first(fields, ("quantity",))) is not None:
        _number(quantity[1], "quantity")  # any sign: Alpha Arena signs it by side
    for key in _UNSIGNED_SIZES:
        found = _first(fields, (key,))
        if found is not None and _number(found[1], key).value < 0:
            raise InvalidFieldError(f"{key} is negative: {_short(found[1])}")


def _exits(fields: Mapping[str, object]) -> tuple[tuple[float, ...], float | None]:
    stop = _first(fields, _STOP_LOSS_KEYS)
    if stop is not None and isinstance(stop[1], list):
        raise InvalidFieldError(f"{stop[0]} must be one number, got {_short(stop[1])}")
    stops = _fractions(*stop) if stop else ()
    return _take_profit(fields), stops[0] if stops else None


def _take_profit(fields: Mapping[str, object]) -> tuple[float, ...]:
    found = _first(fields, _TAKE_PROFIT_KEYS)
    return _fractions(*found) if found else ()


def _fractions(key: str, value: object) -> tuple[float, ...]:
    numbers = [_number(item, key) for item in (value if isinstance(value, list) else [value])]
    if [n.value for n in numbers] == [0.0]:
        return ()  # a lone 0 is how models write "none"
    in_percent = any(not n.percent and n.value >= 1 for n in numbers)
    fractions = tuple(n.value / 100 if n.percent or in_percent else n.value for n in numbers)
    if any(f >= 1 for f in fractions):
        raise InvalidFieldError(f"{key} {_short(value)} is 100 % or more away: a price sent by mistake?")
    return fractions


def _alpha_arena_exits(
    fields: Mapping[str, object], action: Action
) -> tuple[tuple[float, ...], float | None]:
    # Read both prices even when they are dropped, so a NaN or negative price is still reported.
    target, stop = _price(fields, "profit_target"), _price(fields, "stop_loss")
    entry, sign = _entry_price(fields), _DIRECTION.get(action)
    take_profit = _take_profit(fields)
    if entry is None or sign is None:
        return take_profit, None
    if target and not take_profit:
        take_profit = (_away(target, entry, sign, "profit_target", action),)
    return take_profit, _away(stop, entry, -sign, "stop_loss", action) if stop else None


def _entry_price(fields: Mapping[str, object]) -> float | None:
    for key in _ENTRY_KEYS:
        price = _price(fields, key)
        if price:
            return price
    return None


def _price(fields: Mapping[str, object], key: str) -> float | None:
    found = _first(fields, (key,))
    if found is None:
        return None
    number = _number(found[1], key)
    if number.percent or number.value < 0:
        raise InvalidFieldError(f"{key} must be a price, got {_short(found[1])}")
    return number.value or None  # 0 is how models write "none"


def _away(price: float, entry: float, sign: int, key: str, action: Action) -> float:
    """How far `price` is from entry, as a fraction, in the direction `sign` expects."""
    fraction = sign * (price - entry) / entry
    if fraction <= 0:
        raise InvalidFieldError(f"{key} {price:g} is on the wrong side of entry {entry:g} for {action}")
    return fraction


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
