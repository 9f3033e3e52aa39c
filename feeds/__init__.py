"""Market data: sources, normalised types, indicators and the point-in-time MarketState.

Names are re-exported lazily so that importing `feeds.errors` (as the CLI does) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from feeds.errors import (
        BadDataError,
        BadRequestError,
        EmptyDataError,
        ExchangeError,
        FeedError,
        GapError,
        InvalidPriceError,
        LookAheadError,
        MalformedResponseError,
        OrderingError,
        OutOfRangeError,
        SourceError,
        StaleDataError,
        TransientError,
        UnknownSymbolError,
    )
    from feeds.state import MarketState
    from feeds.types import (
        HISTORY_BARS,
        BookLevel,
        Candles,
        FundingRate,
        MarketData,
        OpenInterest,
        OrderBook,
        Timeframe,
    )

_HOMES = {
    "feeds.errors": [
        "BadDataError",
        "BadRequestError",
        "EmptyDataError",
        "ExchangeError",
        "FeedError",
        "GapError",
        "InvalidPriceError",
        "LookAheadError",
        "MalformedResponseError",
        "OrderingError",
        "OutOfRangeError",
        "SourceError",
        "StaleDataError",
        "TransientError",
        "UnknownSymbolError",
    ],
    "feeds.state": ["MarketState"],
    "feeds.types": [
        "HISTORY_BARS",
        "BookLevel",
        "Candles",
        "FundingRate",
        "MarketData",
        "OpenInterest",
        "OrderBook",
        "Timeframe",
    ],
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "HISTORY_BARS",
    "BadDataError",
    "BadRequestError",
    "BookLevel",
    "Candles",
    "EmptyDataError",
    "ExchangeError",
    "FeedError",
    "FundingRate",
    "GapError",
    "InvalidPriceError",
    "LookAheadError",
    "MalformedResponseError",
    "MarketData",
    "MarketState",
    "OpenInterest",
    "OrderBook",
    "OrderingError",
    "OutOfRangeError",
    "SourceError",
    "StaleDataError",
    "Timeframe",
    "TransientError",
    "UnknownSymbolError",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'feeds' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
