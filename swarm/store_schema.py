"""The store's schema, in one place: ordered migration steps and the ORM classes they yield.

Each step runs once, in its own transaction together with its row in `schema_version` (one row
per applied step; the highest is the database's version). A new database runs every step, an old
one the steps it lacks, so both end up alike. The SQLModel classes are the ORM view of the latest
schema; tests/test_store.py checks that they match what the steps build.

To change the schema: append a Migration (never edit an applied one), then change the classes.
The trade journal's step and classes (version 3) live in swarm.execution_schema, the report's
(version 4) in swarm.report_schema.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, SQLModel

from swarm.execution_schema import v3_execution_journal
from swarm.report_schema import v4_report_record

Clock = Callable[[], int]

# Any fixed 64-bit number naming "the swarm schema migration" among PostgreSQL advisory locks.
_MIGRATION_LOCK_KEY = 0x5377_6172_6D00_0001
# Execution option asking SQLite for BEGIN IMMEDIATE (the store's begin hook): take the write lock
# first, so that a transaction that reads and then writes is not refused as stale meanwhile.
WRITE_LOCK_OPTION = "swarm_write_lock"


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


def _v2_consensus_and_scores(conn: Connection) -> None:
    # A snapshot of version 2. `answer` is declared with its key only, for the foreign key.
    meta = sa.MetaData()
    sa.Table("answer", meta, sa.Column("id", sa.Integer, primary_key=True))
    consensus = sa.Table(
        "consensus_vote",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("cycle_id", sa.String, nullable=False),
        sa.Column("symbol", sa.String, nullable=False),
        sa.Column("market_ts", sa.BigInteger, nullable=False, index=True),
        sa.Column("action", sa.String, nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("agreement", sa.Float, nullable=False),
        sa.Column("quorum_met", sa.Boolean, nullable=False),
        sa.Column("position_size_pct", sa.Float, nullable=False),
        sa.Column("take_profit", sa.JSON, nullable=False),
        sa.Column("stop_loss", sa.Float),
        sa.Column("members_for", sa.JSON, nullable=False),
        sa.Column("weights", sa.JSON, nullable=False),
        sa.Column("reason", sa.String, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("cycle_id", "symbol", name="uq_consensus_vote_cycle_symbol"),
        sa.CheckConstraint("action IN ('LONG', 'SHORT', 'HOLD', 'CLOSE')", name="ck_consensus_vote_action"),
    )
    score = sa.Table(
        "score",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("answer_id", sa.Integer, sa.ForeignKey("answer.id"), unique=True),
        sa.Column("consensus_id", sa.Integer, sa.ForeignKey("consensus_vote.id"), unique=True),
        sa.Column("scored_at", sa.BigInteger, nullable=False, index=True),
        sa.Column("horizon_ms", sa.BigInteger, nullable=False),
        sa.Column("entry_price", sa.Float, nullable=False),
        sa.Column("exit_price", sa.Float, nullable=False),
        sa.Column("move_pct", sa.Float, nullable=False),
        sa.Column("direction_correct", sa.Boolean),
        sa.Column("pnl_pct_followed", sa.Float, nullable=False),
        sa.Column("brier", sa.Float),
        sa.Column("stopped", sa.Boolean, nullable=False),
        sa.Column("targets_hit", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        # A score belongs to exactly one ballot: a member's answer or the swarm's consensus.
        sa.CheckConstraint("(answer_id IS NULL) <> (consensus_id IS NULL)", name="ck_score_one_owner"),
    )
    meta.create_all(conn, tables=[consensus, score])
    # The scoring job and the track record look answers up by market time.
    conn.execute(sa.text("CREATE INDEX ix_answer_market_ts ON answer (market_ts)"))


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "answers and the response cache", _v1_answers_and_cache),
    Migration(2, "consensus votes and scores", _v2_consensus_and_scores),
    Migration(
        3, "the trade journal: decisions, orders, fills, positions, trades, risk state", v3_execution_journal
    ),
    Migration(4, "report runs: equity curves, their trades, marks, entry states", v4_report_record),
)
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


class ConsensusVoteRow(SQLModel, table=True):
    """The swarm's decision on one symbol in one cycle; its ballots are the cycle's answer rows."""

    __tablename__ = "consensus_vote"

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: str
    symbol: str
    market_ts: int = Field(sa_type=sa.BigInteger)
    action: str
    confidence: float
    agreement: float
    quorum_met: bool
    position_size_pct: float
    take_profit: list[float] = Field(sa_type=sa.JSON)
    stop_loss: float | None = None
    members_for: list[str] = Field(sa_type=sa.JSON)
    weights: dict[str, float] = Field(sa_type=sa.JSON)  # the weights the vote used
    reason: str
    created_at: int = Field(sa_type=sa.BigInteger)


class ScoreRow(SQLModel, table=True):
    """How one ballot (a member's answer or the consensus) turned out over its horizon."""

    __tablename__ = "score"

    id: int | None = Field(default=None, primary_key=True)
    answer_id: int | None = Field(default=None, foreign_key="answer.id", unique=True)
    consensus_id: int | None = Field(default=None, foreign_key="consensus_vote.id", unique=True)
    scored_at: int = Field(sa_type=sa.BigInteger)  # market time the score became knowable
    horizon_ms: int = Field(sa_type=sa.BigInteger)
    entry_price: float
    exit_price: float
    move_pct: float
    direction_correct: bool | None = None
    pnl_pct_followed: float
    brier: float | None = None
    stopped: bool
    targets_hit: int
    created_at: int = Field(sa_type=sa.BigInteger)  # store clock when written


def migrate(engine: Engine, migrations: Sequence[Migration], clock: Clock) -> int:
    """Apply the steps the database lacks, in order, each with its version row in one transaction."""
    if [m.version for m in migrations] != list(range(1, len(migrations) + 1)):
        raise ValueError("migration versions must be 1, 2, 3, ... in order")
    with engine.connect() as conn:
        current = read_version(conn)
    for step in migrations[current:]:
        with engine.connect() as conn:
            conn.execution_options(**{WRITE_LOCK_OPTION: True})
            with conn.begin():
                _lock_migrations(conn)
                if read_version(conn) >= step.version:
                    continue  # another process sharing the database applied it while we waited
                _VERSION_META.create_all(conn)
                step.apply(conn)
                row = {"version": step.version, "description": step.description, "applied_at": clock()}
                conn.execute(_VERSION_TABLE.insert().values(**row))
    return max(current, len(migrations))


def _lock_migrations(conn: Connection) -> None:
    """Serialise the migrations of bots starting at once; held until the step commits.

    On PostgreSQL an advisory lock. On SQLite the store begins this transaction with BEGIN
    IMMEDIATE (WRITE_LOCK_OPTION), which waits for the file's write lock before the version is read.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})


def read_version(conn: Connection) -> int:
    """The database's schema version; 0 when it has no schema_version table (a new database)."""
    if not sa.inspect(conn).has_table("schema_version"):
        return 0
    return int(conn.execute(sa.select(sa.func.max(_VERSION_TABLE.c.version))).scalar() or 0)
