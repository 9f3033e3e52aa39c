"""Turn `--models deepseek,grok,local/trend` into swarm members, and check them before a cycle."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

from swarm.config import PROVIDER_KEY_ENV, Settings
from swarm.errors import UsageError
from swarm.members.base import Member

LOCAL_PREFIX = "local/"
# The embedded default: runs anywhere, with no key and no network.
LOCAL_ROSTER = ("local/trend", "local/meanrev", "local/funding")


def resolve_roster(models: str | None, settings: Settings, environ: Mapping[str, str]) -> list[str]:
    """The roster asked for; without --models, the local members plus every alias whose
    provider's key is in the environment (said on stderr, as it may cost money)."""
    if models is not None:
        return parse_roster(models)
    keyed = keyed_aliases(settings, environ)
    if keyed:
        brought = ", ".join(f"{alias} ({env} is set)" for alias, env in keyed)
        print(f"roster: the local members and {brought}; --models chooses", file=sys.stderr)
    return [*LOCAL_ROSTER, *(alias for alias, _ in keyed)]


def keyed_aliases(settings: Settings, environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """(alias, key variable) of each configured alias whose provider's key is set and not empty."""
    found = []
    for alias in settings.aliases:
        provider = settings.resolve_model(alias).split("/", 1)[0]
        env = PROVIDER_KEY_ENV.get(provider)
        if env is not None and environ.get(env, "").strip():
            found.append((alias, env))
    return found


def parse_roster(text: str) -> list[str]:
    """A comma list of member names, stripped, without duplicates (order kept)."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise UsageError("--models: give at least one member, e.g. --models deepseek,claude,local/trend")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise UsageError(f"--models: {', '.join(duplicates)} listed twice")
    return names


def build_members(names: Sequence[str], settings: Settings) -> list[Member]:
    """Members for the names; litellm is imported only when the roster has an LLM in it."""
    members: list[Member] = []
    for name in names:
        if name.startswith(LOCAL_PREFIX):
            members.append(_local(name))
        else:
            from swarm.members.llm import LiteLLMMember

            members.append(LiteLLMMember.from_settings(name, settings))
    return members


def require_keys(members: Sequence[Member]) -> None:
    """Refuse to start a cycle with a member that has no API key: say which variable to set."""
    if all(member.provider == "local" for member in members):
        return
    from swarm.members.llm import missing_keys

    missing = missing_keys(members)
    if missing:
        listed = ", ".join(f"{member.name} needs {env}" for member, env in missing)
        raise UsageError(f"no API key: {listed} (set it in the environment, or leave the member out)")


def _local(name: str) -> Member:
    from swarm.members.local import local_member

    try:
        return local_member(name)
    except ValueError as exc:
        raise UsageError(f"--models: {exc}") from None


async def close_llm_clients(members: Sequence[Member]) -> None:
    """Close litellm's cached HTTP clients when the roster used any: before the event loop that
    opened them ends, or their sockets are left to the garbage collector."""
    if any(member.provider != "local" for member in members):
        from swarm.members.llm import close_clients

        await close_clients()
