"""The weighted vote: Ballots and Abstains of one symbol plus member weights -> one Consensus.

Rule (docs/consensus.md, "Vote"):

- score(action) = sum over the ballots for that action of weight x confidence / 100;
- agreement = top score / total score;
- act on the top action only if it is unique (a tie holds), agreement >= threshold and at least
  `quorum` members answered; otherwise HOLD with the reason;
- the consensus confidence is 100 x agreement; size, stop and take-profit ladder are lower
  weighted medians over the agreeing ballots, each weighted by its vote (weight x confidence);
- a roster of one is the degenerate swarm: its decision passes unchanged (an Abstain: HOLD).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from consensus.decision import Abstain, Action, Ballot, TradeDecision, Vote

_ACTIONS = tuple(Action)  # iterating the enum class itself is slow, and this runs every cycle


class VoteParams(BaseModel):
    """When the swarm may act."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold: float = Field(default=0.6, gt=0, le=1, description="minimum weighted agreement")
    quorum: int = Field(default=2, ge=1, description="minimum members that answered")


class Consensus(BaseModel):
    """The swarm's decision on one symbol, and everything it was made from."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    symbol: str
    action: Action
    confidence: float = Field(ge=0, le=100, description="100 x agreement when acting, 0 when holding by rule")
    position_size_pct: float = Field(default=0.0, ge=0)
    take_profit: tuple[float, ...] = ()
    stop_loss: float | None = None
    agreement: float = Field(ge=0, le=1, description="top action's share of the weighted score")
    quorum_met: bool
    members_for: tuple[str, ...] = Field(description="members whose ballot has this action")
    ballots: tuple[Ballot, ...]
    abstentions: tuple[Abstain, ...] = ()
    weights: dict[str, float] = Field(default_factory=dict, description="weights the vote used")
    reason: str


def vote(votes: Sequence[Vote], weights: Mapping[str, float], params: VoteParams | None = None) -> Consensus:
    """Combine one cycle's votes on one symbol into a Consensus."""
    params = params or VoteParams()
    symbol = _check(votes, weights)
    answered: list[Ballot] = []
    abstained: list[Abstain] = []
    for v in votes:
        if isinstance(v, Ballot):
            answered.append(v)
        elif isinstance(v, Abstain):
            abstained.append(v)
    ballots = tuple(answered)
    base = _Base(
        symbol, ballots, tuple(abstained), {v.member: float(weights.get(v.member, 0.0)) for v in votes}
    )
    if len(votes) == 1:
        return _roster_of_one(votes[0], base)
    if len(ballots) < params.quorum:
        reason = f"no quorum: {len(ballots)} of {len(votes)} answered, {params.quorum} needed"
        return base.hold(reason, agreement=0.0, quorum_met=False)
    return _weighted(base, params)


class _Base(NamedTuple):  # a tuple: made at every vote
    """The parts of a Consensus that do not depend on the outcome of the vote."""

    symbol: str
    ballots: tuple[Ballot, ...]
    abstentions: tuple[Abstain, ...]
    weights: dict[str, float]

    def common(self, action: Action) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "action": action,
            "members_for": tuple([b.member for b in self.ballots if b.decision.action is action]),
            "ballots": self.ballots,
            "abstentions": self.abstentions,
            "weights": self.weights,
        }

    def hold(self, reason: str, *, agreement: float, quorum_met: bool = True) -> Consensus:
        """HOLD by rule: no quorum, tie, low agreement or no weight. Confidence 0: nobody agreed."""
        return Consensus(
            confidence=0.0,
            agreement=agreement,
            quorum_met=quorum_met,
            reason=reason,
            **self.common(Action.HOLD),
        )


def _check(votes: Sequence[Vote], weights: Mapping[str, float]) -> str:
    """The votes' common symbol; refuse what would make the vote meaningless."""
    if not votes:
        raise ValueError("vote needs at least one vote")
    symbols = {v.symbol for v in votes}
    if len(symbols) > 1:
        raise ValueError(f"votes on several symbols: {sorted(symbols)}")
    members = [v.member for v in votes]
    if len(set(members)) != len(members):
        raise ValueError(f"a member voted twice: {members}")
    for member in members:
        w = weights.get(member)
        if len(votes) > 1 and (w is None or not math.isfinite(w) or w < 0):
            raise ValueError(f"member {member!r} has no valid weight (got {w!r})")
    return votes[0].symbol


