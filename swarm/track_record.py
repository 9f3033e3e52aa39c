"""The track record in the store: consensus votes, scores, and what weights are drawn from.

    record_consensus(cycle, market_ts, consensus)  -> consensus_vote row
    unscored_ballots(before_ms, horizon_ms)        -> ballots (members' and the swarm's) whose
                                                      horizon has passed and that have no score
    record_scores(scored, horizon_ms)              -> score rows, one transaction
    track_record(now_ms) / member_weights(now_ms)  -> consensus.weights, fed what was known at now
    leaderboard_facts(now_ms)                      -> what consensus.leaderboard reads

Time is market time: a vote is cast at its cycle's `market_ts`, an outcome is known at the score's
`scored_at` (the close of the candle that ended its horizon). Asking at `now_ms` sees only events
at or before it, so replay and live read the same record the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from consensus.decision import Action, TradeDecision
from consensus.leaderboard import SWARM, AnswerFacts, ConsensusFacts, ScoreFacts
from consensus.scoring import DEFAULT_HORIZON_MS, Score
from consensus.vote import Consensus
from consensus.weights import TrackRecord, WeightParams, compute_weights
from swarm._sql import insert_ignoring_duplicates, translated
from swarm.store_schema import AnswerRow, ConsensusVoteRow, ScoreRow

DEFAULT_HALF_LIFE = WeightParams().half_life


@dataclass(frozen=True)
class DueBallot:
    """A ballot waiting for its score: a member's answer (`answer_id`) or the swarm's (`consensus_id`)."""

    member: str  # consensus.leaderboard.SWARM for the consensus
    symbol: str
    market_ts: int
    decision: TradeDecision
    answer_id: int | None = None
    consensus_id: int | None = None
    held_by_rule: bool = False  # a consensus HOLD by rule: its confidence 0 is no probability


@dataclass(frozen=True)
class LeaderboardFacts:
    answers: list[AnswerFacts]
    consensus: list[ConsensusFacts]

    def members(self) -> list[str]:
        return sorted({a.member for a in self.answers})


class TrackRecordStore:
    """The track-record half of the Store (mixed into swarm.store.Store)."""

    _engine: Engine
    _clock: Callable[[], int]

    def record_consensus(
        self, cycle_id: str, market_ts: int, consensus: Consensus, weights: Mapping[str, float] | None = None
    ) -> int:
        """Record one symbol's consensus of one cycle with the weights used (default: its own); its id."""
        row = _consensus_row(cycle_id, market_ts, consensus, weights, self._clock())
        with translated(f"consensus of cycle {cycle_id}"), Session(self._engine) as session, session.begin():
            session.add(row)
            session.flush()
            assert row.id is not None  # assigned by the flush
            return row.id

    def unscored_ballots(
        self, before_ms: int, horizon_ms: int = DEFAULT_HORIZON_MS, since_ms: int | None = None
    ) -> list[DueBallot]:
        """Unscored ballots and consensus votes with market_ts + horizon <= before_ms, oldest first.

        `since_ms` skips ballots cast at or before it: a long run that scores as it goes passes the
        point it has already covered, so each run reads only new rows instead of the whole history.
        """
        last_cast = before_ms - horizon_ms
        after = -1 if since_ms is None else since_ms
        answers = (
            select(AnswerRow)
            .outerjoin(ScoreRow, col(ScoreRow.answer_id) == col(AnswerRow.id))
            .where(AnswerRow.kind == "ballot", col(AnswerRow.market_ts) <= last_cast)
            .where(col(AnswerRow.market_ts) > after, col(ScoreRow.id).is_(None))
        )
        votes = (
            select(ConsensusVoteRow)
            .outerjoin(ScoreRow, col(ScoreRow.consensus_id) == col(ConsensusVoteRow.id))
            .where(col(ConsensusVoteRow.market_ts) <= last_cast, col(ConsensusVoteRow.market_ts) > after)
            .where(col(ScoreRow.id).is_(None))
        )
        with self._reading(), Session(self._engine) as session:
            due = [_due_answer(row) for row in session.exec(answers)]
            due += [_due_consensus(row) for row in session.exec(votes)]
        return sorted(due, key=lambda d: (d.market_ts, d.consensus_id or 0, d.answer_id or 0))

    def record_scores(self, scored: Sequence[tuple[DueBallot, Score]], horizon_ms: int) -> None:
        """Record scores in one transaction; a ballot scored already (by another bot) is skipped."""
        now = self._clock()
        rows = [_score_values(due, score, horizon_ms, now) for due, score in scored]
        if not rows:
            return
        table = ScoreRow.metadata.tables[ScoreRow.__tablename__]
        with translated("scores"), self._engine.begin() as conn:
            conn.execute(insert_ignoring_duplicates(table, conn.dialect.name), rows)

    def track_record(self, now_ms: int, half_life: float = DEFAULT_HALF_LIFE) -> TrackRecord:
        """Every member's scored outcomes and votes known at `now_ms`, fed in time order."""
        record = TrackRecord(half_life)
        outcomes = (
            select(AnswerRow.member, ScoreRow.scored_at, ScoreRow.direction_correct)
            .join(AnswerRow, col(ScoreRow.answer_id) == col(AnswerRow.id))
            .where(col(ScoreRow.scored_at) <= now_ms, col(ScoreRow.direction_correct).is_not(None))
            .order_by(col(ScoreRow.scored_at), col(AnswerRow.id))
        )
        votes = (
            select(AnswerRow.member, AnswerRow.market_ts, AnswerRow.kind)
            .where(col(AnswerRow.market_ts) <= now_ms)
            .order_by(col(AnswerRow.market_ts), col(AnswerRow.id))
        )
        with self._reading(), Session(self._engine) as session:
            for member, known_at, correct in session.exec(outcomes):
                record.record_outcome(member, known_at, bool(correct))
            # Abstentions count against reliability only; they never touch accuracy.
            for member, cast_at, kind in session.exec(votes):
                record.record_vote(member, cast_at, kind == "ballot")
        return record

    def member_weights(
        self,
        now_ms: int,
        params: WeightParams | None = None,
        prior_weights: Mapping[str, float] | None = None,
    ) -> dict[str, float]:
        """Vote weights at `now_ms` of the roster `prior_weights` (member -> prior weight).

        Without a roster: every member of the record, prior weight 1.
        """
        params = params or WeightParams()
        record = self.track_record(now_ms, params.half_life)
        weights = compute_weights(record, now_ms, params, prior_weights)
        return {member: weight.value for member, weight in weights.items()}

    def leaderboard_facts(self, now_ms: int) -> LeaderboardFacts:
        """Answers and consensus votes cast by `now_ms`, with the scores known by then.

        Plain column reads, not ORM objects: a year's backtest has ~400,000 rows to go through.
        """
        tables = AnswerRow.metadata.tables
        answer, vote, score = tables["answer"], tables["consensus_vote"], tables["score"]
        scored = (score.c.id, score.c.direction_correct, score.c.brier, score.c.pnl_pct_followed)
        known = score.c.scored_at <= now_ms  # in the join: a score not known yet leaves it unscored
        answer_columns = [answer.c[name] for name in _ANSWER_FACT_COLUMNS]
        answers = (
            sa.select(*answer_columns, *scored)
            .outerjoin(score, sa.and_(score.c.answer_id == answer.c.id, known))
            .where(answer.c.market_ts <= now_ms)
            .order_by(answer.c.market_ts, answer.c.id)
        )
        vote_columns = [vote.c[name] for name in _VOTE_FACT_COLUMNS]
        votes = (
            sa.select(*vote_columns, *scored)
            .outerjoin(score, sa.and_(score.c.consensus_id == vote.c.id, known))
            .where(vote.c.market_ts <= now_ms)
            .order_by(vote.c.market_ts, vote.c.id)
        )
        with self._reading(), self._engine.connect() as conn:
            return LeaderboardFacts(
                answers=[_answer_facts(row) for row in conn.execute(answers)],
                consensus=[_consensus_facts(row) for row in conn.execute(votes)],
            )

    def _reading(self) -> AbstractContextManager[None]:
        """A failed read (a corrupt file, a lost server) as one StoreError line naming the database."""
        return translated(
            f"{self._engine.url.render_as_string(hide_password=True)}: reading the track record"
        )


