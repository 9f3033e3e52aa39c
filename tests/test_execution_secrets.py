"""The signing key never shows in what a trading run leaves behind: logs, errors, reports, the journal's
rows (the SQLite file read raw) or a prompt rendered from the portfolio.

A key is planted in PACIFICA_PRIVATE_KEY and a whole flow runs through VenueExecutor and a SQLite
journal against the fake Pacifica server, failures included: a 5xx, a 429, a stop refused until
the position is closed again, a stalled answer whose lookups fail (ambiguous), a refusal, a
tampered body (AuthError) and a malformed key. Then every text is searched for the key in each of
its forms, and for the signatures the server received.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import traceback
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from consensus.decision import Action
from execution.errors import SigningKeyError
from execution.executor import ExecutionReport
from execution.orders import VenueExecutor
from execution.pacifica_models import Trigger
from execution.signing import load_signer
from prompts.context import PortfolioView, PositionView, TradeOutcome
from prompts.render import render
from swarm.store import Store
from tests.executor_harness import T0, Harness
from tests.fakes.pacifica_venue import FakePacificaVenue
from tests.fakes.pacifica_wire import OPERATIONS
from tests.fakes.server import http_error, rate_limited, serve
from tests.fakes.venue_fixtures import make_venue
from tests.planted_keys import b58, log_file_fixture, planted  # noqa: F401
from tests.states import full_state
from tests.stores import FakeClock

pytestmark = pytest.mark.anyio

PLANTED_SEED = bytes.fromhex("c0de" * 16)
PLANTED_SECRET, SECRETS = planted(PLANTED_SEED)
MARKET = "/orders/create_market"


async def trade_with_failures(h: Harness, fake: FakePacificaVenue) -> list[ExecutionReport]:
    """Entries, exits and reconciliations, with the venue failing in every way it can."""
    reports = []
    fake.inject(MARKET, http_error(500, {"success": False, "error": "engine busy", "code": 500}))
    reports.append(await h.executor.execute(await h.approve(Action.LONG, "BTC")))
    h.refuse_stops(3)
    reports.append(await h.executor.execute(await h.approve(Action.SHORT, "ETH")))
    ambiguous = await h.approve(Action.LONG, "SOL")
    fake.stall_after_accept(MARKET, seconds=1.0)
    fake.inject("/orders", http_error(503), times=12)
    reports.append(await h.executor.execute(ambiguous))
    too_big = (await h.approve(Action.SHORT, "ETH")).model_copy(
        update={"size_base": 500.0, "decision_id": "big"}
    )
    reports.append(await h.executor.execute(too_big))
    fake.inject(MARKET, rate_limited(retry_after=0.05))
    reports.append(await h.executor.execute(await h.approve(Action.CLOSE, "BTC")))
    orphan = Trigger(Decimal("3000"), Decimal("1"), client_order_id="11111111-2222-3333-4444-555555555555")
    await h.venue.place_stop_order("ETH", "bid", orphan, kind="take_profit")
    await h.executor.reconcile(h.tick())
    return reports


class TamperingTransport(httpx.AsyncBaseTransport):
    """A man in the middle moving every signed POST's timestamp after it was signed."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            body = json.loads(await request.aread())
            body["timestamp"] += 1
            headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
            request = httpx.Request("POST", request.url, headers=headers, json=body)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def tampered_run(fake: FakePacificaVenue, store: Store, clock: FakeClock) -> ExecutionReport:
    """An executor whose every POST is altered after signing: the exchange refuses the signature."""
    signer = load_signer(os.environ)
    async with httpx.AsyncClient(transport=TamperingTransport()) as client:
        venue = make_venue(fake, signer, client=client, timeout_s=0.3, expiry_window_ms=800)
        executor = VenueExecutor(venue, store, now=clock, attempts=2, retry_wait_s=0.0)
        harness = Harness("pacifica", venue, executor, store, clock, Path(), fake=fake)
        return await executor.execute(await harness.approve(Action.LONG, "ETH"))


def database_texts(path: Path) -> list[str]:
    """Every value of every row of every table, and the raw bytes of the database and its WAL."""
    texts = [p.read_bytes().decode("latin-1") for p in path.parent.glob(path.name + "*")]
    with sqlite3.connect(path) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            texts.extend(repr(row) for row in db.execute(f'SELECT * FROM "{table}"'))
    db.close()
    assert {"order_decision", "venue_order", "order_fill", "closed_trade", "venue_state"} <= set(tables)
    return texts


def prompt_texts(store: Store) -> list[str]:
    """The prompt a member would be sent about the positions and trades in the journal."""
    view = PortfolioView(
        equity_usd=10_000.0,
        positions=tuple(
            PositionView(
                symbol=p.symbol, side=p.side.value, size=float(p.amount), entry_price=float(p.entry_price),
                unrealized_pnl_usd=0.0,
                stop_loss_price=float(p.stop_loss_price) if p.stop_loss_price else None,
            )
            for p in store.positions()
        ),
    )  # fmt: skip
    trades = [
        TradeOutcome(
            symbol=t.symbol, side=t.side.value, entry_price=t.entry_price,
            exit_price=t.exit_price or t.entry_price, pnl_pct=0.0,
            closed_at=datetime.fromtimestamp(t.closed_at / 1000, tz=UTC), reason=t.reason,
        )
        for t in store.closed_trades()
    ]  # fmt: skip
    prompt = render(full_state("SOL"), view, trades)
    return [prompt.system, prompt.user]


def logged(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def rendered(exc: BaseException) -> str:
    return f"{exc}\n{exc!r}\n" + "".join(traceback.format_exception(exc))


async def test_the_planted_key_is_nowhere_after_a_run_with_failures(
    tmp_path: Path, log_file: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("PACIFICA_PRIVATE_KEY", b58(PLANTED_SECRET))
    signer = load_signer(os.environ)
    fake = FakePacificaVenue()
    fake.fund(signer.account, "100000")
    clock = FakeClock(T0)
    db_path = tmp_path / "journal.db"
    store = Store.open(str(db_path), clock=clock)
    with serve(fake):
        async with make_venue(fake, signer, timeout_s=0.3, expiry_window_ms=800) as venue:
            executor = VenueExecutor(venue, store, now=clock, attempts=3, retry_wait_s=0.0)
            harness = Harness("pacifica", venue, executor, store, clock, db_path, fake=fake)
            reports = await trade_with_failures(harness, fake)
            shown = [repr(venue), repr(executor), repr(store)]
        reports.append(await tampered_run(fake, store, clock))
    errors: list[BaseException] = []
    monkeypatch.setenv("PACIFICA_PRIVATE_KEY", b58(PLANTED_SECRET)[:-2] + "0O")  # not base58 any more
    with pytest.raises(SigningKeyError) as malformed:
        load_signer(os.environ)
    errors.append(malformed.value)
    prompts = prompt_texts(store)
    store.close()

    statuses = {r.status for r in reports}
    assert {"filled", "unprotected_closed", "rejected", "closed"} <= statuses
    assert "pacifica POST /orders/create_market" in caplog.text  # the DEBUG log was captured
    signatures = [
        str(p.body["signature"]) for path in OPERATIONS for p in fake.posts(path) if "signature" in p.body
    ]
    assert len(signatures) >= 20
    texts = [
        caplog.text,
        logged(log_file),
        *shown,
        *(f"{r}" for r in reports),
        *(rendered(e) for e in errors),
        *database_texts(db_path),
        *prompts,
    ]
    for needle in (*SECRETS, *signatures):
        for text in texts:
            assert needle not in text
