"""Structured logs: JSON lines, the cycle id inside its block only, secrets never written."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from swarm.logs import (
    REDACTED,
    bind_cycle,
    configure_logging,
    current_cycle,
    log_event,
    redact,
    redact_text,
    reset_logging,
)


@pytest.fixture(autouse=True)
def _restore_root() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    yield
    reset_logging()
    root.setLevel(level)


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_each_event_is_one_json_object_per_line(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "swarm.log"
    configure_logging(log, "json", "INFO")
    log_event("order_filled", symbol="BTC", price=70_000.5, sides=["LONG"])
    logging.getLogger("execution.paper").warning("plain %s", "message", extra={"order_id": 7})
    logging.getLogger("execution.paper").debug("below the level")
    first, second = lines(log)
    assert first["event"] == "order_filled"
    assert first["level"] == "info"
    assert first["logger"] == "swarm.events"
    assert (first["symbol"], first["price"], first["sides"]) == ("BTC", 70_000.5, ["LONG"])
    assert first["ts"].endswith("Z")
    assert len(first["ts"]) == len("2026-01-15T12:00:00.123Z")
    assert (second["event"], second["level"], second["order_id"]) == ("plain message", "warning", 7)


def test_a_field_cannot_overwrite_the_standard_keys(tmp_path: Path) -> None:
    log = tmp_path / "swarm.log"
    configure_logging(log, "json", "INFO")
    with bind_cycle("c-2"):
        log_event("order_placed", ts=123, logger="mine", cycle_id="other")
    (line,) = lines(log)
    assert (line["event"], line["logger"], line["cycle_id"]) == ("order_placed", "swarm.events", "c-2")
    assert (line["ts_field"], line["logger_field"], line["cycle_id_field"]) == (123, "mine", "other")


def test_cycle_id_is_present_inside_the_block_and_absent_outside(tmp_path: Path) -> None:
    log = tmp_path / "swarm.log"
    configure_logging(log, "json", "INFO")
    log_event("before")
    with bind_cycle("c-1"):
        log_event("answer_recorded", member="claude")
        logging.getLogger("swarm.fanout").info("from another module")
    log_event("after")
    before, inside, other, after = lines(log)
    assert "cycle_id" not in before
    assert inside["cycle_id"] == "c-1"
    assert other["cycle_id"] == "c-1"
    assert "cycle_id" not in after
    assert current_cycle() is None


def test_concurrent_cycles_do_not_mix(tmp_path: Path) -> None:
    log = tmp_path / "swarm.log"
    configure_logging(log, "json", "INFO")

    async def cycle(cycle_id: str) -> None:
        with bind_cycle(cycle_id):
            for step in range(3):
                log_event("step", step=step, expected=cycle_id)
                await anyio.lowlevel.checkpoint()  # let the other cycle run in between

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(cycle, "a")
            tg.start_soon(cycle, "b")

    anyio.run(main)
    records = lines(log)
    assert len(records) == 6
    assert {r["cycle_id"] for r in records} == {"a", "b"}
    assert all(r["cycle_id"] == r["expected"] for r in records)


def test_tasks_started_inside_a_cycle_inherit_its_id(tmp_path: Path) -> None:
    log = tmp_path / "swarm.log"
    configure_logging(log, "json", "INFO")

    async def member() -> None:
        log_event("member_answered")

    async def main() -> None:
        with bind_cycle("c-9"):
            async with anyio.create_task_group() as tg:
                tg.start_soon(member)

    anyio.run(main)
    assert lines(log)[0]["cycle_id"] == "c-9"


def test_secrets_are_redacted_in_fields_messages_and_tracebacks(tmp_path: Path) -> None:
    log = tmp_path / "swarm.log"
    configure_logging(log, "json", "DEBUG")
    log_event(
        "request_sent",
        api_key="sk-live-123",
        headers={"X-Signature": "sig-456", "accept": "json"},
        accounts=[{"private_key": "pk-789"}],
        Password="hunter2",
        auth_token="tok-000",
        prompt_tokens=812,
        member="claude",
    )
    logging.getLogger("execution.pacifica").info("signing with secret=abc-999 for BTC")
    try:
        raise RuntimeError("bad login password: pw-111")
    except RuntimeError:
        logging.getLogger("swarm").exception("failed")
    text = log.read_text(encoding="utf-8")
    for secret in ("sk-live-123", "sig-456", "pk-789", "hunter2", "tok-000", "abc-999", "pw-111"):
        assert secret not in text
    event, message, failure = lines(log)
    assert event["api_key"] == REDACTED
    assert event["headers"] == {"X-Signature": REDACTED, "accept": "json"}
    assert event["accounts"] == [{"private_key": REDACTED}]
    assert event["prompt_tokens"] == 812  # a token count is not a secret
    assert event["member"] == "claude"
    assert message["event"] == f"signing with secret={REDACTED} for BTC"
    assert "RuntimeError" in failure["exc"]


def test_redaction_helpers() -> None:
    assert redact({"apiKey": "x", "n": 1}) == {"apiKey": REDACTED, "n": 1}
    assert redact({"completion_tokens": "12", "token": 5}) == {"completion_tokens": "12", "token": REDACTED}
    assert (
        redact_text('{"signature": "abc"} and key=v1, ok=2')
        == f'{{"signature": "{REDACTED}"}} and key={REDACTED}, ok=2'
    )


def test_rich_console_prints_fields_and_does_not_read_markup(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(None, "rich", "INFO")
    with bind_cycle("c-7"):
        log_event("ballot_parsed", reasoning="[bold red]buy[/] <script>x</script>", api_key="sk-1")
    err = "".join(capsys.readouterr().err.split())  # rich wraps at 80 columns
    assert "ballot_parsed" in err
    assert "cycle_id=c-7" in err
    assert "[boldred]buy[/]" in err  # printed as written, not styled
    assert "sk-1" not in err


def test_json_console_writes_json_lines_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(None, "json", "INFO")
    log_event("halted", reason="kill switch")
    out, err = capsys.readouterr()
    assert out == ""
    assert json.loads(err.strip())["reason"] == "kill switch"


def test_configuring_again_replaces_our_handlers_only(tmp_path: Path) -> None:
    root = logging.getLogger()
    foreign = logging.NullHandler()
    root.addHandler(foreign)
    try:
        configure_logging(tmp_path / "a.log", "json", "INFO")
        configure_logging(tmp_path / "b.log", "json", "INFO")
        log_event("once")
        assert (tmp_path / "a.log").read_text() == ""
        assert len(lines(tmp_path / "b.log")) == 1
        assert foreign in root.handlers
    finally:
        root.removeHandler(foreign)
    with pytest.raises(ValueError, match="console format"):
        configure_logging(None, "xml", "INFO")  # type: ignore[arg-type]
