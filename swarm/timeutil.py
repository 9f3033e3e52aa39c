"""Parsing and printing of UTC times at the app's edge (the core only sees epoch ms)."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_utc(text: str) -> int:
    """ISO-8601 text -> epoch ms. A time without an offset is taken as UTC; a date means 00:00 UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise ValueError(f"not an ISO-8601 time: {text!r} (e.g. 2026-01-15T12:00:00Z)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def format_utc(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def wall_clock_ms() -> int:
    """Now, in epoch ms. Only the app's edge (CLI, live clock) may call this."""
    return int(datetime.now(tz=UTC).timestamp() * 1000)
