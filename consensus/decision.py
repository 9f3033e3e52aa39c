"""A member's answer as data: TradeDecision, and the Ballot or Abstain it becomes."""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Action(StrEnum):
    LONG = "LONG"
    SHORT = "SHORT"
    HOLD = "HOLD"
    CLOSE = "CLOSE"


class TradeDecision(BaseModel):
    """What one member wants done with one symbol.

    Fractions are of the entry price: take_profit [0.02, 0.05] means targets 2 % and 5 % in the
    trade's favour, stop_loss 0.015 means 1.5 % against it. Sizes beyond the risk limits are kept
    as sent: the risk engine clamps them and records the clamp.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    action: Action
    confidence: float = Field(ge=0, le=100, description="0-100")
    reasoning: str = ""
    position_size_pct: float = Field(default=0.0, ge=0, description="Percent of equity")
    take_profit: tuple[float, ...] = Field(default=(), description="Ascending fractions of entry")
    stop_loss: float | None = Field(default=None, gt=0, description="Fraction of entry")

    @field_validator("take_profit")
    @classmethod
    def _ascending_positive(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(not math.isfinite(v) or v <= 0 for v in value):
            raise ValueError("take_profit fractions must be positive numbers")
        if list(value) != sorted(value):
            raise ValueError("take_profit fractions must be ascending")
        return value


class Usage(BaseModel):
    """What an answer cost: latency, tokens and USD (None when the price is unknown)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    latency_ms: float = 0.0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None


AbstainReason = Literal["timeout", "error", "unparseable", "invalid", "budget", "no_key", "rate_limited"]
# Abstentions decided before any model was called: known to have cost nothing.
NO_CALL_REASONS: tuple[AbstainReason, ...] = ("no_key", "budget")


class Ballot(BaseModel):
    """A member's parsed, valid decision on one symbol, with where it came from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["ballot"] = "ballot"
    member: str
    model: str
    symbol: str
    decision: TradeDecision
    usage: Usage = Usage()


class Abstain(BaseModel):
    """A member that gave no usable decision, and why. Never turns into a trade."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["abstain"] = "abstain"
    member: str
    model: str
    symbol: str
    reason: AbstainReason
    detail: str = ""
    usage: Usage = Usage()


Vote = Ballot | Abstain
