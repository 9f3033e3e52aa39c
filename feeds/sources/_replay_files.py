"""Finding and parsing the files of a replay data dir (layout in feeds/data/README.md).

Every file is CSV with a header row, plain (`.csv`) or gzipped (`.csv.gz`); times are UTC epoch
milliseconds. Errors name the file, so a bad row can be found and fixed.
"""

from __future__ import annotations

import gzip
import io
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np

from feeds.errors import BadDataError, BadRequestError, InvalidPriceError, OrderingError
from feeds.types import HISTORY_BARS, Candles, FloatArray, FundingRate, IntArray, OpenInterest, Timeframe

CANDLE_COLUMNS = ("ts_ms", "open", "high", "low", "close", "volume")
FUNDING_COLUMNS = ("ts_ms", "rate", "interval_h")
OPEN_INTEREST_COLUMNS = ("ts_ms", "open_interest", "open_interest_usd")

# Open-interest files hold hourly snapshots: {SYM}-1h.csv.
OPEN_INTEREST_INTERVAL_MS = Timeframe.H1.ms
_CANDLE_STEM = re.compile(r"^(?P<symbol>.+)-(?P<tf>15m|1h|4h|1d)$")
_SUFFIXES = (".csv.gz", ".csv")

T = TypeVar("T")


@dataclass(frozen=True)
class SymbolFiles:
    """The files one symbol has; a kind of data the dir lacks is absent or None."""

    candles: Mapping[Timeframe, Path]
    funding: Path | None
    open_interest: Path | None


@dataclass(frozen=True)
class Prints(Generic[T]):
    """Ascending timestamped prints (funding or open interest), ready to be sliced per snapshot."""

    what: str
    ts_ms: IntArray
    items: tuple[T, ...]
    # How long each print stays current: two of its intervals, the staleness rule of candles.
    fresh_ms: IntArray

    @classmethod
    def empty(cls, what: str) -> Prints[T]:
        none = np.empty(0, dtype=np.int64)
        return cls(what, none, (), none)

    def known_at(self, at_ms: int) -> tuple[tuple[T, ...], str | None]:
        """Up to HISTORY_BARS prints stamped at or before `at_ms`, or none and why if stale."""
        end = int(np.searchsorted(self.ts_ms, at_ms, side="right"))
        if end == 0:
            return (), None
        latest = int(self.ts_ms[end - 1])
        if at_ms - latest > int(self.fresh_ms[end - 1]):
            return (), f"{self.what}: latest print ({iso(latest)}) is older than two intervals, omitted"
        return self.items[max(0, end - HISTORY_BARS) : end], None


def index_files(data_dir: Path, venue: str) -> dict[str, SymbolFiles]:
    """Map each symbol that has candle files under `data_dir` to its files."""
    if not data_dir.is_dir():
        raise BadRequestError(f"replay data dir {data_dir} does not exist or is not a directory")
    candle_dir = data_dir / "candles" / venue
    if not candle_dir.is_dir():
        venues = sorted(p.name for p in _listdir(data_dir / "candles") if p.is_dir())
        raise BadRequestError(
            f"replay data dir {data_dir} has no candles/{venue} (venues there: {', '.join(venues) or 'none'})"
        )
    candles: dict[str, dict[Timeframe, Path]] = {}
    for stem, path in _csv_files(candle_dir).items():
        match = _CANDLE_STEM.match(stem)
        if match:  # other granularities (5m, 1w, ...) are not used by a MarketState
            candles.setdefault(match["symbol"], {})[Timeframe(match["tf"])] = path
    funding = _csv_files(data_dir / "funding" / venue)
    open_interest = _csv_files(data_dir / "open-interest" / venue)
    return {
        symbol: SymbolFiles(tfs, funding.get(symbol), open_interest.get(f"{symbol}-1h"))
        for symbol, tfs in candles.items()
    }


def read_candles(path: Path, timeframe: Timeframe) -> Candles:
    """Candles of one file, validated by `Candles.build` (errors name the file)."""
    table = read_table(path, CANDLE_COLUMNS)
    ts = _timestamps(table, path)
    return Candles.build(timeframe, ts, *(table[:, i] for i in range(1, 6)), what=str(path))


