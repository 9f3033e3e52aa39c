"""The engine on the wall clock: exchange feeds, and Pacifica or a paper venue (`swarm run`).

The wall clock is read here, at the app's edge, and handed to the engine as `now_ms`. Ctrl-C
stops the loop between steps: a cycle in progress finishes, so nothing is left half-written.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio

from execution.types import Portfolio, PriceHistory
from feeds.build import build_market_state
from feeds.sources.base import Source
from feeds.state import MarketState
from feeds.types import DAY_MS, HOUR_MS, MarketData, Timeframe
from swarm.engine import CycleReport, Engine
from swarm.logs import log_event

CORRELATION_WINDOW_MS = 30 * DAY_MS


class LiveFeed:
    """StateFeed over an exchange Source; one fetch per symbol and cycle serves state and history."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self._data: dict[str, MarketData] = {}

    async def state(self, symbol: str, now_ms: int) -> MarketState:
        data = await self.source.market_data(symbol, now_ms)
        self._data[symbol] = data
        return build_market_state(data)

    def price_history(self, symbol: str, now_ms: int) -> PriceHistory | None:
        data = self._data.get(symbol)
        hourly = None if data is None else data.candles.get(Timeframe.H1)
        if hourly is None or len(hourly) < 2:
            return None
        recent = hourly.closed_by(now_ms).tail(CORRELATION_WINDOW_MS // HOUR_MS)
        if len(recent) < 2:
            return None
        return PriceHistory(
            interval_ms=HOUR_MS, end_ms=int(recent.close_ms[-1]), closes=tuple(recent.close.tolist())
        )


@dataclass
class StopFlag:
    """Set by Ctrl-C (SIGINT) or SIGTERM; the loop checks it between cycles."""

    requested: bool = False
    _previous: dict[int, object] = field(default_factory=dict)

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested:  # a second Ctrl-C: the user means it
            raise KeyboardInterrupt
        self.requested = True
        log_event("stop_requested", signal=signum)


async def run_live(
    engine: Engine,
    *,
    interval_ms: int,
    now: Callable[[], int],
    once: bool,
    stop: StopFlag,
    on_cycle: Callable[[CycleReport, Portfolio], None],
    before_cycle: Callable[[int], object] | None = None,
) -> int:
    """Cycle at every multiple of `interval_ms` until stopped; the number of cycles run.

    `on_cycle` gets each cycle's report and the account after it (what the run's equity curve
    records)."""
    await engine.start(now())
    cycles = 0
    while not stop.requested:
        at = now()
        if before_cycle is not None:
            before_cycle(at)
        report = await engine.cycle(at, f"c{at}")
        cycles += 1
        on_cycle(report, await engine.account(at))
        if once:
            break
        await _sleep_until_next(interval_ms, now, stop)
    engine.recorder.flush()
    return cycles


async def _sleep_until_next(interval_ms: int, now: Callable[[], int], stop: StopFlag) -> None:
    current = now()
    wake = current - current % interval_ms + interval_ms
    # Polled, not an anyio.Event: the flag is set by a signal handler, where no event may be set.
    while not stop.requested and now() < wake:  # noqa: ASYNC110
        await anyio.sleep(min(1.0, (wake - now()) / 1000))


class MarkingFeed:
    """A feed that tells a paper venue each price it serves: on a live feed its stops fire at marks."""

    def __init__(self, feed: LiveFeed, venue: object) -> None:
        self._feed = feed
        self._set_mark = getattr(venue, "set_mark", None)

    async def state(self, symbol: str, now_ms: int) -> MarketState:
        state = await self._feed.state(symbol, now_ms)
        if self._set_mark is not None:
            self._set_mark(symbol, state.price.current, now_ms)
        return state

    def price_history(self, symbol: str, now_ms: int) -> PriceHistory | None:
        return self._feed.price_history(symbol, now_ms)
