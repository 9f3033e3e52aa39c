"""ReplaySource on small hand-written data dirs: file formats, timeframes built, and every error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from feeds.errors import (
    BadDataError,
    BadRequestError,
    GapError,
    InvalidPriceError,
    OrderingError,
    OutOfRangeError,
    UnknownSymbolError,
)
from feeds.sources.replay import ReplaySource, default_data_dir
from feeds.types import DAY_MS, HOUR_MS, FundingRate, OpenInterest, Timeframe
from tests.replay_data import (
    CANDLE_HEADER,
    DAY0,
    FUNDING_HEADER,
    OI_HEADER,
    VENUE,
    candle_path,
    candle_rows,
    write_csv,
    write_small_dir,
)

END_1H = DAY0 + 48 * HOUR_MS  # close of the last 1h candle of write_small_dir


def test_plain_and_gzipped_files_give_the_same_snapshots(tmp_path: Path) -> None:
    plain = ReplaySource(write_small_dir(tmp_path / "plain", ".csv"))
    gzipped = ReplaySource(write_small_dir(tmp_path / "gz", ".csv.gz"))
    for at_ms in range(DAY0 + HOUR_MS, END_1H + 1, 5 * HOUR_MS + 7):
        a, b = plain.snapshot("XYZ", at_ms), gzipped.snapshot("XYZ", at_ms)
        assert a.candles.keys() == b.candles.keys()
        for tf, candles in a.candles.items():
            assert np.array_equal(candles.close, b.candles[tf].close)
            assert np.array_equal(candles.ts_ms, b.candles[tf].ts_ms)
        assert (a.funding, a.open_interest) == (b.funding, b.open_interest)


def test_small_dir_snapshot_in_full(tmp_path: Path) -> None:
    source = ReplaySource(write_small_dir(tmp_path))
    data = source.snapshot("XYZ", DAY0 + 10 * HOUR_MS + 30 * 60_000)
    assert set(data.candles) == {Timeframe.H1, Timeframe.H4}  # no 15m file; no whole day yet
    assert data.candles[Timeframe.H1].ts_ms.tolist() == [DAY0 + i * HOUR_MS for i in range(10)]
    four_h = data.candles[Timeframe.H4]
    assert four_h.ts_ms.tolist() == [DAY0, DAY0 + 4 * HOUR_MS]
    assert (four_h.open[1], four_h.high[1], four_h.low[1], four_h.close[1]) == (104, 108.5, 103.5, 107.5)
    assert data.funding == (FundingRate(DAY0, -0.00005), FundingRate(DAY0 + 8 * HOUR_MS, 0.0001))
    assert data.open_interest[-1] == OpenInterest(DAY0 + 10 * HOUR_MS, 1010, 101_000)
    assert len(data.open_interest) == 11
    assert data.notes == ()
    day_later = source.snapshot("XYZ", DAY0 + DAY_MS)
    assert day_later.candles[Timeframe.D1].ts_ms.tolist() == [DAY0]


def test_symbols_and_coverage(tmp_path: Path) -> None:
    write_small_dir(tmp_path)
    write_small_dir(tmp_path, symbol="ABC")
    source = ReplaySource(tmp_path)
    assert source.symbols() == ["ABC", "XYZ"]
    assert source.coverage("XYZ") == (DAY0 + HOUR_MS, END_1H)


def test_snapshots_run_from_the_first_close_to_two_intervals_after_the_last(tmp_path: Path) -> None:
    source = ReplaySource(write_small_dir(tmp_path))
    assert len(source.snapshot("XYZ", DAY0 + HOUR_MS).candles[Timeframe.H1]) == 1
    assert source.snapshot("XYZ", END_1H + 2 * HOUR_MS).candles[Timeframe.H1].ts_ms[-1] == END_1H - HOUR_MS
    for at_ms in (DAY0 + HOUR_MS - 1, END_1H + 2 * HOUR_MS + 1):
        with pytest.raises(OutOfRangeError, match=r"covers 2026-01-01T01:00:00Z -> 2026-01-03T00:00:00Z"):
            source.snapshot("XYZ", at_ms)


def test_unknown_symbol_lists_the_available_ones(tmp_path: Path) -> None:
    source = ReplaySource(write_small_dir(tmp_path))
    with pytest.raises(UnknownSymbolError, match=r"'DOGE'.*available: XYZ$"):
        source.snapshot("DOGE", DAY0 + DAY_MS)


def test_stale_parts_are_left_out_with_a_note(tmp_path: Path) -> None:
    # 1d runs ten days, 1h only the first two: later, 1h, funding and OI have ended.
    write_small_dir(tmp_path)
    write_csv(candle_path(tmp_path, "XYZ", Timeframe.D1), CANDLE_HEADER, candle_rows(Timeframe.D1, 10))
    data = ReplaySource(tmp_path).snapshot("XYZ", DAY0 + 9 * DAY_MS)
    assert set(data.candles) == {Timeframe.D1}  # 4h too: resampled from 1h, it ended with it
    assert (data.funding, data.open_interest) == ((), ())
    assert [note.split(":")[0] for note in data.notes] == [
        "1h candles",
        "4h candles",
        "funding",
        "open interest",
    ]


def test_a_file_without_rows_is_no_data(tmp_path: Path) -> None:
    write_small_dir(tmp_path)
    write_csv(candle_path(tmp_path, "XYZ", Timeframe.M15), CANDLE_HEADER, [])
    assert Timeframe.M15 not in ReplaySource(tmp_path).snapshot("XYZ", END_1H).candles
    write_csv(candle_path(tmp_path, "XYZ", Timeframe.H1), CANDLE_HEADER, [])
    with pytest.raises(BadDataError, match="XYZ: its candle files have no rows"):
        ReplaySource(tmp_path).coverage("XYZ")


def test_an_extension_that_leaves_a_gap_is_refused(tmp_path: Path) -> None:
    write_small_dir(tmp_path)  # 1h from day 0 to day 2
    write_csv(
        candle_path(tmp_path, "XYZ", Timeframe.H4), CANDLE_HEADER, candle_rows(Timeframe.H4, 3, DAY0 - DAY_MS)
    )
    with pytest.raises(GapError, match=r"4h file extended .* missing after .*XYZ-1h\.csv, .*XYZ-4h\.csv\)$"):
        ReplaySource(tmp_path).coverage("XYZ")


def _break(rows: list[list[object]], kind: str) -> list[list[object]]:
    if kind in ("nan", "zero", "negative"):
        rows[5][3] = {"nan": "NaN", "zero": 0, "negative": -1}[kind]
    elif kind == "duplicated":
        rows[5][0] = rows[4][0]
    elif kind == "out of order":
        rows[4], rows[5] = rows[5], rows[4]
    elif kind == "gap":
        del rows[5]
    return rows


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("nan", InvalidPriceError),
        ("zero", InvalidPriceError),
        ("negative", InvalidPriceError),
        ("duplicated", OrderingError),
        ("out of order", OrderingError),
        ("gap", GapError),
    ],
)
def test_bad_candle_rows_raise_naming_the_file(tmp_path: Path, kind: str, error: type[Exception]) -> None:
    path = write_csv(
        candle_path(tmp_path, "XYZ", Timeframe.H1, ".csv.gz"),
        CANDLE_HEADER,
        _break(candle_rows(Timeframe.H1, 9), kind),
    )
    source = ReplaySource(tmp_path)
    with pytest.raises(error, match=str(path)) as caught:
        source.snapshot("XYZ", DAY0 + 9 * HOUR_MS)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("folder", "name", "header", "rows", "error", "message"),
    [
        ("funding", "XYZ.csv", FUNDING_HEADER, [[DAY0, "nan", 8]], InvalidPriceError, "rate at 2026-01-01"),
        ("funding", "XYZ.csv", FUNDING_HEADER, [[DAY0, 0.0001, 0]], InvalidPriceError, "interval_h"),
        (
            "funding",
            "XYZ.csv",
            FUNDING_HEADER,
            [[DAY0, 0, 8], [DAY0 - 1, 0, 8]],
            OrderingError,
            "out of order",
        ),
        ("open-interest", "XYZ-1h.csv", OI_HEADER, [[DAY0, -5, 10]], InvalidPriceError, "open_interest at"),
        (
            "funding",
            "XYZ.csv",
            "ts_ms,rate",
            [[DAY0, 0.0001]],
            BadDataError,
            "expected 'ts_ms,rate,interval_h'",
        ),
        ("funding", "XYZ.csv", FUNDING_HEADER, [[DAY0, "abc", 8]], BadDataError, "could not convert"),
        ("funding", "XYZ.csv", FUNDING_HEADER, [[DAY0 + 0.5, 0, 8]], BadDataError, "not an integer"),
    ],
)
def test_bad_funding_and_open_interest_files_raise_naming_the_file(
    tmp_path: Path,
    folder: str,
    name: str,
    header: str,
    rows: list[list[object]],
    error: type[Exception],
    message: str,
) -> None:
    write_csv(candle_path(tmp_path, "XYZ", Timeframe.H1), CANDLE_HEADER, candle_rows(Timeframe.H1, 4))
    path = write_csv(tmp_path / folder / VENUE / name, header, rows)
    with pytest.raises(error, match=rf"^{path}: .*{message}"):
        ReplaySource(tmp_path).snapshot("XYZ", DAY0 + HOUR_MS)


def test_a_file_both_plain_and_gzipped_is_ambiguous(tmp_path: Path) -> None:
    write_small_dir(tmp_path, ".csv")
    write_small_dir(tmp_path, ".csv.gz")
    with pytest.raises(BadDataError, match=r"both .*XYZ-1h\.csv and .*XYZ-1h\.csv\.gz exist"):
        ReplaySource(tmp_path)


def test_a_missing_or_wrong_data_dir_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadRequestError, match="does not exist or is not a directory"):
        ReplaySource(tmp_path / "nowhere")
    (tmp_path / "file").write_text("")
    with pytest.raises(BadRequestError, match="does not exist or is not a directory"):
        ReplaySource(tmp_path / "file")
    write_small_dir(tmp_path)
    with pytest.raises(BadRequestError, match=r"has no candles/hyperliquid \(venues there: binance-usdm\)"):
        ReplaySource(tmp_path, venue="hyperliquid")


def test_default_data_dir_is_the_bundled_slice() -> None:
    assert (default_data_dir() / "candles" / VENUE / "BTC-1h.csv.gz").is_file()
    assert ReplaySource(default_data_dir()).symbols() == ["BTC", "ETH", "SOL"]
