"""The leaderboard on a small hand-built history: every number checked by hand.

History (market times T0, T0 + 1h, T0 + 2h, T0 + 3h; `now` knows the scores of cycles 1-3 only):

    cycle  a                      b                          c                       d
    1      LONG 80  right +1.5    SHORT 60 wrong -1.0        abstain unparseable     abstain no_key
           $0.01  1.0 s           $?     3.0 s               $?   0.5 s              (never called)
    2      LONG 70  wrong -0.8    LONG 50  right +0.7 cached abstain timeout
           $0.02  2.0 s           ($0.005, 1.0 s: a hit)     $?  60 s
    3      HOLD 60  right  0.0    CLOSE 90  no direction     LONG 55  right +2.0
           $0.01  1.5 s           $0     2.5 s               $0.03  4.0 s
    4      LONG 65  (score later)
           $0.01  1.2 s

    consensus: 1 LONG for a (weights a 1, b 0.5, c 1) right +1.2, Brier 0.09
               2 LONG for a, b (a 1, b 1, c 0.2) wrong -0.5, Brier 0.5625
               3 HOLD by rule (a 0.6, b 0.3, c 0.1) right 0.0
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consensus.decision import Action
from consensus.leaderboard import SWARM, LeaderboardRow, leaderboard, wilson_interval
from swarm.cli import app
from swarm.store import SCHEMA_VERSION, Store
from tests.stores import FakeClock, damaged_store_file
from tests.test_cli import run_cli
from tests.track_history import HOUR_MS, T0, H, abstain, ballot, consensus, score

NOW = T0 + 2 * HOUR_MS + H  # cycle 3's scores are known, cycle 4's are not
AT = "2026-01-15T18:00:00Z"  # NOW as text
SCORES = {
    ("a", 0): score(True, 1.5, 0.04),
    ("a", 1): score(False, -0.8, 0.49),
    ("a", 2): score(True, 0.0, 0.16),
    ("a", 3): score(True, 9.9, 0.01, known_at=NOW + 1),
    ("b", 0): score(False, -1.0, 0.36),
    ("b", 1): score(True, 0.7, 0.25),
    ("b", 2): score(None, 0.0, None),
    ("c", 2): score(True, 2.0, 0.2025),
    (SWARM, 0): score(True, 1.2, 0.09),
    (SWARM, 1): score(False, -0.5, 0.5625),
    (SWARM, 2): score(True, 0.0, 0.25),  # its Brier is dropped: a HOLD by rule has no probability
}


def build_history(store: Store) -> None:
    cycles = [
        [
            ballot("a", Action.LONG, 80, cost=0.01, latency_ms=1000),
            ballot("b", Action.SHORT, 60, cost=None, latency_ms=3000),
            abstain("c", "unparseable", latency_ms=500),
            abstain("d", "no_key", latency_ms=0),
        ],
        [
            ballot("a", Action.LONG, 70, cost=0.02, latency_ms=2000),
            ballot("b", Action.LONG, 50, cost=0.005, latency_ms=1000, cached=True),
            abstain("c", "timeout", latency_ms=60000),
        ],
        [
            ballot("a", Action.HOLD, 60, cost=0.01, latency_ms=1500),
            ballot("b", Action.CLOSE, 90, cost=0.0, latency_ms=2500),
            ballot("c", Action.LONG, 55, cost=0.03, latency_ms=4000),
        ],
        [ballot("a", Action.LONG, 65, cost=0.01, latency_ms=1200)],
    ]
    votes = [
        consensus(Action.LONG, 64.0, ("a",), {"a": 1.0, "b": 0.5, "c": 1.0}),
        consensus(Action.LONG, 70.0, ("a", "b"), {"a": 1.0, "b": 1.0, "c": 0.2}),
        consensus(Action.HOLD, 0.0, ("a",), {"a": 0.6, "b": 0.3, "c": 0.1}),
    ]
    for i, answers in enumerate(cycles):
        store.record_answers(f"c{i}", T0 + i * HOUR_MS, "v1", "d", answers)
        if i < len(votes):
            store.record_consensus(f"c{i}", T0 + i * HOUR_MS, votes[i])
    due = store.unscored_ballots(T0 + 3 * HOUR_MS + H, H)
    store.record_scores([(d, SCORES[d.member, (d.market_ts - T0) // HOUR_MS]) for d in due], H)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = Store.open(db_url, clock=FakeClock(T0))
    build_history(opened)
    yield opened
    opened.close()


@pytest.fixture
def rows(store: Store) -> dict[str, LeaderboardRow]:
    facts = store.leaderboard_facts(NOW)
    return {r.member: r for r in leaderboard(facts.answers, facts.consensus, store.member_weights(NOW))}


def _wilson_pct(hits: int, n: int) -> tuple[float, float]:
    interval = wilson_interval(hits, n)
    assert interval is not None
    return 100 * interval[0], 100 * interval[1]


def test_wilson_interval_known_values() -> None:
    # Published 95 % Wilson intervals (e.g. Newcombe 1998, table I; R's binom.confint "wilson").
    assert wilson_interval(8, 10) == pytest.approx((0.4902, 0.9433), abs=5e-5)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=5e-5)
    assert wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=5e-5)
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=5e-5)
    assert wilson_interval(0, 0) is None


def test_member_a(rows: dict[str, LeaderboardRow]) -> None:
    a = rows["a"]
    assert (a.votes, a.ballots, a.answered_pct, a.abstentions, a.parse_failures) == (4, 4, 100.0, 0, 0)
    assert (a.scored, a.hits) == (3, 2)  # cycle 4's score is not known at NOW
    assert a.hit_rate_pct == pytest.approx(200 / 3, rel=1e-12)
    assert (a.hit_rate_low_pct, a.hit_rate_high_pct) == pytest.approx((20.7655, 93.8510), abs=5e-4)
    assert a.brier == pytest.approx((0.04 + 0.49 + 0.16) / 3, rel=1e-12)
    assert (a.pnl_sum_pct, a.pnl_mean_pct) == pytest.approx((0.7, 0.7 / 3), rel=1e-12)
    assert a.in_consensus_pct == 100.0
    assert a.weight_share_pct == pytest.approx(100 * (2 / 3 + 1 / 2 + 0.6) / 3, rel=1e-12)
    assert a.median_latency_ms == 1350.0  # of 1000, 2000, 1500, 1200
    assert (a.cost_usd, a.cost_unknown) == (pytest.approx(0.05, rel=1e-12), 0)


def test_member_b_cache_hits_and_close(rows: dict[str, LeaderboardRow]) -> None:
    b = rows["b"]
    assert (b.votes, b.ballots, b.abstentions) == (3, 3, 0)
    assert (b.scored, b.hits, b.hit_rate_pct) == (2, 1, 50.0)  # CLOSE has no direction
    assert (b.hit_rate_low_pct, b.hit_rate_high_pct) == pytest.approx((9.4531, 90.5469), abs=5e-4)
    assert b.brier == pytest.approx((0.36 + 0.25) / 2, rel=1e-12)
    assert (b.pnl_sum_pct, b.pnl_mean_pct) == pytest.approx((-0.3, -0.1), rel=1e-12)  # CLOSE earns 0
    assert b.in_consensus_pct == pytest.approx(100 / 3, rel=1e-12)
    assert b.weight_share_pct == pytest.approx(100 * (1 / 3 + 1 / 2 + 0.3) / 3, rel=1e-12)
    assert b.median_latency_ms == 2750.0  # the cache hit did not wait for the model
    assert (b.cost_usd, b.cost_unknown) == (0.0, 1)  # the hit cost nothing; cycle 1's price unknown


def test_members_c_and_d_abstentions(rows: dict[str, LeaderboardRow]) -> None:
    c, d = rows["c"], rows["d"]
    assert (c.votes, c.ballots, c.abstentions, c.parse_failures) == (3, 1, 2, 1)
    assert c.answered_pct == pytest.approx(100 / 3, rel=1e-12)
    assert (c.scored, c.hits, c.brier, c.pnl_sum_pct) == (1, 1, 0.2025, 2.0)
    assert (c.in_consensus_pct, c.weight_share_pct) == (0.0, pytest.approx(10.0, rel=1e-12))
    assert (c.median_latency_ms, c.cost_usd, c.cost_unknown) == (4000.0, 0.03, 2)
    assert (d.votes, d.ballots, d.abstentions, d.parse_failures, d.cost_unknown) == (1, 0, 1, 0, 0)
    assert (d.hit_rate_pct, d.brier, d.pnl_mean_pct, d.in_consensus_pct) == (None, None, None, None)


def test_the_swarm_is_a_row(rows: dict[str, LeaderboardRow]) -> None:
    swarm = rows[SWARM]
    assert (swarm.votes, swarm.ballots, swarm.abstentions) == (3, 2, 1)  # the HOLD by rule abstains
    assert (swarm.scored, swarm.hits) == (3, 2)
    assert swarm.brier == pytest.approx((0.09 + 0.5625) / 2, rel=1e-12)
    assert (swarm.pnl_sum_pct, swarm.pnl_mean_pct) == pytest.approx((0.7, 0.7 / 3), rel=1e-12)
    assert (swarm.cost_usd, swarm.cost_unknown) == (pytest.approx(0.08, rel=1e-12), 3)
    assert (swarm.weight, swarm.median_latency_ms, swarm.in_consensus_pct) == (None, None, None)
    assert list(rows)[-1] == SWARM


def test_members_are_sorted_by_current_weight(store: Store, rows: dict[str, LeaderboardRow]) -> None:
    weights = store.member_weights(NOW)
    members = [m for m in rows if m != SWARM]
    assert [rows[m].weight for m in members] == [weights[m] for m in members]
    assert members == sorted(weights, key=lambda m: (-weights[m], m))


# --- through the command line --------------------------------------------------------------


def _invoke(db: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["leaderboard", *args], env={"SWARM_DB": db})
    return result.exit_code, result.stdout, result.stderr


def test_json_is_one_document_with_every_row(store: Store, db_url: str) -> None:
    code, out, _ = _invoke(db_url, "--json", "--at", AT)
    assert code == 0
    document = json.loads(out)
    assert document["as_of_ms"] == NOW
    assert [r["member"] for r in document["rows"]][-1] == SWARM
    a = next(r for r in document["rows"] if r["member"] == "a")
    assert (a["hits"], a["scored"], a["median_latency_ms"]) == (2, 3, 1350.0)
    assert a["weight"] == store.member_weights(NOW)["a"]


def test_csv_has_a_header_and_a_line_per_row(store: Store, db_url: str) -> None:
    code, out, _ = _invoke(db_url, "--csv", "--at", AT)
    assert code == 0
    lines = list(csv.DictReader(io.StringIO(out)))
    assert [line["member"] for line in lines][-1] == SWARM
    assert len(lines) == 5
    d = next(line for line in lines if line["member"] == "d")
    assert (d["votes"], d["hit_rate_pct"], d["brier"]) == ("1", "", "")


def test_table_and_one_member(store: Store, db_url: str) -> None:
    code, out, _ = _invoke(db_url, "--at", AT)
    assert code == 0
    assert "track record at 2026-01-15T18:00:00Z" in out
    assert "67 (21-94)" in out  # a's hit rate and interval
    code, out, _ = _invoke(db_url, "--json", "--member", "b", "--at", AT)
    assert code == 0
    assert [r["member"] for r in json.loads(out)["rows"]] == ["b"]


def test_unknown_member_is_one_line_and_exit_2(store: Store, db_url: str) -> None:
    code, out, err = _invoke(db_url, "--member", "zed")
    assert code == 2
    assert out == ""
    assert err.strip().splitlines() == ["error: no member zed in the record (known: a, b, c, d, swarm)"]


def test_json_and_csv_together_are_refused(tmp_path: Path) -> None:
    code, _, err = _invoke(str(tmp_path / "x.db"), "--json", "--csv")
    assert code == 2
    assert "exclude each other" in err


def test_an_empty_database_is_a_friendly_line(tmp_path: Path) -> None:
    missing = tmp_path / "never-created.db"
    code, out, err = _invoke(str(missing), "--at", AT)
    assert (code, err) == (0, "")
    assert out.strip() == f"No track record in {missing} yet: no answers by {AT}."
    assert not missing.exists()  # a report creates no database
    Store.open(str(missing)).close()
    code, out, _ = _invoke(str(missing))
    assert code == 0
    assert out.startswith(f"No track record in {missing} yet: no answers by ")
    code, out, _ = _invoke(str(missing), "--json")
    assert (code, json.loads(out)["rows"]) == (0, [])


def test_unknown_member_in_an_empty_record(tmp_path: Path) -> None:
    code, _, err = _invoke(str(tmp_path / "none.db"), "--member", "claude")
    assert code == 2
    assert "no member claude in the record (known: none)" in err


# --- bad input: one line, a non-zero exit, and the file left as it was ------------------------


def _folder(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in path.parent.iterdir()}


def _garbage(path: Path) -> None:
    path.write_bytes(b"my trading notes, not a database\n" * 50)


def _foreign(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE trades (id INTEGER, pnl REAL)")
        db.execute("INSERT INTO trades VALUES (1, 2.5)")
    db.close()


def _newer(path: Path) -> None:
    Store.open(str(path)).close()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO schema_version VALUES (99, 'from the future', 0)")
    db.close()


def _damaged(path: Path) -> None:
    damaged_store_file(path, SCHEMA_VERSION, wal=True)  # opened without a write, then read


def _damaged_needing_wal(path: Path) -> None:
    damaged_store_file(path, SCHEMA_VERSION, wal=False)  # switching to WAL would write


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (_garbage, "is not a SQLite database (refusing to touch it)"),
        (_foreign, "database has tables (trades) but no schema_version: not a swarm store"),
        (_newer, f"schema version 99 is newer than this swarm knows ({SCHEMA_VERSION}); upgrade swarm"),
        (_damaged, "reading the track record: database disk image is malformed"),
        (_damaged_needing_wal, "the database file is damaged ("),
    ],
)
def test_a_database_that_is_not_ours_is_refused_untouched(
    tmp_path: Path, make: Callable[[Path], None], needle: str
) -> None:
    path = tmp_path / "swarm.db"
    make(path)
    before = _folder(path)
    code, out, err = _invoke(str(path), "--json")
    assert code == 3
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert needle in err
    assert _folder(path) == before  # byte for byte, and no -wal or -shm file beside it


def test_a_garbage_file_through_the_real_command(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    _garbage(path)
    before = _folder(path)
    env = {**os.environ, "SWARM_DB": str(path)}
    result = run_cli("leaderboard", env=env)
    assert result.returncode == 3
    assert result.stderr == f"error: {path} is not a SQLite database (refusing to touch it)\n"
    assert _folder(path) == before
