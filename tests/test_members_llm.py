"""LiteLLMMember end to end: litellm's own provider code against a fake server in the real formats."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import litellm
import pytest

from consensus.decision import Abstain, Action, Ballot
from consensus.parse import ParseFailure, decision_json_schema, parse_decision
from prompts.types import RenderedPrompt
from swarm.config import DEFAULT_ALIASES, PROVIDER_KEY_ENV, ConfigError, MemberSettings, Settings
from swarm.members.base import Answer, DecisionRequest
from swarm.members.llm import (
    READONLY_TYPEDDICT_WARNING,
    LiteLLMMember,
    RetryPolicy,
    close_clients,
    missing_keys,
)
from tests.fakes.llm_server import (
    FakeLLMServer,
    Hang,
    MalformedBody,
    RateLimited,
    Refused,
    Reply,
    ServerError,
    echo_decision,
)
from tests.states import full_state

pytestmark = [
    pytest.mark.anyio,
    # Raised by pydantic inside litellm (lazy schemas of its ReadOnly TypedDicts); see swarm.members.llm.
    pytest.mark.filterwarnings(f"ignore:{READONLY_TYPEDDICT_WARNING}:UserWarning"),
]

DUMMY_KEY = "sk-test-0123456789abcdef"
FAST_RETRY = RetryPolicy(backoff_s=0.01, min_attempt_s=0.1)
# alias -> (wire protocol, header that must carry the key)
PROTOCOLS = {
    "deepseek": ("openai", "authorization"),
    "grok": ("openai", "authorization"),
    "gpt": ("openai", "authorization"),
    "claude": ("anthropic", "x-api-key"),
    "gemini": ("gemini", "x-goog-api-key"),
}


def request_for(symbol: str = "BTC") -> DecisionRequest:
    prompt = RenderedPrompt(system="Answer with one JSON object.", user=f"symbol={symbol}", version="test-1")
    return DecisionRequest(cycle_id="cycle-1", symbol=symbol, state=full_state(symbol), prompt=prompt)


def wire(model: str) -> str:
    return model.split("/", 1)[1]


@pytest.fixture
async def fake() -> AsyncIterator[FakeLLMServer]:
    """The fake server; afterwards litellm's cached clients are closed in the loop that opened them."""
    with FakeLLMServer(default=Reply(echo_decision)) as server:
        yield server
        await close_clients()


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for env in PROVIDER_KEY_ENV.values():
        monkeypatch.setenv(env, DUMMY_KEY)


def member_on(fake: FakeLLMServer, model: str, **settings: object) -> LiteLLMMember:
    config = MemberSettings(api_base=fake.api_base(model), **settings)
    return LiteLLMMember(model, model, config, retry=FAST_RETRY)


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize("alias", sorted(DEFAULT_ALIASES))
async def test_each_default_alias_votes_through_litellm(alias: str, fake: FakeLLMServer) -> None:
    model = DEFAULT_ALIASES[alias]
    member = LiteLLMMember(alias, model, MemberSettings(api_base=fake.api_base(model)), retry=FAST_RETRY)

    answer = await member.decide(request_for("ETH"))

    assert isinstance(answer.vote, Ballot), answer.vote
    assert answer.vote.decision.action is Action.LONG
    assert answer.vote.decision.take_profit == (0.02, 0.05)
    assert (answer.vote.member, answer.vote.model, answer.vote.symbol) == (alias, model, "ETH")
    [sent] = fake.requests(wire(model))
    assert answer.raw_text == echo_decision(sent)
    protocol, key_header = PROTOCOLS[alias]
    assert (sent.protocol, sent.auth_header) == (protocol, key_header)
    assert sent.json_mode == "json_schema"
    assert DUMMY_KEY not in json.dumps(sent.headers)


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize("alias", ["gpt", "claude", "gemini"])
async def test_tokens_and_cost_of_a_priced_model_are_recorded(alias: str, fake: FakeLLMServer) -> None:
    model = DEFAULT_ALIASES[alias]
    answer = await member_on(fake, model).decide(request_for())

    [sent] = fake.requests(wire(model))
    usage = answer.vote.usage
    prompt_tokens, completion_tokens = len(sent.prompt_text) // 4 + 1, len(answer.raw_text or "") // 4 + 1
    assert (usage.prompt_tokens, usage.completion_tokens) == (prompt_tokens, completion_tokens)
    price = litellm.get_model_info(model)
    per_input, per_output = price["input_cost_per_token"] or 0.0, price["output_cost_per_token"] or 0.0
    expected = prompt_tokens * per_input + completion_tokens * per_output
    assert usage.cost_usd == pytest.approx(expected)
    assert usage.latency_ms > 0


