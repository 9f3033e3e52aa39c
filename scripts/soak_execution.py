"""Soak the executor against the fake Pacifica server with a share of requests faulted, then kill it.

    .venv/bin/python scripts/soak_execution.py                  # 500 cycles, 20 % faults, 20 kills
    .venv/bin/python scripts/soak_execution.py --cycles 40 --kills 2 --json

(a) Cycles in-process: each a random consensus through the risk engine and VenueExecutor on
    PacificaVenue, the fake failing a seeded 20 % of requests (5xx, 429, a timeout after the
    exchange acted, refusals, partial fills); between cycles the marks move, so stops and
    targets fire. After every cycle: duplicates, positions without a stop, journal vs venue.
(b) The fake lives in this process; a child process trades against it with a SQLite journal and
    is SIGKILLed at a random moment, `--kills` times. Each restarted child reconciles first (the
    figures are checked then), resends the decision the kill interrupted, and goes on; the figures
    are also checked after each of its cycles, and at the end.
The figures come from the fake's ledger and the journal file (scripts/soak_cycle.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import queue
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import anyio  # noqa: E402
import soak_cycle as soak  # noqa: E402

from execution.signing import PacificaSigner  # noqa: E402
from swarm.store import Store  # noqa: E402
from tests.fakes.chaos import ChaosPacifica  # noqa: E402
from tests.fakes.server import serve  # noqa: E402
from tests.fakes.venue_fixtures import SEED  # noqa: E402

CHILD_SILENCE_S = 120.0  # a child that says nothing for this long is stuck: the soak fails


@dataclass
class Tally:
    """What one part of the soak saw."""

    part: str
    cycles: int = 0
    requests: int = 0
    faulted: int = 0
    duplicates: int = 0
    unprotected: int = 0  # position-cycles: positions without a stop, summed over every check
    mismatched_checks: int = 0  # checks at which the journal differed from the venue
    final_mismatches: int = 0
    kills: int = 0
    checks: int = 0
    seconds: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)  # what the start-up reconciliations found

    def add(self, figures: soak.Figures) -> None:
        self.checks += 1
        self.duplicates = max(self.duplicates, figures.duplicates)  # cumulative on the venue already
        self.unprotected += figures.unprotected
        self.mismatched_checks += figures.mismatches > 0
        self.final_mismatches = figures.mismatches

    def count(self, outcome: str) -> None:
        self.cycles += 1
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


def new_fake(rate: float, seed: int) -> tuple[ChaosPacifica, str]:
    fake = ChaosPacifica(rate=rate, seed=seed)
    account = PacificaSigner(SEED).account
    fake.fund(account, "100000")
    return fake, account


def set_marks(fake: ChaosPacifica, marks: dict[str, Any]) -> None:
    for symbol, price in marks.items():
        fake.set_mark(symbol, str(price))


# ---- (a) in-process --------------------------------------------------------------------------


async def soak_in_process(cycles: int, rate: float, seed: int, folder: Path) -> Tally:
    tally, started = Tally("a: in-process"), time.monotonic()
    fake, account = new_fake(rate, seed)
    rng, marks = random.Random(seed), soak.start_marks()
    store = Store.open(str(folder / "soak.db"))
    with serve(fake):
        async with soak.soak_venue(fake.base_url, PacificaSigner(SEED)) as venue:
            executor = soak.new_executor(venue, store)
            await soak.settle(executor)
            set_marks(fake, marks)
            for i in range(cycles):
                tally.count(await soak.run_cycle(executor, store, seed, i, _floats(marks)))
                tally.add(soak.check(fake, account, store))
                soak.walk_marks(rng, marks)
                set_marks(fake, marks)
            await soak.settle(executor, always=True)  # the marks moved since the last cycle
            tally.add(soak.check(fake, account, store))
    store.close()
    tally.requests, tally.faulted = fake.total, sum(fake.faults.values())
    tally.seconds = time.monotonic() - started
    return tally


def _floats(marks: dict[str, Any]) -> dict[str, float]:
    return {s: float(p) for s, p in marks.items()}


# ---- (b) killed and restarted ----------------------------------------------------------------


def soak_with_kills(kills: int, rate: float, seed: int, folder: Path) -> Tally:
    tally, started = Tally("b: SIGKILL + restart"), time.monotonic()
    fake, account = new_fake(rate, seed + 1)
    rng, marks = random.Random(seed + 1), soak.start_marks()
    db = folder / "killed.db"
    store = Store.open(str(db))  # the parent's view of the child's journal (WAL: reads while it writes)
    with serve(fake):
        set_marks(fake, marks)
        for run in range(kills + 1):
            final = run == kills
            tally.kills += _one_child(
                fake, account, db, store, seed, rng, marks, tally, cycles=3 if final else 0
            )
        tally.add(soak.check(fake, account, store))
    store.close()
    tally.requests, tally.faulted = fake.total, sum(fake.faults.values())
    tally.seconds = time.monotonic() - started
    return tally


def _one_child(
    fake: ChaosPacifica,
    account: str,
    db: Path,
    store: Store,
    seed: int,
    rng: random.Random,
    marks: dict[str, Any],
    tally: Tally,
    *,
    cycles: int,
) -> int:
    """Run one child until it is done (`cycles` > 0) or killed at a random moment after it is ready."""
    env = os.environ | {"PACIFICA_PRIVATE_KEY": soak.soak_key(), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, __file__, "--child", fake.base_url, str(db), str(seed), str(cycles)]
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdin is not None
    assert proc.stdout is not None
    events = _lines(proc.stdout)
    kill_at: float | None = None
    killed = 0
    while True:
        wait = CHILD_SILENCE_S if kill_at is None else max(kill_at - time.monotonic(), 0.0)
        try:
            line = events.get(timeout=wait)
        except queue.Empty:
            if kill_at is None:
                proc.kill()
                raise RuntimeError("the soak child went silent") from None
            os.kill(proc.pid, signal.SIGKILL)
            killed = 1
            break
        if line is None:
            killed = int(isinstance(fake.after_write, _KillAfter) and fake.after_write.fired)
            break  # it exited, or the fake's hook killed it
        event = json.loads(line)
        if event["event"] == "done":
            break
        tally.add(soak.check(fake, account, store))  # after the start-up reconciliation, or a cycle
        if event["event"] == "cycle":
            tally.count(event["outcome"])
            soak.walk_marks(rng, marks)
            set_marks(fake, marks)
        else:  # ready: after the start-up reconciliation
            for key in ("in_flight", "resent", "stops_placed", "closed", "cancelled"):
                tally.restarts[key] = tally.restarts.get(key, 0) + event[key]
            if cycles == 0 and rng.random() < 0.5:
                kill_at = time.monotonic() + rng.uniform(0.05, 2.5)
            elif cycles == 0:  # right after the exchange acted on a request, before the answer is read
                fake.after_write = _KillAfter(proc.pid, rng.randint(1, 12))
                kill_at = time.monotonic() + 30.0  # in case the child sends nothing for that long
        _send(proc.stdin, {"marks": _floats(marks)})
    proc.wait(timeout=30)
    fake.after_write = None
    if not killed and proc.returncode != 0:
        raise RuntimeError(f"the soak child failed with exit code {proc.returncode}")
    return killed


class _KillAfter:
    """A hook for the fake: SIGKILL the child once the exchange has acted on its n-th POST."""

    def __init__(self, pid: int, posts: int) -> None:
        self.pid, self.left, self.fired = pid, posts, False

    def __call__(self, endpoint: str) -> None:
        self.left -= 1
        if self.left == 0:
            os.kill(self.pid, signal.SIGKILL)
            self.fired = True


def _lines(stream: IO[str]) -> queue.Queue[str | None]:
    """The child's stdout, line by line, from a reader thread; None at its end."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in stream:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return lines


