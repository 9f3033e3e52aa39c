"""`swarm run`: paper by default on an exchange feed; real orders only when asked for twice."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import swarm.commands.run as run_command
from swarm.cli import app
from tests.fakes.exchanges import FakePacifica
from tests.fakes.server import serve


@pytest.fixture
def fake_pacifica(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakePacifica]:
    for key in [k for k in os.environ if k.startswith("SWARM_")]:
        monkeypatch.delenv(key)
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
