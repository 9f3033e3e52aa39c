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
        (["snapshot", "DOGE"], "no replay data for 'DOGE'"),
        (["snapshot", "BTC", "--at", "2020-01-01"], "is outside the replay data"),
        (["snapshot", "BTC", "--data-dir", "/nonexistent/swarm-data"], "does not exist"),
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


@pytest.mark.parametrize("venue", ["pacifica", "hyperliquid", "binance"])
def test_snapshot_from_each_exchange_through_its_fake(venue: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`swarm snapshot --source X` reaches the exchange at SWARM_X_URL and prints one MarketState."""
    from typer.testing import CliRunner

    import swarm.feed as feed
    from swarm.cli import app
    from tests.fakes.exchanges import FakeBinance, FakeHyperliquid, FakePacifica
    from tests.fakes.server import serve

    fake = {"pacifica": FakePacifica, "hyperliquid": FakeHyperliquid, "binance": FakeBinance}[venue]()
    # The wall clock is the one outside dependency of a live snapshot: pin it to the fake's "now".
    monkeypatch.setattr(feed, "wall_clock_ms", lambda: fake.now_ms)
    with serve(fake) as base_url:
        monkeypatch.setenv(f"SWARM_{venue.upper()}_URL", base_url)
        result = CliRunner().invoke(app, ["snapshot", "BTC", "--source", venue, "--json"])
    assert result.exit_code == 0, result.output
    state = json.loads(result.stdout)
    assert state["source"] == venue
    assert state["symbol"] == "BTC"
    assert state["orderbook"] is not None
    assert state["indicators"]["15m"]["rsi_14"] is not None


def test_exchange_error_is_one_line_with_exit_4(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import swarm.feed as feed
    from swarm.cli import app
    from tests.fakes.exchanges import FakePacifica
    from tests.fakes.server import http_error, serve

    fake = FakePacifica()
    for endpoint in ("/kline", "/info", "/info/prices", "/book", "/funding_rate/history"):
        fake.inject(endpoint, http_error(503), times=100)
    monkeypatch.setattr(feed, "wall_clock_ms", lambda: fake.now_ms)
    monkeypatch.setenv("SWARM_HTTP_TIMEOUT_S", "1")
    with serve(fake) as base_url:
        monkeypatch.setenv("SWARM_PACIFICA_URL", base_url)
        result = CliRunner().invoke(app, ["snapshot", "BTC", "--source", "pacifica", "--json"])
    assert result.exit_code == 4
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    # Usually the 503 itself; on a loaded machine a retry may instead lose its connection.
    assert "pacifica" in result.stderr.lower()


def test_corrupt_replay_file_is_exit_3(tmp_path: Path) -> None:
    """A NaN close in the data is named with its file and time, never turned into a snapshot."""
    folder = tmp_path / "candles" / "binance-usdm"
    folder.mkdir(parents=True)
    hour = 3_600_000
    rows = [f"{i * hour},100,101,99,{'nan' if i == 5 else 100},10" for i in range(48)]
    (folder / "BTC-1h.csv").write_text("ts_ms,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    result = run_cli("snapshot", "BTC", "--data-dir", str(tmp_path), "--at", "1970-01-02T12:00:00Z")
    assert result.returncode == 3, result.stderr
    assert "BTC-1h.csv" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
