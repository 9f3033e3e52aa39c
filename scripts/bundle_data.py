"""Cut the project's bundled replay slice out of ../shared/data (run by hand; output is committed).

Usage: .venv/bin/python scripts/bundle_data.py [SHARED_DATA_DIR]

Keeps the layout of the shared data (see feeds/data/README.md) and gzips every file. The windows
leave room for indicator warm-up before the replay window 2025-08-17 -> 2026-05-16.
"""

from __future__ import annotations

import gzip
import sys
from datetime import UTC, datetime
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "feeds" / "data"


def _ms(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp() * 1000)


# (relative path, first day kept, end day exclusive)
SLICES = [
    ("candles/binance-usdm/BTC-15m.csv", "2025-08-17", "2026-05-18"),
    ("candles/binance-usdm/ETH-15m.csv", "2025-08-17", "2026-05-18"),
    ("candles/binance-usdm/BTC-1h.csv", "2025-04-01", "2026-05-18"),
    ("candles/binance-usdm/ETH-1h.csv", "2025-04-01", "2026-05-18"),
    ("candles/binance-usdm/SOL-1h.csv", "2025-04-01", "2026-05-18"),
    ("candles/binance-usdm/BTC-4h.csv", "2024-08-01", "2026-05-18"),
    ("candles/binance-usdm/ETH-4h.csv", "2024-08-01", "2026-05-18"),
    ("candles/binance-usdm/SOL-4h.csv", "2024-08-01", "2026-05-18"),
    ("funding/binance-usdm/BTC.csv", "2024-08-01", "2026-05-18"),
    ("funding/binance-usdm/ETH.csv", "2024-08-01", "2026-05-18"),
    ("funding/binance-usdm/SOL.csv", "2024-08-01", "2026-05-18"),
    ("open-interest/binance-usdm/BTC-1h.csv", "2024-08-01", "2026-05-18"),
]


def cut(shared: Path, rel: str, first: str, end: str) -> int:
    lo, hi = _ms(first), _ms(end)
    lines = (shared / rel).read_text().splitlines()
    kept = [lines[0]] + [ln for ln in lines[1:] if lo <= int(ln.split(",", 1)[0]) < hi]
    target = OUT / (rel + ".gz")
    target.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0 keeps the archive byte-identical between runs.
    with gzip.GzipFile(target, "wb", mtime=0) as fh:
        fh.write(("\n".join(kept) + "\n").encode())
    return len(kept) - 1


def main() -> None:
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared/data"
    for rel, first, end in SLICES:
        rows = cut(shared, rel, first, end)
        print(f"{rel:45s} {rows:7d} rows  {(OUT / (rel + '.gz')).stat().st_size / 1024:7.0f} KiB")


if __name__ == "__main__":
    main()
