"""Score every ballot whose horizon has passed, against the price path that followed it.

    store.unscored_ballots(now - horizon) -> per symbol, candles from the Source known at a moment
    no later than now -> consensus.scoring.score_ballots -> store.record_scores (one transaction)

Never early: candles come from `source.market_data(symbol, at_ms)` with `at_ms <= now_ms`, so only
candles closed by `now_ms` exist, and score_ballots returns no score until the candle holding
`market_ts + horizon` has closed; such a ballot stays unscored for a later run. Idempotent: a
ballot with a score is not due again, and the store skips a score recorded meanwhile by another bot.

Candles: the finest timeframe of the snapshot that reaches back to the ballot's entry, 15m else
1h. A source serves a bounded history (HISTORY_BARS per timeframe), so old ballots are fetched in
batches at earlier moments: a batch spans at most `_BATCH_SPAN_MS` of market time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from consensus.scoring import DEFAULT_FEE_RATE, DEFAULT_HORIZON_MS, Score, score_ballots
from feeds.errors import BadRequestError
from feeds.sources.base import Source
from feeds.types import DAY_MS, Candles, MarketData, Timeframe
from swarm.store import DueBallot, Store

# Finest first. 1,500 bars of 15m cover 15 days, comfortably more than a batch plus a horizon.
_TIMEFRAMES = (Timeframe.M15, Timeframe.H1)
_COARSEST_MS = _TIMEFRAMES[-1].ms
_BATCH_SPAN_MS = 7 * DAY_MS


@dataclass(frozen=True)
class ScoringReport:
    """What one run did: ballots found due, scored, still waiting, and notes on those unscorable."""

    due: int
    scored: int
    notes: tuple[str, ...] = field(default=())

    @property
    def waiting(self) -> int:
        return self.due - self.scored


async def score_due(
    store: Store,
    source: Source,
    now_ms: int,
    horizon_ms: int = DEFAULT_HORIZON_MS,
    fee_rate: float = DEFAULT_FEE_RATE,
    since_ms: int | None = None,
) -> ScoringReport:
    """Score and record every unscored ballot and consensus whose horizon has passed by `now_ms`.

    `since_ms`: only ballots cast after it (see Store.unscored_ballots).
    """
    due = store.unscored_ballots(now_ms, horizon_ms, since_ms)
    by_symbol: dict[str, list[DueBallot]] = {}
    for ballot in due:
        by_symbol.setdefault(ballot.symbol, []).append(ballot)
    scored: list[tuple[DueBallot, Score]] = []
    notes: list[str] = []
    for symbol, ballots in by_symbol.items():
        done, said = await _score_symbol(source, symbol, ballots, now_ms, horizon_ms, fee_rate)
        scored += done
        notes += said
    store.record_scores(scored, horizon_ms)
    return ScoringReport(len(due), len(scored), tuple(notes))


async def _score_symbol(
    source: Source, symbol: str, ballots: Sequence[DueBallot], now_ms: int, horizon_ms: int, fee_rate: float
) -> tuple[list[tuple[DueBallot, Score]], list[str]]:
    """One symbol's ballots (oldest first), in batches the source's history can cover."""
    pending = list(ballots)
    scored: list[tuple[DueBallot, Score]] = []
    notes: list[str] = []
    while pending:
        at_ms = min(now_ms, pending[0].market_ts + horizon_ms + _BATCH_SPAN_MS)
        # Before now, take only ballots whose window surely closed by at_ms, whatever the timeframe.
        cut = len(pending) if at_ms == now_ms else _count_closed(pending, at_ms - horizon_ms - _COARSEST_MS)
        batch, pending = pending[:cut], pending[cut:]
        try:
            data = await source.market_data(symbol, at_ms)
        except BadRequestError as exc:  # unknown symbol, or a time outside the source's data
            notes.append(f"{symbol}: {len(batch)} ballot(s) not scored: {exc}")
            continue
        done, said = _score_batch(batch, data, horizon_ms, fee_rate)
        scored += done
        notes += said
    return scored, notes


def _count_closed(pending: Sequence[DueBallot], last_cast_ms: int) -> int:
    """How many of the (time-ordered) ballots were cast at or before `last_cast_ms`; at least one."""
    count = next((i for i, b in enumerate(pending) if b.market_ts > last_cast_ms), len(pending))
    return max(count, 1)


def _score_batch(
    batch: Sequence[DueBallot], data: MarketData, horizon_ms: int, fee_rate: float
) -> tuple[list[tuple[DueBallot, Score]], list[str]]:
    groups: dict[Timeframe, list[DueBallot]] = {}
    missing: list[DueBallot] = []
    for ballot in batch:
        tf = _finest_covering(data, ballot.market_ts)
        if tf is None:
            missing.append(ballot)
        else:
            groups.setdefault(tf, []).append(ballot)
    scored: list[tuple[DueBallot, Score]] = []
    for tf, group in groups.items():
        scores = score_ballots(
            [b.decision for b in group], [b.market_ts for b in group], data.candles[tf], horizon_ms, fee_rate
        )
        scored += [(b, s) for b, s in zip(group, scores, strict=True) if s is not None]
    if missing:
        return scored, [
            f"{data.symbol}: {len(missing)} ballot(s) not scored: no 15m or 1h candles back to their entry"
        ]
    return scored, []


def _finest_covering(data: MarketData, entry_ms: int) -> Timeframe | None:
    """The finest timeframe whose candles reach back to the bar holding `entry_ms`."""
    for tf in _TIMEFRAMES:
        candles: Candles | None = data.candles.get(tf)
        # score_ballots refuses a path starting a bar or more after the entry: the entry is unknown.
        if candles is not None and len(candles) and int(candles.ts_ms[0]) - entry_ms < tf.ms:
            return tf
    return None
