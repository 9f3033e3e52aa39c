"""PrecomputedStates: a replay symbol's MarketState at any moment, every per-bar value computed once.

`build_market_state(replay.snapshot(symbol, at_ms))` runs `ta` over 4 x 1,500 bars at each call
(~15 ms): a backtest of 52,000 steps would take 13 minutes. Here every indicator series is
computed once over each timeframe's whole history (`feeds._timeframe_columns`), and
`state_at(at_ms)` only finds the newest bar closed by `at_ms` in each timeframe, reads the values
stored for it, and validates the same MarketState (tens of microseconds).

Point in time as in the replay source: only candles closed at or before `at_ms`, only prints
stamped at or before it; the staleness rules of `ReplaySource.snapshot` (a timeframe whose data
ended over two intervals ago is left out, so are prints older than two of their intervals) and of
`build_market_state` (funding older than 12 h, open interest older than 2 h) are applied as they
are there, and the funding and open-interest blocks are computed by the builder's own functions.

Where the two paths may differ (everything else is bit-identical; `tests/test_precomputed.py`
predicts each difference below and checks it to 1e-12 of the price):
- EMA 200 of a timeframe with more than HISTORY_BARS bars closed. `ta` seeds an EMA with the
  first close it is given: the builder's first of 1,500 bars, here the first of the history. The
  seed error then decays by (1 - alpha) a bar, to (199/201)^1499 = 3.1e-7 of it, so the two differ
  by 3.1e-7 x (close - converged EMA) at the builder's first bar: up to 1.5e-7 of the EMA on the
  bundled data (median 3e-9 on 15m, 3e-8 on 4h). This module's value is the converged one (what
  TA-Lib gives). For RSI, MACD and the shorter EMAs the factor is below 1e-25, under rounding:
  they come out bit-identical on the bundled data (the test allows 1e-12).
- ATR 14 of a timeframe with more than 301 bars (400 for the regime timeframe): the builder
  runs it on those last bars only, so its seed error has decayed by (13/14)^287 = 5.8e-10
  ((13/14)^386 = 3.6e-13): up to 2.4e-9 of the ATR on the bundled data (median 5e-11).
- The regime label, only on a knife edge: EMA 50 within ~1e-7 of EMA 200, or the last ATR %
  within ~1e-9 of 1.5 x its median (equal at every state the tests compare).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Generic, TypeVar

from pydantic import BaseModel

from feeds._timeframe_columns import TimeframeColumns, timeframe_columns
from feeds.build import STALE_INTERVALS, funding_state, null_paths, open_interest_state
from feeds.errors import EmptyDataError, OutOfRangeError
from feeds.regime import REGIME_TIMEFRAMES
from feeds.sources._replay_files import Prints, iso
from feeds.sources.replay import ReplayHistory, ReplaySource
from feeds.state import MarketState, Regime
from feeds.types import DAY_MS, HISTORY_BARS, Timeframe

__all__ = ["PrecomputedStates"]

T = TypeVar("T")

# Schema order, with the names: iterating the enum class and reading `.value` are slow.
_TIMEFRAMES = tuple((tf, tf.value) for tf in Timeframe)

# The longest look-back of funding_state (24 h averages) and open_interest_state (24 h change).
_PRINTS_LOOKBACK_MS = DAY_MS


class PrecomputedStates:
    """Every MarketState of one replay symbol: `state_at(at_ms)` equals `build_market_state(snapshot)`.

    Construction computes the per-bar columns of every timeframe (about 0.3 s for the bundled BTC:
    26,000 15m bars and the other timeframes); after that only a small cache of the indicator
    fields last read changes, and each `state_at` returns a new state that shares nothing
    mutable with another.
    """

    def __init__(self, history: ReplayHistory) -> None:
        self.source = history.source
        self.symbol = history.symbol
        self.first_ms = history.first_ms
        self.last_ms = history.last_ms
        self.end_ms = history.end_ms
        finest_first = sorted(history.candles.items(), key=lambda item: item[0].ms)
        self._columns = {tf: timeframe_columns(c) for tf, c in finest_first if len(c)}
        self._funding = _PrintIndex(history.funding)
        self._open_interest = _PrintIndex(history.open_interest)
        self._last_indicators: dict[Timeframe, tuple[int, dict[str, object], list[str]]] = {}
        # (timeframe, first close, bar length, bars) of each timeframe with bars, finest first.
        self._bar_grid = [
            (tf, c.first_close_ms, tf.ms, len(c.close)) for tf, c in self._columns.items() if c.close
        ]

    @classmethod
    def from_replay(cls, source: ReplaySource, symbol: str) -> PrecomputedStates:
        """Precompute `symbol` of `source` (its files are read once, shared with the source)."""
        return cls(source.history(symbol))

    def state_at(self, at_ms: int) -> MarketState:
        """The MarketState of the symbol at `at_ms`, from what was known then."""
        if not self.first_ms <= at_ms <= self.end_ms:
            raise OutOfRangeError(
                f"{self.symbol}: {iso(at_ms)} is outside the replay data, which covers"
                f" {iso(self.first_ms)} -> {iso(self.last_ms)} (snapshots up to {iso(self.end_ms)})"
            )
        bars = self._newest_bars(at_ms)
        if not bars:
            raise EmptyDataError(f"{self.symbol}: no candles at {iso(at_ms)}")
        finest_tf, i = next(iter(bars.items()))
        finest = self._columns[finest_tf]
        indicators, indicator_nulls = self._indicators(bars)
        # Keys in schema order: `missing` lists the null ones in that order, as the builder does.
        fields: dict[str, object] = {
            "symbol": self.symbol,
            "timestamp": datetime.fromtimestamp(at_ms / 1000, tz=UTC),
            "source": self.source,
            "price": {
                "current": finest.close[i],
                "change_1h_pct": finest.change_1h_pct[i],
                "change_24h_pct": finest.change_24h_pct[i],
            },
            "volume": _volume_at(finest, i),
            "funding": funding_state(self._funding.recent(at_ms, at_ms - _PRINTS_LOOKBACK_MS), at_ms),
            "open_interest": open_interest_state(self._open_interest.recent_to_latest(at_ms), at_ms),
            "indicators": indicators,
            "orderbook": None,  # replay has no order book
            "regime": self._regime(bars),
        }
        fields["missing"] = _null_paths(fields, indicator_nulls)
        return MarketState.model_validate(fields)

    def _indicators(self, bars: Mapping[Timeframe, int]) -> tuple[dict[str, object], list[str]]:
        """The `indicators` fields of each timeframe, and their null paths in schema order.

        A timeframe's fields change once a bar (a 1d bar lasts 96 steps of 15m): they are kept
        for the bar last asked. Validation copies them into the state, so the cached dict (and
        its `closes` list) never reaches a caller.
        """
        indicators: dict[str, object] = {}
        nulls: list[str] = []
        for tf, name in _TIMEFRAMES:
            bar = bars.get(tf)
            if bar is None:
                indicators[name] = None
                nulls.append(f"indicators.{name}")
                continue
            cached = self._last_indicators.get(tf)
            if cached is None or cached[0] != bar:
                values = self._columns[tf].indicators_at(bar)
                paths: list[str] = []
                _nested_null_paths(values, f"indicators.{name}.", paths)
                cached = self._last_indicators[tf] = (bar, values, paths)
            indicators[name] = cached[1]
            nulls += cached[2]
        return indicators, nulls

    def _newest_bars(self, at_ms: int) -> dict[Timeframe, int]:
        """Newest bar closed by `at_ms` of each timeframe snapshot() would give, finest first."""
        bars: dict[Timeframe, int] = {}
        for tf, first_close_ms, bar_ms, count in self._bar_grid:
            if at_ms < first_close_ms:
                continue
            last = min(count, (at_ms - first_close_ms) // bar_ms + 1) - 1  # TimeframeColumns.closed_bars
            # ReplaySource leaves a timeframe out once its data ended over two intervals ago.
            if at_ms - (first_close_ms + last * bar_ms) <= STALE_INTERVALS * bar_ms:
                bars[tf] = last
        return bars

    def _regime(self, bars: Mapping[Timeframe, int]) -> Regime:
        """`classify_regime`: the first of REGIME_TIMEFRAMES with an opinion, else "ranging"."""
        for tf in REGIME_TIMEFRAMES:
            if tf in bars:
                regime = self._columns[tf].regime[bars[tf]]
                if regime is not None:
                    return regime
        return "ranging"


def _volume_at(finest: TimeframeColumns, i: int) -> dict[str, float | None] | None:
    usd_24h = finest.usd_24h[i]
    return None if usd_24h is None else {"usd_24h": usd_24h, "vs_avg_7d": finest.vs_avg_7d[i]}


class _PrintIndex(Generic[T]):
    """Funding or open-interest prints as `ReplaySource.snapshot` gives them at any moment."""

    def __init__(self, prints: Prints[T]) -> None:
        self._ts: list[int] = prints.ts_ms.tolist()
        self._fresh_ms: list[int] = prints.fresh_ms.tolist()
        self._items = prints.items

    def recent(self, at_ms: int, since_ms: int) -> Sequence[T]:
        """The prints snapshot() gives at `at_ms`, from the one in effect at `since_ms` on.

        The builder's functions read nothing older than the print in effect at the start of their
        longest window, so they give the same result on this tail as on the whole of what
        snapshot() gives (at most HISTORY_BARS prints, none if the latest one is stale).
        """
        return self._tail(self._known(at_ms), since_ms)

    def recent_to_latest(self, at_ms: int) -> Sequence[T]:
        """`recent` with the look-back measured from the latest print (open-interest changes)."""
        end = self._known(at_ms)
        return self._tail(end, self._ts[end - 1] - _PRINTS_LOOKBACK_MS) if end else ()

    def _tail(self, end: int, since_ms: int) -> Sequence[T]:
        first = max(end - HISTORY_BARS, bisect_right(self._ts, since_ms, 0, end) - 1, 0)
        return self._items[first:end]

    def _known(self, at_ms: int) -> int:
        """How many prints are stamped by `at_ms`; 0 if the latest is stale (`Prints.known_at`)."""
        end = bisect_right(self._ts, at_ms)
        if end and at_ms - self._ts[end - 1] > self._fresh_ms[end - 1]:
            return 0
        return end


def _null_paths(fields: Mapping[str, object], indicator_nulls: Sequence[str]) -> list[str]:
    """`build.null_paths` of the state these fields validate to, read from the fields themselves
    (those of the indicators given: `PrecomputedStates._indicators` keeps them per bar)."""
    paths: list[str] = []
    for name, value in fields.items():
        if name == "indicators":
            paths += indicator_nulls
        elif value is None:
            paths.append(name)
        elif type(value) is dict:
            _nested_null_paths(value, name + ".", paths)
        elif isinstance(value, BaseModel):  # funding and open interest, made by the builder
            values = vars(value)  # its fields, in schema order
            if any(isinstance(v, BaseModel | dict) for v in values.values()):
                paths.extend(null_paths(value, name + "."))
            else:  # numbers and None only, as these two are: what null_paths would find
                paths += [f"{name}.{field}" for field, v in values.items() if v is None]
    return paths


def _nested_null_paths(fields: dict[str, object], prefix: str, paths: list[str]) -> None:
    # Below the top level the fields hold only numbers, lists, None and dicts: `type` is cheaper
    # than isinstance, which goes through the ABC machinery, and this runs at every state.
    for name, value in fields.items():
        if value is None:
            paths.append(prefix + name)
        elif type(value) is dict:
            _nested_null_paths(value, prefix + name + ".", paths)
