"""`swarm snapshot`: one MarketState, as JSON or as a rich view."""

from __future__ import annotations

from pathlib import Path

import anyio

from swarm.config import load_settings
from swarm.feed import FeedChoice, take_market_state


def run_snapshot(symbol: str, *, source: str, at: str | None, data_dir: Path | None, as_json: bool) -> None:
    choice = FeedChoice.parse(source, at, data_dir)
    settings = load_settings(**choice.settings_overrides())
    state = anyio.run(take_market_state, choice, settings, symbol)
    if as_json:
        print(state.model_dump_json(indent=2))
    else:
        from swarm.views import show_market_state

        show_market_state(state)
