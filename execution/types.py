"""Frozen types shared by the risk engine and the venues: positions, portfolio, markets, limits, intents.

Units: prices and money in USD, sizes in coins (base units), times in UTC epoch milliseconds,
`*_pct` in percent (50 = 50 %), stop and take-profit distances as fractions of the entry price
(0.02 = 2 %), as in `TradeDecision`.
"""

from __future__ import annotations

import math
from enum import StrEnum
from itertools import pairwise
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from consensus.decision import Action
from feeds.types import DAY_MS, HOUR_MS


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Side(StrEnum):
    """Direction of a position, or of an order: LONG buys (Pacifica `bid`), SHORT sells (`ask`)."""

    LONG = "LONG"
    SHORT = "SHORT"

    @property
    def sign(self) -> int:
        """+1 for LONG, -1 for SHORT: the sign of a price move in this side's favour."""
        return 1 if self is Side.LONG else -1

    @property
    def opposite(self) -> Side:
        return Side.SHORT if self is Side.LONG else Side.LONG


class TradingState(StrEnum):
    """What the risk engine lets through (nautilus_trader's states).

    ACTIVE: entries and exits. REDUCING: exits only (CLOSE); every entry is denied. HALTED: the kill
    switch (`swarm halt`): every intent is denied, exits included; open positions stay protected
    by the stop-loss and take-profit orders already resting on the venue. The daily-loss breaker
    acts like REDUCING until the next UTC midnight.
    """

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


class Position(_Frozen):
    """One open position; stop and targets are absolute prices as resting on the venue."""

    symbol: str
    side: Side
    size_base: float = Field(gt=0)
    entry_price: float = Field(gt=0)
    stop_loss_price: float | None = Field(default=None, gt=0)
    take_profit_prices: tuple[float, ...] = ()
    opened_at_ms: int


class ClosedTrade(_Frozen):
    """What the cooldown rule needs to know of a closed trade."""

    symbol: str
    closed_at_ms: int
    pnl_usd: float = Field(description="Realized, net of fees and funding; < 0 is a loss")


class Portfolio(_Frozen):
    """The account at the moment of a decision, plus the risk state the store persists."""

    equity_usd: float = Field(ge=0, description="Balance plus unrealized PnL, now")
    start_of_day_equity_usd: float = Field(ge=0, description="Equity at the last UTC midnight")
    realized_pnl_today_usd: float = Field(default=0.0, description="Since UTC midnight, net of fees/funding")
    positions: tuple[Position, ...] = ()
    recent_closes: tuple[ClosedTrade, ...] = ()
    trading_state: TradingState = TradingState.ACTIVE
    breaker_tripped_until_ms: int | None = Field(default=None, description="Persisted breaker state")

    @field_validator("positions")
    @classmethod
    def _one_per_symbol(cls, value: tuple[Position, ...]) -> tuple[Position, ...]:
        # Perpetual venues net positions per symbol: two entries for one symbol is corrupt data.
        symbols = [p.symbol for p in value]
        if len(set(symbols)) != len(symbols):
            raise ValueError(f"more than one position per symbol: {sorted(symbols)}")
        return value

    def position(self, symbol: str) -> Position | None:
        """The open position in `symbol`, if any."""
        return next((p for p in self.positions if p.symbol == symbol), None)


