"""What a source should return from a fake exchange, computed from the bundled data directly."""

from __future__ import annotations

import numpy as np

from feeds.types import HISTORY_BARS, Candles, OrderBook, Timeframe
from tests.fakes import market


def closed_rows(symbol: str, timeframe: Timeframe, at_ms: int) -> list[market.Row]:
    """The HISTORY_BARS newest candles of the fixture data that had closed by `at_ms`."""
    closed = [r for r in market.candles(symbol, timeframe) if r.t + timeframe.ms <= at_ms]
    return closed[-HISTORY_BARS:]


def assert_candles_equal(candles: Candles, rows: list[market.Row]) -> None:
    assert candles.ts_ms.tolist() == [r.t for r in rows]
    for column, values in (
        (candles.open, [r.o for r in rows]),
        (candles.high, [r.h for r in rows]),
        (candles.low, [r.low for r in rows]),
        (candles.close, [r.c for r in rows]),
        (candles.volume, [r.v for r in rows]),
    ):
        np.testing.assert_array_equal(column, np.array([float(v) for v in values]))


def assert_book_equal(book: OrderBook | None, symbol: str, at_ms: int, depth: int = 20) -> None:
    bids, asks = market.book(symbol, at_ms, depth)
    assert book is not None
    assert [(b.price, b.size) for b in book.bids] == [(float(p), float(s)) for p, s in bids]
    assert [(a.price, a.size) for a in book.asks] == [(float(p), float(s)) for p, s in asks]


def hourly_funding(symbol: str, since_ms: int, at_ms: int, offset_ms: int) -> list[tuple[int, float]]:
    """(ts, rate per hour) in [since_ms, at_ms] of an hourly venue printing `offset_ms` after the hour.

    The fakes spread each 8 h Binance print over its eight hours (market.funding_hourly).
    """
    return [
        (ts + offset_ms, float(rate))
        for ts, rate in market.funding_hourly(symbol)
        if since_ms <= ts + offset_ms <= at_ms
    ]
