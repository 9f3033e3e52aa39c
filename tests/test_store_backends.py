"""The store's database settings: URLs, PostgreSQL, and refusing a database that is not ours.

Tests taking `db_url` run on SQLite and, when SWARM_TEST_POSTGRES_URL is set, on PostgreSQL too.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from swarm.store import SCHEMA_VERSION, Store, StoreError, database_label, database_url, sqlite_file
from tests.stores import damaged_store_file


def test_database_url_from_settings_value() -> None:
    assert database_url("swarm.db") == "sqlite:///swarm.db"
    assert database_url("/var/lib/swarm/x.db") == "sqlite:////var/lib/swarm/x.db"
    assert database_url("sqlite:///x.db") == "sqlite:///x.db"
    # The driver installed with swarm; SQLAlchemy would pick psycopg2 for a bare postgresql://.
    assert database_url("postgresql://u:p@db/swarm") == "postgresql+psycopg://u:p@db/swarm"
    assert database_url("postgres://u:p@db/swarm") == "postgresql+psycopg://u:p@db/swarm"
    assert database_url("postgresql+psycopg://u:p@db/swarm") == "postgresql+psycopg://u:p@db/swarm"
    assert sqlite_file("swarm.db") == Path("swarm.db")
    assert sqlite_file("sqlite://") is None
    assert sqlite_file("postgresql://u:p@db/swarm") is None
    assert database_label("swarm.db") == "swarm.db"
    assert database_label("postgresql://u:secret@db/swarm") == "postgresql+psycopg://u:***@db/swarm"


def _tables_and_rows(url: str) -> dict[str, list[tuple[object, ...]]]:
    engine = sa.create_engine(database_url(url))
    with engine.connect() as conn:
        names = sa.inspect(conn).get_table_names()
        content = {n: [tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {n}"))] for n in names}
    engine.dispose()
    return content


def _prepare(url: str, *statements: str) -> dict[str, list[tuple[object, ...]]]:
    engine = sa.create_engine(database_url(url))
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))
    engine.dispose()
    return _tables_and_rows(url)


def test_newer_schema_is_refused_on_any_database(db_url: str) -> None:
    before = _prepare(
        db_url,
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT, applied_at BIGINT)",
        "INSERT INTO schema_version VALUES (99, 'from the future', 0)",
    )
    with pytest.raises(StoreError, match="schema version 99 is newer") as err:
        Store.open(db_url)
    assert "\n" not in str(err.value)
    assert _tables_and_rows(db_url) == before


def test_foreign_database_is_refused_on_any_database(db_url: str) -> None:
    before = _prepare(db_url, "CREATE TABLE trades (id INTEGER)", "INSERT INTO trades VALUES (7)")
    with pytest.raises(StoreError, match=r"tables \(trades\) but no schema_version"):
        Store.open(db_url)
    assert _tables_and_rows(db_url) == before


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens there once the probe is closed


def test_unreachable_postgres_is_one_clear_line() -> None:
    url = f"postgresql://swarm:hunter2@127.0.0.1:{_closed_port()}/swarm"
    with pytest.raises(
        StoreError, match=r"^cannot open the database postgresql\+psycopg://swarm:\*\*\*@"
    ) as err:
        Store.open(url)
    message = str(err.value)
    assert "\n" not in message
    assert "Connection refused" in message
    assert "hunter2" not in message


def test_malformed_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(StoreError, match=r"\(postgresql://\.\.\.\) is not a valid database URL") as err:
        Store.open("postgresql://swarm:hunter2@db:port/swarm")
    assert "hunter2" not in str(err.value)


def test_a_damaged_file_is_not_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    before = damaged_store_file(path, version=1, wal=True)
    with pytest.raises(StoreError, match=r"the database file is damaged \(.+\); refusing to write to it$"):
        Store.open(str(path))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.db"]


def test_bots_starting_at_once_migrate_the_database_once(db_url: str) -> None:
    """Several processes opening a new database together: each step applied once, nobody fails."""
    starters = 4
    barrier = threading.Barrier(starters)
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            Store.open(db_url).close()
        except BaseException as exc:  # collected: an exception in a thread is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(starters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    engine = sa.create_engine(database_url(db_url))
    with engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT version FROM schema_version ORDER BY version")).scalars()
        applied = list(versions)
    engine.dispose()
    assert applied == list(range(1, SCHEMA_VERSION + 1))
