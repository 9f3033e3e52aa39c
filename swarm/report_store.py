"""What a report is rebuilt from, in the store (schema version 4, swarm.report_schema).

    create_run / run_of_kind          a backtest's run; the one run of `swarm run --paper` / --live
    write_curve / append_point        a whole curve at once (backtest); one point a cycle (live)
    write_curve_trades                the closed trades of a baseline or a member followed alone
    record_entry_state                the MarketState behind an approved entry
    consensus_of                      a cycle's consensus on a symbol, every ballot with its reasoning
    member_votes                      a member's recorded votes, to follow it alone

Each write is one transaction. Times are UTC epoch ms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, select

from consensus.decision import Action, Vote
from consensus.leaderboard import SWARM
from consensus.vote import Consensus
from execution.journal import TradeRecord
from feeds.state import MarketState
from swarm._sql import insert_ignoring_duplicates, translated
from swarm.answer_rows import recorded_answer
from swarm.execution_store import trade_record, trade_values
from swarm.report_schema import (
    RUN_KINDS,
    CurveTradeRow,
    EntryStateRow,
    EquityPointRow,
    ReportRunRow,
    RunMarkRow,
)
from swarm.store_schema import AnswerRow, ConsensusVoteRow

Mark = tuple[float, float | None]  # price, funding rate per hour
MarkSeries = Mapping[str, Sequence[tuple[int, float, float | None]]]  # symbol -> (ts, price, funding)


@dataclass(frozen=True)
class StoredRun:
    id: int
    kind: str
    meta: dict[str, Any]
    created_at: int
    updated_at: int


@dataclass(frozen=True)
class StoredCurve:
    """A curve as stored, oldest point first."""

    ts_ms: list[int]
    equity: list[float]
    exposed: list[bool]


class ReportStore:
    """The report half of the Store (mixed into swarm.store.Store)."""

    _engine: Engine
    _clock: Callable[[], int]

    # ---- runs -------------------------------------------------------------------------------------

    def create_run(self, kind: str, meta: Mapping[str, Any]) -> int:
        """A new run; its id."""
        _check_kind(kind)
        now = self._clock()
        row = ReportRunRow(kind=kind, meta=dict(meta), created_at=now, updated_at=now)
        with translated(f"creating a {kind} run"), Session(self._engine) as session, session.begin():
            session.add(row)
            session.flush()
            assert row.id is not None  # assigned by the flush
            return row.id

    def run_of_kind(self, kind: str, meta: Mapping[str, Any]) -> int:
        """The run of `kind` (its meta replaced by `meta`), created if there is none: a `swarm run`
        restarted goes on with the same curve."""
        _check_kind(kind)
        with translated(f"the {kind} run"), Session(self._engine) as session, session.begin():
            query = select(ReportRunRow).where(ReportRunRow.kind == kind).order_by(col(ReportRunRow.id))
            row = session.exec(query).first()
            if row is None:
                row = ReportRunRow(kind=kind, meta=dict(meta), created_at=self._clock(), updated_at=0)
            row.meta, row.updated_at = dict(meta), self._clock()
            session.add(row)
            session.flush()
            assert row.id is not None
            return row.id

    def runs(self) -> list[StoredRun]:
        """Every run, oldest first."""
        with translated("reading the runs"), Session(self._engine) as session:
            rows = session.exec(select(ReportRunRow).order_by(col(ReportRunRow.id)))
            return [StoredRun(r.id or 0, r.kind, dict(r.meta), r.created_at, r.updated_at) for r in rows]

    # ---- curves -----------------------------------------------------------------------------------

    def write_curve(
        self, run_id: int, curve: str, ts_ms: Sequence[int], equity: Sequence[float], exposed: Sequence[bool]
    ) -> None:
        """Replace a curve of a run with these points."""
        if not len(ts_ms) == len(equity) == len(exposed):
            raise ValueError(
                f"curve {curve!r}: {len(ts_ms)} times, {len(equity)} values, {len(exposed)} flags"
            )
        rows = [
            {"run_id": run_id, "curve": curve, "ts_ms": int(t), "equity_usd": float(v), "exposed": bool(x)}
            for t, v, x in zip(ts_ms, equity, exposed, strict=True)
        ]
        table = EquityPointRow.metadata.tables[EquityPointRow.__tablename__]
        with translated(f"curve {curve!r}"), self._engine.begin() as conn:
            conn.execute(sa.delete(table).where(table.c.run_id == run_id, table.c.curve == curve))
            if rows:
                conn.execute(table.insert(), rows)

    def append_point(
        self,
        run_id: int,
        curve: str,
        ts_ms: int,
        equity_usd: float,
        exposed: bool,
        marks: Mapping[str, Mark] | None = None,
    ) -> None:
        """One step of a live curve and the symbols' marks at it; a step recorded already is kept."""
        point = {
            "run_id": run_id,
            "curve": curve,
            "ts_ms": ts_ms,
            "equity_usd": equity_usd,
            "exposed": exposed,
        }
        mark_rows = [
            {"run_id": run_id, "symbol": s, "ts_ms": ts_ms, "price": p, "funding_rate_per_hour": f}
            for s, (p, f) in (marks or {}).items()
        ]
        points = EquityPointRow.metadata.tables[EquityPointRow.__tablename__]
        marks_table = RunMarkRow.metadata.tables[RunMarkRow.__tablename__]
        with translated(f"equity at {ts_ms}"), self._engine.begin() as conn:
            dialect = conn.dialect.name
            conn.execute(insert_ignoring_duplicates(points, dialect), [point])
            if mark_rows:
                conn.execute(insert_ignoring_duplicates(marks_table, dialect), mark_rows)

    def curve_names(self, run_id: int) -> list[str]:
        query = select(EquityPointRow.curve).where(EquityPointRow.run_id == run_id).distinct()
        with translated("reading the curves"), Session(self._engine) as session:
            return sorted(session.exec(query))

    def curve(self, run_id: int, curve: str) -> StoredCurve:
        table = EquityPointRow.metadata.tables[EquityPointRow.__tablename__]
        query = (
            sa.select(table.c.ts_ms, table.c.equity_usd, table.c.exposed)
            .where(table.c.run_id == run_id, table.c.curve == curve)
            .order_by(table.c.ts_ms)
        )
        with translated(f"reading curve {curve!r}"), self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return StoredCurve([r[0] for r in rows], [r[1] for r in rows], [bool(r[2]) for r in rows])

    def marks(self, run_id: int) -> dict[str, list[tuple[int, float, float | None]]]:
        """Each symbol's (time, price, funding rate per hour) of a `swarm run`, oldest first."""
        query = select(RunMarkRow).where(RunMarkRow.run_id == run_id).order_by(col(RunMarkRow.ts_ms))
        found: dict[str, list[tuple[int, float, float | None]]] = {}
        with translated("reading the marks"), Session(self._engine) as session:
            for row in session.exec(query):
                found.setdefault(row.symbol, []).append((row.ts_ms, row.price, row.funding_rate_per_hour))
        return found

    # ---- trades of the other curves ---------------------------------------------------------------

    def write_curve_trades(self, run_id: int, curve: str, trades: Iterable[TradeRecord]) -> None:
        """Replace the closed trades of a curve."""
        rows = [CurveTradeRow(run_id=run_id, curve=curve, **trade_values(t)) for t in trades]
        with translated(f"trades of {curve!r}"), Session(self._engine) as session, session.begin():
            session.exec(
                delete(CurveTradeRow).where(
                    col(CurveTradeRow.run_id) == run_id, col(CurveTradeRow.curve) == curve
                )
            )
            session.add_all(rows)

    def curve_trades(self, run_id: int, curve: str) -> list[TradeRecord]:
        query = (
            select(CurveTradeRow)
            .where(CurveTradeRow.run_id == run_id, CurveTradeRow.curve == curve)
            .order_by(col(CurveTradeRow.closed_at), col(CurveTradeRow.id))
        )
        with translated(f"reading the trades of {curve!r}"), Session(self._engine) as session:
            return [trade_record(row) for row in session.exec(query)]

    # ---- what stood behind a trade ----------------------------------------------------------------

    def record_entry_state(self, decision_id: str, state: MarketState) -> None:
        """The state the members saw when the swarm decided to enter; recorded once."""
        row = {
            "decision_id": decision_id,
            "symbol": state.symbol,
            "market_ts": int(state.timestamp.timestamp() * 1000),
            "state": state.model_dump_json(),
            "created_at": self._clock(),
        }
        table = EntryStateRow.metadata.tables[EntryStateRow.__tablename__]
        with translated(f"entry state of {decision_id}"), self._engine.begin() as conn:
            conn.execute(insert_ignoring_duplicates(table, conn.dialect.name), [row])

    def entry_state(self, decision_id: str) -> MarketState | None:
        with translated(f"reading the entry state of {decision_id}"), Session(self._engine) as session:
            row = session.get(EntryStateRow, decision_id)
        return None if row is None else MarketState.model_validate_json(row.state)

    def consensus_of(self, cycle_id: str, symbol: str) -> Consensus | None:
        """The consensus of one cycle on one symbol, with every ballot and abstention behind it."""
        where = f"the consensus of {cycle_id} on {symbol}"
        with translated(where), Session(self._engine) as session:
            vote = session.exec(
                select(ConsensusVoteRow).where(
                    ConsensusVoteRow.cycle_id == cycle_id, ConsensusVoteRow.symbol == symbol
                )
            ).first()
            if vote is None:
                return None
            answers = session.exec(
                select(AnswerRow)
                .where(AnswerRow.market_ts == vote.market_ts, AnswerRow.cycle_id == cycle_id)
                .where(AnswerRow.symbol == symbol)
                .order_by(col(AnswerRow.id))
            ).all()
        votes = [recorded_answer(row).answer.vote for row in answers]
        return Consensus(
            symbol=symbol,
            action=Action(vote.action),
            confidence=vote.confidence,
            position_size_pct=vote.position_size_pct,
            take_profit=tuple(vote.take_profit),
            stop_loss=vote.stop_loss,
            agreement=vote.agreement,
            quorum_met=vote.quorum_met,
            members_for=tuple(vote.members_for),
            ballots=tuple(v for v in votes if v.kind == "ballot"),
            abstentions=tuple(v for v in votes if v.kind == "abstain"),
            weights=dict(vote.weights),
            reason=vote.reason,
        )

    def member_votes(self, member: str) -> dict[tuple[str, int], Vote]:
        """A member's recorded votes by (symbol, market time): the last one where there are several."""
        query = select(AnswerRow).where(AnswerRow.member == member).order_by(col(AnswerRow.id))
        with translated(f"reading the answers of {member}"), Session(self._engine) as session:
            return {
                (row.symbol, row.market_ts): recorded_answer(row).answer.vote for row in session.exec(query)
            }

    def vote_weights(self, start_ms: int, end_ms: int) -> list[tuple[int, dict[str, float]]]:
        """The weights each consensus vote used, by market time, oldest first."""
        table = ConsensusVoteRow.metadata.tables[ConsensusVoteRow.__tablename__]
        query = (
            sa.select(table.c.market_ts, table.c.weights)
            .where(table.c.market_ts >= start_ms, table.c.market_ts <= end_ms)
            .order_by(table.c.market_ts, table.c.id)
        )
        with translated("reading the vote weights"), self._engine.connect() as conn:
            return [(int(ts), dict(weights)) for ts, weights in conn.execute(query)]

    def confidence_hits(self, until_ms: int) -> dict[str, tuple[list[float], list[bool]]]:
        """Each member's (and the swarm's, under "swarm") scored confidences and direction hits."""
        tables = AnswerRow.metadata.tables
        answer, vote, score = tables["answer"], tables["consensus_vote"], tables["score"]
        known = (score.c.direction_correct.is_not(None), score.c.scored_at <= until_ms)
        answers = (
            sa.select(answer.c.member, answer.c.confidence, score.c.direction_correct)
            .join(score, score.c.answer_id == answer.c.id)
            .where(*known)
        )
        votes = (
            sa.select(vote.c.confidence, score.c.direction_correct)
            .join(score, score.c.consensus_id == vote.c.id)
            .where(*known)
        )
        found: dict[str, tuple[list[float], list[bool]]] = {}
        with translated("reading confidences and hits"), self._engine.connect() as conn:
            for member, confidence, correct in conn.execute(answers):
                pair = found.setdefault(member, ([], []))
                pair[0].append(float(confidence or 0.0))
                pair[1].append(bool(correct))
            pair = found.setdefault(SWARM, ([], []))
            for confidence, correct in conn.execute(votes):
                pair[0].append(float(confidence))
                pair[1].append(bool(correct))
        return found


def _check_kind(kind: str) -> None:
    if kind not in RUN_KINDS:
        raise ValueError(f"run kind must be one of {', '.join(RUN_KINDS)} (got {kind!r})")