async def test_unpriced_self_hosted_model_votes_with_unknown_cost(fake: FakeLLMServer) -> None:
    member = member_on(fake, "openai/my-local-model")  # no OPENAI_API_KEY: a custom api_base needs none

    answer = await member.decide(request_for())

    assert isinstance(answer.vote, Ballot)
    assert answer.vote.usage.cost_usd is None
    assert answer.vote.usage.prompt_tokens is not None
    [sent] = fake.requests("my-local-model")
    assert sent.json_mode == "json_object"  # litellm does not know it takes a schema
    assert missing_keys([member]) == []


@pytest.mark.usefixtures("keys")
async def test_member_settings_reach_the_request(fake: FakeLLMServer) -> None:
    await member_on(fake, "deepseek/deepseek-v4-pro", temperature=0.7, max_tokens=321).decide(request_for())

    [sent] = fake.requests("deepseek-v4-pro")
    assert (sent.temperature, sent.body["max_tokens"]) == (0.7, 321)
    assert sent.body["messages"][0] == {"role": "system", "content": "Answer with one JSON object."}
    assert sent.body["response_format"]["json_schema"]["schema"] == decision_json_schema()


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize(
    "model", ["openai/gpt-5.5", "anthropic/claude-sonnet-5", "gemini/gemini-3.1-pro-preview"]
)
async def test_rate_limit_waits_the_retry_after_then_votes(model: str, fake: FakeLLMServer) -> None:
    fake.script(wire(model), RateLimited(retry_after=0.3), Reply(echo_decision))

    answer = await member_on(fake, model, timeout_s=5).decide(request_for())

    assert isinstance(answer.vote, Ballot)
    first, second = fake.requests(wire(model))
    assert second.received_at - first.received_at >= 0.3


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize(
    ("model", "statuses"),
    [("anthropic/claude-sonnet-5", (500, 529)), ("openai/gpt-5.5", (502, 529)), ("xai/grok-4.7", (503, 500))],
)
async def test_server_errors_are_retried(model: str, statuses: tuple[int, int], fake: FakeLLMServer) -> None:
    fake.script(wire(model), *(ServerError(s) for s in statuses), Reply(echo_decision))

    answer = await member_on(fake, model, timeout_s=5).decide(request_for())

    assert isinstance(answer.vote, Ballot)
    assert len(fake.requests(wire(model))) == 3


@pytest.mark.usefixtures("keys")
async def test_persistent_server_error_abstains_with_the_exception_named(fake: FakeLLMServer) -> None:
    fake.set_default("gpt-5.5", ServerError(500))
    member = LiteLLMMember(
        "gpt",
        "openai/gpt-5.5",
        MemberSettings(api_base=fake.api_base("openai/gpt-5.5"), timeout_s=5),
        retry=RetryPolicy(max_attempts=3, backoff_s=0.01, min_attempt_s=0.1),
    )

    answer = await member.decide(request_for())

    assert isinstance(answer.vote, Abstain)
    assert answer.vote.reason == "error"
    assert answer.vote.detail.startswith("InternalServerError after 3 attempts: ")
    assert "\n" not in answer.vote.detail
    assert DUMMY_KEY not in answer.vote.detail
    assert answer.raw_text is None
    assert len(fake.requests("gpt-5.5")) == 3


@pytest.mark.usefixtures("keys")
async def test_retry_after_beyond_the_deadline_abstains_at_once(fake: FakeLLMServer) -> None:
    fake.set_default("grok-4.7", RateLimited(retry_after=30))
    started = time.monotonic()

    answer = await member_on(fake, "xai/grok-4.7", timeout_s=2).decide(request_for())

    assert isinstance(answer.vote, Abstain)
    assert answer.vote.reason == "rate_limited"
    assert time.monotonic() - started < 1.0
    assert len(fake.requests("grok-4.7")) == 1


