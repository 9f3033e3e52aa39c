"""What `swarm report` is written from: `ReportData`, filled by the engine, rendered by swarm.report.

Everything is computed before it gets here (metrics by swarm.metrics, member rows by
consensus.leaderboard); the report only lays it out. Times are UTC epoch ms; a time before 1971
is read as an anonymized relative time (feeds.anonymize: 1970-01-01 + elapsed) and shown as
elapsed time. Nothing here reads a clock: `generated_at_ms` is passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from consensus.leaderboard import LeaderboardRow
from consensus.vote import Consensus
from feeds.state import MarketState
from swarm.cutoffs import CutoffFlag
from swarm.metrics import PerformanceSummary


@dataclass(frozen=True, slots=True)
class EquityCurve:
    """Equity in USD at each step of the backtest, oldest first."""

    name: str
    timestamps_ms: Sequence[int]
    equity: Sequence[float]

    def __post_init__(self) -> None:
        if len(self.timestamps_ms) != len(self.equity):
            raise ValueError(
                f"curve {self.name!r}: {len(self.timestamps_ms)} times, {len(self.equity)} values"
            )


@dataclass(frozen=True, slots=True)
class RunResult:
    """One run (the swarm, a baseline, a member followed alone): its curve and its metrics."""

    curve: EquityCurve
    summary: PerformanceSummary

    @property
    def name(self) -> str:
        return self.curve.name


@dataclass(frozen=True, slots=True)
class WeightSeries:
    """One member's voting weight at each cycle (the weights the vote used)."""

    member: str
    timestamps_ms: Sequence[int]
    weights: Sequence[float]


@dataclass(frozen=True, slots=True)
class MemberReport:
    """One member's line: its leaderboard row (None if it never voted) and, optionally, the
    metrics of following it alone through the same risk engine and venue."""

    member: str
    model: str
    row: LeaderboardRow | None
    alone: RunResult | None = None


@dataclass(frozen=True, slots=True)
class TradeRow:
    """One closed trade of the swarm and the consensus that opened it.

    pnl_usd is net of fees and funding; pnl_pct is pnl_usd over the entry notional, in percent;
    funding_usd is what the position paid (negative: received). `consensus` holds every ballot
    and abstention behind the entry with its reasoning, and the weights used; `entry_state` is
    the MarketState the members saw. Satisfies swarm.metrics.TradeResult.
    """

    symbol: str
    side: str  # LONG | SHORT
    entry_ms: int
    exit_ms: int
    entry_price: float
    exit_price: float
    size_base: float
    pnl_usd: float
    pnl_pct: float
    fees_usd: float
    funding_usd: float
    exit_reason: str  # e.g. stop_loss, take_profit, close, end_of_backtest
    cycle_id: str
    consensus: Consensus | None = None
    entry_state: MarketState | None = None

    @property
    def hold_ms(self) -> int:
        return self.exit_ms - self.entry_ms


@dataclass(frozen=True, slots=True)
class RunMeta:
    """What was run, on what, with which costs; shown at the top of the report."""

    title: str
    roster: Sequence[str]  # member names as configured (aliases, model strings, local/...)
    symbols: Sequence[str]
    window_start_ms: int
    window_end_ms: int
    step_ms: int
    starting_equity_usd: float
    taker_fee_rate: float  # fraction of notional per fill, e.g. 0.0004
    generated_at_ms: int
    slippage_bps: float | None = None
    funding_included: bool = True
    anonymized: bool = False  # the models saw feeds.anonymize states
    cutoff_flags: Sequence[CutoffFlag] = ()  # swarm.cutoffs.members_before_cutoff
    random_seed: int | None = None  # of the random-entries baseline
    notes: Sequence[str] = ()  # anything else the engine wants shown, one line each
    kind: str = "backtest"  # or "paper" / "live": a `swarm run`


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything one report shows. Every curve shares the swarm's timestamps (same data, same step).

    baselines: buy-and-hold, always flat and random entries (swarm.baselines), in that order,
    each with its name as it should read in the legend.
    """

    meta: RunMeta
    swarm: RunResult
    baselines: Sequence[RunResult]
    members: Sequence[MemberReport] = ()
    weights: Sequence[WeightSeries] = ()
    trades: Sequence[TradeRow] = ()

    def __post_init__(self) -> None:
        times = list(self.swarm.curve.timestamps_ms)
        others = [b.curve for b in self.baselines] + [m.alone.curve for m in self.members if m.alone]
        for curve in others:
            if list(curve.timestamps_ms) != times:
                raise ValueError(f"curve {curve.name!r} is not on the swarm's timestamps")

    @property
    def flagged(self) -> dict[str, str]:
        """Member -> knowledge cutoff, for the members the window starts before."""
        return {f.member: f.cutoff for f in self.meta.cutoff_flags}
