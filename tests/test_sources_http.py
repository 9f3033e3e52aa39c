"""The shared JSON client: retry bounds, Retry-After handling, connection errors, client ownership."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from feeds.errors import ExchangeError, TransientError, UnknownSymbolError
from feeds.sources.http import JsonHttp, RetryPolicy
from tests.fakes.exchange_fixtures import fake_binance_fixture, fake_hyperliquid_fixture  # noqa: F401
from tests.fakes.exchanges import FakeBinance, FakeHyperliquid
from tests.fakes.server import Fault, http_error, rate_limited, raw

pytestmark = pytest.mark.anyio

PREMIUM = "/fapi/v1/premiumIndex"
QUICK = RetryPolicy(attempts=3, total_s=2.0, backoff_s=0.01, backoff_max_s=0.02, retry_after_max_s=0.2)


def test_backoff_doubles_up_to_its_cap_and_retry_after_is_capped() -> None:
    policy = RetryPolicy(backoff_s=0.5, backoff_max_s=3.0, retry_after_max_s=10.0)
    assert [policy.wait_s(n, None) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.wait_s(1, 4.0) == 4.0
    assert policy.wait_s(1, 3600.0) == 10.0


async def test_a_long_retry_after_is_capped(fake_binance: FakeBinance) -> None:
    fake_binance.inject(PREMIUM, rate_limited(retry_after=3600))
    http = JsonHttp("binance", fake_binance.base_url, retry=QUICK)
    try:
        body = await http.get(PREMIUM, {"symbol": "BTCUSDT"})
    finally:
        await http.aclose()

    first, retry = fake_binance.calls(PREMIUM)
    assert 0.2 <= retry.at - first.at < 1.0
    assert isinstance(body, dict)
    assert body["symbol"] == "BTCUSDT"


async def test_an_http_date_retry_after_falls_back_to_backoff(fake_binance: FakeBinance) -> None:
    far_future = {"Retry-After": "Fri, 31 Dec 2100 23:59:59 GMT"}  # if honoured: the 1 s cap
    fake_binance.inject(PREMIUM, Fault(status=429, body=b"", headers=far_future))
    http = JsonHttp(
        "binance", fake_binance.base_url, retry=RetryPolicy(backoff_s=0.01, retry_after_max_s=1.0)
    )
    try:
        await http.get(PREMIUM, {"symbol": "BTCUSDT"})
    finally:
        await http.aclose()
    first, retry = fake_binance.calls(PREMIUM)
    assert retry.at - first.at < 0.5


async def test_the_time_budget_stops_retries_before_the_attempts_run_out(fake_binance: FakeBinance) -> None:
    fake_binance.inject(PREMIUM, http_error(500), times=50)
    policy = RetryPolicy(attempts=50, total_s=0.3, backoff_s=0.1, backoff_max_s=0.1)
    http = JsonHttp("binance", fake_binance.base_url, retry=policy)
    started = time.monotonic()
    try:
        with pytest.raises(
            TransientError, match=r"^binance GET /fapi/v1/premiumIndex: HTTP 500.*gave up after \d"
        ):
            await http.get(PREMIUM, {"symbol": "BTCUSDT"})
    finally:
        await http.aclose()
    assert time.monotonic() - started < 1.0  # 50 attempts would take 5 s
    assert 2 <= len(fake_binance.calls(PREMIUM)) <= 4


async def test_a_refused_connection_is_transient() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    http = JsonHttp("binance", f"http://127.0.0.1:{port}", retry=QUICK)
    try:
        with pytest.raises(TransientError, match=r"binance GET /x: ConnectError.*gave up after 3 attempt"):
            await http.get("/x")
    finally:
        await http.aclose()


async def test_a_4xx_text_body_and_mapped_codes(
    fake_hyperliquid: FakeHyperliquid, fake_binance: FakeBinance
) -> None:
    fake_hyperliquid.inject("l2Book", raw("Bad\nRequest", 400))
    hyperliquid = JsonHttp("hyperliquid", fake_hyperliquid.base_url, retry=QUICK)
    binance = JsonHttp("binance", fake_binance.base_url, retry=QUICK, error_codes={-1121: UnknownSymbolError})
    try:
        with pytest.raises(ExchangeError, match=r"^hyperliquid POST /info l2Book: HTTP 400, Bad Request$"):
            await hyperliquid.post("/info", {"type": "l2Book", "coin": "BTC"}, endpoint="POST /info l2Book")
        with pytest.raises(UnknownSymbolError, match="error -1121: Invalid symbol"):
            await binance.get(PREMIUM, {"symbol": "NOPEUSDT"})
    finally:
        await hyperliquid.aclose()
        await binance.aclose()
    assert len(fake_hyperliquid.calls("l2Book")) == 1  # a 4xx is final


async def test_a_client_passed_in_is_not_closed(fake_binance: FakeBinance) -> None:
    async with httpx.AsyncClient() as client:
        http = JsonHttp("binance", fake_binance.base_url, client=client)
        await http.get(PREMIUM, {"symbol": "BTCUSDT"})
        await http.aclose()
        assert not client.is_closed
