"""A backtest's runs saved into its store, and the report rebuilt from the store alone."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import pytest

from consensus.decision import Action, Ballot, TradeDecision, Usage
from feeds.sources.replay import ReplaySource, default_data_dir
from feeds.types import MINUTE_MS
from swarm.backtest import ReplayFeed
from swarm.backtest_report import save_and_report
from swarm.backtest_runs import Outcome, Plan, run_all
from swarm.config import load_settings
from swarm.members.base import Answer, DecisionRequest
from swarm.report_build import pick_run, report_from_store
from swarm.report_schema import RUN_KINDS
from swarm.timeutil import parse_utc
from tests.html_tree import parse

START = parse_utc("2026-01-05T00:00:00Z")
END = parse_utc("2026-01-07T00:00:00Z")
STEP = 15 * MINUTE_MS
SOURCE = ReplaySource(default_data_dir())
LONG = TradeDecision(
    action=Action.LONG,
    confidence=80,
    position_size_pct=20,
    take_profit=(0.02,),
    stop_loss=0.005,
    reasoning="breakout <above> the range & volume",
)


class Voter:
    """Always LONG; `provider` "local" runs again alone, any other is replayed from the record."""

    def __init__(self, name: str, provider: str) -> None:
        self._name, self._provider = name, provider
        self.asked = 0

    @property
    def name(self) -> str:
        return self._name

    @property
    def model(self) -> str:
        return f"test/{self._name}"

    @property
    def provider(self) -> str:
        return self._provider

    async def decide(self, request: DecisionRequest) -> Answer:
        self.asked += 1
        reasoning = f"{self._name}: {LONG.reasoning}"
        decision = LONG.model_copy(update={"reasoning": reasoning})
        who = {"member": self.name, "model": self.model, "symbol": request.symbol}
        ballot = Ballot(decision=decision, usage=Usage(), **who)
        raw = None if self._provider == "local" else decision.model_dump_json()
        return Answer(vote=ballot, raw_text=raw)


@pytest.fixture
def outcome(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Outcome, Voter, Voter, int, int]:
    for key in [k for k in os.environ if k.startswith("SWARM_")]:
        monkeypatch.delenv(key)
    local, remote = Voter("quant", "local"), Voter("oracle", "fake-llm")
    plan = Plan(ReplayFeed(SOURCE, ["BTC"]), ["BTC"], load_settings(), START, END, STEP)
    done = anyio.run(run_all, plan, [local, remote], str(tmp_path / "bt.db"))
    asked_in_swarm = remote.asked
    return done, local, remote, asked_in_swarm, local.asked


def test_every_run_is_saved_and_the_report_is_rebuilt_from_the_store(
    outcome: tuple[Outcome, Voter, Voter, int, int], tmp_path: Path
) -> None:
    done, _local, remote, remote_asked, local_asked = outcome
    store = done.store
    try:
        written = save_and_report(done, ["quant", "oracle"], tmp_path / "bt.html")
        run = pick_run(store, None)
        assert run.kind == "backtest"
        assert run.kind in RUN_KINDS
        assert set(store.curve_names(run.id)) == {
            "swarm", "buy and hold", "always flat", "random entries", "alone:quant", "alone:oracle",
        }  # fmt: skip
        # The LLM-like member was replayed, not asked again; the local one ran again alone.
        assert remote.asked == remote_asked
        assert local_asked > 0
        swarm = store.curve(run.id, "swarm")
        assert swarm.ts_ms == done.swarm.equity.ts_ms
        assert swarm.equity == done.swarm.equity.equity
        # Both always agree: each followed alone trades exactly as the swarm did.
        assert store.curve(run.id, "alone:oracle").equity == swarm.equity
        assert store.curve(run.id, "alone:quant").equity == swarm.equity
        assert len(store.curve_trades(run.id, "alone:oracle")) == len(done.alone["oracle"].trades) > 0

        data = report_from_store(store, run, generated_at_ms=0)
        assert data.trades
        assert all(t.consensus is not None for t in data.trades)
        first = data.trades[0]
        assert first.consensus is not None
        assert first.entry_state is not None
        assert {b.member for b in first.consensus.ballots} == {"quant", "oracle"}
        assert first.entry_state.symbol == "BTC"
        assert int(first.entry_state.timestamp.timestamp() * 1000) == int(first.cycle_id.removeprefix("bt-"))
        assert first.entry_ms >= int(first.cycle_id.removeprefix("bt-"))
        alone = {m.member: m.alone for m in data.members}
        assert alone["oracle"] is not None
        assert alone["oracle"].summary.trades.count == len(done.alone["oracle"].trades)
        assert data.swarm.summary.trades.count == len(data.trades)
        assert [b.name for b in data.baselines] == ["buy and hold", "always flat", "random entries"]

        doc = parse(written.read_text())
        trades = doc.find("table", id="trades").text()
        assert "oracle: breakout <above> the range & volume" in trades  # the reasoning, escaped
        assert '"symbol": "BTC"' in trades  # the entry MarketState
        alone_table = doc.find("table", id="members-alone").text()
        assert "quant" in alone_table
        assert "oracle" in alone_table
    finally:
        store.close()


def test_a_run_is_picked_by_id_or_refused_by_name(outcome: tuple[Outcome, Voter, Voter, int, int]) -> None:
    from swarm.errors import UsageError

    store = outcome[0].store
    try:
        with pytest.raises(UsageError, match="records no run yet"):
            pick_run(store, None)
        save_and_report(outcome[0], ["quant", "oracle"], Path(os.devnull))
        assert pick_run(store, 1).id == 1
        with pytest.raises(UsageError, match=r"--run 5: no such run; this database has 1 \(backtest\)"):
            pick_run(store, 5)
    finally:
        store.close()
