"""The one interface every market-data source implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from feeds.types import MarketData


@runtime_checkable
class Source(Protocol):
    """A source of point-in-time market data (an exchange API or replay files).

    `at_ms` is given by the caller's clock (the core never reads the wall clock): live sources
    treat it as "now" and return only candles closed by then; replay returns exactly what was
    known at `at_ms`.
    """

    name: str

    async def market_data(self, symbol: str, at_ms: int) -> MarketData:
        """Candles (up to HISTORY_BARS per timeframe), funding, OI and book of `symbol` at `at_ms`."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
