"""Score a ballot against the price path that followed it: direction, PnL if followed, Brier.

The exact definitions are in docs/consensus.md ("Scoring"). In short, for a ballot made at
`entry_ts_ms` with horizon H:

- entry: the OPEN of the first candle opening at or after `entry_ts_ms` (the first price the
  ballot could trade at); the window is every candle opening before `entry_ts_ms + H`;
- not scored (None) until the window's last candle has closed at or after `entry_ts_ms + H`;
- move = close of the window's last candle / entry - 1;
- band = 2 x fee + margin; LONG right when move > band, SHORT when move < -band, HOLD when
  |move| <= band: exactly one of the three is right for any move,
  CLOSE not scored for direction (its correctness depends on the position it closes);
- PnL followed: the member's own stop and equal-split take-profit ladder, touched by candle
  high/low, stop first when one candle touches both, else out at the horizon close; taker fee on
  the entry and on every exit; HOLD and CLOSE earn 0;
- Brier = (confidence / 100 - right)^2.

`score_ballots` scores many ballots over one candle series at once (numpy, chunked);
`score_ballot` is the same code for one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from consensus.decision import Action, TradeDecision
from feeds.types import HOUR_MS, Candles, FloatArray, IntArray

DEFAULT_HORIZON_MS: Final = 4 * HOUR_MS
DEFAULT_FEE_RATE: Final = 0.0004  # Pacifica taker fee, fraction of notional per side
DEFAULT_BAND_MARGIN: Final = 0.001  # no-trade band beyond the round-trip fees

# Ballots per numpy pass: bounds memory at CHUNK x (bars in the horizon) per array.
_CHUNK = 4096
_SIGN = {Action.LONG: 1.0, Action.SHORT: -1.0, Action.HOLD: 0.0, Action.CLOSE: 0.0}

BoolArray = npt.NDArray[np.bool_]


class Scorable(Protocol):
    """What scoring reads of a decision: a TradeDecision, or a Consensus scored as the swarm's ballot."""

    @property
    def action(self) -> Action: ...

    @property
    def confidence(self) -> float: ...

    @property
    def take_profit(self) -> tuple[float, ...]: ...

    @property
    def stop_loss(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class Score:
    """How one ballot turned out over its horizon.

    `pnl_pct_followed` is in percent of the position's notional (not of equity: multiply by
    position_size_pct / 100 for that). `direction_correct` and `brier` are None for CLOSE only.
    """

    direction_correct: bool | None
    pnl_pct_followed: float
    brier: float | None
    move_pct: float
    entry_price: float
    exit_price: float
    stopped: bool
    targets_hit: int
    scored_at_ms: int  # close of the window's last candle: when the score became knowable


def score_ballot(
    decision: TradeDecision,
    entry_ts_ms: int,
    path: Candles,
    horizon_ms: int = DEFAULT_HORIZON_MS,
    fee_rate: float = DEFAULT_FEE_RATE,
    *,
    band_margin: float = DEFAULT_BAND_MARGIN,
) -> Score | None:
    """Score one ballot made at `entry_ts_ms`, or None while its horizon is not covered by `path`.

    `path` holds closed candles; those opening before `entry_ts_ms` are ignored, so the whole
    series may be passed.
    """
    return score_ballots([decision], [entry_ts_ms], path, horizon_ms, fee_rate, band_margin=band_margin)[0]


def score_ballots(
    decisions: Sequence[Scorable],
    entry_ts_ms: Sequence[int] | IntArray,
    candles: Candles,
    horizon_ms: int = DEFAULT_HORIZON_MS,
    fee_rate: float = DEFAULT_FEE_RATE,
    *,
    band_margin: float = DEFAULT_BAND_MARGIN,
) -> list[Score | None]:
    """Score many ballots on one symbol's candles; None for each one whose horizon is not covered."""
    columns = score_columns(decisions, entry_ts_ms, candles, horizon_ms, fee_rate, band_margin=band_margin)
    scores = iter([Score(*row) for row in columns.rows()])
    return [next(scores) if ready else None for ready in columns.ready]


@dataclass(frozen=True)
class ScoreColumns:
    """`score_ballots` as columns: `ready` per ballot, every other list over the ready ones only.

    For a caller that writes many scores as rows (a backtest scores ~200,000): no Score object
    per ballot. `rows()` gives each ready ballot's values in Score's field order.
    """

    ready: list[bool]
    direction_correct: list[bool | None]
    pnl_pct_followed: list[float]
    brier: list[float | None]
    move_pct: list[float]
    entry_price: list[float]
    exit_price: list[float]
    stopped: list[bool]
    targets_hit: list[int]
    scored_at_ms: list[int]

    def rows(self) -> Iterator[tuple[bool | None, float, float | None, float, float, float, bool, int, int]]:
        return zip(
            self.direction_correct, self.pnl_pct_followed, self.brier, self.move_pct, self.entry_price,
            self.exit_price, self.stopped, self.targets_hit, self.scored_at_ms, strict=True,
        )  # fmt: skip


def score_columns(
    decisions: Sequence[Scorable],
    entry_ts_ms: Sequence[int] | IntArray,
    candles: Candles,
    horizon_ms: int = DEFAULT_HORIZON_MS,
    fee_rate: float = DEFAULT_FEE_RATE,
    *,
    band_margin: float = DEFAULT_BAND_MARGIN,
) -> ScoreColumns:
    """`score_ballots`, as columns."""
    entries = np.asarray(entry_ts_ms, dtype=np.int64).reshape(-1)
    if entries.shape[0] != len(decisions):
        raise ValueError(f"{len(decisions)} decisions but {entries.shape[0]} entry times")
    if horizon_ms <= 0 or fee_rate < 0 or band_margin < 0:
        raise ValueError("horizon_ms must be positive, fee_rate and band_margin non-negative")
    parts = [
        _Chunk.build(decisions[lo : lo + _CHUNK], entries[lo : lo + _CHUNK], candles, horizon_ms).columns(
            fee_rate, 2 * fee_rate + band_margin
        )
        for lo in range(0, len(decisions), _CHUNK)
    ]
    if len(parts) == 1:
        return parts[0]
    return ScoreColumns(*([v for part in parts for v in getattr(part, f.name)] for f in fields(ScoreColumns)))


@dataclass(frozen=True)
class _Chunk:
    """The ready ballots of one chunk: their candle windows (start, stop), entries and exits."""

    decisions: list[Scorable]
    ready: BoolArray  # per ballot of the chunk: horizon covered
    sign: FloatArray  # +1 LONG, -1 SHORT, 0 otherwise (ready ballots only, as below)
    start: IntArray  # first and past-the-last candle of each window
    stop: IntArray
    entry: FloatArray
    exit: FloatArray
    scored_at: IntArray
    candles: Candles

    @classmethod
    def build(
        cls, decisions: Sequence[Scorable], entries: IntArray, candles: Candles, horizon_ms: int
    ) -> _Chunk:
        start = np.searchsorted(candles.ts_ms, entries, side="left")
        stop = np.searchsorted(candles.ts_ms, entries + horizon_ms, side="left")
        _check_starts(candles, entries, start)
        close_ms = candles.close_ms
        ready = stop > start
        # Closed candles only: the horizon has passed once the window's last candle closed after it.
        ready[ready] = close_ms[stop[ready] - 1] >= entries[ready] + horizon_ms
        start, stop = start[ready], stop[ready]
        last = stop - 1
        kept = [d for d, r in zip(decisions, ready.tolist(), strict=True) if r]
        return cls(
            decisions=kept,
            ready=ready,
            sign=np.array([_SIGN[d.action] for d in kept], dtype=np.float64),
            start=start,
            stop=stop,
            entry=candles.open[start],
            exit=candles.close[last],
            scored_at=close_ms[last],
            candles=candles,
        )

    def columns(self, fee_rate: float, band: float) -> ScoreColumns:
        ready = self.ready.tolist()
        if not self.decisions:
            return ScoreColumns(ready, [], [], [], [], [], [], [], [], [])
        move = self.exit / self.entry - 1.0
        correct: list[bool] = self._direction(move, band).tolist()
        pnl, stopped, taken = (a.tolist() for a in self._followed(fee_rate))
        # CLOSE is not scored for direction: its correctness depends on the position it closes.
        scored = [d.action is not Action.CLOSE for d in self.decisions]
        return ScoreColumns(
            ready=ready,
            direction_correct=[c if s else None for c, s in zip(correct, scored, strict=True)],
            pnl_pct_followed=pnl,
            brier=[
                (d.confidence / 100.0 - float(c)) ** 2 if s else None
                for d, c, s in zip(self.decisions, correct, scored, strict=True)
            ],
            move_pct=[100.0 * m for m in move.tolist()],
            entry_price=self.entry.tolist(),
            exit_price=self.exit.tolist(),
            stopped=stopped,
            targets_hit=taken,
            scored_at_ms=self.scored_at.tolist(),
        )

    def _direction(self, move: FloatArray, band: float) -> BoolArray:
        hold = np.array([d.action is Action.HOLD for d in self.decisions], dtype=np.bool_)
        # A move that does not cover the round trip is HOLD's, not a win for LONG or SHORT: exactly
        # one action is right for any move. CLOSE is masked later.
        return np.where(hold, np.abs(move) <= band, self.sign * move > band)

    def _followed(self, fee_rate: float) -> tuple[FloatArray, BoolArray, IntArray]:
        """Net return on notional (%) of following each ballot alone, whether it stopped, targets hit.

        HOLD and CLOSE earn 0: only the LONG and SHORT rows (most ballots are HOLD) are walked
        along their windows; each row's arithmetic is its own.
        """
        n = len(self.decisions)
        pnl, stopped, taken = np.zeros(n), np.zeros(n, dtype=np.bool_), np.zeros(n, dtype=np.int64)
        rows = np.flatnonzero(self.sign)
        if rows.size:
            net, stopped[rows], taken[rows] = _Path.gather(self, rows).follow(fee_rate)
            pnl[rows] = 100.0 * net
        return pnl, stopped, taken


@dataclass(frozen=True)
class _Path:
    """The candle windows of some rows of a chunk, gathered as (row, bar) arrays."""

    decisions: list[Scorable]
    sign: FloatArray
    entry: FloatArray
    exit: FloatArray
    valid: BoolArray  # (n, K): bar j is inside row i's window
    open: FloatArray  # (n, K) gathered prices
    high: FloatArray
    low: FloatArray

    @classmethod
    def gather(cls, chunk: _Chunk, rows: IntArray) -> _Path:
        start, stop, candles = chunk.start[rows], chunk.stop[rows], chunk.candles
        width = int((stop - start).max())
        offsets = np.arange(width)
        # Past its window a row repeats the last candle; `valid` masks those cells out.
        index = np.minimum(start[:, None] + offsets[None, :], (stop - 1)[:, None])
        return cls(
            decisions=[chunk.decisions[i] for i in rows.tolist()],
            sign=chunk.sign[rows],
            entry=chunk.entry[rows],
            exit=chunk.exit[rows],
            valid=offsets[None, :] < (stop - start)[:, None],
            open=candles.open[index],
            high=candles.high[index],
            low=candles.low[index],
        )

    def follow(self, fee_rate: float) -> tuple[FloatArray, BoolArray, IntArray]:
        """Net return on notional of following each row alone, whether it stopped, targets hit."""
        entry = self.entry[:, None]
        up = self.sign[:, None] >= 0
        favourable = np.where(up, self.high / entry - 1.0, 1.0 - self.low / entry)
        adverse = np.where(up, 1.0 - self.low / entry, self.high / entry - 1.0)
        adverse_open = np.where(up, 1.0 - self.open / entry, self.open / entry - 1.0)
        stop_loss = np.array([d.stop_loss or np.inf for d in self.decisions], dtype=np.float64)
        stop_bar = _first(self.valid & (adverse >= stop_loss[:, None]))
        stopped = stop_bar < self.valid.shape[1]
        ladder, rungs = _ladders(self.decisions)
        taken = np.zeros(len(self.decisions), dtype=np.int64)
        target_return = np.zeros(len(self.decisions))
        for r in range(ladder.shape[1]):
            # A rung counts only if touched in a bar strictly before the stop's bar: stop first.
            hit = _first(self.valid & (favourable >= ladder[:, r, None])) < stop_bar
            taken += hit
            target_return += np.where(hit, ladder[:, r], 0.0)
        share = 1.0 / np.maximum(rungs, 1)
        rest = 1.0 - taken * share
        # A stop is a market order: a bar opening beyond it fills at that open, not at the stop.
        last_bar = self.valid.shape[1] - 1
        gap = np.take_along_axis(adverse_open, np.minimum(stop_bar, last_bar)[:, None], axis=1)[:, 0]
        stop_return = -np.maximum(stop_loss, gap)
        horizon_return = self.sign * (self.exit / self.entry - 1.0)
        gross = target_return * share + rest * np.where(stopped, stop_return, horizon_return)
        # Fees on entry notional (1) and exit notional (1 + gross for a long, 1 - gross for a short).
        net = gross - fee_rate * (2.0 + self.sign * gross)
        return net, stopped, taken


def _check_starts(candles: Candles, entries: IntArray, start: IntArray) -> None:
    """Refuse a path that begins more than one bar after a ballot: its entry price is unknown."""
    has_bar = start < len(candles)
    if not has_bar.any():
        return
    late = np.zeros_like(has_bar)
    late[has_bar] = candles.ts_ms[start[has_bar]] - entries[has_bar] >= candles.timeframe.ms
    if late.any():
        i = int(np.argmax(late))
        raise ValueError(
            f"candles start at {int(candles.ts_ms[start[i]])}, more than one bar after the ballot"
            f" made at {int(entries[i])}"
        )


def _first(mask: BoolArray) -> IntArray:
    """Index of the first True per row, or the row length when there is none."""
    first: IntArray = np.where(mask.any(axis=1), mask.argmax(axis=1), mask.shape[1]).astype(np.int64)
    return first


def _ladders(decisions: Sequence[Scorable]) -> tuple[FloatArray, IntArray]:
    """Take-profit ladders padded with +inf (never touched) to one width, and their rung counts."""
    ladders = [d.take_profit for d in decisions]
    counts = [len(t) for t in ladders]
    width = max(counts, default=0)
    if not width:
        return np.empty((len(ladders), 0)), np.zeros(len(ladders), dtype=np.int64)
    padded = [(*t, *(np.inf,) * (width - len(t))) for t in ladders]
    return np.array(padded, dtype=np.float64), np.array(counts, dtype=np.int64)
