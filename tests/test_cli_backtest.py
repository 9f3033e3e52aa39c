"""`swarm backtest` end to end on the bundled data, then `swarm report` from its database alone."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from swarm.cli import app
from tests.html_tree import parse

WINDOW = ["--from", "2026-04-01", "--to", "2026-04-03"]


@pytest.fixture
def workdir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key in [k for k in os.environ if k.startswith("SWARM_")]:
        monkeypatch.delenv(key)
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
    assert sum(x["cycle_id"].startswith("bt-") for x in finished) == steps
    assert sum(x["cycle_id"].startswith("alone-local/trend-") for x in finished) == steps
    assert all(x["cycle_id"] == f"{x['cycle_id'].rsplit('-', 1)[0]}-{x['now_ms']}" for x in finished)

    again = CliRunner().invoke(app, ["report", "--db", "bt.db", "--out", "again.html", "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == {"run": 1, "kind": "backtest", "report": "again.html"}
    assert _without_stamp((workdir / "again.html").read_text()) == _without_stamp(html)


def test_backtest_refuses_a_bad_log_format_before_running(workdir: Path) -> None:
    result = CliRunner().invoke(app, ["backtest", *WINDOW, "--db", "bt.db", "--log-format", "xml"])
    assert result.exit_code == 2
    assert "--log-format must be rich or json (got 'xml')" in result.stderr
    assert not (workdir / "bt.db").exists()
