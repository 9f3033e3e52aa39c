"""`swarm backtest` end to end on the bundled data, then `swarm report` from its database alone."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from swarm.cli import app
from swarm.config import PROVIDER_KEY_ENV
from tests.html_tree import parse

WINDOW = ["--from", "2026-04-01", "--to", "2026-04-03"]


@pytest.fixture
def workdir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key in [k for k in os.environ if k.startswith("SWARM_")]:
        monkeypatch.delenv(key)
    for key in PROVIDER_KEY_ENV.values():  # a key in the environment would bring its model in
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _without_stamp(html: str) -> str:
    return re.sub(r"generated</th><td>[^<]*", "", html)


def test_backtest_writes_record_report_and_json_log_and_report_rebuilds_it(workdir: Path) -> None:
    result = CliRunner().invoke(app, ["backtest", *WINDOW, "--db", "bt.db"])
    assert result.exit_code == 0, result.output
    assert "report: bt.html" in result.stdout
    html = (workdir / "bt.html").read_text()
    doc = parse(html)
    runs = [row.children[0].text() for row in doc.find("table", id="summary").iter("tr")][1:]
    assert runs == ["swarm", "buy and hold", "always flat", "random entries"]
    alone = [row.children[0].text() for row in doc.find("table", id="members-alone").iter("tr")][1:]
    assert alone == ["local/funding", "local/meanrev", "local/trend"]

    lines = [json.loads(line) for line in (workdir / "bt.log").read_text().splitlines()]
    finished = [x for x in lines if x["event"] == "cycle_finished"]
    steps = 2 * 96 + 1
    # One line per cycle of the swarm's run, its id made of the step's time; the runs beside it
    # (baselines, members alone) record nothing a cycle id would tie together, and log no cycle.
    assert [x["cycle_id"] for x in finished] == [f"bt-{x['now_ms']}" for x in finished]
    assert len(finished) == steps
    assert "cycle_finished" not in result.stderr  # the console shows progress and problems only

    again = CliRunner().invoke(app, ["report", "--db", "bt.db", "--out", "again.html", "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == {"run": 1, "kind": "backtest", "report": "again.html"}
    assert _without_stamp((workdir / "again.html").read_text()) == _without_stamp(html)
    listed = CliRunner().invoke(app, ["report", "--db", "bt.db", "--list", "--json"])
    assert json.loads(listed.stdout)["runs"] == [
        {
            "run": 1,
            "kind": "backtest",
            "symbols": ["BTC", "ETH"],
            "roster": ["local/trend", "local/meanrev", "local/funding"],
            "when": "2026-04-01T00:00:00Z -> 2026-04-03T00:00:00Z",
        }
    ]


def test_backtest_refuses_a_bad_log_format_before_running(workdir: Path) -> None:
    result = CliRunner().invoke(app, ["backtest", *WINDOW, "--db", "bt.db", "--log-format", "xml"])
    assert result.exit_code == 2
    assert "--log-format must be rich or json (got 'xml')" in result.stderr
    assert not (workdir / "bt.db").exists()


def test_llm_members_are_asked_in_the_swarms_run_only_and_replayed_alone(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from swarm.config import DEFAULT_ALIASES
    from tests.fakes.llm_server import FakeLLMServer, Reply, echo_decision

    with FakeLLMServer(default=Reply(echo_decision)) as fake:
        for alias in ("deepseek", "claude"):
            monkeypatch.setenv(
                f"SWARM_MEMBERS__{alias.upper()}__API_BASE", fake.api_base(DEFAULT_ALIASES[alias])
            )
        window = ["--from", "2026-04-01T00:00:00Z", "--to", "2026-04-01T06:00:00Z", "--symbols", "BTC"]
        args = ["backtest", *window, "--models", "deepseek,claude,local/trend", "--db", "llm.db"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        db = sqlite3.connect(workdir / "llm.db")
        for alias in ("deepseek", "claude"):
            recorded = db.execute("SELECT count(*) FROM answer WHERE member = ?", (alias,)).fetchone()[0]
            assert recorded > 0
            # Every request the model got is one answer of the swarm's run: following it alone
            # replayed those answers instead of asking again.
            assert len(fake.requests(DEFAULT_ALIASES[alias].split("/", 1)[1])) == recorded
    doc = parse((workdir / "llm.html").read_text())
    alone = [row.children[0].text() for row in doc.find("table", id="members-alone").iter("tr")][1:]
    assert sorted(a.split(" ⚠")[0] for a in alone) == ["claude", "deepseek", "local/trend"]


def test_without_models_the_roster_is_local_plus_every_alias_with_a_key(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from swarm.config import Settings
    from swarm.roster import LOCAL_ROSTER, resolve_roster

    settings = Settings()
    assert resolve_roster(None, settings, {}) == list(LOCAL_ROSTER)
    assert capsys.readouterr().err == ""  # nothing brought in, nothing to say
    environ = {"ANTHROPIC_API_KEY": "sk-x", "OPENAI_API_KEY": "  ", "XAI_API_KEY": "xai-y"}
    assert resolve_roster(None, settings, environ) == [*LOCAL_ROSTER, "grok", "claude"]
    said = capsys.readouterr().err
    assert "grok (XAI_API_KEY is set), claude (ANTHROPIC_API_KEY is set)" in said
    assert "sk-x" not in said
    # An alias re-pointed at another provider needs that provider's key.
    moved = Settings(members={"gpt": {"model": "anthropic/claude-opus-5"}})
    assert resolve_roster(None, moved, {"ANTHROPIC_API_KEY": "sk-x"}) == [*LOCAL_ROSTER, "claude", "gpt"]
    # --models is taken as given, keys or not.
    assert resolve_roster("deepseek,local/trend", settings, environ) == ["deepseek", "local/trend"]


def test_the_main_job_brings_in_the_models_whose_keys_are_present(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from swarm.config import DEFAULT_ALIASES
    from tests.fakes.llm_server import FakeLLMServer, Reply, echo_decision

    with FakeLLMServer(default=Reply(echo_decision)) as fake:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
        monkeypatch.setenv("SWARM_MEMBERS__CLAUDE__API_BASE", fake.api_base(DEFAULT_ALIASES["claude"]))
        window = ["--from", "2026-04-01T00:00:00Z", "--to", "2026-04-01T03:00:00Z", "--symbols", "BTC"]
        result = CliRunner().invoke(app, ["backtest", *window, "--db", "keyed.db"])
        assert result.exit_code == 0, result.output
        assert "claude (ANTHROPIC_API_KEY is set)" in result.stderr
        assert "claude: at most 13 model calls" in result.stderr
        assert len(fake.requests(DEFAULT_ALIASES["claude"].split("/", 1)[1])) > 0
    members = sqlite3.connect(workdir / "keyed.db").execute("SELECT DISTINCT member FROM answer").fetchall()
    assert {m for (m,) in members} == {"local/trend", "local/meanrev", "local/funding", "claude"}


def test_a_backtest_stops_asking_once_its_spend_reaches_the_daily_budget(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its store's days are simulated and its answers written in batches: the budget counts the
    run's fresh answers as they come back, as today's spend."""
    from swarm.config import DEFAULT_ALIASES
    from tests.fakes.llm_server import FakeLLMServer, Reply, echo_decision

    with FakeLLMServer(default=Reply(echo_decision)) as fake:
        monkeypatch.setenv("SWARM_MEMBERS__CLAUDE__API_BASE", fake.api_base(DEFAULT_ALIASES["claude"]))
        monkeypatch.setenv("SWARM_BUDGET_USD_PER_DAY", "0.000001")
        window = ["--from", "2026-04-01T00:00:00Z", "--to", "2026-04-01T03:00:00Z", "--symbols", "BTC"]
        result = CliRunner().invoke(
            app, ["backtest", *window, "--models", "claude,local/trend", "--db", "b.db"]
        )
        assert result.exit_code == 0, result.output
        assert len(fake.requests(DEFAULT_ALIASES["claude"].split("/", 1)[1])) == 1
    db = sqlite3.connect(workdir / "b.db")
    rows = db.execute("SELECT kind, abstain_reason, cost_usd FROM answer WHERE member = 'claude'").fetchall()
    assert rows[0][0] == "ballot"
    assert rows[0][2] > 0.000001
    assert rows[1:]
    assert {(kind, reason) for kind, reason, _ in rows[1:]} == {("abstain", "budget")}
