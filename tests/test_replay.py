"""ReplaySource on real data: a snapshot at `at_ms` holds exactly what was known at `at_ms`."""

from __future__ import annotations

import gzip
import shutil
from datetime import UTC, datetime
from pathlib import Path

import anyio
import numpy as np
import pytest

from feeds.sources.base import Source
from feeds.sources.replay import ReplaySource, default_data_dir
from feeds.types import HISTORY_BARS, HOUR_MS, Candles, FundingRate, MarketData, OpenInterest, Timeframe
from tests.replay_data import load_candles, load_rows

BUNDLED = default_data_dir()
CANDLE_DIR = BUNDLED / "candles" / "binance-usdm"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.fixture(scope="module")
def bundled() -> ReplaySource:
    return ReplaySource(BUNDLED)


@pytest.fixture(scope="module")
def raw() -> dict[str, Candles]:
    """BTC candle files read as they are, to check snapshots against."""
    return {tf: load_candles(CANDLE_DIR / f"BTC-{tf}.csv.gz", Timeframe(tf)) for tf in ("15m", "1h", "4h")}


def reference_candle(raw: dict[str, Candles], tf: Timeframe, open_ms: int) -> tuple[float, ...]:
    """The candle opening at `open_ms` from its own file, else aggregated from a finer file."""
    for name in (tf.value, "1h", "15m"):
        candles = raw.get(name)
        if candles is None or Timeframe(name).ms > tf.ms:
            continue
        inside = (candles.ts_ms >= open_ms) & (candles.ts_ms < open_ms + tf.ms)
        if inside.sum() == tf.ms // candles.timeframe.ms:
            i = np.flatnonzero(inside)
            return (
                float(candles.open[i[0]]),
                float(candles.high[i].max()),
                float(candles.low[i].min()),
                float(candles.close[i[-1]]),
            )
    raise AssertionError(f"no file covers the {tf.value} candle at {open_ms}")


