"""What the exchange sources share once a body is decoded: shape checks, value checks, candle paging.

Shapes are checked with pydantic (a wrong shape is MalformedResponseError); values are checked
here (a NaN, zero or negative price is InvalidPriceError), because corrupt data is worse than no
data and this is where it enters.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import NamedTuple, TypeVar

from pydantic import TypeAdapter, ValidationError

from feeds.errors import InvalidPriceError, MalformedResponseError, OrderingError, StaleDataError
from feeds.types import HISTORY_BARS, HOUR_MS, BookLevel, Candles, FundingRate, OrderBook, Timeframe

T = TypeVar("T")

# Funding prints kept per snapshot: three days, enough for 24 h averages with room to spare.
FUNDING_LOOKBACK_MS = 72 * HOUR_MS


class Bar(NamedTuple):
    """One candle as an exchange sent it; `close_ms` is exclusive (open time + interval)."""

    ts_ms: int
    close_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float


PageFetcher = Callable[[int, int, int], Awaitable[list[Bar]]]
"""fetch(first_open_ms, last_open_ms, count) -> the bars of that window, ascending."""


def parse(adapter: TypeAdapter[T], value: object, where: str) -> T:
    """Validate a decoded body against a wire shape; a mismatch is MalformedResponseError."""
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(part) for part in first["loc"]) or "top level"
        got = repr(first.get("input"))[:60]
        raise MalformedResponseError(
            f"{where}: unexpected shape at {loc}: {first['msg']} (got {got}; {exc.error_count()} problem(s))"
        ) from None


def positive(value: float, what: str) -> float:
    if not math.isfinite(value) or value <= 0:
        raise InvalidPriceError(f"{what} {value!r} is not a positive number")
    return value


def non_negative(value: float, what: str) -> float:
    if not math.isfinite(value) or value < 0:
        raise InvalidPriceError(f"{what} {value!r} is not a non-negative number")
    return value


def finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise InvalidPriceError(f"{what} {value!r} is not a finite number")
    return value


def last_closed_open_ms(timeframe: Timeframe, at_ms: int) -> int:
    """Open time of the newest candle closed by `at_ms` (candles start on UTC multiples of their span)."""
    return (at_ms - timeframe.ms) // timeframe.ms * timeframe.ms


async def fetch_bars(fetch: PageFetcher, timeframe: Timeframe, at_ms: int, page: int) -> list[Bar]:
    """HISTORY_BARS bars ending at the last closed candle, in windows of `page` bars, newest first.

    An empty window means the market's history starts later, so paging stops there.
    """
    end = last_closed_open_ms(timeframe, at_ms)
    pages: list[list[Bar]] = []
    remaining = HISTORY_BARS
    while remaining > 0:
        count = min(page, remaining)
        start = end - (count - 1) * timeframe.ms
        bars = await fetch(start, end, count)
        if not bars:
            break
        pages.append(bars)
        remaining -= count
        end = start - timeframe.ms
    return [bar for bars in reversed(pages) for bar in bars]


def closed_candles(timeframe: Timeframe, bars: Sequence[Bar], at_ms: int, where: str) -> Candles:
    """Validated candles closed by `at_ms`, at most HISTORY_BARS; the still-open candle is dropped."""
    for bar in bars:
        if bar.close_ms - bar.ts_ms != timeframe.ms:
            raise MalformedResponseError(
                f"{where}: candle at {bar.ts_ms} spans {bar.close_ms - bar.ts_ms} ms, not {timeframe.value}"
            )
    closed = [bar for bar in bars if bar.close_ms <= at_ms]
    columns = list(zip(*closed, strict=True)) if closed else [()] * 7
    ts, _, open_, high, low, close, volume = columns
    candles = Candles.build(timeframe, ts, open_, high, low, close, volume, what=f"{where} {timeframe.value}")
    candles = candles.tail(HISTORY_BARS)
    if len(candles) and at_ms - int(candles.close_ms[-1]) > 2 * timeframe.ms:
        raise StaleDataError(
            f"{where} {timeframe.value}: newest closed candle ended {at_ms - int(candles.close_ms[-1])} ms"
            f" before {at_ms}"
        )
    return candles


def funding_window(prints: Iterable[FundingRate], since_ms: int, at_ms: int, where: str) -> list[FundingRate]:
    """Prints in [since_ms, at_ms], ascending; exchanges disagree on order, so sort here."""
    kept = sorted((p for p in prints if since_ms <= p.ts_ms <= at_ms), key=lambda p: p.ts_ms)
    for p in kept:
        finite(p.rate_per_hour, f"{where}: funding rate at {p.ts_ms}")
    return kept


def order_book(
    ts_ms: int, bids: Iterable[tuple[float, float]], asks: Iterable[tuple[float, float]], where: str
) -> OrderBook:
    """An OrderBook whose prices and sizes are positive, bids descending and asks ascending."""
    sides = []
    for name, levels, sign in (("bid", bids, -1), ("ask", asks, 1)):
        side = tuple(
            BookLevel(positive(p, f"{where}: {name} price"), positive(s, f"{where}: {name} size"))
            for p, s in levels
        )
        if any(sign * (b.price - a.price) <= 0 for a, b in itertools.pairwise(side)):
            order = "descending" if sign < 0 else "ascending"
            raise OrderingError(f"{where}: {name} prices are not strictly {order}")
        sides.append(side)
    return OrderBook(ts_ms=ts_ms, bids=sides[0], asks=sides[1])
