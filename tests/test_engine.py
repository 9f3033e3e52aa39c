"""The engine on the backtest wiring: simulated clock, replay states, paper venue, real store."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import anyio
import numpy as np
import pytest
from typer.testing import CliRunner

from consensus.decision import Action, Ballot, TradeDecision, Usage
from execution.orders import VenueExecutor
from execution.types import TradingState
from feeds.sources.replay import ReplaySource, default_data_dir
from feeds.types import DAY_MS, HOUR_MS, MINUTE_MS
from swarm.backtest import BacktestRun, PaperStepper, ReplayFeed, market_infos, new_paper_venue, run_loop
from swarm.cli import app
from swarm.engine import Engine, EngineConfig
from swarm.members.base import Answer, DecisionRequest
from swarm.members.local import local_member
from swarm.recorder import StoreRecorder
from swarm.scoring_job import score_due
from swarm.store import Store
from swarm.timeutil import parse_utc

START = parse_utc("2026-01-05T00:00:00Z")
STEP = 15 * MINUTE_MS
SOURCE = ReplaySource(default_data_dir())


class ScriptedMember:
    """An in-process member that always answers the same decision, and records what it saw."""

    def __init__(self, name: str, decision: TradeDecision) -> None:
        self._name = name
        self._decision = decision
        self.seen: list[tuple[int, int]] = []  # (state timestamp ms, number of requests)

    @property
    def name(self) -> str:
        return self._name

    @property
    def model(self) -> str:
        return f"local/{self._name}"

    @property
    def provider(self) -> str:
        return "local"

    async def decide(self, request: DecisionRequest) -> Answer:
        self.seen.append((int(request.state.timestamp.timestamp() * 1000), 1))
        ballot = Ballot(
            member=self.name, model=self.model, symbol=request.symbol, decision=self._decision, usage=Usage()
        )
        return Answer(vote=ballot)


LONG = TradeDecision(
    action=Action.LONG,
    confidence=80,
    position_size_pct=20,
    take_profit=(0.03,),
    stop_loss=0.01,
    reasoning="x",
)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> int:
        return self.now


def build(
    tmp_path: Path, members: Sequence[object], symbols: tuple[str, ...] = ("BTC",), **config: object
) -> tuple[Engine, PaperStepper, Store, Clock]:
    store = Store.open(str(tmp_path / "bt.db"))
    clock = Clock()
    venue = new_paper_venue(10_000)
    feed = ReplayFeed(SOURCE, symbols)

    async def scorer(now_ms: int) -> int:
        return (await score_due(store, SOURCE, now_ms)).scored

    engine = Engine(
        config=EngineConfig(symbols=symbols, **config),  # type: ignore[arg-type]
        members=members,  # type: ignore[arg-type]
        feed=feed,
        executor=VenueExecutor(venue, store, now=clock),
        recorder=StoreRecorder(store, scorer, score_every_ms=HOUR_MS),
        markets=market_infos(symbols, {"BTC": 50, "ETH": 50}),
    )
    return engine, PaperStepper(venue, feed, symbols), store, clock


def run(engine: Engine, stepper: PaperStepper, clock: Clock, hours: float) -> BacktestRun:
    def tick(now_ms: int) -> None:
        clock.now = now_ms

    async def go() -> BacktestRun:
        return await run_loop(engine, stepper, START, START + int(hours * HOUR_MS), STEP, on_step=tick)

    return anyio.run(go)


def test_members_only_ever_see_the_present(tmp_path: Path) -> None:
    member = ScriptedMember("watcher", LONG.model_copy(update={"action": Action.HOLD}))
    engine, stepper, store, clock = build(tmp_path, [member])
    run(engine, stepper, clock, hours=6)
    cycle_times = [START + i * STEP for i in range(25)]
    assert [t for t, _ in member.seen] == cycle_times  # flat all along: asked every cycle, at its time
    assert {a.market_ts for a in store.answers()} == set(cycle_times)


def test_a_long_consensus_opens_a_protected_position_and_its_exit_is_journaled(tmp_path: Path) -> None:
    member = ScriptedMember("bull", LONG)
    engine, stepper, store, clock = build(tmp_path, [member])
    result = run(engine, stepper, clock, hours=72)
    trades = store.closed_trades()
    assert trades, "a 1 % stop or 3 % target is hit within three days of BTC"
    first = trades[0]
    assert first.side.value == "LONG"
    assert first.reason in {"stop_loss", "take_profit"}
    assert first.fees_usd > 0
    # While the position was open the member was asked only every 4 h, not every 15 min.
    held = [t for t, _ in member.seen if first.opened_at < t < first.closed_at]
    assert all(b - a >= 4 * HOUR_MS for a, b in itertools.pairwise(held))
    assert result.equity.equity[-1] != 10_000
    # The journal is what `swarm trades` lists.
    listed = CliRunner().invoke(app, ["trades", "--json"], env={"SWARM_DB": str(tmp_path / "bt.db")})
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)["trades"]
    assert len(rows) == len(trades)
    assert rows[0]["pnl_usd"] == pytest.approx(first.pnl_usd)
    assert rows[0]["reason"] == first.reason


def test_a_roster_of_one_trades_its_own_decision(tmp_path: Path) -> None:
    engine, stepper, _store, _clock = build(tmp_path, [ScriptedMember("solo", LONG)])
    report = None

    async def first_cycle() -> None:
        nonlocal report
        stepper.advance(START - STEP, START)  # the paper venue learns the mark from the last candle
        await engine.start(START)
        report = await engine.cycle(START, "c1")

    anyio.run(first_cycle)
    assert report is not None
    [outcome] = report.outcomes
    assert outcome.consensus.action is Action.LONG
    assert outcome.consensus.stop_loss == LONG.stop_loss
    assert outcome.consensus.take_profit == LONG.take_profit
    assert outcome.execution is not None
    assert outcome.execution.status == "filled"


def test_halted_trading_places_no_order(tmp_path: Path) -> None:
    engine, stepper, store, clock = build(tmp_path, [ScriptedMember("bull", LONG)])
    store.set_trading_state(TradingState.HALTED, "test", START)
    run(engine, stepper, clock, hours=3)
    assert store.closed_trades() == []
    assert anyio.run(stepper.venue.positions) == []
    decisions = store.engine.connect().exec_driver_sql("SELECT denial_reason FROM order_decision").fetchall()
    assert decisions
    assert {row[0] for row in decisions} == {"halted"}


def test_local_members_backtest_records_everything_and_scores_once_due(tmp_path: Path) -> None:
    members = [local_member(n) for n in ("local/trend", "local/meanrev", "local/funding")]
    engine, stepper, store, clock = build(tmp_path, members, symbols=("BTC", "ETH"))
    result = run(engine, stepper, clock, hours=12)
    assert result.steps == 49 * 2
    answers = store.answers()
    assert len(answers) == 49 * 2 * 3
    connection = store.engine.connect()
    votes = connection.exec_driver_sql("SELECT count(*) FROM consensus_vote").scalar()
    scored = connection.exec_driver_sql("SELECT max(scored_at) FROM score").scalar()
    assert votes == 49 * 2
    assert scored is not None
    assert scored <= START + 12 * HOUR_MS  # nothing scored before its horizon had passed
    assert Decimal(str(result.equity.equity[0])) == Decimal("10000")


@pytest.fixture(autouse=True)
def _quiet_logs() -> None:
    """The engine logs through the standard logging module; no handler is needed for the tests."""


def test_the_paper_stepper_settles_every_hour_of_funding_as_buy_and_hold_counts_it() -> None:
    """A long held 30 h pays, at each hour's end, size x the mark x the rate in effect then."""
    from swarm.baselines import FundingSeries

    feed = ReplayFeed(SOURCE, ("BTC",))
    venue = new_paper_venue(10_000)
    stepper = PaperStepper(venue, feed, ("BTC",))
    stepper.advance(START - STEP, START)
    size = Decimal("0.01")
    anyio.run(lambda: venue.place_market_order("BTC", "bid", size, client_order_id="hold-1"))
    times = list(range(START + STEP, START + 30 * HOUR_MS + 1, STEP))
    previous = START
    for now in times:
        stepper.advance(previous, now)
        previous = now
    candles = feed.finest("BTC")
    closes = {int(t): float(c) for t, c in zip(candles.close_ms, candles.close, strict=True)}
    funding = FundingSeries.from_prints(list(feed.histories["BTC"].funding.items))
    boundaries = [t for t in times if t % HOUR_MS == 0]
    rates = funding.rate_at(np.asarray(boundaries))
    expected = sum(float(size) * closes[b] * r for b, r in zip(boundaries, rates, strict=True))
    assert len(boundaries) == 30
    assert expected > 0  # BTC's funding was positive then: the long pays
    assert float(venue.statement().funding_paid) == pytest.approx(expected, abs=30 * 1e-6)


