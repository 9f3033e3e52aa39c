"""Market data: sources, normalised types, indicators and the point-in-time MarketState."""

from feeds.errors import (
    BadDataError,
    BadRequestError,
    ExchangeError,
    FeedError,
    GapError,
    InvalidPriceError,
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

__all__ = [
    "HISTORY_BARS",
    "BadDataError",
    "BadRequestError",
    "BookLevel",
    "Candles",
    "ExchangeError",
    "FeedError",
    "FundingRate",
    "GapError",
    "InvalidPriceError",
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
