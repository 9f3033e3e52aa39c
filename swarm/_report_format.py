"""Text of the report's numbers and times: one place, so every table and chart reads alike.

None (nothing to measure) prints as "—"; an infinite ratio (a profit factor without a loss)
as "∞". Times are UTC; a time before 1971 is an anonymized relative time (feeds.anonymize puts
states at 1970-01-01 + elapsed) and prints as elapsed time, "T+2d 05:00".
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Final

from feeds.types import DAY_MS, HOUR_MS

NONE: Final = "—"
_RELATIVE_BEFORE_MS: Final = 365 * DAY_MS  # 1971-01-01


def timestamp(ts_ms: int) -> str:
    """ "2026-01-15 12:00" (UTC), or "T+2d 05:00" for an anonymized relative time."""
    if 0 <= ts_ms < _RELATIVE_BEFORE_MS:
        days, rest = divmod(ts_ms, DAY_MS)
        return f"T+{days}d {rest // HOUR_MS:02d}:{rest % HOUR_MS // 60_000:02d}"
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def chart_time(ts_ms: int) -> str:
    """A chart's tick: the timestamp without the time when it is midnight ("2026-01-15")."""
    return timestamp(ts_ms).removesuffix(" 00:00")


def duration(ms: int) -> str:
    """A hold time or span: "2d 5h", "3h 15m", "45m"."""
    minutes = max(0, ms) // 60_000
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes}m" if hours else f"{minutes}m"


def money(value: float | None) -> str:
    """ "$12,345.67", "-$5.00"."""
    if value is None:
        return NONE
    sign = "-" if round(value, 2) < 0 else ""  # -0.001 shows as $0.00, not -$0.00
    return f"{sign}${abs(value):,.2f}"


def signed_money(value: float | None) -> str:
    """ "+$12.30", "-$5.00", "$0.00"."""
    if value is None:
        return NONE
    return ("+" if round(value, 2) > 0 else "") + money(value)


def pct(fraction: float | None) -> str:
    """A fraction as percent: 0.1234 -> "12.34 %"."""
    return NONE if fraction is None else f"{fraction * 100:.2f} %"


def signed_pct(fraction: float | None) -> str:
    """A fraction as signed percent: 0.05 -> "+5.00 %"."""
    return NONE if fraction is None else f"{fraction * 100:+.2f} %"


def number(value: float | None, digits: int = 2) -> str:
    """A ratio: "1.23", "∞" for infinity, "—" for None."""
    if value is None:
        return NONE
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value:,.{digits}f}"


def price(value: float) -> str:
    """A price with the digits that matter: 114,207.50 / 3.1416 / 0.00001234."""
    if abs(value) >= 1000:
        return f"{value:,.2f}"
    if abs(value) >= 1:
        return f"{value:.4f}"
    return f"{value:.6g}"
