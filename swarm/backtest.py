"""Backtest: the live Engine on a simulated clock, replay files and a paper venue.

Each step of `interval_ms` the paper venue first receives what happened since the last step (the
finest closed candles, which fire stops and targets by their high and low, and the funding
prints), then the engine runs one cycle at the step's time with states that know nothing later.
"""

from __future__ import annotations

import gc
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from execution.paper import PaperVenue, paper_markets
from execution.types import MarketInfo, PriceHistory
from feeds.precomputed import PrecomputedStates
from feeds.sources.replay import ReplayHistory, ReplaySource
from feeds.state import MarketState
from feeds.types import DAY_MS, HOUR_MS, Candles, Timeframe
from swarm.engine import CycleReport, Engine

CORRELATION_WINDOW_MS = 30 * DAY_MS
_LOOP_GC_THRESHOLDS = (50_000, 50, 1_000)  # defaults (700, 10, 10)


class ReplayFeed:
    """StateFeed over precomputed replay states (point in time, ~40 us a state)."""

    def __init__(self, source: ReplaySource, symbols: Sequence[str]) -> None:
        self.histories: dict[str, ReplayHistory] = {s: source.history(s) for s in symbols}
        self.states = {s: PrecomputedStates(self.histories[s]) for s in symbols}
        self._hourly = {s: _hourly(self.histories[s]) for s in symbols}
        self._history_cache: dict[str, tuple[int, PriceHistory | None]] = {}

    async def state(self, symbol: str, now_ms: int) -> MarketState:
        return self.states[symbol].state_at(now_ms)

    def price_history(self, symbol: str, now_ms: int) -> PriceHistory | None:
        hourly = self._hourly.get(symbol)
        if hourly is None:
            return None
        hour = now_ms - now_ms % HOUR_MS  # hourly closes change once an hour: cache per hour
        cached = self._history_cache.get(symbol)
        if cached is not None and cached[0] == hour:
            return cached[1]
        history = self._history(hourly, now_ms)
        self._history_cache[symbol] = (hour, history)
        return history

    @staticmethod
    def _history(hourly: Candles, now_ms: int) -> PriceHistory | None:
        closed = hourly.closed_by(now_ms)
        recent = closed.tail(CORRELATION_WINDOW_MS // HOUR_MS)
        if len(recent) < 2:
            return None
        end = int(recent.close_ms[-1])
        # Hourly closes share their grid across symbols; the last one is the same hour for all.
        return PriceHistory(interval_ms=HOUR_MS, end_ms=end, closes=tuple(recent.close.tolist()))

    def finest(self, symbol: str) -> Candles:
        candles = self.histories[symbol].candles
        return min((c for c in candles.values() if len(c)), key=lambda c: c.timeframe.ms)


def _hourly(history: ReplayHistory) -> Candles | None:
    return history.candles.get(Timeframe.H1)


def market_infos(symbols: Sequence[str], max_leverage: Mapping[str, int]) -> dict[str, MarketInfo]:
    """Risk-engine market specs; the engine fills in the mark price each cycle."""
    return {
        s: MarketInfo(symbol=s, mark_price=1.0, max_leverage=max_leverage.get(s, 20), min_order_usd=10.0)
        for s in symbols
    }


@dataclass
class EquityCurve:
    """Mark-to-market equity at every step, and whether any position was open then."""

    ts_ms: list[int] = field(default_factory=list)
    equity: list[float] = field(default_factory=list)
    exposed: list[bool] = field(default_factory=list)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.asarray(self.ts_ms), np.asarray(self.equity), np.asarray(self.exposed)


class PaperStepper:
    """Feeds the paper venue the candles and funding between two steps."""

    def __init__(self, venue: PaperVenue, feed: ReplayFeed, symbols: Sequence[str]) -> None:
        self.venue = venue
        # Plain lists: reading a list is cheaper than a numpy array, at every step of a run.
        self._candles = {s: _CandleLists(feed.finest(s)) for s in symbols}
        funding = {s: feed.histories[s].funding for s in symbols}
        self._funding_ts = {s: f.ts_ms.tolist() for s, f in funding.items()}
        self._funding_rates = {
            s: [Decimal(str(p.rate_per_hour)) for p in f.items] for s, f in funding.items()
        }

    def advance(self, from_ms: int, to_ms: int) -> bool:
        """Replay (from_ms, to_ms]; True when the account changed: a stop or target filled, or a
        position paid funding (read at once, a closed trade's funding misses no hour)."""
        venue = self.venue
        fills_before = len(venue.fills())
        paid = False
        for symbol, c in self._candles.items():
            lo = bisect_right(c.close_ms, from_ms)
            for i in range(lo, bisect_right(c.close_ms, to_ms, lo)):
                venue.on_candle(symbol, c.ts_ms[i], c.open[i], c.high[i], c.low[i], c.close[i], c.interval_ms)
            paid = self._settle_funding(symbol, from_ms, to_ms) or paid
        return paid or len(venue.fills()) != fills_before

    def _settle_funding(self, symbol: str, from_ms: int, to_ms: int) -> bool:
        """Each UTC hour that ended in (from_ms, to_ms] pays the rate in effect at its end (the
        latest print at or before it; Binance prints every 8 h a rate we hold per hour) on the
        position held then, at the mark: as Pacifica settles hourly, and as buy_and_hold counts."""
        first_boundary = from_ms - from_ms % HOUR_MS + HOUR_MS
        paid = False
        if first_boundary > to_ms or not self.venue.holds(symbol):  # no position pays nothing
            return paid
        ts = self._funding_ts[symbol]
        rates = self._funding_rates[symbol]
        for boundary in range(first_boundary, to_ms + 1, HOUR_MS):
            i = bisect_right(ts, boundary) - 1
            if i >= 0:  # the hour that ended
                paid = self.venue.apply_funding(symbol, rates[i], boundary - HOUR_MS) != 0 or paid
        return paid


class _CandleLists:
    """A candle series as Python lists (ints and floats), with its close times."""

    def __init__(self, candles: Candles) -> None:
        self.interval_ms = candles.timeframe.ms
        self.ts_ms: list[int] = candles.ts_ms.tolist()
        self.close_ms: list[int] = candles.close_ms.tolist()
        self.open: list[float] = candles.open.tolist()
        self.high: list[float] = candles.high.tolist()
        self.low: list[float] = candles.low.tolist()
        self.close: list[float] = candles.close.tolist()


@dataclass(frozen=True)
class BacktestRun:
    """What the loop produced; the store holds every answer, vote, order and score."""

    cycles: int
    steps: int
    equity: EquityCurve
    reports: tuple[CycleReport, ...]


async def run_loop(
    engine: Engine,
    stepper: PaperStepper,
    start_ms: int,
    end_ms: int,
    interval_ms: int,
    *,
    on_step: Callable[[int], None] | None = None,
    keep_reports: bool = False,
    cycle_prefix: str = "bt",
) -> BacktestRun:
    """Step from `start_ms` to `end_ms`; each step feeds the venue, then runs one engine cycle.

    Cycle ids are "<cycle_prefix>-<step time>": runs side by side (baselines, members alone) log
    under their own prefix, so that a cycle id names one cycle of one run.

    The loop makes millions of short-lived objects and few cycles: the garbage collector's scans
    cost ~10 % of a run at its default thresholds. So what exists before the loop (replay arrays,
    precomputed states, libraries) is frozen out of them, and they run less often meanwhile
    (both are undone afterwards).
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*_LOOP_GC_THRESHOLDS)
    try:
        return await _run_loop(
            engine, stepper, start_ms, end_ms, interval_ms, on_step, keep_reports, cycle_prefix
        )
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


async def _run_loop(
    engine: Engine,
    stepper: PaperStepper,
    start_ms: int,
    end_ms: int,
    interval_ms: int,
    on_step: Callable[[int], None] | None,
    keep_reports: bool,
    cycle_prefix: str,
) -> BacktestRun:
    await engine.start(start_ms)
    curve = EquityCurve()
    reports: list[CycleReport] = []
    previous = start_ms - interval_ms
    cycles = 0
    for now in range(start_ms, end_ms + 1, interval_ms):
        if stepper.advance(previous, now):
            engine.portfolio_changed()
        previous = now
        report = await engine.cycle(now, f"{cycle_prefix}-{now}")
        cycles += 1
        if keep_reports:
            reports.append(report)
        await _mark_equity(stepper.venue, now, curve)
        if on_step is not None:
            on_step(now)
    with engine.timing.stage("store"):
        engine.recorder.flush()
    return BacktestRun(cycles, cycles * len(engine.config.symbols), curve, tuple(reports))


async def _mark_equity(venue: PaperVenue, now_ms: int, curve: EquityCurve) -> None:
    equity, positions = venue.marked_equity()
    curve.ts_ms.append(now_ms)
    curve.equity.append(float(equity))
    curve.exposed.append(positions > 0)


def new_paper_venue(equity_usd: float) -> PaperVenue:
    return PaperVenue(paper_markets(), Decimal(str(equity_usd)))
