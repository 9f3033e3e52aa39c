"""One VenueExecutor over either venue, for tests written once and run against both.

    from tests.executor_harness import harness_fixture  # noqa: F401  (with the venue fixtures)

`harness` is parametrised: "paper" (a PaperVenue, marks at T0) and "pacifica" (PacificaVenue on
the fake Pacifica server). Both start at BTC 70 000 / ETH 3 500 / SOL 150 with 100 000 USD, and
record into a SQLite journal file. `refuse_stops(n)` makes the venue refuse the next n stop-loss
placements: on the fake, rejects injected on /positions/tpsl (the outside service); on paper,
a PaperVenue that refuses them (it is in-process, so there is no service to fault).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from consensus.decision import Action
from execution.errors import OrderRejected
from execution.markets import WireSide
from execution.orders import VenueExecutor
from execution.pacifica_models import Trigger, VenueOrder, VenuePosition
from execution.paper import PaperVenue, paper_markets
from execution.risk import RiskEngine
from execution.types import Approved, MarketInfo, OrderIntent, RiskLimits
from execution.venue import Venue
from swarm.store import Store
from tests.fakes.pacifica_venue import DEFAULT_MARKS, FakePacificaVenue
from tests.fakes.venue_fixtures import make_venue
from tests.risk_cases import consensus
from tests.stores import FakeClock

D = Decimal
T0 = 1_767_268_800_000  # 2026-01-01T12:00:00Z
SYMBOLS = ("BTC", "ETH", "SOL")
STOP_REFUSED = "Stop price would trigger immediately"


class StopRefusingPaper(PaperVenue):
    """A paper venue that refuses the next `refusals` stop-loss placements."""

    refusals = 0

    async def set_position_tpsl(
        self,
        symbol: str,
        side: WireSide,
        *,
        stop_loss: Trigger | None = None,
        take_profit: Trigger | None = None,
    ) -> None:
        if stop_loss is not None and self.refusals > 0:
            self.refusals -= 1
            raise OrderRejected(f"paper {symbol}: {STOP_REFUSED}")
        await super().set_position_tpsl(symbol, side, stop_loss=stop_loss, take_profit=take_profit)


@dataclass
class Harness:
    kind: str  # "paper" or "pacifica"
    venue: Venue
    executor: VenueExecutor
    store: Store
    clock: FakeClock
    db_path: Path
    fake: FakePacificaVenue | None = None
    paper: PaperVenue | None = None

    def tick(self, ms: int = 1_000) -> int:
        self.clock.now += ms
        return self.clock.now

    def set_mark(self, symbol: str, price: str) -> None:
        """Move the mark; the venue fires the stops and take-profits it reaches."""
        if self.fake is not None:
            self.fake.set_mark(symbol, price)
        else:
            assert self.paper is not None
            self.paper.set_mark(symbol, D(price), self.tick())

    def refuse_stops(self, times: int) -> None:
        if self.fake is not None:
            self.fake.inject("/positions/tpsl", FakePacificaVenue.reject(0, STOP_REFUSED), times=times)
        else:
            assert isinstance(self.paper, StopRefusingPaper)
            self.paper.refusals = times

    async def positions(self) -> dict[str, VenuePosition]:
        return {p.symbol: p for p in await self.venue.positions()}

    async def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        return [o for o in await self.venue.open_orders() if symbol in (None, o.symbol)]

    async def mark(self, symbol: str) -> float:
        if self.fake is not None:
            return float(self.fake.ledger.marks[symbol])
        assert self.paper is not None
        return float(self.paper._ledger.mark(symbol))

    async def approve(self, action: Action, symbol: str = "BTC", **options: object) -> OrderIntent:
        """An intent the risk engine approves for `action`, from the executor's portfolio."""
        now = self.tick()
        portfolio = await self.executor.portfolio(now)
        infos = {s: await self.market_info(s) for s in SYMBOLS}
        limits = RiskLimits(correlation_max=1.0, cooldown_ms=0, cooldown_after_loss_ms=0)
        result = RiskEngine(limits).evaluate(
            consensus(action, symbol, **options),  # type: ignore[arg-type]
            portfolio,
            infos,
            now,
        )
        assert isinstance(result, Approved), result
        return result.intent

    async def market_info(self, symbol: str) -> MarketInfo:
        spec = await self.venue.market(symbol)
        return MarketInfo(
            symbol=symbol,
            mark_price=await self.mark(symbol),
            max_leverage=spec.max_leverage,
            min_order_usd=float(spec.min_order_size),
        )


def new_paper(clock: FakeClock) -> StopRefusingPaper:
    paper = StopRefusingPaper(paper_markets(), D(100_000))
    for symbol in SYMBOLS:
        paper.set_mark(symbol, DEFAULT_MARKS[symbol], clock.now)
    return paper


def new_executor(venue: Venue, store: Store, clock: FakeClock, **options: object) -> VenueExecutor:
    settings: dict[str, object] = {"attempts": 3, "retry_wait_s": 0.0} | options
    return VenueExecutor(venue, store, now=clock, **settings)  # type: ignore[arg-type]


@asynccontextmanager
async def open_harness(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    clock = FakeClock(T0)
    db_path = tmp_path / "journal.db"
    store = Store.open(str(db_path), clock=clock)
    try:
        if kind == "pacifica":
            fake, signer = request.getfixturevalue("fake_venue"), request.getfixturevalue("signer")
            async with make_venue(fake, signer, timeout_s=0.3, expiry_window_ms=800) as pacifica:
                executor = new_executor(pacifica, store, clock)
                yield Harness("pacifica", pacifica, executor, store, clock, db_path, fake=fake)
        else:
            paper = new_paper(clock)
            yield Harness(
                "paper", paper, new_executor(paper, store, clock), store, clock, db_path, paper=paper
            )
    finally:
        store.close()


@pytest.fixture(name="harness", params=["paper", "pacifica"])
async def harness_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    async with open_harness(request.param, request, tmp_path) as harness:
        yield harness


@pytest.fixture(name="pacifica_harness")
async def pacifica_harness_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    """The harness on the fake Pacifica server only: for timeouts and ambiguity, which need a wire."""
    async with open_harness("pacifica", request, tmp_path) as harness:
        yield harness


@pytest.fixture(name="paper_harness")
async def paper_harness_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    async with open_harness("paper", request, tmp_path) as harness:
        yield harness
