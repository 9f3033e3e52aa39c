"""Anonymized MarketStates for replays over data a model may remember (`--anonymize`).

What changes, and why each choice:

- symbol -> a neutral name ("ASSET_A", "ASSET_B", ... "ASSET_Z", "ASSET_AA", ...), in the order
  the symbols were given, so the name says nothing about the coin.
- timestamp -> relative time. A MarketState timestamp must be an aware datetime, so it becomes
  1970-01-01T00:00:00Z + the time elapsed since the window's origin: "1970-01-03T05:00:00Z"
  reads as "2 days 5 hours into the window". Hours and minutes are kept when the origin is a
  UTC midnight (`Anonymizer.from_first_states` floors it to one), so funding hours and
  sessions still line up; the weekday and the real date are gone. A state before the origin
  is refused: it would mean the window was set up wrong.
- prices are rebased so that the symbol's first price of the window is 100: every field in
  price units is multiplied by k = 100 / base_price (price.current, the EMAs, ATR, MACD value,
  signal and histogram, closes). The same k for the whole window: the same base on every call.
- USD amounts (volume.usd_24h, open_interest.current_usd, orderbook bid/ask depth) are
  multiplied by k too: they become what the same number of coins is worth at the rebased
  price, so notional/price relations hold and a $40 B BTC volume no longer names the coin.
  Base-unit amounts (open_interest.current_base) are left as they are: rebasing the price does
  not change how many coins there are (a coin count hints at a coin's supply, nothing more).
- percentages, ratios and rates are unchanged: *_pct, vs_avg_7d, funding (fraction per hour),
  RSI, obv_trend, imbalance, regime, missing; so is `source` (it names a venue, not a coin or
  a date).

A model's answer needs no translating back: stops and targets are fractions of the entry
price, which rebasing does not change; only `Ballot.symbol` carries the alias
(`Anonymizer.real_symbol`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from feeds.state import Macd, MarketState, OpenInterestState, OrderBookState, TimeframeIndicators, VolumeState
from feeds.types import DAY_MS

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def neutral_name(index: int) -> str:
    """ASSET_A for 0, ..., ASSET_Z for 25, ASSET_AA for 26 (bijective base 26, like spreadsheet columns)."""
    if index < 0:
        raise ValueError("index must not be negative")
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return f"ASSET_{letters}"


def anonymize(state: MarketState, *, alias: str, origin_ms: int, base_price: float) -> MarketState:
    """`state` with its symbol replaced, its time made relative to `origin_ms`, prices rebased to 100."""
    if not base_price > 0:
        raise ValueError(f"base_price must be positive (got {base_price})")
    elapsed_ms = _epoch_ms(state.timestamp) - origin_ms
    if elapsed_ms < 0:
        raise ValueError(f"state at {state.timestamp:%Y-%m-%dT%H:%M:%SZ} is before the window origin")
    k = 100.0 / base_price
    return state.model_copy(
        update={
            "symbol": alias,
            "timestamp": EPOCH + timedelta(milliseconds=elapsed_ms),
            "price": state.price.model_copy(update={"current": state.price.current * k}),
            "volume": _volume(state.volume, k),
            "open_interest": _open_interest(state.open_interest, k),
            "indicators": {tf: _indicators(ind, k) for tf, ind in state.indicators.items()},
            "orderbook": _orderbook(state.orderbook, k),
        }
    )


class Anonymizer:
    """One window's anonymization: the same alias, origin and base price on every state of a backtest."""

    def __init__(self, origin_ms: int, base_prices: Mapping[str, float]) -> None:
        bad = {s: p for s, p in base_prices.items() if not p > 0}
        if bad:
            raise ValueError(f"base prices must be positive: {bad}")
        self.origin_ms = origin_ms
        self._base = dict(base_prices)
        self._alias = {symbol: neutral_name(i) for i, symbol in enumerate(base_prices)}
        self._real = {alias: symbol for symbol, alias in self._alias.items()}

    @classmethod
    def from_first_states(cls, states: Iterable[MarketState]) -> Anonymizer:
        """Bases from each symbol's first state; origin: the UTC midnight on or before the earliest one."""
        base: dict[str, float] = {}
        earliest: int | None = None
        for state in states:
            base.setdefault(state.symbol, state.price.current)
            ts = _epoch_ms(state.timestamp)
            earliest = ts if earliest is None else min(earliest, ts)
        if earliest is None:
            raise ValueError("from_first_states needs at least one state")
        return cls(earliest - earliest % DAY_MS, base)

    def alias(self, symbol: str) -> str:
        return self._alias[symbol]

    def real_symbol(self, alias: str) -> str:
        return self._real[alias]

    def rebase_price(self, symbol: str, price: float) -> float:
        """A price of `symbol` (e.g. an open position's entry, for the prompt) on the rebased scale."""
        return price * 100.0 / self._base[symbol]

    def relative_ms(self, ts_ms: int) -> int:
        """A real time as anonymized epoch ms (1970 + elapsed since the origin)."""
        return ts_ms - self.origin_ms

    def state(self, state: MarketState) -> MarketState:
        """The anonymized state; KeyError for a symbol the window was not set up with."""
        symbol = state.symbol
        return anonymize(
            state, alias=self._alias[symbol], origin_ms=self.origin_ms, base_price=self._base[symbol]
        )


def _epoch_ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def _volume(volume: VolumeState | None, k: float) -> VolumeState | None:
    return None if volume is None else volume.model_copy(update={"usd_24h": volume.usd_24h * k})


def _open_interest(oi: OpenInterestState | None, k: float) -> OpenInterestState | None:
    return None if oi is None else oi.model_copy(update={"current_usd": oi.current_usd * k})


def _orderbook(book: OrderBookState | None, k: float) -> OrderBookState | None:
    if book is None:
        return None
    return book.model_copy(
        update={"bid_depth_usd": book.bid_depth_usd * k, "ask_depth_usd": book.ask_depth_usd * k}
    )


def _indicators(ind: TimeframeIndicators | None, k: float) -> TimeframeIndicators | None:
    if ind is None:
        return None
    macd = ind.macd
    return ind.model_copy(
        update={
            "macd": None
            if macd is None
            else Macd(value=macd.value * k, signal=macd.signal * k, histogram=macd.histogram * k),
            "ema_9": _scaled(ind.ema_9, k),
            "ema_21": _scaled(ind.ema_21, k),
            "ema_50": _scaled(ind.ema_50, k),
            "ema_200": _scaled(ind.ema_200, k),
            "atr_14": _scaled(ind.atr_14, k),
            "closes": [c * k for c in ind.closes],
        }
    )


def _scaled(value: float | None, k: float) -> float | None:
    return None if value is None else value * k
