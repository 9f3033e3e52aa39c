"""The risk state end to end: the daily-loss breaker survives restarts and clears at midnight, and the
kill switch set on the command line changes what the risk engine lets through.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consensus.decision import Action
from execution.paper import PaperVenue
from execution.risk import RiskEngine, next_utc_midnight
from execution.types import Approved, Denied, RiskLimits, TradingState
from swarm.cli import app
from swarm.config import load_settings
from swarm.store import Store
from swarm.venues import open_venue
from tests.executor_harness import Harness, new_executor, paper_harness_fixture  # noqa: F401
from tests.risk_cases import consensus
from tests.stores import FakeClock

pytestmark = pytest.mark.anyio

# A 2 % stop on 50 % of the equity loses ~1 %: over this limit.
LIMITS = RiskLimits(daily_loss_pct=0.5, correlation_max=1.0, cooldown_ms=0, cooldown_after_loss_ms=0)


async def decide(harness: Harness, action: Action = Action.LONG, symbol: str = "ETH") -> Approved | Denied:
    now = harness.clock.now
    portfolio = await harness.executor.portfolio(now)
    infos = {s: await harness.market_info(s) for s in ("BTC", "ETH", "SOL")}
    result = RiskEngine(LIMITS).evaluate(consensus(action, symbol, size=50.0), portfolio, infos, now)
    assert isinstance(result, Approved | Denied)
    return result


async def test_the_breaker_trips_survives_a_restart_and_clears_at_midnight(paper_harness: Harness) -> None:
    harness = paper_harness
    harness.executor.limits = LIMITS
    entry = await decide(harness, symbol="BTC")
    assert isinstance(entry, Approved)
    assert (await harness.executor.execute(entry.intent)).status == "filled"
    harness.set_mark("BTC", "68000")  # the stop fires: about 1 % of the equity lost

    tripped = await decide(harness)
    assert isinstance(tripped, Denied)
    assert tripped.reason == "breaker"
    until = next_utc_midnight(harness.clock.now)
    assert harness.store.risk_state().breaker_tripped_until_ms == until

    # A restart later the same day: new store, the paper account from the journal, new executor.
    account = harness.paper.to_dict() if harness.paper else {}
    harness.store.close()
    clock = FakeClock(harness.tick(3_600_000))
    reopened = Store.open(str(harness.db_path), clock=clock)
    paper = open_venue("paper", load_settings(), confirm_live=False, environ={}, journal=reopened)
    assert isinstance(paper, PaperVenue)
    assert paper.to_dict() == account
    harness.store, harness.clock, harness.venue, harness.paper = reopened, clock, paper, paper
    harness.executor = new_executor(paper, reopened, clock, limits=LIMITS)
    still = await decide(harness)
    assert isinstance(still, Denied)
    assert still.reason == "breaker"

    clock.now = until + 1  # the next UTC day: a new start-of-day equity, no loss yet
    harness.set_mark("ETH", "3500")
    cleared = await decide(harness)
    assert isinstance(cleared, Approved)
    assert reopened.risk_state().breaker_tripped_until_ms is None
    reopened.close()


def invoke(db: Path, *args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"SWARM_DB": str(db)})
    assert result.exit_code == 0, result.output
    return result.output


async def test_halt_and_resume_change_what_the_risk_engine_lets_through(paper_harness: Harness) -> None:
    harness = paper_harness
    entry = await harness.approve(Action.LONG, "SOL")
    await harness.executor.execute(entry)

    assert (
        invoke(harness.db_path, "halt", "--reason", "manual check")
        == "trading state: HALTED (manual check)\n"
    )
    assert invoke(harness.db_path, "halt") == "trading state: HALTED\n"  # halting twice is fine
    for action, symbol in ((Action.LONG, "ETH"), (Action.CLOSE, "SOL")):
        halted = await decide(harness, action, symbol)
        assert isinstance(halted, Denied)
        assert halted.reason == "halted"  # exits included
    assert len(await harness.open_orders("SOL")) == 3  # the resting stop and targets stay

    assert invoke(harness.db_path, "resume") == "trading state: ACTIVE\n"
    assert isinstance(await decide(harness, Action.CLOSE, "SOL"), Approved)
    assert harness.store.risk_state().trading_state is TradingState.ACTIVE


async def test_status_shows_the_state_the_breaker_and_the_open_positions(paper_harness: Harness) -> None:
    harness = paper_harness
    await harness.executor.execute(await harness.approve(Action.SHORT, "ETH"))
    invoke(harness.db_path, "halt", "--reason", "news")

    document = json.loads(invoke(harness.db_path, "status", "--json"))

    assert (document["trading_state"], document["reason"]) == ("HALTED", "news")
    assert document["breaker"] == {"tripped": False, "until": None}
    [position] = document["positions"]
    assert (position["symbol"], position["side"]) == ("ETH", "SHORT")
    assert position["stop_loss_price"] is not None
    assert "HALTED" in invoke(harness.db_path, "status")


def test_status_of_a_missing_journal_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "nothing-yet.db"
    document = json.loads(invoke(db, "status", "--json"))
    assert (document["trading_state"], document["positions"]) == ("ACTIVE", [])
    assert not db.exists()
