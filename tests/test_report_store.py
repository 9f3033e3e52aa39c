"""The report's part of the store (schema version 4) on SQLite and, in CI, PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from consensus.decision import Action, Ballot, TradeDecision
from consensus.vote import vote
from execution.journal import TradeRecord
from execution.types import Side
from swarm.members.base import Answer
from swarm.store import Store
from tests.states import full_state

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
STEP = 900_000


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = Store.open(db_url)
    yield opened
    opened.close()


def test_a_live_run_is_one_run_per_mode_extended_by_every_restart(store: Store) -> None:
    first = store.run_of_kind("paper", {"symbols": ["BTC"], "step_ms": STEP})
    store.append_point(first, "swarm", T0, 10_000.0, False, {"BTC": (90_000.0, 1e-5), "ETH": (3_000.0, None)})
    again = store.run_of_kind("paper", {"symbols": ["BTC", "ETH"], "step_ms": STEP})
    assert again == first
    store.append_point(again, "swarm", T0 + STEP, 10_050.0, True, {"BTC": (90_500.0, 2e-5)})
    # A cycle recorded twice (a restart within one step) keeps the first record.
    store.append_point(again, "swarm", T0 + STEP, 1.0, False, {"BTC": (1.0, None)})
    assert store.run_of_kind("live", {}) != first
    (run,) = [r for r in store.runs() if r.kind == "paper"]
    assert run.meta["symbols"] == ["BTC", "ETH"]
    curve = store.curve(first, "swarm")
    assert (curve.ts_ms, curve.equity, curve.exposed) == (
        [T0, T0 + STEP],
        [10_000.0, 10_050.0],
        [False, True],
    )
    assert store.marks(first) == {
        "BTC": [(T0, 90_000.0, 1e-5), (T0 + STEP, 90_500.0, 2e-5)],
        "ETH": [(T0, 3_000.0, None)],
    }
    with pytest.raises(ValueError, match="run kind must be one of backtest, paper, live"):
        store.run_of_kind("demo", {})


def test_curves_and_their_trades_are_replaced_whole(store: Store) -> None:
    run = store.create_run("backtest", {"title": "t"})
    store.write_curve(run, "random entries", [T0, T0 + STEP], [10_000.0, 9_990.0], [False, True])
    store.write_curve(run, "random entries", [T0], [10_000.0], [False])
    assert store.curve(run, "random entries").ts_ms == [T0]
    trade = TradeRecord("BTC", Side.LONG, 100.0, 101.0, 2.0, 1.5, 0.16, 0.34, T0, T0 + STEP, "take_profit")
    store.write_curve_trades(run, "random entries", [trade, trade])
    store.write_curve_trades(run, "random entries", [trade])
    assert store.curve_trades(run, "random entries") == [trade]
    assert store.curve_names(run) == ["random entries"]
    with pytest.raises(ValueError, match="2 times, 1 values, 2 flags"):
        store.write_curve(run, "x", [T0, T0 + STEP], [1.0], [False, False])


def test_a_consensus_is_read_back_with_its_ballots_and_the_entry_state(store: Store) -> None:
    state = full_state("BTC", timestamp=datetime.fromtimestamp(T0 / 1000, tz=UTC))
    ballots = [
        Ballot(
            member=m, model=f"test/{m}", symbol="BTC",
            decision=TradeDecision(
                action=Action.LONG, confidence=c, reasoning=f"{m} <says> long", stop_loss=0.01
            ),
        )
        for m, c in (("a", 70.0), ("b", 90.0))
    ]  # fmt: skip
    consensus = vote(ballots, {"a": 1.0, "b": 2.0})
    store.record_answers("c1", T0, "v1", "digest", [Answer(vote=b) for b in ballots])
    store.record_consensus("c1", T0, consensus)
    store.record_entry_state("c1:BTC", state)
    store.record_entry_state("c1:BTC", state.model_copy(update={"symbol": "ETH"}))  # kept once
    assert store.consensus_of("c1", "BTC") == consensus
    assert store.consensus_of("c1", "ETH") is None
    assert store.entry_state("c1:BTC") == state
    assert store.entry_state("c2:BTC") is None
    votes = store.member_votes("b")
    assert votes == {("BTC", T0): ballots[1]}
