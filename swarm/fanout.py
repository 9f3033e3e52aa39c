"""fan_out: every (member, symbol) pair of a cycle at once, under one deadline for the whole cycle.

Each pair is a task in one anyio task group. Calls of a provider pass through that provider's
CapacityLimiter, so twenty symbols do not hit one vendor's rate limit in one burst; local members
are not limited. At the deadline every pair still queued or running is cancelled and becomes
Abstain("timeout"): nothing waits past the deadline for a slow member. A member that raises (the
Member protocol says it must not) abstains with "error" rather than sinking the cycle.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Final

import anyio

from consensus.decision import Abstain, AbstainReason, Usage
from swarm.members.base import Answer, DecisionRequest, Member

Clock = Callable[[], float]

# Concurrent requests per provider when the roster does not say: enough for a cycle of ten symbols
# per wave, few enough that a tier-1 account's requests-per-minute limit survives a burst.
DEFAULT_PROVIDER_LIMIT: Final = 8
UNLIMITED_PROVIDERS: Final = frozenset({"local"})  # in-process strategies have no rate limit
_DETAIL_CHARS: Final = 200


@dataclass(frozen=True)
class ConcurrencyLimits:
    """How many calls each provider may have in flight at once during a cycle."""

    per_provider: Mapping[str, int] = field(default_factory=dict)
    default: int = DEFAULT_PROVIDER_LIMIT
    unlimited: frozenset[str] = UNLIMITED_PROVIDERS

    def limiters(self, providers: Iterable[str]) -> dict[str, anyio.CapacityLimiter | None]:
        """One limiter per provider (None: unlimited), shared by all its members and symbols."""
        return {
            provider: None
            if provider in self.unlimited
            else anyio.CapacityLimiter(self.per_provider.get(provider, self.default))
            for provider in set(providers)
        }


@dataclass
class _Slot:
    """Where one pair's answer lands, and whether the pair got past its provider's limiter."""

    member: Member
    request: DecisionRequest
    answer: Answer | None = None
    running: bool = False


async def fan_out(
    members: Sequence[Member],
    requests: Sequence[DecisionRequest],
    *,
    deadline_s: float,
    limits: ConcurrencyLimits | None = None,
    clock: Clock = anyio.current_time,
) -> list[Answer]:
    """Ask every member about every request at once; answers by member, then request, in input order.

    Returns by `deadline_s` after the call (plus the time cancelled calls take to unwind).
    """
    slots = [_Slot(member, request) for member in members for request in requests]
    limiters = (limits or ConcurrencyLimits()).limiters(member.provider for member in members)
    started = clock()
    with anyio.move_on_after(deadline_s):
        async with anyio.create_task_group() as group:
            for slot in slots:
                group.start_soon(_fill, slot, limiters[slot.member.provider], clock)
    waited_ms = (clock() - started) * 1000
    return [slot.answer or _timed_out(slot, deadline_s, waited_ms) for slot in slots]


async def _fill(slot: _Slot, limiter: anyio.CapacityLimiter | None, clock: Clock) -> None:
    gate: AbstractAsyncContextManager[object] = limiter if limiter is not None else nullcontext()
    async with gate:
        slot.running = True
        started = clock()
        try:
            slot.answer = await slot.member.decide(slot.request)
        except Exception as exc:  # a member's bug costs its vote, not the cycle
            detail = f"member raised {type(exc).__name__}: {exc}"
            slot.answer = _abstain(slot, "error", detail, (clock() - started) * 1000)


def _timed_out(slot: _Slot, deadline_s: float, waited_ms: float) -> Answer:
    where = "" if slot.running else f" (still queued for a {slot.member.provider} slot)"
    return _abstain(
        slot, "timeout", f"no answer within the cycle deadline of {deadline_s:g} s{where}", waited_ms
    )


def _abstain(slot: _Slot, reason: AbstainReason, detail: str, latency_ms: float) -> Answer:
    line = re.sub(r"\s+", " ", detail).strip()
    if len(line) > _DETAIL_CHARS:
        line = line[: _DETAIL_CHARS - 3] + "..."
    vote = Abstain(
        member=slot.member.name,
        model=slot.member.model,
        symbol=slot.request.symbol,
        reason=reason,
        detail=line,
        usage=Usage(latency_ms=latency_ms),
    )
    return Answer(vote=vote)