def test_a_backtest_accounts_for_every_dollar_fees_and_funding_included() -> None:
    """On the backtest wiring, seeded random entries for a month: whenever the book is flat, equity
    is the start plus the net PnL of every closed trade, so no fee and no hour of funding is lost
    between the venue and the journal (a stop filling before the hourly re-read once lost it)."""
    from swarm.backtest_runs import Plan, _random_member, side_run
    from swarm.config import Settings

    start = parse_utc("2025-09-01T00:00:00Z")
    plan = Plan(
        ReplayFeed(SOURCE, ("BTC", "ETH")), ["BTC", "ETH"], Settings(), start, start + 30 * DAY_MS, STEP
    )
    outcome = anyio.run(side_run, "random", plan, _random_member(plan), "t")
    trades = outcome.trades
    assert len(trades) >= 10
    assert sum(abs(t.funding_usd) for t in trades) > 0.1
    curve = outcome.run.equity
    checked = 0
    for now, equity, exposed in zip(curve.ts_ms, curve.equity, curve.exposed, strict=True):
        if not exposed:
            done = [t for t in trades if t.closed_at <= now]
            # The venue rounds each cash flow to USDC's 6 decimals; a missed hour of funding is ~0.02.
            tolerance = 1e-5 * max(1, len(done))
            assert equity == pytest.approx(10_000 + sum(t.pnl_usd for t in done), abs=tolerance), now
            checked += 1
    assert checked > 10
