"""Pytest fixtures for PacificaVenue against the fake Pacifica venue; import the ones a module uses.

    from tests.fakes.venue_fixtures import fake_venue_fixture, venue_fixture  # noqa: F401

`fake_venue` is a running FakePacificaVenue whose account (the signer's) holds 100 000 USD;
`venue` a PacificaVenue on it with millisecond retries, a 2 s timeout, a 1.5 s signature
lifetime (so waiting out a timed-out attempt stays short) and a practically unlimited bucket.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from execution.pacifica import PacificaVenue
from execution.ratelimit import CreditBucket
from execution.signing import PacificaSigner
from feeds.sources.http import RetryPolicy
from tests.fakes.pacifica_venue import FakePacificaVenue
from tests.fakes.server import serve

SEED = bytes(range(7, 39))  # a planted test key; the secret test searches for it everywhere
FAST_RETRY = RetryPolicy(attempts=3, total_s=5.0, backoff_s=0.01, backoff_max_s=0.05, retry_after_max_s=1.0)
EXPIRY_MS = 1_500


def make_venue(fake: FakePacificaVenue, signer: PacificaSigner, **options: Any) -> PacificaVenue:
    """A venue on `fake` with the test settings below; `options` override them."""
    settings: dict[str, Any] = {
        "timeout_s": 2.0,
        "retry": FAST_RETRY,
        "expiry_window_ms": EXPIRY_MS,
        "clock_skew_ms": 0,
        # Pacifica's 100 credits a minute would make a test wait; the bucket has tests of its own.
        "bucket": CreditBucket(credits=100_000),
    }
    return PacificaVenue(fake.base_url, signer, **(settings | options))


@pytest.fixture(name="signer")
def signer_fixture() -> PacificaSigner:
    return PacificaSigner(SEED)


@pytest.fixture(name="fake_venue")
def fake_venue_fixture(signer: PacificaSigner) -> Iterator[FakePacificaVenue]:
    fake = FakePacificaVenue()
    fake.fund(signer.account, "100000")
    with serve(fake):
        yield fake


@pytest.fixture(name="venue")
async def venue_fixture(
    fake_venue: FakePacificaVenue, signer: PacificaSigner
) -> AsyncIterator[PacificaVenue]:
    venue = make_venue(fake_venue, signer)
    yield venue
    await venue.aclose()


class DoublingTransport(httpx.AsyncBaseTransport):
    """A man in the middle doubling the amount of every signed POST after it was signed."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            body = json.loads(await request.aread())
            body["amount"] = str(Decimal(body["amount"]) * 2)
            headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
            request = httpx.Request("POST", request.url, headers=headers, json=body)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()