def read_funding(path: Path) -> Prints[FundingRate]:
    """Funding prints, each rate divided by its interval to give a rate per hour."""
    table = read_table(path, FUNDING_COLUMNS)
    ts = _timestamps(table, path)
    rate, interval_h = table[:, 1], table[:, 2]
    _require(path, ts, np.isfinite(rate), "rate", "a finite number")
    _require(path, ts, np.isfinite(interval_h) & (interval_h > 0), "interval_h", "a positive number")
    per_hour = rate / interval_h
    items = tuple(FundingRate(int(t), float(r)) for t, r in zip(ts, per_hour, strict=True))
    fresh = np.rint(2 * interval_h * Timeframe.H1.ms).astype(np.int64)
    return Prints("funding", ts, items, fresh)


def read_open_interest(path: Path) -> Prints[OpenInterest]:
    """Open-interest snapshots in base units and USD."""
    table = read_table(path, OPEN_INTEREST_COLUMNS)
    ts = _timestamps(table, path)
    base, usd = table[:, 1], table[:, 2]
    for name, column in (("open_interest", base), ("open_interest_usd", usd)):
        _require(path, ts, np.isfinite(column) & (column >= 0), name, "a non-negative number")
    items = tuple(OpenInterest(int(t), float(b), float(u)) for t, b, u in zip(ts, base, usd, strict=True))
    fresh = np.full(len(ts), 2 * OPEN_INTEREST_INTERVAL_MS, dtype=np.int64)
    return Prints("open interest", ts, items, fresh)


def read_table(path: Path, columns: tuple[str, ...]) -> FloatArray:
    """The numeric rows of a CSV file whose header must be exactly `columns`."""
    try:
        text = _read_text(path)
    except (OSError, EOFError, UnicodeDecodeError, zlib.error) as err:
        raise BadDataError(f"{path}: cannot be read ({_one_line(err)})") from None
    header, _, body = text.partition("\n")
    found = tuple(name.strip() for name in header.split(","))
    if found != columns:
        raise BadDataError(f"{path}: columns are {','.join(found)!r}, expected {','.join(columns)!r}")
    if not body.strip():  # np.loadtxt would warn on an empty body
        return np.empty((0, len(columns)), dtype=np.float64)
    try:
        table = np.loadtxt(io.StringIO(body), delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError as err:
        raise BadDataError(f"{path}: {_one_line(err)}") from None
    if table.shape[1] != len(columns):
        raise BadDataError(f"{path}: rows have {table.shape[1]} fields, expected {len(columns)}")
    return table


def iso(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _read_text(path: Path) -> str:
    if path.name.endswith(".gz"):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return fh.read()
    return path.read_text(encoding="utf-8")


def _timestamps(table: FloatArray, path: Path) -> IntArray:
    ts = table[:, 0]
    # float64 holds epoch milliseconds exactly (< 2**53); anything fractional is not a timestamp.
    if not (np.isfinite(ts) & (ts == np.floor(ts))).all():
        raise BadDataError(f"{path}: ts_ms holds a value that is not an integer")
    ints = ts.astype(np.int64)
    steps = np.diff(ints)
    if (steps <= 0).any():
        i = int(np.argmax(steps <= 0))
        kind = "duplicated" if steps[i] == 0 else "out of order"
        raise OrderingError(f"{path}: row at {iso(int(ints[i + 1]))} is {kind}")
    return ints


def _require(path: Path, ts: IntArray, ok: np.ndarray, name: str, expected: str) -> None:
    if not ok.all():
        i = int(np.argmax(~ok))
        raise InvalidPriceError(f"{path}: {name} at {iso(int(ts[i]))} is not {expected}")


def _csv_files(folder: Path) -> dict[str, Path]:
    """Data files of a folder by stem (name without .csv / .csv.gz); an absent folder has none."""
    found: dict[str, Path] = {}
    for path in _listdir(folder):
        suffix = next((s for s in _SUFFIXES if path.name.endswith(s)), None)
        if suffix is None or not path.is_file():
            continue
        stem = path.name.removesuffix(suffix)
        if stem in found:
            raise BadDataError(f"both {found[stem]} and {path} exist: keep one of them")
        found[stem] = path
    return found


def _listdir(folder: Path) -> list[Path]:
    if not folder.exists():
        return []
    try:
        return sorted(folder.iterdir())
    except OSError as err:
        raise BadRequestError(f"replay data dir {folder} cannot be read ({_one_line(err)})") from None


def _one_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
