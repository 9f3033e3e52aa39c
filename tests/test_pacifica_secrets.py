"""The signing key and the signatures never show: not in logs, errors, reprs or files a run writes.

A key is planted, a whole flow runs against the fake venue with logging at DEBUG, failures
included (5xx, 429, a stalled answer, lagging and failing lookups, a refusal, a tampered body, a
bad key), and then every text the run produced is searched. The store's rows join this search
once the store exists.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from execution.errors import (
    AmbiguousOrderState,
    AuthError,
    OrderRejected,
    SigningKeyError,
    TransientVenueError,
)
from execution.pacifica import PacificaVenue, client_order_id
from execution.pacifica_models import Trigger
from execution.signing import load_signer
from tests.fakes.pacifica_venue import FakePacificaVenue
from tests.fakes.pacifica_wire import OPERATIONS
from tests.fakes.server import http_error, rate_limited, serve
from tests.fakes.venue_fixtures import DoublingTransport, make_venue
from tests.planted_keys import b58, log_file_fixture, planted  # noqa: F401

pytestmark = pytest.mark.anyio

D = Decimal
PLANTED_SEED = bytes.fromhex("5eed" * 16)
PLANTED_SECRET, SECRETS = planted(PLANTED_SEED)
MARKET = "/orders/create_market"


async def failure(call: Awaitable[object], errors: list[BaseException]) -> None:
    try:
        await call
    except Exception as exc:
        errors.append(exc)


async def run_flow(venue: PacificaVenue, fake: FakePacificaVenue, errors: list[BaseException]) -> None:
    cloid = client_order_id("secret-run", "entry")
    await venue.place_market_order("BTC", "bid", D("0.01"), client_order_id=cloid)
    await venue.set_position_tpsl(
        "BTC", "ask", stop_loss=Trigger(D("66000")), take_profit=Trigger(D("80000"))
    )
    ladder = [Trigger(D("72000"), D("0.004"), client_order_id=client_order_id("secret-run", "tp1"))]
    await venue.place_take_profit_ladder("BTC", "ask", ladder)
    fake.inject(MARKET, http_error(500, {"success": False, "error": "engine busy", "code": 500}))
    await venue.place_market_order(
        "BTC", "bid", D("0.01"), client_order_id=client_order_id("secret-run", "2")
    )
    fake.inject("/positions", rate_limited(retry_after=0.05))
    await venue.positions()
    fake.stall_after_accept(MARKET)
    fake.hide_new_orders(reads=1)
    await venue.place_market_order(
        "BTC", "bid", D("0.01"), client_order_id=client_order_id("secret-run", "3")
    )
    await failure(
        venue.place_market_order("BTC", "bid", D("50"), client_order_id=client_order_id("r", "big")), errors
    )
    await failure(venue.place_market_order("BTC", "bid", D("50"), client_order_id="not-a-uuid"), errors)
    fake.inject(MARKET, rate_limited(retry_after=0.01), times=3)
    await failure(
        venue.place_market_order("ETH", "bid", D("1"), client_order_id=client_order_id("r", "4")), errors
    )
    fake.stall_after_accept(MARKET)
    fake.inject("/orders", http_error(503), times=100)
    await failure(
        venue.place_market_order("ETH", "bid", D("1"), client_order_id=client_order_id("r", "5")), errors
    )
    await venue.cancel_all()


def files_written(folder: Path, *, but: Path) -> list[str]:
    """The text of every file under `folder` (the run's log among them) except the key file itself."""
    return [
        f.read_text(encoding="utf-8", errors="replace") for f in folder.rglob("*") if f.is_file() and f != but
    ]


def rendered(exc: BaseException) -> str:
    """Everything a log or a crash report could show of an exception, its causes included."""
    return f"{exc}\n{exc!r}\n" + "".join(traceback.format_exception(exc))


async def test_the_key_and_the_signatures_never_appear(
    tmp_path: Path, log_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key_file = tmp_path / "pacifica.key"
    key_file.write_text(b58(PLANTED_SECRET))
    signer = load_signer({"PACIFICA_KEY_FILE": str(key_file)})
    errors: list[BaseException] = []
    fake = FakePacificaVenue()
    fake.fund(signer.account, "10000")
    with serve(fake):
        async with make_venue(fake, signer, timeout_s=0.3, expiry_window_ms=800) as venue:
            await run_flow(venue, fake, errors)
            shown = [repr(venue), str(venue), repr(signer), str(signer)]
        async with httpx.AsyncClient(transport=DoublingTransport()) as client:
            tampered = make_venue(fake, signer, client=client)
            await failure(
                tampered.place_market_order("BTC", "ask", D("0.01"), client_order_id="x" * 36), errors
            )
    for env in (
        {"PACIFICA_PRIVATE_KEY": b58(PLANTED_SECRET) + "0"},
        {"PACIFICA_PRIVATE_KEY": b58(PLANTED_SECRET)[:-3]},
    ):
        try:
            load_signer(env)
        except SigningKeyError as exc:
            errors.append(exc)

    assert {type(e) for e in errors} >= {
        OrderRejected,
        TransientVenueError,
        AmbiguousOrderState,
        AuthError,
        SigningKeyError,
    }
    assert "pacifica POST /orders/create_market" in caplog.text  # the DEBUG log was captured
    signatures = [
        str(p.body["signature"]) for path in OPERATIONS for p in fake.posts(path) if "signature" in p.body
    ]
    assert len(signatures) >= 10
    texts = [caplog.text, *files_written(tmp_path, but=key_file), *shown, *(rendered(e) for e in errors)]
    for needle in (*SECRETS, *signatures):
        for text in texts:
            assert needle not in text
