"""`swarm snapshot`: one MarketState, as JSON or as a rich view."""

from __future__ import annotations

from pathlib import Path

import anyio

from feeds.state import MarketState
from swarm.config import Settings, load_settings
from swarm.errors import UsageError
from swarm.feed import SOURCE_NAMES, SourceName, open_source
from swarm.timeutil import parse_utc, wall_clock_ms


def run_snapshot(symbol: str, *, source: str, at: str | None, data_dir: Path | None, as_json: bool) -> None:
    name = _source_name(source)
    if at is not None and name != "replay":
        raise UsageError(f"--at works with --source replay only ({name} serves the present)")
    if data_dir is not None and name != "replay":
        raise UsageError("--data-dir works with --source replay only")
    at_ms = _parse_at(at)
    overrides = {"data_dir": data_dir} if data_dir is not None else {}
    settings = load_settings(**overrides)
    state = anyio.run(_snapshot, name, settings, symbol.upper(), at_ms)
    if as_json:
        print(state.model_dump_json(indent=2))
    else:
        from swarm.views import show_market_state

        show_market_state(state)


async def _snapshot(name: SourceName, settings: Settings, symbol: str, at_ms: int | None) -> MarketState:
    from feeds.build import build_market_state

    async with open_source(name, settings) as source:
        if at_ms is None:
            at_ms = _default_at(source, symbol)
        data = await source.market_data(symbol, at_ms)
    return build_market_state(data)


def _default_at(source: object, symbol: str) -> int:
    """Replay defaults to the end of its data; exchanges to now."""
    coverage = getattr(source, "coverage", None)
    if coverage is None:
        return wall_clock_ms()
    _, last_ms = coverage(symbol)
    return int(last_ms)


def _source_name(text: str) -> SourceName:
    if text not in SOURCE_NAMES:
        raise UsageError(f"--source {text!r} is not one of {', '.join(SOURCE_NAMES)}")
    return text


def _parse_at(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return parse_utc(text)
    except ValueError as exc:
        raise UsageError(f"--at: {exc}") from None