def decision_of(row: AnswerRow) -> TradeDecision:
    """The TradeDecision of a ballot's answer row."""
    if row.action is None:
        raise ValueError(f"answer {row.id} is an abstention, not a ballot")
    return TradeDecision(
        action=Action(row.action),
        confidence=row.confidence or 0.0,
        reasoning=row.reasoning or "",
        position_size_pct=row.position_size_pct or 0.0,
        take_profit=tuple(json.loads(row.take_profit or "[]")),
        stop_loss=row.stop_loss,
    )


def _consensus_row(
    cycle_id: str, market_ts: int, consensus: Consensus, weights: Mapping[str, float] | None, now: int
) -> ConsensusVoteRow:
    return ConsensusVoteRow(
        cycle_id=cycle_id,
        symbol=consensus.symbol,
        market_ts=market_ts,
        action=consensus.action.value,
        confidence=consensus.confidence,
        agreement=consensus.agreement,
        quorum_met=consensus.quorum_met,
        position_size_pct=consensus.position_size_pct,
        take_profit=list(consensus.take_profit),
        stop_loss=consensus.stop_loss,
        members_for=list(consensus.members_for),
        weights=dict(consensus.weights if weights is None else weights),
        reason=consensus.reason,
        created_at=now,
    )


def _due_answer(row: AnswerRow) -> DueBallot:
    return DueBallot(row.member, row.symbol, row.market_ts, decision_of(row), answer_id=row.id)


