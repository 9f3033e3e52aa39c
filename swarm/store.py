"""The store that swarm, consensus and execution record into: SQLite by default, or PostgreSQL.

    Store.open(path or URL) -> refuse non-SQLite files and newer schemas (before any write)
      -> WAL -> apply missing migration steps (swarm.store_schema) -> record / read / cache
      -> the track record (swarm.track_record: consensus votes, scores, weights, leaderboard)
      -> the trade journal (swarm.execution_store, swarm.risk_store: decisions, orders, fills,
         positions, closed trades, the risk state and the paper venue's state)

SQLite runs in WAL mode with synchronous=NORMAL (a crash may lose the last commits, never
consistency) and foreign keys on (a backtest's throwaway file: synchronous=OFF, see Store.open).
The same code runs on PostgreSQL (psycopg) when Settings.db is a postgresql:// URL, so that
several bots share one track record. Times are UTC epoch milliseconds.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, col, func, select

from consensus.decision import NO_CALL_REASONS, Usage
from swarm._sql import database_label, database_url, one_line, parse_url, sqlite_file, translated
from swarm.answer_rows import RecordedAnswer, answer_row, recorded_answer
from swarm.errors import StoreError
from swarm.execution_store import ExecutionStore
from swarm.members.base import Answer
from swarm.report_store import ReportStore
from swarm.store_schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    WRITE_LOCK_OPTION,
    AnswerRow,
    CachedResponseRow,
    migrate,
    read_version,
)
from swarm.timeutil import wall_clock_ms
from swarm.track_record import DueBallot, LeaderboardFacts, TrackRecordStore

DAY_MS = 86_400_000
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CONNECT_TIMEOUT_S = 10  # an unreachable server fails in seconds, not after the OS's minutes

Clock = Callable[[], int]

__all__ = [
    "SCHEMA_VERSION",
    "CachedResponse",
    "DailyCost",
    "DueBallot",
    "LeaderboardFacts",
    "RecordedAnswer",
    "Store",
    "StoreError",
    "cache_key",
    "database_label",
    "database_url",
    "sqlite_file",
]


# --- values handed out ---------------------------------------------------------------------


@dataclass(frozen=True)
class CachedResponse:
    key: str
    model: str
    raw_text: str
    usage: Usage  # what the original call cost; a cache hit itself costs nothing
    created_at: int


@dataclass(frozen=True)
class DailyCost:
    """Model spend of one UTC day; `unknown` answers may have cost money litellm has no price for."""

    usd: float
    unknown: int


def cache_key(model: str, prompt_digest: str, params: Mapping[str, Any]) -> str:
    """sha256 of the model, the prompt's digest and the call parameters (temperature, max_tokens, ...)."""
    text = json.dumps({"model": model, "prompt": prompt_digest, "params": dict(params)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


# --- the store -----------------------------------------------------------------------------


class Store(TrackRecordStore, ExecutionStore, ReportStore):
    """Answers, cached replies, the track record and the trade journal; each write is one transaction."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    @classmethod
    def open(cls, db: str, *, clock: Clock = wall_clock_ms, throwaway: bool = False) -> Store:
        """Open (creating or upgrading) the store at a path or URL; StoreError when unusable.

        Nothing is written to a file that is not a SQLite database or whose schema is newer than
        this code: both are refused before the first write.

        `throwaway`: a SQLite file that is rebuilt rather than recovered (a backtest's): no fsync
        (synchronous=OFF: an OS crash or power cut may corrupt it; a crash of the process still
        leaves whole transactions).
        """
        url = parse_url(db)
        where = url.render_as_string(hide_password=True)
        path = sqlite_file(db)
        if path is not None:
            _check_sqlite_file(path)
        try:
            engine = _engine(url, durable=not throwaway)
        except sa.exc.NoSuchModuleError:
            raise StoreError(f"{where}: no database driver for {url.drivername!r}") from None
        try:
            with translated(where):
                _prepare(engine, url, where, clock)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, clock)

    def close(self) -> None:
        self._engine.dispose()

    def now_ms(self) -> int:
        """The store's clock, which stamps `created_at` and tells which day is today."""
        return self._clock()

    @property
    def engine(self) -> Engine:
        return self._engine

    def record_answers(
        self,
        cycle_id: str,
        market_ts: int,
        prompt_version: str,
        prompt_digest: str,
        answers: Sequence[Answer],
    ) -> None:
        """Record the answers of one symbol in one cycle, all or none (one transaction)."""
        now = self._clock()
        with translated(f"answers of cycle {cycle_id}"), Session(self._engine) as session, session.begin():
            for answer in answers:
                session.add(answer_row(answer, cycle_id, now, market_ts, prompt_version, prompt_digest))

    def answers(self, cycle_id: str | None = None) -> list[RecordedAnswer]:
        """Recorded answers in the order they were recorded, of one cycle or of all."""
        query = select(AnswerRow).order_by(col(AnswerRow.id))
        if cycle_id is not None:
            query = query.where(AnswerRow.cycle_id == cycle_id)
        with Session(self._engine) as session:
            return [recorded_answer(row) for row in session.exec(query)]

    def cached_response(self, key: str) -> CachedResponse | None:
        with Session(self._engine) as session:
            row = session.get(CachedResponseRow, key)
            return None if row is None else _cached(row)

    def put_cached_response(self, key: str, model: str, raw_text: str, usage: Usage) -> None:
        """Keep a fresh reply; when the key is already there, the first reply stays."""
        row = CachedResponseRow(
            key=key,
            model=model,
            raw_text=raw_text,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cost_usd=usage.cost_usd,
            created_at=self._clock(),
        )
        try:
            with translated("response cache"), Session(self._engine) as session, session.begin():
                session.add(row)
        except StoreError as exc:
            # The key is there already: two members asked the same thing at once; either reply will do.
            if not isinstance(exc.__cause__, IntegrityError):
                raise

    def cost_today_usd(self, day_start_ms: int) -> DailyCost:
        """Spend recorded in the UTC day holding `day_start_ms` (floored to 00:00), cache hits excluded."""
        start = day_start_ms - day_start_ms % DAY_MS
        unknown = sa.and_(
            col(AnswerRow.cost_usd).is_(None),
            sa.func.coalesce(AnswerRow.abstain_reason, "").not_in(NO_CALL_REASONS),
        )
        query = select(
            func.coalesce(func.sum(AnswerRow.cost_usd), 0.0),
            func.count().filter(unknown),
        ).where(
            col(AnswerRow.cached).is_(False),
            col(AnswerRow.created_at) >= start,
            col(AnswerRow.created_at) < start + DAY_MS,
        )
        with Session(self._engine) as session:
            usd, unknown_count = session.exec(query).one()
        return DailyCost(usd=float(usd or 0.0), unknown=int(unknown_count))


# --- opening and migrating -----------------------------------------------------------------


def _check_sqlite_file(path: Path) -> None:
    """Refuse, before SQLite touches it, a file that is not a SQLite database."""
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not a SQLite database")
    if not path.exists() or path.stat().st_size == 0:
        return  # SQLite creates it; an empty file is an empty database
    with path.open("rb") as f:
        header = f.read(len(SQLITE_MAGIC))
    if header != SQLITE_MAGIC:
        raise StoreError(f"{path} is not a SQLite database (refusing to touch it)")


def _engine(url: sa.URL, *, durable: bool = True) -> Engine:
    if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
        return sa.create_engine(url, connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S})
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(url)
    in_memory = url.database in (None, "", ":memory:")
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False},
        poolclass=StaticPool if in_memory else None,  # one shared connection: one memory database
    )
    on_connect = _on_sqlite_connect if durable else functools.partial(_on_sqlite_connect, synchronous="OFF")
    sa.event.listen(engine, "connect", on_connect)
    sa.event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def _on_sqlite_connect(dbapi_connection: Any, _record: Any, synchronous: str = "NORMAL") -> None:
    # The sqlite3 module would commit before DDL on its own; we issue BEGIN ourselves instead,
    # so that a migration step's DDL and its version row commit together (SQLAlchemy's recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA synchronous={synchronous}")
    cursor.execute("PRAGMA busy_timeout=5000")  # the engine and a report may write at once
    cursor.close()


