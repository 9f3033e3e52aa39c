"""Time building a MarketState, `ta` against TA-Lib, and `swarm --help` (run by hand).

Usage: .venv/bin/python scripts/bench_feeds.py [RUNS]   (default 50)

Prints a markdown table. Candles are real (the bundled replay slice) and already in memory, so
the build is timed alone. The bundled slice has ~650 days of 1d candles; to time 4 timeframes x
1,500 bars the main row gives 1d the last 1,500 real 4h candles of BTC, re-stamped one day apart
(the cost depends on the bar count, not on the spacing). TA-Lib is a test-only dependency.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np

from feeds import indicators
from feeds.build import build_market_state
from feeds.sources.replay import ReplaySource, default_data_dir
from feeds.types import DAY_MS, HISTORY_BARS, Candles, MarketData, Timeframe

ROOT = Path(__file__).resolve().parents[1]
AT_MS = 1_773_504_000_000  # 2026-03-14T16:00:00Z: every bundled BTC series, funding and OI exist
HELP_RUNS = 5


def timings_ms(runs: int, fn: Callable[[], object], warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(1e3 * (time.perf_counter() - start))
    return out


def row(what: str, times: list[float], note: str = "") -> str:
    p95 = float(np.percentile(times, 95))
    return f"| {what} | {statistics.median(times):.2f} | {p95:.2f} | {len(times)} | {note} |"


def daily_stand_in(source: Candles, last_close_ms: int) -> Candles:
    """The last HISTORY_BARS candles of `source`, re-stamped as 1d candles closing at `last_close_ms`."""
    tail = source.tail(HISTORY_BARS)
    ts = last_close_ms - DAY_MS * np.arange(len(tail), 0, -1)
    return Candles.build(Timeframe.D1, ts, tail.open, tail.high, tail.low, tail.close, tail.volume)


def full_size(data: MarketData) -> MarketData:
    candles = dict(data.candles)
    candles[Timeframe.D1] = daily_stand_in(candles[Timeframe.H4], data.at_ms // DAY_MS * DAY_MS)
    return replace(data, candles=candles)


def ta_all(candles: Mapping[Timeframe, Candles]) -> None:
    """Every indicator through `ta` on every bar (ATR included), as TA-Lib does below."""
    for c in candles.values():
        for window in indicators.RSI_WINDOWS:
            indicators.rsi(c.close, window)
        indicators.macd(c.close)
        for window in indicators.EMA_WINDOWS:
            indicators.ema(c.close, window)
        indicators.atr(c.high, c.low, c.close)
        indicators.obv(c.close, c.volume)


def talib_all(candles: Mapping[Timeframe, Candles]) -> None:
    import talib

    for c in candles.values():
        for window in indicators.RSI_WINDOWS:
            talib.RSI(c.close, window)
        talib.MACD(c.close, 12, 26, 9)
        for window in indicators.EMA_WINDOWS:
            talib.EMA(c.close, window)
        talib.ATR(c.high, c.low, c.close, 14)
        talib.OBV(c.close, c.volume)


def help_row() -> str:
    swarm = ROOT / ".venv" / "bin" / "swarm"
    if not swarm.exists():
        return f"| `swarm --help` wall time | - | - | 0 | skipped: {swarm} does not exist yet |"
    times = []
    for _ in range(HELP_RUNS):
        start = time.perf_counter()
        subprocess.run([str(swarm), "--help"], check=True, capture_output=True)
        times.append(1e3 * (time.perf_counter() - start))
    return row("`swarm --help` wall time (subprocess)", times, "includes interpreter start-up")


def main(runs: int) -> None:
    replay = ReplaySource(default_data_dir()).snapshot("BTC", AT_MS)
    data = full_size(replay)
    bars = ", ".join(f"{tf.value} {len(c)}" for tf, c in data.candles.items())
    cpu = platform.processor() or platform.machine()
    print(f"machine: {platform.platform()}, {cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print("data: bundled BTC (binance-usdm) at 2026-03-14T16:00Z, candles in memory\n")
    print("| measure | median ms | p95 ms | runs | note |")
    print("|---|---|---|---|---|")
    print(
        row(
            "build_market_state, 4 timeframes x 1,500 bars",
            timings_ms(runs, lambda: build_market_state(data)),
            bars,
        )
    )
    replay_bars = ", ".join(f"{tf.value} {len(c)}" for tf, c in replay.candles.items())
    print(
        row(
            "build_market_state, replay as served",
            timings_ms(runs, lambda: build_market_state(replay)),
            replay_bars,
        )
    )
    ta_ms = timings_ms(runs, lambda: ta_all(data.candles))
    talib_ms = timings_ms(runs, lambda: talib_all(data.candles))
    same = "RSI 14/21, MACD, EMA 9/21/50/200, ATR 14, OBV on all bars of the 4 timeframes"
    print(row("indicators with `ta`", ta_ms, same))
    print(row("indicators with TA-Lib", talib_ms, same))
    ratio = statistics.median(ta_ms) / statistics.median(talib_ms)
    note = f"medians; the build gives `ta`'s ATR only its last {indicators.WILDER_WARMUP_BARS} bars"
    print(f"| `ta` / TA-Lib time ratio | {ratio:.0f}x | | | {note} |")
    print(help_row())


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
