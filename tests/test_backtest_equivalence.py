"""A backtest's fast path stores exactly what the write-immediately path stores.

The fast path (swarm.backtest_setup.wire, as `swarm backtest` runs it): ReplayRecorder scores in
memory and writes in batches, the executor re-marks a flat paper account without reconciling, the
store is a throwaway file. The reference: the live path's knobs, every write committed at once
(StoreRecorder), the store's own scoring job reading the answers back, and a reconciliation at
every portfolio read. Both runs must leave the same answers, votes, scores, decisions, orders,
fills, trades and risk state, and report the same cycles and equity.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest

from execution.orders import VenueExecutor
from execution.types import Portfolio
from feeds.sources.replay import ReplaySource, default_data_dir
from feeds.types import HOUR_MS, MINUTE_MS
from prompts.types import RenderedPrompt
from swarm.backtest import BacktestRun, ReplayFeed, new_paper_venue, run_loop
from swarm.backtest_setup import SCORE_EVERY_MS, RandomMember, SimClock, Wiring, wire
from swarm.config import Settings
from swarm.errors import StoreError
from swarm.members.base import DecisionRequest, Member
from swarm.members.local import local_member
from swarm.recorder import StoreRecorder
from swarm.scoring_job import score_due
from swarm.store import Store
from swarm.store_bulk import CycleBatch
from swarm.timeutil import parse_utc

SYMBOLS = ("BTC", "ETH")
STEP = 15 * MINUTE_MS
SOURCE = ReplaySource(default_data_dir())
FEED = ReplayFeed(SOURCE, SYMBOLS)
LOCAL = ("local/trend", "local/meanrev", "local/funding")

# Rows as the report and the leaderboard read them; ids are left out (the two paths number the
# score rows in another order), scores are keyed by what they score.
QUERIES = {
    "answer": "SELECT {answer} FROM answer",
    "consensus_vote": "SELECT {consensus_vote} FROM consensus_vote",
    "member score": (
        "SELECT a.cycle_id, a.symbol, a.member, {score} FROM score s JOIN answer a ON a.id = s.answer_id"
    ),
    "swarm score": (
        "SELECT v.cycle_id, v.symbol, {score} FROM score s JOIN consensus_vote v ON v.id = s.consensus_id"
    ),
    "order_decision": "SELECT {order_decision} FROM order_decision",
    "venue_order": "SELECT {venue_order} FROM venue_order",
    "order_fill": "SELECT {order_fill} FROM order_fill",
    "closed_trade": "SELECT {closed_trade} FROM closed_trade",
    "open_position": "SELECT {open_position} FROM open_position",
    # updated_at: the reference also rewrites the row, unchanged, at every hourly reconciliation.
    "risk_state": "SELECT trading_state, reason, breaker_tripped_until_ms, start_of_day_equity, day_start_ms"
    " FROM risk_state",
}  # fmt: skip
NOT_COMPARED = {"id", "answer_id", "consensus_id"}
TABLES = ["answer", "consensus_vote", "score", "order_decision", "venue_order", "order_fill"]
TABLES += ["closed_trade", "open_position"]


class Reconciling(VenueExecutor):
    """The write-immediately knob of the executor: every portfolio read reconciles, as live does."""

    async def marked_portfolio(self, now_ms: int) -> Portfolio:
        return await self.portfolio(now_ms)


def fast(tmp_path: Path, members: Sequence[Member], start_ms: int) -> tuple[Wiring, Store]:
    clock = SimClock(start_ms)
    store = Store.open(str(tmp_path / "fast.db"), clock=clock, throwaway=True)
    return _wire(store, clock, members), store


def reference(tmp_path: Path, members: Sequence[Member], start_ms: int) -> tuple[Wiring, Store]:
    clock = SimClock(start_ms)
    store = Store.open(str(tmp_path / "reference.db"), clock=clock)
    wiring = _wire(store, clock, members)
    covered = {"until": -1}

    async def scorer(now_ms: int) -> int:  # the store job, as the backtest ran it before
        report = await score_due(store, SOURCE, now_ms, since_ms=covered["until"])
        covered["until"] = now_ms - 4 * HOUR_MS - HOUR_MS
        return report.scored

    wiring.engine.recorder = StoreRecorder(store, scorer, score_every_ms=SCORE_EVERY_MS)
    wiring.engine.executor = Reconciling(wiring.stepper.venue, store, now=clock)
    return wiring, store


def _wire(store: Store, clock: SimClock, members: Sequence[Member]) -> Wiring:
    return wire(
        store=store, clock=clock, feed=FEED, members=members, symbols=SYMBOLS,
        settings=Settings(), interval_ms=STEP,
    )  # fmt: skip


def run(wiring: Wiring, start_ms: int, end_ms: int) -> BacktestRun:
    def on_step(now_ms: int) -> None:
        wiring.clock.now = now_ms + STEP  # as `swarm backtest`

    async def go() -> BacktestRun:
        return await run_loop(
            wiring.engine, wiring.stepper, start_ms, end_ms, STEP, on_step=on_step, keep_reports=True
        )

    return anyio.run(go)


def contents(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    with store.engine.connect() as conn:
        columns = {
            table: ", ".join(
                ("s." if table == "score" else "") + row[1]
                for row in conn.exec_driver_sql(f"PRAGMA table_info({table})")
                if row[1] not in NOT_COMPARED
            )
            for table in TABLES
        }
        return {
            name: sorted(tuple(row) for row in conn.exec_driver_sql(query.format(**columns)))
            for name, query in QUERIES.items()
        }


def assert_same_runs(tmp_path: Path, members: Sequence[Member], start: str, end: str) -> dict[str, int]:
    start_ms, end_ms = parse_utc(start), parse_utc(end)
    fast_wiring, fast_store = fast(tmp_path, members, start_ms)
    fast_run = run(fast_wiring, start_ms, end_ms)
    reference_wiring, reference_store = reference(tmp_path, members, start_ms)
    reference_run = run(reference_wiring, start_ms, end_ms)

    ours, theirs = contents(fast_store), contents(reference_store)
    for table, rows in theirs.items():
        assert ours[table] == rows, table
    assert fast_run.equity.equity == reference_run.equity.equity
    assert fast_run.equity.exposed == reference_run.equity.exposed
    assert [r.scored for r in fast_run.reports] == [r.scored for r in reference_run.reports]
    assert [r.outcomes for r in fast_run.reports] == [r.outcomes for r in reference_run.reports]
    return {table: len(rows) for table, rows in theirs.items()}


def test_local_members_store_the_same_as_when_every_write_is_immediate(tmp_path: Path) -> None:
    # Two and a half days with two trades (one per symbol), each ended by its stop or a target.
    members = [local_member(name) for name in LOCAL]
    counts = assert_same_runs(tmp_path, members, "2025-12-27", "2025-12-29T12:00:00Z")
    assert counts["answer"] == 3 * counts["consensus_vote"] > 1_000
    assert counts["member score"] > 0
    assert counts["swarm score"] > 0
    assert counts["closed_trade"] == 2
    assert counts["order_fill"] >= 4


def test_many_trades_store_the_same_as_when_every_write_is_immediate(tmp_path: Path) -> None:
    # A week of random entries (about five a day per symbol, most refused while a position is
    # open): entries, stops, targets, positions held at the end, reconciliations.
    start_ms, end_ms = parse_utc("2026-01-01"), parse_utc("2026-01-08")
    member = RandomMember(SYMBOLS, list(range(start_ms, end_ms + 1, STEP)), seed=7, p_entry=0.05)
    counts = assert_same_runs(tmp_path, [member], "2026-01-01", "2026-01-08")
    assert counts["closed_trade"] >= 4
    assert counts["open_position"] >= 1
    assert counts["order_decision"] > counts["closed_trade"]


def test_a_batch_that_fails_leaves_nothing_behind(tmp_path: Path) -> None:
    """One transaction per batch: a crash or an error mid-batch writes none of it."""
    store = Store.open(str(tmp_path / "batch.db"), throwaway=True)
    members = [local_member(name) for name in LOCAL]
    state = FEED.states["BTC"].state_at(parse_utc("2026-01-05"))
    request = DecisionRequest("c", "BTC", state, RenderedPrompt("", "", "v1"))
    answers = [anyio.run(m.decide, request) for m in members]
    batch = CycleBatch()
    batch.add_answers("c1", 1, "v1", "digest", answers, 1)
    batch.write(store)
    batch.add_answers("c2", 2, "v1", "digest", answers, 2)
    batch.add_answers("c1", 1, "v1", "digest", answers[:1], 3)  # a duplicate: the insert fails
    with pytest.raises(StoreError, match="UNIQUE"):
        batch.write(store)
    assert [a.cycle_id for a in store.answers()] == ["c1"] * 3
    assert len(batch) == 4  # kept, as it was


def test_a_quiet_candle_moves_the_paper_venue_as_its_path_does() -> None:
    """Floats take on_quiet_candle (no order open); Decimals always walk the candle's path."""
    candles = FEED.finest("BTC").slice(1_000, 1_200)
    quiet, walked = new_paper_venue(10_000), new_paper_venue(10_000)
    for i in range(len(candles)):
        o, h, lo, c = (float(p[i]) for p in (candles.open, candles.high, candles.low, candles.close))
        at, bar = int(candles.ts_ms[i]), candles.timeframe.ms
        quiet.on_candle("BTC", at, o, h, lo, c, bar)
        walked.on_candle("BTC", at, Decimal(str(o)), Decimal(str(h)), Decimal(str(lo)), Decimal(str(c)), bar)
    assert quiet.to_dict() == walked.to_dict()
    bad = int(candles.ts_ms[-1]) + 2 * candles.timeframe.ms
    for venue, price in ((quiet, float("nan")), (walked, Decimal("NaN"))):
        with pytest.raises(ValueError, match="not a positive number"):
            venue.on_candle("BTC", bad, price, 1.0, 1.0, 1.0, candles.timeframe.ms)
