"""Errors raised by feeds, grouped by remedy.

FeedError                       base; `str(err)` is one line naming the problem
├── BadRequestError             the caller asked for something that cannot exist; fix the input
│   ├── UnknownSymbolError      the source has no such market
│   └── OutOfRangeError         the requested time lies outside the data
├── BadDataError                the data itself is unusable; never build a snapshot from it
│   ├── InvalidPriceError       NaN, infinite, zero or negative price / volume
│   ├── OrderingError           timestamps out of order or duplicated
│   ├── GapError                a candle is missing inside the window
│   ├── StaleDataError          the last closed candle is older than two intervals
│   ├── LookAheadError          data stamped after the snapshot time (point-in-time breach)
│   └── EmptyDataError          no candles at all: nothing to build a snapshot from
└── SourceError                 the exchange could not answer usefully
    ├── ExchangeError           the exchange answered with an error envelope (final)
    ├── MalformedResponseError  the body does not have the documented shape (final)
    └── TransientError          429, 5xx, timeout, connection error (retried, then raised)
"""

from __future__ import annotations


class FeedError(Exception):
    """Base of every error raised by `feeds`."""


class BadRequestError(FeedError):
    """The request cannot be served: unknown market, time outside the data."""


class UnknownSymbolError(BadRequestError):
    """The source has no perpetual market of that symbol."""


class OutOfRangeError(BadRequestError):
    """The requested time lies outside what the source holds."""


class BadDataError(FeedError):
    """The data is corrupt; corrupt data is worse than no data."""


class InvalidPriceError(BadDataError):
    """A price or volume is NaN, infinite, zero or negative."""


class OrderingError(BadDataError):
    """Timestamps are out of order or duplicated."""


class GapError(BadDataError):
    """A candle is missing inside the window."""


class StaleDataError(BadDataError):
    """The newest closed candle is older than two intervals."""


class LookAheadError(BadDataError):
    """A candle closes, or a print is stamped, after the snapshot time: it could not be known then."""


class EmptyDataError(BadDataError):
    """There are no candles at all, so there is no price to build a snapshot from."""


class SourceError(FeedError):
    """The exchange could not give a usable answer."""


class ExchangeError(SourceError):
    """The exchange answered with an error envelope."""


class MalformedResponseError(SourceError):
    """The response body does not have the documented shape."""


class TransientError(SourceError):
    """A failure worth retrying: 429, 5xx, timeout, connection error."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
