"""Track records and the vote weights drawn from them.

The formula (docs/consensus.md, "Weights"), per member m, with decay factor
lambda = 2 ** (-1 / half_life) applied once per event of the member's own stream:

    H = sum lambda^age * right     N = sum lambda^age   (over its scored ballots)
    A, B = the same sums over its answered and abstained votes
    p  = (k * p0 + H) / (k + N)                 accuracy: Beta posterior mean, prior p0, strength k
    e  = max(0, ln(p / (1 - p)))                edge: log-odds, the optimal weight of an independent
                                                voter; no edge or a negative one gives 0
    r  = (k + A) / (k + A + B)                  reliability: abstentions lower it, never p
    c  = min(1, N / k)                          how far past its newcomer prior the member is
    w  = r * ((1 - c) * prior_weight * ref + c * e)

ref is the median edge of the established members that count (c = 1, e > 0), or
`cold_start_weight` when there are none: a newcomer starts as a typical counting member (times
its configured prior_weight) and hands over to its own record over its first k scored ballots,
so it is neither ignored nor dominant, and a member without edge reaches exactly 0 after k.

Half-life is counted in the member's own events, not in time: the noise/reaction trade-off is a
property of how many outcomes the estimate rests on, and a quiet period (weekend, paused bot)
should not erase what was learnt. Decayed sums make every update O(1).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from consensus.scoring import Score


class LookAheadError(ValueError):
    """A track record holds an event later than the moment the weights are computed for."""


class WeightParams(BaseModel):
    """Weight formula parameters; defaults tuned by scripts/bench_consensus.py (see its docs)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prior_accuracy: float = Field(default=0.5, gt=0, lt=1, description="Beta prior mean p0")
    prior_strength: float = Field(default=20.0, gt=0, description="pseudo-count k; newcomer ramp length")
    half_life: float = Field(default=200.0, gt=0, description="in the member's own events")
    cold_start_weight: float = Field(
        default=0.2, gt=0, description="ref when no member counts yet (~ log-odds of a 55 % hit rate)"
    )


@dataclass(frozen=True, slots=True)
class Outcome:
    """One scored ballot as the track record keeps it."""

    known_at_ms: int
    correct: bool


@dataclass
class MemberRecord:
    """One member's scored history and participation, with decayed sums kept current in O(1)."""

    member: str
    decay: float
    outcomes: list[Outcome] = field(default_factory=list)
    answered: int = 0
    abstained: int = 0
    hits_w: float = 0.0  # H
    scored_w: float = 0.0  # N
    answered_w: float = 0.0  # A
    abstained_w: float = 0.0  # B
    last_outcome_ms: int = -(2**63)
    last_vote_ms: int = -(2**63)

    def add_outcome(self, known_at_ms: int, correct: bool) -> None:
        # Decayed sums assume events arrive in time order; out of order would silently re-weight.
        if known_at_ms < self.last_outcome_ms:
            raise ValueError(f"{self.member}: outcome at {known_at_ms} is older than the last one")
        self.outcomes.append(Outcome(known_at_ms, correct))
        self.hits_w = self.decay * self.hits_w + float(correct)
        self.scored_w = self.decay * self.scored_w + 1.0
        self.last_outcome_ms = known_at_ms

    def add_vote(self, cast_at_ms: int, answered: bool) -> None:
        if cast_at_ms < self.last_vote_ms:
            raise ValueError(f"{self.member}: vote at {cast_at_ms} is older than the last one")
        self.answered += answered
        self.abstained += not answered
        self.answered_w = self.decay * self.answered_w + float(answered)
        self.abstained_w = self.decay * self.abstained_w + float(not answered)
        self.last_vote_ms = cast_at_ms

    @property
    def last_event_ms(self) -> int:
        return max(self.last_outcome_ms, self.last_vote_ms)


