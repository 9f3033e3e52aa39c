"""A member that replays its recorded answers: to follow an LLM member alone after a backtest
without asking (and paying) it again.

Its answers were given while the swarm held the swarm's positions, so the prompt it saw may
differ from what it would have seen trading alone; where the swarm's run did not ask it (a symbol
the swarm held is asked only every few hours), it holds.
"""

from __future__ import annotations

from collections.abc import Mapping

from consensus.decision import Action, Ballot, TradeDecision, Vote
from swarm.members.base import Answer, DecisionRequest

NOT_ASKED = "not asked at this step in the swarm's run"


class RecordedMember:
    """Answers with `votes[(symbol, market time in ms)]`; provider "local": in process, no limit."""

    def __init__(self, name: str, model: str, votes: Mapping[tuple[str, int], Vote]) -> None:
        self._name = name
        self._model = model
        self._votes = votes

    @property
    def name(self) -> str:
        return self._name

    @property
    def model(self) -> str:
        return self._model

    @property
    def provider(self) -> str:
        return "local"

    async def decide(self, request: DecisionRequest) -> Answer:
        at = int(request.state.timestamp.timestamp() * 1000)
        vote = self._votes.get((request.symbol, at))
        if vote is None:
            hold = TradeDecision(action=Action.HOLD, confidence=0.0, reasoning=NOT_ASKED)
            vote = Ballot(member=self._name, model=self._model, symbol=request.symbol, decision=hold)
        return Answer(vote=vote)
