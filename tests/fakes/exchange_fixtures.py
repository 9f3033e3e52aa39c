"""Pytest fixtures serving the fake exchanges; import the ones a test module uses.

    from tests.fakes.exchange_fixtures import FAST_RETRY, fake_binance_fixture  # noqa: F401

    async def test_x(fake_binance: FakeBinance) -> None:
        source = BinanceSource(fake_binance.base_url, retry=FAST_RETRY)

The functions are named `*_fixture` and register as `fake_pacifica`, `fake_hyperliquid` and
`fake_binance`, so a test's parameter does not shadow the import (ruff F811).

Each fixture yields a running fake (its `base_url` set) with `now_ms` = market.NOW_MS; change
`now_ms`, `inject` faults or read `requests`/`calls(endpoint)` in the test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from feeds.sources.http import RetryPolicy
from tests.fakes.exchanges import FakeBinance, FakeHyperliquid, FakePacifica
from tests.fakes.server import serve

# Retries in milliseconds rather than seconds, so fault tests stay fast.
FAST_RETRY = RetryPolicy(attempts=3, total_s=3.0, backoff_s=0.01, backoff_max_s=0.05, retry_after_max_s=1.0)


@pytest.fixture(name="fake_pacifica")
def fake_pacifica_fixture() -> Iterator[FakePacifica]:
    fake = FakePacifica()
    with serve(fake):
        yield fake


@pytest.fixture(name="fake_hyperliquid")
def fake_hyperliquid_fixture() -> Iterator[FakeHyperliquid]:
    fake = FakeHyperliquid()
    with serve(fake):
        yield fake


@pytest.fixture(name="fake_binance")
def fake_binance_fixture() -> Iterator[FakeBinance]:
    fake = FakeBinance()
    with serve(fake):
        yield fake
