"""Scoring in memory, for a backtest: ballots are scored on the replay's own candles as their horizon
passes, instead of being written, read back and fetched candles for (swarm.scoring_job, which live
bots run on the store).

The rule is the store job's, run on the same numbers by the same consensus.scoring.score_ballots:
a scoring run at `now_ms` scores every ballot (member answers and the swarm's consensus) cast at or
before `now_ms - horizon`, on the finest timeframe (15m, else 1h) whose candles reach back to its
entry. Point in time: a run sees only the candles closed by its `now_ms`, and score_ballots leaves
unscored a ballot whose window has not closed. A ballot still unscored an hour after it was due is
given up, as the backtest's store job gives it up (replay data has no holes: it never will be).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from typing import NamedTuple

from consensus.scoring import DEFAULT_FEE_RATE, DEFAULT_HORIZON_MS, Scorable, score_columns
from feeds.types import HOUR_MS, Candles, Timeframe
from swarm.store_bulk import Owner, ScoreValues

# Finest first, as swarm.scoring_job.
_TIMEFRAMES = (Timeframe.M15, Timeframe.H1)


class PendingBallot(NamedTuple):  # a tuple: ~150,000 are made in a year's backtest
    """A ballot waiting for its horizon: a member's answer or the swarm's consensus (`owner`)."""

    owner: Owner
    seq: int  # its place in recording order (swarm.store_bulk.CycleBatch)
    member: str
    symbol: str
    market_ts: int
    decision: Scorable
    held_by_rule: bool = False  # a consensus HOLD by rule: its confidence 0 is no probability


class ReplayScorer:
    """Scores pending ballots on each symbol's replay candles (timeframe -> all candles of the run)."""

    def __init__(
        self,
        candles: Mapping[str, Mapping[Timeframe, Candles]],
        horizon_ms: int = DEFAULT_HORIZON_MS,
        fee_rate: float = DEFAULT_FEE_RATE,
    ) -> None:
        self.horizon_ms = horizon_ms
        self.fee_rate = fee_rate
        self._series = {
            symbol: [_Series(tf, c) for tf in _TIMEFRAMES if (c := by_tf.get(tf)) is not None and len(c)]
            for symbol, by_tf in candles.items()
        }
        self._pending: list[PendingBallot] = []  # in the order cast (market time never goes back)

    def add(self, ballot: PendingBallot) -> None:
        if self._pending and ballot.market_ts < self._pending[-1].market_ts:
            raise ValueError(f"ballot cast at {ballot.market_ts}, before the last one pending")
        self._pending.append(ballot)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def score_due(self, now_ms: int) -> list[tuple[PendingBallot, ScoreValues]]:
        """Score every pending ballot whose horizon has passed by `now_ms`, from candles closed by then."""
        cut = bisect_right(self._pending, now_ms - self.horizon_ms, key=lambda b: b.market_ts)
        due, self._pending = self._pending[:cut], self._pending[cut:]
        by_symbol: dict[str, list[PendingBallot]] = {}
        for ballot in due:
            by_symbol.setdefault(ballot.symbol, []).append(ballot)
        scored: list[tuple[PendingBallot, ScoreValues]] = []
        retry: list[PendingBallot] = []
        give_up_ms = now_ms - self.horizon_ms - HOUR_MS
        for symbol, ballots in by_symbol.items():
            for ballot, score in self._score_symbol(symbol, ballots, now_ms):
                if score is not None:
                    scored.append((ballot, score))
                elif ballot.market_ts > give_up_ms:
                    retry.append(ballot)
        if retry:
            self._pending = sorted(retry, key=lambda b: (b.market_ts, b.seq)) + self._pending
        return scored

    def _score_symbol(
        self, symbol: str, ballots: list[PendingBallot], now_ms: int
    ) -> list[tuple[PendingBallot, ScoreValues | None]]:
        series = [s for s in self._series.get(symbol, ()) if s.closed_by(now_ms)]
        groups: dict[int, list[PendingBallot]] = {}
        out: list[tuple[PendingBallot, ScoreValues | None]] = []
        for ballot in ballots:
            # The finest timeframe whose candles reach back to the bar holding the entry (as
            # swarm.scoring_job: score_ballots refuses a path that starts after its entry).
            finest = next((i for i, s in enumerate(series) if s.first_ms - ballot.market_ts < s.bar_ms), None)
            if finest is None:
                out.append((ballot, None))
            else:
                groups.setdefault(finest, []).append(ballot)
        for i, group in groups.items():
            columns = score_columns(
                [b.decision for b in group],
                [b.market_ts for b in group],
                series[i].window(group[0].market_ts, now_ms),
                self.horizon_ms,
                self.fee_rate,
            )
            scores = columns.rows()
            out += [
                (b, next(scores) if ready else None) for b, ready in zip(group, columns.ready, strict=True)
            ]
        return out


class _Series:
    """One timeframe of a symbol's candles, with its open and close times as lists for bisecting."""

    def __init__(self, timeframe: Timeframe, candles: Candles) -> None:
        self.bar_ms = timeframe.ms
        self.candles = candles
        self.opens: list[int] = candles.ts_ms.tolist()
        self.closes: list[int] = candles.close_ms.tolist()
        self.first_ms = self.opens[0]

    def closed_by(self, at_ms: int) -> int:
        """How many candles had closed by `at_ms`."""
        return bisect_right(self.closes, at_ms)

    def window(self, first_entry_ms: int, at_ms: int) -> Candles:
        """The candles closed by `at_ms` from the bar holding `first_entry_ms` on: all that the
        ballots entered from then on can read (score_ballots reads nothing before an entry)."""
        start = max(bisect_right(self.opens, first_entry_ms) - 1, 0)
        return self.candles.slice(start, max(start, self.closed_by(at_ms)))