def _send(stream: IO[str], message: dict[str, Any]) -> None:
    try:
        stream.write(json.dumps(message) + "\n")
        stream.flush()
    except BrokenPipeError:
        pass  # killed meanwhile


# ---- report ----------------------------------------------------------------------------------


def table(tallies: list[Tally]) -> str:
    machine = f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    rows = [
        f"Machine: {machine}",
        "",
        "| part | cycles | requests | faulted | duplicates | unprotected position-cycles "
        "| final mismatches | checks with mismatches | kills | wall time |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t in tallies:
        share = 100 * t.faulted / t.requests if t.requests else 0.0
        rows.append(
            f"| {t.part} | {t.cycles} | {t.requests} | {t.faulted} ({share:.1f} %) | {t.duplicates} "
            f"| {t.unprotected} | {t.final_mismatches} | {t.mismatched_checks} of {t.checks} | {t.kills} "
            f"| {t.seconds:.1f} s |"
        )
    outcomes = {k: sum(t.outcomes.get(k, 0) for t in tallies) for t in tallies for k in t.outcomes}
    rows += ["", "Cycle outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))]
    for t in tallies:
        if t.restarts:
            found = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in t.restarts.items())
            rows.append(
                f"Restarts of {t.part}: orders in flight at the kill, decisions resent and repairs: {found}"
            )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=500, help="cycles of part (a)")
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLed runs of part (b)")
    parser.add_argument("--rate", type=float, default=0.2, help="share of requests faulted")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON document")
    parser.add_argument("--child", nargs=4, metavar=("URL", "DB", "SEED", "CYCLES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    # The executor logs every failed attempt; the soak provokes thousands. Its figures are the output.
    logging.basicConfig(level=logging.ERROR)
    if args.child:
        url, db, seed, cycles = args.child
        anyio.run(soak.child, url, db, int(seed), int(cycles))
        return
    with tempfile.TemporaryDirectory(prefix="soak-") as folder:
        tallies = [anyio.run(soak_in_process, args.cycles, args.rate, args.seed, Path(folder))]
        tallies.append(soak_with_kills(args.kills, args.rate, args.seed, Path(folder)))
    if args.json:
        print(json.dumps([vars(t) for t in tallies], indent=2))
    else:
        print(table(tallies))


if __name__ == "__main__":
    main()
