"""Small helpers shared by the store's modules (kept apart so that they import no store):
database URLs from Settings.db, one-line errors, portable inserts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from swarm.errors import StoreError


def database_url(db: str) -> str:
    """Settings.db as a SQLAlchemy URL: a plain path is a SQLite file; a URL is kept as given,
    except that postgresql:// (and postgres://) get the psycopg driver installed with swarm."""
    if "://" not in db:
        return f"sqlite:///{Path(db).expanduser()}"
    scheme, rest = db.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    return db


def database_label(db: str) -> str:
    """Settings.db for a message: a SQLite file's path, or the URL with its password hidden."""
    path = sqlite_file(db)
    return str(path) if path is not None else parse_url(db).render_as_string(hide_password=True)


def sqlite_file(db: str) -> Path | None:
    """The file a SQLite Settings.db points to; None for memory or another database."""
    url = parse_url(db)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def parse_url(db: str) -> sa.URL:
    """Settings.db as a SQLAlchemy URL; StoreError, without echoing it, when it is not one."""
    try:
        return sa.make_url(database_url(db))
    except (sa.exc.ArgumentError, ValueError):
        # The text is not echoed: a malformed URL may still hold a password.
        scheme = db.split("://", 1)[0]
        raise StoreError(f"the database setting ({scheme}://...) is not a valid database URL") from None


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Database failures as a one-line StoreError naming what failed."""
    try:
        yield
    except DBAPIError as exc:
        raise StoreError(f"{what}: {one_line(exc.orig)}") from exc


def one_line(text: object) -> str:
    """An error's text (libpq's and SQLite's span lines) on one line."""
    return " ".join(str(text).split())


def insert_ignoring_duplicates(table: sa.Table, dialect: str) -> sa.Insert:
    """INSERT that skips rows clashing with a unique key: two bots recording the same fact is fine."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise StoreError(f"unsupported database {dialect!r}: the store runs on SQLite and PostgreSQL")
