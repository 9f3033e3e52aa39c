"""`swarm run`: paper by default on an exchange feed; real orders only when asked for twice."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import swarm.commands.run as run_command
from swarm.cli import app
from swarm.config import PROVIDER_KEY_ENV
from swarm.report_build import pick_run, report_from_store
from swarm.store import Store
from tests.fakes.exchanges import FakePacifica
from tests.fakes.server import serve
from tests.html_tree import parse


@pytest.fixture
def fake_pacifica(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakePacifica]:
    for key in [k for k in os.environ if k.startswith("SWARM_")]:
        monkeypatch.delenv(key)
    for key in PROVIDER_KEY_ENV.values():  # a key in the environment would bring its model in
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SWARM_DB", str(tmp_path / "swarm.db"))
    fake = FakePacifica()
    # The wall clock is the outside dependency of a live cycle: pin it to the fake exchange's "now".
    monkeypatch.setattr(run_command, "wall_clock_ms", lambda: fake.now_ms)
    with serve(fake) as base_url:
        monkeypatch.setenv("SWARM_PACIFICA_URL", base_url)
        yield fake


def test_one_paper_cycle_on_the_pacifica_feed(fake_pacifica: FakePacifica, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", "--once", "--symbols", "BTC,ETH"])
    assert result.exit_code == 0, result.output
    assert "paper on pacifica" in result.stdout
    assert "BTC" in result.stdout
    db = sqlite3.connect(tmp_path / "swarm.db")
    members = {row[0] for row in db.execute("SELECT DISTINCT member FROM answer")}
    assert members == {"local/trend", "local/meanrev", "local/funding"}
    assert db.execute("SELECT count(*) FROM consensus_vote").fetchone()[0] == 2
    # The paper account is kept, so the next run resumes it.
    assert db.execute("SELECT count(*) FROM venue_state").fetchone()[0] == 1


def test_live_needs_a_confirmation(fake_pacifica: FakePacifica) -> None:
    result = CliRunner().invoke(app, ["run", "--once", "--live"])
    assert result.exit_code == 2
    assert "confirm with --confirm-live or SWARM_CONFIRM_LIVE=yes" in result.stderr


def test_confirmed_live_without_a_key_names_the_variable(fake_pacifica: FakePacifica) -> None:
    result = CliRunner().invoke(app, ["run", "--once", "--live", "--confirm-live"])
    assert result.exit_code == 2
    assert "PACIFICA_PRIVATE_KEY" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_swarm_report_of_paper_cycles_with_a_gap(fake_pacifica: FakePacifica, tmp_path: Path) -> None:
    """Three runs of one cycle, the bot down for one step: the report's curve has every step."""
    step = 15 * 60_000
    first = fake_pacifica.now_ms - fake_pacifica.now_ms % step
    for slot in (first, first + step, first + 3 * step):
        fake_pacifica.now_ms = slot + 1_234  # a cycle starts a moment after its slot
        result = CliRunner().invoke(app, ["run", "--once", "--symbols", "BTC,ETH"])
        assert result.exit_code == 0, result.output
    db = sqlite3.connect(tmp_path / "swarm.db")
    points = db.execute("SELECT ts_ms, equity_usd, exposed FROM equity_point ORDER BY ts_ms").fetchall()
    assert [p[0] for p in points] == [first, first + step, first + 3 * step]
    assert all(p[1] == 10_000.0 for p in points)  # the default paper equity; nothing traded yet
    marks = db.execute("SELECT symbol, count(*), min(price) FROM run_mark GROUP BY symbol").fetchall()
    assert {(s, n) for s, n, _ in marks} == {("BTC", 3), ("ETH", 3)}
    assert all(price > 0 for _, _, price in marks)

    listed = CliRunner().invoke(app, ["report", "--list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [(r["run"], r["kind"], r["symbols"]) for r in json.loads(listed.stdout)["runs"]] == [
        (1, "paper", ["BTC", "ETH"])
    ]
    result = CliRunner().invoke(app, ["report", "--out", "out/r.html"])
    assert result.exit_code == 0, result.output
    assert "report of run 1 (paper)" in result.stdout
    html = (tmp_path / "out" / "r.html").read_text()
    assert "1 of 4 steps had no cycle" in html
    # Votes cast a moment after their step count at that step (and are carried through the gap).
    store = Store.open(str(tmp_path / "swarm.db"))
    try:
        data = report_from_store(store, pick_run(store, None), generated_at_ms=0)
        voted = {
            m: w
            for (w_,) in db.execute("SELECT weights FROM consensus_vote")
            for m, w in json.loads(w_).items()
        }
    finally:
        store.close()
    assert voted
    assert {w.member: w.weights[-1] for w in data.weights} == voted
    assert all(len(w.weights) == 4 for w in data.weights)
    for run in ("swarm", "buy and hold", "always flat", "random entries"):
        assert f'<td class="l">{run}</td>' in html
    alone = [row.children[0].text() for row in parse(html).find("table", id="members-alone").iter("tr")][1:]
    assert alone == ["local/funding", "local/meanrev", "local/trend"]
    assert "on the prices the run recorded at its cycles" in html


def test_swarm_report_names_what_is_missing(fake_pacifica: FakePacifica, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", "--db", str(tmp_path / "nope.db")])
    assert result.exit_code == 2
    assert "nope.db: no such file" in result.stderr
    assert not (tmp_path / "nope.db").exists()
    Store.open(str(tmp_path / "swarm.db")).close()  # a store that records no run
    result = CliRunner().invoke(app, ["report"])
    assert result.exit_code == 2
    assert "records no run yet" in result.stderr
