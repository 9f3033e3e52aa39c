"""Small replay data dirs written by tests, in the layout of feeds/data/README.md."""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from feeds.types import HOUR_MS, Candles, Timeframe

DAY0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
VENUE = "binance-usdm"
CANDLE_HEADER = "ts_ms,open,high,low,close,volume"
FUNDING_HEADER = "ts_ms,rate,interval_h"
OI_HEADER = "ts_ms,open_interest,open_interest_usd"

Row = Sequence[object]


def write_csv(path: Path, header: str, rows: Iterable[Row]) -> Path:
    """Write a CSV file, gzipped when the name ends in .gz."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = header + "\n" + "".join(",".join(str(v) for v in row) + "\n" for row in rows)
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def candle_rows(tf: Timeframe, n: int, start_ms: int = DAY0) -> list[list[object]]:
    """`n` contiguous candles whose prices rise by one per bar (easy to recognise)."""
    return [[start_ms + i * tf.ms, 100 + i, 101.5 + i, 99.5 + i, 100.5 + i, 10 + i % 3] for i in range(n)]


def candle_path(root: Path, symbol: str, tf: Timeframe, ext: str = ".csv") -> Path:
    return root / "candles" / VENUE / f"{symbol}-{tf.value}{ext}"


def write_small_dir(root: Path, ext: str = ".csv", symbol: str = "XYZ") -> Path:
    """Two days of 1h candles, 8h funding over them, open interest for the first 12 hours."""
    write_csv(candle_path(root, symbol, Timeframe.H1, ext), CANDLE_HEADER, candle_rows(Timeframe.H1, 48))
    funding = [[DAY0 + i * 8 * HOUR_MS, 0.0008 if i % 2 else -0.0004, 8] for i in range(6)]
    write_csv(root / "funding" / VENUE / f"{symbol}{ext}", FUNDING_HEADER, funding)
    oi = [[DAY0 + i * HOUR_MS, 1000 + i, 100_000 + 100 * i] for i in range(12)]
    write_csv(root / "open-interest" / VENUE / f"{symbol}-1h{ext}", OI_HEADER, oi)
    return root


def load_rows(path: Path) -> np.ndarray:
    """A data file's rows as floats, read with numpy alone (independent of the replay parser)."""
    return np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)


def load_candles(path: Path, tf: Timeframe) -> Candles:
    rows = load_rows(path)
    ts, open_, high, low, close, volume = rows.T
    return Candles.build(tf, ts.astype(np.int64), open_, high, low, close, volume)
