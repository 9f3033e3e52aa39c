"""`--anonymize`: members see neutral symbols, relative time and prices rebased to 100.

Only what the members see changes: the engine, the risk rules and the venue keep the real
market. A member's answer needs no translating back beyond its symbol: stops and targets are
fractions of the entry price, which rebasing leaves alone.
"""

from __future__ import annotations

from consensus.decision import Vote
from feeds.anonymize import Anonymizer
from prompts.context import PortfolioView
from prompts.render import render
from swarm.members.base import Answer, DecisionRequest, Member, MemberWrapper


class AnonymizedMember(MemberWrapper):
    """Wraps a member so that it decides on anonymized states (and prompts rendered from them)."""

    def __init__(self, inner: Member, anonymizer: Anonymizer, equity_usd: float) -> None:
        super().__init__(inner)
        self._anonymizer = anonymizer
        self._equity = equity_usd

    async def decide(self, request: DecisionRequest) -> Answer:
        state = self._anonymizer.state(request.state)
        # The portfolio's entry prices would give the real price level away: equity only.
        prompt = render(state, PortfolioView(equity_usd=self._equity), [])
        hidden = DecisionRequest(cycle_id=request.cycle_id, symbol=state.symbol, state=state, prompt=prompt)
        answer = await self._inner.decide(hidden)
        vote: Vote = answer.vote.model_copy(update={"symbol": request.symbol})
        return Answer(vote=vote, raw_text=answer.raw_text, cached=answer.cached)
