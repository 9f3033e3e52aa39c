"""The leaderboard: per member, and for the swarm itself, what its record says.

Pure: the store hands over one fact per recorded answer and per consensus vote (with its score,
if it has one), plus the current weights; nothing here reads a clock or a database.
Definitions (docs/consensus.md, "Leaderboard"):

- votes: answers recorded (ballots + abstentions); ballots: the valid ones; answered % = ballots / votes;
- parse failures: abstentions for an unparseable or invalid answer;
- hit rate over the scored ballots with a direction (CLOSE has none), with a 95 % Wilson interval;
- Brier: mean over the same ballots; PnL followed: sum and mean over every scored ballot (HOLD and
  CLOSE earn 0), percent of the position's notional;
- in consensus %: of the consensus votes on which the member cast a ballot, the share in which its
  ballot had the consensus action; weight share %: its mean share of those votes' total weight;
- median latency over fresh answers (a cache hit did not wait for the model); cost over fresh
  answers, those whose price is unknown counted apart.

The swarm's row: votes are its consensus votes, a HOLD by rule (no quorum, tie, low agreement)
counts as an abstention, its cost is every member's.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypedDict

from consensus.decision import NO_CALL_REASONS, Action

SWARM: Final = "swarm"
PARSE_FAILURES: Final = ("unparseable", "invalid")
WILSON_Z: Final = 1.959963984540054  # two-sided 95 %


@dataclass(frozen=True, slots=True)
class ScoreFacts:
    """The parts of a stored score the leaderboard reads."""

    direction_correct: bool | None
    brier: float | None
    pnl_pct_followed: float


@dataclass(frozen=True, slots=True)
class AnswerFacts:
    """One recorded answer (ballot or abstention) and its score, if it has one yet."""

    cycle_id: str
    symbol: str
    member: str
    answered: bool
    abstain_reason: str | None
    latency_ms: float
    cost_usd: float | None
    cached: bool
    score: ScoreFacts | None = None


@dataclass(frozen=True, slots=True)
class ConsensusFacts:
    """One recorded consensus vote and its score, if it has one yet."""

    cycle_id: str
    symbol: str
    action: Action
    confidence: float
    members_for: tuple[str, ...]
    weights: Mapping[str, float]
    score: ScoreFacts | None = None

    @property
    def held_by_rule(self) -> bool:
        """HOLD with confidence 0: no quorum, a tie, low agreement or no weight; not a decision."""
        return self.action is Action.HOLD and self.confidence == 0.0


@dataclass(frozen=True, slots=True)
class LeaderboardRow:
    """One member's (or the swarm's) line; None where there is nothing to measure yet."""

    member: str
    votes: int
    ballots: int
    answered_pct: float | None
    abstentions: int
    parse_failures: int
    scored: int  # ballots scored for direction: the hit rate's sample
    hits: int
    hit_rate_pct: float | None
    hit_rate_low_pct: float | None
    hit_rate_high_pct: float | None
    brier: float | None
    pnl_sum_pct: float
    pnl_mean_pct: float | None
    in_consensus_pct: float | None
    weight_share_pct: float | None
    weight: float | None
    median_latency_ms: float | None
    cost_usd: float
    cost_unknown: int


def wilson_interval(hits: int, n: int, z: float = WILSON_Z) -> tuple[float, float] | None:
    """Wilson score interval of a hit rate (fractions); None without observations.

    Unlike the normal approximation it stays inside [0, 1] and is honest about small samples.
    """
    if n <= 0:
        return None
    p = hits / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1.0 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def leaderboard(
    answers: Sequence[AnswerFacts], consensus: Sequence[ConsensusFacts], weights: Mapping[str, float]
) -> list[LeaderboardRow]:
    """One row per member (heaviest current weight first, then by name), the swarm's row last."""
    by_member: dict[str, list[AnswerFacts]] = {}
    for answer in answers:
        by_member.setdefault(answer.member, []).append(answer)
    shares = _consensus_shares(answers, consensus)
    rows = [_member_row(m, facts, shares.get(m, ([], [])), weights.get(m)) for m, facts in by_member.items()]
    rows.sort(key=lambda r: (-(r.weight or 0.0), r.member))
    if consensus:
        rows.append(_swarm_row(consensus, answers))
    return rows