def _roster_of_one(only: Vote, base: _Base) -> Consensus:
    if isinstance(only, Abstain):
        reason = f"the only member {only.member} abstained ({only.reason})"
        return base.hold(reason, agreement=0.0, quorum_met=False)
    d = only.decision
    return Consensus(
        confidence=d.confidence,
        position_size_pct=d.position_size_pct,
        take_profit=d.take_profit,
        stop_loss=d.stop_loss,
        agreement=1.0,
        quorum_met=True,
        reason=f"roster of one: {only.member}'s decision unchanged",
        **base.common(d.action),
    )


def _weighted(base: _Base, params: VoteParams) -> Consensus:
    scores = dict.fromkeys(_ACTIONS, 0.0)
    for b in base.ballots:
        scores[b.decision.action] += base.weights[b.member] * b.decision.confidence / 100.0
    total = sum(scores.values())
    if total <= 0.0:
        return base.hold(
            "zero total weight: no answering member has both weight and confidence", agreement=0.0
        )
    (top, top_score), (second, second_score) = sorted(scores.items(), key=lambda kv: -kv[1])[:2]
    agreement = top_score / total
    if math.isclose(top_score, second_score, rel_tol=1e-9):
        return base.hold(f"tie between {top.value} and {second.value}", agreement=agreement)
    if agreement < params.threshold:
        return base.hold(
            f"agreement {agreement:.2f} on {top.value} below threshold {params.threshold:.2f}",
            agreement=agreement,
        )
    return _act(base, top, agreement, params)


def _act(base: _Base, action: Action, agreement: float, params: VoteParams) -> Consensus:
    decisions: list[TradeDecision] = []
    vote_weights: list[float] = []
    for b in base.ballots:
        d = b.decision
        if d.action is action:
            v = base.weights[b.member] * d.confidence / 100.0
            # A ballot with zero vote did not move the result; it should not move its parameters either.
            if v > 0.0:
                decisions.append(d)
                vote_weights.append(v)
    stop = weighted_median([d.stop_loss or math.inf for d in decisions], vote_weights)
    return Consensus(
        confidence=100.0 * agreement,
        position_size_pct=weighted_median([d.position_size_pct for d in decisions], vote_weights),
        take_profit=median_ladder([d.take_profit for d in decisions], vote_weights),
        stop_loss=None if math.isinf(stop) else stop,
        agreement=agreement,
        quorum_met=True,
        reason=(
            f"{action.value}: agreement {agreement:.2f} >= {params.threshold:.2f},"
            f" {len(base.ballots)} of {len(base.ballots) + len(base.abstentions)} answered"
        ),
        **base.common(action),
    )


def weighted_median(values: Sequence[float], weights: Sequence[float]) -> float:
    """Lower weighted median: the smallest value whose cumulative weight reaches half the total.

    With equal weights and an even count this is the lower of the two middle values: the
    conservative side for a size, a stop distance and a target.
    """
    if len(values) != len(weights) or not values:
        raise ValueError("weighted_median needs as many weights as values, at least one")
    total = sum(weights)
    if min(weights) < 0 or total <= 0:
        raise ValueError("weighted_median needs non-negative weights with a positive total")
    half = total / 2.0
    cumulative = 0.0
    for value, weight in sorted(zip(values, weights, strict=True)):
        cumulative += weight
        # The relative slack keeps an exact half/half split on the lower value despite rounding.
        if cumulative >= half * (1.0 - 1e-12):
            return value
    raise AssertionError("unreachable: the cumulative weight reaches the total")


def median_ladder(ladders: Sequence[tuple[float, ...]], weights: Sequence[float]) -> tuple[float, ...]:
    """The weighted-median take-profit ladder.

    Its length L is the weighted median of the ladder lengths (an empty ladder counts as 0).
    Each non-empty ladder is then read as the targets of equal slices of the position and
    resampled to L rungs at the slices' midpoints; rung r is the weighted median of the r-th
    resampled rungs. Each resampled ladder ascends, so the rung medians ascend as well.
    """
    rungs = int(weighted_median([float(len(t)) for t in ladders], weights))
    if rungs == 0:
        return ()
    kept = [(t, w) for t, w in zip(ladders, weights, strict=True) if t and w > 0]
    resampled = [tuple(t[(2 * r + 1) * len(t) // (2 * rungs)] for r in range(rungs)) for t, _ in kept]
    kept_weights = [w for _, w in kept]
    return tuple(weighted_median([t[r] for t in resampled], kept_weights) for r in range(rungs))
