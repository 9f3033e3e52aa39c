"""Real market data for the fake exchanges, read from the bundled files in feeds/data.

Values stay decimal text as the exchange printed it (re-spelled without exponents, the way the
venues send them). Everything is cached: the files are read once per test session.
"""

from __future__ import annotations

import bisect
import csv
import gzip
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import feeds
from feeds.types import DAY_MS, HOUR_MS, Timeframe

DATA = Path(feeds.__file__).parent / "data"

# Inside every bundled series and inside the three weeks of BTC open-interest history.
NOW_MS = int(datetime(2026, 3, 20, 10, 17, 23, 456000, tzinfo=UTC).timestamp() * 1000)

SYMBOLS = ("BTC", "ETH", "SOL")


@dataclass(frozen=True)
class Row:
    """One candle: open time and decimal texts."""

    t: int
    o: str
    h: str
    low: str
    c: str
    v: str


def text(value: str | Decimal) -> str:
    """Decimal text without an exponent ("8.208e-05" -> "0.00008208"), as the exchanges print it."""
    return format(Decimal(value), "f")


def _read(relative: str) -> list[list[str]]:
    path = DATA / relative
    if not path.exists():
        return []
    with gzip.open(path, "rt", newline="") as handle:
        return list(csv.reader(handle))[1:]


@lru_cache
def candles(symbol: str, timeframe: Timeframe) -> tuple[Row, ...]:
    """All bundled candles of a series, ascending; 1d is aggregated from 4h (whole days only)."""
    if timeframe is Timeframe.D1:
        return _daily(candles(symbol, Timeframe.H4))
    rows = _read(f"candles/binance-usdm/{symbol}-{timeframe.value}.csv.gz")
    return tuple(Row(int(r[0]), *(text(x) for x in r[1:6])) for r in rows)


def _daily(four_hourly: tuple[Row, ...]) -> tuple[Row, ...]:
    days: dict[int, list[Row]] = {}
    for row in four_hourly:
        days.setdefault(row.t // DAY_MS * DAY_MS, []).append(row)
    return tuple(
        Row(
            day,
            bars[0].o,
            text(max(Decimal(b.h) for b in bars)),
            text(min(Decimal(b.low) for b in bars)),
            bars[-1].c,
            text(sum((Decimal(b.v) for b in bars), Decimal(0))),
        )
        for day, bars in days.items()
        if len(bars) == 6
    )


def preload() -> None:
    """Read every bundled file now, so that no request of a fake pays for it (and times out)."""
    for symbol in SYMBOLS:
        for timeframe in Timeframe:
            _open_times(symbol, timeframe)
        funding_hourly(symbol)
        open_interest(symbol)


def candles_between(symbol: str, timeframe: Timeframe, first_ms: int, last_ms: int) -> list[Row]:
    """Candles whose open time lies in [first_ms, last_ms]."""
    rows = candles(symbol, timeframe)
    starts = _open_times(symbol, timeframe)
    return list(rows[bisect.bisect_left(starts, first_ms) : bisect.bisect_right(starts, last_ms)])


@lru_cache
def _open_times(symbol: str, timeframe: Timeframe) -> tuple[int, ...]:
    return tuple(row.t for row in candles(symbol, timeframe))


@lru_cache
def funding_8h(symbol: str) -> tuple[tuple[int, str], ...]:
    """Binance funding prints (fundingTime, rate per 8 h), ascending."""
    return tuple((int(r[0]), text(r[1])) for r in _read(f"funding/binance-usdm/{symbol}.csv.gz"))


@lru_cache
def funding_hourly(symbol: str) -> tuple[tuple[int, str], ...]:
    """The 8 h prints as an hourly venue would print them: each hour of the interval pays rate / 8.

    The print at T covers (T - 8 h, T], so it becomes the hours T - 7 h ... T.
    """
    return tuple(
        (ts - k * HOUR_MS, text(Decimal(rate) / 8))
        for ts, rate in funding_8h(symbol)
        for k in range(7, -1, -1)
    )


@lru_cache
def open_interest(symbol: str) -> tuple[tuple[int, str, str], ...]:
    """Hourly OI history (ts, base, usd); BTC only, three weeks of March 2026."""
    return tuple(
        (int(r[0]), text(r[1]), text(Decimal(r[2]).quantize(Decimal("0.00000001"))))
        for r in _read(f"open-interest/binance-usdm/{symbol}-1h.csv.gz")
    )


# No bundled open interest for these: a placeholder of the right magnitude, not market data.
PLACEHOLDER_OI = {"ETH": "2100000.5", "SOL": "9500000.25"}


def open_interest_at(symbol: str, at_ms: int) -> str:
    """Base-unit OI known at `at_ms`: the latest hourly print, else the placeholder."""
    prints = [p for p in open_interest(symbol) if p[0] <= at_ms]
    return prints[-1][1] if prints else PLACEHOLDER_OI.get(symbol, "1000")


def mark(symbol: str, at_ms: int) -> str:
    """The fakes' mark price: the close of the last 1h candle closed by `at_ms`."""
    last_open = (at_ms - HOUR_MS) // HOUR_MS * HOUR_MS
    rows = candles_between(symbol, Timeframe.H1, last_open, last_open)
    return rows[0].c if rows else "1"


def book(symbol: str, at_ms: int, depth: int = 20) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """A synthetic book around the mark (no book is bundled): (bids descending, asks ascending)."""
    centre = Decimal(mark(symbol, at_ms))
    step = (centre / 10000).quantize(Decimal("0.01"))
    bids = [(text(centre - step * (i + 1)), text(Decimal(i + 1) / 4)) for i in range(depth)]
    asks = [(text(centre + step * (i + 1)), text(Decimal(i + 2) / 8)) for i in range(depth)]
    return bids, asks
