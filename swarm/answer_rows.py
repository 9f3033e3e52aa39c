"""Answers <-> rows of the `answer` table: how a ballot or an abstention is recorded and read back."""

from __future__ import annotations

import json
from dataclasses import dataclass

from consensus.decision import Abstain, Ballot, Usage
from swarm.members.base import Answer
from swarm.store_schema import AnswerRow
from swarm.track_record import decision_of


@dataclass(frozen=True)
class RecordedAnswer:
    """An answer as recorded, with the cycle and prompt it belongs to."""

    id: int
    cycle_id: str
    created_at: int
    market_ts: int
    prompt_version: str
    prompt_digest: str
    answer: Answer


def answer_row(
    answer: Answer, cycle_id: str, now: int, market_ts: int, prompt_version: str, prompt_digest: str
) -> AnswerRow:
    vote = answer.vote
    if not isinstance(vote, Ballot | Abstain):
        raise TypeError(f"not a Ballot or an Abstain: {type(vote).__name__}")
    row = AnswerRow(
        cycle_id=cycle_id,
        created_at=now,
        market_ts=market_ts,
        symbol=vote.symbol,
        member=vote.member,
        model=vote.model,
        prompt_version=prompt_version,
        prompt_digest=prompt_digest,
        raw_text=answer.raw_text,
        kind=vote.kind,
        latency_ms=vote.usage.latency_ms,
        prompt_tokens=vote.usage.prompt_tokens,
        completion_tokens=vote.usage.completion_tokens,
        cost_usd=vote.usage.cost_usd,
        cached=answer.cached,
    )
    if isinstance(vote, Ballot):
        d = vote.decision
        row.action, row.confidence, row.reasoning = d.action.value, d.confidence, d.reasoning
        row.position_size_pct, row.stop_loss = d.position_size_pct, d.stop_loss
        row.take_profit = json.dumps(list(d.take_profit))
    else:
        row.abstain_reason, row.abstain_detail = vote.reason, vote.detail
    return row


def recorded_answer(row: AnswerRow) -> RecordedAnswer:
    assert row.id is not None  # read back from the table
    usage = Usage(
        latency_ms=row.latency_ms,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        cost_usd=row.cost_usd,
    )
    who = {"member": row.member, "model": row.model, "symbol": row.symbol, "usage": usage}
    vote: Ballot | Abstain
    if row.kind == "ballot":
        vote = Ballot(decision=decision_of(row), **who)
    else:
        vote = Abstain(reason=row.abstain_reason, detail=row.abstain_detail or "", **who)
    answer = Answer(vote=vote, raw_text=row.raw_text, cached=row.cached)
    return RecordedAnswer(
        row.id, row.cycle_id, row.created_at, row.market_ts, row.prompt_version, row.prompt_digest, answer
    )
