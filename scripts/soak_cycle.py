"""One cycle of the execution soak, the three figures checked after it, and the child of the kill runs.

A cycle is what the engine does: portfolio (which reconciles) -> a random consensus -> the risk
engine -> record the result -> execute an approval -> after a venue error, reconcile until it
succeeds before anything else. The figures are read from the fake exchange's own ledger and the
journal's SQLite file, not from the executor:

    duplicates   orders on the venue sharing a client id, plus non-reduce-only orders that are not
                 the entry leg of a recorded decision (a resend that doubled an entry)
    unprotected  venue positions without a resting stop-loss order
    mismatches   differences between the journal and the venue: positions (side, size, entry),
                 each order's status and filled amount, orders one side does not know
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import anyio
import base58
import sqlalchemy as sa
from nacl.signing import SigningKey

from consensus.decision import Action
from consensus.vote import Consensus
from execution.errors import VenueError
from execution.executor import ReconcileReport
from execution.orders import VenueExecutor
from execution.pacifica import PacificaVenue, client_order_id
from execution.ratelimit import CreditBucket
from execution.risk import RiskEngine
from execution.signing import PacificaSigner, load_signer
from execution.types import Approved, MarketInfo, Portfolio, RiskLimits
from feeds.sources.http import RetryPolicy
from swarm.store import Store
from tests.fakes.pacifica_ledger import Account, Order, Position
from tests.fakes.pacifica_venue import DEFAULT_MARKETS, DEFAULT_MARKS, FakePacificaVenue
from tests.fakes.venue_fixtures import SEED

SYMBOLS = ("BTC", "ETH", "SOL")
TICKS = {m.symbol: m.tick for m in DEFAULT_MARKETS}
LIMITS = RiskLimits(
    min_confidence=0, max_open_positions=3, daily_loss_pct=100, correlation_max=1.0,
    cooldown_ms=0, cooldown_after_loss_ms=0,
)  # fmt: skip
SETTLE_TRIES = 40
RETRY = RetryPolicy(attempts=3, total_s=5.0, backoff_s=0.01, backoff_max_s=0.05, retry_after_max_s=0.05)


def soak_key() -> str:
    """The test key the soak trades with (tests' planted SEED), as PACIFICA_PRIVATE_KEY holds it."""
    return base58.b58encode(SEED + bytes(SigningKey(SEED).verify_key)).decode()


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def soak_venue(url: str, signer: PacificaSigner) -> PacificaVenue:
    """PacificaVenue with short timeouts and signature lifetimes, so that faults cost little time."""
    return PacificaVenue(
        url, signer, timeout_s=0.25, retry=RETRY, expiry_window_ms=600, clock_skew_ms=0,
        bucket=CreditBucket(credits=1_000_000),
    )  # fmt: skip


def new_executor(venue: PacificaVenue, store: Store) -> VenueExecutor:
    return VenueExecutor(venue, store, now=wall_ms, limits=LIMITS, attempts=3, retry_wait_s=0.01)


# ---- one cycle ---------------------------------------------------------------------------------


def random_consensus(rng: random.Random, portfolio: Portfolio) -> Consensus:
    symbol = rng.choice(SYMBOLS)
    if portfolio.position(symbol) is not None:
        action = Action.CLOSE if rng.random() < 0.5 else Action.HOLD
    else:
        action = rng.choice((Action.LONG, Action.SHORT, Action.LONG, Action.SHORT, Action.HOLD))
    targets = sorted({round(rng.uniform(0.01, 0.06), 4) for _ in range(rng.randint(1, 3))})
    return Consensus(
        symbol=symbol, action=action, confidence=80.0, position_size_pct=rng.uniform(5, 30),
        take_profit=tuple(targets), stop_loss=rng.uniform(0.01, 0.04), agreement=0.8, quorum_met=True,
        members_for=(), ballots=(), reason="soak",
    )  # fmt: skip


async def run_cycle(
    executor: VenueExecutor, store: Store, seed: int, i: int, marks: Mapping[str, float]
) -> str:
    """One decision and its execution; returns what became of it."""
    rng = random.Random(f"{seed}:{i}")
    decision_id = f"soak-{seed}-{i}"
    outcome = "venue_error"
    try:
        now = wall_ms()
        portfolio = await executor.portfolio(now)
        infos = {
            s: MarketInfo(symbol=s, mark_price=marks[s], max_leverage=20, min_order_usd=10) for s in SYMBOLS
        }
        result = RiskEngine(LIMITS).evaluate(random_consensus(rng, portfolio), portfolio, infos, now,
                                             decision_id=decision_id)  # fmt: skip
        store.record_risk_result(decision_id, f"cycle-{i}", result, now)
        outcome = result.kind
        if isinstance(result, Approved):
            outcome = (await executor.execute(result.intent)).status
    except VenueError:
        pass  # the next step reconciles, as the engine must before its next decision
    await settle(executor)
    return outcome


async def settle(executor: VenueExecutor, *, always: bool = False) -> ReconcileReport | None:
    """Reconcile until it succeeds (the venue fails a share of requests), if needed or `always`.

    Returns what the reconciliation did (None if none was needed); the soak fails if none
    succeeds within SETTLE_TRIES.
    """
    for _ in range(SETTLE_TRIES):
        if not (executor.needs_reconcile or always):
            return None
        try:
            return await executor.reconcile(wall_ms())
        except VenueError:
            await anyio.sleep(0.01)
    raise RuntimeError(f"no reconciliation succeeded in {SETTLE_TRIES} tries")


def walk_marks(rng: random.Random, marks: dict[str, Decimal]) -> None:
    """Move every mark: ~1.2 % a step, now and then a 4 % jump, so that stops and targets fire."""
    for symbol, price in marks.items():
        move = rng.gauss(0, 0.012) + (rng.choice((-0.04, 0.04)) if rng.random() < 0.05 else 0.0)
        tick = TICKS[symbol]
        marks[symbol] = max(tick, (price * Decimal(repr(math.exp(move))) / tick).to_integral_value() * tick)


def start_marks() -> dict[str, Decimal]:
    return {s: DEFAULT_MARKS[s] for s in SYMBOLS}


# ---- the figures -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    duplicates: int
    unprotected: int
    mismatches: int


def venue_snapshot(fake: FakePacificaVenue, account: str) -> tuple[list[Order], dict[str, Position]]:
    with fake._state:  # the fake's own lock: one consistent view of its ledger
        acct: Account = fake.ledger.accounts[account]
        return [Order(**vars(o)) for o in acct.orders.values()], {
            s: Position(**vars(p)) for s, p in acct.positions.items()
        }


def check(fake: FakePacificaVenue, account: str, store: Store) -> Figures:
    orders, positions = venue_snapshot(fake, account)
    return Figures(
        _duplicates(orders, store), _unprotected(orders, positions), _mismatches(orders, positions, store)
    )


def _duplicates(orders: list[Order], store: Store) -> int:
    # A position stop set again under its client id replaces the old one, which is cancelled: only
    # orders that rest or filled count (two of those under one id would be a doubled order).
    live = Counter(o.client_order_id for o in orders if o.status in ("open", "filled"))
    with store.engine.connect() as conn:
        decisions = conn.execute(sa.text("SELECT decision_id FROM order_decision WHERE kind = 'approved'"))
        entries = {client_order_id(d, "entry") for (d,) in decisions}
    doubled = sum(1 for o in orders if not o.reduce_only and o.client_order_id not in entries)
    return sum(n - 1 for n in live.values()) + doubled


def _unprotected(orders: list[Order], positions: dict[str, Position]) -> int:
    def protected(symbol: str, position: Position) -> bool:
        return any(
            o.status == "open" and o.symbol == symbol and o.tpsl == "sl" and o.side != position.side
            for o in orders
        )

    return sum(1 for symbol, position in positions.items() if not protected(symbol, position))


def _mismatches(orders: list[Order], positions: dict[str, Position], store: Store) -> int:
    venue = {o.client_order_id: o for o in orders if o.client_order_id}  # the newest order of each id
    journal = store.orders()
    count = sum(1 for cloid in venue if cloid not in {j.client_order_id for j in journal})
    for mine in journal:
        theirs = venue.get(mine.client_order_id)
        if mine.status in ("rejected", "absent"):
            count += theirs is not None
        elif mine.status == "pending" or theirs is None:
            count += 1
        else:
            count += (theirs.status, theirs.filled) != (mine.status, mine.filled)
    held = {(p.symbol, p.side.value, p.amount, p.entry_price) for p in store.positions()}
    live = {(s, "LONG" if p.side == "bid" else "SHORT", p.amount, p.entry) for s, p in positions.items()}
    return count + len(held ^ live)


# ---- the child of the kill runs ----------------------------------------------------------------


def say(event: dict[str, Any]) -> None:
    print(json.dumps(event), flush=True)


async def listen() -> dict[str, float]:
    """The parent's go-ahead, with the marks it has set."""
    line = await anyio.to_thread.run_sync(sys.stdin.readline)
    if not line:
        raise SystemExit(0)  # the parent is gone
    marks: dict[str, float] = json.loads(line)["marks"]
    return marks


def last_cycle(store: Store) -> int:
    with store.engine.connect() as conn:
        ids = conn.execute(sa.text("SELECT cycle_id FROM order_decision")).scalars()
        cycles = [int(c.split("-")[1]) for c in ids if c and c.startswith("cycle-")]
    return max(cycles, default=-1)


async def child(url: str, db: str, seed: int, cycles: int) -> None:
    """Reconcile (start-up is recovery), resend what a kill interrupted, then run cycles."""
    import os

    signer = load_signer(os.environ)
    store = Store.open(db)
    async with soak_venue(url, signer) as venue:
        executor = new_executor(venue, store)
        in_flight = sum(1 for o in store.orders(active_only=True) if o.status == "pending")
        repaired = await settle(executor, always=True)
        assert repaired is not None
        start = last_cycle(store) + 1
        resend = store.unexecuted_intents()
        say({
            "event": "ready", "next": start, "in_flight": in_flight, "resent": len(resend),
            "stops_placed": len(repaired.stops_placed), "closed": len(repaired.positions_closed),
            "cancelled": len(repaired.orders_cancelled),
        })  # fmt: skip
        marks = await listen()
        for intent in resend:  # a resend after the crash: the same decision, the same client ids
            await executor.execute(intent)
            await settle(executor)
        i = start
        while cycles == 0 or i < start + cycles:
            outcome = await run_cycle(executor, store, seed, i, marks)
            say({"event": "cycle", "i": i, "outcome": outcome})
            marks = await listen()
            i += 1
        await settle(executor, always=True)  # the marks moved since the last cycle
    store.close()
    say({"event": "done"})
