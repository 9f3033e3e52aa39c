"""Time the replay source: first load per symbol, resampling, and one snapshot (run by hand).

Usage: .venv/bin/python scripts/bench_replay.py [DATA_DIR]   (default: the bundled slice)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import numpy as np

from feeds.resample import resample
from feeds.sources._replay_files import read_candles
from feeds.sources.replay import ReplaySource, default_data_dir
from feeds.types import Timeframe

CALLS = 1_000


def best_of(repeats: int, fn: Callable[[], object]) -> float:
    """Fastest of `repeats` runs of `fn()`, seconds (the least disturbed by other load)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else default_data_dir()
    source = ReplaySource(data_dir)
    print(f"{'what':48s} {'time':>12s}")
    for symbol in source.symbols():
        start = time.perf_counter()
        source.coverage(symbol)  # the first call reads and builds every file of the symbol
        print(f"{'load ' + symbol:48s} {1e3 * (time.perf_counter() - start):9.1f} ms")

    quarters = read_candles(next((data_dir / "candles/binance-usdm").glob("BTC-15m.csv*")), Timeframe.M15)
    for target in (Timeframe.H1, Timeframe.H4, Timeframe.D1):
        seconds = best_of(20, lambda: resample(quarters, target))  # noqa: B023 (called at once)
        print(f"{f'resample {len(quarters):,} 15m -> {target.value}':48s} {1e3 * seconds:9.2f} ms")

    first, last = source.coverage("BTC")
    at = np.random.default_rng(0).integers(first, last + 1, CALLS).tolist()
    sync = best_of(3, lambda: [source.snapshot("BTC", t) for t in at])
    print(f"{f'snapshot BTC, mean of {CALLS:,} random times':48s} {1e6 * sync / CALLS:9.1f} us")

    async def calls() -> None:
        for t in at:
            await source.market_data("BTC", t)

    asynchronous = best_of(3, lambda: anyio.run(calls))
    print(f"{f'await market_data BTC, mean of {CALLS:,}':48s} {1e6 * asynchronous / CALLS:9.1f} us")


if __name__ == "__main__":
    main()
