"""The store: round trips, WAL, transactions, cache, daily cost, migrations, refusing what is not ours.

Tests taking `db_url` run on SQLite and, when SWARM_TEST_POSTGRES_URL is set, on PostgreSQL too.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from consensus.decision import Abstain, Action, Ballot, TradeDecision, Usage
from swarm.execution_schema import (
    ClosedTradeRow,
    OpenPositionRow,
    OrderDecisionRow,
    OrderFillRow,
    RiskStateRow,
    VenueOrderRow,
    VenueStateRow,
)
from swarm.members.base import Answer
from swarm.report_schema import CurveTradeRow, EntryStateRow, EquityPointRow, ReportRunRow, RunMarkRow
from swarm.store import DAY_MS, SCHEMA_VERSION, Store, StoreError, cache_key, database_url
from swarm.store_schema import (
    MIGRATIONS,
    AnswerRow,
    CachedResponseRow,
    ConsensusVoteRow,
    Migration,
    ScoreRow,
    migrate,
    read_version,
)
from tests.stores import FakeClock

DAY = 1_761_609_600_000  # 2025-10-28T00:00:00Z
DIGEST = "ab" * 32


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(DAY + 7 * 3_600_000)


@pytest.fixture
def store(db_url: str, clock: FakeClock) -> Iterator[Store]:
    opened = Store.open(db_url, clock=clock)
    yield opened
    opened.close()


def ballot(member: str = "claude", cost: float | None = 0.0042, cached: bool = False) -> Answer:
    decision = TradeDecision(
        action=Action.LONG,
        confidence=68.5,
        reasoning="4h uptrend intact.",
        position_size_pct=10.0,
        take_profit=(0.02, 0.045),
        stop_loss=0.015,
    )
    usage = Usage(latency_ms=812.5, prompt_tokens=1180, completion_tokens=64, cost_usd=cost)
    vote = Ballot(member=member, model=f"vendor/{member}", symbol="BTC", decision=decision, usage=usage)
    return Answer(vote=vote, raw_text='{"action":"LONG","confidence":68.5}', cached=cached)


def abstain(member: str = "grok", reason: str = "timeout", cost: float | None = None) -> Answer:
    vote = Abstain(
        member=member,
        model=f"vendor/{member}",
        symbol="BTC",
        reason=reason,  # type: ignore[arg-type]
        detail="no answer within 60 s",
        usage=Usage(latency_ms=60000.0, cost_usd=cost),
    )
    return Answer(vote=vote)


def _record(store: Store, cycle: str, answers: list[Answer]) -> None:
    store.record_answers(cycle, DAY + 6 * 3_600_000, "v1", DIGEST, answers)


# --- round trips -------------------------------------------------------------------------


def test_ballots_and_abstains_round_trip(store: Store, clock: FakeClock) -> None:
    hold = Answer(
        vote=Ballot(
            member="local/trend",
            model="local/trend",
            symbol="BTC",
            decision=TradeDecision(action=Action.HOLD, confidence=50),
            usage=Usage(cost_usd=0.0),
        )
    )
    answers = [ballot(), abstain(), ballot("gpt", cached=True), hold]
    _record(store, "c1", answers)
    _record(store, "c2", [ballot()])

    recorded = store.answers("c1")
    assert [r.answer for r in recorded] == answers
    first = recorded[0]
    assert (first.cycle_id, first.created_at, first.market_ts) == ("c1", clock.now, DAY + 6 * 3_600_000)
    assert (first.prompt_version, first.prompt_digest) == ("v1", DIGEST)
    assert len(store.answers()) == 5


def _versions(store: Store) -> list[int]:
    with store.engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT version FROM schema_version ORDER BY version")).scalars())


def test_reopening_keeps_data_and_version(db_url: str, clock: FakeClock) -> None:
    first = Store.open(db_url, clock=clock)
    _record(first, "c1", [ballot()])
    first.close()
    again = Store.open(db_url, clock=clock)
    assert [r.answer for r in again.answers()] == [ballot()]
    assert _versions(again) == list(range(1, SCHEMA_VERSION + 1))  # one row per step
    again.close()


def test_a_version_1_database_is_upgraded_with_its_data(db_url: str, clock: FakeClock) -> None:
    engine = sa.create_engine(database_url(db_url))
    migrate(engine, MIGRATIONS[:1], clock)  # as the first release left it
    _record(Store(engine, clock), "c1", [ballot(), abstain()])  # the constructor does not migrate
    engine.dispose()

    upgraded = Store.open(db_url, clock=clock)
    assert [r.answer for r in upgraded.answers()] == [ballot(), abstain()]
    assert _versions(upgraded) == list(range(1, SCHEMA_VERSION + 1))
    with upgraded.engine.connect() as conn:
        assert {"consensus_vote", "score"} <= set(sa.inspect(conn).get_table_names())
    upgraded.close()


def test_in_memory_store_works(clock: FakeClock) -> None:
    store = Store.open("sqlite://", clock=clock)
    _record(store, "c1", [ballot()])
    assert len(store.answers("c1")) == 1
    store.close()


# --- SQLite settings ---------------------------------------------------------------------


def test_wal_mode_and_connection_pragmas(tmp_path: Path, clock: FakeClock) -> None:
    store = Store.open(str(tmp_path / "swarm.db"), clock=clock)
    with sqlite3.connect(tmp_path / "swarm.db") as plain:
        assert plain.execute("PRAGMA journal_mode").fetchone() == ("wal",)  # stored in the file
    plain.close()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.close()


# --- transactions ------------------------------------------------------------------------


def test_a_failing_row_leaves_no_partial_rows(store: Store) -> None:
    _record(store, "c1", [ballot("claude")])
    duplicate = r"UNIQUE constraint failed|duplicate key value violates unique constraint"  # SQLite | PG
    with pytest.raises(StoreError, match=rf"^answers of cycle c1: ({duplicate})"):
        _record(store, "c1", [ballot("gpt"), ballot("gemini"), ballot("claude")])
    assert [r.answer.vote.member for r in store.answers()] == ["claude"]


def test_a_bad_answer_mid_list_leaves_no_rows(store: Store) -> None:
    broken = Answer(vote="not a vote")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not a Ballot or an Abstain"):
        _record(store, "c1", [ballot("claude"), ballot("gpt"), broken])
    assert store.answers() == []


# --- response cache ----------------------------------------------------------------------


def test_cache_miss_then_hit(store: Store, clock: FakeClock) -> None:
    key = cache_key("openai/gpt-5.5", DIGEST, {"temperature": 0.2, "max_tokens": 1024})
    assert store.cached_response(key) is None
    usage = Usage(prompt_tokens=1180, completion_tokens=64, cost_usd=0.0042)
    store.put_cached_response(key, "openai/gpt-5.5", '{"action":"HOLD"}', usage)
    hit = store.cached_response(key)
    assert hit is not None
    assert (hit.key, hit.model, hit.raw_text, hit.usage, hit.created_at) == (
        key,
        "openai/gpt-5.5",
        '{"action":"HOLD"}',
        usage,
        clock.now,
    )


def test_first_cached_reply_stays(store: Store) -> None:
    store.put_cached_response("k", "m", "first", Usage())
    store.put_cached_response("k", "m", "second", Usage())
    hit = store.cached_response("k")
    assert hit is not None
    assert hit.raw_text == "first"


def test_cache_key_covers_model_prompt_and_params() -> None:
    params = {"temperature": 0.2, "max_tokens": 1024}
    base = cache_key("m", DIGEST, params)
    assert len(base) == 64
    assert cache_key("m", DIGEST, {"max_tokens": 1024, "temperature": 0.2}) == base
    assert cache_key("m2", DIGEST, params) != base
    assert cache_key("m", "cd" * 32, params) != base
    assert cache_key("m", DIGEST, params | {"temperature": 0.3}) != base


# --- daily cost --------------------------------------------------------------------------


def test_daily_cost_sums_fresh_spend_of_the_utc_day(store: Store, clock: FakeClock) -> None:
    clock.now = DAY - 1  # yesterday, 23:59:59.999
    _record(store, "yesterday", [ballot("claude", cost=1.0)])
    clock.now = DAY + 3_600_000
    _record(
        store,
        "today",
        [
            ballot("claude", cost=0.25),
            ballot("gpt", cost=0.5),
            ballot("gemini", cost=0.75, cached=True),  # a cache hit spent nothing today
            ballot("deepseek", cost=None),  # no price known: counted as unknown
            abstain("grok", reason="timeout"),  # may have been billed: unknown
            abstain("qwen", reason="no_key"),  # never called: known to be free
        ],
    )
    today = store.cost_today_usd(DAY)
    assert today.usd == pytest.approx(0.75)
    assert today.unknown == 2
    assert store.cost_today_usd(DAY + 12 * 3_600_000) == today  # any moment of the day
    assert store.cost_today_usd(DAY - DAY_MS).usd == pytest.approx(1.0)
    assert store.cost_today_usd(DAY + DAY_MS).usd == 0.0


# --- refusing what is not ours -----------------------------------------------------------


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_garbage_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my trading notes, not a database\n" * 100)
    before = _files(tmp_path)
    with pytest.raises(StoreError, match=r"notes\.db is not a SQLite database") as err:
        Store.open(str(path))
    assert "\n" not in str(err.value)
    assert _files(tmp_path) == before


def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT, applied_at INT)"
        )
        db.execute("INSERT INTO schema_version VALUES (99, 'from the future', 0)")
    db.close()
    before = _files(tmp_path)
    with pytest.raises(
        StoreError, match=rf"schema version 99 is newer than this swarm knows \({SCHEMA_VERSION}\)"
    ):
        Store.open(str(path))
    assert _files(tmp_path) == before  # not even switched to WAL


def test_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE trades (id INTEGER)")
    db.close()
    before = _files(tmp_path)
    with pytest.raises(StoreError, match=r"tables \(trades\) but no schema_version"):
        Store.open(str(path))
    assert _files(tmp_path) == before


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        Store.open(str(tmp_path))


# --- migrations --------------------------------------------------------------------------


def _add_note_table(conn: sa.Connection) -> None:
    conn.exec_driver_sql("CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")


def _fail_halfway(conn: sa.Connection) -> None:
    conn.exec_driver_sql("CREATE TABLE half (id INTEGER PRIMARY KEY)")
    raise RuntimeError("step 2 broke")


NEXT = SCHEMA_VERSION + 1


def test_missing_steps_are_applied_in_order(store: Store, clock: FakeClock) -> None:
    steps = (*MIGRATIONS, Migration(NEXT, "notes", _add_note_table))
    assert migrate(store.engine, steps, clock) == NEXT
    with store.engine.connect() as conn:
        assert read_version(conn) == NEXT
        assert sa.inspect(conn).has_table("note")
    assert migrate(store.engine, steps, clock) == NEXT  # nothing left to do


def test_a_failing_step_rolls_back_with_its_version(store: Store, clock: FakeClock) -> None:
    with pytest.raises(RuntimeError, match="step 2 broke"):
        migrate(store.engine, (*MIGRATIONS, Migration(NEXT, "broken", _fail_halfway)), clock)
    with store.engine.connect() as conn:
        assert read_version(conn) == SCHEMA_VERSION
        assert not sa.inspect(conn).has_table("half")  # the DDL went with the transaction


def test_steps_must_be_numbered_in_order(store: Store, clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="1, 2, 3"):
        migrate(store.engine, (*MIGRATIONS, Migration(NEXT + 1, "gap", _add_note_table)), clock)


def _kind(column_type: sa.types.TypeEngine[object]) -> str:
    if isinstance(column_type, sa.types.TypeDecorator):  # sqlmodel's AutoString wraps a String
        column_type = column_type.impl_instance
    for kind in (sa.Boolean, sa.Integer, sa.Float, sa.String, sa.JSON):
        if isinstance(column_type, kind):
            return kind.__name__
    raise AssertionError(f"unexpected column type {column_type!r}")


@pytest.mark.parametrize(
    "model",
    [
        AnswerRow,
        CachedResponseRow,
        ConsensusVoteRow,
        ScoreRow,
        OrderDecisionRow,
        VenueOrderRow,
        OrderFillRow,
        OpenPositionRow,
        ClosedTradeRow,
        RiskStateRow,
        VenueStateRow,
        ReportRunRow,
        EquityPointRow,
        CurveTradeRow,
        RunMarkRow,
        EntryStateRow,
    ],
)
def test_orm_classes_match_the_migrated_schema(store: Store, model: type[SQLModel]) -> None:
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        inspector = sa.inspect(conn)
        reflected = {c["name"]: c for c in inspector.get_columns(table.name)}
        primary = set(inspector.get_pk_constraint(table.name)["constrained_columns"])
        foreign = {
            (k["constrained_columns"][0], k["referred_table"]) for k in inspector.get_foreign_keys(table.name)
        }
    assert reflected.keys() == set(table.columns.keys())
    assert primary == {c.name for c in table.primary_key}
    assert foreign == {(c.name, k.column.table.name) for c in table.columns for k in c.foreign_keys}
    for column in table.columns:
        found = reflected[column.name]
        assert _kind(found["type"]) == _kind(column.type), column.name
        assert found["nullable"] == (column.nullable and not column.primary_key), column.name
