"""ReplaySource: point-in-time market data read from files (the bundled slice or the shared data set).

Layout (feeds/data/README.md), every file `.csv` or `.csv.gz`, times in UTC epoch ms:

    candles/<venue>/{SYM}-{TF}.csv          ts_ms (open time), open, high, low, close, volume (base)
    funding/<venue>/{SYM}.csv               ts_ms, rate (per funding interval), interval_h
    open-interest/<venue>/{SYM}-1h.csv      ts_ms, open_interest (base), open_interest_usd

A symbol exists if it has at least one candle file.

Timeframes. 15m, 1h, 4h and 1d are built finest first. Each is its own file if there is one,
extended after the file's last candle with candles resampled from the nearest finer timeframe
already built (itself a file extended the same way); with no file it is wholly resampled. So the
bundled BTC has 1h = 1h file + the hours 15m adds after it, 4h = 4h file (ends 2026-05-06) + 4h
resampled from that 1h, and 1d = 1d resampled from that 4h. Where a file and finer data overlap the
file wins (they are not cross-checked); nothing is back-filled before a file's first candle; an
extension that does not join its file without a gap raises GapError.

Point in time. `market_data(symbol, at_ms)` holds the candles with close time (open + interval)
<= at_ms, up to HISTORY_BARS per timeframe, and the funding and open-interest prints stamped
<= at_ms (up to HISTORY_BARS of each). Resampling whole files once is the same as resampling what
was known at at_ms: only complete buckets exist, and a bucket closes when its last bar closes.
Funding rates are per hour (rate / interval_h). Replay has no order book and no mark price.

Staleness, never invention. A timeframe whose last candle closed more than two intervals before
at_ms (its data ended) is left out, and so are funding or open interest whose latest print is older
than two of its intervals; `MarketData.notes` says what was left out and why.

Range. Snapshots exist from the first close of any timeframe to the last close plus two intervals
of the finest timeframe that closes last; outside, OutOfRangeError. `coverage()` gives
(first close, last close).

Files are read once per symbol, on first use, and kept in memory: a snapshot is a few binary
searches and array views.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from feeds.errors import BadDataError, OutOfRangeError, UnknownSymbolError
from feeds.resample import resample
from feeds.sources._replay_files import (
    Prints,
    SymbolFiles,
    index_files,
    iso,
    read_candles,
    read_funding,
    read_open_interest,
)
from feeds.types import HISTORY_BARS, Candles, FundingRate, IntArray, MarketData, OpenInterest, Timeframe

__all__ = ["ReplayHistory", "ReplaySource", "build_timeframes", "default_data_dir"]

_FINEST_FIRST = (Timeframe.M15, Timeframe.H1, Timeframe.H4, Timeframe.D1)


def default_data_dir() -> Path:
    """The replay slice shipped inside the package (feeds/data), wherever the package is installed."""
    return Path(__file__).resolve().parent.parent / "data"


class ReplaySource:
    """A `Source` that replays files: `market_data` returns exactly what was known at `at_ms`."""

    name = "replay"

    def __init__(self, data_dir: Path, venue: str = "binance-usdm") -> None:
        self.venue = venue
        self._data_dir = data_dir
        self._files = index_files(data_dir, venue)
        self._markets: dict[str, _Market] = {}

    def symbols(self) -> list[str]:
        """Symbols with candle files, sorted."""
        return sorted(self._files)

    def coverage(self, symbol: str) -> tuple[int, int]:
        """(first, last) candle close time of `symbol` over all timeframes, epoch ms."""
        market = self._market(symbol)
        return market.first_ms, market.last_ms

    async def market_data(self, symbol: str, at_ms: int) -> MarketData:
        return self.snapshot(symbol, at_ms)

    def snapshot(self, symbol: str, at_ms: int) -> MarketData:
        """`market_data` without the event loop, for backtest loops and tools."""
        market = self._market(symbol)
        if not market.first_ms <= at_ms <= market.end_ms:
            raise OutOfRangeError(
                f"{symbol}: {iso(at_ms)} is outside the replay data, which covers"
                f" {iso(market.first_ms)} -> {iso(market.last_ms)} (snapshots up to {iso(market.end_ms)})"
            )
        candles: dict[Timeframe, Candles] = {}
        notes: list[str | None] = []
        for tf, series in market.series.items():
            known, note = series.known_at(at_ms)
            if known is not None:
                candles[tf] = known
            notes.append(note)
        funding, funding_note = market.funding.known_at(at_ms)
        open_interest, open_interest_note = market.open_interest.known_at(at_ms)
        notes += (funding_note, open_interest_note)
        said = tuple(note for note in notes if note)
        return MarketData(self.name, symbol, at_ms, candles, funding, open_interest, notes=said)

    def history(self, symbol: str) -> ReplayHistory:
        """Everything held for `symbol`, unsliced: what `snapshot` cuts its point-in-time views from.

        For whole-history precomputation (`feeds.precomputed`), so that it reads the very data and
        range `snapshot` does instead of loading the files by rules of its own.
        """
        market = self._market(symbol)
        candles = {tf: s.candles for tf, s in market.series.items()}
        return ReplayHistory(
            self.name,
            symbol,
            candles,
            market.funding,
            market.open_interest,
            market.first_ms,
            market.last_ms,
            market.end_ms,
        )

    async def aclose(self) -> None:
        """Nothing to release: files are read whole and closed at once."""

    def _market(self, symbol: str) -> _Market:
        market = self._markets.get(symbol)
        if market is None:
            files = self._files.get(symbol)
            if files is None:
                raise UnknownSymbolError(
                    f"no replay data for {symbol!r} in {self._data_dir} ({self.venue});"
                    f" available: {', '.join(self.symbols()) or 'none'}"
                )
            market = self._markets[symbol] = _load_market(symbol, files)
        return market


def build_timeframes(own: Mapping[Timeframe, Candles]) -> dict[Timeframe, Candles]:
    """Every timeframe that can be had from the files' candles `own`, by the rule in the docstring."""
    built: dict[Timeframe, Candles] = {}
    for tf in _FINEST_FIRST:
        finer = next((built[f] for f in reversed(_FINEST_FIRST) if f.ms < tf.ms and f in built), None)
        derived = resample(finer, tf) if finer is not None else None
        series = _extend(own.get(tf), derived)
        if series is not None and len(series):
            built[tf] = series
    return built


