"""Pacifica market specs from GET /info, and the one place amounts and prices are rounded.

Every amount and price sent to Pacifica goes through `quantize` (via the MarketSpec methods):

- amounts round DOWN to a multiple of `lot_size`: never more exposure than the risk engine
  approved, and a reduce-only order never larger than the position;
- limit prices round to the side that is never worse for us: a bid DOWN, an ask UP;
- trigger (stop) prices round towards the current price, so a trigger fires no later than asked:
  a stop-loss that protects a long (closing side ask, below the price) rounds UP, one that protects
  a short (closing side bid, above the price) rounds DOWN; a take-profit of a long rounds DOWN,
  of a short UP. The loss at a stop is never larger than planned; a take-profit gives up at most
  one tick of profit.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from execution.errors import OrderRejected

WireSide = Literal["bid", "ask"]  # Pacifica's order sides: bid buys (long), ask sells (short)
TriggerKind = Literal["stop_loss", "take_profit"]


class Rounding(Enum):
    DOWN = ROUND_FLOOR
    UP = ROUND_CEILING


def quantize(value: Decimal, step: Decimal, rounding: Rounding) -> Decimal:
    """`value` as a whole multiple of `step`, rounded DOWN (towards -inf) or UP (towards +inf)."""
    if not (step.is_finite() and step > 0):
        raise ValueError(f"step {step} is not a positive number")
    if not value.is_finite():
        raise ValueError(f"{value} is not a finite number")
    units = (value / step).to_integral_value(rounding=rounding.value)
    return units * step


def wire(value: Decimal) -> str:
    """A decimal string as Pacifica takes it: plain digits, no exponent, no trailing zeros."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def closing_side(position_side: WireSide) -> WireSide:
    """The side that reduces a position of `position_side`."""
    return "ask" if position_side == "bid" else "bid"


class MarketSpec(BaseModel):
    """One perpetual market as GET /info describes it; sizes in base units, order sizes in USD."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    symbol: str
    tick_size: Decimal
    lot_size: Decimal
    min_order_size: Decimal = Decimal(0)  # USD notional
    max_order_size: Decimal | None = None  # USD notional
    max_leverage: int
    instrument_type: str = "perpetual"  # older API revisions list perpetuals only, without this field

    def amount(self, value: Decimal) -> Decimal:
        """`value` rounded DOWN to the lot; an amount that rounds to nothing is refused here."""
        rounded = quantize(value, self.lot_size, Rounding.DOWN)
        if rounded <= 0:
            raise OrderRejected(
                f"pacifica {self.symbol}: amount {wire(value)} is below one lot ({wire(self.lot_size)})"
            )
        return rounded

    def limit_price(self, value: Decimal, side: WireSide) -> Decimal:
        """A limit price on the tick, never worse than asked: a bid rounds DOWN, an ask UP."""
        return self._positive(
            quantize(value, self.tick_size, Rounding.DOWN if side == "bid" else Rounding.UP)
        )

    def trigger_price(self, value: Decimal, side: WireSide, kind: TriggerKind) -> Decimal:
        """A stop price on the tick, moved towards the current price (see the module docstring).

        `side` is the order's (closing) side: ask closes a long, bid closes a short.
        """
        towards_price_is_up = (side == "ask") == (kind == "stop_loss")
        rounding = Rounding.UP if towards_price_is_up else Rounding.DOWN
        return self._positive(quantize(value, self.tick_size, rounding))

    def _positive(self, price: Decimal) -> Decimal:
        if price <= 0:
            raise OrderRejected(f"pacifica {self.symbol}: price {wire(price)} is not positive after rounding")
        return price
