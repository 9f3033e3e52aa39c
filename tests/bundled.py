"""Real candles, funding and open interest from the bundled replay slice (feeds/data), for tests
and benchmarks. Read straight from the CSV files so these tests do not depend on the replay source.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from feeds.types import Candles, FundingRate, OpenInterest, Timeframe

DATA = Path(__file__).resolve().parents[1] / "feeds" / "data"
EXCHANGE = "binance-usdm"


@cache
def candles(symbol: str, timeframe: Timeframe) -> Candles:
    """The whole bundled candle file of `symbol` at `timeframe`."""
    df = pd.read_csv(DATA / "candles" / EXCHANGE / f"{symbol}-{timeframe.value}.csv.gz")
    columns = [df[name].to_numpy() for name in ("open", "high", "low", "close", "volume")]
    return Candles.build(
        timeframe, df["ts_ms"].to_numpy(np.int64), *columns, what=f"{symbol}-{timeframe.value}"
    )


@cache
def funding(symbol: str) -> tuple[FundingRate, ...]:
    """Funding prints, the rate per funding interval converted to a rate per hour."""
    df = pd.read_csv(DATA / "funding" / EXCHANGE / f"{symbol}.csv.gz")
    rows = zip(df["ts_ms"], df["rate"], df["interval_h"], strict=True)
    return tuple(FundingRate(int(ts), float(rate) / float(hours)) for ts, rate, hours in rows)


@cache
def open_interest(symbol: str) -> tuple[OpenInterest, ...]:
    df = pd.read_csv(DATA / "open-interest" / EXCHANGE / f"{symbol}-1h.csv.gz")
    rows = zip(df["ts_ms"], df["open_interest"], df["open_interest_usd"], strict=True)
    return tuple(OpenInterest(int(ts), float(base), float(usd)) for ts, base, usd in rows)
