"""The random-entries baseline of a `swarm run`, on the marks it recorded (real BTC/ETH prices)."""

from __future__ import annotations

from pathlib import Path

import anyio
import numpy as np
import pytest

from execution.journal import TradeRecord
from feeds.sources.replay import ReplaySource, default_data_dir
from feeds.types import HOUR_MS, MINUTE_MS, Timeframe
from swarm.mark_baseline import MarksFeed, random_on_marks
from swarm.report_store import StoredCurve
from swarm.timeutil import parse_utc

STEP = 15 * MINUTE_MS
START = parse_utc("2026-02-01T00:00:00Z")
TIMES = list(range(START, START + 4 * 24 * HOUR_MS, STEP))


def _marks(symbols: tuple[str, ...] = ("BTC", "ETH")) -> dict[str, list[tuple[int, float, float | None]]]:
    """Each cycle's mark = the close of the 15m candle that just closed; a constant funding rate."""
    source = ReplaySource(default_data_dir())
    marks = {}
    for symbol in symbols:
        candles = source.history(symbol).candles[Timeframe.M15]
        index = np.searchsorted(candles.close_ms, TIMES, side="right") - 1
        marks[symbol] = [(t, float(candles.close[i]), 1e-5) for t, i in zip(TIMES, index, strict=True)]
    return marks


def _run(p_entry: float) -> tuple[StoredCurve, list[TradeRecord]]:
    async def go() -> tuple[StoredCurve, list[TradeRecord]]:
        return await random_on_marks(
            _marks(),
            TIMES,
            ["BTC", "ETH"],
            step_ms=STEP,
            starting_equity=10_000.0,
            seed=7,
            p_entry=p_entry,
        )

    return anyio.run(go)


def test_no_entries_is_flat_and_trades_nothing() -> None:
    curve, trades = _run(0.0)
    assert curve.equity == [10_000.0] * len(TIMES)
    assert not any(curve.exposed)
    assert trades == []


def test_random_entries_trade_through_the_risk_rules_and_account_for_every_dollar() -> None:
    curve, trades = _run(0.1)
    assert curve.ts_ms == TIMES
    assert len(trades) >= 5
    assert all(t.fees_usd > 0 for t in trades)
    assert any(t.funding_usd != 0 for t in trades)  # funding settles hourly while held
    assert {t.reason for t in trades} <= {"stop_loss", "take_profit", "signal"}
    assert any(curve.exposed)
    # Whenever the book is flat, equity is the start plus every closed trade's net PnL so far
    # (fees and every hour of funding included).
    for i, t in enumerate(TIMES):
        if not curve.exposed[i]:
            done = sum(x.pnl_usd for x in trades if x.closed_at <= t)
            assert curve.equity[i] == pytest.approx(10_000.0 + done, abs=1e-6)
    again, _ = _run(0.1)
    assert again.equity == curve.equity  # seeded


def test_price_history_needs_every_hour_of_the_window() -> None:
    marks = _marks(("BTC",))
    feed = MarksFeed(marks)
    end = TIMES[-1] - TIMES[-1] % HOUR_MS
    history = feed.price_history("BTC", TIMES[-1])
    assert history is not None
    assert history.end_ms == end
    hourly = [p for t, p, _ in marks["BTC"] if t % HOUR_MS == 0]
    assert list(history.closes) == hourly
    holed = {"BTC": [m for m in marks["BTC"] if m[0] != end - 5 * HOUR_MS]}
    assert MarksFeed(holed).price_history("BTC", TIMES[-1]) is None
    assert MarksFeed(marks).price_history("SOL", TIMES[-1]) is None


def test_a_member_of_a_swarm_run_is_followed_alone_on_its_recorded_answers(tmp_path: Path) -> None:
    from consensus.decision import Action, Ballot, TradeDecision
    from swarm.members.base import Answer
    from swarm.report_data import RunMeta
    from swarm.report_live import mark_alone
    from swarm.store import Store

    marks = _marks(("BTC",))
    store = Store.open(str(tmp_path / "swarm.db"))
    try:
        run = store.run_of_kind("paper", {})
        for t, price, funding in marks["BTC"]:
            store.append_point(run, "swarm", t, 10_000.0, False, {"BTC": (price, funding)})
        long = TradeDecision(action=Action.LONG, confidence=80, position_size_pct=20, stop_loss=0.01)
        entry_slot = TIMES[8]
        # The cycle of that step ran 1.2 s after it; the member holds at every other cycle.
        for t in (entry_slot, TIMES[9]):
            decision = long if t == entry_slot else TradeDecision(action=Action.HOLD, confidence=50)
            ballot = Ballot(member="oracle", model="test/oracle", symbol="BTC", decision=decision)
            store.record_answers(f"c{t + 1_234}", t + 1_234, "v1", "d", [Answer(vote=ballot)])
        meta = RunMeta(
            title="t", roster=["oracle"], symbols=["BTC"], window_start_ms=TIMES[0],
            window_end_ms=TIMES[-1], step_ms=STEP, starting_equity_usd=10_000.0, taker_fee_rate=0.0004,
            generated_at_ms=0, kind="paper",
        )  # fmt: skip
        alone = mark_alone(store, store.marks(run), "oracle", meta, TIMES, None)
    finally:
        store.close()
    assert alone.summary.trades.count == 1
    assert alone.curve.timestamps_ms == TIMES
    # Flat until the step it voted LONG in, in a position right after.
    entered = TIMES.index(entry_slot)
    assert alone.curve.equity[:entered] == [10_000.0] * entered
    assert alone.curve.equity[entered] < 10_000.0  # the entry's fee
