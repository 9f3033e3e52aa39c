"""LiteLLMMember: one model reached through litellm, as a swarm member that never raises.

    DecisionRequest -> litellm.acompletion (the model's JSON mode, its vendor's key)
      -> retries of transient failures (429, 5xx, connection) within the remaining deadline
      -> answer text -> parse_decision -> Ballot | Abstain, with latency, tokens and cost in Usage

Model quirks are litellm's data, read once per model into a ModelProfile: the provider (which also
names the concurrency group), the key's environment variable, and the JSON mode. Parameters a model
refuses (e.g. temperature on models that only sample at their own setting) are dropped by litellm
(`drop_params=True`) instead of failing the call.

Keys are read once, when the member is built. A model needs no key when its provider serves local
models (ollama/, hosted_vllm/, ...) or when it has a custom api_base (a self-hosted server or a
proxy, which often take none); such a member without a key sends a placeholder, since litellm's
providers refuse to build a request without one, and a server that does want a key answers 401,
which is recorded as an "error" abstention.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import random
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Final, TypeVar

import anyio
from pydantic import SecretStr
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

# Before litellm is imported: otherwise its import and its Anthropic calls fetch price and header
# tables from GitHub. setdefault keeps an operator's explicit choice.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")

import litellm
from litellm.exceptions import (
    APIConnectionError,
    BadGatewayError,
    InternalServerError,
    RateLimitError,
    ServiceUnavailableError,
    Timeout,
)
from litellm.llms.custom_httpx.async_client_cleanup import close_litellm_async_clients

from consensus.decision import Abstain, AbstainReason, Ballot, Usage
from consensus.parse import ParseFailure, decision_json_schema, parse_decision
from swarm.config import PROVIDER_KEY_ENV, ConfigError, MemberSettings, Settings
from swarm.members.base import Answer, DecisionRequest

Clock = Callable[[], float]

# Providers of self-hosted models: no vendor account, so no key to report missing.
KEYLESS_PROVIDERS: Final = frozenset({"ollama", "ollama_chat", "hosted_vllm", "lm_studio", "llamafile"})
_PLACEHOLDER_KEY: Final = "no-key"
_DETAIL_CHARS: Final = 200
READONLY_TYPEDDICT_WARNING: Final = r"Items? .* on TypedDict class .* `ReadOnly` qualifier"
_MIN_REDACTED_KEY: Final = 8  # shorter "keys" are test dummies; replacing them would garble the text
# litellm repeats the class name in its messages ("litellm.APIError: APIError: ..."); we name it once.
_LITELLM_PREFIX: Final = re.compile(r"^(?:(?:litellm\.)?\w+Error: )+")
_TRANSIENT: Final = (
    RateLimitError,
    InternalServerError,
    ServiceUnavailableError,
    BadGatewayError,
    APIConnectionError,
    Timeout,
)


def _silence_litellm() -> None:
    """litellm prints on its own (debug banners, its loggers' stderr handler); failures are our data."""
    litellm.suppress_debug_info = True
    # litellm builds pydantic schemas of TypedDicts with ReadOnly items lazily, on the first call of
    # a model; pydantic warns that it will not enforce ReadOnly. Harmless, and not ours to fix.
    warnings.filterwarnings("ignore", message=READONLY_TYPEDDICT_WARNING, category=UserWarning)
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
        logger = logging.getLogger(name)
        logger.handlers = [logging.NullHandler()]
        logger.propagate = False


_silence_litellm()


@dataclass(frozen=True)
class ModelProfile:
    """What litellm knows about a model that changes how we call it."""

    provider: str
    key_env: str | None  # the variable we read the key from; None: litellm reads its own, or none needed
    response_format: dict[str, Any] | None

    @property
    def keyless(self) -> bool:
        return self.provider in KEYLESS_PROVIDERS


@cache
def model_profile(model: str) -> ModelProfile:
    """The profile of a litellm model string; ConfigError when litellm cannot route it."""
    try:
        _, provider, _, _ = litellm.get_llm_provider(model)
    except Exception as exc:
        raise ConfigError(
            f"model {model!r}: litellm cannot tell its provider ({type(exc).__name__})"
        ) from None
    key_env = None if provider in KEYLESS_PROVIDERS else PROVIDER_KEY_ENV.get(provider)
    return ModelProfile(provider, key_env, _json_mode(model))


def _json_mode(model: str) -> dict[str, Any] | None:
    """The strongest JSON mode litellm supports for the model: our schema, plain JSON, or none."""
    if _safe(lambda: litellm.supports_response_schema(model=model)):
        schema = {"name": "trade_decision", "schema": decision_json_schema(), "strict": True}
        return {"type": "json_schema", "json_schema": schema}
    if "response_format" in (_safe(lambda: litellm.get_supported_openai_params(model=model)) or ()):
        return {"type": "json_object"}
    return None


def _safe(lookup: Callable[[], Any]) -> Any:
    """A litellm capability lookup; a model missing from its tables has no capabilities."""
    try:
        return lookup()
    except Exception:
        return None


@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures are retried. Never past the deadline, whatever these say."""

    max_attempts: int = 4
    backoff_s: float = 0.5  # first wait when the vendor gives no Retry-After; doubles, with jitter
    backoff_max_s: float = 8.0
    min_attempt_s: float = 1.0  # a retry left with less time than this for its answer is not sent


class LiteLLMMember:
    """A swarm member answering through one litellm model. `decide` never raises for its failures."""

    def __init__(
        self,
        name: str,
        model: str,
        settings: MemberSettings | None = None,
        *,
        retry: RetryPolicy | None = None,
        clock: Clock = anyio.current_time,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._name = name
        self._model = model
        self._settings = settings or MemberSettings()
        self._retry = retry or RetryPolicy()
        self._clock = clock
        self._profile = model_profile(model)
        raw_key = (environ or os.environ).get(self._profile.key_env or "")
        self._api_key = SecretStr(raw_key) if raw_key else None
        self.missing_key = self._find_missing_key()

    @classmethod
    def from_settings(
        cls, name: str, settings: Settings, *, clock: Clock = anyio.current_time
    ) -> LiteLLMMember:
        """The member for a roster name (an alias like "claude" or a model string) from Settings."""
        return cls(name, settings.resolve_model(name), settings.member(name), clock=clock)

    @property
    def name(self) -> str:
        return self._name

    @property
    def model(self) -> str:
        return self._model

    @property
    def provider(self) -> str:
        return self._profile.provider

    @property
    def profile(self) -> ModelProfile:
        return self._profile

    def _find_missing_key(self) -> str | None:
        """The environment variable to set before this member can answer, or None."""
        if self._profile.keyless or self._settings.api_base is not None or self._api_key is not None:
            return None
        if self._profile.key_env is not None:
            return self._profile.key_env
        # A provider outside PROVIDER_KEY_ENV: litellm reads its key itself and knows the name.
        missing = _safe(lambda: litellm.validate_environment(model=self._model)["missing_keys"]) or []
        names = [str(n) for n in missing if str(n).endswith("_KEY")]
        return " or ".join(names) or None

    async def decide(self, request: DecisionRequest) -> Answer:
        started = self._clock()
        if self.missing_key is not None:
            return self._abstain(request, "no_key", f"{self.missing_key} is not set", started)
        retrying = self._retrying()
        try:
            with anyio.fail_after(self._settings.timeout_s):
                response: Any = await retrying(self._complete, request)
        except Exception as exc:  # every failure of the call is this member's abstention
            attempts = int(retrying.statistics.get("attempt_number", 1))
            return self._abstain(request, _reason(exc), self._describe(exc, attempts), started)
        return self._answer(request, response, started)

    def _retrying(self) -> AsyncRetrying:
        return AsyncRetrying(
            retry=retry_if_exception(_is_transient),
            wait=self._wait,
            stop=self._stop,
            sleep=anyio.sleep,
            reraise=True,
        )

    def _wait(self, state: RetryCallState) -> float:
        """The vendor's Retry-After when it sent one, else exponential backoff with jitter."""
        exc = state.outcome.exception() if state.outcome else None
        vendor = _retry_after(exc) if exc is not None else None
        if vendor is not None:
            return vendor
        backoff = min(self._retry.backoff_s * 2.0 ** (state.attempt_number - 1), self._retry.backoff_max_s)
        return backoff * random.uniform(0.5, 1.0)

    def _stop(self, state: RetryCallState) -> bool:
        if state.attempt_number >= self._retry.max_attempts:
            return True
        return state.upcoming_sleep + self._retry.min_attempt_s > _remaining_s()

    async def _complete(self, request: DecisionRequest) -> Any:
        remaining = _remaining_s()
        return await litellm.acompletion(
            model=self._model,
            messages=request.prompt.messages(),
            temperature=self._settings.temperature,
            max_tokens=self._settings.max_tokens,
            api_base=self._settings.api_base,
            api_key=self._key_to_send(),
            timeout=remaining if math.isfinite(remaining) else None,
            response_format=copy.deepcopy(self._profile.response_format),  # litellm may edit it
            drop_params=True,  # see the module docstring
            num_retries=0,  # retries are ours (deadline-aware), not litellm's nor the vendor SDK's
            max_retries=0,
        )

    def _key_to_send(self) -> str | None:
        if self._api_key is not None:
            return self._api_key.get_secret_value()
        return _PLACEHOLDER_KEY if self._settings.api_base is not None else None

    def _answer(self, request: DecisionRequest, response: Any, started: float) -> Answer:
        usage = _usage(response, latency_ms=(self._clock() - started) * 1000)
        choices = getattr(response, "choices", None) or []
        if not choices:  # e.g. a reply withheld by the vendor's safety filter
            return Answer(vote=self._vote_abstain(request, "error", "the reply has no choices", usage))
        text = getattr(choices[0].message, "content", None) or ""
        parsed = parse_decision(text, request.symbol)
        if isinstance(parsed, ParseFailure):
            why = _finish_note(getattr(choices[0], "finish_reason", None))
            vote = self._vote_abstain(request, parsed.reason, parsed.detail + why, usage)
            return Answer(vote=vote, raw_text=text)
        ballot = Ballot(
            member=self._name, model=self._model, symbol=request.symbol, decision=parsed, usage=usage
        )
        return Answer(vote=ballot, raw_text=text)

    def _abstain(
        self, request: DecisionRequest, reason: AbstainReason, detail: str, started: float
    ) -> Answer:
        usage = Usage(latency_ms=(self._clock() - started) * 1000)
        return Answer(vote=self._vote_abstain(request, reason, detail, usage))

    def _vote_abstain(
        self, request: DecisionRequest, reason: AbstainReason, detail: str, usage: Usage
    ) -> Abstain:
        return Abstain(
            member=self._name,
            model=self._model,
            symbol=request.symbol,
            reason=reason,
            detail=detail,
            usage=usage,
        )

    def _describe(self, exc: BaseException, attempts: int) -> str:
        """One line naming the exception, without the key, short enough to store with every vote."""
        if isinstance(exc, TimeoutError) and self._settings.timeout_s is not None:
            message = f"no answer within the member timeout of {self._settings.timeout_s:g} s"
        else:
            message = str(exc)
        message = _LITELLM_PREFIX.sub("", message)
        key = self._api_key.get_secret_value() if self._api_key is not None else ""
        if len(key) >= _MIN_REDACTED_KEY:
            message = message.replace(key, "***")
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        line = re.sub(r"\s+", " ", f"{type(exc).__name__}{tries}: {message}").strip()
        return line if len(line) <= _DETAIL_CHARS else line[: _DETAIL_CHARS - 3] + "..."


def _finish_note(finish_reason: object) -> str:
    """Why the model stopped, when that explains an unusable answer (litellm's OpenAI vocabulary)."""
    if finish_reason in (None, "stop"):
        return ""
    notes = {"length": "answer cut off at max_tokens", "content_filter": "withheld by the vendor's filter"}
    return f" ({notes.get(str(finish_reason), f'finish reason {finish_reason}')})"


def _remaining_s() -> float:
    """Seconds left before the innermost anyio deadline (the member's or the cycle's); inf if none."""
    return anyio.current_effective_deadline() - anyio.current_time()


def _is_transient(exc: BaseException) -> bool:
    """Worth another try: rate limits, connection trouble, timeouts and any 5xx (529 "overloaded" too)."""
    status = getattr(exc, "status_code", None)
    return isinstance(exc, _TRANSIENT) or (isinstance(status, int) and status >= 500)


def _reason(exc: BaseException) -> AbstainReason:
    if isinstance(exc, TimeoutError | Timeout):
        return "timeout"
    if isinstance(exc, RateLimitError):
        return "rate_limited"
    return "error"


def _retry_after(exc: BaseException) -> float | None:
    """Seconds the vendor asked us to wait (Retry-After, or OpenAI's retry-after-ms), if it said."""
    headers = getattr(exc, "litellm_response_headers", None) or getattr(
        getattr(exc, "response", None), "headers", None
    )
    if not headers:
        return None
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            return max(0.0, float(lowered[name]) * scale)
        except (KeyError, ValueError):
            continue  # absent, or an HTTP date: reading it would need the wall clock; back off instead
    return None


def _usage(response: Any, latency_ms: float) -> Usage:
    tokens = getattr(response, "usage", None)
    return Usage(
        latency_ms=latency_ms,
        prompt_tokens=getattr(tokens, "prompt_tokens", None),
        completion_tokens=getattr(tokens, "completion_tokens", None),
        cost_usd=_cost(response),
    )


def _cost(response: Any) -> float | None:
    """USD by litellm's price table; None when it has no price for the model (unknown, not free)."""
    hidden = getattr(response, "_hidden_params", None) or {}
    if "response_cost" in hidden:  # litellm prices every response it returns; no need to do it twice
        cost = hidden["response_cost"]
    else:
        cost = _safe(lambda: litellm.completion_cost(completion_response=response))
    known = isinstance(cost, int | float) and not isinstance(cost, bool) and math.isfinite(cost)
    return float(cost) if known else None


M = TypeVar("M")


def missing_keys(members: Iterable[M]) -> list[tuple[M, str]]:
    """The members that cannot answer for want of a key, with the variable to set.

    Read from each member's `missing_key` attribute, so a wrapper that forwards it is checked too;
    members without one (local strategies) need no key.
    """
    found: list[tuple[M, str]] = []
    for member in members:
        env = getattr(member, "missing_key", None)
        if isinstance(env, str):
            found.append((member, env))
    return found


async def close_clients() -> None:
    """Close litellm's cached HTTP clients; call before the event loop that used them ends."""
    await close_litellm_async_clients()  # type: ignore[no-untyped-call]
    litellm.in_memory_llm_clients_cache.flush_cache()  # type: ignore[no-untyped-call]