def first_open(raw: dict[str, Candles], tf: Timeframe) -> int:
    if tf is Timeframe.D1:  # no 1d file: the first whole day of the 4h file
        start = int(raw["4h"].ts_ms[0])
        return -(-start // tf.ms) * tf.ms
    return int(raw[tf.value].ts_ms[0])


def test_random_snapshots_hold_exactly_the_candles_closed_by_then(
    bundled: ReplaySource, raw: dict[str, Candles]
) -> None:
    rng = np.random.default_rng(20260517)
    start, end = int(raw["15m"].ts_ms[0]) + Timeframe.M15.ms, bundled.coverage("BTC")[1]
    for at_ms in rng.integers(start, end + 1, 200).tolist():
        data = bundled.snapshot("BTC", at_ms)
        assert set(data.candles) == set(Timeframe)
        for tf, candles in data.candles.items():
            last_open = at_ms // tf.ms * tf.ms - tf.ms  # the newest candle that has closed
            assert candles.close_ms.max() <= at_ms
            assert int(candles.ts_ms[-1]) == last_open, (tf, at_ms)
            assert len(candles) == min(HISTORY_BARS, (last_open - first_open(raw, tf)) // tf.ms + 1)
            last = (candles.open[-1], candles.high[-1], candles.low[-1], candles.close[-1])
            assert last == reference_candle(raw, tf, last_open), (tf, at_ms)


def test_random_snapshots_hold_the_funding_printed_by_then(bundled: ReplaySource) -> None:
    table = load_rows(BUNDLED / "funding" / "binance-usdm" / "BTC.csv.gz")
    ts = table[:, 0].astype(np.int64)
    rng = np.random.default_rng(8)
    first, last = bundled.coverage("BTC")
    for at_ms in rng.integers(first, last + 1, 200).tolist():
        funding = bundled.snapshot("BTC", at_ms).funding
        known = int(np.searchsorted(ts, at_ms, side="right"))
        assert [f.ts_ms for f in funding] == ts[max(0, known - HISTORY_BARS) : known].tolist()
        assert funding[-1] == FundingRate(int(ts[known - 1]), table[known - 1, 1] / table[known - 1, 2])


def test_open_interest_is_given_while_prints_are_fresh_and_never_from_the_future(
    bundled: ReplaySource,
) -> None:
    table = load_rows(BUNDLED / "open-interest" / "binance-usdm" / "BTC-1h.csv.gz")
    ts = table[:, 0].astype(np.int64)
    rng = np.random.default_rng(9)
    for at_ms in rng.integers(int(ts[0]), int(ts[-1]) + 2 * HOUR_MS + 1, 100).tolist():
        data = bundled.snapshot("BTC", at_ms)
        known = int(np.searchsorted(ts, at_ms, side="right"))
        assert [p.ts_ms for p in data.open_interest] == ts[:known].tolist()
        assert data.open_interest[-1] == OpenInterest(int(ts[known - 1]), *table[known - 1, 1:])
    before = bundled.snapshot("BTC", int(ts[0]) - 1)
    assert before.open_interest == ()
    after = bundled.snapshot("BTC", int(ts[-1]) + 2 * HOUR_MS + 1)
    assert after.open_interest == ()
    assert any(note.startswith("open interest:") for note in after.notes)


@pytest.mark.parametrize("tf", list(Timeframe))
def test_a_candle_is_known_from_its_close_time_exactly(bundled: ReplaySource, tf: Timeframe) -> None:
    close_ms = ms("2026-05-12T00:00:00")
    at_close = bundled.snapshot("BTC", close_ms).candles[tf]
    just_before = bundled.snapshot("BTC", close_ms - 1).candles[tf]
    assert int(at_close.close_ms[-1]) == close_ms
    assert int(just_before.close_ms[-1]) == close_ms - tf.ms


def test_4h_resampled_from_1h_does_not_show_a_forming_bucket(bundled: ReplaySource) -> None:
    # The 4h file ends 2026-05-06: this 4h candle can only come from 1h.
    day = ms("2026-05-10T00:00:00")
    at_0559 = bundled.snapshot("BTC", day + 5 * HOUR_MS + 59 * 60_000).candles[Timeframe.H4]
    assert int(at_0559.ts_ms[-1]) == day  # 00:00-04:00, not 04:00-08:00
    at_0800 = bundled.snapshot("BTC", day + 8 * HOUR_MS).candles
    hours = at_0800[Timeframe.H1].tail(4)
    assert int(at_0800[Timeframe.H4].ts_ms[-1]) == int(hours.ts_ms[0]) == day + 4 * HOUR_MS
    assert at_0800[Timeframe.H4].high[-1] == hours.high.max()


def copy_btc(src: Path, dst: Path) -> Path:
    """BTC 1h, 4h and funding as plain CSV (no 15m: 1h is then the finest timeframe)."""
    for rel in (
        "candles/binance-usdm/BTC-1h.csv",
        "candles/binance-usdm/BTC-4h.csv",
        "funding/binance-usdm/BTC.csv",
    ):
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(src / f"{rel}.gz", "rb") as fh, (dst / rel).open("wb") as out:
            shutil.copyfileobj(fh, out)
    return dst


def plant(path: Path, ts_ms: int, change: dict[int, str]) -> None:
    """Rewrite the fields of the row stamped `ts_ms` (column index -> new text)."""
    lines = path.read_text().splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith(f"{ts_ms},"))
    fields = lines[i].split(",")
    for column, text in change.items():
        fields[column] = text
    lines[i] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")


def same_data(a: MarketData, b: MarketData) -> bool:
    if a.candles.keys() != b.candles.keys() or a.funding != b.funding:
        return False
    for tf, x in a.candles.items():
        y = b.candles[tf]
        columns = ("ts_ms", "open", "high", "low", "close", "volume")
        if not all(np.array_equal(getattr(x, c), getattr(y, c)) for c in columns):
            return False
    return True


def test_a_row_planted_in_the_future_changes_nothing_before_its_time(tmp_path: Path) -> None:
    clean = ReplaySource(copy_btc(BUNDLED, tmp_path / "clean"))
    planted_dir = copy_btc(BUNDLED, tmp_path / "planted")
    hour = ms("2026-05-10T05:00:00")  # inside the 04-08 4h bucket, after the 4h file ends
    plant(planted_dir / "candles/binance-usdm/BTC-1h.csv", hour, {2: "999999.0"})
    plant(planted_dir / "funding/binance-usdm/BTC.csv", hour + 3 * HOUR_MS, {1: "0.05"})
    planted = ReplaySource(planted_dir)
    for at_ms in range(hour - 3 * 24 * HOUR_MS, hour + HOUR_MS, 15 * 60_000):
        assert same_data(clean.snapshot("BTC", at_ms), planted.snapshot("BTC", at_ms)), at_ms
    # ...and each timeframe sees it from the moment its candle holding the row has closed.
    for tf, seen_from in [(Timeframe.H1, hour + HOUR_MS), (Timeframe.H4, hour + 3 * HOUR_MS)]:
        assert planted.snapshot("BTC", seen_from - 1).candles[tf].high.max() < 999_999
        assert planted.snapshot("BTC", seen_from).candles[tf].high[-1] == 999_999
    day_end = ms("2026-05-11T00:00:00")
    assert planted.snapshot("BTC", day_end - 1).candles[Timeframe.D1].high.max() < 999_999
    assert planted.snapshot("BTC", day_end).candles[Timeframe.D1].high[-1] == 999_999
    assert planted.snapshot("BTC", hour + 3 * HOUR_MS).funding[-1].rate_per_hour == 0.05 / 8


def test_market_data_is_the_async_face_of_snapshot(bundled: ReplaySource) -> None:
    at_ms = ms("2026-01-15T10:20:00")
    data = anyio.run(bundled.market_data, "BTC", at_ms)
    assert isinstance(bundled, Source)
    assert (data.source, bundled.venue) == ("replay", "binance-usdm")
    assert (data.symbol, data.at_ms, data.book, data.mark_price) == ("BTC", at_ms, None, None)
    assert same_data(data, bundled.snapshot("BTC", at_ms))


def test_bundled_data_covers_its_documented_window(bundled: ReplaySource) -> None:
    assert bundled.symbols() == ["BTC", "ETH", "SOL"]
    assert bundled.coverage("BTC") == (ms("2024-08-01T04:00:00"), ms("2026-05-17T09:00:00"))
    sol = bundled.snapshot("SOL", ms("2026-05-16T00:00:00"))
    assert Timeframe.M15 not in sol.candles  # SOL has no 15m file and nothing finer
    assert {Timeframe.H1, Timeframe.H4, Timeframe.D1} <= set(sol.candles)


@pytest.mark.skipif(not SHARED.is_dir(), reason="the team's shared data set is not on this machine")
def test_the_shared_data_set_layout_replays_too() -> None:
    shared = ReplaySource(SHARED)
    assert {"BTC", "ETH", "SOL", "XRP", "DOGE"} <= set(shared.symbols())
    sol_1d = load_candles(SHARED / "candles/binance-usdm/SOL-1d.csv", Timeframe.D1)
    inside = shared.snapshot("SOL", ms("2025-06-01T00:00:00")).candles[Timeframe.D1]
    assert int(inside.ts_ms[-1]) == ms("2025-05-31T00:00:00")
    assert inside.close[-1] == sol_1d.close[sol_1d.ts_ms == inside.ts_ms[-1]][0]
    # The 1d file ends 2025-12-11; later days are resampled from 4h (itself extended by 1h).
    later = shared.snapshot("SOL", ms("2026-05-16T00:00:00")).candles[Timeframe.D1]
    assert int(later.ts_ms[-1]) == ms("2026-05-15T00:00:00")
    assert np.all(np.diff(later.ts_ms) == Timeframe.D1.ms)
    hyperliquid = ReplaySource(SHARED, venue="hyperliquid")
    btc = hyperliquid.snapshot("BTC", hyperliquid.coverage("BTC")[1])
    assert (btc.source, hyperliquid.venue) == ("replay", "hyperliquid")
    assert Timeframe.H1 in btc.candles
    assert btc.funding  # hourly prints, stamped a few ms after the hour
    assert btc.funding[-1].ts_ms <= btc.at_ms
