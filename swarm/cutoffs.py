"""Which members may remember the replayed prices: window start vs each model's knowledge cutoff.

A model trained on data up to its cutoff has seen the prices of that period, so a replay there
flatters it. The engine warns with `members_before_cutoff` before a backtest and the report
marks those members; `members_without_cutoff` names the LLM members nobody has a date for
(as suspect as the flagged ones).

Lookup for a member (an alias like "claude" or a litellm model string): the cutoff configured
for the model string it resolves to, else the one configured for the name as given, else the
default of that model string (so a swarm.toml that sets one cutoff does not drop the others).
A cutoff "YYYY-MM" covers the whole month; "YYYY-MM-DD" covers that day.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import NamedTuple

from swarm.config import DEFAULT_KNOWLEDGE_CUTOFFS, Settings

LOCAL_PREFIX = "local/"


class CutoffFlag(NamedTuple):
    """A member whose knowledge cutoff is on or after the window's start."""

    member: str
    cutoff: str


def knowledge_cutoff(member: str, settings: Settings) -> str | None:
    """The member's cutoff as configured (ISO text), or None (local members have none)."""
    model = settings.resolve_model(member)
    if model.startswith(LOCAL_PREFIX):
        return None
    configured = settings.knowledge_cutoffs
    return configured.get(model) or configured.get(member) or DEFAULT_KNOWLEDGE_CUTOFFS.get(model)


def knowledge_end_ms(cutoff: str) -> int:
    """The first moment (UTC epoch ms) the model cannot know: the day, or month, after the cutoff."""
    if len(cutoff) == 7:  # YYYY-MM: the model may know the whole month
        year, month = int(cutoff[:4]), int(cutoff[5:])
        end = date(year + month // 12, month % 12 + 1, 1)
    else:
        end = date.fromordinal(date.fromisoformat(cutoff).toordinal() + 1)
    return int(datetime(end.year, end.month, end.day, tzinfo=UTC).timestamp() * 1000)


def members_before_cutoff(
    members: Iterable[str], window_start_ms: int, settings: Settings
) -> list[CutoffFlag]:
    """The members (in the order given) whose cutoff the window starts before, with that cutoff."""
    flagged: list[CutoffFlag] = []
    for member in members:
        cutoff = knowledge_cutoff(member, settings)
        if cutoff is not None and window_start_ms < knowledge_end_ms(cutoff):
            flagged.append(CutoffFlag(member, cutoff))
    return flagged


def members_without_cutoff(members: Iterable[str], settings: Settings) -> list[str]:
    """The LLM members (not local/) that have no known cutoff: their replays cannot be trusted either."""
    return [
        m
        for m in members
        if not settings.resolve_model(m).startswith(LOCAL_PREFIX) and knowledge_cutoff(m, settings) is None
    ]
