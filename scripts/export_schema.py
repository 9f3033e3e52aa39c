"""Write the MarketState JSON Schema to docs/marketstate.schema.json (run after changing feeds/state.py).

Usage: .venv/bin/python scripts/export_schema.py [--check]
With --check nothing is written; the exit status is 1 if the committed file is out of date.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from feeds.state import MarketState

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "docs" / "marketstate.schema.json"


def schema_text() -> str:
    """The schema as committed: pydantic's JSON Schema, indented by 2, with a final newline."""
    return json.dumps(MarketState.model_json_schema(), indent=2) + "\n"


def main(argv: list[str]) -> int:
    text = schema_text()
    if "--check" in argv:
        current = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else ""
        if current != text:
            print(f"{SCHEMA_PATH} is out of date: run scripts/export_schema.py", file=sys.stderr)
            return 1
        return 0
    SCHEMA_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
