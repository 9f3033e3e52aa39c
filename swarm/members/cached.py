"""Wrappers around an LLM member: the response cache, and the daily budget.

    guarded(member, store, settings)
      = CachedMember(BudgetGuard(member))   for LLM members
      = member                              for local members (free, nothing to cache)

The cache sits outside the budget guard: a cached reply costs nothing, so it is served even once
the day's budget is spent. Both wrappers keep the inner member's name, model and provider.

The budget counts the store's spend of the UTC day (live: several bots may share the store), or,
for a backtest, a RunSpend: its store's days are simulated and its answers are written in
batches, so it counts the fresh answers of the run as they come back, as spent today.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from consensus.decision import NO_CALL_REASONS, Abstain, Ballot, Usage, Vote
from consensus.parse import ParseFailure, parse_decision
from swarm.config import MemberSettings, Settings
from swarm.members.base import Answer, DecisionRequest, Member, MemberWrapper
from swarm.store import CachedResponse, DailyCost, Store, cache_key

LOCAL_PROVIDER = "local"


def cache_params(settings: MemberSettings) -> dict[str, Any]:
    """The call parameters that change a model's reply, hence belong in the cache key."""
    return {
        "temperature": settings.temperature,
        "max_tokens": settings.max_tokens,
        "api_base": settings.api_base,
    }


class CachedMember(MemberWrapper):
    """Answers from the response cache when it can; otherwise asks the inner member and keeps the reply."""

    def __init__(self, inner: Member, store: Store, params: Mapping[str, Any]) -> None:
        super().__init__(inner)
        self._store = store
        self._params = dict(params)

    async def decide(self, request: DecisionRequest) -> Answer:
        key = cache_key(self.model, request.prompt.digest, self._params)
        hit = self._store.cached_response(key)
        if hit is not None:
            return self._replay(request, hit)
        answer = await self._inner.decide(request)
        # Only a reply the model actually gave is kept: a timeout or an error may not recur.
        if answer.raw_text and not answer.cached:
            self._store.put_cached_response(key, self.model, answer.raw_text, answer.vote.usage)
        return answer

    def _replay(self, request: DecisionRequest, hit: CachedResponse) -> Answer:
        # Parsed again rather than stored parsed: a fixed parser then fixes old replies too.
        usage = Usage(
            prompt_tokens=hit.usage.prompt_tokens, completion_tokens=hit.usage.completion_tokens, cost_usd=0.0
        )
        parsed = parse_decision(hit.raw_text, request.symbol)
        who = {"member": self.name, "model": self.model, "symbol": request.symbol, "usage": usage}
        vote: Vote
        if isinstance(parsed, ParseFailure):
            vote = Abstain(reason=parsed.reason, detail=parsed.detail, **who)
        else:
            vote = Ballot(decision=parsed, **who)
        return Answer(vote=vote, raw_text=hit.raw_text, cached=True)


class RunSpend:
    """What the fresh answers of one run cost, counted as they come back (a backtest's budget)."""

    def __init__(self) -> None:
        self.usd = 0.0
        self.unknown = 0

    def add(self, answer: Answer) -> None:
        if answer.cached:
            return
        vote = answer.vote
        cost = vote.usage.cost_usd
        if cost is not None:
            self.usd += cost
        elif not (isinstance(vote, Abstain) and vote.reason in NO_CALL_REASONS):
            self.unknown += 1

    def today(self) -> DailyCost:
        return DailyCost(usd=self.usd, unknown=self.unknown)


class BudgetGuard(MemberWrapper):
    """Abstains with reason "budget", without calling the model, once today's spend reaches the limit."""

    def __init__(
        self, inner: Member, store: Store, limit_usd: float | None, run_spend: RunSpend | None = None
    ) -> None:
        super().__init__(inner)
        self._store = store
        self._limit = limit_usd
        self._run_spend = run_spend

    async def decide(self, request: DecisionRequest) -> Answer:
        if self._limit is None or self.provider == LOCAL_PROVIDER:
            return await self._inner.decide(request)
        spent = self._spent()
        if spent.usd < self._limit:
            answer = await self._inner.decide(request)
            if self._run_spend is not None:
                self._run_spend.add(answer)
            return answer
        unknown = f" (+{spent.unknown} answers of unknown cost)" if spent.unknown else ""
        where = "today" if self._run_spend is None else "in this backtest"
        detail = f"spent {spent.usd:.2f} USD {where}{unknown}, daily budget {self._limit:.2f} USD"
        vote = Abstain(
            member=self.name,
            model=self.model,
            symbol=request.symbol,
            reason="budget",
            detail=detail,
            usage=Usage(cost_usd=0.0),  # no call was made: known to be free
        )
        return Answer(vote=vote)

    def _spent(self) -> DailyCost:
        if self._run_spend is not None:
            return self._run_spend.today()
        return self._store.cost_today_usd(self._store.now_ms())


def guarded(
    member: Member,
    store: Store,
    settings: Settings,
    *,
    use_cache: bool = True,
    run_spend: RunSpend | None = None,
) -> Member:
    """The member with the budget guard (and the cache, unless told not to) around it; with
    `run_spend` (a backtest, shared by its members) the budget counts the run's fresh answers.

    Local members are returned as they are: they cost nothing and answer instantly.
    """
    if member.provider == LOCAL_PROVIDER:
        return member
    budgeted = BudgetGuard(member, store, settings.budget_usd_per_day, run_spend)
    if not use_cache:
        return budgeted
    return CachedMember(budgeted, store, cache_params(settings.member(member.name)))