def _on_sqlite_begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get(WRITE_LOCK_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _prepare(engine: Engine, url: sa.URL, where: str, clock: Clock) -> None:
    """Check the schema version (read only), then switch on WAL and apply the missing steps."""
    version = _read_version(engine, where)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{where}: database schema version {version} is newer than this swarm knows "
            f"({SCHEMA_VERSION}); upgrade swarm"
        )
    if url.get_backend_name() == "sqlite":
        # Switching to WAL or upgrading writes to the file: never into a damaged one. A store that
        # is up to date is opened without writing, so it is not checked (the check reads it all).
        if version > 0 and (version < SCHEMA_VERSION or _journal_mode(engine) != "wal"):
            _check_integrity(engine, where)
        _set_wal(engine, where, in_memory=url.database in (None, "", ":memory:"))
    migrate(engine, MIGRATIONS, clock)


def _journal_mode(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.exec_driver_sql("PRAGMA journal_mode").scalar())


def _check_integrity(engine: Engine, where: str) -> None:
    with engine.connect() as conn:
        problems = [str(row[0]) for row in conn.exec_driver_sql("PRAGMA quick_check(3)")]
    if problems != ["ok"]:
        found = one_line("; ".join(problems))[:200]
        raise StoreError(f"{where}: the database file is damaged ({found}); refusing to write to it")


def _set_wal(engine: Engine, where: str, *, in_memory: bool) -> None:
    # Outside any transaction (SQLite ignores a journal-mode change inside one); persists in the file.
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        mode = cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        cursor.close()
    finally:
        raw.close()
    # SQLite falls back silently (e.g. on some network file systems); we would lose crash safety.
    if mode != "wal" and not in_memory:
        raise StoreError(f"{where}: SQLite refused WAL mode (journal_mode stays {mode})")


def _read_version(engine: Engine, where: str) -> int:
    try:
        connection = engine.connect()
    except OperationalError as exc:
        # The first connection: a server that is down or refuses us, a file that cannot be opened.
        raise StoreError(f"cannot open the database {where}: {one_line(exc.orig)}") from exc
    with connection as conn:
        tables = set(sa.inspect(conn).get_table_names())
        version = read_version(conn)
    if tables and not version:
        shown = ", ".join(sorted(tables)[:5])
        raise StoreError(f"{where}: database has tables ({shown}) but no schema_version: not a swarm store")
    return version


def _cached(row: CachedResponseRow) -> CachedResponse:
    usage = Usage(
        prompt_tokens=row.prompt_tokens, completion_tokens=row.completion_tokens, cost_usd=row.cost_usd
    )
    return CachedResponse(row.key, row.model, row.raw_text, usage, row.created_at)