def _member_row(
    member: str, facts: Sequence[AnswerFacts], shares: tuple[list[bool], list[float]], weight: float | None
) -> LeaderboardRow:
    ballots = sum(f.answered for f in facts)
    fresh = [f for f in facts if not f.cached]
    latencies = [f.latency_ms for f in fresh]
    in_consensus, weight_share = shares
    return LeaderboardRow(
        member=member,
        votes=len(facts),
        ballots=ballots,
        answered_pct=100.0 * ballots / len(facts),
        abstentions=len(facts) - ballots,
        parse_failures=sum(f.abstain_reason in PARSE_FAILURES for f in facts),
        **_score_columns([f.score for f in facts]),
        in_consensus_pct=_mean_pct([float(x) for x in in_consensus]),
        weight_share_pct=_mean_pct(weight_share),
        weight=weight,
        median_latency_ms=statistics.median(latencies) if latencies else None,
        **_cost_columns(facts),
    )


def _swarm_row(consensus: Sequence[ConsensusFacts], answers: Sequence[AnswerFacts]) -> LeaderboardRow:
    decided = sum(not c.held_by_rule for c in consensus)
    return LeaderboardRow(
        member=SWARM,
        votes=len(consensus),
        ballots=decided,
        answered_pct=100.0 * decided / len(consensus),
        abstentions=len(consensus) - decided,
        parse_failures=0,
        **_score_columns([c.score for c in consensus]),
        in_consensus_pct=None,
        weight_share_pct=None,
        weight=None,
        median_latency_ms=None,
        **_cost_columns(answers),
    )


class _ScoreColumns(TypedDict):
    scored: int
    hits: int
    hit_rate_pct: float | None
    hit_rate_low_pct: float | None
    hit_rate_high_pct: float | None
    brier: float | None
    pnl_sum_pct: float
    pnl_mean_pct: float | None


class _CostColumns(TypedDict):
    cost_usd: float
    cost_unknown: int


def _score_columns(scores: Iterable[ScoreFacts | None]) -> _ScoreColumns:
    """Hit rate with its interval, Brier and PnL followed over the scored ballots."""
    scored = [s for s in scores if s is not None]
    directed = [s.direction_correct for s in scored if s.direction_correct is not None]
    hits = sum(directed)
    interval = wilson_interval(hits, len(directed))
    briers = [s.brier for s in scored if s.brier is not None]
    pnl = [s.pnl_pct_followed for s in scored]
    return _ScoreColumns(
        scored=len(directed),
        hits=hits,
        hit_rate_pct=100.0 * hits / len(directed) if directed else None,
        hit_rate_low_pct=100.0 * interval[0] if interval else None,
        hit_rate_high_pct=100.0 * interval[1] if interval else None,
        brier=statistics.fmean(briers) if briers else None,
        pnl_sum_pct=math.fsum(pnl),
        pnl_mean_pct=statistics.fmean(pnl) if pnl else None,
    )


def _cost_columns(facts: Iterable[AnswerFacts]) -> _CostColumns:
    # A cache hit cost nothing now: its price was paid (and counted) when the reply was fresh.
    fresh = [f for f in facts if not f.cached]
    unknown = [f for f in fresh if f.cost_usd is None and f.abstain_reason not in NO_CALL_REASONS]
    return _CostColumns(
        cost_usd=math.fsum(f.cost_usd for f in fresh if f.cost_usd is not None),
        cost_unknown=len(unknown),
    )


def _consensus_shares(
    answers: Sequence[AnswerFacts], consensus: Sequence[ConsensusFacts]
) -> dict[str, tuple[list[bool], list[float]]]:
    """Per member, over the consensus votes it cast a ballot in: was it for, and its weight share."""
    voters: dict[tuple[str, str], list[str]] = {}
    for a in answers:
        if a.answered:
            voters.setdefault((a.cycle_id, a.symbol), []).append(a.member)
    shares: dict[str, tuple[list[bool], list[float]]] = {}
    for c in consensus:
        members = voters.get((c.cycle_id, c.symbol), [])
        total = math.fsum(c.weights.get(m, 0.0) for m in members)
        for m in members:
            was_for, weight_share = shares.setdefault(m, ([], []))
            was_for.append(m in c.members_for)
            if total > 0:
                weight_share.append(c.weights.get(m, 0.0) / total)
    return shares


def _mean_pct(values: Sequence[float]) -> float | None:
    return 100.0 * statistics.fmean(values) if values else None
