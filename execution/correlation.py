"""Return correlation between two markets, for the risk engine's correlation rule."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from execution.types import PriceHistory, RiskLimits
from feeds.types import FloatArray


def return_correlation(
    closes_a: Sequence[float] | FloatArray, closes_b: Sequence[float] | FloatArray
) -> float | None:
    """Pearson correlation of the log returns of two aligned close series, in [-1, 1].

    None when it is undefined: a series whose returns do not vary. Raises ValueError on series of
    different lengths, fewer than three closes, or a close that is not a positive number.
    """
    a, b = _closes(closes_a), _closes(closes_b)
    if len(a) != len(b):
        raise ValueError(f"close series differ in length: {len(a)} and {len(b)}")
    ra, rb = np.diff(np.log(a)), np.diff(np.log(b))
    da, db = ra - ra.mean(), rb - rb.mean()
    # Computed by hand, not np.corrcoef: a flat series must give None, not a RuntimeWarning and NaN.
    norm = math.sqrt(float(da @ da) * float(db @ db))
    if norm == 0.0:
        return None
    return max(-1.0, min(1.0, float(da @ db) / norm))


def history_correlation(a: PriceHistory | None, b: PriceHistory | None, limits: RiskLimits) -> float | None:
    """Return correlation over the limits' window; None when the histories cannot be compared.

    Comparable means: both present, same interval, same last close time, and at least
    `correlation_min_returns` returns in common within `correlation_window_ms`.
    """
    if a is None or b is None or a.interval_ms != b.interval_ms or a.end_ms != b.end_ms:
        return None
    closes = min(len(a.closes), len(b.closes), limits.correlation_window_ms // a.interval_ms + 1)
    if closes - 1 < limits.correlation_min_returns:
        return None
    return return_correlation(a.closes[-closes:], b.closes[-closes:])


def _closes(values: Sequence[float] | FloatArray) -> FloatArray:
    closes = np.asarray(values, dtype=np.float64)
    if closes.ndim != 1 or len(closes) < 3:
        raise ValueError("a return correlation needs at least three closes")
    if not np.all(np.isfinite(closes)) or np.any(closes <= 0):
        raise ValueError("closes must be positive finite numbers")
    return closes
