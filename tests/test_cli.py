"""The CLI as a user meets it: a fast --help, one JSON document, one-line errors with exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `swarm` as a user would, in a fresh interpreter."""
    code = "from swarm.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120, env=env, cwd=ROOT
    )


def test_help_does_not_import_heavy_modules() -> None:
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from swarm.cli import app\n"
        "result = CliRunner().invoke(app, ['--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        "heavy = sorted(m for m in ('litellm', 'pandas', 'ta', 'talib', 'sqlmodel') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""


def test_help_lists_the_commands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    assert "snapshot" in result.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["snapshot", "BTC", "--source", "kraken"], "--source 'kraken' is not one of"),
        (["snapshot", "BTC", "--at", "yesterday"], "--at: not an ISO-8601 time"),
        (
            ["snapshot", "BTC", "--source", "binance", "--at", "2026-01-01"],
            "--at works with --source replay only",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], needle: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert needle in lines[0]
    assert "Traceback" not in result.stderr


def test_snapshot_json_is_exactly_one_document() -> None:
    result = run_cli("snapshot", "BTC", "--at", "2026-01-15T12:00:00Z", "--json")
    assert result.returncode == 0, result.stderr
    state = json.loads(result.stdout)
    assert state["symbol"] == "BTC"
    assert state["timestamp"] == "2026-01-15T12:00:00Z"
    assert state["source"] == "replay"
