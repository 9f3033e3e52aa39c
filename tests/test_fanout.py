"""fan_out: one deadline per cycle, per-provider limits, answers in a fixed order.

In-process members for the scheduling rules; LiteLLMMembers against the fake model server for the
same rules through the real network path.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
import pytest

from consensus.decision import Abstain, Action, Ballot, TradeDecision, Usage
from prompts.types import RenderedPrompt
from swarm.config import DEFAULT_ALIASES, PROVIDER_KEY_ENV, MemberSettings
from swarm.fanout import ConcurrencyLimits, fan_out
from swarm.members.base import Answer, DecisionRequest
from swarm.members.llm import READONLY_TYPEDDICT_WARNING, LiteLLMMember, close_clients
from tests.fakes.llm_server import FakeLLMServer, Hang, RateLimited, Reply, echo_decision
from tests.states import full_state

pytestmark = [
    pytest.mark.anyio,
    # Raised by pydantic inside litellm (lazy schemas of its ReadOnly TypedDicts); see swarm.members.llm.
    pytest.mark.filterwarnings(f"ignore:{READONLY_TYPEDDICT_WARNING}:UserWarning"),
]

SYMBOLS = ("BTC", "ETH", "SOL")


def request_for(symbol: str) -> DecisionRequest:
    prompt = RenderedPrompt(system="Answer with one JSON object.", user=f"symbol={symbol}", version="test-1")
    return DecisionRequest(cycle_id="cycle-1", symbol=symbol, state=full_state(symbol), prompt=prompt)


REQUESTS = [request_for(s) for s in SYMBOLS]


@dataclass
class StubMember:
    """A member in-process: answers HOLD after `delay_s`, or hangs, or raises; counts its calls in flight."""

    name: str
    provider: str = "local"
    delay_s: float = 0.0
    hang: bool = False
    raises: Exception | None = None
    in_flight: int = 0
    max_in_flight: int = 0

    @property
    def model(self) -> str:
        return f"local/{self.name}"

    async def decide(self, request: DecisionRequest) -> Answer:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await (anyio.sleep_forever() if self.hang else anyio.sleep(self.delay_s))
        finally:
            self.in_flight -= 1
        if self.raises is not None:
            raise self.raises
        decision = TradeDecision(action=Action.HOLD, confidence=50)
        usage = Usage(latency_ms=self.delay_s * 1000)
        ballot = Ballot(
            member=self.name, model=self.model, symbol=request.symbol, decision=decision, usage=usage
        )
        return Answer(vote=ballot)


def who(answers: list[Answer]) -> list[tuple[str, str, str]]:
    return [(a.vote.member, a.vote.symbol, a.vote.kind) for a in answers]


async def test_answers_come_by_member_then_request_whoever_finishes_first() -> None:
    slow, fast = StubMember("slow", delay_s=0.05), StubMember("fast")

    answers = await fan_out([slow, fast], REQUESTS, deadline_s=5)

    assert who(answers) == [(m, s, "ballot") for m in ("slow", "fast") for s in SYMBOLS]


async def test_a_hanging_member_abstains_at_the_deadline_and_the_others_vote() -> None:
    members = [StubMember("ok"), StubMember("stuck", hang=True)]
    started = time.monotonic()

    answers = await fan_out(members, REQUESTS, deadline_s=0.3)

    assert 0.3 <= time.monotonic() - started < 0.4
    assert who(answers) == [("ok", s, "ballot") for s in SYMBOLS] + [("stuck", s, "abstain") for s in SYMBOLS]
    stuck = answers[3].vote
    assert isinstance(stuck, Abstain)
    assert (stuck.reason, stuck.detail) == ("timeout", "no answer within the cycle deadline of 0.3 s")


async def test_a_member_that_raises_abstains_with_error_and_the_cycle_goes_on() -> None:
    members = [StubMember("buggy", raises=ValueError("bad\nindex")), StubMember("ok")]

    answers = await fan_out(members, REQUESTS[:1], deadline_s=5)

    buggy = answers[0].vote
    assert isinstance(buggy, Abstain)
    assert (buggy.reason, buggy.detail) == ("error", "member raised ValueError: bad index")
    assert isinstance(answers[1].vote, Ballot)


async def test_each_provider_is_held_to_its_own_limit_and_local_to_none() -> None:
    requests = [request_for(f"S{i}") for i in range(12)]
    capped = StubMember("capped", provider="anthropic", delay_s=0.05)
    default = StubMember("default", provider="openai", delay_s=0.05)
    local = StubMember("local", delay_s=0.05)
    limits = ConcurrencyLimits(per_provider={"anthropic": 2}, default=5)

    answers = await fan_out([capped, default, local], requests, deadline_s=5, limits=limits)

    assert all(isinstance(a.vote, Ballot) for a in answers)
    assert (capped.max_in_flight, default.max_in_flight, local.max_in_flight) == (2, 5, 12)


async def test_a_pair_still_queued_at_the_deadline_says_so() -> None:
    member = StubMember("one-at-a-time", provider="xai", delay_s=0.2)
    limits = ConcurrencyLimits(per_provider={"xai": 1})

    answers = await fan_out([member], REQUESTS, deadline_s=0.3, limits=limits)

    assert [a.vote.kind for a in answers] == ["ballot", "abstain", "abstain"]
    assert [a.vote.detail for a in answers[1:]] == [  # type: ignore[union-attr]
        "no answer within the cycle deadline of 0.3 s",
        "no answer within the cycle deadline of 0.3 s (still queued for a xai slot)",
    ]


async def test_timeouts_are_measured_on_the_injected_clock() -> None:
    now = [100.0]

    async def two_and_a_half_seconds_pass() -> None:
        await anyio.sleep(0.01)
        now[0] = 102.5

    async with anyio.create_task_group() as group:
        group.start_soon(two_and_a_half_seconds_pass)
        answers = await fan_out(
            [StubMember("stuck", hang=True)], REQUESTS[:1], deadline_s=0.05, clock=lambda: now[0]
        )

    assert answers[0].vote.usage.latency_ms == 2500.0


async def test_a_roster_of_one_answers_exactly_as_the_member_alone() -> None:
    member = StubMember("solo", delay_s=0.01)

    assert await fan_out([member], REQUESTS[:1], deadline_s=5) == [await member.decide(REQUESTS[0])]


async def test_nothing_to_ask_is_an_empty_cycle() -> None:
    assert await fan_out([], REQUESTS, deadline_s=1) == []
    assert await fan_out([StubMember("idle")], [], deadline_s=1) == []


# Through litellm and HTTP ------------------------------------------------------------------------


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeLLMServer]:
    for env in PROVIDER_KEY_ENV.values():
        monkeypatch.setenv(env, "sk-test-0123456789abcdef")
    with FakeLLMServer(default=Reply(echo_decision)) as server:
        yield server
        await close_clients()


def roster(fake: FakeLLMServer, clock: float | None = None) -> list[LiteLLMMember]:
    """The five default members, pointed at the fake; `clock` pins their latency readings."""
    return [
        LiteLLMMember(alias, model, MemberSettings(api_base=fake.api_base(model)))
        if clock is None
        else LiteLLMMember(alias, model, MemberSettings(api_base=fake.api_base(model)), clock=lambda: clock)
        for alias, model in DEFAULT_ALIASES.items()
    ]


async def test_a_hanging_model_costs_the_cycle_no_more_than_its_deadline(fake: FakeLLMServer) -> None:
    members = roster(fake)
    await fan_out(members, REQUESTS[:1], deadline_s=5)  # warm up: litellm's first calls import a lot
    fake.set_default("grok-4.7", Hang())
    fake.set_default("claude-sonnet-5", Reply(echo_decision, latency_s=0.2))
    started = time.monotonic()

    answers = await fan_out(members, REQUESTS[:1], deadline_s=0.5)

    assert time.monotonic() - started < 0.5 + 0.1
    assert {a.vote.member: a.vote.kind for a in answers} == {
        "deepseek": "ballot",
        "grok": "abstain",
        "claude": "ballot",
        "gpt": "ballot",
        "gemini": "ballot",
    }
    assert answers[1].vote.reason == "timeout"  # type: ignore[union-attr]


async def test_the_provider_limit_holds_on_the_wire(fake: FakeLLMServer) -> None:
    gpt, claude = (m for m in roster(fake) if m.name in ("gpt", "claude"))
    await fan_out([gpt, claude], REQUESTS[:1], deadline_s=5)  # warm up: first calls import, stalling the loop
    fake.set_default("gpt-5.5", Reply(echo_decision, latency_s=0.3))
    fake.set_default("claude-sonnet-5", Reply(echo_decision, latency_s=0.3))
    requests = [request_for(f"S{i}") for i in range(6)]

    answers = await fan_out([gpt, claude], requests, deadline_s=5, limits=ConcurrencyLimits({"openai": 2}))

    assert all(isinstance(a.vote, Ballot) for a in answers)
    assert (fake.max_in_flight("gpt-5.5"), fake.max_in_flight("claude-sonnet-5")) == (2, 6)


async def test_a_roster_of_one_litellm_member_answers_as_it_alone(fake: FakeLLMServer) -> None:
    member = roster(fake, clock=0.0)[3]  # gpt

    [in_swarm] = await fan_out([member], REQUESTS[:1], deadline_s=5)
    alone = await member.decide(REQUESTS[0])

    assert in_swarm == alone
    assert isinstance(alone.vote, Ballot)


async def test_retries_stop_at_the_cycle_deadline_not_the_vendors_wish(fake: FakeLLMServer) -> None:
    fake.set_default("gpt-5.5", RateLimited(retry_after=30))
    [gpt] = (m for m in roster(fake) if m.name == "gpt")  # no member timeout: the cycle's deadline binds
    started = time.monotonic()

    [answer] = await fan_out([gpt], REQUESTS[:1], deadline_s=3)

    assert isinstance(answer.vote, Abstain)
    assert answer.vote.reason == "rate_limited"
    assert time.monotonic() - started < 1.0
    assert len(fake.requests("gpt-5.5")) == 1
