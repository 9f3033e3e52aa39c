"""Benchmark a backtest: BTC and ETH on 15m bars, 2025-08-17 -> 2026-05-16, the three local members.

    .venv/bin/python scripts/bench_backtest.py [--from 2025-08-17] [--to 2026-05-16] [--tracemalloc]

Runs what `swarm backtest --models local/trend,local/meanrev,local/funding --symbols BTC,ETH
--interval 15m` runs (swarm.backtest_setup.wire: the live Engine, the paper venue, a store on a
temporary SQLite file), without the progress bar and the report, and prints a markdown table:
the machine, the steps (one symbol at one bar), the setup (reading the replay files and
precomputing every indicator series: `ReplayFeed`), the loop, steps per second, peak memory and
how the loop's time splits between the engine's stages (Engine.timing) and the rest of the loop
(feeding the paper venue its candles and funding, marking equity).

Target (the issue): >= 5,000 steps/s over the loop, peak memory <= 500 MB. Peak memory is the
process's peak resident set (getrusage), interpreter and libraries included; `--tracemalloc`
adds the peak of Python allocations (tracemalloc slows the loop down ~4x and its bookkeeping
swells the resident set, so neither is judged against the target then: the table says so).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere, without installing

from feeds.sources.replay import ReplaySource, default_data_dir
from feeds.types import Timeframe
from swarm.backtest import BacktestRun, ReplayFeed, run_loop
from swarm.backtest_setup import SimClock, Wiring, wire
from swarm.commands.backtest import _window
from swarm.config import load_settings
from swarm.engine import STAGES
from swarm.members.local import local_member
from swarm.recorder import ReplayRecorder
from swarm.store import Store

SYMBOLS = ["BTC", "ETH"]
MEMBERS = ["local/trend", "local/meanrev", "local/funding"]
TARGET_STEPS_PER_S = 5_000
TARGET_PEAK_MB = 500


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="start", default="2025-08-17")
    parser.add_argument("--to", dest="end", default="2026-05-16")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations (slow)")
    args = parser.parse_args()
    if args.tracemalloc:
        tracemalloc.start()
    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as tmp:
        rows = anyio.run(_bench, args.start, args.end, Path(tmp) / "bench.db")
    if args.tracemalloc:
        rows.append(
            ("peak Python allocations (tracemalloc)", f"{tracemalloc.get_traced_memory()[1] / 2**20:.0f} MB")
        )
        rows = [
            (name, "not judged (tracemalloc on)" if name.startswith("target") else value)
            for name, value in rows
        ]
        rows.append(("note", "tracemalloc was on: the loop ran ~4x slower, the resident peak is swollen"))
    _print_table(rows)


async def _bench(start: str, end: str, db: Path) -> list[tuple[str, str]]:
    settings = load_settings()
    source = ReplaySource(settings.data_dir or default_data_dir())
    step = Timeframe.M15.ms
    start_ms, end_ms = _window(source, SYMBOLS, start, end, step)

    started = time.perf_counter()
    feed = ReplayFeed(source, SYMBOLS)  # reads the replay files, precomputes every indicator series
    setup_s = time.perf_counter() - started

    clock = SimClock(start_ms)
    store = Store.open(str(db), clock=clock, throwaway=True)  # as `swarm backtest`
    members = [local_member(name) for name in MEMBERS]
    priors = {m.name: settings.member(m.name).prior_weight for m in members}
    wiring = wire(
        store=store, clock=clock, feed=feed, members=members, symbols=SYMBOLS,
        settings=settings, interval_ms=step, priors=priors,
    )  # fmt: skip
    started, cpu_started = time.perf_counter(), time.process_time()
    run = await _run(wiring, start_ms, end_ms, step)
    loop_s, loop_cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    counts = _counts(store)
    store.close()
    return _rows(wiring, run, setup_s, (loop_s, loop_cpu_s), counts, start, end)


async def _run(wiring: Wiring, start_ms: int, end_ms: int, step: int) -> BacktestRun:
    clock = wiring.clock

    def on_step(now_ms: int) -> None:
        clock.now = now_ms + step  # as `swarm backtest`: the next step's time stamps what comes before it

    return await run_loop(wiring.engine, wiring.stepper, start_ms, end_ms, step, on_step=on_step)


def _counts(store: Store) -> dict[str, int]:
    tables = ("answer", "consensus_vote", "score", "order_decision", "venue_order", "closed_trade")
    with store.engine.connect() as conn:
        return {t: int(conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()) for t in tables}


def _rows(
    wiring: Wiring,
    run: BacktestRun,
    setup_s: float,
    loop: tuple[float, float],
    counts: dict[str, int],
    start: str,
    end: str,
) -> list[tuple[str, str]]:
    loop_s, loop_cpu_s = loop  # wall clock, and this process's CPU time (less noisy on a shared machine)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    rate = run.steps / loop_s
    seconds = wiring.engine.timing.seconds
    rest = loop_s - sum(seconds.values())
    verdict = "met" if rate >= TARGET_STEPS_PER_S and peak_mb <= TARGET_PEAK_MB else "NOT met"
    rows = [
        (
            "machine",
            f"{platform.platform()}, {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}",
        ),
        ("python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("run", f"{', '.join(SYMBOLS)} on 15m, {start} -> {end}, {', '.join(MEMBERS)}"),
        ("steps (symbol x bar)", f"{run.steps:,} ({run.cycles:,} cycles)"),
        ("setup: replay files + precompute (s)", f"{setup_s:.2f}"),
        ("loop (s)", f"{loop_s:.2f}"),
        ("loop, CPU time of the process (s)", f"{loop_cpu_s:.2f}"),
        ("steps/s (loop)", f"{rate:,.0f}"),
        ("peak memory, resident (MB)", f"{peak_mb:.0f}"),
        (f"target (>= {TARGET_STEPS_PER_S:,} steps/s, <= {TARGET_PEAK_MB} MB)", verdict),
    ]
    for stage in STAGES:
        rows.append((f"loop: {stage} (s, %)", _share(seconds[stage], loop_s)))
    if isinstance(wiring.engine.recorder, ReplayRecorder):
        writes = wiring.engine.recorder.write_seconds
        rows.append(("loop: store, of which SQLite batch writes (s, %)", _share(writes, loop_s)))
    rows.append(("loop: paper venue feed, equity marks, loop (s, %)", _share(rest, loop_s)))
    rows.append(("rows written", ", ".join(f"{table} {n:,}" for table, n in counts.items())))
    return rows


def _share(seconds: float, total: float) -> str:
    return f"{seconds:.2f} ({100 * seconds / total:.0f} %)"


def _print_table(rows: list[tuple[str, str]]) -> None:
    print("| measure | value |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