class TrackRecord:
    """Every member's record under one half-life; fed in time order by replay, live or the store."""

    def __init__(self, half_life: float) -> None:
        if not half_life > 0:
            raise ValueError("half_life must be positive")
        self.half_life = half_life
        self._decay = 2.0 ** (-1.0 / half_life)
        self._members: dict[str, MemberRecord] = {}

    def record_outcome(self, member: str, known_at_ms: int, correct: bool) -> None:
        """Add a scored ballot's direction outcome, known at `known_at_ms`."""
        self._member(member).add_outcome(known_at_ms, correct)

    def record_score(self, member: str, score: Score) -> None:
        """Add a Score; a CLOSE (no direction outcome) leaves the accuracy record untouched."""
        if score.direction_correct is not None:
            self.record_outcome(member, score.scored_at_ms, score.direction_correct)

    def record_vote(self, member: str, cast_at_ms: int, answered: bool) -> None:
        """Add a vote: answered (a Ballot) or abstained; this feeds reliability only."""
        self._member(member).add_vote(cast_at_ms, answered)

    def get(self, member: str) -> MemberRecord | None:
        return self._members.get(member)

    def __iter__(self) -> Iterator[str]:
        return iter(self._members)

    def _member(self, member: str) -> MemberRecord:
        record = self._members.get(member)
        if record is None:
            record = self._members[member] = MemberRecord(member, self._decay)
        return record


@dataclass(frozen=True, slots=True)
class Weight:
    """A member's vote weight and the parts it is made of (for the leaderboard and the audit)."""

    value: float
    accuracy: float  # p, the shrunk decayed hit rate
    edge: float  # e = max(0, logit p)
    reliability: float  # r
    evidence: float  # N, decayed count of scored ballots
    ramp: float  # c, 0 for a newcomer, 1 once established


def compute_weights(
    records: TrackRecord,
    now_ms: int,
    params: WeightParams,
    roster: Mapping[str, float] | None = None,
) -> dict[str, Weight]:
    """Weights at `now_ms` for every member of `roster` (member -> prior_weight).

    Without a roster, every member of the track record with prior_weight 1. Raises LookAheadError
    if the record holds anything later than `now_ms`.
    """
    if records.half_life != params.half_life:
        raise ValueError(f"track record half-life {records.half_life} != params {params.half_life}")
    members = dict(roster) if roster is not None else dict.fromkeys(records, 1.0)
    parts = {m: _parts(records.get(m), now_ms, params) for m in members}
    ref = _reference(parts.values(), params)
    return {m: _combine(parts[m], members[m] * ref) for m in members}


def _parts(record: MemberRecord | None, now_ms: int, params: WeightParams) -> Weight:
    """Everything but the final value, which needs the roster-wide reference."""
    if record is not None and record.last_event_ms > now_ms:
        raise LookAheadError(f"{record.member}: record has an event at {record.last_event_ms} > {now_ms}")
    k, p0 = params.prior_strength, params.prior_accuracy
    hits, scored = (record.hits_w, record.scored_w) if record else (0.0, 0.0)
    answered, abstained = (record.answered_w, record.abstained_w) if record else (0.0, 0.0)
    p = (k * p0 + hits) / (k + scored)
    return Weight(
        value=0.0,
        accuracy=p,
        edge=max(0.0, math.log(p / (1.0 - p))),
        reliability=(k + answered) / (k + answered + abstained),
        evidence=scored,
        ramp=min(1.0, scored / k),
    )


def _reference(parts: Iterable[Weight], params: WeightParams) -> float:
    counting = [w.edge for w in parts if w.ramp >= 1.0 and w.edge > 0.0]
    return statistics.median(counting) if counting else params.cold_start_weight


def _combine(part: Weight, prior: float) -> Weight:
    value = part.reliability * ((1.0 - part.ramp) * prior + part.ramp * part.edge)
    return Weight(value, part.accuracy, part.edge, part.reliability, part.evidence, part.ramp)
