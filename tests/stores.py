"""Databases for store tests: a SQLite file always, a fresh PostgreSQL schema when one is offered.

Set SWARM_TEST_POSTGRES_URL (e.g. the URL `.ci/postgres.sh start DIR` prints) to run every test
that takes the `db_url` fixture on PostgreSQL as well. Each such test gets a schema of its own,
dropped afterwards, so tests neither see nor disturb each other.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

POSTGRES_ENV = "SWARM_TEST_POSTGRES_URL"


def backends() -> list[str]:
    """The backends the store tests run on here."""
    return ["sqlite", "postgresql"] if os.environ.get(POSTGRES_ENV) else ["sqlite"]


class FakeClock:
    """The store's clock, set by the test."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@contextmanager
def fresh_postgres_schema(base_url: str) -> Iterator[str]:
    """A URL whose connections work in a new, empty schema; the schema is dropped on exit."""
    from swarm.store import database_url  # not at import: conftest loads this module first

    url = sa.make_url(database_url(base_url))
    schema = f"swarm_test_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(url, poolclass=NullPool)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        # libpq's `options` sets the search path of every connection the store opens.
        scoped = url.update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def damaged_store_file(path: Path, version: int, *, wal: bool) -> bytes:
    """A SQLite store at schema `version` (in WAL mode or not) holding answers, its data pages
    overwritten past the schema, so that it still opens but reading or checking it fails."""
    from swarm.store import Store, database_url
    from swarm.store_schema import MIGRATIONS, migrate
    from tests.track_history import T0, ballot

    engine = sa.create_engine(database_url(str(path)))
    migrate(engine, MIGRATIONS[:version], FakeClock(T0))
    store = Store(engine, FakeClock(T0))  # the constructor does not migrate further
    for i in range(200):
        store.record_answers(f"c{i}", T0 + i, "v1", "d", [ballot("a"), ballot("b")])
    if wal:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    with engine.connect() as conn:
        # Every table and index has its root page by now: the answers' rows went to later pages.
        last_root = int(conn.exec_driver_sql("SELECT max(rootpage) FROM sqlite_master").scalar() or 1)
        page_size = int(conn.exec_driver_sql("PRAGMA page_size").scalar() or 4096)
    engine.dispose()  # the last connection: the WAL is checkpointed into the file and removed
    data = bytearray(path.read_bytes())
    # Past the roots, so the schema still reads (whatever the number of tables a version has).
    for i in range(last_root * page_size, len(data), 7):
        data[i] = 0xAB
    path.write_bytes(bytes(data))
    return bytes(data)
