"""The report of a `swarm run` (paper or live): its curve on every step, and the baselines and
members alone replayed on the marks it recorded (swarm.mark_baseline), since a live run has no
candles to replay."""

from __future__ import annotations

import functools
from collections.abc import Mapping

import anyio
import numpy as np

from consensus.decision import Vote
from swarm.baselines import FundingSeries, always_flat, buy_and_hold_basket
from swarm.report_data import RunMeta, RunResult
from swarm.report_results import (
    ALWAYS_FLAT,
    BUY_AND_HOLD,
    RANDOM_ENTRIES,
    Hits,
    result,
    trade_row,
)
from swarm.report_store import MarkSeries, StoredCurve
from swarm.store import Store


def regular(curve: StoredCurve, step_ms: int) -> tuple[StoredCurve, int]:
    """The curve on every step from its first point to its last, the last point carried into the
    steps without one; and how many steps had none."""
    ts, equity, exposed = [], [], []
    at = {t: i for i, t in enumerate(curve.ts_ms)}
    last = 0
    for t in range(curve.ts_ms[0], curve.ts_ms[-1] + 1, step_ms):
        last = at.get(t, last)
        ts.append(t)
        equity.append(curve.equity[last])
        exposed.append(curve.exposed[last])  # a position left open stays open (its stops rest)
    return StoredCurve(ts, equity, exposed), len(ts) - len(at)


def mark_baselines(marks: MarkSeries, meta: RunMeta, times: list[int]) -> list[RunResult]:
    """Buy-and-hold, always flat and random entries of a `swarm run`, from the marks it recorded."""
    equity = meta.starting_equity_usd
    n = len(times)
    flat = StoredCurve(times, always_flat(times, starting_equity=equity).tolist(), [False] * n)
    symbols = [s for s in meta.symbols if marks.get(s)]
    if not symbols:
        return [result(ALWAYS_FLAT, flat, meta)]
    closes, funding = {}, {}
    for symbol in symbols:
        series = marks[symbol]
        at = np.asarray([t for t, _, _ in series])
        index = np.clip(np.searchsorted(at, np.asarray(times), side="right") - 1, 0, None)
        closes[symbol] = np.asarray([p for _, p, _ in series])[index].tolist()
        rates = [(t, f) for t, _, f in series if f is not None]
        funding[symbol] = FundingSeries([t for t, _ in rates], [f for _, f in rates]) if rates else None
    held = buy_and_hold_basket(times, closes, funding, starting_equity=equity, fee_rate=meta.taker_fee_rate)
    bought = StoredCurve(times, held.tolist(), [True] * n)
    return [
        result(BUY_AND_HOLD, bought, meta),
        result(ALWAYS_FLAT, flat, meta),
        _random(marks, times, meta),
    ]


def _random(marks: MarkSeries, times: list[int], meta: RunMeta) -> RunResult:
    from swarm.backtest_runs import RANDOM_P_ENTRY, RANDOM_SEED
    from swarm.mark_baseline import random_on_marks

    curve, trades = anyio.run(
        functools.partial(
            random_on_marks,
            marks,
            times,
            meta.symbols,
            step_ms=meta.step_ms,
            starting_equity=meta.starting_equity_usd,
            seed=meta.random_seed if meta.random_seed is not None else RANDOM_SEED,
            p_entry=RANDOM_P_ENTRY,
        )
    )
    return result(RANDOM_ENTRIES, curve, meta, [trade_row(t) for t in trades])


def mark_alone(
    store: Store, marks: MarkSeries, member: str, meta: RunMeta, times: list[int], hits: Hits | None
) -> RunResult:
    """`member` followed alone over the run: the answers it gave, replayed on the recorded marks."""
    from swarm.mark_baseline import replay_on_marks
    from swarm.members.recorded import RecordedMember

    votes = _on_steps(store.member_votes(member), meta.step_ms)
    model = next((v.model for v in votes.values()), member)
    curve, trades = anyio.run(
        functools.partial(
            replay_on_marks,
            RecordedMember(member, model, votes),
            marks,
            times,
            meta.symbols,
            step_ms=meta.step_ms,
            starting_equity=meta.starting_equity_usd,
            cycle_prefix=f"alone-{member}",
        )
    )
    return result(member, curve, meta, [trade_row(t) for t in trades], hits)


def _on_steps(votes: Mapping[tuple[str, int], Vote], step_ms: int) -> dict[tuple[str, int], Vote]:
    """Votes by the step they were cast in (a live cycle runs a moment after its step)."""
    return {(symbol, at - at % step_ms): vote for (symbol, at), vote in votes.items()}
