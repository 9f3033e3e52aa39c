"""Time PrecomputedStates (the backtest's fast path) against build_market_state (run by hand).

Usage: .venv/bin/python scripts/bench_fast_states.py [CALLS]   (default 10,000)

Prints a markdown table for BTC and ETH of the bundled replay slice: the one-off precompute per
symbol, `state_at` at CALLS random times of the replay window (median and p95 of single calls),
a sweep over every 15m close of the window (what a backtest does), the same sweep with the three
local strategies voting at each step, and the reference `snapshot` + `build_market_state`.
Memory: the process's peak resident set (ru_maxrss, everything imported and loaded included),
taken before the strategies' packages are imported, and the peak Python-allocated memory
(tracemalloc, numpy included) of loading and precomputing both symbols from scratch.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feeds.build import build_market_state
from feeds.precomputed import PrecomputedStates
from feeds.sources.replay import ReplaySource, default_data_dir
from feeds.state import MarketState
from feeds.types import Timeframe

SYMBOLS = ("BTC", "ETH")
REPLAY_START = 1_755_388_800_000  # 2025-08-17T00:00:00Z (feeds/data/README.md)
BUILD_CALLS = 200


Step = tuple[str, int]  # (symbol, at_ms)


def single_calls_us(fn: Callable[[str, int], object], steps: Sequence[Step]) -> list[float]:
    """Duration of each call fn(symbol, at_ms), microseconds."""
    out = []
    clock = time.perf_counter_ns
    for symbol, at_ms in steps:
        start = clock()
        fn(symbol, at_ms)
        out.append((clock() - start) / 1e3)
    return out


def row(what: str, value: str, note: str = "") -> str:
    return f"| {what} | {value} | {note} |"


def latency_rows(what: str, us: list[float]) -> list[str]:
    median, p95 = statistics.median(us), float(np.percentile(us, 95))
    per_s = 1e6 / statistics.fmean(us)
    note = f"{len(us):,} single calls, BTC or ETH at random ms of the replay window"
    return [
        row(f"{what}: median / p95", f"{median:,.1f} / {p95:,.1f} us", note),
        row(f"{what}: states per second", f"{per_s:,.0f}", "1 / mean call time"),
    ]


def window_closes(states: dict[str, PrecomputedStates]) -> list[Step]:
    """Every 15m close of the replay window, for each symbol in turn: a backtest's steps."""
    steps = []
    for symbol, fast in states.items():
        steps += [
            (symbol, t) for t in range(REPLAY_START + Timeframe.M15.ms, fast.last_ms + 1, Timeframe.M15.ms)
        ]
    return steps


def sweep(
    states: dict[str, PrecomputedStates], steps: list[Step], then: Callable[[MarketState], object]
) -> float:
    """Steps per second of state_at (followed by `then`) over `steps`."""
    start = time.perf_counter()
    for symbol, at_ms in steps:
        then(states[symbol].state_at(at_ms))
    return len(steps) / (time.perf_counter() - start)


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 1e6


def traced_precompute_mb() -> float:
    """Peak Python-allocated MB of loading and precomputing SYMBOLS from a fresh source."""
    tracemalloc.start()
    source = ReplaySource(default_data_dir())
    kept = [PrecomputedStates.from_replay(source, s) for s in SYMBOLS]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del kept
    return peak / 1e6


def main(calls: int) -> None:
    cpu = platform.processor() or platform.machine()
    print(f"machine: {platform.platform()}, {cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print("data: bundled replay slice (binance-usdm), replay window 2025-08-17 -> 2026-05-17\n")
    print("| measure | value | note |")
    print("|---|---|---|")
    source = ReplaySource(default_data_dir())
    states: dict[str, PrecomputedStates] = {}
    for symbol in SYMBOLS:
        start = time.perf_counter()
        history = source.history(symbol)
        loaded = time.perf_counter()
        states[symbol] = PrecomputedStates(history)
        done = time.perf_counter()
        bars = ", ".join(f"{tf.value} {len(c):,}" for tf, c in history.candles.items())
        note = f"files read in {1e3 * (loaded - start):,.0f} ms before it; bars: {bars}"
        print(row(f"precompute {symbol}", f"{1e3 * (done - loaded):,.0f} ms", note))

    rng = np.random.default_rng(0)
    end = min(fast.end_ms for fast in states.values())
    times = [(str(rng.choice(SYMBOLS)), int(t)) for t in rng.integers(REPLAY_START, end + 1, calls)]
    fast_us = single_calls_us(lambda symbol, at_ms: states[symbol].state_at(at_ms), times)
    for line in latency_rows("`state_at`", fast_us):
        print(line)

    steps = window_closes(states)
    per_s = sweep(states, steps, lambda state: None)
    print(
        row(
            "backtest sweep, `state_at` alone",
            f"{per_s:,.0f} steps/s",
            f"{len(steps):,} 15m closes, BTC then ETH",
        )
    )
    print(
        row(
            "peak RSS after the above",
            f"{peak_rss_mb():,.0f} MB",
            "whole process: interpreter, pandas, data, columns",
        )
    )

    from swarm.members.local import LOCAL_MEMBERS, local_member

    members = [local_member(name) for name in LOCAL_MEMBERS]
    per_s = sweep(states, steps, lambda state: [m.vote(state) for m in members])
    names = ", ".join(LOCAL_MEMBERS)
    print(
        row(
            "backtest sweep, `state_at` + 3 local votes", f"{per_s:,.0f} steps/s", f"{names}; target >= 5,000"
        )
    )

    build_us = single_calls_us(
        lambda symbol, at_ms: build_market_state(source.snapshot(symbol, at_ms)), times[:BUILD_CALLS]
    )
    for line in latency_rows("`build_market_state(snapshot)`", build_us):
        print(line)
    ratio = statistics.median(build_us) / statistics.median(fast_us)
    print(row("speed-up, medians", f"{ratio:,.0f}x", ""))
    print(
        row(
            "tracemalloc peak, load + precompute BTC and ETH",
            f"{traced_precompute_mb():,.0f} MB",
            "fresh source",
        )
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
