"""The one interface every swarm member implements, LLM or local strategy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from consensus.decision import Vote
from feeds.state import MarketState
from prompts.types import RenderedPrompt


@dataclass(frozen=True)
class DecisionRequest:
    """Everything a member may look at to decide on one symbol in one cycle."""

    cycle_id: str
    symbol: str
    state: MarketState
    prompt: RenderedPrompt


@dataclass(frozen=True)
class Answer:
    """A member's vote and the raw text behind it (None for local members and failures before a reply)."""

    vote: Vote
    raw_text: str | None = None
    cached: bool = False


class Member(Protocol):
    """A voter. `decide` never raises for a member-side failure: it returns an Abstain answer."""

    @property
    def name(self) -> str:
        """Roster name, e.g. "claude" or "local/trend"."""
        ...

    @property
    def model(self) -> str:
        """litellm model string, or "local/<strategy>"."""
        ...

    @property
    def provider(self) -> str:
        """Concurrency group, e.g. "anthropic", "openai", "local"."""
        ...

    async def decide(self, request: DecisionRequest) -> Answer: ...


class MemberWrapper:
    """A member around another: the inner member's name, model and provider, its own `decide`."""

    def __init__(self, inner: Member) -> None:
        self._inner = inner

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def model(self) -> str:
        return self._inner.model

    @property
    def provider(self) -> str:
        return self._inner.provider
