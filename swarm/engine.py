"""The engine: one cycle is snapshot(s) -> swarm -> consensus -> risk -> venue -> record -> score.

Live, paper and backtest run this same Engine. Three things are injected and only they differ:
the clock (the caller passes `now_ms` into every cycle), the feed (exchange APIs or replay files)
and the venue (behind an Executor: Pacifica or paper). The engine never reads the wall clock or
the network itself.

Who is asked: a symbol with no open position every cycle; a symbol held, once every
`ask_while_holding_ms` (default 4 h): its exits are the exchange-side stop and targets, and a CLOSE
consensus may exit early when `close_on_consensus` is set. Every symbol's state is read every
cycle all the same: its price marks the account (a paper venue fires stops at marks) and the
run's record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from consensus.decision import Action, Vote
from consensus.scoring import DEFAULT_FEE_RATE
from consensus.vote import Consensus, VoteParams, vote
from consensus.weights import WeightParams
from execution.executor import ExecutionReport, Executor
from execution.risk import RiskEngine
from execution.types import Approved, MarketInfo, NoAction, Portfolio, PriceHistory, RiskLimits, RiskResult
from feeds.state import MarketState
from feeds.types import HOUR_MS, MINUTE_MS
from prompts.context import PortfolioView, PositionView, TradeOutcome
from prompts.render import PROMPT_VERSION, render
from prompts.types import RenderedPrompt
from swarm.logs import bind_cycle, log_event
from swarm.members.base import Answer, DecisionRequest, Member

STAGES = ("feeds", "swarm", "consensus", "execution", "store")
_NO_PROMPT = RenderedPrompt("", "", PROMPT_VERSION)  # what local-only rosters are "sent"


class StateFeed(Protocol):
    """Point-in-time market states: nothing after `now_ms`."""

    async def state(self, symbol: str, now_ms: int) -> MarketState: ...

    def price_history(self, symbol: str, now_ms: int) -> PriceHistory | None:
        """Hourly closes of the last 30 days, for the risk engine's correlation rule."""
        ...


class Recorder(Protocol):
    """Where a cycle's votes, consensus and risk results go, and where the weights come from."""

    def weights(self, now_ms: int, priors: Mapping[str, float]) -> dict[str, float]: ...

    def record_answers(
        self, cycle_id: str, now_ms: int, prompts: Mapping[str, RenderedPrompt], answers: Sequence[Answer]
    ) -> None: ...

    def record_consensus(self, cycle_id: str, now_ms: int, consensus: Consensus) -> None: ...

    def record_risk(self, decision_id: str, cycle_id: str, result: RiskResult, now_ms: int) -> None: ...

    def record_entry_state(self, decision_id: str, state: MarketState) -> None:
        """The state the members saw, for an approved entry (the report shows it with the trade)."""
        ...

    async def score_due(self, now_ms: int) -> int:
        """Score what has become due by `now_ms`; how many were scored."""
        ...

    def flush(self) -> None:
        """Write anything buffered (a backtest buffers; live writes at once)."""
        ...


@dataclass(frozen=True)
class EngineConfig:
    symbols: tuple[str, ...]
    interval_ms: int = 15 * MINUTE_MS
    ask_while_holding_ms: int = 4 * HOUR_MS
    close_on_consensus: bool = True
    deadline_s: float = 60.0
    fee_rate: float = DEFAULT_FEE_RATE
    vote: VoteParams = field(default_factory=VoteParams)
    weights: WeightParams = field(default_factory=WeightParams)
    limits: RiskLimits = field(default_factory=RiskLimits)
    # Live: read (and reconcile) the account every cycle. A backtest reads it on events (an
    # execution, a fill the paper venue reports) and re-marks it at this period, since a paper
    # account changes only through fills and marks (Executor.marked_portfolio).
    portfolio_refresh_ms: int = 0


@dataclass(frozen=True)
class SymbolOutcome:
    symbol: str
    consensus: Consensus
    result: RiskResult
    execution: ExecutionReport | None = None


@dataclass(frozen=True)
class CycleReport:
    cycle_id: str
    now_ms: int
    outcomes: tuple[SymbolOutcome, ...]
    scored: int
    # Each symbol's price and funding rate per hour (None: no funding data) at this cycle.
    marks: Mapping[str, tuple[float, float | None]] = field(default_factory=dict)


