"""Pick and open a market-data source by name, and take one MarketState from it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from feeds.sources.base import Source
from feeds.state import MarketState
from swarm.config import Settings
from swarm.errors import UsageError
from swarm.timeutil import parse_utc, wall_clock_ms

SourceName = Literal["replay", "pacifica", "hyperliquid", "binance"]
SOURCE_NAMES: tuple[SourceName, ...] = ("replay", "pacifica", "hyperliquid", "binance")


@dataclass(frozen=True)
class FeedChoice:
    """Where a command's market data comes from, checked: a source, and a time for replay."""

    source: SourceName
    at_ms: int | None  # None: the end of the replay data, or now for an exchange
    data_dir: Path | None

    @classmethod
    def parse(cls, source: str, at: str | None, data_dir: Path | None) -> FeedChoice:
        """Validate the --source/--at/--data-dir options; UsageError names the bad one."""
        if source not in SOURCE_NAMES:
            raise UsageError(f"--source {source!r} is not one of {', '.join(SOURCE_NAMES)}")
        if at is not None and source != "replay":
            raise UsageError(f"--at works with --source replay only ({source} serves the present)")
        if data_dir is not None and source != "replay":
            raise UsageError("--data-dir works with --source replay only")
        try:
            at_ms = None if at is None else parse_utc(at)
        except ValueError as exc:
            raise UsageError(f"--at: {exc}") from None
        return cls(source, at_ms, data_dir)

    def settings_overrides(self) -> dict[str, Path]:
        return {"data_dir": self.data_dir} if self.data_dir is not None else {}


def make_source(name: SourceName, settings: Settings) -> Source:
    """Build the named source; exchange modules are imported only when chosen."""
    if name == "replay":
        from feeds.sources.replay import ReplaySource, default_data_dir

        return ReplaySource(settings.data_dir or default_data_dir())
    if name == "pacifica":
        from feeds.sources.pacifica import PacificaSource

        return PacificaSource(settings.pacifica_url, timeout_s=settings.http_timeout_s)
    if name == "hyperliquid":
        from feeds.sources.hyperliquid import HyperliquidSource

        return HyperliquidSource(settings.hyperliquid_url, timeout_s=settings.http_timeout_s)
    if name == "binance":
        from feeds.sources.binance import BinanceSource

        return BinanceSource(settings.binance_url, timeout_s=settings.http_timeout_s)
    raise ValueError(f"unknown source {name!r} (choose from {', '.join(SOURCE_NAMES)})")


@asynccontextmanager
async def open_source(name: SourceName, settings: Settings) -> AsyncIterator[Source]:
    source = make_source(name, settings)
    try:
        yield source
    finally:
        await source.aclose()


async def take_market_state(choice: FeedChoice, settings: Settings, symbol: str) -> MarketState:
    """One point-in-time MarketState of `symbol` from the chosen source."""
    async with open_source(choice.source, settings) as source:
        return await market_state_from(source, symbol, choice.at_ms)


async def market_state_from(source: Source, symbol: str, at_ms: int | None) -> MarketState:
    """The MarketState of `symbol` at `at_ms` (None: end of replay data, or now) from an open source."""
    from feeds.build import build_market_state

    at = at_ms if at_ms is not None else default_at(source, symbol)
    return build_market_state(await source.market_data(symbol.upper(), at))


def default_at(source: Source, symbol: str) -> int:
    """Replay defaults to the end of its data; exchanges serve the present."""
    from feeds.sources.replay import ReplaySource

    if isinstance(source, ReplaySource):
        return source.coverage(symbol.upper())[1]
    return wall_clock_ms()
