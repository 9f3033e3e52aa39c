"""Many cycles' answers, votes, risk results and scores in one transaction (a backtest writes ~400,000 rows).

Rows are plain tuples in each table's column order, inserted with one executemany per table:
building ORM rows one by one costs more than the backtest's whole per-step budget, and on SQLite
even SQLAlchemy Core's per-row parameter processing does (2.5x the driver's own executemany), so
SQLite gets the driver's executemany and other databases Core's.

A score may belong to an answer or a consensus vote that is still in the batch: it names its owner
by its place in recording order (`seq`), turned into the row id once the owner is written. Owners
are written before scores in the same transaction, so a crash never leaves a score without its row.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.engine import Connection

from consensus.decision import Ballot
from consensus.vote import Consensus
from execution.types import RiskResult
from swarm._sql import insert_ignoring_duplicates, translated
from swarm.errors import StoreError
from swarm.execution_store import _decision_values
from swarm.members.base import Answer
from swarm.store import Store
from swarm.store_schema import AnswerRow

Row = tuple[Any, ...]
Owner = Literal["answer", "consensus"]
# A score's values in consensus.scoring.Score's field order (ScoreColumns.rows()).
ScoreValues = tuple[bool | None, float, float | None, float, float, float, bool, int, int]
# A score waiting for its owner's row id: owner kind, owner seq, values, Brier kept, horizon, time.
_PendingScore = tuple[Owner, int, ScoreValues, bool, int, int]


@dataclass(frozen=True)
class _Table:
    name: str
    columns: tuple[str, ...]
    json_columns: frozenset[str] = frozenset()
    ignore_duplicates: bool = False  # a row recorded already (by the executor, another bot) is kept
    # JSON values that repeat (a vote's members and weights, for hours) are encoded once per write.
    # Only for lists and dicts of strings and floats: equal values (0.0 and -0.0 too) share a text.
    repeated_json: bool = False

    def encoder(self) -> Callable[[Row], Row] | None:
        """A row as driver parameters: JSON columns as text, as SQLAlchemy's JSON type writes them."""
        where = [i for i, c in enumerate(self.columns) if c in self.json_columns]
        if not where:
            return None
        texts: dict[tuple[int, Hashable], str] = {}

        def text(i: int, value: Any) -> str:
            if not self.repeated_json:
                return json.dumps(value)
            key = (i, tuple(value.items()) if isinstance(value, dict) else tuple(value))
            found = texts.get(key)
            if found is None:
                found = texts[key] = json.dumps(value)
            return found

        def encode(row: Row) -> Row:
            values = list(row)
            for i in where:
                values[i] = text(i, values[i])
            return tuple(values)

        return encode


ANSWERS = _Table(
    "answer",
    (
        "cycle_id", "created_at", "market_ts", "symbol", "member", "model", "prompt_version",
        "prompt_digest", "raw_text", "kind", "latency_ms", "prompt_tokens", "completion_tokens",
        "cost_usd", "cached", "action", "confidence", "reasoning", "position_size_pct", "stop_loss",
        "take_profit", "abstain_reason", "abstain_detail",
    ),
)  # fmt: skip
VOTES = _Table(
    "consensus_vote",
    (
        "cycle_id", "symbol", "market_ts", "action", "confidence", "agreement", "quorum_met",
        "position_size_pct", "take_profit", "stop_loss", "members_for", "weights", "reason", "created_at",
    ),
    frozenset({"take_profit", "members_for", "weights"}),
    repeated_json=True,
)  # fmt: skip
DECISIONS = _Table(
    "order_decision",
    (
        "decision_id", "cycle_id", "symbol", "action", "side", "kind", "intent", "denial_reason",
        "denial_detail", "clamps", "created_at",
    ),
    frozenset({"intent", "clamps"}),
    ignore_duplicates=True,
)  # fmt: skip
SCORES = _Table(
    "score",
    (
        "answer_id", "consensus_id", "scored_at", "horizon_ms", "entry_price", "exit_price", "move_pct",
        "direction_correct", "pnl_pct_followed", "brier", "stopped", "targets_hit", "created_at",
    ),
    ignore_duplicates=True,
)  # fmt: skip


