"""Normalised market data shared by every source: candles, funding, open interest, order book.

Times are UTC epoch milliseconds. A candle's `ts_ms` is its OPEN time; it closes at
`ts_ms + interval_ms`. Sources hand over closed candles only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from feeds.errors import GapError, InvalidPriceError, OrderingError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


class Timeframe(StrEnum):
    """Candle granularities a MarketState is built from."""

    M15 = "15m"
    H1 = "1h"
    H4 = "4h"
    D1 = "1d"

    @property
    def ms(self) -> int:
        return _TIMEFRAME_MS[self]

    @classmethod
    def parse(cls, text: str) -> Timeframe:
        try:
            return cls(text)
        except ValueError:
            allowed = ", ".join(t.value for t in cls)
            raise ValueError(f"unknown timeframe {text!r} (allowed: {allowed})") from None


_TIMEFRAME_MS = {
    Timeframe.M15: 15 * MINUTE_MS,
    Timeframe.H1: HOUR_MS,
    Timeframe.H4: 4 * HOUR_MS,
    Timeframe.D1: DAY_MS,
}

# Bars kept per timeframe. EMA 200 forgets its seed by (199/201)^n: after 1,500 bars the seed's
# weight is ~3e-7, so indicators agree with a full-history computation to well under 1e-6.
HISTORY_BARS = 1500


@dataclass(frozen=True, eq=False)
class Candles:
    """Closed OHLCV candles of one timeframe, ascending, contiguous, validated on construction.

    Volume is in base units. Use `Candles.build` (validates) rather than the constructor.
    """

    timeframe: Timeframe
    ts_ms: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    @classmethod
    def build(
        cls,
        timeframe: Timeframe,
        ts_ms: Sequence[int] | IntArray,
        open: Sequence[float] | FloatArray,
        high: Sequence[float] | FloatArray,
        low: Sequence[float] | FloatArray,
        close: Sequence[float] | FloatArray,
        volume: Sequence[float] | FloatArray,
        *,
        what: str = "",
    ) -> Candles:
        """Validate and freeze candle columns; `what` names the series in error messages."""
        candles = cls(
            timeframe,
            _frozen(np.asarray(ts_ms, dtype=np.int64)),
            _frozen(np.asarray(open, dtype=np.float64)),
            _frozen(np.asarray(high, dtype=np.float64)),
            _frozen(np.asarray(low, dtype=np.float64)),
            _frozen(np.asarray(close, dtype=np.float64)),
            _frozen(np.asarray(volume, dtype=np.float64)),
        )
        candles.validate(what or f"{timeframe.value} candles")
        return candles

    @classmethod
    def empty(cls, timeframe: Timeframe) -> Candles:
        return cls.build(timeframe, [], [], [], [], [], [])

    def __len__(self) -> int:
        return int(self.ts_ms.shape[0])

    @property
    def close_ms(self) -> IntArray:
        """Close time of every candle (open time + interval)."""
        return self.ts_ms + self.timeframe.ms

    def validate(self, what: str) -> None:
        """Raise a BadDataError naming the first problem found in these candles."""
        n = len(self)
        columns = {"open": self.open, "high": self.high, "low": self.low, "close": self.close}
        for name, column in {**columns, "volume": self.volume}.items():
            if column.shape != (n,):
                raise InvalidPriceError(f"{what}: column {name} has {column.shape[0]} rows, not {n}")
        for name, column in columns.items():
            bad = ~np.isfinite(column) | (column <= 0)
            if bad.any():
                i = int(np.argmax(bad))
                raise InvalidPriceError(
                    f"{what}: {name} price {column[i]!r} at {_iso(self.ts_ms[i])} is not a positive number"
                )
        bad_volume = ~np.isfinite(self.volume) | (self.volume < 0)
        if bad_volume.any():
            i = int(np.argmax(bad_volume))
            raise InvalidPriceError(
                f"{what}: volume {self.volume[i]!r} at {_iso(self.ts_ms[i])} is not a non-negative number"
            )
        if n < 2:
            return
        steps = np.diff(self.ts_ms)
        if (steps <= 0).any():
            i = int(np.argmax(steps <= 0))
            kind = "duplicated" if steps[i] == 0 else "out of order"
            raise OrderingError(f"{what}: candle at {_iso(self.ts_ms[i + 1])} is {kind}")
        if (steps != self.timeframe.ms).any():
            i = int(np.argmax(steps != self.timeframe.ms))
            missing = int(steps[i] // self.timeframe.ms) - 1
            raise GapError(
                f"{what}: {missing} candle(s) missing after {_iso(self.ts_ms[i])}"
                f" (next one at {_iso(self.ts_ms[i + 1])})"
            )

    def closed_by(self, at_ms: int) -> Candles:
        """The candles that had closed at or before `at_ms` (point in time)."""
        end = int(np.searchsorted(self.close_ms, at_ms, side="right"))
        return self.slice(0, end)

    def tail(self, n: int) -> Candles:
        return self.slice(max(0, len(self) - n), len(self))

    def slice(self, start: int, stop: int) -> Candles:
        # Slices of validated contiguous data stay valid: no need to validate again.
        return Candles(
            self.timeframe,
            self.ts_ms[start:stop],
            self.open[start:stop],
            self.high[start:stop],
            self.low[start:stop],
            self.close[start:stop],
            self.volume[start:stop],
        )


@dataclass(frozen=True)
class FundingRate:
    """One funding print, normalised to a rate per hour (0.0000125 = 0.00125 %/h)."""

    ts_ms: int
    rate_per_hour: float


@dataclass(frozen=True)
class OpenInterest:
    """Open interest at one moment, in base units and in USD."""

    ts_ms: int
    base: float
    usd: float


@dataclass(frozen=True)
class BookLevel:
    price: float
    size: float  # base units


@dataclass(frozen=True)
class OrderBook:
    """An order book snapshot; bids descending, asks ascending."""

    ts_ms: int
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]


@dataclass(frozen=True)
class MarketData:
    """Everything one source knows about one market at `at_ms`, nothing after it.

    `candles` holds closed candles per timeframe (ascending, up to HISTORY_BARS each; a timeframe
    the source cannot give is absent). `funding` and `open_interest` are ascending prints at or
    before `at_ms`. `book` and `mark_price` are None when the source has none (replay).
    """

    source: str
    symbol: str
    at_ms: int
    candles: Mapping[Timeframe, Candles]
    funding: Sequence[FundingRate] = ()
    open_interest: Sequence[OpenInterest] = ()
    book: OrderBook | None = None
    mark_price: float | None = None
    notes: tuple[str, ...] = field(default=())


_Scalar = TypeVar("_Scalar", bound=np.generic)


def _frozen(array: npt.NDArray[_Scalar]) -> npt.NDArray[_Scalar]:
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array


def _iso(ts_ms: int | np.integer) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(int(ts_ms) / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
