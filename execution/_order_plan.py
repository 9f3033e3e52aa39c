"""From an OrderIntent (floats) to what is sent (Decimal, on the market's lot and tick).

This is the one place a float of the risk engine becomes a Decimal (`dec`), and every amount and
price computed here is rounded by execution/markets.py, so the journal records exactly what the
venue is sent (the venues round again; rounding a rounded value changes nothing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from execution.markets import MarketSpec, Rounding, WireSide, closing_side, quantize
from execution.types import OrderIntent, Side

ZERO = Decimal(0)


def dec(value: float) -> Decimal:
    """A float as a Decimal through its shortest repr (0.1 -> Decimal("0.1"), not 0.1000000000000000055)."""
    if not math.isfinite(value):
        raise ValueError(f"{value} is not a finite number")
    return Decimal(repr(value))


def wire_side(side: Side) -> WireSide:
    """Pacifica's order side of a direction: LONG buys (bid), SHORT sells (ask)."""
    return "bid" if side is Side.LONG else "ask"


def side_of(wire: WireSide) -> Side:
    return Side.LONG if wire == "bid" else Side.SHORT


@dataclass(frozen=True)
class Rung:
    """One take-profit rung as sent: its leg name, trigger price and amount."""

    leg: str
    price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class EntryPlan:
    """An entry intent on the market's lot and tick."""

    symbol: str
    side: WireSide
    amount: Decimal
    leverage: int
    stop_price: Decimal
    targets: tuple[tuple[Decimal, float], ...]  # (trigger price, fraction of the position)

    @property
    def closing(self) -> WireSide:
        return closing_side(self.side)


def plan_entry(intent: OrderIntent, spec: MarketSpec) -> EntryPlan:
    """The entry's amount, leverage, stop and targets; OrderRejected when the amount is below one lot."""
    if intent.stop_loss_price is None or intent.leverage is None:
        raise ValueError(f"{intent.decision_id}: an entry needs a stop-loss and a leverage")
    side = wire_side(intent.side)
    closing = closing_side(side)
    targets = tuple(
        (spec.trigger_price(dec(r.price), closing, "take_profit"), r.fraction) for r in intent.take_profit
    )
    return EntryPlan(
        symbol=intent.symbol,
        side=side,
        amount=spec.amount(dec(intent.size_base)),
        leverage=min(intent.leverage, spec.max_leverage),
        stop_price=spec.trigger_price(dec(intent.stop_loss_price), closing, "stop_loss"),
        targets=targets,
    )


def ladder(plan: EntryPlan, spec: MarketSpec, filled: Decimal) -> list[Rung]:
    """The rungs for `filled` (all of it, no dust): each rung's amount is the lot-rounded cumulative
    share minus the previous one, and the last rung takes whatever is left.

    A rung that rounds to nothing is dropped; its share moves to the next rung by construction.
    """
    rungs: list[Rung] = []
    placed, cumulative = ZERO, 0.0
    for i, (price, fraction) in enumerate(plan.targets, start=1):
        cumulative += fraction
        last = i == len(plan.targets)
        upto = filled if last else quantize(filled * dec(min(cumulative, 1.0)), spec.lot_size, Rounding.DOWN)
        amount = upto - placed
        if amount > 0:
            rungs.append(Rung(f"tp{i}", price, amount))
            placed = upto
    return rungs


def stop_of(intent: OrderIntent, spec: MarketSpec) -> Decimal | None:
    """An entry intent's stop price on the tick; None for an exit."""
    if intent.reduce_only or intent.stop_loss_price is None:
        return None
    closing = closing_side(wire_side(intent.side))
    return spec.trigger_price(dec(intent.stop_loss_price), closing, "stop_loss")


def default_stop(spec: MarketSpec, side: WireSide, entry_price: Decimal, max_stop_loss: float) -> Decimal:
    """The widest stop the limits allow, for a position whose own stop is not known."""
    sign = 1 if side == "bid" else -1
    stop = entry_price * (1 - sign * dec(max_stop_loss))
    return spec.trigger_price(stop, closing_side(side), "stop_loss")
