"""Resample candles to a coarser timeframe, the way exchanges build their own higher timeframes.

Buckets are aligned to UTC epoch multiples of the target interval (4h buckets open at 00, 04, ...,
20 UTC; 1d at 00:00 UTC). A bucket's open is its first bar's open, high the max, low the min,
close the last bar's close and volume the sum. Only complete buckets are emitted: a bucket still
forming (or one whose first bars predate the data) never appears, so a resampled candle closes
exactly when its last constituent bar closes and point in time is kept.
"""

from __future__ import annotations

from feeds.errors import BadDataError
from feeds.types import Candles, FloatArray, Timeframe


def resample(candles: Candles, target: Timeframe) -> Candles:
    """Aggregate `candles` into the complete `target` buckets they contain.

    Relies on the `Candles` invariant (ascending and contiguous, checked by `Candles.build`):
    with no gaps, only the first and the last bucket can be incomplete, so the complete ones are
    one reshape away and no per-bucket bookkeeping is needed.
    """
    step, width = candles.timeframe.ms, target.ms
    if width < step or width % step:
        raise ValueError(f"cannot resample {candles.timeframe.value} candles to {target.value}")
    if width == step:
        return candles
    n = len(candles)
    if n == 0:
        return Candles.empty(target)
    first_open = int(candles.ts_ms[0])
    if first_open % step:
        raise BadDataError(
            f"{candles.timeframe.value} candles open at {first_open}, not on a {candles.timeframe.value}"
            " boundary: they cannot be bucketed"
        )
    per_bucket = width // step
    # Bars before the first bucket boundary belong to a bucket that started before the data.
    skip = ((-first_open) % width) // step
    buckets = max(0, (n - skip) // per_bucket)
    stop = skip + buckets * per_bucket

    def blocks(column: FloatArray) -> FloatArray:
        return column[skip:stop].reshape(buckets, per_bucket)

    return Candles.build(
        target,
        candles.ts_ms[skip:stop:per_bucket],
        candles.open[skip:stop:per_bucket],
        blocks(candles.high).max(axis=1),
        blocks(candles.low).min(axis=1),
        candles.close[skip + per_bucket - 1 : stop : per_bucket],
        blocks(candles.volume).sum(axis=1),
        what=f"{target.value} candles resampled from {candles.timeframe.value}",
    )