@pytest.mark.usefixtures("keys")
async def test_hanging_model_abstains_at_the_member_timeout(fake: FakeLLMServer) -> None:
    fake.set_default("gemini-3.1-pro-preview", Hang())
    started = time.monotonic()

    answer = await member_on(fake, "gemini/gemini-3.1-pro-preview", timeout_s=0.4).decide(request_for())

    elapsed = time.monotonic() - started
    assert isinstance(answer.vote, Abstain)
    assert answer.vote.reason == "timeout"
    assert 0.4 <= elapsed < 0.6
    assert answer.vote.usage.latency_ms == pytest.approx(elapsed * 1000, abs=50)


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("BTC looks strong, I would go long.", "unparseable"),
        ('{"action": "MOON", "confidence": 50}', "invalid"),
    ],
)
async def test_unusable_answer_abstains_with_the_parser_reason(
    text: str, reason: str, fake: FakeLLMServer
) -> None:
    fake.set_default("claude-sonnet-5", Reply(text))

    answer = await member_on(fake, "anthropic/claude-sonnet-5").decide(request_for())

    assert isinstance(answer.vote, Abstain)
    assert answer.vote.reason == reason
    assert answer.raw_text == text
    assert answer.vote.usage.completion_tokens is not None  # a reply was paid for even if unusable


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize("model", ["deepseek/deepseek-v4-pro", "gemini/gemini-3.1-pro-preview"])
async def test_answer_cut_off_at_max_tokens_abstains(model: str, fake: FakeLLMServer) -> None:
    fake.set_default(wire(model), Reply(echo_decision, truncate_at=40))

    answer = await member_on(fake, model).decide(request_for())

    assert isinstance(answer.vote, Abstain)
    assert answer.raw_text is not None
    assert len(answer.raw_text) == 40
    expected = parse_decision(answer.raw_text, "BTC")
    assert isinstance(expected, ParseFailure)
    assert answer.vote.reason == expected.reason
    assert answer.vote.detail.endswith("(answer cut off at max_tokens)")


@pytest.mark.usefixtures("keys")
async def test_malformed_response_body_abstains_with_error(fake: FakeLLMServer) -> None:
    fake.set_default("gpt-5.5", MalformedBody())

    answer = await member_on(fake, "openai/gpt-5.5", timeout_s=5).decide(request_for())

    assert isinstance(answer.vote, Abstain)
    assert answer.vote.reason == "error"
    assert answer.raw_text is None


async def test_missing_key_is_reported_before_any_call(fake: FakeLLMServer) -> None:
    # No key in the environment (conftest clears them) and the vendor's own endpoint: needs a key.
    claude = LiteLLMMember("claude", DEFAULT_ALIASES["claude"])
    gemini = LiteLLMMember("gemini", DEFAULT_ALIASES["gemini"], environ={"GEMINI_API_KEY": DUMMY_KEY})
    local_proxy = member_on(fake, "openai/gpt-5.5")
    ollama = LiteLLMMember("llama", "ollama/llama3")

    assert missing_keys([claude, gemini, local_proxy, ollama]) == [(claude, "ANTHROPIC_API_KEY")]
    answer = await claude.decide(request_for())
    assert isinstance(answer.vote, Abstain)
    assert (answer.vote.reason, answer.vote.detail) == ("no_key", "ANTHROPIC_API_KEY is not set")


def test_members_are_built_from_settings() -> None:
    settings = Settings(members={"claude": MemberSettings(temperature=1.0, timeout_s=9)})

    member = LiteLLMMember.from_settings("claude", settings)

    assert (member.name, member.model, member.provider) == (
        "claude",
        "anthropic/claude-sonnet-5",
        "anthropic",
    )
    assert member.profile.key_env == "ANTHROPIC_API_KEY"


def test_a_model_litellm_cannot_route_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no-such-model"):
        LiteLLMMember("odd", "no-such-model")


@pytest.mark.usefixtures("keys")
async def test_litellm_prints_nothing(fake: FakeLLMServer, capfd: pytest.CaptureFixture[str]) -> None:
    # Gemini 3 makes litellm log a sampling deprecation; an error makes it print a help banner.
    fake.script("gemini-3.1-pro-preview", Reply(echo_decision), ServerError(400))
    member = member_on(fake, "gemini/gemini-3.1-pro-preview")

    answers: list[Answer] = [await member.decide(request_for()), await member.decide(request_for())]

    assert [a.vote.kind for a in answers] == ["ballot", "abstain"]
    assert capfd.readouterr() == ("", "")


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize(
    "model", ["openai/gpt-5.5", "anthropic/claude-sonnet-5", "gemini/gemini-3.1-pro-preview"]
)
async def test_a_reply_withheld_by_the_safety_filter_abstains(model: str, fake: FakeLLMServer) -> None:
    fake.set_default(wire(model), Refused())

    answer = await member_on(fake, model).decide(request_for())

    assert isinstance(answer.vote, Abstain)
    assert answer.vote.reason == "unparseable"
    assert answer.vote.detail.endswith("(withheld by the vendor's filter)")
    assert answer.raw_text == ""
