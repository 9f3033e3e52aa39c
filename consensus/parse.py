"""A model's answer, as text, into a TradeDecision for one symbol, or a ParseFailure saying why not.

    parse_decision(text, symbol)
      -> _extract: every JSON value outside <think> sections (fences, prose, near-JSON)
      -> _select:  every decision object in them, labelled with its coin; pick the one for symbol
      -> _fields:  its fields, in our vocabulary or Alpha Arena's, into a TradeDecision

Failures: `unparseable` when the answer holds no JSON at all (outside reasoning); `invalid` when
there is JSON but no usable decision for the symbol. The rules for scales and units are in
`consensus._fields`; the rules for finding the symbol's decision in `consensus._select`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from consensus._extract import extract_json
from consensus._fields import answer_in_fractions, build_decision
from consensus._select import choose, find_candidates
from consensus.decision import Action, TradeDecision

_DETAIL_CHARS = 200


class ParseFailure(BaseModel):
    """Why an answer gave no decision; the caller records it as an Abstain with this reason."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: Literal["unparseable", "invalid"]
    detail: str


def parse_decision(text: str, symbol: str) -> TradeDecision | ParseFailure:
    """The decision `text` gives for `symbol`, or why there is none. Never raises."""
    try:
        return _parse(text, symbol)
    except Exception as exc:  # a parser bug must cost one abstention, never the whole cycle
        return _failure("unparseable", f"internal parser error: {type(exc).__name__}")


def _parse(text: str, symbol: str) -> TradeDecision | ParseFailure:
    extracted = extract_json(text)
    if not extracted.values:
        where = " outside <think> reasoning" if extracted.in_reasoning else ""
        return _failure("unparseable", f"no JSON found{where}")
    candidates = find_candidates(extracted.values)
    chosen = choose(candidates, symbol)
    if isinstance(chosen, str):
        return _failure("invalid", chosen)
    decision = build_decision(chosen.fields, answer_in_fractions([c.fields for c in candidates]))
    return _failure("invalid", decision) if isinstance(decision, str) else decision


def _failure(reason: Literal["unparseable", "invalid"], detail: str) -> ParseFailure:
    one_line = re.sub(r"\s+", " ", detail).strip()
    if len(one_line) > _DETAIL_CHARS:
        one_line = one_line[: _DETAIL_CHARS - 3] + "..."
    return ParseFailure(reason=reason, detail=one_line)


def decision_json_schema() -> dict[str, Any]:
    """The JSON Schema of the answer we ask models for (one decision for one symbol)."""
    return {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": [a.value for a in Action]},
            "confidence": {"type": "number", "minimum": 0, "maximum": 100, "description": "0-100"},
            "reasoning": {"type": "string", "description": "Why, in a few sentences"},
            "position_size_pct": {"type": "number", "minimum": 0, "description": "Percent of equity"},
            "take_profit": {
                "type": "array",
                "items": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
                "description": "Targets as fractions of entry in the trade's favour, ascending: "
                "[0.02, 0.05] means +2 % and +5 %",
            },
            "stop_loss": {
                "type": ["number", "null"],
                "exclusiveMinimum": 0,
                "exclusiveMaximum": 1,
                "description": "Fraction of entry against the trade: 0.015 means 1.5 %",
            },
        },
        "required": ["action", "confidence", "reasoning", "position_size_pct", "take_profit", "stop_loss"],
        "additionalProperties": False,
    }
