"""The response cache and the budget guard around a member, with an in-process fake model."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import pytest

from consensus.decision import Abstain, Action, Ballot, Usage
from consensus.parse import ParseFailure, parse_decision
from prompts.types import RenderedPrompt
from swarm.config import MemberSettings, Settings
from swarm.members.base import Answer, DecisionRequest, Member
from swarm.members.cached import BudgetGuard, CachedMember, cache_params, guarded
from swarm.members.local import local_member
from swarm.store import Store
from tests.states import full_state

DAY = 1_761_609_600_000  # 2025-10-28T00:00:00Z
LONG = '{"action": "LONG", "confidence": 70, "take_profit": [0.02, 0.04], "stop_loss": 0.015}'
PARAMS = {"temperature": 0.2, "max_tokens": 1024, "api_base": None}


class FakeModel:
    """An LLM member that replies from a script and records every request it gets."""

    def __init__(self, *replies: str | None, cost: float = 0.01) -> None:
        self.replies = list(replies)
        self.cost = cost
        self.requests: list[DecisionRequest] = []

    name = "claude"
    model = "anthropic/claude-sonnet-5"
    provider = "anthropic"

    async def decide(self, request: DecisionRequest) -> Answer:
        self.requests.append(request)
        text = self.replies.pop(0)
        who = {"member": self.name, "model": self.model, "symbol": request.symbol}
        if text is None:
            return Answer(
                vote=Abstain(reason="timeout", detail="no answer", usage=Usage(latency_ms=60e3), **who)
            )
        usage = Usage(latency_ms=900.0, prompt_tokens=1180, completion_tokens=40, cost_usd=self.cost)
        parsed = parse_decision(text, request.symbol)
        if isinstance(parsed, ParseFailure):
            return Answer(
                vote=Abstain(reason=parsed.reason, detail=parsed.detail, usage=usage, **who), raw_text=text
            )
        return Answer(vote=Ballot(decision=parsed, usage=usage, **who), raw_text=text)


class Clock:
    now = DAY + 3_600_000

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def store() -> Iterator[Store]:
    opened = Store.open("sqlite://", clock=Clock())
    yield opened
    opened.close()


def request(user: str = "BTC state", cycle: str = "c1") -> DecisionRequest:
    prompt = RenderedPrompt(system="system", user=user, version="v1")
    return DecisionRequest(cycle_id=cycle, symbol="BTC", state=full_state(), prompt=prompt)


def ask(member: Member, req: DecisionRequest) -> Answer:
    return anyio.run(member.decide, req)


def spend(store: Store, usd: float) -> None:
    """Record one fresh answer that cost `usd`."""
    vote = Abstain(
        member="gpt", model="openai/gpt-5.5", symbol="ETH", reason="invalid", usage=Usage(cost_usd=usd)
    )
    store.record_answers(f"spent-{usd}", DAY, "v1", "d" * 64, [Answer(vote=vote, raw_text="{}")])


# --- cache -------------------------------------------------------------------------------


def test_second_identical_request_is_served_from_the_cache(store: Store) -> None:
    model = FakeModel(LONG)
    member = CachedMember(model, store, PARAMS)
    fresh = ask(member, request())
    again = ask(member, request(cycle="c2"))
    assert len(model.requests) == 1
    assert isinstance(fresh.vote, Ballot)
    assert isinstance(again.vote, Ballot)
    assert (fresh.cached, again.cached) == (False, True)
    assert again.vote.decision == fresh.vote.decision
    assert again.vote.decision.action is Action.LONG
    assert again.raw_text == LONG
    assert again.vote.usage == Usage(prompt_tokens=1180, completion_tokens=40, cost_usd=0.0)
    assert (member.name, member.model, member.provider) == (model.name, model.model, model.provider)


def test_other_prompt_or_params_miss_the_cache(store: Store) -> None:
    model = FakeModel(LONG, LONG, LONG)
    ask(CachedMember(model, store, PARAMS), request())
    ask(CachedMember(model, store, PARAMS), request(user="another state"))
    ask(CachedMember(model, store, PARAMS | {"temperature": 0.7}), request())
    assert len(model.requests) == 3


def test_failures_without_a_reply_are_not_cached(store: Store) -> None:
    model = FakeModel(None, LONG)
    member = CachedMember(model, store, PARAMS)
    assert isinstance(ask(member, request()).vote, Abstain)
    assert isinstance(ask(member, request()).vote, Ballot)
    assert len(model.requests) == 2


def test_a_cached_unparseable_reply_replays_as_the_same_abstention(store: Store) -> None:
    model = FakeModel("I think BTC goes up.")
    member = CachedMember(model, store, PARAMS)
    fresh = ask(member, request())
    again = ask(member, request())
    assert isinstance(fresh.vote, Abstain)
    assert isinstance(again.vote, Abstain)
    assert (again.vote.reason, again.vote.detail) == (fresh.vote.reason, fresh.vote.detail)
    assert again.cached
    assert len(model.requests) == 1


def test_cache_params_follow_member_settings() -> None:
    settings = MemberSettings(temperature=0.4, max_tokens=512, api_base="http://127.0.0.1:8000")
    assert cache_params(settings) == {
        "temperature": 0.4,
        "max_tokens": 512,
        "api_base": "http://127.0.0.1:8000",
    }


# --- budget ------------------------------------------------------------------------------


def test_over_budget_abstains_without_calling_the_model(store: Store) -> None:
    model = FakeModel(LONG)
    spend(store, 2.0)
    answer = ask(BudgetGuard(model, store, limit_usd=2.0), request())
    assert model.requests == []
    assert isinstance(answer.vote, Abstain)
    assert answer.vote.reason == "budget"
    assert answer.vote.detail == "spent 2.00 USD today, daily budget 2.00 USD"
    assert answer.vote.usage.cost_usd == 0.0


def test_under_budget_or_no_budget_calls_the_model(store: Store) -> None:
    model = FakeModel(LONG, LONG)
    spend(store, 1.99)
    assert isinstance(ask(BudgetGuard(model, store, limit_usd=2.0), request()).vote, Ballot)
    spend(store, 5.0)
    assert isinstance(ask(BudgetGuard(model, store, limit_usd=None), request()).vote, Ballot)
    assert len(model.requests) == 2


def test_yesterdays_spend_does_not_count(store: Store) -> None:
    clock = Clock()
    clock.now = DAY - 1
    yesterday = Store(store.engine, clock)
    spend(yesterday, 10.0)
    model = FakeModel(LONG)
    assert isinstance(ask(BudgetGuard(model, store, limit_usd=1.0), request()).vote, Ballot)


def test_local_members_ignore_the_budget(store: Store) -> None:
    spend(store, 100.0)
    member = BudgetGuard(local_member("local/trend"), store, limit_usd=1.0)
    assert isinstance(ask(member, request()).vote, Ballot)


def test_guarded_serves_cache_hits_even_over_budget(store: Store) -> None:
    model = FakeModel(LONG)
    member = guarded(model, store, Settings(budget_usd_per_day=1.0))
    fresh = ask(member, request())
    store.record_answers("c1", DAY, "v1", request().prompt.digest, [fresh])
    spend(store, 1.0)
    hit = ask(member, request())
    miss = ask(member, request(user="a new state"))
    assert hit.cached
    assert isinstance(miss.vote, Abstain)
    assert miss.vote.reason == "budget"
    assert len(model.requests) == 1
    assert store.cost_today_usd(DAY).usd == pytest.approx(1.01)  # the hit added nothing


def test_guarded_leaves_local_members_alone(store: Store) -> None:
    trend = local_member("local/trend")
    assert guarded(trend, store, Settings(budget_usd_per_day=0.0)) is trend


def test_guarded_without_cache_always_asks_the_model(store: Store) -> None:
    model = FakeModel(LONG, LONG)
    member = guarded(model, store, Settings(), use_cache=False)
    first = ask(member, request())
    store.record_answers("c1", DAY, "v1", request().prompt.digest, [first])
    second = ask(member, request())
    assert not first.cached
    assert not second.cached
    assert len(model.requests) == 2


def test_a_run_spend_counts_fresh_answers_only() -> None:
    from swarm.members.cached import RunSpend

    def ballot(cost: float | None) -> Ballot:
        decision = parse_decision('{"action": "HOLD", "confidence": 50}', "BTC")
        assert not isinstance(decision, ParseFailure)
        return Ballot(member="m", model="x/m", symbol="BTC", decision=decision, usage=Usage(cost_usd=cost))

    spend = RunSpend()
    spend.add(Answer(vote=ballot(0.25)))
    spend.add(Answer(vote=ballot(0.5), cached=True))  # a cache hit costs nothing
    spend.add(Answer(vote=ballot(None)))  # a price litellm does not know
    spend.add(Answer(vote=Abstain(member="m", model="x/m", symbol="BTC", reason="budget")))  # no call
    spend.add(Answer(vote=Abstain(member="m", model="x/m", symbol="BTC", reason="timeout")))  # may have cost
    assert (spend.today().usd, spend.today().unknown) == (0.25, 2)