@dataclass
class StageClock:
    """Seconds spent per stage of the cycle, summed over the run (for the benchmark)."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))

    def stage(self, name: str) -> _Stage:
        return _Stage(self.seconds, name)


class _Stage:
    """`with clock.stage(name):` adds the block's time to `name` (a class: ~8 blocks a cycle)."""

    __slots__ = ("_name", "_seconds", "_started")

    def __init__(self, seconds: dict[str, float], name: str) -> None:
        self._seconds = seconds
        self._name = name
        self._started = 0.0

    def __enter__(self) -> None:
        self._started = time.perf_counter()

    def __exit__(self, *_exc: object) -> None:
        self._seconds[self._name] += time.perf_counter() - self._started


class Engine:
    """Runs cycles: the same code for live, paper and backtest."""

    def __init__(
        self,
        *,
        config: EngineConfig,
        members: Sequence[Member],
        feed: StateFeed,
        executor: Executor,
        recorder: Recorder,
        markets: Mapping[str, MarketInfo],
        priors: Mapping[str, float] | None = None,
        recent_trades: Callable[[int], Sequence[TradeOutcome]] | None = None,
    ) -> None:
        self.config = config
        self.members = list(members)
        self.feed = feed
        self.executor = executor
        self.recorder = recorder
        self.risk = RiskEngine(config.limits)
        self.markets = dict(markets)  # specs; the mark price is filled in per cycle
        self.priors = dict(priors or {m.name: 1.0 for m in members})
        # The last closed trades the prompt shows (the journal's), by the time asked for.
        self._recent_trades = recent_trades or (lambda _now: ())
        self.timing = StageClock()
        self._local_only = all(m.provider == "local" for m in self.members)
        self._last_asked: dict[str, int] = {}
        self._portfolio: Portfolio | None = None
        self._portfolio_at = 0

    async def start(self, now_ms: int) -> None:
        """Reconcile with the venue before the first decision (the same path as crash recovery)."""
        with self.timing.stage("execution"):
            await self.executor.reconcile(now_ms)
        self._portfolio = None

    def portfolio_changed(self) -> None:
        """Tell the engine the account moved outside a cycle (a stop or target filled)."""
        self._portfolio = None

    async def cycle(self, now_ms: int, cycle_id: str) -> CycleReport:
        """One cycle at `now_ms`; `cycle_id` ties its log lines, answers, votes and orders together."""
        with bind_cycle(cycle_id):
            portfolio = await self._current_portfolio(now_ms)
            with self.timing.stage("feeds"):
                states = {s: await self.feed.state(s, now_ms) for s in self.config.symbols}
            due = {s: state for s, state in states.items() if self._due(s, portfolio, now_ms)}
            outcomes: list[SymbolOutcome] = []
            if due:
                outcomes = await self._decide(cycle_id, now_ms, due, states, portfolio)
            with self.timing.stage("store"):
                scored = await self.recorder.score_due(now_ms)
            log_event("cycle_finished", now_ms=now_ms, asked=len(due), scored=scored)
            return CycleReport(cycle_id, now_ms, tuple(outcomes), scored, _marks(states))

    async def account(self, now_ms: int) -> Portfolio:
        """The account as the engine sees it at `now_ms` (read again when it may have changed)."""
        return await self._current_portfolio(now_ms)

    async def _decide(
        self,
        cycle_id: str,
        now_ms: int,
        due: Mapping[str, MarketState],
        states: Mapping[str, MarketState],
        portfolio: Portfolio,
    ) -> list[SymbolOutcome]:
        prompts = await self._prompts(due, states, portfolio, now_ms)
        with self.timing.stage("swarm"):
            answers = await self._ask(cycle_id, due, prompts)
        with self.timing.stage("store"):
            self.recorder.record_answers(cycle_id, now_ms, prompts, answers)
            weights = self.recorder.weights(now_ms, self.priors)
        outcomes = []
        for symbol in due:
            self._last_asked[symbol] = now_ms
            votes = [a.vote for a in answers if a.vote.symbol == symbol]
            outcome = await self._act(cycle_id, now_ms, due[symbol], votes, weights)
            outcomes.append(outcome)
        return outcomes

    async def _act(
        self, cycle_id: str, now_ms: int, state: MarketState, votes: list[Vote], weights: dict[str, float]
    ) -> SymbolOutcome:
        symbol = state.symbol
        with self.timing.stage("consensus"):
            consensus = vote(votes, weights, self.config.vote)
        with self.timing.stage("store"):
            self.recorder.record_consensus(cycle_id, now_ms, consensus)
        decision_id = f"{cycle_id}:{symbol}"
        if consensus.action is Action.HOLD:
            return SymbolOutcome(symbol, consensus, NoAction(symbol=symbol, detail=consensus.reason))
        portfolio = await self._current_portfolio(now_ms)
        with self.timing.stage("execution"):
            result = self.risk.evaluate(
                consensus, portfolio, self._market_infos(state, now_ms), now_ms, decision_id=decision_id
            )
        with self.timing.stage("store"):
            self.recorder.record_risk(decision_id, cycle_id, result, now_ms)
            if isinstance(result, Approved) and not result.intent.reduce_only:
                self.recorder.record_entry_state(decision_id, state)
        execution = await self._execute(result, now_ms)
        return SymbolOutcome(symbol, consensus, result, execution)

    async def _execute(self, result: RiskResult, now_ms: int) -> ExecutionReport | None:
        if not isinstance(result, Approved):
            if result.kind == "denied":
                log_event("order_denied", symbol=result.symbol, reason=result.reason, detail=result.detail)
            return None
        intent = result.intent
        if intent.reduce_only and not self.config.close_on_consensus:
            log_event("close_skipped", symbol=intent.symbol, detail="close_on_consensus is off")
            return None
        with self.timing.stage("execution"):
            report = await self.executor.execute(intent)
        self._portfolio = None  # the account changed
        log_event("order_executed", symbol=intent.symbol, status=report.status, detail=report.detail)
        return report

    async def _current_portfolio(self, now_ms: int) -> Portfolio:
        refresh_ms = self.config.portfolio_refresh_ms
        if self._portfolio is not None and refresh_ms and now_ms - self._portfolio_at < refresh_ms:
            return self._portfolio
        with self.timing.stage("execution"):
            if self._portfolio is None or not refresh_ms:
                portfolio = await self.executor.portfolio(now_ms)
            else:  # only the marks and the clock moved since the last read
                portfolio = await self.executor.marked_portfolio(now_ms)
        self._portfolio, self._portfolio_at = portfolio, now_ms
        return portfolio

    def _due(self, symbol: str, portfolio: Portfolio, now_ms: int) -> bool:
        if portfolio.position(symbol) is None:
            return True
        last = self._last_asked.get(symbol)
        return last is None or now_ms - last >= self.config.ask_while_holding_ms

    async def _prompts(
        self,
        due: Mapping[str, MarketState],
        states: Mapping[str, MarketState],
        portfolio: Portfolio,
        now_ms: int,
    ) -> dict[str, RenderedPrompt]:
        if self._local_only:
            # Local strategies read the MarketState itself; rendering would be wasted work.
            return dict.fromkeys(due, _NO_PROMPT)
        marks = {s: state.price.current for s, state in states.items()}
        for position in portfolio.positions:
            if position.symbol not in marks:  # held outside the configured symbols
                with self.timing.stage("feeds"):
                    marks[position.symbol] = (await self.feed.state(position.symbol, now_ms)).price.current
        view = _portfolio_view(portfolio, marks)
        trades = list(self._recent_trades(now_ms))
        return {s: render(state, view, trades) for s, state in due.items()}

    async def _ask(
        self, cycle_id: str, states: Mapping[str, MarketState], prompts: Mapping[str, RenderedPrompt]
    ) -> list[Answer]:
        requests = [
            DecisionRequest(cycle_id=cycle_id, symbol=s, state=state, prompt=prompts[s])
            for s, state in states.items()
        ]
        if self._local_only:
            # In-process strategies answer at once: no task group per cycle (a backtest runs 50,000).
            return [await m.decide(r) for m in self.members for r in requests]
        from swarm.fanout import fan_out

        return await fan_out(self.members, requests, deadline_s=self.config.deadline_s)

    def _market_infos(self, state: MarketState, now_ms: int) -> dict[str, MarketInfo]:
        infos: dict[str, MarketInfo] = {}
        for symbol, spec in self.markets.items():
            history = self.feed.price_history(symbol, now_ms)
            update: dict[str, object] = {"history": history}
            if symbol == state.symbol:
                update["mark_price"] = state.price.current
            infos[symbol] = spec.model_copy(update=update)
        return infos


def _marks(states: Mapping[str, MarketState]) -> dict[str, tuple[float, float | None]]:
    return {
        symbol: (state.price.current, None if state.funding is None else state.funding.current)
        for symbol, state in states.items()
    }


def _portfolio_view(portfolio: Portfolio, marks: Mapping[str, float]) -> PortfolioView:
    """The portfolio as the prompt shows it, unrealized PnL at the current marks."""
    return PortfolioView(
        equity_usd=portfolio.equity_usd,
        positions=[
            PositionView(
                symbol=p.symbol,
                side=p.side.value,
                size=p.size_base,
                entry_price=p.entry_price,
                unrealized_pnl_usd=(marks[p.symbol] - p.entry_price) * p.size_base * p.side.sign,
                stop_loss_price=p.stop_loss_price,
                take_profit_prices=p.take_profit_prices,
            )
            for p in portfolio.positions
        ],
    )