def _extend(own: Candles | None, derived: Candles | None) -> Candles | None:
    """`own` followed by the candles of `derived` that open after `own` ends."""
    if own is None or not len(own):
        return derived
    if derived is None:
        return own
    start = int(np.searchsorted(derived.ts_ms, own.ts_ms[-1], side="right"))
    if start == len(derived):
        return own
    tail = derived.slice(start, len(derived))
    return Candles.build(
        own.timeframe,
        np.concatenate((own.ts_ms, tail.ts_ms)),
        np.concatenate((own.open, tail.open)),
        np.concatenate((own.high, tail.high)),
        np.concatenate((own.low, tail.low)),
        np.concatenate((own.close, tail.close)),
        np.concatenate((own.volume, tail.volume)),
        what=f"{own.timeframe.value} file extended with resampled candles",
    )


@dataclass(frozen=True)
class ReplayHistory:
    """One symbol's whole replay data; `snapshot(symbol, at_ms)` exists for first_ms <= at_ms <= end_ms."""

    source: str
    symbol: str
    candles: Mapping[Timeframe, Candles]  # every timeframe built, whole, finest first
    funding: Prints[FundingRate]
    open_interest: Prints[OpenInterest]
    first_ms: int  # first candle close of any timeframe
    last_ms: int  # last candle close of any timeframe
    end_ms: int  # last_ms plus two intervals of the finest timeframe that closes last


@dataclass(frozen=True)
class _Series:
    """One timeframe's candles with their close times computed once (Candles.close_ms allocates)."""

    candles: Candles
    close_ms: IntArray

    def known_at(self, at_ms: int) -> tuple[Candles | None, str | None]:
        """Up to HISTORY_BARS candles closed by `at_ms`; none, and why, if the data has ended."""
        end = int(np.searchsorted(self.close_ms, at_ms, side="right"))
        if end == 0:
            return None, None
        last_close = int(self.close_ms[end - 1])
        tf = self.candles.timeframe
        if at_ms - last_close > 2 * tf.ms:
            return None, f"{tf.value} candles: data ends {iso(last_close)}, older than two intervals, omitted"
        return self.candles.slice(max(0, end - HISTORY_BARS), end), None


@dataclass(frozen=True)
class _Market:
    """Everything the files hold for one symbol, and the times snapshots can be taken at."""

    series: dict[Timeframe, _Series]
    funding: Prints[FundingRate]
    open_interest: Prints[OpenInterest]
    first_ms: int
    last_ms: int
    end_ms: int


def _load_market(symbol: str, files: SymbolFiles) -> _Market:
    own = {tf: read_candles(path, tf) for tf, path in files.candles.items()}
    try:
        built = build_timeframes(own)
    except BadDataError as err:
        # Resampling and extending mix files: name them all, the message alone cannot.
        names = ", ".join(str(files.candles[tf]) for tf in _FINEST_FIRST if tf in files.candles)
        raise type(err)(f"{err} (files: {names})") from None
    if not built:
        raise BadDataError(f"{symbol}: its candle files have no rows")
    series = {tf: _Series(c, c.close_ms) for tf, c in built.items()}
    first = min(int(s.close_ms[0]) for s in series.values())
    last = max(int(s.close_ms[-1]) for s in series.values())
    finest_last = min(tf.ms for tf, s in series.items() if int(s.close_ms[-1]) == last)
    funding: Prints[FundingRate] = read_funding(files.funding) if files.funding else Prints.empty("funding")
    open_interest: Prints[OpenInterest] = (
        read_open_interest(files.open_interest) if files.open_interest else Prints.empty("open interest")
    )
    return _Market(series, funding, open_interest, first, last, last + 2 * finest_last)
