"""`swarm ask` end to end: the five vendor aliases through litellm to the fake model server."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from swarm.cli import app
from swarm.config import DEFAULT_ALIASES
from tests.fakes.llm_server import FakeLLMServer, Hang, Reply, echo_decision

ALIASES = ("deepseek", "grok", "claude", "gpt", "gemini")
AT = "2026-03-10T12:00:00Z"


@pytest.fixture
def fake_llm() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(default=Reply(echo_decision)) as fake:
        yield fake


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_llm: FakeLLMServer) -> Path:
    """Every alias pointed at the fake by its base URL (no keys needed then), a fresh database."""
    for key in [k for k in os.environ if k.startswith("SWARM_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "swarm.db"
    monkeypatch.setenv("SWARM_DB", str(db))
    for alias in ALIASES:
        base = fake_llm.api_base(DEFAULT_ALIASES[alias])
        monkeypatch.setenv(f"SWARM_MEMBERS__{alias.upper()}__API_BASE", base)
    return db


def ask(*args: str) -> Result:
    return ask_at(AT, *args)


def ask_at(at: str, *args: str) -> Result:
    return CliRunner().invoke(app, ["ask", "BTC", "--at", at, *args])


def test_five_aliases_and_a_local_member_all_vote(env: Path, fake_llm: FakeLLMServer) -> None:
    result = ask("--models", ",".join([*ALIASES, "local/trend"]), "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["symbol"] == "BTC"
    assert document["market_timestamp"] == AT
    by_member = {a["member"]: a for a in document["answers"]}
    assert list(by_member) == [*ALIASES, "local/trend"]
    for alias in ALIASES:
        answer = by_member[alias]
        assert answer["kind"] == "ballot", answer
        assert answer["model"] == DEFAULT_ALIASES[alias]
        assert answer["cost_usd"] is not None
        assert answer["cost_usd"] > 0
        assert not answer["cached"]
    # Each vendor got exactly one request, in its own protocol, asking for JSON.
    for alias in ALIASES:
        wire_model = DEFAULT_ALIASES[alias].split("/", 1)[1]
        [request] = fake_llm.requests(wire_model)
        assert request.json_mode == "json_schema"
        assert "BTC" in request.prompt_text
    # Every answer is in the store, with the raw text the model sent.
    rows = sqlite3.connect(env).execute("SELECT member, kind, raw_text FROM answer").fetchall()
    assert sorted(r[0] for r in rows) == sorted([*ALIASES, "local/trend"])
    assert all(r[2] for r in rows if r[0] != "local/trend")


def test_replay_asks_answer_from_the_cache_the_second_time(env: Path, fake_llm: FakeLLMServer) -> None:
    first = json.loads(ask("--models", "claude,gpt", "--json").stdout)
    second = json.loads(ask("--models", "claude,gpt", "--json").stdout)
    assert [a["cached"] for a in first["answers"]] == [False, False]
    assert [a["cached"] for a in second["answers"]] == [True, True]
    assert [a["cost_usd"] for a in second["answers"]] == [0.0, 0.0]
    assert [a["action"] for a in second["answers"]] == [a["action"] for a in first["answers"]]
    assert len(fake_llm.requests()) == 2  # the second ask reached no model


def test_a_hanging_member_abstains_at_the_deadline(env: Path, fake_llm: FakeLLMServer) -> None:
    fake_llm.set_default(DEFAULT_ALIASES["grok"].split("/", 1)[1], Hang())
    started = time.monotonic()
    result = ask("--models", "grok,claude", "--deadline", "1.5", "--no-cache", "--json")
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output
    grok, claude = json.loads(result.stdout)["answers"]
    assert (grok["kind"], grok["reason"]) == ("abstain", "timeout")
    assert claude["kind"] == "ballot"
    assert elapsed < 1.5 + 1.0  # the deadline, plus snapshot and start-up


def test_a_member_without_a_key_is_reported_before_any_work(
    env: Path, fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SWARM_MEMBERS__CLAUDE__API_BASE")
    result = ask("--models", "gpt,claude")
    assert result.exit_code == 2
    assert "claude needs ANTHROPIC_API_KEY" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert fake_llm.requests() == []
    assert not env.exists()  # nothing was started, not even the database


def test_unknown_local_member_names_the_known_ones(env: Path) -> None:
    result = ask("--models", "local/momentum")
    assert result.exit_code == 2
    assert "local/trend" in result.stderr


def test_rich_view_shows_every_member(env: Path) -> None:
    result = ask("--models", "claude,local/meanrev")
    assert result.exit_code == 0, result.output
    assert "claude" in result.stdout
    assert "local/meanrev" in result.stdout


def test_asks_record_a_consensus_and_score_earlier_ballots_once_due(env: Path) -> None:
    local = "local/trend,local/meanrev,local/funding"
    first = json.loads(ask("--models", local, "--json").stdout)
    assert first["consensus"]["action"] in {"LONG", "SHORT", "HOLD", "CLOSE"}
    assert first["scored_before"] == 0
    # Two hours on: the 4 h horizon of the first ask has not passed, nothing is scored yet.
    early = ask_at("2026-03-10T14:00:00Z", "--models", local, "--json")
    assert json.loads(early.stdout)["scored_before"] == 0
    later = ask_at("2026-03-10T16:15:00Z", "--models", local, "--json")
    assert json.loads(later.stdout)["scored_before"] == 4  # three members and the swarm of the first ask
    board = CliRunner().invoke(app, ["leaderboard", "--json"])
    assert board.exit_code == 0, board.output
    rows = {row["member"]: row for row in json.loads(board.stdout)["rows"]}
    assert rows["local/trend"]["votes"] == 3
    assert rows["swarm"]["votes"] == 3
