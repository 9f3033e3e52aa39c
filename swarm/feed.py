"""Pick and open a market-data source by name, with base URLs and paths from Settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

from feeds.sources.base import Source
from swarm.config import Settings

SourceName = Literal["replay", "pacifica", "hyperliquid", "binance"]
SOURCE_NAMES: tuple[SourceName, ...] = ("replay", "pacifica", "hyperliquid", "binance")


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
