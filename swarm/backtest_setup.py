"""Wire a backtest: replay feed, paper venue, executor, recorder and engine on one store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from consensus.decision import Ballot, TradeDecision, Usage
from execution.orders import VenueExecutor
from feeds.types import HOUR_MS
from swarm.backtest import PaperStepper, ReplayFeed, market_infos, new_paper_venue
from swarm.baselines import random_decisions
from swarm.config import Settings
from swarm.engine import Engine, EngineConfig
from swarm.members.base import Answer, DecisionRequest, Member
from swarm.recorder import ReplayRecorder
from swarm.replay_scoring import ReplayScorer
from swarm.store import Store

LEVERAGE = {"BTC": 50, "ETH": 50, "SOL": 20}
# Scoring runs every 4 h of market time: the horizon is 4 h, so weights lag at most one horizon.
SCORE_EVERY_MS = 4 * HOUR_MS
# A paper account changes only through fills, which the stepper reports; equity for the daily-loss
# rule is refreshed at least this often.
PORTFOLIO_REFRESH_MS = HOUR_MS
# Rows written per transaction (answers, votes, decisions, scores): ~1 % of a year's run at a time.
FLUSH_ROWS = 20_000


class SimClock:
    """The backtest's clock: the time of the step being run."""

    def __init__(self, start_ms: int) -> None:
        self.now = start_ms

    def __call__(self) -> int:
        return self.now


@dataclass
class Wiring:
    engine: Engine
    stepper: PaperStepper
    clock: SimClock


def wire(
    *,
    store: Store,
    clock: SimClock,
    feed: ReplayFeed,
    members: Sequence[Member],
    symbols: Sequence[str],
    settings: Settings,
    interval_ms: int,
    priors: Mapping[str, float] | None = None,
) -> Wiring:
    venue = new_paper_venue(settings.paper_equity_usd)
    candles = {s: feed.histories[s].candles for s in symbols}

    config = EngineConfig(
        symbols=tuple(symbols),
        interval_ms=interval_ms,
        deadline_s=settings.deadline_s,
        portfolio_refresh_ms=PORTFOLIO_REFRESH_MS,
    )
    engine = Engine(
        config=config,
        members=members,
        feed=feed,
        # A backtest's store is rebuilt by rerunning, never resumed: no paper-account snapshots.
        executor=VenueExecutor(venue, store, now=clock, keep_venue_state=False),
        recorder=ReplayRecorder(
            store,
            ReplayScorer(candles, settings.score_horizon_ms),
            score_every_ms=SCORE_EVERY_MS,
            flush_rows=FLUSH_ROWS,
        ),
        markets=market_infos(symbols, LEVERAGE),
        priors=priors,
    )
    return Wiring(engine, PaperStepper(venue, feed, symbols), clock)


class RandomMember:
    """The random-entries baseline as a member: seeded draws per symbol, through the same risk rules."""

    def __init__(self, symbols: Sequence[str], timestamps: Sequence[int], seed: int, p_entry: float) -> None:
        self._draws: dict[tuple[str, int], TradeDecision] = {}
        for i, symbol in enumerate(symbols):
            for draw in random_decisions(timestamps, seed + i, p_entry):
                self._draws[(symbol, draw.ts_ms)] = draw.decision

    @property
    def name(self) -> str:
        return "local/random"

    @property
    def model(self) -> str:
        return "local/random"

    @property
    def provider(self) -> str:
        return "local"

    async def decide(self, request: DecisionRequest) -> Answer:
        at = int(request.state.timestamp.timestamp() * 1000)
        decision = self._draws[(request.symbol, at)]
        ballot = Ballot(
            member=self.name, model=self.model, symbol=request.symbol, decision=decision, usage=Usage()
        )
        return Answer(vote=ballot)
