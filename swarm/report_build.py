"""ReportData from the store alone: what `swarm report` writes and what a backtest writes at its end.

A run (swarm.report_store) holds its RunMeta and its curves: "swarm", the three baselines
(BASELINES, stored by a backtest; computed here from the recorded marks for a `swarm run`) and
"alone:<member>" for each member followed alone. The swarm's trades are the journal's, each with
the consensus and ballots of the cycle that opened it and the MarketState its members saw.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from typing import Any

from consensus.leaderboard import SWARM, LeaderboardRow, leaderboard
from swarm.cutoffs import CutoffFlag
from swarm.errors import UsageError
from swarm.report_data import (
    MemberReport,
    ReportData,
    RunMeta,
    RunResult,
    TradeRow,
    WeightSeries,
)
from swarm.report_live import mark_alone, mark_baselines, regular
from swarm.report_results import (
    BASELINES,
    SWARM_CURVE,
    Hits,
    alone_curve,
    result,
    trade_row,
)
from swarm.report_store import MarkSeries, StoredRun
from swarm.store import Store


def meta_to_json(meta: RunMeta) -> dict[str, Any]:
    """A RunMeta as the run row stores it (without `generated_at_ms`: that is the report's)."""
    fields = {name: getattr(meta, name) for name in RunMeta.__dataclass_fields__}
    fields.pop("generated_at_ms")
    for name in ("roster", "symbols", "notes"):
        fields[name] = list(fields[name])
    fields["cutoff_flags"] = [list(flag) for flag in meta.cutoff_flags]
    return fields


def meta_from_json(stored: Mapping[str, Any], generated_at_ms: int, **changes: Any) -> RunMeta:
    fields = dict(stored) | changes
    fields["cutoff_flags"] = [CutoffFlag(*flag) for flag in fields.get("cutoff_flags", ())]
    return RunMeta(generated_at_ms=generated_at_ms, **fields)


def pick_run(store: Store, run_id: int | None) -> StoredRun:
    """The run asked for, or the one written to last; UsageError naming what there is."""
    runs = store.runs()
    if not runs:
        raise UsageError(
            "this database records no run yet: `swarm backtest` or `swarm run` writes one"
            " (the database may predate reports)"
        )
    if run_id is None:
        return max(runs, key=lambda r: (r.updated_at, r.id))
    for run in runs:
        if run.id == run_id:
            return run
    known = ", ".join(f"{r.id} ({r.kind})" for r in runs)
    raise UsageError(f"--run {run_id}: no such run; this database has {known}")


def leaderboard_rows(store: Store, now_ms: int) -> list[LeaderboardRow]:
    """The leaderboard at `now_ms`, the swarm's row included."""
    facts = store.leaderboard_facts(now_ms)
    return leaderboard(facts.answers, facts.consensus, store.member_weights(now_ms))


def report_from_store(
    store: Store, run: StoredRun, generated_at_ms: int, rows: Sequence[LeaderboardRow] | None = None
) -> ReportData:
    """Everything the report of `run` shows, read back from `store`; `rows`: its leaderboard at
    the run's end, when the caller has it already (it reads the whole track record)."""
    swarm_curve = store.curve(run.id, SWARM_CURVE)
    if len(swarm_curve.ts_ms) < 2:
        raise UsageError(
            f"run {run.id} ({run.kind}) has {len(swarm_curve.ts_ms)} equity point(s):"
            " a report needs at least two cycles"
        )
    changes: dict[str, Any] = {"kind": run.kind}
    if run.kind != "backtest":
        # A `swarm run` may have been stopped and restarted: its curve gets one point per step,
        # the equity carried through the steps it did not run; it starts from what it had.
        step = int(run.meta["step_ms"])
        swarm_curve, missing = regular(swarm_curve, step)
        changes["starting_equity_usd"] = swarm_curve.equity[0]
        if missing:
            steps = len(swarm_curve.ts_ms)
            changes["notes"] = [
                *run.meta.get("notes", []),
                f"{missing} of {steps} steps had no cycle (the bot was not running): equity carried forward",
            ]
    times = swarm_curve.ts_ms
    start, end = times[0], times[-1]
    meta = meta_from_json(run.meta, generated_at_ms, window_start_ms=start, window_end_ms=end, **changes)
    hits = store.confidence_hits(end)
    trades = _trade_rows(store, start, end)
    swarm = result(SWARM_CURVE, swarm_curve, meta, trades, hits.get(SWARM))
    if rows is None:
        rows = leaderboard_rows(store, end)
    names = set(store.curve_names(run.id))
    marks = store.marks(run.id) if run.kind != "backtest" else {}  # what a `swarm run` replays on
    return ReportData(
        meta=meta,
        swarm=swarm,
        baselines=_baselines(store, run, names, meta, times, marks),
        members=_members(store, run, rows, names, meta, hits, times, marks),
        weights=_weight_series(store.vote_weights(start, end), times),
        trades=trades,
    )


def _baselines(
    store: Store, run: StoredRun, names: set[str], meta: RunMeta, times: list[int], marks: MarkSeries
) -> list[RunResult]:
    if run.kind != "backtest":
        return mark_baselines(marks, meta, times)
    results = []
    for name in BASELINES:
        if name in names:
            rows = [trade_row(t) for t in store.curve_trades(run.id, name)]
            results.append(result(name, store.curve(run.id, name), meta, rows))
    return results


def _members(
    store: Store,
    run: StoredRun,
    rows: Sequence[LeaderboardRow],
    names: set[str],
    meta: RunMeta,
    hits: Mapping[str, Hits],
    times: list[int],
    marks: MarkSeries,
) -> list[MemberReport]:
    """Each member's leaderboard row and its run alone: stored by a backtest; for a `swarm run`,
    its answers replayed on the recorded marks."""
    members = []
    for row in rows:
        if row.member == SWARM:
            continue
        alone = None
        if run.kind != "backtest":
            if row.member in meta.roster:  # the store's record may hold members of other runs
                alone = mark_alone(store, marks, row.member, meta, times, hits.get(row.member))
        elif alone_curve(row.member) in names:
            curve_name = alone_curve(row.member)
            trades = [trade_row(t) for t in store.curve_trades(run.id, curve_name)]
            curve = store.curve(run.id, curve_name)
            alone = result(row.member, curve, meta, trades, hits.get(row.member))
        members.append(MemberReport(member=row.member, model=row.member, row=row, alone=alone))
    return members


def _trade_rows(store: Store, start_ms: int, end_ms: int) -> list[TradeRow]:
    rows = []
    for trade in store.closed_trades():
        if trade.exit_price is None or not start_ms <= trade.opened_at <= end_ms:
            continue
        cycle_id, _, symbol = (trade.decision_id or "").rpartition(":")
        consensus = store.consensus_of(cycle_id, symbol) if cycle_id else None
        state = store.entry_state(trade.decision_id) if trade.decision_id else None
        rows.append(trade_row(trade, consensus=consensus, entry_state=state))
    return rows


def _weight_series(
    votes: Sequence[tuple[int, Mapping[str, float]]], times: Sequence[int]
) -> list[WeightSeries]:
    """Each member's weight at every step, carried forward from the last vote that used it.

    A vote belongs to the step at or before it: a live cycle runs a moment after its step."""
    by_time: dict[int, dict[str, float]] = {}
    for cast_at, weights in votes:
        index = bisect_right(times, cast_at) - 1
        if index >= 0:
            by_time.setdefault(times[index], {}).update(weights)
    members = sorted({m for weights in by_time.values() for m in weights})
    series = []
    for member in members:
        value, values = 0.0, []
        for t in times:
            value = by_time.get(t, {}).get(member, value)
            values.append(value)
        series.append(WeightSeries(member, list(times), values))
    return series