class PriceHistory(_Frozen):
    """Evenly spaced closes of one market, oldest first, for the return correlation.

    Two histories are comparable only when they share `interval_ms` and `end_ms`: a series that
    lags by one bar would show a near-zero correlation and let a correlated entry through.
    """

    interval_ms: int = Field(gt=0)
    end_ms: int = Field(description="Close time of the last close")
    closes: tuple[float, ...]

    @field_validator("closes")
    @classmethod
    def _positive(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(c <= 0 for c in value):
            raise ValueError("closes must be positive (log returns)")
        return value


class MarketInfo(_Frozen):
    """One market's specification (Pacifica `/info`) and price, at the moment of a decision."""

    symbol: str
    mark_price: float = Field(gt=0)
    max_leverage: int = Field(ge=1)
    min_order_usd: float = Field(default=0.0, ge=0, description="Pacifica min_order_size (USD notional)")
    max_order_usd: float | None = Field(default=None, gt=0, description="Pacifica max_order_size")
    history: PriceHistory | None = Field(default=None, description="Closes for the correlation rule")


class RiskLimits(_Frozen):
    """Every limit of the risk engine; the defaults are the seed's rules (docs/risk.md)."""

    max_position_pct: float = Field(default=50.0, gt=0, le=100, description="Notional, % of equity")
    min_confidence: float = Field(default=60.0, ge=0, le=100)
    max_open_positions: int = Field(default=3, ge=0)
    daily_loss_pct: float = Field(default=5.0, gt=0, le=100, description="% of start-of-day equity")
    correlation_max: float = Field(default=0.8, ge=0, le=1, description="1 disables the rule")
    correlation_window_ms: int = Field(default=30 * DAY_MS, gt=0)
    correlation_min_returns: int = Field(default=20, ge=3)
    cooldown_ms: int = Field(default=HOUR_MS, ge=0, description="After any close of the symbol")
    cooldown_after_loss_ms: int = Field(default=4 * HOUR_MS, ge=0, description="After a losing close")
    leverage: int = Field(default=3, ge=1, description="Clamped to the market's max_leverage")
    max_stop_loss: float = Field(default=0.2, gt=0, lt=1, description="Widest stop, fraction of entry")
    default_stop_loss: float | None = Field(
        default=None, gt=0, description="None: deny an entry without stop; else the stop to apply"
    )

    @model_validator(mode="after")
    def _consistent(self) -> RiskLimits:
        # A stop wider than 1/leverage would sit beyond an isolated position's liquidation price.
        if self.max_stop_loss * self.leverage >= 1:
            raise ValueError(f"max_stop_loss {self.max_stop_loss} must be below 1/leverage ({self.leverage})")
        if self.cooldown_after_loss_ms < self.cooldown_ms:
            raise ValueError("cooldown_after_loss_ms must be at least cooldown_ms")
        if self.default_stop_loss is not None and self.default_stop_loss > self.max_stop_loss:
            raise ValueError("default_stop_loss must not exceed max_stop_loss")
        return self


ClampField = Literal["position_size_pct", "notional_usd", "leverage", "stop_loss"]


class Clamp(_Frozen):
    """A value the engine changed to fit a limit: what was asked, what is allowed."""

    field: ClampField
    asked: float | None = Field(description="None: the consensus gave no value (a default was applied)")
    allowed: float
    limit: str = Field(description="Name of the limit that applied")


class TakeProfit(_Frozen):
    """One rung of the take-profit ladder: close `fraction` of the position at `price`."""

    price: float = Field(gt=0)
    fraction: float = Field(gt=0, le=1)


class OrderIntent(_Frozen):
    """What the venue layer executes; the venue rounds sizes and prices to lot and tick.

    An entry (reduce_only False) opens a position on `side` with an exchange-side stop on the
    protective side of `reference_price` and take-profit rungs moving away from it on the
    profitable side. An exit (reduce_only True) is an order on the opposite side of the position,
    for its whole size, with no stop, ladder or leverage.
    """

    decision_id: str
    symbol: str
    side: Side = Field(description="Order direction: LONG buys, SHORT sells")
    reduce_only: bool
    reference_price: float = Field(gt=0, description="Mark price the sizes and prices derive from")
    notional_usd: float = Field(gt=0)
    size_base: float = Field(gt=0)
    leverage: int | None = Field(ge=1, description="None for an exit")
    stop_loss_price: float | None = Field(gt=0)
    take_profit: tuple[TakeProfit, ...] = ()
    clamps: tuple[Clamp, ...] = ()

    @model_validator(mode="after")
    def _well_formed(self) -> OrderIntent:
        if self.reduce_only:
            if self.stop_loss_price is not None or self.take_profit or self.leverage is not None:
                raise ValueError("an exit carries no stop, take-profit or leverage")
            return self
        if self.stop_loss_price is None or self.leverage is None:
            raise ValueError("an entry needs a stop-loss and a leverage")
        if (self.reference_price - self.stop_loss_price) * self.side.sign <= 0:
            raise ValueError("the stop-loss must be on the protective side of the reference price")
        away = [(rung.price - self.reference_price) * self.side.sign for rung in self.take_profit]
        if any(d <= 0 for d in away) or any(b <= a for a, b in pairwise(away)):
            raise ValueError("take-profit prices must move away from the price on the profitable side")
        if self.take_profit and not math.isclose(sum(r.fraction for r in self.take_profit), 1.0):
            raise ValueError("take-profit fractions must sum to 1")
        return self


DenialReason = Literal[
    "halted",
    "confidence",
    "no_market",
    "no_position",
    "reducing",
    "breaker",
    "already_open",
    "opposite_open",
    "cooldown",
    "max_positions",
    "no_stop_loss",
    "bad_stop_loss",
    "stop_too_wide",
    "bad_take_profit",
    "correlation_unknown",
    "correlated",
    "bad_size",
    "too_small",
]


class Approved(_Frozen):
    """The risk engine let an intent through."""

    kind: Literal["approved"] = "approved"
    intent: OrderIntent

    @property
    def clamps(self) -> tuple[Clamp, ...]:
        return self.intent.clamps


class Denied(_Frozen):
    """The risk engine refused the consensus; always recorded (event `order_denied`)."""

    kind: Literal["denied"] = "denied"
    symbol: str
    action: Action
    reason: DenialReason
    detail: str


class NoAction(_Frozen):
    """HOLD: the swarm chose not to trade. Not a denial, and never an order."""

    kind: Literal["no_action"] = "no_action"
    symbol: str
    detail: str


RiskResult = Approved | Denied | NoAction