class CycleBatch:
    """Rows waiting to be written together; each `write` is one transaction."""

    def __init__(self) -> None:
        self.answers: list[Row] = []
        self.votes: list[Row] = []
        self.decisions: list[Row] = []
        self.scores: list[_PendingScore] = []
        self._answer_ids: list[int] = []  # by seq, for the answers written
        self._vote_ids: list[int] = []
        self.write_seconds = 0.0  # spent in `write`, for the benchmark

    def __len__(self) -> int:
        return len(self.answers) + len(self.votes) + len(self.decisions) + len(self.scores)

    def add_answers(
        self, cycle_id: str, market_ts: int, version: str, digest: str, answers: Sequence[Answer], now: int
    ) -> range:
        """Add the answers; their seqs (places in recording order)."""
        first = len(self._answer_ids) + len(self.answers)
        self.answers.extend(answer_values(a, cycle_id, market_ts, version, digest, now) for a in answers)
        return range(first, first + len(answers))

    def add_vote(self, cycle_id: str, market_ts: int, consensus: Consensus, now: int) -> int:
        """Add a consensus vote; its seq."""
        self.votes.append(vote_values(cycle_id, market_ts, consensus, now))
        return len(self._vote_ids) + len(self.votes) - 1

    def add_decision(self, decision_id: str, cycle_id: str, result: RiskResult, now: int) -> None:
        values = _decision_values(decision_id, cycle_id, result, now)
        self.decisions.append(tuple(values[c] for c in DECISIONS.columns))

    def add_scores(
        self, scores: Iterable[tuple[Owner, int, ScoreValues, bool]], horizon_ms: int, now: int
    ) -> None:
        """Add scores: (owner kind, its seq, the score, False to leave its Brier null) each."""
        self.scores += [(owner, seq, s, brier, horizon_ms, now) for owner, seq, s, brier in scores]

    def write(self, store: Store) -> None:
        """All rows in one transaction, then the batch is empty (kept as it was if that fails)."""
        if not len(self):
            return
        started = time.perf_counter()
        with translated("a batch of cycles"), store.engine.begin() as conn:
            answers = self._answer_ids + _insert(conn, ANSWERS, self.answers, want_ids=True)
            votes = self._vote_ids + _insert(conn, VOTES, self.votes, want_ids=True)
            _insert(conn, DECISIONS, self.decisions)
            owned = [
                score_row(answers[seq], None, score, brier, horizon, now)
                if owner == "answer"
                else score_row(None, votes[seq], score, brier, horizon, now)
                for owner, seq, score, brier, horizon, now in self.scores
            ]
            _insert(conn, SCORES, owned)
        self._answer_ids, self._vote_ids = answers, votes
        self.answers, self.votes, self.decisions, self.scores = [], [], [], []
        self.write_seconds += time.perf_counter() - started


def _insert(conn: Connection, table: _Table, rows: list[Row], *, want_ids: bool = False) -> list[int]:
    """Insert `rows`; with `want_ids`, their ids in the rows' order."""
    if not rows:
        return []
    if conn.dialect.name == "sqlite":
        return _insert_sqlite(conn, table, rows, want_ids)
    target = AnswerRow.metadata.tables[table.name]
    statement = (
        insert_ignoring_duplicates(target, conn.dialect.name) if table.ignore_duplicates else target.insert()
    )
    params = [dict(zip(table.columns, row, strict=True)) for row in rows]
    if not want_ids:
        conn.execute(statement, params)
        return []
    returning = statement.returning(target.c.id, sort_by_parameter_order=True)
    return [int(i) for i in conn.execute(returning, params).scalars()]


def _insert_sqlite(conn: Connection, table: _Table, rows: list[Row], want_ids: bool) -> list[int]:
    columns = ", ".join(table.columns)
    marks = ", ".join("?" * len(table.columns))
    conflict = " ON CONFLICT DO NOTHING" if table.ignore_duplicates else ""
    encode = table.encoder()
    params = rows if encode is None else [encode(row) for row in rows]
    before = _last_id(conn, table) if want_ids else 0
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({columns}) VALUES ({marks}){conflict}", params)
    if not want_ids:
        return []
    # The transaction holds SQLite's write lock since its first insert, and a table without
    # AUTOINCREMENT gives each new row max(id) + 1: these rows have the ids after `before`.
    last = _last_id(conn, table)
    if last - before != len(rows):
        raise StoreError(f"{table.name}: {len(rows)} rows inserted but ids went from {before} to {last}")
    return list(range(before + 1, last + 1))


def _last_id(conn: Connection, table: _Table) -> int:
    return int(conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table.name}").scalar_one())


def answer_values(answer: Answer, cycle_id: str, market_ts: int, version: str, digest: str, now: int) -> Row:
    """The `answer` row of one answer (ANSWERS.columns), as swarm.store records it one at a time."""
    vote = answer.vote
    usage = vote.usage
    if isinstance(vote, Ballot):
        d = vote.decision
        ladder = json.dumps(list(d.take_profit)) if d.take_profit else "[]"
        return (
            cycle_id, now, market_ts, vote.symbol, vote.member, vote.model, version, digest,
            answer.raw_text, vote.kind, usage.latency_ms, usage.prompt_tokens, usage.completion_tokens,
            usage.cost_usd, answer.cached, d.action.value, d.confidence, d.reasoning,
            d.position_size_pct, d.stop_loss, ladder, None, None,
        )  # fmt: skip
    return (
        cycle_id, now, market_ts, vote.symbol, vote.member, vote.model, version, digest,
        answer.raw_text, vote.kind, usage.latency_ms, usage.prompt_tokens, usage.completion_tokens,
        usage.cost_usd, answer.cached, None, None, None, None, None, None, vote.reason, vote.detail,
    )  # fmt: skip


def vote_values(cycle_id: str, market_ts: int, consensus: Consensus, now: int) -> Row:
    """The `consensus_vote` row of one consensus (VOTES.columns), as swarm.track_record records it."""
    return (
        cycle_id, consensus.symbol, market_ts, consensus.action.value, consensus.confidence,
        consensus.agreement, consensus.quorum_met, consensus.position_size_pct, list(consensus.take_profit),
        consensus.stop_loss, list(consensus.members_for), dict(consensus.weights), consensus.reason, now,
    )  # fmt: skip


def score_row(
    answer_id: int | None,
    consensus_id: int | None,
    score: ScoreValues,
    brier: bool,
    horizon_ms: int,
    now: int,
) -> Row:
    """A `score` row (SCORES.columns), as swarm.track_record records it; `brier` False: left null."""
    correct, pnl, brier_score, move, entry, exit_price, stopped, targets, scored_at = score
    return (
        answer_id, consensus_id, scored_at, horizon_ms, entry, exit_price, move, correct, pnl,
        brier_score if brier else None, stopped, targets, now,
    )  # fmt: skip
