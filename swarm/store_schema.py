"""The store's schema, in one place: ordered migration steps and the ORM classes they yield.

Each step runs once, in its own transaction together with its row in `schema_version` (one row
per applied step; the highest is the database's version). A new database runs every step, an old
one the steps it lacks, so both end up alike. The SQLModel classes are the ORM view of the latest
schema; tests/test_store.py checks that they match what the steps build.

To change the schema: append a Migration (never edit an applied one), then change the classes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, SQLModel

Clock = Callable[[], int]


@dataclass(frozen=True)
class Migration:
    """One step of the schema; `apply` runs inside the step's transaction."""

    version: int
    description: str
    apply: Callable[[Connection], None]


def _v1_answers_and_cache(conn: Connection) -> None:
    # A snapshot of version 1, in SQLAlchemy Core so the DDL suits any database SQLAlchemy knows.
    meta = sa.MetaData()
    sa.Table(
        "answer",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("cycle_id", sa.String, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False, index=True),
        sa.Column("market_ts", sa.BigInteger, nullable=False),
        sa.Column("symbol", sa.String, nullable=False),
        sa.Column("member", sa.String, nullable=False),
        sa.Column("model", sa.String, nullable=False),
        sa.Column("prompt_version", sa.String, nullable=False),
        sa.Column("prompt_digest", sa.String, nullable=False),
        sa.Column("raw_text", sa.String),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("action", sa.String),
        sa.Column("confidence", sa.Float),
        sa.Column("position_size_pct", sa.Float),
        sa.Column("take_profit", sa.String),
        sa.Column("stop_loss", sa.Float),
        sa.Column("reasoning", sa.String),
        sa.Column("abstain_reason", sa.String),
        sa.Column("abstain_detail", sa.String),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("prompt_tokens", sa.Integer),
        sa.Column("completion_tokens", sa.Integer),
        sa.Column("cost_usd", sa.Float),
        sa.Column("cached", sa.Boolean, nullable=False),
        sa.UniqueConstraint("cycle_id", "symbol", "member", name="uq_answer_cycle_symbol_member"),
        sa.CheckConstraint("kind IN ('ballot', 'abstain')", name="ck_answer_kind"),
    )
    sa.Table(
        "response_cache",
        meta,
        sa.Column("key", sa.String, primary_key=True),
        sa.Column("model", sa.String, nullable=False),
        sa.Column("raw_text", sa.String, nullable=False),
        sa.Column("prompt_tokens", sa.Integer),
        sa.Column("completion_tokens", sa.Integer),
        sa.Column("cost_usd", sa.Float),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    meta.create_all(conn)


MIGRATIONS: tuple[Migration, ...] = (Migration(1, "answers and the response cache", _v1_answers_and_cache),)
SCHEMA_VERSION = MIGRATIONS[-1].version

_VERSION_META = sa.MetaData()
_VERSION_TABLE = sa.Table(
    "schema_version",
    _VERSION_META,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.String, nullable=False),
    sa.Column("applied_at", sa.BigInteger, nullable=False),
)


class AnswerRow(SQLModel, table=True):
    """One member's answer on one symbol in one cycle (a ballot or an abstention)."""

    __tablename__ = "answer"

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: str
    created_at: int = Field(sa_type=sa.BigInteger)
    market_ts: int = Field(sa_type=sa.BigInteger)
    symbol: str
    member: str
    model: str
    prompt_version: str
    prompt_digest: str
    raw_text: str | None = None
    kind: str
    action: str | None = None
    confidence: float | None = None
    position_size_pct: float | None = None
    take_profit: str | None = None  # JSON array of fractions
    stop_loss: float | None = None
    reasoning: str | None = None
    abstain_reason: str | None = None
    abstain_detail: str | None = None
    latency_ms: float
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    cached: bool


class CachedResponseRow(SQLModel, table=True):
    """A model's raw reply to one prompt under one set of parameters."""

    __tablename__ = "response_cache"

    key: str = Field(primary_key=True)
    model: str
    raw_text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    created_at: int = Field(sa_type=sa.BigInteger)


def migrate(engine: Engine, migrations: Sequence[Migration], clock: Clock) -> int:
    """Apply the steps the database lacks, in order, each with its version row in one transaction."""
    if [m.version for m in migrations] != list(range(1, len(migrations) + 1)):
        raise ValueError("migration versions must be 1, 2, 3, ... in order")
    with engine.connect() as conn:
        current = read_version(conn)
    for step in migrations[current:]:
        with engine.begin() as conn:
            _VERSION_META.create_all(conn)
            step.apply(conn)
            row = {"version": step.version, "description": step.description, "applied_at": clock()}
            conn.execute(_VERSION_TABLE.insert().values(**row))
    return max(current, len(migrations))


def read_version(conn: Connection) -> int:
    """The database's schema version; 0 when it has no schema_version table (a new database)."""
    if not sa.inspect(conn).has_table("schema_version"):
        return 0
    return int(conn.execute(sa.select(sa.func.max(_VERSION_TABLE.c.version))).scalar() or 0)
