"""The scoring job on replay data: scores only once the horizon has passed, once, from prices known then.

Expected scores come from consensus.scoring over candles read straight from the bundled CSV files
(tests.bundled), independently of the replay source the job reads through.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import numpy as np
import pytest
from sqlmodel import Session, col, select

from consensus.decision import Action, TradeDecision
from consensus.scoring import DEFAULT_FEE_RATE, score_ballot
from feeds.sources.replay import ReplaySource, default_data_dir
from feeds.types import DAY_MS, MINUTE_MS, Timeframe
from swarm.config import load_settings
from swarm.scoring_job import ScoringReport, score_due
from swarm.store import Store
from swarm.store_schema import ScoreRow
from tests import bundled
from tests.replay_data import CANDLE_HEADER, DAY0, candle_path, write_csv
from tests.stores import FakeClock
from tests.track_history import HOUR_MS, T0, H, ballot, consensus

M15 = 15 * MINUTE_MS
LADDER = {"take_profit": (0.004, 0.01), "stop_loss": 0.006}


@pytest.fixture(scope="module")
def replay() -> ReplaySource:
    return ReplaySource(default_data_dir())


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = Store.open(db_url, clock=FakeClock(T0))
    yield opened
    opened.close()


def _run(store: Store, source: ReplaySource, now: int) -> ScoringReport:
    return anyio.run(score_due, store, source, now, H, DEFAULT_FEE_RATE)


def _scores(store: Store) -> list[ScoreRow]:
    with Session(store.engine) as session:
        return list(session.exec(select(ScoreRow).order_by(col(ScoreRow.id))))


def _decision(action: Action = Action.LONG) -> TradeDecision:
    vote = ballot("a", action, 70.0, **LADDER).vote
    assert vote.kind == "ballot"
    return vote.decision


def _assert_scored_as(row: ScoreRow, decision: TradeDecision, at: int, symbol: str, tf: Timeframe) -> None:
    """The stored score is consensus.scoring's on the CSV's candles."""
    want = score_ballot(decision, at, bundled.candles(symbol, tf), H, DEFAULT_FEE_RATE)
    assert want is not None
    stored = (row.scored_at, row.entry_price, row.exit_price, row.move_pct, row.direction_correct)
    assert stored == (
        want.scored_at_ms,
        want.entry_price,
        want.exit_price,
        want.move_pct,
        want.direction_correct,
    )
    assert (row.pnl_pct_followed, row.brier, row.stopped) == (want.pnl_pct_followed, want.brier, want.stopped)
    assert (row.targets_hit, row.horizon_ms) == (want.targets_hit, H)


def test_a_ballot_is_scored_when_its_horizon_has_passed_and_not_before(
    store: Store, replay: ReplaySource
) -> None:
    store.record_answers("c1", T0, "v1", "d", [ballot("a", **LADDER)])
    assert _run(store, replay, T0 + H - 1) == ScoringReport(due=0, scored=0)
    assert _run(store, replay, T0 + H) == ScoringReport(due=1, scored=1)
    (row,) = _scores(store)
    _assert_scored_as(row, _decision(), T0, "BTC", Timeframe.M15)
    candles = bundled.candles("BTC", Timeframe.M15)
    first = int(np.searchsorted(candles.ts_ms, T0))
    # Entry: the open of the 12:00 candle; exit: the close of the 15:45 candle, which closes at T0 + H.
    assert row.entry_price == candles.open[first]
    assert row.exit_price == candles.close[first + 15]
    assert row.scored_at == T0 + H


def test_a_ballot_made_mid_candle_waits_for_the_candle_holding_its_horizon(
    store: Store, replay: ReplaySource
) -> None:
    at = T0 + 5 * MINUTE_MS
    store.record_answers("c1", at, "v1", "d", [ballot("a")])
    assert _run(store, replay, at + H) == ScoringReport(due=1, scored=0)  # 16:05: its candle is open
    assert _run(store, replay, T0 + H + M15) == ScoringReport(due=1, scored=1)  # 16:15: closed
    (row,) = _scores(store)
    assert row.scored_at == T0 + H + M15


def test_scoring_twice_scores_nothing_twice(store: Store, replay: ReplaySource) -> None:
    store.record_answers("c1", T0, "v1", "d", [ballot("a"), ballot("b", Action.SHORT)])
    store.record_consensus("c1", T0, consensus(Action.LONG, 65.0, ("a",), {"a": 1.0, "b": 0.5}))
    assert _run(store, replay, T0 + 2 * H) == ScoringReport(due=3, scored=3)
    assert _run(store, replay, T0 + 3 * H) == ScoringReport(due=0, scored=0)
    assert len(_scores(store)) == 3


def test_the_consensus_is_scored_like_a_ballot(store: Store, replay: ReplaySource) -> None:
    vote = consensus(Action.SHORT, 80.0, ("a",), {"a": 1.0})
    store.record_consensus("c1", T0, vote.model_copy(update=LADDER | {"position_size_pct": 5.0}))
    _run(store, replay, T0 + H)
    (row,) = _scores(store)
    assert row.answer_id is None
    assert row.consensus_id is not None
    decision = TradeDecision(action=Action.SHORT, confidence=80.0, position_size_pct=5.0, **LADDER)
    _assert_scored_as(row, decision, T0, "BTC", Timeframe.M15)


def test_near_the_end_of_the_data_only_what_could_be_waited_for_is_scored(
    store: Store, replay: ReplaySource
) -> None:
    last = replay.coverage("BTC")[1]  # the last candle's close
    store.record_answers("ends", last - H, "v1", "d", [ballot("a")])
    store.record_answers("past", last - H + M15, "v1", "d", [ballot("a")])  # horizon after the data
    now = last + M15
    assert _run(store, replay, now) == ScoringReport(due=2, scored=1)
    (row,) = _scores(store)
    assert row.exit_price == bundled.candles("BTC", Timeframe.M15).close[-1]
    assert row.scored_at == last
    assert _run(store, replay, now).waiting == 1  # still waiting, never guessed


def test_prices_after_now_are_never_used(store: Store, tmp_path: Path) -> None:
    """Two markets with the same past and different futures: the same ballot on each scores alike."""
    at, now = DAY0 + 12 * HOUR_MS, DAY0 + 12 * HOUR_MS + H
    for symbol, later in (("CALM", 1.0), ("CRASH", 0.3)):
        rows = [
            [ts, *(price * (later if ts >= now else 1.0) for price in (100 + i % 3, 102, 98, 100.5)), 5]
            for i, ts in enumerate(range(DAY0, DAY0 + 2 * DAY_MS, M15))
        ]
        write_csv(candle_path(tmp_path, symbol, Timeframe.M15), CANDLE_HEADER, rows)
        store.record_answers(symbol, at, "v1", "d", [ballot("a", symbol=symbol, **LADDER)])
    assert _run(store, ReplaySource(tmp_path), now).scored == 2
    calm, crash = ((r.entry_price, r.exit_price, r.pnl_pct_followed, r.stopped) for r in _scores(store))
    assert calm == crash


def test_old_ballots_are_scored_from_history_known_at_an_earlier_moment(
    store: Store, replay: ReplaySource
) -> None:
    old = T0 - 20 * DAY_MS  # beyond the 1,500 15m candles a snapshot at T0 + H holds
    store.record_answers("old", old, "v1", "d", [ballot("a", **LADDER)])
    store.record_answers("new", T0, "v1", "d", [ballot("a", **LADDER)])
    assert _run(store, replay, T0 + H) == ScoringReport(due=2, scored=2)
    old_row, new_row = _scores(store)
    _assert_scored_as(old_row, _decision(), old, "BTC", Timeframe.M15)
    _assert_scored_as(new_row, _decision(), T0, "BTC", Timeframe.M15)


def test_without_15m_candles_the_hourly_ones_are_used(store: Store, replay: ReplaySource) -> None:
    sol, btc_before_15m = T0, 1_746_100_800_000  # 2025-05-01T12:00Z: BTC has 1h files only then
    store.record_answers("sol", sol, "v1", "d", [ballot("a", symbol="SOL", **LADDER)])
    store.record_answers("btc", btc_before_15m, "v1", "d", [ballot("a", **LADDER)])
    assert _run(store, replay, T0 + H).scored == 2
    by_owner = {row.scored_at: row for row in _scores(store)}
    _assert_scored_as(by_owner[sol + H], _decision(), sol, "SOL", Timeframe.H1)
    _assert_scored_as(by_owner[btc_before_15m + H], _decision(), btc_before_15m, "BTC", Timeframe.H1)


def test_a_symbol_the_source_lacks_is_reported_and_the_rest_scored(
    store: Store, replay: ReplaySource
) -> None:
    store.record_answers("c1", T0, "v1", "d", [ballot("a"), ballot("a", symbol="DOGE")])
    report = _run(store, replay, T0 + H)
    assert (report.due, report.scored) == (2, 1)
    assert len(report.notes) == 1
    assert report.notes[0].startswith("DOGE: 1 ballot(s) not scored: no replay data for 'DOGE'")


def test_the_horizon_is_a_setting(
    store: Store, replay: ReplaySource, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWARM_SCORE_HORIZON_H", "2")
    horizon = load_settings().score_horizon_ms
    assert horizon == 2 * HOUR_MS
    store.record_answers("c1", T0, "v1", "d", [ballot("a")])
    assert anyio.run(score_due, store, replay, T0 + horizon, horizon).scored == 1
    (row,) = _scores(store)
    assert (row.horizon_ms, row.scored_at) == (horizon, T0 + horizon)


def test_a_ballot_older_than_the_hourly_data_is_reported(store: Store, replay: ReplaySource) -> None:
    before_hourly = 1_725_192_000_000  # 2024-09-01T12:00Z: BTC has 4h and 1d candles only
    store.record_answers("c1", before_hourly, "v1", "d", [ballot("a")])
    report = _run(store, replay, T0 + H)
    assert (report.due, report.scored) == (1, 0)
    assert report.notes == ("BTC: 1 ballot(s) not scored: no 15m or 1h candles back to their entry",)
