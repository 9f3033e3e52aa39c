"""Hand-built histories for track-record, scoring and leaderboard tests: answers, consensus, scores."""

from __future__ import annotations

from consensus.decision import Abstain, AbstainReason, Action, Ballot, TradeDecision, Usage
from consensus.scoring import Score
from consensus.vote import Consensus
from feeds.types import HOUR_MS
from swarm.members.base import Answer

T0 = 1_768_478_400_000  # 2026-01-15T12:00:00Z, a 15m boundary inside the bundled data
H = 4 * HOUR_MS


def ballot(
    member: str,
    action: Action = Action.LONG,
    confidence: float = 70.0,
    *,
    symbol: str = "BTC",
    latency_ms: float = 1000.0,
    cost: float | None = 0.01,
    cached: bool = False,
    take_profit: tuple[float, ...] = (),
    stop_loss: float | None = None,
) -> Answer:
    decision = TradeDecision(
        action=action,
        confidence=confidence,
        position_size_pct=10.0,
        take_profit=take_profit,
        stop_loss=stop_loss,
    )
    usage = Usage(latency_ms=latency_ms, cost_usd=cost)
    vote = Ballot(member=member, model=f"vendor/{member}", symbol=symbol, decision=decision, usage=usage)
    return Answer(vote=vote, raw_text="{}", cached=cached)


def abstain(
    member: str,
    reason: AbstainReason = "timeout",
    *,
    symbol: str = "BTC",
    latency_ms: float = 60_000.0,
    cost: float | None = None,
) -> Answer:
    usage = Usage(latency_ms=latency_ms, cost_usd=cost)
    vote = Abstain(member=member, model=f"vendor/{member}", symbol=symbol, reason=reason, usage=usage)
    return Answer(vote=vote)


def consensus(
    action: Action,
    confidence: float,
    members_for: tuple[str, ...],
    weights: dict[str, float],
    *,
    symbol: str = "BTC",
    quorum_met: bool = True,
) -> Consensus:
    return Consensus(
        symbol=symbol,
        action=action,
        confidence=confidence,
        agreement=confidence / 100.0,
        quorum_met=quorum_met,
        members_for=members_for,
        ballots=(),
        weights=weights,
        reason="hand-built",
    )


def score(
    correct: bool | None, pnl: float = 0.0, brier: float | None = None, *, known_at: int = T0 + H
) -> Score:
    return Score(
        direction_correct=correct,
        pnl_pct_followed=pnl,
        brier=brier,
        move_pct=0.5,
        entry_price=100.0,
        exit_price=100.5,
        stopped=False,
        targets_hit=0,
        scored_at_ms=known_at,
    )
