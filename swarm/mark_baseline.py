"""The random-entries baseline of a `swarm run`, replayed on the marks the run recorded.

A paper `swarm run` knows prices only at its cycles (its venue fires stops at those marks), so
its random baseline sees the same: the same engine, risk rules and paper venue, stepped over the
run's cycles with each symbol's recorded price and funding rate. The members of the baseline read
nothing but the time, so its MarketStates carry the price and funding and declare the rest missing.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from execution.journal import TradeRecord
from execution.orders import VenueExecutor
from execution.paper import PaperVenue
from execution.types import PriceHistory
from feeds.state import FundingState, MarketState, PriceState
from feeds.types import DAY_MS, HOUR_MS
from swarm.backtest import market_infos, new_paper_venue
from swarm.backtest_setup import LEVERAGE, RandomMember
from swarm.engine import Engine, EngineConfig
from swarm.logs import quiet_events
from swarm.members.base import Member
from swarm.recorder import StoreRecorder
from swarm.report_store import MarkSeries, StoredCurve
from swarm.store import Store

MISSING = ["volume", "open_interest", "indicators", "orderbook"]
CORRELATION_WINDOW_MS = 30 * DAY_MS


class MarksFeed:
    """StateFeed over recorded marks: at `now_ms`, each symbol's latest mark at or before it."""

    def __init__(self, marks: MarkSeries) -> None:
        self._times = {s: [t for t, _, _ in rows] for s, rows in marks.items()}
        self._marks = {s: list(rows) for s, rows in marks.items()}
        # The marks on the hour, for the correlation rule's hourly closes (asked every decision).
        self._hourly = {s: {t: p for t, p, _ in rows if t % HOUR_MS == 0} for s, rows in marks.items()}
        self._history_cache: dict[str, tuple[int, PriceHistory | None]] = {}

    def mark(self, symbol: str, now_ms: int) -> tuple[int, float, float | None] | None:
        i = bisect_right(self._times.get(symbol, []), now_ms) - 1
        return None if i < 0 else self._marks[symbol][i]

    async def state(self, symbol: str, now_ms: int) -> MarketState:
        found = self.mark(symbol, now_ms)
        if found is None:
            raise LookupError(f"{symbol}: no recorded mark at or before {now_ms}")
        _, price, funding = found
        rate = None if funding is None else FundingState(current=funding, avg_8h=funding, avg_24h=funding)
        return MarketState(
            symbol=symbol,
            timestamp=datetime.fromtimestamp(now_ms / 1000, tz=UTC),
            source="recorded marks",
            price=PriceState(current=price, change_1h_pct=None, change_24h_pct=None),
            volume=None,
            funding=rate,
            open_interest=None,
            indicators={"15m": None, "1h": None, "4h": None, "1d": None},
            orderbook=None,
            regime="ranging",
            missing=MISSING + ([] if rate else ["funding"]),
        )

    def price_history(self, symbol: str, now_ms: int) -> PriceHistory | None:
        """The marks on the hour of the last 30 days, when every hour has one (else None); the
        same until the next hour, so kept per symbol for the hour."""
        end = now_ms - now_ms % HOUR_MS
        cached = self._history_cache.get(symbol)
        if cached is None or cached[0] != end:
            cached = self._history_cache[symbol] = (end, self._history(symbol, end))
        return cached[1]

    def _history(self, symbol: str, end: int) -> PriceHistory | None:
        hours = range(end - CORRELATION_WINDOW_MS + HOUR_MS, end + 1, HOUR_MS)
        on_the_hour = self._hourly.get(symbol, {})
        closes = [on_the_hour.get(h) for h in hours]
        first = next((i for i, c in enumerate(closes) if c is not None), None)
        if first is None or any(c is None for c in closes[first:]) or len(closes) - first < 2:
            return None
        return PriceHistory(interval_ms=HOUR_MS, end_ms=end, closes=tuple(c for c in closes[first:] if c))


def marked_symbols(marks: MarkSeries, symbols: Sequence[str]) -> list[str]:
    """The symbols of `symbols` that have recorded marks."""
    return [s for s in symbols if marks.get(s)]


async def random_on_marks(
    marks: MarkSeries,
    times: Sequence[int],
    symbols: Sequence[str],
    *,
    step_ms: int,
    starting_equity: float,
    seed: int,
    p_entry: float,
) -> tuple[StoredCurve, list[TradeRecord]]:
    """The random-entries baseline's curve on `times` and its closed trades."""
    member = RandomMember(marked_symbols(marks, symbols), times, seed, p_entry)
    return await replay_on_marks(
        member, marks, times, symbols, step_ms=step_ms, starting_equity=starting_equity, cycle_prefix="random"
    )


async def replay_on_marks(
    member: Member,
    marks: MarkSeries,
    times: Sequence[int],
    symbols: Sequence[str],
    *,
    step_ms: int,
    starting_equity: float,
    cycle_prefix: str,
) -> tuple[StoredCurve, list[TradeRecord]]:
    """A roster of one through the engine, risk rules and a paper venue stepped over the marks:
    its curve on `times` and its closed trades."""
    feed = MarksFeed(marks)
    traded = marked_symbols(marks, symbols)
    venue = new_paper_venue(starting_equity)
    now = [times[0]]
    store = Store.open("sqlite:///:memory:", clock=lambda: now[0])

    async def no_scoring(_now_ms: int) -> int:
        return 0  # a roster of one: weights do not matter

    try:
        engine = Engine(
            config=EngineConfig(symbols=tuple(traded), interval_ms=step_ms),
            members=[member],
            feed=feed,
            executor=VenueExecutor(venue, store, now=lambda: now[0], keep_venue_state=False),
            recorder=StoreRecorder(store, no_scoring),
            markets=market_infos(traded, LEVERAGE),
        )
        await engine.start(times[0])
        equity, exposed = [], []
        with quiet_events():  # nothing this replay does is kept
            for t in times:
                now[0] = t
                _step_venue(venue, feed, traded, t, step_ms)
                if all(feed.mark(s, t) is not None for s in traded):
                    await engine.cycle(t, f"{cycle_prefix}-{t}")
                value, positions = venue.marked_equity()
                equity.append(float(value))
                exposed.append(positions > 0)
        trades = [t for t in store.closed_trades() if t.exit_price is not None]
    finally:
        store.close()
    return StoredCurve(list(times), equity, exposed), trades


def _step_venue(venue: PaperVenue, feed: MarksFeed, symbols: Sequence[str], t: int, step_ms: int) -> None:
    """The marks at `t` (stops fire at them), then the funding of each hour that ended since the
    last step on what is still held, as the candle replay orders them (swarm.backtest)."""
    previous = t - step_ms
    first_boundary = previous - previous % HOUR_MS + HOUR_MS
    for symbol in symbols:
        found = feed.mark(symbol, t)
        if found is None:
            continue
        _, price, funding = found
        venue.set_mark(symbol, price, t)
        if funding is not None:
            for boundary in range(first_boundary, t + 1, HOUR_MS):
                venue.apply_funding(symbol, Decimal(str(funding)), boundary - HOUR_MS)