def _due_consensus(row: ConsensusVoteRow) -> DueBallot:
    decision = TradeDecision(
        action=Action(row.action),
        confidence=row.confidence,
        position_size_pct=row.position_size_pct,
        take_profit=tuple(row.take_profit),
        stop_loss=row.stop_loss,
    )
    held = decision.action is Action.HOLD and row.confidence == 0.0
    return DueBallot(SWARM, row.symbol, row.market_ts, decision, consensus_id=row.id, held_by_rule=held)


def _score_values(due: DueBallot, score: Score, horizon_ms: int, now: int) -> dict[str, Any]:
    return {
        "answer_id": due.answer_id,
        "consensus_id": due.consensus_id,
        "scored_at": score.scored_at_ms,
        "horizon_ms": horizon_ms,
        "entry_price": score.entry_price,
        "exit_price": score.exit_price,
        "move_pct": score.move_pct,
        "direction_correct": score.direction_correct,
        "pnl_pct_followed": score.pnl_pct_followed,
        # A consensus HOLD by rule has confidence 0 as a marker, not as a probability to score.
        "brier": None if due.held_by_rule else score.brier,
        "stopped": score.stopped,
        "targets_hit": score.targets_hit,
        "created_at": now,
    }


_ANSWER_FACT_COLUMNS = (
    "cycle_id", "symbol", "member", "kind", "abstain_reason", "latency_ms", "cost_usd", "cached",
)  # fmt: skip
_VOTE_FACT_COLUMNS = ("cycle_id", "symbol", "action", "confidence", "members_for", "weights")


def _score_facts(columns: Sequence[Any]) -> ScoreFacts | None:
    """(score id, direction_correct, brier, pnl_pct_followed) of an outer join: None without a score."""
    score_id, correct, brier, pnl = columns
    if score_id is None:
        return None
    return ScoreFacts(None if correct is None else bool(correct), brier, pnl)


def _answer_facts(row: Sequence[Any]) -> AnswerFacts:
    cycle_id, symbol, member, kind, abstain_reason, latency_ms, cost_usd, cached = row[:8]
    return AnswerFacts(
        cycle_id=cycle_id,
        symbol=symbol,
        member=member,
        answered=kind == "ballot",
        abstain_reason=abstain_reason,
        latency_ms=latency_ms,
        cost_usd=cost_usd,
        cached=bool(cached),
        score=_score_facts(row[8:]),
    )


def _consensus_facts(row: Sequence[Any]) -> ConsensusFacts:
    cycle_id, symbol, action, confidence, members_for, weights = row[:6]
    return ConsensusFacts(
        cycle_id=cycle_id,
        symbol=symbol,
        action=Action(action),
        confidence=confidence,
        members_for=tuple(members_for),
        weights=dict(weights),
        score=_score_facts(row[6:]),
    )
