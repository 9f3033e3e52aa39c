"""Benchmark the swarm fan-out through litellm against the fake model server; prints a markdown table.

    .venv/bin/python scripts/bench_swarm.py [--cycles 20]

(a) overhead: 5 members with latencies spread 0.2-1.0 s; cycle wall time minus the slowest
    member's latency, median and p95 over the cycles (target <= 50 ms)
(b) a hanging member: time for the cycle to return against its 2 s deadline (target <= +100 ms)
(c) 5 members x 20 symbols in one cycle: wall time and its ratio to a one-symbol cycle, with the
    default per-provider limit and with the limit raised to the symbol count

The fake server runs in a child process, as a real vendor runs elsewhere: its CPU time is not
charged to the swarm. No real provider is reached: every member's api_base is the fake on
loopback, and the provider keys of this process are replaced by dummies.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere, without installing

from multiprocessing.connection import Connection

import anyio

from prompts.types import RenderedPrompt
from swarm.config import DEFAULT_ALIASES, PROVIDER_KEY_ENV, MemberSettings
from swarm.fanout import DEFAULT_PROVIDER_LIMIT, ConcurrencyLimits, fan_out
from swarm.members.base import DecisionRequest
from swarm.members.llm import LiteLLMMember, close_clients
from tests.fakes.llm_server import Behaviour, FakeLLMServer, Hang, Reply, api_base_for, echo_decision
from tests.states import full_state

LATENCY_S = {"deepseek": 0.2, "grok": 0.4, "claude": 0.6, "gpt": 0.8, "gemini": 1.0}
SYMBOLS = [f"C{i:02d}" for i in range(20)]
Row = tuple[str, str, str, str]


class RemoteFake:
    """A FakeLLMServer in a child process, driven over a pipe."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")  # a clean child: no litellm, no event loop
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child,), daemon=True)
        self._process.start()
        self.base_url: str = self._conn.recv()

    def api_base(self, model: str) -> str:
        return api_base_for(self.base_url, model)

    def set_default(self, model: str, behaviour: Behaviour) -> None:
        self._conn.send((model, behaviour))
        self._conn.recv()

    def close(self) -> None:
        self._conn.send(None)
        self._process.join(timeout=5)


def _serve(conn: Connection) -> None:
    with FakeLLMServer() as fake:
        conn.send(fake.base_url)
        while (message := conn.recv()) is not None:
            fake.set_default(*message)
            conn.send("ok")


def request_for(symbol: str) -> DecisionRequest:
    prompt = RenderedPrompt(system="Answer with one JSON object.", user=f"symbol={symbol}", version="bench-1")
    return DecisionRequest(cycle_id="bench", symbol=symbol, state=full_state("BTC"), prompt=prompt)


def roster(fake: RemoteFake) -> list[LiteLLMMember]:
    for alias, model in DEFAULT_ALIASES.items():
        fake.set_default(model.split("/", 1)[1], Reply(echo_decision, latency_s=LATENCY_S[alias]))
    return [
        LiteLLMMember(alias, model, MemberSettings(api_base=fake.api_base(model)))
        for alias, model in DEFAULT_ALIASES.items()
    ]


async def timed(members: list[LiteLLMMember], symbols: list[str], **kwargs: object) -> tuple[float, int]:
    """Wall seconds of one cycle and how many ballots it returned."""
    started = time.perf_counter()
    answers = await fan_out(members, [request_for(s) for s in symbols], **kwargs)  # type: ignore[arg-type]
    return time.perf_counter() - started, sum(a.vote.kind == "ballot" for a in answers)


async def overhead(fake: RemoteFake, cycles: int) -> list[Row]:
    members = roster(fake)
    await timed(members, ["BTC"], deadline_s=10)  # warm-up: litellm imports on its first calls
    slowest = max(LATENCY_S.values())
    runs = [await timed(members, ["BTC"], deadline_s=10) for _ in range(cycles)]
    extra_ms = sorted((wall - slowest) * 1000 for wall, _ in runs)
    p95 = extra_ms[min(len(extra_ms) - 1, round(0.95 * (len(extra_ms) - 1)))]
    ballots = min(b for _, b in runs)
    label = f"(a) 5 members, 1 symbol, {cycles} cycles"
    return [
        (label, "wall - slowest member (1.0 s), median", f"{statistics.median(extra_ms):.1f} ms", "<= 50 ms"),
        (label, "wall - slowest member (1.0 s), p95", f"{p95:.1f} ms", "<= 50 ms"),
        (label, "ballots per cycle (min)", f"{ballots} / 5", "5 / 5"),
    ]


async def hanging(fake: RemoteFake, deadline_s: float = 2.0) -> list[Row]:
    members = roster(fake)
    fake.set_default("grok-4.7", Hang())
    runs = [await timed(members, ["BTC"], deadline_s=deadline_s) for _ in range(3)]
    fake.set_default("grok-4.7", Reply(echo_decision, latency_s=LATENCY_S["grok"]))
    worst = max(wall for wall, _ in runs)
    label = f"(b) grok hangs, deadline {deadline_s:g} s, 3 cycles"
    return [
        (label, "slowest return", f"{worst:.3f} s (+{(worst - deadline_s) * 1000:.0f} ms)", "<= +100 ms"),
        (label, "ballots per cycle (min)", f"{min(b for _, b in runs)} / 5", "4 / 5"),
    ]


async def many_symbols(fake: RemoteFake) -> list[Row]:
    members = roster(fake)
    one, _ = await timed(members, ["BTC"], deadline_s=30)
    rows: list[Row] = [("(c) 5 members x 1 symbol", "wall", f"{one:.3f} s", "")]
    for limit in (DEFAULT_PROVIDER_LIMIT, len(SYMBOLS)):
        wall, ballots = await timed(members, SYMBOLS, deadline_s=30, limits=ConcurrencyLimits(default=limit))
        label = f"(c) 5 members x {len(SYMBOLS)} symbols, limit {limit}/provider"
        rows.append((label, "wall (ratio to 1 symbol)", f"{wall:.3f} s ({wall / one:.2f}x)", ""))
        rows.append((label, "ballots", f"{ballots} / {5 * len(SYMBOLS)}", f"{5 * len(SYMBOLS)}"))
    return rows


async def main(cycles: int) -> list[Row]:
    fake = RemoteFake()
    try:
        return [*await overhead(fake, cycles), *await hanging(fake), *await many_symbols(fake)]
    finally:
        await close_clients()
        fake.close()


def table(rows: list[Row]) -> str:
    machine = (
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"litellm {metadata.version('litellm')}"
    )
    lines = [machine, "", "| scenario | metric | value | target |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=20)
    args = parser.parse_args()
    for env in PROVIDER_KEY_ENV.values():  # never a real key, even to loopback
        os.environ[env] = "sk-bench-dummy-key"
    print(table(anyio.run(main, args.cycles)))
