"""Prices of the paper venue: slipped fills, walks down an order book, the path of a candle.

Pure functions over Decimal. Every cash flow (fee, realized PnL, funding) is rounded to USDC's
six decimals, so balances add up exactly and look like Pacifica's ("2000.000000").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from execution.markets import MarketSpec, Rounding, WireSide, quantize
from feeds.types import BookLevel

ZERO = Decimal(0)
USDC = Decimal("0.000001")

Level = tuple[Decimal, Decimal]  # (price, size in base units)


def money(value: Decimal) -> Decimal:
    """`value` in whole USDC units (6 decimals), half to even."""
    return value.quantize(USDC, rounding=ROUND_HALF_EVEN)


def slipped(price: Decimal, side: WireSide, slippage: Decimal, spec: MarketSpec) -> Decimal:
    """A taker's fill price: `price` moved against it by `slippage` (a fraction), on the tick.

    The tick rounding also goes against the taker (a buy UP, a sell DOWN): a modelled price is
    never better than a real book, whose prices sit on the tick.
    """
    if side == "bid":
        return quantize(price * (1 + slippage), spec.tick_size, Rounding.UP)
    return max(quantize(price * (1 - slippage), spec.tick_size, Rounding.DOWN), spec.tick_size)


def worst_price(mark: Decimal, side: WireSide, slippage_percent: Decimal) -> Decimal:
    """The worst fill a market order accepts: the mark +/- its slippage_percent (0.5 = 0.5 %)."""
    tolerance = slippage_percent / 100
    return mark * (1 + tolerance) if side == "bid" else mark * (1 - tolerance)


def acceptable(price: Decimal, side: WireSide, worst: Decimal) -> bool:
    return price <= worst if side == "bid" else price >= worst


@dataclass(frozen=True)
class Book:
    """One market's order book snapshot in Decimal: bids descending, asks ascending."""

    ts_ms: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]

    @classmethod
    def from_levels(cls, ts_ms: int, bids: Sequence[BookLevel], asks: Sequence[BookLevel]) -> Book:
        # str() of a float is its shortest round-tripping text: 0.1 stays "0.1", not 0.1000000000000000055.
        def levels(side: Sequence[BookLevel]) -> tuple[Level, ...]:
            return tuple((Decimal(str(lv.price)), Decimal(str(lv.size))) for lv in side if lv.size > 0)

        book = cls(ts_ms, levels(bids), levels(asks))
        _check_side(book.bids, descending=True)
        _check_side(book.asks, descending=False)
        return book

    def side_taken_by(self, side: WireSide) -> tuple[Level, ...]:
        """The levels a taker of `side` trades against: a buy lifts the asks, a sell hits the bids."""
        return self.asks if side == "bid" else self.bids

    def without(self, side: WireSide, rest: tuple[Level, ...]) -> Book:
        """This book after a taker of `side` consumed everything but `rest` of its levels."""
        return Book(self.ts_ms, self.bids, rest) if side == "bid" else Book(self.ts_ms, rest, self.asks)


def _check_side(levels: tuple[Level, ...], *, descending: bool) -> None:
    # A crossed or unsorted book would be walked in the wrong order: refuse it where it enters.
    prices = [price for price, _ in levels]
    if not all(p.is_finite() and p > 0 for p in prices) or prices != sorted(prices, reverse=descending):
        order = "descending" if descending else "ascending"
        raise ValueError(f"order book side is not positive prices in {order} order: {prices[:5]}")


@dataclass(frozen=True)
class Walk:
    """What a walk down the book filled: `amount` for `notional` USD; `rest` is the levels left."""

    amount: Decimal
    notional: Decimal
    rest: tuple[Level, ...]


def walk_book(levels: Sequence[Level], amount: Decimal, worst: Decimal, side: WireSide, lot: Decimal) -> Walk:
    """Take `amount` from `levels` (best first), level by level, none beyond `worst`.

    Fills a whole number of lots; a book too thin within `worst` fills only what it holds.
    """
    usable: list[Level] = []
    for level in levels:
        if not acceptable(level[0], side, worst):
            break
        usable.append(level)
    depth = sum((size for _, size in usable), ZERO)
    wanted = quantize(min(amount, depth), lot, Rounding.DOWN)
    left, notional = wanted, ZERO
    rest: list[Level] = []
    for price, size in levels:
        take = min(size, left)
        left -= take
        notional += take * price
        if size > take:
            rest.append((price, size - take))
    return Walk(wanted, notional, tuple(rest))


def candle_path(
    open_: Decimal, high: Decimal, low: Decimal, close: Decimal, *, low_first: bool
) -> tuple[Decimal, ...]:
    """The prices a candle is assumed to pass through, in order: open, extremes, close."""
    extremes = (low, high) if low_first else (high, low)
    return (open_, *extremes, close)
