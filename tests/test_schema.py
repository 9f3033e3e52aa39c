"""The committed JSON Schema of MarketState is the one the code generates."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from feeds.state import MarketState

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "export_schema.py"


def _export_schema() -> Any:  # the script's module; its names are checked by running them
    spec = importlib.util.spec_from_file_location("export_schema", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_schema_equals_the_generated_one() -> None:
    script = _export_schema()
    committed = script.SCHEMA_PATH.read_text(encoding="utf-8")
    assert committed == script.schema_text(), "run: .venv/bin/python scripts/export_schema.py"
    assert json.loads(committed) == MarketState.model_json_schema()


def test_check_mode_reports_an_out_of_date_file(tmp_path: Path) -> None:
    script = _export_schema()
    stale = tmp_path / "schema.json"
    stale.write_text("{}\n", encoding="utf-8")
    script.SCHEMA_PATH = stale
    assert script.main(["--check"]) == 1
    assert script.main([]) == 0
    assert script.main(["--check"]) == 0
    assert stale.read_text(encoding="utf-8") == script.schema_text()
